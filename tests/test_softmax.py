"""softmax lesson: pairing, finite differences, published and hand-worked examples."""

import json
import math

import numpy as np
import pytest
import sympy as sp

from conftest import central_difference, terminal_view
from dlsteps import engine


def softmax(o):
    o = np.asarray(o, float)
    e = np.exp(o - o.max())
    return e / e.sum()


def loss(o, t):
    o = np.asarray(o, float)
    return float(-(t * (o - o.max() - np.log(np.exp(o - o.max()).sum()))).sum())


def test_wikipedia_example(run_json):
    # Wikipedia, "Softmax function", section "Example": softmax of (1, 2, 3, 4, 1, 2, 3)
    # is (0.024, 0.064, 0.175, 0.475, 0.024, 0.064, 0.175) to three decimals.
    steps, _ = run_json("softmax", "--logits", "1,2,3,4,1,2,3", "--target", "3")
    published = [0.024, 0.064, 0.175, 0.475, 0.024, 0.064, 0.175]
    assert np.allclose(steps["softmax"], published, atol=5e-4)


def test_hand_calculation_of_the_default():
    # Hand calculation for o = (2, 1, 0.1), class 0 (DL101 #13 style):
    # shift m = 2; e = (1, e^-1, e^-1.9); S = 1 + 0.367879 + 0.149569 = 1.517448
    # y = (0.659001, 0.242433, 0.098566); L = -ln 0.659001 = 0.417030
    # dL/do = y - t = (-0.340999, 0.242433, 0.098566)
    d = engine.run("softmax")
    s = math.exp(-1) + math.exp(-1.9) + 1
    assert d.find("sum").value == pytest.approx(s, rel=1e-12)
    assert np.allclose(d.find("softmax").value, [1 / s, math.exp(-1) / s, math.exp(-1.9) / s], rtol=1e-12)
    assert d.find("loss").value == pytest.approx(math.log(s), rel=1e-12)
    assert np.allclose(d.find("softmax").value, [0.659001, 0.242433, 0.098566], atol=1e-6)
    assert d.find("loss").value == pytest.approx(0.417030, abs=1e-6)
    assert np.allclose(d.find("gradient").value, [-0.340999, 0.242433, 0.098566], atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_pairing_and_finite_differences_on_seeded_inputs(seed, run_json):
    steps, document = run_json("softmax", "--seed", str(seed))
    o = np.array(document["inputs"][0]["value"])
    t = np.array(document["inputs"][1]["value"])
    assert all("formula = NumPy" in s["check"] for sec in document["sections"] for s in sec["steps"])
    numeric = central_difference(lambda v: loss(v, t), o)
    assert np.allclose(steps["gradient"], numeric, atol=1e-7)
    assert np.allclose(steps["gradient_sum"], numeric, atol=1e-7)
    jacobian = np.array([central_difference(lambda v: softmax(v)[i], o) for i in range(len(o))])
    assert np.allclose(steps["jacobian"], jacobian, atol=1e-7)
    assert np.allclose(steps["jacobian_quotient"], jacobian, atol=1e-7)
    y = softmax(o)
    by_output = central_difference(lambda v: float(-(t * np.log(v)).sum()), y)
    assert np.allclose(steps["dL_dy"], by_output, rtol=1e-6)


def test_soft_target(run_json):
    steps, _ = run_json("softmax", "--logits", "0.5,-1,2", "--target", "0.2,0.3,0.5")
    t = np.array([0.2, 0.3, 0.5])
    numeric = central_difference(lambda v: loss(v, t), [0.5, -1, 2])
    assert np.allclose(steps["gradient"], numeric, atol=1e-7)
    assert steps["loss"] == pytest.approx(loss([0.5, -1, 2], t), rel=1e-12)


def test_huge_logits_are_stable(cli, recwarn):
    result = cli("softmax", "--logits", "1000,0,-1000", "--target", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout and "nan" not in result.stdout
    d = engine.run("softmax", {"logits": ("1000,0,-1000", "cli"), "target": ("2", "cli")})
    assert d.find("loss").value == pytest.approx(2000.0)
    assert np.allclose(d.find("gradient").value, [1, 0, -1])
    assert any("overflow" in note for note in d.find("shift").notes)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_jacobian_derivation_is_symbolic():
    # The simplified Jacobian is proved from SymPy's quotient-rule derivative; break the
    # target form and the proof must refuse it.
    from dlsteps.blocks.softmax_ce import prove_jacobian
    from dlsteps.blocks.symbols import i, j, k, n, total
    from dlsteps.model import LessonError

    o, y, m = sp.IndexedBase("o"), sp.IndexedBase("y"), sp.Symbol("m")
    raw = sp.diff(sp.exp(o[i] - m) / total(sp.exp(o[k] - m), k, n), o[j])
    prove_jacobian(raw, y[i] * (sp.KroneckerDelta(i, j) - y[j]), o, m, y, n)
    with pytest.raises(LessonError):
        prove_jacobian(raw, y[i] * sp.KroneckerDelta(i, j), o, m, y, n)


def test_generic_in_size(run_json):
    logits = ",".join(str(x / 10) for x in range(-32, 32))
    steps, _ = run_json("softmax", "--logits", logits, "--target", "5")
    assert steps["jacobian"].shape == (64, 64)
    assert steps["softmax"].sum() == pytest.approx(1.0)


STEP_IDS = ["shift", "exp", "sum", "softmax", "jacobian_quotient", "jacobian", "log_softmax", "loss",
            "dL_dy", "chain_terms", "gradient_sum", "gradient"]


def test_step_ids_are_fixed():
    # Step ids are API (JSON, quiz progress): changing one is a breaking change.
    assert [step.id for step in engine.run("softmax").steps()] == STEP_IDS


@pytest.mark.parametrize("target", ["0.3333333,0.3333333,0.3333333", "0.5000009,0.25,0.25"])
def test_a_target_that_does_not_sum_to_exactly_1_is_refused(cli, target):
    # Defect: such a target was accepted (within 1e-6), so y - t was not the gradient of
    # the printed loss (off by 3e-7 relative) yet carried the finite-difference badge.
    result = cli("softmax", "--logits", "1,2,3", "--target", target)
    assert result.exit_code == 2, result.output
    assert "--target" in result.stderr and "1/3" in result.stderr and result.stderr.count("\n") == 1


def test_thirds_typed_as_fractions_are_exact(run_json):
    steps, _ = run_json("softmax", "--logits", "1,2,3", "--target", "1/3,1/3,1/3")
    o, t = np.array([1.0, 2, 3]), np.full(3, 1 / 3)
    assert np.allclose(steps["gradient"], central_difference(lambda v: loss(v, t), o), rtol=1e-7, atol=1e-9)


def test_the_shift_note_says_overflow_or_underflow_as_the_numbers_are():
    def notes(logits):
        return " ".join(engine.run("softmax", {"logits": (logits, "test"), "target": ("0", "test")}).find("shift").notes)

    assert "overflow" in notes("1000,0,-1000")
    low = notes("-1000,-1000")
    assert "underflow" in low and "overflow" not in low.replace("underflow", "")
    assert notes("2,1,0.1") == ""


def test_the_sections_say_how_to_read_the_matrices():
    # Issue 14 (reading): the Jacobian section says which index is the row and what δ_ij is
    # (both of its steps use it); the chain-rule section ties C_kj to the sum it is a term
    # of, so a student can add up a column of the printed matrix.
    jacobian, chain = (section.explanation for section in engine.run("softmax").sections[1::2])
    assert "row i, column j" in jacobian and "δ_ij" in jacobian and "1 when i = j and 0 otherwise" in jacobian
    assert "C_kj is term k of the sum for o_j" in chain and "column" in chain


def _quotient_step(text):
    """Step 2.1 (the quotient rule) of a terminal view: from its title to step 2.2's."""
    start = text.index("2.1 Differentiate (quotient rule)")
    return text[start:text.index("2.2 Simplify with y_i", start)]


def test_the_quotient_rule_is_compact_by_default_and_in_full_with_expand(cli):
    # Issue 14 (reading): the quotient-rule step printed SymPy's derivative in full (two
    # stacked sums over k, about 25 lines at 80 columns) before any number. It now shows the
    # quotient rule on y_i = u_i / S, (u_i δ_ij S - u_i u_j) / S², worked with the numbers
    # of u and S; the full SymPy derivative is behind --expand, and both are paired with the
    # value.
    step = engine.run("softmax").find("jacobian_quotient")
    assert not step.formula.has(sp.Sum) and not step.formula.has(sp.exp)
    assert step.full.has(sp.Sum) and step.full.has(sp.exp)
    short = _quotient_step(terminal_view(cli, "softmax", columns=80))
    assert "uᵢ⋅δᵢⱼ⋅S - uᵢ⋅uⱼ" in short and "1⋅1⋅1.517 - 1⋅1" in short
    assert "(--expand shows this formula in full, as SymPy derives it)" in short
    assert "In full" not in short and "ℯ" not in short and "╲" not in short
    assert len(short.splitlines()) < 25
    full = _quotient_step(terminal_view(cli, "softmax", "--expand", columns=80))
    assert "uᵢ⋅δᵢⱼ⋅S - uᵢ⋅uⱼ" in full and "In full, as SymPy derives it:" in full
    assert "--expand shows" not in full
    compact_at = full.index("uᵢ⋅δᵢⱼ⋅S - uᵢ⋅uⱼ")
    assert compact_at < full.index("In full") < full.index("ℯ") and "╲" in full
    assert full.count("⇒") == 9  # --expand also works out every entry of the 3×3 Jacobian


def test_the_quotient_rule_in_the_document_formats(cli):
    # JSON carries the compact formula (the contract); Markdown and LaTeX add the full one
    # only with --expand.
    steps = {s["id"]: s for sec in json.loads(cli("softmax", "--format", "json").stdout)["sections"] for s in sec["steps"]}
    formula = steps["jacobian_quotient"]["formula"]
    assert r"{u}_{i} \delta_{i j} S - {u}_{i} {u}_{j}" in formula and "S^{2}" in formula and r"\sum" not in formula
    for fmt in ("markdown", "latex"):
        plain, expanded = (cli("softmax", "--format", fmt, *extra).stdout for extra in ((), ("--expand",)))
        assert "In full, as SymPy derives it" not in plain and r"\sum_{k=0}^{n - 1} e^{{o}_{k} - m} \delta_{j k}" not in plain
        assert "In full, as SymPy derives it" in expanded and r"\sum_{k=0}^{n - 1} e^{{o}_{k} - m} \delta_{j k}" in expanded


def test_an_underflow_warns_and_the_one_hot_note_is_a_remark():
    # Issue 14: y_k underflowing to exactly 0 (logits 1000, 0, -1000) warns (⚠); "t is one-hot,
    # so L = -log y_c" is a remark (•), at the defaults as at extreme logits.
    from dlsteps.model import Caution

    extreme = engine.run("softmax", {"logits": ("1000,0,-1000", "test"), "target": ("2", "test")})
    (underflow,) = extreme.find("softmax").notes
    assert isinstance(underflow, Caution) and "underflow" in underflow
    for d in (extreme, engine.run("softmax")):
        (one_hot,) = d.find("loss").notes
        assert not isinstance(one_hot, Caution) and "one-hot" in one_hot
    assert engine.run("softmax").find("softmax").notes == ()
