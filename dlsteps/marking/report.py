"""The marks shown: a table on the terminal, or JSON for scripts.

The first wrong step is shown with its formula twice, at its first wrong entry: with
the learner's numbers in place (their answers, and what follows from them for steps
they did not answer) and with ours, then the inputs of the formula that the learner
already had wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dlsteps.i18n import _
from dlsteps.marking.mark import GIVEN, MARKS, RIGHT, WRONG, Mark, Marking
from dlsteps.model import Step
from dlsteps.printers.formulas import latex, unicode
from dlsteps.printers.json import plain
from dlsteps.printers.terminal import FORMULA, INPUT, RESULT, TerminalPrinter
from dlsteps.quiz import grading, hints

SHOWN_ENTRIES = 4
"""A vector with more entries than this is shortened in the table (JSON has them all)."""
VALUE_WIDTH = 20
"""The widest the yours and ours columns grow, so the marks keep room."""
STYLE = {RIGHT: "bold green", GIVEN: "green", WRONG: "bold red"}


def words(mark: str) -> str:
    """A mark in words."""
    return {RIGHT: _("right"), GIVEN: _("right given your earlier values"), WRONG: _("wrong")}[mark]


@dataclass
class Comparison:
    """The first wrong step at its first wrong entry: the formula with the learner's
    numbers and with ours (None where it cannot be written out), and the numbers."""

    mark: Mark
    position: tuple[int, ...]
    yours: sp.Basic | None
    ours: sp.Basic | None
    answer: float
    carried: float | None
    expected: float


class _Numbers:
    """What `hints.substituted` reads of a derivation, with the learner's values bound."""

    def __init__(self, env: dict, names: dict) -> None:
        self.env, self.names = env, names


def learner_env(marking: Marking) -> dict:
    """The derivation's symbol values with the learner's in place of ours."""
    d = marking.derivation
    env = dict(d.env)
    for id, value in marking.values.items():
        symbol = d.find(id).symbol
        if symbol is not None:
            env[symbol] = np.asarray(value, dtype=float) if np.ndim(value) else float(value)
    return env


def compare(marking: Marking, printer: TerminalPrinter) -> Comparison | None:
    """The first wrong step written out with the learner's numbers and with ours."""
    first = marking.first_wrong
    if first is None:
        return None
    d, position = marking.derivation, first.position or ()
    yours = ours = None
    if isinstance(first.item, Step) and first.item.formula is not None:
        yours = hints.substituted(_Numbers(learner_env(marking), d.names), first.item, position, printer)
        ours = hints.substituted(d, first.item, position, printer)
    carried = None if first.carried is None else float(first.carried[position])
    return Comparison(first, position, yours, ours, float(first.answer[position]), carried, float(first.expected[position]))


def name_of(marking: Marking, id: str) -> str:
    """How an id is written for the learner: its symbol (one line), else the id."""
    symbol = getattr(marking.derivation.find(id), "symbol", None)
    text = unicode(symbol, marking.derivation.names) if symbol is not None else id
    return text if "\n" not in text and text.strip() else id


def brief(value: np.ndarray, printer: TerminalPrinter) -> str:
    """A value in a table cell: a number, a short vector, or a matrix's shape."""
    if np.ndim(value) == 0:
        return printer.number(value)
    if np.ndim(value) == 1:
        shown = ", ".join(map(printer.number, value[:SHOWN_ENTRIES]))
        return f"[{shown}{', …' if len(value) > SHOWN_ENTRIES else ''}]"
    return "×".join(map(str, np.shape(value)))


def detail(marking: Marking, mark: Mark, printer: TerminalPrinter) -> str:
    """Why: the entries right, the wrong entries with ours, the learner's wrong inputs."""
    parts = []
    if np.size(mark.answer) > 1 and mark.mark == WRONG:
        parts.append(_("{right} of {total} entries right").format(right=int(mark.right.sum()), total=mark.right.size))
        for position in [tuple(int(x) for x in p) for p in np.argwhere(~mark.right)[:2]]:
            parts.append(_("{entry}: {yours} (ours {ours})").format(
                entry=list(position), yours=printer.number(mark.answer[position]), ours=printer.number(mark.expected[position])))
    if mark.wrong_inputs and mark.mark != RIGHT:
        names = ", ".join(name_of(marking, id) for id in mark.wrong_inputs)
        parts.append((_("from your {names}") if mark.mark == GIVEN else _("uses your {names}")).format(names=names))
    return "; ".join(parts)


def terminal(marking: Marking, width: int = 80, notes: tuple[str, ...] = ()) -> RenderableType:
    """The marks as Rich renderables: header, tolerance, table, summary, first wrong step."""
    d = marking.derivation
    printer = hints.make_printer(d, marking.precision, width)
    seed = _("seed {seed}").format(seed=d.seed) if d.seed is not None else _("no seed")
    header = Panel(Text.assemble((_("Marks: {title}").format(title=d.title), "bold"), "\n", (f"{d.lesson}, {seed}", "italic")), expand=False)
    inputs = Text.assemble(_("Inputs: "), *_inputs(d, printer))
    parts: list[RenderableType] = [header, inputs, Text(grading.Tolerance(marking.precision).describe(), "dim")]
    parts += [Text(note, "magenta") for note in notes]
    if marking.marks:
        parts.append(table(marking, printer))
    parts.append(Text(summary(marking)))
    comparison = compare(marking, printer)
    if comparison is not None:
        parts.append(first_wrong(marking, comparison, printer, width))
    elif marking.marks:
        parts.append(Text(_("No wrong step: every answer is right, or follows from your earlier values."), "bold green"))
    return Group(*parts)


def _inputs(d: Any, printer: TerminalPrinter) -> list:
    pieces: list = []
    for item in d.inputs:
        value = item.value if isinstance(item.value, str) else brief(np.asarray(item.value, dtype=float), printer)
        pieces += [(f"{item.name} = ", ""), (value, INPUT), ("; " if item is not d.inputs[-1] else "", "")]
    return pieces


def table(marking: Marking, printer: TerminalPrinter) -> Table:
    """One row per answered step: its number and id, yours, ours, the mark and why."""
    grid = Table(title=_("Marks"), title_justify="left", box=box.SIMPLE_HEAD)
    grid.add_column(_("step"), no_wrap=True)
    for header in (_("yours"), _("ours")):
        grid.add_column(header, max_width=VALUE_WIDTH)
    grid.add_column(_("mark"))
    first = marking.first_wrong
    for mark in marking.marks:
        sign = "✓ " if mark.mark != WRONG else "✗ "
        text = Text(sign + words(mark.mark), STYLE[mark.mark])
        why = detail(marking, mark, printer)
        if why:
            text.append(f" ({why})", "dim")
        if mark is first:
            text.append(" " + _("← first wrong step"), "bold red")
        grid.add_row(f"{mark.label} {mark.id}", brief(mark.answer, printer), brief(mark.expected, printer), text)
    return grid


def summary(marking: Marking) -> str:
    """One line: how many right, right given earlier values, wrong, not answered."""
    counts = _("{right} right, {given} right given your earlier values, {wrong} wrong").format(
        right=marking.count(RIGHT), given=marking.count(GIVEN), wrong=marking.count(WRONG))
    left = len(marking.unanswered)
    if not marking.marks:
        return _("Nothing answered yet: write your values after the answer lines and check again.")
    return counts + (_("; {n} steps not answered.").format(n=left) if left else ".")


def first_wrong(marking: Marking, c: Comparison, printer: TerminalPrinter, width: int) -> RenderableType:
    """The first wrong step: its formula with your numbers and with ours, and what it used wrong."""
    item = c.mark.item
    entry = hints.entry_text(marking.derivation, item, c.position) if isinstance(item, Step) else input_entry(marking, item, c.position)
    title = Text.assemble((_("First wrong step: "), "bold red"), (f"{c.mark.label} {getattr(item, 'title', item.id)} ({c.mark.id})", "bold"))
    lines: list[RenderableType] = [title]
    lines.append(Text.assemble(_("You wrote "), (f"{entry} = {printer.number(c.answer)}", "bold red"), _("; ours is "),
                               (printer.number(c.expected), RESULT), "."))
    for label, expr, value in ((_("With your numbers:"), c.yours, c.carried), (_("With ours:"), c.ours, c.expected)):
        if expr is not None:
            art = unicode(expr, marking.derivation.names, keep_order=True, width=width - 6)
            result = f" = {printer.number(value)}" if value is not None and "\n" not in art else ""
            lines += [Text(label), Padding(Text(art + result, FORMULA if label == _("With ours:") else INPUT, no_wrap=True), (0, 0, 0, 2))]
            if "\n" in art and value is not None:
                lines.append(Padding(Text(f"= {printer.number(value)}"), (0, 0, 0, 2)))
    if c.yours is None and isinstance(item, Step) and item.formula is not None and c.carried is not None:
        lines.append(Text(_("From your earlier values its formula gives {value}.").format(value=printer.number(c.carried))))
    lines.append(Text(wrong_inputs_text(marking, c.mark)))
    return Padding(Group(*lines), (1, 0, 0, 0))


def input_entry(marking: Marking, item: Any, position: tuple[int, ...]) -> str:
    """An input's entry as one line: o₂, or W[1, 0] where its symbol has no index form."""
    symbol = item.symbol
    if position and isinstance(symbol, sp.IndexedBase):
        return hints.entry_text_of(marking.derivation, symbol[position])
    return name_of(marking, item.id) + (f"[{', '.join(map(str, position))}]" if position else "")


def wrong_inputs_text(marking: Marking, mark: Mark) -> str:
    """Which of the values the step uses the learner already had wrong."""
    if not isinstance(mark.item, Step):
        return _("This is an input: copy it from the top of the sheet.")
    if mark.item.formula is None:
        return _("This step has no formula to rework from your values; compare it with the derivation (dlsteps {lesson}).").format(lesson=marking.derivation.lesson)
    if not mark.wrong_inputs:
        return _("Everything it uses was right (or not answered and not affected): the slip is in this step.")
    names = ", ".join(f"{name_of(marking, id)} ({id})" for id in mark.wrong_inputs)
    return _("Already wrong in what it uses: {names}; even with those, this step does not follow.").format(names=names)


def as_json(marking: Marking, notes: tuple[str, ...] = ()) -> dict:
    """The marks as JSON data (full float64 values; see README for the schema)."""
    d = marking.derivation
    printer = hints.make_printer(d, marking.precision, 80)
    tolerance = grading.Tolerance(marking.precision)
    comparison = compare(marking, printer)
    return {
        "lesson": d.lesson,
        "seed": d.seed,
        "inputs": {item.name: plain(item.value) for item in d.inputs},
        "precision": marking.precision,
        "tolerance": {"relative": tolerance.relative, "text": tolerance.describe()},
        "notes": list(notes),
        "marks": [_mark_json(m) for m in marking.marks],
        "unanswered": marking.unanswered,
        "summary": {**{key: marking.count(key) for key in MARKS}, "unanswered": len(marking.unanswered)},
        "first_wrong": None if comparison is None else _comparison_json(marking, comparison),
    }


def data(value: Any) -> Any:
    """A number or array as JSON data at full precision; NaN (a formula undefined at the
    learner's values) as null."""
    array = np.asarray(value, dtype=float)
    if array.ndim:
        return [data(x) for x in array]
    return None if np.isnan(array) else plain(float(array))


def _mark_json(m: Mark) -> dict:
    return {"id": m.id, "label": m.label, "title": getattr(m.item, "title", m.id), "mark": m.mark,
            "answer": plain(m.answer), "expected": plain(m.expected), "carried": None if m.carried is None else data(m.carried),
            "entries": int(m.right.size), "right_entries": int(m.right.sum()),
            "wrong_entries": [[int(x) for x in p] for p in np.argwhere(~np.atleast_1d(m.right))] if np.ndim(m.right) else ([] if m.right else [[]]),
            "wrong_inputs": list(m.wrong_inputs)}


def _comparison_json(marking: Marking, c: Comparison) -> dict:
    names = marking.derivation.names
    return {"id": c.mark.id, "label": c.mark.label, "position": list(c.position), "answer": plain(c.answer),
            "expected": plain(c.expected), "carried": None if c.carried is None else data(c.carried),
            "yours": None if c.yours is None else latex(c.yours, names, keep_order=True),
            "ours": None if c.ours is None else latex(c.ours, names, keep_order=True),
            "wrong_inputs": list(c.mark.wrong_inputs)}
