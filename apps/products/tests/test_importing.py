"""Product sheets: reading CSV and XLSX, per-row checks, the upsert by SKU, and the command."""

import io
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Sequence
from decimal import Decimal

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from apps.core.models import AuditEntry
from apps.core.tests.live import database_url
from apps.products.models import Category, Product
from apps.products.sheets import (
    HEADERS,
    ImportFileError,
    ImportReport,
    checking,
    detect_format,
    product_import,
)
from apps.products.sheets.report import REPORTED_ERRORS_LIMIT
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.products.tests.helpers import Row, csv_bytes
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def xlsx_bytes(rows: list[Row], header: Sequence[str] = HEADERS, *, write_only: bool) -> bytes:
    # openpyxl writes inline strings in write-only mode and shared strings otherwise, as Excel
    # does: both must read the same.
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Products") if write_only else workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(
    data: bytes,
    file_format: str = "csv",
    *,
    commit: bool = False,
    created_by: User | None = None,
    max_rows: int | None = None,
) -> ImportReport:
    return product_import(
        file=io.BytesIO(data),
        file_format=file_format,
        commit=commit,
        created_by=created_by,
        max_rows=max_rows,
    )


@pytest.fixture
def category() -> Category:
    return CategoryFactory(slug="lamps")


def test_dry_run_lists_each_bad_cell_and_writes_nothing(category: Category) -> None:
    ProductFactory(sku="TAKEN-SLUG", slug="taken")
    data = csv_bytes(
        [
            ["A-1", "Lamp", "", "", "19.99", "3", "true", "lamps"],  # fine
            ["A-2", "Lamp", "", "", "-5", "3", "true", "lamps"],
            ["A-3", "Lamp", "", "", "19.99", "3", "true", "no-such-category"],
            ["A-1", "Lamp again", "", "", "19.99", "3", "true", "lamps"],
            ["A-4", "", "", "", "19.99", "3", "true", "lamps"],
            ["A-5", "Lamp", "", "", "twelve", "ten", "maybe", "lamps"],
            ["A-6", "Lamp", "taken", "", "1.005", "3", "true", str(category.pk)],
            ["A-7", "Lamp", "Not a slug!", "", "1", "-1", "no", "lamps"],
        ]
    )
    before = Product.objects.count()

    report = run(data)

    found = {(error.row, error.column) for error in report.errors}
    assert found == {
        (3, "price"),
        (4, "category"),
        (5, "sku"),
        (6, "name"),
        (7, "price"),
        (7, "stock"),
        (7, "is_active"),
        (8, "slug"),
        (8, "price"),
        (9, "slug"),
        (9, "stock"),
    }
    messages = {(error.row, error.column): error.message for error in report.errors}
    assert messages[(3, "price")] == "Price cannot be negative."
    assert "no-such-category" in messages[(4, "category")]
    assert messages[(5, "sku")] == "SKU A-1 is also on row 2."
    assert messages[(6, "name")] == "The name is required."
    assert "not a number" in messages[(7, "price")]
    assert "TAKEN-SLUG" in messages[(8, "slug")]
    assert messages[(8, "price")] == "Use at most 2 decimal places."
    assert messages[(9, "stock")] == "Stock cannot be negative."
    assert (report.row_count, report.new, report.invalid) == (8, 1, 7)
    assert report.has_errors and not report.committed
    assert Product.objects.count() == before


def test_a_file_with_any_error_writes_nothing_on_commit(category: Category) -> None:
    data = csv_bytes(
        [
            ["A-1", "Lamp", "", "", "19.99", "3", "true", "lamps"],
            ["A-2", "Lamp", "", "", "-1", "3", "true", "lamps"],
        ]
    )

    report = run(data, commit=True)

    assert report.has_errors and not report.committed
    assert not Product.objects.filter(sku__in=["A-1", "A-2"]).exists()


def test_commit_creates_new_skus_and_updates_existing_ones(category: Category) -> None:
    other = CategoryFactory(slug="desks")
    existing = ProductFactory(sku="LAMP-1", name="Old lamp", slug="old-lamp", stock=1)
    importer = UserFactory(is_staff=True)
    data = csv_bytes(
        [
            ["LAMP-1", "Desk lamp", "", "Bright.", "25.50", "7", "false", "desks"],
            ["LAMP-2", "Floor lamp", "", "Tall.", "80", "2", "yes", str(category.pk)],
            ["LAMP-3", "Floor lamp", "floor-lamp-white", "", "81.00", "0", "1", "lamps"],
        ]
    )

    report = run(data, commit=True, created_by=importer)

    assert report.committed
    assert (report.new, report.changed, report.unchanged, report.invalid) == (2, 1, 0, 0)
    existing.refresh_from_db()
    assert (existing.name, existing.slug, existing.description) == (
        "Desk lamp",
        "old-lamp",
        "Bright.",
    )
    assert (existing.price, existing.stock, existing.is_active) == (Decimal("25.50"), 7, False)
    assert existing.category == other
    assert existing.created_by is None  # an update does not claim the product
    created = Product.objects.get(sku="LAMP-2")
    assert (created.name, created.slug, created.price) == (
        "Floor lamp",
        "floor-lamp",
        Decimal("80"),
    )
    assert (created.category, created.is_active, created.created_by) == (category, True, importer)
    assert (created.review_count, created.rating_sum) == (0, 0)
    assert Product.objects.get(sku="LAMP-3").slug == "floor-lamp-white"
    # The search trigger ran for the new rows: they are found like any other product.
    assert Product.objects.filter(search_vector="floor").count() == 2


def test_importing_the_same_file_twice_changes_nothing_the_second_time(category: Category) -> None:
    ProductFactory(sku="LAMP-1", name="Old lamp")
    data = csv_bytes(
        [
            ["LAMP-1", "Desk lamp", "", "Bright.", "25.50", "7", "true", "lamps"],
            ["LAMP-2", "Floor lamp", "", "", "80.00", "2", "true", "lamps"],
        ]
    )
    run(data, commit=True)
    stamps = dict(Product.objects.values_list("sku", "updated_at"))

    preview = run(data)
    second = run(data, commit=True)

    assert (preview.new, preview.changed, preview.unchanged) == (0, 0, 2)
    assert second.committed
    assert (second.new, second.changed, second.unchanged) == (0, 0, 2)
    assert dict(Product.objects.values_list("sku", "updated_at")) == stamps


@pytest.mark.parametrize("write_only", [True, False], ids=["inline-strings", "shared-strings"])
def test_xlsx_reads_as_the_csv_does(category: Category, write_only: bool) -> None:
    ProductFactory(sku="LAMP-1", price=Decimal("10.00"), stock=1)
    rows: list[Row] = [
        # Numbers and booleans as Excel stores them: floats, and TRUE/FALSE.
        ["LAMP-1", "Desk lamp", None, "Two\nlines", 19.99, 12.0, True, "lamps"],
        ["LAMP-2", "Floor lamp", "floor", None, 80, 0, False, category.pk],
        ["LAMP-3", "Bad lamp", None, None, -1, 1, True, "lamps"],
    ]

    report = run(xlsx_bytes(rows, write_only=write_only), "xlsx")

    assert [(error.row, error.column) for error in report.errors] == [(4, "price")]
    assert (report.new, report.changed, report.invalid) == (1, 1, 1)

    del rows[2]
    committed = run(xlsx_bytes(rows, write_only=write_only), "xlsx", commit=True)

    assert committed.committed
    lamp = Product.objects.get(sku="LAMP-1")
    assert (lamp.price, lamp.stock, lamp.is_active, lamp.description) == (
        Decimal("19.99"),
        12,
        True,
        "Two\nlines",
    )
    assert Product.objects.get(sku="LAMP-2").is_active is False


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def handmade_xlsx(sheet_data: str, shared_strings: list[str]) -> bytes:
    """Return a minimal workbook written the way Excel writes one, with prefixed names."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "xl/workbook.xml",
            f'<x:workbook xmlns:x="{MAIN}" xmlns:r="{RELATIONSHIPS}"><x:sheets>'
            '<x:sheet name="Products" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId7" Type="x/worksheet" Target="worksheets/data.xml"/>'
            '<Relationship Id="rId8" Type="x/sharedStrings" Target="/xl/strings.xml"/>'
            "</Relationships>",
        )
        archive.writestr("xl/strings.xml", f'<sst xmlns="{MAIN}">{"".join(shared_strings)}</sst>')
        archive.writestr(
            "xl/worksheets/data.xml",
            f'<x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1:B2"/>'
            f"<x:sheetData>{sheet_data}</x:sheetData></x:worksheet>",
        )
    return buffer.getvalue()


def test_xlsx_as_excel_writes_it(category: Category) -> None:
    header = "".join(f'<x:c t="inlineStr"><x:is><x:t>{name}</x:t></x:is></x:c>' for name in HEADERS)
    data = handmade_xlsx(
        # Row 2: cell references with a gap (no slug, no description), a shared string with a
        # phonetic hint, numbers as Excel stores them. Row 4 (after an empty row 3): rich text.
        f'<x:row r="1">{header}</x:row>'
        '<x:row r="2"><x:c r="A2" t="s"><x:v>0</x:v></x:c><x:c r="B2" t="s"><x:v>1</x:v></x:c>'
        '<x:c r="E2"><x:v>19.989999999999998</x:v></x:c><x:c r="F2"><x:v>12.0</x:v></x:c>'
        '<x:c r="G2" t="b"><x:v>1</x:v></x:c><x:c r="H2" t="str"><x:f>A1</x:f><x:v>lamps</x:v>'
        "</x:c></x:row>"
        '<x:row r="4"><x:c r="A4" t="inlineStr"><x:is><x:t>LAMP-2</x:t></x:is></x:c>'
        '<x:c r="B4" t="inlineStr"><x:is><x:r><x:rPr><x:b/></x:rPr><x:t>Floor</x:t></x:r>'
        '<x:r><x:t xml:space="preserve"> lamp</x:t></x:r></x:is></x:c>'
        '<x:c r="E4"><x:v>5</x:v></x:c><x:c r="F4"><x:v>0</x:v></x:c>'
        '<x:c r="G4" t="b"><x:v>0</x:v></x:c><x:c r="H4" t="s"><x:v>2</x:v></x:c></x:row>',
        [
            "<si><t>LAMP-1</t></si>",
            "<si><r><t>Desk</t></r><r><t xml:space='preserve'> lamp</t></r>"
            "<rPh sb='0' eb='1'><t>DESUKU</t></rPh></si>",
            "<si><t>lamps</t></si>",
        ],
    )

    report = run(data, "xlsx", commit=True)

    assert report.committed, report.errors
    lamp = Product.objects.get(sku="LAMP-1")
    assert (lamp.name, lamp.price, lamp.stock, lamp.is_active) == (
        "Desk lamp",
        Decimal("19.99"),
        12,
        True,
    )
    floor = Product.objects.get(sku="LAMP-2")
    assert (floor.name, floor.price, floor.is_active, floor.category) == (
        "Floor lamp",
        Decimal("5"),
        False,
        category,
    )


def test_columns_left_out_keep_existing_values_and_default_new_ones(category: Category) -> None:
    ProductFactory(sku="LAMP-1", stock=9, is_active=False, description="Kept.")
    data = csv_bytes(
        [["LAMP-1", "Desk lamp", "5.00", "lamps"], ["LAMP-2", "Floor lamp", "6.00", "lamps"]],
        header=["SKU", "Name", "Price", "Category"],  # any case
    )

    report = run(data, commit=True)

    assert (report.new, report.changed) == (1, 1)
    kept = Product.objects.get(sku="LAMP-1")
    assert (kept.stock, kept.is_active, kept.description, kept.name) == (
        9,
        False,
        "Kept.",
        "Desk lamp",
    )
    new = Product.objects.get(sku="LAMP-2")
    assert (new.stock, new.is_active, new.description) == (0, True, "")


def test_derived_slugs_are_unique_against_the_catalogue_and_the_file(category: Category) -> None:
    ProductFactory(sku="OLD", slug="lamp")
    data = csv_bytes(
        [
            ["NEW-1", "Lamp", "", "", "1", "1", "true", "lamps"],
            ["NEW-2", "Lamp", "", "", "1", "1", "true", "lamps"],
            ["NEW-3", "Lamp", "lamp-new-1", "", "1", "1", "true", "lamps"],
        ]
    )

    report = run(data, commit=True)

    assert report.committed, report.errors
    slugs = dict(Product.objects.filter(sku__startswith="NEW").values_list("sku", "slug"))
    assert slugs["NEW-3"] == "lamp-new-1"
    assert len(set(slugs.values())) == 3
    assert "lamp" not in slugs.values()


def test_a_slug_asked_for_twice_in_the_file_is_an_error(category: Category) -> None:
    data = csv_bytes(
        [
            ["NEW-1", "Lamp", "lamp", "", "1", "1", "true", "lamps"],
            ["NEW-2", "Lamp", "lamp", "", "1", "1", "true", "lamps"],
        ]
    )

    report = run(data)

    assert [(error.row, error.column) for error in report.errors] == [(3, "slug")]


def test_a_category_slug_made_of_digits_wins_over_an_id() -> None:
    by_id = CategoryFactory()
    by_slug = CategoryFactory(slug=str(by_id.pk))
    data = csv_bytes([["NEW-1", "Lamp", "", "", "1", "1", "true", str(by_id.pk)]])

    run(data, commit=True)

    assert Product.objects.get(sku="NEW-1").category == by_slug


def test_semicolon_separated_csv_with_a_byte_order_mark_reads(category: Category) -> None:
    data = "\ufeffsku;name;price;category\r\nNEW-1;Lamp;2.50;lamps\r\n".encode()

    report = run(data, commit=True)

    assert report.committed
    assert Product.objects.get(sku="NEW-1").price == Decimal("2.50")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no header row"),
        (b"sku,name,price,category\r\n", "no products"),
        (b"sku,name,price\r\nA,B,1\r\n", "Missing columns: category"),
        (b"sku,name,price,category,colour\r\n", "Unknown columns: colour"),
        (b"sku,name,price,category,sku\r\n", "more than once: sku"),
        (b"sku,name,price,\xff\xfe\r\n", "not UTF-8"),
        (b'sku,name,price,category\r\nA,"' + b"x" * 200_000 + b'",1,c\r\n', "longer than"),
    ],
    ids=["empty", "header-only", "missing-column", "unknown-column", "twice", "latin", "huge"],
)
def test_unreadable_csv_files_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        run(data)


def test_a_long_cell_within_the_csv_limit_is_a_row_error(category: Category) -> None:
    data = csv_bytes([["A-1", "x" * 5000, "", "", "1", "1", "true", "lamps"]])

    report = run(data)

    assert [(error.row, error.column) for error in report.errors] == [(2, "name")]
    assert "at most 200 characters" in report.errors[0].message


@pytest.mark.parametrize(
    ("filename", "head", "message"),
    [
        ("products.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", r"\.xls"),
        ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00", "neither a CSV"),
        ("products.xlsx", b"sku,name\r\n", "neither a CSV"),
        ("products.csv", b"", "empty"),
    ],
)
def test_detect_format_refuses_what_is_not_a_sheet(
    filename: str, head: bytes, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        detect_format(filename, head)


def test_detect_format_goes_by_content() -> None:
    assert detect_format("products.csv", b"PK\x03\x04...") == "xlsx"
    assert detect_format("export", b"sku,name") == "csv"


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")

    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        run(buffer.getvalue(), "xlsx")
    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        run(b"PK\x03\x04 truncated", "xlsx")


def test_a_workbook_declaring_a_dtd_is_refused() -> None:
    workbook = xlsx_bytes([["A", "B", None, None, 1, 1, True, "c"]], write_only=False)
    source = zipfile.ZipFile(io.BytesIO(workbook))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                content = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + content
            archive.writestr(item, content)

    with pytest.raises(ImportFileError, match="DTD"):
        run(buffer.getvalue(), "xlsx")


def test_a_file_over_the_row_limit_is_refused(category: Category) -> None:
    data = csv_bytes([[f"A-{n}", "Lamp", "", "", "1", "1", "true", "lamps"] for n in range(11)])

    with pytest.raises(ImportFileError, match="more than 10 rows"):
        run(data, max_rows=10)


def test_dry_run_queries_do_not_grow_with_the_rows(category: Category) -> None:
    def sheet(size: int) -> bytes:
        existing = ProductFactory.create_batch(size // 2, category=category)
        rows: list[Row] = [
            [product.sku, f"Renamed {product.name}", "", "", "5.00", "1", "true", "lamps"]
            for product in existing
        ]
        rows += [
            [f"NEW-{size}-{n}", "Lamp", "", "", "5.00", "1", "true", str(category.pk)]
            for n in range(size - len(rows))
        ]
        return csv_bytes(rows)

    small, large = sheet(50), sheet(500)
    with CaptureQueriesContext(connection) as small_queries:
        small_report = run(small)
    with CaptureQueriesContext(connection) as large_queries:
        large_report = run(large)

    assert (small_report.new, small_report.changed) == (25, 25)
    assert (large_report.new, large_report.changed) == (250, 250)
    # A fixed number: the statements over the staged rows, and one category query per chunk of
    # CHUNK_ROWS rows (one chunk here).
    assert len(large_queries) == len(small_queries) <= 21


def test_checks_across_rows_find_rows_read_in_different_chunks(
    category: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows are parsed and staged two at a time: each pair below is a chunk of its own.
    monkeypatch.setattr(checking, "CHUNK_ROWS", 2)
    ProductFactory(sku="OLD", slug="lamp")
    data = csv_bytes(
        [
            ["A-1", "Lamp", "", "", "1", "1", "true", "lamps"],
            ["A-2", "Lamp", "shade", "", "1", "1", "true", "lamps"],
            ["A-3", "Lamp", "", "", "1", "1", "true", "no-such-category"],
            ["A-1", "Lamp", "", "", "1", "1", "true", "lamps"],
            ["A-4", "Lamp", "shade", "", "1", "1", "true", "lamps"],
            ["A-5", "Lamp", "", "", "1", "1", "true", "lamps"],
        ]
    )

    report = run(data)

    assert [(error.row, error.column, error.message) for error in report.errors] == [
        (4, "category", "No category has the slug or id “no-such-category”."),
        (5, "sku", "SKU A-1 is also on row 2."),
        (6, "slug", "Slug shade is also on row 3."),
    ]
    assert (report.row_count, report.new, report.invalid) == (6, 3, 3)


def test_a_sheet_read_in_many_chunks_is_written_as_one(
    category: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checking, "CHUNK_ROWS", 100)
    existing = ProductFactory.create_batch(500, category=category, price=Decimal("5.00"))
    rows: list[Row] = [
        [product.sku, product.name, "", product.description, "6.00", "1", "true", "lamps"]
        for product in existing
    ]
    # The same name for every new row: each derives a slug of its own, across the chunks.
    rows += [[f"NEW-{n}", "Lamp", "", "", "1.00", "1", "true", "lamps"] for n in range(500)]
    data = csv_bytes(rows)

    report = run(data, commit=True)

    assert report.committed, report.errors[:5]
    assert (report.row_count, report.new, report.changed, report.unchanged) == (1000, 500, 500, 0)
    # The sample is the first new and the first changed rows, in the sheet's order.
    assert [sample.row for sample in report.samples] == list(range(2, 22)) + list(range(502, 522))
    assert report.samples[0].changes["price"] == ("5.00", "6.00")
    assert set(Product.objects.values_list("price", flat=True)) == {Decimal("6.00"), Decimal(1)}
    slugs = Product.objects.filter(sku__startswith="NEW-").values_list("slug", flat=True)
    assert len(set(slugs)) == 500
    assert "lamp" in slugs and "lamp-new-499" in slugs

    again = run(data, commit=True)

    assert (again.new, again.changed, again.unchanged, again.audit_batch) == (0, 0, 1000, None)


def test_every_error_is_counted_and_the_first_are_listed_in_the_sheets_order(
    category: Category,
) -> None:
    # Each pair of rows: the second repeats the first's SKU (a check over the staged rows) and
    # has a bad price (found as it is read).
    rows: list[Row] = []
    for n in range(300):
        rows.append([f"A-{n}", "Lamp", "", "", "1", "1", "true", "lamps"])
        rows.append([f"A-{n}", "Lamp", "", "", "-1", "1", "true", "lamps"])

    report = run(csv_bytes(rows))

    assert (report.error_count, report.invalid) == (600, 300)
    assert len(report.errors) == REPORTED_ERRORS_LIMIT
    listed = [(error.row, error.column) for error in report.errors]
    assert listed == sorted(listed, key=lambda found: (found[0], ["sku", "price"].index(found[1])))


def test_the_check_holds_a_chunk_of_rows_not_the_whole_file(
    category: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checking, "CHUNK_ROWS", 500)
    description = "A lamp of oak and linen, warm and bright, for a desk or a small table."

    def peak_bytes(rows: int) -> int:
        data = csv_bytes(
            [
                [f"M{rows}-{n}", "Lamp", "", description, "1.00", "1", "true", "lamps"]
                for n in range(rows)
            ]
        )
        tracemalloc.start()
        try:
            report = run(data)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert (report.new, report.error_count) == (rows, 0)

    small, large = peak_bytes(2_000), peak_bytes(8_000)

    # Four times the rows: about the same peak (it was four times larger when the check kept
    # every row).
    assert large < small * 1.5, (small, large)


def test_the_command_checks_then_imports(category: Category, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    sheet = tmp_path / "products.csv"
    sheet.write_bytes(csv_bytes([["NEW-1", "Lamp", "", "", "1.00", "1", "true", "lamps"]]))

    call_command("import_products", str(sheet), "--dry-run")
    assert "Would import 1 rows: 1 new" in capsys.readouterr().out
    assert not Product.objects.filter(sku="NEW-1").exists()

    call_command("import_products", str(sheet))
    assert "Imported 1 rows: 1 new" in capsys.readouterr().out
    assert Product.objects.filter(sku="NEW-1").exists()


def test_the_command_fails_on_row_errors_and_writes_nothing(
    category: Category, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    sheet = tmp_path / "products.csv"
    sheet.write_bytes(
        csv_bytes(
            [
                ["NEW-1", "Lamp", "", "", "1.00", "1", "true", "lamps"],
                ["NEW-2", "Lamp", "", "", "-1", "1", "true", "lamps"],
            ]
        )
    )

    with pytest.raises(CommandError, match="1 errors in 1 rows"):
        call_command("import_products", str(sheet))

    assert "Row 3: price: Price cannot be negative." in capsys.readouterr().err
    assert not Product.objects.filter(sku="NEW-1").exists()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_products", str(tmp_path / "missing.csv"))


@pytest.mark.django_db(transaction=True)
def test_a_commit_compares_each_product_as_it_is_once_locked() -> None:
    # Another transaction sets the price the sheet asks for while the import starts: the
    # import waits for it, and then finds nothing to change, in its counts and its sample alike.
    product = ProductFactory(
        sku="LAMP-1", price=Decimal("10.00"), stock=1, is_active=True, category=CategoryFactory()
    )
    data = csv_bytes(
        [
            [
                product.sku,
                product.name,
                "",
                product.description,
                "12.00",
                "1",
                "true",
                product.category.slug,
            ]
        ]
    )
    outcome: list[object] = []

    def commit() -> None:
        try:
            outcome.append(run(data, commit=True))
        finally:
            connection.close()

    with psycopg.connect(database_url(connection.settings_dict)) as other:
        other.execute("UPDATE products_product SET price = 12.00 WHERE id = %s", [product.pk])
        importer = threading.Thread(target=commit)
        importer.start()
        # Asked in the other session's transaction, which keeps a snapshot of the activity
        # unless told to drop it.
        waiting = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        deadline = time.monotonic() + 20
        while not other.execute("SELECT pg_stat_clear_snapshot()").execute(waiting).fetchone()[0]:
            assert time.monotonic() < deadline, "the import never waited for the product"
            time.sleep(0.01)
        other.commit()
        importer.join(timeout=30)

    (report,) = outcome
    assert isinstance(report, ImportReport) and report.committed, report
    assert (report.new, report.changed, report.unchanged) == (0, 0, 1)
    assert report.samples == []
    assert not AuditEntry.objects.exists()
