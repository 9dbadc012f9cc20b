"""What every job worker does around each job it runs: tag its log lines, time it; and the
worker's own metrics endpoint.

``jobs_app_ready`` (``PROCRASTINATE_ON_APP_READY``) adds ``job_observed`` to the worker
middleware of procrastinate's app, so that ``manage.py procrastinate worker`` runs every job,
of every task, sync or async, inside it. With ``JOBS_METRICS_PORT`` set, a worker also serves
its process's metrics on that port for as long as it runs (``apps.core.metrics.endpoint``).
"""

import asyncio
import functools
import time
from typing import Any

from django.conf import settings
from procrastinate import App
from procrastinate.exceptions import JobAborted
from procrastinate.job_context import JobContext
from procrastinate.middleware import AsyncCallNext
from procrastinate.worker import Worker

from .logging import job_context
from .metrics.endpoint import serve_process_metrics
from .metrics.jobs import job_duration, job_latency_observe


async def job_observed(call_next: AsyncCallNext, context: JobContext, worker: Worker) -> Any:
    """Run the job with its id and task name on every line logged meanwhile, and observe its
    run time (by outcome) and, once it ran, its wait."""
    job = context.job
    outcome = "failed"
    started = time.perf_counter()
    try:
        # A sync task runs in a thread of asgiref's sync_to_async, which copies this context.
        with job_context(job.id, job.task_name):
            result = await call_next()
        outcome = "succeeded"
        return result
    except JobAborted:
        outcome = "aborted"
        raise
    except asyncio.CancelledError:  # the worker's shutdown gave up waiting for the job
        outcome = "cancelled"
        raise
    finally:
        # procrastinate records a cancelled job as aborted.
        job_duration.labels(
            job.queue, job.task_name, "aborted" if outcome == "cancelled" else outcome
        ).observe(time.perf_counter() - started)
        # Not for a job cancelled by the worker's shutdown: it would hold the shutdown for a query.
        if outcome != "cancelled":
            with job_context(job.id, job.task_name):
                await job_latency_observe(context.app.connector, job)


def jobs_app_ready(app: App) -> None:
    """Have every worker of ``app`` run each job inside ``job_observed``, and serve its metrics
    on ``JOBS_METRICS_PORT`` when that is set."""
    middleware = list(app.worker_defaults.get("worker_middleware") or [])
    app.worker_defaults["worker_middleware"] = [*middleware, job_observed]
    if settings.JOBS_METRICS_PORT:
        run_worker = app.run_worker_async

        @functools.wraps(run_worker)
        async def run_worker_serving_metrics(**options: Any) -> None:
            server = serve_process_metrics(settings.JOBS_METRICS_PORT)
            try:
                await run_worker(**options)
            finally:
                server.shutdown()
                server.server_close()

        # procrastinate has no hook for a worker's start: this is the one method that every
        # worker, `manage.py procrastinate worker` included, runs for as long as it works, and
        # that no other process (the web's, a command deferring jobs) calls.
        app.run_worker_async = run_worker_serving_metrics  # type: ignore[method-assign]
