"""Which steps and entries a quiz asks, in which order, and the lesson's version.

Rule for ``--steps``: a step is *backward* when it computes a derivative — its left side
is written with ∂ (a SymPy ``Derivative``), or a word of its id or of its concept's role
starts with ``dL``, ``grad``, ``delta``, ``deriv``, ``jacobian`` or ``chain``. Every other
step is *forward*, weight updates and the forward pass after them included (they compute
new values, not derivatives). ``all`` asks both; a comma-separated list of step ids asks
those steps.

A scalar step is one question; a vector or matrix step is asked entry by entry: every
entry up to `PER_STEP`, else the first entry and `PER_STEP` - 1 others drawn with the
session's seed. Entries that are not finite (an overflow the lesson notes) are not asked.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlsteps.catalogue import LESSON_PACKAGE
from dlsteps.errors import InputError
from dlsteps.i18n import _

MODES = ("forward", "backward", "all")
PER_STEP = 3
_BACKWARD_WORDS = ("dl", "grad", "delta", "deriv", "jacobian", "chain")


@dataclass(frozen=True)
class Question:
    """One question: a step and the position of the entry asked (() for a scalar)."""

    step: str
    position: tuple[int, ...] = ()

    def as_json(self) -> list:
        return [self.step, list(self.position)]

    @classmethod
    def from_json(cls, item: list) -> Question:
        return cls(str(item[0]), tuple(int(i) for i in item[1]))


def is_backward(step: Any) -> bool:
    """True for a step that computes a derivative (see the module's rule)."""
    import sympy as sp

    if step.lhs is not None and isinstance(step.lhs, sp.Basic) and step.lhs.has(sp.Derivative):
        return True
    names = (step.id.rsplit(".", 1)[-1], step.concept.rsplit(".", 1)[-1])
    words = [word.lower() for name in names for word in name.split("_") if word]
    return any(word.startswith(_BACKWARD_WORDS) for word in words)


def select_steps(derivation: Any, mode: str) -> list[Any]:
    """The steps `mode` asks for: forward, backward, all, or ids separated by commas."""
    steps = derivation.steps()
    if mode == "all":
        return steps
    if mode in MODES:
        return [step for step in steps if is_backward(step) == (mode == "backward")]
    wanted = [part.strip() for part in mode.split(",") if part.strip()]
    known = {step.id for step in steps}
    unknown = [id for id in wanted if id not in known]
    if unknown or not wanted:
        raise InputError(_("--steps: '{mode}' is not forward, backward, all or step ids of {lesson} ({ids})").format(
            mode=mode, lesson=derivation.lesson, ids=", ".join(step.id for step in steps)))
    return [step for step in steps if step.id in wanted]


def positions(step: Any, seed: int) -> list[tuple[int, ...]]:
    """The entries of a step that are asked: all up to PER_STEP, else the first and a seeded draw."""
    import numpy as np

    value = np.asarray(step.value, dtype=float)
    finite = [tuple(int(i) for i in p) for p in zip(*np.nonzero(np.isfinite(value)))] if value.ndim else []
    if value.ndim == 0:
        return [()] if np.isfinite(value) else []
    if len(finite) <= PER_STEP:
        return finite
    rng = random.Random(f"{seed}:{step.id}")
    chosen = [finite[0], *rng.sample(finite[1:], PER_STEP - 1)]
    return sorted(chosen)


def plan(derivation: Any, mode: str, seed: int, concepts: set[str] | None = None) -> list[Question]:
    """The questions of a quiz in lesson order; with `concepts`, only steps of those concepts."""
    steps = select_steps(derivation, mode)
    if concepts is not None:
        steps = [step for step in steps if step.concept in concepts]
    return [Question(step.id, position) for step in steps for position in positions(step, seed)]


def lesson_version(module: str) -> str:
    """A short hash of the lesson's source, the sources of the blocks it uses (followed
    through their imports) and the dlsteps version: answers recorded under one version
    can be recomputed exactly from the typed inputs and the seed."""
    from dlsteps import __version__

    digest = hashlib.sha256(__version__.encode())
    lessons = Path(next(iter(importlib.util.find_spec(LESSON_PACKAGE).submodule_search_locations)))
    for path in [lessons / f"{module}.py", *_blocks_used(lessons / f"{module}.py")]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def _blocks_used(path: Path) -> list[Path]:
    """The block modules a source file imports, directly or through other blocks, by name."""
    folder = Path(next(iter(importlib.util.find_spec("dlsteps.blocks").submodule_search_locations)))
    found: dict[str, Path] = {}
    pending = [path]
    while pending:
        for name in _block_imports(pending.pop().read_text(encoding="utf-8")):
            source = folder / f"{name}.py"
            if name not in found and source.is_file():
                found[name] = source
                pending.append(source)
    return [found[name] for name in sorted(found)]


def _block_imports(source: str) -> set[str]:
    """Names of dlsteps.blocks modules imported by `source` (any import form)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "dlsteps.blocks":
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlsteps.blocks."):
            names.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[2] for a in node.names if a.name.startswith("dlsteps.blocks."))
    return names
