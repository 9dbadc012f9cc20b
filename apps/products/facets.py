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
    """Return the four facets for ``filterset`` applied to ``products`` (five queries)."""
    search = filterset.search_result

    def counted(*own: str) -> QuerySet[Product]:
        matching = filterset.filter_except(products, *own)
        return matching.filter(search.condition) if search else matching

    return {
        "categories": _category_facet(counted("category"), filterset.category_object),
        "ratings": _rating_facet(counted("rating_min")),
        "prices": _price_facet(counted("price_min", "price_max")),
        "stock": _stock_facet(counted("in_stock")),
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


def _rating_facet(products: QuerySet[Product]) -> list[dict[str, Any]]:
    """Count products whose average rating is at least 1, 2 ... 5 stars: one query."""
    counts = products.order_by().aggregate(
        **{
            f"at_least_{stars}": Count("id", filter=Q(rating_average__gte=stars))
            for stars in range(1, 6)
        }
    )
    return [{"min": stars, "count": counts[f"at_least_{stars}"]} for stars in range(5, 0, -1)]


def _price_facet(products: QuerySet[Product]) -> list[dict[str, Any]]:
    """Count products per price bucket (``min`` inclusive, ``max`` exclusive): one query."""
    edges = [Decimal(0), *(Decimal(edge) for edge in settings.CATALOGUE_PRICE_BUCKETS)]
    buckets = [(low, high) for low, high in zip(edges, [*edges[1:], None], strict=True)]
    counts = products.order_by().aggregate(
        **{
            f"bucket_{index}": Count(
                "id", filter=Q(price__gte=low) & (Q(price__lt=high) if high is not None else Q())
            )
            for index, (low, high) in enumerate(buckets)
        }
    )
    return [
        {
            "min": f"{low:.2f}",
            "max": f"{high:.2f}" if high is not None else None,
            "count": counts[f"bucket_{index}"],
        }
        for index, (low, high) in enumerate(buckets)
    ]


def _stock_facet(products: QuerySet[Product]) -> dict[str, int]:
    """Count products in stock and out of stock: one query."""
    return products.order_by().aggregate(
        in_stock=Count("id", filter=Q(stock__gt=0)), out_of_stock=Count("id", filter=Q(stock=0))
    )
