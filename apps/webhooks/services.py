"""Webhook writes: subscriptions and their secrets, the relay from the outbox, resends, upkeep."""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.events.models import Event

from .delivery import senders_wake
from .models import Delivery, Subscription
from .outbound import TargetRefused, target_addresses
from .signing import secret_generate

# pg_advisory_xact_lock's key for the relay: one relay transaction at a time, so that one entity's
# deliveries are made in its events' order (an arbitrary constant).
RELAY_LOCK = 7_420_014
RELAY_BATCH = 1000


def subscription_target_check(target_url: str) -> None:
    """Raise a ValidationError naming ``target_url`` when deliveries could not be sent there
    (scheme, or an address that is not allowed); checked again at every send."""
    try:
        target_addresses(target_url)
    except TargetRefused as error:
        raise ValidationError({"target_url": [str(error)]}) from error


@transaction.atomic
def subscription_create(
    *, target_url: str, event_types: list[str], description: str = "", is_active: bool = True
) -> Subscription:
    """Create a subscription with a new secret, which the caller shows once (``.secret``)."""
    subscription_target_check(target_url)
    subscription = Subscription(
        target_url=target_url,
        event_types=sorted(set(event_types)),
        description=description,
        is_active=is_active,
        secret=secret_generate(),
    )
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def subscription_update(*, subscription: Subscription, **fields: object) -> Subscription:
    """Change a subscription's target, event types, description or active flag."""
    if "target_url" in fields and fields["target_url"] != subscription.target_url:
        subscription_target_check(str(fields["target_url"]))
    if "event_types" in fields:
        fields["event_types"] = sorted(set(fields["event_types"]))  # type: ignore[call-overload]
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def subscription_secret_rotate(*, subscription: Subscription) -> Subscription:
    """Give a subscription a new secret, which the caller shows once; the current one keeps
    signing deliveries beside it for ``WEBHOOKS_SECRET_OVERLAP_HOURS`` (a previous secret
    still in its overlap is dropped)."""
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = timezone.now() + timedelta(
        hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS
    )
    subscription.secret = secret_generate()
    subscription.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return subscription


@transaction.atomic
def events_relay_batch(*, limit: int = RELAY_BATCH) -> int:
    """Take up to ``limit`` events no relay has taken, in position order; make a delivery of
    each for every active subscription to its type, in that order, and wake the subscriptions'
    senders; return how many events were taken.

    The events are marked taken (``relayed_at``) in the transaction that defers the jobs, so an
    event is relayed once, and never skipped: an event of a transaction that commits late (with
    a lower position than some already taken) is still unmarked when it becomes visible.
    """
    with connection.cursor() as cursor:
        # Relays wait for one another: the deliveries of one entity are then made in the order
        # of its events (their ids, which senders follow), since a later relay sees a later
        # event only after this one commits.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RELAY_LOCK])
    events = list(Event.objects.unrelayed().in_delivery_order()[:limit])
    if not events:
        return 0
    Event.objects.filter(position__in=[event.position for event in events]).update(
        relayed_at=timezone.now()
    )
    subscriptions = list(Subscription.objects.active().order_by("id"))
    deliveries = [
        Delivery.of(subscription, event)
        for event in events
        for subscription in subscriptions
        if event.type in subscription.event_types
    ]
    Delivery.objects.bulk_create(deliveries)
    senders_wake(Counter(delivery.subscription_id for delivery in deliveries))
    return len(events)


def events_relay(*, batches: int = 10) -> int:
    """Relay events batch by batch (each its own transaction) until none is left or
    ``batches`` were taken; return how many events were taken."""
    taken = 0
    for _ in range(batches):
        count = events_relay_batch()
        taken += count
        if count < RELAY_BATCH:
            break
    return taken


@transaction.atomic
def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Make a fresh delivery of ``delivery``'s event to its subscription, sent after the
    entity's deliveries still waiting."""
    resent = Delivery.of(delivery.subscription, delivery.event, resend_of=delivery)
    resent.save()
    senders_wake({resent.subscription_id: 1})
    return resent


def webhooks_prune(*, keep_days: int) -> dict[str, int]:
    """Delete deliveries that ended (delivered or failed) over ``keep_days`` ago with their
    attempts, then relayed events as old that no delivery refers to; return the counts."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    _, deleted_deliveries = Delivery.objects.ended_before(cutoff).delete()
    _, deleted_events = (
        Event.objects.filter(relayed_at__lt=cutoff)
        .filter(~Exists(Delivery.objects.filter(event=OuterRef("pk"))))
        .delete()
    )
    return {
        "deliveries": deleted_deliveries.get("webhooks.Delivery", 0),
        "events": deleted_events.get("events.Event", 0),
    }
