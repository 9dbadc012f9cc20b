"""Import and export of products in the admin: upload a sheet, watch its dry run, read its
report, confirm, watch the import; or download the changelist as it is filtered, in the same
columns.

The views only: the upload is stored, and the dry run and the import run as jobs, by
``apps.products.import_jobs``; the sheet is read, checked and written by ``apps.products.sheets``.
"""

import tempfile
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from .import_jobs import (
    ImportNotAllowed,
    import_apply_start,
    import_dry_run_start,
    import_job_cancel,
    import_job_report,
    import_job_status,
    import_upload_discard,
)
from .limits import EXPORT_XLSX_MAX_ROWS
from .models import ImportJob, ImportState, Product, Variant
from .sheets import (
    FORMATS,
    HEADERS,
    REQUIRED_HEADERS,
    ImportFileError,
    ImportReport,
    detect_format,
    export_csv,
    export_xlsx,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A job's page reloads itself this often (seconds) while the job waits or runs: a <meta
# refresh>, which the Content-Security-Policy allows (no script).
IMPORT_JOB_REFRESH_SECONDS = 2


class ProductImportForm(forms.Form):
    file = forms.FileField(
        help_text="A .csv file (UTF-8) or an .xlsx workbook; its first row names the columns."
    )

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.file_format = ""

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise ValidationError(
                f"The file is {upload.size / 2**20:,.1f} MB; upload at most "
                f"{self.max_bytes / 2**20:,.0f} MB, or split it."
            )
        head = upload.read(8192)
        upload.seek(0)
        try:
            self.file_format = detect_format(upload.name or "", head)
        except ImportFileError as error:
            raise ValidationError(str(error)) from error
        return upload


class ProductImportExportMixin(admin.ModelAdmin[Product]):
    """Add "Import" and "Export" to the product changelist.

    Import: upload → the dry run, a job (its page shows its progress, then its report: per-cell
    errors; new, changed, unchanged counts) → "Confirm import", a job that writes every row in
    one transaction, or nothing if any row is wrong → its page shows the outcome.
    Export: the changelist's current search, filters and ordering, as CSV (streamed) or XLSX.
    """

    change_list_template = "admin/products/import_export_change_list.html"
    import_form_template = "admin/products/import_form.html"
    import_job_template = "admin/products/import_job.html"
    export_xlsx_max_rows = EXPORT_XLSX_MAX_ROWS

    def has_import_permission(self, request: HttpRequest) -> bool:
        """Return True if the user may import: importing both adds and changes products."""
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"

        def wrap(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
            return self.admin_site.admin_view(view)

        # Before the default URLs, whose "<path:object_id>/" would take "import/" for an id.
        return [
            path("import/", wrap(self.import_view), name=f"{info}_import"),
            path("import/<int:job_id>/", wrap(self.import_job_view), name=f"{info}_import_job"),
            path(
                "import/<int:job_id>/status/",
                wrap(self.import_job_status_view),
                name=f"{info}_import_job_status",
            ),
            path(
                "import/<int:job_id>/confirm/",
                wrap(self.import_confirm_view),
                name=f"{info}_import_confirm",
            ),
            path(
                "import/<int:job_id>/cancel/",
                wrap(self.import_cancel_view),
                name=f"{info}_import_cancel",
            ),
            path("export/<str:file_format>/", wrap(self.export_view), name=f"{info}_export"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "has_import_permission": self.has_import_permission(request),
            "has_export_permission": self.has_export_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    # --- Import -------------------------------------------------------------------------------

    def get_import_max_rows(self) -> int:
        return int(settings.PRODUCTS_IMPORT_MAX_ROWS)

    def get_import_max_bytes(self) -> int:
        return int(settings.PRODUCTS_IMPORT_MAX_BYTES)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Take the upload, store it, queue its dry run and send the user to the job's page."""
        self._check_import_permission(request)
        form = ProductImportForm(
            request.POST or None, request.FILES or None, max_bytes=self.get_import_max_bytes()
        )
        if request.method != "POST" or not form.is_valid():
            return self._render_import_form(request, form)
        upload = form.cleaned_data["file"]
        job = import_dry_run_start(
            file=upload,
            filename=upload.name or "",
            file_format=form.file_format,
            user=request.user,  # type: ignore[arg-type]
        )
        return HttpResponseRedirect(self._url("import_job", job.pk))

    def import_job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Show a job: its progress while it waits or runs, then its report or its failure."""
        self._check_import_permission(request)
        job = self._job(job_id)
        report = import_job_report(job) if job.row_count is not None else None
        apply = None
        if job.dry_run:
            apply = ImportJob.objects.filter(checked_by=job).only("pk", "state").first()
        context = {
            **self._context(request, self._job_title(job)),
            "job": job,
            "upload": job.upload,
            "report": report,
            "apply": apply,
            "refresh_seconds": None if job.is_finished else IMPORT_JOB_REFRESH_SECONDS,
            "import_url": self._url("import"),
            "status_url": self._url("import_job_status", job.pk),
            "cancel_url": self._url("import_cancel", job.pk),
            "confirm_url": self._url("import_confirm", job.pk),
            "can_confirm": (
                job.dry_run
                and job.state == ImportState.SUCCEEDED
                and not job.error_count
                and apply is None
                and job.upload.discarded_at is None
            ),
            "can_discard": (
                job.dry_run
                and job.is_finished
                and apply is None
                and job.upload.discarded_at is None
            ),
            "summary": self._import_summary(request, job, report) if report else "",
            "dry_run_url": (
                self._url("import_job", job.checked_by_id) if job.checked_by_id else None
            ),
        }
        return TemplateResponse(request, self.import_job_template, context)

    def import_job_status_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Answer a job's state and progress as JSON (for scripts, or a page that polls)."""
        self._check_import_permission(request)
        job = get_object_or_404(ImportJob.objects.defer("errors", "samples", "columns"), pk=job_id)
        return JsonResponse(import_job_status(job))

    def import_confirm_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Queue the import of a dry run without errors, and send the user to its page."""
        self._check_import_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        dry_run = self._job(job_id)
        try:
            job = import_apply_start(dry_run=dry_run, user=request.user)  # type: ignore[arg-type]
        except ImportNotAllowed as error:
            messages.error(request, f"Nothing was imported: {error}")
            return HttpResponseRedirect(self._url("import_job", dry_run.pk))
        return HttpResponseRedirect(self._url("import_job", job.pk))

    def import_cancel_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Cancel a job that waits or runs; or, after a dry run, discard the file."""
        self._check_import_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._job(job_id)
        if import_job_cancel(job=job):
            messages.info(request, "Import cancelled; nothing was written.")
        elif job.dry_run and not ImportJob.objects.filter(checked_by=job).exists():
            import_upload_discard(job.upload)
            messages.info(request, "Import cancelled; nothing was written.")
        else:
            messages.error(request, "That import has finished; there is nothing to cancel.")
            return HttpResponseRedirect(self._url("import_job", job.pk))
        return HttpResponseRedirect(reverse(f"admin:{self._info}_changelist"))

    def _job(self, job_id: int) -> ImportJob:
        return get_object_or_404(
            ImportJob.objects.select_related("upload", "created_by"), pk=job_id
        )

    @staticmethod
    def _job_title(job: ImportJob) -> str:
        if job.dry_run:
            return "Check the import" if job.is_finished else "Checking the import"
        return "Import" if job.is_finished else "Importing"

    def _import_summary(self, request: HttpRequest, job: ImportJob, report: ImportReport) -> str:
        if job.dry_run or not report.committed:
            return ""
        summary = format_html(
            "Imported {}: {} new, {} changed, {} unchanged.",
            job.upload.filename,
            f"{report.new:,}",
            f"{report.changed:,}",
            f"{report.unchanged:,}",
        )
        if report.audit_batch is not None and request.user.has_perm("core.view_auditentry"):
            audit_url = reverse(f"{self.admin_site.name}:core_auditentry_changelist")
            summary = format_html(
                '{} <a href="{}?batch={}">Every change, in the audit trail</a>.',
                summary,
                audit_url,
                report.audit_batch,
            )
        return summary

    def _check_import_permission(self, request: HttpRequest) -> None:
        if not self.has_import_permission(request):
            raise PermissionDenied

    def _render_import_form(
        self, request: HttpRequest, form: ProductImportForm, file_error: str = ""
    ) -> HttpResponse:
        context = {
            **self._context(request, "Import products"),
            "form": form,
            "file_error": file_error,
            "columns": HEADERS,
            "required_columns": REQUIRED_HEADERS,
            "max_rows": self.get_import_max_rows(),
            "max_megabytes": self.get_import_max_bytes() // 2**20,
            "recent_jobs": ImportJob.objects.select_related("upload", "created_by")[:5],
        }
        return TemplateResponse(request, self.import_form_template, context)

    # --- Export -------------------------------------------------------------------------------

    def export_view(self, request: HttpRequest, file_format: str) -> HttpResponseBase:
        """Download the changelist's products, as searched, filtered and sorted there."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        if file_format not in FORMATS:
            raise Http404(f"Export as {' or '.join(FORMATS)}.")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(
                f"{reverse(f'admin:{self._info}_changelist')}?{ERROR_FLAG}=1"
            )
        products = changelist.queryset
        filename = f"products-{timezone.now():%Y%m%d-%H%M%S}.{file_format}"
        disposition = content_disposition_header(as_attachment=True, filename=filename)
        if file_format == "csv":
            return StreamingHttpResponse(
                export_csv(products),
                content_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": disposition},
            )
        # An XLSX file is a zip, written whole before it is sent: bounded (a row per variant),
        # and spooled to disk.
        variants = Variant.objects.filter(product__in=products.order_by().values("pk"))
        if variants[: self.export_xlsx_max_rows + 1].count() > self.export_xlsx_max_rows:
            messages.error(
                request,
                f"The products that match have more than {self.export_xlsx_max_rows:,} variants "
                "(a row each): export CSV, or narrow the search and filters.",
            )
            return HttpResponseRedirect(
                reverse(f"admin:{self._info}_changelist") + changelist.get_query_string()
            )
        workbook = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it)
        export_xlsx(products, workbook)
        workbook.seek(0)
        return FileResponse(
            workbook, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
        )

    # --- Helpers ------------------------------------------------------------------------------

    @property
    def _info(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}"

    def _url(self, name: str, *args: Any) -> str:
        return reverse(f"admin:{self._info}_{name}", args=args)

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": self.has_view_permission(request),
            "changelist_url": reverse(f"admin:{self._info}_changelist"),
        }


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin[ImportJob]):
    """Past and running imports, newest first, read-only: who, when, which file, what it did.

    Each links to its page (progress, report, confirmation); what an import wrote is in the
    audit trail, under its batch.
    """

    list_display = [
        "id",
        "created_at",
        "created_by",
        "filename",
        "kind",
        "state",
        "row_count",
        "new",
        "changed",
        "unchanged",
        "error_count",
        "duration",
        "page_link",
    ]
    list_filter = ["state", "dry_run"]
    list_select_related = ["upload", "created_by"]
    search_fields = ["upload__filename"]
    show_full_result_count = False
    actions = []
    exclude = ["errors", "samples"]

    def get_readonly_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> list[str]:
        return [field.name for field in self.opts.fields if field.name not in self.exclude]

    @admin.display(description="file", ordering="upload__filename")
    def filename(self, job: ImportJob) -> str:
        return job.upload.filename

    @admin.display(description="kind", ordering="dry_run")
    def kind(self, job: ImportJob) -> str:
        return "dry run" if job.dry_run else "import"

    @admin.display(description="seconds")
    def duration(self, job: ImportJob) -> str:
        seconds = job.seconds
        return "" if seconds is None else f"{seconds:,.1f}"

    @admin.display(description="page")
    def page_link(self, job: ImportJob) -> str:
        url = reverse(f"{self.admin_site.name}:products_product_import_job", args=[job.pk])
        return format_html('<a href="{}">open</a>', url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False
