"""Uploads waiting between an import's dry run and its confirmation.

An upload waits in the default storage as ``imports/<token>.csv`` (a workbook transcribed to CSV
once, on upload), named only in the uploader's session: the confirmation carries no data of its
own and checks the whole file again before writing. It is deleted on confirmation or
cancellation; an abandoned one, by any upload once a day old.
"""

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import IO, Any, TypedDict

from django.contrib.sessions.backends.base import SessionBase
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from .sheets import ImportFileError, sheet_to_csv

UPLOAD_FOLDER = "imports"
# Uploads that were never confirmed nor cancelled are deleted after this long.
UPLOAD_LIFETIME = timedelta(days=1)
SESSION_KEY = "products_pending_imports"
PENDING_UPLOADS_PER_SESSION = 5


class PendingUpload(TypedDict):
    name: str  # in the default storage
    file_format: str  # of the stored file: an XLSX upload is kept transcribed to CSV
    filename: str  # as uploaded
    uploaded_format: str


class PendingUploads:
    """The uploads of one session that wait for confirmation, by token; the newest five."""

    def __init__(self, session: SessionBase) -> None:
        self.session = session

    def add(self, upload: UploadedFile, *, file_format: str, max_rows: int) -> uuid.UUID:
        """Keep ``upload`` until it is confirmed or cancelled, and return its token.

        Raise ImportFileError if a workbook cannot be read, or has more than ``max_rows`` rows.
        """
        token = uuid.uuid4()
        with _kept(upload, file_format, max_rows) as kept:
            name = default_storage.save(f"{UPLOAD_FOLDER}/{token.hex}.csv", kept, max_length=200)
        delete_stale_uploads()
        pending = self._pending()
        pending[token.hex] = PendingUpload(
            name=name, file_format="csv", filename=upload.name or "", uploaded_format=file_format
        )
        while len(pending) > PENDING_UPLOADS_PER_SESSION:  # the oldest goes first
            oldest = next(iter(pending))
            default_storage.delete(pending.pop(oldest)["name"])
        self.session[SESSION_KEY] = pending
        return token

    def get(self, token: uuid.UUID) -> PendingUpload | None:
        """Return the upload of ``token``, or None if this session has no such upload."""
        return self._pending().get(token.hex)

    def discard(self, token: uuid.UUID) -> None:
        """Forget the upload of ``token`` and delete its file."""
        pending = self._pending()
        upload = pending.pop(token.hex, None)
        if upload is not None:
            default_storage.delete(upload["name"])
            self.session[SESSION_KEY] = pending

    def _pending(self) -> dict[str, PendingUpload]:
        pending: dict[str, PendingUpload] = self.session.get(SESSION_KEY, {})
        return pending


@contextlib.contextmanager
def open_upload(upload: PendingUpload) -> Iterator[IO[bytes]]:
    """Yield the stored file of ``upload``; raise ImportFileError if it is gone."""
    try:
        file = default_storage.open(upload["name"], "rb")
    except FileNotFoundError as error:
        raise ImportFileError("The uploaded file is gone; upload it again.") from error
    with file:
        yield file


@contextlib.contextmanager
def _kept(upload: UploadedFile, file_format: str, max_rows: int) -> Iterator[File[Any]]:
    """Yield what to keep of an upload: a CSV file as it is, a workbook transcribed to CSV.

    A workbook is read once, here; the preview and the confirmation read its cells as CSV,
    several times faster, and check them against the catalogue each time.
    """
    if file_format == "csv":
        yield upload
        return
    with tempfile.TemporaryFile() as transcript:
        sheet_to_csv(upload, file_format, transcript, max_rows=max_rows)
        transcript.seek(0)
        yield File(transcript)


def delete_stale_uploads() -> None:
    """Delete uploads older than UPLOAD_LIFETIME: abandoned previews, or sessions that ended."""
    try:
        _, names = default_storage.listdir(UPLOAD_FOLDER)
    except (FileNotFoundError, NotImplementedError):
        return
    cutoff = timezone.now() - UPLOAD_LIFETIME
    for name in names:
        path_name = f"{UPLOAD_FOLDER}/{name}"
        try:
            if default_storage.get_modified_time(path_name) < cutoff:
                default_storage.delete(path_name)
        except (FileNotFoundError, NotImplementedError):
            continue  # deleted meanwhile, or a storage that cannot tell
