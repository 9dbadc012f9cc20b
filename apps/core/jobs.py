"""Background jobs on procrastinate: deferring inside a transaction, retry policies, queue figures.

A job is a row in PostgreSQL (procrastinate's tables), written on the request's own connection:
deferred inside a transaction, it exists only if that transaction commits, and survives any
restart once it has. Workers (``manage.py procrastinate worker``, any number, on any host) take
jobs with ``SELECT ... FOR UPDATE SKIP LOCKED``, woken by LISTEN/NOTIFY. Each app's jobs live in
its ``tasks.py``; see docs/jobs.md.
"""

import contextlib
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from inspect import iscoroutinefunction
from typing import Any

import psycopg
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.utils import CursorWrapper
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Job
from procrastinate.tasks import Task

from .logging import job_context

logger = logging.getLogger(__name__)

# ``manage.py`` arguments that run a job worker, and those that check a worker's database access
# (its container healthcheck). `make run`, compose.yaml, the Dockerfile and the docs run the same
# commands; apps/core/tests/test_deploy.py holds them to these.
WORKER_COMMAND = ("procrastinate", "worker")
WORKER_HEALTHCHECK_COMMAND = ("procrastinate", "healthchecks")


@dataclass(frozen=True)
class ExponentialBackoff(BaseRetryStrategy):
    """Retry a failed job after a wait that doubles each time, read from a setting when it fails.

    The setting (named by ``setting``) is a dict: ``retries`` (how many times to try again),
    ``first_wait_seconds`` and ``max_wait_seconds``. Each wait is stretched by up to a tenth at
    random, so that jobs that failed together (a mail server's outage) do not all retry at once.
    """

    setting: str

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        # Decided by the worker after the job's own run (and its job_context) ended.
        with job_context(job.id, job.task_name):
            return self._decide(exception=exception, job=job)

    def _decide(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        policy = getattr(settings, self.setting)
        # job.attempts: how many times the job was retried already (0 on its first failure).
        if job.attempts >= policy["retries"]:
            logger.error(
                "Job %s (%s) failed for the last time after %d retries: %r",
                job.id,
                job.task_name,
                job.attempts,
                exception,
            )
            return None
        wait = backoff_wait(policy, retries_done=job.attempts)
        logger.warning(
            "Job %s (%s) failed (%r); retry %d of %d in %.0f s",
            job.id,
            job.task_name,
            exception,
            job.attempts + 1,
            policy["retries"],
            wait,
        )
        return RetryDecision(retry_in={"seconds": int(wait)})


def backoff_wait(policy: dict[str, int], *, retries_done: int) -> float:
    """Return the seconds to wait before retry number ``retries_done + 1`` under ``policy``
    (``first_wait_seconds``, doubling, at most ``max_wait_seconds``), stretched by up to a
    tenth at random."""
    wait = min(policy["first_wait_seconds"] * 2**retries_done, policy["max_wait_seconds"])
    return wait * (1 + random.random() / 10)  # noqa: S311 (spreading retries, not a secret)


def job_defer(task: Task[Any, Any, Any], *, lock: str | None = None, **arguments: Any) -> int:
    """Defer ``task`` on the current transaction, and return the job's id.

    The job exists, and a worker runs it, only once the transaction commits. With
    ``JOBS_RUN_ON_COMMIT`` (tests), this process runs it right after the commit instead.
    Jobs deferred with the same ``lock`` run one at a time, in the order they were deferred: a
    later one waits while an earlier one is running or waiting for a retry.
    """
    try:
        job_id = task.configure(lock=lock).defer(**arguments)
    except ConnectorException as error:
        # procrastinate turns the database's error into its own; give Django's back, so that an
        # outage is a 503 and a deadlock is retried, as for any other statement of the request.
        if not isinstance(error.__cause__, psycopg.Error):
            raise
        with connections[DEFAULT_DB_ALIAS].wrap_database_errors:
            raise error.__cause__ from error
    if settings.JOBS_RUN_ON_COMMIT:
        transaction.on_commit(partial(job_run_now, job_id))
    return job_id


def job_run_now(job_id: int) -> None:
    """Run one waiting job in this process and delete its row, as a worker would.

    For ``JOBS_RUN_ON_COMMIT`` (tests). A job that raises is logged and stays waiting, for a
    worker to retry; the caller never sees its error.
    """
    with transaction.atomic(), connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT task_name, args FROM procrastinate_jobs"
            " WHERE id = %s AND status = 'todo' FOR UPDATE SKIP LOCKED",
            [job_id],
        )
        row = cursor.fetchone()
        if row is None:  # taken by a worker, or gone
            return
        # Django has psycopg hand JSON over as text (its JSONField decodes it).
        task_name, arguments = row[0], json.loads(row[1])
        function = app.tasks[task_name].func
        with job_context(job_id, task_name):
            try:
                with transaction.atomic():
                    if iscoroutinefunction(function):
                        async_to_sync(function)(**arguments)
                    else:
                        function(**arguments)
            except Exception:
                logger.exception("Job %s (%s) failed; it stays queued", job_id, task_name)
                return
        cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job_id])


# The queue's backlog in one statement: jobs due now and not taken, the oldest one's wait, jobs
# running, and workers whose heartbeat is recent. A job deferred without a schedule was due when
# it was deferred (its "deferred" event; ids grow with time, so the lowest id is the oldest); a
# retried or scheduled one, at its scheduled_at.
_QUEUE_FIGURES_SQL = """
WITH waiting AS (
    SELECT id, scheduled_at FROM procrastinate_jobs
    WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())
)
SELECT
    (SELECT count(*) FROM waiting),
    EXTRACT(EPOCH FROM now() - LEAST(
        (SELECT min(scheduled_at) FROM waiting),
        (SELECT min(at) FROM procrastinate_events
         WHERE type = 'deferred'
           AND job_id = (SELECT min(id) FROM waiting WHERE scheduled_at IS NULL))
    )),
    (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'),
    (SELECT count(*) FROM procrastinate_workers
     WHERE last_heartbeat > now() - make_interval(secs => %s))
"""
# A worker beats every 10 s (procrastinate's default); three missed beats and it is not counted.
WORKER_ALIVE_SECONDS = 30


@contextlib.contextmanager
def bounded_cursor() -> Iterator[CursorWrapper]:
    """Yield a cursor whose statements PostgreSQL cancels after a second: for reads of the
    queue's figures by probes and scrapes, which must answer quickly whatever the backlog."""
    with transaction.atomic(), connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '1s'")
        yield cursor


def queue_figures() -> dict[str, Any]:
    """Return the backlog: jobs ``waiting``, ``oldest_waiting_seconds``, ``running``, ``workers``.

    Bounded to a second, and never raises: ``{"error": ...}`` when the tables cannot be read.
    """
    try:
        with bounded_cursor() as cursor:
            cursor.execute(_QUEUE_FIGURES_SQL, [WORKER_ALIVE_SECONDS])
            waiting, oldest, running, workers = cursor.fetchone()
    except DatabaseError as error:
        return {"error": f"unavailable: {error.__class__.__name__}"}
    return {
        "waiting": waiting,
        "oldest_waiting_seconds": round(float(oldest), 1) if oldest is not None else None,
        "running": running,
        "workers": workers,
    }
