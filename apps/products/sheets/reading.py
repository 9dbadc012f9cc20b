"""Reading a sheet: which format a file is, its header row checked against the columns, its
data rows as text, and a workbook transcribed to CSV."""

import contextlib
import csv
import gc
import io
from collections.abc import Callable, Generator, Iterator
from typing import IO

from .cells import shorten
from .columns import HEADERS, OPTIONAL_HEADERS, REQUIRED_HEADERS
from .csv_reader import csv_rows
from .errors import ImportFileError
from .variant_columns import is_variant_sheet, normalise_header, variant_sheet_layout
from .xlsx_reader import xlsx_rows

FORMATS = ("csv", "xlsx")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other Office 97 files)

Rows = Iterator[tuple[int, list[str]]]  # (row number, cells as text)


def detect_format(filename: str, head: bytes) -> str:
    """Return "csv" or "xlsx" for a file by its first bytes and name, or raise ImportFileError."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not head:
        raise ImportFileError("The file is empty.")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC) or extension == "xls":
        raise ImportFileError(
            "Old Excel workbooks (.xls) cannot be read: save the sheet as .xlsx or as CSV UTF-8."
        )
    if b"\x00" in head or extension == "xlsx":
        raise ImportFileError("The file is neither a CSV file nor an XLSX workbook.")
    return "csv"


def read_sheet(
    file: IO[bytes], file_format: str, *, max_rows: int | None = None
) -> tuple[tuple[str, ...], Rows]:
    """Return a sheet's columns (checked) and an iterator of (row number, cells) for its rows.

    Row numbers are those a spreadsheet shows: the header is row 1. Blank rows are skipped. The
    iterator raises ImportFileError when the file turns out malformed, or has more than
    ``max_rows`` rows.
    """
    rows = _rows(file, file_format)
    try:
        header = next(rows, None)
        if header is None or not any(cell.strip() for cell in header[1]):
            raise ImportFileError("The file has no header row.")
        columns = _check_header(header[1])
    except ImportFileError:
        rows.close()  # now, while the file is still open
        raise
    return columns, _filled_rows(rows, max_rows)


def sheet_to_csv(
    file: IO[bytes],
    file_format: str,
    output: IO[bytes],
    *,
    max_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 5_000,
) -> None:
    """Write a sheet's cells into ``output`` as a UTF-8 CSV file that reads back the same.

    Reading an XLSX workbook takes several times longer than reading the same rows as CSV:
    transcribed once, a workbook is checked again on confirmation at CSV speed. Row numbers
    stay the spreadsheet's (a workbook's empty rows are written as empty lines). Raise
    ImportFileError if the file cannot be read, or has more than ``max_rows`` rows.
    ``progress``, if given, is told how many rows were written every ``progress_every`` rows.
    """
    rows = _rows(file, file_format)
    text = io.TextIOWrapper(output, encoding="utf-8", newline="")
    writer = csv.writer(text)
    written = count = 0
    try:
        with cyclic_gc_paused():
            for number, cells in _filled_rows(rows, max_rows, with_header=True):
                writer.writerows([[]] * (number - written - 1))
                writer.writerow(cells)
                written = number
                count += 1
                if progress is not None and count % progress_every == 0:
                    progress(count - 1)  # the header is no row of products
    finally:
        rows.close()
        text.flush()
        text.detach()  # leave the caller's file open


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector while a sheet is read, and resume it after.

    Parsing makes millions of short-lived objects (an XML element per cell) and keeps 100,000
    rows: the collector would run thousands of times and walk the rows kept, about 2 s of 8 for
    an XLSX dry run. Nothing read here makes reference cycles; reference counting frees it all.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _rows(file: IO[bytes], file_format: str) -> Generator[tuple[int, list[str]]]:
    assert file_format in FORMATS, f"file_format must be one of {FORMATS}, not {file_format!r}"
    return csv_rows(file) if file_format == "csv" else xlsx_rows(file)


def _filled_rows(rows: Rows, max_rows: int | None, *, with_header: bool = False) -> Rows:
    """Yield the rows that are not blank; raise ImportFileError past ``max_rows`` products
    (the first row, ``with_header``, not being one)."""
    count = -1 if with_header else 0
    for number, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        if max_rows is not None and count > max_rows:
            raise _too_many_rows(max_rows)
        yield number, cells


def _too_many_rows(max_rows: int) -> ImportFileError:
    return ImportFileError(
        f"The file has more than {max_rows:,} rows: split it into smaller files, or run "
        "`manage.py import_products` on the server."
    )


def _check_header(cells: list[str]) -> tuple[str, ...]:
    names = [normalise_header(cell) for cell in cells]
    while names and not names[-1]:  # trailing empty header cells, as spreadsheets leave them
        names.pop()
    expected = ", ".join(HEADERS)
    if "" in names:
        position = names.index("") + 1
        raise ImportFileError(f"Column {position} has no name in the header row.")
    duplicates = sorted({shorten(name) for name in names if names.count(name) > 1})[:5]
    if duplicates:
        raise ImportFileError(f"Columns named more than once: {', '.join(duplicates)}.")
    if is_variant_sheet(names):
        variant_sheet_layout(names)  # raises ImportFileError if a column is wrong
        return tuple(names)
    unknown = [shorten(name) for name in names if name not in HEADERS]
    if unknown:
        listed = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ImportFileError(f"Unknown columns: {listed}. The columns are: {expected}.")
    missing = [name for name in REQUIRED_HEADERS if name not in names]
    if missing:
        optional = f"{', '.join(OPTIONAL_HEADERS[:-1])} and {OPTIONAL_HEADERS[-1]}"
        raise ImportFileError(
            f"Missing columns: {', '.join(missing)}. The columns are: {expected} "
            f"({optional} may be left out)."
        )
    return tuple(names)
