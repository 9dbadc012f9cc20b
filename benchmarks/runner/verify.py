"""Checks, before anything is timed, that every server answers a scenario's requests as ours
does; and the ETags that the If-None-Match scenario sends."""

import json
import sys
from typing import Any

from .errors import BenchmarkError
from .scenarios import Scenario
from .servers import Server, fetch


def first_difference(left: Any, right: Any, where: str = "") -> str | None:
    """Return where two JSON documents first differ (ours left, theirs right), None if equal."""
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


# The comparators that count exactly where ours may estimate past API_EXACT_COUNT_LIMIT.
EXACT_COUNTS = frozenset({"textbook", "eav"})


def compared_part(body: Any, keys: tuple[str, ...]) -> Any:
    """Return the part of ``body`` under ``keys`` (from the top), None where one is missing."""
    for key in keys:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def verify(scenario: Scenario, servers: dict[str, Server], paths: list[str]) -> dict[str, int]:
    """Check that every server answers like ours; return the statements per request that the
    servers counting their own (``X-SQL-Queries``: the floor, the EAV) reported, the most."""
    reference = servers[scenario.servers[0]]
    counted: dict[str, int] = {}
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
            if name in EXACT_COUNTS and ours.get("count_is_estimate"):
                # They count exactly; ours estimates past API_EXACT_COUNT_LIMIT.
                expected = {**ours, "count": theirs.get("count"), "count_is_estimate": False}
            if scenario.compared:
                expected = compared_part(expected, scenario.compared)
                theirs = compared_part(theirs, scenario.compared)
                if expected is None:
                    raise BenchmarkError(f"ours has no {'.'.join(scenario.compared)} on {path}")
            difference = first_difference(expected, theirs)
            if difference:
                raise BenchmarkError(f"{name} differs from ours on {path}: {difference}")
            if "X-SQL-Queries" in headers:
                counted[name] = max(counted.get(name, 0), int(headers["X-SQL-Queries"]))
    return counted


def etag_lines(server: Server, paths: list[str]) -> list[str]:
    """Return ``paths`` as wrk_paths.lua reads them, each with the ETag ``server`` gives it."""
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
