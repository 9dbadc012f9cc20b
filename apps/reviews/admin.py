from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Review
from .services import review_create, review_delete, review_update


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ["product", "user", "rating", "helpful_count", "is_hidden", "created_at"]
    list_select_related = ["product", "user"]
    list_filter = ["is_hidden", "rating", "created_at"]
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
    show_full_result_count = False

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
