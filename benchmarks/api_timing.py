"""Rough in-process timings of catalogue endpoints against whatever database is configured.

Not the benchmark suite (that is issue 6's, with wrk and real servers): this calls the views
through Django's test client, so it measures Django + PostgreSQL time per request without HTTP.

    DATABASE_URL=postgres://... python benchmarks/api_timing.py [--repeat 30]

Prints, per request, the median and 90th percentile in milliseconds and the SQL query count.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")
# Hundreds of requests a minute from one client: the anonymous throttle would refuse them.
os.environ.setdefault("THROTTLE_RATE_ANON", "1000000/minute")

import django

django.setup()

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.products.models import Category, Product


def requests() -> list[tuple[str, str]]:
    root = Category.objects.filter(parent=None).order_by("id").first()
    leaf = Category.objects.filter(children__isnull=True).order_by("id").first()
    product = Product.objects.active().order_by("id").first()
    assert root and leaf and product, "load a catalogue first (load_demo_catalogue)"
    return [
        ("list, first page", "/api/v1/products/"),
        ("list, root category", f"/api/v1/products/?category={root.slug}"),
        ("list, leaf category, by price", f"/api/v1/products/?category={leaf.slug}&ordering=price"),
        (
            "list, filters combined",
            f"/api/v1/products/?category={root.slug}&price_max=100&in_stock=true&rating_min=3",
        ),
        ("list, page 200", "/api/v1/products/?page=200"),
        ("list, cursor page", "/api/v1/products/?cursor=&ordering=-price"),
        ("search, common word", "/api/v1/products/?search=bamboo"),
        ("search, two words", "/api/v1/products/?search=wireless%20headphone"),
        ("search, misspelled", "/api/v1/products/?search=wireles%20hedphones"),
        ("facets, no filter", "/api/v1/products/?facets=true"),
        ("facets, root category", f"/api/v1/products/?category={root.slug}&facets=true"),
        ("facets + search", "/api/v1/products/?search=bamboo&facets=true"),
        ("product detail", f"/api/v1/products/{product.pk}/"),
        ("category tree", "/api/v1/categories/tree/"),
        ("category detail", f"/api/v1/categories/slug/{root.slug}/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    client = Client(HTTP_ACCEPT="application/json", HTTP_HOST="127.0.0.1")
    print(f"{Product.objects.count():,} products, {Category.objects.count():,} categories")
    print(f"{'request':34} {'p50 ms':>8} {'p90 ms':>8} {'queries':>8}")
    for label, url in requests():
        client.get(url)  # warm caches and the connection
        timings = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
        timings.sort()
        p90 = timings[int(len(timings) * 0.9) - 1]
        print(f"{label:34} {statistics.median(timings):8.1f} {p90:8.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()
