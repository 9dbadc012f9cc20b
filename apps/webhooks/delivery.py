"""Sending deliveries: senders take them from the delivery table in batches.

The table is the queue. The relay (``services.events_relay``) makes the deliveries and wakes
senders for their subscriptions (``senders_wake``). A sender job (``webhooks.send``) takes a
batch of its subscription's due deliveries (``Delivery.objects.due``: each the first of its
entity still pending), locked ``FOR UPDATE SKIP LOCKED`` in a transaction so that the other
senders take others; builds their bodies together, sends them in parallel over connections kept
alive, records every attempt and outcome, commits, and takes the next batch.

A failed attempt with attempts left keeps its delivery pending with a ``next_attempt_at`` after
the backoff, which holds back its entity's later deliveries: a receiver gets an entity's events
in order, each only once the one before it was delivered or given up. The sweep
(``webhooks.send_due``, every few seconds) wakes senders for what is due and has none coming:
retries, and the batch of a sender that died (its row locks went with its connection).
"""

import itertools
import logging
import math
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from apps.core.jobs import backoff_wait, job_defer

from . import outbound
from .metrics import webhook_deliveries
from .models import Delivery, DeliveryAttempt, Subscription
from .payloads import event_bodies
from .signing import signature_headers

logger = logging.getLogger(__name__)

USER_AGENT = "Catalogue-Webhooks/1"
# Deliveries a sender takes in one transaction.
SEND_BATCH = 100
# A sender takes batches for this long, then hands over to a fresh job, so that a backlog does
# not keep a worker's slot from the jobs queued meanwhile, nor outlast a worker's shutdown.
SEND_BUDGET_SECONDS = 10.0

# Below every other job (procrastinate takes the highest priority first, then the oldest): a
# backlog of thousands of deliveries does not hold up the relay, an import or an account email.
DELIVERY_PRIORITY = -10


@dataclass(frozen=True)
class Post:
    """One signed request of a delivery, to send."""

    url: str
    body: bytes
    headers: dict[str, str]


class Posters:
    """Requests sent in parallel by ``threads`` threads, each with its ``outbound.Client`` (and
    so its own connection to each receiver); with one thread, in the caller's."""

    def __init__(self, threads: int) -> None:
        self._local = threading.local()
        self._clients: list[outbound.Client] = []
        self._executor = (
            ThreadPoolExecutor(threads, thread_name_prefix="webhooks-send") if threads > 1 else None
        )

    def __enter__(self) -> "Posters":
        return self

    def __exit__(self, *exception: object) -> None:
        if self._executor is not None:
            self._executor.shutdown()
        for client in self._clients:
            client.close()

    def send(self, posts: Iterable[Post]) -> list[outbound.Answer]:
        """POST each of ``posts``; return their answers in the same order."""
        if self._executor is None:
            return [self._post(post) for post in posts]
        return list(self._executor.map(self._post, posts))

    def _post(self, post: Post) -> outbound.Answer:
        client: outbound.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = outbound.Client()
            self._clients.append(client)  # list.append is atomic
        return client.post(post.url, body=post.body, headers=post.headers)


def deliveries_send_batch(
    subscription_id: int, posters: Posters, *, limit: int = SEND_BATCH
) -> int:
    """Send up to ``limit`` of the subscription's due deliveries once each and record the
    attempts, in one transaction; return how many were taken.

    A subscription deactivated since drops its pending deliveries instead (failed, unsent).
    """
    with transaction.atomic():
        subscription = Subscription.objects.filter(pk=subscription_id).first()
        if subscription is None:
            return 0  # deleted, with its deliveries
        if not subscription.is_active:
            dropped = (
                Delivery.objects.pending()
                .filter(subscription=subscription)
                .update(status=Delivery.Status.FAILED, completed_at=timezone.now())
            )
            if dropped:
                webhook_deliveries.labels("dropped").inc(dropped)
                logger.info(
                    "%d delivery(ies) dropped: subscription %s is inactive",
                    dropped,
                    subscription.pk,
                )
            return 0
        deliveries = Delivery.objects.claim(subscription_id, limit=limit)
        if not deliveries:
            return 0
        attempted_at = timezone.now()
        prepared = _prepare(subscription, deliveries)
        sent = iter(posters.send(post for post in prepared if isinstance(post, Post)))
        answers = [next(sent) if isinstance(post, Post) else post for post in prepared]
        _record(deliveries, answers, attempted_at=attempted_at)
    return len(deliveries)


def _prepare(
    subscription: Subscription, deliveries: list[Delivery]
) -> list[Post | outbound.Answer]:
    """Return what to send for each delivery: its signed request, or, when its body could not
    be built (a bug, not the receiver's failure), the failed attempt to record instead."""
    bodies = event_bodies([delivery.event for delivery in deliveries])
    secrets = subscription.signing_secrets()
    posts: list[Post | outbound.Answer] = []
    for delivery in deliveries:
        body = bodies[delivery.event_id]
        if isinstance(body, Exception):
            error = f"internal error: {body.__class__.__name__}: {body}"[:1000]
            posts.append(outbound.Answer(None, error, 0))
            continue
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **signature_headers(
                secrets=secrets,
                message_id=str(delivery.event.id),
                timestamp=int(time.time()),
                body=body,
            ),
        }
        posts.append(Post(subscription.target_url, body, headers))
    return posts


# A batch's outcomes in one statement (the ORM's bulk_update builds a CASE per row and field,
# which cost more CPU than the sending).
_OUTCOMES_SQL = """
UPDATE webhooks_delivery AS delivery
SET status = outcome.status, attempt_count = outcome.attempt_count,
    next_attempt_at = outcome.next_attempt_at, completed_at = outcome.completed_at
FROM unnest(%s::bigint[], %s::text[], %s::integer[], %s::timestamptz[], %s::timestamptz[])
    AS outcome (id, status, attempt_count, next_attempt_at, completed_at)
WHERE delivery.id = outcome.id
"""


def _record(
    deliveries: list[Delivery], answers: list[outbound.Answer], *, attempted_at: datetime
) -> None:
    """Write each delivery's attempt and outcome: delivered, failed for the last time, or
    pending until its retry (two statements for the batch)."""
    policy = settings.WEBHOOKS_RETRY
    now = timezone.now()
    attempts = []
    for delivery, answer in zip(deliveries, answers, strict=True):
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                attempted_at=attempted_at,
                response_status=answer.status,
                duration_ms=answer.duration_ms,
                error=answer.error,
            )
        )
        delivery.attempt_count += 1
        if answer.status is not None and 200 <= answer.status < 300:
            delivery.status, delivery.completed_at = Delivery.Status.DELIVERED, now
            webhook_deliveries.labels("delivered").inc()
            continue
        reason = answer.error or f"HTTP {answer.status}"
        if delivery.attempt_count > policy["retries"]:
            delivery.status, delivery.completed_at = Delivery.Status.FAILED, now
            webhook_deliveries.labels("gave_up").inc()
            logger.warning(
                "Delivery %s failed for the last time (attempt %d): %s",
                delivery.pk,
                delivery.attempt_count,
                reason,
            )
            continue
        wait = backoff_wait(policy, retries_done=delivery.attempt_count - 1)
        delivery.next_attempt_at = attempted_at + timedelta(seconds=round(wait))
        webhook_deliveries.labels("retried").inc()
        logger.info(
            "Delivery %s: attempt %d failed (%s); again in %d s",
            delivery.pk,
            delivery.attempt_count,
            reason,
            round(wait),
        )
    DeliveryAttempt.objects.bulk_create(attempts)
    with connection.cursor() as cursor:
        cursor.execute(
            _OUTCOMES_SQL,
            [
                [delivery.pk for delivery in deliveries],
                [delivery.status for delivery in deliveries],
                [delivery.attempt_count for delivery in deliveries],
                [delivery.next_attempt_at for delivery in deliveries],
                [delivery.completed_at for delivery in deliveries],
            ],
        )


@app.task(name="webhooks.send", queue="webhooks", priority=DELIVERY_PRIORITY)
def deliveries_send_job(*, subscription_id: int, slot: int) -> None:
    """Send the subscription's due deliveries batch by batch for up to SEND_BUDGET_SECONDS;
    then, with more due, queue a fresh job for this slot (``senders_wake``).

    Not retried: a failure leaves the deliveries pending and due, for the sweep."""
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    with Posters(settings.WEBHOOKS_SEND_CONCURRENCY) as posters:
        for batch in itertools.count():
            taken = deliveries_send_batch(subscription_id, posters)
            if taken < SEND_BATCH:
                return
            if batch == 0:
                # A full batch: a backlog, which the relays, each waking senders for its own
                # deliveries only, may not have seen whole. Wake the other slots.
                senders_wake({subscription_id: settings.WEBHOOKS_SENDERS * SEND_BATCH})
            if time.monotonic() >= deadline:
                break
    _sender_defer(subscription_id, slot)


def senders_wake(due: dict[int, int]) -> None:
    """Queue sender jobs for subscriptions with deliveries due, by subscription id the number
    due (or a lower bound): a job per ``SEND_BATCH`` up to ``WEBHOOKS_SENDERS`` (their slots),
    on the current transaction. A slot whose job is waiting already is left as it is: that job
    has not started, so it will see these deliveries."""
    for subscription_id, count in due.items():
        for slot in range(min(settings.WEBHOOKS_SENDERS, math.ceil(count / SEND_BATCH))):
            _sender_defer(subscription_id, slot)


def _sender_defer(subscription_id: int, slot: int) -> None:
    try:
        with transaction.atomic():  # a waiting job's lock refuses it: only this savepoint fails
            job_defer(
                deliveries_send_job,
                queueing_lock=f"webhooks.send:{subscription_id}:{slot}",
                subscription_id=subscription_id,
                slot=slot,
            )
    except AlreadyEnqueued:
        pass


# Per subscription (deleted or inactive ones too, to drop theirs): how many deliveries are due,
# counted up to a bound (the index webhooks_delivery_due).
_DUE_SQL = """
SELECT subscription.id, due.count
FROM webhooks_subscription AS subscription
CROSS JOIN LATERAL (
    SELECT count(*) AS count FROM (
        SELECT FROM webhooks_delivery AS delivery
        WHERE delivery.subscription_id = subscription.id
          AND delivery.status = 'pending' AND delivery.next_attempt_at <= statement_timestamp()
        LIMIT %s
    ) AS taken
) AS due
WHERE due.count > 0
"""


def deliveries_sweep() -> dict[int, int]:
    """Wake senders for every subscription with deliveries due; return the counts woken for."""
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, [settings.WEBHOOKS_SENDERS * SEND_BATCH])
        due = dict(cursor.fetchall())
    senders_wake(due)
    return due
