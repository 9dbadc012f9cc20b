"""The body of each kind of event: the entity as its own API endpoint shows it, read when built."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.attributes.models import AttributeOption
from apps.attributes.tests.factories import AttributeFactory, ProductTypeAttributeFactory
from apps.events.models import Event
from apps.events.tests.helpers import empty_the_outbox
from apps.reviews.tests.factories import ReviewFactory
from apps.webhooks.payloads import event_payload

pytestmark = pytest.mark.django_db


def test_an_attribute_event_carries_the_attribute_with_its_options(client: Client) -> None:
    attribute = AttributeFactory(name="Colour")
    empty_the_outbox()
    AttributeOption.objects.create(attribute=attribute, value="Red", slug="red")

    payload = event_payload(Event.objects.get())

    assert (payload["type"], payload["changes"]) == ("attribute.updated", ["options"])
    assert payload["product_id"] is None
    shown = client.get(reverse("v1:attribute-detail", args=[attribute.pk])).json()
    assert payload["data"] == shown
    assert [option["value"] for option in payload["data"]["options"]] == ["Red"]


def test_a_product_type_event_carries_the_type_with_its_attributes(client: Client) -> None:
    type_attribute = ProductTypeAttributeFactory()
    product_type = type_attribute.product_type
    empty_the_outbox()
    type_attribute.delete()

    payload = event_payload(Event.objects.get())

    assert (payload["type"], payload["changes"]) == ("product_type.updated", ["attributes"])
    shown = client.get(reverse("v1:product-type-detail", args=[product_type.pk])).json()
    assert payload["data"] == shown and shown["attributes"] == []


def test_a_review_event_carries_the_review_and_a_deleted_one_its_id() -> None:
    review = ReviewFactory(comment="Sturdy")
    created = Event.objects.get(entity="review")
    review_id = review.pk

    payload = event_payload(created)
    assert payload["type"] == "review.created"
    assert payload["product_id"] == review.product_id
    assert (payload["data"]["id"], payload["data"]["comment"]) == (review_id, "Sturdy")

    empty_the_outbox()
    review.delete()
    assert event_payload(Event.objects.get(entity="review"))["data"] == {"id": review_id}
