"""Bulk hide and restore in the review admin: confirmation, exact figures, audit, permissions."""

from functools import partial

import pytest
from django.contrib.admin import site
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.core.tests.helpers import post_bulk_action
from apps.products.models import Product
from apps.products.tests.factories import ProductFactory
from apps.reviews.models import Review
from apps.reviews.services import rating_figures_drift, review_hide
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.staff_permissions("reviews.view_review", "reviews.moderate_review"),
]

CHANGELIST = "admin:reviews_review_changelist"


@pytest.fixture
def reviews() -> list[Review]:
    """Five reviews: three on one product (ratings 5, 4, 1), two on another (3, 2)."""
    first, second = ProductFactory(), ProductFactory()
    return [
        ReviewFactory(product=first, rating=5),
        ReviewFactory(product=first, rating=4),
        ReviewFactory(product=first, rating=1),
        ReviewFactory(product=second, rating=3),
        ReviewFactory(product=second, rating=2),
    ]


# Post a bulk action to this changelist (see post_bulk_action).
run_action = partial(post_bulk_action, changelist=CHANGELIST)


def hidden(reviews: list[Review]) -> list[bool]:
    return [Review.objects.get(pk=review.pk).is_hidden for review in reviews]


def test_hide_asks_for_a_reason_then_shows_before_and_after(
    staff_client: Client, reviews: list[Review]
) -> None:
    form_page = run_action(staff_client, "bulk_hide", reviews[:2])
    preview = run_action(staff_client, "bulk_hide", reviews[:2], "preview", reason="Spam")

    assert form_page.status_code == 200
    assert b'name="reason"' in form_page.content
    assert preview.status_code == 200
    content = preview.content.decode()
    assert "no → <strong>yes</strong>" in content
    assert "- → <strong>Spam</strong>" in content
    assert "2 reviews selected:\n    2 will change" in content
    assert hidden(reviews) == [False] * 5


def test_hide_applies_to_exactly_the_selected_reviews_and_keeps_figures_exact(
    staff_client: Client, staff: User, reviews: list[Review]
) -> None:
    selected = [reviews[0], reviews[2], reviews[3]]

    response = run_action(staff_client, "bulk_hide", selected, "apply", reason="Off-topic")

    assert response.status_code == 302
    assert hidden(reviews) == [True, False, True, True, False]
    stored = Review.objects.get(pk=reviews[0].pk)
    assert (stored.hidden_reason, stored.hidden_by) == ("Off-topic", staff)
    assert rating_figures_drift() == []
    first = Product.objects.get(pk=reviews[0].product_id)
    assert (first.review_count, first.rating_sum) == (1, 4)
    entries = list(AuditEntry.objects.all())
    assert {entry.object_id for entry in entries} == {str(review.pk) for review in selected}
    assert len({entry.batch for entry in entries}) == 1
    for entry in entries:
        assert (entry.user, entry.action) == (staff, "reviews.hide")
        assert entry.content_type == ContentType.objects.get_for_model(Review)
        assert entry.before == {"is_hidden": False, "hidden_reason": ""}
        assert entry.after == {"is_hidden": True, "hidden_reason": "Off-topic"}


def test_restore_applies_to_the_hidden_selected_reviews_and_keeps_figures_exact(
    staff_client: Client, staff: User, reviews: list[Review]
) -> None:
    for review in reviews[:3]:
        review_hide(review=review, moderator=staff, reason="Spam")
    selected = [reviews[0], reviews[1], reviews[4]]  # reviews[4] is not hidden

    preview = run_action(staff_client, "bulk_restore", selected)
    response = run_action(staff_client, "bulk_restore", selected, "apply")

    assert preview.status_code == 200
    assert "2 will change, 1 already as asked" in preview.content.decode()
    assert "yes → <strong>no</strong>" in preview.content.decode()
    assert response.status_code == 302
    assert hidden(reviews) == [False, False, True, False, False]
    assert rating_figures_drift() == []
    entries = list(AuditEntry.objects.all())
    assert {entry.object_id for entry in entries} == {str(reviews[0].pk), str(reviews[1].pk)}
    assert len({entry.batch for entry in entries}) == 1
    for entry in entries:
        assert entry.action == "reviews.restore"
        assert entry.before == {"is_hidden": True, "hidden_reason": "Spam"}
        assert entry.after == {"is_hidden": False, "hidden_reason": ""}


def test_hiding_already_hidden_reviews_changes_nothing_about_them(
    staff_client: Client, staff: User, reviews: list[Review]
) -> None:
    review_hide(review=reviews[0], moderator=staff, reason="First reason")

    run_action(staff_client, "bulk_hide", reviews[:2], "apply", reason="Second reason")

    assert Review.objects.get(pk=reviews[0].pk).hidden_reason == "First reason"
    assert list(AuditEntry.objects.values_list("object_id", flat=True)) == [str(reviews[1].pk)]
    assert rating_figures_drift() == []


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
@pytest.mark.parametrize("step", ["preview", "apply"])
def test_hide_without_a_valid_reason_changes_nothing(
    staff_client: Client, reviews: list[Review], reason: str, step: str
) -> None:
    response = run_action(staff_client, "bulk_hide", reviews[:2], step, reason=reason)

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert b"errornote" in response.content
    assert hidden(reviews) == [False] * 5
    assert not AuditEntry.objects.exists()


def test_staff_who_may_not_moderate_are_not_offered_the_actions(
    client: Client, staff_with_perms, reviews: list[Review]
) -> None:  # type: ignore[no-untyped-def]
    editor = staff_with_perms("reviews.view_review", "reviews.change_review")
    client.force_login(editor)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    action_form = response.context["action_form"]
    offered = {name for name, _ in action_form.fields["action"].choices} if action_form else set()
    assert offered.isdisjoint({"bulk_hide", "bulk_restore"})


@pytest.mark.parametrize("action", ["bulk_hide", "bulk_restore"])
@pytest.mark.parametrize("step", [None, "preview", "apply"])
def test_staff_who_may_not_moderate_cannot_run_the_actions(
    client: Client, staff_with_perms, reviews: list[Review], action: str, step: str | None
) -> None:  # type: ignore[no-untyped-def]
    editor = staff_with_perms("reviews.view_review", "reviews.change_review")
    client.force_login(editor)
    moderator = staff_with_perms("reviews.moderate_review")
    review_hide(review=reviews[4], moderator=moderator, reason="Spam")

    response = run_action(client, action, reviews, step, reason="Mine")

    assert response.status_code in (200, 302)
    assert b"bulk-action-confirmation" not in response.content
    assert hidden(reviews) == [False, False, False, False, True]
    assert not AuditEntry.objects.exists()
    assert rating_figures_drift() == []


@pytest.mark.parametrize("action", ["bulk_hide", "bulk_restore"])
def test_an_action_called_directly_refuses_staff_who_may_not_moderate(
    rf, staff_with_perms, reviews: list[Review], action: str
) -> None:  # type: ignore[no-untyped-def]
    model_admin = site._registry[Review]
    request = rf.post(reverse(CHANGELIST), {"apply": "1", "reason": "Mine"})
    request.user = staff_with_perms("reviews.view_review", "reviews.change_review")
    run, _, _ = model_admin.get_action(action)

    # Past Django's actions machinery (which does not offer it), the action still refuses.
    with pytest.raises(PermissionDenied):
        run(model_admin, request, Review.objects.all())
    assert hidden(reviews) == [False] * 5
    assert not AuditEntry.objects.exists()
