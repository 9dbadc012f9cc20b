"""Login lockout with django-axes: who a login attempt names, and the answer once locked out.

The API's token endpoint and the admin login both authenticate through Django, so axes counts
the failures of both (in the database) and refuses a locked-out login before checking the
password. The token endpoint turns that refusal into ``LockedOut`` (429, ``locked_out``); the
admin gets ``lockout_response`` through axes' middleware.
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions, status

from apps.core.exceptions import error_body
from apps.core.metrics import instruments

# The throttle-refusal counter's label for a locked-out sign-in (catalogue_throttle_refusals_total).
LOCKOUT_SCOPE = "login_lockout"


def _cool_off_seconds() -> int:
    cool_off: timedelta | None = get_cool_off()
    return int(cool_off.total_seconds()) if cool_off else 0


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self) -> None:
        seconds = _cool_off_seconds()
        minutes = max(1, round(seconds / 60))
        super().__init__(
            "Too many failed sign-in attempts: signing in to this account is blocked for "
            f"{minutes} minutes. Reset your password to get in sooner."
        )
        self.wait = seconds  # becomes Retry-After


def locked_out() -> LockedOut:
    """Count a refused sign-in (catalogue_throttle_refusals_total) and return the 429 for it."""
    instruments.throttle_refusals.labels(LOCKOUT_SCOPE).inc()
    return LockedOut()


def login_username(request: Any, credentials: Mapping[str, Any] | None = None) -> str | None:
    """Return the email a login attempt names, normalised (axes' AXES_USERNAME_CALLABLE).

    The token endpoint authenticates with ``email``, the admin's login form with ``username``;
    both name the account by email, in any case, so both count against one lowercase name.
    """
    value = None
    if credentials:
        value = credentials.get("email") or credentials.get("username")
    if value is None:
        data = getattr(request, "data", None)
        if data is None:
            data = request.POST
        if isinstance(data, Mapping):
            value = data.get("email") or data.get("username")
    return value.strip().lower() if isinstance(value, str) else None


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """Answer a locked-out login (axes' AXES_LOCKOUT_CALLABLE): a page, or JSON in the API."""
    error = locked_out()
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            error_body(status_code=error.status_code, code="locked_out", detail=str(error.detail)),
            status=error.status_code,
        )
    else:
        response = render(
            request,
            "users/locked_out.html",
            {"detail": error.detail, "title": "Signing in is blocked"},
            status=error.status_code,
        )
    response["Retry-After"] = str(error.wait)
    return response
