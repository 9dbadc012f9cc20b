from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.products.models import Product

MIN_RATING = 1
MAX_RATING = 5


class ReviewQuerySet(models.QuerySet["Review"]):
    def public(self) -> "ReviewQuerySet":
        """Return reviews a shopper may see: those of active products."""
        return self.filter(product__is_active=True, product__category__is_active=True)

    def for_list(self) -> "ReviewQuerySet":
        """Return reviews with their author, in one query."""
        return self.select_related("user")


class Review(TimeStampedModel):
    """One user's rating and comment on one product; at most one per (product, user)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_RATING), MaxValueValidator(MAX_RATING)]
    )
    comment = models.TextField(blank=True, max_length=5000)

    objects: ClassVar[ReviewQuerySet] = ReviewQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at", "-id"]
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
        ]
        indexes = [
            models.Index(fields=["product", "-created_at", "-id"], name="review_product_newest"),
            models.Index(fields=["user", "-created_at"], name="review_user_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 on {self.product_id} by {self.user_id}"
