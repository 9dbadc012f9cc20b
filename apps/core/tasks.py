"""The queue's own upkeep: jobs of a worker that died are run again; old failed jobs go."""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)

# A worker whose heartbeat (every 10 s) stopped this long ago is dead: killed, or its host gone.
STALLED_AFTER_SECONDS = 60


@app.periodic(cron="*/5 * * * *")
@app.task(name="core.jobs_retry_stalled", queue="upkeep", queueing_lock="core.jobs_stalled")
async def jobs_retry_stalled_job(timestamp: int) -> int:
    """Put back in the queue the jobs a dead worker was running; return how many.

    A worker that stops cleanly (SIGTERM) finishes its jobs first; one killed, or whose host
    went away, leaves them ``doing`` for ever without this. Every job here may run twice, so
    each must be safe to repeat (an email may then arrive twice: acceptable).
    """
    stalled = list(
        await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS)
    )
    for job in stalled:
        logger.warning("Job %s (%s) of a dead worker is queued again", job.id, job.task_name)
        await app.job_manager.retry_job(job)
    return len(stalled)


@app.periodic(cron="10 3 * * *")
@app.task(name="core.jobs_prune", queue="upkeep", queueing_lock="core.jobs_prune")
async def jobs_prune_job(timestamp: int) -> None:
    """Delete the rows of jobs that ended (failed, cancelled, aborted) over
    JOBS_KEEP_FAILED_DAYS ago; succeeded ones are deleted by the worker as they succeed."""
    await app.job_manager.delete_old_jobs(
        nb_hours=settings.JOBS_KEEP_FAILED_DAYS * 24,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )
