"""Reading an XLSX workbook's first sheet as text, streaming its XML; and the escaping of text
that XML cannot carry, which the export applies and this reader undoes."""

import functools
import re
import zipfile
from collections.abc import Generator, Iterator
from typing import IO, cast
from xml.etree import ElementTree

from ..limits import XLSX_MAX_UNPACKED_BYTES
from .errors import ImportFileError

_XML_CHUNK_BYTES = 16 * 1024


def xlsx_rows(file: IO[bytes]) -> Generator[tuple[int, list[str]]]:
    """Yield (row number, cells) for each row of a workbook's first sheet, as text, streaming
    its XML; raise ImportFileError if it is not a readable workbook.

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
        sheet_path, strings_path = _workbook_parts(archive)
        shared_strings = _shared_strings(archive, strings_path) if strings_path else []
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
        yield from _sheet_rows(sheet, shared_strings)


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


def _workbook_parts(archive: zipfile.ZipFile) -> tuple[str, str | None]:
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


def _shared_strings(archive: zipfile.ZipFile, path: str) -> list[str]:
    with archive.open(path) as part:
        return [_unescape(_rich_text(item)) for item in _xml_elements(part, "si")]


def _sheet_rows(sheet: IO[bytes], shared_strings: list[str]) -> Iterator[tuple[int, list[str]]]:
    row_number = 0
    try:
        for row in _xml_elements(sheet, "row"):
            row_number = int(row.get("r") or row_number + 1)
            namespace = row.tag[: -len("row")]  # "{...main}", as the row's cells have it too
            yield row_number, _row_values(row, namespace, shared_strings)
    except (ElementTree.ParseError, IndexError, ValueError, zipfile.BadZipFile) as error:
        raise ImportFileError(
            f"The file is not a readable XLSX workbook (near row {row_number + 1})."
        ) from error


def _row_values(row: ElementTree.Element, namespace: str, shared_strings: list[str]) -> list[str]:
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
        value = _cell_text(text, cell_type, shared_strings)
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


def _cell_text(text: str, cell_type: str, shared_strings: list[str]) -> str:
    """Return a cell's value as the text a CSV file would hold."""
    if cell_type == "s":
        return shared_strings[int(text)] if text else ""
    if cell_type == "b":
        return {"1": "true", "0": "false"}.get(text, text)
    if cell_type == "n" and text:
        return _number_text(text)
    if cell_type in ("inlineStr", "str"):
        return _unescape(text)
    return text  # e (an error such as #N/A), d (an ISO date)


# XML carries neither most control characters nor a carriage return (a parser reads "\r\n" as
# "\n", and the admin's text areas send "\r\n"): Excel writes such a character as _xHHHH_, and
# a literal "_xHHHH_" with its underscore escaped, as _x005F_xHHHH_.
_XLSX_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|_(?=x[0-9A-Fa-f]{4}_)")
_XLSX_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def xlsx_escape(text: str) -> str:
    """Return ``text`` as a workbook cell carries it (the reader turns it back)."""
    return _XLSX_NEEDS_ESCAPE.sub(lambda match: f"_x{ord(match.group()):04X}_", text)


def _unescape(text: str) -> str:
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
