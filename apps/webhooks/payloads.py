"""The body of a delivery: the event, and its entity as the public API shows it.

Built by the worker when it sends (never in the request that made the change), so a retry an
hour later carries the entity as it is then. An entity deleted (or gone by the time of sending)
is its id only. A sender builds a batch's bodies together: the entities of one kind in one read.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from rest_framework.renderers import JSONRenderer

from apps.attributes.models import Attribute, ProductType
from apps.attributes.serializers import AttributeSerializer, ProductTypeSerializer
from apps.events.models import Event
from apps.products.models import Category, Product, ProductImage, Variant
from apps.products.selectors import category_with_details
from apps.products.serializers import (
    CategoryDetailSerializer,
    ProductImageSerializer,
    VariantSerializer,
    product_detail_data,
)
from apps.reviews.models import Review
from apps.reviews.serializers import ReviewReadSerializer

logger = logging.getLogger(__name__)


class PublicOrigin:
    """What the API's serializers ask of a request to make an absolute URL, for a worker that
    has no request: ``WEBHOOKS_PUBLIC_URL`` before the path (the path alone when unset)."""

    def build_absolute_uri(self, location: str) -> str:
        if "://" in location:  # a remote storage's URL is absolute already
            return location
        return settings.WEBHOOKS_PUBLIC_URL + location


# Each kind of entity's builder: the entities of the given ids as the API shows them, by id (one
# or a few queries for them all); an id not found (deleted since) is left out.
Builder = Callable[[list[int], PublicOrigin], dict[int, dict[str, Any]]]


def _products(ids: list[int], request: PublicOrigin) -> dict[int, dict[str, Any]]:
    # The product page as a shopper reads it (active variants), whether or not it is shown:
    # a consumer must hear that a product became inactive (is_active false).
    return {
        product.pk: product_detail_data(product, request)
        for product in Product.objects.for_detail().filter(pk__in=ids)
    }


def _variants(ids: list[int], request: PublicOrigin) -> dict[int, dict[str, Any]]:
    return {
        variant.pk: dict(VariantSerializer(variant).data)
        for variant in Variant.objects.with_options().filter(pk__in=ids)
    }


def _categories(ids: list[int], request: PublicOrigin) -> dict[int, dict[str, Any]]:
    return {
        category.pk: dict(CategoryDetailSerializer(category_with_details(category)).data)
        for category in Category.objects.filter(pk__in=ids)
    }


def _images(ids: list[int], request: PublicOrigin) -> dict[int, dict[str, Any]]:
    return {
        image.pk: dict(ProductImageSerializer(image, context={"request": request}).data)
        for image in ProductImage.objects.filter(pk__in=ids)
    }


def _reviews(ids: list[int], request: PublicOrigin) -> dict[int, dict[str, Any]]:
    return {
        review.pk: dict(ReviewReadSerializer(review).data)
        for review in Review.objects.for_list().filter(pk__in=ids)
    }


def _attributes(ids: list[int], request: PublicOrigin) -> dict[int, dict[str, Any]]:
    return {
        attribute.pk: dict(AttributeSerializer(attribute, context={"request": request}).data)
        for attribute in Attribute.objects.for_detail().filter(pk__in=ids)
    }


def _product_types(ids: list[int], request: PublicOrigin) -> dict[int, dict[str, Any]]:
    return {
        product_type.pk: dict(ProductTypeSerializer(product_type).data)
        for product_type in ProductType.objects.for_detail().filter(pk__in=ids)
    }


ENTITY_DATA: dict[str, Builder] = {
    "product": _products,
    "variant": _variants,
    "category": _categories,
    "image": _images,
    "review": _reviews,
    "attribute": _attributes,
    "product_type": _product_types,
}


def event_bodies(events: list[Event]) -> dict[int, bytes | Exception]:
    """Return the body of a delivery of each of ``events`` by its position: JSON bytes of its
    id, type, time, the product it concerns and what changed, and ``data``, the entity as the
    API shows it now (``{"id"}`` when deleted). The entities of one kind are read together.

    An event whose body could not be built (a bug, a query that failed) has the error instead,
    for its delivery to record as a failed attempt; the others are built all the same.
    """
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if not event.type.endswith(".deleted"):
            wanted[event.entity].add(event.entity_id)
    found: dict[str, dict[int, dict[str, Any]] | Exception] = {}
    request = PublicOrigin()
    for entity, ids in wanted.items():
        try:
            with transaction.atomic():  # a failed query leaves the caller's transaction usable
                found[entity] = ENTITY_DATA[entity](sorted(ids), request)
        except Exception as error:
            logger.exception("Building the bodies of %d %s event(s) failed", len(ids), entity)
            found[entity] = error
    renderer = JSONRenderer()
    bodies: dict[int, bytes | Exception] = {}
    for event in events:
        entities = found.get(event.entity, {})
        if isinstance(entities, Exception):
            bodies[event.position] = entities
            continue
        try:
            bodies[event.position] = renderer.render(_payload(event, entities.get(event.entity_id)))
        except Exception as error:
            logger.exception("Rendering the body of event %s failed", event.id)
            bodies[event.position] = error
    return bodies


def _payload(event: Event, data: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "product_id": event.product_id,
        "changes": list(event.changes),
        "data": data if data is not None else {"id": event.entity_id},
    }


def event_payload(event: Event) -> dict[str, Any]:
    """Return the body of a delivery of ``event`` as data (``event_bodies`` for one event)."""
    body = event_bodies([event])[event.position]
    if isinstance(body, Exception):
        raise body
    payload: dict[str, Any] = json.loads(body)
    return payload
