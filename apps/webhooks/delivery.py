"""Sending one delivery: the job, its attempts, its retries.

A delivery job is deferred by the relay (``services.events_relay``) with a procrastinate
``lock`` per subscription and entity: jobs with one lock run one at a time, in the order they
were deferred, and a job waiting for its retry holds back the later ones. So a receiver gets an
entity's events in order, each only once the one before it was delivered or given up.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.jobs import Job

from apps.core.jobs import backoff_wait, job_defer

from . import outbound
from .metrics import webhook_deliveries
from .models import Delivery, DeliveryAttempt
from .payloads import event_body
from .signing import signature_headers

logger = logging.getLogger(__name__)

USER_AGENT = "Catalogue-Webhooks/1"


class DeliveryFailed(Exception):
    """An attempt failed and the delivery has attempts left: the job is retried."""

    def __init__(self, delivery_id: int, attempts: int, reason: str) -> None:
        super().__init__(f"delivery {delivery_id}: attempt {attempts} failed ({reason})")
        self.attempts = attempts


@dataclass(frozen=True)
class DeliveryRetry(BaseRetryStrategy):
    """Retry a failed attempt after ``WEBHOOKS_RETRY``'s wait for the delivery's attempt count.

    The delivery, not the job, decides when to give up (its last attempt does not raise), so
    a job re-run after its worker died does not shorten the schedule. Any other error is one
    the attempt could not even record (the database unreachable): the job is retried on its own
    count and never given up, since its delivery would otherwise stay pending for ever; it ends
    once the attempt is recorded.
    """

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        wait = self.wait_seconds(exception=exception, job=job)
        return None if wait is None else RetryDecision(retry_in={"seconds": wait})

    def wait_seconds(self, *, exception: BaseException, job: Job) -> int | None:
        """Return the seconds before the job runs again (never None: the delivery decides)."""
        policy = settings.WEBHOOKS_RETRY
        if isinstance(exception, DeliveryFailed):
            retries_done = exception.attempts - 1
        else:
            retries_done = job.attempts
            logger.error(
                "Job %s (%s) failed before its attempt was recorded (retry %d): %r",
                job.id,
                job.task_name,
                job.attempts + 1,
                exception,
            )
        return round(backoff_wait(policy, retries_done=retries_done))


def delivery_attempt(*, delivery_id: int) -> DeliveryFailed | None:
    """Send a pending delivery once and record the attempt; return the ``DeliveryFailed`` to
    raise when it failed and has attempts left (None when it is done, or was already)."""
    delivery = (
        Delivery.objects.select_related("subscription", "event").filter(pk=delivery_id).first()
    )
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return None  # a job run twice (its worker died after the attempt), or resent and pruned
    subscription = delivery.subscription
    if not subscription.is_active:
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, completed_at=timezone.now()
        )
        webhook_deliveries.labels("dropped").inc()
        logger.info(
            "Delivery %s dropped: subscription %s is inactive", delivery.pk, subscription.pk
        )
        return None

    attempted_at = timezone.now()
    try:
        answer = delivery_post(delivery, attempted_at=attempted_at)
    except Exception as error:
        # Not the receiver's failure (post() returns those): a payload that cannot be built, a
        # bug. Recorded as a failed attempt on the delivery's own schedule, so that it is tried
        # again and, at its last attempt, failed: never left pending with no job.
        logger.exception("Delivery %s: the attempt raised", delivery.pk)
        answer = outbound.Answer(
            None, f"internal error: {error.__class__.__name__}: {error}"[:1000], 0
        )
    succeeded = answer.status is not None and 200 <= answer.status < 300
    attempts = delivery.attempt_count + 1
    last = not succeeded and attempts > settings.WEBHOOKS_RETRY["retries"]
    changes: dict[str, object] = {"attempt_count": F("attempt_count") + 1}
    if succeeded or last:
        changes["status"] = Delivery.Status.DELIVERED if succeeded else Delivery.Status.FAILED
        changes["completed_at"] = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=attempted_at,
            response_status=answer.status,
            duration_ms=answer.duration_ms,
            error=answer.error,
        )
        Delivery.objects.filter(pk=delivery.pk).update(**changes)

    reason = answer.error or f"HTTP {answer.status}"
    if succeeded:
        webhook_deliveries.labels("delivered").inc()
        return None
    if last:
        webhook_deliveries.labels("gave_up").inc()
        logger.warning(
            "Delivery %s failed for the last time (attempt %d): %s", delivery.pk, attempts, reason
        )
        return None
    webhook_deliveries.labels("retried").inc()
    return DeliveryFailed(delivery.pk, attempts, reason)


def delivery_post(delivery: Delivery, *, attempted_at: datetime) -> outbound.Answer:
    """Build ``delivery``'s body from its entity as it is now, sign it and POST it."""
    subscription = delivery.subscription
    body = event_body(delivery.event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signature_headers(
            secrets=subscription.signing_secrets(attempted_at),
            message_id=str(delivery.event.id),
            timestamp=int(time.time()),
            body=body,
        ),
    }
    return outbound.post(subscription.target_url, body=body, headers=headers)


# Below every other job (procrastinate takes the highest priority first, then the oldest): a
# backlog of thousands of deliveries does not hold up the relay, an import or an account email.
# Deliveries keep their order among themselves (one priority) and per entity (their lock).
DELIVERY_PRIORITY = -10


@app.task(
    name="webhooks.deliver", queue="webhooks", retry=DeliveryRetry(), priority=DELIVERY_PRIORITY
)
def delivery_send_job(*, delivery_id: int) -> None:
    """Send one delivery; a failed attempt with attempts left fails the job, to be retried."""
    failed = delivery_attempt(delivery_id=delivery_id)
    if failed is not None:
        raise failed


def deliveries_enqueue(deliveries: list[Delivery]) -> None:
    """Defer a job for each delivery, in the given order, on the current transaction; each
    delivery's event must be loaded."""
    for delivery in deliveries:
        job_defer(delivery_send_job, lock=delivery.ordering_key, delivery_id=delivery.pk)
