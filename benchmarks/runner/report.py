"""The report, in Markdown: the environment, the results table, each run, and the targets."""

import contextlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs installed
from django.db import connection

from .options import Options
from .results import Results, ratio, times
from .servers import GUNICORN_CONF, ROOT
from .targets import Judgement


def report(
    options: Options, facts: dict[str, Any], results: Results, judgements: list[Judgement]
) -> str:
    """Return the report of a benchmark run."""
    return "\n".join(
        [
            "## Benchmark",
            "",
            *environment_lines(options, facts),
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
            *targets_table(judgements),
            "",
        ]
    )


def environment_lines(options: Options, facts: dict[str, Any]) -> list[str]:
    """Return the report's first lines: the command, commit, machine, catalogue and settings."""
    commit = first_line_of("git", "rev-parse", "--short", "HEAD")
    dirty = first_line_of("git", "status", "--porcelain") not in ("", "?")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM products_product")
        products = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM reviews_review")
        reviews = cursor.fetchone()[0]
    workers_line = first_line_of(
        sys.executable,
        "-c",
        f"exec(open({str(GUNICORN_CONF)!r}).read()); print(workers, worker_class, max_requests)",
    )
    return [
        f"- command: `{' '.join(sys.argv)}`",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}"
        + (" with uncommitted changes" if dirty else ""),
        f"- machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"PostgreSQL {server_version}; {first_line_of('wrk', '--version').split(' Copyright')[0]}",
        f"- catalogue: {products:,} products ({facts['active_products']:,} shown), "
        f"{reviews:,} reviews",
        f"- gunicorn (workers, class, max_requests): {workers_line}; wrk -t{options.threads} "
        f"-c{options.connections} -d{options.duration}s, warm-up {options.warmup} s, "
        f"{options.rounds} round(s), seed {options.seed}",
        f"- cursor pages start {facts['cursor_depth']:,} rows deep",
        f"- search terms: {json.dumps(facts['search_terms'])}",
    ]


def first_line_of(*command: str) -> str:
    """Return the first line a command prints (its error output if it prints nothing else), or
    "?" if it cannot run."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(  # noqa: S603  # fixed command lines
            list(command), capture_output=True, text=True, check=False, cwd=ROOT
        )
        lines = (result.stdout or result.stderr).strip().splitlines()
        return lines[0] if lines else ""
    return "?"


def table(results: Results) -> list[str]:
    """Return the results table: a row per scenario and server, ours with its ratios."""
    lines = [
        "| scenario | server | req/s | p50 ms | p99 ms | errors | SQL queries/req "
        "| PostgreSQL statements/req | peak RSS/worker MB | worker restarts "
        "| ours/floor | ours/textbook | ours/eav |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for (scenario, server), result in results.items():
        ours = server.startswith("ours")
        floor_ratio = ratio(results, scenario, "floor") if ours else None
        textbook_ratio = ratio(results, scenario, "textbook") if ours else None
        eav_ratio = ratio(results, scenario, "eav") if ours else None
        lines.append(
            f"| {scenario} | {server} | {result.median('requests_per_second'):,.0f} "
            f"| {result.median('p50'):.1f} | {result.median('p99'):.1f} | {result.errors} "
            f"| {'-' if result.queries is None else result.queries} "
            f"| {result.statements:.2f} | {result.rss_mb:.0f} "
            f"| {sum(run.boots for run in result.runs)} "
            f"| {'' if floor_ratio is None else times(floor_ratio)} "
            f"| {'' if textbook_ratio is None else times(textbook_ratio, 1)} "
            f"| {'' if eav_ratio is None else times(eav_ratio)} |"
        )
    return lines


def targets_table(judgements: list[Judgement]) -> list[str]:
    """Return the targets table: each target, what it wants, what was measured, met or not."""
    lines = ["| target | wanted | measured | met |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {judgement.name} | {judgement.wanted} | {judgement.measured} "
        f"| {'yes' if judgement.met else 'NO'} |"
        for judgement in judgements
    ]
    return lines
