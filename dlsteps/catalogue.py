"""The lesson catalogue: cheap metadata read without importing SymPy or NumPy.

Each lesson module in ``lessons/`` starts with a literal ``META = {...}`` dictionary
(title, lecture, summary, inputs). This module reads that literal with `ast`, so
`dlsteps --help` and `dlsteps list` stay instant; the lesson module itself is imported
only when that lesson runs (`load`).
"""

from __future__ import annotations

import ast
import re
import importlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from dlsteps.i18n import _

LESSON_PACKAGE = "dlsteps._lessons"  # lessons/ ships here; dlsteps.lessons() is the API


@dataclass(frozen=True)
class InputSpec:
    """One lesson input: its name, shape (e.g. ``vector n``), default text, help, domain.

    A size named ``*`` is free (not shared with other inputs); an `optional` input has
    the default "" and the value None when not given (the lesson then decides).
    """

    name: str
    shape: str
    default: str
    help: str
    domain: str = "real"
    choices: tuple[str, ...] = ()
    flag: str = ""
    optional: bool = False

    @property
    def option(self) -> str:
        """The command-line option: `flag` if set (``--lambda`` for ``lam``), else ``--name``."""
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def kind(self) -> str:
        """The first word of the shape: scalar, count, vector, matrix, class or choice."""
        return self.shape.split()[0]

    @property
    def dims(self) -> tuple[str, ...]:
        """The named sizes of the shape, e.g. ``("N", "d")`` for ``matrix N d``."""
        return tuple(self.shape.split()[1:])


@dataclass(frozen=True)
class LessonInfo:
    """A lesson's metadata: command name, module name, title, lecture, summary, inputs."""

    name: str
    module: str
    title: str
    lecture: str
    summary: str
    example: str
    inputs: tuple[InputSpec, ...]

    def input(self, name: str) -> InputSpec:
        """The input spec called `name`."""
        return next(spec for spec in self.inputs if spec.name == name)


def lessons_dir() -> Path:
    """The folder that holds the lesson modules (inside an installed or editable package)."""
    spec = importlib.util.find_spec(LESSON_PACKAGE)
    return Path(next(iter(spec.submodule_search_locations)))


_META = re.compile(r"^META = (\{.*?^\})", re.MULTILINE | re.DOTALL)


def read_meta(path: Path) -> dict:
    """The literal ``META`` dictionary at the top level of the module at `path`: only its
    own lines are parsed (from ``META = {`` to the first ``}`` at the start of a line),
    not the whole module; a module written otherwise is parsed whole."""
    text = path.read_text(encoding="utf-8")
    found = _META.search(text)
    if found:
        try:
            return ast.literal_eval(found.group(1))
        except (ValueError, SyntaxError):
            pass
    tree = ast.parse(text, filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "META" for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path} has no literal META dictionary")


def _info(path: Path) -> LessonInfo:
    meta = read_meta(path)
    inputs = tuple(
        InputSpec(
            name=name,
            shape=spec["shape"],
            default=spec["default"],
            help=spec["help"],
            domain=spec.get("domain", "real"),
            choices=tuple(spec.get("choices", ())),
            flag=spec.get("flag", ""),
            optional=spec.get("optional", False),
        )
        for name, spec in meta["inputs"].items()
    )
    return LessonInfo(
        name=path.stem.replace("_", "-"),
        module=path.stem,
        title=meta["title"],
        lecture=meta["lecture"],
        summary=meta["summary"],
        example=meta["example"],
        inputs=inputs,
    )


@cache
def _paths() -> dict[str, Path]:
    """Every lesson's module file by command name, in alphabetical order (none read yet)."""
    paths = sorted(p for p in lessons_dir().glob("*.py") if not p.name.startswith("_"))
    return {path.stem.replace("_", "-"): path for path in paths}


def names() -> list[str]:
    """Every lesson's command name, in alphabetical order, without reading the lessons."""
    return list(_paths())


def catalogue() -> dict[str, LessonInfo]:
    """Every lesson by command name, in alphabetical order."""
    return {name: _read(name) for name in _paths()}


def get(name: str) -> LessonInfo:
    """The lesson called `name` (only its file is read), or a LookupError that lists the
    lessons there are."""
    if name not in _paths():
        raise LookupError(_("no lesson '{name}'; lessons: {names}").format(name=name, names=", ".join(_paths())))
    return _read(name)


@cache
def _read(name: str) -> LessonInfo:
    return _info(_paths()[name])


def load(info: LessonInfo) -> ModuleType:
    """Import the lesson module (and with it SymPy and NumPy)."""
    return importlib.import_module(f"{LESSON_PACKAGE}.{info.module}")
