"""A scenario's results per server: its runs, their medians, and ours as a ratio of another."""

import math
import statistics
from dataclasses import dataclass, field
from typing import TypeAlias

from .scenarios import Scenario
from .wrk import Run


@dataclass
class Result:
    """The runs of one scenario on one server, and its SQL queries per request."""

    scenario: Scenario
    server: str
    runs: list[Run] = field(default_factory=list)
    queries: int | None = None

    def median(self, attribute: str) -> float:
        """Return the median of a ``Run`` figure over the rounds."""
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


# By (scenario name, server name), in the order the scenarios and their servers ran.
Results: TypeAlias = dict[tuple[str, str], Result]


def ratio(results: Results, scenario: str, of: str) -> float | None:
    """Return ours' median req/s over server ``of``'s in ``scenario``, None if either is missing."""
    ours = results.get((scenario, "ours")) or results.get((scenario, "ours-cached"))
    other = results.get((scenario, of))
    if not ours or not other or not other.runs:
        return None
    theirs = other.median("requests_per_second")
    # A comparator that completed no request in time (wrk's timeout) is infinitely slower.
    return math.inf if theirs == 0 else ours.median("requests_per_second") / theirs


def times(value: float, digits: int = 2) -> str:
    """Return a ratio as the report writes it: ``12.34x``, or ``inf x`` for a comparator that
    completed nothing."""
    return "inf x (theirs: 0 req/s)" if math.isinf(value) else f"{value:.{digits}f}x"
