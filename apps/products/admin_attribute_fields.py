"""Form fields for a product's attribute values on its admin page: one per (non-axis)
attribute of its type, with the widget its kind calls for.

Each field's cleaned value is what the API takes for the attribute (``{slug: value}``): text,
a number as text, true/false, an ISO date, an option's slug or a list of them; None for no
value. So the product page saves through the same validation as the API.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from apps.attributes.models import Attribute, AttributeKind, AttributeOption

# The prefix of an attribute's field name on the product form: attribute_<slug>.
FIELD_PREFIX = "attribute_"

TEXT_MAX_LENGTH = 255
NUMBER_MAX_DIGITS = 18
NUMBER_DECIMAL_PLACES = 6


def attribute_field_name(attribute: Attribute) -> str:
    return f"{FIELD_PREFIX}{attribute.slug}"


def attribute_form_field(attribute: Attribute, options: list[AttributeOption]) -> forms.Field:
    """Return the form field of ``attribute`` (whose ``options`` are given in order), optional
    like every attribute value."""
    label = attribute.name
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
    choices = [(option.slug, option.value) for option in options]
    if kind == AttributeKind.MULTIPLE_CHOICE:
        return forms.MultipleChoiceField(
            label=label, required=False, choices=choices, widget=forms.CheckboxSelectMultiple
        )
    # choice, swatch
    return forms.ChoiceField(label=label, required=False, choices=[("", "---------"), *choices])


def attribute_raw_value(attribute: Attribute, cleaned: Any) -> Any:
    """Return a field's cleaned value as the API gives it, None for no value."""
    if cleaned in (None, "", []):
        return None
    if isinstance(cleaned, Decimal):
        return str(cleaned)
    if isinstance(cleaned, date):
        return cleaned.isoformat()
    if isinstance(cleaned, list):
        return list(cleaned)
    return cleaned


def attribute_initial_value(attribute: Attribute, stored: list[Any]) -> Any:
    """Return a field's initial value from the product's stored values of ``attribute``
    (``ProductAttributeValue`` rows, each with its ``option`` at hand)."""
    if not stored:
        return [] if attribute.kind == AttributeKind.MULTIPLE_CHOICE else None
    if attribute.kind == AttributeKind.MULTIPLE_CHOICE:
        return [row.option.slug for row in stored]
    if attribute.kind in (AttributeKind.CHOICE, AttributeKind.SWATCH):
        return stored[0].option.slug
    value = stored[0].value
    if isinstance(value, Decimal):
        # 18,6 columns: 12.500000 shows as 12.5, 500.000000 as 500.
        return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
    return value
