"""The variant changelist and its bulk actions, and the audit of every variant written in the
admin (the product page's inline, the variant's own page)."""

from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.attributes.models import AttributeKind
from apps.attributes.tests.factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)
from apps.core.models import AuditEntry
from apps.core.tests.helpers import post_bulk_action
from apps.products.models import Product, Variant
from apps.products.tests.factories import ProductFactory, VariantFactory, factory_axis_option_ids
from apps.products.tests.test_variants_admin import form_data

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.staff_permissions(
        "products.view_product",
        "products.change_product",
        "products.view_variant",
        "products.add_variant",
        "products.change_variant",
        "products.delete_variant",
    ),
]

CHANGELIST = "admin:products_variant_changelist"
run_action = partial(post_bulk_action, changelist=CHANGELIST)


@pytest.fixture
def tee() -> Product:
    product = ProductFactory(name="Linen tee", sku="TEE-M", price=Decimal("20.00"), stock=5)
    VariantFactory(product=product, sku="TEE-L", price=Decimal("25.00"), stock=1)
    product.refresh_from_db()
    return product


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("object_id"))


# --- the changelist ----------------------------------------------------------------------------


def test_the_changelist_lists_variants_in_a_fixed_number_of_queries(
    staff_client: Client,
    tee: Product,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(3):
        VariantFactory(product=ProductFactory())
    with django_assert_max_num_queries(8):
        response = staff_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    content = response.content.decode()
    assert "TEE-L" in content and "Linen tee" in content

    # And as many with twenty more variants: no query per row.
    for _ in range(20):
        VariantFactory(product=ProductFactory())
    with django_assert_max_num_queries(8):
        assert staff_client.get(reverse(CHANGELIST)).status_code == 200


def test_the_changelist_searches_by_sku_and_product_name(
    staff_client: Client, tee: Product
) -> None:
    other = ProductFactory(name="Wool socks", sku="SOCK-1")

    by_sku = staff_client.get(reverse(CHANGELIST), {"q": "tee-l"}).context["cl"].result_list
    by_name = staff_client.get(reverse(CHANGELIST), {"q": "linen"}).context["cl"].result_list

    assert [variant.sku for variant in by_sku] == ["TEE-L"]
    assert {variant.sku for variant in by_name} == {"TEE-M", "TEE-L"}
    assert other.variants.get().sku not in {variant.sku for variant in by_name}


def test_the_changelist_filters_active_and_in_stock(staff_client: Client, tee: Product) -> None:
    tee.variants.filter(sku="TEE-L").update(stock=0, is_active=False)

    out = staff_client.get(reverse(CHANGELIST), {"in_stock": "no"}).context["cl"].result_list
    inactive = staff_client.get(reverse(CHANGELIST), {"is_active__exact": "0"})

    assert [variant.sku for variant in out] == ["TEE-L"]
    assert [variant.sku for variant in inactive.context["cl"].result_list] == ["TEE-L"]


def test_no_adding_and_no_bulk_delete_on_the_changelist(staff_client: Client, tee: Product) -> None:
    response = staff_client.get(reverse(CHANGELIST))

    assert "delete_selected" not in dict(response.context["action_form"].fields["action"].choices)
    assert staff_client.get(reverse("admin:products_variant_add")).status_code == 403


# --- bulk actions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "data", "field", "expected", "audit"),
    [
        ("bulk_set_variant_price", {"price": "12.50"}, "price", Decimal("12.50"), "12.50"),
        (
            "bulk_change_variant_price_by_percentage",
            {"percentage": "-10"},
            "price",
            Decimal("22.50"),
            "22.50",
        ),
        ("bulk_set_variant_stock", {"stock": "7"}, "stock", 7, 7),
    ],
)
def test_a_bulk_action_previews_then_changes_the_variants_and_their_product(  # noqa: PLR0917
    staff_client: Client,
    tee: Product,
    action: str,
    data: dict[str, str],
    field: str,
    expected: Any,
    audit: Any,
    django_assert_max_num_queries: Any,
) -> None:
    large = tee.variants.get(sku="TEE-L")

    preview = run_action(staff_client, action, [large], step="preview", **data)
    assert preview.status_code == 200
    assert preview.context["confirming"]
    assert preview.context["preview"].changing == 1
    assert getattr(Variant.objects.get(pk=large.pk), field) != expected

    with django_assert_max_num_queries(14):
        response = run_action(staff_client, action, [large], step="apply", **data)

    assert response.status_code == 302
    assert getattr(Variant.objects.get(pk=large.pk), field) == expected
    (entry,) = entries(
        {
            "bulk_set_variant_price": "products.variants_set_price",
            "bulk_change_variant_price_by_percentage": (
                "products.variants_change_price_by_percentage"
            ),
            "bulk_set_variant_stock": "products.variants_set_stock",
        }[action]
    )
    assert entry.object_id == str(large.pk)
    assert entry.after == {field: audit}
    tee.refresh_from_db()
    if field == "price":
        assert tee.price_max == max(expected, Decimal("20.00"))
    else:
        assert tee.stock == 5 + expected


def test_a_bulk_action_is_one_update_whatever_the_selection(
    staff_client: Client, django_assert_max_num_queries: Any
) -> None:
    few = [VariantFactory() for _ in range(2)]
    many = [VariantFactory() for _ in range(30)]

    with django_assert_max_num_queries(14) as few_queries:
        run_action(staff_client, "bulk_set_variant_stock", few, step="apply", stock="0")
    with django_assert_max_num_queries(14) as many_queries:
        run_action(staff_client, "bulk_set_variant_stock", many, step="apply", stock="0")

    assert len(few_queries.captured_queries) == len(many_queries.captured_queries)
    assert Variant.objects.filter(pk__in=[v.pk for v in many], stock=0).count() == 30
    assert AuditEntry.objects.filter(action="products.variants_set_stock").count() == 32


def test_a_percentage_that_would_overflow_changes_nothing(
    staff_client: Client, tee: Product
) -> None:
    dear = VariantFactory(price=Decimal("99999999.00"))

    action = "bulk_change_variant_price_by_percentage"
    response = run_action(staff_client, action, [dear], step="apply", percentage="5")

    assert response.status_code == 200
    assert "would have a price over 99999999.99; nothing was changed" in response.content.decode()
    assert Variant.objects.get(pk=dear.pk).price == Decimal("99999999.00")
    assert not AuditEntry.objects.exists()


@pytest.mark.staff_permissions("products.view_variant")
def test_staff_who_cannot_change_variants_are_not_offered_the_actions(
    staff_client: Client, tee: Product
) -> None:
    large = tee.variants.get(sku="TEE-L")

    response = staff_client.get(reverse(CHANGELIST))
    applied = run_action(staff_client, "bulk_set_variant_stock", [large], step="apply", stock="0")

    assert response.context["action_form"] is None
    assert applied.status_code == 200  # the changelist again: no such action for them
    assert Variant.objects.get(pk=large.pk).stock == 1
    assert not AuditEntry.objects.exists()


# --- the audit of single writes ---------------------------------------------------------------


def test_a_variant_changed_on_its_own_page_is_audited(staff_client: Client, tee: Product) -> None:
    large = tee.variants.get(sku="TEE-L")
    url = reverse("admin:products_variant_change", args=[large.pk])
    data = {
        "sku": "TEE-L",
        "price": "30.00",
        "stock": "1",
        "is_active": "on",
        "position": str(large.position),
        "option_ids": ",".join(map(str, large.option_ids)),
    }

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["errors"]
    (entry,) = entries("products.variant_change")
    assert entry.object_id == str(large.pk)
    assert (entry.before, entry.after) == ({"price": "25.00"}, {"price": "30.00"})
    tee.refresh_from_db()
    assert tee.price_max == Decimal("30.00")


def test_a_variant_deleted_on_its_own_page_is_audited_but_not_the_last(
    staff_client: Client, tee: Product
) -> None:
    large = tee.variants.get(sku="TEE-L")
    url = reverse("admin:products_variant_delete", args=[large.pk])

    response = staff_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Variant.objects.filter(pk=large.pk).exists()
    (entry,) = entries("products.variant_delete")
    assert entry.object_id == str(large.pk)
    assert entry.before["sku"] == "TEE-L" and entry.after == {}

    last = tee.variants.get()
    refused = staff_client.post(
        reverse("admin:products_variant_delete", args=[last.pk]), {"post": "yes"}
    )
    assert refused.status_code == 403
    assert Variant.objects.filter(pk=last.pk).exists()


def test_the_product_page_audits_its_variants_added_changed_and_deleted(
    staff_client: Client, tee: Product
) -> None:
    change_url = reverse("admin:products_product_change", args=[tee.pk])
    data = form_data(staff_client.get(change_url))
    indexes = {
        data[key.replace("-id", "-sku")]: key.split("-")[1]
        for key in data
        if key.startswith("variants-") and key.endswith("-id")
    }
    medium, large = tee.variants.get(sku="TEE-M"), tee.variants.get(sku="TEE-L")
    (new_option,) = factory_axis_option_ids(tee)  # an option of the tee's (factory) type
    data[f"variants-{indexes['TEE-M']}-stock"] = "9"
    data[f"variants-{indexes['TEE-L']}-DELETE"] = "on"
    total = int(data["variants-TOTAL_FORMS"])
    data |= {
        "variants-TOTAL_FORMS": str(total + 1),
        f"variants-{total}-sku": "TEE-S",
        f"variants-{total}-price": "18.00",
        f"variants-{total}-stock": "2",
        f"variants-{total}-is_active": "on",
        f"variants-{total}-position": "5",
        f"variants-{total}-option_ids": str(new_option),
        f"variants-{total}-product": str(tee.pk),
    }

    response = staff_client.post(change_url, data)

    assert response.status_code == 302, response.context["errors"]
    small = tee.variants.get(sku="TEE-S")
    (added,) = entries("products.variant_add")
    (changed,) = entries("products.variant_change")
    (deleted,) = entries("products.variant_delete")
    assert (added.object_id, added.before) == (str(small.pk), {})
    assert added.after == {
        "sku": "TEE-S",
        "price": "18.00",
        "stock": 2,
        "is_active": True,
        "position": 5,
        "option_ids": [new_option],
    }
    assert (changed.object_id, changed.before, changed.after) == (
        str(medium.pk),
        {"stock": 5},
        {"stock": 9},
    )
    assert (deleted.object_id, deleted.before["sku"], deleted.after) == (
        str(large.pk),
        "TEE-L",
        {},
    )
    assert added.batch == changed.batch == deleted.batch
    assert added.user_id is not None


def test_an_unchanged_product_page_audits_nothing(staff_client: Client, tee: Product) -> None:
    change_url = reverse("admin:products_product_change", args=[tee.pk])

    response = staff_client.post(change_url, form_data(staff_client.get(change_url)))

    assert response.status_code == 302, response.context["errors"]
    assert not AuditEntry.objects.filter(action__startswith="products.variant").exists()


def test_a_typed_products_variant_needs_one_option_of_each_axis_on_its_page(
    staff_client: Client,
) -> None:
    size = AttributeFactory(name="Size", kind=AttributeKind.CHOICE)
    small, medium = (AttributeOptionFactory(attribute=size, value=v) for v in ("S", "M"))
    shirts = ProductTypeFactory(has_variants=True)
    ProductTypeAttributeFactory(product_type=shirts, attribute=size, is_axis=True)
    product = ProductFactory(sku="SHIRT", product_type=shirts)
    product.variants.update(option_ids=[small.pk])
    variant = product.variants.get()
    url = reverse("admin:products_variant_change", args=[variant.pk])
    data = {"sku": "SHIRT", "price": "10.00", "stock": "1", "is_active": "on", "position": "0"}

    refused = staff_client.post(url, {**data, "option_ids": f"{small.pk},{medium.pk}"})
    accepted = staff_client.post(url, {**data, "option_ids": str(medium.pk)})

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["option_ids"] == [
        "Give one option of each axis of the product's type (Size)."
    ]
    assert accepted.status_code == 302
    assert Variant.objects.get(pk=variant.pk).option_ids == [medium.pk]
