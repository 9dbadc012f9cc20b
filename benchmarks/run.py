"""Run the benchmark: the runner is the package ``benchmarks.runner``, which says what it does.

    DATABASE_URL=postgres://... python benchmarks/run.py [--duration 30] [--rounds 3]
        [--scenarios list,detail,...] [--output benchmarks/results-M.md]

``make bench SIZE=S|M`` prepares a database and runs this; ``python -m benchmarks.runner`` from
the project's root is the same.
"""

import sys
from pathlib import Path

# Run as a script, this file has benchmarks/ on the path; the package needs the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.runner.cli import main

if __name__ == "__main__":
    main()
