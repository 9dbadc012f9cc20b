"""Import (upload, dry-run preview, confirm) and export of products in the admin."""

import csv
import io
import os
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from apps.attributes.models import Attribute
from apps.core.models import AuditEntry
from apps.products.admin import ProductAdmin
from apps.products.models import Category, Product, ProductAttributeValue
from apps.products.sheets import HEADERS, VARIANT_HEADERS
from apps.products.tests.factories import (
    CategoryFactory,
    ProductFactory,
    VariantFactory,
    choice_attribute,
    option_id,
    product_type_of,
    product_with_options,
)
from apps.users.models import User

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.staff_permissions("products.add_product", "products.change_product"),
]

CHANGELIST = "admin:products_product_changelist"
IMPORT = "admin:products_product_import"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def category() -> Category:
    return CategoryFactory(slug="lamps")


def csv_upload(rows: list[list[str]], name: str = "products.csv") -> io.BytesIO:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    upload = io.BytesIO(buffer.getvalue().encode())
    upload.name = name
    return upload


def upload(client: Client, file: io.BytesIO) -> HttpResponse:
    """Upload ``file`` and follow to its preview."""
    response = client.post(reverse(IMPORT), {"file": file}, follow=True)
    assert response.status_code == 200
    return response


def confirm_url(response: HttpResponse) -> str:
    return str(response.context["confirm_url"])


def stored_uploads() -> list[str]:
    try:
        return default_storage.listdir("imports")[1]
    except FileNotFoundError:
        return []


def test_preview_lists_row_errors_writes_nothing_and_offers_no_confirmation(
    staff_client: Client, category: Category
) -> None:
    response = upload(
        staff_client,
        csv_upload(
            [
                ["LAMP-1", "Lamp", "", "", "19.99", "3", "true", "lamps"],
                ["LAMP-2", "Lamp", "", "", "-5", "3", "true", "lamps"],
                ["LAMP-3", "", "", "", "1", "3", "true", "nowhere"],
            ]
        ),
    )

    content = response.content.decode()
    assert response.templates[0].name == "admin/products/import_preview.html"
    assert "Price cannot be negative." in content
    assert "The name is required." in content
    assert "nowhere" in content
    assert "nothing can be imported until every error is fixed" in content
    assert "Confirm import" not in content
    report = response.context["report"]
    assert (report.row_count, report.new, report.invalid) == (3, 1, 2)
    assert [(error.row, error.column) for error in report.errors] == [
        (3, "price"),
        (4, "name"),
        (4, "category"),
    ]
    assert not Product.objects.exists()

    # Posting the confirmation anyway writes nothing either.
    confirmed = staff_client.post(confirm_url(response))
    assert confirmed.status_code == 200
    assert "Nothing was written" in confirmed.content.decode()
    assert not Product.objects.exists()


def test_confirm_upserts_by_sku_in_one_go_and_forgets_the_file(
    staff_client: Client, staff: User, category: Category
) -> None:
    existing = ProductFactory(sku="LAMP-1", price=Decimal("10.00"))
    preview = upload(
        staff_client,
        csv_upload(
            [
                [
                    "LAMP-1",
                    existing.name,
                    existing.slug,
                    existing.description,
                    "12.00",
                    "3",
                    "true",
                    "lamps",
                ],
                ["LAMP-2", "Floor lamp", "", "Tall.", "80.00", "2", "true", "lamps"],
            ]
        ),
    )
    content = preview.content.decode()
    assert "nothing has been written yet" in content
    assert "Confirm import" in content
    assert "10.00 → <strong>12.00</strong>" in content
    assert not Product.objects.filter(sku="LAMP-2").exists()
    assert len(stored_uploads()) == 1

    response = staff_client.post(confirm_url(preview), follow=True)

    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)
    assert "1 new, 1 changed, 0 unchanged" in response.content.decode()
    existing.refresh_from_db()
    assert existing.price == Decimal("12.00")
    created = Product.objects.get(sku="LAMP-2")
    assert (created.created_by, created.category) == (staff, category)
    assert stored_uploads() == []
    # The upload is spent: confirming again is refused, not applied twice.
    again = staff_client.post(confirm_url(preview), follow=True)
    assert "no longer waiting" in again.content.decode()


def test_confirm_audits_each_product_under_the_importer_and_links_the_batch(
    client: Client, staff_with_perms, category: Category
) -> None:  # type: ignore[no-untyped-def]
    importer = staff_with_perms(
        "products.add_product", "products.change_product", "core.view_auditentry"
    )
    client.force_login(importer)
    existing = ProductFactory(sku="LAMP-1", price=Decimal("10.00"))
    rows = [
        [existing.sku, existing.name, existing.slug, existing.description, "12.00", "3", "true"],
        ["LAMP-2", "Floor lamp", "", "Tall.", "80.00", "2", "true"],
    ]
    for row in rows:
        row.append("lamps")
    Product.objects.filter(pk=existing.pk).update(stock=3, category=category)

    response = client.post(confirm_url(upload(client, csv_upload(rows))), follow=True)

    entries = AuditEntry.objects.order_by("object_id")
    assert [entry.object_repr for entry in entries] == [str(existing), "Floor lamp (LAMP-2)"]
    assert {(entry.action, entry.user_id) for entry in entries} == {
        ("products.import", importer.pk)
    }
    assert (entries[0].before, entries[0].after) == ({"price": "10.00"}, {"price": "12.00"})
    (batch,) = {entry.batch for entry in entries}
    link = f"{reverse('admin:core_auditentry_changelist')}?batch={batch}"
    assert f'<a href="{link}">' in response.content.decode()
    trail = client.get(link)
    assert trail.status_code == 200
    assert len(trail.context["cl"].result_list) == 2


def test_the_same_file_twice_reports_nothing_changed_and_keeps_updated_at(
    staff_client: Client, category: Category
) -> None:
    rows = [
        ["LAMP-1", "Desk lamp", "", "", "19.99", "3", "true", "lamps"],
        ["LAMP-2", "Floor lamp", "", "", "80.00", "2", "false", "lamps"],
    ]
    staff_client.post(confirm_url(upload(staff_client, csv_upload(rows))))
    stamps = dict(Product.objects.values_list("sku", "updated_at"))

    preview = upload(staff_client, csv_upload(rows))
    response = staff_client.post(confirm_url(preview), follow=True)

    assert (preview.context["report"].changed, preview.context["report"].unchanged) == (0, 2)
    assert "already as the file says" in preview.content.decode()
    assert "0 new, 0 changed, 2 unchanged" in response.content.decode()
    assert dict(Product.objects.values_list("sku", "updated_at")) == stamps


def test_confirm_checks_the_file_again(staff_client: Client) -> None:
    doomed = CategoryFactory(slug="doomed")
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1.00", "1", "true", "doomed"]])
    )
    assert not preview.context["report"].has_errors
    doomed.delete()  # the catalogue changes between the preview and the confirmation

    response = staff_client.post(confirm_url(preview))

    assert response.status_code == 200
    assert "No category has the slug or id" in response.content.decode()
    assert not Product.objects.exists()


def test_xlsx_upload_imports(staff_client: Client, category: Category) -> None:
    preview = upload(
        staff_client, xlsx_upload([["LAMP-1", "Lamp", None, None, 19.99, 4, True, "lamps"]])
    )
    staff_client.post(confirm_url(preview))

    assert preview.context["upload"]["uploaded_format"] == "xlsx"
    assert Product.objects.get(sku="LAMP-1").price == Decimal("19.99")


def xlsx_upload(rows: list[list[object]]) -> io.BytesIO:
    workbook = Workbook()
    workbook.active.append(list(HEADERS))
    for row in rows:
        workbook.active.append(row)
    file = io.BytesIO()
    workbook.save(file)
    file.seek(0)
    file.name = "products.xlsx"
    return file


def test_xlsx_errors_name_the_spreadsheets_rows(staff_client: Client, category: Category) -> None:
    file = xlsx_upload(
        [
            ["LAMP-1", "Lamp", None, None, 19.99, 4, True, "lamps"],
            [],  # an empty row 3, which the workbook does not even store
            ["LAMP-2", "Lamp", None, "Two\r\nlines", -1, 4, True, "lamps"],
        ]
    )

    preview = upload(staff_client, file)

    assert [(error.row, error.column) for error in preview.context["report"].errors] == [
        (4, "price")
    ]
    assert "XLSX" in preview.content.decode()


def test_a_workbook_over_the_row_limit_is_refused_on_upload(
    staff_client: Client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ProductAdmin, "import_max_rows", 2)
    rows: list[list[object]] = [[f"A-{n}", "Lamp", None, None, 1, 1, True, "x"] for n in range(3)]

    response = staff_client.post(reverse(IMPORT), {"file": xlsx_upload(rows)})

    assert response.status_code == 200
    assert "more than 2 rows" in response.content.decode()
    assert stored_uploads() == []


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "products.csv", "The submitted file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "products.png", "neither a CSV file nor an XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "products.xls", "Old Excel workbooks"),
    ],
    ids=["empty", "picture", "xls"],
)
def test_a_file_that_is_no_sheet_is_refused_on_the_form(
    staff_client: Client, content: bytes, name: str, message: str
) -> None:
    file = io.BytesIO(content)
    file.name = name

    response = staff_client.post(reverse(IMPORT), {"file": file})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert stored_uploads() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"sku,title,price,category\r\nA,B,1,c\r\n", "Unknown columns: title"),
        (b"sku,name,price,category\r\n", "no products"),
        (b'sku,name,price,category\r\nA,"' + b"x" * 200_000 + b'",1,c\r\n', "longer than"),
        (b"PK\x03\x04 not really a zip", "not a readable XLSX"),
    ],
    ids=["wrong-header", "header-only", "huge-cell", "broken-xlsx"],
)
def test_a_malformed_sheet_is_refused_on_the_preview(
    staff_client: Client, content: bytes, message: str
) -> None:
    file = io.BytesIO(content)
    file.name = "products.csv"

    response = upload(staff_client, file)

    assert response.templates[0].name == "admin/products/import_form.html"
    assert message in response.content.decode()
    assert "Nothing was written." in response.content.decode()
    assert stored_uploads() == []


def test_cancel_deletes_the_upload(staff_client: Client, category: Category) -> None:
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )

    response = staff_client.post(preview.context["cancel_url"], follow=True)

    assert "nothing was written" in response.content.decode()
    assert stored_uploads() == []
    assert not Product.objects.exists()


def test_another_user_cannot_confirm_my_upload(
    staff_client: Client, client: Client, staff_with_perms, category: Category
) -> None:  # type: ignore[no-untyped-def]
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )
    other = Client()
    other.force_login(staff_with_perms("products.add_product", "products.change_product"))

    response = other.post(confirm_url(preview), follow=True)

    assert "no longer waiting" in response.content.decode()
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "perms",
    [("products.view_product",), ("products.add_product",), ("products.change_product",)],
)
def test_import_needs_add_and_change(client: Client, staff_with_perms, perms) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff_with_perms(*perms))

    form = client.get(reverse(IMPORT))
    posted = client.post(reverse(IMPORT), {"file": csv_upload([])})
    changelist = client.get(reverse(CHANGELIST))

    assert form.status_code == posted.status_code == 403
    assert stored_uploads() == []
    if changelist.status_code == 200:
        assert reverse(IMPORT) not in changelist.content.decode()


def test_export_needs_view(client: Client, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    ProductFactory()
    client.force_login(staff_with_perms("products.add_product"))
    assert client.get(reverse("admin:products_product_export", args=["csv"])).status_code == 403

    viewer = Client()
    viewer.force_login(staff_with_perms("products.view_product"))
    changelist = viewer.get(reverse(CHANGELIST)).content.decode()
    response = viewer.get(reverse("admin:products_product_export", args=["csv"]))

    assert response.status_code == 200
    assert reverse("admin:products_product_export", args=["csv"]) in changelist
    assert reverse(IMPORT) not in changelist


def exported_rows(client: Client, file_format: str, query: str = "") -> list[list[str]]:
    url = reverse("admin:products_product_export", args=[file_format]) + query
    response = client.get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    if file_format == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [["" if value is None else str(value) for value in row] for row in sheet.values]


def test_export_follows_the_changelist_search_and_filters(admin_client: Client) -> None:
    ProductFactory(sku="ON-1", name="Brass lamp", is_active=True)
    ProductFactory(sku="ON-2", name="Oak desk", is_active=True)
    ProductFactory(sku="OFF-1", name="Brass hook", is_active=False)

    everything = exported_rows(admin_client, "csv")
    active = exported_rows(admin_client, "csv", "?is_active__exact=1")
    brass_active = exported_rows(admin_client, "csv", "?is_active__exact=1&q=brass")
    by_sku = exported_rows(admin_client, "xlsx", "?q=OFF-1")

    # The variant sheet: no type, no option or attribute columns.
    assert everything[0] == list(VARIANT_HEADERS)
    assert sorted(row[1] for row in everything[1:]) == ["OFF-1", "ON-1", "ON-2"]
    assert sorted(row[1] for row in active[1:]) == ["ON-1", "ON-2"]
    assert [row[1] for row in brass_active[1:]] == ["ON-1"]
    assert [row[1] for row in by_sku[1:]] == ["OFF-1"]


def test_export_with_a_bad_filter_goes_back_to_the_changelist(admin_client: Client) -> None:
    response = admin_client.get(
        reverse("admin:products_product_export", args=["csv"]) + "?price__nope=1"
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse(CHANGELIST))


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_reimports_unchanged(admin_client: Client, file_format: str) -> None:
    category = CategoryFactory(slug="1234")  # a slug of digits, as the importer must read it
    ProductFactory(sku="=SUM(A1)", name="=formula-looking name", category=category)
    # As the admin's text areas send it, with what XML cannot carry as it is.
    ProductFactory(
        sku="00042", description="  spaced\r\nover lines _x0041_ \x0b ", price=Decimal("0.50")
    )
    ProductFactory(sku="ZERO", stock=0, is_active=False, description="")
    response = admin_client.get(reverse("admin:products_product_export", args=[file_format]))
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    file = io.BytesIO(content)
    file.name = f"export.{file_format}"
    stamps = dict(Product.objects.values_list("sku", "updated_at"))

    preview = upload(admin_client, file)
    confirmed = admin_client.post(confirm_url(preview), follow=True)

    report = preview.context["report"]
    assert (report.new, report.changed, report.unchanged) == (0, 0, 3), report.samples
    assert "0 new, 0 changed, 3 unchanged" in confirmed.content.decode()
    assert dict(Product.objects.values_list("sku", "updated_at")) == stamps


def test_xlsx_export_past_its_limit_asks_for_csv(admin_client: Client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ProductAdmin, "export_xlsx_max_rows", 2)
    ProductFactory.create_batch(3)

    response = admin_client.get(
        reverse("admin:products_product_export", args=["xlsx"]) + "?is_active__exact=1",
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse(CHANGELIST) + "?is_active__exact=1"
    assert "export CSV" in response.content.decode()


def test_the_xlsx_limit_counts_rows_of_variants(admin_client: Client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ProductAdmin, "export_xlsx_max_rows", 2)
    size = choice_attribute("size", ["s", "m"])
    product = product_with_options(product_type_of("shade", axes=(size,)), [option_id(size, "s")])
    url = reverse("admin:products_product_export", args=["xlsx"])
    assert len(exported_rows(admin_client, "xlsx")) == 2  # the header and one variant

    VariantFactory(product=product, sku="SHADE-M", option_ids=[option_id(size, "m")])
    ProductFactory()  # a third variant: one product too many

    response = admin_client.get(url, follow=True)
    assert "more than 2 variants" in response.content.decode()


def test_changelist_shows_import_and_export_with_its_query(admin_client: Client) -> None:
    response = admin_client.get(reverse(CHANGELIST), {"is_active__exact": "1"})

    content = response.content.decode()
    assert reverse(IMPORT) in content
    assert (
        reverse("admin:products_product_export", args=["xlsx"]) + "?is_active__exact=1" in content
    )


def test_a_session_keeps_its_five_newest_uploads(staff_client: Client, category: Category) -> None:
    rows = [["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]]
    previews = [upload(staff_client, csv_upload(rows)) for _ in range(6)]

    assert len(stored_uploads()) == 5
    oldest = staff_client.post(confirm_url(previews[0]), follow=True)
    assert "no longer waiting" in oldest.content.decode()
    newest = staff_client.post(confirm_url(previews[-1]), follow=True)
    assert "1 new, 0 changed, 0 unchanged" in newest.content.decode()


def test_an_upload_deletes_the_uploads_abandoned_for_a_day(
    staff_client: Client, category: Category
) -> None:
    abandoned = default_storage.save("imports/abandoned.csv", io.BytesIO(b"sku\r\n"))
    default_storage.save("imports/recent.csv", io.BytesIO(b"sku\r\n"))
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(default_storage.path(abandoned), (two_days_ago, two_days_ago))

    upload(staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]]))

    assert "abandoned.csv" not in stored_uploads()
    assert "recent.csv" in stored_uploads()
    assert len(stored_uploads()) == 2


# Upload and preview, confirm and the changelist it redirects to, of a variant sheet: the same
# for 2 rows or 100,000 (the sheet's own queries: test_variant_sheets).
PREVIEW_QUERIES = 20
CONFIRM_QUERIES = 44


def variant_upload(rows: list[list[str]], header: list[str]) -> io.BytesIO:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    upload = io.BytesIO(buffer.getvalue().encode())
    upload.name = "variants.csv"
    return upload


def test_a_variant_sheet_is_previewed_per_cell_then_confirmed(
    staff_client: Client,
    category: Category,
    django_assert_max_num_queries: Any,
) -> None:
    size = choice_attribute("size", ["s", "m"])
    product_type_of("lampshade", axes=(size,))
    header = ["product", "sku", "name", "category", "product_type", "price", "option:size"]
    bad = variant_upload(
        [
            ["shade", "SHADE-S", "Shade", "lamps", "lampshade", "10", "s"],
            ["shade", "SHADE-XL", "", "", "", "12", "xl"],
        ],
        header,
    )
    preview = upload(staff_client, bad)
    errors = [(e.row, e.column) for e in preview.context["report"].errors]
    assert errors == [(3, "option:size")]
    assert "Confirm import" not in preview.content.decode()

    good = variant_upload(
        [
            ["shade", "SHADE-S", "Shade", "lamps", "lampshade", "10", "s"],
            ["shade", "SHADE-M", "", "", "", "12", "m"],
        ],
        header,
    )
    with django_assert_max_num_queries(PREVIEW_QUERIES):
        preview = upload(staff_client, good)
    assert (preview.context["report"].new, preview.context["report"].invalid) == (2, 0)
    with django_assert_max_num_queries(CONFIRM_QUERIES):
        response = staff_client.post(confirm_url(preview), follow=True)

    assert "2 new, 0 changed, 0 unchanged" in response.content.decode()
    product = Product.objects.get(slug="shade")
    assert (product.variant_count, product.price, product.price_max) == (
        2,
        Decimal("10.00"),
        Decimal("12.00"),
    )


def test_an_export_of_typed_products_reimports_unchanged(admin_client: Client) -> None:
    category = CategoryFactory(slug="shades")
    size = choice_attribute("size", ["s", "m"])
    colour = Attribute.objects.create(name="Colour", slug="colour", kind="text")
    lampshade = product_type_of("lampshade", axes=(size,), attributes=(colour,))
    product = product_with_options(lampshade, [option_id(size, "s")], category=category)
    VariantFactory(product=product, sku="SHADE-M", option_ids=[option_id(size, "m")])
    ProductAttributeValue.objects.create(product=product, attribute=colour, value_text="Ivory ")

    rows = exported_rows(admin_client, "csv")
    assert rows[0] == [*VARIANT_HEADERS, "option:size", "attribute:colour"]
    assert [row[-2:] for row in rows[1:]] == [["s", "Ivory "], ["m", "Ivory "]]
    file = io.BytesIO("\n".join(",".join(f'"{cell}"' for cell in row) for row in rows).encode())
    file.name = "export.csv"
    preview = upload(admin_client, file)
    report = preview.context["report"]
    assert (report.new, report.changed, report.unchanged) == (0, 0, 2), report.errors
