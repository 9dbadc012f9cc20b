"""The EAV comparator answers the attribute-filtered list and its attribute facets exactly as
ours does (the runner checks the same before it times ``attribute_list`` and
``attribute_facets``), and a department page's facets without a filter as ours does
(``department_facets``)."""

from typing import Any

import pytest
from django.test import Client

from benchmarks.runner.tests.eav_reference import (
    catalogue_of,
    eav_get,
    filter_sets,
    query_string,
)
from benchmarks.runner.verify import first_difference

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("slug", ["fashion", "electronics", "home-kitchen", "books-media"])
def test_the_eav_serves_ours_attribute_list_and_facets(
    slug: str,
    eav_database: None,
    client: Client,
) -> None:
    products = catalogue_of(slug)
    sets = filter_sets([product for product in products if product.values])
    assert len(sets) >= 3
    listed = 0
    for filters in sets:
        query = query_string(slug, filters) + "&page_size=5"
        response = client.get(f"/api/v1/products/?{query}")
        ours: dict[str, Any] = response.json()
        status, theirs, _queries = eav_get(query)

        assert response.status_code == 200, ours
        assert status == "200 OK", theirs
        assert first_difference(ours, theirs) is None
        listed += len(ours["results"])

        ours_facets = client.get(f"/api/v1/products/?{query}&facets=true").json()
        _status, theirs_facets, _queries = eav_get(f"{query}&facets=true")
        assert ours_facets["facets"]["attributes"], "ours counts attribute facets"
        assert (
            first_difference(
                ours_facets["facets"]["attributes"], theirs_facets["facets"]["attributes"]
            )
            is None
        )
    assert listed


@pytest.mark.parametrize("slug", ["fashion", "electronics", "home-kitchen", "books-media"])
def test_the_eav_counts_a_bare_category_page_as_ours(
    slug: str, eav_database: None, client: Client
) -> None:
    query = f"category={slug}&facets=true&page_size=5"
    ours = client.get(f"/api/v1/products/?{query}").json()
    status, theirs, _queries = eav_get(query)

    assert status == "200 OK", theirs
    assert ours["facets"]["attributes"], "the department's types have filterable attributes"
    assert first_difference(ours["facets"]["attributes"], theirs["facets"]["attributes"]) is None
    assert first_difference(ours["results"], theirs["results"]) is None
