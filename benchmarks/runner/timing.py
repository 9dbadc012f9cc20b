"""One scenario timed: its servers started and checked, then wrk against each in turn, A/B/A/B,
with each run's memory, worker restarts and PostgreSQL statements."""

import os
import sys
import time
from pathlib import Path

import redis
from django.db import connection

from .errors import BenchmarkError
from .options import Options
from .results import Results
from .scenarios import Scenario
from .servers import WITHOUT_DETAIL, RssSampler, Server, free_port
from .verify import etag_lines, verify
from .wrk import Run, parse_wrk, run_wrk

# A backend that goes idle within a second of its last report of statistics defers the next one
# by PGSTAT_IDLE_INTERVAL (10 s): only after that are PostgreSQL's counters complete.
STATISTICS_SETTLE_SECONDS = 10.5


def run_scenario(
    scenario: Scenario,
    requests: dict[str, list[str]],
    results: Results,
    options: Options,
    workdir: Path,
) -> None:
    """Start the scenario's servers, check their answers, then time them A/B/A/B."""
    print(f"Scenario {scenario.name}: {scenario.description}", file=sys.stderr)
    if not requests[scenario.paths]:
        raise BenchmarkError(
            f"no requests for {scenario.name}: the catalogue has no typed products "
            "(generate it again with benchmarks/generate_catalogue.py)"
        )
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    servers = {name: Server(name, free_port(), workdir) for name in scenario.servers}

    def ready_path(name: str) -> str:
        return requests[scenario.paths][0] if name in WITHOUT_DETAIL else requests["detail"][0]

    try:
        for server in servers.values():
            server.start()
        for name, server in servers.items():
            server.wait_ready(ready_path(name))
        # The comparators count their own statements (X-SQL-Queries).
        for name, queries in verify(scenario, servers, requests[scenario.paths]).items():
            results[(scenario.name, name)].queries = queries
        files = {}
        for name, server in servers.items():
            files[name] = workdir / f"{scenario.name}-{name}.txt"
            lines = requests[scenario.paths]
            if scenario.etag:
                lines = etag_lines(server, lines)
            files[name].write_text("\n".join(lines) + "\n")
        for round_number in range(options.rounds):
            for name, server in servers.items():
                run = timed_run(
                    server,
                    files[name],
                    options.seed + round_number,
                    options,
                    cache,
                    count_statements=round_number == 0,  # once: the wait is long
                )
                results[(scenario.name, name)].runs.append(run)
                # Afresh for its next run: wrk leaves the requests it gave up on queued at the
                # server (a comparator's department facets take minutes each), which would go
                # on taking the CPUs from the next server's run.
                server.stop()
                server.start()
                server.wait_listening()
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


def timed_run(
    server: Server,
    paths_file: Path,
    seed: int,
    options: Options,
    cache: redis.Redis,
    *,
    count_statements: bool,
) -> Run:
    """Warm up, then time one wrk run; with ``count_statements``, wait for PostgreSQL's
    counters to settle before and after it, to count the statements it caused."""
    if server.name != "ours-cached":
        cache.flushdb()  # bench's own Redis database: throttle histories and nothing else
    run_wrk(
        server.url,
        paths_file,
        seconds=options.warmup,
        seed=seed + 7919,
        threads=options.threads,
        connections=options.connections,
    )
    if count_statements:
        time.sleep(STATISTICS_SETTLE_SECONDS)
    boots_before = server.boots()
    transactions_before = database_transactions()
    sampler = RssSampler(server)
    sampler.start()
    try:
        output = run_wrk(
            server.url,
            paths_file,
            seconds=options.duration,
            seed=seed,
            threads=options.threads,
            connections=options.connections,
        )
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


def database_transactions() -> int:
    """Return the transactions PostgreSQL has counted in this database (one per statement in
    autocommit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def response_cache_keys(cache: redis.Redis) -> int:
    """Return the keys in the benchmark's Redis database other than the throttles'."""
    return sum(1 for key in cache.scan_iter(count=1000) if b"throttle" not in key)
