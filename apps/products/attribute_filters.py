"""The product list's attribute filters (``?attribute=colour:red,blue&attribute=size:m``): each
parsed, against the catalogue's filterable attributes, into an ``AttributeFilter``, and applied
to the products through the filtering read model (``VariantTags``) and the attribute values.

Options of one attribute are alternatives (OR), different attributes must all hold (AND). The
options of every filter hold **on one active variant**: a variant's row in the read model
carries its own options and its product's, so ``colour:red`` and ``size:m`` match only a
product with an active red M variant, and a product-level option (a brand) holds on each of its
rows. Numbers are ranges over the product's value (``weight:100..250``, either side may be
empty, or one number), booleans ``true`` or ``false``.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet

from apps.attributes.models import (
    KINDS_WITH_OPTIONS,
    Attribute,
    AttributeKind,
)

from .limits import LIST_MAX_ATTRIBUTE_FILTERS, LIST_MAX_ATTRIBUTE_OPTIONS
from .models import ProductAttributeValue, VariantTags

PARAMETER = "attribute"
# The kinds a list can be filtered and faceted by.
FILTERABLE_KINDS = frozenset({*KINDS_WITH_OPTIONS, AttributeKind.NUMBER, AttributeKind.BOOLEAN})
# <attribute slug>:<values>, as the OpenAPI schema gives it (ATTRIBUTE_FILTER_PATTERN).
ATTRIBUTE_FILTER_PATTERN = r"^[-a-zA-Z0-9_]{1,140}:.+$"
ATTRIBUTE_FILTER_MAX_LENGTH = 2000
FILTER_TEXT = re.compile(r"(?P<slug>[-a-zA-Z0-9_]{1,140}):(?P<values>.+)", re.DOTALL)
NUMBER = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")
BOOLEANS = {"true": True, "false": False}
# A yes-or-no value's tag in the read model: as products_yes_no_tag in SQL.
YES_NO_TAG_BASE = 2**60


def yes_no_tag(attribute_id: int, value: bool) -> int:
    """Return the read model's tag of ``attribute_id``'s value ``value``."""
    return YES_NO_TAG_BASE + 2 * attribute_id + int(value)


@dataclass(frozen=True)
class FacetOption:
    id: int
    slug: str
    value: str
    swatch_colour: str | None


@dataclass(frozen=True)
class FilterableAttribute:
    """A filterable attribute as the list's filters and facets use it, with its options in
    order (none for numbers and booleans)."""

    id: int
    slug: str
    name: str
    kind: str
    unit: str
    options: tuple[FacetOption, ...]
    on_variants: bool  # a variant axis of some product type
    on_products: bool  # a product's own attribute in some product type

    @property
    def has_options(self) -> bool:
        return self.kind in KINDS_WITH_OPTIONS

    @property
    def tags(self) -> tuple[int, ...]:
        """Return the read model's tags of its values: its options' ids, or its yes and no
        (none for a number)."""
        if self.kind == AttributeKind.BOOLEAN:
            return (yes_no_tag(self.id, True), yes_no_tag(self.id, False))
        return tuple(option.id for option in self.options)


def filterable_attributes(slugs: Iterable[str] | None = None) -> list[FilterableAttribute]:
    """Return the filterable attributes of a kind the list filters by (those named by
    ``slugs``, else all), by position then name, with their options: one query (the SQL
    function ``products_filterable_attributes``)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT products_filterable_attributes(%s)", [sorted(FILTERABLE_KINDS)])
        # As text: Django has psycopg leave jsonb undecoded (JSONField decodes its own).
        rows = orjson.loads(cursor.fetchone()[0])
    wanted = None if slugs is None else set(slugs)
    return [
        FilterableAttribute(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            kind=row["kind"],
            unit=row["unit"],
            options=tuple(FacetOption(**option) for option in row["options"]),
            on_variants=row["on_variants"],
            on_products=row["on_products"],
        )
        for row in rows
        if wanted is None or row["slug"] in wanted
    ]


@dataclass(frozen=True)
class AttributeFilter:
    """One attribute's filter: ``option_ids`` (any of them) for an attribute with options,
    ``low``/``high`` (inclusive, None: open) for a number, ``boolean`` for a yes or no."""

    attribute: FilterableAttribute
    option_ids: tuple[int, ...] = ()
    low: Decimal | None = None
    high: Decimal | None = None
    boolean: bool | None = None

    @property
    def slug(self) -> str:
        return self.attribute.slug

    @property
    def tags(self) -> tuple[int, ...]:
        """Return the read model's tags of which a row must carry one (none for a number)."""
        if self.boolean is not None:
            return (yes_no_tag(self.attribute.id, self.boolean),)
        return self.option_ids


@dataclass(frozen=True)
class AttributeFilters:
    """Every attribute filter of a list, at most one per attribute, in the order given."""

    filters: tuple[AttributeFilter, ...]

    def slugs(self) -> list[str]:
        return [each.slug for each in self.filters]

    def selected_tags(self) -> set[int]:
        """Return the tags (options, yes or no) the filters ask for."""
        return {tag for each in self.filters for tag in each.tags}

    def narrow(
        self,
        products: QuerySet[Any],
        *,
        category_id: int | None,
        excluding: str | None = None,
        tags: bool = True,
    ) -> QuerySet[Any]:
        """Return ``products`` narrowed by every filter but ``excluding``'s (an attribute
        slug): numbers by the products' values, options and yes-or-no (unless ``tags`` is
        false) by a matching row of the read model, within ``category_id``'s subtree."""
        for each in self.filters:
            if each.slug == excluding or each.tags:
                continue
            values = ProductAttributeValue.objects.filter(attribute_id=each.attribute.id)
            if each.low is not None:
                values = values.filter(value_number__gte=each.low)
            if each.high is not None:
                values = values.filter(value_number__lte=each.high)
            products = products.filter(pk__in=values.values("product_id"))
        if tags and self.has_tag_filters(excluding=excluding):
            rows = matching_rows(self.tag_alternatives(excluding), category_id=category_id)
            products = products.filter(pk__in=rows.values("product_id"))
        return products

    def has_tag_filters(self, *, excluding: str | None = None) -> bool:
        return any(each.tags and each.slug != excluding for each in self.filters)

    def tag_alternatives(self, excluding: str | None = None) -> list[tuple[int, ...]]:
        """Return, per filter on options or yes-or-no but ``excluding``'s, the tags of which a
        matching row carries one."""
        return [each.tags for each in self.filters if each.tags and each.slug != excluding]


def matching_rows(
    alternatives: Sequence[Sequence[int]], *, category_id: int | None
) -> QuerySet[VariantTags]:
    """Return the read model's rows (active variants) that carry one tag of each of
    ``alternatives`` (empty ones ignored), within ``category_id``'s subtree (the whole
    catalogue with None): the options must hold on one variant. The single tags go in one
    ``@>`` with the category, which the GIN index answers in one scan; each choice among
    several is an ``&&``."""
    required = [options[0] for options in alternatives if len(options) == 1]
    if category_id is not None:
        required.append(-category_id)
    rows = VariantTags.objects.all()
    if required:
        rows = rows.filter(tags__contains=sorted(required))
    for options in alternatives:
        if len(options) > 1:
            rows = rows.filter(tags__overlap=list(options))
    return rows


def parse_attribute_filters(texts: Sequence[str]) -> AttributeFilters:
    """Return the ``?attribute=`` values as ``AttributeFilters`` (one query), or raise a
    ValidationError on ``attribute`` naming every problem: a malformed filter, an attribute
    given twice, unknown or not filterable, an unknown option, a number or yes-or-no that is
    not one."""
    parsed = _split(texts)
    if not parsed:
        return AttributeFilters(())
    found = {each.slug: each for each in filterable_attributes(slug for slug, _ in parsed)}
    filters: list[AttributeFilter] = []
    problems: list[str] = []
    for slug, values in parsed:
        attribute = found.get(slug)
        if attribute is None:
            problems.append(_unknown(slug))
            continue
        try:
            filters.append(_attribute_filter(attribute, values))
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise _invalid(*problems)
    return AttributeFilters(tuple(filters))


def _split(texts: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Return each filter as its attribute's slug and its values, or raise a ValidationError
    naming every filter written wrong."""
    if len(texts) > LIST_MAX_ATTRIBUTE_FILTERS:
        raise _invalid(f"Give at most {LIST_MAX_ATTRIBUTE_FILTERS} attribute filters.")
    parsed: list[tuple[str, list[str]]] = []
    problems: list[str] = []
    for text in texts:
        match = FILTER_TEXT.fullmatch(text)
        if len(text) > ATTRIBUTE_FILTER_MAX_LENGTH:
            problems.append(
                f"An attribute filter has at most {ATTRIBUTE_FILTER_MAX_LENGTH} characters."
            )
        elif match is None:
            problems.append(
                f"Give an attribute filter as <attribute>:<value>[,<value>...]; got {text!r}."
            )
        elif any(match["slug"] == seen for seen, _ in parsed):
            problems.append(
                f"Attribute {match['slug']!r} is filtered twice: give its values in one "
                "filter, separated by commas."
            )
        elif len(values := match["values"].split(",")) > LIST_MAX_ATTRIBUTE_OPTIONS:
            problems.append(
                f"Give at most {LIST_MAX_ATTRIBUTE_OPTIONS} values of {match['slug']!r}."
            )
        else:
            parsed.append((match["slug"], values))
    if problems:
        raise _invalid(*problems)
    return parsed


def _attribute_filter(attribute: FilterableAttribute, values: list[str]) -> AttributeFilter:
    slug = attribute.slug
    if attribute.has_options:
        by_slug = {option.slug: option.id for option in attribute.options}
        unknown = [value for value in values if value not in by_slug]
        if unknown:
            raise ValueError(
                f"Attribute {slug!r} has no option {', '.join(repr(value) for value in unknown)}."
            )
        return AttributeFilter(attribute, option_ids=tuple(sorted({by_slug[v] for v in values})))
    if attribute.kind == AttributeKind.BOOLEAN:
        if len(values) != 1 or values[0] not in BOOLEANS:
            raise ValueError(f"Filter {slug!r} by true or false; got {','.join(values)!r}.")
        return AttributeFilter(attribute, boolean=BOOLEANS[values[0]])
    text = ",".join(values)
    low_text, separator, high_text = text.partition("..")
    if not separator:
        high_text = low_text
    low, high = _number(low_text), _number(high_text)
    if isinstance(low, bool) or isinstance(high, bool) or (low is None and high is None):
        raise ValueError(
            f"Filter {slug!r} by a number or a range <min>..<max> (either side may be empty), "
            f"with at most 12 digits before the point and 6 after; got {text!r}."
        )
    if low is not None and high is not None and low > high:
        raise ValueError(f"The range of {slug!r} ends before it starts: {text!r}.")
    return AttributeFilter(attribute, low=low, high=high)


def _number(text: str) -> Decimal | bool | None:
    """Return the number ``text`` writes, None for an empty side, False for anything else."""
    if text == "":
        return None
    if not NUMBER.fullmatch(text):
        return False
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return False


def _unknown(slug: str) -> str:
    attribute = Attribute.objects.filter(slug=slug).values_list("kind", "is_filterable").first()
    if attribute is None:
        return f"No attribute {slug!r}."
    kind, is_filterable = attribute
    if not is_filterable:
        return f"Attribute {slug!r} is not filterable."
    return f"Attribute {slug!r} cannot be filtered: it is a {AttributeKind(kind).label.lower()}."


def _invalid(*messages: str) -> ValidationError:
    return ValidationError({PARAMETER: list(messages)})


def tag_counts_sql(
    rows: QuerySet[VariantTags], *, on_variants: Sequence[int], on_products: Sequence[int]
) -> tuple[str, list[Any]]:
    """Return SQL (and parameters) counting the distinct products of ``rows`` per tag: each of
    ``on_variants`` as an option of a matching row's variant, each of ``on_products`` as the
    product's own (its ``ProductTags`` row, read once however many of its variants match).
    Rows of ``(tag, products)``."""
    rows_sql, params = rows.values("product_id", "option_ids").order_by().query.sql_with_params()
    branches: list[str] = []
    arguments: list[Any] = []
    if on_variants:
        branches.append(
            f"SELECT matched.product_id, tag FROM ({rows_sql}) AS matched,"  # noqa: S608
            " unnest(matched.option_ids) AS tag WHERE tag = ANY(%s)"
        )
        arguments += [*params, list(on_variants)]
    if on_products:
        branches.append(
            "SELECT product.product_id, tag FROM products_product_tags AS product,"  # noqa: S608
            " unnest(product.tags) AS tag"
            f" WHERE product.product_id IN (SELECT matched.product_id FROM ({rows_sql}) AS matched)"
            " AND tag = ANY(%s)"
        )
        arguments += [*params, list(on_products)]
    # DISTINCT pairs first: a hashed set, where count(DISTINCT) would sort every pair.
    sql = (
        "SELECT tag, count(*) FROM ("  # noqa: S608 - the ORM's SQL and parameters
        f"SELECT DISTINCT product_id, tag FROM ({' UNION ALL '.join(branches)}) AS found"
        ") AS product_tag GROUP BY tag"
    )
    return sql, arguments
