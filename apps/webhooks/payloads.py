"""The body of a delivery: the event, and its entity as the public API shows it.

Built by the worker when it sends (never in the request that made the change), so a retry an
hour later carries the entity as it is then. An entity deleted (or gone by the time of sending)
is its id only.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
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


class PublicOrigin:
    """What the API's serializers ask of a request to make an absolute URL, for a worker that
    has no request: ``WEBHOOKS_PUBLIC_URL`` before the path (the path alone when unset)."""

    def build_absolute_uri(self, location: str) -> str:
        if "://" in location:  # a remote storage's URL is absolute already
            return location
        return settings.WEBHOOKS_PUBLIC_URL + location


def _product(entity_id: int, request: PublicOrigin) -> dict[str, Any] | None:
    # The product page as a shopper reads it (active variants), whether or not it is shown:
    # a consumer must hear that a product became inactive (is_active false).
    product = Product.objects.for_detail().filter(pk=entity_id).first()
    return None if product is None else product_detail_data(product, request)


def _variant(entity_id: int, request: PublicOrigin) -> dict[str, Any] | None:
    variant = Variant.objects.with_options().filter(pk=entity_id).first()
    return None if variant is None else dict(VariantSerializer(variant).data)


def _category(entity_id: int, request: PublicOrigin) -> dict[str, Any] | None:
    category = Category.objects.filter(pk=entity_id).first()
    if category is None:
        return None
    return dict(CategoryDetailSerializer(category_with_details(category)).data)


def _image(entity_id: int, request: PublicOrigin) -> dict[str, Any] | None:
    image = ProductImage.objects.filter(pk=entity_id).first()
    if image is None:
        return None
    return dict(ProductImageSerializer(image, context={"request": request}).data)


def _review(entity_id: int, request: PublicOrigin) -> dict[str, Any] | None:
    review = Review.objects.for_list().filter(pk=entity_id).first()
    return None if review is None else dict(ReviewReadSerializer(review).data)


def _attribute(entity_id: int, request: PublicOrigin) -> dict[str, Any] | None:
    attribute = Attribute.objects.for_detail().filter(pk=entity_id).first()
    if attribute is None:
        return None
    return dict(AttributeSerializer(attribute, context={"request": request}).data)


def _product_type(entity_id: int, request: PublicOrigin) -> dict[str, Any] | None:
    product_type = ProductType.objects.for_detail().filter(pk=entity_id).first()
    return None if product_type is None else dict(ProductTypeSerializer(product_type).data)


ENTITY_DATA: dict[str, Callable[[int, PublicOrigin], dict[str, Any] | None]] = {
    "product": _product,
    "variant": _variant,
    "category": _category,
    "image": _image,
    "review": _review,
    "attribute": _attribute,
    "product_type": _product_type,
}


def event_payload(event: Event) -> dict[str, Any]:
    """Return the body of a delivery of ``event``: its id, type, time, the product it concerns
    and what changed, and ``data``, the entity as the API shows it (``{"id"}`` when deleted)."""
    data = None
    if not event.type.endswith(".deleted"):
        data = ENTITY_DATA[event.entity](event.entity_id, PublicOrigin())
    return {
        "id": str(event.id),
        "type": event.type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "product_id": event.product_id,
        "changes": list(event.changes),
        "data": data if data is not None else {"id": event.entity_id},
    }


def event_body(event: Event) -> bytes:
    """Return ``event_payload(event)`` as JSON bytes, as signed and sent."""
    return JSONRenderer().render(event_payload(event))
