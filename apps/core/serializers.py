"""What every serializer that reads a request body shares."""

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import relations, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from .fields import has_integer_key


class JSONTypesMixin(serializers.Serializer[Any]):
    """Take each field of a JSON body in the JSON type the schema gives it, and no other.

    DRF converts on its own: ``0`` is ``false`` to a boolean field, ``12`` is ``"12"`` to a text
    field, ``"12"`` is ``12`` to an integer field. Clients generated from the schema send the
    declared type, and anything else is a mistake to report, like any invalid value: a text
    field takes a string, a boolean ``true`` or ``false``, a whole number or an id a JSON
    number. Decimals take a number or a string (the schema says both). Form bodies (the image
    upload) are text throughout and left to the fields. A value the field refuses anyway keeps
    the field's own message.
    """

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping) or isinstance(data, QueryDict):
            return super().to_internal_value(data)
        mistyped: dict[str, Any] = {
            name: [_type_error(field)]
            for field in self._writable_fields
            if (name := str(field.field_name)) in data and not _has_json_type(field, data[name])
        }
        try:
            value = super().to_internal_value(data)
        except ValidationError as error:
            if mistyped and isinstance(error.detail, Mapping):
                raise ValidationError({**mistyped, **error.detail}) from error
            raise
        if mistyped:
            raise ValidationError(mistyped)
        return value


def _has_json_type(field: serializers.Field[Any, Any, Any, Any], value: Any) -> bool:
    if value is None:
        return True  # the field's allow_null decides
    if isinstance(field, serializers.BooleanField):
        return isinstance(value, bool)
    if isinstance(field, serializers.CharField):
        return isinstance(value, str)
    if isinstance(field, serializers.IntegerField) or _is_integer_key(field):
        # 2.0 is a whole number to JSON (and to the schema) as much as 2 is.
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    return True


def _is_integer_key(field: serializers.Field[Any, Any, Any, Any]) -> bool:
    if not isinstance(field, relations.PrimaryKeyRelatedField) or field.pk_field is not None:
        return False
    queryset = field.get_queryset()
    return queryset is not None and has_integer_key(queryset.model)


def _type_error(field: serializers.Field[Any, Any, Any, Any]) -> str:
    if isinstance(field, serializers.BooleanField):
        return "Must be true or false."
    if isinstance(field, serializers.CharField):
        return "Must be a string."
    return "Must be a whole number."


class FlatErrorsMixin(serializers.Serializer[Any]):
    """Report the errors of nested serializers under one flat key per field, as a path:
    ``{"options[2].slug": [...]}`` rather than DRF's ``{"options": [{}, {}, {"slug": [...]}]}``,
    so that every error of the API maps a field name to its messages."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        try:
            return super().run_validation(data)
        except ValidationError as error:
            raise ValidationError(flatten_errors(error.detail)) from error


def flatten_errors(detail: Any, path: str = "") -> dict[str, Any]:
    """Return DRF's nested error ``detail`` as a mapping of field paths to messages; the errors
    of a nested object as a whole (its ``non_field_errors``) go under its own path."""
    flat: dict[str, Any] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if isinstance(key, int):  # a list's item, as DRF's ListSerializer may key them
                child = f"{path}[{key}]"
            elif not path:
                child = str(key)
            elif key == api_settings.NON_FIELD_ERRORS_KEY:
                child = path
            else:
                child = f"{path}.{key}"
            _merge(flat, flatten_errors(value, child))
    elif isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        for index, item in enumerate(detail):
            if item:
                _merge(flat, flatten_errors(item, f"{path}[{index}]"))
    else:
        messages = detail if isinstance(detail, list) else [detail]
        flat[path or api_settings.NON_FIELD_ERRORS_KEY] = list(messages)
    return flat


def _merge(into: dict[str, Any], errors: dict[str, Any]) -> None:
    for key, messages in errors.items():
        into.setdefault(key, []).extend(messages)
