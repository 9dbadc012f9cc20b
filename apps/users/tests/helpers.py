"""Helpers for the account tests."""

import re
from collections import Counter
from typing import Any
from urllib.parse import unquote

from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from apps.users.tests.factories import TEST_PASSWORD


def obtain_tokens(client: APIClient, email: str, password: str = TEST_PASSWORD) -> dict[str, Any]:
    response = client.post(reverse("v1:auth-token"), {"email": email, "password": password})
    assert response.status_code == 200, response.data
    return dict(response.data)


def link_parameter(message: mail.EmailMessage, name: str) -> str:
    """Return a query parameter of the link in an email's text body."""
    found = re.search(rf"[?&]{name}=([^&\s]+)", str(message.body))
    assert found, message.body
    return unquote(found.group(1))


def outcome_summary(statuses: list[Any]) -> str:
    """Summarise racing requests' outcomes: sent, per status, server errors (exceptions count)."""
    counts = Counter(s if isinstance(s, int) else type(s).__name__ for s in statuses)
    errors = sum(1 for s in statuses if not isinstance(s, int) or s >= 500)
    successes = sum(1 for s in statuses if isinstance(s, int) and 200 <= s < 300)
    rejections = sum(1 for s in statuses if isinstance(s, int) and 400 <= s < 500)
    return (
        f"sent {len(statuses)}, successes {successes}, rejections {rejections}, "
        f"server errors {errors}, by status {dict(sorted(counts.items(), key=str))}"
    )
