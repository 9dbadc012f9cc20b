"""Where two servers' JSON first differs."""

import pytest

from benchmarks.runner.verify import compared_part, first_difference


@pytest.mark.parametrize(
    ("ours", "theirs", "difference"),
    [
        ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}, None),
        ({"a": 1, "b": 2}, {"b": 2}, ".a: only in ours"),
        ({"b": 2}, {"a": 1, "b": 2}, ".a: only in theirs"),
        ({"results": [1, 2]}, {"results": [1]}, ".results: 2 items against 1"),
        (
            {"results": [{"price": "1.00"}]},
            {"results": [{"price": "1.0"}]},
            ".results[0].price: '1.00' against '1.0'",
        ),
        ({"a": {"b": 1}, "c": 1}, {"a": {"b": 2}, "c": 2}, ".a.b: 1 against 2"),
        ({"count": 1}, {"count": 1.0}, None),
        ({"count": None}, {"count": 0}, ".count: None against 0"),
    ],
)
def test_first_difference(ours: object, theirs: object, difference: str | None) -> None:
    assert first_difference(ours, theirs) == difference


@pytest.mark.parametrize(
    ("body", "keys", "part"),
    [
        ({"facets": {"attributes": [1], "price": [2]}}, ("facets", "attributes"), [1]),
        ({"facets": {"price": [2]}}, ("facets", "attributes"), None),
        ({"results": []}, ("facets", "attributes"), None),
        ({"a": 1}, (), {"a": 1}),
    ],
)
def test_compared_part(body: object, keys: tuple[str, ...], part: object) -> None:
    assert compared_part(body, keys) == part
