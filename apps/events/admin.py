"""The outbox's read-only admin: what the database recorded, newest first."""

from django.contrib import admin
from django.http import HttpRequest

from apps.core.pagination import EstimatingPaginator

from .models import Event

EVENT_FIELDS = (
    "position",
    "id",
    "type",
    "entity",
    "entity_id",
    "product_id",
    "changes",
    "occurred_at",
    "transaction_id",
    "relayed_at",
)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    """Browse the outbox. Only PostgreSQL writes it: nobody adds, changes or deletes an event,
    superusers included."""

    list_display = ["position", "type", "entity_id", "product_id", "changes", "occurred_at"]
    list_filter = ["type", "entity"]
    # An id is searched exactly (entity_id leads the index events_event_once_per_transaction).
    search_fields = ["=entity_id"]
    search_help_text = "An entity's id (filter by entity to tell a product 42 from a variant 42)."
    # Sorting by anything but the position would sort the whole table; facet counts and the
    # full count would scan it.
    sortable_by = ["position"]
    show_facets = admin.ShowFacets.NEVER
    show_full_result_count = False
    paginator = EstimatingPaginator
    list_per_page = 100
    actions = []
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
