"""What a worker does around each job (apps.core.job_worker): the job's id on every log line,
its run time and its wait measured; and the worker's own metrics endpoint. A real procrastinate
worker runs in this process, against the test database, with the project's configuration
(``jobs_app_ready``)."""

from __future__ import annotations

import http.client
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from procrastinate.contrib.django import DjangoApp, app
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from apps.core.job_worker import job_observed, jobs_app_ready
from apps.core.tests.live import free_port
from apps.core.tests.test_logging import lines, production_log

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "tests_job_worker"
logger = logging.getLogger("apps.tests.job_worker")


def make_worker_app() -> DjangoApp:
    """Return an app like the project's worker (same database, same configuration, the
    connector that ``manage.py procrastinate worker`` gives it) with test tasks, so that none is
    left registered on the project's app."""
    test_app = DjangoApp(connector=app.connector.get_worker_connector())
    jobs_app_ready(test_app)

    @test_app.task(name="tests.chatty", queue=QUEUE)
    def chatty(*, fail: bool = False) -> None:
        logger.info("working")
        logging.getLogger("procrastinate.tests").info("a library's line")
        if fail:
            raise ValueError("broken")

    @test_app.task(name="tests.chatty_async", queue=QUEUE)
    async def chatty_async() -> None:
        logger.info("working asynchronously")

    return test_app


@pytest.fixture
def worker_app() -> DjangoApp:
    return make_worker_app()


def defer(task_name: str, **arguments: Any) -> int:
    """Defer a test task by its name through the project's app, as the code defers its jobs."""
    return app.configure_task(task_name, queue=QUEUE).defer(**arguments)


def run_worker(worker_app: DjangoApp) -> None:
    """Run the queue's jobs until none is left, as ``manage.py procrastinate worker`` would."""
    worker_app.run_worker(
        queues=[QUEUE], wait=False, install_signal_handlers=False, listen_notify=False
    )


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record of our loggers and procrastinate's, as production's console writes it."""
    with production_log("apps", "procrastinate", level=logging.INFO) as stream:
        yield stream


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_project_app_runs_every_job_inside_the_middleware() -> None:
    assert app.worker_defaults["worker_middleware"] == [job_observed]


def test_every_line_logged_while_a_job_runs_carries_its_id_and_task(
    worker_app: DjangoApp, json_lines: io.StringIO
) -> None:
    sync_id = defer("tests.chatty")
    async_id = defer("tests.chatty_async")
    failing_id = defer("tests.chatty", fail=True)
    logger.info("before the worker")

    run_worker(worker_app)
    logger.info("after the worker")

    logged = lines(json_lines)
    by_message = {
        (line["message"], line["job_id"]): line for line in logged if line["job_id"] is not None
    }
    for job_id, task in (
        (sync_id, "tests.chatty"),
        (async_id, "tests.chatty_async"),
        (failing_id, "tests.chatty"),
    ):
        # The job's own lines (a sync task's run in a thread), the library's, and the worker's
        # before and after the run: each names the job.
        of_job = [line for line in logged if line["job_id"] == str(job_id)]
        assert {line["job_task"] for line in of_job} == {task}
        assert any(line["message"].startswith("Starting job") for line in of_job)
        assert any("ended with status" in line["message"] for line in of_job)
    assert ("working", str(sync_id)) in by_message
    assert ("a library's line", str(sync_id)) in by_message
    assert ("working asynchronously", str(async_id)) in by_message
    assert ("working", str(failing_id)) in by_message
    assert "ended with status: Error" in " ".join(
        line["message"] for line in logged if line["job_id"] == str(failing_id)
    )
    # Lines outside any job have none.
    outside = [
        line for line in logged if line["message"] in ("before the worker", "after the worker")
    ]
    assert [(line["job_id"], line["job_task"]) for line in outside] == [(None, None)] * 2


def test_each_run_is_timed_by_outcome_and_its_wait_measured(worker_app: DjangoApp) -> None:
    succeeded = ("catalogue_job_duration_seconds_count", "tests.chatty", "succeeded")
    failed = ("catalogue_job_duration_seconds_count", "tests.chatty", "failed")
    before = {
        key: sample(key[0], queue=QUEUE, task=key[1], outcome=key[2]) for key in (succeeded, failed)
    }
    waits_before = sample("catalogue_job_latency_seconds_count", queue=QUEUE, task="tests.chatty")
    waited_before = sample("catalogue_job_latency_seconds_sum", queue=QUEUE, task="tests.chatty")

    defer("tests.chatty")
    failing_id = defer("tests.chatty", fail=True)
    # The failing job was deferred a minute ago, as far as the database knows.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = at - interval '60 seconds'"
            " WHERE job_id = %s AND type = 'deferred'",
            [failing_id],
        )
    run_worker(worker_app)

    after = {
        key: sample(key[0], queue=QUEUE, task=key[1], outcome=key[2]) for key in (succeeded, failed)
    }
    assert after[succeeded] - before[succeeded] == 1
    assert after[failed] - before[failed] == 1
    assert sample("catalogue_job_latency_seconds_count", queue=QUEUE, task="tests.chatty") == (
        waits_before + 2
    )
    waited = sample("catalogue_job_latency_seconds_sum", queue=QUEUE, task="tests.chatty")
    # A minute for the backdated job, a moment for the other.
    assert 60 <= waited - waited_before < 70


# --- the worker's metrics endpoint -----------------------------------------------------------

METRICS_TOKEN = "a-metrics-token-of-at-least-32-characters-0123"


def get(port: int, path: str = "/metrics", token: str | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_a_worker_serves_its_own_metrics_while_it_runs_under_the_access_rules(
    settings: Any,
) -> None:
    port = free_port()
    settings.JOBS_METRICS_PORT = port
    settings.METRICS_PUBLIC = False
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    test_app = make_worker_app()
    answers: dict[str, tuple[int, str]] = {}

    @test_app.task(name="tests.scrape", queue=QUEUE)
    def scrape() -> None:
        # The worker runs: its endpoint answers.
        answers["with token"] = get(port, token=METRICS_TOKEN)
        answers["without"] = get(port)
        answers["elsewhere"] = get(port, "/admin/", token=METRICS_TOKEN)

    defer("tests.chatty")  # timed before the scrape
    defer("tests.scrape")
    run_worker(test_app)

    status, body = answers["with token"]
    assert status == 200
    families = {family.name for family in text_string_to_metric_families(body)}
    assert "catalogue_job_duration_seconds" in families
    # The collectors are the web's to run: a worker does not read the tables for a scrape.
    assert "catalogue_job_queue_depth" not in families
    assert answers["without"][0] == 403
    assert answers["elsewhere"][0] == 404
    # Stopped with the worker.
    with pytest.raises(ConnectionRefusedError):
        get(port, token=METRICS_TOKEN)
