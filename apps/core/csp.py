"""The Content-Security-Policy header: django-csp's middleware, built once for most responses.

The policy is ``CONTENT_SECURITY_POLICY`` (settings); a view may add to it with django-csp's
decorators (``csp_update``: the API docs pages in ``project/urls.py``), and a template that
reads ``request.csp_nonce`` gets that nonce in its response's policy.
"""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from csp.constants import HEADER, NONCE, SELF, UNSAFE_INLINE
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from rest_framework.renderers import BrowsableAPIRenderer

# DRF's browsable API and its login page (dev settings only: prod renders JSON alone) write
# style="..." attributes in a dozen of DRF's templates. Attributes can style, never run script;
# <style> elements still need the nonce (templates/rest_framework/api.html gives it).
BROWSABLE_API_POLICY = {"style-src": [SELF, NONCE], "style-src-attr": [UNSAFE_INLINE]}

# django-csp leaves these alone while DEBUG, so that Django's technical pages keep working.
_DEBUG_PAGES = (HTTPStatus.NOT_FOUND, HTTPStatus.INTERNAL_SERVER_ERROR)


def renders_browsable_api(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Return whether ``response`` is a page of DRF's browsable API or of its login views."""
    match = request.resolver_match
    return isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer) or (
        match is not None and match.namespace == "rest_framework"
    )


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, which rebuilds the policy for every response (about 75 µs, a
    quarter of a cached API read): a response with nothing of its own (no decorator, no nonce)
    gets the site's policy built once, and the browsable API gets BROWSABLE_API_POLICY."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        super().__init__(get_response)
        self.site_policy = build_policy()
        # Report-only policies and excluded paths are rare enough to take django-csp's own way.
        policy: dict[str, Any] = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        self.site_policy_applies_everywhere = not (
            getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or policy.get("EXCLUDE_URL_PREFIXES")
        )

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and renders_browsable_api(request, response):
            parts.update = {**BROWSABLE_API_POLICY, **(parts.update or {})}
        return parts

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            not self.site_policy_applies_everywhere
            or getattr(response, "_csp_exempt", False)
            or self.get_policy_parts(request, response) != PolicyParts()
        ):
            return super().process_response(request, response)
        if HEADER not in response and not (settings.DEBUG and response.status_code in _DEBUG_PAGES):
            response[HEADER] = self.site_policy
        # As django-csp does: a nonce asked for after the header is written would be unsafe.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
