"""Blocks activations, dense and losses: built into small derivations by hand, checked by
the engine, and compared with a NumPy reference and central differences written here."""

import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conftest import central_difference
from dlsteps.blocks import activations as act
from dlsteps.blocks import dense, losses
from dlsteps.checks import check
from dlsteps.errors import LessonError
from dlsteps.model import Caution, Derivation, GradientCheck

# ---- an independent reference, written apart from the blocks ----------------------------


def ref_sigmoid(z):
    z = np.asarray(z, float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    out[~pos] = np.exp(z[~pos]) / (1 + np.exp(z[~pos]))
    return out


REF_F = {"sigmoid": ref_sigmoid, "tanh": np.tanh, "relu": lambda z: np.where(np.asarray(z) > 0, z, 0.0)}


def ref_network(x, W1, b1, W2, b2, t, f1="sigmoid", f2="sigmoid"):
    """Forward and half-sse loss of a two-layer net: returns (h, o, loss)."""
    h = REF_F[f1](W1 @ x + b1)
    o = REF_F[f2](W2 @ h + b2)
    return h, o, 0.5 * float(((t - o) ** 2).sum())


def ref_loss(kind, o, t):
    e = (np.asarray(t, float) - np.asarray(o, float)) ** 2
    return {"half-sse": 0.5 * e.sum(), "sse": e.sum(), "mse": e.sum() / e.size}[kind]


def ref_bce(o, t):
    o, t = np.atleast_1d(np.asarray(o, float)), np.atleast_1d(np.asarray(t, float))
    return -sum(ti * np.log(oi) + (1 - ti) * np.log(1 - oi) for oi, ti in zip(o, t)) / len(o)


# ---- building derivations with the blocks -----------------------------------------------


def derivation():
    d = Derivation("test", "test", "test")
    d.section("test")
    return d


def vec(d, name, value):
    value = np.asarray(value, float)
    return d.given(name, sp.IndexedBase(name) if value.ndim else sp.Symbol(name), value if value.ndim else float(value))


def two_layer(x, W1, b1, W2, b2, t, lr, f1="sigmoid", f2="sigmoid", full_checks=False):
    """x -> dense -> f1 -> dense -> f2 -> half-sse, backward and one update, by blocks."""
    d = derivation()
    X, A, B, C, E, T = (vec(d, n, v) for n, v in (("x", x), ("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2), ("t", t)))
    eta = d.given("lr", sp.Symbol("eta"), lr)
    l1 = dense.forward(d, A, X, B, at="h.", names={"z": "z1"})
    a1 = act.activate(d, l1.z, f1, at="h.", names={"a": "a1"})
    l2 = dense.forward(d, C, a1, E, at="o.", names={"z": "z2"})
    a2 = act.activate(d, l2.z, f2, at="o.", names={"a": "a2"})
    loss = losses.squared_error(d, a2, T, "half-sse")
    p2 = act.derivative(d, l2.z, a2, f2, at="o.", names={"da": "s2"})
    d2 = act.delta(d, loss.gradient, l2.z, p2, f2, at="o.", names={"delta": "delta2"})
    g2 = dense.backward(d, l2, d2, at="o.", checks=whole_loss_checks(x, W1, b1, W2, b2, t, f1, f2, "2") if full_checks else None)
    p1 = act.derivative(d, l1.z, a1, f1, at="h.", names={"da": "s1"})
    d1 = act.delta(d, g2.x, l1.z, p1, f1, at="h.", names={"delta": "delta1"})
    g1 = dense.backward(d, l1, d1, at="h.", input_grad=False,
                        checks=whole_loss_checks(x, W1, b1, W2, b2, t, f1, f2, "1") if full_checks else None)
    dense.update_layer(d, l2, g2, eta, at="o.")
    dense.update_layer(d, l1, g1, eta, at="h.")
    return check(d)


def whole_loss_checks(x, W1, b1, W2, b2, t, f1, f2, layer):
    """GradientChecks of the whole network loss, as a lesson would supply them."""
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    def by(name):
        def loss(point):
            p = {**params, name: point}
            return ref_network(x, p["W1"], p["b1"], p["W2"], p["b2"], t, f1, f2)[2]
        return GradientCheck(loss, np.asarray(params[name], float))

    return {"W": by("W" + layer), "b": by("b" + layer)}


MAZUR = dict(x=np.array([0.05, 0.10]), W1=np.array([[0.15, 0.20], [0.25, 0.30]]), b1=0.35,
             W2=np.array([[0.40, 0.45], [0.50, 0.55]]), b2=0.60, t=np.array([0.01, 0.99]), lr=0.5)


def test_matt_mazur_step_by_step_backpropagation_example():
    # Matt Mazur, "A Step by Step Backpropagation Example" (2015): 2-2-2 sigmoid net with
    # one bias per layer shared by its neurons, E = Σ 1/2 (target - output)², η = 0.5.
    # Published: out_h1 = 0.593269992, out_o1 = 0.75136507, E_total = 0.298371109,
    # ∂E/∂w5 = 0.082167041, w5⁺ = 0.35891648, w6⁺ = 0.408666186, w7⁺ = 0.511301270,
    # w8⁺ = 0.561370121, w1⁺ = 0.149780716, w2⁺ = 0.19956143, w3⁺ = 0.24975114, w4⁺ = 0.29950229.
    d = two_layer(**MAZUR, full_checks=True)
    assert d["h.activation"].value[0] == pytest.approx(0.593269992, abs=1e-9)
    assert d["o.activation"].value[0] == pytest.approx(0.75136507, abs=1e-8)
    assert d["loss"].value == pytest.approx(0.298371109, abs=1e-9)
    assert d["o.dL_dW"].value[0, 0] == pytest.approx(0.082167041, abs=1e-9)
    assert np.allclose(d["o.update_W"].value, [[0.35891648, 0.408666186], [0.511301270, 0.561370121]], atol=1e-8)
    assert np.allclose(d["h.update_W"].value, [[0.149780716, 0.19956143], [0.24975114, 0.29950229]], atol=1e-8)
    # the shared bias gets the sum of the deltas, and is updated too (Mazur leaves it)
    assert d["o.dL_db"].value == pytest.approx(d["o.delta"].value.sum())
    assert d["o.update_b"].value == pytest.approx(0.6 - 0.5 * d["o.delta"].value.sum())


def test_every_step_is_paired_ran_and_checked():
    d = two_layer(**MAZUR)
    for step in d.steps():
        assert "formula = NumPy" in step.check and "code ran" in step.check, step.id
    gradient_steps = [s for s in d.steps() if s.id.split(".")[-1] in {"gradient", "derivative", "delta", "dL_dW", "dL_db", "dL_dx"}]
    assert len(gradient_steps) == 10
    assert all("finite differences" in s.check for s in gradient_steps)
    assert [s.id for s in d.steps()] == [
        "h.linear", "h.activation", "o.linear", "o.activation", "loss", "gradient", "o.derivative", "o.delta",
        "o.dL_dW", "o.dL_db", "o.dL_dx", "h.derivative", "h.delta", "h.dL_dW", "h.dL_db",
        "o.update_W", "o.update_b", "h.update_W", "h.update_b"]


@pytest.mark.parametrize("f1,f2", [("sigmoid", "sigmoid"), ("tanh", "sigmoid"), ("relu", "tanh")])
@pytest.mark.parametrize("seed", [0, 1])
def test_against_reference_and_own_central_differences(f1, f2, seed):
    rng = np.random.default_rng(seed)
    x, t = rng.normal(size=3), rng.uniform(size=2)
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2)
    d = two_layer(x, W1, b1, W2, b2, t, 0.1, f1, f2)
    h, o, loss = ref_network(x, W1, b1, W2, b2, t, f1, f2)
    assert np.allclose(d["h.activation"].value, h) and np.allclose(d["o.activation"].value, o)
    assert d["loss"].value == pytest.approx(loss, rel=1e-12)
    grads = {name: central_difference(lambda p, name=name: ref_network(
        x, *[p if n == name else v for n, v in zip(("W1", "b1", "W2", "b2"), (W1, b1, W2, b2))], t, f1, f2)[2],
        {"W1": W1, "b1": b1, "W2": W2, "b2": b2}[name]) for name in ("W1", "b1", "W2", "b2")}
    assert np.allclose(d["h.dL_dW"].value, grads["W1"], atol=1e-7)
    assert np.allclose(d["h.dL_db"].value, grads["b1"], atol=1e-7)
    assert np.allclose(d["o.dL_dW"].value, grads["W2"], atol=1e-7)
    assert np.allclose(d["o.dL_db"].value, grads["b2"], atol=1e-7)
    assert np.allclose(d["o.update_W"].value, W2 - 0.1 * grads["W2"], atol=1e-8)
    assert np.allclose(d["h.update_b"].value, b1 - 0.1 * grads["b1"], atol=1e-8)


def test_formulas_identical_at_small_and_large_sizes():
    rng = np.random.default_rng(3)
    small = two_layer(rng.normal(size=2), rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=(2, 2)),
                      rng.normal(size=2), rng.uniform(size=2), 0.5)
    large = two_layer(rng.normal(size=64), rng.normal(size=(32, 64)) / 8, rng.normal(size=32), rng.normal(size=(10, 32)) / 6,
                      rng.normal(size=10), rng.uniform(size=10), 0.5)
    assert [s.id for s in small.steps()] == [s.id for s in large.steps()]
    for a, b in zip(small.steps(), large.steps()):
        assert str(a.formula) == str(b.formula) and a.code == b.code, a.id
    assert large["h.dL_dW"].value.shape == (32, 64)


def test_relu_exactly_at_zero_uses_derivative_zero_and_says_so():
    d = derivation()
    z = vec(d, "z", [-1.0, 0.0, 2.0])
    g = vec(d, "g", [1.0, 1.0, 1.0])
    a = act.activate(d, z, "relu")
    p = act.derivative(d, z, a, "relu")
    delta = act.delta(d, g, z, p, "relu")
    check(d)
    assert np.array_equal(p.value, [0.0, 0.0, 1.0]) and np.array_equal(delta.value, [0.0, 0.0, 1.0])
    assert any("exactly 0" in note and "PyTorch" in note for note in p.notes)
    assert "PyTorch" in p.explanation
    assert "finite differences (not across a kink)" in p.check
    # the central difference at the kink is 1/2, the mean of the one-sided slopes: not compared
    assert central_difference(lambda v: REF_F["relu"](v).sum(), [0.0])[0] == pytest.approx(0.5)


def test_relu_note_only_when_some_z_is_zero():
    d = derivation()
    z = vec(d, "z", [-1.0, 0.5, 2.0])
    p = act.derivative(d, z, act.activate(d, z, "relu"), "relu")
    check(d)
    assert p.notes == () and "PyTorch" in p.explanation
    assert "finite differences" in p.check


def test_sigmoid_at_plus_minus_800_without_warnings():
    d = derivation()
    z = vec(d, "z", [-800.0, 800.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.activate(d, z, "sigmoid")
        p = act.derivative(d, z, a, "sigmoid")
        check(d)
    assert np.array_equal(a.value, [0.0, 1.0, 0.5]) and np.array_equal(p.value, [0.0, 0.0, 0.25])
    assert a.notes and "overflow" in a.notes[0]
    assert str(a.formula) == "1/(1 + exp(-z[i]))"


@pytest.mark.parametrize("kind", act.KINDS)
def test_activation_derivatives_against_central_differences(kind):
    zv = np.array([-2.5, -0.3, 0.7, 1.9])
    d = derivation()
    z = vec(d, "z", zv)
    p = act.derivative(d, z, act.activate(d, z, kind), kind)
    check(d)
    numeric = np.array([central_difference(lambda v: REF_F[kind](v)[i], zv)[i] for i in range(4)])
    assert np.allclose(p.value, numeric, atol=1e-8)


@pytest.mark.parametrize("kind", losses.KINDS)
def test_squared_errors(kind):
    ov, tv = np.array([0.2, 0.9, -0.4]), np.array([0.0, 1.0, 0.5])
    d = derivation()
    loss = losses.squared_error(d, vec(d, "o", ov), vec(d, "t", tv), kind)
    check(d)
    assert loss.loss.value == pytest.approx(ref_loss(kind, ov, tv), rel=1e-12)
    assert np.allclose(loss.gradient.value, central_difference(lambda v: ref_loss(kind, v, tv), ov), atol=1e-8)
    shown = {"half-sse": "/2", "sse": "Sum((", "mse": "/n"}[kind]
    assert shown in str(loss.loss.formula)


def test_each_loss_twice_in_one_derivation_and_scalars():
    d = derivation()
    o, t = vec(d, "o", [0.3, 0.8]), vec(d, "t", [0.0, 1.0])
    first = losses.squared_error(d, o, t, "half-sse", at="a.", names={"L": "L1", "dL_do": "g1"})
    second = losses.squared_error(d, o, t, "mse", at="b.", names={"L": "L2", "dL_do": "g2"})
    bce = losses.binary_cross_entropy(d, o, t, at="c.", names={"L": "L3", "dL_do": "g3"})
    D, one = vec(d, "D", 0.7), vec(d, "one", 1.0)
    scalar = losses.binary_cross_entropy(d, D, one, at="d.", names={"L": "L4", "dL_do": "g4"})
    sq = losses.squared_error(d, D, one, "mse", at="e.", names={"L": "L5", "dL_do": "g5"})
    check(d)
    assert first.loss.value == pytest.approx(0.5 * (0.09 + 0.04)) and second.loss.value == pytest.approx(0.13 / 2)
    assert bce.loss.value == pytest.approx(ref_bce([0.3, 0.8], [0, 1]), rel=1e-12)
    assert np.allclose(bce.gradient.value, central_difference(lambda v: ref_bce(v, [0, 1]), [0.3, 0.8]), atol=1e-7)
    assert scalar.loss.value == pytest.approx(-np.log(0.7)) and scalar.gradient.value == pytest.approx(-1 / 0.7)
    assert sq.loss.value == pytest.approx(0.09) and sq.gradient.value == pytest.approx(-0.6)


def test_bce_at_exactly_one_is_infinite_and_explained():
    d = derivation()
    loss = losses.binary_cross_entropy(d, vec(d, "o", [1.0, 0.4]), vec(d, "t", [0.0, 1.0]))
    check(d)
    assert loss.loss.value == np.inf and loss.gradient is None
    assert any("infinite" in note for note in loss.loss.notes) and any("not defined" in note for note in loss.loss.notes)


def test_bce_zero_log_zero_is_zero():
    d = derivation()
    loss = losses.binary_cross_entropy(d, vec(d, "o", [0.0, 0.4]), vec(d, "t", [0.0, 1.0]))
    check(d)
    assert loss.loss.value == pytest.approx(-np.log(0.4) / 2) and loss.gradient is None
    assert any("0 · log 0" in note for note in loss.loss.notes)


def test_scalar_resnet_chain_against_central_differences():
    # DL101 #25: three one-neuron layers, input 0.5, every weight 0.1, sigmoid, MSE, target 0.
    d = derivation()
    x, t, eta = vec(d, "x", 0.5), vec(d, "t", 0.0), d.given("lr", sp.Symbol("eta"), 0.1)
    ws = [vec(d, f"w{n}", 0.1) for n in (1, 2, 3)]
    h, layers, acts = x, [], []
    for n, w in enumerate(ws, 1):
        layers.append(dense.forward(d, w, h, at=f"l{n}.", names={"z": f"z{n}"}))
        h = act.activate(d, layers[-1].z, "sigmoid", at=f"l{n}.", names={"a": f"a{n}"})
        acts.append(h)
    loss = losses.squared_error(d, h, t, "mse")
    grad, grads = loss.gradient, {}
    for n in (3, 2, 1):
        layer = layers[n - 1]
        p = act.derivative(d, layer.z, acts[n - 1], "sigmoid", at=f"l{n}.", names={"da": f"s{n}"})
        delta = act.delta(d, grad, layer.z, p, "sigmoid", at=f"l{n}.", names={"delta": f"delta{n}"})
        grads[n] = dense.backward(d, layer, delta, at=f"l{n}.", input_grad=n > 1)
        grad = grads[n].x
    dense.update(d, ws[0], grads[1].W, eta)
    check(d)

    def ref(w1, w2, w3):
        return ref_sigmoid(np.array([w3 * ref_sigmoid(np.array([w2 * ref_sigmoid(np.array([w1 * 0.5]))[0]]))[0]]))[0] ** 2

    for n in (1, 2, 3):
        numeric = central_difference(lambda v: ref(*[v[0] if m == n else 0.1 for m in (1, 2, 3)]), [0.1])[0]
        assert grads[n].W.value == pytest.approx(numeric, rel=1e-6)
    assert abs(grads[1].W.value) < abs(grads[3].W.value)
    assert d["update"].value == pytest.approx(0.1 - 0.1 * grads[1].W.value)


def test_logistic_unit_weight_vector_gives_scalar():
    # GAN discriminator D(x) = σ(w·x + b): weight vector, scalar bias and output, BCE with target 1.
    d = derivation()
    x, w, b, one = vec(d, "x", [1.0, 0.0, 0.0]), vec(d, "w", [0.5, -0.2, 0.1]), vec(d, "b", 0.1), vec(d, "one", 1.0)
    layer = dense.forward(d, w, x, b)
    D = act.activate(d, layer.z, "sigmoid", names={"a": "D"})
    loss = losses.binary_cross_entropy(d, D, one)
    delta = act.delta(d, loss.gradient, layer.z, act.derivative(d, layer.z, D, "sigmoid"), "sigmoid")
    grads = dense.backward(d, layer, delta)
    check(d)
    ref = lambda wv: -np.log(ref_sigmoid(np.array([wv @ [1.0, 0, 0] + 0.1]))[0])  # noqa: E731
    assert np.allclose(grads.W.value, central_difference(ref, [0.5, -0.2, 0.1]), atol=1e-8)
    assert grads.b.value == pytest.approx(ref_sigmoid(np.array([0.6]))[0] - 1)


def test_unknown_kinds_are_lesson_errors():
    d = derivation()
    z = vec(d, "z", [1.0])
    with pytest.raises(LessonError):
        act.activate(d, z, "softplus")
    with pytest.raises(LessonError):
        losses.squared_error(d, z, z, "rmse")


@settings(max_examples=25, deadline=None)
@given(arrays(float, 4, elements=st.floats(-1000, 1000)), st.sampled_from(act.KINDS))
def test_any_finite_z_checks_without_warnings(z, kind):
    d = derivation()
    zh, g = vec(d, "z", z), vec(d, "g", np.linspace(-1, 1, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.activate(d, zh, kind)
        act.delta(d, g, zh, act.derivative(d, zh, a, kind), kind)
        check(d)


@settings(max_examples=25, deadline=None)
@given(arrays(float, 3, elements=st.floats(0, 1)), arrays(float, 3, elements=st.floats(0, 1)))
def test_bce_any_output_in_the_closed_interval(o, t):
    d = derivation()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = losses.binary_cross_entropy(d, vec(d, "o", o), vec(d, "t", t))
        check(d)
    assert not np.isnan(loss.loss.value)
    with np.errstate(all="ignore"):
        reference = (o - t) / (o * (1 - o)) / 3
    assert (loss.gradient is None) == (not np.isfinite(reference).all())
    if loss.gradient is not None:
        assert np.allclose(loss.gradient.value, reference, rtol=1e-12)


def test_notes_that_warn_are_cautions_and_remarks_are_not():
    d = derivation()
    z = vec(d, "z", [-800.0, 0.0, 2.0])
    saturated = act.activate(d, z, "sigmoid", at="s.", names={"a": "s"})
    relu = act.derivative(d, z, act.activate(d, z, "relu", at="r.", names={"a": "r"}), "relu", at="r.")
    agree = losses.binary_cross_entropy(d, vec(d, "o", [0.0, 0.4]), vec(d, "t", [0.0, 1.0]), at="a.", names={"L": "L1", "dL_do": "g1"})
    infinite = losses.binary_cross_entropy(d, vec(d, "q", [1.0, 0.4]), vec(d, "y", [0.0, 1.0]), at="b.", names={"L": "L2", "dL_do": "g2"})
    check(d)
    assert all(isinstance(note, Caution) for note in saturated.notes + relu.notes + infinite.loss.notes)
    undefined, limit = agree.loss.notes  # the gradient is undefined (warns); 0 · log 0 = 0 is a convention (a remark)
    assert isinstance(undefined, Caution) and "not defined" in undefined
    assert not isinstance(limit, Caution) and "0 · log 0" in limit


def test_weighted_sums_print_weight_first_and_bias_last():
    from dlsteps.printers.formulas import unicode

    d = two_layer(**MAZUR)
    assert "W₂ᵢₖ⋅a₁ₖ + b₂" in unicode(d["o.linear"].formula, d.names)
    assert unicode(d["o.dL_dW"].formula, d.names) == "δ₂ᵢ⋅a₁ⱼ"  # δ_i x_j, as ∂L/∂W = δ xᵀ
    scalar = derivation()
    w, x = vec(scalar, "w", 0.1), vec(scalar, "a", 0.5)
    layer = dense.forward(scalar, w, x)
    grads = dense.backward(scalar, layer, vec(scalar, "g", 0.2))
    check(scalar)
    assert [unicode(s.formula) for s in (layer.z, grads.W, grads.x)] == ["w⋅a", "g⋅a", "w⋅g"]


def test_binary_cross_entropy_reads_t_log_o_first():
    from dlsteps.printers.formulas import unicode

    d = derivation()
    mean = losses.binary_cross_entropy(d, vec(d, "o", [0.3, 0.8]), vec(d, "t", [0.0, 1.0]))
    one = losses.binary_cross_entropy(d, vec(d, "p", 0.3), vec(d, "y", 1.0), at="one.", names={"L": "L1", "dL_do": "g1"})
    check(d)
    assert "(tᵢ⋅log(oᵢ) + (1 - tᵢ)⋅log(1 - oᵢ))" in unicode(mean.loss.formula, d.names)
    assert unicode(one.loss.formula, d.names) == "-(y⋅log(p) + (1 - y)⋅log(1 - p))"


def test_the_sigmoid_formula_is_sympy_s_own_one_over_one_plus_exp():
    """activations.formula builds σ(z) without SymPy's evaluation of the reciprocal where z
    has a symbol (slow, and it changes nothing): the very expression SymPy builds, for a
    symbol, an array entry, a sum, a scaled difference; and SymPy's number for a number."""
    w, x = sp.IndexedBase("w"), sp.IndexedBase("x")
    i, k, n = sp.symbols("i k n", integer=True)
    for z in (sp.Symbol("z"), x[i], sp.Sum(w[k] * x[k], (k, 0, n - 1)) + sp.Symbol("b"), 50 * (sp.Symbol("t") - sp.Rational(1, 4)),
              sp.Integer(0), sp.Float(2.5)):
        built = act.formula("sigmoid", z)
        assert built == 1 / (1 + sp.exp(-z)) and sp.srepr(built) == sp.srepr(1 / (1 + sp.exp(-z))), z
    assert act.formula("sigmoid", sp.Integer(0)) == sp.Rational(1, 2)
