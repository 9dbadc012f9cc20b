"""The product changelist's filters by attribute option (and product type): what they keep, and
a query count that does not grow with the products or the options."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.attributes.models import AttributeKind
from apps.attributes.tests.factories import AttributeFactory, AttributeOptionFactory
from apps.products.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:products_product_changelist")


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
    red_tee = ProductFactory(name="Red tee")
    VariantFactory(product=red_tee, option_ids=[colours["red"].pk])
    blue_tee = ProductFactory(name="Blue tee")
    VariantFactory(product=blue_tee, option_ids=[colours["blue"].pk, 10**9])
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
        VariantFactory(product=ProductFactory(), option_ids=[option.pk])

    product_with(colours["red"])
    with django_assert_num_queries(10) as few:
        admin_client.get(CHANGELIST, {"option": str(colours["red"].pk), "_facets": "1"})
    for n in range(20):
        AttributeOptionFactory(attribute=colours["red"].attribute, value=f"Shade {n}")
        product_with(colours["red"])
    with django_assert_num_queries(len(few.captured_queries)):
        response = admin_client.get(CHANGELIST, {"option": str(colours["red"].pk), "_facets": "1"})
    assert len(response.context["cl"].result_list) == 21
    # No count per option: a facet count would scan the variants once per option.
    assert option_choices(response)[0] == "Colour: Red (-)"
