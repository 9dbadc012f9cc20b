"""Error pages: JSON in the API's error shape under ``/api/``, Django's HTML pages elsewhere."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from .exceptions import error_body


def _wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            error_body(status_code=400, code="bad_request", detail="Bad request."), status=400
        )
    return defaults.bad_request(request, exception)


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
