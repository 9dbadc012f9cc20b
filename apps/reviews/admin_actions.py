"""Bulk moderation in the review admin: hide with a reason, restore.

Each goes through a confirmation page, then ``reviews_moderate`` runs every review through
``review_hide`` or ``review_restore`` (which keep the products' rating figures exact) in one
transaction, and records one audit entry per changed review, all sharing a batch id. Staff
without ``reviews.moderate_review`` are neither offered nor allowed to run them.
"""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from apps.core.admin import (
    PREVIEW_LIMIT,
    BulkActionForm,
    BulkPreview,
    FieldChange,
    PreviewRow,
    bulk_action_view,
)
from apps.core.services import register_audit_action
from apps.users.models import User

from .models import MODERATE_PERMISSION, Review
from .services import REVIEWS_HIDE_ACTION, REVIEWS_RESTORE_ACTION, reviews_moderate

TEMPLATE = "admin/reviews/bulk_action_confirmation.html"
REASON_LENGTH = Review._meta.get_field("hidden_reason").max_length or 500


class ModerationForm(BulkActionForm):
    """The input of a moderation action, and the state it leaves each review in."""

    audit_action: ClassVar[str]
    title: ClassVar[str]
    # The reviews the action changes: visible ones are hidden, hidden ones restored.
    changes_hidden: ClassVar[bool]

    def state_after(self) -> dict[str, Any]:
        """Return the moderation fields as the action leaves them, for preview and audit."""
        raise NotImplementedError


class HideForm(ModerationForm):
    audit_action = REVIEWS_HIDE_ACTION
    title = "Hide reviews"
    changes_hidden = False

    reason = forms.CharField(
        max_length=REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept with each review and shown to moderators.",
    )

    def state_after(self) -> dict[str, Any]:
        return {"is_hidden": True, "hidden_reason": self.cleaned_data["reason"]}


class RestoreForm(ModerationForm):
    audit_action = REVIEWS_RESTORE_ACTION
    title = "Restore reviews"
    changes_hidden = True

    def state_after(self) -> dict[str, Any]:
        return {"is_hidden": False, "hidden_reason": ""}


for _form in (HideForm, RestoreForm):
    register_audit_action(_form.audit_action, label=_form.title)


def _state(review: Review) -> dict[str, Any]:
    return {"is_hidden": review.is_hidden, "hidden_reason": review.hidden_reason}


def _shown(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value or "-"


def reviews_moderation_preview(
    *, selection: QuerySet[Review], form: ModerationForm | None, changes_hidden: bool
) -> BulkPreview:
    """Return the first selected reviews with their state now and, once the input is known,
    after the action, with how many reviews it changes."""
    reviews = list(selection.select_related("product", "user")[:PREVIEW_LIMIT])
    after = form.state_after() if form is not None else None
    rows = []
    for review in reviews:
        before = _state(review)
        # Reviews already in the asked state are left alone.
        target = after if after is not None and review.is_hidden == changes_hidden else before
        rows.append(
            PreviewRow(
                obj=review,
                changes=[
                    FieldChange(
                        label=label,
                        before=_shown(before[name]),
                        after=_shown(target[name]) if after is not None else None,
                    )
                    for name, label in (("is_hidden", "Hidden"), ("hidden_reason", "Reason"))
                ],
            )
        )
    return BulkPreview(
        rows=rows,
        total=selection.count(),
        changing=(selection.filter(is_hidden=changes_hidden).count() if form is not None else None),
        labels=["Hidden", "Reason"],
    )


class ReviewModerationActionsMixin(admin.ModelAdmin[Review]):
    """Bulk hide and restore for the review admin, each through a confirmation page.

    A ModelAdmin that sets its own ``actions`` keeps these by listing
    ``*ReviewModerationActionsMixin.actions`` among them.
    """

    actions = ["bulk_hide", "bulk_restore"]

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        """Return whether the user may hide and restore reviews (the "moderate" actions)."""
        return request.user.has_perm(MODERATE_PERMISSION)

    @admin.action(description="Hide selected reviews", permissions=["moderate"])
    def bulk_hide(
        self, request: HttpRequest, queryset: QuerySet[Review]
    ) -> TemplateResponse | None:
        return self.review_moderation_action(request, queryset, HideForm)

    @admin.action(description="Restore selected reviews", permissions=["moderate"])
    def bulk_restore(
        self, request: HttpRequest, queryset: QuerySet[Review]
    ) -> TemplateResponse | None:
        return self.review_moderation_action(request, queryset, RestoreForm)

    def review_moderation_action(
        self, request: HttpRequest, queryset: QuerySet[Review], form_class: type[ModerationForm]
    ) -> TemplateResponse | None:
        """Run one moderation action through its confirmation page."""
        # Django's actions machinery already refuses the action without the permission; this
        # keeps a direct call just as safe.
        if not self.has_moderate_permission(request):
            raise PermissionDenied

        def preview(form: BulkActionForm | None) -> BulkPreview:
            assert form is None or isinstance(form, ModerationForm)
            return reviews_moderation_preview(
                selection=queryset, form=form, changes_hidden=form_class.changes_hidden
            )

        def apply(form: BulkActionForm) -> str:
            assert isinstance(form, ModerationForm)
            assert isinstance(request.user, User)
            after = form.state_after()
            changed = reviews_moderate(
                moderator=request.user,
                selection=queryset,
                hide=after["is_hidden"],
                reason=after["hidden_reason"],
            )
            return f"{form.title}: {changed} review{'' if changed == 1 else 's'} changed."

        return bulk_action_view(
            self,
            request,
            queryset,
            form_class=form_class,
            title=form_class.title,
            template_name=TEMPLATE,
            preview=preview,
            apply=apply,
        )
