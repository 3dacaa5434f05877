"""The LaTeX printer: a standalone document, or with ``fragment`` the body alone.

Needs nothing beyond TeX Live's base and recommended sets (amsmath, amssymb, booktabs,
graphicx) and compiles with pdflatex. Wide formulas are scaled down to the line width
(never up); vectors and matrices are broken into blocks of at most 8 columns and 16 rows
so they never run off the page. Prose is escaped and its Unicode symbols written as
LaTeX commands; text pdflatex cannot set (the Korean titles of the lectures) is left out.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from dlsteps.i18n import _
from dlsteps.model import Derivation, InputValue, Step
from dlsteps.printers.base import blocks
from dlsteps.printers.document import DocumentPrinter

COLUMNS, ROWS = 8, 16

PREAMBLE = r"""\usepackage[utf8]{inputenc}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb,booktabs,graphicx}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}"""

_TEXT = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "#": r"\#", "%": r"\%",
    "&": r"\&", "$": r"\$", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "δ": r"$\delta$", "Δ": r"$\Delta$", "Σ": r"$\Sigma$", "∂": r"$\partial$", "η": r"$\eta$", "λ": r"$\lambda$",
    "κ": r"$\kappa$", "ŷ": r"$\hat{y}$", "ℓ": r"$\ell$", "∞": r"$\infty$", "·": r"$\cdot$", "×": r"$\times$",
    "²": r"$^2$", "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$", "→": r"$\to$", "‖": r"$\|$", "−": "-", "…": r"\ldots{}",
    "ᴸ": "L", "¹": r"$^1$", "⚠": "", "✓": r"$\checkmark$", "–": "--", "—": "---",
}
_PARENTHESIS = re.compile(r"\s*\([^()]*\)")


def _settable(char: str) -> bool:
    return char in _TEXT or ord(char) < 256


def escape(text: str) -> str:
    """Prose as LaTeX text: special characters escaped, symbols as commands, the rest
    pdflatex cannot set (and a parenthesis holding it) left out."""
    text = _PARENTHESIS.sub(lambda m: m.group() if all(map(_settable, m.group())) else "", text)
    return "".join(_TEXT.get(char, char if ord(char) < 256 else "") for char in text)


def fit(math: str) -> str:
    """Display math, scaled down to the line width when it is wider."""
    return ("\\begin{center}\n\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}"
            f"{{$\\displaystyle {math}$}}\n\\end{{center}}")


class LatexPrinter(DocumentPrinter):
    """Prints a Derivation as LaTeX; settings: fragment (body only), chapter (booklet)."""

    default_settings = {**DocumentPrinter.default_settings, "fragment": False, "chapter": False}

    def heading(self, level: int, text: str) -> str:
        commands = ("chapter", "section*", "subsection*") if self.settings["chapter"] else ("section*", "subsection*", "subsubsection*")
        return f"\\{commands[level]}{{{escape(text)}}}"

    def paragraph(self, text: str) -> str:
        return escape(text)

    def display(self, math: str) -> str:
        return fit(math)

    def shape(self, value: Any) -> str:
        return super().shape(value).replace("×", r"$\times$")

    def result(self, step: Step) -> str:
        badge = f"\\hfill{{\\small $\\checkmark$ {escape(self.checks(step))}}}" if step.check else ""
        left = self.math(step.left)
        if np.ndim(step.value) == 0:
            return fit(f"{left} = {self.number(step.value)}") + "\n" + badge
        return "\n".join([*self.blocks(left, step.value), f"{{\\small {_('shape')} {self.shape(step.value)}}} {badge}"])

    def blocks(self, left: str, value: Any) -> list[str]:
        """An array as displays of at most ROWS × COLUMNS entries each, captioned when split."""
        parts = list(blocks(value, ROWS, COLUMNS))
        if len(parts) == 1:
            return [fit(f"{left} = {self.matrix(parts[0][2])}")]
        vector = np.ndim(value) == 1
        return [fit(f"{left} = \\underset{{[{_span(top, part.shape[0], first, part.shape[1], vector)}]}}{{}}{self.matrix(part)}")
                for top, first, part in parts]

    def inputs(self, inputs: list[InputValue]) -> str:
        rows = "\n".join(
            f"{escape(item.name)} & ${self.math(item.symbol)}$ & {self.shape(item.value)} & {escape(_(item.origin))} \\\\" for item in inputs
        )
        table = (f"\\begin{{tabular}}{{llll}}\n\\toprule\n{_('input')} & {_('symbol')} & {_('shape')} & {_('from')} \\\\\n"
                 f"\\midrule\n{rows}\n\\bottomrule\n\\end{{tabular}}")
        values = [block for item in inputs for block in self.blocks(self.math(item.symbol), item.value)]
        return "\n\n".join([table, *values])

    def note(self, text: str) -> str:
        return f"\\emph{{{_('Note')}:}} {escape(text)}"

    def code(self, text: str) -> str:
        return f"\\begin{{verbatim}}\n{text}\n\\end{{verbatim}}"

    def document(self, d: Derivation, body: str) -> str:
        if self.settings["fragment"] or self.settings["chapter"]:
            return f"% dlsteps {d.lesson}: needs \\usepackage{{amsmath,amssymb,booktabs,graphicx}}\n{body}"
        return f"\\documentclass[11pt]{{article}}\n{PREAMBLE}\n\\begin{{document}}\n{body}\\end{{document}}\n"


def _span(top: int, rows: int, first: int, columns: int, vector: bool) -> str:
    """Which entries a block holds, e.g. 8…15 or 0…15, 8…15 (rows, columns)."""
    cols = f"{first}\\ldots {first + columns - 1}"
    return cols if vector else f"{top}\\ldots {top + rows - 1},\\ {cols}"


def booklet(chapters: list[str], title: str) -> str:
    """One report with a table of contents from chapters printed with ``chapter=True``."""
    body = "\n".join(chapters)
    return (f"\\documentclass[11pt]{{report}}\n{PREAMBLE}\n\\title{{{escape(title)}}}\n\\date{{}}\n"
            f"\\begin{{document}}\n\\maketitle\n\\tableofcontents\n{body}\\end{{document}}\n")


def render(derivation: Derivation, **settings: Any) -> str:
    """`derivation` as LaTeX text."""
    return LatexPrinter(**settings).doprint(derivation)
