"""The product list's query and selector, used without a request, and how the API reads a query
string into a query: which parameter a 400 names when several are wrong."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.lookups import any_of
from apps.core.pagination.counting import RowCount
from apps.core.pagination.cursors import CursorRequest
from apps.core.pagination.page_numbers import PageRequest
from apps.products.listing import ProductListQuery, category_for_list, product_list_page
from apps.products.models import Category, Product
from apps.products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")
SHOPPER = AnonymousUser()
COLUMNS = ("id", "name", "price")


@pytest.fixture
def kettles() -> list[Product]:
    """Three kettles in one category, newest last; one of them out of stock and cheap."""
    category = CategoryFactory(name="Kitchen", slug="kitchen")
    return [
        ProductFactory(category=category, name="Copper Kettle", price=Decimal("40")),
        ProductFactory(category=category, name="Steel Kettle", price=Decimal("5"), stock=0),
        ProductFactory(category=category, name="Glass Kettle", price=Decimal("60")),
    ]


def listed(query: ProductListQuery, page: Any = None, user: Any = SHOPPER) -> Any:
    return product_list_page(query, user=user, page=page or PageRequest(1, 24), columns=COLUMNS)


# --- the query ----------------------------------------------------------------------------------


def test_a_query_applies_every_filter_but_those_excluded(kettles: list[Product]) -> None:
    category = category_for_list("kitchen", user=SHOPPER)
    query = ProductListQuery(category=category, price_max=Decimal("50"), in_stock=True)

    everything = query.filter(Product.objects.all())
    but_stock = query.filter(Product.objects.all(), excluding={"in_stock"})

    assert list(everything) == [kettles[0]]
    assert set(but_stock) == {kettles[0], kettles[1]}
    assert query.is_set("rating_min", "in_stock") and not query.is_set("rating_min", "sku")


def test_only_the_category_narrowing_a_query_is_what_the_facet_summary_counts() -> None:
    category = CategoryFactory()

    assert ProductListQuery().narrows_by_category_only()
    assert ProductListQuery(
        category=category, facets=True, ordering="price"
    ).narrows_by_category_only()
    assert not ProductListQuery(category=category, in_stock=False).narrows_by_category_only()
    assert not ProductListQuery(search="kettle").narrows_by_category_only()


def test_the_ordering_in_effect_defaults_to_relevance_only_with_a_search() -> None:
    assert ProductListQuery().ordering_in_effect == "-created_at"
    assert ProductListQuery(search="kettle").ordering_in_effect == "-relevance"
    assert ProductListQuery(search="kettle", ordering="price").ordering_in_effect == "price"
    with pytest.raises(ValidationError) as raised:
        ProductListQuery(ordering="-relevance")
    assert raised.value.message_dict == {
        "ordering": ["Order by relevance only together with search."]
    }


def test_a_category_is_found_by_id_before_a_slug_of_digits() -> None:
    by_id = CategoryFactory()
    CategoryFactory(slug=str(by_id.pk))
    hidden = CategoryFactory(is_active=False, slug="hidden")

    found = category_for_list(str(by_id.pk), user=SHOPPER)

    assert found == by_id
    assert found.subtree_ids == [by_id.pk]  # type: ignore[union-attr]
    assert category_for_list("hidden", user=SHOPPER) is None
    assert category_for_list(str(hidden.pk), user=SHOPPER) is None


# --- the selector ---------------------------------------------------------------------------------


def test_the_selector_returns_a_page_of_rows_with_its_count(
    kettles: list[Product], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        page = listed(ProductListQuery(ordering="price"), PageRequest(1, 2))

    assert page.rows == [
        {"id": product.pk, "name": product.name, "price": product.price}
        for product in (kettles[1], kettles[0])
    ]
    assert page.count == RowCount(3, is_estimate=False)
    assert page.has_next
    assert (page.search, page.facets) == (None, None)


def test_the_selector_pages_by_cursor(kettles: list[Product]) -> None:
    first = listed(ProductListQuery(ordering="-price"), CursorRequest("", 2))
    token = first.page.next_token()
    assert token is not None
    second = listed(ProductListQuery(ordering="-price"), CursorRequest(token, 2))

    assert [row["id"] for row in first.rows + second.rows] == [
        kettles[2].pk,
        kettles[0].pk,
        kettles[1].pk,
    ]
    assert first.count is None
    assert not second.has_next


def test_the_selector_corrects_a_misspelled_search_and_counts_facets(
    kettles: list[Product],
) -> None:
    page = listed(ProductListQuery(search="kettel", facets=True))

    assert page.search is not None and page.search.mode == "corrected"
    assert {row["id"] for row in page.rows} == {product.pk for product in kettles}
    assert {"rank"} <= set(page.rows[0])
    assert page.facets is not None and page.facets["stock"] == {"in_stock": 2, "out_of_stock": 1}


def test_the_selector_raises_empty_page_past_the_last_even_for_a_search(
    kettles: list[Product],
) -> None:
    with pytest.raises(EmptyPage):
        listed(ProductListQuery(), PageRequest(2, 24))
    with pytest.raises(EmptyPage):
        listed(ProductListQuery(search="kettle"), PageRequest(2, 24))


def test_the_selector_lists_what_the_user_may_see(
    kettles: list[Product], staff_with_perms: Any
) -> None:
    Product.objects.filter(pk=kettles[0].pk).update(is_active=False)
    editor = staff_with_perms("products.change_product")

    assert listed(ProductListQuery(), user=SHOPPER).count == RowCount(2, is_estimate=False)
    assert listed(ProductListQuery(), user=editor).count == RowCount(3, is_estimate=False)


# --- the API's parsing ----------------------------------------------------------------------------


def too_many_ids() -> str:
    return ",".join(str(n) for n in range(1, 102))


@pytest.mark.parametrize(
    ("params", "named"),
    [
        # The form's errors come first, all at once; then the category, the number of ids, the
        # search text, the ordering; then the pagination's parameters.
        (
            {"category": "nope", "price_min": "cheap", "in_stock": "maybe"},
            ["price_min", "in_stock"],
        ),
        ({"category": "nope", "ids": too_many_ids()}, ["category"]),
        ({"ids": too_many_ids(), "search": "x" * 201}, ["ids"]),
        ({"search": "x" * 201, "ordering": "relevance"}, ["search"]),
        ({"ordering": "relevance", "page": "two"}, ["ordering"]),
        ({"page": "two", "page_size": "0"}, ["page"]),
        ({"cursor": "bad", "page_size": "0"}, ["page_size"]),
    ],
)
def test_a_query_string_with_several_mistakes_names_the_first_checked(
    api_client: APIClient, params: dict[str, str], named: list[str]
) -> None:
    ProductFactory()

    response = api_client.get(PRODUCTS, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == named


def test_a_product_found_by_id_or_slug_ignores_the_lists_parameters(api_client: APIClient) -> None:
    product = ProductFactory(price=Decimal("10"))

    by_id = api_client.get(reverse("v1:product-detail", args=[product.pk]), {"price_min": "x"})
    by_slug = api_client.get(
        reverse("v1:product-by-slug", args=[product.slug]), {"price_min": "100"}
    )

    assert (by_id.status_code, by_slug.status_code) == (200, 200)


def test_the_unknown_category_is_named_with_what_was_asked(api_client: APIClient) -> None:
    Category.objects.all().delete()

    response = api_client.get(PRODUCTS, {"category": "2024"})

    assert response.json()["errors"] == {"category": ["No category with id or slug '2024'."]}


def test_a_category_narrows_by_its_subtree_sent_as_one_array() -> None:
    root = CategoryFactory()
    children = CategoryFactory.create_batch(30, parent=root)
    inside = [ProductFactory(category=child) for child in children[:3]]
    ProductFactory()  # elsewhere
    found = category_for_list(root.slug, user=SHOPPER)
    assert found is not None and len(found.subtree_ids) == 31

    narrowed = ProductListQuery(category=found).filter(Product.objects.all())
    sql, params = narrowed.query.sql_with_params()

    assert set(narrowed) == set(inside)
    # One parameter for the 31 ids, not 31, and as the array's text: quoted as one string, not
    # id by id (apps.core.lookups.AnyOf).
    assert '"products_product"."category_id" = ANY(%s::bigint[])' in sql
    assert sorted(int(each) for each in params[0].strip("{}").split(",")) == sorted(
        found.subtree_ids
    )
    assert not Product.objects.filter(any_of("category_id", [])).exists()
