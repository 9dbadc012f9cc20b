"""Webhook metrics: deliveries by outcome, and the outbox's lag."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.events.models import Event
from apps.products.tests.factories import ProductFactory
from apps.webhooks.metrics import OutboxLagCollector
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.helpers import delivery_make, due_now, send_due
from apps.webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


def deliveries_counted(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("catalogue_webhook_deliveries_total", {"outcome": outcome}) or 0
    )


def test_attempts_are_counted_by_outcome(receiver: Receiver, empty_outbox: None) -> None:
    statuses = iter([500, 200])
    receiver.answer = lambda received: next(statuses)
    product = ProductFactory()
    delivery = delivery_make(
        SubscriptionFactory(target_url=receiver.url),
        Event.objects.of_entity("product", product.pk).get(),
    )
    retried, delivered = deliveries_counted("retried"), deliveries_counted("delivered")

    send_due(delivery.subscription_id)
    due_now(delivery)
    send_due(delivery.subscription_id)

    assert deliveries_counted("retried") == retried + 1
    assert deliveries_counted("delivered") == delivered + 1


def lag() -> float:
    (family,) = OutboxLagCollector().collect()
    (sample,) = family.samples
    return sample.value


def test_the_outbox_lag_is_the_age_of_the_oldest_event_not_relayed(empty_outbox: None) -> None:
    assert lag() == 0
    ProductFactory()
    Event.objects.update(occurred_at=timezone.now() - timedelta(minutes=2))

    assert 119 < lag() < 180
    Event.objects.update(relayed_at=timezone.now())
    assert lag() == 0
