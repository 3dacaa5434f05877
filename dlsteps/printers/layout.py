"""Lines indented under a step's header, laid out to the segments Rich's Padding makes.

A step's formulas, worked numbers and grids are hundreds of lines of text that already fit
the screen, and its explanations and notes are prose in one style. Rich would wrap, crop and
pad each of them again through its general machinery (a sixth of a lesson's run);
`Indented` lays such text out once, cut where Rich's word wrap cuts it, and leaves
everything else to Rich. `Later` builds a part of a view only when it is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

try:  # Rich's own word wrap; a private module, so without it prose is left to Rich
    from rich._wrap import divide_line
except ImportError:  # pragma: no cover
    divide_line = None

NULL = Style.null()
"""Padding's own style ("none"): its spaces carry no colour."""


class Indented:
    """`parts` one under the other, `indent` columns in: the same segments as
    ``Padding(Group(*parts), (0, 0, 0, indent))``, each line padded with spaces to the width.

    A Text whose lines all fit (and hold no tab) is rendered as Rich renders it, then cut
    into lines here, and so is prose in one style, wrapped as Rich wraps it; any other part
    is rendered by Rich, line by line."""

    def __init__(self, parts: Iterable[RenderableType], indent: int = 2) -> None:
        self.parts = list(parts)
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width - self.indent
        inner = options.update_width(width)
        left, end = Segment(" " * self.indent, NULL), Segment.line()
        for part in self.parts:
            lines = _fitting(part, width, console, options) or console.render_lines(part, inner, style=NULL, pad=True)
            for line in lines:
                yield left
                yield from line
                yield end


def _fitting(part: RenderableType, width: int, console: Console, options: ConsoleOptions) -> list[list[Segment]] | None:
    """The lines of a Text as Rich lays it out in `width` (see `_rows`), each padded to
    `width`, where that needs no more than cutting: None for anything else."""
    if not isinstance(part, Text) or "\t" in part.plain or part.end != "\n" or (part.justify or options.justify) not in (None, "default"):
        return None
    rows = _rows(part, width, options)
    if rows is None:
        return None
    if part.spans:
        # Rich renders the text's lines joined (Text.__rich_console__): each line's pieces
        # get the same styles as in the whole text, only the newlines between them lose
        # the base style, and they are cut away here
        lines = list(_lines(part.render(console, end="\n")))
    else:  # one style throughout: a segment a line (none for an empty line), as Rich renders it
        style = console.get_style(part.style) if part.style else None
        lines = [[Segment(row, style)] if row else [] for row in rows]
    for line, row in zip(lines, rows):
        used = cell_len(row)
        if used < width:
            line.append(Segment(" " * (width - used), NULL))
    return lines


def _rows(part: Text, width: int, options: ConsoleOptions) -> list[str] | None:
    """A Text's lines as Rich's Text.wrap makes them in `width`: its own lines where they
    all fit; a text in one style that may wrap, each line cut into words that fit
    (`_wrapped`). None where Rich would do more: crop, fold a styled text, trim the
    spaces of a text that fits in cells but not in characters."""
    rows = part.plain.split("\n")  # the lines Text.split(allow_blank=True) gives
    if max(map(cell_len, rows)) <= width and max(map(len, rows)) <= width:  # Rich trims trailing spaces by characters
        return rows
    wraps = not (part.no_wrap if part.no_wrap is not None else options.no_wrap)
    if divide_line is None or part.spans or not wraps or (part.overflow or options.overflow or "fold") != "fold":
        return None
    rows = [piece for row in rows for piece in _wrapped(row, width)]
    return rows if max(map(cell_len, rows)) <= width else None


TRAILING_SPACE = re.compile(r"\s+$")  # as Text.rstrip_end finds it


def _wrapped(row: str, width: int) -> list[str]:
    """One line of prose cut as Text.wrap cuts it: after the words that fit (Rich's own
    `divide_line`, folding a word wider than the line), each piece longer than `width`
    characters losing as many of its trailing spaces as it is too long."""
    offsets = divide_line(row, width, fold=True)
    pieces = [row[start:end] for start, end in zip([0, *offsets], [*offsets, len(row)])]
    for number, piece in enumerate(pieces):
        excess = len(piece) - width
        spaces = TRAILING_SPACE.search(piece)
        if excess > 0 and spaces:
            pieces[number] = piece[:len(piece) - min(len(spaces.group()), excess)]
    return pieces


def _lines(segments: Iterable[Segment]) -> Iterator[list[Segment]]:
    """Segments cut into lines at each newline, as Segment.split_and_crop_lines cuts them."""
    line: list[Segment] = []
    for segment in segments:
        if "\n" not in segment.text or segment.control:
            line.append(segment)
            continue
        text, style, _control = segment
        while text:
            piece, newline, text = text.partition("\n")
            if piece:
                line.append(Segment(piece, style))
            if newline:
                yield line
                line = []
    if line:
        yield line


class Later:
    """The renderable ``build(*arguments)``, built when it is first rendered or measured
    (then kept): the process that renders a part of a view also builds it."""

    def __init__(self, build: Callable[..., RenderableType], *arguments: object) -> None:
        self.build = build
        self.arguments = arguments
        self._built: RenderableType | None = None

    def built(self) -> RenderableType:
        """The renderable, built once."""
        if self._built is None:
            self._built = self.build(*self.arguments)
        return self._built

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.built()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.built())
