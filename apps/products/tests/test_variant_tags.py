"""The filtering read model (``VariantTags``, ``ProductTags``) and its summaries
(``CategoryTagCount``, ``CategoryNumberCount``): kept by PostgreSQL in the statement of every
write that changes them, checked against what the catalogue makes of them, computed afresh in
Python."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from apps.products.attribute_filters import yes_no_tag
from apps.products.models import (
    Category,
    CategoryNumberCount,
    CategoryTagCount,
    Product,
    ProductAttributeValue,
    ProductTags,
    Variant,
    VariantTags,
)
from apps.products.services import category_update
from apps.products.tests.attribute_catalogue import shirt
from apps.products.tests.factories import CategoryFactory
from apps.products.tests.helpers import assert_variant_tags_are_fresh

pytestmark = pytest.mark.django_db


def tags_of(variant: Variant) -> list[int]:
    return sorted(VariantTags.objects.get(variant=variant).tags)


def counts_of(category: Category) -> dict[int, int]:
    return dict(CategoryTagCount.objects.filter(category=category).values_list("tag", "products"))


def test_a_variant_row_carries_its_options_its_products_and_its_categories(apparel) -> None:
    root = CategoryFactory()
    leaf = CategoryFactory(parent=root)
    product = shirt(
        apparel, ("red", "s"), ("blue", "m"), category=leaf, brand="acme", features=("wifi", "gps")
    )
    red_s, blue_m = product.variants.order_by("position")

    assert tags_of(red_s) == sorted(
        [
            apparel["red"],
            apparel["s"],
            apparel["acme"],
            apparel["wifi"],
            apparel["gps"],
            -root.pk,
            -leaf.pk,
        ]
    )
    assert tags_of(blue_m) == sorted(
        [
            apparel["blue"],
            apparel["m"],
            apparel["acme"],
            apparel["wifi"],
            apparel["gps"],
            -root.pk,
            -leaf.pk,
        ]
    )
    # Each option once per product, however many variants carry it: acme counts 1; in the
    # product's category and in every ancestor's.
    expected = {apparel[slug]: 1 for slug in ("red", "blue", "s", "m", "acme", "wifi", "gps")}
    assert counts_of(leaf) == counts_of(root) == expected
    assert_variant_tags_are_fresh()


def test_variant_writes_keep_the_read_model_fresh(apparel) -> None:
    product = shirt(apparel, ("red", "s"), ("blue", "s"), brand="zeta")
    _red, blue = product.variants.order_by("position")

    Variant.objects.filter(pk=blue.pk).update(is_active=False)
    assert not VariantTags.objects.filter(variant=blue).exists()
    assert apparel["blue"] not in counts_of(product.category)
    assert_variant_tags_are_fresh()

    Variant.objects.filter(pk=blue.pk).update(
        is_active=True, option_ids=sorted([apparel["blue"], apparel["m"]])
    )
    assert apparel["m"] in tags_of(blue)
    assert_variant_tags_are_fresh()

    # A price or stock write changes nothing here.
    before = list(VariantTags.objects.order_by("pk").values_list("pk", "tags"))
    Variant.objects.filter(product=product).update(price=Decimal("9.99"), stock=3)
    assert list(VariantTags.objects.order_by("pk").values_list("pk", "tags")) == before

    Variant.objects.filter(pk=blue.pk).delete()
    assert not VariantTags.objects.filter(variant_id=blue.pk).exists()
    assert_variant_tags_are_fresh()


def test_value_writes_keep_the_read_model_fresh(apparel) -> None:
    product = shirt(apparel, ("red", "s"), brand="acme")
    brand = apparel["attributes"]["brand"]

    ProductAttributeValue.objects.filter(product=product, attribute=brand).update(
        option_id=apparel["zeta"]
    )
    assert apparel["zeta"] in tags_of(product.variants.get())
    assert apparel["acme"] not in counts_of(product.category)
    assert_variant_tags_are_fresh()

    ProductAttributeValue.objects.filter(product=product).delete()
    assert apparel["zeta"] not in tags_of(product.variants.get())
    assert_variant_tags_are_fresh()


def test_product_writes_keep_the_read_model_fresh(apparel) -> None:
    elsewhere = CategoryFactory()
    product = shirt(apparel, ("red", "s"), ("red", "m"), brand="acme")
    old_category = product.category

    Product.objects.filter(pk=product.pk).update(category=elsewhere)
    assert counts_of(old_category) == {}
    assert counts_of(elsewhere)[apparel["red"]] == 1
    assert_variant_tags_are_fresh()

    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert counts_of(elsewhere) == {}  # an inactive product is not counted, though it has rows
    assert VariantTags.objects.filter(product=product).count() == 2
    assert not ProductTags.objects.get(product=product).listed
    assert_variant_tags_are_fresh()

    # A raw rewrite of when it was created (as a restore might): the rows carry the new time.
    Product.objects.filter(pk=product.pk).update(created_at=product.created_at - timedelta(days=3))
    assert {row.created_at for row in VariantTags.objects.filter(product=product)} == {
        product.created_at - timedelta(days=3)
    }
    assert_variant_tags_are_fresh()

    Product.objects.filter(pk=product.pk).update(is_active=True)
    product.delete()
    assert not VariantTags.objects.filter(product_id=product.pk).exists()
    assert counts_of(elsewhere) == {}
    assert_variant_tags_are_fresh()


def test_numbers_and_yes_or_no_values_are_in_the_read_model(apparel) -> None:
    root = CategoryFactory()
    product = shirt(apparel, ("red", "s"), category=root, weight=Decimal("120.5"), waterproof=True)
    waterproof, weight = apparel["attributes"]["waterproof"], apparel["attributes"]["weight"]

    assert yes_no_tag(waterproof.pk, True) in tags_of(product.variants.get())
    assert counts_of(root)[yes_no_tag(waterproof.pk, True)] == 1
    assert list(
        CategoryNumberCount.objects.filter(category=root).values_list("attribute_id", "value")
    ) == [(weight.pk, Decimal("120.5"))]

    ProductAttributeValue.objects.filter(product=product, attribute=weight).update(
        value_number=Decimal("99")
    )
    ProductAttributeValue.objects.filter(product=product, attribute=waterproof).update(
        value_boolean=False
    )
    assert CategoryNumberCount.objects.get(category=root).value == Decimal("99")
    assert yes_no_tag(waterproof.pk, False) in counts_of(root)
    assert yes_no_tag(waterproof.pk, True) not in counts_of(root)
    assert_variant_tags_are_fresh()


def test_a_product_without_an_active_variant_has_no_rows(apparel) -> None:
    product = shirt(apparel, ("red", "s"), ("red", "m"), brand="acme")

    Variant.objects.filter(product=product).update(is_active=False)

    assert not VariantTags.objects.filter(product=product).exists()
    assert not ProductTags.objects.filter(product=product).exists()
    assert counts_of(product.category) == {}
    assert_variant_tags_are_fresh()


def test_deactivating_a_category_takes_its_own_products_out_of_the_counts(apparel) -> None:
    root = CategoryFactory()
    leaf = CategoryFactory(parent=root)
    shirt(apparel, ("red", "s"), category=root)
    shirt(apparel, ("red", "m"), category=leaf)

    category_update(category=leaf, is_active=False)
    assert counts_of(root)[apparel["red"]] == 1
    assert counts_of(leaf) == {}
    assert_variant_tags_are_fresh()

    category_update(category=leaf, is_active=True)
    assert counts_of(root)[apparel["red"]] == 2
    assert_variant_tags_are_fresh()


def test_moving_a_category_rewrites_its_products_ancestors(apparel) -> None:
    old_root, new_root = CategoryFactory(), CategoryFactory()
    middle = CategoryFactory(parent=old_root)
    leaf = CategoryFactory(parent=middle)
    product = shirt(apparel, ("blue", "m"), category=leaf)

    category_update(category=middle, parent=new_root)

    tags = tags_of(product.variants.get())
    assert -new_root.pk in tags and -middle.pk in tags and -leaf.pk in tags
    assert -old_root.pk not in tags
    assert counts_of(old_root) == {}
    assert counts_of(new_root)[apparel["blue"]] == 1
    assert_variant_tags_are_fresh()


def test_a_bulk_insert_refreshes_every_product_it_touches(apparel) -> None:
    category = CategoryFactory()
    products = [shirt(apparel, ("red", "s"), category=category) for _ in range(3)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO products_variant (created_at, updated_at, product_id, sku, price, stock,"
            " is_active, position, option_ids)"
            " SELECT now(), now(), product.id, 'BULK-' || product.id, 5, 1, true, 1, %s"
            " FROM products_product product WHERE product.category_id = %s",
            [sorted([apparel["blue"], apparel["m"]]), category.pk],
        )
    for product in products:
        assert VariantTags.objects.filter(product=product).count() == 2
    assert counts_of(category)[apparel["blue"]] == 3
    assert counts_of(category)[apparel["red"]] == 3
    assert_variant_tags_are_fresh()


def test_the_summary_refuses_to_fall_below_zero(apparel) -> None:
    product = shirt(apparel, ("red", "s"))
    CategoryTagCount.objects.filter(category=product.category).delete()  # drifted
    with pytest.raises(IntegrityError, match="fewer than no products"), transaction.atomic():
        Variant.objects.filter(product=product).update(is_active=False)


def test_an_update_finds_its_changed_rows_without_a_nested_loop(apparel) -> None:
    """PL/pgSQL plans the follow trigger's statements with the first transition tables' row
    counts: a join of old_rows to new_rows planned for one row is a nested loop, quadratic at
    100,000. The trigger compares them by EXCEPT (hashed) instead; auto_explain shows the plans
    of the statements it runs."""
    product = shirt(apparel, ("red", "s"), ("blue", "s"), brand="zeta")
    variant = product.variants.order_by("position").last()
    assert variant is not None
    plans: list[str] = []
    raw = connection.connection
    assert raw is not None

    def keep(diagnostic: Any) -> None:
        plans.append(diagnostic.message_primary or "")

    raw.add_notice_handler(keep)
    try:
        with connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting in ["log_min_duration = 0", "log_nested_statements = on"]:
                cursor.execute(f"SET LOCAL auto_explain.{setting}")
            cursor.execute("SET LOCAL auto_explain.log_level = notice")
            cursor.execute(
                "UPDATE products_variant SET is_active = false WHERE id = %s", [variant.pk]
            )
            cursor.execute(
                "UPDATE products_productattributevalue SET option_id = option_id"
                " WHERE product_id = %s",
                [product.pk],
            )
            cursor.execute(
                "UPDATE products_product SET is_active = false WHERE id = %s", [product.pk]
            )
    finally:
        raw.remove_notice_handler(keep)

    compared = [plan for plan in plans if "EXCEPT" in plan and "old_rows" in plan]
    assert len(compared) >= 3  # variants, values, products
    for plan in compared:
        assert "Nested Loop" not in plan, plan
    assert_variant_tags_are_fresh()
