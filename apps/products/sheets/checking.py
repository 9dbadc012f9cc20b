"""Checking a one-variant sheet against itself and the catalogue, and deciding what each row
does.

Every row is parsed and its category resolved as it is read, a chunk of rows at a time, and
staged in a temporary table (``staging``); then, in SQL over that table, its SKU is matched to a
product, its slug checked or derived, and each valid row found new, changed or unchanged, once.
The dry run reports that decision, and the commit writes exactly the rows it found new or
changed, from the same table. Checking holds a chunk of rows at a time, and costs a handful of
statements (and a query per chunk) whatever the number of rows.
"""

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from ..models import PRODUCT_SUMMARY_RULES, SEVERAL_VARIANTS_MESSAGE, SUMMARY_FIELD_PLURALS
from .cells import CategoryReference, shorten
from .columns import (
    CHANGES_ORDER,
    DEFAULT_VALUES,
    KEY,
    POSITION,
    PRODUCT_COLUMNS,
    Column,
    SheetRow,
    sheet_columns,
)
from .errors import CellError, ImportFileError
from .reading import cyclic_gc_paused
from .report import SAMPLE_SIZE, ImportReport, RowChange
from .slugs import assign_slugs, sku_slug, slug_base
from .staging import FIELDS, create_staging_table, reject, stage_rows

# Rows are parsed, their categories resolved and COPYed into the staging table this many at a
# time: the rows the check holds at once.
CHUNK_ROWS = 5_000

_NAME_POSITION = POSITION["name"]

_DUPLICATE_SKUS = """
SELECT number, 'sku' AS header, 'SKU ' || sku || ' is also on row ' || first_number || '.'
    AS message
FROM (
    SELECT number, sku, min(number) OVER (PARTITION BY sku) AS first_number
    FROM products_import_rows WHERE sku <> ''
) AS keyed
WHERE number > first_number
"""
# The products the sheet names, locked in id order as the bulk actions lock them (rows are
# locked in the order of the ORDER BY), before anything reads their values.
_LOCK_PRODUCTS = """
SELECT count(*) FROM (
    SELECT id FROM products_product WHERE sku = ANY(ARRAY(SELECT sku FROM products_import_rows))
    ORDER BY id FOR UPDATE
) AS locked
"""
_MATCH_PRODUCTS = """
UPDATE products_import_rows AS incoming
SET product_id = product.id, variant_count = product.variant_count
FROM products_product AS product
WHERE product.sku = ANY(ARRAY(SELECT sku FROM products_import_rows))
    AND product.sku = incoming.sku
"""
# A new row whose SKU is that of another product's variant (not its first: the product's own
# SKU is its first variant's, and matches the row). As it always did, every new row with such
# a SKU is refused, if one of them is valid.
_VARIANT_SKUS = """
SELECT incoming.number, 'sku' AS header,
    'SKU ' || incoming.sku || ' is a variant of the product ' || taken.product_sku || '.'
        AS message
FROM (
    SELECT variant.sku, product.sku AS product_sku
    FROM products_variant AS variant
    JOIN products_product AS product ON product.id = variant.product_id
    WHERE variant.sku = ANY(ARRAY(
        SELECT sku FROM products_import_rows WHERE product_id IS NULL AND valid
    ))
) AS taken
JOIN products_import_rows AS incoming ON incoming.sku = taken.sku
WHERE incoming.product_id IS NULL
"""
# Each valid row of a product: a blank cell of a column that keeps the product's value takes
# it, and the columns of the sheet whose values differ from the product's are noted. A row that
# changes something is written.
_COMPARE = """
UPDATE products_import_rows AS incoming SET {kept}
    changed = array_remove(ARRAY[{changed}]::text[], NULL),
    writes = cardinality(array_remove(ARRAY[{changed}]::text[], NULL)) > 0
FROM products_product AS product
WHERE product.id = ANY(ARRAY(
    SELECT product_id FROM products_import_rows WHERE valid AND product_id IS NOT NULL
))
    AND product.id = incoming.product_id AND incoming.valid
"""
# The price and stock of a product of several variants are its variants' summary.
_SUMMARY_CHANGES = """
SELECT incoming.number, summary.header, summary.message
FROM products_import_rows AS incoming
CROSS JOIN unnest(%(headers)s::text[], %(messages)s::text[]) AS summary (header, message)
WHERE incoming.writes AND incoming.variant_count > 1 AND summary.header = ANY(incoming.changed)
"""
_COUNTS = """
SELECT count(*) FILTER (WHERE NOT valid),
    count(*) FILTER (WHERE valid AND product_id IS NULL),
    count(*) FILTER (WHERE writes AND product_id IS NOT NULL),
    count(*) FILTER (WHERE valid AND NOT writes)
FROM products_import_rows
"""
_NEW_SAMPLE = f"""
SELECT number, {FIELDS} FROM products_import_rows
WHERE writes AND product_id IS NULL ORDER BY number LIMIT {SAMPLE_SIZE}
"""  # noqa: S608 (names from the column declarations)
_CHANGED_SAMPLE = f"""
SELECT incoming.number, incoming.changed,
    {", ".join(f"incoming.{column.field}" for column in PRODUCT_COLUMNS)},
    {", ".join(f"product.{column.field}" for column in PRODUCT_COLUMNS)}
FROM (
    SELECT * FROM products_import_rows WHERE writes AND product_id IS NOT NULL
    ORDER BY number LIMIT {SAMPLE_SIZE}
) AS incoming
JOIN products_product AS product ON product.id = incoming.product_id
ORDER BY incoming.number
"""  # noqa: S608 (names from the column declarations)


@dataclass
class CheckedSheet:
    """A checked sheet: its report, and (staged) the rows that ``writing.write_rows`` writes."""

    report: ImportReport
    columns: tuple[Column, ...]  # the sheet's, in its order


def check_sheet(
    headers: tuple[str, ...],
    data_rows: Iterable[tuple[int, list[str]]],
    file_format: str,
    *,
    lock_products: bool = False,
) -> CheckedSheet:
    """Parse and check every row of a sheet and decide what each one does.

    The rows are staged in a temporary table (see ``staging``) that lasts as long as the
    transaction: the write, in the same transaction, reads it. With ``lock_products`` the
    products the sheet names are locked before their values are read, in id order as the bulk
    actions lock them: nothing changes them between this decision and the write. Raise
    ImportFileError if the file cannot be read as a sheet.
    """
    columns = sheet_columns(headers)
    report = ImportReport(file_format=file_format, columns=headers)
    # A transaction of its own if it is not in one: the staging table lasts until it ends.
    with transaction.atomic(), connection.cursor() as cursor:
        create_staging_table(cursor)
        parser = _RowParser(columns, report)
        with cyclic_gc_paused():
            for chunk in _chunks(data_rows, CHUNK_ROWS):
                stage_rows(cursor, parser.parse(chunk))
        if not parser.count:
            raise ImportFileError("The file has a header row but no products.")
        report.row_count = parser.count
        # The statements below join it with the catalogue: the planner needs its size.
        cursor.execute("ANALYZE products_import_rows")

        reject(cursor, report, _DUPLICATE_SKUS)
        if lock_products:
            cursor.execute(_LOCK_PRODUCTS)
        cursor.execute(_MATCH_PRODUCTS)
        reject(cursor, report, _VARIANT_SKUS)
        assign_slugs(cursor, report)
        _decide(cursor, columns, report)
    # In the order of the sheet, whichever check found them.
    report.errors.sort(key=lambda error: (error.row, POSITION.get(error.column, -1)))
    return CheckedSheet(report, columns)


def _chunks(
    rows: Iterable[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class _RowParser:
    """Parses a sheet's rows a chunk at a time into the staging table's rows, recording each
    bad cell in the report, and counts them."""

    def __init__(self, columns: tuple[Column, ...], report: ImportReport) -> None:
        self.parsers = [
            (POSITION[column.header], column.header, column.cell.parse) for column in columns
        ]
        self.width = len(columns)
        self.report = report
        self.count = 0

    def parse(self, chunk: list[tuple[int, list[str]]]) -> list[tuple[Any, ...]]:
        """Return the staging table's rows of ``chunk``: number, valid, values, slug_base,
        sku_slug."""
        rows = [self._parse_row(number, cells) for number, cells in chunk]
        self.count += len(rows)
        _resolve_categories(rows, self.report)
        return [
            (
                row.number,
                row.valid,
                *row.values,
                *(self._slug_parts(row) if row.valid and not row["slug"] else (None, None)),
            )
            for row in rows
        ]

    def _parse_row(self, number: int, cells: list[str]) -> SheetRow:
        row = SheetRow(number, list(DEFAULT_VALUES))
        width = self.width
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            row.valid = False
            self.report.add_error(
                number, "", f"The row has {len(cells)} cells but the header names {width}."
            )
        # A short row (a spreadsheet drops trailing empty cells) reads as blank cells.
        texts = cells + [""] * (width - len(cells))
        values = row.values
        for (position, header, parse), text in zip(self.parsers, texts, strict=False):
            try:
                if "\x00" in text:  # PostgreSQL text cannot hold it
                    raise CellError("The cell contains a NUL character.")
                values[position] = parse(text)
            except CellError as error:
                row.valid = False
                self.report.add_error(number, header, str(error))
        return row

    @staticmethod
    def _slug_parts(row: SheetRow) -> tuple[str, str]:
        # Derived only for a new product (known later): the work is the same as deriving it.
        return slug_base(row.values[_NAME_POSITION]), sku_slug(row["sku"])


def _resolve_categories(rows: list[SheetRow], report: ImportReport) -> None:
    """Replace each row's category reference by the category's id, or report it unknown (one
    query per chunk of rows)."""
    for column in PRODUCT_COLUMNS:
        if not isinstance(column.cell, CategoryReference):
            continue
        position = POSITION[column.header]
        ids = column.cell.resolve({row.values[position] for row in rows if row.values[position]})
        for row in rows:
            reference = row.values[position]
            if not reference:  # the cell did not parse
                row.values[position] = None
                continue
            category_id = ids.get(reference)
            if category_id is None:
                row.valid = False
                report.add_error(row.number, column.header, column.cell.unknown(reference))
            row.values[position] = category_id


def _decide(cursor: Any, columns: tuple[Column, ...], report: ImportReport) -> None:
    """Decide what each valid row does and count it (in ``report``, with a sample).

    A row changes its product if a value of the sheet's columns differs from the product's.
    """
    in_sheet = {column.header for column in columns}
    compared = [header for header in CHANGES_ORDER if header in in_sheet]
    kept = "".join(
        f"{column.field} = {_value(column)}, "
        for column in PRODUCT_COLUMNS
        if column.blank_keeps_current
    )
    changed = ", ".join(
        f"CASE WHEN {_value(column)} IS DISTINCT FROM product.{column.field} "
        f"THEN '{column.header}' END"
        for column in (PRODUCT_COLUMNS[POSITION[header]] for header in compared)
    )
    cursor.execute(_COMPARE.format(kept=kept, changed=changed or "NULL"))
    summary = [
        column.header
        for column in PRODUCT_COLUMNS
        if column.header in compared and column.field in PRODUCT_SUMMARY_RULES
    ]
    if summary:
        # The product's price and stock are its variants' summary; the sheet of variants, one
        # row each, is slice 4 of issue 13.
        messages = [
            SEVERAL_VARIANTS_MESSAGE.format(SUMMARY_FIELD_PLURALS[header]) for header in summary
        ]
        reject(cursor, report, _SUMMARY_CHANGES, {"headers": summary, "messages": messages})

    cursor.execute(_COUNTS)
    report.invalid, report.new, report.changed, report.unchanged = cursor.fetchone()
    cursor.execute(_NEW_SAMPLE)
    samples = [
        RowChange(number, values[POSITION[KEY.header]], True, _new_values(list(values)))
        for number, *values in cursor.fetchall()
    ]
    cursor.execute(_CHANGED_SAMPLE)
    width = len(PRODUCT_COLUMNS)
    for number, changed_headers, *both in cursor.fetchall():
        values, current = both[:width], both[width:]
        changes = {
            header: (
                _shown(POSITION[header], current[POSITION[header]]),
                _shown(POSITION[header], values[POSITION[header]]),
            )
            for header in changed_headers
        }
        samples.append(RowChange(number, values[POSITION[KEY.header]], False, changes))
    report.samples = sorted(samples, key=lambda sample: sample.row)
    _label_categories(report)


def _value(column: Column) -> str:
    """Return the SQL of a valid row's value of ``column`` (a blank one may keep the product's)."""
    if column.blank_keeps_current:
        return f"coalesce(nullif(incoming.{column.field}, ''), product.{column.field})"
    return f"incoming.{column.field}"


def _new_values(values: list[Any]) -> dict[str, tuple[str, str]]:
    return {
        column.header: ("", _shown(position, values[position]))
        for position, column in enumerate(PRODUCT_COLUMNS)
        if not column.key
    }


def _shown(position: int, value: object) -> str:
    return shorten(PRODUCT_COLUMNS[position].cell.render(value), 80)


def _label_categories(report: ImportReport) -> None:
    """Show the sample's categories by slug rather than id (one query, for the sample only)."""
    for column in PRODUCT_COLUMNS:
        if not isinstance(column.cell, CategoryReference):
            continue
        header = column.header
        ids = {
            int(value)
            for change in report.samples
            for value in change.changes.get(header, ())
            if value
        }
        if not ids:
            continue
        slugs = {str(pk): slug for pk, slug in column.cell.labels(ids).items()}
        for change in report.samples:
            if header in change.changes:
                before, after = change.changes[header]
                change.changes[header] = (slugs.get(before, before), slugs.get(after, after))
