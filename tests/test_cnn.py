"""cnn lesson: an independent NumPy CNN (loops, written here), central differences, a hand
calculation, the size formula, the max-pool tie convention, the response table, Hypothesis."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import central_difference
from dlsteps import engine
from dlsteps.blocks import convolution as conv
from dlsteps.errors import InputError

STEP_IDS = [
    "padded", "out_size", "window_products", "window_sum", "conv1", "conv2",
    "other.padded", "other.conv1", "other.conv2", "peak1", "peak2", "other.peak1", "other.peak2", "responses",
    "out_size_other", "conv1_other",
    "pooled_size", "max_pool1", "first_max1", "avg_pool1", "max_pool2", "first_max2", "avg_pool2",
    "flatten", "dense.linear", "shift", "exp", "sum", "softmax", "log_softmax", "loss",
    "gradient", "dense.dL_dW", "dense.dL_dx", "dL_dpooled1", "dL_dpooled2", "dL_dY1", "dL_dY2",
    "kernel_terms", "kernel_entry", "dL_dK1", "dL_dK2", "dL_dP_via1", "dL_dP_via2", "dL_dP", "dL_dX",
]
ONE = np.array([[0, 0, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0]] + [[0, 0, 1, 0, 0, 0]] * 4, float)
ZERO = np.array([[0, 1, 1, 1, 1, 0]] + [[1, 0, 0, 0, 0, 1]] * 4 + [[0, 1, 1, 1, 1, 0]], float)
LINE = np.array([[0, 1, 0]] * 3, float)
CURVE = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], float)


# ---- an independent reference, written with plain loops apart from the lesson -----------------
def ref_pad(X, p):
    n = len(X)
    out = np.zeros((n + 2 * p, n + 2 * p))
    for r in range(n):
        for c in range(n):
            out[r + p, c + p] = X[r][c]
    return out


def ref_conv(P, K, s):
    k = len(K)
    size = (len(P) - k) // s + 1
    Y = np.zeros((size, size))
    for r in range(size):
        for c in range(size):
            Y[r, c] = sum(P[r * s + a, c * s + b] * K[a, b] for a in range(k) for b in range(k))
    return Y


def ref_pool(Y, q, mode):
    """Pooled map and, per window, the (row, col) of its first maximum scanning row by row."""
    m = len(Y) // q
    out, where = np.zeros((m, m)), {}
    for r in range(m):
        for c in range(m):
            cells = [(r * q + a, c * q + b) for a in range(q) for b in range(q)]
            best = cells[0]
            for cell in cells[1:]:
                if Y[cell] > Y[best]:  # strictly larger: the first maximum keeps the gradient
                    best = cell
            where[r, c] = best
            out[r, c] = Y[best] if mode == "max" else sum(Y[cell] for cell in cells) / q ** 2
    return out, where


def ref_forward(X, K1, K2, W, b, s, p, q, mode, target):
    P = ref_pad(X, p)
    Y = [ref_conv(P, K, s) for K in (K1, K2)]
    pooled = [ref_pool(y, q, mode) for y in Y]
    f = np.concatenate([pm.ravel() for pm, _where in pooled])
    z = W @ f + b
    e = np.exp(z - z.max())
    y = e / e.sum()
    return {"P": P, "Y": Y, "pooled": pooled, "f": f, "z": z, "y": y, "L": -math.log(y[target])}


def ref_backward(X, K1, K2, W, b, s, p, q, mode, target):
    v = ref_forward(X, K1, K2, W, b, s, p, q, mode, target)
    dz = v["y"] - np.eye(2)[target]
    dW, df = np.outer(dz, v["f"]), W.T @ dz
    m = len(v["pooled"][0][0])
    dP, grads = np.zeros_like(v["P"]), {"dz": dz, "dW": dW, "df": df, "dY": [], "dK": [], "dP_via": []}
    for c, K in enumerate((K1, K2)):
        dM = df[c * m * m:(c + 1) * m * m].reshape(m, m)
        dY = np.zeros_like(v["Y"][c])
        for (r, col), cell in v["pooled"][c][1].items():
            if mode == "max":
                dY[cell] += dM[r, col]
            else:
                dY[r * q:(r + 1) * q, col * q:(col + 1) * q] += dM[r, col] / q ** 2
        k, dK, via = len(K), np.zeros_like(K), np.zeros_like(v["P"])
        for r in range(len(dY)):
            for col in range(len(dY)):
                for a in range(k):
                    for bb in range(k):
                        dK[a, bb] += dY[r, col] * v["P"][r * s + a, col * s + bb]
                        via[r * s + a, col * s + bb] += dY[r, col] * K[a, bb]
        grads["dY"].append(dY)
        grads["dK"].append(dK)
        grads["dP_via"].append(via)
        dP += via
    n = len(X)
    grads.update(dP=dP, dX=dP[p:p + n, p:p + n])
    return v, grads


def text(matrix):
    return ";".join(",".join(repr(float(x)) for x in row) for row in np.atleast_2d(matrix))


def inputs_of(document):
    values = {item["name"]: item["value"] for item in document["inputs"]}
    return ({key: np.array(values[key], float) for key in ("image", "image2", "kernel1", "kernel2", "dense")},
            int(values["stride"]), int(values["padding"]), int(values["pool_size"]), values)


def compare(steps, document, mode):
    arrays, s, p, q, values = inputs_of(document)
    b = np.array(values["bias"], float) if "bias" in values else np.zeros(2)
    target = int(np.argmax(values["target"]))
    args = (arrays["image"], arrays["kernel1"], arrays["kernel2"], arrays["dense"], b, s, p, q, mode, target)
    v, g = ref_backward(*args)
    assert np.allclose(steps["padded"], v["P"])
    assert np.allclose(steps["conv1"], v["Y"][0]) and np.allclose(steps["conv2"], v["Y"][1])
    assert steps["out_size"] == len(v["Y"][0]) == (len(arrays["image"]) + 2 * p - len(arrays["kernel1"])) // s + 1
    other = ref_pad(arrays["image2"], p)
    assert np.allclose(steps["other.conv1"], ref_conv(other, arrays["kernel1"], s))
    assert np.allclose(steps["conv1_other"], ref_conv(v["P"], arrays["kernel1"], 2 if s == 1 else 1))
    for c in (1, 2):
        assert np.allclose(steps[f"max_pool{c}"], ref_pool(v["Y"][c - 1], q, "max")[0])
        assert np.allclose(steps[f"avg_pool{c}"], ref_pool(v["Y"][c - 1], q, "avg")[0])
    assert np.allclose(steps["flatten"], v["f"]) and np.allclose(steps["dense.linear"], v["z"])
    assert np.allclose(steps["softmax"], v["y"]) and steps["loss"] == pytest.approx(v["L"], rel=1e-12)
    assert np.allclose(steps["gradient"], g["dz"]) and np.allclose(steps["dense.dL_dW"], g["dW"])
    assert np.allclose(steps["dense.dL_dx"], g["df"])
    assert steps["kernel_entry"] == pytest.approx(g["dK"][0][0, 0], abs=1e-12)
    for c in (1, 2):
        assert np.allclose(steps[f"dL_dY{c}"], g["dY"][c - 1], atol=1e-12)
        assert np.allclose(steps[f"dL_dK{c}"], g["dK"][c - 1], atol=1e-12)
        assert np.allclose(steps[f"dL_dP_via{c}"], g["dP_via"][c - 1], atol=1e-12)
    assert np.allclose(steps["dL_dP"], g["dP"], atol=1e-12) and np.allclose(steps["dL_dX"], g["dX"], atol=1e-12)
    return args, v, g


# ---- tests ---------------------------------------------------------------------------------------
def test_step_ids_are_fixed():
    d = engine.run("cnn")
    assert [s.id for s in d.steps()] == STEP_IDS
    assert [item.id for item in d.inputs] == ["image", "image2", "kernel1", "kernel2", "stride", "padding", "pool_size",
                                              "dense", "target", "stride_other"]
    with_bias = engine.run("cnn", {"bias": ("0.1,-0.1", "test")})
    assert [s.id for s in with_bias.steps()] == STEP_IDS[:33] + ["dense.dL_db"] + STEP_IDS[33:]


def test_hand_calculation_of_the_defaults(run_json):
    # By hand (DL101 #1 style), no padding, stride 1: the top-left window of the "1" is
    # [[0,0,1],[0,1,1],[0,0,1]]; times the line kernel [[0,1,0]]*3 only the centre survives:
    # Y¹_00 = 0·0 + 1·0 + 0·1 + 0·0 + 1·1 + 0·1 + 0·0 + 1·0 + 0·1 = 1. The line kernel centred on
    # column 2 covers three 1s: Y¹_01 = 3 in every row. Size: (6 + 0 - 3)/1 + 1 = 4.
    # Max pooling 2×2: window (0,0) = [[1,3],[1,3]] -> 3, a tie: the gradient goes to (0,1).
    # Dense (0.15 on M¹, -0.1 on M² for class 1, the opposite for class 0): f = (3,0,3,0, 2,2,1,2),
    # z_1 = 0.15·6 - 0.1·7 = 0.2, z_0 = -0.2, y_1 = 1/(1 + e^-0.4) = 0.598687660112452,
    # L = -log y_1 = log(1 + e^-0.4) = 0.513015359...
    steps, _document = run_json("cnn")
    assert steps["window_sum"] == 1 and steps["out_size"] == 4
    assert np.array_equal(steps["window_products"], [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert np.array_equal(steps["conv1"][:, 1], [3, 3, 3, 3])
    assert np.array_equal(steps["max_pool1"], [[3, 0], [3, 0]])
    assert np.allclose(steps["dense.linear"], [0.2, -0.2])
    assert steps["softmax"][0] == pytest.approx(0.598687660112452, rel=1e-12)
    assert steps["loss"] == pytest.approx(math.log(1 + math.exp(-0.4)), rel=1e-12)
    assert steps["first_max1"][0, 0] == 1 and steps["dL_dY1"][0, 1] != 0 and steps["dL_dY1"][1, 1] == 0


@pytest.mark.parametrize("args", [[], ["--pool", "avg"], ["--stride", "2", "--padding", "1"],
                                  ["--stride", "2", "--padding", "1", "--pool", "avg"], ["--padding", "1", "--pool-size", "3"],
                                  ["--target", "0", "--bias", "0.3,-0.2"]])
def test_against_the_reference_on_the_defaults(run_json, args):
    steps, document = run_json("cnn", *args)
    compare(steps, document, "avg" if "avg" in args else "max")


@pytest.mark.parametrize("seed, args", [(0, []), (1, ["--stride", "2", "--padding", "1"]), (2, ["--padding", "1", "--pool", "avg"]),
                                        (3, ["--stride", "3", "--padding", "2", "--pool-size", "1"])])
def test_against_the_reference_and_central_differences_on_seeded_inputs(run_json, seed, args):
    steps, document = run_json("cnn", "--seed", str(seed), *args)
    (X, K1, K2, W, b, s, p, q, mode, target), _v, g = compare(steps, document, "avg" if "avg" in args else "max")
    L = lambda **change: ref_forward(**{**dict(X=X, K1=K1, K2=K2, W=W, b=b, s=s, p=p, q=q, mode=mode, target=target), **change})["L"]
    # Seeded two-decimal inputs make ties unlikely; the check below would see a kink as a mismatch.
    assert np.allclose(central_difference(lambda k: L(K1=k), K1), g["dK"][0], atol=1e-6)
    assert np.allclose(central_difference(lambda k: L(K2=k), K2), g["dK"][1], atol=1e-6)
    assert np.allclose(central_difference(lambda x: L(X=x), X), g["dX"], atol=1e-6)
    assert np.allclose(central_difference(lambda w: L(W=w), W), g["dW"], atol=1e-6)


@pytest.mark.parametrize("n, k, s, p", [(6, 3, 1, 0), (6, 3, 2, 0), (6, 3, 2, 1), (7, 3, 3, 2), (5, 5, 1, 0), (4, 2, 4, 3), (6, 1, 1, 3)])
def test_output_size_formula_matches_the_shapes(n, k, s, p):
    rng = np.random.default_rng(n * 100 + k * 10 + s)
    typed = {"image": (text(rng.uniform(-1, 1, (n, n)).round(2)), "test"), "image2": (text(np.ones((n, n))), "test"),
             "kernel1": (text(np.ones((k, k))), "test"), "kernel2": (text(np.eye(k)), "test"),
             "stride": (str(s), "test"), "padding": (str(p), "test"), "pool_size": ("1", "test")}
    d = engine.run("cnn", typed)
    size = (n + 2 * p - k) // s + 1
    assert d["out_size"].value == size and np.shape(d["conv1"].value) == (size, size)
    assert np.shape(d["padded"].value) == (n + 2 * p, n + 2 * p)
    other = 2 if s == 1 else 1
    assert d["out_size_other"].value == (n + 2 * p - k) // other + 1 == len(d["conv1_other"].value)


def test_max_pool_ties_go_to_the_first_maximum_row_by_row():
    # A map whose 2×2 windows tie in every way: all four equal (first: w = 0), a tie across the
    # diagonal [[1,7],[7,0]] (w = 1 wins over w = 2), [[0,2],[2,1]] (w = 1), a column [[3,1],[3,0]] (w = 0).
    # Built with a 1×1 kernel of 1 (so Y = X), stride 1: the first maximum scanning row by row
    # gets the whole gradient (PyTorch's MaxPool2d backward does the same).
    X = np.array([[5, 5, 1, 7], [5, 5, 7, 0], [0, 2, 3, 1], [2, 1, 3, 0]], float)
    typed = {"image": (text(X), "t"), "image2": (text(X), "t"), "kernel1": ("1", "t"), "kernel2": ("0", "t")}
    d = engine.run("cnn", typed)
    assert d["first_max1"].value.tolist() == [[0, 1], [1, 0]]
    nonzero = np.argwhere(d["dL_dY1"].value != 0).tolist()
    assert nonzero == [[0, 0], [0, 3], [2, 1], [2, 2]]
    assert any("tie for the maximum" in note for note in d["max_pool1"].notes)


def test_which_kernel_responds_to_which_image(run_json):
    steps, _document = run_json("cnn")
    peaks = [[ref_conv(ref_pad(image, 0), kernel, 1).max() for kernel in (LINE, CURVE)] for image in (ONE, ZERO)]
    assert peaks[0][0] > peaks[0][1], "the line kernel responds more to the 1"
    assert peaks[1][1] > peaks[1][0], "the curve kernel responds more to the 0"
    assert np.array_equal(steps["responses"], peaks)


def test_response_table_and_stride_are_explained(cli):
    result = cli("cnn", "--no-pager", env={"NO_COLOR": "1", "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "K¹ line responds more (3 > 2)" in result.stdout and "K² curve responds more (4 > 1)" in result.stdout
    assert "cross-correlation" in result.stdout and "beyond #1" in result.stdout
    assert "first maximum" in result.stdout and "channel, row, column" in result.stdout
    assert "rows and columns 0, 2, 4" in result.stdout
    assert "nan" not in result.stdout.lower()


@pytest.mark.parametrize("args, option", [
    (["--dense", "1,2;3,4"], "--dense"), (["--bias", "1,2,3"], "--bias"),
    (["--image", "1,2;3,4", "--image2", "1,2;3,4"], "--kernel1"),
    (["--pool-size", "4", "--stride", "2"], "--pool-size"), (["--stride", "5"], "--stride"),
    (["--padding", "4"], "--padding"), (["--image", "1,2,3;4,5,6"], "--image"), (["--pool", "min"], "--pool"),
    (["--target", "2"], "--target")])
def test_bad_inputs_exit_2_with_one_line(cli, args, option):
    result = cli("cnn", *args)
    assert result.exit_code == 2, result.output
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_json_carries_every_step(run_json):
    steps, document = run_json("cnn", "--stride", "2", "--padding", "1")
    assert list(steps) == STEP_IDS
    assert all(np.isfinite(value).all() for value in steps.values())


VALUES = st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0, -0.25])


@st.composite
def networks(draw):
    n, k = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    grid = lambda size: st.lists(st.lists(VALUES, min_size=size, max_size=size), min_size=size, max_size=size)
    typed = {"image": draw(grid(n)), "image2": draw(grid(n)), "kernel1": draw(grid(k)), "kernel2": draw(grid(k))}
    typed = {key: text(np.array(value)) for key, value in typed.items()}
    typed.update(stride=str(draw(st.integers(1, 4))), padding=str(draw(st.integers(0, 3))),
                 pool_size=str(draw(st.integers(1, 4))), pool=draw(st.sampled_from(["max", "avg"])),
                 target=draw(st.sampled_from(["1", "0"])))
    return {key: (value, "test") for key, value in typed.items()}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.one_of(st.none(), st.integers(0, 99)))
def test_any_small_network_runs_or_exits_2(typed, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("cnn", typed, seed)
        except InputError as error:
            assert "\n" not in str(error) and str(error).startswith("--")
            return
    assert all(np.isfinite(np.asarray(step.value, float)).all() for step in d.steps())
    assert all(step.check for step in d.steps())


def test_the_prose_uses_the_printed_symbols():
    # Issue 14 (reading): what the text says agrees with the formulas printed under it.
    d = engine.run("cnn")
    # the target is the digit 1, entry 0 of (1, 0): the note names the class, not only the index
    assert d["loss"].notes == ("t is one-hot at class 1 (entry 0), so L = -log y_0 = -log 0.5987",)
    assert engine.run("cnn", {"target": ("0", "test")})["loss"].notes[0].startswith("t is one-hot at class 0 (entry 1), so L = -log y_1 = ")
    # the logits are o, as the softmax prose writes them; the dense layer's prose uses f
    assert str(d["dense.linear"].symbol) == "o" and "exp(o_i - m)" in d["shift"].explanation
    assert d["dense.linear"].explanation.startswith("o_i = Σ_k W_ik f_k: W has shape (2, 8)")
    assert "∂L/∂W = ∂L/∂o fᵀ" in d["dense.dL_dW"].explanation and "∂L/∂f_j = Σ_i W_ij ∂L/∂o_i" in d["dense.dL_dx"].explanation
    # the pooled side is nₚ in the formulas, so in the prose too; maps are M¹ and M² (A¹, A² for avg)
    assert "of M¹ goes to l = i nₚ + j, entry (i, j) of M² to l = nₚ² + i nₚ + j" in d["flatten"].explanation
    assert "of M² receives the gradient of f at l = nₚ² + i nₚ + j" in d["dL_dpooled2"].explanation
    assert not any("m²" in text for text in [sec.explanation for sec in d.sections] + [s.explanation for s in d.steps()])
    assert "of A¹ goes to l = i nₚ + j" in engine.run("cnn", {"pool": ("avg", "test")})["flatten"].explanation
    # the second image and the second stride are named as in their formulas
    assert "P′ is X′" in d["other.padded"].explanation and "over P′" in d["other.conv2"].explanation
    assert "s' = 2" in d["out_size_other"].explanation and "s' = 2" in d["conv1_other"].explanation
    # steps of map 1 and map 2 have different titles
    for one, two in (("max_pool1", "max_pool2"), ("first_max1", "first_max2"), ("avg_pool1", "avg_pool2"),
                     ("dL_dK1", "dL_dK2"), ("dL_dP_via1", "dL_dP_via2")):
        assert d[one].title != d[two].title and " 1" in d[one].title and " 2" in d[two].title


def test_the_lessons_notes_are_remarks():
    # Issue 14 (Reading): which kernel responds more, the stride comparison and the one-hot
    # loss are readings of the numbers, not warnings; the lesson itself has no warning case.
    from dlsteps.model import Caution

    for typed in ({}, {"stride": ("2", "test")}, {"image2": ("0,0,0;0,0,0;0,0,0", "test"), "image": ("1,0,0;0,1,0;0,0,1", "test"),
                                                  "kernel1": ("1", "test"), "kernel2": ("1", "test"), "pool_size": ("1", "test")}):
        d = engine.run("cnn", typed)
        for id in ("responses", "conv1_other", "loss"):
            assert d[id].notes and not any(isinstance(note, Caution) for note in d[id].notes), (typed, id)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_the_batched_loss_is_the_loss_at_each_point(mode):
    """The whole-loss checks hand the finite differences a batched loss (every moved point
    at once): it gives, point by point, the loss the lesson computes one point at a time,
    and the differences taken either way agree."""
    from dlsteps.checks import finite_differences
    from lessons import cnn

    rng = np.random.default_rng(3)
    parts = cnn.forward({"X": ONE, "K1": LINE, "K2": CURVE, "W": rng.normal(size=(2, 8)), "t": np.array([1.0, 0.0]),
                         "b": np.array([0.1, -0.2]), "s": 1, "p": 1, "q": 3, "mode": mode})
    checks = [cnn.check(parts, key) for key in ("X", "P", "K1", "K2", "Y1", "pooled2", "f", "W", "b")]
    checks += [cnn.check_entry(parts), cnn.check_via(parts, 1), cnn.check_via(parts, 2)]
    for check in checks:
        point = np.asarray(check.point, dtype=float)
        moved = point + rng.normal(scale=0.1, size=(5, *point.shape))
        assert np.allclose(check.losses(moved), [check.loss(x) for x in moved], rtol=1e-13, atol=1e-15)
        batched = finite_differences(check)
        one_by_one = finite_differences(dataclasses.replace(check, losses=None))
        assert np.allclose(batched[0], one_by_one[0], rtol=1e-8, atol=1e-10)
    routed = lambda x: cnn.routing(parts, X=x)
    assert np.array_equal(conv.kinks(ONE, routed, batched=True), conv.kinks(ONE, routed))
    if mode == "max":  # the image's ones tie in the windows: moving one changes the first maximum
        assert np.isfinite(conv.kinks(ONE, routed)).any()
