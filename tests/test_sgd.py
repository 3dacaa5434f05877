"""sgd lesson: batch GD, SGD and mini-batch GD against a NumPy reference written here, a hand
calculation, finite differences of every batch loss, the shuffling and the chart data."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import central_difference, terminal_view
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution

X = np.array([1, 2, 3, 4, 5, 6], float)
Y = np.array([2.1, 3.9, 6.2, 7.8, 10.1, 12.2])

STEP_IDS = [
    "prediction", "residual", "mse",
    "grad_mse_w", "update_w", "weights_gd", "gradients_gd", "losses_gd",
    "order",
    "sgd.batch", "sgd.mse", "sgd.grad_mse_w", "sgd.update_w",
    "batches_sgd", "weights_sgd", "residuals_sgd", "gradients_sgd", "batch_losses_sgd", "batch_losses_after_sgd", "losses_sgd",
    "mb.batch", "mb.mse", "mb.grad_mse_w", "mb.update_w",
    "batches_mb", "weights_mb", "residuals_mb", "gradients_mb", "batch_losses_mb", "batch_losses_after_mb", "losses_mb",
    "loss_paths",
]
BIAS_IDS = [
    "prediction", "residual", "mse",
    "grad_mse_w", "grad_mse_b", "update_w", "update_b", "weights_gd", "biases_gd", "gradients_gd", "bias_gradients_gd", "losses_gd",
    "order",
    "sgd.batch", "sgd.mse", "sgd.grad_mse_w", "sgd.grad_mse_b", "sgd.update_w", "sgd.update_b",
    "batches_sgd", "weights_sgd", "biases_sgd", "residuals_sgd", "gradients_sgd", "bias_gradients_sgd",
    "batch_losses_sgd", "batch_losses_after_sgd", "losses_sgd",
    "mb.batch", "mb.mse", "mb.grad_mse_w", "mb.grad_mse_b", "mb.update_w", "mb.update_b",
    "batches_mb", "weights_mb", "biases_mb", "residuals_mb", "gradients_mb", "bias_gradients_mb",
    "batch_losses_mb", "batch_losses_after_mb", "losses_mb",
    "loss_paths",
]


def reference(x, y, w0, b0, lr, epochs, k, seed):
    """Independent NumPy: shuffle once per epoch with default_rng(seed); batch GD takes all
    samples, SGD one at a time, mini-batch k at a time, in that order. Written out with
    explicit loops over the samples, apart from the lesson's helpers."""
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(x)) for _ in range(epochs)]
    plans = {"gd": [list(range(len(x)))] * epochs,
             "sgd": [[int(q)] for order in orders for q in order],
             "mb": [list(map(int, order[p:p + k])) for order in orders for p in range(0, len(x), k)]}
    bias = b0 is not None
    result = {}
    for kind, plan in plans.items():
        w, b = float(w0), float(b0 or 0.0)
        ws, bs, gs, gbs, before, after = [w], [b], [], [], [], []
        for rows in plan:
            errs = [w * x[q] + b - y[q] for q in rows]
            g = 2 * sum(err * x[q] for err, q in zip(errs, rows)) / len(rows)
            gb = 2 * sum(errs) / len(rows)
            before.append(sum(err**2 for err in errs) / len(rows))
            w, b = w - lr * g, (b - lr * gb if bias else b)
            after.append(sum((w * x[q] + b - y[q]) ** 2 for q in rows) / len(rows))
            ws.append(w), bs.append(b), gs.append(g), gbs.append(gb)
        per_epoch = len(plan) // epochs
        losses = [np.mean((ws[e * per_epoch] * x + bs[e * per_epoch] - y) ** 2) for e in range(epochs + 1)]
        result[kind] = dict(plan=np.array(plan), w=np.array(ws), b=np.array(bs), g=np.array(gs), gb=np.array(gbs),
                            before=np.array(before), after=np.array(after), losses=np.array(losses))
    return result, np.array(orders)


def run(run_json, *args):
    steps, document = run_json("sgd", *args)
    inputs = {item["name"]: item["value"] for item in document["inputs"]}
    return steps, document, inputs


def ids(document):
    return [s["id"] for sec in document["sections"] for s in sec["steps"]]


def step(document, id):
    return next(s for sec in document["sections"] for s in sec["steps"] if s["id"] == id)


def test_step_ids_are_fixed(run_json):
    _, document, _ = run(run_json)
    assert ids(document) == STEP_IDS
    _, document, _ = run(run_json, "--b0", "0.5")
    assert ids(document) == BIAS_IDS


def test_hand_calculation_of_the_first_batch_update(run_json):
    # By hand for the defaults: x = 1..6, y = 2.1, 3.9, 6.2, 7.8, 10.1, 12.2, w0 = 0, η = 0.02.
    # ŷ = 0, so r = -y and MSE = (4.41 + 15.21 + 38.44 + 60.84 + 102.01 + 148.84)/6 = 369.75/6 = 61.625.
    # ∂MSE/∂w = (2/6) Σ r_s x_s = -(1/3)(2.1 + 7.8 + 18.6 + 31.2 + 50.5 + 73.2) = -183.4/3 = -61.1333…
    # w1 = 0 - 0.02 (-61.1333…) = 1.222666…
    # Its loss: r = 1.222667 x - y = (-0.877333, -1.454667, -2.532, -2.909333, -3.986667, -4.864),
    # r² = (0.769714, 2.116055, 6.411024, 8.464220, 15.893511, 23.658496), sum 57.313020, MSE = 9.552170.
    steps, _, _ = run(run_json)
    assert np.allclose(steps["residual"], -Y)
    assert steps["mse"] == pytest.approx(61.625)
    assert steps["grad_mse_w"][0] == pytest.approx(-183.4 / 3)
    assert steps["update_w"][0] == pytest.approx(0.02 * 183.4 / 3)
    assert steps["weights_gd"][1, 0] == pytest.approx(1.2226666666666666)
    assert steps["losses_gd"][1] == pytest.approx(np.mean((1.2226666666666666 * X - Y) ** 2))
    assert steps["losses_gd"][1] == pytest.approx(9.552170, abs=1e-6)


CASES = [
    ((), dict(x=X, y=Y, w0=0.0, b0=None, lr=0.02, epochs=3, k=2, seed=0)),
    (("--b0", "0.5"), dict(x=X, y=Y, w0=0.0, b0=0.5, lr=0.02, epochs=3, k=2, seed=0)),
    (("--batch-size", "3", "--epochs", "5", "--w0", "-1", "--lr", "0.01"), dict(x=X, y=Y, w0=-1.0, b0=None, lr=0.01, epochs=5, k=3, seed=0)),
    (("--x", "0.5,-1,2,1.5", "--y", "1,-2,4.5,3", "--b0", "-0.2", "--batch-size", "4", "--lr", "0.1", "--epochs", "2"),
     dict(x=np.array([0.5, -1, 2, 1.5]), y=np.array([1, -2, 4.5, 3.0]), w0=0.0, b0=-0.2, lr=0.1, epochs=2, k=4, seed=0)),
]


@pytest.mark.parametrize("args,case", CASES)
def test_all_three_methods_match_the_reference(run_json, args, case):
    steps, document, _ = run(run_json, *args)
    ref, orders = reference(**case)
    assert np.array_equal(steps["order"], orders)
    for kind, r in ref.items():
        assert np.allclose(steps[f"weights_{kind}"][:, 0], r["w"], rtol=1e-12, atol=1e-12)
        assert np.allclose(steps[f"gradients_{kind}"][:, 0], r["g"], rtol=1e-12, atol=1e-12)
        assert np.allclose(steps[f"losses_{kind}"], r["losses"], rtol=1e-12, atol=1e-12)
        if case["b0"] is not None:
            assert np.allclose(steps[f"biases_{kind}"], r["b"]) and np.allclose(steps[f"bias_gradients_{kind}"], r["gb"])
        if kind != "gd":
            assert np.array_equal(steps[f"batches_{kind}"], r["plan"])
            assert np.allclose(steps[f"batch_losses_{kind}"], r["before"]) and np.allclose(steps[f"batch_losses_after_{kind}"], r["after"])
            first = r["plan"][0]
            assert np.array_equal(steps[f"{kind}.batch"], first)
            assert steps[f"{kind}.update_w"][0] == pytest.approx(r["w"][1])
    assert np.allclose(steps["loss_paths"], [ref[kind]["losses"] for kind in ("gd", "sgd", "mb")])


def test_seeded_inputs_match_the_reference(run_json):
    steps, document, inputs = run(run_json, "--seed", "7", "--epochs", "2")
    assert step(document, "order")["value"] and next(i for i in document["inputs"] if i["name"] == "seed")["origin"] == "seed"
    x, y = np.array(inputs["x"])[:, 0], np.array(inputs["y"])
    ref, orders = reference(x, y, inputs["w0"][0], None, 0.02, 2, 2, 7)
    assert np.array_equal(steps["order"], orders)
    for kind, r in ref.items():
        assert np.allclose(steps[f"weights_{kind}"][:, 0], r["w"]) and np.allclose(steps[f"losses_{kind}"], r["losses"])


def test_the_seed_is_shown_and_changes_the_order(run_json):
    _, document, inputs = run(run_json)
    seed = next(i for i in document["inputs"] if i["name"] == "seed")
    assert seed["value"] == 0 and seed["origin"] == "default"
    assert "default_rng(0)" in document["sections"][2]["explanation"]
    a, _, _ = run(run_json, "--seed", "1", "--x", ",".join(map(str, X)), "--y", ",".join(map(str, Y)), "--w0", "0")
    b, _, _ = run(run_json, "--seed", "2", "--x", ",".join(map(str, X)), "--y", ",".join(map(str, Y)), "--w0", "0")
    assert not np.array_equal(a["order"], b["order"])
    assert np.allclose(a["losses_gd"], b["losses_gd"])  # batch GD does not shuffle


@pytest.mark.parametrize("args", [(), ("--batch-size", "3", "--epochs", "4"), ("--seed", "11", "--batch-size", "1")])
def test_every_index_is_drawn_once_per_epoch(run_json, args):
    steps, _, inputs = run(run_json, *args)
    samples, epochs = len(inputs["y"]), int(inputs["epochs"])
    assert steps["order"].shape == (epochs, samples)
    for row in steps["order"]:
        assert sorted(row) == list(range(samples))
    for kind in ("sgd", "mb"):
        per_epoch = steps[f"batches_{kind}"].reshape(epochs, -1)
        for row in per_epoch:
            assert sorted(row) == list(range(samples))


@pytest.mark.parametrize("args", [(), ("--b0", "1.5", "--batch-size", "3"), ("--seed", "4", "--b0", "-0.3")])
def test_gradients_against_central_differences(run_json, args):
    steps, _, inputs = run(run_json, *args)
    x, y = np.array(inputs["x"])[:, 0], np.array(inputs["y"])
    bias = "biases_gd" in steps

    def batch_mse(rows, w, b):
        return np.mean((w * x[rows] + b - y[rows]) ** 2)

    w0, b0 = inputs["w0"][0], inputs.get("b0") or 0.0
    assert steps["grad_mse_w"][0] == pytest.approx(float(central_difference(lambda v: batch_mse(slice(None), v[0], b0), [w0])[0]), abs=1e-6)
    for kind in ("sgd", "mb"):
        rows = steps[f"{kind}.batch"].astype(int)
        numeric = central_difference(lambda v: batch_mse(rows, v[0], b0), [w0])
        assert steps[f"{kind}.grad_mse_w"][0] == pytest.approx(float(numeric[0]), abs=1e-6)
        weights = steps[f"weights_{kind}"][:, 0]
        biases = steps[f"biases_{kind}"] if bias else np.zeros_like(weights)
        for t, batch in enumerate(steps[f"batches_{kind}"].astype(int)):
            numeric = central_difference(lambda v: batch_mse(batch, v[0], biases[t]), [weights[t]])[0]
            assert steps[f"gradients_{kind}"][t, 0] == pytest.approx(numeric, rel=1e-6, abs=1e-6)
            if bias:
                numeric_b = central_difference(lambda v: batch_mse(batch, weights[t], v[0]), [biases[t]])[0]
                assert steps[f"bias_gradients_{kind}"][t] == pytest.approx(numeric_b, rel=1e-6, abs=1e-6)


def test_the_chart_carries_the_three_loss_paths(cli, run_json):
    result = cli("sgd", "--format", "json")
    document = json.loads(result.stdout)
    paths = step(document, "loss_paths")
    chart = paths["chart"]
    assert chart["kind"] == "line" and list(chart["series"]) == ["batch", "SGD", "mini-batch"]
    assert list(chart["x"]) == [0, 1, 2, 3]
    for row, kind in zip(paths["value"], ("gd", "sgd", "mb")):
        assert row == step(document, f"losses_{kind}")["value"]
    ref, _ = reference(X, Y, 0.0, None, 0.02, 3, 2, 0)
    final = np.array([ref[kind]["losses"][-1] for kind in ("gd", "sgd", "mb")])
    lowest = ("batch GD", "SGD", "mini-batch")[int(np.argmin(final))]
    assert f"lowest: {lowest}" in paths["notes"][0]


def test_a_growing_loss_gets_a_note_with_a_rate_that_works(run_json):
    _, document, _ = run(run_json, "--lr", "0.1")
    notes = step(document, "loss_paths")["notes"]
    assert len(notes) == 2 and "ends higher" in notes[1]
    better = notes[1].split("--lr ")[1].split()[0]
    steps, _, _ = run(run_json, "--lr", better)
    for kind in ("gd", "sgd", "mb"):
        assert steps[f"losses_{kind}"][-1] < steps[f"losses_{kind}"][0]


def test_a_rising_loss_warns_and_a_falling_one_is_a_remark():
    # Issue 14: a loss that rises and ends above where it started (an epoch's whole-data loss,
    # an update's own batch loss, the final loss) is a caution (⚠); SGD's loss rising in an
    # epoch but ending lower (its usual noise), the comparison and "every update lowered the
    # loss of its own batch" are remarks (•).
    calm = engine.run("sgd")
    (summary,) = calm.find("loss_paths").notes
    (lowered,) = calm.find("batch_losses_after_mb").notes
    assert not isinstance(summary, Caution) and "lowest" in summary
    assert not isinstance(lowered, Caution) and "Every update lowered" in lowered
    assert calm.find("losses_gd").notes == () and calm.find("losses_mb").notes == ()
    (noisy,) = calm.find("losses_sgd").notes  # defaults: SGD's loss rises in epoch 2, ends lower
    assert not isinstance(noisy, Caution) and "ends lower than it started" in noisy
    steep = engine.run("sgd", {"lr": ("0.1", "test")})
    summary, grown = steep.find("loss_paths").notes
    assert not isinstance(summary, Caution) and isinstance(grown, Caution) and "ends higher" in grown
    for id in ("losses_gd", "losses_sgd", "losses_mb", "batch_losses_after_sgd", "batch_losses_after_mb"):
        (note,) = steep.find(id).notes
        assert isinstance(note, Caution) and ("rises" in note or "raised" in note), id


def test_a_diverging_rate_exits_2_naming_a_rate_that_works(cli, run_json):
    result = cli("sgd", "--lr", "1", "--epochs", "5")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "--lr" in result.stderr and "diverge" in result.stderr
    better = result.stderr.split("such as ")[1].split()[0]
    steps, _, _ = run(run_json, "--lr", better, "--epochs", "5")
    assert all(steps[f"losses_{kind}"][-1] < steps[f"losses_{kind}"][0] for kind in ("gd", "sgd", "mb"))


@pytest.mark.parametrize("args,option", [
    (("--batch-size", "4"), "--batch-size"),
    (("--batch-size", "7"), "--batch-size"),
    (("--batch-size", "0"), "--batch-size"),
    (("--x", "1,2;3,4"), "--x"),
    (("--x", "1,2,3"), "--y"),
    (("--y", "1,2"), "--y"),
    (("--lr", "0"), "--lr"),
    (("--lr", "-0.1"), "--lr"),
    (("--epochs", "0"), "--epochs"),
    (("--w0", "1,2"), "--w0"),
    (("--b0", "a"), "--b0"),
])
def test_bad_inputs_exit_2_with_one_line(cli, args, option):
    result = cli("sgd", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and option in result.stderr


small = st.integers(-1000, 1000).map(lambda v: v / 100)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), samples=st.integers(1, 8), epochs=st.integers(1, 4), lr=st.floats(1e-4, 2).map(lambda v: float(f"{v:.3g}")),
       w0=small, bias=st.booleans())
def test_random_inputs_exit_0_or_a_clean_2(data, samples, epochs, lr, w0, bias):
    x = data.draw(st.lists(small, min_size=samples, max_size=samples))
    y = data.draw(st.lists(small, min_size=samples, max_size=samples))
    batch = data.draw(st.sampled_from([q for q in range(1, samples + 1) if samples % q == 0]))
    typed = {"x": (",".join(map(repr, x)), "test"), "y": (",".join(map(repr, y)), "test"), "w0": (repr(w0), "test"),
             "lr": (repr(lr), "test"), "epochs": (str(epochs), "test"), "batch_size": (str(batch), "test")}
    if bias:
        typed["b0"] = (repr(data.draw(small)), "test")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            d = engine.run("sgd", typed)
        except InputError as error:
            assert str(error).startswith("--") and "\n" not in str(error)
            return
    for item in d.steps():
        assert np.isfinite(np.asarray(item.value, float)).all(), item.id


# ---- reading (issue 14): what the terminal shows can be redone by hand --------------------

def terminal(cli, *args):
    return terminal_view(cli, "sgd", *args)


def test_each_first_update_is_worked_at_w0_with_its_method_name(cli):
    # w'₀ = w₀ - η g₀ for each method (the hand numbers of the first updates): batch 0 - 0.02⋅(-61.13),
    # SGD on sample 3 (x = 4, y = 7.8): g = 2⋅(-7.8)⋅4 = -62.4; mini-batch on 3, 2: g = -31.2 - 18.6 = -49.8.
    text = terminal(cli)
    assert "w'₀ = 0 - 0.02⋅(-61.13) = 1.223" in text
    assert "w'ˢᴳᴰ₀ = 0 - 0.02⋅(-62.4) = 1.248" in text and "w'ᴹᴮ₀ = 0 - 0.02⋅(-49.8) = 0.996" in text
    assert "w'_sgd" not in text and "w'_mb" not in text
    bias = terminal(cli, "--b0", "0.5")
    assert "b'ˢᴳᴰ = b - η⋅gˢᴳᴰ_b" in bias and "b'_sgd" not in bias


def test_the_prose_writes_the_prediction_in_the_formulas_order(cli):
    # ŷₛ = Σ wₖ⋅xₛₖ is printed weight first (and its numbers 0⋅1 are w⋅x): the prose says the same.
    text = " ".join(terminal(cli).split())
    assert "ŷ_s = Σ_k w_k x_sk" in text and "ŷ_s = w_0 x_s0 = w x_s" in text and "x_sk w_k" not in text


def test_the_epoch_losses_explain_the_row_index_of_their_formula(cli, run_json):
    # Lˢᴳᴰₑ reads the weights at row N⋅e (6 updates per epoch), Lᴹᴮₑ at row e⋅n with n = N/m = 3:
    # n is not an input, so its value is said where it is used. The prose writes the row as the
    # formula prints it (Wˢᴳᴰ[N⋅e,k]).
    _, document, _ = run(run_json)
    assert "row N⋅e of the weight table: N = 6 updates per epoch" in step(document, "losses_sgd")["explanation"]
    assert "row e⋅n of the weight table: n = N/m = 3 updates per epoch" in step(document, "losses_mb")["explanation"]
    assert "row" not in step(document, "losses_gd")["explanation"].split("i.e.")[1]
    text = terminal(cli)
    assert "Wˢᴳᴰ[N⋅e,k]" in text and "Wᴹᴮ[e⋅n,k]" in text
    _, other, _ = run(run_json, "--batch-size", "3")
    assert "n = N/m = 2 updates per epoch" in step(other, "losses_mb")["explanation"]
