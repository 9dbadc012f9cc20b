"""The reference the EAV comparator's tests check it against: the products of a category
with their values and active variants' options, our semantics counted product by product
(some active variant holds every filter, the product's own values taken with it), and the
facets counted that way; plus the demo catalogue with the side tables, and a GET of the EAV."""

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg.conninfo import make_conninfo

from apps.attributes.models import Attribute, AttributeOption
from apps.products.models import Category, Product, ProductAttributeValue, Variant
from benchmarks.eav import app as eav
from benchmarks.eav.tables import build_side_tables


def database_address() -> str:
    settings = connection.settings_dict
    return make_conninfo(
        dbname=settings["NAME"],
        host=settings["HOST"] or "",
        port=str(settings["PORT"] or ""),
        user=settings["USER"] or "",
        password=settings["PASSWORD"] or "",
    )


def demo_catalogue_with_side_tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Load the demo catalogue, write the side tables, point the EAV at the test database."""
    call_command("load_demo_catalogue", products=160)
    conninfo = database_address()
    with psycopg.connect(conninfo, autocommit=True) as side:
        counts = build_side_tables(side)
    assert counts["eav_variant_value"] > 100
    monkeypatch.setenv("DATABASE_URL", conninfo)
    monkeypatch.setattr(eav, "_connection", None)
    monkeypatch.setattr(eav, "_catalogue", None)
    yield
    if eav._connection is not None:
        eav._connection.close()
    with psycopg.connect(conninfo, autocommit=True) as side:
        side.execute("DROP TABLE IF EXISTS eav_product_value, eav_variant_value")


def eav_get(query: str) -> tuple[str, Any, int]:
    statuses: list[tuple[str, list[tuple[str, str]]]] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/products/",
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(eav.application(environ, lambda status, h: statuses.append((status, h))))
    status, headers = statuses[0]
    return status, json.loads(body), int(dict(headers)["X-SQL-Queries"])


@dataclass
class Listed:
    """A product as the count here sees it: its options and values, its active variants'."""

    id: int
    created_at: Any
    values: dict[int, set[Any]]  # attribute id -> option ids, or the number / yes-no
    variants: list[set[int]]


def catalogue_of(slug: str) -> list[Listed]:
    """Return the products a shopper sees in the category's subtree."""
    category = Category.objects.get(slug=slug)
    subtree = Category.objects.filter(path__startswith=category.path)
    products = Product.objects.filter(is_active=True, category__is_active=True).filter(
        category__in=subtree
    )
    listed = []
    for product in products:
        values: dict[int, set[Any]] = {}
        for value in ProductAttributeValue.objects.filter(product=product):
            typed = value.option_id or value.value_number
            if value.value_boolean is not None:
                typed = value.value_boolean
            values.setdefault(value.attribute_id, set()).add(typed)
        variants = [
            set(variant.option_ids)
            for variant in Variant.objects.filter(product=product, is_active=True)
        ]
        listed.append(Listed(product.pk, product.created_at, values, variants))
    return listed


Filter = tuple[Attribute, Any]  # (attribute, option ids | (low, high) | yes-no)


def matches(product: Listed, filters: list[Filter]) -> bool:
    """Return whether some active variant of ``product`` holds every filter, its options and
    the product's own taken together (the filters on numbers and yes-no: the product's)."""
    for variant in product.variants:
        held = True
        for attribute, wanted in filters:
            own = product.values.get(attribute.pk, set())
            if attribute.kind == "number":
                low, high = wanted
                held = any(
                    (low is None or value >= low) and (high is None or value <= high)
                    for value in own
                )
            elif attribute.kind == "boolean":
                held = wanted in own
            else:
                held = bool((own | variant) & set(wanted))
            if not held:
                break
        if held:
            return True
    return False


def expected_facets(products: list[Listed], filters: list[Filter]) -> list[dict[str, Any]]:
    """Count each filterable attribute's facet over the products every other filter matches."""
    found = []
    for attribute in Attribute.objects.filter(is_filterable=True).with_options():
        others = [(a, wanted) for a, wanted in filters if a.pk != attribute.pk]
        head = {
            "slug": attribute.slug,
            "name": attribute.name,
            "kind": attribute.kind,
            "unit": attribute.unit,
        }
        if attribute.kind == "number":
            numbers = [
                value
                for product in products
                if matches(product, others)
                for value in product.values.get(attribute.pk, set())
            ]
            if numbers:
                low, high = (f"{number.normalize():f}" for number in (min(numbers), max(numbers)))
                found.append({**head, "min": low, "max": high})
            continue
        if attribute.kind == "boolean":
            choices = [("true", "Yes", True, None), ("false", "No", False, None)]
        else:
            choices = [
                (o.slug, o.value, [o.pk], o.swatch_colour or None) for o in attribute.options.all()
            ]
        selected = [wanted for a, wanted in filters if a.pk == attribute.pk]
        options = []
        for slug, value, wanted, colour in choices:
            count = sum(matches(product, [*others, (attribute, wanted)]) for product in products)
            chosen = any(
                wanted == given if attribute.kind == "boolean" else wanted[0] in given
                for given in selected
            )
            if count or chosen:
                option = {"slug": slug, "value": value, "count": count}
                if attribute.kind == "swatch":
                    option["swatch_colour"] = colour
                options.append(option)
        if options:
            found.append({**head, "options": options})
    return found


def filter_sets(products: list[Listed]) -> list[list[Filter]]:
    """Return filters drawn from the products: the brand (its own and another) and each axis
    of its last active variant; the first axis of its first variant with the second of its last
    (a combination it may lack); its numbers in a range and its yes-no."""
    option_attribute = dict(AttributeOption.objects.values_list("id", "attribute_id"))
    attributes = {attribute.pk: attribute for attribute in Attribute.objects.all()}
    brand = attributes[Attribute.objects.get(slug="brand").pk]
    acme = brand.options.get(slug="acme").pk
    sets = []
    for product in products[:8]:
        last = sorted(product.variants[-1]) if product.variants else []
        axes = [(attributes[option_attribute[option]], [option]) for option in last]
        brands = sorted(product.values.get(brand.pk, set()) | {acme})
        sets.append([(brand, brands), *axes])
        first = sorted(product.variants[0]) if product.variants else []
        if len(first) == 2 and len(last) == 2 and first != last:
            sets.append(
                [
                    (attributes[option_attribute[first[0]]], [first[0]]),
                    (attributes[option_attribute[last[1]]], [last[1]]),
                ]
            )
        typed = []
        for attribute_id, values in sorted(product.values.items()):
            attribute = attributes[attribute_id]
            if not attribute.is_filterable or not values:
                continue
            value = next(iter(values))
            if attribute.kind == "number":
                # Open above or below, by turns.
                bounds = (value - Decimal("0.2"), None) if len(sets) % 2 else (None, value + 50)
                typed.append((attribute, bounds))
            elif attribute.kind == "boolean":
                typed.append((attribute, value))
        if typed:
            sets.append([*axes[:1], *typed[:2]])
    return sets


def any_variant_matches(product: Listed, filters: list[Filter]) -> bool:
    """Return whether each option filter holds on some variant or value, not necessarily the
    same variant: Saleor's semantics."""
    return all(
        any(bool((product.values.get(attribute.pk, set()) | variant) & set(wanted))
            for variant in product.variants)
        for attribute, wanted in filters
        if attribute.kind not in ("number", "boolean")
    )  # fmt: skip


def query_string(slug: str, filters: list[Filter], *, facets: bool = False) -> str:
    parts = [f"category={slug}"]
    for attribute, wanted in filters:
        if attribute.kind == "number":
            low, high = wanted
            parts.append(f"attribute={attribute.slug}:{low or ''}..{high or ''}")
        elif attribute.kind == "boolean":
            parts.append(f"attribute={attribute.slug}:{'true' if wanted else 'false'}")
        else:
            slugs = attribute.options.filter(pk__in=wanted).values_list("slug", flat=True)
            parts.append(f"attribute={attribute.slug}:{','.join(slugs)}")
    return "&".join(parts) + ("&facets=true" if facets else "")
