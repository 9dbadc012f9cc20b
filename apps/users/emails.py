"""Account emails: rendered from ``templates/emails/`` (text and HTML), sent by a job.

``email_enqueue`` defers the email on the transaction of the account change: a registration that
rolls back sends nothing, and a committed one's email is a row in PostgreSQL that a worker
builds and sends, after a restart if need be. The request does not wait for the mail server, so a
password reset or registration answers as fast whether or not it sends an email (the answers must
not reveal, by their timing, whether an account exists). A delivery the mail server refuses, or
that cannot reach it, is retried with exponential backoff (``ACCOUNTS_EMAIL_RETRY``).
"""

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from procrastinate.contrib.django import app

from apps.core.jobs import ExponentialBackoff, job_defer

from .models import User
from .tokens import email_verification_token_make, uid_encode

logger = logging.getLogger(__name__)


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


def verification_email(user: User) -> EmailMultiAlternatives:
    """Build the email with a link that verifies ``user``'s address."""
    url = _link(
        settings.ACCOUNTS_EMAIL_LINKS["verify_email"], token=email_verification_token_make(user)
    )
    context = {
        "user": user,
        "url": url,
        "valid_hours": settings.ACCOUNTS_EMAIL_VERIFICATION_TIMEOUT // 3600,
    }
    return email_build(template="verify_email", to=user.email, context=context)


def password_reset_email(user: User) -> EmailMultiAlternatives:
    """Build the email with a link that sets a new password for ``user``."""
    url = _link(
        settings.ACCOUNTS_EMAIL_LINKS["password_reset"],
        uid=uid_encode(user),
        token=default_token_generator.make_token(user),
    )
    context = {"user": user, "url": url, "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60}
    return email_build(template="password_reset", to=user.email, context=context)


def account_exists_email(user: User) -> EmailMultiAlternatives:
    """Build the email telling ``user`` that someone tried to register their address again."""
    url = _link(settings.ACCOUNTS_EMAIL_LINKS["forgot_password"])
    return email_build(template="account_exists", to=user.email, context={"user": user, "url": url})


ACCOUNT_EMAILS: dict[str, Callable[[User], EmailMultiAlternatives]] = {
    "verify_email": verification_email,
    "password_reset": password_reset_email,
    "account_exists": account_exists_email,
}


def email_enqueue(*, kind: str, user: User) -> int:
    """Defer sending the account email ``kind`` (of ``ACCOUNT_EMAILS``) to ``user`` on the current
    transaction; return the job's id.

    The job names the user, not the message: the worker builds it, so the links' tokens are
    neither stored in the job's row nor written in the worker's log (which shows a job's
    arguments), and a retry hours later carries fresh ones.
    """
    assert kind in ACCOUNT_EMAILS, f"Unknown account email {kind!r}: one of {list(ACCOUNT_EMAILS)}"
    return job_defer(account_email_send, kind=kind, user_id=user.pk)


@app.task(
    name="users.account_email_send",
    queue="emails",
    retry=ExponentialBackoff(setting="ACCOUNTS_EMAIL_RETRY"),
)
def account_email_send(*, kind: str, user_id: int) -> None:
    """Build and send one account email. An error (refused, unreachable, timed out) fails the
    job, which is then retried; an account deleted meanwhile gets nothing."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        logger.info("No %s email: user %s was deleted", kind, user_id)
        return
    message = ACCOUNT_EMAILS[kind](user)
    message.send()
    logger.info("Sent the %s email to user %s", kind, user_id)


def _link(template: str, **values: str) -> str:
    quoted = {name: quote(value, safe="") for name, value in values.items()}
    return template.format(frontend_url=settings.FRONTEND_URL, **quoted)
