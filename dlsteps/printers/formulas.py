"""Formulas for printers: a step's equation, its numbers substituted, as Unicode or LaTeX.

Unicode comes from SymPy's pretty printer, with indexed symbols written as subscripts
(o_i rather than o[i]); LaTeX from SymPy's `latex`. Both keep the order in which a
lesson wrote its terms.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol, pretty_use_unicode, sub
from sympy.printing.pretty.stringpict import prettyForm
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from dlsteps.i18n import _
from dlsteps.model import Step
from dlsteps.symbolic import IN_ORDER, Maximum, used, without_import

def written(expr: sp.Add | sp.Mul) -> bool:
    """Whether a sum or product was built unevaluated in the order the lesson wrote it:
    its arguments differ from SymPy's canonical order, or it is marked `in_order`; it is
    printed as written."""
    return expr in IN_ORDER or _reordered(expr)


@functools.lru_cache(maxsize=8192)  # asked when a formula is put in order, then when it is printed
def _reordered(expr: sp.Add | sp.Mul) -> bool:
    """Whether SymPy would order the arguments of `expr` otherwise (== between SymPy sums
    and products compares their arguments in order, so the cache tells the orders apart)."""
    with sp.evaluate(True):
        return expr.args != expr.func(*expr.args).args


def lecture_order(terms: list) -> list:
    """The terms of a sum as a lecture writes them: those with a plus sign first, then those
    with a minus sign, each group in SymPy's order (w - η⋅g, not SymPy's -η⋅g + w; ŷ - t;
    o_i - m; 1 - 2⋅η⋅λ)."""
    return [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]


def lecture_factors(product: sp.Mul) -> list:
    """The factors of a product as a lecture writes them: the number first, then symbols
    and array entries, then functions and sums, then parenthesized sums, each group in
    SymPy's order (pᵢ⋅log(pᵢ), o⋅tanh(C), a⋅(1 - a), B⋅√(σ² + ε); SymPy writes
    log(pᵢ)⋅pᵢ). A power goes with its base."""
    coefficient, rest = product.as_coeff_Mul()  # -1/2 stays one number, not -1 and 1/2
    factors = sorted(rest.as_ordered_factors(), key=_factor_rank)  # sorted() is stable
    return ([] if coefficient == 1 else [coefficient]) + factors


def _factor_rank(factor: sp.Basic) -> int:
    """0 for a number, 1 for a symbol or array entry, 2 for a function or sum, 3 for a sum
    of terms (printed in parentheses), each with any power."""
    base = factor.base if isinstance(factor, sp.Pow) else factor
    if base.is_Number:
        return 0
    if isinstance(base, sp.Add):
        return 3
    return 2 if isinstance(base, (sp.Function, sp.Sum)) else 1


def as_printed(expr: sp.Basic) -> sp.Basic:
    """`expr` with every sum and product held unevaluated in the order the printers show
    it (`lecture_order`, `lecture_factors`; as written where the lesson built it so), so
    that the printers show it as stored and numbers put in its place keep the formula's
    order and shape: w - η⋅g stays 1.5 - 0.05⋅(-6.4), and 2⋅(a - t) stays 2⋅(0.51 - 0),
    not 2⋅0.51 - 2⋅0. Array entries and deltas are left as they are (their indices are
    numbers to evaluate, see `put`)."""
    return _as_printed(expr, len(IN_ORDER))


@functools.lru_cache(maxsize=8192)  # a formula is printed, then worked out, then asked in a quiz
def _as_printed(expr: sp.Basic, marked: int) -> sp.Basic:
    """`as_printed`, remembered while no more sums are marked `in_order` (`marked` of them)."""
    if not expr.args or isinstance(expr, (sp.Indexed, sp.KroneckerDelta)):
        return expr
    if isinstance(expr, sp.Add):
        args = tuple(map(as_printed, expr.args if written(expr) else lecture_order(expr.as_ordered_terms())))
    elif isinstance(expr, sp.Mul):
        args = tuple(map(as_printed, expr.args if written(expr) else lecture_factors(expr)))
    else:
        args = tuple(map(as_printed, expr.args))
    return expr if _same(args, expr.args) else _unevaluated(expr, args)


def _unevaluated(expr: sp.Basic, args: tuple) -> sp.Basic:
    """`expr` rebuilt from `args`, not evaluated where its class allows it: |w - η⋅g| stays
    as written (Abs would turn it into |η⋅g - w|), t / 10000^e stays a fraction."""
    if isinstance(expr, (sp.Add, sp.Mul, sp.Pow, sp.Equality, sp.Function)):
        return expr.func(*args, evaluate=False)
    return expr.func(*args)


def rebuilt(expr: sp.Basic, mapping: dict) -> sp.Basic:
    """`expr` with each subexpression found in `mapping` replaced, rebuilt unevaluated
    where its class allows (`_unevaluated`), so its order is kept."""
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = tuple(rebuilt(arg, mapping) for arg in expr.args)
    return expr if _same(args, expr.args) else _unevaluated(expr, args)


def _same(new: tuple, old: tuple) -> bool:
    """Whether every argument is the very same object, in the same place (SymPy's == calls
    a sum equal to the same terms in another order)."""
    return len(new) == len(old) and all(a is b for a, b in zip(new, old))


def put(expr: sp.Basic, values: dict) -> sp.Basic:
    """`expr` with `values` (whole numbers: sizes and indices) put in, its sums and products
    kept as they are (see `as_printed`). What must be a number is evaluated: the indices of
    array entries (x[t - 1] at t = 1 is x[0]), the limits of sums, the conditions of cases,
    dlsteps' own functions, and deltas (shown as the number, δ₀₀ as 1). A size standing in
    the formula is shown as its number, not multiplied in ((5 + 2⋅0 - 3)/1 + 1, not 3)."""
    integers = {symbol: sp.Integer(value) for symbol, value in values.items()}
    found = _evaluated_nodes(expr)
    evaluated = {entry: entry.xreplace(integers) for entry in found[sp.Indexed]}
    evaluated |= {delta: _shown_number(delta.xreplace(integers)) for delta in found[sp.KroneckerDelta]}
    for total in found[sp.Sum]:
        evaluated |= {bound: sp.sympify(bound).xreplace(integers).doit() for _k, *bounds in total.limits for bound in bounds}
    for cases in found[sp.Piecewise]:
        evaluated |= {condition: condition.xreplace(integers).doit() for _branch, condition in cases.args}
    # dlsteps' own functions (ZeroOutside, Quotient, Cases, ...) decide by their whole-number arguments
    evaluated |= {call: call.xreplace(integers) for call in found[sp.Function] if (type(call).__module__ or "").startswith("dlsteps")}
    return rebuilt(expr, {**{symbol: _shown_number(value) for symbol, value in integers.items()}, **evaluated})


PUT_KINDS = (sp.Indexed, sp.KroneckerDelta, sp.Sum, sp.Piecewise, sp.Function)


@functools.lru_cache(maxsize=4096)  # a sum's term is put in once for each value of its index
def _evaluated_nodes(expr: sp.Basic) -> dict[type, set]:
    """The nodes of `expr` that `put` evaluates, by kind (PUT_KINDS), found in one walk
    (read only: the sets are shared by every later call)."""
    found: dict[type, set] = {kind: set() for kind in PUT_KINDS}
    for node in sp.preorder_traversal(expr):
        for kind in PUT_KINDS:
            if isinstance(node, kind):
                found[kind].add(node)
    return found


def _shown_number(value: sp.Basic) -> sp.Basic:
    """A whole number as a symbol named by it (printed as is, never multiplied in)."""
    return sp.Symbol(str(int(value))) if value.is_Integer else value


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
        name = str(expr.base.label)
        label = self.names[name] if name in self.names else str(self._print(expr.base.label))
        return prettyForm(label + subscript([self._index(index) for index in expr.indices]))

    def _index(self, index: sp.Basic) -> str:
        """An index as written in a subscript: t, t-1, k-H, T′-1 (display names, the
        lecture's order, no spaces around + and -)."""
        if index.is_Integer or (index.is_Symbol and len(index.name) == 1 and index.name.isascii() and index.name not in self.names):
            return index.name if index.is_Symbol else str(int(index))  # t, 0: as printed, without building art
        rows = str(self._print(as_printed(index))).split("\n")
        text = rows[0] if len(rows) == 1 else one_line(as_printed(index), lambda symbol: str(self._print(symbol)))
        return text.replace(" + ", "+").replace(" - ", "-")

    def _print_KroneckerDelta(self, delta: sp.KroneckerDelta):
        """δᵢⱼ, its indices as subscripts like every array entry's (SymPy sets them
        below); δ(k,cₜ), a function of its two indices, where one has no subscript."""
        indices = [self._index(index) for index in delta.args]
        shown = subscript(indices)
        return prettyForm(f"δ({','.join(indices)})" if shown.startswith("[") else "δ" + shown)

    def _print_Piecewise(self, cases: sp.Piecewise):
        """SymPy's table of cases, with its words ("for", "otherwise") in the reader's language."""
        translated = (_("for {condition}"), _("otherwise"))
        if translated == ("for {condition}", "otherwise"):
            return super()._print_Piecewise(cases)
        rows = [(self._print(branch), prettyForm(translated[1]) if condition == True else _worded(translated[0], self._print(condition)))
                for branch, condition in cases.args]
        return _cases(rows)

    def _print_IndexedBase(self, expr: sp.IndexedBase):
        return self._print(expr.label)

    def _print_Symbol(self, expr: sp.Symbol, bold_name: bool = False):
        if expr.name in self.names:
            return prettyForm(self.names[expr.name])
        return prettyForm(_pretty_symbol(expr.name, bold_name, pretty_use_unicode()))

    def _print_Derivative(self, deriv: sp.Derivative):
        """A first derivative of a symbol as the fraction ∂y/∂x (SymPy writes d/dx (y))."""
        (variable, order), = deriv.variable_count
        if order != 1 or not isinstance(deriv.expr, (sp.Symbol, sp.Indexed)):
            return super()._print_Derivative(deriv)
        top = prettyForm(*self._print(deriv.expr).left("∂"))
        return top / prettyForm(*self._print(variable).left("∂"))

    # PrettyPrinter._print_Mul imports sympy.physics.units to sort unit quantities last
    # in a product: 150-190 ms at the first product, and no dlsteps formula has a unit
    _print_Mul = without_import(PrettyPrinter._print_Mul, "sympy.physics.units")

    def _print_Max(self, expr: sp.Max):
        return self._print_Function(expr, func_name="max")

    def _print_Min(self, expr: sp.Min):
        return self._print_Function(expr, func_name="min")


@functools.lru_cache(maxsize=4096)  # a name is drawn once, not at every place it stands
def _pretty_symbol(name: str, bold: bool, unicode: bool) -> str:
    """SymPy's drawing of a symbol's name (x_1 as x₁, alpha as α), in Unicode or not."""
    return pretty_symbol(name, bold)


def _worded(template: str, condition: prettyForm) -> prettyForm:
    """`template` ("for {condition}", translated) around the condition's art."""
    before, _condition, after = template.partition("{condition}")
    return prettyForm(*prettyForm(*condition.left(before)).right(after))


def _cases(rows: list[tuple[prettyForm, prettyForm]]) -> prettyForm:
    """Rows of (value, condition) as a table of cases after a brace, laid out as SymPy's
    pretty printer lays out a Piecewise: columns centred, two spaces apart, a blank line
    between rows."""
    widths = [max(row[column].width() for row in rows) for column in range(2)]
    table = None
    for row in rows:
        line = None
        for cell, width in zip(row, widths):
            left = (width - cell.width()) // 2
            cell = prettyForm(*prettyForm(*cell.left(" " * left)).right(" " * (width - cell.width() - left)))
            line = cell if line is None else prettyForm(*prettyForm(*line.right("  ")).right(cell))
        table = line if table is None else prettyForm(*prettyForm(*table.below(" ")).below(line))
    table = prettyForm(*table.parens("{", ""))
    table.baseline = table.height() // 2
    table.binding = prettyForm.OPEN
    return table


def _sub(char: str) -> str | None:
    """The Unicode subscript of a character: SymPy's table, plus ⱼ (U+2C7C), which it lacks."""
    return sub.get(char) or {"j": "ⱼ"}.get(char)


def subscript(indices: list[str]) -> str:
    """Indices as Unicode subscripts where every character has one: ᵢⱼ for one-character
    indices, ₜ₋₁,ₖ (a comma between) for longer ones; else (a capital, a product, ASCII)
    _ij for one-character indices and [t,k-H] for longer ones, as arrays are indexed."""
    if pretty_use_unicode() and all(_sub(char) for index in indices for char in index):
        shown = ["".join(_sub(char) for char in index) for index in indices]
        return "".join(shown) if all(len(index) == 1 for index in indices) else ",".join(shown)
    if all(len(index) == 1 for index in indices):
        return "_" + "".join(indices)
    return "[" + ",".join(indices) + "]"


@dataclass(frozen=True)
class Art:
    """Unicode art and where its baseline is (the row a sign beside it belongs on): in
    its first slice and in its last (art wider than the screen is cut into slices)."""

    text: str
    first: int
    last: int


def unicode(expr: sp.Basic, names: dict | None = None, keep_order: bool = False, width: int | None = None, ascii: bool = False) -> str:
    """`expr` as multi-line Unicode art (see `unicode_art`)."""
    return unicode_art(expr, names, keep_order, width, ascii).text


def unicode_art(expr: sp.Basic, names: dict | None = None, keep_order: bool = False, width: int | None = None, ascii: bool = False) -> Art:
    """`expr` as multi-line Unicode art (ASCII art with `ascii`, for a terminal that cannot
    show Unicode), in the lecture's order (`as_printed`); `keep_order` prints it as
    stored (numbers already put in that order). Art wider than `width` columns is cut into
    slices stacked one under the other (`_slices`); numbers that could only be cut inside
    a fraction are written on one line instead, (a - b)/c, cut between its terms."""
    settings = {"use_unicode": not ascii, "wrap_line": False, "order": "none"}
    shown = {"ell": "ℓ", **{key: pair[0] for key, pair in (names or {}).items()}}
    previous = pretty_use_unicode(not ascii)  # SymPy's own default follows stdout's encoding; ours is the printer's
    try:
        printer = _UnicodePrinter(settings, shown)
        expr = expr if keep_order else as_printed(expr)
        form = printer._print(expr)
        mark = "> " if ascii else "↪ "
        if width is not None and keep_order and _cut_inside(form.render(**printer._settings), width, mark):
            form = printer._print(_one_line(expr, printer, ascii))
        art = form.render(**printer._settings)
    finally:
        pretty_use_unicode(previous)
    if width is None:
        return Art(art, form.baseline, form.baseline)
    pieces = _slices(art, width, mark)
    between = "\n\n" if form.height() > 1 else "\n"  # a blank line between slices of several rows
    step = form.height() + between.count("\n") - 1
    return Art(between.join("\n".join(piece) for piece in pieces), form.baseline, (len(pieces) - 1) * step + form.baseline)


class _Words(sp.Symbol):
    """Text printed as it is, on one line."""

    def _pretty(self, printer) -> prettyForm:
        return prettyForm(self.name)


def _one_line(expr: sp.Basic, printer: PrettyPrinter, ascii: bool) -> sp.Basic:
    """Numbers (a formula whose symbols are numbers) written on one line, (a - b)/c⋅√(d),
    so that art too wide for the screen can be cut between terms; an equation's left side
    too where it is one row or a derivative ∂y/∂x."""
    if isinstance(expr, sp.Equality):
        return sp.Eq(_one_line_left(expr.lhs, printer), _one_line(expr.rhs, printer, ascii), evaluate=False)
    return _Words(one_line(expr, ascii=ascii))


def one_line(expr: sp.Basic, name: Callable[[sp.Symbol], str] | None = None, ascii: bool = False) -> str:
    """`expr` as one line of text, (a - b)/c⋅√(d)⋅x², each symbol written as `name`
    writes it (as the art does: nₚ, β), or by its name."""
    text = _LinePrinter({"order": "none"}, name or (lambda symbol: symbol.name)).doprint(expr)
    if not ascii:
        text = text.replace("**", "^").replace("*", "⋅").replace("sqrt(", "√(").replace("|", "│")
    return text


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class _LinePrinter(StrPrinter):
    """SymPy's one-line printer with symbols written by `name`, |x| for an absolute value
    and no brackets around a sum that stands as a term of a sum (as the art shows it)."""

    def __init__(self, settings: dict, name: Callable[[sp.Symbol], str]) -> None:
        super().__init__(settings)
        self.name = name

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.name(expr)

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        terms = [part for term in expr.args for part in (term.args if isinstance(term, sp.Add) else (term,))]
        return super()._print_Add(sp.Add(*terms, evaluate=False), order)

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        """x² for a whole power above 1 (superscript digits, in Unicode), else SymPy's x**e."""
        base, power = expr.args
        if not (power.is_Integer and power > 1 and pretty_use_unicode()):
            return super()._print_Pow(expr, rational)
        return self.parenthesize(base, PRECEDENCE["Pow"], strict=True) + str(power).translate(SUPERSCRIPTS)


def _one_line_left(left: sp.Basic, printer: PrettyPrinter) -> sp.Basic:
    """The left side of worked numbers on one line: a derivative of one row over one row
    as ∂y/∂x, anything else as its art (one row already, or left as it is)."""
    parts = [left.expr, left.variables[0]] if isinstance(left, sp.Derivative) and left.derivative_count == 1 else [left]
    rows = [printer._print(part).render(**printer._settings) for part in parts]
    if any("\n" in row for row in rows):
        return left
    return _Words(rows[0] if len(rows) == 1 else f"∂{rows[0]}/∂{rows[1]}")


def _cuts(rows: list[str], width: int, mark: str) -> list[tuple[int, int, bool]]:
    """Where art of these rows (padded to one width) is cut for `width` columns: (end of a
    slice, start of the next, whether the cut falls between terms). A slice ends at the
    last column blank on every row, between two terms, where there is one in its right
    half; only where there is none, at the width."""
    cuts, start, prefix = [], 0, ""
    while len(rows[0]) - start > width - len(prefix):
        end = start + width - len(prefix) - len(mark)
        gap = next((column for column in range(end, start + (end - start) // 2, -1) if all(row[column] == " " for row in rows)), None)
        cuts.append((gap, gap + 1, True) if gap is not None else (end, end, False))
        start, prefix = cuts[-1][1], mark
    return cuts


def _padded(art: str) -> list[str]:
    rows = art.split("\n")
    full = max(len(row) for row in rows)
    return [row.ljust(full) for row in rows]


def _cut_inside(art: str, width: int, mark: str) -> bool:
    """Whether art must be cut somewhere other than between terms to fit `width`."""
    return not all(between for _end, _start, between in _cuts(_padded(art), width, mark))


def _slices(art: str, width: int, mark: str = "↪ ") -> list[list[str]]:
    """Art wider than `width` cut into slices (see `_cuts`), each ending and the next
    starting with `mark` (as SymPy wraps its art); art that fits is one slice."""
    rows = _padded(art)
    slices, start, prefix = [], 0, ""
    for cut, after, _between in _cuts(rows, width, mark):
        slices.append([(prefix + row[start:cut] + " " + mark.strip()).rstrip() for row in rows])
        start, prefix = after, mark
    slices.append([(prefix + row[start:]).rstrip() for row in rows])
    return slices


class _LatexPrinter(_LectureOrder, LatexPrinter):
    """SymPy's LaTeX printer, with sums in the lecture's order (`_LectureOrder`) and the
    words of a table of cases in the reader's language."""

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        """x_{t-1, k-H}: SymPy's, its indices in the lecture's order as the terminal shows them."""
        shown = sp.Indexed(expr.base, *(as_printed(index) for index in expr.indices))
        return super()._print_Indexed(shown)

    def _print_KroneckerDelta(self, delta: sp.KroneckerDelta, exp: Any = None) -> str:
        """δ_{ij}; δ_{k, c_{t}} with a comma where an index is longer than one letter."""
        indices = [self._print(index) for index in delta.args]
        tex = r"\delta_{" + (" " if all(len(index) == 1 for index in indices) else ", ").join(indices) + "}"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _print_Derivative(self, deriv: sp.Derivative) -> str:
        """A first derivative of a symbol as the fraction ∂y/∂x, as the terminal shows it
        (SymPy writes the operator, ∂/∂x y)."""
        (variable, order), = deriv.variable_count
        if order != 1 or not isinstance(deriv.expr, (sp.Symbol, sp.Indexed)):
            return super()._print_Derivative(deriv)
        return rf"\frac{{\partial {self._print(deriv.expr)}}}{{\partial {self._print(variable)}}}"

    def _print_Piecewise(self, cases: sp.Piecewise) -> str:
        before, _condition, after = _("for {condition}").partition("{condition}")

        def worded(condition: sp.Basic) -> str:
            parts = [rf"\text{{{before.strip()}}}" if before.strip() else "", self._print(condition),
                     rf"\text{{{after.strip()}}}" if after.strip() else ""]
            return r"\: ".join(part for part in parts if part)

        rows = [f"{self._print(branch)} & " + (rf"\text{{{_('otherwise')}}}" if condition == True else worded(condition))
                for branch, condition in cases.args]
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"


def latex(expr: sp.Basic, names: dict | None = None, keep_order: bool = False) -> str:
    """`expr` as LaTeX math (without dollar signs) in the lecture's order (`as_printed`);
    `keep_order` prints it as stored (numbers already put in that order)."""
    symbols = {symbol: names[symbol.name][1] for symbol in expr.atoms(sp.Symbol) if symbol.name in (names or {})}
    settings = {"mul_symbol": "dot"} if keep_order else {}
    shown = expr if keep_order else as_printed(expr)
    return _LatexPrinter({"symbol_names": symbols, "diff_operator": r"\partial", "order": "none", **settings}).doprint(shown)


def equation(step: Step) -> sp.Basic:
    """The step as ``left = formula``."""
    return sp.Eq(step.left, step.formula, evaluate=False)


MAX_EXPANDED = 16
"""--expand works out every entry of an array of at most this many entries."""


def shown_positions(step: Step, elements: tuple[tuple[int, ...], ...] = (), expand: bool = False) -> list[tuple[int, ...] | None]:
    """The entries of a step to work out with numbers: every entry of an array of at most
    MAX_EXPANDED entries with `expand`; else the first of `elements` (--element) of the
    array's rank and inside its shape; else None, the step's own choice (`worked`)."""
    shape = np.shape(step.value)
    if not step.index or len(shape) != len(step.index):
        return [None]
    if expand and 0 < math.prod(shape) <= MAX_EXPANDED:
        return list(np.ndindex(shape))
    chosen = next((element for element in elements if len(element) == len(shape) and all(0 <= x < n for x, n in zip(element, shape))), None)
    return [chosen]


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
    sizes = {s: env[s] for s in used(step.formula) if isinstance(s, sp.Symbol) and isinstance(env.get(s), int)}
    shown = as_printed(step.formula)
    expr = put(shown, {**sizes, **at})
    if any(isinstance(call, Maximum) for call in _evaluated_nodes(shown)[sp.Function]):
        expr = _maxima_written(expr)
    expr = _branch(expanded(expr), env)
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
    left = step.left.xreplace({symbol: sp.Integer(value) for symbol, value in at.items()}) if step.index else step.left
    return left, numbers, float(np.asarray(step.value)[tuple(at[symbol] for symbol in step.index)])


ROUND_OFF = 1e-12
"""A value this close to 1 is 1 computed in floating point (a cosine of a vector with
itself, 0.9999999999999998). A value near 0 is a value (a saturated sigmoid's 1.8e-35),
and a 0 from a zero factor is exactly 0."""


def _shown_entry(step: Step) -> tuple[int, ...]:
    """The entry an array step works out: the first that is neither 0 nor 1 (nor within
    ROUND_OFF of 1): a 0 usually comes from a zero factor and a 1 from a power 0, e⁰ or a
    cosine of a vector with itself, and they show nothing; else the first that is not 0,
    from row 1 of a recurrence (row 0 is its start, row 1 shows the rule); the first of
    those where every one is 0."""
    values = np.asarray(step.value)
    start = 1 if step.recurrence and values.ndim and values.shape[0] > 1 else 0
    first = (start,) + (0,) * (values.ndim - 1) if values.ndim else ()
    if values.dtype.kind not in "fiub":
        return first
    for wanted in ((values != 0) & ~np.isclose(values, 1, rtol=0, atol=ROUND_OFF), values != 0):
        wanted = np.array(wanted, dtype=bool, ndmin=1)
        wanted[:start] = False
        found = np.argwhere(wanted)
        if len(found):
            return tuple(int(x) for x in found[0])[:values.ndim]
    return first


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
    if not sums:
        return expr
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
    inner = expanded if _evaluated_nodes(total.function)[sp.Sum] else (lambda term: term)  # a term without sums is as written
    terms = [inner(put(total.function, dict(zip(outer_first, values)))) for values in itertools.product(*reversed(ranges))]
    flat = [part for term in terms for part in (term.args if isinstance(term, sp.Add) else (term,))]  # a + b + c + d, not (a + b) + (c + d)
    return sp.Add(*flat, evaluate=False) if flat else sp.S.Zero


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

    if not expr.has(sp.Piecewise):
        return expr  # entering evaluate(False) clears SymPy's caches: only where needed
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
    return _unevaluated(expr, args)


def faithful(numbers: sp.Basic, value: float, number: Callable[[float], str]) -> bool:
    """Whether the shown (rounded) numbers, worked out, give the shown value: if not, the
    printers write ≈ rather than =, so a learner redoing the sum is not misled."""
    if any(symbol.name == "…" for symbol in numbers.free_symbols):
        return True
    try:
        result = _in_floats(numbers)
    except (TypeError, ValueError, ArithmeticError):
        try:  # something the float walk does not know: SymPy works it out
            plain = {symbol: sp.Float(symbol.name.strip("()")) for symbol in numbers.free_symbols}
            result = float(numbers.xreplace(plain).doit().evalf())
        except (TypeError, ValueError, AttributeError):
            return True
    return number(result) == number(value)


FLOAT_FUNCTIONS = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "Abs": abs, "max": max, "min": min,
                   "sign": lambda x: float((x > 0) - (x < 0))}
"""The functions worked elements show, in floats (`_in_floats`)."""


def _in_floats(numbers: sp.Basic) -> float:
    """Shown numbers worked out in floats, term by term as written (quicker than SymPy's
    evalf); TypeError for anything else."""
    if isinstance(numbers, sp.Symbol):
        return float(numbers.name.strip("()"))
    if numbers.is_Number:
        return float(numbers)
    values = [_in_floats(arg) for arg in numbers.args]
    if isinstance(numbers, sp.Add):
        return sum(values)
    if isinstance(numbers, sp.Mul):
        return math.prod(values)
    if isinstance(numbers, sp.Pow):
        result = values[0] ** values[1]
        if isinstance(result, complex):
            raise TypeError("a complex power")
        return result
    function = FLOAT_FUNCTIONS.get(type(numbers).__name__)
    if function is None:
        raise TypeError(f"no float form for {type(numbers).__name__}")
    return function(*values)


def _number_symbol(value: float, number: Callable[[float], str]) -> sp.Symbol:
    text = number(value)
    return sp.Symbol(f"({text})" if text.startswith("-") else text)
