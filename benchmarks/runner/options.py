"""The runner's command line."""

import argparse
from dataclasses import dataclass
from pathlib import Path

from . import __doc__ as package_docstring
from .scenarios import SCENARIOS


@dataclass(frozen=True)
class Options:
    """The command line's choices, defaults filled in."""

    duration: int  # seconds per timed run
    warmup: int  # seconds of wrk before each timed run
    rounds: int
    scenarios: tuple[str, ...]
    threads: int  # wrk's
    connections: int  # wrk's
    seed: int
    output: Path | None  # also write the report to this file


def parse_options(argv: list[str] | None = None) -> Options:
    """Return the options of ``argv`` (the command line's by default), or exit with usage."""
    parser = argparse.ArgumentParser(description=(package_docstring or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=None, help="seconds (default: duration/3)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    warmup = max(2, min(10, args.duration // 3)) if args.warmup is None else args.warmup
    known = {scenario.name for scenario in SCENARIOS}
    scenarios = tuple(name.strip() for name in args.scenarios.split(",") if name.strip())
    unknown = set(scenarios) - known
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {sorted(known)}")
    return Options(
        duration=args.duration,
        warmup=warmup,
        rounds=args.rounds,
        scenarios=scenarios,
        threads=args.threads,
        connections=args.connections,
        seed=args.seed,
        output=args.output,
    )
