"""The normalization block: batch norm forward and backward, running statistics and layer
norm, built into derivations by hand, checked by the engine, and compared with a NumPy
reference and central differences written here (not the block's own math)."""

import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import central_difference
from dlsteps.blocks import normalization as norm
from dlsteps.checks import check
from dlsteps.model import Caution, Derivation

# ---- an independent reference, written apart from the block ------------------------------


def ref_batch_norm(x, gamma, beta, eps):
    """Ioffe & Szegedy (2015), Algorithm 1, one feature (column) at a time with Python sums."""
    x = np.asarray(x, float)
    rows, cols = x.shape
    y, xhat = np.empty_like(x), np.empty_like(x)
    means, variances = [], []
    for c in range(cols):
        column = [float(v) for v in x[:, c]]
        mean = sum(column) / rows
        var = sum((v - mean) ** 2 for v in column) / rows
        for r in range(rows):
            xhat[r, c] = (column[r] - mean) / (var + eps) ** 0.5
            y[r, c] = gamma[c] * xhat[r, c] + beta[c]
        means.append(mean)
        variances.append(var)
    return np.array(means), np.array(variances), xhat, y


def ref_backward(x, gamma, eps, g):
    """The paper's §3 chain rule, written with explicit loops over the batch."""
    x, g = np.asarray(x, float), np.asarray(g, float)
    rows, cols = x.shape
    mean, var, xhat, _ = ref_batch_norm(x, gamma, np.zeros(cols), eps)
    dx = np.empty_like(x)
    for c in range(cols):
        dxhat = [g[r, c] * gamma[c] for r in range(rows)]
        dvar = sum(dxhat[r] * (x[r, c] - mean[c]) * -0.5 * (var[c] + eps) ** -1.5 for r in range(rows))
        dmean = sum(-dxhat[r] / (var[c] + eps) ** 0.5 for r in range(rows)) + dvar * sum(-2 * (x[r, c] - mean[c]) for r in range(rows)) / rows
        for r in range(rows):
            dx[r, c] = dxhat[r] / (var[c] + eps) ** 0.5 + dvar * 2 * (x[r, c] - mean[c]) / rows + dmean / rows
    return {"gamma": (g * xhat).sum(axis=0), "beta": g.sum(axis=0), "x": dx}


def ref_layer_norm(x, eps, gamma=None, beta=None):
    out = []
    for row in np.asarray(x, float):
        mean = sum(row) / len(row)
        var = sum((v - mean) ** 2 for v in row) / len(row)
        out.append([(v - mean) / np.sqrt(var + eps) for v in row])
    out = np.array(out)
    return out * (1 if gamma is None else np.asarray(gamma)) + (0 if beta is None else np.asarray(beta))


def whole_loss(x, gamma, beta, eps, g):
    return float((np.asarray(g) * ref_batch_norm(x, gamma, beta, eps)[3]).sum())


# ---- building derivations with the block ---------------------------------------------------


def derivation():
    d = Derivation("test", "test", "test")
    d.section("test")
    return d


def inputs(d, x, gamma, beta, g, eps, tag=""):
    X = d.given(f"x{tag}", sp.IndexedBase(f"x{tag}"), np.asarray(x, float))
    G = d.given(f"gamma{tag}", sp.IndexedBase(f"gamma{tag}"), np.asarray(gamma, float))
    Bt = d.given(f"beta{tag}", sp.IndexedBase(f"beta{tag}"), np.asarray(beta, float))
    U = d.given(f"g{tag}", sp.IndexedBase(f"g{tag}"), np.asarray(g, float))
    E = d.given(f"eps{tag}", sp.Symbol(f"epsilon{tag}"), float(eps))
    return X, G, Bt, U, E


def batch(x, gamma, beta, g, eps=1e-5, momentum=0.1, running=None):
    """Batch norm forward, backward, running statistics and eval, by the block; checked."""
    d = derivation()
    X, G, Bt, U, E = inputs(d, x, gamma, beta, g, eps)
    cols = np.shape(x)[1]
    mean0, var0 = running or (np.zeros(cols), np.ones(cols))
    M = d.given("m", sp.Symbol("m_mom"), float(momentum))
    R = d.given("rm", sp.IndexedBase("rm"), np.asarray(mean0, float))
    V = d.given("rv", sp.IndexedBase("rv"), np.asarray(var0, float))
    bn = norm.batch_norm(d, X, G, Bt, E)
    grads = norm.batch_norm_backward(d, bn, U)
    run = norm.running_statistics(d, bn, R, V, M)
    norm.batch_norm_eval(d, bn, run)
    return check(d), bn, grads, run


X0 = [[2, 10], [4, 6], [6, 7], [8, 13]]
G0 = [[0.1, -0.2], [-0.3, 0.4], [0.2, 0.1], [0.4, -0.3]]


def test_forward_and_backward_against_the_reference():
    gamma, beta = np.array([1.5, -0.5]), np.array([0.2, 1.0])
    d, bn, grads, _ = batch(X0, gamma, beta, G0)
    mean, var, xhat, y = ref_batch_norm(X0, gamma, beta, 1e-5)
    assert np.allclose(bn.mean.value, mean, rtol=1e-14) and np.allclose(bn.var.value, var, rtol=1e-14)
    assert np.allclose(bn.xhat.value, xhat, rtol=1e-13) and np.allclose(bn.y.value, y, rtol=1e-13)
    ref = ref_backward(X0, gamma, 1e-5, G0)
    assert np.allclose(grads.gamma.value, ref["gamma"], rtol=1e-12)
    assert np.allclose(grads.beta.value, ref["beta"], rtol=1e-12, atol=1e-15)
    assert np.allclose(grads.x.value, ref["x"], rtol=1e-10, atol=1e-14)
    assert np.allclose(grads.x_paper.value, ref["x"], rtol=1e-10, atol=1e-14)
    assert np.allclose(grads.xhat.value, np.array(G0) * gamma)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_are_finite_differences_of_the_whole_batch_loss(seed):
    rng = np.random.default_rng(seed)
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    gamma, beta, eps = rng.uniform(0.5, 2, 3), rng.normal(size=3), 1e-3
    d, bn, grads, _ = batch(x, gamma, beta, g, eps)
    numeric_x = central_difference(lambda p: whole_loss(p, gamma, beta, eps, g), x)
    assert np.allclose(grads.x.value, numeric_x, rtol=1e-6, atol=1e-8)
    assert np.allclose(grads.gamma.value, central_difference(lambda p: whole_loss(x, p, beta, eps, g), gamma), rtol=1e-6, atol=1e-8)
    assert np.allclose(grads.beta.value, central_difference(lambda p: whole_loss(x, gamma, p, eps, g), beta), rtol=1e-6, atol=1e-8)
    # ∂L/∂x is not g γ / √(σ² + ε): the batch statistics move with x.
    assert not np.allclose(grads.x.value, g * gamma / np.sqrt(x.var(axis=0) + eps), atol=1e-3)
    assert all("finite differences" in " ".join(step.check) for step in d.steps() if step.id.startswith("grad_"))


def test_intermediate_gradients_by_finite_differences():
    gamma, beta, eps = np.array([1.5, -0.5]), np.array([0.2, 1.0]), 1e-5
    x, g = np.array(X0, float), np.array(G0)
    _, bn, grads, _ = batch(x, gamma, beta, g, eps)
    mean = x.mean(axis=0)
    of_var = lambda v: float((g * (gamma * (x - mean) / np.sqrt(v + eps) + beta)).sum())
    of_mean = lambda mu: float((g * (gamma * (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=0) + eps) + beta)).sum())
    assert np.allclose(grads.var.value, central_difference(of_var, x.var(axis=0)), rtol=1e-6)
    assert np.allclose(grads.mean.value, central_difference(of_mean, mean), rtol=1e-6, atol=1e-9)


def test_hand_calculation():
    # x = (2, 4, 6, 8) in feature 0: μ = 20/4 = 5; σ² = (9 + 1 + 1 + 9)/4 = 5 (biased);
    # x̂_00 = -3/√(5 + 1e-5) = -1.3416394; with γ = 2, β = 1: y_00 = 2(-1.3416394) + 1 = -1.6832788.
    # Unbiased s² = 4/3 · 5 = 6.6667; PyTorch running_var = 0.9 · 1 + 0.1 · 6.6667 = 1.5666667,
    # running_mean = 0.9 · 0 + 0.1 · 5 = 0.5. ∂L/∂β_0 = 0.1 - 0.3 + 0.2 + 0.4 = 0.4.
    _, bn, grads, run = batch(X0, [2.0, 1.0], [1.0, 0.0], G0)
    assert bn.mean.value[0] == 5 and bn.var.value[0] == 5
    assert bn.xhat.value[0, 0] == pytest.approx(-1.3416394, abs=1e-7)
    assert bn.y.value[0, 0] == pytest.approx(-1.6832788, abs=1e-7)
    assert run.unbiased.value[0] == pytest.approx(20 / 3)
    assert run.var.value[0] == pytest.approx(0.9 + 2 / 3)
    assert run.var_biased.value[0] == pytest.approx(0.9 + 0.5)
    assert run.mean.value[0] == pytest.approx(0.5)
    assert grads.beta.value[0] == pytest.approx(0.4)


def test_running_statistics_as_pytorch():
    # PyTorch BatchNorm1d (train mode): running_mean = (1 - m) running_mean + m μ,
    # running_var = (1 - m) running_var + m · var(x, unbiased=True); eval normalizes with them.
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, 0.25], [-1.0, 4.0, 2.0]])
    mean0, var0, m = np.array([0.3, -0.1, 0.0]), np.array([2.0, 0.5, 1.0]), 0.25
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 0.3])
    d, bn, _, run = batch(x, gamma, beta, np.ones_like(x), 1e-5, m, (mean0, var0))
    unbiased = np.array([sum((v - c.mean()) ** 2 for v in c) / (len(c) - 1) for c in x.T])
    assert np.allclose(run.unbiased.value, unbiased)
    assert np.allclose(run.mean.value, (1 - m) * mean0 + m * x.mean(axis=0))
    assert np.allclose(run.var.value, (1 - m) * var0 + m * unbiased)
    assert np.allclose(run.var_biased.value, (1 - m) * var0 + m * x.var(axis=0))
    running_mean, running_var = run.mean.value, run.var.value
    assert np.allclose(d.find("eval").value, gamma * (x - running_mean) / np.sqrt(running_var + 1e-5) + beta)


def test_used_twice_in_one_derivation_with_layer_norm():
    d = derivation()
    X, G, Bt, U, E = inputs(d, X0, [1, 1], [0, 0], G0, 1e-5)
    X2, G2, B2, U2, E2 = inputs(d, [[1, 2, 3], [0, 0.5, -1]], [1, 2, 3], [0, 0, 1], [[0] * 3] * 2, 1e-3, tag="2")
    first = norm.batch_norm(d, X, G, Bt, E)
    norm.batch_norm_backward(d, first, U)
    rows, cols = sp.symbols("B_2 d_2", integer=True, positive=True)
    second = norm.batch_norm(d, X2, G2, B2, E2, at="b2.", names={"mu": "mu2", "var": "var2", "xhat": "xhat2", "y": "y2"},
                             rows=rows, features=cols)
    norm.batch_norm_backward(d, second, U2, at="b2.", names={"L": "L2", "beta": "db2", "gamma": "dg2", "xhat": "dxh2",
                                                             "var": "dv2", "mu": "dm2", "x": "dx2"})
    ln = norm.layer_norm(d, X2, G2, B2, eps=E2, at="ln.", names={"mu": "mu3", "var": "var3", "xhat": "xhat3", "y": "y3"},
                         features=cols)
    check(d)
    assert second.y.id == "b2.scale_shift" and ln.y.id == "ln.scale_shift"
    assert np.allclose(second.y.value, ref_batch_norm([[1, 2, 3], [0, 0.5, -1]], [1, 2, 3], [0, 0, 1], 1e-3)[3])
    assert np.allclose(ln.output.value, ref_layer_norm([[1, 2, 3], [0, 0.5, -1]], 1e-3, [1, 2, 3], [0, 0, 1]))
    assert set(d.find("b2.grad_x").depends_on) == {"eps2", "b2.normalize", "b2.variance", "b2.grad_xhat"}
    assert all(step.concept.startswith("normalization.") for step in d.steps())


@pytest.mark.parametrize("with_gamma, with_beta", [(False, False), (True, False), (False, True), (True, True)])
def test_layer_norm_against_the_reference(with_gamma, with_beta):
    x = np.array([[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 0.5, 0.5], [3.0, -3.0, 1.0, 0.0]])
    gamma, beta = np.array([1.0, 0.5, 2.0, -1.0]), np.array([0.1, 0.2, 0.3, 0.4])
    d = derivation()
    X = d.given("x", sp.IndexedBase("x"), x)
    G = d.given("gamma", sp.IndexedBase("gamma"), gamma) if with_gamma else None
    Bt = d.given("beta", sp.IndexedBase("beta"), beta) if with_beta else None
    ln = norm.layer_norm(d, X, G, Bt, eps=1e-5)
    check(d)
    assert np.allclose(ln.mean.value, x.mean(axis=1)) and np.allclose(ln.var.value, x.var(axis=1))
    expected = ref_layer_norm(x, 1e-5, gamma if with_gamma else None, beta if with_beta else None)
    assert np.allclose(ln.output.value, expected, rtol=1e-13, atol=1e-15)
    assert (ln.y is None) == (not with_gamma and not with_beta)
    assert any("row t = 1" in note for note in ln.var.notes)  # the constant row: σ² = 0, x̂ = 0
    assert np.all(ln.xhat.value[1] == 0)


def test_same_formulas_at_any_size():
    rng = np.random.default_rng(3)

    def formulas(rows, cols):
        x, g = rng.normal(size=(rows, cols)), rng.normal(size=(rows, cols))
        d, *_ = batch(x, np.ones(cols), np.zeros(cols), g)
        return [(s.id, s.formula) for s in d.steps()]

    assert formulas(3, 2) == formulas(40, 16)


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(2, 6), cols=st.integers(1, 3), data=st.data(), eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_a_feature_with_zero_variance_stays_finite(rows, cols, data, eps):
    values = st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 2))
    x = np.array(data.draw(st.lists(st.lists(values, min_size=cols, max_size=cols), min_size=rows, max_size=rows)))
    x[:, 0] = data.draw(values)  # feature 0 holds one value: σ² = 0
    g = np.array(data.draw(st.lists(st.lists(values, min_size=cols, max_size=cols), min_size=rows, max_size=rows)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d, bn, grads, _ = batch(x, np.ones(cols), np.zeros(cols), g, eps)
    for step in d.steps():
        assert np.all(np.isfinite(step.value)), step.id
    assert np.all(bn.xhat.value[:, 0] == pytest.approx(0, abs=1e-9))
    assert any("feature j = 0" in note for note in bn.var.notes)
    assert np.allclose(grads.x.value, ref_backward(x, np.ones(cols), eps, g)["x"], rtol=1e-8, atol=1e-8)


def test_a_constant_feature_gives_cautions_and_the_running_averages_remarks():
    x = np.array([[1.0, 2.0], [1.0, 5.0], [1.0, -1.0]])  # feature 0 holds one value: σ² = 0
    d, bn, grads, run = batch(x, [1.0, 2.0], [0.0, 1.0], np.ones_like(x))
    (constant,), (pole,) = bn.var.notes, grads.var.notes
    assert isinstance(constant, Caution) and "feature j = 0" in constant
    assert isinstance(pole, Caution) and "not taken" in pole
    (unit,) = bn.xhat.notes
    remarks = unit, *bn.y.notes, *grads.x.notes, *run.mean.notes, *run.var.notes, *run.var_biased.notes, *d.find("eval").notes
    assert len(remarks) == 7 and not any(isinstance(note, Caution) for note in remarks)
    _d, plain, plain_grads, _run = batch(X0, [1.0, 1.0], [0.0, 0.0], G0)
    assert plain.var.notes == () and plain_grads.var.notes == ()


def test_formulas_read_as_the_paper_and_pytorch_write_them():
    from dlsteps.printers.formulas import unicode

    d, bn, grads, run = batch(X0, [1.0, 1.0], [0.0, 0.0], G0)
    shown = {s.id: unicode(s.formula, d.names) for s in d.steps()}
    for step in ("normalize", "grad_var", "grad_mean", "grad_x_paper", "grad_x", "eval"):
        assert "+ ε" in shown[step] and "ε +" not in shown[step], step  # √(σ² + ε), variance first
    assert "-2⋅(x_bj - μⱼ)" in shown["grad_mean"]
    # the second batch index is k, which has a Unicode subscript: the one formula fits in 80 columns
    assert "∂L/∂x̂ₖⱼ⋅x̂ₖⱼ" in shown["grad_x"] and "ʹ" not in shown["grad_x"]
    assert max(len(line) for line in shown["grad_x"].splitlines()) < 70
    terms = shown["grad_x"].splitlines()[4]
    assert terms.index("∂L/∂x̂ₖⱼ ") < terms.index("x̂_bj⋅")  # B g - Σ_k g_k - x̂ Σ_k g_k x̂_k, as the paper
    assert shown["update_running_mean"] == "(1 - mₘₒₘ)⋅rmⱼ + mₘₒₘ⋅μⱼ"  # PyTorch: (1 - m) μ̄ + m μ
    assert shown["scale_shift"] == "γⱼ⋅x̂_bj + βⱼ" and shown["eval"].splitlines()[1].rstrip().endswith("+ βⱼ")
