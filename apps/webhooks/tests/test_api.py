"""The staff API: subscriptions (the secret shown once), rotation, deliveries and resends."""

from collections.abc import Callable

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apps.events.models import TYPES, Event
from apps.products.tests.factories import ProductFactory
from apps.users.models import User
from apps.webhooks.models import Delivery, DeliveryAttempt, Subscription
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.helpers import delivery_make

pytestmark = pytest.mark.django_db

MANAGE = (
    "webhooks.view_subscription",
    "webhooks.add_subscription",
    "webhooks.change_subscription",
    "webhooks.delete_subscription",
    "webhooks.view_delivery",
    "webhooks.add_delivery",
)
LIST = reverse("v1:webhook-subscription-list")


def detail(subscription: Subscription) -> str:
    return reverse("v1:webhook-subscription-detail", args=[subscription.pk])


def deliveries_url(subscription: Subscription) -> str:
    return reverse("v1:webhook-delivery-list", args=[subscription.pk])


@pytest.fixture
def manager(
    staff_with_perms: Callable[..., User], client_for: Callable[[User], APIClient]
) -> APIClient:
    return client_for(staff_with_perms(*MANAGE))


def test_a_subscription_is_created_with_its_secret_shown_once(manager: APIClient) -> None:
    response = manager.post(
        LIST,
        {
            "target_url": "http://127.0.0.1:8080/hook",
            "event_types": ["product.updated", "variant.created"],
            "description": "ERP",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44
    subscription = Subscription.objects.get(pk=body["id"])
    assert subscription.secret == secret
    assert subscription.event_types == ["product.updated", "variant.created"]
    # Never again: not in the detail, the list, or an update's answer.
    read = manager.get(detail(subscription)).json()
    assert "secret" not in read
    assert all("secret" not in row for row in manager.get(LIST).json()["results"])
    changed = manager.patch(detail(subscription), {"is_active": False}, format="json").json()
    assert "secret" not in changed and changed["is_active"] is False


def test_rotation_shows_the_new_secret_once_and_keeps_the_old_one_for_the_overlap(
    manager: APIClient,
) -> None:
    subscription = SubscriptionFactory()
    old = subscription.secret

    response = manager.post(
        reverse("v1:webhook-subscription-rotate-secret", args=[subscription.pk])
    )

    assert response.status_code == 200
    body = response.json()
    subscription.refresh_from_db()
    assert body["secret"] == subscription.secret != old
    assert subscription.previous_secret == old
    assert body["previous_secret_expires_at"] is not None
    assert subscription.signing_secrets() == [subscription.secret, old]
    assert "secret" not in manager.get(detail(subscription)).json()


@pytest.mark.parametrize(
    ("target_url", "message"),
    [
        ("http://127.0.0.1/hook", "not a public address"),
        ("http://10.1.2.3/hook", "not a public address"),
        ("http://169.254.169.254/latest/meta-data", "not a public address"),
        ("http://[::1]/hook", "not a public address"),
        ("http://0.0.0.0/hook", "not a public address"),
        ("http://224.0.0.1/hook", "not a public address"),
        ("http://[::ffff:127.0.0.1]/hook", "not a public address"),
        ("http://no-such-host.invalid/hook", "does not resolve"),
        ("ftp://93.184.215.14/hook", "must start with http:// or https://"),
    ],
)
def test_a_target_that_is_not_allowed_is_a_400_naming_target_url(
    manager: APIClient, settings: Settings, target_url: str, message: str
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    response = manager.post(
        LIST, {"target_url": target_url, "event_types": ["product.updated"]}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["target_url"]
    assert message in body["errors"]["target_url"][0]
    assert not Subscription.objects.exists()


def test_a_public_address_is_accepted_and_https_only_refuses_http(
    manager: APIClient, settings: Settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    public = {"target_url": "http://93.184.215.14/hook", "event_types": ["product.updated"]}
    assert manager.post(LIST, public, format="json").status_code == 201

    settings.WEBHOOKS_HTTPS_ONLY = True
    response = manager.post(LIST, public, format="json")
    assert response.status_code == 400
    assert "must start with https://" in response.json()["errors"]["target_url"][0]


def test_event_types_are_checked(manager: APIClient) -> None:
    for event_types in ([], ["product.exploded"]):
        response = manager.post(
            LIST, {"target_url": "http://127.0.0.1/h", "event_types": event_types}, format="json"
        )
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["event_types"]


def test_every_event_type_of_the_outbox_can_be_subscribed_to(manager: APIClient) -> None:
    response = manager.post(
        LIST, {"target_url": "http://127.0.0.1/h", "event_types": TYPES}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert {"review.created", "attribute.updated", "product_type.deleted"} <= set(TYPES)
    assert sorted(Subscription.objects.get().event_types) == sorted(TYPES)


def test_anonymous_is_401_and_customers_and_staff_without_permission_403(
    user_client: APIClient,
    staff_with_perms: Callable[..., User],
    client_for: Callable[[User], APIClient],
) -> None:
    subscription = SubscriptionFactory()
    staff = client_for(staff_with_perms())
    customer_with_perms = staff_with_perms(*MANAGE)
    customer_with_perms.is_staff = False
    customer_with_perms.save()
    not_staff = client_for(User.objects.get(pk=customer_with_perms.pk))
    calls = [
        lambda c: c.get(LIST),
        lambda c: c.post(LIST, {}, format="json"),
        lambda c: c.get(detail(subscription)),
        lambda c: c.patch(detail(subscription), {}, format="json"),
        lambda c: c.delete(detail(subscription)),
        lambda c: c.post(reverse("v1:webhook-subscription-rotate-secret", args=[subscription.pk])),
        lambda c: c.get(deliveries_url(subscription)),
    ]

    for call in calls:
        assert call(APIClient()).status_code == 401
        assert call(user_client).status_code == 403
        assert call(staff).status_code == 403
        assert call(not_staff).status_code == 403


def test_each_action_needs_its_own_permission(
    staff_with_perms: Callable[..., User], client_for: Callable[[User], APIClient]
) -> None:
    subscription = SubscriptionFactory()
    rotate = reverse("v1:webhook-subscription-rotate-secret", args=[subscription.pk])
    viewer = client_for(staff_with_perms("webhooks.view_subscription"))
    assert viewer.get(LIST).status_code == 200
    assert viewer.patch(detail(subscription), {}, format="json").status_code == 403
    assert viewer.post(rotate).status_code == 403
    # Rotating is a change of the subscription, whatever its method.
    adder = client_for(staff_with_perms("webhooks.add_subscription"))
    assert adder.post(rotate).status_code == 403
    changer = client_for(staff_with_perms("webhooks.change_subscription"))
    assert changer.post(rotate).status_code == 200
    assert viewer.get(deliveries_url(subscription)).status_code == 403
    log_reader = client_for(staff_with_perms("webhooks.view_delivery"))
    delivery = delivery_make(subscription, _an_event())
    assert log_reader.get(deliveries_url(subscription)).status_code == 200
    resend = reverse("v1:webhook-delivery-resend", args=[subscription.pk, delivery.pk])
    assert log_reader.post(resend).status_code == 403


def _an_event() -> Event:
    product = ProductFactory()
    return Event.objects.of_entity("product", product.pk).get()


def test_the_subscription_list_takes_a_fixed_number_of_queries(
    manager: APIClient, django_assert_max_num_queries: Callable[..., object]
) -> None:
    manager.get(LIST)  # the user's permissions, cached on the user for the next request
    for _ in range(30):
        SubscriptionFactory()

    # The count, and the page.
    with django_assert_max_num_queries(2):  # type: ignore[attr-defined]
        response = manager.get(LIST)

    assert response.status_code == 200
    assert response.json()["count"] == 30


def test_the_delivery_log_lists_attempts_in_a_fixed_number_of_queries(
    manager: APIClient, django_assert_max_num_queries: Callable[..., object]
) -> None:
    subscription = SubscriptionFactory()
    for _ in range(10):
        delivery = delivery_make(subscription, _an_event())
        DeliveryAttempt.objects.create(delivery=delivery, response_status=500, duration_ms=12)
        DeliveryAttempt.objects.create(delivery=delivery, error="timeout", duration_ms=10000)
    SubscriptionFactory()  # another's deliveries are not listed
    manager.get(deliveries_url(subscription))

    # The subscription, the count, the page with its events, and their attempts.
    with django_assert_max_num_queries(4):  # type: ignore[attr-defined]
        response = manager.get(deliveries_url(subscription))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 10
    first = body["results"][0]
    assert first["event"]["type"] == "product.created"
    assert first["status"] == "pending"
    assert first["attempts"] == [
        {"attempted_at": first["attempts"][0]["attempted_at"], "response_status": 500,
         "duration_ms": 12, "error": ""},
        {"attempted_at": first["attempts"][1]["attempted_at"], "response_status": None,
         "duration_ms": 10000, "error": "timeout"},
    ]  # fmt: skip
    assert manager.get(deliveries_url(Subscription(pk=10**9))).status_code == 404


def test_resend_makes_a_fresh_delivery_of_the_same_event(
    manager: APIClient, settings: Settings
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    subscription = SubscriptionFactory()
    delivery = delivery_make(subscription, _an_event(), status=Delivery.Status.FAILED)

    response = manager.post(
        reverse("v1:webhook-delivery-resend", args=[subscription.pk, delivery.pk])
    )

    assert response.status_code == 201
    body = response.json()
    resent = Delivery.objects.get(pk=body["id"])
    assert resent.event_id == delivery.event_id
    assert resent.resend_of_id == delivery.pk
    assert body["status"] == "pending" and body["resend_of"] == delivery.pk
    other = SubscriptionFactory()
    assert (
        manager.post(
            reverse("v1:webhook-delivery-resend", args=[other.pk, delivery.pk])
        ).status_code
        == 404
    )


# --- history --------------------------------------------------------------------------------


def history(subscription_id: int) -> list[tuple[str, int, str, str]]:
    """Return the subscription's admin history, oldest first: who, what, which fields."""
    return [
        (entry.user.email, entry.action_flag, entry.get_change_message(), entry.object_repr)
        for entry in LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Subscription),
            object_id=str(subscription_id),
        )
        .select_related("user")
        .order_by("pk")
    ]


def test_each_change_through_the_api_is_in_the_admin_history_without_the_secret(
    staff_with_perms: Callable[..., User], client_for: Callable[[User], APIClient]
) -> None:
    staff = staff_with_perms(*MANAGE)
    manager = client_for(staff)

    created = manager.post(
        LIST,
        {"target_url": "http://93.184.215.14/hook", "event_types": ["product.updated"]},
        format="json",
    ).json()
    url = reverse("v1:webhook-subscription-detail", args=[created["id"]])
    changed = manager.patch(
        url, {"is_active": False, "event_types": ["product.updated"]}, format="json"
    )
    unchanged = manager.patch(url, {"description": ""}, format="json")
    rotated = manager.post(
        reverse("v1:webhook-subscription-rotate-secret", args=[created["id"]])
    ).json()
    deleted = manager.delete(url)

    assert (changed.status_code, unchanged.status_code, deleted.status_code) == (200, 200, 204)
    target = "http://93.184.215.14/hook"
    assert history(created["id"]) == [
        (staff.email, ADDITION, "Added.", target),
        (staff.email, CHANGE, "Changed Is active.", target),
        (staff.email, CHANGE, "No fields changed.", target),
        (staff.email, CHANGE, "Changed secret.", target),
        (staff.email, DELETION, "", target),
    ]
    logged = " ".join(
        f"{entry.change_message} {entry.object_repr}" for entry in LogEntry.objects.all()
    )
    assert created["secret"] not in logged and rotated["secret"] not in logged


def test_a_refused_change_leaves_no_history(manager: APIClient, settings: Settings) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False  # refused by the service, in the transaction
    subscription = SubscriptionFactory()

    response = manager.patch(
        detail(subscription), {"target_url": "http://10.1.2.3/hook"}, format="json"
    )

    assert response.status_code == 400
    assert history(subscription.pk) == []


def test_the_api_history_shows_on_the_admin_history_page(
    staff_with_perms: Callable[..., User], client_for: Callable[[User], APIClient]
) -> None:
    staff = staff_with_perms(*MANAGE)
    subscription = SubscriptionFactory()
    client_for(staff).patch(detail(subscription), {"is_active": False}, format="json")
    admin = Client()
    admin.force_login(staff)

    page = admin.get(reverse("admin:webhooks_subscription_history", args=[subscription.pk]))

    assert page.status_code == 200
    assert "Changed Is active." in page.content.decode()
