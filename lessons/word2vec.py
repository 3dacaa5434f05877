"""Word2Vec: one-hot words, a 2-d embedding, CBOW and skip-gram, trained over a few epochs.

Follows Deep Learning 101 #15, in its order: a vocabulary of V words as one-hot vectors,
a linear hidden layer of N units (the embedding) and V logits with softmax:

    one-hot      x_k = δ_wk for word w                       (V)
    CBOW         x̄_k = (1/C) Σ_l δ(c_l, k), the average of the C context one-hots
    skip-gram    x_k = δ(c, k) for the center c, one pair (center, context word) at a time
    hidden       h_i = Σ_k Wⁱⁿ_ik x_k                        Wⁱⁿ of shape (N, V) = (out, in)
    logits       o_i = Σ_k Wᵒᵘᵗ_ik h_k                       Wᵒᵘᵗ of shape (V, N) = (out, in)
    softmax, CE  y = softmax(o),  L = -Σ_k t_k log y_k,  t the target word's one-hot

Beyond #15 (which stops at the loss): the gradients ∂L/∂o = y - t, ∂L/∂Wᵒᵘᵗ = (y - t) hᵀ,
∂L/∂h = Wᵒᵘᵗᵀ (y - t), ∂L/∂Wⁱⁿ = ∂L/∂h x̄ᵀ, one update W′ = W - η ∂L/∂W with the loss
before and after, then plain SGD over every example of the corpus for `--epochs` epochs,
the mean loss per epoch, the embeddings (columns of Wⁱⁿ) before and after, and their
cosine similarities.

Weights have shape (out, in) as PyTorch's nn.Linear (every dlsteps lesson): the embedding
of word v is column v of Wⁱⁿ; the lecture's V × N matrix whose rows are the embeddings is
E = Wⁱⁿᵀ. The default corpus "I love 피자 | I like 피자" puts love and like in the same
contexts, so training brings their embeddings closer. The softmax, cross-entropy and
dense-layer math is the `softmax_ce` and `dense` blocks'; this module tells the story.
"""

from collections import namedtuple
from types import SimpleNamespace

import numpy as np
import sympy as sp

from dlsteps.blocks import dense, softmax_ce
from dlsteps.blocks.symbols import N, i, j, k, l, size, t, total
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Caution, Chart, Derivation, GradientCheck
from dlsteps.symbolic import Maximum, exponential, logarithm

META = {
    "title": "Word2Vec: CBOW and skip-gram",
    "lecture": "DL101 #15",
    "summary": "one-hot words, a 2-d embedding, CBOW and skip-gram with softmax and cross-entropy, gradients, training",
    "example": 'dlsteps word2vec --sentences "I love 피자|I like 피자|I love 파스타|I like 파스타" --mode skipgram --epochs 40',
    "inputs": {
        "sentences": {"shape": "text", "default": "I love 피자|I like 피자",
                      "help": "the corpus: sentences split by | or ;, words by spaces (any script, e.g. Korean)"},
        "vocab": {"shape": "text", "default": "", "optional": True,
                  "help": "the vocabulary in order, words split by spaces (default: the lecture's I love like 피자 for the "
                          "default corpus, else the words in order of first appearance); extra words are allowed"},
        "window": {"shape": "count", "domain": "1..10", "default": "1", "help": "how many words on each side are context"},
        "dim": {"shape": "count", "domain": "1..10", "default": "2", "help": "the embedding size N (the hidden layer)"},
        "mode": {"shape": "choice", "choices": ["both", "cbow", "skipgram"], "default": "both",
                 "help": "CBOW (context → center), skip-gram (center → each context word) or both, CBOW first"},
        "w_in": {"shape": "matrix * *", "default": "", "optional": True,
                 "help": "Wⁱⁿ, shape (N, V) = (out, in): column v is the embedding of word v (the lecture's V × N matrix, transposed) "
                         "(unset: drawn with --seed, else a fixed pattern of small values)"},
        "w_out": {"shape": "matrix * *", "default": "", "optional": True,
                  "help": "Wᵒᵘᵗ, shape (V, N) = (out, in): row v scores word v (unset: drawn with --seed, else a fixed pattern)"},
        "lr": {"shape": "scalar", "domain": "positive", "default": "0.5", "help": "the learning rate η"},
        "epochs": {"shape": "count", "domain": "0..200", "default": "20", "help": "how many passes of SGD over the corpus"},
        "pair": {"shape": "text", "default": "", "optional": True,
                 "help": "two words whose cosine similarity is followed (default: love like when both occur, "
                         "else the first two words with the most context words in common)"},
    },
}

LECTURE_VOCAB = ["I", "love", "like", "피자"]
MAX_VOCAB, DIVERGED, MAX_LISTED = 100, 1e12, 12
V = sp.Symbol("V", integer=True, positive=True)
Source = namedtuple("Source", "text origin")
SHOWN = {"W_in": ("Wⁱⁿ", r"{W^{\mathrm{in}}}"), "W_out": ("Wᵒᵘᵗ", r"{W^{\mathrm{out}}}"), "eta": ("η", r"\eta"),
         "w": ("w", "w"), "n_c": ("C", "C"), "window": ("window", r"\mathrm{window}"), "epochs": ("epochs", r"\mathrm{epochs}")}
MODES = {"cbow": ("cbow", "cb", "CBOW"), "skipgram": ("skipgram", "sg", "skip-gram")}


# ---- the corpus and training, in NumPy (each helper is also the code lines' prelude) -------

def sentence_rows(corpus):
    """The word ids of each sentence: the rows of the corpus matrix without their -1 padding."""
    return [[int(v) for v in row if v >= 0] for row in np.atleast_2d(corpus)]


def context_of(row, position, window):
    """The ids of the words within `window` places of `position` in one sentence, in order."""
    return [row[q] for q in range(max(0, position - window), min(len(row), position + window + 1)) if q != position]


def training_examples(corpus, window, mode):
    """(input ids, target id) of every example in corpus order: CBOW predicts each center
    from its context words; skip-gram predicts each context word from its center."""
    examples = []
    for row in sentence_rows(corpus):
        for position, center in enumerate(row):
            context = context_of(row, position, window)
            if mode == "cbow" and context:
                examples.append((context, center))
            elif mode == "skipgram":
                examples.extend(([center], word) for word in context)
    return examples


def example_loss(W_in, W_out, inputs, target):
    """L = -log y_target with h = Wⁱⁿ x̄ (x̄ the mean of the inputs' one-hots), o = Wᵒᵘᵗ h."""
    o = W_out @ W_in[:, inputs].mean(axis=1)
    return float(o.max() + np.log(np.exp(o - o.max()).sum()) - o[target])


def sgd_epoch(W_in, W_out, examples, lr):
    """One pass over the examples in order, one gradient step on each; returns new arrays."""
    W_in, W_out = np.array(W_in, dtype=float), np.array(W_out, dtype=float)
    for inputs, target in examples:
        x = np.zeros(W_in.shape[1])
        np.add.at(x, inputs, 1 / len(inputs))
        h = W_in @ x
        y = np.exp(W_out @ h - (W_out @ h).max())
        delta = y / y.sum() - np.eye(len(y))[target]
        dh = W_out.T @ delta
        W_out = W_out - lr * np.outer(delta, h)
        W_in = W_in - lr * np.outer(dh, x)
    return W_in, W_out


def train(corpus, window, mode, W_in, W_out, lr, epochs):
    """(mean loss over the examples after epochs 0..epochs, Wⁱⁿ, Wᵒᵘᵗ) of plain SGD."""
    examples = training_examples(corpus, window, mode)
    losses = [np.mean([example_loss(W_in, W_out, a, b) for a, b in examples])]
    for _epoch in range(int(epochs)):
        W_in, W_out = sgd_epoch(W_in, W_out, examples, lr)
        losses.append(np.mean([example_loss(W_in, W_out, a, b) for a, b in examples]))
    return np.array(losses), W_in, W_out


def cosine_matrix(E):
    """cos_ij = e_i · e_j / (‖e_i‖ ‖e_j‖) for the rows of E, 0 where a row is all zeros."""
    norms = np.sqrt((E ** 2).sum(axis=1))
    product = np.outer(norms, norms)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(product != 0, (E @ E.T) / np.where(product != 0, product, 1.0), 0.0)


HELPERS = (sentence_rows, context_of, training_examples, example_loss, sgd_epoch, train, cosine_matrix)


# ---- reading the inputs --------------------------------------------------------------------

def read_corpus(given: dict) -> tuple[list[list[str]], list[str]]:
    """(the sentences as lists of words, the vocabulary), or an InputError naming the option."""
    text = given["sentences"].value
    sentences = [part.split() for part in text.replace(";", "|").split("|") if part.split()]
    if not any(len(words) > 1 for words in sentences):
        raise InputError(_("--sentences: '{text}' has no sentence of two or more words; expected sentences split by | or ;, words by spaces, such as \"I love 피자|I like 피자\"").format(text=text[:60]))
    appearance = list(dict.fromkeys(word for words in sentences for word in words))
    vocab = _vocabulary(given, appearance, sentences)
    if len(vocab) < 2:
        raise InputError(_("--sentences: '{text}' uses one word only; the softmax needs a vocabulary of at least two words").format(text=text[:60]))
    if len(vocab) > MAX_VOCAB:
        raise InputError(_("--sentences: {n} distinct words; this lesson takes at most {limit}").format(n=len(vocab), limit=MAX_VOCAB))
    return sentences, vocab


def _vocabulary(given: dict, appearance: list[str], sentences: list[list[str]]) -> list[str]:
    """--vocab if typed (it must hold every word of the corpus), the lecture's order for the
    lecture's corpus, else the order of first appearance."""
    if given["vocab"].value is None:
        return LECTURE_VOCAB if sentences == [["I", "love", "피자"], ["I", "like", "피자"]] else appearance
    vocab = given["vocab"].value.split()
    repeated = [word for position, word in enumerate(vocab) if word in vocab[:position]]
    missing = [word for word in appearance if word not in vocab]
    if repeated or missing:
        problem = _("'{w}' is listed twice").format(w=repeated[0]) if repeated else _("'{w}' of --sentences is missing").format(w=missing[0])
        raise InputError(_("--vocab: {problem}; expected every word of the sentences once, split by spaces").format(problem=problem))
    return vocab


def corpus_matrix(sentences: list[list[str]], vocab: list[str]) -> np.ndarray:
    """The word ids, one row per sentence, padded with -1 to the longest sentence."""
    width = max(map(len, sentences))
    return np.array([[vocab.index(word) for word in words] + [-1] * (width - len(words)) for words in sentences], dtype=float)


def read_weights(given: dict, vocab: list[str], seed) -> tuple:
    """(Wⁱⁿ, Wᵒᵘᵗ, the source of each): typed, drawn from --seed, or the fixed pattern."""
    V_, typed = len(vocab), given["w_in"].value or given["w_out"].value
    dim = given["dim"].value
    if given["dim"].origin == "default" and typed:
        dim = _typed_dim(given, V_)
    rng = None if seed is None else np.random.default_rng(seed)
    result = []
    for name, shape, pattern in (("w_in", (dim, V_), (1, 4)), ("w_out", (V_, dim), (1, 1))):
        item = given[name]
        if item.value is not None:
            result.append((_shaped(item, name, shape, dim, V_), item))
            continue
        value = np.round(rng.uniform(-0.5, 0.5, shape), 2) + 0.0 if rng is not None else fixed_pattern(shape, *pattern)
        result.append((value, Source(_text(value), "seed" if rng is not None else "default")))
    return result[0][0], result[1][0], {"w_in": result[0][1], "w_out": result[1][1]}


def _typed_dim(given: dict, V_: int) -> int:
    """The embedding size of typed weights: the side of Wⁱⁿ (else Wᵒᵘᵗ) that is not V."""
    name, side = ("w_in", 0) if given["w_in"].value is not None else ("w_out", 1)
    shape = np.shape(given[name].value)
    return shape[side] if shape[1 - side] == V_ or shape[side] != V_ else shape[1 - side]


def fixed_pattern(shape: tuple, a: int, b: int) -> np.ndarray:
    """Small fixed weights ((a r + b c + 5) mod 9 - 4) / 10 at row r, column c."""
    rows, columns = np.indices(shape)
    return ((a * rows + b * columns + 5) % 9 - 4) / 10


def _shaped(item, name: str, shape: tuple, dim: int, V_: int) -> np.ndarray:
    value = np.array(item.value, dtype=float)
    if value.shape != shape:
        flipped = _(" (this is the transpose: weights are (out, in) here, see --help)") if value.shape == shape[::-1] else ""
        what = _("(N, V) = ({n}, {v}): one row per embedding coordinate, one column per word") if name == "w_in" else \
            _("(V, N) = ({v}, {n}): one row per word, one column per embedding coordinate")
        raise InputError(_("--{option}: got a {r}x{c} matrix in '{text}'; expected shape {what} (--dim {n}, {v} words){flipped}").format(
            option=name.replace("_", "-"), r=value.shape[0], c=value.shape[1], text=item.text[:40], what=what.format(n=dim, v=V_), n=dim, v=V_,
            flipped=flipped))
    return value


def _text(value: np.ndarray) -> str:
    return ";".join(",".join(f"{x:g}" for x in row) for row in value)


def read_pair(given: dict, vocab: list[str], sentences: list[list[str]], window: int) -> tuple[int, int]:
    """The ids of the two words whose similarity is followed."""
    if given["pair"].value is not None:
        words = given["pair"].value.split()
        if len(words) != 2 or words[0] == words[1] or any(word not in vocab for word in words):
            raise InputError(_("--pair: '{text}' is not two different words of the vocabulary ({vocab})").format(
                text=given["pair"].value[:40], vocab=" ".join(vocab)[:80]))
        return vocab.index(words[0]), vocab.index(words[1])
    if "love" in vocab and "like" in vocab:
        return vocab.index("love"), vocab.index("like")
    contexts = [set() for _word in vocab]
    for words in sentences:
        for position, word in enumerate(words):
            contexts[vocab.index(word)].update(context_of(words, position, window))
    pairs = [(a, b) for a in range(len(vocab)) for b in range(a + 1, len(vocab))]
    return max(pairs, key=lambda p: len(contexts[p[0]] & contexts[p[1]]))


# ---- the derivation ------------------------------------------------------------------------

def derive(d: Derivation, given: dict) -> None:
    """Fill `d`: vocabulary, embeddings before, one CBOW and one skip-gram example with their
    gradients and update, then training over the epochs and the embeddings after."""
    sentences, vocab = read_corpus(given)
    W_in, W_out, sources = read_weights(given, vocab, d.seed)
    window, lr, epochs = given["window"].value, float(given["lr"].value), given["epochs"].value
    modes = ["cbow", "skipgram"] if given["mode"].value == "both" else [given["mode"].value]
    corpus = corpus_matrix(sentences, vocab)
    runs = {mode: _trained(corpus, window, mode, W_in, W_out, lr, epochs) for mode in modes}
    for plain, (unicode, latex) in SHOWN.items():
        d.name(sp.Symbol(plain), unicode, latex)
    for helper in HELPERS:
        d.define(helper)
    h = _inputs(d, given, corpus, W_in, W_out, sources)
    ctx = SimpleNamespace(d=d, h=h, vocab=vocab, sentences=sentences, corpus=corpus, window=window,
                          pair=read_pair(given, vocab, sentences, window), lr=lr, epochs=epochs)
    _vocabulary_section(ctx)
    before = _embeddings_section(ctx)
    for mode in modes:
        _example(ctx, mode)
    for mode in modes:
        _training(ctx, mode, runs[mode], before)


def _trained(corpus, window, mode, W_in, W_out, lr, epochs):
    """train(...), or an InputError when the weights pass 1e12 (diverged), with a learning
    rate (lr/10, lr/100, ...) checked to train without diverging."""
    run = _run(corpus, window, mode, W_in, W_out, lr, epochs)
    if run is not None:
        return run
    better = next((c for c in (float(f"{lr / 10 ** p:.3g}") for p in range(1, 7)) if _run(corpus, window, mode, W_in, W_out, c, epochs)), None)
    hint = _("; try a smaller learning rate such as {lr:g}").format(lr=better) if better else _("; try a much smaller learning rate")
    raise InputError(_("--lr: {lr:g} makes the {mode} training diverge (the weights pass 1e12 within {e} epochs){hint}").format(
        lr=lr, mode=MODES[mode][2], e=epochs, hint=hint))


def _run(corpus, window, mode, W_in, W_out, lr, epochs):
    """train(...), or None when it diverges (a weight past 1e12, or not finite)."""
    with np.errstate(all="ignore"):
        run = train(corpus, window, mode, W_in, W_out, lr, epochs)
    return run if all(np.isfinite(part).all() and np.abs(part).max() <= DIVERGED for part in run) else None


def _inputs(d: Derivation, given: dict, corpus, W_in, W_out, sources) -> dict:
    """Record the inputs the formulas and code lines use; returns their handles."""
    return {"w": d.given("sentences", sp.IndexedBase("w"), corpus, given["sentences"],
                         _("the corpus as word ids w_sp (sentence s, place p), -1 past the end of a sentence")),
            "window": d.given("window", sp.Symbol("window"), int(given["window"].value), given["window"], _("context words on each side")),
            "W_in": d.given("w_in", sp.IndexedBase("W_in"), W_in, sources["w_in"], _("input weights W_in, shape (N, V) = (out, in)")),
            "W_out": d.given("w_out", sp.IndexedBase("W_out"), W_out, sources["w_out"], _("output weights W_out, shape (V, N) = (out, in)")),
            "lr": d.given("lr", sp.Symbol("eta"), float(given["lr"].value), given["lr"], _("learning rate η")),
            "epochs": d.given("epochs", sp.Symbol("epochs"), int(given["epochs"].value), given["epochs"], _("passes over the corpus"))}


def _vocabulary_section(ctx) -> None:
    """Step one_hot: the identity matrix, row v = the one-hot vector of word v."""
    d, vocab = ctx.d, ctx.vocab
    size(d, V, len(vocab))
    listing = "; ".join(f"{' '.join(words)} → {', '.join(str(vocab.index(w)) for w in words)}" for words in ctx.sentences)
    d.section(_("Vocabulary and one-hot vectors"),
              _("The vocabulary has V = {V} words, numbered from 0: {words}. Each sentence as word ids: {listing}. A word is fed to the network as its one-hot vector: 1 at its own id, 0 elsewhere.").format(
                  V=len(vocab), words=", ".join(f"{q} = {w}" for q, w in enumerate(vocab)), listing=listing))
    d.step("one_hot", _("One-hot vectors of the vocabulary"),
           explanation=_("Row i is the one-hot vector of word i: X_ik = δ_ik, the identity matrix (V × V)."),
           symbol=d.name(sp.IndexedBase("X"), "X", "X"), index=(i, k), formula=sp.KroneckerDelta(i, k),
           value=np.eye(len(vocab)), labels=(tuple(vocab), tuple(vocab)), code="X = np.eye(len(W_out))", concept="word2vec.one_hot")


def _embeddings_section(ctx):
    """Steps embeddings_before and cosine_before; returns (embeddings, cosine) steps."""
    d, h = ctx.d, ctx.h
    size(d, N, h["W_in"].value.shape[0])
    d.section(_("The network and the embeddings before training"),
              _("One-hot x (V = {V}) → h = W_in x (N = {n}, a linear hidden layer, no activation, no bias) → o = W_out h (V logits) → softmax. Weights have shape (out, in), as PyTorch's nn.Linear: W_in is (N, V) = ({n}, {V}) and the embedding of word v is column v of W_in; the lecture draws the V × N matrix whose rows are the embeddings, which is E = W_in^T below. W_out is (V, N): row v scores word v. The weights were {origin}.").format(
                  V=len(ctx.vocab), n=h["W_in"].value.shape[0], origin=_origin(h["W_in"].origin)))
    E = _embeddings(ctx, "embeddings_before", _("Embeddings before training"), h["W_in"], "E", ("E", "E", "E"))
    return E, _cosines(ctx, ("norms_before", "cosine_before"), E, (("norm_before", "‖e‖", r"\lVert e \rVert"), ("cos_before", "cos", r"\mathrm{cos}")), None)


def _origin(origin: str) -> str:
    return {"seed": _("drawn with --seed (uniform between -0.5 and 0.5, two decimals)"),
            "default": _("not given: a fixed pattern of small values, ((r + 4c + 5) mod 9 - 4)/10 for W_in and ((r + c + 5) mod 9 - 4)/10 for W_out at row r, column c"),
            "file": _("read from the --params file")}.get(origin, _("typed on the command line"))


def _embeddings(ctx, id: str, title: str, W, var: str, name: tuple):
    """Step `id`: E_ij = W_ji, the embeddings as rows (one per word), drawn as points."""
    d, vocab = ctx.d, ctx.vocab
    dims = W.value.shape[0]
    notes = ()
    if dims != 2:
        notes = (_("N = 1: each embedding is one number, so there is no 2-D picture") if dims == 1 else
                 _("N = {n}: the picture shows the first two coordinates only").format(n=dims),)
    chart = Chart(kind="points", series=tuple(vocab), x_label="e0", y_label="e1") if dims >= 2 else None
    return d.step(id, title, explanation=_("E = W_in^T: row v is the embedding of word v (column v of W_in), shape (V, N)."),
                  symbol=d.name(sp.IndexedBase(var), name[1], name[2]), index=(i, j), formula=W.symbol[j, i], value=W.value.T.copy(),
                  labels=(tuple(vocab), tuple(f"e{q}" for q in range(dims))), code=f"{var} = {W.var}.T",
                  concept="word2vec.embeddings", chart=chart, notes=notes)


def _cosines(ctx, ids: tuple, E, names: tuple, before):
    """Steps ids = (norms, cosines): ‖e_i‖ and the cosine similarity of every pair of
    embeddings, with a note on the followed pair; returns the cosine step."""
    d, vocab = ctx.d, ctx.vocab
    e = E.symbol
    norm = d.step(ids[0], _("Length of each embedding"), explanation=_("‖e_i‖ = sqrt(Σ_l E_il²), the Euclidean length of row i of E."),
                  symbol=_symbol(d, *names[0]), index=(i,), formula=sp.sqrt(total(e[i, l] ** 2, l, N)),
                  value=np.sqrt((E.value ** 2).sum(axis=1)), labels=((), tuple(vocab)), code=f"{names[0][0]} = np.sqrt(({E.var} ** 2).sum(axis=1))",
                  concept="word2vec.norms")
    lengths, value = norm.symbol[i] * norm.symbol[j], cosine_matrix(E.value)
    return d.step(ids[1], _("Cosine similarity of the embeddings"),
                  explanation=_("cos_ij = e_i · e_j / (‖e_i‖ ‖e_j‖): 1 for the same direction, 0 at right angles, -1 opposite. The cosine of an all-zero embedding is undefined; the table writes 0 there."),
                  symbol=_symbol(d, *names[1]), index=(i, j),
                  formula=sp.Piecewise((total(e[i, l] * e[j, l], l, N) / lengths, sp.Ne(lengths, 0)), (0, True)), value=value,
                  labels=(tuple(vocab), tuple(vocab)), display="heatmap", code=f"{names[1][0]} = cosine_matrix({E.var})",
                  concept="word2vec.cosine", notes=_pair_note(ctx, value, before, _cosine_numbers(ctx, E.value, norm.value, value)) + _zero_note(ctx, E.value))


def _zero_note(ctx, E: np.ndarray) -> tuple[str, ...]:
    """A caution where an embedding is all zeros: its cosines are 0/0, written 0 in the table."""
    zero = [ctx.vocab[q] for q in range(len(E)) if not E[q].any()]
    if not zero:
        return ()
    return (Caution(_("all-zero embedding for {words}: its cosine with any word is 0/0, undefined; the table writes 0 there, which is not a similarity").format(
        words=", ".join(f"'{w}'" for w in zero))),)


def _cosine_numbers(ctx, E: np.ndarray, norms: np.ndarray, value: np.ndarray) -> str:
    """cos of the followed pair with its numbers: (Σ_l E_al E_bl) / (‖e_a‖ ‖e_b‖) = value."""
    a, b = ctx.pair
    if norms[a] * norms[b] == 0:
        return f"{value[a, b]:.4f}"
    pairs = [(_number(x), _number(y)) for x, y in zip(E[a], E[b])]
    lengths = (_number(norms[a]), _number(norms[b]))
    redone = sum(float(x) * float(y) for x, y in pairs) / (float(lengths[0]) * float(lengths[1]))
    rel = "=" if f"{redone:.4f}" == f"{value[a, b]:.4f}" else "≈"
    terms = _elided([f"{_paren(x)}⋅{_paren(y)}" for x, y in pairs])
    return f"({' + '.join(terms)}) / ({lengths[0]}⋅{lengths[1]}) {rel} {value[a, b]:.4f}"


def _pair_note(ctx, value: np.ndarray, before, work: str) -> tuple[str, ...]:
    """cos of the followed pair with its numbers, and whether training brought it closer."""
    a, b = ctx.pair
    words = {"a": ctx.vocab[a], "b": ctx.vocab[b], "work": work}
    if before is None:
        return (_("cos({a}, {b}) = {work} before training").format(**words),)
    old = before.value[a, b]
    if value[a, b] > old:
        change = _("up from {old:.4f} before: training brought them closer").format(old=old)
    elif value[a, b] < old:
        change = _("down from {old:.4f} before: training moved them apart").format(old=old)
    else:
        change = _("the same as before training")
    return (_("cos({a}, {b}) = {work} after training, {change}").format(change=change, **words),)


# ---- one example, forward and backward -----------------------------------------------------

def _example(ctx, mode: str) -> None:
    """One training example of `mode`, worked out: inputs, forward pass, loss, gradients, update."""
    d, vocab = ctx.d, ctx.vocab
    at, tag, label = MODES[mode]
    examples = training_examples(ctx.corpus, ctx.window, mode)
    number = _chosen(ctx.corpus, ctx.window, mode)
    inputs, target = examples[number]
    names = SimpleNamespace(tag=tag, mode=mode, at=at + ".", number=number, inputs=inputs, target=target)
    listing = _listing(examples, vocab)
    if mode == "cbow":
        d.section(_("CBOW: predict the center word from its context"),
                  _("CBOW (continuous bag of words) averages the one-hot vectors of the context words and predicts the center word. With window {w} the corpus gives {count} examples (context → center), numbered from 0: {examples}. Worked out below: example {n}, where the context {ctx} should predict '{c}'.").format(
                      w=ctx.window, count=len(examples), examples=listing, n=f"#{number}", ctx=", ".join(f"'{vocab[q]}'" for q in inputs), c=vocab[target]))
    else:
        d.section(_("Skip-gram: predict each context word from the center"),
                  _("Skip-gram feeds the center word's one-hot vector and predicts one context word at a time: each (center, context word) pair is one example. With window {w} the corpus gives {count} pairs (center → context word), numbered from 0: {examples}. Worked out below: example {n}, where the center '{c}' should predict '{o}'. It starts from the same weights as CBOW.").format(
                      w=ctx.window, count=len(examples), examples=listing, n=f"#{number}", c=vocab[inputs[0]], o=vocab[target]))
    x, tgt = _example_inputs(ctx, names)
    hidden, output, sm, loss = _forward(ctx, names, x, tgt)
    d.section(_("{label}: gradients and one update (beyond #15)").format(label=label.capitalize() if mode == "skipgram" else label),
              _("Lecture #15 stops at the loss; the gradients below go beyond it. Backpropagation from L through the softmax (∂L/∂o = y - t), the output layer (∂L/∂W_out, ∂L/∂h) and the hidden layer (∂L/∂W_in), then one gradient-descent step of size η on both matrices and the loss again."))
    _backward(ctx, names, hidden, output, sm, tgt, loss)


def _listing(examples: list, vocab: list[str]) -> str:
    """The examples as "#number inputs → target", in corpus order (the middle of a long list elided)."""
    items = [f"#{q} {', '.join(vocab[w] for w in inputs)} → {vocab[target]}" for q, (inputs, target) in enumerate(examples)]
    return "; ".join(items if len(items) <= MAX_LISTED else items[:MAX_LISTED - 2] + ["…", items[-1]])


def _chosen(corpus, window, mode: str) -> int:
    """The example worked out: for CBOW the first center with the most context words; for
    skip-gram that center's first pair."""
    cbow = training_examples(corpus, window, "cbow")
    best = max(range(len(cbow)), key=lambda q: len(cbow[q][0]))
    if mode == "cbow":
        return best
    pairs = training_examples(corpus, window, "skipgram")
    return pairs.index(([cbow[best][1]], cbow[best][0][0]))


def _symbol(d: Derivation, plain: str, unicode: str, latex: str, indexed: bool = True):
    return d.name(sp.IndexedBase(plain) if indexed else sp.Symbol(plain), unicode, latex)


def _example_inputs(ctx, n):
    """The example's word ids (checked by their code lines), the input vector and the target t."""
    d, vocab, tag = ctx.d, ctx.vocab, n.tag
    pick = f"training_examples(w, window, {n.mode!r})[{n.number}]"
    x, target_id = (_cbow_input if n.mode == "cbow" else _skipgram_input)(ctx, n, pick)
    t_ = d.step(f"{n.at}target", _("One-hot target"), explanation=_("The one-hot vector of the target id: the softmax should put all its probability on '{w}'.").format(w=vocab[n.target]),
                symbol=_symbol(d, f"t_{tag}", "t", "t"), index=(k,), formula=sp.KroneckerDelta(target_id.symbol, k),
                value=np.eye(len(vocab))[n.target], labels=((), tuple(vocab)), code=f"t_{tag} = np.eye(len(W_out))[int(tau_{tag})]",
                concept="word2vec.target")
    return x, t_


def _cbow_input(ctx, n, pick: str):
    """Steps context_ids, target_id and average: x̄_k = (1/C) Σ_l δ(c_l, k)."""
    d, vocab = ctx.d, ctx.vocab
    ids = d.step(f"{n.at}context_ids", _("Context words"),
                 explanation=_("The ids of the words at most {w} place(s) before or after the center, in order: {words}. Checked by its code line (the corpus read with the window).").format(
                     w=ctx.window, words=", ".join(f"{vocab[q]} = {q}" for q in n.inputs)),
                 symbol=_symbol(d, "c_cb", "c", "c"), value=np.array(n.inputs, float), var="c_cb", labels=((), tuple(vocab[q] for q in n.inputs)),
                 code=f"c_cb = np.array({pick}[0], dtype=float)", depends_on=("sentences", "window"), concept="word2vec.context_ids")
    target_id = _target_id(ctx, n, pick)
    count = size(d, sp.Symbol("n_c", integer=True, positive=True), len(n.inputs))
    x = d.step("cbow.average", _("Average of the context one-hots"),
               explanation=_("The mean of the one-hot vectors of the C = {C} context words: δ(c_l, k) is 1 where k = c_l, so the average is 1/{C} at each context word (more where a word occurs twice).").format(C=len(n.inputs)),
               symbol=_symbol(d, "x_bar", "x̄", r"\bar{x}"), index=(k,), formula=total(sp.KroneckerDelta(ids.symbol[l], k), l, count) / count,
               value=np.bincount(n.inputs, minlength=len(vocab)) / len(n.inputs), labels=((), tuple(vocab)),
               code="x_bar = np.mean([np.eye(len(W_out))[int(q)] for q in c_cb], axis=0)", concept="word2vec.average")
    return x, target_id


def _skipgram_input(ctx, n, pick: str):
    """Steps center_id, target_id and one_hot: x_k = δ(c, k)."""
    d, vocab, center_word = ctx.d, ctx.vocab, n.inputs[0]
    center = d.step(f"{n.at}center_id", _("Center word"),
                    explanation=_("The word fed to the network: '{w}', id {q}. Checked by its code line (the corpus read with the window).").format(w=vocab[center_word], q=center_word),
                    symbol=_symbol(d, "c_sg", "c", "c", False), value=float(center_word), var="c_sg",
                    code=f"c_sg = {pick}[0][0]", depends_on=("sentences", "window"), concept="word2vec.center_id")
    target_id = _target_id(ctx, n, pick)
    x = d.step("skipgram.one_hot", _("One-hot vector of the center"), explanation=_("x_k = δ(c, k): 1 at the center's id."),
               symbol=_symbol(d, "x_sg", "x", "x"), index=(k,), formula=sp.KroneckerDelta(center.symbol, k),
               value=np.eye(len(vocab))[center_word], labels=((), tuple(vocab)), code="x_sg = np.eye(len(W_out))[int(c_sg)]",
               concept="word2vec.one_hot_input")
    return x, target_id


def _target_id(ctx, n, pick: str):
    """Step target_id: the id of the word to predict (checked by its code line)."""
    word = ctx.vocab[n.target]
    return ctx.d.step(f"{n.at}target_id", _("Target word"), explanation=_("The word to predict: '{w}', id {q}.").format(w=word, q=n.target),
                      symbol=_symbol(ctx.d, f"tau_{n.tag}", "τ", r"\tau", False), value=float(n.target), var=f"tau_{n.tag}",
                      code=f"tau_{n.tag} = {pick}[1]", depends_on=("sentences", "window"), concept="word2vec.target_id")


def _forward(ctx, n, x, tgt):
    """Hidden layer, logits, softmax and cross-entropy of the example."""
    d, h, vocab, tag = ctx.d, ctx.h, ctx.vocab, n.tag
    hidden = dense.forward(d, h["W_in"], x, at=f"{n.at}hidden.", names={"z": (f"h_{tag}", "h", "h")}, count={"out": N, "in": V})
    words = ", ".join(f"'{vocab[q]}'" for q in dict.fromkeys(n.inputs))
    hidden.z.title = _("Hidden layer: the embedding h")
    hidden.z.explanation = (_("h = W_in times the average: the average is 1/{C} at {words}, so h is the mean of their embeddings (columns of W_in). No activation: the hidden layer is linear.").format(C=len(n.inputs), words=words)
                            if n.mode == "cbow" else
                            _("h = W_in x with x one-hot at '{w}': h is column {q} of W_in, the embedding of '{w}'. No activation: the hidden layer is linear.").format(w=vocab[n.inputs[0]], q=n.inputs[0]))
    output = dense.forward(d, h["W_out"], hidden.z, at=f"{n.at}output.", names={"z": (f"o_{tag}", "o", "o")}, count={"out": V, "in": N})
    output.z.title = _("Logits: one score per word")
    output.z.explanation = _("o = W_out h: one score per word of the vocabulary, W_out of shape (V, N) = (out, in).")
    output.z.labels = ((), tuple(vocab))
    sm = softmax_ce.softmax(d, output.z, at=n.at, count=V, names={r: (f"{r}_{tag}", r, r) for r in ("m", "u", "S", "y")})
    sm.probs.labels = ((), tuple(vocab))
    loss = softmax_ce.cross_entropy(d, sm, tgt, at=n.at, names={"log_y": (f"log_y_{tag}", "log y", r"\log y"), "L": (f"L_{tag}", "L", "L")})
    loss.notes = (_("t is one-hot at '{w}', so L = -log y_{q} = -log {y:.4g}").format(w=vocab[n.target], q=n.target, y=sm.probs.value[n.target]),)
    return hidden, output, sm, loss


def _backward(ctx, n, hidden, output, sm, tgt, loss) -> None:
    """∂L/∂o, ∂L/∂Wᵒᵘᵗ, ∂L/∂h, ∂L/∂Wⁱⁿ (each checked by finite differences of the example's
    loss), the update of both matrices and the loss after it."""
    d, h, tag = ctx.d, ctx.h, n.tag
    W_in, W_out = h["W_in"].value, h["W_out"].value
    L = (f"L_{tag}", "L", "L")
    delta = softmax_ce.gradient(d, sm, tgt, loss, at=n.at, names={"dL_do": (f"dL_do_{tag}", "∂L/∂o", r"\frac{\partial L}{\partial o}")})
    delta.title = _("Gradient at the logits: y - t")  # #15 does not derive it; #13 (dlsteps softmax) does
    delta.explanation = _("Softmax and cross-entropy together: ∂L/∂o_j = Σ_k ∂L/∂y_k · ∂y_k/∂o_j = Σ_k (-t_k / y_k) · y_k(δ_kj - y_j) = y_j - t_j, because the target sums to 1 (dlsteps softmax works it out term by term).")
    checks = {"W": GradientCheck(lambda W: example_loss(W_in, W, n.inputs, n.target), W_out),
              "x": GradientCheck(lambda v: _logits_loss(W_out @ v, n.target), hidden.z.value)}
    out_grads = dense.backward(d, output, delta, at=f"{n.at}output.", checks=checks,
                               names={"dW": (f"dL_dW_out_{tag}", "∂L/∂Wᵒᵘᵗ", r"\frac{\partial L}{\partial {W^{\mathrm{out}}}}"),
                                      "dx": (f"dL_dh_{tag}", "∂L/∂h", r"\frac{\partial L}{\partial h}"), "L": L})
    out_grads.W.title, out_grads.x.title = _("Gradient of W_out"), _("Gradient passed back to h")
    out_grads.W.explanation = _("∂o_i/∂W_out[i, j] = h_j, so ∂L/∂W_out[i, j] = (y_i - t_i) h_j: in matrix form (y - t) h^T, shape (V, N) like W_out.")
    out_grads.x.explanation = _("h_j feeds every logit o_i through W_out[i, j], so ∂L/∂h_j = Σ_i W_out[i, j] (y_i - t_i): in matrix form W_out^T (y - t).")
    in_grads = dense.backward(d, hidden, out_grads.x, at=f"{n.at}hidden.", input_grad=False,
                              checks={"W": GradientCheck(lambda W: example_loss(W, W_out, n.inputs, n.target), W_in)},
                              names={"dW": (f"dL_dW_in_{tag}", "∂L/∂Wⁱⁿ", r"\frac{\partial L}{\partial {W^{\mathrm{in}}}}"), "L": L})
    in_grads.W.title, in_grads.W.explanation = _("Gradient of W_in"), _input_gradient_text(ctx, n)
    words = tuple(ctx.vocab)
    in_grads.W.labels = ((), words)
    new_in = dense.update(d, h["W_in"], in_grads.W, h["lr"], at=f"{n.at}hidden.", id="update_W",
                          names={"new": (f"W_in_new_{tag}", "Wⁱⁿ′", r"{W^{\mathrm{in}}}'")})
    new_out = dense.update(d, h["W_out"], out_grads.W, h["lr"], at=f"{n.at}output.", id="update_W",
                           names={"new": (f"W_out_new_{tag}", "Wᵒᵘᵗ′", r"{W^{\mathrm{out}}}'")})
    out_grads.W.labels, new_out.labels, new_in.labels = (words, ()), (words, ()), ((), words)
    for step, name in ((new_in, "W_in"), (new_out, "W_out")):
        step.title = _("Gradient-descent update of {W}").format(W=name)
        step.explanation = _("{W}' = {W} - η ∂L/∂{W}: move against the gradient by the learning rate times the gradient.").format(W=name)
    _loss_after(ctx, n, hidden.x, tgt, new_in, new_out, loss)


def _input_gradient_text(ctx, n) -> str:
    """What ∂L/∂Wⁱⁿ = ∂L/∂h xᵀ changes: only the columns of the input words."""
    words = ", ".join(f"'{ctx.vocab[q]}'" for q in dict.fromkeys(n.inputs))
    return _("∂h_i/∂W_in[i, j] = {x}_j, so ∂L/∂W_in[i, j] = (∂L/∂h)_i {x}_j: in matrix form (∂L/∂h) {x}^T, shape (N, V). {x} is 0 except at {words}, so only those columns (embeddings) receive a gradient.").format(
        x="x̄" if n.mode == "cbow" else "x", words=words)


def _logits_loss(o: np.ndarray, target: int) -> float:
    return float(o.max() + np.log(np.exp(o - o.max()).sum()) - o[target])


def _loss_after(ctx, n, x, tgt, new_in, new_out, loss) -> None:
    """The same example through the updated weights: h′, o′, L′ and ΔL = L′ - L."""
    d, tag = ctx.d, n.tag
    hidden = dense.forward(d, new_in, x, at=f"{n.at}after.hidden.", names={"z": (f"h_new_{tag}", "h′", "h'")}, count={"out": N, "in": V})
    output = dense.forward(d, new_out, hidden.z, at=f"{n.at}after.output.", names={"z": (f"o_new_{tag}", "o′", "o'")}, count={"out": V, "in": N})
    hidden.z.title, hidden.z.explanation = _("Hidden layer after the update"), _("The example's input through the updated W_in'.")
    output.z.title, output.z.explanation = _("Logits after the update"), _("The logits with the updated W_out'.")
    output.z.labels = ((), tuple(ctx.vocab))
    o, t_ = output.z.symbol, tgt.symbol
    shift = Maximum(o[l], l, 0, V - 1)
    value = _logits_loss(output.z.value, n.target)
    after = d.step(f"{n.at}loss_after", _("Loss after the update"),
                   explanation=_("L' = -Σ_k t_k log softmax(o')_k = max_l o'_l + log Σ_k exp(o'_k - max_l o'_l) - Σ_k t_k o'_k (t sums to 1; the shift keeps exp from overflowing)."),
                   symbol=_symbol(d, f"L_new_{tag}", "L′", "L'", False), formula=sp.Add(shift, logarithm(total(exponential(o[k] - shift), k, V)), -total(sp.Mul(t_[k], o[k], evaluate=False), k, V), evaluate=False),
                   value=value, code=f"L_new_{tag} = o_new_{tag}.max() + np.log(np.exp(o_new_{tag} - o_new_{tag}.max()).sum()) - o_new_{tag}[int(tau_{tag})]",
                   concept="word2vec.loss_after", substitute=True, notes=(_after_numbers(output.z.value, n.target, value),))
    d.step(f"{n.at}loss_change", _("Change of the loss"), explanation=_("ΔL = L' - L: negative when the update reduced the loss."),
           symbol=_symbol(d, f"Delta_L_{tag}", "ΔL", r"\Delta L", False), formula=after.symbol - loss.symbol, value=value - loss.value,
           code=f"Delta_L_{tag} = L_new_{tag} - L_{tag}", concept="word2vec.loss_change", substitute=True,
           notes=_change_note(loss.value, value, ctx.lr))


def _after_numbers(o: np.ndarray, target: int, value: float) -> str:
    """L′ written with its numbers: max + log(Σ exp(o′_k - max)) - o′_target (t one-hot)."""
    top = o.max()
    terms = [_number(x) for x in np.exp(o - top)]
    total_ = np.log(sum(float(x) for x in terms))
    rel = "=" if f"{float(_number(top)) + total_ - float(_number(o[target])):.4g}" == f"{value:.4g}" else "≈"
    return f"L′ = {_paren(_number(top))} + log({' + '.join(_elided(terms))}) - {_paren(_number(o[target]))} {rel} {value:.4g}"


def _number(x: float) -> str:
    """A number as the notes write it: 4 significant digits."""
    return f"{x:.4g}"


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _elided(terms: list[str]) -> list[str]:
    """A long list of terms as its first three, …, and last two."""
    return terms if len(terms) <= 6 else terms[:3] + ["…"] + terms[-2:]


def _change_note(before: float, after: float, lr: float) -> tuple[str, ...]:
    """What one update did to the example's loss, from the numbers."""
    if after < before:
        return (_("the loss fell from {a:.6g} to {b:.6g}").format(a=before, b=after),)
    if after == before:
        return (Caution(_("the loss did not change in float64 ({a:.6g})").format(a=before)),)
    return (Caution(_("the loss rose from {a:.6g} to {b:.6g}: a step of η = {lr:g} went too far along the gradient (overshoot); a smaller η lowers it").format(a=before, b=after, lr=lr)),)


# ---- training over the epochs --------------------------------------------------------------

def _training(ctx, mode: str, run, before) -> None:
    """Steps losses, trained, embeddings_after and cosine_after of `mode`."""
    d = ctx.d
    at, tag, label = MODES[mode]
    losses, W_trained, _W_out = run
    count = len(training_examples(ctx.corpus, ctx.window, mode))
    d.section(_("Training {label} over {E} epochs (beyond #15)").format(label=label, E=ctx.epochs),
              _("Plain SGD from the same starting weights: each epoch goes through the {n} {label} examples of the corpus in order and takes one gradient step of size η = {lr:g} on each, exactly the update worked out above.").format(
                  n=count, label=label, lr=ctx.lr))
    used = ("sentences", "window", "w_in", "w_out", "lr", "epochs")
    call = f"train(w, window, {mode!r}, W_in, W_out, eta, epochs)"
    d.step(f"{at}.losses", _("Mean loss per epoch"),
           explanation=_("Entry t is the mean over the {n} examples of their cross-entropy, at the weights after t epochs (t = 0: before training). Each epoch is a loop of {n} updates, each needing the one before, so there is no closed formula: the table is checked by its code line, which runs the loop.").format(n=count),
           symbol=_symbol(d, f"Lbar_{tag}", "L̄", r"\bar{L}"), index=(t,), value=losses, depends_on=used, var=f"Lbar_{tag}",
           code=f"run_{tag} = {call}\nLbar_{tag} = run_{tag}[0]", concept="word2vec.losses",
           notes=(_start_note(ctx, mode, losses[0]),) + _training_note(losses),
           chart=Chart(kind="line", x=tuple(range(len(losses))), series=(label,), x_label=_("epoch"), y_label=_("mean loss")))
    trained = d.step(f"{at}.trained", _("W_in after training"),
                     explanation=_("The input weights after {E} epochs (checked by the code line, the same loop).").format(E=ctx.epochs),
                     symbol=_symbol(d, f"W_in_trained_{tag}", "Wⁱⁿ*", r"{W^{\mathrm{in}}}^{*}"), index=(i, j), value=W_trained,
                     labels=((), tuple(ctx.vocab)), depends_on=used, code=f"W_in_trained_{tag} = run_{tag}[1]", concept="word2vec.trained")
    E = _embeddings(ctx, f"{at}.embeddings_after", _("Embeddings after {label} training").format(label=label), trained, f"E_{tag}", (f"E_{tag}", "E*", "E^{*}"))
    _cosines(ctx, (f"{at}.norms_after", f"{at}.cosine_after"), E,
             ((f"norm_{tag}", "‖e*‖", r"\lVert e^{*} \rVert"), (f"cos_{tag}", "cos*", r"\mathrm{cos}^{*}")), before[1])


def _start_note(ctx, mode: str, mean: float) -> str:
    """L̄₀ written with each example's loss at the starting weights."""
    W_in, W_out = ctx.h["W_in"].value, ctx.h["W_out"].value
    terms = [_number(example_loss(W_in, W_out, inputs, target)) for inputs, target in training_examples(ctx.corpus, ctx.window, mode)]
    rel = "=" if f"{np.mean([float(x) for x in terms]):.4g}" == f"{mean:.4g}" else "≈"
    return f"L̄₀ = ({' + '.join(_elided(terms))}) / {len(terms)} {rel} {mean:.4g}: " + _(
        "each example's loss at the starting weights, in the order listed above; example {k} is the one worked out above").format(
        k=f"#{_chosen(ctx.corpus, ctx.window, mode)}")


def _training_note(losses: np.ndarray) -> tuple[str, ...]:
    """How the mean loss moved over the epochs, from the numbers."""
    if len(losses) == 1:
        return (_("--epochs 0: no training, the mean loss stays {a:.6g}").format(a=losses[0]),)
    first, last = losses[0], losses[-1]
    if last < first:
        return (_("the mean loss fell from {a:.6g} to {b:.6g} over {E} epochs").format(a=first, b=last, E=len(losses) - 1),)
    return (Caution(_("the mean loss did not fall: {a:.6g} before, {b:.6g} after {E} epochs (try a smaller η)").format(a=first, b=last, E=len(losses) - 1)),)
