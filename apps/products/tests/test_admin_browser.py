"""Generating variants in a real browser (Debian's Chromium, headless, driven by Playwright),
then finding the product by one of the new options in the changelist's filter; and importing a
sheet through its jobs' pages; under the site's Content-Security-Policy."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from apps.attributes.models import AttributeKind
from apps.attributes.tests.factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)
from apps.core.models import AuditEntry
from apps.core.tests.conftest import browser  # noqa: F401 (the fixture, as the core tests have it)
from apps.products.import_jobs import import_job_run
from apps.products.models import ImportJob, Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def problems() -> list[str]:
    """Collect what the page refused (the policy) or failed at (its scripts)."""
    return []


@pytest.fixture
def page(browser: Browser, live_server: Any, problems: list[str]) -> Iterator[Page]:  # noqa: F811
    staff: User = UserFactory(is_staff=True, is_superuser=True, email="staff@example.com")
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/admin/login/")
    page.fill("#id_username", staff.email)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Catalogue admin")
    yield page
    context.close()


def test_staff_generate_variants_then_filter_the_changelist_by_an_option(
    page: Page, problems: list[str]
) -> None:
    size = AttributeFactory(name="Size", slug="size", kind=AttributeKind.CHOICE)
    colour = AttributeFactory(
        name="Colour", slug="colour", kind=AttributeKind.SWATCH, is_filterable=True
    )
    small, medium, large = (
        AttributeOptionFactory(attribute=size, value=value, slug=value.lower(), position=n)
        for n, value in enumerate(["S", "M", "L"])
    )
    red, blue = (
        AttributeOptionFactory(attribute=colour, value=value, slug=value.lower(), position=n)
        for n, value in enumerate(["Red", "Blue"])
    )
    # One transaction: the database checks the variant's options at commit.
    with transaction.atomic():
        shirts = ProductTypeFactory(name="T-shirt", has_variants=True)
        ProductTypeAttributeFactory(product_type=shirts, attribute=size, is_axis=True, position=0)
        ProductTypeAttributeFactory(product_type=shirts, attribute=colour, is_axis=True, position=1)
        tee: Product = ProductFactory(name="Linen tee", sku="TEE", product_type=shirts)
        tee.variants.update(option_ids=sorted([small.pk, red.pk]))
    ProductFactory(name="Plain mug")

    page.goto(f"/admin/products/product/{tee.pk}/change/")
    page.click("a.generate-variants-link")
    expect(page.locator("h1")).to_contain_text("Generate variants of Linen tee")
    page.check(f"input[name=axis_size][value='{small.pk}']")
    page.check(f"input[name=axis_size][value='{medium.pk}']")
    page.check(f"input[name=axis_colour][value='{blue.pk}']")
    page.check(f"input[name=axis_colour][value='{red.pk}']")
    page.fill("#id_price", "18.50")
    page.fill("#id_stock", "4")
    page.click("input[name=preview]")

    expect(page.locator(".generate-variants-new-heading")).to_contain_text("3 variants to create")
    expect(page.locator(".generate-variants-new tbody tr")).to_have_count(3)
    expect(page.locator(".generate-variants-new")).to_contain_text("TEE-m-blue")
    expect(page.locator(".generate-variants-existing")).to_contain_text("S / Red")
    page.click("input[name=apply]")

    expect(page.locator(".messagelist")).to_contain_text("3 variants created, 1 skipped")
    assert sorted(tee.variants.values_list("sku", flat=True)) == [
        "TEE",
        "TEE-m-blue",
        "TEE-m-red",
        "TEE-s-blue",
    ]
    assert set(tee.variants.exclude(sku="TEE").values_list("price", flat=True)) == {
        Decimal("18.50")
    }
    assert AuditEntry.objects.filter(action="products.variants_generate").count() == 3

    page.goto("/admin/products/product/")
    expect(page.locator("#result_list")).to_contain_text("Plain mug")
    page.locator("#changelist-filter").get_by_role("link", name="Colour: Blue").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Linen tee")
    assert large.pk not in tee.variants.values_list("option_ids", flat=True)
    assert problems == []


def test_staff_import_a_sheet_through_its_progress_pages(
    page: Page, problems: list[str], settings: Any
) -> None:
    """Upload, the dry run's page waiting for a worker and reloading itself, its report, the
    confirmation, the import's page, its outcome; the jobs run as a worker runs them."""
    settings.JOBS_RUN_ON_COMMIT = False  # a worker's, run below when the test says
    CategoryFactory(slug="lamps")
    sheet = "sku,name,slug,description,price,stock,is_active,category\r\n"
    sheet += "LAMP-1,Desk lamp,,Brass.,19.99,3,true,lamps\r\n"

    page.goto("/admin/products/product/")
    page.click("a.product-import-link")
    page.set_input_files(
        "#id_file",
        files=[{"name": "lamps.csv", "mimeType": "text/csv", "buffer": sheet.encode()}],
    )
    page.click("input[type=submit][value='Upload and check']")
    expect(page.locator(".import-job-state")).to_contain_text("Queued")
    expect(page.locator(".import-job-state")).to_contain_text("Waiting for a worker")
    dry_run = ImportJob.objects.get()

    import_job_run(import_job_id=dry_run.pk)  # the worker; the page reloads itself

    expect(page.locator(".import-job-state")).to_contain_text("Succeeded")
    expect(page.locator(".import-new")).to_have_text("1")
    assert not Product.objects.exists()
    page.click("input[type=submit][value='Confirm import']")
    expect(page.locator(".import-job-state")).to_contain_text("Import #")
    expect(page.locator(".import-job-state")).to_contain_text("Queued")
    apply = ImportJob.objects.get(dry_run=False)

    import_job_run(import_job_id=apply.pk)

    expect(page.locator(".import-job-summary")).to_contain_text(
        "Imported lamps.csv: 1 new, 0 changed, 0 unchanged."
    )
    assert Product.objects.get(sku="LAMP-1").name == "Desk lamp"
    assert AuditEntry.objects.filter(action="products.import").count() == 1
    page.click("text=Every change, in the audit trail")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert problems == []
