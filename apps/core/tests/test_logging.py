"""Log lines: JSON objects in production, with the request id and a job's id; plain in dev."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from apps.core.logging import (
    AccessLogJsonFormatter,
    JobIdLogFilter,
    JsonFormatter,
    get_job_id,
    job_context,
)
from apps.core.middleware import RequestIdLogFilter
from apps.core.tests.live import BASE_DIR, ProdServer, database_url, prod_environment


def record(message: str = "hello", *args: Any, **extra: Any) -> logging.LogRecord:
    logger = logging.getLogger("apps.test")
    made = logger.makeRecord(logger.name, logging.WARNING, "x.py", 1, message, args, None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


@contextlib.contextmanager
def production_log(*names: str, level: int | None = None) -> Iterator[io.StringIO]:
    """Collect every record of the loggers ``names`` (set to ``level``, if given), as prod's
    console handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdLogFilter())
    handler.addFilter(JobIdLogFilter())
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if level is not None:
            logger.setLevel(level)
    try:
        yield stream
    finally:
        for logger, before in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(before)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of the ``django`` and ``apps`` loggers, as prod's console handler writes it."""
    with production_log("django", "apps") as stream:
        yield stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_object_on_one_line() -> None:
    made = record(
        "two\nlines from %s",
        "here",
        product_id=5,
        price=Decimal("9.50"),
        day=date(2026, 1, 2),
        request_id="abc",
        job_id=None,
    )

    line = JsonFormatter().format(made)

    assert "\n" not in line
    fields = json.loads(line)
    assert fields == {
        "time": datetime.fromtimestamp(made.created, UTC).isoformat(timespec="milliseconds"),
        "level": "WARNING",
        "logger": "apps.test",
        "message": "two\nlines from here",
        "request_id": "abc",
        "job_id": None,
        "job_task": None,
        "product_id": 5,
        "price": "9.50",
        "day": "2026-01-02",
    }
    assert fields["time"].endswith("+00:00")


def test_an_exception_is_a_string_field() -> None:
    try:
        raise ValueError("no such thing")
    except ValueError:
        made = logging.getLogger("apps.test").makeRecord(
            "apps.test", logging.ERROR, "x.py", 1, "failed", (), sys.exc_info()
        )

    fields = json.loads(JsonFormatter().format(made))

    assert fields["message"] == "failed"
    assert fields["exception"].startswith("Traceback (most recent call last):")
    assert fields["exception"].endswith("ValueError: no such thing")


def test_outside_a_request_the_request_id_is_null() -> None:
    made = record(request_id="-")  # what RequestIdLogFilter sets outside a request

    assert json.loads(JsonFormatter().format(made))["request_id"] is None


@pytest.mark.django_db
def test_a_requests_lines_carry_its_request_id(captured: io.StringIO) -> None:
    response = Client().get("/no/such/page/", HTTP_X_REQUEST_ID="req-42")

    logged = lines(captured)
    assert response.status_code == 404
    assert [(line["logger"], line["message"]) for line in logged] == [
        ("django.request", "Not Found: /no/such/page/")
    ]
    assert logged[0]["request_id"] == "req-42"
    assert logged[0]["status_code"] == 404  # Django's extra
    assert logged[0]["job_id"] is None


def test_a_jobs_lines_carry_its_job_id(captured: io.StringIO) -> None:
    logger = logging.getLogger("apps.jobs")

    with job_context(17, "core.jobs_prune"):
        logger.warning("running")
        with job_context("inner"):
            logger.warning("nested")
        logger.warning("again")
    logger.warning("outside")

    assert [(line["message"], line["job_id"], line["job_task"]) for line in lines(captured)] == [
        ("running", "17", "core.jobs_prune"),
        ("nested", "inner", None),
        ("again", "17", "core.jobs_prune"),
        ("outside", None, None),
    ]
    assert get_job_id() is None


def test_a_readable_line_marks_its_job() -> None:
    plain = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    outside, inside = record("idle"), record("running")
    inside.request_id = outside.request_id = "-"
    JobIdLogFilter().filter(outside)
    with job_context(17, "core.jobs_prune"):
        JobIdLogFilter().filter(inside)

    assert plain.format(outside).endswith("[-] idle")
    assert plain.format(inside).endswith("[-] [job 17] running")


def test_a_procrastinate_line_about_a_job_carries_its_id_outside_the_job_too() -> None:
    job = {"id": 42, "task_name": "core.jobs_prune", "queue": "upkeep"}
    worker_line = logging.getLogger("procrastinate.worker").makeRecord(
        "procrastinate.worker",
        logging.INFO,
        "w.py",
        1,
        "Starting job",
        (),
        None,
        extra={"job": job},
    )
    # Only procrastinate's records are read so: another logger's "job" is its own business.
    other_line = record("hello", job=job)

    for made in (worker_line, other_line):
        JobIdLogFilter().filter(made)

    assert (worker_line.job_id, worker_line.job_task) == ("42", "core.jobs_prune")  # type: ignore[attr-defined]
    assert (other_line.job_id, other_line.job_task) == (None, None)  # type: ignore[attr-defined]


def test_access_lines_carry_their_parts_and_the_request_id() -> None:
    atoms = {
        "h": "192.0.2.1",
        "m": "GET",
        "U": "/api/v1/products/",
        "q": "page=2",
        "s": "200",
        "B": 512,
        "a": "curl/8",
        "D": 1234,
        "{x-request-id}o": "req-7",
        "{authorization}i": "Bearer secret",
    }
    made = logging.getLogger("gunicorn.access").makeRecord(
        "gunicorn.access", logging.INFO, "x.py", 1, '%(h)s "%(m)s %(U)s" %(s)s', (atoms,), None
    )

    fields = json.loads(AccessLogJsonFormatter().format(made))

    assert fields["message"] == '192.0.2.1 "GET /api/v1/products/" 200'
    assert fields["request_id"] == "req-7"
    assert (fields["method"], fields["path"], fields["query"]) == (
        "GET",
        "/api/v1/products/",
        "page=2",
    )
    assert (fields["status"], fields["bytes"], fields["duration_ms"]) == (200, 512, 1.234)
    assert "secret" not in json.dumps(fields)  # request headers are not copied


def test_dev_and_test_log_readable_lines() -> None:
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"


def _prod_log(**environment: str) -> subprocess.CompletedProcess[str]:
    probe = (
        "import django, logging; django.setup()\n"
        "logging.getLogger('apps.test').warning('hello %s', 'world', extra={'order': 3})\n"
    )
    return subprocess.run(  # noqa: S603  # the probe above, a constant
        [sys.executable, "-c", probe],
        cwd=BASE_DIR,
        env=prod_environment(DJANGO_SETTINGS_MODULE="project.settings.prod", **environment),
        capture_output=True,
        text=True,
    )


def test_prod_logs_json_lines_unless_told_plain() -> None:
    json_run = _prod_log()
    plain_run = _prod_log(LOG_FORMAT="plain")
    unknown = _prod_log(LOG_FORMAT="xml")

    assert json_run.returncode == 0, json_run.stderr
    fields = json.loads(json_run.stderr.splitlines()[-1])
    assert (fields["message"], fields["order"], fields["request_id"]) == ("hello world", 3, None)
    assert plain_run.stderr.splitlines()[-1].endswith("WARNING apps.test [-] hello world")
    assert unknown.returncode != 0
    assert "LOG_FORMAT is 'xml'" in unknown.stderr


@pytest.mark.django_db
def test_under_gunicorn_every_line_is_json_and_carries_the_request_id(tmp_path: Path) -> None:
    environment = {
        "DATABASE_URL": database_url(connection.settings_dict),
        # Nothing listens there: the response cache's outage is logged inside the request.
        "REDIS_URL": "redis://127.0.0.1:9/0",
    }
    with ProdServer(environment, log_path=tmp_path / "gunicorn.log", workers=1) as server:
        answer = server.request("GET", "/api/v1/products/", headers={"X-Request-ID": "live-1"})
    # Read once gunicorn has stopped: a worker logs the access line after sending the answer.
    log = server.log_text()

    assert answer.status == 200
    logged = [json.loads(line) for line in log.splitlines()]  # every line, or this raises
    access = [
        (line["path"], line["status"], line["request_id"])
        for line in logged
        if line["logger"] == "gunicorn.access" and line["path"] != "/health/live/"
    ]
    assert access == [("/api/v1/products/", 200, "live-1")], logged
    outage = [line for line in logged if line["logger"] == "apps.core.outages"]
    assert outage and outage[0]["request_id"] == "live-1", logged
    assert any(line["logger"] == "gunicorn.error" for line in logged)  # "Booting worker"
