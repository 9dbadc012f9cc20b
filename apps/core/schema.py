"""OpenAPI generation: every operation documents the API's one error shape."""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import permissions, serializers
from rest_framework_simplejwt.views import TokenViewBase

from .permissions import IsStaffWithModelPermissionOrReadOnly

# Schema-only (never used to validate), so declared inline: ``errors`` would otherwise shadow
# Serializer.errors on a serializer class.
ErrorResponseSerializer = inline_serializer(
    name="ErrorResponse",
    fields={
        "status": serializers.IntegerField(help_text="The HTTP status code, repeated."),
        "code": serializers.CharField(
            help_text="Machine-readable: invalid, parse_error, not_authenticated, "
            "authentication_failed, token_not_valid, permission_denied, not_found, "
            "method_not_allowed, throttled, locked_out, throttle_unavailable, protected, "
            "conflict, server_error ..."
        ),
        "detail": serializers.CharField(help_text="A sentence for humans."),
        "errors": serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Present when input was rejected: each offending field (or "
            "non_field_errors) mapped to its messages.",
        ),
        "request_id": serializers.CharField(help_text="Also in the X-Request-ID response header."),
    },
)

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each offending field.",
    "401": "Not signed in, or the token is invalid or expired.",
    "403": "Signed in, but not allowed to do this.",
    "404": "No such item, or not one you may see.",
    "409": "Conflicts with stored data (for example, deleting a category still in use).",
    "429": "Too many requests, or a login locked out after repeated failures (`locked_out`); "
    "retry after the Retry-After header's seconds.",
    "503": "Request limits cannot be checked right now (`throttle_unavailable`); retry later.",
}


# Permissions that let anyone, signed in or not, read.
PUBLIC_READS = (
    permissions.AllowAny,
    permissions.IsAuthenticatedOrReadOnly,
    IsStaffWithModelPermissionOrReadOnly,
)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error responses each operation can give."""

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                error = OpenApiResponse(ErrorResponseSerializer, ERROR_DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        return responses

    def _error_codes(self) -> list[str]:
        method = self.method.upper()
        reads = method in permissions.SAFE_METHODS
        codes = []
        if (not reads and method != "DELETE") or (reads and self._is_list_view()):
            codes.append("400")  # a rejected body, or a malformed filter
        public = PUBLIC_READS if reads else (permissions.AllowAny,)
        if not all(isinstance(p, public) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        elif isinstance(self.view, TokenViewBase):
            codes.append("401")  # a wrong password, or a dead token
        if "{" in self.path:
            codes.append("404")
        if method == "DELETE":
            codes.append("409")
        codes += ["429", "503"]
        return codes
