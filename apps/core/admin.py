"""The audit trail's read-only admin, and the confirmed bulk actions every app's admin shares."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.sites import AdminSite
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .database_rules import refused_rule
from .models import AuditEntry
from .pagination import EstimatingPaginator
from .services import audit_actions

# --- Confirmed bulk actions --------------------------------------------------------------------

# How many of the selected objects a confirmation page lists; the total is always given.
PREVIEW_LIMIT = 50

# The buttons of a confirmation page, posted with the selection and the action's input.
PREVIEW, APPLY, EDIT = "preview", "apply", "edit"


@dataclass(frozen=True)
class FieldChange:
    """One field of one object on a confirmation page: its value now, and after the action
    (None while the action's input is still to be given)."""

    label: str
    before: Any
    after: Any = None

    @property
    def changes(self) -> bool:
        return self.after is not None and self.after != self.before


@dataclass(frozen=True)
class PreviewRow:
    """One of the first selected objects, with what the action does to it."""

    obj: Any
    changes: list[FieldChange]

    @property
    def changes_anything(self) -> bool:
        return any(change.changes for change in self.changes)


@dataclass(frozen=True)
class BulkPreview:
    """What a bulk action will do: the first rows in detail, and how many rows in all."""

    rows: list[PreviewRow]
    total: int
    # How many of them the action changes (the others are already as asked); None while the
    # action's input is still to be given.
    changing: int | None = None
    # The column headings of the changed fields.
    labels: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> int | None:
        return None if self.changing is None else self.total - self.changing

    @property
    def not_listed(self) -> int:
        return self.total - len(self.rows)


class BulkActionForm(forms.Form):
    """The input of a confirmed bulk action (none by default), and what the action does.

    ``selection`` is the queryset the action will change, for checks that depend on the rows
    (such as a new price that would overflow for some of them). Subclasses set ``title`` and
    give ``preview()`` and ``apply()``.
    """

    # The confirmation page's title, and the start of the message once applied.
    title: ClassVar[str]

    def __init__(
        self, *args: Any, selection: QuerySet[Any], admin_site: AdminSite, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.selection = selection
        self.admin_site = admin_site

    def summary(self) -> list[tuple[str, str]]:
        """Return the validated input as (label, value) pairs, for the confirmation page."""
        return [
            (str(bound.label), str(self.cleaned_data[bound.name]))
            for bound in self
            if not bound.is_hidden
        ]

    def preview(self, *, confirmed: bool) -> BulkPreview:
        """Return the first selected objects with their values now and, once ``confirmed`` (the
        input is valid), after the action, with how many objects it changes."""
        raise NotImplementedError

    def apply(self, *, user: AbstractBaseUser | AnonymousUser) -> int:
        """Apply the action to the selection for ``user``; return how many objects it changed.

        Raise ValidationError, having written nothing, to show the input form again with why.
        """
        raise NotImplementedError

    def applied_note(self) -> str:
        """Return what the message after ``apply()`` adds to the count of changed objects (such
        as how many were skipped), or nothing."""
        return ""


class ConfirmedBulkAction:
    """An admin action that shows what it will change and applies it once confirmed, declared
    once: its name, its form (input, preview and apply), its description in the changelist's
    action menu, and the permission it needs (``"change"`` asks ``has_change_permission``).

    List it in the ``actions`` of a ModelAdmin that has ``ConfirmedBulkActionsMixin``. To
    Django's actions machinery it is what ``@admin.action`` makes of a method: a callable with
    a ``__name__``, a ``short_description`` and ``allowed_permissions``.
    """

    def __init__(
        self,
        name: str,
        form_class: type[BulkActionForm],
        *,
        description: str,
        permission: str,
    ) -> None:
        self.__name__ = name
        self.form_class = form_class
        self.short_description = description
        self.allowed_permissions = (permission,)

    def __repr__(self) -> str:
        return f"<ConfirmedBulkAction {self.__name__}>"

    def __call__(
        self, modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        assert isinstance(modeladmin, ConfirmedBulkActionsMixin), (
            f"{type(modeladmin).__name__} lists {self!r} in its actions: add "
            "ConfirmedBulkActionsMixin to its bases."
        )
        return modeladmin.confirmed_bulk_action(request, queryset, self)


class ConfirmedBulkActionsMixin(admin.ModelAdmin[Any]):
    """Run the ``ConfirmedBulkAction``s listed in ``actions`` through a confirmation page.

    The page is ``bulk_action_confirmation_template``, by default the first of
    ``admin/<app>/<model>/bulk_action_confirmation.html``,
    ``admin/<app>/bulk_action_confirmation.html`` and ``admin/bulk_action_confirmation.html``
    (whose ``object_headings`` and ``object_cells`` blocks describe the objects).
    """

    bulk_action_confirmation_template: str | None = None

    def get_action(self, action: Any) -> tuple[Any, str, str] | None:
        # By name too, as for an action that is a method: "bulk_hide" finds the declared one.
        if isinstance(action, str):
            action = next(
                (
                    declared
                    for declared in self.actions or ()
                    if isinstance(declared, ConfirmedBulkAction) and declared.__name__ == action
                ),
                action,
            )
        return super().get_action(action)

    def has_bulk_action_permission(self, request: HttpRequest, action: ConfirmedBulkAction) -> bool:
        """Return whether the user may run ``action``, as Django's actions machinery decides."""
        return any(
            getattr(self, f"has_{permission}_permission")(request)
            for permission in action.allowed_permissions
        )

    def confirmed_bulk_action(
        self, request: HttpRequest, queryset: QuerySet[Any], action: ConfirmedBulkAction
    ) -> TemplateResponse | None:
        """Show what ``action`` will change; once confirmed, apply it.

        The page re-posts the action, the selection and the input to the changelist, so Django's
        actions machinery (and its permission check) runs each step again:

        - from the changelist: the input form, or straight the preview when there is no input;
        - ``preview``: the input checked, then before -> after for the first rows, the input
          frozen;
        - ``edit``: the input form again, as it was filled in;
        - ``apply``: the input checked again and, if valid, ``form.apply()``, whose count of
          changed objects the message gives.

        Invalid input re-renders the form with its errors and changes nothing; so does a
        ValidationError raised by ``apply()``, which must then have written nothing. Return None
        once applied, so that the admin redirects back to the changelist.
        """
        # Django's actions machinery already refuses the action without the permission; this
        # keeps a direct call just as safe.
        if not self.has_bulk_action_permission(request, action):
            raise PermissionDenied
        form_class = action.form_class
        needs_input = bool(form_class.base_fields)
        step = next((name for name in (APPLY, PREVIEW, EDIT) if name in request.POST), None)
        bound = step is not None or not needs_input
        form = form_class(
            request.POST if bound else None, selection=queryset, admin_site=self.admin_site
        )
        confirming = bound and step != EDIT and form.is_valid()
        if confirming and step == APPLY:
            try:
                changed = form.apply(user=request.user)
            except ValidationError as error:
                # Found once the rows were locked (such as a price that no longer fits):
                # nothing was written; the input form shows why.
                form.add_error(None, error)
                confirming = False
            else:
                note = form.applied_note()
                self.message_user(
                    request,
                    f"{form.title}: {changed} {model_ngettext(self.opts, changed)} changed."
                    + (f" {note}" if note else ""),
                    messages.SUCCESS,
                )
                return None
        opts = self.opts
        changelist_url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist",
            current_app=self.admin_site.name,
        )
        if request.GET:  # the changelist's filters and search, which the selection went through
            changelist_url += f"?{request.GET.urlencode()}"
        context = {
            **self.admin_site.each_context(request),
            "title": form_class.title,
            "subtitle": None,
            "opts": opts,
            "app_label": opts.app_label,
            "form": form,
            "confirming": confirming,
            "needs_input": needs_input,
            "preview": form.preview(confirmed=confirming),
            "preview_limit": PREVIEW_LIMIT,
            "action_name": _posted_action(request),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "form_url": request.get_full_path(),
            "changelist_url": changelist_url,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            self.bulk_action_confirmation_template
            or [
                f"admin/{opts.app_label}/{opts.model_name}/bulk_action_confirmation.html",
                f"admin/{opts.app_label}/bulk_action_confirmation.html",
                "admin/bulk_action_confirmation.html",
            ],
            context,
        )


def _posted_action(request: HttpRequest) -> str:
    """Return the action being run: the changelist may post one select per action bar, and
    ``index`` says which was used (as in ``ModelAdmin.response_action``)."""
    names = request.POST.getlist("action")
    try:
        return names[int(request.POST.get("index", 0))]
    except (ValueError, IndexError):
        return names[0] if names else ""


# --- The audit trail ----------------------------------------------------------------------------


# Where DatabaseRulesAdminMixin keeps, for the second pass of a refused save, the refusal.
_REFUSAL_ATTRIBUTE = "_database_rule_refusal"


class DatabaseRulesAdminMixin(admin.ModelAdmin[Any]):
    """Show a save that a database rule refuses (a trigger's registered rule, see
    ``apps.core.database_rules``) as an error on the form, with what staff entered, where it
    would otherwise be a server error.

    The rule is one the form cannot check itself (it spans apps, or a concurrent writer got
    there first): the save is rolled back, and the page is built again from the same POST with
    the rule's message on the form, which so does not save.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError as error:
            rule = refused_rule(error)
            if rule is None or hasattr(request, _REFUSAL_ATTRIBUTE):
                raise
            # changeform_view's own transaction was rolled back: nothing of the save is left.
            setattr(request, _REFUSAL_ATTRIBUTE, rule[1])
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, _REFUSAL_ATTRIBUTE, None)
        if refusal is None:
            return form

        class RefusedForm(form):  # type: ignore[valid-type, misc]
            def clean(self) -> Any:
                cleaned = super().clean()
                self.add_error(None, refusal)
                return cleaned

        return RefusedForm


class AuditActionFilter(admin.SimpleListFilter):
    """Filter by action among the registered ones; no scan of the table for its values."""

    title = "action"
    parameter_name = "action"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> Sequence[tuple[str, str]]:
        return sorted(audit_actions().items(), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(action=value) if value else queryset


def _shown(value: Any) -> str:
    """Return a stored before/after value as text: a related object by its name, a list as its
    items separated by commas."""
    if isinstance(value, Mapping) and "name" in value:
        return str(value["name"])
    if isinstance(value, list) and value:
        return ", ".join(_shown(item) for item in value)
    return "-" if value is None or value in ("", []) else str(value)


AUDIT_ENTRY_FIELDS = (
    "created_at",
    "user",
    "username",
    "action",
    "content_type",
    "object_id",
    "object_link",
    "changes",
    "batch_link",
)


# The trail's objects whose own pages hold what only their managers may read.
AUDIT_RESTRICTED_MODELS = [("webhooks", "subscription")]


def _content_types_hidden_from(user: Any) -> list[int]:
    """Return the ids of the restricted models' content types ``user`` may not view."""
    return [
        ContentType.objects.get_by_natural_key(app_label, model).pk
        for app_label, model in AUDIT_RESTRICTED_MODELS
        if not user.has_perm(f"{app_label}.view_{model}")
    ]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Browse the audit trail. Nobody adds, changes or deletes an entry, superusers included."""

    list_display = [
        "created_at",
        "username",
        "action_label",
        "object_link",
        "changes",
        "batch_link",
    ]
    list_select_related = ["content_type"]
    list_filter = [AuditActionFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["object_repr", "username"]
    # The year/month drill-down runs a DISTINCT over dates of the whole table, and facet
    # counts one COUNT per filter choice: scans of a table that only grows.
    date_hierarchy = None
    show_facets = admin.ShowFacets.NEVER
    # Sorting by anything but time would sort the whole table.
    sortable_by = ["created_at"]
    show_full_result_count = False
    # Counts past settings.API_EXACT_COUNT_LIMIT rows are the planner's estimate: no full scan.
    paginator = EstimatingPaginator
    list_per_page = 100
    actions = []
    fields = AUDIT_ENTRY_FIELDS
    readonly_fields = AUDIT_ENTRY_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        """The entries of the objects the user may see: a Review moderator reads the trail of
        reviews, not of webhook subscriptions (whose target URLs may carry a receiver's
        token)."""
        entries = super().get_queryset(request)
        hidden = _content_types_hidden_from(request.user)
        return entries.exclude(content_type__in=hidden) if hidden else entries

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        if not super().has_view_permission(request, obj):
            return False
        return obj is None or obj.content_type_id not in _content_types_hidden_from(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    @admin.display(description="action", ordering="action")
    def action_label(self, entry: AuditEntry) -> str:
        return audit_actions().get(entry.action, entry.action)

    @admin.display(description="object")
    def object_link(self, entry: AuditEntry) -> SafeString | str:
        content_type = entry.content_type
        try:
            url = reverse(
                f"{self.admin_site.name}:{content_type.app_label}_{content_type.model}_change",
                args=[entry.object_id],
            )
        except NoReverseMatch:  # a model without an admin page
            return entry.object_repr
        return format_html('<a href="{}">{}</a>', url, entry.object_repr)

    @admin.display(description="before → after")
    def changes(self, entry: AuditEntry) -> SafeString:
        fields = list(dict.fromkeys([*entry.before, *entry.after]))
        return format_html_join(
            "",
            "<div><strong>{}</strong>: {} → {}</div>",
            (
                (name, _shown(entry.before.get(name)), _shown(entry.after.get(name)))
                for name in fields
            ),
        )

    @admin.display(description="batch")
    def batch_link(self, entry: AuditEntry) -> SafeString | str:
        if entry.batch is None:
            return "-"
        url = reverse(f"{self.admin_site.name}:core_auditentry_changelist")
        return format_html(
            '<a href="{}?batch={}" title="Every entry of this bulk action">{}</a>',
            url,
            entry.batch,
            str(entry.batch)[:8],
        )
