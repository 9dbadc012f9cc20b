"""Throttles that fail closed, and the client address every throttle and the login lockout use.

The counters live in the cache. When the cache fails, these throttles refuse the request with a
503 in the API's error shape: letting requests through uncounted would open the door to exactly
the abuse the throttles are there to stop, and a 500 would say nothing useful.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework import exceptions, status, throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

if TYPE_CHECKING:
    # Not at run time: DRF imports these classes (DEFAULT_THROTTLE_CLASSES) while it builds
    # rest_framework.views.
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class ThrottleUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "throttle_unavailable"
    default_detail = "Request limits cannot be checked right now, so this request was refused."

    def __init__(self) -> None:
        super().__init__()
        self.wait = 30  # becomes Retry-After


def client_ip_address(request: HttpRequest | Request) -> str | None:
    """Return the client's IP address, as the throttles and the login lockout count it.

    With ``NUM_PROXIES`` set to 0, that is the connection's address; ``X-Forwarded-For`` is
    anyone's to write, so it is ignored. Behind N trusted proxies, each appending the address it
    saw, it is the N-th address from the right of ``X-Forwarded-For`` (DRF's rule), so that what
    a client prepends to the header changes nothing.
    """
    remote_address = request.META.get("REMOTE_ADDR") or None
    num_proxies = api_settings.NUM_PROXIES
    if not num_proxies:
        return remote_address
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if not forwarded:
        return remote_address
    candidate = forwarded[-min(num_proxies, len(forwarded))]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        # Not an address (a proxy that does not append one): count the connection instead.
        return remote_address
    return candidate


class FailClosedMixin:
    """Refuse the request (503) instead of letting it through when the counters fail."""

    def get_rate(self) -> str | None:
        # DRF reads the rates once, when its class is defined; read them when used, so that
        # changed settings apply.
        self.__dict__["THROTTLE_RATES"] = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()  # type: ignore[misc]

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except exceptions.APIException:
            raise
        except Exception as error:
            logger.exception("Throttle counters unavailable; refusing the request")
            raise ThrottleUnavailable() from error


class AnonRateThrottle(FailClosedMixin, throttling.AnonRateThrottle):
    """DRF's per-address throttle for anonymous requests, failing closed."""

    def get_ident(self, request: Request) -> str:
        return client_ip_address(request) or "unknown"


class UserRateThrottle(FailClosedMixin, throttling.UserRateThrottle):
    """DRF's per-user throttle, failing closed. Anonymous requests are left to
    ``AnonRateThrottle`` (a tighter rate per address): counting them twice would cost two more
    cache round trips on every anonymous request and refuse nothing more."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(FailClosedMixin, throttling.ScopedRateThrottle):
    """DRF's per-view-scope throttle, failing closed."""

    def get_ident(self, request: Request) -> str:
        return client_ip_address(request) or "unknown"
