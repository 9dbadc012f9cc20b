"""Numbers as the API reads them: ASCII digits only, in the path, the query and the body alike.

Python's ``int()``, ``float()`` and ``Decimal()``, and ``\\d`` in a regular expression, accept
any Unicode decimal digit (``"٢"`` is 2, and so is a fullwidth two), and ``int()`` underscores
(``"1_000"``); so do Django's and DRF's fields built on them. A client, or a fuzzer reading the
schema, must not find that ``/products/٢/`` is product 2 while ``?page=٢`` is refused. The one
rule: whole numbers and decimals are written with the digits 0-9 (with an optional sign, decimal
point and, for decimals, exponent); anything else is a 400 naming the field. A path whose id is
not made of those digits matches no route: a 404, like any other unknown path.

``ModelSerializer`` applies the rule to every number and primary key a model serializer builds;
``apps.core.filters`` does the same for query parameters.
"""

import re
from typing import Any, TypeVar

from django.db import models
from django.utils.encoding import smart_str
from rest_framework import serializers

# The id in a URL path (routers' lookup_value_regex, URL patterns).
ID_PATH_PATTERN = "[0-9]+"
# What each kind of number may look like as text, as Django and DRF parse them otherwise.
INTEGER_TEXT = re.compile(r"\s*[-+]?[0-9]+(?:\.0*)?\s*", re.ASCII)
NUMBER_TEXT = re.compile(
    r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*", re.ASCII
)
# A decimal written as text in a JSON body: at least one digit, at most one point.
DECIMAL_TEXT = re.compile(r"(?=\.?[0-9])[0-9]*(?:\.[0-9]*)?", re.ASCII)
SIGNED_DECIMAL_TEXT = re.compile(r"-?(?=\.?[0-9])[0-9]*(?:\.[0-9]*)?", re.ASCII)
# An id: at most 18 digits, so that every one fits a bigint and no int() reads a huge string.
ID_TEXT = re.compile(r"\s*[0-9]{1,18}\s*", re.ASCII)

_MT = TypeVar("_MT", bound=models.Model)


def has_integer_key(model: type[models.Model]) -> bool:
    """Return whether ``model``'s primary key is a whole number (an auto or integer field)."""
    key: Any = model._meta.pk
    while key.is_relation:  # a one-to-one primary key: the key of the model it extends
        key = key.target_field
    return isinstance(key, models.IntegerField)


def _not_written_as(pattern: re.Pattern[str], data: Any, max_length: int) -> bool:
    # Longer text is left to DRF's own check, which says it is too long.
    return isinstance(data, str) and len(data) <= max_length and not pattern.fullmatch(data)


class AsciiIntegerField(serializers.IntegerField):
    """DRF's ``IntegerField``, reading text only in the digits 0-9."""

    default_error_messages = {
        "invalid": "A valid integer is required, written with the digits 0-9.",
    }

    def to_internal_value(self, data: Any) -> int:
        if _not_written_as(INTEGER_TEXT, data, self.MAX_STRING_LENGTH):
            self.fail("invalid")
        if isinstance(data, float) and data.is_integer():
            # A JSON integer past 64 bits arrives as a float; DRF would read "1e+20" as text
            # and call it no integer rather than too large.
            data = int(data)
        return super().to_internal_value(data)


class AsciiDecimalField(serializers.DecimalField):
    """DRF's ``DecimalField``, reading text only in the digits 0-9."""

    default_error_messages = {
        "invalid": "A valid number is required, written with the digits 0-9.",
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            # Text exactly as the schema's pattern writes a decimal (apps.core.schema): digits
            # and at most one point, a minus only where negatives are allowed, and nothing else
            # (no spaces, plus sign or exponent, which Decimal() would read), so that what the
            # schema refuses the server refuses too.
            signed = self.min_value is None or self.min_value < 0
            text = SIGNED_DECIMAL_TEXT if signed else DECIMAL_TEXT
            if _not_written_as(text, data, self.MAX_STRING_LENGTH):
                self.fail("invalid")
        # DRF reads any other value (a float from JSON) as its text.
        elif _not_written_as(NUMBER_TEXT, smart_str(data), self.MAX_STRING_LENGTH):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiFloatField(serializers.FloatField):
    """DRF's ``FloatField``, reading text only in the digits 0-9."""

    default_error_messages = {
        "invalid": "A valid number is required, written with the digits 0-9.",
    }

    def to_internal_value(self, data: Any) -> float:
        if _not_written_as(NUMBER_TEXT, data, self.MAX_STRING_LENGTH):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[_MT]):
    """DRF's ``PrimaryKeyRelatedField``, taking a whole-number id only as a whole number: an
    integer, an integral float (``2.0``), or its digits 0-9 as text.

    DRF hands the value to the ORM, whose ``int()`` reads ``"٢"`` as 2 and truncates ``2.5``
    to 2.
    """

    default_error_messages = {
        "invalid_id": 'Invalid pk "{pk_value}" - an id is a whole number written with the '
        "digits 0-9.",
    }

    def to_internal_value(self, data: Any) -> _MT:
        queryset = self.get_queryset()
        if self.pk_field is None and queryset is not None and has_integer_key(queryset.model):
            data = self._whole_number(data)
        return super().to_internal_value(data)

    def _whole_number(self, data: Any) -> Any:
        if isinstance(data, int):
            return data  # a bool too: DRF refuses it as of the wrong type
        if isinstance(data, float) and data.is_integer():
            return int(data)
        if isinstance(data, str) and ID_TEXT.fullmatch(data):
            return int(data)
        if isinstance(data, str) and data.strip().isdecimal() and data.isascii():
            self.fail("does_not_exist", pk_value=data.strip())  # more digits than any id has
        if isinstance(data, str | float):
            self.fail("invalid_id", pk_value=data)
        return data  # any other type: DRF's own "incorrect type"


_ASCII_FIELDS: dict[
    type[serializers.Field[Any, Any, Any, Any]], type[serializers.Field[Any, Any, Any, Any]]
] = {
    serializers.IntegerField: AsciiIntegerField,
    serializers.DecimalField: AsciiDecimalField,
    serializers.FloatField: AsciiFloatField,
}


class ModelSerializer(serializers.ModelSerializer[_MT]):
    """DRF's ``ModelSerializer``, whose generated number and primary key fields read the digits
    0-9 only. Fields declared by hand use the ``Ascii*`` fields of this module."""

    serializer_field_mapping = {
        model_field: _ASCII_FIELDS.get(field, field)
        for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
    }
    serializer_related_field = AsciiPrimaryKeyRelatedField
