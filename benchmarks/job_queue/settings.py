"""Settings for the queue comparison (``benchmarks/job_queue/compare.py``): both queues installed.

Only what the two queues need: procrastinate's Django app and django-tasks with its database
backend, on a database of their own (``catalogue_queue_bench`` on ``DATABASE_URL``'s server).
"""

import os

from project.settings.base import database_from_url

SECRET_KEY = "queue-benchmark-only-not-a-secret"  # noqa: S105
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "procrastinate.contrib.django",
    "django_tasks",
    "django_tasks_db",
]
DATABASES = {"default": database_from_url(os.environ["QUEUE_BENCH_DATABASE_URL"])}
# The no-op jobs of both candidates.
PROCRASTINATE_IMPORT_PATHS = ["benchmarks.job_queue.jobs"]
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = ""
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
