"""Compare the two PostgreSQL-backed queues that fit Catalogue: procrastinate, and Django's tasks
API through the django-tasks backport with django-tasks-db's database backend (issue 14).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/job_queue/compare.py --jobs 2000 --output docs/queue-figures.md

On ``catalogue_queue_bench`` (created on DATABASE_URL's server, emptied before each candidate),
for each candidate:

1. **enqueue**: ``--jobs`` no-op jobs, each in a transaction of its own: the time of the enqueue
   call, and of the whole transaction (enqueue and commit);
2. **rollback**: a job enqueued in a transaction that rolls back must leave no row;
3. **throughput**: one worker process (``--concurrency 1`` for procrastinate) drains the jobs;
   jobs per second between the first start and the last finish, from the database's own
   timestamps, so that the worker's start-up is not counted;
4. **pickup latency**: with the worker idle, ``--latency-jobs`` jobs enqueued one at a time, a
   random 50-250 ms apart: how long after its commit each one started.

django-tasks' worker polls (``--interval``, 1 s by default); it runs once with its default and
once with ``--db-worker-interval`` (0.1 s). procrastinate's worker is woken by LISTEN/NOTIFY.
Both queues' packages must be installed (only the chosen one is in requirements/base.txt):
``pip install procrastinate django-tasks django-tasks-db``.
"""

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "catalogue_queue_bench"
SETTINGS = "benchmarks.job_queue.settings"
DRAIN_TIMEOUT_SECONDS = 600


class RolledBack(Exception):
    """Raised inside a transaction to roll it back."""


@dataclass
class Candidate:
    name: str
    enqueue: Callable[[], object]
    job_count: Callable[[], int]
    finished_count: Callable[[], int]
    first_start_last_finish: Callable[[], tuple[datetime, datetime]]
    start_times: Callable[[list[object]], dict[object, datetime]]
    clear: Callable[[], None]
    worker_command: list[str]


@dataclass
class Figures:
    name: str
    enqueue_call_ms: list[float] = field(default_factory=list)
    enqueue_transaction_ms: list[float] = field(default_factory=list)
    rollback_leaves_no_job: bool = False
    jobs_per_second: float = 0.0
    pickup_ms: list[float] = field(default_factory=list)


def database_url() -> str:
    """Return the URL of the benchmark's database, created on DATABASE_URL's server if missing."""
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(server_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    scheme, _, rest = server_url.partition("://")
    authority, _, path = rest.partition("/")
    query = path.partition("?")[2]
    return f"{scheme}://{authority}/{DATABASE}" + (f"?{query}" if query else "")


def setup_django(url: str) -> None:
    os.environ["QUEUE_BENCH_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django  # noqa: PLC0415 (after the environment names the settings)

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", verbosity=0)


def candidates(db_worker_interval: float) -> list[Candidate]:
    # Imported once Django is set up: both packages' models need the app registry.
    from django.db import connection  # noqa: PLC0415
    from django.db.models import Max, Min  # noqa: PLC0415
    from django_tasks_db.models import DBTaskResult  # noqa: PLC0415

    from benchmarks.job_queue.jobs import django_tasks_noop, procrastinate_noop  # noqa: PLC0415

    def count(query: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return int(cursor.fetchone()[0])

    def procrastinate_clear() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE procrastinate_jobs CASCADE")

    def procrastinate_span() -> tuple[datetime, datetime]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(at) FILTER (WHERE type = 'started'),"
                " max(at) FILTER (WHERE type = 'succeeded') FROM procrastinate_events"
            )
            first, last = cursor.fetchone()
        return first, last

    def procrastinate_starts(ids: list[object]) -> dict[object, datetime]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT job_id, at FROM procrastinate_events"
                " WHERE type = 'started' AND job_id = ANY(%s)",
                [ids],
            )
            return dict(cursor.fetchall())

    def django_tasks_span() -> tuple[datetime, datetime]:
        span = DBTaskResult.objects.aggregate(first=Min("started_at"), last=Max("finished_at"))
        return span["first"], span["last"]

    def django_tasks_clear() -> None:
        DBTaskResult.objects.all()._raw_delete(DBTaskResult.objects.db)

    def django_tasks_starts(ids: list[object]) -> dict[object, datetime]:
        rows = DBTaskResult.objects.filter(id__in=ids, started_at__isnull=False)
        return {str(row.id): row.started_at for row in rows}

    manage = [sys.executable, str(ROOT / "manage.py")]
    procrastinate = Candidate(
        name="procrastinate 3.10 (LISTEN/NOTIFY)",
        enqueue=procrastinate_noop.defer,
        job_count=lambda: count("SELECT count(*) FROM procrastinate_jobs"),
        finished_count=lambda: count(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        ),
        first_start_last_finish=procrastinate_span,
        start_times=procrastinate_starts,
        clear=procrastinate_clear,
        worker_command=[*manage, "procrastinate", "worker", "--concurrency", "1"],
    )

    def django_tasks(interval: float) -> Candidate:
        return Candidate(
            name=f"django-tasks 0.12 + django-tasks-db 0.13 (polling every {interval:g} s)",
            enqueue=lambda: str(django_tasks_noop.enqueue().id),
            job_count=DBTaskResult.objects.count,
            finished_count=DBTaskResult.objects.filter(finished_at__isnull=False).count,
            first_start_last_finish=django_tasks_span,
            start_times=django_tasks_starts,
            clear=django_tasks_clear,
            worker_command=[
                *manage,
                "db_worker",
                "--interval",
                str(interval),
                "--no-startup-delay",
                "--no-reload",
                "--verbosity",
                "0",
            ],
        )

    return [procrastinate, django_tasks(1.0), django_tasks(db_worker_interval)]


@contextlib.contextmanager
def worker(command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    process = subprocess.Popen(  # noqa: S603 (our own manage.py, with our own arguments)
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not finish in time")
        time.sleep(0.05)


def measure(candidate: Candidate, jobs: int, latency_jobs: int) -> Figures:
    from django.db import transaction  # noqa: PLC0415

    figures = Figures(candidate.name)
    candidate.clear()

    for _ in range(jobs):
        started = time.perf_counter()
        with transaction.atomic():
            call_started = time.perf_counter()
            candidate.enqueue()
            figures.enqueue_call_ms.append((time.perf_counter() - call_started) * 1000)
        figures.enqueue_transaction_ms.append((time.perf_counter() - started) * 1000)

    before = candidate.job_count()
    with contextlib.suppress(RolledBack), transaction.atomic():
        candidate.enqueue()
        raise RolledBack
    figures.rollback_leaves_no_job = candidate.job_count() == before == jobs

    with worker(candidate.worker_command):
        wait_until(lambda: candidate.finished_count() == jobs, DRAIN_TIMEOUT_SECONDS)
        first, last = candidate.first_start_last_finish()
        figures.jobs_per_second = jobs / (last - first).total_seconds()

        committed: dict[object, float] = {}
        for _ in range(latency_jobs):
            time.sleep(random.uniform(0.05, 0.25))  # noqa: S311 (spacing, not secrets)
            with transaction.atomic():
                job_id = candidate.enqueue()
            committed[job_id] = time.time()
        wait_until(lambda: candidate.finished_count() == jobs + latency_jobs, 60)
        starts = candidate.start_times(list(committed))
        figures.pickup_ms = [
            (starts[job_id].timestamp() - commit_time) * 1000
            for job_id, commit_time in committed.items()
        ]
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(all_figures: list[Figures], jobs: int, latency_jobs: int) -> str:
    lines = [
        f"{jobs:,} no-op jobs, each enqueued in its own transaction; one worker process; "
        f"{latency_jobs} jobs for pickup latency; {os.cpu_count()} CPUs, PostgreSQL at "
        "DATABASE_URL.",
        "",
        "| queue | enqueue call p50 / p99 (ms) | enqueue + commit p50 / p99 (ms) "
        "| rolled back: no job | worker jobs/s | pickup min / p50 / p95 / max (ms) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for figures in all_figures:
        lines.append(
            f"| {figures.name} "
            f"| {statistics.median(figures.enqueue_call_ms):.2f} / "
            f"{percentile(figures.enqueue_call_ms, 0.99):.2f} "
            f"| {statistics.median(figures.enqueue_transaction_ms):.2f} / "
            f"{percentile(figures.enqueue_transaction_ms, 0.99):.2f} "
            f"| {'yes' if figures.rollback_leaves_no_job else 'NO'} "
            f"| {figures.jobs_per_second:,.0f} "
            f"| {min(figures.pickup_ms):.1f} / {statistics.median(figures.pickup_ms):.1f} / "
            f"{percentile(figures.pickup_ms, 0.95):.1f} / {max(figures.pickup_ms):.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--latency-jobs", type=int, default=50)
    parser.add_argument("--db-worker-interval", type=float, default=0.1)
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    arguments = parser.parse_args()

    setup_django(database_url())
    results = []
    for candidate in candidates(arguments.db_worker_interval):
        print(f"measuring {candidate.name} ...", file=sys.stderr)
        results.append(measure(candidate, arguments.jobs, arguments.latency_jobs))
    table = report(results, arguments.jobs, arguments.latency_jobs)
    print(table)
    if arguments.output:
        arguments.output.write_text(table)


if __name__ == "__main__":
    main()
