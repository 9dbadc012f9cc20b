from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.database_rules import register_database_rule
from apps.core.models import TimeStampedModel
from apps.products.models import Product

MIN_RATING = 1
MAX_RATING = 5
MODERATE_PERMISSION = "reviews.moderate_review"

OWN_REVIEW_VOTE_RULE = "reviews_vote_not_own_review"
OWN_REVIEW_VOTE_MESSAGE = "You cannot vote for your own review."
# The trigger reviews_vote_not_own_review raises this; the API reports it on ``review``.
register_database_rule(OWN_REVIEW_VOTE_RULE, field="review", message=OWN_REVIEW_VOTE_MESSAGE)


class ReviewQuerySet(models.QuerySet["Review"]):
    def public(self) -> "ReviewQuerySet":
        """Return reviews a shopper may see: not hidden, of active products."""
        return self.filter(
            is_hidden=False, product__is_active=True, product__category__is_active=True
        )

    def visible_to(self, user: object) -> "ReviewQuerySet":
        """Return every review for moderators, the public ones for anyone else."""
        if getattr(user, "is_staff", False) and user.has_perm(MODERATE_PERMISSION):  # type: ignore[attr-defined]
            return self
        return self.public()

    def for_list(self) -> "ReviewQuerySet":
        """Return reviews with their author, in one query."""
        return self.select_related("user")


class Review(TimeStampedModel):
    """One user's rating and comment on one product; at most one per (product, user).

    A hidden review (moderated away) stays stored but drops out of public lists and out of the
    product's rating figures.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_RATING), MaxValueValidator(MAX_RATING)]
    )
    comment = models.TextField(blank=True, max_length=5000)
    # Kept by apps.reviews.services with every vote, like the product's figures.
    helpful_count = models.IntegerField(default=0, editable=False)
    is_hidden = models.BooleanField(default=False, editable=False)
    hidden_reason = models.CharField(max_length=500, blank=True, editable=False)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[ReviewQuerySet] = ReviewQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("moderate_review", "Can hide and restore reviews")]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "user"],
                name="reviews_review_one_per_user_and_product",
                violation_error_message="You have already reviewed this product.",
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=MIN_RATING, rating__lte=MAX_RATING),
                name="reviews_review_rating_in_range",
                violation_error_message="Rating must be between 1 and 5.",
            ),
            models.CheckConstraint(
                condition=Q(helpful_count__gte=0),
                name="reviews_review_helpful_count_not_negative",
                violation_error_message="Helpful votes cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(is_hidden=False, hidden_at__isnull=True)
                | (Q(is_hidden=True, hidden_at__isnull=False) & ~Q(hidden_reason="")),
                name="reviews_review_hidden_with_reason",
                violation_error_message="A hidden review needs a reason.",
            ),
        ]
        indexes = [
            # Not partial: the storefront's lists (visible only) and the admin's (all) share it.
            models.Index(fields=["product", "-created_at", "-id"], name="review_product_newest"),
            models.Index(
                fields=["product", "-helpful_count", "-id"],
                condition=Q(is_hidden=False),
                name="review_product_helpful",
            ),
            models.Index(fields=["user", "-created_at"], name="review_user_newest"),
            # The moderation queue, newest first, and the admin dashboard's recent reviews.
            models.Index(fields=["-created_at", "-id"], name="review_newest"),
            # The moderation queue: hidden reviews, newest first.
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(is_hidden=True),
                name="review_hidden_newest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 on {self.product_id} by {self.user_id}"


class ReviewVote(models.Model):
    """One user's "this review helped me"; at most one per (review, user), never on one's own."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_votes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["review", "user"],
                name="reviews_vote_one_per_user",
                violation_error_message="You have already marked this review as helpful.",
            )
        ]
        indexes = [models.Index(fields=["user"], name="reviewvote_user")]

    def __str__(self) -> str:
        return f"{self.user_id} found {self.review_id} helpful"
