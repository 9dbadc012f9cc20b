"""Generate a large, deterministic catalogue straight in SQL, for measuring at scale.

    DATABASE_URL=postgres://... python benchmarks/generate_catalogue.py --products 1000000

Into an empty, migrated database: 10,000 categories in a tree (10 roots, 90 families,
9,900 kinds), the given number of products with names and descriptions drawn from word lists, and reviews
with skewed popularity by 20,000 users. The same arguments always give the same catalogue.

Rows are written by INSERT ... SELECT over generate_series, with the search trigger off; the
search documents and the lexicon are then built in one pass each, which is what the trigger
would have written. Then VACUUM ANALYZE. The database user must be allowed to disable triggers
(the table owner is).
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")

import django

django.setup()

from django.db import connection

from apps.products.search import search_config

ADJECTIVES = (
    "classic compact deluxe eco ergonomic essential foldable heavy lightweight modern portable "
    "premium pro rugged smart ultra vintage wireless silent sturdy"
).split()
MATERIALS = (
    "bamboo carbon ceramic cotton leather linen oak recycled steel titanium walnut wool".split()
)
NOUNS = (
    "headphones speaker microphone laptop monitor keyboard smartphone case charger camera lens "
    "tripod pan pot knife chair desk shelf lamp bulb pillow duvet sheet tent stove helmet lock "
    "dumbbell mat bottle jacket shoe shirt trousers dress skirt coat bag belt scarf sneaker boot "
    "sandal novel cookbook vinyl puzzle game stroller monitor bottle blocks doll scooter kit"
).split()
COLOURS = "black blue graphite green ivory red sand silver white orange".split()
FILLER = (
    "durable everyday design quality comfortable reliable versatile travel home office outdoor "
    "gift premium soft warm light strong classic modern elegant practical"
).split()


def words_sql(words: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{word}'" for word in words) + "]"


def run(cursor: Any, label: str, sql: str, params: list[Any] | None = None) -> None:
    start = time.perf_counter()
    cursor.execute(_escaped(sql, params), params or [])
    print(f"{label}: {time.perf_counter() - start:.1f} s", flush=True)


def run_in_batches(
    cursor: Any, label: str, sql: str, params: list[Any], total: int, *, batch: int = 50_000
) -> None:
    """Run ``sql`` once per batch of 1..total, its last two parameters being the batch's first
    and last number, drawing a progress bar."""
    start = time.perf_counter()
    sql = _escaped(sql, params)
    for first in range(1, total + 1, batch):
        last = min(first + batch - 1, total)
        cursor.execute(sql, [*params, first, last])
        _progress(label, last, total, time.perf_counter() - start)
    print(flush=True)


def _progress(label: str, done: int, total: int, elapsed: float) -> None:
    width = 30
    filled = width * done // total
    bar = "#" * filled + "." * (width - filled)
    print(f"\r{label:<18} [{bar}] {done:>9,}/{total:,} {elapsed:6.1f} s", end="", flush=True)


def _escaped(sql: str, params: list[Any] | None) -> str:
    # With parameters, a modulo operator must be written %%.
    return re.sub(r"(?<!%)%(?![s%])", "%%", sql) if params else sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--reviews-per-product", type=float, default=2.0)
    args = parser.parse_args()
    config = search_config()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM products_product")
        if cursor.fetchone()[0]:
            sys.exit("The database already has products; use an empty, migrated one.")
        # Categories: 10 roots, 9 children each, then 110 grandchildren each: 10,000 in all.
        run(
            cursor,
            "categories",
            """
            INSERT INTO products_category (name, slug, description, is_active, parent_id, path,
                                           created_at, updated_at)
            SELECT 'Department ' || r, 'department-' || r, '', true, NULL, '', now(), now()
            FROM generate_series(1, 10) r;
            INSERT INTO products_category (name, slug, description, is_active, parent_id, path,
                                           created_at, updated_at)
            SELECT 'Family ' || p.id || '.' || c, 'family-' || p.id || '-' || c, '', true, p.id,
                   '', now(), now()
            FROM products_category p, generate_series(1, 9) c WHERE p.parent_id IS NULL;
            INSERT INTO products_category (name, slug, description, is_active, parent_id, path,
                                           created_at, updated_at)
            SELECT 'Kind ' || p.id || '.' || c, 'kind-' || p.id || '-' || c, '', true, p.id, '',
                   now(), now()
            FROM products_category p, generate_series(1, 110) c
            WHERE p.parent_id IS NOT NULL;
        """,
        )
        cursor.execute(
            "SELECT array_agg(id ORDER BY id) FROM products_category c WHERE NOT EXISTS (SELECT 1 FROM products_category d WHERE d.parent_id = c.id)"
        )
        leaves = cursor.fetchone()[0]
        run(
            cursor,
            "users",
            """
            INSERT INTO users_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined, phone_number, is_verified,
                created_at, updated_at)
            SELECT '!', false, 'shopper' || n, '', '', 'shopper' || n || '@example.com', false,
                   true, now(), '', true, now(), now()
            FROM generate_series(1, 20000) n
        """,
        )
        cursor.execute("ALTER TABLE products_product DISABLE TRIGGER products_product_search")
        # hashtext(n || salt) gives a deterministic pseudo-random integer per product and salt.
        run_in_batches(
            cursor,
            "products",
            f"""
            INSERT INTO products_product (name, slug, sku, description, price, stock, is_active,
                category_id, created_by_id, rating_1_count, rating_2_count, rating_3_count,
                rating_4_count, rating_5_count, review_count, rating_sum, created_at, updated_at)
            SELECT name, 'p-' || n, 'SKU-' || lpad(n::text, 8, '0'), description,
                   (abs(hashtext(n || 'price')) % 200000) / 100.0 + 0.99,
                   CASE WHEN abs(hashtext(n || 'stock')) % 12 = 0 THEN 0
                        ELSE abs(hashtext(n || 'stock')) % 500 END,
                   abs(hashtext(n || 'active')) % 40 <> 0,
                   (%s::bigint[])[1 + abs(hashtext(n || 'cat')) % %s],
                   NULL, 0, 0, 0, 0, 0, 0, 0,
                   now() - (n || ' minutes')::interval, now()
            FROM (
                SELECT n,
                    initcap(a.w || ' ' || m.w || ' ' || o.w || ' ' || c.w) AS name,
                    initcap(a.w) || ' ' || o.w || ' made of ' || m.w || ', in ' || c.w || '. '
                      || f1.w || ' and ' || f2.w || ', for ' || f3.w || ' use.' AS description
                FROM generate_series(%s, %s) n
                CROSS JOIN LATERAL (SELECT ({words_sql(ADJECTIVES)})[1 + abs(hashtext(n || 'a')) % {len(ADJECTIVES)}] w) a
                CROSS JOIN LATERAL (SELECT ({words_sql(MATERIALS)})[1 + abs(hashtext(n || 'm')) % {len(MATERIALS)}] w) m
                CROSS JOIN LATERAL (SELECT ({words_sql(NOUNS)})[1 + abs(hashtext(n || 'o')) % {len(NOUNS)}] w) o
                CROSS JOIN LATERAL (SELECT ({words_sql(COLOURS)})[1 + abs(hashtext(n || 'c')) % {len(COLOURS)}] w) c
                CROSS JOIN LATERAL (SELECT ({words_sql(FILLER)})[1 + abs(hashtext(n || 'f1')) % {len(FILLER)}] w) f1
                CROSS JOIN LATERAL (SELECT ({words_sql(FILLER)})[1 + abs(hashtext(n || 'f2')) % {len(FILLER)}] w) f2
                CROSS JOIN LATERAL (SELECT ({words_sql(FILLER)})[1 + abs(hashtext(n || 'f3')) % {len(FILLER)}] w) f3
            ) AS generated
        """,
            [leaves, len(leaves)],
            args.products,
        )
        cursor.execute("SELECT min(id) - 1 FROM products_product")
        offset = cursor.fetchone()[0]
        run_in_batches(
            cursor,
            "search documents",
            f"""
            UPDATE products_product SET search_vector =
                setweight(to_tsvector('{config}', name), 'A')
                || setweight(to_tsvector('{config}', description), 'B')
            WHERE id - %s BETWEEN %s AND %s
        """,
            [offset],
            args.products,
        )
        cursor.execute("ALTER TABLE products_product ENABLE TRIGGER products_product_search")
        run(
            cursor,
            "search lexicon",
            """
            INSERT INTO products_searchterm (word)
            SELECT DISTINCT word FROM products_product,
                unnest(tsvector_to_array(to_tsvector('simple', name || ' ' || description))) word
            WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
            ON CONFLICT DO NOTHING
        """,
        )
        # Reviews: popularity skewed by a power law over products; ratings leaning positive.
        reviews = int(args.products * args.reviews_per_product)
        run_in_batches(
            cursor,
            "reviews",
            """
            INSERT INTO reviews_review (product_id, user_id, rating, comment, helpful_count,
                is_hidden, hidden_reason, created_at, updated_at)
            SELECT DISTINCT ON (product_id, user_id) product_id, user_id, rating, '', 0, false, '',
                   now(), now()
            FROM (
                SELECT (SELECT min(id) FROM products_product)
                         + floor(%s * power((abs(hashtext(r || 'p')) %% 1000000) / 1000000.0, 3))::bigint
                         AS product_id,
                       (SELECT min(id) FROM users_user) + abs(hashtext(r || 'u')) %% 20000 AS user_id,
                       (ARRAY[1,2,3,3,4,4,4,5,5,5])[1 + abs(hashtext(r || 'r')) %% 10] AS rating
                FROM generate_series(%s, %s) r
            ) AS drawn
            ON CONFLICT DO NOTHING
        """,
            [args.products - 1],
            reviews,
        )
        run(
            cursor,
            "rating figures",
            """
            UPDATE products_product p SET
                rating_1_count = r.c1, rating_2_count = r.c2, rating_3_count = r.c3,
                rating_4_count = r.c4, rating_5_count = r.c5, review_count = r.n, rating_sum = r.s
            FROM (
                SELECT product_id, count(*) n, sum(rating) s,
                    count(*) FILTER (WHERE rating = 1) c1, count(*) FILTER (WHERE rating = 2) c2,
                    count(*) FILTER (WHERE rating = 3) c3, count(*) FILTER (WHERE rating = 4) c4,
                    count(*) FILTER (WHERE rating = 5) c5
                FROM reviews_review GROUP BY product_id
            ) r WHERE r.product_id = p.id
        """,
        )
    connection.close()
    with connection.cursor() as cursor:
        run(cursor, "vacuum analyze", "VACUUM ANALYZE")
    print("done")


if __name__ == "__main__":
    main()
