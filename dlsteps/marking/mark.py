"""Marking a hand calculation step by step, with follow-through (error carried forward).

Each answered step is judged, in the derivation's order, against our value with the
grading core's `Tolerance` (also accepting the value worked from the earlier values as
shown, rounded). Where it is wrong but one of the values its formula uses was wrong in
the learner's hand (answered wrong, or not answered but following from an answer that
was), the formula is evaluated again with the learner's own values in their place
(`grading.evaluate_with`): an answer that agrees with that is *right given your earlier
values*, as a teacher gives follow-through marks. A step that is not answered carries
the learner's values on (its formula re-evaluated from them), so a later answer worked
from a wrong one still follows. A step without a formula is right or wrong. In a
recurrence (a table whose row t uses row t - 1) the learner's own rows count as earlier
values of the later rows. The first wrong step is the earliest step that is wrong even
given the learner's values: where the mistake started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import numpy as np

from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.marking.answers import OPTION
from dlsteps.model import Derivation, InputValue, Step
from dlsteps.printers.base import label_of
from dlsteps.quiz import grading

RIGHT, GIVEN, WRONG = "right", "right_given_earlier", "wrong"
MARKS = (RIGHT, GIVEN, WRONG)


@dataclass
class Mark:
    """The mark of one answered step (or input): `mark` is RIGHT, GIVEN or WRONG; `right`
    says entry by entry whether the answer is right or follows from the learner's values;
    `carried` is the formula's value from the learner's values (None where it was not
    worked out); `wrong_inputs` the ids the formula uses that the learner had wrong;
    `position` the first entry that is wrong even given those (None when there is none)."""

    item: Step | InputValue
    label: str
    mark: str
    answer: np.ndarray
    expected: np.ndarray
    right: np.ndarray
    carried: np.ndarray | None
    wrong_inputs: tuple[str, ...]
    position: tuple[int, ...] | None

    @property
    def id(self) -> str:
        return self.item.id


@dataclass
class Marking:
    """All the marks of one file: in the derivation's order; `values` holds the learner's
    values by id (answered, or carried on from them) and `first_wrong` the first wrong mark."""

    derivation: Derivation
    precision: int
    marks: list[Mark]
    unanswered: list[str]
    values: dict[str, np.ndarray]
    tainted: set[str]

    @property
    def first_wrong(self) -> Mark | None:
        return next((m for m in self.marks if m.mark == WRONG), None)

    def count(self, mark: str) -> int:
        return sum(m.mark == mark for m in self.marks)


def mark(d: Derivation, given: dict[str, Any], precision: int) -> Marking:
    """Mark the answers `given` (id -> text or nested lists) against the derivation `d`."""
    items = [*d.inputs, *d.steps()]
    answers = read_answers(d, items, given)
    marking = Marking(d, precision, [], [], {}, set())
    for item in items:
        if item.id in answers:
            marking.marks.append(_judge(marking, item, answers))
        elif isinstance(item, Step):
            marking.unanswered.append(item.id)
            _carry(marking, item, answers)
    return marking


def read_answers(d: Derivation, items: list, given: dict[str, Any]) -> dict[str, np.ndarray]:
    """Each answer as an array of its step's shape; an unknown id, a value that is not a
    number or of the wrong shape is an `InputError` naming the id."""
    known = {item.id: item for item in items}
    answers = {}
    for id, raw in given.items():
        if id not in known:
            raise InputError(unknown_id(d, id, list(known)))
        if not _numeric(known[id].value):
            raise InputError(_("{option}: '{id}' is an input of words, not a number to work out").format(option=OPTION, id=id))
        answers[id] = as_array(id, raw, tuple(np.shape(known[id].value)))
    return answers


def unknown_id(d: Derivation, id: str, ids: list[str]) -> str:
    """One line: the id is not a step of the lesson, the nearest ids, and every id."""
    near = get_close_matches(id, ids, n=1)
    hint = _(" (did you mean '{near}'?)").format(near=near[0]) if near else ""
    return _("{option}: '{id}' is not a step of {lesson}{hint}; its ids: {ids}").format(
        option=OPTION, id=id, lesson=d.lesson, hint=hint, ids=", ".join(ids))


def as_array(id: str, raw: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An answer (text in the input syntax, a number, a list or a list of lists) read as
    an array of `shape`; arrays of more than two axes are given as nested lists."""
    what = f"{OPTION}: {id}"
    if len(shape) > 2 and isinstance(raw, list):
        try:
            array = np.array(raw, dtype=float)
        except (TypeError, ValueError):
            raise InputError(_("{what}: expected nested lists of numbers of shape {shape}").format(what=what, shape=shape)) from None
        if array.shape != shape:
            raise InputError(_("{what}: expected shape {shape}, got {got}").format(what=what, shape=shape, got=array.shape))
        return array
    return with_infinities(answer_text(what, raw), shape, what)


_INFINITY = re.compile(r"\s*([+-]?)\s*(?:∞|inf|infinity)\s*", re.IGNORECASE)


def with_infinities(text: str, shape: tuple[int, ...], what: str) -> np.ndarray:
    """`grading.parse_answer`, also reading ∞, inf and -inf (a KL divergence where q is 0)."""
    rows = [row.split(",") for row in text.strip().strip("\"'").split(";")]
    signs = [[_INFINITY.fullmatch(token) for token in row] for row in rows]
    if not any(map(any, signs)):
        return grading.parse_answer(text, shape, what)
    finite = ";".join(",".join("0" if sign else token for token, sign in zip(row, marks)) for row, marks in zip(rows, signs))
    array = grading.parse_answer(finite, shape, what).copy()
    flat = array.reshape(-1)
    for position, sign in enumerate(sign for marks in signs for sign in marks):
        if sign:
            flat[position] = -np.inf if sign.group(1) == "-" else np.inf
    return flat.reshape(array.shape)


def answer_text(what: str, raw: Any) -> str:
    """A value of a TOML or JSON file as text in the input syntax (rows split by ;)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        rows = raw if raw and all(isinstance(row, list) for row in raw) else [raw]
        return ";".join(",".join(_scalar(what, x) for x in row) for row in rows)
    return _scalar(what, raw)


def _scalar(what: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(_("{what}: {value} is not a number, a list of numbers or a list of lists").format(what=what, value=_quoted(value)))
    return repr(value) if isinstance(value, float) else str(value)


def _quoted(value: Any, limit: int = 40) -> str:
    text = json_text(value)
    return text if len(text) <= limit else text[:limit] + "…"


def json_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _numeric(value: Any) -> bool:
    if isinstance(value, str):
        return False
    try:
        np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def _judge(marking: Marking, item: Step | InputValue, answers: dict[str, np.ndarray]) -> Mark:
    """The mark of one answer; records the learner's value for the steps after it."""
    d, precision, answer = marking.derivation, marking.precision, answers[item.id]
    expected = np.asarray(item.value, dtype=float)
    references = [expected]
    shown = grading.shown_reference(d, item, precision) if isinstance(item, Step) else None
    if shown is not None:
        references.append(shown)
    close_ours = _close(answer, references, _tolerance(precision, expected))
    wrong_inputs = _uses(marking, item, answers, own=not close_ours.all())
    carried = _carried(marking, item, answers) if isinstance(item, Step) else None
    right = close_ours
    if carried is not None:
        right = close_ours | _close(answer, [carried], _tolerance(precision, expected, carried))
    verdict = RIGHT if close_ours.all() else GIVEN if right.all() and wrong_inputs else RIGHT if right.all() else WRONG
    marking.values[item.id] = answer
    if verdict != RIGHT:
        marking.tainted.add(item.id)
    wrong = np.argwhere(~np.atleast_1d(right)) if not right.all() else None
    position = None if wrong is None else tuple(int(x) for x in wrong[0][: np.ndim(right)])
    label = _("input") if isinstance(item, InputValue) else label_of(d, item)
    return Mark(item, label, verdict, answer, expected, right, carried, wrong_inputs, position)


def _close(answer: np.ndarray, references: list, tolerance: grading.Tolerance) -> np.ndarray:
    """Entry by entry: within tolerance of a reference (`grading.within`), or the same infinity."""
    infinite = [np.isinf(reference) & (answer == reference) for reference in map(np.asarray, references)]
    return np.logical_or.reduce([grading.within(answer, references, tolerance), *infinite])


def _tolerance(precision: int, *values: Any) -> grading.Tolerance:
    return grading.Tolerance(precision, max(grading.scale_of(v) for v in values))


def _uses(marking: Marking, item: Any, answers: dict, own: bool) -> tuple[str, ...]:
    """The ids the step's formula uses that the learner had wrong (in a recurrence, its
    own rows too, when the answer is not ours)."""
    uses = list(getattr(item, "depends_on", ()))
    members = [m for m in getattr(item, "recurrence", ()) if m != item.id and m in answers]
    wrong = [id for id in dict.fromkeys(uses + members) if id in marking.tainted]
    return tuple(wrong + ([item.id] if own and item.id in getattr(item, "recurrence", ()) else []))


def _replaced(marking: Marking, step: Step, answers: dict) -> dict[str, np.ndarray]:
    """The learner's values of what the step's formula uses (a recurrence: its members too)."""
    ids = [*step.depends_on, *step.recurrence]
    own = {id: answers[id] for id in step.recurrence if id in answers}
    replaced = {id: marking.values[id] for id in ids if id in marking.values}
    return {id: value for id, value in {**replaced, **own}.items() if marking.derivation.find(id).symbol is not None}


def _carried(marking: Marking, step: Step, answers: dict) -> np.ndarray | None:
    """The step's formula evaluated with the learner's values; None where that says nothing."""
    replaced = _replaced(marking, step, answers)
    if step.formula is None or not replaced:
        return None
    try:
        value = grading.evaluate_with(marking.derivation, step, replaced)
    except (ArithmeticError, TypeError, ValueError, KeyError):
        return None
    return value if value is not None and value.shape == np.shape(step.value) else None


def _carry(marking: Marking, step: Step, answers: dict) -> None:
    """A step not answered: where it uses a value the learner had wrong, its value worked
    from the learner's values is theirs (for the steps after it)."""
    if not any(id in marking.tainted for id in (*step.depends_on, *step.recurrence)):
        return
    value = _carried(marking, step, answers)
    if value is None:
        return
    marking.values[step.id] = value
    expected = np.asarray(step.value, dtype=float)
    if not _close(value, [expected], _tolerance(marking.precision, expected)).all():
        marking.tainted.add(step.id)
