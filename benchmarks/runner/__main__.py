"""Run the benchmark: ``python -m benchmarks.runner --help`` (or ``benchmarks/run.py``)."""

from .cli import main

main()
