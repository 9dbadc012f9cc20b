from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes out: a million products take a few seconds.
    atomic = False

    dependencies = [
        ("products", "0004_search_lexicon_deferrable"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(
                condition=models.Q(("is_active", True)),
                fields=["category"],
                include=("id", "price", "stock", "rating_average"),
                name="product_active_category_facets",
            ),
        ),
    ]
