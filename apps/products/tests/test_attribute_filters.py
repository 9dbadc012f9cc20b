"""The product list filtered by attributes (``?attribute=``) and its attribute facets, through
the API: the options of every filter hold on one active variant, errors name what is wrong, the
facets count products disjunctively, and the queries are pinned."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.attributes.models import Attribute, AttributeKind
from apps.products.models import Product
from apps.products.tests.attribute_catalogue import shirt
from apps.products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")


def listed(*filters: str, **params: str) -> dict[str, Any]:
    cache.clear()
    response = APIClient().get(PRODUCTS, {"attribute": list(filters), **params})
    assert response.status_code == 200, response.data
    return response.data


def ids(*filters: str, **params: str) -> set[int]:
    return {row["id"] for row in listed(*filters, **params)["results"]}


def refused(*filters: str) -> list[str]:
    cache.clear()
    response = APIClient().get(PRODUCTS, {"attribute": list(filters)})
    assert response.status_code == 400, response.data
    assert set(response.data["errors"]) == {"attribute"} if "errors" in response.data else True
    return _messages(response.data)


def _messages(body: dict[str, Any]) -> list[str]:
    # The one error shape: {"detail": ..., "errors": {"attribute": [...]}} (apps.core).
    errors = body.get("errors", body)
    return [str(message) for message in errors["attribute"]]


def facet(data: dict[str, Any], slug: str) -> dict[str, Any] | None:
    return next((each for each in data["facets"]["attributes"] if each["slug"] == slug), None)


def option_counts(data: dict[str, Any], slug: str) -> dict[str, int]:
    found = facet(data, slug)
    return {option["slug"]: option["count"] for option in found["options"]} if found else {}


def test_axis_filters_hold_on_one_variant(apparel) -> None:
    red_m = shirt(apparel, ("red", "m"), ("blue", "s"))
    # Red in S and blue in M: red and M exist, but on no one variant (Saleor would list it).
    split = shirt(apparel, ("red", "s"), ("blue", "m"))
    # Red M exists but is not sold.
    inactive = shirt(apparel, ("red", "m"), ("blue", "l"), inactive=(0,))

    assert ids("colour:red", "size:m") == {red_m.pk}
    assert ids("colour:red") == {red_m.pk, split.pk}
    assert ids("size:m") == {red_m.pk, split.pk}
    assert ids("colour:blue", "size:l") == {inactive.pk}
    assert inactive.pk not in ids("colour:red")


def test_options_of_one_attribute_are_alternatives_and_attributes_all_hold(apparel) -> None:
    acme_red = shirt(apparel, ("red", "m"), brand="acme", features=("wifi",))
    zeta_blue = shirt(apparel, ("blue", "m"), brand="zeta", features=("wifi", "gps"))
    acme_green = shirt(apparel, ("green", "s"), brand="acme")

    assert ids("colour:red,blue") == {acme_red.pk, zeta_blue.pk}
    assert ids("colour:red,blue", "brand:acme") == {acme_red.pk}
    assert ids("brand:acme,zeta", "size:s") == {acme_green.pk}
    assert ids("features:gps") == {zeta_blue.pk}
    assert ids("features:wifi,gps", "colour:green") == set()


def test_numbers_by_range_and_booleans(apparel) -> None:
    light = shirt(apparel, ("red", "m"), weight=Decimal("120.5"), waterproof=True)
    heavy = shirt(apparel, ("red", "m"), weight=Decimal("300"), waterproof=False)
    shirt(apparel, ("red", "m"))  # no values

    assert ids("weight:100..200") == {light.pk}
    assert ids("weight:200..") == {heavy.pk}
    assert ids("weight:..120.5") == {light.pk}
    assert ids("weight:300") == {heavy.pk}
    assert ids("waterproof:true") == {light.pk}
    assert ids("waterproof:false", "colour:red") == {heavy.pk}


def test_attribute_filters_combine_with_the_category_and_other_filters(apparel) -> None:
    root = CategoryFactory()
    leaf = CategoryFactory(parent=root)
    inside = shirt(apparel, ("red", "m"), category=leaf, stock=3)
    shirt(apparel, ("red", "m"))  # elsewhere
    out_of_stock = shirt(apparel, ("red", "m"), category=leaf, stock=0)

    assert ids("colour:red", category=root.slug) == {inside.pk, out_of_stock.pk}
    assert ids("colour:red", category=str(leaf.pk), in_stock="true") == {inside.pk}


@pytest.mark.staff_permissions("products.change_product")
def test_staff_see_inactive_products_matched_by_their_active_variants(
    apparel, staff_client
) -> None:
    hidden = shirt(apparel, ("red", "m"), is_active=False)

    assert ids("colour:red") == set()
    response = staff_client.get(PRODUCTS, {"attribute": "colour:red"})
    assert {row["id"] for row in response.data["results"]} == {hidden.pk}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (["colr:red"], "No attribute 'colr'."),
        (["colour:red,crimson"], "Attribute 'colour' has no option 'crimson'."),
        (["colour"], "Give an attribute filter as <attribute>:<value>[,<value>...]; got 'colour'."),
        (["colour:red", "colour:blue"], "Attribute 'colour' is filtered twice"),
        (["weight:heavy"], "Filter 'weight' by a number or a range <min>..<max>"),
        (["weight:.."], "Filter 'weight' by a number or a range"),
        (["weight:5..1"], "The range of 'weight' ends before it starts"),
        (["weight:1e3"], "Filter 'weight' by a number"),
        (["waterproof:yes"], "Filter 'waterproof' by true or false; got 'yes'."),
        (["note:x"], "Attribute 'note' cannot be filtered: it is a text."),
        (["hidden:x"], "Attribute 'hidden' is not filterable."),
        ([f"a{n}:x" for n in range(21)], "Give at most 20 attribute filters."),
        (["colour:" + ",".join(["red"] * 51)], "Give at most 50 values of 'colour'."),
    ],
)
def test_a_filter_that_names_nothing_filterable_is_a_400_naming_it(
    apparel, filters, message
) -> None:
    Attribute.objects.create(name="Note", slug="note", kind=AttributeKind.TEXT, is_filterable=True)
    Attribute.objects.create(name="Hidden", slug="hidden", kind=AttributeKind.BOOLEAN)
    messages = refused(*filters)
    assert any(each.startswith(message) for each in messages), messages


def test_every_problem_is_named_at_once(apparel) -> None:
    messages = refused("colr:red", "size:xxl")
    assert messages == ["No attribute 'colr'.", "Attribute 'size' has no option 'xxl'."]


def test_an_empty_attribute_parameter_filters_nothing(apparel) -> None:
    product = shirt(apparel, ("red", "m"))
    assert ids("") == {product.pk}


# --- facets ---------------------------------------------------------------------------------------


def test_attribute_facets_count_products_disjunctively_on_one_variant(apparel) -> None:
    shirt(apparel, ("red", "m"), ("red", "s"), ("blue", "m"), brand="acme")
    shirt(apparel, ("red", "s"), ("blue", "m"), brand="zeta")
    shirt(apparel, ("green", "l"), brand="acme", features=("gps",))

    data = listed("colour:red", "size:m", facets="true")

    # Colour counted without its own filter, with size M on the same variant: the first
    # shirt (red M, blue M) and the second (blue M). Red counts the first shirt once.
    assert option_counts(data, "colour") == {"red": 1, "blue": 2}
    # Size counted with red on the same variant: M (first shirt), S (both).
    assert option_counts(data, "size") == {"m": 1, "s": 2}
    # Brand: products with a red M variant.
    assert option_counts(data, "brand") == {"acme": 1}
    assert facet(data, "features") is None  # nothing to show
    assert data["count"] == 1


def test_a_selected_option_stays_listed_with_zero_and_swatches_carry_their_colour(apparel) -> None:
    shirt(apparel, ("red", "m"), brand="acme")

    data = listed("brand:zeta", facets="true")

    assert data["count"] == 0
    brand = facet(data, "brand")
    assert brand["options"] == [
        {"slug": "acme", "value": "ACME", "count": 1},
        {"slug": "zeta", "value": "ZETA", "count": 0},
    ]
    colour = facet(data, "colour")
    assert colour is None  # no product matches zeta: no colour to count
    data = listed(facets="true")
    assert facet(data, "colour")["options"] == [
        {"slug": "red", "value": "RED", "count": 1, "swatch_colour": "#cc0000"}
    ]


def test_numbers_facet_as_a_range_and_booleans_as_options(apparel) -> None:
    shirt(apparel, ("red", "m"), weight=Decimal("120.5"), waterproof=True)
    shirt(apparel, ("blue", "m"), weight=Decimal("300"), waterproof=True)
    shirt(apparel, ("blue", "s"), weight=Decimal("80"), waterproof=False)

    data = listed("weight:100..", "waterproof:true", facets="true")

    # Weight without its own range: every waterproof product's.
    assert facet(data, "weight") == {
        "slug": "weight",
        "name": "Weight",
        "kind": "number",
        "unit": "g",
        "min": "120.5",
        "max": "300",
    }
    # Waterproof without its own filter: the products of 100 g or more.
    assert option_counts(data, "waterproof") == {"true": 2}
    data = listed("size:s", facets="true")
    assert option_counts(data, "waterproof") == {"false": 1}
    assert facet(data, "weight")["min"] == "80"


def test_a_bare_category_page_reads_the_option_summary_and_agrees_with_a_live_count(
    apparel, django_assert_num_queries
) -> None:
    root = CategoryFactory()
    leaf = CategoryFactory(parent=root)
    hidden_leaf = CategoryFactory(parent=root, is_active=False)
    shirt(apparel, ("red", "m"), ("blue", "m"), category=leaf, brand="acme")
    shirt(apparel, ("red", "s"), category=leaf, brand="zeta", features=("wifi",))
    shirt(apparel, ("green", "l"), category=hidden_leaf, brand="acme")  # not seen
    shirt(apparel, ("green", "l"), category=leaf, is_active=False)  # not seen
    ProductFactory(category=leaf)  # untyped: no options

    bare = listed(category=root.slug, facets="true")["facets"]["attributes"]
    # The same page counted live: a price filter that lets everything through.
    live = listed(category=root.slug, facets="true", price_min="0")["facets"]["attributes"]

    assert bare == live
    counts = {each["slug"]: {o["slug"]: o["count"] for o in each["options"]} for each in bare}
    assert counts == {
        "colour": {"red": 2, "blue": 1},
        "size": {"m": 1, "s": 1},
        "brand": {"acme": 1, "zeta": 1},
        "features": {"wifi": 1},
    }


@pytest.mark.parametrize(
    ("params", "queries"),
    [
        # category lookup; the page with its count; the summaries (products_category_summary:
        # the column facets with their edges, the child categories, the attributes' tags and
        # numbers); the filterable attributes
        ({"category": "root"}, 4),
        # the attribute lookup; the read model's matches (the count and the page's ids); the
        # page's products; live: the categories (2), one aggregate of the column facets; the
        # attributes; the tags of the unfiltered attributes; colour's own, from the summaries
        # (no other filter); the numbers
        ({"attribute": "colour:red"}, 10),
        # the same but for the numbers, and one more per filtered attribute: size's tags,
        # weight's numbers (no other number to count)
        ({"attribute": ["colour:red", "size:m", "weight:1..500"]}, 10),
    ],
)
@pytest.mark.parametrize("size", [3, 30])
def test_attribute_facets_take_a_fixed_number_of_queries(
    apparel, django_assert_num_queries, params, queries, size
) -> None:
    root = CategoryFactory(slug="root")
    for index in range(size):
        shirt(
            apparel,
            ("red", "m"),
            ("blue", ["s", "m", "l"][index % 3]),
            category=root,
            brand=["acme", "zeta"][index % 2],
            weight=Decimal(100 + index),
        )
    cache.clear()
    client = APIClient()
    with django_assert_num_queries(queries):
        response = client.get(PRODUCTS, {**params, "facets": "true"})
    assert response.status_code == 200


def test_a_shoppers_page_filtered_by_tags_is_sorted_and_counted_from_the_read_model(
    apparel, django_assert_num_queries
) -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    now = timezone.now()
    # Five red shirts, oldest first, with one to three red variants each (one product a row
    # per variant in the read model, counted once); a blue one and a hidden red one besides.
    reds = [
        shirt(apparel, *(("red", size) for size in ("s", "m", "l")[: 1 + n % 3]), category=child)
        for n in range(5)
    ]
    shirt(apparel, ("blue", "s"), category=child)
    hidden = shirt(apparel, ("red", "s"), category=child, is_active=False)
    for age, product in enumerate(reversed([*reds, hidden])):
        Product.objects.filter(pk=product.pk).update(created_at=now - timedelta(days=age))
    newest_first = [product.pk for product in reversed(reds)]

    pages = [
        listed("colour:red", category=root.slug, page_size="2", page=str(number))
        for number in (1, 2, 3)
    ]
    assert [row["id"] for page in pages for row in page["results"]] == newest_first
    assert [page["count"] for page in pages] == [5, 5, 5]
    assert [page["next"] is not None for page in pages] == [True, True, False]
    oldest = listed("colour:red", category=root.slug, page_size="2", ordering="created_at")
    assert [row["id"] for row in oldest["results"]] == newest_first[::-1][:2]
    # The category's lookup; the filterable attributes; the read model's matches (their count
    # and the page's ids); the page's products.
    cache.clear()
    with django_assert_num_queries(4) as captured:
        APIClient().get(PRODUCTS, {"attribute": "colour:red", "category": root.slug})
    assert '"products_variant_tags"."created_at"' in captured.captured_queries[2]["sql"]
