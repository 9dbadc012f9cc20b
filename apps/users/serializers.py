from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers

from apps.core.serializers import JSONTypesMixin

from .lockout import locked_out
from .models import User
from .services import (
    RESET_LINK_INVALID,
    refresh_token_rotate,
    user_login_failures_clear,
)
from .tokens import uid_decode


def _password_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs
    )


def _minimum_password_length() -> int:
    """Return the shortest password that AUTH_PASSWORD_VALIDATORS let through."""
    lengths = [
        validator.min_length
        for validator in password_validation.get_default_password_validators()
        if isinstance(validator, password_validation.MinimumLengthValidator)
    ]
    return max(lengths, default=1)


@extend_schema_field({"type": "string", "minLength": _minimum_password_length()})
class NewPasswordField(serializers.CharField):
    """A password being chosen: Django's validators check it (``_validate_password``).

    The schema states their rules: the minimum length as ``minLength`` (the validators enforce
    it, not this field, so that every broken rule is reported at once), the rest in words.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text", " ".join(password_validation.password_validators_help_texts())
        )
        super().__init__(
            write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs
        )


def _validate_password(password: str, user: User, field: str) -> None:
    """Run Django's password validators (the similarity one compares with ``user``)."""
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise serializers.ValidationError({field: list(error.messages)}) from error


class UserPublicSerializer(serializers.ModelSerializer[User]):
    """What anyone may see of a user: never the email."""

    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class UserRegisterSerializer(JSONTypesMixin, serializers.Serializer[User]):
    """A new account. Whether the email address is taken is not checked here: see user_register."""

    email = serializers.EmailField(max_length=254)
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={
            "invalid": "Use letters, digits and @/./+/-/_ only.",
        },
    )
    password = NewPasswordField()

    def validate_email(self, value: str) -> str:
        return value.lower()

    def validate_username(self, value: str) -> str:
        # Usernames are public (reviews show them), so saying one is taken reveals nothing.
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with this username already exists.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The similarity validator compares the password with the email and username.
        candidate = User(email=attrs["email"], username=attrs["username"])
        _validate_password(attrs["password"], candidate, "password")
        return attrs


class EmailSerializer(JSONTypesMixin, serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)


class EmailOptionalSerializer(JSONTypesMixin, serializers.Serializer[Any]):
    email = serializers.EmailField(
        max_length=254,
        required=False,
        help_text="Required when not signed in; a signed-in user's own address is used.",
    )


class EmailVerifySerializer(JSONTypesMixin, serializers.Serializer[Any]):
    token = serializers.CharField(max_length=500, help_text="The token from the email's link.")


class PasswordResetConfirmSerializer(JSONTypesMixin, serializers.Serializer[Any]):
    uid = serializers.CharField(max_length=64, help_text="The uid from the email's link.")
    token = serializers.CharField(max_length=100, help_text="The token from the email's link.")
    new_password = NewPasswordField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user_id = uid_decode(attrs["uid"])
        if user_id is None:
            raise serializers.ValidationError({"uid": ["This is not a valid uid."]})
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or not default_token_generator.check_token(user, attrs["token"]):
            raise serializers.ValidationError({"token": [RESET_LINK_INVALID]})
        _validate_password(attrs["new_password"], user, "new_password")
        attrs["user"] = user
        return attrs


class PasswordChangeSerializer(JSONTypesMixin, serializers.Serializer[Any]):
    old_password = _password_field()
    new_password = NewPasswordField()

    def validate_old_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("This is not your current password.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _validate_password(attrs["new_password"], self.context["request"].user, "new_password")
        return attrs


class PasswordConfirmSerializer(JSONTypesMixin, serializers.Serializer[Any]):
    """The signed-in user's current password, confirming a drastic step."""

    password = _password_field()

    def validate_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("This is not your current password.")
        return value


class MessageSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField(help_text="What happens next, for humans.")


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()


class UserMeSerializer(JSONTypesMixin, serializers.ModelSerializer[User]):
    """The signed-in user's own account; only the profile fields are writable."""

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "username",
            "first_name",
            "last_name",
            "phone_number",
            "is_verified",
            "is_staff",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "email", "is_verified", "is_staff", "created_at", "updated_at"]

    def validate_username(self, value: str) -> str:
        taken = User.objects.filter(username__iexact=value).exclude(pk=self.instance.pk)  # type: ignore[union-attr]
        if taken.exists():
            raise serializers.ValidationError("A user with this username already exists.")
        return value


class TokenObtainPairSerializer(JSONTypesMixin, jwt_serializers.TokenObtainPairSerializer):
    """simplejwt's login, answering 429 ``locked_out`` once django-axes locks the account."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        request = self.context["request"]
        try:
            data = super().validate(attrs)
        except AuthenticationFailed:
            # Set by django-axes on the request it was given, when this attempt was refused
            # because of a lockout or was the failure that caused one.
            if getattr(request, "axes_locked_out", False):
                raise locked_out() from None
            raise
        # As on the admin login (AXES_RESET_ON_SUCCESS): a success ends the failure count.
        user_login_failures_clear(email=attrs[self.username_field])
        return data


class TokenRefreshSerializer(JSONTypesMixin, jwt_serializers.TokenRefreshSerializer):
    """Redeem a refresh token once, even when requests race (see refresh_token_rotate).

    simplejwt's own blacklists with get_or_create, so every racing request would succeed. A
    token of a deleted or deactivated user is refused with a 401, never a 500.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = self.token_class(attrs["refresh"])  # signature, expiry, type, blacklist
        try:
            successor = refresh_token_rotate(refresh=refresh)
        except User.DoesNotExist as error:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from error
        return {"access": str(successor.access_token), "refresh": str(successor)}
