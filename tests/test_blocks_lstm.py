"""The lstm block: two cells in one derivation (an encoder and a decoder started from its
last state, as seq2seq needs), checked by the engine and against a NumPy reference and
central differences written here, apart from the block."""

import numpy as np
import pytest
import sympy as sp

from conftest import central_difference
from dlsteps.blocks import lstm
from dlsteps.blocks.symbols import T, j
from dlsteps.checks import check
from dlsteps.model import Caution, Derivation

# ---- reference, written apart from the block ------------------------------------------------


def sig(v):
    return 1 / (1 + np.exp(-v))


def ref_cell(x, h, c, Wf, Wi, Wc, Wo):
    """Forward over the rows of x from (h, c): lists of h_t and C_t, and the last (h, c)."""
    hs, cs = [], []
    for xt in x:
        z = np.concatenate([h, xt])
        c = sig(Wf @ z) * c + sig(Wi @ z) * np.tanh(Wc @ z)
        h = sig(Wo @ z) * np.tanh(c)
        hs.append(h), cs.append(c)
    return np.array(hs), np.array(cs), h, c


def ref_ce(h, Wy, classes):
    g = h @ Wy.T
    g = g - g.max(axis=1, keepdims=True)
    logp = g - np.log(np.exp(g).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(classes)), classes].sum()


def seq2seq_loss(p, src, tgt_in, classes, h0, c0):
    """Encoder over src, decoder from the encoder's last (h, C) over tgt_in, CE of the decoder."""
    _, _, h, c = ref_cell(src, h0, c0, p["Wf_e"], p["Wi_e"], p["Wc_e"], p["Wo_e"])
    hs, _, _, _ = ref_cell(tgt_in, h, c, p["Wf_d"], p["Wi_d"], p["Wc_d"], p["Wo_d"])
    return ref_ce(hs, p["Wy"], classes)


# ---- building with the block ------------------------------------------------------------------


def given(d, name, value):
    return d.given(name, sp.IndexedBase(name), np.asarray(value, float))


def encoder_decoder(p, src, tgt_in, classes, h0, c0):
    d = Derivation("test", "test", "test")
    d.section("encoder")
    X, Y = given(d, "xs", src), given(d, "xd", tgt_in)
    h_init, c_init = given(d, "h_init", h0), given(d, "c_init", c0)
    We = {g: given(d, f"W{g}_e", p[f"W{g}_e"]) for g in lstm.GATES}
    Wd = {g: given(d, f"W{g}_d", p[f"W{g}_d"]) for g in lstm.GATES}
    Wy = given(d, "Wy", p["Wy"])
    target = given(d, "target", np.eye(p["Wy"].shape[0])[classes])
    T_dec = sp.Symbol("T_dec", integer=True, positive=True)
    enc = lstm.forward(d, X, h_init, c_init, We, at="enc.", names=lstm.suffixed("_e", "ᵉ", "e"))
    # the context (h_{T-1}, C_{T-1}) of the encoder as vectors the decoder starts from
    hT = d.step("context_h", "context h", symbol=sp.IndexedBase("hT"), index=(j,), formula=enc.h.symbol[T - 1, j],
                value=enc.h.value[-1], code=f"hT = {enc.h.var}[-1]")
    cT = d.step("context_C", "context C", symbol=sp.IndexedBase("cT"), index=(j,), formula=enc.C.symbol[T - 1, j],
                value=enc.C.value[-1], code=f"cT = {enc.C.var}[-1]")
    d.section("decoder")
    dec = lstm.forward(d, Y, hT, cT, Wd, at="dec.", names=lstm.suffixed("_d", "ᵈ", "d"), count={"T": T_dec})
    ro = lstm.readout(d, dec, Wy, target, at="out.")
    out = lstm.readout_backward(d, ro, at="out.")
    dgrads = lstm.backward(d, dec, out.h, at="dec.")
    egrads = lstm.backward(d, enc, None, dh_last=dgrads.h0, dC_last=dgrads.C0, at="enc.")
    return check(d), enc, dec, ro, out, dgrads, egrads


def case(seed, H_=3, D_=2, Te=3, Td=2, K=4):
    rng = np.random.default_rng(seed)
    p = {f"W{g}_{s}": rng.uniform(-0.8, 0.8, (H_, H_ + D_)) for g in lstm.GATES for s in "ed"}
    p["Wy"] = rng.uniform(-1, 1, (K, H_))
    return p, rng.uniform(-1, 1, (Te, D_)), rng.uniform(-1, 1, (Td, D_)), rng.integers(0, K, Td), rng.uniform(-0.5, 0.5, H_), rng.uniform(-0.5, 0.5, H_)


@pytest.mark.parametrize("seed", [0, 1])
def test_encoder_and_decoder_in_one_derivation_against_reference_and_central_differences(seed):
    p, src, tgt_in, classes, h0, c0 = case(seed)
    d, enc, dec, ro, out, dg, eg = encoder_decoder(p, src, tgt_in, classes, h0, c0)
    hs, cs, h, c = ref_cell(src, h0, c0, p["Wf_e"], p["Wi_e"], p["Wc_e"], p["Wo_e"])
    assert np.allclose(enc.h.value, hs, atol=1e-13) and np.allclose(enc.C.value, cs, atol=1e-13)
    assert ro.loss.value == pytest.approx(seq2seq_loss(p, src, tgt_in, classes, h0, c0), rel=1e-12)
    loss = lambda name: (lambda v: seq2seq_loss({**p, name: v}, src, tgt_in, classes, h0, c0))
    for g in lstm.GATES:  # gradients reach the encoder only through the context (C_T, h_T)
        assert np.allclose(eg.W[g].value, central_difference(loss(f"W{g}_e"), p[f"W{g}_e"]), atol=1e-8), g
        assert np.allclose(dg.W[g].value, central_difference(loss(f"W{g}_d"), p[f"W{g}_d"]), atol=1e-8), g
    assert np.allclose(out.W.value, central_difference(loss("Wy"), p["Wy"]), atol=1e-8)
    by_h0 = central_difference(lambda v: seq2seq_loss(p, src, tgt_in, classes, v, c0), h0)
    by_c0 = central_difference(lambda v: seq2seq_loss(p, src, tgt_in, classes, h0, v), c0)
    assert np.allclose(eg.h0.value, by_h0, atol=1e-8) and np.allclose(eg.C0.value, by_c0, atol=1e-8)
    for step in d.steps():
        assert "formula = NumPy" in step.check and "code ran" in step.check, step.id
    assert all("finite differences" in s.check for s in d.steps() if s.id.split(".")[-1].startswith(("d", "delta")) and s.id != "dec.dh0" or s.id.endswith("dh0"))


def test_two_cells_name_every_symbol_apart():
    p, src, tgt_in, classes, h0, c0 = case(2)
    d = encoder_decoder(p, src, tgt_in, classes, h0, c0)[0]
    ids = [s.id for s in d.steps()]
    assert len(ids) == len(set(ids))
    assert {"enc.z", "dec.z", "enc.C", "dec.C", "enc.dW_f", "dec.dW_f", "enc.dh0", "enc.dC0", "out.loss"} <= set(ids)
    assert d["dec.z"].var == "z_d" and d["enc.z"].var == "z_e"
    assert d["dec.z"].depends_on == ("xd", "context_h", "dec.h")  # started from the encoder's context
    assert d["dec.z"].recurrence[0] == "dec.z" and "enc.z" not in d["dec.z"].recurrence
    # the encoder's backward starts from the gradient arriving at its context (C_T, h_T)
    assert set(d["enc.dh"].depends_on) == {"dec.dh0", "enc.dz"} and "dec.dC0" in d["enc.dC"].depends_on


def block_run(seed, H_, D_, T_, K=3):
    rng = np.random.default_rng(seed)
    d = Derivation("test", "test", "test")
    d.section("s")
    X, h0, c0 = given(d, "x", rng.uniform(-1, 1, (T_, D_))), given(d, "h0", rng.uniform(-1, 1, H_)), given(d, "c0", rng.uniform(-1, 1, H_))
    W = {g: given(d, f"W_{g}", rng.uniform(-0.5, 0.5, (H_, H_ + D_))) for g in lstm.GATES}
    b = {g: given(d, f"b_{g}", rng.uniform(-0.5, 0.5, H_)) for g in lstm.GATES}
    target = given(d, "y", np.eye(K)[rng.integers(0, K, T_)])
    cell = lstm.forward(d, X, h0, c0, W, b)
    ro = lstm.readout(d, cell, given(d, "W_y", rng.uniform(-1, 1, (K, H_))), target)
    grads = lstm.backward(d, cell, lstm.readout_backward(d, ro).h)
    lstm.cell_path(d, cell)
    return check(d), grads


def test_formulas_and_code_identical_at_small_and_large_sizes():
    small, _g = block_run(0, 2, 3, 1)
    large, _g = block_run(1, 16, 8, 12)
    assert [s.id for s in small.steps()] == [s.id for s in large.steps()]
    for a, b in zip(small.steps(), large.steps()):
        assert str(a.formula) == str(b.formula) and a.code == b.code, a.id
    assert large["dW_f"].value.shape == (16, 24) and large["h"].value.shape == (12, 16)


def test_biases_get_the_sum_over_t_of_their_deltas():
    d, grads = block_run(3, 3, 2, 4)
    for g in lstm.GATES:
        assert np.allclose(grads.b[g].value, grads.delta[g].value.sum(axis=0))
        assert "finite differences" in grads.b[g].check


def test_cases_never_reads_out_of_range_and_collapses_to_its_branch():
    t, k = sp.symbols("t k", integer=True, nonnegative=True)
    a, b = sp.IndexedBase("a"), sp.IndexedBase("b")
    expr = lstm.Cases((a[t - 1, k], k < 2), (b[t, k - 2], True))
    f = sp.lambdify([a, b, t, k], expr, modules="numpy", printer=__import__("dlsteps.checks", fromlist=["_PRINTER"])._PRINTER)
    A, B = np.arange(6.0).reshape(3, 2), np.arange(100, 109.0).reshape(3, 3)
    tt, kk = np.indices((3, 5))
    # an index out of range (t - 1 = -1, k = 4 > 1) is clipped, never read past the array
    expected = np.where(kk < 2, A[np.clip(tt - 1, 0, 2), np.minimum(kk, 1)], B[tt, np.maximum(kk - 2, 0)])
    assert np.array_equal(f(A, B, tt, kk), expected)
    assert expr.subs({t: 0, k: 3}) == b[0, 1]


def test_state_from_later_enters_at_the_last_step_only():
    rng = np.random.default_rng(5)
    d = Derivation("test", "test", "test")
    d.section("s")
    X, h0, c0 = given(d, "x", rng.uniform(-1, 1, (3, 2))), given(d, "h0", rng.uniform(-1, 1, 2)), given(d, "c0", rng.uniform(-1, 1, 2))
    W = {g: given(d, f"W_{g}", rng.uniform(-1, 1, (2, 4))) for g in lstm.GATES}
    a, c = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    dh_last, dC_last = given(d, "dhT", a), given(d, "dCT", c)
    cell = lstm.forward(d, X, h0, c0, W)
    grads = lstm.backward(d, cell, None, dh_last=dh_last, dC_last=dC_last)
    check(d)
    # L = a·h_{T-1} + c·C_{T-1}: the reference's own differences
    lin = lambda p: a @ ref_cell(p["x"], p["h0"], p["c0"], *(p[f"W_{g}"] for g in lstm.GATES))[2] + \
        c @ ref_cell(p["x"], p["h0"], p["c0"], *(p[f"W_{g}"] for g in lstm.GATES))[3]
    p = {"x": X.value, "h0": h0.value, "c0": c0.value, **{f"W_{g}": W[g].value for g in lstm.GATES}}
    for name, got in (("W_f", grads.W["f"]), ("W_c", grads.W["c"]), ("h0", grads.h0), ("c0", grads.C0)):
        assert np.allclose(got.value, central_difference(lambda v, name=name: lin({**p, name: v}), p[name]), atol=1e-9), name
    assert np.allclose(grads.dh.value[-1], a) and np.allclose(grads.dh.value[:-1], grads.dz.value[1:, :2])


def test_nothing_to_forget_is_a_caution_the_path_note_a_remark():
    d = Derivation("test", "test", "test")
    d.section("s")
    X, h0, c0 = given(d, "x", [[0.5, 0.1, 0.2]]), given(d, "h0", [0.3, -0.1]), given(d, "c0", [0.0, 0.2])
    rng = np.random.default_rng(0)
    W = {g: given(d, f"W_{g}", rng.uniform(-0.5, 0.5, (2, 5))) for g in lstm.GATES}
    cell = lstm.forward(d, X, h0, c0, W)
    grads = lstm.backward(d, cell, given(d, "e", [[0.1, -0.2]]))
    paths = lstm.cell_path(d, cell)
    check(d)
    (nothing,) = grads.dgate["f"].notes  # C_{-1} is 0 at j = 0: the forget gate gets no gradient there
    assert isinstance(nothing, Caution) and "(t=0, j=0)" in nothing
    (path,) = paths.squashed.notes
    assert not isinstance(path, Caution) and "T = 1" in path
    _d, long_grads = block_run(4, 2, 3, 3)
    assert long_grads.dgate["f"].notes == ()
    assert not any(isinstance(note, Caution) for note in _d["squashed_path"].notes)


def test_formulas_read_in_the_lecture_order():
    from dlsteps.printers.formulas import unicode

    d, _grads = block_run(0, 2, 3, 2)
    shown = {s.id: unicode(s.formula, d.names) for s in d.steps()}
    assert "W_fⱼₖ⋅zₜₖ + b_fⱼ" in shown["a_f"]  # the bias last: Σ_k W_jk z_k + b_j
    assert [shown["dz"].index(f"⋅δ{mark}ₜⱼ") for mark in "ᶠⁱᶜᵒ"] == sorted(shown["dz"].index(f"⋅δ{mark}ₜⱼ") for mark in "ᶠⁱᶜᵒ")  # f, i, c, o
    assert "yₜₖ⋅log ŷₜₖ" in shown["loss"] and shown["log_softmax"].splitlines()[4].startswith("gₜᵢ - mₜ - log")
    assert "∂L/∂Cₜⱼ⋅C̃ₜⱼ" in shown["di"]  # ∂L/∂i_t = ∂L/∂C_t ⊙ C̃_t
    assert "fₜ₊₁,ⱼ⋅Πfₜ₊₁,ⱼ" in shown["cell_path"]
    cell = shown["C"].splitlines()  # C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t, each product gate first
    assert cell[1].startswith("fₜⱼ⋅") and cell[1].rstrip().endswith("+ iₜⱼ⋅C̃ₜⱼ")
    assert shown["h"] == "oₜⱼ⋅tanh(Cₜⱼ)" and shown["J_o"] == "δⱼₖ⋅tanh(C[T-1,k])"
