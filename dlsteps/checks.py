"""The engine's checks: every formula against its NumPy value, every gradient against
central finite differences, every code line run. A failure raises `LessonError`: the run
stops with exit status 1 and nothing is printed as if it were fine.
"""

from __future__ import annotations

import builtins
import importlib
import types
from collections.abc import Callable, Iterator

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from dlsteps.errors import LessonError
from dlsteps.i18n import _
from dlsteps.model import CHECK_CODE, CHECK_FD, CHECK_FD_KINK, CHECK_FD_UNSETTLED, CHECK_FORMULA, Caution, Derivation, GradientCheck, Step
from dlsteps.symbolic import Maximum, used

RTOL, ATOL = 1e-9, 1e-12
"""Pairing tolerance: the formula and the NumPy trace are both float64."""

ROUNDING = 256 * np.finfo(float).eps
"""Where a formula subtracts large terms, both sides carry rounding errors of about eps
times the size of those terms, not of the result: allowed for on top of RTOL/ATOL."""

FD_STEP, FD_MAX_STEP, FD_RTOL, FD_ATOL = 1e-5, 1e-3, 1e-8, 1e-11
"""Fourth-order central differences with h = min(1e-5 max(1, |x|), 1e-3): truncation
error O(h^4). Their own error is estimated from the rounding of the loss values and
from the same difference taken with 2h, and allowed for; beyond it the gradient must
agree to 1e-8 relative, tight enough to catch a target that does not sum to 1."""


def _arguments(formula: sp.Expr, env: dict) -> list:
    """The bound symbols and indexed bases that `formula` uses."""
    symbols = used(formula)
    return [key for key in env if key in symbols]


class _ArrayPrinter(NumPyPrinter):
    """NumPy code in which the index symbols may be whole arrays of indices, and in which
    the arguments of the function being written (`arguments`: symbol or base -> name)
    have the names given them (so no symbol name has to be a Python identifier)."""

    arguments: dict = {}

    def _print_KroneckerDelta(self, expr: sp.KroneckerDelta) -> str:
        first, second = (self._print(arg) for arg in expr.args)
        return f"({self._module_format('numpy.equal')}({first}, {second}) * 1.0)"  # parenthesized: -δ is -(δ)

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.arguments.get(expr) or super()._print_Symbol(expr)

    def _print_IndexedBase(self, expr: sp.IndexedBase) -> str:
        return self.arguments.get(expr) or super()._print_IndexedBase(expr)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        base = self.arguments.get(expr.base) or str(expr.base)
        return f"{base}[{', '.join(self._print(index) for index in expr.indices)}]"

    def _print_Sum(self, expr: sp.Sum) -> str:
        """A sum Σ_k f(k) δ(a, k) over lo <= k <= hi written as f(a) where lo <= a <= hi and
        0 elsewhere (f evaluated at a clipped into the range), without the loop over k: with
        index arrays for a, the loop costs n³ for an n × n Jacobian."""
        collapsed = _delta_sum(expr)
        if collapsed is None:
            return super()._print_Sum(expr)
        rest, k, a, lo, hi = map(self._print, collapsed)
        clip, where = self._module_format("numpy.clip"), self._module_format("numpy.where")
        return f"({where}(({lo} <= ({a})) & (({a}) <= {hi}), (lambda {k}: {rest})({clip}({a}, {lo}, {hi})), 0.0))"


def _delta_sum(expr: sp.Sum) -> tuple | None:
    """(f, k, a, lo, hi) for Σ_{k=lo}^{hi} f(k) δ(a, k) with a free of k (one limit, one
    delta factor); None for any other sum."""
    if len(expr.limits) != 1:
        return None
    k, lo, hi = expr.limits[0]
    factors = sp.Mul.make_args(expr.function)
    deltas = [f for f in factors if isinstance(f, sp.KroneckerDelta) and len(f.args) == 2 and k in f.args]
    if len(deltas) != 1:
        return None
    a = deltas[0].args[1] if deltas[0].args[0] == k else deltas[0].args[0]
    if a.has(k):
        return None
    rest = [f for f in factors if f is not deltas[0]]
    return sp.Mul(*rest), k, a, lo, hi


_PRINTER = _ArrayPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True, "user_functions": {},
                          "order": "none"})  # terms as stored: sorting them for code no one reads costs a third of the writing
_COMPILED: dict = {}
"""The function of each (formula, arguments) written so far: a formula is turned into code once."""


def _source(name: str, formula: sp.Expr, arguments: tuple) -> str:
    """`def name(_0, _1, ...): return <formula as NumPy code>`, argument k named _k."""
    _PRINTER.arguments = {argument: f"_{number}" for number, argument in enumerate(arguments)}
    try:
        body = _code(formula)
    finally:
        _PRINTER.arguments = {}
    return f"def {name}({', '.join(f'_{number}' for number in range(len(arguments)))}):\n    return ({body})\n"


def _code(formula: sp.Expr) -> str:
    """The formula as one NumPy expression, as the printer's `doprint` writes it without
    the steps that concern other printing (assignments, lists, re(...) of unevaluated
    expressions), for which it imports sympy.codegen (7 ms). The printer writes constants
    in place (``inline``) and refuses what it cannot write (strict, as ``human`` printers
    are), so `doprint` would declare nothing in front of the code either."""
    return _PRINTER._print(formula)


def _names(code: types.CodeType) -> set[str]:
    """Every name the code (and the generators inside it) looks up."""
    inner = (_names(const) for const in code.co_consts if isinstance(const, types.CodeType))
    return set(code.co_names).union(*inner)


def _namespace(code: types.CodeType) -> dict:
    """What the generated code uses, as `lambdify(modules="numpy")` would bind it (NumPy's
    names, numpy.linalg's over them, then what the printer imported from other modules),
    without its ``from numpy import *``, which loads every NumPy submodule (100-150 ms)."""
    names, space = _names(code), {"numpy": np}
    for name in names:
        if name in np.linalg.__all__:
            space[name] = getattr(np.linalg, name)
        elif name in np.__all__:
            space[name] = getattr(np, name)
    for module, keys in _PRINTER.module_imports.items():  # what the printer imported from elsewhere (functools.reduce)
        for key in names & keys - space.keys():
            space[key] = getattr(importlib.import_module(module), key)
    return space | {"builtins": builtins, "range": range}


def compiled(jobs: list[tuple[sp.Expr, tuple]]) -> list[Callable]:
    """The functions of (formula, arguments) pairs: those not written yet are written into
    one source, compiled and run once (one compile per lesson, not one per step)."""
    missing = [job for job in dict.fromkeys(jobs) if job not in _COMPILED]
    if missing:
        code = compile("".join(_source(f"_formula{n}", *job) for n, job in enumerate(missing)), "<dlsteps formulas>", "exec")
        space = _namespace(code)
        exec(code, space)
        if len(_COMPILED) > 100_000:
            _COMPILED.clear()
        _COMPILED.update({job: space[f"_formula{n}"] for n, job in enumerate(missing)})
    return [_COMPILED[job] for job in jobs]


def _job(step: Step, env: dict, formula: sp.Expr) -> tuple[sp.Expr, tuple]:
    return formula, (*_arguments(formula, env), *step.index)


def evaluate(step: Step, env: dict, formula: sp.Expr | None = None) -> np.ndarray:
    """The step's formula (or `formula`) at every index of its value's shape, as NumPy code
    (written by SymPy's NumPy printer, as `lambdify` does).

    Index-form formulas (``Sum`` over ``k``, ``KroneckerDelta``) are evaluated for all
    indices at once, with each index symbol bound to an array of indices, so the
    symbolic work does not grow with the sizes of the inputs.
    """
    formula = step.formula if formula is None else formula
    job = _job(step, env, formula)
    function, = compiled([job])
    arguments = job[1][:len(job[1]) - len(step.index)]
    values = [np.asarray(env[a]) if isinstance(env[a], (list, np.ndarray)) else env[a] for a in arguments]
    shape = np.shape(step.value)
    with np.errstate(all="ignore"):
        result = function(*values, *(np.indices(shape) if step.index else ()))
    return np.broadcast_to(np.asarray(result, dtype=float), shape)


def magnitude(expr: sp.Expr) -> sp.Expr:
    """The size of the terms that rounding acts on: |a| + |b| for a + b, |a| |b| for a b,
    sums of absolute values, and for f(a) the value plus |f'(a)| times the size of a."""
    if isinstance(expr, (sp.Add, sp.Mul)):
        return expr.func(*map(magnitude, expr.args))
    if isinstance(expr, sp.Sum):
        return sp.Sum(magnitude(expr.function), *expr.limits)
    if isinstance(expr, sp.Pow) and expr.exp.is_number:
        return sp.Abs(expr) * (1 + abs(expr.exp) * magnitude(expr.base) / sp.Abs(expr.base))
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*((magnitude(e), c) for e, c in expr.args))
    if isinstance(expr, (sp.exp, sp.log, sp.tanh)) and len(expr.args) == 1:
        dummy = sp.Dummy()
        slope = expr.func(dummy).diff(dummy).subs(dummy, expr.args[0])
        return sp.Abs(expr) + sp.Abs(slope) * magnitude(expr.args[0])
    if isinstance(expr, (sp.Max, sp.Min, Maximum, sp.Abs)):
        return expr.func(*map(magnitude, expr.args)) if not isinstance(expr, Maximum) else sp.Abs(expr)
    return sp.Abs(expr)


def agree(expected: np.ndarray, actual: np.ndarray, rtol: float = RTOL, atol: float | np.ndarray = ATOL) -> bool:
    """True when two float arrays agree within tolerance, infinities included (no NaN)."""
    expected, actual = np.asarray(expected, float), np.asarray(actual, float)
    if np.isnan(expected).any() or np.isnan(actual).any():
        return False
    return bool(np.all(np.isclose(expected, actual, rtol=rtol, atol=atol)))


FD_SCALES = (1.0, 1e-2, 1e-4)
"""Where the loss curves sharply (a large weight downstream), the first step is too long
for the difference to see a straight line; the check then also tries steps 100 and
10,000 times shorter and keeps, entry by entry, the difference with the smaller error
estimate (shorter steps carry more rounding, so they never loosen a sharp check)."""


def _steps(point: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return scale * np.minimum(FD_STEP * np.maximum(1.0, np.abs(point)), FD_MAX_STEP)


OFFSETS = (4, 2, 1, -1, -2, -4)
"""Where the loss is taken along each entry, in steps h: ±h and ±2h for the difference with
h, ±2h and ±4h for the same with 2h (2h and 4h are exact doublings, so x + 2h is the same
point for both: six losses an entry, not eight)."""

BATCH = 1 << 18
"""Numbers handed to a lesson's batched loss in one call (moved points times their size,
2 MB): a large input is moved in several calls."""


def moved_points(point: np.ndarray, moves: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For every (r, k), a copy of `point` with entry k (in row-major order) moved by
    moves[r, k]: chunks of at most BATCH numbers as (rows r, entries k, points stacked on
    a first axis)."""
    n = point.size
    pairs = np.indices(moves.shape).reshape(2, -1)
    per_call = max(1, BATCH // max(n, 1))
    for first in range(0, pairs.shape[1], per_call):
        rows, entries = pairs[:, first:first + per_call]
        points = np.broadcast_to(point.ravel(), (len(rows), n)).copy()
        points[np.arange(len(rows)), entries] += moves[rows, entries]
        yield rows, entries, points.reshape(len(rows), *point.shape)


def _losses(check: GradientCheck, point: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """L(x + o h_k e_k) for every offset o in OFFSETS and every entry k, shape
    (len(OFFSETS), *x.shape): one point at a time, or in batches where the check has
    `losses`."""
    moves = np.multiply.outer(OFFSETS, steps.ravel())  # o h_k
    out = np.empty(moves.shape)
    if check.losses is None:
        for (o, k), move in np.ndenumerate(moves):
            moved = point.copy()
            moved.flat[k] += move
            out[o, k] = check.loss(moved)
    else:
        for rows, entries, points in moved_points(point, moves):
            out[rows, entries] = np.asarray(check.losses(points), dtype=float)
    return out.reshape(len(OFFSETS), *point.shape)


def finite_differences(check: GradientCheck, scale: float = 1.0, steps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fourth-order central differences for every entry k of x, (-L(x+2h) + 8L(x+h) -
    8L(x-h) + L(x-2h)) / 12h along e_k (steps h times `scale`, or the given `steps`), and
    an estimate of their error: the rounding of the loss values over h, plus the change
    when h doubles."""
    point = np.array(check.point, dtype=float)
    h = np.broadcast_to(_steps(point, scale) if steps is None else steps, point.shape)
    at = dict(zip(OFFSETS, _losses(check, point, h)))
    with np.errstate(all="ignore"):
        gradient = (-at[2] + 8 * at[1] - 8 * at[-1] + at[-2]) / (12 * h)
        doubled = (-at[4] + 8 * at[2] - 8 * at[-2] + at[-4]) / (12 * (2 * h))
        largest = np.max(np.abs([at[2], at[1], at[-1], at[-2]]), axis=0)
        error = 20 * np.finfo(float).eps * (largest + np.abs(point * gradient)) / h + np.abs(doubled - gradient)
    return np.asarray(gradient, dtype=float), np.asarray(error, dtype=float)


def comparable(check: GradientCheck) -> np.ndarray:
    """The entries whose differences do not straddle a kink (all, without kinks)."""
    point = np.array(check.point, dtype=float)
    if check.kinks is None:
        return np.ones(point.shape, dtype=bool)
    distance = np.abs(point - np.asarray(check.kinks, dtype=float))
    return (distance == 0) | (distance > 4 * _steps(point))


def allowance(step: Step, env: dict) -> np.ndarray | float:
    """The absolute tolerance for the step's value: ATOL, plus the rounding of the terms its
    formula adds and subtracts (only for a step with a formula)."""
    if step.formula is None:
        return ATOL
    with np.errstate(all="ignore"):
        size = np.nan_to_num(evaluate(step, env, magnitude(step.formula)), nan=0.0, posinf=0.0)
    return ATOL + ROUNDING * size


def pair(step: Step, env: dict, formula: sp.Expr | None = None) -> None:
    """Compare the formula (or `formula`) at the inputs with the NumPy value, allowing for
    the rounding of cancelling terms (measured only when the plain comparison fails)."""
    symbolic = evaluate(step, env, formula)
    if agree(step.value, symbolic):
        return
    if not agree(step.value, symbolic, atol=allowance(step, env)):
        raise LessonError(
            f"step {step.id!r}: the formula gives {symbolic.tolist()} but the NumPy trace gives {np.asarray(step.value).tolist()}"
        )


def check_gradient(step: Step, env: dict) -> str:
    """Compare a gradient with finite differences; returns the check's code. Where the
    first step size fails, shorter ones are tried too (see FD_SCALES and `converged`).
    Entries whose differences never settle (the loss changes faster than float64 can
    follow, e.g. exploding gradients of 1e20) are not compared, and a note says so; an
    entry whose differences settle on another value is a bug."""
    where = comparable(step.gradient)
    value = np.broadcast_to(np.asarray(step.value, dtype=float), where.shape)
    numeric, error = finite_differences(step.gradient)
    if agree(value[where], numeric[where], FD_RTOL, FD_ATOL + error[where]):
        return CHECK_FD if where.all() else CHECK_FD_KINK
    error = error + np.broadcast_to(allowance(step, env), error.shape)  # the value's own rounding, where its terms cancel
    if agree(value[where], numeric[where], FD_RTOL, FD_ATOL + error[where]):
        return CHECK_FD if where.all() else CHECK_FD_KINK
    results = [(numeric, error), *(finite_differences(step.gradient, scale) for scale in FD_SCALES[1:]),
               finite_differences(step.gradient, steps=_gradient_steps(step))]
    numeric, error = converged(results)
    error = error + np.broadcast_to(allowance(step, env), error.shape)
    wrong = where & ~np.isclose(value, numeric, rtol=FD_RTOL, atol=FD_ATOL) & ~(np.abs(value - numeric) <= FD_ATOL + error)
    unsettled = wrong & _unsettled(results)
    if (wrong & ~unsettled).any():
        raise LessonError(
            f"step {step.id!r}: finite differences give {numeric.tolist()} but the gradient is {np.asarray(step.value).tolist()}"
        )
    if unsettled.any():
        entries = ", ".join(map(str, [tuple(map(int, p)) if len(p) > 1 else int(p[0]) for p in np.argwhere(unsettled)][:6]))
        step.notes += (Caution(_("finite differences do not settle at entries {entries}: the loss changes there faster than float64 can follow, so those entries are checked by the formula and the code alone").format(entries=entries)),)
        return CHECK_FD_UNSETTLED
    return CHECK_FD if where.all() else CHECK_FD_KINK


def _unsettled(results: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Entries whose differences disagree among the step sizes by more than 1%."""
    values = np.array([numeric for numeric, _error in results])
    spread = values.max(axis=0) - values.min(axis=0)
    return spread > 1e-2 * np.abs(values).max(axis=0)


def _gradient_steps(step: Step) -> np.ndarray:
    """Steps short enough that the loss moves by about 1e-6 of its size along each entry,
    judged by the gradient itself (for a loss that is steep far beyond its curvature scale)."""
    point = np.array(step.gradient.point, dtype=float)
    scale = 1.0 + abs(step.gradient.loss(point))
    slope = np.abs(np.broadcast_to(np.asarray(step.value, dtype=float), point.shape))
    with np.errstate(divide="ignore"):
        steps = np.where(slope > 0, 1e-6 * scale / slope, np.inf)
    return np.clip(steps, 1e-300, _steps(point, FD_SCALES[-1]))


def converged(results: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """From differences taken with ever shorter steps, entry by entry the one with the
    smallest error, where a step's error is at least its disagreement with the next shorter
    step (a step too long for a sharp curve has not converged, however steady it looks)."""
    numeric, error = results[-1]
    for (longer, longer_error), (shorter, _shorter_error) in reversed(list(zip(results, results[1:]))):
        revised = np.maximum(longer_error, np.abs(longer - shorter))
        better = revised < error
        numeric, error = np.where(better, longer, numeric), np.where(better, revised, error)
    return numeric, error


def check_step(step: Step, env: dict) -> None:
    """Pair one step's formula with its value and its gradient with finite differences."""
    if step.value is not None and np.isnan(np.asarray(step.value, float)).any():
        raise LessonError(f"step {step.id!r}: the NumPy trace produced NaN")
    if step.formula is not None:
        pair(step, env)
        if step.full is not None:
            pair(step, env, step.full)
        step.check.append(CHECK_FORMULA)
    if step.gradient is not None:
        step.check.append(check_gradient(step, env))


def namespace(derivation: Derivation) -> dict:
    """The namespace the code lines run in: NumPy as np, the helpers, the inputs by `var`."""
    space: dict = {"np": np}
    for source in derivation.prelude:
        exec(source, space)
    for item in derivation.inputs:
        space[item.var] = np.array(item.value, dtype=float) if isinstance(item.value, (list, np.ndarray)) else item.value
    return space


def run_code(derivation: Derivation) -> None:
    """Run every step's code line in order; each must leave the step's value in its `var`
    (within the same rounding allowance as the pairing)."""
    space = namespace(derivation)
    for step in derivation.steps():
        try:
            with np.errstate(all="ignore"):
                exec(step.code, space)
            result = space[step.var]
        except Exception as error:
            raise LessonError(f"step {step.id!r}: its code line {step.code!r} fails: {error!r}") from None
        result = np.broadcast_to(np.asarray(result, dtype=float), np.shape(step.value))
        if not (agree(step.value, result) or agree(step.value, result, atol=allowance(step, derivation.env))):
            raise LessonError(f"step {step.id!r}: its code line gives {np.asarray(result).tolist()}, not {np.asarray(step.value).tolist()}")
        step.check.append(CHECK_CODE)


def check(derivation: Derivation) -> Derivation:
    """Check every step of `derivation` (see `check_step`, `run_code`); returns it."""
    try:  # one compile for the lesson; a formula that cannot be written fails at its own step below
        compiled([_job(step, derivation.env, step.formula) for step in derivation.steps() if step.formula is not None])
    except Exception:
        pass
    for step in derivation.steps():
        check_step(step, derivation.env)
    run_code(derivation)
    return derivation
