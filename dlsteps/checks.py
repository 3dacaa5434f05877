"""The engine's checks: every formula against its NumPy value, every gradient against
central finite differences. A failure raises `LessonError`: the run stops with exit
status 1 and nothing is printed as if it were fine.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from dlsteps.i18n import _
from dlsteps.model import Derivation, GradientCheck, LessonError, Step

RTOL, ATOL = 1e-9, 1e-12
"""Pairing tolerance: the formula and the NumPy trace are both float64."""

FD_STEP, FD_MAX_STEP, FD_RTOL, FD_ATOL = 1e-5, 1e-3, 1e-5, 1e-8
"""Fourth-order central differences with h = min(1e-5 max(1, |x|), 1e-3): truncation
error O(h^4) even where the loss curves on a scale of 1 far from the origin (softmax
of large logits); rounding error about eps (|L| + |x| |dL/dx|) / h, allowed for."""


def _arguments(formula: sp.Expr, env: dict) -> list:
    """The bound symbols and indexed bases that `formula` uses."""
    bases = {indexed.base for indexed in formula.atoms(sp.Indexed)}
    free = formula.free_symbols
    return [key for key in env if key in bases or key in free]


class _ArrayPrinter(NumPyPrinter):
    """NumPy code in which the index symbols may be whole arrays of indices."""

    def _print_KroneckerDelta(self, expr: sp.KroneckerDelta) -> str:
        first, second = (self._print(arg) for arg in expr.args)
        return f"{self._module_format('numpy.equal')}({first}, {second}) * 1.0"


_PRINTER = _ArrayPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True, "user_functions": {}})


def evaluate(step: Step, env: dict) -> np.ndarray:
    """The step's formula evaluated at every index of its value's shape, via `lambdify`.

    Index-form formulas (``Sum`` over ``k``, ``KroneckerDelta``) are evaluated for all
    indices at once, with each index symbol bound to an array of indices, so the
    symbolic work does not grow with the sizes of the inputs.
    """
    arguments = _arguments(step.formula, env)
    function = sp.lambdify(arguments + list(step.index), step.formula, modules="numpy", printer=_PRINTER)
    values = [np.asarray(env[a]) if isinstance(env[a], (list, np.ndarray)) else env[a] for a in arguments]
    shape = np.shape(step.value)
    with np.errstate(all="ignore"):
        result = function(*values, *(np.indices(shape) if step.index else ()))
    return np.broadcast_to(np.asarray(result, dtype=float), shape)


def agree(expected: np.ndarray, actual: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """True when two float arrays agree within tolerance, infinities included (no NaN)."""
    expected, actual = np.asarray(expected, float), np.asarray(actual, float)
    if np.isnan(expected).any() or np.isnan(actual).any():
        return False
    return bool(np.allclose(expected, actual, rtol=rtol, atol=atol))


def _steps(point: np.ndarray) -> np.ndarray:
    return np.minimum(FD_STEP * np.maximum(1.0, np.abs(point)), FD_MAX_STEP)


def finite_differences(check: GradientCheck) -> tuple[np.ndarray, float]:
    """Fourth-order central differences for every entry k of x, and their rounding error:
    (-L(x + 2h) + 8 L(x + h) - 8 L(x - h) + L(x - 2h)) / 12h along e_k."""
    point = np.array(check.point, dtype=float)
    gradient = np.empty_like(point)
    rounding = 0.0
    for position, h in np.ndenumerate(_steps(point)):
        values = []
        for offset in (2, 1, -1, -2):
            moved = point.copy()
            moved[position] += offset * h
            values.append(check.loss(moved))
        gradient[position] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
        scale = max(map(abs, values)) + abs(point[position] * gradient[position])
        rounding = max(rounding, 2 * np.finfo(float).eps * scale / h)
    return gradient, rounding


def comparable(check: GradientCheck) -> np.ndarray:
    """The entries whose differences do not straddle a kink (all, without kinks)."""
    point = np.array(check.point, dtype=float)
    if check.kinks is None:
        return np.ones(point.shape, dtype=bool)
    distance = np.abs(point - np.asarray(check.kinks, dtype=float))
    return (distance == 0) | (distance > 2 * _steps(point))


def check_step(step: Step, env: dict) -> None:
    """Pair one step's formula with its value and its gradient with finite differences."""
    if step.value is not None and np.isnan(np.asarray(step.value, float)).any():
        raise LessonError(f"step {step.id!r}: the NumPy trace produced NaN")
    if step.formula is not None:
        symbolic = evaluate(step, env)
        if not agree(step.value, symbolic):
            raise LessonError(
                f"step {step.id!r}: the formula gives {symbolic.tolist()} but the NumPy trace gives {np.asarray(step.value).tolist()}"
            )
        step.check.append(_("formula = NumPy"))
    if step.gradient is not None:
        numeric, rounding = finite_differences(step.gradient)
        where = comparable(step.gradient)
        value = np.broadcast_to(np.asarray(step.value, dtype=float), where.shape)
        if not agree(value[where], numeric[where], FD_RTOL, FD_ATOL + 10 * rounding):
            raise LessonError(
                f"step {step.id!r}: finite differences give {numeric.tolist()} but the gradient is {np.asarray(step.value).tolist()}"
            )
        step.check.append(_("finite differences") if where.all() else _("finite differences (not across a kink)"))


def check(derivation: Derivation) -> Derivation:
    """Check every step of `derivation` (see `check_step`); returns it for chaining."""
    for step in derivation.steps():
        check_step(step, derivation.env)
    return derivation
