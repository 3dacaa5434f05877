"""Where output goes: the terminal (paged when taller than the screen) or a file.

Colors only on a terminal and never when NO_COLOR is set; the pager (``$PAGER``, else
``less -R``) only when stdout is a terminal, the output is taller than the screen and
``--no-pager`` was not given. Files are written to a temporary file and renamed into
place, so a failed run never leaves half a file.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console, RenderableType

from dlsteps.i18n import _
from dlsteps.errors import InputError

FILE_WIDTH = 100


def console(**options) -> Console:
    """A Console on stdout; without any escape codes when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        options.setdefault("color_system", None)
    return Console(**options)


def plain_text(renderable: RenderableType, width: int = FILE_WIDTH) -> str:
    """The renderable as plain text without escape codes (for files)."""
    stream = io.StringIO()
    Console(width=width, color_system=None, force_terminal=False, file=stream).print(renderable)
    return stream.getvalue()


def recorded(renderable: RenderableType, format: str, title: str) -> str:
    """The terminal view, colors included, as a standalone SVG picture or HTML page."""
    console = Console(record=True, width=FILE_WIDTH, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(renderable)
    return console.export_svg(title=title) if format == "svg" else console.export_html(inline_styles=True)


def show(renderable: RenderableType | str, paging: bool = True) -> None:
    """Print to stdout, through the pager when stdout is a terminal and the output is tall.

    Text (JSON, Markdown, LaTeX, SVG) is written exactly as it is.
    """
    out = console()
    if isinstance(renderable, str):
        text = renderable
    else:
        with out.capture() as captured:
            out.print(renderable)
        text = captured.get()
    if paging and out.is_terminal and text.count("\n") >= out.height and page(text):
        return
    sys.stdout.write(text)


def page(text: str) -> bool:
    """Send `text` to ``$PAGER`` (default ``less -R``); False when no pager could start."""
    command = shlex.split(os.environ.get("PAGER") or "less -R")
    try:
        subprocess.run(command, input=text, text=True, check=False)
    except OSError:
        return False
    return True


def make_folder(folder: Path, option: str = "--output") -> None:
    """Create `folder` if needed; its parent must exist (one clear error otherwise)."""
    if not folder.parent.is_dir():
        raise InputError(_("{option}: the folder '{folder}' does not exist (create it first, or choose another path)").format(option=option, folder=folder.parent))
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise InputError(_("{option}: cannot create '{folder}': {reason}").format(option=option, folder=folder, reason=error.strerror)) from None


def write(path: Path, text: str, option: str = "--output") -> None:
    """Write `text` to `path` atomically; a missing folder or unwritable path is an InputError."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(_("{option}: the folder '{folder}' does not exist (create it first, or choose another path)").format(option=option, folder=folder))
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        raise InputError(_("{option}: cannot write '{path}': {reason}").format(option=option, path=path, reason=error.strerror)) from None
