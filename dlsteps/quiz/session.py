"""The interactive quiz: ask each planned question, grade, hint, record, schedule.

Keys, in the manner of rustlings, typed at the prompt: ``h`` a hint (first the formula
with the numbers in place, then the values it uses), ``r`` reveal, ``s`` skip, ``q`` quit.
Anything else is read as an answer in the input syntax. Every action is committed to
the store as it is taken; a question is settled (and its concept reviewed) in one
transaction with the action that settles it.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich import box

from dlsteps.errors import InputError
from dlsteps.i18n import N_, _
from dlsteps.quiz import grading, hints
from dlsteps.quiz.plan import Question
from dlsteps.quiz.store import Store

QUIT, HINT, REVEAL, SKIP = ("q", "quit", "exit"), ("h", "hint"), ("r", "reveal"), ("s", "skip")
KEYS = N_("Type the value (e.g. 0.62, 1/3, or 0.1,0.2), or: h hint · r reveal · s skip · q quit.")
BAR = 30
OUTCOME_LABELS = {
    "right": N_("right first time"),
    "after_help": N_("right after hints or tries"),
    "wrong": N_("wrong, then skipped"),
    "revealed": N_("revealed"),
    "skipped": N_("skipped"),
}


class Stopped(Exception):
    """The learner quit (q, or end of input); what was answered is saved."""


@dataclass
class Terminal:
    """Where the quiz talks: a Rich console to show, a function to read one line."""

    console: Console
    read: Callable[[str], str] | None = None

    def show(self, *renderables: RenderableType, soft_wrap: bool = False) -> None:
        for renderable in renderables:
            self.console.print(renderable, soft_wrap=soft_wrap)

    def ask(self, prompt: str) -> str:
        if self.read is not None:
            return self.read(prompt)
        return self.console.input(prompt)

    @property
    def width(self) -> int:
        return min(self.console.width, 120)


def replay_command(session: dict[str, Any], options: dict[str, str]) -> str:
    """The command that asks the same questions with the same inputs again."""
    words = ["dlsteps", "quiz", session["lesson"], "--seed", str(session["seed"])]
    for name, (text, _origin) in session["inputs"].items():
        words += [options.get(name, "--" + name.replace("_", "-")), text]
    if session["steps"] != "all":
        words += ["--steps", session["steps"]]
    if session["precision"] != 4:
        words += ["--precision", str(session["precision"])]
    return " ".join(shlex.quote(word) for word in words)


class Quiz:
    """One session of questions on a checked Derivation, recorded in a Store."""

    def __init__(self, derivation: Any, store: Store, session: dict[str, Any], terminal: Terminal, fuzz: bool = True) -> None:
        self.d, self.store, self.session, self.terminal, self.fuzz = derivation, store, session, terminal, fuzz
        self.plan = [Question.from_json(item) for item in session["plan"]]
        self.precision = session["precision"]
        self.printer = hints.make_printer(derivation, self.precision, terminal.width)
        self._references: dict[str, tuple] = {}

    def intro(self, replay: str, resumed: bool) -> None:
        """Title, seed and replay command, the inputs, the tolerance, the keys."""
        title = Text.assemble((_("Quiz: {title}").format(title=self.d.title), "bold"), "\n",
                              (_("follows {lecture}").format(lecture=self.d.lecture), "italic"))
        table = Table(title=_("Inputs"), title_justify="left", box=box.SIMPLE_HEAD)
        for header in (_("input"), _("symbol"), _("shape"), _("value"), _("from")):
            table.add_column(header)
        for row in hints.inputs_rows(self.d, self.printer):
            table.add_row(*row)
        left = len(self.plan) - len(self.store.settled(self.session["id"]))
        if resumed:
            count = _("Resuming: {left} of {total} questions left.").format(left=left, total=len(self.plan))
        else:
            count = _("1 question.") if len(self.plan) == 1 else _("{total} questions.").format(total=len(self.plan))
        self.terminal.show(
            Panel(title, expand=False))
        self.terminal.show(Text(_("Seed {seed}. Replay these inputs: {command}").format(seed=self.session["seed"], command=replay)),
                           soft_wrap=True)
        self.terminal.show(
            table,
            Text(f"{count} " + grading.Tolerance(self.precision).describe()),
            Text(_(KEYS), "dim"),
        )

    def run(self) -> Counter:
        """Ask every question not yet settled; returns the outcomes of the whole session.
        Raises Stopped when the learner quits (KeyboardInterrupt passes through)."""
        settled = self.store.settled(self.session["id"])
        shown_step = None
        for index, question in enumerate(self.plan):
            if index in settled:
                continue
            step = self.d.find(question.step)
            self.terminal.show(self._bar(len(settled)))
            if step.id != shown_step:
                self.terminal.show(hints.question(self.d, step, self.terminal.width))
                shown_step = step.id
            settled[index] = self.ask(index, question, step)
        self.terminal.show(self._bar(len(settled)))
        return Counter(settled.values())

    def ask(self, index: int, question: Question, step: Any) -> str:
        """One question until it is settled; returns its outcome."""
        position = question.position
        expected = np.asarray(step.value, dtype=float)[position]
        self.terminal.show(self._entry(step, position, "?"))
        hints_left = self._hints(step, position)
        used = tries = 0
        while True:
            text = self._read()
            command = text.strip().lower()
            if command in QUIT:
                raise Stopped
            if command in HINT:
                hint = None
                while hint is None and hints_left:
                    hint = hints_left.pop(0)()
                if hint is not None:
                    self.terminal.show(Padding(hint, (0, 0, 0, 2)))
                    self.store.act(self.session["id"], index, "hint")
                    used += 1
                else:
                    self.terminal.show(Text(_("No more hints: r reveals the value."), "dim"))
                continue
            if command in REVEAL:
                self.terminal.show(Text.assemble(_("The value: "), (self._shown(step, position), "bold green")))
                return self._settle(index, question, step, "revealed", used, tries, ("reveal", None, None))
            if command in SKIP:
                return self._settle(index, question, step, "wrong" if tries else "skipped", used, tries, ("skip", None, None))
            if not command:
                self.terminal.show(Text(_(KEYS), "dim"))
                continue
            try:
                verdict = grading.grade(text, expected, self._tolerance(step), self._others(step, position))
            except InputError as error:
                self.terminal.show(Text(_("Not read: {error}").format(error=error), "yellow"))
                continue
            if verdict.right:
                self.terminal.show(Text.assemble(("✓ ", "bold green"), _("right: "), (self._shown(step, position), "bold green")))
                outcome = "right" if not used and not tries else "after_help"
                return self._settle(index, question, step, outcome, used, tries, ("answer", text.strip(), True))
            tries += 1
            self.store.act(self.session["id"], index, "answer", text.strip(), False)
            self.terminal.show(Text.assemble(("✗ ", "bold red"), _("not right. Try again, or h for a hint, r to reveal, s to skip.")))

    def _read(self) -> str:
        try:
            return self.terminal.ask("› ")
        except EOFError:
            raise Stopped from None

    def _settle(self, index: int, question: Question, step: Any, outcome: str, used: int, tries: int, action: tuple) -> str:
        self.store.settle(self.session["id"], index, self.d.lesson, step.id, question.position, step.concept,
                          outcome, used, tries, action, fuzz=self.fuzz)
        return outcome

    def _hints(self, step: Any, position: tuple[int, ...]) -> list[Callable[[], RenderableType | None]]:
        """The hints in order, made when asked for (the first may not exist: None)."""
        return [lambda: hints.formula_hint(self.d, step, position, self.printer, self.terminal.width),
                lambda: hints.values_hint(self.d, step, self.printer)]

    def _tolerance(self, step: Any) -> grading.Tolerance:
        return grading.Tolerance(self.precision, grading.scale_of(step.value))

    def _others(self, step: Any, position: tuple[int, ...]) -> tuple:
        """The value worked from the earlier values as shown, at the asked entry."""
        if step.id not in self._references:
            reference = grading.shown_reference(self.d, step, self.precision)
            self._references[step.id] = () if reference is None else (reference,)
        return tuple(reference[position] for reference in self._references[step.id])

    def _shown(self, step: Any, position: tuple[int, ...]) -> str:
        value = np.asarray(step.value, dtype=float)[position]
        return f"{hints.entry_text(self.d, step, position)} = {self.printer.number(value)}"

    def _entry(self, step: Any, position: tuple[int, ...], value: str) -> RenderableType:
        return Padding(Text(f"{hints.entry_text(self.d, step, position)} = {value}", "bold"), (0, 0, 0, 2))

    def _bar(self, done: int) -> Text:
        total = max(len(self.plan), 1)
        filled = round(BAR * done / total)
        return Text.assemble("\n", ("█" * filled, "green"), ("░" * (BAR - filled), "dim"), f" {done}/{len(self.plan)}")


def scorecard(outcomes: Counter, total: int) -> RenderableType:
    """The outcomes of a session: right first time, right after hints, revealed..."""
    table = Table(title=_("Scorecard"), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(_("outcome"))
    table.add_column(_("questions"), justify="right")
    for outcome, label in OUTCOME_LABELS.items():
        table.add_row(_(label), str(outcomes.get(outcome, 0)))
    left = total - sum(outcomes.values())
    if left:
        table.add_row(_("not yet answered"), str(left))
    return Group(table)
