import sys
from typing import Any, TextIO

from django.apps import AppConfig
from django.db.models.signals import post_migrate

from .search import register_search_placeholders


class ProductsConfig(AppConfig):
    name = "apps.products"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        register_search_placeholders()
        post_migrate.connect(recount_stale_facet_counts, sender=self)


def recount_stale_facet_counts(
    sender: AppConfig, *, using: str, verbosity: int = 1, **kwargs: Any
) -> None:
    """``post_migrate`` receiver: recount the facet summary when the settings' price buckets
    are not those it was counted with, so that ``migrate`` after a change of
    ``CATALOGUE_PRICE_BUCKETS`` puts it back to use."""
    # Imported here: facets imports the models, which are loaded after this module.
    from .services import facet_counts_rebuild_if_stale  # noqa: PLC0415

    if facet_counts_rebuild_if_stale(using=using) and verbosity >= 1:
        stdout: TextIO = kwargs.get("stdout") or sys.stdout
        stdout.write("  Recounted the facet summary for the new price buckets.\n")
