"""The variant changelist: every variant of the catalogue, searchable by SKU and product name,
with bulk actions (set the price, change it by a percentage, set the stock).

Each bulk action shows what it will change on a confirmation page, then
``variants_bulk_change`` changes the selected variants in one UPDATE (their products' summary
follows in the same statement) and records one audit entry per changed variant, all sharing a
batch id. Saves and deletions on a variant's own page are audited too.
"""

from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import Combinable
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.core.admin import (
    PREVIEW_LIMIT,
    BulkActionForm,
    BulkPreview,
    ConfirmedBulkAction,
    ConfirmedBulkActionsMixin,
    FieldChange,
    PreviewRow,
)
from apps.core.pagination import EstimatingPaginator
from apps.core.services import register_audit_action

from .admin_bulk_inputs import ChangePriceByPercentageInput, SetPriceInput, SetStockInput
from .admin_changelist import ProductTypeFilter
from .models import Variant
from .search import search_config
from .services import variant_delete, variant_update
from .variant_generation import options_fit_axes, product_type_axes
from .variant_writes import (
    variant_audit_value,
    variant_audit_values,
    variant_copy,
    variants_audit,
    variants_bulk_change,
)

# Variant fields a bulk action may write, with their label.
VARIANT_FIELD_LABELS = {"price": "Price", "stock": "Stock"}


class VariantChangeForm(BulkActionForm):
    """The input of a variant bulk action; ``changes()`` returns, per field, the new value as an
    SQL expression of the row's current values: the same expression previews the change and
    makes it."""

    audit_action: ClassVar[str]
    writes: ClassVar[tuple[str, ...]]

    def changes(self) -> dict[str, Combinable]:
        raise NotImplementedError

    def preview(self, *, confirmed: bool) -> BulkPreview:
        rows = self.selection.select_related("product")
        changing = None
        if confirmed:
            afters = {f"after_{name}": value for name, value in self.changes().items()}
            rows = rows.annotate(**afters)
            changing = (
                self.selection.annotate(**afters)
                .exclude(**{name: F(f"after_{name}") for name in self.writes})
                .count()
            )
        variants = list(rows[:PREVIEW_LIMIT])
        return BulkPreview(
            rows=[
                PreviewRow(
                    obj=variant,
                    changes=[
                        FieldChange(
                            label=VARIANT_FIELD_LABELS[name],
                            before=getattr(variant, name),
                            after=getattr(variant, f"after_{name}") if confirmed else None,
                        )
                        for name in self.writes
                    ],
                )
                for variant in variants
            ],
            total=self.selection.count(),
            changing=changing,
            labels=[VARIANT_FIELD_LABELS[name] for name in self.writes],
        )

    def apply(self, *, user: AbstractBaseUser | AnonymousUser) -> int:
        return variants_bulk_change(
            user=user,
            selection=self.selection,
            changes=self.changes(),
            audit_action=self.audit_action,
        )


class VariantSetPriceForm(SetPriceInput, VariantChangeForm):
    audit_action = "products.variants_set_price"
    title = "Set the price of variants"


class VariantChangePriceByPercentageForm(ChangePriceByPercentageInput, VariantChangeForm):
    audit_action = "products.variants_change_price_by_percentage"
    title = "Change the price of variants by a percentage"


class VariantSetStockForm(SetStockInput, VariantChangeForm):
    audit_action = "products.variants_set_stock"
    title = "Set the stock of variants"


for _form in (VariantSetPriceForm, VariantChangePriceByPercentageForm, VariantSetStockForm):
    register_audit_action(_form.audit_action, label=_form.title)


class VariantInStockFilter(admin.SimpleListFilter):
    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "yes":
            return queryset.filter(stock__gt=0)
        if self.value() == "no":
            return queryset.filter(stock=0)
        return queryset


class VariantProductTypeFilter(ProductTypeFilter):
    field_path = "product__product_type"


class VariantAdminForm(forms.ModelForm[Variant]):
    class Meta:
        model = Variant
        fields = ["sku", "price", "stock", "is_active", "position", "option_ids"]

    def clean_option_ids(self) -> list[int]:
        option_ids: list[int] = self.cleaned_data.get("option_ids") or []
        # The database checks it at commit, where a refusal would be a server error.
        type_id = self.instance.product.product_type_id if self.instance.product_id else None
        axes = product_type_axes(type_id)
        if not options_fit_axes(option_ids, axes):
            names = ", ".join(axis.attribute.name for axis in axes) or "none: it has no axes"
            raise forms.ValidationError(
                f"Give one option of each axis of the product's type ({names})."
            )
        return option_ids


@admin.register(Variant)
class VariantAdmin(ConfirmedBulkActionsMixin, admin.ModelAdmin[Variant]):
    """Every variant, for staff who reprice and restock them by the hundred.

    Variants are added on their product's page (or generated there), where the product's cap
    and type are at hand; here they are changed, and deleted unless they are their product's
    last.
    """

    form = VariantAdminForm
    list_display = ["sku", "product_link", "price", "stock", "is_active", "option_ids", "position"]
    list_display_links = ["sku"]
    list_filter = ["is_active", VariantInStockFilter, VariantProductTypeFilter]
    list_select_related = ["product"]
    search_fields = ["sku"]  # see get_search_results: exact SKU and the product's words
    search_help_text = "An exact SKU, or words of the product's name or description."
    show_full_result_count = False
    paginator = EstimatingPaginator
    list_per_page = 100
    ordering = ["-id"]
    readonly_fields = ["product_link", "created_at", "updated_at"]
    fields = [
        "product_link",
        "sku",
        "price",
        "stock",
        "is_active",
        "position",
        "option_ids",
        "created_at",
        "updated_at",
    ]
    actions = [
        ConfirmedBulkAction(
            "bulk_set_variant_price",
            VariantSetPriceForm,
            description="Set the price of selected variants",
            permission="change",
        ),
        ConfirmedBulkAction(
            "bulk_change_variant_price_by_percentage",
            VariantChangePriceByPercentageForm,
            description="Change the price of selected variants by a percentage",
            permission="change",
        ),
        ConfirmedBulkAction(
            "bulk_set_variant_stock",
            VariantSetStockForm,
            description="Set the stock of selected variants",
            permission="change",
        ),
    ]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # Deleting in bulk could take a product's last variant; one at a time, the page says so.
        actions.pop("delete_selected", None)
        return actions

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Variant], search_term: str
    ) -> tuple[QuerySet[Variant], bool]:
        term = " ".join(search_term.split())[: settings.CATALOGUE_SEARCH_MAX_LENGTH]
        if not term:
            return queryset, False
        # On indexes: UPPER(sku) and the product's full-text document (GIN).
        words = SearchQuery(term, search_type="websearch", config=search_config())
        return queryset.filter(Q(sku__iexact=term) | Q(product__search_vector=words)), False

    @admin.display(description="product", ordering="product__name")
    def product_link(self, variant: Variant) -> SafeString | str:
        if variant.product_id is None:
            return "-"
        url = reverse("admin:products_product_change", args=[variant.product_id])
        return format_html('<a href="{}">{}</a>', url, variant.product.name)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Variant | None = None) -> bool:
        if obj is not None and obj.product.variant_count <= 1:
            return False  # a product keeps at least one variant (REQUIRES_VARIANT_MESSAGE)
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Variant, form: Any, change: bool) -> None:
        # The form has set the new values on obj; the service locks the product and saves.
        changed = [name for name in form.changed_data if name in form.cleaned_data]
        before = {name: variant_audit_value(form.initial.get(name)) for name in changed}
        variant_update(variant=obj, **{name: form.cleaned_data[name] for name in changed})
        variants_audit(
            user=request.user,
            changed=[(obj, before, variant_audit_values(obj, changed))],
        )

    def delete_model(self, request: HttpRequest, obj: Variant) -> None:
        gone = variant_copy(obj)  # delete() forgets the id the audit entry names
        variant_delete(variant=obj)
        variants_audit(user=request.user, deleted=[gone])
