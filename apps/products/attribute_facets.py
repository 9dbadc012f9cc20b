"""The list's attribute facets (``facets["attributes"]``): for each filterable attribute with
something to show, how many of the matching *products* (not variants) have each option (or say
yes, or no), or the range of a number's values.

Disjunctive, like the other facets: each attribute is counted over every filter but its own, so
that choosing red leaves blue's count visible. The tags (options, yes and no) of the attributes
without a filter share one count, each filtered attribute has its own; the same for numbers. An
axis option counts a product that has it on an active variant matching the other filters on
options (the same variant: with ``size:m``, red counts the products with a red M); a product's
own option or yes-or-no counts it once, from its ``ProductTags`` row. A product without an
active variant is listed (it cannot be bought) but counted by no attribute facet: no option's
count, no number's range.

A category page without other filters, as shoppers see it, reads its counts from the
summaries (``CategoryTagCount``, ``CategoryNumberCount``: the category's own rows count its
whole subtree) instead of the products.
"""

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Max, Min, QuerySet

from apps.attributes.models import AttributeKind

from .attribute_filters import (
    FilterableAttribute,
    filterable_attributes,
    matching_rows,
    tag_counts_sql,
    yes_no_tag,
)
from .models import (
    Product,
    ProductAttributeValue,
    ProductTags,
)
from .search import ProductSearch
from .summaries import CategorySummary, Figures

if TYPE_CHECKING:
    from .listing import ProductListQuery

BOOLEAN_OPTIONS = (("true", "Yes", True), ("false", "No", False))


def attribute_facets(
    query: "ProductListQuery",
    products: QuerySet[Product],
    search: ProductSearch | None,
    *,
    summary: CategorySummary,
    summary_covers: Callable[[str | None], bool],
    shoppers_by_tags_only: Callable[[str | None], bool],
) -> list[dict[str, Any]]:
    """Return the attribute facets of what ``query`` and ``search`` select from ``products``.

    Each count (the attributes without a filter together, each filtered attribute alone) comes
    from the summaries when ``summary_covers(excluding)`` says they count the same products
    (a category page as shoppers see it, but for that attribute's own filter: the page
    filtered by colour alone counts its colours from the summary), else from the read model:
    its rows alone when ``shoppers_by_tags_only(excluding)`` says that nothing but the
    category and filters on tags narrows what shoppers see, else joined with the products.
    One query for the attributes; one for the summaries, if any count needs them; one per
    count made live, for tags and for numbers.
    """
    attributes = filterable_attributes()
    if not attributes:
        return []
    filtered = {each.slug for each in (query.attributes.filters if query.attributes else ())}

    def summarized(excluding: str | None) -> tuple[dict[int, int], Figures] | None:
        if not summary_covers(excluding):
            return None
        return summary.tag_counts, summary.number_ranges

    counts: dict[int, int] = {}
    ranges: Figures = {}
    groups: list[tuple[str | None, list[FilterableAttribute]]] = [
        (None, [each for each in attributes if each.slug not in filtered])
    ]
    groups += [(each.slug, [each]) for each in attributes if each.slug in filtered]
    for excluding, group in groups:
        tagged = [each for each in group if each.tags]
        numbers = [each.id for each in group if each.kind == AttributeKind.NUMBER]
        from_summary = summarized(excluding) if tagged or numbers else None
        if from_summary is not None:
            summary_counts, summary_ranges = from_summary
            counts.update({tag: summary_counts.get(tag, 0) for a in tagged for tag in a.tags})
            ranges.update({key: summary_ranges[key] for key in numbers if key in summary_ranges})
            continue
        if tagged:
            counts.update(
                _live_tag_counts(
                    query,
                    products,
                    search,
                    excluding,
                    tagged,
                    shoppers_by_tags_only=shoppers_by_tags_only,
                )
            )
        if numbers:
            ranges.update(_number_ranges(_matching(query, products, search, excluding), numbers))

    selected = query.attributes.selected_tags() if query.attributes else set()
    facets = []
    for attribute in attributes:
        facet = _facet(attribute, counts, ranges.get(attribute.id), selected)
        if facet is not None:
            facets.append(facet)
    return facets


def _facet(
    attribute: FilterableAttribute,
    counts: dict[int, int],
    number_range: tuple[Decimal, Decimal] | None,
    selected: set[int],
) -> dict[str, Any] | None:
    """Return one attribute's facet, or None when it has nothing to show."""
    facet: dict[str, Any] = {
        "slug": attribute.slug,
        "name": attribute.name,
        "kind": attribute.kind,
        "unit": attribute.unit,
    }
    if attribute.kind == AttributeKind.NUMBER:
        if number_range is None:
            return None
        facet["min"], facet["max"] = (_number_text(number) for number in number_range)
        return facet
    choices: list[tuple[str, str, int, str | None]]
    if attribute.kind == AttributeKind.BOOLEAN:
        choices = [
            (slug, label, yes_no_tag(attribute.id, value), None)
            for slug, label, value in BOOLEAN_OPTIONS
        ]
    else:
        choices = [
            (option.slug, option.value, option.id, option.swatch_colour)
            for option in attribute.options
        ]
    options = []
    for slug, value, tag, colour in choices:
        count = counts.get(tag, 0)
        if count or tag in selected:
            entry: dict[str, Any] = {"slug": slug, "value": value, "count": count}
            if attribute.kind == AttributeKind.SWATCH:
                entry["swatch_colour"] = colour
            options.append(entry)
    if not options:
        return None
    facet["options"] = options
    return facet


def _matching(
    query: "ProductListQuery",
    products: QuerySet[Product],
    search: ProductSearch | None,
    excluding: str | None = None,
    *,
    tags: bool = True,
) -> QuerySet[Product]:
    matching = query.filter(products, excluding_attribute=excluding, attribute_tags=tags)
    return matching.filter(search.condition) if search else matching


def _live_tag_counts(
    query: "ProductListQuery",
    products: QuerySet[Product],
    search: ProductSearch | None,
    excluding: str | None,
    attributes: Sequence[FilterableAttribute],
    *,
    shoppers_by_tags_only: Callable[[str | None], bool],
) -> dict[int, int]:
    """Count the matching products per tag of ``attributes``, every filter applied but the
    attribute ``excluding``'s: one query. The rows counted are the read model's that match the
    filters on options and yes-or-no (one variant each), of the products that match every
    other filter; an axis option from the rows, a product's own tag from its product row."""
    alternatives = query.attributes.tag_alternatives(excluding) if query.attributes else []
    rows = matching_rows(alternatives, category_id=query.attribute_category_id())
    if shoppers_by_tags_only(excluding):
        # What shoppers see, narrowed by nothing the rows do not carry: the rows' own
        # ``listed`` stands for the products, with no join.
        rows = rows.filter(listed=True)
    else:
        rows = rows.filter(
            product_id__in=_matching(query, products, search, excluding, tags=False).values("pk")
        )
    on_variants = [tag for each in attributes if each.on_variants for tag in each.tags]
    on_products = [tag for each in attributes if each.on_products for tag in each.tags]
    if not on_variants and not on_products:
        return {}
    sql, params = tag_counts_sql(rows, on_variants=on_variants, on_products=on_products)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def _number_ranges(matching: QuerySet[Product], attribute_ids: Sequence[int]) -> Figures:
    """Return, per number attribute of ``attribute_ids``, the lowest and highest value among
    the ``matching`` products' that have an active variant (as the summaries and the tags'
    counts: a product without one is listed, but counted by no attribute facet): one query."""
    rows = (
        ProductAttributeValue.objects.filter(
            attribute_id__in=attribute_ids,
            product_id__in=matching.values("pk"),
            product__in=ProductTags.objects.values("product_id"),
        )
        .values("attribute_id")
        .annotate(low=Min("value_number"), high=Max("value_number"))
        .order_by()
        .values_list("attribute_id", "low", "high")
    )
    return {attribute_id: (low, high) for attribute_id, low, high in rows}


def _number_text(number: Decimal) -> str:
    """Write a stored number without trailing zeros: ``180.5``, ``100``."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
