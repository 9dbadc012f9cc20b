"""Liveness and readiness probes for load balancers, orchestrators and Docker's HEALTHCHECK."""

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

from .cache_guard import CacheUnavailable, shared_cache
from .jobs import queue_figures

# A key nobody sets: reading it is the cheapest round trip to the cache.
_CACHE_PROBE_KEY = "health:ready"


def live(request: HttpRequest) -> HttpResponse:
    """Return 200 while the process can answer at all; touches no dependency."""
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> HttpResponse:
    """Return 200 when the database answers and has every migration applied, else 503.

    The shared cache is checked too, but its outage only makes the status ``degraded`` (still
    200): every instance shares the one cache, so taking an instance out for it would take them
    all out, while each keeps serving without it (see apps.core.cache_guard).

    ``checks.queue`` reports the job queue (apps.core.jobs.queue_figures): jobs waiting, the
    oldest one's wait in seconds, jobs running and live workers. A backlog never makes the web
    server unready (it serves requests all the same): alert on the figures instead.
    """
    checks: dict[str, Any] = {}
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        checks["migrations"] = "ok" if not pending else f"{len(pending)} pending"
    except DatabaseError as error:
        checks["database"] = f"unavailable: {error.__class__.__name__}"
    database_ready = all(value == "ok" for value in checks.values()) and "migrations" in checks
    if database_ready:
        checks["queue"] = queue_figures()
    checks["cache"] = _cache_check()
    cache_ok = checks["cache"] == "ok"
    status = ("ok" if cache_ok else "degraded") if database_ready else "unavailable"
    return JsonResponse({"status": status, "checks": checks}, status=200 if database_ready else 503)


def _cache_check() -> str:
    # One read through the guard: bounded by the client's socket timeouts (prod settings), none
    # at all while the breaker is open, and logged by the guard's outage log, not here.
    try:
        shared_cache.get(_CACHE_PROBE_KEY)
    except CacheUnavailable as error:
        return f"unavailable: {error.reason}"
    return "ok"


HEALTH_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health/live/": live,
    "/health/ready/": ready,
}
