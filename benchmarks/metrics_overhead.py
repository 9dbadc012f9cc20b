"""The request metrics' cost: the product list timed in process with and without them.

Calls the list through Django's test client (no HTTP), alternating rounds with and without
``MetricsMiddleware`` so that drift affects both alike, and prints the median per request:

    DATABASE_URL=postgres://... python benchmarks/metrics_overhead.py [--requests 300]
        [--multiprocess] [--uncached]

``--multiprocess`` writes the metrics to files as gunicorn's workers do
(``PROMETHEUS_MULTIPROC_DIR`` on tmpfs), the slower path; ``--uncached`` turns the response cache
off, so every request runs the view and its query. Needs a catalogue
(``manage.py load_demo_catalogue``).
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.dev")
os.environ.setdefault("THROTTLE_RATE_ANON", "1000000/minute")

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--requests", type=int, default=300)
parser.add_argument("--rounds", type=int, default=10)
parser.add_argument("--multiprocess", action="store_true")
parser.add_argument("--uncached", action="store_true")
args = parser.parse_args()
if args.multiprocess:
    # Before prometheus_client is imported: it picks its storage then.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  # tmpfs, as gunicorn
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-bench-", dir=shm)
if args.uncached:
    os.environ["API_CACHE_SECONDS"] = "0"

import django

django.setup()

from django.conf import settings
from django.test import Client, RequestFactory
from django.test.utils import override_settings

from apps.core.metrics import instruments
from apps.core.metrics.middleware import request_route

METRICS = "apps.core.metrics.middleware.MetricsMiddleware"
URL = "/api/v1/products/"


def client(*, metrics: bool) -> Client:
    middleware = [name for name in settings.MIDDLEWARE if metrics or name != METRICS]
    with override_settings(MIDDLEWARE=middleware):
        made = Client(HTTP_ACCEPT="application/json", HTTP_HOST="127.0.0.1")
        assert made.get(URL).status_code == 200  # builds its handler with this MIDDLEWARE
    return made


def main() -> None:
    clients = {"without": client(metrics=False), "with": client(metrics=True)}
    timings: dict[str, list[float]] = {name: [] for name in clients}
    per_round = max(1, args.requests // args.rounds)
    for _ in range(args.rounds):
        for name, made in clients.items():
            for _ in range(per_round):
                start = time.perf_counter()
                made.get(URL)
                timings[name].append((time.perf_counter() - start) * 1e6)
    mode = "multiprocess files" if args.multiprocess else "in memory"
    cache = "uncached" if args.uncached else "cached (anonymous hits)"
    print(f"{URL}, {cache}, metrics {mode}, {per_round * args.rounds} requests each")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, median in medians.items():
        print(f"  {name:8} metrics: median {median:8.1f} us")
    print(f"  overhead: {medians['with'] - medians['without']:+.1f} us per request")
    # The same work alone, many times over: what the middleware adds to a cached hit (its route
    # looked up by path) besides the query counter.
    request = RequestFactory().get(URL)
    repeat = 20_000
    start = time.perf_counter()
    for _ in range(repeat):
        route = request_route(request)
        instruments.http_requests.labels(route, "GET", "200").inc()
        instruments.http_request_duration.labels(route, "GET").observe(0.001)
        instruments.sql_queries_per_request.labels(route).observe(1)
    print(f"  route + 3 updates alone: {(time.perf_counter() - start) / repeat * 1e6:.1f} us")


if __name__ == "__main__":
    try:
        main()
    finally:
        if args.multiprocess:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
