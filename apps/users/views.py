from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, mixins, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from apps.core.schema import ErrorResponseSerializer
from apps.core.throttling import AnonRateThrottle, UserRateThrottle

from .models import User
from .schema import DeleteWithBodySchema
from .serializers import (
    EmailOptionalSerializer,
    EmailSerializer,
    EmailVerifySerializer,
    MessageSerializer,
    PasswordChangeSerializer,
    PasswordConfirmSerializer,
    PasswordResetConfirmSerializer,
    TokenPairSerializer,
    UserMeSerializer,
    UserRegisterSerializer,
)
from .services import (
    user_delete,
    user_email_verification_resend,
    user_email_verify,
    user_password_change,
    user_password_reset,
    user_password_reset_request,
    user_register,
)
from .throttling import AccountRateThrottle, ClientRateThrottle, email_account, user_account

# Per client address and per account, for everything an attacker could repeat to guess or flood.
GUARDED = [ClientRateThrottle, AccountRateThrottle]
# The project's per-address and per-user throttles, which count in process memory while the
# cache is unreachable (apps.core.throttling).
ORDINARY = [AnonRateThrottle, UserRateThrottle]

REGISTERED = (
    "If this address can be registered, the account has been created and a link to verify the "
    "address is on its way; if it already has an account, its owner has been emailed instead."
)
VERIFICATION_SENT = (
    "If this address has an account that is not verified yet, a new verification link is on "
    "its way."
)
RESET_LINK_SENT = "If this address has an account, a link to reset its password is on its way."

# simplejwt's answer to a valid token.
TOKEN_VALID = inline_serializer("TokenValid", fields={})


def _accepted(detail: str) -> Response:
    return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


def _request_email(request: Request) -> str | None:
    data = request.data
    return email_account(data.get("email")) if isinstance(data, dict) else None


class RegisterView(generics.GenericAPIView[User]):
    """Create a customer account and email a link that verifies its address.

    The answer is the same whether or not the address already has an account (its owner is
    emailed instead), so it cannot be used to find out who has one. Sign in afterwards through
    ``auth/token/``.
    """

    serializer_class = UserRegisterSerializer
    permission_classes = [permissions.AllowAny]
    throttle_classes = GUARDED
    throttle_scope = "auth"

    def get_throttle_account(self, request: Request) -> str | None:
        return _request_email(request)

    @extend_schema(responses={202: MessageSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_register(**serializer.validated_data)
        return _accepted(REGISTERED)


class EmailVerifyView(generics.GenericAPIView[Any]):
    """Verify an email address with the token from the link in the verification email."""

    serializer_class = EmailVerifySerializer
    permission_classes = [permissions.AllowAny]
    throttle_classes = ORDINARY

    @extend_schema(responses={204: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_email_verify(token=serializer.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerificationResendView(generics.GenericAPIView[Any]):
    """Send a new verification link: to the signed-in user, or to the account at ``email``.

    The answer is the same whether or not there is such an account.
    """

    serializer_class = EmailOptionalSerializer
    permission_classes = [permissions.AllowAny]
    throttle_classes = GUARDED
    throttle_scope = "email_verification"

    def get_email(self, request: Request) -> str | None:
        if request.user.is_authenticated:
            assert isinstance(request.user, User)
            return request.user.email
        data = request.data
        return data.get("email") if isinstance(data, dict) else None

    def get_throttle_account(self, request: Request) -> str | None:
        return email_account(self.get_email(request))

    @extend_schema(responses={202: MessageSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The body is checked even when signed in, where its address is not used: one that
        # breaks the schema is a mistake either way. Without a user, the address is required.
        signed_in = request.user.is_authenticated
        serializer = (EmailOptionalSerializer if signed_in else EmailSerializer)(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = self.get_email(request) if signed_in else serializer.validated_data["email"]
        assert email is not None
        user_email_verification_resend(email=email)
        return _accepted(VERIFICATION_SENT)


class PasswordResetView(generics.GenericAPIView[Any]):
    """Email a link to reset the password of the account at ``email``.

    The answer is the same (202) whether or not there is such an account.
    """

    serializer_class = EmailSerializer
    permission_classes = [permissions.AllowAny]
    throttle_classes = GUARDED
    throttle_scope = "password_reset"

    def get_throttle_account(self, request: Request) -> str | None:
        return _request_email(request)

    @extend_schema(responses={202: MessageSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_password_reset_request(email=serializer.validated_data["email"])
        return _accepted(RESET_LINK_SENT)


class PasswordResetConfirmView(generics.GenericAPIView[Any]):
    """Set a new password with the ``uid`` and ``token`` of a reset link.

    The link works once. Every refresh token of the account stops working: sign in again.
    """

    serializer_class = PasswordResetConfirmSerializer
    permission_classes = [permissions.AllowAny]
    throttle_classes = GUARDED
    throttle_scope = "password_reset"

    def get_throttle_account(self, request: Request) -> str | None:
        data = request.data
        uid = data.get("uid") if isinstance(data, dict) else None
        return user_account(uid.strip()) if isinstance(uid, str) else None

    @extend_schema(responses={204: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user_password_reset(
            user=data["user"], token=data["token"], new_password=data["new_password"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(generics.GenericAPIView[Any]):
    """Change the signed-in user's password.

    Every refresh token the user holds stops working; the answer carries a new pair for this
    client, so it stays signed in while every other one is signed out.
    """

    serializer_class = PasswordChangeSerializer
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = GUARDED
    throttle_scope = "password_check"

    def get_throttle_account(self, request: Request) -> str | None:
        return user_account(request.user.pk)

    @extend_schema(responses={200: TokenPairSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, User)
        user_password_change(user=user, new_password=serializer.validated_data["new_password"])
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    """Exchange email and password for an ``access`` and a ``refresh`` token.

    After too many failed attempts the account is locked for a while: 429 ``locked_out``, even
    with the right password.
    """

    throttle_classes = GUARDED
    throttle_scope = "auth"

    def get_throttle_account(self, request: Request) -> str | None:
        return _request_email(request)

    @extend_schema(responses={200: TokenPairSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token works only this once."""

    throttle_classes = GUARDED
    throttle_scope = "auth"

    def get_throttle_account(self, request: Request) -> str | None:
        data = request.data
        raw = data.get("refresh") if isinstance(data, dict) else None
        if not isinstance(raw, str):
            return None
        try:
            # Only a genuine token names an account: a forged one must not use up someone's
            # allowance. (No database query: UntypedToken checks no blacklist.)
            token = UntypedToken(raw)  # type: ignore[arg-type]  # annotated as Token, takes str
        except Exception:
            return None
        return user_account(token.payload.get(jwt_settings.USER_ID_CLAIM))

    @extend_schema(responses={200: TokenPairSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class TokenVerifyView(jwt_views.TokenVerifyView):
    """Check that a token is valid and unexpired."""

    throttle_classes = ORDINARY

    @extend_schema(
        responses={200: OpenApiResponse(TOKEN_VALID, "The token is valid: an empty object.")}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class LogoutView(jwt_views.TokenBlacklistView):
    """Blacklist a refresh token so that it can never be redeemed again."""

    throttle_classes = ORDINARY

    @extend_schema(responses={204: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        super().post(request, *args, **kwargs)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, generics.GenericAPIView[User]):
    """Read or edit the signed-in user's own profile, or delete the account."""

    serializer_class = UserMeSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "patch", "delete", "head", "options"]
    throttle_scope = "password_check"
    schema = DeleteWithBodySchema()

    def get_object(self) -> User:
        user = self.request.user
        assert isinstance(user, User)
        return user

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.request.method == "DELETE":
            return PasswordConfirmSerializer
        return UserMeSerializer

    def get_throttles(self) -> list[BaseThrottle]:
        # Deleting checks the password, so it is guarded like a login; reading and editing are not.
        classes = GUARDED if self.request.method == "DELETE" else ORDINARY
        return [throttle() for throttle in classes]

    def get_throttle_account(self, request: Request) -> str | None:
        return user_account(request.user.pk)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)

    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(
        request=PasswordConfirmSerializer,
        responses={
            204: None,
            400: OpenApiResponse(ErrorResponseSerializer, "`password` is missing or wrong."),
        },
    )
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete your account and your reviews, for good. Send your current ``password``."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_delete(user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
