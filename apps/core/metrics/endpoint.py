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
"""

import hmac
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from prometheus_client.exposition import choose_encoder

from .collectors import scrape_registry

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


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Return every process's metrics in the format the scraper asks for, or a refusal."""
    refusal = metrics_access(request)
    if refusal is not None:
        return HttpResponse(status=refusal, content_type="text/plain")
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    encoder, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
    response = HttpResponse(encoder(scrape_registry()), content_type=content_type)
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
