from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers

from .models import User


class UserPublicSerializer(serializers.ModelSerializer[User]):
    """What anyone may see of a user: never the email."""

    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class UserRegisterSerializer(serializers.Serializer[User]):
    email = serializers.EmailField(max_length=254)
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={
            "invalid": "Use letters, digits and @/./+/-/_ only.",
        },
    )
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )

    def validate_email(self, value: str) -> str:
        value = value.lower()
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with this email address already exists.")
        return value

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with this username already exists.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The similarity validator compares the password with the email and username.
        candidate = User(email=attrs["email"], username=attrs["username"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from error
        return attrs


class UserMeSerializer(serializers.ModelSerializer[User]):
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


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's refresh, with a deleted user's token refused (401) instead of a 500."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except ObjectDoesNotExist as error:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from error
