"""The relay: events taken in position order and once, fanned out to the subscriptions
listening to their type, each delivery's job locked per subscription and entity."""

import json
import threading

import pytest
from django.db import connection, connections, transaction
from procrastinate.contrib.django import app
from pytest_django.fixtures import Settings

from apps.core.jobs import job_defer
from apps.events.models import Event
from apps.products.services import product_update
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.webhooks.models import Delivery
from apps.webhooks.services import events_relay, events_relay_batch
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


def queued_jobs() -> list[tuple[str, dict[str, int]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lock, args FROM procrastinate_jobs"
            " WHERE task_name = 'webhooks.deliver' ORDER BY id"
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
    # One job per delivery, in position order, locked per subscription and entity.
    jobs = queued_jobs()
    assert [lock for lock, _ in jobs] == [
        f"webhooks:{categories.pk}:category:{category.pk}",
        f"webhooks:{products.pk}:product:{first.pk}",
        f"webhooks:{products.pk}:product:{second.pk}",
    ]
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
    assert positions == sorted(positions)
    jobs = queued_jobs()
    assert [args["delivery_id"] for _, args in jobs] == [d.pk for d in deliveries]
    assert {lock for lock, _ in jobs} == {f"webhooks:{subscription.pk}:product:{product.pk}"}


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
    assert queued_jobs() == []
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
        for _ in range(5):
            cursor.execute("SELECT task_name FROM procrastinate_fetch_job_v2(NULL, NULL)")
            taken.append(cursor.fetchone()[0])

    # The others first, in the order they came; then the deliveries, in theirs.
    assert taken == [
        "webhooks.events_relay",
        "users.account_email_send",
        *["webhooks.deliver"] * 3,
    ]
