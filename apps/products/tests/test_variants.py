"""Variants in the database: the product's summary of them, kept by triggers whoever writes
(apps/products/sql/products_variant_summarize.sql and its neighbours)."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from apps.products.models import Product, Variant
from apps.products.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from apps.products.tests.helpers import assert_summary_is_fresh

pytestmark = pytest.mark.django_db


def summary(product: Product) -> tuple[Decimal, Decimal, int, str, int]:
    product.refresh_from_db()
    return (product.price, product.price_max, product.stock, product.sku, product.variant_count)


def check_deferred_rules() -> None:
    """Run the checks deferred to the commit now (the test's transaction never commits)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_a_new_product_has_one_variant_that_it_summarises() -> None:
    product = ProductFactory(sku="MUG-1", price=Decimal("9.50"), stock=4)

    (variant,) = product.variants.all()
    assert (variant.sku, variant.price, variant.stock, variant.is_active, variant.position) == (
        "MUG-1",
        Decimal("9.50"),
        4,
        True,
        0,
    )
    assert variant.option_ids == []
    # Read back on insert: the instance knows its summary without a query.
    assert (product.price_max, product.variant_count) == (Decimal("9.50"), 1)
    assert summary(product) == (Decimal("9.50"), Decimal("9.50"), 4, "MUG-1", 1)


def test_products_inserted_by_raw_sql_get_their_variants() -> None:
    category = CategoryFactory()
    products = Product.objects.bulk_create(
        ProductFactory.build(category=category, sku=f"BULK-{n}", stock=n) for n in range(3)
    )

    variants = Variant.objects.filter(product__in=products).order_by("product_id")
    assert [(v.product_id, v.sku, v.stock) for v in variants] == [
        (product.pk, product.sku, product.stock) for product in products
    ]
    assert all(product.variant_count == 1 for product in products)


def test_the_summary_follows_inserts_updates_and_deletes_of_variants() -> None:
    product = ProductFactory(sku="TEE", price=Decimal("20.00"), stock=10)

    large = VariantFactory(
        product=product, sku="TEE-L", price=Decimal("25.00"), stock=3, position=1
    )
    assert summary(product) == (Decimal("20.00"), Decimal("25.00"), 13, "TEE", 2)

    small = VariantFactory(
        product=product, sku="TEE-S", price=Decimal("15.00"), stock=1, position=0
    )
    # Two variants at position 0: the first by id (TEE) comes first.
    assert summary(product) == (Decimal("15.00"), Decimal("25.00"), 14, "TEE", 3)

    Variant.objects.filter(sku="TEE").update(position=5)
    assert summary(product) == (Decimal("15.00"), Decimal("25.00"), 14, "TEE-S", 3)

    large.price = Decimal("30.00")
    large.save()
    assert summary(product) == (Decimal("15.00"), Decimal("30.00"), 14, "TEE-S", 3)

    small.delete()
    assert summary(product) == (Decimal("20.00"), Decimal("30.00"), 13, "TEE-L", 2)

    large.delete()
    assert summary(product) == (Decimal("20.00"), Decimal("20.00"), 10, "TEE", 1)


def test_a_bulk_update_of_variants_keeps_every_summary() -> None:
    products = ProductFactory.create_batch(3, price=Decimal("10.00"), stock=2)
    for product in products:
        VariantFactory(product=product, price=Decimal("12.00"), stock=1)

    Variant.objects.filter(product__in=products).update(price=F("price") * 2, stock=F("stock") + 1)

    for product in products:
        assert summary(product)[:3] == (Decimal("20.00"), Decimal("24.00"), 5)


def test_without_an_active_variant_the_price_comes_from_all() -> None:
    product = ProductFactory(price=Decimal("10.00"), stock=3)
    VariantFactory(product=product, price=Decimal("30.00"), stock=7)

    product.variants.filter(price=Decimal("10.00")).update(is_active=False)
    assert summary(product)[:3] == (Decimal("30.00"), Decimal("30.00"), 7)

    product.variants.update(is_active=False)
    assert summary(product)[:3] == (Decimal("10.00"), Decimal("30.00"), 0)


def test_the_facet_summary_follows_the_variants() -> None:
    product = ProductFactory(price=Decimal("10.00"), stock=0)
    variant = VariantFactory(product=product, price=Decimal("500.00"), stock=0)
    assert_summary_is_fresh()

    variant.stock = 8
    variant.save()
    product.variants.exclude(pk=variant.pk).delete()

    assert summary(product)[:3] == (Decimal("500.00"), Decimal("500.00"), 8)
    assert_summary_is_fresh()


def test_a_price_written_to_a_one_variant_product_reaches_its_variant() -> None:
    product = ProductFactory(sku="OLD", price=Decimal("10.00"), stock=3)

    product.price, product.stock, product.sku = Decimal("12.00"), 9, "NEW"
    product.save()

    variant = product.variants.get()
    assert (variant.sku, variant.price, variant.stock) == ("NEW", Decimal("12.00"), 9)
    assert summary(product) == (Decimal("12.00"), Decimal("12.00"), 9, "NEW", 1)


def test_a_bulk_update_of_one_variant_products_reaches_their_variants() -> None:
    products = ProductFactory.create_batch(3, price=Decimal("10.00"), stock=1)
    several = products[0]
    VariantFactory(product=several, price=Decimal("10.00"), stock=1)

    Product.objects.filter(pk__in=[p.pk for p in products[1:]]).update(
        price=F("price") + 1, stock=F("stock") + 4
    )
    # A name written to every product, the one with several variants too, changes no variant.
    Product.objects.filter(pk__in=[p.pk for p in products]).update(name="Renamed")

    for product in products[1:]:
        variant = product.variants.get()
        assert (variant.price, variant.stock) == (Decimal("11.00"), 5)
        assert summary(product)[:3] == (Decimal("11.00"), Decimal("11.00"), 5)
    assert summary(several)[:3] == (Decimal("10.00"), Decimal("10.00"), 2)


def test_the_stock_of_an_inactive_single_variant_is_kept() -> None:
    product = ProductFactory(price=Decimal("10.00"), stock=6)
    product.variants.update(is_active=False)

    assert summary(product)[:3] == (Decimal("10.00"), Decimal("10.00"), 0)
    # The summary's write (stock 0) was not written back to the variant.
    assert product.variants.get().stock == 6


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("price", Decimal("1.00"), "products_product_price_from_variants"),
        ("stock", 1, "products_product_stock_from_variants"),
        ("sku", "OTHER", "products_product_sku_from_variants"),
    ],
)
def test_the_database_refuses_a_price_for_a_product_with_several_variants(
    field: str, value: object, rule: str
) -> None:
    product = ProductFactory(sku="FIRST", price=Decimal("10.00"), stock=3)
    VariantFactory(product=product, price=Decimal("20.00"), stock=4)

    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        Product.objects.filter(pk=product.pk).update(**{field: value})

    assert raised.value.__cause__.diag.constraint_name == rule  # type: ignore[union-attr]
    # The summary itself may be written, and any other field.
    Product.objects.filter(pk=product.pk).update(
        price=Decimal("10.00"), stock=7, sku="FIRST", name="Renamed"
    )
    assert summary(product) == (Decimal("10.00"), Decimal("20.00"), 7, "FIRST", 2)


def test_a_product_cannot_lose_its_last_variant_at_commit() -> None:
    product = ProductFactory(sku="ONLY")
    VariantFactory(product=product, sku="SECOND")

    product.variants.filter(sku="ONLY").delete()
    check_deferred_rules()  # one left: fine
    assert summary(product)[3:] == ("SECOND", 1)

    product.variants.all().delete()
    with pytest.raises(IntegrityError) as raised:
        check_deferred_rules()
    assert raised.value.__cause__.diag.constraint_name == "products_product_requires_variant"  # type: ignore[union-attr]


def test_deleting_a_product_deletes_its_variants() -> None:
    product = ProductFactory()
    VariantFactory(product=product)
    other = ProductFactory()

    product.delete()
    # And with SQL: the foreign key cascades in the database too.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM products_product WHERE id = %s", [other.pk])
    check_deferred_rules()

    assert not Variant.objects.exists()


def test_the_migration_gives_every_product_one_variant() -> None:
    products = ProductFactory.create_batch(3, price=Decimal("7.00"), stock=2)
    # Pending foreign key checks would keep PostgreSQL from dropping the table.
    check_deferred_rules()
    call_command("migrate", "products", "0006", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE products_product SET price = price + id, stock = id, sku = 'M-' || id"
        )
    check_deferred_rules()

    call_command("migrate", "products", "0007", stdout=io.StringIO())
    # The next migrations alter products_product, which the backfill's pending checks forbid.
    check_deferred_rules()
    call_command("migrate", "products", stdout=io.StringIO())

    for product in products:
        product.refresh_from_db()
        (variant,) = product.variants.all()
        assert (variant.sku, variant.price, variant.stock, variant.is_active) == (
            f"M-{product.pk}",
            Decimal("7.00") + product.pk,
            product.pk,
            True,
        )
        assert (product.price, product.price_max, product.stock, product.variant_count) == (
            variant.price,
            variant.price,
            variant.stock,
            1,
        )
    assert_summary_is_fresh()
