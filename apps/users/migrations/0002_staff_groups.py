"""The staff groups "Catalogue managers" and "Review moderators", with exactly the permissions
they need. Running it again puts each group's permissions back to exactly these; reversing it
deletes both groups."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Group -> app label -> model -> permission actions ("view", "add", ...) or full codenames.
STAFF_GROUPS = {
    "Catalogue managers": {
        "products": {
            "product": ["view", "add", "change", "delete"],
            "category": ["view", "add", "change", "delete"],
            "productimage": ["view", "add", "change", "delete"],
        },
        "reviews": {"review": ["view"]},
        "core": {"auditentry": ["view"]},
    },
    "Review moderators": {
        "reviews": {"review": ["view", "change", "moderate_review"]},
        "products": {"product": ["view"], "category": ["view"]},
        "core": {"auditentry": ["view"]},
    },
}
DEFAULT_ACTIONS = {"view", "add", "change", "delete"}


def _codename(action, model):
    return f"{action}_{model}" if action in DEFAULT_ACTIONS else action


def create_staff_groups(apps, schema_editor):
    set_staff_groups(apps, schema_editor, STAFF_GROUPS)


def set_staff_groups(apps, schema_editor, staff_groups):
    """Give each group of ``staff_groups`` exactly its permissions (creating the group); later
    migrations call it with the groups as they are then."""
    # Permissions are created by a post_migrate signal, after every migration: on a fresh
    # database they do not exist yet. Create those of the apps involved now (what the signal
    # would do; it skips the existing ones later). create_permissions ignores app configs
    # without a models module, which the migration state's stubs never have.
    labels = {label for apps_models in staff_groups.values() for label in apps_models}
    for label in sorted(labels):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(
            app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps
        )
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for name, apps_models in staff_groups.items():
        wanted = {
            (label, _codename(action, model))
            for label, models in apps_models.items()
            for model, actions in models.items()
            for action in actions
        }
        permissions = [
            permission
            for permission in Permission.objects.using(db)
            .filter(content_type__app_label__in=labels)
            .select_related("content_type")
            if (permission.content_type.app_label, permission.codename) in wanted
        ]
        found = {(p.content_type.app_label, p.codename) for p in permissions}
        missing = sorted(wanted - found)
        assert not missing, f"Permissions missing for the group {name!r}: {missing}"
        group, _ = Group.objects.using(db).get_or_create(name=name)
        group.permissions.set(permissions)


def delete_staff_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=STAFF_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_audit_entry"),
        ("products", "0002_database_rules"),
        ("reviews", "0002_vote_rules"),
    ]

    operations = [migrations.RunPython(create_staff_groups, delete_staff_groups)]
