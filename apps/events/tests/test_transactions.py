"""The outbox against real transactions: an event exists if and only if its transaction
commits, one per entity per transaction, and one entity's events are in its commit order
under a race (docs/events.md, "Order")."""

import time

import pytest
from django.db import connection, transaction

from apps.core.testing import run_together
from apps.events.models import Event
from apps.events.tests.helpers import recorded
from apps.products.models import Category, Product
from apps.products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Exception):
    pass


def test_a_rolled_back_transaction_emits_nothing() -> None:
    product = ProductFactory()
    Event.objects.all().delete()

    def write_then_fail() -> None:
        with transaction.atomic():
            Product.objects.filter(pk=product.pk).update(name="Never")
            ProductFactory()
            raise Refused

    with pytest.raises(Refused):
        write_then_fail()

    assert recorded() == set()


def test_each_committed_transaction_has_its_own_event() -> None:
    product = ProductFactory()
    Event.objects.all().delete()

    for name in ["First", "Second"]:
        with transaction.atomic():
            Product.objects.filter(pk=product.pk).update(name=name)
            Product.objects.filter(pk=product.pk).update(stock=7 if name == "First" else 8)

    first, second = Event.objects.of_entity("product", product.pk).in_delivery_order()
    assert first.transaction_id < second.transaction_id
    assert [first.changes, second.changes] == [["name", "stock"], ["name", "stock"]]
    assert first.id != second.id


def test_one_entitys_events_are_in_commit_order_when_transactions_race() -> None:
    """The transaction that starts first (its id is the lower) waits for the other's row lock
    on the product: it commits second, and its event comes second, though its transaction id
    and its first event come first."""
    product, other = ProductFactory(), ProductFactory()
    Event.objects.all().delete()

    def early_then_blocked() -> int:
        with transaction.atomic():
            Product.objects.filter(pk=other.pk).update(name="Early")  # takes its transaction id
            time.sleep(0.3)  # meanwhile the other holds the product's row lock
            Product.objects.filter(pk=product.pk).update(name="Second")
            return transaction_id()

    def late_then_holding() -> int:
        time.sleep(0.1)
        with transaction.atomic():
            Product.objects.filter(pk=product.pk).update(name="First")
            time.sleep(0.6)  # the other transaction blocks on the row meanwhile
            return transaction_id()

    blocked_id, holding_id = run_together(early_then_blocked, late_then_holding)

    assert blocked_id < holding_id  # the blocked one began writing first
    events = list(Event.objects.of_entity("product", product.pk).in_delivery_order())
    assert [(event.transaction_id, event.changes) for event in events] == [
        (holding_id, ["name"]),
        (blocked_id, ["name"]),
    ]
    product.refresh_from_db()
    assert product.name == "Second"  # the later event is the committed state
    (early,) = Event.objects.of_entity("product", other.pk)
    assert early.position < events[0].position


def transaction_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        (current,) = cursor.fetchone()
    return int(current)


def test_a_category_rename_and_a_product_delete_racing_keep_the_products_order() -> None:
    """The rename's product.updated is drawn under the product's lock: a deletion that commits
    first leaves it nothing to lock (no update after the deletion), and one that comes second
    waits for the rename and is positioned after its update."""
    category = CategoryFactory()
    deleted_first, deleted_second = (
        ProductFactory(category=category),
        ProductFactory(category=category),
    )
    Event.objects.all().delete()

    def delete(product_id: int, pause: float) -> None:
        time.sleep(pause)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM products_product WHERE id = %s", [product_id])
            time.sleep(0.4)  # the rename waits for this product's lock meanwhile

    def rename() -> None:
        time.sleep(0.2)
        with transaction.atomic():
            Category.objects.filter(pk=category.pk).update(name="Renamed")
            time.sleep(1.2)  # holds the second product's lock: its deletion waits

    run_together(
        lambda: delete(deleted_first.pk, 0), rename, lambda: delete(deleted_second.pk, 1.0)
    )

    first = [
        e.type for e in Event.objects.of_entity("product", deleted_first.pk).in_delivery_order()
    ]
    second = [
        e.type for e in Event.objects.of_entity("product", deleted_second.pk).in_delivery_order()
    ]
    assert first == ["product.deleted"]
    assert second == ["product.updated", "product.deleted"]
