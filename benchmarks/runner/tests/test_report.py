"""The report's tables and targets, pinned to what the runner wrote before it became a package
(these lines are the old benchmarks/run.py's output for the same results)."""

import pytest

from benchmarks.runner.report import table, targets_table
from benchmarks.runner.results import Result, Results
from benchmarks.runner.scenarios import SCENARIOS
from benchmarks.runner.targets import judge, load_targets
from benchmarks.runner.wrk import Run

SCENARIO = {scenario.name: scenario for scenario in SCENARIOS}

# (req/s, p50, p99, peak RSS MB, worker boots, PostgreSQL statements per request) per round
FIGURES = {
    ("list", "ours"): (2, [(130, 110.0, 214.0, 77, 0, 3.07), (140, 100.0, 20.5, 78, 1, None)]),
    ("list", "floor"): (1, [(650, 22.6, 62.7, 34, 0, 1.01), (600, 20.0, 60.0, 35, 0, None)]),
    ("list", "textbook"): (
        75,
        [(8, 1800.0, 2600.0, 74, 0, 72.05), (9, 1700.0, 2500.0, 74, 0, None)],
    ),
    ("cursor-first", "ours"): (1, [(400, 30.0, 50.0, 70, 0, 2.0), (420, 31.0, 52.0, 71, 0, None)]),
    ("cursor-deep", "ours"): (1, [(390, 33.0, 55.0, 72, 0, 2.0), (380, 34.0, 56.0, 72, 0, None)]),
    ("search", "ours"): (1, [(33, 456.2, 49.9, 78, 0, 2.79), (35, 400.0, 50.0, 79, 0, None)]),
    ("list-cached", "ours-cached"): (
        2,
        [(2900, 5.2, 9.8, 70, 5, 0.0), (2950, 5.0, 9.0, 81, 0, None)],
    ),
    ("list-cached", "floor"): (1, [(2787, 5.5, 9.1, 35, 5, 1.0), (2800, 5.4, 9.0, 35, 0, None)]),
    ("attribute_list", "ours"): (
        3,
        [(200, 40.0, 90.0, 80, 0, 4.0), (220, 38.0, 80.0, 80, 0, None)],
    ),
    ("attribute_list", "eav"): (
        1,
        [(50, 160.0, 400.0, 36, 0, 1.0), (60, 150.0, 380.0, 36, 0, None)],
    ),
}


@pytest.fixture
def results() -> Results:
    results: Results = {}
    for (scenario, server), (queries, rounds) in FIGURES.items():
        result = results[(scenario, server)] = Result(SCENARIO[scenario], server, queries=queries)
        for rps, p50, p99, rss_mb, boots, statements in rounds:
            result.runs.append(
                Run(rps, p50, p99, int(rps * 5), 0, rss_mb * 2**20, boots, statements)
            )
    return results


def test_table_has_a_row_per_scenario_and_server_with_ours_ratios(results: Results) -> None:
    assert table(results) == [
        "| scenario | server | req/s | p50 ms | p99 ms | errors | SQL queries/req "
        "| PostgreSQL statements/req | peak RSS/worker MB | worker restarts | ours/floor "
        "| ours/textbook | ours/eav |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
        "| list | ours | 135 | 105.0 | 117.2 | 0 | 2 | 3.07 | 78 | 1 | 0.22x | 15.9x |  |",
        "| list | floor | 625 | 21.3 | 61.4 | 0 | 1 | 1.01 | 35 | 0 |  |  |  |",
        "| list | textbook | 8 | 1750.0 | 2550.0 | 0 | 75 | 72.05 | 74 | 0 |  |  |  |",
        "| cursor-first | ours | 410 | 30.5 | 51.0 | 0 | 1 | 2.00 | 71 | 0 |  |  |  |",
        "| cursor-deep | ours | 385 | 33.5 | 55.5 | 0 | 1 | 2.00 | 72 | 0 |  |  |  |",
        "| search | ours | 34 | 428.1 | 50.0 | 0 | 1 | 2.79 | 79 | 0 |  |  |  |",
        "| list-cached | ours-cached | 2,925 | 5.1 | 9.4 | 0 | 2 | 0.00 | 81 | 5 | 1.05x |  |  |",
        "| list-cached | floor | 2,794 | 5.5 | 9.1 | 0 | 1 | 1.00 | 35 | 5 |  |  |  |",
        "| attribute_list | ours | 210 | 39.0 | 85.0 | 0 | 3 | 4.00 | 80 | 0 |  |  | 3.82x |",
        "| attribute_list | eav | 55 | 155.0 | 390.0 | 0 | 1 | 1.00 | 36 | 0 |  |  |  |",
    ]


def test_targets_of_scenarios_that_ran_are_judged_in_file_order(results: Results) -> None:
    invariance = {"list": [2, 2, 2], "cursor": [1, 2], "detail": []}

    lines = targets_table(judge(load_targets(), results, invariance))

    assert lines == [
        "| target | wanted | measured | met |",
        "| --- | --- | --- | --- |",
        "| list: ours/floor req/s | >= 0.6x | 0.22x | NO |",
        "| list: ours/textbook req/s | >= 25.0x | 15.88x | NO |",
        "| list: p99 | <= 25 ms | 117.2 ms | NO |",
        "| cursor deep/page one p50 | <= 1.2x | 1.10x | yes |",
        "| cursor deep/page one p99 | <= 1.2x | 1.09x | yes |",
        # 49.95 ms is under 50 ms, though written rounded
        "| search: p99 | < 50 ms | 50.0 ms | yes |",
        "| SQL queries, category list, page sizes 1/24/100, pages 1-2 | <= 2, constant | 2 | yes |",
        "| SQL queries, cursor list, page sizes 1/24/100, page one and deep | <= 2, constant "
        "| 1, 2 | NO |",
        "| SQL queries, detail | <= 3, constant |  | NO |",
        "| peak RSS per worker (ours, any scenario) | <= 80 MB | 81 MB | NO |",
        "| list-cached: ours/floor uncached req/s | >= 1.0x | 1.05x | yes |",
        "| SQL queries, detail of a product with 50 variants | <= 2, constant |  | NO |",
        "| attribute_list/list: ours' req/s | >= 0.7x | 1.56x | yes |",
        "| attribute_list: ours/eav req/s | >= 10.0x | 3.82x | NO |",
    ]


def test_a_comparator_that_completed_nothing_is_infinitely_slower(results: Results) -> None:
    # The EAV's department facets at a million products: no answer within wrk's timeout.
    result = results[("department_facets", "eav")] = Result(SCENARIO["department_facets"], "eav")
    result.runs.append(Run(0, 0.0, 0.0, 0, 16, 35 * 2**20, 0, None))
    ours = results[("department_facets", "ours")] = Result(
        SCENARIO["department_facets"], "ours", queries=6
    )
    ours.runs.append(Run(56, 276.0, 570.0, 840, 0, 83 * 2**20, 0, 7.0))

    rows = [line for line in table(results) if line.startswith("| department_facets | ours")]
    judged = {j.name: j for j in judge(load_targets(), results, {})}

    assert rows == [
        "| department_facets | ours | 56 | 276.0 | 570.0 | 0 | 6 | 7.00 | 83 | 0 |  |  "
        "| inf x (theirs: 0 req/s) |"
    ]
    assert judged["department_facets: ours/eav req/s"].met
    assert judged["department_facets: ours/eav req/s"].measured == "inf x (theirs: 0 req/s)"
    assert not judged["department_facets: p99"].met
