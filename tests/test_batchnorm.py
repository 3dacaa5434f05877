"""batchnorm lesson: step ids, an independent NumPy reference, the whole-batch loss by
central differences, a hand calculation, PyTorch's running statistics, the depth table,
Hypothesis over the inputs and clean refusals."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import central_difference
from dlsteps import engine
from dlsteps.cli import app
from dlsteps.model import Caution

STEP_IDS = [
    "mean", "variance", "normalize", "scale_shift",
    "loss", "grad_beta", "grad_gamma", "grad_xhat", "grad_var", "grad_mean", "grad_x_paper", "grad_x",
    "unbiased_var", "update_running_mean", "update_running_var", "update_running_var_biased", "eval",
    "sigmoid_given", "slope_given", "mean_slope_given", "sigmoid_normalized", "slope_normalized", "mean_slope_normalized",
    "depth_bound", "depth_given", "depth_normalized",
    "ln.mean", "ln.variance", "ln.normalize",
]


# ---- the reference, written apart from the lesson and the block ------------------------


def reference(x, gamma, beta, g, eps, momentum, running_mean, running_var, depth):
    """Every printed quantity, computed in the plainest NumPy (vectorized, no loops shared)."""
    x, g = np.asarray(x, float), np.asarray(g, float)
    n = x.shape[0]
    mu = x.sum(axis=0) / n
    var = ((x - mu) ** 2).sum(axis=0) / n
    xhat = (x - mu) / np.sqrt(var + eps)
    y = gamma * xhat + beta
    dxhat = g * gamma
    # dL/dx by the formula of Ioffe & Szegedy's backward written as one matrix product:
    # J_j = (I - 11ᵀ/n - x̂_j x̂_jᵀ/n) / √(σ²_j + ε), symmetric, so dL/dx_:,j = J_j dx̂_:,j
    dx = np.empty_like(x)
    for c in range(x.shape[1]):
        J = (np.eye(n) - np.ones((n, n)) / n - np.outer(xhat[:, c], xhat[:, c]) / n) / np.sqrt(var[c] + eps)
        dx[:, c] = J @ dxhat[:, c]
    unbiased = x.var(axis=0, ddof=1)
    new_mean = (1 - momentum) * running_mean + momentum * mu
    new_var = (1 - momentum) * running_var + momentum * unbiased
    sig = lambda z: 1 / (1 + np.exp(-np.clip(z, -700, 700)))
    slope_x, slope_y = sig(x) * (1 - sig(x)), sig(y) * (1 - sig(y))
    k = np.arange(depth + 1)
    ln = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    return {"mean": mu, "variance": var, "normalize": xhat, "scale_shift": y, "loss": (g * y).sum(),
            "grad_beta": g.sum(axis=0), "grad_gamma": (g * xhat).sum(axis=0), "grad_xhat": dxhat,
            "grad_x": dx, "grad_x_paper": dx, "unbiased_var": unbiased, "update_running_mean": new_mean,
            "update_running_var": new_var, "update_running_var_biased": (1 - momentum) * running_var + momentum * var,
            "eval": gamma * (x - new_mean) / np.sqrt(new_var + eps) + beta,
            "slope_given": slope_x, "slope_normalized": slope_y, "mean_slope_given": slope_x.mean(),
            "mean_slope_normalized": slope_y.mean(), "depth_bound": 0.25**k, "depth_given": slope_x.mean() ** k,
            "depth_normalized": slope_y.mean() ** k, "ln.normalize": ln}


def whole_loss(x, gamma, beta, g, eps):
    x = np.asarray(x, float)
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return float((g * (gamma * xhat + beta)).sum())


def inputs_of(document):
    return {item["name"]: np.array(item["value"], dtype=float) for item in document["inputs"]}


def compare(steps, document):
    given = inputs_of(document)
    ref = reference(given["x"], given["gamma"], given["beta"], given["upstream"], float(given["eps"]),
                    float(given["momentum"]), given["running_mean"], given["running_var"], int(given["depth"]))
    # ∂L/∂x sums terms as large as |g γ| / √(σ² + ε), which cancel where g lies along 1 and x̂
    scale = np.abs(ref["grad_xhat"]).max() / np.sqrt(ref["variance"] + float(given["eps"])).min()
    for id, value in ref.items():
        atol = 1e-12 * max(1.0, scale) if id.startswith("grad_x") else 1e-12
        assert np.allclose(steps[id], value, rtol=1e-9, atol=atol), id


# ---- tests -------------------------------------------------------------------------------


def test_step_ids_are_fixed():
    # Step ids are API (JSON, quiz progress): changing one is a breaking change.
    assert [step.id for step in engine.run("batchnorm").steps()] == STEP_IDS


def test_defaults_against_the_reference(run_json):
    steps, document = run_json("batchnorm")
    compare(steps, document)


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_seeded_inputs_against_the_reference_and_finite_differences(seed, run_json):
    steps, document = run_json("batchnorm", "--seed", str(seed))
    compare(steps, document)
    given = inputs_of(document)
    x, gamma, beta, g, eps = given["x"], given["gamma"], given["beta"], given["upstream"], float(given["eps"])
    assert np.allclose(steps["grad_x"], central_difference(lambda p: whole_loss(p, gamma, beta, g, eps), x), rtol=1e-6, atol=1e-8)
    assert np.allclose(steps["grad_gamma"], central_difference(lambda p: whole_loss(x, p, beta, g, eps), gamma), rtol=1e-6, atol=1e-8)
    assert np.allclose(steps["grad_beta"], central_difference(lambda p: whole_loss(x, gamma, p, g, eps), beta), rtol=1e-6, atol=1e-8)
    checks = {s["id"]: s["check"] for sec in document["sections"] for s in sec["steps"]}
    assert all("finite differences" in checks[id] for id in STEP_IDS if id.startswith("grad_"))


def test_larger_batch_against_the_reference(run_json):
    rng = np.random.default_rng(11)
    x, g = np.round(rng.normal(size=(9, 5)) * 3, 2), np.round(rng.normal(size=(9, 5)), 2)
    text = lambda m: ";".join(",".join(map(repr, row)) for row in m.tolist())
    steps, document = run_json("batchnorm", "--x", text(x), "--upstream", text(g), "--gamma", "1,2,0.5,-1,0",
                               "--beta", "0,1,-1,0.5,2", "--momentum", "0.3", "--running-mean", "1,1,1,1,1",
                               "--running-var", "2,2,2,2,2", "--eps", "1e-3", "--depth", "25")
    compare(steps, document)


def test_hand_calculation_of_the_default():
    # x = (2, 4, 6, 8 | 10, 6, 7, 13), γ = 1, β = 0, ε = 1e-5, g as the default upstream.
    # μ = (5, 9); σ² = ((9+1+1+9)/4, (1+9+4+16)/4) = (5, 7.5)
    # x̂_00 = -3/√5.00001 = -1.341639; y = x̂ (γ = 1, β = 0)
    # ∂L/∂β = (0.1-0.3+0.2+0.4, -0.2+0.4+0.1-0.3) = (0.4, 0)
    # ∂L/∂γ_0 = 0.1(-1.341639) - 0.3(-0.447213) + 0.2(0.447213) + 0.4(1.341639) = 0.626099
    # running: mean 0.1 μ = (0.5, 0.9); var 0.9 + 0.1 · (4/3)σ² = (1.566667, 1.9)
    # σ'(2) = 0.104994, the largest slope of the given batch; (1/4)^10 = 9.5367e-07
    d = engine.run("batchnorm")
    assert np.allclose(d["mean"].value, [5, 9]) and np.allclose(d["variance"].value, [5, 7.5])
    assert d["normalize"].value[0, 0] == pytest.approx(-1.341639, abs=1e-6)
    assert np.allclose(d["grad_beta"].value, [0.4, 0], atol=1e-15)
    assert d["grad_gamma"].value[0] == pytest.approx(0.626099, abs=1e-6)
    assert np.allclose(d["update_running_mean"].value, [0.5, 0.9])
    assert np.allclose(d["update_running_var"].value, [1.566667, 1.9], atol=1e-6)
    assert d["slope_given"].value.max() == pytest.approx(0.104994, abs=1e-6)
    assert d["depth_bound"].value[-1] == pytest.approx(9.5367e-07, rel=1e-4)


def test_pytorch_running_variance_is_unbiased_and_said_so():
    d = engine.run("batchnorm")
    unbiased, biased = d["update_running_var"], d["update_running_var_biased"]
    assert np.all(unbiased.value > biased.value)
    assert any("unbiased" in note and "BatchNorm1d" in note for note in unbiased.notes)
    # the difference m σ²/(B - 1) is printed from the numbers: 0.1 · 5/3 = 0.1667, 0.1 · 7.5/3 = 0.25
    assert any("0.1667, 0.25" in note for note in biased.notes)


def test_gradients_sum_to_zero_down_each_feature():
    d = engine.run("batchnorm")
    assert np.allclose(d["grad_x"].value.sum(axis=0), 0, atol=1e-14)
    assert np.allclose(d["grad_x"].value, d["grad_x_paper"].value, rtol=1e-12)


def test_depth_note_is_computed_from_the_numbers():
    helps = " ".join(engine.run("batchnorm")["depth_normalized"].notes)
    assert "more of the gradient" in helps and "9.54e-07" in helps
    # Pre-activations already near 0, and a large γ that pushes the normalized ones out: no help.
    hurt = engine.run("batchnorm", {"x": ("0.1,0;-0.1,0.2;0.05,-0.2;0,0.1", "t"), "gamma": ("6,6", "t")})
    note = " ".join(hurt["depth_normalized"].notes)
    assert "does not help" in note
    assert hurt["mean_slope_normalized"].value < hurt["mean_slope_given"].value


def test_notes_that_depend_on_the_numbers_say_only_what_they_show():
    d = engine.run("batchnorm")
    # B and d, which the sums run over and divide by, are named with their values.
    assert "B = 4 samples, d = 2 features" in d.sections[0].explanation
    assert "B = 5 samples, d = 3 features" in engine.run("batchnorm", {"x": ("1,2,4;3,3,0;5,-1,2;0,1,1;2,2,9", "t")}).sections[0].explanation
    # ∂L/∂β₁ = -0.2 + 0.4 + 0.1 - 0.3 is 0, printed as 5.551e-17: said to be rounding, and
    # only for that entry (∂L/∂β₀ = 0.4 and ∂L/∂γ are not near 0).
    assert d["grad_beta"].value[1] != 0 and abs(d["grad_beta"].value[1]) < 1e-15
    assert [note[:27] for note in d["grad_beta"].notes] == ["∂L/∂β₁ = 5.551e-17 is 0 up "]
    assert d["grad_gamma"].notes == ()
    # The smallest slope is called flat only where the sigmoid is: at z = 13 (2.26e-06), not
    # at z = 1.461 (0.153, three fifths of the largest possible); it is always the z farthest from 0.
    assert "where the sigmoid is flat" in d["slope_given"].notes[0] and "z = 13" in d["slope_given"].notes[0]
    assert "flat" not in d["slope_normalized"].notes[0] and "z = 1.461, the z farthest from 0" in d["slope_normalized"].notes[0]
    assert np.argmin(d["slope_normalized"].value) == np.argmax(np.abs(d["scale_shift"].value))


def test_layer_norm_normalizes_each_row():
    d = engine.run("batchnorm", {"x": ("1,2,4;3,3,0;5,-1,2", "t")})
    x = np.array([[1, 2, 4], [3, 3, 0], [5, -1, 2]], float)
    expected = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    assert np.allclose(d["ln.normalize"].value, expected)


def test_zero_variance_feature_is_finite_and_noted(run_json):
    steps, document = run_json("batchnorm", "--x", "1,3;2,3;4,3;5,3")
    assert np.all(steps["normalize"][:, 1] == 0) and np.all(np.isfinite(steps["grad_x"]))
    notes = {s["id"]: s["notes"] for sec in document["sections"] for s in sec["steps"]}
    assert any("feature j = 1" in note for note in notes["variance"])
    # the ε-only column: ∂L/∂x = (g - mean g - 0)/√ε, as the reference gives
    compare(steps, document)


@pytest.mark.parametrize("args, option", [
    (["--upstream", "1,2;3,4"], "--upstream"),
    (["--x", "1,2", "--upstream", "0.1,0.2"], "--x"),
    (["--gamma", "1,2,3"], "--gamma"),
    (["--momentum", "1.5"], "--momentum"),
    (["--eps", "1e-12", "--x", "1,5;1,6;1,7;1,8"], "--eps"),
    (["--x", "1000,1;1000.0001,2;1000,3;1000,4", "--eps", "1e-9"], "--eps"),
    (["--running-var", "-1,1"], "--running-var"),
    (["--upstream", "1e5,0;0,0;0,0;0,0"], "--upstream"),
])
def test_bad_inputs_exit_2_with_one_line(cli, args, option):
    result = cli("batchnorm", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and option in result.stderr and "Traceback" not in result.stderr


def test_other_sizes_run_without_typing_every_input(run_json):
    steps, document = run_json("batchnorm", "--x", "1,2,3;4,5,6;7,8,9.5")
    given = inputs_of(document)
    assert np.all(given["gamma"] == 1) and np.all(given["beta"] == 0) and given["upstream"].shape == (3, 3)
    compare(steps, document)


values = st.floats(-50, 50, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 3), data=st.data(), constant=st.booleans(),
       eps=st.sampled_from(["1e-5", "1e-3", "1e-8", "1e-12", "0.5"]), momentum=st.sampled_from(["0", "0.1", "1", "0.5"]),
       depth=st.integers(1, 60))
def test_random_inputs_exit_0_or_a_clean_2(rows, cols, data, constant, eps, momentum, depth):
    grid = lambda: data.draw(st.lists(st.lists(values, min_size=cols, max_size=cols), min_size=rows, max_size=rows))
    x, g, gamma = grid(), grid(), data.draw(st.lists(values, min_size=cols, max_size=cols))
    if constant:
        for row in x:
            row[0] = x[0][0]  # a feature with zero variance: ε keeps it finite
    text = lambda m: ";".join(",".join(map(repr, row)) for row in m)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = CliRunner().invoke(app, ["batchnorm", "--x", text(x), "--upstream", text(g), "--gamma", text([gamma]),
                                          "--eps", eps, "--momentum", momentum, "--depth", str(depth), "--format", "json"])
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        return
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    document = json.loads(result.stdout)
    steps = {s["id"]: np.array(s["value"], float) for sec in document["sections"] for s in sec["steps"]}
    compare(steps, document)


def test_rounding_and_underflow_are_cautions_and_the_depth_verdict_a_remark():
    # The default upstream gradient's second column sums to 0: ∂L/∂β₁ is 0 only up to rounding
    # (⚠). The depth verdict is the lecture's point (•), unless a product underflows (⚠).
    d = engine.run("batchnorm")
    cancelled = d.find("grad_beta").notes
    assert len(cancelled) == 1 and isinstance(cancelled[0], Caution) and "rounding" in cancelled[0]
    verdict = d.find("depth_normalized").notes
    assert len(verdict) == 1 and not isinstance(verdict[0], Caution)
    assert not any(isinstance(note, Caution) for note in d.find("slope_given").notes)
    far = {"x": ("800,900;801,902;803,904;850,950", "test"), "depth": ("60", "test")}
    under = engine.run("batchnorm", far).find("depth_normalized").notes
    assert len(under) == 1 and isinstance(under[0], Caution) and "as given, the product underflows to 0" in under[0]
    both = engine.run("batchnorm", {**far, "beta": ("40,40", "test")}).find("depth_normalized").notes
    assert isinstance(both[0], Caution) and "both products underflow" in both[0] and "equal" not in both[0]
