"""An import's two jobs run by a real worker (``manage.py procrastinate worker``, production
settings): the dry run and the apply of a sheet, their outcome in their rows."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

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
