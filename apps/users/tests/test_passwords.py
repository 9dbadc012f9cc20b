"""Password reset (no account enumeration, single-use links) and password change."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.testing import run_together
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.helpers import link_parameter, obtain_tokens, outcome_summary
from apps.users.tokens import uid_encode

RESET = reverse("v1:auth-password-reset")
CONFIRM = reverse("v1:auth-password-reset-confirm")
CHANGE = reverse("v1:auth-password-change")
REFRESH = reverse("v1:auth-token-refresh")
TOKEN = reverse("v1:auth-token")
ME = reverse("v1:users-me")

NEW_PASSWORD = "an-entirely-new-phrase-31"

CommitCallbacks = Callable[..., Any]


def request_reset(client: APIClient, capture: CommitCallbacks, email: str) -> Any:
    mail.outbox.clear()
    with capture(execute=True):
        return client.post(RESET, {"email": email})


def reset_link(client: APIClient, capture: CommitCallbacks, email: str) -> dict[str, str]:
    request_reset(client, capture, email)
    (message,) = mail.outbox
    return {"uid": link_parameter(message, "uid"), "token": link_parameter(message, "token")}


@pytest.mark.django_db
def test_reset_request_answers_identically_for_known_unknown_and_inactive_addresses(
    api_client: APIClient, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    UserFactory(email="known@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    answers = {}
    for email in ["known@example.com", "nobody@example.com", "gone@example.com"]:
        response = request_reset(api_client, django_capture_on_commit_callbacks, email)
        answers[email] = response
        assert response.status_code == 202

    bodies = {
        email: {k: v for k, v in response.json().items() if k != "request_id"}
        for email, response in answers.items()
    }
    assert bodies["known@example.com"] == bodies["nobody@example.com"] == bodies["gone@example.com"]
    headers = [set(response.headers) for response in answers.values()]
    assert headers[0] == headers[1] == headers[2]


@pytest.mark.django_db
def test_reset_request_emails_only_an_active_account(
    api_client: APIClient, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    UserFactory(email="known@example.com")
    UserFactory(email="gone@example.com", is_active=False)

    request_reset(api_client, django_capture_on_commit_callbacks, "KNOWN@example.com")
    known = [m.to for m in mail.outbox]
    request_reset(api_client, django_capture_on_commit_callbacks, "nobody@example.com")
    unknown = [m.to for m in mail.outbox]
    request_reset(api_client, django_capture_on_commit_callbacks, "gone@example.com")
    inactive = [m.to for m in mail.outbox]

    assert known == [["known@example.com"]]
    assert unknown == inactive == []


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"email": ""}, {"email": "not-an-address"}])
def test_reset_request_refuses_a_missing_or_malformed_email(
    api_client: APIClient, payload: dict[str, str]
) -> None:
    response = api_client.post(RESET, payload)

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["email"]


@pytest.mark.django_db
def test_reset_from_the_emailed_link_sets_the_password_and_ends_every_session(
    api_client: APIClient, user: User, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    sessions = [obtain_tokens(APIClient(), user.email)["refresh"] for _ in range(2)]
    link = reset_link(api_client, django_capture_on_commit_callbacks, user.email)
    assert "reset-password?uid=" in str(mail.outbox[0].alternatives[0][0])

    response = api_client.post(CONFIRM, {**link, "new_password": NEW_PASSWORD})

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.is_verified  # the link reached the address
    for refresh in sessions:
        refused = api_client.post(REFRESH, {"refresh": refresh})
        assert (refused.status_code, refused.data["code"]) == (401, "token_not_valid")
    assert (
        api_client.post(TOKEN, {"email": user.email, "password": TEST_PASSWORD}).status_code == 401
    )
    assert obtain_tokens(api_client, user.email, NEW_PASSWORD)["access"]


@pytest.mark.django_db
def test_reset_link_works_only_once(
    api_client: APIClient, user: User, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    link = reset_link(api_client, django_capture_on_commit_callbacks, user.email)

    first = api_client.post(CONFIRM, {**link, "new_password": NEW_PASSWORD})
    second = api_client.post(CONFIRM, {**link, "new_password": "yet-another-phrase-32"})

    assert first.status_code == 204
    assert second.status_code == 400
    assert list(second.data["errors"]) == ["token"]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_reset_link_expires(
    api_client: APIClient,
    user: User,
    django_capture_on_commit_callbacks: CommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    link = reset_link(api_client, django_capture_on_commit_callbacks, user.email)
    later = default_token_generator._now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)

    response = api_client.post(CONFIRM, {**link, "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["token"]
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


@pytest.mark.django_db
def test_a_reset_link_dies_when_a_newer_password_is_set(
    api_client: APIClient, user: User, django_capture_on_commit_callbacks: CommitCallbacks
) -> None:
    link = reset_link(api_client, django_capture_on_commit_callbacks, user.email)
    user.set_password("changed-in-between-phrase-5")
    user.save()

    response = api_client.post(CONFIRM, {**link, "new_password": NEW_PASSWORD})

    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"uid": "%%%"}, "uid"),
        ({"uid": ""}, "uid"),
        ({"token": "1-forged"}, "token"),
        ({"new_password": "short"}, "new_password"),
        ({"new_password": "password123"}, "new_password"),
        ({"new_password": "1234567890123"}, "new_password"),
    ],
)
def test_reset_confirm_refuses_bad_input_naming_the_field(
    api_client: APIClient, user: User, change: dict[str, str], field: str
) -> None:
    payload = {
        "uid": uid_encode(user),
        "token": default_token_generator.make_token(user),
        "new_password": NEW_PASSWORD,
        **change,
    }

    response = api_client.post(CONFIRM, payload)

    assert response.status_code == 400
    assert list(response.data["errors"]) == [field]


@pytest.mark.django_db
def test_reset_confirm_password_may_not_resemble_the_email(api_client: APIClient) -> None:
    user = UserFactory(email="marguerite.yourcenar@example.com", username="my")
    payload = {"uid": uid_encode(user), "token": default_token_generator.make_token(user)}

    response = api_client.post(CONFIRM, {**payload, "new_password": "marguerite.yourcenar"})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["new_password"]


@pytest.mark.django_db
def test_reset_confirm_of_another_users_uid_is_refused(
    api_client: APIClient, user: User, other_user: User
) -> None:
    payload = {"uid": uid_encode(other_user), "token": default_token_generator.make_token(user)}

    response = api_client.post(CONFIRM, {**payload, "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    other_user.refresh_from_db()
    assert other_user.check_password(TEST_PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_parallel_confirms_with_one_reset_link_succeed_exactly_once(
    throttle_rates: Callable[..., None],
) -> None:
    throttle_rates(password_reset="1000/hour", password_reset_account="1000/hour")
    user = UserFactory()
    link = {"uid": uid_encode(user), "token": default_token_generator.make_token(user)}

    def confirm(n: int) -> Callable[[], int]:
        payload = {**link, "new_password": f"{NEW_PASSWORD}-{n}"}
        return lambda: APIClient().post(CONFIRM, payload).status_code

    statuses = run_together(*(confirm(n) for n in range(8)))

    summary = outcome_summary(statuses)
    print(f"\nparallel password reset confirms with one link: {summary}")
    assert statuses.count(204) == 1, summary
    assert statuses.count(400) == 7, summary
    user.refresh_from_db()
    winner = statuses.index(204)
    assert user.check_password(f"{NEW_PASSWORD}-{winner}"), summary


@pytest.mark.django_db
def test_reset_confirm_lifts_a_login_lockout(
    api_client: APIClient, user: User, settings: Any
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api_client.post(TOKEN, {"email": user.email, "password": "guess"})
    assert (
        api_client.post(TOKEN, {"email": user.email, "password": TEST_PASSWORD}).status_code == 429
    )
    link = {"uid": uid_encode(user), "token": default_token_generator.make_token(user)}

    assert api_client.post(CONFIRM, {**link, "new_password": NEW_PASSWORD}).status_code == 204

    assert obtain_tokens(api_client, user.email, NEW_PASSWORD)["access"]


@pytest.mark.django_db
def test_change_password_needs_the_old_one_and_valid_new_one(
    user_client: APIClient, user: User
) -> None:
    wrong_old = user_client.post(CHANGE, {"old_password": "nope", "new_password": NEW_PASSWORD})
    weak_new = user_client.post(CHANGE, {"old_password": TEST_PASSWORD, "new_password": "123"})
    missing = user_client.post(CHANGE, {})

    assert wrong_old.status_code == weak_new.status_code == missing.status_code == 400
    assert list(wrong_old.data["errors"]) == ["old_password"]
    assert list(weak_new.data["errors"]) == ["new_password"]
    assert set(missing.data["errors"]) == {"old_password", "new_password"}
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


@pytest.mark.django_db
def test_change_password_ends_every_other_session_and_keeps_this_one(
    api_client: APIClient, user: User
) -> None:
    this_device = obtain_tokens(api_client, user.email)
    other_devices = [obtain_tokens(APIClient(), user.email)["refresh"] for _ in range(2)]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {this_device['access']}")

    response = api_client.post(
        CHANGE, {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert set(response.data) == {"access", "refresh"}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    for refresh in [this_device["refresh"], *other_devices]:
        assert APIClient().post(REFRESH, {"refresh": refresh}).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": response.data["refresh"]}).status_code == 200
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {response.data['access']}")
    assert fresh.get(ME).status_code == 200


@pytest.mark.django_db
def test_change_password_needs_authentication(api_client: APIClient) -> None:
    response = api_client.post(CHANGE, {"old_password": "x", "new_password": NEW_PASSWORD})

    assert response.status_code == 401
