"""What the quiz shows: a step's question (its value hidden), and its two hints.

Hint 1 is the formula at the asked entry with the numbers substituted (the terminal
printer works out only entry 0; the quiz may ask another). Hint 2 is the values of the
inputs and earlier steps the formula uses, from the inferred dependencies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from dlsteps.i18n import _
from dlsteps.printers.base import label_of
from dlsteps.printers.formulas import MAX_NUMBERS, equation, unicode
from dlsteps.printers.terminal import FORMULA, INPUT, RESULT, TerminalPrinter
from dlsteps.symbolic import Maximum


def entry(step: Any, position: tuple[int, ...]) -> sp.Basic | None:
    """The left side at the asked entry (u₀, ∂y₀/∂o₁); None when the step has no index."""
    if not position:
        return step.left
    if len(step.index) != len(position):
        return None
    return step.left.subs(dict(zip(step.index, position)))


def entry_text(derivation: Any, step: Any, position: tuple[int, ...]) -> str:
    """The asked entry as one line of text (u₀, or u[0, 1] for a step without index)."""
    left = entry(step, position)
    if left is None:
        return f"{unicode(step.left, derivation.names)}[{', '.join(map(str, position))}]"
    if isinstance(left, sp.Derivative) and len(left.variables) == 1:
        return f"∂{entry_text_of(derivation, left.expr)}/∂{entry_text_of(derivation, left.variables[0])}"
    return entry_text_of(derivation, left)


def entry_text_of(derivation: Any, expr: sp.Basic) -> str:
    """`expr` on one line: SymPy's pretty form when it has one line, else plain text."""
    text = unicode(expr, derivation.names)
    return text if "\n" not in text else sp.sstr(expr)


def question(derivation: Any, step: Any, width: int) -> RenderableType:
    """A step as asked: its number, title, explanation and formula, with no numbers."""
    header = Text.assemble("\n", (f"{label_of(derivation, step)} {step.title}", "bold"), (f"   {step.concept}", "dim"))
    formula = equation(step) if step.formula is not None else step.left
    parts: list[RenderableType] = [header]
    if step.explanation:
        parts.append(Padding(Text(step.explanation, "dim"), (0, 0, 0, 2)))
    parts.append(Padding(Text(unicode(formula, derivation.names, width=width - 2), FORMULA, no_wrap=True), (0, 0, 0, 2)))
    return Group(*parts)


def substituted(derivation: Any, step: Any, position: tuple[int, ...], printer: TerminalPrinter) -> sp.Basic | None:
    """The formula at the asked entry with every number substituted, as ``left = numbers``;
    None without a formula, with an unbound index left, or with too many numbers to read."""
    left = entry(step, position)
    if step.formula is None or left is None:
        return None
    env = derivation.env
    sizes = {s: v for s, v in env.items() if isinstance(s, sp.Symbol) and isinstance(v, int) and not isinstance(v, bool)}
    expr = _expand_maximum(step.formula.subs({**sizes, **dict(zip(step.index, position))})).doit()
    mapping: dict = {}
    for atom in expr.atoms(sp.Indexed):
        if atom.base not in env or not all(index.is_Integer for index in atom.indices):
            return None
        mapping[atom] = _number(np.asarray(env[atom.base])[tuple(int(x) for x in atom.indices)], printer)
    for symbol in expr.free_symbols:
        if symbol in env and np.ndim(env[symbol]) == 0 and symbol not in sizes:
            mapping[symbol] = _number(env[symbol], printer)
    if not mapping or len(mapping) > MAX_NUMBERS:
        return None
    with sp.evaluate(False):
        return sp.Eq(left, expr.xreplace(mapping), evaluate=False)


def _expand_maximum(expr: sp.Basic) -> sp.Basic:
    """Maximum over a bound range written out as max(a, b, c), so its numbers can be shown."""
    def written(maximum: Maximum) -> sp.Basic:
        body, index, lower, upper = maximum.args
        if not (lower.is_Integer and upper.is_Integer):
            return maximum
        return sp.Function("max")(*(body.subs(index, k) for k in range(int(lower), int(upper) + 1)))

    return expr.replace(lambda node: isinstance(node, Maximum), written)


def _number(value: float, printer: TerminalPrinter) -> sp.Symbol:
    text = printer.number(value)
    return sp.Symbol(f"({text})" if text.startswith("-") else text)


def formula_hint(derivation: Any, step: Any, position: tuple[int, ...], printer: TerminalPrinter, width: int) -> RenderableType | None:
    """Hint 1: the formula with the numbers in place, or None where it cannot be written."""
    worked = substituted(derivation, step, position, printer)
    if worked is None:
        return None
    art = unicode(worked, derivation.names, keep_order=True, width=width - 4)
    return Group(Text(_("Hint: the formula with the numbers in place")), Padding(Text(art, INPUT, no_wrap=True), (0, 0, 0, 2)))


def values_hint(derivation: Any, step: Any, printer: TerminalPrinter) -> RenderableType:
    """Hint 2: the values of what the formula uses (inputs and earlier steps)."""
    lines: list[RenderableType] = [Text(_("Hint: the values it uses"))]
    ids = step.depends_on or ()
    if not ids:
        lines.append(Padding(Text(_("(it uses no earlier value)"), "dim"), (0, 0, 0, 2)))
    for id in ids:
        item = derivation.find(id)
        symbol = getattr(item, "symbol", None)
        name = unicode(symbol, derivation.names) if symbol is not None else id
        where = _("input") if id in {i.name for i in derivation.inputs} else label_of(derivation, item)
        head = Text.assemble((name if "\n" not in name else id, FORMULA), " = ")
        origin = Text(f"   ({where}: {getattr(item, 'title', '') or id})", "dim")
        value = printer.value(item.value, RESULT)
        if np.ndim(item.value) < 2:
            lines.append(Padding(Text.assemble(head, value, origin), (0, 0, 0, 2)))
        else:
            lines.append(Padding(Group(Text.assemble(head, origin), Padding(value, (0, 0, 0, 2))), (0, 0, 0, 2)))
    return Group(*lines)


def make_printer(derivation: Any, precision: int, width: int) -> TerminalPrinter:
    """A terminal printer primed with the derivation's values and names."""
    printer = TerminalPrinter(precision=precision, width=width)
    printer.begin(derivation)
    return printer


def inputs_rows(derivation: Any, printer: TerminalPrinter) -> list[tuple]:
    """The inputs as the terminal printer shows them: (name, symbol, shape, value, from)."""
    return [printer.doprint(item) for item in derivation.inputs]
