"""The upkeep: ended deliveries and relayed events past the retention are deleted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.events.models import Event
from apps.products.tests.factories import ProductFactory
from apps.webhooks.models import Delivery, DeliveryAttempt
from apps.webhooks.services import webhooks_prune
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.helpers import delivery_make

pytestmark = pytest.mark.django_db


def test_old_ended_deliveries_and_relayed_events_go_the_rest_stays(empty_outbox: None) -> None:
    subscription = SubscriptionFactory()
    long_ago = timezone.now() - timedelta(days=31)
    recently = timezone.now() - timedelta(days=29)
    products = [ProductFactory() for _ in range(5)]
    events = [Event.objects.of_entity("product", product.pk).get() for product in products]
    Event.objects.exclude(pk__in=[event.pk for event in events]).delete()
    Event.objects.filter(pk__in=[e.pk for e in events[:4]]).update(relayed_at=long_ago)
    _, old_failed, old_pending, recent = (
        delivery_make(subscription, event, status=status, completed_at=completed_at)
        for event, status, completed_at in [
            (events[0], Delivery.Status.DELIVERED, long_ago),
            (events[1], Delivery.Status.FAILED, long_ago),
            (events[2], Delivery.Status.PENDING, None),
            (events[4], Delivery.Status.DELIVERED, recently),
        ]
    )
    DeliveryAttempt.objects.create(delivery=old_failed, response_status=500)

    assert webhooks_prune(keep_days=30) == {"deliveries": 2, "events": 3}

    assert set(Delivery.objects.all()) == {old_pending, recent}
    assert not DeliveryAttempt.objects.exists()
    # events[2] has a pending delivery; events[4] was never relayed.
    assert set(Event.objects.all()) == {events[2], events[4]}
