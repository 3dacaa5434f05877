"""Fuzzing the whole command line: any options of any lesson, hostile or valid, end in
exit 0, or exit 2 with one line; never a traceback, never exit 1 (an internal check
failing on input the parser accepted), never a hang."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from typer.testing import CliRunner

from dlsteps import catalogue
from dlsteps.cli import app

LESSONS = list(catalogue.catalogue())
HOSTILE = st.sampled_from(["²", "³", "٣", "9" * 5000, "1," + "9" * 400, "-", "", " ", "nan", "inf", "1e999", "1/0", "0x1",
                           "1;2;3", "1,,2", "\x00", "\n", "피자", "__import__('os')", "1e-310", "-0", ".5", "1/3"])
NUMBER = st.one_of(st.integers(-5, 5).map(str), st.floats(-10, 10, allow_nan=False).map(lambda x: f"{x:.3g}"),
                   st.sampled_from(["1/3", "-2", "1e-3", "0"]))
VECTOR = st.lists(NUMBER, min_size=1, max_size=5).map(",".join)
MATRIX = st.lists(st.lists(NUMBER, min_size=2, max_size=2).map(",".join), min_size=1, max_size=3).map(";".join)
VALUE = st.one_of(HOSTILE, NUMBER, VECTOR, MATRIX, st.text(max_size=12))
COMMON = st.fixed_dictionaries({}, optional={"--precision": st.one_of(HOSTILE, st.integers(0, 20).map(str)),
                                            "--seed": st.one_of(HOSTILE, st.integers(0, 99).map(str)),
                                            "--format": st.sampled_from(["json", "markdown", "python", "latex", "terminal", "pdf"])})


@st.composite
def command_lines(draw):
    """A lesson and some of its options (and the common ones), with valid or hostile values."""
    name = draw(st.sampled_from(LESSONS))
    options = [spec.option for spec in catalogue.get(name).inputs]
    chosen = draw(st.lists(st.sampled_from(options), max_size=3, unique=True))
    words = [name]
    for option in chosen:
        words += [option, draw(VALUE)]
    for option, value in draw(COMMON).items():
        words += [option, value]
    return words


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_any_command_line_ends_in_exit_0_or_one_line_and_exit_2(words):
    start = time.monotonic()
    result = CliRunner().invoke(app, [*words, "--no-pager"])
    assert result.exit_code in (0, 2), (words, result.output[-3000:], result.exception)
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("dlsteps"), (words, result.stderr)
    assert "Traceback" not in result.output
    assert time.monotonic() - start < 60, words
