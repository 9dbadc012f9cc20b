"""OpenAPI generation: who may call each operation, the bounds of its inputs, and every answer
it can give, errors included.

The schema is checked against the running server by a fuzzer (``apps/core/tests/test_fuzz.py``):
a status code, header or bound the server does not honour fails it, so what is written here is
derived from the code that answers (permissions, form fields, the paginator) wherever possible.
"""

from typing import Any, Literal

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.http import HttpRequest
from drf_spectacular import openapi
from drf_spectacular.drainage import get_override, has_override
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import authentication, permissions, serializers
from rest_framework.request import Request
from rest_framework_simplejwt.views import TokenViewBase

from .fields import ID_PATH_PATTERN
from .limits import largest_decimal
from .pagination import PageNumberPagination

# Schema-only (never used to validate), so declared inline: ``errors`` would otherwise shadow
# Serializer.errors on a serializer class.
ErrorResponseSerializer = inline_serializer(
    name="ErrorResponse",
    fields={
        "status": serializers.IntegerField(help_text="The HTTP status code, repeated."),
        "code": serializers.CharField(
            help_text="Machine-readable: invalid, parse_error, bad_request, not_authenticated, "
            "authentication_failed, token_not_valid, no_active_account, permission_denied, "
            "not_found, method_not_allowed, not_acceptable, conflict, protected, "
            "request_too_large, unsupported_media_type, throttled, locked_out, "
            "throttle_unavailable, database_unavailable, write_conflict, server_error. Each "
            "operation's responses say which codes they carry."
        ),
        "detail": serializers.CharField(help_text="A sentence for humans."),
        "errors": serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Present when input was rejected: each offending field or query parameter "
            "(or non_field_errors) mapped to its messages.",
        ),
        "request_id": serializers.CharField(help_text="Also in the X-Request-ID response header."),
    },
)

REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "schema": {"type": "string"},
        "required": True,
        "description": "The request's id (yours, if you sent a tame one); quote it in reports.",
    }
}
# gunicorn's limit_request_line (its default): the method, the path and query string, and the
# protocol, in bytes.
REQUEST_LINE_MAX_BYTES = 4094
URI_TOO_LONG_RESPONSE = {
    "description": (
        "The request line (the path and the query string, percent-encoded) is longer than the "
        f"server reads ({REQUEST_LINE_MAX_BYTES:,} bytes): the web server's own HTML page, "
        "before the API. Long filters (`attribute`, `ids`, `search`) can add up to it; send "
        "fewer at a time."
    ),
    "content": {"text/html": {"schema": {"type": "string"}}},
}
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
        "description": "Seconds to wait before trying again.",
    }
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, made exact: anonymous access where the permissions allow it,
    every error response the operation can give, and the bounds its filters and paginator
    enforce."""

    # --- Who may call it ----------------------------------------------------------------------

    def get_auth(self) -> list[dict[str, list[Any]]]:
        # drf-spectacular knows AllowAny and IsAuthenticatedOrReadOnly only; ask the view's own
        # permissions instead, for this method.
        schemes = [scheme for scheme in super().get_auth() if scheme]
        return [*schemes, {}] if self._lets_in(AnonymousUser()) else schemes

    def _lets_in(self, user: Any) -> bool:
        """Return whether every permission of the view admits ``user`` with this method."""
        http_request = HttpRequest()
        http_request.method = self.method
        request = Request(http_request)
        request.user = user
        try:
            return all(p.has_permission(request, self.view) for p in self.view.get_permissions())
        except Exception:
            # A permission that needs more of the request than a schema has: assume it refuses,
            # so the schema asks for credentials and documents 401/403 rather than hide them.
            return False

    # --- What it answers ----------------------------------------------------------------------

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, description in self._error_responses().items():
            if code not in responses:
                error = OpenApiResponse(ErrorResponseSerializer, description)
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        if self.method == "GET":
            # Before the API: gunicorn answers a request line past its limit itself, with an
            # HTML page and none of the API's headers.
            responses["414"] = URI_TOO_LONG_RESPONSE
        return dict(sorted(responses.items()))

    def _get_response_headers_for_code(
        self, status_code: str, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        headers: dict[str, Any] = super()._get_response_headers_for_code(status_code, direction)
        # RequestIdMiddleware tags every response; DRF's throttles, the lockout and every 503
        # say when to come back.
        headers = {**REQUEST_ID_HEADER, **headers}
        if status_code in ("429", "503"):
            headers = {**headers, **RETRY_AFTER_HEADER}
        return headers

    def takes_body(self) -> bool:
        """Return whether the operation reads a request body (overridden for DELETE bodies)."""
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None

    def _error_responses(self) -> dict[str, str]:
        """Return each error status the operation can answer, with the codes it carries."""
        method = self.method
        writes = method not in permissions.SAFE_METHODS
        body = self.takes_body()
        anonymous = self._lets_in(AnonymousUser())
        authenticators = self.view.get_authenticators()
        token_view = isinstance(self.view, TokenViewBase)
        paginated = self._is_list_view() and self._get_paginator() is not None
        responses = {}

        if body:
            responses["400"] = (
                "Invalid input (`invalid`): `errors` names each offending field; or a body that "
                "is not JSON, or is nested too deeply (`parse_error`)."
            )
        elif self._get_filter_parameters() or self._get_pagination_parameters():
            responses["400"] = "Invalid query (`invalid`): `errors` names each offending parameter."
        if token_view:
            responses["401"] = (
                "Wrong credentials (`authentication_failed`), a token that is invalid, expired "
                "or already used (`token_not_valid`), or one whose account is gone or "
                "deactivated (`no_active_account`)."
            )
        elif not anonymous:
            responses["401"] = (
                "Not signed in (`not_authenticated`), or the Authorization header is malformed "
                "(`authentication_failed`) or its token invalid or expired (`token_not_valid`)."
            )
        elif authenticators:
            responses["401"] = (
                "Anyone may call this, but a malformed Authorization header "
                "(`authentication_failed`) or an invalid or expired token (`token_not_valid`) is "
                "refused: send none to call it anonymously."
            )
        csrf = writes and any(
            isinstance(a, authentication.SessionAuthentication) for a in authenticators
        )
        if not self._lets_in(_Customer()) or csrf:
            responses["403"] = "Signed in, but not allowed to do this (`permission_denied`)."
        not_found = []
        if "{" in self.path:
            not_found.append("no such item, or not one you may see")
        if paginated:
            not_found.append("a page past the last one")
        if not_found:
            responses["404"] = ", or ".join(not_found).capitalize() + " (`not_found`)."
        responses["406"] = (
            "The Accept header allows no media type the API answers with: JSON (`not_acceptable`)."
        )
        if getattr(self.view, "action", None) == "destroy" and _is_protected(self.view):
            responses["409"] = (
                "Still in use by other items (`protected`: a category with products or "
                "children, say), or in conflict with another stored rule (`conflict`)."
            )
        if body:
            responses["413"] = "The body is larger than the server accepts (`request_too_large`)."
            responses["415"] = (
                "A Content-Type this operation does not read (`unsupported_media_type`): see "
                "its request body's media types."
            )
        responses["429"] = (
            "Too many requests (`throttled`)"
            + (
                ", or a login locked out after repeated failures (`locked_out`)"
                if token_view
                else ""
            )
            + "; retry after the Retry-After header's seconds."
        )
        responses["503"] = (
            "Unavailable for a moment; retry after the Retry-After header's seconds: the "
            "database is unreachable (`database_unavailable`), "
            + (
                "the write kept colliding with concurrent ones (`write_conflict`), "
                if writes
                else ""
            )
            + "or request limits cannot be checked (`throttle_unavailable`)."
        )
        return responses

    # --- The bounds of its inputs -------------------------------------------------------------

    def _map_serializer_field(
        self, field: Any, direction: Literal["request", "response"], bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict):
            return schema
        declared = get_override(field, "field") if has_override(field, "field") else None
        if isinstance(declared, dict):
            # A length declared with extend_schema_field wins over drf-spectacular's minLength 1
            # for a field that may not be blank (its field metadata, applied last).
            schema.update({k: v for k, v in declared.items() if k in ("minLength", "maxLength")})
        if (
            direction == "request"
            and isinstance(field, serializers.DecimalField)
            and schema.get("type") == "string"
        ):
            schema = _decimal_request_schema(field, schema)
        return schema

    def _filters(self) -> dict[str, Any]:
        """Return the filters of the view's filter set, by query parameter."""
        filterset_class = getattr(self.view, "filterset_class", None)
        return dict(getattr(filterset_class, "base_filters", {}))

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_filter_parameters()
        filters = self._filters()
        for parameter in parameters:
            if parameter["name"] in filters:
                _bound(parameter["schema"], filters[parameter["name"]].field)
        return parameters

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        filters = self._filters() if self.get_filter_backends() else {}
        for parameter in parameters:
            if parameter["in"] == "query" and parameter["name"] in filters:
                # django-filter takes `?name=` for a filter not given (`?page=` is a 400).
                parameter["allowEmptyValue"] = True
        return parameters

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            # Ids in paths match ID_PATH_PATTERN (digits 0-9 only, apps.core.fields), which
            # drf-spectacular reads as a patterned string: they are whole numbers.
            if parameter["schema"].get("pattern") == f"^{ID_PATH_PATTERN}$":
                parameter["schema"] = {"type": "integer", "minimum": 0}
        return parameters

    def _get_pagination_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_pagination_parameters()
        paginator = self._get_paginator()
        if not isinstance(paginator, PageNumberPagination):
            return parameters
        for parameter in parameters:
            if parameter["name"] == paginator.page_query_param:
                # A page number from 1, or "last"; one past the last page is a 404.
                parameter["schema"] = {
                    "anyOf": [
                        {"type": "integer", "minimum": 1},
                        {"type": "string", "enum": list(paginator.last_page_strings)},
                    ]
                }
                parameter["description"] = (
                    "A page number from 1, or `last`. A page past the last one is a 404."
                )
            elif parameter["name"] == paginator.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Results per page: {paginator.page_size} by default, at most "
                    f"{paginator.max_page_size} (a larger size is served as "
                    f"{paginator.max_page_size})."
                )
        return parameters


class _Customer(AnonymousUser):
    """A signed-in user without staff status or any permission, for asking permissions."""

    @property
    def is_anonymous(self) -> Literal[False]:  # type: ignore[override]
        return False

    @property
    def is_authenticated(self) -> Literal[True]:  # type: ignore[override]
        return True


def _decimal_request_schema(
    field: serializers.DecimalField, as_text: dict[str, Any]
) -> dict[str, Any]:
    """Return the schema of a decimal in a request body: its digits as a string, as answers
    give it, or a JSON number (JSONTypesMixin takes both)."""
    text = {key: as_text.pop(key) for key in ("type", "format", "pattern") if key in as_text}
    number: dict[str, Any] = {"type": "number"}
    if field.min_value is not None:
        number["minimum"] = float(field.min_value)
        if field.min_value >= 0 and "pattern" in text:
            text["pattern"] = text["pattern"].replace("^-?", "^", 1)  # no sign to write
    if text.get("pattern", "").startswith("^"):
        # drf-spectacular's pattern (digits {0,n}, then an optional point and digits {0,m})
        # admits "" and "."; the field does not. At least one digit, then.
        text["pattern"] = "^(?=.*[0-9])" + text["pattern"][1:]
    if field.max_digits is not None and field.decimal_places is not None:
        largest = largest_decimal(field)  # 99999999.99 for 10 digits, 2 of them decimals
        number["maximum"] = float(min(largest, field.max_value or largest))
    return {**as_text, "anyOf": [text, number]}


def _is_protected(view: Any) -> bool:
    """Return whether rows of the view's model can be kept from deletion by rows that refer to
    them (``on_delete=PROTECT`` or ``RESTRICT``)."""
    model = view.get_queryset().model
    return any(
        getattr(relation, "on_delete", None) in (models.PROTECT, models.RESTRICT)
        for relation in model._meta.related_objects
    )


def _bound(schema: dict[str, Any], field: forms.Field) -> None:
    """Add to a query parameter's ``schema`` the bounds that its form ``field`` enforces."""
    target = schema.get("items", schema) if schema.get("type") == "array" else schema
    if isinstance(field, forms.DecimalField) and target.get("type") == "integer":
        target["type"] = "number"  # a DecimalField takes 2.5 as well
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        if field.min_value is not None:
            target["minimum"] = field.min_value
        if field.max_value is not None:
            target["maximum"] = field.max_value
    if isinstance(field, forms.CharField):
        if field.max_length is not None:
            target["maxLength"] = field.max_length
        if field.min_length is not None:
            target["minLength"] = field.min_length
    if isinstance(field, forms.DateTimeField) and target.get("format") == "date-time":
        # Django's DateTimeField takes a plain date too (midnight, in the server's time zone).
        del target["format"]
        target["anyOf"] = [{"format": "date-time"}, {"format": "date"}]
