"""Helpers for tests that race real transactions against PostgreSQL."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_together(*actions: Callable[[], Any]) -> list[Any]:
    """Run each action in its own thread (and database connection), all released at once.

    Return, per action, its result or the exception it raised.
    """
    barrier = threading.Barrier(len(actions))
    outcomes: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[index] = action()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
