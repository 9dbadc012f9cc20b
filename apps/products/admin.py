from collections import defaultdict
from typing import Any, ClassVar

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
from .admin_attribute_fields import FIELD_PREFIX, AttributeField, type_attribute_fields
from .admin_changelist import ProductChangelistMixin
from .admin_import_export import ProductImportExportMixin
from .admin_variant_generation import ProductVariantGenerationMixin
from .admin_variants import VariantAdmin  # noqa: F401 (registers the variant changelist)
from .attribute_values import ATTRIBUTES_FIELD, product_attributes_validate
from .images import validate_product_image
from .models import (
    REQUIRES_VARIANT_MESSAGE,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    Variant,
)
from .services import (
    category_validate_parent,
    product_delete,
    product_image_delete,
    product_update,
    variant_update,
)
from .variant_generation import Axis, options_fit_axes, product_type_axes
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
        # The database checks it at commit (one option of each axis of the product's type, none
        # without axes), where a refusal is a server error; this says so on the page, with the
        # type as the product form leaves it.
        axes = product_type_axes(self.instance.product_type_id)
        misfits = [
            form.cleaned_data.get("sku") or form.instance.sku
            for form in kept
            if not options_fit_axes(form.cleaned_data.get("option_ids") or [], axes)
        ]
        if misfits:
            names = ", ".join(axis.attribute.name for axis in axes) or "none: it has no axes"
            raise ValidationError(
                f"Each variant needs one option of each axis of the product's type ({names}); "
                f"these do not: {', '.join(misfits)}."
            )


class VariantInline(admin.TabularInline[Variant, Product]):
    """A product's variants, on its change page (a new product gets its first one from its own
    SKU, price and stock)."""

    model = Variant
    formset = VariantInlineFormSet
    fields = ["sku", "price", "stock", "is_active", "position", "option_ids"]
    ordering = ["position", "id"]
    extra = 0


# The prefix of the add page's field for the first variant's option of an axis.
FIRST_VARIANT_PREFIX = "first_variant_"


def first_variant_field(axis: Axis) -> forms.ChoiceField:
    """Return the add page's field for the first variant's option of ``axis``."""
    name = axis.attribute.name
    return forms.ChoiceField(
        label=f"First variant's {name.lower()}",
        choices=[("", "---------"), *((option.slug, option.value) for option in axis.options)],
        error_messages={
            "required": f"The type has the variant axis {name}: choose the first variant's."
        },
    )


class ProductAdminForm(forms.ModelForm[Product]):
    """The product form, with a field per non-axis attribute of the product's (stored) type
    (``attribute_fields``, set by ``ProductAdmin.get_form``) holding its values."""

    attribute_fields: ClassVar[list[AttributeField]] = []
    # On the add page, the variant axes of the type posted, with a field each for the first
    # variant's option (``first_variant_<slug>``; set by ``ProductAdmin.get_form``).
    first_variant_axes: ClassVar[list[Axis]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None or not self.attribute_fields:
            return
        stored: dict[int, list[ProductAttributeValue]] = defaultdict(list)
        for row in ProductAttributeValue.objects.filter(product_id=self.instance.pk):
            stored[row.attribute_id].append(row)
        for field in self.attribute_fields:
            self.initial.setdefault(field.name, field.initial(stored[field.attribute.pk]))

    def clean_product_type(self) -> Any:
        product_type = self.cleaned_data.get("product_type")
        # A new product of a type with axes gives its first variant's options (the database
        # makes that variant without them: products_product_default_variant). The add page
        # shows their fields for the type posted (ProductAdmin.get_first_variant_axes); a type
        # whose axes they are not was chosen after them.
        axes: list[Axis] = (
            product_type_axes(getattr(product_type, "pk", None)) if self.instance.pk is None else []
        )
        given = [axis.attribute.pk for axis in self.first_variant_axes]
        if [axis.attribute.pk for axis in axes] != given:
            raise ValidationError(
                "This type's variant axes differ from the first variant's options below: "
                "choose them again."
            )
        return product_type

    def first_variant_options(self) -> dict[str, str]:
        """Return the new product's first variant's options: ``{axis_slug: option_slug}``."""
        return {
            axis.attribute.slug: self.cleaned_data[f"{FIRST_VARIANT_PREFIX}{axis.attribute.slug}"]
            for axis in self.first_variant_axes
        }

    def attribute_values(self, fields: list[AttributeField]) -> dict[str, Any]:
        """Return the values of ``fields`` as filled in, as ``product_update(attributes=...)``
        takes them: ``{slug: value}``, None for no value."""
        return {
            field.attribute.slug: field.service_value(self.cleaned_data.get(field.name))
            for field in fields
        }

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.instance.pk is not None and self.attribute_fields:
            # The products services' own validation (product_update runs it again on save),
            # against the stored type whose fields these are; its errors name
            # attributes.<slug>, shown on the attribute's field.
            try:
                product_attributes_validate(
                    self.instance.product_type, self.attribute_values(self.attribute_fields)
                )
            except ValidationError as error:
                for key, messages in error.message_dict.items():
                    name = key.replace(f"{ATTRIBUTES_FIELD}.", FIELD_PREFIX, 1)
                    self.add_error(name if name in self.fields else None, messages)
        return cleaned


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
    form = ProductAdminForm
    fieldsets = (
        (None, {"fields": ("name", "slug", "sku", "category", "product_type", "description")}),
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

    def get_attribute_fields(
        self, request: HttpRequest, obj: Product | None
    ) -> list[AttributeField]:
        """Return the attribute fields of ``obj``'s stored type, read once per request."""
        type_id = obj.product_type_id if obj is not None else None
        cache: dict[int | None, list[AttributeField]] = request.__dict__.setdefault(
            "_product_attribute_fields", {}
        )
        if type_id not in cache:
            cache[type_id] = type_attribute_fields(type_id)
        return cache[type_id]

    def get_first_variant_axes(self, request: HttpRequest, obj: Product | None) -> list[Axis]:
        """Return, on the add page, the variant axes of the type posted (or given in the query
        string), read once per request: the first variant's options are asked for them."""
        if obj is not None:
            return []
        if "_first_variant_axes" not in request.__dict__:
            posted = request.POST.get("product_type") or request.GET.get("product_type") or ""
            type_id = int(posted) if posted.isascii() and posted.isdecimal() else None
            request.__dict__["_first_variant_axes"] = product_type_axes(type_id)
        axes: list[Axis] = request.__dict__["_first_variant_axes"]
        return axes

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        fields = self.get_attribute_fields(request, obj)
        if fields:
            # After the first fieldset. A type changed on the page shows its fields once saved.
            names: list[str | list[str] | tuple[str, ...] | tuple[()]] = [f.name for f in fields]
            fieldsets.insert(1, ("Attributes", {"fields": names}))
        axes = self.get_first_variant_axes(request, obj)
        if axes:
            # A type with axes chosen on the add page: the page comes back with these to fill
            # in (no script), and the product is added with its first variant's options.
            option_names: list[str | list[str] | tuple[str, ...] | tuple[()]] = [
                f"{FIRST_VARIANT_PREFIX}{axis.attribute.slug}" for axis in axes
            ]
            fieldsets.insert(1, ("First variant", {"fields": option_names}))
        return fieldsets

    def get_form(
        self, request: HttpRequest, obj: Product | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        fields = self.get_attribute_fields(request, obj)
        axes = self.get_first_variant_axes(request, obj)
        if fields or axes:
            kwargs["form"] = type(
                "ProductAdminForm",
                (kwargs.get("form", self.form),),
                {
                    "attribute_fields": fields,
                    "first_variant_axes": axes,
                    **{field.name: field.form_field() for field in fields},
                    **{
                        f"{FIRST_VARIANT_PREFIX}{axis.attribute.slug}": first_variant_field(axis)
                        for axis in axes
                    },
                },
            )
        return super().get_form(request, obj, change, **kwargs)

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
        fields: list[AttributeField] = getattr(form, "attribute_fields", [])
        if change and fields:
            if "product_type" in form.changed_data:
                # Only the values of attributes the new type shares are kept, as filled in:
                # the others go before the type changes (the database refuses a type its
                # product's values do not fit). The new type's fields show once saved.
                kept = {field.attribute.pk for field in type_attribute_fields(obj.product_type_id)}
                fields = [field for field in fields if field.attribute.pk in kept]
            # Through the service, which validates and replaces all the product's values; on
            # the product as stored (``obj`` carries the form's other changes, which the
            # service's refresh of the summary fields would undo; they are saved below).
            product_update(
                product=Product.objects.get(pk=obj.pk), attributes=form.attribute_values(fields)
            )
        super().save_model(request, obj, form, change)
        if not change and form.first_variant_axes:
            # The database made the first variant without options; they are checked before
            # the service returns.
            variant_update(variant=obj.variants.get(), options=form.first_variant_options())

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
