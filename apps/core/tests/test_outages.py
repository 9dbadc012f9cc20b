import logging

import pytest

from apps.core import outages
from apps.core.outages import OutageLog


def test_an_outage_is_logged_once_per_interval_with_a_count(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [100.0]
    monkeypatch.setattr(outages.time, "monotonic", lambda: clock[0])
    log = OutageLog("Shared cache", interval=10)
    caplog.set_level(logging.WARNING, logger="apps.core.outages")

    for _ in range(500):  # a burst within the first interval
        log.failed(ConnectionError("refused"))
        clock[0] += 0.01
    clock[0] = 111.0
    log.failed(ConnectionError("refused"))
    log.recovered()
    log.recovered()

    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "Shared cache unavailable (ConnectionError: refused)",
        "Shared cache still unavailable: 500 failures in the last 11 s (ConnectionError)",
        "Shared cache available again after 11.0 s and 501 failures",
    ]
    assert all(record.exc_info is None for record in caplog.records)  # no tracebacks
    assert not log.is_down


def test_a_new_outage_after_recovery_is_reported_at_once(caplog: pytest.LogCaptureFixture) -> None:
    log = OutageLog("Database")
    caplog.set_level(logging.WARNING, logger="apps.core.outages")

    log.failed(OSError("gone"))
    log.recovered()
    log.failed(OSError("gone again"))

    assert caplog.records[-1].getMessage() == "Database unavailable (OSError: gone again)"
    assert log.is_down


def test_a_multi_line_error_is_logged_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="apps.core.outages")

    OutageLog("Database").failed(OSError("connection failed\n\tIs the server running?\n"))

    assert caplog.records[0].getMessage() == (
        "Database unavailable (OSError: connection failed Is the server running?)"
    )
