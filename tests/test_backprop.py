"""backprop lesson: Mazur's published example, a cross-entropy hand calculation, ReLU at 0,
shapes that disagree, depth 5, the resnet chain, against a NumPy reference written here."""

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import central_difference
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution

# ---- an independent reference, written apart from the lesson and its blocks ----------------


def ref_f(kind, z):
    z = np.asarray(z, float)
    if kind == "sigmoid":
        return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
    if kind == "tanh":
        return np.tanh(z)
    if kind == "relu":
        return np.where(z > 0, z, 0.0)
    return z  # the logits under ce


def ref_fprime(kind, z):
    a = ref_f(kind, z)
    return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": (np.asarray(z) > 0).astype(float)}[kind]


def ref_loss(loss, out, t):
    """(L, dL/d out); for ce `out` are the logits and the gradient is y - t."""
    out, t = np.asarray(out, float), np.asarray(t, float)
    if loss == "ce":
        shifted = out - out.max()
        log_y = shifted - np.log(np.exp(shifted).sum())
        return float(-(t * log_y).sum()), np.exp(log_y) - t
    r = out - t
    return {"half-sse": (0.5 * (r**2).sum(), r), "sse": ((r**2).sum(), 2 * r), "mse": ((r**2).mean(), 2 * r / len(r))}[loss]


def ref_forward(x, Ws, bs, kinds):
    zs, acts = [], [np.asarray(x, float)]
    for W, b, kind in zip(Ws, bs, kinds):
        zs.append(np.asarray(W, float) @ acts[-1] + np.asarray(b, float))
        acts.append(ref_f(kind, zs[-1]))
    return zs, acts


def ref_network(x, Ws, bs, kinds, loss, t, lr, biases=True):
    """Forward, backward (δ by the chain rule, layer by layer) and one update, as a dict;
    without biases, `bs` are zeros that stay zeros."""
    zs, acts = ref_forward(x, Ws, bs, kinds)
    L, grad = ref_loss(loss, acts[-1], t)
    out = {"loss": L, "z": zs, "a": acts[1:], "delta": [None] * len(Ws), "gW": [None] * len(Ws), "gb": [None] * len(Ws)}
    for l in reversed(range(len(Ws))):
        delta = grad if kinds[l] == "linear" else grad * ref_fprime(kinds[l], zs[l])
        out["delta"][l], out["gW"][l], out["gb"][l] = delta, np.outer(delta, acts[l]), delta
        grad = np.asarray(Ws[l], float).T @ delta
    out["W_new"] = [np.asarray(W, float) - lr * g for W, g in zip(Ws, out["gW"])]
    out["b_new"] = [np.asarray(b, float) - (lr * g if biases else 0) for b, g in zip(bs, out["gb"])]
    out["after"] = ref_loss(loss, ref_forward(x, out["W_new"], out["b_new"], kinds)[1][-1], t)[0]
    return out


def network_of(document):
    """The numbers the lesson used, read back from its JSON inputs."""
    inputs = {item["name"]: item["value"] for item in document["inputs"]}
    depth = len(inputs["sizes"]) - 1
    Ws = [np.array(inputs[f"w{l}"], float) for l in range(1, depth + 1)]
    bs = [np.array(inputs.get(f"b{l}", np.zeros(len(W))), float) for l, W in zip(range(1, depth + 1), Ws)]
    return np.array(inputs["x"], float), Ws, bs, np.array(inputs["target"], float), inputs["lr"]


def compare(steps, ref, depth, ce=False, biases=True):
    for l in range(1, depth + 1):
        assert np.allclose(steps[f"l{l}.linear"], ref["z"][l - 1], rtol=1e-10, atol=1e-12)
        assert np.allclose(steps[f"l{l}.dL_dW"], ref["gW"][l - 1], rtol=1e-9, atol=1e-12)
        assert np.allclose(steps[f"l{l}.update_W"], ref["W_new"][l - 1], rtol=1e-10, atol=1e-12)
        if biases:
            assert np.allclose(steps[f"l{l}.dL_db"], ref["gb"][l - 1], rtol=1e-9, atol=1e-12)
            assert np.allclose(steps[f"l{l}.update_b"], ref["b_new"][l - 1], rtol=1e-10, atol=1e-12)
        if not (ce and l == depth):
            assert np.allclose(steps[f"l{l}.activation"], ref["a"][l - 1], rtol=1e-10, atol=1e-12)
            assert np.allclose(steps[f"l{l}.delta"], ref["delta"][l - 1], rtol=1e-9, atol=1e-12)
    if ce:
        assert np.allclose(steps["gradient"], ref["delta"][-1], rtol=1e-9, atol=1e-12)
    assert steps["loss"] == pytest.approx(ref["loss"], rel=1e-10)
    assert steps["after.loss"] == pytest.approx(ref["after"], rel=1e-10)
    assert steps["change"] == pytest.approx(ref["after"] - ref["loss"], rel=1e-8, abs=1e-14)


# ---- the published example -----------------------------------------------------------------

MAZUR_STEPS = [
    "l1.linear", "l1.activation", "l2.linear", "l2.activation", "loss", "gradient",
    "l2.derivative", "l2.delta", "l2.dL_dW", "l2.dL_db", "l2.dL_dx",
    "l1.derivative", "l1.delta", "l1.dL_dW", "l1.dL_db",
    "l1.update_W", "l1.update_b", "l2.update_W", "l2.update_b",
    "after.l1.linear", "after.l1.activation", "after.l2.linear", "after.l2.activation", "after.loss", "change",
]
CE_STEPS = [
    "l1.linear", "l1.activation", "l2.linear", "shift", "exp", "sum", "softmax", "log_softmax", "loss",
    "gradient", "l2.dL_dW", "l2.dL_db", "l2.dL_dx", "l1.derivative", "l1.delta", "l1.dL_dW", "l1.dL_db",
    "l1.update_W", "l1.update_b", "l2.update_W", "l2.update_b",
    "after.l1.linear", "after.l1.activation", "after.l2.linear", "after.shift", "after.exp", "after.sum",
    "after.softmax", "after.log_softmax", "after.loss", "change",
]
CHAIN_STEPS = [
    "l1.linear", "l1.activation", "l2.linear", "l2.activation", "l3.linear", "l3.activation", "loss", "gradient",
    "l3.derivative", "l3.delta", "l3.dL_dW", "l3.dL_dx", "l2.derivative", "l2.delta", "l2.dL_dW", "l2.dL_dx",
    "l1.derivative", "l1.delta", "l1.dL_dW", "l1.update_W", "l2.update_W", "l3.update_W",
    "after.l1.linear", "after.l1.activation", "after.l2.linear", "after.l2.activation", "after.l3.linear",
    "after.l3.activation", "after.loss", "change",
]
CHAIN = ("--sizes", "1,1,1,1", "--w1", "0.1", "--w2", "0.1", "--w3", "0.1", "--bias", "off", "--loss", "mse",
         "--x", "0.5", "--target", "0")


def ids(document):
    return [s["id"] for sec in document["sections"] for s in sec["steps"]]


def test_step_ids_are_fixed(run_json):
    assert ids(run_json("backprop")[1]) == MAZUR_STEPS
    assert ids(run_json("backprop", "--loss", "ce")[1]) == CE_STEPS
    assert ids(run_json("backprop", *CHAIN)[1]) == CHAIN_STEPS


def test_matt_mazur_step_by_step_backpropagation_example(run_json):
    # Matt Mazur, "A Step by Step Backpropagation Example" (2015),
    # https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/ :
    # net_h1 = 0.3775, out_h1 = 0.593269992, out_h2 = 0.596884378, net_o1 = 1.105905967,
    # out_o1 = 0.75136507, out_o2 = 0.772928465, E_total = 0.298371109, ∂E/∂w5 = 0.082167041,
    # w5⁺ = 0.35891648, w6⁺ = 0.408666186, w7⁺ = 0.511301270, w8⁺ = 0.561370121,
    # w1⁺ = 0.149780716, w2⁺ = 0.19956143, w3⁺ = 0.24975114, w4⁺ = 0.29950229.
    # His weights w1..w4 are W⁽¹⁾ row by row, w5..w8 W⁽²⁾. He shares one bias per layer
    # and does not update it; here the per-neuron biases are updated, which leaves this
    # step's weight gradients (and so his updated weights) unchanged.
    steps, document = run_json("backprop")
    assert steps["l1.linear"][0] == pytest.approx(0.3775, abs=1e-12)
    assert np.allclose(steps["l1.activation"], [0.593269992, 0.596884378], atol=1e-9)
    assert steps["l2.linear"][0] == pytest.approx(1.105905967, abs=1e-9)
    assert np.allclose(steps["l2.activation"], [0.75136507, 0.772928465], atol=1e-8)
    assert steps["loss"] == pytest.approx(0.298371109, abs=1e-9)
    assert steps["l2.dL_dW"][0, 0] == pytest.approx(0.082167041, abs=1e-9)
    assert np.allclose(steps["l2.update_W"], [[0.35891648, 0.408666186], [0.511301270, 0.561370121]], atol=1e-8)
    assert np.allclose(steps["l1.update_W"], [[0.149780716, 0.19956143], [0.24975114, 0.29950229]], atol=1e-8)
    assert np.allclose(steps["l2.update_b"], 0.6 - 0.5 * steps["l2.delta"])  # updated, per neuron
    x, Ws, bs, t, lr = network_of(document)
    compare(steps, ref_network(x, Ws, bs, ["sigmoid"] * 2, "half-sse", t, lr), 2)
    # With the biases kept as Mazur keeps them, our reference gives the loss the note states;
    # the post reports "After this first round of backpropagation, the total error is now down
    # to 0.291027924": 1.5e-7 above the exact value 0.291027774 (also with his rounded weights).
    kept = ref_forward(x, [np.asarray(s) for s in (steps["l1.update_W"], steps["l2.update_W"])], bs, ["sigmoid"] * 2)[1][-1]
    stated = f"{ref_loss('half-sse', kept, t)[0]:.9f}"
    update = next(sec for sec in document["sections"] if sec["title"] == "Update")
    assert "Mazur" in update["explanation"] and stated in update["explanation"]
    assert float(stated) == pytest.approx(0.291027924, abs=2e-7)
    assert steps["after.loss"] < float(stated) < steps["loss"]


def test_mazurs_weight_names_point_at_the_entries_that_hold_his_numbers(run_json):
    # The text maps his w1, w2, w5 and w1⁺, w5⁺ to entries of W (indices from 0): those
    # entries must hold the numbers the text gives for them.
    steps, document = run_json("backprop")
    setup = document["sections"][0]["explanation"]
    assert "w1 = W⁽¹⁾₀₀, w2 = W⁽¹⁾₀₁" in setup and "w5..w8 = 0.40, 0.45, 0.50, 0.55 are W⁽²⁾" in setup
    inputs = {item["name"]: np.array(item["value"]) for item in document["inputs"]}
    assert inputs["w1"][0, 0] == 0.15 and inputs["w1"][0, 1] == 0.20 and inputs["w2"].ravel().tolist() == [0.40, 0.45, 0.50, 0.55]
    update = next(sec for sec in document["sections"] if sec["title"] == "Update")["explanation"]
    assert "w5⁺ = 0.35891648 is W⁽²⁾′₀₀" in update and "w1⁺ = 0.149780716 is W⁽¹⁾′₀₀" in update
    assert steps["l2.update_W"][0, 0] == pytest.approx(0.35891648, abs=5e-9)
    assert steps["l1.update_W"][0, 0] == pytest.approx(0.149780716, abs=5e-10)


def test_mazurs_name_is_given_only_where_his_numbers_are(run_json):
    # Another learning rate gives other weights after the update: no claim that they are his.
    _, document = run_json("backprop", "--lr", "1")
    assert not any("Mazur" in sec["explanation"] for sec in document["sections"])


@pytest.mark.parametrize("args", [(), ("--bias", "off"), ("--loss", "ce"), ("--sizes", "2,3,2,2")])
def test_each_backward_section_names_its_layer_and_the_products_it_shows(run_json, args):
    # The section text says which gradients follow, in the layer's own symbols: every layer
    # but the first also passes ∂L/∂a down; the first passes nothing (x is the input).
    _, document = run_json("backprop", *args)
    sections = [sec for sec in document["sections"] if sec["title"].startswith("Backward, layer ")]
    for sec in sections:
        layer = int(sec["title"].rsplit(" ", 1)[1])
        l = "⁽" + str(layer).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"
        shown = {s["id"].split(".")[1] for s in sec["steps"] if s["id"].startswith(f"l{layer}.")}
        text = sec["explanation"]
        assert f"δ{l} = ∂L/∂" in text and f"∂L/∂W{l} = δ{l}" in text and "ˡ" not in text and "ᴸ" not in text
        assert (f"∂L/∂b{l} = δ{l}" in text) == ("dL_db" in shown)
        assert ("goes to the layer below" in text) == ("dL_dx" in shown) == (layer > 1)
        assert ("nothing goes further down" in text) == (layer == 1)


def test_cross_entropy_by_hand(run_json):
    # Hand calculation, sizes 1-1-2, ReLU hidden layer, softmax + cross-entropy, class 1, η = 0.1:
    # z1 = 0.5·2 + 0 = 1, a1 = ReLU(1) = 1; z2 = (1·1 + 0, -1·1 + 0) = (1, -1)
    # y = softmax(1, -1) = (1/(1 + e^-2), e^-2/(1 + e^-2)) = (0.880797078, 0.119202922)
    # L = -log y_1 = log(1 + e^2) = 2.126928011
    # δ2 = y - t = (0.880797078, -0.880797078); ∂L/∂W2 = δ2 a1ᵀ = (0.880797078; -0.880797078)
    # ∂L/∂a1 = W2ᵀ δ2 = 1·0.880797078 + (-1)(-0.880797078) = 1.761594156; ReLU'(1) = 1
    # δ1 = 1.761594156; ∂L/∂W1 = δ1 · 2 = 3.523188312; ∂L/∂b1 = 1.761594156
    # W1' = 0.5 - 0.1·3.523188312 = 0.147681169; b1' = -0.176159416
    # W2' = (0.911920292; -0.911920292); b2' = (-0.088079708, 0.088079708)
    # after: z1' = 2·0.147681169 - 0.176159416 = 0.119202922 = a1';
    # z2' = ±(0.911920292·0.119202922 - 0.088079708) = ±(0.108703564 - 0.088079708) = ±0.020623856
    # L' = -log y1' = log(1 + e^(z2'_0 - z2'_1)) = log(1 + e^0.041247711) = 0.713983693
    steps, _ = run_json("backprop", "--sizes", "1,1,2", "--activation", "relu", "--loss", "ce", "--x", "2",
                        "--w1", "0.5", "--b1", "0", "--w2", "1;-1", "--b2", "0,0", "--target", "1", "--lr", "0.1")
    y0 = 1 / (1 + math.exp(-2))
    assert np.allclose(steps["softmax"], [y0, 1 - y0], rtol=1e-12)
    assert steps["loss"] == pytest.approx(math.log(1 + math.exp(2)), rel=1e-12)
    assert np.allclose(steps["gradient"], [y0, -y0], rtol=1e-12)
    assert np.allclose(steps["l2.dL_dW"], [[y0], [-y0]], rtol=1e-12)
    assert np.allclose(steps["l2.dL_dx"], [2 * y0], rtol=1e-12)
    assert np.allclose(steps["l1.dL_dW"], [[4 * y0]], rtol=1e-12) and np.allclose(steps["l1.dL_db"], [2 * y0])
    assert steps["l1.update_W"][0, 0] == pytest.approx(0.147681169, abs=1e-9)
    assert np.allclose(steps["l2.update_b"], [-0.088079708, 0.088079708], atol=1e-9)
    assert steps["after.l1.activation"][0] == pytest.approx(0.119202922, abs=1e-9)
    assert np.allclose(steps["after.l2.linear"], [0.020623856, -0.020623856], atol=1e-9)
    assert steps["after.loss"] == pytest.approx(0.713983693, abs=1e-9)


def test_relu_exactly_at_zero_states_its_convention(run_json):
    # x = 0 and b1 = 0 make z⁽¹⁾ exactly 0: ReLU'(0) is taken as 0 (PyTorch), so δ⁽¹⁾ = 0.
    steps, document = run_json("backprop", "--activation", "relu", "--x", "0,0", "--b1", "0,0")
    assert np.array_equal(steps["l1.linear"], [0.0, 0.0])
    assert np.array_equal(steps["l1.derivative"], [0.0, 0.0]) and np.array_equal(steps["l1.delta"], [0.0, 0.0])
    found = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    assert any("exactly 0" in note and "PyTorch" in note for note in found["l1.derivative"]["notes"])
    assert "finite differences (not across a kink)" in found["l1.delta"]["check"]
    # a one-sided difference shows the kink the convention resolves: slope 0 below, 1 above
    x, Ws, bs, t, lr = network_of(document)

    def by_b1(b):
        return ref_loss("half-sse", ref_forward(x, Ws, [b, bs[1]], ["relu"] * 2)[1][-1], t)[0]

    up = (by_b1(np.array([1e-6, 0.0])) - by_b1(np.zeros(2))) / 1e-6
    assert up == pytest.approx(steps["l2.dL_dx"][0], rel=1e-4) and steps["l1.dL_db"][0] == 0.0


# ---- the reference and central differences on other networks -------------------------------

CASES = [
    ("--seed", "0"),
    ("--sizes", "3,4,2", "--activation", "tanh,sigmoid", "--loss", "mse", "--seed", "1"),
    ("--sizes", "3,5,4,3", "--activation", "relu", "--loss", "ce", "--seed", "2"),
    ("--sizes", "4,3,2", "--activation", "relu,tanh", "--loss", "sse", "--seed", "4", "--bias", "off"),
    ("--sizes", "5,6,3",),
]


def kinds_of(args, depth):
    args = list(args)
    loss = args[args.index("--loss") + 1] if "--loss" in args else "half-sse"
    named = (args[args.index("--activation") + 1] if "--activation" in args else "sigmoid").split(",")
    count = depth - 1 if loss == "ce" else depth
    kinds = named * count if len(named) == 1 else named
    return kinds + (["linear"] if loss == "ce" else []), loss


@pytest.mark.parametrize("args", CASES)
def test_against_the_reference_and_central_differences(run_json, args):
    steps, document = run_json("backprop", *args)
    x, Ws, bs, t, lr = network_of(document)
    kinds, loss = kinds_of(args, len(Ws))
    biases = "off" not in args
    ref = ref_network(x, Ws, bs, kinds, loss, t, lr, biases)
    compare(steps, ref, len(Ws), ce=loss == "ce", biases=biases)

    def whole(l, role):
        def f(p):
            W2, b2 = list(Ws), list(bs)
            (W2 if role == "W" else b2)[l] = p
            return ref_loss(loss, ref_forward(x, W2, b2, kinds)[1][-1], t)[0]
        return f

    for l in range(len(Ws)):
        assert np.allclose(steps[f"l{l + 1}.dL_dW"], central_difference(whole(l, "W"), Ws[l]), rtol=1e-5, atol=1e-7)
        if biases:
            assert np.allclose(steps[f"l{l + 1}.dL_db"], central_difference(whole(l, "b"), bs[l]), rtol=1e-5, atol=1e-7)


def test_seeded_runs_differ_and_are_reproducible(run_json):
    first, doc1 = run_json("backprop", "--seed", "7")
    again, _ = run_json("backprop", "--seed", "7")
    other, _ = run_json("backprop", "--seed", "8")
    assert np.array_equal(first["l1.dL_dW"], again["l1.dL_dW"]) and not np.array_equal(first["l1.dL_dW"], other["l1.dL_dW"])
    assert {item["origin"] for item in doc1["inputs"] if item["name"] in ("x", "w1", "b2", "target")} == {"seed"}


def test_depth_five_from_the_command_line(run_json):
    rng = np.random.default_rng(5)
    sizes = [2, 3, 3, 2, 3, 2]
    Ws = [np.round(rng.uniform(-1, 1, (b, a)), 2) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.round(rng.uniform(-1, 1, b), 2) for b in sizes[1:]]
    text = lambda m: ";".join(",".join(str(v) for v in row) for row in np.atleast_2d(m))  # noqa: E731
    args = ["--sizes", ",".join(map(str, sizes)), "--x", "0.3,-0.7", "--target", "0.2,0.6", "--lr", "0.3",
            "--activation", "tanh,relu,sigmoid,tanh,sigmoid"]
    for l in range(5):
        args += [f"--w{l + 1}", text(Ws[l]), f"--b{l + 1}", text(bs[l])]
    steps, document = run_json("backprop", *args)
    assert {item["origin"] for item in document["inputs"] if item["name"][0] in "wb"} == {"command line"}
    ref = ref_network([0.3, -0.7], Ws, bs, ["tanh", "relu", "sigmoid", "tanh", "sigmoid"], "half-sse", [0.2, 0.6], 0.3)
    compare(steps, ref, 5)


def test_deeper_than_five_from_sizes(run_json):
    steps, document = run_json("backprop", "--sizes", "2,2,2,2,2,2,2,2", "--activation", "tanh")
    x, Ws, bs, t, lr = network_of(document)
    assert len(Ws) == 7 and document["inputs"][-3]["name"] == "b7"
    compare(steps, ref_network(x, Ws, bs, ["tanh"] * 7, "half-sse", t, lr), 7)


def test_resnet_plain_chain(run_json):
    # DL101 #25's plain scenario: three one-neuron sigmoid layers, every weight 0.1, no bias,
    # input 0.5, MSE against target 0. Own chain rule: a_k = σ(w_k a_(k-1)),
    # ∂L/∂a3 = 2 a3, and ∂L/∂w_k = ∂L/∂a_k · σ'(z_k) · a_(k-1), with ∂L/∂a_(k-1) = ∂L/∂a_k σ'(z_k) w_k.
    steps, _ = run_json("backprop", *CHAIN)
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    a = [0.5]
    for _k in range(3):
        a.append(sig(0.1 * a[-1]))
    upstream, expected = 2 * a[3], {}
    for k in (3, 2, 1):
        local = upstream * a[k] * (1 - a[k])
        expected[k] = local * a[k - 1]
        upstream = local * 0.1
    for k in (1, 2, 3):
        assert steps[f"l{k}.dL_dW"].shape == (1, 1)
        assert steps[f"l{k}.dL_dW"][0, 0] == pytest.approx(expected[k], rel=1e-12)

        def loss_of(w, k=k):
            h = 0.5
            for m in (1, 2, 3):
                h = sig((w[0] if m == k else 0.1) * h)
            return h * h

        assert steps[f"l{k}.dL_dW"][0, 0] == pytest.approx(central_difference(loss_of, [0.1])[0], rel=1e-6)
    assert abs(expected[1]) < abs(expected[2]) < abs(expected[3])  # shrinking towards the input


# ---- bad inputs: exit 2, one line naming the option and the shape expected -------------------


@pytest.mark.parametrize("args,option,expected", [
    (("--w2", "1,2,3"), "--w2", "2x2 matrix"),
    (("--sizes", "2,3,2", "--w1", "1,2;3,4"), "--w1", "3x2 matrix"),
    (("--sizes", "2,3,2", "--w2", "1,2;3,4"), "--w2", "2x3 matrix"),
    (("--b1", "1,2,3"), "--b1", "vector of length 2"),
    (("--x", "1,2,3"), "--x", "vector of length 2"),
    (("--target", "1,2,3"), "--target", "vector of length 2"),
    (("--w3", "1,2;3,4"), "--w3", "2 layers"),
    (("--bias", "off", "--b1", "1,1"), "--b1", "--bias off"),
    (("--activation", "softplus"), "--activation", "sigmoid, tanh, relu"),
    (("--activation", "relu,tanh,relu"), "--activation", "expected 1 or 2"),
    (("--loss", "ce", "--target", "0.5,0.7"), "--target", "probability"),
    (("--loss", "ce", "--target", "2"), "--target", "class index from 0 to 1"),
    (("--sizes", "3"), "--sizes", "2 to 11"),
    (("--sizes", "64,64,2"), "--sizes", "at most"),
])
def test_bad_shapes_exit_2_with_one_line(cli, args, option, expected):
    result = cli("backprop", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and option in result.stderr
    if expected:
        assert expected in result.stderr


def test_sizes_alone_use_the_fixed_pattern(run_json):
    # --sizes 2,3,2 alone: a mismatch only if a typed matrix disagrees; unset weights follow the pattern
    steps, document = run_json("backprop", "--sizes", "2,3,2")
    inputs = {item["name"]: item for item in document["inputs"]}
    assert np.allclose(inputs["w1"]["value"], [[round(0.3 * math.sin(2 + 1.3 * i + 2.1 * j), 2) for j in range(2)] for i in range(3)])
    assert inputs["w1"]["origin"] == "default" and len({tuple(row) for row in inputs["w1"]["value"]}) == 3
    assert inputs["x"]["value"] == [0.05, 0.1] and inputs["b2"]["value"] == [0.1, 0.1]


def test_params_file(cli, tmp_path):
    params = tmp_path / "net.json"
    params.write_text(json.dumps({"sizes": [1, 2, 1], "w1": [[0.5], [-0.5]], "w2": [[1, 1]], "x": [1], "target": [0.3]}))
    result = cli("backprop", "--params", str(params), "--format", "json")
    assert result.exit_code == 0, result.output
    params.write_text(json.dumps({"sizes": [1, 1, 1, 1, 1, 1, 1], "w6": [[1]]}))
    result = cli("backprop", "--params", str(params))
    assert result.exit_code == 2 and "w6" in result.stderr  # depth > 5: weights from --seed or the pattern


# ---- Hypothesis over the input domains ---------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=5), st.sampled_from(["sigmoid", "tanh", "relu", "relu,tanh"]),
       st.sampled_from(["half-sse", "sse", "mse", "ce"]), st.integers(0, 10**6), st.sampled_from(["on", "off"]),
       st.sampled_from(["0.5", "3", "1e-3"]))
def test_any_network_runs_cleanly(sizes, activation, loss, seed, bias, lr):
    typed = {"sizes": (",".join(map(str, sizes)), "test"), "activation": (activation, "test"),
             "loss_kind": (loss, "test"), "bias": (bias, "test"), "lr": (lr, "test")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("backprop", typed, seed)
        except InputError as error:
            assert "--activation" in str(error)  # a per-layer list of the wrong length
            return
    assert all(not np.isnan(np.asarray(s.value, float)).any() for s in d.steps())


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(-10**6, 10**6).map(lambda v: v / 1000), min_size=3, max_size=3), st.sampled_from(["sigmoid", "tanh", "relu"]),
       st.sampled_from(["half-sse", "ce"]))
def test_extreme_inputs_run_cleanly(x, activation, loss):
    typed = {"sizes": ("3,2,2", "test"), "x": (",".join(map(str, x)), "test"),
             "activation": (activation, "test"), "loss_kind": (loss, "test")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = engine.run("backprop", typed, 1)
    assert all(not np.isnan(np.asarray(s.value, float)).any() for s in d.steps())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=30))
def test_any_activation_text_exits_0_or_2(cli, text):
    result = cli("backprop", "--activation", text, "--format", "json")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1


def test_backprop_reproduces_resnets_plain_scenario(run_json):
    # The two lessons share the dense, activation and loss blocks and must agree: backprop
    # with resnet's sizes, activation and loss gives resnet's plain forward values and dL/dw.
    resnet, _ = run_json("resnet")
    network, _ = run_json("backprop", "--sizes", "1,1,1,1", "--w1", "0.1", "--w2", "0.1", "--w3", "0.1", "--bias", "off",
                          "--activation", "sigmoid", "--loss", "mse", "--x", "0.5", "--target", "0")
    for layer in (1, 2, 3):
        assert np.allclose(network[f"l{layer}.activation"], resnet[f"plain.l{layer}.activation"], rtol=1e-14)
        assert np.allclose(network[f"l{layer}.dL_dW"], resnet[f"plain.l{layer}.dL_dW"], rtol=1e-12)
    assert np.allclose(network["loss"], resnet["plain.loss"], rtol=1e-14)


def _typed(**inputs):
    return {name: (str(value), "test") for name, value in inputs.items()}


def test_warnings_are_cautions_and_a_falling_loss_is_a_remark():
    # Mazur's step lowers the loss: a remark (•). One neuron of tanh with η = 10 overshoots:
    # the loss rises, a warning (⚠); ReLU kinks left out of the finite differences are one too.
    fell = engine.run("backprop").find("change").notes
    assert len(fell) == 1 and not isinstance(fell[0], Caution) and "fell" in fell[0]
    rose = engine.run("backprop", _typed(sizes="1,1", x=1, target=0.5, w1=1, b1=0, activation="tanh", lr=10)).find("change").notes
    assert len(rose) == 1 and isinstance(rose[0], Caution) and "rose" in rose[0]
    kinked = engine.run("backprop", _typed(sizes="3,4,2", activation="relu", loss_kind="ce", x="1,0.5,-1", target=1), seed=3)
    skipped = [note for note in kinked.find("l1.delta").notes if "not compared" in note]
    assert len(skipped) == 1 and isinstance(skipped[0], Caution)
    assert not any(isinstance(note, Caution) for step in engine.run("backprop").steps() for note in step.notes)
