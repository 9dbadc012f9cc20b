"""Check every product's stored rating figures against its visible reviews; repair drift."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.reviews.services import rating_figures_drift, rating_figures_recompute


class Command(BaseCommand):
    help = (
        "Compare each product's stored rating figures (count, sum, 1..5 histogram) with a fresh "
        "aggregate of its visible reviews. With --repair, fix those that drifted. Exits 1 when "
        "drift was found and not repaired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="Write the correct figures.")

    def handle(self, *args: Any, repair: bool, **options: Any) -> None:
        rows = rating_figures_recompute() if repair else rating_figures_drift()
        for row in rows:
            changes = ", ".join(
                f"{name} {row['stored'][name]} -> {row['correct'][name]}"
                for name in row["stored"]
                if row["stored"][name] != row["correct"][name]
            )
            self.stdout.write(f"product {row['product_id']}: {changes}")
        if not rows:
            self.stdout.write(self.style.SUCCESS("Every product's rating figures are exact."))
        elif repair:
            self.stdout.write(self.style.SUCCESS(f"Repaired {len(rows)} product(s)."))
        else:
            self.stderr.write(f"{len(rows)} product(s) drifted; run with --repair to fix them.")
            raise SystemExit(1)
