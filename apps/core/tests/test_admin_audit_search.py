"""The audit admin's search runs on trigram indexes of the very expressions Django writes."""

import uuid

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.core.services import audit_record
from apps.products.tests.factories import ProductFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db


def test_the_search_can_use_the_trigram_indexes(superuser: User) -> None:
    products = [ProductFactory(name=f"Walnut desk {n}") for n in range(3)]
    audit_record(
        user=superuser,
        action="products.set_price",
        objects_before_after=[(product, {}, {}) for product in products],
        batch=uuid.uuid4(),
    )
    request = RequestFactory().get("/")
    request.user = superuser
    searched, _ = site._registry[AuditEntry].get_search_results(
        request, AuditEntry.objects.all(), "walnut"
    )
    with connection.cursor() as cursor:
        # A handful of rows are read faster whole: make the planner show what it can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = searched.order_by().explain()

    assert "auditentry_object_repr_trgm" in plan
    assert "auditentry_username_trgm" in plan
    assert searched.count() == 3


def test_the_search_finds_entries_by_object_or_user_in_any_case(
    client: Client, superuser: User
) -> None:
    lamp, desk = ProductFactory(name="Brass lamp"), ProductFactory(name="Oak desk")
    audit_record(user=superuser, action="a", objects_before_after=[(lamp, {}, {})])
    audit_record(user=None, action="a", objects_before_after=[(desk, {}, {})])
    client.force_login(superuser)
    changelist = reverse("admin:core_auditentry_changelist")

    by_object = client.get(changelist, {"q": "bRASS"}).context["cl"].result_list
    by_user = client.get(changelist, {"q": superuser.email.upper()}).context["cl"].result_list

    assert [entry.object_repr for entry in by_object] == [str(lamp)]
    assert [entry.object_repr for entry in by_user] == [str(lamp)]
