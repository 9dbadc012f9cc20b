"""The relay: events taken in position order and once, fanned out to the subscriptions
listening to their type, their senders woken."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from pytest_django.fixtures import Settings

from apps.core.jobs import job_defer
from apps.events.models import Event
from apps.products.services import product_update
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.webhooks.delivery import SEND_BATCH, deliveries_sweep, senders_wake
from apps.webhooks.models import Delivery
from apps.webhooks.services import events_relay, events_relay_batch
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.helpers import delivery_make
from apps.webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


def queued_senders() -> list[tuple[str, dict[str, int]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT queueing_lock, args FROM procrastinate_jobs"
            " WHERE task_name = 'webhooks.send' ORDER BY id"
        )
        return [(lock, json.loads(args)) for lock, args in cursor.fetchall()]


def end_the_transactions_events() -> None:
    """Give the test transaction's events another transaction id, as if it had committed, so
    that its next writes make new events instead of merging into these."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_event SET transaction_id = (position::text)::xid8"
            " WHERE transaction_id = pg_current_xact_id()"
        )


def test_events_fan_out_to_the_active_subscriptions_of_their_type(
    empty_outbox: None, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    products = SubscriptionFactory(event_types=["product.created", "product.updated"])
    categories = SubscriptionFactory(event_types=["category.created"])
    SubscriptionFactory(event_types=["product.created"], is_active=False)
    category = CategoryFactory()
    first, second = ProductFactory(category=category), ProductFactory(category=category)

    assert events_relay() == Event.objects.count()

    delivered = {
        (delivery.subscription_id, delivery.event.type, delivery.event.entity_id)
        for delivery in Delivery.objects.select_related("event")
    }
    assert delivered == {
        (products.pk, "product.created", first.pk),
        (products.pk, "product.created", second.pk),
        (categories.pk, "category.created", category.pk),
    }
    assert not Event.objects.unrelayed().exists()
    # A sender for each subscription with deliveries.
    assert sorted(queued_senders()) == sorted(
        [
            (f"webhooks.send:{categories.pk}:0", {"subscription_id": categories.pk, "slot": 0}),
            (f"webhooks.send:{products.pk}:0", {"subscription_id": products.pk, "slot": 0}),
        ]
    )
    # Taken once: a second relay finds nothing.
    assert events_relay() == 0
    assert Delivery.objects.count() == 3


def test_one_entitys_deliveries_are_queued_in_its_events_order(
    empty_outbox: None, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    subscription = SubscriptionFactory()
    product = ProductFactory()
    events_relay()
    # Each relay sees one event of the product: a later transaction's.
    for stock in (5, 6):
        end_the_transactions_events()
        product_update(product=product, stock=stock)
        events_relay()

    deliveries = list(Delivery.objects.select_related("event").order_by("id"))
    assert [d.event.type for d in deliveries] == [
        "product.created",
        "product.updated",
        "product.updated",
    ]
    positions = [d.event.position for d in deliveries]
    assert positions == sorted(positions)  # ids (the senders' order) follow positions
    assert {(d.entity, d.entity_id) for d in deliveries} == {("product", product.pk)}
    # One sender waits: the later relays found its slot taken by a job not yet started.
    assert queued_senders() == [
        (f"webhooks.send:{subscription.pk}:0", {"subscription_id": subscription.pk, "slot": 0})
    ]


def test_a_batch_takes_events_in_position_order(empty_outbox: None, settings: Settings) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    SubscriptionFactory()
    products = [ProductFactory() for _ in range(5)]
    total = Event.objects.count()

    while events_relay_batch(limit=2):
        # Every event taken so far comes before every one still waiting.
        taken = Event.objects.filter(relayed_at__isnull=False).values_list("position", flat=True)
        waiting = Event.objects.unrelayed().values_list("position", flat=True)
        assert max(taken) < min(waiting, default=max(taken) + 1)
        assert len(taken) <= total

    ids = list(Delivery.objects.order_by("id").values_list("event__entity_id", flat=True))
    assert ids == [product.pk for product in products]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_makes_no_delivery(
    receiver: Receiver, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    SubscriptionFactory(target_url=receiver.url)
    category = CategoryFactory()
    Event.objects.update(relayed_at="2000-01-01T00:00:00Z")

    def write_then_fail() -> None:
        with transaction.atomic():
            ProductFactory(category=category)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()

    assert events_relay() == 0
    assert not Delivery.objects.exists()
    assert queued_senders() == []
    assert receiver.received == []


EMIT = (
    "INSERT INTO events_event (type, entity, entity_id, product_id)"
    " VALUES ('product.updated', 'product', %s, %s) RETURNING position"
)


@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_after_a_later_position_was_relayed_is_not_skipped(
    settings: Settings,
) -> None:
    """Positions are not commit order across entities: the relay must not keep a cursor.

    The events are written as the triggers write them, by SQL, so that the two transactions
    share no row of the catalogue's (a trigger's figures) that would make one wait."""
    settings.JOBS_RUN_ON_COMMIT = False
    SubscriptionFactory()
    early, late = ProductFactory(), ProductFactory()
    Event.objects.update(relayed_at="2000-01-01T00:00:00Z")
    written = threading.Event()
    release = threading.Event()
    positions: dict[str, int] = {}

    def slow_writer() -> None:
        # Draws its event's position first, and commits last.
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(EMIT, [early.pk, early.pk])
                positions["early"] = cursor.fetchone()[0]
                written.set()
                release.wait(20)
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert written.wait(10)
    with connection.cursor() as cursor:
        cursor.execute(EMIT, [late.pk, late.pk])
        positions["late"] = cursor.fetchone()[0]

    assert positions["early"] < positions["late"]
    assert events_relay() == 1  # the late position; the early one is not visible yet
    release.set()
    writer.join()
    assert events_relay() == 1  # the early position, now committed

    relayed = list(Delivery.objects.order_by("id").values_list("event__entity_id", flat=True))
    assert relayed == [late.pk, early.pk]


def test_a_backlog_of_deliveries_does_not_hold_up_other_jobs(
    empty_outbox: None, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    SubscriptionFactory()
    for _ in range(3):
        ProductFactory()
    events_relay()  # three deliveries waiting
    # Deferred after them: the relay's next run, and an account email.
    job_defer(app.tasks["webhooks.events_relay"], timestamp=0)
    job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=1)

    taken = []
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT task_name FROM procrastinate_fetch_job_v2(NULL, NULL)")
            taken.append(cursor.fetchone()[0])

    # The others first, in the order they came; then the deliveries' sender.
    assert taken == ["webhooks.events_relay", "users.account_email_send", "webhooks.send"]


def test_a_large_batch_wakes_several_senders_up_to_the_setting(
    empty_outbox: None, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    settings.WEBHOOKS_SENDERS = 3
    subscription = SubscriptionFactory()

    senders_wake({subscription.pk: SEND_BATCH + 1})
    assert [args["slot"] for _, args in queued_senders()] == [0, 1]
    senders_wake({subscription.pk: 10 * SEND_BATCH})  # slots 0 and 1 are waiting already
    assert [args["slot"] for _, args in queued_senders()] == [0, 1, 2]


def test_the_sweep_wakes_senders_for_what_is_due_only(
    empty_outbox: None, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    waiting, retrying, done = (SubscriptionFactory() for _ in range(3))
    event = Event.objects.create(type="product.updated", entity="product", entity_id=1)
    delivery_make(waiting, event)
    Delivery.objects.filter(pk=delivery_make(retrying, event).pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    Delivery.objects.filter(pk=delivery_make(done, event).pk).update(
        status=Delivery.Status.DELIVERED, completed_at=timezone.now()
    )

    assert deliveries_sweep() == {waiting.pk: 1}
    assert queued_senders() == [
        (f"webhooks.send:{waiting.pk}:0", {"subscription_id": waiting.pk, "slot": 0})
    ]
