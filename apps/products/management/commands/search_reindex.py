"""Rebuild every product's search document, e.g. after changing SEARCH_LANGUAGE."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from apps.products.models import Product
from apps.products.search import install_search_function, search_config


class Command(BaseCommand):
    help = "Re-create the search trigger for the configured language and rebuild all documents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=10_000)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        # products_product_search_document from its SQL file, in the configured language.
        install_search_function(connection)
        last_id = Product.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        done = 0
        for start in range(0, last_id, batch_size):
            # One transaction per batch: row locks stay short on a live catalogue. A NULL
            # document makes the trigger products_product_search rebuild it.
            with transaction.atomic():
                done += Product.objects.filter(pk__gt=start, pk__lte=start + batch_size).update(
                    search_vector=None
                )
            self.stdout.write(f"\r{done:,} products reindexed", ending="")
        self.stdout.write(
            self.style.SUCCESS(f"\nRebuilt {done:,} search documents ({search_config()}).")
        )
