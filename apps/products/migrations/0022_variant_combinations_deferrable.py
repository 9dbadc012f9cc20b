"""A product's variant combinations are unique at the end of each statement, not row by row
(DEFERRABLE INITIALLY IMMEDIATE): an import's one UPDATE of its variants may swap two
combinations. The unique index is rebuilt.
"""

import django.db.models.constraints
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0021_filterable_attributes_function"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="variant",
            name="products_variant_unique_options",
        ),
        migrations.AddConstraint(
            model_name="variant",
            constraint=models.UniqueConstraint(
                deferrable=django.db.models.constraints.Deferrable["IMMEDIATE"],
                fields=("product", "option_ids"),
                name="products_variant_unique_options",
                violation_error_message="This product already has a variant with these options.",
            ),
        ),
    ]
