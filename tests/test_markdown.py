"""Markdown export: parsed with markdown-it-py and its dollar-math plugin; every step's
title and value (at the shown precision) must be there."""

import numpy as np
import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from dlsteps import catalogue, engine
from dlsteps.printers.markdown import escape, render

LESSONS = list(catalogue.catalogue())


def shown(value, digits):
    """A number as the Markdown should show it, written here apart from dlsteps."""
    if np.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    text = format(float(value) + 0.0, f".{digits}g")
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return text


def parse(text):
    md = MarkdownIt("commonmark").enable("table").use(dollarmath_plugin, double_inline=True)
    tokens = md.parse(text)
    flat = [child for token in tokens for child in (token.children or [token])]
    headings = ["".join(child.content for child in tokens[k + 1].children if child.type == "text")
                for k, token in enumerate(tokens) if token.type == "heading_open"]
    math = [token.content for token in flat if token.type in ("math_inline", "math_block", "math_inline_double")]
    return headings, math


@pytest.mark.parametrize("name", LESSONS)
@pytest.mark.parametrize("digits", [4, 7])
def test_every_title_and_value_appears(name, digits):
    d = engine.run(name, seed=3)
    headings, math = parse(render(d, precision=digits))
    for step in d.steps():
        assert any(heading.endswith(step.title) for heading in headings), step.title
        results = [m for m in math if " = " in m]
        entries = np.atleast_1d(np.asarray(step.value, dtype=float)).ravel()
        assert any(all(shown(x, digits) in m for x in entries) for m in results), step.id


def test_math_is_dollar_math_and_arrays_are_bmatrix():
    d = engine.run("softmax")
    text = render(d)
    _, math = parse(text)
    assert r"{y}_{i} = \begin{bmatrix} 0.659 & 0.2424 & 0.09857 \end{bmatrix}" in math
    assert any(m.startswith(r"\frac{\partial}{\partial {o}_{j}}") or "{J}_{i,j}" in m or "delta" in m for m in math)
    assert "| result | shape | checked |" in text


def test_prose_is_escaped():
    assert escape("y_i * 2 | x") == r"y\_i \* 2 \| x"


def test_badges_are_in_words_with_a_legend():
    # Reading: "✓ formula = NumPy" was jargon; the badges name what was checked and a legend
    # before the first section says what each means. JSON keeps the codes.
    import json as _json

    from dlsteps import engine
    from dlsteps.printers import json as json_printer
    from dlsteps.printers.markdown import render

    d = engine.run("softmax")
    text = render(d)
    assert "✓ formula: the formula, evaluated at your numbers" in text and "finite differences" in text
    assert "| formula, gradient, code |" in text and "formula = NumPy" not in text
    steps = [s for sec in _json.loads(json_printer.render(d))["sections"] for s in sec["steps"]]
    assert steps[-1]["check"] == ["formula = NumPy", "finite differences", "code ran"]


def test_inputs_are_named_as_typed_and_words_shown_as_words():
    # Reading: the inputs table said `lam` though the user typed --lambda, and `2.718` for
    # the base the user chose as `e`. JSON keeps the input's name and number.
    from dlsteps import engine
    from dlsteps.printers.markdown import render

    assert "| lambda | $\\lambda$ |" in render(engine.run("regularization"))
    kl = engine.run("kl")
    assert "| base | $b$ | text | e |" in render(kl) and kl["base"].name == "base" and abs(kl["base"].value - 2.718281828459045) < 1e-15
