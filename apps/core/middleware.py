"""Request-scoped plumbing: the request id, and health probes that bypass everything else."""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from .health import HEALTH_VIEWS

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_META = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
# Accept a caller's id only if it is short and tame, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
# The id kept on the request too: Django logs a 4xx or 5xx answer (django.request) once the
# middleware has returned, with the request on the record but the context variable reset.
REQUEST_ID_ENVIRON_KEY = "catalogue.request_id"


def get_request_id() -> str:
    """Return the id of the request being handled, or ``-`` outside a request."""
    return _request_id.get()


class RequestIdMiddleware:
    """Tag each request with an id (the caller's ``X-Request-ID`` or a new one) and echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # From META, not request.headers, which builds a dict of every header on first use.
        incoming = request.META.get(_REQUEST_ID_META, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.META[REQUEST_ID_ENVIRON_KEY] = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Add ``request_id`` to every log record, for the log format: the request being handled,
    or the one the record names (``extra={"request": ...}``, as Django's request logging does)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = get_request_id()
        if request_id == "-":
            request = getattr(record, "request", None)
            meta = getattr(request, "META", None)
            if isinstance(meta, dict):
                request_id = meta.get(REQUEST_ID_ENVIRON_KEY, "-")
        record.request_id = request_id
        return True


class HealthCheckMiddleware:
    """Answer ``/health/live/`` and ``/health/ready/`` before host checks and HTTPS redirects."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = HEALTH_VIEWS.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)


class NullCharacterMiddleware:
    """Refuse a query string holding a NUL character (``%00``) with a 400 naming the parameter.

    PostgreSQL cannot store or compare NUL in text, so a NUL that reaches a query raises a
    DataError: a 500 for what is only a client's mistake. Forms and serializers refuse NUL in the
    fields they declare; this covers every other query parameter (the admin's autocomplete and
    search, anything added later) in one place. Bodies are left to their forms and serializers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "%00" in request.META.get("QUERY_STRING", ""):
            names = sorted(
                name
                for name, values in request.GET.lists()
                if "\x00" in name or any("\x00" in value for value in values)
            )
            return self._refuse(request, names or ["query"])
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, names: list[str]) -> HttpResponse:
        message = "Null characters are not allowed."
        if not request.path_info.startswith("/api/"):
            return HttpResponseBadRequest(message, content_type="text/plain")
        # Imported here: exceptions imports this module (for the request id).
        from .exceptions import error_body  # noqa: PLC0415

        # A name holding NUL itself is reported without it, so the answer stays printable.
        errors = {name.replace("\x00", "") or "query": [message] for name in names}
        body = error_body(status_code=400, code="invalid", detail="Invalid input.", errors=errors)
        return JsonResponse(body, status=400)
