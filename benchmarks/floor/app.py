"""The benchmark's floor: product list and detail as a bare WSGI app, no Django.

    DATABASE_URL=postgres://... gunicorn -c <config> benchmarks.floor.app:application

Each request runs ONE SQL statement, the least PostgreSQL work that answers it (psycopg 3, one
connection per worker, autocommit; prepared wherever one plan suits every request), and
serialises the rows with orjson into exactly the JSON our API serves for the same request:
the list's envelope (``count``, ``count_is_estimate``, ``next``, ``previous``, ``results``) and
the detail's breadcrumbs, images, variants, attributes, options and rating summary.
``benchmarks/run.py`` checks that before it times anything. The list's count is the same as
ours: the category's figure in the facet summary (``products_categoryfacetcount``, kept by the
``products_product_facet_counts`` triggers), in the page's statement.

Only what the benchmark sends is understood: ``/api/v1/products/?category=<slug>[&page=N]
[&page_size=N]`` and ``/api/v1/products/<id>/``. Anything else is a 400 or a 404, and so is an
empty page (the runner never asks for one). There is no cache and no ETag: it is the uncached
floor. Every response says in ``X-SQL-Queries`` how many statements it ran.
"""

import os
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import orjson
import psycopg

PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
MEDIA_URL = "/media/"
TWO_PLACES = Decimal("0.01")
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
DETAIL_PATH = re.compile(r"/api/v1/products/([0-9]{1,18})/")
LIST_PATH = "/api/v1/products/"
# The detail lists the first active variants, as ours (apps.products.models.DETAIL_MAX_VARIANTS).
DETAIL_MAX_VARIANTS = 100

# The list runs the least PostgreSQL work that answers it, in one statement. The floor reads
# every active category's subtree ids once per worker (the catalogue's categories do not change
# during a run), so a page needs no category lookup. A leaf's page is a prepared statement on
# its (category, newest) index. A larger subtree's page takes its ids as a parameter and is
# not prepared: PostgreSQL plans it for the ids it gets (ours runs the same plan), where one
# generic plan would walk the newest-first index of every product for a small subtree, or
# sort a department's every product. The count is the facet summary's, as ours.
SUBTREES_SQL = """
SELECT c.slug, c.id, ARRAY(SELECT s.id FROM products_category s
                           WHERE s.path ~>=~ c.path AND s.path ~<~ (c.path || '~'))
FROM products_category c
WHERE c.is_active
"""

_LIST_SQL = """
SELECT p.id, p.name, p.slug, p.sku, p.description, p.price, p.stock, p.is_active,
       c.id, c.name, c.slug, p.review_count, p.rating_sum, p.created_at, p.updated_at,
       (SELECT ARRAY[coalesce(sum(f.products), 0), NULL]::bigint[]
        FROM products_categoryfacetcount f WHERE f.category_id = %(category)s::bigint),
       p.price_max
FROM products_product p JOIN products_category c ON c.id = p.category_id
WHERE p.is_active AND c.is_active AND {categories}
ORDER BY p.created_at DESC, p.id DESC
LIMIT %(rows)s OFFSET %(offset)s
"""
LEAF_LIST_SQL = _LIST_SQL.format(categories="p.category_id = %(category)s::bigint")
SUBTREE_LIST_SQL = _LIST_SQL.format(categories="p.category_id = ANY(%(ids)s::bigint[])")

DETAIL_SQL = """
SELECT p.id, p.name, p.slug, p.sku, p.description, p.price, p.stock, p.is_active,
       c.id, c.name, c.slug, p.review_count, p.rating_sum, p.created_at, p.updated_at,
       p.rating_1_count, p.rating_2_count, p.rating_3_count, p.rating_4_count, p.rating_5_count,
       (SELECT json_agg(json_build_array(a.id, a.name, a.slug) ORDER BY length(a.path))
        FROM products_category a
        WHERE a.id = ANY(string_to_array(trim(BOTH '/' FROM c.path), '/')::bigint[])),
       (SELECT json_agg(json_build_array(i.id, i.image, i.alt_text, i.position, i.width,
                                         i.height, i.created_at) ORDER BY i.position, i.id)
        FROM products_productimage i WHERE i.product_id = p.id),
       p.price_max,
       (SELECT json_agg(json_build_array(v.id, v.sku, v.price::text, v.stock, v.position,
                (SELECT coalesce(jsonb_object_agg(a.slug, o.slug), '{}')
                 FROM attributes_attributeoption o JOIN attributes_attribute a
                     ON a.id = o.attribute_id
                 WHERE o.id = ANY(v.option_ids))) ORDER BY v.position, v.id)
        FROM (SELECT * FROM products_variant v WHERE v.product_id = p.id AND v.is_active
              ORDER BY v.position, v.id LIMIT %(variants)s) v),
       (SELECT json_agg(json_build_array(
                   json_build_object('slug', a.slug, 'name', a.name, 'kind', a.kind,
                                     'unit', a.unit),
                   a.kind,
                   (SELECT json_agg(json_build_array(o.slug, o.value, o.swatch_colour,
                                                     o.swatch_image)
                                    ORDER BY o.position, o.id)
                    FROM products_productattributevalue pv
                    JOIN attributes_attributeoption o ON o.id = pv.option_id
                    WHERE pv.product_id = p.id AND pv.attribute_id = a.id),
                   (SELECT json_build_array(pv.value_text, pv.value_boolean, pv.value_date,
                                            trim_scale(pv.value_number)::text)
                    FROM products_productattributevalue pv
                    WHERE pv.product_id = p.id AND pv.attribute_id = a.id
                        AND pv.option_id IS NULL)
               ) ORDER BY ta.position, ta.id)
        FROM attributes_producttypeattribute ta
        JOIN attributes_attribute a ON a.id = ta.attribute_id
        WHERE ta.product_type_id = p.product_type_id AND NOT ta.is_axis AND a.is_shown
            AND EXISTS (SELECT FROM products_productattributevalue pv
                        WHERE pv.product_id = p.id AND pv.attribute_id = a.id)),
       (SELECT json_agg(json_build_array(
                   json_build_object('slug', a.slug, 'name', a.name, 'kind', a.kind,
                                     'unit', a.unit),
                   (SELECT json_agg(json_build_array(o.slug, o.value, o.swatch_colour,
                                                     o.swatch_image)
                                    ORDER BY o.position, o.id)
                    FROM attributes_attributeoption o
                    WHERE o.attribute_id = a.id AND EXISTS (
                        SELECT FROM products_variant v
                        WHERE v.product_id = p.id AND v.is_active
                            AND o.id = ANY(v.option_ids)))
               ) ORDER BY ta.position, ta.id)
        FROM attributes_producttypeattribute ta
        JOIN attributes_producttype t ON t.id = ta.product_type_id AND t.has_variants
        JOIN attributes_attribute a ON a.id = ta.attribute_id
        WHERE ta.product_type_id = p.product_type_id AND ta.is_axis)
FROM products_product p JOIN products_category c ON c.id = p.category_id
WHERE p.id = %(id)s AND p.is_active AND c.is_active
"""

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_connection: psycopg.Connection[Any] | None = None


def connection() -> psycopg.Connection[Any]:
    """Return this worker's connection, opening it on first use (after gunicorn's fork)."""
    global _connection  # noqa: PLW0603  # one connection per process, like a sync worker's
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(
            os.environ["DATABASE_URL"], autocommit=True, options="-c TimeZone=UTC"
        )
    return _connection


_subtrees: dict[str, tuple[int, list[int]]] | None = None


def subtrees() -> dict[str, tuple[int, list[int]]]:
    """Return each active category's id and subtree ids by slug, read once per worker."""
    global _subtrees  # noqa: PLW0603  # read once per process
    if _subtrees is None:
        rows = connection().execute(SUBTREES_SQL).fetchall()
        _subtrees = {slug: (category, ids) for slug, category, ids in rows}
    return _subtrees


def timestamp(value: datetime) -> str:
    """Return ``value`` as DRF's DateTimeField writes it (ISO 8601, ``Z`` for UTC)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def average(rating_sum: int, review_count: int) -> float | None:
    """Return the mean rating as ours computes it (Decimal, two places, half-even)."""
    if not review_count:
        return None
    return float((Decimal(rating_sum) / review_count).quantize(TWO_PLACES))


def product_fields(
    row: tuple[Any, ...], category: dict[str, Any], price_max: Decimal
) -> dict[str, Any]:
    rating = average(row[12], row[11])
    return {
        "id": row[0],
        "name": row[1],
        "slug": row[2],
        "sku": row[3],
        "description": row[4],
        "price": str(row[5]),
        "price_range": {"min": str(row[5]), "max": str(price_max)},
        "stock": row[6],
        "in_stock": row[6] > 0,
        "is_active": row[7],
        "category": category,
        "average_rating": rating,
        "review_count": row[11],
        "created_at": timestamp(row[13]),
        "updated_at": timestamp(row[14]),
    }


def page_link(environ: dict[str, Any], query: dict[str, list[str]], page: int) -> str:
    """Return the URL of ``page`` as DRF's replace/remove_query_param build it."""
    query = {**query}
    if page == 1:
        query.pop("page", None)
    else:
        query["page"] = [str(page)]
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    encoded = urlencode(sorted(query.items()), doseq=True)
    return f"{environ['wsgi.url_scheme']}://{host}{LIST_PATH}?{encoded}"


def product_list(environ: dict[str, Any]) -> tuple[int, Any]:
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if set(query) - {"category", "page", "page_size"} or "category" not in query:
        return 400, {"detail": "The floor serves ?category=<slug>[&page=][&page_size=] only."}
    raw_page = query.get("page", ["1"])[-1]
    raw_size = query.get("page_size", [str(PAGE_SIZE)])[-1]
    if not WHOLE_NUMBER.fullmatch(raw_page) or not WHOLE_NUMBER.fullmatch(raw_size):
        return 400, {"detail": "page and page_size are whole numbers."}
    page, size = int(raw_page), min(int(raw_size), MAX_PAGE_SIZE)
    if page < 1 or size < 1:
        return 400, {"detail": "page and page_size start at 1."}
    subtree = subtrees().get(query["category"][-1])
    if subtree is None:
        return 404, {"detail": "No such category."}
    category, ids = subtree
    parameters = {"category": category, "ids": ids, "rows": size + 1, "offset": (page - 1) * size}
    leaf = len(ids) == 1
    rows = (
        connection()
        .execute(LEAF_LIST_SQL if leaf else SUBTREE_LIST_SQL, parameters, prepare=leaf)
        .fetchall()
    )
    if not rows:
        return 404, {"detail": "No such category, or an empty page."}
    exact, estimate = rows[0][15]
    results = [
        {
            **product_fields(row, {"id": row[8], "name": row[9], "slug": row[10]}, row[16]),
            "matched_variant": None,  # no search here: no variant matched by its SKU
        }
        for row in rows[:size]
    ]
    return 200, {
        "count": exact if estimate is None else estimate,
        "count_is_estimate": estimate is not None,
        "next": page_link(environ, query, page + 1) if len(rows) > size else None,
        "previous": page_link(environ, query, page - 1) if page > 1 else None,
        "results": results,
    }


def image_fields(environ: dict[str, Any], image: list[Any]) -> dict[str, Any]:
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return {
        "id": image[0],
        "image": f"{environ['wsgi.url_scheme']}://{host}{MEDIA_URL}{quote(image[1])}",
        "alt_text": image[2],
        "position": image[3],
        "width": image[4],
        "height": image[5],
        "created_at": timestamp(datetime.fromisoformat(image[6])),
    }


def option_fields(environ: dict[str, Any], option: list[Any]) -> dict[str, Any]:
    slug, value, colour, image = option
    url = None
    if image:
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        url = f"{environ['wsgi.url_scheme']}://{host}{MEDIA_URL}{quote(image)}"
    return {"slug": slug, "value": value, "swatch_colour": colour or None, "swatch_image": url}


def attribute_value(
    environ: dict[str, Any], kind: str, options: list[Any] | None, typed: list[Any] | None
) -> Any:
    """Return a product's value of an attribute as ours shows it: an option, a list of them
    (multiple choice), or the typed value (a number as decimal text, a date as YYYY-MM-DD)."""
    if kind == "multiple_choice":
        return [option_fields(environ, option) for option in options or []]
    if kind in ("choice", "swatch"):
        return option_fields(environ, options[0]) if options else None
    return next((value for value in typed or [] if value is not None), None)


def product_detail(environ: dict[str, Any], product_id: int) -> tuple[int, Any]:
    parameters = {"id": product_id, "variants": DETAIL_MAX_VARIANTS}
    row = connection().execute(DETAIL_SQL, parameters, prepare=True).fetchone()
    if row is None:
        return 404, {"detail": "Not found."}
    breadcrumbs = [{"id": id_, "name": name, "slug": slug} for id_, name, slug in row[20] or []]
    category = {"id": row[8], "name": row[9], "slug": row[10], "breadcrumbs": breadcrumbs}
    body = product_fields(row, category, row[22])
    body["images"] = [image_fields(environ, image) for image in row[21] or []]
    body["variants"] = [
        {
            "id": id_,
            "sku": sku,
            "price": price,
            "stock": stock,
            "in_stock": stock > 0,
            "is_active": True,
            "position": position,
            "options": options,
        }
        for id_, sku, price, stock, position, options in row[23] or []
    ]
    body["attributes"] = [
        {"attribute": attribute, "value": attribute_value(environ, kind, options, typed)}
        for attribute, kind, options, typed in row[24] or []
    ]
    body["options"] = [
        {"attribute": attribute, "values": [option_fields(environ, o) for o in options or []]}
        for attribute, options in row[25] or []
    ]
    body["rating"] = {
        "average": body["average_rating"],
        "count": row[11],
        "histogram": {str(stars): row[14 + stars] for stars in range(1, 6)},
    }
    return 200, body


STATUS_LINES = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found"}


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    detail = DETAIL_PATH.fullmatch(path)
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        status, body, queries = 404, {"detail": "Not found."}, 0
    elif detail:
        status, body, queries = (*product_detail(environ, int(detail.group(1))), 1)
    elif path == LIST_PATH:
        status, body = product_list(environ)
        queries = 1 if status != 400 else 0
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
