"""Reading a CSV sheet: UTF-8 (with or without Excel's byte-order mark), separated by commas,
semicolons or tabs."""

import csv
import io
import itertools
from collections.abc import Generator
from typing import IO

from .errors import ImportFileError


def csv_rows(file: IO[bytes]) -> Generator[tuple[int, list[str]]]:
    """Yield (row number, cells) for each row of a CSV file, the header being row 1.

    Raise ImportFileError if the file is not UTF-8 or not well-formed CSV.
    """
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
