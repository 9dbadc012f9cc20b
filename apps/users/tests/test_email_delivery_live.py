"""Issue 14's "done when": an account email is delivered after the mail server comes back.

A real worker with production settings (``manage.py jobs worker``) and a real SMTP
server on loopback (aiosmtpd). The mail server is down when the registration commits: the
worker's attempts are refused and retried; the worker is restarted; the server comes up; the
email arrives, once. And two workers share one queue, each email sent by exactly one of them.
"""

import email
import json
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.tests.live import JobWorker, database_url, free_port
from apps.users.emails import email_enqueue
from apps.users.tests.factories import UserFactory


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def wait_until(condition: Callable[[], bool], timeout: float, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, log()[-4000:]
        time.sleep(0.2)


def json_lines(log: str) -> list[dict[str, Any]]:
    """Return the JSON lines of a production log (``LOG_FORMAT=json``)."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def email_job() -> tuple[str, int] | None:
    """Return the status and attempts of the first email job, or None once none is left."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status::text, attempts FROM procrastinate_jobs"
            " WHERE task_name = 'users.account_email_send' ORDER BY id LIMIT 1"
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


@pytest.mark.django_db(transaction=True)
def test_a_registration_email_is_delivered_once_the_mail_server_is_back(
    settings: Any, tmp_path: Path
) -> None:
    settings.JOBS_RUN_ON_COMMIT = False  # a real worker runs the job
    port = free_port()  # nothing listens there yet: the mail server is down
    worker = JobWorker(
        environment={
            "DATABASE_URL": database_url(connection.settings_dict),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_TIMEOUT": "2",
            # Retries a second apart instead of 10 s, 20 s ...
            "EMAIL_RETRY_FIRST_SECONDS": "1",
            "EMAIL_RETRY_MAX_SECONDS": "1",
            "LOG_LEVEL": "INFO",
        },
        log_path=tmp_path / "worker.log",
    )

    response = APIClient().post(
        reverse("v1:auth-register"),
        {"email": "back@example.com", "username": "back", "password": "a-Long-pass-phrase-9"},
        format="json",
    )
    assert response.status_code == 202, response.content
    assert email_job() == ("todo", 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_jobs")
        [(job_id,)] = cursor.fetchall()

    with worker:  # refused, and scheduled again
        wait_until(lambda: (email_job() or ("", 0))[1] >= 1, 30, worker.log_text)
    assert "ConnectionRefusedError" in worker.log_text()
    # Each of the job's lines names it: the worker's, and our retry policy's.
    of_job = [line for line in json_lines(worker.log_text()) if line["job_id"] == str(job_id)]
    assert {line["job_task"] for line in of_job} == {"users.account_email_send"}
    assert any(line["message"].startswith("Starting job") for line in of_job)
    assert any("; retry 1 of" in line["message"] for line in of_job)
    assert email_job() == ("todo", 1) or email_job() == ("todo", 2)  # waiting, after a restart

    inbox = Inbox()
    mail_server = Controller(inbox, hostname="127.0.0.1", port=port)
    mail_server.start()
    try:
        with worker:
            wait_until(lambda: bool(inbox.messages), 30, worker.log_text)
            wait_until(lambda: email_job() is None, 10, worker.log_text)
    finally:
        mail_server.stop()

    [(recipients, message)] = inbox.messages
    assert recipients == ["back@example.com"]
    assert message["Subject"] == "Confirm your email address"
    assert "/verify-email?token=" in message.get_payload(0).get_payload(decode=True).decode()


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_queue_and_send_each_email_once(
    settings: Any, tmp_path: Path
) -> None:
    # Production runs workers on several hosts: two processes here, one database between them.
    settings.JOBS_RUN_ON_COMMIT = False
    inbox = Inbox()
    port = free_port()
    mail_server = Controller(inbox, hostname="127.0.0.1", port=port)
    mail_server.start()
    environment = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "false",
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "LOG_LEVEL": "INFO",
    }
    users = [UserFactory() for _ in range(40)]
    first = JobWorker(environment, tmp_path / "first.log")
    second = JobWorker(environment, tmp_path / "second.log")
    try:
        with first, second:
            with transaction.atomic():  # both workers wait: the commit wakes them together
                for user in users:
                    email_enqueue(kind="account_exists", user=user)
            wait_until(lambda: len(inbox.messages) >= len(users), 60, first.log_text)
            wait_until(lambda: email_job() is None, 10, first.log_text)
    finally:
        mail_server.stop()

    recipients = sorted(recipient for recipients, _ in inbox.messages for recipient in recipients)
    assert recipients == sorted(user.email for user in users)  # every one, none twice
    sent = [log.log_text().count("Sent the account_exists email") for log in (first, second)]
    assert sum(sent) == len(users)
    assert min(sent) > 0  # both took a share
    print(f"\nemails sent by each of two workers: {sent}")
