"""targets.toml: every target the report judges, and the checks that stop a wrong one before
anything is measured."""

from pathlib import Path

import pytest

from benchmarks.runner.targets import load_targets

TARGET = 'name = "list: p99", measure = "latency", scenario = "list", percentile = "p99"'


def targets_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text("target = [\n" + "".join(f"  {{ {entry} }},\n" for entry in entries) + "]\n")
    return path


def test_the_file_holds_the_issue_targets() -> None:
    targets = load_targets()

    assert [(target.name, target.wanted, target.limit) for target in targets] == [
        ("list: ours/floor req/s", ">=", 0.6),
        ("list: ours/textbook req/s", ">=", 25.0),
        ("list: p99", "<=", 25),
        ("detail: ours/floor req/s", ">=", 0.6),
        ("detail: ours/textbook req/s", ">=", 25.0),
        ("detail: p99", "<=", 25),
        ("cursor deep/page one p50", "<=", 1.2),
        ("cursor deep/page one p99", "<=", 1.2),
        ("search: p99", "<", 50),
        ("search-misspelled: p99", "<", 30),
        ("facets: p99", "<", 60),
        ("SQL queries, category list, page sizes 1/24/100, pages 1-2", "<=", 2),
        ("SQL queries, cursor list, page sizes 1/24/100, page one and deep", "<=", 2),
        ("SQL queries, detail", "<=", 3),
        ("peak RSS per worker (ours, any scenario)", "<=", 80),
        ("etag-304: ours/floor uncached req/s", ">=", 1.0),
        ("list-cached: ours/floor uncached req/s", ">=", 1.0),
        ("SQL queries, detail of a product with 50 variants", "<=", 2),
        ("attribute_list/list: ours' req/s", ">=", 0.7),
        ("attribute_list: ours/eav req/s", ">=", 10.0),
        ("department_facets: p99", "<", 100),
        ("department_facets: ours/eav req/s", ">=", 10.0),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (f'{TARGET}, wanted = "<=", limit = 25, colour = "red"', r"unknown fields \['colour'\]"),
        (f"{TARGET}, limit = 25", r"missing \['wanted'\]"),
        (f'{TARGET}, wanted = "=<", limit = 25', "wanted '=<' is none of"),
        (f'{TARGET}, wanted = "<=", limit = "25"', "the limit '25' is not a number"),
        (f'{TARGET}, wanted = "<=", limit = true', "the limit True is not a number"),
        (
            'name = "x", measure = "latency", scenario = "lists", wanted = "<", limit = 1',
            "scenario 'lists' is none of",
        ),
        (
            'name = "x", measure = "latency", scenario = "list", wanted = "<", limit = 1',
            r"a latency target needs \['percentile'\]",
        ),
        (
            'name = "x", measure = "throughput-ratio", scenario = "list", server = "flor", '
            'wanted = ">=", limit = 1',
            "server 'flor' is none of",
        ),
        ('name = "x", measure = "queries", kind = "lists", wanted = "<=", limit = 1', "kind"),
    ],
)
def test_a_wrong_target_is_refused_by_number_and_name(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = targets_file(tmp_path, f'{TARGET}, wanted = "<=", limit = 25', entry)

    with pytest.raises(ValueError, match=message) as error:
        load_targets(path)

    assert str(error.value).startswith("target 2 (")
