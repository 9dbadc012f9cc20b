"""A shared cache of anonymous API reads, made stale by any write to the tables they show.

Every cached response is stored with the cache's current *generation*; a write to a watched
table (any INSERT, UPDATE or DELETE that Django sends, whether from the ORM, a bulk update, raw
SQL or an import) sets a new generation, so every older entry stops matching at once. One
round trip (``get_many``) fetches the generation and the entry together.

Cached hits are answered before authentication and throttling: they cost less than a
throttle check, and only anonymous (public) responses are ever stored.
"""

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import MiddlewareNotUsed
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

logger = logging.getLogger(__name__)

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


def _new_generation() -> None:
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        # The cache is down, so nothing is served from it either; when it is back, entries
        # written before expire within API_CACHE_SECONDS.
        logger.exception("Could not invalidate the API response cache")


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
        try:
            found = cache.get_many([GENERATION_KEY, key])
        except Exception:
            logger.exception("API response cache unavailable")
            return self.get_response(request)
        generation = found.get(GENERATION_KEY)
        entry = found.get(key)
        if entry is not None and generation is not None and entry[0] == generation:
            return _not_modified(request, entry) or self._conditional(
                request, _response_from(entry)
            )

        # Render the whole response, whatever the client's validators, so that it is stored;
        # they are applied to it afterwards.
        validators = {name: request.META.pop(name) for name in _CONDITIONAL if name in request.META}
        response = self.get_response(request)
        request.META.update(validators)
        if generation is None:
            # The first request since the cache was emptied: start a generation, store next time.
            cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        elif self._storable(response):
            headers = [(name, value) for name, value in response.items()]
            entry = (generation, response.status_code, response.content, headers)
            try:
                cache.set(key, entry, timeout=settings.API_CACHE_SECONDS)
            except Exception:
                logger.exception("Could not store an API response in the cache")
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
