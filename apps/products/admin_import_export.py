"""Import and export of products in the admin: upload a sheet, read its dry-run report, confirm;
or download the changelist as it is filtered, in the same columns.

The views only: the sheet is read, checked and written by ``apps.products.sheets``, and the
upload waits between the preview and the confirmation in ``apps.products.pending_uploads``.
"""

import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
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
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from .limits import EXPORT_XLSX_MAX_ROWS, IMPORT_MAX_BYTES, IMPORT_MAX_ROWS
from .models import Product, Variant
from .pending_uploads import PendingUpload, PendingUploads, open_upload
from .sheets import (
    FORMATS,
    HEADERS,
    REQUIRED_HEADERS,
    ImportFileError,
    ImportReport,
    detect_format,
    export_csv,
    export_xlsx,
    product_import,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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

    Import: upload → dry-run report (per-row errors; new, changed, unchanged counts) →
    "Confirm import", which writes every row in one transaction, or nothing if any row is wrong.
    Export: the changelist's current search, filters and ordering, as CSV (streamed) or XLSX.
    """

    change_list_template = "admin/products/import_export_change_list.html"
    import_form_template = "admin/products/import_form.html"
    import_preview_template = "admin/products/import_preview.html"
    # See apps.products.limits: sized to gunicorn's 30 s timeout, and to openpyxl's speed.
    import_max_rows = IMPORT_MAX_ROWS
    import_max_bytes = IMPORT_MAX_BYTES
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
            path(
                "import/<uuid:token>/",
                wrap(self.import_preview_view),
                name=f"{info}_import_preview",
            ),
            path(
                "import/<uuid:token>/confirm/",
                wrap(self.import_confirm_view),
                name=f"{info}_import_confirm",
            ),
            path(
                "import/<uuid:token>/cancel/",
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

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Take the upload, keep it, and send the user to its dry-run report."""
        self._check_import_permission(request)
        form = ProductImportForm(
            request.POST or None, request.FILES or None, max_bytes=self.import_max_bytes
        )
        if request.method != "POST" or not form.is_valid():
            return self._render_import_form(request, form)
        upload = form.cleaned_data["file"]
        try:
            token = PendingUploads(request.session).add(
                upload, file_format=form.file_format, max_rows=self.import_max_rows
            )
        except ImportFileError as error:
            return self._render_import_form(request, form, file_error=f"{upload.name}: {error}")
        return HttpResponseRedirect(self._url("import_preview", token))

    def import_preview_view(self, request: HttpRequest, token: uuid.UUID) -> HttpResponse:
        """Check the uploaded file without writing anything and show what importing would do."""
        self._check_import_permission(request)
        upload = PendingUploads(request.session).get(token)
        if upload is None:
            return self._upload_expired(request)
        try:
            report = self._import(request, upload, commit=False)
        except ImportFileError as error:
            return self._file_refused(request, token, upload, error)
        return self._render_preview(request, token, upload, report)

    def import_confirm_view(self, request: HttpRequest, token: uuid.UUID) -> HttpResponse:
        """Check the file again and write it in one transaction, if no row has an error."""
        self._check_import_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        upload = PendingUploads(request.session).get(token)
        if upload is None:
            return self._upload_expired(request)
        try:
            report = self._import(request, upload, commit=True)
        except ImportFileError as error:
            return self._file_refused(request, token, upload, error)
        if not report.committed:
            # The catalogue changed since the preview (a category went, a slug was taken).
            messages.error(request, "Nothing was written: the file has errors now. See below.")
            return self._render_preview(request, token, upload, report)
        PendingUploads(request.session).discard(token)
        messages.success(request, self._import_summary(request, upload, report))
        return HttpResponseRedirect(reverse(f"admin:{self._info}_changelist"))

    def import_cancel_view(self, request: HttpRequest, token: uuid.UUID) -> HttpResponse:
        self._check_import_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        PendingUploads(request.session).discard(token)
        messages.info(request, "Import cancelled; nothing was written.")
        return HttpResponseRedirect(reverse(f"admin:{self._info}_changelist"))

    def _import(self, request: HttpRequest, upload: PendingUpload, *, commit: bool) -> ImportReport:
        with open_upload(upload) as file:
            return product_import(
                file=file,
                file_format=upload["file_format"],
                created_by=request.user if commit else None,  # type: ignore[arg-type]
                commit=commit,
                max_rows=self.import_max_rows,
            )

    def _import_summary(
        self, request: HttpRequest, upload: PendingUpload, report: ImportReport
    ) -> str:
        summary = format_html(
            "Imported {}: {} new, {} changed, {} unchanged.",
            upload["filename"],
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

    def _upload_expired(self, request: HttpRequest) -> HttpResponse:
        messages.error(request, "That upload is no longer waiting to be imported; upload again.")
        return HttpResponseRedirect(self._url("import"))

    def _file_refused(
        self, request: HttpRequest, token: uuid.UUID, upload: PendingUpload, error: Exception
    ) -> HttpResponse:
        PendingUploads(request.session).discard(token)
        form = ProductImportForm(max_bytes=self.import_max_bytes)
        return self._render_import_form(request, form, file_error=f"{upload['filename']}: {error}")

    def _render_import_form(
        self, request: HttpRequest, form: ProductImportForm, file_error: str = ""
    ) -> HttpResponse:
        context = {
            **self._context(request, "Import products"),
            "form": form,
            "file_error": file_error,
            "columns": HEADERS,
            "required_columns": REQUIRED_HEADERS,
            "max_rows": self.import_max_rows,
            "max_megabytes": self.import_max_bytes // 2**20,
        }
        return TemplateResponse(request, self.import_form_template, context)

    def _render_preview(
        self,
        request: HttpRequest,
        token: uuid.UUID,
        upload: PendingUpload,
        report: ImportReport,
    ) -> HttpResponse:
        context = {
            **self._context(request, "Check the import"),
            "upload": upload,
            "report": report,
            "confirm_url": self._url("import_confirm", token),
            "cancel_url": self._url("import_cancel", token),
            "import_url": self._url("import"),
        }
        return TemplateResponse(request, self.import_preview_template, context)

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
