"""Review writes. Each one updates the product's stored rating figures (count, sum and the 1..5
histogram) in the same transaction, with relative ``UPDATE ... SET x = x + n`` statements, so
the figures stay exact whatever the interleaving of concurrent writers."""

import uuid
from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from apps.core.services import audit_record
from apps.core.transactions import retry_on_write_conflict
from apps.products.models import Product
from apps.users.models import User

from .models import OWN_REVIEW_VOTE_MESSAGE, Review, ReviewVote


def _adjust_product_figures(*, product_id: int, added: Counter[int], removed: Counter[int]) -> None:
    """Add the ratings in ``added`` to the product's figures and take out those in ``removed``."""
    changes = {
        f"rating_{stars}_count": F(f"rating_{stars}_count") + added[stars] - removed[stars]
        for stars in range(1, 6)
        if added[stars] != removed[stars]
    }
    if not changes:
        return
    count_delta = added.total() - removed.total()
    sum_delta = sum(s * n for s, n in added.items()) - sum(s * n for s, n in removed.items())
    Product.objects.filter(pk=product_id).update(
        review_count=F("review_count") + count_delta,
        rating_sum=F("rating_sum") + sum_delta,
        **changes,
    )


@retry_on_write_conflict
@transaction.atomic
def review_create(*, product: Product, user: User, rating: int, comment: str = "") -> Review:
    """Create a review and fold it into the product's rating figures.

    A second review of the same product by the same user violates the database's unique
    constraint, also when both arrive at the same instant; the API reports it as a 400.
    """
    review = Review.objects.create(product=product, user=user, rating=rating, comment=comment)
    _adjust_product_figures(product_id=product.pk, added=Counter([rating]), removed=Counter())
    return review


@retry_on_write_conflict
@transaction.atomic
def review_update(
    *, review: Review, rating: int | None = None, comment: str | None = None
) -> Review:
    """Change a review's rating or comment, keeping the product's figures exact."""
    # Lock the row and read the stored rating: the instance may be stale under concurrency.
    stored = Review.objects.select_for_update().get(pk=review.pk)
    if rating is not None and rating != stored.rating and not stored.is_hidden:
        _adjust_product_figures(
            product_id=stored.product_id, added=Counter([rating]), removed=Counter([stored.rating])
        )
    if rating is not None:
        stored.rating = rating
    if comment is not None:
        stored.comment = comment
    stored.save(update_fields=["rating", "comment", "updated_at"])
    stored.user = review.user  # already loaded; saves the caller a query when rendering
    return stored


@retry_on_write_conflict
@transaction.atomic
def review_delete(*, review: Review) -> None:
    """Delete a review and take it out of the product's rating figures."""
    stored = Review.objects.select_for_update().filter(pk=review.pk).first()
    if stored is None:
        return  # already deleted by a concurrent request
    stored.delete()
    if not stored.is_hidden:  # a hidden review is already out of the figures
        _adjust_product_figures(
            product_id=stored.product_id, added=Counter(), removed=Counter([stored.rating])
        )


@retry_on_write_conflict
@transaction.atomic
def reviews_delete_for_user(*, user: User) -> None:
    """Delete every review by ``user``, taking each out of its product's figures, and their
    helpful votes, taking each out of its review's ``helpful_count``."""
    # Locked, then grouped per product; a fixed product order keeps two such deletions from
    # deadlocking each other.
    ratings = (
        Review.objects.select_for_update().filter(user=user, is_hidden=False).order_by("product_id")
    )
    per_product: dict[int, Counter[int]] = {}
    for product_id, rating in ratings.values_list("product_id", "rating"):
        per_product.setdefault(product_id, Counter())[rating] += 1
    for product_id, removed in per_product.items():
        _adjust_product_figures(product_id=product_id, added=Counter(), removed=removed)
    Review.objects.filter(user=user).delete()
    # The user's helpful votes on other people's reviews go with the account; take each out of
    # its review's count. Reviews locked in id order, as review_vote_add locks one.
    voted_on = Review.objects.filter(votes__user=user)
    list(voted_on.select_for_update().order_by("pk").values_list("pk"))
    voted_on.update(helpful_count=F("helpful_count") - 1)
    ReviewVote.objects.filter(user=user).delete()


@retry_on_write_conflict
@transaction.atomic
def review_hide(*, review: Review, moderator: User, reason: str) -> Review:
    """Hide a review from the public with a reason, and take it out of the product's figures."""
    stored = Review.objects.select_for_update().get(pk=review.pk)
    if not stored.is_hidden:
        _adjust_product_figures(
            product_id=stored.product_id, added=Counter(), removed=Counter([stored.rating])
        )
    stored.is_hidden, stored.hidden_reason = True, reason
    stored.hidden_by, stored.hidden_at = moderator, timezone.now()
    stored.save(update_fields=["is_hidden", "hidden_reason", "hidden_by", "hidden_at"])
    return stored


@retry_on_write_conflict
@transaction.atomic
def review_restore(*, review: Review) -> Review:
    """Show a hidden review again and fold it back into the product's figures."""
    stored = Review.objects.select_for_update().get(pk=review.pk)
    if stored.is_hidden:
        _adjust_product_figures(
            product_id=stored.product_id, added=Counter([stored.rating]), removed=Counter()
        )
    stored.is_hidden, stored.hidden_reason, stored.hidden_by, stored.hidden_at = (
        False,
        "",
        None,
        None,
    )
    stored.save(update_fields=["is_hidden", "hidden_reason", "hidden_by", "hidden_at"])
    return stored


# The audit trail's names of the moderation actions.
REVIEWS_HIDE_ACTION = "reviews.hide"
REVIEWS_RESTORE_ACTION = "reviews.restore"


def _moderation_state(review: Review) -> dict[str, Any]:
    return {"is_hidden": review.is_hidden, "hidden_reason": review.hidden_reason}


@retry_on_write_conflict
@transaction.atomic
def reviews_moderate(
    *, moderator: User, selection: QuerySet[Review], hide: bool, reason: str = ""
) -> int:
    """Hide (with ``reason``) or restore every selected review not already so, through
    ``review_hide`` and ``review_restore``, and audit each; return how many reviews changed."""
    # Locked first, products then ids in order, so that the state read is the one changed and
    # two bulk moderations take their locks in the same order.
    reviews = list(
        Review.objects.filter(pk__in=selection.values("pk"), is_hidden=not hide)
        .select_for_update()
        .order_by("product_id", "pk")
        .only("pk", "product_id", "user_id", "rating", "is_hidden", "hidden_reason")
    )
    after = {"is_hidden": hide, "hidden_reason": reason if hide else ""}
    changes = []
    for review in reviews:
        before = _moderation_state(review)
        if hide:
            review_hide(review=review, moderator=moderator, reason=reason)
        else:
            review_restore(review=review)
        changes.append((review, before, after))
    audit_record(
        user=moderator,
        action=REVIEWS_HIDE_ACTION if hide else REVIEWS_RESTORE_ACTION,
        objects_before_after=changes,
        batch=uuid.uuid4(),
    )
    return len(reviews)


@retry_on_write_conflict
@transaction.atomic
def review_vote_add(*, review: Review, user: User) -> Review:
    """Record that ``user`` found ``review`` helpful.

    One vote per user per review and none on one's own are database rules as well; a second
    vote sent at the same instant is refused by the unique constraint (a 400).
    """
    if review.user_id == user.pk:
        raise ValidationError({"review": OWN_REVIEW_VOTE_MESSAGE})
    ReviewVote.objects.create(review=review, user=user)
    Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") + 1)
    review.refresh_from_db(fields=["helpful_count"])
    return review


@retry_on_write_conflict
@transaction.atomic
def review_vote_remove(*, review: Review, user: User) -> Review:
    """Take back ``user``'s helpful vote on ``review``, if any."""
    deleted, _ = ReviewVote.objects.filter(review=review, user=user).delete()
    if deleted:
        Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") - 1)
    review.refresh_from_db(fields=["helpful_count"])
    return review


FIGURES = [*(f"rating_{n}_count" for n in range(1, 6)), "review_count", "rating_sum"]


def _drift_sql(only: str) -> str:
    """SQL comparing stored figures with a fresh aggregate of the visible reviews."""
    products = Product._meta.db_table
    reviews = Review._meta.db_table
    per_star = ", ".join(
        f"COUNT(*) FILTER (WHERE rating = {n}) AS rating_{n}_count" for n in range(1, 6)
    )
    fresh = ", ".join(f"COALESCE(r.{name}, 0) AS fresh_{name}" for name in FIGURES)
    stored = ", ".join(f"q.{name}" for name in FIGURES)
    fresh_row = ", ".join(f"COALESCE(r.{name}, 0)" for name in FIGURES)
    return f"""
        SELECT q.id, {stored}, {fresh}
        FROM {products} AS q
        LEFT JOIN (
            SELECT product_id, COUNT(*) AS review_count, SUM(rating) AS rating_sum, {per_star}
            FROM {reviews} WHERE NOT is_hidden GROUP BY product_id
        ) AS r ON r.product_id = q.id
        WHERE ({stored}) IS DISTINCT FROM ({fresh_row}) {only}
        ORDER BY q.id
    """


def rating_figures_drift(*, product_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Return each product whose stored rating figures differ from its visible reviews, with
    the stored and the correct figures."""
    only = "AND q.id = ANY(%s)" if product_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(_drift_sql(only), [product_ids] if product_ids is not None else [])
        rows = cursor.fetchall()
    n = len(FIGURES)
    return [
        {
            "product_id": row[0],
            "stored": dict(zip(FIGURES, row[1 : 1 + n], strict=True)),
            "correct": dict(zip(FIGURES, row[1 + n :], strict=True)),
        }
        for row in rows
    ]


@retry_on_write_conflict
@transaction.atomic
def rating_figures_recompute(*, product_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Repair every product whose figures drifted; return what was changed (see drift)."""
    drifted = rating_figures_drift(product_ids=product_ids)
    if not drifted:
        return []
    ids = [row["product_id"] for row in drifted]
    # Lock in id order, then recompute from the reviews as they are under the lock.
    list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    drifted = rating_figures_drift(product_ids=ids)
    for row in drifted:
        Product.objects.filter(pk=row["product_id"]).update(**row["correct"])
    return drifted
