"""regularization lesson: hand-worked update, finite differences, L1 zeros and L2 decay."""

import numpy as np
import pytest

from conftest import central_difference

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
