"""Rough in-process timings of the admin's product pages against the configured database.

    DATABASE_URL=postgres://... python benchmarks/admin_timing.py [--repeat 10]

Signs in a throwaway superuser through Django's test client (no HTTP) and prints, per page, the
median and 90th percentile server time in milliseconds and the SQL query count.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")

import django

django.setup()

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.products.models import Category, Product
from apps.users.models import User


def pages() -> list[tuple[str, str]]:
    root = Category.objects.filter(parent=None).order_by("id").first()
    leaf = Category.objects.filter(children__isnull=True).order_by("id").first()
    product = Product.objects.order_by("id").first()
    assert root and leaf and product, "generate a catalogue first"
    changelist = "/admin/products/product/"
    return [
        ("changelist", changelist),
        ("changelist, page 100", f"{changelist}?p=100"),
        ("search, one word", f"{changelist}?q=walnut"),
        ("search, two words", f"{changelist}?q=wireless+headphones"),
        ("search, SKU", f"{changelist}?q={product.sku}"),
        ("filter, root category", f"{changelist}?category={root.pk}"),
        ("filter, leaf + low stock", f"{changelist}?category={leaf.pk}&stock_level=low"),
        ("filter, active + 4 stars", f"{changelist}?is_active__exact=1&rating=4"),
        ("product change form", f"/admin/products/product/{product.pk}/change/"),
        ("category tree", "/admin/products/category/"),
        ("dashboard", "/admin/"),
        ("reviews, newest first", "/admin/reviews/review/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    admin, _ = User.objects.get_or_create(
        email="timing-admin@example.com",
        defaults={"username": "timing-admin", "is_staff": True, "is_superuser": True},
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    print(f"~{Product.objects.count():,} products, {Category.objects.count():,} categories")
    print(f"{'page':28} {'p50 ms':>8} {'p90 ms':>8} {'queries':>8}")
    for label, url in pages():
        client.get(url)
        timings = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings.sort()
        p90 = timings[max(0, int(len(timings) * 0.9) - 1)]
        print(f"{label:28} {statistics.median(timings):8.1f} {p90:8.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()
