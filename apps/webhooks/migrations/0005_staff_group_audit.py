"""The "Webhook managers" read the audit trail too, where subscriptions' changes are recorded
(whose entries only those who may view subscriptions see: apps.core.admin). Running it again
puts the group's permissions back to exactly these; reversing it puts back 0002's."""

import importlib

from django.db import migrations

staff_groups_0002 = importlib.import_module("apps.users.migrations.0002_staff_groups")
webhooks_0002 = importlib.import_module("apps.webhooks.migrations.0002_staff_group")

STAFF_GROUPS = {
    "Webhook managers": {
        **webhooks_0002.STAFF_GROUPS["Webhook managers"],
        "core": {"auditentry": ["view"]},
    },
}


def grant(apps, schema_editor):
    staff_groups_0002.set_staff_groups(apps, schema_editor, STAFF_GROUPS)


def revoke(apps, schema_editor):
    staff_groups_0002.set_staff_groups(apps, schema_editor, webhooks_0002.STAFF_GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0004_delivery_queue"),
        ("core", "0001_audit_entry"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
