"""Facet counts for the product list, computed by PostgreSQL in a fixed number of queries.

Each facet counts over the current filters except its own (disjunctive faceting): choosing a
price range leaves the price facet's other buckets visible, with their counts.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Func, IntegerField, Q, QuerySet, Value
from django.db.models.functions import StrIndex, Substr

from .filters import ProductFilter
from .models import Category, Product


def product_facets(filterset: ProductFilter, products: QuerySet[Product]) -> dict[str, Any]:
    """Return the four facets for ``filterset`` applied to ``products``.

    Facets whose own filters are not in use count over the same rows, so their counts come from
    one shared aggregate query: two queries for the categories, and one to three more.
    """
    search = filterset.search_result

    def counted(*own: str) -> QuerySet[Product]:
        matching = filterset.filter_except(products, *own)
        return matching.filter(search.condition) if search else matching

    aggregates = {
        "ratings": (("rating_min",), _rating_counts),
        "prices": (("price_min", "price_max"), _price_counts),
        "stock": (("in_stock",), _stock_counts),
    }
    shared: dict[str, Any] = {}
    separate: dict[str, dict[str, Any]] = {}
    for facet, (own, counts) in aggregates.items():
        if filterset.is_set(*own):
            separate[facet] = counted(*own).order_by().aggregate(**counts())
        else:
            shared.update(counts())
    results = counted().order_by().aggregate(**shared) if shared else {}
    for facet in aggregates:
        separate.setdefault(facet, results)
    return {
        "categories": _category_facet(counted("category"), filterset.category_object),
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


def _price_buckets() -> list[tuple[Decimal, Decimal | None]]:
    edges = [Decimal(0), *(Decimal(edge) for edge in settings.CATALOGUE_PRICE_BUCKETS)]
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
