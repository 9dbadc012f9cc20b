"""Sending: signatures a receiver verifies with the standardwebhooks library, the payload, the
retry schedule against a receiver that answers 500, redirects, timeouts and refused targets."""

import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.events.models import Event
from apps.products.models import Product
from apps.products.services import product_delete, product_update
from apps.products.tests.factories import ProductFactory
from apps.webhooks.delivery import (
    DeliveryFailed,
    DeliveryRetry,
    delivery_attempt,
    delivery_send_job,
)
from apps.webhooks.models import Delivery, Subscription
from apps.webhooks.services import subscription_secret_rotate
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


def product_event(product: Product) -> Event:
    return Event.objects.of_entity("product", product.pk).get()


def delivery_to(receiver: Receiver, event: Event, **subscription: Any) -> Delivery:
    return Delivery.objects.create(
        subscription=SubscriptionFactory(target_url=receiver.url, **subscription), event=event
    )


def test_a_delivery_is_signed_as_standard_webhooks_verifies_it(
    receiver: Receiver, empty_outbox: None
) -> None:
    product = ProductFactory(name="Lamp")
    delivery = delivery_to(receiver, product_event(product))

    assert delivery_attempt(delivery_id=delivery.pk) is None

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
    subscription_secret_rotate(subscription=subscription)
    assert subscription.secret != old_secret
    assert subscription.previous_secret_expires_at is not None
    expected_end = timezone.now() + timedelta(hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS)
    assert abs(subscription.previous_secret_expires_at - expected_end) < timedelta(minutes=1)

    delivery_attempt(delivery_id=delivery.pk)

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
    subscription_secret_rotate(subscription=subscription)
    Subscription.objects.filter(pk=subscription.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )

    delivery_attempt(delivery_id=delivery.pk)

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

    while True:
        failed = delivery_attempt(delivery_id=delivery.pk)
        if failed is None:
            break
        assert isinstance(failed, DeliveryFailed)
        # What the worker would do: ask the task's retry strategy when to run it again.
        wait = DeliveryRetry().wait_seconds(
            exception=failed, job=SimpleNamespace(attempts=len(waits), id=1, task_name="t")
        )
        assert wait is not None
        waits.append(wait)

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

    assert isinstance(delivery_attempt(delivery_id=delivery.pk), DeliveryFailed)
    assert delivery_attempt(delivery_id=delivery.pk) is None
    # A job run once more (its worker died after the attempt) sends nothing.
    assert delivery_attempt(delivery_id=delivery.pk) is None

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

    assert isinstance(delivery_attempt(delivery_id=delivery.pk), DeliveryFailed)

    assert [request.path for request in receiver.received] == ["/hook"]
    assert delivery.attempts.get().response_status == 302


def test_a_receiver_slower_than_the_read_timeout_is_a_failed_attempt(
    receiver: Receiver, empty_outbox: None, settings: Settings
) -> None:
    settings.WEBHOOKS_READ_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.0
    delivery = delivery_to(receiver, product_event(ProductFactory()))

    assert isinstance(delivery_attempt(delivery_id=delivery.pk), DeliveryFailed)

    attempt = delivery.attempts.get()
    assert attempt.response_status is None
    assert attempt.error == "timeout"
    assert 250 <= attempt.duration_ms < 1000


def test_a_refused_connection_is_a_failed_attempt(empty_outbox: None) -> None:
    delivery = Delivery.objects.create(
        subscription=SubscriptionFactory(target_url="http://127.0.0.1:9/hook"),  # discard port
        event=product_event(ProductFactory()),
    )

    assert isinstance(delivery_attempt(delivery_id=delivery.pk), DeliveryFailed)

    attempt = delivery.attempts.get()
    assert attempt.response_status is None
    assert "ConnectionError" in attempt.error


def test_a_private_target_is_refused_at_send_time_when_not_allowed(
    receiver: Receiver, empty_outbox: None, settings: Settings
) -> None:
    delivery = delivery_to(receiver, product_event(ProductFactory()))
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    assert isinstance(delivery_attempt(delivery_id=delivery.pk), DeliveryFailed)

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

    delivery_attempt(delivery_id=delivery.pk)

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

    delivery_attempt(delivery_id=delivery.pk)

    payload = json.loads(receiver.received[0].body)
    assert payload["type"] == "product.updated"
    assert "name" in payload["changes"]
    assert payload["data"]["name"] == "New"
    assert payload["data"]["description"] == "Later"


def test_a_deactivated_subscriptions_waiting_delivery_is_dropped(
    receiver: Receiver, empty_outbox: None
) -> None:
    delivery = delivery_to(receiver, product_event(ProductFactory()), is_active=False)

    assert delivery_attempt(delivery_id=delivery.pk) is None

    assert receiver.received == []
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


def test_an_unexpected_error_is_a_failed_attempt_and_ends_the_delivery_at_its_last(
    receiver: Receiver, empty_outbox: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(event: Event) -> bytes:
        raise RuntimeError("no payload")

    monkeypatch.setattr("apps.webhooks.delivery.event_body", broken)
    delivery = delivery_to(receiver, product_event(ProductFactory()))

    # Retried on the delivery's schedule, as a receiver's failure is.
    with pytest.raises(DeliveryFailed) as failed:
        delivery_send_job(delivery_id=delivery.pk)
    assert failed.value.attempts == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    (attempt,) = delivery.attempts.all()
    assert attempt.response_status is None
    assert attempt.error == "internal error: RuntimeError: no payload"
    assert receiver.received == []

    # Its last attempt fails it: it does not stay pending with no job left.
    Delivery.objects.filter(pk=delivery.pk).update(attempt_count=settings.WEBHOOKS_RETRY["retries"])
    delivery_send_job(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.completed_at is not None


def test_a_job_that_could_not_record_its_attempt_is_never_given_up(settings: Settings) -> None:
    retries = settings.WEBHOOKS_RETRY["retries"]
    for attempts in (0, retries, retries * 10):
        wait = DeliveryRetry().wait_seconds(
            exception=ConnectionError("database unreachable"),
            job=SimpleNamespace(attempts=attempts, id=1, task_name="webhooks.deliver"),
        )
        assert wait is not None
        assert wait <= settings.WEBHOOKS_RETRY["max_wait_seconds"] * 1.1
