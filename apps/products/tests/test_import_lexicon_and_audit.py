"""What an import confirm writes besides the products: the search lexicon, filled in one
statement for all the rows, and an audit entry per product created or changed."""

import io
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.core.models import AuditEntry
from apps.products.models import Category, Product, SearchTerm
from apps.products.search import DEFER_LEXICON_SETTING, search_products
from apps.products.sheets import AUDIT_ACTION, ImportReport, product_import
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.products.tests.helpers import csv_bytes
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Words the lexicon keeps (letters only, 3 to 100) and words it leaves out (too short, digits,
# hyphenated compounds are split by the parser, and an accented word stays whole).
NAME = "Zephyrine Lamp 4K"
DESCRIPTION = "An über-bright lamp, x2 model 2024: réglable and dimmable."


@pytest.fixture
def category() -> Category:
    return CategoryFactory(slug="lamps")


def commit(rows: list[list[str]], user: User | None = None) -> ImportReport:
    report = product_import(
        file=io.BytesIO(csv_bytes(rows)), file_format="csv", commit=True, created_by=user
    )
    assert report.committed, report.errors
    return report


def lexicon() -> set[str]:
    return set(SearchTerm.objects.values_list("word", flat=True))


def test_an_import_fills_the_lexicon_with_the_words_a_single_save_adds(
    category: Category,
) -> None:
    commit([["Z-1", NAME, "", DESCRIPTION, "10.00", "1", "true", "lamps"]])
    imported = lexicon()
    SearchTerm.objects.all().delete()

    ProductFactory(name=NAME, description=DESCRIPTION)  # through the search trigger

    assert imported == lexicon()
    assert {"zephyrine", "lamp", "über", "bright", "réglable", "dimmable"} <= imported
    assert not {"4k", "x2", "2024", "an"} & imported


def test_a_misspelled_search_finds_an_imported_product(category: Category) -> None:
    commit([["Z-1", NAME, "", DESCRIPTION, "10.00", "1", "true", "lamps"]])

    found = search_products(Product.objects.all(), "zefyrine")

    assert found.mode == "corrected"
    assert found.corrected_terms["zefyrine"][0] == "zephyrine"
    assert list(Product.objects.filter(found.condition).values_list("sku", flat=True)) == ["Z-1"]
    # Full-text search, written per row by the trigger, finds it as typed too.
    assert search_products(Product.objects.all(), "zephyrine").mode == "fulltext"


def test_an_import_adds_the_words_of_renamed_products_only(category: Category) -> None:
    renamed = ProductFactory(sku="R-1", name="Plain lamp", description="Plain.")
    repriced = ProductFactory(sku="P-1", name="Other lamp", description="Other.")
    SearchTerm.objects.all().delete()

    commit(
        [
            ["R-1", "Quixotic lamp", "", "Plain.", "10.00", "1", "true", "lamps"],
            ["P-1", "Other lamp", "", "Other.", "99.00", "1", "true", "lamps"],
        ]
    )

    assert lexicon() == {"quixotic", "lamp", "plain"}
    renamed.refresh_from_db()
    repriced.refresh_from_db()
    assert repriced.price == Decimal("99.00")


def test_after_an_import_a_single_save_still_fills_the_lexicon(category: Category) -> None:
    # The deferral is for the import's own writes: the same transaction's later saves (here
    # the test's) go through the trigger as usual.
    commit([["Z-1", NAME, "", DESCRIPTION, "10.00", "1", "true", "lamps"]])

    ProductFactory(name="Saxophone stand", description="Folding.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [DEFER_LEXICON_SETTING])
        (setting,) = cursor.fetchone()

    assert {"saxophone", "stand", "folding"} <= lexicon()
    assert setting == "off"


def test_a_single_save_fills_the_lexicon() -> None:
    product = ProductFactory(name="Ocarina", description="Ceramic.")

    assert {"ocarina", "ceramic"} <= lexicon()
    product.name = "Theremin"
    product.save()
    assert "theremin" in lexicon()


def test_an_import_audits_each_product_it_creates_or_changes(category: Category) -> None:
    other = CategoryFactory(slug="desks", name="Desks")
    changed = ProductFactory(
        sku="C-1", name="Desk lamp", price=Decimal("19.99"), stock=4, category=category
    )
    unchanged = ProductFactory(
        sku="U-1", name="Same", description="Same.", price=Decimal("5.00"), stock=1
    )
    importer = UserFactory(is_staff=True)

    report = commit(
        [
            ["N-1", "Floor lamp", "", "Tall.", "80.00", "2", "true", "lamps"],
            ["C-1", "Desk lamp", "", changed.description, "17.50", "4", "true", "desks"],
            ["U-1", "Same", unchanged.slug, "Same.", "5.00", "1", "true", unchanged.category.slug],
        ],
        user=importer,
    )

    entries = {entry.object_id: entry for entry in AuditEntry.objects.all()}
    created = Product.objects.get(sku="N-1")
    assert set(entries) == {str(created.pk), str(changed.pk)}
    assert report.audit_batch is not None
    for entry in entries.values():
        assert (entry.action, entry.batch) == (AUDIT_ACTION, report.audit_batch)
        assert (entry.user, entry.username) == (importer, importer.email)
        assert entry.content_type == ContentType.objects.get_for_model(Product)
    new_entry = entries[str(created.pk)]
    assert new_entry.object_repr == str(created)
    assert new_entry.before == {}
    assert new_entry.after == {
        "name": "Floor lamp",
        "slug": created.slug,
        "description": "Tall.",
        "price": "80.00",
        "stock": 2,
        "is_active": True,
        "category": {"id": category.pk, "name": category.name},
    }
    changed_entry = entries[str(changed.pk)]
    assert changed_entry.object_repr == "Desk lamp (C-1)"
    assert changed_entry.before == {
        "price": "19.99",
        "category": {"id": category.pk, "name": category.name},
    }
    assert changed_entry.after == {"price": "17.50", "category": {"id": other.pk, "name": "Desks"}}


def test_an_import_that_changes_nothing_audits_nothing(category: Category) -> None:
    rows = [["N-1", "Floor lamp", "", "Tall.", "80.00", "2", "true", "lamps"]]
    commit(rows)
    AuditEntry.objects.all().delete()

    report = commit(rows)

    assert (report.new, report.changed, report.audit_batch) == (0, 0, None)
    assert not AuditEntry.objects.exists()


def test_an_import_without_a_user_is_audited_as_nobody(category: Category) -> None:
    commit([["N-1", "Floor lamp", "", "", "80.00", "2", "true", "lamps"]])

    entry = AuditEntry.objects.get()
    assert (entry.user, entry.username) == (None, "")


def test_a_commit_runs_the_same_queries_for_2_or_200_rows(category: Category) -> None:
    def queries(count: int, prefix: str) -> int:
        rows = [
            [f"{prefix}-{n}", f"Lamp {prefix} {n}", "", "Bright.", "10.00", "1", "true", "lamps"]
            for n in range(count)
        ]
        ContentType.objects.clear_cache()
        with CaptureQueriesContext(connection) as captured:
            commit(rows)
        return len(captured.captured_queries)

    assert queries(2, "A") == queries(200, "B")
    assert AuditEntry.objects.count() == 202


def test_the_trigger_leaves_the_lexicon_to_a_writer_that_defers_it() -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [DEFER_LEXICON_SETTING])
        product = ProductFactory(name="Bassoon", description="Wooden.")

        assert not {"bassoon", "wooden"} & lexicon()
        # The search document is still written, row by row.
        assert Product.objects.filter(pk=product.pk, search_vector="bassoon").exists()


def test_a_variant_sheet_fills_the_lexicon_as_a_single_save_does(category: Category) -> None:
    header = ["product", "sku", "name", "description", "category", "price"]
    rows = [["zephyrine", "Z-1", NAME, DESCRIPTION, "lamps", "10.00"]]
    report = product_import(
        file=io.BytesIO(csv_bytes(rows, header=header)), file_format="csv", commit=True
    )
    assert report.committed and report.new == 1, report.errors
    imported = lexicon()
    SearchTerm.objects.all().delete()

    ProductFactory(name=NAME, description=DESCRIPTION)  # through the search trigger

    assert imported == lexicon()
    SearchTerm.objects.all().delete()
    product_import(
        file=io.BytesIO(csv_bytes(rows, header=header)), file_format="csv", commit=True
    )  # unchanged: no words added
    assert lexicon() == set()
