"""Generate a large, deterministic catalogue straight in SQL, for measuring at scale.

    DATABASE_URL=postgres://... python benchmarks/generate_catalogue.py --products 1000000

Into an empty, migrated database: 10,000 categories in a tree (10 roots, 90 families,
9,900 kinds), the product types of apps/demo/product_types.py (each department holds one kind),
the given number of products with names and descriptions drawn from word lists, their
attribute values and variants (about 4.2 a product), and reviews with skewed popularity by
20,000 users. The same arguments always give the same catalogue.

Rows are written by INSERT ... SELECT over generate_series, with the search trigger off; the
search documents and the lexicon are then built in one pass each, which is what the trigger
would have written. The variants' and values' row checks are off while they are written, and
their rules are then checked over every row at once (VIOLATIONS_SQL). The outbox's triggers
(apps/events) are off throughout: a generated load emits no events. Then VACUUM ANALYZE. The
database user must be allowed to disable triggers (the table owner is).
"""

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")

import django

django.setup()

from django.db import connection, transaction

from apps.attributes.models import Attribute, AttributeOption
from apps.demo.product_types import (
    ATTRIBUTES,
    AUTHOR_FIRST,
    AUTHOR_LAST,
    AXIS_COUNTS,
    NUMBERS,
    PRODUCT_TYPES,
    TYPE_OPTIONS,
    load_demo_product_types,
)
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


# The kind of product type each department (top category, by number) holds: one kind per
# department, so that a department's page lists 100,000 products of one type at a million.
DEPARTMENT_TYPES = [
    "apparel", "apparel", "apparel", "shoes", "shoes", "phone", "phone", "book", "furniture",
    "furniture",
]  # fmt: skip
# A skew over a choice's options: an option's share falls with its position (brands: a few
# big ones, a long tail); 1 draws evenly.
OPTION_SKEW = {"brand": 2.0}
TYPE_NOUNS = {
    "apparel": "shirt trousers dress skirt coat jacket jumper hoodie scarf".split(),
    "shoes": "sneaker boot sandal loafer trainer slipper".split(),
    "phone": "smartphone phone handset".split(),
    "book": "novel cookbook atlas memoir guide anthology".split(),
    "furniture": "chair desk shelf table sofa bench cabinet".split(),
}


class TypePlan:
    """The product types and what the generator draws for them, in temporary tables: the axes
    of each type (``generator_axes``) and its other attributes (``generator_values``)."""

    def __init__(
        self, leaves: list[int], leaf_types: list[int], type_numbers: list[int], nouns_sql: str
    ) -> None:
        self.leaves = leaves  # the leaf categories' ids
        self.leaf_types = leaf_types  # the product type of each leaf's products
        self.type_numbers = type_numbers  # and its number in TYPE_NOUNS (from 1)
        self.nouns_sql = nouns_sql  # the nouns of type_number's products, an SQL expression

    @classmethod
    def create(cls, cursor: Any, leaves: list[tuple[int, int]]) -> "TypePlan":
        """Create the attributes and types (apps/demo/product_types.py) and the plan's tables;
        ``leaves`` are the leaf categories with their department's number."""
        start = time.perf_counter()
        types = {product_type.slug: product_type for product_type in load_demo_product_types()}
        options = {
            (slug, option_slug): (option_id, position)
            for slug, option_slug, option_id, position in AttributeOption.objects.values_list(
                "attribute__slug", "slug", "id", "position"
            )
        }
        ordered: dict[str, list[tuple[str, int]]] = {}
        for (slug, option_slug), (option_id, _position) in sorted(
            options.items(), key=lambda item: (item[0][0], item[1][1], item[1][0])
        ):
            ordered.setdefault(slug, []).append((option_slug, option_id))
        cursor.execute(
            """
            CREATE TEMP TABLE generator_axes (
                type_id bigint PRIMARY KEY, first_ids bigint[], first_slugs text[],
                first_fewest int, first_most int, second_ids bigint[], second_slugs text[],
                second_fewest int, second_most int);
            CREATE TEMP TABLE generator_values (
                type_id bigint, attribute_id bigint, kind text, option_ids bigint[],
                skew float8, lowest numeric, step numeric, steps int);
            """
        )
        for type_slug, (_name, _has_variants, rows) in PRODUCT_TYPES.items():
            type_id = types[type_slug].pk
            axes = [slug for slug, is_axis in rows if is_axis]
            if axes:
                counts = AXIS_COUNTS[type_slug]
                columns = []
                for index in range(2):
                    axis = ordered[axes[index]] if index < len(axes) else []
                    allowed = TYPE_OPTIONS.get((type_slug, axes[index])) if axis else None
                    axis = [(s, i) for s, i in axis if allowed is None or s in allowed]
                    fewest, most = counts[index] if index < len(axes) else (1, 1)
                    columns += [[i for _s, i in axis], [s for s, _i in axis], fewest, most]
                cursor.execute(
                    "INSERT INTO generator_axes VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [type_id, *columns],
                )
            for slug, is_axis in rows:
                if is_axis:
                    continue
                kind = ATTRIBUTES[slug][1]
                allowed = TYPE_OPTIONS.get((type_slug, slug))
                option_ids = [
                    i for s, i in ordered.get(slug, []) if allowed is None or s in allowed
                ]
                lowest, step, steps = NUMBERS.get(slug, ("0", "0", 1))
                cursor.execute(
                    "INSERT INTO generator_values VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        type_id,
                        Attribute.objects.get(slug=slug).pk,
                        str(kind),
                        option_ids,
                        OPTION_SKEW.get(slug, 1.0),
                        lowest,
                        step,
                        steps,
                    ],
                )
        type_numbers = {slug: number for number, slug in enumerate(TYPE_NOUNS, start=1)}
        nouns_sql = (
            "CASE type_number "
            + " ".join(
                f"WHEN {type_numbers[slug]} THEN {words_sql(nouns)}"
                for slug, nouns in TYPE_NOUNS.items()
            )
            + " END"
        )
        cursor.execute("ANALYZE generator_axes; ANALYZE generator_values")
        print(f"product types: {time.perf_counter() - start:.1f} s", flush=True)
        departments = [
            DEPARTMENT_TYPES[(department - 1) % len(DEPARTMENT_TYPES)]
            for _leaf, department in leaves
        ]
        return cls(
            [leaf for leaf, _department in leaves],
            [types[type_slug].pk for type_slug in departments],
            [type_numbers[type_slug] for type_slug in departments],
            nouns_sql,
        )


PRODUCTS_SQL = f"""
INSERT INTO products_product (name, slug, sku, description, price, stock, is_active,
    category_id, product_type_id, created_by_id, rating_1_count, rating_2_count,
    rating_3_count, rating_4_count, rating_5_count, review_count, rating_sum, created_at,
    updated_at)
SELECT name, 'p-' || n, 'SKU-' || lpad(n::text, 8, '0'), description,
       (abs(hashtext(n || 'price')) % 200000) / 100.0 + 0.99,
       CASE WHEN abs(hashtext(n || 'stock')) % 12 = 0 THEN 0
            ELSE abs(hashtext(n || 'stock')) % 500 END,
       abs(hashtext(n || 'active')) % 40 <> 0,
       (%s::bigint[])[leaf], (%s::bigint[])[leaf],
       NULL, 0, 0, 0, 0, 0, 0, 0,
       now() - (n || ' minutes')::interval, now()
FROM (
    SELECT n, leaf,
        initcap(a.w || ' ' || m.w || ' ' || o.w || ' ' || c.w) AS name,
        initcap(a.w) || ' ' || o.w || ' made of ' || m.w || ', in ' || c.w || '. '
          || f1.w || ' and ' || f2.w || ', for ' || f3.w || ' use.' AS description
    FROM generate_series(%s, %s) n
    CROSS JOIN LATERAL (SELECT 1 + abs(hashtext(n || 'cat')) % %s AS leaf) l
    CROSS JOIN LATERAL (SELECT (%s::int[])[leaf] AS type_number) t
    CROSS JOIN LATERAL (SELECT ({words_sql(ADJECTIVES)})[1 + abs(hashtext(n || 'a')) % {len(ADJECTIVES)}] w) a
    CROSS JOIN LATERAL (SELECT ({words_sql(MATERIALS)})[1 + abs(hashtext(n || 'm')) % {len(MATERIALS)}] w) m
    CROSS JOIN LATERAL (SELECT nouns[1 + abs(hashtext(n || 'o')) % cardinality(nouns)] w
                        FROM (SELECT {{nouns}} AS nouns) nouns_of_type) o
    CROSS JOIN LATERAL (SELECT ({words_sql(COLOURS)})[1 + abs(hashtext(n || 'c')) % {len(COLOURS)}] w) c
    CROSS JOIN LATERAL (SELECT ({words_sql(FILLER)})[1 + abs(hashtext(n || 'f1')) % {len(FILLER)}] w) f1
    CROSS JOIN LATERAL (SELECT ({words_sql(FILLER)})[1 + abs(hashtext(n || 'f2')) % {len(FILLER)}] w) f2
    CROSS JOIN LATERAL (SELECT ({words_sql(FILLER)})[1 + abs(hashtext(n || 'f3')) % {len(FILLER)}] w) f3
) AS generated
"""

# A batch's variants, one row per combination of the options each product is sold in:
# a run of consecutive options per axis, from a drawn start (position 0 is the product's own).
VARIANT_PLAN_SQL = """
CREATE TEMP TABLE generated_variant ON COMMIT DROP AS
SELECT p.id AS product_id, p.sku, p.price, p.created_at, i, i * k.second + j AS position,
       a.first_slugs[1 + (k.first_start + i) % cardinality(a.first_ids)] AS first_slug,
       a.second_slugs[1 + (k.second_start + j) % greatest(1, cardinality(a.second_ids))]
           AS second_slug,
       ARRAY(SELECT option_id FROM unnest(ARRAY[
                 a.first_ids[1 + (k.first_start + i) % cardinality(a.first_ids)],
                 a.second_ids[1 + (k.second_start + j) % greatest(1, cardinality(a.second_ids))]
             ]) option_id WHERE option_id IS NOT NULL ORDER BY option_id) AS option_ids
FROM products_product p
JOIN generator_axes a ON a.type_id = p.product_type_id
CROSS JOIN LATERAL (
    SELECT least(cardinality(a.first_ids), a.first_fewest
                 + abs(hashtext(p.id || 'k1')) % (a.first_most - a.first_fewest + 1)) AS first,
           abs(hashtext(p.id || 's1')) % cardinality(a.first_ids) AS first_start,
           CASE WHEN cardinality(a.second_ids) = 0 THEN 1
                ELSE least(cardinality(a.second_ids), a.second_fewest
                     + abs(hashtext(p.id || 'k2')) % (a.second_most - a.second_fewest + 1))
           END AS second,
           abs(hashtext(p.id || 's2')) % greatest(1, cardinality(a.second_ids)) AS second_start
) k
CROSS JOIN generate_series(0, k.first - 1) i
CROSS JOIN generate_series(0, k.second - 1) j
WHERE p.id > %s
"""
# The database made each product's first variant (products_product_default_variant); it gets
# its options. The summary stays as it is: no product is rewritten.
FIRST_VARIANTS_SQL = """
UPDATE products_variant v SET option_ids = g.option_ids
FROM generated_variant g
WHERE g.position = 0 AND v.product_id = g.product_id AND v.position = 0
"""
# The others in one statement: products_variant_summarize then rewrites each product's summary
# (price range, stock, variant count) once. A variant costs up to 60% more than the first and
# one in twenty is inactive.
OTHER_VARIANTS_SQL = """
INSERT INTO products_variant (created_at, updated_at, product_id, sku, price, stock, is_active,
                              position, option_ids)
SELECT created_at, created_at, product_id,
       sku || '-' || upper(first_slug) || coalesce('-' || upper(second_slug), ''),
       round(price * (1 + 0.15 * i), 2),
       CASE WHEN abs(hashtext(product_id || 'vs' || position)) % 10 = 0 THEN 0
            ELSE abs(hashtext(product_id || 'vs' || position)) % 200 END,
       abs(hashtext(product_id || 'va' || position)) % 20 <> 0,
       position, option_ids
FROM generated_variant
WHERE position > 0
ORDER BY product_id, position
"""
# Each product's values of its type's other attributes: an option (drawn with the attribute's
# skew; one or two of a multiple choice), a number on the attribute's steps, a yes in three,
# an author, a date.
VALUES_SQL = f"""
INSERT INTO products_productattributevalue (product_id, attribute_id, option_id, value_text,
                                            value_number, value_boolean, value_date)
SELECT p.id, g.attribute_id,
       CASE WHEN cardinality(g.option_ids) > 0 THEN g.option_ids[1 + (
           floor(cardinality(g.option_ids) * power(
               (abs(hashtext(p.id || '-' || g.attribute_id || 'o')) % 100000) / 100000.0,
               g.skew))::int + extra) % cardinality(g.option_ids)] END,
       CASE WHEN g.kind = 'text' THEN
           ({words_sql(AUTHOR_FIRST)})[1 + abs(hashtext(p.id || 'af')) % {len(AUTHOR_FIRST)}]
           || ' ' ||
           ({words_sql(AUTHOR_LAST)})[1 + abs(hashtext(p.id || 'al')) % {len(AUTHOR_LAST)}]
       END,
       CASE WHEN g.kind = 'number' THEN
           g.lowest + g.step * (abs(hashtext(p.id || '-' || g.attribute_id || 'n')) % g.steps)
       END,
       CASE WHEN g.kind = 'boolean' THEN
           abs(hashtext(p.id || '-' || g.attribute_id || 'b')) % 3 = 0
       END,
       CASE WHEN g.kind = 'date' THEN
           date '1960-01-01' + abs(hashtext(p.id || '-' || g.attribute_id || 'd')) % 23000
       END
FROM products_product p
JOIN generator_values g ON g.type_id = p.product_type_id
CROSS JOIN generate_series(0, CASE WHEN g.kind = 'multiple_choice'
    THEN abs(hashtext(p.id || '-' || g.attribute_id || 'm')) % 2 ELSE 0 END) extra
WHERE p.id > %s
"""

# Every thousandth product, if its type's two axes allow 50 combinations is sold in 50: the
# combinations it lacks, first axis first, in the order of the type's options, until it has
# 50. The product pages of a large product are what the detail-50 benchmark times. Written
# after the rest, with every trigger on, as the staff API or an import would add them.
LARGE_PRODUCTS = 50
LARGE_PRODUCTS_SQL = f"""
INSERT INTO products_variant (created_at, updated_at, product_id, sku, price, stock, is_active,
                              position, option_ids)
SELECT p.created_at, p.created_at, p.id,
       p.sku || '-' || upper(a.first_slugs[1 + c.i]) || '-' || upper(a.second_slugs[1 + c.j]),
       round(p.price * (1 + 0.15 * c.i), 2),
       abs(hashtext(p.id || 'vs' || c.i || '-' || c.j)) %% 200,
       true,
       have.top + row_number() OVER (PARTITION BY p.id ORDER BY c.i, c.j),
       c.option_ids
FROM products_product p
JOIN generator_axes a ON a.type_id = p.product_type_id
    AND cardinality(a.first_ids) * cardinality(a.second_ids) >= {LARGE_PRODUCTS}
CROSS JOIN LATERAL (SELECT count(*) AS n, max(position) AS top
                    FROM products_variant v WHERE v.product_id = p.id) have
CROSS JOIN LATERAL (
    SELECT i, j, ARRAY(SELECT unnest(ARRAY[a.first_ids[1 + i], a.second_ids[1 + j]]) ORDER BY 1)
               AS option_ids
    FROM generate_series(0, cardinality(a.first_ids) - 1) i,
         generate_series(0, cardinality(a.second_ids) - 1) j
    WHERE NOT EXISTS (
        SELECT FROM products_variant v
        WHERE v.product_id = p.id
          AND v.option_ids @> ARRAY[a.first_ids[1 + i], a.second_ids[1 + j]])
    ORDER BY i, j
    LIMIT {LARGE_PRODUCTS} - have.n
) c
WHERE (p.id - (SELECT min(id) FROM products_product) + 1) %% 1000 = 0
"""

# Row by row, these two triggers cost more than the rest of the load (a product row locked
# per value, a query per variant at commit); the generator turns them off while it writes and
# then checks the same rules over every row at once (VIOLATIONS_SQL).
ROW_CHECKS = [
    ("products_productattributevalue", "products_attribute_value_check"),
    ("products_variant", "products_variant_options"),
]
# The rules of products_attribute_value_check and products_variant_check_options, set-based:
# the number of values and variants that break them (none, or the generator is wrong).
VIOLATIONS_SQL = """
SELECT
    (SELECT count(*)
     FROM products_productattributevalue v
     JOIN products_product p ON p.id = v.product_id
     JOIN attributes_attribute a ON a.id = v.attribute_id
     LEFT JOIN attributes_producttypeattribute ta
         ON ta.product_type_id = p.product_type_id AND ta.attribute_id = v.attribute_id
     LEFT JOIN attributes_attributeoption o ON o.id = v.option_id
     WHERE ta.id IS NULL OR ta.is_axis
         OR (v.option_id IS NOT NULL) <> (a.kind IN ('choice', 'multiple_choice', 'swatch'))
         OR (a.kind = 'text' AND v.value_text IS NULL)
         OR (a.kind = 'number' AND v.value_number IS NULL)
         OR (a.kind = 'boolean' AND v.value_boolean IS NULL)
         OR (a.kind = 'date' AND v.value_date IS NULL)
         OR (v.option_id IS NOT NULL AND o.attribute_id IS DISTINCT FROM v.attribute_id)
    )
    + (SELECT count(*) FROM (
        SELECT FROM products_productattributevalue v
        JOIN attributes_attribute a ON a.id = v.attribute_id AND a.kind IN ('choice', 'swatch')
        GROUP BY v.product_id, v.attribute_id HAVING count(*) > 1) repeated),
    (WITH axes AS (
         SELECT t.id AS type_id, array_agg(ta.attribute_id ORDER BY ta.attribute_id) AS ids
         FROM attributes_producttype t
         JOIN attributes_producttypeattribute ta ON ta.product_type_id = t.id AND ta.is_axis
         WHERE t.has_variants GROUP BY t.id),
     options AS (
         SELECT v.id, v.product_id, cardinality(v.option_ids) AS how_many,
                array_agg(o.attribute_id ORDER BY o.attribute_id)
                    FILTER (WHERE o.id IS NOT NULL) AS axis_ids
         FROM products_variant v
         LEFT JOIN LATERAL unnest(v.option_ids) option_id ON true
         LEFT JOIN attributes_attributeoption o ON o.id = option_id
         GROUP BY v.id)
     SELECT count(*) FROM options
     JOIN products_product p ON p.id = options.product_id
     LEFT JOIN axes ON axes.type_id = p.product_type_id
     WHERE options.how_many <> coalesce(cardinality(axes.ids), 0)
         OR coalesce(options.axis_ids, '{}') <> coalesce(axes.ids, '{}'))
"""


# The filtering read model's triggers (products_variant_tags_follow) refresh it statement by
# statement; a load of a million products rebuilds it once at the end instead, set-based, as
# the migration that made it does (products_variant_tags_refresh over every product).
READ_MODEL_TRIGGERS = [
    ("products_variant", "products_variant_tags_variant_insert"),
    ("products_variant", "products_variant_tags_variant_update"),
    ("products_variant", "products_variant_tags_variant_delete"),
    ("products_productattributevalue", "products_variant_tags_value_insert"),
    ("products_productattributevalue", "products_variant_tags_value_update"),
    ("products_productattributevalue", "products_variant_tags_value_delete"),
    ("products_product", "products_variant_tags_product_update"),
    ("products_category", "products_variant_tags_category_update"),
]


@contextlib.contextmanager
def read_model_rebuilt(cursor: Any) -> Iterator[None]:
    """Turn the read model's triggers off while the block writes, on again after; then
    rebuild the read model and its summaries of every product at once."""
    for table, trigger in READ_MODEL_TRIGGERS:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    try:
        yield
    finally:
        for table, trigger in READ_MODEL_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    run(cursor, "filtering read model", READ_MODEL_REBUILD_SQL)


# Every product's rows, 50,000 products a statement (the refresh's arrays of changes stay
# small), the tables locked against writers meanwhile.
READ_MODEL_REBUILD_SQL = """
LOCK TABLE products_category, products_product, products_variant,
    products_productattributevalue IN SHARE ROW EXCLUSIVE MODE;
DO $$
DECLARE
    low bigint;
    high bigint;
BEGIN
    SELECT min(id), max(id) INTO low, high FROM products_product;
    WHILE low <= high LOOP
        PERFORM products_variant_tags_refresh(
            ARRAY(SELECT id FROM products_product WHERE id >= low AND id < low + 50000), false
        );
        low := low + 50000;
    END LOOP;
END
$$;
"""


# The outbox's triggers (apps/events: every trigger of an events_* function, events_record,
# events_products_follow, events_review_moderation): a generated catalogue is a load, like a
# restore, that no subscriber has to hear of; with them on it would also write a million events.
OUTBOX_TRIGGERS_SQL = """
SELECT format('ALTER TABLE %I {action} TRIGGER %I', tgrelid::regclass, tgname)
FROM pg_trigger JOIN pg_proc ON pg_proc.oid = tgfoid
WHERE proname LIKE 'events\\_%'
ORDER BY 1
"""


@contextlib.contextmanager
def outbox_off(cursor: Any) -> Iterator[None]:
    """Turn the outbox's triggers off while the block writes, on again after."""
    cursor.execute(OUTBOX_TRIGGERS_SQL.replace("{action}", "DISABLE"))
    disable = [row[0] for row in cursor.fetchall()]
    for statement in disable:
        cursor.execute(statement)
    try:
        yield
    finally:
        for statement in disable:
            cursor.execute(statement.replace(" DISABLE TRIGGER ", " ENABLE TRIGGER "))


@contextlib.contextmanager
def row_checks_deferred(cursor: Any) -> Iterator[None]:
    """Turn the row checks off while the block writes, on again after; then check their rules
    over every row and stop the generator if a row breaks one."""
    for table, trigger in ROW_CHECKS:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    try:
        yield
    finally:
        for table, trigger in ROW_CHECKS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    start = time.perf_counter()
    cursor.execute(VIOLATIONS_SQL)
    values, variants = cursor.fetchone()
    print(f"checks: {time.perf_counter() - start:.1f} s", flush=True)
    if values or variants:
        sys.exit(f"{values} attribute values and {variants} variants break the database's rules.")


def generate_products(cursor: Any, plan: TypePlan, total: int, *, batch: int = 20_000) -> None:
    """Insert ``total`` products in batches, each batch in one transaction with its variants
    and attribute values (the variants' options are checked at its commit)."""
    start = time.perf_counter()
    products_sql = _escaped(PRODUCTS_SQL.replace("{nouns}", plan.nouns_sql), [0])
    spent = dict.fromkeys(("products", "first variants", "other variants", "values", "commit"), 0.0)

    def timed(step: str, sql: str, params: list[Any] | None = None) -> None:
        began = time.perf_counter()
        cursor.execute(sql, params)
        spent[step] += time.perf_counter() - began

    for first in range(1, total + 1, batch):
        last = min(first + batch - 1, total)
        with transaction.atomic():
            cursor.execute("SELECT coalesce(max(id), 0) FROM products_product")
            before = cursor.fetchone()[0]
            parameters = [plan.leaves, plan.leaf_types, first, last, len(plan.leaves)]
            timed("products", products_sql, [*parameters, plan.type_numbers])
            timed("first variants", _escaped(VARIANT_PLAN_SQL, [before]), [before])
            timed("first variants", FIRST_VARIANTS_SQL)
            timed("other variants", OTHER_VARIANTS_SQL)
            timed("values", _escaped(VALUES_SQL, [before]), [before])
            began = time.perf_counter()
        spent["commit"] += time.perf_counter() - began  # the deferred checks run at commit
        _progress("products", last, total, time.perf_counter() - start)
    print(flush=True)
    print("  " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in spent.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--reviews-per-product", type=float, default=2.0)
    args = parser.parse_args()
    generate(products=args.products, reviews_per_product=args.reviews_per_product)


def generate(*, products: int, reviews_per_product: float) -> None:
    """Generate the catalogue into the (empty, migrated) database of Django's connection."""
    config = search_config()
    with connection.cursor() as cursor, outbox_off(cursor):
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
        # Each leaf with the number of its department (1 to 10, by id), in id order.
        cursor.execute(
            """
            SELECT c.id, d.number
            FROM products_category c
            JOIN (SELECT id, row_number() OVER (ORDER BY id) AS number
                  FROM products_category WHERE parent_id IS NULL) d
                ON d.id = split_part(trim(BOTH '/' FROM c.path), '/', 1)::bigint
            WHERE NOT EXISTS (SELECT 1 FROM products_category d WHERE d.parent_id = c.id)
            ORDER BY c.id
            """
        )
        leaves = cursor.fetchall()
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
        plan = TypePlan.create(cursor, leaves)
        with read_model_rebuilt(cursor), row_checks_deferred(cursor):
            generate_products(cursor, plan, products)
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
            products,
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
        reviews = int(products * reviews_per_product)
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
            [products - 1],
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
        # Statistics first: with none for the millions of variants just written, PostgreSQL
        # answered LARGE_PRODUCTS_SQL's "does the product have this combination" from the GIN
        # index of every variant's options, once per combination (a million products: the
        # statement ran for over 15 minutes; 11 s with statistics).
        run(cursor, "analyze variants", "ANALYZE products_variant")
        run(cursor, "large products", LARGE_PRODUCTS_SQL)
    connection.close()
    with connection.cursor() as cursor:
        run(cursor, "vacuum analyze", "VACUUM ANALYZE")
    print("done")


if __name__ == "__main__":
    main()
