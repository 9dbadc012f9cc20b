"""Staff work in a real browser: Debian's Chromium, headless, driven by Playwright."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_staff_change_prices_by_a_percentage_through_the_confirmation_page(page: Page) -> None:
    category = CategoryFactory(name="Lighting")
    lamps = [
        ProductFactory(name=f"Lamp {n}", category=category, price=Decimal("20.00"))
        for n in range(3)
    ]
    other = ProductFactory(name="Desk", category=category, price=Decimal("100.00"))

    page.goto("/admin/products/product/")
    for lamp in lamps:
        page.check(f"input.action-select[value='{lamp.pk}']")
    page.select_option("select[name=action]", "bulk_change_price_by_percentage")
    page.click("button[name=index]")
    page.fill("input[name=percentage]", "-10")
    page.click("input[name=preview]")

    expect(page.locator("#content")).to_contain_text("20.00")
    expect(page.locator("#content")).to_contain_text("18.00")
    page.click("input[name=apply]")

    expect(page.locator(".messagelist")).to_be_visible()
    assert (
        sorted(Product.objects.filter(name__startswith="Lamp").values_list("price", flat=True))
        == [Decimal("18.00")] * 3
    )
    other.refresh_from_db()
    assert other.price == Decimal("100.00")
    page.goto("/admin/core/auditentry/")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)


def test_staff_import_a_file_with_a_bad_row_and_see_the_row_error(
    page: Page, tmp_path: Any
) -> None:
    CategoryFactory(name="Lighting", slug="lighting")
    upload = tmp_path / "products.csv"
    upload.write_text(
        "sku,name,slug,description,price,stock,is_active,category\n"
        "LMP-1,Brass Lamp,,A lamp,25.00,4,true,lighting\n"
        "LMP-2,Bad Lamp,,Priced below zero,-3.00,4,true,lighting\n"
    )

    page.goto("/admin/products/product/")
    page.click("a.product-import-link")
    page.set_input_files("input[type=file]", str(upload))
    page.click("input[type=submit][value='Upload and check']")

    errors = page.locator("table.import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("3")  # the file's third line: the bad row
    expect(errors.first).to_contain_text("price")
    expect(page.locator("input[value='Confirm import']")).to_have_count(0)
    assert not Product.objects.filter(sku__startswith="LMP").exists()
