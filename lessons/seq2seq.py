"""Seq2seq: an encoder LSTM reads the source into a context (C_T, h_T), a decoder LSTM
started from it writes the target word by word, and the gradient comes back to the context.

Follows Deep Learning 101 #17, #18, in their order, on the lecture's pair "thank you <EOS>"
→ "고마워요 <EOS>", with the lstm lesson's sizes (hidden 2, embedding 3). Time runs
t = 0 … T-1 (code's count; the lecture's h_T is h^e_{T-1} here). No biases.

    vocabularies: source words in order of first appearance; target: the start token
    (id 0), then the target words in order of first appearance (PyTorch's tutorial: SOS = 0)
    X^e_{t,k} = δ_{k, src_t},   x^e_{t,j} = Σ_k X^e_{t,k} E^e_{k,j}    (one-hot · table = row)
    encoder LSTM over x^e from h_{-1} = C_{-1} = 0 (--h0, --c0)   (the lstm block)
    h_T = h^e_{T-1},  C_T = C^e_{T-1}                         (the context)
    fed_0 = 0 (the start token); fed_t = pred_{t-1} (--feed predicted, the lecture's)
                                  or tgt_{t-1} (--feed teacher, teacher forcing)
    x^d_{t,j} = Σ_k δ_{k, fed_t} E^d_{k,j};  decoder LSTM over x^d from (h_T, C_T)
    g_t = W_y h^d_t,  ŷ_t = softmax(g_t),  pred_t = argmax_k g_{t,k} (= argmax of ŷ_t)
    L = -Σ_t log ŷ_{t, tgt_t}                                 (summed over the target)

Backward: ∂L/∂g = ŷ - y → W_y → back through the decoder's steps (BPTT, the lstm block) to
its initial state, which is the context: ∂L/∂h_T and ∂L/∂C_T, "the gradient arriving back
at the context". Beyond the lecture, they enter the encoder as the gradient from later at
its last step and reach its weights. With predicted feeding the decoder's inputs come from
an argmax, which is piecewise constant: the gradient is taken with the fed words held fixed
(what every implementation's backward pass does). The fed words cannot be one recurrence
with the block's decoder steps, so the `fed` step's code runs the greedy decoder and a later
step `greedy_in` (shifted argmax) is paired against it.

Embeddings and weights: fixed defaults at the lecture's sizes (the encoder's are the lstm
lesson's example weights); at other sizes, or with --seed, drawn uniform in [-0.5, 0.5] with
two decimals by NumPy's default_rng([seed or 0, k]). Every one can be typed. Each weight
gradient and the gradient at the context is checked against finite differences of the
whole loss (fed words held fixed) while that is cheap (WHOLE_LOSS_WORK).
"""

from types import SimpleNamespace

import numpy as np
import sympy as sp

from dlsteps.blocks import activations, lstm
from dlsteps.blocks.symbols import T, j, k, size, t, total
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck
from dlsteps.symbolic import Argmax

MAX_WORDS, MAX_SIZE = 64, 16
"""The most words in --source or --target (each word is a time step of an LSTM), and the
largest hidden and embedding sizes (typed matrices may not exceed them either)."""
WHOLE_LOSS_WORK = 5000
"""Up to this many (checked entries) × (T + T'), gradients are checked against finite
differences of the whole loss; beyond, against the lstm block's local surrogates."""

ENC_W = {"f": "0.1,0.2,0.3,0.4,0.5;0.4,0.1,-0.2,0.3,0.5", "i": "0.2,-0.1,0.4,0.3,0.2;0.1,0.3,-0.2,0.4,0.1",
         "c": "0.3,-0.1,0.2,0.5,-0.2;-0.4,0.2,0.1,0.3,0.2", "o": "0.1,0.3,0.5,0.2,0.4;0.2,0.2,0.1,0.4,0.3"}
DEC_W = {"f": "0.5,-0.2,0.3,0.4,0.2;0.2,0.6,-0.3,0.2,0.4", "i": "0.6,0.3,-0.2,0.5,0.7;-0.4,0.2,0.6,0.3,0.5",
         "c": "0.8,-0.6,0.9,-0.7,0.5;0.5,0.4,-0.8,0.7,0.9", "o": "0.4,0.2,0.6,0.3,0.5;0.6,-0.4,0.4,0.7,0.3"}
EXAMPLE = {"src_emb": "0.5,0.1,0.2;-0.4,0.8,0.3;0.2,-0.6,0.9", "tgt_emb": "0.1,0.2,-0.3;0.9,-0.5,0.4;-0.7,0.6,0.8",
           **{f"enc_w{g}": ENC_W[g] for g in lstm.GATES}, **{f"dec_w{g}": DEC_W[g] for g in lstm.GATES},
           "wy": "0.5,1;-1.2,-0.8;1,-1"}
FILLED = tuple(EXAMPLE)  # the order also numbers their random streams

T_DEC = sp.Symbol("T_dec", integer=True, positive=True)
V_SRC = sp.Symbol("V_src", integer=True, positive=True)
V_TGT = sp.Symbol("K", integer=True, positive=True)
SIZE_NAMES = {T_DEC: ("T′", "T'"), V_SRC: ("Vₛ", "V_{s}")}
# One loss L for both cells. C̃ is marked \tilde{C}{}^{e}: TeX sees through braces around a
# lone accent, so the block's {\tilde{C}}_{e}, once indexed ({{\tilde{C}}_{e}}_{t,j}), stops
# pdflatex with "Double subscript"; the empty {} keeps the accent from being alone.
ENC = {**lstm.suffixed("_e", "ᵉ", "e"), "L": "L", "c": ("C_tilde_e", "C̃ᵉ", r"\tilde{C}{}^{e}")}
DEC = {**lstm.suffixed("_d", "ᵈ", "d"), "L": "L", "c": ("C_tilde_d", "C̃ᵈ", r"\tilde{C}{}^{d}"),
       "dh0": ("dL_dh_T", "∂L/∂h_T", r"\frac{\partial L}{\partial h_{T}}"),
       "dC0": ("dL_dC_T", "∂L/∂C_T", r"\frac{\partial L}{\partial C_{T}}")}
SHOWN = {"src": ("src", r"\mathrm{src}"), "tgt": ("tgt", r"\mathrm{tgt}"), "fed": ("fed", r"\mathrm{fed}"),
         "pred": ("pred", r"\mathrm{pred}"), "greedy": ("greedy", r"\mathrm{greedy}"),
         "E_e": ("Eᵉ", "E^{e}"), "E_d": ("Eᵈ", "E^{d}"), "X_e": ("Xᵉ", "X^{e}"), "X_d": ("Xᵈ", "X^{d}"),
         "x_e": ("xᵉ", "x^{e}"), "x_d": ("xᵈ", "x^{d}"), "h_T": ("h_T", "h_{T}"), "C_T": ("C_T", "C_{T}"),
         "h0_e": ("h₍₋₁₎", "h_{(-1)}"), "C0_e": ("C₍₋₁₎", "C_{(-1)}"), "W_y": ("Wʸ", "W^{y}"),
         **{f"W_{g}_{s}": (f"W{lstm.MARK[g][0]}{mark}", f"W^{{{lstm.MARK[g][1]}}}_{{{s}}}")
            for g in lstm.GATES for s, mark in (("e", "ᵉ"), ("d", "ᵈ"))}}

META = {
    "title": "Seq2seq: encoder, context, decoder and the gradient at the context",
    "lecture": "DL101 #17, #18",
    "summary": "encoder LSTM to the context (C_T, h_T), decoder from the context and a start token, greedy words or teacher forcing, CE summed over the target, dL/dh_T and dL/dC_T",
    "example": 'dlsteps seq2seq --source "thank you <EOS>" --target "고마워요 <EOS>" --feed teacher',
    "inputs": {
        "source": {"shape": "text", "default": "thank you <EOS>",
                   "help": "the source sentence, words split by spaces (the lecture's \"thank you <EOS>\"); its vocabulary is its words in order of first appearance"},
        "target": {"shape": "text", "default": "고마워요 <EOS>",
                   "help": "the target sentence, words split by spaces (any script; the lecture's \"고마워요 <EOS>\"); one decoder step per word"},
        "start": {"shape": "text", "default": "<SOS>",
                  "help": "the start token fed to the decoder at its first step: id 0 of the target vocabulary, one word"},
        "feed": {"shape": "choice", "choices": ["predicted", "teacher"], "default": "predicted",
                 "help": "what the decoder reads after the start token: predicted = its own greedy choice at the step before (the lecture's), teacher = the target word before (teacher forcing)"},
        "hidden": {"shape": "count", "domain": "1..16", "default": "2", "help": "the hidden size H of both LSTMs (the lstm lesson's 2); typed matrices fix it"},
        "embed": {"shape": "count", "domain": "1..16", "default": "3", "help": "the embedding size d (the lstm lesson's input size 3); typed embeddings fix it"},
        "src_emb": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "source embeddings E^e, one row per source-vocabulary word, shape Vs x d (default 0.5,0.1,0.2;-0.4,0.8,0.3;0.2,-0.6,0.9 at 3 x 3; drawn otherwise or with --seed)"},
        "tgt_emb": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "target embeddings E^d, one row per target-vocabulary word (start token first), shape K x d (default 0.1,0.2,-0.3;0.9,-0.5,0.4;-0.7,0.6,0.8 at 3 x 3; drawn otherwise)"},
        "enc_wf": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "encoder W_f, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.1,0.2,0.3,0.4,0.5;0.4,0.1,-0.2,0.3,0.5 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "enc_wi": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "encoder W_i, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.2,-0.1,0.4,0.3,0.2;0.1,0.3,-0.2,0.4,0.1 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "enc_wc": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "encoder W_c, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.3,-0.1,0.2,0.5,-0.2;-0.4,0.2,0.1,0.3,0.2 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "enc_wo": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "encoder W_o, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.1,0.3,0.5,0.2,0.4;0.2,0.2,0.1,0.4,0.3 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "dec_wf": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "decoder W_f, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.5,-0.2,0.3,0.4,0.2;0.2,0.6,-0.3,0.2,0.4 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "dec_wi": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "decoder W_i, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.6,0.3,-0.2,0.5,0.7;-0.4,0.2,0.6,0.3,0.5 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "dec_wc": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "decoder W_c, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.8,-0.6,0.9,-0.7,0.5;0.5,0.4,-0.8,0.7,0.9 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "dec_wo": {"shape": "matrix * *", "default": "", "optional": True,
                    "help": "decoder W_o, shape H x (H + d), acting on z = [h_(t-1); x_t], h first (default 0.4,0.2,0.6,0.3,0.5;0.6,-0.4,0.4,0.7,0.3 at H = 2, d = 3; drawn otherwise or with --seed)"},
        "wy": {"shape": "matrix * *", "default": "", "optional": True,
               "help": "output weights W_y, one row per target-vocabulary word, shape K x H (default 0.5,1;-1.2,-0.8;1,-1 at 3 x 2; drawn otherwise or with --seed)"},
        "h0": {"shape": "vector *", "default": "", "optional": True, "help": "the encoder's initial hidden state h_(-1), H numbers (zeros unless given)"},
        "c0": {"shape": "vector *", "default": "", "optional": True, "help": "the encoder's initial cell state C_(-1), H numbers (zeros unless given)"},
    },
}


# ---- the whole model in NumPy: values and the checks of the whole loss ------------------------


def run(x, h, C, W: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A lean LSTM forward (the four gates as one stacked matrix) for the many reruns of the
    whole-loss checks: the states h_t (T, H) and the last (h, C). The states or the weights
    may carry a leading axis of versions (the checks ask for every moved point at once)."""
    hidden, stacked, hs = np.shape(h)[-1], np.concatenate(np.broadcast_arrays(*(W[g] for g in lstm.GATES)), axis=-2), []
    for x_t in x:
        a = (stacked @ np.concatenate([h, np.broadcast_to(x_t, (*np.shape(h)[:-1], len(x_t)))], axis=-1)[..., None])[..., 0]
        gate = 0.5 * (1 + np.tanh(0.5 * a))  # σ without overflow
        C = gate[..., :hidden] * C + gate[..., hidden:2 * hidden] * np.tanh(a[..., 2 * hidden:3 * hidden])
        h = gate[..., 3 * hidden:] * np.tanh(C)
        hs.append(h)
    return np.stack(hs, axis=-2), h, C


def encode(p: dict, src) -> tuple:
    """The encoder's states over the source ids, and its last (h, C): the context."""
    return run(p["E_e"][np.asarray(src, int)], p["h0"], p["C0"], {g: p[f"W_{g}_e"] for g in lstm.GATES})


def decoder_loss(p: dict, hT, CT, fed, y) -> float | np.ndarray:
    """The cross-entropy summed over the target, from the context (h_T, C_T), fed ids fixed
    (one for each version of a part: see `run`)."""
    hs = run(p["E_d"][np.asarray(fed, int)], hT, CT, {g: p[f"W_{g}_d"] for g in lstm.GATES})[0]
    return lstm.cross_entropy_rows(hs @ p["W_y"].T, y)


def whole_loss(p: dict, src, fed, y) -> float | np.ndarray:
    """The lesson's loss from the inputs, every step rerun (the fed ids held fixed; one for
    each version of a part: see `run`)."""
    _hs, hT, CT = encode(p, src)
    return decoder_loss(p, hT, CT, fed, y)


def greedy(p: dict, hT, CT, steps: int) -> np.ndarray:
    """The ids the greedy decoder feeds: 0 (the start token), then the argmax of the logits
    of the step before, computed as the readout computes them."""
    fed = [0]
    for _step in range(steps - 1):
        h = lstm.run(p["E_d"][fed], hT, CT, {g: p[f"W_{g}_d"] for g in lstm.GATES})["h"]
        fed.append(int(np.argmax((h @ p["W_y"].T)[-1])))
    return np.array(fed)


# ---- inputs: words, vocabularies, sizes, filled matrices --------------------------------------


def _words(given: dict, name: str) -> list[str]:
    words = given[name].value.split()
    if len(words) > MAX_WORDS:
        raise InputError(_("--{name}: got {n} words; expected at most {limit} (each word is one LSTM step)").format(
            name=name, n=len(words), limit=MAX_WORDS))
    return words


def _vocabularies(given: dict) -> tuple[list, list, list, list]:
    """Source and target words, and their vocabularies (the start token first in the target's)."""
    start = given["start"].value
    if len(start.split()) != 1:
        raise InputError(_("--start: '{text}' is {n} words; expected one word such as <SOS>").format(text=start[:40], n=len(start.split())))
    source, target = _words(given, "source"), _words(given, "target")
    return source, target, list(dict.fromkeys(source)), list(dict.fromkeys([start, *target]))


WEIGHTS = tuple(f"{side}_w{g}" for side in ("enc", "dec") for g in lstm.GATES)


def _typed_sizes(given: dict) -> tuple[int, int]:
    """H and d: --hidden / --embed when typed, else fixed by the first typed matrix, else the defaults."""
    typed = lambda keys: [(key, given[key].value) for key in keys if given[key].value is not None]
    hidden = [(k, len(v)) for k, v in typed(("h0", "c0", *WEIGHTS))] + [(k, len(v[0])) for k, v in typed(("wy",))]
    H_, by = (given["hidden"].value, "hidden") if given["hidden"].origin != "default" or not hidden else hidden[0][::-1]
    embed = [(k, len(v[0])) for k, v in typed(("src_emb", "tgt_emb"))] + [(k, len(v[0]) - H_) for k, v in typed(WEIGHTS)]
    D_, by_d = (given["embed"].value, "embed") if given["embed"].origin != "default" or not embed else embed[0][::-1]
    for value, key, what in ((H_, by, "H"), (D_, by_d, "d")):
        if not 1 <= value <= MAX_SIZE:
            raise InputError(_("--{option}: it makes {what} = {value}; expected {what} from 1 to {most} (H rows of the weights, d columns of the embeddings, H + d columns of the weights)").format(
                option=key.replace("_", "-"), what=what, value=value, most=MAX_SIZE))
    return H_, D_


def _shape_error(key: str, got: tuple, expected: tuple, why: str) -> InputError:
    return InputError(_("--{option}: got a {got} {kind}; expected {expected} ({why})").format(
        option=key.replace("_", "-"), got="x".join(map(str, got)), kind="matrix" if len(got) == 2 else "vector",
        expected="x".join(map(str, expected)), why=why))


def _matrix(d: Derivation, given: dict, key: str, shape: tuple, why: str) -> tuple[np.ndarray, object]:
    """A typed matrix (shape checked), or the fixed example at its size, or drawn; and its source."""
    value = given[key].value
    if value is not None:
        value = np.array(value, dtype=float)
        if value.shape != shape:
            raise _shape_error(key, value.shape, shape, why)
        return value, given[key]
    example = np.array([[float(v) for v in row.split(",")] for row in EXAMPLE[key].split(";")])
    if d.seed is None and example.shape == shape:
        return example, SimpleNamespace(text=EXAMPLE[key], origin="default", how="fixed")
    rng = np.random.default_rng([d.seed or 0, FILLED.index(key)])
    drawn = np.round(rng.uniform(-0.5, 0.5, size=shape), 2) + 0.0
    return drawn, SimpleNamespace(text=";".join(",".join(f"{v:g}" for v in row) for row in drawn), origin="seed", how="drawn")


def _state(given: dict, key: str, hidden: int) -> tuple[np.ndarray, object]:
    value = given[key].value
    if value is None:
        return np.zeros(hidden), SimpleNamespace(text=",".join(["0"] * hidden), origin="default")
    if len(value) != hidden:
        raise _shape_error(key, (len(value),), (hidden,), _("H = {h}").format(h=hidden))
    return np.array(value, dtype=float), given[key]


def _parameters(d: Derivation, given: dict, sizes: dict) -> tuple[dict, dict]:
    """Every matrix and initial state as (value, source), by its symbol's name."""
    H_, D_, Vs, K = sizes["H"], sizes["d"], sizes["Vs"], sizes["K"]
    why_w = _("H x (H + d) with H = {h}, d = {dd}").format(h=H_, dd=D_)
    out = {"E_e": _matrix(d, given, "src_emb", (Vs, D_), _("one row per source-vocabulary word, Vs = {v}, d = {dd}").format(v=Vs, dd=D_)),
           "E_d": _matrix(d, given, "tgt_emb", (K, D_), _("one row per target-vocabulary word, K = {v}, d = {dd}").format(v=K, dd=D_)),
           **{f"W_{g}_{s}": _matrix(d, given, f"{side}_w{g}", (H_, H_ + D_), why_w) for side, s in (("enc", "e"), ("dec", "d")) for g in lstm.GATES},
           "W_y": _matrix(d, given, "wy", (K, H_), _("one row per target-vocabulary word, K = {v}, H = {h}").format(v=K, h=H_)),
           "h0_e": _state(given, "h0", H_), "C0_e": _state(given, "c0", H_)}
    return {key: value for key, (value, _source) in out.items()}, {key: source for key, (_value, source) in out.items()}


# ---- the derivation ---------------------------------------------------------------------------


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the encoder, the context, the decoder, the loss and the backward pass."""
    source, target, src_vocab, tgt_vocab = _vocabularies(given)
    H_, D_ = _typed_sizes(given)
    values, sources = _parameters(d, given, {"H": H_, "d": D_, "Vs": len(src_vocab), "K": len(tgt_vocab)})
    for symbol, (uni, tex) in {**SHOWN, **{str(s): pair for s, pair in SIZE_NAMES.items()}}.items():
        d.name(sp.Symbol(symbol), uni, tex)
    size(d, V_SRC, len(src_vocab)), size(d, V_TGT, len(tgt_vocab)), size(d, T_DEC, len(target))
    words = SimpleNamespace(source=source, target=target, src=src_vocab, tgt=tgt_vocab, start=given["start"].value)
    h = _inputs(d, given, values, sources, words)
    teacher = given["feed"].value == "teacher"
    _story(d, h, values, words, teacher, _conventions(d, sources, words) + " " + _sizes(words, H_, D_))


def _inputs(d: Derivation, given: dict, values: dict, sources: dict, words) -> dict:
    """Record the inputs; returns their handles by symbol name (and src, tgt)."""
    ids = {"src": np.array([words.src.index(w) for w in words.source], dtype=float),
           "tgt": np.array([words.tgt.index(w) for w in words.target], dtype=float)}
    vocab = lambda words_: ", ".join(f"{w}={n}" for n, w in enumerate(words_))
    h = {"src": d.given("source", sp.IndexedBase("src"), ids["src"], given["source"],
                        _("ids of the source words in the source vocabulary: {vocab}").format(vocab=vocab(words.src)), var="src"),
         "tgt": d.given("target", sp.IndexedBase("tgt"), ids["tgt"], given["target"],
                        _("ids of the target words in the target vocabulary: {vocab}").format(vocab=vocab(words.tgt)), var="tgt")}
    described = {"E_e": _("source embeddings, one row per source-vocabulary word"), "E_d": _("target embeddings, one row per target-vocabulary word"),
                 "W_y": _("output weights, one row per target-vocabulary word, shape (K, H)"),
                 "h0_e": _("the encoder's initial hidden state h_{-1}"), "C0_e": _("the encoder's initial cell state C_{-1}")}
    names = {"E_e": "src_emb", "E_d": "tgt_emb", "W_y": "wy", "h0_e": "h0", "C0_e": "c0",
             **{f"W_{g}_{s}": f"{side}_w{g}" for side, s in (("enc", "e"), ("dec", "d")) for g in lstm.GATES}}
    for key, name in names.items():
        text = described.get(key) or _("{side} weights of gate {g}, shape (H, H + d)").format(
            side=_("encoder") if key.endswith("_e") else _("decoder"), g=key[2])
        h[key] = d.given(name, sp.IndexedBase(key), values[key], sources[key], text, var=key)
    return h


def _rows(words_: list[str]) -> tuple:
    """Row labels "t=0 word", the word as typed (the terminal grid pads labels by their width
    in columns, so a Hangul word lines up too)."""
    return (tuple(f"t={n} {w}" for n, w in enumerate(words_)), ())


def _label(steps, rows: tuple, columns: tuple = ()) -> None:
    """Row labels for each step, and column labels (the vocabulary) where a step has one
    column per word."""
    for step in steps:
        step.labels = (rows[0], columns if np.ndim(step.value) == 2 and len(columns) == np.shape(step.value)[1] else ())


def _story(d: Derivation, h: dict, values: dict, words, teacher: bool, conventions: str) -> None:
    d.section(_("Words to vectors: vocabularies, one-hot, embeddings"), conventions)
    enc_x = _embedding(d, h["src"], h["E_e"], "e", T, V_SRC, words.source)
    d.section(_("Encoder: an LSTM over the source words"),
              _("The lstm lesson's cell (hidden size H = {h}), run over the T = {n} source words from h_{{-1}} and C_{{-1}} ({state}). Its outputs along the way are not used: only its last state goes on.").format(
                  h=len(values["h0_e"]), n=len(words.source), state=_("zeros") if not np.any(values["h0_e"]) and not np.any(values["C0_e"]) else _("as given")))
    enc = lstm.forward(d, enc_x, h["h0_e"], h["C0_e"], {g: h[f"W_{g}_e"] for g in lstm.GATES}, at="enc.", names=ENC)
    _label([enc.z, *enc.pre.values(), *enc.gates.values(), enc.C, enc.h], _rows(words.source))
    context = _context(d, enc, words)
    dec, fed, fed_ids = _decoder_inputs(d, h, values, context, words, teacher)
    ro = _output(d, h, dec, fed, fed_ids, words, teacher)
    _backward(d, h, values, enc, dec, ro, context, fed, words)


def _ids(vocab: list[str]) -> str:
    """The vocabulary as "word = id" pairs."""
    return ", ".join(f"{w} = {n}" for n, w in enumerate(vocab))


def _sizes(words, hidden: int, embed: int) -> str:
    """The sizes the formulas' sums and ranges use (V_s, K, d, H, T, T′), named once."""
    return _("Sizes: V_s = {vs} source and K = {k} target vocabulary words (the start token included), d = {d} numbers per embedding, H = {h} hidden units, T = {t} source and T′ = {tt} target steps.").format(
        vs=len(words.src), k=len(words.tgt), d=embed, h=hidden, t=len(words.source), tt=len(words.target))


def _conventions(d: Derivation, sources: dict, words) -> str:
    kinds = {getattr(source, "how", "typed") for key, source in sources.items() if key not in ("h0_e", "C0_e")}
    how = {frozenset({"fixed"}): _("the fixed defaults (the encoder's weights are the lstm lesson's example)"),
           frozenset({"drawn"}): _("drawn uniform in [-0.5, 0.5], two decimals, with NumPy's default_rng([{s}, k])").format(s=d.seed or 0),
           frozenset({"typed"}): _("as typed")}.get(frozenset(kinds), _("partly typed, partly filled in (see where each input is from)"))
    return _("Vocabularies: the source words in order of first appearance ({src}); the target vocabulary is the start token {start} first (as SOS = 0 in PyTorch's seq2seq tutorial), then the target words in order of first appearance ({tgt}). A word is a one-hot row, and one-hot times the embedding table picks that word's row. Embeddings and weights: {how}. Weights have shape (out, in) as in PyTorch, z = [h_{{t-1}}; x_t] with h first, no biases (as in the lecture). Time steps are counted t = 0 … T-1 as in code.").format(
        src=_ids(words.src), start=words.start, tgt=_ids(words.tgt), how=how)


def _embedding(d: Derivation, ids, table, side: str, count, vocab, shown: list[str]):
    """Steps <side>_onehot (X_{t,k} = δ_{k, id_t}) and <side>_x (x_{t,j} = Σ_k X_{t,k} E_{k,j})."""
    X, x = sp.IndexedBase(f"X_{side}"), sp.IndexedBase(f"x_{side}")
    onehot_value = np.eye(len(table.value))[np.asarray(ids.value, int)]
    which = _("source") if side == "e" else _("fed")
    d.step("src_onehot" if side == "e" else "fed_onehot", _("One-hot rows of the {which} words").format(which=which),
                    explanation=_("δ_{k,id} (the Kronecker delta) is 1 where k = id, else 0: row t has a 1 in the column of word t's id and 0 elsewhere."),
                    symbol=X, index=(t, k), formula=sp.KroneckerDelta(k, ids.symbol[t]), value=onehot_value,
                    code=f"X_{side} = np.eye(len({table.var}))[{ids.var}.astype(int)]", concept="seq2seq.one_hot",
                    labels=_rows(shown))
    value = onehot_value @ table.value
    embedded = d.step("enc_x" if side == "e" else "dec_x", _("Embedding lookup: one-hot row times the table"),
                      explanation=_("x_{t,j} = Σ_k X_{t,k} E_{k,j}: X_{t,k} is 1 only at the id of word t, so x_t is that row of the table, the word's embedding (d numbers)."),
                      symbol=x, index=(t, j), formula=total(sp.Mul(X[t, k], table.symbol[k, j], evaluate=False), k, vocab), value=value,
                      code=f"x_{side} = X_{side} @ {table.var}", concept="seq2seq.embedding", labels=_rows(shown))
    size(d, count, len(value))
    return embedded


def _context(d: Derivation, enc, words) -> dict:
    d.section(_("The context (C_T, h_T): the encoder's last state"),
              _("Everything the decoder learns about the source passes through these 2H numbers. The lecture counts t = 1 … T, so its C_T, h_T are the states at the last step, t = T-1 here."))
    out = {}
    for role, name, title in (("C", "C_T", _("Context cell state C_T")), ("h", "h_T", _("Context hidden state h_T"))):
        step = getattr(enc, role)
        out[role] = d.step(f"context_{role}", title, explanation=_("The encoder's state after its last word ({word}).").format(word=words.source[-1]),
                           symbol=sp.IndexedBase(name), index=(j,), formula=step.symbol[T - 1, j], value=np.asarray(step.value)[-1],
                           code=f"{name} = {step.var}[-1]", concept=f"seq2seq.context_{role}")
    return out


def _decoder_inputs(d: Derivation, h: dict, values: dict, context: dict, words, teacher: bool):
    """Steps fed, fed_onehot, dec_x and the decoder's forward pass."""
    d.section(_("Decoder inputs: the start token, then the word before"),
              _("The decoder starts from the context and reads the start token {start} at t = 0. After that it reads ").format(start=words.start)
              + (_("the target word before (--feed teacher, teacher forcing: what training usually does).") if teacher
                 else _("its own choice at the step before (--feed predicted, as in the lecture; --feed teacher gives teacher forcing).")))
    p = _params(values)
    fed_ids = (np.concatenate([[0], np.asarray(h["tgt"].value, int)[:-1]]) if teacher
               else greedy(p, context["h"].value, context["C"].value, len(words.target)))
    fed = _fed_step(d, h, fed_ids, words, teacher)
    dec_x = _embedding(d, fed, h["E_d"], "d", T_DEC, V_TGT, [words.tgt[i] for i in fed_ids])
    d.section(_("Decoder: an LSTM started from the context"),
              _("A second cell with its own weights; its h_{{-1}}, C_{{-1}} are the context h_T, C_T, and it runs T′ = {n} steps, one per target word.").format(n=len(words.target)))
    dec = lstm.forward(d, dec_x, context["h"], context["C"], {g: h[f"W_{g}_d"] for g in lstm.GATES}, at="dec.", names=DEC,
                       count={"T": T_DEC})
    _label([dec.z, *dec.pre.values(), *dec.gates.values(), dec.C, dec.h], _rows([words.tgt[i] for i in fed_ids]))
    return dec, fed, fed_ids


def _fed_step(d: Derivation, h: dict, fed_ids: np.ndarray, words, teacher: bool):
    held = _("With predicted feeding the decoder's inputs come from an argmax, which is piecewise constant: the gradient below is taken with these fed words held fixed.")
    notes = (_("fed: {words}").format(words=" ".join(words.tgt[i] for i in fed_ids)),) + (() if teacher else (held,))
    fed = sp.IndexedBase("fed")
    if teacher:
        return d.step("fed", _("Words fed to the decoder: the start token, then the target shifted by one"),
                      explanation=_("fed_0 = 0 (the start token); fed_t = tgt_{t-1}."), symbol=fed, index=(t,),
                      formula=lstm.Cases((0, sp.Eq(t, 0)), (h["tgt"].symbol[t - 1], True)), value=fed_ids.astype(float),
                      code="fed = np.concatenate([[0.0], tgt[:-1]])", concept="seq2seq.teacher_forcing", notes=notes)
    d.define(activations.sigmoid)
    gates = ", ".join(f"W_{g}_d" for g in lstm.GATES)
    code = ("fed = np.zeros(len(tgt))\n"
            "for _t in range(1, len(tgt)):  # greedy: rerun the decoder on the words so far, feed back the most likely next one\n"
            "    _h, _C, _hs = h_T, C_T, []\n"
            "    for _w in fed[:_t]:\n"
            "        _z = np.concatenate([_h, E_d[int(_w)]])\n"
            f"        _Wf, _Wi, _Wc, _Wo = {gates}\n"
            "        _C = sigmoid(_Wf @ _z) * _C + sigmoid(_Wi @ _z) * np.tanh(_Wc @ _z)\n"
            "        _h = sigmoid(_Wo @ _z) * np.tanh(_C)\n"
            "        _hs.append(_h)\n"
            "    fed[_t] = np.argmax((np.array(_hs) @ W_y.T)[-1])")
    return d.step("fed", _("Words fed to the decoder: the start token, then its own greedy choices"),
                  explanation=_("fed_0 = 0 (the start token); fed_t = pred_{t-1}, the most likely word at the step before. That needs the decoder's output, so this code runs the decoder one step ahead; a check further down (what greedy decoding feeds) compares it with pred."),
                  symbol=fed, value=fed_ids.astype(float), code=code, concept="seq2seq.greedy_feed",
                  depends_on=("target", "tgt_emb", *(f"dec_w{g}" for g in lstm.GATES), "wy", "context_C", "context_h"), notes=notes)


def _params(values: dict) -> dict:
    """The values by the names the NumPy model (run, whole_loss, greedy) uses."""
    return {"E_e": values["E_e"], "E_d": values["E_d"], "W_y": values["W_y"], "h0": values["h0_e"], "C0": values["C0_e"],
            **{f"W_{g}_{s}": values[f"W_{g}_{s}"] for g in lstm.GATES for s in "ed"}}


def _output(d: Derivation, h: dict, dec, fed, fed_ids, words, teacher: bool):
    """Steps y, the readout (logits … loss), pred and greedy_in."""
    d.section(_("Output at each step: logits, softmax, the chosen word, cross-entropy"),
              _("g_t = W_y h^d_t scores every target-vocabulary word, ŷ_t = softmax(g_t); the greedy decoder chooses the most likely word; the loss is -log ŷ of the target word, summed over the T′ steps."))
    y_value = np.eye(len(words.tgt))[np.asarray(h["tgt"].value, int)]
    y = d.step("y", _("One-hot targets"), explanation=_("δ_{k,id} (the Kronecker delta) is 1 where k = id, else 0: row t has a 1 in the column of target word t."), symbol=sp.IndexedBase("y"),
               index=(t, k), formula=sp.KroneckerDelta(k, h["tgt"].symbol[t]), value=y_value,
               code="y = np.eye(len(E_d))[tgt.astype(int)]", concept="seq2seq.one_hot", labels=_rows(words.target))
    ro = lstm.readout(d, dec, h["W_y"], y, classes=V_TGT)
    rows = _rows([words.tgt[i] for i in fed_ids])
    _label([ro.g, ro.probs, ro.log_probs], rows, tuple(words.tgt))
    ro.g.explanation += " " + _columns(words.tgt)
    ro.loss.notes += (_("summed over the T′ = {n} target words, not averaged: PyTorch's CrossEntropyLoss averages by default (reduction='mean' divides by T′)").format(n=len(words.target)),)
    pred = _pred_step(d, ro, words, fed_ids)
    _greedy_in_step(d, pred, fed_ids, words, teacher)
    return ro


def _columns(vocab: list[str]) -> str:
    return _("Columns: the target vocabulary, {words}.").format(words=_ids(vocab))


def _pred_step(d: Derivation, ro, words, fed_ids):
    g = np.asarray(ro.g.value)
    chosen = np.argmax(g, axis=1)
    notes = tuple(_("t={t}: reads {fed} → chooses {word} (p = {p:.4f}); the target is {target}{mark}").format(
        t=n, fed=words.tgt[fed_ids[n]], word=words.tgt[c], p=ro.probs.value[n, c], target=words.target[n],
        mark=" ✓" if words.tgt[c] == words.target[n] else " ✗") for n, c in enumerate(chosen))
    ties = [n for n, row in enumerate(g) if np.sum(row == row.max()) > 1]
    if ties:
        notes += (Caution(_("at t = {ts} several words share the largest logit: argmax takes the first (lowest id), as np.argmax and torch.argmax do").format(ts=", ".join(map(str, ties)))),)
    ends = [n for n, c in enumerate(chosen) if words.tgt[c] == "<EOS>"]
    said = [words.tgt[c] for c in chosen[: ends[0] + 1]] if ends else [words.tgt[c] for c in chosen]
    notes += (_("greedy output: {words}").format(words=" ".join(said)),)
    if ends and ends[0] < len(chosen) - 1:
        notes += (_("the decoder chose <EOS> at t = {t}: at inference it would stop there; the loss still runs over all T′ = {n} target words").format(t=ends[0], n=len(chosen)),)
    return d.step("pred", _("The chosen word at each step (greedy)"),
                  explanation=_("pred_t = argmax_k g_{t,k}, the id of the most likely word: the same as the argmax of ŷ_t, since softmax keeps the order."),
                  symbol=sp.IndexedBase("pred"), index=(t,), formula=Argmax(ro.g.symbol[t, k], k, 0, V_TGT - 1),
                  value=chosen.astype(float), code=f"pred = np.argmax({ro.g.var}, axis=1)", concept="seq2seq.greedy_choice", notes=notes)


def _greedy_in_step(d: Derivation, pred, fed_ids, words, teacher: bool) -> None:
    value = np.concatenate([[0], np.asarray(pred.value, int)[:-1]])
    differ = [n for n in range(len(value)) if value[n] != fed_ids[n]]
    if not teacher:
        note = _("the same ids as fed: the greedy loop is closed")
    elif differ:
        note = _("teacher forcing fed the target word instead of the greedy choice at t = {ts}: {pairs}").format(
            ts=", ".join(map(str, differ)), pairs="; ".join(
                _("t={t} fed {fed} (greedy: {greedy})").format(t=n, fed=words.tgt[fed_ids[n]], greedy=words.tgt[value[n]]) for n in differ))
    else:
        note = _("the greedy choices equal the target words here, so teacher forcing fed the same words as greedy decoding would")
    d.step("greedy_in", _("What greedy decoding feeds: the start token, then pred_{t-1}"),
           explanation=_("greedy_t = 0 at t = 0, else pred_{t-1}."), symbol=sp.IndexedBase("greedy"), index=(t,),
           formula=lstm.Cases((0, sp.Eq(t, 0)), (pred.symbol[t - 1], True)), value=value.astype(float),
           code="greedy = np.concatenate([[0.0], pred[:-1]])", concept="seq2seq.greedy_feed", notes=(note,))


def _backward(d: Derivation, h: dict, values: dict, enc, dec, ro, context, fed, words) -> None:
    p, src, fed_ids = _params(values), np.asarray(h["src"].value, int), np.asarray(fed.value, int)
    y = np.asarray(ro.target.value, float)
    whole = _whole_loss_checks(p, src, fed_ids, y, context)
    said = (_("Each weight gradient and the gradient at the context is checked against finite differences of the whole loss, rerun from the inputs with the fed words held fixed.") if whole
            else _("At these sizes the gradients are checked against finite differences of their local chain-rule surrogates (the whole loss would be slow)."))
    d.section(_("Backward: ∂L/∂g = ŷ - y, then W_y"), _("Back from the loss summed over the target, in the lecture's order; the fed words are held fixed. ") + said)
    out = lstm.readout_backward(d, ro)
    _label([out.g], _rows([words.tgt[i] for i in fed_ids]), tuple(words.tgt))
    _label([out.h], _rows([words.tgt[i] for i in fed_ids]))
    sections = {"h": (_("Backward through the decoder (BPTT)"), _("The decoder's steps in reverse: ∂L/∂h_t, the output gate, the cell state, the other gates; each W gradient is summed over the T′ steps.")),
                "time": (_("The gradient arriving back at the context (C_T, h_T)"),
                         _("The decoder's initial state is the context, so its ∂L/∂h_{-1} and ∂L/∂C_{-1} are ∂L/∂h_T and ∂L/∂C_T: everything the loss says about the source arrives through these 2H numbers."))}
    dgrads = lstm.backward(d, dec, out.h, at="dec.", checks=whole.get("dec", {}),
                           stage=lambda name: name in sections and d.section(*sections[name]))
    dgrads.h0.title, dgrads.h0.explanation = _("The gradient arriving back at the context: ∂L/∂h_T"), _(
        "The decoder's h_{-1} is the context h_T, and z^d_0 = [h_T; x^d_0]: ∂L/∂h_T is the first H entries of ∂L/∂z^d_0.")
    dgrads.C0.title, dgrads.C0.explanation = _("The gradient arriving back at the context: ∂L/∂C_T"), _(
        "The decoder's C_{-1} is the context C_T, and C^d_0 = f^d_0 ⊙ C_T + i^d_0 ⊙ C̃^d_0: ∂L/∂C_T = ∂L/∂C^d_0 ⊙ f^d_0.")
    dgrads.dh.explanation = _("h_t feeds step t's own output (∂ℓ/∂h_t) and, through z_{t+1} = [h_t; x_{t+1}], the next step: the first H entries of ∂L/∂z_{t+1}. At the last step t = T′-1 nothing follows.")
    _label([dgrads.dh, dgrads.dgate["o"], dgrads.dC, *dgrads.delta.values(), dgrads.dz, *(dgrads.dgate[g] for g in "fic")],
           _rows([words.tgt[i] for i in fed_ids]))
    d.section(_("Into the encoder (beyond the lecture)"),
              _("The lecture stops at the context. ∂L/∂h_T and ∂L/∂C_T enter the encoder as the gradient from later at its last step; its words have no loss of their own (∂ℓ/∂h^e_t = 0), and BPTT carries the gradient to the encoder's weights."))
    egrads = lstm.backward(d, enc, None, dh_last=dgrads.h0, dC_last=dgrads.C0, at="enc.", checks=whole.get("enc", {}))
    egrads.h0.title = _("Gradient at the encoder's initial hidden state h_{-1}")
    egrads.C0.title = _("Gradient at the encoder's initial cell state C_{-1}")
    egrads.dh.explanation = _("The encoder's h_t has no output of its own (∂ℓ/∂h^e_t = 0): it feeds the next step through z_{t+1} = [h_t; x_{t+1}] (the first H entries of ∂L/∂z_{t+1}); at the last step t = T-1 it is the context h_T and receives ∂L/∂h_T from the decoder.")
    _label([egrads.dh, egrads.dgate["o"], egrads.dC, *egrads.delta.values(), egrads.dz, *(egrads.dgate[g] for g in "fic")],
           _rows(words.source))


def _whole_loss_checks(p: dict, src, fed, y, context) -> dict:
    """GradientChecks of the whole loss (fed words fixed) by each weight, the context and
    the encoder's initial state, for the two backward passes; {} where too slow."""
    hidden, cols = p["W_f_e"].shape
    entries = 8 * hidden * cols + 4 * hidden
    if entries * (len(src) + len(fed)) > WHOLE_LOSS_WORK:
        return {}

    def by(key):
        loss = lambda v: whole_loss({**p, key: v}, src, fed, y)
        return GradientCheck(loss, np.array(p[key], dtype=float), losses=loss)

    hT, CT = np.asarray(context["h"].value), np.asarray(context["C"].value)
    dec = {f"W_{g}": by(f"W_{g}_d") for g in lstm.GATES}
    from_h, from_C = (lambda v: decoder_loss(p, v, CT, fed, y)), (lambda v: decoder_loss(p, hT, v, fed, y))
    dec["h0"] = GradientCheck(from_h, hT.copy(), losses=from_h)
    dec["C0"] = GradientCheck(from_C, CT.copy(), losses=from_C)
    enc = {f"W_{g}": by(f"W_{g}_e") for g in lstm.GATES}
    enc["h0"], enc["C0"] = by("h0"), by("C0")
    return {"dec": dec, "enc": enc}
