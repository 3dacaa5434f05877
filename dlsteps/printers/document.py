"""The walk shared by the text-document printers (Markdown, LaTeX).

`DocumentPrinter` turns a Derivation into a list of blocks: headings, paragraphs,
display math (the step's equation, its numbers substituted), the result, notes and code.
Subclasses say how each block is written; the order and content live here once.
Math is LaTeX in both formats; numbers are written ``2.5 \\cdot 10^{-5}`` and ``\\infty``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.i18n import _
from dlsteps.model import Derivation, InputValue, Step
from dlsteps.printers.base import LEGEND, Printer, badges, label_of, shape_text
from dlsteps.printers.formulas import equation, latex, shown_positions, worked


class DocumentPrinter(Printer):
    """Base of the printers that write a text document; see the module docstring."""

    def _print_Derivation(self, d: Derivation) -> str:
        self.begin(d)
        blocks = self.preface(d)
        for number, section in enumerate(d.sections, start=1):
            blocks.append(self.heading(1, f"{number}. {section.title}"))
            if section.explanation:
                blocks.append(self.paragraph(section.explanation))
            for position, step in enumerate(section.steps, start=1):
                blocks.extend(self.step(step, f"{number}.{position}"))
        return self.document(d, "\n\n".join(block for block in blocks if block) + "\n")

    def preface(self, d: Derivation) -> list[str]:
        """The blocks before the first section: title, lecture, inputs (a worksheet adds its instructions)."""
        return [self.heading(0, d.title), self.paragraph(_("Follows {lecture}.").format(lecture=d.lecture)),
                self.heading(1, _("Inputs")), self.inputs(d.inputs), self.paragraph(_(LEGEND))]

    def step(self, step: Step, label: str) -> list[str]:
        """The blocks of one step, in the order the terminal shows them."""
        blocks = [self.heading(2, f"{label} {step.title}")]
        if step.explanation:
            blocks.append(self.paragraph(step.explanation))
        if step.formula is not None:
            blocks.append(self.display(self.math(equation(step))))
        if step.full is not None and self.settings["expand"]:
            blocks.append(self.paragraph(_("In full, as SymPy derives it:")))
            blocks.append(self.display(self.math(sp.Eq(step.left, step.full, evaluate=False))))
        hidden = self.settings["hide_values"]
        for position in shown_positions(step, self.settings["elements"], self.settings["expand"]):
            numbers = worked(step, self._env, self.number, position)
            if numbers is not None:
                left, expr, value = numbers
                shown = latex(expr, self._names, keep_order=True)
                result = "?" if hidden else self.number(value)
                blocks.append(self.display(f"{self.math(left)} = {shown} = {result}" if step.index else f"= {shown}"))
        blocks.append(self.hidden(step) if hidden else self.result(step))
        if step.chart is not None and not hidden:
            blocks.append(self.table(*chart_table(step, lambda x: f"${self.number(x)}$", self.paragraph)))
        blocks.extend(self.note(note) for note in step.notes)
        if self.settings["show_code"] and step.code:
            blocks.append(self.code(step.code))
        return blocks

    def math(self, expr: Any) -> str:
        """A SymPy expression as LaTeX, with the derivation's display names."""
        return latex(expr, self._names)

    def number(self, value: float) -> str:
        """A number as LaTeX math: 0.659, 2.5 \\cdot 10^{-5}, \\infty."""
        text = super().number(value)
        if "∞" in text:
            return text.replace("∞", r"\infty")
        if "e" in text:
            mantissa, exponent = text.split("e")
            return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
        return text

    def matrix(self, value: Any) -> str:
        """A vector (one row) or matrix as a LaTeX bmatrix."""
        rows = np.atleast_2d(np.asarray(value, dtype=float))
        body = r" \\ ".join(" & ".join(self.number(x) for x in row) for row in rows)
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    def value(self, value: Any) -> str:
        """A scalar as a number, an array as a bmatrix."""
        return self.number(value) if np.ndim(value) == 0 else self.matrix(value)

    def checks(self, step: Step) -> str:
        """How the step's value was verified, in words."""
        return ", ".join(badges(step))

    def hidden(self, step: Step) -> str:
        """The result line with the value left for the reader: left side = ?."""
        return self.display(f"{self.math(step.left)} = ?")

    def shape(self, value: Any) -> str:
        """The shape in words: 'scalar', '3', '3×2' (× written for the format)."""
        return shape_text(value)

    def render_step(self, derivation: Derivation, id: str) -> str:
        """One step alone (for the quiz and worksheets); `hide_values` hides its value."""
        self.begin(derivation)
        step = derivation.find(id)
        return "\n\n".join(self.step(step, label_of(derivation, step))) + "\n"

    # Subclasses write these.
    def table(self, header: list[str], rows: list[list[str]]) -> str:
        raise NotImplementedError

    def heading(self, level: int, text: str) -> str:
        raise NotImplementedError

    def paragraph(self, text: str) -> str:
        raise NotImplementedError

    def display(self, math: str) -> str:
        raise NotImplementedError

    def result(self, step: Step) -> str:
        raise NotImplementedError

    def inputs(self, inputs: list[InputValue]) -> str:
        raise NotImplementedError

    def note(self, text: str) -> str:
        raise NotImplementedError

    def code(self, text: str) -> str:
        raise NotImplementedError

    def document(self, d: Derivation, body: str) -> str:
        raise NotImplementedError


def chart_table(step: Step, number: Callable[[float], str], text: Callable[[str], str]) -> tuple[list[str], list[list[str]]]:
    """The data of a step's chart as a table (cells already written for the format): x and
    one column per series (line), or one row per named point (points)."""
    chart, matrix = step.chart, np.atleast_2d(np.asarray(step.value, dtype=float))
    if chart.kind == "points":
        names = chart.series or [str(r) for r in range(len(matrix))]
        header = [_("point"), chart.x_label or "x", chart.y_label or "y"]
        return list(map(text, header)), [[text(name), number(x), number(y)] for name, (x, y) in zip(names, matrix[:, :2])]
    xs = chart.x or range(matrix.shape[1])
    header = [chart.x_label or "x", *(chart.series or [chart.y_label or "y"] * len(matrix))]
    return list(map(text, header)), [[number(x), *(number(v) for v in matrix[:, c])] for c, x in enumerate(xs)]
