"""Running a lesson: resolve its inputs, let the lesson fill a Derivation, check it."""

from __future__ import annotations

from dlsteps import catalogue
from dlsteps.i18n import _, language
from dlsteps.inputs import resolve
from dlsteps.model import Derivation


def run(name: str, typed: dict[str, tuple[str, str]] | None = None, seed: int | None = None) -> Derivation:
    """The checked Derivation of lesson `name` for the typed inputs (name -> (text, origin)).

    Raises `InputError` for bad inputs and `LessonError` when a formula and its NumPy
    value (or a gradient and its finite differences) disagree.
    """
    info = catalogue.get(name)
    given = resolve(info, typed or {}, seed)  # a bad input is refused before SymPy and NumPy load
    from dlsteps.checks import check
    from dlsteps.symbolic import lean_sums

    lean_sums()
    derivation = Derivation(lesson=info.name, title=_(info.title), lecture=info.lecture, seed=seed, lang=language())
    catalogue.load(info).derive(derivation, given)
    options = {spec.name: spec.option for spec in info.inputs}
    for item in derivation.inputs:
        item.option = options.get(item.name, "")
    return check(derivation)

