"""Whole-process timings of dlsteps against baselines measured in the same run.

    python bench/bench.py [--runs N]

Each pair is run alternately N times (default 9); the medians and their ratio are
printed. A ratio, not a time, is the figure to compare across machines:
  - `dlsteps list`              vs `python -c "import typer"`   (the catalogue must stay cheap)
  - `dlsteps softmax --no-pager` vs `python -c "import sympy, numpy, typer, rich"`
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

PAIRS = [
    (["dlsteps", "list"], ["-c", "import typer"]),
    (["dlsteps", "softmax", "--no-pager"], ["-c", "import sympy, numpy, typer, rich"]),
    (["dlsteps", "kl", "--no-pager"], ["-c", "import sympy, numpy, typer, rich"]),
    (["dlsteps", "regularization", "--no-pager"], ["-c", "import sympy, numpy, typer, rich"]),
]


def seconds(command: list[str]) -> float:
    """Wall-clock time of one whole run of `command`, output discarded."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    dlsteps = shutil.which("dlsteps", path=os.path.dirname(sys.executable)) or "dlsteps"
    print(f"{'command':<34} {'median s':>9} {'baseline':<42} {'median s':>9} {'ratio':>6}")
    for command, baseline in PAIRS:
        ours, theirs = [dlsteps, *command[1:]], [sys.executable, *baseline]
        seconds(ours), seconds(theirs)  # warm the file cache
        times = [(seconds(ours), seconds(theirs)) for _run in range(runs)]
        a, b = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
        print(f"{' '.join(command):<34} {a:9.3f} {'python ' + ' '.join(baseline):<42} {b:9.3f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
