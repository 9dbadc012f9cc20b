"""Writing products out as a sheet, in the columns an import reads back unchanged."""

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import QuerySet

from ..limits import XLSX_MAX_ROWS
from ..models import Product
from .columns import HEADERS, PRODUCT_COLUMNS
from .errors import ImportFileError
from .xlsx_reader import xlsx_escape

_CHUNK_ROWS = 2_000


def export_rows(products: QuerySet[Product]) -> Iterator[tuple[Any, ...]]:
    """Yield ``products`` as sheet rows, header first, streaming from the database."""
    yield HEADERS
    values = products.values_list(*(column.exported for column in PRODUCT_COLUMNS))
    yield from values.iterator(chunk_size=_CHUNK_ROWS)


def export_csv(products: QuerySet[Product]) -> Iterator[bytes]:
    """Yield ``products`` as a UTF-8 CSV file (with the byte-order mark Excel looks for)."""
    # Cells that look like formulas (=, +, -, @) are written as they are: prefixing them would
    # change the data on the way back in. The catalogue is written by staff only.
    renderers = [column.cell.render for column in PRODUCT_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    rows = export_rows(products)
    writer.writerow(next(rows))
    for count, row in enumerate(rows, start=2):
        writer.writerow([render(value) for render, value in zip(renderers, row, strict=True)])
        if count % _CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def export_xlsx(products: QuerySet[Product], file: IO[bytes]) -> int:
    """Write ``products`` into ``file`` as an XLSX workbook; return the number of products.

    Raise ImportFileError if there are more than an Excel sheet holds.
    """
    # Imported here: openpyxl adds 8 MB to every worker, and only exports use it.
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Products")
    rows = export_rows(products)
    sheet.append(next(rows))
    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise ImportFileError(
                f"An XLSX sheet holds at most {XLSX_MAX_ROWS:,} products: export CSV instead."
            )
        # Numbers and booleans as they are: a workbook has cells of those types.
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(file)
    return count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = xlsx_escape(value)
    if value.startswith("="):
        # openpyxl would store it as a formula; keep it text, as it came.
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]  # noqa: PLC0415

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value
