"""Form fields for a product's attribute values on its admin page: one per (non-axis)
attribute of its type, with the widget its kind calls for, and the values they give the
products services (which validate and write them).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Prefetch

from apps.attributes.models import Attribute, AttributeKind, AttributeOption, ProductTypeAttribute

from .models import ProductAttributeValue

# The prefix of an attribute's field name on the product form: attribute_<slug>.
FIELD_PREFIX = "attribute_"

_value_fields = ProductAttributeValue._meta
TEXT_MAX_LENGTH = _value_fields.get_field("value_text").max_length or 255
NUMBER_MAX_DIGITS: int = _value_fields.get_field("value_number").max_digits
NUMBER_DECIMAL_PLACES: int = _value_fields.get_field("value_number").decimal_places

KINDS_OF_ONE_OPTION = (AttributeKind.CHOICE, AttributeKind.SWATCH)


@dataclass(frozen=True)
class AttributeField:
    """A non-axis attribute of a product's type, with its options in order, as a form field."""

    attribute: Attribute
    options: list[AttributeOption]

    @property
    def name(self) -> str:
        return f"{FIELD_PREFIX}{self.attribute.slug}"

    def form_field(self) -> forms.Field:
        """Return the field (optional, like every attribute value)."""
        attribute, label = self.attribute, self.attribute.name
        kind = attribute.kind
        if kind == AttributeKind.TEXT:
            return forms.CharField(label=label, required=False, max_length=TEXT_MAX_LENGTH)
        if kind == AttributeKind.NUMBER:
            return forms.DecimalField(
                label=label,
                required=False,
                max_digits=NUMBER_MAX_DIGITS,
                decimal_places=NUMBER_DECIMAL_PLACES,
                help_text=attribute.unit,
            )
        if kind == AttributeKind.BOOLEAN:
            # Yes, no or unknown (no value).
            return forms.NullBooleanField(label=label, required=False)
        if kind == AttributeKind.DATE:
            return forms.DateField(
                label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
        choices = [(option.slug, option.value) for option in self.options]
        if kind == AttributeKind.MULTIPLE_CHOICE:
            return forms.MultipleChoiceField(
                label=label, required=False, choices=choices, widget=forms.CheckboxSelectMultiple
            )
        return forms.ChoiceField(label=label, required=False, choices=[("", "---------"), *choices])

    def initial(self, stored: list[ProductAttributeValue]) -> Any:
        """Return the field's initial value from the product's stored values of the attribute."""
        by_id = {option.pk: option for option in self.options}
        kind = self.attribute.kind
        if kind == AttributeKind.MULTIPLE_CHOICE:
            return [by_id[row.option_id].slug for row in stored if row.option_id in by_id]
        if not stored:
            return None
        row = stored[0]
        if kind in KINDS_OF_ONE_OPTION:
            return by_id[row.option_id].slug if row.option_id in by_id else None
        if kind == AttributeKind.NUMBER and row.value_number is not None:
            number = row.value_number
            # 18,6 columns: 12.500000 shows as 12.5, 500.000000 as 500.
            return (
                number.quantize(Decimal(1))
                if number == number.to_integral()
                else number.normalize()
            )
        return row.value

    def service_value(self, cleaned: Any) -> Any:
        """Return the field's cleaned value as the products services take it
        (``product_update(attributes={slug: value})``, the API's shape): None for no value."""
        if cleaned is None or cleaned in ("", []):
            return None
        if isinstance(cleaned, Decimal):
            return format(cleaned, "f")  # plain digits: 1E+5 is 100000
        if isinstance(cleaned, date):
            return cleaned.isoformat()
        return cleaned


def type_attribute_fields(product_type_id: int | None) -> list[AttributeField]:
    """Return the fields of the non-axis attributes of the type ``product_type_id``, in the
    type's order (none without a type): two queries."""
    if product_type_id is None:
        return []
    links = (
        ProductTypeAttribute.objects.filter(product_type_id=product_type_id)
        .exclude(is_axis=True, product_type__has_variants=True)
        .select_related("attribute")
        .prefetch_related(
            Prefetch(
                "attribute__options", queryset=AttributeOption.objects.order_by("position", "id")
            )
        )
        .order_by("position", "id")
    )
    return [AttributeField(link.attribute, list(link.attribute.options.all())) for link in links]
