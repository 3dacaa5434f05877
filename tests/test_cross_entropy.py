"""cross-entropy lesson: hand calculation, an independent NumPy reference, central
differences, the chart data against the table, computed notes, domains and bad inputs."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LARGER, central_difference
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution

STEP_IDS = [
    "surprise_p", "surprise_q", "expected_x", "expected_v",
    "entropy_p_terms", "entropy_p", "entropy_q_terms", "entropy_q",
    "cross_entropy_terms", "cross_entropy", "kl_terms", "kl",
    "one_hot", "sample_0", "one_hot_ce_terms", "one_hot_ce", "sample_losses", "batch_mean",
    "ce_loss", "mse_loss", "loss_chart", "ce_grad_p", "mse_grad_p",
    "logit", "sigmoid.activation", "sigmoid.derivative", "ce.delta", "ce_grad_z", "mse.delta",
    "gradient_chart", "table",
]
INPUT_IDS = ["p", "q", "x", "v", "batch", "labels", "predictions", "base"]


def values(d):
    return {s.id: np.asarray(s.value, dtype=float) for s in d.steps()}


def typed(**inputs):
    return {name: (text, "test") for name, text in inputs.items()}


# ---- an independent reference, written apart from the lesson and its blocks ----


def reference(p, q, x, v, batch, labels, predictions, base="e"):
    """Every value that matters, from the definitions, in plain NumPy."""
    p, q, x, v, batch, pr = (np.asarray(a, dtype=float) for a in (p, q, x, v, batch, predictions))
    labels = np.asarray(labels, dtype=int)
    unit = 1.0 if base == "e" else math.log(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln = lambda a: np.log(a) / unit  # noqa: E731
        plogp = lambda a, b: np.array([ai * ln(bi) if ai > 0 else 0.0 for ai, bi in zip(a, b)])  # noqa: E731
        out = {
            "surprise_p": -ln(p), "surprise_q": -ln(q),
            "expected_x": float(np.sum(p * x)), "expected_v": float(np.sum(q * v)),
            "entropy_p_terms": -plogp(p, p), "entropy_p": -plogp(p, p).sum(),
            "entropy_q_terms": -plogp(q, q), "entropy_q": -plogp(q, q).sum(),
            "cross_entropy_terms": -plogp(p, q), "cross_entropy": -plogp(p, q).sum(),
            "kl": sum(a * ln(a / b) for a, b in zip(p, q) if a > 0),
        }
        t = np.zeros(batch.shape[1])
        t[labels[0]] = 1
        losses = np.array([-ln(batch[r, c]) for r, c in enumerate(labels)])
        out.update({"one_hot": t, "sample_0": batch[0], "one_hot_ce": -ln(batch[0, labels[0]]),
                    "sample_losses": losses, "batch_mean": losses.mean()})
    sig = pr  # the logit is chosen so that sigma(z) = p
    ce, mse = -np.log(pr), (1 - pr) ** 2
    dce_p, dmse_p = -1 / pr, -2 * (1 - pr)
    dce_z, dmse_z = -(1 - pr), -2 * (1 - pr) * pr * (1 - pr)
    out.update({"ce_loss": ce, "mse_loss": mse, "ce_grad_p": dce_p, "mse_grad_p": dmse_p,
                "logit": np.log(pr / (1 - pr)), "sigmoid.activation": sig, "sigmoid.derivative": pr * (1 - pr),
                "ce.delta": dce_z, "ce_grad_z": dce_z, "mse.delta": dmse_z,
                "loss_chart": np.array([ce, mse]), "gradient_chart": np.array([dce_z, dmse_z]),
                "table": np.array([ce, mse, dce_p, dmse_p, dce_z, dmse_z]).T})
    return out


def compare(d, expected, rtol=1e-9):
    got = values(d)
    for id, want in expected.items():
        np.testing.assert_allclose(got[id], want, rtol=rtol, atol=1e-13, err_msg=id)


DEFAULTS = dict(p=[0.9, 0.1], q=[0.5, 0.5], x=[0, 10], v=[0, 2], batch=[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]],
                labels=[0, 1, 2], predictions=[0.99, 0.9, 0.5, 0.1, 0.01])


def test_step_ids_are_fixed():
    d = engine.run("cross-entropy")
    assert [s.id for s in d.steps()] == STEP_IDS
    assert [item.id for item in d.inputs] == INPUT_IDS


def test_hand_calculation():
    # Worked by hand (DL101 #7's distributions (0.9, 0.1) and (0.5, 0.5); ln 0.9 = -0.1053605,
    # ln 0.1 = -2.3025851, ln 0.5 = -0.6931472):
    #   H(0.9, 0.1) = 0.9 * 0.1053605 + 0.1 * 2.3025851 = 0.0948245 + 0.2302585 = 0.3250830 nats
    #               = 0.3250830 / ln 2 = 0.4689956 bits;   H(0.5, 0.5) = ln 2 = 0.6931472 nats = 1 bit
    #   E[X] = 0.9 * 0 + 0.1 * 10 = 1 = E[V] = 0.5 * 0 + 0.5 * 2
    #   H(P, Q) = -(0.9 + 0.1) ln 0.5 = ln 2;  KL(P||Q) = ln 2 - 0.3250830 = 0.3680642
    #   batch: -ln 0.7 = 0.3566749, -ln 0.8 = 0.2231436, -ln 0.1 = 2.3025851, mean 0.9608012
    #   CE vs MSE at p = 0.9, 0.5, 0.1, 0.01 (target 1):
    #     CE = 0.1053605, 0.6931472, 2.3025851, 4.6051702;  MSE = 0.01, 0.25, 0.81, 0.9801
    #     dCE/dp = -1/p = -1.1111111, -2, -10, -100;  dMSE/dp = 2(p - 1) = -0.2, -1, -1.8, -1.98
    #     dCE/dz = p - 1 = -0.1, -0.5, -0.9, -0.99
    #     dMSE/dz = 2(p - 1) p (1 - p) = -0.018, -0.25, -0.162, -0.019602
    s = values(engine.run("cross-entropy"))
    assert s["entropy_p"] == pytest.approx(0.3250830, abs=1e-7)
    assert s["entropy_q"] == pytest.approx(0.6931472, abs=1e-7)
    assert s["expected_x"] == s["expected_v"] == 1
    assert s["cross_entropy"] == pytest.approx(0.6931472, abs=1e-7)
    assert s["kl"] == pytest.approx(0.3680642, abs=1e-7)
    assert s["surprise_p"][1] == pytest.approx(2.3025851, abs=1e-7)
    np.testing.assert_allclose(s["sample_losses"], [0.3566749, 0.2231436, 2.3025851], atol=1e-7)
    assert s["batch_mean"] == pytest.approx(0.9608012, abs=1e-7)
    assert s["one_hot_ce"] == pytest.approx(0.3566749, abs=1e-7)
    np.testing.assert_allclose(s["ce_loss"][1:], [0.1053605, 0.6931472, 2.3025851, 4.6051702], atol=1e-7)
    np.testing.assert_allclose(s["mse_loss"][1:], [0.01, 0.25, 0.81, 0.9801], atol=1e-12)
    np.testing.assert_allclose(s["ce_grad_p"][1:], [-1.1111111, -2, -10, -100], atol=1e-7)
    np.testing.assert_allclose(s["mse_grad_p"][1:], [-0.2, -1, -1.8, -1.98], atol=1e-12)
    np.testing.assert_allclose(s["ce.delta"][1:], [-0.1, -0.5, -0.9, -0.99], atol=1e-12)
    np.testing.assert_allclose(s["mse.delta"][1:], [-0.018, -0.25, -0.162, -0.019602], atol=1e-12)
    bits = values(engine.run("cross-entropy", typed(base="2")))
    assert bits["entropy_p"] == pytest.approx(0.4689956, abs=1e-7)
    assert bits["entropy_q"] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("base", ["e", "2"])
def test_reference_at_defaults(base):
    compare(engine.run("cross-entropy", typed(base=base)), reference(**DEFAULTS, base=base))


def _text(a):
    a = np.atleast_2d(a)
    return ";".join(",".join(repr(float(x)) for x in row) for row in a)


def _weights(rng, k, zeros=False):
    w = rng.integers(0 if zeros else 1, 10, size=k)
    w[rng.integers(k)] += 1
    return w


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_reference_at_random_inputs(seed):
    rng = np.random.default_rng(seed)
    n, rows, classes = rng.integers(2, 6), rng.integers(1, 6), rng.integers(2, 6)
    wp, wq = _weights(rng, n, zeros=True), _weights(rng, n)
    batch = np.array([_weights(rng, classes) for _r in range(rows)], dtype=float)
    batch /= batch.sum(axis=1, keepdims=True)
    batch[:, -1] = 1 - batch[:, :-1].sum(axis=1)  # rows sum to 1 up to the last rounding
    inputs = dict(p=wp / wp.sum(), q=wq / wq.sum(), x=rng.normal(size=n), v=rng.normal(size=n), batch=batch,
                  labels=rng.integers(0, classes, size=rows), predictions=np.sort(rng.uniform(0.001, 0.999, size=6))[::-1])
    base = ["e", "2"][seed % 2]
    text = {k: ",".join(str(int(c)) for c in val) if k == "labels" else _text(val) for k, val in inputs.items()}
    text["p"], text["q"] = (",".join(f"{a}/{w.sum()}" for a in w) for w in (wp, wq))
    compare(engine.run("cross-entropy", typed(**text, base=base)), reference(**inputs, base=base), rtol=1e-8)


def test_reference_with_seed_and_larger_inputs(run_json):
    steps, document = run_json("cross-entropy", "--seed", "5")
    inputs = {item["name"]: item["value"] for item in document["inputs"]}
    want = reference(*(inputs[k] for k in ("p", "q", "x", "v", "batch", "labels", "predictions")))
    for id in ("surprise_p", "expected_x", "expected_v", "entropy_p", "entropy_q", "cross_entropy", "kl", "batch_mean"):
        np.testing.assert_allclose(steps[id], want[id], rtol=1e-9, err_msg=id)
    d = engine.run("cross-entropy", LARGER["cross-entropy"])
    got = {item.id: item.value for item in d.inputs}
    compare(d, reference(*(got[k] for k in ("p", "q", "x", "v", "batch", "labels", "predictions"))))


# ---- gradients against this file's own central differences ----


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_gradients_against_central_differences():
    d = engine.run("cross-entropy", typed(predictions="0.99,0.9,0.7,0.5,0.3,0.1,0.05,0.01"))
    s = values(d)
    p, z = s["sigmoid.activation"], s["logit"]
    ce_p = central_difference(lambda a: np.sum(-np.log(a)), p, h=1e-7)
    mse_p = central_difference(lambda a: np.sum((1 - a) ** 2), p)
    ce_z = central_difference(lambda a: np.sum(-np.log(_sigmoid(a))), z)
    mse_z = central_difference(lambda a: np.sum((1 - _sigmoid(a)) ** 2), z)
    sig_z = central_difference(lambda a: np.sum(_sigmoid(a)), z)
    np.testing.assert_allclose(s["ce_grad_p"], ce_p, rtol=1e-5)
    np.testing.assert_allclose(s["mse_grad_p"], mse_p, rtol=1e-6)
    np.testing.assert_allclose(s["ce.delta"], ce_z, rtol=1e-6)
    np.testing.assert_allclose(s["ce_grad_z"], ce_z, rtol=1e-6)
    np.testing.assert_allclose(s["mse.delta"], mse_z, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(s["sigmoid.derivative"], sig_z, rtol=1e-6)
    assert all("finite differences" in " ".join(d[id].check) for id in ("ce_grad_p", "mse_grad_p", "ce.delta", "ce_grad_z", "mse.delta"))


# ---- the chart data, the table and the notes ----


def test_chart_data_in_json_equals_the_table(run_json):
    steps, document = run_json("cross-entropy")
    raw = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    table = steps["table"]
    np.testing.assert_array_equal(steps["loss_chart"], table[:, :2].T)
    np.testing.assert_array_equal(steps["gradient_chart"], table[:, 4:].T)
    predictions = [item["value"] for item in document["inputs"] if item["name"] == "predictions"][0]
    for id, series in (("loss_chart", ["CE", "MSE"]), ("gradient_chart", ["∂CE/∂z", "∂MSE/∂z"])):
        chart = raw[id]["chart"]
        assert chart["kind"] == "line" and chart["series"] == series and chart["x"] == predictions
        assert chart["x_label"] == "prediction p̂ of the true class"
    for k, id in enumerate(("ce_loss", "mse_loss", "ce_grad_p", "mse_grad_p", "ce.delta", "mse.delta")):
        np.testing.assert_array_equal(table[:, k], steps[id])


def _notes(d, id):
    return " ".join(d[id].notes)


def test_notes_are_computed_from_the_numbers():
    d = engine.run("cross-entropy")
    assert "same expected value" in _notes(d, "entropy_q") and "Q's outcome is harder to predict" in _notes(d, "entropy_q")
    assert "uniform" in _notes(d, "entropy_q") and "uniform" in _notes(d, "cross_entropy")
    assert "50.5 times smaller" in _notes(d, "mse.delta") and "vanishes" in _notes(d, "mse.delta")
    assert "sample 2 costs most" in _notes(d, "sample_losses")
    assert "ℓ_0 = 0.3567 = H(t, q̂)" in _notes(d, "batch_mean")
    other = engine.run("cross-entropy", typed(p="0.5,0.5", q="0.2,0.8", predictions="0.9,0.5"))
    assert "different expected values" in _notes(other, "entropy_q") and "P's outcome" in _notes(other, "entropy_q")
    assert "uniform" not in _notes(other, "entropy_q") + _notes(other, "cross_entropy")
    assert "below 1/3" in _notes(other, "mse.delta") and "times smaller" not in _notes(other, "mse.delta")


def test_zero_probabilities_are_explained():
    d = engine.run("cross-entropy", typed(p="1,0", q="0,1", batch="0,1;1,0", labels="0,0"))
    s = values(d)
    assert np.isinf(s["surprise_p"][1]) and s["entropy_p"] == 0
    assert "impossible outcome" in _notes(d, "surprise_p")
    assert np.isinf(s["cross_entropy"]) and "∞" in _notes(d, "cross_entropy")
    assert np.isinf(s["sample_losses"][0]) and np.isinf(s["batch_mean"])
    assert "∞" in _notes(d, "sample_losses")
    assert not any(np.isnan(v).any() for v in s.values())
    # Issue 14: an infinite value warns (⚠): the surprise of an impossible outcome, a sample loss of ∞
    for id in ("surprise_p", "sample_losses"):
        (note,) = d[id].notes
        assert isinstance(note, Caution), id


def test_the_lectures_observations_are_remarks_not_cautions():
    # Issue 14: what the default numbers show (same mean but different entropy, Q uniform, the
    # costliest sample, CE against MSE, MSE's vanishing gradient) is the lecture's point: • not ⚠.
    d = engine.run("cross-entropy")
    for id in ("surprise_p", "surprise_q", "entropy_q", "cross_entropy", "sample_losses", "batch_mean", "ce_loss",
               "mse_grad_p", "mse.delta"):
        assert not any(isinstance(note, Caution) for note in d[id].notes), id
    assert d["sample_losses"].notes and d["mse.delta"].notes and d["surprise_p"].notes == ()


def test_extreme_predictions_stay_finite():
    d = engine.run("cross-entropy", typed(predictions="1.1e-300,1e-20,0.5,0.9999999999999999"))
    s = values(d)
    assert all(np.isfinite(v).all() for id, v in s.items() if id in ("ce_loss", "ce_grad_p", "ce.delta", "mse.delta", "logit"))
    np.testing.assert_allclose(s["ce.delta"], [-1, -1, -0.5, -1.1102230246251565e-16], rtol=1e-6)
    assert "0.9999999999999999" in d["table"].labels[0]


# ---- domains and bad inputs ----

_probability = st.integers(2, 4).flatmap(lambda n: st.lists(st.integers(0, 9), min_size=n, max_size=n).filter(lambda w: sum(w) > 0))


@settings(max_examples=20, deadline=None)
@given(predictions=st.lists(st.floats(1e-300, 1, exclude_max=True), min_size=1, max_size=5),
       weights=_probability, rows=st.lists(st.lists(st.integers(0, 5), min_size=3, max_size=3).filter(lambda w: sum(w) > 0), min_size=1, max_size=3),
       label=st.integers(0, 2), base=st.sampled_from(["e", "2"]))
def test_any_inputs_in_the_domains(predictions, weights, rows, label, base):
    text = dict(p=",".join(f"{w}/{sum(weights)}" for w in weights), q=",".join(["1/%d" % len(weights)] * len(weights)),
                x=",".join(["1"] * len(weights)), v=",".join(["2"] * len(weights)),
                batch=";".join(",".join(f"{w}/{sum(row)}" for w in row) for row in rows), labels=",".join([str(label)] * len(rows)),
                predictions=",".join(repr(x) for x in predictions), base=base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("cross-entropy", typed(**text))
        except InputError as error:
            assert "\n" not in str(error) and str(error).startswith("--")
            return
    for step in d.steps():
        assert not np.isnan(np.asarray(step.value, dtype=float)).any(), step.id
    assert np.isfinite(values(d)["ce.delta"]).all()


@pytest.mark.parametrize("args, option", [
    (("--predictions", "0.5,0"), "--predictions"),
    (("--predictions", "1"), "--predictions"),
    (("--predictions", "1.5"), "--predictions"),
    (("--predictions", "-0.1"), "--predictions"),
    (("--batch", "0.5,0.6;0.2,0.8", "--labels", "0,1"), "--batch"),
    (("--batch", "0.5,-0.5,1"), "--batch"),
    (("--labels", "0,1,3"), "--labels"),
    (("--labels", "0,1"), "--labels"),
    (("--labels", "0.5,1,1"), "--labels"),
    (("--p", "0.5,0.6"), "--p"),
    (("--x", "1,2,3"), "--x"),
    (("--base", "10"), "--base"),
])
def test_bad_inputs_exit_2_with_one_line(cli, args, option):
    result = cli("cross-entropy", *args, "--no-pager")
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert option in message and "Traceback" not in result.output
    assert len(message.splitlines()) == 1, message


def test_prose_uses_the_lessons_own_names():
    # Issue 14 (reading): the steps borrowed from blocks speak of q̂, σ, p̂, CE and MSE as the
    # formulas under them do (not a code name qhat, nor a generic L and a with a Jacobian),
    # and the unit of the logarithms is said where "nats" first appears.
    d = engine.run("cross-entropy")
    assert "q̂_i" in d["one_hot_ce_terms"].explanation and "qhat" not in d["one_hot_ce_terms"].explanation
    assert d["sigmoid.derivative"].title == "Slope of the sigmoid" and "a = σ(z)" not in d["sigmoid.derivative"].explanation
    for id, loss in (("ce.delta", "CE"), ("mse.delta", "MSE")):
        text = d[id].explanation
        assert f"∂{loss}/∂z_i = ∂{loss}/∂p̂_i · ∂σ/∂z_i, where σ_i = p̂_i" in text
        assert "∂a" not in text and "Jacobian" not in text
    assert "For MSE nothing cancels" in d["mse.delta"].explanation
    assert "natural (base e), so the values are in nats" in d.sections[0].explanation
    assert "base 2, so the values are in bits" in engine.run("cross-entropy", typed(base="2")).sections[0].explanation
    assert "`mse`" not in d.sections[6].explanation and "MSELoss" in d.sections[6].explanation
