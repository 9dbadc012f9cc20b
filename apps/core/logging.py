"""Log records as JSON lines (production), and the job id that a job's log lines carry.

``JsonFormatter`` writes one JSON object per line: ``time`` (UTC, ISO 8601), ``level``,
``logger``, ``message``, ``request_id``, ``job_id`` and ``job_task`` (null outside a request or
a job), then whatever the call passed as ``extra``, and ``exception`` (the formatted traceback)
when there is one. The request id comes from ``apps.core.middleware.RequestIdLogFilter``, the
job's id and task name from ``JobIdLogFilter``: both filters sit on the console handler
(``LOGGING`` in ``project/settings/base.py``).

A job runner tags the lines logged while it runs a job, in its thread or asyncio task and in
the threads it hands work to with asgiref's ``sync_to_async`` (which copies the context)::

    with job_context(job.id, job.task_name):
        run(job)

procrastinate's workers do so through ``apps.core.jobs.job_observed`` (a worker middleware);
the worker's own lines about a job before and after it runs ("Starting job", "ended with
status") name the job in their ``extra``, which ``JobIdLogFilter`` reads.

Our own formatter rather than python-json-logger: orjson (already the API's renderer) writes
dates, UUIDs and decimals as they are, it is some twenty lines, and the fields are ours to name.
"""

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

# The running job's id and task name (both text), or None outside a job.
_job: ContextVar[tuple[str, str | None] | None] = ContextVar("job", default=None)

# What every LogRecord has; the rest of its attributes came from ``extra``.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
_RECORD_ATTRIBUTES = _STANDARD_ATTRIBUTES | {
    "message",
    "asctime",
    "request_id",
    "job_id",
    "job_task",
}


def get_job_id() -> str | None:
    """Return the id of the job being run, or None outside a job."""
    job = _job.get()
    return job[0] if job is not None else None


@contextlib.contextmanager
def job_context(job_id: object, task_name: str | None = None) -> Iterator[None]:
    """Tag every line logged inside the block (in this thread or task) with ``job_id`` and
    ``task_name``."""
    token = _job.set((str(job_id), task_name))
    try:
        yield
    finally:
        _job.reset(token)


def _job_named_by(record: logging.LogRecord) -> tuple[str, str | None] | None:
    # procrastinate's worker passes the job it logs about as extra={"job": job.log_context()}.
    job = getattr(record, "job", None)
    if record.name.startswith("procrastinate.") and isinstance(job, dict) and job.get("id"):
        return str(job["id"]), job.get("task_name")
    return None


class JobIdLogFilter(logging.Filter):
    """Add ``job_id`` and ``job_task`` to every log record: the job being run, or the one the
    record names (procrastinate's worker, before and after it runs one), else None; and
    ``job_mark`` for readable lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _job.get() or _job_named_by(record)
        record.job_id, record.job_task = job if job is not None else (None, None)
        # The readable line's mark (settings' "plain" format): " [job 17]", or nothing.
        record.job_mark = f" [job {job[0]}]" if job is not None else ""
        return True


def _unserialisable(value: Any) -> str:
    return str(value)


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id in (None, "-") else request_id,
            "job_id": getattr(record, "job_id", None),
            "job_task": getattr(record, "job_task", None),
        }
        fields.update(self.extra_fields(record))
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in fields:
                fields[name] = value
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        # Newlines inside values are escaped by JSON: one record is always one line.
        return orjson.dumps(
            fields, default=_unserialisable, option=orjson.OPT_NON_STR_KEYS
        ).decode()

    def extra_fields(self, record: logging.LogRecord) -> Mapping[str, Any]:
        """Return fields to add for ``record`` beyond the standard ones and its ``extra``."""
        return {}


class AccessLogJsonFormatter(JsonFormatter):
    """gunicorn's access log as JSON: the common-format line as ``message``, and its parts as
    fields, the request id among them (the ``X-Request-ID`` Django answered with)."""

    # gunicorn's atoms (its access_log_format letters): the field each becomes.
    ATOMS = {
        "m": "method",
        "U": "path",
        "q": "query",
        "s": "status",
        "B": "bytes",
        "h": "remote_addr",
        "a": "user_agent",
    }

    def extra_fields(self, record: logging.LogRecord) -> Mapping[str, Any]:
        atoms = record.args
        if not isinstance(atoms, Mapping):
            return {}
        fields: dict[str, Any] = {field: atoms.get(atom) for atom, field in self.ATOMS.items()}
        status = str(atoms.get("s", ""))
        fields["status"] = int(status) if status.isdigit() else status
        microseconds = atoms.get("D")
        fields["duration_ms"] = microseconds / 1000 if isinstance(microseconds, int) else None
        request_id = atoms.get("{x-request-id}o")
        fields["request_id"] = None if request_id in (None, "-") else request_id
        return fields
