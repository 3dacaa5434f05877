"""Content checked like code: every lesson listed once, with a lecture, rendering everywhere."""

import ast
import io
import shlex
import inspect
import json

import pytest

from conftest import LARGER
from dlsteps import catalogue, engine
from dlsteps.cli import _common_options
from dlsteps.printers import json as json_printer
from dlsteps.printers import terminal

LESSONS = list(catalogue.catalogue())
COMMON = set(inspect.signature(_common_options).parameters)


def test_the_first_lessons_are_there():
    assert {"softmax", "regularization", "kl"} <= set(LESSONS)
    assert len(LESSONS) == len(set(LESSONS))


@pytest.mark.parametrize("name", LESSONS)
def test_metadata(name):
    info = catalogue.get(name)
    assert info.title and info.summary and ("DL101 #" in info.lecture or "Easy! DL #" in info.lecture)
    assert info.inputs and all(spec.help for spec in info.inputs)
    assert not {spec.name for spec in info.inputs} & COMMON
    assert len({spec.option for spec in info.inputs}) == len(info.inputs)
    module = ast.parse((catalogue.lessons_dir() / f"{info.module}.py").read_text())
    assert ast.get_docstring(module), "every lesson module states its math in a docstring"
    assert any(isinstance(node, ast.FunctionDef) and node.name == "derive" for node in module.body)


@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_renders_in_every_format(name):
    d = engine.run(name)
    assert all(step.check for step in d.steps()), "every printed number is checked"
    text = terminal.render(d)
    assert text is not None
    document = json.loads(json_printer.render(d))
    assert [s["id"] for sec in document["sections"] for s in sec["steps"]] == [s.id for s in d.steps()]


def _bound_by(d, symbol):
    """Which input or step binds `symbol`, found by scanning them (not the engine's records)."""
    for item in [*d.inputs, *d.steps()]:
        if item.symbol == symbol:
            return item.id
    return None


@pytest.mark.parametrize("name", LESSONS)
def test_dependencies_are_earlier_and_cover_every_symbol_of_the_formula(name):
    import sympy as sp

    d = engine.run(name)
    earlier = [item.name for item in d.inputs]
    for step in d.steps():
        # A table recurrence (row t from row t - 1) may use its own members; nothing else later.
        assert set(step.depends_on) <= set(earlier) | set(step.recurrence) - {step.id}, (step.id, step.depends_on)
        if step.formula is not None:
            bases = {a.base for a in step.formula.atoms(sp.Indexed)}
            labels = {b.label for b in bases}
            used = bases | {x for x in step.formula.free_symbols if isinstance(x, sp.Symbol) and x not in labels}
            owners = {_bound_by(d, symbol) for symbol in used} - {None, step.id}
            assert owners == set(step.depends_on), step.id
            assert not {x for x in used if _bound_by(d, x) is None and not x.is_integer}, step.id
        earlier.append(step.id)


@pytest.mark.parametrize("name", LESSONS)
def test_every_step_has_a_concept_and_a_code_line_that_ran(name):
    from dlsteps.model import CHECK_CODE

    d = engine.run(name)
    for step in d.steps():
        assert CHECK_CODE in step.check and step.code and step.var, step.id
        assert step.concept.count(".") == 1, step.id


@pytest.mark.parametrize("name", LESSONS)
def test_python_script_recomputes_and_asserts_every_value(name, tmp_path):
    import subprocess
    import sys

    from dlsteps.printers import python

    d = engine.run(name, LARGER[name])
    script = tmp_path / f"{name}.py"
    script.write_text(python.render(d), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"all {len(d.steps())} values agree" in result.stdout
    assert script.read_text().count("check(") == len(d.steps()) + 1


@pytest.mark.parametrize("name", LESSONS)
def test_a_step_renders_alone_with_its_value_hidden(name):
    from rich.console import Console

    from dlsteps.printers.markdown import MarkdownPrinter
    from dlsteps.printers.terminal import render_step

    d = engine.run(name)
    step = d.steps()[-1]
    shown = MarkdownPrinter().render_step(d, step.id)
    hidden = MarkdownPrinter(hide_values=True).render_step(d, step.id)
    from dlsteps.printers.markdown import escape

    assert escape(step.title) in hidden and "?" in hidden and "?" not in shown
    console = Console(width=80, color_system=None, record=True, file=io.StringIO())
    console.print(render_step(d, step.id, hide_values=True))
    assert "?" in console.export_text()


def test_unknown_lesson():
    with pytest.raises(LookupError, match="no lesson 'nope'"):
        catalogue.get("nope")


@pytest.mark.parametrize("name", LESSONS)
def test_the_example_in_help_runs(name, cli):
    words = shlex.split(catalogue.get(name).example)
    assert words[:2] == ["dlsteps", name]
    result = cli(*words[1:], "--format", "json")
    assert result.exit_code == 0, result.output


def test_every_lesson_has_larger_test_inputs():
    assert set(LARGER) == set(LESSONS)


@pytest.mark.parametrize("name", LESSONS)
def test_formulas_do_not_grow_with_the_inputs(name):
    # DESIGN.md: symbolic work stays generic (index form), so a 64-dimensional input
    # gives the same formulas as the lecture's 3-dimensional one.
    small, large = engine.run(name), engine.run(name, LARGER[name])
    assert [s.id for s in small.steps()] == [s.id for s in large.steps()]
    for a, b in zip(small.steps(), large.steps()):
        assert a.formula == b.formula, a.id


def test_a_lesson_is_found_by_reading_its_own_file_alone(monkeypatch):
    """`dlsteps LESSON` reads that lesson's META only; names come from the file names, and
    every name listed reads back as the lesson of that name."""
    read = []
    original = catalogue.read_meta
    monkeypatch.setattr(catalogue, "read_meta", lambda path: read.append(path.stem) or original(path))
    catalogue._read.cache_clear()
    try:
        assert catalogue.get("cross-entropy").name == "cross-entropy"
        assert read == ["cross_entropy"]
        assert catalogue.names() == sorted(catalogue.names()) == list(catalogue.catalogue())
        assert all(catalogue.get(name).name == name for name in catalogue.names())
        with pytest.raises(LookupError, match="no lesson 'nope'; lessons: attention, autoencoder"):
            catalogue.get("nope")
    finally:
        catalogue._read.cache_clear()
