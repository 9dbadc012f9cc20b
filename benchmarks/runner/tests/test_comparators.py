"""The comparators answer exactly what ours does, on a real catalogue: the floor (bare WSGI) and
the textbook (generic DRF views). The runner checks this before it times anything; this test
fails in `make test` as soon as ours gains a field they lack."""

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from psycopg.conninfo import make_conninfo

from apps.products.models import Product, Variant
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.tests.factories import ReviewFactory
from benchmarks.floor import app as floor
from benchmarks.runner.verify import first_difference

# The floor reads what another connection committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def floor_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the floor at the test database, with a connection of its own."""
    settings = connection.settings_dict
    conninfo = make_conninfo(
        dbname=settings["NAME"],
        host=settings["HOST"] or "",
        port=str(settings["PORT"] or ""),
        user=settings["USER"] or "",
        password=settings["PASSWORD"] or "",
    )
    monkeypatch.setenv("DATABASE_URL", conninfo)
    monkeypatch.setattr(floor, "_connection", None)
    monkeypatch.setattr(floor, "_subtrees", None)
    yield
    if floor._connection is not None:
        floor._connection.close()


def floor_get(path: str, query: str = "") -> tuple[str, Any]:
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(floor.application(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], json.loads(body)


@pytest.fixture
def catalogue() -> dict[str, Any]:
    """A category with a product of one variant, and one of three (one inactive), reviewed."""
    category = CategoryFactory(slug="lamps")
    single = ProductFactory(category=category, price=Decimal("12.50"), stock=4)
    several = ProductFactory(category=category, price=Decimal("30.00"), stock=0)
    Variant.objects.create(
        product=several, sku="LAMP-L", price=Decimal("45.00"), stock=2, position=1, option_ids=[901]
    )
    Variant.objects.create(
        product=several,
        sku="LAMP-XL",
        price=Decimal("5.00"),
        stock=9,
        position=2,
        option_ids=[902],
        is_active=False,
    )
    ReviewFactory(product=several, rating=4)
    return {"category": category, "single": single, "several": Product.objects.get(pk=several.pk)}


@pytest.mark.parametrize("which", ["single", "several"])
def test_the_comparators_answer_a_product_page_as_ours(
    which: str, catalogue: dict[str, Any], floor_database: None, client: Client
) -> None:
    path = f"/api/v1/products/{catalogue[which].pk}/"
    ours = client.get(path).json()
    with override_settings(ROOT_URLCONF="benchmarks.textbook.urls"):
        textbook = client.get(path).json()
    status, floor_body = floor_get(path)

    assert status == "200 OK"
    assert len(ours["variants"]) == (1 if which == "single" else 2)
    assert first_difference(ours, floor_body) is None
    assert first_difference(ours, textbook) is None


def test_the_comparators_answer_a_category_page_as_ours(
    catalogue: dict[str, Any], floor_database: None, client: Client
) -> None:
    path, query = "/api/v1/products/", "category=lamps&page_size=24"
    ours = client.get(f"{path}?{query}").json()
    with override_settings(ROOT_URLCONF="benchmarks.textbook.urls"):
        textbook = client.get(f"{path}?{query}").json()
    status, floor_body = floor_get(path, query)

    assert status == "200 OK"
    assert [row["price_range"] for row in ours["results"]] == [
        {"min": "30.00", "max": "45.00"},
        {"min": "12.50", "max": "12.50"},
    ]
    assert first_difference(ours, floor_body) is None
    assert first_difference(ours, textbook) is None
