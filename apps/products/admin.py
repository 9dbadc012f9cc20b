from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .images import validate_product_image
from .models import Category, Product, ProductImage
from .services import product_delete, product_image_delete


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


class ProductImageAdminForm(forms.ModelForm[ProductImage]):
    def clean_image(self) -> Any:
        image = self.cleaned_data["image"]
        # A new upload meets the API's rules; an image already stored was checked when it came.
        if image and "image" in self.changed_data:
            validate_product_image(image)
        return image


class ProductImageInlineFormSet(BaseInlineFormSet):
    def delete_existing(self, obj: ProductImage, commit: bool = True) -> None:
        # Through the service, so that the file goes too once the deletion is committed.
        if commit:
            product_image_delete(image=obj)


class ProductImageInline(admin.TabularInline[ProductImage, Product]):
    model = ProductImage
    form = ProductImageAdminForm
    formset = ProductImageInlineFormSet
    fields = ["image", "preview", "alt_text", "position"]
    readonly_fields = ["preview"]
    ordering = ["position", "id"]
    extra = 0

    @admin.display(description="Preview")
    def preview(self, image: ProductImage) -> SafeString | str:
        if not image.pk or not image.image:
            return "-"
        return format_html(
            '<img src="{}" alt="{}" style="max-height: 60px; max-width: 120px;">',
            image.image.url,
            image.alt_text,
        )


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
    inlines = [ProductImageInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "sku", "category", "description")}),
        ("Selling", {"fields": ("price", "stock", "is_active")}),
        (
            "Audit",
            {"fields": ("created_by", "review_count", "rating_sum", "created_at", "updated_at")},
        ),
    )

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        product_delete(product=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            product_delete(product=product)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
