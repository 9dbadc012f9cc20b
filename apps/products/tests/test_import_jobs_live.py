"""An import's two jobs run by a real worker (``manage.py jobs worker``, production
settings): the dry run and the apply of a sheet, their outcome in their rows; and a worker
killed while it writes."""

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import DEFAULT_DB_ALIAS, connection, connections

from apps.core.tasks import jobs_retry_stalled_job
from apps.core.tests.live import JobWorker, database_url
from apps.products import import_jobs
from apps.products.models import ImportJob, ImportState, Product
from apps.products.tests.factories import CategoryFactory
from apps.products.tests.test_admin_import_export import csv_upload
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition: Callable[[], bool], timeout: float, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, log()[-4000:]
        time.sleep(0.2)


def job_state(job: ImportJob) -> str:
    job.refresh_from_db()
    return job.state


def test_a_worker_runs_the_dry_run_then_the_apply(settings: Any, tmp_path: Path) -> None:
    settings.JOBS_RUN_ON_COMMIT = False  # the worker runs them
    CategoryFactory(slug="lamps")
    staff: User = UserFactory(is_staff=True)
    rows = [[f"LAMP-{n}", "Lamp", "", "", "1.00", "1", "true", "lamps"] for n in range(2_000)]
    worker = JobWorker(
        environment={"DATABASE_URL": database_url(connection.settings_dict), "LOG_LEVEL": "INFO"},
        log_path=tmp_path / "worker.log",
    )
    with worker:
        dry_run = import_jobs.import_dry_run_start(
            file=csv_upload(rows), filename="lamps.csv", file_format="csv", user=staff
        )
        wait_until(lambda: job_state(dry_run) == ImportState.SUCCEEDED, 60, worker.log_text)
        assert (dry_run.new, dry_run.error_count, dry_run.rows_done) == (2_000, 0, 2_000)
        assert not Product.objects.exists()

        apply = import_jobs.import_apply_start(dry_run=dry_run, user=staff)
        wait_until(lambda: job_state(apply) == ImportState.SUCCEEDED, 60, worker.log_text)

    assert (apply.new, apply.changed, apply.unchanged) == (2_000, 0, 0)
    assert set(apply.timings) == {"reading", "checking", "writing"}
    assert Product.objects.count() == 2_000
    assert Product.objects.filter(created_by=staff).count() == 2_000
    with connection.cursor() as cursor:  # succeeded jobs' rows go, as the settings say
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE 'products.%'")
        assert cursor.fetchone() == (0,)


def test_an_apply_killed_with_its_worker_writes_nothing_and_its_rerun_imports(
    settings: Any, tmp_path: Path
) -> None:
    """The worker is killed (SIGKILL) while the apply writes: its transaction goes with its
    connection, the job stays running in name only until the upkeep queues it again, and the
    next worker's run imports the sheet."""
    settings.JOBS_RUN_ON_COMMIT = False
    CategoryFactory(slug="lamps")
    staff: User = UserFactory(is_staff=True)
    rows = [[f"LAMP-{n}", f"Lamp {n}", "", "", "1.00", "1", "true", "lamps"] for n in range(500)]
    dry_run = import_jobs.import_dry_run_start(
        file=csv_upload(rows), filename="lamps.csv", file_format="csv", user=staff
    )
    import_jobs.import_job_run(import_job_id=dry_run.pk)
    worker = JobWorker(
        environment={"DATABASE_URL": database_url(connection.settings_dict), "LOG_LEVEL": "INFO"},
        log_path=tmp_path / "worker.log",
    )
    # Another session holds the search lexicon: the apply's write waits for it, mid-transaction.
    blocker = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with blocker.cursor() as cursor:
            blocker.set_autocommit(False)
            cursor.execute("LOCK TABLE products_searchterm IN SHARE ROW EXCLUSIVE MODE")
            worker.start()
            apply = import_jobs.import_apply_start(dry_run=dry_run, user=staff)

            def writing() -> bool:
                apply.refresh_from_db()
                return apply.phase == "writing"

            wait_until(writing, 60, worker.log_text)
            assert worker.process is not None
            worker.process.send_signal(signal.SIGKILL)
            worker.process.wait()
            blocker.rollback()  # the killed worker's session then ends, rolled back
    finally:
        blocker.close()
        worker.stop()

    wait_until(lambda: not _sessions_of_the_killed_worker(), 30, worker.log_text)
    assert not Product.objects.exists()
    assert job_state(apply) == ImportState.RUNNING  # in name only
    with connection.cursor() as cursor:  # its heartbeat stopped long ago, as far as we care
        cursor.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 h'")
    assert async_to_sync(jobs_retry_stalled_job.func)(timestamp=0) == 1

    with worker:  # restarted
        wait_until(lambda: job_state(apply) == ImportState.SUCCEEDED, 60, worker.log_text)

    assert (apply.new, apply.error_count) == (500, 0)
    assert Product.objects.count() == 500


def _sessions_of_the_killed_worker() -> bool:
    """Return whether a session still runs the import's statements (the killed worker's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state <> 'idle' AND query ILIKE '%%products_import%%'"
        )
        return bool(cursor.fetchone()[0])
