"""Registration that reveals no accounts, and email verification end to end through the outbox."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import hashers
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from apps.users.models import User
from apps.users.tests.factories import UserFactory
from apps.users.tests.helpers import link_parameter

pytestmark = pytest.mark.django_db

REGISTER = reverse("v1:auth-register")
VERIFY = reverse("v1:auth-verify-email")
RESEND = reverse("v1:auth-verify-email-resend")

CommitCallbacks = Callable[..., Any]


def register(
    client: APIClient, capture: CommitCallbacks, email: str, username: str
) -> tuple[Any, list[mail.EmailMessage]]:
    """Register and return the response and the emails it sent (after commit)."""
    mail.outbox.clear()
    with capture(execute=True):
        response = client.post(
            REGISTER, {"email": email, "username": username, "password": "a-Long-pass-phrase-9"}
        )
    return response, list(mail.outbox)


def test_register_answers_the_same_for_a_new_and_a_taken_email(
    api_client: APIClient, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    owner = UserFactory(email="taken@example.com", username="owner")

    fresh, fresh_mail = register(
        api_client, django_capture_on_commit_callbacks, "fresh@example.com", "fresh"
    )
    taken, taken_mail = register(
        api_client, django_capture_on_commit_callbacks, "TAKEN@Example.com", "another"
    )

    assert fresh.status_code == taken.status_code == 202
    assert fresh.data == taken.data
    assert fresh.headers.keys() - {"X-Request-ID"} == taken.headers.keys() - {"X-Request-ID"}
    # No account for the taken address; its owner hears about the attempt instead.
    assert not User.objects.filter(username="another").exists()
    assert User.objects.filter(email__iexact="taken@example.com").get() == owner
    assert [m.to for m in fresh_mail] == [["fresh@example.com"]]
    assert [m.to for m in taken_mail] == [["taken@example.com"]]
    assert "already have an account" in taken_mail[0].subject.lower()
    assert "verify-email?token=" not in str(taken_mail[0].body)


def test_register_with_a_taken_email_hashes_a_password_like_a_new_account(
    api_client: APIClient,
    django_capture_on_commit_callbacks: CommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Timing: creating an account costs one password hash, so the taken-email path pays one too.
    UserFactory(email="taken@example.com")
    hasher = type(hashers.get_hasher())
    hashed: list[str] = []
    real_encode = hasher.encode

    def counting_encode(self: Any, password: str, *args: Any, **kwargs: Any) -> str:
        hashed.append(password)
        return str(real_encode(self, password, *args, **kwargs))

    monkeypatch.setattr(hasher, "encode", counting_encode)

    register(api_client, django_capture_on_commit_callbacks, "fresh@example.com", "fresh")
    register(api_client, django_capture_on_commit_callbacks, "taken@example.com", "other")

    assert hashed == ["a-Long-pass-phrase-9", "a-Long-pass-phrase-9"]


def test_verification_link_from_the_email_verifies_the_address_once(
    api_client: APIClient, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    _, sent = register(api_client, django_capture_on_commit_callbacks, "new@example.com", "new")
    message = sent[0]
    token = link_parameter(message, "token")
    assert message.alternatives and "verify-email?token=" in str(message.alternatives[0][0])

    first = api_client.post(VERIFY, {"token": token})
    again = api_client.post(VERIFY, {"token": token})

    assert first.status_code == 204
    assert User.objects.get(email="new@example.com").is_verified
    assert again.status_code == 400
    assert list(again.data["errors"]) == ["token"]


def test_verification_link_points_at_the_configured_frontend(
    api_client: APIClient,
    django_capture_on_commit_callbacks: CommitCallbacks,
    settings: Any,
) -> None:
    settings.FRONTEND_URL = "https://shop.example.com"

    _, sent = register(api_client, django_capture_on_commit_callbacks, "new@example.com", "new")

    assert "https://shop.example.com/verify-email?token=" in str(sent[0].body)


def test_verification_token_stops_working_when_the_email_changes(
    api_client: APIClient, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    _, sent = register(api_client, django_capture_on_commit_callbacks, "old@example.com", "mover")
    User.objects.filter(email="old@example.com").update(email="new@example.com")

    response = api_client.post(VERIFY, {"token": link_parameter(sent[0], "token")})

    assert response.status_code == 400
    assert not User.objects.get(email="new@example.com").is_verified


def test_verification_token_expires(
    api_client: APIClient,
    django_capture_on_commit_callbacks: CommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    issued_at = time.time() - settings.ACCOUNTS_EMAIL_VERIFICATION_TIMEOUT - 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: issued_at)
    _, sent = register(api_client, django_capture_on_commit_callbacks, "late@example.com", "late")
    monkeypatch.undo()

    response = api_client.post(VERIFY, {"token": link_parameter(sent[0], "token")})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["token"]
    assert not User.objects.get(email="late@example.com").is_verified


@pytest.mark.parametrize(
    "payload",
    [{}, {"token": ""}, {"token": "forged"}, {"token": "eyJ1c2VyIjoxfQ:1aBcDe:forgedsignature"}],
)
def test_verify_refuses_missing_or_forged_tokens_naming_the_field(
    api_client: APIClient, payload: dict[str, str]
) -> None:
    response = api_client.post(VERIFY, payload)

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["token"]


def test_resend_by_email_answers_the_same_for_unknown_verified_and_unverified_addresses(
    api_client: APIClient, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    UserFactory(email="pending@example.com")
    UserFactory(email="done@example.com", is_verified=True)
    answers = {}
    for email in ["pending@example.com", "done@example.com", "nobody@example.com"]:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(RESEND, {"email": email})
        answers[email] = (response.status_code, response.data, [m.to for m in mail.outbox])

    assert {status for status, _, _ in answers.values()} == {202}
    assert len({str(data) for _, data, _ in answers.values()}) == 1
    assert answers["pending@example.com"][2] == [["pending@example.com"]]
    assert answers["done@example.com"][2] == answers["nobody@example.com"][2] == []


def test_resend_for_the_signed_in_user_sends_a_working_link(
    user: User, client_for: Callable[[User], APIClient], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(RESEND, {})

    assert response.status_code == 202
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert (
        APIClient().post(VERIFY, {"token": link_parameter(mail.outbox[0], "token")}).status_code
        == 204
    )
    user.refresh_from_db()
    assert user.is_verified


def test_resend_without_an_email_when_signed_out_is_a_400_naming_it(api_client: APIClient) -> None:
    response = api_client.post(RESEND, {})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["email"]


def test_resend_is_throttled_per_account(
    api_client: APIClient,
    throttle_rates: Callable[..., None],
    django_capture_on_commit_callbacks: CommitCallbacks,
) -> None:
    throttle_rates(email_verification_account="2/hour")
    UserFactory(email="pending@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            api_client.post(RESEND, {"email": email}).status_code
            for email in ["pending@example.com", "PENDING@example.com", " pending@example.com"]
        ]
        other = api_client.post(RESEND, {"email": "someone-else@example.com"}).status_code

    assert statuses == [202, 202, 429]
    assert other == 202
    assert len(mail.outbox) == 2
