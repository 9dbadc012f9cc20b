"""Webhook jobs: the relay from the outbox, the senders (``delivery.py``) and their sweep, and
the upkeep.
Workers find the jobs of every app's ``tasks.py``."""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

from apps.core.jobs import job_wake_on

from .delivery import deliveries_send_job, deliveries_sweep
from .services import events_relay, webhooks_prune

# deliveries_send_job is registered with the workers by importing it here.
__all__ = ["deliveries_send_job", "deliveries_sweep_job", "events_relay_job", "webhooks_prune_job"]

logger = logging.getLogger(__name__)


# Woken by the outbox: events_emit sends a NOTIFY on events_outbox when a transaction that wrote
# an event commits, and each worker (`manage.py jobs worker`) then defers this job, so an event
# is relayed within a fraction of a second. Every 5 seconds as well (croniter's sixth field is
# seconds), for what a worker that was not listening missed. The queueing lock keeps one relay
# waiting at most, however many workers are woken and however long one relay takes.
@job_wake_on("events_outbox")
@app.periodic(cron="* * * * * */5")
@app.task(name="webhooks.events_relay", queue="webhooks", queueing_lock="webhooks.relay")
def events_relay_job(timestamp: int) -> None:
    """Relay the outbox's new events to the subscriptions' deliveries."""
    taken = events_relay()
    if taken:
        logger.info("Relayed %d event(s)", taken)


# Retries fall due, and a sender that died leaves its batch pending (its row locks went with its
# connection): every 5 seconds, senders are queued for what is due (a slot with a job waiting
# already is left as it is).
@app.periodic(cron="* * * * * */5")
@app.task(name="webhooks.send_due", queue="webhooks", queueing_lock="webhooks.send_due")
def deliveries_sweep_job(timestamp: int) -> None:
    """Wake the senders of subscriptions with deliveries due."""
    deliveries_sweep()


@app.periodic(cron="40 3 * * *")
@app.task(name="webhooks.prune", queue="upkeep", queueing_lock="webhooks.prune")
def webhooks_prune_job(timestamp: int) -> None:
    """Delete ended deliveries and relayed events older than WEBHOOKS_KEEP_DAYS."""
    deleted = webhooks_prune(keep_days=settings.WEBHOOKS_KEEP_DAYS)
    logger.info("Deleted old webhook records: %s", deleted)
