from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from .admin_actions import ProductBulkActionsMixin
from .admin_changelist import ProductChangelistMixin
from .admin_import_export import ProductImportExportMixin
from .admin_variant_generation import ProductVariantGenerationMixin
from .admin_variants import VariantAdmin  # noqa: F401 (registers the variant changelist)
from .images import validate_product_image
from .models import REQUIRES_VARIANT_MESSAGE, Category, Product, ProductImage, Variant
from .services import category_validate_parent, product_delete, product_image_delete
from .variant_writes import (
    VARIANT_AUDIT_FIELDS,
    variant_audit_value,
    variant_audit_values,
    variants_audit,
)


class CategoryAdminForm(forms.ModelForm[Category]):
    def clean_parent(self) -> Category | None:
        parent = self.cleaned_data.get("parent")
        # The database refuses a cycle too; this says so on the form, next to the field.
        try:
            category_validate_parent(category=self.instance, parent=parent)
        except ValidationError as error:
            raise ValidationError(error.message_dict["parent"]) from error
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    """Categories as an indented tree (ordered by path), with their product counts."""

    form = CategoryAdminForm
    list_display = ["tree_name", "slug", "product_count", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "created_at", "updated_at"]
    show_full_result_count = False
    ordering = ["path"]
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        # A count per listed category on the product index, not a GROUP BY over every product.
        direct = (
            Product.objects.filter(category=OuterRef("pk"))
            .order_by()
            .values("category")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return super().get_queryset(request).annotate(direct_products=Coalesce(Subquery(direct), 0))

    @admin.display(description="name", ordering="path")
    def tree_name(self, category: Category) -> SafeString:
        # Indented 1.5em a level by an em and an en space: the Content-Security-Policy refuses
        # style attributes.
        return format_html(
            "{}{}{}", "\u2003\u2002" * category.depth, "└ " if category.depth else "", category.name
        )

    @admin.display(description="products (direct)", ordering="direct_products")
    def product_count(self, category: Category) -> SafeString:
        url = reverse("admin:products_product_changelist") + f"?category={category.pk}"
        return format_html('<a href="{}">{}</a>', url, category.direct_products)  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        obj.refresh_from_db(fields=["path"])  # set or rewritten by the database


class ProductImageAdminForm(forms.ModelForm[ProductImage]):
    def clean_image(self) -> Any:
        image = self.cleaned_data["image"]
        # A new upload meets the API's rules, and its clean copy is what is stored; an image
        # already stored was checked (and re-encoded) when it came.
        if image and "image" in self.changed_data:
            return validate_product_image(image)
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
            '<img src="{}" alt="{}" class="product-image-preview">',
            image.image.url,
            image.alt_text,
        )


class VariantInlineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # The database refuses it at commit too (products_product_requires_variant); this says
        # so on the page.
        kept = [
            form
            for form in self.forms
            if form.has_changed() or form.instance.pk
            if not getattr(form, "cleaned_data", {}).get("DELETE", False)
        ]
        if not kept:
            raise ValidationError(REQUIRES_VARIANT_MESSAGE)


class VariantInline(admin.TabularInline[Variant, Product]):
    """A product's variants, on its change page (a new product gets its first one from its own
    SKU, price and stock)."""

    model = Variant
    formset = VariantInlineFormSet
    fields = ["sku", "price", "stock", "is_active", "position", "option_ids"]
    ordering = ["position", "id"]
    extra = 0


@admin.register(Product)
class ProductAdmin(
    ProductVariantGenerationMixin,
    ProductImportExportMixin,
    ProductBulkActionsMixin,
    ProductChangelistMixin,
    admin.ModelAdmin[Product],
):
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    readonly_fields = [
        "created_by",
        "price_max",
        "variant_count",
        "review_count",
        "rating_sum",
        "latest_reviews",
        "created_at",
        "updated_at",
    ]
    inlines = [ProductImageInline, VariantInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "sku", "category", "description")}),
        ("Selling", {"fields": ("price", "price_max", "stock", "is_active", "variant_count")}),
        ("Reviews", {"fields": ("review_count", "rating_sum", "latest_reviews")}),
        ("Audit", {"fields": ("created_by", "created_at", "updated_at")}),
    )

    @admin.display(description="latest reviews")
    def latest_reviews(self, product: Product) -> SafeString | str:
        """The ten newest reviews, read-only, with links; all of them are one click away."""
        if product.pk is None:
            return "-"
        reviews = product.reviews.select_related("user").order_by("-created_at", "-id")[:10]
        rows = format_html_join(
            "",
            '<li><a href="{}">{} ★</a> by {}{}: {}</li>',
            (
                (
                    reverse("admin:reviews_review_change", args=[review.pk]),
                    review.rating,
                    review.user.username,
                    " (hidden)" if review.is_hidden else "",
                    Truncator(review.comment).chars(80),
                )
                for review in reviews
            ),
        )
        everything = (
            reverse("admin:reviews_review_changelist") + f"?product__id__exact={product.pk}"
        )
        return format_html(
            '<ul class="latest-reviews">{}</ul><a href="{}">All reviews of this product</a>',
            rows,
            everything,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.has_several_variants:
            # Their variants' summary: changed through the variants below.
            fields += ["sku", "price", "stock"]
        return fields

    def get_inline_instances(self, request: HttpRequest, obj: Product | None = None) -> Any:
        inlines = super().get_inline_instances(request, obj)
        if obj is None:
            # A new product gets its first variant from its own SKU, price and stock.
            return [inline for inline in inlines if not isinstance(inline, VariantInline)]
        return inlines

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        product_delete(product=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            product_delete(product=product)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if not isinstance(formset, VariantInlineFormSet):
            super().save_formset(request, form, formset, change)
            return
        # Each variant added, changed or deleted on the page gets an audit entry (before and
        # after), all of one save sharing a batch. The values before are the forms' initial
        # ones: validation has already set the new ones on the instances.
        before = {
            variant_form.instance.pk: {
                name: variant_audit_value(variant_form.initial.get(name))
                for name in variant_form.changed_data
            }
            for variant_form in formset.initial_forms
        }
        deleted = [
            Variant(
                pk=variant_form.instance.pk,
                product_id=variant_form.instance.product_id,
                **{name: variant_form.initial.get(name) for name in VARIANT_AUDIT_FIELDS},
            )
            for variant_form in formset.deleted_forms
            if variant_form.instance.pk is not None
        ]
        formset.save()
        variants_audit(
            user=request.user,
            added=formset.new_objects,
            changed=[
                (variant, before[variant.pk], variant_audit_values(variant, fields))
                for variant, fields in formset.changed_objects
            ],
            deleted=deleted,
        )
