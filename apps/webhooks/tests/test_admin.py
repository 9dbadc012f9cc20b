"""The admin: subscriptions with the secret shown once, rotation, and the delivery log's
resend."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from apps.events.models import Event
from apps.products.tests.factories import ProductFactory
from apps.users.tests.factories import UserFactory
from apps.webhooks.models import Delivery, DeliveryAttempt, Subscription
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.helpers import delivery_make

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{44}")


def a_delivery(**fields: object) -> Delivery:
    product = ProductFactory()
    event = Event.objects.of_entity("product", product.pk).get()
    delivery = delivery_make(SubscriptionFactory(), event, **fields)
    DeliveryAttempt.objects.create(delivery=delivery, response_status=500, duration_ms=30)
    return delivery


def test_the_pages_render(admin_client: Client) -> None:
    delivery = a_delivery()
    pages = [
        reverse("admin:webhooks_subscription_changelist"),
        reverse("admin:webhooks_subscription_add"),
        reverse("admin:webhooks_subscription_change", args=[delivery.subscription_id]),
        reverse("admin:webhooks_delivery_changelist"),
        reverse("admin:webhooks_delivery_changelist") + "?status=pending&q=1",
        reverse("admin:webhooks_delivery_change", args=[delivery.pk]),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert not SECRET.search(response.content.decode()), page
    detail = admin_client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert b"resend-delivery" in detail.content
    assert b"500" in detail.content
    assert admin_client.get(reverse("admin:webhooks_delivery_add")).status_code == 403


def test_adding_a_subscription_shows_its_secret_once(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:webhooks_subscription_add"),
        {
            "target_url": "http://127.0.0.1:8080/hook",
            "event_types": ["product.created", "product.deleted"],
            "description": "Search index",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.event_types == ["product.created", "product.deleted"]
    (shown,) = SECRET.findall(response.content.decode())
    assert shown == subscription.secret
    assert "no-store" in response["Cache-Control"]
    change = admin_client.get(reverse("admin:webhooks_subscription_change", args=[subscription.pk]))
    assert subscription.secret not in change.content.decode()


def test_a_private_target_is_a_form_error_when_not_allowed(
    admin_client: Client, settings: Settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    response = admin_client.post(
        reverse("admin:webhooks_subscription_add"),
        {"target_url": "http://127.0.0.1/hook", "event_types": ["product.created"]},
    )

    assert response.status_code == 200
    assert "not a public address" in response.content.decode()
    assert not Subscription.objects.exists()


def test_rotating_shows_the_new_secret_once(admin_client: Client) -> None:
    subscription = SubscriptionFactory()
    old = subscription.secret
    url = reverse("admin:webhooks_subscription_rotate_secret", args=[subscription.pk])

    assert admin_client.get(url).status_code == 302  # only a POST rotates
    response = admin_client.post(url)

    subscription.refresh_from_db()
    assert subscription.secret != old and subscription.previous_secret == old
    assert SECRET.findall(response.content.decode()) == [subscription.secret]


@pytest.mark.staff_permissions("webhooks.view_subscription")
def test_staff_who_may_only_view_cannot_rotate(staff_client: Client) -> None:
    subscription = SubscriptionFactory()
    old = subscription.secret

    response = staff_client.post(
        reverse("admin:webhooks_subscription_rotate_secret", args=[subscription.pk])
    )

    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.secret == old


def test_the_resend_button_and_action_make_fresh_deliveries(
    admin_client: Client, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    delivery = a_delivery(status=Delivery.Status.FAILED)

    response = admin_client.post(reverse("admin:webhooks_delivery_resend", args=[delivery.pk]))

    resent = Delivery.objects.exclude(pk=delivery.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:webhooks_delivery_change", args=[resent.pk])
    assert (resent.event_id, resent.resend_of_id, resent.status) == (
        delivery.event_id,
        delivery.pk,
        Delivery.Status.PENDING,
    )
    admin_client.post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "resend", "_selected_action": [delivery.pk, resent.pk]},
    )
    assert Delivery.objects.count() == 4


@pytest.mark.staff_permissions("webhooks.view_delivery")
def test_staff_without_add_delivery_cannot_resend(staff_client: Client) -> None:
    delivery = a_delivery()

    page = staff_client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    response = staff_client.post(reverse("admin:webhooks_delivery_resend", args=[delivery.pk]))

    assert page.status_code == 200
    assert b"resend-delivery" not in page.content
    assert response.status_code == 403
    assert Delivery.objects.count() == 1


def test_a_webhook_manager_manages_subscriptions_and_resends(client: Client) -> None:
    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get(name="Webhook managers"))
    client.force_login(manager)
    delivery = a_delivery()

    assert client.get(reverse("admin:webhooks_subscription_add")).status_code == 200
    assert client.get(reverse("admin:webhooks_delivery_changelist")).status_code == 200
    assert client.get(reverse("admin:events_event_changelist")).status_code == 200
    assert client.get(reverse("admin:products_product_changelist")).status_code == 403
    assert manager.has_perm("webhooks.add_delivery")
    assert not manager.has_perm("webhooks.delete_delivery")
    assert delivery.pk
