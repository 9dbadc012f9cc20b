"""Login lockout (django-axes) on the token endpoint and the admin login, behind proxies too."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = reverse("v1:auth-token")
ADMIN_LOGIN = reverse("admin:login")


@pytest.fixture
def limit(settings: Any) -> int:
    return int(settings.AXES_FAILURE_LIMIT)


WRONG = "wrong-guess"


def login(client: APIClient, email: str, password: str = WRONG, **extra: str) -> Any:
    return client.post(TOKEN, {"email": email, "password": password}, **extra)


def admin_login(client: Client, email: str, password: str = WRONG) -> Any:
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})


def let_cool_off_pass(settings: Any) -> None:
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )


def test_token_endpoint_locks_an_account_after_the_failure_limit(
    api_client: APIClient, user: User, limit: int
) -> None:
    statuses = [login(api_client, user.email).status_code for _ in range(limit)]
    locked = login(api_client, user.email, TEST_PASSWORD)

    # The failure that reaches the limit is already answered as a lockout.
    assert statuses == [401] * (limit - 1) + [429]
    assert locked.status_code == 429
    assert locked.json() == {
        "status": 429,
        "code": "locked_out",
        "detail": locked.json()["detail"],
        "request_id": locked["X-Request-ID"],
    }
    assert "15 minutes" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 15 * 60
    assert "access" not in locked.json()


def test_lockout_lifts_after_the_cool_off(
    api_client: APIClient, user: User, limit: int, settings: Any
) -> None:
    for _ in range(limit):
        login(api_client, user.email)
    assert login(api_client, user.email, TEST_PASSWORD).status_code == 429

    let_cool_off_pass(settings)

    assert login(api_client, user.email, TEST_PASSWORD).status_code == 200
    assert not AccessAttempt.objects.exists()  # a success clears the count


def test_a_successful_login_resets_the_failure_count(
    api_client: APIClient, user: User, limit: int
) -> None:
    for _ in range(limit - 1):
        login(api_client, user.email)
    assert login(api_client, user.email, TEST_PASSWORD).status_code == 200

    statuses = [login(api_client, user.email).status_code for _ in range(limit - 1)]

    assert statuses == [401] * (limit - 1)


def test_failures_count_per_account_whatever_the_case_of_the_email(
    api_client: APIClient, user: User, other_user: User, limit: int
) -> None:
    variants = [user.email.upper(), user.email.title(), f" {user.email} "]
    for n in range(limit):
        login(api_client, variants[n % len(variants)])

    assert login(api_client, user.email, TEST_PASSWORD).status_code == 429
    # Another account from the same address is not locked.
    assert login(api_client, other_user.email, TEST_PASSWORD).status_code == 200


def test_failures_from_many_addresses_lock_the_account_everywhere(
    api_client: APIClient, user: User, limit: int
) -> None:
    for n in range(limit):
        login(api_client, user.email, REMOTE_ADDR=f"198.51.100.{n + 1}")

    refused = login(api_client, user.email, TEST_PASSWORD, REMOTE_ADDR="192.0.2.200")

    assert refused.status_code == 429
    assert AccessAttempt.objects.count() == limit  # one row per (account, address)


def test_admin_login_locks_out_after_the_failure_limit(
    client: Client, user: User, limit: int, settings: Any
) -> None:
    User.objects.filter(pk=user.pk).update(is_staff=True)

    statuses = [admin_login(client, user.email).status_code for _ in range(limit)]
    locked = admin_login(client, user.email, TEST_PASSWORD)

    assert statuses == [200] * (limit - 1) + [429]  # 200: the login form again, with an error
    assert locked.status_code == 429
    assert b"Signing in is blocked" in locked.content
    assert client.get(reverse("admin:index")).status_code == 302  # not signed in

    let_cool_off_pass(settings)

    assert admin_login(client, user.email, TEST_PASSWORD).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_api_and_admin_failures_count_together(
    api_client: APIClient, client: Client, user: User, limit: int
) -> None:
    User.objects.filter(pk=user.pk).update(is_staff=True)
    for _ in range(limit - 1):
        login(api_client, user.email)

    assert admin_login(client, user.email.upper()).status_code == 429
    assert login(api_client, user.email, TEST_PASSWORD).status_code == 429


def test_rotating_forwarded_for_without_trusted_proxies_counts_the_connection(
    api_client: APIClient, user: User, limit: int, num_proxies: Callable[[int], None]
) -> None:
    num_proxies(0)
    for n in range(limit):
        login(api_client, user.email, HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}")

    refused = login(api_client, user.email, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert refused.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_behind_one_proxy_the_address_it_appended_counts_not_what_the_client_sent(
    api_client: APIClient, user: User, limit: int, num_proxies: Callable[[int], None]
) -> None:
    num_proxies(1)
    # The client forges the start of the header; the proxy appends the address it saw.
    for n in range(limit):
        login(api_client, user.email, HTTP_X_FORWARDED_FOR=f"10.0.0.{n + 1}, 203.0.113.7")

    refused = login(api_client, user.email, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert refused.status_code == 429
    attempts = AccessAttempt.objects.get()
    assert (attempts.ip_address, attempts.failures_since_start) == ("203.0.113.7", limit)


def test_behind_one_proxy_a_forged_header_alone_does_not_move_the_count(
    api_client: APIClient, num_proxies: Callable[[int], None]
) -> None:
    num_proxies(1)
    victim = UserFactory()

    login(api_client, victim.email, HTTP_X_FORWARDED_FOR="not-an-address")
    login(api_client, victim.email, HTTP_X_FORWARDED_FOR="203.0.113.8, 203.0.113.9")

    # A header the proxy did not complete falls back to the connection's address.
    assert sorted(AccessAttempt.objects.values_list("ip_address", flat=True)) == [
        "127.0.0.1",
        "203.0.113.9",
    ]


def test_lockout_holds_while_the_cache_is_down(
    api_client: APIClient,
    user: User,
    limit: int,
    settings: Any,
    throttle_rates: Callable[..., None],
) -> None:
    # Failures live in the database: with the cache unreachable (and the throttles, which
    # would refuse everything then, switched off) the account still locks.
    throttle_rates(auth=None, auth_account=None)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"

    statuses = [login(api_client, user.email).status_code for _ in range(limit)]
    refused = login(api_client, user.email, TEST_PASSWORD)

    assert statuses == [401] * (limit - 1) + [429]
    assert (refused.status_code, refused.json()["code"]) == (429, "locked_out")
