"""The terminal printer: a Derivation as Rich renderables (only the CLI owns a Console).

Colors tell things apart: formulas cyan, the user's input numbers yellow, results green,
checks in a dim badge, notes (conventions, infinities) magenta.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from dlsteps.i18n import _
from dlsteps.model import Derivation, InputValue, Section, Step
from dlsteps.printers.base import Printer, shape_text
from dlsteps.printers.formulas import equation, substituted, unicode

FORMULA, INPUT, RESULT, NOTE, CHECK = "cyan", "yellow", "bold green", "magenta", "dim green"
COLUMNS = 8
MARGIN = 16  # the "  =" before a grid, its row labels and the shape after it


class TerminalPrinter(Printer):
    """Prints a Derivation as a Rich `Group`: title, inputs table, sections of steps.

    `width` is the console width: grids are cut into as many columns as fit in it.
    """

    default_settings = {**Printer.default_settings, "width": 80}

    def _print_Derivation(self, d: Derivation) -> RenderableType:
        self._env, self._names = d.env, d.names
        title = Text.assemble((d.title, "bold"), "\n", (_("follows {lecture}").format(lecture=d.lecture), "italic"))
        parts: list[RenderableType] = [Panel(title, expand=False), self._inputs(d.inputs)]
        for number, section in enumerate(d.sections, start=1):
            parts.append(self._section(number, section))
        return Group(*parts)

    def _inputs(self, inputs: list[InputValue]) -> RenderableType:
        table = Table(title=_("Inputs"), title_justify="left", box=box.SIMPLE_HEAD)
        for header in (_("input"), _("symbol"), _("shape"), _("value"), _("from")):
            table.add_column(header)
        for item in inputs:
            table.add_row(*self.doprint(item))
        return table

    def _print_InputValue(self, item: InputValue) -> tuple:
        return (item.name, Text(unicode(item.symbol, self._names), FORMULA), shape_text(item.value),
                self.value(item.value, INPUT), Text(_(item.origin), "dim"))

    def _section(self, number: int, section: Section) -> RenderableType:
        parts: list[RenderableType] = [Text(""), Rule(f"{number}. {section.title}", align="left", style="bold blue")]
        if section.explanation:
            parts.append(Text(section.explanation, "italic"))
        for position, step in enumerate(section.steps, start=1):
            parts.append(self._step(step, f"{number}.{position}"))
        return Group(*parts)

    def _step(self, step: Step, label: str) -> RenderableType:
        header = Text.assemble("\n", (f"{label} {step.title}", "bold"))
        if step.check:
            header.append(f"   ✓ {' · '.join(step.check)}", CHECK)
        parts: list[RenderableType] = [header]
        if step.explanation:
            parts.append(Padding(Text(step.explanation, "dim"), (0, 0, 0, 2)))
        parts.append(Padding(self._math(step), (0, 0, 0, 2)))
        parts.extend(Padding(Text(f"⚠ {note}", NOTE), (0, 0, 0, 2)) for note in step.notes)
        if self.settings["show_code"] and step.code:
            parts.append(Padding(Text(f">>> {step.code}", "dim cyan"), (0, 0, 0, 2)))
        return Group(*parts)

    def _math(self, step: Step) -> RenderableType:
        """Formula, numbers substituted, then the value (inline for a scalar or vector)."""
        lines: list[RenderableType] = []
        if step.formula is not None:
            width = self.settings["width"] - 2
            lines.append(Text(unicode(equation(step), self._names, width=width), FORMULA, no_wrap=True))
            numbers = substituted(step, self._env, self.number)
            if numbers is not None:
                art = unicode(numbers, self._names, keep_order=True, width=width - 6)
                lines.append(_equals(Text(art, INPUT, no_wrap=True)))
        else:
            lines.append(Text(unicode(step.left, self._names), FORMULA))
        if np.ndim(step.value) == 0:
            lines.append(_equals(Text(self.number(step.value), RESULT)))
        else:
            lines.append(_equals(self.grid(step.value, RESULT, step.labels), Text(f"({shape_text(step.value)})", "dim")))
        return Group(*lines)

    def value(self, value: Any, style: str) -> RenderableType:
        """A scalar or vector as one line of text, a matrix as a grid."""
        if np.ndim(value) == 0:
            return Text(self.number(value), style)
        if np.ndim(value) == 1:
            return Text("[" + ", ".join(map(self.number, value)) + "]", style)
        return self.grid(value, style)

    def grid(self, value: Any, style: str, labels: tuple = ((), ())) -> Text:
        """A vector or matrix as aligned text with row and column indices (or labels), in
        blocks of as many columns (at most COLUMNS) as fit the width."""
        row_labels, column_labels = labels
        matrix = np.atleast_2d(np.asarray(value, dtype=float))
        cells = [[self.number(x) for x in row] for row in matrix]
        rows = [] if np.ndim(value) == 1 else [row_labels[r] if row_labels else str(r) for r in range(len(cells))]
        widest = max(len(cell) for row in cells for cell in row)
        fitting = max(1, min(COLUMNS, (self.settings["width"] - MARGIN) // (widest + 3)))
        out = Text()
        for first in range(0, len(cells[0]), fitting):
            columns = range(first, min(first + fitting, len(cells[0])))
            heads = [column_labels[c] if column_labels else str(c) for c in columns]
            widths = [max(len(head), *(len(row[c]) for row in cells)) for head, c in zip(heads, columns)]
            margin = max(map(len, rows), default=-2) + 2
            header = " " * margin + "   ".join(head.rjust(w) for head, w in zip(heads, widths))
            out.append(f"{header}\n{'─' * len(header)}\n", "dim")
            for r, row in enumerate(cells):
                out.append((rows[r] if rows else "").ljust(margin), "dim")
                out.append("   ".join(row[c].rjust(w) for c, w in zip(columns, widths)) + "\n", style)
        out.rstrip()
        return out


def _equals(*cells: RenderableType) -> Table:
    """'  = ' followed by the cells, the sign centred on multi-line cells."""
    row = Table.grid(padding=(0, 1))
    row.add_column(vertical="middle")
    for _cell in cells:
        row.add_column(vertical="middle")
    row.add_row(Text("  ="), *cells)
    return row


def render(derivation: Derivation, **settings: Any) -> RenderableType:
    """The terminal view of `derivation` as a Rich renderable."""
    return TerminalPrinter(**settings).doprint(derivation)
