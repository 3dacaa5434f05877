"""rnn lesson: an independent NumPy RNN and BPTT, a hand calculation, finite differences of the
whole loss, Jacobian products, aliases, bad inputs and Hypothesis over the input domains."""

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import central_difference
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution


# ----------------------------------------------------------------------------- reference
# Written apart from the lesson, in the style of Karpathy's min-char-rnn.py (2015): a forward
# loop keeping dicts by time step, and a backward loop that accumulates dU, dW, dV with
# dh = Vᵀ dy + dh_next, dh_raw = (1 - h²) dh, dh_next = Wᵀ dh_raw.


def reference(x, h_init, U, W, V, target, b=None):
    """Per-step forward values and BPTT terms as dicts keyed by t, and the summed gradients."""
    b = np.zeros(len(h_init)) if b is None else b
    hs, ys, ps, loss = {-1: np.array(h_init, float)}, {}, {}, 0.0
    for step in range(len(x)):
        hs[step] = np.tanh(U @ x[step] + W @ hs[step - 1] + b)
        ys[step] = V @ hs[step]
        e = np.exp(ys[step] - ys[step].max())
        ps[step] = e / e.sum()
        loss += -math.log(ps[step][target[step]])
    terms = {"U": {}, "W": {}, "V": {}, "b": {}, "raw": {}, "dh": {}}
    dh_next = np.zeros(len(h_init))
    for step in reversed(range(len(x))):
        dy = ps[step].copy()
        dy[target[step]] -= 1
        terms["V"][step] = np.outer(dy, hs[step])
        dh = V.T @ dy + dh_next
        raw = (1 - hs[step] ** 2) * dh
        terms["U"][step], terms["W"][step] = np.outer(raw, x[step]), np.outer(raw, hs[step - 1])
        terms["raw"][step], terms["dh"][step], terms["b"][step] = raw, dh, raw
        dh_next = W.T @ raw
    sums = {name: sum(terms[name].values()) for name in ("U", "W", "V", "b")}
    return hs, ys, ps, loss, terms, sums


def loss_of(x, h_init, U, W, V, target, b=None):
    """The summed cross-entropy, computed directly (for the test's own finite differences)."""
    return reference(x, h_init, U, W, V, target, b)[3]


def text(matrix) -> str:
    return ";".join(",".join(repr(float(v)) for v in row) for row in np.atleast_2d(matrix))


def run(**inputs):
    """The lesson's derivation for inputs given as NumPy arrays or text."""
    typed = {name: (value if isinstance(value, str) else text(value) if np.ndim(value) == 2 else ",".join(map(str, value)), "test")
             for name, value in inputs.items()}
    return engine.run("rnn", typed)


def case(seed, steps, hidden, inputs, classes):
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(-1, 1, (steps, inputs)), 3)
    return dict(x=x, h0=np.round(rng.uniform(-0.5, 0.5, hidden), 3), U=np.round(rng.uniform(-1, 1, (hidden, inputs)), 3),
                W=np.round(rng.uniform(-1, 1, (hidden, hidden)), 3), V=np.round(rng.uniform(-1, 1, (classes, hidden)), 3),
                target=rng.integers(0, classes, steps))


DEFAULT = dict(x=np.eye(3), h0=np.zeros(2), U=np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]]),
               W=np.array([[0.4, -0.2], [0.3, 0.5]]), V=np.array([[0.6, -0.4], [-0.2, 0.7], [0.3, 0.1]]), target=np.array([1, 2, 0]))


def compare(d, c, b=None):
    """Every printed value of `d` against the reference, at every time step."""
    hs, ys, ps, loss, terms, sums = reference(c["x"], c["h0"], c["U"], c["W"], c["V"], c["target"], b)
    steps = len(c["x"])
    hidden, inputs, classes = len(c["h0"]), c["x"].shape[1], len(c["V"])
    for t in range(steps):
        assert np.allclose(d["previous"].value[t], hs[t - 1], rtol=1e-12, atol=1e-14)
        assert np.allclose(d["hidden"].value[t], hs[t], rtol=1e-12, atol=1e-14)
        assert np.allclose(d["logits"].value[t], ys[t], rtol=1e-12, atol=1e-14)
        assert np.allclose(d["softmax"].value[t], ps[t], rtol=1e-12, atol=1e-14)
        assert d["step_loss"].value[t] == pytest.approx(-math.log(ps[t][c["target"][t]]), rel=1e-12)
        assert np.allclose(d["dL_dh"].value[t], terms["dh"][t], rtol=1e-10, atol=1e-13)
        assert np.allclose(d["delta"].value[t], terms["raw"][t], rtol=1e-10, atol=1e-13)
        assert np.allclose(d["dV_terms"].value[t].reshape(classes, hidden), terms["V"][t], rtol=1e-10, atol=1e-13)
        assert np.allclose(d["dU_terms"].value[t].reshape(hidden, inputs), terms["U"][t], rtol=1e-10, atol=1e-13)
        assert np.allclose(d["dW_terms"].value[t].reshape(hidden, hidden), terms["W"][t], rtol=1e-10, atol=1e-13)
        following = terms["raw"][t + 1] if t + 1 < steps else np.zeros(hidden)
        assert np.allclose(d["delta_next"].value[t], following, rtol=1e-10, atol=1e-13)
    assert d["loss"].value == pytest.approx(loss, rel=1e-12)
    for name in ("U", "W", "V"):
        assert np.allclose(d[f"dL_d{name}"].value, sums[name], rtol=1e-10, atol=1e-13)
    return sums


# ----------------------------------------------------------------------------- tests
STEP_IDS = ["previous", "preactivation", "hidden", "carried", "logits", "shift", "softmax", "log_softmax", "target_onehot",
            "step_loss", "loss", "dL_do", "dV_terms", "dL_dV", "dh_out", "tanh_derivative", "delta_next", "dh_next", "dL_dh",
            "delta", "dU_terms", "dL_dU", "dW_terms", "dL_dW", "jacobian", "jacobian_product", "product_check", "jacobian_norm"]


def test_step_ids_are_fixed():
    # Step ids are API (JSON, quiz progress); a bias adds dL_db after dL_dW.
    assert [step.id for step in engine.run("rnn").steps()] == STEP_IDS
    with_bias = STEP_IDS[:STEP_IDS.index("dL_dW") + 1] + ["dL_db"] + STEP_IDS[STEP_IDS.index("dL_dW") + 1:]
    assert [step.id for step in run(bias="0.1,-0.2").steps()] == with_bias


def test_defaults_against_the_reference():
    compare(engine.run("rnn"), DEFAULT)


@pytest.mark.parametrize("seed,steps,hidden,inputs,classes", [(0, 1, 2, 3, 3), (1, 2, 3, 2, 4), (2, 4, 2, 3, 2), (3, 5, 3, 4, 3)])
def test_seeded_inputs_against_the_reference(seed, steps, hidden, inputs, classes):
    c = case(seed, steps, hidden, inputs, classes)
    compare(run(**c), c)


def test_a_bias_against_the_reference_and_finite_differences():
    c, b = case(5, 4, 2, 3, 3), np.array([0.3, -0.2])
    d = run(**c, bias=b)
    sums = compare(d, c, b)
    assert np.allclose(d["dL_db"].value, sums["b"], rtol=1e-10)
    numeric = central_difference(lambda v: loss_of(c["x"], c["h0"], c["U"], c["W"], c["V"], c["target"], v), b)
    assert np.allclose(d["dL_db"].value, numeric, atol=1e-7)


def test_hand_calculation_of_the_first_step():
    # Defaults: x_0 = (1, 0, 0), h_init = 0, so a_0 = U x_0 + W · 0 = U[:, 0] = (0.5, 0.1).
    # h_0 = (tanh 0.5, tanh 0.1) = (0.462117, 0.099668).
    # o_0 = V h_0 = (0.6·0.462117 - 0.4·0.099668, -0.2·0.462117 + 0.7·0.099668, 0.3·0.462117 + 0.1·0.099668)
    #     = (0.237403, -0.022656, 0.148602).
    # exp: (1.267949, 0.977599, 1.160214), sum 3.405762, y_0 = (0.372296, 0.287043, 0.340661).
    # Target class 1: ℓ_0 = -ln 0.287043 = 1.248125; ∂L/∂o_0 = y_0 - e_1 = (0.372296, -0.712957, 0.340661).
    # Row 0 of the W terms is δ_0 h_initᵀ = 0, since h_init = 0.
    d = engine.run("rnn")
    assert np.allclose(d["preactivation"].value[0], [0.5, 0.1], rtol=1e-12)
    assert np.allclose(d["hidden"].value[0], [0.462117, 0.099668], atol=1e-6)
    assert np.allclose(d["logits"].value[0], [0.237403, -0.022656, 0.148602], atol=1e-6)
    assert np.allclose(d["softmax"].value[0], [0.372296, 0.287043, 0.340661], atol=1e-6)
    assert d["step_loss"].value[0] == pytest.approx(1.248125, abs=1e-6)
    assert np.allclose(d["dL_do"].value[0], [0.372296, -0.712957, 0.340661], atol=1e-6)
    assert not d["dW_terms"].value[0].any()


@pytest.mark.parametrize("seed", [0, 4])
def test_gradients_against_finite_differences_of_the_whole_loss(seed):
    c = case(seed, 5, 3, 2, 3)
    d = run(**c)
    args = dict(x=c["x"], h_init=c["h0"], U=c["U"], W=c["W"], V=c["V"], target=c["target"])
    for name in ("U", "W", "V"):
        numeric = central_difference(lambda v: loss_of(**{**args, name: v}), c[name])
        assert np.allclose(d[f"dL_d{name}"].value, numeric, atol=1e-7), name


def test_each_term_is_the_gradient_by_that_steps_copy_of_the_weight():
    # Untie the weights: step t uses its own copy U_t (W_t, V_t); the lesson says term t is
    # ∂L/∂U_t. Checked here with a forward written for untied copies.
    c = case(6, 4, 2, 3, 3)
    d = run(**c)

    def untied(U, W, V):
        h, total = c["h0"], 0.0
        for t in range(len(c["x"])):
            h = np.tanh(U[t] @ c["x"][t] + W[t] @ h)
            o = V[t] @ h
            total += -(o[c["target"][t]] - o.max() - math.log(np.exp(o - o.max()).sum()))
        return total

    copies = {name: np.repeat(c[name][None], len(c["x"]), axis=0) for name in ("U", "W", "V")}
    for name in ("U", "W", "V"):
        numeric = central_difference(lambda v: untied(**{**copies, name: v}), copies[name])
        assert np.allclose(d[f"d{name}_terms"].value, numeric.reshape(len(c["x"]), -1), atol=1e-7), name


def test_hidden_gradients_against_finite_differences():
    # ∂L/∂h_t: an offset added to h_t after the tanh reaches the output and the next steps.
    c = case(7, 4, 3, 2, 3)
    d = run(**c)

    def with_offsets(offsets):
        h, total = c["h0"], 0.0
        for t in range(len(c["x"])):
            h = np.tanh(c["U"] @ c["x"][t] + c["W"] @ h) + offsets[t]
            o = c["V"] @ h
            total += -(o[c["target"][t]] - o.max() - math.log(np.exp(o - o.max()).sum()))
        return total

    numeric = central_difference(with_offsets, np.zeros((4, 3)))
    assert np.allclose(d["dL_dh"].value, numeric, atol=1e-7)
    assert np.allclose(d["dh_out"].value + d["dh_next"].value, numeric, atol=1e-7)


def test_jacobians_and_their_product():
    # ∂h_t/∂h_(t-1) by the test's own finite differences of one step; P_t = J_t ⋯ J_0.
    c = case(8, 5, 3, 2, 3)
    d = run(**c)
    hs = reference(c["x"], c["h0"], c["U"], c["W"], c["V"], c["target"])[0]
    product = np.eye(3)
    for t in range(5):
        cell = lambda prev: np.tanh(c["U"] @ c["x"][t] + c["W"] @ prev)
        jacobian = np.array([central_difference(lambda prev: cell(prev)[row], hs[t - 1]) for row in range(3)])
        assert np.allclose(d["jacobian"].value[t].reshape(3, 3), jacobian, atol=1e-8)
        product = jacobian @ product
        assert np.allclose(d["jacobian_product"].value[t].reshape(3, 3), product, atol=1e-7)
        assert d["jacobian_norm"].value[t] == pytest.approx(np.linalg.norm(product), abs=1e-7)


def test_the_trend_note_follows_the_numbers():
    shrink = " ".join(engine.run("rnn").find("jacobian_norm").notes)
    assert shrink.startswith("Shrinking") and "vanishing" in shrink
    # W = 2 I with small states: each Jacobian is about 2 I, so the product grows.
    grow = " ".join(run(W="2,0;0,2", U="0.01,0,0;0,0.01,0", V="0.1,0;0,0.1;0.1,0.1").find("jacobian_norm").notes)
    assert grow.startswith("Growing") and "explode" in grow
    one = " ".join(run(x="1,0,0", target="1").find("jacobian_norm").notes)
    assert "One step only" in one


def test_warnings_are_cautions_and_the_lectures_vanishing_gradient_is_a_remark():
    # The shrinking product is the lecture's point (a remark, •); a product that explodes, and
    # tanh saturating, are warnings (⚠).
    shrink = engine.run("rnn")
    assert shrink.find("jacobian_norm").notes and not any(isinstance(n, Caution) for n in shrink.find("jacobian_norm").notes)
    assert shrink.find("hidden").notes == ()
    grow = run(W="2,0;0,2", U="0.01,0,0;0,0.01,0", V="0.1,0;0,0.1;0.1,0.1").find("jacobian_norm").notes
    assert len(grow) == 1 and isinstance(grow[0], Caution) and grow[0].startswith("Growing")
    one = run(x="1,0,0", target="1").find("jacobian_norm").notes
    assert len(one) == 1 and not isinstance(one[0], Caution)
    saturated = run(U="5,0,0;0,5,0").find("hidden").notes
    assert len(saturated) == 1 and isinstance(saturated[0], Caution) and "saturates" in saturated[0]


def test_the_step_loss_and_a_bias_read_in_the_lectures_order(cli):
    # ℓ_t = -Σ_k y*_tk log y_tk (target first, as its explanation); a_t = U x_t + W h_(t-1) + b, bias last.
    text = cli("rnn", "--no-pager", env={"COLUMNS": "120"}).stdout
    assert "y*ₜₖ⋅log yₜₖ" in text and "⇒ ℓ₀ = -(0⋅(-0.9881) + 1⋅(-1.248) + 0⋅(-1.077)) = 1.248" in text
    biased = cli("rnn", "--bias", "0.1,-0.2", "--no-pager", env={"COLUMNS": "120"}).stdout
    assert "Wᵢⱼ⋅h_prevₜⱼ + bᵢ" in biased and "⇒ a₁₀ = 0.5⋅0 + (-0.3)⋅1 + 0.2⋅0 + 0.4⋅0.537 + (-0.2)⋅(-0.09967) + 0.1" in biased


def test_the_trend_note_names_the_steps_it_compares():
    # Defaults: T = 3, so the note compares a gradient at h_2 (carried back by P_2ᵀ) with one at h_0.
    note = " ".join(engine.run("rnn").find("jacobian_norm").notes)
    assert "A gradient at h_2 reaches h_init multiplied by P_2ᵀ, one at h_0 by P_0ᵀ only" in note
    assert "arrives × 0.197 as strong" in note


def test_the_origin_of_untyped_weights_is_said_as_it_was_chosen():
    # Fixed values at their default shape without --seed, else drawn: each named once.
    intro = engine.run("rnn").sections[0].explanation
    assert "Not typed: U, W, V, small fixed values" in intro and "drawn" not in intro
    assert "Sizes: T = 3 steps, d = 3 inputs per step, H = 2 hidden units, n = 3 classes." in intro
    bigger = run(x="1,0,0,0;0,1,0,0", h0="0,0", target="3,0").sections[0].explanation
    assert "Not typed: W, small fixed values" in bigger and "Not typed: U, V, drawn with NumPy's default_rng(0)" in bigger
    assert "T = 2 steps, d = 4 inputs per step" in bigger
    seeded = engine.run("rnn", seed=3).sections[0].explanation
    assert "Not typed: U, W, V, drawn with NumPy's default_rng(3)" in seeded and "fixed" not in seeded
    assert "Not typed" not in run(U=DEFAULT["U"], W=DEFAULT["W"], V=DEFAULT["V"]).sections[0].explanation


def test_the_default_reads_in_the_lectures_order(cli):
    # Issue 14: formulas in the lecture's order and with the forward's index letters; the
    # recurrences (the forward pass, P_t = J_t P_(t-1)) work out row t = 1, where the recurrent
    # term is not zero: a_1,0 = U_0,1 + W_0,0 h_0,0 + W_0,1 h_0,1 = -0.3 + 0.4·0.4621 - 0.2·0.09967.
    text = cli("rnn", "--no-pager", env={"COLUMNS": "120"}).stdout
    assert "⇒ a₁₀ = 0.5⋅0 + (-0.3)⋅1 + 0.2⋅0 + 0.4⋅0.4621 + (-0.2)⋅0.09967 = -0.1351" in text
    assert "⇒ P₁₀ = 0.3928⋅0.3146 + (-0.1964)⋅0.297 ≈ 0.06523" in text
    assert "log yₜₖ = oₜₖ - mₜ - log" in text  # o_tk - m_t - log Σ_l exp(o_tl - m_t), as its explanation
    assert "= g_outₜᵢ + g_nextₜᵢ" in text  # ∂L/∂h_t = Vᵀ ∂L/∂o_t + Wᵀ δ_(t+1)
    assert "∂Vₖᵢ" in text and "∂Uᵢₖ" in text and "∂Wᵢⱼ" in text  # as o_tk = Σ_i V_ki h_ti and a_ti = Σ_k U_ik x_tk + …
    d = engine.run("rnn")
    assert d["preactivation"].recurrence == ("previous", "preactivation", "hidden", "carried")
    assert d["product_check"].recurrence == ("jacobian_product", "product_check")


def test_aliases_name_the_same_matrices():
    lecture = run(U=DEFAULT["U"], W=DEFAULT["W"], V=DEFAULT["V"])
    other = run(W_xh=DEFAULT["U"], W_hh=DEFAULT["W"], W_hy=DEFAULT["V"])
    for step in lecture.steps():
        assert np.array_equal(step.value, other[step.id].value), step.id


@pytest.mark.parametrize("args,option", [
    (["--u", "1,0,0;0,1,0", "--w-xh", "1,0,0;0,1,0"], "--w-xh"),
    (["--w", "1,0;0,1", "--w-hh", "1,0;0,1"], "--w-hh"),
    (["--u", "1,0;0,1"], "--u"),
    (["--w", "1,0,0;0,1,0"], "--w"),
    (["--v", "1,0,0;0,1,0"], "--v"),
    (["--target", "1,2,3"], "--target"),
    (["--v", "1,0;0,1"], "--target"),
    (["--target", "1,2"], "--target"),
    (["--target", "0.5,1,2"], "--target"),
    (["--h0", "0,0;1,1"], "--h0"),
    (["--bias", "1,2,3"], "--bias"),
])
def test_bad_inputs_exit_2_with_one_line_naming_the_option(cli, args, option):
    result = cli("rnn", *args)
    assert result.exit_code == 2, result.output
    assert option in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_seed_draws_the_weights_reproducibly(run_json):
    _steps, first = run_json("rnn", "--seed", "11")
    _steps, again = run_json("rnn", "--seed", "11")
    inputs = {item["name"]: item for item in first["inputs"]}
    assert {inputs[name]["origin"] for name in ("U", "W", "V", "x", "h0")} == {"seed"}
    assert first["inputs"] == again["inputs"]
    assert inputs["U"]["value"] != DEFAULT["U"].tolist()


def test_bigger_sizes_without_seed_are_filled_in(run_json):
    steps, document = run_json("rnn", "--x", "1,0,0,0;0,1,0,0", "--h0", "0,0,0", "--target", "3,0")
    inputs = {item["name"]: item for item in document["inputs"]}
    assert np.shape(inputs["U"]["value"]) == (3, 4) and np.shape(inputs["V"]["value"]) == (4, 3)
    assert steps["dW_terms"].shape == (2, 9)


def test_json_has_every_value_and_no_nan(cli):
    result = cli("rnn", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert "NaN" not in result.stdout and len([s for sec in document["sections"] for s in sec["steps"]]) == len(STEP_IDS)


number = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 2))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.integers(1, 4), hidden=st.integers(1, 3), inputs=st.integers(1, 3), classes=st.integers(1, 3), data=st.data(),
       scale=st.sampled_from([1, 30, 1000, 300000]))
def test_random_inputs_run_or_exit_2(steps, hidden, inputs, classes, data, scale):
    matrix = lambda rows, cols: [[data.draw(number) * scale for _c in range(cols)] for _r in range(rows)]
    typed = {"x": text(matrix(steps, inputs)), "h0": ",".join(map(str, matrix(1, hidden)[0])),
             "U": text(matrix(hidden, inputs)), "W": text(matrix(hidden, hidden)), "V": text(matrix(classes, hidden)),
             "target": ",".join(str(data.draw(st.integers(0, 3))) for _t in range(steps))}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            d = engine.run("rnn", {name: (value, "test") for name, value in typed.items()})
        except InputError as error:
            assert "--target" in str(error) and "\n" not in str(error)
            return
    for step in d.steps():
        assert np.isfinite(np.asarray(step.value, dtype=float)).all(), step.id
