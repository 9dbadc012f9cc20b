"""The account API: registration, tokens, logout and the signed-in user's own account."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from apps.products.tests.factories import ProductFactory
from apps.reviews.models import Review
from apps.reviews.services import rating_figures_drift, rating_figures_recompute
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory
from apps.users.tests.helpers import obtain_tokens

pytestmark = pytest.mark.django_db

REGISTER = reverse("v1:auth-register")
TOKEN = reverse("v1:auth-token")
REFRESH = reverse("v1:auth-token-refresh")
VERIFY = reverse("v1:auth-token-verify")
LOGOUT = reverse("v1:auth-logout")
ME = reverse("v1:users-me")


def test_register_creates_an_unverified_customer_and_echoes_no_password(
    api_client: APIClient, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            REGISTER,
            {
                "email": "New.Person@Example.com",
                "username": "newperson",
                "password": "a-Long-pass-phrase-9",
            },
        )

    assert response.status_code == 202
    assert set(response.data) == {"detail"}
    user = User.objects.get(email="new.person@example.com")
    assert user.username == "newperson"
    assert user.check_password("a-Long-pass-phrase-9")
    assert not user.is_staff and not user.is_superuser and not user.is_verified
    assert [message.to for message in mail.outbox] == [["new.person@example.com"]]
    assert obtain_tokens(api_client, "new.person@example.com", "a-Long-pass-phrase-9")["access"]


def test_register_ignores_attempts_to_assign_privileges(api_client: APIClient) -> None:
    admins = Group.objects.create(name="Admins")
    response = api_client.post(
        REGISTER,
        {
            "email": "sneaky@example.com",
            "username": "sneaky",
            "password": "a-Long-pass-phrase-9",
            "is_staff": True,
            "is_superuser": True,
            "is_verified": True,
            "is_active": False,
            "groups": [admins.pk],
            "user_permissions": [Permission.objects.get(codename="delete_product").pk],
            "id": 999_999,
        },
    )

    assert response.status_code == 202
    user = User.objects.get(email="sneaky@example.com")
    assert user.pk != 999_999
    assert (user.is_staff, user.is_superuser, user.is_verified, user.is_active) == (
        False,
        False,
        False,
        True,
    )
    assert not user.groups.exists() and not user.user_permissions.exists()


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


def test_register_refuses_a_username_taken_in_another_case(api_client: APIClient) -> None:
    # Usernames are public (every review shows its author's), so this reveals nothing.
    UserFactory(email="taken@example.com", username="Taken")

    response = api_client.post(
        REGISTER,
        {"email": "fresh@example.com", "username": "taken", "password": "a-Long-pass-phrase-9"},
    )

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["username"]
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


def test_me_patch_ignores_groups_permissions_activity_and_password(
    user_client: APIClient, user: User
) -> None:
    admins = Group.objects.create(name="Admins")
    permission = Permission.objects.get(codename="delete_product")
    original_id, original_password = user.pk, user.password

    response = user_client.patch(
        ME,
        {
            "groups": [admins.pk],
            "user_permissions": [permission.pk],
            "is_active": False,
            "password": "new-password-set-sideways-1",
            "id": 999_999,
            "created_at": "2000-01-01T00:00:00Z",
            "last_login": "2000-01-01T00:00:00Z",
        },
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.pk == original_id and user.password == original_password
    assert user.is_active and user.created_at.year != 2000
    assert not user.groups.exists() and not user.user_permissions.exists()
    assert not user.has_perm("products.delete_product")


def test_me_refuses_put(user_client: APIClient) -> None:
    assert user_client.put(ME, {}).status_code == 405


def test_me_delete_needs_the_current_password(user_client: APIClient, user: User) -> None:
    missing = user_client.delete(ME, {})
    wrong = user_client.delete(ME, {"password": "not-my-password"})

    assert missing.status_code == wrong.status_code == 400
    assert list(missing.data["errors"]) == list(wrong.data["errors"]) == ["password"]
    assert User.objects.filter(pk=user.pk).exists()


def test_me_delete_removes_the_account_its_reviews_and_its_sessions(
    api_client: APIClient, user: User
) -> None:
    tokens = obtain_tokens(api_client, user.email)
    products = ProductFactory.create_batch(3)
    for rating, product in enumerate(products, start=2):
        ReviewFactory(product=product, user=user, rating=rating)
        ReviewFactory(product=product, rating=5)  # someone else's, which stays
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.delete(ME, {"password": TEST_PASSWORD})

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Review.objects.filter(user_id=user.pk).exists()
    assert rating_figures_drift() == []
    assert rating_figures_recompute() == []  # nothing to repair
    for product in products:
        product.refresh_from_db()
        assert (product.review_count, product.rating_sum) == (1, 5)
    assert api_client.get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
