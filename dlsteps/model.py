"""The document model: a Derivation is sections of steps; printers and the quiz read it.

A lesson never prints. It records its inputs (`Derivation.given`), opens sections and
adds steps. Each step names the quantity it computes (a SymPy ``Symbol``, or an
``IndexedBase`` run over index symbols), the formula in the lesson's symbols and the
NumPy value. Adding a step binds its symbol to its value in `Derivation.env`, so later
formulas can use it and the engine can evaluate every formula at the user's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable


class LessonError(RuntimeError):
    """A bug in a lesson or the engine (exit status 1): never shown as a result."""


@dataclass
class GradientCheck:
    """Central finite differences of `loss` around `point`, to compare with a gradient.

    `kinks`, if given, holds for each entry of `point` a coordinate where the loss has a
    kink (0 for |w|): an entry closer to it than the difference step, but not on it, is
    not compared, since the difference would straddle the kink.
    """

    loss: Callable[[Any], float]
    point: Any
    kinks: Any = None


@dataclass
class Step:
    """One step of a derivation; see DESIGN.md for the meaning of each field.

    `symbol` is bound to `value`; with `index` symbols, `formula` gives the element at
    those indices (e.g. ``y[i] = exp(o[i]) / Sum(exp(o[k]))``). `lhs` overrides how the
    left-hand side is written (e.g. a derivative). `check` is filled in by the engine.
    """

    id: str
    title: str
    explanation: str = ""
    symbol: Any = None
    index: tuple = ()
    formula: Any = None
    lhs: Any = None
    value: Any = None
    substitute: bool = False
    depends_on: tuple[str, ...] = ()
    code: str = ""
    notes: tuple[str, ...] = ()
    labels: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    gradient: GradientCheck | None = None
    check: list[str] = field(default_factory=list)

    @property
    def left(self) -> Any:
        """The left-hand side as written: `lhs`, or the symbol at its indices."""
        if self.lhs is not None:
            return self.lhs
        return self.symbol[self.index] if self.index else self.symbol


@dataclass
class Section:
    """A titled group of steps."""

    title: str
    explanation: str = ""
    steps: list[Step] = field(default_factory=list)


@dataclass
class InputValue:
    """A validated input: name, symbol, value, the text typed and where it came from."""

    name: str
    symbol: Any
    value: Any
    text: str
    origin: str
    description: str = ""


@dataclass
class Derivation:
    """A whole lesson run: title, lecture, inputs, sections, and the symbol environment."""

    lesson: str
    title: str
    lecture: str
    inputs: list[InputValue] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    env: dict[Any, Any] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def given(self, name: str, symbol: Any, value: Any, source: Any = None, description: str = "") -> Any:
        """Record an input (`source` has the typed .text and its .origin), bind its symbol; return the value."""
        text, origin = (source.text, source.origin) if source is not None else ("", "derived")
        self.inputs.append(InputValue(name, symbol, value, text, origin, description))
        self.bind(symbol, value)
        return value

    def bind(self, symbol: Any, value: Any) -> None:
        """Bind a symbol (or a size such as n) to a number for evaluating formulas."""
        if symbol in self.env and self.env[symbol] is not value:
            raise LessonError(f"symbol {symbol} is bound twice")
        self.env[symbol] = value

    def name(self, symbol: Any, unicode: str, latex: str) -> Any:
        """Write `symbol` as `unicode` on the terminal and `latex` in LaTeX; returns it."""
        self.names[str(symbol)] = (unicode, latex)
        return symbol

    def section(self, title: str, explanation: str = "") -> Section:
        """Open a new section; following steps go into it."""
        self.sections.append(Section(title, explanation))
        return self.sections[-1]

    def step(self, id: str, title: str, **fields: Any) -> Step:
        """Add a step to the current section and bind its symbol to its value."""
        if any(s.id == id for s in self.steps()):
            raise LessonError(f"step id {id!r} is used twice")
        step = Step(id, title, **fields)
        self.sections[-1].steps.append(step)
        if step.symbol is not None:
            self.bind(step.symbol, step.value)
        return step

    def steps(self) -> list[Step]:
        """Every step, in order."""
        return [step for section in self.sections for step in section.steps]

    def find(self, id: str) -> Step:
        """The step called `id`."""
        return next(step for step in self.steps() if step.id == id)
