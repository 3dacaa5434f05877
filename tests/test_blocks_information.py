"""The information block: entropy, cross-entropy, KL and JSD, used twice in one derivation,
against references written here (plain NumPy loops, SciPy), at a small and a large size."""

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy

from dlsteps.blocks import information
from dlsteps.checks import check, namespace
from dlsteps.errors import LessonError
from dlsteps.model import Caution, Derivation


def reference_kl(p, q):
    """Σ p_i log(p_i / q_i), 0 for p_i = 0, inf for q_i = 0 < p_i: a plain loop."""
    total = 0.0
    for a, b in zip(p, q):
        if a > 0:
            total += math.inf if b == 0 else a * math.log(a / b)
    return total


def build(p, q, base="e"):
    """Entropy and cross-entropy of (p, q) and of (q, p); KL both ways; the JSD."""
    d = Derivation(lesson="test", title="information", lecture="none")
    P = d.given("p", sp.IndexedBase("p"), np.array(p, dtype=float))
    Q = d.given("q", sp.IndexedBase("q"), np.array(q, dtype=float))
    d.section("twice")
    first = information.entropy(d, P, base=base)
    second = information.entropy(d, Q, at="q.", base=base, names={"terms": "h_q", "total": ("H_Q", "H(Q)", "H(Q)")})
    cross = information.cross_entropy(d, P, Q, base=base)
    back = information.cross_entropy(d, Q, P, at="q.", base=base, names={"terms": "c_q", "total": "H_QP"})
    forward = information.kl(d, P, Q, id="kl_pq", base=base, via=(cross.total, first.total))
    backward = information.kl(d, Q, P, id="kl_qp", base=base, names={"terms": "g", "total": "KL_QP"})
    js = information.jensen_shannon(d, P, Q, base=base)
    return check(d), (first, second, cross, back, forward, backward, js)


@pytest.mark.parametrize("base", ["e", "2"])
def test_used_twice_in_one_derivation(base):
    p, q = [0.36, 0.48, 0.16], [0.2, 0.5, 0.3]
    d, (first, second, cross, back, forward, backward, js) = build(p, q, base)
    b = math.e if base == "e" else 2.0
    assert first.total.value == pytest.approx(scipy_entropy(p, base=b), rel=1e-12)
    assert second.total.value == pytest.approx(scipy_entropy(q, base=b), rel=1e-12)
    assert cross.total.value == pytest.approx(-sum(a * math.log(c) for a, c in zip(p, q)) / math.log(b), rel=1e-12)
    assert back.total.value == pytest.approx(-sum(c * math.log(a) for a, c in zip(p, q)) / math.log(b), rel=1e-12)
    assert forward.total.value == pytest.approx(reference_kl(p, q) / math.log(b), rel=1e-12)
    assert backward.total.value == pytest.approx(reference_kl(q, p) / math.log(b), rel=1e-12)
    assert js.jsd.value == pytest.approx(jensenshannon(p, q, base=b) ** 2, rel=1e-9)
    ids = [s.id for s in d.steps()]
    assert ids[:4] == ["entropy_terms", "entropy", "q.entropy_terms", "q.entropy"]
    assert ids[-6:] == ["mixture", "kl_pm_terms", "kl_pm", "kl_qm_terms", "kl_qm", "jsd"]
    assert d["q.entropy"].depends_on == ("q.entropy_terms",) and d["q.entropy_terms"].depends_on == ("q",)
    assert d["kl_pq_terms"].depends_on == ("p", "q") and d["kl_pm_terms"].depends_on == ("p", "mixture")
    assert {s.concept for s in d.steps()} >= {"information.entropy", "information.kl_terms", "information.jsd"}
    assert all(s.check for s in d.steps())


@pytest.mark.parametrize("base", ["e", "2"])
def test_code_lines_reproduce_the_values_exactly(base):
    d, _ = build([0.36, 0.48, 0.16, 0], [0.2, 0.5, 0.25, 0.05], base)
    space = namespace(d)
    for step in d.steps():
        exec(step.code, space)
        assert np.array_equal(np.asarray(space[step.var]), np.asarray(step.value)), step.id
    assert any("def rel_entr" in source for source in d.prelude) and any("def xlogy" in source for source in d.prelude)


def test_same_formulas_at_size_3_and_20():
    rng = np.random.default_rng(0)
    small, _ = build([0.36, 0.48, 0.16], [0.2, 0.5, 0.3])
    p, q = rng.dirichlet(np.ones(20)), rng.dirichlet(np.ones(20))
    large, handles = build(p, q)
    assert [s.id for s in small.steps()] == [s.id for s in large.steps()]
    assert [s.formula for s in small.steps()] == [s.formula for s in large.steps()]
    assert handles[4].total.value == pytest.approx(reference_kl(p, q), rel=1e-10)


def test_zeros_and_infinities_are_noted():
    d, (first, _, cross, _, forward, backward, js) = build([0.5, 0.5, 0], [0.5, 0, 0.5])
    assert forward.total.value == math.inf and backward.total.value == math.inf
    assert any("i = 1" in note and "impossible under q" in note for note in forward.total.notes)
    assert any("i = 2" in note and "impossible under p" in note for note in backward.total.notes)
    assert any("i = 1" in note for note in cross.total.notes)
    assert any("0 log 0" in note and "i = 2" in note for note in first.terms.notes)
    assert js.jsd.value == pytest.approx(0.5 * math.log(2))
    assert not np.isnan(np.asarray(forward.terms.value)).any()


def test_no_notes_without_their_reason():
    d, (first, _, cross, _, forward, backward, _) = build([0.36, 0.48, 0.16], [0.2, 0.5, 0.3])
    assert not first.terms.notes and not cross.total.notes and not backward.total.notes
    assert forward.total.notes and "the same quantity" in forward.total.notes[0] and "loses digits" not in forward.total.notes[0]


def test_one_hot_cross_entropy():
    # The cross-entropy lesson's one-hot case: H(t, q) = -log q_true.
    d, (_, _, cross, _, _, _, _) = build([0, 1, 0], [0.2, 0.7, 0.1])
    assert cross.total.value == pytest.approx(-math.log(0.7), rel=1e-15)
    assert any("one-hot" in note and "q_1" in note for note in cross.total.notes)


def test_nearly_equal_distributions_keep_their_digits():
    # Exact KL((0.5000001, 0.4999999) || (0.5, 0.5)) by the series x - x^2/2 + x^3/3 - ...
    # of p log(1 + x), x = (p - q) / q, in exact rational arithmetic (mpmath-free check).
    p, q = [0.5000001, 0.4999999], [0.5, 0.5]
    exact = Fraction(0)
    for a, b in zip(map(Fraction, p), map(Fraction, q)):
        x = (a - b) / b
        exact += a * sum((-1) ** (k + 1) * x**k / k for k in range(1, 8))
    d, handles = build(p, q)
    assert handles[4].total.value == pytest.approx(float(exact), rel=1e-9)


def test_a_clash_of_names_is_an_error():
    d = Derivation(lesson="test", title="information", lecture="none")
    P = d.given("p", sp.IndexedBase("p"), np.array([0.5, 0.5]))
    d.section("clash")
    information.entropy(d, P)
    with pytest.raises(LessonError):
        information.entropy(d, P, at="again.")


def test_unknown_base_is_refused():
    with pytest.raises(ValueError):
        information.logs("10")


def test_infinite_and_negative_are_cautions_the_conventions_remarks():
    d, (first, _, cross, _, forward, _, js) = build([0.5, 0.5, 0], [0.5, 0, 0.5])
    (infinite,), (zero,) = forward.total.notes, first.terms.notes
    assert isinstance(infinite, Caution) and "infinite" in infinite
    assert not isinstance(zero, Caution) and "0 log 0" in zero  # a convention: a remark
    _d, (*_rest, same, _back, _js) = build([0.36, 0.48, 0.16], [0.2, 0.5, 0.3])
    assert not isinstance(same.total.notes[0], Caution) and "the same quantity" in same.total.notes[0]
    assert information._negative_note(0.1, np.array([0.5, 0.5]), np.array([0.5, 0.5])) == ()
    (negative,) = information._negative_note(-1e-17, np.array([0.1, 0.2, 0.7]), np.array([0.1, 0.2, 0.7]))
    assert isinstance(negative, Caution) and "rounding" in negative


def test_averages_print_as_the_lecture_writes_them():
    from dlsteps.printers.formulas import unicode

    d, (*_rest, js) = build([0.36, 0.48, 0.16], [0.2, 0.5, 0.3])
    assert unicode(js.mixture.formula, d.names).splitlines()[0].strip() == "pᵢ + qᵢ"  # M = (P + Q)/2
    assert unicode(js.jsd.formula, d.names).splitlines()[0].strip() == "KL(P‖M) + KL(Q‖M)"
