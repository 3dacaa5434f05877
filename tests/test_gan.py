"""gan lesson: step ids, a hand calculation, an independent NumPy GAN step, the test's own
central differences of D's and G's whole losses, the minimax / non-saturating relation,
notes computed from the numbers, saturation, Hypothesis over the domains and bad inputs."""

import json
import math
import re
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

IDS = ["g.linear", "g.activation",
       "d.real.linear", "d.real.activation", "d.fake.linear", "d.fake.activation",
       "d.loss_real", "d.loss_fake", "d.loss",
       "d.real.dL_dD", "d.real.derivative", "d.real.delta", "d.real.dL_dW", "d.real.dL_db",
       "d.fake.dL_dD", "d.fake.derivative", "d.fake.delta", "d.fake.dL_dW", "d.fake.dL_db",
       "d.dL_dw", "d.dL_db",
       "d.update_w", "d.update_b",
       "d.after.real.linear", "d.after.real.activation", "d.after.fake.linear", "d.after.fake.activation",
       "d.loss_after", "d.loss_change",
       "g.loss",
       "g.d.dL_dD", "g.d.derivative", "g.d.delta", "g.dL_dG", "g.derivative", "g.delta", "g.dL_dW", "g.dL_db",
       "g.update_W", "g.update_b",
       "g.after.linear", "g.after.activation", "g.after.d.linear", "g.after.d.activation", "g.loss_after", "g.loss_change",
       "cmp.non_saturating", "cmp.minimax", "cmp.ratio"]
INPUTS = ["z", "wg", "bg", "real", "w", "b", "lr", "g_loss"]

Z = np.array([1.0, -1.0])
WG = np.array([[0.5, 0.2], [0.1, -0.3], [0.4, 0.4]])
BG = np.zeros(3)
X = np.array([1.0, 0.0, 0.0])
W = np.array([1.0, -1.0, -1.0])


# ---- an independent reference, written apart from the lesson and its blocks -------------

def ref_sigma(v):
    v = np.asarray(v, float)
    return np.array([1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t)) for t in v.ravel()]).reshape(v.shape)


def ref_disc(w, b, v):
    s = sum(w[k] * v[k] for k in range(len(v))) + b
    return s, float(ref_sigma(np.array(s)))


def ref_g_term(g_loss, D):
    return -math.log(D) if g_loss == "non-saturating" else math.log(1 - D)


def ref_gan(z, Wg, bg, x, w, b, lr, g_loss="non-saturating"):
    """One alternating GAN step by explicit loops: D's step, then G's step against the updated D."""
    c, m = Wg.shape
    u = np.array([sum(Wg[i, k] * z[k] for k in range(m)) + bg[i] for i in range(c)])
    G = ref_sigma(u)
    sr, Dr = ref_disc(w, b, x)
    sf, Df = ref_disc(w, b, G)
    out = {"g.linear": u, "g.activation": G, "d.real.linear": sr, "d.real.activation": Dr,
           "d.fake.linear": sf, "d.fake.activation": Df,
           "d.loss_real": -math.log(Dr), "d.loss_fake": -math.log(1 - Df)}
    out["d.loss"] = out["d.loss_real"] + out["d.loss_fake"]
    dr, df = -1 / Dr * Dr * (1 - Dr), 1 / (1 - Df) * Df * (1 - Df)
    out.update({"d.real.dL_dD": -1 / Dr, "d.real.derivative": Dr * (1 - Dr), "d.real.delta": dr,
                "d.real.dL_dW": dr * x, "d.real.dL_db": dr,
                "d.fake.dL_dD": 1 / (1 - Df), "d.fake.derivative": Df * (1 - Df), "d.fake.delta": df,
                "d.fake.dL_dW": df * G, "d.fake.dL_db": df,
                "d.dL_dw": np.array([dr * x[k] + df * G[k] for k in range(c)]), "d.dL_db": dr + df})
    w2, b2 = w - lr * out["d.dL_dw"], b - lr * out["d.dL_db"]
    sr2, Dr2 = ref_disc(w2, b2, x)
    sf2, Df2 = ref_disc(w2, b2, G)
    out.update({"d.update_w": w2, "d.update_b": b2, "d.after.real.linear": sr2, "d.after.real.activation": Dr2,
                "d.after.fake.linear": sf2, "d.after.fake.activation": Df2,
                "d.loss_after": -math.log(Dr2) - math.log(1 - Df2)})
    out["d.loss_change"] = out["d.loss_after"] - out["d.loss"]
    # G's step: D′ = (w2, b2) fixed
    out["g.loss"] = ref_g_term(g_loss, Df2)
    dLdD = -1 / Df2 if g_loss == "non-saturating" else -1 / (1 - Df2)
    dG_s = dLdD * Df2 * (1 - Df2)
    dG = np.array([dG_s * w2[k] for k in range(c)])
    dg = np.array([dG[i] * G[i] * (1 - G[i]) for i in range(c)])
    gW = np.array([[dg[i] * z[k] for k in range(m)] for i in range(c)])
    Wg2, bg2 = Wg - lr * gW, bg - lr * dg
    u2 = Wg2 @ z + bg2
    G2 = ref_sigma(u2)
    s3, D3 = ref_disc(w2, b2, G2)
    out.update({"g.d.dL_dD": dLdD, "g.d.derivative": Df2 * (1 - Df2), "g.d.delta": dG_s, "g.dL_dG": dG,
                "g.derivative": G * (1 - G), "g.delta": dg, "g.dL_dW": gW, "g.dL_db": dg,
                "g.update_W": Wg2, "g.update_b": bg2, "g.after.linear": u2, "g.after.activation": G2,
                "g.after.d.linear": s3, "g.after.d.activation": D3, "g.loss_after": ref_g_term(g_loss, D3)})
    out["g.loss_change"] = out["g.loss_after"] - out["g.loss"]
    out.update({"cmp.non_saturating": -(1 - Df2), "cmp.minimax": -Df2, "cmp.ratio": Df2 / (1 - Df2)})
    return out


def loss_D(x, G, w, b):
    """L_D(w, b) = -log D(x) - log(1 - D(G)), G fixed."""
    return -math.log(float(ref_sigma(np.array(np.dot(w, x) + b)))) - math.log(1 - float(ref_sigma(np.array(np.dot(w, G) + b))))


def loss_G(z, Wg, bg, w, b, g_loss="non-saturating"):
    """L_G(Wᵍ, bᵍ) with the discriminator (w, b) held fixed."""
    D = float(ref_sigma(np.array(np.dot(w, ref_sigma(Wg @ z + bg)) + b)))
    return ref_g_term(g_loss, D)


def text(a):
    a = np.atleast_2d(np.asarray(a, float))
    return ";".join(",".join(repr(float(v)) for v in row) for row in a)


def args_for(z, Wg, bg, x, w, b, lr, g_loss="non-saturating"):
    return ["gan", "--z", text(z), "--wg", text(Wg), "--bg", text(bg), "--real", text(x), "--w", text(w),
            "--b", repr(float(b)), "--lr", repr(float(lr)), "--g-loss", g_loss]


def _random_case(seed, c=3, m=2):
    rng = np.random.default_rng(seed)
    return dict(z=rng.normal(0, 1, m).round(3), Wg=rng.normal(0, 1, (c, m)).round(3), bg=rng.normal(0, 0.5, c).round(3),
                x=rng.uniform(0, 1, c).round(3), w=rng.normal(0, 2, c).round(3), b=round(float(rng.normal(0, 1)), 3),
                lr=float(rng.choice([0.1, 0.5, 2.0])))


DEFAULT = dict(z=Z, Wg=WG, bg=BG, x=X, w=W, b=0.0, lr=0.5)
CASES = [DEFAULT, _random_case(1), _random_case(2, c=5, m=4), _random_case(3, c=3, m=6), _random_case(4, c=1, m=1)]


# ---- tests ------------------------------------------------------------------------------

def test_step_ids_are_fixed(run_json):
    steps, document = run_json("gan")
    assert list(steps) == IDS
    assert [item["name"] for item in document["inputs"]] == INPUTS[:-1]
    steps, _ = run_json("gan", "--g-loss", "minimax")
    assert list(steps) == IDS


def test_hand_calculation_of_the_defaults(run_json):
    # By hand, z = (1, -1), Wᵍ = [[.5, .2], [.1, -.3], [.4, .4]], bᵍ = 0, x = (1, 0, 0), w = (1, -1, -1), b = 0:
    # u = Wᵍ z = (0.5 - 0.2, 0.1 + 0.3, 0.4 - 0.4) = (0.3, 0.4, 0); G(z) = σ(u) = (0.574443, 0.598688, 0.5)
    # s_real = 1·1 - 1·0 - 1·0 + 0 = 1;  D(x) = σ(1) = 1 / (1 + e^-1) = 0.731059
    # s_fake = 0.574443 - 0.598688 - 0.5 = -0.524245;  D(G(z)) = 1 / (1 + e^0.524245) = 1 / 2.689235 = 0.371860
    # L_D = -log 0.731059 - log(1 - 0.371860) = 0.313262 + 0.464992 = 0.778254
    # δ_real = D(x) - 1 = -0.268941;  δ_fake = D(G(z)) = 0.371860
    # ∂L_D/∂w = δ_real x + δ_fake G = (-0.268941 + 0.213612, 0.222628, 0.185930) = (-0.055329, 0.222628, 0.185930)
    # ∂L_D/∂b = -0.268941 + 0.371860 = 0.102919;  w′ = w - 0.5 ∂L_D/∂w, so w′₀ = 1.027665, b′ = -0.051459
    steps, _ = run_json("gan")
    assert np.allclose(steps["g.activation"], [0.574443, 0.598688, 0.5], atol=1e-6)
    assert steps["d.real.activation"] == pytest.approx(0.731059, abs=1e-6)
    assert steps["d.fake.linear"] == pytest.approx(-0.524245, abs=1e-6)
    assert steps["d.fake.activation"] == pytest.approx(0.371860, abs=1e-6)
    assert steps["d.loss_real"] == pytest.approx(0.313262, abs=1e-6)
    assert steps["d.loss_fake"] == pytest.approx(0.464992, abs=1e-6)
    assert steps["d.loss"] == pytest.approx(0.778254, abs=1e-6)
    assert steps["d.real.delta"] == pytest.approx(-0.268941, abs=1e-6)
    assert steps["d.fake.delta"] == pytest.approx(0.371860, abs=1e-6)
    assert np.allclose(steps["d.dL_dw"], [-0.055329, 0.222628, 0.185930], atol=1e-6)
    assert steps["d.dL_db"] == pytest.approx(0.102919, abs=1e-6)
    assert steps["d.update_w"][0] == pytest.approx(1.027665, abs=1e-6)
    assert steps["d.update_b"] == pytest.approx(-0.051459, abs=1e-6)


@pytest.mark.parametrize("g_loss", ["non-saturating", "minimax"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_value_agrees_with_the_reference(run_json, case, g_loss):
    c = CASES[case]
    steps, _ = run_json(*args_for(**c, g_loss=g_loss))
    expected = ref_gan(**c, g_loss=g_loss)
    assert set(steps) == set(expected)
    for key, value in expected.items():
        assert np.allclose(steps[key], value, rtol=1e-9, atol=1e-12), key


def test_seeded_inputs_agree_with_the_reference(run_json):
    for seed in (0, 5):
        steps, document = run_json("gan", "--seed", str(seed))
        g = {item["name"]: item["value"] for item in document["inputs"]}
        expected = ref_gan(np.array(g["z"]), np.array(g["wg"]), np.array(g["bg"]), np.array(g["real"]), np.array(g["w"]),
                           float(g["b"]), float(g["lr"]))
        for key, value in expected.items():
            assert np.allclose(steps[key], value, rtol=1e-9, atol=1e-12), key


@pytest.mark.parametrize("g_loss", ["non-saturating", "minimax"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_against_own_central_differences(run_json, case, g_loss):
    c = CASES[case]
    steps, _ = run_json(*args_for(**c, g_loss=g_loss))
    G = steps["g.activation"]
    # D's gradient: the whole L_D as a function of w and of b, G(z) fixed
    assert np.allclose(steps["d.dL_dw"], central_difference(lambda p: loss_D(c["x"], G, p, c["b"]), c["w"]), atol=1e-7)
    assert steps["d.dL_db"] == pytest.approx(central_difference(lambda p: loss_D(c["x"], G, c["w"], float(p)), c["b"]), abs=1e-7)
    # G's gradient: the whole L_G as a function of Wᵍ and bᵍ, with the UPDATED D (w′, b′) fixed
    w2, b2 = steps["d.update_w"], float(steps["d.update_b"])
    fW = central_difference(lambda p: loss_G(c["z"], p, c["bg"], w2, b2, g_loss), c["Wg"])
    fb = central_difference(lambda p: loss_G(c["z"], c["Wg"], p, w2, b2, g_loss), c["bg"])
    assert np.allclose(steps["g.dL_dW"], fW, atol=1e-7)
    assert np.allclose(steps["g.dL_db"], fb, atol=1e-7)
    # and ∂L_G/∂G(z) through D′'s weights
    fG = central_difference(lambda p: ref_g_term(g_loss, float(ref_sigma(np.array(np.dot(w2, p) + b2)))), G)
    assert np.allclose(steps["g.dL_dG"], fG, atol=1e-7)
    # with the OLD D, the gradient would differ: the lesson uses the updated one
    old = central_difference(lambda p: loss_G(c["z"], p, c["bg"], c["w"], c["b"], g_loss), c["Wg"])
    assert not np.allclose(steps["g.dL_dW"], old, atol=1e-9)
    # each update is one step against its gradient, and the losses after are the losses there
    assert steps["d.loss_after"] == pytest.approx(loss_D(c["x"], G, w2, b2), rel=1e-12)
    assert steps["g.loss_after"] == pytest.approx(loss_G(c["z"], steps["g.update_W"], steps["g.update_b"], w2, b2, g_loss), rel=1e-12, abs=1e-15)


def test_minimax_and_non_saturating_gradients_differ_by_D_over_1_minus_D(run_json):
    # At the same point x, with D = σ(w·x + b) and σ' = D(1 - D):
    #   ∂/∂x log(1 - D) = -1/(1 - D) · D(1 - D) · w = -D w
    #   ∂/∂x (-log D)   = -1/D · D(1 - D) · w       = -(1 - D) w
    # so the minimax gradient is D/(1 - D) times the non-saturating one, in the same direction:
    # smaller when D < 1/2, vanishing as D → 0 (the fake is spotted) while -(1 - D) w → -w.
    for c in CASES:
        ns, _ = run_json(*args_for(**c, g_loss="non-saturating"))
        mm, _ = run_json(*args_for(**c, g_loss="minimax"))
        D = float(ns["d.after.fake.activation"])
        assert float(mm["d.after.fake.activation"]) == D  # D's step does not depend on G's loss
        assert np.allclose(mm["g.dL_dG"], D / (1 - D) * ns["g.dL_dG"], rtol=1e-12, atol=1e-15)
        assert np.allclose(mm["g.dL_dW"], D / (1 - D) * ns["g.dL_dW"], rtol=1e-10, atol=1e-15)
        assert ns["cmp.ratio"] == pytest.approx(D / (1 - D), rel=1e-12)
        assert ns["cmp.minimax"] == mm["g.d.delta"] and ns["cmp.non_saturating"] == ns["g.d.delta"]
        # the test's own differences at the logit: d/ds log(1 - σ(s)) and d/ds (-log σ(s))
        s = float(ns["d.after.fake.linear"])
        d_mm = central_difference(lambda p: math.log(1 - float(ref_sigma(p))), np.array(s))
        d_ns = central_difference(lambda p: -math.log(float(ref_sigma(p))), np.array(s))
        assert ns["cmp.minimax"] == pytest.approx(float(d_mm), abs=1e-8)
        assert ns["cmp.non_saturating"] == pytest.approx(float(d_ns), abs=1e-8)


def _notes(document, step_id):
    return next(s["notes"] for sec in document["sections"] for s in sec["steps"] if s["id"] == step_id)


def test_notes_are_computed_from_the_numbers(run_json):
    _, document = run_json("gan")
    colour = _notes(document, "g.activation")[0]
    assert "nearest to grey" in colour and "0.8886" in colour and "red channel is 0.574" in colour
    assert "< 1/2" in _notes(document, "cmp.ratio")[0] and "0.5102" in _notes(document, "cmp.ratio")[0]
    assert "fell from 0.778254" in _notes(document, "d.loss_change")[0]
    assert "closer to the real one" in _notes(document, "g.after.activation")[1]
    # a generator already near red, and a discriminator that likes it: D′(G(z)) > 1/2
    _, document = run_json("gan", "--bg", "3,-3,-3", "--w", "1,-1,-1", "--b", "2")
    assert "nearest to red" in _notes(document, "g.activation")[0]
    assert "> 1/2" in _notes(document, "cmp.ratio")[0] and "minimax gradient is the larger" in _notes(document, "cmp.ratio")[0]
    # the updated D is stated on screen
    sections = [sec for sec in document["sections"] if sec["title"].startswith("Generator loss")]
    assert "UPDATED discriminator" in sections[0]["explanation"]
    # other channel counts: no colour names, only the distance
    _, document = run_json("gan", "--wg", "1,0;0,1", "--bg", "0,0", "--real", "1,0", "--w", "1,-1")
    assert _notes(document, "g.activation")[0].startswith("distance to the real colour")


def _steps(document):
    return {s["id"]: s for sec in document["sections"] for s in sec["steps"]}


def test_it_reads_in_the_lectures_order_with_every_number_worked_out(cli, run_json):
    # Issue 14 "Reading": the generator's weighted sum is written as the prose writes it, the sum
    # before the bias; the channel count is c, as in "Wᵍ of shape (c, m)"; the gradient's index is
    # j in the prose as in the formulas; each scalar sigmoid and σ' shows its numbers.
    _, document = run_json("gan")
    steps = _steps(document)
    for id in ("g.linear", "g.after.linear"):
        formula = steps[id]["formula"]
        assert formula.index(r"\sum") < formula.index("{b^{g}}"), formula
    assert "c - 1" in steps["d.real.linear"]["formula"] and "n - 1" not in steps["d.real.linear"]["formula"]
    sections = {sec["title"]: sec["explanation"] for sec in document["sections"]}
    assert "∂s/∂w_j = the input's channel j" in sections["Discriminator gradients"] and "w_k" not in sections["Discriminator gradients"]
    assert "∂L_G/∂Wᵍ_ij" in sections["Generator gradients, flowing back through D′"]
    for id in ("d.real.delta", "d.fake.delta", "g.d.delta"):
        assert steps[id]["title"] == "Delta: the gradient at the logit"
    # the colour after G's update is named G′(z) in its note
    assert "‖G(z) - x‖" in steps["g.activation"]["notes"][0]
    assert "‖G′(z) - x‖" in steps["g.after.activation"]["notes"][0]
    # the minimax gradient is about the updated D′, as the non-saturating one is
    _, document = run_json("gan", "--g-loss", "minimax")
    assert "∂ log(1 - D′)/∂D′" in _steps(document)["g.d.delta"]["explanation"]
    # the terminal: σ' = D(1 - D) written out with D for each of the three units, and D(x) from its logit
    result = cli("gan", "--no-pager")
    assert result.exit_code == 0
    for D in ("0.7311", "0.3719", "0.3378"):
        assert f"= {D}⋅(1 - {D})" in result.stdout
    real = result.stdout.split("2.2 Sigmoid")[1].split("2.3 ")[0]
    assert real.count("1 + ℯ") == 2 and " -1 " in real  # the formula, then 1 / (1 + e^-1)


def test_saturated_discriminator_stays_finite(run_json):
    # b = 800: D(x) and D(G(z)) round to 1; -log(1 - D(G(z))) would be log 0, and 1/(1 - D) infinite
    steps, document = run_json("gan", "--b", "800")
    assert "d.fake.dL_dD" not in steps and "g.d.dL_dD" in steps
    assert all(np.all(np.isfinite(v)) for v in steps.values())
    s = float(steps["d.fake.linear"])
    assert steps["d.loss_fake"] == pytest.approx(s + math.log1p(math.exp(-s)), rel=1e-15)
    assert steps["d.fake.delta"] == 1.0
    assert "rounds to exactly 1" in _notes(document, "d.loss_fake")[0]
    assert "not shown" in _notes(document, "d.fake.delta")[0]
    # the minimax G loss with D′(G(z)) = 1: its gradient and the ratio
    steps, document = run_json("gan", "--b", "800", "--g-loss", "minimax")
    assert "cmp.ratio" not in steps and "g.d.dL_dD" not in steps
    assert "ratio of the two is not defined" in _notes(document, "cmp.minimax")[-1]
    assert steps["g.loss"] == pytest.approx(-float(steps["d.after.fake.linear"]), rel=1e-12)


def test_a_log_that_loses_digits_is_taken_from_the_logit(run_json):
    # D(G(z)) = σ(30): 1 - D keeps about 3 digits in float64; the term is log(1 + e^30) from the logit
    steps, document = run_json("gan", "--w", "0,0,0", "--b", "30")
    assert steps["d.loss_fake"] == pytest.approx(30 + math.log1p(math.exp(-30)), rel=1e-15)
    assert "keeps few digits" in _notes(document, "d.loss_fake")[0]


def test_larger_inputs_are_larger():
    larger = json.loads((Path(__file__).parent / "larger" / "gan.json").read_text(encoding="utf-8"))
    assert len(larger["z"].split(",")) > 2 and len(larger["wg"].split(";")) > 3


@pytest.mark.parametrize("option,value", [("--real", "1,2,0"), ("--real", "1,-1,0"), ("--real", "1,0"),
                                          ("--wg", "0.1,0.2,0.3;0.4,0.5,0.6;0.1,0.1,0.1"), ("--bg", "0,0"),
                                          ("--w", "1,2"), ("--b", "1,2"), ("--lr", "0"), ("--lr", "-1"),
                                          ("--g-loss", "wasserstein"), ("--z", "1;2")])
def test_bad_inputs_exit_2_with_one_line(cli, option, value):
    result = cli("gan", option, value)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and option in result.stderr


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
small = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)


@st.composite
def inputs(draw):
    c, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    values = draw(st.sampled_from([finite, small]))
    grid = lambda rows, cols, kind=values: ";".join(",".join(repr(draw(kind)) for _ in range(cols)) for _ in range(rows))
    unit = st.floats(min_value=0, max_value=1.5, allow_nan=False)
    return {key: (text_, "test") for key, text_ in {
        "z": grid(1, m), "wg": grid(c, m), "bg": grid(1, c), "real": grid(1, c, unit), "w": grid(1, c), "b": grid(1, 1),
        "lr": repr(draw(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))),
        "g_loss": draw(st.sampled_from(["non-saturating", "minimax"]))}.items()}


@settings(max_examples=20, deadline=None)
@given(inputs())
def test_any_input_in_the_domains_runs_cleanly(typed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("gan", typed)
        except InputError as error:  # a clean exit 2: entries of --real above 1, or numbers below 1e-300
            assert "\n" not in str(error) and str(error).startswith("--")
            return
    for step in d.steps():
        assert np.all(np.isfinite(np.asarray(step.value, float))), step.id
    assert d["d.loss_change"].value == pytest.approx(d["d.loss_after"].value - d["d.loss"].value)
    assert d["d.loss"].value >= 0


def test_float64_edges_are_cautions_and_the_lectures_story_remarks():
    # The default tells the lecture's story (colours, D's judgements, falling losses): remarks
    # only. With b = 50, D rounds to exactly 1: the fake term's log 0, the infinite ∂L/∂D, the
    # generator stuck with every gradient 0 and the undefined ratio are warnings (⚠).
    assert not any(isinstance(note, Caution) for step in engine.run("gan").steps() for note in step.notes)
    d = engine.run("gan", {"w": ("0,0,0", "test"), "b": ("50", "test")})
    for step in ("d.loss_fake", "d.fake.delta", "g.loss_change", "cmp.minimax"):
        assert d.find(step).notes and all(isinstance(note, Caution) for note in d.find(step).notes), step
    assert not any(isinstance(note, Caution) for note in d.find("d.loss_change").notes)  # the loss fell


def test_the_discriminator_loss_and_its_gradients_read_real_then_fake(cli):
    # L_D = L_real + L_fake as its explanation, and each gradient's sum in the same order.
    text = terminal_view(cli, "gan")
    assert re.search(r"^  L_D = L_real \+ L_fake *$", text, re.M)  # the formula, not its explanation (with a full stop)
    assert "─── = ∂L_real/∂wⱼ + ∂L_fake/∂wⱼ" in text and "─── = ∂L_real/∂b + ∂L_fake/∂b" in text
    assert "= 0.3133 + 0.465" in text
