"""Bulk moderation in the review admin: hide with a reason, restore.

Each goes through a confirmation page, then ``reviews_moderate`` runs every review through
``review_hide`` or ``review_restore`` (which keep the products' rating figures exact) in one
transaction, and records one audit entry per changed review, all sharing a batch id. Staff
without ``reviews.moderate_review`` are neither offered nor allowed to run them.
"""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from apps.core.admin import (
    PREVIEW_LIMIT,
    BulkActionForm,
    BulkPreview,
    ConfirmedBulkAction,
    ConfirmedBulkActionsMixin,
    FieldChange,
    PreviewRow,
)
from apps.core.services import register_audit_action
from apps.users.models import User

from .models import MODERATE_PERMISSION, Review
from .services import REVIEWS_HIDE_ACTION, REVIEWS_RESTORE_ACTION, reviews_moderate

REASON_LENGTH = Review._meta.get_field("hidden_reason").max_length or 500


class ModerationForm(BulkActionForm):
    """The input of a moderation action, and the state it leaves each review in."""

    audit_action: ClassVar[str]
    # The reviews the action changes: visible ones are hidden, hidden ones restored.
    changes_hidden: ClassVar[bool]

    def state_after(self) -> dict[str, Any]:
        """Return the moderation fields as the action leaves them, for preview and audit."""
        raise NotImplementedError

    def preview(self, *, confirmed: bool) -> BulkPreview:
        reviews = list(self.selection.select_related("product", "user")[:PREVIEW_LIMIT])
        after = self.state_after() if confirmed else None
        rows = []
        for review in reviews:
            before = _state(review)
            # Reviews already in the asked state are left alone.
            changing = review.is_hidden == self.changes_hidden
            target = after if after is not None and changing else before
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
            total=self.selection.count(),
            changing=(
                self.selection.filter(is_hidden=self.changes_hidden).count() if confirmed else None
            ),
            labels=["Hidden", "Reason"],
        )

    def apply(self, *, user: AbstractBaseUser | AnonymousUser) -> int:
        assert isinstance(user, User)
        after = self.state_after()
        return reviews_moderate(
            moderator=user,
            selection=self.selection,
            hide=after["is_hidden"],
            reason=after["hidden_reason"],
        )


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


class ReviewModerationActionsMixin(ConfirmedBulkActionsMixin, admin.ModelAdmin[Review]):
    """Bulk hide and restore for the review admin, each through a confirmation page, for staff
    who may moderate reviews.

    A ModelAdmin that sets its own ``actions`` keeps these by listing
    ``*ReviewModerationActionsMixin.actions`` among them.
    """

    actions = [
        ConfirmedBulkAction(
            "bulk_hide", HideForm, description="Hide selected reviews", permission="moderate"
        ),
        ConfirmedBulkAction(
            "bulk_restore",
            RestoreForm,
            description="Restore selected reviews",
            permission="moderate",
        ),
    ]

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        """Return whether the user may hide and restore reviews (the "moderate" actions)."""
        return request.user.has_perm(MODERATE_PERMISSION)
