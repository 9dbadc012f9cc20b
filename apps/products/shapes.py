"""The product's JSON, declared once: the list row, and the detail that extends it.

``apps.products.serializers`` takes ``ProductReadSerializer``'s and
``ProductDetailSerializer``'s fields from these shapes, checks the serializers nested in them at
import, and derives from them the list's ``values()`` columns and the two fast renderers the
views use. The serializers remain the reference (the OpenAPI schema is built from them):
``tests/test_serializers.py`` checks, over generated products, that both give the same JSON.

Columns are named as ``values()`` names them, from the product: ``category__name`` is
``product.category.name``; ``breadcrumbs_data``, ``images_data`` and ``variants_data`` are the
JSON annotations of ``Product.objects.for_detail()``.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.attributes.models import AttributeOption
from apps.core.shapes import Field, Shape

from .models import ProductImage

CENT = Decimal("0.01")
_IMAGE_STORAGE = ProductImage._meta.get_field("image").storage
_SWATCH_STORAGE = AttributeOption._meta.get_field("swatch_image").storage

# DRF's DateTimeField output: ISO 8601 in the current time zone, "Z" for UTC.
datetime_text = serializers.DateTimeField().to_representation


def price_text(price: Decimal) -> str:
    """Return a price as the serializer's DecimalField writes it: two places, as a string."""
    return format(price.quantize(CENT), "f")


def is_positive(number: int) -> bool:
    """Return whether ``number`` is above 0 (``Product.in_stock`` of a stock)."""
    return number > 0


def average_rating(rating_sum: int, review_count: int) -> float | None:
    """Return ``Product.average_rating`` as a JSON number (the serializer's
    ``coerce_to_string=False``), None without reviews."""
    if not review_count:
        return None
    return float((Decimal(rating_sum) / review_count).quantize(CENT))


def json_datetime_text(text: str) -> str:
    """Return a timestamp that PostgreSQL wrote in JSON as the serializer writes it."""
    return datetime_text(datetime.fromisoformat(text))


def image_url(name: str, request: Any) -> str:
    """Return an image's URL as DRF's ImageField does: the storage's, absolute for the
    request."""
    return request.build_absolute_uri(_IMAGE_STORAGE.url(name))


def swatch_image_url(name: str | None, request: Any) -> str | None:
    """Return a swatch picture's URL as DRF's ImageField does, None without one."""
    if not name:
        return None
    return request.build_absolute_uri(_SWATCH_STORAGE.url(name))


def _option_json(option: dict[str, Any], request: Any) -> dict[str, Any]:
    return {**option, "swatch_image": swatch_image_url(option["swatch_image"], request)}


def attribute_values_json(values: list[dict[str, Any]], request: Any) -> list[dict[str, Any]]:
    """Return ``attributes_data`` (for_detail()) as the API shows it: swatch pictures as URLs."""
    shown = []
    for item in values:
        value = item["value"]
        if isinstance(value, list):
            value = [_option_json(option, request) for option in value]
        elif isinstance(value, dict):
            value = _option_json(value, request)
        shown.append({"attribute": item["attribute"], "value": value})
    return shown


def axis_options_json(axes: list[dict[str, Any]], request: Any) -> list[dict[str, Any]]:
    """Return ``options_data`` (for_detail()) as the API shows it: swatch pictures as URLs."""
    return [
        {
            "attribute": axis["attribute"],
            "values": [_option_json(option, request) for option in axis["values"]],
        }
        for axis in axes
    ]


# ProductReadSerializer: a row of the product list.
PRODUCT_LIST_SHAPE = Shape(
    Field("id"),
    Field("name"),
    Field("slug"),
    Field("sku"),
    Field("description"),
    Field("price", convert=price_text),
    # PriceRangeSerializer: the lowest and highest price of the active variants.
    Field(
        "price_range",
        shape=Shape(
            Field("min", "price", convert=price_text),
            Field("max", "price_max", convert=price_text),
        ),
    ),
    Field("stock"),
    Field("in_stock", "stock", convert=is_positive),
    Field("is_active"),
    # CategorySummarySerializer
    Field(
        "category",
        shape=Shape(
            Field("id", "category_id"),
            Field("name", "category__name"),
            Field("slug", "category__slug"),
        ),
    ),
    Field("average_rating", "rating_sum", "review_count", convert=average_rating),
    Field("review_count"),
    Field("created_at", convert=datetime_text),
    Field("updated_at", convert=datetime_text),
)

# ProductListSerializer: a list row, with the variant whose SKU a search is (the search's
# ``matched_variant``, JSON ``{"id", "sku"}`` or None; None on a list without a search).
PRODUCT_LIST_ROW_SHAPE = PRODUCT_LIST_SHAPE.extend(Field("matched_variant"))

# ProductImageSerializer, read from one image of ``images_data``.
PRODUCT_IMAGE_SHAPE = Shape(
    Field("id"),
    Field("image", convert=image_url, takes_request=True),
    Field("alt_text"),
    Field("position"),
    Field("width"),
    Field("height"),
    Field("created_at", convert=json_datetime_text),
)

# VariantSerializer, read from one variant of ``variants_data`` (its price already as text).
VARIANT_SHAPE = Shape(
    Field("id"),
    Field("sku"),
    Field("price"),
    Field("stock"),
    Field("in_stock"),
    Field("is_active"),
    Field("position"),
    Field("options"),
)

# RatingSummarySerializer
RATING_SUMMARY_SHAPE = Shape(
    Field("average", "rating_sum", "review_count", convert=average_rating),
    Field("count", "review_count"),
    # Product.rating_histogram: reviews per number of stars, "1" to "5".
    Field(
        "histogram",
        shape=Shape(*(Field(str(stars), f"rating_{stars}_count") for stars in range(1, 6))),
    ),
)

# ProductDetailSerializer: the list row, with the category's breadcrumbs
# (CategoryWithBreadcrumbsSerializer), the images in order, the first variants, the shown
# attribute values, the axes with their options and the rating summary.
PRODUCT_DETAIL_SHAPE = PRODUCT_LIST_SHAPE.extend(
    # Already in CategorySummarySerializer's form: jsonb orders an object's keys shortest
    # first, then bytewise, which is id, name, slug.
    Field("category", shape=Shape(Field("breadcrumbs", "breadcrumbs_data"))),
    Field("images", "images_data", shape=PRODUCT_IMAGE_SHAPE, many=True),
    Field("variants", "variants_data", shape=VARIANT_SHAPE, many=True),
    Field("attributes", "attributes_data", convert=attribute_values_json, takes_request=True),
    Field("options", "options_data", convert=axis_options_json, takes_request=True),
    Field("rating", shape=RATING_SUMMARY_SHAPE),
)
