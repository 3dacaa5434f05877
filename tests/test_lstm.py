"""The lstm lesson: step ids, an independent NumPy LSTM (forward and BPTT) at every time
step, a hand calculation for T = 1, central differences of the whole loss, domains."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LARGER, central_difference
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution

IDS = [
    "z", "a_f", "f", "a_i", "i", "a_c", "c_tilde", "C", "a_o", "o", "h",
    "logits", "shift", "softmax", "log_softmax", "loss",
    "dL_dg", "dW_y", "dl_dh",
    "dh", "J_o", "do", "delta_o", "dW_o",
    "dC", "df", "delta_f", "dW_f", "di", "delta_i", "dW_i", "dC_tilde", "delta_c", "dW_c",
    "dz", "dh0", "dC0", "cell_path", "squashed_path",
]
EXAMPLE = {"wf": "0.1,0.2,0.3,0.4,0.5;0.4,0.1,-0.2,0.3,0.5", "wi": "0.2,-0.1,0.4,0.3,0.2;0.1,0.3,-0.2,0.4,0.1",
           "wc": "0.3,-0.1,0.2,0.5,-0.2;-0.4,0.2,0.1,0.3,0.2", "wo": "0.1,0.3,0.5,0.2,0.4;0.2,0.2,0.1,0.4,0.3",
           "wy": "0.5,-0.3;0.2,0.4;-0.4,0.1"}

# ---- an independent LSTM with BPTT, written apart from the lesson and its block ----------------


def grid(text):
    return np.array([[float(v) for v in row.split(",")] for row in text.split(";")])


def sigmoid(v):
    return 0.5 * (1 + np.tanh(0.5 * v))  # a different formula for the same function


class Reference:
    """Forward over t, softmax + CE per step, and BPTT by hand, with dicts of lists per t."""

    def __init__(self, x, h0, c0, W, Wy, classes, b=None, by=None):
        self.x, self.W, self.Wy, self.classes = x, W, Wy, classes
        self.b = b or {g: np.zeros(len(h0)) for g in "fico"}
        self.by = np.zeros(len(Wy)) if by is None else by
        self.h0, self.c0 = h0, c0
        self.forward()
        self.backward()

    def forward(self):
        h, c, s = self.h0, self.c0, {k: [] for k in "z f i c o C h y".split()}
        self.loss = 0.0
        for t, xt in enumerate(self.x):
            z = np.concatenate([h, xt])
            f, i = sigmoid(self.W["f"] @ z + self.b["f"]), sigmoid(self.W["i"] @ z + self.b["i"])
            cc, o = np.tanh(self.W["c"] @ z + self.b["c"]), sigmoid(self.W["o"] @ z + self.b["o"])
            c = f * c + i * cc
            h = o * np.tanh(c)
            g = self.Wy @ h + self.by
            y = np.exp(g - g.max()) / np.exp(g - g.max()).sum()
            self.loss -= np.log(y[self.classes[t]])
            for key, value in zip("z f i c o C h y".split(), (z, f, i, cc, o, c, h, y)):
                s[key].append(value)
        self.s = {key: np.array(value) for key, value in s.items()}

    def backward(self):
        s, H = self.s, len(self.h0)
        T = len(self.x)
        self.grads = {key: np.zeros_like(self.W[key]) for key in "fico"}
        self.grads["y"] = np.zeros_like(self.Wy)
        self.dh, self.dC = np.zeros((T, H)), np.zeros((T, H))
        dh_next, dc_next = np.zeros(H), np.zeros(H)
        for t in reversed(range(T)):
            dg = s["y"][t] - np.eye(len(self.Wy))[self.classes[t]]
            self.grads["y"] += np.outer(dg, s["h"][t])
            dh = self.Wy.T @ dg + dh_next
            dc = dh * s["o"][t] * (1 - np.tanh(s["C"][t]) ** 2) + dc_next
            c_prev = s["C"][t - 1] if t > 0 else self.c0
            da = {"o": dh * np.tanh(s["C"][t]) * s["o"][t] * (1 - s["o"][t]),
                  "f": dc * c_prev * s["f"][t] * (1 - s["f"][t]),
                  "i": dc * s["c"][t] * s["i"][t] * (1 - s["i"][t]),
                  "c": dc * s["i"][t] * (1 - s["c"][t] ** 2)}
            dz = np.zeros(len(s["z"][t]))
            for key in "fico":
                self.grads[key] += np.outer(da[key], s["z"][t])
                dz += self.W[key].T @ da[key]
            self.dh[t], self.dC[t] = dh, dc
            dh_next, dc_next = dz[:H], dc * s["f"][t]
        self.dh0, self.dc0 = dh_next, dc_next


def loss_of(x, h0, c0, W, Wy, classes):
    return Reference(x, h0, c0, W, Wy, classes).loss


def run(**typed):
    d = engine.run("lstm", {k: (v, "test") for k, v in typed.items()}, typed.pop("_seed", None))
    return d


def seeded(seed, T, H, D, K=3):
    rng = np.random.default_rng(seed)
    fmt = lambda a: ";".join(",".join(f"{v:.3f}" for v in row) for row in np.atleast_2d(a))
    W = {g: rng.uniform(-1, 1, (H, H + D)).round(3) for g in "fico"}
    Wy = rng.uniform(-1, 1, (K, H)).round(3)
    x, h0, c0 = rng.uniform(-1, 1, (T, D)).round(3), rng.uniform(-1, 1, H).round(3), rng.uniform(-1, 1, H).round(3)
    classes = rng.integers(0, K, T)
    typed = {"x": fmt(x), "h0": fmt(h0), "c0": fmt(c0), "wy": fmt(Wy), "target": ",".join(map(str, classes)),
             **{f"w{g}": fmt(W[g]) for g in "fico"}}
    return typed, Reference(x, h0, c0, W, Wy, classes)


# ---- tests --------------------------------------------------------------------------------------


def test_step_ids_are_fixed():
    assert [s.id for s in run(x="0.5,0.1,0.2").steps()] == IDS


def test_x_as_typed_is_one_step_of_input_size_three(cli):
    result = cli("lstm", "--x", "0.5,0.1,0.2", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    steps = {s["id"]: np.array(s["value"]) for sec in document["sections"] for s in sec["steps"]}
    assert steps["z"].shape == (1, 5) and steps["h"].shape == (1, 2) and steps["dW_f"].shape == (2, 5)


@pytest.mark.parametrize("seed,T,H,D", [(0, 1, 2, 3), (1, 2, 3, 2), (2, 5, 2, 3), (3, 4, 4, 1), (4, 5, 3, 4)])
def test_against_the_reference_at_every_time_step(seed, T, H, D):
    typed, ref = seeded(seed, T, H, D)
    d = run(**typed)
    for key, step in (("z", "z"), ("f", "f"), ("i", "i"), ("c", "c_tilde"), ("o", "o"), ("C", "C"), ("h", "h"), ("y", "softmax")):
        assert np.allclose(d[step].value, ref.s[key], rtol=1e-12, atol=1e-14), step
    assert d["loss"].value == pytest.approx(ref.loss, rel=1e-12)
    assert np.allclose(d["dh"].value, ref.dh, atol=1e-13) and np.allclose(d["dC"].value, ref.dC, atol=1e-13)
    for g in "fico":
        assert np.allclose(d[f"dW_{g}"].value, ref.grads[g], atol=1e-13), g
    assert np.allclose(d["dW_y"].value, ref.grads["y"], atol=1e-13)
    assert np.allclose(d["dh0"].value, ref.dh0, atol=1e-13) and np.allclose(d["dC0"].value, ref.dc0, atol=1e-13)


@pytest.mark.parametrize("seed,T", [(10, 1), (11, 3)])
def test_every_weight_matrix_against_central_differences_of_the_whole_loss(seed, T):
    typed, ref = seeded(seed, T, 2, 3)
    d = run(**typed)
    x, h0, c0, W, Wy, cl = ref.x, ref.h0, ref.c0, ref.W, ref.Wy, ref.classes
    for g in "fico":
        numeric = central_difference(lambda v, g=g: loss_of(x, h0, c0, {**W, g: v}, Wy, cl), W[g])
        assert np.allclose(d[f"dW_{g}"].value, numeric, atol=1e-8), g
    assert np.allclose(d["dW_y"].value, central_difference(lambda v: loss_of(x, h0, c0, W, v, cl), Wy), atol=1e-8)
    assert np.allclose(d["dh0"].value, central_difference(lambda v: loss_of(x, v, c0, W, Wy, cl), h0), atol=1e-8)
    assert np.allclose(d["dC0"].value, central_difference(lambda v: loss_of(x, h0, v, W, Wy, cl), c0), atol=1e-8)


def test_one_step_by_hand():
    # Hand calculation with the defaults: z = [h_{t-1}; x] = [0.3, -0.1, 0.5, 0.1, 0.2], C_{t-1} = [0.5, 0.2].
    # a_f = W_f z: 0.1·0.3 + 0.2·(-0.1) + 0.3·0.5 + 0.4·0.1 + 0.5·0.2 = 0.30,
    #              0.4·0.3 + 0.1·(-0.1) - 0.2·0.5 + 0.3·0.1 + 0.5·0.2 = 0.14
    # f = σ(a_f) = [1/(1+e^-0.30), 1/(1+e^-0.14)] = [0.574443, 0.534943]
    # a_i = [0.06+0.01+0.2+0.03+0.04, 0.03-0.03-0.1+0.04+0.02] = [0.34, -0.04], i = [0.584191, 0.490001]
    # a_c = [0.09+0.01+0.1+0.05-0.04, -0.12-0.02+0.05+0.03+0.04] = [0.21, -0.02], C̃ = tanh = [0.206966, -0.019997]
    # C = f ⊙ C_{t-1} + i ⊙ C̃ = [0.287221 + 0.120908, 0.106989 - 0.009799] = [0.408129, 0.097190]
    # a_o = [0.03-0.03+0.25+0.02+0.08, 0.06-0.02+0.05+0.04+0.06] = [0.35, 0.19], o = [0.586618, 0.547358]
    # tanh C = [0.386883, 0.096885]; h = o ⊙ tanh C = [0.586618·0.386883, 0.547358·0.096885] = [0.226952, 0.053031]
    # g = W_y h = [0.5·0.226952 - 0.3·0.053031, 0.2·0.226952 + 0.4·0.053031, -0.4·0.226952 + 0.1·0.053031]
    #           = [0.097567, 0.066603, -0.085478]; ŷ = softmax(g) = [0.356857, 0.345977, 0.297166]
    # L = -log ŷ_1 = 1.061384; ∂L/∂g = ŷ - y = [0.356857, -0.654023, 0.297166]
    # ∂ℓ/∂h = W_yᵀ ∂L/∂g = [0.5·0.356857 + 0.2·(-0.654023) - 0.4·0.297166, -0.3·0.356857 + 0.4·(-0.654023) + 0.1·0.297166]
    #       = [-0.071242, -0.338950]  (T = 1: nothing is carried from later, so ∂L/∂h = ∂ℓ/∂h)
    # ∂L/∂o = ∂L/∂h ⊙ tanh C = [-0.027562, -0.032839]; δ_o = ∂L/∂o ⊙ o(1 - o) = [-0.006684, -0.008136]
    # ∂L/∂W_o[0, 0] = δ_o[0] · z[0] = -0.006684 · 0.3 = -0.002005
    # ∂L/∂C = ∂L/∂h ⊙ o ⊙ (1 - tanh² C) = [-0.071242·0.586618·0.850322, -0.338950·0.547358·0.990613] = [-0.035537, -0.183785]
    # ∂L/∂f = ∂L/∂C ⊙ C_{t-1} = [-0.035537·0.5, -0.183785·0.2] = [-0.017768, -0.036757]
    # ∂L/∂W_f[0, 2] = ∂L/∂f[0] · f[0](1 - f[0]) · z[2] = -0.017768 · 0.244458 · 0.5 = -0.002172
    d = run(x="0.5,0.1,0.2")
    expect = {"f": [0.574443, 0.534943], "i": [0.584191, 0.490001], "c_tilde": [0.206966, -0.019997], "C": [0.408129, 0.097190],
              "o": [0.586618, 0.547358], "h": [0.226952, 0.053031], "logits": [0.097567, 0.066603, -0.085478],
              "softmax": [0.356857, 0.345977, 0.297166], "dL_dg": [0.356857, -0.654023, 0.297166],
              "dl_dh": [-0.071242, -0.338950], "dh": [-0.071242, -0.338950], "do": [-0.027562, -0.032839],
              "delta_o": [-0.006684, -0.008136], "dC": [-0.035537, -0.183785], "df": [-0.017768, -0.036757]}
    for step, values in expect.items():
        assert np.allclose(d[step].value[0], values, atol=2e-6), step
    assert d["loss"].value == pytest.approx(1.061384, abs=2e-6)
    assert d["dW_o"].value[0, 0] == pytest.approx(-0.002005, abs=2e-6)
    assert d["dW_f"].value[0, 2] == pytest.approx(-0.002172, abs=2e-6)
    # the Jacobian of the element-wise product is diag(tanh C): only tanh C_t remains
    assert np.allclose(d["J_o"].value, np.diag([0.386883, 0.096885]), atol=2e-6)


def test_defaults_state_their_conventions_and_label_the_extension():
    d = run(x="0.5,0.1,0.2")
    titles = [s.title for s in d.sections]
    assert any("beyond the lecture" in title for title in titles)
    assert "z_t = [h_{t-1}; x_t]" in d.sections[0].explanation and "No biases" in d.sections[0].explanation
    assert d["wy"].value.shape == (3, 2) and d["c0"].value.tolist() == [0.5, 0.2] and d["h0"].value.tolist() == [0.3, -0.1]
    assert not any(item.name.startswith("b_") for item in d.inputs)
    assert any("T = 1" in note for note in d["squashed_path"].notes)
    assert all("finite differences" in s.check for s in d.steps() if s.id.startswith(("d", "delta")))


def test_the_lectures_example_raises_no_caution():
    # Every note of the lecture's example is a remark (•), not a warning (⚠): the lesson adds
    # none of its own, and the block's "T = 1: both products are empty" is a remark.
    d = run(x="0.5,0.1,0.2")
    notes = [note for step in d.steps() for note in step.notes]
    assert any("T = 1" in note for note in notes) and not any(isinstance(note, Caution) for note in notes)


def test_sizes_and_prose_read_as_the_lecture_names_them(cli):
    # Issue 14: the formulas' sizes are the prose's and --help's (H + D columns, K classes), and
    # the text says the cell path is the only multiplication by f *along the cell*.
    text = cli("lstm", "--no-pager", env={"COLUMNS": "120"}).stdout
    assert "H + D - 1" in text and "H + d" not in text and "D + H" not in text
    assert "K - 1" in text and "n - 1" not in text
    d = run(x="0.5,0.1,0.2")
    assert "along the cell" in d.sections[-1].explanation
    assert "With T = 1 this is just" not in d["dh"].explanation and "nothing follows, so with T = 1" in d["dh"].explanation
    assert "(or the gradient from later is added)" not in d["dh"].explanation


def test_zero_previous_cell_state_says_the_forget_gate_gets_no_gradient():
    d = run(x="0.5,0.1,0.2", c0="0,0.2")
    assert d["df"].value[0, 0] == 0 and any("no gradient" in note for note in d["df"].notes)
    assert run(x="0.5,0.1,0.2")["df"].notes == ()


def test_several_steps_show_the_cell_path_beside_the_squashed_one():
    d = run(x="0.5,0.1,0.2;0.1,-0.3,0.4;0.2,0.2,-0.1;-0.4,0.3,0.1", target="0,2,1,1")
    f, C = d["f"].value, d["C"].value
    assert np.allclose(d["cell_path"].value[0], f[1:].prod(axis=0))
    assert np.allclose(d["squashed_path"].value[0], (f[1:] * (1 - np.tanh(C[1:]) ** 2)).prod(axis=0))
    assert np.all(d["squashed_path"].value <= d["cell_path"].value)
    assert any("cell path keeps" in note for note in d["squashed_path"].notes)


def test_biases_are_used_and_get_their_gradients():
    typed, _ref = seeded(20, 3, 2, 3)
    b = np.array([[0.5, -0.2], [0.1, 0.0], [-0.3, 0.2], [0.2, 0.4]])
    by = np.array([0.1, -0.2, 0.3])
    d = run(**typed, bias=";".join(",".join(map(str, row)) for row in b), by="0.1,-0.2,0.3")
    W = {g: d[f"w{g}"].value for g in "fico"}
    ref = Reference(d["x"].value, d["h0"].value, d["c0"].value, W, d["wy"].value, [int(c) for c in typed["target"].split(",")],
                    {g: b[r] for r, g in enumerate("fico")}, by)
    assert d["loss"].value == pytest.approx(ref.loss, rel=1e-12)
    assert np.allclose(d["dW_f"].value, ref.grads["f"], atol=1e-13)
    for r, g in enumerate("fico"):
        assert np.allclose(d[f"db_{g}"].value, d[f"delta_{g}"].value.sum(axis=0))
    assert "db_y" in [s.id for s in d.steps()]


def test_the_large_case_runs_with_formulas_of_the_default():
    d = engine.run("lstm", LARGER["lstm"], 1)
    small = run(x="0.5,0.1,0.2")
    assert d["h"].value.shape == (20, 32) and d["dW_f"].value.shape == (32, 48)
    assert [str(s.formula) for s in d.steps()] == [str(s.formula) for s in small.steps()]


@pytest.mark.parametrize("args,option", [
    (["--wf", "0.1,0.2;0.3,0.4"], "--wf"),
    (["--wy", "0.1,0.2,0.3"], "--wy"),
    (["--target", "3"], "--target"),
    (["--target", "0,1"], "--target"),
    (["--bias", "0.1,0.2;0.3,0.4"], "--bias"),
    (["--by", "0.1,0.2"], "--by"),
    (["--c0", "0.1,0.2,0.3"], "--c0"),
    (["--x", "0.5,0.1;0.2"], "--x"),
    (["--target", "1.5"], "--target"),
])
def test_bad_shapes_exit_2_with_one_line_naming_the_option(cli, args, option):
    result = cli("lstm", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], result.stderr


numbers = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 2))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_domains_never_crash_or_warn(T, H, D, data):
    mat = lambda r, c: ";".join(",".join(str(data.draw(numbers)) for _c in range(c)) for _r in range(r))
    typed = {"x": mat(T, D), "h0": mat(1, H), "c0": mat(1, H), "target": ",".join(str(data.draw(st.integers(0, 3))) for _t in range(T))}
    if data.draw(st.booleans()):
        typed.update({f"w{g}": mat(H, H + D) for g in "fico"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("lstm", {k: (v, "test") for k, v in typed.items()}, data.draw(st.none() | st.integers(0, 5)))
        except InputError as error:
            assert "--target" in str(error)
            return
    assert all(np.isfinite(np.asarray(s.value, float)).all() for s in d.steps())
