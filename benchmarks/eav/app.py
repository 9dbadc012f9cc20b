"""The EAV comparator: the attribute-filtered product list and its attribute facets as Saleor
computes them, from normalised value tables, as a bare WSGI app (no Django).

    python -m benchmarks.eav.tables     # the side tables, from our tables (the runner does it)
    DATABASE_URL=postgres://... gunicorn -c <config> benchmarks.eav.app:application

Saleor keeps attribute values in normalised tables: a row per (product, attribute value) and a
row per (variant, attribute value). Here they are ``eav_product_value`` and
``eav_variant_value`` (``benchmarks/eav/tables.py``). It answers

    /api/v1/products/?category=<slug>&attribute=brand:acme,zeta&attribute=colour:red
        &attribute=size:m[&page=N][&page_size=N][&facets=true]

with the rows, fields and order ours serves, and with ``facets=true`` the facets' ``attributes``
as ours (only that part of the facets: ``{"facets": {"attributes": [...]}}``). The filter is
``attribute=<slug>:<option>[,<option>...]`` (options of one attribute OR, attributes AND), a
number ``<slug>:<min>..<max>`` (either side may be empty), a yes/no ``<slug>:true|false``.

- **The list**: one ``EXISTS`` per product attribute filter on ``eav_product_value``; the axis
  filters (size, colour: attributes that are variant axes) are one ``EXISTS`` over the product's
  active variants with a join of ``eav_variant_value`` per axis attribute on the same variant
  row. Saleor matches each variant attribute on any variant; ours needs red and M on one
  active variant, and so does this. An attribute that is an axis of some type and a product
  value of another (material: furniture's axis, apparel's value) matches either way, on that
  variant row. The count is exact (a ``count(*)``); the page and its count are one statement.
- **The facets**: per filterable attribute, a ``GROUP BY`` of its values over the products
  matching every filter but its own (counted disjunctively), counting products (``count
  (DISTINCT product)``): from ``eav_product_value`` for product values, from the active
  variants' ``eav_variant_value`` rows (with the other axis filters on the same variant) for
  axes. Numbers are their ``min`` and ``max`` there. All attributes in one statement
  (``UNION ALL``), so a facet page is two statements.

Anything else is a 400 or a 404. Every response says in ``X-SQL-Queries`` how many statements
it ran.
"""

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

import orjson
import psycopg

from benchmarks.floor.app import (
    LIST_PATH,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    STATUS_LINES,
    SUBTREES_SQL,
    WHOLE_NUMBER,
    StartResponse,
    page_link,
    product_fields,
)

OPTION_KINDS = ("choice", "multiple_choice", "swatch")
BOOLEAN_OPTIONS = (("true", "Yes", True), ("false", "No", False))

# Every attribute with its options in order, and where its values are: on variants (an axis
# of some type with variants), on products (a non-axis attribute of some type), or both.
ATTRIBUTES_SQL = """
SELECT a.id, a.slug, a.name, a.kind, a.unit, a.is_filterable,
       EXISTS (SELECT FROM attributes_producttypeattribute ta
               JOIN attributes_producttype t ON t.id = ta.product_type_id AND t.has_variants
               WHERE ta.attribute_id = a.id AND ta.is_axis),
       EXISTS (SELECT FROM attributes_producttypeattribute ta
               WHERE ta.attribute_id = a.id AND NOT ta.is_axis),
       coalesce((SELECT json_agg(json_build_array(o.id, o.slug, o.value,
                                                   nullif(o.swatch_colour, ''))
                                 ORDER BY o.position, o.id)
                 FROM attributes_attributeoption o WHERE o.attribute_id = a.id), '[]')
FROM attributes_attribute a
ORDER BY a.position, a.name, a.id
"""

LIST_COLUMNS = """p.id, p.name, p.slug, p.sku, p.description, p.price, p.stock, p.is_active,
       c.id, c.name, c.slug, p.review_count, p.rating_sum, p.created_at, p.updated_at, NULL,
       p.price_max"""
MATCHING_FROM = """products_product p JOIN products_category c ON c.id = p.category_id
WHERE p.is_active AND c.is_active AND p.category_id = ANY(%s::bigint[])"""


@dataclass(frozen=True)
class Attribute:
    id: int
    slug: str
    name: str
    kind: str
    unit: str
    is_filterable: bool
    on_variants: bool
    on_products: bool
    # (id, slug, value, swatch colour or None) in position order
    options: tuple[tuple[int, str, str, str | None], ...]


@dataclass(frozen=True)
class AttributeFilter:
    """One ``attribute=`` parameter: options (any of them), a number range, or yes/no."""

    attribute: Attribute
    option_ids: tuple[int, ...] = ()
    low: Decimal | None = None
    high: Decimal | None = None
    boolean: bool | None = None

    @property
    def on_variants(self) -> bool:
        return bool(self.option_ids) and self.attribute.on_variants


@dataclass
class Sql:
    """SQL text and its parameters, built up together."""

    text: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, text: str, *params: Any) -> "Sql":
        self.text.append(text)
        self.params.extend(params)
        return self

    def extend(self, other: "Sql") -> "Sql":
        self.text.extend(other.text)
        self.params.extend(other.params)
        return self

    def joined(self, separator: str = "\n") -> str:
        return separator.join(self.text)


class BadRequest(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.body = {field_name: [message]}


_connection: psycopg.Connection[Any] | None = None
_catalogue: tuple[dict[str, tuple[int, list[int]]], dict[str, Attribute]] | None = None


def connection() -> psycopg.Connection[Any]:
    """Return this worker's connection, opening it on first use (after gunicorn's fork)."""
    global _connection  # noqa: PLW0603  # one connection per process, like a sync worker's
    if _connection is None or _connection.closed:
        # client_connection_check_interval: a query whose worker the runner stopped is
        # cancelled within a second, instead of running on (EAV facets take minutes at M) and
        # taking the CPUs from the next server's timed run.
        _connection = psycopg.connect(
            os.environ["DATABASE_URL"],
            autocommit=True,
            options="-c TimeZone=UTC -c client_connection_check_interval=1000",
        )
    return _connection


def catalogue() -> tuple[dict[str, tuple[int, list[int]]], dict[str, Attribute]]:
    """Return the categories' subtrees by slug and the attributes by slug, read once per
    worker (neither changes during a run)."""
    global _catalogue  # noqa: PLW0603  # read once per process
    if _catalogue is None:
        subtrees = {
            slug: (category, ids)
            for slug, category, ids in connection().execute(SUBTREES_SQL).fetchall()
        }
        attributes = {
            row[1]: Attribute(*row[:8], options=tuple(tuple(o) for o in row[8]))  # type: ignore[misc]
            for row in connection().execute(ATTRIBUTES_SQL).fetchall()
        }
        _catalogue = (subtrees, attributes)
    return _catalogue


def parse_filter(raw: str, attributes: dict[str, Attribute]) -> AttributeFilter:
    """Return the filter ``<slug>:<value>`` asks for, or raise BadRequest."""
    slug, separator, value = raw.partition(":")
    attribute = attributes.get(slug)
    if not separator or attribute is None or not attribute.is_filterable:
        raise BadRequest("attribute", f"No filterable attribute {slug!r}.")
    if attribute.kind in OPTION_KINDS:
        by_slug = {option[1]: option[0] for option in attribute.options}
        wanted = value.split(",")
        if not value or any(option not in by_slug for option in wanted):
            raise BadRequest("attribute", f"{slug}: give options of the attribute.")
        return AttributeFilter(attribute, option_ids=tuple(by_slug[o] for o in wanted))
    if attribute.kind == "number":
        low, dots, high = value.partition("..")
        try:
            bounds = [Decimal(side) if side else None for side in (low, high)]
        except InvalidOperation:
            bounds = []
        if not dots or len(bounds) != 2 or bounds == [None, None]:
            raise BadRequest("attribute", f"{slug}: give <min>..<max>.")
        return AttributeFilter(attribute, low=bounds[0], high=bounds[1])
    if attribute.kind == "boolean" and value in ("true", "false"):
        return AttributeFilter(attribute, boolean=value == "true")
    raise BadRequest("attribute", f"{slug}: this attribute cannot filter the list.")


def product_condition(one: AttributeFilter) -> Sql:
    """Return the product-level condition of a filter, on ``p``: one EXISTS."""
    if one.option_ids:
        return Sql().add(
            "EXISTS (SELECT FROM eav_product_value pv WHERE pv.product_id = p.id"
            " AND pv.option_id = ANY(%s::bigint[]))",
            list(one.option_ids),
        )
    sql = Sql().add(
        "EXISTS (SELECT FROM eav_product_value pv WHERE pv.product_id = p.id"
        " AND pv.attribute_id = %s AND pv.option_id IS NULL",
        one.attribute.id,
    )
    if one.low is not None:
        sql.add("AND pv.value_number >= %s", one.low)
    if one.high is not None:
        sql.add("AND pv.value_number <= %s", one.high)
    if one.boolean is not None:
        sql.add("AND pv.value_boolean = %s", one.boolean)
    return sql.add(")")


def variant_joins(filters: list[AttributeFilter]) -> tuple[Sql, Sql]:
    """Return the joins on the variant ``v`` (one per axis-only filter) and the conditions on
    it (an attribute also a product value elsewhere: that variant's option or the product's)."""
    joins, conditions = Sql(), Sql()
    for index, one in enumerate(filters):
        if not one.attribute.on_products:
            joins.add(
                f"JOIN eav_variant_value f{index} ON f{index}.variant_id = v.id"
                f" AND f{index}.option_id = ANY(%s::bigint[])",
                list(one.option_ids),
            )
        else:
            conditions.add(
                "AND (EXISTS (SELECT FROM eav_variant_value fv WHERE fv.variant_id = v.id"
                " AND fv.option_id = ANY(%s::bigint[])) OR EXISTS (SELECT FROM"
                " eav_product_value pv WHERE pv.product_id = v.product_id"
                " AND pv.option_id = ANY(%s::bigint[])))",
                list(one.option_ids),
                list(one.option_ids),
            )
    return joins, conditions


def matching(ids: list[int], filters: list[AttributeFilter], *, variants: bool = True) -> Sql:
    """Return ``FROM ... WHERE`` of the products in the subtree ``ids`` that every filter
    matches (the filters on variants left out with ``variants=False``)."""
    sql = Sql().add(MATCHING_FROM, ids)
    for one in filters:
        if not one.on_variants:
            sql.add("AND").extend(product_condition(one))
    on_variants = [one for one in filters if one.on_variants]
    if variants and on_variants:
        joins, conditions = variant_joins(on_variants)
        sql.add("AND EXISTS (SELECT FROM products_variant v").extend(joins)
        sql.add("WHERE v.product_id = p.id AND v.is_active").extend(conditions).add(")")
    return sql


def list_statement(ids: list[int], filters: list[AttributeFilter], rows: int, offset: int) -> Sql:
    """Return the page's statement: its count, then its rows (none past the end: one row of
    the count and nulls)."""
    counted, paged = matching(ids, filters), matching(ids, filters)
    sql = Sql().add("SELECT page.*, total.n FROM (SELECT count(*) AS n FROM").extend(counted)
    sql.add(f") total LEFT JOIN LATERAL (SELECT {LIST_COLUMNS} FROM").extend(paged)
    return sql.add(
        "ORDER BY p.created_at DESC, p.id DESC LIMIT %s OFFSET %s) page ON true", rows, offset
    )


def facet_part(ids: list[int], filters: list[AttributeFilter], attribute: Attribute) -> Sql:
    """Return one attribute's facet rows (attribute id, option id or yes/no, products, low,
    high) over the products that every filter but the attribute's own matches."""
    others = [one for one in filters if one.attribute.id != attribute.id]
    if attribute.kind == "number":
        sql = Sql().add(
            "SELECT %s::bigint, NULL::text, NULL::bigint, trim_scale(min(pv.value_number))::text,"
            " trim_scale(max(pv.value_number))::text FROM eav_product_value pv"
            " WHERE pv.attribute_id = %s AND pv.option_id IS NULL AND pv.product_id IN"
            " (SELECT p.id FROM",
            attribute.id,
            attribute.id,
        )
        return sql.extend(matching(ids, others)).add(")")
    if attribute.kind == "boolean":
        sql = Sql().add(
            "SELECT %s::bigint, pv.value_boolean::text, count(DISTINCT pv.product_id), NULL, NULL"
            " FROM eav_product_value pv WHERE pv.attribute_id = %s AND pv.option_id IS NULL"
            " AND pv.product_id IN (SELECT p.id FROM",
            attribute.id,
            attribute.id,
        )
        return sql.extend(matching(ids, others)).add(") GROUP BY pv.value_boolean")
    parts = []
    if attribute.on_products:
        part = Sql().add(
            "SELECT pv.option_id, pv.product_id FROM eav_product_value pv"
            " WHERE pv.attribute_id = %s AND pv.option_id IS NOT NULL AND pv.product_id IN"
            " (SELECT p.id FROM",
            attribute.id,
        )
        parts.append(part.extend(matching(ids, others)).add(")"))
    if attribute.on_variants:
        # The attribute's options on the active variants that the other axis filters match
        # (the same variant row), of the products the other product filters match.
        joins, conditions = variant_joins([one for one in others if one.on_variants])
        part = Sql().add(
            "SELECT own.option_id, v.product_id FROM products_variant v"
            " JOIN eav_variant_value own ON own.variant_id = v.id AND own.attribute_id = %s",
            attribute.id,
        )
        part.extend(joins).add("WHERE v.is_active").extend(conditions)
        part.add("AND v.product_id IN (SELECT p.id FROM")
        parts.append(part.extend(matching(ids, others, variants=False)).add(")"))
    if not parts:
        return Sql()
    sql = Sql().add(
        "SELECT %s::bigint, option_id::text, count(DISTINCT product_id), NULL, NULL FROM (",
        attribute.id,
    )
    for index, part in enumerate(parts):
        sql.add("UNION ALL" if index else "").extend(part)
    return sql.add(") counted GROUP BY option_id")


def facets_statement(
    ids: list[int], filters: list[AttributeFilter], attributes: dict[str, Attribute]
) -> Sql:
    """Return one statement of every filterable attribute's facet rows."""
    sql = Sql()
    for attribute in attributes.values():
        if not attribute.is_filterable:
            continue
        part = facet_part(ids, filters, attribute)
        if part.text:
            sql.add("UNION ALL" if sql.text else "").add("(").extend(part).add(")")
    return sql


def attribute_facets(
    rows: list[tuple[Any, ...]], filters: list[AttributeFilter], attributes: dict[str, Attribute]
) -> list[dict[str, Any]]:
    """Return the facets' ``attributes``: in attribute order, those with a count; options in
    their order, listed with a count or when selected."""
    counts: dict[tuple[int, str], int] = {}
    ranges: dict[int, tuple[str, str]] = {}
    for attribute_id, key, products, low, high in rows:
        if key is None:
            if low is not None:
                ranges[attribute_id] = (low, high)
        else:
            counts[(attribute_id, key)] = products
    selected = {
        (one.attribute.id, str(option_id)) for one in filters for option_id in one.option_ids
    } | {(one.attribute.id, str(one.boolean).lower()) for one in filters if one.boolean is not None}
    found = []
    for attribute in attributes.values():
        if not attribute.is_filterable:
            continue
        head: dict[str, Any] = {
            "slug": attribute.slug,
            "name": attribute.name,
            "kind": attribute.kind,
            "unit": attribute.unit,
        }
        if attribute.kind == "number":
            if attribute.id in ranges:
                low, high = ranges[attribute.id]
                found.append({**head, "min": low, "max": high})
            continue
        swatch = attribute.kind == "swatch"
        choices: list[tuple[str, str, str, str | None]]
        if attribute.kind == "boolean":
            choices = [(key, value, key, None) for key, value, _flag in BOOLEAN_OPTIONS]
        elif attribute.kind in OPTION_KINDS:
            choices = [
                (slug, value, str(option_id), colour)
                for option_id, slug, value, colour in attribute.options
            ]
        else:
            continue
        options = [
            {
                "slug": slug,
                "value": value,
                "count": counts.get((attribute.id, key), 0),
                **({"swatch_colour": colour} if swatch else {}),
            }
            for slug, value, key, colour in choices
            if counts.get((attribute.id, key)) or (attribute.id, key) in selected
        ]
        if options:
            found.append({**head, "options": options})
    return found


def product_list(environ: dict[str, Any]) -> tuple[int, Any, int]:
    """Return the status, body and statements run of a list request."""
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    allowed = {"category", "attribute", "page", "page_size", "facets"}
    if set(query) - allowed or "category" not in query:
        return 400, {"detail": "The EAV comparator serves ?category=[&attribute=...] only."}, 0
    raw_page = query.get("page", ["1"])[-1]
    raw_size = query.get("page_size", [str(PAGE_SIZE)])[-1]
    if not WHOLE_NUMBER.fullmatch(raw_page) or not WHOLE_NUMBER.fullmatch(raw_size):
        return 400, {"detail": "page and page_size are whole numbers."}, 0
    page, size = int(raw_page), min(int(raw_size), MAX_PAGE_SIZE)
    facets = query.get("facets", ["false"])[-1]
    if page < 1 or size < 1 or facets not in ("true", "false"):
        return 400, {"detail": "page and page_size start at 1; facets is true or false."}, 0
    subtrees, attributes = catalogue()
    subtree = subtrees.get(query["category"][-1])
    if subtree is None:
        return 404, {"detail": "No such category."}, 0
    try:
        filters = [parse_filter(raw, attributes) for raw in query.get("attribute", [])]
    except BadRequest as error:
        return 400, error.body, 0
    if len({one.attribute.id for one in filters}) != len(filters):
        return 400, {"attribute": ["Give each attribute once."]}, 0
    _category, ids = subtree
    statement = list_statement(ids, filters, size + 1, (page - 1) * size)
    rows = connection().execute(statement.joined(), statement.params).fetchall()
    listed = [row for row in rows if row[0] is not None]
    if not listed and page > 1:
        return 404, {"detail": "Invalid page."}, 1
    results = [
        {
            **product_fields(row, {"id": row[8], "name": row[9], "slug": row[10]}, row[16]),
            "matched_variant": None,  # no search here: no variant matched by its SKU
        }
        for row in listed[:size]
    ]
    body: dict[str, Any] = {
        "count": rows[0][17],
        "count_is_estimate": False,
        "next": page_link(environ, query, page + 1) if len(listed) > size else None,
        "previous": page_link(environ, query, page - 1) if page > 1 else None,
        "results": results,
    }
    if facets == "false":
        return 200, body, 1
    statement = facets_statement(ids, filters, attributes)
    facet_rows = connection().execute(statement.joined(), statement.params).fetchall()
    body["facets"] = {"attributes": attribute_facets(facet_rows, filters, attributes)}
    return 200, body, 2


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and environ.get("PATH_INFO") == LIST_PATH:
        status, body, queries = product_list(environ)
    else:
        status, body, queries = 404, {"detail": "Not found."}, 0
    payload = orjson.dumps(body)
    start_response(
        STATUS_LINES[status],
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("X-SQL-Queries", str(queries)),
        ],
    )
    return [payload]
