"""django-filter filters for query parameters that PostgreSQL and Python can always take.

Django's form fields behind django-filter read any Unicode digit as a digit (see
``apps.core.fields``), and a date-time as whatever ``datetime`` accepts: a UTC offset of up to
a day (PostgreSQL stores none beyond 15:59) and a year 1 or 9999 that runs off the calendar once
moved to UTC. Each filter here refuses such values with a 400 naming its parameter instead of
handing them to the database, where they were 500s.
"""

from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import ModelChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .fields import ID_TEXT, INTEGER_TEXT, NUMBER_TEXT, has_integer_key
from .limits import MAX_UTC_OFFSET, utc_for_database

# ids=1,2,3: each id at most 18 digits (see ID_TEXT).
LARGEST_ID = 10**18 - 1


class AsciiIntegerFormField(forms.IntegerField):
    """Django's ``IntegerField``, reading only the digits 0-9."""

    default_error_messages = {"invalid": "Enter a whole number, written with the digits 0-9."}

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and value.strip() and not INTEGER_TEXT.fullmatch(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AsciiDecimalFormField(forms.DecimalField):
    """Django's ``DecimalField``, reading only the digits 0-9."""

    default_error_messages = {"invalid": "Enter a number, written with the digits 0-9."}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not NUMBER_TEXT.fullmatch(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AsciiModelChoiceField(ModelChoiceField):
    """django-filter's ``ModelChoiceField``, taking a whole-number id only in the digits 0-9."""

    def to_python(self, value: Any) -> Any:
        if (
            value not in self.empty_values
            and has_integer_key(self.queryset.model)
            and not (isinstance(value, str) and ID_TEXT.fullmatch(value))
        ):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdFormField(forms.Field):
    """One id of a comma-separated list: a whole number from 1, in the digits 0-9."""

    default_error_messages = {
        "invalid": f"Give ids as whole numbers from 1 to {LARGEST_ID}, written with the digits "
        "0-9 and separated by commas.",
    }

    def to_python(self, value: Any) -> int:
        # Every member counts: "1,,2" or "1," holds an empty one, which is a mistake, not "no id".
        if not (isinstance(value, str) and ID_TEXT.fullmatch(value)) or int(value) < 1:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(value)


class StorableDateTimeField(forms.DateTimeField):
    """Django's ``DateTimeField``, moved to UTC, refusing what PostgreSQL or Python cannot take:
    a UTC offset beyond 15:59, a moment outside the years 1 to 9999 in UTC, or digits other
    than 0-9."""

    default_error_messages = {
        "utc_offset": "Use a UTC offset from -15:59 to +15:59.",
        "out_of_range": "Give a date-time from 0001-01-01 to 9999-12-31 in UTC.",
    }

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and not value.isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        moment = super().to_python(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValidationError(self.error_messages["utc_offset"], code="utc_offset")
        try:
            return utc_for_database(moment)
        except ValueError as error:
            raise ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from error


class AsciiNumberFilter(django_filters.NumberFilter):
    """django-filter's ``NumberFilter`` (a decimal), in the digits 0-9."""

    field_class = AsciiDecimalFormField


class AsciiIntegerFilter(django_filters.NumberFilter):
    """A whole number, in the digits 0-9."""

    field_class = AsciiIntegerFormField


class AsciiModelChoiceFilter(django_filters.ModelChoiceFilter):
    """django-filter's ``ModelChoiceFilter``: an id, in the digits 0-9."""

    field_class = AsciiModelChoiceField


class IdInFilter(django_filters.BaseInFilter):
    """Comma-separated ids (``1,2,3``), each a whole number from 1 in the digits 0-9."""

    field_class = IdFormField


class RepeatedTextInput(forms.TextInput):
    """A text input whose parameter may be given several times (``?a=1&a=2``): all of them."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        getlist = getattr(data, "getlist", None)
        return getlist(name) if getlist is not None else data.get(name)


class RepeatedTextField(forms.Field):
    """Every value of a repeated parameter, as a list of strings; empty values left out."""

    widget = RepeatedTextInput

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [str(each) for each in values if each not in (None, "")]


class RepeatedTextFilter(django_filters.Filter):
    """A parameter that may be given several times; its value is the list of them all."""

    field_class = RepeatedTextField


class StorableDateTimeFilter(django_filters.DateTimeFilter):
    """django-filter's ``DateTimeFilter``, for date-times the database can compare with."""

    field_class = StorableDateTimeField


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, not a silent "unset"."""

    truthy = {"true", "1"}
    falsy = {"false", "0"}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in self.truthy:
            return True
        if text in self.falsy:
            return False
        raise ValidationError("Use true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField
