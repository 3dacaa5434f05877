"""The terminal printer: a Derivation as Rich renderables (only the CLI owns a Console).

Colors tell things apart: formulas cyan, the user's input numbers yellow, results green,
checks in a dim badge, notes magenta (⚠ a caution, • a remark).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from rich import box
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Span, Text

from dlsteps.i18n import _
from dlsteps.model import Derivation, InputValue, Section, Step
from dlsteps.printers import grids
from dlsteps.printers.base import LEGEND, Printer, badges, label_of, marker, shape_text
from dlsteps.printers.formulas import Art, equation, faithful, shown_positions, unicode_art, worked
from dlsteps.printers.layout import Flush, Indented, Later, PlainRule, PlainTable

FORMULA, INPUT, RESULT, NOTE, CHECK = "cyan", "yellow", "bold green", "magenta", "dim green"
INPUT_COLUMNS = 44  # the inputs table's name, symbol, shape and origin columns beside a value


class TerminalPrinter(Printer):
    """Prints a Derivation as a Rich `Group`: title, inputs table, then each section's rule
    and steps, one part of the group each (the inputs and steps built when rendered).

    `width` is the console width: grids are cut into as many columns as fit in it;
    `ascii` draws formulas as ASCII art, for a terminal that cannot show Unicode.
    """

    default_settings = {**Printer.default_settings, "width": 80, "ascii": False}

    def _print_Derivation(self, d: Derivation) -> RenderableType:
        self.begin(d)
        title = Text.assemble((d.title, "bold"), "\n", (_("follows {lecture}").format(lecture=d.lecture), "italic"))
        parts: list[RenderableType] = [Panel(title, expand=False), Later(self._inputs, d.inputs), Flush([_legend()])]
        for number, section in enumerate(d.sections, start=1):
            parts += self._section(number, section)
        return Group(*parts)

    def _inputs(self, inputs: list[InputValue]) -> RenderableType:
        table = PlainTable(title=_("Inputs"), title_justify="left", box=box.SIMPLE_HEAD)
        for header in (_("input"), _("symbol"), _("shape"), _("value"), _("from")):
            table.add_column(header)
        for item in inputs:
            table.add_row(*self.doprint(item))
        return table

    def _print_InputValue(self, item: InputValue) -> tuple:
        return (item.label, Text(self.art(item.symbol).text, FORMULA), shape_text(item.shown),
                self.value(item.shown, INPUT, self.settings["width"] - INPUT_COLUMNS + grids.MARGIN), Text(_(item.origin), "dim"))

    def _section(self, number: int, section: Section) -> list[RenderableType]:
        """A section's parts of the view: its rule and explanation, then each step, built
        when it is rendered (`Later`: the view's parts may be rendered in two processes,
        see `dlsteps.twofold`)."""
        parts: list[RenderableType] = [Flush([Text("")]), PlainRule(f"{number}. {section.title}", align="left", style="bold blue")]
        if section.explanation:
            parts.append(Flush([Text(section.explanation, "italic")]))
        for position, step in enumerate(section.steps, start=1):
            parts.append(Later(self._step, step, f"{number}.{position}"))
        return parts

    def _step(self, step: Step, label: str) -> RenderableType:
        header = Text.assemble("\n", (f"{label} {step.title}", "bold"))
        if step.check and not self.settings["hide_values"]:
            header.append(f"   ✓ {' · '.join(badges(step))}", CHECK)
        parts: list[RenderableType] = [Text(step.explanation, "dim")] if step.explanation else []
        parts += self._math(step)
        parts += [Text(f"{marker(note)} {note}", NOTE) for note in step.notes]
        if self.settings["show_code"] and step.code:
            parts.append(Text(f">>> {step.code}", "dim cyan"))
        return Group(Flush([header]), Indented(parts))

    def _math(self, step: Step) -> list[RenderableType]:
        """Formula (and in full, with --expand), one element (or the scalar; with
        --element or --expand, the entries asked for) worked out with numbers, then the value."""
        width = self.settings["width"] - 2
        lines: list[RenderableType] = []
        if step.formula is not None:
            lines.append(Text(self.art(equation(step), width=width).text, FORMULA, no_wrap=True))
            lines.extend(self._full(step, width))
        else:
            lines.append(Text(self.art(step.left).text, FORMULA))
        hidden = self.settings["hide_values"]
        rounded = False
        for position in shown_positions(step, self.settings["elements"], self.settings["expand"]):
            numbers = worked(step, self._env, self.number, position)
            if numbers is not None:
                line, rounded = self._worked(step, numbers, width)
                lines.append(line)
        sign = "  ≈" if rounded and not step.index else "  ="
        if hidden:
            lines.append(_equals(Text("?", RESULT), width=width))
        elif np.ndim(step.value) == 0:
            lines.append(_equals(Text(self.number(step.value), RESULT), width=width, sign=sign))
        elif np.ndim(step.value) == 1 and self.fits(step.value):
            lines.append(_equals(self.value(step.value, RESULT), Text(f"({shape_text(step.value)})", "dim"), width=width))
        else:
            shaded = step.display == "heatmap"
            lines.append(_equals(self.grid(step.value, RESULT, step.labels, shaded), Text(f"({shape_text(step.value)})", "dim"), width=width))
            if grids.summarized(step.value):
                lines.append(Text("  " + _("(summarized: first and last rows and columns; --format json has every value)"), "dim"))
        if step.chart is not None and not hidden:
            lines.append(grids.chart(step.value, step.chart, self.settings["width"] - 4))
        return lines

    def _full(self, step: Step, width: int) -> list[RenderableType]:
        """A step's formula in full (`Step.full`) with --expand; else a line saying how to see it."""
        if step.full is None:
            return []
        if not self.settings["expand"]:
            return [Text(_("(--expand shows this formula in full, as SymPy derives it)"), "dim")]
        art = self.art(sp.Eq(step.left, step.full, evaluate=False), width=width).text
        return [Text(_("In full, as SymPy derives it:"), "dim"), Text(art, FORMULA, no_wrap=True)]

    def _worked(self, step: Step, numbers: tuple, width: int) -> tuple[RenderableType, bool]:
        """One worked element, ⇒ left = numbers = value (an array's entry) or = numbers (a
        scalar), and whether its shown numbers round to a different value (≈)."""
        left, expr, value = numbers
        rounded = not faithful(expr, value, self.number)
        if not step.index:
            art = self.art(expr, keep_order=True, width=width - 6)
            return _equals(Text(art.text, INPUT, no_wrap=True), width=width, rows=(art.first, art.last)), rounded
        result = Text("?" if self.settings["hide_values"] else self.number(value), RESULT)
        room = width - len("  ⇒ ") - len(" = ") - result.cell_len  # the art between ⇒ and "= result"
        art = self.art(sp.Eq(left, expr, evaluate=False), keep_order=True, width=room)
        return _equals(Text(art.text, INPUT, no_wrap=True), Text("≈" if rounded else "="), result, width=width, sign="  ⇒", rows=(art.first, art.last)), rounded

    def fits(self, vector: Any) -> bool:
        """Whether a vector fits on one line as [a, b, c] (else it is shown as a grid)."""
        return len(vector) <= grids.MAX_COLUMNS and sum(len(self.number(x)) + 2 for x in vector) < self.settings["width"] - 16

    def art(self, expr: Any, **settings: Any) -> Art:
        """A formula as Unicode art, or ASCII art where the terminal cannot show Unicode."""
        return unicode_art(expr, self._names, ascii=self.settings["ascii"], **settings)

    def value(self, value: Any, style: str, width: int | None = None) -> RenderableType:
        """Words as they are, a scalar or vector as one line of text, a matrix as a grid
        (`width` columns wide at most: less in the inputs table)."""
        if isinstance(value, str):
            return Text(value, style)
        if np.ndim(value) == 0:
            return Text(self.number(value), style)
        if np.ndim(value) == 1:
            return Text("[" + ", ".join(map(self.number, value)) + "]", style)
        return self.grid(value, style, width=width)

    def grid(self, value: Any, style: str, labels: tuple = ((), ()), shaded: bool = False, width: int | None = None) -> Text:
        """A vector or matrix as an aligned grid that fits the width (see `grids.grid`)."""
        return grids.grid(value, self.number, width or self.settings["width"], style, labels, shaded)


def _legend() -> Text:
    """The badges' legend, one line for each badge (a ✓ is never left at the end of a line)."""
    items = [item.strip() for item in _(LEGEND).split("✓") if item.strip()]
    return Text("\n".join(f"✓ {item}" for item in items), "dim")


def _equals(*cells: Text, width: int, sign: str = "  =", rows: tuple[int, int] | None = None) -> RenderableType:
    """`sign` followed by the cells, one space apart, each centred on the tallest: laid out
    as a Rich grid table lays them out, without building one where they fit in `width`
    (this is every step's last line, and tables are slow); a table shrinks them where
    they do not. With `rows`, the first cell is art whose baseline is on those rows of
    its first and last slice: the sign goes on the first, later cells on the last."""
    blocks = [_cell_lines(Text(sign)), *map(_cell_lines, cells)]
    widths = [max(cell_len(plain) for plain, _style, _spans in block) for block in blocks]
    if sum(widths) + len(widths) - 1 > width:
        return _equals_table(Text(sign), *cells)
    if rows is None:
        height = max(len(block) for block in blocks)
        tops = [(height - len(block)) // 2 for block in blocks]
    else:
        tops = [rows[0], 0] + [max(rows[1] - len(block) // 2, 0) for block in blocks[2:]]
        height = max(top + len(block) for top, block in zip(tops, blocks))
    pieces: list[str] = []
    spans: list[Span] = []
    offset = 0
    for row in range(height):
        for column, (block, cell_width, top) in enumerate(zip(blocks, widths, tops)):
            between = ("\n" if row else "") if column == 0 else " "
            if 0 <= row - top < len(block):
                plain, style, inner = block[row - top]
                piece = plain + " " * (cell_width - cell_len(plain))  # in the cell's style, as a table pads it
                start = offset + len(between)
                if style:
                    spans.append(Span(start, start + len(piece), style))
                spans.extend(Span(start + span.start, start + span.end, span.style) for span in inner)
            else:
                piece = " " * cell_width  # above or below a shorter cell: unstyled
            pieces += (between, piece)
            offset += len(between) + len(piece)
    return Text("".join(pieces), no_wrap=True, spans=spans)


def _cell_lines(cell: Text) -> list[tuple[str, Any, list[Span]]]:
    """A cell's lines as Text.split cuts them: (text, the cell's style, its spans cut to
    the line, in their order, those left empty dropped; a cell of one line keeps them all)."""
    if "\n" not in cell.plain:
        return [(cell.plain, cell.style, list(cell.spans))]
    lines, start = [], 0
    for plain in cell.plain.split("\n"):
        end = start + len(plain)
        spans = [Span(max(first, start) - start, min(last, end) - start, style)
                 for first, last, style in cell.spans if min(last, end) > max(first, start)]
        lines.append((plain, cell.style, spans))
        start = end + 1
    return lines


def _equals_table(*cells: RenderableType) -> Table:
    """The cells in a grid table, one space apart, centred vertically, shrunk to fit."""
    row = Table.grid(padding=(0, 1))
    for _cell in cells:
        row.add_column(vertical="middle")
    row.add_row(*cells)
    return row


def render(derivation: Derivation, **settings: Any) -> RenderableType:
    """The terminal view of `derivation` as a Rich renderable."""
    return TerminalPrinter(**settings).doprint(derivation)


def render_step(derivation: Derivation, id: str, **settings: Any) -> RenderableType:
    """One step alone (for the quiz); with ``hide_values=True`` its value is shown as ?."""
    printer = TerminalPrinter(**settings)
    printer.begin(derivation)
    step = derivation.find(id)
    return printer._step(step, label_of(derivation, step))
