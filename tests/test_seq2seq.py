"""The seq2seq lesson: step ids, an independent NumPy seq2seq (encoder LSTM, decoder LSTM,
greedy and teacher-forced feeding) written here apart from the lesson and the lstm block,
central differences of its loss for the gradient at the context and every weight, a hand
calculation, Korean in every format, domains and bad inputs."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LARGER, central_difference
from dlsteps import engine
from dlsteps.errors import InputError
from dlsteps.model import Caution
from dlsteps.printers import json as json_printer
from dlsteps.printers import markdown
from dlsteps.printers.latex import render as latex
from test_latex import PDFLATEX, compile_latex

CELL = ["z", "a_f", "f", "a_i", "i", "a_c", "c_tilde", "C", "a_o", "o", "h"]
BACK = ["dh", "J_o", "do", "delta_o", "dW_o", "dC", "df", "delta_f", "dW_f", "di", "delta_i", "dW_i",
        "dC_tilde", "delta_c", "dW_c", "dz", "dh0", "dC0"]
IDS = ["src_onehot", "enc_x", *(f"enc.{s}" for s in CELL), "context_C", "context_h",
       "fed", "fed_onehot", "dec_x", *(f"dec.{s}" for s in CELL),
       "y", "logits", "shift", "softmax", "log_softmax", "loss", "pred", "greedy_in",
       "dL_dg", "dW_y", "dl_dh", *(f"dec.{s}" for s in BACK), *(f"enc.{s}" for s in BACK)]
GATES = "fico"

# ---- an independent seq2seq, written apart from the lesson and its blocks ----------------------


def sigmoid(v):
    return 1 / (1 + np.exp(-np.clip(v, -500, 500)))  # the textbook formula, not the block's


def cell(x, h, c, W):
    """One LSTM over the rows of x from (h, c), z = [h; x]; every h_t and the last (h, c)."""
    hs = []
    for xt in x:
        z = np.concatenate([h, xt])
        c = sigmoid(W["f"] @ z) * c + sigmoid(W["i"] @ z) * np.tanh(W["c"] @ z)
        h = sigmoid(W["o"] @ z) * np.tanh(c)
        hs.append(h)
    return np.array(hs), h, c


class Seq2seq:
    """Vocabularies, encoder, context, decoder (greedy or teacher-forced), softmax, CE."""

    def __init__(self, source, target, p, feed="predicted", start="<SOS>"):
        self.src_vocab = list(dict.fromkeys(source.split()))
        self.tgt_vocab = [start] + [w for w in dict.fromkeys(target.split()) if w != start]
        self.src = [self.src_vocab.index(w) for w in source.split()]
        self.tgt = [self.tgt_vocab.index(w) for w in target.split()]
        self.p, self.feed = p, feed
        self.enc_h, self.hT, self.CT = cell(p["E_e"][self.src], p["h0"], p["C0"], p["We"])
        self.fed = self.decode()
        self.probs = self.softmax(self.dec_h(self.fed, self.hT, self.CT))
        self.loss = self.loss_at(self.hT, self.CT, p)

    def dec_h(self, fed, h, c, p=None):
        p = p or self.p
        return cell(p["E_d"][fed], h, c, p["Wd"])[0]

    def softmax(self, h, p=None):
        g = h @ (p or self.p)["Wy"].T
        e = np.exp(g - g.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def decode(self):
        """The start token, then each next input: the target word before, or the argmax."""
        fed = [0]
        while len(fed) < len(self.tgt):
            if self.feed == "teacher":
                fed.append(self.tgt[len(fed) - 1])
            else:
                h = self.dec_h(fed, self.hT, self.CT)[-1]
                fed.append(int(np.argmax(self.p["Wy"] @ h)))
        return fed

    def loss_at(self, h, c, p):
        """-Σ_t log ŷ_t[tgt_t], decoder from (h, c), the fed words held fixed."""
        probs = self.softmax(self.dec_h(self.fed, h, c, p), p)
        return -np.log(probs[np.arange(len(self.tgt)), self.tgt]).sum()

    def whole(self, p):
        """The loss from the inputs with parameters p (fed words held fixed)."""
        _hs, h, c = cell(p["E_e"][self.src], p["h0"], p["C0"], p["We"])
        return self.loss_at(h, c, p)


def grid(text):
    return np.array([[float(v) for v in row.split(",")] for row in text.split(";")])


def fmt(a):
    return ";".join(",".join(f"{v:.3f}" for v in row) for row in np.atleast_2d(a))


def params(d):
    """The parameters a run used, read back from its inputs."""
    return {"E_e": d["src_emb"].value, "E_d": d["tgt_emb"].value, "Wy": d["wy"].value, "h0": d["h0"].value, "C0": d["c0"].value,
            "We": {g: d[f"enc_w{g}"].value for g in GATES}, "Wd": {g: d[f"dec_w{g}"].value for g in GATES}}


def typed_params(seed, H, D, Vs, K, scale=1.0):
    rng = np.random.default_rng(seed)
    p = {"E_e": rng.uniform(-1, 1, (Vs, D)).round(3), "E_d": rng.uniform(-1, 1, (K, D)).round(3),
         "Wy": rng.uniform(-2, 2, (K, H)).round(3), "h0": rng.uniform(-0.5, 0.5, H).round(3), "C0": rng.uniform(-0.5, 0.5, H).round(3),
         "We": {g: (scale * rng.uniform(-1, 1, (H, H + D))).round(3) for g in GATES},
         "Wd": {g: (scale * rng.uniform(-1, 1, (H, H + D))).round(3) for g in GATES}}
    text = {"src_emb": fmt(p["E_e"]), "tgt_emb": fmt(p["E_d"]), "wy": fmt(p["Wy"]), "h0": fmt(p["h0"]), "c0": fmt(p["C0"]),
            **{f"enc_w{g}": fmt(p["We"][g]) for g in GATES}, **{f"dec_w{g}": fmt(p["Wd"][g]) for g in GATES}}
    return p, text


def run(seed=None, **typed):
    return engine.run("seq2seq", {k: (v, "test") for k, v in typed.items()}, seed)


# ---- tests --------------------------------------------------------------------------------------


def test_step_ids_are_fixed_and_the_same_for_both_feeds():
    assert [s.id for s in run().steps()] == IDS
    assert [s.id for s in run(feed="teacher").steps()] == IDS


def test_defaults_are_the_lecture_pair_at_the_lstm_lessons_sizes():
    d = run()
    assert d["source"].text == "thank you <EOS>" and d["target"].text == "고마워요 <EOS>"
    assert d["enc.h"].value.shape == (3, 2) and d["enc_x"].value.shape == (3, 3) and d["dec.h"].value.shape == (2, 2)
    assert d["softmax"].value.shape == (2, 3)  # <SOS>, 고마워요, <EOS>
    assert np.allclose(d["enc_wf"].value, grid("0.1,0.2,0.3,0.4,0.5;0.4,0.1,-0.2,0.3,0.5"))  # the lstm lesson's W_f
    assert not d["h0"].value.any() and not d["c0"].value.any()
    assert "thank = 0, you = 1, <EOS> = 2" in d.sections[0].explanation
    assert "<SOS> = 0, 고마워요 = 1, <EOS> = 2" in d.sections[0].explanation
    assert "fixed defaults" in d.sections[0].explanation and "no biases" in d.sections[0].explanation
    # greedy decoding of the defaults says the lecture's sentence
    assert d["pred"].value.tolist() == [1, 2] and "greedy output: 고마워요 <EOS>" in d["pred"].notes


@pytest.mark.parametrize("feed", ["predicted", "teacher"])
@pytest.mark.parametrize("source,target", [("thank you <EOS>", "고마워요 <EOS>"),
                                           ("I love pizza <EOS>", "나는 피자 를 정말 좋아해 <EOS>"),
                                           ("a b a c a", "x y x")])
def test_against_the_reference_seq2seq(feed, source, target):
    p, text = typed_params(len(source) + len(target), 3, 2, len(set(source.split())),
                           1 + len(set(target.split())))
    d = run(source=source, target=target, feed=feed, **text)
    ref = Seq2seq(source, target, p, feed)
    assert d["fed"].value.tolist() == ref.fed
    assert d["source"].value.tolist() == ref.src and d["target"].value.tolist() == ref.tgt
    assert np.allclose(d["enc.h"].value, ref.enc_h, rtol=1e-12, atol=1e-14)
    assert np.allclose(d["context_h"].value, ref.hT, atol=1e-14) and np.allclose(d["context_C"].value, ref.CT, atol=1e-14)
    assert np.allclose(d["softmax"].value, ref.probs, rtol=1e-12, atol=1e-14)
    assert d["pred"].value.tolist() == np.argmax(ref.probs, axis=1).tolist()
    assert d["loss"].value == pytest.approx(ref.loss, rel=1e-12)
    if feed == "predicted":  # the loop is closed: each fed word is the choice at the step before
        assert d["fed"].value[1:].tolist() == d["pred"].value[:-1].tolist() == d["greedy_in"].value[1:].tolist()
    else:
        assert d["fed"].value.tolist() == [0] + ref.tgt[:-1]


@pytest.mark.parametrize("feed", ["predicted", "teacher"])
def test_gradient_at_the_context_and_of_every_weight_against_central_differences(feed):
    source, target = "I love pizza <EOS>", "나는 피자 를 좋아해 <EOS>"
    p, text = typed_params(7, 2, 3, 4, 6)
    d = run(source=source, target=target, feed=feed, **text)
    ref = Seq2seq(source, target, p, feed)
    # the gradient arriving back at the context (C_T, h_T)
    assert np.allclose(d["dec.dh0"].value, central_difference(lambda v: ref.loss_at(v, ref.CT, p), ref.hT), atol=1e-8)
    assert np.allclose(d["dec.dC0"].value, central_difference(lambda v: ref.loss_at(ref.hT, v, p), ref.CT), atol=1e-8)
    for side, key in (("dec", "Wd"), ("enc", "We")):
        for g in GATES:
            numeric = central_difference(lambda v, g=g: ref.whole({**p, key: {**p[key], g: v}}), p[key][g])
            assert np.allclose(d[f"{side}.dW_{g}"].value, numeric, atol=1e-8), (side, g)
    assert np.allclose(d["dW_y"].value, central_difference(lambda v: ref.whole({**p, "Wy": v}), p["Wy"]), atol=1e-8)
    assert np.allclose(d["enc.dh0"].value, central_difference(lambda v: ref.whole({**p, "h0": v}), p["h0"]), atol=1e-8)
    assert np.allclose(d["enc.dC0"].value, central_difference(lambda v: ref.whole({**p, "C0": v}), p["C0"]), atol=1e-8)
    # the engine checked these against finite differences of the whole loss too
    assert all("finite differences" in d[i].check for i in ("dec.dh0", "dec.dC0", "dec.dW_f", "enc.dW_c", "dW_y"))


def test_one_step_by_hand():
    # H = d = 1, source "a", target "b": vocabularies [a] and [<SOS>, b]; no loss on the encoder.
    # Encoder: z = [h_{-1}; x] = [0; 1], every W zero but W_c = (0, 1):
    #   f = i = o = σ(0) = 0.5, C̃ = tanh(1) = 0.761594, C_T = 0.5·0 + 0.5·0.761594 = 0.380797,
    #   h_T = 0.5·tanh(0.380797) = 0.5·0.363399 = 0.181700.
    # Decoder, E^d = 0 so z = [h_T; 0]; W_f = (1, 0), the others zero:
    #   f = σ(0.181700) = 0.545300, i = o = 0.5, C̃ = 0,
    #   C^d_0 = 0.545300·0.380797 = 0.207649, h^d_0 = 0.5·tanh(0.207649) = 0.5·0.204715 = 0.102357.
    # W_y = (0; 1): g = (0, 0.102357), ŷ_b = 1/(1 + e^-0.102357) = 0.525567, L = -log 0.525567 = 0.643278.
    # Back: ∂L/∂g = ŷ - y = (0.474433, -0.474433); ∂L/∂h^d_0 = W_yᵀ ∂L/∂g = -0.474433;
    #   ∂L/∂C^d_0 = -0.474433·0.5·(1 - 0.204715²) = -0.474433·0.5·0.958092 = -0.227275;
    #   ∂L/∂C_T = ∂L/∂C^d_0 · f = -0.227275·0.545300 = -0.123933;
    #   ∂L/∂f = ∂L/∂C^d_0 · C_T = -0.086546, δ_f = -0.086546·f(1 - f) = -0.086546·0.247948 = -0.021459;
    #   ∂L/∂h_T = Σ_g W_g[0, 0] δ_g = 1·δ_f = -0.021459 (only W_f has a non-zero h column).
    d = run(source="a", target="b", hidden="1", embed="1", src_emb="1", tgt_emb="0;0", wy="0;1",
            enc_wf="0,0", enc_wi="0,0", enc_wc="0,1", enc_wo="0,0", dec_wf="1,0", dec_wi="0,0", dec_wc="0,0", dec_wo="0,0")
    expect = {"context_C": [0.380797], "context_h": [0.181700], "dec.f": [[0.545300]], "dec.C": [[0.207649]],
              "dec.h": [[0.102357]], "softmax": [[0.474433, 0.525567]], "dL_dg": [[0.474433, -0.474433]],
              "dec.dh": [[-0.474433]], "dec.dC": [[-0.227275]], "dec.dC0": [-0.123933], "dec.delta_f": [[-0.021459]],
              "dec.dh0": [-0.021459]}
    for step, values in expect.items():
        assert np.allclose(d[step].value, values, atol=2e-6), step
    assert d["loss"].value == pytest.approx(0.643278, abs=2e-6)


def test_teacher_forcing_feeds_the_target_where_greedy_would_not():
    p, text = typed_params(3, 2, 3, 3, 4)
    pred = run(source="thank you <EOS>", target="고마워요 정말 <EOS>", **text)
    teach = run(source="thank you <EOS>", target="고마워요 정말 <EOS>", feed="teacher", **text)
    assert teach["fed"].value.tolist() == [0, 1, 2]  # <SOS> 고마워요 정말
    ref = Seq2seq("thank you <EOS>", "고마워요 정말 <EOS>", p)
    assert pred["fed"].value.tolist() == ref.fed
    held = [n for n in pred["fed"].notes if "held fixed" in n]
    assert held and not any("held fixed" in n for n in teach["fed"].notes)
    differ = teach["greedy_in"].value != teach["fed"].value
    assert any("teacher forcing fed the target word instead" in n for n in teach["greedy_in"].notes) == bool(differ.any())
    assert teach["fed"].formula is not None and pred["fed"].formula is None  # argmax feedback: checked by greedy_in


def test_korean_words_in_json_markdown_latex_and_terminal(cli):
    d = run()
    document = json.loads(json_printer.render(d))
    assert any(item["text"] == "고마워요 <EOS>" for item in document["inputs"])
    notes = [n for sec in document["sections"] for s in sec["steps"] for n in s["notes"]]
    assert "greedy output: 고마워요 <EOS>" in notes
    assert "greedy output: 고마워요 \\<EOS\\>" in markdown.render(d)  # Markdown escapes < and >
    shown = cli("seq2seq", "--no-pager")
    assert shown.exit_code == 0 and "chooses 고마워요" in shown.stdout
    source = latex(d)  # test_latex compiles the defaults; the next test a Korean source
    assert "고마워요" in source and "kotex" in source


def test_rows_and_columns_are_labelled_by_the_words_themselves(cli):
    # Issue 14: the grid lines up Hangul labels, so rows read "t=1 고마워요", not "t=1 #1".
    d = run()
    assert d["fed_onehot"].labels[0] == ("t=0 <SOS>", "t=1 고마워요")
    assert d["y"].labels[0] == ("t=0 고마워요", "t=1 <EOS>")
    assert d["logits"].labels[1] == ("<SOS>", "고마워요", "<EOS>") and d["dL_dg"].labels[1] == ("<SOS>", "고마워요", "<EOS>")
    text = cli("seq2seq", "--no-pager", env={"COLUMNS": "80"}).stdout
    assert "t=1 고마워요  0   1   0" in text and "t=1 #1" not in text


def test_the_prose_names_the_sizes_and_says_what_each_cell_receives():
    d = run()
    assert ("Sizes: V_s = 3 source and K = 3 target vocabulary words (the start token included), d = 3 numbers per "
            "embedding, H = 2 hidden units, T = 3 source and T′ = 2 target steps.") in d.sections[0].explanation
    assert "Kronecker delta" in d["src_onehot"].explanation and "Kronecker delta" in d["y"].explanation
    assert "no output of its own" in d["enc.dh"].explanation and "∂L/∂h_T from the decoder" in d["enc.dh"].explanation
    assert "t = T′-1 nothing follows" in d["dec.dh"].explanation
    assert d["enc.dh0"].title.endswith("h_{-1}") and d["enc.dC0"].title.endswith("C_{-1}")
    # no step id in the prose a student reads
    assert not any("greedy_in" in text for step in d.steps() for text in (step.title, step.explanation))


def test_latex_compiles_with_korean_and_the_teacher_feed(tmp_path):
    if not PDFLATEX:
        pytest.skip("pdflatex is not installed")
    d = run(source="나는 너를 사랑해 <EOS>", target="I love you <EOS>", feed="teacher")
    log = compile_latex(latex(d), tmp_path)
    assert "Overfull \\hbox" not in log


def test_sizes_follow_typed_matrices_and_seed_draws_the_rest():
    d = run(src_emb="1,2,3,4;0,1,0,1;1,1,1,1")
    assert d["enc_x"].value.shape == (3, 4) and d["tgt_emb"].value.shape == (3, 4)
    assert d["enc_wf"].value.shape == (2, 6)  # H = 2, H + d = 6: drawn, not the fixed 2 x 5
    seeded = run(seed=5)
    assert not np.array_equal(seeded["enc_wf"].value, run()["enc_wf"].value)
    assert seeded["enc_wf"].origin == "seed" and run()["enc_wf"].origin == "default"
    assert "drawn" in seeded.sections[0].explanation
    assert np.array_equal(run(seed=5)["dec_wc"].value, seeded["dec_wc"].value)  # reproducible
    assert run(hidden="3")["dec.h"].value.shape == (2, 3)


def test_the_larger_case_keeps_the_formulas_of_the_default():
    large, small = engine.run("seq2seq", LARGER["seq2seq"]), run()
    assert [str(s.formula) for s in large.steps()] == [str(s.formula) for s in small.steps()]
    assert large["enc.h"].value.shape[0] > 3 and large["dec.h"].value.shape[0] > 2


def test_early_end_of_sentence_is_said():
    # W_y's <EOS> row dominates: greedy says <EOS> at once, though the target has three words.
    d = run(target="고마워요 정말 <EOS>", wy="0,0;0,0;0,0;50,50", dec_wo="5,5,5,5,5;5,5,5,5,5")
    notes = " ".join(d["pred"].notes)
    assert d["pred"].value[0] == 3 and "at inference it would stop there" in notes


def test_a_tied_choice_is_a_caution_and_the_words_chosen_are_remarks():
    # W_y = 0: every logit is 0, so argmax falls back on its tie-break (the lowest id) at every
    # step: a warning (⚠). What greedy chose, and that it stops early, are remarks (•).
    tied = run(wy="0,0;0,0;0,0")["pred"].notes
    cautions = [n for n in tied if isinstance(n, Caution)]
    assert len(cautions) == 1 and "share the largest logit" in cautions[0] and "t = 0, 1" in cautions[0]
    d = run()
    own = [n for id in ("fed", "loss", "pred", "greedy_in") for n in d[id].notes]  # the lesson's own notes
    assert d["pred"].notes and own and not any(isinstance(n, Caution) for n in own)
    early = run(target="고마워요 정말 <EOS>", wy="0,0;0,0;0,0;50,50", dec_wo="5,5,5,5,5;5,5,5,5,5")["pred"].notes
    said = [n for n in early if "at inference it would stop there" in n]
    assert len(said) == 1 and not isinstance(said[0], Caution)


def test_the_embedding_lookup_reads_one_hot_times_the_table(cli):
    # x_{t,j} = Σ_k X_{t,k} E_{k,j}, as its explanation: the one-hot entry first.
    text = cli("seq2seq", "--no-pager", env={"COLUMNS": "120"}).stdout
    assert "Xᵉₜₖ⋅Eᵉₖⱼ" in text and "⇒ xᵉ₀₀ = 1⋅0.5 + 0⋅(-0.4) + 0⋅0.2 = 0.5" in text
    assert "Xᵈₜₖ⋅Eᵈₖⱼ" in text and "⇒ xᵈ₀₀ = 1⋅0.1 + 0⋅0.9 + 0⋅(-0.7) = 0.1" in text


@pytest.mark.parametrize("args,option", [
    (["--src-emb", "0.1,0.2,0.3;0.4,0.5,0.6"], "--src-emb"),
    (["--tgt-emb", "0.1,0.2,0.3"], "--tgt-emb"),
    (["--wy", "0.1,0.2;0.3,0.4"], "--wy"),
    (["--enc-wf", "0.1,0.2;0.3,0.4"], "--enc-wf"),
    (["--enc-wf", "0.1,0.2,0.3,0.4,0.5;0.1,0.2,0.3,0.4,0.5", "--dec-wo", "0.1,0.2,0.3;0.4,0.5,0.6"], "--dec-wo"),
    (["--hidden", "3", "--enc-wi", "0.1,0.2,0.3,0.4,0.5;0.1,0.2,0.3,0.4,0.5"], "--enc-wi"),
    (["--h0", "0.1,0.2,0.3", "--hidden", "2"], "--h0"),
    (["--h0", "0.1,0.2", "--c0", "0.1"], "--c0"),
    (["--start", "<S> <T>"], "--start"),
    (["--feed", "beam"], "--feed"),
    (["--source", "   "], "--source"),
    (["--target", " ".join(["w"] * 65)], "--target"),
    (["--hidden", "0"], "--hidden"),
    (["--h0", ",".join(["0.1"] * 20)], "--h0"),
    (["--src-emb", ",".join(["0.1"] * 20)], "--src-emb"),
    (["--enc-wf", "0.1,0.2;0.3,0.4", "--hidden", "2"], "--enc-wf"),
])
def test_bad_inputs_exit_2_with_one_line_naming_the_option(cli, args, option):
    result = cli("seq2seq", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], result.stderr


WORDS = st.sampled_from(["thank", "you", "<EOS>", "고마워요", "피자", "a", "b", "사랑"])
SENTENCE = st.lists(WORDS, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=20, deadline=None)
@given(SENTENCE, SENTENCE, st.sampled_from(["predicted", "teacher"]), st.integers(1, 3), st.integers(1, 3),
       st.none() | st.integers(0, 5), st.booleans())
def test_domains_never_crash_or_warn(source, target, feed, hidden, embed, seed, big):
    typed = {"source": source, "target": target, "feed": feed, "hidden": str(hidden), "embed": str(embed)}
    if big:  # large weights: saturated gates, near-certain softmax
        typed["wy"] = ";".join(",".join(["30"] * hidden) for _k in range(1 + len(set(target.split()) - {"<SOS>"})))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("seq2seq", {k: (v, "test") for k, v in typed.items()}, seed)
        except InputError as error:
            pytest.fail(f"valid input refused: {error}")
    assert all(np.isfinite(np.asarray(s.value, float)).all() for s in d.steps())
    assert d["fed"].value[0] == 0 and len(d["pred"].value) == len(target.split())
