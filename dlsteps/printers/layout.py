"""Lines indented under a step's header, laid out to the segments Rich's Padding makes.

A step's formulas, worked numbers and grids are hundreds of lines of text that already fit
the screen. Rich would wrap, crop and pad each of them again (a seventh of a lesson's run);
`Indented` lays such text out once, and leaves everything else to Rich.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

NULL = Style.null()
"""Padding's own style ("none"): its spaces carry no colour."""


class Indented:
    """`parts` one under the other, `indent` columns in: the same segments as
    ``Padding(Group(*parts), (0, 0, 0, indent))``, each line padded with spaces to the width.

    A Text whose lines all fit (and hold no tab) is rendered as Rich renders it, then cut
    into lines here; any other part is rendered by Rich, line by line."""

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
    """The lines of a Text that fits in `width` as Rich lays it out (its lines as they are:
    nothing to wrap, crop or justify), each padded to `width`; None for anything else."""
    if not isinstance(part, Text) or "\t" in part.plain or part.end != "\n" or (part.justify or options.justify) not in (None, "default"):
        return None
    rows = part.plain.split("\n")  # the lines Text.split(allow_blank=True) gives
    widths = [cell_len(row) for row in rows]
    if max(widths) > width or max(map(len, rows)) > width:  # Rich trims trailing spaces by characters
        return None
    if part.spans:
        # Rich renders the text's lines joined (Text.__rich_console__): each line's pieces
        # get the same styles as in the whole text, only the newlines between them lose
        # the base style, and they are cut away here
        lines = list(_lines(part.render(console, end="\n")))
    else:  # one style throughout: a segment a line (none for an empty line), as Rich renders it
        style = console.get_style(part.style) if part.style else None
        lines = [[Segment(row, style)] if row else [] for row in rows]
    for line, used in zip(lines, widths):
        if used < width:
            line.append(Segment(" " * (width - used), NULL))
    return lines


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
