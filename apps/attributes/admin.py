from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.core.admin import DatabaseRulesAdminMixin

from .models import (
    ATTRIBUTE_KIND_AXIS_MESSAGE,
    AXIS_KINDS,
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)
from .services import attribute_delete, swatch_files_delete_on_commit
from .swatches import validate_swatch_image

# Drags the rows of an inline whose fieldset has this class and renumbers their ``position``
# (static/js/sortable_inline.js; a static file, as the Content-Security-Policy wants).
SORTABLE = "sortable-positions"
SORTABLE_MEDIA = ["js/sortable_inline.js"]
# Swatches the changelist shows per attribute.
CHANGELIST_SWATCHES = 12


def swatch(option: AttributeOption) -> SafeString | str:
    """Return a small preview of an option's swatch: its picture, else a square of its colour,
    else nothing.

    The colour is an SVG ``fill`` attribute: the Content-Security-Policy refuses style
    attributes, not SVG presentation attributes; and the database holds it to ``#rrggbb``.
    """
    if option.swatch_image:
        return format_html(
            '<img src="{}" alt="{}" class="swatch-preview">', option.swatch_image.url, option.value
        )
    if option.swatch_colour:
        return format_html(
            '<svg class="swatch-preview" viewBox="0 0 1 1" role="img" aria-label="{}">'
            '<title>{}</title><rect width="1" height="1" fill="{}"/></svg>',
            option.value,
            option.value,
            option.swatch_colour,
        )
    return ""


class AttributeOptionForm(forms.ModelForm[AttributeOption]):
    class Meta:
        model = AttributeOption
        fields = ["value", "slug", "position", "swatch_colour", "swatch_image"]

    def clean_swatch_colour(self) -> str:
        # Lower case, as the database holds it.
        return str(self.cleaned_data.get("swatch_colour") or "").lower()

    def save(self, commit: bool = True) -> AttributeOption:
        replaced = self.initial.get("swatch_image")
        if "swatch_image" in self.changed_data and replaced:
            # A picture replaced or cleared: its file goes once the change is committed.
            swatch_files_delete_on_commit([str(replaced)])
        return super().save(commit)

    def clean_swatch_image(self) -> Any:
        image = self.cleaned_data.get("swatch_image")
        # A new upload is stored as its clean copy; a stored one was checked when it came.
        if image and "swatch_image" in self.changed_data:
            return validate_swatch_image(image)
        return image


class AttributeOptionFormSet(BaseInlineFormSet):
    def delete_existing(self, obj: AttributeOption, commit: bool = True) -> None:
        if commit:
            swatch_files_delete_on_commit([obj.swatch_image.name])
        super().delete_existing(obj, commit)


class AttributeOptionInline(admin.TabularInline[AttributeOption, Attribute]):
    """The options of an attribute, dragged into order."""

    model = AttributeOption
    form = AttributeOptionForm
    formset = AttributeOptionFormSet
    fields = ["value", "slug", "swatch_colour", "swatch_image", "preview", "position"]
    readonly_fields = ["preview"]
    prepopulated_fields = {"slug": ["value"]}
    classes = [SORTABLE]
    extra = 0

    class Media:
        js = SORTABLE_MEDIA

    @admin.display(description="swatch")
    def preview(self, option: AttributeOption) -> SafeString | str:
        return swatch(option) or "-"


class AttributeAdminForm(forms.ModelForm[Attribute]):
    class Meta:
        model = Attribute
        fields = ["name", "slug", "kind", "unit", "is_filterable", "is_shown", "position"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        kind = cleaned.get("kind")
        if (
            self.instance.pk
            and kind not in AXIS_KINDS
            and self.instance.type_attributes.filter(is_axis=True).exists()
        ):
            # The database refuses it too (attributes_attribute_kind_keeps_axis).
            self.add_error("kind", ATTRIBUTE_KIND_AXIS_MESSAGE)
        return cleaned


@admin.register(Attribute)
class AttributeAdmin(DatabaseRulesAdminMixin, admin.ModelAdmin[Attribute]):
    """Attributes with their options; swatches previewed in the list and in the rows. An option
    that variants carry is kept by the database (products_option_check_variants), shown as an
    error on the form."""

    form = AttributeAdminForm
    inlines = [AttributeOptionInline]
    list_display = [
        "name",
        "slug",
        "kind",
        "unit",
        "is_filterable",
        "is_shown",
        "position",
        "options_preview",
    ]
    list_filter = ["kind", "is_filterable", "is_shown"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Attribute]:
        return super().get_queryset(request).prefetch_related("options")

    @admin.display(description="options")
    def options_preview(self, attribute: Attribute) -> SafeString | str:
        options = list(attribute.options.all())
        if not options:
            return "-"
        if attribute.kind == AttributeKind.SWATCH:
            shown = format_html_join(
                "",
                "{}",
                ((swatch(option) or option.value,) for option in options[:CHANGELIST_SWATCHES]),
            )
        else:
            shown = format_html(
                "{}", ", ".join(option.value for option in options[:CHANGELIST_SWATCHES])
            )
        more = len(options) - CHANGELIST_SWATCHES
        return format_html("{}{}", shown, f" and {more} more" if more > 0 else "")

    def delete_model(self, request: HttpRequest, obj: Attribute) -> None:
        attribute_delete(attribute=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Attribute]) -> None:
        with transaction.atomic():
            for attribute in queryset:
                attribute_delete(attribute=attribute)

    def save_model(self, request: HttpRequest, obj: Attribute, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
        # A changed attribute is saved in save_related, in the order the database's rules allow.

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save a changed attribute and its options in an order the database accepts at each
        write: a kind that becomes a swatch before its options get swatches; any other kind
        after the options it no longer allows are gone or shed their swatches."""
        attribute = form.instance
        if not change:
            super().save_related(request, form, formsets, change)
            return
        # What formset.save() does, in two halves.
        if attribute.kind == AttributeKind.SWATCH:
            attribute.save()
        for formset in formsets:
            formset.save_existing_objects()  # deletions and changes
        if attribute.kind != AttributeKind.SWATCH:
            attribute.save()
        for formset in formsets:
            formset.save_new_objects()


class ProductTypeAttributeInline(admin.TabularInline[ProductTypeAttribute, ProductType]):
    """The attributes of a product type, dragged into order; the axes ticked."""

    model = ProductTypeAttribute
    fields = ["attribute", "is_axis", "position"]
    autocomplete_fields = ["attribute"]
    classes = [SORTABLE]
    extra = 0

    class Media:
        js = SORTABLE_MEDIA

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductTypeAttribute]:
        return super().get_queryset(request).select_related("attribute")


@admin.register(ProductType)
class ProductTypeAdmin(DatabaseRulesAdminMixin, admin.ModelAdmin[ProductType]):
    """Product types with their attributes; the list shows each type's variant axes. Axes that
    the products' variants have stay (products_type_attribute_check_axes), an error on the form."""

    inlines = [ProductTypeAttributeInline]
    list_display = ["name", "slug", "has_variants", "axes", "attribute_count"]
    list_filter = ["has_variants"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductType]:
        return super().get_queryset(request).with_attributes()  # type: ignore[attr-defined]

    @admin.display(description="variant axes")
    def axes(self, product_type: ProductType) -> str:
        names = [row.attribute.name for row in product_type.type_attributes.all() if row.is_axis]
        return ", ".join(names) or "-"

    @admin.display(description="attributes")
    def attribute_count(self, product_type: ProductType) -> int:
        return len(product_type.type_attributes.all())

    def save_model(self, request: HttpRequest, obj: ProductType, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
        # A changed type is saved in save_related, in the order the database's rules allow.

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save a changed type and its attributes in an order the database accepts at each
        write: variants turned on before axes come, off after they go."""
        product_type = form.instance
        if not change:
            super().save_related(request, form, formsets, change)
            return
        if product_type.has_variants:
            product_type.save()
            super().save_related(request, form, formsets, change)
        else:
            super().save_related(request, form, formsets, change)
            product_type.save()
