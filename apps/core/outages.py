"""Logging a dependency's outage once per interval, with a count, rather than once per request.

A shared cache or a database that stops answering fails every request that needs it: hundreds a
second. A traceback for each would flood the log (30 MB in 12 seconds was measured) and bury
the one line that matters. ``OutageLog`` writes the first failure as a warning at once, then at
most one line per interval saying how many more failures there were, and one line when the
dependency answers again.
"""

import logging
import threading
import time

logger = logging.getLogger(__name__)


class OutageLog:
    """Report the failures of one dependency (``name``), at most once per ``interval`` seconds.

    Call ``failed(error)`` on every failure and ``recovered()`` on every success; both are
    cheap when there is nothing to log, and safe from several threads.
    """

    def __init__(self, name: str, *, interval: float = 10.0) -> None:
        self.name = name
        self.interval = interval
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_report = 0.0
        self._unreported = 0
        self._total = 0

    @property
    def is_down(self) -> bool:
        """Return whether the last call was ``failed`` (the dependency is taken to be down)."""
        return self._down_since is not None

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._total += 1
            if self._down_since is None:
                self._down_since = now
                self._last_report = now
                self._unreported = 0
                message: tuple[object, ...] = (
                    "%s unavailable (%s: %s)",
                    self.name,
                    type(error).__name__,
                    # On one line: psycopg's connection errors span several.
                    " ".join(str(error).split()),
                )
            elif now - self._last_report >= self.interval:
                message = (
                    "%s still unavailable: %d failures in the last %.0f s (%s)",
                    self.name,
                    self._unreported + 1,
                    now - self._last_report,
                    type(error).__name__,
                )
                self._last_report = now
                self._unreported = 0
            else:
                self._unreported += 1
                return
        logger.warning(*message)

    def recovered(self) -> None:
        if self._down_since is None:  # the common case: nothing to do, no lock taken
            return
        with self._lock:
            if self._down_since is None:
                return
            duration = time.monotonic() - self._down_since
            total, self._down_since, self._total = self._total, None, 0
        logger.warning(
            "%s available again after %.1f s and %d failures", self.name, duration, total
        )
