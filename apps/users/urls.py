from django.urls import path

from . import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", views.TokenObtainPairView.as_view(), name="auth-token"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/token/verify/", views.TokenVerifyView.as_view(), name="auth-token-verify"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("users/me/", views.MeView.as_view(), name="users-me"),
]
