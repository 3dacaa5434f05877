"""kl lesson: published example, SciPy and mpmath as independent oracles, zeros, infinities, rounding."""

import json
import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy
from typer.testing import CliRunner

from dlsteps import engine
from dlsteps.cli import app


def test_wikipedia_example(run_json):
    # Wikipedia, "Kullback-Leibler divergence", section "Basic example": P = Binomial(2, 0.4)
    # = (0.36, 0.48, 0.16), Q uniform: KL(P||Q) = 0.0852996 nats, KL(Q||P) = 0.097455 nats.
    steps, _ = run_json("kl", "--p", "0.36,0.48,0.16", "--q", "1/3,1/3,1/3")
    assert steps["kl_pq"] == pytest.approx(0.0852996, abs=1e-7)
    assert steps["kl_qp"] == pytest.approx(0.097455, abs=1e-6)


@pytest.mark.parametrize("base", ["e", "2"])
@pytest.mark.parametrize("seed", [0, 3, 11])
def test_against_scipy(run_json, base, seed):
    steps, document = run_json("kl", "--seed", str(seed), "--base", base)
    p, q = (np.array(item["value"]) for item in document["inputs"][:2])
    b = math.e if base == "e" else 2
    assert steps["entropy"] == pytest.approx(entropy(p, base=b), rel=1e-12)
    assert steps["cross_entropy"] == pytest.approx(entropy(p, base=b) + entropy(p, q, base=b), rel=1e-12)
    assert steps["kl_pq"] == pytest.approx(entropy(p, q, base=b), rel=1e-9, abs=1e-12)
    assert steps["kl_qp"] == pytest.approx(entropy(q, p, base=b), rel=1e-9, abs=1e-12)
    assert steps["jsd"] == pytest.approx(jensenshannon(p, q, base=b) ** 2, rel=1e-9)


def test_zero_in_p_counts_nothing(run_json):
    steps, _ = run_json("kl", "--p", "0.5,0.5,0", "--q", "0.25,0.25,0.5")
    assert steps["entropy"] == pytest.approx(math.log(2))
    assert steps["kl_pq"] == pytest.approx(0.5 * math.log(2) * 2)
    assert steps["entropy_terms"][2] == 0


def test_infinite_kl_is_explained(cli):
    result = cli("kl", "--p", "0.5,0.5,0", "--q", "0.5,0,0.5", "--base", "2", "--no-pager")
    assert result.exit_code == 0, result.output
    assert "∞" in result.stdout and "impossible under q" in result.stdout
    assert "nan" not in result.stdout.lower()


def test_infinite_kl_in_json(run_json):
    steps, document = run_json("kl", "--p", "0.5,0.5,0", "--q", "0.5,0,0.5")
    raw = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    assert raw["kl_pq"]["value"] == "inf" and raw["kl_qp"]["value"] == "inf"
    assert "asymmetry" not in raw
    assert np.isfinite(steps["jsd"]) and steps["jsd"] == pytest.approx(jensenshannon([0.5, 0.5, 0], [0.5, 0, 0.5]) ** 2)


STEP_IDS = [
    "entropy_terms", "entropy", "cross_entropy_terms", "cross_entropy",
    "kl_pq_terms", "kl_pq", "kl_qp_terms", "kl_qp", "asymmetry",
    "mixture", "kl_pm_terms", "kl_pm", "kl_qm_terms", "kl_qm", "jsd",
]


def exact_kl(p, q):
    """KL(P||Q) of the float64 inputs, with 60 significant digits (mpmath): the oracle."""
    with mpmath.workdps(60):
        return float(sum(mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b)) for a, b in zip(p, q) if a > 0))


def test_step_ids_are_fixed():
    # Ids are API (quiz progress, JSON). kl_pq_terms is new: KL(P||Q) is now a sum of its own terms.
    assert [s.id for s in engine.run("kl").steps()] == STEP_IDS
    assert [item.id for item in engine.run("kl").inputs] == ["p", "q", "base"]


def test_kl_of_nearly_equal_distributions_keeps_its_digits(run_json):
    # The old lesson printed KL = H(P,Q) - H(P) = 1.99285e-14 here; the exact value is 1.99445e-14.
    p, q = [0.5000001, 0.4999999], [0.5, 0.5]
    steps, _ = run_json("kl", "--p", "0.5000001,0.4999999", "--q", "0.5,0.5")
    exact = exact_kl(p, q)
    assert exact == pytest.approx(1.99445e-14, rel=1e-5)
    assert steps["kl_pq"] == pytest.approx(exact, rel=1e-9)
    assert steps["kl_qp"] == pytest.approx(exact_kl(q, p), rel=1e-9)
    m = [(a + b) / 2 for a, b in zip(p, q)]
    assert steps["jsd"] == pytest.approx((exact_kl(p, m) + exact_kl(q, m)) / 2, rel=1e-6)
    # the difference of the two logs, as the old code took it, is wrong in the third digit
    old = float((np.array(p) * np.log(p)).sum() - (np.array(p) * np.log(q)).sum())
    assert abs(old - exact) > 1e-4 * exact
    assert steps["kl_pq_terms"].sum() == steps["kl_pq"]


def test_kl_terms_against_series():
    # p log(p/q) = p log1p((p - q)/q), each term to near machine precision
    p, q = np.array([0.5000001, 0.4999999]), np.array([0.5, 0.5])
    steps = {s.id: s.value for s in engine.run("kl", {"p": ("0.5000001,0.4999999", "t"), "q": ("0.5,0.5", "t")}).steps()}
    np.testing.assert_allclose(steps["kl_pq_terms"], p * np.log1p((p - q) / q), rtol=1e-14)


def test_inputs_that_do_not_sum_to_one_are_refused(cli):
    result = cli("kl", "--p", "0.4999996,0.4999996", "--q", "0.5,0.5", "--no-pager")
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "--p" in result.output


def test_negative_kl_from_rounding_is_explained(run_json):
    # 0.5 + 0.4999999999995 is within the input layer's 1e-12 of 1; the true KL of the
    # float inputs is -5e-13 (they do not quite sum to 1), so a note must say why.
    steps, document = run_json("kl", "--p", "0.5,0.4999999999995", "--q", "0.5,0.5")
    raw = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    assert steps["kl_pq"] < 0
    assert any("below 0" in note and "rounding" in note for note in raw["kl_pq"]["notes"])
    assert not any("below 0" in note for note in raw["kl_qp"]["notes"])
    default = {s["id"]: s for sec in run_json("kl")[1]["sections"] for s in sec["steps"]}
    assert not any("below 0" in note for note in default["kl_pq"]["notes"])


def test_infinite_kl_note_and_missing_asymmetry_said(run_json):
    _, document = run_json("kl", "--p", "0.5,0.5,0", "--q", "0.5,0,0.5")
    raw = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    assert any("i = 1" in note and "∞" in note for note in raw["kl_pq"]["notes"])
    assert any("i = 2" in note and "∞" in note for note in raw["kl_qp"]["notes"])
    assert any("asymmetry" in note for note in raw["kl_qp"]["notes"])
    assert any("0 log 0" in note for note in raw["entropy_terms"]["notes"])
    default = {s["id"]: s for sec in run_json("kl")[1]["sections"] for s in sec["steps"]}
    assert not default["kl_pq"]["notes"][1:] and not default["kl_qp"]["notes"]


def test_same_formulas_at_size_3_and_20():
    small = engine.run("kl")
    large = engine.run("kl", {"p": (",".join(["1/20"] * 20), "t"), "q": (",".join(f"{k}/210" for k in range(1, 21)), "t")})
    assert [s.id for s in small.steps()] == [s.id for s in large.steps()]
    assert [s.formula for s in small.steps()] == [s.formula for s in large.steps()]
    p, q = np.full(20, 1 / 20), np.arange(1, 21) / 210
    assert large["kl_pq"].value == pytest.approx(entropy(p, q), rel=1e-12)


def _weights(n):
    """n integer weights, zeros frequent, not all zero."""
    return st.lists(st.one_of(st.just(0), st.integers(1, 9)), min_size=n, max_size=n).filter(lambda w: sum(w) > 0)


def _text(w):
    return ",".join(f"{a}/{sum(w)}" for a in w)


@settings(max_examples=40, deadline=None)
@given(pair=st.integers(2, 6).flatmap(lambda n: st.tuples(_weights(n), _weights(n))), base=st.sampled_from(["e", "2"]))
def test_any_probability_vectors(pair, base):
    cli = CliRunner()
    wp, wq = pair
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cli.invoke(app, ["kl", "--p", _text(wp), "--q", _text(wq), "--base", base, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.stdout.lower()
    document = json.loads(result.stdout)
    raw = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    unit = math.log(2) if base == "e" else 1.0
    for id in ("kl_pq", "kl_qp"):
        value = float(raw[id]["value"])
        assert value >= 0
        p, q = (wp, wq) if id == "kl_pq" else (wq, wp)
        if any(a > 0 and b == 0 for a, b in zip(p, q)):
            assert value == math.inf and any("∞" in note for note in raw[id]["notes"])
        else:
            exact = exact_kl([a / sum(p) for a in p], [b / sum(q) for b in q]) / (1 if base == "e" else math.log(2))
            assert value == pytest.approx(exact, rel=1e-9, abs=1e-15)
    jsd = float(raw["jsd"]["value"])
    assert 0 <= jsd <= unit * (1 + 1e-12)  # log 2 nats = 1 bit, up to one rounding
    b = math.e if base == "e" else 2
    assert jsd == pytest.approx(jensenshannon(np.array(wp) / sum(wp), np.array(wq) / sum(wq), base=b) ** 2, rel=1e-7, abs=1e-15)


@pytest.mark.parametrize(("base", "unit", "call"), [("e", "natural (base e), so the values are in nats", "jensenshannon(p, q)"),
                                                    ("2", "base 2, so the values are in bits", "jensenshannon(p, q, base=2)")])
def test_the_unit_and_scipys_square_root_are_said(base, unit, call):
    # Issue 14 (reading): "nats" in a title is explained on screen, and a student who checks
    # the JSD with SciPy is told that jensenshannon is its square root, with that root.
    d = engine.run("kl", {"base": (base, "test")})
    assert unit in d.sections[0].explanation
    p, q = (np.array(item.value, dtype=float) for item in d.inputs[:2])
    root = jensenshannon(p, q, base=math.e if base == "e" else 2)
    assert d.find("jsd").notes == (f"SciPy's {call} returns its square root, √JSD(P‖Q) = {root:.4g}",)
    assert "≠" in d.find("asymmetry").explanation and "!=" not in d.find("asymmetry").explanation


def test_an_infinite_kl_warns_and_the_lessons_own_notes_are_remarks():
    # Issue 14: KL(P‖Q) = ∞ warns (⚠, the block's note on the step); SciPy's square root (a
    # library's convention) and the missing asymmetry step (it follows from that ∞, said just
    # above) are remarks (•), so only the infinity itself carries ⚠.
    from dlsteps.model import Caution

    d = engine.run("kl", {"p": ("0.5,0.5,0", "test"), "q": ("0.5,0,0.5", "test")})
    assert any(isinstance(note, Caution) and "∞" in note for note in d.find("kl_pq").notes)
    (missing,) = [note for note in d.find("kl_qp").notes if "asymmetry" in note]
    assert not isinstance(missing, Caution)
    for run in (d, engine.run("kl")):
        (scipy,) = run.find("jsd").notes
        assert not isinstance(scipy, Caution) and "square root" in scipy
