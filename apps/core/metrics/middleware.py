"""Request metrics: count, latency and SQL queries, labelled by the URL pattern's route."""

import functools
import re
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from . import instruments

UNMATCHED = "unmatched"
STATIC = "static/<path>"
# Any other method (a fuzzer's "FOO") is counted as "other": a label value per method name
# a client can invent would grow the series without bound.
_METHODS = frozenset(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
# DRF's routers write regular expressions: "api/v1/products/(?P<pk>[0-9]+)/$" reads as
# "api/v1/products/<pk>/" once its groups are named and its anchors and escapes dropped.
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_ESCAPE = re.compile(r"\\(.)")


@functools.lru_cache(maxsize=512)
def readable_route(route: str) -> str:
    """Return a URL pattern's route as a label: regular expressions shown as path converters."""
    readable = _NAMED_GROUP.sub(r"<\1>", route).replace("^", "").removesuffix("$")
    return _ESCAPE.sub(r"\1", readable)


# Bounded: a path costs one URL resolution (30-50 us) the first time and a lookup after.
@functools.lru_cache(maxsize=2048)
def _route_of_path(path: str) -> str:
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return STATIC  # whitenoise's, answered before URL resolution
    try:
        match = resolve(path)
    except Resolver404:
        return UNMATCHED
    return readable_route(match.route) if match.route else UNMATCHED


def _forget_routes(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ROOT_URLCONF", "STATIC_URL"):
        _route_of_path.cache_clear()


setting_changed.connect(_forget_routes, dispatch_uid="apps.core.metrics.routes")


def request_route(request: HttpRequest) -> str:
    """Return the route of the URL pattern ``request`` matched, or ``unmatched``.

    A response given before URL resolution (a cached API read, a redirect to HTTPS) leaves no
    ``resolver_match``: its path is resolved here, so that a cached read counts under its route.
    """
    match = request.resolver_match
    if match is not None:
        return readable_route(match.route) if match.route else UNMATCHED
    return _route_of_path(request.path_info)


class QueryCounter:
    """A database execute wrapper that counts the statements it lets through."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


class MetricsMiddleware:
    """Count each request, time it and count its SQL statements, by route, method and status.

    Placed after the health probes and ``/metrics``, which are not counted, and before
    everything else, so that cached reads, refusals and redirects are. The time is the
    middleware's and view's, not the client's: a streamed body is timed until it starts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = QueryCounter()
        # Not `with connection.execute_wrapper()`, which removes the *last* wrapper on leaving:
        # the connection's first query adds the response cache's wrapper after this one
        # (apps.core.response_cache.watch_connection), and that one would be removed instead.
        wrappers = connection.execute_wrappers
        wrappers.append(queries)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            wrappers.remove(queries)
        elapsed = time.perf_counter() - started
        route = request_route(request)
        method = request.method if request.method in _METHODS else "other"
        instruments.http_requests.labels(route, method, str(response.status_code)).inc()
        instruments.http_request_duration.labels(route, method).observe(elapsed)
        instruments.sql_queries_per_request.labels(route).observe(queries.count)
        return response
