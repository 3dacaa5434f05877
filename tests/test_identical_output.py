"""Speed work changes no output byte: every lesson, rendered in every text format, is compared
with reference files written before the work began (tests/identical/<case>/<format>).

Cases: every lesson of the catalogue at its defaults and at its larger inputs
(tests/larger/<lesson>.json), plus the sizes `bench/bench.py` sweeps (softmax with 300
logits, kl with 1000 entries). Formats: the plain terminal view at width 100 (as piped or
written with -o), JSON, Markdown, LaTeX, the Python script, and for the defaults also the
colored terminal view at width 80 with code lines (the escape codes carry the styles) and
the ASCII-art view.

A reference up to LIMIT characters is stored as the text itself (a change shows as a
diff), a longer one as its SHA-256 (`<format>.sha256`), so the folder stays small; on a
mismatch the new output is written under pytest's tmp_path and the message says where.
A lesson added to the catalogue without references fails here until they are written.
References are written, never compared, with

    DLSTEPS_REGENERATE=1 .venv/bin/python -m pytest tests/test_identical_output.py

(do so only when an output change is intended, and read the diff of tests/identical/).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from rich.console import Console

from conftest import LARGER
from dlsteps import catalogue, engine, formats

FOLDER = Path(__file__).parent / "identical"
REGENERATE = bool(os.environ.get("DLSTEPS_REGENERATE"))
LIMIT = 16_000
"""References longer than this many characters are stored as their SHA-256."""


def _bench():
    """bench/bench.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("bench", Path(__file__).parent.parent / "bench" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(arguments: list[str]) -> dict[str, str]:
    """["--p", "1/3,...", ...] as {"p": "1/3,..."}."""
    return {name[2:]: text for name, text in zip(arguments[::2], arguments[1::2])}


SWEEP = {
    "softmax-300": ("softmax", {"logits": _bench().logits(300), "target": "5"}),
    "kl-1000": ("kl", _options(_bench().distributions(1000))),
}
"""The largest sizes bench/bench.py sweeps, with its inputs."""


def cases() -> dict[str, tuple[str, dict, bool]]:
    """Case name -> (lesson, typed inputs, whether the terminal is also checked in color and ASCII)."""
    found = {}
    for name in catalogue.catalogue():
        found[name] = (name, {}, True)
        found[f"{name}-larger"] = (name, LARGER.get(name, {}), False)
    for case, (lesson, inputs) in SWEEP.items():
        found[case] = (lesson, {key: (text, "test") for key, text in inputs.items()}, False)
    return found


def colored(derivation) -> str:
    """The terminal view as a terminal shows it (80 columns, truecolor), code lines included."""
    from dlsteps.printers import terminal

    stream = io.StringIO()
    console = Console(width=80, file=stream, force_terminal=True, color_system="truecolor", legacy_windows=False)
    console.print(terminal.render(derivation, width=80, show_code=True))
    return stream.getvalue()


def ascii_art(derivation) -> str:
    """The terminal view with formulas as ASCII art, no colors."""
    from dlsteps import output
    from dlsteps.printers import terminal

    return output.plain_text(terminal.render(derivation, width=output.FILE_WIDTH, ascii=True))


FORMATS = {
    "terminal.txt": lambda d: formats.as_text(d, "terminal"),
    "derivation.json": lambda d: formats.as_text(d, "json"),
    "derivation.md": lambda d: formats.as_text(d, "markdown"),
    "derivation.tex": lambda d: formats.as_text(d, "latex"),
    "derivation.py.txt": lambda d: formats.as_text(d, "python"),  # .txt: data, not source of this project
}
TERMINAL_ONLY = {"colored.ansi": colored, "ascii.txt": ascii_art}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() + "\n"


def write(folder: Path, filename: str, text: str) -> None:
    """Store `text` as the reference `filename` (its hash when longer than LIMIT)."""
    for stale in (folder / filename, folder / f"{filename}.sha256"):
        stale.unlink(missing_ok=True)
    if len(text) <= LIMIT:
        (folder / filename).write_text(text, encoding="utf-8", newline="")
    else:
        (folder / f"{filename}.sha256").write_text(digest(text), encoding="utf-8", newline="")


def differs(folder: Path, filename: str, text: str) -> str:
    """Empty when `text` is the reference; else where it first differs."""
    whole, hashed = folder / filename, folder / f"{filename}.sha256"
    if whole.exists():
        reference = whole.read_bytes().decode("utf-8")
        if text == reference:
            return ""
        old, new = reference.splitlines(), text.splitlines()
        line = next((n for n, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        return f"{filename} line {line + 1}: {old[line] if line < len(old) else '<end>'!r} -> {new[line] if line < len(new) else '<end>'!r}"
    if not hashed.exists():
        return f"{filename}: no reference"
    return "" if digest(text) == hashed.read_text(encoding="utf-8") else f"{filename}: SHA-256 differs"


@pytest.mark.parametrize("case", sorted(cases()))
def test_output_is_unchanged(case, tmp_path, monkeypatch):
    lesson, typed, terminal = cases()[case]
    derivation = engine.run(lesson, typed)
    renderers = {**FORMATS, **(TERMINAL_ONLY if terminal else {})}
    folder = FOLDER / case
    if REGENERATE:
        folder.mkdir(parents=True, exist_ok=True)
        for filename, render in renderers.items():
            write(folder, filename, render(derivation))
        return
    assert folder.is_dir(), f"no references for {case}: write them with DLSTEPS_REGENERATE=1 (see the module docstring)"
    changed = []
    for filename, render in renderers.items():
        text = render(derivation)
        if differs(folder, filename, text):
            changed.append(differs(folder, filename, text))
            (tmp_path / filename).write_text(text, encoding="utf-8", newline="")
    assert not changed, f"{case}: output changed (new output in {tmp_path}):\n" + "\n".join(changed)
    compared = _worked_both_ways(derivation, monkeypatch)
    assert compared or case not in SWEEP
    for id, short, whole in compared:
        assert short == whole, f"{case}: step {id} is worked out otherwise by SymPy's doit"


def _worked_both_ways(derivation, monkeypatch) -> list[tuple]:
    """(step id, worked out with long plain sums built only as far as shown, worked out
    with every term written and then elided) for every step whose formula has such a sum
    (see `formulas.expanded`): the short way must give what the long way gives."""
    from dlsteps.printers import formulas
    from dlsteps.printers.base import Printer

    number, env = Printer().number, derivation.env
    sizes = {s: sp.Integer(v) for s, v in env.items() if isinstance(s, sp.Symbol) and isinstance(v, int)}
    steps = [step for step in derivation.steps() if step.formula is not None and any(
        formulas._summand(total) for total in step.formula.xreplace(sizes).xreplace(
            {symbol: sp.Integer(0) for symbol in step.index}).atoms(sp.Sum))]
    short = [formulas.worked(step, env, number) for step in steps]
    with monkeypatch.context() as patch:
        patch.setattr(formulas, "_summand", lambda total: None)
        whole = [formulas.worked(step, env, number) for step in steps]
    return [(step.id, sp.srepr(a), sp.srepr(b)) for step, a, b in zip(steps, short, whole)]


SHAPES = ["x[k]", "-x[k]", "x[k]*log(y[k])", "-x[k]*log(y[k])/2", "exp(x[k] - m)", "x[k, 0]", "x[0, k]**2",
          "exp(x[k])*y[k]*z[k, k]", "tanh(x[k])/y[k]", "Abs(x[k])"]
AROUND = ["{}", "b + {}", "m*{}", "sqrt(3)*{}/3", "log({})", "exp(x[0])/{}", "({})**2 - y[1]"]


def _value(expr, names) -> complex:
    """`expr` at fixed numbers for its entries and symbols (written apart from dlsteps)."""
    expr = sp.sympify(expr).doit()
    values = {atom: sp.Float(0.6 + 0.13 * sum(map(int, atom.indices)) + 0.07 * (ord(str(atom.base)) - ord("x")))
              for atom in expr.atoms(sp.Indexed)}
    values |= {names["m"]: sp.Float(0.7), names["b"]: sp.Float(-0.4)}
    return complex(expr.xreplace(values).doit().evalf())


@pytest.mark.parametrize("count", [1, 3, 7, 101])
@pytest.mark.parametrize("shape", SHAPES)
def test_sums_are_written_term_by_term_with_the_value_doit_gives(shape, count):
    """A sum of array entries written out term by term (a long plain one only as far as it
    is shown) has the value SymPy's doit gives, alone and inside other expressions; the
    short writing of a long sum is the whole writing, elided."""
    from dlsteps.printers import formulas

    k, l = sp.Symbol("k", integer=True), sp.Symbol("l", integer=True)
    names = {name: sp.IndexedBase(name) for name in "xyz"} | {"k": k, "m": sp.Symbol("m"), "b": sp.Symbol("b")}
    names |= {"log": sp.log, "exp": sp.exp, "tanh": sp.tanh, "Abs": sp.Abs, "sqrt": sp.sqrt}
    coefficient, term = eval(shape, {}, names).as_coeff_Mul()  # eval of the fixed expressions above
    for lo in (0, 1):
        total = coefficient * sp.Sum(term, (k, lo, lo + count - 1))
        assert formulas._summand(sp.Sum(term, (k, lo, lo + count - 1))) is not None
        for around in AROUND:
            expr = formulas.as_printed(eval(around.format("total"), {}, names | {"total": total}))
            written = formulas.expanded(expr)
            assert not written.has(sp.Sum), around
            if count < formulas.MAX_TERMS:
                assert _value(written, names) == pytest.approx(_value(expr, names), rel=1e-12), around
            plain = formulas._plain_sum(expr)
            if plain is not None:
                whole = formulas._written(expr.as_coeff_Mul()[1])
                assert sp.srepr(formulas.elided(written)) == sp.srepr(formulas.elided(formulas._times(plain[0], whole))), around
    if "k, k" not in shape and "[0, k]" not in shape:
        double = sp.Sum(term.xreplace({x: x.base[(*x.indices, l)] for x in term.atoms(sp.Indexed)}), (l, 0, 2), (k, 0, count - 1))
        written = formulas.expanded(formulas.as_printed(double))
        assert len(written.args) == 3 * count or count == 1
        assert _value(written, names) == pytest.approx(_value(double, names), rel=1e-12)


def test_other_sums_are_not_plain_sums():
    from dlsteps.printers import formulas

    k, j, n = sp.Symbol("k", integer=True), sp.Symbol("j", integer=True), sp.Symbol("n", integer=True)
    x, y = sp.IndexedBase("x"), sp.IndexedBase("y")
    for total in (sp.Sum(x[k] + y[k], (k, 0, 9)), sp.Sum(2 * x[k], (k, 0, 9)), sp.Sum(x[k] * x[0], (k, 0, 9)),
                  sp.Sum(k * x[k], (k, 0, 9)), sp.Sum(x[k] * sp.KroneckerDelta(k, 1), (k, 0, 9)),
                  sp.Sum(x[k + 1], (k, 0, 9)), sp.Sum(x[k, j], (k, 0, 9)), sp.Sum(x[k], (k, 0, n)), sp.Sum(x[k], (k, 3, 2)),
                  sp.Sum(x[k, j] * y[k], (k, 0, 9), (j, 0, 2)), sp.Sum(0 * x[k], (k, 0, 9)),
                  sp.Sum(sp.Piecewise((x[k], x[k] > 0), (0, True)), (k, 0, 9))):
        assert formulas._plain_sum(total) is None and formulas._summand(total.atoms(sp.Sum).pop()) is None, total


def test_delta_sums_are_evaluated_without_the_loop():
    """Σ_k f(k) δ(j, k) is evaluated as f(j) inside the range of k and 0 outside it, as the
    loop over k gives (here j runs two past the end of the range)."""
    from dlsteps.checks import _delta_sum, evaluate

    j, k = sp.Symbol("j", integer=True), sp.Symbol("k", integer=True)
    x, n = sp.IndexedBase("x"), sp.Symbol("n", integer=True)
    values = np.array([0.5, -2.0, 3.0])
    env = {x: values, n: 3}
    expected = np.array([0.5 * np.exp(0.5), -2.0 * np.exp(-2.0), 3.0 * np.exp(3.0), 0.0, 0.0])
    for formula in (sp.Sum(x[k] * sp.exp(x[k]) * sp.KroneckerDelta(j, k), (k, 0, n - 1)),
                    sp.Sum(sp.KroneckerDelta(k, j) * x[k] * sp.exp(x[k]), (k, 0, n - 1))):
        assert _delta_sum(formula) is not None
        step = type("Step", (), {"formula": formula, "index": (j,), "value": np.zeros(5)})()  # what evaluate reads
        assert np.allclose(evaluate(step, env), expected, rtol=1e-15, atol=0)
