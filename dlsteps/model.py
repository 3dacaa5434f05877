"""The document model: a Derivation is sections of steps; printers, the quiz and checks read it.

A lesson never prints. It records its inputs (`Derivation.given`), opens sections and
adds steps, mostly through the blocks in `dlsteps.blocks`. Each step names the quantity
it computes (a SymPy ``Symbol``, or an ``IndexedBase`` run over index symbols), the
formula in the lesson's symbols, the NumPy value and the NumPy code line that computes
it. Adding a step binds its symbol to its value, so later formulas can use it; the
derivation remembers which input or step bound each symbol, and from that infers what
every formula depends on. Inputs and steps share one namespace of ids.
"""

from __future__ import annotations

import keyword
import linecache
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dlsteps.errors import LessonError
from dlsteps.i18n import speaking

CHECK_FORMULA = "formula = NumPy"
CHECK_FD = "finite differences"
CHECK_FD_KINK = "finite differences (not across a kink)"
CHECK_FD_UNSETTLED = "finite differences (where they settle)"
CHECK_CODE = "code ran"
CHECKS = (CHECK_FORMULA, CHECK_FD, CHECK_FD_KINK, CHECK_FD_UNSETTLED, CHECK_CODE)
"""How a value was verified. Stored as these codes (JSON prints them as they are); the
printers translate them for the reader."""


@dataclass
class GradientCheck:
    """Central finite differences of `loss` around `point`, to compare with a gradient.

    `kinks`, if given, holds for each entry of `point` a coordinate where the loss has a
    kink (0 for |w|): an entry closer to it than the difference step, but not on it, is
    not compared, since the difference would straddle the kink.

    `losses`, if given, is the loss at many points at once, stacked on a first axis (one
    loss each): the differences then ask for them in a few calls, not six per entry.
    """

    loss: Callable[[Any], float]
    point: Any
    kinks: Any = None
    losses: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Chart:
    """How to draw a step's value as a picture.

    ``line``: each row of the value is a series over `x` (indices when empty), named by
    `series`; ``points``: each row (x, y) is a point named by `series` (a 2-D embedding).
    The data are the step's value, checked like any other.
    """

    kind: str = "line"
    x: tuple[float, ...] = ()
    series: tuple[str, ...] = ()
    x_label: str = ""
    y_label: str = ""


class Caution(str):
    """A note that warns: a value overflowed or underflowed, training diverged, a check
    could not settle, an input makes the math undefined. Printed with ⚠; any other note
    is a remark (a convention, the lecture's numbers, what the numbers show)."""


@dataclass
class Step:
    """One step of a derivation; see DESIGN.md for the meaning of each field.

    `symbol` is bound to `value`; with `index` symbols, `formula` gives the element at
    those indices (e.g. ``y[i] = exp(o[i]) / Sum(exp(o[k]))``). `lhs` overrides how the
    left-hand side is written (e.g. a derivative). `full` is the formula in full, as
    SymPy derives it, where `formula` is a compact form of it (shown with --expand;
    both are checked). `code` is a NumPy statement that
    leaves the value in the variable `var`. `concept` names the skill the step
    exercises across lessons (``softmax_ce.exp``). `display` is ``heatmap`` for a matrix
    best read as shades; `chart` draws the value. `depends_on` and `check` are filled
    in by the derivation and the engine.
    """

    id: str
    title: str
    explanation: str = ""
    symbol: Any = None
    index: tuple = ()
    formula: Any = None
    full: Any = None
    lhs: Any = None
    value: Any = None
    substitute: bool = False
    depends_on: tuple[str, ...] = ()
    code: str = ""
    var: str = ""
    concept: str = ""
    notes: tuple[str, ...] = ()
    labels: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    gradient: GradientCheck | None = None
    display: str = ""
    chart: Chart | None = None
    recurrence: tuple[str, ...] = ()
    check: list[str] = field(default_factory=list)
    derivation: Derivation | None = field(default=None, repr=False, compare=False)

    @property
    def left(self) -> Any:
        """The left-hand side as written: `lhs`, or the symbol at its indices."""
        if self.lhs is not None:
            return self.lhs
        return self.symbol[self.index] if self.index else self.symbol

    @property
    def latex(self) -> str | None:
        """The step as LaTeX, ``left = formula`` (None for a step without a formula)."""
        from dlsteps.printers.formulas import equation, latex

        names = self.derivation.names if self.derivation is not None else {}
        return None if self.formula is None else latex(equation(self), names)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the value: () for a number, (n,) for a vector, (n, m) for a matrix."""
        import numpy as np

        return tuple(np.shape(self.value))

    def _repr_markdown_(self) -> str:
        """Jupyter: the step alone, as Markdown with $...$ math."""
        from dlsteps.printers.markdown import MarkdownPrinter

        return MarkdownPrinter().render_step(self.derivation, self.id)


@dataclass
class Section:
    """A titled group of steps."""

    title: str
    explanation: str = ""
    steps: list[Step] = field(default_factory=list)


@dataclass
class InputValue:
    """A validated input: name (its id), symbol, value, the text typed, where it came from,
    `var`, its name in the code lines, and `option`, the command-line option it came from."""

    name: str
    symbol: Any
    value: Any
    text: str
    origin: str
    description: str = ""
    var: str = ""
    option: str = ""

    @property
    def id(self) -> str:
        """Inputs and steps share one namespace of ids; an input's id is its name."""
        return self.name

    @property
    def label(self) -> str:
        """The input as the user names it: its option without dashes (``lambda`` for the
        input ``lam`` typed as ``--lambda``), or its name where it has no option."""
        return self.option[2:] if self.option else self.name

    @property
    def shown(self) -> Any:
        """The value as printed: a word the user typed for a number (``e`` for the base
        2.718…) as that word, anything else as the value."""
        word = re.fullmatch(r"[A-Za-z][\w-]*", self.text.strip()) if isinstance(self.value, float) else None
        return self.text.strip() if word else self.value


def identifier(name: str) -> str:
    """`name` as a Python identifier for code lines (``H_PQ``, ``lambda`` -> ``lambda_``)."""
    text = re.sub(r"\W", "_", name)
    text = "_" + text if text[:1].isdigit() else text
    return text + "_" if keyword.iskeyword(text) else text


@dataclass
class Derivation:
    """A whole lesson run: title, lecture, inputs, sections, and the symbol environment.

    `env` maps each bound symbol (or size) to its number; `owners` maps each symbol to the
    id of the input or step that bound it; `prelude` holds helper definitions (Python
    source) that the code lines may call; `seed` is the user's --seed (for inputs a
    lesson draws itself, such as the weights of a network whose sizes are typed).
    """

    lesson: str
    title: str
    lecture: str
    inputs: list[InputValue] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    env: dict[Any, Any] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    owners: dict[Any, str] = field(default_factory=dict)
    prelude: list[str] = field(default_factory=list)
    seed: int | None = None
    lang: str = "en"  # the language its prose was written in, and its printers speak
    _group: list[Step] | None = field(default=None, repr=False)

    def given(self, name: str, symbol: Any, value: Any, source: Any = None, description: str = "", var: str = "") -> InputValue:
        """Record an input (`source` has the typed .text and its .origin), bind its symbol; returns it."""
        self._new_id(name)
        text, origin = (source.text, source.origin) if source is not None else ("", "derived")
        item = InputValue(name, symbol, value, text, origin, description, var or _var_of(symbol, name))
        self._new_var(item.var, name)
        self.inputs.append(item)
        self.bind(symbol, value, owner=name)
        return item

    def bind(self, symbol: Any, value: Any, owner: str | None = None) -> None:
        """Bind a symbol to a number for evaluating formulas; `owner` is the id that bound it.

        A size (an integer symbol bound with no owner) may be bound again to the same size.
        """
        if symbol in self.env and not (owner is None and self.env[symbol] == value and self.owners.get(symbol) is None):
            raise LessonError(f"symbol {symbol} is bound twice")
        self.env[symbol] = value
        if owner is not None:
            self.owners[symbol] = owner

    def name(self, symbol: Any, unicode: str, latex: str) -> Any:
        """Write `symbol` as `unicode` on the terminal and `latex` in LaTeX; returns it."""
        self.names[str(symbol)] = (unicode, latex)
        return symbol

    def define(self, source: str | Callable) -> None:
        """Add a helper definition that code lines may call, once: Python source, or a
        module-level function, whose source is taken from its file."""
        source = source if isinstance(source, str) else source_of(source)
        if source not in self.prelude:
            self.prelude.append(source)

    def section(self, title: str, explanation: str = "") -> Section:
        """Open a new section; following steps go into it."""
        self.sections.append(Section(title, explanation))
        return self.sections[-1]

    def step(self, id: str, title: str, **fields: Any) -> Step:
        """Add a step to the current section, infer its dependencies and bind its symbol.

        Dependencies are typed by hand (`depends_on`) only for a step without a formula.
        """
        self._new_id(id)
        step = Step(id, title, **fields)
        if step.formula is not None and step.depends_on:
            raise LessonError(f"step {id!r}: depends_on is inferred from the formula; do not type it")
        if self._group is not None:
            self._group.append(step)
        elif step.formula is not None:
            step.depends_on = self.dependencies(step.formula, id)
        else:
            self._check_known(id, step.depends_on)
        step.var = step.var or _var_of(step.symbol, "")
        if not step.code or not step.var:
            raise LessonError(f"step {id!r}: every step has a code line and the variable it sets")
        self._new_var(step.var, id)
        step.concept = step.concept or f"{self.lesson}.{id}"
        step.derivation = self
        self.sections[-1].steps.append(step)
        if step.symbol is not None:
            self.bind(step.symbol, step.value, owner=id)
        return step

    @contextmanager
    def recurrence(self) -> Iterator[None]:
        """Steps added inside form one recurrence: tables whose row t uses row t - 1 of
        themselves and of each other (weights and the gradients there). Their formulas may
        use any member's symbol; their dependencies are inferred when the block closes. A
        recurrence opened inside another joins it."""
        if self._group is not None:
            yield
            return
        self._group = []
        try:
            yield
        finally:
            group, self._group = self._group, None
        members = tuple(step.id for step in group)
        for step in group:
            step.recurrence = members
            if step.formula is not None:
                step.depends_on = tuple(dep for dep in self.dependencies(step.formula, step.id) if dep != step.id)
            else:
                self._check_known(step.id, step.depends_on)

    def dependencies(self, formula: Any, id: str = "?") -> tuple[str, ...]:
        """The ids of the inputs and steps that bound the symbols `formula` uses, in order.

        Index symbols (integer, unbound) and sizes are not dependencies; any other symbol
        that nothing bound is a bug in the lesson.
        """
        import sympy as sp

        from dlsteps.symbolic import used

        symbols = used(formula)
        bases = {s for s in symbols if isinstance(s, sp.IndexedBase)}
        labels = {base.label for base in bases}
        owners = set()
        for symbol in bases | {s for s in symbols if isinstance(s, sp.Symbol) and s not in labels}:
            if symbol in self.owners:
                owners.add(self.owners[symbol])
            elif symbol not in self.env and not symbol.is_integer:
                raise LessonError(f"step {id!r}: its formula uses {symbol}, which no input or earlier step binds")
        order = self.ids()
        return tuple(sorted(owners, key=order.index))

    def ids(self) -> list[str]:
        """Every id, inputs first, then steps in order."""
        return [item.name for item in self.inputs] + [step.id for step in self.steps()]

    def steps(self) -> list[Step]:
        """Every step, in order."""
        return [step for section in self.sections for step in section.steps]

    def find(self, id: str) -> Step | InputValue:
        """The step or input called `id`; a LookupError that lists the ids otherwise."""
        for item in [*self.inputs, *self.steps()]:
            if item.id == id:
                return item
        raise LookupError(f"no step or input {id!r} in {self.lesson}; ids: {', '.join(self.ids())}")

    __getitem__ = find

    def to_markdown(self, **settings: Any) -> str:
        """The derivation as Markdown (settings as the printer's: precision, show_code)."""
        from dlsteps.printers import markdown

        with speaking(self.lang):
            return markdown.render(self, **settings)

    def to_latex(self, **settings: Any) -> str:
        """The derivation as a LaTeX document (``fragment=True``: the body alone)."""
        from dlsteps.printers import latex

        with speaking(self.lang):
            return latex.render(self, **settings)

    def to_json(self) -> str:
        """The derivation as JSON, the schema documented in README."""
        from dlsteps.printers import json

        with speaking(self.lang):
            return json.render(self)

    def to_python(self) -> str:
        """A standalone NumPy script that recomputes every value and asserts it."""
        from dlsteps.printers import python

        with speaking(self.lang):
            return python.render(self)

    def _repr_markdown_(self) -> str:
        """Jupyter: the whole derivation as Markdown with $...$ math."""
        return self.to_markdown()

    def _repr_html_(self) -> str:
        """Jupyter (where HTML is preferred): the colored terminal view as an HTML page."""
        from dlsteps import formats

        with speaking(self.lang):
            return formats.as_text(self, "html")

    def _new_id(self, id: str) -> None:
        if id in self.ids():
            raise LessonError(f"id {id!r} is used twice")

    def _new_var(self, var: str, id: str) -> None:
        taken = {item.var: item.id for item in [*self.inputs, *self.steps()]}
        if var in taken:
            raise LessonError(f"{id!r}: the code variable {var!r} is already set by {taken[var]!r}")

    def _check_known(self, id: str, depends_on: tuple[str, ...]) -> None:
        unknown = set(depends_on) - set(self.ids())
        if unknown:
            raise LessonError(f"step {id!r} depends on {sorted(unknown)}, which are not earlier steps or inputs")


def _var_of(symbol: Any, fallback: str) -> str:
    """The code variable for a symbol: its name as an identifier, else `fallback`."""
    if symbol is None:
        return fallback
    label = str(getattr(symbol, "label", symbol))
    if label.isidentifier() and not keyword.iskeyword(label):
        return label
    return fallback or identifier(label)


def source_of(function: Callable) -> str:
    """The source of a module-level function: its decorators, its `def` line and every line
    indented under it (what inspect.getsource gives, without tokenizing the file)."""
    code = function.__code__
    lines = linecache.getlines(code.co_filename)
    start = code.co_firstlineno - 1
    margin = _indent(lines[start])
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > margin):
        end += 1
    while not lines[end - 1].strip():
        end -= 1
    return "".join(lines[start:end])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
