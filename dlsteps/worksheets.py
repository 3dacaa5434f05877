"""Worksheets to hand out and their answer keys, in Markdown or LaTeX.

A worksheet is the derivation with the values left blank: the inputs at the top with
their values and the seed they came from, then every step with its title, explanation
and formula (``blanks="formulas"`` hides the formulas too), space to write and a blank
for the result. The key is the same sheet with everything filled in: formulas, one entry
worked out with its numbers, the values and the notes. In Markdown each blank is a line
``answer(ID): ____`` that `dlsteps check` reads back once filled in; the sheet's header
comment records the lesson, seed and inputs it was made with, so the check needs no
more than the file. Both print the commands that make the key again and mark the sheet.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import numpy as np

from dlsteps import catalogue
from dlsteps.i18n import _
from dlsteps.marking.answers import SHEET_TAG
from dlsteps.model import Derivation, Step
from dlsteps.printers.base import Printer, blocks
from dlsteps.printers.formulas import equation
from dlsteps.printers.latex import COLUMNS, ROWS, LatexPrinter, fit, span
from dlsteps.printers.markdown import MarkdownPrinter
from dlsteps.quiz.grading import Tolerance

BLANKS = ("values", "formulas")
SHEET_SETTINGS = {"key": False, "blanks": "values"}
TYPED = ("command line", "file", "worksheet")
"""Origins of inputs that were typed (recorded on the sheet); the others come from the
lesson's defaults or the seed, which the sheet records instead."""


def typed_inputs(d: Derivation) -> dict[str, str]:
    """The inputs typed for this run (name -> text), as the lesson command takes them."""
    names = {spec.name for spec in catalogue.get(d.lesson).inputs}
    return {item.name: item.text for item in d.inputs if item.origin in TYPED and item.name in names}


def command(d: Derivation, *options: str, check: bool = False) -> str:
    """The command that runs `d` again (same typed inputs and seed), with `options` added;
    with `check`, the command that marks answers against it."""
    info = catalogue.get(d.lesson)
    words = ["dlsteps", *(["check"] if check else []), d.lesson]
    for name, text in typed_inputs(d).items():
        words += [info.input(name).option, text]
    if d.seed is not None:
        words += ["--seed", str(d.seed)]
    return shlex.join(words + list(options))


def answer_text(value: Any, precision: int) -> str:
    """A value in the input syntax at `precision` digits: 0.659, 1, 2; 3, 4."""
    number = Printer(precision=precision).number
    rows = np.atleast_2d(np.asarray(value, dtype=float)) if np.ndim(value) else [[float(value)]]
    return "; ".join(", ".join(number(x) for x in row) for row in rows)


def shape_words(value: Any) -> str:
    """What to write for a value: one number, n numbers, or rows of numbers."""
    shape = np.shape(value)
    if not shape:
        return _("one number")
    if len(shape) == 1:
        return _("{n} numbers separated by commas (entries 0 to {last})").format(n=shape[0], last=shape[0] - 1)
    return _("a {rows}×{columns} matrix: {columns} numbers per row separated by commas, rows split by ;").format(rows=shape[0], columns=shape[1])


class SheetMixin:
    """The worksheet's walk over a DocumentPrinter: its preface and its steps."""

    def preface(self, d: Derivation) -> list[str]:
        """Title, lecture, where the numbers come from, instructions, the inputs."""
        key = self.settings["key"]
        title = (_("Answer key: {title}") if key else _("Worksheet: {title}")).format(title=d.title)
        blocks = [self.heading(0, title), self.paragraph(_("Follows {lecture}.").format(lecture=d.lecture))]
        blocks += [self.origin(d), *self.instructions(d), self.record(d), self.heading(1, _("Inputs")), self.inputs(d.inputs)]
        return [block for block in blocks if block]

    def origin(self, d: Derivation) -> str:
        """Where the numbers come from, and the commands that make this sheet and its key again."""
        source = (_("Seed {seed}: the inputs not typed were drawn from it.").format(seed=d.seed) if d.seed is not None
                  else _("The lesson's default inputs (no seed)."))
        digits = self.digits()
        blanks = ["--blanks", "formulas"] if self.settings["blanks"] == "formulas" else []
        return "\n\n".join([
            self.paragraph(source),
            self.paragraph(_("The worksheet: ")) + self.verbatim(command(d, "--worksheet", *blanks, "-f", self.format_name, *digits)),
            self.paragraph(_("Its answer key: ")) + self.verbatim(command(d, "--answer-key", "-f", self.format_name, *digits)),
        ])

    def instructions(self, d: Derivation) -> list[str]:
        """How to fill in the sheet, how close an answer must be, how to mark it."""
        if self.settings["key"]:
            return [self.paragraph(Tolerance(self.settings["precision"]).describe())]
        what = _("the formula and the value") if self.settings["blanks"] == "formulas" else _("the value")
        return [self.paragraph(_("Work each step by hand, from the inputs and your own earlier results, and write {what} in its blank: "
                                 "a number (0.5, -2, 1e-3 or 1/3), a vector with commas (0.1, 0.2, 0.3), a matrix with rows split by ; (1, 2; 3, 4).").format(what=what)),
                self.paragraph(Tolerance(self.settings["precision"]).describe()),
                self.paragraph(self.mark_hint()) + self.verbatim(command(d, "--answers", self.answers_file, *self.digits(), check=True))]

    def digits(self) -> list[str]:
        """The --precision option, where it is not the default."""
        return ["-p", str(self.settings["precision"])] if self.settings["precision"] != 4 else []

    def step(self, step: Step, label: str) -> list[str]:
        """A key's step is the derivation's, filled in; a sheet's keeps the title, explanation
        and formula (unless blanks are formulas), then the blank; never notes or charts."""
        if self.settings["key"]:
            return [*super().step(step, label), *self.filled(step)]
        blocks = [self.heading(2, f"{label} {step.title}")]
        if step.explanation:
            blocks.append(self.paragraph(step.explanation))
        formulas = self.settings["blanks"] == "values"
        if step.formula is not None and formulas:
            blocks.append(self.display(self.math(equation(step))))
        elif step.formula is not None:
            blocks.append(self.display(f"{self.math(step.left)} = {self.formula_blank()}"))
        blocks += self.blank(step)
        if self.settings["show_code"] and step.code and formulas:
            blocks.append(self.code(step.code))
        return blocks

    def record(self, d: Derivation) -> str:
        """What the sheet records for the check, in the format (none in LaTeX, which is written on)."""
        return ""

    def filled(self, step: Step) -> list[str]:
        """What a key adds under a step (the Markdown answer line, filled)."""
        return []


class MarkdownSheet(SheetMixin, MarkdownPrinter):
    """A worksheet or key in Markdown; its blanks are ``answer(ID): ____`` lines."""

    default_settings = {**MarkdownPrinter.default_settings, **SHEET_SETTINGS}
    format_name = "markdown"
    answers_file = "THIS_FILE.md"

    def verbatim(self, text: str) -> str:
        return f"`{text}`"

    def mark_hint(self) -> str:
        return _("Then mark it (save the filled-in sheet first): ")

    def record(self, d: Derivation) -> str:
        """The comment `dlsteps check` reads: lesson, seed and typed inputs of this sheet."""
        data = {"lesson": d.lesson, "seed": d.seed, "inputs": typed_inputs(d), "precision": self.settings["precision"]}
        return f"<!-- {SHEET_TAG} {json.dumps(data, ensure_ascii=False).replace('--', '- -')} -->"

    def formula_blank(self) -> str:
        return r"\underline{\qquad\qquad\qquad\qquad\qquad\qquad}"

    def blank(self, step: Step) -> list[str]:
        return [f"*{self.paragraph(shape_words(step.value))}*", answer_line(step.id, "____")]

    def filled(self, step: Step) -> list[str]:
        return [answer_line(step.id, answer_text(step.value, self.settings["precision"]))]


def answer_line(id: str, text: str) -> str:
    """The machine-readable blank of a Markdown worksheet (see `dlsteps.marking.answers`)."""
    return f"`answer({id})`: {text}"


class LatexSheet(SheetMixin, LatexPrinter):
    """A worksheet or key in LaTeX: boxes and empty matrices to write in, each with its id."""

    default_settings = {**LatexPrinter.default_settings, **SHEET_SETTINGS}
    format_name = "latex"
    answers_file = "answers.toml"

    def verbatim(self, text: str) -> str:
        return f"\\texttt{{{self.paragraph(text)}}}"

    def mark_hint(self) -> str:
        return _("To mark it, type your values into a TOML file, one line per step by the id under its blank "
                 "(ID = 0.5 for a number, ID = [0.1, 0.2] for a vector, ID = [[1, 2], [3, 4]] for a matrix), and run: ")

    def formula_blank(self) -> str:
        return r"\underline{\hspace{9cm}}"

    def blank(self, step: Step) -> list[str]:
        left = self.math(step.left)
        word = _("answer")  # outside the f-string, where Babel finds it
        tag = f"{{\\small {word} \\texttt{{{self.paragraph(step.id)}}}: {self.paragraph(shape_words(step.value))}}}"
        if np.ndim(step.value) == 0:
            box = fit(f"{left} = \\boxed{{\\rule{{0pt}}{{1.3em}}\\hspace{{4.5cm}}}}")
        else:
            box = "\n".join(self.empty_blocks(left, step.value))
        return ["\\vspace{2\\baselineskip}", box, tag]

    def empty_blocks(self, left: str, value: Any) -> list[str]:
        """Empty matrices of the value's shape, cut like the values' blocks."""
        parts = list(blocks(np.zeros(np.shape(value)), ROWS, COLUMNS))
        vector = np.ndim(value) == 1

        def empty(part: np.ndarray) -> str:
            row = " & ".join(["\\hspace{1.3cm}"] * part.shape[1])
            return "\\begin{bmatrix} " + " \\\\[1.2em] ".join([row] * part.shape[0]) + " \\end{bmatrix}"

        if len(parts) == 1:
            return [fit(f"{left} = {empty(parts[0][2])}")]
        return [fit(f"{left} = \\underset{{[{span(top, part.shape[0], first, part.shape[1], vector)}]}}{{}}{empty(part)}")
                for top, first, part in parts]


SHEETS = {"markdown": MarkdownSheet, "latex": LatexSheet}


def render(derivation: Derivation, format: str, key: bool = False, blanks: str = "values", **settings: Any) -> str:
    """The worksheet (or with `key` its answer key) of `derivation` as Markdown or LaTeX."""
    return SHEETS[format](key=key, blanks=blanks, **settings).doprint(derivation)
