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

from apps.products.models import CategoryFacetCount, Product, ProductImage, path_ids
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
