"""Fixtures for the webhook tests."""

from collections.abc import Iterator

import pytest

from apps.events.models import Event

from .receiver import Receiver, receiver_running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_running() as running:
        yield running


@pytest.fixture
def empty_outbox(db: None) -> None:
    """Delete the events of the test's set-up, so that what it does next is recorded afresh
    (a test is one transaction: its writes would merge into its set-up's events)."""
    Event.objects.all().delete()
