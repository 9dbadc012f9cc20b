"""The EAV comparator answers the attribute-filtered list and its attribute facets with our
semantics (red and M on one active variant, facets counted disjunctively), checked against a
count made here product by product (``eav_reference``), on the demo catalogue's typed
products."""

import pytest

from benchmarks.runner.tests.eav_reference import (
    any_variant_matches,
    catalogue_of,
    eav_get,
    expected_facets,
    filter_sets,
    matches,
    query_string,
)

# The EAV reads what another connection committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("slug", ["fashion", "electronics", "home-kitchen", "books-media"])
def test_the_eav_lists_and_counts_facets_with_ours_semantics(slug: str, eav_database: None) -> None:
    products = catalogue_of(slug)
    typed = [product for product in products if product.values]
    sets = filter_sets(typed)
    assert len(sets) >= 3
    found = 0
    for filters in sets:
        expected = sorted(
            (product for product in products if matches(product, filters)),
            key=lambda product: (product.created_at, product.id),
            reverse=True,
        )
        found += len(expected)
        status, body, queries = eav_get(query_string(slug, filters, facets=True) + "&page_size=100")

        assert status == "200 OK", body
        assert [row["id"] for row in body["results"]] == [product.id for product in expected]
        assert body["count"] == len(expected)
        assert body["count_is_estimate"] is False
        assert body["facets"]["attributes"] == expected_facets(products, filters)
        assert queries == 2
    assert found  # some filters match some products


def test_axis_filters_hold_on_one_variant_not_on_any(eav_database: None) -> None:
    products = catalogue_of("fashion")
    crossed = [
        (product, filters)
        for filters in filter_sets([product for product in products if product.values])
        for product in products
        if any_variant_matches(product, filters) and not matches(product, filters)
    ]
    assert crossed, "the demo catalogue has a product with M in one colour and red in another"
    product, filters = crossed[0]

    _status, body, _queries = eav_get(query_string("fashion", filters) + "&page_size=100")

    assert product.id not in [row["id"] for row in body["results"]]


BAD_FILTERS = [
    ("nope:x", "No filterable attribute 'nope'."),
    ("author:x", "No filterable attribute 'author'."),
    ("size:huge", "size: give options of the attribute."),
    ("pages:10", "pages: give <min>..<max>."),
    ("pages:..", "pages: give <min>..<max>."),
    ("dual-sim:maybe", "dual-sim: this attribute cannot filter the list."),
]


def test_a_bad_attribute_filter_is_a_400_naming_it(eav_database: None) -> None:
    for attribute, message in BAD_FILTERS:
        status, body, queries = eav_get(f"category=fashion&attribute={attribute}")

        assert status == "400 Bad Request", attribute
        assert body == {"attribute": [message]}
        assert queries == 0
