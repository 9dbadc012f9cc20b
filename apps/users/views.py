from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views

from .models import User
from .serializers import UserMeSerializer, UserRegisterSerializer
from .services import user_register


class RegisterView(generics.GenericAPIView[User]):
    """Create a customer account. Sign in afterwards through ``auth/token/``."""

    serializer_class = UserRegisterSerializer
    permission_classes = [permissions.AllowAny]
    throttle_scope = "auth"

    @extend_schema(responses={201: UserMeSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data)
        return Response(UserMeSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    """Exchange email and password for an ``access`` and a ``refresh`` token."""

    throttle_scope = "auth"


class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted."""

    throttle_scope = "auth"


class TokenVerifyView(jwt_views.TokenVerifyView):
    """Check that a token is valid and unexpired."""


class LogoutView(jwt_views.TokenBlacklistView):
    """Blacklist a refresh token so that it can never be redeemed again."""

    @extend_schema(responses={204: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        super().post(request, *args, **kwargs)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, generics.GenericAPIView[User]):
    """Read or edit the signed-in user's own profile."""

    serializer_class = UserMeSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> User:
        user = self.request.user
        assert isinstance(user, User)
        return user

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)

    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)
