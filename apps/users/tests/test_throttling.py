"""Throttles on the account endpoints: per client address, per account, and closed on failure."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD
from apps.users.tests.helpers import obtain_tokens
from apps.users.tokens import uid_encode

pytestmark = pytest.mark.django_db

TOKEN = reverse("v1:auth-token")
REFRESH = reverse("v1:auth-token-refresh")
REGISTER = reverse("v1:auth-register")
RESET = reverse("v1:auth-password-reset")
CONFIRM = reverse("v1:auth-password-reset-confirm")
RESEND = reverse("v1:auth-verify-email-resend")
CHANGE = reverse("v1:auth-password-change")
ME = reverse("v1:users-me")

SetRates = Callable[..., None]


def login_status(client: APIClient, email: str, **extra: str) -> int:
    return int(client.post(TOKEN, {"email": email, "password": "wrong"}, **extra).status_code)


def test_login_is_throttled_per_address_across_accounts(
    api_client: APIClient, throttle_rates: SetRates
) -> None:
    throttle_rates(auth="3/minute")

    statuses = [login_status(api_client, f"guess{n}@example.com") for n in range(4)]
    throttled = api_client.post(TOKEN, {"email": "guess9@example.com", "password": "x"})

    assert statuses == [401, 401, 401, 429]
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert login_status(api_client, "guess0@example.com", REMOTE_ADDR="192.0.2.50") == 401


def test_login_is_throttled_per_account_across_addresses(
    api_client: APIClient, throttle_rates: SetRates
) -> None:
    throttle_rates(auth_account="2/minute")

    statuses = [
        login_status(api_client, email, REMOTE_ADDR=f"198.51.100.{n}")
        for n, email in enumerate(
            ["target@example.com", "TARGET@example.com", "target@example.com"]
        )
    ]

    assert statuses == [401, 401, 429]
    assert login_status(api_client, "other@example.com") == 401


def test_rotating_forwarded_for_without_trusted_proxies_shares_one_allowance(
    api_client: APIClient, throttle_rates: SetRates, num_proxies: Callable[[int], None]
) -> None:
    num_proxies(0)
    throttle_rates(auth="3/minute")

    statuses = [
        login_status(api_client, f"guess{n}@example.com", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        for n in range(4)
    ]

    assert statuses == [401, 401, 401, 429]


def test_behind_one_proxy_the_appended_address_is_the_client(
    api_client: APIClient, throttle_rates: SetRates, num_proxies: Callable[[int], None]
) -> None:
    num_proxies(1)
    throttle_rates(auth="3/minute")

    # Forging the start of the header changes nothing: the proxy's entry is the same.
    forged = [
        login_status(
            api_client, f"guess{n}@example.com", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7"
        )
        for n in range(4)
    ]
    # Another real client, behind the same proxy, has an allowance of its own.
    other_client = login_status(api_client, "guess@example.com", HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert forged == [401, 401, 401, 429]
    assert other_client == 401


def test_refresh_is_throttled_per_user_of_the_token(
    api_client: APIClient, user: User, throttle_rates: SetRates
) -> None:
    refresh_tokens = [obtain_tokens(api_client, user.email)["refresh"] for _ in range(3)]
    throttle_rates(auth_account="2/minute")

    statuses = [
        api_client.post(REFRESH, {"refresh": token}, REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n, token in enumerate(refresh_tokens)
    ]

    assert statuses == [200, 200, 429]


def test_a_forged_refresh_token_does_not_use_up_its_users_allowance(
    api_client: APIClient, user: User, throttle_rates: SetRates
) -> None:
    genuine = obtain_tokens(api_client, user.email)["refresh"]
    header, payload, _ = genuine.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    throttle_rates(auth_account="1/minute")

    forged_statuses = [api_client.post(REFRESH, {"refresh": forged}).status_code for _ in range(3)]

    assert forged_statuses == [401, 401, 401]
    assert api_client.post(REFRESH, {"refresh": genuine}).status_code == 200


def test_register_is_throttled_per_email(api_client: APIClient, throttle_rates: SetRates) -> None:
    throttle_rates(auth_account="2/minute")

    statuses = [
        api_client.post(
            REGISTER,
            {
                "email": "same@example.com",
                "username": f"name{n}",
                "password": "a-Long-pass-phrase-9",
            },
            REMOTE_ADDR=f"198.51.100.{n}",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [202, 202, 429]


def test_password_reset_request_is_throttled_per_address_and_per_email(
    api_client: APIClient, throttle_rates: SetRates
) -> None:
    throttle_rates(password_reset="3/hour", password_reset_account="2/hour")

    same_email = [
        api_client.post(
            RESET, {"email": "x@example.com"}, REMOTE_ADDR=f"198.51.100.{n}"
        ).status_code
        for n in range(3)
    ]
    same_address = [
        api_client.post(RESET, {"email": f"y{n}@example.com"}).status_code for n in range(4)
    ]

    assert same_email == [202, 202, 429]
    assert same_address == [202, 202, 202, 429]


def test_password_reset_confirm_is_throttled_per_uid(
    api_client: APIClient, user: User, throttle_rates: SetRates
) -> None:
    throttle_rates(password_reset_account="2/hour")
    payload = {"uid": uid_encode(user), "token": "1-guess", "new_password": "a-Long-pass-phrase-9"}

    statuses = [
        api_client.post(CONFIRM, payload, REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(3)
    ]

    assert statuses == [400, 400, 429]


def test_password_change_is_throttled_per_user(
    user_client: APIClient, throttle_rates: SetRates
) -> None:
    throttle_rates(password_check_account="2/hour")

    statuses = [
        user_client.post(CHANGE, {"old_password": "guess", "new_password": "x"}).status_code
        for _ in range(3)
    ]

    assert statuses == [400, 400, 429]


# --- Failing closed -----------------------------------------------------------------------------


class WriteFailingCache(LocMemCache):
    """A cache that reads but cannot write, like a Redis that went read-only."""

    def set(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("cache is read-only")


UNREACHABLE = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
}
WRITE_FAILING = {"BACKEND": "apps.users.tests.test_throttling.WriteFailingCache"}


@pytest.fixture(params=[UNREACHABLE, WRITE_FAILING], ids=["unreachable", "write-failing"])
def broken_cache(request: pytest.FixtureRequest, settings: Any) -> None:
    settings.CACHES = {"default": request.param}


def assert_refused_closed(response: Any) -> None:
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "throttle_unavailable"
    assert set(body) == {"status", "code", "detail", "request_id"}
    assert response["Retry-After"] == "30"


def test_login_is_refused_not_let_through_when_the_cache_fails(
    broken_cache: None, api_client: APIClient, user: User
) -> None:
    response = api_client.post(TOKEN, {"email": user.email, "password": TEST_PASSWORD})

    assert_refused_closed(response)
    assert not OutstandingToken.objects.exists()  # no token was issued


def test_every_guarded_account_endpoint_refuses_when_the_cache_fails(
    broken_cache: None,
    api_client: APIClient,
    user: User,
    client_for: Callable[[User], APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    refresh = str(RefreshToken.for_user(user))
    signed_in = client_for(user)
    reset = {
        "uid": uid_encode(user),
        "token": default_token_generator.make_token(user),
        "new_password": "an-entirely-new-phrase-31",
    }

    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            api_client.post(REFRESH, {"refresh": refresh}),
            api_client.post(
                REGISTER,
                {"email": "n@example.com", "username": "n", "password": "a-Long-pass-phrase-9"},
            ),
            api_client.post(RESET, {"email": user.email}),
            api_client.post(CONFIRM, reset),
            api_client.post(RESEND, {"email": user.email}),
            signed_in.post(CHANGE, {"old_password": TEST_PASSWORD, "new_password": "n3w-phrase-x"}),
            signed_in.delete(ME, {"password": TEST_PASSWORD}),
        ]
        # Reading one's profile checks no password: it is counted in memory meanwhile.
        profile = signed_in.get(ME)

    for response in responses:
        assert_refused_closed(response)
    assert mail.outbox == []
    assert not User.objects.filter(email="n@example.com").exists()
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert profile.status_code == 200
    assert profile.json()["email"] == user.email


def test_anonymous_reads_count_against_the_anonymous_rate_only(
    api_client: APIClient, user: User, throttle_rates: SetRates
) -> None:
    throttle_rates(anon="3/minute", user="1/minute")
    products = reverse("v1:product-list")
    signed_in = APIClient()
    signed_in.force_authenticate(user)

    # Different pages: a repeated read would be answered by the response cache, unthrottled.
    anonymous = [api_client.get(products, {"page_size": size}).status_code for size in range(1, 5)]
    user_reads = [signed_in.get(ME).status_code for _ in range(2)]

    assert anonymous == [200, 200, 200, 429]
    assert user_reads == [200, 429]
