"""The product list: a ``ProductListQuery`` (every filter of the list as a plain value), and the
selector that reads one page of it, ``product_list_page()``.

The selector owns the list's read path: the products the user may see, the filters, the full-text
search as typed (and, when that finds nothing, with its misspelled words corrected), which
matches are ranked, how the list is counted, and the facets. It returns ``values()`` rows;
rendering them is the API's.
"""

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage
from django.db import connection
from django.db.models import Q, QuerySet

from apps.core.lookups import any_of
from apps.core.ordering import order_with_tie_breaker
from apps.core.pagination.counting import COUNT_ROWS, SQL, CountRows, CountStrategy, RowCount
from apps.core.pagination.cursors import CursorPage, CursorRequest
from apps.core.pagination.page_numbers import NumberedPage, PageRequest, found_page

from .attribute_filters import AttributeFilters, matching_rows
from .facets import product_facets, shoppers_by_tags_only, summary_covers
from .models import Category, CategoryFacetCount, Product, Variant
from .search import ProductSearch, corrected_search, fulltext_search, search_has_matches

# ?ordering= values and the columns they sort on; the id breaks ties in the same direction.
ORDERINGS = {
    "price": "price",
    "name": "name",
    "created_at": "created_at",
    "rating": "rating_average",
    "review_count": "review_count",
    "relevance": "rank",
}

WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")

Products = QuerySet[Product]

# How each filter of the query narrows the products, in the order of the list's parameters (the
# order of the WHERE clause).
NARROWING: dict[str, Callable[[Products, Any], Products]] = {
    # The subtree's ids as values, not a subquery: PostgreSQL then knows how many products they
    # hold (a leaf's 100 or a department's 100,000) and picks the index to match; from a
    # subquery on the path it guessed 10,000 for a leaf, and walked the newest-first index of
    # every product to fill a page (0.3 s at a million products). As one array (any_of()): a
    # department's thousand ids as parameters of their own cost 17 ms of Python a page.
    "category": lambda products, category: products.filter(
        any_of("category_id", category.subtree_ids)
    ),
    "price_min": lambda products, price: products.filter(price__gte=price),
    "price_max": lambda products, price: products.filter(price__lte=price),
    "in_stock": lambda products, in_stock: (
        products.filter(stock__gt=0) if in_stock else products.filter(stock=0)
    ),
    "rating_min": lambda products, rating: products.filter(rating_average__gte=rating),
    "created_after": lambda products, moment: products.filter(created_at__gte=moment),
    "created_before": lambda products, moment: products.filter(created_at__lt=moment),
    # Any variant's SKU (the product's own is its first variant's), by variant_sku_upper.
    "sku": lambda products, sku: products.filter(
        pk__in=Variant.objects.filter(sku__iexact=sku).values("product_id")
    ),
    "ids": lambda products, ids: products.filter(pk__in=ids),
}
_BESIDES_CATEGORY = tuple(name for name in NARROWING if name != "category")


@dataclass(frozen=True)
class ProductListQuery:
    """What a product list asks for, every value already parsed: None where not given.

    ``category`` is found already, with its ``subtree_ids`` (``category_for_list()``); ``search``
    is the text cleaned (``apps.products.search.clean_search_text``); ``ordering`` a key of
    ``ORDERINGS``, ``-`` for descending, as asked.
    """

    category: Category | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    rating_min: Decimal | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sku: str | None = None
    ids: tuple[int, ...] | None = None
    attributes: AttributeFilters | None = None
    search: str | None = None
    ordering: str | None = None
    facets: bool = False

    def __post_init__(self) -> None:
        relevance = self.ordering is not None and self.ordering.lstrip("-") == "relevance"
        if relevance and self.search is None:
            raise ValidationError({"ordering": ["Order by relevance only together with search."]})

    def filter(
        self,
        products: Products,
        *,
        excluding: Collection[str] = (),
        excluding_attribute: str | None = None,
        attribute_tags: bool = True,
    ) -> Products:
        """Return ``products`` narrowed by every filter of the query but those named in
        ``excluding`` (a facet's own) and the attribute ``excluding_attribute`` (a slug), by
        the attribute filters on options and yes-or-no too unless ``attribute_tags`` is
        false; not searched."""
        for name, narrow in NARROWING.items():
            value = getattr(self, name)
            if value is not None and name not in excluding:
                products = narrow(products, value)
        if self.attributes is not None:
            products = self.attributes.narrow(
                products,
                category_id=self.attribute_category_id(excluding),
                excluding=excluding_attribute,
                tags=attribute_tags,
            )
        return products

    def attribute_category_id(self, excluding: Collection[str] = ()) -> int | None:
        """Return the id of the category whose subtree the attribute filters' read model rows
        are looked up in (None: anywhere), unless the category is ``excluding``'s."""
        if self.category is None or "category" in excluding:
            return None
        return self.category.pk

    def is_set(self, *filters: str) -> bool:
        """Return whether any of the named filters has a value."""
        return any(getattr(self, name) is not None for name in filters)

    def narrows_by_category_only(
        self, *, excluding_attribute: str | None = None, but_tags: bool = False
    ) -> bool:
        """Return whether nothing but the category (if any) narrows the list: no other filter
        (but the attribute ``excluding_attribute``'s, if given, and with ``but_tags`` the
        attribute filters on options and yes-or-no), no search."""
        if self.search is not None or self.is_set(*_BESIDES_CATEGORY):
            return False
        filters = self.attributes.filters if self.attributes is not None else ()
        return all(each.slug == excluding_attribute or (but_tags and each.tags) for each in filters)

    @property
    def ordering_in_effect(self) -> str:
        """Return the ordering asked for, or the default: by relevance with a search, else
        newest first."""
        return self.ordering or ("-relevance" if self.search is not None else "-created_at")


def category_for_list(value: str, *, user: object) -> Category | None:
    """Return the category that ``value`` names, by id or slug, among those ``user`` may see,
    with its ``subtree_ids`` (one query); None if there is none."""
    categories = Category.objects.visible_to(user).with_subtree_ids()
    if not WHOLE_NUMBER.fullmatch(value):
        return categories.filter(slug=value).first()
    # An id, or a slug made of digits ("2024"): the id wins when both exist.
    matches = categories.filter(Q(pk=int(value)) | Q(slug=value))
    found = sorted(matches[:2], key=lambda category: category.pk != int(value))
    return found[0] if found else None


@dataclass(frozen=True)
class CountFromSummary:
    """Count a category page as shoppers see it (or the whole catalogue) from the facet
    summary: exact, and without reading the products."""

    category: Category | None

    def count_sql(self, rows: QuerySet[Any]) -> SQL:
        return CategoryFacetCount.objects.covering(self.category).count_sql()

    def listed_count_sql(self, rows: QuerySet[Any]) -> SQL:
        return self.count_sql(rows)


@dataclass(frozen=True)
class ProductListPage:
    """A page of the product list: its rows and how it was paged (``page``: by number, with
    the count and whether it is an estimate, or by cursor), the search as it matched (as typed
    or corrected; None without one), and the facets when the query asks for them."""

    page: NumberedPage | CursorPage
    search: ProductSearch | None
    facets: dict[str, Any] | None

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.page.rows

    @property
    def has_next(self) -> bool:
        return self.page.has_next()

    @property
    def count(self) -> RowCount | None:
        """Return the count of the whole list (None for a page by cursor)."""
        return self.page.row_count if isinstance(self.page, NumberedPage) else None


def product_list_page(
    query: ProductListQuery,
    *,
    user: object,
    page: PageRequest | CursorRequest,
    columns: Sequence[str],
) -> ProductListPage:
    """Return the ``page`` of the products ``user`` may see that ``query`` selects, as
    ``values()`` rows of ``columns`` (and ``rank`` and ``matched_variant`` with a search).

    A search's page is read with its words as typed; only an empty page costs a check for
    misspellings (none on the first page: nothing matched at all), and when some word has close
    matches in the catalogue, the page is read again with them. Raise ``EmptyPage`` for a page
    past the last, ``ValidationError`` for a cursor that no page of this ordering wrote.
    """
    products = Product.objects.visible_to(user).for_list()
    filtered = query.filter(products)
    search = fulltext_search(query.search) if query.search is not None else None
    past_the_end: EmptyPage | None = None
    try:
        listed = _fetch(query, search, products, filtered, page=page, columns=columns)
    except EmptyPage as error:
        listed, past_the_end = None, error
    if search is not None and (listed is None or not listed.rows):
        matched_nothing = past_the_end is None and page.is_first
        if matched_nothing or not search_has_matches(filtered, search):
            corrected = corrected_search(search)
            if corrected is not None:
                search, past_the_end = corrected, None
                listed = _fetch(query, corrected, products, filtered, page=page, columns=columns)
    if past_the_end is not None:
        raise past_the_end
    assert listed is not None
    facets = product_facets(query, products, search) if query.facets else None
    return ProductListPage(listed, search, facets)


def _fetch(
    query: ProductListQuery,
    search: ProductSearch | None,
    products: Products,
    filtered: Products,
    *,
    page: PageRequest | CursorRequest,
    columns: Sequence[str],
) -> NumberedPage | CursorPage:
    """Fetch ``page`` of the ``filtered`` products that ``search`` matches, in the query's
    order, with the count that the list shows."""
    ordering = query.ordering_in_effect
    if search is None:
        if _paged_by_read_model(query, products, page, ordering):
            assert isinstance(page, PageRequest)
            return _read_model_page(query, products, page=page, ordering=ordering, columns=columns)
        counting: CountStrategy = (
            CountFromSummary(query.category) if summary_covers(query, products) else COUNT_ROWS
        )
        listed = order_with_tie_breaker(filtered, ORDERINGS, ordering)
        return page.fetch(listed.values(*columns), counting)
    matches = filtered.filter(search.condition).annotate(
        rank=search.rank, matched_variant=search.matched_variant
    )
    listed = order_with_tie_breaker(matches, ORDERINGS, ordering)
    # A search counts fewer matches one by one, as each costs a read of its row, and the
    # planner's estimate of a word is close.
    limit = int(settings.CATALOGUE_SEARCH_EXACT_COUNT_LIMIT)
    counting = CountRows(limit=limit)
    if ordering.lstrip("-") == "relevance":
        # Ranking reads every match's document: 0.2 s for 80,000 matches. Rank only the most
        # reviewed ones; the count still covers every match.
        counting = CountRows(covering=listed, limit=limit)
        best = matches.order_by("-review_count", "-id").values("pk")
        listed = listed.filter(pk__in=best[: settings.CATALOGUE_SEARCH_RANKED_MATCHES])
    return page.fetch(listed.values(*columns, "rank", "matched_variant"), counting)


# The orderings the read model's rows carry the key of (VariantTags.created_at).
_READ_MODEL_ORDERINGS = frozenset({"created_at", "-created_at"})


def _paged_by_read_model(
    query: ProductListQuery,
    products: Products,
    page: PageRequest | CursorRequest,
    ordering: str,
) -> bool:
    """Return whether the page is read from the filtering read model's rows: a page by number
    (the last page needs its count first) of a shopper's list narrowed by the category and
    attribute filters on tags alone, at least one, newest or oldest first."""
    return (
        isinstance(page, PageRequest)
        and page.number is not None
        and ordering in _READ_MODEL_ORDERINGS
        and query.attributes is not None
        and query.attributes.has_tag_filters()
        and shoppers_by_tags_only(query, products)
    )


def _read_model_page(
    query: ProductListQuery,
    products: Products,
    *,
    page: PageRequest,
    ordering: str,
    columns: Sequence[str],
) -> NumberedPage:
    """Fetch ``page`` of a shopper's list narrowed by the category and tag filters from the
    read model's matching rows (``listed``, each with its product's ``created_at``): one query
    finds the distinct matching products once, and gives their count and the page's ids in
    order; a second reads those products.

    The products' own plan joined every match to the products to sort it, and counted through
    the same join again: at a million products, a department filtered by one genre read 30,000
    products twice (0.5 s). Every match is found here anyway, so the count is exact.
    """
    assert page.number is not None and query.attributes is not None
    rows = matching_rows(
        query.attributes.tag_alternatives(), category_id=query.attribute_category_id()
    ).filter(listed=True)
    matched_sql, params = (
        rows.values("product_id", "created_at").distinct().order_by().query.sql_with_params()
    )
    direction = "DESC" if ordering.startswith("-") else "ASC"
    with connection.cursor() as cursor:
        cursor.execute(
            # The ORM's own SQL and parameters; the direction is one of two words.
            f"WITH matched AS MATERIALIZED ({matched_sql}) "  # noqa: S608
            "SELECT (SELECT count(*) FROM matched), ARRAY("
            "SELECT product_id FROM matched"
            f" ORDER BY created_at {direction}, product_id {direction} OFFSET %s LIMIT %s)",
            [*params, max(page.number - 1, 0) * page.size, page.size + 1],
        )
        count, ids = cursor.fetchone()
    listed = order_with_tie_breaker(products.filter(any_of("id", ids)), ORDERINGS, ordering)
    return found_page(
        list(listed.values(*columns)[: page.size]),
        page,
        listed=listed,
        count=RowCount(count, is_estimate=False),
        has_next=len(ids) > page.size,
    )
