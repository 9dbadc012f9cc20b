"""A product's attribute values on its admin page: a field per non-axis attribute of its type,
with the widget of its kind, initial values from the stored ones, saved; a type change; the
variants' options checked against the type's axes."""

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.attributes.models import AttributeKind, AttributeOption, ProductType
from apps.attributes.tests.factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)
from apps.products.models import Product, ProductAttributeValue
from apps.products.tests.factories import ProductFactory
from apps.products.tests.test_variants_admin import form_data as page_data

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.staff_permissions(
        "products.view_product",
        "products.add_product",
        "products.change_product",
        "products.view_variant",
        "products.change_variant",
    ),
]


def form_data(response: Any) -> dict[str, Any]:
    """Return the change page's form as the browser would post it, unchanged (no box ticked
    is no value posted)."""
    data = page_data(response)
    data["attribute_tags"] = response.context["adminform"].form["attribute_tags"].value()
    return data


def change_url(product: Product) -> str:
    return reverse("admin:products_product_change", args=[product.pk])


@pytest.fixture
def book() -> dict[str, Any]:
    """A type with an attribute of each kind (and a size axis, which is not a field)."""
    kinds = {
        "subtitle": AttributeKind.TEXT,
        "weight": AttributeKind.NUMBER,
        "signed": AttributeKind.BOOLEAN,
        "published": AttributeKind.DATE,
        "cover": AttributeKind.CHOICE,
        "tags": AttributeKind.MULTIPLE_CHOICE,
        "colour": AttributeKind.SWATCH,
        "size": AttributeKind.CHOICE,
    }
    product_type = ProductTypeFactory(name="Book", has_variants=True)
    found: dict[str, Any] = {"type": product_type}
    for position, (slug, kind) in enumerate(kinds.items()):
        attribute = AttributeFactory(
            slug=slug, name=slug.title(), kind=kind, unit="g" if slug == "weight" else ""
        )
        found[slug] = attribute
        ProductTypeAttributeFactory(
            product_type=product_type,
            attribute=attribute,
            is_axis=slug == "size",
            position=position,
        )
        if kind in (AttributeKind.CHOICE, AttributeKind.MULTIPLE_CHOICE, AttributeKind.SWATCH):
            found[f"{slug}_options"] = [
                AttributeOptionFactory(attribute=attribute, value=v, slug=v.lower(), position=n)
                for n, v in enumerate(["One", "Two", "Three"])
            ]
    product = ProductFactory(sku="BOOK", product_type=product_type)
    product.variants.update(option_ids=[found["size_options"][0].pk])
    found["product"] = product
    return found


def option(book: dict[str, Any], slug: str, index: int) -> AttributeOption:
    options: list[AttributeOption] = book[f"{slug}_options"]
    return options[index]


def test_the_page_has_a_field_per_attribute_with_the_widget_of_its_kind(
    staff_client: Client, book: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    product = book["product"]
    ProductAttributeValue.objects.bulk_create(
        [
            ProductAttributeValue(product=product, attribute=book["subtitle"], value_text="A tale"),
            ProductAttributeValue(
                product=product, attribute=book["weight"], value_number=Decimal("250")
            ),
            ProductAttributeValue(product=product, attribute=book["signed"], value_boolean=True),
            ProductAttributeValue(
                product=product, attribute=book["cover"], option=option(book, "cover", 1)
            ),
            ProductAttributeValue(
                product=product, attribute=book["tags"], option=option(book, "tags", 0)
            ),
            ProductAttributeValue(
                product=product, attribute=book["tags"], option=option(book, "tags", 2)
            ),
        ]
    )

    with django_assert_max_num_queries(25):
        response = staff_client.get(change_url(product))

    assert response.status_code == 200
    form = response.context["adminform"].form
    content = response.content.decode()
    assert 'name="attribute_subtitle" value="A tale"' in content
    assert 'type="number" name="attribute_weight" value="250"' in content
    assert ">g</div>" in content  # the unit as help text
    assert '<select name="attribute_signed"' in content
    assert form["attribute_signed"].value() is True
    assert 'type="date" name="attribute_published"' in content
    assert '<select name="attribute_cover"' in content
    assert form["attribute_cover"].value() == "two"
    assert content.count('type="checkbox" name="attribute_tags"') == 3
    assert form["attribute_tags"].value() == ["one", "three"]
    assert '<select name="attribute_colour"' in content
    assert "attribute_size" not in form.fields  # an axis: per variant


def test_values_posted_are_stored_and_blanks_remove_them(
    staff_client: Client, book: dict[str, Any]
) -> None:
    product = book["product"]
    ProductAttributeValue.objects.create(
        product=product, attribute=book["subtitle"], value_text="Old"
    )
    data = form_data(staff_client.get(change_url(product)))
    data |= {
        "attribute_subtitle": "",
        "attribute_weight": "12.5",
        "attribute_signed": "false",
        "attribute_published": "2024-05-01",
        "attribute_cover": "three",
        "attribute_tags": ["one", "two"],
        "attribute_colour": "",
    }

    response = staff_client.post(change_url(product), data)

    assert response.status_code == 302, response.context["errors"]
    stored = {
        (row.attribute.slug, str(row.value) if row.option_id is None else row.option.slug)
        for row in ProductAttributeValue.objects.filter(product=product).select_related(
            "attribute", "option"
        )
    }
    assert stored == {
        ("weight", "12.500000"),
        ("signed", "False"),
        ("published", str(datetime.date(2024, 5, 1))),
        ("cover", "three"),
        ("tags", "one"),
        ("tags", "two"),
    }


def test_a_bad_value_is_an_error_on_its_field_and_nothing_is_written(
    staff_client: Client, book: dict[str, Any]
) -> None:
    product = book["product"]
    data = form_data(staff_client.get(change_url(product)))
    data |= {"attribute_weight": "heavy", "attribute_cover": "nine", "name": "Renamed"}

    response = staff_client.post(change_url(product), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"attribute_weight", "attribute_cover"}
    assert not ProductAttributeValue.objects.filter(product=product).exists()
    assert Product.objects.get(pk=product.pk).name != "Renamed"


def test_a_type_change_keeps_the_shared_values_and_shows_the_new_fields(
    staff_client: Client, book: dict[str, Any]
) -> None:
    product = book["product"]
    ProductAttributeValue.objects.bulk_create(
        [
            ProductAttributeValue(product=product, attribute=book["subtitle"], value_text="Kept"),
            ProductAttributeValue(
                product=product, attribute=book["weight"], value_number=Decimal(1)
            ),
        ]
    )
    # A type without axes, sharing the subtitle.
    pamphlet: ProductType = ProductTypeFactory(name="Pamphlet")
    ProductTypeAttributeFactory(product_type=pamphlet, attribute=book["subtitle"])
    pages = AttributeFactory(slug="pages", name="Pages", kind=AttributeKind.NUMBER)
    ProductTypeAttributeFactory(product_type=pamphlet, attribute=pages)
    data = form_data(staff_client.get(change_url(product)))
    data |= {"product_type": str(pamphlet.pk), "attribute_subtitle": "Edited", "_continue": "1"}
    # The variant sheds its option (the new type has no axes) in the same save.
    for key in [key for key in data if key.startswith("variants-") and key.endswith("option_ids")]:
        data[key] = ""

    response = staff_client.post(change_url(product), data, follow=True)

    assert response.status_code == 200
    rows = ProductAttributeValue.objects.filter(product=product)
    assert [(row.attribute_id, row.value_text) for row in rows] == [(book["subtitle"].pk, "Edited")]
    fields = response.context["adminform"].form.fields
    assert {"attribute_subtitle", "attribute_pages"} <= set(fields)
    assert "attribute_weight" not in fields


def test_variants_must_carry_one_option_of_each_axis_of_a_typed_product(
    staff_client: Client, book: dict[str, Any]
) -> None:
    product = book["product"]
    data = form_data(staff_client.get(change_url(product)))
    (key,) = [key for key in data if key.startswith("variants-") and key.endswith("option_ids")]
    data[key] = ""

    response = staff_client.post(change_url(product), data)

    assert response.status_code == 200
    assert (
        "Each variant needs one option of each axis of the product&#x27;s type (Size); these do "
        "not: BOOK." in response.content.decode()
    )


def test_a_new_product_of_a_type_with_axes_is_added_with_its_first_variants_options(
    staff_client: Client, book: dict[str, Any]
) -> None:
    product = book["product"]
    add = reverse("admin:products_product_add")
    data = {
        "name": "New book",
        "slug": "new-book",
        "sku": "NEW-BOOK",
        "category": str(product.category_id),
        "product_type": str(book["type"].pk),
        "price": "10.00",
        "stock": "1",
        "is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }

    # The type chosen, the page comes back asking for the first variant's options.
    asked = staff_client.post(add, data)
    # Or straight away, with the type in the query string.
    offered = staff_client.get(add, {"product_type": book["type"].pk})
    added = staff_client.post(add, data | {"first_variant_size": "two"})

    assert asked.status_code == 200
    form = asked.context["adminform"].form
    assert form.errors == {
        "first_variant_size": ["The type has the variant axis Size: choose the first variant's."]
    }
    assert [choice for choice, _ in form.fields["first_variant_size"].choices] == [
        "",
        "one",
        "two",
        "three",
    ]
    assert "first_variant_size" in offered.context["adminform"].form.fields
    assert added.status_code == 302, added.context["adminform"].form.errors
    new = Product.objects.get(sku="NEW-BOOK")
    assert new.product_type_id == book["type"].pk
    assert list(new.variants.values_list("sku", "option_ids")) == [
        ("NEW-BOOK", [option(book, "size", 1).pk])
    ]


def test_the_add_page_of_an_untyped_product_asks_no_options(staff_client: Client) -> None:
    page = staff_client.get(reverse("admin:products_product_add"))

    assert page.status_code == 200
    assert not [name for name in page.context["adminform"].form.fields if "first_variant" in name]


def test_values_are_saved_through_the_products_service_in_its_shape(
    staff_client: Client, book: dict[str, Any]
) -> None:
    product = book["product"]
    ProductAttributeValue.objects.create(
        product=product, attribute=book["subtitle"], value_text="Old"
    )
    data = form_data(staff_client.get(change_url(product)))
    # An exponent is a number to the form; the service takes plain digits (100000), and a
    # field left empty is no value: the subtitle goes.
    data |= {
        "attribute_weight": "1e5",
        "attribute_subtitle": "",
        "attribute_published": "2024-05-01",
    }

    response = staff_client.post(change_url(product), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = {
        row.attribute.slug: row.value
        for row in ProductAttributeValue.objects.filter(product=product).select_related("attribute")
    }
    assert stored == {"weight": Decimal("100000"), "published": datetime.date(2024, 5, 1)}
