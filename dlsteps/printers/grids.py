"""Arrays and charts on the terminal: aligned grids with indices, summarized when large,
shaded as heatmaps on request, and line or point charts drawn with plotext.

A grid shows at most MAX_ROWS rows and MAX_COLUMNS columns; a larger array shows its
first and last ones around a ⋯ / ⋮ and says so (JSON always carries every value). A
heatmap shades each cell by its value (blue below 0, red above, white at 0); colors
disappear with the rest when NO_COLOR is set or the output is piped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rich.cells import cell_len
from rich.text import Text

from dlsteps.model import Chart

COLUMNS = 8
MARGIN = 16  # the "  =" before a grid, its row labels and the shape after it
MAX_ROWS, HEAD_ROWS, TAIL_ROWS = 16, 8, 4
MAX_COLUMNS, HEAD_COLUMNS, TAIL_COLUMNS = 16, 6, 2
CHART_HEIGHT = 16


def kept(count: int, limit: int, head: int, tail: int) -> list[int | None]:
    """The indices shown of `count`: all when at most `limit`, else head, None (a gap), tail."""
    if count <= limit:
        return list(range(count))
    return [*range(head), None, *range(count - tail, count)]


def summarized(value: Any) -> bool:
    """Whether the grid of `value` leaves rows or columns out."""
    matrix = np.atleast_2d(np.asarray(value))
    return matrix.shape[0] > MAX_ROWS or matrix.shape[1] > MAX_COLUMNS


def heat(x: float, scale: float) -> str:
    """A background style for a heatmap cell: blue for negative, red for positive."""
    if not np.isfinite(x):
        return "on grey23"
    level = int(200 * min(1.0, abs(x) / scale)) if scale else 0
    red, blue = (255, 255 - level) if x > 0 else (255 - level, 255)
    return f"black on rgb({red},{255 - level},{blue})"


def right(text: str, width: int) -> str:
    """`text` right-aligned in `width` terminal columns (a Hangul syllable takes two)."""
    return " " * max(0, width - cell_len(text)) + text


def left(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns."""
    return text + " " * max(0, width - cell_len(text))


def grid(value: Any, number: Callable[[float], str], width: int, style: str, labels: tuple = ((), ()), shaded: bool = False) -> Text:
    """A vector or matrix as aligned text with row and column indices (or labels), in
    blocks of as many columns (at most COLUMNS) as fit `width`; large arrays summarized."""
    row_labels, column_labels = labels
    matrix = np.atleast_2d(np.asarray(value, dtype=float))
    rows = kept(matrix.shape[0], MAX_ROWS, HEAD_ROWS, TAIL_ROWS)
    columns = kept(matrix.shape[1], MAX_COLUMNS, HEAD_COLUMNS, TAIL_COLUMNS)
    cells = {(r, c): number(matrix[r, c]) for r in rows if r is not None for c in columns if c is not None}
    finite = np.abs(matrix[np.isfinite(matrix)])
    scale = float(finite.max()) if finite.size else 0.0
    names = [] if np.ndim(value) == 1 else [("⋮" if r is None else row_labels[r] if row_labels else str(r)) for r in rows]
    widest = max(len(cell) for cell in cells.values())
    label_width = max(map(cell_len, names), default=0)
    fitting = max(1, min(COLUMNS, (width - MARGIN - label_width) // (widest + 3)))
    out = Text()
    for first in range(0, len(columns), fitting):
        part = columns[first:first + fitting]
        heads = ["⋯" if c is None else column_labels[c] if column_labels else str(c) for c in part]
        widths = [max([cell_len(head)] + [len(cells[r, c]) for r in rows if r is not None] if c is not None else [1]) for head, c in zip(heads, part)]
        margin = max(map(cell_len, names), default=-2) + 2
        header = " " * margin + "   ".join(right(head, w) for head, w in zip(heads, widths))
        out.append(f"{header}\n{'─' * cell_len(header)}\n", "dim")
        for position, r in enumerate(rows):
            out.append(left(names[position] if names else "", margin), "dim")
            for index, (c, w) in enumerate(zip(part, widths)):
                gap = "   " if index else ""
                if r is None or c is None:
                    out.append(gap + ("⋮" if r is None else "⋯").rjust(w), "dim")
                else:
                    out.append(gap)
                    out.append(cells[r, c].rjust(w), f"{style} {heat(matrix[r, c], scale)}" if shaded else style)
            out.append("\n")
    out.rstrip()
    return out


def chart(value: Any, spec: Chart, width: int) -> Text:
    """The step's value drawn with plotext: rows as lines over `spec.x`, each with its own
    marker and colour (told apart in plain text too); or rows as points, each written as
    its name where it lies (a name of wide characters, which plotext cannot place, as a
    number). A key under the chart names the markers: plotext's own legend box measures
    Korean names in characters, not cells, and breaks."""
    import plotext as plt

    matrix = np.atleast_2d(np.asarray(value, dtype=float))
    plt.clear_figure()
    plt.theme("clear")  # the terminal's own background, not a white box
    plt.plotsize(max(40, width), CHART_HEIGHT)
    if spec.kind == "points":
        key = _points(plt, list(spec.series or map(str, range(len(matrix)))), matrix[:, :2], max(40, width))
    else:
        key = _lines(plt, list(spec.x) or list(range(matrix.shape[1])), list(spec.series or [""] * len(matrix)), matrix)
    plt.xlabel(spec.x_label)
    plt.ylabel(spec.y_label)
    drawn = Text.from_ansi(plt.build())
    entries = [Text.assemble("[", (SHOWN.get(mark, mark), color), "] ", name) for mark, color, name in key]
    return Text("\n").join([drawn, Text("   ").join(entries)]) if entries else drawn


MARKERS = ("hd", "x", "+", "o", "*", "#")
SHOWN = {"hd": "▞"}  # how a key shows plotext's high-definition marker
COLORS = ("blue", "red", "green", "magenta", "cyan", "yellow")
"""The lines of a chart, told apart by marker (plain text) and colour (a terminal)."""


def _lines(plt: Any, xs: list, names: list[str], matrix: np.ndarray) -> list[tuple[str, str, str]]:
    """Each row a line over `xs` (its values that are not finite left out); the key:
    (marker, colour, name) of each named line."""
    key = []
    for number, (name, row) in enumerate(zip(names, matrix)):
        keep = np.isfinite(row)
        mark, color = MARKERS[number % len(MARKERS)], COLORS[number % len(COLORS)]
        plt.plot([x for x, k in zip(xs, keep) if k], row[keep].tolist(), marker=mark, color=color)
        if name:
            key.append((mark, color, name))
    return key


def _points(plt: Any, names: list[str], points: np.ndarray, width: int) -> list[tuple[str, str, str]]:
    """Each point written as its name at (x, y), or as a number where the name has wide
    characters; the x axis widened so that every label fits inside the frame. The key:
    (number, colour, name) of the names written as numbers."""
    key, labels = [], []
    for number, (name, (x, y)) in enumerate(zip(names, points)):
        color = COLORS[number % len(COLORS)]
        label = name if cell_len(name) == len(name) else str(len(key) + 1)
        if label != name:
            key.append((label, color, name))
        labels.append(label)
        plt.text(label, x, y, color=color, alignment="left")
    low, high = float(points[:, 0].min()), float(points[:, 0].max())
    span = (high - low) or 1.0
    columns = max(width - 12, 10)  # the frame less the y axis's ticks
    longest = max(map(len, labels))
    plt.xlim(low - span / columns, high + span * (longest + 1) / max(columns - longest - 1, 1))
    low, high = float(points[:, 1].min()), float(points[:, 1].max())
    margin = ((high - low) or 1.0) * 0.05
    plt.ylim(low - margin, high + margin)
    return key
