"""Time a product import run as jobs, the admin's way: the upload stored, the dry run, the apply.

    DATABASE_URL=postgres://... python benchmarks/import_job.py --rows 1000000

Into a migrated database with categories (benchmarks/generate_catalogue.py): writes a
one-variant sheet of ``--rows`` new products (SKU, name, a 20-word description, price, stock,
a category of the database's) to a temporary CSV file, stores it as an upload
(``import_upload_store``, as the upload view does), then runs the dry run's job and the apply's
job in this process, as a worker runs them (``import_job_run``). Prints each step's wall time,
the jobs' phase timings and the process's peak RSS after each step (``ru_maxrss``: the peak so
far, so the apply's figure is the larger of the two jobs'). The products it creates stay
(their SKUs start with ``--prefix``); run it on a copy.
"""

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")

import django

django.setup()

from django.conf import settings
from django.db import connection

from apps.products.import_jobs import import_apply_start, import_job_run, import_upload_store
from apps.products.models import Category, ImportJob
from apps.products.sheets import HEADERS
from apps.users.models import User

WORDS = [
    *("oak", "linen", "brass", "lamp", "shade", "table", "chair", "soft", "warm", "bright"),
    *("matte", "glossy", "small", "large", "round", "square", "tall", "narrow", "wide"),
    *("light", "dark", "classic", "modern", "rustic", "woven", "ceramic", "glass", "steel"),
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def write_sheet(path: Path, rows: int, prefix: str) -> None:
    categories = list(Category.objects.values_list("slug", flat=True)[:500])
    assert categories, "The database has no category: generate a catalogue first."
    randomness = random.Random(14)  # noqa: S311 (test data)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        for number in range(rows):
            name = " ".join(randomness.choices(WORDS, k=3)).capitalize()
            writer.writerow(
                [
                    f"{prefix}{number:08d}",
                    name,
                    "",
                    " ".join(randomness.choices(WORDS, k=20)),
                    f"{randomness.randint(100, 99_999) / 100:.2f}",
                    randomness.randint(0, 500),
                    "true",
                    randomness.choice(categories),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--prefix", default="IJB-")
    arguments = parser.parse_args()
    # As in production: DEBUG would keep every query's parameters (the upload's parts) in memory.
    settings.DEBUG = False
    staff, _ = User.objects.get_or_create(
        email="import-bench@example.com",
        defaults={"username": "import-bench", "is_staff": True, "is_superuser": True},
    )
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "products.csv"
        started = time.monotonic()
        write_sheet(sheet, arguments.rows, arguments.prefix)
        size = sheet.stat().st_size
        print(
            f"sheet: {arguments.rows:,} rows, {size / 2**20:,.1f} MB, written in "
            f"{time.monotonic() - started:.1f} s; peak RSS {peak_rss_mb():,.0f} MB"
        )

        started = time.monotonic()
        with sheet.open("rb") as file:
            upload = import_upload_store(
                file=file, filename=sheet.name, file_format="csv", user=staff
            )
        seconds = time.monotonic() - started
        print(f"upload stored: {seconds:.1f} s; peak RSS {peak_rss_mb():,.0f} MB")

    dry_run = ImportJob.objects.create(upload=upload, dry_run=True, created_by=staff)
    started = time.monotonic()
    import_job_run(import_job_id=dry_run.pk)
    dry_run.refresh_from_db()
    print(
        f"dry run: {dry_run.state}, {time.monotonic() - started:.1f} s {dry_run.timings}, "
        f"{dry_run.new:,} new, {dry_run.error_count:,} errors; peak RSS {peak_rss_mb():,.0f} MB"
    )
    assert dry_run.state == "succeeded" and not dry_run.error_count, dry_run.errors[:5]

    # import_apply_start defers the job on commit; run it here instead, as a worker would.
    apply = import_apply_start(dry_run=dry_run, user=staff)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [apply.queue_job_id])
    started = time.monotonic()
    import_job_run(import_job_id=apply.pk)
    apply.refresh_from_db()
    print(
        f"apply: {apply.state}, {time.monotonic() - started:.1f} s {apply.timings}, "
        f"{apply.new:,} new; peak RSS {peak_rss_mb():,.0f} MB {apply.message}"
    )


if __name__ == "__main__":
    main()
