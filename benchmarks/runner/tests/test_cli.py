"""The command line, and a runner that sets nothing up when imported."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.runner.options import Options, parse_options
from benchmarks.runner.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_time_every_scenario_for_three_rounds_of_thirty_seconds() -> None:
    assert parse_options([]) == Options(
        duration=30,
        warmup=10,
        rounds=3,
        scenarios=tuple(scenario.name for scenario in SCENARIOS),
        threads=2,
        connections=16,
        seed=2024,
        output=None,
    )


@pytest.mark.parametrize(("duration", "warmup"), [(1, 2), (5, 2), (15, 5), (30, 10), (90, 10)])
def test_the_warmup_is_a_third_of_the_duration_within_two_to_ten_seconds(
    duration: int, warmup: int
) -> None:
    assert parse_options(["--duration", str(duration)]).warmup == warmup


def test_scenarios_are_chosen_by_name_and_unknown_ones_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_options(["--scenarios", "list, facets,"]).scenarios == ("list", "facets")
    with pytest.raises(SystemExit):
        parse_options(["--scenarios", "list,lists"])
    assert "unknown scenarios ['lists']" in capsys.readouterr().err


def test_importing_the_runner_sets_nothing_up() -> None:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    code = (
        "import benchmarks.runner.cli\n"
        "from django.apps import apps\n"
        "from django.conf import settings\n"
        "print(apps.ready, settings.configured)\n"
    )

    result = subprocess.run(  # noqa: S603  # our own interpreter
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert (result.returncode, result.stdout) == (0, "False False\n"), result.stderr


def test_without_a_database_url_the_runner_says_so() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}

    result = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--duration", "1"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert "Set DATABASE_URL" in result.stderr
