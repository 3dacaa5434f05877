"""`--help` as plain text: the usage line, the description, then one section per panel
(Options, Inputs, Output, Worksheets; Commands, Lessons) of aligned rows.

Typer's own help is drawn with Rich (boxes, colours), whose help module alone costs
about 100 ms at start, more than the rest of `dlsteps softmax --help`; a help page is
read once and is text, as `git help` is. Text is wrapped by terminal cells, not by
characters, so Korean (two cells a character) stays within the width.
"""

from __future__ import annotations

from typing import Any

from dlsteps.i18n import _

INDENT, GAP, TERM_MAX = 2, 2, 24
"""Rows are indented by INDENT; GAP cells separate a row's term from its text; a term
wider than TERM_MAX stands on its own line, its text on the next."""


def cells(text: str) -> int:
    """Terminal cells of `text`: two for a wide (East Asian) character, one otherwise."""
    from unicodedata import east_asian_width

    return sum(2 if east_asian_width(char) in "WF" else 1 for char in text)


def wrapped(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells, broken between words (a word wider than
    the width stands alone)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and cells(candidate) > width:
            lines.append(line)
            candidate = word
        line = candidate
    return lines + [line] if line else lines


def write_paragraphs(formatter: Any, text: str) -> None:
    """Paragraphs (separated by blank lines) wrapped to the formatter's width, indented."""
    for paragraph in (part for part in text.split("\n\n") if part.strip()):
        formatter.write_paragraph()
        for line in wrapped(paragraph, formatter.width - INDENT):
            formatter.write(" " * INDENT + line + "\n")


def write_section(formatter: Any, title: str, rows: list[tuple[str, str]]) -> None:
    """A titled section of (term, text) rows: terms in a column, texts wrapped beside them."""
    formatter.write_paragraph()
    formatter.write(f"{title}:\n")
    column = min(max(cells(term) for term, _text in rows), TERM_MAX)
    room = max(formatter.width - INDENT - column - GAP, 20)
    for term, text in rows:
        lines = wrapped(text, room) or [""]
        if cells(term) > column:
            formatter.write(" " * INDENT + term + "\n")
            first, rest = None, lines
        else:
            first, rest = lines[0], lines[1:]
        if first is not None:
            formatter.write(" " * INDENT + term + " " * (column - cells(term) + GAP) + first + "\n")
        for line in rest:
            formatter.write(" " * (INDENT + column + GAP) + line + "\n")


def sections(items: list[tuple[str | None, str, str]], first: str) -> dict[str, list[tuple[str, str]]]:
    """(panel, term, text) grouped by panel in order of appearance, the panel `first`
    first; an item without a panel goes to `first`."""
    grouped: dict[str, list[tuple[str, str]]] = {first: []}
    for panel, term, text in items:
        grouped.setdefault(panel or first, []).append((term, text))
    return {title: rows for title, rows in grouped.items() if rows}


def options_help(command: Any, ctx: Any, formatter: Any) -> None:
    """The command's options, one section per help panel (Options first)."""
    records = [(getattr(param, "rich_help_panel", None), *record) for param in command.get_params(ctx)
               if (record := param.get_help_record(ctx)) is not None]
    for title, rows in sections(records, _("Options")).items():
        write_section(formatter, title, rows)


def commands_help(group: Any, ctx: Any, formatter: Any) -> None:
    """The group's commands with their help, one section per help panel (Commands first)."""
    items = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            items.append((getattr(command, "rich_help_panel", None), name, " ".join((command.help or "").split("\n\n")[0].split())))
    for title, rows in sections(items, _("Commands")).items():
        write_section(formatter, title, rows)
