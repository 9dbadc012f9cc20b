"""Reading the outbox in tests."""

from apps.events.models import Event

# (type, entity id, changes)
Recorded = tuple[str, int, tuple[str, ...]]


def recorded() -> set[Recorded]:
    """Return the outbox's events as (type, entity id, changes)."""
    return {(event.type, event.entity_id, tuple(event.changes)) for event in Event.objects.all()}


def recorded_of(entity: str) -> set[Recorded]:
    """Return the events of one kind of entity."""
    return {event for event in recorded() if event[0].startswith(f"{entity}.")}


def empty_the_outbox() -> None:
    """Delete every event, so that what a test does next is recorded afresh.

    A test runs in one transaction, so each of its writes would merge into the events of its
    set-up (one event per entity per transaction); a deleted event no longer conflicts.
    """
    Event.objects.all().delete()
