"""The variant sheet (issue 13, slice 4): one row per variant, typed attribute and option
columns, checked per cell, written set-based and audited; the export it reads back unchanged."""

import csv
import io
import threading
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.attributes.models import Attribute, AttributeKind, ProductType
from apps.core.models import AuditEntry
from apps.products.models import Category, Product, ProductAttributeValue, Variant
from apps.products.sheets import (
    ImportFileError,
    ImportReport,
    export_csv,
    export_xlsx,
    product_import,
)
from apps.products.tests.factories import (
    CategoryFactory,
    ProductFactory,
    choice_attribute,
    option_id,
    product_type_of,
)
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "product",
    "sku",
    "name",
    "description",
    "category",
    "is_active",
    "product_type",
    "price",
    "stock",
    "active",
    "position",
    "option:size",
    "option:colour",
    "attribute:material",
    "attribute:weight",
    "attribute:organic",
    "attribute:released",
    "attribute:fit",
    "attribute:care",
]


@pytest.fixture
def category() -> Category:
    return CategoryFactory(slug="tops")


@pytest.fixture
def tshirt() -> ProductType:
    size = choice_attribute("size", ["s", "m", "l"])
    colour = choice_attribute("colour", ["red", "blue"], kind=AttributeKind.SWATCH)
    material = Attribute.objects.create(name="Material", slug="material", kind="text")
    weight = Attribute.objects.create(name="Weight", slug="weight", kind="number", unit="g")
    organic = Attribute.objects.create(name="Organic", slug="organic", kind="boolean")
    released = Attribute.objects.create(name="Released", slug="released", kind="date")
    fit = choice_attribute("fit", ["slim", "loose"])
    care = choice_attribute("care", ["wash-30", "no-dryer", "iron"], kind="multiple_choice")
    return product_type_of(
        "tshirt",
        axes=(size, colour),
        attributes=(material, weight, organic, released, fit, care),
    )


def sheet(rows: Sequence[Sequence[object]], header: Sequence[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def run(
    data: bytes, *, commit: bool = False, file_format: str = "csv", **kwargs: Any
) -> ImportReport:
    return product_import(file=io.BytesIO(data), file_format=file_format, commit=commit, **kwargs)


def tshirt_rows() -> list[list[object]]:
    first = ["tee", "TEE-S-RED", "Tee", "Soft", "tops", "true", "tshirt", "10.00", "5", "true", ""]
    return [
        [*first, "s", "red", "cotton", "180.5", "true", "2024-03-01", "slim", "wash-30|iron"],
        ["tee", "TEE-M-RED", "", "", "", "", "", "12.00", "0", "true", "", "m", "red"] + [""] * 6,
        [
            "tee",
            "TEE-M-BLUE",
            "Tee",
            "Soft",
            "tops",
            "true",
            "tshirt",
            "12.50",
            "3",
            "false",
            "",
            "m",
            "blue",
            "cotton",
            "180.5",
            "true",
            "2024-03-01",
            "slim",
            "wash-30|iron",
        ],
    ]


def errors(report: ImportReport) -> list[tuple[int, str]]:
    return [(error.row, error.column) for error in report.errors]


def test_a_typed_product_with_its_variants_and_values_is_created(
    category: Category, tshirt: ProductType
) -> None:
    preview = run(sheet(tshirt_rows()))
    assert preview.errors == []
    assert (preview.row_count, preview.new, preview.changed, preview.unchanged) == (3, 3, 0, 0)
    assert not Product.objects.filter(slug="tee").exists()  # a dry run writes nothing

    report = run(sheet(tshirt_rows()), commit=True, created_by=UserFactory(is_staff=True))

    assert report.committed and report.new == 3
    product = Product.objects.get(slug="tee")
    assert (product.name, product.description, product.category_id) == ("Tee", "Soft", category.pk)
    assert product.product_type_id == tshirt.pk
    variants = list(product.variants.order_by("position"))
    assert [(v.sku, v.price, v.stock, v.is_active, v.position) for v in variants] == [
        ("TEE-S-RED", Decimal("10.00"), 5, True, 0),
        ("TEE-M-RED", Decimal("12.00"), 0, True, 1),
        ("TEE-M-BLUE", Decimal("12.50"), 3, False, 2),
    ]
    size = Attribute.objects.get(slug="size")
    colour = Attribute.objects.get(slug="colour")
    assert variants[2].option_ids == sorted([option_id(size, "m"), option_id(colour, "blue")])
    # The summary, kept by the database from the variants.
    assert (product.sku, product.price, product.price_max, product.stock) == (
        "TEE-S-RED",
        Decimal("10.00"),
        Decimal("12.00"),
        5,
    )
    assert product.variant_count == 3
    values = {
        (value.attribute.slug, value.option.slug if value.option else None): value
        for value in ProductAttributeValue.objects.filter(product=product).select_related(
            "attribute", "option"
        )
    }
    assert values[("material", None)].value_text == "cotton"
    assert values[("weight", None)].value_number == Decimal("180.5")
    assert values[("organic", None)].value_boolean is True
    assert values[("released", None)].value_date == date(2024, 3, 1)
    assert {slug for (attribute, slug) in values if attribute in ("fit", "care")} == {
        "slim",
        "wash-30",
        "iron",
    }


def test_the_same_sheet_twice_changes_nothing_and_audits_nothing(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    entries = AuditEntry.objects.count()
    updated = Product.objects.get(slug="tee").updated_at

    again = run(sheet(tshirt_rows()), commit=True)

    assert (again.new, again.changed, again.unchanged) == (0, 0, 3)
    assert again.audit_batch is None
    assert AuditEntry.objects.count() == entries
    assert Product.objects.get(slug="tee").updated_at == updated


def test_an_import_audits_each_product_and_variant_it_writes(
    category: Category, tshirt: ProductType
) -> None:
    staff = UserFactory(is_staff=True)
    created = run(sheet(tshirt_rows()), commit=True, created_by=staff)
    product = Product.objects.get(slug="tee")
    entries = AuditEntry.objects.filter(batch=created.audit_batch)
    assert entries.count() == 4  # the product and its three variants
    assert {entry.action for entry in entries} == {"products.import"}
    assert {entry.user_id for entry in entries} == {staff.pk}
    product_entry = entries.get(object_id=str(product.pk), content_type__model="product")
    assert product_entry.before == {}
    assert product_entry.after["attribute:care"] == "wash-30|iron"
    assert product_entry.after["product_type"] == "tshirt"

    rows = tshirt_rows()
    rows[1][7] = "13.00"  # TEE-M-RED's price
    rows[0][15] = "false"  # organic, on the product's first row
    rows[2][15] = ""  # blank on a next row: as the first row says
    changed = run(sheet(rows), commit=True, created_by=staff)

    assert changed.errors == []
    assert (changed.changed, changed.unchanged) == (2, 1)
    entries = AuditEntry.objects.filter(batch=changed.audit_batch)
    assert {(entry.content_type.model, entry.object_repr) for entry in entries} == {
        ("product", "Tee (tee)"),
        ("variant", "TEE-M-RED (tee)"),
    }
    variant_entry = entries.get(content_type__model="variant")
    assert (variant_entry.before, variant_entry.after) == ({"price": "12.00"}, {"price": "13.00"})
    assert entries.get(content_type__model="product").after == {"attribute:organic": "false"}


def test_an_export_imports_back_unchanged(category: Category, tshirt: ProductType) -> None:
    run(sheet(tshirt_rows()), commit=True)
    ProductFactory(sku="PLAIN-1", slug="plain", category=category, price=Decimal("3.50"))
    entries = AuditEntry.objects.count()

    exported = b"".join(export_csv(Product.objects.order_by("id")))
    lines = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    assert lines[0] == HEADER
    assert len(lines) == 5  # three variants, and the plain product's one
    assert lines[-1][:2] == ["plain", "PLAIN-1"]

    report = run(exported, commit=True)
    assert report.errors == []
    assert (report.new, report.changed, report.unchanged) == (0, 0, 4)
    assert AuditEntry.objects.count() == entries

    workbook = io.BytesIO()
    export_xlsx(Product.objects.order_by("id"), workbook)
    report = run(workbook.getvalue(), commit=True, file_format="xlsx")
    assert report.errors == []
    assert (report.new, report.changed, report.unchanged) == (0, 0, 4)


def test_variants_the_sheet_leaves_out_are_left_alone_and_new_rows_add_variants(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    rows = tshirt_rows()
    added = ["tee", "TEE-L-RED", "", "", "", "", "", "14.00", "1", "true", "", "l", "red"]
    report = run(sheet([rows[0], added + [""] * 6]), commit=True)

    assert (report.new, report.unchanged) == (1, 1)
    skus = list(Product.objects.get(slug="tee").variants.values_list("sku", "position"))
    assert skus == [("TEE-S-RED", 0), ("TEE-M-RED", 1), ("TEE-M-BLUE", 2), ("TEE-L-RED", 3)]


@pytest.mark.parametrize(
    ("row", "cell", "column", "message"),
    [
        (0, (11, "xl"), "option:size", "no option 'xl'"),
        (0, (14, "heavy"), "attribute:weight", "number"),
        (0, (15, "maybe"), "attribute:organic", "true or false"),
        (0, (16, "01/03/2024"), "attribute:released", "YYYY-MM-DD"),
        (0, (18, "wash-30|dry-clean"), "attribute:care", "no option 'dry-clean'"),
        (1, (11, ""), "option:size", "axis size"),
        (1, (2, "Another name"), "name", "first row"),
        (1, (11, "s"), "option:size", "combination"),
        (1, (1, "TEE-S-RED"), "sku", "also on row 2"),
        (0, (6, "no-such-type"), "product_type", "No product type"),
    ],
)
@pytest.mark.usefixtures("category", "tshirt")
def test_each_bad_cell_is_named_by_row_and_column(
    row: int, cell: tuple[int, str], column: str, message: str
) -> None:
    rows = tshirt_rows()
    at, text = cell
    rows[row][at] = text

    report = run(sheet(rows), commit=True)

    assert not report.committed
    assert (row + 2, column) in errors(report), report.errors
    assert any(message in error.message for error in report.errors), report.errors
    assert not Product.objects.filter(slug="tee").exists()


def test_unknown_attribute_and_option_columns_are_named_on_the_header_row(
    category: Category, tshirt: ProductType
) -> None:
    rows = [[*row, "x", "y"] for row in tshirt_rows()]
    report = run(sheet(rows, [*HEADER, "attribute:nope", "option:nope"]))
    assert (1, "attribute:nope") in errors(report)
    assert (1, "option:nope") in errors(report)


def test_a_sku_of_another_products_variant_is_refused(
    category: Category, tshirt: ProductType
) -> None:
    ProductFactory(sku="TEE-M-RED", slug="other", category=category)
    report = run(sheet(tshirt_rows()))
    assert errors(report) == [(3, "sku")]
    assert "variant of the product other" in report.errors[0].message


def test_an_untyped_product_has_one_variant(category: Category) -> None:
    header = ["product", "sku", "name", "category", "price"]
    report = run(
        sheet([["mug", "MUG-1", "Mug", "tops", "4"], ["mug", "MUG-2", "", "", "5"]], header)
    )
    assert errors(report) == [(3, "product_type")]


def test_a_legacy_sheet_still_imports_one_variant_products(category: Category) -> None:
    header = ["sku", "name", "price", "category", "stock"]
    report = run(sheet([["OLD-1", "Old", "2.50", "tops", "4"]], header), commit=True)
    assert report.new == 1
    variant = Variant.objects.get(sku="OLD-1")
    assert (variant.price, variant.stock, variant.option_ids) == (Decimal("2.50"), 4, [])


def test_an_import_takes_the_same_queries_for_2_or_20_products(
    category: Category, tshirt: ProductType
) -> None:
    def products(count: int, price: str) -> bytes:
        return sheet(
            [
                [
                    f"tee{count}-{number}",
                    f"T{count}-{number}-{size}",
                    "Tee",
                    "",
                    "tops",
                    "true",
                    "tshirt",
                    price,
                    "1",
                    "true",
                    "",
                    size,
                    "red",
                    "cotton",
                    "1",
                    "true",
                    "",
                    "slim",
                    "",
                ]
                for number in range(count)
                for size in ("s", "m")
            ]
        )

    counts = []
    for count in (2, 20):
        # Checked, created, then changed (every price), each counted.
        for data, commit in [
            (products(count, "9"), False),
            (products(count, "9"), True),
            (products(count, "8"), True),
        ]:
            with CaptureQueriesContext(connection) as queries:
                report = run(data, commit=commit)
            assert report.errors == []
            counts.append(len(queries))
        assert report.changed == 2 * count
    assert counts[:3] == counts[3:], counts


def test_an_existing_product_changes_by_slug_and_its_variants_by_sku(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    rows = tshirt_rows()
    rows[0][2] = rows[2][2] = "Better tee"  # the product's name, on both rows that give it
    rows[2][10] = "7"  # TEE-M-BLUE's position
    rows[0][13] = rows[2][13] = ""  # no material any more
    rows[0][17] = rows[2][17] = "loose"

    preview = run(sheet(rows))
    assert preview.errors == []
    assert (preview.new, preview.changed, preview.unchanged) == (0, 2, 1)
    changes = {sample.sku: sample.changes for sample in preview.samples}
    assert changes["TEE-S-RED"] == {
        "name": ("Tee", "Better tee"),
        "attribute:material": ("cotton", ""),
        "attribute:fit": ("slim", "loose"),
    }
    assert changes["TEE-M-BLUE"] == {"position": ("2", "7")}

    run(sheet(rows), commit=True)
    product = Product.objects.get(slug="tee")
    assert product.name == "Better tee"
    assert product.variants.get(sku="TEE-M-BLUE").position == 7
    values = ProductAttributeValue.objects.filter(product=product)
    assert not values.filter(attribute__slug="material").exists()
    assert values.get(attribute__slug="fit").option.slug == "loose"  # type: ignore[union-attr]
    assert values.filter(attribute__slug="care").count() == 2  # untouched


def test_variants_left_out_are_removed_only_when_asked(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    first_only = sheet(tshirt_rows()[:1])

    kept = run(first_only, commit=True, remove_missing_variants=False)
    assert kept.variants_removed == 0
    assert Variant.objects.filter(product__slug="tee").count() == 3

    removed = run(first_only, commit=True, remove_missing_variants=True)
    assert removed.variants_removed == 2
    assert list(Variant.objects.filter(product__slug="tee").values_list("sku", flat=True)) == [
        "TEE-S-RED"
    ]
    product = Product.objects.get(slug="tee")
    assert (product.variant_count, product.price_max) == (1, Decimal("10.00"))
    entries = AuditEntry.objects.filter(batch=removed.audit_batch)
    assert sorted((entry.object_repr, entry.after) for entry in entries) == [
        ("TEE-M-BLUE (tee)", {}),
        ("TEE-M-RED (tee)", {}),
    ]


def test_a_new_combination_may_not_repeat_a_variant_left_out(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    rows = tshirt_rows()
    twin = ["tee", "TEE-TWIN", *[""] * 5, "1", "1", "true", "", "m", "blue", *[""] * 6]
    report = run(sheet([rows[0], twin]))
    assert errors(report) == [(3, "option:size")]
    assert "TEE-M-BLUE" in report.errors[0].message


def test_a_type_change_needs_every_variant_that_does_not_fit_it(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    size = Attribute.objects.get(slug="size")
    product_type_of("sized", axes=(size,))
    header = ["product", "sku", "name", "category", "product_type", "price", "option:size"]
    report = run(sheet([["tee", "TEE-S-RED", "Tee", "tops", "sized", "10.00", "s"]], header))
    assert errors(report) == [(2, "product_type")]
    assert "TEE-M-RED, TEE-M-BLUE" in report.errors[0].message

    rows = [
        ["tee", "TEE-S-RED", "Tee", "tops", "sized", "10.00", "s"],
        ["tee", "TEE-M-RED", "", "", "", "12.00", "m"],
        ["tee", "TEE-M-BLUE", "", "", "", "12.50", "l"],
    ]
    report = run(sheet(rows, header), commit=True)
    assert report.errors == []
    product = Product.objects.get(slug="tee")
    assert product.product_type.slug == "sized"  # type: ignore[union-attr]
    # The values of the old type's attributes went with it.
    assert not ProductAttributeValue.objects.filter(product=product).exists()
    assert product.variants.get(sku="TEE-M-BLUE").option_ids == [option_id(size, "l")]


def test_an_untyped_product_takes_no_option_or_attribute(category: Category) -> None:
    Attribute.objects.create(name="Material", slug="material", kind="text")
    choice_attribute("size", ["s"])
    header = ["product", "sku", "name", "category", "price", "option:size", "attribute:material"]
    report = run(sheet([["mug", "MUG-1", "Mug", "tops", "4", "s", "clay"]], header))
    assert errors(report) == [(2, "option:size"), (2, "attribute:material")]


def test_a_product_has_at_most_the_variants_the_setting_allows(
    category: Category, tshirt: ProductType, settings: Any
) -> None:
    settings.CATALOGUE_MAX_VARIANTS_PER_PRODUCT = 2
    report = run(sheet(tshirt_rows()))
    assert (2, "sku") in errors(report)
    assert "at most 2 variants" in " ".join(error.message for error in report.errors)


def test_the_command_generates_a_sample_sheet_that_imports(tmp_path: Any) -> None:
    path = tmp_path / "sample.csv"
    call_command("import_products", str(path), generate_sample=3, stdout=io.StringIO())
    output = io.StringIO()
    call_command("import_products", str(path), stdout=output)
    assert "12 rows: 12 new" in output.getvalue()
    product = Product.objects.get(slug="sample-000001")
    assert product.variant_count == 4
    assert ProductAttributeValue.objects.filter(product=product).count() == 5  # care: 2 options


def test_a_row_without_its_product_is_invalid_and_counted(category: Category) -> None:
    header = ["product", "sku", "name", "category", "price"]
    rows = [["", "MUG-1", "Mug", "tops", "4"], ["mug", "MUG-2", "Mug", "tops", "5"]]
    report = run(sheet(rows, header))
    assert errors(report) == [(2, "product")]
    assert (report.row_count, report.invalid, report.new) == (2, 1, 1)


def test_a_new_variant_gets_the_defaults_of_the_columns_left_out(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    header = ["product", "sku", "name", "category", "price", "option:size", "option:colour"]
    report = run(
        sheet([["tee", "TEE-L-BLUE", "Tee", "tops", "15", "l", "blue"]], header), commit=True
    )
    assert report.errors == [] and report.new == 1
    variant = Variant.objects.get(sku="TEE-L-BLUE")
    assert (variant.stock, variant.is_active, variant.position) == (0, True, 3)
    # The product's other columns, and its attribute values, are as they were.
    product = Product.objects.get(slug="tee")
    assert (product.description, product.product_type_id) == ("Soft", tshirt.pk)
    assert ProductAttributeValue.objects.filter(product=product).count() == 7


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_new_product_at_once_create_it_once(
    category: Category, tshirt: ProductType
) -> None:
    data = sheet(tshirt_rows())
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def commit() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(run(data, commit=True))
        except ImportFileError as error:  # the slug taken by the other, once it committed
            outcomes.append(error)
        finally:
            connection.close()

    importers = [threading.Thread(target=commit) for _ in range(2)]
    for importer in importers:
        importer.start()
    for importer in importers:
        importer.join(timeout=60)

    assert len(outcomes) == 2
    created = [o for o in outcomes if isinstance(o, ImportReport) and o.new == 3]
    assert len(created) == 1, outcomes
    (other,) = [o for o in outcomes if o is not created[0]]
    assert isinstance(other, ImportFileError) or (
        isinstance(other, ImportReport) and other.committed and other.unchanged == 3
    ), other
    assert Variant.objects.filter(product__slug="tee").count() == 3
    assert AuditEntry.objects.filter(batch=created[0].audit_batch).count() == 4


def test_two_variants_swap_their_combinations_in_one_import(
    category: Category, tshirt: ProductType
) -> None:
    run(sheet(tshirt_rows()), commit=True)
    rows = tshirt_rows()
    # TEE-M-RED becomes the blue M, TEE-M-BLUE the red M: one UPDATE of both rows, checked for
    # unique combinations at its end, not row by row.
    rows[1][12], rows[2][12] = "blue", "red"

    preview = run(sheet(rows))
    assert preview.errors == []
    assert (preview.new, preview.changed, preview.unchanged) == (0, 2, 1)

    report = run(sheet(rows), commit=True)
    assert report.errors == []
    options = dict(
        Variant.objects.filter(product__slug="tee").with_options().values_list("sku", "options")
    )
    assert options["TEE-M-RED"] == {"size": "m", "colour": "blue"}
    assert options["TEE-M-BLUE"] == {"size": "m", "colour": "red"}
