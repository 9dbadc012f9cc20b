"""Background jobs on procrastinate: deferring inside a transaction, retry policies, queue figures.

A job is a row in PostgreSQL (procrastinate's tables), written on the request's own connection:
deferred inside a transaction, it exists only if that transaction commits, and survives any
restart once it has. Workers (``manage.py jobs worker``, any number, on any host) take
jobs with ``SELECT ... FOR UPDATE SKIP LOCKED``, woken by LISTEN/NOTIFY. Each app's jobs live in
its ``tasks.py``; see docs/jobs.md.

A job can also be woken by a NOTIFY of the database's own (``job_wake_on``): the outbox's
trigger notifies at each commit that wrote an event, and the workers defer the webhook relay at
once instead of at its next periodic run.
"""

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from inspect import iscoroutinefunction
from typing import Any

import psycopg
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.utils import CursorWrapper
from procrastinate import App, BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.utils import connector_params
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from procrastinate.tasks import Task
from psycopg import sql

from .logging import job_context

logger = logging.getLogger(__name__)

# ``manage.py`` arguments that run a job worker, and those that check a worker's database access
# (its container healthcheck). `make run`, compose.yaml, the Dockerfile and the docs run the same
# commands; apps/core/tests/test_deploy.py holds them to these.
WORKER_COMMAND = ("jobs", "worker")
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


# Jobs are always deferred through Django's connection, in its current transaction. A worker's
# procrastinate app has a connector of its own (a pool): a job deferred by a job through it
# committed at once, outside the job's transaction, so a webhook relay's delivery jobs could run
# before their deliveries were committed, find none, and end, leaving the deliveries pending.
_django_job_manager = JobManager(DjangoConnector(alias=settings.PROCRASTINATE_DATABASE_ALIAS))


def job_defer(
    task: Task[Any, Any, Any],
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    **arguments: Any,
) -> int:
    """Defer ``task`` on the current transaction, and return the job's id.

    The job exists, and a worker runs it, only once the transaction commits. With
    ``JOBS_RUN_ON_COMMIT`` (tests), this process runs it right after the commit instead.
    Jobs deferred with the same ``lock`` run one at a time, in the order they were deferred: a
    later one waits while an earlier one is running or waiting for a retry. A job with the
    ``queueing_lock`` of one waiting (not yet started) is refused with ``AlreadyEnqueued``,
    which aborts the transaction as any failed statement does (defer it in a savepoint). The
    same in a worker, where a job defers another: on Django's connection, never the worker's own.
    """
    try:
        job = _django_job_manager.defer_job(
            task.configure(lock=lock, queueing_lock=queueing_lock).make_new_job(**arguments)
        )
    except ConnectorException as error:
        # procrastinate turns the database's error into its own; give Django's back, so that an
        # outage is a 503 and a deadlock is retried, as for any other statement of the request.
        if not isinstance(error.__cause__, psycopg.Error):
            raise
        with connections[DEFAULT_DB_ALIAS].wrap_database_errors:
            raise error.__cause__ from error
    assert job.id is not None
    job_id = job.id
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


# --- Wake-ups: a NOTIFY on a channel defers a job (docs/jobs.md, "Woken by the database") ---

# Channel -> name of the task a worker defers when a notification comes on it.
WAKE_CHANNELS: dict[str, str] = {}
# After deferring a woken job, a worker waits this long before it defers it again, however many
# notifications came meanwhile (they are remembered, not lost): at most ten a second per worker,
# for at most this much lag.
WAKE_INTERVAL_SECONDS = 0.1
# How long the listener waits for a notification before checking that its connection is alive,
# and before it connects again after losing it.
WAKE_LISTEN_TIMEOUT_SECONDS = 30
WAKE_RECONNECT_SECONDS = 5
# A job with the task's queueing lock is waiting: it has not started, so it will see what the
# notification announced. Reads procrastinate's partial unique index of waiting queueing locks.
_WAITING_SQL = (
    "SELECT EXISTS (SELECT FROM procrastinate_jobs"
    " WHERE queueing_lock = %(queueing_lock)s AND status = 'todo') AS waiting"
)


def job_wake_on(channel: str) -> Callable[[Task[Any, Any, Any]], Task[Any, Any, Any]]:
    """Register a task for workers to defer when a NOTIFY comes on ``channel``.

    The task takes ``timestamp`` (as a periodic one does: keep a periodic run as the fallback,
    for a worker that was not listening) and must have a ``queueing_lock``, so that however many
    workers hear the notification, one job at most waits.
    """

    def register(task: Task[Any, Any, Any]) -> Task[Any, Any, Any]:
        assert task.queueing_lock, (
            f"{task.name}: a job woken by a notification needs a queueing_lock, or every worker "
            "listening would queue one."
        )
        WAKE_CHANNELS[channel] = task.name
        return task

    return register


async def jobs_wake_listen(job_app: App, *, queues: Iterable[str] | None = None) -> None:
    """LISTEN on the channels of ``job_wake_on`` and defer their tasks (those of ``queues``, or
    all) when notified; run until cancelled.

    Never raises: a lost connection is opened again (deferring each task once then, for what
    was committed meanwhile), and a failed deferral is logged; the periodic runs remain.
    """
    tasks = {
        channel: job_app.tasks[name]
        for channel, name in WAKE_CHANNELS.items()
        if queues is None or job_app.tasks[name].queue in queues
    }
    if not tasks:
        return
    wakes = {channel: asyncio.Event() for channel in tasks}
    deferrers = [
        asyncio.create_task(_wake_defer(job_app, task, wakes[channel]), name=f"wake {channel}")
        for channel, task in tasks.items()
    ]
    parameters = connector_params()
    try:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    **parameters, autocommit=True
                ) as connection:
                    for channel in tasks:
                        await connection.execute(
                            sql.SQL("LISTEN {}").format(sql.Identifier(channel))
                        )
                    logger.info("Listening on %s", ", ".join(sorted(tasks)))
                    for wake in wakes.values():
                        wake.set()
                    while True:
                        async for notification in connection.notifies(
                            timeout=WAKE_LISTEN_TIMEOUT_SECONDS
                        ):
                            wakes[notification.channel].set()
                        await connection.execute("SELECT 1")
            except psycopg.Error as error:
                logger.warning(
                    "Listening for wake-ups failed (%r); again in %d s",
                    error,
                    WAKE_RECONNECT_SECONDS,
                )
                await asyncio.sleep(WAKE_RECONNECT_SECONDS)
    finally:
        for deferrer in deferrers:
            deferrer.cancel()
        await asyncio.gather(*deferrers, return_exceptions=True)


async def _wake_defer(job_app: App, task: Task[Any, Any, Any], wake: asyncio.Event) -> None:
    """Defer ``task`` each time ``wake`` is set, at most once per ``WAKE_INTERVAL_SECONDS``,
    unless one of its jobs is waiting already."""
    while True:
        await wake.wait()
        wake.clear()
        try:
            waiting = await job_app.connector.execute_query_one_async(
                query=_WAITING_SQL, queueing_lock=task.queueing_lock
            )
            if not waiting["waiting"]:
                await job_app.configure_task(task.name).defer_async(timestamp=int(time.time()))
        except AlreadyEnqueued:
            pass  # another worker's, deferred since the check: it will see the same
        except Exception:
            logger.exception("Deferring %s on a wake-up failed", task.name)
        await asyncio.sleep(WAKE_INTERVAL_SECONDS)
