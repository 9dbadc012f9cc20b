"""System checks of the metrics settings: a malformed network stops the start, not a scrape."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .endpoint import parse_networks

# As long as a secret_key-like token; `python -c "import secrets; print(secrets.token_urlsafe())"`
# gives 43 characters.
METRICS_TOKEN_MIN_LENGTH = 32


def check_metrics_settings(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Refuse networks that do not parse; warn of a short token."""
    messages: list[CheckMessage] = []
    try:
        parse_networks(settings.METRICS_ALLOWED_NETWORKS)
    except ValueError as error:
        messages.append(
            Error(
                f"METRICS_ALLOWED_NETWORKS holds an invalid network: {error}",
                hint="List networks as 10.0.0.0/8 or single addresses, separated by commas.",
                id="metrics.E001",
            )
        )
    token: str = settings.METRICS_TOKEN
    if token and len(token) < METRICS_TOKEN_MIN_LENGTH:
        messages.append(
            Warning(
                f"METRICS_TOKEN is shorter than {METRICS_TOKEN_MIN_LENGTH} characters.",
                hint='Generate one: python -c "import secrets; print(secrets.token_urlsafe())"',
                id="metrics.W001",
            )
        )
    return messages
