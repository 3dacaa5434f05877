"""Lines indented under a step's header, laid out to the segments Rich's Padding makes.

A step's formulas, worked numbers and grids are hundreds of lines of text that already fit
the screen, and its explanations and notes are prose in one style. Rich would wrap, crop and
pad each of them again through its general machinery (a sixth of a lesson's run);
`Indented` lays such text out once, cut where Rich's word wrap cuts it, and leaves
everything else to Rich (`Flush` does the same at the left margin, for step headers and
section explanations). `Later` builds a part of a view only when it is rendered.
`PlainTable` and `PlainRule` lay out the inputs table and section rules as text where the
console shows no styles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.rule import Rule
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
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


class Flush:
    """`parts` one under the other at the left margin: the segments Rich prints for
    ``Group(*parts)``. Text that fits, and prose in one style, is laid out as `Indented`
    lays it out, without padding its lines; any other part is printed by Rich."""

    def __init__(self, parts: Iterable[RenderableType]) -> None:
        self.parts = list(parts)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for part in self.parts:
            lines = _fitting(part, options.max_width, console, options, pad=False)
            if lines is None:
                yield part
                continue
            for line in lines:
                yield from line
                yield Segment.line()


def _fitting(part: RenderableType, width: int, console: Console, options: ConsoleOptions,
             pad: bool = True) -> list[list[Segment]] | None:
    """The lines of a Text as Rich lays it out in `width` (see `_rows`), each padded to
    `width` (with `pad`), where that needs no more than cutting: None for anything else."""
    if not isinstance(part, Text) or "\t" in part.plain or part.end != "\n" or (part.justify or options.justify) not in (None, "default"):
        return None
    rows = _rows(part, width, options)
    if rows is None:
        return None
    if part.spans and console.color_system is not None:
        # Rich renders the text's lines joined (Text.__rich_console__): each line's pieces
        # get the same styles as in the whole text, only the newlines between them lose
        # the base style, and they are cut away here
        lines = list(_lines(part.render(console, end="\n")))
    else:  # one style throughout, or no style shown (piped): a segment a line (none for an empty line)
        style = console.get_style(part.style) if part.style else None
        lines = [[Segment(row, style)] if row else [] for row in rows]
    for line, row in zip(lines, rows):
        used = cell_len(row)
        if pad and used < width:
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


class PlainTable(Table):
    """A Rich Table that, on a console that shows no styles (piped, written to a file),
    lays out its lines as text: the characters Rich lays out, without Rich's rendering
    of each cell line by line (a long lesson's inputs table holds every weight matrix:
    a tenth of its printing). Laid out here: a titled table in the SIMPLE_HEAD box
    (blank edges, a rule under the header) whose cells are text that fits its column
    whole; anything else is left to Rich."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = _plain_table(self, options) if console.color_system is None else None
        if lines is None:
            yield from super().__rich_console__(console, options)
            return
        for line in lines:
            yield Segment(line)
            yield Segment.line()


def _plain_table(table: Table, options: ConsoleOptions) -> list[str] | None:
    """The lines of `table` as Rich lays them out in `options.max_width` columns, where
    each column is as wide as its widest line (plus a space either side) and all fit;
    None where Rich would do more (wrap, shrink, align, style a box) than `PlainTable`."""
    if not (table.box is box.SIMPLE_HEAD and table.show_header and table.show_edge and not table.show_footer
            and not table.show_lines and not table.expand and table.width is None and table.min_width is None
            and not table.caption and table.padding == (0, 1, 0, 1) and table.pad_edge and not table.leading
            and isinstance(table.title, str) and table.title_justify == "left" and not options.ascii_only
            and not options.legacy_windows):
        return None
    if any(column.justify != "left" or column.vertical != "top" or column.width is not None or column.min_width is not None
           or column.max_width is not None or column.ratio is not None for column in table.columns):
        return None
    columns = [[_cell_lines(cell) for cell in (column.header, *column.cells)] for column in table.columns]
    title = _cell_lines(table.title)
    if title is None or len(title) != 1 or any(lines is None for column in columns for lines in column):
        return None
    widths = [max(cell_len(line) for lines in column for line in lines) for column in columns]
    width = sum(widths) + 3 * len(widths) + 1  # a space either side of each cell, between cells, at each edge
    if width > options.max_width or cell_len(title[0]) > width:
        return None
    blank = " " * width
    header, *rows = zip(*columns)
    return [_padded(title[0], width), blank, *_row(header, widths), " " + "─" * (width - 2) + " ",
            *(line for row in rows for line in _row(row, widths)), blank]


def _cell_lines(cell: object) -> list[str] | None:
    """A cell's lines, where Rich would lay it out as they are: Text without tabs that
    is not aligned, or a string without markup or emoji codes; None for anything else."""
    if isinstance(cell, str):
        return None if "[" in cell or ":" in cell or "\t" in cell else cell.split("\n")
    if isinstance(cell, Text) and "\t" not in cell.plain and cell.justify in (None, "default", "left"):
        return cell.plain.split("\n")
    return None


def _row(cells: tuple[list[str], ...], widths: list[int]) -> list[str]:
    """A row's lines: each cell's lines from the top, padded to its column."""
    height = max(map(len, cells))
    return ["  " + "   ".join(_padded(lines[n] if n < len(lines) else "", width) for lines, width in zip(cells, widths)) + "  "
            for n in range(height)]


def _padded(line: str, width: int) -> str:
    """`line` and spaces, `width` cells in all."""
    return line + " " * (width - cell_len(line))


EMOJI_CODE = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")  # what Rich reads as an emoji code (rich._emoji_replace)


class PlainRule(Rule):
    """A Rich Rule that, on a console that shows no styles, is laid out as text: its
    title, a space, then the line to the width. Left to Rich: no title, a title Rich
    would read as markup or emoji, or cut short, and any other alignment."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        title, width = self.title, options.max_width
        if (console.color_system is not None or self.align != "left" or not title or not isinstance(title, str) or "[" in title
                or EMOJI_CODE.search(title) or "\t" in title or "\n" in title or cell_len(title) > width - 2
                or cell_len(self.characters) != 1 or self.end != "\n"):
            yield from super().__rich_console__(console, options)
            return
        line = "-" if options.ascii_only and not self.characters.isascii() else self.characters
        yield Segment(f"{title} {line * (width - cell_len(title) - 1)}")
        yield Segment.line()
