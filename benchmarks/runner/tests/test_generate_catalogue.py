"""The benchmark's generator, on a small catalogue: typed products with their values and
variants that the database's rules accept, summaries that match the variants, one kind of type
per department, the row checks on again after, and a broken row stopping it."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from apps.attributes.models import AttributeOption, ProductTypeAttribute
from apps.events.models import Event
from apps.products.models import Category, Product, ProductAttributeValue, Variant
from apps.products.tests.helpers import assert_variant_tags_are_fresh
from benchmarks.generate_catalogue import (
    LARGE_PRODUCTS,
    ROW_CHECKS,
    generate,
    row_checks_deferred,
)

# The generator commits per batch and runs VACUUM, outside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTS = 3000


def test_the_generator_makes_typed_products_with_variants_the_database_accepts(
    client: Client,
) -> None:
    generate(products=PRODUCTS, reviews_per_product=0.5)

    assert Product.objects.count() == PRODUCTS
    # Rebuilt once at the end, with its triggers off meanwhile: as the triggers keep it.
    assert_variant_tags_are_fresh()
    variants = list(
        Variant.objects.values("product_id", "price", "stock", "is_active", "option_ids")
    )
    assert 3.5 * PRODUCTS < len(variants) < 5 * PRODUCTS
    # Every thousandth product is a large one, where its type's axes allow 50 combinations.
    first = Product.objects.order_by("id").values_list("id", flat=True).first()
    large = dict(
        Product.objects.filter(variant_count__gte=LARGE_PRODUCTS)
        .order_by("id")
        .values_list("id", "variant_count")
    )
    assert large, "a generated large product"
    assert all((pk - first + 1) % 1000 == 0 for pk in large), large
    assert set(large.values()) == {LARGE_PRODUCTS}
    axes: dict[int, set[int]] = defaultdict(set)
    for type_id, attribute_id in ProductTypeAttribute.objects.filter(is_axis=True).values_list(
        "product_type_id", "attribute_id"
    ):
        axes[type_id].add(attribute_id)
    option_attribute = dict(AttributeOption.objects.values_list("id", "attribute_id"))
    by_product = defaultdict(list)
    for variant in variants:
        by_product[variant["product_id"]].append(variant)
    products = Product.objects.values(
        "id", "product_type_id", "price", "price_max", "stock", "variant_count", "category__path"
    )
    types_by_department: dict[str, set[int]] = defaultdict(set)
    for product in products:
        own = by_product[product["id"]]
        active = [variant for variant in own if variant["is_active"]]
        assert active, "the first variant is always active"
        # One option of each of the type's axes, each combination once.
        for variant in own:
            attributes = sorted(option_attribute[option] for option in variant["option_ids"])
            assert attributes == sorted(axes[product["product_type_id"]])
        assert len({tuple(variant["option_ids"]) for variant in own}) == len(own)
        # The summary the trigger keeps.
        assert product["variant_count"] == len(own)
        assert product["price"] == min(variant["price"] for variant in active)
        assert product["price_max"] == max(variant["price"] for variant in active)
        assert product["stock"] == sum(variant["stock"] for variant in active)
        types_by_department[product["category__path"].split("/")[1]].add(product["product_type_id"])
    assert len(types_by_department) == 10
    assert all(len(types) == 1 for types in types_by_department.values())
    assert len(set().union(*types_by_department.values())) == 5
    # Every product has a value of each non-axis attribute of its type.
    values: dict[int, set[int]] = defaultdict(set)
    for owner, attribute in ProductAttributeValue.objects.values_list("product_id", "attribute_id"):
        values[owner].add(attribute)
    wanted = defaultdict(set)
    for type_id, attribute_id in ProductTypeAttribute.objects.filter(is_axis=False).values_list(
        "product_type_id", "attribute_id"
    ):
        wanted[type_id].add(attribute_id)
    for product in products:
        assert values[product["id"]] == wanted[product["product_type_id"]]
    # The row checks are on again.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgname = ANY(%s)",
            [[trigger for _table, trigger in ROW_CHECKS]],
        )
        assert sorted(cursor.fetchall()) == sorted((trigger, "O") for _table, trigger in ROW_CHECKS)
    assert_the_outbox_stayed_silent()
    # Ours shows a generated product's options and values.
    several = Product.objects.filter(variant_count__gt=2, is_active=True).order_by("id").first()
    assert several is not None
    body = client.get(f"/api/v1/products/{several.pk}/").json()
    assert len(body["options"]) == len(axes[several.product_type_id])
    assert body["attributes"]
    assert Decimal(body["price_range"]["max"]) > Decimal(body["price_range"]["min"])
    assert Category.objects.filter(parent=None).count() == 10


def assert_the_outbox_stayed_silent() -> None:
    """A generated load, like a restore, emits no events: the outbox's triggers were off while
    it wrote, and are on again."""
    assert not Event.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE tgenabled = 'O') FROM pg_trigger"
            " JOIN pg_proc ON pg_proc.oid = tgfoid WHERE proname LIKE 'events\\_%'"
        )
        outbox_triggers, enabled = cursor.fetchone()
    assert outbox_triggers and enabled == outbox_triggers


def test_a_row_that_breaks_a_rule_stops_the_generator() -> None:
    generate(products=200, reviews_per_product=0)
    variant = Variant.objects.exclude(option_ids=[]).order_by("id").first()
    assert variant is not None

    with (
        pytest.raises(SystemExit, match="0 attribute values and 1 variants break"),
        connection.cursor() as cursor,
        row_checks_deferred(cursor),
    ):
        cursor.execute(
            "UPDATE products_variant SET option_ids = option_ids[1:1] WHERE id = %s",
            [variant.pk],
        )
