"""Database errors that are not bugs, and the retry that resolves most write conflicts.

Two kinds of ``django.db`` errors say nothing about the request or the code:

- an **outage**: the server cannot be reached, closed the connection, is shutting down or
  starting up, or has run out of room. The API answers 503 ``database_unavailable``; the outage
  is logged once per interval with a count (``database_outages``), not once per request.
- a **write conflict**: PostgreSQL aborted the transaction to break a deadlock (40P01) or
  because it could not serialise it (40001). The transaction had no effect and can run again
  from the start: ``retry_on_write_conflict`` does so a few times, and only when it owns the
  whole transaction. One that still fails answers 503 ``write_conflict``.

psycopg raises both as ``OperationalError``, so they are told apart by their SQLSTATE.
"""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.db import DEFAULT_DB_ALIAS, Error, InterfaceError, OperationalError, connections

from .outages import OutageLog

logger = logging.getLogger(__name__)

Params = ParamSpec("Params")
Result = TypeVar("Result")

# The transaction was rolled back whole and may simply run again.
RETRYABLE_SQLSTATES = frozenset(
    {
        "40P01",  # deadlock_detected
        "40001",  # serialization_failure
    }
)
# Answered as write conflicts too, but not retried: a lock wait that ran into lock_timeout
# would only wait as long again.
WRITE_CONFLICT_SQLSTATES = RETRYABLE_SQLSTATES | {"55P03"}  # lock_not_available

# Errors of a server that is going away, coming back or overwhelmed. An error without a SQLSTATE
# never reached the server (connection refused, lost, closed) and counts as well.
OUTAGE_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown: the server is stopping (pg_ctl stop -m fast)
        "57P02",  # crash_shutdown: another backend crashed and every session is reset
        "57P03",  # cannot_connect_now: starting up, shutting down, in recovery
        "57P05",  # idle_session_timeout: the server dropped an idle connection
        # query_canceled: statement_timeout, or an operator's pg_cancel_backend. The database
        # could not answer in time (overload, a lock held too long), which the client can do
        # nothing about but try again later: a 503, not a 500 that blames the request.
        "57014",
        # read_only_sql_transaction: a write reached a standby, as during a failover.
        "25006",
        "58030",  # io_error
    }
)
OUTAGE_SQLSTATE_CLASSES = (
    "08",  # connection exception
    "53",  # insufficient resources: too many connections, disk full, out of memory
)

# At most this many runs of a transaction that keeps meeting write conflicts.
WRITE_CONFLICT_ATTEMPTS = 3
# Before run n + 1, a pause of about BACKOFF * 2 ** (n - 1) seconds, jittered (0.5x to 1.5x) so
# that the two transactions that deadlocked do not meet again at the same instant.
WRITE_CONFLICT_BACKOFF = 0.02

database_outages = OutageLog("Database")


def sqlstate(error: BaseException) -> str | None:
    """Return the SQLSTATE of a database error (Django's wraps the driver's), or None."""
    for candidate in (error, error.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def is_write_conflict(error: BaseException) -> bool:
    """Return whether ``error`` aborted a transaction over a deadlock, a serialization failure
    or a lock wait that timed out."""
    return isinstance(error, Error) and sqlstate(error) in WRITE_CONFLICT_SQLSTATES


def is_retryable_write_conflict(error: BaseException) -> bool:
    """Return whether the transaction ``error`` aborted may run again as it was."""
    return isinstance(error, Error) and sqlstate(error) in RETRYABLE_SQLSTATES


def is_database_outage(error: BaseException) -> bool:
    """Return whether ``error`` means the database cannot be reached or cannot answer now.

    Constraint violations, bad data (DataError), write conflicts and every other error the
    server answers about a statement are not outages.
    """
    if not isinstance(error, Error):
        return False
    code = sqlstate(error)
    if code is None:
        # psycopg gives no SQLSTATE when the server never answered: the connection could not
        # be made, was lost mid-query, or is closed.
        return isinstance(error, OperationalError | InterfaceError)
    return code in OUTAGE_SQLSTATES or code.startswith(OUTAGE_SQLSTATE_CLASSES)


def report_database_outage(error: BaseException) -> None:
    """Count ``error`` in the database's outage log; the first query that succeeds afterwards,
    on any connection of this thread, logs the recovery."""
    database_outages.failed(error)
    for connection in connections.all(initialized_only=True):
        if _note_database_answered not in connection.execute_wrappers:
            # Innermost: ``connection.execute_wrapper()`` blocks pop the last one on leaving.
            connection.execute_wrappers.insert(0, _note_database_answered)


def report_write_conflict(error: BaseException) -> None:
    """Log, in one line, a write conflict that reaches the client."""
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    logger.warning("Write conflict (%s) not resolved: %s", sqlstate(error), first_line)


def _note_database_answered(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    result = execute(sql, params, many, context)
    database_outages.recovered()  # a read of one attribute unless an outage was reported
    return result


def retry_on_write_conflict(function: Callable[Params, Result]) -> Callable[Params, Result]:
    """Decorate a transactional function to run again when a write conflict aborted it.

    Use it above ``@transaction.atomic`` on functions whose whole effect is in the transaction
    (``on_commit`` callbacks are fine: a rolled-back run drops its own) and that do not depend
    on what a failed run changed in their arguments. It retries only when it owns the
    transaction: called inside another one, whose earlier work the abort has undone too, it
    runs once and lets the conflict reach whoever opened the outer transaction. After
    WRITE_CONFLICT_ATTEMPTS runs the conflict is raised; the API answers it with 503
    ``write_conflict``.
    """

    @functools.wraps(function)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return function(*args, **kwargs)
        attempt = 1
        while True:
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                if attempt >= WRITE_CONFLICT_ATTEMPTS or not is_retryable_write_conflict(error):
                    raise
                jitter = random.uniform(0.5, 1.5)  # noqa: S311  # not for security
                pause = WRITE_CONFLICT_BACKOFF * 2 ** (attempt - 1) * jitter
                logger.info(
                    "Write conflict in %s (%s), attempt %d of %d; running it again in %.0f ms",
                    function.__qualname__,
                    sqlstate(error),
                    attempt,
                    WRITE_CONFLICT_ATTEMPTS,
                    pause * 1000,
                )
                time.sleep(pause)
                attempt += 1

    return run
