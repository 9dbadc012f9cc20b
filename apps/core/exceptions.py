"""One error shape for the whole API, produced by ``api_exception_handler``.

Every error response body is::

    {"status": 400, "code": "invalid", "detail": "Invalid input.",
     "errors": {"price": ["Ensure this value is greater than or equal to 0."]},
     "request_id": "5f0c..."}

``errors`` is present only when input was rejected; it maps each offending field (or
``non_field_errors``) to its messages.
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import InvalidPage
from django.db import IntegrityError
from django.db.models import (
    CheckConstraint,
    F,
    ProtectedError,
    Q,
    RestrictedError,
    UniqueConstraint,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from .database_rules import database_rule
from .middleware import get_request_id
from .parsers import as_parse_exception
from .throttling import ThrottleUnavailable
from .transactions import (
    is_database_outage,
    is_write_conflict,
    report_database_outage,
    report_write_conflict,
)

NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with data already stored."


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = "The database is unavailable right now; try again in a few seconds."
    wait = 5  # becomes Retry-After


class WriteConflict(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "write_conflict"
    default_detail = (
        "This write collided with others at the same moment and was not saved; send it again."
    )
    wait = 1  # becomes Retry-After


def error_body(
    *, status_code: int, code: str, detail: str, errors: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the API's error body; every error response goes through here."""
    body: dict[str, Any] = {"status": status_code, "code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    body["request_id"] = get_request_id()
    return body


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn any exception a view raises into the API's error shape, or leave it to become a 500."""
    api_exception = as_api_exception(exc)
    if api_exception is None:
        return None
    response = exception_handler(api_exception, context)
    assert response is not None  # DRF answers every APIException
    if isinstance(api_exception, exceptions.ValidationError):
        detail = api_exception.detail
        errors = detail if isinstance(detail, Mapping) else {NON_FIELD_ERRORS: detail}
        response.data = error_body(
            status_code=response.status_code, code="invalid", detail="Invalid input.", errors=errors
        )
    else:
        codes = api_exception.get_codes()
        message = api_exception.detail
        response.data = error_body(
            status_code=response.status_code,
            code=codes if isinstance(codes, str) else api_exception.default_code,
            detail=_first_message(message) if isinstance(message, Mapping) else str(message),
        )
    if isinstance(api_exception, DatabaseUnavailable | WriteConflict | ThrottleUnavailable):
        # Logged already (the cache's outage is, by apps.core.cache_guard); not again by Django
        # as an ERROR line per request.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Return the API exception that stands for ``exc``, or None for an unexpected error."""
    if isinstance(exc, exceptions.APIException):
        return exc
    body_error = as_parse_exception(exc)  # a body too large (413) or unreadable (400)
    if body_error is not None:
        return body_error
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        # ObjectDoesNotExist: a row deleted by a concurrent request while this one ran.
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, InvalidPage):
        # A page below the first or past the last (apps.core.pagination): DRF's own answer.
        return exceptions.NotFound(PageNumberPagination.invalid_page_message)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Conflict(
            detail="This item is still in use by other items and cannot be deleted.",
            code="protected",
        )
    if isinstance(exc, IntegrityError):
        return integrity_error_to_validation_error(exc)
    if isinstance(exc, DjangoValidationError):
        # Services and models raise Django's ValidationError; report it like a serializer's.
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
        )
    return database_error_to_api_exception(exc)


def database_error_to_api_exception(error: BaseException | None) -> exceptions.APIException | None:
    """Return the 503 that stands for a database outage or a write conflict, having logged it,
    or None for any other error.

    An outage goes to the outage log (once per interval, with a count), a write conflict that
    the retries did not resolve to one line; neither logs a traceback.
    """
    if error is None:
        return None
    if is_write_conflict(error):
        report_write_conflict(error)
        return WriteConflict()
    if is_database_outage(error):
        report_database_outage(error)
        return DatabaseUnavailable()
    return None


def _first_message(detail: Mapping[str, Any]) -> str:
    # simplejwt raises {"detail": "...", "code": "...", "messages": [...]}.
    return str(detail.get("detail") or next(iter(detail.values()), ""))


def integrity_error_to_validation_error(error: IntegrityError) -> exceptions.APIException:
    """Name the field and rule behind a database constraint violation (a 400), or give a 409."""
    diag = getattr(error.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    # A registered rule first: it may name a field a constraint does not start with (a unique
    # constraint on (product, option_ids) is about the options).
    rule = database_rule(name or "") or _constraint_rules().get(name or "")
    if rule is None:
        return Conflict()
    field, message = rule
    if "{column}" in field:
        # A rule about one item of a field (``attributes.{column}``): the trigger names the
        # item as the error's column (RAISE ... USING COLUMN = ...).
        item = getattr(diag, "column_name", None)
        field = field.format(column=item) if item else field.split(".", 1)[0]
    return exceptions.ValidationError({field: [message]}, code="invalid")


@cache
def _constraint_rules() -> dict[str, tuple[str, str]]:
    rules = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.unique and not field.primary_key:
                # PostgreSQL's name for a UNIQUE column constraint created with its table.
                message = field.error_messages["unique"] % {
                    "model_name": str(model._meta.verbose_name).capitalize(),
                    "field_label": field.verbose_name,
                }
                rules[f"{model._meta.db_table}_{field.column}_key"] = (field.name, message)
        for constraint in model._meta.constraints:
            rules[constraint.name] = (
                _constraint_field(constraint),
                str(
                    constraint.violation_error_message or constraint.default_violation_error_message
                ),
            )
    return rules


def _constraint_field(constraint: Any) -> str:
    """Return the field a constraint is about: its first field, or the first one it reads."""
    if isinstance(constraint, UniqueConstraint):
        if constraint.fields:
            return constraint.fields[0]
        for expression in constraint.expressions:
            name = _first_field_name(expression)
            if name:
                return name
    if isinstance(constraint, CheckConstraint):
        name = _first_field_name(constraint.condition)
        if name:
            return name
    return NON_FIELD_ERRORS


def _first_field_name(node: Any) -> str | None:
    if isinstance(node, F):
        return node.name.split("__")[0]
    if isinstance(node, Q):
        for child in node.children:
            if isinstance(child, tuple):
                return child[0].split("__")[0]
            found = _first_field_name(child)
            if found:
                return found
        return None
    for source in getattr(node, "get_source_expressions", list)():
        found = _first_field_name(source)
        if found:
            return found
    return None
