"""resnet lesson: an independent NumPy reference (plain and skip), central differences, a
hand calculation of the lecture's example, vanishing at depth 10, domains and bad input."""

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import central_difference, terminal_view
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution

# ---- an independent reference, written apart from the lesson and the blocks -----------------


def sig(z):
    return 0.5 * (1 + math.tanh(z / 2))  # σ(z) = (1 + tanh(z/2)) / 2: another route to the same function


def ref_forward(x, w, skip=None):
    """Activations a_0..a_N of the chain; with skip (p, q): a_q = σ(w_q a_(q-1)) + a_(p-1)."""
    a = [x]
    for q, wq in enumerate(w, start=1):
        a.append(sig(wq * a[q - 1]) + (a[skip[0] - 1] if skip is not None and q == skip[1] else 0.0))
    return a


def ref_loss(x, w, t, skip=None):
    return (ref_forward(x, w, skip)[-1] - t) ** 2


def ref_gradients(x, w, t, skip=None):
    """dL/dw_l by summing over every path from w_l to the output (no reverse recursion)."""
    a = ref_forward(x, w, skip)
    n = len(w)
    s = [None] + [sig(w[q - 1] * a[q - 1]) * (1 - sig(w[q - 1] * a[q - 1])) for q in range(1, n + 1)]

    def da_out_da(l):  # ∂a_N / ∂a_l along every path
        if l == n:
            return 1.0
        total = w[l] * s[l + 1] * da_out_da(l + 1)
        if skip is not None and l == skip[0] - 1:
            total += da_out_da(skip[1])
        return total

    outer = 2 * (a[n] - t)
    return [outer * da_out_da(l) * s[l] * a[l - 1] for l in range(1, n + 1)]


def numeric_gradients(x, w, t, skip=None):
    return central_difference(lambda v: ref_loss(x, list(v), t, skip), w)


def run(**inputs):
    return engine.run("resnet", {k: (str(v), "test") for k, v in inputs.items()})


# ---- fixed ids and the lecture's example ------------------------------------------------------

STEP_IDS = [
    "plain.l1.linear", "plain.l1.activation", "plain.l2.linear", "plain.l2.activation", "plain.l3.linear",
    "plain.l3.activation", "plain.loss", "plain.gradient",
    "plain.l3.derivative", "plain.l3.delta", "plain.l3.dL_dW", "plain.l3.dL_dx",
    "plain.l2.derivative", "plain.l2.delta", "plain.l2.dL_dW", "plain.l2.dL_dx",
    "plain.l1.derivative", "plain.l1.delta", "plain.l1.dL_dW", "plain.chain", "plain.ratio",
    "skip.l1.linear", "skip.l1.activation", "skip.l2.linear", "skip.l2.activation", "skip.l3.linear",
    "skip.l3.activation", "skip.residual", "skip.loss", "skip.gradient",
    "skip.l3.derivative", "skip.l3.delta", "skip.l3.dL_dW", "skip.l3.dL_dx",
    "skip.l2.derivative", "skip.l2.delta", "skip.l2.dL_dW", "skip.l2.dL_dx", "skip.shortcut",
    "skip.l1.derivative", "skip.l1.delta", "skip.l1.dL_dW", "skip.chain", "skip.ratio", "compare",
]


def test_step_ids_are_fixed():
    # Step ids are API (JSON, quiz progress): changing one is a breaking change.
    assert [step.id for step in engine.run("resnet").steps()] == STEP_IDS


def test_hand_calculation_of_the_lecture_example():
    # DL101 #25: x = 0.5, w1 = w2 = w3 = 0.1, sigmoid, no bias, MSE of one output, target t = 0
    # (the lecture gives no target; the lesson picks 0). By hand, plain scenario:
    #   z1 = 0.1 · 0.5 = 0.05            a1 = σ(0.05) = 0.5124979
    #   z2 = 0.1 · 0.5124979 = 0.0512498 a2 = σ(0.0512498) = 0.5128096
    #   z3 = 0.0512810                   a3 = σ(0.0512810) = 0.5128174
    #   L = (a3 - 0)² = 0.2629817        ∂L/∂a3 = 2 a3 = 1.0256348
    #   σ'(z3) = a3 (1 - a3) = 0.2498356 δ3 = 1.0256348 · 0.2498356 = 0.2562401
    #   ∂L/∂w3 = δ3 a2 = 0.2562401 · 0.5128096 = 0.1314024
    #   ∂L/∂a2 = w3 δ3 = 0.0256240       δ2 = 0.0256240 · σ'(z2) (0.2498358) = 0.0064018
    #   ∂L/∂w2 = δ2 a1 = 0.0032809
    #   ∂L/∂a1 = w2 δ2 = 0.00064018      δ1 = 0.00064018 · σ'(z1) (0.2498439) = 0.00015995
    #   ∂L/∂w1 = δ1 x = 0.0000799725     ratio ∂L/∂w1 ÷ ∂L/∂w3 = 0.000608608
    # Skip 2,3 (ã3 = σ(z̃3) + ã1): ã3 = 0.5128174 + 0.5124979 = 1.0253153, ∂L̃/∂ã3 = 2.0506306,
    #   ∂L̃/∂ã1 = w2 δ̃2 + ∂L̃/∂ã3, so ∂L̃/∂w1 = σ'(z1) x (2.0506306 + 0.0012800) = 0.2563...
    d = engine.run("resnet")
    hand = {"plain.l1.activation": 0.5124979, "plain.l2.activation": 0.5128096, "plain.l3.activation": 0.5128174,
            "plain.loss": 0.2629817, "plain.gradient": 1.0256348, "plain.l3.delta": 0.2562401,
            "plain.l3.dL_dW": 0.1314024, "plain.l2.dL_dW": 0.0032809, "plain.l1.dL_dW": 0.0000799725,
            "plain.ratio": 0.000608608, "skip.residual": 1.0253153, "skip.gradient": 2.0506306}
    for id, value in hand.items():
        assert d[id].value == pytest.approx(value, rel=2e-6), id
    assert d["skip.l1.dL_dW"].value == pytest.approx(0.2498439 * 0.5 * (2.0506306 + 0.0012800), rel=1e-5)


def test_plain_scenario_is_the_standard_network_backprop_must_reproduce():
    # The backprop lesson, with sizes 1,1,1,1, weights 0.1, sigmoid, mse, input 0.5, no bias,
    # must give exactly these numbers: the plain scenario is that standard network.
    d = engine.run("resnet")
    grads = ref_gradients(0.5, [0.1] * 3, 0.0)
    assert [d[f"plain.l{l}.dL_dW"].value for l in (1, 2, 3)] == pytest.approx(grads, rel=1e-12)
    assert d["plain.loss"].value == pytest.approx(ref_loss(0.5, [0.1] * 3, 0.0), rel=1e-12)


# ---- against the reference and central differences ---------------------------------------------


def assert_matches_reference(d, x, w, t, skip):
    n = len(w)
    for name, placement in (("plain", None), ("skip", skip)):
        a = ref_forward(x, w, placement)
        grads = ref_gradients(x, w, t, placement)
        numeric = numeric_gradients(x, w, t, placement)
        last = f"{name}.residual" if placement and placement[1] == n else f"{name}.l{n}.activation"
        assert d[last].value == pytest.approx(a[-1], rel=1e-12, abs=1e-300)
        assert d[f"{name}.loss"].value == pytest.approx(ref_loss(x, w, t, placement), rel=1e-12, abs=1e-300)
        for l in range(1, n + 1):
            value = d[f"{name}.l{l}.dL_dW"].value
            assert value == pytest.approx(grads[l - 1], rel=1e-9, abs=1e-300), (name, l)
            assert value == pytest.approx(numeric[l - 1], rel=1e-5, abs=1e-9), (name, l)
        assert d[f"{name}.chain"].value == pytest.approx(grads[0], rel=1e-9, abs=1e-300)
        if grads[-1] != 0:
            assert d[f"{name}.ratio"].value == pytest.approx(grads[0] / grads[-1], rel=1e-9, abs=1e-300)


def test_defaults_against_reference():
    assert_matches_reference(engine.run("resnet"), 0.5, [0.1] * 3, 0.0, (2, 3))


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_seeded_inputs_against_reference(seed):
    d = engine.run("resnet", {"layers": ("5", "test"), "skip": ("2,4", "test")}, seed)
    x, t = d["x"].value, d["target"].value
    w = [d[f"w{l}"].value for l in range(1, 6)]
    assert len(set(w)) > 1, "the seed draws the weights too"
    assert_matches_reference(d, x, w, t, (2, 4))


@pytest.mark.parametrize("skip", ["1,1", "1,4", "2,2", "3,4", "4,4", "2,3"])
def test_every_placement_against_reference(skip):
    w = [0.7, -1.2, 0.4, 2.0]
    d = run(x=-0.8, w=",".join(map(str, w)), target=0.3, layers=4, skip=skip)
    assert_matches_reference(d, -0.8, w, 0.3, tuple(int(v) for v in skip.split(",")))


def test_skip_from_the_input_to_the_output_keeps_the_ratio():
    # ã_N = σ(z_N) + x: nothing below the output changes, so ∂L̃/∂a_N scales every ∂/∂w alike.
    d = run(skip="1,3")
    assert d["compare"].value == pytest.approx(1.0, rel=1e-12)
    assert any("not at all" in note for note in d["compare"].notes)


def test_ten_layers_show_vanishing_and_the_skip_keeps_the_input_side():
    d = run(layers=10)
    plain, skip = d["plain.ratio"].value, d["skip.ratio"].value
    grads = ref_gradients(0.5, [0.1] * 10, 0.0)
    assert plain == pytest.approx(grads[0] / grads[-1], rel=1e-9)
    assert 0 < plain < 1e-13  # nine factors σ'·w ≈ 0.025 between w1 and w10
    assert skip > 0.5 and d["compare"].value > 1e12
    assert any("larger share" in note for note in d["compare"].notes)
    assert any("shrinks" in note for note in d["plain.chain"].notes)


def test_underflow_is_explained():
    d = run(layers=30, w="1e-20")
    assert d["plain.chain"].value == 0.0
    assert any("underflows to 0" in note for note in d["plain.chain"].notes)


def test_a_ratio_that_is_not_a_number_is_left_out_and_explained():
    d = run(w="1e6", x="1e6")  # every σ saturates: σ' = 0, so ∂/∂w3 = 0
    ids = [step.id for step in d.steps()]
    assert "plain.ratio" not in ids and "compare" not in ids
    assert any("not a number" in note for note in d["plain.chain"].notes)


def test_the_skip_is_printed_where_it_goes(cli):
    result = cli("resnet", "--skip", "3,3", "--no-pager")
    assert result.exit_code == 0, result.output
    assert "layer 3" in result.stdout and "ã₃ = σ(z̃₃) + ã₂" in result.stdout


@pytest.mark.parametrize("skip", ["2,3", "1,3", "3,3"])
def test_every_number_is_worked_out_and_explained_in_the_lessons_symbols(skip):
    # One-neuron layers: every step is one number, so each shows its numbers (a student redoes
    # σ(0.05), 1.026⋅0.2498, ...), and no text speaks of a matrix layer's W_ij, x_j, or of p, q
    # and N that the default output never defines.
    from dlsteps.printers.formulas import worked

    d = run(skip=skip)
    p, q = (int(v) for v in skip.split(","))
    for step in d.steps():
        if step.formula is not None and step.id not in ("plain.loss", "skip.loss"):
            assert worked(step, d.env, lambda v: f"{v:.4g}") is not None, step.id
    texts = [section.explanation for section in d.sections] + [step.explanation for step in d.steps() if not step.id.endswith(".loss")]
    texts += [note for step in d.steps() for note in step.notes]
    for text in texts:
        for unexplained in ("W_ij", "x_j", "(p-1)", "ã_q", "a_N", "_i"):
            assert unexplained not in text, (unexplained, text)
    assert any("L = (t - a₃)²" in note for note in d["plain.loss"].notes)
    assert any("L̃ = (t - ã₃)²" in note for note in d["skip.loss"].notes)
    assert "∂z₂/∂w₂ = a₁" in d["plain.l2.dL_dW"].explanation
    assert "2 (a₃ - t)" in d["plain.gradient"].explanation and "2 (ã₃ - t)" in d["skip.gradient"].explanation
    low = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    source = "x" if p == 1 else f"ã{p - 1}".translate(low)
    assert f"∂ã{str(q).translate(low)}/∂{source} = 1" in d["skip.residual"].explanation


# ---- bad input and domains --------------------------------------------------------------------


@pytest.mark.parametrize("args,option", [
    (("--skip", "3,2"), "--skip"), (("--skip", "1,2,3"), "--skip"), (("--skip", "4,4"), "--skip"),
    (("--skip", "2"), "--skip"), (("--skip", "0,2"), "--skip"), (("--w", "0.1,0.2"), "--w"),
    (("--layers", "1"), "--layers"),
])
def test_bad_input_exits_2_with_one_line(cli, args, option):
    result = cli("resnet", *args)
    assert result.exit_code == 2, result.output
    assert option in result.stderr and result.stderr.count("\n") == 1


numbers = st.floats(-50, 50, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-200).map(lambda v: f"{v:.6g}")


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.data())
def test_any_valid_input_runs_without_nan_or_warning(layers, data):
    w = data.draw(st.one_of(numbers, st.lists(numbers, min_size=layers, max_size=layers).map(",".join)))
    p = data.draw(st.integers(1, layers + 1))
    q = data.draw(st.integers(1, layers + 1))
    inputs = {"layers": (str(layers), "test"), "w": (w, "test"), "x": (data.draw(numbers), "test"),
              "target": (data.draw(numbers), "test"), "skip": (f"{p},{q}", "test")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("resnet", inputs)
        except InputError as error:
            assert not 1 <= p <= q <= layers and "--skip" in str(error)
            return
    assert 1 <= p <= q <= layers
    for step in d.steps():
        assert not np.isnan(np.asarray(step.value, float)).any(), step.id


def test_json_has_no_nan(cli):
    result = cli("resnet", "--layers", "12", "--w", "3", "--format", "json")
    assert result.exit_code == 0
    assert "NaN" not in result.stdout and json.loads(result.stdout)["lesson"] == "resnet"


def test_python_script_of_a_deeper_net_runs(tmp_path):
    import subprocess
    import sys

    from dlsteps.printers import python

    d = run(layers=6, skip="3,5", w="0.5,-1,2,0.3,-0.7,1.1", x=1.5, target=0.2)
    script = tmp_path / "resnet.py"
    script.write_text(python.render(d), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"all {len(d.steps())} values agree" in result.stdout


def test_what_warns_is_a_caution_and_what_the_numbers_show_a_remark():
    # The lecture's shrinking product is its point: every note of the default is a remark (•).
    # x = 0 makes ∂/∂w₁ = 0 in both scenarios, so the ratios cannot be compared (⚠, and no
    # "changes nothing" verdict); 29 factors of 2.5e-21 underflow float64 (⚠).
    assert not any(isinstance(note, Caution) for step in engine.run("resnet").steps() for note in step.notes)
    zero = run(x=0)
    assert any(isinstance(note, Caution) and note.startswith("x = 0") for note in zero.find("plain.chain").notes)
    verdict = zero.find("skip.ratio").notes[-1]
    assert isinstance(verdict, Caution) and verdict.startswith("both ratios are 0")
    assert not any("not at all" in note for step in zero.steps() for note in step.notes)
    tiny = run(layers=30, w="1e-20").find("plain.chain").notes
    assert isinstance(tiny[0], Caution) and "underflows" in tiny[0]
    assert not isinstance(tiny[1], Caution)


def test_the_chain_rule_product_reads_from_the_output_down(cli):
    # Factor by factor in the chain rule's order, as its explanation lists them; the skip's
    # sum σ(z̃₃) + ã₁ as the section writes it.
    text = terminal_view(cli, "resnet")
    assert "─── = ∂L/∂a₃⋅σ′(z₃)⋅w₃⋅σ′(z₂)⋅w₂⋅σ′(z₁)⋅x" in text
    assert "─── = (∂L̃/∂ã₃⋅σ′(z̃₃)⋅w₃⋅σ′(z̃₂)⋅w₂ + ∂L̃/∂ã₃)⋅σ′(z̃₁)⋅x" in text
    assert "ã₃ = σ(z̃₃) + ã₁" in text and "= 0.5128 + 0.5125" in text
