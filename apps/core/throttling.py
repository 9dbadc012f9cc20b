"""The project's throttles, and the client address every throttle and the login lockout use.

The counters live in the shared cache (Redis in production), reached through
``apps.core.cache_guard.shared_cache``: only the cache calls are guarded, so an error in
working out a request's key (a body that does not parse, say) propagates as the client error it
is. What a throttle does while the cache is unreachable depends on what it guards:

- ``FailClosedMixin`` refuses the request with a 503 in the API's error shape
  (``throttle_unavailable``, ``Retry-After``). The account endpoints use it
  (``apps.users.throttling``): letting sign-in attempts through uncounted would open the door
  to exactly the guessing those throttles are there to stop.
- ``FallbackMixin`` counts in this process's memory instead, at the same rate, until the cache
  answers again: the storefront keeps working through a cache outage and one client still
  cannot flood a worker. The rate is not divided by the number of workers or instances, which a
  process does not reliably know and among which requests are not spread evenly: during an
  outage a client can make up to (workers x instances) times the rate. The fallback is a brake,
  not the exact limit, and that is acceptable only for the throttles that guard no account.
  ``AnonRateThrottle``, ``UserRateThrottle`` and ``ScopedRateThrottle`` (the defaults) use it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.http import HttpRequest
from rest_framework import exceptions, status, throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .cache_guard import CacheUnavailable, GuardedCache, shared_cache
from .metrics import instruments

if TYPE_CHECKING:
    # Not at run time: DRF imports these classes (DEFAULT_THROTTLE_CLASSES) while it builds
    # rest_framework.views.
    from rest_framework.views import APIView


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


class ThrottleCounters:
    """Counters in the shared cache or, while it is unreachable, in this process's memory."""

    def __init__(self, shared: GuardedCache) -> None:
        self.shared = shared
        # Bounded: past MAX_ENTRIES, LocMemCache drops a third of its keys (their counts restart).
        self.local = LocMemCache(
            "apps.core.throttling.fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}}
        )

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self.shared.get(key, default)
        except CacheUnavailable:
            return self.local.get(key, default)

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        try:
            self.shared.set(key, value, timeout)
        except CacheUnavailable:
            self.local.set(key, value, timeout)


fallback_counters = ThrottleCounters(shared_cache)


def _forget_fallback_counts(*, setting: str, **kwargs: Any) -> None:
    # Counts kept while one cache was down say nothing once the settings name another.
    if setting == "CACHES":
        fallback_counters.local.clear()


setting_changed.connect(_forget_fallback_counts, dispatch_uid="apps.core.throttling.fallback")


class _RatesFromSettings(throttling.SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # DRF reads the rates once, when its class is defined; read them when used, so that
        # changed settings apply.
        self.__dict__["THROTTLE_RATES"] = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()

    def throttle_failure(self) -> bool:
        # Every refusal of the project's throttles passes here, whichever class and scope.
        instruments.throttle_refusals.labels(self.scope or "unknown").inc()
        return super().throttle_failure()


class FailClosedMixin(_RatesFromSettings):
    """Refuse the request (503) instead of letting it through when the shared cache fails."""

    cache: BaseCache = shared_cache  # type: ignore[assignment]  # DRF calls only get and set

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except CacheUnavailable as error:
            # Logged once per interval by the guard, not here once per request.
            raise ThrottleUnavailable() from error


class FallbackMixin(_RatesFromSettings):
    """Count in this process's memory, at the same rate, while the shared cache fails."""

    cache: BaseCache = fallback_counters  # type: ignore[assignment]  # DRF calls only get and set


class AnonRateThrottle(FallbackMixin, throttling.AnonRateThrottle):
    """DRF's per-address throttle for anonymous requests, counting locally in an outage."""

    def get_ident(self, request: Request) -> str:
        return client_ip_address(request) or "unknown"


class UserRateThrottle(FallbackMixin, throttling.UserRateThrottle):
    """DRF's per-user throttle, counting locally in an outage. Anonymous requests are left to
    ``AnonRateThrottle`` (a tighter rate per address): counting them twice would cost two more
    cache round trips on every anonymous request and refuse nothing more."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(FallbackMixin, throttling.ScopedRateThrottle):
    """DRF's per-view-scope throttle, counting locally in an outage."""

    def get_ident(self, request: Request) -> str:
        return client_ip_address(request) or "unknown"
