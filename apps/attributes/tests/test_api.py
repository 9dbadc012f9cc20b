import threading
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from apps.attributes.models import (
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)
from apps.users.models import User

from .factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)

pytestmark = pytest.mark.django_db

ATTRIBUTES = reverse("v1:attribute-list")
PRODUCT_TYPES = reverse("v1:product-type-list")
ATTRIBUTE_PERMISSIONS = (
    "attributes.add_attribute",
    "attributes.change_attribute",
    "attributes.delete_attribute",
)
TYPE_PERMISSIONS = (
    "attributes.add_producttype",
    "attributes.change_producttype",
    "attributes.delete_producttype",
)


def attribute_url(attribute: Attribute) -> str:
    return reverse("v1:attribute-detail", args=[attribute.pk])


def product_type_url(product_type: ProductType) -> str:
    return reverse("v1:product-type-detail", args=[product_type.pk])


@pytest.fixture
def editor(client_for, staff_with_perms) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(staff_with_perms(*ATTRIBUTE_PERMISSIONS, *TYPE_PERMISSIONS))


def colour() -> Attribute:
    attribute = AttributeFactory(name="Colour", slug="colour", kind=AttributeKind.SWATCH)
    AttributeOptionFactory(
        attribute=attribute, value="Red", slug="red", position=2, swatch_colour="#ff0000"
    )
    AttributeOptionFactory(
        attribute=attribute,
        value="Blue",
        slug="blue",
        position=1,
        swatch_image="swatches/1/blue.png",
    )
    return attribute


# --- reads ------------------------------------------------------------------------------------


def test_attribute_list_and_detail_show_options_in_order(
    api_client: APIClient,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    attribute = colour()
    AttributeFactory(name="Pages", slug="pages", kind=AttributeKind.NUMBER, position=5)

    with django_assert_num_queries(2):  # the page with its count, the options
        listed = api_client.get(ATTRIBUTES)
    with django_assert_num_queries(2):  # the attribute, its options
        detail = api_client.get(attribute_url(attribute))
    with django_assert_num_queries(2):
        by_slug = api_client.get(reverse("v1:attribute-by-slug", args=["colour"]))

    assert listed.status_code == detail.status_code == by_slug.status_code == 200
    assert [row["slug"] for row in listed.data["results"]] == ["colour", "pages"]
    assert detail.data == by_slug.data
    assert set(detail.data) == {
        "id", "name", "slug", "kind", "unit", "is_filterable", "is_shown", "position",
        "options", "created_at", "updated_at",
    }  # fmt: skip
    blue, red = detail.data["options"]
    assert (blue["slug"], blue["swatch_colour"]) == ("blue", "")
    assert blue["swatch_image"] == "http://testserver/media/swatches/1/blue.png"
    assert (red["slug"], red["swatch_colour"], red["swatch_image"]) == ("red", "#ff0000", None)
    assert set(red) == {"id", "value", "slug", "position", "swatch_colour", "swatch_image"}


def test_attribute_list_query_count_does_not_grow(
    api_client: APIClient,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for _ in range(10):
        AttributeOptionFactory.create_batch(3, attribute=AttributeFactory())
    with django_assert_num_queries(2):
        response = api_client.get(ATTRIBUTES, {"page_size": 50})
    assert len(response.data["results"]) == 10


def test_attribute_list_filters(api_client: APIClient) -> None:
    shown = AttributeFactory(is_filterable=True, kind=AttributeKind.CHOICE)
    AttributeFactory(is_filterable=False, kind=AttributeKind.TEXT)

    filterable = api_client.get(ATTRIBUTES, {"filterable": "true"})
    texts = api_client.get(ATTRIBUTES, {"kind": "text"})
    bad = api_client.get(ATTRIBUTES, {"filterable": "maybe", "kind": "colourful"})

    assert [row["id"] for row in filterable.data["results"]] == [shown.pk]
    assert [row["kind"] for row in texts.data["results"]] == ["text"]
    assert bad.status_code == 400
    assert set(bad.data["errors"]) == {"filterable", "kind"}


def test_unknown_attribute_or_type_is_a_json_404(api_client: APIClient) -> None:
    for url in (
        reverse("v1:attribute-detail", args=[999999]),
        reverse("v1:attribute-by-slug", args=["nothing"]),
        reverse("v1:product-type-detail", args=[999999]),
        reverse("v1:product-type-by-slug", args=["nothing"]),
    ):
        response = api_client.get(url)
        assert response.status_code == 404
        assert response.data["code"] == "not_found"


def test_product_type_list_and_detail_show_attributes_in_order(
    api_client: APIClient,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    tshirt = ProductTypeFactory(name="T-shirt", slug="t-shirt", has_variants=True)
    size = AttributeFactory(name="Size", slug="size", kind=AttributeKind.CHOICE)
    material = AttributeFactory(name="Material", slug="material", kind=AttributeKind.TEXT)
    ProductTypeAttributeFactory(product_type=tshirt, attribute=material, position=2)
    ProductTypeAttributeFactory(product_type=tshirt, attribute=size, position=1, is_axis=True)
    ProductTypeFactory(name="Book", slug="book")

    with django_assert_num_queries(2):  # the page with its count, the attributes
        listed = api_client.get(PRODUCT_TYPES)
    with django_assert_num_queries(2):  # the type, its attributes
        detail = api_client.get(product_type_url(tshirt))
    with django_assert_num_queries(2):
        by_slug = api_client.get(reverse("v1:product-type-by-slug", args=["t-shirt"]))

    assert [row["slug"] for row in listed.data["results"]] == ["book", "t-shirt"]
    assert detail.data == by_slug.data
    assert set(detail.data) == {
        "id", "name", "slug", "has_variants", "attributes", "created_at", "updated_at"
    }  # fmt: skip
    assert detail.data["attributes"] == [
        {"id": size.pk, "slug": "size", "name": "Size", "kind": "choice", "unit": "",
         "is_axis": True, "position": 1},
        {"id": material.pk, "slug": "material", "name": "Material", "kind": "text", "unit": "",
         "is_axis": False, "position": 2},
    ]  # fmt: skip


def test_product_type_list_query_count_does_not_grow(
    api_client: APIClient,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for _ in range(10):
        ProductTypeAttributeFactory.create_batch(3, product_type=ProductTypeFactory())
    with django_assert_num_queries(2):
        response = api_client.get(PRODUCT_TYPES, {"page_size": 50})
    assert len(response.data["results"]) == 10


# --- who may write ----------------------------------------------------------------------------


def test_anonymous_customers_and_staff_without_permission_cannot_write(
    api_client: APIClient,
    user_client: APIClient,
    client_for,  # type: ignore[no-untyped-def]
    staff_with_perms,  # type: ignore[no-untyped-def]
) -> None:
    attribute = AttributeFactory()
    product_type = ProductTypeFactory()
    viewer = client_for(staff_with_perms("attributes.view_attribute"))
    body = {"name": "Size", "kind": "choice"}
    assert api_client.post(ATTRIBUTES, body, format="json").status_code == 401
    assert user_client.post(ATTRIBUTES, body, format="json").status_code == 403
    assert viewer.post(ATTRIBUTES, body, format="json").status_code == 403
    assert viewer.patch(attribute_url(attribute), body, format="json").status_code == 403
    assert viewer.delete(attribute_url(attribute)).status_code == 403
    assert viewer.post(PRODUCT_TYPES, {"name": "Book"}, format="json").status_code == 403
    assert viewer.delete(product_type_url(product_type)).status_code == 403
    assert Attribute.objects.count() == 1 and ProductType.objects.count() == 1


# --- attribute writes -------------------------------------------------------------------------


def test_staff_create_an_attribute_with_its_options(editor: APIClient) -> None:
    response = editor.post(
        ATTRIBUTES,
        {
            "name": "Colour",
            "kind": "swatch",
            "is_filterable": True,
            "options": [
                {"value": "Navy blue", "swatch_colour": "#1A2B3C"},
                {"value": "Red", "slug": "red", "swatch_colour": "#ff0000"},
                {"value": "Navy Blue"},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.data
    attribute = Attribute.objects.get()
    assert response.data["id"] == attribute.pk
    assert response.data["slug"] == attribute.slug == "colour"
    assert [(o["value"], o["slug"], o["position"], o["swatch_colour"])
            for o in response.data["options"]] == [
        ("Navy blue", "navy-blue", 0, "#1a2b3c"),
        ("Red", "red", 1, "#ff0000"),
        ("Navy Blue", "navy-blue-2", 2, ""),
    ]  # fmt: skip


def test_patch_replaces_the_options_keeping_those_matched_by_slug(editor: APIClient) -> None:
    attribute = colour()
    red = AttributeOption.objects.get(slug="red")
    blue = AttributeOption.objects.get(slug="blue")

    response = editor.patch(
        attribute_url(attribute),
        {
            "options": [
                {"value": "Green", "slug": "green", "swatch_colour": "#00ff00"},
                {"value": "Bright red", "slug": "red", "swatch_colour": "#ee0000"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.data
    options = response.data["options"]
    assert [(o["slug"], o["position"]) for o in options] == [("green", 0), ("red", 1)]
    assert options[1]["id"] == red.pk
    assert options[1]["value"] == "Bright red"
    assert not AttributeOption.objects.filter(pk=blue.pk).exists()
    # Left out, the options stay.
    renamed = editor.patch(attribute_url(attribute), {"name": "Shade"}, format="json")
    assert [o["slug"] for o in renamed.data["options"]] == ["green", "red"]
    assert renamed.data["slug"] == "colour"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Size", "kind": "colourful"}, "kind"),
        ({"name": "Size", "kind": "choice", "unit": "cm"}, "unit"),
        ({"name": "", "kind": "choice"}, "name"),
        ({"name": 5, "kind": "choice"}, "name"),
        ({"name": "Size", "kind": "choice", "options": "S, M, L"}, "options"),
        ({"name": "Size", "kind": "choice", "options": ["S"]}, "options[0]"),
        ({"name": "Size", "kind": "text", "options": [{"value": "S"}]}, "options"),
        (
            {"name": "Size", "kind": "choice", "options": [{"value": "S"}, {"value": ""}]},
            "options[1].value",
        ),
        (
            {"name": "Size", "kind": "choice", "options": [{"value": "S", "swatch_colour": "#f"}]},
            "options[0].swatch_colour",
        ),
        (
            {"name": "Size", "kind": "choice",
             "options": [{"value": "S", "swatch_colour": "#ffffff"}]},
            "options[0].swatch_colour",
        ),
        (
            {"name": "Size", "kind": "choice",
             "options": [{"value": "S", "slug": "s"}, {"value": "M"}, {"value": "s", "slug": "s"}]},
            "options[2].slug",
        ),
        (
            {"name": "Size", "kind": "choice", "options": [{"value": "S", "position": -1}]},
            "options[0].position",
        ),
    ],
)  # fmt: skip
def test_a_bad_attribute_is_a_400_naming_the_field(
    editor: APIClient, body: dict[str, Any], field: str
) -> None:
    response = editor.post(ATTRIBUTES, body, format="json")

    assert response.status_code == 400, response.data
    assert response.data["code"] == "invalid"
    assert field in response.data["errors"], response.data
    assert not Attribute.objects.exists()


def test_a_duplicate_slug_is_a_400_naming_it(editor: APIClient) -> None:
    AttributeFactory(slug="size")
    response = editor.post(ATTRIBUTES, {"name": "Size", "slug": "size", "kind": "choice"})
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["slug"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_of_one_slug_give_one_201_and_one_400(
    client_for,  # type: ignore[no-untyped-def]
    staff_with_perms,  # type: ignore[no-untyped-def]
) -> None:
    staff: User = staff_with_perms("attributes.add_attribute")
    barrier = threading.Barrier(2)
    responses: list[Any] = []
    original = Attribute.save

    def save_after_both_validated(self: Attribute, *args: Any, **kwargs: Any) -> None:
        barrier.wait(timeout=10)  # both have passed the serializer's unique check
        original(self, *args, **kwargs)

    def create() -> None:
        try:
            responses.append(
                client_for(staff).post(
                    ATTRIBUTES, {"name": "Size", "slug": "size", "kind": "choice"}, format="json"
                )
            )
        finally:
            connection.close()

    Attribute.save = save_after_both_validated  # type: ignore[method-assign]
    try:
        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        Attribute.save = original  # type: ignore[method-assign]

    assert sorted(response.status_code for response in responses) == [201, 400]
    refused = next(response for response in responses if response.status_code == 400)
    assert list(refused.data["errors"]) == ["slug"]
    assert Attribute.objects.count() == 1


def test_a_kind_change_that_the_options_do_not_allow_is_a_400(editor: APIClient) -> None:
    attribute = colour()
    to_text = editor.patch(attribute_url(attribute), {"kind": "text"}, format="json")
    to_choice = editor.patch(attribute_url(attribute), {"kind": "choice"}, format="json")
    assert to_text.status_code == to_choice.status_code == 400
    assert list(to_text.data["errors"]) == list(to_choice.data["errors"]) == ["kind"]
    # With the options given again, the swatches go with the kind.
    replaced = editor.patch(
        attribute_url(attribute),
        {"kind": "choice", "options": [{"value": "Red", "slug": "red"}]},
        format="json",
    )
    assert replaced.status_code == 200, replaced.data
    assert replaced.data["options"][0]["swatch_colour"] == ""
    emptied = editor.patch(attribute_url(attribute), {"kind": "text", "options": []}, format="json")
    assert emptied.status_code == 200
    assert not AttributeOption.objects.exists()


def test_an_axis_keeps_its_kind(editor: APIClient) -> None:
    link = ProductTypeAttributeFactory(
        product_type=ProductTypeFactory(has_variants=True),
        attribute=AttributeFactory(kind=AttributeKind.CHOICE),
        is_axis=True,
    )
    response = editor.patch(
        attribute_url(link.attribute), {"kind": "multiple_choice"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["kind"]


def test_deleting_an_attribute_a_type_uses_is_a_409(editor: APIClient) -> None:
    link = ProductTypeAttributeFactory()
    unused = colour()

    refused = editor.delete(attribute_url(link.attribute))
    deleted = editor.delete(attribute_url(unused))

    assert refused.status_code == 409
    assert refused.data["code"] == "protected"
    assert deleted.status_code == 204
    assert list(Attribute.objects.all()) == [link.attribute]
    assert not AttributeOption.objects.exists()


# --- product type writes ----------------------------------------------------------------------


def test_staff_create_a_product_type_with_its_attributes(editor: APIClient) -> None:
    AttributeFactory(slug="size", kind=AttributeKind.CHOICE)
    AttributeFactory(slug="material", kind=AttributeKind.TEXT)

    response = editor.post(
        PRODUCT_TYPES,
        {
            "name": "T-shirt",
            "has_variants": True,
            "attributes": [{"slug": "size", "is_axis": True}, {"slug": "material"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["slug"] == "t-shirt"
    assert [(a["slug"], a["is_axis"], a["position"]) for a in response.data["attributes"]] == [
        ("size", True, 0),
        ("material", False, 1),
    ]


def test_a_product_type_put_back_as_read_changes_nothing(editor: APIClient) -> None:
    link = ProductTypeAttributeFactory(
        product_type=ProductTypeFactory(has_variants=True),
        attribute=AttributeFactory(kind=AttributeKind.SWATCH),
        is_axis=True,
    )
    url = product_type_url(link.product_type)
    read = editor.get(url).data

    written = editor.put(url, read, format="json")

    assert written.status_code == 200, written.data
    assert written.data["attributes"] == read["attributes"]
    assert ProductTypeAttribute.objects.get().pk == link.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Shirt", "attributes": [{"slug": "nothing"}]}, "attributes[0].slug"),
        ({"name": "Shirt", "attributes": [{"slug": "size", "is_axis": True}]},
         "attributes[0].is_axis"),
        ({"name": "Shirt", "has_variants": True,
          "attributes": [{"slug": "size"}, {"slug": "material", "is_axis": True}]},
         "attributes[1].is_axis"),
        ({"name": "Shirt", "attributes": [{"slug": "size"}, {"slug": "size"}]},
         "attributes[1].slug"),
        ({"name": "Shirt", "attributes": [{"slug": "size", "is_axis": "yes"}]},
         "attributes[0].is_axis"),
        ({"name": "Shirt", "has_variants": 1}, "has_variants"),
        ({"name": "Shirt", "attributes": [{"slug": 0}]}, "attributes[0].slug"),
        ({"name": "Shirt", "attributes": [{"slug": "si\u0000ze"}]}, "attributes[0].slug"),
    ],
)  # fmt: skip
def test_a_bad_product_type_is_a_400_naming_the_field(
    editor: APIClient, body: dict[str, Any], field: str
) -> None:
    AttributeFactory(slug="size", kind=AttributeKind.CHOICE)
    AttributeFactory(slug="material", kind=AttributeKind.TEXT)

    response = editor.post(PRODUCT_TYPES, body, format="json")

    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert not ProductType.objects.exists()


def test_turning_variants_off_needs_the_axes_gone(editor: APIClient) -> None:
    link = ProductTypeAttributeFactory(
        product_type=ProductTypeFactory(has_variants=True),
        attribute=AttributeFactory(slug="size", kind=AttributeKind.CHOICE),
        is_axis=True,
    )
    url = product_type_url(link.product_type)

    refused = editor.patch(url, {"has_variants": False}, format="json")
    done = editor.patch(
        url, {"has_variants": False, "attributes": [{"slug": "size"}]}, format="json"
    )

    assert refused.status_code == 400
    assert list(refused.data["errors"]) == ["has_variants"]
    assert done.status_code == 200, done.data
    assert done.data["has_variants"] is False
    assert done.data["attributes"][0]["is_axis"] is False
    assert ProductTypeAttribute.objects.get().pk == link.pk


def test_deleting_a_product_type_deletes_its_attribute_list(editor: APIClient) -> None:
    link = ProductTypeAttributeFactory()
    assert editor.delete(product_type_url(link.product_type)).status_code == 204
    assert not ProductTypeAttribute.objects.exists()
    assert Attribute.objects.filter(pk=link.attribute_id).exists()


def test_a_patch_of_the_lists_still_needs_each_items_required_fields(editor: APIClient) -> None:
    attribute = AttributeFactory(kind=AttributeKind.CHOICE)
    product_type = ProductTypeFactory()

    options = editor.patch(
        attribute_url(attribute), {"options": [{"value": "S"}, {"slug": "m"}]}, format="json"
    )
    attributes = editor.patch(
        product_type_url(product_type), {"attributes": [{"is_axis": False}]}, format="json"
    )

    assert options.status_code == attributes.status_code == 400
    assert list(options.data["errors"]) == ["options[1].value"]
    assert list(attributes.data["errors"]) == ["attributes[0].slug"]
    assert not AttributeOption.objects.exists()


def test_anonymous_reads_are_cached_until_an_attribute_or_type_changes(
    api_client: APIClient,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    option = AttributeOptionFactory(value="Red", attribute=AttributeFactory(name="Colour"))
    link = ProductTypeAttributeFactory(attribute=option.attribute)
    urls = [ATTRIBUTES, attribute_url(option.attribute), product_type_url(link.product_type)]
    for url in urls:
        api_client.get(url)  # the first read of a generation starts it
        api_client.get(url)

    with django_assert_num_queries(0):
        cached = [api_client.get(url) for url in urls]
    AttributeOption.objects.update(value="Crimson")  # any write, even one the ORM bulk-sends
    Attribute.objects.update(name="Shade")

    assert all(response.status_code == 200 for response in cached)
    assert api_client.get(ATTRIBUTES).json()["results"][0]["options"][0]["value"] == "Crimson"
    assert (
        api_client.get(product_type_url(link.product_type)).json()["attributes"][0]["name"]
        == "Shade"
    )
