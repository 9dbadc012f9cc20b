"""The facet summary's SQL functions on their own: products_facet_counts_apply (netting, key
order, refusing a count below 0) and products_facet_edges (an error that names the command)."""

from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.products.models import CategoryFacetCount, Product
from apps.products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def apply(*changes: tuple[int, bool, int, int, int]) -> None:
    """Run products_facet_counts_apply on (category, in stock, rating floor, price bucket,
    products) changes."""
    rows = ", ".join(["ROW(%s, %s, %s, %s, %s)::products_facet_change"] * len(changes))
    params: list[Any] = [value for change in changes for value in change]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT products_facet_counts_apply(ARRAY[{rows}])", params)


def counts(category_id: int) -> dict[tuple[bool, int, int], int]:
    return {
        (row.in_stock, row.rating_floor, row.price_bucket): row.products
        for row in CategoryFacetCount.objects.filter(category_id=category_id)
    }


def test_changes_of_one_row_are_summed_and_rows_that_cancel_out_are_not_written() -> None:
    category = CategoryFactory()

    apply(
        (category.pk, True, 4, 1, 2),
        (category.pk, True, 4, 1, 1),
        (category.pk, False, 0, 0, 1),
        (category.pk, False, 0, 0, -1),
    )

    assert counts(category.pk) == {(True, 4, 1): 3}


def test_a_row_that_falls_to_zero_is_deleted_and_other_rows_keep_their_counts() -> None:
    category = CategoryFactory()
    apply((category.pk, True, 4, 1, 2), (category.pk, True, 3, 0, 1))

    apply((category.pk, True, 4, 1, -2), (category.pk, True, 3, 0, 4))

    assert counts(category.pk) == {(True, 3, 0): 5}


def test_a_change_below_zero_is_refused_naming_the_category_and_the_repair() -> None:
    category = CategoryFactory()
    apply((category.pk, True, 4, 1, 1))

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        apply((category.pk, True, 4, 1, -2))

    assert f"category {category.pk} would fall below 0" in str(refused.value)
    assert "rebuild_facet_counts" in refused.value.__cause__.diag.message_hint
    assert counts(category.pk) == {(True, 4, 1): 1}


def test_deleting_a_product_the_drifted_summary_lost_is_refused_not_counted_below_zero() -> None:
    product = ProductFactory()
    CategoryFacetCount.objects.filter(category=product.category).delete()

    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).delete()

    assert Product.objects.filter(pk=product.pk).exists()


def test_without_stored_price_edges_a_product_write_names_the_command_that_stores_them() -> None:
    category = CategoryFactory()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM products_facet_price_edges")

    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        ProductFactory(category=category)

    assert "products_facet_price_edges is empty" in str(refused.value)
    assert refused.value.__cause__.diag.message_hint == "Run manage.py rebuild_facet_counts."
    assert not Product.objects.filter(category=category).exists()
