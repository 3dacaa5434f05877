"""Whole-process timings of dlsteps against baselines measured in the same run.

    python bench/bench.py [--runs N] [--no-sweep] [LESSON ...]

Each pair is run alternately N times (default 9); the medians and their ratio are
printed, with the goal the ratio should meet and whether it does. A ratio, not a time,
is the figure to compare across machines:
  - `dlsteps list`, `dlsteps --help`, `dlsteps softmax --help` vs `python -c "import typer"`
    (the catalogue and the command line must stay cheap): goals 1.3, 1.5, 1.5
  - a bad input, `dlsteps softmax --logits 1,x`, vs `python -c "import sympy, numpy, typer, rich"`:
    goal 0.5 (the error is found before SymPy is imported)
  - `dlsteps LESSON --no-pager` vs `python -c "import sympy, numpy, typer, rich"`, for every
    lesson in the catalogue (or the ones named): goal <= 1.5
  - the sizes sweep, a lesson at a large size vs the same lesson at 3 (work that grows
    with the size): softmax with 64 logits <= 1.5, with 300 logits <= 3, kl with 1000
    entries <= 2.
Output goes to /dev/null, not a terminal: the plain view is timed, as when piped. The
bytecode of dlsteps is written first, as an installed package has it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time

IMPORTS = ["-c", "import sympy, numpy, typer, rich"]
LESSON_GOAL = 1.5


def logits(n: int) -> str:
    """n logits evenly spaced from -4 to 5, three decimals (tests/test_identical_output.py uses them too)."""
    return ",".join(f"{-4 + 9 * i / (n - 1):.3f}" for i in range(n))


def distributions(n: int) -> list[str]:
    """kl's P uniform and Q rising over n entries, as fractions that sum to 1 exactly."""
    total = n * (n + 1) // 2
    return ["--p", ",".join([f"1/{n}"] * n), "--q", ",".join(f"{i}/{total}" for i in range(1, n + 1))]


SWEEP = {
    # name: (lesson and its arguments at size 3, at the large size, the goal for their ratio)
    "softmax 64 logits": (["softmax", "--logits", logits(3), "--target", "2"],
                          ["softmax", "--logits", logits(64), "--target", "5"], 1.5),
    "softmax 300 logits": (["softmax", "--logits", logits(3), "--target", "2"],
                           ["softmax", "--logits", logits(300), "--target", "5"], 3.0),
    "kl 1000 entries": (["kl", *distributions(3)], ["kl", *distributions(1000)], 2.0),
}


def pairs(only: list[str]) -> list[tuple[str, list[str], list[str], float | None]]:
    """(label, command, baseline, goal): `dlsteps list` against importing Typer, then every
    lesson (or those named) against importing what a lesson needs: each lesson is found in
    the catalogue, none is listed here. Commands start with "dlsteps", baselines are
    arguments to python."""
    from dlsteps import catalogue

    lessons = only or list(catalogue.catalogue())
    typer = ["-c", "import typer"]
    listed = [("dlsteps list", ["dlsteps", "list"], typer, 1.3), ("dlsteps --help", ["dlsteps", "--help"], typer, 1.5),
              ("dlsteps softmax --help", ["dlsteps", "softmax", "--help"], typer, 1.5),
              ("a bad input", ["dlsteps", "softmax", "--logits", "1,x"], IMPORTS, 0.5)]
    return listed + [(f"dlsteps {name}", ["dlsteps", name, "--no-pager"], IMPORTS, LESSON_GOAL) for name in lessons]


def sweep() -> list[tuple[str, list[str], list[str], float]]:
    """(label, command at the large size, command at size 3, goal) for the sizes sweep."""
    return [(label, ["dlsteps", *large, "--no-pager"], ["dlsteps", *small, "--no-pager"], goal)
            for label, (small, large, goal) in SWEEP.items()]


def seconds(command: list[str]) -> float:
    """Wall-clock time of one whole run of `command`, output discarded (not a terminal);
    a run that fails other than by refusing its input (exit 2) stops the bench."""
    start = time.perf_counter()
    status = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if status not in (0, 2):
        raise SystemExit(f"bench: {' '.join(command)} exited {status}")
    return time.perf_counter() - start


def medians(ours: list[str], theirs: list[str], runs: int) -> tuple[float, float]:
    """The median times of `ours` and `theirs`, run alternately `runs` times after one warm-up each."""
    seconds(ours), seconds(theirs)  # warm the file cache
    times = [(seconds(ours), seconds(theirs)) for _run in range(runs)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def verdict(ratio: float, goal: float | None) -> str:
    """The goal column: '<= goal met', '<= goal NOT met', or '-' without a goal."""
    if goal is None:
        return "-"
    return f"<= {goal:g} {'met' if ratio <= goal else 'NOT met'}"


def report(rows, runs: int, program: str, executable: str) -> int:
    """Time and print each row; returns how many rows miss their goal."""
    missed = 0
    for label, command, baseline, goal in rows:
        ours = [program, *command[1:]]
        theirs = [program, *baseline[1:]] if baseline[0] == "dlsteps" else [executable, *baseline]
        a, b = medians(ours, theirs, runs)
        shown = f"dlsteps {baseline[1]} at size 3" if baseline[0] == "dlsteps" else "python " + " ".join(baseline)
        print(f"{label:<26} {a:9.3f} {shown:<42} {b:9.3f} {a / b:6.2f}  {verdict(a / b, goal)}", flush=True)
        missed += goal is not None and a / b > goal
    return missed


def bytecode() -> None:
    """Write the bytecode of dlsteps and its lessons, as installing a package does. Without
    it (PYTHONDONTWRITEBYTECODE set, or a module edited since its bytecode was written)
    every timed run would compile every module it imports, which a user's run does not."""
    import compileall

    from dlsteps import catalogue

    for folder in (os.path.dirname(importlib.util.find_spec("dlsteps").origin), catalogue.lessons_dir()):
        compileall.compile_dir(folder, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="alternate runs of each pair (the median is taken)")
    parser.add_argument("--no-sweep", action="store_true", help="leave out the sizes sweep")
    parser.add_argument("lessons", nargs="*", help="lessons to time (default: every lesson)")
    arguments = parser.parse_args()
    if importlib.util.find_spec("dlsteps") is None:
        sys.exit("bench: dlsteps is not installed for this Python; run it with the project's, e.g. .venv/bin/python bench/bench.py")
    program = shutil.which("dlsteps", path=os.path.dirname(sys.executable)) or "dlsteps"
    bytecode()
    print(f"{'command':<26} {'median s':>9} {'baseline':<42} {'median s':>9} {'ratio':>6}  goal")
    missed = report(pairs(arguments.lessons), arguments.runs, program, sys.executable)
    if not arguments.no_sweep:
        print("\nsizes sweep (the same lesson at size 3 is the baseline)")
        missed += report(sweep(), arguments.runs, program, sys.executable)
    print(f"\n{missed} goal(s) not met" if missed else "\nevery goal met")


if __name__ == "__main__":
    main()
