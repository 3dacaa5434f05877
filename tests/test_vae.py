"""vae lesson: step ids, an independent NumPy VAE step, the test's own central differences of
the whole loss, the closed-form KL against a seeded Monte-Carlo estimate, a hand-worked KL,
notes computed from the numbers, Hypothesis over the input domains and bad inputs."""

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

IDS = ["enc.linear", "enc.activation", "mu.linear", "logvar.linear", "sigma", "z", "dec.linear", "dec.activation",
       "recon.loss", "recon.gradient", "kl.terms", "kl", "loss",
       "dec.derivative", "dec.delta", "dec.dL_dW", "dec.dL_db", "dec.dL_dx",
       "dz_dmu", "dz_dlogvar", "kl.dmu", "kl.dlogvar", "dL_dmu", "dL_dlogvar",
       "mu.dL_dW", "mu.dL_db", "logvar.dL_dW", "logvar.dL_db", "dL_dh", "enc.derivative", "enc.delta", "enc.dL_dW", "enc.dL_db",
       "enc.update_W", "enc.update_b", "mu.update_W", "mu.update_b", "logvar.update_W", "logvar.update_b",
       "dec.update_W", "dec.update_b",
       "after.enc.linear", "after.enc.activation", "after.mu.linear", "after.logvar.linear", "after.sigma", "after.z",
       "after.dec.linear", "after.dec.activation", "after.recon", "after.kl", "loss_after", "loss_change",
       "gen.z", "gen.linear", "gen.activation"]
INPUTS = ["x", "wh", "bh", "wmu", "bmu", "wv", "bv", "wd", "bd", "eps", "eps_new", "beta", "lr"]

# the lesson's documented defaults (META and DEFAULTS): x of 4, hidden 3, latent 2
DEFAULT = dict(x=[1, 0, 0.5, 1],
               wh=[[0.2, -0.1, 0.3, 0.1], [-0.3, 0.2, 0.1, 0.4], [0.1, 0.3, -0.2, 0.2]], bh=[0, 0, 0],
               wmu=[[0.5, -0.3, 0.2], [-0.4, 0.6, 0.1]], bmu=[0, 0],
               wv=[[0.3, 0.2, -0.5], [-0.2, 0.4, 0.3]], bv=[0, 0],
               wd=[[0.6, -0.2], [-0.5, 0.3], [0.4, 0.5], [-0.1, -0.4]], bd=[0, 0, 0, 0],
               eps=[0.5, -1.0], eps_new=[-0.3, 0.8], beta=1.0, lr=0.5)
DEFAULT = {key: np.array(value, float) if isinstance(value, list) else value for key, value in DEFAULT.items()}
WEIGHTS = ("wh", "bh", "wmu", "bmu", "wv", "bv", "wd", "bd")


# ---- an independent reference, written apart from the lesson and its blocks -------------

def ref_sigmoid(v):
    return np.array([1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t)) for t in np.ravel(v)])


def ref_forward(c, W=None):
    W = W or {key: c[key] for key in WEIGHTS}
    x, eps = c["x"], c["eps"]
    u = np.array([sum(W["wh"][r, k] * x[k] for k in range(len(x))) + W["bh"][r] for r in range(len(W["bh"]))])
    h = np.tanh(u)
    mu = W["wmu"] @ h + W["bmu"]
    lv = W["wv"] @ h + W["bv"]
    sigma = np.sqrt(np.exp(lv))
    z = mu + sigma * eps
    v = W["wd"] @ z + W["bd"]
    return dict(u=u, h=h, mu=mu, lv=lv, sigma=sigma, z=z, v=v, xh=ref_sigmoid(v))


def ref_recon(recon, reduction, xh, x):
    if recon == "mse":
        per = (x - xh) ** 2
    else:
        per = np.array([-(t * math.log(o) if t else 0) - ((1 - t) * math.log(1 - o) if t != 1 else 0) for t, o in zip(x, xh)])
    return float(per.mean() if reduction == "mean" else per.sum())


def ref_kl_terms(mu, lv):
    return np.array([0.5 * (a * a + math.exp(b) - b - 1) for a, b in zip(mu, lv)])


def ref_loss(c, W=None, recon="bce", reduction="sum", fixed=None):
    """L(W) = L_rec + β KL with ε fixed; `fixed` holds one of mu, lv at a given value."""
    f = ref_forward(c, W)
    if fixed:
        f.update(fixed)
        f["z"] = f["mu"] + np.sqrt(np.exp(f["lv"])) * c["eps"]
        W_ = W or c
        f["xh"] = ref_sigmoid(W_["wd"] @ f["z"] + W_["bd"])
    return ref_recon(recon, reduction, f["xh"], c["x"]) + c["beta"] * ref_kl_terms(f["mu"], f["lv"]).sum()


def ref_vae(c, recon="bce", reduction="sum"):
    """Every printed value of one VAE step: forward, backward by hand, update, L′, generation."""
    f = ref_forward(c)
    x, xh, eps, beta, lr = c["x"], f["xh"], c["eps"], c["beta"], c["lr"]
    per = len(x) if reduction == "mean" else 1
    g = (2 * (xh - x) if recon == "mse" else (xh - x) / (xh * (1 - xh))) / per
    dd = g * xh * (1 - xh)
    dz = np.array([sum(c["wd"][r, q] * dd[r] for r in range(len(x))) for q in range(len(eps))])
    dz_dlv = 0.5 * f["sigma"] * eps
    dmu = dz + beta * f["mu"]
    dlv = dz * dz_dlv + beta * 0.5 * (f["sigma"] ** 2 - 1)
    dh = c["wmu"].T @ dmu + c["wv"].T @ dlv
    de = dh * (1 - f["h"] ** 2)
    grads = {"wd": np.outer(dd, f["z"]), "bd": dd, "wmu": np.outer(dmu, f["h"]), "bmu": dmu,
             "wv": np.outer(dlv, f["h"]), "bv": dlv, "wh": np.outer(de, x), "bh": de}
    new = {key: c[key] - lr * grads[key] for key in WEIGHTS}
    f2 = ref_forward(c, new)
    kl = ref_kl_terms(f["mu"], f["lv"])
    rec = ref_recon(recon, reduction, xh, x)
    L, rec2 = rec + beta * kl.sum(), ref_recon(recon, reduction, f2["xh"], x)
    L2 = rec2 + beta * ref_kl_terms(f2["mu"], f2["lv"]).sum()
    v_gen = new["wd"] @ c["eps_new"] + new["bd"]
    out = {"enc.linear": f["u"], "enc.activation": f["h"], "mu.linear": f["mu"], "logvar.linear": f["lv"], "sigma": f["sigma"],
           "z": f["z"], "dec.linear": f["v"], "dec.activation": xh, "recon.loss": rec, "recon.gradient": g,
           "kl.terms": kl, "kl": kl.sum(), "loss": L, "dec.derivative": xh * (1 - xh), "dec.delta": dd,
           "dec.dL_dW": grads["wd"], "dec.dL_db": dd, "dec.dL_dx": dz, "dz_dmu": np.ones_like(eps), "dz_dlogvar": dz_dlv,
           "kl.dmu": f["mu"], "kl.dlogvar": 0.5 * (f["sigma"] ** 2 - 1), "dL_dmu": dmu, "dL_dlogvar": dlv,
           "mu.dL_dW": grads["wmu"], "mu.dL_db": dmu, "logvar.dL_dW": grads["wv"], "logvar.dL_db": dlv, "dL_dh": dh,
           "enc.derivative": 1 - f["h"] ** 2, "enc.delta": de, "enc.dL_dW": grads["wh"], "enc.dL_db": de,
           "after.enc.linear": f2["u"], "after.enc.activation": f2["h"], "after.mu.linear": f2["mu"],
           "after.logvar.linear": f2["lv"], "after.sigma": f2["sigma"], "after.z": f2["z"], "after.dec.linear": f2["v"],
           "after.dec.activation": f2["xh"], "after.recon": rec2, "after.kl": ref_kl_terms(f2["mu"], f2["lv"]).sum(),
           "loss_after": L2, "loss_change": L2 - L, "gen.z": c["eps_new"], "gen.linear": v_gen, "gen.activation": ref_sigmoid(v_gen)}
    for layer, W, b in (("enc", "wh", "bh"), ("mu", "wmu", "bmu"), ("logvar", "wv", "bv"), ("dec", "wd", "bd")):
        out[f"{layer}.update_W"], out[f"{layer}.update_b"] = new[W], new[b]
    return out


def text(a):
    a = np.atleast_2d(np.asarray(a, float))
    return ";".join(",".join(repr(float(v)) for v in row) for row in a)


def args_for(c, recon="bce", reduction="sum"):
    out = ["vae", "--recon", recon, "--reduction", reduction]
    for key, value in c.items():
        out += ["--" + key.replace("_", "-"), text(value) if not np.isscalar(value) else repr(float(value))]
    return out


def _random_case(seed, n=4, H=3, m=2):
    rng = np.random.default_rng(seed)
    case = dict(x=rng.uniform(0, 1, n).round(3), eps=rng.normal(0, 1, m).round(3), eps_new=rng.normal(0, 1, m).round(3),
                beta=float(rng.choice([0.0, 0.5, 1.0, 4.0])), lr=float(rng.choice([0.05, 0.5, 2.0])))
    for key, shape in (("wh", (H, n)), ("bh", H), ("wmu", (m, H)), ("bmu", m), ("wv", (m, H)), ("bv", m), ("wd", (n, m)), ("bd", n)):
        case[key] = rng.normal(0, 0.8, shape).round(3)
    return case


CASES = [DEFAULT, _random_case(1), _random_case(2, n=6, H=4, m=3), _random_case(3, n=2, H=1, m=1), _random_case(4, n=5, H=5, m=4)]
KINDS = [("bce", "sum"), ("bce", "mean"), ("mse", "sum"), ("mse", "mean")]


# ---- tests ------------------------------------------------------------------------------

def test_step_ids_are_fixed(run_json):
    for recon, reduction in KINDS:
        steps, document = run_json("vae", "--recon", recon, "--reduction", reduction)
        assert list(steps) == IDS
        assert [item["name"] for item in document["inputs"]] == INPUTS


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_value_agrees_with_the_reference(run_json, case, kind):
    c = CASES[case]
    steps, _ = run_json(*args_for(c, *kind))
    expected = ref_vae(c, *kind)
    assert set(steps) == set(expected)
    for key, value in expected.items():
        assert np.allclose(steps[key], value, rtol=1e-9, atol=1e-12), key


def test_the_defaults_are_the_documented_ones(run_json):
    steps, document = run_json("vae")
    given_ = {item["name"]: item["value"] for item in document["inputs"]}
    for key, value in DEFAULT.items():
        assert np.allclose(given_[key], value), key
    for key, value in ref_vae(DEFAULT).items():
        assert np.allclose(steps[key], value, rtol=1e-9, atol=1e-12), key


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_against_own_central_differences_of_the_whole_loss(run_json, case):
    c = CASES[case]
    recon, reduction = KINDS[case % 4]
    steps, _ = run_json(*args_for(c, recon, reduction))
    W = {key: c[key] for key in WEIGHTS}

    def by(name):
        return central_difference(lambda p: ref_loss(c, {**W, name: p}, recon, reduction), W[name])

    for layer, Wk, bk in (("enc", "wh", "bh"), ("mu", "wmu", "bmu"), ("logvar", "wv", "bv"), ("dec", "wd", "bd")):
        assert np.allclose(steps[f"{layer}.dL_dW"], by(Wk), atol=1e-6), layer
        assert np.allclose(steps[f"{layer}.dL_db"], by(bk), atol=1e-6), layer
    # through the trick, ε held fixed: the whole loss by μ and by log σ²
    f = ref_forward(c)
    dmu = central_difference(lambda p: ref_loss(c, None, recon, reduction, {"mu": p}), f["mu"])
    dlv = central_difference(lambda p: ref_loss(c, None, recon, reduction, {"lv": p}), f["lv"])
    assert np.allclose(steps["dL_dmu"], dmu, atol=1e-6)
    assert np.allclose(steps["dL_dlogvar"], dlv, atol=1e-6)
    # z = μ + exp(½ log σ²) ε by log σ²: ½ σ ε, entry by entry (the Jacobian is diagonal)
    dz = central_difference(lambda p: np.sum(f["mu"] + np.exp(0.5 * p) * c["eps"]), f["lv"])
    assert np.allclose(steps["dz_dlogvar"], dz, atol=1e-8)
    # KL alone: ∂KL/∂μ = μ and ∂KL/∂log σ² = ½(σ² - 1)
    assert np.allclose(steps["kl.dmu"], central_difference(lambda p: ref_kl_terms(p, f["lv"]).sum(), f["mu"]), atol=1e-8)
    assert np.allclose(steps["kl.dlogvar"], central_difference(lambda p: ref_kl_terms(f["mu"], p).sum(), f["lv"]), atol=1e-8)
    # the update is one step against these gradients, and L′ is the loss at the new weights with the same ε
    new = {key: steps[f"{layer}.update_{kind}"] for layer, Wk, bk in (("enc", "wh", "bh"), ("mu", "wmu", "bmu"),
           ("logvar", "wv", "bv"), ("dec", "wd", "bd")) for kind, key in (("W", Wk), ("b", bk))}
    assert np.allclose(new["wv"], c["wv"] - c["lr"] * by("wv"), atol=1e-6)
    assert steps["loss_after"] == pytest.approx(ref_loss(c, new, recon, reduction), rel=1e-10)


def _mc_kl(mu, logvar, seed, N=200_000):
    """E_q[log q(z) - log p(z)] over N draws z ~ q = N(μ, diag σ²), and its standard error."""
    rng = np.random.default_rng(seed)
    sigma = np.exp(0.5 * np.asarray(logvar))
    z = mu + sigma * rng.standard_normal((N, len(mu)))
    log_q = np.sum(-0.5 * ((z - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi), axis=1)
    log_p = np.sum(-0.5 * z**2 - 0.5 * np.log(2 * np.pi), axis=1)
    samples = log_q - log_p
    return samples.mean(), samples.std(ddof=1) / np.sqrt(N)


@pytest.mark.parametrize("args", [(), ("--seed", "5"), ("--bmu", "1.5,-2", "--bv", "1,-1.5"),
                                  ("--wv", "0,0,0;0,0,0", "--bv", "-2,0.7", "--bmu", "0.3,0")])
def test_closed_form_kl_against_a_seeded_monte_carlo_estimate(run_json, args):
    # tolerance: 4 standard errors of the Monte-Carlo mean (N = 200,000, seeded), a chance of
    # about 6e-5 of failing for a correct closed form; the error of a wrong one (a missing ½,
    # σ in place of σ², a missing -1) is many standard errors away for these numbers.
    steps, _ = run_json("vae", *args)
    estimate, se = _mc_kl(steps["mu.linear"], steps["logvar.linear"], seed=20240623)
    assert abs(steps["kl"] - estimate) < 4 * se, (steps["kl"], estimate, se)


def test_hand_calculation_of_the_kl_and_the_trick(run_json):
    # μ = (0.5, -0.5), log σ² = (0, log 0.25) from zero head weights and these biases; ε = (0.5, -1):
    # σ = exp(½ log σ²) = (1, 0.5), σ² = (1, 0.25)
    # κ₀ = ½(0.25 + 1 - 0 - 1) = 0.125
    # κ₁ = ½(0.25 + 0.25 - log 0.25 - 1) = ½(-0.5 + 1.3862944) = 0.4431472
    # KL = 0.125 + 0.4431472 = 0.5681472
    # z = μ + σ ε = (0.5 + 0.5, -0.5 - 0.5) = (1, -1)
    # ∂z/∂log σ² = ½ σ ε = (0.25, -0.25); ∂KL/∂μ = μ = (0.5, -0.5); ∂KL/∂log σ² = ½(σ² - 1) = (0, -0.375)
    log_quarter = repr(math.log(0.25))
    steps, _ = run_json("vae", "--wmu", "0,0,0;0,0,0", "--bmu", "0.5,-0.5", "--wv", "0,0,0;0,0,0", "--bv", f"0,{log_quarter}")
    assert np.allclose(steps["sigma"], [1, 0.5])
    assert np.allclose(steps["kl.terms"], [0.125, 0.4431472], atol=1e-7)
    assert steps["kl"] == pytest.approx(0.5681472, abs=1e-7)
    assert np.allclose(steps["z"], [1, -1])
    assert np.allclose(steps["dz_dlogvar"], [0.25, -0.25])
    assert np.allclose(steps["kl.dmu"], [0.5, -0.5])
    assert np.allclose(steps["kl.dlogvar"], [0, -0.375], atol=1e-15)


def test_generation_uses_the_new_eps_alone_and_the_updated_decoder(run_json):
    base, _ = run_json("vae")
    other, _ = run_json("vae", "--eps-new", "1.5,-0.2")
    assert np.allclose(other["gen.z"], [1.5, -0.2])
    expected = ref_sigmoid(base["dec.update_W"] @ np.array([1.5, -0.2]) + base["dec.update_b"])
    assert np.allclose(other["gen.activation"], expected, rtol=1e-12)
    # ε_new changes nothing but the generation
    for key in IDS:
        if not key.startswith("gen."):
            assert np.array_equal(base[key], other[key]), key


def test_same_eps_before_and_after_the_update(run_json):
    steps, _ = run_json("vae")
    eps = (steps["after.z"] - steps["after.mu.linear"]) / steps["after.sigma"]
    assert np.allclose(eps, DEFAULT["eps"])


def test_seeded_inputs_agree_with_the_reference(run_json):
    for seed in (0, 7):
        steps, document = run_json("vae", "--seed", str(seed))
        c = {item["name"]: (np.array(item["value"], float) if isinstance(item["value"], list) else float(item["value"]))
             for item in document["inputs"]}
        assert np.all((c["x"] >= 0) & (c["x"] <= 1))
        assert not np.allclose(c["eps"], DEFAULT["eps"])
        for key, value in ref_vae(c).items():
            assert np.allclose(steps[key], value, rtol=1e-9, atol=1e-12), key


def test_sizes_follow_the_typed_inputs(run_json):
    steps, _ = run_json("vae", "--eps", "1,0.5,-0.5", "--x", "1,0,1")
    assert np.shape(steps["z"]) == (3,) and np.shape(steps["enc.linear"]) == (3,) and np.shape(steps["dec.activation"]) == (3,)
    steps, _ = run_json("vae", "--wh", "0.1,0.2,0.3,0.4;0.1,0.2,0.3,0.4;0.1,0.2,0.3,0.4;0.1,0.2,0.3,0.4;0.1,0.2,0.3,0.4")
    assert np.shape(steps["enc.linear"]) == (5,) and np.shape(steps["mu.dL_dW"]) == (2, 5)


def _notes(document, step_id):
    return next(s["notes"] for sec in document["sections"] for s in sec["steps"] if s["id"] == step_id)


def test_notes_are_computed_from_the_numbers(run_json):
    steps, document = run_json("vae")
    assert _notes(document, "loss_change")[0].startswith("L fell from")
    assert "the reconstruction dominates" in _notes(document, "loss")[0]
    assert "close to the prior" in _notes(document, "sigma")[0]
    assert _notes(document, "dz_dlogvar") == []
    # a large μ and a tiny σ²: the KL dominates, σ² far from 1
    _, document = run_json("vae", "--bmu", "3,-3", "--bv", "-4,0", "--beta", "2")
    assert "the KL term dominates" in _notes(document, "loss")[0]
    assert "σ²_0" in _notes(document, "sigma")[0] and "far from" in _notes(document, "sigma")[0]
    # β = 0: no KL term; ε₁ = 0: only the KL moves log σ²₁
    _, document = run_json("vae", "--beta", "0", "--eps", "0.5,0")
    assert "L is the reconstruction loss alone" in _notes(document, "loss")[0]
    assert "ε_1 = 0" in _notes(document, "dz_dlogvar")[0]
    # the prior itself: KL = 0 exactly
    steps, document = run_json("vae", "--wmu", "0,0,0;0,0,0", "--wv", "0,0,0;0,0,0")
    assert steps["kl"] == 0 and "exactly 0" in _notes(document, "kl")[0]
    # an overshooting step: L rises and the note says so
    steps, document = run_json("vae", "--lr", "60")
    assert steps["loss_change"] > 0 and "overshoot" in _notes(document, "loss_change")[0]


def test_it_reads_in_the_lectures_order_in_its_own_symbols(run_json):
    # Issue 14 "Reading": every weighted sum is written as the prose writes it (Σ_k W_ik x_k + b_i,
    # the sum before the bias, as the numbers under it); the pass after the update is explained in
    # its own primed symbols; no word of the code's inner workings ("block") reaches the student.
    _, document = run_json("vae")
    steps = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    for id in ("enc.linear", "mu.linear", "logvar.linear", "dec.linear", "after.enc.linear", "after.mu.linear",
               "after.logvar.linear", "after.dec.linear", "gen.linear"):
        formula = steps[id]["formula"]
        assert formula.index(r"\sum") < formula.rindex("{b^{"), (id, formula)
    assert steps["sigma"]["explanation"].startswith("σ_i = exp(½ log σ²_i) = √(σ²_i)")
    assert steps["after.sigma"]["explanation"].startswith("σ′_i = exp(½ log σ²′_i) = √(σ′²_i)")
    assert steps["z"]["explanation"].startswith("z_i = μ_i + σ_i ε_i with the same ε:")
    assert steps["after.z"]["explanation"].startswith("z′_i = μ′_i + σ′_i ε_i with the same ε as before the update")
    assert all("block" not in text for sec in document["sections"]
               for text in [sec["explanation"]] + [s["explanation"] for s in sec["steps"]])


def test_a_saturated_decoder_with_bce_after_the_update_is_written_from_the_logit(run_json):
    # one large step drives x̂′ to exactly 0 or 1: L_rec′ comes from the logit, log(1 + e^v) - x v
    steps, document = run_json("vae", "--lr", "100")
    xh = steps["after.dec.activation"]
    assert np.any((xh == 0) | (xh == 1))
    assert "logit" in _notes(document, "after.recon")[0]
    v = steps["after.dec.linear"]
    assert steps["after.recon"] == pytest.approx(np.sum(np.logaddexp(0, v) - DEFAULT["x"] * v), rel=1e-12)


def test_larger_inputs_are_larger():
    larger = json.loads((Path(__file__).parent / "larger" / "vae.json").read_text(encoding="utf-8"))
    assert len(larger["x"].split(",")) > 4 and len(larger["wh"].split(";")) > 3 and len(larger["eps"].split(",")) > 2


@pytest.mark.parametrize("option,value", [("--wh", "0.1,0.2,0.3;0.4,0.5,0.6"), ("--wd", "0.1,0.2;0.3,0.4"),
                                          ("--bd", "0.1,0.2"), ("--x", "1.5,0,0,1"),
                                          ("--x", "-0.5,0,0,1"), ("--lr", "0"), ("--beta", "-1"), ("--recon", "l1"),
                                          ("--reduction", "none"), ("--eps", "1;2"), ("--wv", "1000,1000,1000;0,0,0"),
                                          ("--lr", "1e6")])
def test_bad_inputs_exit_2_with_one_line(cli, option, value):
    result = cli("vae", option, value)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and option in result.stderr


def test_shapes_that_clash_exit_2(cli):
    # --eps fixes m = 3, the typed W^μ has 2 rows
    result = cli("vae", "--eps", "1,2,3", "--wmu", "0.1,0.2,0.3;0.4,0.5,0.6")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    # BCE at an output that rounds to exactly 1 has no gradient: refused, naming --recon
    result = cli("vae", "--wd", "1000,1000;1000,1000;1000,1000;1000,1000", "--eps", "1,1")
    assert result.exit_code == 2 and "--recon" in result.stderr
    assert cli("vae", "--wd", "1000,1000;1000,1000;1000,1000;1000,1000", "--eps", "1,1", "--recon", "mse",
               "--format", "json").exit_code == 0


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
small = st.floats(min_value=-3, max_value=3, allow_nan=False, allow_infinity=False)


@st.composite
def inputs(draw):
    n, H, m = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    values = draw(st.sampled_from([finite, small, small]))
    grid = lambda rows, cols, v=values: ";".join(",".join(repr(draw(v)) for _ in range(cols)) for _ in range(rows))  # noqa: E731
    typed = {"x": ",".join(repr(draw(st.floats(0, 1))) for _ in range(n)),
             "recon": draw(st.sampled_from(["bce", "mse"])), "reduction": draw(st.sampled_from(["sum", "mean"])),
             "beta": repr(draw(st.floats(0, 1e6))), "lr": repr(draw(st.floats(min_value=1e-6, max_value=1e6)))}
    for name, shape in (("wh", (H, n)), ("bh", (1, H)), ("wmu", (m, H)), ("bmu", (1, m)), ("wv", (m, H)), ("bv", (1, m)),
                        ("wd", (n, m)), ("bd", (1, n)), ("eps", (1, m)), ("eps_new", (1, m))):
        if draw(st.booleans()):
            typed[name] = grid(*shape)
    return {key: (text_, "test") for key, text_ in typed.items()}


@settings(max_examples=25, deadline=None)
@given(inputs())
def test_any_input_in_the_domains_runs_cleanly(typed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("vae", typed)
        except InputError as error:
            assert "\n" not in str(error)
            return
    for step in d.steps():
        assert not np.any(np.isnan(np.asarray(step.value, float))), step.id
    assert d["loss"].value == pytest.approx(d["recon.loss"].value + d["beta"].value * d["kl"].value)
    assert d["loss_change"].value == pytest.approx(d["loss_after"].value - d["loss"].value)


def test_a_rising_loss_and_a_rounded_output_are_cautions_and_the_shares_remarks():
    # The default's notes (σ² near 1, the shares of L, the falling loss) are remarks; η = 20
    # overshoots: x̂′ rounds to 0 or 1 (L_rec′ from the logit) and L rises, both warnings (⚠).
    assert not any(isinstance(note, Caution) for step in engine.run("vae").steps() for note in step.notes)
    d = engine.run("vae", {"lr": ("20", "test")})
    assert [isinstance(note, Caution) for note in d.find("loss_change").notes] == [True]
    assert "rose" in d.find("loss_change").notes[0]
    assert [isinstance(note, Caution) for note in d.find("after.recon").notes] == [True]


def test_the_trick_and_the_gradients_through_it_read_as_the_lecture_writes_them(cli):
    # z = μ + σ ⊙ ε; ∂z/∂log σ² = ½ σ ε; ∂L/∂μ = ∂L/∂z · ∂z/∂μ + β ∂KL/∂μ, the chain rule's
    # term first; BCE's target term x log x̂ first.
    text = terminal_view(cli, "vae")
    assert "zᵢ = μᵢ + σᵢ⋅εᵢ" in text and "z₀ = 0.2058 + 1.029⋅0.5" in text
    assert "─── = ∂L/∂zᵢ⋅∂z/∂μᵢ + β⋅∂KL/∂μᵢ" in text
    assert "= ∂L/∂zᵢ⋅∂z/∂log σ²ᵢ + β⋅∂KL/∂log σ²ᵢ" in text
    assert "σᵢ⋅εᵢ" in text.split("∂z/∂log σ²")[1]
    assert "(xᵢ⋅log(x̂ᵢ) + " in text
