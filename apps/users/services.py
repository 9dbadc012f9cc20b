"""Account writes: registration, email verification, passwords, refresh tokens, deletion.

Two rules run through them. Answers never reveal whether an email address has an account:
where one exists and where none does, the same work is done and the same answer given (the
difference is only in who gets an email). And every change of password ends every refresh token
of the user in the same transaction, serialised with refreshes by a lock on the user's row.
"""

from datetime import timedelta
from typing import Protocol

from axes.models import (  # type: ignore[import-untyped]
    AccessAttempt,
    AccessFailureLog,
    AccessLog,
)
from axes.utils import reset as axes_reset  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from .emails import email_enqueue
from .models import User
from .tokens import (
    email_verification_token_check,
    email_verification_token_user_id,
)

EMAIL_VERIFICATION_LINK_INVALID = "This verification link is invalid, has expired or was used."
RESET_LINK_INVALID = "This password reset link is invalid, has expired or was used."

# The database constraints that make an email address unique (case-insensitively).
_EMAIL_UNIQUE_CONSTRAINTS = {"users_user_email_ci_unique", "users_user_email_key"}


# --- Registration and email verification -------------------------------------------------------


@transaction.atomic
def user_register(*, email: str, username: str, password: str) -> User | None:
    """Create an unverified customer account and email it a link to verify the address.

    If the address already has an account, create nothing and email its owner instead (they
    may have forgotten it), so that the answer does not tell whether an address is registered.
    Return the new user, or None.
    """
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=email, username=username, password=password)
        except IntegrityError as error:
            # Registered by a request at the same instant: the same answer as above.
            if _constraint_name(error) not in _EMAIL_UNIQUE_CONSTRAINTS:
                raise
            existing = User.objects.filter(email__iexact=email).first()
        else:
            email_enqueue(kind="verify_email", user=user)
            return user
    # Hash the password all the same: creating an account costs a hash, and so must this.
    make_password(password)
    if existing is not None:
        email_enqueue(kind="account_exists", user=existing)
    return None


@transaction.atomic
def user_email_verification_resend(*, email: str) -> None:
    """Email a new verification link to the active, unverified account at ``email``, if any."""
    user = User.objects.filter(email__iexact=email, is_active=True, is_verified=False).first()
    # The worker builds the email (tokens, templates): all the request adds for an account is
    # the job's row, a fraction of a millisecond, so the answer takes about as long without one.
    if user is not None:
        email_enqueue(kind="verify_email", user=user)


@transaction.atomic
def user_email_verify(*, token: str) -> User:
    """Mark the address a verification token vouches for as verified; the token then expires."""
    user_id = email_verification_token_user_id(token)
    user = User.objects.select_for_update().filter(pk=user_id).first() if user_id else None
    if user is None or not email_verification_token_check(user, token):
        raise ValidationError({"token": [EMAIL_VERIFICATION_LINK_INVALID]})
    user.is_verified = True
    user.save(update_fields=["is_verified", "updated_at"])
    return user


# --- Passwords ----------------------------------------------------------------------------------


@transaction.atomic
def user_password_reset_request(*, email: str) -> None:
    """Email a password reset link to the active account at ``email``, if there is one."""
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    # As above: the job's row is all the request adds for an existing account.
    if user is not None:
        email_enqueue(kind="password_reset", user=user)


@transaction.atomic
def user_password_reset(*, user: User, token: str, new_password: str) -> None:
    """Set a new password with a reset link's token, and end every session of the user.

    The token works once: it is checked against the locked row, and setting the password
    invalidates it, so of two requests racing with one token only the first succeeds.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not default_token_generator.check_token(locked, token):
        raise ValidationError({"token": [RESET_LINK_INVALID]})
    locked.set_password(new_password)
    # The link reached the address, which proves it as well as a verification link would.
    locked.is_verified = True
    locked.save(update_fields=["password", "is_verified", "updated_at"])
    user_refresh_tokens_revoke(user=locked)
    # The owner is back in control: lift a lockout that someone guessing may have caused.
    user_login_failures_clear(email=locked.email)


@transaction.atomic
def user_password_change(*, user: User, new_password: str) -> None:
    """Set a new password for a signed-in user, and end every refresh token they hold."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.set_password(new_password)
    locked.save(update_fields=["password", "updated_at"])
    user_refresh_tokens_revoke(user=locked)
    user.password = locked.password


@transaction.atomic
def user_login_failures_clear(*, email: str) -> None:
    """Forget the failed logins counted against ``email`` (django-axes), lifting any lockout."""
    axes_reset(username=email.strip().lower())


def login_records_prune(*, keep_days: int) -> dict[str, int]:
    """Delete the login lockout's spent records; return how many of each kind went.

    Failure counts (django-axes' ``AccessAttempt``) go once their cool-off has passed: a lockout
    counts only failures within it, so they count for nothing more. The login logs
    (``AccessLog``, ``AccessFailureLog``) go after ``keep_days``.
    """
    now = timezone.now()
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    logs_before = now - timedelta(days=keep_days)
    attempts, _ = AccessAttempt.objects.filter(attempt_time__lt=now - cool_off).delete()
    access_logs, _ = AccessLog.objects.filter(attempt_time__lt=logs_before).delete()
    failure_logs, _ = AccessFailureLog.objects.filter(attempt_time__lt=logs_before).delete()
    return {"attempts": attempts, "access_logs": access_logs, "failure_logs": failure_logs}


# --- Refresh tokens -----------------------------------------------------------------------------


@transaction.atomic
def refresh_token_rotate(*, refresh: RefreshToken) -> RefreshToken:
    """Redeem a refresh token, once: blacklist it and return a new one for its user.

    Requests racing with one token queue on row locks (its user's, then its own); the first
    redeems it and the others find it blacklisted. Raise TokenError if it was redeemed (or
    revoked) already, and User.DoesNotExist if its user is deleted or deactivated.
    """
    # The user's row first, as password changes do: a refresh racing with a password reset
    # then either ends before it (and the reset revokes the new token) or after it (and finds
    # its own token revoked). Locking in one order also rules out deadlocks between the two.
    user_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
    if user_id is None:
        raise User.DoesNotExist("The token names no user.")
    user = User.objects.select_for_update().get(pk=user_id, is_active=True)
    outstanding, _ = OutstandingToken.objects.select_for_update().get_or_create(
        jti=refresh.payload[jwt_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "token": str(refresh),
            "expires_at": datetime_from_epoch(refresh.payload["exp"]),
        },
    )
    if BlacklistedToken.objects.filter(token=outstanding).exists():
        raise TokenError("Token is blacklisted")
    BlacklistedToken.objects.create(token=outstanding)
    successor: RefreshToken = RefreshToken.for_user(user)
    return successor


@transaction.atomic
def user_refresh_tokens_revoke(*, user: User) -> int:
    """Blacklist every unexpired refresh token of ``user``; return how many were live."""
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    ).only("pk")
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(revoked)


@transaction.atomic
def refresh_tokens_flush_expired() -> int:
    """Delete the refresh tokens past their expiry, with their blacklist entries; return how
    many tokens went. An expired token is refused for its expiry alone, blacklisted or not."""
    now = timezone.now()
    # The blacklist entries first, in one statement, so that the tokens' delete cascades to none.
    BlacklistedToken.objects.filter(token__expires_at__lte=now).delete()
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=now).delete()
    return deleted


# --- Deletion -----------------------------------------------------------------------------------


# What the apps above this one delete with an account, such as reviews, which takes the user's
# reviews out of the products' rating figures (a plain CASCADE would leave the figures wrong).
# users cannot import those apps (they build on it), and a signal would hide the step; each app
# registers its step in its AppConfig.ready(), so they run in INSTALLED_APPS order.
class AccountDeletionStep(Protocol):
    def __call__(self, *, user: User) -> None: ...


_account_deletion_steps: list[AccountDeletionStep] = []


def register_account_deletion_step(step: AccountDeletionStep) -> None:
    """Have ``user_delete`` call ``step(user=user)`` in its transaction, before the user's row is
    deleted; registering a step again changes nothing."""
    if step not in _account_deletion_steps:
        _account_deletion_steps.append(step)


def account_deletion_steps() -> tuple[AccountDeletionStep, ...]:
    """Return the registered account deletion steps, in the order ``user_delete`` runs them."""
    return tuple(_account_deletion_steps)


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete a user with what the other apps keep of them (their reviews, taken out of the
    products' rating figures), in one transaction."""
    for step in _account_deletion_steps:
        step(user=user)
    # Outstanding tokens outlive the user (their user becomes NULL): revoke them first.
    user_refresh_tokens_revoke(user=user)
    user.delete()


# --- Helpers ------------------------------------------------------------------------------------


def _constraint_name(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
