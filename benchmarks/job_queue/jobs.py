"""The job each candidate runs in the comparison: nothing, so that only the queue is measured."""

from django_tasks import task
from procrastinate.contrib.django import app


@app.task(name="noop")
def procrastinate_noop() -> None:
    """Do nothing (procrastinate)."""


@task()
def django_tasks_noop() -> None:
    """Do nothing (django-tasks)."""
