"""transformer lesson: an independent NumPy encoder-decoder written here, the positional
encoding against the published formula and hand values, the causal mask's exact zeros,
d_model 64 / 16 positions, Hypothesis over small sizes, and bad inputs exit 2."""

import io
import json
import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.printers import terminal


def _head(prefix, masked=False):
    middle = ["scores", "mask", "masked_scores"] if masked else ["scores"]
    return [f"{prefix}.{s}" for s in ["q", "k", "v", *middle, "shift", "exp", "sum", "softmax", "context"]]


def _norm(prefix, n):
    return [f"{prefix}.add{n}", f"{prefix}.ln{n}.mean", f"{prefix}.ln{n}.variance", f"{prefix}.ln{n}.normalize"]


STEP_IDS = (["dec_in", "angle", "pos_enc", "src_x", "tgt_x"]
            + _head("enc.h0") + _head("enc.h1") + ["enc.concat", "enc.proj"] + _norm("enc", 1)
            + ["enc.ff.hidden", "enc.ff.relu", "enc.ff.out"] + _norm("enc", 2)
            + _head("dec.h0", True) + _head("dec.h1", True) + ["dec.concat", "dec.proj"] + _norm("dec", 1)
            + _head("cross.h0") + _head("cross.h1") + ["cross.concat", "cross.proj"] + _norm("dec", 2)
            + ["dec.ff.hidden", "dec.ff.relu", "dec.ff.out"] + _norm("dec", 3)
            + ["logits", "out.shift", "out.exp", "out.sum", "out.softmax", "loss"])


# ---- an independent reference, written apart from the lesson and its blocks ------------


def positional_encoding(rows, d_model):
    """Vaswani et al. (2017), §3.5: PE(pos, 2i) = sin(pos / 10000^(2i/d_model)),
    PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)), element by element."""
    pe = np.zeros((rows, d_model))
    for pos in range(rows):
        for two_i in range(0, d_model, 2):
            pe[pos, two_i] = math.sin(pos / 10000 ** (two_i / d_model))
            if two_i + 1 < d_model:
                pe[pos, two_i + 1] = math.cos(pos / 10000 ** (two_i / d_model))
    return pe


def softmax(row):
    e = np.exp(row - row.max())
    return e / e.sum()


def multi_head(Xq, Xkv, WQ, WK, WV, WO, heads, causal):
    """Heads as a reshape of the projected matrices: (T, d_model) -> (H, T, d_k)."""
    T, d = Xq.shape
    dk = d // heads
    Q = (Xq @ WQ.T).reshape(T, heads, dk).transpose(1, 0, 2)
    K = (Xkv @ WK.T).reshape(len(Xkv), heads, dk).transpose(1, 0, 2)
    V = (Xkv @ WV.T).reshape(len(Xkv), heads, dk).transpose(1, 0, 2)
    weights = np.zeros((heads, T, len(Xkv)))
    for h in range(heads):
        S = Q[h] @ K[h].T / math.sqrt(dk)
        for r in range(T):
            seen = r + 1 if causal else len(Xkv)  # the causal mask: keys 0 .. r only
            weights[h, r, :seen] = softmax(S[r, :seen])
    heads_out = weights @ V  # (H, T, d_k)
    concat = heads_out.transpose(1, 0, 2).reshape(T, d)
    return concat @ WO.T, weights, concat


def layer_norm(x, eps):
    return (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)


def transformer(src, tgt, w, heads, eps):
    """One post-LN encoder block and one decoder block, then the output softmax and the loss."""
    E = w["embedding"]
    d = E.shape[1]
    fed = np.array([0, *tgt[:-1]], dtype=int)
    out = {"dec_in": fed, "pos_enc": positional_encoding(max(len(src), len(fed)), d)}
    X = E[src] + positional_encoding(len(src), d)
    Y = E[fed] + positional_encoding(len(fed), d)
    out["src_x"], out["tgt_x"] = X, Y
    ffn = lambda x, W1, W2: np.maximum(0, x @ W1.T) @ W2.T  # noqa: E731
    att, A, C = multi_head(X, X, w["wq_enc"], w["wk_enc"], w["wv_enc"], w["wo_enc"], heads, False)
    out.update({"enc.concat": C, "enc.proj": att, **{f"enc.h{h}.softmax": A[h] for h in range(heads)}})
    n1 = out["enc.ln1.normalize"] = layer_norm(X + att, eps)
    memory = out["enc.ln2.normalize"] = layer_norm(n1 + ffn(n1, w["w1_enc"], w["w2_enc"]), eps)
    att, A, C = multi_head(Y, Y, w["wq_self"], w["wk_self"], w["wv_self"], w["wo_self"], heads, True)
    out.update({"dec.proj": att, **{f"dec.h{h}.softmax": A[h] for h in range(heads)}})
    m1 = out["dec.ln1.normalize"] = layer_norm(Y + att, eps)
    att, A, C = multi_head(m1, memory, w["wq_cross"], w["wk_cross"], w["wv_cross"], w["wo_cross"], heads, False)
    out.update({"cross.proj": att, **{f"cross.h{h}.softmax": A[h] for h in range(heads)}})
    m2 = out["dec.ln2.normalize"] = layer_norm(m1 + att, eps)
    m3 = out["dec.ln3.normalize"] = layer_norm(m2 + ffn(m2, w["w1_dec"], w["w2_dec"]), eps)
    logits = out["logits"] = m3 @ w["wout"].T
    P = out["out.softmax"] = np.array([softmax(row) for row in logits])
    out["loss"] = -np.mean(np.log(P[np.arange(len(tgt)), tgt]))
    return out


def run(seed=None, **typed):
    return engine.run("transformer", {key: (text, "test") for key, text in typed.items()}, seed)


def compare(d, rtol=1e-9):
    values = {item.name: np.asarray(item.value) for item in d.inputs}
    heads = len([s for s in d.steps() if s.id.startswith("enc.h") and s.id.endswith(".q")])
    expected = transformer(values["source"].astype(int), values["target"].astype(int), values, heads, float(values["eps"]))
    for id, value in expected.items():
        assert np.allclose(np.asarray(d[id].value, float), value, rtol=rtol, atol=1e-12), id
    return expected


# ---- tests -----------------------------------------------------------------------------


def test_step_ids_are_fixed():
    # Step ids are API (JSON, quiz progress).
    assert [s.id for s in run().steps()] == STEP_IDS


def test_defaults_agree_with_the_independent_reference():
    d = run()
    compare(d)
    assert [int(x) for x in d["dec_in"].value] == [0, 6, 8]  # <s> 나는 피자를
    assert d["src_x"].value.shape == (3, 6) and d["out.softmax"].value.shape == (3, 11)


@pytest.mark.parametrize("seed, extra", [(1, {}), (7, {"heads": "3", "seq_len": "4"}), (11, {"heads": "1", "d_model": "4", "d_ff": "5", "vocab": "7", "seq_len": "2"})])
def test_seeded_inputs_agree_with_the_independent_reference(seed, extra):
    compare(run(seed, **extra))


def test_positional_encoding_matches_the_published_formula_and_hand_values():
    d = run(d_model="6")
    pe = np.asarray(d["pos_enc"].value)
    assert np.allclose(pe, positional_encoding(3, 6), rtol=1e-15, atol=0)
    # Hand values (d_model = 6): PE(0, ·) = 0, 1, 0, 1, 0, 1; PE(1, 0) = sin 1 = 0.8414709848,
    # PE(1, 1) = cos 1 = 0.5403023059; PE(1, 2) = sin(1 / 10000^(2/6)) = sin(1 / 21.5443469)
    # = sin(0.0464158883) = 0.0463992235; PE(2, 4) = sin(2 / 10000^(4/6)) = sin(2 / 464.158883)
    # = 0.0043088560; PE(2, 5) = cos(0.0043088694) = 0.9999907168.
    assert np.array_equal(pe[0], [0, 1, 0, 1, 0, 1])
    assert pe[1, 0] == pytest.approx(0.8414709848, abs=1e-10)
    assert pe[1, 1] == pytest.approx(0.5403023059, abs=1e-10)
    assert pe[1, 2] == pytest.approx(0.0463992235, abs=1e-10)
    assert pe[2, 4] == pytest.approx(0.0043088560, abs=1e-10)
    assert pe[2, 5] == pytest.approx(0.9999907168, abs=1e-10)
    big = run(d_model="64", seq_len="16")
    assert np.allclose(big["pos_enc"].value, positional_encoding(16, 64), rtol=1e-13, atol=1e-15)


def test_causal_mask_weights_are_exactly_zero_with_no_nan_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = run(5, seq_len="5")
    upper = np.triu(np.ones((5, 5), bool), k=1)
    for h in (0, 1):
        A = np.asarray(d[f"dec.h{h}.softmax"].value)
        assert np.all(A[upper] == 0.0)  # exactly 0, not merely small
        assert np.all(A[~upper] > 0) and A[0, 0] == 1.0
        assert np.all(np.isneginf(np.asarray(d[f"dec.h{h}.mask"].value)[upper]))
    for step in d.steps():
        assert not np.isnan(np.asarray(step.value, float)).any(), step.id
    assert not any(np.isneginf(np.asarray(d[f"cross.h{h}.softmax"].value)).any() for h in (0, 1))


def test_cross_attention_takes_queries_from_the_decoder_and_keys_from_the_encoder():
    d = run(3, seq_len="4", source="1,2,3,4,5,6")
    # 4 decoder positions ask 6 source positions: the weights are 4 x 6, rows summing to 1.
    A = np.asarray(d["cross.h0.softmax"].value)
    assert A.shape == (4, 6) and np.allclose(A.sum(axis=1), 1)
    assert d["cross.h0.q"].depends_on == ("wq_cross", "dec.ln1.normalize")
    assert d["cross.h0.k"].depends_on == ("wk_cross", "enc.ln2.normalize")


def test_typed_weights_are_used_and_the_others_do_not_change():
    identity = ";".join(",".join("1" if r == c else "0" for c in range(6)) for r in range(6))
    base, typed = run(), run(wq_enc=identity)
    assert np.array_equal(typed["wq_enc"].value, np.eye(6))
    for name in ("embedding", "wk_enc", "wout"):
        assert np.array_equal(typed[name].value, base[name].value)
    assert np.allclose(typed["enc.h0.q"].value, np.asarray(typed["src_x"].value)[:, :3])
    compare(typed)


def test_drawn_weights_are_scaled_by_fan_in_and_rounded():
    d = run(4)
    for name, fan in (("wq_enc", 6), ("w1_dec", 6), ("w2_dec", 12), ("wout", 6)):
        W = np.asarray(d[name].value)
        assert np.allclose(W, W.round(2)) and np.abs(W).max() <= 1 / math.sqrt(fan) + 0.005


def test_d_model_64_and_16_positions_summarized_on_the_terminal_but_whole_in_json(run_json):
    steps, document = run_json("transformer", "--d-model", "64", "--seq-len", "16")
    assert [s["id"] for sec in document["sections"] for s in sec["steps"]] == STEP_IDS
    assert steps["src_x"].shape == (16, 64) and steps["enc.h0.softmax"].shape == (16, 16)
    assert steps["dec.h1.q"].shape == (16, 32) and steps["out.softmax"].shape == (16, 11)
    assert not np.isnan(steps["out.softmax"]).any()
    d = run(d_model="64", seq_len="16")
    compare(d)
    from rich.console import Console

    console = Console(width=80, record=True, file=io.StringIO())
    console.print(terminal.render(d))
    text = console.export_text()
    assert "(16×64)" in text and "⋯" in text and "json has every value" in text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d_model=st.integers(1, 8), data=st.data(), seq_len=st.integers(1, 4), vocab=st.integers(2, 12),
       d_ff=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_small_sizes_agree_with_the_reference_without_nan_or_warning(d_model, data, seq_len, vocab, d_ff, seed):
    heads = data.draw(st.sampled_from([h for h in range(1, d_model + 1) if d_model % h == 0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = run(seed, d_model=str(d_model), heads=str(heads), seq_len=str(seq_len), vocab=str(vocab), d_ff=str(d_ff))
    assert all(not np.isnan(np.asarray(s.value, float)).any() for s in d.steps())
    compare(d)


@settings(max_examples=20, deadline=None)
@given(source=st.lists(st.integers(0, 20), min_size=1, max_size=4), target=st.lists(st.integers(0, 20), min_size=1, max_size=4))
def test_token_ids_run_or_exit_2(source, target):
    typed = {"source": ",".join(map(str, source)), "target": ",".join(map(str, target))}
    if max(source + target) >= 11:
        with pytest.raises(InputError):
            run(**typed)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare(run(**typed))


@pytest.mark.parametrize("args, option", [
    (["--heads", "4"], "--heads"),
    (["--d-model", "7", "--heads", "2"], "--heads"),
    (["--source", "2,3,11"], "--source"),
    (["--target", "1,2", "--vocab", "2"], "--source"),
    (["--target", "12"], "--target"),
    (["--source", "2.5"], "--source"),
    (["--wq-enc", "1,2;3,4"], "--wq-enc"),
    (["--w1-dec", "0.1,0.2,0.3,0.4,0.5,0.6"], "--w1-dec"),
    (["--embedding", "1,2,3,4,5,6"], "--embedding"),
    (["--seq-len", "0"], "--seq-len"),
    (["--d-model", "129"], "--d-model"),
])
def test_bad_inputs_exit_2_with_one_line_naming_the_option(cli, args, option):
    result = cli("transformer", *args)
    assert result.exit_code == 2, result.output
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_more_heads_add_steps_with_the_same_formulas():
    # Heads are steps with an at-prefix (the printers show 1-D and 2-D arrays): --heads 3
    # adds enc.h2.* and so on, and head 0's formulas are those of the default run.
    small, three = run(), run(heads="3")
    assert "enc.h2.softmax" in [s.id for s in three.steps()]
    for id in ("enc.h0.q", "enc.h0.scores", "dec.h0.mask", "cross.h1.context", "enc.ln1.variance", "loss"):
        assert small[id].formula == three[id].formula, id


def test_json_lists_the_drawn_weights_as_derived(cli):
    result = cli("transformer", "--format", "json")
    inputs = {item["name"]: item for item in json.loads(result.stdout)["inputs"]}
    assert inputs["source"]["origin"] == "default" and inputs["wq_enc"]["origin"] == "derived"


def test_reading_notes_work_out_an_element_with_its_numbers():
    # Issue 14 (Reading): row 0 of θ and PE is trivial (all 0 / 0, 1), so a note works out
    # element (1, 2); the loss works out log P of position 0; "≈" where the shown operands
    # (4 significant digits) do not give the shown result.
    d = run()
    assert d["angle"].notes == ("θ_12 = 1 / 10000^(2·1/6) = 1 / 21.54 ≈ 0.04642 (column 2: i = ⌊2/2⌋ = 1)",)  # 1/21.54 = 0.04643
    assert d["pos_enc"].notes == ("PE_12 = sin θ_12 = sin(0.04642) = 0.0464",)
    P = np.asarray(d["out.softmax"].value)
    assert math.log(P[0, 6]) == pytest.approx(-2.754, abs=5e-4)
    assert d["loss"].notes[0] == "log P_0,6 = o_0,6 - m_0 - log Z_0 = -0.1754 - 0.8082 - log 5.875 = -2.754 (position 0 should predict 나는, id 6)"
    tiny = run(d_model="1", heads="1", seq_len="1")
    assert tiny["angle"].notes == ("θ_00 = 0 / 10000^(2·0/1) = 0 / 1 = 0 (column 0: i = ⌊0/2⌋ = 0)",)
    assert tiny["pos_enc"].notes == ("PE_00 = sin θ_00 = sin(0) = 0",)


def test_formulas_are_written_in_the_papers_order_and_name_their_inputs():
    d = run()
    for id, first in (("enc.add1", "X_e"), ("enc.add2", "N_e1"), ("dec.add1", "X_d"), ("dec.add2", "N_d1"), ("dec.add3", "N_d2")):
        assert str(d[id].formula.args[0].base) == first, id  # R = x + Sublayer(x)
    term, = [total.function for total in d["loss"].formula.atoms(sp.Sum)]  # -(1/T_t) Σ_t (o - m - log Z)
    assert [str(arg) for arg in term.args][1:] == ["-m_o[t]", "-log(Z_o[t])"]
    assert "Σ_j Nᵈ¹_tj W_Qᶜ_(h·d_k + k),j with h·d_k = 3" in d["cross.h1.q"].explanation
    from rich.console import Console

    console = Console(width=80, record=True, file=io.StringIO())
    console.print(terminal.render(d))
    text = console.export_text()
    assert "Token(" not in text and "E[srcₜ,j]" in text and "o[t,tgtₜ]" in text
    # the projections are x Wᵀ with tokens as rows: X first, as the explanation writes them
    assert "Xᵉₜⱼ⋅W_Qᵉₖⱼ" in text and "Xᵈₜⱼ⋅W_Vᵈ" in text and "Nᵈ¹ₜⱼ⋅W_Qᶜ" in text and "W_Qᵉₖⱼ⋅Xᵉ" not in text


def test_a_note_says_approximately_where_its_rounded_numbers_do_not_give_its_result():
    # seed 0: E_7,0 + PE_10 = 0.19 + 0.8415 = 1.0315, while the value 1.031471 is shown as 1.031.
    d = run(0, seq_len="3")
    assert d["src_x"].notes == ("Xᵉ_10 = E_7,0 + PE_10 = 0.19 + 0.8415 ≈ 1.031 (position 1 holds 너를, id 7)",)
    # seed 7: (3.382 + 2.164 + 1.811) / 3 = 2.4523 from the shown terms, the value is shown as 2.453.
    assert run(7, seq_len="3")["loss"].notes[1] == "L = -((-3.382) + (-2.164) + (-1.811)) / 3 ≈ 2.453"
    assert run()["loss"].notes[1] == "L = -((-2.754) + (-2.874) + (-2.15)) / 3 = 2.593"


def test_the_lessons_notes_are_remarks():
    # Issue 14 (Reading): the worked elements, the shifted decoder input, the masked weights,
    # the next words and the loss are readings of the numbers: no note of the lesson warns.
    from dlsteps.model import Caution

    for d in (run(), run(3, seq_len="1")):
        for id in ("dec_in", "angle", "pos_enc", "src_x", "tgt_x", "dec.h0.softmax", "out.softmax", "loss"):
            assert d[id].notes and not any(isinstance(note, Caution) for note in d[id].notes), id
