"""The EAV comparator's side tables, Saleor's shape, filled from our tables.

    DATABASE_URL=postgres://... python -m benchmarks.eav.tables

- ``eav_product_value``: one row per value of a product (``products_productattributevalue``,
  the filterable kinds: an option, a number or a yes/no), as Saleor's assigned product
  attribute values;
- ``eav_variant_value``: one row per (variant, attribute, option), from each variant's
  ``option_ids``, as Saleor's assigned variant attribute values.

Each is dropped and written again (a snapshot of the catalogue: run it after generating it;
the runner does before it starts the comparator), with the indexes that Saleor's queries use.
"""

import os
import sys
import time
from typing import Any

import psycopg

BUILD_SQL = [
    "DROP TABLE IF EXISTS eav_product_value, eav_variant_value",
    """
    CREATE TABLE eav_product_value AS
    SELECT v.product_id, v.attribute_id, v.option_id, v.value_number, v.value_boolean
    FROM products_productattributevalue v
    WHERE v.option_id IS NOT NULL OR v.value_number IS NOT NULL OR v.value_boolean IS NOT NULL
    """,
    """
    CREATE TABLE eav_variant_value AS
    SELECT v.id AS variant_id, o.attribute_id, o.id AS option_id
    FROM products_variant v
    CROSS JOIN LATERAL unnest(v.option_ids) AS option_id
    JOIN attributes_attributeoption o ON o.id = option_id
    """,
    # A product's values; the products with an option; those with a number in a range.
    "CREATE INDEX eav_product_value_product ON eav_product_value (product_id, attribute_id)",
    "CREATE INDEX eav_product_value_option ON eav_product_value (option_id, product_id)",
    """CREATE INDEX eav_product_value_number ON eav_product_value
       (attribute_id, value_number, product_id) WHERE option_id IS NULL""",
    # A variant's options; the variants with an option.
    """CREATE INDEX eav_variant_value_variant ON eav_variant_value
       (variant_id, attribute_id, option_id)""",
    "CREATE INDEX eav_variant_value_option ON eav_variant_value (option_id, variant_id)",
    "ANALYZE eav_product_value",
    "ANALYZE eav_variant_value",
]


def build_side_tables(connection: psycopg.Connection[Any]) -> dict[str, int]:
    """Write the side tables again from our tables; return their row counts."""
    with connection.transaction():
        for statement in BUILD_SQL[:-2]:
            connection.execute(statement)
    for statement in BUILD_SQL[-2:]:
        connection.execute(statement)
    counts = {}
    for table in ("eav_product_value", "eav_variant_value"):
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        counts[table] = row[0] if row else 0
    return counts


def main() -> None:
    start = time.perf_counter()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        counts = build_side_tables(connection)
    figures = ", ".join(f"{table} {rows:,} rows" for table, rows in counts.items())
    print(f"{figures} in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
