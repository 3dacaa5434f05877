"""Booklets of many lessons for ``dlsteps export``: one LaTeX report with a chapter per
lesson and a table of contents, or one Markdown file per lesson and an index.
"""

from __future__ import annotations

from pathlib import Path

from dlsteps import catalogue, engine, output
from dlsteps.i18n import _
from dlsteps.errors import InputError
from dlsteps.printers import latex, markdown


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
