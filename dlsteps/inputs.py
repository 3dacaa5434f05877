"""Reading a lesson's inputs: the number syntax, shapes, domains, seeds and files.

Syntax: ``0.5,0.1,0.2`` is a vector, ``"0.1,0.2;0.3,0.4"`` a matrix (rows split by ``;``),
and every number may be written ``-2``, ``1e-3``, ``.5`` or ``1/3``; spaces are allowed.
Numbers are read exactly (as fractions) and then rounded once to float64.

Every problem raises `InputError`, whose text is one line naming the option, the bad
token and what was expected. This module imports neither NumPy nor SymPy.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from dlsteps.catalogue import InputSpec, LessonInfo
from dlsteps.errors import InputError
from dlsteps.i18n import N_, _

LIMIT, TINY = 1e6, Fraction(1, 10**300)
TEXT_LIMIT = 1000
MAX_SIZE, MAX_ENTRIES = 1000, 100_000
"""The most entries along one axis of an input, and in one input: larger inputs are
refused at once (a softmax of 1,000 logits already has a 1,000 × 1,000 Jacobian)."""
"""The largest magnitude accepted for a number, and the smallest one besides 0: beyond
them float64 arithmetic in the lessons (squares, exponentials of differences, ratios
such as q/p) would overflow or stop being exact enough to teach."""

PROBABILITY_TOLERANCE = 1e-12
"""How far from 1 the exact sum of a probability vector may be: float rounding only. A
vector such as 0.3333333,0.3333333,0.3333333 is refused (write 1/3): a target that does
not sum to 1 would make y - t differ from the gradient of the printed loss."""
_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"  # ASCII digits only: ² is no number
NUMBER_LENGTH = 64
"""The longest number token read (a 5,000-digit literal is refused, not converted)."""
_NUMBER = re.compile(rf"({_DECIMAL})(?:/({_DECIMAL}))?")
_RANDOM_DOMAINS = {"real", "probability"}


@dataclass(frozen=True)
class Given:
    """One resolved input: its value, the text it came from and where that text came from."""

    value: object
    text: str
    origin: str  # one of ORIGINS


ORIGINS = (N_("default"), N_("command line"), N_("file"), N_("seed"), N_("python"), N_("derived"))
"""Where an input's text came from (``python``: the API; ``derived``: computed by the lesson); shown translated."""


def parse_number(token: str, option: str) -> float:
    """Read one number (``-2``, ``1e-3``, ``1/3``) exactly and round it to a float."""
    match = _NUMBER.fullmatch(token.strip()) if len(token.strip()) <= NUMBER_LENGTH else None
    if not match:
        raise InputError(_("{option}: '{token}' is not a number (write e.g. 0.5, -2, 1e-3 or 1/3; at most {length} characters)").format(
            option=option, token=shown(token), length=NUMBER_LENGTH))
    value, denominator = Fraction(match.group(1)), Fraction(match.group(2) or 1)
    if denominator == 0:
        raise InputError(_("{option}: '{token}' divides by zero").format(option=option, token=shown(token)))
    value /= denominator
    if abs(value) > LIMIT:
        raise InputError(_("{option}: '{token}' is too large; numbers must lie between -1e6 and 1e6").format(option=option, token=shown(token)))
    if 0 < abs(value) < TINY:
        raise InputError(_("{option}: '{token}' is too small; numbers other than 0 must be at least 1e-300 in size").format(option=option, token=shown(token)))
    return float(value)


def shown(text: str, limit: int = 40) -> str:
    """Typed text as quoted in a message: stripped, and cut (with …) when longer than `limit`."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def parse_whole(text: str, option: str, low: int, high: int) -> int:
    """A whole number from `low` to `high` written in ASCII digits (``--seed``, ``--precision``)."""
    digits = text.strip()
    if not (re.fullmatch("[0-9]{1,20}", digits) and low <= int(digits) <= high):
        raise InputError(_("{option}: '{text}' is not a whole number from {low} to {high}").format(option=option, text=shown(text), low=low, high=high))
    return int(digits)


def parse_element(text: str) -> tuple[int, ...]:
    """An entry's indices from 0, ``1`` or ``0,2`` (``--element``)."""
    pieces = text.split(",")
    if not 1 <= len(pieces) <= 2 or not all(re.fullmatch("[0-9]{1,6}", piece.strip()) for piece in pieces):
        raise InputError(_("--element: '{text}' is not an entry: give whole numbers from 0, e.g. --element 1 for vectors or --element 0,2 for matrices").format(text=shown(text)))
    return tuple(int(piece) for piece in pieces)


def check_element(element: tuple[int, ...], derivation: Any) -> None:
    """Refuse an entry (``--element``) that no vector or matrix step of `derivation` has."""
    import numpy as np

    shapes = {np.shape(step.value) for step in derivation.steps() if step.index and np.ndim(step.value) == len(element)}
    if any(all(x < n for x, n in zip(element, shape)) for shape in shapes):
        return
    text = ",".join(map(str, element))
    if not shapes:
        raise InputError(_("--element {element}: this lesson has no {kind} worked out by entry").format(element=text, kind=_("vector") if len(element) == 1 else _("matrix")))
    if len(element) == 1:
        raise InputError(_("--element {element}: no vector is that long (the longest has {n} entries, counted from 0)").format(element=text, n=max(shape[0] for shape in shapes)))
    rows, columns = (max(shape[axis] for shape in shapes) for axis in (0, 1))
    raise InputError(_("--element {element}: no matrix has that entry (at most {rows} rows and {columns} columns, counted from 0)").format(element=text, rows=rows, columns=columns))


def parse_grid(text: str, option: str) -> list[list[float]]:
    """Read ``a,b;c,d`` into rows of floats (one row for a vector or a single number)."""
    if not text.strip():
        raise InputError(_("{option}: no value given (write e.g. 0.5,0.1,0.2)").format(option=option))
    rows = [row.split(",") for row in text.split(";")]
    if len(rows) > MAX_SIZE or max(map(len, rows)) > MAX_SIZE or sum(map(len, rows)) > MAX_ENTRIES:
        raise InputError(_("{option}: {rows}×{columns} entries is too large; inputs have at most {size} rows, {size} columns and {entries} entries").format(
            option=option, rows=len(rows), columns=max(map(len, rows)), size=MAX_SIZE, entries=MAX_ENTRIES))
    for row in rows:
        for token in row:
            if not token.strip():
                raise InputError(_("{option}: empty number in '{text}' (two commas or semicolons in a row?)").format(option=option, text=shown(text)))
    return [[parse_number(token, option) for token in row] for row in rows]


def describe(spec: InputSpec, dims: dict[str, int]) -> str:
    """What an input expects, in words, e.g. 'a vector of length 3 such as 2,1,0.1'."""
    size = {dim: str(dims.get(dim, dim)) for dim in spec.dims}
    kind = spec.kind
    if kind == "vector" and ".." in spec.domain:
        low, high = _count_range(spec)
        return _("a vector of length {n} of whole numbers from {low} to {high}").format(n=size[spec.dims[0]], low=low, high=high) + _example(spec)
    if kind == "vector" and spec.dims == ("*",):
        return _("a vector of any length") + _example(spec)
    if kind == "vector":
        return _("a vector of length {n}").format(n=size[spec.dims[0]]) + _example(spec, sizes=dims)
    if kind == "text":
        return _("one line of text of at most {limit} characters").format(limit=TEXT_LIMIT) + _example(spec, quote='"')
    if kind == "matrix" and "*" in spec.dims:
        return _("a matrix (rows split by ;)") + _example(spec, quote='"')
    if kind == "matrix":
        rows, cols = (size[d] for d in spec.dims)
        return _("a {rows}x{cols} matrix (rows split by ;)").format(rows=rows, cols=cols) + _example(spec, quote='"', sizes=dims)
    if kind == "class":
        n = size[spec.dims[0]]
        return _("a class index from 0 to {last} or {n} probabilities summing to 1").format(last=_last(n), n=n)
    if kind == "count":
        low, high = _count_range(spec)
        return _("a whole number from {low} to {high}").format(low=low, high=high)
    if kind == "choice":
        return _("one of {choices}").format(choices=", ".join(spec.choices))
    return _("one number") + _example(spec)


def _example(spec: InputSpec, quote: str = "", sizes: dict[str, int] | None = None) -> str:
    """' such as DEFAULT', or an example of the expected sizes when they differ from the
    default's (nothing for an optional input without a default, or a large size)."""
    example = spec.default
    expected = [sizes.get(dim) for dim in spec.dims] if sizes else []
    if expected and None not in expected and expected != _default_sizes(spec):
        rows, columns = (expected if len(expected) == 2 else [1, expected[0]])
        entry = f"1/{columns}" if spec.domain == "probability" else "0.5"
        example = ";".join([",".join([entry] * columns)] * rows) if rows * columns <= 12 else ""
    return _(" such as {example}").format(example=f"{quote}{example}{quote}") if example else ""


def _default_sizes(spec: InputSpec) -> list[int]:
    """The sizes of the spec's default text ([n] for a vector, [rows, columns] for a matrix)."""
    rows = [row.split(",") for row in spec.default.split(";")] if spec.default else [[]]
    return [len(rows[0])] if spec.kind == "vector" else [len(rows), len(rows[0])]


def _last(n: str) -> str:
    return str(int(n) - 1) if n.isdigit() else f"{n}-1"


def _count_range(spec: InputSpec) -> tuple[int, int]:
    low, high = spec.domain.split("..")
    return int(low), int(high)


def _shape_error(spec: InputSpec, text: str, dims: dict[str, int], found: str) -> InputError:
    return InputError(
        _("{option}: got {found} in '{text}'; expected {expected}").format(
            option=spec.option, found=found, text=shown(text), expected=describe(spec, dims)
        )
    )


def _fix_dim(spec: InputSpec, dim: str, size: int, text: str, dims: dict[str, int]) -> None:
    if dim != "*" and dims.setdefault(dim, size) != size:
        raise _shape_error(spec, text, dims, _("{size} entries").format(size=size))


def read(spec: InputSpec, text: str, dims: dict[str, int]) -> object:
    """Parse `text` for `spec`, check shape and domain, and record its sizes in `dims`."""
    if spec.optional and not text.strip():
        return None
    if spec.kind == "text":
        return _read_text(spec, text)
    if spec.kind == "choice":
        if text.strip() not in spec.choices:
            raise InputError(_("{option}: '{token}' is not {expected}").format(option=spec.option, token=shown(text), expected=describe(spec, dims)))
        return text.strip()
    return _READERS[spec.kind](spec, parse_grid(text, spec.option), text, dims)


def _read_text(spec: InputSpec, text: str) -> str:
    """Words as typed (any script, e.g. "I love 피자"), stripped; one line of at most TEXT_LIMIT."""
    words = text.strip()
    if not words or len(words) > TEXT_LIMIT or not words.isprintable():
        raise InputError(_("{option}: '{text}' is not {expected}").format(option=spec.option, text=words[:60], expected=describe(spec, {})))
    return words


def _read_number(spec: InputSpec, grid: list[list[float]], text: str, dims: dict[str, int]) -> float | int:
    flat = [x for row in grid for x in row]
    if len(flat) != 1:
        raise _shape_error(spec, text, dims, _("{size} numbers").format(size=len(flat)))
    return _check_domain(spec, flat[0] if spec.kind == "scalar" else _whole(spec, flat[0], text), text)


def _read_matrix(spec: InputSpec, grid: list[list[float]], text: str, dims: dict[str, int]) -> list[list[float]]:
    if len({len(row) for row in grid}) != 1:
        raise _shape_error(spec, text, dims, _("rows of different lengths"))
    _fix_dim(spec, spec.dims[0], len(grid), text, dims)
    _fix_dim(spec, spec.dims[1], len(grid[0]), text, dims)
    return [[_check_domain(spec, x, text) for x in row] for row in grid]


def _read_vector(spec: InputSpec, grid: list[list[float]], text: str, dims: dict[str, int]) -> list[float] | int:
    """A vector; for a class input also a single class index."""
    if len(grid) != 1:
        raise _shape_error(spec, text, dims, _("{rows} rows").format(rows=len(grid)))
    if spec.kind == "class" and len(grid[0]) == 1:
        return _class_index(spec, grid[0][0], text, dims)
    _fix_dim(spec, spec.dims[0], len(grid[0]), text, dims)
    return _check_vector_domain(spec, "probability" if spec.kind == "class" else spec.domain, grid[0], text)


_READERS = {"scalar": _read_number, "count": _read_number, "matrix": _read_matrix, "vector": _read_vector, "class": _read_vector}


def _whole(spec: InputSpec, x: float, text: str) -> int:
    low, high = _count_range(spec)
    if x != int(x) or not low <= x <= high:
        raise InputError(_("{option}: '{token}' is not {expected}").format(option=spec.option, token=shown(text), expected=describe(spec, {})))
    return int(x)


def _class_index(spec: InputSpec, x: float, text: str, dims: dict[str, int]) -> int:
    n = dims.get(spec.dims[0])
    if x != int(x) or x < 0 or (n is not None and x >= n):
        raise InputError(_("{option}: '{token}' is not {expected}").format(option=spec.option, token=shown(text), expected=describe(spec, dims)))
    return int(x)


def _check_domain(spec: InputSpec, x: float, text: str) -> float:
    """Check one number against the domains real, positive and nonnegative."""
    bad = (spec.domain == "positive" and x <= 0) or (spec.domain == "nonnegative" and x < 0)
    if bad:
        raise InputError(_("{option}: '{token}' must be {domain}").format(option=spec.option, token=shown(text), domain=_(spec.domain)))
    return x


def _check_vector_domain(spec: InputSpec, domain: str, values: list[float], text: str) -> list[float] | list[int]:
    if ".." in domain:
        return [_whole(spec, x, text) for x in values]
    if domain != "probability":
        return [_check_domain(spec, x, text) for x in values]
    total = sum(map(Fraction, values))
    if any(x < 0 for x in values) or abs(total - 1) > PROBABILITY_TOLERANCE:
        raise InputError(
            _("{option}: '{text}' is not a probability vector; expected numbers >= 0 that sum to exactly 1 (these sum to {total:.10g}; write thirds as 1/3)").format(
                option=spec.option, text=shown(text), total=float(total)
            )
        )
    return values


def draw(spec: InputSpec, dims: dict[str, int], default_dims: dict[str, int], rng: random.Random) -> str:
    """Random input text of the spec's shape: two-decimal numbers, or integer-weight probabilities."""
    size = {dim: dims.get(dim, default_dims[dim]) for dim in spec.dims}
    if spec.kind == "matrix":
        rows, cols = (size[d] for d in spec.dims)
        return ";".join(",".join(_random_number(rng) for _c in range(cols)) for _r in range(rows))
    if spec.kind == "scalar":
        return _random_number(rng)
    n = size[spec.dims[0]]
    if spec.domain == "probability" or spec.kind == "class":
        weights = [rng.randint(1, 9) for _k in range(n)]
        return ",".join(f"{w}/{sum(weights)}" for w in weights)
    return ",".join(_random_number(rng) for _k in range(n))


def _random_number(rng: random.Random) -> str:
    return f"{rng.uniform(-1, 1):.2f}"


def _drawable(spec: InputSpec) -> bool:
    """Whether --seed draws this input: numbers and arrays of the real or probability domain
    with named sizes (optional inputs and free sizes are the lesson's to draw)."""
    return (spec.kind in ("scalar", "vector", "matrix", "class") and spec.domain in _RANDOM_DOMAINS
            and not spec.optional and "*" not in spec.dims)


def resolve(info: LessonInfo, typed: dict[str, tuple[str, str]], seed: int | None) -> dict[str, Given]:
    """All inputs of a lesson from what was typed (name -> (text, origin)), a seed and defaults.

    Sizes fixed by what the user typed come first; with a seed, every real or probability
    input not typed is drawn at random with those sizes (or the defaults' sizes).
    """
    dims: dict[str, int] = {}
    for spec in info.inputs:
        if spec.name in typed:
            read(spec, typed[spec.name][0], dims)
    default_dims: dict[str, int] = {}
    for spec in info.inputs:
        read(spec, spec.default, default_dims)
    rng = random.Random(seed)
    resolved: dict[str, Given] = {}
    checked: dict[str, int] = {}
    for spec in info.inputs:
        if spec.name in typed:
            text, origin = typed[spec.name]
        elif seed is not None and _drawable(spec):
            text, origin = draw(spec, dims, default_dims, rng), "seed"
        else:
            text, origin = spec.default, "default"
        resolved[spec.name] = Given(read(spec, text, checked), text, origin)
    return resolved


def as_text(value: object, option: str) -> str:
    """A value from a params file (number, string, list or list of lists) as input text."""
    if isinstance(value, list):
        rows = value if value and all(isinstance(row, list) for row in value) else [value]
        return ";".join(",".join(_scalar_text(x, option) for x in row) for row in rows)
    return _scalar_text(value, option)


def _scalar_text(value: object, option: str) -> str:
    """One number or string of a params file as text; anything else (a list nested deeper
    than a matrix, a table, true/false) is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(_("{option}: the params file gives {value}; expected a number, a string, a list or a list of lists").format(
            option=option, value=shown(repr(value))))
    return str(value)


def read_params(path: Path, info: LessonInfo) -> dict[str, str]:
    """Inputs by name from a JSON or TOML file, as input text; unknown names are errors."""
    import json  # only for --params: a lesson run without it imports neither reader
    import tomllib

    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(_("--params: cannot read '{path}': {reason}").format(path=path, reason=error.strerror)) from None
    try:
        data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        reason = _("nested too deeply") if isinstance(error, RecursionError) else shown(str(error), 200)
        raise InputError(_("--params: '{path}' is not valid {kind}: {reason}").format(path=path, kind=kind, reason=reason)) from None
    if not isinstance(data, dict):
        raise InputError(_("--params: '{path}' must hold a table of inputs by name").format(path=path))
    specs = {key: spec for spec in info.inputs for key in (spec.name, spec.option[2:], spec.option[2:].replace("-", "_"))}
    for key in data:
        if key not in specs:
            names = ", ".join(spec.option[2:] for spec in info.inputs)
            raise InputError(_("--params: '{key}' is not an input of {lesson}; inputs: {names}").format(key=key, lesson=info.name, names=names))
    return {specs[key].name: as_text(value, specs[key].option) for key, value in data.items()}
