"""Variants in the admin: the inline on the product page, the summary read-only on a product
with several, the bulk actions and the import."""

import io
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.core.tests.helpers import post_bulk_action
from apps.products.models import Product
from apps.products.sheets import product_import
from apps.products.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from apps.products.tests.helpers import csv_bytes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.staff_permissions(
        "products.view_product",
        "products.add_product",
        "products.change_product",
        "products.view_variant",
        "products.add_variant",
        "products.change_variant",
        "products.delete_variant",
    ),
]

run_action = partial(post_bulk_action, changelist="admin:products_product_changelist")


def change_url(product: Product) -> str:
    return reverse("admin:products_product_change", args=[product.pk])


def form_data(response: Any) -> dict[str, Any]:
    """Return the change page's form as the browser would post it, unchanged."""
    data: dict[str, Any] = {}
    for form in [response.context["adminform"].form, *response.context["inline_admin_formsets"]]:
        forms = [form] if hasattr(form, "visible_fields") else []
        if not forms:
            formset = form.formset
            data |= {
                f"{formset.prefix}-{key}": value
                for key, value in formset.management_form.initial.items()
            }
            forms = formset.forms
        for bound_form in forms:
            for field in bound_form:
                value = field.value()
                if field.field.show_hidden_initial:
                    # A field with a callable default (option_ids) has its initial value in a
                    # hidden input, which the browser posts and the form compares with.
                    data[field.html_initial_name] = _posted(field.initial)
                if value is None or field.name == "image":
                    continue
                data[field.html_name] = _posted(value)
    return data


def _posted(value: Any) -> Any:
    return ",".join(map(str, value)) if isinstance(value, list) else value


@pytest.fixture
def tee() -> Product:
    product = ProductFactory(sku="TEE-M", price=Decimal("20.00"), stock=5)
    VariantFactory(product=product, sku="TEE-L", price=Decimal("25.00"), stock=1)
    product.refresh_from_db()
    return product


def test_the_change_page_lists_the_variants_and_locks_the_summary(
    staff_client: Client, tee: Product
) -> None:
    response = staff_client.get(change_url(tee))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"sku", "price", "stock"}.isdisjoint(form.fields)
    content = response.content.decode()
    assert "TEE-L" in content and "25.00" in content

    single = ProductFactory()
    assert {"sku", "price", "stock"} <= set(
        staff_client.get(change_url(single)).context["adminform"].form.fields
    )
    assert staff_client.get(reverse("admin:products_product_add")).status_code == 200


def test_a_variant_changed_on_the_product_page_moves_the_summary(
    staff_client: Client, tee: Product
) -> None:
    data = form_data(staff_client.get(change_url(tee)))
    large = tee.variants.get(sku="TEE-L")
    (index,) = [
        key.split("-")[1]
        for key, value in data.items()
        if key.startswith("variants-") and key.endswith("-id") and value == large.pk
    ]
    data[f"variants-{index}-price"] = "10.00"

    response = staff_client.post(change_url(tee), data)

    assert response.status_code == 302, response.context["errors"]
    tee.refresh_from_db()
    assert (tee.price, tee.price_max) == (Decimal("10.00"), Decimal("20.00"))


def test_the_last_variant_cannot_be_deleted_on_the_product_page(staff_client: Client) -> None:
    product = ProductFactory()
    data = form_data(staff_client.get(change_url(product)))
    data["variants-0-DELETE"] = "on"

    response = staff_client.post(change_url(product), data)

    assert response.status_code == 200
    assert "A product keeps at least one variant" in response.content.decode()
    assert product.variants.count() == 1


def test_setting_the_price_skips_products_with_several_variants(
    staff_client: Client, tee: Product
) -> None:
    single = ProductFactory(price=Decimal("5.00"))

    response = run_action(staff_client, "bulk_set_price", [tee, single], "apply", price="7.00")

    assert response.status_code == 302
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == [
        "Set the price of products: 1 product changed. 1 with several variants skipped: "
        "change their variants' price."
    ]
    assert Product.objects.get(pk=single.pk).price == Decimal("7.00")
    assert single.variants.get().price == Decimal("7.00")
    assert Product.objects.get(pk=tee.pk).price == Decimal("20.00")


def test_a_percentage_changes_every_variant(staff_client: Client, tee: Product) -> None:
    single = ProductFactory(price=Decimal("10.00"))

    response = run_action(
        staff_client,
        "bulk_change_price_by_percentage",
        [tee, single],
        "apply",
        percentage="10",
    )

    assert response.status_code == 302
    assert sorted(tee.variants.values_list("price", flat=True)) == [
        Decimal("22.00"),
        Decimal("27.50"),
    ]
    tee.refresh_from_db()
    assert (tee.price, tee.price_max) == (Decimal("22.00"), Decimal("27.50"))
    assert Product.objects.get(pk=single.pk).price == Decimal("11.00")
    entries = {entry.object_id: (entry.before, entry.after) for entry in AuditEntry.objects.all()}
    assert entries == {
        str(tee.pk): ({"price": "20.00"}, {"price": "22.00"}),
        str(single.pk): ({"price": "10.00"}, {"price": "11.00"}),
    }


# --- the import -------------------------------------------------------------------------------


def test_the_import_refuses_summary_changes_of_products_with_several_variants(
    tee: Product,
) -> None:
    CategoryFactory(slug="shirts")
    single = ProductFactory(sku="MUG", price=Decimal("5.00"))
    header = ["sku", "name", "price", "stock", "category"]
    data = csv_bytes(
        [
            ["TEE-M", "Tee", "1.00", "6", "shirts"],  # several variants: price refused
            ["TEE-L", "Other tee", "2.00", "1", "shirts"],  # a variant's SKU: not a new product
            ["MUG", single.name, "6.00", "10", "shirts"],  # one variant: changed
        ],
        header=header,
    )

    report = product_import(file=io.BytesIO(data), file_format="csv", commit=False)

    assert [(error.row, error.column, error.message) for error in report.errors] == [
        (2, "price", "This product has several variants: change their prices."),
        (3, "sku", "SKU TEE-L is a variant of the product TEE-M."),
    ]

    # Without them, the import writes through to the one variant.
    data = csv_bytes([["MUG", single.name, "6.00", "10", "shirts"]], header=header)
    report = product_import(file=io.BytesIO(data), file_format="csv", commit=True)
    assert not report.errors
    assert single.variants.get().price == Decimal("6.00")
    tee.refresh_from_db()
    assert tee.price == Decimal("20.00")
