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
            "SELECT p.id FROM products_product p JOIN products_category c ON c.id = p.category_id"
            " WHERE p.is_active AND c.is_active ORDER BY p.id"
        )
        product_ids = [row[0] for row in cursor.fetchall()]
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
    requests["etag"] = requests["list"][:50] + requests["detail"][:50]
    requests["list_hot"] = requests["list"][:20]
    facts = {
        "active_products": len(product_ids),
        "active_in_categories": active,
        "cursor_depth": len(product_ids) // 2,
        "search_terms": terms,
    }
    return requests, facts
