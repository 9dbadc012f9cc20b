"""Throttles for the account endpoints: per client address and per account, failing closed.

A view lists ``ClientRateThrottle`` and ``AccountRateThrottle`` and sets ``throttle_scope``; its
requests are counted per client address under that scope and per account under
``<scope>_account``, each with its own rate in ``DEFAULT_THROTTLE_RATES``. The account is what
the view's ``get_throttle_account(request)`` returns (an email address or a user), stored only as
a keyed hash.

Unlike the project's default throttles, these fail closed: while the shared cache is unreachable
they refuse every request with 503 ``throttle_unavailable`` (see ``apps.core.throttling``), since
sign-in and reset attempts let through uncounted are what an attacker would wait for. Only the
cache calls count as an outage: a body that does not parse while ``get_throttle_account`` reads
it raises the client error it is.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.core.throttling import FailClosedMixin, client_ip_address

_ACCOUNT_KEY_SALT = "apps.users.throttling.account"


def email_account(email: Any) -> str | None:
    """Return the account key for an email address as a client typed it, or None."""
    if not isinstance(email, str) or not email.strip():
        return None
    return "email:" + email.strip().lower()


def user_account(user_id: Any) -> str | None:
    """Return the account key for a user id, or None."""
    return None if user_id in (None, "") else f"user:{user_id}"


class _ViewScopedRateThrottle(FailClosedMixin, throttling.SimpleRateThrottle):
    """Take the scope from the view's ``throttle_scope`` (plus ``scope_suffix``)."""

    scope_suffix = ""

    def __init__(self) -> None:
        # The scope, and so the rate, is known only once the view is: see allow_request.
        pass

    def allow_request(self, request: Request, view: APIView) -> bool:
        base_scope = getattr(view, "throttle_scope", None)
        assert base_scope, (
            f"{type(view).__name__} lists {type(self).__name__} in throttle_classes, so it "
            "needs a throttle_scope."
        )
        self.scope = base_scope + self.scope_suffix
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        # Read on every request rather than once at import, so that changed settings apply.
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"Set a rate for the {self.scope!r} throttle scope.")
        rate = rates[self.scope]
        return None if rate is None else str(rate)


class ClientRateThrottle(_ViewScopedRateThrottle):
    """Count a view's requests per client address, under the view's ``throttle_scope``."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {
            "scope": self.scope,
            "ident": client_ip_address(request) or "unknown",
        }


class AccountRateThrottle(_ViewScopedRateThrottle):
    """Count a view's requests per account they name, under ``<throttle_scope>_account``."""

    scope_suffix = "_account"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        get_account = getattr(view, "get_throttle_account", None)
        assert get_account is not None, (
            f"{type(view).__name__} lists AccountRateThrottle in throttle_classes, so it needs "
            "a get_throttle_account(request) method."
        )
        account = get_account(request)
        if account is None:
            return None  # names no account: only the per-address count applies
        return self.cache_format % {
            "scope": self.scope,
            # Keyed, so the cache holds no email addresses nor anything to test guesses against.
            "ident": salted_hmac(_ACCOUNT_KEY_SALT, account).hexdigest(),
        }
