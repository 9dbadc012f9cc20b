import pytest

from apps.core.models import AuditEntry
from apps.products.models import Product
from apps.products.tests.factories import ProductFactory
from apps.reviews.models import Review
from apps.reviews.services import (
    REVIEWS_HIDE_ACTION,
    REVIEWS_RESTORE_ACTION,
    rating_figures_drift,
    rating_figures_recompute,
    review_hide,
    review_update,
    review_vote_add,
    reviews_delete_for_user,
    reviews_moderate,
)
from apps.reviews.tests.factories import ReviewFactory
from apps.users.services import account_deletion_steps, user_delete
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_recompute_repairs_drifted_figures_and_reports_how_many() -> None:
    drifted, exact, empty = ProductFactory(), ProductFactory(), ProductFactory()
    ReviewFactory(product=drifted, rating=4)
    ReviewFactory(product=drifted, rating=2)
    ReviewFactory(product=exact, rating=5)
    # Consistent with themselves (the database insists), but not with the reviews.
    Product.objects.filter(pk=drifted.pk).update(
        rating_2_count=0, rating_4_count=0, rating_1_count=1, review_count=1, rating_sum=1
    )
    Product.objects.filter(pk=empty.pk).update(rating_3_count=1, review_count=1, rating_sum=3)

    changed = rating_figures_recompute()

    assert sorted(row["product_id"] for row in changed) == sorted([drifted.pk, empty.pk])
    assert (
        next(row for row in changed if row["product_id"] == empty.pk)["stored"]["review_count"] == 1
    )
    repaired = Product.objects.get(pk=drifted.pk)
    assert repaired.rating_sum == 6
    assert repaired.rating_histogram == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}
    assert Product.objects.get(pk=empty.pk).review_count == 0
    assert rating_figures_recompute() == []


def test_update_reads_the_stored_rating_not_a_stale_instance() -> None:
    review = ReviewFactory(rating=2)
    stale = Review.objects.get(pk=review.pk)
    review_update(review=review, rating=5)

    review_update(review=stale, comment="edited from a stale copy")

    product = Product.objects.get(pk=review.product_id)
    assert (product.review_count, product.rating_sum) == (1, 5)
    assert Review.objects.get(pk=review.pk).rating == 5


def test_deleting_a_user_takes_their_reviews_out_of_the_figures() -> None:
    leaving, staying = UserFactory(), UserFactory()
    first, second = ProductFactory(), ProductFactory()
    ReviewFactory(product=first, user=leaving, rating=1)
    ReviewFactory(product=second, user=leaving, rating=2)
    ReviewFactory(product=first, user=staying, rating=5)

    leaving_id = leaving.pk

    user_delete(user=leaving)

    assert not Review.objects.filter(user_id=leaving_id).exists()
    assert Product.objects.get(pk=first.pk).rating_sum == 5
    assert Product.objects.get(pk=second.pk).review_count == 0
    assert rating_figures_recompute() == []


def test_deleting_a_user_takes_their_helpful_votes_out_of_the_counts() -> None:
    leaving, staying = UserFactory(), UserFactory()
    voted_twice, voted_once = ReviewFactory(), ReviewFactory()
    review_vote_add(review=voted_twice, user=leaving)
    review_vote_add(review=voted_twice, user=staying)
    review_vote_add(review=voted_once, user=leaving)
    own = ReviewFactory(user=leaving)
    review_vote_add(review=own, user=staying)

    user_delete(user=leaving)

    voted_twice.refresh_from_db()
    voted_once.refresh_from_db()
    assert (voted_twice.helpful_count, voted_twice.votes.count()) == (1, 1)
    assert (voted_once.helpful_count, voted_once.votes.count()) == (0, 0)
    assert not Review.objects.filter(pk=own.pk).exists()


def test_account_deletion_runs_the_reviews_step() -> None:
    # users cannot import reviews (the layering): ReviewsConfig.ready() registers the step.
    # Without it, deleting an account would cascade to its reviews and leave the products'
    # figures counting them.
    assert reviews_delete_for_user in account_deletion_steps()


def test_moderate_hides_only_the_visible_reviews_and_audits_each() -> None:
    moderator = UserFactory(is_staff=True)
    product = ProductFactory()
    visible = ReviewFactory(product=product, rating=5)
    hidden = review_hide(
        review=ReviewFactory(product=product, rating=1), moderator=moderator, reason="Old."
    )

    changed = reviews_moderate(
        moderator=moderator,
        selection=Review.objects.filter(pk__in=[visible.pk, hidden.pk]),
        hide=True,
        reason="Spam.",
    )

    assert changed == 1
    visible.refresh_from_db()
    assert (visible.is_hidden, visible.hidden_reason, visible.hidden_by) == (
        True,
        "Spam.",
        moderator,
    )
    assert Review.objects.get(pk=hidden.pk).hidden_reason == "Old."  # left alone
    assert Product.objects.get(pk=product.pk).review_count == 0
    assert rating_figures_drift(product_ids=[product.pk]) == []
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.user) == (
        REVIEWS_HIDE_ACTION,
        str(visible.pk),
        moderator,
    )
    assert (entry.before, entry.after) == (
        {"is_hidden": False, "hidden_reason": ""},
        {"is_hidden": True, "hidden_reason": "Spam."},
    )


def test_moderate_restores_hidden_reviews() -> None:
    moderator = UserFactory(is_staff=True)
    review = ReviewFactory(rating=4)
    reviews_moderate(
        moderator=moderator, selection=Review.objects.filter(pk=review.pk), hide=True, reason="X"
    )

    changed = reviews_moderate(
        moderator=moderator, selection=Review.objects.filter(pk=review.pk), hide=False
    )

    review.refresh_from_db()
    assert (changed, review.is_hidden, review.hidden_reason) == (1, False, "")
    assert Product.objects.get(pk=review.product_id).review_count == 1
    restored = AuditEntry.objects.get(action=REVIEWS_RESTORE_ACTION)
    assert restored.after == {"is_hidden": False, "hidden_reason": ""}
