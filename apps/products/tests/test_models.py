"""The database itself refuses what the API validates: the rules hold for every writer."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.core.testing import run_together
from apps.products.models import Category, Product
from apps.products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "changes",
    [
        {"price": Decimal("-0.01")},
        {"stock": -1},
        {"review_count": -1},
        {"review_count": 1, "rating_sum": 6},
        {"review_count": 2, "rating_sum": 1},
    ],
)
def test_database_refuses_impossible_product_values(changes: dict[str, object]) -> None:
    product = ProductFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(**changes)


def test_database_refuses_a_category_as_its_own_parent() -> None:
    category = CategoryFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.filter(pk=category.pk).update(parent=category)


def test_database_refuses_a_deeper_cycle_even_when_validation_is_bypassed() -> None:
    top = CategoryFactory()
    middle = CategoryFactory(parent=top)
    bottom = CategoryFactory(parent=middle)

    with pytest.raises(IntegrityError, match="own ancestor"), transaction.atomic():
        Category.objects.filter(pk=top.pk).update(parent=bottom)


def test_ancestor_ids_walks_to_the_root_in_order() -> None:
    root = CategoryFactory()
    middle = CategoryFactory(parent=root)
    leaf = CategoryFactory(parent=middle)

    assert Category.objects.ancestor_ids(leaf.pk) == [middle.pk, root.pk]
    assert Category.objects.ancestor_ids(root.pk) == []


def test_average_rating_is_rounded_to_two_places() -> None:
    product = ProductFactory.build(review_count=3, rating_sum=11)

    assert product.average_rating == Decimal("3.67")
    assert ProductFactory.build().average_rating is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_cannot_close_a_loop() -> None:
    first, second = CategoryFactory(), CategoryFactory()

    def move(category: Category, under: Category) -> Callable[[], None]:
        def action() -> None:
            with transaction.atomic():
                Category.objects.filter(pk=category.pk).update(parent=under)

        return action

    outcomes = run_together(move(first, second), move(second, first))

    failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], IntegrityError)
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    assert not (parents[first.pk] == second.pk and parents[second.pk] == first.pk)


def test_subtree_ids_are_the_category_and_its_descendants_only() -> None:
    root = CategoryFactory()
    first = CategoryFactory(parent=root, pk=90_001)
    grandchild = CategoryFactory(parent=first)
    # Paths that share a prefix as text ("/r/90001/" and "/r/900011/") must not mix.
    siblings = [CategoryFactory(parent=root, pk=900_011), CategoryFactory(parent=root)]

    subtree = Category.objects.with_subtree_ids().get(pk=first.pk).subtree_ids

    assert sorted(subtree) == sorted([first.pk, grandchild.pk])
    assert sorted(Category.objects.with_subtree_ids().get(pk=root.pk).subtree_ids) == sorted(
        [root.pk, first.pk, grandchild.pk, *(sibling.pk for sibling in siblings)]
    )
