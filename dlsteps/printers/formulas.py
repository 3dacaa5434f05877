"""Formulas for printers: a step's equation, its numbers substituted, as Unicode or LaTeX.

Unicode comes from SymPy's pretty printer, with indexed symbols written as subscripts
(o_i rather than o[i]); LaTeX from SymPy's `latex`. Both keep the order in which a
lesson wrote its terms.
"""

from __future__ import annotations

import builtins
import itertools
import math
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
from dlsteps.symbolic import Maximum

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


def as_printed(expr: sp.Basic) -> sp.Basic:
    """`expr` with every sum and product held unevaluated in the order the printers show
    it (`_LectureOrder` for sums, SymPy's printed order for products), so that numbers put
    in its place keep the formula's order and shape: w - η⋅g stays 1.5 - 0.05⋅(-6.4), and
    2⋅(a - t) stays 2⋅(0.51 - 0), not 2⋅0.51 - 2⋅0. Array entries and deltas are left as
    they are (their indices are numbers to evaluate, see `put`)."""
    if not expr.args or isinstance(expr, (sp.Indexed, sp.KroneckerDelta)):
        return expr
    if isinstance(expr, sp.Add):
        return sp.Add(*map(as_printed, list(expr.args) if written(expr) else lecture_order(expr.as_ordered_terms())), evaluate=False)
    if isinstance(expr, sp.Mul):
        coefficient, rest = expr.as_coeff_Mul()  # -1/2 stays one number, not -1 and 1/2
        factors = ([] if coefficient == 1 else [coefficient]) + list(rest.as_ordered_factors())
        return sp.Mul(*map(as_printed, factors), evaluate=False)
    args = tuple(map(as_printed, expr.args))
    return expr if _same(args, expr.args) else expr.func(*args)


def rebuilt(expr: sp.Basic, mapping: dict) -> sp.Basic:
    """`expr` with each subexpression found in `mapping` replaced, its sums and products
    rebuilt unevaluated (in their order), everything else as its class builds it."""
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = tuple(rebuilt(arg, mapping) for arg in expr.args)
    if _same(args, expr.args):
        return expr
    return expr.func(*args, evaluate=False) if isinstance(expr, (sp.Add, sp.Mul)) else expr.func(*args)


def _same(new: tuple, old: tuple) -> bool:
    """Whether every argument is the very same object (SymPy's == calls a sum equal to
    the same terms in another order)."""
    return all(a is b for a, b in zip(new, old))


def put(expr: sp.Basic, values: dict) -> sp.Basic:
    """`expr` with `values` (whole numbers: sizes and indices) put in, its sums and products
    kept as they are (see `as_printed`). What must be a number is evaluated: the indices of
    array entries (x[t - 1] at t = 1 is x[0]), the limits of sums, the conditions of cases,
    dlsteps' own functions, and deltas (shown as the number, δ₀₀ as 1). A size standing in
    the formula is shown as its number, not multiplied in ((5 + 2⋅0 - 3)/1 + 1, not 3)."""
    integers = {symbol: sp.Integer(value) for symbol, value in values.items()}
    evaluated = {entry: entry.xreplace(integers) for entry in expr.atoms(sp.Indexed)}
    evaluated |= {delta: _shown_number(delta.xreplace(integers)) for delta in expr.atoms(sp.KroneckerDelta)}
    for total in expr.atoms(sp.Sum):
        evaluated |= {bound: sp.sympify(bound).xreplace(integers).doit() for _k, *bounds in total.limits for bound in bounds}
    for cases in expr.atoms(sp.Piecewise):
        evaluated |= {condition: condition.xreplace(integers).doit() for _branch, condition in cases.args}
    # dlsteps' own functions (ZeroOutside, Quotient, Cases, ...) decide by their whole-number arguments
    evaluated |= {call: call.xreplace(integers) for call in expr.atoms(sp.Function) if (type(call).__module__ or "").startswith("dlsteps")}
    return rebuilt(expr, {**{symbol: _shown_number(value) for symbol, value in integers.items()}, **evaluated})


def _shown_number(value: sp.Basic) -> sp.Basic:
    """A whole number as a symbol named by it (printed as is, never multiplied in)."""
    return sp.Symbol(str(value)) if value.is_Integer else value


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
    """Indices as Unicode subscripts where every character has one: ᵢⱼ for one-character
    indices, ₜ₋₁,ₖ (a comma between) for longer ones; else _i,j."""
    if pretty_use_unicode() and all(_sub(char) for index in indices for char in index):
        shown = ["".join(_sub(char) for char in index) for index in indices]
        return "".join(shown) if all(len(index) == 1 for index in indices) else ",".join(shown)
    return "_" + ("".join(indices) if all(len(index) == 1 for index in indices) else ",".join(indices))


def unicode(expr: sp.Basic, names: dict | None = None, keep_order: bool = False, width: int | None = None, ascii: bool = False) -> str:
    """`expr` as multi-line Unicode art (ASCII art with `ascii`, for a terminal that cannot
    show Unicode); `keep_order` keeps terms as written (for numbers); art wider than
    `width` columns is cut into slices stacked one under the other (`sliced`)."""
    settings = {"use_unicode": not ascii, "wrap_line": False}
    shown = {"ell": "ℓ", **{key: pair[0] for key, pair in (names or {}).items()}}
    previous = pretty_use_unicode(not ascii)  # SymPy's own default follows stdout's encoding; ours is the printer's
    try:
        art = _UnicodePrinter({**settings, "order": "none"} if keep_order else settings, shown).doprint(expr)
    finally:
        pretty_use_unicode(previous)
    return art if width is None else sliced(art, width, "> " if ascii else "↪ ")


def sliced(art: str, width: int, mark: str = "↪ ") -> str:
    """Art wider than `width` as slices, one under the other with a blank line between,
    each ending and the next starting with `mark` (as SymPy wraps its art). A slice ends at
    the last column blank on every row, between two terms, where there is one in its
    right half, so no number or symbol is cut; only where there is none, at the width."""
    rows = art.split("\n")
    full = max(len(row) for row in rows)
    if full <= width:
        return art
    rows = [row.ljust(full) for row in rows]
    slices, start, prefix = [], 0, ""
    while full - start > width - len(prefix):
        end = start + width - len(prefix) - len(mark)
        gap = next((column for column in range(end, start + (end - start) // 2, -1) if all(row[column] == " " for row in rows)), None)
        cut, after = (gap, gap + 1) if gap is not None else (end, end)
        slices.append([prefix + row[start:cut] + " " + mark.strip() for row in rows])
        start, prefix = after, mark
    slices.append([prefix + row[start:] for row in rows])
    return "\n\n".join("\n".join(row.rstrip() for row in piece) for piece in slices)


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


def worked(step: Step, env: dict, number: Callable[[float], str], position: tuple[int, ...] | None = None) -> tuple[sp.Basic, sp.Basic, float] | None:
    """The step worked out with the user's numbers: (left side, formula with numbers, value).

    A scalar step is worked out when it asks for it (`substitute`); a vector or matrix
    step at its first element (index 0, 0; row 1 of a recurrence, whose row 0 is its
    start), so every array shows one entry by hand; at `position` (the entry a quiz asks
    for) whether or not the step asks. The formula keeps its printed order and shape
    (`as_printed`, `put`); its sums and maxima over whole-number ranges are written out
    term by term; each number becomes a symbol named by its shown text (negative ones in
    parentheses), so nothing is re-evaluated or reordered. None where that is not possible
    or would not be read.
    """
    if step.formula is None or np.size(step.value) == 0:
        return None
    if position is not None:
        at = dict(zip(step.index, position))
    elif step.substitute or step.index:
        at = dict(zip(step.index, _shown_entry(step)))
    else:
        return None
    used = step.formula.free_symbols
    sizes = {s: v for s, v in env.items() if s in used and isinstance(s, sp.Symbol) and isinstance(v, int)}
    expr = _branch(expanded(_maxima_written(put(as_printed(step.formula), {**sizes, **at}))), env)
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
    numbers = elided(rebuilt(expr, mapping))
    if _count_numbers(numbers) > MAX_NUMBERS:
        return None  # too much to read, even with long sums elided
    left = step.left.subs(at) if step.index else step.left
    return left, numbers, float(np.asarray(step.value)[tuple(at[symbol] for symbol in step.index)])


def _shown_entry(step: Step) -> tuple[int, ...]:
    """The entry an array step works out: the first that is not 0 (a 0 usually comes from
    a zero factor and shows nothing), from row 1 of a recurrence (row 0 is its start, row 1
    shows the rule); the first of those where every one is 0."""
    values = np.asarray(step.value)
    start = 1 if step.recurrence and values.ndim and values.shape[0] > 1 else 0
    first = (start,) + (0,) * (values.ndim - 1) if values.ndim else ()
    if values.dtype.kind not in "fiub":
        return first
    return next((entry for entry in np.ndindex(values.shape) if entry[:1] >= (start,) and values[entry] != 0), first)


def _maxima_written(expr: sp.Basic) -> sp.Basic:
    """Every max over a short whole-number range written out, max(a, b, c), so that its
    numbers can be shown."""
    def written(maximum: Maximum) -> sp.Basic:
        body, index, lower, upper = maximum.args
        return sp.Function("max")(*(put(body, {index: k}) for k in range(int(lower), int(upper) + 1)))

    found = {maximum: written(maximum) for maximum in expr.atoms(Maximum)
             if maximum.args[2].is_Integer and maximum.args[3].is_Integer and maximum.args[3] - maximum.args[2] < MAX_NUMBERS}
    return rebuilt(expr, found) if found else expr


def expanded(expr: sp.Basic) -> sp.Basic:
    """`expr` with its sums written out term by term, in the order of their indices and
    with nothing else evaluated (see `put`). c Σ_k g(k) of more than MAX_TERMS terms is
    written only as far as it is shown, c g(lo) + c g(lo+1) + c g(lo+2) + … + c g(hi-1) +
    c g(hi), exactly what `elided` makes of the whole sum; a sum of more than MAX_WRITTEN
    terms is left to SymPy's doit."""
    found = _plain_sum(expr)
    if found is not None:
        coefficient, term, k, lo, hi = found
        shown = [put(term, {k: value}) for value in (lo, lo + 1, lo + 2, hi - 1, hi)]
        return _times(coefficient, sp.Add(*shown[:3], sp.Symbol("…"), *shown[3:], evaluate=False))
    sums = expr.atoms(sp.Sum)
    outermost = [total for total in sums if not any(other is not total and other.has(total) for other in sums)]
    return rebuilt(expr, {total: _written(total) for total in outermost})


MAX_WRITTEN = 400
"""A sum of more terms than this is written out by SymPy's doit (quicker, in its own order)."""


def _written(total: sp.Sum) -> sp.Basic:
    """The terms of a sum, one per index in the order of the indices (inner sums written
    out too), or what doit makes of it where the limits are not whole numbers or the
    terms are too many."""
    limits = total.limits
    if not all(lo.is_Integer and hi.is_Integer for _k, lo, hi in limits):
        return _as_written_out(total.doit())
    ranges = [range(int(lo), int(hi) + 1) for _k, lo, hi in limits]
    if math.prod(map(len, ranges)) > MAX_WRITTEN:
        return _as_written_out(total.doit())
    outer_first = [k for k, _lo, _hi in reversed(limits)]  # SymPy lists the innermost index first
    terms = [expanded(put(total.function, dict(zip(outer_first, values)))) for values in itertools.product(*reversed(ranges))]
    return sp.Add(*terms, evaluate=False) if terms else sp.S.Zero


def _as_written_out(expr: sp.Basic) -> sp.Basic:
    """A sum doit wrote out, its terms kept in doit's order (plus terms first), each as printed."""
    if isinstance(expr, sp.Add):
        return sp.Add(*map(as_printed, lecture_order(list(expr.args))), evaluate=False)
    return as_printed(expr)


def _times(coefficient: sp.Basic, term: sp.Basic) -> sp.Basic:
    """coefficient⋅term, unevaluated (term alone for 1)."""
    return term if coefficient == 1 else sp.Mul(coefficient, term, evaluate=False)


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


def _count_numbers(expr: sp.Basic) -> int:
    """How many numbers a worked element shows (each place a number symbol stands)."""
    return sum(1 for node in sp.preorder_traversal(expr) if isinstance(node, sp.Symbol) and node.name != "…")


def elided(expr: sp.Basic) -> sp.Basic:
    """Every long sum of numbers as ``a + b + c + … + y + z``: its middle is left out (the
    step's value is still the whole sum), so a line never has to break inside a number."""
    if not expr.args:
        return expr
    args = tuple(map(elided, expr.args))
    if isinstance(expr, sp.Add) and len(args) > MAX_TERMS:
        return sp.Add(*args[:3], sp.Symbol("…"), *args[-2:], evaluate=False)
    if _same(args, expr.args):
        return expr
    return expr.func(*args, evaluate=False) if isinstance(expr, (sp.Add, sp.Mul)) else expr.func(*args)


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
