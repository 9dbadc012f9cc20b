"""Webhook jobs: the relay from the outbox, deliveries (``delivery.py``) and the upkeep.
Workers find the jobs of every app's ``tasks.py``."""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

from .delivery import delivery_send_job
from .services import events_relay, webhooks_prune

# delivery_send_job is registered with the workers by importing it here.
__all__ = ["delivery_send_job", "events_relay_job", "webhooks_prune_job"]

logger = logging.getLogger(__name__)


# Every 5 seconds (croniter's sixth field is seconds): the lag of an event before its deliveries
# are queued is at most that plus a relay's run. The queueing lock keeps one relay waiting at
# most, however long one takes.
@app.periodic(cron="* * * * * */5")
@app.task(name="webhooks.events_relay", queue="webhooks", queueing_lock="webhooks.relay")
def events_relay_job(timestamp: int) -> None:
    """Relay the outbox's new events to the subscriptions' deliveries."""
    taken = events_relay()
    if taken:
        logger.info("Relayed %d event(s)", taken)


@app.periodic(cron="40 3 * * *")
@app.task(name="webhooks.prune", queue="upkeep", queueing_lock="webhooks.prune")
def webhooks_prune_job(timestamp: int) -> None:
    """Delete ended deliveries and relayed events older than WEBHOOKS_KEEP_DAYS."""
    deleted = webhooks_prune(keep_days=settings.WEBHOOKS_KEEP_DAYS)
    logger.info("Deleted old webhook records: %s", deleted)
