"""``manage.py jobs``: procrastinate's command (``worker``, ``defer``, ``healthchecks``,
``shell``), whose worker also listens for the database's wake-ups (``apps.core.jobs.job_wake_on``).

Run workers with ``manage.py jobs worker``: ``manage.py procrastinate worker`` runs the same jobs
but hears no wake-up, so a woken job waits for its periodic run (the webhook relay: 5 s).
"""

import asyncio
import contextlib
import logging
from typing import Any

from procrastinate import App
from procrastinate.contrib.django.management.commands import procrastinate

from apps.core.jobs import jobs_wake_listen

logger = logging.getLogger(__name__)


async def worker_woken(app: App, **options: Any) -> None:
    """Run procrastinate's worker with the wake-up listener beside it, stopped with it.

    As procrastinate's ``worker`` command does, but its first line logged (a JSON line in
    production) rather than printed to stderr as plain text."""
    queues = options.get("queues")
    listener = asyncio.create_task(jobs_wake_listen(app, queues=queues))
    logger.info("Launching a worker on %s", ", ".join(queues) if queues else "all queues")
    try:
        await app.run_worker_async(**options)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


class Command(procrastinate.Command):
    help = (
        "procrastinate's commands; `worker` also defers the jobs woken by a NOTIFY (docs/jobs.md)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("command") == "worker":
            options["func"] = worker_woken
        super().handle(*args, **options)
