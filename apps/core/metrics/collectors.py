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
and ``catalogue_webhook_deliveries_total{outcome}`` (``apps.webhooks.metrics``); the job queue
its backlog (``catalogue_job_queue_depth{queue,task}`` and the rest of
``apps.core.metrics.jobs.JobQueueCollector``) and each job's wait and run time
(``catalogue_job_latency_seconds``, ``catalogue_job_duration_seconds``).

Instruments that a job worker updates (job times, webhook deliveries) live in the worker's
process, which gunicorn's scrapes never read. With ``JOBS_METRICS_PORT`` set, each worker
serves them on that port at ``/metrics`` (``endpoint.serve_process_metrics``, same access
rules), from ``process_registry``: its instruments only, the collectors being the web's.
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


@functools.cache
def process_registry() -> CollectorRegistry:
    """Return a registry of this process's own instruments only, for a job worker's endpoint:
    the figures the database holds are the web's to export (``scrape_registry``), once."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessInstruments())
    return registry


def _forget_registry(*, setting: str, **kwargs: Any) -> None:
    if setting == "METRICS_COLLECTORS":
        scrape_registry.cache_clear()


setting_changed.connect(_forget_registry, dispatch_uid="apps.core.metrics.collectors")
