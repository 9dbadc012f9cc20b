"""Typed products (issue 13 slice 2): attribute values checked against the product's type (the
domain's validation and the database's triggers), variants' options on the type's axes, the
staff API's nested writes and the product page's attributes and options."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from apps.attributes.models import Attribute, AttributeKind, AttributeOption, ProductType
from apps.core.exceptions import integrity_error_to_validation_error
from apps.core.testing import run_together
from apps.products.attribute_values import product_attributes_validate
from apps.products.models import Product, ProductAttributeValue, Variant
from apps.products.services import check_variant_options, product_update
from apps.products.tests.factories import (
    CategoryFactory,
    ProductFactory,
    choice_attribute,
    option_id,
    product_type_of,
    product_with_options,
)
from apps.users.models import User

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")


class Shirt:
    """A shirt type: axes size (s, m, l) and colour (a swatch: red, blue); attributes material
    (text), weight (number, g), organic (boolean), released (date), fit (choice), care
    (multiple choice) and note (text, not shown)."""

    def __init__(self) -> None:
        self.size = choice_attribute("size", ["s", "m", "l"])
        self.colour = choice_attribute("colour", ["red", "blue"], kind=AttributeKind.SWATCH)
        AttributeOption.objects.filter(attribute=self.colour, slug="red").update(
            swatch_colour="#d01c1f"
        )
        self.material = Attribute.objects.create(name="Material", slug="material", kind="text")
        self.weight = Attribute.objects.create(
            name="Weight", slug="weight", kind="number", unit="g"
        )
        self.organic = Attribute.objects.create(name="Organic", slug="organic", kind="boolean")
        self.released = Attribute.objects.create(name="Released", slug="released", kind="date")
        self.fit = choice_attribute("fit", ["slim", "regular"])
        self.care = choice_attribute(
            "care", ["wash", "iron", "dry"], kind=AttributeKind.MULTIPLE_CHOICE
        )
        self.note = Attribute.objects.create(name="Note", slug="note", kind="text", is_shown=False)
        self.type = product_type_of(
            "shirt",
            axes=(self.size, self.colour),
            attributes=(
                self.material,
                self.weight,
                self.organic,
                self.released,
                self.fit,
                self.care,
                self.note,
            ),
        )


@pytest.fixture
def shirt() -> Shirt:
    return Shirt()


@pytest.fixture
def editor(
    client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> APIClient:
    return client_for(
        staff_with_perms(
            "products.add_product",
            "products.change_product",
            "products.add_variant",
            "products.change_variant",
        )
    )


def check_deferred_rules() -> None:
    """Run the checks deferred to the commit now (the test's transaction never commits)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def shirt_payload(shirt: Shirt, **changes: Any) -> dict[str, Any]:
    payload = {
        "name": "Oxford shirt",
        "category": CategoryFactory().pk,
        "product_type": "shirt",
        "attributes": {
            "material": "Cotton",
            "weight": 180.5,
            "organic": True,
            "released": "2026-03-01",
            "fit": "slim",
            "care": ["wash", "iron"],
        },
        "variants": [
            {
                "sku": "OX-S-RED",
                "price": "30.00",
                "stock": 2,
                "options": {"size": "s", "colour": "red"},
            },
            {
                "sku": "OX-M-RED",
                "price": "32.00",
                "stock": 0,
                "options": {"size": "m", "colour": "red"},
            },
            {
                "sku": "OX-M-BLUE",
                "price": "35.00",
                "stock": 1,
                "is_active": False,
                "options": {"size": "m", "colour": "blue"},
            },
        ],
    }
    payload.update(changes)
    return payload


# --- validation ---------------------------------------------------------------------------------


def test_values_are_typed_by_their_attributes_kind(shirt: Shirt) -> None:
    values = product_attributes_validate(
        shirt.type,
        {
            "material": "Linen",
            "weight": "12.250",
            "organic": False,
            "released": "2026-01-31",
            "fit": "regular",
            "care": ["dry", "wash"],
            "note": None,
        },
    )

    typed = {(value.attribute.slug, str(value.value)) for value in values}
    assert typed == {
        ("material", "Linen"),
        ("weight", "12.250"),
        ("organic", "False"),
        ("released", "2026-01-31"),
        ("fit", "REGULAR"),
        ("care", "DRY"),
        ("care", "WASH"),
    }


@pytest.mark.parametrize(
    ("slug", "value", "message"),
    [
        ("material", 12, "Must be a string."),
        ("material", "x" * 256, "Ensure this value has at most 255 characters."),
        ("material", " ", "Must not be blank (leave the attribute out for no value)."),
        ("weight", "twelve", "Must be a number."),
        ("weight", True, "Must be a number."),
        ("weight", float("inf"), "Must be a finite number."),
        ("weight", "1e3", "Must be a number."),
        (
            "weight",
            10**12,
            "Ensure this value is between -999999999999.999999 and 999999999999.999999.",
        ),
        ("weight", "0.0000001", "Ensure it has at most 6 decimal places."),
        ("organic", "yes", "Must be true or false."),
        ("released", "2026-02-30", "Must be a date, YYYY-MM-DD."),
        ("released", "20260201", "Must be a date, YYYY-MM-DD."),
        ("fit", "baggy", "This attribute has no option 'baggy'."),
        ("fit", ["slim"], "Must be an option slug (a string)."),
        ("care", "wash", "Must be a list of option slugs."),
        ("care", ["wash", "wash"], "An option is given more than once."),
        ("care", ["wash", "fold"], "This attribute has no option 'fold'."),
        ("size", "s", "This attribute is a variant axis: give it per variant, in options."),
        ("colour-code", "x", "This product type has no attribute with this slug."),
    ],
)
def test_a_bad_value_is_named_by_its_attribute(
    shirt: Shirt, slug: str, value: Any, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        product_attributes_validate(shirt.type, {"material": "Cotton", slug: value})

    assert raised.value.message_dict == {f"attributes.{slug}": [message]}


def test_a_product_without_a_type_has_no_attributes() -> None:
    assert product_attributes_validate(None, {}) == []
    with pytest.raises(ValidationError) as raised:
        product_attributes_validate(None, {"material": "Cotton"})
    assert raised.value.message_dict == {
        "attributes": ["A product without a type has no attributes."]
    }


# --- the database's rules -------------------------------------------------------------------------


def rule_error(error: IntegrityError) -> Any:
    return integrity_error_to_validation_error(error).detail


def test_the_database_refuses_a_value_that_does_not_fit_the_type(shirt: Shirt) -> None:
    product = ProductFactory(product_type=product_type_of("plain", attributes=(shirt.material,)))
    other = Attribute.objects.create(name="Other", slug="other", kind="text")

    cases = [
        (ProductAttributeValue(product=product, attribute=other, value_text="x"), "other"),
        (
            ProductAttributeValue(product=product, attribute=shirt.material, value_number=1),
            "material",
        ),
    ]
    for value, slug in cases:
        with pytest.raises(IntegrityError) as raised, transaction.atomic():
            value.save()
        assert list(rule_error(raised.value)) == [f"attributes.{slug}"]


def test_the_database_keeps_a_choice_to_one_option_of_its_own(shirt: Shirt) -> None:
    product = product_with_options(
        shirt.type, [option_id(shirt.size, "s"), option_id(shirt.colour, "red")]
    )
    ProductAttributeValue.objects.create(
        product=product, attribute=shirt.fit, option_id=option_id(shirt.fit, "slim")
    )

    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        ProductAttributeValue.objects.create(
            product=product, attribute=shirt.fit, option_id=option_id(shirt.fit, "regular")
        )
    assert rule_error(raised.value) == {"attributes.fit": ["This attribute takes one option."]}
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        ProductAttributeValue.objects.create(
            product=product, attribute=shirt.care, option_id=option_id(shirt.fit, "regular")
        )
    assert rule_error(raised.value) == {
        "attributes.care": ["This option is not one of the attribute's."]
    }
    for slug in ("wash", "dry"):  # a multiple choice takes several
        ProductAttributeValue.objects.create(
            product=product, attribute=shirt.care, option_id=option_id(shirt.care, slug)
        )


def test_a_type_change_that_strands_values_is_refused_unless_they_are_replaced(
    shirt: Shirt,
) -> None:
    plain = product_type_of("plain", attributes=(shirt.material,))
    bare = product_type_of("bare")
    product = ProductFactory(product_type=plain)
    ProductAttributeValue.objects.create(product=product, attribute=shirt.material, value_text="x")

    with pytest.raises(ValidationError) as raised:
        product_update(product=product, product_type=bare)
    assert list(raised.value.message_dict) == ["product_type"]
    with pytest.raises(IntegrityError) as database, transaction.atomic():
        Product.objects.filter(pk=product.pk).update(product_type=bare)
    assert list(rule_error(database.value)) == ["product_type"]

    product_update(product=product, product_type=bare, attributes={})
    assert not product.attribute_values.exists()
    assert Product.objects.get(pk=product.pk).product_type == bare


def write_and_check(rows: Any, **changes: Any) -> None:
    """Update ``rows`` and run the variants' option check, in a savepoint."""
    with transaction.atomic():
        rows.update(**changes)
        check_variant_options()


def test_the_database_keeps_variants_to_one_option_of_each_axis(shirt: Shirt) -> None:
    product = product_with_options(
        shirt.type, [option_id(shirt.size, "s"), option_id(shirt.colour, "red")]
    )
    check_deferred_rules()
    variant = product.variants.get()

    for option_ids in (
        [option_id(shirt.size, "m")],  # no colour
        [option_id(shirt.size, "m"), option_id(shirt.size, "l")],  # two sizes
        [option_id(shirt.size, "m"), option_id(shirt.fit, "slim")],  # not an axis
    ):
        with pytest.raises(IntegrityError) as raised:
            write_and_check(Variant.objects.filter(pk=variant.pk), option_ids=sorted(option_ids))
        assert rule_error(raised.value) == {
            "options": [
                "Give one option of each variant axis of the product's type (none without axes)."
            ]
        }

    # A type without the axes: the variant's options no longer fit it.
    bare = product_type_of("bare")
    with pytest.raises(IntegrityError) as raised:
        write_and_check(Product.objects.filter(pk=product.pk), product_type=bare)
    assert list(rule_error(raised.value)) == ["product_type"]


# --- the staff API --------------------------------------------------------------------------------


def test_staff_create_a_product_with_its_variants_in_one_request(
    shirt: Shirt, editor: APIClient, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(30):
        response = editor.post(PRODUCTS, shirt_payload(shirt), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    # The summary of the variants: the first's SKU, the lowest active price, the active stock.
    assert (body["sku"], body["price"], body["price_range"], body["stock"]) == (
        "OX-S-RED",
        "30.00",
        {"min": "30.00", "max": "32.00"},
        2,
    )
    product = Product.objects.get(pk=body["id"])
    assert product.product_type == shirt.type
    variants = Variant.objects.with_options().filter(product=product).order_by("position")
    assert [(v.sku, v.options, v.is_active, v.position) for v in variants] == [
        ("OX-S-RED", {"size": "s", "colour": "red"}, True, 0),
        ("OX-M-RED", {"size": "m", "colour": "red"}, True, 1),
        ("OX-M-BLUE", {"size": "m", "colour": "blue"}, False, 2),
    ]
    stored = {(v.attribute.slug, str(v.value)) for v in product.attribute_values.all()}
    assert stored == {
        ("material", "Cotton"),
        ("weight", "180.500000"),
        ("organic", "True"),
        ("released", "2026-03-01"),
        ("fit", "SLIM"),
        ("care", "WASH"),
        ("care", "IRON"),
    }


def test_a_bad_nested_write_names_each_field_and_writes_nothing(
    shirt: Shirt, editor: APIClient
) -> None:
    ProductFactory(sku="TAKEN")
    payload = shirt_payload(shirt)
    payload["attributes"]["weight"] = "heavy"
    payload["variants"][0]["sku"] = "TAKEN"
    payload["variants"][1]["options"] = {"size": "xl", "colour": "red"}
    payload["variants"][2]["options"] = {"size": "s", "colour": "red"}
    payload["variants"].append({"sku": "OX-M-RED", "price": "-1.00", "options": {"size": "l"}})

    response = editor.post(PRODUCTS, payload, format="json")

    # The shapes first (the serializers), each named by its path.
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["variants[3].price"]
    payload["variants"][3]["price"] = "1.00"
    response = editor.post(PRODUCTS, payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "attributes.weight": ["Must be a number."],
    }
    payload["attributes"]["weight"] = 1
    response = editor.post(PRODUCTS, payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "variants[0].sku": ["A variant with this SKU already exists."],
        "variants[1].options.size": ["This attribute has no option 'xl'."],
        "variants[2].options": ["Variant 0 has these options already."],
        "variants[3].options": ["Give an option of each axis; missing: colour."],
        "variants[3].sku": ["Variant 1 has this SKU already."],
    }
    assert Product.objects.count() == 1


def test_with_variants_the_product_takes_no_sku_price_or_stock(
    shirt: Shirt, editor: APIClient
) -> None:
    response = editor.post(PRODUCTS, shirt_payload(shirt, sku="OX", stock=3), format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"sku", "stock"}

    without = shirt_payload(shirt, sku="OX", price="1.00")
    del without["variants"]
    response = editor.post(PRODUCTS, without, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "variants": ["This product type has variant axes: give the variants."]
    }
    assert not Product.objects.exists()


def test_patching_attributes_replaces_them_all(shirt: Shirt, editor: APIClient) -> None:
    product_id = editor.post(PRODUCTS, shirt_payload(shirt), format="json").json()["id"]
    url = reverse("v1:product-detail", args=[product_id])

    response = editor.patch(url, {"attributes": {"material": "Linen"}}, format="json")

    assert response.status_code == 200, response.json()
    assert [str(v.value) for v in ProductAttributeValue.objects.filter(product_id=product_id)] == [
        "Linen"
    ]
    response = editor.patch(url, {"attributes": {"size": "m"}}, format="json")
    assert response.json()["errors"] == {
        "attributes.size": ["This attribute is a variant axis: give it per variant, in options."]
    }
    response = editor.patch(url, {"variants": []}, format="json")
    assert response.status_code == 400


def test_a_product_without_a_type_is_created_as_before(editor: APIClient) -> None:
    payload = {"name": "Mug", "sku": "MUG", "price": "9.00", "category": CategoryFactory().pk}

    response = editor.post(PRODUCTS, payload, format="json")

    assert response.status_code == 201
    product = Product.objects.get()
    assert (product.product_type, product.variants.get().option_ids) == (None, [])


@pytest.mark.django_db(transaction=True)
def test_two_staff_creating_one_combination_get_one_201_and_one_400() -> None:
    size = choice_attribute("size", ["s", "m"])
    product = product_with_options(product_type_of("tee", axes=(size,)), [option_id(size, "s")])
    staff = User.objects.create(email="racer@example.com", is_staff=True, is_superuser=True)
    url = reverse("v1:product-variant-list", args=[product.pk])

    def create(sku: str) -> int:
        client = APIClient()
        client.force_authenticate(staff)
        response = client.post(
            url, {"sku": sku, "price": "1.00", "options": {"size": "m"}}, format="json"
        )
        connection.close()
        return response.status_code

    outcomes = run_together(lambda: create("RACE-A"), lambda: create("RACE-B"))

    assert sorted(outcomes) == [201, 400]
    assert product.variants.count() == 2


# --- the product page -----------------------------------------------------------------------------


def test_the_product_page_shows_the_attributes_and_the_options_to_pick(
    shirt: Shirt, editor: APIClient, api_client: APIClient, django_assert_num_queries: Any
) -> None:
    product_id = editor.post(
        PRODUCTS,
        shirt_payload(shirt, attributes={**shirt_payload(shirt)["attributes"], "note": "x"}),
        format="json",
    ).json()["id"]

    with django_assert_num_queries(1):
        page = api_client.get(reverse("v1:product-detail", args=[product_id])).json()

    def summary(attribute: Attribute) -> dict[str, str]:
        return {
            "slug": attribute.slug,
            "name": attribute.name,
            "kind": attribute.kind,
            "unit": attribute.unit,
        }

    def option(slug: str, value: str, colour: str | None = None) -> dict[str, Any]:
        return {"slug": slug, "value": value, "swatch_colour": colour, "swatch_image": None}

    assert page["attributes"] == [
        {"attribute": summary(shirt.material), "value": "Cotton"},
        {"attribute": summary(shirt.weight), "value": "180.5"},
        {"attribute": summary(shirt.organic), "value": True},
        {"attribute": summary(shirt.released), "value": "2026-03-01"},
        {"attribute": summary(shirt.fit), "value": option("slim", "SLIM")},
        {
            "attribute": summary(shirt.care),
            "value": [option("wash", "WASH"), option("iron", "IRON")],
        },
    ]  # not the note, which is not shown
    # The options of the active variants only: no blue (OX-M-BLUE is inactive).
    assert page["options"] == [
        {"attribute": summary(shirt.size), "values": [option("s", "S"), option("m", "M")]},
        {"attribute": summary(shirt.colour), "values": [option("red", "RED", "#d01c1f")]},
    ]
    assert [variant["options"] for variant in page["variants"]] == [
        {"size": "s", "colour": "red"},
        {"size": "m", "colour": "red"},
    ]
    listed = api_client.get(reverse("v1:product-variant-list", args=[product_id])).json()
    assert [variant["options"] for variant in listed["results"]] == [
        {"size": "s", "colour": "red"},
        {"size": "m", "colour": "red"},
    ]


def test_a_page_with_fifty_variants_takes_at_most_two_queries(
    shirt: Shirt, api_client: APIClient, django_assert_max_num_queries: Any
) -> None:
    sizes = [f"size-{n}" for n in range(25)]
    many = choice_attribute("many-sizes", sizes)
    product_type = product_type_of("many", axes=(many, shirt.colour), attributes=(shirt.fit,))
    product = product_with_options(
        product_type, [option_id(many, "size-0"), option_id(shirt.colour, "red")]
    )
    ProductAttributeValue.objects.create(
        product=product, attribute=shirt.fit, option_id=option_id(shirt.fit, "slim")
    )
    Variant.objects.bulk_create(
        Variant(
            product=product,
            sku=f"MANY-{size}-{colour}",
            price=Decimal("10.00"),
            stock=1,
            position=index,
            option_ids=sorted([option_id(many, size), option_id(shirt.colour, colour)]),
        )
        for index, (size, colour) in enumerate(
            (size, colour) for size in sizes for colour in ("red", "blue")
        )
        if (size, colour) != ("size-0", "red")
    )
    check_deferred_rules()
    assert product.variants.count() == 50

    with django_assert_max_num_queries(2):
        page = api_client.get(reverse("v1:product-detail", args=[product.pk])).json()

    assert len(page["variants"]) == 50
    assert [len(axis["values"]) for axis in page["options"]] == [25, 2]
    assert page["attributes"][0]["value"]["slug"] == "slim"


def test_the_date_and_the_type_model_fields(shirt: Shirt) -> None:
    product = ProductFactory(product_type=product_type_of("dated", attributes=(shirt.released,)))
    value = ProductAttributeValue.objects.create(
        product=product, attribute=shirt.released, value_date=date(2026, 1, 2)
    )
    assert value.value == date(2026, 1, 2)
    assert isinstance(product.product_type, ProductType)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductAttributeValue.objects.create(
            product=product, attribute=shirt.released, value_date=date(2026, 1, 2), value_text="x"
        )


def test_an_option_that_products_have_is_not_left_out_of_its_attribute(
    shirt: Shirt, client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> None:
    product = ProductFactory(product_type=product_type_of("fitted", attributes=(shirt.fit,)))
    ProductAttributeValue.objects.create(
        product=product, attribute=shirt.fit, option_id=option_id(shirt.fit, "slim")
    )
    staff = client_for(staff_with_perms("attributes.change_attribute"))

    response = staff.patch(
        reverse("v1:attribute-detail", args=[shirt.fit.pk]),
        {"options": [{"value": "Regular", "slug": "regular"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "options": ["Products have these options, which the list leaves out: slim."]
    }
    assert shirt.fit.options.count() == 2


def test_an_attribute_with_values_keeps_its_kind_and_its_place_in_the_type(
    shirt: Shirt, client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> None:
    plain = product_type_of("plain", attributes=(shirt.material, shirt.fit))
    product = ProductFactory(product_type=plain)
    ProductAttributeValue.objects.create(product=product, attribute=shirt.material, value_text="x")
    staff = client_for(
        staff_with_perms("attributes.change_attribute", "attributes.change_producttype")
    )

    kind = staff.patch(
        reverse("v1:attribute-detail", args=[shirt.material.pk]), {"kind": "date"}, format="json"
    )
    dropped = staff.patch(
        reverse("v1:product-type-detail", args=[plain.pk]),
        {"attributes": [{"slug": "fit"}]},
        format="json",
    )

    assert (kind.status_code, kind.json()["errors"]) == (
        400,
        {"kind": ["Products have values of this attribute: its kind stays."]},
    )
    assert dropped.status_code == 400
    assert list(dropped.json()["errors"]) == ["attributes"]
    # An attribute without values may go.
    kept = staff.patch(
        reverse("v1:product-type-detail", args=[plain.pk]),
        {"attributes": [{"slug": "material"}]},
        format="json",
    )
    assert kept.status_code == 200, kept.json()


def test_a_full_update_still_needs_the_sku_and_the_price(editor: APIClient) -> None:
    product = ProductFactory()
    url = reverse("v1:product-detail", args=[product.pk])

    response = editor.put(url, {"name": "Renamed", "category": product.category_id}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"sku", "price"}


def test_the_product_type_is_a_slug_or_null(editor: APIClient) -> None:
    product = ProductFactory()
    url = reverse("v1:product-detail", args=[product.pk])

    assert editor.patch(url, {"product_type": ""}, format="json").json()["errors"] == {
        "product_type": [
            "Must be the slug of a product type: letters, digits, hyphens, underscores."
        ]
    }
    assert editor.patch(url, {"product_type": None}, format="json").status_code == 200
