"""uat lesson: fixed step ids, an independent NumPy construction of the blocks, pairs (2N
neurons) against the staircase (N), the error as N grows, undefined targets, the plot."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution

IDS = ["function", "interval", "blocks", "unit", "steepness", "construction",
       "grid", "target", "width", "edges", "midpoints", "heights", "slope", "bias", "output_weight", "neurons",
       "hidden", "output", "error", "max_error", "mean_error", "plot", "error_table"]
UNITS, CONSTRUCTIONS = ("sigmoid", "step", "relu"), ("pairs", "staircase")
FUNCTIONS = {  # the typed text and the same function written here in NumPy
    "sin(3*x)+x": lambda x: np.sin(3 * x) + x,
    "x**2": lambda x: x**2,
    "abs(x)": np.abs,
    "exp(-x**2)*cos(2*x)": lambda x: np.exp(-(x**2)) * np.cos(2 * x),
    "relu(x) - 2*sigmoid(4*x)": lambda x: np.maximum(x, 0) - 2 / (1 + np.exp(-4 * x)),
}


# ---- the construction, written apart from the lesson ----------------------------------------

def unit_of(kind, z):
    """One step of height 1 at z = 0: the step [z >= 0], the sigmoid, or the ReLU ramp
    ReLU(z + 1/2) - ReLU(z - 1/2), which is z + 1/2 clipped to [0, 1]."""
    with np.errstate(over="ignore"):
        return {"step": lambda: (z >= 0) * 1.0, "sigmoid": lambda: 1 / (1 + np.exp(-z)),
                "relu": lambda: np.clip(z + 0.5, 0.0, 1.0)}[kind]()


def reference(f, a, b, n, kappa, kind, construction, x):
    """f̂(x): blocks of width Δ = (b - a)/n at the heights f(midpoint); edges a + qΔ, the two
    outer ones moved Δ/2 outwards; every unit with input weight w = κ/Δ, bias -w·edge."""
    delta = (b - a) / n
    edges = [a + q * delta for q in range(n + 1)]
    edges[0] -= delta / 2
    edges[-1] += delta / 2
    heights = [f(a + (q + 0.5) * delta) for q in range(n)]
    w = kappa / delta
    on = [unit_of(kind, w * x - w * e) for e in edges]
    if construction == "pairs":
        return sum(h * (on[q] - on[q + 1]) for q, h in enumerate(heights))
    rises = np.diff([0.0] + heights)
    return sum(rise * on[q] for q, rise in enumerate(rises))


def grid(a, b):
    return a + np.arange(201) * (b - a) / 200


def run(function="sin(3*x)+x", interval="-1,1", blocks=8, unit="sigmoid", steepness=50, construction="pairs"):
    typed = {"function": function, "interval": interval, "blocks": str(blocks), "unit": unit,
             "steepness": str(steepness), "construction": construction}
    return engine.run("uat", {key: (value, "test") for key, value in typed.items()})


# ---- tests ----------------------------------------------------------------------------------

def test_step_ids_are_fixed():
    assert run().ids() == IDS


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("construction", CONSTRUCTIONS)
def test_the_same_ids_for_every_unit_and_construction(unit, construction):
    assert run(unit=unit, construction=construction, blocks=3).ids() == IDS


def test_defaults_against_the_reference(run_json):
    steps, document = run_json("uat")
    x = grid(-1.0, 1.0)
    f = FUNCTIONS["sin(3*x)+x"]
    fhat = reference(f, -1.0, 1.0, 8, 50.0, "sigmoid", "pairs", x)
    assert np.allclose(steps["grid"], x, rtol=0, atol=1e-15)
    assert np.allclose(steps["target"], f(x), rtol=1e-13)
    assert np.allclose(steps["heights"], f(-1 + (np.arange(8) + 0.5) * 0.25), rtol=1e-13)
    assert np.allclose(steps["edges"], [-1.125, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1.125], atol=1e-15)
    assert steps["slope"] == 200.0
    assert np.allclose(steps["output"], fhat, rtol=1e-9, atol=1e-12)
    error = np.abs(f(x) - fhat)
    assert np.allclose(steps["error"], error, atol=1e-12)
    assert steps["max_error"] == pytest.approx(error.max(), abs=1e-12)
    assert steps["mean_error"] == pytest.approx(error.mean(), abs=1e-12)
    table = [[np.abs(f(x) - reference(f, -1.0, 1.0, n, 50.0, "sigmoid", "pairs", x)).max() for n in (4, 8, 16, 32, 64)],
             [np.abs(f(x) - reference(f, -1.0, 1.0, n, 50.0, "sigmoid", "pairs", x)).mean() for n in (4, 8, 16, 32, 64)]]
    assert np.allclose(steps["error_table"], table, rtol=1e-9, atol=1e-12)
    checks = {s["id"]: s["check"] for sec in document["sections"] for s in sec["steps"]}
    assert all("code ran" in check for check in checks.values())
    assert all("formula = NumPy" in check for key, check in checks.items() if key != "error_table")


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("construction", CONSTRUCTIONS)
@pytest.mark.parametrize("text", list(FUNCTIONS))
def test_every_unit_and_construction_against_the_reference(text, unit, construction):
    rng = np.random.default_rng(len(text) + 7 * len(unit) + len(construction))
    a = float(np.round(rng.uniform(-3, 1), 3))
    b = float(np.round(a + rng.uniform(0.5, 4), 3))
    n, kappa = int(rng.integers(1, 20)), float(np.round(rng.uniform(2, 200), 2))
    d = run(text, f"{a},{b}", n, unit, kappa, construction)
    x = grid(a, b)
    expected = reference(FUNCTIONS[text], a, b, n, kappa, unit, construction, x)
    scale = 1 + np.abs(FUNCTIONS[text](x)).max()
    assert np.allclose(d["output"].value, expected, rtol=1e-9, atol=1e-9 * scale)
    assert d["max_error"].value == pytest.approx(np.abs(FUNCTIONS[text](x) - expected).max(), abs=1e-9 * scale)


@pytest.mark.parametrize("unit, per_step", [("sigmoid", 1), ("step", 1), ("relu", 2)])
def test_staircase_takes_n_neurons_and_pairs_2n(unit, per_step):
    for n in (1, 5, 8):
        pairs, stairs = run(blocks=n, unit=unit), run(blocks=n, unit=unit, construction="staircase")
        assert pairs["neurons"].value.shape == (2 * n * per_step, 3)
        assert stairs["neurons"].value.shape == (n * per_step, 3)
        assert np.all(pairs["neurons"].value[:, 0] == pairs["slope"].value)
        h = pairs["heights"].value
        # pairs carry +h_k and -h_k; the staircase's rises telescope to the last height
        assert np.isclose(np.abs(pairs["output_weight"].value).sum(), 2 * per_step * np.abs(h).sum())
        assert np.isclose(stairs["output_weight"].value[::per_step].sum(), h[-1])


def test_with_the_step_unit_both_constructions_give_the_same_function():
    # H(w x + b) is 0 or 1, so block k of the pairs is exactly 1 on [t_k, t_{k+1}) and the
    # staircase's rises sum to h_k there: the same step function (up to rounding of the sums)
    for text in FUNCTIONS:
        pairs, stairs = run(text, unit="step"), run(text, unit="step", construction="staircase")
        assert np.allclose(pairs["output"].value, stairs["output"].value, rtol=1e-12, atol=1e-12)


def test_hand_worked_example():
    # f(x) = x on [0, 1], N = 2 blocks, step unit, staircase, κ = 50:
    # Δ = 1/2; edges t = (0 - 1/4, 1/2, 1 + 1/4); midpoints 1/4, 3/4 so heights h = (1/4, 3/4);
    # w = κ/Δ = 100, biases b = -w t_k = (25, -50); rises v = (1/4, 3/4 - 1/4) = (0.25, 0.5).
    # f̂ = 0.25 on [0, 1/2), 0.75 on [1/2, 1]; the largest error 1/4 (at x = 0, 1/2 and 1).
    d = run("x", "0,1", 2, "step", 50, "staircase")
    assert d["width"].value == 0.5
    assert np.allclose(d["edges"].value, [-0.25, 0.5, 1.25])
    assert np.allclose(d["heights"].value, [0.25, 0.75])
    assert d["slope"].value == 100
    assert np.allclose(d["neurons"].value, [[100, 25, 0.25], [100, -50, 0.5]])
    x = grid(0.0, 1.0)
    assert np.allclose(d["output"].value, np.where(x < 0.5, 0.25, 0.75))
    assert d["max_error"].value == pytest.approx(0.25)


def test_the_error_shrinks_as_n_grows_for_a_smooth_target():
    f, x = FUNCTIONS["exp(-x**2)*cos(2*x)"], grid(-2.0, 2.0)
    ours = [np.abs(f(x) - reference(f, -2.0, 2.0, n, 50.0, "sigmoid", "pairs", x)).max() for n in (4, 8, 16, 32, 64)]
    assert all(later < earlier for earlier, later in zip(ours, ours[1:]))
    table = run("exp(-x**2)*cos(2*x)", "-2,2")["error_table"].value
    assert np.allclose(table[0], ours, rtol=1e-9)
    assert np.all(np.diff(table[1]) < 0)


def test_a_linear_target_with_exact_steps_is_off_by_half_a_step():
    # f = x with the step unit: on each block f̂ is the midpoint's height, so |f - f̂| ≤ Δ/2,
    # reached at the edges when a grid point sits on one (N = 4, 8 divide the 200 spaces)
    table = run("x", "-1,1", 8, "step")["error_table"].value
    assert np.allclose(table[0, :2], [2 / 8, 2 / 16])
    assert np.all(table[0] <= 2 / (2 * np.array([4, 8, 16, 32, 64])) + 1e-12)


@pytest.mark.parametrize("text, interval, where", [
    ("log(x)", "-1,1", "x = -1 "),
    ("1/x", "-1,1", "x = 0 "),
    ("sqrt(x)", "-1,1", "x = -1 "),
    ("x/x", "-1,1", "x = 0 "),
    ("exp(x)", "0,100", "x = 28 "),  # e^x passes 1e12 after x = 27.63; the grid steps by 0.5
])
def test_a_function_undefined_on_the_interval_says_where(cli, text, interval, where):
    result = cli("uat", "--function", text, "--interval", interval)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--function" in lines[0] and text in lines[0] and where in lines[0], lines


def test_defined_where_it_matters():
    assert run("log(x)", "0.5,2")["max_error"].value > 0
    assert run("sqrt(x)", "0,1")["max_error"].value > 0


def test_the_plot_carries_its_data_in_json(run_json):
    steps, document = run_json("uat", "--blocks", "5")
    plot = next(s for sec in document["sections"] for s in sec["steps"] if s["id"] == "plot")
    assert plot["chart"]["kind"] == "line" and plot["chart"]["x_label"] == "x"
    assert plot["chart"]["series"] == ["target f", "N = 5 blocks"]
    assert np.allclose(plot["chart"]["x"], steps["grid"])
    assert np.array_equal(steps["plot"], np.array([steps["target"], steps["output"]]))
    table = next(s for sec in document["sections"] for s in sec["steps"] if s["id"] == "error_table")
    assert table["chart"]["x"] == [4, 8, 16, 32, 64] and len(table["chart"]["series"]) == 2


@pytest.mark.parametrize("option, text", [
    ("--interval", "1"), ("--interval", "2,1"), ("--interval", "1,1"), ("--interval", "1,2,3"),
    ("--steepness", "5000"), ("--steepness", "0"), ("--steepness", "-1"),
    ("--blocks", "0"), ("--blocks", "65"), ("--blocks", "2.5"),
    ("--unit", "tanh"), ("--construction", "tower"),
    ("--function", "y"), ("--function", "sin(x"),
])
def test_bad_inputs_exit_2_with_one_line_naming_the_option(cli, option, text):
    result = cli("uat", option, text)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], lines


def _clean(typed):
    """Run; InputError is fine (exit 2); anything else fails. No warning, no NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("uat", {key: (value, "test") for key, value in typed.items()})
        except InputError:
            return None
    for step in d.steps():
        assert not np.isnan(np.asarray(step.value, dtype=float)).any(), step.id
    return d


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.integers(1, 64), steepness=st.floats(0.01, 1000), a=st.floats(-1e5, 1e5), width=st.floats(1e-3, 1e4),
       unit=st.sampled_from(UNITS), construction=st.sampled_from(CONSTRUCTIONS))
def test_any_sizes_steepness_and_interval(blocks, steepness, a, width, unit, construction):
    d = _clean({"blocks": str(blocks), "steepness": repr(steepness), "interval": f"{a!r},{a + width!r}",
                "unit": unit, "construction": construction})
    if d is not None:
        x, (low, high) = d["grid"].value, d["interval"].value
        expected = reference(FUNCTIONS["sin(3*x)+x"], low, high, blocks, steepness, unit, construction, x)
        assert np.allclose(d["output"].value, expected, rtol=1e-6, atol=1e-6 * (1 + np.abs(x).max()))


TEXTS = st.recursive(
    st.sampled_from(["x", "2", "0.5", "pi", "e", "3.25"]),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu"]), inner).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda p: f"({p[0]}){p[1]}({p[2]})"),
        inner.map(lambda s: f"-{s}")),
    max_leaves=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, unit=st.sampled_from(UNITS), interval=st.sampled_from(["-1,1", "0.5,3", "-20,-10"]))
def test_any_typed_function_runs_or_is_refused_never_a_bug(text, unit, interval):
    _clean({"function": text, "unit": unit, "interval": interval, "blocks": "6"})


# ---- reading (issue 14): what the terminal shows can be redone by hand --------------------

import re  # noqa: E402


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("construction", CONSTRUCTIONS)
def test_the_bias_text_names_the_edges_the_biases_use(unit, construction):
    # b_j = -w t_e (+ 1/2 or - 1/2 for the two ReLUs of a ramp): the edges the text lists for the
    # first neurons are those the bias values give, t_e = -(b_j ∓ 1/2)/w.
    d = run(blocks=3, unit=unit, construction=construction)
    text = d["bias"].explanation
    listed = [int(e) for e in re.search(r"sit at ((?:t_\d+(?:, )?)+)\.", text).group(1).replace("t_", "").split(", ")]
    b, w, t = d["bias"].value, d["slope"].value, d["edges"].value
    ramp = np.array([0.5 if q % 2 == 0 else -0.5 for q in range(len(b))]) if unit == "relu" else 0.0
    used = [int(np.argmin(np.abs(t - edge))) for edge in -(b - ramp) / w]
    assert listed == used[:len(listed)] and len(listed) == min(4, len(b))
    assert ("rounded down" in text) == (construction == "pairs" or unit == "relu")


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("construction", CONSTRUCTIONS)
def test_every_delta_and_floor_in_a_formula_is_explained(unit, construction):
    # δ (Kronecker) and ⌊ ⌋ are not lecture notation: a step whose formula has one says what it is.
    import sympy as sp

    from dlsteps.symbolic import Quotient

    d = run(blocks=3, unit=unit, construction=construction)
    for step in d.steps():
        if step.formula is None:
            continue
        if step.formula.has(sp.KroneckerDelta):
            assert "δ_" in step.explanation, step.id
        if step.formula.has(Quotient):
            assert "⌊" in step.explanation, step.id
    assert d["output_weight"].explanation


def test_the_tables_of_prose_are_extracted_for_translation():
    # The section texts of each construction and unit (and the output-weight texts) are kept in
    # tables; marked with N_, the catalogue's extractor sees them, so --lang ko translates them.
    import importlib.util
    from pathlib import Path

    from lessons import uat

    spec = importlib.util.spec_from_file_location("messages", Path(__file__).resolve().parent.parent / "tools" / "messages.py")
    messages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(messages)
    ids = {message.id for message in messages.template()}
    for table in (uat._CONSTRUCTIONS, uat._UNITS, uat._OUTPUT_WEIGHTS):
        assert set(table.values()) <= ids


def test_sums_are_written_from_the_left_end_of_the_interval(cli):
    # x_g = I₀ + g (I₁ - I₀)/(G - 1), t_k = I₀ + kΔ - … and c_k = I₀ + (k + ½)Δ, as a + kΔ and
    # a + (k + ½)Δ in the prose; their numbers follow the same order.
    from dlsteps.printers.formulas import unicode

    d = run()
    assert unicode(d["grid"].formula).replace(" ", "").split("\n")[1].startswith("I₀+")
    assert "I₀ + k⋅Δ -" in unicode(d["edges"].formula)
    text = cli("uat", "--no-pager", env={"COLUMNS": "80"}).stdout
    assert "cₖ = I₀ + (k + 1/2)⋅Δ" in text and "c₀ = (-1) + (0 + 1/2)⋅0.25 = -0.875" in text
    assert "t₀ = (-1) + 0⋅0.25 -" in text


def test_the_mean_error_is_worked_out(cli):
    # E_mean = (ε₀ + ε₁ + … + ε₂₀₀)/201, its terms shown: 0.2278/201 + 0.2082/201 + … at the defaults
    result = cli("uat", "--no-pager", env={"COLUMNS": "120"})
    block = result.stdout.split("Mean error")[1].split("5.4")[0]
    assert "0.2278" in block and "201" in block and "…" in block


def test_an_error_that_grows_with_n_warns_and_the_ratios_are_a_remark():
    # Issue 14: the ratios of the largest error as N doubles are what the numbers show (•);
    # an error that grows when N doubles is against what the theorem leads a student to
    # expect (⚠). sin(30x) oscillates faster than 4 or 8 blocks can follow: 4→8 grows.
    (ratios,) = run().find("error_table").notes
    assert not isinstance(ratios, Caution) and "as N doubles" in ratios
    ratios, grows = run(function="sin(30*x)").find("error_table").notes
    assert not isinstance(ratios, Caution)
    assert isinstance(grows, Caution) and "grows at 4→8" in grows
    for id in ("neurons", "hidden", "max_error"):  # the neuron count, κ's inexactness, where the error peaks
        assert not any(isinstance(note, Caution) for note in run().find(id).notes), id


@pytest.mark.parametrize("construction", CONSTRUCTIONS)
def test_the_relu_biases_read_as_the_step_then_the_half_shift(cli, construction):
    # b_j = -w t_e, then ±1/2 for the two ReLUs of a ramp (the prose's order), numbers too:
    # b₀ = -200⋅(-1.125) + (-1)⁰/2 = 225.5 at the defaults.
    text = cli("uat", "--unit", "relu", "--construction", construction, "--no-pager", env={"COLUMNS": "80"}).stdout
    block = text.split("3.2 Biases")[1].split("3.3")[0]
    assert "bⱼ = -w⋅t[" in block and "b₀ = -200⋅(-1.125) + " in block and "= 225.5" in block
