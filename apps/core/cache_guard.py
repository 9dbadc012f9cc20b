"""The shared cache (Redis in production) as the throttles, the response cache and readiness use it.

Every worker of every instance shares one Redis. When it stops answering, each call to it fails,
after a refused connection or, for a Redis that answers nothing, a socket timeout
(``project/settings/prod.py``), and a request makes several calls. ``GuardedCache`` wraps those
calls and nothing else:

- a failure of the cache itself (a Redis or socket error) becomes ``CacheUnavailable``, which
  callers handle as an outage; anything their own code raises around the call, such as a
  request body that does not parse while a throttle reads its key, propagates untouched;
- it is a circuit breaker: after a failure it raises ``CacheUnavailable`` at once, without
  calling Redis, for ``retry_interval`` seconds, then lets one call through to try again, so
  that requests do not each pay a connection attempt;
- the outage is logged by an ``OutageLog``: the first failure at once, then one line per interval
  with a count of the calls that could not use the cache (asked or skipped), one on recovery, and
  no traceback per request.

The breaker's state is per process (each worker finds out for itself), and so are the callbacks
that ``on_failure`` and ``on_recovery`` register.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.signals import setting_changed
from redis.exceptions import RedisError

from .outages import OutageLog

Result = TypeVar("Result")

# What a cache backend raises when the cache server is down, refuses or is out of reach:
# redis-py's errors (connection refused, timeout, a read-only replica, out of memory ...) and
# the socket's own (OSError, which includes ConnectionError and TimeoutError). Anything else a
# cache call raises (a value that cannot be pickled, say) is a bug, not an outage.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)


class CacheUnavailable(Exception):
    """The shared cache did not answer, or failed so recently that it was not asked."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.reason = type(error).__name__


class GuardedCache:
    """The cache ``alias``, each call answering or raising ``CacheUnavailable`` (see above)."""

    def __init__(self, alias: str = DEFAULT_CACHE_ALIAS, *, retry_interval: float = 5.0) -> None:
        self.alias = alias
        self.retry_interval = retry_interval
        self.outage_log = OutageLog("Shared cache")
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # None while the cache answers
        self._last_error: BaseException | None = None
        self._failure_callbacks: list[Callable[[], None]] = []
        self._recovery_callbacks: list[Callable[[], None]] = []

    @property
    def is_down(self) -> bool:
        """Return whether the last call failed (the breaker is open or about to try again)."""
        return self._retry_at is not None

    def get(self, key: str, default: Any = None) -> Any:
        return self._call(lambda cache: cache.get(key, default))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return self._call(lambda cache: cache.get_many(keys))

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self._call(lambda cache: cache.set(key, value, timeout))

    def add(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT) -> bool:
        return bool(self._call(lambda cache: cache.add(key, value, timeout)))

    def on_failure(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every call that raises ``CacheUnavailable``."""
        self._failure_callbacks.append(callback)

    def on_recovery(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the cache answers again after an outage, in the thread
        whose call found out, before that call returns."""
        self._recovery_callbacks.append(callback)

    def reset(self) -> None:
        """Forget any outage: the next call asks the cache (the settings changed, or a test)."""
        with self._lock:
            self._retry_at = None
            self._last_error = None
            self.outage_log = OutageLog("Shared cache")

    def _call(self, operation: Callable[[BaseCache], Result]) -> Result:
        skipped = self._skip()
        if skipped is not None:
            self._failed(skipped)
            raise CacheUnavailable(skipped) from None
        try:
            result = operation(caches[self.alias])
        except CACHE_ERRORS as error:
            with self._lock:
                self._retry_at = time.monotonic() + self.retry_interval
                self._last_error = error
            self._failed(error)
            raise CacheUnavailable(error) from error
        if self._retry_at is not None:
            self._recovered()
        return result

    def _skip(self) -> BaseException | None:
        """Return the last error while the breaker is open, or None to go ahead and call."""
        if self._retry_at is None:  # the common case: no lock taken
            return None
        with self._lock:
            if self._retry_at is None:
                return None
            now = time.monotonic()
            if now < self._retry_at:
                return self._last_error
            # This call tries again; calls in other threads keep being skipped until it knows.
            self._retry_at = now + self.retry_interval
            return None

    def _failed(self, error: BaseException) -> None:
        self.outage_log.failed(error)
        for callback in self._failure_callbacks:
            callback()

    def _recovered(self) -> None:
        with self._lock:
            if self._retry_at is None:  # another thread found out first
                return
            self._retry_at = None
            self._last_error = None
        self.outage_log.recovered()
        for callback in self._recovery_callbacks:
            callback()


shared_cache = GuardedCache()


def _reset_on_new_caches(*, setting: str, **kwargs: Any) -> None:
    # New CACHES mean new backends (Django drops the old ones): what failed before says nothing.
    if setting == "CACHES":
        shared_cache.reset()


setting_changed.connect(_reset_on_new_caches, dispatch_uid="apps.core.cache_guard")
