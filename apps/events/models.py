"""The transactional outbox: one event per entity changed by a committed transaction.

PostgreSQL fills it, not Django: statement-level triggers on the catalogue's tables (the files
of ``apps/events/sql``) insert the events in the statement that makes the change, whoever
writes (the API, the admin, bulk actions, the import, raw SQL). An event therefore exists if
and only if its transaction commits. See docs/events.md.
"""

from typing import Any, ClassVar

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Func

ENTITIES = ["product", "variant", "category", "image", "review", "attribute", "product_type"]
TYPES = [
    *(f"{entity}.{action}" for entity in ENTITIES for action in ("created", "updated", "deleted")),
    "review.hidden",
    "review.shown",
]
EVENT_TYPE_CHOICES = [(name, name) for name in TYPES]


class TransactionIdField(models.Field[int, int]):
    """A PostgreSQL ``xid8``: a transaction id that never wraps around (``pg_current_xact_id()``).

    Read as an int; written as text, which PostgreSQL casts to ``xid8`` (it has no cast from
    ``bigint``)."""

    description = "Transaction id (xid8)"

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "xid8"

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        return None if value is None else int(value)

    def to_python(self, value: Any) -> Any:
        return None if value is None else int(value)

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else str(int(value))


class CurrentTransactionId(Func):
    """``pg_current_xact_id()``: the writing transaction's id."""

    function = "pg_current_xact_id"
    output_field = TransactionIdField()


class StatementTimestamp(Func):
    """``statement_timestamp()``: when the client's statement began."""

    function = "statement_timestamp"
    output_field = models.DateTimeField()


class EventQuerySet(models.QuerySet["Event"]):
    def in_delivery_order(self) -> "EventQuerySet":
        """Return events by position: for each entity, the order in which its changes committed."""
        return self.order_by("position")

    def of_entity(self, entity: str, entity_id: int) -> "EventQuerySet":
        """Return one entity's events (``product``, 42)."""
        return self.filter(entity=entity, entity_id=entity_id)

    def unrelayed(self) -> "EventQuerySet":
        """Return the events no relay has taken yet (``relayed_at`` unset)."""
        return self.filter(relayed_at__isnull=True)


class Event(models.Model):
    """Something changed and committed: an entity created, updated or deleted (a review hidden
    or shown). One per entity per transaction, however many statements touched it; the entity's
    current state is for the deliverer to read, never stored here."""

    # Delivery order, from a sequence drawn while the writer holds the entity's row lock: two
    # transactions that change one entity get positions in their commit order (docs/events.md).
    position = models.BigAutoField(primary_key=True)
    id = models.UUIDField(unique=True, db_default=RandomUUID(), editable=False)
    type = models.TextField(choices=EVENT_TYPE_CHOICES)
    entity = models.TextField(choices=[(name, name) for name in ENTITIES])
    entity_id = models.BigIntegerField()
    # The product of a variant, image or review (and of a product, itself): per-product
    # grouping; null for a category, an attribute or a product type. Not a foreign key: the
    # events of a deleted product stay.
    product_id = models.BigIntegerField(null=True, blank=True)
    # What an update changed, by name (price, stock, name, ...: docs/events.md); empty for
    # the other types.
    changes = ArrayField(models.TextField(), db_default="{}", blank=True)
    occurred_at = models.DateTimeField(db_default=StatementTimestamp())
    transaction_id = TransactionIdField(db_default=CurrentTransactionId())
    # When a relay (apps.webhooks) took the event, in the transaction that enqueued its
    # deliveries; null until then. The relay takes the unset ones in position order, never
    # "after the last position seen" (docs/events.md, "Order"); the upkeep deletes taken ones
    # after a retention period.
    relayed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[EventQuerySet] = EventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-position"]
        constraints = [
            # One event per entity per transaction: the triggers' INSERT ... ON CONFLICT merges
            # into it. entity_id first, so that it also serves an entity's history.
            models.UniqueConstraint(
                fields=["entity_id", "entity", "transaction_id"],
                name="events_event_once_per_transaction",
            ),
        ]
        indexes = [
            # The relay's queue: the events not taken yet, in position order; small, as the
            # relay empties it every few seconds.
            models.Index(
                fields=["position"],
                condition=models.Q(relayed_at__isnull=True),
                name="events_event_unrelayed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.entity_id}"
