"""The softmax_ce block: used twice in one derivation, the same formulas at any size,
and checked against a NumPy reference written here."""

import numpy as np
import sympy as sp

from conftest import central_difference
from dlsteps.blocks import softmax_ce
from dlsteps.checks import check
from dlsteps.model import Caution, Derivation


def reference_softmax(o):
    e = np.exp(o - np.max(o))
    return e / e.sum()


def two_softmaxes(first, second):
    """A derivation with softmax + cross-entropy over `first` and a second softmax over `second`."""
    d = Derivation("demo", "Demo", "none")
    o = d.given("o", sp.IndexedBase("o"), np.array(first, float))
    t = d.given("t", sp.IndexedBase("t"), np.eye(len(first))[0])
    e = d.given("e", sp.IndexedBase("e"), np.array(second, float))
    d.section("Output")
    out = softmax_ce.softmax(d, o)
    loss = softmax_ce.cross_entropy(d, out, t)
    softmax_ce.gradient(d, out, t, loss)
    d.section("Attention")
    from dlsteps.blocks.symbols import m as count

    attention = softmax_ce.softmax(d, e, at="attn.", count=count, names={"m": "m_a", "u": "u_a", "S": "S_a", "y": ("a", "α", r"\alpha")})
    return check(d), out, attention


def test_used_twice_in_one_derivation():
    d, out, attention = two_softmaxes([2, 1, 0.1], [0.62, 0.1, -0.3, 0.5])
    assert np.allclose(out.probs.value, reference_softmax(np.array([2, 1, 0.1])), rtol=1e-14)
    assert np.allclose(attention.probs.value, reference_softmax(np.array([0.62, 0.1, -0.3, 0.5])), rtol=1e-14)
    assert attention.probs.id == "attn.softmax" and attention.probs.var == "a"
    assert d.find("attn.softmax").depends_on == ("attn.exp", "attn.sum")
    assert all(step.concept.startswith("softmax_ce.") for step in d.steps())
    o = np.array([2, 1, 0.1])
    numeric = central_difference(lambda v: -np.log(reference_softmax(v)[0]), o)
    assert np.allclose(d.find("gradient").value, numeric, atol=1e-8)


def test_same_formulas_at_any_size():
    small, _, _ = two_softmaxes([2, 1, 0.1], [1, 2])
    large, _, _ = two_softmaxes(np.linspace(-3, 3, 64), np.linspace(0, 1, 40))
    assert [(s.id, s.formula) for s in small.steps()] == [(s.id, s.formula) for s in large.steps()]


def test_underflow_is_a_caution_and_the_one_hot_note_a_remark():
    d = Derivation("demo", "Demo", "none")
    o = d.given("o", sp.IndexedBase("o"), np.array([1000.0, 0.0, -1000.0]))
    t = d.given("t", sp.IndexedBase("t"), np.array([1.0, 0.0, 0.0]))
    d.section("Output")
    out = softmax_ce.softmax(d, o)
    loss = softmax_ce.cross_entropy(d, out, t)
    softmax_ce.chain_rule(d, out, t, loss)
    check(d)
    (underflow,), (skipped,), (one_hot,), (shift,) = out.probs.notes, d.find("chain_terms").notes, loss.notes, out.shift.notes
    assert isinstance(underflow, Caution) and "underflow" in underflow
    assert isinstance(skipped, Caution) and "not shown" in skipped
    assert not isinstance(one_hot, Caution) and "one-hot" in one_hot
    assert not isinstance(shift, Caution) and "after the shift" in shift  # the shift avoided the overflow: a remark


def test_cross_entropy_prints_target_first_as_the_lecture():
    from dlsteps.printers.formulas import unicode

    d, _out, _attention = two_softmaxes([2, 1, 0.1], [1, 2])
    assert "tₖ⋅log yₖ" in unicode(d.find("loss").formula, d.names)
    assert unicode(d.find("log_softmax").formula, d.names) == "oₖ - m - log(S)"
