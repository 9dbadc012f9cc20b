"""A product's attribute values and its variants' options, read from what a client sends and
checked against the product's type (see docs/variants.md).

``product_attributes_validate`` turns ``{slug: value}`` into unsaved ``ProductAttributeValue``
rows, ``variant_options_resolve`` turns a variant's ``{axis_slug: option_slug}`` into its
sorted option ids. Both report every problem at once, each on ``attributes.<slug>`` or
``options.<axis_slug>``; the triggers hold the same rules whoever writes.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from apps.attributes.models import (
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)
from apps.core.limits import largest_decimal

from .models import ProductAttributeValue

_value_fields = ProductAttributeValue._meta
TEXT_MAX_LENGTH: int = _value_fields.get_field("value_text").max_length or 255
_number_field = _value_fields.get_field("value_number")
NUMBER_MAX = largest_decimal(_number_field)  # 999999999999.999999
NUMBER_DECIMAL_PLACES: int = _number_field.decimal_places
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC_TEXT = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$")

ATTRIBUTES_FIELD = "attributes"
OPTIONS_FIELD = "options"

UNKNOWN_ATTRIBUTE_MESSAGE = "This product type has no attribute with this slug."
AXIS_AS_ATTRIBUTE_MESSAGE = "This attribute is a variant axis: give it per variant, in options."
NO_TYPE_MESSAGE = "A product without a type has no attributes."


@dataclass
class TypeAttributes:
    """A product type's attributes, by slug, with their options by slug: the type's non-axis
    attributes (``values``) and its axes (``axes``, in the type's order)."""

    values: dict[str, Attribute] = field(default_factory=dict)
    axes: dict[str, Attribute] = field(default_factory=dict)
    options: dict[int, dict[str, AttributeOption]] = field(default_factory=dict)

    @classmethod
    def load(cls, product_type: ProductType | None) -> "TypeAttributes":
        """Return ``product_type``'s attributes and their options: two queries (none without
        a type)."""
        loaded = cls()
        if product_type is None:
            return loaded
        type_attributes = (
            ProductTypeAttribute.objects.filter(product_type=product_type)
            .select_related("attribute")
            .order_by("position", "id")
        )
        for type_attribute in type_attributes:
            attribute = type_attribute.attribute
            axis = type_attribute.is_axis and product_type.has_variants
            (loaded.axes if axis else loaded.values)[attribute.slug] = attribute
        with_options = [
            a.pk
            for a in [*loaded.values.values(), *loaded.axes.values()]
            if a.kind in (AttributeKind.CHOICE, AttributeKind.MULTIPLE_CHOICE, AttributeKind.SWATCH)
        ]
        if with_options:
            for option in AttributeOption.objects.filter(attribute_id__in=with_options):
                loaded.options.setdefault(option.attribute_id, {})[option.slug] = option
        return loaded


def product_attributes_validate(
    product_type: ProductType | None, raw: Any, *, loaded: TypeAttributes | None = None
) -> list[ProductAttributeValue]:
    """Return the values of ``raw`` (``{attribute_slug: value}``) as unsaved
    ``ProductAttributeValue`` rows (without their product), or raise ``ValidationError`` naming
    each bad one ``attributes.<slug>``. Attributes are optional; a null value is none."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise ValidationError({ATTRIBUTES_FIELD: "Give an object of attribute slugs to values."})
    if not raw:
        return []
    if product_type is None:
        raise ValidationError({ATTRIBUTES_FIELD: NO_TYPE_MESSAGE})
    loaded = loaded or TypeAttributes.load(product_type)
    values: list[ProductAttributeValue] = []
    errors: dict[str, list[str]] = {}
    for slug, value in raw.items():
        key = f"{ATTRIBUTES_FIELD}.{slug}"
        attribute = loaded.values.get(slug)
        if attribute is None:
            message = (
                AXIS_AS_ATTRIBUTE_MESSAGE if slug in loaded.axes else UNKNOWN_ATTRIBUTE_MESSAGE
            )
            errors[key] = [message]
            continue
        if value is None:
            continue
        try:
            values.extend(_typed_values(attribute, value, loaded.options.get(attribute.pk, {})))
        except ValidationError as error:
            errors[key] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


def _typed_values(
    attribute: Attribute, value: Any, options: dict[str, AttributeOption]
) -> list[ProductAttributeValue]:
    kind = attribute.kind
    if kind == AttributeKind.TEXT:
        return [ProductAttributeValue(attribute=attribute, value_text=_text(value))]
    if kind == AttributeKind.NUMBER:
        return [ProductAttributeValue(attribute=attribute, value_number=_number(value))]
    if kind == AttributeKind.BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return [ProductAttributeValue(attribute=attribute, value_boolean=value)]
    if kind == AttributeKind.DATE:
        return [ProductAttributeValue(attribute=attribute, value_date=_date(value))]
    if kind == AttributeKind.MULTIPLE_CHOICE:
        if not isinstance(value, list):
            raise ValidationError("Must be a list of option slugs.")
        if len(set(map(str, value))) != len(value):
            raise ValidationError("An option is given more than once.")
        return [
            ProductAttributeValue(attribute=attribute, option=_option(slug, options))
            for slug in value
        ]
    return [ProductAttributeValue(attribute=attribute, option=_option(value, options))]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("Must be a string.")
    if not value.strip():
        raise ValidationError("Must not be blank (leave the attribute out for no value).")
    if len(value) > TEXT_MAX_LENGTH:
        raise ValidationError(f"Ensure this value has at most {TEXT_MAX_LENGTH} characters.")
    if "\x00" in value:
        raise ValidationError("Null characters are not allowed.")
    return value


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError("Must be a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("Must be a finite number.")
    if isinstance(value, str) and not _NUMERIC_TEXT.match(value):
        raise ValidationError("Must be a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValidationError("Must be a number.") from error
    if abs(number) > NUMBER_MAX:
        raise ValidationError(f"Ensure this value is between -{NUMBER_MAX} and {NUMBER_MAX}.")
    if number != number.quantize(Decimal(1).scaleb(-NUMBER_DECIMAL_PLACES)):
        raise ValidationError(f"Ensure it has at most {NUMBER_DECIMAL_PLACES} decimal places.")
    return number


def _date(value: Any) -> date:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValidationError("Must be a date, YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ValidationError("Must be a date, YYYY-MM-DD.") from error


def _option(slug: Any, options: dict[str, AttributeOption]) -> AttributeOption:
    if not isinstance(slug, str):
        raise ValidationError("Must be an option slug (a string).")
    option = options.get(slug)
    if option is None:
        raise ValidationError(f"This attribute has no option {slug!r}.")
    return option


def variant_options_resolve(loaded: TypeAttributes, raw: Any) -> list[int]:
    """Return the sorted ids of a variant's options given as ``{axis_slug: option_slug}``: one
    per axis of the type (none without axes), or raise ``ValidationError`` naming each bad one
    ``options.<axis_slug>`` (``options`` for a missing axis)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ValidationError({OPTIONS_FIELD: "Give an object of axis slugs to option slugs."})
    errors: dict[str, list[str]] = {}
    option_ids = []
    for slug, option_slug in raw.items():
        attribute = loaded.axes.get(slug)
        if attribute is None:
            errors[f"{OPTIONS_FIELD}.{slug}"] = [
                "This product type has no variant axis with this slug."
            ]
            continue
        try:
            option_ids.append(_option(option_slug, loaded.options.get(attribute.pk, {})).pk)
        except ValidationError as error:
            errors[f"{OPTIONS_FIELD}.{slug}"] = error.messages
    missing = [slug for slug in loaded.axes if slug not in raw]
    if missing:
        errors[OPTIONS_FIELD] = [f"Give an option of each axis; missing: {', '.join(missing)}."]
    if errors:
        raise ValidationError(errors)
    return sorted(option_ids)
