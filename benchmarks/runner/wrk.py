"""One wrk run against a server: the command line, and its output read into a ``Run``."""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import BenchmarkError

# Every request is a random line of a file of paths (see the script's header).
WRK_SCRIPT = Path(__file__).resolve().parent.parent / "wrk_paths.lua"

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass
class Run:
    """The figures of one timed wrk run (the runner adds the server's side after it)."""

    requests_per_second: float
    p50: float
    p99: float
    requests: int
    errors: int
    rss: int = 0
    boots: int = 0
    statements: float | None = None
    cache_keys: int = 0


def run_wrk(
    url: str, paths_file: Path, *, seconds: int, seed: int, threads: int, connections: int
) -> str:
    """Run wrk against ``url`` for ``seconds`` on the paths in ``paths_file``; return its output."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    env = {**os.environ, "WRK_PATHS": str(paths_file), "WRK_SEED": str(seed)}
    result = subprocess.run(  # noqa: S603  # our own command line
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BenchmarkError(f"wrk failed: {result.stderr}")
    return result.stdout


def milliseconds(text: str) -> float:
    """Return a wrk latency (``850.00us``, ``1.20ms``, ``2.00s``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchmarkError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str) -> Run:
    """Read wrk's output: req/s, p50 and p99, requests, and socket errors plus non-2xx/3xx."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and total):
        raise BenchmarkError(f"unreadable wrk output:\n{output}")
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(number) for number in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return Run(
        float(rps.group(1)),
        milliseconds(p50.group(1)),
        milliseconds(p99.group(1)),
        int(total.group(1)),
        errors,
    )
