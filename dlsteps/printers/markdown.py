"""The Markdown printer: GitHub-flavoured Markdown with ``$...$`` and ``$$...$$`` math.

Renders on GitHub, in Jupyter and in Obsidian. Values go in tables, vectors and matrices
as LaTeX ``bmatrix`` inside math.
"""

from __future__ import annotations

import re
from typing import Any

from dlsteps.i18n import _
from dlsteps.model import Derivation, InputValue, Step
from dlsteps.printers.base import marker
from dlsteps.printers.document import DocumentPrinter

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$])")


def escape(text: str) -> str:
    """Prose with Markdown's special characters escaped (so e.g. y_i stays y_i)."""
    return _SPECIAL.sub(r"\\\1", text)


class MarkdownPrinter(DocumentPrinter):
    """Prints a Derivation as a Markdown document."""

    default_settings = {**DocumentPrinter.default_settings, "level": 1}

    def heading(self, level: int, text: str) -> str:
        return "#" * (self.settings["level"] + level) + " " + escape(text)

    def paragraph(self, text: str) -> str:
        return escape(text)

    def display(self, math: str) -> str:
        return f"$$\n{math}\n$$"

    def result(self, step: Step) -> str:
        row = f"| ${self.math(step.left)} = {self.value(step.value)}$ | {self.shape(step.value)} | {self.checks(step)} |"
        return f"| {_('result')} | {_('shape')} | {_('checked')} |\n|---|---|---|\n{row}"

    def inputs(self, inputs: list[InputValue]) -> str:
        header = f"| {_('input')} | {_('symbol')} | {_('shape')} | {_('value')} | {_('from')} |\n|---|---|---|---|---|"
        rows = [f"| {escape(item.label)} | ${self.math(item.symbol)}$ | {self.shape(item.shown)} | {self.cell(item.shown)} | {_(item.origin)} |"
                for item in inputs]
        return "\n".join([header, *rows])

    def cell(self, value: Any) -> str:
        """An input's value in a table cell: words escaped, numbers as math."""
        return escape(value) if isinstance(value, str) else f"${self.value(value)}$"

    def table(self, header: list[str], rows: list[list[str]]) -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])

    def note(self, text: str) -> str:
        return f"> {marker(text)} " + escape(text)

    def code(self, text: str) -> str:
        return f"```python\n{text}\n```"

    def document(self, d: Derivation, body: str) -> str:
        return body


def render(derivation: Derivation, **settings: Any) -> str:
    """`derivation` as Markdown text."""
    return MarkdownPrinter(**settings).doprint(derivation)
