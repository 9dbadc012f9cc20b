"""Checking a sheet against itself and the catalogue, and deciding what each row does.

Every row is parsed, its SKU matched to a product, its category resolved and its slug checked or
derived; then each valid row is found new, changed or unchanged, once. The dry run reports that
decision, and the commit writes exactly the rows it found new or changed. Checking costs a
handful of queries whatever the number of rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from ..models import PRODUCT_SUMMARY_RULES, SEVERAL_VARIANTS_MESSAGE, SUMMARY_FIELD_PLURALS
from .cells import CategoryReference, shorten
from .columns import (
    CHANGES_ORDER,
    DEFAULT_VALUES,
    HEADERS,
    KEY,
    POSITION,
    PRODUCT_COLUMNS,
    Column,
    SheetRow,
    sheet_columns,
)
from .errors import CellError, ImportFileError
from .reading import Rows, cyclic_gc_paused
from .report import SAMPLE_SIZE, ImportReport, RowChange
from .slugs import assign_slugs

_KEY_POSITION = POSITION[KEY.header]


@dataclass
class CheckedSheet:
    report: ImportReport
    columns: tuple[Column, ...]  # the sheet's, in its order
    writes: list[SheetRow]  # the rows that create or change a product, if the sheet is valid


def check_sheet(
    headers: tuple[str, ...], data_rows: Rows, file_format: str, *, lock_products: bool = False
) -> CheckedSheet:
    """Parse and check every row of a sheet and decide what each one does.

    With ``lock_products`` (in a transaction) the products the sheet names are locked as they
    are read, in id order as the bulk actions lock them: nothing changes them between this
    decision and the write. Raise ImportFileError if the file cannot be read as a sheet.
    """
    columns = sheet_columns(headers)
    report = ImportReport(file_format=file_format, columns=headers)
    with cyclic_gc_paused():
        rows = _parse_rows(data_rows, columns, report)
    if not rows:
        raise ImportFileError("The file has a header row but no products.")
    report.row_count = len(rows)

    _check_duplicate_skus(rows, report)
    _resolve_categories(rows, report)
    _match_products(rows, lock=lock_products)
    _check_variant_skus(rows, report)
    assign_slugs(rows, report)
    writes = _decide(rows, columns, report)
    # In the order of the sheet, whichever check found them.
    report.errors.sort(key=lambda error: (error.row, POSITION.get(error.column, -1)))
    return CheckedSheet(report, columns, writes)


def _parse_rows(
    data_rows: Iterable[tuple[int, list[str]]], columns: tuple[Column, ...], report: ImportReport
) -> list[SheetRow]:
    """Parse each row's cells, recording each bad cell in ``report``."""
    parsers = [(POSITION[column.header], column.header, column.cell.parse) for column in columns]
    width = len(columns)
    rows = []
    for number, cells in data_rows:
        row = SheetRow(number, list(DEFAULT_VALUES))
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            row.valid = False
            report.add_error(
                number, "", f"The row has {len(cells)} cells but the header names {width}."
            )
        # A short row (a spreadsheet drops trailing empty cells) reads as blank cells.
        texts = cells + [""] * (width - len(cells))
        values = row.values
        for (position, header, parse), text in zip(parsers, texts, strict=False):
            try:
                if "\x00" in text:  # PostgreSQL text cannot hold it
                    raise CellError("The cell contains a NUL character.")
                values[position] = parse(text)
            except CellError as error:
                row.valid = False
                report.add_error(number, header, str(error))
        rows.append(row)
    return rows


def _check_duplicate_skus(rows: list[SheetRow], report: ImportReport) -> None:
    first_row: dict[str, int] = {}
    for row in rows:
        sku = row.values[_KEY_POSITION]
        if not sku:
            continue
        if sku in first_row:
            row.valid = False
            report.add_error(row.number, KEY.header, f"SKU {sku} is also on row {first_row[sku]}.")
        else:
            first_row[sku] = row.number


def _resolve_categories(rows: list[SheetRow], report: ImportReport) -> None:
    """Replace each row's category reference by the category's id, or report it unknown."""
    for column in PRODUCT_COLUMNS:
        if not isinstance(column.cell, CategoryReference):
            continue
        position = POSITION[column.header]
        ids = column.cell.resolve({row.values[position] for row in rows if row.values[position]})
        for row in rows:
            reference = row.values[position]
            if not reference:  # the cell did not parse
                continue
            category_id = ids.get(reference)
            if category_id is None:
                row.valid = False
                report.add_error(row.number, column.header, column.cell.unknown(reference))
            else:
                row.values[position] = category_id


def _match_products(rows: list[SheetRow], *, lock: bool) -> None:
    """Attach to each row the product that has its SKU, and its values, in one query."""
    skus = [row.values[_KEY_POSITION] for row in rows if row.values[_KEY_POSITION]]
    fields = ", ".join(column.field for column in PRODUCT_COLUMNS)
    locking = " ORDER BY id FOR UPDATE" if lock else ""
    with connection.cursor() as cursor:
        # One array parameter rather than Django's IN (%s, %s ...): 100,000 SKUs make one value.
        cursor.execute(
            f"SELECT id, variant_count, {fields} FROM products_product"  # noqa: S608  (names from the columns)
            f" WHERE {KEY.field} = ANY(%s::text[]){locking}",
            [skus],
        )
        products = {values[2 + _KEY_POSITION]: values for values in cursor.fetchall()}
    for row in rows:
        product = products.get(row.values[_KEY_POSITION])
        if product is not None:
            row.product_id, row.variant_count, row.current = product[0], product[1], product[2:]


def _check_variant_skus(rows: list[SheetRow], report: ImportReport) -> None:
    """Refuse a new row whose SKU is that of another product's variant (not its first: the
    product's own SKU is its first variant's, and matches the row)."""
    skus = [row.values[_KEY_POSITION] for row in rows if row.current is None and row.valid]
    if not skus:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT variant.sku, product.sku FROM products_variant AS variant"
            " JOIN products_product AS product ON product.id = variant.product_id"
            " WHERE variant.sku = ANY(%s::text[])",
            [skus],
        )
        taken = dict(cursor.fetchall())
    for row in rows:
        sku = row.values[_KEY_POSITION]
        if row.current is None and sku in taken:
            row.valid = False
            report.add_error(
                row.number, KEY.header, f"SKU {sku} is a variant of the product {taken[sku]}."
            )


def _decide(
    rows: list[SheetRow], columns: tuple[Column, ...], report: ImportReport
) -> list[SheetRow]:
    """Count what each row does (in ``report``, with a sample), and return those to write.

    A row changes its product if a value of the sheet's columns differs from the product's.
    """
    in_sheet = {column.header for column in columns}
    compared = [POSITION[header] for header in CHANGES_ORDER if header in in_sheet]
    kept_when_blank = [
        position for position, column in enumerate(PRODUCT_COLUMNS) if column.blank_keeps_current
    ]
    writes = []
    sampled_new = sampled_changed = 0
    for row in rows:
        if not row.valid:
            report.invalid += 1
            continue
        values, current = row.values, row.current
        if current is None:
            report.new += 1
            writes.append(row)
            if sampled_new < SAMPLE_SIZE:
                sampled_new += 1
                report.samples.append(RowChange(row.number, row["sku"], True, _new_values(row)))
            continue
        for position in kept_when_blank:
            if not values[position]:
                values[position] = current[position]
        changed = [position for position in compared if values[position] != current[position]]
        if not changed:
            report.unchanged += 1
            continue
        if row.variant_count > 1:
            summary = [
                HEADERS[position]
                for position in changed
                if PRODUCT_COLUMNS[position].field in PRODUCT_SUMMARY_RULES
            ]
            if summary:
                # The product's price and stock are its variants' summary; the sheet of
                # variants, one row each, is slice 4 of issue 13.
                for header in summary:
                    report.add_error(
                        row.number,
                        header,
                        SEVERAL_VARIANTS_MESSAGE.format(SUMMARY_FIELD_PLURALS[header]),
                    )
                report.invalid += 1
                continue
        report.changed += 1
        writes.append(row)
        if sampled_changed < SAMPLE_SIZE:
            sampled_changed += 1
            changes = {
                HEADERS[position]: (
                    _shown(position, current[position]),
                    _shown(position, values[position]),
                )
                for position in changed
            }
            report.samples.append(RowChange(row.number, row["sku"], False, changes))
    _label_categories(report)
    return writes


def _new_values(row: SheetRow) -> dict[str, tuple[str, str]]:
    return {
        column.header: ("", _shown(position, row.values[position]))
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
