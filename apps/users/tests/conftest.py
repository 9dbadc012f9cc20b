"""Fixtures for the account tests."""

from collections.abc import Callable

import pytest
from pytest_django.fixtures import Settings


@pytest.fixture
def throttle_rates(settings: Settings) -> Callable[..., None]:
    """Return a function that sets throttle rates by scope (None switches a scope off)."""

    def set_rates(**rates: str | None) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                **rates,
            },
        }

    return set_rates


@pytest.fixture
def num_proxies(settings: Settings) -> Callable[[int], None]:
    def set_num_proxies(count: int) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return set_num_proxies
