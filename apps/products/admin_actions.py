"""Bulk actions of the product admin: activate, deactivate, set the price or change it by a
percentage, move to a category, set the stock.

With variants: a percentage changes the price of every variant of the selected products (and so
their summary); setting the price or the stock skips products with several variants, and the
message says how many.

Each one shows what it will change on a confirmation page, then ``products_bulk_change``
changes every selected product in one transaction with set-based UPDATEs (the same handful of
statements for 20 rows or 100,000) and records one audit entry per changed product, all sharing
a batch id. Staff without ``products.change_product`` are neither offered nor allowed to run
them.
"""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import Combinable

from apps.core.admin import (
    PREVIEW_LIMIT,
    BulkActionForm,
    BulkPreview,
    ConfirmedBulkAction,
    ConfirmedBulkActionsMixin,
    FieldChange,
    PreviewRow,
)
from apps.core.services import register_audit_action

from .admin_bulk_inputs import ChangePriceByPercentageInput, SetPriceInput, SetStockInput
from .models import Category, Product
from .services import products_bulk_change, variants_bulk_change_price

# Product fields a bulk action may write, by attribute name, with their label.
FIELD_LABELS = {
    "is_active": "Active",
    "price": "Price",
    "stock": "Stock",
    "category_id": "Category",
}


class ProductChangeForm(BulkActionForm):
    """The input of a product bulk action, and the values it writes.

    ``changes()`` returns, per field, the new value as an SQL expression of the row's current
    values: the same expression previews the change and makes it.
    """

    audit_action: ClassVar[str]
    writes: ClassVar[tuple[str, ...]]
    # Whether the action skips products with several variants, whose price, stock and SKU are
    # their variants' summary (set price, set stock).
    one_variant_only: ClassVar[bool] = False
    skipped = 0

    def writable(self) -> QuerySet[Product]:
        """Return the selected products this action writes."""
        if self.one_variant_only:
            return self.selection.filter(variant_count=1)
        return self.selection

    def applied_note(self) -> str:
        if not self.skipped:
            return ""
        return (
            f"{self.skipped} with several variants skipped: change their variants' "
            f"{FIELD_LABELS[self.writes[0]].lower()}."
        )

    def changes(self) -> dict[str, Combinable]:
        raise NotImplementedError

    def category_names(self) -> dict[int, str]:
        """Return the names of the categories this action moves products to, by id."""
        return {}

    def preview(self, *, confirmed: bool) -> BulkPreview:
        rows = self.selection.select_related("category")
        changing = None
        if confirmed:
            changes = self.changes()
            afters = {f"after_{name}": value for name, value in changes.items()}
            rows = rows.annotate(**afters)
            changing = (
                self.writable()
                .annotate(**afters)
                .exclude(**{name: F(f"after_{name}") for name in changes})
                .count()
            )
        products = list(rows[:PREVIEW_LIMIT])
        names = {product.category_id: product.category.name for product in products}
        if confirmed:
            names |= self.category_names()
        return BulkPreview(
            rows=[
                PreviewRow(
                    obj=product,
                    changes=[
                        FieldChange(
                            label=FIELD_LABELS[name],
                            before=_shown(name, getattr(product, name), names),
                            after=(
                                _shown(name, getattr(product, f"after_{name}"), names)
                                if confirmed
                                else None
                            ),
                        )
                        for name in self.writes
                    ],
                )
                for product in products
            ],
            total=self.selection.count(),
            changing=changing,
            labels=[FIELD_LABELS[name] for name in self.writes],
        )

    def apply(self, *, user: AbstractBaseUser | AnonymousUser) -> int:
        if self.one_variant_only:
            self.skipped = self.selection.filter(variant_count__gt=1).count()
        return products_bulk_change(
            user=user,
            selection=self.writable(),
            changes=self.changes(),
            audit_action=self.audit_action,
            category_names=self.category_names(),
        )


class ActivateForm(ProductChangeForm):
    audit_action = "products.activate"
    title = "Activate products"
    writes = ("is_active",)

    def changes(self) -> dict[str, Combinable]:
        return {"is_active": Value(True)}


class DeactivateForm(ProductChangeForm):
    audit_action = "products.deactivate"
    title = "Deactivate products"
    writes = ("is_active",)

    def changes(self) -> dict[str, Combinable]:
        return {"is_active": Value(False)}


class SetPriceForm(SetPriceInput, ProductChangeForm):
    audit_action = "products.set_price"
    title = "Set the price of products"
    one_variant_only = True


class ChangePriceByPercentageForm(ChangePriceByPercentageInput, ProductChangeForm):
    audit_action = "products.change_price_by_percentage"
    title = "Change the price of products by a percentage"

    def apply(self, *, user: AbstractBaseUser | AnonymousUser) -> int:
        # Every variant's price changes by the percentage; a product's price (the lowest) with
        # them, as the preview shows it: rounding and the floor at 0 keep the order of prices.
        return variants_bulk_change_price(
            user=user,
            selection=self.selection,
            new_price=self.changes()["price"],
            audit_action=self.audit_action,
        )


class MoveToCategoryForm(ProductChangeForm):
    audit_action = "products.move_to_category"
    title = "Move products to a category"
    writes = ("category_id",)

    category = forms.ModelChoiceField(label="Category", queryset=Category.objects.all())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The autocomplete of the product form's own category field (the category admin's
        # search), so that a tree of thousands of categories is never listed whole.
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.widget = AutocompleteSelect(
            Product._meta.get_field("category"), self.admin_site, choices=field.choices
        )

    def changes(self) -> dict[str, Combinable]:
        return {"category_id": Value(self.cleaned_data["category"].pk)}

    def category_names(self) -> dict[int, str]:
        category: Category = self.cleaned_data["category"]
        return {category.pk: category.name}


class SetStockForm(SetStockInput, ProductChangeForm):
    audit_action = "products.set_stock"
    title = "Set the stock of products"
    one_variant_only = True


for _form in (
    ActivateForm,
    DeactivateForm,
    SetPriceForm,
    ChangePriceByPercentageForm,
    MoveToCategoryForm,
    SetStockForm,
):
    register_audit_action(_form.audit_action, label=_form.title)


def _shown(attname: str, value: Any, category_names: dict[int, str]) -> Any:
    """Return a field's value as the confirmation page shows it."""
    if attname == "category_id":
        return category_names.get(value, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


class ProductBulkActionsMixin(ConfirmedBulkActionsMixin, admin.ModelAdmin[Product]):
    """Bulk actions for the product admin, each through a confirmation page, for staff who may
    change products.

    A ModelAdmin that sets its own ``actions`` keeps these by listing
    ``*ProductBulkActionsMixin.actions`` among them.
    """

    actions = [
        ConfirmedBulkAction(
            "bulk_activate",
            ActivateForm,
            description="Activate selected products",
            permission="change",
        ),
        ConfirmedBulkAction(
            "bulk_deactivate",
            DeactivateForm,
            description="Deactivate selected products",
            permission="change",
        ),
        ConfirmedBulkAction(
            "bulk_set_price",
            SetPriceForm,
            description="Set the price of selected products",
            permission="change",
        ),
        ConfirmedBulkAction(
            "bulk_change_price_by_percentage",
            ChangePriceByPercentageForm,
            description="Change the price of selected products by a percentage",
            permission="change",
        ),
        ConfirmedBulkAction(
            "bulk_move_to_category",
            MoveToCategoryForm,
            description="Move selected products to a category",
            permission="change",
        ),
        ConfirmedBulkAction(
            "bulk_set_stock",
            SetStockForm,
            description="Set the stock of selected products",
            permission="change",
        ),
    ]
