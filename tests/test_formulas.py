"""Formulas as printed: the lecture's order of factors and terms, a lesson's own order kept,
subscripts, cases in the reader's language, art cut between terms (never inside a
number), the baseline a sign belongs on, and the entries worked out on request."""

import numpy as np
import pytest
import sympy as sp
from rich.cells import cell_len

from dlsteps import i18n
from dlsteps.checks import check
from dlsteps.model import Derivation, LessonError
from dlsteps.printers.formulas import latex, unicode, unicode_art

a, p, o, C, f, t, eta, g = sp.symbols("a p o C f t eta g")
i, j, k, n = sp.symbols("i j k n", integer=True)
H, s = sp.symbols("H s", integer=True)
x, u = sp.IndexedBase("x"), sp.IndexedBase("u")


@pytest.mark.parametrize("expr, shown", [
    (p * sp.log(p), "p⋅log(p)"),            # SymPy writes log(p)⋅p
    (o * sp.tanh(C), "o⋅tanh(C)"),
    (a * (1 - a), "a⋅(1 - a)"),               # SymPy writes (1 - a)⋅a
    (2 * eta * g, "2⋅η⋅g"),
    (-t * (1 - a), "-t⋅(1 - a)"),
    (g * sp.exp(a) * (1 - a) * 3, "3⋅g⋅ℯ ⋅(1 - a)"),
])
def test_products_in_the_lecture_order(expr, shown):
    art = unicode(expr)
    assert art.splitlines()[-1].strip() == shown or shown in art.replace("\n", " ")


def test_the_worked_numbers_follow_the_printed_order():
    assert unicode(p * sp.log(p)) == "p⋅log(p)"
    assert latex(p * sp.log(p)) == r"p \log{\left(p \right)}"
    assert latex(a * (1 - a)) == r"a \left(1 - a\right)"


def test_a_product_or_sum_written_unevaluated_keeps_its_order():
    assert unicode(f * C) == "C⋅f"  # SymPy's order, both plain symbols
    assert unicode(sp.Mul(f, C, evaluate=False)) == "f⋅C"
    cell = sp.Add(sp.Mul(f, C, evaluate=False), sp.Mul(a, o, evaluate=False), evaluate=False)
    assert unicode(cell) == "f⋅C + a⋅o"
    assert latex(cell) == "f C + a o"


def test_subscripts_of_one_kind():
    assert unicode(sp.KroneckerDelta(i, j)) == "δᵢⱼ"
    assert unicode(x[t - 1, k]) == "xₜ₋₁,ₖ"
    assert unicode(x[t, k - H]) == "x[t,k-H]"  # a capital has no subscript: indexed as arrays are
    assert unicode(x[a + i * s]) == "x[a+i⋅s]"
    assert unicode(x[i, j], ascii=True) == "x_ij"
    assert unicode(x[sp.Symbol("T_dec", integer=True) - 1, k], names={"T_dec": ("T′", "T'")}) == "x[T′-1,k]"  # display names
    assert unicode(sp.KroneckerDelta(k, x[t])) == "δ(k,xₜ)"  # a function of its indices where one has no subscript
    assert unicode(x[sp.Symbol("n_p") ** 2 + i]) == "x[i+nₚ²]"  # a power in an index, on one line


def test_latex_indices_in_the_same_order_and_deltas_with_a_comma_where_needed():
    assert latex(x[t, k - H]) == "{x}_{t,k - H}"
    assert latex(sp.KroneckerDelta(i, j)) == r"\delta_{i j}"
    assert latex(sp.KroneckerDelta(k, x[t])) == r"\delta_{k, {x}_{t}}"


def test_cases_in_the_reader_language():
    cases = sp.Piecewise((0, sp.Eq(p, 0)), (p * sp.log(p), True))
    assert "for p = 0" in unicode(cases) and "otherwise" in unicode(cases)
    i18n.use("ko")
    art, tex = unicode(cases), latex(cases)
    assert "for" not in art and "otherwise" not in art and i18n._("otherwise") in art
    assert i18n._("otherwise") != "otherwise"
    assert r"\text{for}" not in tex and i18n._("otherwise") in tex


def numbers(*texts):
    return [sp.Symbol(text) for text in texts]


def test_wide_numbers_are_cut_between_terms_never_inside_a_number():
    values = numbers("0.1234", "(-1.342)", "0.3651", "(-0.4472)", "0.2718", "1.461", "4", "1e-05", "5")
    top = sp.Add(sp.Mul(values[0], values[1], evaluate=False), sp.Mul(values[2], values[3], evaluate=False),
                 sp.Mul(values[4], values[5], evaluate=False), evaluate=False)
    bottom = sp.Mul(values[6], sp.sqrt(sp.Add(values[7], values[8], evaluate=False)), evaluate=False)
    fraction = sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)
    art = unicode_art(sp.Eq(sp.Derivative(sp.Symbol("L"), x[0, 0]), fraction, evaluate=False), keep_order=True, width=40)
    lines = art.text.splitlines()
    assert max(cell_len(line) for line in lines) <= 40
    assert "↪" in art.text  # it was cut
    flat = " ".join(line.replace("↪", " ") for line in lines)
    for value in values:
        assert value.name in flat, value.name  # every number whole, on one line
    assert lines[0].startswith("∂L/∂x₀₀ = ")  # written on one line, left side too


def test_art_that_fits_is_not_cut_and_knows_its_baseline():
    fraction = sp.Mul(sp.Add(*numbers("1", "(-0.5)"), evaluate=False), sp.Pow(sp.Symbol("4"), -1, evaluate=False), evaluate=False)
    art = unicode_art(fraction, keep_order=True, width=40)
    rows = art.text.splitlines()
    assert "↪" not in art.text and len(rows) == 3
    assert set(rows[art.first].strip()) == {"─"} and art.first == art.last


def softmax_like():
    """y_i = u_i / S with a compact formula and its full form."""
    d = Derivation("demo", "Demo", "none")
    y, S = sp.IndexedBase("y"), sp.Symbol("S")
    d.bind(n, 3)
    d.given("u", u, np.array([1.0, 2.0, 3.0]))
    d.section("Normalize")
    d.step("S", "Sum", symbol=S, formula=sp.Sum(u[k], (k, 0, n - 1)), value=6.0, code="S = u.sum()")
    return d, y, S


def test_the_full_form_of_a_formula_is_checked_too():
    d, y, S = softmax_like()
    d.step("y", "Share", symbol=y, index=(i,), formula=u[i] / S, full=u[i] / sp.Sum(u[k], (k, 0, n - 1)),
           value=np.array([1, 2, 3]) / 6, code="y = u / S")
    check(d)
    d, y, S = softmax_like()
    d.step("y", "Share", symbol=y, index=(i,), formula=u[i] / S, full=u[i] / sp.Sum(u[k], (k, 0, n - 2)),
           value=np.array([1, 2, 3]) / 6, code="y = u / S")
    with pytest.raises(LessonError, match="formula gives"):
        check(d)


def test_element_chooses_the_entry_worked_out(cli):
    shown = cli("softmax", "-f", "markdown", "--element", "2").stdout
    assert "{y}_{2} = " in shown and "{y}_{0} = " not in shown
    matrix = cli("softmax", "-f", "markdown", "--element", "1,2").stdout
    assert r"\frac{\partial {y}_{1}}{\partial {o}_{2}} = " in matrix and "{y}_{0} = " in matrix  # vectors keep their own choice


def test_expand_works_out_every_entry_and_shows_the_full_form(cli):
    plain = cli("softmax", "--no-pager", env={"COLUMNS": "100"}).stdout
    expanded = cli("softmax", "--no-pager", "--expand", env={"COLUMNS": "100"}).stdout
    assert "--expand shows this formula in full" in plain and "In full, as SymPy derives it" not in plain
    assert "In full, as SymPy derives it" in expanded and "╲" in expanded.split("In full")[1].split("2.2")[0]
    assert all(f"⇒ y{sub} = " in expanded for sub in "₀₁₂") and "⇒ y₁ = " not in plain
    markdown = cli("softmax", "-f", "markdown", "--expand").stdout
    assert all(f"{{y}}_{{{e}}} = " in markdown for e in range(3))


@pytest.mark.parametrize("value, words", [
    ("7", "no vector is that long"), ("0,9", "no matrix has that entry"), ("x", "is not an entry"), ("1,2,3", "is not an entry"),
])
def test_a_bad_element_is_one_line_and_status_2(cli, value, words):
    result = cli("softmax", "--element", value)
    assert result.exit_code == 2 and words in result.stderr and "--element" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_equals_sign_sits_on_the_fraction_bar():
    from dlsteps.output import plain_text
    from dlsteps.printers import terminal

    d = Derivation("demo", "Demo", "none")
    d.bind(n, 3)
    d.given("u", u, np.array([1.0, 2.0, 4.0]))
    d.section("Mean")
    d.step("m", "Mean square", symbol=sp.Symbol("m"), formula=sp.Sum(u[k] ** 2, (k, 0, n - 1)) / n, value=7.0,
           code="m = (u ** 2).mean()", substitute=True)
    lines = plain_text(terminal.render(check(d), width=80)).splitlines()  # 4 rows: the squares' 2s above the numbers
    bar = next(number for number, line in enumerate(lines) if "+ 4" in line) + 1
    assert lines[bar].lstrip().startswith("= ──") and "─" in lines[bar]


def test_in_order_keeps_a_written_order_that_happens_to_be_sympy_own():
    from dlsteps.symbolic import in_order

    y = sp.Symbol("y")
    written = sp.Add(y, y ** 2, evaluate=False)  # SymPy stores these terms in this order, and prints y² + y
    assert unicode(written).splitlines()[-1].strip() == "y  + y"
    assert unicode(in_order(sp.Add(y, y ** 2, evaluate=False))).splitlines()[-1].strip() == "y + y"
    assert latex(in_order(sp.Add(y, y ** 2, evaluate=False))) == "y + y^{2}"


def test_a_fraction_written_unevaluated_stays_a_fraction():
    theta = sp.Mul(t, sp.Pow(sp.Pow(10000, 2 * k / n, evaluate=False), -1, evaluate=False), evaluate=False)
    art = unicode(theta)
    assert art.splitlines()[0].strip() == "t" and "─" in art and "-" not in art


def test_one_line_numbers_read_as_the_art_does():
    one, two, three = numbers("1.5", "0.2", "(-0.3)")
    squares = sp.Add(sp.Pow(sp.Add(one, two, evaluate=False), 2, evaluate=False),
                     sp.Abs(sp.Add(one, sp.Mul(-1, three, evaluate=False), evaluate=False), evaluate=False), evaluate=False)
    wide = sp.Mul(sp.Add(*[squares] * 4, evaluate=False), sp.Pow(sp.Symbol("3"), -1, evaluate=False), evaluate=False)
    art = unicode_art(wide, keep_order=True, width=40).text
    assert "(1.5 + 0.2)²" in art and "│1.5 - (-0.3)│" in art  # not Abs(...), **2, or a bracketed sum within a sum
    assert "│ + (1.5" in art and ") + ((" not in art  # the inner sums are not bracketed


@pytest.mark.parametrize("terms, value, shown, expected", [
    (("1.099", "(-1.013)"), 0.0853, 4, False),  # 1.099 - 1.013 = 0.086, not the 0.0853 printed: ≈
    (("0.3", "0.3", "0.3"), 0.96, 1, False),     # at -p 1, operands 0.32 shown as 0.3: 0.9, not the 1 printed: ≈
    (("0.5", "0.25"), 0.75, 4, True),
])
def test_rounded_operands_are_marked_where_they_do_not_give_the_value(terms, value, shown, expected):
    from dlsteps.printers.formulas import faithful

    total = sp.Add(*numbers(*terms), evaluate=False)
    assert faithful(total, value, lambda x: f"{x:.{shown}g}") is expected


def test_the_float_check_and_sympy_agree_on_functions():
    from dlsteps.printers.formulas import _in_floats

    worked = sp.Mul(sp.Symbol("0.5"), sp.log(sp.Symbol("0.9"), evaluate=False), sp.tanh(sp.Symbol("(-0.3)"), evaluate=False), evaluate=False)
    plain = {s: sp.Float(s.name.strip("()")) for s in worked.free_symbols}
    assert _in_floats(worked) == pytest.approx(float(worked.xreplace(plain).evalf()), rel=1e-14)
    with pytest.raises(TypeError):
        _in_floats(sp.Function("mystery")(sp.Symbol("1")))


def test_the_worked_entry_is_not_a_0_or_1_left_by_rounding_off():
    """A cosine of a vector with itself is 1 computed as 0.9999999999999998: the entry
    worked out by hand is the first that is neither 0 nor 1, even in floating point."""
    from dlsteps.model import Step
    from dlsteps.printers.formulas import _shown_entry

    e = np.array([[0.4942, 0.8717], [-0.6157, -0.584]])
    norms = np.sqrt((e * e).sum(axis=1))
    cosines = e @ e.T / np.outer(norms, norms)
    assert cosines[0, 0] != 1  # the round-off this is about
    step = Step("cos", "Cosines", symbol=sp.IndexedBase("c"), index=(i, j), formula=x[i, j], value=cosines)
    assert _shown_entry(step) == (0, 1)
    step.value = np.array([[0.0, 1.0, 1 - 1e-16], [1.8e-35, 0.5, 2.0]])  # a tiny value is a value: a saturated sigmoid
    assert _shown_entry(step) == (1, 0)
    step.value = np.array([[0.0, 1.0], [1.0, 0.0]])  # every entry 0 or 1: the first not 0
    assert _shown_entry(step) == (0, 1)
