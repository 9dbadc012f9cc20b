"""Account emails: rendered from ``templates/emails/`` (text and HTML), sent after commit.

With ``ACCOUNTS_EMAIL_IN_BACKGROUND`` (the default outside tests), delivery runs on a small
thread pool, so that a request that sends an email answers as fast as one that does not: the
password reset and registration answers must not reveal, by their timing, whether an account
exists. Delivery failures are logged, never raised into the request.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

_delivery = ThreadPoolExecutor(max_workers=2, thread_name_prefix="account-email")
# Deliveries not yet finished; each removes itself when done.
_pending: set[Future[None]] = set()


def email_build(*, template: str, to: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    """Render ``emails/<template>_subject.txt``, ``.txt`` and ``.html`` into one message."""
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    # A subject is one line: a newline in it would let a template inject headers.
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message


def email_send_on_commit(message: EmailMultiAlternatives) -> None:
    """Send ``message`` once the current transaction commits (at once outside one)."""
    if settings.ACCOUNTS_EMAIL_IN_BACKGROUND:
        transaction.on_commit(lambda: _deliver_in_background(message))
    else:
        transaction.on_commit(lambda: _deliver(message))


def emails_wait(timeout: float = 10) -> None:
    """Wait until every email handed to the background has been delivered (or has failed)."""
    for future in list(_pending):
        future.result(timeout=timeout)


def _deliver_in_background(message: EmailMultiAlternatives) -> None:
    future = _delivery.submit(_deliver, message)
    _pending.add(future)
    future.add_done_callback(_pending.discard)


def _deliver(message: EmailMultiAlternatives) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("Could not send the email %r", message.subject)
