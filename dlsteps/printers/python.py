"""The Python printer: a standalone NumPy script that recomputes the whole lesson.

The script holds the inputs at the user's numbers, the helper definitions the code lines
call, and one block per step: its title and formula as comments, the code line that the
engine ran, and an assertion against the value dlsteps printed. Run it with
``python script.py``; it prints how many values agreed, or stops at the first that does not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.model import Derivation, InputValue, Step
from dlsteps.printers.base import Printer
from dlsteps.printers.formulas import equation

CHECK = '''def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)
'''


def literal(value: Any) -> str:
    """A value as Python source: floats at full precision, np.inf, np.array([...]), text as a string."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return repr(int(value))
    if np.ndim(value):
        return f"np.array({_nested(np.asarray(value, dtype=float))})"
    return _number(float(value))


def _nested(array: np.ndarray) -> str:
    if array.ndim == 0:
        return _number(float(array))
    return "[" + ", ".join(_nested(part) for part in array) + "]"


def _number(x: float) -> str:
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x + 0.0)


class PythonPrinter(Printer):
    """Prints a Derivation as a Python script (see the module docstring)."""

    def _print_Derivation(self, d: Derivation) -> str:
        head = [f'"""dlsteps {d.lesson}: {d.title} ({d.lecture}).', "",
                "Recomputes every step with NumPy at the inputs below and asserts each value.", '"""', "",
                "import numpy as np", "", CHECK, *d.prelude, "# Inputs"]
        body = [self.doprint(item) for item in d.inputs]
        for number, section in enumerate(d.sections, start=1):
            body.append(f"\n# {number}. {section.title}")
            body.extend(self.doprint(step) for step in section.steps)
        count = len(d.steps())
        tail = [f'\nprint("dlsteps {d.lesson}: all {count} values agree")']
        return "\n".join(head + body + tail) + "\n"

    def _print_InputValue(self, item: InputValue) -> str:
        value = item.value if isinstance(item.value, (str, int)) else np.asarray(item.value, dtype=float)
        return f"{item.var} = {literal(value)}  # {item.name}"

    def _print_Step(self, step: Step) -> str:
        lines = [f"\n# {step.id}: {step.title}"]
        if step.formula is not None:
            lines.append(f"#   {sp.sstr(equation(step), order='none')}")
        lines += [step.code, f"check({step.var}, {literal(step.value)})"]
        return "\n".join(lines)


def render(derivation: Derivation, **settings: Any) -> str:
    """`derivation` as a Python script."""
    return PythonPrinter(**settings).doprint(derivation)
