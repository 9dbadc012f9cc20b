"""Benchmark our product API against the textbook DRF catalogue and the raw floor, with wrk.

    DATABASE_URL=postgres://... python benchmarks/run.py [--duration 30] [--rounds 3]
        [--scenarios list,detail,...] [--output benchmarks/results-M.md]

(``make bench SIZE=S|M`` prepares a database and runs this.) Three servers, each under gunicorn
with the project's gunicorn.conf.py (only the bind address, the app and the logs changed):

- ours: ``project.wsgi`` with ``benchmarks.settings`` (prod settings, plain HTTP on localhost);
- textbook: ``benchmarks/textbook`` (nested serializers, per-row queries, exact counts);
- floor: ``benchmarks/floor/app.py`` (bare WSGI, one prepared statement, orjson).

From the database it builds seeded request lists (category pages, product ids, cursor pages half
the catalogue deep and page one, a search mix, facet pages), checks that the three servers
answer list and detail requests with the same JSON (and stops if not), then per scenario runs
wrk (random path per request, ``benchmarks/wrk_paths.lua``) against each server in turn,
A/B/A/B for ``--rounds`` rounds, and reports the medians: requests per second, p50 and p99
latency, errors, SQL queries per request (counted in process for ours and the textbook, by the
floor itself), statements per request as PostgreSQL counted them (transactions, so including
connection checks), the peak RSS of a gunicorn worker, worker restarts, and ours as a ratio of
each comparator; then the issue's targets, met or not.

Uncached scenarios run ours with ``BENCH_RESPONSE_CACHE=off``; ``etag-304`` and ``list-cached``
run it with the response cache on (production's configuration). The floor never caches.
"""

import argparse
import base64
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DATABASE_URL"):
    sys.exit("Set DATABASE_URL to the benchmark's database (make bench does).")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
# In this process, query counts measure the work of building a response, uncached.
os.environ["BENCH_RESPONSE_CACHE"] = "off"

import django

django.setup()

import psutil  # type: ignore[import-untyped]  # no stubs installed
import redis
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from apps.products.models import Product

LIST_PATH = "/api/v1/products/"
PAGE_SIZE = 24
HOST = "localhost"
WRK_SCRIPT = ROOT / "benchmarks" / "wrk_paths.lua"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"

GUNICORN_CONFIG = """\
# Written by benchmarks/run.py: the project's gunicorn.conf.py, then only these changes.
exec(compile(open({conf!r}).read(), {conf!r}, "exec"))
bind = {bind!r}
wsgi_app = {app!r}
accesslog = None
errorlog = {errorlog!r}
loglevel = "info"
"""

# name: (WSGI app, environment)
SERVERS: dict[str, tuple[str, dict[str, str]]] = {
    "ours": (
        "project.wsgi:application",
        {"DJANGO_SETTINGS_MODULE": "benchmarks.settings", "BENCH_RESPONSE_CACHE": "off"},
    ),
    "ours-cached": (
        "project.wsgi:application",
        {"DJANGO_SETTINGS_MODULE": "benchmarks.settings", "BENCH_RESPONSE_CACHE": "on"},
    ),
    "textbook": (
        "project.wsgi:application",
        {"DJANGO_SETTINGS_MODULE": "benchmarks.textbook.settings", "BENCH_RESPONSE_CACHE": "off"},
    ),
    "floor": ("benchmarks.floor.app:application", {}),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    paths: str
    servers: tuple[str, ...]
    description: str
    etag: bool = False
    same_json: bool = False  # every server must answer with ours' JSON


SCENARIOS = [
    Scenario(
        "list",
        "list",
        ("ours", "floor", "textbook"),
        "category pages of 24 (leaf and mid-level categories, pages 1-3)",
        same_json=True,
    ),
    Scenario(
        "detail", "detail", ("ours", "floor", "textbook"), "product pages by id", same_json=True
    ),
    Scenario("cursor-first", "cursor_first", ("ours",), "cursor page one, newest first"),
    Scenario("cursor-deep", "cursor_deep", ("ours",), "cursor pages half the catalogue deep"),
    Scenario("search", "search", ("ours",), "search mix: rare, common, two-word, misspelled"),
    Scenario("search-misspelled", "search_misspelled", ("ours",), "misspelled search terms"),
    Scenario("facets", "facets", ("ours",), "category pages with facets=true"),
    Scenario(
        "etag-304",
        "etag",
        ("ours-cached", "floor", "textbook"),
        "list and detail with If-None-Match (floor: uncached 200s)",
        etag=True,
        same_json=True,
    ),
    Scenario(
        "list-cached",
        "list_hot",
        ("ours-cached", "floor"),
        "20 hot category pages, ours' response cache on (floor: uncached)",
        same_json=True,
    ),
]


class BenchmarkError(Exception):
    pass


# --- Request lists -------------------------------------------------------------------------


def list_path(slug: str, page: int = 1, **extra: str) -> str:
    path = f"{LIST_PATH}?category={slug}&page_size={PAGE_SIZE}"
    if page > 1:
        path += f"&page={page}"
    return path + "".join(f"&{key}={value}" for key, value in extra.items())


def category_counts() -> list[dict[str, Any]]:
    """Return active categories with their depth, leaf flag and active products in the subtree
    (what the list counts: active products whose own category is active)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, slug, path, is_active, parent_id FROM products_category")
        categories = cursor.fetchall()
        cursor.execute(
            "SELECT category_id, count(*) FROM products_product WHERE is_active GROUP BY 1"
        )
        own = dict(cursor.fetchall())
    totals: dict[int, int] = {}
    parents = {row[4] for row in categories if row[4] is not None}
    for category_id, _slug, path, is_active, _parent in categories:
        if is_active and own.get(category_id):
            for ancestor in (int(part) for part in path.strip("/").split("/")):
                totals[ancestor] = totals.get(ancestor, 0) + own[category_id]
    return sorted(
        (
            {
                "id": category_id,
                "slug": slug,
                "depth": path.count("/") - 2,
                "leaf": category_id not in parents,
                "count": totals.get(category_id, 0),
            }
            for category_id, slug, path, is_active, _parent in categories
            if is_active
        ),
        key=lambda category: category["id"],
    )


def category_pages(rng: random.Random, categories: list[dict[str, Any]], count: int) -> list[str]:
    chosen = rng.sample(categories, min(count, len(categories)))
    pages = []
    for category in chosen:
        last = max(1, -(-category["count"] // PAGE_SIZE))
        pages.append(list_path(category["slug"], rng.randint(1, min(3, last))))
    return pages


def cursor_token(ordering: list[str], values: list[Any]) -> str:
    """Encode a cursor as apps.core.pagination does (checked against the API below)."""
    return base64.urlsafe_b64encode(json.dumps({"o": ordering, "v": values}).encode()).decode()


def cursor_value(value: Any) -> Any:
    if isinstance(value, int | float | str) or value is None:
        return value
    return str(value)


def deep_cursors(rng: random.Random, client: Client, depth: int, count: int) -> list[str]:
    """Return cursor pages that start ``depth`` (+-0.1%) rows deep, newest first."""
    first = client.get(f"{LIST_PATH}?cursor=&page_size=1", HTTP_HOST=HOST)
    next_link = first.json().get("next") or ""
    token = re.search(r"cursor=([^&]+)", next_link)
    if first.status_code != 200 or token is None:
        raise BenchmarkError(f"cursor page one: {first.status_code} {first.content[:200]!r}")
    try:
        padded = unquote(token.group(1))
        ordering = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError) as error:
        raise BenchmarkError(f"the cursor format changed; update run.py ({error})") from error
    keys = [key.lstrip("-") for key in ordering]
    spread = max(count, depth // 1000)
    # Rows depth-spread .. depth+spread of the API's ordering, read once (an OFFSET scan).
    window = list(
        Product.objects.active()
        .order_by(*ordering)
        .values(*dict.fromkeys(["id", *keys]))[depth - spread - 1 : depth + spread + 1]
    )
    paths = []
    for offset in sorted(rng.sample(range(len(window) - 1), count)):
        row = window[offset]
        token_text = cursor_token(ordering, [cursor_value(row[key]) for key in keys])
        paths.append(f"{LIST_PATH}?cursor={quote(token_text)}&page_size={PAGE_SIZE}")
        if len(paths) == 1:  # the API must continue right after that row
            expected = window[offset + 1]["id"]
            response = client.get(paths[0], HTTP_HOST=HOST)
            got = response.json()["results"][0]["id"] if response.status_code == 200 else None
            if got != expected:
                raise BenchmarkError(
                    f"a cursor {depth - spread + offset} rows deep starts at product {got}, "
                    f"expected {expected}: the cursor encoding changed; update run.py"
                )
    return paths


def misspell(word: str, rng: random.Random, lexicon: set[str]) -> str | None:
    for _ in range(10):
        index = rng.randrange(1, len(word) - 1)
        candidate = word[:index] + word[index + 1 :]
        if candidate not in lexicon:
            return candidate
    return None


def search_terms(rng: random.Random) -> dict[str, list[str]]:
    """Return search terms drawn from the catalogue itself, by kind."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM products_searchterm ORDER BY word")
        lexicon = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT name, sku FROM products_product WHERE is_active ORDER BY id LIMIT 5000"
        )
        products = cursor.fetchall()
    known = set(lexicon)
    sample = rng.sample(products, min(200, len(products)))
    two_word = []
    for name, _sku in sample[:10]:
        words = name.lower().split()
        start = rng.randrange(0, max(1, len(words) - 1))
        two_word.append(" ".join(words[start : start + 2]))
    long_words = [word for word in lexicon if len(word) >= 6 and word.isalpha()]
    preferred = [word for word in ("headphones", "bamboo", "wireless") if word in known]
    misspelled = [
        {"headphones": "hedphones", "bamboo": "bambo", "wireless": "wireles"}[word]
        for word in preferred
    ]
    for word in rng.sample(long_words, min(len(long_words), 20)):
        candidate = misspell(word, rng, known)
        if candidate and candidate not in misspelled and len(misspelled) < 8:
            misspelled.append(candidate)
    if "hedphones" in misspelled and "wireless" in known:
        misspelled.append("wireles hedphones")
    common_name_words = [name.split()[0].lower() for name, _sku in sample[10:13]]
    return {
        "rare": [sku for _name, sku in sample[20:30]],
        "common": ["made"] * 4 + common_name_words * 2,
        "two_word": two_word,
        "misspelled": misspelled,
    }


def search_path(term: str) -> str:
    return f"{LIST_PATH}?search={quote(term)}&page_size={PAGE_SIZE}"


def build_requests(seed: int, client: Client) -> tuple[dict[str, list[str]], dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311  # reproducible request lists, not secrets
    categories = category_counts()
    active = sum(category["count"] for category in categories if category["depth"] == 0)
    leaves = [c for c in categories if c["leaf"] and c["count"]]
    middle = [c for c in categories if not c["leaf"] and c["depth"] > 0 and c["count"]]
    roots = [c for c in categories if c["depth"] == 0 and c["count"]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM products_product p JOIN products_category c ON c.id = p.category_id"
            " WHERE p.is_active AND c.is_active ORDER BY p.id"
        )
        product_ids = [row[0] for row in cursor.fetchall()]
    terms = search_terms(rng)
    requests = {
        "list": category_pages(rng, leaves, 300) + category_pages(rng, middle, 100),
        "detail": [f"{LIST_PATH}{pk}/" for pk in rng.sample(product_ids, 1000)],
        "cursor_first": [f"{LIST_PATH}?cursor=&page_size={PAGE_SIZE}"],
        "cursor_deep": deep_cursors(rng, client, len(product_ids) // 2, 50),
        "search": [search_path(term) for kind in terms.values() for term in kind],
        "search_misspelled": [search_path(term) for term in terms["misspelled"]],
        "facets": [
            list_path(category["slug"], facets="true")
            for category in rng.sample(leaves, 50)
            + rng.sample(middle, min(40, len(middle)))
            + rng.sample(roots, min(10, len(roots)))
        ],
    }
    requests["etag"] = requests["list"][:50] + requests["detail"][:50]
    requests["list_hot"] = requests["list"][:20]
    facts = {
        "active_products": len(product_ids),
        "active_in_categories": active,
        "cursor_depth": len(product_ids) // 2,
        "search_terms": terms,
    }
    return requests, facts


# --- In-process query counts ---------------------------------------------------------------


def count_queries(client: Client, path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_HOST=HOST)
    return response.status_code, len(queries)


def query_counts(client: Client, paths: list[str], *, textbook: bool = False) -> int:
    counts = []
    for path in paths:
        if textbook:
            with override_settings(ROOT_URLCONF="benchmarks.textbook.urls"):
                status, queries = count_queries(client, path)
        else:
            client.get(path, HTTP_HOST=HOST)  # a warm connection, as in a worker
            status, queries = count_queries(client, path)
        if status != 200:
            raise BenchmarkError(f"{path}: {status} in process")
        counts.append(queries)
    return max(counts)


def query_invariance(client: Client, requests: dict[str, list[str]]) -> dict[str, list[int]]:
    """Return ours' query counts per kind of request, at several page sizes and depths."""
    slug = re.search(r"category=([^&]+)", requests["list"][-1])
    assert slug is not None
    groups = {
        "list": [
            f"{LIST_PATH}?category={slug.group(1)}&page_size={size}&page={page}"
            for size in (1, 24, 100)
            for page in (1, 2)
        ],
        "cursor": [
            *(f"{LIST_PATH}?cursor=&page_size={size}" for size in (1, 24, 100)),
            *requests["cursor_deep"][:3],
        ],
        "detail": requests["detail"][:5],
    }
    found: dict[str, list[int]] = {}
    for kind, paths in groups.items():
        found[kind] = []
        for path in paths:
            client.get(path, HTTP_HOST=HOST)
            status, queries = count_queries(client, path)
            if status != 200:
                raise BenchmarkError(f"{path}: {status} in process")
            found[kind].append(queries)
    return found


# --- Servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def errorlog(self) -> Path:
        return self.workdir / f"{self.name}-{self.port}.log"

    def start(self) -> None:
        app, environment = SERVERS[self.name]
        config = self.workdir / f"{self.name}-{self.port}.conf.py"
        config.write_text(
            GUNICORN_CONFIG.format(
                conf=str(GUNICORN_CONF),
                bind=f"127.0.0.1:{self.port}",
                app=app,
                errorlog=str(self.errorlog),
            )
        )
        env = {
            **os.environ,
            **environment,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "REDIS_URL": os.environ["REDIS_URL"],
        }
        self.process = subprocess.Popen(  # noqa: S603  # our own command line
            [sys.executable, "-m", "gunicorn", "-c", str(config)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchmarkError(f"{self.name} exited; see {self.errorlog}")
            with contextlib.suppress(OSError):
                status, _headers, _body = fetch(self.url + path)
                if status == 200:
                    return
            time.sleep(0.3)
        raise BenchmarkError(f"{self.name} not ready after {timeout} s; see {self.errorlog}")

    def workers(self) -> list[psutil.Process]:
        assert self.process is not None
        with contextlib.suppress(psutil.Error):
            return psutil.Process(self.process.pid).children()
        return []

    def boots(self) -> int:
        if not self.errorlog.exists():
            return 0
        return self.errorlog.read_text(errors="replace").count("Booting worker")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(  # noqa: S310  # http://127.0.0.1 only
        url, headers={"Host": HOST, "Accept": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class RssSampler(threading.Thread):
    """Sample the resident memory of a server's workers until stopped; keep the peak."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak = 0
        self.running = threading.Event()
        self.running.set()

    def run(self) -> None:
        while self.running.is_set():
            self.sample()
            time.sleep(0.2)

    def sample(self) -> None:
        for worker in self.server.workers():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, worker.memory_info().rss)

    def stop(self) -> int:
        self.sample()
        self.running.clear()
        self.join()
        for worker in self.server.workers():  # the high-water mark of workers still alive
            with contextlib.suppress(OSError, ValueError):
                status = Path(f"/proc/{worker.pid}/status").read_text()
                match = re.search(r"VmHWM:\s+(\d+) kB", status)
                if match:
                    self.peak = max(self.peak, int(match.group(1)) * 1024)
        return self.peak


# --- Verification --------------------------------------------------------------------------


def first_difference(left: Any, right: Any, where: str = "") -> str | None:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                return f"{where}.{key}: only in {'ours' if key in left else 'theirs'}"
            found = first_difference(left[key], right[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{where}: {len(left)} items against {len(right)}"
        for index, (one, other) in enumerate(zip(left, right, strict=True)):
            found = first_difference(one, other, f"{where}[{index}]")
            if found:
                return found
        return None
    return None if left == right else f"{where}: {left!r} against {right!r}"


def verify(scenario: Scenario, servers: dict[str, Server], paths: list[str]) -> dict[str, int]:
    """Check that every server answers like ours; return the floor's statements per request."""
    reference = servers[scenario.servers[0]]
    floor_queries = 0
    sample = paths[:: max(1, len(paths) // 12)][:12]
    for path in sample:
        status, _headers, body = fetch(reference.url + path)
        if status != 200:
            raise BenchmarkError(f"{reference.name} {path}: {status} {body[:300]!r}")
        ours = json.loads(body)
        if scenario.paths == "search_misspelled" and ours.get("search", {}).get("mode") != (
            "corrected"
        ):
            print(f"  note: {path} was not corrected: {ours.get('search')}", file=sys.stderr)
        for name in scenario.servers[1:] if scenario.same_json else ():
            status, headers, body = fetch(servers[name].url + path)
            if status != 200:
                raise BenchmarkError(f"{name} {path}: {status} {body[:300]!r}")
            theirs = json.loads(body)
            expected = ours
            if name == "textbook" and ours.get("count_is_estimate"):
                # The textbook counts exactly; ours estimates past API_EXACT_COUNT_LIMIT.
                expected = {**ours, "count": theirs.get("count"), "count_is_estimate": False}
            difference = first_difference(expected, theirs)
            if difference:
                raise BenchmarkError(f"{name} differs from ours on {path}: {difference}")
            if name == "floor":
                floor_queries = max(floor_queries, int(headers.get("X-SQL-Queries", "0")))
    return {"floor": floor_queries}


def etag_lines(server: Server, paths: list[str]) -> list[str]:
    lines = []
    for path in paths:
        status, headers, _body = fetch(server.url + path)
        etag = headers.get("ETag")
        if status != 200:
            raise BenchmarkError(f"{server.name} {path}: {status}")
        lines.append(f"{path}\t{etag}" if etag else path)
    if any("\t" in line for line in lines):
        path, etag = lines[0].split("\t")
        status, _headers, _body = fetch(server.url + path, **{"If-None-Match": etag})
        if status != 304:
            print(f"  note: {server.name} answered {status} to a matching ETag", file=sys.stderr)
    return lines


# --- wrk -----------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchmarkError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


@dataclass
class Run:
    requests_per_second: float
    p50: float
    p99: float
    requests: int
    errors: int
    rss: int = 0
    boots: int = 0
    statements: float | None = None
    cache_keys: int = 0


def parse_wrk(output: str) -> Run:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and total):
        raise BenchmarkError(f"unreadable wrk output:\n{output}")
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(number) for number in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return Run(
        float(rps.group(1)),
        milliseconds(p50.group(1)),
        milliseconds(p99.group(1)),
        int(total.group(1)),
        errors,
    )


def wrk(server: Server, paths_file: Path, seconds: int, seed: int, args: argparse.Namespace) -> str:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        server.url,
    ]
    env = {**os.environ, "WRK_PATHS": str(paths_file), "WRK_SEED": str(seed)}
    result = subprocess.run(  # noqa: S603  # our own command line
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BenchmarkError(f"wrk failed: {result.stderr}")
    return result.stdout


def database_transactions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def response_cache_keys(cache: redis.Redis) -> int:
    return sum(1 for key in cache.scan_iter(count=1000) if b"throttle" not in key)


# A backend that goes idle within a second of its last report of statistics defers the next one
# by PGSTAT_IDLE_INTERVAL (10 s): only after that are PostgreSQL's counters complete.
STATISTICS_SETTLE_SECONDS = 10.5


def timed_run(
    server: Server,
    paths_file: Path,
    seed: int,
    args: argparse.Namespace,
    cache: redis.Redis,
    *,
    count_statements: bool,
) -> Run:
    """Warm up, then time one wrk run; with ``count_statements``, wait for PostgreSQL's
    counters to settle before and after it, to count the statements it caused."""
    if server.name != "ours-cached":
        cache.flushdb()  # bench's own Redis database: throttle histories and nothing else
    wrk(server, paths_file, args.warmup, seed + 7919, args)
    if count_statements:
        time.sleep(STATISTICS_SETTLE_SECONDS)
    boots_before = server.boots()
    transactions_before = database_transactions()
    sampler = RssSampler(server)
    sampler.start()
    try:
        output = wrk(server, paths_file, args.duration, seed, args)
    finally:
        peak = sampler.stop()
    run = parse_wrk(output)
    run.rss = peak
    run.boots = server.boots() - boots_before
    if count_statements:
        time.sleep(STATISTICS_SETTLE_SECONDS)
        # Less the runner's own reading of the counter.
        transactions = database_transactions() - transactions_before - 1
        run.statements = transactions / max(run.requests, 1)
    run.cache_keys = response_cache_keys(cache) if server.name == "ours" else 0
    return run


# --- Report --------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: Scenario
    server: str
    runs: list[Run] = field(default_factory=list)
    queries: int | None = None

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def rss_mb(self) -> float:
        return max(run.rss for run in self.runs) / 2**20

    @property
    def statements(self) -> float:
        counted = [run.statements for run in self.runs if run.statements is not None]
        return statistics.median(counted) if counted else 0.0


def ratio(results: dict[tuple[str, str], Result], scenario: str, of: str) -> float | None:
    ours = results.get((scenario, "ours")) or results.get((scenario, "ours-cached"))
    other = results.get((scenario, of))
    if not ours or not other or not other.runs:
        return None
    return ours.median("requests_per_second") / other.median("requests_per_second")


def table(results: dict[tuple[str, str], Result]) -> list[str]:
    lines = [
        "| scenario | server | req/s | p50 ms | p99 ms | errors | SQL queries/req "
        "| PostgreSQL statements/req | peak RSS/worker MB | worker restarts "
        "| ours/floor | ours/textbook |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (scenario, server), result in results.items():
        ours = server.startswith("ours")
        floor_ratio = ratio(results, scenario, "floor") if ours else None
        textbook_ratio = ratio(results, scenario, "textbook") if ours else None
        lines.append(
            f"| {scenario} | {server} | {result.median('requests_per_second'):,.0f} "
            f"| {result.median('p50'):.1f} | {result.median('p99'):.1f} | {result.errors} "
            f"| {'-' if result.queries is None else result.queries} "
            f"| {result.statements:.2f} | {result.rss_mb:.0f} "
            f"| {sum(run.boots for run in result.runs)} "
            f"| {'' if floor_ratio is None else f'{floor_ratio:.2f}x'} "
            f"| {'' if textbook_ratio is None else f'{textbook_ratio:.1f}x'} |"
        )
    return lines


def targets(results: dict[tuple[str, str], Result], invariance: dict[str, list[int]]) -> list[str]:
    rows: list[tuple[str, str, str, bool | None]] = []

    def get(scenario: str, server: str = "ours") -> Result | None:
        return results.get((scenario, server))

    for scenario in ("list", "detail"):
        ours = get(scenario)
        if ours is None:
            continue
        for of, minimum in (("floor", 0.6), ("textbook", 25.0)):
            value = ratio(results, scenario, of)
            if value is not None:
                rows.append(
                    (
                        f"{scenario}: ours/{of} req/s",
                        f">= {minimum}x",
                        f"{value:.2f}x",
                        value >= minimum,
                    )
                )
        p99 = ours.median("p99")
        rows.append((f"{scenario}: p99", "<= 25 ms", f"{p99:.1f} ms", p99 <= 25))
    first, deep = get("cursor-first"), get("cursor-deep")
    if first and deep:
        for attribute in ("p50", "p99"):
            value = deep.median(attribute) / first.median(attribute)
            rows.append(
                (f"cursor deep/page one {attribute}", "<= 1.2x", f"{value:.2f}x", value <= 1.2)
            )
    for scenario, limit in (("search", 50), ("search-misspelled", 30), ("facets", 60)):
        result = get(scenario)
        if result:
            p99 = result.median("p99")
            rows.append((f"{scenario}: p99", f"< {limit} ms", f"{p99:.1f} ms", p99 < limit))
    for kind, limit, label in (
        ("list", 2, "category list, page sizes 1/24/100, pages 1-2"),
        ("cursor", 2, "cursor list, page sizes 1/24/100, page one and deep"),
        ("detail", 3, "detail"),
    ):
        counts = sorted(set(invariance.get(kind, [])))
        rows.append(
            (
                f"SQL queries, {label}",
                f"<= {limit}, constant",
                ", ".join(map(str, counts)),
                bool(counts) and max(counts) <= limit and len(counts) == 1,
            )
        )
    peaks = [result.rss_mb for (_s, server), result in results.items() if server.startswith("ours")]
    if peaks:
        rows.append(
            (
                "peak RSS per worker (ours, any scenario)",
                "<= 80 MB",
                f"{max(peaks):.0f} MB",
                max(peaks) <= 80,
            )
        )
    for scenario in ("etag-304", "list-cached"):
        value = ratio(results, scenario, "floor")
        if value is not None:
            rows.append(
                (f"{scenario}: ours/floor uncached req/s", ">= 1.0x", f"{value:.2f}x", value >= 1.0)
            )
    lines = ["| target | wanted | measured | met |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {name} | {wanted} | {measured} | {'yes' if met else 'NO'} |"
        for name, wanted, measured, met in rows
    ]
    return lines


def environment_lines(args: argparse.Namespace, facts: dict[str, Any]) -> list[str]:
    def command_output(*command: str) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(  # noqa: S603  # fixed command lines
                list(command), capture_output=True, text=True, check=False, cwd=ROOT
            )
            lines = (result.stdout or result.stderr).strip().splitlines()
            return lines[0] if lines else ""
        return "?"

    commit = command_output("git", "rev-parse", "--short", "HEAD")
    dirty = command_output("git", "status", "--porcelain") not in ("", "?")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM products_product")
        products = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM reviews_review")
        reviews = cursor.fetchone()[0]
    workers_line = command_output(
        sys.executable,
        "-c",
        f"exec(open({str(GUNICORN_CONF)!r}).read()); print(workers, worker_class, max_requests)",
    )
    return [
        f"- command: `{' '.join(sys.argv)}`",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}"
        + (" with uncommitted changes" if dirty else ""),
        f"- machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"PostgreSQL {server_version}; {command_output('wrk', '--version').split(' Copyright')[0]}",
        f"- catalogue: {products:,} products ({facts['active_products']:,} shown), "
        f"{reviews:,} reviews",
        f"- gunicorn (workers, class, max_requests): {workers_line}; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s, warm-up {args.warmup} s, {args.rounds} "
        f"round(s), seed {args.seed}",
        f"- cursor pages start {facts['cursor_depth']:,} rows deep",
        f"- search terms: {json.dumps(facts['search_terms'])}",
    ]


# --- Main ----------------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=None, help="seconds (default: duration/3)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = max(2, min(10, args.duration // 3))
    known = {scenario.name for scenario in SCENARIOS}
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - known
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {sorted(known)}")
    return args


def measure_queries(
    client: Client, scenarios: list[Scenario], requests: dict[str, list[str]]
) -> dict[tuple[str, str], Result]:
    """Return a result per scenario and server, with ours' and the textbook's query counts."""
    results: dict[tuple[str, str], Result] = {}
    for scenario in scenarios:
        paths = requests[scenario.paths]
        sample = paths[:: max(1, len(paths) // 5)][:5]
        for name in scenario.servers:
            result = results[(scenario.name, name)] = Result(scenario, name)
            if name == "textbook":
                result.queries = query_counts(client, sample, textbook=True)
            elif name.startswith("ours"):
                result.queries = query_counts(client, sample)
    return results


def run_scenario(
    scenario: Scenario,
    requests: dict[str, list[str]],
    results: dict[tuple[str, str], Result],
    args: argparse.Namespace,
    workdir: Path,
) -> None:
    """Start the scenario's servers, check their answers, then time them A/B/A/B."""
    print(f"Scenario {scenario.name}: {scenario.description}", file=sys.stderr)
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    servers = {name: Server(name, free_port(), workdir) for name in scenario.servers}
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_ready(requests["detail"][0])
        floor = verify(scenario, servers, requests[scenario.paths])
        if "floor" in servers:
            results[(scenario.name, "floor")].queries = floor["floor"]
        files = {}
        for name, server in servers.items():
            files[name] = workdir / f"{scenario.name}-{name}.txt"
            lines = requests[scenario.paths]
            if scenario.etag:
                lines = etag_lines(server, lines)
            files[name].write_text("\n".join(lines) + "\n")
        for round_number in range(args.rounds):
            for name, server in servers.items():
                run = timed_run(
                    server,
                    files[name],
                    args.seed + round_number,
                    args,
                    cache,
                    count_statements=round_number == 0,  # once: the wait is long
                )
                results[(scenario.name, name)].runs.append(run)
                print(
                    f"  round {round_number + 1} {name}: {run.requests_per_second:,.0f} req/s, "
                    f"p50 {run.p50:.1f} ms, p99 {run.p99:.1f} ms, {run.errors} errors, "
                    f"RSS {run.rss / 2**20:.0f} MB, {run.boots} restarts",
                    file=sys.stderr,
                )
                if run.cache_keys:
                    print(
                        f"  WARNING: {run.cache_keys} response-cache keys in Redis after an "
                        "uncached run: the API ignores BENCH_RESPONSE_CACHE=off "
                        "(see benchmarks/settings.py)",
                        file=sys.stderr,
                    )
    finally:
        for server in servers.values():
            server.stop()


def report(
    args: argparse.Namespace,
    facts: dict[str, Any],
    results: dict[tuple[str, str], Result],
    invariance: dict[str, list[int]],
) -> str:
    return "\n".join(
        [
            "## Benchmark",
            "",
            *environment_lines(args, facts),
            "",
            "Medians of the rounds; errors are non-2xx/3xx responses and socket errors, summed. "
            "SQL queries/req: the most in a sample of the scenario's requests, counted in "
            "process for ours and the textbook (uncached), by the floor itself. PostgreSQL "
            "statements/req: transactions PostgreSQL counted during the run over the requests "
            "served, so they include connection checks and new workers' connection set-up "
            "(counted in the first round, after waiting for PostgreSQL's counters to settle).",
            "",
            *table(results),
            "",
            "Per run (req/s, p99 ms):",
            "",
            *(
                f"- {scenario} {server}: "
                + "; ".join(
                    f"{run.requests_per_second:,.0f} ({run.p99:.1f})" for run in result.runs
                )
                for (scenario, server), result in results.items()
            ),
            "",
            "### Targets (issue 6)",
            "",
            *targets(results, invariance),
            "",
        ]
    )


def main() -> None:
    args = parse_arguments()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk, or make bench).")
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    # Errors come back as responses (500s), so that a broken request is reported, not raised.
    client = Client(raise_request_exception=False)
    workdir = Path(tempfile.mkdtemp(prefix="catalogue-bench-"))
    scenarios = [scenario for scenario in SCENARIOS if scenario.name in args.scenarios]
    try:
        print("Building request lists ...", file=sys.stderr)
        requests, facts = build_requests(args.seed, client)
        for name, paths in requests.items():
            (workdir / f"{name}.txt").write_text("\n".join(paths) + "\n")
        print("Counting SQL queries in process ...", file=sys.stderr)
        invariance = query_invariance(client, requests)
        results = measure_queries(client, scenarios, requests)
        for scenario in scenarios:
            run_scenario(scenario, requests, results, args, workdir)
    except BenchmarkError as error:
        sys.exit(f"FAILED: {error}\n(request lists and server logs are in {workdir})")
    text = report(args, facts, results, invariance)
    print(text)
    if args.output:
        args.output.write_text(text)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
