"""Catalogue managers may read the outbox's event log (events.view_event): the events are the
record of their own changes to products, variants, categories and images, as webhook receivers
get them, and a manager is who checks what the catalogue sent when a receiver reports a missing
or unexpected update. Review moderators are not given it: apart from review.hidden and
review.shown, the log is about the catalogue they do not manage. Webhook managers had it from
webhooks.0002. Running it again puts each group's permissions back to exactly these; reversing
it puts back those of users.0003."""

import importlib

from django.db import migrations

staff_groups_0002 = importlib.import_module("apps.users.migrations.0002_staff_groups")
staff_groups_0003 = importlib.import_module("apps.users.migrations.0003_staff_groups_variants")

STAFF_GROUPS = {
    **staff_groups_0003.STAFF_GROUPS,
    "Catalogue managers": {
        **staff_groups_0003.STAFF_GROUPS["Catalogue managers"],
        "events": {"event": ["view"]},
    },
}


def create_staff_groups(apps, schema_editor):
    staff_groups_0002.set_staff_groups(apps, schema_editor, STAFF_GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0003_staff_groups_variants"),
        ("events", "0002_event_relayed_at"),
    ]

    operations = [
        migrations.RunPython(create_staff_groups, staff_groups_0003.create_staff_groups)
    ]
