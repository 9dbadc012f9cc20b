"""Products to and from spreadsheets: read a CSV or XLSX sheet, check every row, upsert by SKU,
and write the same sheet back out.

One sheet format serves both directions, so that an export re-imports unchanged::

    sku, name, slug, description, price, stock, is_active, category

``sku`` is the key; ``category`` is a category's slug or id. ``sku``, ``name``, ``price`` and
``category`` must be columns of the sheet; ``slug``, ``description``, ``stock`` and
``is_active`` may be left out, and then a new product gets the default and an existing one keeps
its value. A blank ``slug`` likewise keeps the product's slug, or derives one from the name.

Checking costs a handful of queries whatever the number of rows (the categories named, the
products with the sheet's SKUs, the slugs asked for), so a dry run of 100,000 rows is quick and
writes nothing. Writing is set-based, in one transaction: the rows are COPYed into a temporary
table, one INSERT adds the words of new and renamed products to the search lexicon, one UPDATE
changes the products whose values differ (so an unchanged product keeps its ``updated_at`` and
fires no trigger), and one INSERT ... ON CONFLICT adds the new ones. The UPDATE and the INSERT
each record an audit entry per product they write, in the same statement, under one batch.
"""

import contextlib
import csv
import functools
import gc
import io
import itertools
import re
import uuid
import zipfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any, cast
from xml.etree import ElementTree

import psycopg
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from apps.core.services import audit_insert_sql, audit_parameters, register_audit_action
from apps.users.models import User

from .models import Category, Product
from .search import DEFER_LEXICON_SETTING

COLUMNS = ("sku", "name", "slug", "description", "price", "stock", "is_active", "category")
REQUIRED_COLUMNS = ("sku", "name", "price", "category")
_COLUMN_ORDER = {name: position for position, name in enumerate(COLUMNS)}
FORMATS = ("csv", "xlsx")

# Field limits, from the model so that a row that passes here also passes the database.
SKU_MAX_LENGTH = Product._meta.get_field("sku").max_length or 64
NAME_MAX_LENGTH = Product._meta.get_field("name").max_length or 200
SLUG_MAX_LENGTH = Product._meta.get_field("slug").max_length or 220
# A description is a TextField; this bound keeps one runaway cell from bloating the search
# document, and stays below the csv module's own cell limit (131,072 characters).
DESCRIPTION_MAX_LENGTH = 100_000
PRICE_LIMIT = Decimal("100000000")  # max_digits=10, decimal_places=2
CENT = Decimal("0.01")
STOCK_MAX = 2_147_483_647  # PostgreSQL integer
# An XLSX file is a zip: refuse one that would unpack to more than this (a zip bomb).
XLSX_MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# Excel's sheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575

REPORTED_ERRORS_LIMIT = 500
SAMPLE_SIZE = 20

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other Office 97 files)
_EXPORT_CHUNK_ROWS = 2_000
_XML_CHUNK_BYTES = 16 * 1024


class ImportFileError(Exception):
    """The file cannot be read as a product sheet at all (as opposed to errors in its rows)."""


@dataclass(frozen=True)
class RowError:
    """A problem with one cell (``column``) or a whole row (``column`` empty)."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class RowChange:
    """What a row does to its product: each field's value before and after, as text."""

    row: int
    sku: str
    is_new: bool
    changes: dict[str, tuple[str, str]]


@dataclass
class ImportReport:
    """The outcome of checking (and, when ``committed``, writing) a product sheet.

    Rows are counted once each: ``new + changed + unchanged + invalid == row_count``. Only the
    first ``REPORTED_ERRORS_LIMIT`` errors are listed; ``error_count`` counts them all.
    """

    file_format: str
    columns: tuple[str, ...]
    row_count: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    samples: list[RowChange] = field(default_factory=list)
    committed: bool = False
    # The audit trail's batch of the products this import created or changed, once written.
    audit_batch: uuid.UUID | None = None

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    @property
    def unlisted_error_count(self) -> int:
        return self.error_count - len(self.errors)

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < REPORTED_ERRORS_LIMIT:
            self.errors.append(RowError(row, column, message))


@dataclass(slots=True, eq=False)  # compared and hashed by identity: rows key dicts
class _Row:
    """One data row, its cells parsed; a value that did not parse is left at its default."""

    number: int
    sku: str = ""
    name: str = ""
    slug: str = ""  # empty: keep the product's slug, or derive one for a new product
    description: str = ""
    price: Decimal = Decimal(0)
    stock: int = 0
    is_active: bool = True
    category_ref: str = ""
    category_id: int = 0
    valid: bool = True
    existing: "_Existing | None" = None


@dataclass(frozen=True, slots=True)
class _Existing:
    pk: int
    name: str
    slug: str
    description: str
    price: Decimal
    stock: int
    is_active: bool
    category_id: int


# --- Reading a file ---------------------------------------------------------------------------


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
) -> tuple[tuple[str, ...], Iterator[tuple[int, list[str]]]]:
    """Return a sheet's columns (checked) and an iterator of (row number, cells) for its rows.

    Row numbers are those a spreadsheet shows: the header is row 1. Blank rows are skipped. The
    iterator raises ImportFileError when the file turns out malformed, or has more than
    ``max_rows`` rows.
    """
    assert file_format in FORMATS, f"file_format must be one of {FORMATS}, not {file_format!r}"
    rows = _csv_rows(file) if file_format == "csv" else _xlsx_rows(file)
    try:
        header = next(rows, None)
        if header is None or not any(cell.strip() for cell in header[1]):
            raise ImportFileError("The file has no header row.")
        columns = _check_header(header[1])
    except ImportFileError:
        rows.close()  # now, while the file is still open
        raise
    return columns, _data_rows(rows, max_rows)


def sheet_to_csv(
    file: IO[bytes], file_format: str, output: IO[bytes], *, max_rows: int | None = None
) -> None:
    """Write a sheet's cells into ``output`` as a UTF-8 CSV file that reads back the same.

    Reading an XLSX workbook takes several times longer than reading the same rows as CSV:
    transcribed once, a workbook is checked again on confirmation at CSV speed. Row numbers
    stay the spreadsheet's (a workbook's empty rows are written as empty lines). Raise
    ImportFileError if the file cannot be read, or has more than ``max_rows`` rows.
    """
    assert file_format in FORMATS, f"file_format must be one of {FORMATS}, not {file_format!r}"
    rows = _csv_rows(file) if file_format == "csv" else _xlsx_rows(file)
    text = io.TextIOWrapper(output, encoding="utf-8", newline="")
    writer = csv.writer(text)
    written = 0
    products = -1  # the header row is not one
    try:
        with _cyclic_gc_paused():
            for number, cells in rows:
                if not any(cell.strip() for cell in cells):
                    continue
                products += 1
                if max_rows is not None and products > max_rows:
                    raise _too_many_rows(max_rows)
                writer.writerows([[]] * (number - written - 1))
                writer.writerow(cells)
                written = number
    finally:
        rows.close()
        text.flush()
        text.detach()  # leave the caller's file open


def _data_rows(
    rows: Iterator[tuple[int, list[str]]], max_rows: int | None
) -> Iterator[tuple[int, list[str]]]:
    count = 0
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
    names = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in cells]
    while names and not names[-1]:  # trailing empty header cells, as spreadsheets leave them
        names.pop()
    expected = ", ".join(COLUMNS)
    if "" in names:
        position = names.index("") + 1
        raise ImportFileError(f"Column {position} has no name in the header row.")
    duplicates = sorted({_shorten(name) for name in names if names.count(name) > 1})[:5]
    if duplicates:
        raise ImportFileError(f"Columns named more than once: {', '.join(duplicates)}.")
    unknown = [_shorten(name) for name in names if name not in COLUMNS]
    if unknown:
        listed = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ImportFileError(f"Unknown columns: {listed}. The columns are: {expected}.")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportFileError(
            f"Missing columns: {', '.join(missing)}. The columns are: {expected} "
            "(slug, description, stock and is_active may be left out)."
        )
    return tuple(names)


def _csv_rows(file: IO[bytes]) -> Generator[tuple[int, list[str]]]:
    # utf-8-sig drops the byte-order mark that Excel's "CSV UTF-8" writes (and our export too).
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    number = 0
    try:
        first_line = text.readline()
        # Excel writes ";" where the decimal separator is a comma; take what the header uses.
        delimiter = max([",", ";", "\t"], key=first_line.count)
        reader = csv.reader(itertools.chain([first_line], text), delimiter=delimiter)
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except UnicodeDecodeError as error:
        raise ImportFileError(
            "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8”, or upload the .xlsx."
        ) from error
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            message = f"a cell is longer than {csv.field_size_limit():,} characters"
        else:
            message = f"the CSV is malformed ({error})"
        raise ImportFileError(f"Row {number + 1}: {message}.") from error
    finally:
        if not file.closed:
            text.detach()  # leave the caller's file open


def _xlsx_rows(file: IO[bytes]) -> Generator[tuple[int, list[str]]]:
    """Yield the rows of a workbook's first sheet as text, streaming its XML.

    Not openpyxl's reader: it builds a cell object per value, with styles and dates, and takes
    about 14 s for 100,000 rows of eight columns. Reading only the parts a sheet of values needs
    (the workbook, its relationships, the shared strings, the sheet) takes about 4 s.
    """
    try:
        archive = zipfile.ZipFile(file)
        unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > XLSX_MAX_UNPACKED_BYTES:
            raise ImportFileError(
                f"The workbook unpacks to more than {XLSX_MAX_UNPACKED_BYTES // 2**20:,} MB."
            )
        sheet_path, strings_path = _xlsx_parts(archive)
        shared_strings = _xlsx_shared_strings(archive, strings_path) if strings_path else []
        sheet = archive.open(sheet_path)
    except ImportFileError:
        raise
    except (
        zipfile.BadZipFile,
        KeyError,
        IndexError,
        ValueError,
        StopIteration,
        ElementTree.ParseError,
    ) as error:
        raise ImportFileError("The file is not a readable XLSX workbook.") from error
    with archive, sheet:
        yield from _xlsx_sheet_rows(sheet, shared_strings)


@functools.lru_cache(maxsize=256)
def _local_name(name: str) -> str:
    # ElementTree names an element "{namespace}local". Cached: a sheet has a handful of
    # distinct names and millions of elements.
    return name.rpartition("}")[2]


def _xml_elements(stream: IO[bytes], name: str) -> Iterator[ElementTree.Element]:
    """Yield each complete element called ``name`` (any namespace) of an XML stream; clear it.

    ElementTree's C pull parser builds the elements in C, leaving Python one step per element
    rather than a callback per tag and text. Small chunks keep the parsed elements in the CPU's
    cache (256 KB chunks take 70% longer).
    """
    head = stream.read(_XML_CHUNK_BYTES)
    if b"<!DOCTYPE" in head:  # a DTD can only come before the root element, at the start
        # A workbook never needs one; one that has it may be an entity-expansion bomb.
        raise ImportFileError("The workbook contains a DTD, which sheets never need.")
    parser = ElementTree.XMLPullParser(events=("end",))
    chunk = head
    while chunk:
        parser.feed(chunk)
        for event in parser.read_events():
            # With only "end" events asked for, each event carries an element.
            element = cast(ElementTree.Element, event[-1])
            tag = element.tag
            if tag.endswith(name) and _local_name(tag) == name:
                yield element
                element.clear()  # what was read needs no memory
        chunk = stream.read(_XML_CHUNK_BYTES)
    parser.close()


def _xlsx_parts(archive: zipfile.ZipFile) -> tuple[str, str | None]:
    """Return the paths of the first sheet and of the shared strings (if any) in a workbook."""
    with archive.open("xl/workbook.xml") as workbook:
        first_sheet = {
            _local_name(key): value
            for key, value in next(_xml_elements(workbook, "sheet")).attrib.items()
        }
    with archive.open("xl/_rels/workbook.xml.rels") as rels:
        relationships = [dict(element.attrib) for element in _xml_elements(rels, "Relationship")]

    def part(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else f"xl/{target}"

    sheet = next(rel for rel in relationships if rel["Id"] == first_sheet["id"])
    strings = [rel for rel in relationships if rel["Type"].endswith("/sharedStrings")]
    return part(sheet["Target"]), part(strings[0]["Target"]) if strings else None


def _xlsx_shared_strings(archive: zipfile.ZipFile, path: str) -> list[str]:
    with archive.open(path) as part:
        return [_xlsx_unescape(_rich_text(item)) for item in _xml_elements(part, "si")]


def _xlsx_sheet_rows(
    sheet: IO[bytes], shared_strings: list[str]
) -> Iterator[tuple[int, list[str]]]:
    row_number = 0
    try:
        for row in _xml_elements(sheet, "row"):
            row_number = int(row.get("r") or row_number + 1)
            namespace = row.tag[: -len("row")]  # "{...main}", as the row's cells have it too
            yield row_number, _xlsx_row_values(row, namespace, shared_strings)
    except (ElementTree.ParseError, IndexError, ValueError, zipfile.BadZipFile) as error:
        raise ImportFileError(
            f"The file is not a readable XLSX workbook (near row {row_number + 1})."
        ) from error


def _xlsx_row_values(
    row: ElementTree.Element, namespace: str, shared_strings: list[str]
) -> list[str]:
    cell_tag, value_tag, inline_tag = f"{namespace}c", f"{namespace}v", f"{namespace}is"
    values: list[str] = []
    for cell in row:
        if cell.tag != cell_tag:
            continue
        reference = cell.get("r")
        column = _column_index(reference) if reference else len(values)
        cell_type = cell.get("t", "n")
        if cell_type == "inlineStr":
            inline = cell.find(inline_tag)
            text = "" if inline is None else _rich_text(inline)
        else:
            text = cell.findtext(value_tag) or ""
        if column > len(values):  # after empty cells, which a sheet leaves out
            values.extend([""] * (column - len(values)))
        value = _xlsx_value(text, cell_type, shared_strings)
        if column == len(values):
            values.append(value)
        else:  # a cell given twice, or out of order: the last one counts
            values[column] = value
    return values


def _rich_text(element: ElementTree.Element) -> str:
    """Return a string item's text: its <t>, or its runs' <r><t>, without <rPh> hints (the
    phonetic reading shown above East Asian text)."""
    namespace = element.tag[: -len(_local_name(element.tag))]
    if element.find(f"{namespace}rPh") is None:
        return "".join(element.itertext())
    return "".join(
        text.text or ""
        for child in element
        if _local_name(child.tag) in ("t", "r")
        for text in ([child] if _local_name(child.tag) == "t" else child)
        if _local_name(text.tag) == "t"
    )


def _column_index(reference: str) -> int:
    """Return the 0-based column of a cell reference such as "AB12"."""
    return _column_letters_index(reference.rstrip("0123456789"))


@functools.lru_cache(maxsize=1024)
def _column_letters_index(letters: str) -> int:
    index = 0
    for character in letters.upper():
        index = index * 26 + ord(character) - 64
    if not letters.isalpha() or not 1 <= index <= 16_384:  # Excel's last column is XFD
        raise ValueError(f"bad cell reference {letters!r}")
    return index - 1


def _xlsx_value(text: str, cell_type: str, shared_strings: list[str]) -> str:
    """Return a cell's value as the text a CSV file would hold."""
    if cell_type == "s":
        return shared_strings[int(text)] if text else ""
    if cell_type == "b":
        return {"1": "true", "0": "false"}.get(text, text)
    if cell_type == "n" and text:
        return _number_text(text)
    if cell_type in ("inlineStr", "str"):
        return _xlsx_unescape(text)
    return text  # e (an error such as #N/A), d (an ISO date)


# XML carries neither most control characters nor a carriage return (a parser reads "\r\n" as
# "\n", and the admin's text areas send "\r\n"): Excel writes such a character as _xHHHH_, and
# a literal "_xHHHH_" with its underscore escaped, as _x005F_xHHHH_.
_XLSX_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|_(?=x[0-9A-Fa-f]{4}_)")
_XLSX_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _xlsx_escape(text: str) -> str:
    return _XLSX_NEEDS_ESCAPE.sub(lambda match: f"_x{ord(match.group()):04X}_", text)


def _xlsx_unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return _XLSX_ESCAPED.sub(lambda match: chr(int(match.group(1), 16)), text)


def _number_text(text: str) -> str:
    # Excel stores numbers as doubles: 12 may come as "12.0", 19.99 as "19.989999999999998".
    # Shown as Python shows the float, a whole number is the stock 12 and a price is 19.99.
    if "." not in text and "E" not in text.upper():
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


# --- Checking rows ----------------------------------------------------------------------------


class _CellError(Exception):
    """A cell's value is unusable; the message tells the person how to fix it."""


def _parse_row(
    number: int, cells: list[str], columns: tuple[str, ...], report: ImportReport
) -> _Row:
    """Parse one row's cells, recording each bad cell in ``report``."""
    row = _Row(number)
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        row.valid = False
        report.add_error(
            number, "", f"The row has {len(cells)} cells but the header names {len(columns)}."
        )
    # A short row (a spreadsheet drops trailing empty cells) reads as blank cells.
    cells = cells + [""] * (len(columns) - len(cells))
    for column, text in zip(columns, cells, strict=False):
        attribute, parse = _CELL_PARSERS[column]
        try:
            if "\x00" in text:  # PostgreSQL text cannot hold it
                raise _CellError("The cell contains a NUL character.")
            setattr(row, attribute, parse(text))
        except _CellError as error:
            row.valid = False
            report.add_error(number, column, str(error))
    return row


def _parse_text(label: str, max_length: int) -> Any:
    def parse(text: str) -> str:
        text = text.strip()
        if not text:
            raise _CellError(f"The {label} is required.")
        if len(text) > max_length:
            raise _CellError(f"Use at most {max_length:,} characters (it has {len(text):,}).")
        return text

    return parse


def _parse_slug(text: str) -> str:
    text = text.strip()
    if len(text) > SLUG_MAX_LENGTH:
        raise _CellError(f"Use at most {SLUG_MAX_LENGTH} characters (it has {len(text):,}).")
    if text:
        try:
            validate_slug(text)
        except ValidationError as error:
            raise _CellError("Use only letters, numbers, hyphens and underscores.") from error
    return text


def _parse_description(text: str) -> str:
    # Not stripped: a description's own leading or trailing space is part of it.
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise _CellError(
            f"Use at most {DESCRIPTION_MAX_LENGTH:,} characters (it has {len(text):,})."
        )
    return text


def _parse_price(text: str) -> Decimal:
    text = text.strip()
    if not text:
        raise _CellError("The price is required.")
    try:
        price = Decimal(text)
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite():
        raise _CellError(f"“{_shorten(text)}” is not a number: write a price like 19.99.")
    if price < 0:
        raise _CellError("Price cannot be negative.")
    if price >= PRICE_LIMIT:
        raise _CellError("Price must be less than 100,000,000.")
    if price != price.quantize(CENT):
        raise _CellError("Use at most 2 decimal places.")
    return price.quantize(CENT)


def _parse_stock(text: str) -> int:
    text = text.strip()
    if not text:
        raise _CellError("The stock is required (0 or more).")
    if not _WHOLE_NUMBER.match(text):
        raise _CellError(f"“{_shorten(text)}” is not a whole number: write a stock like 12.")
    stock = int(text)
    if stock < 0:
        raise _CellError("Stock cannot be negative.")
    if stock > STOCK_MAX:
        raise _CellError(f"Stock must be at most {STOCK_MAX:,}.")
    return stock


def _parse_is_active(text: str) -> bool:
    word = text.strip().lower()
    if word not in TRUE_WORDS and word not in FALSE_WORDS:
        raise _CellError("Write true or false (or yes/no, 1/0).")
    return word in TRUE_WORDS


# Each column: the _Row attribute it sets and how its text is parsed.
_CELL_PARSERS = {
    "sku": ("sku", _parse_text("SKU", SKU_MAX_LENGTH)),
    "name": ("name", _parse_text("name", NAME_MAX_LENGTH)),
    "slug": ("slug", _parse_slug),
    "description": ("description", _parse_description),
    "price": ("price", _parse_price),
    "stock": ("stock", _parse_stock),
    "is_active": ("is_active", _parse_is_active),
    "category": ("category_ref", _parse_text("category (its slug or id)", 255)),
}


def _shorten(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


@dataclass
class _CheckedSheet:
    report: ImportReport
    rows: list[_Row]


def _check_sheet(file: IO[bytes], file_format: str, *, max_rows: int | None) -> _CheckedSheet:
    """Parse and check every row; a few queries in all, whatever the number of rows."""
    columns, data_rows = read_sheet(file, file_format, max_rows=max_rows)
    report = ImportReport(file_format=file_format, columns=columns)
    with _cyclic_gc_paused():
        rows = [_parse_row(number, cells, columns, report) for number, cells in data_rows]
    if not rows:
        raise ImportFileError("The file has a header row but no products.")
    report.row_count = len(rows)

    _check_duplicate_skus(rows, report)
    _resolve_categories(rows, report)
    _load_existing(rows)
    _assign_slugs(rows, report)
    _count_changes(rows, columns, report)
    # In the order of the sheet, whichever check found them.
    report.errors.sort(key=lambda error: (error.row, _COLUMN_ORDER.get(error.column, -1)))
    return _CheckedSheet(report, rows)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
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


def _check_duplicate_skus(rows: list[_Row], report: ImportReport) -> None:
    first_row: dict[str, int] = {}
    for row in rows:
        if not row.sku:
            continue
        if row.sku in first_row:
            row.valid = False
            report.add_error(
                row.number, "sku", f"SKU {row.sku} is also on row {first_row[row.sku]}."
            )
        else:
            first_row[row.sku] = row.number


def _resolve_categories(rows: list[_Row], report: ImportReport) -> None:
    references = {row.category_ref for row in rows if row.category_ref}
    ids = [int(ref) for ref in references if ref.isascii() and ref.isdigit() and len(ref) < 19]
    found = list(
        Category.objects.filter(Q(slug__in=references) | Q(pk__in=ids)).values_list("pk", "slug")
    )
    by_id = {str(pk): pk for pk, _ in found}
    # A slug first: a category may well have a slug made of digits.
    by_reference = by_id | {slug: pk for pk, slug in found}
    for row in rows:
        if not row.category_ref:
            continue
        category_id = by_reference.get(row.category_ref)
        if category_id is None:
            row.valid = False
            report.add_error(
                row.number,
                "category",
                f"No category has the slug or id “{_shorten(row.category_ref)}”.",
            )
        else:
            row.category_id = category_id


def _load_existing(rows: list[_Row]) -> None:
    """Attach to each row the product that already has its SKU, in one query."""
    skus = [row.sku for row in rows if row.sku]
    with connection.cursor() as cursor:
        # One array parameter rather than Django's IN (%s, %s ...): 100,000 SKUs make one value.
        cursor.execute(
            """
            SELECT sku, id, name, slug, description, price, stock, is_active, category_id
            FROM products_product
            WHERE sku = ANY(%s::text[])
            """,
            [skus],
        )
        existing = {sku: _Existing(*values) for sku, *values in cursor.fetchall()}
    for row in rows:
        row.existing = existing.get(row.sku)


def _taken_slugs(slugs: Iterable[str]) -> dict[str, str]:
    """Return, for each of ``slugs`` that a product has, that product's SKU (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT slug, sku FROM products_product WHERE slug = ANY(%s::text[])",
            [list(set(slugs))],
        )
        return dict(cursor.fetchall())


def _slug_base(name: str) -> str:
    # As apps.products.services._unique_slug: room left for a suffix.
    return slugify(name)[: SLUG_MAX_LENGTH - 8].strip("-") or "product"


def _assign_slugs(rows: list[_Row], report: ImportReport) -> None:
    """Check the slugs the sheet gives and derive unique ones for new products without one.

    A derived slug is the name's; if taken, the name's and the SKU's; if that is taken too,
    numbered. Each round is one query for all the rows still without a slug.
    """
    given = [row for row in rows if row.slug]
    derived = [row for row in rows if not row.slug and row.existing is None and row.valid]
    candidates = {row: _slug_base(row.name) for row in derived}
    taken = _taken_slugs([row.slug for row in given] + list(candidates.values()))

    claimed: dict[str, _Row] = {}
    for row in given:
        holder_sku = taken.get(row.slug)
        if row.slug in claimed:
            row.valid = False
            report.add_error(
                row.number, "slug", f"Slug {row.slug} is also on row {claimed[row.slug].number}."
            )
        elif holder_sku is not None and holder_sku != row.sku:
            row.valid = False
            report.add_error(
                row.number, "slug", f"Slug {row.slug} belongs to the product {holder_sku}."
            )
        else:
            claimed[row.slug] = row

    for attempt in itertools.count():
        unresolved = []
        for row, slug in candidates.items():
            if slug in taken or slug in claimed:
                unresolved.append(row)
            else:
                row.slug = slug
                claimed[slug] = row
        if not unresolved:
            return
        if attempt == 4:  # five rounds: in practice the SKU alone settles it
            for row in unresolved:
                row.valid = False
                report.add_error(row.number, "slug", "No free slug found: give one.")
            return
        candidates = {row: _numbered_slug(row, attempt) for row in unresolved}
        taken = _taken_slugs(candidates.values())


def _numbered_slug(row: _Row, attempt: int) -> str:
    suffix = slugify(row.sku) or "item"
    if attempt:
        suffix = f"{suffix}-{attempt + 1}"
    base = _slug_base(row.name)[: SLUG_MAX_LENGTH - len(suffix) - 1].strip("-")
    return f"{base}-{suffix}"[:SLUG_MAX_LENGTH]


def _count_changes(rows: list[_Row], columns: tuple[str, ...], report: ImportReport) -> None:
    sample_new = 0
    sample_changed = 0
    for row in rows:
        if not row.valid:
            report.invalid += 1
            continue
        if row.existing is None:
            report.new += 1
            if sample_new < SAMPLE_SIZE:
                sample_new += 1
                report.samples.append(
                    RowChange(row.number, row.sku, True, _new_values(row, columns))
                )
            continue
        changes = _changes(row, row.existing, columns)
        if not changes:
            report.unchanged += 1
            continue
        report.changed += 1
        if sample_changed < SAMPLE_SIZE:
            sample_changed += 1
            report.samples.append(RowChange(row.number, row.sku, False, changes))
    _name_categories(report)


def _compared_fields(columns: tuple[str, ...]) -> list[str]:
    """Return the product fields a sheet with ``columns`` sets."""
    optional = [name for name in ("slug", "description", "stock", "is_active") if name in columns]
    return ["name", *optional, "price", "category"]


def _changes(
    row: _Row, existing: _Existing, columns: tuple[str, ...]
) -> dict[str, tuple[str, str]]:
    before = {
        "name": existing.name,
        "slug": existing.slug,
        "description": existing.description,
        "price": existing.price,
        "stock": existing.stock,
        "is_active": existing.is_active,
        "category": existing.category_id,
    }
    after = {
        "name": row.name,
        "slug": row.slug or existing.slug,
        "description": row.description,
        "price": row.price,
        "stock": row.stock,
        "is_active": row.is_active,
        "category": row.category_id,
    }
    return {
        name: (_display(before[name]), _display(after[name]))
        for name in _compared_fields(columns)
        if before[name] != after[name]
    }


def _new_values(row: _Row, columns: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    values = {
        "name": row.name,
        "slug": row.slug,
        "description": row.description,
        "price": row.price,
        "stock": row.stock,
        "is_active": row.is_active,
        "category": row.category_id,
    }
    return {name: ("", _display(value)) for name, value in values.items()}


def _display(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _shorten(str(value), 80)


def _name_categories(report: ImportReport) -> None:
    """Show the sample's categories by slug rather than id (one query, for the sample only)."""
    ids = {
        int(value)
        for change in report.samples
        for value in change.changes.get("category", ())
        if value
    }
    if not ids:
        return
    slugs = {
        str(pk): slug for pk, slug in Category.objects.filter(pk__in=ids).values_list("pk", "slug")
    }
    for change in report.samples:
        if "category" in change.changes:
            before, after = change.changes["category"]
            change.changes["category"] = (slugs.get(before, before), slugs.get(after, after))


# --- Writing ----------------------------------------------------------------------------------

_TEMPORARY_TABLE = """
DROP TABLE IF EXISTS pg_temp.products_import_rows;
CREATE TEMPORARY TABLE products_import_rows (
    sku text NOT NULL,
    name text NOT NULL,
    slug text,
    description text NOT NULL,
    price numeric(10, 2) NOT NULL,
    stock integer NOT NULL,
    is_active boolean NOT NULL,
    category_id bigint NOT NULL
) ON COMMIT DROP
"""
_COPY = (
    "COPY products_import_rows "
    "(sku, name, slug, description, price, stock, is_active, category_id) FROM STDIN"
)
# Product columns set from the sheet: (column, value from the incoming row). A blank slug keeps
# the product's own.
_SET_COLUMNS = {
    "name": ("name", "{src}.name"),
    "slug": ("slug", "COALESCE({src}.slug, product.slug)"),
    "description": ("description", "{src}.description"),
    "price": ("price", "{src}.price"),
    "stock": ("stock", "{src}.stock"),
    "is_active": ("is_active", "{src}.is_active"),
    "category": ("category_id", "{src}.category_id"),
}


def _assignments(columns: tuple[str, ...], source: str) -> tuple[str, str]:
    """Return the SET list and the "values differ" condition for a sheet with ``columns``."""
    pairs = [_SET_COLUMNS[name] for name in _compared_fields(columns)]
    targets = [column for column, _ in pairs]
    values = [value.format(src=source) for _, value in pairs]
    assignments = ", ".join(
        f"{target} = {value}" for target, value in zip(targets, values, strict=True)
    )
    differs = (
        f"({', '.join(f'product.{target}' for target in targets)}) "
        f"IS DISTINCT FROM ({', '.join(values)})"
    )
    return f"{assignments}, updated_at = %(now)s", differs


# Each product field but the category as the audit trail stores it (as the bulk actions do: a
# price as text), from the row ``{row}``.
_AUDIT_VALUES = {
    "name": "to_jsonb({row}.name)",
    "slug": "to_jsonb({row}.slug)",
    "description": "to_jsonb({row}.description)",
    "price": "to_jsonb({row}.price::text)",
    "stock": "to_jsonb({row}.stock)",
    "is_active": "to_jsonb({row}.is_active)",
}


def _audit_values(row: str, *, unless_as_in: str | None = None) -> str:
    """Return a jsonb object of ``row``'s fields, or of those that differ in ``unless_as_in``.

    Built in the RETURNING list of the write: the rows it hands on carry these few values
    rather than every column twice (descriptions included).
    """
    pairs = []
    for name, template in _AUDIT_VALUES.items():
        value = template.format(row=row)
        if unless_as_in is not None:
            value = (
                f"CASE WHEN {row}.{name} IS DISTINCT FROM {unless_as_in}.{name} THEN {value} END"
            )
        pairs.append(f"'{name}', {value}")
    # A field left out above is an SQL NULL, a JSON null once built: stripped.
    return f"jsonb_strip_nulls(jsonb_build_object({', '.join(pairs)}))"


# The audit entries (see audit_insert_sql) of the rows a write returns: id, sku, name, before
# and after (_audit_values), and the category ids before and after when they differ, which
# are named here (as the bulk actions do).
_AUDIT_ENTRIES = """
SELECT written.id::text AS object_id, written.name || ' (' || written.sku || ')' AS object_repr,
    written.before || CASE WHEN written.before_category_id IS NULL THEN '{}'::jsonb ELSE
        jsonb_build_object('category', jsonb_build_object(
            'id', written.before_category_id, 'name', category_before.name))
    END AS before,
    written.after || CASE WHEN written.after_category_id IS NULL THEN '{}'::jsonb ELSE
        jsonb_build_object('category', jsonb_build_object(
            'id', written.after_category_id, 'name', category_after.name))
    END AS after
FROM written
LEFT JOIN products_category AS category_before ON category_before.id = written.before_category_id
LEFT JOIN products_category AS category_after ON category_after.id = written.after_category_id
"""
# Returned by the UPDATE: what changed, before and after.
_RETURNING_CHANGES = f"""
    product.id, product.sku, product.name,
    {_audit_values("previous", unless_as_in="product")} AS before,
    {_audit_values("product", unless_as_in="previous")} AS after,
    CASE WHEN previous.category_id <> product.category_id THEN previous.category_id END
        AS before_category_id,
    CASE WHEN previous.category_id <> product.category_id THEN product.category_id END
        AS after_category_id
"""
# Returned by the INSERT: everything, after.
_RETURNING_CREATED = f"""
    product.id, product.sku, product.name, '{{}}'::jsonb AS before,
    {_audit_values("product")} AS after,
    NULL::bigint AS before_category_id, product.category_id AS after_category_id
"""

# The lexicon's words of the rows whose text is new, by the search trigger's rule. Each distinct
# word is checked once, not once per row it is in (100,000 rows of 30 words: 3.5 s, not 18).
_LEXICON_INSERT = """
WITH words AS MATERIALIZED (
    SELECT DISTINCT word
    FROM products_import_rows AS incoming
    CROSS JOIN LATERAL unnest(tsvector_to_array(
        to_tsvector('simple', incoming.name || ' ' || incoming.description)
    )) AS word
    WHERE NOT EXISTS (
        SELECT 1 FROM products_product AS product
        WHERE product.sku = incoming.sku AND {text_is_same}
    )
)
INSERT INTO products_searchterm (word)
SELECT word FROM words
WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
ORDER BY word  -- the search trigger's order: concurrent writers lock the words in one order
ON CONFLICT DO NOTHING
"""

AUDIT_ACTION = "products.import"
register_audit_action(AUDIT_ACTION, label="Import products")


def _write(
    rows: list[_Row], columns: tuple[str, ...], created_by: User | None, batch: uuid.UUID
) -> tuple[int, int]:
    """Upsert the (checked, valid) rows by SKU, auditing each product created or changed under
    ``batch``; return how many were created and changed."""
    update_set, update_differs = _assignments(columns, "incoming")
    conflict_set, conflict_differs = _assignments(columns, "EXCLUDED")
    parameters = {
        "now": timezone.now(),
        "created_by": created_by.pk if created_by else None,
        **audit_parameters(user=created_by, action=AUDIT_ACTION, model=Product, batch=batch),
    }
    with connection.cursor() as cursor:
        cursor.execute(_TEMPORARY_TABLE)
        # COPY through psycopg directly: Django's cursor has no COPY of its own.
        with cursor.cursor.copy(_COPY) as copy:
            for row in rows:
                copy.write_row(
                    (
                        row.sku,
                        row.name,
                        row.slug or None,
                        row.description,
                        row.price,
                        row.stock,
                        row.is_active,
                        row.category_id,
                    )
                )
        cursor.execute("ANALYZE products_import_rows")  # the joins below need its size

        # The search trigger still writes each row's search document, but leaves the lexicon
        # to this one INSERT: row by row, it was most of the time of a large import (100,000
        # new products of 30-word descriptions: about 18 of 35 CPU seconds).
        cursor.execute("SELECT set_config(%s, 'on', true)", [DEFER_LEXICON_SETTING])
        text_is_same = "product.name = incoming.name"
        if "description" in columns:  # else the description stays, and its words with it
            text_is_same += " AND product.description = incoming.description"
        cursor.execute(_LEXICON_INSERT.format(text_is_same=text_is_same))

        # Lock the products to change, in id order as the bulk actions do (no deadlock between
        # the two): the values the UPDATE then reads as "before" are those it overwrites.
        cursor.execute(
            f"""
            SELECT count(*) FROM (
                SELECT 1 FROM products_product AS product
                JOIN products_import_rows AS incoming ON incoming.sku = product.sku
                WHERE {update_differs}
                ORDER BY product.id
                FOR UPDATE OF product
            ) AS locked
            """  # noqa: S608  (column names from this module)
        )
        # Only rows whose values differ: the others keep their updated_at and fire no trigger.
        # The audit entries are written by the same statement, from the rows it returns.
        cursor.execute(
            f"""
            WITH written AS (
                UPDATE products_product AS product SET {update_set}
                FROM products_import_rows AS incoming
                JOIN products_product AS previous ON previous.sku = incoming.sku
                WHERE product.id = previous.id AND {update_differs}
                RETURNING {_RETURNING_CHANGES}
            ),
            entries AS ({_AUDIT_ENTRIES}),
            audited AS ({audit_insert_sql(source="entries")})
            SELECT count(*) FROM written
            """,  # noqa: S608  (column names from this module, values as parameters)
            parameters,
        )
        (changed,) = cursor.fetchone()
        # New SKUs only. ON CONFLICT covers a product created with one of them since the check
        # (audited with its values after only: those before were never read).
        cursor.execute(
            f"""
            WITH written AS (
                INSERT INTO products_product AS product (
                    sku, name, slug, description, price, stock, is_active, category_id,
                    created_by_id, created_at, updated_at, rating_1_count, rating_2_count,
                    rating_3_count, rating_4_count, rating_5_count, review_count, rating_sum
                )
                SELECT
                    incoming.sku, incoming.name, incoming.slug, incoming.description,
                    incoming.price, incoming.stock, incoming.is_active, incoming.category_id,
                    %(created_by)s, %(now)s, %(now)s, 0, 0, 0, 0, 0, 0, 0
                FROM products_import_rows AS incoming
                WHERE NOT EXISTS (
                    SELECT 1 FROM products_product AS existing WHERE existing.sku = incoming.sku
                )
                ON CONFLICT (sku) DO UPDATE SET {conflict_set} WHERE {conflict_differs}
                RETURNING {_RETURNING_CREATED}, (xmax = 0) AS inserted
            ),
            entries AS ({_AUDIT_ENTRIES}),
            audited AS ({audit_insert_sql(source="entries")})
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
            FROM written
            """,  # noqa: S608  (column names from this module, values as parameters)
            parameters,
        )
        created, changed_meanwhile = cursor.fetchone()
        # Later writes of the same transaction (an enclosing one) fill the lexicon themselves.
        cursor.execute("SELECT set_config(%s, 'off', true)", [DEFER_LEXICON_SETTING])
        cursor.execute("DROP TABLE pg_temp.products_import_rows")
    return created, changed + changed_meanwhile


def product_import(
    *,
    file: IO[bytes],
    file_format: str,
    created_by: User | None = None,
    commit: bool = False,
    max_rows: int | None = None,
) -> ImportReport:
    """Check a product sheet and, with ``commit`` and no error in any row, upsert it by SKU.

    Without ``commit`` (a dry run) nothing is written. With it, the sheet is checked again and
    written in one transaction, or not at all: a report with errors means nothing changed.
    Raise ImportFileError when the file cannot be read as a product sheet.
    """
    if not commit:
        return _check_sheet(file, file_format, max_rows=max_rows).report
    try:
        with transaction.atomic():
            checked = _check_sheet(file, file_format, max_rows=max_rows)
            report = checked.report
            if report.has_errors:
                return report
            valid = [row for row in checked.rows if row.valid]
            batch = uuid.uuid4()
            report.new, report.changed = _write(valid, report.columns, created_by, batch)
            if report.new or report.changed:
                report.audit_batch = batch
    except IntegrityError as error:
        # Another writer took a slug or SKU between the check and the write.
        raise ImportFileError(
            f"Another change to the catalogue collided with this import; nothing was written. "
            f"Try again. ({error})"
        ) from error
    except OperationalError as error:
        if not isinstance(error.__cause__, psycopg.errors.DeadlockDetected):
            raise
        raise ImportFileError(
            "Another change to the catalogue collided with this import; nothing was written. "
            "Try again."
        ) from error
    report.unchanged = report.row_count - report.invalid - report.new - report.changed
    report.committed = True
    return report


# --- Writing a file ---------------------------------------------------------------------------


def export_rows(products: QuerySet[Product]) -> Iterator[tuple[Any, ...]]:
    """Yield ``products`` as sheet rows, header first, streaming from the database."""
    yield COLUMNS
    values = products.values_list(
        "sku", "name", "slug", "description", "price", "stock", "is_active", "category__slug"
    )
    yield from values.iterator(chunk_size=_EXPORT_CHUNK_ROWS)


def export_csv(products: QuerySet[Product]) -> Iterator[bytes]:
    """Yield ``products`` as a UTF-8 CSV file (with the byte-order mark Excel looks for)."""
    # Cells that look like formulas (=, +, -, @) are written as they are: prefixing them would
    # change the data on the way back in. The catalogue is written by staff only.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    for count, row in enumerate(export_rows(products), start=1):
        writer.writerow(
            [("true" if value else "false") if isinstance(value, bool) else value for value in row]
        )
        if count % _EXPORT_CHUNK_ROWS == 0:
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
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(file)
    return count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = _xlsx_escape(value)
    if value.startswith("="):
        # openpyxl would store it as a formula; keep it text, as it came.
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]  # noqa: PLC0415

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value
