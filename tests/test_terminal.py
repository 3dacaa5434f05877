"""Terminal behaviour in a real pseudo-terminal: colors, NO_COLOR, the pager, pipes."""

import os
import shutil
import subprocess
import sys

import pexpect
import pytest

DLSTEPS = shutil.which("dlsteps", path=os.path.dirname(sys.executable))
pytestmark = pytest.mark.skipif(DLSTEPS is None, reason="the dlsteps command is not installed next to this Python")
ESC = "\x1b["


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PAGER", "FORCE_COLOR", "TERM", "COLUMNS", "LINES")}
    return {**env, "TERM": "xterm-256color", **extra}


def in_pty(*args, rows=40, columns=120, **extra):
    child = pexpect.spawn(DLSTEPS, list(args), env=environment(**extra), dimensions=(rows, columns), encoding="utf-8", timeout=60)
    output = child.read()
    child.close()
    return child.exitstatus, output


def test_colors_on_a_terminal():
    status, output = in_pty("softmax", "--no-pager")
    assert status == 0 and ESC in output and "Softmax" in output


def test_no_colors_when_piped():
    result = subprocess.run([DLSTEPS, "softmax"], capture_output=True, text=True, env=environment(), timeout=60)
    assert result.returncode == 0 and ESC not in result.stdout and "Softmax" in result.stdout


def test_no_escape_codes_with_no_color():
    status, output = in_pty("softmax", "--no-pager", NO_COLOR="1")
    assert status == 0 and ESC not in output and "Softmax" in output


def test_pager_used_when_taller_than_the_screen(tmp_path):
    status, output = in_pty("kl", rows=24, PAGER="sed s/^/PAGED:/")
    assert status == 0 and "PAGED:" in output and "Jensen-Shannon" in output


def test_no_pager_option_and_tall_screens_skip_it():
    status, output = in_pty("kl", "--no-pager", rows=24, PAGER="sed s/^/PAGED:/")
    assert status == 0 and "PAGED:" not in output
    status, output = in_pty("kl", rows=1000, PAGER="sed s/^/PAGED:/")
    assert status == 0 and "PAGED:" not in output


@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_real_less_pages_and_quits():
    child = pexpect.spawn(DLSTEPS, ["softmax"], env=environment(), dimensions=(24, 100), encoding="utf-8", timeout=60)
    child.expect("Softmax and the derivative")
    child.expect(":")  # less's prompt on the last line
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_the_pager_keeps_the_text_on_the_screen_like_git():
    # less gets LESS=FRX (as git sets it) unless the user chose LESS: after q the
    # derivation stays on the screen instead of vanishing with the alternate screen.
    status, output = in_pty("kl", rows=24, PAGER="env")
    assert status == 0 and "LESS=FRX" in output
    status, output = in_pty("kl", rows=24, PAGER="env", LESS="-S")
    assert status == 0 and "LESS=-S" in output


def test_an_equals_cell_is_cut_into_lines_as_text_split_cuts_it():
    """terminal._cell_lines gives each line of a cell its spans as Text.split does: cut at
    the newlines, in their order, empty ones dropped (spans across lines, on a newline,
    touching a line's ends, empty)."""
    import random

    from rich.text import Span, Text

    from dlsteps.printers.terminal import _cell_lines

    rng = random.Random(3)
    for _ in range(400):
        plain = "".join(rng.choice("ab\n") for _ in range(rng.randint(0, 14)))
        spans = []
        for _ in range(rng.randint(0, 6)):
            first = rng.randint(0, len(plain))
            spans.append(Span(first, rng.randint(first, len(plain)), rng.choice(["dim", "bold", "red"])))
        cell = Text(plain, "cyan", spans=spans)
        expected = [(line.plain, line.style, line.spans) for line in cell.split("\n", allow_blank=True)]
        assert _cell_lines(cell) == expected, (plain, spans)
