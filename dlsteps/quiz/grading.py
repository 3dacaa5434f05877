"""The grading core shared by the quiz and the marking of a hand calculation.

An answer is text in the input syntax (``0.62``, ``1/3``, ``0.1,0.2``, ``"1,2;3,4"``),
read exactly and compared with the expected value entry by entry. An entry is right
when it lies within the `Tolerance` of any of the references: the exact value, and the
value the formula gives from the earlier values *as shown* (rounded to the shown
precision), since that is what a learner computes from the screen. The same
`evaluate_with` that makes the second reference re-evaluates a step's formula with a
learner's own earlier answers in place of ours ("right given your earlier values").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from dlsteps.errors import InputError
from dlsteps.i18n import _

_DECIMAL = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?"
_NUMBER = re.compile(rf"({_DECIMAL})(?:/({_DECIMAL}))?")
LARGEST = 1e300
ABSOLUTE = 1e-9
"""Below this fraction of the step's scale a difference is float rounding (a cancelling
sum printed as 2.2e-17 is right when answered 0)."""


@dataclass(frozen=True)
class Tolerance:
    """Right within `relative` of the reference, or within `absolute` (rounding noise).

    At the shown precision p (significant digits) the relative tolerance is half a unit
    in the p-th significant digit of a number that starts with 1: 5·10^-p (0.05 % at p = 4).
    """

    precision: int = 4
    scale: float = 1.0

    @property
    def relative(self) -> float:
        return max(5 * 10.0 ** -self.precision, 1e-13)

    @property
    def absolute(self) -> float:
        return ABSOLUTE * max(1.0, self.scale)

    def describe(self) -> str:
        """One line for the screen: how close an answer must be."""
        return _("An answer is right within {percent} % of the value ({digits} significant digits; --precision changes it), "
                 "also when worked from the earlier values as shown.").format(percent=f"{100 * self.relative:g}", digits=self.precision)


@dataclass(frozen=True)
class Verdict:
    """The judgement of one answer: `right` when every entry is; `wrong` lists the
    positions of the entries that are not; `answer` is what was read."""

    right: bool
    answer: np.ndarray
    wrong: tuple[tuple[int, ...], ...] = field(default=())


def parse_number(token: str, what: str) -> float:
    """One number in the input syntax (``-2``, ``1e-3``, ``.5``, ``1/3``), read exactly."""
    match = _NUMBER.fullmatch(token.strip())
    if not match:
        raise InputError(_("{what}: '{token}' is not a number (write e.g. 0.5, -2, 1e-3 or 1/3)").format(what=what, token=token.strip()))
    value, denominator = Fraction(match.group(1)), Fraction(match.group(2) or 1)
    if denominator == 0:
        raise InputError(_("{what}: '{token}' divides by zero").format(what=what, token=token.strip()))
    value /= denominator
    if abs(value) > LARGEST:
        raise InputError(_("{what}: '{token}' is too large for a float").format(what=what, token=token.strip()))
    return float(value)


def parse_answer(text: str, shape: tuple[int, ...], what: str | None = None) -> np.ndarray:
    """`text` read as an array of `shape` (a scalar, a vector, or rows split by ``;``)."""
    what = what or _("answer")
    text = text.strip().strip("\"'")
    if not text:
        raise InputError(_("{what}: nothing typed").format(what=what))
    rows = [[parse_number(token, what) for token in row.split(",")] for row in text.split(";")]
    if len({len(row) for row in rows}) != 1:
        raise InputError(_("{what}: rows of different lengths in '{text}'").format(what=what, text=text))
    array = np.array(rows, dtype=float)
    if len(shape) < 2:
        array = array.reshape(-1) if len(shape) == 1 or array.size != 1 else array.reshape(())
    if array.shape != tuple(shape):
        raise InputError(_("{what}: expected {expected}, got {got} in '{text}'").format(
            what=what, expected=_shape_words(shape), got=_shape_words(array.shape), text=text))
    return array


def _shape_words(shape: tuple[int, ...]) -> str:
    if not shape:
        return _("one number")
    if len(shape) == 1:
        return _("{n} numbers separated by commas").format(n=shape[0])
    return _("{rows} rows of {columns} (rows split by ;)").format(rows=shape[0], columns=shape[1])


def within(answer: np.ndarray, references: list[np.ndarray], tolerance: Tolerance) -> np.ndarray:
    """Entry by entry: True where the answer is within tolerance of some reference."""
    answer = np.asarray(answer, dtype=float)
    close = np.zeros(answer.shape, dtype=bool)
    for reference in references:
        reference = np.broadcast_to(np.asarray(reference, dtype=float), answer.shape)
        with np.errstate(invalid="ignore"):
            limit = np.maximum(tolerance.relative * np.abs(reference), tolerance.absolute)
            close |= np.isfinite(reference) & (np.abs(answer - reference) <= limit)
    return close


def grade(text: str, expected: Any, tolerance: Tolerance, others: tuple = ()) -> Verdict:
    """Read `text` with the shape of `expected` and judge it against `expected` and the
    `others` references; an unreadable answer raises `InputError` (one line)."""
    expected = np.asarray(expected, dtype=float)
    answer = parse_answer(text, expected.shape)
    close = within(answer, [expected, *others], tolerance)
    wrong = tuple(tuple(int(i) for i in position) for position in zip(*np.nonzero(~close))) if close.ndim else (() if close else ((),))
    return Verdict(bool(close.all()), answer, wrong)


def rounded(value: Any, precision: int) -> Any:
    """`value` rounded to `precision` significant digits, as the printers show it (whole
    numbers, such as indices, as they are)."""
    if np.issubdtype(np.asarray(value).dtype, np.integer):
        return value
    if np.ndim(value) == 0:
        number = float(value)
        return number if not math.isfinite(number) else float(f"{number:.{precision}g}")
    return np.vectorize(lambda x: rounded(x, precision), otypes=[float])(np.asarray(value, dtype=float))


def evaluate_with(derivation: Any, step: Any, replaced: dict[str, Any]) -> np.ndarray | None:
    """The step's formula evaluated with the values of some inputs or earlier steps
    replaced (`replaced`: id -> value); None for a step without a formula."""
    from dlsteps.checks import evaluate

    if step.formula is None:
        return None
    env = dict(derivation.env)
    for id, value in replaced.items():
        original = derivation.find(id).value
        kind = int if np.issubdtype(np.asarray(original).dtype, np.integer) else float  # indices stay whole numbers
        env[derivation.find(id).symbol] = np.asarray(value, dtype=kind) if np.ndim(value) else kind(value)
    with np.errstate(all="ignore"):
        return np.asarray(evaluate(step, env), dtype=float)


def shown_reference(derivation: Any, step: Any, precision: int) -> np.ndarray | None:
    """The step's value worked from its dependencies rounded as shown (None without a formula)."""
    replaced = {id: rounded(derivation.find(id).value, precision) for id in step.depends_on
                if _numeric(derivation.find(id).value)}
    try:
        return evaluate_with(derivation, step, replaced)
    except (ArithmeticError, TypeError, ValueError, IndexError):
        return None


def _numeric(value: Any) -> bool:
    try:
        np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def scale_of(value: Any) -> float:
    """The largest finite magnitude in a step's value (for the absolute tolerance)."""
    array = np.abs(np.asarray(value, dtype=float))
    finite = array[np.isfinite(array)]
    return float(finite.max()) if finite.size else 1.0
