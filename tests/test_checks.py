"""The engine's pairing check and finite-difference check, on small hand-made derivations."""

import numpy as np
import pytest
import sympy as sp

from dlsteps.checks import check, evaluate, finite_differences
from dlsteps.model import Derivation, GradientCheck, LessonError

x, i, n = sp.IndexedBase("x"), sp.Symbol("i", integer=True), sp.Symbol("n", integer=True)
s = sp.Symbol("s")


def derivation(value):
    d = Derivation("demo", "Demo", "none")
    d.bind(n, 3)
    d.given("x", x, np.array([1.0, 2.0, 3.0]))
    d.section("Sum of squares")
    d.step("s", "Sum", symbol=s, formula=sp.Sum(x[i] ** 2, (i, 0, n - 1)), value=value)
    return d


def test_agreeing_step_gets_its_badge():
    assert check(derivation(14.0)).find("s").check == ["formula = NumPy"]

def test_disagreeing_step_fails():
    with pytest.raises(LessonError, match="formula gives"):
        check(derivation(14.0 + 1e-6))


def test_nan_fails():
    with pytest.raises(LessonError, match="NaN"):
        check(derivation(float("nan")))


def test_gradient_check():
    d = Derivation("demo", "Demo", "none")
    d.bind(n, 3)
    d.given("x", x, np.array([1.0, 2.0, 3.0]))
    d.section("Gradient")
    g = sp.IndexedBase("g")
    loss = GradientCheck(lambda v: float((v**2).sum()), [1.0, 2.0, 3.0])
    d.step("g", "Gradient", symbol=g, index=(i,), formula=2 * x[i], value=np.array([2.0, 4.0, 6.0]), gradient=loss)
    assert check(d).find("g").check == ["formula = NumPy", "finite differences"]
    d.find("g").formula = 2 * x[i] + 1
    d.find("g").value = np.array([3.0, 5.0, 7.0])
    d.find("g").check = []
    with pytest.raises(LessonError, match="finite differences give"):
        check(d)


def test_finite_differences_are_central():
    # f(x) = x^5 at 1: exact for polynomials up to degree 4; the error is h^4 f^(5)/30 = 4e-20.
    gradient, rounding = finite_differences(GradientCheck(lambda v: float(v[0] ** 5), [1.0]))
    assert gradient[0] == pytest.approx(5.0, abs=1e-10) and rounding < 1e-9


def test_index_formula_evaluates_elementwise():
    d = derivation(14.0)
    y = sp.IndexedBase("y")
    d.step("y", "Double", symbol=y, index=(i,), formula=2 * x[i], value=np.zeros(3))
    assert evaluate(d.find("y"), d.env).tolist() == [2.0, 4.0, 6.0]


def test_infinities_compare_equal_but_nan_never():
    from dlsteps.checks import agree

    assert agree(np.array([np.inf, 1.0]), np.array([np.inf, 1.0]))
    assert not agree(np.array([np.inf]), np.array([-np.inf]))
    assert not agree(np.array([np.nan]), np.array([np.nan]))


def test_symbols_and_ids_are_unique():
    d = derivation(14.0)
    with pytest.raises(LessonError):
        d.step("s", "Again", value=1.0)
    with pytest.raises(LessonError):
        d.step("t", "Rebind", symbol=s, value=2.0)


def test_entries_next_to_a_kink_are_not_compared():
    from dlsteps.checks import comparable

    check_ = GradientCheck(lambda v: float(np.abs(v).sum()), [1e-200, 0.0, 0.5, -1e-7], kinks=[0, 0, 0, 0])
    assert comparable(check_).tolist() == [False, True, True, False]
    gradient, _ = finite_differences(check_)
    assert gradient[1] == 0 and gradient[2] == pytest.approx(1.0)
