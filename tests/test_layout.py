"""printers.layout.Indented lays lines out to the very bytes Rich's Padding(Group(...)) gives,
with colours and without, for text that fits and for everything it leaves to Rich; PlainTable
prints what Rich's Table prints, with colours (Rich's own) and without (laid out here)."""

import io

import pytest
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from dlsteps.printers.layout import Indented


def _printed(renderable, width: int, color: bool) -> str:
    stream = io.StringIO()
    console = Console(file=stream, width=width, force_terminal=color, color_system="truecolor" if color else None)
    console.print(renderable)
    return stream.getvalue()


def _parts(inner: int) -> list:
    """Lines of every kind, some exactly as wide as `inner` (the width inside the indent)."""
    styled = Text.assemble("  ⇒ ", ("x₀ = 0.5⋅0.25", "yellow"), " = ", ("0.125", "bold green"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column()
    grid.add_row("a table, left to Rich")
    return [
        Text("  ∂yᵢ   uᵢ⋅δᵢⱼ⋅S - uᵢ⋅uⱼ\n  ─── = ────────────────\n  ∂oⱼ          2\n", "cyan", no_wrap=True),
        styled,
        Text.assemble("\n", ("1.1 Scaled scores", "bold"), ("   ✓ formula · code", "dim green")),  # a step's header
        Text(""),
        Text.assemble(("across\nlines", "red"), "\n\n", ("blue\n", "blue"), ("x", "bold"), style="italic"),
        Text.assemble("spans ", ("over", "green"), " a newline alone", ("\n", "red"), "next line", no_wrap=True),
        Text("no style at all\n\nafter a blank line\n"),
        Text("\none style, blank lines around\n\n", "bold green", no_wrap=True),
        Text("C̃ₜⱼ = tanh(aᶜₜⱼ)" + " " * 40, "cyan", no_wrap=True),  # combining tilde: more characters than cells
        Text("C̃" * 3 + " " * (inner - 3), "cyan", no_wrap=True),
        Text("C̃" * 3 + " " * (inner - 3), "cyan"),  # fits in cells, not in characters: Rich trims its spaces
        Text("x" * inner + "\n" + "y" * (inner - 1), "cyan", no_wrap=True),
        Text("a long explanation that does not fit on one line and is wrapped by Rich, word by word", "dim"),
        Text("prose   with runs of spaces     at the ends of its lines    and  a   wordthatistoolongtofitonanyoneline"
             + "x" * inner + "  then more words\n\nafter a blank line, and a last line  \n", "magenta"),
        Text(" " * (inner + 3) + "spaces before the first word, more than a line", "dim"),
        Text("x" * (inner - 1) + "      " + "y" * inner + " " * (inner + 2), "dim"),  # trailing spaces beyond the width
        Text("트랜스포머는 어텐션으로 단어 사이의 관계를 한 번에 계산합니다. 넓은 글자가 두 칸씩 차지합니다" * 2, "magenta"),
        Text("넓은글자로만된아주긴낱말" * 4, "cyan"),  # folded in wide characters
        Text("cropped, not wrapped: " * 6, "cyan", overflow="crop"),  # left to Rich
        Text("ellipsis, not wrapped: " * 6, "cyan", overflow="ellipsis"),
        Text("no_wrap, too wide: " * 6, "cyan", no_wrap=True),
        Text("much too wide for the screen " * 4, "cyan", no_wrap=True),
        Text("한국어 설명: 넓은 글자", "magenta"),
        Text("tab\there", "dim"),
        grid,
        Text.from_ansi("\x1b[34m▞▞\x1b[0m plotted"),
    ]


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("width", [24, 40, 80])
def test_indented_lines_are_padding_s_lines(color, width):
    for indent in (2, 4):
        expected = _printed(Padding(Group(*_parts(width - indent)), (0, 0, 0, indent)), width, color)
        assert _printed(Indented(_parts(width - indent), indent), width, color) == expected


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("width", [24, 40, 80])
def test_flush_lines_are_group_s_lines(color, width):
    from dlsteps.printers.layout import Flush

    assert _printed(Flush(_parts(width)), width, color) == _printed(Group(*_parts(width)), width, color)


def test_indented_text_is_coloured_where_padding_colours_it():
    """The spaces Indented adds carry no colour; the text's own spaces keep its style."""
    out = _printed(Indented([Text("ab  ", "cyan", no_wrap=True)]), 12, True)
    assert out.startswith("  \x1b[36mab  \x1b[0m") and out.endswith("      \n")


def _tables(title: str, header: list, rows: list) -> tuple:
    """The same table as Rich's Table and as PlainTable (columns as the inputs table's)."""
    from rich import box

    from dlsteps.printers.layout import PlainTable

    tables = []
    for kind in (Table, PlainTable):
        table = kind(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for name in header:
            table.add_column(name)
        for row in rows:
            table.add_row(*row)
        tables.append(table)
    return tuple(tables)


ROWS = [["logits", Text("o", "cyan"), Text("3"), Text("[2, 1, 0.1]", "yellow"), Text("default", "dim")],
        ["W_in", Text("W_in", "cyan"), Text("3×2"), Text("     0     1\n ─────────\n0  0.5  -1\n1  2.25  3\n2  0  1e-05", "yellow"), Text("derived")],
        ["입력 가중치", Text("Wᵉ⁰", "cyan"), Text("2×2"), Text("가나  0.1\n다라  0.2"), Text("기본값", "dim")],
        ["blank", Text(""), Text("scalar"), Text("1e-05   "), Text("typed")]]


@pytest.mark.parametrize("width", [30, 44, 52, 60, 80, 200])
@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], ROWS[2:3]])
def test_a_plain_table_is_rich_s_table_without_styles(width, rows):
    rich_table, plain_table = _tables("Inputs", ["input", "symbol", "shape", "value", "from"], rows)
    assert _printed(plain_table, width, color=False) == _printed(rich_table, width, color=False)
    assert _printed(plain_table, width, color=True) == _printed(rich_table, width, color=True)  # Rich's own, in colour


@pytest.mark.parametrize("title, cell", [("Inputs", "[bold]markup[/bold]"), ("Inputs", "a\ttab"), ("[i]Inputs[/i]", "x"),
                                         ("Inputs", ":smile:"), ("A title far wider than the table itself is", "x")])
def test_what_a_plain_table_does_not_lay_out_is_left_to_rich(title, cell):
    rich_table, plain_table = _tables(title, ["input", "value"], [[cell, Text("1")], ["b", Text("x\ty")]])
    for width in (20, 80):
        assert _printed(plain_table, width, color=False) == _printed(rich_table, width, color=False)


def test_every_lesson_s_inputs_table_is_laid_out_as_rich_lays_it_out():
    from dlsteps import catalogue, engine
    from dlsteps.printers import terminal

    for name in catalogue.catalogue():
        printer = terminal.TerminalPrinter(width=100)
        derivation = engine.run(name)
        printer.begin(derivation)
        plain = printer._inputs(derivation.inputs)
        assert type(plain).__name__ == "PlainTable"
        rich_table = Table(title=plain.title, title_justify="left", box=plain.box)
        for column in plain.columns:
            rich_table.add_column(column.header)
        for row in zip(*(column.cells for column in plain.columns)):
            rich_table.add_row(*row)
        for width in (60, 100):
            assert _printed(plain, width, color=False) == _printed(rich_table, width, color=False), name


@pytest.mark.parametrize("title", ["3. Encoder self-attention, head 0", "12. 디코더: add & norm", "1. [bold]markup[/bold]",
                                   "2. an emoji :smile: code", "4. tab\there", "5. " + "a title too long for the line " * 4, ""])
@pytest.mark.parametrize("width", [20, 80])
def test_a_plain_rule_is_rich_s_rule_without_styles(title, width):
    from rich.rule import Rule

    from dlsteps.printers.layout import PlainRule

    for color in (False, True):
        ours = _printed(PlainRule(title, align="left", style="bold blue"), width, color)
        assert ours == _printed(Rule(title, align="left", style="bold blue"), width, color)


def test_a_plain_rule_on_an_ascii_console_is_rich_s_rule():
    from rich.rule import Rule

    from dlsteps.printers.layout import PlainRule

    def printed(rule) -> bytes:
        stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="backslashreplace")
        Console(file=stream, width=40, color_system=None).print(rule)
        stream.flush()
        return stream.buffer.getvalue()

    assert printed(PlainRule("1. Softmax", align="left")) == printed(Rule("1. Softmax", align="left"))
    assert b"1. Softmax ----" in printed(PlainRule("1. Softmax", align="left"))


def test_a_later_part_is_built_once_and_measured_as_what_it_builds():
    from rich.measure import Measurement

    from dlsteps.printers.layout import Later

    built = []
    part = Later(lambda words: built.append(words) or Text(words, "cyan"), "built when first rendered")
    assert built == []
    console = Console(file=io.StringIO(), width=40)
    assert Measurement.get(console, console.options, part) == Measurement.get(console, console.options, Text("built when first rendered"))
    assert _printed(part, 40, False) == _printed(part, 40, False) == "built when first rendered\n" and len(built) == 1
