"""autoencoder lesson: step ids, a hand calculation, an independent NumPy reference, the
test's own central differences of the whole loss, the denoising variant, biases, notes
computed from the numbers, Hypothesis over the input domains and bad shapes."""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import central_difference, terminal_view
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution

IDS = ["enc.linear", "enc.activation", "dec.linear", "dec.activation", "loss", "gradient",
       "dec.derivative", "dec.delta", "dec.dL_dW", "dec.dL_dx", "enc.derivative", "enc.delta", "enc.dL_dW",
       "dec.update_W", "enc.update_W",
       "after.enc.linear", "after.enc.activation", "after.dec.linear", "after.dec.activation", "loss_after", "loss_change"]
IDS_DENOISING_BIAS = ["noisy_input", "enc.linear", "enc.activation", "dec.linear", "dec.activation", "loss", "gradient",
                      "dec.derivative", "dec.delta", "dec.dL_dW", "dec.dL_db", "dec.dL_dx",
                      "enc.derivative", "enc.delta", "enc.dL_dW", "enc.dL_db",
                      "dec.update_W", "dec.update_b", "enc.update_W", "enc.update_b",
                      "after.enc.linear", "after.enc.activation", "after.dec.linear", "after.dec.activation",
                      "loss_after", "loss_change"]

X = np.array([1.0, 0.0, 0.0, 1.0])
WE = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]])
WD = np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.7], [0.4, 0.8]])


# ---- an independent reference, written apart from the lesson and its blocks -------------

def ref_sigma(v):
    v = np.asarray(v, float)
    return np.array([1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t)) for t in v.ravel()]).reshape(v.shape)


def ref_loss(kind, target, out):
    e = np.asarray(target, float) - np.asarray(out, float)
    return {"mse": float(np.mean(e**2)), "half-sse": 0.5 * float(np.sum(e**2)), "sse": float(np.sum(e**2))}[kind]


def ref_forward(x_in, We, be, Wd, bd):
    u = We @ x_in + (0 if be is None else be)
    z = ref_sigma(u)
    v = Wd @ z + (0 if bd is None else bd)
    return u, z, v, ref_sigma(v)


def ref_autoencoder(x, We, Wd, lr, kind="mse", noise=None, be=None, bd=None):
    """Every printed value, by explicit loops for the backward pass."""
    x_in = x if noise is None else x + noise
    u, z, v, xh = ref_forward(x_in, We, be, Wd, bd)
    n, m = len(x), len(z)
    scale = {"mse": 2 / n, "half-sse": 1.0, "sse": 2.0}[kind]
    g = [scale * (xh[i] - x[i]) for i in range(n)]
    dd = np.array([g[i] * xh[i] * (1 - xh[i]) for i in range(n)])
    gWd = np.array([[dd[i] * z[j] for j in range(m)] for i in range(n)])
    dz = np.array([sum(Wd[i, j] * dd[i] for i in range(n)) for j in range(m)])
    de = np.array([dz[j] * z[j] * (1 - z[j]) for j in range(m)])
    gWe = np.array([[de[i] * x_in[k] for k in range(n)] for i in range(m)])
    out = {"enc.linear": u, "enc.activation": z, "dec.linear": v, "dec.activation": xh, "loss": ref_loss(kind, x, xh),
           "gradient": np.array(g), "dec.derivative": xh * (1 - xh), "dec.delta": dd, "dec.dL_dW": gWd, "dec.dL_dx": dz,
           "enc.derivative": z * (1 - z), "enc.delta": de, "enc.dL_dW": gWe,
           "dec.update_W": Wd - lr * gWd, "enc.update_W": We - lr * gWe}
    new_be, new_bd = be, bd
    if bd is not None:
        out["dec.dL_db"], out["dec.update_b"] = dd, bd - lr * dd
        new_bd = bd - lr * dd
    if be is not None:
        out["enc.dL_db"], out["enc.update_b"] = de, be - lr * de
        new_be = be - lr * de
    u2, z2, v2, xh2 = ref_forward(x_in, We - lr * gWe, new_be, Wd - lr * gWd, new_bd)
    out.update({"after.enc.linear": u2, "after.enc.activation": z2, "after.dec.linear": v2, "after.dec.activation": xh2,
                "loss_after": ref_loss(kind, x, xh2)})
    out["loss_change"] = out["loss_after"] - out["loss"]
    if noise is not None:
        out["noisy_input"] = x_in
    return out


def whole_loss(x, We, Wd, kind="mse", noise=None, be=None, bd=None):
    """L(We, Wd, be, bd) on the whole network, for the test's own central differences."""
    x_in = x if noise is None else x + noise
    return ref_loss(kind, x, ref_forward(x_in, We, be, Wd, bd)[3])


def text(a):
    a = np.atleast_2d(np.asarray(a, float))
    return ";".join(",".join(repr(float(v)) for v in row) for row in a)


def args_for(x, We, Wd, lr, kind="mse", noise=None, be=None, bd=None):
    out = ["autoencoder", "--x", text(x), "--we", text(We), "--wd", text(Wd), "--lr", repr(float(lr)), "--loss", kind]
    for flag, value in (("--noise", noise), ("--be", be), ("--bd", bd)):
        if value is not None:
            out += [flag, text(value)]
    return out


# ---- tests ------------------------------------------------------------------------------

def test_step_ids_are_fixed(run_json):
    steps, document = run_json("autoencoder")
    assert list(steps) == IDS
    assert [item["name"] for item in document["inputs"]] == ["x", "we", "wd", "lr"]
    steps, _ = run_json("autoencoder", "--noise", "0,0.1,0,0", "--be", "0,0", "--bd", "0,0,0,0")
    assert list(steps) == IDS_DENOISING_BIAS


def test_hand_calculation_of_the_defaults(run_json):
    # By hand, x = (1, 0, 0, 1), Wᵉ = [[.1,.2,.3,.4],[.5,.6,.7,.8]], Wᵈ = [[.1,.5],[.2,.6],[.3,.7],[.4,.8]], α = 1,
    # L = mean over the 4 outputs of (x - x̂)², no 1/2:
    # u = Wᵉ x = (0.1 + 0.4, 0.5 + 0.8) = (0.5, 1.3); z = σ(u) = (0.622459, 0.785835)
    # v₀ = 0.1·0.622459 + 0.5·0.785835 = 0.455163; x̂₀ = σ(0.455163) = 0.611866
    # x̂ = (0.611866, 0.644739, 0.676301, 0.706335)
    # L = (0.388134² + 0.644739² + 0.676301² + 0.293665²) / 4 = 0.277489
    # ∂L/∂x̂₀ = 2 (0.611866 - 1) / 4 = -0.194067; σ'(v₀) = 0.611866 · 0.388134 = 0.237486
    # δᵈ₀ = -0.194067 · 0.237486 = -0.046088; ∂L/∂Wᵈ₀₀ = δᵈ₀ z₀ = -0.046088 · 0.622459 = -0.028688
    # δᵈ = (-0.046088, 0.073839, 0.074027, -0.030457)
    # ∂L/∂z₀ = 0.1(-0.046088) + 0.2(0.073839) + 0.3(0.074027) + 0.4(-0.030457) = 0.020184
    # σ'(u₀) = 0.622459 · 0.377541 = 0.235004; δᵉ₀ = 0.020184 · 0.235004 = 0.0047434
    # ∂L/∂Wᵉ₀₀ = δᵉ₀ x₀ = 0.0047434, and columns 1, 2 of ∂L/∂Wᵉ are 0 because x₁ = x₂ = 0
    # Wᵈ′₀₀ = 0.1 + 0.028688 = 0.128688; Wᵉ′₀₀ = 0.1 - 0.0047434 = 0.0952566
    # L′ = 0.263371 < L: ΔL = -0.014118
    steps, _ = run_json("autoencoder")
    assert np.allclose(steps["enc.linear"], [0.5, 1.3])
    assert np.allclose(steps["enc.activation"], [0.622459, 0.785835], atol=1e-6)
    assert steps["dec.linear"][0] == pytest.approx(0.455163, abs=1e-6)
    assert np.allclose(steps["dec.activation"], [0.611866, 0.644739, 0.676301, 0.706335], atol=1e-6)
    assert steps["loss"] == pytest.approx(0.277489, abs=1e-6)
    assert steps["gradient"][0] == pytest.approx(-0.194067, abs=1e-6)
    assert steps["dec.derivative"][0] == pytest.approx(0.237486, abs=1e-6)
    assert np.allclose(steps["dec.delta"], [-0.046088, 0.073839, 0.074027, -0.030457], atol=1e-6)
    assert steps["dec.dL_dW"][0, 0] == pytest.approx(-0.028688, abs=1e-6)
    assert steps["dec.dL_dx"][0] == pytest.approx(0.020184, abs=1e-6)
    assert steps["enc.derivative"][0] == pytest.approx(0.235004, abs=1e-6)
    assert steps["enc.delta"][0] == pytest.approx(0.0047434, abs=1e-7)
    assert steps["enc.dL_dW"][0, 0] == pytest.approx(0.0047434, abs=1e-7)
    assert np.all(steps["enc.dL_dW"][:, 1:3] == 0)
    assert steps["dec.update_W"][0, 0] == pytest.approx(0.128688, abs=1e-6)
    assert steps["enc.update_W"][0, 0] == pytest.approx(0.0952566, abs=1e-7)
    assert steps["loss_after"] == pytest.approx(0.263371, abs=1e-6)
    assert steps["loss_change"] == pytest.approx(-0.014118, abs=1e-6)


def _random_case(seed, n=4, m=2, noise=False, bias=False):
    rng = np.random.default_rng(seed)
    case = dict(x=rng.uniform(0, 1, n).round(3), We=rng.normal(0, 1, (m, n)).round(3), Wd=rng.normal(0, 1, (n, m)).round(3),
                lr=float(rng.choice([0.1, 1.0, 3.0])))
    if noise:
        case["noise"] = rng.normal(0, 0.2, n).round(3)
    if bias:
        case["be"], case["bd"] = rng.normal(0, 0.5, m).round(3), rng.normal(0, 0.5, n).round(3)
    return case


CASES = [dict(x=X, We=WE, Wd=WD, lr=1.0), _random_case(1), _random_case(2, n=7, m=3),
         _random_case(3, noise=True), _random_case(4, bias=True), _random_case(5, n=5, m=3, noise=True, bias=True)]


@pytest.mark.parametrize("kind", ["mse", "half-sse", "sse"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_value_agrees_with_the_reference(run_json, case, kind):
    c = CASES[case]
    steps, _ = run_json(*args_for(**c, kind=kind))
    expected = ref_autoencoder(**c, kind=kind)
    assert set(steps) == set(expected)
    for key, value in expected.items():
        assert np.allclose(steps[key], value, rtol=1e-10, atol=1e-13), key


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_against_own_central_differences_of_the_whole_loss(run_json, case):
    c = CASES[case]
    kind = ["mse", "half-sse", "sse"][case % 3]
    steps, _ = run_json(*args_for(**c, kind=kind))
    params = {key: c.get(key) for key in ("We", "Wd", "be", "bd")}

    def by(name):
        return central_difference(lambda p: whole_loss(c["x"], **{**params, name: p}, kind=kind, noise=c.get("noise")),
                                  params[name])

    assert np.allclose(steps["dec.dL_dW"], by("Wd"), atol=1e-7)
    assert np.allclose(steps["enc.dL_dW"], by("We"), atol=1e-7)
    if c.get("bd") is not None:
        assert np.allclose(steps["dec.dL_db"], by("bd"), atol=1e-7)
        assert np.allclose(steps["enc.dL_db"], by("be"), atol=1e-7)
    # the update is one step against these gradients, and the loss after it is the loss at the new point
    assert np.allclose(steps["enc.update_W"], c["We"] - c["lr"] * by("We"), atol=1e-6)
    new = {"We": steps["enc.update_W"], "Wd": steps["dec.update_W"],
           "be": steps.get("enc.update_b"), "bd": steps.get("dec.update_b")}
    assert steps["loss_after"] == pytest.approx(whole_loss(c["x"], **new, kind=kind, noise=c.get("noise")), rel=1e-12)


def test_denoising_noisy_input_clean_target(run_json):
    noise = np.array([0.0, 0.3, 0.0, -0.2])
    steps, document = run_json("autoencoder", "--noise", "0,0.3,0,-0.2")
    assert np.allclose(steps["noisy_input"], X + noise)
    assert np.allclose(steps["enc.linear"], WE @ (X + noise))
    # the target is the clean x: L compares x̂ with x, not with x̃
    xh = steps["dec.activation"]
    assert steps["loss"] == pytest.approx(np.mean((X - xh) ** 2), rel=1e-12)
    assert steps["loss"] != pytest.approx(np.mean((X + noise - xh) ** 2), rel=1e-3)
    # ∂L/∂Wᵉ = δᵉ x̃ᵀ: column 1 is non-zero now although x₁ = 0
    assert np.all(steps["enc.dL_dW"][:, 1] != 0)
    fd = central_difference(lambda p: whole_loss(X, p, WD, noise=noise), WE)
    assert np.allclose(steps["enc.dL_dW"], fd, atol=1e-8)
    assert "noise" in [item["name"] for item in document["inputs"]]
    titles = [section["title"] for section in document["sections"]]
    assert titles[0].startswith("Noisy input")


def test_biases_are_updated_too(run_json):
    steps, document = run_json("autoencoder", "--be", "0.1,-0.1", "--bd", "0,0,0.1,0.2")
    expected = ref_autoencoder(X, WE, WD, 1.0, be=np.array([0.1, -0.1]), bd=np.array([0, 0, 0.1, 0.2]))
    assert np.allclose(steps["enc.update_b"], expected["enc.update_b"], rtol=1e-12)
    assert np.allclose(steps["dec.update_b"], expected["dec.update_b"], rtol=1e-12)
    assert np.allclose(steps["after.enc.linear"], expected["after.enc.linear"], rtol=1e-12)
    assert "bᵉ" in document["sections"][0]["explanation"]


def test_sizes_and_symbols_are_named_where_the_formulas_use_them(run_json):
    # The sums run to n - 1 and m - 1 and the mse divides by n: the sections say what n and m
    # are. The delta's formula uses the derivative step's value under the name that step gives
    # (σ′ᵈ_i, σ′ᵉ_i), with the index on the whole name, not ∂x̂/∂v_i.
    _, document = run_json("autoencoder", "--x", "1,0,1", "--we", "0.1,0.2,0.3", "--wd", "0.1;0.2;0.3")
    encoder, decoder = document["sections"][0]["explanation"], document["sections"][1]["explanation"]
    assert "n = 3 inputs" in encoder and "m = 1 numbers" in encoder and "n = 3 outputs" in decoder
    steps = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    for which, tag in (("dec", "d"), ("enc", "e")):
        assert f"calls it σ′{'ᵈ' if tag == 'd' else 'ᵉ'}_i" in steps[f"{which}.derivative"]["explanation"]
        assert rf"{{{{\sigma'}}^{{{tag}}}}}_{{i}}" in steps[f"{which}.delta"]["formula"]
        assert r"{\partial v}" not in steps[f"{which}.delta"]["formula"] and r"{\partial u}" not in steps[f"{which}.delta"]["formula"]
    assert "target t is the clean input x and the output o is x̂" in steps["loss"]["explanation"]


def _notes(document, step_id):
    return next(s["notes"] for sec in document["sections"] for s in sec["steps"] if s["id"] == step_id)


def test_notes_are_computed_from_the_numbers(run_json):
    _, document = run_json("autoencoder")
    assert "fell from 0.277489 to 0.263371" in _notes(document, "loss_change")[0]
    assert "x_0, x_1, x_2, x_3" in _notes(document, "loss")[-1]
    # targets inside (0, 1): no note that they are unreachable
    _, document = run_json("autoencoder", "--x", "0.5,0.5,0.5,0.5")
    assert _notes(document, "loss") == []
    # α = 100 overshoots for these numbers: L rises, and the note says so
    steps, document = run_json("autoencoder", "--x", "0.5,0.5,0.5,0.5", "--lr", "100")
    expected = ref_autoencoder(np.full(4, 0.5), WE, WD, 100.0)
    assert expected["loss_after"] > expected["loss"] and steps["loss_change"] > 0
    assert "did not decrease" in _notes(document, "loss_change")[0] and "α = 100" in _notes(document, "loss_change")[0]
    # saturated sigmoids: every gradient is exactly 0, nothing moves
    steps, document = run_json("autoencoder", "--we", "1000,0,0,1000;1000,0,0,1000", "--wd", "1000,1000;1000,1000;1000,1000;1000,1000")
    assert steps["loss_change"] == 0 and not steps["enc.dL_dW"].any() and not steps["dec.dL_dW"].any()
    assert "every gradient is exactly 0" in _notes(document, "loss_change")[0]


def test_seeded_inputs_agree_with_the_reference(run_json):
    for seed in (0, 7):
        steps, document = run_json("autoencoder", "--seed", str(seed))
        given_ = {item["name"]: np.array(item["value"], float) for item in document["inputs"]}
        expected = ref_autoencoder(given_["x"], given_["we"], given_["wd"], float(given_["lr"]))
        for key, value in expected.items():
            assert np.allclose(steps[key], value, rtol=1e-10, atol=1e-13), key


@pytest.mark.parametrize("option,value", [("--we", "0.1,0.2,0.3;0.4,0.5,0.6"), ("--wd", "0.1,0.2;0.3,0.4"),
                                          ("--wd", "0.1,0.2,0.3;0.1,0.2,0.3;0.1,0.2,0.3;0.1,0.2,0.3"),
                                          ("--noise", "0.1,0.2"), ("--be", "0.1,0.2,0.3"), ("--bd", "1,2"),
                                          ("--lr", "-1"), ("--loss", "l1")])
def test_bad_shapes_exit_2_with_one_line(cli, option, value):
    result = cli("autoencoder", option, value)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and option in result.stderr


def test_a_shorter_x_clashes_with_the_default_weights(cli):
    # x fixes n = 3 first; the default Wᵉ (2x4) then has the wrong shape, and the line says so
    result = cli("autoencoder", "--x", "1,0,1")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "--we" in result.stderr and "2x3" in result.stderr


def test_larger_inputs_are_larger():
    larger = json.loads((Path(__file__).parent / "larger" / "autoencoder.json").read_text(encoding="utf-8"))
    assert len(larger["x"].split(",")) > 4 and len(larger["we"].split(";")) > 2


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
small = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)


@st.composite
def inputs(draw):
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    values = draw(st.sampled_from([finite, small]))
    grid = lambda rows, cols: ";".join(",".join(repr(draw(values)) for _ in range(cols)) for _ in range(rows))
    typed = {"x": grid(1, n), "we": grid(m, n), "wd": grid(n, m),
             "lr": repr(draw(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))),
             "loss": draw(st.sampled_from(["mse", "half-sse", "sse"]))}
    for name, size in (("noise", n), ("be", m), ("bd", n)):
        if draw(st.booleans()):
            typed[name] = grid(1, size)
    return {key: (text_, "test") for key, text_ in typed.items()}


@settings(max_examples=20, deadline=None)
@given(inputs())
def test_any_input_in_the_domains_runs_cleanly(typed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("autoencoder", typed)
        except InputError:
            return
    for step in d.steps():
        assert np.all(np.isfinite(np.asarray(step.value, float))), step.id
    assert d["loss_change"].value == pytest.approx(d["loss_after"].value - d["loss"].value)


def test_a_rising_loss_is_a_caution_and_a_falling_one_a_remark():
    # The lecture's example lowers the loss (•), and its unreachable 0/1 targets are a remark;
    # α = 500 on targets of 0.5 overshoots and the loss rises (⚠).
    d = engine.run("autoencoder")
    assert d.find("loss_change").notes and not any(isinstance(note, Caution) for step in d.steps() for note in step.notes)
    rose = engine.run("autoencoder", {"x": ("0.5,0.5,0.5,0.5", "test"), "lr": ("500", "test")}).find("loss_change").notes
    assert len(rose) == 1 and isinstance(rose[0], Caution) and "rose" in rose[0]


def test_the_noisy_input_reads_x_plus_epsilon(cli):
    # x̃ = x + ε, as the section says, not ε + x.
    text = terminal_view(cli, "autoencoder", "--noise", "0.1,0.3,0,-0.2")
    assert "x̃ᵢ = xᵢ + εᵢ" in text and "x̃₀ = 1 + 0.1" in text
