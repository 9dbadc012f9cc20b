// Start ReDoc on /api/redoc/ (templates/api_docs/redoc.html) under the page's strict
// Content-Security-Policy (project/urls.py).
"use strict";

(function () {
  const script = document.currentScript;

  // ReDoc's side menu shows a "Redocly" badge from Redocly's CDN, and has no option to turn it
  // off: the policy would refuse it and report a violation on every visit (offline, it would be
  // a failed request). An empty src fails at once without a request, and ReDoc's onError handler
  // then removes the badge. React sets an image's src twice: as an attribute, then as a property.
  const isRedoclyBadge = (value) => String(value).startsWith("https://cdn.redoc.ly/");
  const image = HTMLImageElement.prototype;
  const src = Object.getOwnPropertyDescriptor(image, "src");
  Object.defineProperty(image, "src", {
    ...src,
    set(value) {
      src.set.call(this, isRedoclyBadge(value) ? "" : value);
    },
  });
  const setAttribute = Element.prototype.setAttribute;
  image.setAttribute = function (name, value) {
    const blank = name.toLowerCase() === "src" && isRedoclyBadge(value);
    return setAttribute.call(this, name, blank ? "" : value);
  };

  // The nonce rides on this script's own tag, where the browser hides it from the DOM (but
  // script.nonce reads it): ReDoc gives it to the <style> elements it makes for its components.
  Redoc.init(
    script.dataset.schemaUrl,
    { nonce: script.nonce },
    document.getElementById("redoc-container"),
  );
})();
