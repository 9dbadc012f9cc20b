"""The seeded request lists, drawn from the catalogue in the database.

The same seed gives the same lists on the same catalogue: category pages, product ids, cursor
pages half the catalogue deep and page one, a search mix and facet pages.
"""

import base64
import json
import random
import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, unquote

from django.apps import apps as app_registry
from django.db import connection
from django.db.models import QuerySet
from django.test import Client

from .errors import BenchmarkError
from .scenarios import HOST, LIST_PATH, PAGE_SIZE

if TYPE_CHECKING:
    from apps.products.models import Product


def list_path(slug: str, page: int = 1, **extra: str) -> str:
    """Return the path of a category's list page, with ``extra`` query parameters."""
    path = f"{LIST_PATH}?category={slug}&page_size={PAGE_SIZE}"
    if page > 1:
        path += f"&page={page}"
    return path + "".join(f"&{key}={value}" for key, value in extra.items())


def search_path(term: str) -> str:
    """Return the path of a search for ``term``."""
    return f"{LIST_PATH}?search={quote(term)}&page_size={PAGE_SIZE}"


def category_counts() -> list[dict[str, Any]]:
    """Return active categories with their depth, leaf flag and active products in the subtree
    (what the list counts: active products whose own category is active)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, slug, path, is_active, parent_id FROM products_category")
        categories = cursor.fetchall()
        cursor.execute(
            "SELECT category_id, count(*) FROM products_product WHERE is_active GROUP BY 1"
        )
        own = dict(cursor.fetchall())
    totals: dict[int, int] = {}
    parents = {row[4] for row in categories if row[4] is not None}
    for category_id, _slug, path, is_active, _parent in categories:
        if is_active and own.get(category_id):
            for ancestor in (int(part) for part in path.strip("/").split("/")):
                totals[ancestor] = totals.get(ancestor, 0) + own[category_id]
    return sorted(
        (
            {
                "id": category_id,
                "slug": slug,
                "depth": path.count("/") - 2,
                "leaf": category_id not in parents,
                "count": totals.get(category_id, 0),
            }
            for category_id, slug, path, is_active, _parent in categories
            if is_active
        ),
        key=lambda category: category["id"],
    )


def category_pages(rng: random.Random, categories: list[dict[str, Any]], count: int) -> list[str]:
    """Return list pages of ``count`` categories drawn at random, each at one of its first three
    pages."""
    chosen = rng.sample(categories, min(count, len(categories)))
    pages = []
    for category in chosen:
        last = max(1, -(-category["count"] // PAGE_SIZE))
        pages.append(list_path(category["slug"], rng.randint(1, min(3, last))))
    return pages


TYPE_ATTRIBUTES_SQL = """
SELECT a.slug, a.kind, ta.is_axis,
       ARRAY(SELECT o.slug FROM attributes_attributeoption o WHERE o.attribute_id = a.id
             ORDER BY o.position, o.id)
FROM attributes_producttypeattribute ta
JOIN attributes_attribute a ON a.id = ta.attribute_id
WHERE ta.product_type_id = %s AND a.is_filterable
ORDER BY ta.position, ta.id
"""
# A category's newest typed product: its type, its last active variant's options and its own
# options, each by attribute slug.
CATEGORY_PRODUCT_SQL = """
SELECT p.product_type_id,
       (SELECT json_object_agg(a.slug, o.slug)
        FROM attributes_attributeoption o JOIN attributes_attribute a ON a.id = o.attribute_id
        WHERE o.id = ANY(coalesce((SELECT v.option_ids FROM products_variant v
                                   WHERE v.product_id = p.id AND v.is_active
                                   ORDER BY v.position DESC, v.id DESC LIMIT 1), '{}'))),
       (SELECT json_object_agg(a.slug, o.slug)
        FROM products_productattributevalue pv
        JOIN attributes_attributeoption o ON o.id = pv.option_id
        JOIN attributes_attribute a ON a.id = pv.attribute_id
        WHERE pv.product_id = p.id)
FROM products_product p
WHERE p.is_active AND p.product_type_id IS NOT NULL AND p.category_id = ANY(ARRAY(
    SELECT s.id FROM products_category c JOIN products_category s
        ON s.path ~>=~ c.path AND s.path ~<~ (c.path || '~')
    WHERE c.id = %s))
ORDER BY p.created_at DESC, p.id DESC
LIMIT 1
"""

TypeAttribute = tuple[str, str, bool, list[str]]  # slug, kind, is an axis, option slugs


def attribute_filters(
    attributes: list[TypeAttribute], variant: dict[str, str], values: dict[str, str]
) -> list[str]:
    """Return ``attribute=`` values for a product of a type with filterable ``attributes``:
    brands acme and zeta, and the options of one of its active variants (``variant``); a type
    without axes, its first option value but the brand (``values``) and yes on a yes/no."""
    filters = []
    for slug, _kind, is_axis, options in attributes:
        if slug == "brand" and {"acme", "zeta"} <= set(options):
            filters.append("brand:acme,zeta")
        elif is_axis and slug in variant:
            filters.append(f"{slug}:{variant[slug]}")
    if not any(is_axis for _slug, _kind, is_axis, _options in attributes):
        chosen = [f"{slug}:{values[slug]}" for slug, *_rest in attributes if slug in values]
        filters += [value for value in chosen if not value.startswith("brand:")][:1]
        filters += [f"{slug}:true" for slug, kind, *_rest in attributes if kind == "boolean"][:1]
    return filters


def attribute_pages(rng: random.Random, categories: list[dict[str, Any]], count: int) -> list[str]:
    """Return page one of ``count`` categories drawn at random, filtered as their newest typed
    product would match (``attribute_filters``); categories without one are left out."""
    pages = []
    types: dict[int, list[TypeAttribute]] = {}
    with connection.cursor() as cursor:
        for category in rng.sample(categories, min(count, len(categories))):
            cursor.execute(CATEGORY_PRODUCT_SQL, [category["id"]])
            found = cursor.fetchone()
            if found is None:
                continue
            type_id, variant, values = found
            if type_id not in types:
                cursor.execute(TYPE_ATTRIBUTES_SQL, [type_id])
                types[type_id] = cursor.fetchall()
            filters = attribute_filters(types[type_id], json_object(variant), json_object(values))
            if filters:
                pages.append(
                    list_path(category["slug"]) + "".join(f"&attribute={f}" for f in filters)
                )
    return pages


def json_object(value: Any) -> dict[str, str]:
    """Return a JSON object as the database driver gave it (text or already decoded)."""
    if value is None:
        return {}
    return cast("dict[str, str]", json.loads(value) if isinstance(value, str) else value)


def cursor_token(ordering: list[str], values: list[Any]) -> str:
    """Encode a cursor as apps.core.pagination does (checked against the API below)."""
    return base64.urlsafe_b64encode(json.dumps({"o": ordering, "v": values}).encode()).decode()


def cursor_value(value: Any) -> Any:
    """Return ``value`` as a cursor holds it: JSON's scalars as they are, the rest as text."""
    if isinstance(value, int | float | str) or value is None:
        return value
    return str(value)


def active_products() -> "QuerySet[Product]":
    """Return the products the API lists to a shopper."""
    # Looked up by name: the model can be imported only once Django is set up, after import.
    product_model = cast("type[Product]", app_registry.get_model("products", "Product"))
    return product_model.objects.active()


def deep_cursors(rng: random.Random, client: Client, depth: int, count: int) -> list[str]:
    """Return cursor pages that start ``depth`` (+-0.1%) rows deep, newest first."""
    first = client.get(f"{LIST_PATH}?cursor=&page_size=1", HTTP_HOST=HOST)
    next_link = first.json().get("next") or ""
    token = re.search(r"cursor=([^&]+)", next_link)
    if first.status_code != 200 or token is None:
        raise BenchmarkError(f"cursor page one: {first.status_code} {first.content[:200]!r}")
    try:
        padded = unquote(token.group(1))
        ordering = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError) as error:
        raise BenchmarkError(
            f"the cursor format changed; update benchmarks/runner/paths.py ({error})"
        ) from error
    keys = [key.lstrip("-") for key in ordering]
    spread = max(count, depth // 1000)
    # Rows depth-spread .. depth+spread of the API's ordering, read once (an OFFSET scan).
    window = list(
        active_products()
        .order_by(*ordering)
        .values(*dict.fromkeys(["id", *keys]))[depth - spread - 1 : depth + spread + 1]
    )
    paths = []
    for offset in sorted(rng.sample(range(len(window) - 1), count)):
        row = window[offset]
        token_text = cursor_token(ordering, [cursor_value(row[key]) for key in keys])
        paths.append(f"{LIST_PATH}?cursor={quote(token_text)}&page_size={PAGE_SIZE}")
        if len(paths) == 1:  # the API must continue right after that row
            expected = window[offset + 1]["id"]
            response = client.get(paths[0], HTTP_HOST=HOST)
            got = response.json()["results"][0]["id"] if response.status_code == 200 else None
            if got != expected:
                raise BenchmarkError(
                    f"a cursor {depth - spread + offset} rows deep starts at product {got}, "
                    f"expected {expected}: the cursor encoding changed; "
                    "update benchmarks/runner/paths.py"
                )
    return paths


def misspell(word: str, rng: random.Random, lexicon: set[str]) -> str | None:
    """Return ``word`` less one inner letter, a word the lexicon lacks, or None after ten tries."""
    for _ in range(10):
        index = rng.randrange(1, len(word) - 1)
        candidate = word[:index] + word[index + 1 :]
        if candidate not in lexicon:
            return candidate
    return None


def search_terms(rng: random.Random) -> dict[str, list[str]]:
    """Return search terms drawn from the catalogue itself, by kind."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM products_searchterm ORDER BY word")
        lexicon = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT name, sku FROM products_product WHERE is_active ORDER BY id LIMIT 5000"
        )
        products = cursor.fetchall()
    known = set(lexicon)
    sample = rng.sample(products, min(200, len(products)))
    two_word = []
    for name, _sku in sample[:10]:
        words = name.lower().split()
        start = rng.randrange(0, max(1, len(words) - 1))
        two_word.append(" ".join(words[start : start + 2]))
    long_words = [word for word in lexicon if len(word) >= 6 and word.isalpha()]
    preferred = [word for word in ("headphones", "bamboo", "wireless") if word in known]
    misspelled = [
        {"headphones": "hedphones", "bamboo": "bambo", "wireless": "wireles"}[word]
        for word in preferred
    ]
    for word in rng.sample(long_words, min(len(long_words), 20)):
        candidate = misspell(word, rng, known)
        if candidate and candidate not in misspelled and len(misspelled) < 8:
            misspelled.append(candidate)
    if "hedphones" in misspelled and "wireless" in known:
        misspelled.append("wireles hedphones")
    common_name_words = [name.split()[0].lower() for name, _sku in sample[10:13]]
    return {
        "rare": [sku for _name, sku in sample[20:30]],
        "common": ["made"] * 4 + common_name_words * 2,
        "two_word": two_word,
        "misspelled": misspelled,
    }


def build_requests(seed: int, client: Client) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Return the request lists by name (a scenario's ``paths``) and facts for the report."""
    rng = random.Random(seed)  # noqa: S311  # reproducible request lists, not secrets
    categories = category_counts()
    active = sum(category["count"] for category in categories if category["depth"] == 0)
    leaves = [c for c in categories if c["leaf"] and c["count"]]
    middle = [c for c in categories if not c["leaf"] and c["depth"] > 0 and c["count"]]
    roots = [c for c in categories if c["depth"] == 0 and c["count"]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.variant_count FROM products_product p"
            " JOIN products_category c ON c.id = p.category_id"
            " WHERE p.is_active AND c.is_active ORDER BY p.id"
        )
        shown = cursor.fetchall()
    product_ids = [pk for pk, _variants in shown]
    # Issue 13's large products (the generator's every thousandth): pages with 50 variants.
    large = [pk for pk, variants in shown if variants >= 50]
    terms = search_terms(rng)
    # In this order: each list draws from the one generator.
    requests = {
        "list": category_pages(rng, leaves, 300) + category_pages(rng, middle, 100),
        "detail": [f"{LIST_PATH}{pk}/" for pk in rng.sample(product_ids, 1000)],
        "cursor_first": [f"{LIST_PATH}?cursor=&page_size={PAGE_SIZE}"],
        "cursor_deep": deep_cursors(rng, client, len(product_ids) // 2, 50),
        "search": [search_path(term) for kind in terms.values() for term in kind],
        "search_misspelled": [search_path(term) for term in terms["misspelled"]],
        "facets": [
            list_path(category["slug"], facets="true")
            for category in rng.sample(leaves, 50)
            + rng.sample(middle, min(40, len(middle)))
            + rng.sample(roots, min(10, len(roots)))
        ],
    }
    # Drawn after the others, so that those stay what the seed gave before.
    requests["attribute_list"] = (
        attribute_pages(rng, leaves, 30)
        + attribute_pages(rng, middle, 60)
        + attribute_pages(rng, roots, 10)
    )
    requests["attribute_facets"] = [f"{path}&facets=true" for path in requests["attribute_list"]]
    # Issue 13's department pages: a root category without other filters, with its facets.
    requests["department_facets"] = [list_path(root["slug"], facets="true") for root in roots]
    requests["detail_50"] = [f"{LIST_PATH}{pk}/" for pk in rng.sample(large, min(100, len(large)))]
    requests["etag"] = requests["list"][:50] + requests["detail"][:50]
    requests["list_hot"] = requests["list"][:20]
    facts = {
        "active_products": len(product_ids),
        "active_in_categories": active,
        "cursor_depth": len(product_ids) // 2,
        "search_terms": terms,
    }
    return requests, facts
