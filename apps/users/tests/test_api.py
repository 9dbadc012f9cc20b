import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = reverse("v1:auth-register")
TOKEN = reverse("v1:auth-token")
REFRESH = reverse("v1:auth-token-refresh")
VERIFY = reverse("v1:auth-token-verify")
LOGOUT = reverse("v1:auth-logout")
ME = reverse("v1:users-me")


def obtain_tokens(client: APIClient, email: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    response = client.post(TOKEN, {"email": email, "password": password})
    assert response.status_code == 200, response.data
    return response.data


def test_register_creates_a_customer_and_echoes_no_password(api_client: APIClient) -> None:
    response = api_client.post(
        REGISTER,
        {
            "email": "New.Person@Example.com",
            "username": "newperson",
            "password": "a-Long-pass-phrase-9",
        },
    )

    assert response.status_code == 201
    assert "password" not in response.data
    assert response.data["email"] == "new.person@example.com"
    user = User.objects.get(pk=response.data["id"])
    assert user.check_password("a-Long-pass-phrase-9")
    assert not user.is_staff and not user.is_superuser and not user.is_verified


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "x", "password": "a-Long-pass-phrase-9"}, "email"),
        ({"email": "not-an-email", "username": "x", "password": "a-Long-pass-phrase-9"}, "email"),
        ({"email": "a@example.com", "password": "a-Long-pass-phrase-9"}, "username"),
        (
            {"email": "a@example.com", "username": "bad name!", "password": "a-Long-pass-phrase-9"},
            "username",
        ),
        ({"email": "a@example.com", "username": "abc"}, "password"),
        ({"email": "a@example.com", "username": "abc", "password": "short"}, "password"),
        ({"email": "a@example.com", "username": "abc", "password": "12345678901"}, "password"),
        ({"email": "a@example.com", "username": "abc", "password": "password123"}, "password"),
    ],
)
def test_register_rejects_bad_input_naming_the_field(
    api_client: APIClient, payload: dict[str, str], field: str
) -> None:
    response = api_client.post(REGISTER, payload)

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert field in response.data["errors"]
    assert not User.objects.exists()


def test_register_refuses_an_email_or_username_taken_in_another_case(api_client: APIClient) -> None:
    UserFactory(email="taken@example.com", username="Taken")

    by_email = api_client.post(
        REGISTER,
        {"email": "TAKEN@example.com", "username": "fresh", "password": "a-Long-pass-phrase-9"},
    )
    by_username = api_client.post(
        REGISTER,
        {"email": "fresh@example.com", "username": "taken", "password": "a-Long-pass-phrase-9"},
    )

    assert by_email.status_code == 400 and "email" in by_email.data["errors"]
    assert by_username.status_code == 400 and "username" in by_username.data["errors"]
    assert User.objects.count() == 1


def test_token_pair_from_email_and_password_in_any_case(api_client: APIClient, user: User) -> None:
    tokens = obtain_tokens(api_client, user.email.upper())

    assert set(tokens) == {"access", "refresh"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get(ME).data["id"] == user.pk


def test_token_refuses_a_wrong_password_with_401(api_client: APIClient, user: User) -> None:
    response = api_client.post(TOKEN, {"email": user.email, "password": "wrong"})

    assert response.status_code == 401
    assert response.data["code"] == "no_active_account"
    assert "request_id" in response.data


def test_refresh_rotates_and_blacklists_the_used_token(api_client: APIClient, user: User) -> None:
    tokens = obtain_tokens(api_client, user.email)

    first = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    replay = api_client.post(REFRESH, {"refresh": tokens["refresh"]})

    assert first.status_code == 200
    assert first.data["refresh"] != tokens["refresh"]
    assert replay.status_code == 401
    assert api_client.post(REFRESH, {"refresh": first.data["refresh"]}).status_code == 200


def test_verify_accepts_a_valid_token_and_refuses_garbage(
    api_client: APIClient, user: User
) -> None:
    tokens = obtain_tokens(api_client, user.email)

    assert api_client.post(VERIFY, {"token": tokens["access"]}).status_code == 200
    refused = api_client.post(VERIFY, {"token": "not.a.token"})
    assert refused.status_code == 401
    assert refused.data["code"] == "token_not_valid"


def test_logout_blacklists_the_refresh_token(api_client: APIClient, user: User) -> None:
    tokens = obtain_tokens(api_client, user.email)

    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]})

    assert response.status_code == 204
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


def test_logout_without_a_token_is_a_400_naming_it(api_client: APIClient) -> None:
    response = api_client.post(LOGOUT, {})

    assert response.status_code == 400
    assert "refresh" in response.data["errors"]


def test_access_token_of_a_deactivated_user_is_refused(api_client: APIClient, user: User) -> None:
    tokens = obtain_tokens(api_client, user.email)
    User.objects.filter(pk=user.pk).update(is_active=False)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


def test_access_token_of_a_deleted_user_is_refused(api_client: APIClient, user: User) -> None:
    tokens = obtain_tokens(api_client, user.email)
    User.objects.filter(pk=user.pk).delete()

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


def test_me_needs_authentication(api_client: APIClient) -> None:
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.data["code"] == "not_authenticated"


def test_me_shows_own_profile(
    user_client: APIClient, user: User, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(0):  # force_authenticate: the user is already loaded
        response = user_client.get(ME)

    assert response.status_code == 200
    assert response.data["email"] == user.email
    assert "password" not in response.data


def test_me_patch_changes_only_safe_fields(user_client: APIClient, user: User) -> None:
    response = user_client.patch(
        ME,
        {
            "phone_number": "+44 20 7946 0000",
            "first_name": "Ada",
            "is_staff": True,
            "is_superuser": True,
            "is_verified": True,
            "email": "someone-else@example.com",
        },
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.phone_number == "+44 20 7946 0000"
    assert user.first_name == "Ada"
    assert (user.is_staff, user.is_superuser, user.is_verified) == (False, False, False)
    assert user.email != "someone-else@example.com"


def test_me_patch_refuses_a_taken_username(user_client: APIClient, other_user: User) -> None:
    response = user_client.patch(ME, {"username": other_user.username.upper()})

    assert response.status_code == 400
    assert "username" in response.data["errors"]


def test_me_refuses_put_and_delete(user_client: APIClient) -> None:
    assert user_client.put(ME, {}).status_code == 405
    assert user_client.delete(ME).status_code == 405


def test_auth_endpoints_are_throttled(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ScopedRateThrottle,
        "THROTTLE_RATES",
        {**ScopedRateThrottle.THROTTLE_RATES, "auth": "3/minute"},
    )

    statuses = [
        api_client.post(TOKEN, {"email": "a@example.com", "password": "x"}).status_code
        for _ in range(4)
    ]

    assert statuses == [401, 401, 401, 429]
