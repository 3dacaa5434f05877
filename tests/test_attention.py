"""attention lesson: the lecture's 0.62, an independent NumPy reference (forward and backward),
central differences, Hypothesis over the states, and bad shapes."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import central_difference
from dlsteps import engine
from dlsteps.errors import InputError

STEP_IDS = ["scores", "shift", "exp", "sum", "softmax", "context", "combine",
            "dL_dc", "dL_ds_direct", "dL_dweights", "dL_dscores", "dL_dquery", "dL_ds"]
TANH_IDS = ["scores", "shift", "exp", "sum", "softmax", "context", "combine", "activation",
            "derivative", "delta", "dL_dc", "dL_ds_direct", "dL_dweights", "dL_dscores", "dL_dquery", "dL_ds"]


def reference(H, s, W, g, scale=False, tanh=False):
    """Luong-style dot attention and its gradient in s, written apart from the lesson."""
    H, s, W, g = (np.asarray(x, float) for x in (H, s, W, g))
    dim = len(s)
    e = H @ s / (np.sqrt(dim) if scale else 1.0)
    a = np.exp(e - e.max())
    a /= a.sum()
    c = a @ H
    z = W @ np.concatenate([c, s])
    o = np.tanh(z) if tanh else z
    delta = g * (1 - o**2) if tanh else g
    dc, direct = W[:, :dim].T @ delta, W[:, dim:].T @ delta
    da = H @ dc
    de = a * (da - a @ da)
    through = H.T @ de / (np.sqrt(dim) if scale else 1.0)
    return {"scores": e, "softmax": a, "context": c, "combine": z, "dL_dc": dc, "dL_ds_direct": direct,
            "dL_dweights": da, "dL_dscores": de, "dL_dquery": through, "dL_ds": direct + through}


def loss(H, W, g, scale=False, tanh=False):
    """L(s) = g · o(s): its gradient at o is the upstream g."""
    def f(s):
        e = H @ s / (np.sqrt(len(s)) if scale else 1.0)
        a = np.exp(e - e.max())
        z = W @ np.concatenate([(a / a.sum()) @ H, s])
        return float(g @ (np.tanh(z) if tanh else z))
    return f


def run(**typed):
    return engine.run("attention", {key: (text, "test") for key, text in typed.items()})


def inputs(d):
    return {item.name: np.asarray(item.value, float) for item in d.inputs}


def test_step_ids_are_fixed():
    # Step ids are API (JSON, quiz progress).
    assert [s.id for s in engine.run("attention").steps()] == STEP_IDS
    assert [s.id for s in run(activation="tanh").steps()] == TANH_IDS


def test_the_lectures_example():
    # DL101 #19: decoder state s = (0.7, 0.3), encoder state h_1 = (0.8, 0.2):
    # score = 0.7 × 0.8 + 0.3 × 0.2 = 0.56 + 0.06 = 0.62.
    d = engine.run("attention")
    assert d.find("scores").value[0] == pytest.approx(0.62, abs=1e-15)
    assert any("0.62" in note for note in d.find("scores").notes)
    assert any("not from the lecture" in note for note in d.find("scores").notes)
    only = run(encoder_states="0.8,0.2", decoder_state="0.7,0.3")
    assert only.find("scores").value.tolist() == pytest.approx([0.62])
    assert only.find("softmax").value.tolist() == [1.0]  # a softmax over one score is 1
    assert np.array_equal(only.find("context").value, [0.8, 0.2])
    assert any("exactly 1" in note for note in only.find("softmax").notes)
    other = run(decoder_state="0.6,0.3")
    assert not any("0.62" in note for note in other.find("scores").notes)
    assert not any("not from the lecture" in note for note in run(encoder_states="0.8,0.2;0.1,0.9").find("scores").notes)


def test_hand_calculation_of_the_default():
    # e = (0.62, 0.7·0.1 + 0.3·0.9, 0.7·0.5 + 0.3·0.5) = (0.62, 0.34, 0.5);
    # exp(e - 0.62) = (1, e^-0.28, e^-0.12) = (1, 0.755784, 0.886920), sum 2.642704;
    # α = (0.378400, 0.285989, 0.335611); c = 0.378400·(0.8, 0.2) + 0.285989·(0.1, 0.9)
    # + 0.335611·(0.5, 0.5) = (0.499124, 0.500876).
    d = engine.run("attention")
    assert np.allclose(d.find("scores").value, [0.62, 0.34, 0.5], rtol=1e-15)
    assert d.find("sum").value == pytest.approx(1 + np.exp(-0.28) + np.exp(-0.12), rel=1e-14)
    assert np.allclose(d.find("softmax").value, [0.378400, 0.285989, 0.335611], atol=1e-6)
    assert np.allclose(d.find("context").value, [0.499124, 0.500876], atol=1e-6)


@pytest.mark.parametrize("options", [{}, {"scale": "sqrt-d"}, {"activation": "tanh"},
                                     {"scale": "sqrt-d", "activation": "tanh", "wout": "0.5,-1,2,0.1;0,0.3,1,-0.4;1,1,-0.2,0.3"}])
@pytest.mark.parametrize("seed", [None, 0, 4])
def test_against_the_reference_and_central_differences(options, seed):
    if "wout" in options:
        options = {**options, "upstream": "1,-2,0.5"}
    d = engine.run("attention", {key: (text, "test") for key, text in options.items()}, seed)
    values = inputs(d)
    H, s, W, g = values["encoder_states"], values["decoder_state"], values["wout"], values["upstream"]
    scale, tanh = options.get("scale") == "sqrt-d", options.get("activation") == "tanh"
    expected = reference(H, s, W, g, scale, tanh)
    for id, value in expected.items():
        assert np.allclose(d.find(id).value, value, rtol=1e-12, atol=1e-14), id
    assert np.allclose(d.find("dL_ds").value, central_difference(loss(H, W, g, scale, tanh), s), atol=1e-8)
    for step in d.steps():
        assert "formula = NumPy" in step.check and "code ran" in step.check
        assert step.id not in expected or not step.id.startswith("dL_") or "finite differences" in step.check


def test_seeded_inputs_are_drawn_and_differ():
    first, second = engine.run("attention", seed=1), engine.run("attention", seed=2)
    assert not np.array_equal(inputs(first)["decoder_state"], inputs(second)["decoder_state"])
    assert not np.array_equal(inputs(first)["wout"], inputs(second)["wout"])
    assert any("default_rng(1)" in note for note in first.find("combine").notes)
    typed = run(wout="1,0,0,1;0,1,1,0")
    assert not typed.find("combine").notes


def test_large_scores_saturate_without_nan_or_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = run(encoder_states="1000,0;0,1000;-1000,0", decoder_state="1000,1")
    assert d.find("softmax").value.tolist() == [1.0, 0.0, 0.0]  # exp underflows to exactly 0
    assert any("underflow" in note for note in d.find("softmax").notes)


states = st.integers(1, 4).flatmap(lambda dim: st.tuples(
    st.lists(st.lists(st.floats(-50, 50, allow_nan=False).map(lambda x: round(x, 2)), min_size=dim, max_size=dim), min_size=1, max_size=5),
    st.lists(st.floats(-50, 50, allow_nan=False).map(lambda x: round(x, 2)), min_size=dim, max_size=dim)))


@settings(max_examples=20, deadline=None)
@given(states, st.sampled_from(["none", "sqrt-d"]), st.sampled_from(["none", "tanh"]))
def test_any_states_run_cleanly(pair, scale, activation):
    H, s = pair
    typed = {"encoder_states": ";".join(",".join(map(str, row)) for row in H), "decoder_state": ",".join(map(str, s)),
             "scale": scale, "activation": activation}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = run(**typed)
    for step in d.steps():
        assert not np.isnan(np.asarray(step.value, float)).any(), step.id
    assert d.find("softmax").value.sum() == pytest.approx(1.0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="0123456789.,;- e/", max_size=12))
def test_any_text_exits_0_or_2(cli, text):
    result = cli("attention", "--encoder-states", text, "--format", "json")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("args, option", [
    (["--decoder-state", "0.7,0.3,0.1"], "--decoder-state"),
    (["--encoder-states", "0.8,0.2;0.1"], "--encoder-states"),
    (["--wout", "1,2;3,4"], "--wout"),
    (["--upstream", "1,2,3"], "--upstream"),
    (["--scale", "sqrt"], "--scale"),
])
def test_bad_shapes_exit_2_with_one_line(cli, args, option):
    result = cli("attention", *args)
    assert result.exit_code == 2, result.output
    assert option in result.stderr and result.stderr.count("\n") == 1


def test_wout_must_have_2d_columns():
    with pytest.raises(InputError, match="4 columns"):
        run(wout="1,2,3;4,5,6")


def test_prose_speaks_of_s_h_e_and_alpha_and_sums_are_written_in_order():
    # Issue 14 (Reading): the block's prose for queries/keys/values and logits/probabilities is
    # rewritten in this lesson's symbols; [c; s] is written c first, ∂L/∂s direct path first.
    d = engine.run("attention")
    assert "s_k h_ik" in d.find("scores").explanation and "query" in d.find("scores").explanation
    assert d.find("shift").title == "Shift by the largest score"
    for id in ("shift", "softmax", "context", "dL_dweights", "dL_dscores", "dL_dquery"):
        text = d.find(id).title + " " + d.find(id).explanation
        for word in ("logit", "o_i", "y_i", "V_ik", "v_i", "K_ik", "q_k", "pulls its score up"):
            assert word not in text, (id, word)
    combine = d.find("combine").formula
    assert combine.args[0].has(d.find("context").symbol) and combine.args[1].has(d.find("decoder_state").symbol)
    assert [str(term.base) for term in d.find("dL_ds").formula.args] == ["g_dir", "g_att"]


@pytest.mark.parametrize("seed", [None, 3, 8])
def test_the_weighted_average_note_is_computed_and_true(seed):
    # ∂L/∂e_i = α_i (∂L/∂α_i - Σ_l α_l ∂L/∂α_l): its sign is that of ∂L/∂α_i minus the average.
    d = engine.run("attention", seed=seed)
    alpha, da, de = (np.asarray(d.find(id).value) for id in ("softmax", "dL_dweights", "dL_dscores"))
    average = alpha @ da
    note, = [note for note in d.find("dL_dscores").notes if "weighted average" in note]
    assert f"= {average:.4g}," in note
    assert np.array_equal(np.sign(de), np.sign(da - average))
    saturated = run(encoder_states="1000,0;0,1000;-1000,0", decoder_state="1000,1")
    assert not any("weighted average" in note for note in saturated.find("dL_dscores").notes)  # a weight is exactly 0


def test_an_underflowed_weight_gives_a_caution_and_the_remarks_are_not():
    # Issue 14 (Reading): α_i = 0 in float64 makes ∂L/∂e_i exactly 0: a Caution; the lecture's
    # numbers and the weighted-average reading are remarks.
    from dlsteps.model import Caution

    d = engine.run("attention")
    for id in ("scores", "combine", "dL_dscores"):
        assert d.find(id).notes and not any(isinstance(note, Caution) for note in d.find(id).notes), id
    saturated = run(encoder_states="1000,0;0,1000;-1000,0", decoder_state="1000,1")
    caution, = [note for note in saturated.find("dL_dscores").notes if isinstance(note, Caution)]
    assert "underflowed to exactly 0 at i = 1, 2" in caution
    assert saturated.find("dL_dscores").value[1] == 0 and saturated.find("dL_dscores").value[2] == 0
