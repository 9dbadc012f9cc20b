"""A shared cache of anonymous API reads, made stale by any write to the tables they show.

Every cached response is stored with the cache's current *generation*; a write to a watched
table (any INSERT, UPDATE or DELETE that Django sends, whether from the ORM, a bulk update, raw
SQL or an import) sets a new generation, so every older entry stops matching at once. One
round trip (``get_many``) fetches the generation and the entry together.

Cached hits are answered before authentication and throttling: they cost less than a
throttle check, and only anonymous (public) responses are ever stored.

While the cache is unreachable (``apps.core.cache_guard``), reads are served uncached and
nothing is logged here: the guard reports the outage once per interval. A write in that time
cannot set a new generation, so entries stored before it would match again once the cache
answers. Hence a process that has seen the cache fail, whether a write of its own could not
invalidate or only a read could not be served, starts a new generation as soon as the cache
answers again, before it serves anything from it (``_invalidation_pending``).

That is not airtight across processes. Every worker that had a request during the outage saw
it, so the first of them to reach the cache again starts a new generation; but from the moment
the cache answers until then, a process that saw nothing (it was idle, or it is a new worker)
can serve an entry stored before a write that happened elsewhere during the outage. The same
holds for as long as a writer alone is cut off from a cache the others still reach (a
partition), and for a writer that exits before the cache is back (a management command): the
residual window is bounded by ``API_CACHE_SECONDS``, and there is none when the cache comes back
empty (a restarted Redis without persistence).
"""

import contextlib
import hashlib
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

from .cache_guard import CacheUnavailable, shared_cache
from .metrics import instruments

GENERATION_KEY = "api-cache:generation"
_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
# Request headers that make a response differ, or that the cache answers itself.
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")


def response_cache_invalidate(using: str | None = None) -> None:
    """Make every cached response stale: now, and again when the transaction commits, since a
    read in between could have cached what the transaction is replacing."""
    _new_generation()
    connection = transaction.get_connection(using)
    if connection.in_atomic_block and not any(
        callback is _new_generation for _savepoints, callback, _robust in connection.run_on_commit
    ):
        transaction.on_commit(_new_generation, using=using)


# Set when this process has seen the shared cache fail since it last started a generation: the
# generation in the cache may be older than a write (see the module's docstring).
_invalidation_pending = threading.Event()


def _new_generation() -> bool:
    """Start a new generation, or leave it pending until the cache answers; return whether it
    was started."""
    _invalidation_pending.clear()
    try:
        shared_cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except CacheUnavailable:
        _invalidation_pending.set()  # (the guard's failure callback has too)
        return False
    return True


def _new_generation_if_pending() -> None:
    if _invalidation_pending.is_set():
        _new_generation()


shared_cache.on_failure(_invalidation_pending.set)
# Whatever call finds the cache back (a throttle's, the readiness probe's) starts the generation
# before anything else of this process reads the cache.
shared_cache.on_recovery(_new_generation_if_pending)


def invalidate_on_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """A database execute wrapper: invalidate the cache when ``sql`` writes a watched table."""
    result = execute(sql, params, many, context)
    if any(prefix in sql for prefix in settings.API_CACHE_WATCHED_TABLES):
        for match in _WRITE.finditer(sql):
            if match.group(1).startswith(settings.API_CACHE_WATCHED_TABLES):
                response_cache_invalidate(context["connection"].alias)
                break
    return result


def watch_connection(connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: install ``invalidate_on_writes`` on every connection."""
    if invalidate_on_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(invalidate_on_writes)


class ResponseCacheMiddleware:
    """Serve anonymous GETs of ``API_CACHE_PATHS`` from the cache, with 304s on a matching
    ``If-None-Match`` or ``If-Modified-Since``; store successful JSON responses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if settings.API_CACHE_SECONDS <= 0:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.paths = re.compile(settings.API_CACHE_PATHS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._cacheable(request):
            return self.get_response(request)
        key = self._key(request)
        if _invalidation_pending.is_set() and not _new_generation():
            instruments.response_cache.labels("unavailable").inc()
            return self.get_response(request)  # the cache is still unreachable
        try:
            found = shared_cache.get_many([GENERATION_KEY, key])
        except CacheUnavailable:
            instruments.response_cache.labels("unavailable").inc()
            return self.get_response(request)
        generation = found.get(GENERATION_KEY)
        entry = found.get(key)
        if entry is not None and generation is not None and entry[0] == generation:
            instruments.response_cache.labels("hit").inc()
            return _not_modified(request, entry) or self._conditional(
                request, _response_from(entry)
            )
        instruments.response_cache.labels("miss").inc()

        # Render the whole response, whatever the client's validators, so that it is stored;
        # they are applied to it afterwards.
        validators = {name: request.META.pop(name) for name in _CONDITIONAL if name in request.META}
        response = self.get_response(request)
        request.META.update(validators)
        if generation is None:
            # The first request since the cache was emptied: start a generation, store next time.
            with contextlib.suppress(CacheUnavailable):  # else the next request starts it
                shared_cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        elif self._storable(response):
            headers = [(name, value) for name, value in response.items()]
            entry = (generation, response.status_code, response.content, headers)
            with contextlib.suppress(CacheUnavailable):  # else it is served uncached
                shared_cache.set(key, entry, timeout=settings.API_CACHE_SECONDS)
        return self._conditional(request, response)

    def _cacheable(self, request: HttpRequest) -> bool:
        """Return whether ``request`` is an anonymous GET of a cached path. Credentials of any
        kind (a token, a session cookie, a test client's forced user) mean a user's own view,
        which may include what shoppers cannot see."""
        return (
            request.method == "GET"
            and "HTTP_AUTHORIZATION" not in request.META
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and getattr(request, "_force_auth_user", None) is None
            and self.paths.match(request.path_info) is not None
        )

    @staticmethod
    def _key(request: HttpRequest) -> str:
        # The Accept header picks the renderer; the path and query pick the content; the scheme
        # and host are in its links (``next``). build_absolute_uri() validates the host against
        # ALLOWED_HOSTS: a request for any other host is refused (400) even when cached.
        varies = f"{request.build_absolute_uri()}\n{request.META.get('HTTP_ACCEPT', '')}"
        return "api-cache:" + hashlib.sha256(varies.encode()).hexdigest()

    @staticmethod
    def _storable(response: HttpResponse) -> bool:
        return (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and response.get("Content-Type", "").startswith("application/json")
            and "private" not in response.get("Cache-Control", "")
        )

    @staticmethod
    def _conditional(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.status_code != 200:
            return response
        last_modified = response.get("Last-Modified")
        conditional = get_conditional_response(
            request,
            etag=response.get("ETag"),
            last_modified=parse_http_date_safe(last_modified) if last_modified else None,
            response=response,
        )
        return conditional or response


# The headers Django's ConditionalGetMiddleware copies into a 304 (django.utils.cache).
_NOT_MODIFIED_HEADERS = (
    "Cache-Control",
    "Content-Location",
    "Date",
    "ETag",
    "Expires",
    "Last-Modified",
    "Vary",
)


def _not_modified(
    request: HttpRequest, entry: tuple[str, int, bytes, list[tuple[str, str]]]
) -> HttpResponse | None:
    """Return the 304 (or 412) that the client's validators earn for a stored response, built
    from the stored headers alone, or None when the full response is due."""
    _generation, status, _content, headers = entry
    if status != 200 or not any(name in request.META for name in _CONDITIONAL):
        return None
    stored = {name.lower(): value for name, value in headers}
    last_modified = stored.get("last-modified")
    response = get_conditional_response(
        request,
        etag=stored.get("etag"),
        last_modified=parse_http_date_safe(last_modified) if last_modified else None,
    )
    if response is not None:
        for name in _NOT_MODIFIED_HEADERS:
            if name.lower() in stored:
                response[name] = stored[name.lower()]
    return response


def _response_from(entry: tuple[str, int, bytes, list[tuple[str, str]]]) -> HttpResponse:
    _generation, status, content, headers = entry
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    return response
