"""Trigram indexes for the audit admin's search: it looks up object_repr and username with
icontains, which Django writes as UPPER("col"::text) LIKE UPPER('%term%'), so each index is on
that very expression. pg_trgm comes from the products app's first migration."""

import django.contrib.postgres.indexes
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_count_estimate"),
        ("products", "0001_initial"),  # CREATE EXTENSION pg_trgm
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditentry",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper(
                        django.db.models.functions.comparison.Cast(
                            "object_repr", models.TextField()
                        )
                    ),
                    name="gin_trgm_ops",
                ),
                name="auditentry_object_repr_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper(
                        django.db.models.functions.comparison.Cast("username", models.TextField())
                    ),
                    name="gin_trgm_ops",
                ),
                name="auditentry_username_trgm",
            ),
        ),
    ]
