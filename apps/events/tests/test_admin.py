"""The outbox's admin: a read-only changelist for staff with the view permission."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.events.models import Event
from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:events_event_changelist")


def listed(response: Any) -> list[tuple[str, int]]:
    return [(event.type, event.entity_id) for event in response.context["cl"].result_list]


@pytest.mark.staff_permissions("events.view_event")
def test_staff_browse_filter_and_search_the_outbox(
    staff_client: Client, django_assert_max_num_queries: Any
) -> None:
    category = CategoryFactory()
    product = ProductFactory(category=category)
    Event.objects.all().delete()  # one transaction: the update would merge into "created"
    Product.objects.filter(pk=product.pk).update(name="Renamed")
    ProductFactory(category=category)

    with django_assert_max_num_queries(8):
        response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(listed(response)) == 3  # product.updated, product.created, variant.created
    assert listed(response)[-1] == ("product.updated", product.pk)

    by_type = staff_client.get(CHANGELIST, {"type": "product.updated"})
    assert listed(by_type) == [("product.updated", product.pk)]
    by_id = staff_client.get(CHANGELIST, {"q": str(product.pk), "entity": "product"})
    assert listed(by_id) == [("product.updated", product.pk)]
    assert listed(staff_client.get(CHANGELIST, {"q": "Renamed"})) == []


@pytest.mark.staff_permissions("events.view_event")
def test_nobody_adds_changes_or_deletes_an_event(
    staff_client: Client, admin_client: Client
) -> None:
    ProductFactory()
    event = Event.objects.filter(entity="product").get()
    change_url = reverse("admin:events_event_change", args=[event.pk])

    for client in (staff_client, admin_client):
        assert client.get(reverse("admin:events_event_add")).status_code == 403
        page = client.get(change_url)
        assert page.status_code == 200 and not page.context["has_change_permission"]
        assert client.post(change_url, {"type": "product.deleted"}).status_code == 403
        delete_url = reverse("admin:events_event_delete", args=[event.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.type == "product.created"


@pytest.mark.staff_permissions("products.view_product")
def test_staff_without_the_view_permission_do_not_see_the_outbox(staff_client: Client) -> None:
    assert staff_client.get(CHANGELIST).status_code == 403
