"""Sending: signatures a receiver verifies with the standardwebhooks library, the payload, the
retry schedule against a receiver that answers 500, redirects, timeouts and refused targets, and
the queue's rules: one entity's deliveries in order, batches that skip each other's."""

import json
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.fixtures import Settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.events.models import Event
from apps.products.models import Category, Product
from apps.products.services import product_delete, product_update
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.webhooks.models import Delivery, Subscription
from apps.webhooks.payloads import ENTITY_DATA
from apps.webhooks.services import subscription_secret_rotate
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.helpers import delivery_make, due_now, send_due
from apps.webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


def product_event(product: Product) -> Event:
    return Event.objects.of_entity("product", product.pk).get()


def category_event(category: Category) -> Event:
    return Event.objects.of_entity("category", category.pk).get()


def delivery_to(receiver: Receiver, event: Event, **subscription: Any) -> Delivery:
    return delivery_make(SubscriptionFactory(target_url=receiver.url, **subscription), event)


def send(delivery: Delivery) -> Delivery:
    """Send ``delivery``'s subscription's due deliveries (it among them); return it reloaded."""
    assert send_due(delivery.subscription_id) >= 1
    delivery.refresh_from_db()
    return delivery


def test_a_delivery_is_signed_as_standard_webhooks_verifies_it(
    receiver: Receiver, empty_outbox: None
) -> None:
    product = ProductFactory(name="Lamp")
    delivery = delivery_to(receiver, product_event(product))

    send(delivery)

    (request,) = receiver.received
    payload = Webhook(delivery.subscription.secret).verify(request.body, request.headers)
    event = delivery.event
    assert request.headers["webhook-id"] == str(event.id)
    assert request.headers["content-type"] == "application/json"
    assert payload["id"] == str(event.id)
    assert payload["type"] == "product.created"
    assert payload["product_id"] == product.pk
    # The entity as the API's product page shows it, built when sent.
    assert payload["data"]["id"] == product.pk
    assert payload["data"]["name"] == "Lamp"
    assert {"variants", "images", "rating", "category"} <= payload["data"].keys()
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(delivery.subscription.secret).verify(request.body + b" ", request.headers)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    (attempt,) = delivery.attempts.all()
    assert attempt.response_status == 200
    assert attempt.error == ""


def test_during_a_rotations_overlap_both_secrets_verify(
    receiver: Receiver, empty_outbox: None, settings: Settings
) -> None:
    delivery = delivery_to(receiver, product_event(ProductFactory()))
    subscription = delivery.subscription
    old_secret = subscription.secret
    subscription_secret_rotate(subscription=subscription, user=None)
    assert subscription.secret != old_secret
    assert subscription.previous_secret_expires_at is not None
    expected_end = timezone.now() + timedelta(hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS)
    assert abs(subscription.previous_secret_expires_at - expected_end) < timedelta(minutes=1)

    send(delivery)

    (request,) = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(request.body, request.headers)
    Webhook(subscription.secret).verify(request.body, request.headers)


def test_after_the_overlap_only_the_new_secret_signs(
    receiver: Receiver, empty_outbox: None
) -> None:
    delivery = delivery_to(receiver, product_event(ProductFactory()))
    subscription = delivery.subscription
    old_secret = subscription.secret
    subscription_secret_rotate(subscription=subscription, user=None)
    Subscription.objects.filter(pk=subscription.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )

    send(delivery)

    (request,) = receiver.received
    assert " " not in request.headers["webhook-signature"]
    Webhook(subscription.secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)


def test_a_receiver_answering_500_sees_the_backoff_schedule_then_the_delivery_fails(
    receiver: Receiver, empty_outbox: None, settings: Settings
) -> None:
    receiver.answer = lambda received: 500
    delivery = delivery_to(receiver, product_event(ProductFactory()))
    policy = settings.WEBHOOKS_RETRY
    waits = []

    while send(delivery).status == Delivery.Status.PENDING:
        attempt = delivery.attempts.order_by("-id").first()
        assert attempt is not None
        waits.append((delivery.next_attempt_at - attempt.attempted_at).total_seconds())
        assert send_due(delivery.subscription_id) == 0  # not due before its wait
        due_now(delivery)

    attempts = policy["retries"] + 1
    assert len(receiver.received) == attempts == 19
    # Each delivery of the same message keeps its id (the idempotency key).
    assert {request.headers["webhook-id"] for request in receiver.received} == {
        str(delivery.event.id)
    }
    expected = [min(5 * 2**retry, 3 * 60 * 60) for retry in range(policy["retries"])]
    assert expected[:4] == [5, 10, 20, 40]
    for wait, base in zip(waits, expected, strict=True):
        assert base <= wait <= round(base * 1.1)  # jitter: up to a tenth more
    assert 22 * 3600 < sum(waits) < 27 * 3600  # about a day
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempt_count == attempts
    assert delivery.completed_at is not None
    assert {attempt.response_status for attempt in delivery.attempts.all()} == {500}


def test_a_later_success_delivers(receiver: Receiver, empty_outbox: None) -> None:
    statuses = iter([503, 204])
    receiver.answer = lambda received: next(statuses)
    delivery = delivery_to(receiver, product_event(ProductFactory()))

    assert send(delivery).status == Delivery.Status.PENDING
    due_now(delivery)
    assert send(delivery).status == Delivery.Status.DELIVERED
    # A sender run once more sends nothing.
    assert send_due(delivery.subscription_id) == 0

    assert len(receiver.received) == 2
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert [a.response_status for a in delivery.attempts.all()] == [503, 204]


def test_a_redirect_is_not_followed_and_is_a_failed_attempt(
    receiver: Receiver, empty_outbox: None
) -> None:
    receiver.answer = lambda received: 302 if received.path == "/hook" else 200
    receiver.location = receiver.url.replace("/hook", "/elsewhere")
    delivery = delivery_to(receiver, product_event(ProductFactory()))

    assert send(delivery).status == Delivery.Status.PENDING

    assert [request.path for request in receiver.received] == ["/hook"]
    assert delivery.attempts.get().response_status == 302


def test_a_receiver_slower_than_the_read_timeout_is_a_failed_attempt(
    receiver: Receiver, empty_outbox: None, settings: Settings
) -> None:
    settings.WEBHOOKS_READ_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.0
    delivery = delivery_to(receiver, product_event(ProductFactory()))

    assert send(delivery).status == Delivery.Status.PENDING

    attempt = delivery.attempts.get()
    assert attempt.response_status is None
    assert attempt.error == "timeout"
    assert 250 <= attempt.duration_ms < 1000


def test_a_refused_connection_is_a_failed_attempt(empty_outbox: None) -> None:
    delivery = delivery_make(
        SubscriptionFactory(target_url="http://127.0.0.1:9/hook"),  # discard port
        product_event(ProductFactory()),
    )

    assert send(delivery).status == Delivery.Status.PENDING

    attempt = delivery.attempts.get()
    assert attempt.response_status is None
    assert "ConnectionError" in attempt.error


def test_a_private_target_is_refused_at_send_time_when_not_allowed(
    receiver: Receiver, empty_outbox: None, settings: Settings
) -> None:
    delivery = delivery_to(receiver, product_event(ProductFactory()))
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    assert send(delivery).status == Delivery.Status.PENDING

    assert receiver.received == []
    attempt = delivery.attempts.get()
    assert attempt.error.startswith("refused: ")
    assert "127.0.0.1" in attempt.error


def test_a_deleted_entity_sends_its_id_only(receiver: Receiver, empty_outbox: None) -> None:
    product = ProductFactory()
    Event.objects.all().delete()
    product_pk = product.pk
    product_delete(product=product)
    delivery = delivery_to(
        receiver, Event.objects.get(type="product.deleted"), event_types=["product.deleted"]
    )

    send(delivery)

    payload = json.loads(receiver.received[0].body)
    assert payload["type"] == "product.deleted"
    assert payload["data"] == {"id": product_pk}


def test_the_payload_is_built_when_sent_with_the_changes(
    receiver: Receiver, empty_outbox: None
) -> None:
    product = ProductFactory(name="Old")
    Event.objects.all().delete()
    product_update(product=product, name="New")
    delivery = delivery_to(receiver, product_event(product))
    product_update(product=product, description="Later")  # before the worker sends

    send(delivery)

    payload = json.loads(receiver.received[0].body)
    assert payload["type"] == "product.updated"
    assert "name" in payload["changes"]
    assert payload["data"]["name"] == "New"
    assert payload["data"]["description"] == "Later"


def test_a_deactivated_subscriptions_waiting_delivery_is_dropped(
    receiver: Receiver, empty_outbox: None
) -> None:
    delivery = delivery_to(receiver, product_event(ProductFactory()), is_active=False)

    assert send_due(delivery.subscription_id) == 0

    assert receiver.received == []
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.completed_at is not None
    assert not delivery.attempts.exists()


def test_an_unexpected_error_is_a_failed_attempt_and_ends_the_delivery_at_its_last(
    receiver: Receiver, empty_outbox: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ids: list[int], request: object) -> dict[int, dict[str, Any]]:
        raise RuntimeError("no payload")

    monkeypatch.setitem(ENTITY_DATA, "product", broken)
    delivery = delivery_to(receiver, product_event(ProductFactory()))
    category = delivery_make(delivery.subscription, category_event(CategoryFactory()))

    # Retried on the delivery's schedule, as a receiver's failure is; the batch's other
    # deliveries are sent.
    send(delivery)
    assert delivery.status == Delivery.Status.PENDING
    (attempt,) = delivery.attempts.all()
    assert attempt.response_status is None
    assert attempt.error == "internal error: RuntimeError: no payload"
    assert [json.loads(request.body)["type"] for request in receiver.received] == [
        "category.created"
    ]
    category.refresh_from_db()
    assert category.status == Delivery.Status.DELIVERED

    # Its last attempt fails it: it does not stay pending for ever.
    Delivery.objects.filter(pk=delivery.pk).update(attempt_count=settings.WEBHOOKS_RETRY["retries"])
    due_now(delivery)
    assert send(delivery).status == Delivery.Status.FAILED
    assert delivery.completed_at is not None


def test_an_entitys_later_delivery_waits_for_the_earlier_one_to_end(
    receiver: Receiver, empty_outbox: None
) -> None:
    receiver.answer = lambda received: 200 if received.headers["webhook-id"] != first_id else 500
    product, other = ProductFactory(), ProductFactory()
    subscription = SubscriptionFactory(target_url=receiver.url)
    first = delivery_make(subscription, product_event(product))
    first_id = str(first.event.id)
    later = delivery_make(subscription, first.event)  # the same entity's, made later
    free = delivery_make(subscription, product_event(other))

    # The batch takes the first of each entity only.
    assert send_due(subscription.pk) == 2
    assert {request.headers["webhook-id"] for request in receiver.received} == {
        first_id,
        str(free.event.id),
    }
    # The first failed: the later one is held back, though due, until the first ends.
    assert send_due(subscription.pk) == 0
    later.refresh_from_db()
    assert (later.status, later.attempt_count) == (Delivery.Status.PENDING, 0)

    first_id = ""  # the receiver answers 200 from now on
    due_now(first)
    assert send_due(subscription.pk) == 1  # the first, delivered
    assert send_due(subscription.pk) == 1  # then the later one
    later.refresh_from_db()
    assert later.status == Delivery.Status.DELIVERED
    assert len(receiver.received) == 4


@pytest.mark.django_db(transaction=True)
def test_a_sender_skips_the_deliveries_another_holds_and_their_entitys_later_ones(
    receiver: Receiver,
) -> None:
    subscription = SubscriptionFactory(target_url=receiver.url)
    product, other = ProductFactory(), ProductFactory()
    held = delivery_make(subscription, product_event(product))
    behind = delivery_make(subscription, held.event)  # the same entity, later
    free = delivery_make(subscription, product_event(other))
    locked, release = threading.Event(), threading.Event()

    def other_sender() -> None:
        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_sender)
    thread.start()
    try:
        assert locked.wait(10)
        assert send_due(subscription.pk) == 1
    finally:
        release.set()
        thread.join()

    assert [request.headers["webhook-id"] for request in receiver.received] == [str(free.event.id)]
    assert Delivery.objects.pending().filter(pk__in=[held.pk, behind.pk]).count() == 2


def test_a_batch_is_sent_in_parallel_over_connections_kept_alive(
    receiver: Receiver, empty_outbox: None
) -> None:
    receiver.delay = 0.2
    subscription = SubscriptionFactory(target_url=receiver.url)
    for _ in range(8):
        delivery_make(subscription, product_event(ProductFactory()))

    started = time.monotonic()
    assert send_due(subscription.pk, threads=4) == 8
    took = time.monotonic() - started

    assert took < 8 * 0.2 / 2  # four at a time: about 0.4 s, not 1.6 s
    # Four connections, each used for two requests.
    ports = Counter(request.peer_port for request in receiver.received)
    assert sorted(ports.values()) == [2, 2, 2, 2]
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 8


def test_a_batch_takes_the_same_queries_whatever_its_size(
    receiver: Receiver, empty_outbox: None
) -> None:
    subscription = SubscriptionFactory(target_url=receiver.url)

    def queries_to_send(count: int) -> int:
        for _ in range(count):
            delivery_make(subscription, product_event(ProductFactory()))
        with CaptureQueriesContext(connection) as queries:
            assert send_due(subscription.pk) == count
        return len(queries)

    # The batch's transaction (a savepoint here, in the test's), the subscription, the claim
    # (sorting off, the query, reset), the products' pages (in a savepoint), the attempts and
    # the outcomes.
    assert queries_to_send(2) == queries_to_send(20) == 11
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 22


def test_the_claim_reads_the_queues_indexes_whatever_the_statistics(empty_outbox: None) -> None:
    subscription = SubscriptionFactory()
    for _ in range(30):
        delivery_make(subscription, product_event(ProductFactory()))
    with connection.cursor() as cursor:
        # Statistics from a nearly empty table, as a backlog finds them.
        cursor.execute("ANALYZE webhooks_delivery")
    for _ in range(300):
        delivery_make(subscription, Event.objects.filter(entity="product").first())

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert len(Delivery.objects.claim(subscription.pk, limit=100)) == 30
    (claim,) = [query["sql"] for query in queries if "FOR UPDATE" in query["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + claim)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using webhooks_delivery_due" in plan, plan
    assert "using webhooks_delivery_queue" in plan, plan
    assert "Sort" not in plan, plan
