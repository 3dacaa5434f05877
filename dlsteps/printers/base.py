"""The printer base: dispatch on the kind of thing to print, settings with defaults.

In the spirit of SymPy's ``Printer``: `Printer.doprint(obj)` calls ``_print_<Class>`` for
the first class in ``type(obj).__mro__`` that has such a method. Settings have defaults
and unknown keys are rejected. Subclasses print Derivation, Section, Step, InputValue.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Iterator

import numpy as np

from dlsteps.i18n import N_, _


BADGES = {
    "formula = NumPy": N_("formula"),
    "finite differences": N_("gradient"),
    "finite differences (not across a kink)": N_("gradient (not across a kink)"),
    "finite differences (where they settle)": N_("gradient (where it settles)"),
    "code ran": N_("code"),
}
"""What a student reads for each check code (model.CHECKS); JSON keeps the codes."""

LEGEND = N_("✓ formula: the formula, evaluated at your numbers, gives the value shown. "
            "✓ gradient: nudging each input a little (finite differences) changes the loss by this gradient. "
            "✓ code: the NumPy line (shown with --code) ran and gave the same value.")
"""The legend of the check badges, printed once before the steps."""


def marker(note: str) -> str:
    """⚠ before a caution (`model.Caution`), • before a remark."""
    from dlsteps.model import Caution

    return "⚠" if isinstance(note, Caution) else "•"


def badges(step: Any) -> list[str]:
    """The step's checks in a student's words, translated."""
    return [_(BADGES.get(code, code)) for code in step.check]


class Printer:
    """Base of every output format; subclasses add ``_print_<Class>`` methods.

    Settings every printer has: `precision` (significant digits), `show_code`,
    `hide_values` (a worksheet's blanks), `elements` (the entries of arrays to work out,
    e.g. ((1,), (0, 2)): --element) and `expand` (every entry of a small array worked
    out, and formulas in full: --expand).
    """

    default_settings: dict[str, Any] = {"precision": 4, "show_code": False, "hide_values": False, "elements": (), "expand": False}

    def __init__(self, **settings: Any) -> None:
        unknown = set(settings) - set(self.default_settings)
        if unknown:
            raise TypeError(f"unknown settings for {type(self).__name__}: {', '.join(sorted(unknown))}")
        self.settings = {**self.default_settings, **settings}

    def begin(self, derivation: Any) -> None:
        """Remember the derivation's symbol values and display names (for formulas)."""
        self._env, self._names = derivation.env, derivation.names

    def doprint(self, obj: Any) -> Any:
        """Print `obj` with the method for the most specific class that has one."""
        for cls in type(obj).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(obj)
        raise TypeError(f"{type(self).__name__} cannot print {type(obj).__name__}")

    def number(self, value: float) -> str:
        """A number at the shown precision (significant digits); -0 as 0, infinity as ∞."""
        value = float(value)
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value + 0.0:.{self.settings['precision']}g}"


def blocks(value: Any, rows: int, columns: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(first row, first column, part): a vector or matrix cut into parts of at most
    `rows` × `columns` entries, so wide or long arrays stay readable (a vector is one row)."""
    matrix = np.atleast_2d(np.asarray(value, dtype=float))
    for top in range(0, matrix.shape[0], rows):
        for first in range(0, matrix.shape[1], columns):
            yield top, first, matrix[top:top + rows, first:first + columns]


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of a scalar (), vector (n,) or matrix (n, m)."""
    return tuple(np.shape(value))


def shape_text(value: Any) -> str:
    """A shape in words: 'scalar', '3', '3×2', or 'text' for words."""
    if isinstance(value, str):
        return _("text")
    shape = shape_of(value)
    return "×".join(map(str, shape)) if shape else _("scalar")


def label_of(derivation: Any, step: Any) -> str:
    """The step's number as printed, e.g. '2.3' for the third step of the second section."""
    for number, section in enumerate(derivation.sections, start=1):
        if step in section.steps:
            return f"{number}.{section.steps.index(step) + 1}"
    raise LookupError(step.id)
