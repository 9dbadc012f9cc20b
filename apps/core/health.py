"""Liveness and readiness probes for load balancers, orchestrators and Docker's HEALTHCHECK."""

from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse


def live(request: HttpRequest) -> HttpResponse:
    """Return 200 while the process can answer at all; touches no dependency."""
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> HttpResponse:
    """Return 200 when the database answers and has every migration applied, else 503."""
    checks: dict[str, str] = {}
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
    healthy = all(value == "ok" for value in checks.values()) and "migrations" in checks
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


HEALTH_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health/live/": live,
    "/health/ready/": ready,
}
