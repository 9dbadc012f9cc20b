"""How a sheet's cells read and show, one kind of cell per class (django-import-export calls
them widgets): ``parse`` turns a cell's text into a value or raises CellError with a message
for the person who fixes the file; ``render`` writes a value back as the text a sheet holds.
"""

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db.models import Q

from ..models import Category
from .errors import CellError

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")


def shorten(text: str, length: int = 40) -> str:
    """Return ``text``, cut to ``length`` characters with an ellipsis if longer."""
    return text if len(text) <= length else text[: length - 1] + "…"


def _too_long(max_length: int, length: int) -> CellError:
    return CellError(f"Use at most {max_length:,} characters (it has {length:,}).")


class Cell:
    """A kind of cell: text by default, required, stripped of surrounding space."""

    def parse(self, text: str) -> Any:
        """Return the value a cell's text holds, or raise CellError."""
        raise NotImplementedError

    def render(self, value: Any) -> str:
        """Return ``value`` as a sheet's text (which ``parse`` reads back as the same value)."""
        return str(value)


class Text(Cell):
    """Required text of at most ``max_length`` characters, stripped."""

    def __init__(self, label: str, max_length: int) -> None:
        self.label = label
        self.max_length = max_length

    def parse(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise CellError(f"The {self.label} is required.")
        if len(text) > self.max_length:
            raise _too_long(self.max_length, len(text))
        return text


class LongText(Cell):
    """Text that may be blank, kept as it is: its own leading or trailing space is part of it."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def parse(self, text: str) -> str:
        if len(text) > self.max_length:
            raise _too_long(self.max_length, len(text))
        return text


class Slug(Cell):
    """A slug, or blank (which the column's declaration says how to fill)."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def parse(self, text: str) -> str:
        text = text.strip()
        if len(text) > self.max_length:
            raise _too_long(self.max_length, len(text))
        if text:
            try:
                validate_slug(text)
            except ValidationError as error:
                raise CellError("Use only letters, numbers, hyphens and underscores.") from error
        return text


class RequiredSlug(Slug):
    """A slug that must be given."""

    def parse(self, text: str) -> str:
        slug = super().parse(text)
        if not slug:
            raise CellError("The product's slug is required (the same on each of its rows).")
        return slug


class Amount(Cell):
    """A required decimal from 0 up to ``maximum``, with at most ``decimal_places``."""

    def __init__(self, label: str, example: str, maximum: Decimal, decimal_places: int) -> None:
        self.label = label
        self.example = example
        self.step = Decimal(1).scaleb(-decimal_places)  # 0.01
        self.limit = maximum + self.step  # 100,000,000: "less than" reads better than "at most"
        self.decimal_places = decimal_places

    def parse(self, text: str) -> Decimal:
        text = text.strip()
        if not text:
            raise CellError(f"The {self.label} is required.")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            raise CellError(
                f"“{shorten(text)}” is not a number: write a {self.label} like {self.example}."
            )
        if amount < 0:
            raise CellError(f"{self.label.capitalize()} cannot be negative.")
        # Before the decimal places: 100000000.5 is too large, not too precise; and quantize()
        # could not even round a number of more than 28 digits.
        if amount >= self.limit:
            raise CellError(f"{self.label.capitalize()} must be less than {self.limit:,.0f}.")
        if amount != amount.quantize(self.step):
            raise CellError(f"Use at most {self.decimal_places} decimal places.")
        return amount.quantize(self.step)


class WholeNumber(Cell):
    """A required whole number from 0 up to ``maximum``."""

    def __init__(self, label: str, example: str, maximum: int) -> None:
        self.label = label
        self.example = example
        self.maximum = maximum

    def parse(self, text: str) -> int:
        text = text.strip()
        if not text:
            raise CellError(f"The {self.label} is required (0 or more).")
        if not _WHOLE_NUMBER.match(text):
            raise CellError(
                f"“{shorten(text)}” is not a whole number: write a {self.label} like "
                f"{self.example}."
            )
        number = int(text)
        if number < 0:
            raise CellError(f"{self.label.capitalize()} cannot be negative.")
        if number > self.maximum:
            raise CellError(f"{self.label.capitalize()} must be at most {self.maximum:,}.")
        return number


class OptionalWholeNumber(WholeNumber):
    """A whole number from 0 up to ``maximum``, or blank (None)."""

    def parse(self, text: str) -> int | None:  # type: ignore[override]
        if not text.strip():
            return None
        return super().parse(text)

    def render(self, value: Any) -> str:
        return "" if value is None else str(value)


class Boolean(Cell):
    """true or false, in any case, or one of the usual synonyms (yes/no, 1/0, on/off ...)."""

    def parse(self, text: str) -> bool:
        word = text.strip().lower()
        if word not in TRUE_WORDS and word not in FALSE_WORDS:
            raise CellError("Write true or false (or yes/no, 1/0).")
        return word in TRUE_WORDS

    def render(self, value: Any) -> str:
        return "true" if value else "false"


class CategoryReference(Text):
    """A category, by its slug or its id: parsed to the text, resolved to an id for all the
    rows at once (``resolve``)."""

    def resolve(self, references: set[str]) -> dict[str, int]:
        """Return the id of each of ``references`` that names a category (one query)."""
        ids = [int(ref) for ref in references if ref.isascii() and ref.isdigit() and len(ref) < 19]
        found = list(
            Category.objects.filter(Q(slug__in=references) | Q(pk__in=ids)).values_list(
                "pk", "slug"
            )
        )
        by_id = {str(pk): pk for pk, _ in found}
        # A slug first: a category may well have a slug made of digits.
        return by_id | {slug: pk for pk, slug in found}

    def unknown(self, reference: str) -> str:
        """Return the message for a reference that names no category."""
        return f"No category has the slug or id “{shorten(reference)}”."

    def labels(self, ids: Iterable[int]) -> dict[int, str]:
        """Return the slug of each category of ``ids``, to show instead of its id (one query)."""
        return dict(Category.objects.filter(pk__in=set(ids)).values_list("pk", "slug"))
