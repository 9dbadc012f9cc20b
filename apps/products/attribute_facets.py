"""The list's attribute facets (``facets["attributes"]``): for each filterable attribute with
something to show, how many of the matching *products* (not variants) have each option, or the
range of a number's values.

Disjunctive, like the other facets: each attribute is counted over every filter but its own, so
that choosing red leaves blue's count visible. The options of the attributes without a filter
share one count, each filtered attribute has its own; the same for numbers and booleans. An
axis option counts a product that has it on an active variant matching the other option
filters (the same variant: with ``size:m``, red counts the products with a red M); a product's
own option counts it on each of its rows.

A category page without other filters, as shoppers see it, reads the options' counts from the
summary (``CategoryOptionCount``, one row per category and option, summed over the subtree's
active categories) instead of the products.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet, Sum

from apps.attributes.models import AttributeKind

from .attribute_filters import (
    FilterableAttribute,
    filterable_attributes,
    matching_rows,
    option_counts_sql,
)
from .models import CategoryOptionCount, Product, ProductAttributeValue
from .search import ProductSearch

if TYPE_CHECKING:
    from .listing import ProductListQuery

BOOLEAN_OPTIONS = (("true", "Yes", True), ("false", "No", False))


def attribute_facets(
    query: "ProductListQuery",
    products: QuerySet[Product],
    search: ProductSearch | None,
    *,
    from_summary: bool,
) -> list[dict[str, Any]]:
    """Return the attribute facets of what ``query`` and ``search`` select from ``products``,
    the options' counts from the summary when ``from_summary`` (a category page as shoppers
    see it): one query for the attributes, one or more for the counts."""
    attributes = filterable_attributes()
    if not attributes:
        return []
    filtered = {each.slug: each for each in (query.attributes.filters if query.attributes else ())}
    with_options = [each for each in attributes if each.has_options and each.options]
    with_values = [each for each in attributes if not each.has_options]

    option_counts: dict[int, int] = {}
    if from_summary:
        option_counts = _summary_option_counts(query)
    else:
        shared = [o.id for a in with_options if a.slug not in filtered for o in a.options]
        if shared:
            option_counts.update(_live_option_counts(query, products, search, None, shared))
        for attribute in with_options:
            if attribute.slug in filtered:
                own = [option.id for option in attribute.options]
                option_counts.update(
                    _live_option_counts(query, products, search, attribute.slug, own)
                )

    figures: dict[int, dict[str, Any]] = {}
    shared_values = [each.id for each in with_values if each.slug not in filtered]
    if shared_values:
        figures.update(_value_figures(_matching(query, products, search, None), shared_values))
    for attribute in with_values:
        if attribute.slug in filtered:
            matching = _matching(query, products, search, attribute.slug)
            figures.update(_value_figures(matching, [attribute.id]))

    selected = query.attributes.selected_option_ids() if query.attributes else set()
    facets = []
    for attribute in attributes:
        facet = _facet(attribute, option_counts, figures.get(attribute.id), selected, filtered)
        if facet is not None:
            facets.append(facet)
    return facets


def _facet(
    attribute: FilterableAttribute,
    option_counts: dict[int, int],
    figures: dict[str, Any] | None,
    selected: set[int],
    filtered: dict[str, Any],
) -> dict[str, Any] | None:
    """Return one attribute's facet, or None when it has nothing to show."""
    facet: dict[str, Any] = {
        "slug": attribute.slug,
        "name": attribute.name,
        "kind": attribute.kind,
        "unit": attribute.unit,
    }
    if attribute.has_options:
        options = []
        for option in attribute.options:
            count = option_counts.get(option.id, 0)
            if count or option.id in selected:
                entry: dict[str, Any] = {"slug": option.slug, "value": option.value, "count": count}
                if attribute.kind == AttributeKind.SWATCH:
                    entry["swatch_colour"] = option.swatch_colour
                options.append(entry)
        if not options:
            return None
        facet["options"] = options
        return facet
    if attribute.kind == AttributeKind.BOOLEAN:
        chosen = filtered.get(attribute.slug)
        options = [
            {"slug": slug, "value": label, "count": figures[slug] if figures else 0}
            for slug, label, value in BOOLEAN_OPTIONS
            if (figures and figures[slug]) or (chosen is not None and chosen.boolean is value)
        ]
        if not options:
            return None
        facet["options"] = options
        return facet
    if figures is None or figures["min"] is None:
        return None
    facet["min"] = _number_text(figures["min"])
    facet["max"] = _number_text(figures["max"])
    return facet


def _matching(
    query: "ProductListQuery",
    products: QuerySet[Product],
    search: ProductSearch | None,
    excluding: str | None,
    *,
    options: bool = True,
) -> QuerySet[Product]:
    matching = query.filter(products, excluding_attribute=excluding, attribute_options=options)
    return matching.filter(search.condition) if search else matching


def _live_option_counts(
    query: "ProductListQuery",
    products: QuerySet[Product],
    search: ProductSearch | None,
    excluding: str | None,
    option_ids: Sequence[int],
) -> dict[int, int]:
    """Count the matching products per option of ``option_ids``, every filter applied but the
    attribute ``excluding``'s: one query. The rows counted are the read model's that match the
    option filters (one variant each), of the products that match every other filter."""
    alternatives = [
        each.option_ids
        for each in (query.attributes.filters if query.attributes else ())
        if each.slug != excluding
    ]
    rows = matching_rows(alternatives, category_id=query.attribute_category_id()).filter(
        product_id__in=_matching(query, products, search, excluding, options=False).values("pk")
    )
    sql, params = option_counts_sql(rows, option_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def _summary_option_counts(query: "ProductListQuery") -> dict[int, int]:
    """Count the products shoppers see per option in the query's category subtree (the whole
    catalogue without one), from the summary: one query."""
    rows = CategoryOptionCount.objects.filter(category__is_active=True)
    if query.category is not None:
        rows = rows.filter(category_id__in=query.category.subtree_ids)  # type: ignore[attr-defined]
    return dict(
        rows.values("option_id")
        .annotate(total=Sum("products"))
        .order_by()
        .values_list("option_id", "total")
    )


def _value_figures(
    matching: QuerySet[Product], attribute_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Return, per attribute of ``attribute_ids``, the lowest and highest number and how many
    products say yes and no, among the ``matching`` products' values: one query."""
    rows = (
        ProductAttributeValue.objects.filter(
            attribute_id__in=attribute_ids, product_id__in=matching.values("pk")
        )
        .values("attribute_id")
        .annotate(
            low=Min("value_number"),
            high=Max("value_number"),
            yes=Count("pk", filter=Q(value_boolean=True)),
            no=Count("pk", filter=Q(value_boolean=False)),
        )
        .order_by()
    )
    return {
        row["attribute_id"]: {
            "min": row["low"],
            "max": row["high"],
            "true": row["yes"],
            "false": row["no"],
        }
        for row in rows
    }


def _number_text(number: Decimal) -> str:
    """Write a stored number without trailing zeros: ``180.5``, ``100``."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
