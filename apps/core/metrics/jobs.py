"""Job queue metrics: the backlog read at scrape time, and each job's wait and run time.

- ``JobQueueCollector`` (``METRICS_COLLECTORS``): what procrastinate's tables hold now, in one
  statement, whichever process answers the scrape: jobs waiting and running per queue and task,
  how long the oldest waiting one has waited, and the workers alive.
- ``job_latency`` and ``job_duration``: histograms observed by the job worker process as it runs
  each job (``apps.core.job_worker.job_observed``). They live in that process: see
  ``apps.core.metrics.collectors`` on scraping a job runner.

Labels are the queue and the task's name, both fixed sets (the tasks the code registers), and
an outcome for the run time.
"""

import logging
from collections.abc import Iterator
from typing import Any

from procrastinate.connector import BaseConnector
from procrastinate.contrib.django import app
from procrastinate.jobs import Job
from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apps.core.jobs import WORKER_ALIVE_SECONDS, bounded_cursor

logger = logging.getLogger(__name__)

# Seconds. A job is picked up within milliseconds of its commit (LISTEN/NOTIFY) by an idle
# worker; a backlog or a busy import worker makes it minutes. Runs range from a relay's few
# milliseconds to an import's many minutes.
JOB_SECONDS_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
)

job_latency = Histogram(
    "catalogue_job_latency_seconds",
    "Time from a job becoming due (deferred, or the time it was scheduled or retried for) to a "
    "worker starting it, by queue and task.",
    ["queue", "task"],
    buckets=JOB_SECONDS_BUCKETS,
)
job_duration = Histogram(
    "catalogue_job_duration_seconds",
    "Time a worker spent running a job, by queue, task and outcome: succeeded, failed (it "
    "raised; it may be retried), aborted.",
    ["queue", "task", "outcome"],
    buckets=JOB_SECONDS_BUCKETS,
)

# A job's wait before this run, from the database's own clock: its latest start minus the later
# of when it was last queued (deferred, or put back by a retry) and the time it was scheduled
# for. Read after the job ran, before its row (and with it its events) is deleted.
JOB_LATENCY_SQL = """
SELECT EXTRACT(EPOCH FROM
    max(event.at) FILTER (WHERE event.type = 'started')
    - GREATEST(
        max(event.at) FILTER (WHERE event.type IN ('deferred', 'deferred_for_retry', 'retried')),
        job.scheduled_at
    )
) AS wait
FROM procrastinate_jobs AS job JOIN procrastinate_events AS event ON event.job_id = job.id
WHERE job.id = %(job_id)s
GROUP BY job.scheduled_at
"""


async def job_latency_observe(connector: BaseConnector, job: Job) -> None:
    """Observe how long ``job`` waited before this run, read through ``connector`` (its app's);
    a failure to read it is logged, never raised into the job's outcome."""
    try:
        row = await connector.execute_query_one_async(JOB_LATENCY_SQL, job_id=job.id)
    except Exception as error:
        logger.warning("Job %s (%s): its wait could not be read: %r", job.id, job.task_name, error)
        return
    if row is not None and row["wait"] is not None:
        job_latency.labels(job.queue, job.task_name).observe(max(float(row["wait"]), 0.0))


# Per queue and task: jobs due and not taken, jobs running, and the oldest waiting job's wait; a
# row with no queue when nothing is queued, so that the workers are counted either way. The
# oldest job of a group is the one due first: the lowest scheduled time, or among those deferred
# without one the lowest id (ids grow with time), when it was last queued (its events). Cost: the
# due and running jobs, through procrastinate's partial index, and a few events by job id.
_QUEUE_SQL = """
WITH grouped AS (
    SELECT queue_name, task_name,
        count(*) FILTER (WHERE status = 'todo') AS waiting,
        count(*) FILTER (WHERE status = 'doing') AS running,
        min(scheduled_at) FILTER (WHERE status = 'todo') AS first_scheduled,
        min(id) FILTER (WHERE status = 'todo' AND scheduled_at IS NULL) AS first_unscheduled
    FROM procrastinate_jobs
    WHERE status = 'doing' OR (status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now()))
    GROUP BY queue_name, task_name
)
SELECT grouped.queue_name, grouped.task_name, grouped.waiting, grouped.running,
    EXTRACT(EPOCH FROM now() - LEAST(
        grouped.first_scheduled,
        (SELECT max(at) FROM procrastinate_events
         WHERE job_id = grouped.first_unscheduled
           AND type IN ('deferred', 'deferred_for_retry', 'retried'))
    )),
    workers.alive
FROM grouped RIGHT JOIN (
    SELECT count(*) AS alive FROM procrastinate_workers
    WHERE last_heartbeat > now() - make_interval(secs => %s)
) AS workers ON true
"""


def _registered_queues_and_tasks() -> set[tuple[str, str]]:
    """Return the (queue, task) of every task the code registers, procrastinate's own aside."""
    return {
        (task.queue, task.name)
        for task in app.tasks.values()
        if not task.name.startswith("builtin:")
    }


class JobQueueCollector(Collector):
    """The job queue's backlog, read from procrastinate's tables when scraped.

    Every registered task has its series, 0 when none of its jobs wait, so that a rule need
    not tell a missing series from an empty queue; a queue or task met only in the tables (a
    job of a task since removed) has them too while it has jobs.
    """

    def collect(self) -> Iterator[Metric]:
        with bounded_cursor() as cursor:
            cursor.execute(_QUEUE_SQL, [WORKER_ALIVE_SECONDS])
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        labels = ["queue", "task"]
        depth = GaugeMetricFamily(
            "catalogue_job_queue_depth",
            "Jobs due and waiting for a worker, by queue and task.",
            labels=labels,
        )
        running = GaugeMetricFamily(
            "catalogue_job_running", "Jobs a worker is running, by queue and task.", labels=labels
        )
        oldest = GaugeMetricFamily(
            "catalogue_job_oldest_waiting_seconds",
            "How long the job that has waited longest has waited, by queue and task (0 when "
            "none waits).",
            labels=labels,
        )
        figures = dict.fromkeys(_registered_queues_and_tasks(), (0, 0, 0.0))
        workers = 0
        for queue, task, waiting, doing, waited, alive in rows:
            workers = alive
            if queue is not None:
                figures[queue, task] = (waiting, doing, max(float(waited or 0), 0.0))
        for (queue, task), (waiting, doing, waited) in sorted(figures.items()):
            depth.add_metric([queue, task], waiting)
            running.add_metric([queue, task], doing)
            oldest.add_metric([queue, task], waited)
        alive_workers = GaugeMetricFamily(
            "catalogue_job_workers",
            f"Job workers whose heartbeat is under {WORKER_ALIVE_SECONDS} s old.",
        )
        alive_workers.add_metric([], workers)
        yield from (depth, running, oldest, alive_workers)
