"""The audit trail: one INSERT per batch of entries, and a read-only admin to browse them."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.core.services import audit_record
from apps.products.models import Product
from apps.products.tests.factories import ProductFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:core_auditentry_changelist")


def record_price_changes(user: User | None, products: list[Product]) -> list[AuditEntry]:
    audit_record(
        user=user,
        action="products.set_price",
        objects_before_after=[
            (product, {"price": "19.99"}, {"price": "9.99"}) for product in products
        ],
        batch=uuid.uuid4(),
    )
    return list(AuditEntry.objects.filter(object_id__in=[str(p.pk) for p in products]))


def test_audit_record_writes_every_entry_in_one_insert(
    django_assert_num_queries,
) -> None:  # type: ignore[no-untyped-def]
    staff = UserFactory(is_staff=True)
    products = ProductFactory.create_batch(30)
    ContentType.objects.get_for_model(Product)  # cached from then on, as in a running server

    with django_assert_num_queries(1):
        written = audit_record(
            user=staff,
            action="products.set_price",
            objects_before_after=[
                (product, {"price": Decimal("19.99")}, {"price": "9.99"}) for product in products
            ],
            batch=uuid.uuid4(),
        )

    assert written == 30
    stored = AuditEntry.objects.order_by("id")
    assert stored.count() == 30
    entry = stored.get(object_id=str(products[0].pk))
    assert (entry.user, entry.username) == (staff, staff.email)
    assert entry.action == "products.set_price"
    assert entry.content_type == ContentType.objects.get_for_model(Product)
    assert entry.object_repr == str(products[0])
    assert (entry.before, entry.after) == ({"price": "19.99"}, {"price": "9.99"})
    assert stored.values("batch").distinct().count() == 1
    assert stored.values("created_at").distinct().count() == 1


def test_audit_record_without_a_signed_in_user_and_with_a_long_name(db: None) -> None:
    product = ProductFactory(name="x" * 200)

    audit_record(user=AnonymousUser(), action="a", objects_before_after=[(product, {}, {})])
    audit_record(user=None, action="a", objects_before_after=[(product, {}, {})])
    written = audit_record(user=None, action="a", objects_before_after=[])

    assert written == 0
    assert AuditEntry.objects.count() == 2
    for entry in AuditEntry.objects.all():
        assert (entry.user, entry.username, entry.batch) == (None, "", None)
        assert (entry.before, entry.after) == ({}, {})
        assert len(entry.object_repr) == 200


def test_entries_outlive_their_author(db: None) -> None:
    staff = UserFactory(is_staff=True)
    record_price_changes(staff, [ProductFactory()])

    staff.delete()

    entry = AuditEntry.objects.get()
    assert (entry.user, entry.username) == (None, staff.email)


@pytest.fixture
def auditor(staff_with_perms) -> User:  # type: ignore[no-untyped-def]
    return staff_with_perms("core.view_auditentry")


@pytest.fixture
def auditor_client(client: Client, auditor: User) -> Client:
    client.force_login(auditor)
    return client


@pytest.fixture
def entries(db: None) -> list[AuditEntry]:
    staff = UserFactory(is_staff=True, email="pricer@example.com")
    return record_price_changes(staff, [ProductFactory(name="Blue Tent")])


def test_staff_with_view_permission_browse_filter_and_search_the_trail(
    auditor_client: Client, entries: list[AuditEntry]
) -> None:
    entry = entries[0]
    cases = {
        "all": ({}, 1),
        "by action": ({"action": "products.set_price"}, 1),
        "by another action": ({"action": "products.set_stock"}, 0),
        # As DateFieldListFilter's "Today" link asks.
        "by date": (
            {
                "created_at__gte": entry.created_at.isoformat(),
                "created_at__lt": (entry.created_at + timedelta(days=1)).isoformat(),
            },
            1,
        ),
        "by a later date": ({"created_at__gte": (entry.created_at + timedelta(days=1))}, 0),
        "search object": ({"q": "blue tent"}, 1),
        "search user": ({"q": "pricer@"}, 1),
        "search nothing": ({"q": "red"}, 0),
        "by batch": ({"batch": str(entry.batch)}, 1),
        "by another batch": ({"batch": str(uuid.uuid4())}, 0),
    }

    for name, (params, count) in cases.items():
        response = auditor_client.get(CHANGELIST, params)
        assert response.status_code == 200, name
        assert response.context["cl"].result_count == count, name

    page = auditor_client.get(CHANGELIST).content.decode()
    assert "19.99 → 9.99" in page
    assert "Set the price of products" in page  # the action filter's label
    assert f"?batch={entry.batch}" in page
    detail = auditor_client.get(reverse("admin:core_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    assert "19.99 → 9.99" in detail.content.decode()
    assert b'name="_save"' not in detail.content  # nothing to save


@pytest.mark.parametrize("who", ["auditor", "superuser"])
def test_nobody_adds_changes_or_deletes_an_entry(
    client: Client, entries: list[AuditEntry], who: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(who))
    entry = entries[0]
    change_url = reverse("admin:core_auditentry_change", args=[entry.pk])

    add = client.post(reverse("admin:core_auditentry_add"), {"action": "forged"})
    change = client.post(change_url, {"action": "forged", "after": "{}"})
    delete = client.post(reverse("admin:core_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    bulk_delete = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert bulk_delete.status_code in (200, 302)
    stored = AuditEntry.objects.get()
    assert (stored.action, stored.after) == ("products.set_price", {"price": "9.99"})
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:core_auditentry_add") not in index


def test_staff_without_view_permission_cannot_browse_the_trail(
    client: Client, staff_with_perms, entries: list[AuditEntry]
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff_with_perms("products.change_product"))

    response = client.get(CHANGELIST)

    assert response.status_code == 403


def test_the_trail_page_runs_the_same_queries_for_5_or_100_entries(
    auditor_client: Client,
) -> None:
    staff = UserFactory(is_staff=True)

    counts = []
    for size in (5, 100):
        record_price_changes(staff, ProductFactory.create_batch(size))
        with CaptureQueriesContext(connection) as queries:
            response = auditor_client.get(CHANGELIST)
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1] <= 6
