"""The linear block: forward pass, MSE, gradients, updates and tables against a NumPy
reference written here, finite differences, two uses in one derivation, any size."""

import numpy as np
import pytest
import sympy as sp

from conftest import central_difference
from dlsteps.blocks import linear
from dlsteps.blocks.symbols import H, n
from dlsteps.checks import check
from dlsteps.model import Derivation


def reference(x, y, w, b, lr, steps, rule):
    """Independent NumPy: T gradient steps of the MSE (mean, no 1/2), row by row."""
    ws, bs, gs, gbs = [np.array(w, float)], [float(b)], [], []
    for _ in range(steps):
        r = x @ ws[-1] + bs[-1] - y
        g = np.array([2 * np.mean(r * x[:, q]) for q in range(x.shape[1])])
        gb = 2 * np.mean(r)
        gs.append(g)
        gbs.append(gb)
        ws.append(rule(ws[-1], g))
        bs.append(bs[-1] - lr * gb)
    return np.array(ws), np.array(bs), np.array(gs), np.array(gbs)


def build(x, y, w, b=0.3, lr=0.05, steps=4, *, d=None, at="", names=None, table_names=None, tag="", sizes={}, batch=None):
    d = d or Derivation("test", "t", "l")
    suffix = at.rstrip(".")
    inputs = {key: d.given(f"{at}{key}", sp.IndexedBase(f"{key}{suffix}"), np.array(value, float), var=f"{key}{suffix}")
              for key, value in (("x", x), ("y", y), ("w", w))}
    bias = None if b is None else d.given(f"{at}b", sp.Symbol(f"b{suffix}"), b, var=f"b{suffix}")
    eta = d.given(f"{at}lr", sp.Symbol(f"eta{suffix}"), lr, var=f"lr{suffix}")
    count = d.given(f"{at}steps", sp.Symbol(f"T{suffix}"), steps, var=f"T{suffix}")
    d.section("s")
    lin = linear.forward(d, inputs["x"], inputs["y"], inputs["w"], bias, at=at, names=names, **sizes)
    picked = linear.mini_batch(d, batch, at=at, names={"batch": f"batch{suffix}"}) if batch is not None else None
    loss = linear.mse(d, lin, at=at, names=names, batch=picked)
    grads = linear.gradients(d, lin, loss, at=at, names=names, batch=picked)
    rule = linear.descent(eta)
    step = linear.update(d, inputs["w"], grads.w, rule, id="update_w", at=at, var=f"w_new{suffix}", lhs=sp.Symbol(f"w'{suffix}"))
    tab = linear.table(d, lin, rule, count, eta, at=at, tag=tag, names=table_names)
    return check(d), lin, loss, grads, step, tab


X = np.array([[1, 1], [2, -1], [3, 1]], float)
Y = np.array([3, 5, 7], float)
W = np.array([1.5, 0.2])


def test_forward_loss_gradients_and_table_match_the_reference():
    d, lin, loss, grads, step, tab = build(X, Y, W, b=0.5, lr=0.05, steps=5)
    r = X @ W + 0.5 - Y
    assert np.allclose(lin.prediction.value, [2.2, 3.3, 5.2])  # by hand: 1.5 + 0.2 + 0.5, ...
    assert loss.value == pytest.approx(np.mean(r**2))
    mse = lambda w, b: np.mean((X @ w + b - Y) ** 2)
    assert np.allclose(grads.w.value, central_difference(lambda v: mse(v, 0.5), W), atol=1e-6)
    assert grads.b.value == pytest.approx(float(central_difference(lambda v: mse(W, v), 0.5)), abs=1e-6)
    assert np.allclose(step.value, W - 0.05 * grads.w.value)
    ws, bs, gs, gbs = reference(X, Y, W, 0.5, 0.05, 5, lambda w, g: w - 0.05 * g)
    assert np.allclose(tab.weights.value, ws) and np.allclose(tab.biases.value, bs)
    assert np.allclose(tab.gradients.value, gs) and np.allclose(tab.bias_gradients.value, gbs)
    assert all(s.check for s in d.steps())
    assert "finite differences" in " ".join(tab.gradients.check + tab.bias_gradients.check)


def test_a_caller_given_rule_drives_the_table():
    d = Derivation("test", "t", "l")
    rule = linear.Rule(lambda w, g: sp.Rational(9, 10) * w - sp.Rational(1, 10) * g, lambda w, g: 0.9 * w - 0.1 * g, "0.9 * {w} - 0.1 * {g}")
    x = d.given("x", sp.IndexedBase("x"), X)
    y = d.given("y", sp.IndexedBase("y"), Y)
    w = d.given("w", sp.IndexedBase("w"), W)
    b = d.given("b", sp.Symbol("b"), 0.5)
    lr = d.given("lr", sp.Symbol("eta"), 0.1, var="lr")
    steps = d.given("steps", sp.Symbol("T"), 3)
    d.section("s")
    lin = linear.forward(d, x, y, w, b)
    tab = linear.table(d, lin, rule, steps, lr)
    check(d)
    ws, bs, _, _ = reference(X, Y, W, 0.5, 0.1, 3, lambda w, g: 0.9 * w - 0.1 * g)
    assert np.allclose(tab.weights.value, ws) and np.allclose(tab.biases.value, bs)


def test_without_bias():
    d, lin, loss, grads, step, tab = build(X, Y, W, b=None, steps=3)
    assert grads.b is None and tab.biases is None and tab.bias_gradients is None
    assert np.allclose(lin.prediction.value, X @ W)
    ws, bs, gs, _ = reference(X, Y, W, 0.0, 0.0, 3, lambda w, g: w - 0.05 * g)
    assert np.allclose(tab.weights.value, ws) and np.allclose(tab.gradients.value, gs)


def test_mini_batch_averages_over_the_chosen_samples():
    x = np.array([[1, 0], [0, 2], [1, 1], [3, -1]], float)
    y = np.array([1, 2, 0, -1], float)
    w = np.array([0.2, -0.4])
    d, lin, loss, grads, _, _ = build(x, y, w, b=0.1, steps=1, batch=[0, 3])
    rows = [0, 3]
    mse = lambda v, b: np.mean((x[rows] @ v + b - y[rows]) ** 2)
    assert loss.value == pytest.approx(mse(w, 0.1))
    assert np.allclose(grads.w.value, central_difference(lambda v: mse(v, 0.1), w), atol=1e-6)
    assert grads.b.value == pytest.approx(float(central_difference(lambda v: mse(w, v), 0.1)), abs=1e-6)
    assert "finite differences" in grads.w.check


def test_used_twice_in_one_derivation():
    d = Derivation("test", "t", "l")
    first = build(X, Y, W, d=d, at="a.", tag="")
    names = {"yhat": ("yhat2", "ŷ₂", r"\hat{y}_2"), "r": "r2", "mse": "MSE2", "g": "g2", "g_b": "g_b2"}
    table_names = {"weights": "W2", "biases": "B2", "gradients": "G2", "bias_gradients": "G_b2"}
    x2, y2 = np.array([[0.5], [1.0], [-2.0], [0.0]]), np.array([1.0, 2.0, -1.0, 0.5])
    second = build(x2, y2, [0.1], b=-0.2, lr=0.1, steps=2, d=d, at="b.", names=names, table_names=table_names,
                   sizes={"samples": n, "features": H})
    check(d)
    ids = [s.id for s in d.steps()]
    assert len(ids) == len(set(ids)) and "a.prediction" in ids and "b.weights" in ids
    ws, *_ = reference(x2, y2, [0.1], -0.2, 0.1, 2, lambda w, g: w - 0.1 * g)
    assert np.allclose(second[5].weights.value, ws)
    assert first[5].weights.symbol != second[5].weights.symbol


def test_formulas_are_the_same_at_a_small_and_a_large_size():
    rng = np.random.default_rng(0)
    small = build(X, Y, W, steps=3)[0]
    large = build(rng.normal(size=(40, 12)), rng.normal(size=40), rng.normal(size=12) * 0.1, lr=0.01, steps=30)[0]
    assert [s.id for s in small.steps()] == [s.id for s in large.steps()]
    for a, b in zip(small.steps(), large.steps()):
        assert a.formula == b.formula, a.id


def test_predictions_print_the_bias_last():
    from dlsteps.printers.formulas import unicode

    d, lin, *_ = build(X, Y, W, b=0.5)
    assert "wₖ⋅xₛₖ + b" in unicode(lin.prediction.formula, d.names)  # ŷ_s = Σ_k w_k x_sk + b
    assert "Wₜₖ⋅xₛₖ + Bₜ - yₛ⎟⋅xₛⱼ" in unicode(d["gradients"].formula, d.names)  # (ŷ - y) x, as ∂MSE/∂w_j
    residual = linear.residual_expr(lin.x.symbol, lambda q: lin.w.symbol[q], 0, lin.y.symbol, sp.Symbol("s"), lin.features)
    assert "wₖ⋅xₛₖ - yₛ" in unicode(residual)
