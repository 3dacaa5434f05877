"""Whole-process timings of dlsteps against baselines measured in the same run.

    python bench/bench.py [--runs N] [LESSON ...]

Each pair is run alternately N times (default 9); the medians and their ratio are
printed. A ratio, not a time, is the figure to compare across machines:
  - `dlsteps list`              vs `python -c "import typer"`   (the catalogue must stay cheap)
  - `dlsteps LESSON --no-pager` vs `python -c "import sympy, numpy, typer, rich"`, for every
    lesson in the catalogue (or the ones named)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

IMPORTS = ["-c", "import sympy, numpy, typer, rich"]


def pairs(only: list[str]) -> list[tuple[list[str], list[str]]]:
    """`dlsteps list` against importing Typer, then every lesson (or those named) against
    importing what a lesson needs: each lesson is found in the catalogue, none is listed here."""
    from dlsteps import catalogue

    lessons = only or list(catalogue.catalogue())
    return [(["dlsteps", "list"], ["-c", "import typer"])] + [(["dlsteps", name, "--no-pager"], IMPORTS) for name in lessons]


def seconds(command: list[str]) -> float:
    """Wall-clock time of one whole run of `command`, output discarded."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("lessons", nargs="*", help="lessons to time (default: every lesson)")
    arguments = parser.parse_args()
    runs = arguments.runs
    dlsteps = shutil.which("dlsteps", path=os.path.dirname(sys.executable)) or "dlsteps"
    print(f"{'command':<34} {'median s':>9} {'baseline':<42} {'median s':>9} {'ratio':>6}")
    for command, baseline in pairs(arguments.lessons):
        ours, theirs = [dlsteps, *command[1:]], [sys.executable, *baseline]
        seconds(ours), seconds(theirs)  # warm the file cache
        times = [(seconds(ours), seconds(theirs)) for _run in range(runs)]
        a, b = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
        print(f"{' '.join(command):<34} {a:9.3f} {'python ' + ' '.join(baseline):<42} {b:9.3f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
