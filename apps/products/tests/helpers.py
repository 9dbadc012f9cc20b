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

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.products.models import (
    CategoryFacetCount,
    CategoryOptionCount,
    Product,
    ProductAttributeValue,
    ProductImage,
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


# --- the filtering read model and the option summary, computed afresh ----------------------------


def expected_variant_tags() -> dict[int, tuple[int, int, bool, list[int]]]:
    """Return, per active variant, its product, category, whether the product is active and its
    tags (sorted), computed in Python from the variants, values and categories."""
    product_options: dict[int, set[int]] = {}
    for product_id, option_id in ProductAttributeValue.objects.filter(
        option__isnull=False
    ).values_list("product_id", "option_id"):
        product_options.setdefault(product_id, set()).add(option_id)
    rows = Variant.objects.filter(is_active=True).values_list(
        "pk",
        "product_id",
        "product__category_id",
        "product__is_active",
        "product__category__path",
        "option_ids",
    )
    return {
        variant: (
            product,
            category,
            listed,
            sorted(
                {*option_ids, *product_options.get(product, set())}
                | {-ancestor for ancestor in path_ids(path)}
            ),
        )
        for variant, product, category, listed, path, option_ids in rows
    }


def stored_variant_tags() -> dict[int, tuple[int, int, bool, list[int]]]:
    rows = VariantTags.objects.values_list(
        "variant_id", "product_id", "category_id", "listed", "tags"
    )
    return {
        variant: (product, category, listed, sorted(tags))
        for variant, product, category, listed, tags in rows
    }


def expected_option_counts() -> dict[tuple[int, int], int]:
    """Count the active products per own category and option (on an active variant or as a
    value), from the read model's expected rows."""
    products: dict[tuple[int, int], set[int]] = {}
    for product, category, listed, tags in expected_variant_tags().values():
        for tag in tags:
            if listed and tag > 0:
                products.setdefault((category, tag), set()).add(product)
    return {key: len(ids) for key, ids in products.items()}


def assert_variant_tags_are_fresh() -> None:
    """Fail unless the read model and the option summary are exactly what the catalogue makes
    of them: no row missing, none extra, no count at 0."""
    assert stored_variant_tags() == expected_variant_tags()
    stored_counts = {
        (category, option): products
        for category, option, products in CategoryOptionCount.objects.values_list(
            "category_id", "option_id", "products"
        )
    }
    assert stored_counts == expected_option_counts()
