"""Reading a learner's answers: a TOML or JSON table, or a filled-in Markdown worksheet.

A table maps step ids to values: a number, a list (a vector), a list of lists (a
matrix) or a string in the input syntax (``0.1, 0.2``, ``"1, 2; 3, 4"``, ``1/3``); an
empty string or null is a step not answered. A Markdown worksheet has one line per
step, ``answer(ID): ____``, the learner writing the value over the blank; a line that
ends in ``,`` or ``;`` goes on on the next line, so a matrix may take several lines.
Its header comment ``<!-- dlsteps worksheet {...} -->`` records the lesson, the seed and
the typed inputs it was made with. Every problem is an `InputError` of one line.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsteps.errors import InputError
from dlsteps.i18n import _

OPTION = "--answers"
SHEET_TAG = "dlsteps worksheet"
_SHEET = re.compile(r"<!--\s*" + SHEET_TAG + r"\s+(\{.*?\})\s*-->", re.DOTALL)
_LINE = re.compile(r"^[\s>*+|-]*`?\s*answer\(\s*([A-Za-z_][\w.\-]*)\s*\)\s*`?\s*[:=]?(.*)$", re.IGNORECASE)
_BLANK = re.compile(r"_{2,}|\\_(?:\\_)+")
_MARKDOWN = (".md", ".markdown", ".txt")


@dataclass
class Answers:
    """What a file gives: `values` by id (text in the input syntax, or nested lists),
    `blank` the ids left blank, and `sheet` the worksheet's record (lesson, seed, inputs)."""

    values: dict[str, Any]
    blank: list[str] = field(default_factory=list)
    sheet: dict[str, Any] | None = None


def read(path: Path) -> Answers:
    """The answers in the file at `path` (its kind from the suffix, else from its content)."""
    text = _text(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _table(_json(text, path), path)
    if suffix == ".toml":
        return _table(_toml(text, path), path)
    if suffix in _MARKDOWN or any(map(_LINE.match, text.splitlines())):
        return markdown(text, path)
    try:
        return _table(json.loads(text), path)
    except ValueError:
        return _table(_toml(text, path), path)


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(_("{option}: cannot read '{path}': {reason}").format(option=OPTION, path=path, reason=error.strerror)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(_("{option}: '{path}' is not UTF-8 text").format(option=OPTION, path=path)) from None


def _json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError(_("{option}: '{path}' is not valid JSON: {reason}").format(option=OPTION, path=path, reason=_short(error))) from None


def _toml(text: str, path: Path) -> Any:
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError(_("{option}: '{path}' is not valid TOML: {reason}").format(option=OPTION, path=path, reason=_short(error))) from None


def _short(error: Exception, limit: int = 160) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= limit else text[:limit] + "…"


def _table(data: Any, path: Path) -> Answers:
    """A table {id: value}; null and "" are blanks."""
    if not isinstance(data, dict):
        raise InputError(_("{option}: '{path}' must hold a table of answers by step id, e.g. {{\"sum\": 1.517}}").format(option=OPTION, path=path))
    values, blank = {}, []
    for id, value in data.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            blank.append(id)
        else:
            values[id] = value
    return Answers(values, blank)


def markdown(text: str, path: Path | str = "worksheet") -> Answers:
    """The answers of a filled-in Markdown worksheet (see the module docstring)."""
    values, blank, where = {}, [], {}
    for line, id, value in answer_lines(text.splitlines()):
        if id in where:
            raise InputError(_("{option}: '{path}' answers {id} twice (lines {first} and {second})").format(
                option=OPTION, path=path, id=id, first=where[id], second=line))
        where[id] = line
        if value:
            values[id] = _bracketed(value)
        else:
            blank.append(id)
    if not where:
        raise InputError(_("{option}: '{path}' holds no answer(ID): lines; give a worksheet made with --worksheet -f markdown, or a TOML or JSON table").format(
            option=OPTION, path=path))
    return Answers(values, blank, _sheet(text))


def answer_lines(lines: list[str]) -> Iterator[tuple[int, str, str]]:
    """(line number from 1, id, value written) for each answer line; a value ending in ,
    or ; goes on on the following lines."""
    number = 0
    while number < len(lines):
        match = _LINE.match(lines[number])
        number += 1
        if not match:
            continue
        line, value = number, clean(match.group(2))
        while value.endswith((",", ";")) and number < len(lines) and lines[number].strip() and not _LINE.match(lines[number]):
            value += " " + clean(lines[number])
            number += 1
        yield line, match.group(1), value


def clean(value: str) -> str:
    """A written value without the blank's underscores, Markdown code or math marks,
    a trailing table bar, and with Unicode minus signs as -."""
    value = _BLANK.sub(" ", value).replace("−", "-").replace("\\-", "-")
    return value.strip().strip("`$|").strip()


def _bracketed(value: str) -> Any:
    """[0.1, 0.2] or [[1, 2], [3, 4]] read as lists; anything else stays text."""
    if value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _sheet(text: str) -> dict[str, Any] | None:
    """The record a worksheet keeps of how it was made, if it is there and readable."""
    match = _SHEET.search(text)
    if not match:
        return None
    try:
        record = json.loads(match.group(1))
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("lesson"), str) else None
