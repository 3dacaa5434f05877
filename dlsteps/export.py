"""Booklets of many lessons for ``dlsteps export``: one LaTeX report with a chapter per
lesson and a table of contents, or one Markdown file per lesson and an index. With
``--worksheet``: a worksheet and its answer key per lesson and seed (one variant per
student: other numbers, the same derivation), named with the seed so each key can be
made again, an index, and in LaTeX all sheets and all keys of a lesson in one document
each (a page per student) to print.

A lesson named twice is written once; files already in the folder are replaced only
with ``--force`` (without it, nothing is written and the error names them).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from dlsteps import catalogue, engine, files
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.printers import latex, markdown


MAX_SEEDS = 1000
"""The most variants one export writes (a class, or a few)."""
_SEED_RANGE = re.compile(r"\s*([0-9]{1,10})\s*(?:-\s*([0-9]{1,10})\s*)?")


def _lessons(names: list[str]) -> list[str]:
    """The lessons named (all when none), each once; an unknown name is an InputError."""
    for name in names:
        if name not in catalogue.catalogue():
            raise InputError(_("'{name}' is not a lesson; lessons: {names}").format(name=name, names=", ".join(catalogue.catalogue())))
    return list(dict.fromkeys(names or catalogue.catalogue()))


def _claim(folder: Path, paths: list[Path], force: bool) -> None:
    """Refuse to replace files without --force; create the folder."""
    present = [path.name for path in paths if path.exists() or path.is_symlink()]
    if present and not force:
        shown = ", ".join(present[:5]) + (_(" and {n} more").format(n=len(present) - 5) if len(present) > 5 else "")
        raise InputError(_("--output: '{folder}' already holds {names}; add --force to replace them").format(folder=folder, names=shown))
    files.make_folder(folder)


def booklet(names: list[str], format: str, folder: Path, precision: int = 4, force: bool = False) -> list[Path]:
    """Write the lessons `names` (all when empty), at their defaults, into `folder`."""
    lessons = _lessons(names)
    paths = [folder / "dlsteps.tex"] if format == "latex" else [folder / f"{name}.md" for name in lessons] + [folder / "index.md"]
    _claim(folder, paths, force)
    derivations = [engine.run(name) for name in lessons]
    if format == "latex":
        chapters = [latex.render(d, precision=precision, chapter=True) for d in derivations]
        files.write(paths[0], latex.booklet(chapters, _("dlsteps: deep-learning math, step by step")))
        return paths
    for path, d in zip(paths, derivations):
        files.write(path, markdown.render(d, precision=precision))
    title = _("dlsteps lessons")
    index = [f"# {title}", ""] + [f"- [{d.title}]({d.lesson}.md): {d.lecture}" for d in derivations]
    files.write(paths[-1], "\n".join(index) + "\n")
    return paths


def parse_seeds(text: str | None) -> list[int | None]:
    """--seeds: ``1-30``, ``1,4,9-12``, each seed once, in order; None alone (the default
    inputs) when no seeds are given."""
    if text is None:
        return [None]
    seeds: list[int] = []
    for part in text.split(","):
        match = _SEED_RANGE.fullmatch(part)
        if not match:
            raise InputError(_("--seeds: '{part}' is not a seed or a range of seeds (write e.g. 1-30 or 1,4,9-12)").format(part=part.strip()[:40]))
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low or high > 2**32 - 1:
            raise InputError(_("--seeds: '{part}' is not a range from a smaller to a larger seed up to 4294967295").format(part=part.strip()))
        if len(seeds) + high - low + 1 > MAX_SEEDS:
            raise InputError(_("--seeds: '{text}' gives more than {limit} seeds").format(text=text.strip()[:40], limit=MAX_SEEDS))
        seeds.extend(range(low, high + 1))
    return list(dict.fromkeys(seeds))


def sheet_names(lesson: str, seed: int | None, suffix: str) -> tuple[str, str]:
    """The file names of a worksheet and its key: softmax-seed-7.md, softmax-seed-7-key.md."""
    stem = f"{lesson}-seed-{seed}" if seed is not None else f"{lesson}-worksheet"
    return f"{stem}{suffix}", f"{stem.removesuffix('-worksheet')}-key{suffix}"


def worksheets(names: list[str], format: str, folder: Path, seeds: list[int | None], blanks: str = "values",
               precision: int = 4, force: bool = False) -> list[Path]:
    """Write a worksheet and its key per lesson and seed into `folder`, and an index;
    in LaTeX with several seeds, also all sheets and all keys of a lesson in one document each."""
    from dlsteps import worksheets as sheets

    lessons, suffix = _lessons(names), ".md" if format == "markdown" else ".tex"
    together = format == "latex" and len(seeds) > 1
    pairs = {(lesson, seed): sheet_names(lesson, seed, suffix) for lesson in lessons for seed in seeds}
    combined = {lesson: (f"{lesson}-all-worksheets.tex", f"{lesson}-all-keys.tex") for lesson in lessons} if together else {}
    names_ = [name for pair in [*pairs.values(), *combined.values()] for name in pair] + ["index.md"]
    _claim(folder, [folder / name for name in names_], force)
    bodies: dict[tuple[str, bool], list[str]] = {}
    for (lesson, seed), pair in pairs.items():
        d = engine.run(lesson, {}, seed)
        for key, name in zip((False, True), pair):
            files.write(folder / name, sheets.render(d, format, key=key, blanks=blanks, precision=precision))
            if together:
                bodies.setdefault((lesson, key), []).append(sheets.render(d, format, key=key, blanks=blanks, precision=precision, fragment=True))
    for lesson, pair in combined.items():
        for key, name in zip((False, True), pair):
            files.write(folder / name, _together(bodies[(lesson, key)]))
    files.write(folder / "index.md", _index(pairs, combined, format, blanks, precision))
    return [folder / name for name in names_]


def _together(bodies: list[str]) -> str:
    """Standalone LaTeX holding every body, each on its own pages."""
    body = "\n\\clearpage\n".join(bodies)
    return f"\\documentclass[11pt]{{article}}\n{latex.preamble(body)}\n\\begin{{document}}\n{body}\\end{{document}}\n"


def _index(pairs: dict, combined: dict, format: str, blanks: str, precision: int) -> str:
    """The index: per lesson, each seed with its sheet, key and the command that marks it."""
    title = _("Worksheets and answer keys")  # outside f-strings, where Babel finds them
    header = " | ".join([_("seed"), _("worksheet"), _("answer key"), _("mark with")])
    lines = [f"# {title}", "",
             _("One variant per seed: the same derivation with other numbers. Each sheet prints its seed; "
               "the key of a seed is made again with dlsteps LESSON --seed N --answer-key -f {format}.").format(format=format), ""]
    for lesson in dict.fromkeys(lesson for lesson, _seed in pairs):
        info = catalogue.get(lesson)
        lines += [f"## {_(info.title)} ({lesson})", ""]
        if lesson in combined:
            lines += [_("All sheets: [{sheets}]({sheets}); all keys: [{keys}]({keys}).").format(sheets=combined[lesson][0], keys=combined[lesson][1]), ""]
        lines += [f"| {header} |", "|---|---|---|---|"]
        for (name, seed), (sheet, key) in pairs.items():
            if name == lesson:
                check = ["dlsteps", "check", lesson, *(["--seed", str(seed)] if seed is not None else []), "--answers", sheet if format == "markdown" else "answers.toml"]
                check += ["-p", str(precision)] if precision != 4 else []
                lines.append(f"| {seed if seed is not None else _('default')} | [{sheet}]({sheet}) | [{key}]({key}) | `{shlex.join(check)}` |")
        lines.append("")
    return "\n".join(lines)
