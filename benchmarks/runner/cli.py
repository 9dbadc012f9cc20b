"""The runner's entry point: set up, build the request lists, count queries, time each
scenario, report."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import django
import psycopg
import redis
from django.test import Client

from benchmarks.eav.tables import build_side_tables

from .errors import BenchmarkError
from .options import parse_options
from .paths import build_requests
from .queries import measure_queries, query_invariance
from .report import report
from .scenarios import SCENARIOS
from .targets import TARGETS_FILE, judge, load_targets
from .timing import run_scenario


def main() -> None:
    """Run the benchmark the command line asks for; print the report (and write it with
    ``--output``)."""
    options = parse_options()
    try:
        targets = load_targets()
    except ValueError as error:
        sys.exit(f"{TARGETS_FILE}: {error}")
    set_up_django()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk, or make bench).")
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    # Errors come back as responses (500s), so that a broken request is reported, not raised.
    client = Client(raise_request_exception=False)
    workdir = Path(tempfile.mkdtemp(prefix="catalogue-bench-"))
    scenarios = [scenario for scenario in SCENARIOS if scenario.name in options.scenarios]
    try:
        if any("eav" in scenario.servers for scenario in scenarios):
            print("Writing the EAV comparator's side tables ...", file=sys.stderr)
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
                build_side_tables(connection)
        print("Building request lists ...", file=sys.stderr)
        requests, facts = build_requests(options.seed, client)
        for name, paths in requests.items():
            (workdir / f"{name}.txt").write_text("\n".join(paths) + "\n")
        print("Counting SQL queries in process ...", file=sys.stderr)
        invariance = query_invariance(client, requests)
        results = measure_queries(client, scenarios, requests)
        for scenario in scenarios:
            run_scenario(scenario, requests, results, options, workdir)
    except BenchmarkError as error:
        sys.exit(f"FAILED: {error}\n(request lists and server logs are in {workdir})")
    text = report(options, facts, results, judge(targets, results, invariance))
    print(text)
    if options.output:
        options.output.write_text(text)
    shutil.rmtree(workdir, ignore_errors=True)


def set_up_django() -> None:
    """Point Django, and the servers started later, at the benchmark's settings, database and
    Redis; then set Django up."""
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to the benchmark's database (make bench does).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
    # In this process, query counts measure the work of building a response, uncached.
    os.environ["BENCH_RESPONSE_CACHE"] = "off"
    django.setup()
