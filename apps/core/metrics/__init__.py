"""Prometheus metrics: the instruments, the middleware that feeds them, and ``/metrics``.

- ``instruments``: every metric this process updates, declared once (names, labels, buckets).
- ``middleware.MetricsMiddleware``: request count, latency and SQL queries per request, labelled
  by the URL pattern's route, never the raw path.
- ``collectors``: metrics computed when scraped (queue depth, outbox lag: figures the database
  holds), listed in the ``METRICS_COLLECTORS`` setting so that any app can add its own.
- ``endpoint``: ``/metrics``, answered before host validation and the HTTPS redirect, only to
  the scrapers that ``METRICS_TOKEN`` and ``METRICS_ALLOWED_NETWORKS`` allow; and a job
  worker's own, on ``JOBS_METRICS_PORT``.
- ``jobs``: the job queue's backlog (a collector) and each job's wait and run time.

Under gunicorn every worker writes its figures to files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus_client's multi-process mode, set up by ``gunicorn.conf.py``), and a scrape of any
worker adds them all up. See docs/deploy.md, "Metrics".
"""
