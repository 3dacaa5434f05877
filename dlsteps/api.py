"""The Python API: the same checked derivations as the command line, as objects.

    import dlsteps
    d = dlsteps.run("lstm", x=[0.5, 0.1, 0.2], seed=1)   # lang="ko": in Korean
    d["f"].value, d["f"].latex, d["f"].depends_on      # one step
    d.to_markdown(); d.to_latex(); d.to_json(); d.to_python()
    dlsteps.lessons()                                  # the catalogue

Inputs are Python numbers, lists, lists of lists, NumPy arrays or strings, by the
lesson's input names (``lambda`` may be given as ``lam``, hyphens as underscores); they
go through the same parser and checks as the command line, so a bad value raises
`InputError` with the same one-line message. In Jupyter a derivation or a step shows
itself as Markdown with math (see `Derivation._repr_markdown_`).
"""

from __future__ import annotations

from typing import Any

from dlsteps import catalogue
from dlsteps.errors import InputError
from dlsteps.i18n import LANGUAGES, _, speaking
from dlsteps.model import Derivation


def lessons() -> list[dict[str, str]]:
    """Every lesson: name (the command), title, lecture and summary."""
    return [{"name": info.name, "title": info.title, "lecture": info.lecture, "summary": info.summary}
            for info in catalogue.catalogue().values()]


def run(lesson: str, seed: int | None = None, lang: str | None = None, **inputs: Any) -> Derivation:
    """The checked derivation of `lesson` at the given inputs (the lesson's defaults for
    the rest; with `seed`, the rest drawn at random as with ``--seed``), its prose in
    `lang` (``en`` or ``ko``; by default the language already in use, English unless set)."""
    from dlsteps import engine

    try:
        info = catalogue.get(lesson.replace("_", "-"))
    except LookupError as error:
        raise InputError(str(error)) from None
    names = {key: spec.name for spec in info.inputs for key in (spec.name, spec.option[2:], spec.option[2:].replace("-", "_"))}
    typed = {}
    for key, value in inputs.items():
        if key not in names:
            raise InputError(_("{key}: not an input of {lesson}; inputs: {names}").format(
                key=key, lesson=info.name, names=", ".join(spec.name for spec in info.inputs)))
        typed[names[key]] = (as_text(value, key), "python")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
        raise InputError(_("seed: {seed!r} is not a whole number from 0 to 4294967295").format(seed=seed))
    if lang is not None and lang not in LANGUAGES:
        raise InputError(_("lang: {lang!r} is not one of {languages}").format(lang=lang, languages=", ".join(LANGUAGES)))
    with speaking(lang):
        return engine.run(info.name, typed, seed)


def as_text(value: Any, name: str) -> str:
    """A Python value in the input syntax: 0.5 -> "0.5", [1, 2] -> "1,2", [[1, 2], [3, 4]] -> "1,2;3,4"."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, list, tuple)):
        raise InputError(_("{name}: {value!r} is not a number, a list of numbers or a list of lists").format(name=name, value=value))
    if isinstance(value, (list, tuple)):
        rows = value if value and all(isinstance(row, (list, tuple)) for row in value) else [value]
        return ";".join(",".join(_number(x, name) for x in row) for row in rows)
    return _number(value, name)


def _number(x: Any, name: str) -> str:
    """One number as exact text (repr keeps every digit of a float)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise InputError(_("{name}: {value!r} is not a number").format(name=name, value=x))
    return repr(x)
