"""Importing a product sheet: check it, and write it if asked and every row is valid."""

import uuid
from collections.abc import Callable, Iterator
from typing import IO

import psycopg
from django.db import IntegrityError, OperationalError, transaction

from apps.users.models import User

from .checking import CheckedSheet, check_sheet
from .errors import ImportFileError
from .reading import Rows, read_sheet
from .report import ImportReport
from .variant_checking import CheckedVariantSheet, check_variant_sheet
from .variant_columns import is_variant_sheet
from .variant_writing import write_variant_sheet
from .writing import write_rows

_COLLIDED = "Another change to the catalogue collided with this import; nothing was written."

# What an import is doing, for a progress report: reading (and parsing) rows, checking them
# against the catalogue, writing them.
PHASE_READING = "reading"
PHASE_CHECKING = "checking"
PHASE_WRITING = "writing"
# Told the phase and how many rows were read so far: every PROGRESS_EVERY_ROWS rows while
# reading, then once per phase.
Progress = Callable[[str, int], None]
PROGRESS_EVERY_ROWS = 5_000


def product_import(
    *,
    file: IO[bytes],
    file_format: str,
    created_by: User | None = None,
    commit: bool = False,
    max_rows: int | None = None,
    remove_missing_variants: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check a product sheet and, with ``commit`` and no error in any row, write it.

    A variant sheet (with a ``product`` column: one row per variant) creates or changes
    products by slug and their variants by SKU; the one-variant sheet (no ``product`` column)
    upserts products by SKU, as it always has. The variants of a product that a variant sheet
    does not name are left as they are, or deleted with ``remove_missing_variants``.

    Without ``commit`` (a dry run) nothing is written. With it, the sheet is checked again and
    written in one transaction, or not at all: a report with errors means nothing changed.
    ``progress``, if given, is told what the import is doing (see ``Progress``).
    Raise ImportFileError when the file cannot be read as a product sheet.
    """
    if not commit:
        return _check(
            file,
            file_format,
            max_rows=max_rows,
            lock=False,
            remove_missing_variants=remove_missing_variants,
            progress=progress,
        ).report
    try:
        with transaction.atomic():
            # The products are locked as the check reads them: the write changes exactly the
            # rows the check found new or changed, from the values it compared them with.
            checked = _check(
                file,
                file_format,
                max_rows=max_rows,
                lock=True,
                remove_missing_variants=remove_missing_variants,
                progress=progress,
            )
            report = checked.report
            if report.has_errors:
                return report
            if progress is not None:
                progress(PHASE_WRITING, report.row_count)
            batch = uuid.uuid4()
            if isinstance(checked, CheckedVariantSheet):
                if write_variant_sheet(checked, created_by=created_by, batch=batch):
                    report.audit_batch = batch
            else:
                report.new, report.changed = write_rows(
                    checked.columns, created_by=created_by, batch=batch
                )
                if report.new or report.changed:
                    report.audit_batch = batch
    except IntegrityError as error:
        # Another writer took a slug or SKU between the check and the write.
        raise ImportFileError(f"{_COLLIDED} Try again. ({error})") from error
    except OperationalError as error:
        if not isinstance(error.__cause__, psycopg.errors.DeadlockDetected):
            raise
        raise ImportFileError(f"{_COLLIDED} Try again.") from error
    report.unchanged = report.row_count - report.invalid - report.new - report.changed
    report.committed = True
    return report


def _check(
    file: IO[bytes],
    file_format: str,
    *,
    max_rows: int | None,
    lock: bool,
    remove_missing_variants: bool,
    progress: Progress | None = None,
) -> CheckedSheet | CheckedVariantSheet:
    headers, rows = read_sheet(file, file_format, max_rows=max_rows)
    if progress is not None:
        rows = _counted(rows, progress)
    if is_variant_sheet(list(headers)):
        return check_variant_sheet(
            headers,
            rows,
            file_format,
            lock_products=lock,
            remove_missing_variants=remove_missing_variants,
        )
    return check_sheet(headers, rows, file_format, lock_products=lock)


def _counted(rows: Rows, progress: Progress) -> Iterator[tuple[int, list[str]]]:
    """Yield ``rows``, telling ``progress`` how many were read every PROGRESS_EVERY_ROWS rows,
    and that checking starts once they are all read."""
    count = 0
    progress(PHASE_READING, 0)
    for row in rows:
        count += 1
        if count % PROGRESS_EVERY_ROWS == 0:
            progress(PHASE_READING, count)
        yield row
    progress(PHASE_CHECKING, count)
