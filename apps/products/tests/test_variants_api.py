"""Variants in the API: the product's price range and variants, /products/{id}/variants/ and
its staff writes, the product write on a product with several variants, and ?sku=."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from apps.attributes.models import Attribute
from apps.core.testing import run_together
from apps.products.models import Product, Variant
from apps.products.services import variant_create, variant_delete
from apps.products.tests.factories import (
    ProductFactory,
    VariantFactory,
    choice_attribute,
    option_id,
    product_type_of,
    product_with_options,
)
from apps.users.models import User

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")
VARIANT_PERMISSIONS = (
    "products.add_variant",
    "products.change_variant",
    "products.delete_variant",
)


def variants_url(product: Product) -> str:
    return reverse("v1:product-variant-list", args=[product.pk])


def variant_url(variant: Variant) -> str:
    return reverse("v1:product-variant-detail", args=[variant.product_id, variant.pk])


@pytest.fixture
def size() -> Attribute:
    return choice_attribute("size", ["s", "m", "l", "xl"])


@pytest.fixture
def tee(size: Attribute) -> Product:
    """A T-shirt in three sizes: TEE-M (the product's own first variant), TEE-S, TEE-L; TEE-S
    is inactive."""
    product_type = product_type_of("tee", axes=(size,))
    product = product_with_options(
        product_type, [option_id(size, "m")], sku="TEE-M", price=Decimal("20.00"), stock=5
    )
    VariantFactory(
        product=product,
        sku="TEE-S",
        price=Decimal("15.00"),
        stock=2,
        is_active=False,
        option_ids=[option_id(size, "s")],
    )
    VariantFactory(
        product=product,
        sku="TEE-L",
        price=Decimal("25.00"),
        stock=1,
        option_ids=[option_id(size, "l")],
    )
    product.refresh_from_db()
    return product


@pytest.fixture
def variant_editor(
    client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> APIClient:
    return client_for(staff_with_perms("products.change_product", *VARIANT_PERMISSIONS))


def test_the_list_and_the_detail_show_the_price_range(
    api_client: APIClient, tee: Product, django_assert_num_queries: Any
) -> None:
    (row,) = api_client.get(PRODUCTS).data["results"]
    assert (row["price"], row["price_range"], row["stock"], row["sku"]) == (
        "20.00",
        {"min": "20.00", "max": "25.00"},
        6,
        "TEE-M",
    )

    with django_assert_num_queries(1):  # as before variants: one query
        detail = api_client.get(reverse("v1:product-detail", args=[tee.pk])).json()

    assert detail["price_range"] == {"min": "20.00", "max": "25.00"}
    assert [variant["sku"] for variant in detail["variants"]] == ["TEE-M", "TEE-L"]
    assert detail["variants"][1] == {
        "id": Variant.objects.get(sku="TEE-L").pk,
        "sku": "TEE-L",
        "price": "25.00",
        "stock": 1,
        "in_stock": True,
        "is_active": True,
        "position": Variant.objects.get(sku="TEE-L").position,
        "options": {"size": "l"},
    }


def test_staff_who_may_change_variants_see_the_inactive_ones(
    tee: Product, variant_editor: APIClient
) -> None:
    detail = variant_editor.get(reverse("v1:product-detail", args=[tee.pk])).json()
    assert [variant["sku"] for variant in detail["variants"]] == ["TEE-M", "TEE-S", "TEE-L"]

    listed = variant_editor.get(variants_url(tee)).json()
    assert [variant["sku"] for variant in listed["results"]] == ["TEE-M", "TEE-S", "TEE-L"]


def test_the_variant_list_pages_the_active_variants_by_position(
    api_client: APIClient, tee: Product, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):  # the product; the page with its count
        response = api_client.get(variants_url(tee), {"page_size": 1})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [variant["sku"] for variant in body["results"]] == ["TEE-M"]
    assert api_client.get(body["next"]).json()["results"][0]["sku"] == "TEE-L"


def test_the_variants_of_an_invisible_product_are_not_found(api_client: APIClient) -> None:
    hidden = ProductFactory(is_active=False)

    assert api_client.get(variants_url(hidden)).status_code == 404
    assert api_client.get(reverse("v1:product-variant-list", args=[10**9])).status_code == 404


def test_staff_add_change_and_delete_variants(
    tee: Product, variant_editor: APIClient, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(16):
        created = variant_editor.post(
            variants_url(tee),
            {"sku": "TEE-XL", "price": "30.00", "stock": 4, "options": {"size": "xl"}},
            format="json",
        )
    assert created.status_code == 201, created.json()
    assert created.json()["options"] == {"size": "xl"}
    assert created.json()["position"] == max(v.position for v in tee.variants.all()[:3]) + 1
    tee.refresh_from_db()
    assert (tee.price_max, tee.stock, tee.variant_count) == (Decimal("30.00"), 10, 4)

    xl = Variant.objects.get(sku="TEE-XL")
    with django_assert_max_num_queries(16):
        changed = variant_editor.patch(variant_url(xl), {"price": "12.00"}, format="json")
    assert changed.status_code == 200
    tee.refresh_from_db()
    assert (tee.price, tee.price_max) == (Decimal("12.00"), Decimal("25.00"))

    with django_assert_max_num_queries(16):
        assert variant_editor.delete(variant_url(xl)).status_code == 204
    tee.refresh_from_db()
    assert (tee.price, tee.stock, tee.variant_count) == (Decimal("20.00"), 6, 3)


def test_writing_variants_needs_staff_with_the_variant_permissions(
    api_client: APIClient,
    client_for: Callable[[User], APIClient],
    staff_with_perms: Callable[..., User],
    tee: Product,
) -> None:
    payload = {"sku": "TEE-XL", "price": "30.00", "options": {"size": "xl"}}
    assert api_client.post(variants_url(tee), payload).status_code == 401
    product_editor = client_for(staff_with_perms("products.change_product"))
    assert product_editor.post(variants_url(tee), payload).status_code == 403
    variant = Variant.objects.get(sku="TEE-L")
    assert product_editor.patch(variant_url(variant), {"price": "1.00"}).status_code == 403
    assert product_editor.delete(variant_url(variant)).status_code == 403
    assert not Variant.objects.filter(sku="TEE-XL").exists()


def test_bad_variant_writes_are_400s_naming_the_field(
    tee: Product, variant_editor: APIClient
) -> None:
    def post(**payload: Any) -> dict[str, Any]:
        body = {"sku": "NEW", "price": "1.00", "options": {"size": "xl"}, **payload}
        response = variant_editor.post(variants_url(tee), body, format="json")
        assert response.status_code == 400
        return response.json()["errors"]

    assert "sku" in post(sku="tee-l".upper())
    assert "price" in post(price="-1.00")
    assert "stock" in post(stock=-1)
    assert post(options={"size": "l"}) == {
        "options": ["This product already has a variant with these options."]
    }
    assert post(options={"size": "xxl"}) == {
        "options.size": ["This attribute has no option 'xxl'."]
    }
    assert post(options={"size": "xl", "colour": "red"}) == {
        "options.colour": ["This product type has no variant axis with this slug."]
    }
    assert post(options={}) == {"options": ["Give an option of each axis; missing: size."]}
    assert "options.size" in post(options={"size": 4})
    assert "options" in post(options=["xl"])
    assert Product.objects.get(pk=tee.pk).variant_count == 3


def test_a_product_has_at_most_the_settings_number_of_variants(
    tee: Product, variant_editor: APIClient
) -> None:
    with override_settings(CATALOGUE_MAX_VARIANTS_PER_PRODUCT=3):
        response = variant_editor.post(
            variants_url(tee), {"sku": "TEE-XL", "price": "1.00"}, format="json"
        )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": ["A product has at most 3 variants; this one has them."]
    }


def test_the_last_variant_cannot_be_deleted(variant_editor: APIClient) -> None:
    product = ProductFactory()

    response = variant_editor.delete(variant_url(product.variants.get()))

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": ["A product keeps at least one variant: this is its last one."]
    }
    assert product.variants.count() == 1


def test_the_product_write_refuses_a_summary_change_on_several_variants(
    tee: Product, variant_editor: APIClient
) -> None:
    url = reverse("v1:product-detail", args=[tee.pk])

    response = variant_editor.patch(url, {"price": "1.00", "stock": 3}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "price": ["This product has several variants: change their prices."],
        "stock": ["This product has several variants: change their stock."],
    }
    # The summary as it is, and other fields, may be sent.
    response = variant_editor.patch(
        url, {"price": "20.00", "sku": "TEE-M", "name": "Tee"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Tee"


def test_a_product_write_with_one_variant_changes_it(variant_editor: APIClient) -> None:
    product = ProductFactory(sku="MUG", price=Decimal("9.00"))

    response = variant_editor.patch(
        reverse("v1:product-detail", args=[product.pk]),
        {"price": "11.00", "sku": "MUG-2"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["price_range"] == {"min": "11.00", "max": "11.00"}
    variant = product.variants.get()
    assert (variant.sku, variant.price) == ("MUG-2", Decimal("11.00"))


def test_the_sku_filter_matches_any_variant_in_any_case(
    api_client: APIClient, tee: Product
) -> None:
    ProductFactory(sku="OTHER")

    for sku in ("tee-l", "TEE-M"):
        results = api_client.get(PRODUCTS, {"sku": sku}).json()["results"]
        assert [row["id"] for row in results] == [tee.pk]
    assert api_client.get(PRODUCTS, {"sku": "TEE"}).json()["results"] == []


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_option_combination_get_one_variant() -> None:
    size = choice_attribute("size", ["s", "m"])
    product = product_with_options(product_type_of("tee", axes=(size,)), [option_id(size, "s")])

    def create(sku: str) -> Variant:
        return variant_create(
            product=product, sku=sku, price=Decimal("1.00"), options={"size": "m"}
        )

    outcomes = run_together(lambda: create("RACE-A"), lambda: create("RACE-B"))

    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(errors) == 1, outcomes
    assert isinstance(errors[0], ValidationError)
    assert errors[0].message_dict == {
        "options": ["This product already has a variant with these options."]
    }
    assert product.variants.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_sku_on_two_products_get_a_400_not_a_500() -> None:
    size = choice_attribute("size", ["s", "m"])
    tee = product_type_of("tee", axes=(size,))
    first, second = (product_with_options(tee, [option_id(size, "s")]) for _ in range(2))
    editor = APIClient()
    staff = User.objects.create(email="racer@example.com", is_staff=True, is_superuser=True)
    editor.force_authenticate(staff)

    def create(product: Product) -> int:
        response = editor.post(
            variants_url(product),
            {"sku": "SAME", "price": "1.00", "options": {"size": "m"}},
            format="json",
        )
        connection.close()
        return response.status_code

    outcomes = run_together(lambda: create(first), lambda: create(second))

    # The one that lost the race may have seen the other's row (the serializer's check) or
    # not (the unique constraint, mapped to the field): a 400 either way.
    assert sorted(outcomes) == [201, 400]
    assert Variant.objects.filter(sku="SAME").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_deletes_of_a_products_last_two_variants_leave_one() -> None:
    product = ProductFactory()
    extra = VariantFactory(product=product)
    first = product.variants.exclude(pk=extra.pk).get()

    outcomes = run_together(
        lambda: variant_delete(variant=first), lambda: variant_delete(variant=extra)
    )

    assert sum(isinstance(outcome, ValidationError) for outcome in outcomes) == 1
    assert product.variants.count() == 1
