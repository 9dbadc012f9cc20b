"""The job queue: retry policy, jobs run after commit in tests, the queue's own upkeep, the
readiness probe's queue figures and the queue's metrics."""

import json
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from asgiref.sync import async_to_sync
from django.db import OperationalError, connection, transaction
from django.db.backends.postgresql import base as postgresql_base
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from procrastinate.contrib.django import app
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from apps.core.jobs import ExponentialBackoff, job_defer, job_run_now, queue_figures
from apps.core.tasks import jobs_prune_job, jobs_retry_stalled_job
from apps.core.tests.test_database_outage import database_unreachable

POLICY = {"retries": 4, "first_wait_seconds": 10, "max_wait_seconds": 50}


def retry_wait(settings: Any, attempts: int) -> int | None:
    settings.TEST_RETRY_POLICY = POLICY
    job = SimpleNamespace(id=1, task_name="t", attempts=attempts)
    decision = ExponentialBackoff(setting="TEST_RETRY_POLICY").get_retry_decision(
        exception=ConnectionRefusedError(),
        job=job,  # type: ignore[arg-type]
    )
    if decision is None:
        return None
    assert decision.retry_at is not None
    return round((decision.retry_at - timezone.now()).total_seconds())


def test_retries_wait_twice_as_long_each_time_up_to_the_cap_then_stop(settings: Any) -> None:
    waits = [retry_wait(settings, attempts) for attempts in range(6)]

    # 10, 20, 40, then the 50 s cap, each stretched by up to a tenth; none after 4 retries.
    for wait, expected in zip(waits[:4], [10, 20, 40, 50], strict=True):
        assert wait is not None
        assert expected - 1 <= wait <= expected * 1.1 + 1
    assert waits[4:] == [None, None]


def queue_rows() -> list[tuple[str, str, dict[str, Any]]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, status::text, args FROM procrastinate_jobs ORDER BY id")
        return [(name, status, json.loads(args)) for name, status, args in cursor.fetchall()]


@pytest.mark.django_db
def test_a_deferred_job_runs_in_the_test_process_after_commit_and_its_row_goes(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_defer(jobs_retry_stalled_job, timestamp=0)
    assert [row[:2] for row in queue_rows()] == [("core.jobs_retry_stalled", "todo")]

    for callback in callbacks:
        callback()

    assert queue_rows() == []


@pytest.mark.django_db
def test_a_job_a_worker_took_already_is_not_run_again(settings: Any) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    job_id = job_defer(jobs_retry_stalled_job, timestamp=0)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [job_id])

    job_run_now(job_id)

    assert [row[:2] for row in queue_rows()] == [("core.jobs_retry_stalled", "doing")]


def insert_worker(heartbeat_seconds_ago: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat)"
            " VALUES (now() - make_interval(secs => %s)) RETURNING id",
            [heartbeat_seconds_ago],
        )
        return int(cursor.fetchone()[0])


def set_job(job_id: int, *, status: str, worker_id: int | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = %s, worker_id = %s WHERE id = %s",
            [status, worker_id, job_id],
        )


@pytest.mark.django_db
def test_jobs_of_a_dead_worker_are_queued_again_those_of_a_live_one_are_not(
    settings: Any,
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    dead, alive = insert_worker(600), insert_worker(1)
    orphaned = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=1)
    running = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=2)
    set_job(orphaned, status="doing", worker_id=dead)
    set_job(running, status="doing", worker_id=alive)

    requeued = async_to_sync(jobs_retry_stalled_job.func)(timestamp=0)

    assert requeued == 1
    assert [(row[1], row[2]["user_id"]) for row in queue_rows()] == [("todo", 1), ("doing", 2)]


@pytest.mark.django_db
def test_jobs_that_failed_long_ago_are_deleted_recent_ones_kept(settings: Any) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    settings.JOBS_KEEP_FAILED_DAYS = 30
    old = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=1)
    recent = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=2)
    waiting = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=3)
    set_job(old, status="failed")
    set_job(recent, status="failed")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '31 days'"
            " WHERE job_id = ANY(%s)",
            [[old, waiting]],
        )

    async_to_sync(jobs_prune_job.func)(timestamp=0)

    assert [(row[1], row[2]["user_id"]) for row in queue_rows()] == [("failed", 2), ("todo", 3)]


@pytest.mark.django_db
def test_queue_figures_count_waiting_jobs_and_the_oldest_ones_wait(settings: Any) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    insert_worker(1)
    insert_worker(600)  # dead: not counted
    first = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=1)
    job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=2)
    running = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=3)
    later = app.tasks["users.account_email_send"].configure(schedule_in={"hours": 1})
    later.defer(kind="verify_email", user_id=4)  # not due yet: not waiting
    set_job(running, status="doing")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '120 seconds'"
            " WHERE job_id = %s AND type = 'deferred'",
            [first],
        )

    assert queue_figures() == {
        "waiting": 2,
        "oldest_waiting_seconds": 120.0,
        "running": 1,
        "workers": 1,
    }


@pytest.mark.django_db
def test_readiness_reports_the_queue_and_stays_200_whatever_its_backlog(
    client: Client, settings: Any
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    for user_id in range(3):
        job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=user_id)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_events SET at = now() - interval '1 day'")

    response = client.get("/health/ready/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["queue"] == {
        "waiting": 3,
        "oldest_waiting_seconds": 86400.0,
        "running": 0,
        "workers": 0,
    }


@pytest.mark.django_db
def test_readiness_stays_200_when_the_queue_cannot_be_read(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "apps.core.jobs._QUEUE_FIGURES_SQL", "SELECT 1 FROM no_such_table WHERE 1 = %s"
    )

    response = client.get("/health/ready/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["queue"] == {"error": "unavailable: ProgrammingError"}
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_the_job_admin_lists_jobs(admin_client: Client, settings: Any) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    job_id = job_defer(app.tasks["users.account_email_send"], kind="verify_email", user_id=1)

    listing = admin_client.get("/admin/procrastinate/procrastinatejob/")
    detail = admin_client.get(f"/admin/procrastinate/procrastinatejob/{job_id}/change/")

    assert listing.status_code == 200
    assert "users.account_email_send" in listing.content.decode()
    assert detail.status_code == 200


def test_every_periodic_job_is_registered_on_a_schedule() -> None:
    schedules = {
        periodic.task.name: periodic.cron
        for periodic in app.periodic_registry.periodic_tasks.values()
    }

    assert schedules == {
        "core.jobs_retry_stalled": "*/5 * * * *",
        "core.jobs_prune": "10 3 * * *",
        "users.refresh_tokens_flush": "20 3 * * *",
        "users.login_records_prune": "30 3 * * *",
        "reviews.rating_figures_check": "0 4 * * *",
        "webhooks.events_relay": "* * * * * */5",  # every 5 s (croniter's sixth field)
        "webhooks.send_due": "* * * * * */5",
        "webhooks.prune": "40 3 * * *",
        "products.import_uploads_prune": "50 3 * * *",
    }


@pytest.mark.django_db
def test_a_database_error_while_deferring_is_djangos_own(settings: Any) -> None:
    # procrastinate wraps the driver's error in its own ConnectorException; the request's error
    # handling (503 database_unavailable, retried deadlocks) knows Django's errors only.
    settings.JOBS_RUN_ON_COMMIT = False

    def lose_the_connection(self: Any, *args: Any, **kwargs: Any) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    task = app.tasks["users.account_email_send"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postgresql_base.Cursor, "execute", lose_the_connection)
        with pytest.raises(OperationalError) as raised:
            job_defer(task, kind="verify_email", user_id=1)

    assert isinstance(raised.value.__cause__, psycopg.OperationalError)


@pytest.mark.django_db(transaction=True)
def test_a_job_deferred_in_a_worker_exists_only_if_its_transaction_commits(
    settings: Any,
) -> None:
    # A worker runs with procrastinate's own connector (`manage.py jobs worker` replaces
    # Django's), so a job that defers another (the webhook relay) must still defer on Django's
    # connection, in its transaction.
    settings.JOBS_RUN_ON_COMMIT = False
    task = app.tasks["users.account_email_send"]

    def queued() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT (args->>'user_id')::int FROM procrastinate_jobs ORDER BY id")
            return [row[0] for row in cursor.fetchall()]

    @transaction.atomic
    def defer_then_fail() -> None:
        job_defer(task, kind="verify_email", user_id=1)
        raise RuntimeError("rolled back")

    with app.replace_connector(app.connector.get_worker_connector()), app.open():
        with pytest.raises(RuntimeError):
            defer_then_fail()
        with transaction.atomic():
            job_defer(task, kind="verify_email", user_id=2)
            assert queued() == [2]  # in the transaction, before its commit

    assert queued() == [2]


# --- the queue's metrics (apps.core.metrics.jobs.JobQueueCollector) --------------------------

JOB_QUEUE_COLLECTOR = "apps.core.metrics.jobs.JobQueueCollector"


def scraped(client: Client) -> dict[str, Metric]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    return {
        family.name: family for family in text_string_to_metric_families(response.content.decode())
    }


def by_queue_and_task(family: Metric) -> dict[tuple[str, str], float]:
    return {(s.labels["queue"], s.labels["task"]): s.value for s in family.samples}


@pytest.mark.django_db
def test_the_queue_metrics_count_jobs_by_queue_and_task_in_one_statement(
    client: Client, settings: Any
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    insert_worker(1)
    insert_worker(600)  # dead: not counted
    email = app.tasks["users.account_email_send"]
    first = job_defer(email, kind="verify_email", user_id=1)
    job_defer(email, kind="verify_email", user_id=2)
    set_job(job_defer(email, kind="verify_email", user_id=3), status="doing")
    email.configure(schedule_in={"hours": 1}).defer(kind="verify_email", user_id=4)  # not due
    # A job of a task the code no longer has, on a queue no task uses.
    app.configure_task("gone.task", queue="gone").defer()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '120 seconds'"
            " WHERE job_id = %s AND type = 'deferred'",
            [first],
        )

    with CaptureQueriesContext(connection) as queries:
        families = scraped(client)

    email_key = (email.queue, email.name)
    depth = by_queue_and_task(families["catalogue_job_queue_depth"])
    assert depth[email_key] == 2
    assert depth["gone", "gone.task"] == 1
    # Every registered task has its series, 0 while none of its jobs waits.
    assert depth["upkeep", "core.jobs_prune"] == 0
    assert {task for _, task in depth} >= {name for name in app.tasks if "builtin" not in name}
    assert by_queue_and_task(families["catalogue_job_running"])[email_key] == 1
    oldest = by_queue_and_task(families["catalogue_job_oldest_waiting_seconds"])
    assert oldest[email_key] == 120.0
    assert oldest["upkeep", "core.jobs_prune"] == 0
    assert families["catalogue_job_workers"].samples[0].value == 1
    up = {
        s.labels["collector"]: s.value for s in families["catalogue_metrics_collector_up"].samples
    }
    assert up[JOB_QUEUE_COLLECTOR] == 1
    # One statement reads the queue (beside the statement timeout it runs under).
    assert len([q for q in queries if "procrastinate_jobs" in q["sql"]]) == 1


@pytest.mark.django_db
def test_the_oldest_wait_of_a_retried_job_counts_from_its_retry_time(
    client: Client, settings: Any
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False
    email = app.tasks["users.account_email_send"]
    retried = job_defer(email, kind="verify_email", user_id=1)
    with connection.cursor() as cursor:
        # Deferred an hour ago, failed, due again for a retry 30 s ago.
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '1 hour' WHERE job_id = %s",
            [retried],
        )
        cursor.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '30 seconds',"
            " attempts = 1 WHERE id = %s",
            [retried],
        )

    oldest = by_queue_and_task(scraped(client)["catalogue_job_oldest_waiting_seconds"])

    assert oldest[email.queue, email.name] == 30.0


@pytest.mark.django_db(transaction=True)
def test_a_scrape_while_the_database_is_down_still_answers_without_the_queue(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/health/live/")  # a request to count

    with database_unreachable():
        families = scraped(client)

    up = {
        s.labels["collector"]: s.value for s in families["catalogue_metrics_collector_up"].samples
    }
    assert up[JOB_QUEUE_COLLECTOR] == 0
    assert "catalogue_job_queue_depth" not in families
    assert "catalogue_http_requests" in families  # the rest is served
    assert "Metrics collector apps.core.metrics.jobs.JobQueueCollector failed" in caplog.text
