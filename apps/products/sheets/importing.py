"""Importing a product sheet: check it, and write it if asked and every row is valid."""

import uuid
from typing import IO

import psycopg
from django.db import IntegrityError, OperationalError, transaction

from apps.users.models import User

from .checking import check_sheet
from .errors import ImportFileError
from .report import ImportReport
from .writing import write_rows

_COLLIDED = "Another change to the catalogue collided with this import; nothing was written."


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
        return check_sheet(file, file_format, max_rows=max_rows).report
    try:
        with transaction.atomic():
            # The products are locked as the check reads them: the write changes exactly the
            # rows the check found new or changed, from the values it compared them with.
            checked = check_sheet(file, file_format, max_rows=max_rows, lock_products=True)
            report = checked.report
            if report.has_errors:
                return report
            batch = uuid.uuid4()
            report.new, report.changed = write_rows(
                checked.writes, checked.columns, created_by=created_by, batch=batch
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
