"""The engine's checks: every formula against its NumPy value, every gradient against
central finite differences. A failure raises `LessonError`: the run stops with exit
status 1 and nothing is printed as if it were fine.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from dlsteps.i18n import _
from dlsteps.model import Derivation, GradientCheck, LessonError, Step

RTOL, ATOL = 1e-9, 1e-12
"""Pairing tolerance: the formula and the NumPy trace are both float64."""

FD_STEP, FD_RTOL, FD_ATOL = 1e-6, 1e-5, 1e-7
"""Central differences (f(x+h) - f(x-h)) / 2h have error O(h^2) plus rounding O(eps/h)."""


def _arguments(formula: sp.Expr, env: dict) -> list:
    """The bound symbols and indexed bases that `formula` uses."""
    bases = {indexed.base for indexed in formula.atoms(sp.Indexed)}
    free = formula.free_symbols
    return [key for key in env if key in bases or key in free]


def evaluate(step: Step, env: dict) -> np.ndarray:
    """The step's formula evaluated at every index of its value's shape, via `lambdify`.

    Index-form formulas (``Sum`` over ``k``, ``KroneckerDelta``) are evaluated element by
    element, so the symbolic work does not grow with the sizes of the inputs.
    """
    arguments = _arguments(step.formula, env)
    function = sp.lambdify(arguments + list(step.index), step.formula, modules="numpy")
    values = [np.asarray(env[a]) if isinstance(env[a], (list, np.ndarray)) else env[a] for a in arguments]
    shape = np.shape(step.value)
    result = np.empty(shape)
    with np.errstate(all="ignore"):
        for position in np.ndindex(shape):
            result[position] = function(*values, *position)
    return result


def agree(expected: np.ndarray, actual: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """True when two float arrays agree within tolerance, infinities included (no NaN)."""
    expected, actual = np.asarray(expected, float), np.asarray(actual, float)
    if np.isnan(expected).any() or np.isnan(actual).any():
        return False
    return bool(np.allclose(expected, actual, rtol=rtol, atol=atol))


def finite_differences(check: GradientCheck) -> np.ndarray:
    """Central differences (L(x + h e_k) - L(x - h e_k)) / 2h for every entry k of x."""
    point = np.array(check.point, dtype=float)
    gradient = np.empty_like(point)
    for position in np.ndindex(point.shape):
        h = FD_STEP * max(1.0, abs(point[position]))
        up, down = point.copy(), point.copy()
        up[position] += h
        down[position] -= h
        gradient[position] = (check.loss(up) - check.loss(down)) / (2 * h)
    return gradient


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
        numeric = finite_differences(step.gradient)
        if not agree(step.value, numeric, FD_RTOL, FD_ATOL):
            raise LessonError(
                f"step {step.id!r}: finite differences give {numeric.tolist()} but the gradient is {np.asarray(step.value).tolist()}"
            )
        step.check.append(_("finite differences"))


def check(derivation: Derivation) -> Derivation:
    """Check every step of `derivation` (see `check_step`); returns it for chaining."""
    for step in derivation.steps():
        check_step(step, derivation.env)
    return derivation
