"""The options and axes that variants have stay while they have them (products.0013): an option a
variant carries is not deleted, and a type's axes do not change under its products' variants.
Through the staff API, the admin and SQL."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.attributes.models import AttributeOption, ProductType, ProductTypeAttribute
from apps.attributes.tests.test_admin import attribute_form, type_form
from apps.core.database_rules import refused_rule
from apps.core.testing import run_together
from apps.products.models import (
    AXIS_ADDED_MESSAGE,
    AXIS_REMOVED_MESSAGE,
    OPTION_USED_BY_VARIANTS_MESSAGE,
    VARIANT_OPTIONS_MESSAGE,
    Variant,
)
from apps.products.services import check_variant_options
from apps.products.tests.factories import (
    choice_attribute,
    option_id,
    product_type_of,
    product_with_options,
)
from apps.users.models import User

pytestmark = pytest.mark.django_db


class Tee:
    """A tee type with the axis size (s, m, l) and the choice fit (slim, loose), and a product
    of it with two variants, s and m."""

    def __init__(self) -> None:
        self.size = choice_attribute("size", ["s", "m", "l"])
        self.fit = choice_attribute("fit", ["slim", "loose"])
        self.type = product_type_of("tee", axes=(self.size,), attributes=(self.fit,))
        self.product = product_with_options(self.type, [option_id(self.size, "s")], sku="TEE-S")
        Variant.objects.create(
            product=self.product, sku="TEE-M", price=10, option_ids=[option_id(self.size, "m")]
        )


@pytest.fixture
def tee() -> Tee:
    return Tee()


@pytest.fixture
def staff(
    client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> APIClient:
    return client_for(
        staff_with_perms("attributes.change_attribute", "attributes.change_producttype")
    )


def patch(client: APIClient, name: str, pk: int, data: dict[str, Any]) -> Any:
    return client.patch(reverse(f"v1:{name}-detail", args=[pk]), data, format="json")


def axes(product_type: ProductType) -> list[tuple[str, bool]]:
    return list(
        product_type.type_attributes.order_by("position").values_list("attribute__slug", "is_axis")
    )


# --- options ----------------------------------------------------------------------------------


def test_an_option_that_variants_carry_is_not_left_out_of_its_attribute(
    tee: Tee, staff: APIClient
) -> None:
    options = [{"value": "S", "slug": "s"}, {"value": "L", "slug": "l"}]

    refused = patch(staff, "attribute", tee.size.pk, {"options": options})

    assert (refused.status_code, refused.json()["errors"]) == (
        400,
        {"options": [OPTION_USED_BY_VARIANTS_MESSAGE]},
    )
    assert list(tee.size.options.values_list("slug", flat=True)) == ["s", "m", "l"]
    # An option no variant carries may go (l).
    shed = patch(staff, "attribute", tee.size.pk, {"options": [{"value": "S"}, {"value": "M"}]})
    assert shed.status_code == 200, shed.json()
    assert sorted(tee.size.options.values_list("slug", flat=True)) == ["m", "s"]


def test_the_database_keeps_an_option_that_variants_carry(tee: Tee) -> None:
    medium = AttributeOption.objects.get(attribute=tee.size, slug="m")

    with pytest.raises(IntegrityError) as deleted, transaction.atomic():
        medium.delete()
    with pytest.raises(IntegrityError) as moved, transaction.atomic():
        AttributeOption.objects.filter(pk=medium.pk).update(attribute=tee.fit)

    for error in (deleted.value, moved.value):
        assert refused_rule(error) == ("options", OPTION_USED_BY_VARIANTS_MESSAGE)
    # Once no variant carries it, it goes.
    Variant.objects.filter(sku="TEE-M").delete()
    medium.delete()


def test_the_admin_shows_an_option_that_variants_carry_as_a_form_error(
    tee: Tee, admin_client: Client
) -> None:
    data = attribute_form(tee.size)
    medium_row = next(index for index in range(3) if data[f"options-{index}-slug"] == "m")
    data[f"options-{medium_row}-DELETE"] = "on"

    response = admin_client.post(
        reverse("admin:attributes_attribute_change", args=[tee.size.pk]), data
    )

    assert response.status_code == 200
    assert OPTION_USED_BY_VARIANTS_MESSAGE in response.content.decode()
    assert response.context["adminform"].form.non_field_errors() == [
        OPTION_USED_BY_VARIANTS_MESSAGE
    ]
    assert tee.size.options.count() == 3


def test_the_variants_of_an_option_are_found_through_the_gin_index(tee: Tee) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM products_variant WHERE option_ids @> ARRAY[%s::bigint]",
            [option_id(tee.size, "m")],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "variant_option_ids" in plan


# --- axes -------------------------------------------------------------------------------------


def test_an_axis_is_not_added_to_a_type_whose_products_have_variants(
    tee: Tee, staff: APIClient
) -> None:
    choice_attribute("colour", ["red", "blue"])

    added = patch(
        staff,
        "product-type",
        tee.type.pk,
        {"attributes": [
            {"slug": "size", "is_axis": True}, {"slug": "colour", "is_axis": True},
            {"slug": "fit"},
        ]},
    )  # fmt: skip
    flipped = patch(
        staff,
        "product-type",
        tee.type.pk,
        {"attributes": [{"slug": "size", "is_axis": True}, {"slug": "fit", "is_axis": True}]},
    )

    for response in (added, flipped):
        assert (response.status_code, response.json()["errors"]) == (
            400,
            {"attributes": [AXIS_ADDED_MESSAGE]},
        )
    assert axes(tee.type) == [("size", True), ("fit", False)]
    # A type without products takes new axes.
    empty = product_type_of("polo", axes=(tee.size,))
    taken = patch(
        staff,
        "product-type",
        empty.pk,
        {"attributes": [{"slug": "size", "is_axis": True}, {"slug": "colour", "is_axis": True}]},
    )
    assert taken.status_code == 200, taken.json()
    assert axes(empty) == [("size", True), ("colour", True)]


def test_an_axis_is_not_removed_while_variants_carry_its_options(
    tee: Tee, staff: APIClient
) -> None:
    removed = patch(staff, "product-type", tee.type.pk, {"attributes": [{"slug": "fit"}]})
    flipped = patch(
        staff,
        "product-type",
        tee.type.pk,
        {"attributes": [{"slug": "size", "is_axis": False}, {"slug": "fit"}]},
    )
    variants_off = patch(
        staff,
        "product-type",
        tee.type.pk,
        {"has_variants": False, "attributes": [{"slug": "size"}, {"slug": "fit"}]},
    )
    only_variants_off = patch(staff, "product-type", tee.type.pk, {"has_variants": False})

    for response in (removed, flipped, variants_off):
        assert (response.status_code, response.json()["errors"]) == (
            400,
            {"attributes": [AXIS_REMOVED_MESSAGE]},
        )
    assert only_variants_off.status_code == 400
    assert list(only_variants_off.json()["errors"]) == ["has_variants"]
    tee.type.refresh_from_db()
    assert tee.type.has_variants is True
    assert axes(tee.type) == [("size", True), ("fit", False)]


def test_the_database_keeps_the_axes_of_a_type_with_variants(tee: Tee) -> None:
    colour = choice_attribute("colour", ["red"])
    size_row = ProductTypeAttribute.objects.get(product_type=tee.type, attribute=tee.size)
    fit_row = ProductTypeAttribute.objects.get(product_type=tee.type, attribute=tee.fit)

    attempts: list[Callable[[], Any]] = [
        lambda: ProductTypeAttribute.objects.create(
            product_type=tee.type, attribute=colour, is_axis=True, position=5
        ),
        lambda: ProductTypeAttribute.objects.filter(pk=fit_row.pk).update(is_axis=True),
        lambda: ProductTypeAttribute.objects.filter(pk=size_row.pk).delete(),
        lambda: ProductTypeAttribute.objects.filter(pk=size_row.pk).update(is_axis=False),
        lambda: ProductTypeAttribute.objects.filter(pk=size_row.pk).update(attribute=colour),
    ]
    rules = []
    for attempt in attempts:
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            attempt()
        rules.append(refused_rule(refused.value))

    assert (
        rules
        == [("attributes", AXIS_ADDED_MESSAGE)] * 2 + [("attributes", AXIS_REMOVED_MESSAGE)] * 3
    )
    # A plain attribute comes and goes as before; so do the axes of a type without products.
    ProductTypeAttribute.objects.create(product_type=tee.type, attribute=colour, position=5)
    ProductTypeAttribute.objects.filter(product_type=tee.type, attribute=colour).delete()
    tee.product.delete()
    ProductTypeAttribute.objects.filter(pk=size_row.pk).delete()


def test_the_admin_shows_an_axis_removed_under_variants_as_a_form_error(
    tee: Tee, admin_client: Client
) -> None:
    rows = [
        {"id": row.pk, "attribute": row.attribute_id, "is_axis": row.is_axis,
         "position": row.position}
        for row in tee.type.type_attributes.order_by("position")
    ]  # fmt: skip
    rows[0]["DELETE"] = True

    response = admin_client.post(
        reverse("admin:attributes_producttype_change", args=[tee.type.pk]),
        type_form(tee.type, rows, has_variants=True),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [AXIS_REMOVED_MESSAGE]
    assert axes(tee.type) == [("size", True), ("fit", False)]


@pytest.mark.django_db(transaction=True)
def test_an_option_deleted_while_a_variant_takes_it_is_refused_once_the_variant_commits() -> None:
    tee = Tee()
    large = option_id(tee.size, "l")
    checked = threading.Event()

    def add_variant() -> None:
        with transaction.atomic():
            Variant.objects.create(product=tee.product, sku="TEE-L", price=10, option_ids=[large])
            # The check the services run before they return: it reads the options FOR KEY SHARE.
            check_variant_options()
            checked.set()
            time.sleep(0.5)  # the delete below starts meanwhile, and waits

    def delete_option() -> Any:
        checked.wait(timeout=10)
        with transaction.atomic():
            AttributeOption.objects.filter(pk=large).delete()

    added, deleted = run_together(add_variant, delete_option)

    assert added is None
    assert isinstance(deleted, IntegrityError)
    assert refused_rule(deleted) == ("options", OPTION_USED_BY_VARIANTS_MESSAGE)
    assert AttributeOption.objects.filter(pk=large).exists()


@pytest.mark.django_db(transaction=True)
def test_a_product_given_the_type_while_an_axis_is_added_is_refused_once_the_axis_commits() -> None:
    size = choice_attribute("size", ["s", "m"])
    colour = choice_attribute("colour", ["red"])
    polo = product_type_of("polo", axes=(size,))
    added = threading.Event()

    def add_axis() -> None:
        with transaction.atomic():
            ProductTypeAttribute.objects.create(
                product_type=polo, attribute=colour, is_axis=True, position=1
            )
            added.set()
            time.sleep(0.5)  # the product below is written meanwhile, and waits

    def create_product() -> Any:
        added.wait(timeout=10)
        return product_with_options(polo, [option_id(size, "s")], sku="POLO-S")

    axis, product = run_together(add_axis, create_product)

    assert axis is None
    assert isinstance(product, IntegrityError)
    # Its variant, checked at its commit, lacks the new axis.
    assert refused_rule(product) == ("options", VARIANT_OPTIONS_MESSAGE)
    assert not Variant.objects.filter(sku="POLO-S").exists()
