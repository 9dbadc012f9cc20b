from django.apps import AppConfig
from django.core import checks
from django.db.backends.signals import connection_created

from .metrics.checks import check_metrics_settings
from .response_cache import watch_connection


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Writes to the catalogue's tables make cached API responses stale.
        connection_created.connect(watch_connection, dispatch_uid="api-response-cache")
        checks.register(check_metrics_settings)
