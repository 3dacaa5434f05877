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
from dlsteps.printers.formulas import equation, unicode, worked
from dlsteps.printers.terminal import FORMULA, INPUT, RESULT, TerminalPrinter


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
    """The formula at the asked entry with every number substituted, as ``left = numbers``
    (as the lesson's own worked element writes it); None where it cannot be written."""
    found = worked(step, derivation.env, printer.number, position)
    return None if found is None else sp.Eq(found[0], found[1], evaluate=False)


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
