"""Facet counts for the product list, computed by PostgreSQL in a fixed number of queries.

Each facet counts over the current filters except its own (disjunctive faceting): choosing a
price range leaves the price facet's other buckets visible, with their counts.

A category page as shoppers see it (no filter but the category, no search), and the whole
catalogue's first page, read their facets from a summary that PostgreSQL keeps
(``CategoryFacetCount``): a few dozen rows, whatever the size of the subtree. It is written by
the triggers ``products_product_facet_counts_insert``, ``_update``, ``_delete`` and
``_truncate`` on products and ``products_category_facet_counts_update`` and ``_delete`` on
categories, in the statement that changes them. The summary's price buckets are those of the
settings when it was last counted (stored in ``products_facet_price_edges``); when the
settings' differ, the facets are counted live until ``rebuild_facet_counts`` (or ``migrate``)
recounts it.
"""

import functools
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import (
    Count,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import StrIndex, Substr
from django.db.models.sql.where import WhereNode

from .attribute_facets import attribute_facets
from .models import Category, Product
from .search import ProductSearch
from .summaries import CategorySummary

if TYPE_CHECKING:
    # For annotations only: the listing's selector imports this module.
    from .listing import ProductListQuery

# The one-row table of the price bucket edges the summary is counted with.
PRICE_EDGES_TABLE = "products_facet_price_edges"


def product_facets(
    query: "ProductListQuery", products: QuerySet[Product], search: ProductSearch | None
) -> dict[str, Any]:
    """Return the facets of what ``query`` and ``search`` (as resolved) select from
    ``products``: the four of the products' columns, from the summary when it counts exactly
    these products (one query, ``CategorySummary``), else counted live; and the attribute facets
    (``apps.products.attribute_facets``), from their own summaries where those count the
    same products."""
    summary = CategorySummary(query.category)
    facets = summary_facets(summary) if summary_covers(query, products) else None
    if facets is None:
        facets = live_facets(query, products, search)
    facets["attributes"] = attribute_facets(
        query,
        products,
        search,
        summary=summary,
        summary_covers=lambda excluding: summary_covers(
            query, products, excluding_attribute=excluding
        ),
        shoppers_by_tags_only=lambda excluding: shoppers_by_tags_only(
            query, products, excluding_attribute=excluding
        ),
    )
    return facets


def shoppers_by_tags_only(
    query: "ProductListQuery",
    products: QuerySet[Product],
    *,
    excluding_attribute: str | None = None,
) -> bool:
    """Return whether what ``query`` selects from ``products`` (but for the attribute
    ``excluding_attribute``'s filter) is what shoppers see narrowed by nothing but the category
    and attribute filters on tags (options, yes or no): the read model's ``listed`` rows
    carrying those tags are then exactly its products, with no join."""
    return query.narrows_by_category_only(
        excluding_attribute=excluding_attribute, but_tags=True
    ) and _shows_shoppers_products(products)


def summary_covers(
    query: "ProductListQuery",
    products: QuerySet[Product],
    *,
    excluding_attribute: str | None = None,
) -> bool:
    """Return whether the summary counts what ``query`` selects from ``products`` (but for the
    attribute ``excluding_attribute``'s filter, a facet's own): the products shoppers see
    (``active()``, not staff's everything), in the category's subtree or the whole catalogue,
    narrowed by no other filter and no search."""
    return query.narrows_by_category_only(
        excluding_attribute=excluding_attribute
    ) and _shows_shoppers_products(products)


def _shows_shoppers_products(products: QuerySet[Product]) -> bool:
    """Return whether ``products`` are the ones shoppers see (``active()``), narrowed by
    nothing else."""
    return products.query.where == _shoppers_where()


@functools.cache
def _shoppers_where() -> WhereNode:
    """Return the WHERE clause of the products shoppers see, built once: its expressions keep
    their identities (cached on them), where one built for each comparison (a list page makes
    over a dozen) computed them again through ``inspect``, 3 ms a page."""
    return Product.objects.active().query.where


def summary_facets(summary: CategorySummary) -> dict[str, Any] | None:
    """Return the four facets of ``summary``'s category subtree (the whole catalogue for
    None) as shoppers see it: its one query, shared with the attribute facets. Return None
    when the summary was counted with other price buckets than the settings'.
    """
    if summary.price_edges != configured_price_edges():
        return None
    counts: Counter[str] = Counter()
    for in_stock, rating_floor, price_bucket, products in summary.facet_rows:
        counts["in_stock" if in_stock else "out_of_stock"] += products
        for stars in range(1, rating_floor + 1):
            counts[f"rating_{stars}"] += products
        counts[f"price_{price_bucket}"] += products
    return {
        "categories": summary.children,
        "ratings": _rating_facet(counts),
        "prices": _price_facet(counts),
        "stock": {"in_stock": counts["in_stock"], "out_of_stock": counts["out_of_stock"]},
    }


def live_facets(
    query: "ProductListQuery", products: QuerySet[Product], search: ProductSearch | None
) -> dict[str, Any]:
    """Count the four facets of what ``query`` and ``search`` select from ``products``, from
    the products.

    Facets whose own filters are not in use count over the same rows, so their counts come from
    one shared aggregate query: two queries for the categories, and one to three more.
    """

    def counted(*own: str) -> QuerySet[Product]:
        matching = query.filter(products, excluding=own)
        return matching.filter(search.condition) if search else matching

    aggregates = {
        "ratings": (("rating_min",), _rating_counts),
        "prices": (("price_min", "price_max"), _price_counts),
        "stock": (("in_stock",), _stock_counts),
    }
    shared: dict[str, Any] = {}
    separate: dict[str, dict[str, Any]] = {}
    for facet, (own, counts) in aggregates.items():
        if query.is_set(*own):
            separate[facet] = counted(*own).order_by().aggregate(**counts())
        else:
            shared.update(counts())
    results = counted().order_by().aggregate(**shared) if shared else {}
    for facet in aggregates:
        separate.setdefault(facet, results)
    return {
        "categories": _category_facet(counted("category"), query.category),
        "ratings": _rating_facet(separate["ratings"]),
        "prices": _price_facet(separate["prices"]),
        "stock": {
            "in_stock": separate["stock"]["in_stock"],
            "out_of_stock": separate["stock"]["out_of_stock"],
        },
    }


def _category_facet(products: QuerySet[Product], current: Category | None) -> list[dict[str, Any]]:
    """Count products under each child of the current category (or each root): two queries."""
    children = Category.objects.active().filter(parent=current).order_by("name", "id")
    prefix = current.path if current else "/"
    # The child's id is the path segment right after the current category's prefix.
    rest = Substr("category__path", len(prefix) + 1)
    child_id = Func(
        Substr(rest, 1, StrIndex(rest, Value("/")) - 1),
        function="",
        template="(%(expressions)s)::bigint",
        output_field=IntegerField(),
    )
    counts = dict(
        products.filter(category__path__startswith=prefix)
        .exclude(category__path=prefix)
        .annotate(child=child_id)
        .values("child")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("child", "count")
    )
    return [
        {"id": child.pk, "name": child.name, "slug": child.slug, "count": counts.get(child.pk, 0)}
        for child in children
    ]


def _rating_counts() -> dict[str, Count]:
    return {
        f"rating_{stars}": Count("id", filter=Q(rating_average__gte=stars)) for stars in range(1, 6)
    }


def _rating_facet(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Products whose average rating is at least 5, 4 ... 1 stars."""
    return [{"min": stars, "count": counts[f"rating_{stars}"]} for stars in range(5, 0, -1)]


def configured_price_edges() -> list[Decimal]:
    """Return the settings' price bucket edges (the first bucket starts at 0, implied)."""
    return [Decimal(edge) for edge in settings.CATALOGUE_PRICE_BUCKETS]


def _price_buckets() -> list[tuple[Decimal, Decimal | None]]:
    edges = [Decimal(0), *configured_price_edges()]
    return list(zip(edges, [*edges[1:], None], strict=True))


def _price_counts() -> dict[str, Count]:
    return {
        f"price_{index}": Count(
            "id", filter=Q(price__gte=low) & (Q(price__lt=high) if high is not None else Q())
        )
        for index, (low, high) in enumerate(_price_buckets())
    }


def _price_facet(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Products per price bucket: ``min`` inclusive, ``max`` exclusive (None: no limit)."""
    return [
        {
            "min": f"{low:.2f}",
            "max": f"{high:.2f}" if high is not None else None,
            "count": counts[f"price_{index}"],
        }
        for index, (low, high) in enumerate(_price_buckets())
    ]


def _stock_counts() -> dict[str, Count]:
    return {
        "in_stock": Count("id", filter=Q(stock__gt=0)),
        "out_of_stock": Count("id", filter=Q(stock=0)),
    }
