"""A long view rendered by two processes at once: this one from the top, a forked copy
from the bottom, until they meet.

A lesson's terminal view is a Group of parts: its title, its inputs, then each section's
rule and each step, the inputs and steps built only when rendered (`layout.Later`).
Building and rendering them is half of a long lesson's run (transformer: 0.28 s of 0.6).
Where a second CPU is free and the system forks cleanly (Linux), `rendered` forks once the
derivation is made and checked: the child renders the parts from the last one back and
sends each as soon as it is done; this process renders them from the first one on and
stops at the first part the child has sent. Both render with the same code and the same
console, so the text is the text one process makes (a test compares them for every
lesson). Whatever happens to the child (it fails, it is slow, it is killed), this process
renders every part the child did not send.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import sys
import warnings
from typing import NoReturn

from rich.console import Console, Group, RenderableType

MIN_PARTS = 36
"""A view of fewer parts is rendered by this process alone: a fork, and a first render
paid again in the child, cost more than they save in a short lesson."""

HEADER = struct.Struct("!II")
"""What the child writes before each part: its index, then the length of its UTF-8 text."""

SIGNALS = {signal.SIGINT, signal.SIGTERM}


def rendered(console: Console, renderable: RenderableType) -> str:
    """The text `console` prints for `renderable` (without cropping); a long Group's parts
    rendered by two processes where two CPUs are free."""
    parts = renderable.renderables if isinstance(renderable, Group) else []
    if len(parts) < MIN_PARTS or not _two_cpus():
        return text(console, renderable)
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # Ctrl-C can reach the child only in its own code
    try:
        reader, writer = os.pipe()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns that a fork of a process with threads (NumPy's BLAS
                # pool) may deadlock in the child if it takes a lock another thread held:
                # the child only renders text in Python and never calls BLAS.
                warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
                child = os.fork()
        except OSError:  # no room for another process: render alone
            os.close(reader)
            os.close(writer)
            return text(console, renderable)
        if child == 0:
            _send_from_the_end(console, parts, reader, writer)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    os.close(writer)
    try:
        return _from_the_top(console, parts, reader)
    finally:
        os.close(reader)
        os.kill(child, signal.SIGKILL)  # its parts are no longer needed (it may still be rendering)
        os.waitpid(child, 0)


def text(console: Console, renderable: RenderableType) -> str:
    """What `console` prints for `renderable`, without cropping."""
    with console.capture() as captured:
        console.print(renderable, crop=False)
    return captured.get()


def _two_cpus() -> bool:
    """Whether this process may use two CPUs and fork cleanly (Linux; elsewhere a fork
    may copy a process whose system libraries it cannot use)."""
    return sys.platform == "linux" and len(os.sched_getaffinity(0)) >= 2


def _part(console: Console, part: RenderableType) -> str:
    """One part of a Group as the Group prints it (a Text printed alone would be joined
    with print's separator: in a Group of its own it is not)."""
    return text(console, Group(part))


def _send_from_the_end(console: Console, parts: list, reader: int, writer: int) -> NoReturn:
    """The child: render `parts` from the last one back and write each to `writer`, then
    exit at once (never returning to the parent's code, never flushing its buffers)."""
    status = 1
    try:
        os.close(reader)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        for index in reversed(range(len(parts))):
            data = _part(console, parts[index]).encode()
            _write_all(writer, HEADER.pack(index, len(data)) + data)
        status = 0
    finally:
        os._exit(status)


def _write_all(descriptor: int, data: bytes) -> None:
    """Write all of `data` (a pipe takes it in pieces when it is full)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _from_the_top(console: Console, parts: list, reader: int) -> str:
    """This process's share: render `parts` from the first one on, taking in what the
    child has sent after each, until the next part is one the child has sent."""
    ours: list[str] = []
    theirs: dict[int, str] = {}
    pending = bytearray()
    sent_from = len(parts)  # the child's parts are sent_from.. and on
    while len(ours) < sent_from:
        ours.append(_part(console, parts[len(ours)]))
        while select.select([reader], [], [], 0)[0]:
            data = os.read(reader, 1 << 16)
            if not data:
                break  # the child has ended: what it has not sent is rendered here
            pending += data
            sent_from = _received(pending, theirs, sent_from)
    return "".join(ours) + "".join(theirs[index] for index in range(len(ours), len(parts)))


def _received(pending: bytearray, theirs: dict[int, str], sent_from: int) -> int:
    """Take every whole part out of `pending` into `theirs`; the first index now sent
    (the child sends them from the last one back)."""
    while len(pending) >= HEADER.size:
        index, length = HEADER.unpack_from(pending)
        if len(pending) < HEADER.size + length:
            break
        theirs[index] = pending[HEADER.size:HEADER.size + length].decode()
        del pending[:HEADER.size + length]
        sent_from = index
    return sent_from
