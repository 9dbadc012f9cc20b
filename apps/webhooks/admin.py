"""Webhooks in the admin: subscriptions (the secret shown once, on creation and rotation) and a
read-only delivery log with each attempt, and a resend."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .models import EVENT_TYPE_CHOICES, Delivery, DeliveryAttempt, Subscription
from .services import (
    delivery_resend,
    subscription_create,
    subscription_delete,
    subscription_secret_rotate,
    subscription_target_check,
    subscription_update,
    subscriptions_delete,
)

SUBSCRIPTION_FIELDS = ("target_url", "event_types", "description", "is_active")
DELIVERY_FIELDS = (
    "subscription",
    "event",
    "status",
    "attempt_count",
    "next_attempt_at",
    "created_at",
    "completed_at",
    "resend_of",
)
ATTEMPT_FIELDS = ("attempted_at", "response_status", "duration_ms", "error")


class SubscriptionForm(forms.ModelForm[Subscription]):
    target_url = forms.URLField(
        max_length=2000,
        assume_scheme="https",
        help_text=Subscription._meta.get_field("target_url").help_text,
    )
    event_types = forms.MultipleChoiceField(
        choices=EVENT_TYPE_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Subscription
        fields = SUBSCRIPTION_FIELDS

    def clean_target_url(self) -> str:
        target_url: str = self.cleaned_data["target_url"]
        if self.instance.pk is None or target_url != self.instance.target_url:
            try:
                subscription_target_check(target_url)
            except ValidationError as error:
                raise ValidationError(error.message_dict["target_url"]) from error
        return target_url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    """Subscriptions, written through the services, which audit every change (never a
    secret); Django's history logs them too."""

    form = SubscriptionForm
    list_display = ["target_url", "event_type_list", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["target_url", "description"]
    readonly_fields = ["previous_secret_expires_at", "created_at", "updated_at"]
    change_form_template = "admin/webhooks/subscription/change_form.html"
    secret_page_template = "admin/webhooks/subscription/secret.html"  # noqa: S105 (a page)

    @admin.display(description="Event types")
    def event_type_list(self, subscription: Subscription) -> str:
        return ", ".join(subscription.event_types)

    def get_fields(self, request: HttpRequest, obj: Subscription | None = None) -> Any:
        return [*SUBSCRIPTION_FIELDS, *(self.readonly_fields if obj is not None else [])]

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in SUBSCRIPTION_FIELDS}
        if change:
            saved = subscription_update(subscription=obj, user=request.user, **fields)
        else:
            saved = subscription_create(user=request.user, **fields)
        # The admin goes on with the instance it built (logging, the answer): make it the row.
        for field in Subscription._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Subscription) -> None:
        subscription_delete(subscription=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        subscriptions_delete(selection=queryset, user=request.user)

    def response_add(
        self, request: HttpRequest, obj: Subscription, post_url_continue: str | None = None
    ) -> HttpResponse:
        # The secret is shown on this page, once: not in a message, which would carry it in
        # the session or a cookie to the next page.
        return self.secret_response(request, obj, created=True)

    def secret_response(
        self, request: HttpRequest, subscription: Subscription, *, created: bool
    ) -> HttpResponse:
        opts = self.opts
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "original": subscription,
            "secret": subscription.secret,
            "created": created,
            "change_url": reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change", args=[subscription.pk]
            ),
            "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            "title": "The subscription's secret",
        }
        response = TemplateResponse(request, self.secret_page_template, context)
        response["Cache-Control"] = "no-store"
        return response

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="webhooks_subscription_rotate_secret",
            ),
            *super().get_urls(),
        ]

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Rotate on POST (the change page's button) and show the new secret once."""
        subscription = get_object_or_404(Subscription, pk=object_id)
        if not self.has_change_permission(request, subscription):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(
                reverse("admin:webhooks_subscription_change", args=[subscription.pk])
            )
        # The audit entry (the service's) and the history's in one transaction, as a save's.
        with transaction.atomic():
            subscription = subscription_secret_rotate(subscription=subscription, user=request.user)
            self.log_change(request, subscription, [{"changed": {"fields": ["secret"]}}])
        return self.secret_response(request, subscription, created=False)


class DeliveryAttemptInline(admin.TabularInline[DeliveryAttempt, Delivery]):
    model = DeliveryAttempt
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    """The delivery log: read-only. "Resend" (the action, or the button of a delivery's page)
    makes a fresh delivery of the same event, for staff with ``webhooks.add_delivery``."""

    list_display = [
        "id",
        "subscription",
        "event_type",
        "entity_id",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "subscription"]
    list_select_related = ["subscription", "event"]
    search_fields = ["=entity_id"]
    search_help_text = "An entity's id."
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]
    show_full_result_count = False
    change_form_template = "admin/webhooks/delivery/change_form.html"

    @admin.display(description="Event")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.add_delivery")

    @admin.action(description="Resend the selected deliveries", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        resent = [
            delivery_resend(delivery=delivery)
            for delivery in queryset.select_related("event").order_by("id")
        ]
        self.message_user(request, f"{len(resent)} delivery(ies) queued again.", messages.SUCCESS)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_resend": self.has_resend_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="webhooks_delivery_resend",
            ),
            *super().get_urls(),
        ]

    def resend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Resend one delivery on POST (its page's button), then show the new delivery."""
        delivery = get_object_or_404(Delivery.objects.select_related("event"), pk=object_id)
        if not self.has_resend_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(
                reverse("admin:webhooks_delivery_change", args=[delivery.pk])
            )
        resent = delivery_resend(delivery=delivery)
        self.message_user(request, f"Queued again as delivery {resent.pk}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[resent.pk]))
