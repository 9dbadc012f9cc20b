"""Webhook metrics (apps.core.metrics' naming): deliveries by outcome, and the outbox's lag."""

from collections.abc import Iterator

from django.db import connection
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

webhook_deliveries = Counter(
    "catalogue_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered (2xx), retried (failed, retry scheduled), "
    "gave_up (failed for the last time: the delivery failed), dropped (its subscription was "
    "deactivated before it was sent).",
    ["outcome"],
)

# The oldest event no relay has taken: the partial index events_event_unrelayed's first row.
_OUTBOX_LAG_SQL = """
SELECT EXTRACT(EPOCH FROM now() - occurred_at) FROM events_event
WHERE relayed_at IS NULL ORDER BY position LIMIT 1
"""


class OutboxLagCollector(Collector):
    """``catalogue_outbox_lag_seconds``: the age of the oldest event not relayed yet (0 when
    every event has been)."""

    def collect(self) -> Iterator[Metric]:
        with connection.cursor() as cursor:
            cursor.execute(_OUTBOX_LAG_SQL)
            row = cursor.fetchone()
        lag = GaugeMetricFamily(
            "catalogue_outbox_lag_seconds",
            "Age of the oldest outbox event that the webhook relay has not taken yet.",
        )
        lag.add_metric([], max(float(row[0]), 0.0) if row else 0.0)
        yield lag
