"""Shared helpers: run the CLI in-process and read its JSON; independent finite differences."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dlsteps import i18n
from dlsteps.cli import app

# The suite expects English wherever it does not ask for Korean, whatever this machine's locale;
# tests of the language's choice set their own environment.
os.environ["DLSTEPS_LANG"] = "en"


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A test that runs in Korean (``--lang ko`` in-process) leaves English behind it."""
    yield
    i18n.use("en")


@pytest.fixture
def cli():
    """Run `dlsteps ARGS...` in-process; returns the Result (exit_code, stdout, stderr)."""
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(app, list(args), **kw)


@pytest.fixture
def run_json(cli):
    """Run a lesson with --format json and return {step id: value as NumPy array}."""

    def run(*args):
        result = cli(*args, "--format", "json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        steps = {s["id"]: np.array(s["value"], dtype=float) for sec in document["sections"] for s in sec["steps"]}
        return steps, document

    return run


def terminal_view(cli, lesson, *args, columns=120):
    """`dlsteps LESSON ARGS --no-pager` as a student reads it piped at `columns` columns."""
    result = cli(lesson, *args, "--no-pager", env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


LARGER = {
    # Larger inputs than the lectures' own, per lesson, from tests/larger/<lesson>.json:
    # (text, origin) by input name. Every lesson has one (test_catalogue checks it).
    path.stem: {key: (text, "test") for key, text in json.loads(path.read_text(encoding="utf-8")).items()}
    for path in sorted((Path(__file__).parent / "larger").glob("*.json"))
}


def central_difference(f, x, h=1e-6):
    """(f(x + h e_k) - f(x - h e_k)) / 2h for every entry of x: written here, apart from dlsteps."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        grad[k] = (f(up) - f(down)) / (2 * h)
    return grad
