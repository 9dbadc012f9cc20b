from typing import Any

from rest_framework import serializers

from apps.core.fields import ModelSerializer
from apps.core.serializers import JSONTypesMixin
from apps.events.models import EVENT_TYPE_CHOICES, TYPES, Event

from .models import Delivery, DeliveryAttempt, Subscription


class SubscriptionSerializer(JSONTypesMixin, ModelSerializer[Subscription]):
    """A webhook subscription. Its secret is shown only when it is created or rotated."""

    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES),
        min_length=1,
        max_length=len(TYPES),
        help_text="The event types to deliver (docs/events.md lists what each means).",
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "target_url",
            "event_types",
            "description",
            "is_active",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "previous_secret_expires_at", "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {
            "previous_secret_expires_at": {
                "help_text": "After a rotation, until when the previous secret also signs."
            }
        }


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """A subscription just created, with its secret: shown this once."""

    secret = serializers.CharField(
        read_only=True,
        help_text="Standard Webhooks' `whsec_...` secret that signs deliveries. Shown only in "
        "this answer: store it now.",
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = [*SubscriptionSerializer.Meta.read_only_fields, "secret"]


class SubscriptionSecretSerializer(ModelSerializer[Subscription]):
    """A subscription's new secret (shown this once); the previous one signs too until
    ``previous_secret_expires_at``."""

    class Meta:
        model = Subscription
        fields = ["id", "secret", "previous_secret_expires_at"]
        read_only_fields = fields


class DeliveryEventSerializer(ModelSerializer[Event]):
    class Meta:
        model = Event
        fields = ["id", "type", "entity", "entity_id", "product_id", "changes", "occurred_at"]
        read_only_fields = fields


class DeliveryAttemptSerializer(ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "response_status", "duration_ms", "error"]
        read_only_fields = fields
        extra_kwargs: dict[str, Any] = {
            "response_status": {"help_text": "The receiver's HTTP status; null if none came."},
            "error": {"help_text": "Why no status came (timeout, refused, ...); else empty."},
        }


class DeliverySerializer(ModelSerializer[Delivery]):
    """One event sent to one subscription, with each attempt's outcome."""

    event = DeliveryEventSerializer(read_only=True)
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "status",
            "attempt_count",
            "next_attempt_at",
            "created_at",
            "completed_at",
            "resend_of",
            "attempts",
        ]
        read_only_fields = fields
