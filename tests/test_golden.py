"""Golden terminal output: every lesson's default as a student reads it (piped, so without
colours) at 80 and at 120 columns, kept as text in ``tests/golden/<lesson>.<width>.txt``.

Each file was read as a student would read it, redoing the worked elements by hand from what
is printed; a change to any of them is a change to read again. After a deliberate change,
regenerate with ``DLSTEPS_REGENERATE=1 python -m pytest tests/test_golden.py`` and read the diff.
"""

import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from dlsteps import catalogue

GOLDEN = Path(__file__).parent / "golden"
WIDTHS = (80, 120)
LESSONS = list(catalogue.catalogue())
REGENERATE = os.environ.get("DLSTEPS_REGENERATE") == "1"
NUMBER_END = re.compile(r"[0-9][.]?$")
NUMBER_START = re.compile(r"^[.]?[0-9]")
COLUMN_NUMBERS = re.compile(r"[0-9 ]+")


def shown(cli, name: str, width: int) -> str:
    result = cli(name, "--no-pager", env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", LESSONS)
def test_the_default_reads_as_reviewed(cli, name, width):
    path = GOLDEN / f"{name}.{width}.txt"
    text = shown(cli, name, width)
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed: read the difference, then regenerate"


def broken_numbers(text: str, width: int) -> list[str]:
    """Places where a full line ends in a digit and the next starts with one: a number
    broken across two lines (not a grid's row of column numbers, which may follow a
    full line, nor the denominators under a line of fraction bars)."""
    lines = text.splitlines()
    return [f"{a!r} / {b!r}" for a, b in zip(lines, lines[1:])
            if cell_len(a.rstrip()) >= width - 2 and NUMBER_END.search(a.rstrip()) and NUMBER_START.search(b.strip())
            and not COLUMN_NUMBERS.fullmatch(b) and "──" not in a]


def test_a_broken_number_would_be_found():
    assert broken_numbers("x" * 76 + " 0.00\n0101 + 2\n", 80)
    assert not broken_numbers("x = 0.5\n1.5 is next\n", 80)
    assert not broken_numbers("x" * 76 + " 0.5\n   0   1   2\n", 80)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", LESSONS)
def test_no_line_is_wider_than_the_screen_or_breaks_a_number(name, width):
    text = (GOLDEN / f"{name}.{width}.txt").read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if cell_len(line) > width] == []
    assert broken_numbers(text, width) == []
