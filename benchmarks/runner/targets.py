"""The issue's targets: read from ``targets.toml`` and judged on the results."""

import math
import operator
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeAlias

from .queries import QUERY_KINDS
from .results import Results, ratio, times
from .scenarios import SCENARIOS
from .servers import SERVERS

TARGETS_FILE = Path(__file__).with_name("targets.toml")

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
}

# Ours' SQL queries per request, by kind of request (queries.query_invariance).
Invariance: TypeAlias = dict[str, list[int]]


@dataclass(frozen=True)
class Target:
    """A figure of ours (``measure``), and the limit it must respect (see targets.toml)."""

    name: str
    measure: str
    wanted: str
    limit: int | float
    scenario: str = ""
    server: str = ""
    relative_to: str = ""
    percentile: str = ""
    kind: str = ""


@dataclass(frozen=True)
class Reading:
    """A target's figure as measured, and as the report writes it; SQL counts must also be
    ``constant``."""

    value: float
    text: str
    constant: bool = True


@dataclass(frozen=True)
class Judgement:
    """A row of the report's targets table."""

    name: str
    wanted: str
    measured: str
    met: bool


Reader: TypeAlias = Callable[[Target, Results, Invariance], Reading | None]


def read_throughput_ratio(
    target: Target, results: Results, invariance: Invariance
) -> Reading | None:
    """Return ours' req/s over the comparator's, in x."""
    value = ratio(results, target.scenario, target.server)
    return None if value is None else Reading(value, times(value))


def read_scenario_ratio(target: Target, results: Results, invariance: Invariance) -> Reading | None:
    """Return ours' median req/s in the scenario over ours' in the other scenario, in x."""
    ours = results.get((target.scenario, "ours"))
    other = results.get((target.relative_to, "ours"))
    if ours is None or other is None:
        return None
    theirs = other.median("requests_per_second")
    value = math.inf if theirs == 0 else ours.median("requests_per_second") / theirs
    return Reading(value, times(value))


def read_latency(target: Target, results: Results, invariance: Invariance) -> Reading | None:
    """Return ours' latency at the percentile, in milliseconds."""
    ours = results.get((target.scenario, "ours"))
    if ours is None:
        return None
    value = ours.median(target.percentile)
    return Reading(value, f"{value:.1f} ms")


def read_latency_ratio(target: Target, results: Results, invariance: Invariance) -> Reading | None:
    """Return ours' latency at the percentile over that in the other scenario, in x."""
    ours = results.get((target.scenario, "ours"))
    other = results.get((target.relative_to, "ours"))
    if ours is None or other is None:
        return None
    value = ours.median(target.percentile) / other.median(target.percentile)
    return Reading(value, f"{value:.2f}x")


def read_queries(target: Target, results: Results, invariance: Invariance) -> Reading | None:
    """Return the most SQL queries a request of the kind ran, constant if all ran as many."""
    counts = sorted(set(invariance.get(target.kind, [])))
    return Reading(max(counts, default=0), ", ".join(map(str, counts)), len(counts) == 1)


def read_peak_rss(target: Target, results: Results, invariance: Invariance) -> Reading | None:
    """Return the peak resident memory of a worker of ours, in MB."""
    peaks = [
        result.rss_mb
        for (_scenario, server), result in results.items()
        if server.startswith("ours")
    ]
    if not peaks:
        return None
    return Reading(max(peaks), f"{max(peaks):.0f} MB")


@dataclass(frozen=True)
class Measure:
    """How a kind of target reads its figure, the unit its limit is written in, and the fields
    it needs."""

    read: Reader
    unit: str
    needs: tuple[str, ...]


MEASURES = {
    "throughput-ratio": Measure(read_throughput_ratio, "x", ("scenario", "server")),
    "scenario-ratio": Measure(read_scenario_ratio, "x", ("scenario", "relative_to")),
    "latency": Measure(read_latency, " ms", ("scenario", "percentile")),
    "latency-ratio": Measure(read_latency_ratio, "x", ("scenario", "relative_to", "percentile")),
    "queries": Measure(read_queries, ", constant", ("kind",)),
    "peak-rss": Measure(read_peak_rss, " MB", ()),
}

# The values a field may take, where they are names the runner knows.
CHOICES: dict[str, set[str]] = {
    "measure": set(MEASURES),
    "wanted": set(COMPARISONS),
    "scenario": {scenario.name for scenario in SCENARIOS},
    "relative_to": {scenario.name for scenario in SCENARIOS},
    "server": set(SERVERS),
    "percentile": {"p50", "p99"},
    "kind": set(QUERY_KINDS),
}


def load_targets(path: Path = TARGETS_FILE) -> list[Target]:
    """Return the targets in ``path``; raise ValueError, naming the target, if one is wrong."""
    with path.open("rb") as file:
        entries = tomllib.load(file).get("target", [])
    return [target_from(entry, number) for number, entry in enumerate(entries, 1)]


def target_from(entry: dict[str, Any], number: int) -> Target:
    """Return the target of a ``targets.toml`` entry, checked."""
    where = f"target {number} ({entry.get('name', 'no name')})"
    known = {field.name for field in fields(Target)}
    if unknown := set(entry) - known:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    if missing := {"name", "measure", "wanted", "limit"} - set(entry):
        raise ValueError(f"{where}: missing {sorted(missing)}")
    for name, allowed in CHOICES.items():
        if name in entry and entry[name] not in allowed:
            raise ValueError(f"{where}: {name} {entry[name]!r} is none of {sorted(allowed)}")
    limit = entry["limit"]
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise ValueError(f"{where}: the limit {limit!r} is not a number")
    if unset := [name for name in MEASURES[entry["measure"]].needs if not entry.get(name)]:
        raise ValueError(f"{where}: a {entry['measure']} target needs {unset}")
    return Target(**entry)


def judge(targets: list[Target], results: Results, invariance: Invariance) -> list[Judgement]:
    """Return each target whose scenarios ran, its figure, and whether it was met."""
    judgements = []
    for target in targets:
        measure = MEASURES[target.measure]
        reading = measure.read(target, results, invariance)
        if reading is None:
            continue
        met = reading.constant and COMPARISONS[target.wanted](reading.value, target.limit)
        judgements.append(
            Judgement(
                target.name, f"{target.wanted} {target.limit}{measure.unit}", reading.text, met
            )
        )
    return judgements
