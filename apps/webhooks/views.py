from functools import cached_property
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.text import capfirst
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.core.fields import ID_PATH_PATTERN
from apps.core.permissions import IsStaffWithModelPermission

from .models import Delivery, DeliveryQuerySet, Subscription, SubscriptionQuerySet
from .permissions import SubscriptionPermission
from .serializers import (
    DeliverySerializer,
    SubscriptionCreatedSerializer,
    SubscriptionSecretSerializer,
    SubscriptionSerializer,
)
from .services import (
    delivery_resend,
    subscription_create,
    subscription_delete,
    subscription_secret_rotate,
    subscription_update,
)


def subscription_history_log(
    request: Request, subscription: Subscription, action_flag: int, message: list[Any] | str
) -> None:
    """Record a change made through the API in the subscription's admin history, as the admin
    records its own: who, when, and which fields (``message``, the admin's JSON format), never
    their values, so never a secret."""
    user_id = request.user.pk
    assert user_id is not None, "only staff change subscriptions (SubscriptionPermission)"
    LogEntry.objects.log_actions(user_id, [subscription], action_flag, message, single_object=True)


def _field_labels(names: list[str]) -> list[str]:
    labels = {
        field.name: str(capfirst(field.verbose_name))
        for field in Subscription._meta.concrete_fields
    }
    return [labels[name] for name in names]


class SubscriptionViewSet(viewsets.ModelViewSet[Subscription]):
    """Webhook subscriptions (docs/webhooks.md), for staff with the ``webhooks`` permissions
    on subscriptions. The secret that signs deliveries is shown once: in the answer to the
    creation, and to each rotation. Every change is audited with its values by the services
    (never a secret), and logged in the subscription's admin history, in the change's
    transaction, as the admin's own changes are."""

    permission_classes = [SubscriptionPermission]
    lookup_value_regex = ID_PATH_PATTERN

    def get_queryset(self) -> SubscriptionQuerySet:
        return Subscription.objects.for_list()

    def get_serializer_class(self) -> type[BaseSerializer[Subscription]]:
        if self.action == "create":
            return SubscriptionCreatedSerializer
        if self.action == "rotate_secret":
            return SubscriptionSecretSerializer
        return SubscriptionSerializer

    @transaction.atomic
    def perform_create(self, serializer: BaseSerializer[Subscription]) -> None:
        serializer.instance = subscription_create(
            user=self.request.user, **serializer.validated_data
        )
        subscription_history_log(self.request, serializer.instance, ADDITION, [{"added": {}}])

    @transaction.atomic
    def perform_update(self, serializer: BaseSerializer[Subscription]) -> None:
        assert serializer.instance is not None
        fields = serializer.validated_data
        before = {name: getattr(serializer.instance, name) for name in fields}
        serializer.instance = subscription_update(
            subscription=serializer.instance, user=self.request.user, **fields
        )
        changed = [name for name in fields if fields[name] != before[name]]
        # As the admin does, a save that changed nothing is logged too ("No fields changed.").
        message = [{"changed": {"fields": _field_labels(changed)}}] if changed else []
        subscription_history_log(self.request, serializer.instance, CHANGE, message)

    @transaction.atomic
    def perform_destroy(self, instance: Subscription) -> None:
        # Logged before the row goes, as the admin does: the entry keeps its id and name.
        subscription_history_log(self.request, instance, DELETION, "")
        subscription_delete(subscription=instance, user=self.request.user)

    @extend_schema(request=None, responses=SubscriptionSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        """Give the subscription a new secret, shown in this answer only; the previous one
        keeps signing beside it until ``previous_secret_expires_at``
        (``WEBHOOKS_SECRET_OVERLAP_HOURS``)."""
        with transaction.atomic():
            subscription = subscription_secret_rotate(
                subscription=self.get_object(), user=request.user
            )
            # The field's name, as the admin's rotation logs it; the secret itself never.
            subscription_history_log(
                request, subscription, CHANGE, [{"changed": {"fields": ["secret"]}}]
            )
        return Response(self.get_serializer(subscription).data)


class DeliveryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Delivery]
):
    """Deliveries of one subscription, newest first, each with its attempts; for staff with
    ``webhooks.view_delivery``. Resending needs ``webhooks.add_delivery``."""

    permission_classes = [IsStaffWithModelPermission]
    serializer_class = DeliverySerializer
    lookup_value_regex = ID_PATH_PATTERN

    @cached_property
    def subscription(self) -> Subscription:
        """The subscription of the URL (a 404 if there is none), read once per request."""
        return get_object_or_404(Subscription.objects.only("pk"), pk=self.kwargs["subscription_pk"])

    def get_queryset(self) -> DeliveryQuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        return Delivery.objects.filter(subscription=self.subscription).for_list()

    @extend_schema(request=None, responses={201: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Send the delivery's event to the subscription again, as a new delivery (the same
        ``webhook-id``: receivers that already processed it may skip it)."""
        resent = delivery_resend(delivery=self.get_object())
        data = self.get_serializer(Delivery.objects.for_list().get(pk=resent.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)
