"""Account jobs: email delivery (defined beside the emails) and the periodic upkeep of tokens and
login records. Workers find the jobs of every app's ``tasks.py`` (PROCRASTINATE_AUTODISCOVER_...).
"""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

from .emails import account_email_send
from .services import login_records_prune, refresh_tokens_flush_expired

# account_email_send is registered with the workers by importing it here.
__all__ = ["account_email_send", "login_records_prune_job", "refresh_tokens_flush_job"]

logger = logging.getLogger(__name__)


# Nightly, in the quiet hours (UTC). A periodic job is deferred once per schedule whatever the
# number of workers; the queueing lock keeps a second one from waiting behind a slow first.
@app.periodic(cron="20 3 * * *")
@app.task(name="users.refresh_tokens_flush", queue="upkeep", queueing_lock="users.tokens")
def refresh_tokens_flush_job(timestamp: int) -> None:
    """Delete expired refresh tokens and their blacklist entries."""
    deleted = refresh_tokens_flush_expired()
    logger.info("Deleted %d expired refresh token(s)", deleted)


@app.periodic(cron="30 3 * * *")
@app.task(name="users.login_records_prune", queue="upkeep", queueing_lock="users.login_records")
def login_records_prune_job(timestamp: int) -> None:
    """Delete spent login failure counts and login logs older than LOGIN_RECORDS_KEEP_DAYS."""
    deleted = login_records_prune(keep_days=settings.LOGIN_RECORDS_KEEP_DAYS)
    logger.info("Deleted old login records: %s", deleted)
