"""Account building blocks: client addresses, reset uids, email delivery, registration races,
account deletion steps."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import RequestFactory

from apps.core.testing import run_together
from apps.core.throttling import client_ip_address
from apps.users import services
from apps.users.emails import email_build
from apps.users.models import User
from apps.users.services import account_deletion_steps, user_delete, user_register
from apps.users.tests.helpers import outcome_summary
from apps.users.tokens import uid_decode, uid_encode


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, None, "192.0.2.1"),
        (0, "203.0.113.5", "192.0.2.1"),  # nobody trusted: the header is the client's own words
        (1, None, "192.0.2.1"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.1, 203.0.113.5", "203.0.113.5"),  # the client's forged start is skipped
        (2, "10.0.0.1, 203.0.113.5, 198.51.100.2", "203.0.113.5"),
        (2, "203.0.113.5", "203.0.113.5"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-address", "192.0.2.1"),
        (1, " , ", "192.0.2.1"),
    ],
)
def test_client_ip_address_trusts_only_the_configured_proxies(
    num_proxies: Callable[[int], None], proxies: int, forwarded_for: str | None, expected: str
) -> None:
    num_proxies(proxies)
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", **headers)

    assert client_ip_address(request) == expected


@pytest.mark.django_db
def test_uid_round_trips_and_refuses_garbage(user: User) -> None:
    assert uid_decode(uid_encode(user)) == user.pk
    for garbage in ["", "%%%", "bm90LWEtbnVtYmVy", "LTE", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5"]:
        assert uid_decode(garbage) is None, garbage


@pytest.mark.django_db
def test_email_has_a_one_line_subject_text_and_html(user: User, settings: Any) -> None:
    settings.FRONTEND_URL = "https://shop.example.com"
    message = email_build(
        template="password_reset",
        to=user.email,
        context={
            "user": user,
            "url": "https://shop.example.com/reset-password?uid=a&token=b",
            "valid_minutes": 60,
        },
    )

    assert message.subject == "Reset your password"
    assert message.to == [user.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "https://shop.example.com/reset-password?uid=a&token=b" in str(message.body)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "uid=a&amp;token=b" in str(html)


@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_of_one_email_create_one_account_and_no_error() -> None:
    def register(n: int) -> Callable[[], str]:
        def run() -> str:
            user = user_register(
                email="same@example.com", username=f"racer{n}", password="a-Long-pass-phrase-9"
            )
            return "created" if user is not None else "exists"

        return run

    outcomes = run_together(*(register(n) for n in range(6)))

    summary = outcome_summary(
        [201 if o == "created" else 202 if o == "exists" else o for o in outcomes]
    )
    print(f"\nparallel registrations of one email: {summary}")
    assert outcomes.count("created") == 1, outcomes
    assert outcomes.count("exists") == 5, outcomes
    assert User.objects.filter(email="same@example.com").count() == 1


def test_smtp_connections_time_out() -> None:
    # A mail server that accepts connections and never answers would otherwise hold a worker's
    # job for ever (smtplib waits without limit when no timeout is given).
    assert settings.EMAIL_TIMEOUT is not None
    assert 0 < settings.EMAIL_TIMEOUT <= 30


@pytest.mark.django_db
def test_account_deletion_steps_run_first_in_the_deletion_transaction(
    monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    seen: list[bool] = []

    def failing_step(*, user: User) -> None:
        seen.append(User.objects.filter(pk=user.pk).exists())
        raise RuntimeError("the step failed")

    # A copy of the registry, which monkeypatch puts back after the test.
    monkeypatch.setattr(services, "_account_deletion_steps", list(account_deletion_steps()))
    services.register_account_deletion_step(failing_step)

    with pytest.raises(RuntimeError, match="the step failed"):
        user_delete(user=user)

    assert seen == [True]  # before the user's row is deleted
    assert User.objects.filter(pk=user.pk).exists()  # and the whole deletion rolled back


def test_registering_an_account_deletion_step_twice_runs_it_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered = account_deletion_steps()
    monkeypatch.setattr(services, "_account_deletion_steps", list(registered))

    for step in registered:
        services.register_account_deletion_step(step)

    assert account_deletion_steps() == registered
