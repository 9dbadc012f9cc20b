"""The cells of the variant sheet's ``attribute:`` and ``option:`` columns: a product's typed
attribute values and a variant's options, read from a cell's text and written back as the same
text (the export's), so that comparing two values is comparing their texts.

- text: as written; number: a decimal without trailing zeros (``180.5``); boolean: ``true`` or
  ``false`` (yes/no, 1/0 read too); date: ``YYYY-MM-DD``; choice and swatch: the option's slug;
  multiple choice: the options' slugs separated by ``|``, in the attribute's order;
- an ``option:<axis>`` cell: the option's slug.
"""

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from apps.attributes.models import Attribute, AttributeKind, AttributeOption

from .cells import Boolean
from .variant_columns import MULTIPLE_SEPARATOR

# One stored value of an attribute: (option id, text, number, boolean, date), one of them set.
StoredValue = tuple[int | None, str | None, Decimal | None, bool | None, date | None]

_BOOLEAN = Boolean()


def attribute_raw(attribute: Attribute, text: str) -> Any:
    """Return a cell's text as the value ``product_attributes_validate`` reads (raise
    CellError for a boolean that is neither true nor false)."""
    kind = attribute.kind
    if kind == AttributeKind.TEXT:
        return text  # as written: its own spaces are part of it
    if kind == AttributeKind.BOOLEAN:
        return _BOOLEAN.parse(text)
    if kind == AttributeKind.MULTIPLE_CHOICE:
        return [slug.strip() for slug in text.split(MULTIPLE_SEPARATOR) if slug.strip()]
    return text.strip()


def number_text(number: Decimal) -> str:
    """Return a number as the sheet writes it: no exponent, no trailing zeros."""
    return format(number.normalize(), "f")


def attribute_text(
    attribute: Attribute, values: Sequence[StoredValue], options: dict[int, AttributeOption]
) -> str:
    """Return an attribute's stored values (one, or a multiple choice's several) as the cell's
    text."""
    if not values:
        return ""
    option_id, text, number, boolean, day = values[0]
    if attribute.kind == AttributeKind.MULTIPLE_CHOICE:
        chosen = sorted(
            (options[value[0]] for value in values if value[0] is not None),
            key=lambda option: (option.position, option.slug),
        )
        return MULTIPLE_SEPARATOR.join(option.slug for option in chosen)
    if option_id is not None:
        return options[option_id].slug
    if text is not None:
        return text
    if number is not None:
        return number_text(number)
    if boolean is not None:
        return _BOOLEAN.render(boolean)
    assert day is not None, "a stored value has one of its columns set"
    return day.isoformat()


def option_texts(
    option_ids: Iterable[int], options: dict[int, AttributeOption], axes: dict[int, str]
) -> dict[str, str]:
    """Return a variant's options as ``{axis slug: option slug}`` (``axes``: attribute id to
    slug; an option of an attribute not in ``axes`` is left out)."""
    texts = {}
    for option_id in option_ids:
        option = options.get(option_id)
        if option is not None and option.attribute_id in axes:
            texts[axes[option.attribute_id]] = option.slug
    return texts
