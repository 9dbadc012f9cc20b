"""SQL queries per request, counted in this process through Django's test client (uncached)."""

import re

from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from .errors import BenchmarkError
from .results import Result, Results
from .scenarios import HOST, LIST_PATH, Scenario


def count_queries(client: Client, path: str) -> tuple[int, int]:
    """Return the status of a request and the SQL queries it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_HOST=HOST)
    return response.status_code, len(queries)


def query_counts(client: Client, paths: list[str], *, textbook: bool = False) -> int:
    """Return the most queries any of ``paths`` ran, on ours or on the textbook's URLs."""
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


# The kinds of request query_invariance counts, each at several page sizes or depths.
QUERY_KINDS = ("list", "cursor", "detail", "detail-50")


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
        # Products with 50 variants, if the catalogue has them (the generator's do).
        "detail-50": requests["detail_50"][:5],
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


def measure_queries(
    client: Client, scenarios: list[Scenario], requests: dict[str, list[str]]
) -> Results:
    """Return a result per scenario and server, with ours' and the textbook's query counts."""
    results: Results = {}
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
