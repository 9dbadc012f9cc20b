"""Recount the facet summary, e.g. after changing CATALOGUE_PRICE_BUCKETS."""

import time
from typing import Any

from django.core.management.base import BaseCommand

from apps.products.services import facet_counts_rebuild, stored_price_edges


class Command(BaseCommand):
    help = (
        "Store the configured price buckets with the facet summary and count it anew from the "
        "products, in one transaction (writes to the catalogue wait for it)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        rows = facet_counts_rebuild()
        edges = ", ".join(str(edge) for edge in stored_price_edges() or [])
        self.stdout.write(
            self.style.SUCCESS(
                f"Counted {rows:,} facet summary rows, price buckets at {edges}, "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
