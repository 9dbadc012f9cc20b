"""The input of the bulk actions that both the product and the variant changelists offer (set
the price, change it by a percentage, set the stock): each declared once, its fields, checks and
the new value as an SQL expression, and mixed into each changelist's action form
(``admin_actions.ProductChangeForm``, ``admin_variants.VariantChangeForm``), which knows its
rows, its preview and its write.
"""

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Greatest, Round

from apps.core.admin import APPLY

from .limits import PRICE_DECIMAL_PLACES, PRICE_MAX, PRICE_MAX_DIGITS, STOCK_MAX


def price_field(label: str) -> forms.DecimalField:
    """Return a form field for a price that the price columns hold (0 to PRICE_MAX, cents)."""
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_digits=PRICE_MAX_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        max_value=PRICE_MAX,
    )


def stock_field(label: str, **kwargs: Any) -> forms.IntegerField:
    """Return a form field for a stock that the stock columns hold (0 to STOCK_MAX)."""
    return forms.IntegerField(label=label, min_value=0, max_value=STOCK_MAX, **kwargs)


class SetPriceInput(forms.Form):
    """Set the price to one value."""

    writes: ClassVar[tuple[str, ...]] = ("price",)

    price = price_field("New price")

    def changes(self) -> dict[str, Combinable]:
        return {"price": Value(self.cleaned_data["price"])}


class ChangePriceByPercentageInput(forms.Form):
    """Change each price by a percentage, rounded to the cent, never below 0."""

    writes: ClassVar[tuple[str, ...]] = ("price",)
    selection: QuerySet[Any]  # the action form's

    percentage = forms.DecimalField(
        label="Change by (%)",
        min_value=-100,
        max_value=1000,
        max_digits=6,
        decimal_places=2,
        help_text="-10 lowers each price by 10 %, 5 raises it by 5 %. "
        "New prices are rounded to the cent and never go below 0.",
    )

    def clean_percentage(self) -> Decimal:
        percentage: Decimal = self.cleaned_data["percentage"]
        if percentage == 0:
            raise forms.ValidationError("Enter a percentage other than 0.")
        return percentage

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Checked here to warn on the confirmation page; on "apply", the write checks again
        # once it has locked the rows: a price raised meanwhile is seen there.
        if "percentage" in cleaned and APPLY not in self.data:
            too_dear = (
                self.selection.annotate(new_price=self.changes()["price"])
                .filter(new_price__gt=PRICE_MAX)
                .count()
            )
            if too_dear:
                rows = self.selection.model._meta.verbose_name_plural
                raise forms.ValidationError(
                    f"{too_dear} of the selected {rows} would cost more than {PRICE_MAX}."
                )
        return cleaned

    def changes(self) -> dict[str, Combinable]:
        factor = 1 + self.cleaned_data["percentage"] / 100
        # PostgreSQL's round() takes halves away from zero: 10.005 -> 10.01.
        new_price = Round(F("price") * Value(factor), precision=PRICE_DECIMAL_PLACES)
        return {"price": Greatest(new_price, Value(Decimal("0.00")))}

    def summary(self) -> list[tuple[str, str]]:
        return [("Change by", f"{self.cleaned_data['percentage']:+} %")]


class SetStockInput(forms.Form):
    """Set the stock to one value."""

    writes: ClassVar[tuple[str, ...]] = ("stock",)

    stock = stock_field("New stock")

    def changes(self) -> dict[str, Combinable]:
        return {"stock": Value(self.cleaned_data["stock"])}
