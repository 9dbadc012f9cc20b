"""Tokens that account emails carry: email verification (signed here) and password reset (uid)."""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .models import User

_EMAIL_VERIFICATION_SALT = "apps.users.tokens.email-verification"


def _email_state(user: User) -> str:
    # Bound to the address and to whether it is verified: the token stops working once the
    # address is verified (single use) or changed (it vouched for the old one).
    value = f"{user.pk}|{user.email.lower()}|{user.is_verified}"
    return salted_hmac(_EMAIL_VERIFICATION_SALT, value).hexdigest()[:32]


def email_verification_token_make(user: User) -> str:
    """Return a signed, timestamped token that verifies ``user``'s current email address."""
    return signing.dumps(
        {"user": user.pk, "state": _email_state(user)}, salt=_EMAIL_VERIFICATION_SALT
    )


def email_verification_token_user_id(token: str) -> int | None:
    """Return the id of the user a genuine, unexpired verification token was issued to, or None."""
    try:
        payload = signing.loads(
            token,
            salt=_EMAIL_VERIFICATION_SALT,
            max_age=settings.ACCOUNTS_EMAIL_VERIFICATION_TIMEOUT,
        )
    except signing.BadSignature:  # SignatureExpired included
        return None
    user_id = payload.get("user") if isinstance(payload, dict) else None
    return user_id if _is_id(user_id) else None


def email_verification_token_check(user: User, token: str) -> bool:
    """Return whether ``token`` still verifies ``user``'s current, unverified address.

    False for a forged or expired token, one issued to another user, one already used (the
    address is verified) or one issued for an address the user no longer has.
    """
    if email_verification_token_user_id(token) != user.pk:
        return False
    payload = signing.loads(token, salt=_EMAIL_VERIFICATION_SALT)
    state = payload.get("state")
    return isinstance(state, str) and constant_time_compare(state, _email_state(user))


def uid_encode(user: User) -> str:
    """Return the ``uid`` that names ``user`` in a password reset link."""
    return urlsafe_base64_encode(force_bytes(user.pk))


def uid_decode(uid: str) -> int | None:
    """Return the user id a reset link's ``uid`` names, or None if it is malformed."""
    try:
        value = force_str(urlsafe_base64_decode(uid))
    except (ValueError, UnicodeDecodeError):
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
