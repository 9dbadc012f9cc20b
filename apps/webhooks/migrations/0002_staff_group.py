"""The staff group "Webhook managers": subscriptions (view, add, change, delete), the delivery
log (view) and resends (add delivery), and the outbox they come from (view). Running it again
puts the group's permissions back to exactly these; reversing it deletes the group."""

import importlib

from django.db import migrations

staff_groups_0002 = importlib.import_module("apps.users.migrations.0002_staff_groups")

STAFF_GROUPS = {
    "Webhook managers": {
        "webhooks": {
            "subscription": ["view", "add", "change", "delete"],
            "delivery": ["view", "add"],
            "deliveryattempt": ["view"],
        },
        "events": {"event": ["view"]},
    },
}


def create_staff_group(apps, schema_editor):
    staff_groups_0002.set_staff_groups(apps, schema_editor, STAFF_GROUPS)


def delete_staff_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=STAFF_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("users", "0003_staff_groups_variants"),
        ("events", "0002_event_relayed_at"),
    ]

    operations = [migrations.RunPython(create_staff_group, delete_staff_group)]
