"""Deliveries become their own queue (apps/webhooks/delivery.py): each carries its entity (from
its event) and when it is due, and senders take them in batches. The one-job-per-delivery jobs
waiting at the upgrade are deleted: their deliveries stay pending, and the sweep sends them."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_subscription_event_types"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="entity",
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name="delivery",
            name="entity_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="delivery",
            name="next_attempt_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, help_text="When a pending delivery is sent next."
            ),
        ),
        migrations.RunSQL(
            "UPDATE webhooks_delivery AS delivery SET entity = event.entity,"
            " entity_id = event.entity_id"
            " FROM events_event AS event WHERE event.position = delivery.event_id",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "DELETE FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver'"
            " AND status = 'todo'",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="delivery",
            name="entity",
            field=models.TextField(),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="entity_id",
            field=models.BigIntegerField(),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["subscription", "next_attempt_at", "id"],
                name="webhooks_delivery_due",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["subscription", "entity", "entity_id", "id"],
                name="webhooks_delivery_queue",
            ),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("completed_at__isnull", True), ("status", "pending")),
                    models.Q(
                        models.Q(("status", "pending"), _negated=True),
                        ("completed_at__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="webhooks_delivery_completed_iff_ended",
                violation_error_message="A delivery has a completion time once it has ended.",
            ),
        ),
    ]
