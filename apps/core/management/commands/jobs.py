"""``manage.py jobs``: procrastinate's command (``worker``, ``defer``, ``healthchecks``,
``shell``), whose worker also listens for the database's wake-ups (``apps.core.jobs.job_wake_on``).

Run workers with ``manage.py jobs worker``: ``manage.py procrastinate worker`` runs the same jobs
but hears no wake-up, so a woken job waits for its periodic run (the webhook relay: 5 s).
"""

import asyncio
import contextlib
from typing import Any

from procrastinate import App, cli
from procrastinate.contrib.django.management.commands import procrastinate

from apps.core.jobs import jobs_wake_listen


async def worker_woken(app: App, **options: Any) -> None:
    """Run procrastinate's worker with the wake-up listener beside it, stopped with it."""
    listener = asyncio.create_task(jobs_wake_listen(app, queues=options.get("queues")))
    try:
        await cli.worker_(app=app, **options)
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
