"""Webhook writes: subscriptions and their secrets, the relay from the outbox, resends, upkeep."""

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from apps.core.services import audit_record, register_audit_action
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


# The audit trail's names of the changes to a subscription (apps.core.services.audit_record).
SUBSCRIPTION_ADD_ACTION = "webhooks.subscription_add"
SUBSCRIPTION_CHANGE_ACTION = "webhooks.subscription_change"
SUBSCRIPTION_ROTATE_SECRET_ACTION = "webhooks.subscription_rotate_secret"  # noqa: S105 (a name)
SUBSCRIPTION_DELETE_ACTION = "webhooks.subscription_delete"
register_audit_action(SUBSCRIPTION_ADD_ACTION, label="Add a webhook subscription")
register_audit_action(SUBSCRIPTION_CHANGE_ACTION, label="Change a webhook subscription")
register_audit_action(
    SUBSCRIPTION_ROTATE_SECRET_ACTION, label="Rotate a webhook subscription's secret"
)
register_audit_action(SUBSCRIPTION_DELETE_ACTION, label="Delete a webhook subscription")

# A subscription's fields as its audit entries record them. Never its secrets: a rotation is
# recorded as SECRET_ROTATED, with when the previous secret stops signing.
SUBSCRIPTION_AUDIT_FIELDS = ("target_url", "event_types", "description", "is_active")
SECRET_ROTATED = "rotated"  # noqa: S105 (what the trail says, not a secret)

# Who made a change, as audit_record takes it.
Author = AbstractBaseUser | AnonymousUser | None


def subscription_audit_values(
    subscription: Subscription, fields: Iterable[str] = SUBSCRIPTION_AUDIT_FIELDS
) -> dict[str, Any]:
    """Return ``fields`` of ``subscription`` as the audit trail stores them (JSON)."""
    return {name: getattr(subscription, name) for name in fields}


def _subscription_lock(subscription: Subscription) -> None:
    """Lock ``subscription``'s row for this transaction and read it into the instance: the
    values that a change's audit entry calls "before" are those it replaces, whatever the
    instance held (the admin's form has already written its input into it). FOR NO KEY UPDATE,
    as the UPDATE itself: the relay's new deliveries, which refer to the row, need not wait."""
    subscription.refresh_from_db(from_queryset=Subscription.objects.select_for_update(no_key=True))


@transaction.atomic
def subscription_create(
    *,
    user: Author,
    target_url: str,
    event_types: list[str],
    description: str = "",
    is_active: bool = True,
) -> Subscription:
    """Create a subscription with a new secret, which the caller shows once (``.secret``), and
    audit it as ``user``'s."""
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
    audit_record(
        user=user,
        action=SUBSCRIPTION_ADD_ACTION,
        objects_before_after=[(subscription, {}, subscription_audit_values(subscription))],
    )
    return subscription


@transaction.atomic
def subscription_update(*, subscription: Subscription, user: Author, **fields: Any) -> Subscription:
    """Change a subscription's target, event types, description or active flag, and audit the
    fields that changed (none changed: no entry) as ``user``'s.

    ``subscription`` is read again, locked, before the change, and only the changed fields are
    written: a concurrent rotation's secret is not overwritten with the one it was read with.
    """
    unknown = set(fields) - set(SUBSCRIPTION_AUDIT_FIELDS)
    assert not unknown, f"subscription_update changes {SUBSCRIPTION_AUDIT_FIELDS}, not {unknown}"
    _subscription_lock(subscription)
    if "event_types" in fields:
        fields["event_types"] = sorted(set(fields["event_types"]))
    changed = [name for name, value in fields.items() if getattr(subscription, name) != value]
    if "target_url" in changed:
        subscription_target_check(str(fields["target_url"]))
    before = subscription_audit_values(subscription, changed)
    for name in changed:
        setattr(subscription, name, fields[name])
    subscription.full_clean()
    subscription.save(update_fields=[*changed, "updated_at"])
    if changed:
        after = subscription_audit_values(subscription, changed)
        audit_record(
            user=user,
            action=SUBSCRIPTION_CHANGE_ACTION,
            objects_before_after=[(subscription, before, after)],
        )
    return subscription


@transaction.atomic
def subscription_secret_rotate(*, subscription: Subscription, user: Author) -> Subscription:
    """Give a subscription a new secret, which the caller shows once; the current one keeps
    signing deliveries beside it for ``WEBHOOKS_SECRET_OVERLAP_HOURS`` (a previous secret
    still in its overlap is dropped). Audit the rotation as ``user``'s: that it happened and
    until when the previous secret signs, never a secret."""
    # Locked: of two rotations at once, the second makes the first's new secret the previous.
    _subscription_lock(subscription)
    before = {"previous_secret_expires_at": subscription.previous_secret_expires_at}
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = timezone.now() + timedelta(
        hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS
    )
    subscription.secret = secret_generate()
    subscription.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    after = {
        "secret": SECRET_ROTATED,
        "previous_secret_expires_at": subscription.previous_secret_expires_at,
    }
    audit_record(
        user=user,
        action=SUBSCRIPTION_ROTATE_SECRET_ACTION,
        objects_before_after=[(subscription, before, after)],
    )
    return subscription


@transaction.atomic
def subscriptions_delete(*, selection: QuerySet[Subscription], user: Author) -> int:
    """Delete the selected subscriptions with their deliveries, auditing each with its values
    as ``user``'s (the entries of more than one share a batch); return how many."""
    # Locked in id order: the values audited are those deleted, and two deletions of
    # overlapping selections cannot deadlock.
    subscriptions = list(
        Subscription.objects.filter(pk__in=selection.values("pk"))
        .order_by("pk")
        .select_for_update()
    )
    if not subscriptions:
        return 0
    # Recorded first: the entries need the ids, which deleting clears.
    audit_record(
        user=user,
        action=SUBSCRIPTION_DELETE_ACTION,
        objects_before_after=[
            (subscription, subscription_audit_values(subscription), {})
            for subscription in subscriptions
        ],
        batch=uuid.uuid4() if len(subscriptions) > 1 else None,
    )
    Subscription.objects.filter(pk__in=[subscription.pk for subscription in subscriptions]).delete()
    return len(subscriptions)


def subscription_delete(*, subscription: Subscription, user: Author) -> None:
    """Delete a subscription with its deliveries, auditing it with its values as ``user``'s."""
    subscriptions_delete(selection=Subscription.objects.filter(pk=subscription.pk), user=user)


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
