"""``/metrics``: the Prometheus text exposition, for the scrapers the settings allow.

Answered by a middleware ahead of host validation and the HTTPS redirect, as the health probes
are: Prometheus scrapes each instance by its address, over plain HTTP inside the network. Not
a URL pattern, so it is in no OpenAPI schema and no other middleware sees it.

Who may read it (``project/settings``):

- ``METRICS_PUBLIC``: anyone (dev and tests).
- Otherwise ``METRICS_TOKEN`` and ``METRICS_ALLOWED_NETWORKS``, each checked when set: the
  client must send ``Authorization: Bearer <METRICS_TOKEN>``, and connect from one of the
  networks. The address is the connection's (``REMOTE_ADDR``), never ``X-Forwarded-For``.
- Neither set: nobody; the path answers 404 as if it did not exist.

A client outside the networks gets 404 too; one inside them with a missing or wrong token
gets 403.

A job worker (``manage.py procrastinate worker``) answers no HTTP. With ``JOBS_METRICS_PORT``
set, ``serve_process_metrics`` serves its own instruments (job times, webhook deliveries) on
that port, at the same path, to the same scrapers (``apps.core.job_worker``).
"""

import hmac
import ipaddress
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseNotFound
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import ThreadingWSGIServer, choose_encoder

from .collectors import process_registry, scrape_registry

METRICS_PATH = "/metrics"


def parse_networks(
    networks: list[str],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Return ``METRICS_ALLOWED_NETWORKS`` parsed; a bare address is a network of one."""
    return [ipaddress.ip_network(network.strip(), strict=False) for network in networks]


def _from_allowed_network(request: HttpRequest, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # an IPv4 client of a dual-stack socket
    return any(address in network for network in parse_networks(networks))


def _has_token(request: HttpRequest, token: str) -> bool:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    # Compared in constant time, so that response times do not tell how much of a guess was
    # right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


def metrics_access(request: HttpRequest) -> int | None:
    """Return None when ``request`` may read the metrics, else the status code refusing it."""
    if settings.METRICS_PUBLIC:
        return None
    token: str = settings.METRICS_TOKEN
    networks: list[str] = settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return 404
    if networks and not _from_allowed_network(request, networks):
        return 404
    if token and not _has_token(request, token):
        return 403
    return None


def metrics_view(request: HttpRequest, registry: CollectorRegistry | None = None) -> HttpResponse:
    """Return the metrics of ``registry`` (by default every process's and the collectors') in
    the format the scraper asks for, or a refusal."""
    refusal = metrics_access(request)
    if refusal is not None:
        return HttpResponse(status=refusal, content_type="text/plain")
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    encoder, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
    response = HttpResponse(encoder(registry or scrape_registry()), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


class MetricsEndpointMiddleware:
    """Answer ``/metrics`` before host checks, HTTPS redirects and the request metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == METRICS_PATH:
            return metrics_view(request)
        return self.get_response(request)


def process_metrics_app(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """A WSGI application answering ``/metrics`` with this process's instruments, under the
    rules of ``metrics_access``; 404 on any other path."""
    request = WSGIRequest(environ)
    if request.path_info == METRICS_PATH:
        response = metrics_view(request, process_registry())
    else:
        response = HttpResponseNotFound(content_type="text/plain")
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [] if request.method == "HEAD" else [response.content]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: a line per scrape (every 15 s) would be noise in the worker's log."""


def serve_process_metrics(port: int, address: str = "0.0.0.0") -> WSGIServer:  # noqa: S104
    """Serve ``process_metrics_app`` on ``address:port`` from a daemon thread, and return the
    server (``shutdown()`` stops it). Bound to every interface, as gunicorn is: Prometheus
    scrapes each worker by its address; the access rules keep everyone else out."""
    server = make_server(
        address, port, process_metrics_app, ThreadingWSGIServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
