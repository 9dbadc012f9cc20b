"""Metrics computed when ``/metrics`` is scraped, and the registry a scrape reads.

Counters and histograms that a process updates as things happen live in its own memory (or, under
gunicorn, in ``PROMETHEUS_MULTIPROC_DIR``: ``instruments``). Figures the database already holds,
such as how many jobs wait in a queue or how old the oldest undelivered outbox event is, are better
read when scraped: one query, exact, whichever process made them. Those are *collectors*.

Adding one (the job queue and the events outbox will):

1. Write a class in your app whose ``collect()`` yields ``prometheus_client.core`` metric
   families (``GaugeMetricFamily`` and the like) and that takes no arguments to build, e.g.
   ``apps.jobs.metrics.QueueDepthCollector``.
2. List its dotted path in ``METRICS_COLLECTORS`` (``project/settings/base.py``).

Each is built once per process and run by the worker that answers the scrape, so it must be
cheap: one bounded query, no network calls. One that raises is left out of that scrape (the rest
is still served) and logged, and ``catalogue_metrics_collector_up{collector="<path>"}`` is 0.

The webhooks export ``catalogue_outbox_lag_seconds`` (a collector: the oldest event not relayed)
and ``catalogue_webhook_deliveries_total{outcome}`` (``apps.webhooks.metrics``).

Names reserved for the collectors and instruments still to come, so that dashboards can be
written against them now (none is exported until its app adds it):

- ``catalogue_job_queue_depth{queue}`` (gauge, collector): jobs waiting to run.
- ``catalogue_job_latency_seconds{queue}`` (histogram, instrument in the job runner): time from
  a job being enqueued to it starting.

A process other than a gunicorn worker (a job runner) with the same ``PROMETHEUS_MULTIPROC_DIR``
on the same host adds its instruments' figures to every scrape; on another host or in another
container, it must serve its own endpoint (``prometheus_client.start_http_server``).
"""

import functools
import logging
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from .multiprocess import LockedMultiProcessCollector

logger = logging.getLogger(__name__)


class ProcessInstruments(Collector):
    """This process's default registry: its instruments, and prometheus_client's process and
    platform metrics. For a single process (``runserver``, tests)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class ScrapeCollectors(Collector):
    """Run the collectors of ``METRICS_COLLECTORS``, each guarded: one that fails is left out."""

    def __init__(self, paths: list[str]) -> None:
        self.collectors = [(path, import_string(path)()) for path in paths]

    def collect(self) -> Iterator[Metric]:
        if not self.collectors:
            return
        up = GaugeMetricFamily(
            "catalogue_metrics_collector_up",
            "1 when the scrape-time collector answered this scrape, 0 when it failed.",
            labels=["collector"],
        )
        for path, collector in self.collectors:
            try:
                # Whole, so that a failure halfway leaves out the collector's every metric.
                metrics = list(collector.collect())
            except Exception:
                logger.exception("Metrics collector %s failed", path)
                up.add_metric([path], 0)
                continue
            up.add_metric([path], 1)
            yield from metrics
        yield up


@functools.cache
def scrape_registry() -> CollectorRegistry:
    """Return the registry that ``/metrics`` exposes, built once per process."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every process's files, added up; a worker's memory holds only its own share.
        LockedMultiProcessCollector(registry)
    else:
        registry.register(ProcessInstruments())
    registry.register(ScrapeCollectors(list(settings.METRICS_COLLECTORS)))
    return registry


def _forget_registry(*, setting: str, **kwargs: Any) -> None:
    if setting == "METRICS_COLLECTORS":
        scrape_registry.cache_clear()


setting_changed.connect(_forget_registry, dispatch_uid="apps.core.metrics.collectors")
