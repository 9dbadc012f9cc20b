"""The rows of a one-variant sheet, staged in a temporary table as they are read.

The check parses each row in Python and COPYs it, a chunk at a time, into
``products_import_rows``; the checks that need the whole file (a SKU or slug twice in it, the
products it names) are then SQL over that table, and the write reads its rows to write from it.
The import's memory is then a chunk's rows, whatever the size of the file; the table is the
session's, dropped with the import's transaction.

The statements over it look the catalogue's rows up by ``= ANY(ARRAY(SELECT ... FROM
products_import_rows))``, an index probe per key of the sheet: joined plainly, the planner
hashes the staged rows and scans the whole products (or variants) table (checking 50,000 rows
against 400,000 products took 7.1 s that way, 2.0 s this way).
"""

from collections.abc import Iterable, Sequence
from typing import Any

from .columns import PRODUCT_COLUMNS
from .report import ImportReport, RowError

TABLE = "products_import_rows"
FIELDS = ", ".join(column.field for column in PRODUCT_COLUMNS)

# Every row of the sheet, valid or not: the checks across rows count them all. A cell that did
# not parse holds its column's default (NULL for the category), as the row is not written.
_CREATE = f"""
DROP TABLE IF EXISTS pg_temp.{TABLE};
CREATE TEMPORARY TABLE {TABLE} (
    number integer NOT NULL,  -- as a spreadsheet shows it: the header is row 1
    valid boolean NOT NULL,
    -- Valid, and new or changed: written by the apply. Kept with ``valid`` by ``reject``.
    writes boolean NOT NULL,
    product_id bigint,  -- the product with the row's SKU, once matched; NULL for a new one
    variant_count integer,
    {", ".join(f"{column.field} {column.sql_type}" for column in PRODUCT_COLUMNS)},
    -- For a new product without a slug: the name's slug and the SKU's, to derive one from.
    slug_base text,
    sku_slug text,
    changed text[]  -- the headers of the columns whose value differs from the product's
) ON COMMIT DROP
"""
_COPY = f"COPY {TABLE} (number, valid, writes, {FIELDS}, slug_base, sku_slug) FROM STDIN"

# Mark the rows that ``found`` (number, header, message) names invalid, and list the first of
# its errors with their count. Data-modifying WITH queries run to completion whatever the
# LIMIT, and the query sees the rows as they were before it.
_REJECT = """
WITH found AS MATERIALIZED ({found}),
rejected AS (
    UPDATE products_import_rows AS incoming SET valid = false, writes = false
    FROM found WHERE incoming.number = found.number
)
SELECT number, header, message, count(*) OVER () FROM found ORDER BY number LIMIT %(listed)s
"""


def create_staging_table(cursor: Any) -> None:
    """Create the (empty) table of the sheet's rows, for the transaction."""
    cursor.execute(_CREATE)


def stage_rows(cursor: Any, rows: Iterable[Sequence[Any]]) -> None:
    """COPY ``rows`` (number, valid, the values of PRODUCT_COLUMNS, slug_base, sku_slug) into
    the table."""
    # COPY through psycopg directly: Django's cursor has no COPY of its own.
    with cursor.cursor.copy(_COPY) as copy:
        for number, valid, *values in rows:
            copy.write_row((number, valid, valid, *values))


def reject(
    cursor: Any, report: ImportReport, found: str, parameters: dict[str, Any] | None = None
) -> None:
    """Mark invalid the rows of the SQL query ``found`` (number, header, message: one row per
    error) and add its errors to ``report``: all counted, the first few listed."""
    room = report.room_for_errors
    # One row at least, for the count.
    cursor.execute(_REJECT.format(found=found), {**(parameters or {}), "listed": max(room, 1)})
    found_rows = cursor.fetchall()
    if not found_rows:
        return
    listed = [RowError(number, header, message) for number, header, message, _ in found_rows]
    report.add_counted_errors(listed[:room], count=found_rows[0][3])
