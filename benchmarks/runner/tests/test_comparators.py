"""The comparators answer exactly what ours does, on a real catalogue: the floor (bare WSGI) and
the textbook (generic DRF views). The runner checks this before it times anything; this test
fails in `make test` as soon as ours gains a field they lack."""

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from psycopg.conninfo import make_conninfo

from apps.attributes.models import Attribute, AttributeKind, AttributeOption
from apps.products.models import Product, Variant
from apps.products.services import product_update
from apps.products.tests.factories import (
    CategoryFactory,
    ProductFactory,
    choice_attribute,
    option_id,
    product_type_of,
    product_with_options,
)
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
    """A category with an untyped product (one variant), and a typed one with three variants
    (one inactive), shown attribute values of each kind, and a review."""
    category = CategoryFactory(slug="lamps")
    single = ProductFactory(category=category, price=Decimal("12.50"), stock=4)
    size = choice_attribute("size", ["s", "m", "l"], kind=AttributeKind.SWATCH)
    AttributeOption.objects.filter(attribute=size, slug="m").update(swatch_colour="#aa0000")
    finish = choice_attribute("finish", ["matt", "gloss"], kind=AttributeKind.MULTIPLE_CHOICE)
    style = choice_attribute("style", ["modern", "retro"])
    watts = Attribute.objects.create(name="Watts", slug="watts", kind="number", unit="W")
    dimmable = Attribute.objects.create(name="Dimmable", slug="dimmable", kind="boolean")
    released = Attribute.objects.create(name="Released", slug="released", kind="date")
    brand = Attribute.objects.create(name="Brand", slug="brand", kind="text")
    lamp = product_type_of(
        "lamp", axes=(size,), attributes=(finish, style, watts, dimmable, released, brand)
    )
    several = product_with_options(
        lamp, [option_id(size, "s")], category=category, price=Decimal("30.00"), stock=0
    )
    with transaction.atomic():
        for sku, option, price, stock, active in [
            ("LAMP-M", "m", "45.00", 2, True),
            ("LAMP-L", "l", "5.00", 9, False),
        ]:
            Variant.objects.create(
                product=several,
                sku=sku,
                price=Decimal(price),
                stock=stock,
                is_active=active,
                position=2 if option == "l" else 1,
                option_ids=[option_id(size, option)],
            )
    product_update(
        product=Product.objects.get(pk=several.pk),
        attributes={
            "finish": ["gloss", "matt"],
            "style": "retro",
            "watts": "60.50",
            "dimmable": False,
            "released": "2026-03-01",
            "brand": "Lumen",
        },
    )
    ReviewFactory(product=several, rating=4)
    return {"category": category, "single": single, "several": several}


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
    assert len(ours["attributes"]) == (0 if which == "single" else 6)
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
