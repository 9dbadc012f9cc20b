from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.core.pagination import EstimatingPaginator

from .admin_actions import ReviewModerationActionsMixin
from .models import MAX_RATING, MIN_RATING, Review
from .services import review_create, review_delete, review_update


class StarsFilter(admin.SimpleListFilter):
    """Ratings 1 to 5, listed as constants: no SELECT DISTINCT over millions of reviews."""

    title = "rating"
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(stars), f"{stars} stars") for stars in range(MAX_RATING, MIN_RATING - 1, -1)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Review]) -> QuerySet[Review]:
        value = self.value()
        return queryset.filter(rating=int(value)) if value and value.isdecimal() else queryset


@admin.register(Review)
class ReviewAdmin(ReviewModerationActionsMixin, admin.ModelAdmin[Review]):
    """The moderation queue: newest first, filtered by state and rating, linked to product and
    author."""

    list_display = [
        "product_link",
        "author_link",
        "rating",
        "helpful_count",
        "is_hidden",
        "created_at",
    ]
    list_select_related = ["product", "user"]
    list_filter = ["is_hidden", StarsFilter, "created_at"]
    ordering = ["-created_at", "-id"]
    # Past API_EXACT_COUNT_LIMIT, the planner's estimate instead of counting millions of rows.
    paginator = EstimatingPaginator
    show_full_result_count = False
    search_fields = ["product__name", "=product__sku", "user__username", "user__email"]
    autocomplete_fields = ["product", "user"]
    readonly_fields = [
        "helpful_count",
        "is_hidden",
        "hidden_reason",
        "hidden_by",
        "hidden_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="product", ordering="product__name")
    def product_link(self, review: Review) -> SafeString:
        url = reverse("admin:products_product_change", args=[review.product_id])
        return format_html('<a href="{}">{}</a>', url, review.product.name)

    @admin.display(description="author", ordering="user__username")
    def author_link(self, review: Review) -> SafeString:
        url = reverse("admin:users_user_change", args=[review.user_id])
        return format_html('<a href="{}">{}</a>', url, review.user.username)

    def get_readonly_fields(self, request: HttpRequest, obj: Review | None = None) -> Any:
        # A review stays with its product and author; only its content is edited.
        if obj is not None:
            return ["product", "user", *self.readonly_fields]
        return self.readonly_fields

    # Every write goes through the services, which keep the product's rating figures exact.
    def save_model(self, request: HttpRequest, obj: Review, form: Any, change: bool) -> None:
        if change:
            review_update(review=obj, rating=obj.rating, comment=obj.comment)
        else:
            created = review_create(
                product=obj.product, user=obj.user, rating=obj.rating, comment=obj.comment
            )
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Review) -> None:
        review_delete(review=obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            review_delete(review=review)
