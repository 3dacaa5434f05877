"""word2vec lesson: step ids, a CBOW hand calculation, an independent NumPy word2vec (both
modes and the training loop), the test's own central differences of the example's loss,
Korean tokens in every output format, notes computed from the numbers, Hypothesis over
small corpora and bad inputs."""

import json
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import central_difference
from dlsteps import engine
from dlsteps.errors import InputError
from test_latex import compile_latex

EXAMPLE = ["target_id", "average", "target", "hidden.linear", "output.linear", "shift", "exp", "sum", "softmax",
           "log_softmax", "loss", "gradient", "output.dL_dW", "output.dL_dx", "hidden.dL_dW", "hidden.update_W",
           "output.update_W", "after.hidden.linear", "after.output.linear", "loss_after", "loss_change"]
TRAINING = ["losses", "trained", "embeddings_after", "norms_after", "cosine_after"]
CBOW = ["cbow.context_ids"] + [f"cbow.{s}" for s in EXAMPLE]
SKIPGRAM = ["skipgram.center_id", "skipgram.target_id", "skipgram.one_hot"] + [f"skipgram.{s}" for s in EXAMPLE[2:]]
BEFORE = ["one_hot", "embeddings_before", "norms_before", "cosine_before"]
IDS = {"both": BEFORE + CBOW + SKIPGRAM + [f"cbow.{s}" for s in TRAINING] + [f"skipgram.{s}" for s in TRAINING],
       "cbow": BEFORE + CBOW + [f"cbow.{s}" for s in TRAINING],
       "skipgram": BEFORE + SKIPGRAM + [f"skipgram.{s}" for s in TRAINING]}

# The lesson's defaults, copied here: Wⁱⁿ (N, V) and Wᵒᵘᵗ (V, N) for [I, love, like, 피자].
W_IN = np.array([[0.1, -0.4, 0.0, 0.4], [0.2, -0.3, 0.1, -0.4]])
W_OUT = np.array([[0.1, 0.2], [0.2, 0.3], [0.3, 0.4], [0.4, -0.4]])


def run(**inputs):
    typed = {key: (str(value), "test") for key, value in inputs.items()}
    return engine.run("word2vec", typed)


def values(d):
    return {step.id: np.asarray(step.value, dtype=float) for step in d.steps()}


# ---- an independent word2vec, written apart from the lesson ---------------------------------

def ref_vocab(sentences, vocab=None):
    rows = [s.split() for s in sentences.replace(";", "|").split("|") if s.split()]
    if vocab is None:
        vocab = []
        for row in rows:
            for word in row:
                if word not in vocab:
                    vocab.append(word)
    return rows, vocab


def ref_examples(rows, vocab, window, mode):
    """(list of input ids, target id), looping over sentences, centers and offsets."""
    out = []
    for row in rows:
        ids = [vocab.index(w) for w in row]
        for c in range(len(ids)):
            ctx = [ids[c + off] for off in range(-window, window + 1) if off != 0 and 0 <= c + off < len(ids)]
            if mode == "cbow" and ctx:
                out.append((ctx, ids[c]))
            if mode == "skipgram":
                out += [([ids[c]], w) for w in ctx]
    return out


def ref_step(W_in, W_out, inputs, target):
    """Forward and backward by explicit loops: every value of one example."""
    N, V = W_in.shape
    x = [0.0] * V
    for q in inputs:
        x[q] += 1.0 / len(inputs)
    h = [sum(W_in[a][b] * x[b] for b in range(V)) for a in range(N)]
    o = [sum(W_out[a][b] * h[b] for b in range(N)) for a in range(V)]
    top = max(o)
    u = [math.exp(v - top) for v in o]
    y = [v / sum(u) for v in u]
    L = top + math.log(sum(u)) - o[target]
    g = [y[a] - (a == target) for a in range(V)]
    gWo = np.array([[g[a] * h[b] for b in range(N)] for a in range(V)])
    gh = [sum(W_out[a][b] * g[a] for a in range(V)) for b in range(N)]
    gWi = np.array([[gh[a] * x[b] for b in range(V)] for a in range(N)])
    return dict(x=np.array(x), h=np.array(h), o=np.array(o), y=np.array(y), L=L, g=np.array(g), gWo=gWo, gh=np.array(gh), gWi=gWi)


def ref_loss(W_in, W_out, inputs, target):
    return ref_step(W_in, W_out, inputs, target)["L"]


def ref_train(W_in, W_out, examples, lr, epochs):
    W_in, W_out = W_in.copy(), W_out.copy()
    mean = lambda: sum(ref_loss(W_in, W_out, a, b) for a, b in examples) / len(examples)
    losses = [mean()]
    for _ in range(epochs):
        for a, b in examples:
            r = ref_step(W_in, W_out, a, b)
            W_in, W_out = W_in - lr * r["gWi"], W_out - lr * r["gWo"]
        losses.append(mean())
    return np.array(losses), W_in


def ref_cosine(E):
    V = len(E)
    out = np.zeros((V, V))
    for a in range(V):
        for b in range(V):
            na, nb = math.sqrt(sum(v * v for v in E[a])), math.sqrt(sum(v * v for v in E[b]))
            out[a, b] = float(np.dot(E[a], E[b])) / (na * nb) if na and nb else 0.0
    return out


def check_against_reference(d, sentences, vocab, window, lr, epochs, W_in, W_out, modes):
    rows, vocab = ref_vocab(sentences, vocab)
    v = values(d)
    assert np.array_equal(v["one_hot"], np.eye(len(vocab)))
    assert np.allclose(v["embeddings_before"], W_in.T)
    assert np.allclose(v["cosine_before"], ref_cosine(W_in.T), atol=1e-12)
    for mode in modes:
        examples = ref_examples(rows, vocab, window, mode)
        if mode == "cbow":
            inputs, target = max(examples, key=lambda e: len(e[0]))  # the first center with the most context words
            assert v["cbow.context_ids"].tolist() == inputs
        else:
            best = max(ref_examples(rows, vocab, window, "cbow"), key=lambda e: len(e[0]))
            inputs, target = [best[1]], best[0][0]
            assert v["skipgram.center_id"] == inputs[0]
        p = mode + "."
        r = ref_step(W_in, W_out, inputs, target)
        assert v[p + "target_id"] == target
        assert np.allclose(v[p + ("average" if mode == "cbow" else "one_hot")], r["x"], rtol=1e-12)
        assert np.allclose(v[p + "hidden.linear"], r["h"], rtol=1e-12, atol=1e-15)
        assert np.allclose(v[p + "output.linear"], r["o"], rtol=1e-12, atol=1e-15)
        assert np.allclose(v[p + "softmax"], r["y"], rtol=1e-12)
        assert v[p + "loss"] == pytest.approx(r["L"], rel=1e-12)
        assert np.allclose(v[p + "gradient"], r["g"], rtol=1e-12, atol=1e-15)
        assert np.allclose(v[p + "output.dL_dW"], r["gWo"], rtol=1e-12, atol=1e-15)
        assert np.allclose(v[p + "output.dL_dx"], r["gh"], rtol=1e-12, atol=1e-15)
        assert np.allclose(v[p + "hidden.dL_dW"], r["gWi"], rtol=1e-12, atol=1e-15)
        new_in, new_out = W_in - lr * r["gWi"], W_out - lr * r["gWo"]
        assert np.allclose(v[p + "hidden.update_W"], new_in) and np.allclose(v[p + "output.update_W"], new_out)
        assert v[p + "loss_after"] == pytest.approx(ref_loss(new_in, new_out, inputs, target), rel=1e-10)
        assert v[p + "loss_change"] == pytest.approx(ref_loss(new_in, new_out, inputs, target) - r["L"], rel=1e-8, abs=1e-12)
        losses, trained = ref_train(W_in, W_out, examples, lr, epochs)
        assert np.allclose(v[p + "losses"], losses, rtol=1e-9)
        assert np.allclose(v[p + "trained"], trained, rtol=1e-9, atol=1e-12)
        assert np.allclose(v[p + "embeddings_after"], trained.T, rtol=1e-9, atol=1e-12)
        assert np.allclose(v[p + "cosine_after"], ref_cosine(trained.T), rtol=1e-9, atol=1e-9)


# ---- tests ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["both", "cbow", "skipgram"])
def test_step_ids_are_fixed(mode):
    d = run(mode=mode)
    assert [step.id for step in d.steps()] == IDS[mode]


def test_cbow_hand_calculation_of_the_default():
    # Hand calculation (DL101 #15's example, vocabulary [I, love, like, 피자], window 1):
    # CBOW predicts "love" from I and 피자 in "I love 피자".
    #   x̄ = (one_hot(I) + one_hot(피자)) / 2 = (0.5, 0, 0, 0.5)
    #   h = Wⁱⁿ x̄ = (column I + column 피자) / 2 = ((0.1, 0.2) + (0.4, -0.4)) / 2 = (0.25, -0.1)
    #   o = Wᵒᵘᵗ h = (0.1·0.25 + 0.2·(-0.1), 0.2·0.25 + 0.3·(-0.1), 0.3·0.25 + 0.4·(-0.1), 0.4·0.25 - 0.4·(-0.1))
    #     = (0.005, 0.02, 0.035, 0.14)
    #   softmax: exp(o - 0.14) = (e^-0.135, e^-0.12, e^-0.105, 1) = (0.873716, 0.886920, 0.900325, 1), sum 3.660961
    #     y = (0.238658, 0.242264, 0.245926, 0.273152)
    #   CE with target love: L = -ln 0.242264 = 1.417726
    #   ∂L/∂o = y - t = (0.238658, -0.757736, 0.245926, 0.273152)
    #   ∂L/∂Wᵒᵘᵗ = (y - t) hᵀ, e.g. row love: (-0.757736·0.25, -0.757736·(-0.1)) = (-0.189434, 0.075774)
    #   ∂L/∂h = Wᵒᵘᵗᵀ (y - t) = (0.055357, -0.190480); ∂L/∂Wⁱⁿ = ∂L/∂h x̄ᵀ: half of it in columns I and 피자
    d = engine.run("word2vec")
    v = values(d)
    assert np.allclose(v["cbow.average"], [0.5, 0, 0, 0.5])
    assert np.allclose(v["cbow.hidden.linear"], [0.25, -0.1])
    assert np.allclose(v["cbow.output.linear"], [0.005, 0.02, 0.035, 0.14])
    assert v["cbow.sum"] == pytest.approx(math.exp(-0.135) + math.exp(-0.12) + math.exp(-0.105) + 1, rel=1e-12)
    assert np.allclose(v["cbow.softmax"], [0.238658, 0.242264, 0.245926, 0.273152], atol=1e-6)
    assert v["cbow.loss"] == pytest.approx(1.417726, abs=1e-6)
    assert np.allclose(v["cbow.gradient"], [0.238658, -0.757736, 0.245926, 0.273152], atol=1e-6)
    assert np.allclose(v["cbow.output.dL_dW"][1], [-0.189434, 0.075774], atol=1e-6)
    assert np.allclose(v["cbow.output.dL_dx"], [0.055357, -0.190480], atol=1e-6)
    assert np.allclose(v["cbow.hidden.dL_dW"], [[0.027679, 0, 0, 0.027679], [-0.095240, 0, 0, -0.095240]], atol=1e-6)


def test_default_against_the_independent_reference():
    d = engine.run("word2vec")
    check_against_reference(d, "I love 피자|I like 피자", ["I", "love", "like", "피자"], 1, 0.5, 20, W_IN, W_OUT, ["cbow", "skipgram"])


@pytest.mark.parametrize("seed", [0, 5])
def test_seeded_and_larger_inputs_against_the_reference(seed):
    sentences = "the cat sat on the mat|the dog sat on the log;a cat and a dog"
    d = engine.run("word2vec", {"sentences": (sentences, "test"), "window": ("2", "test"), "dim": ("3", "test"),
                                "lr": ("0.3", "test"), "epochs": ("7", "test")}, seed)
    W_in, W_out = d["w_in"].value, d["w_out"].value
    assert W_in.shape == (3, 9) and W_out.shape == (9, 3) and d["w_in"].origin == "seed"
    check_against_reference(d, sentences, None, 2, 0.3, 7, W_in, W_out, ["cbow", "skipgram"])


def test_typed_weights_and_vocabulary_against_the_reference():
    W_in = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
    W_out = np.array([[0.2, -0.1], [0.7, 0.3], [-0.4, 0.5]])
    text = lambda m: ";".join(",".join(map(str, row)) for row in m)
    d = run(sentences="b a c a|c b", vocab="c b a", w_in=text(W_in), w_out=text(W_out), lr="0.7", epochs="5", mode="skipgram")
    check_against_reference(d, "b a c a|c b", ["c", "b", "a"], 1, 0.7, 5, W_in, W_out, ["skipgram"])


def test_gradients_against_central_differences_of_the_example_loss():
    d = engine.run("word2vec")
    v = values(d)
    for mode, inputs, target in (("cbow", [0, 3], 1), ("skipgram", [1], 0)):
        p = mode + "."
        loss = lambda W_in=W_IN, W_out=W_OUT: ref_loss(W_in, W_out, inputs, target)
        assert np.allclose(v[p + "output.dL_dW"], central_difference(lambda W: loss(W_out=W), W_OUT), atol=1e-8)
        assert np.allclose(v[p + "hidden.dL_dW"], central_difference(lambda W: loss(W_in=W), W_IN), atol=1e-8)
        h = v[p + "hidden.linear"]
        by_h = central_difference(lambda z: -np.log(np.exp(W_OUT @ z)[target] / np.exp(W_OUT @ z).sum()), h)
        assert np.allclose(v[p + "output.dL_dx"], by_h, atol=1e-8)
        o = v[p + "output.linear"]
        assert np.allclose(v[p + "gradient"], central_difference(lambda z: -np.log(np.exp(z)[target] / np.exp(z).sum()), o), atol=1e-8)


def test_love_and_like_move_closer_and_the_notes_say_so():
    d = engine.run("word2vec")
    before = d["cosine_before"].value[1, 2]
    for mode in ("cbow", "skipgram"):
        after = d[f"{mode}.cosine_after"].value[1, 2]
        assert after > before + 1
        assert f"{after:.4f} after training, up from {before:.4f}" in d[f"{mode}.cosine_after"].notes[0]
        losses = d[f"{mode}.losses"].value
        assert losses[-1] < losses[0] and "fell" in d[f"{mode}.losses"].notes[-1]
        assert d[f"{mode}.loss_change"].value < 0 and "fell" in d[f"{mode}.loss_change"].notes[0]


def test_overshoot_and_no_training_are_computed_notes():
    d = run(lr="40", epochs="0", w_in="1,-2,0.5,2;0.5,1,-1,0", w_out="1,2;-2,1;0.5,0.5;-1,-1")
    change = d["cbow.loss_change"]
    assert change.value > 0 and "rose" in change.notes[0]
    assert len(d["cbow.losses"].value) == 1 and "--epochs 0" in d["cbow.losses"].notes[-1]
    assert "the same as before training" in d["cbow.cosine_after"].notes[0]


def test_korean_tokens_in_every_format(cli, tmp_path):
    args = ["word2vec", "--sentences", "나는 피자 좋아|나는 치킨 좋아", "--pair", "피자 치킨", "--epochs", "5"]
    document = json.loads(cli(*args, "--format", "json").stdout)
    assert document["inputs"][0]["text"] == "나는 피자 좋아|나는 치킨 좋아"
    charts = [s["chart"] for sec in document["sections"] for s in sec["steps"] if s["id"] == "embeddings_before"]
    assert charts[0]["series"] == ["나는", "피자", "좋아", "치킨"]
    notes = [n for sec in document["sections"] for s in sec["steps"] for n in s["notes"]]
    assert "cos(피자, 치킨) = " in " ".join(notes)
    markdown = cli(*args, "--format", "markdown").stdout
    assert "| 피자 |" in markdown and "'피자'" in markdown
    terminal = cli(*args, "--no-pager").stdout
    assert "피자" in terminal and "치킨" in terminal
    latex = cli(*args, "--format", "latex").stdout
    assert "\\usepackage{kotex}" in latex and "피자" in latex
    compile_latex(latex, tmp_path)


@pytest.mark.parametrize("args, option", [
    (["--w-in", "1,2;3,4"], "--w-in"),
    (["--w-in", "1,2;3,4;5,6;7,8"], "--w-in"),
    (["--w-out", "1,2,3,4;5,6,7,8"], "--w-out"),
    (["--w-in", "1,2,3,4;5,6,7,8", "--dim", "3"], "--w-in"),
    (["--vocab", "I love 피자"], "--vocab"),
    (["--vocab", "I love like 피자 love"], "--vocab"),
    (["--pair", "love"], "--pair"),
    (["--pair", "love pasta"], "--pair"),
    (["--sentences", "hello|world"], "--sentences"),
    (["--sentences", "a a a"], "--sentences"),
    (["--window", "0"], "--window"),
    (["--lr", "1000"], "--lr"),
])
def test_bad_inputs_exit_2_with_one_line_naming_the_option(cli, args, option):
    result = cli("word2vec", *args)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0 and option in message


def test_the_followed_pair_without_love_and_like():
    # contexts at window 1: a -> {b}, b -> {a, c}, c -> {b, d}, d -> {c}: a and c share b, the first pair sharing one
    d = run(sentences="a b c d")
    assert d["cosine_before"].notes[0].startswith("cos(a, c) = ")
    assert run(sentences="a b c d", pair="d b")["cosine_before"].notes[0].startswith("cos(d, b) = ")


def test_transposed_weights_are_explained(cli):
    result = cli("word2vec", "--w-in", "1,2;3,4;5,6;7,8")
    assert "transpose" in result.stderr and "(N, V) = (2, 4)" in result.stderr


WORDS = st.sampled_from(["I", "love", "like", "피자", "치킨", "a", "b"])
SENTENCE = st.lists(WORDS, min_size=1, max_size=5).map(" ".join)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentences=st.lists(SENTENCE, min_size=1, max_size=3).map("|".join), window=st.integers(1, 3), dim=st.integers(1, 3),
       mode=st.sampled_from(["both", "cbow", "skipgram"]), lr=st.sampled_from(["0.05", "0.5", "3", "1/3"]),
       epochs=st.integers(0, 6), seed=st.one_of(st.none(), st.integers(0, 50)))
def test_small_corpora_never_fail(sentences, window, dim, mode, lr, epochs, seed):
    typed = {"sentences": sentences, "window": window, "dim": dim, "mode": mode, "lr": lr, "epochs": epochs}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            d = engine.run("word2vec", {k: (str(v), "test") for k, v in typed.items()}, seed)
        except InputError as error:
            assert "\n" not in str(error)
            return
    for step in d.steps():
        assert np.isfinite(np.asarray(step.value, dtype=float)).all(), step.id
    W_in, W_out = d["w_in"].value, d["w_out"].value
    check_against_reference(d, sentences, None if sentences != "I love 피자|I like 피자" else ["I", "love", "like", "피자"],
                            window, float(eval(lr)), epochs, W_in, W_out, ["cbow", "skipgram"] if mode == "both" else [mode])


def test_the_lecture_vocabulary_order_for_the_lecture_corpus():
    # [I, love, like, 피자] as in the lecture, also when typed with spaces around |; another corpus
    # gets its words in order of first appearance.
    labels = run(sentences="I love 피자 | I like 피자")["one_hot"].labels[0]
    assert labels == ("I", "love", "like", "피자")
    assert run(sentences="I like 피자|I love 피자")["one_hot"].labels[0] == ("I", "like", "피자", "love")


# ---- reading: what a student redoes by hand from the printed text (issue 14) ----------------

def numbers(text):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def test_the_examples_are_listed_and_numbered_as_the_code_line_counts_them():
    # The worked example is number 1, counted from 0 as in training_examples(...)[1]: the
    # prose lists every example so the student can see which one that is.
    d = engine.run("word2vec")
    cbow, skipgram = (next(sec for sec in d.sections if sec.title.startswith(title)) for title in ("CBOW:", "Skip-gram:"))
    assert "6 examples" in cbow.explanation and "#0 love → I; #1 I, 피자 → love;" in cbow.explanation
    assert "#5 like → 피자." in cbow.explanation and "example #1, where the context 'I', '피자'" in cbow.explanation
    assert "8 pairs" in skipgram.explanation and "#1 love → I;" in skipgram.explanation and "#7 피자 → like." in skipgram.explanation
    assert "'I', '피자', so h is the mean" in d["cbow.hidden.linear"].explanation
    long = run(sentences="a b c d e f g h i j k l m n")
    listed = next(sec for sec in long.sections if sec.title.startswith("CBOW:")).explanation
    assert "#9 i, k → j; …; #13 m → n." in listed and "#10" not in listed


def test_the_prose_uses_the_printed_symbols():
    d = engine.run("word2vec")
    assert "X_ik = δ_ik" in d["one_hot"].explanation
    assert "= x̄_j" in d["cbow.hidden.dL_dW"].explanation and "x̄ is 0 except at 'I', '피자'" in d["cbow.hidden.dL_dW"].explanation
    assert "= x_j" in d["skipgram.hidden.dL_dW"].explanation and "x̄" not in d["skipgram.hidden.dL_dW"].explanation
    assert d["cbow.gradient"].title == "Gradient at the logits: y - t" and "Simplify" not in d["cbow.gradient"].explanation
    assert "Entry t is the mean" in d["cbow.losses"].explanation
    vocab = ("I", "love", "like", "피자")
    for mode in ("cbow", "skipgram"):
        assert d[f"{mode}.output.dL_dW"].labels[0] == vocab and d[f"{mode}.output.update_W"].labels[0] == vocab
        assert d[f"{mode}.hidden.dL_dW"].labels[1] == vocab and d[f"{mode}.hidden.update_W"].labels[1] == vocab


def test_the_loss_after_is_written_in_the_order_of_its_explanation():
    # "L' = max_l o'_l + log Σ_k exp(o'_k - max_l o'_l) - Σ_k t_k o'_k": the formula is printed
    # in that order, and its numbers are in a note that recomputes to the value.
    from dlsteps.printers.formulas import unicode
    from dlsteps.symbolic import Maximum

    d = engine.run("word2vec")
    for mode in ("cbow", "skipgram"):
        step = d[f"{mode}.loss_after"]
        assert isinstance(step.formula.args[0], Maximum)
        line = next(row for row in unicode(step.formula, d.names).splitlines() if "log" in row)
        assert line.index("max") < line.index("log")
        top, *terms, target, value = numbers(step.notes[0].split("log(")[0] + step.notes[0].split("log(")[1])
        assert top + math.log(sum(terms)) - target == pytest.approx(value, abs=1e-3)
        assert value == pytest.approx(step.value, rel=1e-3)
    assert d["cbow.loss_after"].notes[0] == "L′ = 0.1066 + log(0.9038 + 0.9505 + 0.9374 + 1) - 0.05587 = 1.384"


def test_the_mean_loss_before_training_is_written_with_each_example():
    d = engine.run("word2vec")
    for mode, worked in (("cbow", "cbow.loss"), ("skipgram", "skipgram.loss")):
        rows, vocab = ref_vocab("I love 피자|I like 피자", ["I", "love", "like", "피자"])
        examples = ref_examples(rows, vocab, 1, mode)
        note = d[f"{mode}.losses"].notes[0]
        losses = [ref_loss(W_IN, W_OUT, a, b) for a, b in examples]
        assert note.startswith("L̄₀ = (") and f"/ {len(examples)} " in note and "example #1 is the one worked out above" in note
        shown = [float(x) for x in note.split("(")[1].split(")")[0].replace("…", "").split(" + ") if x.strip()]
        assert shown[1] == pytest.approx(d[worked].value, abs=1e-3)
        assert all(any(x == pytest.approx(loss, abs=1e-3) for loss in losses) for x in shown)
    assert d["cbow.losses"].notes[0].startswith("L̄₀ = (1.352 + 1.418 + 1.292 + 1.379 + 1.403 + 1.439) / 6 ≈ 1.38: ")
    assert "+ … +" in d["skipgram.losses"].notes[0]


def test_the_cosine_note_is_worked_out_with_its_numbers():
    # cos(love, like) = e_love · e_like / (‖e_love‖ ‖e_like‖) = (-0.4·0 + (-0.3)·0.1) / (0.5·0.1) = -0.6
    d = engine.run("word2vec")
    assert d["cosine_before"].notes[0] == "cos(love, like) = ((-0.4)⋅0 + (-0.3)⋅0.1) / (0.5⋅0.1) = -0.6000 before training"
    for id in ("cosine_before", "cbow.cosine_after", "skipgram.cosine_after"):
        note = d[id].notes[0]
        a, b, c, e, na, nb, value = numbers(note.split(" = ", 1)[1].split(" training")[0])[:7]
        assert (a * b + c * e) / (na * nb) == pytest.approx(value, abs=5e-4)
        assert value == pytest.approx(d[id].value[1, 2], abs=5e-5)
    zero = run(w_in="0.1,0,0,0.4;0.2,0,0.1,-0.4")["cosine_before"]  # love is all zeros: the table writes 0
    assert zero.notes[0] == "cos(love, like) = 0.0000 before training" and zero.value[1, 2] == 0


def test_warning_notes_are_cautions_and_remarks_are_not():
    # Issue 14 (Reading): a note that warns (the loss rose, training did not lower the mean
    # loss, an all-zero embedding makes a cosine 0/0) is a Caution; a remark is a plain string.
    from dlsteps.model import Caution

    d = engine.run("word2vec")
    for mode in ("cbow", "skipgram"):
        for id in ("loss_change", "losses", "cosine_after", "loss", "loss_after"):
            assert not any(isinstance(note, Caution) for note in d[f"{mode}.{id}"].notes), (mode, id)
    assert not any(isinstance(note, Caution) for note in d["cosine_before"].notes)
    risen = run(lr="40", epochs="0", w_in="1,-2,0.5,2;0.5,1,-1,0", w_out="1,2;-2,1;0.5,0.5;-1,-1", mode="cbow")
    change, = risen["cbow.loss_change"].notes
    assert "rose" in change and isinstance(change, Caution)
    stalled = run(epochs="3", w_in="0,0,0,0;0,0,0,0", w_out="0,0;0,0;0,0;0,0", mode="cbow")  # zero weights: nothing moves
    assert "did not fall" in stalled["cbow.losses"].notes[-1] and isinstance(stalled["cbow.losses"].notes[-1], Caution)
    assert not isinstance(run(epochs="0", mode="cbow")["cbow.losses"].notes[-1], Caution)  # --epochs 0: a remark
    zero = run(w_in="0.1,0,0,0.4;0.2,0,0.1,-0.4", mode="cbow")["cosine_before"]
    assert not isinstance(zero.notes[0], Caution)
    assert isinstance(zero.notes[-1], Caution) and "all-zero embedding for 'love'" in zero.notes[-1]


def test_the_loss_after_writes_t_before_o():
    # "- Σ_k t_k o'_k", as its explanation writes it.
    from dlsteps.printers.formulas import unicode

    d = engine.run("word2vec")
    for mode in ("cbow", "skipgram"):
        assert "tₖ⋅o′ₖ" in unicode(d[f"{mode}.loss_after"].formula, d.names)
