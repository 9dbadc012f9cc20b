"""Reading wrk's output."""

import pytest

from benchmarks.runner.errors import BenchmarkError
from benchmarks.runner.wrk import Run, parse_wrk

OUTPUT = """\
Running 5s test @ http://127.0.0.1:40000
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   110.50ms   40.00ms 500.00ms   70.00%
  Latency Distribution
     50%  850.00us
     75%  130.00ms
     90%  160.00ms
     99%    2.60s
  650 requests in 5.00s, 3.00MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 3
Requests/sec:    130.01
Transfer/sec:    600.00KB
"""


def test_output_gives_rate_latencies_in_milliseconds_and_every_error() -> None:
    assert parse_wrk(OUTPUT) == Run(
        requests_per_second=130.01, p50=0.85, p99=2600.0, requests=650, errors=10
    )


def test_a_run_without_errors_counts_none() -> None:
    clean = "\n".join(line for line in OUTPUT.splitlines() if "errors" not in line.lower())
    clean = clean.replace("Non-2xx or 3xx responses: 3", "")

    assert parse_wrk(clean).errors == 0


@pytest.mark.parametrize(
    "output", ["", OUTPUT.replace("Requests/sec", "Req"), OUTPUT.replace("2.60s", "2.60h")]
)
def test_unreadable_output_stops_the_run(output: str) -> None:
    with pytest.raises(BenchmarkError, match="unreadable wrk"):
        parse_wrk(output)
