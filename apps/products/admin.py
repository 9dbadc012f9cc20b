from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["name", "slug", "parent", "is_active", "updated_at"]
    list_select_related = ["parent"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = [
        "name",
        "sku",
        "category",
        "price",
        "stock",
        "is_active",
        "review_count",
        "updated_at",
    ]
    list_select_related = ["category"]
    list_filter = ["is_active", "created_at"]
    list_editable = ["price", "stock", "is_active"]
    search_fields = ["name", "=sku"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    readonly_fields = ["created_by", "review_count", "rating_sum", "created_at", "updated_at"]
    date_hierarchy = None
    show_full_result_count = False
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("name", "slug", "sku", "category", "description")}),
        ("Selling", {"fields": ("price", "stock", "is_active")}),
        (
            "Audit",
            {"fields": ("created_by", "review_count", "rating_sum", "created_at", "updated_at")},
        ),
    )

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
