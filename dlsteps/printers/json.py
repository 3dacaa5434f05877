"""The JSON printer: the whole Derivation at full float64 precision (the scripts' contract).

Schema (documented in README): lesson, title, lecture, inputs[] (name, symbol, shape,
value, text, origin), sections[] (title, explanation, steps[] with id, title,
explanation, formula (LaTeX), formula_full (the formula in full where formula is a
compact form, else null), value, shape, depends_on, code, check, notes, cautions (the
notes that warn), chart: null or how the value is plotted (kind line|points, x, series,
x_label, y_label)).
Non-finite numbers, which JSON cannot hold, are written as the strings "inf" and "-inf".
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.i18n import speaking
from dlsteps.model import Caution, Derivation, InputValue, Section, Step
from dlsteps.printers.base import Printer, shape_of
from dlsteps.printers.formulas import equation, latex

SCHEMA_VERSION = 1


def plain(value: Any) -> Any:
    """A number or array as JSON data: floats at full precision, nested lists for arrays."""
    if isinstance(value, str) or value is None:
        return value
    array = np.asarray(value, dtype=float)
    if array.ndim:
        return [plain(x) for x in array]
    x = float(array) + 0.0
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


class JsonPrinter(Printer):
    """Prints a Derivation as a JSON document."""

    def _print_Derivation(self, d: Derivation) -> dict:
        self._names = d.names
        return {
            "schema": SCHEMA_VERSION,
            "lesson": d.lesson,
            "title": d.title,
            "lecture": d.lecture,
            "inputs": [self.doprint(item) for item in d.inputs],
            "sections": [self.doprint(section) for section in d.sections],
        }

    def _print_InputValue(self, item: InputValue) -> dict:
        return {"name": item.name, "symbol": latex(item.symbol, self._names), "shape": list(shape_of(item.value)),
                "value": plain(item.value), "text": item.text, "origin": item.origin}

    def _print_Section(self, section: Section) -> dict:
        return {"title": section.title, "explanation": section.explanation,
                "steps": [self.doprint(step) for step in section.steps]}

    def math(self, expr: Any) -> str:
        """LaTeX of `expr`, the same in every language (a case's "for"/"otherwise" in
        English): scripts compare formulas across languages."""
        with speaking("en"):
            return latex(expr, self._names)

    def _print_Step(self, step: Step) -> dict:
        return {
            "id": step.id,
            "title": step.title,
            "explanation": step.explanation,
            "formula": self.math(equation(step)) if step.formula is not None else None,
            "formula_full": self.math(sp.Eq(step.left, step.full, evaluate=False)) if step.full is not None else None,
            "value": plain(step.value),
            "shape": list(shape_of(step.value)),
            "depends_on": list(step.depends_on),
            "code": step.code,
            "check": list(step.check),
            "notes": list(step.notes),
            "cautions": [note for note in step.notes if isinstance(note, Caution)],
            "chart": None if step.chart is None else {"kind": step.chart.kind, "x": list(step.chart.x), "series": list(step.chart.series),
                                                      "x_label": step.chart.x_label, "y_label": step.chart.y_label},
        }


def render(derivation: Derivation, **settings: Any) -> str:
    """`derivation` as indented JSON text."""
    return json.dumps(JsonPrinter(**settings).doprint(derivation), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
