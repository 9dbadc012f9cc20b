"""The product changelist's filters by attribute option (and product type): what they keep, and
a query count that does not grow with the products or the options."""

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
from apps.products.models import ProductAttributeValue
from apps.products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:products_product_changelist")


def coloured(colour_option: Any, **kwargs: Any) -> Any:
    """Return a product of a type with the colour axis, sold in ``colour_option``."""
    product_type = ProductTypeFactory(has_variants=True)
    ProductTypeAttributeFactory(
        product_type=product_type, attribute=colour_option.attribute, is_axis=True
    )
    product = ProductFactory(product_type=product_type, **kwargs)
    product.variants.update(option_ids=[colour_option.pk])
    return product


def option_choices(response: Any) -> list[str]:
    changelist = response.context["cl"]
    spec = next(s for s in changelist.filter_specs if getattr(s, "parameter_name", "") == "option")
    return [choice["display"] for choice in spec.choices(changelist)][1:]  # after "All"


@pytest.fixture
def colours() -> dict[str, Any]:
    colour = AttributeFactory(name="Colour", kind=AttributeKind.SWATCH, is_filterable=True)
    red = AttributeOptionFactory(attribute=colour, value="Red", slug="red", position=0)
    blue = AttributeOptionFactory(attribute=colour, value="Blue", slug="blue", position=1)
    # Not listed: not filterable, or not a choice.
    hidden = AttributeFactory(name="Fit", kind=AttributeKind.CHOICE, is_filterable=False)
    AttributeOptionFactory(attribute=hidden, value="Slim")
    tags = AttributeFactory(name="Tags", kind=AttributeKind.MULTIPLE_CHOICE, is_filterable=True)
    AttributeOptionFactory(attribute=tags, value="Organic")
    return {"red": red, "blue": blue}


def test_the_option_filter_keeps_products_with_a_variant_of_the_option(
    admin_client: Client, colours: dict[str, Any]
) -> None:
    coloured(colours["red"], name="Red tee")
    coloured(colours["blue"], name="Blue tee")
    ProductFactory(name="Plain tee")

    everything = admin_client.get(CHANGELIST)
    red = admin_client.get(CHANGELIST, {"option": str(colours["red"].pk)})
    blue = admin_client.get(CHANGELIST, {"option": str(colours["blue"].pk)})

    assert option_choices(everything) == ["Colour: Red", "Colour: Blue"]
    assert [p.name for p in red.context["cl"].result_list] == ["Red tee"]
    assert [p.name for p in blue.context["cl"].result_list] == ["Blue tee"]
    assert admin_client.get(CHANGELIST, {"option": "x"}).status_code == 200


def test_the_option_filter_costs_the_same_queries_for_many_products_and_options(
    admin_client: Client,
    colours: dict[str, Any],
    django_assert_num_queries: Any,
) -> None:
    def product_with(option: Any) -> None:
        coloured(option)

    product_with(colours["red"])
    # Session, user, the roots, the types, the options, the count, the page, and a facet count
    # per filter but the options' (5).
    with django_assert_num_queries(12) as few:
        admin_client.get(CHANGELIST, {"option": str(colours["red"].pk), "_facets": "1"})
    for n in range(20):
        AttributeOptionFactory(attribute=colours["red"].attribute, value=f"Shade {n}")
        product_with(colours["red"])
    with django_assert_num_queries(len(few.captured_queries)):
        response = admin_client.get(CHANGELIST, {"option": str(colours["red"].pk), "_facets": "1"})
    assert len(response.context["cl"].result_list) == 21
    # No count per option: a facet count would scan the variants once per option.
    assert option_choices(response)[0] == "Colour: Red (-)"


def test_the_type_filter_keeps_the_products_of_a_type(admin_client: Client) -> None:
    shirts = ProductTypeFactory(name="T-shirt")
    ProductFactory(name="Tee", product_type=shirts)
    ProductFactory(name="Mug")

    typed = admin_client.get(CHANGELIST, {"product_type": str(shirts.pk)})
    untyped = admin_client.get(CHANGELIST, {"product_type": "none"})
    variants = admin_client.get(
        reverse("admin:products_variant_changelist"), {"product_type": str(shirts.pk)}
    )

    assert [p.name for p in typed.context["cl"].result_list] == ["Tee"]
    assert [p.name for p in untyped.context["cl"].result_list] == ["Mug"]
    assert [v.product.name for v in variants.context["cl"].result_list] == ["Tee"]


def test_the_option_filter_keeps_products_with_the_option_as_a_value(
    admin_client: Client, colours: dict[str, Any]
) -> None:
    product_type = ProductTypeFactory()
    ProductTypeAttributeFactory(product_type=product_type, attribute=colours["red"].attribute)
    painted = ProductFactory(name="Red mug", product_type=product_type)
    ProductAttributeValue.objects.create(
        product=painted, attribute=colours["red"].attribute, option=colours["red"]
    )
    ProductFactory(name="Plain mug")

    response = admin_client.get(CHANGELIST, {"option": str(colours["red"].pk)})

    assert [p.name for p in response.context["cl"].result_list] == ["Red mug"]
