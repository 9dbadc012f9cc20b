"""Staff work in a real browser: Debian's Chromium, headless, driven by Playwright."""

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Chromium's own calls home are refused on a closed network; don't make them.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread, and Django then refuses
    # database calls from it; the tests' own calls are plain synchronous ones.
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: `make test` installs it (apt-get install chromium)"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_FLAGS
            )
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def staff() -> User:
    return UserFactory(is_staff=True, is_superuser=True, email="staff@example.com")


@pytest.fixture
def page(browser: Browser, live_server: Any, staff: User) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/admin/login/")
    page.fill("#id_username", staff.email)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Catalogue admin")
    yield page
    context.close()


def test_staff_log_in_and_see_the_dashboard(page: Page) -> None:
    expect(page.locator(".catalogue-dashboard")).to_contain_text("Catalogue today")


def test_staff_search_a_product_by_words_and_by_sku(page: Page) -> None:
    category = CategoryFactory(name="Lighting")
    ProductFactory(name="Brass Reading Lamp", sku="LMP-7", category=category)
    ProductFactory(name="Oak Table", category=category, price=Decimal("120"))

    page.goto("/admin/products/product/")
    page.fill("#searchbar", "lamps")
    page.press("#searchbar", "Enter")

    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Brass Reading Lamp")
    expect(results.first).to_contain_text("Lighting")

    page.fill("#searchbar", "lmp-7")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert Product.objects.count() == 2
