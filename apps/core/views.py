"""Error pages: JSON in the API's error shape under ``/api/``, Django's HTML pages elsewhere."""

import sys
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.log import log_response
from django.views import defaults
from rest_framework.exceptions import APIException

from .exceptions import database_error_to_api_exception, error_body
from .parsers import as_parse_exception


def _wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # A body read outside a DRF view (CSRF on a form post, the admin) that is too large or
    # unreadable: a 413 or a 400 saying so.
    body_error = as_parse_exception(exception)
    if body_error is not None:
        return body_refused(request, body_error)
    if _wants_json(request):
        return JsonResponse(
            error_body(status_code=400, code="bad_request", detail="Bad request."), status=400
        )
    return defaults.bad_request(request, exception)


def body_refused(request: HttpRequest, exception: APIException) -> HttpResponse:
    """Return the 413 or 400 for a request body Django refused to read: JSON under ``/api/``,
    else a plain page."""
    status_code, detail = exception.status_code, str(exception.detail)
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            error_body(status_code=status_code, code=exception.default_code, detail=detail),
            status=status_code,
        )
    else:
        title = f"{HTTPStatus(status_code).phrase} ({status_code})"
        response = HttpResponse(
            defaults.ERROR_PAGE_TEMPLATE % {"title": title, "details": escape(detail)},
            status=status_code,
        )
    # The client's mistake: a warning, not the ERROR Django logs a SuspiciousOperation with.
    log_response("%s: %s", detail, request.path, response=response, request=request)
    return response


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            error_body(
                status_code=403,
                code="permission_denied",
                detail="You do not have permission to perform this action.",
            ),
            status=403,
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            error_body(status_code=404, code="not_found", detail="Not found."), status=404
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: a database outage or a write conflict
    # raised outside a DRF view (sessions, authentication, the admin) is a 503 here too.
    unavailable = database_error_to_api_exception(sys.exc_info()[1])
    if unavailable is not None:
        return service_unavailable(request, unavailable)
    if _wants_json(request):
        return JsonResponse(
            error_body(
                status_code=500,
                code="server_error",
                detail="Something went wrong on our side; quote the request_id when reporting it.",
            ),
            status=500,
        )
    return defaults.server_error(request)


def service_unavailable(request: HttpRequest, exception: APIException) -> HttpResponse:
    """Return a 503 with ``Retry-After`` for ``exception``: JSON under ``/api/``, else a plain
    page that reads nothing from the database."""
    detail = str(exception.detail)
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            error_body(status_code=503, code=exception.default_code, detail=detail), status=503
        )
    else:
        response = HttpResponse(
            defaults.ERROR_PAGE_TEMPLATE
            % {"title": "Service Unavailable (503)", "details": escape(detail)},
            status=503,
        )
    response["Retry-After"] = str(getattr(exception, "wait", 5))
    # Logged already (once per interval for an outage); not again by Django as an ERROR.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
