"""Every output format, declared in one place, and a derivation rendered as text in any of them.

The command line offers `FORMATS` for lessons, `BOOKLET_FORMATS` for `dlsteps export` and
`LIST_FORMATS` for `dlsteps list`; `as_text` serves ``-o FILE`` and pipes for every format,
`as_sheet` worksheets and answer keys. Importing this module is cheap
(the printers, and with them SymPy and NumPy, load only when something is rendered).
"""

from __future__ import annotations

from typing import Any

from dlsteps.i18n import N_

FORMATS = {
    "terminal": N_("the colored terminal view (default)"),
    "markdown": N_("Markdown with $...$ math (GitHub, Jupyter, Obsidian)"),
    "latex": N_("a LaTeX document (or --fragment) for pdflatex"),
    "json": N_("the whole derivation at full float64 precision"),
    "python": N_("a NumPy script that recomputes every value and asserts it"),
    "svg": N_("a picture of the terminal view"),
    "html": N_("a page of the terminal view"),
}
BOOKLET_FORMATS = ("markdown", "latex")
SHEET_FORMATS = ("markdown", "latex")
"""The formats of worksheets and answer keys (--worksheet, --answer-key)."""
LIST_FORMATS = ("terminal", "json")


def as_text(derivation: Any, format: str, precision: int = 4, show_code: bool = False, fragment: bool = False, **shown: Any) -> str:
    """`derivation` in `format` as text (the terminal view without colors); `shown` are
    the printers' other settings (elements, expand)."""
    from dlsteps import output
    from dlsteps.printers import json, latex, markdown, python, terminal

    settings = {"precision": precision, "show_code": show_code, **shown}
    if format == "json":
        return json.render(derivation)
    if format == "python":
        return python.render(derivation)
    if format == "markdown":
        return markdown.render(derivation, **settings)
    if format == "latex":
        return latex.render(derivation, fragment=fragment, **settings)
    view = terminal.render(derivation, width=output.FILE_WIDTH, **settings)
    if format == "terminal":
        return output.plain_text(view)
    return output.recorded(view, format, title=f"dlsteps {derivation.lesson}")


def as_sheet(derivation: Any, format: str, key: bool = False, blanks: str = "values", precision: int = 4,
             show_code: bool = False, fragment: bool = False) -> str:
    """The worksheet of `derivation` (its answer key with `key`) in `format` (SHEET_FORMATS)."""
    from dlsteps import worksheets

    settings = {"precision": precision, "show_code": show_code, **({"fragment": fragment} if format == "latex" else {})}
    return worksheets.render(derivation, format, key=key, blanks=blanks, **settings)
