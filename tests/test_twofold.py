"""A long view rendered by two processes (dlsteps.twofold) is the text one process renders:
for every lesson, in color; when the child fails or is slow; and the child is always reaped."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
from rich.console import Console, Group
from rich.text import Text

from dlsteps import catalogue, engine, twofold
from dlsteps.printers import terminal

LESSONS = list(catalogue.catalogue())


def _console() -> Console:
    """A truecolor terminal console of 80 columns (the escape codes carry the styles)."""
    return Console(width=80, file=io.StringIO(), force_terminal=True, color_system="truecolor", legacy_windows=False)


@pytest.fixture
def forks(monkeypatch):
    """Every view is rendered in two processes, however short; the children forked are listed."""
    children: list[int] = []
    fork = os.fork

    def counted() -> int:
        child = fork()
        if child:
            children.append(child)
        return child

    monkeypatch.setattr(twofold, "MIN_PARTS", 0)
    monkeypatch.setattr(twofold.os, "fork", counted)
    return children


def _reaped(child: int) -> bool:
    """Whether `child` is gone and waited for (no zombie is left)."""
    try:
        os.waitpid(child, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.skipif(not twofold._two_cpus(), reason="renders in two processes only on Linux with two CPUs")
@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_renders_the_same_text_in_two_processes(name, forks):
    derivation = engine.run(name)
    alone = twofold.text(_console(), terminal.render(derivation, width=80, show_code=True))
    shared = twofold.rendered(_console(), terminal.render(derivation, width=80, show_code=True))
    assert len(forks) == 1 and _reaped(forks[0])
    assert "\x1b[" in shared and shared == alone


class _Part:
    """A line of text; in a process other than `parent`, `behaviour` happens first."""

    def __init__(self, line: str, parent: int, behaviour=None) -> None:
        self.line, self.parent, self.behaviour = line, parent, behaviour

    def __rich_console__(self, console, options):
        if os.getpid() != self.parent and self.behaviour:
            self.behaviour()
        yield Text(self.line, "bold")


def _view(behaviour, at: int) -> Group:
    """Sixty parts, the one at `at` misbehaving in the child."""
    parent = os.getpid()
    return Group(*(_Part(f"part {n}", parent, behaviour if n == at else None) for n in range(60)))


def _fail():
    raise RuntimeError("the child fails here")


@pytest.mark.skipif(not twofold._two_cpus(), reason="renders in two processes only on Linux with two CPUs")
@pytest.mark.parametrize("at", [59, 45, 0])
def test_a_child_that_fails_leaves_its_parts_to_this_process(forks, at):
    expected = twofold.text(_console(), _view(None, at))
    assert twofold.rendered(_console(), _view(_fail, at)) == expected
    assert len(forks) == 1 and _reaped(forks[0])


@pytest.mark.skipif(not twofold._two_cpus(), reason="renders in two processes only on Linux with two CPUs")
def test_a_slow_child_is_not_waited_for(forks):
    expected = twofold.text(_console(), _view(None, 59))
    started = time.monotonic()
    assert twofold.rendered(_console(), _view(lambda: time.sleep(30), 59)) == expected
    assert time.monotonic() - started < 20  # this process rendered every part and ended the child
    assert len(forks) == 1 and _reaped(forks[0])


def test_a_short_view_or_another_system_is_rendered_without_forking(monkeypatch):
    def refused():
        raise AssertionError("forked")

    monkeypatch.setattr(twofold.os, "fork", refused)
    short = Group(*(Text(f"line {n}") for n in range(twofold.MIN_PARTS - 1)))
    assert twofold.rendered(_console(), short) == twofold.text(_console(), short)
    monkeypatch.setattr(twofold.sys, "platform", "darwin")
    long = Group(*(Text(f"line {n}") for n in range(twofold.MIN_PARTS + 10)))
    assert twofold.rendered(_console(), long) == twofold.text(_console(), long)


def test_a_view_is_rendered_alone_where_no_process_can_be_forked(monkeypatch):
    def refused():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(twofold, "MIN_PARTS", 0)
    monkeypatch.setattr(twofold, "_two_cpus", lambda: True)
    monkeypatch.setattr(twofold.os, "fork", refused)
    view = Group(*(Text(f"line {n}") for n in range(5)))
    assert twofold.rendered(_console(), view) == "".join(f"line {n}\n" for n in range(5))


def test_parts_are_taken_whole_from_what_the_child_sent():
    theirs: dict[int, str] = {}
    message = lambda index, text: twofold.HEADER.pack(index, len(text.encode())) + text.encode()
    stream = message(9, "nine ✓\n") + message(8, "eight\n")
    pending = bytearray(stream[:-3])  # the second part not all here yet
    assert twofold._received(pending, theirs, 10) == 9 and theirs == {9: "nine ✓\n"}
    pending += stream[-3:]
    assert twofold._received(pending, theirs, 9) == 8 and theirs[8] == "eight\n" and not pending


def test_the_command_prints_what_one_process_prints(cli, monkeypatch):
    # `dlsteps transformer` in its own process (rendered in two where it can) and in this one, alone
    whole = subprocess.run([sys.executable, "-m", "dlsteps", "transformer", "--no-pager"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "100"}, timeout=120)
    monkeypatch.setattr(twofold, "MIN_PARTS", 10**6)
    assert whole.returncode == 0 and whole.stdout == cli("transformer", "--no-pager", env={"COLUMNS": "100"}).stdout
