"""Every output format as text, and booklets of many lessons.

`as_text` serves ``-o FILE`` and pipes for every format; `booklet` writes
``dlsteps export``: one LaTeX report with a chapter per lesson and a table of contents,
or one Markdown file per lesson and an index.
"""

from __future__ import annotations

from pathlib import Path

from dlsteps import catalogue, engine, output
from dlsteps.i18n import _
from dlsteps.inputs import InputError
from dlsteps.model import Derivation
from dlsteps.printers import json as json_printer
from dlsteps.printers import latex, markdown, terminal

def as_text(derivation: Derivation, format: str, precision: int = 4, show_code: bool = False, fragment: bool = False) -> str:
    """`derivation` in `format` as text (the terminal view without colors)."""
    settings = {"precision": precision, "show_code": show_code}
    if format == "json":
        return json_printer.render(derivation)
    if format == "markdown":
        return markdown.render(derivation, **settings)
    if format == "latex":
        return latex.render(derivation, fragment=fragment, **settings)
    view = terminal.render(derivation, width=output.FILE_WIDTH, **settings)
    if format == "terminal":
        return output.plain_text(view)
    return output.recorded(view, format, title=f"dlsteps {derivation.lesson}")


def booklet(names: list[str], format: str, folder: Path, precision: int = 4) -> list[Path]:
    """Write the lessons `names` (all when empty), at their defaults, into `folder`."""
    for name in names:
        if name not in catalogue.catalogue():
            raise InputError(_("'{name}' is not a lesson; lessons: {names}").format(name=name, names=", ".join(catalogue.catalogue())))
    output.make_folder(folder)
    derivations = [engine.run(name) for name in names or catalogue.catalogue()]
    if format == "latex":
        chapters = [latex.render(d, precision=precision, chapter=True) for d in derivations]
        path = folder / "dlsteps.tex"
        output.write(path, latex.booklet(chapters, _("dlsteps: deep-learning math, step by step")))
        return [path]
    written = []
    for d in derivations:
        written.append(folder / f"{d.lesson}.md")
        output.write(written[-1], markdown.render(d, precision=precision))
    index = [f"# {_('dlsteps lessons')}", ""] + [f"- [{d.title}]({d.lesson}.md): {d.lecture}" for d in derivations]
    output.write(folder / "index.md", "\n".join(index) + "\n")
    return [*written, folder / "index.md"]
