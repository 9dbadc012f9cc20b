from django.urls import path

from . import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/verify-email/", views.EmailVerifyView.as_view(), name="auth-verify-email"),
    path(
        "auth/verify-email/resend/",
        views.EmailVerificationResendView.as_view(),
        name="auth-verify-email-resend",
    ),
    path("auth/password-reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "auth/password-reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/password-change/", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/token/", views.TokenObtainPairView.as_view(), name="auth-token"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/token/verify/", views.TokenVerifyView.as_view(), name="auth-token-verify"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("users/me/", views.MeView.as_view(), name="users-me"),
]
