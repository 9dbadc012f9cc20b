"""Product jobs: imports (defined beside their service, ``import_jobs``) and the upkeep of their
uploads. Workers find the jobs of every app's ``tasks.py``."""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

from .import_jobs import import_run_job, import_uploads_prune

# import_run_job is registered with the workers by importing it here.
__all__ = ["import_run_job", "import_uploads_prune_job"]

logger = logging.getLogger(__name__)


@app.periodic(cron="50 3 * * *")
@app.task(name="products.import_uploads_prune", queue="upkeep", queueing_lock="products.uploads")
def import_uploads_prune_job(timestamp: int) -> None:
    """Delete the files of uploads older than PRODUCTS_IMPORT_UPLOAD_KEEP_DAYS."""
    deleted = import_uploads_prune(keep_days=settings.PRODUCTS_IMPORT_UPLOAD_KEEP_DAYS)
    logger.info("Deleted %d old import upload(s)", deleted)
