"""Formulas for printers: a step's equation, its numbers substituted, as Unicode or LaTeX.

Unicode comes from SymPy's pretty printer, with indexed symbols written as subscripts
(o_i rather than o[i]); LaTeX from SymPy's `latex`. Both keep the order in which a
lesson wrote its terms.
"""

from __future__ import annotations

import builtins
import itertools
import sys
import types
from collections.abc import Callable

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_use_unicode, sub
from sympy.printing.pretty.stringpict import prettyForm

from dlsteps.model import Step

def written(terms: sp.Add) -> bool:
    """Whether a sum was built unevaluated, in the order the lesson wrote it (its terms
    differ from SymPy's canonical order); such a sum is printed as written."""
    with sp.evaluate(True):
        return terms.args != sp.Add(*terms.args).args


class _NoUnits:
    """Stands in for `sympy.physics.units` where that package is not loaded yet: no
    expression can hold a unit quantity then, so no object is a `Quantity`."""

    class Quantity:
        pass


def _without_units(method: types.FunctionType) -> types.FunctionType:
    """SymPy's `method` with its ``from sympy.physics.units import Quantity`` answered by
    `_NoUnits` while the units are not loaded. PrettyPrinter._print_Mul imports them to
    sort unit quantities last in a product; loading all of physics.units for that costs
    150-190 ms at the first product, and no dlsteps formula has a unit."""
    def importer(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "sympy.physics.units" and name not in sys.modules:
            return _NoUnits
        return builtins.__import__(name, globals, locals, fromlist, level)

    space = {**method.__globals__, "__builtins__": {**vars(builtins), "__import__": importer}}
    return types.FunctionType(method.__code__, space, method.__name__, method.__defaults__, method.__closure__)


def lecture_order(terms: list) -> list:
    """The terms of a sum as a lecture writes them: those with a plus sign first, then those
    with a minus sign, each group in SymPy's order (w - η⋅g, not SymPy's -η⋅g + w; ŷ - t;
    o_i - m; 1 - 2⋅η⋅λ)."""
    return [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]


def in_lecture_order(expr: sp.Basic) -> sp.Basic:
    """`expr` with the terms of every sum stored plus signs first (`lecture_order`, keeping
    the order of a sum written out term by term; a sum the lesson wrote unevaluated as
    written), so numbers put in place of its symbols stay in the order printed."""
    with sp.evaluate(False):
        return expr.replace(lambda e: isinstance(e, sp.Add) and not written(e),
                            lambda e: sp.Add(*lecture_order(list(e.args)), evaluate=False))


class _LectureOrder:
    """Sums printed as the lesson wrote them (unevaluated), else in `lecture_order`."""

    def _as_ordered_terms(self, expr, order=None):
        if isinstance(expr, sp.Add) and written(expr):
            return list(expr.args)
        terms = super()._as_ordered_terms(expr, order)  # type: ignore[misc]
        return lecture_order(terms) if isinstance(expr, sp.Add) else terms


class _UnicodePrinter(_LectureOrder, PrettyPrinter):
    """SymPy's pretty printer with o[i] written o_i, max for Max, display names, and sums
    in the lecture's order (`_LectureOrder`)."""

    def __init__(self, settings: dict, names: dict[str, str]) -> None:
        super().__init__(settings)
        self.names = names

    def _print_Indexed(self, expr: sp.Indexed):
        label = str(expr.base.label)
        label = self.names.get(label, str(self._print(expr.base.label)))
        return prettyForm(label + subscript([str(index).replace(" ", "") for index in expr.indices]))

    def _print_IndexedBase(self, expr: sp.IndexedBase):
        return self._print(expr.label)

    def _print_Symbol(self, expr: sp.Symbol, bold_name: bool = False):
        if expr.name in self.names:
            return prettyForm(self.names[expr.name])
        return super()._print_Symbol(expr, bold_name)

    def _print_Derivative(self, deriv: sp.Derivative):
        """A first derivative of a symbol as the fraction ∂y/∂x (SymPy writes d/dx (y))."""
        (variable, order), = deriv.variable_count
        if order != 1 or not isinstance(deriv.expr, (sp.Symbol, sp.Indexed)):
            return super()._print_Derivative(deriv)
        top = prettyForm(*self._print(deriv.expr).left("∂"))
        return top / prettyForm(*self._print(variable).left("∂"))

    _print_Mul = _without_units(PrettyPrinter._print_Mul)

    def _print_Max(self, expr: sp.Max):
        return self._print_Function(expr, func_name="max")

    def _print_Min(self, expr: sp.Min):
        return self._print_Function(expr, func_name="min")


def _sub(char: str) -> str | None:
    """The Unicode subscript of a character: SymPy's table, plus ⱼ (U+2C7C), which it lacks."""
    return sub.get(char) or {"j": "ⱼ"}.get(char)


def subscript(indices: list[str]) -> str:
    """Indices as Unicode subscripts (ᵢⱼ) where every character has one, else _i,j."""
    text = "".join(indices) if all(len(index) == 1 for index in indices) else ",".join(indices)
    if pretty_use_unicode() and all(_sub(char) for char in text):
        return "".join(_sub(char) for char in text)
    return "_" + text


def unicode(expr: sp.Basic, names: dict | None = None, keep_order: bool = False, width: int | None = None, ascii: bool = False) -> str:
    """`expr` as multi-line Unicode art (ASCII art with `ascii`, for a terminal that cannot
    show Unicode); `keep_order` keeps terms as written (for numbers); art wider than
    `width` columns is cut into slices stacked one under the other."""
    settings = {"use_unicode": not ascii, "wrap_line": width is not None, "num_columns": width}
    shown = {"ell": "ℓ", **{key: pair[0] for key, pair in (names or {}).items()}}
    previous = pretty_use_unicode(not ascii)  # SymPy's own default follows stdout's encoding; ours is the printer's
    try:
        return _UnicodePrinter({**settings, "order": "none"} if keep_order else settings, shown).doprint(expr)
    finally:
        pretty_use_unicode(previous)


class _LatexPrinter(_LectureOrder, LatexPrinter):
    """SymPy's LaTeX printer, with sums in the lecture's order (`_LectureOrder`)."""


def latex(expr: sp.Basic, names: dict | None = None, keep_order: bool = False) -> str:
    """`expr` as LaTeX math (without dollar signs); `keep_order` keeps terms as stored (for numbers)."""
    symbols = {symbol: names[symbol.name][1] for symbol in expr.atoms(sp.Symbol) if symbol.name in (names or {})}
    settings = {"order": "none", "mul_symbol": "dot"} if keep_order else {}
    return _LatexPrinter({"symbol_names": symbols, "diff_operator": r"\partial", **settings}).doprint(expr)


def equation(step: Step) -> sp.Basic:
    """The step as ``left = formula``."""
    return sp.Eq(step.left, step.formula, evaluate=False)


MAX_NUMBERS = 24
"""A worked element with more numbers than this is not written out (it would not be read)."""


def worked(step: Step, env: dict, number: Callable[[float], str]) -> tuple[sp.Basic, sp.Basic, float] | None:
    """The step worked out with the user's numbers: (left side, formula with numbers, value).

    A scalar step is worked out when it asks for it (`substitute`); a vector or matrix
    step at its first element (index 0, 0; row 1 of a recurrence, whose row 0 is its
    start), so every array shows one entry by hand.
    Sums over a bound size are written out term by term first. Each number becomes a
    symbol named by its shown text (negative ones in parentheses), so nothing is
    re-evaluated or reordered. None where that is not possible or would not be read.
    """
    if step.formula is None or not (step.substitute or step.index) or np.size(step.value) == 0:
        return None
    position = {symbol: 0 for symbol in step.index}
    if step.recurrence and step.index and np.shape(step.value)[0] > 1:
        position[step.index[0]] = 1  # a recurrence: row 0 is its start, row 1 shows the rule
    used = step.formula.free_symbols
    sizes = {s: v for s, v in env.items() if s in used and isinstance(s, sp.Symbol) and isinstance(v, int)}
    expr = in_lecture_order(_branch(expanded(step.formula.xreplace({s: sp.Integer(v) for s, v in {**sizes, **position}.items()})), env))
    mapping: dict = {}
    for atom in expr.atoms(sp.Indexed):
        if atom.base not in env or not all(index.is_Integer for index in atom.indices):
            return None
        base_value = np.asarray(env[atom.base])
        mapping[atom] = _number_symbol(base_value[tuple(int(x) for x in atom.indices)], number)
    for symbol in expr.free_symbols:
        if symbol in env and np.ndim(env[symbol]) == 0 and symbol not in sizes:
            mapping[symbol] = _number_symbol(env[symbol], number)
    if not mapping or expr in mapping:
        return None  # nothing to work out, or a bare copy of one number
    if len(mapping) > MAX_NUMBERS and not (isinstance(expr, sp.Add) and _readable_terms(expr)):
        return None  # too much to read: only a long sum of short terms is written (elided)
    with sp.evaluate(False):
        numbers = elided(expr.xreplace(mapping))
    left = step.left.subs(position) if step.index else step.left
    return left, numbers, float(np.asarray(step.value)[tuple(position[symbol] for symbol in step.index)])


def expanded(expr: sp.Basic) -> sp.Basic:
    """``expr.doit()``: sums written out term by term. A sum of array entries (see
    `_summand`) is written directly as the sum of its terms, as doit writes it but without
    its general machinery; c Σ_k g(k) of more than MAX_TERMS terms as the whole formula
    only as far as it is shown, c g(lo) + c g(lo+1) + c g(lo+2) + … + c g(hi-1) + c g(hi),
    exactly what `elided` makes of the whole sum (whose terms are in the order of k)."""
    found = _plain_sum(expr)
    if found is not None:
        coefficient, term, k, lo, hi = found
        shown = [coefficient * term.xreplace({k: sp.Integer(value)}) for value in (lo, lo + 1, lo + 2, hi - 1, hi)]
        return sp.Add(*shown[:3], sp.Symbol("…"), *shown[3:], evaluate=False)
    if expr.has(sp.Sum):
        expr = expr.replace(lambda e: isinstance(e, sp.Sum) and _summand(e) is not None, _written)
    return expr.doit()


def _written(total: sp.Sum) -> sp.Basic:
    """The sum of the terms of a sum of array entries (see `_summand`), one per index."""
    term, limits = _summand(total)
    variables, ranges = [k for k, _lo, _hi in limits], [range(lo, hi + 1) for _k, lo, hi in limits]
    return sp.Add(*(term.xreplace(dict(zip(variables, map(sp.Integer, values)))) for values in itertools.product(*ranges)))


def _summand(total: sp.Sum) -> tuple | None:
    """(g, [(k, lo, hi), ...]) for Σ_k ... g(k, ...) over whole-number limits, lo <= hi,
    that doit writes as the plain sum of the terms g: the summation indices appear only as
    whole indices of array entries, each array once, every factor of g depends on every
    index, and g holds no sum, case or delta (which doit would rearrange). Else None."""
    term, limits = total.function, total.limits
    if not all(lo.is_Integer and hi.is_Integer and lo <= hi for _k, lo, hi in limits) or isinstance(term, sp.Add):
        return None
    variables = {k for k, _lo, _hi in limits}
    if len(variables) != len(limits) or term.has(sp.Sum, sp.Piecewise, sp.KroneckerDelta, sp.Derivative):
        return None
    if any(term.as_independent(k, as_Add=False)[0] != 1 for k in variables):
        return None
    entries = term.atoms(sp.Indexed)
    if not entries or len({entry.base for entry in entries}) != len(entries) or any(entry.base.has(*variables) for entry in entries):
        return None
    if not all(index in variables or index.is_Integer for entry in entries for index in entry.indices):
        return None
    hidden = term.xreplace({entry: sp.Dummy() for entry in entries})
    return None if hidden.has(*variables) else (term, [(k, int(lo), int(hi)) for k, lo, hi in limits])


def _plain_sum(expr: sp.Basic) -> tuple | None:
    """(c, g, k, lo, hi) for c Σ_{k=lo}^{hi} g(k) of more than MAX_TERMS terms, c a
    nonzero rational, g as `_summand` allows, one index: doit writes it as the terms
    c g(k) in the order of k. None for anything else."""
    coefficient, total = expr.as_coeff_Mul() if isinstance(expr, sp.Mul) else (sp.S.One, expr)
    if not isinstance(total, sp.Sum) or len(total.limits) != 1 or coefficient.is_zero:
        return None
    found = _summand(total)
    if found is None:
        return None
    term, [(k, lo, hi)] = found
    return (coefficient, term, k, lo, hi) if hi - lo + 1 > MAX_TERMS else None


def _branch(expr: sp.Basic, env: dict) -> sp.Basic:
    """Every Piecewise replaced by the branch its conditions choose at the user's numbers,
    so a worked element reads 0.36⋅log(0.36), not a case table with 'for 0.36 = 0'."""
    def choose(piecewise: sp.Piecewise) -> sp.Basic:
        for branch, condition in piecewise.args:
            with sp.evaluate(True):
                chosen = bool(_at_numbers(condition, env))
            if chosen:
                return branch
        return piecewise

    try:
        with sp.evaluate(False):
            return expr.replace(lambda e: isinstance(e, sp.Piecewise), choose)
    except (TypeError, ValueError, IndexError, KeyError):
        return expr


def _at_numbers(expr: sp.Basic, env: dict) -> sp.Basic:
    """`expr` with every bound scalar and array entry replaced by its number."""
    values = {atom: sp.Float(float(np.asarray(env[atom.base])[tuple(int(x) for x in atom.indices)]))
              for atom in expr.atoms(sp.Indexed)}
    values |= {symbol: sp.Float(float(env[symbol])) for symbol in expr.free_symbols
               if symbol in env and np.ndim(env[symbol]) == 0 and not isinstance(env[symbol], str)}
    return expr.xreplace(values)


MAX_TERMS = 6
"""A sum of more terms is written with its first three and last two around an ellipsis."""


def _readable_terms(total: sp.Add) -> bool:
    """Whether each term of a sum, written with its numbers, stays short (a sum of two big
    quotients, the softmax quotient rule at 300 logits, does not)."""
    return all(len(term.atoms(sp.Indexed)) <= MAX_NUMBERS for term in total.args[:3] + total.args[-2:])


def elided(expr: sp.Basic) -> sp.Basic:
    """A long sum of numbers as ``a + b + c + … + y + z``: its middle is left out (the
    step's value is still the whole sum), so a line never has to break inside a number."""
    if not isinstance(expr, sp.Add) or len(expr.args) <= MAX_TERMS:
        return expr
    terms = expr.args
    return sp.Add(*terms[:3], sp.Symbol("…"), *terms[-2:], evaluate=False)


def faithful(numbers: sp.Basic, value: float, number: Callable[[float], str]) -> bool:
    """Whether the shown (rounded) numbers, worked out, give the shown value: if not, the
    printers write ≈ rather than =, so a learner redoing the sum is not misled."""
    if any(symbol.name == "…" for symbol in numbers.free_symbols):
        return True
    try:
        plain = {symbol: sp.Float(symbol.name.strip("()")) for symbol in numbers.free_symbols}
        result = float(numbers.xreplace(plain).doit().evalf())
    except (TypeError, ValueError, AttributeError):
        return True
    return number(result) == number(value)


def _number_symbol(value: float, number: Callable[[float], str]) -> sp.Symbol:
    text = number(value)
    return sp.Symbol(f"({text})" if text.startswith("-") else text)
