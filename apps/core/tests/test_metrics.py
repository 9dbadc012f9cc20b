"""Prometheus metrics: what requests count, the labels they carry, and who may read /metrics."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apps.core.cache_guard import CacheUnavailable, shared_cache
from apps.core.metrics.middleware import MetricsMiddleware, readable_route
from apps.core.metrics.multiprocess import LockedMultiProcessCollector, fold_dead_worker
from apps.core.tests.live import BASE_DIR, ProdServer, database_url, prod_environment
from apps.products.tests.factories import ProductFactory
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")
REVIEWS = reverse("v1:review-list")
TOKEN = reverse("v1:auth-token")
LIST_ROUTE = "api/v1/products/"
DETAIL_ROUTE = "api/v1/products/<pk>/"
METRICS_TOKEN = "a-metrics-token-of-at-least-32-characters-0123"


def sample(name: str, **labels: str) -> float:
    """Return a sample's value in this process's registry, 0 if it was never set."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """The change in a set of samples between the start of a ``with`` block and now."""

    def __init__(self, **samples: tuple[str, dict[str, str]]) -> None:
        self.samples = samples
        self.before = {key: sample(name, **labels) for key, (name, labels) in samples.items()}

    def __getitem__(self, key: str) -> float:
        name, labels = self.samples[key]
        return sample(name, **labels) - self.before[key]


def requests_total(route: str, method: str = "GET", status: str = "200") -> tuple[str, dict]:
    labels = {"route": route, "method": method, "status": status}
    return "catalogue_http_requests_total", labels


def queries(route: str, suffix: str, **labels: str) -> tuple[str, dict]:
    return f"catalogue_sql_queries_per_request_{suffix}", {"route": route, **labels}


def cache(outcome: str) -> tuple[str, dict]:
    return "catalogue_response_cache_total", {"outcome": outcome}


def refusals(scope: str) -> tuple[str, dict]:
    return "catalogue_throttle_refusals_total", {"scope": scope}


@pytest.fixture
def gated(settings: Settings) -> Settings:
    """Settings as in production: /metrics closed unless a token or networks are set."""
    settings.METRICS_PUBLIC = False
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    return settings


def scrape(client: Client, **extra: Any) -> dict[str, Metric]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    return {
        family.name: family for family in text_string_to_metric_families(response.content.decode())
    }


# --- requests ---------------------------------------------------------------------------------


def test_requests_are_counted_under_their_route_pattern_not_their_path(
    api_client: APIClient,
) -> None:
    first, second = ProductFactory(), ProductFactory()
    delta = Delta(
        detail=requests_total(DETAIL_ROUTE), missing=requests_total(DETAIL_ROUTE, "GET", "404")
    )

    api_client.get(reverse("v1:product-detail", args=[first.pk]))
    api_client.get(reverse("v1:product-detail", args=[second.pk]))
    api_client.get(reverse("v1:product-detail", args=[second.pk + 1000]))

    assert delta["detail"] == 2
    assert delta["missing"] == 1
    routes = {
        sample.labels["route"]
        for family in REGISTRY.collect()
        if family.name == "catalogue_http_requests"
        for sample in family.samples
    }
    assert not [route for route in routes if str(first.pk) in route.split("/")]


def test_a_path_no_pattern_matches_is_unmatched_and_a_strange_method_other(
    api_client: APIClient,
) -> None:
    delta = Delta(
        unmatched=requests_total("unmatched", "GET", "404"),
        other=requests_total(LIST_ROUTE, "other", "401"),  # anonymous: refused before the method
    )

    api_client.get("/no/such/page/12345/")
    api_client.generic("FROBNICATE", PRODUCTS)

    assert delta["unmatched"] == 1
    assert delta["other"] == 1


def test_static_files_count_under_one_route(client: Client) -> None:
    delta = Delta(static=requests_total("static/<path>"))

    response = client.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert delta["static"] == 1


def test_latency_is_observed_per_route_and_method(api_client: APIClient) -> None:
    labels = {"route": LIST_ROUTE, "method": "GET"}
    delta = Delta(
        count=("catalogue_http_request_duration_seconds_count", labels),
        total=("catalogue_http_request_duration_seconds_sum", labels),
    )
    started = time.perf_counter()

    api_client.get(PRODUCTS)

    assert delta["count"] == 1
    assert 0 < delta["total"] < time.perf_counter() - started


def test_a_cached_read_counts_under_its_route_as_a_hit_with_no_queries(
    api_client: APIClient,
    django_assert_num_queries: Any,
) -> None:
    ProductFactory()
    delta = Delta(
        requests=requests_total(LIST_ROUTE),
        hits=cache("hit"),
        misses=cache("miss"),
        observed=queries(LIST_ROUTE, "count"),
        queries=queries(LIST_ROUTE, "sum"),
        none=queries(LIST_ROUTE, "bucket", le="0.0"),
    )

    with django_assert_num_queries(1):  # the page with its count, category joined
        rendered = api_client.get(PRODUCTS)
    with django_assert_num_queries(0):
        cached = api_client.get(PRODUCTS)

    assert rendered.status_code == cached.status_code == 200
    assert (delta["misses"], delta["hits"]) == (1, 1)
    assert delta["requests"] == 2
    assert delta["observed"] == 2
    assert delta["queries"] == 1  # the rendering's one query; none for the hit
    assert delta["none"] == 1


def test_the_query_histogram_observes_an_endpoints_pinned_count(
    user_client: APIClient,
    django_assert_num_queries: Any,
) -> None:
    product = ProductFactory()
    delta = Delta(
        total=queries(DETAIL_ROUTE, "sum"),
        at_most_one=queries(DETAIL_ROUTE, "bucket", le="1.0"),
        none=queries(DETAIL_ROUTE, "bucket", le="0.0"),
    )

    # Signed in: not cached, so the view runs (its tests pin one query).
    with django_assert_num_queries(1):
        response = user_client.get(reverse("v1:product-detail", args=[product.pk]))

    assert response.status_code == 200
    assert delta["total"] == 1
    assert delta["at_most_one"] == 1
    assert delta["none"] == 0


def test_the_query_counter_leaves_wrappers_added_during_the_request_in_place() -> None:
    # A request's first query opens the connection, and connection_created adds the response
    # cache's wrapper (apps.core.response_cache.watch_connection) while the counter is in place.
    def added_on_connect(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute(sql, params, many, context)

    before = list(connection.execute_wrappers)

    def view(request: HttpRequest) -> HttpResponse:
        connection.execute_wrappers.append(added_on_connect)
        return HttpResponse()

    try:
        MetricsMiddleware(view)(RequestFactory().get("/"))
        after = list(connection.execute_wrappers)
    finally:
        with contextlib.suppress(ValueError):
            connection.execute_wrappers.remove(added_on_connect)

    assert after == [*before, added_on_connect]


def test_an_unreachable_cache_is_counted_as_unavailable(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise CacheUnavailable("connection refused")

    monkeypatch.setattr(shared_cache, "get_many", fail)
    delta = Delta(unavailable=cache("unavailable"), hits=cache("hit"))

    assert api_client.get(PRODUCTS).status_code == 200
    assert delta["unavailable"] == 1
    assert delta["hits"] == 0


@pytest.mark.parametrize(
    ("route", "readable"),
    [
        ("api/v1/products/$", "api/v1/products/"),
        ("api/v1/products/(?P<pk>[0-9]+)/$", "api/v1/products/<pk>/"),
        ("api/v1/products\\.(?P<format>[a-z0-9]+)/?$", "api/v1/products.<format>/?"),
        ("admin/users/user/<path:object_id>/change/", "admin/users/user/<path:object_id>/change/"),
        ("api/v1/auth/token/", "api/v1/auth/token/"),
    ],
)  # fmt: skip
def test_routes_read_as_path_patterns(route: str, readable: str) -> None:
    assert readable_route(route) == readable


# --- refusals ---------------------------------------------------------------------------------


def test_a_throttled_request_is_counted_by_scope(api_client: APIClient, settings: Settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "2/minute",
        },
    }
    delta = Delta(anon=refusals("anon"), refused=requests_total("api/v1/reviews/", "GET", "429"))

    statuses = [api_client.get(REVIEWS).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert delta["anon"] == 1
    assert delta["refused"] == 1


def test_the_account_throttles_count_under_their_scopes(
    api_client: APIClient, settings: Settings
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "100/minute",
            "auth_account": "1/minute",
        },
    }
    delta = Delta(account=refusals("auth_account"), address=refusals("auth"))

    body = {"email": "nobody@example.com", "password": "wrong"}
    statuses = [api_client.post(TOKEN, body).status_code for _ in range(2)]

    assert statuses == [401, 429]
    assert delta["account"] == 1
    assert delta["address"] == 0


def test_a_locked_out_sign_in_is_counted_once_per_refusal(
    api_client: APIClient, user: User, settings: Settings
) -> None:
    limit = int(settings.AXES_FAILURE_LIMIT)
    delta = Delta(lockouts=refusals("login_lockout"))

    statuses = [
        api_client.post(TOKEN, {"email": user.email, "password": "wrong"}).status_code
        for _ in range(limit)
    ]
    locked = api_client.post(TOKEN, {"email": user.email, "password": TEST_PASSWORD})
    admin = Client().post(
        reverse("admin:login"), {"username": user.email, "password": TEST_PASSWORD}
    )

    assert statuses[-1] == locked.status_code == admin.status_code == 429
    assert delta["lockouts"] == 3


# --- /metrics ---------------------------------------------------------------------------------


def test_metrics_are_open_in_development_and_show_the_counters(
    api_client: APIClient, client: Client
) -> None:
    ProductFactory()
    for _ in range(3):
        api_client.get(PRODUCTS)

    families = scrape(client)

    requests = {
        (sample.labels["route"], sample.labels["method"], sample.labels["status"]): sample.value
        for sample in families["catalogue_http_requests"].samples
        if sample.name == "catalogue_http_requests_total"
    }
    assert requests[LIST_ROUTE, "GET", "200"] >= 3
    assert "catalogue_http_request_duration_seconds" in families
    assert "catalogue_sql_queries_per_request" in families
    assert "catalogue_response_cache" in families


def test_a_scrape_is_not_counted_as_a_request(client: Client) -> None:
    scrape(client)
    before = sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "catalogue_http_requests"
        for sample in family.samples
    )

    scrape(client)

    after = sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "catalogue_http_requests"
        for sample in family.samples
    )
    assert after == before


def test_without_token_or_networks_production_answers_404(gated: Settings) -> None:
    response = Client().get("/metrics")

    assert response.status_code == 404
    assert b"catalogue_" not in response.content


def test_with_a_token_only_the_bearer_of_it_may_read(
    gated: Settings, api_client: APIClient
) -> None:
    gated.METRICS_TOKEN = METRICS_TOKEN
    client = Client()
    for _ in range(2):
        api_client.get(REVIEWS)

    anonymous = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    basic = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {METRICS_TOKEN}")
    right = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert (anonymous.status_code, wrong.status_code, basic.status_code) == (403, 403, 403)
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain")
    assert right["Cache-Control"] == "no-store"
    counted = [
        sample
        for family in text_string_to_metric_families(right.content.decode())
        for sample in family.samples
        if sample.name == "catalogue_http_requests_total"
        and sample.labels == {"route": "api/v1/reviews/", "method": "GET", "status": "200"}
    ]
    assert len(counted) == 1 and counted[0].value >= 2


def test_with_networks_only_their_clients_may_read(gated: Settings) -> None:
    gated.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    client = Client()

    outside = client.get("/metrics", REMOTE_ADDR="192.0.2.1")
    forged = client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.1")
    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    mapped = client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3")
    v6 = client.get("/metrics", REMOTE_ADDR="2001:db8::1")

    assert (outside.status_code, forged.status_code) == (404, 404)
    assert (inside.status_code, mapped.status_code, v6.status_code) == (200, 200, 200)


def test_with_both_a_client_needs_the_network_and_the_token(gated: Settings) -> None:
    gated.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    gated.METRICS_TOKEN = METRICS_TOKEN
    client = Client()
    bearer = f"Bearer {METRICS_TOKEN}"

    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9").status_code == 403
    assert (
        client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=bearer).status_code
        == 404
    )
    assert (
        client.get("/metrics", REMOTE_ADDR="10.0.0.9", HTTP_AUTHORIZATION=bearer).status_code == 200
    )


def test_metrics_answer_any_host_over_plain_http(gated: Settings) -> None:
    # Prometheus scrapes an instance by its address, which is not among ALLOWED_HOSTS.
    gated.METRICS_TOKEN = METRICS_TOKEN
    gated.SECURE_SSL_REDIRECT = True
    client = Client()

    response = client.get(
        "/metrics", HTTP_HOST="10.0.0.5:8000", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}"
    )
    write = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 200
    assert write.status_code == 405


def test_metrics_are_not_in_the_api_schema() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert not [path for path in schema["paths"] if "metrics" in path]


def test_prod_settings_gate_the_endpoint(tmp_path: Path) -> None:
    # In a process of its own with production settings, as a deployment runs them.
    probe = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "client = Client()\n"
        "print(client.get('/metrics').status_code)\n"
        f"print(client.get('/metrics', HTTP_AUTHORIZATION='Bearer {METRICS_TOKEN}').status_code)\n"
    )
    statuses = {}
    for name, extra in (("unset", {}), ("token", {"METRICS_TOKEN": METRICS_TOKEN})):
        result = subprocess.run(  # noqa: S603  # the probe above, a constant
            [sys.executable, "-c", probe],
            cwd=BASE_DIR,
            env=prod_environment(DJANGO_SETTINGS_MODULE="project.settings.prod", **extra),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        statuses[name] = result.stdout.split()

    assert statuses == {"unset": ["404", "404"], "token": ["403", "200"]}


# --- collectors ---------------------------------------------------------------------------------


class FixedCollector:
    """A scrape-time collector, as the job queue's and the outbox's will be."""

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("catalogue_test_depth", "A fixed figure.", value=7)


class BrokenCollector:
    def collect(self) -> Iterator[Metric]:
        raise RuntimeError("the database is away")


def test_collectors_listed_in_settings_are_run_and_a_failing_one_left_out(
    settings: Settings, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    settings.METRICS_COLLECTORS = [
        "apps.core.tests.test_metrics.FixedCollector",
        "apps.core.tests.test_metrics.BrokenCollector",
    ]

    families = scrape(client)

    assert families["catalogue_test_depth"].samples[0].value == 7
    up = {
        s.labels["collector"]: s.value for s in families["catalogue_metrics_collector_up"].samples
    }
    assert up == {
        "apps.core.tests.test_metrics.FixedCollector": 1,
        "apps.core.tests.test_metrics.BrokenCollector": 0,
    }
    assert "the database is away" in caplog.text


# --- settings checks ----------------------------------------------------------------------------


def test_a_malformed_network_or_a_short_token_is_reported(settings: Settings) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "not-a-network"]
    settings.METRICS_TOKEN = "short"

    ids = {message.id for message in run_checks() if message.id.startswith("metrics.")}

    assert ids == {"metrics.E001", "metrics.W001"}


# --- gunicorn -----------------------------------------------------------------------------------


def test_gunicorn_workers_add_up_their_counts_in_one_scrape(tmp_path: Path) -> None:
    # Imported here: the module's throwaway servers are needed by this test alone.
    from apps.core.tests.test_database_outage import throwaway_redis  # noqa: PLC0415

    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_1.db"
    stale.write_bytes(b"left by an earlier server")
    with throwaway_redis(tmp_path) as redis_url:
        environment = {
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": redis_url,
            "METRICS_TOKEN": METRICS_TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            # Workers recycled every dozen requests or so: their counts must outlive them.
            "GUNICORN_CMD_ARGS": "--max-requests 12 --max-requests-jitter 2",
        }
        with ProdServer(environment, log_path=tmp_path / "gunicorn.log", workers=2) as server:
            for _ in range(40):
                answer = server.request("GET", REVIEWS)
                assert answer.status == 200, server.log_text()[-2000:]
            refused = server.request("GET", "/metrics")
            bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            # Several scrapes, answered by either worker: each sees both workers' counts.
            scraped = [server.request("GET", "/metrics", headers=bearer) for _ in range(6)]
            files = sorted(path.name for path in metrics_dir.glob("*.db"))

    assert not stale.exists()  # removed at start: its counts were another server's
    assert refused.status == 403
    for answer in scraped:
        assert answer.status == 200
        families = {f.name: f for f in text_string_to_metric_families(answer.body.decode())}
        counts = {
            sample.labels["route"]: sample.value
            for sample in families["catalogue_http_requests"].samples
            if sample.name == "catalogue_http_requests_total" and sample.labels["status"] == "200"
        }
        assert counts["api/v1/reviews/"] == 40
    # The dead workers' files folded into the archives: the two live workers' files are left.
    workers = {name.split("_")[1] for name in files if not name.endswith("_archive.db")}
    assert {"counter_archive.db", "histogram_archive.db"} <= set(files), files
    assert len(workers) <= 2, files


def test_gunicorn_removes_the_metrics_folder_it_made(tmp_path: Path) -> None:
    # Where gunicorn.conf.py makes it.
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())  # noqa: S108
    before = set(shm.glob("catalogue-metrics-*"))
    environment = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": "redis://127.0.0.1:1/0",  # not reached: only the live probe is asked
    }
    with ProdServer(environment, log_path=tmp_path / "gunicorn.log", workers=1):
        made = set(shm.glob("catalogue-metrics-*")) - before

    assert len(made) == 1
    assert not next(iter(made)).exists()


# --- gunicorn's folder of metrics ---------------------------------------------------------------


def write_worker_files(directory: Path, pid: int, requests: float, duration: float) -> None:
    """Write a worker's files as prometheus_client does: one request, its time in a bucket."""
    counters = MmapedDict(str(directory / f"counter_{pid}.db"))
    labels = {"route": LIST_ROUTE, "method": "GET", "status": "200"}
    counters.write_value(
        mmap_key(
            "catalogue_http_requests",
            "catalogue_http_requests_total",
            list(labels),
            list(labels.values()),
            "help",
        ),
        requests,
        0.0,
    )
    counters.close()
    histograms = MmapedDict(str(directory / f"histogram_{pid}.db"))
    name = "catalogue_http_request_duration_seconds"
    for bucket, count in (("0.01", 1.0), ("0.1", requests - 1)):
        histograms.write_value(
            mmap_key(name, name + "_bucket", ["route", "le"], [LIST_ROUTE, bucket], "help"),
            count,
            0.0,
        )
    histograms.write_value(
        mmap_key(name, name + "_sum", ["route"], [LIST_ROUTE], "help"), duration, 0.0
    )
    histograms.close()


def totals(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    LockedMultiProcessCollector(registry, path=str(directory))
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def test_a_dead_workers_counts_are_folded_into_the_archive_and_its_files_removed(
    tmp_path: Path,
) -> None:
    write_worker_files(tmp_path, 101, requests=5, duration=0.5)
    write_worker_files(tmp_path, 102, requests=7, duration=0.25)
    write_worker_files(tmp_path, 103, requests=2, duration=0.125)
    before = totals(tmp_path)

    fold_dead_worker(101, str(tmp_path))
    after_one = totals(tmp_path)
    fold_dead_worker(102, str(tmp_path))
    fold_dead_worker(999, str(tmp_path))  # no files: nothing to do

    assert after_one == before
    assert totals(tmp_path) == before
    assert (
        before[
            "catalogue_http_requests_total",
            (("method", "GET"), ("route", LIST_ROUTE), ("status", "200")),
        ]
        == 14
    )
    assert before["catalogue_http_request_duration_seconds_count", (("route", LIST_ROUTE),)] == 14
    assert sorted(path.name for path in tmp_path.glob("*.db")) == [
        "counter_103.db",
        "counter_archive.db",
        "histogram_103.db",
        "histogram_archive.db",
    ]
