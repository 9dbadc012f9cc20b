"""Helpers shared by the product tests: the facet summary counted afresh, images to upload and
store, and sheets to import."""

import csv
import io
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.products.attribute_filters import yes_no_tag
from apps.products.models import (
    CategoryFacetCount,
    CategoryNumberCount,
    CategoryTagCount,
    Product,
    ProductAttributeValue,
    ProductImage,
    ProductTags,
    Variant,
    VariantTags,
    path_ids,
)
from apps.products.sheets import HEADERS

SummaryKey = tuple[int, bool, int, int]  # category, in stock, whole stars, price bucket
Row = Sequence[object]
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


# --- the facet summary, counted afresh ------------------------------------------------------------


def expected_summary() -> dict[SummaryKey, int]:
    """Count the visible products per category (their own and every ancestor), stock state,
    whole star and price bucket of the settings, row by row in Python."""
    edges = [Decimal(edge) for edge in settings.CATALOGUE_PRICE_BUCKETS]
    counts: Counter[SummaryKey] = Counter()
    rows = Product.objects.active().values_list(
        "category__path", "stock", "rating_average", "price"
    )
    for path, stock, rating_average, price in rows:
        # Bucket i runs from edge i - 1 (0 for the first) up to, not including, edge i.
        facet_values = (stock > 0, math.floor(rating_average), bisect_right(edges, price))
        for category_id in path_ids(path):
            counts[(category_id, *facet_values)] += 1
    return dict(counts)


def stored_summary() -> dict[SummaryKey, int]:
    rows = CategoryFacetCount.objects.values_list(
        "category_id", "in_stock", "rating_floor", "price_bucket", "products"
    )
    return {
        (category, in_stock, stars, bucket): count
        for category, in_stock, stars, bucket, count in rows
    }


def assert_summary_is_fresh() -> None:
    """Fail unless the stored summary is exactly the fresh count: no row missing, none extra,
    none at 0."""
    stored, expected = stored_summary(), expected_summary()
    assert stored == expected, {
        "missing or wrong": {key: n for key, n in expected.items() if stored.get(key) != n},
        "extra or wrong": {key: n for key, n in stored.items() if expected.get(key) != n},
    }


# --- images ---------------------------------------------------------------------------------------


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (200, 150)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, "teal").save(buffer, image_format)
    return buffer.getvalue()


def image_upload(
    image_format: str = "PNG", size: tuple[int, int] = (200, 150), name: str | None = None
) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name or f"photo.{EXTENSIONS[image_format]}",
        image_bytes(image_format, size),
        content_type=f"image/{image_format.lower()}",
    )


def stored_image(product: Product, *, position: int = 0, alt_text: str = "") -> ProductImage:
    return ProductImage.objects.create(
        product=product, image=image_upload(), position=position, alt_text=alt_text
    )


# --- sheets ---------------------------------------------------------------------------------------


def csv_bytes(rows: list[Row], header: Sequence[str] = HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


# --- the filtering read model and its summaries, computed afresh ---------------------------------


def _product_facts() -> dict[int, dict[str, Any]]:
    """Return, per product with an active variant, what the read model makes of it, computed
    in Python: listed, created_at, its own tags, its numbers and its active variants'
    options."""
    values: dict[int, dict[str, Any]] = {}
    for (
        product_id,
        attribute_id,
        option_id,
        boolean,
        number,
    ) in ProductAttributeValue.objects.values_list(
        "product_id", "attribute_id", "option_id", "value_boolean", "value_number"
    ):
        facts = values.setdefault(product_id, {"tags": set(), "numbers": set()})
        if option_id is not None:
            facts["tags"].add(option_id)
        if boolean is not None:
            facts["tags"].add(yes_no_tag(attribute_id, boolean))
        if number is not None:
            facts["numbers"].add((attribute_id, number))
    products: dict[int, dict[str, Any]] = {}
    for (
        variant,
        product,
        is_active,
        category_active,
        path,
        created_at,
        option_ids,
    ) in Variant.objects.filter(is_active=True).values_list(
        "pk",
        "product_id",
        "product__is_active",
        "product__category__is_active",
        "product__category__path",
        "product__created_at",
        "option_ids",
    ):
        own = values.get(product, {"tags": set(), "numbers": set()})
        facts = products.setdefault(
            product,
            {
                "listed": is_active and category_active,
                "created_at": created_at,
                "ancestors": path_ids(path),
                "tags": own["tags"] | {-ancestor for ancestor in path_ids(path)},
                "numbers": own["numbers"],
                "variants": {},
            },
        )
        facts["variants"][variant] = sorted(option_ids)
    return products


def expected_read_model() -> dict[str, Any]:
    """Return the read model's rows as the catalogue makes them, computed in Python."""
    products = _product_facts()
    return {
        "variants": {
            variant: (
                product,
                facts["listed"],
                facts["created_at"],
                options,
                sorted({*options, *facts["tags"]}),
            )
            for product, facts in products.items()
            for variant, options in facts["variants"].items()
        },
        "products": {
            product: (facts["listed"], sorted(facts["tags"]), sorted(facts["numbers"]))
            for product, facts in products.items()
        },
    }


def stored_read_model() -> dict[str, Any]:
    return {
        "variants": {
            variant: (product, listed, created_at, sorted(options), sorted(tags))
            for variant, product, listed, created_at, options, tags in (
                VariantTags.objects.values_list(
                    "variant_id", "product_id", "listed", "created_at", "option_ids", "tags"
                )
            )
        },
        "products": {
            product: (listed, sorted(tags), sorted(zip(attributes, numbers, strict=True)))
            for product, listed, tags, attributes, numbers in ProductTags.objects.values_list(
                "product_id", "listed", "tags", "number_attribute_ids", "number_values"
            )
        },
    }


def expected_summaries() -> dict[str, Any]:
    """Count the listed products per category of their lineage and tag, and per category and
    number value, from the read model's expected rows."""
    tags: Counter[tuple[int, int]] = Counter()
    numbers: Counter[tuple[int, int, Decimal]] = Counter()
    for facts in _product_facts().values():
        if not facts["listed"]:
            continue
        own = {tag for tag in facts["tags"] if tag > 0}
        own |= {option for options in facts["variants"].values() for option in options}
        for category in facts["ancestors"]:
            tags.update((category, tag) for tag in own)
            numbers.update((category, *number) for number in facts["numbers"])
    return {"tags": dict(tags), "numbers": dict(numbers)}


def stored_summaries() -> dict[str, Any]:
    return {
        "tags": {
            (category, tag): products
            for category, tag, products in CategoryTagCount.objects.values_list(
                "category_id", "tag", "products"
            )
        },
        "numbers": {
            (category, attribute, value): products
            for category, attribute, value, products in CategoryNumberCount.objects.values_list(
                "category_id", "attribute_id", "value", "products"
            )
        },
    }


def assert_variant_tags_are_fresh() -> None:
    """Fail unless the read model and its summaries are exactly what the catalogue makes of
    them: no row missing, none extra, no count at 0."""
    assert stored_read_model() == expected_read_model()
    assert stored_summaries() == expected_summaries()
