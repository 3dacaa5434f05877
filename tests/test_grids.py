"""Grids on the terminal: large arrays summarized, heatmaps shaded only with color, charts drawn."""

import io

import numpy as np
from rich.cells import cell_len
from rich.console import Console

from dlsteps.model import Chart
from dlsteps.printers import grids


def text_of(renderable, color=False):
    stream = io.StringIO()
    Console(file=stream, width=80, force_terminal=color, color_system="truecolor" if color else None).print(renderable)
    return stream.getvalue()


def number(x):
    return f"{x:.4g}"


def test_small_arrays_show_every_entry():
    shown = text_of(grids.grid(np.arange(12.0).reshape(3, 4), number, 80, "green"))
    assert all(str(k) in shown for k in range(12)) and "⋮" not in shown


def test_large_arrays_show_head_and_tail_with_gaps():
    matrix = np.arange(64 * 64, dtype=float).reshape(64, 64)
    shown = text_of(grids.grid(matrix, number, 80, "green"))
    assert grids.summarized(matrix) and "⋮" in shown and "⋯" in shown
    assert "4095" in shown and "2000" not in shown
    assert shown.count("\n") < 40


def test_heatmap_shades_only_with_color():
    matrix = np.array([[-1.0, 0.0], [0.5, -np.inf]])
    plain = text_of(grids.grid(matrix, number, 80, "green", shaded=True))
    colored = text_of(grids.grid(matrix, number, 80, "green", shaded=True), color=True)
    assert "\x1b[" not in plain and "48;2;" in colored
    assert grids.heat(1.0, 1.0) != grids.heat(-1.0, 1.0) and "grey" in grids.heat(-np.inf, 1.0)


def test_chart_draws_every_series():
    drawn = text_of(grids.chart(np.array([[3.0, 2, 1], [3, 1, 0.5]]), Chart(series=("batch", "sgd"), x_label="epoch"), 70))
    assert "epoch" in drawn and "batch" in drawn and "sgd" in drawn


def test_chart_lines_differ_in_plain_text_and_a_key_names_them():
    drawn = text_of(grids.chart(np.array([[3.0, 2, 1], [1, 2, 3]]), Chart(series=("batch", "sgd"), x_label="epoch"), 70))
    frame = drawn.split("└")[0]
    assert set(frame) & set("▘▝▖▗▚▞▌▐▀▄▙▛▜▟█") and "x" in frame  # one marker per line, told apart without colours
    assert "[▞] batch" in drawn and "[x] sgd" in drawn


def test_chart_of_korean_names_keeps_its_frame():
    drawn = text_of(grids.chart(np.array([[3.0, 2, 1], [1, 2, 3]]), Chart(series=("배치", "미니배치"), x_label="에폭"), 70))
    framed = [line for line in drawn.splitlines() if "│" in line or "┤" in line]
    assert len({cell_len(line.rstrip()) for line in framed}) == 1  # every row of the frame ends in the same column
    assert "[▞] 배치" in drawn and "[x] 미니배치" in drawn


def test_chart_points_are_written_as_their_names_or_numbered():
    points = np.array([[0.1, 0.2], [-0.4, -0.3], [0.5, -0.4]])
    drawn = text_of(grids.chart(points, Chart(kind="points", series=("king", "love", "피자")), 70))
    assert "king" in drawn and " love" in drawn  # the left-most name is whole, inside the frame
    assert "[1] 피자" in drawn
    framed = [line for line in drawn.splitlines() if "│" in line or "┤" in line]
    assert len({cell_len(line.rstrip()) for line in framed}) == 1
