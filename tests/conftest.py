"""Shared helpers: run the CLI in-process and read its JSON; independent finite differences."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from dlsteps.cli import app


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


LARGER = {
    # Larger inputs than the lectures' own, per lesson: (text, origin) by input name.
    "softmax": {"logits": (",".join(f"{k / 7 - 4:.3f}" for k in range(64)), "test"), "target": ("5", "test")},
    "kl": {"p": (",".join(["1/20"] * 20), "test"), "q": (",".join([f"{k}/210" for k in range(1, 21)]), "test")},
    "regularization": {"x": (";".join(",".join(str((r * 7 + c) % 5 - 2) for c in range(10)) for r in range(12)), "test"),
                       "y": (",".join(str(r % 4) for r in range(12)), "test"), "w": (",".join(["0.1"] * 10), "test"),
                       "lr": ("0.01", "test"), "steps": ("40", "test")},
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
