"""Booklets of many lessons for ``dlsteps export``: one LaTeX report with a chapter per
lesson and a table of contents, or one Markdown file per lesson and an index.

A lesson named twice is written once; files already in the folder are replaced only
with ``--force`` (without it, nothing is written and the error names them).
"""

from __future__ import annotations

from pathlib import Path

from dlsteps import catalogue, engine, files
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.printers import latex, markdown


def booklet(names: list[str], format: str, folder: Path, precision: int = 4, force: bool = False) -> list[Path]:
    """Write the lessons `names` (all when empty), at their defaults, into `folder`."""
    for name in names:
        if name not in catalogue.catalogue():
            raise InputError(_("'{name}' is not a lesson; lessons: {names}").format(name=name, names=", ".join(catalogue.catalogue())))
    lessons = list(dict.fromkeys(names or catalogue.catalogue()))
    paths = [folder / "dlsteps.tex"] if format == "latex" else [folder / f"{name}.md" for name in lessons] + [folder / "index.md"]
    present = [path.name for path in paths if path.exists() or path.is_symlink()]
    if present and not force:
        raise InputError(_("--output: '{folder}' already holds {names}; add --force to replace them").format(folder=folder, names=", ".join(present)))
    files.make_folder(folder)
    derivations = [engine.run(name) for name in lessons]
    if format == "latex":
        chapters = [latex.render(d, precision=precision, chapter=True) for d in derivations]
        files.write(paths[0], latex.booklet(chapters, _("dlsteps: deep-learning math, step by step")))
        return paths
    for path, d in zip(paths, derivations):
        files.write(path, markdown.render(d, precision=precision))
    index = [f"# {_('dlsteps lessons')}", ""] + [f"- [{d.title}]({d.lesson}.md): {d.lecture}" for d in derivations]
    files.write(paths[-1], "\n".join(index) + "\n")
    return paths
