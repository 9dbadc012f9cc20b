"""The facet summary (CategoryFacetCount) that PostgreSQL triggers keep: after every kind of
write it must equal a fresh count of the visible products, made here in Python."""

import io
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Round
from django.test import override_settings

from apps.core.testing import run_together
from apps.products.facets import summary_facets
from apps.products.models import Category, CategoryFacetCount, Product
from apps.products.services import (
    category_update,
    product_create,
    product_delete,
    product_update,
    products_bulk_change,
    stored_price_edges,
)
from apps.products.sheets import product_import
from apps.products.summaries import CategorySummary
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.products.tests.helpers import assert_summary_is_fresh, expected_summary, stored_summary
from apps.reviews.services import (
    review_create,
    review_delete,
    review_hide,
    review_restore,
    review_update,
)
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def summary_writes() -> int:
    """Return how many rows of the summary this transaction has inserted, updated or deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
            " WHERE relname = %s",
            [CategoryFacetCount._meta.db_table],
        )
        (writes,) = cursor.fetchone()
    return int(writes)


def rated(stars: int) -> dict[str, int]:
    """Rating figures of a product with one review of ``stars``."""
    return {f"rating_{stars}_count": 1, "review_count": 1, "rating_sum": stars}


# --- a catalogue with every case ----------------------------------------------------------------


@pytest.fixture
def tree() -> dict[str, Category]:
    """Two roots; products at every level; an inactive leaf, and an active leaf under an
    inactive middle category (its products are visible, as ``active()`` has it)."""
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    garden = CategoryFactory(name="Garden", parent=home, is_active=False)
    toys = CategoryFactory(name="Toys")
    return {
        "home": home,
        "kitchen": kitchen,
        "pans": CategoryFactory(name="Pans", parent=kitchen),
        "knives": CategoryFactory(name="Knives", parent=kitchen, is_active=False),
        "garden": garden,
        "hoses": CategoryFactory(name="Hoses", parent=garden),
        "toys": toys,
        "blocks": CategoryFactory(name="Blocks", parent=toys),
        "empty": CategoryFactory(name="Empty", parent=toys),
    }


# Prices on and around the bucket edges, and far past the last one.
PRICES = [
    Decimal(price)
    for price in [
        *("0", "9.99", "10", "24.99", "25", "50", "99.99", "100", "250", "499.99", "500"),
        *("999.99", "1000", "12345.67"),
    ]
]


@pytest.fixture
def catalogue(tree: dict[str, Category]) -> dict[str, Category]:
    """Products in every category of ``tree``: all prices, in and out of stock, 0 to 5 stars,
    some inactive."""
    for index, category in enumerate(tree.values()):
        if category.name == "Empty":
            continue
        for number, price in enumerate(PRICES):
            stars = (index + number) % 6
            ProductFactory(
                category=category,
                price=price,
                stock=(index + number) % 3,
                is_active=(index + number) % 7 != 0,
                **(rated(stars) if stars else {}),
            )
    assert_summary_is_fresh()
    return tree


def test_the_fixture_catalogue_covers_every_row_kind(catalogue: dict[str, Category]) -> None:
    stored = stored_summary()
    assert {stars for _category, _stock, stars, _bucket in stored} == {0, 1, 2, 3, 4, 5}
    assert {bucket for *_rest, bucket in stored} == set(
        range(len(settings.CATALOGUE_PRICE_BUCKETS) + 1)
    )
    assert {in_stock for _category, in_stock, *_rest in stored} == {True, False}
    # Products of the inactive leaf count nowhere; those of the leaf under the inactive middle
    # category count in it and in the root.
    counted = {category for category, *_rest in stored}
    assert catalogue["knives"].pk not in counted
    assert {catalogue["garden"].pk, catalogue["hoses"].pk} <= counted
    assert catalogue["empty"].pk not in counted


# --- products ------------------------------------------------------------------------------------


def test_creating_editing_and_deleting_a_product_keeps_the_summary_fresh(
    catalogue: dict[str, Category],
) -> None:
    product = product_create(
        created_by=None,
        name="Wok",
        sku="WOK-1",
        price=Decimal("24.99"),
        category=catalogue["pans"],
        stock=3,
    )
    assert_summary_is_fresh()

    for changes in [
        {"price": Decimal("25.00")},  # the next bucket
        {"stock": 0},
        {"category": catalogue["blocks"]},  # another root
        {"category": catalogue["knives"]},  # an inactive category
        {"category": catalogue["hoses"]},  # active, under an inactive one
        {"is_active": False},
        {"is_active": True, "price": Decimal("0"), "stock": 7},
        {"name": "Carbon steel wok"},  # nothing the summary counts
    ]:
        product_update(product=product, **changes)
        assert_summary_is_fresh()

    product_delete(product=product)
    assert_summary_is_fresh()


def test_a_bulk_change_keeps_the_summary_fresh(catalogue: dict[str, Category]) -> None:
    user = UserFactory(is_staff=True)
    kitchen = Product.objects.in_category(catalogue["kitchen"])

    # As the admin's bulk actions change them.
    for changes, action in [
        ({"price": Round(F("price") * Value(Decimal("3")), precision=2)}, "products.price"),
        ({"stock": Value(0)}, "products.stock"),
        ({"is_active": Value(False)}, "products.deactivate"),
        ({"is_active": Value(True)}, "products.activate"),
        ({"category_id": Value(catalogue["blocks"].pk)}, "products.move"),
    ]:
        products_bulk_change(user=user, selection=kitchen, changes=changes, audit_action=action)
        assert_summary_is_fresh()


def test_an_import_keeps_the_summary_fresh(catalogue: dict[str, Category]) -> None:
    existing = Product.objects.filter(category=catalogue["pans"]).order_by("pk")[:3]
    rows = [
        "sku,name,price,stock,is_active,category",
        # New products: visible, out of stock, inactive, in an inactive category.
        f"NEW-1,Lid,19.99,4,true,{catalogue['pans'].slug}",
        f"NEW-2,Spoon,100,0,true,{catalogue['hoses'].slug}",
        f"NEW-3,Fork,5,1,false,{catalogue['pans'].slug}",
        f"NEW-4,Knife,5,1,true,{catalogue['knives'].slug}",
        # Changed products: price, category, activity.
        *(
            f"{product.sku},{product.name},{price},{stock},{active},{category.slug}"
            for product, price, stock, active, category in zip(
                existing,
                ["2000", "3", "49.99"],
                [0, 5, 5],
                ["true", "true", "false"],
                [catalogue["pans"], catalogue["blocks"], catalogue["pans"]],
                strict=True,
            )
        ),
    ]

    report = product_import(
        file=io.BytesIO("\n".join(rows).encode()), file_format="csv", commit=True
    )

    assert (report.new, report.changed, report.invalid) == (4, 3, 0), report
    assert_summary_is_fresh()


def test_an_upsert_that_updates_on_conflict_keeps_the_summary_fresh(
    catalogue: dict[str, Category],
) -> None:
    # The import's INSERT ... ON CONFLICT DO UPDATE, for a SKU created since it checked: the
    # rows it updates come through the UPDATE trigger.
    product = Product.objects.filter(category=catalogue["pans"], is_active=True).first()
    assert product is not None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO products_product AS product (
                sku, name, slug, description, price, stock, is_active, category_id,
                created_at, updated_at, rating_1_count, rating_2_count, rating_3_count,
                rating_4_count, rating_5_count, review_count, rating_sum
            )
            VALUES (%s, 'x', 'x-upserted', '', 777, 0, true, %s, now(), now(), 0, 0, 0, 0, 0, 0, 0),
                   ('UPSERT-NEW', 'y', 'y-upserted', '', 7, 1, true, %s, now(), now(),
                    0, 0, 0, 0, 0, 0, 0)
            ON CONFLICT (sku) DO UPDATE SET price = excluded.price, stock = excluded.stock,
                category_id = excluded.category_id
            """,
            [product.sku, catalogue["blocks"].pk, catalogue["pans"].pk],
        )
    assert_summary_is_fresh()


# --- reviews -------------------------------------------------------------------------------------


def test_review_writes_keep_the_summary_fresh(catalogue: dict[str, Category]) -> None:
    product = ProductFactory(category=catalogue["pans"])
    reviewers = UserFactory.create_batch(3)
    moderator = UserFactory(is_staff=True)

    first = review_create(product=product, user=reviewers[0], rating=4)
    assert_summary_is_fresh()
    second = review_create(product=product, user=reviewers[1], rating=1)
    assert_summary_is_fresh()
    review_update(review=second, rating=5)
    assert_summary_is_fresh()
    review_hide(review=first, moderator=moderator, reason="spam")
    assert_summary_is_fresh()
    review_restore(review=first)
    assert_summary_is_fresh()
    review_delete(review=second)
    assert_summary_is_fresh()


def test_a_review_that_keeps_the_average_in_its_whole_star_writes_no_summary_row(
    catalogue: dict[str, Category],
) -> None:
    product = ProductFactory(category=catalogue["pans"])
    reviewers = UserFactory.create_batch(3)
    review_create(product=product, user=reviewers[0], rating=4)  # 4.00

    before = summary_writes()
    review_create(product=product, user=reviewers[1], rating=5)  # 4.50: still four stars
    assert summary_writes() == before
    review_create(product=product, user=reviewers[2], rating=1)  # 3.33: three stars
    assert summary_writes() > before
    assert_summary_is_fresh()


def test_an_edit_the_summary_does_not_count_writes_no_summary_row(
    catalogue: dict[str, Category],
) -> None:
    before = summary_writes()

    Product.objects.in_category(catalogue["home"]).update(name="Renamed", description="New")

    assert summary_writes() == before


def test_truncating_the_products_empties_the_summary(catalogue: dict[str, Category]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks, or no TRUNCATE
        cursor.execute("TRUNCATE products_product CASCADE")

    assert not CategoryFacetCount.objects.exists()


# --- categories ----------------------------------------------------------------------------------


def test_moving_a_category_moves_its_whole_subtree_in_the_summary(
    catalogue: dict[str, Category],
) -> None:
    kitchen = catalogue["kitchen"]

    category_update(category=kitchen, parent=catalogue["toys"])
    assert_summary_is_fresh()
    category_update(category=kitchen, parent=None)  # a root of its own
    assert_summary_is_fresh()
    category_update(category=catalogue["garden"], parent=kitchen)  # an inactive one
    assert_summary_is_fresh()
    category_update(category=kitchen, parent=catalogue["home"])
    assert_summary_is_fresh()


def test_deactivating_and_reactivating_categories_keeps_the_summary_fresh(
    catalogue: dict[str, Category],
) -> None:
    for category, is_active in [
        (catalogue["pans"], False),
        (catalogue["kitchen"], False),  # its own products only: the leaves stay visible
        (catalogue["knives"], True),
        (catalogue["pans"], True),
        (catalogue["kitchen"], True),
    ]:
        category_update(category=category, is_active=is_active)
        assert_summary_is_fresh()

    # Several at once, in one statement, with a move in the same transaction.
    Category.objects.filter(pk__in=[catalogue["home"].pk, catalogue["blocks"].pk]).update(
        is_active=False
    )
    category_update(category=catalogue["blocks"], parent=catalogue["kitchen"])
    assert_summary_is_fresh()


def test_a_category_without_products_leaves_no_rows_and_can_be_deleted(
    catalogue: dict[str, Category],
) -> None:
    pans = catalogue["pans"]
    for product in Product.objects.filter(category=pans):
        product_delete(product=product)

    assert not CategoryFacetCount.objects.filter(category=pans).exists()
    pans.delete()
    assert_summary_is_fresh()


def test_a_category_deleted_before_its_products_in_one_transaction_counts_them_out(
    catalogue: dict[str, Category],
) -> None:
    pans = catalogue["pans"]
    # Raw SQL in an order the ORM would refuse; the foreign keys are checked at commit.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM products_category WHERE id = %s", [pans.pk])
        assert_summary_is_fresh()
        cursor.execute("DELETE FROM products_product WHERE category_id = %s", [pans.pk])
        assert_summary_is_fresh()
        # As at commit: no summary row is left pointing at the deleted category.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- rebuilding, and price buckets changed in the settings ---------------------------------------


OTHER_BUCKETS = [20, 200]


def test_the_rebuild_counts_from_scratch(catalogue: dict[str, Category]) -> None:
    CategoryFacetCount.objects.filter(category=catalogue["home"]).update(products=1)
    CategoryFacetCount.objects.filter(category=catalogue["toys"]).delete()

    out = io.StringIO()
    call_command("rebuild_facet_counts", stdout=out)

    assert_summary_is_fresh()
    assert f"Counted {len(expected_summary())} facet summary rows" in out.getvalue()


def test_with_other_price_buckets_the_facets_are_counted_live_until_rebuilt(
    catalogue: dict[str, Category],
) -> None:
    home = catalogue["home"]
    assert summary_facets(CategorySummary(home)) is not None

    with override_settings(CATALOGUE_PRICE_BUCKETS=OTHER_BUCKETS):
        assert summary_facets(CategorySummary(home)) is None
        assert stored_summary() != expected_summary()

        call_command("rebuild_facet_counts", stdout=io.StringIO())

        assert stored_price_edges() == [Decimal(edge) for edge in OTHER_BUCKETS]
        assert_summary_is_fresh()
        facets = summary_facets(CategorySummary(home))
        assert facets is not None
        assert [bucket["min"] for bucket in facets["prices"]] == ["0.00", "20.00", "200.00"]

    # Back to the settings' buckets: the summary is the other one's now.
    assert summary_facets(CategorySummary(home)) is None


def test_migrate_rebuilds_the_summary_when_the_price_buckets_changed(
    catalogue: dict[str, Category],
) -> None:
    with override_settings(CATALOGUE_PRICE_BUCKETS=OTHER_BUCKETS):
        out = io.StringIO()
        call_command("migrate", stdout=out)

        assert "Recounted the facet summary" in out.getvalue()
        assert_summary_is_fresh()

        call_command("migrate", stdout=(again := io.StringIO()))
        assert "Recounted" not in again.getvalue()


def test_migrate_restores_missing_price_buckets(catalogue: dict[str, Category]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM products_facet_price_edges")
    assert summary_facets(CategorySummary(catalogue["home"])) is None

    call_command("migrate", stdout=io.StringIO())

    assert stored_price_edges() == [Decimal(edge) for edge in settings.CATALOGUE_PRICE_BUCKETS]
    assert summary_facets(CategorySummary(catalogue["home"])) is not None
    assert_summary_is_fresh()


def test_the_rebuild_refuses_price_buckets_out_of_order(catalogue: dict[str, Category]) -> None:
    with (
        override_settings(CATALOGUE_PRICE_BUCKETS=[50, 10]),
        pytest.raises(ImproperlyConfigured, match="increasing positive numbers"),
    ):
        call_command("rebuild_facet_counts", stdout=io.StringIO())

    assert_summary_is_fresh()  # as it was


def test_the_migration_backfills_and_reverses(catalogue: dict[str, Category]) -> None:
    # Pending foreign key checks would keep PostgreSQL from dropping the tables.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("migrate", "products", "0005", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%facet_counts%%'")
        assert cursor.fetchone() == (0,)
    assert stored_price_edges() is None
    Product.objects.filter(category=catalogue["pans"]).update(price=F("price") + 100)

    call_command("migrate", "products", stdout=io.StringIO())

    assert_summary_is_fresh()


# --- the count of a subtree ----------------------------------------------------------------------


def test_product_count_counts_what_shoppers_see(catalogue: dict[str, Category]) -> None:
    for category in Category.objects.all():
        expected = Product.objects.active().in_category(category).count()
        assert CategoryFacetCount.objects.product_count(category) == expected, category.name
    assert CategoryFacetCount.objects.product_count() == Product.objects.active().count()


# --- writers racing ------------------------------------------------------------------------------


class Writer(threading.Thread):
    """A write in its own thread, connection and transaction, which stays open after the write
    until ``release`` is set; ``error`` is what it raised, if anything."""

    def __init__(self, write: Callable[[], Any], *, hold: bool = False) -> None:
        super().__init__()
        self.write, self.error = write, None
        self.written, self.release = threading.Event(), threading.Event()
        if not hold:
            self.release.set()

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.write()
                self.written.set()
                self.release.wait(timeout=30)
        except Exception as error:
            self.error = error
        finally:
            self.written.set()
            connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["product", "category"])
def test_a_product_edit_and_a_category_deactivation_racing_keep_the_summary_fresh(
    first: str,
) -> None:
    category = CategoryFactory(parent=CategoryFactory())
    product = ProductFactory(category=category, price=Decimal("5"), stock=1)
    ProductFactory(category=category, price=Decimal("5"), stock=1)

    def edit_product() -> None:
        Product.objects.filter(pk=product.pk).update(price=Decimal("700"), stock=0)

    def deactivate_category() -> None:
        Category.objects.filter(pk=category.pk).update(is_active=False)

    writes = [edit_product, deactivate_category]
    if first == "category":
        writes.reverse()
    # The first writer writes and keeps its transaction open; the second one then writes and
    # waits (for the category's lock or the summary's rows) until the first one commits.
    holder, racer = Writer(writes[0], hold=True), Writer(writes[1])
    try:
        holder.start()
        assert holder.written.wait(timeout=30)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second writer should wait for the first one"
    finally:
        holder.release.set()
        holder.join(timeout=30)
        racer.join(timeout=30)

    assert (holder.error, racer.error) == (None, None)
    product.refresh_from_db()
    category.refresh_from_db()
    assert (product.price, category.is_active) == (Decimal("700"), False)
    assert_summary_is_fresh()


@pytest.mark.django_db(transaction=True)
def test_products_created_together_in_new_summary_rows_are_all_counted() -> None:
    category = CategoryFactory(parent=CategoryFactory(parent=CategoryFactory()))

    def create(number: int) -> Callable[[], Product]:
        return lambda: ProductFactory(
            category=category, price=Decimal(number % 3 * 40), stock=number % 2
        )

    outcomes = run_together(*(create(number) for number in range(8)))

    assert all(isinstance(outcome, Product) for outcome in outcomes), outcomes
    assert_summary_is_fresh()
