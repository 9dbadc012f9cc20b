"""Every metric the web process updates, declared once.

Labels take values from small, fixed sets only (a route pattern, a method, a status code, a
throttle scope), so that the number of series stays bounded whatever clients send: one series
per label combination, kept by every worker for as long as the process runs.

Metrics that other parts update (webhook deliveries by outcome in ``apps.webhooks.metrics``, job
wait and run times in ``apps.core.metrics.jobs``) are declared beside them, with the same
``catalogue_`` prefix; figures read from the database when scraped (queue depth, outbox lag)
are collectors (``apps.core.metrics.collectors``).
"""

from prometheus_client import Counter, Histogram, disable_created_metrics

# No `_created` series (each counter's and histogram's start time): they would double what a
# single process exposes, and gunicorn's multi-process mode has none.
disable_created_metrics()

# Seconds. Cached answers take about a millisecond, so the lowest buckets are finer than
# prometheus_client's defaults; gunicorn kills a request at 30 s.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Queries. An endpoint's count is pinned by its tests (a handful); a jump to dozens is an N+1.
QUERY_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100)

http_requests = Counter(
    "catalogue_http_requests_total",
    "HTTP requests answered, by URL route pattern, method and status code.",
    ["route", "method", "status"],
)
http_request_duration = Histogram(
    "catalogue_http_request_duration_seconds",
    "Time from the request reaching Django's middleware to the response leaving it.",
    ["route", "method"],
    buckets=DURATION_BUCKETS,
)
sql_queries_per_request = Histogram(
    "catalogue_sql_queries_per_request",
    "SQL statements a request sent to the database, by URL route pattern.",
    ["route"],
    buckets=QUERY_BUCKETS,
)
response_cache = Counter(
    "catalogue_response_cache_total",
    "Cacheable anonymous API reads, by outcome: hit (served from the cache), miss (rendered "
    "and stored), unavailable (the cache could not be reached: rendered, not stored).",
    ["outcome"],
)
throttle_refusals = Counter(
    "catalogue_throttle_refusals_total",
    "Requests refused with 429, by throttle scope; login_lockout for a locked-out sign-in.",
    ["scope"],
)
