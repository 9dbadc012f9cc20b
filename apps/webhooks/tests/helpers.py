"""What the webhook tests do the way a sender job does."""

from django.utils import timezone

from apps.events.models import Event
from apps.webhooks.delivery import Posters, deliveries_send_batch
from apps.webhooks.models import Delivery, Subscription


def delivery_make(subscription: Subscription, event: Event, **fields: object) -> Delivery:
    """Save a delivery of ``event`` to ``subscription`` (ended ones get a completion time)."""
    if fields.get("status", Delivery.Status.PENDING) != Delivery.Status.PENDING:
        fields.setdefault("completed_at", timezone.now())
    delivery = Delivery.of(subscription, event, **fields)
    delivery.save()
    return delivery


def send_due(subscription_id: int, *, threads: int = 1) -> int:
    """Send one batch of the subscription's due deliveries, as a sender job does; return how
    many were taken."""
    with Posters(threads) as posters:
        return deliveries_send_batch(subscription_id, posters)


def due_now(*deliveries: Delivery) -> None:
    """Make the deliveries' retries due (as if their wait had passed)."""
    Delivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries]).update(
        next_attempt_at=timezone.now()
    )
