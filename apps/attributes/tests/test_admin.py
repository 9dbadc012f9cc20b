import io
import os
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from apps.attributes.models import (
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)

from .factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)

pytestmark = pytest.mark.django_db


def attribute_form(attribute: Attribute | None = None, **fields: Any) -> dict[str, Any]:
    """Return the attribute change form's data: the attribute's fields, and its options (all
    stored ones unless ``options`` is given, a list of dicts with the inline's fields)."""
    options = fields.pop("options", None)
    data: dict[str, Any] = {
        "name": attribute.name if attribute else "Colour",
        "slug": attribute.slug if attribute else "colour",
        "kind": attribute.kind if attribute else AttributeKind.SWATCH,
        "unit": "",
        "position": 0,
        **fields,
    }
    if options is None:
        options = [
            {"id": o.pk, "value": o.value, "slug": o.slug, "position": o.position,
             "swatch_colour": o.swatch_colour}
            for o in (attribute.options.all() if attribute else [])
        ]  # fmt: skip
    stored = [o for o in options if o.get("id")]
    data.update({
        "options-TOTAL_FORMS": len(options),
        "options-INITIAL_FORMS": len(stored),
    })  # fmt: skip
    for index, option in enumerate(options):
        for key, value in option.items():
            data[f"options-{index}-{key}"] = "on" if value is True else value
        if attribute is not None:
            data[f"options-{index}-attribute"] = attribute.pk
    return {key: value for key, value in data.items() if value is not False}


def change_url(attribute: Attribute) -> str:
    return reverse("admin:attributes_attribute_change", args=[attribute.pk])


def png(size: tuple[int, int] = (40, 40)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#3366cc").save(buffer, format="PNG")
    return SimpleUploadedFile("fabric.png", buffer.getvalue(), content_type="image/png")


def test_the_changelist_previews_swatches_and_filters(
    admin_client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    colour = AttributeFactory(name="Colour", kind=AttributeKind.SWATCH)
    AttributeOptionFactory(attribute=colour, value="Red", swatch_colour="#ff0000")
    AttributeOptionFactory(attribute=colour, value="Denim", swatch_image="swatches/1/denim.png")
    for _ in range(5):
        AttributeOptionFactory.create_batch(3, attribute=AttributeFactory())
    url = reverse("admin:attributes_attribute_changelist")

    with django_assert_max_num_queries(8):  # session, user, count, page, options
        page = admin_client.get(url)
    swatches = admin_client.get(url, {"kind__exact": "swatch"})

    assert page.status_code == 200
    content = page.content.decode()
    assert '<rect width="1" height="1" fill="#ff0000"/>' in content
    assert 'src="/media/swatches/1/denim.png" alt="Denim" class="swatch-preview"' in content
    assert swatches.context["cl"].result_count == 1


def test_the_change_page_has_the_sortable_options_with_previews(admin_client: Client) -> None:
    colour = AttributeFactory(kind=AttributeKind.SWATCH)
    AttributeOptionFactory(attribute=colour, value="Red", swatch_colour="#ff0000")

    page = admin_client.get(change_url(colour))

    content = page.content.decode()
    assert page.status_code == 200
    assert "sortable-positions" in content
    assert "js/sortable_inline.js" in content
    assert 'fill="#ff0000"' in content
    # Nothing inline for the Content-Security-Policy to refuse.
    assert "<script>" not in content and " style=" not in content


def test_staff_reorder_and_add_options_in_the_admin(admin_client: Client) -> None:
    colour = AttributeFactory(kind=AttributeKind.SWATCH)
    red = AttributeOptionFactory(attribute=colour, value="Red", slug="red", position=0)
    blue = AttributeOptionFactory(attribute=colour, value="Blue", slug="blue", position=1)
    data = attribute_form(
        colour,
        options=[
            {"id": red.pk, "value": "Red", "slug": "red", "position": 1,
             "swatch_colour": "#FF0000"},
            {"id": blue.pk, "value": "Blue", "slug": "blue", "position": 0, "swatch_colour": ""},
            {"value": "Denim", "slug": "denim", "position": 2, "swatch_image": png()},
        ],
    )  # fmt: skip

    response = admin_client.post(change_url(colour), data)

    assert response.status_code == 302, response.context["errors"]
    assert [(o.slug, o.swatch_colour) for o in colour.options.order_by("position")] == [
        ("blue", ""),
        ("red", "#ff0000"),
        ("denim", ""),
    ]
    denim = colour.options.get(slug="denim")
    assert denim.swatch_image.name.endswith(".png")
    with Image.open(denim.swatch_image) as stored:
        assert stored.format == "PNG"


def test_a_swatch_on_a_choice_option_is_a_form_error(admin_client: Client) -> None:
    size = AttributeFactory(kind=AttributeKind.CHOICE)
    data = attribute_form(
        size, options=[{"value": "S", "slug": "s", "position": 0, "swatch_colour": "#ff0000"}]
    )

    response = admin_client.post(change_url(size), data)

    assert response.status_code == 200
    assert "swatch" in str(response.context["inline_admin_formsets"][0].formset.errors)
    assert not AttributeOption.objects.exists()


def test_a_kind_change_that_sheds_the_swatches_saves_in_order(admin_client: Client) -> None:
    colour = AttributeFactory(kind=AttributeKind.SWATCH)
    red = AttributeOptionFactory(attribute=colour, slug="red", swatch_colour="#ff0000")
    gone = AttributeOptionFactory(attribute=colour, slug="gone", swatch_colour="#00ff00")
    data = attribute_form(
        colour,
        kind=AttributeKind.CHOICE,
        options=[
            {"id": red.pk, "value": "Red", "slug": "red", "position": 0, "swatch_colour": ""},
            {"id": gone.pk, "value": "Gone", "slug": "gone", "position": 1,
             "swatch_colour": "#00ff00", "DELETE": True},
            {"value": "New", "slug": "new", "position": 2, "swatch_colour": ""},
        ],
    )  # fmt: skip

    response = admin_client.post(change_url(colour), data)

    assert response.status_code == 302, response.context["errors"]
    colour.refresh_from_db()
    assert colour.kind == AttributeKind.CHOICE
    assert sorted(colour.options.values_list("slug", "swatch_colour")) == [
        ("new", ""),
        ("red", ""),
    ]


def test_a_kind_that_becomes_a_swatch_takes_its_swatches_in_one_save(admin_client: Client) -> None:
    colour = AttributeFactory(kind=AttributeKind.CHOICE)
    red = AttributeOptionFactory(attribute=colour, slug="red")
    data = attribute_form(
        colour,
        kind=AttributeKind.SWATCH,
        options=[
            {"id": red.pk, "value": "Red", "slug": "red", "position": 0, "swatch_colour": "#ff0000"}
        ],
    )

    response = admin_client.post(change_url(colour), data)

    assert response.status_code == 302, response.context["errors"]
    assert colour.options.get().swatch_colour == "#ff0000"


def test_the_kind_of_an_axis_is_kept_in_the_admin(admin_client: Client) -> None:
    link = ProductTypeAttributeFactory(
        product_type=ProductTypeFactory(has_variants=True),
        attribute=AttributeFactory(kind=AttributeKind.CHOICE),
        is_axis=True,
    )
    data = attribute_form(link.attribute, kind=AttributeKind.MULTIPLE_CHOICE)

    response = admin_client.post(change_url(link.attribute), data)

    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors


def test_a_bad_swatch_picture_is_a_form_error(admin_client: Client) -> None:
    colour = AttributeFactory(kind=AttributeKind.SWATCH)
    not_an_image = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    data = attribute_form(
        colour, options=[{"value": "X", "slug": "x", "position": 0, "swatch_image": not_an_image}]
    )

    response = admin_client.post(change_url(colour), data)

    assert response.status_code == 200
    assert not AttributeOption.objects.exists()


# --- product types ----------------------------------------------------------------------------


def type_form(
    product_type: ProductType | None, rows: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": product_type.name if product_type else "T-shirt",
        "slug": product_type.slug if product_type else "t-shirt",
        **fields,
        "type_attributes-TOTAL_FORMS": len(rows),
        "type_attributes-INITIAL_FORMS": len([row for row in rows if row.get("id")]),
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"type_attributes-{index}-{key}"] = "on" if value is True else value
        if product_type is not None:
            data[f"type_attributes-{index}-product_type"] = product_type.pk
    return {key: value for key, value in data.items() if value is not False}


def test_the_product_type_changelist_shows_the_axes(
    admin_client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    tshirt = ProductTypeFactory(name="T-shirt", has_variants=True)
    ProductTypeAttributeFactory(
        product_type=tshirt, attribute=AttributeFactory(name="Size"), is_axis=True, position=0
    )
    ProductTypeAttributeFactory(
        product_type=tshirt,
        attribute=AttributeFactory(name="Colour", kind=AttributeKind.SWATCH),
        is_axis=True,
        position=1,
    )
    ProductTypeAttributeFactory(product_type=tshirt, attribute=AttributeFactory(name="Fabric"))
    for _ in range(5):
        ProductTypeAttributeFactory.create_batch(2, product_type=ProductTypeFactory())

    with django_assert_max_num_queries(8):
        page = admin_client.get(reverse("admin:attributes_producttype_changelist"))

    assert page.status_code == 200
    assert '<td class="field-axes">Size, Colour</td>' in page.content.decode()


def test_staff_create_a_type_with_axes_in_the_admin(admin_client: Client) -> None:
    size = AttributeFactory(kind=AttributeKind.CHOICE)
    fabric = AttributeFactory(kind=AttributeKind.TEXT)
    data = type_form(
        None,
        [
            {"attribute": size.pk, "is_axis": True, "position": 0},
            {"attribute": fabric.pk, "is_axis": False, "position": 1},
        ],
        has_variants=True,
    )

    response = admin_client.post(reverse("admin:attributes_producttype_add"), data)

    assert response.status_code == 302, response.context["errors"]
    product_type = ProductType.objects.get()
    assert list(product_type.type_attributes.values_list("attribute", "is_axis")) == [
        (size.pk, True),
        (fabric.pk, False),
    ]


def test_an_axis_of_text_or_of_a_type_without_variants_is_a_form_error(
    admin_client: Client,
) -> None:
    size = AttributeFactory(kind=AttributeKind.CHOICE)
    fabric = AttributeFactory(kind=AttributeKind.TEXT)
    text_axis = type_form(
        None, [{"attribute": fabric.pk, "is_axis": True, "position": 0}], has_variants=True
    )
    no_variants = type_form(None, [{"attribute": size.pk, "is_axis": True, "position": 0}])

    for data in (text_axis, no_variants):
        response = admin_client.post(reverse("admin:attributes_producttype_add"), data)
        assert response.status_code == 200
        assert response.context["inline_admin_formsets"][0].formset.errors[0]["is_axis"]
    assert not ProductType.objects.exists()


def test_turning_variants_off_with_the_axes_saves_in_order(admin_client: Client) -> None:
    link = ProductTypeAttributeFactory(
        product_type=ProductTypeFactory(has_variants=True),
        attribute=AttributeFactory(kind=AttributeKind.CHOICE),
        is_axis=True,
    )
    data = type_form(
        link.product_type,
        [{"id": link.pk, "attribute": link.attribute_id, "is_axis": False, "position": 0}],
        has_variants=False,
    )

    response = admin_client.post(
        reverse("admin:attributes_producttype_change", args=[link.product_type_id]), data
    )

    assert response.status_code == 302, response.context["errors"]
    assert ProductTypeAttribute.objects.get().is_axis is False
    assert ProductType.objects.get().has_variants is False


def test_a_swatch_picture_is_stored_as_a_small_png(admin_client: Client) -> None:
    colour = AttributeFactory(kind=AttributeKind.SWATCH)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 400), "#884422").save(buffer, format="JPEG")
    upload = SimpleUploadedFile("weave.jpg", buffer.getvalue(), content_type="image/jpeg")
    noise = io.BytesIO()  # incompressible: over 1 MB as a PNG
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(noise, format="PNG")
    too_large = SimpleUploadedFile("noise.png", noise.getvalue(), content_type="image/png")
    data = attribute_form(
        colour, options=[{"value": "Weave", "slug": "weave", "position": 0, "swatch_image": upload}]
    )

    saved = admin_client.post(change_url(colour), data)
    data["options-0-swatch_image"] = too_large
    data["options-0-slug"] = "huge"
    refused = admin_client.post(change_url(colour), data)

    assert saved.status_code == 302
    with Image.open(colour.options.get().swatch_image) as stored:
        assert (stored.format, stored.size) == ("PNG", (256, 128))
    assert refused.status_code == 200
    assert "bytes" in str(refused.context["inline_admin_formsets"][0].formset.errors)
