"""Where output goes on the terminal: paged when taller than the screen, plain when piped.

Colors only on a terminal and never when NO_COLOR is set; the pager (``$PAGER``, else
``less -R``) only when stdout is a terminal, the output is taller than the screen and
``--no-pager`` was not given. Files are written by `dlsteps.files`.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys

from rich.console import Console, RenderableType

from dlsteps import twofold


FILE_WIDTH = 100

# Renderables are printed with crop=False: every view dlsteps builds is already laid out
# within the width (tables, rules and padding to it, text wrapped or cut by Rich when it
# is rendered), and cropping every line again costs a tenth of the printing.


def console(**options) -> Console:
    """A Console on stdout; without any escape codes when NO_COLOR is set. Text is never
    read for emoji codes (a word typed as :fire: stays as typed)."""
    if os.environ.get("NO_COLOR"):
        options.setdefault("color_system", None)
    return Console(emoji=False, **options)


def plain_text(renderable: RenderableType, width: int = FILE_WIDTH) -> str:
    """The renderable as plain text without escape codes (for files)."""
    stream = io.StringIO()
    Console(width=width, color_system=None, force_terminal=False, file=stream, emoji=False).print(renderable, crop=False)
    return stream.getvalue()


def recorded(renderable: RenderableType, format: str, title: str) -> str:
    """The terminal view, colors included, as a standalone SVG picture or HTML page."""
    console = Console(record=True, width=FILE_WIDTH, file=io.StringIO(), force_terminal=True, color_system="truecolor", emoji=False)
    console.print(renderable, crop=False)
    return console.export_svg(title=title) if format == "svg" else console.export_html(inline_styles=True)


ASCII = str.maketrans({"✓": "ok", "⚠": "!", "⇒": "=>", "─": "-", "⋮": ":", "⋯": "...", "…": "...", "·": "*",
                       "×": "x", "∞": "inf", "≤": "<=", "≥": ">=", "≠": "!=", "→": "->", "‖": "||", "Σ": "sum", "∂": "d",
                       "η": "eta", "λ": "lambda", "δ": "delta", "σ": "sigma", "α": "alpha", "μ": "mu", "ŷ": "y^", "ℓ": "l"})
"""ASCII for the symbols dlsteps itself writes, where the output cannot encode them."""


def unicode_ok() -> bool:
    """Whether stdout's encoding can show the Unicode that formulas and grids use."""
    try:
        "∑─⎛ᵢ✓".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def show(renderable: RenderableType | str, paging: bool = True) -> None:
    """Print to stdout, through the pager when stdout is a terminal and the output is tall.

    Text (JSON, Markdown, LaTeX, SVG) is written exactly as it is. Where stdout cannot
    encode Unicode, the symbols dlsteps writes become ASCII and other characters
    (Korean titles) are escaped.
    """
    out = console()
    text = renderable if isinstance(renderable, str) else twofold.rendered(out, renderable)
    if not unicode_ok():
        text = text.translate(ASCII)
    if paging and out.is_terminal and text.count("\n") >= out.height and page(text):
        return
    sys.stdout.write(text)


def page(text: str) -> bool:
    """Send `text` to ``$PAGER`` (default ``less -R``); False when no pager could start.

    As git does, ``less`` gets LESS=FRX unless the user set LESS: the text stays on the
    screen after ``q`` (X), colors pass (R), and a screenful exits at once (F)."""
    command = shlex.split(os.environ.get("PAGER") or "less -R")
    environment = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}
    try:
        subprocess.run(command, input=text, text=True, errors="backslashreplace", check=False, env=environment)
    except OSError:
        return False
    return True
