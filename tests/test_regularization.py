"""regularization lesson: hand-worked update, finite differences, L1 zeros and L2 decay."""

import numpy as np
import pytest

from conftest import central_difference, terminal_view
from dlsteps import engine
from dlsteps.model import Caution

X = np.array([[1, 1], [2, -1], [3, 1]], float)
Y = np.array([3, 5, 7], float)


def mse(x, y, w, b):
    return float(np.mean((x @ w + b - y) ** 2))


def test_hand_worked_first_step(run_json):
    # By hand for the defaults (x rows (1,1), (2,-1), (3,1); y = 3,5,7; w = (1.5, 0.2);
    # b = 0.5; λ = 0.5; η = 0.05):
    # ŷ = (2.2, 3.3, 5.2); r = (-0.8, -1.7, -1.8); MSE = (0.64 + 2.89 + 3.24)/3 = 2.256667
    # ∂MSE/∂w = (2/3)(-0.8 - 3.4 - 5.4, -0.8 + 1.7 - 1.8) = (-6.4, -0.6); ∂MSE/∂b = (2/3)(-4.3)
    # L2: κ = 1 - 2(0.05)(0.5) = 0.95; w' = 0.95 w + 0.05 (6.4, 0.6) = (1.745, 0.22)
    # L1: u = w + 0.05 (6.4, 0.6) = (1.82, 0.23); shrink by ηλ = 0.025: (1.795, 0.205)
    steps, _ = run_json("regularization")
    assert np.allclose(steps["prediction"], [2.2, 3.3, 5.2])
    assert steps["mse"] == pytest.approx(6.77 / 3)
    assert np.allclose(steps["grad_mse_w"], [-6.4, -0.6])
    assert steps["grad_mse_b"] == pytest.approx(-2 * 4.3 / 3)
    assert steps["decay"] == pytest.approx(0.95)
    assert np.allclose(steps["update_l2"], [1.745, 0.22])
    assert np.allclose(steps["update_l1"], [1.795, 0.205])
    assert steps["update_b"] == pytest.approx(0.5 + 0.05 * 2 * 4.3 / 3)
    assert np.allclose(steps["weights_l1"][1], [1.795, 0.205])
    assert np.allclose(steps["weights_l2"][1], [1.745, 0.22])


@pytest.mark.parametrize("seed", [None, 0, 5])
def test_gradients_against_finite_differences(run_json, seed):
    args = ("regularization",) + (("--seed", str(seed)) if seed is not None else ())
    steps, document = run_json(*args)
    given = {item["name"]: item["value"] for item in document["inputs"]}
    x, y, w, b, lam = np.array(given["x"]), np.array(given["y"]), np.array(given["w"]), given["b"], given["lam"]
    assert np.allclose(steps["grad_mse_w"], central_difference(lambda v: mse(x, y, v, b), w), atol=1e-6)
    assert np.allclose(steps["grad_mse_b"], central_difference(lambda v: mse(x, y, w, v), b), atol=1e-6)
    assert np.allclose(steps["grad_l2"], central_difference(lambda v: lam * (v**2).sum(), w), atol=1e-6)
    assert np.allclose(steps["grad_l1"], central_difference(lambda v: lam * np.abs(v).sum(), w), atol=1e-6)
    for kind in ("l1", "l2"):
        weights, biases = steps[f"weights_{kind}"], steps[f"biases_{kind}"]
        for t in range(len(biases) - 1):
            numeric = central_difference(lambda v: mse(x, y, v, biases[t]), weights[t])
            assert np.allclose(steps[f"gradients_{kind}"][t], numeric, atol=1e-6)
            bias_numeric = central_difference(lambda v: mse(x, y, weights[t], v), biases[t])
            assert steps[f"bias_gradients_{kind}"][t] == pytest.approx(float(bias_numeric), abs=1e-6)


def test_l1_reaches_exact_zero_and_l2_does_not(run_json):
    steps, _ = run_json("regularization", "--steps", "20")
    l1, l2 = steps["weights_l1"][:, 1], steps["weights_l2"][:, 1]
    first_zero = int(np.flatnonzero(l1 == 0)[0])
    assert (l1[first_zero:] == 0).all()
    assert (l2 != 0).all()


def test_pure_penalty_l2_is_geometric(run_json):
    # With data that the starting weights already fit exactly (x w + b = y), the MSE
    # gradient is 0, so L2 multiplies by κ = 1 - 2ηλ each step and L1 subtracts ηλ.
    steps, _ = run_json("regularization", "--x", "0;0", "--y", "0,0", "--w", "1", "--b", "0", "--lambda", "0.5", "--lr", "0.1", "--steps", "4")
    assert np.allclose(steps["weights_l2"][:, 0], 0.9 ** np.arange(5))
    assert np.allclose(steps["weights_l1"][:, 0], [1, 0.95, 0.9, 0.85, 0.8])


def test_divergence_is_a_clear_error(cli):
    result = cli("regularization", "--lr", "5", "--steps", "100")
    assert result.exit_code == 2
    assert "--lr" in result.stderr and "diverge" in result.stderr


def test_weights_must_match_features(cli):
    result = cli("regularization", "--w", "1,2,3")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--w" in result.stderr


def test_optima_of_scikit_learn_are_fixed_points(run_json):
    # Independent oracle: scikit-learn's Lasso minimizes (1/2N)|y - Xw - b|^2 + α|w|_1,
    # which is our MSE + λ|w|_1 halved with α = λ/2; Ridge minimizes |y - Xw - b|^2 + α|w|^2,
    # our MSE + λ|w|^2 times N with α = Nλ. Neither penalizes the intercept. At their
    # optimum one update of ours (proximal for L1, gradient for L2) must not move anything.
    from sklearn.linear_model import Lasso, Ridge

    x = np.array([[1, 1], [2, -1], [3, 1], [0, 2]], float)
    y = np.array([3, 5, 7, 1.5])
    lam = 0.4
    common = ("--x", "1,1;2,-1;3,1;0,2", "--y", "3,5,7,1.5", "--lambda", str(lam), "--lr", "0.1", "--steps", "1")
    lasso = Lasso(alpha=lam / 2, tol=1e-14, max_iter=1_000_000).fit(x, y)
    steps, _ = run_json("regularization", *common, "--w", ",".join(str(float(v) + 0.0) for v in lasso.coef_), "--b", str(float(lasso.intercept_)))
    assert steps["weights_l1"][1][1] == 0.0
    assert np.allclose(steps["weights_l1"][1], lasso.coef_, atol=1e-9)
    assert steps["biases_l1"][1] == pytest.approx(lasso.intercept_, abs=1e-9)
    ridge = Ridge(alpha=len(y) * lam).fit(x, y)
    steps, _ = run_json("regularization", *common, "--w", ",".join(str(float(v)) for v in ridge.coef_), "--b", str(float(ridge.intercept_)))
    assert np.allclose(steps["grad_mse_w"] + steps["grad_l2"], 0, atol=1e-9)
    assert np.allclose(steps["weights_l2"][1], ridge.coef_, atol=1e-10)


STEP_IDS = [
    "prediction", "residual", "mse", "penalty_l1", "penalty_l2", "loss_l1", "loss_l2",
    "grad_mse_w", "grad_mse_b", "grad_l1", "grad_l2",
    "decay", "update_l2", "data_step", "update_l1", "update_b",
    "weights_l1", "biases_l1", "gradients_l1", "bias_gradients_l1", "losses_l1",
    "weights_l2", "biases_l2", "gradients_l2", "bias_gradients_l2", "losses_l2",
]


def notes(document, id):
    return [note for sec in document["sections"] for s in sec["steps"] if s["id"] == id for note in s["notes"]]


def test_step_ids_are_fixed(run_json):
    _, document = run_json("regularization")
    assert [s["id"] for sec in document["sections"] for s in sec["steps"]] == STEP_IDS


@pytest.mark.parametrize("args", [
    ("--x", "-35.16,-65.43;78.18,97.57;53.08,-50.83", "--y", "-52.573,125.2188,101.5678", "--w", "1.77,-0.14", "--lr", "4e-05"),
    ("--x", "1e6", "--y", "1e6", "--w", "1", "--b", "0", "--lr", "1e-13"),
])
def test_inputs_that_used_to_fail_the_internal_checks(cli, args):
    result = cli("regularization", *args, "--format", "json")
    assert result.exit_code == 0, result.output


def reference_paths(x, y, w, b, lr, lam, steps):
    """Independent NumPy recurrence: proximal L1 and weight-decay L2, written out here."""
    paths = {}
    for kind in ("l1", "l2"):
        ws, bs = [np.array(w, float)], [float(b)]
        for _ in range(steps):
            r = x @ ws[-1] + bs[-1] - y
            g, gb = 2 / len(y) * x.T @ r, 2 / len(y) * r.sum()
            if kind == "l1":
                u = ws[-1] - lr * g
                ws.append(np.where(np.abs(u) <= lr * lam, 0.0, u - lr * lam * np.sign(u)))
            else:
                ws.append(ws[-1] - lr * (g + 2 * lam * ws[-1]))
            bs.append(bs[-1] - lr * gb)
        paths[kind] = (np.array(ws), np.array(bs))
    return paths


@pytest.mark.parametrize("seed", [None, 3])
def test_tables_match_an_independent_recurrence(run_json, seed):
    args = ("regularization", "--steps", "15") + (("--seed", str(seed)) if seed is not None else ())
    steps, document = run_json(*args)
    given = {item["name"]: item["value"] for item in document["inputs"]}
    x, y = np.array(given["x"]), np.array(given["y"])
    paths = reference_paths(x, y, np.array(given["w"]), given["b"], given["lr"], given["lam"], 15)
    for kind, (ws, bs) in paths.items():
        assert np.allclose(steps[f"weights_{kind}"], ws, atol=1e-12)
        assert np.allclose(steps[f"biases_{kind}"], bs, atol=1e-12)
        penalty = np.abs(ws).sum(axis=1) if kind == "l1" else (ws**2).sum(axis=1)
        loss = ((ws @ x.T + bs[:, None] - y) ** 2).mean(axis=1) + given["lam"] * penalty
        assert np.allclose(steps[f"losses_{kind}"], loss)


def test_l1_rule_from_zero_weights(run_json):
    # --w 0,0 (defaults otherwise): g = (2/3)(x^T r) with r = 0.5 - y = (-2.5, -4.5, -6.5):
    # g_0 = (2/3)(-2.5 - 9 - 19.5) = -20.6667, so u_0 = 0 + 0.05 * 20.6667 = 1.03333.
    # The subgradient step uses sign(0) = 0 and stays at 1.03333; the proximal step
    # subtracts ηλ = 0.025: 1.00833.
    steps, document = run_json("regularization", "--w", "0,0")
    assert steps["update_l1"][0] == pytest.approx(1.0083333333)
    text = " ".join(notes(document, "update_l1"))
    assert "1.03333" in text and "1.00833" in text and "No weight lands on 0" in text


def test_l1_rule_when_the_step_crosses_zero(run_json):
    # x = (1, 1), y = (-10, -10), w = 0.1, b = 0: r = 10.1 each, g = 2 * 10.1 = 20.2,
    # u = 0.1 - 0.05 * 20.2 = -0.91: it crosses 0 and lands at -0.91 + 0.025 = -0.885,
    # not at 0, and not at the subgradient step's -0.91 - 0.025 = -0.935.
    steps, document = run_json("regularization", "--x", "1;1", "--y", "-10,-10", "--w", "0.1", "--b", "0")
    assert steps["update_l1"][0] == pytest.approx(-0.885)
    text = " ".join(notes(document, "update_l1"))
    assert "-0.935" in text and "-0.885" in text
    explanation = [s["explanation"] for sec in document["sections"] for s in sec["steps"] if s["id"] == "update_l1"][0]
    assert "would cross 0, then 0" not in explanation and "|w_j - η g_j| ≤ ηλ" in explanation


def test_weights_landing_on_zero_are_named(run_json):
    # λ = 10, η = 0.05: ηλ = 0.5 > |u_1| = 0.23 (the defaults' data step), so w_1 lands on 0.
    steps, document = run_json("regularization", "--lambda", "10")
    assert steps["update_l1"][1] == 0.0
    assert any("w_1 (|u_1| = 0.23)" in note for note in notes(document, "update_l1"))


@pytest.mark.parametrize("lam, words, warns", [
    ("0", "no decay", False), ("0.5", "never exactly", False), ("10", "κ = 0", True), ("15", "flips the sign", True),
    ("100", "grow", True),
])
def test_decay_note_follows_kappa(run_json, lam, words, warns):
    _, document = run_json("regularization", "--lambda", lam)
    assert any(words in note for note in notes(document, "decay"))
    section = [sec["explanation"] for sec in document["sections"]][-1]
    assert "never to 0" not in section
    # Issue 14: a κ that wipes out, flips or grows the weights warns (⚠); plain decay is a remark (•).
    (note,) = engine.run("regularization", {"lam": (lam, "test")}).find("decay").notes
    assert isinstance(note, Caution) is warns


def test_rising_loss_gets_a_caution(run_json):
    steps, document = run_json("regularization", "--lambda", "100")
    assert steps["losses_l2"][-1] > steps["losses_l2"][0]
    assert any("rises" in note for note in notes(document, "losses_l2"))
    assert not notes(document, "losses_l1") or all("rises" not in n for n in notes(document, "losses_l1"))
    _, calm = run_json("regularization")
    assert not notes(calm, "losses_l2")
    # Issue 14: a loss that rises warns (⚠), also when it ends lower than it started.
    (rising,) = engine.run("regularization", {"lam": ("100", "test")}).find("losses_l2").notes
    assert isinstance(rising, Caution) and "move away from the minimum" in rising
    overshooting = {"x": ("2;1", "test"), "y": ("1,1", "test"), "w": ("2", "test"), "lr": ("0.3", "test")}
    (overshoot,) = engine.run("regularization", overshooting).find("losses_l1").notes
    assert isinstance(overshoot, Caution) and "ends lower than it started" in overshoot


def test_a_weight_at_the_kink_warns_and_the_l1_landing_notes_are_remarks():
    # |w| has no derivative at w = 0: the subgradient convention sign(0) = 0 is a caution.
    # Whether a weight lands on 0 in the L1 update is the lecture's point: remarks, never ⚠.
    at_kink = engine.run("regularization", {"w": ("0,0.2", "test")})
    (kink,) = at_kink.find("grad_l1").notes
    assert isinstance(kink, Caution) and "w_0 = 0 here" in kink
    assert engine.run("regularization").find("grad_l1").notes == ()
    for lam in ("0.5", "10"):
        landing = engine.run("regularization", {"lam": (lam, "test")}).find("update_l1").notes
        assert landing and not any(isinstance(note, Caution) for note in landing)


def _suggested(message):
    return message.rstrip().split("such as ")[-1]


def test_divergence_caused_by_lambda_names_lambda_and_a_value_that_works(cli):
    result = cli("regularization", "--lambda", "100", "--steps", "20")
    assert result.exit_code == 2 and "--lambda" in result.stderr and "--lr" not in result.stderr
    better = _suggested(result.stderr)
    assert cli("regularization", "--lambda", better, "--steps", "20", "--format", "json").exit_code == 0


def test_divergence_caused_by_lr_suggests_a_value_that_works(cli):
    result = cli("regularization", "--lr", "5", "--steps", "100")
    better = _suggested(result.stderr)
    assert cli("regularization", "--lr", better, "--steps", "100", "--format", "json").exit_code == 0


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

small = st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 4), cols=st.integers(1, 3), data=st.data(),
       lr=st.floats(1e-4, 3).map(lambda v: float(f"{v:.3g}")), lam=st.floats(0, 50).map(lambda v: float(f"{v:.3g}")))
def test_random_inputs_exit_0_or_a_clean_2(cli, rows, cols, data, lr, lam):
    x = data.draw(st.lists(st.lists(small, min_size=cols, max_size=cols), min_size=rows, max_size=rows))
    y = data.draw(st.lists(small, min_size=rows, max_size=rows))
    w = data.draw(st.lists(small, min_size=cols, max_size=cols))
    text = lambda v: ",".join(map(repr, v))
    result = cli("regularization", "--x", ";".join(map(text, x)), "--y", text(y), "--w", text(w),
                 "--lr", repr(lr), "--lambda", repr(lam), "--steps", "30", "--format", "json")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    else:
        assert "NaN" not in result.stdout and "Infinity" not in result.stdout


# ---- reading (issue 14): what the terminal shows can be redone by hand --------------------

def terminal(cli, *args):
    return terminal_view(cli, "regularization", *args)


def test_each_update_is_worked_at_its_first_element_with_the_tables_names(cli):
    # w'ᴸ²₀ = κ w₀ - η g₀ = 0.95⋅1.5 - 0.05⋅(-6.4) = 1.745 (row 1 of the L2 table), not "w'_j = ...";
    # the L1 update is named w'ᴸ¹ like its table, and the rule's max is written as printed.
    text = terminal(cli)
    assert "w'ᴸ²₀ = 0.95⋅1.5 - 0.05⋅(-6.4) = 1.745" in text and "w'ᴸ¹₀ = " in text
    assert "⇒ w'_j =" not in text
    assert "max(0, │uⱼ│ - η⋅λ)" in text and "max(0, |u_j| - ηλ)" in text and "max(|u" not in text
    # the soft threshold reads as the prose writes it, sign(u_j) max(0, |u_j| - ηλ), numbers too
    assert "w'ᴸ¹ⱼ = sign(uⱼ)⋅max(0, │uⱼ│ - η⋅λ)" in text
    assert "w'ᴸ¹₀ = sign(1.82)⋅max(0, │1.82│ - 0.05⋅0.5) = 1.795" in text


def test_the_loss_tables_put_the_mse_first_like_their_numbers(cli):
    # Lᵗ = MSE + penalty, as L_L1 = MSE + P₁ above and as the numbers under it (…)² / 3 + 0.5⋅(…):
    # the penalty is the last term of both lines, in both tables.
    lines = terminal(cli).splitlines()
    for label in ("L1", "L2"):
        start = next(n for n, line in enumerate(lines) if line.startswith("4.") and f"{label}-regularized loss at every row" in line)
        equation = next(line for line in lines[start:] if line.lstrip().startswith(f"L{'ᴸ¹' if label == 'L1' else 'ᴸ²'}ₜ ="))
        assert equation.index("──") < equation.index("λ⋅")  # the MSE's fraction bar, then + λ⋅Σ


def test_the_zero_note_compares_with_l2_at_the_row_it_names(run_json):
    # Defaults: L1's w_1 is 0 from row 9 on; L2's w_1 at the last row, 12, is 0.1142 (at row 9 it
    # is 0.1349, so a note that did not name the row would mislead).
    steps, document = run_json("regularization")
    section = document["sections"][-1]["explanation"]
    assert "from row 9 on" in section and "at the last row, 12, L2 has 0.1142, not 0" in section
    assert f"{steps['weights_l2'][-1][1]:.4g}" == "0.1142" and f"{steps['weights_l2'][9][1]:.4g}" != "0.1142"
