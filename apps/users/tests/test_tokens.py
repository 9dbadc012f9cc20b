"""Refresh tokens: redeemed once, even by racing requests; revoked by a password change."""

from collections.abc import Callable

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core.testing import run_together
from apps.users.models import User
from apps.users.services import user_password_change, user_refresh_tokens_revoke
from apps.users.tests.factories import UserFactory
from apps.users.tests.helpers import obtain_tokens, outcome_summary

REFRESH = reverse("v1:auth-token-refresh")

RACERS = 10


def refresh_status(token: str) -> Callable[[], int]:
    return lambda: APIClient().post(REFRESH, {"refresh": token}).status_code


@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_of_one_token_redeem_it_exactly_once(
    throttle_rates: Callable[..., None],
) -> None:
    # The race is about the lock, not the throttles: let every request through them.
    throttle_rates(auth="1000/minute", auth_account="1000/minute")
    user = UserFactory()
    tokens = obtain_tokens(APIClient(), user.email)

    statuses = run_together(*(refresh_status(tokens["refresh"]) for _ in range(RACERS)))

    summary = outcome_summary(statuses)
    print(f"\nparallel refresh of one token: {summary}")
    assert statuses.count(200) == 1, summary
    assert statuses.count(401) == RACERS - 1, summary
    # One token redeemed, one successor issued (the login's token and its successor).
    assert OutstandingToken.objects.filter(user=user).count() == 2, summary
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1, summary


@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_of_different_tokens_all_succeed(
    throttle_rates: Callable[..., None],
) -> None:
    # The lock is per user and per token: one device's refresh does not refuse another's.
    throttle_rates(auth="1000/minute", auth_account="1000/minute")
    user = UserFactory()
    refresh_tokens = [obtain_tokens(APIClient(), user.email)["refresh"] for _ in range(5)]

    statuses = run_together(*(refresh_status(token) for token in refresh_tokens))

    summary = outcome_summary(statuses)
    print(f"\nparallel refresh of five tokens of one user: {summary}")
    assert statuses == [200] * 5, summary


@pytest.mark.django_db
def test_refresh_refuses_a_token_redeemed_before_with_token_not_valid(
    api_client: APIClient, user: User
) -> None:
    tokens = obtain_tokens(api_client, user.email)
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 200

    replay = api_client.post(REFRESH, {"refresh": tokens["refresh"]})

    assert replay.status_code == 401
    assert replay.data["code"] == "token_not_valid"
    assert set(replay.data) == {"status", "code", "detail", "request_id"}


@pytest.mark.django_db
def test_refresh_of_a_token_unknown_to_the_outstanding_list_still_works_once(
    api_client: APIClient, user: User
) -> None:
    # A token issued before the blacklist app (no OutstandingToken row): the row is created
    # under the lock, so it too can be redeemed only once.
    refresh = RefreshToken.for_user(user)
    OutstandingToken.objects.filter(jti=refresh["jti"]).delete()

    first = api_client.post(REFRESH, {"refresh": str(refresh)})
    second = api_client.post(REFRESH, {"refresh": str(refresh)})

    assert (first.status_code, second.status_code) == (200, 401)


@pytest.mark.django_db
def test_refresh_of_a_deactivated_users_token_is_a_401(api_client: APIClient, user: User) -> None:
    tokens = obtain_tokens(api_client, user.email)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})

    assert response.status_code == 401
    assert response.data["code"] == "no_active_account"


@pytest.mark.django_db
def test_refresh_refuses_garbage_and_a_missing_token(api_client: APIClient) -> None:
    garbage = api_client.post(REFRESH, {"refresh": "not.a.token"})
    missing = api_client.post(REFRESH, {})

    assert (garbage.status_code, garbage.data["code"]) == (401, "token_not_valid")
    assert missing.status_code == 400 and list(missing.data["errors"]) == ["refresh"]


@pytest.mark.django_db
def test_revoking_ends_every_live_refresh_token_of_the_user_only(
    api_client: APIClient, user: User, other_user: User
) -> None:
    mine = [obtain_tokens(api_client, user.email)["refresh"] for _ in range(3)]
    theirs = obtain_tokens(api_client, other_user.email)["refresh"]

    assert user_refresh_tokens_revoke(user=user) == 3
    assert user_refresh_tokens_revoke(user=user) == 0  # nothing left to revoke

    assert [api_client.post(REFRESH, {"refresh": t}).status_code for t in mine] == [401] * 3
    assert api_client.post(REFRESH, {"refresh": theirs}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_refresh_racing_a_password_change_leaves_no_live_token(
    throttle_rates: Callable[..., None],
) -> None:
    # Whichever wins the user's row lock, no refresh token issued before the change survives
    # it, nor does a successor issued by a refresh that ran alongside it.
    throttle_rates(auth="1000/minute", auth_account="1000/minute")
    user = UserFactory()
    refresh_tokens = [obtain_tokens(APIClient(), user.email)["refresh"] for _ in range(4)]

    def change() -> int:
        user_password_change(user=User.objects.get(pk=user.pk), new_password="brand-new-phrase-77")
        return 204

    statuses = run_together(change, *(refresh_status(token) for token in refresh_tokens))

    summary = outcome_summary(statuses)
    print(f"\nrefreshes racing a password change: {summary}")
    assert all(isinstance(s, int) and s < 500 for s in statuses), summary
    # A refresh that ran first had its successor revoked by the change; one that ran after
    # found its token revoked (401).
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    assert live.count() == 0, summary
