"""The attention block: causal self-attention with exact zeros, used twice in one derivation,
the same formulas at any size, the backward pass against central differences, all checked
against a NumPy reference written here."""

import warnings

import numpy as np
import pytest
import sympy as sp

from conftest import central_difference
from dlsteps.blocks import attention
from dlsteps.blocks.symbols import N, T
from dlsteps.checks import check
from dlsteps.errors import LessonError
from dlsteps.model import Caution, Derivation


def reference(Q, K, V, scale=False, causal=False):
    """softmax(Q Kᵀ / √d + M) V, row by row, written apart from the block."""
    Q, K, V = np.atleast_2d(Q), np.asarray(K, float), np.asarray(V, float)
    S = Q @ K.T
    if scale:
        S = S / np.sqrt(K.shape[1])
    A = np.zeros_like(S)
    for row in range(S.shape[0]):
        visible = np.arange(S.shape[1]) <= row if causal else np.ones(S.shape[1], bool)
        e = np.exp(S[row, visible] - S[row, visible].max())
        A[row, visible] = e / e.sum()
    return S, A, A @ V


def self_attention(X, G, scale=True, causal=True, at="", names=None, count=None):
    d = Derivation("demo", "Demo", "none")
    x = d.given("X", sp.IndexedBase("X"), np.asarray(X, float))
    g = d.given("G", sp.IndexedBase("G"), np.asarray(G, float))
    d.section("Self-attention")
    att = attention.attention(d, x, x, x, at=at, names=names, scale=scale, causal=causal, count=count)
    back = attention.backward(d, att, g, at=at)
    return check(d), att, back


X4 = np.array([[0.1, 0.2, -0.3], [0.3, -0.1, 0.5], [0.5, 0.4, 0.0], [-0.2, 0.7, 0.2]])
G4 = np.array([[1.0, -0.5, 0.2], [0.3, 0.3, -1.0], [0.0, 0.8, 0.1], [-0.4, 0.2, 0.6]])


def test_causal_mask_gives_exact_zeros_without_nan_or_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d, att, _ = self_attention(X4, G4)
    upper = np.triu(np.ones((4, 4), bool), k=1)
    assert np.all(np.isneginf(att.scores.mask.value[upper])) and np.all(att.scores.mask.value[~upper] == 0)
    assert np.all(np.isneginf(att.scores.masked.value[upper]))
    assert np.all(att.weights.value[upper] == 0.0)  # exactly 0, not merely small
    assert np.all(att.weights.value[~upper] > 0)
    assert not any(np.isnan(np.asarray(s.value, float)).any() for s in d.steps())
    assert np.allclose(att.weights.value.sum(axis=1), 1, rtol=1e-15)
    assert att.weights.value[0, 0] == 1.0  # the first position sees only itself
    S, A, O = reference(X4, X4, X4, scale=True, causal=True)
    assert np.allclose(att.scores.scores.value, S, rtol=1e-14)
    assert np.allclose(att.weights.value, A, rtol=1e-14, atol=0)
    assert np.allclose(att.output.value, O, rtol=1e-14)
    assert att.weights.display == "heatmap"
    assert any("-∞" in note for note in att.scores.mask.notes)
    assert any("exp(-∞) = 0" in note for note in att.softmax.exp.notes)


def test_step_ids_and_concepts():
    d, _, _ = self_attention(X4, G4)
    assert [s.id for s in d.steps()] == ["scores", "mask", "masked_scores", "shift", "exp", "sum", "softmax", "context",
                                         "dL_dweights", "dL_dscores", "dL_dquery"]
    assert all(s.concept.startswith("attention.") for s in d.steps())
    assert all("finite differences" in s.check for s in d.steps() if s.id.startswith("dL_"))


def test_backward_against_central_differences():
    # Σ G ⊙ O differenced here, in Q alone (K and V held fixed) and in the scores.
    _, att, back = self_attention(X4, G4)
    dQ = central_difference(lambda q: float(np.sum(G4 * reference(q, X4, X4, True, True)[2])), X4)
    assert np.allclose(back.query.value, dQ, atol=1e-8)

    def from_scores(S):
        A = np.zeros_like(S)
        for row in range(4):
            e = np.exp(S[row, : row + 1] - S[row, : row + 1].max())
            A[row, : row + 1] = e / e.sum()
        return float(np.sum(G4 * (A @ X4)))

    dS = central_difference(from_scores, att.scores.scores.value)
    assert np.allclose(back.scores.value, dS, atol=1e-8)
    assert np.all(back.scores.value[np.triu_indices(4, 1)] == 0)
    dA = central_difference(lambda A: float(np.sum(G4 * (A @ X4))), att.weights.value)
    assert np.allclose(back.weights.value, dA, atol=1e-8)


def test_used_twice_in_one_derivation():
    # Decoder self-attention (masked) and encoder-decoder attention (keys of another length).
    rng = np.random.default_rng(3)
    dec, enc = rng.normal(size=(3, 2)), rng.normal(size=(5, 2))
    d = Derivation("demo", "Demo", "none")
    y = d.given("Y", sp.IndexedBase("Y"), dec)
    x = d.given("X", sp.IndexedBase("X"), enc)
    d.section("Masked self-attention")
    first = attention.attention(d, y, y, y, at="self.", causal=True, scale=True)
    d.section("Encoder-decoder attention")
    names = {"scores": "S2", "m": "m2", "u": "u2", "Z": "Z2", "weights": ("B", "B", "B"), "output": "O2"}
    second = attention.attention(d, first.output, x, x, at="cross.", names=names, count={"queries": T, "keys": N})
    check(d)
    assert np.allclose(first.output.value, reference(dec, dec, dec, True, True)[2], rtol=1e-13)
    assert np.allclose(second.output.value, reference(first.output.value, enc, enc)[2], rtol=1e-13)
    assert second.weights.id == "cross.softmax" and second.weights.var == "B"
    assert set(d.find("cross.scores").depends_on) == {"self.context", "X"}
    assert len({s.var for s in d.steps()}) == len(d.steps())


def test_one_query_vector_is_one_row_of_the_matrix_form():
    H = np.array([[0.8, 0.2], [0.1, 0.9], [0.5, 0.5]])
    d = Derivation("demo", "Demo", "none")
    s = d.given("s", sp.IndexedBase("s"), np.array([0.7, 0.3]))
    h = d.given("H", sp.IndexedBase("h"), H)
    d.section("Attention")
    att = attention.attention(d, s, h, h, names={"scores": "e", "weights": ("alpha", "α", r"\alpha"), "output": "c"})
    check(d)
    _, A, O = reference([0.7, 0.3], H, H)
    assert att.scores.scores.value[0] == pytest.approx(0.62, abs=1e-15)  # DL101 #19: 0.7·0.8 + 0.3·0.2
    assert np.allclose(att.weights.value, A[0], rtol=1e-14) and np.allclose(att.output.value, O[0], rtol=1e-14)
    assert att.weights.concept == "softmax_ce.softmax"  # one query: the softmax_ce block's softmax


def test_a_causal_mask_needs_a_matrix_of_queries():
    d = Derivation("demo", "Demo", "none")
    s = d.given("s", sp.IndexedBase("s"), np.array([0.7, 0.3]))
    h = d.given("H", sp.IndexedBase("h"), np.eye(2))
    d.section("Attention")
    with pytest.raises(LessonError):
        attention.scores(d, s, h, causal=True)


def test_values_of_another_width():
    d = Derivation("demo", "Demo", "none")
    q = d.given("Q", sp.IndexedBase("Q"), X4[:2])
    k = d.given("K", sp.IndexedBase("K"), X4)
    v = d.given("V", sp.IndexedBase("V"), np.arange(20.0).reshape(4, 5) / 10)
    g = d.given("G", sp.IndexedBase("G"), np.ones((2, 5)))
    d.section("Attention")
    att = attention.attention(d, q, k, v)
    attention.backward(d, att, g)
    check(d)
    assert np.allclose(att.output.value, reference(X4[:2], X4, v.value)[2], rtol=1e-14)


def test_same_formulas_at_any_size():
    rng = np.random.default_rng(0)
    small, _, _ = self_attention(X4, G4)
    X = rng.normal(size=(24, 16))
    large, _, _ = self_attention(X, rng.normal(size=(24, 16)))
    assert [(s.id, s.formula) for s in small.steps()] == [(s.id, s.formula) for s in large.steps()]


def test_underflow_is_a_caution_and_the_mask_notes_are_remarks():
    X = np.array([[30.0, 0.0], [0.0, 30.0], [-30.0, 1.0]])  # scores up to 900 apart: exp underflows to 0
    d, att, _ = self_attention(X, np.ones((3, 2)), scale=False, causal=True)
    masked, underflow = att.softmax.exp.notes
    assert not isinstance(masked, Caution) and "exp(-∞) = 0" in masked
    assert isinstance(underflow, Caution) and "underflow" in underflow
    assert not any(isinstance(note, Caution) for note in att.scores.mask.notes)


def test_scores_print_query_first():
    from dlsteps.printers.formulas import unicode

    d = Derivation("demo", "Demo", "none")
    q = d.given("Q", sp.IndexedBase("Q"), X4[:2])
    k = d.given("K", sp.IndexedBase("K"), X4)
    d.section("Scores")
    sc = attention.scores(d, q, k)
    check(d)
    assert "Qᵢₖ⋅Kⱼₖ" in unicode(sc.scores.formula, d.names)  # S_ij = Σ_k Q_ik K_jk
    s = d.given("s", sp.IndexedBase("s"), np.array([0.7, 0.3, 0.1]))
    one = attention.scores(d, s, k, at="one.", names={"scores": "e"})
    check(d)
    assert "sₖ⋅Kᵢₖ" in unicode(one.scores.formula, d.names)  # e_i = Σ_k s_k h_ik, the query first
