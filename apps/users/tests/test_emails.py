"""Account emails as jobs: deferred in the account change's transaction, sent by the job, retried
when the mail server fails. A real worker and a real SMTP server: test_email_delivery_live.py."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from apps.users.emails import account_email_send, email_enqueue
from apps.users.models import User
from apps.users.services import user_password_reset_request, user_register


class RolledBack(Exception):
    pass


def queued_jobs() -> list[tuple[str, dict[str, Any]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, args FROM procrastinate_jobs WHERE status = 'todo' ORDER BY id"
        )
        return [(task_name, json.loads(args)) for task_name, args in cursor.fetchall()]


@pytest.fixture
def jobs_left_queued(settings: Any) -> None:
    """Leave deferred jobs in the queue, as in a deployment, instead of running them."""
    settings.JOBS_RUN_ON_COMMIT = False


@pytest.mark.django_db
@pytest.mark.usefixtures("jobs_left_queued")
def test_registration_defers_its_email_as_a_job_naming_the_user_only() -> None:
    user = user_register(email="new@example.com", username="new", password="a-Long-pass-phrase-9")

    assert user is not None
    # The job holds no token: the worker builds the message (and its links) when it sends it.
    assert queued_jobs() == [
        ("users.account_email_send", {"kind": "verify_email", "user_id": user.pk})
    ]
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.usefixtures("jobs_left_queued")
def test_a_rolled_back_registration_leaves_no_email_job() -> None:
    seen_inside: list[int] = []

    def register_then_fail() -> None:
        with transaction.atomic():
            user_register(email="new@example.com", username="new", password="a-Long-pass-phrase-9")
            seen_inside.append(len(queued_jobs()))
            raise RolledBack

    with pytest.raises(RolledBack):
        register_then_fail()

    assert seen_inside == [1]
    assert queued_jobs() == []
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("jobs_left_queued")
def test_no_job_for_an_address_without_an_account() -> None:
    user_password_reset_request(email="nobody@example.com")

    assert queued_jobs() == []


@pytest.mark.django_db
def test_the_job_builds_and_sends_the_email_after_the_commit(
    user: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            reverse("v1:auth-password-reset"), {"email": user.email}, format="json"
        )

    assert response.status_code == 202
    [message] = mail.outbox
    assert message.to == [user.email]
    assert message.subject == "Reset your password"
    assert "/reset-password?uid=" in str(message.body)
    assert queued_jobs() == []  # done, and its row deleted


@pytest.mark.django_db
def test_a_refused_delivery_fails_the_job_so_that_it_is_retried(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)

    with pytest.raises(ConnectionRefusedError):
        account_email_send(kind="password_reset", user_id=user.pk)


@pytest.mark.django_db
def test_a_failed_job_run_on_commit_stays_queued_and_the_request_does_not_fail(
    user: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)

    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            reverse("v1:auth-password-reset"), {"email": user.email}, format="json"
        )

    assert response.status_code == 202
    assert queued_jobs() == [
        ("users.account_email_send", {"kind": "password_reset", "user_id": user.pk})
    ]
    assert "failed; it stays queued" in caplog.text


@pytest.mark.django_db
def test_an_account_deleted_before_its_email_goes_gets_none(user: User) -> None:
    user_id = user.pk
    user.delete()

    account_email_send(kind="account_exists", user_id=user_id)

    assert mail.outbox == []


@pytest.mark.django_db
def test_an_unknown_kind_of_email_is_refused_when_enqueued(user: User) -> None:
    with pytest.raises(AssertionError, match="Unknown account email"):
        email_enqueue(kind="newsletter", user=user)
