"""Import (upload, the dry run as a job, its report, confirm, the import as a job) and export of
products in the admin.

The test settings run a deferred job in this process once its transaction commits
(``JOBS_RUN_ON_COMMIT``): ``upload`` and ``confirm`` capture the commit's callbacks, so the job
has run when they follow to its page.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import HttpResponse
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from apps.attributes.models import Attribute
from apps.core.models import AuditEntry
from apps.products import import_jobs
from apps.products.admin import ProductAdmin
from apps.products.import_jobs import import_job_run, import_uploads_prune
from apps.products.models import (
    Category,
    ImportJob,
    ImportState,
    ImportUpload,
    ImportUploadPart,
    Product,
    ProductAttributeValue,
)
from apps.products.sheets import HEADERS, VARIANT_HEADERS
from apps.products.sheets import importing as sheet_importing
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
JOB = "admin:products_product_import_job"
STATUS = "admin:products_product_import_job_status"


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
    """Upload ``file``, let its dry run (a job) run, and follow to the job's page."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse(IMPORT), {"file": file})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


def confirm(client: Client, page: HttpResponse) -> HttpResponse:
    """Confirm the dry run shown on ``page``, let the import (a job) run, and follow."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(confirm_url(page))
    assert response.status_code == 302
    followed = client.get(response["Location"])
    assert followed.status_code == 200
    followed.redirect_chain = [(response["Location"], 302)]  # type: ignore[attr-defined]
    return followed


def confirm_url(response: HttpResponse) -> str:
    return str(response.context["confirm_url"])


def kept_uploads() -> int:
    """Return how many uploaded files are kept (not imported, discarded or pruned)."""
    assert not ImportUploadPart.objects.filter(upload__discarded_at__isnull=False).exists()
    return ImportUpload.objects.filter(discarded_at__isnull=True).count()


def test_the_dry_run_lists_cell_errors_writes_nothing_and_offers_no_confirmation(
    staff_client: Client, staff: User, category: Category
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
    assert response.templates[0].name == "admin/products/import_job.html"
    assert "Price cannot be negative." in content
    assert "The name is required." in content
    assert "nowhere" in content
    assert "nothing can be imported until every error is fixed" in content
    assert "Confirm import" not in content
    assert 'http-equiv="refresh"' not in content  # finished: the page stops reloading
    report = response.context["report"]
    assert (report.row_count, report.new, report.invalid) == (3, 1, 2)
    assert [(error.row, error.column) for error in report.errors] == [
        (3, "price"),
        (4, "name"),
        (4, "category"),
    ]
    job = response.context["job"]
    assert (job.dry_run, job.state, job.created_by, job.error_count) == (
        True,
        ImportState.SUCCEEDED,
        staff,
        3,
    )
    assert (job.rows_done, job.rows_total, job.upload.filename) == (3, 3, "products.csv")
    assert job.started_at <= job.finished_at
    assert set(job.timings) == {"reading", "checking"}
    assert not Product.objects.exists()

    # Posting the confirmation anyway writes nothing either.
    confirmed = confirm(staff_client, response)
    assert "This dry run found errors" in confirmed.content.decode()
    assert not ImportJob.objects.filter(dry_run=False).exists()
    assert not Product.objects.exists()


def test_a_waiting_job_shows_its_state_and_reloads_itself(
    staff_client: Client, category: Category, settings: Any
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False  # left for a worker
    response = staff_client.post(
        reverse(IMPORT),
        {"file": csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])},
        follow=True,
    )

    content = response.content.decode()
    assert 'http-equiv="refresh" content="2"' in content
    assert "Queued" in content and "Waiting for a worker" in content
    assert "Confirm import" not in content
    job = response.context["job"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, status::text FROM procrastinate_jobs WHERE id = %s",
            [job.queue_job_id],
        )
        assert cursor.fetchone() == ("products.import_run", "todo")

    # What a worker does, then the page shows the report.
    import_job_run(import_job_id=job.pk)
    page = staff_client.get(reverse(JOB, args=[job.pk]))
    assert "Confirm import" in page.content.decode()
    assert 'http-equiv="refresh"' not in page.content.decode()


def test_confirm_imports_as_a_job_and_forgets_the_file(
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
    assert "nothing is written" in content
    assert "Confirm import" in content
    assert "10.00 → <strong>12.00</strong>" in content
    assert not Product.objects.filter(sku="LAMP-2").exists()
    assert kept_uploads() == 1

    response = confirm(staff_client, preview)

    apply = response.context["job"]
    assert response.redirect_chain[-1][0] == reverse(JOB, args=[apply.pk])
    assert (apply.dry_run, apply.state, apply.checked_by, apply.created_by) == (
        False,
        ImportState.SUCCEEDED,
        preview.context["job"],
        staff,
    )
    assert (apply.new, apply.changed, apply.unchanged) == (1, 1, 0)
    assert set(apply.timings) == {"reading", "checking", "writing"}
    assert "1 new, 1 changed, 0 unchanged" in response.content.decode()
    existing.refresh_from_db()
    assert existing.price == Decimal("12.00")
    created = Product.objects.get(sku="LAMP-2")
    assert (created.created_by, created.category) == (staff, category)
    assert kept_uploads() == 0
    # The dry run is spent: its page links the import, and confirming again is refused.
    again = confirm(staff_client, preview)
    assert "imported already" in again.content.decode()
    assert f"import #{apply.pk}" in again.content.decode()
    assert ImportJob.objects.filter(dry_run=False).count() == 1


def test_confirm_audits_each_product_under_the_importer_and_links_the_batch(
    client: Client, staff_with_perms: Any, category: Category
) -> None:
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

    response = confirm(client, upload(client, csv_upload(rows)))

    entries = AuditEntry.objects.order_by("object_id")
    assert [entry.object_repr for entry in entries] == [str(existing), "Floor lamp (LAMP-2)"]
    assert {(entry.action, entry.user_id) for entry in entries} == {
        ("products.import", importer.pk)
    }
    assert (entries[0].before, entries[0].after) == ({"price": "10.00"}, {"price": "12.00"})
    (batch,) = {entry.batch for entry in entries}
    assert response.context["job"].audit_batch == batch
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
    confirm(staff_client, upload(staff_client, csv_upload(rows)))
    stamps = dict(Product.objects.values_list("sku", "updated_at"))

    preview = upload(staff_client, csv_upload(rows))
    response = confirm(staff_client, preview)

    assert (preview.context["report"].changed, preview.context["report"].unchanged) == (0, 2)
    assert "already as the file says" in preview.content.decode()
    assert "0 new, 0 changed, 2 unchanged" in response.content.decode()
    assert dict(Product.objects.values_list("sku", "updated_at")) == stamps


def test_the_import_checks_the_file_again(staff_client: Client) -> None:
    doomed = CategoryFactory(slug="doomed")
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1.00", "1", "true", "doomed"]])
    )
    assert not preview.context["report"].has_errors
    doomed.delete()  # the catalogue changes between the dry run and the confirmation

    response = confirm(staff_client, preview)

    job = response.context["job"]
    assert (job.state, job.error_count) == (ImportState.FAILED, 1)
    content = response.content.decode()
    assert "the file has errors now" in content
    assert "No category has the slug or id" in content
    assert not Product.objects.exists()


def test_a_failing_import_writes_nothing_and_says_why(
    staff_client: Client, category: Category, monkeypatch: Any
) -> None:
    ProductFactory(sku="LAMP-1", price=Decimal("10.00"))
    rows = [["LAMP-1", "Lamp", "", "", "12.00", "1", "true", "lamps"]]
    rows += [[f"NEW-{n}", "Lamp", "", "", "1.00", "1", "true", "lamps"] for n in range(20)]
    preview = upload(staff_client, csv_upload(rows))
    write_rows = sheet_importing.write_rows

    def write_then_fail(*args: Any, **kwargs: Any) -> tuple[int, int]:
        write_rows(*args, **kwargs)
        assert Product.objects.count() == 21  # every row was written, then:
        raise OSError("the disk is full")

    monkeypatch.setattr(sheet_importing, "write_rows", write_then_fail)

    response = confirm(staff_client, preview)

    job = response.context["job"]
    assert job.state == ImportState.FAILED
    assert job.message == "The import failed (OSError: the disk is full). Nothing was written."
    assert "the disk is full" in response.content.decode()
    assert list(Product.objects.values_list("sku", "price")) == [("LAMP-1", Decimal("10.00"))]
    assert not AuditEntry.objects.exists()
    assert job.audit_batch is None
    assert kept_uploads() == 0  # upload again to retry: the catalogue may have moved on


def test_a_job_run_again_does_nothing(staff_client: Client, category: Category) -> None:
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )
    apply = confirm(staff_client, preview).context["job"]
    Product.objects.all().delete()

    # A worker that died after the commit: the queue runs the job again.
    import_job_run(import_job_id=apply.pk)
    import_job_run(import_job_id=preview.context["job"].pk)

    assert not Product.objects.exists()
    apply.refresh_from_db()
    assert (apply.state, apply.new) == (ImportState.SUCCEEDED, 1)


def test_cancel_a_waiting_job(staff_client: Client, category: Category, settings: Any) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    page = staff_client.post(
        reverse(IMPORT),
        {"file": csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])},
        follow=True,
    )
    job = page.context["job"]

    response = staff_client.post(page.context["cancel_url"], follow=True)

    assert "Import cancelled; nothing was written." in response.content.decode()
    job.refresh_from_db()
    assert job.state == ImportState.CANCELLED
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status::text FROM procrastinate_jobs WHERE id = %s", [job.queue_job_id]
        )
        assert cursor.fetchone() == ("cancelled",)
    import_job_run(import_job_id=job.pk)  # had a worker taken it meanwhile
    job.refresh_from_db()
    assert (job.state, job.row_count) == (ImportState.CANCELLED, None)


def test_a_running_import_stops_at_its_next_report_once_cancelled(
    staff_client: Client, category: Category, monkeypatch: Any
) -> None:
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )

    def cancelled(*args: Any, **kwargs: Any) -> None:
        raise import_jobs.ImportCancelled

    monkeypatch.setattr(import_jobs.ImportProgress, "_write", cancelled)
    response = confirm(staff_client, preview)

    assert response.context["job"].state == ImportState.CANCELLED
    assert not Product.objects.exists()


def test_xlsx_upload_imports(staff_client: Client, category: Category) -> None:
    preview = upload(
        staff_client, xlsx_upload([["LAMP-1", "Lamp", None, None, 19.99, 4, True, "lamps"]])
    )
    # Read once: the dry run keeps the workbook's cells as CSV for the import.
    upload_row = preview.context["upload"]
    assert (upload_row.uploaded_format, upload_row.file_format) == ("xlsx", "csv")
    assert set(preview.context["job"].timings) == {"converting", "reading", "checking"}

    confirm(staff_client, preview)

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


@pytest.mark.parametrize("make", [xlsx_upload, csv_upload], ids=["xlsx", "csv"])
def test_a_sheet_over_the_row_limit_fails_its_dry_run(
    staff_client: Client, settings: Any, make: Any
) -> None:
    settings.PRODUCTS_IMPORT_MAX_ROWS = 2
    rows = [[f"A-{n}", "Lamp", "", "", "1", "1", "true", "x"] for n in range(3)]

    response = upload(staff_client, make(rows))

    job = response.context["job"]
    assert job.state == ImportState.FAILED
    assert "more than 2 rows" in job.message
    assert "more than 2 rows" in response.content.decode()
    assert "Confirm import" not in response.content.decode()


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
    assert not ImportUpload.objects.exists()


def test_a_file_over_the_size_limit_is_refused_on_the_form(
    staff_client: Client, settings: Any
) -> None:
    settings.PRODUCTS_IMPORT_MAX_BYTES = 2**20
    file = csv_upload([["A", "Lamp", "", "x" * 2**20, "1", "1", "true", "x"]])

    response = staff_client.post(reverse(IMPORT), {"file": file})

    assert "upload at most 1 MB" in response.content.decode()
    assert not ImportUpload.objects.exists()


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
def test_a_malformed_sheet_fails_its_dry_run(
    staff_client: Client, content: bytes, message: str
) -> None:
    file = io.BytesIO(content)
    file.name = "products.csv"

    response = upload(staff_client, file)

    job = response.context["job"]
    assert job.state == ImportState.FAILED
    assert message in response.content.decode()
    assert "Nothing was written." in response.content.decode()
    assert "Confirm import" not in response.content.decode()


def test_discard_deletes_the_upload(staff_client: Client, category: Category) -> None:
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )
    assert kept_uploads() == 1

    response = staff_client.post(preview.context["cancel_url"], follow=True)

    assert "nothing was written" in response.content.decode()
    assert kept_uploads() == 0
    assert not Product.objects.exists()
    refused = confirm(staff_client, preview)
    assert "file is gone" in refused.content.decode()
    assert not Product.objects.exists()


def test_old_uploads_are_pruned_but_their_jobs_stay(
    staff_client: Client, category: Category
) -> None:
    old = upload(staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]]))
    upload(staff_client, csv_upload([["LAMP-2", "Lamp", "", "", "1", "1", "true", "lamps"]]))
    ImportUpload.objects.filter(pk=old.context["upload"].pk).update(
        uploaded_at=timezone.now() - timedelta(days=3)
    )

    assert import_uploads_prune(keep_days=2) == 1

    assert kept_uploads() == 1
    assert ImportJob.objects.count() == 2


@pytest.mark.parametrize(
    "perms",
    [("products.view_product",), ("products.add_product",), ("products.change_product",)],
)
def test_import_needs_add_and_change(
    client: Client, staff_with_perms: Any, staff_client: Client, category: Category, perms: Any
) -> None:
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )
    job = preview.context["job"]
    client.force_login(staff_with_perms(*perms))

    form = client.get(reverse(IMPORT))
    posted = client.post(reverse(IMPORT), {"file": csv_upload([])})
    page = client.get(reverse(JOB, args=[job.pk]))
    status = client.get(reverse(STATUS, args=[job.pk]))
    confirmed = client.post(confirm_url(preview))
    cancelled = client.post(preview.context["cancel_url"])
    changelist = client.get(reverse(CHANGELIST))

    statuses = {response.status_code for response in (form, posted, page, status, confirmed)}
    assert statuses | {cancelled.status_code} == {403}
    assert ImportJob.objects.count() == 1
    assert not Product.objects.exists()
    if changelist.status_code == 200:
        assert reverse(IMPORT) not in changelist.content.decode()


# The status view: the session, the user, the user's permissions (two queries: their own and
# their groups'), the job.
STATUS_QUERIES = 5


def test_the_status_view_answers_json_in_a_fixed_number_of_queries(
    staff_client: Client, category: Category, django_assert_num_queries: Any
) -> None:
    preview = upload(
        staff_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )
    url = reverse(STATUS, args=[preview.context["job"].pk])

    with django_assert_num_queries(STATUS_QUERIES):
        response = staff_client.get(url)

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "succeeded"
    assert body["finished"] is True
    assert (body["rows_done"], body["rows_total"], body["new"], body["error_count"]) == (
        1,
        1,
        1,
        0,
    )
    assert staff_client.get(reverse(STATUS, args=[999_999])).status_code == 404


def test_the_import_jobs_list_is_read_only(admin_client: Client, category: Category) -> None:
    preview = upload(
        admin_client, csv_upload([["LAMP-1", "Lamp", "", "", "1", "1", "true", "lamps"]])
    )
    confirm(admin_client, preview)

    response = admin_client.get(reverse("admin:products_importjob_changelist"))
    detail = admin_client.get(
        reverse("admin:products_importjob_change", args=[preview.context["job"].pk])
    )
    form = admin_client.get(reverse(IMPORT))

    assert response.status_code == detail.status_code == 200
    assert len(response.context["cl"].result_list) == 2
    assert reverse(JOB, args=[preview.context["job"].pk]) in response.content.decode()
    assert "Save" not in detail.content.decode()
    assert admin_client.get(reverse("admin:products_importjob_add")).status_code == 403
    assert "Recent imports" in form.content.decode()


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
    confirmed = confirm(admin_client, preview)

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


# Of a variant sheet, the same for 2 rows or 100,000 (the sheet's own queries:
# test_variant_sheets): the upload (its file stored a part a query, one part here), its dry run
# (the job, run in this process) and the job's page; the confirmation, the import (the job)
# and its page.
PREVIEW_QUERIES = 40
CONFIRM_QUERIES = 60


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
        response = confirm(staff_client, preview)

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


@pytest.mark.django_db(transaction=True)
def test_the_progress_of_an_import_is_seen_while_its_transaction_is_open(
    staff: User, settings: Any, monkeypatch: Any
) -> None:
    """As a worker runs it (autocommit, the jobs' own transactions): another connection sees
    the import's phase and rows while it writes, and none of its products until it commits."""
    settings.JOBS_RUN_ON_COMMIT = False
    CategoryFactory(slug="lamps")
    rows = [[f"LAMP-{n}", "Lamp", "", "", "1.00", "1", "true", "lamps"] for n in range(30)]
    dry_run = import_jobs.import_dry_run_start(
        file=csv_upload(rows), filename="lamps.csv", file_format="csv", user=staff
    )
    import_job_run(import_job_id=dry_run.pk)
    apply = import_jobs.import_apply_start(dry_run=dry_run, user=staff)
    seen: list[tuple[Any, ...]] = []
    write_rows = sheet_importing.write_rows

    def write_and_look(*args: Any, **kwargs: Any) -> tuple[int, int]:
        created_changed = write_rows(*args, **kwargs)
        onlooker = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with onlooker.cursor() as cursor:
                cursor.execute(
                    "SELECT state, phase, rows_done, rows_total FROM products_importjob"
                    " WHERE id = %s",
                    [apply.pk],
                )
                seen.append(cursor.fetchone())
                cursor.execute("SELECT count(*) FROM products_product")
                seen.append(cursor.fetchone())
        finally:
            onlooker.close()
        return created_changed

    monkeypatch.setattr(sheet_importing, "write_rows", write_and_look)

    import_job_run(import_job_id=apply.pk)

    assert seen == [("running", "writing", 30, 30), (0,)]
    apply.refresh_from_db()
    assert (apply.state, apply.phase, apply.new) == (ImportState.SUCCEEDED, "", 30)
    assert Product.objects.count() == 30
