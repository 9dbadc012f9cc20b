from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Upper
from django.utils import timezone


class TimeStampedModel(models.Model):
    """Abstract base adding ``created_at`` and ``updated_at``, both set by Django."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """One change to one object made by a staff member: who, when, what, before and after.

    Written by ``apps.core.services.audit_record``; never edited afterwards. The entries of one
    bulk action share a ``batch``.
    """

    created_at = models.DateTimeField("when", default=timezone.now, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # The trail outlives the account; ``username`` still says who it was.
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    username = models.CharField(
        max_length=254, blank=True, editable=False, help_text="The user's login at the time."
    )
    action = models.CharField(max_length=100, editable=False)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", editable=False
    )
    # Text, so that one table serves models whatever the type of their primary key.
    object_id = models.CharField(max_length=64, editable=False)
    object_repr = models.CharField("object", max_length=200, editable=False)
    # The changed fields only, as JSON values: {"price": "19.99"} -> {"price": "17.99"}.
    before = models.JSONField(default=dict, encoder=DjangoJSONEncoder, editable=False)
    after = models.JSONField(default=dict, encoder=DjangoJSONEncoder, editable=False)
    batch = models.UUIDField(
        null=True, blank=True, editable=False, help_text="Shared by the entries of one bulk action."
    )

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The browsing page: newest first, whole or by action.
            models.Index(fields=["-created_at", "-id"], name="auditentry_newest"),
            models.Index(fields=["action", "-created_at", "-id"], name="auditentry_action_newest"),
            # One object's history.
            models.Index(
                fields=["content_type", "object_id", "-created_at"], name="auditentry_object"
            ),
            models.Index(
                fields=["batch"], condition=Q(batch__isnull=False), name="auditentry_batch"
            ),
            # The admin's search (icontains on object_repr and username), which Django writes
            # as UPPER("col"::text) LIKE UPPER('%term%'): trigram indexes on that expression.
            GinIndex(
                OpClass(Upper(Cast("object_repr", TextField())), name="gin_trgm_ops"),
                name="auditentry_object_repr_trgm",
            ),
            GinIndex(
                OpClass(Upper(Cast("username", TextField())), name="gin_trgm_ops"),
                name="auditentry_username_trgm",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.object_repr}"
