"""The engine's checks on small hand-made derivations: pairing, finite differences, code
lines that run, rounding of cancelling terms, and dependencies inferred from formulas."""

import numpy as np
import pytest
import sympy as sp

from dlsteps.checks import agree, check, comparable, evaluate, finite_differences, magnitude
from dlsteps.model import CHECK_CODE, CHECK_FD, CHECK_FORMULA, Derivation, GradientCheck, LessonError

x, i, n = sp.IndexedBase("x"), sp.Symbol("i", integer=True), sp.Symbol("n", integer=True)
s = sp.Symbol("s")


def derivation(value, code="s = (x ** 2).sum()"):
    d = Derivation("demo", "Demo", "none")
    d.bind(n, 3)
    d.given("x", x, np.array([1.0, 2.0, 3.0]))
    d.section("Sum of squares")
    d.step("s", "Sum", symbol=s, formula=sp.Sum(x[i] ** 2, (i, 0, n - 1)), value=value, code=code)
    return d


def test_agreeing_step_gets_its_badges():
    assert check(derivation(14.0)).find("s").check == [CHECK_FORMULA, CHECK_CODE]


def test_disagreeing_step_fails():
    with pytest.raises(LessonError, match="formula gives"):
        check(derivation(14.0 + 1e-6))


def test_a_code_line_that_computes_something_else_fails():
    with pytest.raises(LessonError, match="code line gives"):
        check(derivation(14.0, code="s = x.sum()"))


def test_a_code_line_that_does_not_run_fails():
    with pytest.raises(LessonError, match="code line"):
        check(derivation(14.0, code="s = l1_step(x, y, w, b)"))


def test_every_step_needs_code_and_a_variable():
    d = derivation(14.0)
    with pytest.raises(LessonError, match="code line"):
        d.step("t", "No code", symbol=sp.Symbol("t"), formula=2 * s, value=28.0)
    with pytest.raises(LessonError, match="already set"):
        d.step("u", "Same variable", symbol=sp.Symbol("u"), formula=2 * s, value=28.0, code="s = 2 * s", var="s")


def test_nan_fails():
    with pytest.raises(LessonError, match="NaN"):
        check(derivation(float("nan")))


def gradient_derivation(value):
    d = Derivation("demo", "Demo", "none")
    d.bind(n, 3)
    d.given("x", x, np.array([1.0, 2.0, 3.0]))
    d.section("Gradient")
    loss = GradientCheck(lambda v: float((v**2).sum()), [1.0, 2.0, 3.0])
    d.step("g", "Gradient", symbol=sp.IndexedBase("g"), index=(i,), formula=2 * x[i] * value, value=2 * np.array([1.0, 2.0, 3.0]) * value,
           gradient=loss, code=f"g = 2 * x * {value!r}")
    return d


def test_gradient_check():
    assert check(gradient_derivation(1.0)).find("g").check == [CHECK_FORMULA, CHECK_FD, CHECK_CODE]
    with pytest.raises(LessonError, match="finite differences give"):
        check(gradient_derivation(1.1))


def test_finite_differences_catch_a_relative_error_of_3e_7():
    # The softmax defect: y - t with a target summing to 0.9999999 is off by about 3e-7
    # relative; the check must be tight enough to refuse it.
    with pytest.raises(LessonError, match="finite differences give"):
        check(gradient_derivation(1 + 3e-7))


def test_finite_differences_are_central():
    # f(x) = x^5 at 1: exact for polynomials up to degree 4; the error is h^4 f^(5)/30 = 4e-20.
    gradient, error = finite_differences(GradientCheck(lambda v: float(v[0] ** 5), [1.0]))
    assert gradient[0] == pytest.approx(5.0, abs=1e-10) and error[0] < 1e-8


def test_index_formula_evaluates_elementwise():
    d = derivation(14.0)
    y = sp.IndexedBase("y")
    d.step("y", "Double", symbol=y, index=(i,), formula=2 * x[i], value=np.zeros(3), code="y = np.zeros(3)")
    assert evaluate(d.find("y"), d.env).tolist() == [2.0, 4.0, 6.0]


def test_infinities_compare_equal_but_nan_never():
    assert agree(np.array([np.inf, 1.0]), np.array([np.inf, 1.0]))
    assert not agree(np.array([np.inf]), np.array([-np.inf]))
    assert not agree(np.array([np.nan]), np.array([np.nan]))


def test_symbols_and_ids_are_unique():
    d = derivation(14.0)
    with pytest.raises(LessonError):
        d.step("s", "Again", value=1.0, code="z = 1.0", var="z")
    with pytest.raises(LessonError):
        d.step("t", "Rebind", symbol=s, value=2.0, code="s2 = 2.0", var="s2")
    with pytest.raises(LessonError, match="used twice"):
        d.step("x", "An input's id", value=2.0, code="s3 = 2.0", var="s3")


def test_entries_next_to_a_kink_are_not_compared():
    check_ = GradientCheck(lambda v: float(np.abs(v).sum()), [1e-200, 0.0, 0.5, -1e-7], kinks=[0, 0, 0, 0])
    assert comparable(check_).tolist() == [False, True, True, False]
    gradient, _ = finite_differences(check_)
    assert gradient[1] == 0 and gradient[2] == pytest.approx(1.0)


def test_cancelling_terms_are_allowed_their_rounding_but_no_more():
    # r = a - b with a, b near 1e6: both sides carry errors of eps * 1e6, far above
    # rtol * |r| when r is tiny. The magnitude of the terms (|a| + |b|) sets the allowance.
    a, b, r = sp.Symbol("a"), sp.Symbol("b"), sp.Symbol("r")
    d = Derivation("demo", "Demo", "none")
    d.given("a", a, 1e6 + 2.0**-30)
    d.given("b", b, 1e6)
    d.section("Difference")
    exact = 2.0**-30
    d.step("r", "Difference", symbol=r, formula=a - b, value=exact * (1 + 1e-7), code="r = a - b + 2.0 ** -30 * 1e-7")
    assert magnitude(a - b) == sp.Abs(a) + sp.Abs(b)
    check(d)  # 1e-7 relative on a tiny difference: within eps * 2e6
    d.find("r").value, d.find("r").check = exact + 1e-6, []
    with pytest.raises(LessonError):
        check(d)


def test_dependencies_are_inferred_from_the_formula():
    d = derivation(14.0)
    t = sp.Symbol("t")
    step = d.step("t", "Twice", symbol=t, formula=2 * s + x[0], value=31.0, code="t = 2 * s + x[0]")
    assert step.depends_on == ("x", "s")
    with pytest.raises(LessonError, match="inferred"):
        d.step("u", "Typed", symbol=sp.Symbol("u"), formula=2 * t, value=62.0, code="u = 2 * t", depends_on=("t",))
    with pytest.raises(LessonError, match="no input or earlier step binds"):
        d.step("v", "Unbound", symbol=sp.Symbol("v"), formula=2 * sp.Symbol("later"), value=0.0, code="v = 0.0")
    with pytest.raises(LessonError, match="not earlier steps"):
        d.step("w", "No formula", value=0.0, code="w = 0.0", depends_on=("later",))


def test_one_namespace_for_inputs_and_steps():
    d = derivation(14.0)
    assert d["x"].name == "x" and d["s"].id == "s"
    with pytest.raises(LookupError, match="no step or input 'nope'.*ids: x, s"):
        d["nope"]


def test_a_recurrence_may_use_its_own_members_in_any_order():
    # W_t = W_{t-1} - G_{t-1} and G_t = 2 W_t: the weights use the gradients added after them.
    t, w, G, W = sp.Symbol("t", integer=True), sp.Symbol("w0"), sp.IndexedBase("G"), sp.IndexedBase("W")
    d = Derivation("demo", "Demo", "none")
    d.given("w0", w, 1.0)
    d.section("Table")
    weights = np.array([1.0, -1.0, 1.0])
    with d.recurrence():
        d.step("weights", "Weights", symbol=W, index=(t,), formula=sp.Piecewise((w, sp.Eq(t, 0)), (W[t - 1] - G[t - 1], True)),
               value=weights, code="W = np.array([w0 * (-1) ** k for k in range(3)])")
        d.step("gradients", "Gradients", symbol=G, index=(t,), formula=2 * W[t], value=2 * weights[:2], code="G = 2 * W[:2]")
    assert d["weights"].depends_on == ("w0", "gradients") and d["gradients"].depends_on == ("weights",)
    assert d["weights"].recurrence == ("weights", "gradients")
    check(d)
    d["weights"].value, d["weights"].check = np.array([1.0, -1.0, 0.5]), []
    with pytest.raises(LessonError):
        check(d)


def test_a_sharply_curved_loss_is_differenced_with_shorter_steps():
    # Found by Hypothesis in the autoencoder: a weight of 3e5 downstream makes the loss
    # curve on a scale far below the first step; a right gradient must still pass.
    def loss(v):
        return float(np.sin(3e5 * v[0]))

    d = Derivation("demo", "Demo", "none")
    d.given("x", x, np.array([0.1]))
    d.section("Curved")
    value = np.array([3e5 * np.cos(3e4)])
    d.step("g", "Gradient", symbol=sp.IndexedBase("g"), index=(i,), formula=3e5 * sp.cos(3e5 * x[i]), value=value,
           gradient=GradientCheck(loss, [0.1]), code="g = 3e5 * np.cos(3e5 * x)")
    assert CHECK_FD in check(d).find("g").check
    d.find("g").value, d.find("g").check = value * (1 + 1e-6), []
    with pytest.raises(LessonError):
        check(d)


def test_stacked_arrays_pair_in_index_form_at_any_size():
    # [c; s]_k and the rows [h_t; x_t]: one formula, evaluated by NumPy's concatenate.
    from dlsteps.symbolic import Stacked

    k, t = sp.Symbol("k", integer=True), sp.Symbol("t", integer=True)
    for n in (2, 40):
        d = Derivation("demo", "Demo", "none")
        c = d.given("c", sp.IndexedBase("c"), np.arange(n, dtype=float))
        h = d.given("h", sp.IndexedBase("h"), np.ones((3, n)))
        x = d.given("x", sp.IndexedBase("x"), np.full((3, 2), 7.0))
        d.section("Stacks")
        step = d.step("z", "Stack", symbol=sp.IndexedBase("z"), index=(k,), formula=2 * Stacked(c.symbol, c.symbol, k),
                      value=2 * np.concatenate([c.value, c.value]), code="z = 2 * np.concatenate((c, c))")
        rows = d.step("Z", "Rows", symbol=sp.IndexedBase("Z"), index=(t, k), formula=Stacked(h.symbol, x.symbol, t, k),
                      value=np.concatenate([h.value, x.value], axis=1), code="Z = np.concatenate((h, x), axis=1)")
        check(d)
        assert step.depends_on == ("c",) and rows.depends_on == ("h", "x")
    rows.value, rows.check = rows.value + np.eye(3, n + 2), []
    with pytest.raises(LessonError):
        check(d)


def test_differences_that_never_settle_are_reported_not_compared():
    # An exploding gradient (a loss changing by 1e20 per unit) is beyond float64's
    # differences at every step size: the entry is named in a note instead of failing a
    # correct lesson; the badge says not every entry was compared.
    from dlsteps.model import CHECK_FD_UNSETTLED

    d = Derivation("demo", "Demo", "none")
    d.given("x", x, np.array([0.5, 0.25]))
    d.section("Steep")
    loss = GradientCheck(lambda v: float(np.sin(1e20 * v[0]) + v[1] ** 2), [0.5, 0.25])
    d.step("g", "Gradient", symbol=sp.IndexedBase("g"), index=(i,), formula=sp.Piecewise((1e20 * sp.cos(1e20 * x[i]), sp.Eq(i, 0)), (2 * x[i], True)),
           value=np.array([1e20 * np.cos(1e20 * 0.5), 0.5]), gradient=loss, code="g = np.array([1e20 * np.cos(1e20 * x[0]), 2 * x[1]])")
    assert CHECK_FD_UNSETTLED in check(d).find("g").check
    assert "do not settle at entries 0" in " ".join(d.find("g").notes)


def test_a_helper_is_defined_by_its_source_as_inspect_reads_it():
    """Derivation.define takes a function's source from its file without tokenizing it:
    the same text inspect.getsource gives, for every helper the lessons define."""
    import inspect

    from dlsteps.blocks import activations, convolution, information, linear
    from dlsteps.model import source_of
    from lessons import sgd, word2vec

    helpers = [activations.sigmoid, information.xlogy, information.rel_entr, linear.linear_updates, convolution.windows,
               convolution.unpool, convolution.conv2d_backward, sgd.shuffled_orders, sgd.epoch_losses,
               *word2vec.__dict__.values()]
    functions = [f for f in helpers if inspect.isfunction(f) and f.__module__.startswith(("dlsteps", "lessons"))]
    assert len(functions) > 12
    for function in functions:
        assert source_of(function) == inspect.getsource(function), function.__qualname__


def test_a_lesson_s_helpers_run_in_its_code_lines():
    """The prelude a lesson defines is whole code: each helper compiles and defines its name."""
    from dlsteps import engine

    for lesson in ("cnn", "sgd", "lstm"):
        space: dict = {"np": np}
        for source in engine.run(lesson).prelude:
            exec(compile(source, lesson, "exec"), space)
        assert any(callable(value) for name, value in space.items() if name != "np"), lesson


def test_a_batched_loss_gives_the_differences_of_one_point_at_a_time(monkeypatch):
    """A check's `losses` takes many moved points at once, BATCH numbers at most a call:
    the differences are the same as with `loss` alone, whatever the batch size."""
    from dlsteps import checks

    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 3.0]]).reshape(3, 3)
    x = np.array([[0.3, -1.2, 2.0], [0.1, 0.0, -0.7]])
    loss = lambda v: float(np.sum(np.tanh(v @ A) ** 2))
    losses = lambda vs: np.sum(np.tanh(vs @ A) ** 2, axis=(-2, -1))
    alone = finite_differences(GradientCheck(loss, x))
    calls = []
    for size in (7, 20, 1 << 18):
        monkeypatch.setattr(checks, "BATCH", size)
        counted = lambda vs: calls.append(len(vs)) or losses(vs)
        batched = finite_differences(GradientCheck(loss, x, losses=counted))
        assert np.allclose(batched[0], alone[0], rtol=1e-12) and np.allclose(batched[1], alone[1], rtol=1e-6, atol=1e-12)
    assert calls == [1] * 36 + [3] * 12 + [36]  # 6 moves of 6 entries: one, three, all at a time
    exact = 2 * (np.tanh(x @ A) / np.cosh(x @ A) ** 2) @ A.T
    assert np.allclose(alone[0], exact, rtol=1e-8)


@pytest.mark.parametrize("lesson", ["cnn", "seq2seq"])
def test_every_batched_loss_of_a_lesson_is_its_loss_point_by_point(lesson):
    """Where a lesson hands the finite differences a batched loss (GradientCheck.losses),
    it gives, version by version, what the loss gives one point at a time, for moves in
    every entry at once."""
    from dlsteps import engine

    rng = np.random.default_rng(7)
    checks = [step.gradient for step in engine.run(lesson).steps() if step.gradient is not None and step.gradient.losses]
    assert len(checks) >= 4
    for check_ in checks:
        point = np.asarray(check_.point, dtype=float)
        moved = point + rng.normal(scale=1e-2, size=(4, *point.shape))
        assert np.allclose(check_.losses(moved), [check_.loss(x) for x in moved], rtol=1e-12, atol=1e-14)


def test_the_code_of_every_formula_is_what_doprint_writes(monkeypatch):
    """checks._code prints a formula without `doprint` (which imports sympy.codegen): the
    same code, for every formula of every lesson, with its arguments named as _source
    names them, and for a constant, which doprint would declare were it not written in
    place; a formula it cannot print is refused, not half written."""
    from dlsteps import catalogue, checks, engine

    written = []
    monkeypatch.setattr(checks, "_code", lambda formula: written.append((formula, dict(checks._PRINTER.arguments))) or checks._PRINTER.doprint(formula))
    checks._COMPILED.clear()
    for lesson in catalogue.names():
        engine.run(lesson)
    monkeypatch.undo()
    assert len(written) > 400
    for formula, arguments in written:
        checks._PRINTER.arguments = arguments
        try:
            assert checks._code(formula) == checks._PRINTER.doprint(formula), formula
        finally:
            checks._PRINTER.arguments = {}
    x = sp.Symbol("x")
    assert checks._code(sp.EulerGamma * x) == checks._PRINTER.doprint(sp.EulerGamma * x) == "x*euler_gamma"
    with pytest.raises(Exception, match="Unsupported"):
        checks._code(sp.Integral(x, x))
