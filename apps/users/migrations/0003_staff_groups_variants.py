"""Catalogue managers also manage what issue 13 added: variants, attributes with their
options, and product types with their attributes. Running it again puts each group's
permissions back to exactly these; reversing it puts back those of users.0002."""

import importlib

from django.db import migrations

staff_groups_0002 = importlib.import_module("apps.users.migrations.0002_staff_groups")

ALL = ["view", "add", "change", "delete"]
STAFF_GROUPS = {
    **staff_groups_0002.STAFF_GROUPS,
    "Catalogue managers": {
        **staff_groups_0002.STAFF_GROUPS["Catalogue managers"],
        "products": {
            **staff_groups_0002.STAFF_GROUPS["Catalogue managers"]["products"],
            "variant": ALL,
        },
        "attributes": {
            "attribute": ALL,
            "attributeoption": ALL,
            "producttype": ALL,
            "producttypeattribute": ALL,
        },
    },
}


def create_staff_groups(apps, schema_editor):
    staff_groups_0002.set_staff_groups(apps, schema_editor, STAFF_GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_staff_groups"),
        ("attributes", "0001_initial"),
        ("products", "0007_variants"),
    ]

    operations = [
        migrations.RunPython(create_staff_groups, staff_groups_0002.create_staff_groups)
    ]
