"""The API docs and the admin, offline, under the Content-Security-Policy.

The browser tests drive Debian's Chromium (the ``browser`` fixture of test_browser.py) with every
request to another origin refused, as on a closed network, and fail on any such request, any
CSP violation the page reports and any script error. The others read the header itself, and
check the docs' static files as production serves them (collectstatic, hashed names).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect
from playwright.sync_api import Response as PageResponse

from apps.core.tests.live import BASE_DIR, ProdServer, database_url, free_port, prod_environment
from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

REDIS_SERVER = "/usr/bin/redis-server"
# The docs pages wait for /api/schema/, which the server generates on the first request, and
# ReDoc's search for its index of it: some seconds on a busy machine.
SCHEMA_TIMEOUT = 30_000
# Every page's policy holds these, whatever a view adds.
BASE_DIRECTIVES = {
    "default-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Reported by the page to the test: the listener runs before any of the page's own scripts.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"} ` +
      `(${event.sourceFile}:${event.lineNumber})`,
  );
});
"""


def parse_policy(header: str | None) -> dict[str, list[str]]:
    """Return a Content-Security-Policy header as {directive: [source, ...]}."""
    assert header, "no Content-Security-Policy header"
    policy = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


def assert_strict(policy: dict[str, list[str]]) -> None:
    """Assert the base directives, and that no directive allows inline or eval'd script."""
    for name, sources in BASE_DIRECTIVES.items():
        assert policy.get(name) == sources, (name, policy)
    for name in ("default-src", "script-src", "script-src-elem", "script-src-attr"):
        assert "'unsafe-inline'" not in policy.get(name, []), policy
    for name in ("default-src", "style-src", "style-src-elem"):
        assert "'unsafe-inline'" not in policy.get(name, []), policy
    assert not any("'unsafe-eval'" in sources for sources in policy.values()), policy
    # Only our own origin: no host, no scheme but data: images and blob: workers.
    for sources in policy.values():
        for source in sources:
            assert source.startswith("'") or source in {"data:", "blob:"}, (source, policy)


# --- in the browser ---------------------------------------------------------------------------


@dataclass
class OfflineBrowsing:
    """A browser tab on the live server whose requests to any other origin are refused."""

    page: Page
    origin: str
    elsewhere: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if "{0.scheme}://{0.netloc}".format(urlsplit(url)) == self.origin:
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort()

    def report_violation(self, violation: str) -> None:
        self.violations.append(violation)

    def console(self, message: ConsoleMessage) -> None:
        # Chromium also logs each violation, workers' included, as an error.
        if message.type == "error" and "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def goto(self, path: str) -> PageResponse:
        """Open ``path``, assert that its answer carries the strict policy, and return it."""
        response = self.page.goto(path)
        assert response is not None and response.ok, (path, response and response.status)
        assert_strict(parse_policy(response.headers.get("content-security-policy")))
        return response

    def assert_nothing_left_or_was_refused(self) -> None:
        self.page.wait_for_load_state("networkidle")
        assert self.elsewhere == []
        assert self.violations == []
        assert self.errors == []


@pytest.fixture
def offline(browser: Browser, live_server: Any) -> Iterator[OfflineBrowsing]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    browsing = OfflineBrowsing(page=page, origin=live_server.url)
    context.route("**/*", browsing.route)
    context.expose_function("reportViolation", browsing.report_violation)
    context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", browsing.console)
    page.on("pageerror", lambda error: browsing.errors.append(str(error)))
    yield browsing
    context.close()


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_works_offline_under_the_policy(offline: OfflineBrowsing) -> None:
    page = offline.page
    offline.goto("/api/docs/")

    products = page.locator(".opblock-get .opblock-summary-path[data-path='/api/v1/products/']")
    expect(products).to_be_visible(timeout=SCHEMA_TIMEOUT)
    # Try it out: the request goes from the page to the API (connect-src 'self').
    products.click()
    operation = page.locator(".opblock.is-open")
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text(
        "200"
    )
    offline.assert_nothing_left_or_was_refused()


@pytest.mark.django_db(transaction=True)
def test_redoc_works_offline_under_the_policy(offline: OfflineBrowsing) -> None:
    page = offline.page
    offline.goto("/api/redoc/")

    expect(page.locator("h1")).to_contain_text("Catalogue API", timeout=SCHEMA_TIMEOUT)
    expect(page.locator("[data-item-id^='tag/products']").first).to_be_visible()
    # The search runs in ReDoc's worker (worker-src blob:), once it has indexed the schema.
    page.fill("input.search-input", "logout")
    results = page.locator("[data-role='search:results'] li")
    expect(results.first).to_be_visible(timeout=SCHEMA_TIMEOUT)
    # The Redocly badge from its CDN is never asked for (static/js/redoc_init.js).
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)
    offline.assert_nothing_left_or_was_refused()


def stored_image(product: Product) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (160, 120), "teal").save(picture, format="PNG")
    product.images.create(
        image=SimpleUploadedFile("lamp.png", picture.getvalue()), alt_text="A lamp", position=0
    )


@pytest.mark.django_db(transaction=True)
def test_admin_product_pages_work_under_the_policy(
    offline: OfflineBrowsing, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    staff = UserFactory(is_staff=True, is_superuser=True, email="staff@example.com")
    lamps = CategoryFactory(name="Lamps", parent=CategoryFactory(name="Home"))
    product = ProductFactory(name="Brass Lamp", category=lamps, stock=2)
    stored_image(product)  # a thumbnail in the list, a preview in the form
    page = offline.page

    offline.goto("/admin/login/")
    page.fill("#id_username", staff.email)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Catalogue admin")

    offline.goto("/admin/products/product/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.check("#action-toggle")  # admin/js/actions.js counts the selection
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")

    offline.goto(f"/admin/products/product/{product.pk}/change/")
    expect(page.locator("#id_name")).to_have_value("Brass Lamp")
    # admin/js/inlines.js adds the "Add another" link of the images and variants inlines.
    expect(page.locator("#images-group .add-row a")).to_contain_text("Add another")
    expect(page.locator("#variants-group .add-row a")).to_contain_text("Add another")

    offline.goto("/admin/products/category/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    offline.assert_nothing_left_or_was_refused()


# --- the header -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "as_staff"),
    [
        ("/admin/login/", False),
        ("/admin/products/product/", True),
        ("/admin/products/category/", True),
        ("/api/docs/", False),
        ("/api/redoc/", False),
        ("/api/v1/products/", False),
        ("/no-such-page/", False),
    ],
)
def test_every_page_and_answer_carries_the_strict_policy(
    client: Client, path: str, as_staff: bool
) -> None:
    ProductFactory()
    if as_staff:
        client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get(path)

    assert response.status_code == (404 if path == "/no-such-page/" else 200)
    policy = parse_policy(response.get("Content-Security-Policy"))
    assert_strict(policy)
    # Style attributes are refused everywhere but in DRF's browsable API (below).
    assert "style-src-attr" not in policy


@pytest.mark.django_db
def test_the_docs_pages_inline_no_script_and_link_nothing_elsewhere(client: Client) -> None:
    for path in ("/api/docs/", "/api/redoc/"):
        page = client.get(path).content.decode()

        scripts = re.findall(r"<script\b([^>]*)>", page)
        assert scripts and all("src=" in attributes for attributes in scripts), (path, scripts)
        assert "<style" not in page and "style=" not in page
        assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", page), path


@pytest.mark.django_db
def test_redoc_gets_a_fresh_nonce_for_its_styles_and_a_worker(client: Client) -> None:
    nonces = []
    for _ in range(2):
        response = client.get("/api/redoc/")
        policy = parse_policy(response["Content-Security-Policy"])
        nonce = re.search(r'nonce="([^"]+)"', response.content.decode())
        assert nonce and f"'nonce-{nonce.group(1)}'" in policy["style-src"]
        nonces.append(nonce.group(1))
        assert policy["worker-src"] == ["blob:"]
        assert policy["img-src"] == ["'self'", "data:"]

    assert nonces[0] != nonces[1]


@pytest.mark.django_db
def test_swagger_ui_script_comes_from_its_own_url(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script=[^"]*)"', page)
    assert script_url, page

    script = client.get(script_url.group(1).replace("&amp;", "&"))

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


@pytest.mark.django_db
def test_the_browsable_api_may_style_attributes_and_nothing_more(client: Client) -> None:
    response = client.get("/api/v1/products/", HTTP_ACCEPT="text/html")

    assert response["Content-Type"].startswith("text/html")
    policy = parse_policy(response["Content-Security-Policy"])
    assert_strict(policy)
    assert policy["style-src-attr"] == ["'unsafe-inline'"]
    nonce = re.search(r'<style nonce="([^"]+)"', response.content.decode())
    assert nonce and f"'nonce-{nonce.group(1)}'" in policy["style-src"]


@pytest.mark.django_db
def test_a_cached_catalogue_answer_carries_the_policy(
    client: Client, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.API_CACHE_SECONDS = 300
    ProductFactory()
    first = client.get("/api/v1/products/")
    client.get("/api/v1/products/")  # the first one started the cache's generation

    with django_assert_num_queries(0):  # from the response cache
        cached = client.get("/api/v1/products/")

    assert cached.content == first.content
    assert parse_policy(cached["Content-Security-Policy"]) == parse_policy(
        first["Content-Security-Policy"]
    )
    assert_strict(parse_policy(cached["Content-Security-Policy"]))


# --- as production serves it ------------------------------------------------------------------


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """Start a throwaway redis-server of our own on a free port, never the shared one."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  # a fixed binary, our own arguments
        [
            *(REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db
def test_production_serves_the_docs_assets_from_hashed_static_files(
    tmp_path: Path, redis_url: str
) -> None:
    # What the Dockerfile runs at build time, into the folder ProdServer serves.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=prod_environment(DJANGO_STATIC_ROOT=str(tmp_path / "static")),
        check=True,
    )
    environment = {"DATABASE_URL": database_url(connection.settings_dict), "REDIS_URL": redis_url}

    with ProdServer(environment=environment, log_path=tmp_path / "gunicorn.log") as server:
        assets = []
        for path in ("/api/docs/", "/api/redoc/"):
            page = server.request("GET", path)
            assert page.status == 200, server.log_text()[-2000:]
            assert_strict(parse_policy(page.header("Content-Security-Policy")))
            assets += re.findall(r'(?:src|href)="(/static/[^"]+)"', page.body.decode())
        answers = {asset: server.request("GET", asset) for asset in assets}
        source_maps = {}
        for asset, answer in answers.items():
            # A bundle names its source map last, beside itself.
            for name in re.findall(
                r"sourceMappingURL=(\S+\.map)", answer.body[-300:].decode(errors="replace")
            ):
                source_map = asset.rsplit("/", 1)[0] + "/" + name
                source_maps[source_map] = server.request("GET", source_map).status

    # Every script, stylesheet and icon, ours and the sidecar's, under its hashed name.
    assert len(assets) >= 6 and any("drf_spectacular_sidecar/redoc/" in a for a in assets)
    for asset, answer in answers.items():
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", asset), asset
        assert answer.status == 200, asset
    # The manifest rewrote the source maps that the bundles name, and they are there.
    assert len(source_maps) >= 2
    assert all(re.search(r"\.[0-9a-f]{12}\.map$", name) for name in source_maps), source_maps
    assert set(source_maps.values()) == {200}, source_maps
