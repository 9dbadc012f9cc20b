"""Facet counts of the product list, checked against a brute-force count in Python.

Hypothesis draws a small catalogue (a category tree, products with prices, stock and reviews)
and a combination of filters; every facet must count what the filters other than its own let
through (disjunctive faceting), and the page itself what all of them let through. Without a
filter other than the category, the facets come from the summary the triggers keep; the
summary's JSON must be the live count's, byte for byte.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apps.products import facets as facets_module
from apps.products.models import Category
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.products.tests.helpers import assert_summary_is_fresh
from apps.reviews.tests.factories import ReviewFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")

CENT = Decimal("0.01")
MAX_PRICE = Decimal("1500.00")
BUCKET_EDGES = [Decimal(0), *(Decimal(edge) for edge in django_settings.CATALOGUE_PRICE_BUCKETS)]
# Bucket edges and their neighbours a cent away, where off-by-one mistakes show.
EDGE_PRICES = sorted(
    {
        edge + step
        for edge in [*BUCKET_EDGES, MAX_PRICE]
        for step in (-CENT, Decimal(0), CENT)
        if Decimal(0) <= edge + step <= MAX_PRICE
    }
)
MAX_REVIEWS = 4
MAX_DEPTH = 2  # roots are at depth 0: three levels
# Few distinct names, so that the category facet's ties on name are broken by id.
CATEGORY_NAMES = ["Audio", "Books", "Garden"]

FACET_SETTINGS = settings(
    max_examples=100,  # about 8 seconds
    deadline=None,  # an example writes dozens of rows: its duration says little
    # No example database: a failure prints its falsifying example, which is all one needs.
    database=None,
)


# --- what hypothesis draws ----------------------------------------------------------------------


@dataclass(frozen=True)
class CategorySpec:
    parent: int | None  # index of an earlier CategorySpec
    name: str
    is_active: bool
    depth: int


@dataclass(frozen=True)
class ProductSpec:
    category: int  # index of a CategorySpec
    price: Decimal
    stock: int
    is_active: bool
    ratings: tuple[int, ...]


@dataclass(frozen=True)
class FilterSpec:
    category: int | None  # index of an active CategorySpec
    category_by_slug: bool
    price_min: Decimal | None
    price_max: Decimal | None
    in_stock: bool | None
    rating_min: Decimal | None


@dataclass(frozen=True)
class Scenario:
    categories: list[CategorySpec]
    products: list[ProductSpec]
    filters: FilterSpec


mostly_true = st.sampled_from([True, True, True, False])  # shrinks towards True
prices = st.one_of(
    st.sampled_from(EDGE_PRICES), st.decimals(min_value=0, max_value=MAX_PRICE, places=2)
).map(lambda price: price.quantize(CENT))
stocks = st.one_of(st.just(0), st.integers(min_value=1, max_value=50))
# One decimal place: with at most MAX_REVIEWS reviews no average lies within the 0.005 that
# storing it to two decimals could move it across such a threshold.
rating_minimums = st.decimals(min_value=1, max_value=5, places=1)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    categories: list[CategorySpec] = []
    for _ in range(draw(st.integers(min_value=1, max_value=7))):
        # Earlier categories first: nested trees are drawn more often than a row of roots.
        parents = [*(i for i, spec in enumerate(categories) if spec.depth < MAX_DEPTH), None]
        parent = draw(st.sampled_from(parents))
        categories.append(
            CategorySpec(
                parent=parent,
                name=draw(st.sampled_from(CATEGORY_NAMES)),
                is_active=draw(mostly_true),
                depth=0 if parent is None else categories[parent].depth + 1,
            )
        )
    products = draw(
        st.lists(
            st.builds(
                ProductSpec,
                category=st.integers(min_value=0, max_value=len(categories) - 1),
                price=prices,
                stock=stocks,
                is_active=mostly_true,
                ratings=st.lists(st.integers(min_value=1, max_value=5), max_size=MAX_REVIEWS).map(
                    tuple
                ),
            ),
            max_size=25,
        )
    )
    # Only active categories: an inactive one is a 400 for shoppers, not a filter.
    active = [i for i, spec in enumerate(categories) if spec.is_active]
    low, high = draw(st.one_of(st.none(), prices)), draw(st.one_of(st.none(), prices))
    if low is not None and high is not None and low > high:
        low, high = high, low
    by_category = bool(active) and draw(st.sampled_from([False, True, True]))
    filters = FilterSpec(
        category=draw(st.sampled_from(active)) if by_category else None,
        category_by_slug=draw(st.booleans()),
        price_min=low,
        price_max=high,
        in_stock=draw(st.one_of(st.none(), st.booleans())),
        rating_min=draw(st.one_of(st.none(), rating_minimums)),
    )
    return Scenario(categories=categories, products=products, filters=filters)


# --- the catalogue as stored, and the brute force over it --------------------------------------


@dataclass(frozen=True)
class CategoryRow:
    pk: int
    slug: str
    name: str
    is_active: bool
    parent: int | None
    lineage: tuple[int, ...]  # ids from the root down to this category


@dataclass(frozen=True)
class ProductRow:
    pk: int
    category: CategoryRow
    price: Decimal
    stock: int
    is_active: bool
    average: Fraction  # 0 without reviews
    created_at: datetime

    @property
    def visible(self) -> bool:
        return self.is_active and self.category.is_active


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint that is always rolled back: examples share one test."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def create_catalogue(scenario: Scenario) -> tuple[list[CategoryRow], list[ProductRow]]:
    """Store the scenario's catalogue; return it as rows for the brute force, in draw order."""
    categories: list[Category] = []
    category_rows: list[CategoryRow] = []
    for category_spec in scenario.categories:
        parent = categories[category_spec.parent] if category_spec.parent is not None else None
        category = CategoryFactory(
            name=category_spec.name, parent=parent, is_active=category_spec.is_active
        )
        categories.append(category)
        above = (
            category_rows[category_spec.parent].lineage if category_spec.parent is not None else ()
        )
        category_rows.append(
            CategoryRow(
                pk=category.pk,
                slug=category.slug,
                name=category.name,
                is_active=category.is_active,
                parent=parent.pk if parent is not None else None,
                lineage=(*above, category.pk),
            )
        )
    reviewers = UserFactory.create_batch(MAX_REVIEWS)
    product_rows: list[ProductRow] = []
    for product_spec in scenario.products:
        product = ProductFactory(
            category=categories[product_spec.category],
            price=product_spec.price,
            stock=product_spec.stock,
            is_active=product_spec.is_active,
        )
        # Through the review service, as the API writes them: the stored figures stay exact.
        for reviewer, rating in zip(reviewers, product_spec.ratings, strict=False):
            ReviewFactory(product=product, user=reviewer, rating=rating)
        ratings = product_spec.ratings
        product_rows.append(
            ProductRow(
                pk=product.pk,
                category=category_rows[product_spec.category],
                price=product_spec.price,
                stock=product_spec.stock,
                is_active=product_spec.is_active,
                average=Fraction(sum(ratings), len(ratings)) if ratings else Fraction(0),
                created_at=product.created_at,
            )
        )
    return category_rows, product_rows


def filter_checks(
    filters: FilterSpec, categories: list[CategoryRow]
) -> dict[str, Callable[[ProductRow], bool]]:
    """Return a predicate per drawn filter, keyed by its query parameter."""
    checks: dict[str, Callable[[ProductRow], bool]] = {}
    if filters.category is not None:
        chosen = categories[filters.category].pk
        checks["category"] = lambda row: chosen in row.category.lineage
    if filters.price_min is not None:
        low = filters.price_min
        checks["price_min"] = lambda row: row.price >= low
    if filters.price_max is not None:
        high = filters.price_max
        checks["price_max"] = lambda row: row.price <= high
    if filters.in_stock is not None:
        wanted = filters.in_stock
        checks["in_stock"] = lambda row: (row.stock > 0) == wanted
    if filters.rating_min is not None:
        minimum = Fraction(filters.rating_min)
        checks["rating_min"] = lambda row: row.average >= minimum
    return checks


def query_for(filters: FilterSpec, categories: list[CategoryRow]) -> dict[str, str]:
    query = {"facets": "true", "page_size": "100"}
    if filters.category is not None:
        category = categories[filters.category]
        query["category"] = category.slug if filters.category_by_slug else str(category.pk)
    for name in ("price_min", "price_max", "rating_min"):
        value = getattr(filters, name)
        if value is not None:
            query[name] = str(value)
    if filters.in_stock is not None:
        query["in_stock"] = "true" if filters.in_stock else "false"
    return query


def brute_force(
    filters: FilterSpec, categories: list[CategoryRow], products: list[ProductRow]
) -> dict[str, Any]:
    """Return the expected ids (in list order), count and facets, counted row by row."""
    checks = filter_checks(filters, categories)

    def matching(*own: str) -> list[ProductRow]:
        return [
            row
            for row in products
            if row.visible and all(check(row) for name, check in checks.items() if name not in own)
        ]

    current = categories[filters.category].pk if filters.category is not None else None
    children = sorted(
        (row for row in categories if row.is_active and row.parent == current),
        key=lambda row: (row.name, row.pk),
    )
    in_categories = matching("category")
    category_facet = [
        {
            "id": child.pk,
            "name": child.name,
            "slug": child.slug,
            "count": sum(child.pk in row.category.lineage for row in in_categories),
        }
        for child in children
    ]

    rated = matching("rating_min")
    rating_facet = [
        {"min": stars, "count": sum(row.average >= stars for row in rated)}
        for stars in range(5, 0, -1)
    ]

    priced = matching("price_min", "price_max")
    price_facet = []
    for low, high in zip(BUCKET_EDGES, [*BUCKET_EDGES[1:], None], strict=True):
        count = sum(low <= row.price and (high is None or row.price < high) for row in priced)
        price_facet.append(
            {
                "min": f"{low:.2f}",
                "max": f"{high:.2f}" if high is not None else None,
                "count": count,
            }
        )

    stocked = matching("in_stock")
    stock_facet = {
        "in_stock": sum(row.stock > 0 for row in stocked),
        "out_of_stock": sum(row.stock == 0 for row in stocked),
    }

    shown = sorted(matching(), key=lambda row: (row.created_at, row.pk), reverse=True)
    return {
        "ids": [row.pk for row in shown],
        "facets": {
            "categories": category_facet,
            "ratings": rating_facet,
            "prices": price_facet,
            "stock": stock_facet,
        },
    }


# --- properties ---------------------------------------------------------------------------------


@FACET_SETTINGS
@given(scenario=scenarios())
def test_facets_and_results_match_a_brute_force_count(scenario: Scenario) -> None:
    with rolled_back():
        cache.clear()  # the anonymous throttle counts every example's request
        categories, products = create_catalogue(scenario)
        assert_summary_is_fresh()
        query = query_for(scenario.filters, categories)
        expected = brute_force(scenario.filters, categories, products)

        response = APIClient().get(PRODUCTS, query)

        assert response.status_code == 200, (query, response.data)
        assert response.data["count"] == len(expected["ids"]), query
        assert [row["id"] for row in response.data["results"]] == expected["ids"], query
        facets = response.data["facets"]
        assert set(facets) == {"categories", "ratings", "prices", "stock", "attributes"}
        assert facets["attributes"] == []  # no attributes: test_attribute_facets.py has them
        for name, counts in expected["facets"].items():
            assert facets[name] == counts, f"{name} facet for {query}"


# --- query count --------------------------------------------------------------------------------


def create_sized_catalogue(products: int) -> dict[str, Category]:
    """Return a three-level tree holding ``products`` reviewed products, spread over it."""
    root = CategoryFactory(name="Electronics")
    audio = CategoryFactory(name="Audio", parent=root)
    tree = {
        "root": root,
        "audio": audio,
        "headphones": CategoryFactory(name="Headphones", parent=audio),
        "phones": CategoryFactory(name="Phones", parent=root),
        "garden": CategoryFactory(name="Garden"),
    }
    reviewers = UserFactory.create_batch(2)
    leaves = list(tree.values())
    for index in range(products):
        product = ProductFactory(
            category=leaves[index % len(leaves)],
            price=Decimal(index * 37 % 1200),
            stock=index % 3,
        )
        for reviewer in reviewers[: index % 3]:
            ReviewFactory(product=product, user=reviewer, rating=1 + index % 5)
    return tree


FULL_FILTERS = {
    "price_min": "10",
    "price_max": "1000",
    "in_stock": "true",
    "rating_min": "2",
}


@pytest.mark.parametrize("size", [5, 50])
@pytest.mark.parametrize(
    ("filters", "queries"),
    [
        # Each also reads the filterable attributes once (none here: no count of them).
        # From the summary: the page with its count; the summary (products_category_summary:
        # its rows, its price buckets, the roots with their counts) in one.
        ({}, 3),
        # the same after the ?category= lookup, for its children
        ({"category": "root"}, 4),
        # Counted live: the page with its count; category children, category counts; one
        # aggregate for the ratings and stock facets, one for prices (it ignores price_max)
        ({"price_max": "1000"}, 6),
        # the ?category= lookup (once), the page with its count, the two category queries,
        # and one aggregate per facet whose own filter is in use: ratings, prices, stock
        ({"category": "root", **FULL_FILTERS}, 8),
    ],
    ids=["no filters", "category", "price filter", "every filter"],
)
def test_facet_query_count_is_fixed(
    api_client: APIClient,
    django_assert_num_queries: Any,
    size: int,
    filters: dict[str, str],
    queries: int,
) -> None:
    tree = create_sized_catalogue(size)
    query = {"facets": "true", "page_size": "100", **filters}
    if "category" in query:
        query["category"] = tree[query["category"]].slug

    with django_assert_num_queries(queries, info=f"facets for {query}"):
        response = api_client.get(PRODUCTS, query)

    assert response.status_code == 200
    assert response.data["facets"]["stock"]["in_stock"] >= 1


# --- the summary's facets are the live count's ---------------------------------------------------


def create_varied_catalogue() -> dict[str, Category]:
    """Return a tree with products at every level, in and out of stock, rated 0 to 5 stars,
    priced on and around every bucket edge; some inactive, some in inactive categories, and a
    child category with no products."""
    tree = create_sized_catalogue(60)
    tree["inactive"] = CategoryFactory(name="Inactive", parent=tree["audio"], is_active=False)
    tree["under inactive"] = CategoryFactory(name="Deep", parent=tree["inactive"])
    categories = list(tree.values())
    for index, price in enumerate(EDGE_PRICES):
        ProductFactory(
            category=categories[index % len(categories)],
            price=price,
            stock=index % 2,
            is_active=index % 5 != 0,
        )
    tree["empty"] = CategoryFactory(name="Empty", parent=tree["audio"])
    return tree


@pytest.mark.parametrize("category", [None, "root", "audio", "headphones", "empty"])
def test_the_facets_from_the_summary_are_those_counted_live(
    api_client: APIClient,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    category: str | None,
) -> None:
    tree = create_varied_catalogue()
    query = {"facets": "true", **({"category": str(tree[category].pk)} if category else {})}

    with django_assert_num_queries(4 if category else 3, info="from the summary"):
        from_summary = api_client.get(PRODUCTS, query)
    # As when the summary's price buckets are not the settings'; not from the response cache.
    monkeypatch.setattr(facets_module, "summary_facets", lambda summary: None)
    cache.clear()
    counted_live = api_client.get(PRODUCTS, query)

    assert from_summary.status_code == counted_live.status_code == 200
    assert from_summary.data["facets"] == counted_live.data["facets"]
    assert from_summary.content == counted_live.content
    # Not a comparison of nothing with nothing.
    counted = sum(bucket["count"] for bucket in from_summary.data["facets"]["prices"])
    assert (counted > 0) == (category != "empty"), counted


def test_other_price_buckets_in_the_settings_are_counted_live(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    tree = create_varied_catalogue()
    query = {"facets": "true", "category": str(tree["root"].pk)}

    # The lookup, the page, the summary's edges (not these ones); then live, as before.
    with (
        override_settings(CATALOGUE_PRICE_BUCKETS=[100, 1000]),
        django_assert_num_queries(2 + 1 + 3 + 1, info="counted live"),
    ):
        response = api_client.get(PRODUCTS, query)

    assert response.status_code == 200
    prices = response.data["facets"]["prices"]
    assert [(bucket["min"], bucket["max"]) for bucket in prices] == [
        ("0.00", "100.00"),
        ("100.00", "1000.00"),
        ("1000.00", None),
    ]
    assert sum(bucket["count"] for bucket in prices) == response.data["count"]


def test_staff_who_see_inactive_products_get_them_counted_live(
    client_for: Any, staff_with_perms: Any
) -> None:
    tree = create_varied_catalogue()
    query = {"facets": "true", "category": str(tree["root"].pk)}
    editor = client_for(staff_with_perms("products.change_product"))

    for_staff = editor.get(PRODUCTS, query)
    for_shoppers = APIClient().get(PRODUCTS, query)

    staff_total = for_staff.data["facets"]["stock"]
    shopper_total = for_shoppers.data["facets"]["stock"]
    assert sum(staff_total.values()) == for_staff.data["count"]
    assert sum(shopper_total.values()) == for_shoppers.data["count"]
    assert for_staff.data["count"] > for_shoppers.data["count"]


# --- the category parameter of a faceted list ---------------------------------------------------


def test_a_category_whose_slug_is_a_number_is_found_by_its_slug(api_client: APIClient) -> None:
    # A category named "2024" gets the slug "2024" from category_create(), and nothing forbids
    # giving it one by hand.
    archive = CategoryFactory(name="2024", slug="2024")
    product = ProductFactory(category=archive)

    response = api_client.get(PRODUCTS, {"category": "2024", "facets": "true"})

    assert response.status_code == 200, response.data
    assert [row["id"] for row in response.data["results"]] == [product.pk]


def test_a_category_given_as_a_superscript_digit_is_a_400(api_client: APIClient) -> None:
    ProductFactory()
    api_client.raise_request_exception = False

    response = api_client.get(PRODUCTS, {"category": "²", "facets": "true"})

    assert response.status_code == 400, response.status_code
    assert set(response.data["errors"]) == {"category"}
