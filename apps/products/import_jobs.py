"""Product imports as jobs: an uploaded sheet is kept in the database, a worker checks it (the
dry run) and, once staff confirm a dry run without errors, writes it (the apply), reporting its
progress as it goes.

The upload is stored in parts (``ImportUploadPart``, bytea) rather than in a file storage:
workers may run on other hosts than the web server that took it, the default storage is the
public media one, and a row commits with the job that reads it. A worker copies the parts to a
local temporary file (on disk, not in memory) and reads the sheet from there, as the command
line reads its file.

The apply is one transaction, as an import in the request was: every row or none. Its progress
is written through a connection of its own, in autocommit, so that the admin sees it while the
transaction is open; the outcome is written in the import's own transaction, so an apply says
"succeeded" exactly when its rows are committed. Jobs may run twice (a worker that died is
replaced): a finished job is not run again, and an apply that died wrote nothing.
"""

import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils import timezone
from procrastinate.contrib.django import app

from apps.core.jobs import job_defer
from apps.users.models import User

from .models import ImportJob, ImportState, ImportUpload, ImportUploadPart
from .sheets import ImportFileError, ImportReport, RowChange, RowError, product_import, sheet_to_csv

logger = logging.getLogger(__name__)

# An upload is stored in parts of this many bytes, and read back a part at a time.
PART_BYTES = 2**20
# Progress is written at most this often (seconds), besides once per phase.
PROGRESS_INTERVAL_SECONDS = 0.5
# A workbook's dry run first converts it to CSV (then reading, checking: see sheets.importing).
PHASE_CONVERTING = "converting"

_NOT_ALLOWED_ERRORS = "This dry run found errors: fix the file and upload it again."


class ImportNotAllowed(Exception):
    """The import cannot be applied (no clean dry run, already applied, file gone)."""


class ImportCancelled(Exception):
    """Staff cancelled the job while it ran."""


# --- the upload -----------------------------------------------------------------------------------


def import_upload_store(
    *, file: IO[bytes], filename: str, file_format: str, user: User | None
) -> ImportUpload:
    """Store ``file`` in the database, in parts, and return its upload."""
    upload = ImportUpload.objects.create(
        filename=filename[:255],
        uploaded_format=file_format,
        file_format=file_format,
        uploaded_by=user,
    )
    upload.size = _parts_write(upload, file)
    upload.save(update_fields=["size"])
    return upload


def _parts_write(upload: ImportUpload, file: IO[bytes]) -> int:
    size = number = 0
    while chunk := file.read(PART_BYTES):
        ImportUploadPart.objects.create(upload=upload, number=number, data=chunk)
        number += 1
        size += len(chunk)
    return size


@contextlib.contextmanager
def import_upload_open(upload: ImportUpload) -> Iterator[IO[bytes]]:
    """Yield a local temporary copy of the upload's file; raise ImportFileError if it is gone."""
    if upload.discarded_at is not None:
        raise ImportFileError("The uploaded file is gone; upload it again.")
    numbers = list(
        ImportUploadPart.objects.filter(upload=upload)
        .order_by("number")
        .values_list("number", flat=True)
    )
    with tempfile.TemporaryFile() as copy:
        for number in numbers:  # a part at a time: memory stays at one part
            data = (
                ImportUploadPart.objects.filter(upload=upload, number=number)
                .values_list("data", flat=True)
                .get()
            )
            copy.write(data)
        copy.seek(0)
        yield copy


def import_upload_discard(upload: ImportUpload) -> None:
    """Delete the upload's file (its parts); its jobs' rows stay."""
    ImportUploadPart.objects.filter(upload=upload).delete()
    ImportUpload.objects.filter(pk=upload.pk, discarded_at__isnull=True).update(
        discarded_at=timezone.now()
    )
    upload.discarded_at = upload.discarded_at or timezone.now()


def import_uploads_prune(*, keep_days: int) -> int:
    """Delete the files of uploads older than ``keep_days``, unless a job is still on them;
    return how many."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    stale = ImportUpload.objects.filter(discarded_at__isnull=True, uploaded_at__lt=cutoff).exclude(
        jobs__state__in=[ImportState.QUEUED, ImportState.RUNNING]
    )
    count = 0
    for upload in stale:
        with transaction.atomic():
            import_upload_discard(upload)
        count += 1
    return count


def _transcribe_workbook(
    upload: ImportUpload, *, max_rows: int, progress: "ImportProgress"
) -> None:
    """Replace a workbook by its cells as CSV: read once, it is checked (and applied) at CSV
    speed. Raise ImportFileError if it cannot be read, or has too many rows."""
    with import_upload_open(upload) as workbook, tempfile.TemporaryFile() as transcript:
        progress(PHASE_CONVERTING, 0)
        sheet_to_csv(
            workbook,
            "xlsx",
            transcript,
            max_rows=max_rows,
            progress=lambda rows: progress(PHASE_CONVERTING, rows),
        )
        transcript.seek(0)
        with transaction.atomic():
            ImportUploadPart.objects.filter(upload=upload).delete()
            upload.size = _parts_write(upload, transcript)
            upload.file_format = "csv"
            upload.save(update_fields=["size", "file_format"])


# --- starting, confirming, cancelling -----------------------------------------------------------


@transaction.atomic
def import_dry_run_start(
    *, file: IO[bytes], filename: str, file_format: str, user: User
) -> ImportJob:
    """Store an uploaded sheet and queue its dry run; return the dry run's job."""
    upload = import_upload_store(file=file, filename=filename, file_format=file_format, user=user)
    job = ImportJob.objects.create(upload=upload, dry_run=True, created_by=user)
    _queue(job)
    return job


@transaction.atomic
def import_apply_start(*, dry_run: ImportJob, user: User) -> ImportJob:
    """Queue the apply of a dry run that succeeded without errors; return the apply's job.

    Raise ImportNotAllowed if the dry run has not succeeded, found errors, was applied already
    (two confirmations at once: the second is refused), or its file is gone.
    """
    dry_run = (
        ImportJob.objects.select_for_update()
        .select_related("upload")
        .get(pk=dry_run.pk, dry_run=True)
    )
    if dry_run.state != ImportState.SUCCEEDED:
        raise ImportNotAllowed("The dry run has not finished.")
    if dry_run.error_count:
        raise ImportNotAllowed(_NOT_ALLOWED_ERRORS)
    if ImportJob.objects.filter(checked_by=dry_run).exists():
        raise ImportNotAllowed("This file is imported already, or being imported.")
    if dry_run.upload.discarded_at is not None:
        raise ImportNotAllowed("The uploaded file is gone; upload it again.")
    job = ImportJob.objects.create(
        upload=dry_run.upload,
        dry_run=False,
        checked_by=dry_run,
        created_by=user,
        rows_total=dry_run.row_count,
    )
    _queue(job)
    return job


def _queue(job: ImportJob) -> None:
    job.queue_job_id = job_defer(import_run_job, import_job_id=job.pk)
    ImportJob.objects.filter(pk=job.pk).update(queue_job_id=job.queue_job_id)


def import_job_cancel(*, job: ImportJob) -> bool:
    """Cancel a job that waits or runs; return False if it had finished.

    A waiting job leaves the queue; a running one stops at its next progress report (every few
    thousand rows, or between phases), and an apply then writes nothing. An apply that reached
    its last phase commits regardless, and says so.
    """
    with transaction.atomic():
        cancelled = ImportJob.objects.filter(
            pk=job.pk, state__in=[ImportState.QUEUED, ImportState.RUNNING]
        ).update(
            state=ImportState.CANCELLED,
            finished_at=timezone.now(),
            message="Cancelled by staff; nothing was written.",
        )
    if not cancelled:
        return False
    if job.queue_job_id is not None:
        # Gone from the queue if no worker took it yet; otherwise the worker sees the state.
        app.job_manager.cancel_job_by_id(job.queue_job_id)
    return True


# --- running ------------------------------------------------------------------------------------


class ImportProgress:
    """Report a running import's phase and rows to its ``ImportJob`` row, through a connection
    of its own in autocommit: the admin sees it while the import's transaction is open.

    A write never waits: if the row is locked (the import's own connection wrote to it in a
    transaction, as the tests' in-process jobs do), that report is skipped. Raise
    ImportCancelled when the row says staff cancelled the job.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job_id = job.pk
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
        self.phase = ""
        self.phase_started = time.monotonic()
        self.last_write = 0.0
        self.timings: dict[str, float] = {}

    def __call__(self, phase: str, rows: int) -> None:
        now = time.monotonic()
        if phase != self.phase:
            self._end_phase(now)
            self.phase, self.phase_started = phase, now
        elif now - self.last_write < PROGRESS_INTERVAL_SECONDS:
            return
        self.last_write = now
        self._write(phase, rows)

    def finish(self) -> dict[str, float]:
        """Return the seconds each phase took."""
        self._end_phase(time.monotonic())
        self.phase = ""
        return self.timings

    def close(self) -> None:
        self.connection.close()

    def _end_phase(self, now: float) -> None:
        if self.phase:
            self.timings[self.phase] = round(
                self.timings.get(self.phase, 0) + now - self.phase_started, 3
            )

    def _write(self, phase: str, rows: int) -> None:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET phase = %s, rows_done = %s"  # noqa: S608 (our table's name)
                    f" WHERE id = (SELECT id FROM {ImportJob._meta.db_table}"
                    "  WHERE id = %s FOR UPDATE SKIP LOCKED)"
                    " RETURNING state",
                    [phase, rows, self.job_id],
                )
                row = cursor.fetchone()
        except DatabaseError:
            logger.warning("Import job %s: progress not written", self.job_id, exc_info=True)
            return
        if row is not None and row[0] == ImportState.CANCELLED:
            raise ImportCancelled


def import_job_run(*, import_job_id: int) -> None:
    """Run an import job (the dry run or the apply) to its end, recording its outcome."""
    job = ImportJob.objects.select_related("upload", "created_by").get(pk=import_job_id)
    started = ImportJob.objects.filter(
        pk=job.pk, state__in=[ImportState.QUEUED, ImportState.RUNNING]
    ).update(state=ImportState.RUNNING, started_at=timezone.now(), phase="", rows_done=0)
    if not started:  # finished (a repeated run), or cancelled while it waited
        return
    job.state = ImportState.RUNNING
    job.started_at = timezone.now()
    progress = ImportProgress(job)
    max_rows = settings.PRODUCTS_IMPORT_MAX_ROWS
    try:
        if job.dry_run and job.upload.file_format != "csv":
            _transcribe_workbook(job.upload, max_rows=max_rows, progress=progress)
        with import_upload_open(job.upload) as file, transaction.atomic():
            report = product_import(
                file=file,
                file_format=job.upload.file_format,
                created_by=None if job.dry_run else job.created_by,
                commit=not job.dry_run,
                max_rows=max_rows,
                progress=progress,
            )
            # In the import's transaction: an apply succeeded if and only if it committed.
            _finish(job, report, progress.finish())
    except ImportCancelled:
        _end(job, ImportState.CANCELLED, "Cancelled by staff; nothing was written.", progress)
    except ImportFileError as error:
        _end(job, ImportState.FAILED, f"{error} Nothing was written.", progress)
    except Exception as error:
        logger.exception("Import job %s failed", job.pk)
        _end(
            job,
            ImportState.FAILED,
            f"The import failed ({error.__class__.__name__}: {error}). Nothing was written.",
            progress,
        )
    finally:
        progress.close()
    if not job.dry_run:
        import_upload_discard(job.upload)


def _finish(job: ImportJob, report: ImportReport, timings: dict[str, float]) -> None:
    if job.dry_run or report.committed:
        job.state, job.message = ImportState.SUCCEEDED, ""
    else:
        job.state = ImportState.FAILED
        job.message = (
            "Nothing was written: the file has errors now (the catalogue changed since its "
            "dry run). Fix the file and upload it again."
        )
    job.finished_at = timezone.now()
    job.phase = ""
    job.rows_done = job.rows_total = job.row_count = report.row_count
    job.columns = list(report.columns)
    job.new, job.changed, job.unchanged = report.new, report.changed, report.unchanged
    job.invalid, job.variants_removed = report.invalid, report.variants_removed
    job.error_count = report.error_count
    job.errors = [[error.row, error.column, error.message] for error in report.errors]
    job.samples = [
        {"row": sample.row, "sku": sample.sku, "is_new": sample.is_new, "changes": sample.changes}
        for sample in report.samples
    ]
    job.audit_batch = report.audit_batch
    job.timings = timings
    job.save()


def _end(job: ImportJob, state: str, message: str, progress: ImportProgress) -> None:
    job.state, job.message = state, message
    job.finished_at = timezone.now()
    job.timings = progress.finish()
    job.save(update_fields=["state", "message", "finished_at", "timings"])


def import_job_report(job: ImportJob) -> ImportReport:
    """Return the report of a finished job, as the import returned it."""
    report = ImportReport(
        file_format=job.upload.uploaded_format,
        columns=tuple(job.columns),
        row_count=job.row_count or 0,
        new=job.new or 0,
        changed=job.changed or 0,
        unchanged=job.unchanged or 0,
        invalid=job.invalid or 0,
        error_count=job.error_count,
        errors=[RowError(row, column, message) for row, column, message in job.errors],
        samples=[
            RowChange(
                sample["row"],
                sample["sku"],
                sample["is_new"],
                {name: tuple(values) for name, values in sample["changes"].items()},
            )
            for sample in job.samples
        ],
        variants_removed=job.variants_removed or 0,
        committed=not job.dry_run and job.state == ImportState.SUCCEEDED,
        audit_batch=job.audit_batch,
    )
    return report


def import_job_status(job: ImportJob) -> dict[str, Any]:
    """Return what the job's status view answers (JSON)."""
    return {
        "id": job.pk,
        "dry_run": job.dry_run,
        "state": job.state,
        "finished": job.is_finished,
        "phase": job.phase,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "new": job.new,
        "changed": job.changed,
        "unchanged": job.unchanged,
        "error_count": job.error_count,
        "message": job.message,
        "seconds": round(job.seconds, 1) if job.seconds is not None else None,
    }


@app.task(name="products.import_run", queue="imports")
def import_run_job(*, import_job_id: int) -> None:
    """Run one product import (a dry run or an apply); safe to repeat."""
    import_job_run(import_job_id=import_job_id)
