"""A category page's figures as the trigger-kept summaries count them (``CategoryFacetCount``,
``CategoryTagCount``, ``CategoryNumberCount``), read at once by the SQL function
``products_category_summary``: the facets of the products' columns (``apps.products.facets``)
and the attribute facets (``apps.products.attribute_facets``) of a page that both take from
the summaries cost one query between them."""

from decimal import Decimal
from functools import cached_property
from typing import Any

import orjson
from django.db import connection

from .models import Category

Figures = dict[int, tuple[Decimal, Decimal]]  # attribute id: lowest and highest number


class CategorySummary:
    """``category``'s whole subtree (the whole catalogue with None) as shoppers see it, from
    the summaries: read with one query, when first asked."""

    def __init__(self, category: Category | None) -> None:
        self.category = category

    @cached_property
    def _parts(self) -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT products_category_summary(%s)",
                [self.category.pk if self.category else None],
            )
            # As text: Django has psycopg leave jsonb undecoded (JSONField decodes its own).
            parts: dict[str, Any] = orjson.loads(cursor.fetchone()[0])
        return parts

    @property
    def price_edges(self) -> list[Decimal] | None:
        """Return the price bucket edges the summary was counted with (None: none stored)."""
        edges = self._parts["edges"]
        return None if edges is None else [Decimal(edge) for edge in edges]

    @property
    def facet_rows(self) -> list[tuple[bool, int, int, int]]:
        """Return ``(in_stock, rating_floor, price_bucket, products)`` for each combination
        that some product has."""
        return [tuple(row) for row in self._parts["facets"]]

    @property
    def children(self) -> list[dict[str, Any]]:
        """Return the category facet: each active child (each root, for the whole catalogue)
        by name, with its subtree's count."""
        return [
            {"id": pk, "name": name, "slug": slug, "count": count}
            for pk, name, slug, count in self._parts["children"]
        ]

    @cached_property
    def tag_counts(self) -> dict[int, int]:
        """Return how many products have each tag (an option, a yes or a no)."""
        return dict(self._parts["tags"])

    @cached_property
    def number_ranges(self) -> Figures:
        """Return the lowest and highest value of each number attribute."""
        return {
            attribute_id: (Decimal(low), Decimal(high))
            for attribute_id, low, high in self._parts["numbers"]
        }
