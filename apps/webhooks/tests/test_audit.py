"""The audit trail of subscriptions: every creation, change, rotation and deletion, through the
staff API and the admin alike, with who, and the changed fields' values before and after;
never a secret."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apps.core.models import AuditEntry
from apps.users.models import User
from apps.users.tests.factories import UserFactory
from apps.webhooks.admin import SubscriptionAdmin
from apps.webhooks.models import Subscription
from apps.webhooks.services import (
    SECRET_ROTATED,
    SUBSCRIPTION_ADD_ACTION,
    SUBSCRIPTION_CHANGE_ACTION,
    SUBSCRIPTION_DELETE_ACTION,
    SUBSCRIPTION_ROTATE_SECRET_ACTION,
    subscription_secret_rotate,
    subscription_update,
)
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.test_api import LIST, MANAGE, detail

pytestmark = pytest.mark.django_db

TARGET = "http://93.184.215.14/hook"
MOVED = "http://93.184.215.15/elsewhere"


def rotate_url(subscription_id: int) -> str:
    return reverse("v1:webhook-subscription-rotate-secret", args=[subscription_id])


def trail(
    subscription_id: int,
) -> list[tuple[str, int | None, str, dict[str, Any], dict[str, Any]]]:
    """Return the subscription's audit entries, oldest first: action, user, object, before,
    after."""
    return [
        (entry.action, entry.user_id, entry.object_repr, entry.before, entry.after)
        for entry in AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Subscription),
            object_id=str(subscription_id),
        ).order_by("id")
    ]


def stored_time(value: object) -> Any:
    """Return a datetime as the trail stores it (DjangoJSONEncoder's text)."""
    return DjangoJSONEncoder().default(value)


def assert_no_secret_in_the_trail(*secrets: str) -> None:
    stored = json.dumps(
        [[entry.object_repr, entry.before, entry.after] for entry in AuditEntry.objects.all()]
    )
    for secret in secrets:
        assert secret
        assert secret not in stored


# --- the staff API ----------------------------------------------------------------------------


@pytest.fixture
def webhook_staff(staff_with_perms: Callable[..., User]) -> User:
    return staff_with_perms(*MANAGE)


@pytest.fixture
def manager(webhook_staff: User, client_for: Callable[[User], APIClient]) -> APIClient:
    return client_for(webhook_staff)


def test_each_change_through_the_api_is_audited_with_its_values(
    webhook_staff: User, manager: APIClient
) -> None:
    staff = webhook_staff
    created = manager.post(
        LIST,
        {
            "target_url": TARGET,
            "event_types": ["product.updated", "product.created"],
            "description": "ERP",
        },
        format="json",
    ).json()
    subscription_id = created["id"]
    url = reverse("v1:webhook-subscription-detail", args=[subscription_id])
    moved = manager.patch(url, {"target_url": MOVED, "description": "ERP (new)"}, format="json")
    deactivated = manager.patch(url, {"is_active": False}, format="json")
    # Changes nothing: no entry (the history still logs it, as the admin does).
    unchanged = manager.patch(
        url, {"event_types": ["product.created", "product.updated"]}, format="json"
    )
    rotated = manager.post(rotate_url(subscription_id)).json()
    rotated_again = manager.post(rotate_url(subscription_id)).json()
    deleted = manager.delete(url)

    assert [moved.status_code, deactivated.status_code, unchanged.status_code] == [200] * 3
    assert deleted.status_code == 204
    all_values = {
        "target_url": MOVED,
        "event_types": ["product.created", "product.updated"],
        "description": "ERP (new)",
        "is_active": False,
    }
    assert trail(subscription_id) == [
        (
            SUBSCRIPTION_ADD_ACTION,
            staff.pk,
            TARGET,
            {},
            {
                "target_url": TARGET,
                "event_types": ["product.created", "product.updated"],
                "description": "ERP",
                "is_active": True,
            },
        ),
        (
            SUBSCRIPTION_CHANGE_ACTION,
            staff.pk,
            MOVED,
            {"target_url": TARGET, "description": "ERP"},
            {"target_url": MOVED, "description": "ERP (new)"},
        ),
        (SUBSCRIPTION_CHANGE_ACTION, staff.pk, MOVED, {"is_active": True}, {"is_active": False}),
        (
            SUBSCRIPTION_ROTATE_SECRET_ACTION,
            staff.pk,
            MOVED,
            {"previous_secret_expires_at": None},
            {
                "secret": SECRET_ROTATED,
                "previous_secret_expires_at": stored_time(
                    parse_datetime(rotated["previous_secret_expires_at"])
                ),
            },
        ),
        (
            SUBSCRIPTION_ROTATE_SECRET_ACTION,
            staff.pk,
            MOVED,
            # The first rotation's overlap, cut short by the second.
            {
                "previous_secret_expires_at": stored_time(
                    parse_datetime(rotated["previous_secret_expires_at"])
                )
            },
            {
                "secret": SECRET_ROTATED,
                "previous_secret_expires_at": stored_time(
                    parse_datetime(rotated_again["previous_secret_expires_at"])
                ),
            },
        ),
        (SUBSCRIPTION_DELETE_ACTION, staff.pk, MOVED, all_values, {}),
    ]
    assert {entry.username for entry in AuditEntry.objects.all()} == {staff.email}
    assert_no_secret_in_the_trail(created["secret"], rotated["secret"], rotated_again["secret"])


def test_a_refused_change_through_the_api_writes_no_entry(
    manager: APIClient, settings: Settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False  # refused by the service, in the transaction
    subscription = SubscriptionFactory(target_url=TARGET)

    refused_change = manager.patch(
        detail(subscription),
        {"target_url": "http://10.1.2.3/hook", "is_active": False},
        format="json",
    )
    refused_creation = manager.post(
        LIST,
        {"target_url": "http://10.1.2.3/hook", "event_types": ["product.updated"]},
        format="json",
    )

    assert (refused_change.status_code, refused_creation.status_code) == (400, 400)
    assert not AuditEntry.objects.exists()
    subscription.refresh_from_db()
    assert (subscription.target_url, subscription.is_active) == (TARGET, True)


def test_the_entry_is_rolled_back_with_a_change_that_fails_after_it(
    manager: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = SubscriptionFactory(target_url=TARGET)

    def history_fails(*args: object) -> None:
        raise RuntimeError("the history could not be written")

    # The history is written after the service has audited the change, in the same transaction.
    monkeypatch.setattr("apps.webhooks.views.subscription_history_log", history_fails)
    for call in (
        lambda: manager.patch(detail(subscription), {"target_url": MOVED}, format="json"),
        lambda: manager.post(rotate_url(subscription.pk)),
        lambda: manager.delete(detail(subscription)),
    ):
        with pytest.raises(RuntimeError):
            call()

    assert not AuditEntry.objects.exists()
    stored = Subscription.objects.get(pk=subscription.pk)
    assert (stored.target_url, stored.secret) == (TARGET, subscription.secret)


def test_a_change_through_the_api_takes_a_fixed_number_of_queries(
    manager: APIClient, django_assert_num_queries: Callable[..., Any]
) -> None:
    subscription = SubscriptionFactory(target_url=TARGET)
    manager.get(detail(subscription))  # the user's permissions, cached for the next request
    ContentType.objects.get_for_model(Subscription)  # cached, as in a running server

    # The view's read; the service's read of the row locked (the values the entry calls
    # "before"); full_clean's check of the event types constraint; the UPDATE; the audit
    # entry's INSERT; the history's INSERT; a SAVEPOINT and its RELEASE for each of the view's,
    # the service's and the constraint check's transactions (nested in the test's). 10 before
    # the audit trail, which adds the locked read and its INSERT.
    with django_assert_num_queries(12):  # type: ignore[attr-defined]
        response = manager.patch(detail(subscription), {"target_url": MOVED}, format="json")

    assert response.status_code == 200
    assert len(trail(subscription.pk)) == 1


# --- the admin --------------------------------------------------------------------------------


def test_each_change_in_the_admin_is_audited_with_its_values(
    admin_client: Client, superuser: User
) -> None:
    added = admin_client.post(
        reverse("admin:webhooks_subscription_add"),
        {
            "target_url": TARGET,
            "event_types": ["product.created", "product.deleted"],
            "description": "Search index",
            "is_active": "on",
        },
    )
    subscription = Subscription.objects.get()
    created_secret = subscription.secret
    change_url = reverse("admin:webhooks_subscription_change", args=[subscription.pk])
    # Unticking "active" posts no is_active.
    changed = admin_client.post(
        change_url,
        {
            "target_url": MOVED,
            "event_types": ["product.created"],
            "description": "Search index",
        },
    )
    saved_unchanged = admin_client.post(
        change_url,
        {"target_url": MOVED, "event_types": ["product.created"], "description": "Search index"},
    )
    rotated = admin_client.post(
        reverse("admin:webhooks_subscription_rotate_secret", args=[subscription.pk])
    )
    subscription.refresh_from_db()
    rotated_secret = subscription.secret
    deleted = admin_client.post(
        reverse("admin:webhooks_subscription_delete", args=[subscription.pk]), {"post": "yes"}
    )

    assert (added.status_code, rotated.status_code) == (200, 200)
    assert (changed.status_code, saved_unchanged.status_code, deleted.status_code) == (302,) * 3
    assert not Subscription.objects.exists()
    assert trail(subscription.pk) == [
        (
            SUBSCRIPTION_ADD_ACTION,
            superuser.pk,
            TARGET,
            {},
            {
                "target_url": TARGET,
                "event_types": ["product.created", "product.deleted"],
                "description": "Search index",
                "is_active": True,
            },
        ),
        (
            SUBSCRIPTION_CHANGE_ACTION,
            superuser.pk,
            MOVED,
            {
                "target_url": TARGET,
                "event_types": ["product.created", "product.deleted"],
                "is_active": True,
            },
            {"target_url": MOVED, "event_types": ["product.created"], "is_active": False},
        ),
        (
            SUBSCRIPTION_ROTATE_SECRET_ACTION,
            superuser.pk,
            MOVED,
            {"previous_secret_expires_at": None},
            {
                "secret": SECRET_ROTATED,
                "previous_secret_expires_at": stored_time(subscription.previous_secret_expires_at),
            },
        ),
        (
            SUBSCRIPTION_DELETE_ACTION,
            superuser.pk,
            MOVED,
            {
                "target_url": MOVED,
                "event_types": ["product.created"],
                "description": "Search index",
                "is_active": False,
            },
            {},
        ),
    ]
    assert_no_secret_in_the_trail(created_secret, rotated_secret)


def test_deleting_selected_subscriptions_in_the_admin_audits_each_in_one_batch(
    admin_client: Client, superuser: User
) -> None:
    first, second = SubscriptionFactory(target_url=TARGET), SubscriptionFactory(target_url=MOVED)
    kept = SubscriptionFactory()

    response = admin_client.post(
        reverse("admin:webhooks_subscription_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [first.pk, second.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert list(Subscription.objects.values_list("pk", flat=True)) == [kept.pk]
    entries = list(AuditEntry.objects.order_by("object_id"))
    assert [(entry.action, entry.user_id, entry.object_id) for entry in entries] == [
        (SUBSCRIPTION_DELETE_ACTION, superuser.pk, str(first.pk)),
        (SUBSCRIPTION_DELETE_ACTION, superuser.pk, str(second.pk)),
    ]
    assert [entry.before["target_url"] for entry in entries] == [TARGET, MOVED]
    assert entries[0].batch is not None and entries[0].batch == entries[1].batch


def test_a_refused_change_in_the_admin_writes_no_entry(
    admin_client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    subscription = SubscriptionFactory(target_url=TARGET)
    old_secret = subscription.secret

    refused = admin_client.post(
        reverse("admin:webhooks_subscription_change", args=[subscription.pk]),
        {"target_url": "http://10.1.2.3/hook", "event_types": ["product.created"]},
    )

    def history_fails(*args: object) -> None:
        raise RuntimeError("the history could not be written")

    # The rotation's history is written after the service has audited it: one transaction.
    monkeypatch.setattr(SubscriptionAdmin, "log_change", history_fails)
    with pytest.raises(RuntimeError):
        admin_client.post(
            reverse("admin:webhooks_subscription_rotate_secret", args=[subscription.pk])
        )

    assert refused.status_code == 200
    assert "not a public address" in refused.content.decode()
    assert not AuditEntry.objects.exists()
    subscription.refresh_from_db()
    assert (subscription.target_url, subscription.secret) == (TARGET, old_secret)


def test_those_who_may_view_subscriptions_read_their_entries_in_the_trail_others_not(
    client: Client,
) -> None:
    webhook_manager = UserFactory(is_staff=True, email="hooks@example.com")
    webhook_manager.groups.add(Group.objects.get(name="Webhook managers"))
    client.force_login(webhook_manager)
    client.post(
        reverse("admin:webhooks_subscription_add"),
        {"target_url": TARGET, "event_types": ["product.created", "product.deleted"]},
    )
    entry = AuditEntry.objects.get()

    page = client.get(
        reverse("admin:core_auditentry_changelist"), {"action": SUBSCRIPTION_ADD_ACTION}
    )

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    content = page.content.decode()
    assert "Add a webhook subscription" in content  # the action filter's label
    assert "hooks@example.com" in content
    assert f"- → {TARGET}" in content
    assert "- → product.created, product.deleted" in content
    # The trail's other readers do not see a target URL (it may carry the receiver's token).
    for group in ("Catalogue managers", "Review moderators"):
        reader = UserFactory(is_staff=True)
        reader.groups.add(Group.objects.get(name=group))
        client.force_login(reader)
        trail = client.get(reverse("admin:core_auditentry_changelist"))
        assert trail.status_code == 200, group
        assert trail.context["cl"].result_count == 0, group
        assert TARGET not in trail.content.decode(), group
        detail = client.get(reverse("admin:core_auditentry_change", args=[entry.pk]))
        assert detail.status_code in (302, 403), group


# --- the services -----------------------------------------------------------------------------


def test_a_change_audits_and_writes_against_the_stored_row_not_a_stale_instance() -> None:
    stored = SubscriptionFactory(target_url=TARGET, description="ERP")
    stale = Subscription.objects.get(pk=stored.pk)
    # Meanwhile, someone else renames it and rotates its secret.
    subscription_update(subscription=stored, user=None, description="ERP (new)")
    rotated = subscription_secret_rotate(subscription=stored, user=None).secret

    subscription_update(subscription=stale, user=None, target_url=MOVED)

    fresh = Subscription.objects.get(pk=stored.pk)
    # The rotation is kept: only the changed field was written.
    assert (fresh.target_url, fresh.description, fresh.secret) == (MOVED, "ERP (new)", rotated)
    assert trail(stored.pk)[-1] == (
        SUBSCRIPTION_CHANGE_ACTION,
        None,
        MOVED,
        {"target_url": TARGET},
        {"target_url": MOVED},
    )
