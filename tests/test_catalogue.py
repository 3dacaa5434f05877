"""Content checked like code: every lesson listed once, with a lecture, rendering everywhere."""

import ast
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


@pytest.mark.parametrize("name", LESSONS)
def test_depends_on_names_earlier_steps_or_inputs(name):
    d = engine.run(name)
    known = {item.name for item in d.inputs}
    for step in d.steps():
        assert set(step.depends_on) <= known | {s.id for s in d.steps()}, step.id
        known.add(step.id)


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
