"""A transformer, one encoder block and one decoder block, forward pass in numbers.

Follows Deep Learning 101 #21, #22 (트랜스포머, 스텝 바이 스텝). Token ids (vocabulary of
|V| = 11 words, id 0 the start token <s>) become rows of an embedding table E (|V|, d_model)
plus the sinusoidal positional encoding of Vaswani et al. (2017, §3.5):

    θ_tj = t / 10000^(2⌊j/2⌋ / d_model),   PE_tj = sin θ_tj (j even), cos θ_tj (j odd)
    Xᵉ_tj = E_{src_t, j} + PE_tj            (the decoder: tgtⁱⁿ = <s>, tgt_0 .. tgt_{T-2})

Multi-head attention with H heads of d_k = d_model / H (head h uses rows h d_k .. (h+1) d_k - 1
of W_Q, W_K, W_V, each (d_model, d_model) as PyTorch's nn.MultiheadAttention):

    Q^h_tk = Σ_j X_tj W^Q_{h d_k + k, j}   (K^h, V^h the same from the key/value rows)
    A^h = softmax(Q^h K^hᵀ / √d_k (+ M, the causal mask, in the decoder)),   O^h = A^h V^h
    C_tj = O^h_{t, j - h d_k} for h d_k <= j < (h+1) d_k   (the heads concatenated)
    MHA_ti = Σ_j C_tj W^O_ij

Post-LN sublayers: N = LayerNorm(x + Sublayer(x)), with the mean, the biased variance and
(x - μ)/√(σ² + ε) per position (γ = 1, β = 0); the feed-forward network
F = max(0, N W_1ᵀ) W_2ᵀ (no biases). The decoder: masked self-attention, add & norm,
encoder-decoder attention (Q from the decoder, K and V from the encoder's output), add &
norm, feed-forward, add & norm; then logits o_tv = Σ_j N_tj W^out_vj, a softmax per position
and, beyond the forward pass, the teacher-forced cross-entropy L = -(1/T) Σ_t log P_{t, tgt_t}.
The scores, mask, softmax and weighted sums are the `attention` block's, the layer norms
the `normalization` block's. No backward pass.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import activations, attention
from dlsteps.blocks.lstm import Cases
from dlsteps.blocks.normalization import layer_norm
from dlsteps.blocks.symbols import i, j, k, l, size, t, total
from dlsteps.errors import InputError, LessonError
from dlsteps.i18n import N_, _
from dlsteps.model import Derivation
from dlsteps.symbolic import Maximum, exponential

WORDS = ["<s>", "</s>", "I", "love", "you", "pizza", "나는", "너를", "피자를", "사랑해", "좋아해"]

META = {
    "title": "Transformer: attention, heads, add & norm, masking, step by step",
    "lecture": "DL101 #21, #22 (트랜스포머, 스텝 바이 스텝)",
    "summary": "token embeddings + sinusoidal positions, multi-head scaled dot-product attention, post-LN add & norm, ReLU feed-forward, the decoder's causal mask and encoder-decoder attention, softmax over the vocabulary",
    "example": "dlsteps transformer --source 2,3,5 --target 6,8,10 --heads 2 --seed 1",
    "inputs": {
        "source": {"shape": "vector S", "domain": "0..1000", "default": "2,3,5",
                   "help": "source token ids (default: I love pizza); the default vocabulary is 0 <s>, 1 </s>, 2 I, 3 love, 4 you, 5 pizza, 6 나는, 7 너를, 8 피자를, 9 사랑해, 10 좋아해"},
        "target": {"shape": "vector T", "domain": "0..1000", "default": "6,8,10",
                   "help": "target token ids (default: 나는 피자를 좋아해); the decoder reads <s> and the target shifted by one"},
        "vocab": {"shape": "count", "domain": "2..1000", "default": "11", "help": "the vocabulary size |V| (token ids 0 .. |V|-1; 0 is the start token <s>)"},
        "d_model": {"shape": "count", "domain": "1..128", "default": "6", "help": "the model width d_model"},
        "heads": {"shape": "count", "domain": "1..16", "default": "2", "help": "the number of heads H; it must divide d_model (d_k = d_model / H)"},
        "d_ff": {"shape": "count", "domain": "1..512", "default": "12", "help": "the width d_ff of the feed-forward layer"},
        "seq_len": {"shape": "count", "domain": "1..64", "default": "", "optional": True,
                    "help": "draw source and target ids of this length (from --seed, 1 .. |V|-1) where they are not typed"},
        "eps": {"shape": "scalar", "domain": "positive", "default": "1e-5", "help": "ε of the layer norms (PyTorch's default 1e-5)"},
        "embedding": {"shape": "matrix * *", "optional": True, "default": "",
                    "help": "the embedding table E (vocab × d_model), one row per token id; drawn when not given"},
        "wq_enc": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the query weights W_Q of the encoder (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wk_enc": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the key weights W_K of the encoder (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wv_enc": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the value weights W_V of the encoder (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wo_enc": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the output projection W_O of the encoder (d_model × d_model; columns h·d_k .. (h+1)·d_k - 1 act on head h); drawn when not given"},
        "w1_enc": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the first feed-forward layer W_1 of the encoder (d_ff × d_model); drawn when not given"},
        "w2_enc": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the second feed-forward layer W_2 of the encoder (d_model × d_ff); drawn when not given"},
        "wq_self": {"shape": "matrix * *", "optional": True, "default": "",
                  "help": "the query weights W_Q of the decoder's masked self-attention (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wk_self": {"shape": "matrix * *", "optional": True, "default": "",
                  "help": "the key weights W_K of the decoder's masked self-attention (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wv_self": {"shape": "matrix * *", "optional": True, "default": "",
                  "help": "the value weights W_V of the decoder's masked self-attention (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wo_self": {"shape": "matrix * *", "optional": True, "default": "",
                  "help": "the output projection W_O of the decoder's masked self-attention (d_model × d_model; columns h·d_k .. (h+1)·d_k - 1 act on head h); drawn when not given"},
        "wq_cross": {"shape": "matrix * *", "optional": True, "default": "",
                   "help": "the query weights W_Q of the encoder-decoder attention (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wk_cross": {"shape": "matrix * *", "optional": True, "default": "",
                   "help": "the key weights W_K of the encoder-decoder attention (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wv_cross": {"shape": "matrix * *", "optional": True, "default": "",
                   "help": "the value weights W_V of the encoder-decoder attention (d_model × d_model; head h uses rows h·d_k .. (h+1)·d_k - 1); drawn when not given"},
        "wo_cross": {"shape": "matrix * *", "optional": True, "default": "",
                   "help": "the output projection W_O of the encoder-decoder attention (d_model × d_model; columns h·d_k .. (h+1)·d_k - 1 act on head h); drawn when not given"},
        "w1_dec": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the first feed-forward layer W_1 of the decoder (d_ff × d_model); drawn when not given"},
        "w2_dec": {"shape": "matrix * *", "optional": True, "default": "",
                 "help": "the second feed-forward layer W_2 of the decoder (d_model × d_ff); drawn when not given"},
        "wout": {"shape": "matrix * *", "optional": True, "default": "",
               "help": "W_out (vocab × d_model), the final linear layer to the vocabulary; drawn when not given"},

    },
}

# input name: (plain, Unicode, LaTeX, rows, columns, fan-in (None: not scaled))
WEIGHTS = {
    "embedding": ("E", "E", "E", "vocab", "model", None),
    **{f"w{r.lower()}_{block}": (f"W_{r}{tag}", f"W_{r}{sup}", rf"W_{{{r}}}^{{{tag}}}", "model", "model", "model")
       for block, tag, sup in (("enc", "e", "ᵉ"),) for r in "QKVO"},
    "w1_enc": ("W_1e", "W₁ᵉ", "W_{1}^{e}", "ff", "model", "model"),
    "w2_enc": ("W_2e", "W₂ᵉ", "W_{2}^{e}", "model", "ff", "ff"),
    **{f"w{r.lower()}_{block}": (f"W_{r}{tag}", f"W_{r}{sup}", rf"W_{{{r}}}^{{{tag}}}", "model", "model", "model")
       for block, tag, sup in (("self", "d", "ᵈ"), ("cross", "c", "ᶜ")) for r in "QKVO"},
    "w1_dec": ("W_1d", "W₁ᵈ", "W_{1}^{d}", "ff", "model", "model"),
    "w2_dec": ("W_2d", "W₂ᵈ", "W_{2}^{d}", "model", "ff", "ff"),
    "wout": ("W_out", "W_out", r"W^{\mathrm{out}}", "vocab", "model", "model"),
}
WEIGHT_TEXT = {"embedding": N_("embedding table"), "wout": N_("output layer to the vocabulary")}
ROWS = {"model": "d_model", "ff": "d_ff", "vocab": "vocab"}

DM = sp.Symbol("d_model", integer=True, positive=True)
DK = sp.Symbol("d_k", integer=True, positive=True)
DF = sp.Symbol("d_ff", integer=True, positive=True)
NV = sp.Symbol("n_V", integer=True, positive=True)
TS = sp.Symbol("T_s", integer=True, positive=True)
TT = sp.Symbol("T_t", integer=True, positive=True)
v = sp.Symbol("v", integer=True, nonnegative=True)
TAGS = {"e": "ᵉ", "d": "ᵈ", "c": "ᶜ", "o": "ᵒ"}
DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class Token(sp.Function):
    """A token id used as an array index: written as the id itself, evaluated with NumPy as
    a whole number (so ids given as floats, e.g. rounded for the quiz, still index E)."""

    nargs = 1

    def _latex(self, printer) -> str:
        return printer._print(self.args[0])

    def _pretty(self, printer):
        return printer._print(self.args[0])

    def _numpycode(self, printer) -> str:
        return f"{printer._module_format('numpy.rint')}({printer._print(self.args[0])}).astype(int)"

    def _sympystr(self, printer) -> str:
        """As an index in a subscript, src[t] is written srcₜ (E_srcₜ,j: row src_t of E)."""
        from dlsteps.printers.formulas import subscript

        arg = self.args[0]
        if isinstance(arg, sp.Indexed):
            return str(arg.base.label) + subscript([str(index) for index in arg.indices])
        return printer._print(arg)


def _sup(tag: str) -> str:
    return "".join(TAGS.get(ch, ch) for ch in tag).translate(DIGITS)


def _symbol(d: Derivation, base: str, tag: str, latex: str = "") -> sp.IndexedBase:
    """An IndexedBase `base_tag` shown as base with the tag as a superscript (Qᵉ⁰, Q^{e0})."""
    return d.name(sp.IndexedBase(f"{base}_{tag}"), f"{base}{_sup(tag)}", f"{latex or base}^{{{tag}}}")


def _names(base: str, tag: str, latex: str = "", unicode: str = "") -> tuple[str, str, str]:
    return f"{base}_{tag}", f"{unicode or base}{_sup(tag)}", f"{latex or base}^{{{tag}}}"


def _sizes(d: Derivation) -> None:
    for symbol, unicode, latex in ((DM, "d_model", r"d_{\mathrm{model}}"), (DK, "dₖ", "d_{k}"), (DF, "d_ff", r"d_{\mathrm{ff}}"),
                                   (NV, "|V|", "|V|"), (TS, "Tₛ", "T_{s}"), (TT, "Tₜ", "T_{t}")):
        d.name(symbol, unicode, latex)


# ---- inputs ----------------------------------------------------------------------------


def _count(given: dict, name: str) -> int:
    return int(given[name].value)


def _tokens(d: Derivation, given: dict, name: str, vocab: int, stream: int) -> np.ndarray:
    """Typed ids, checked against the vocabulary; or, with --seq-len and none typed, drawn."""
    item, length = given[name], given["seq_len"].value
    option = "--" + name
    if length is not None and item.origin == "default":
        return np.random.default_rng([d.seed or 0, stream]).integers(1, vocab, int(length))
    ids = np.asarray(item.value, dtype=int)
    bad = ids[ids >= vocab]
    if len(bad):
        raise InputError(_("{option}: token {token} is out of range; expected ids from 0 to {last} (--vocab {vocab})").format(
            option=option, token=int(bad[0]), last=vocab - 1, vocab=vocab))
    return ids


def _dims(given: dict) -> dict:
    sizes = {"model": _count(given, "d_model"), "ff": _count(given, "d_ff"), "vocab": _count(given, "vocab")}
    heads = _count(given, "heads")
    if sizes["model"] % heads:
        divisors = [n for n in range(1, sizes["model"] + 1) if sizes["model"] % n == 0]
        raise InputError(_("--heads: {heads} does not divide --d-model {model}; expected one of {divisors}").format(
            heads=heads, model=sizes["model"], divisors=", ".join(map(str, divisors))))
    return {**sizes, "heads": heads}


def _weight(d: Derivation, given: dict, name: str, dims: dict, stream: int) -> np.ndarray:
    """A typed weight matrix of the expected shape, or one drawn: uniform in [-1, 1] divided
    by √fan_in (the embedding table: not divided), rounded to 2 decimals."""
    plain, unicode, latex, rows, cols, fan = WEIGHTS[name]
    shape = (dims[rows], dims[cols])
    if given[name].value is not None:
        value = np.asarray(given[name].value, dtype=float)
        if value.shape != shape:
            option = "--" + name.replace("_", "-")
            raise InputError(_("{option}: got a {r}x{c} matrix; expected {er}x{ec} ({rows} × {cols})").format(
                option=option, r=value.shape[0], c=value.shape[1], er=shape[0], ec=shape[1],
                rows=ROWS[rows], cols=ROWS[cols]))
        return value
    scale = np.sqrt(dims[fan]) if fan else 1.0
    return (np.random.default_rng([d.seed or 0, stream]).uniform(-1, 1, shape) / scale).round(2)


def _describe(name: str) -> str:
    """The description of a weight input, e.g. "W_Q of the encoder"."""
    if name in WEIGHT_TEXT:
        return _(WEIGHT_TEXT[name])
    role, block = name.split("_")
    where = {"enc": _("encoder"), "self": _("decoder self-attention"), "cross": _("encoder-decoder attention"), "dec": _("decoder")}[block]
    return _("{W} of the {where}").format(W={"wq": "W_Q", "wk": "W_K", "wv": "W_V", "wo": "W_O", "w1": "W_1", "w2": "W_2"}[role], where=where)


def _inputs(d: Derivation, given: dict) -> dict:
    """Record every input; returns the handles by name (and the sizes under "dims")."""
    dims = _dims(given)
    h = {"dims": dims}
    src, tgt = _tokens(d, given, "source", dims["vocab"], 100), _tokens(d, given, "target", dims["vocab"], 101)
    for name, ids, plain, what in (("source", src, "src", _("source token ids")), ("target", tgt, "tgt", _("target token ids"))):
        source = given[name] if given["seq_len"].value is None or given[name].origin != "default" else None
        h[name] = d.given(name, sp.IndexedBase(plain), ids, source, what)
    h["eps"] = d.given("eps", d.name(sp.Symbol("epsilon"), "ε", r"\varepsilon"), float(given["eps"].value), given["eps"], _("ε of the layer norms"))
    for stream, name in enumerate(WEIGHTS):
        plain, unicode, latex = WEIGHTS[name][:3]
        value = _weight(d, given, name, dims, stream)
        source = given[name] if given[name].value is not None else None
        h[name] = d.given(name, d.name(sp.IndexedBase(plain), unicode, latex), value, source, _describe(name))
    h["drawn"] = [name for name in WEIGHTS if given[name].value is None]
    return h


# ---- embeddings ------------------------------------------------------------------------


def _labels(ids: np.ndarray, vocab: int) -> tuple[str, ...]:
    words = WORDS if vocab == len(WORDS) else None
    return tuple(words[i] if words else f"#{i}" for i in ids)


def _drawn_text(d: Derivation, h: dict) -> str:
    """Which weights were drawn, and how (computed from what was typed)."""
    if not h["drawn"]:
        return _("Every weight was typed.")
    which = _("The weights") if len(h["drawn"]) == len(WEIGHTS) else _("The weights not typed ({names})").format(names=", ".join(h["drawn"]))
    return _("{which} are not from the lecture: drawn with NumPy's default_rng([{seed}, k]) (k: the input's place in the list), uniform in [-1, 1] divided by √fan_in (the embedding table: not divided) and rounded to 2 decimals; type any of them (--wq-enc …) to choose it.").format(
        which=which, seed=d.seed or 0)


def _tokens_section(d: Derivation, h: dict) -> np.ndarray:
    vocab = h["dims"]["vocab"]
    src, tgt = h["source"].value, h["target"].value
    d.section(_("Tokens: the source, and the target shifted by a start token"),
              _("Token ids index the vocabulary ({words}). The decoder reads the start token <s> (id 0) and then the target shifted right by one, so position t predicts target word t from the words before it (teacher forcing).").format(
                  words=", ".join(f"{i} {w}" for i, w in enumerate(WORDS)) if vocab == len(WORDS) else _("{n} ids, 0 = <s>").format(n=vocab))
              + " " + _("Conventions: positions t = 0 … T-1 as in code; tokens are rows and weights have shape (out, in) as in PyTorch's nn.Linear, so a layer computes x Wᵀ; no biases anywhere.")
              + " " + _drawn_text(d, h))
    fed = np.concatenate([[0], tgt[:-1]]).astype(int)
    notes = (_("source: {src}; decoder reads: {fed}; it should predict: {tgt}").format(
        src=" ".join(_labels(src, vocab)), fed=" ".join(_labels(fed, vocab)), tgt=" ".join(_labels(tgt, vocab))),)
    h["fed"] = d.step("dec_in", _("Decoder input: <s>, then the target shifted by one"),
                      explanation=_("tgtⁱⁿ_0 = 0 (the start token <s>), tgtⁱⁿ_t = tgt_{t-1}."),
                      symbol=d.name(sp.IndexedBase("tgt_in"), "tgtⁱⁿ", r"\mathrm{tgt}^{\mathrm{in}}"), index=(t,),
                      formula=Cases((0, sp.Eq(t, 0)), (h["target"].symbol[t - 1], True)), value=fed,
                      code=f"tgt_in = np.concatenate([[0], {h['target'].var}[:-1]]).astype(int)", concept="transformer.shift_right",
                      notes=notes)
    return fed


def positions_values(rows: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """NumPy (θ, PE): θ_tj = t / 10000^(2⌊j/2⌋/d), PE = sin θ for even j, cos θ for odd j."""
    pos, col = np.indices((rows, width))
    angle = pos / 10000.0 ** (2 * (col // 2) / width)
    return angle, np.where(col % 2 == 0, np.sin(angle), np.cos(angle))


def _embeddings(d: Derivation, h: dict) -> dict:
    d.section(_("Embeddings and the sinusoidal positional encoding"),
              _("Each token id picks its row of the embedding table E; attention itself ignores order, so a positional encoding PE is added (Vaswani et al. 2017, §3.5): sin on the even columns, cos on the odd ones, with wavelengths growing from 2π to 10000·2π across the columns. The paper also multiplies the embeddings by √d_model; this lesson does not, to keep the numbers small."))
    src, fed, width = h["source"].value, h["fed"].value, h["dims"]["model"]
    rows = max(len(src), len(fed))
    size(d, DM, width)
    size(d, NV, h["dims"]["vocab"])
    angle_v, pe_v = positions_values(rows, width)
    theta = d.name(sp.IndexedBase("theta"), "θ", r"\theta")
    d.step("angle", _("Angles of the positional encoding"),
                   explanation=_("θ_tj = t / 10000^(2i/d_model) for the column pair i = ⌊j/2⌋: columns 2i and 2i+1 share one frequency."),
                   symbol=theta, index=(t, j), formula=_over_wavelength(t, 2 * sp.floor(j / 2) / DM), value=angle_v,
                   code="theta = np.arange(max(len(src), len(tgt_in)))[:, None] / 10000.0 ** (2 * (np.arange(E.shape[1]) // 2) / E.shape[1])",
                   concept="transformer.pe_angle", notes=_angle_note(angle_v, width))
    pe = d.step("pos_enc", _("Positional encoding"),
                explanation=_("PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)); row 0 is 0, 1, 0, 1, …"),
                symbol=sp.IndexedBase("PE"), index=(t, j),
                formula=sp.Piecewise((sp.sin(theta[t, j]), sp.Eq(sp.Mod(j, 2), 0)), (sp.cos(theta[t, j]), True)), value=pe_v,
                code="PE = np.where(np.arange(E.shape[1]) % 2 == 0, np.sin(theta), np.cos(theta))", concept="transformer.positional_encoding",
                display="heatmap", notes=_encoding_note(angle_v, pe_v))
    out = {}
    for side, ids, tokens, count in (("e", h["source"], src, TS), ("d", h["fed"], fed, TT)):
        size(d, count, len(tokens))
        X = _symbol(d, "X", side)
        which = _("source") if side == "e" else _("decoder input")
        out[side] = d.step(f"{'src' if side == 'e' else 'tgt'}_x", _("Embedding plus position ({which})").format(which=which),
                           explanation=_("X_tj = E_{id_t, j} + PE_tj: the row of E for the token at position t, plus the encoding of position t."),
                           symbol=X, index=(t, j), formula=h["embedding"].symbol[Token(ids.symbol[t]), j] + pe.symbol[t, j],
                           value=h["embedding"].value[tokens] + pe_v[: len(tokens)],
                           code=f"X_{side} = E[{ids.var}.astype(int)] + PE[:len({ids.var})]", concept="transformer.embedding",
                           labels=(_labels(tokens, h["dims"]["vocab"]), ()), notes=_element_note(d, X, tokens, h, pe_v))
    return out


def _over_wavelength(position, exponent) -> sp.Expr:
    """position / 10000^exponent, kept as the fraction the paper writes (SymPy would write
    10000^(-exponent)⋅position)."""
    power = sp.Pow(sp.Integer(10000), exponent, evaluate=False)
    return sp.Mul(position, sp.Pow(power, -1, evaluate=False), evaluate=False)


def _shown(x: float) -> float:
    """A number as the terminal shows it (4 significant digits)."""
    return float(f"{x:.4g}")


def _equals(exact: float, from_shown: float) -> str:
    """"=" where the shown operands give the shown result, else "≈"."""
    return "=" if f"{from_shown:.4g}" == f"{exact:.4g}" else "≈"


def _element(shape: tuple) -> tuple[int, int]:
    """The element (1, 2) written out in a note, or the nearest one a small table has."""
    return min(1, shape[0] - 1), min(2, shape[1] - 1)


def _angle_note(angle: np.ndarray, width: int) -> tuple[str, ...]:
    """θ_12 = 1 / 10000^(2·1/6) = 1 / 21.54 = 0.04642 (row 0 is all 0, so another element)."""
    r, c = _element(angle.shape)
    pair = c // 2
    wavelength = 10000.0 ** (2 * pair / width)
    return (_("θ_{r}{c} = {r} / 10000^(2·{i}/{dm}) = {r} / {den:.4g} {eq} {value:.4g} (column {c}: i = ⌊{c}/2⌋ = {i})").format(
        r=r, c=c, i=pair, dm=width, den=wavelength, value=angle[r, c], eq=_equals(angle[r, c], r / _shown(wavelength))),)


def _encoding_note(angle: np.ndarray, pe: np.ndarray) -> tuple[str, ...]:
    """The same element as the angle's note: PE_12 = sin θ_12 = sin(0.04642) = 0.0464."""
    r, c = _element(pe.shape)
    name, f = ("sin", np.sin) if c % 2 == 0 else ("cos", np.cos)
    return (_("PE_{r}{c} = {f} θ_{r}{c} = {f}({theta:.4g}) {eq} {value:.4g}").format(
        r=r, c=c, f=name, theta=angle[r, c], value=pe[r, c], eq=_equals(pe[r, c], f(_shown(angle[r, c])))),)


def _element_note(d: Derivation, X, tokens: np.ndarray, h: dict, pe: np.ndarray) -> tuple[str, ...]:
    """Element (1, 0) (or (0, 0) for one token) written out: a row of E plus an encoding."""
    r = min(1, len(tokens) - 1)
    name, e = d.names[str(X)][0], float(h["embedding"].value[tokens[r], 0])
    return (_("{X}_{r}0 = E_{id},0 + PE_{r}0 = {e:.4g} + {pe:.4g} {eq} {value:.4g} (position {r} holds {word}, id {id})").format(
        X=name, r=r, id=int(tokens[r]), e=e, pe=pe[r, 0], value=e + pe[r, 0], eq=_equals(e + pe[r, 0], _shown(e) + _shown(pe[r, 0])),
        word=_labels(tokens[r:r + 1], h["dims"]["vocab"])[0]),)


# ---- multi-head attention --------------------------------------------------------------


def _project(d: Derivation, id: str, title: str, X, W, symbol, head: int, heads: int, labels: tuple):
    """Q^h_tk = Σ_j X_tj W_{h d_k + k, j}: the rows of W that belong to head h."""
    value = np.asarray(X.value) @ np.split(np.asarray(W.value), heads)[head].T
    return d.step(id, title, explanation=_("Head {h} uses rows {lo} .. {hi} of {W} (d_k = {dk} rows per head): {name}_tk = Σ_j {X}_tj {W}_(h·d_k + k),j with h·d_k = {lo}.").format(
                      h=head, lo=head * value.shape[1], hi=(head + 1) * value.shape[1] - 1, W=d.names[str(W.symbol)][0], dk=value.shape[1],
                      name=d.names[str(symbol)][0], X=d.names[str(X.symbol)][0]),
                  symbol=symbol, index=(t, k), formula=total(sp.Mul(X.symbol[t, j], W.symbol[head * DK + k, j], evaluate=False), j, DM), value=value,
                  code=f"{symbol} = {X.var} @ np.split({W.var}, {heads})[{head}].T", concept="transformer.head_projection",
                  labels=(labels, ()))


def _head_names(tag: str) -> dict:
    return {"scores": _names("S", tag), "mask": _names("M", tag), "masked": (f"Sm_{tag}", f"S̃{_sup(tag)}", rf"\tilde{{S}}^{{{tag}}}"),
            "m": _names("m", tag), "u": _names("u", tag), "Z": _names("Z", tag), "weights": _names("A", tag), "output": _names("O", tag)}


def _multi_head(d: Derivation, h: dict, tag: str, block: str, at: str, queries, memory, causal: bool, labels: tuple):
    """Every head's projections and attention, the concatenation and W_O; returns the W_O step."""
    heads, rows = h["dims"]["heads"], (TT if tag != "e" else TS)
    keys_count = TS if tag != "d" else TT
    size(d, DK, h["dims"]["model"] // heads)
    W = {r: h[f"w{r}_{block}"] for r in "qkvo"}
    outputs = []
    for head in range(heads):
        where = {"e": _("encoder self-attention"), "d": _("decoder masked self-attention"), "c": _("encoder-decoder attention")}[tag]
        d.section(_("{where}, head {h}").format(where=where, h=head).capitalize(), _HEAD_TEXT[tag]())
        ids = f"{at}h{head}."
        q = _project(d, f"{ids}q", _("Queries of head {h}").format(h=head), queries, W["q"], _symbol(d, "Q", f"{tag}{head}"), head, heads, labels[0])
        key = _project(d, f"{ids}k", _("Keys of head {h}").format(h=head), memory, W["k"], _symbol(d, "K", f"{tag}{head}"), head, heads, labels[1])
        val = _project(d, f"{ids}v", _("Values of head {h}").format(h=head), memory, W["v"], _symbol(d, "V", f"{tag}{head}"), head, heads, labels[1])
        att = attention.attention(d, q, key, val, at=ids, names=_head_names(f"{tag}{head}"), scale=True, causal=causal,
                                  count={"queries": rows, "keys": keys_count, "dim": DK}, labels=labels)
        if causal:
            att.weights.notes += _zero_weights_note(att.weights.value)
        att.output.labels = (labels[0], ())
        outputs.append(att.output)
    return _combine(d, h, tag, at, outputs, W["o"], labels[0])


def _zero_weights_note(A: np.ndarray) -> tuple[str, ...]:
    """The weights above the diagonal, counted; they are exactly 0 (anything else is a bug)."""
    upper = np.triu(np.ones(A.shape, bool), 1)
    if np.any(A[upper] != 0):
        raise LessonError("transformer: a masked attention weight is not exactly 0")
    if not upper.any():
        return (_("one position only: nothing to mask"),)
    return (_("the {n} weights above the diagonal are exactly 0: no position attends to a later one").format(n=int(upper.sum())),)


_PART = {"e": lambda: _("Encoder self-attention"), "d": lambda: _("Decoder masked self-attention"),
         "c": lambda: _("Encoder-decoder attention")}
_HEAD_TEXT = {
    "e": lambda: _("Every source position asks (query) every source position (keys) which values to mix: A = softmax(Q Kᵀ / √d_k), O = A V. Divided by √d_k, as the paper does per head."),
    "d": lambda: _("The decoder's self-attention is masked: position t may only look at positions ≤ t, since at inference the later words do not exist yet. The scores above the diagonal become -∞ and their weights exactly 0."),
    "c": lambda: _("Encoder-decoder attention: the queries come from the decoder (its add & norm output), the keys and values from the encoder's output. Each decoder position reads the whole source; no mask."),
}


def _combine(d: Derivation, h: dict, tag: str, at: str, outputs: list, Wo, labels: tuple):
    """Steps concat (C_tj = O^h_{t, j - h d_k}) and proj (MHA_ti = Σ_j C_tj W^O_ij)."""
    d.section(_("{part}: heads concatenated and projected by W_O").format(part=_PART[tag]()),
              _("The head outputs O^0, O^1, … (each T × d_k) are laid side by side into one T × d_model matrix C, and W_O mixes the heads: MHA = C W_Oᵀ."))
    C = _symbol(d, "C", tag)
    pairs = [(out.symbol[t, j - head * DK], j < (head + 1) * DK) for head, out in enumerate(outputs)]
    pairs[-1] = (pairs[-1][0], True)
    concat = d.step(f"{at}concat", _("Concatenate the heads"),
                    explanation=_("Columns h·d_k .. (h+1)·d_k - 1 of C are head h's output."),
                    symbol=C, index=(t, j), formula=Cases(*pairs), value=np.concatenate([o.value for o in outputs], axis=1),
                    code=f"C_{tag} = np.concatenate([{', '.join(o.var for o in outputs)}], axis=1)", concept="transformer.concat_heads",
                    labels=(labels, ()))
    M = d.name(sp.IndexedBase(f"MHA_{tag}"), f"MHA{_sup(tag)}", rf"\mathrm{{MHA}}^{{{tag}}}")
    return d.step(f"{at}proj", _("Output projection W_O"), explanation=_("MHA_ti = Σ_j C_tj W^O_ij: each output column mixes every head."),
                  symbol=M, index=(t, i), formula=total(C[t, j] * Wo.symbol[i, j], j, DM), value=concat.value @ Wo.value.T,
                  code=f"MHA_{tag} = C_{tag} @ {Wo.var}.T", concept="transformer.output_projection", labels=(labels, ()))


# ---- add & norm, feed-forward ----------------------------------------------------------


def _add_norm(d: Derivation, h: dict, at: str, tag: str, x, sub, rows, labels: tuple):
    """Steps add (R = x + Sublayer(x)) and the layer norm's mean, variance, normalize."""
    d.section(_("{part}: add & norm, LayerNorm(x + Sublayer(x))").format(part=_("Encoder") if tag[0] == "e" else _("Decoder")),
              _("Post-LN, as in the paper: the sublayer's output is added to its input (the residual connection), then each position is normalized across its d_model features. γ = 1 and β = 0 (their initial values), so the output is x̂."))
    R = _symbol(d, "R", tag)
    res = d.step(f"{at}add{tag[1]}", _("Residual connection"), explanation=_("R_tj = x_tj + Sublayer(x)_tj."), symbol=R, index=(t, j),
                 formula=sp.Add(x.symbol[t, j], sub.symbol[t, j], evaluate=False), value=np.asarray(x.value) + np.asarray(sub.value),
                 code=f"R_{tag} = {x.var} + {sub.var}", concept="transformer.residual", labels=(labels, ()))
    names = {"mu": _names("mu", tag, r"\mu", "μ"), "var": (f"var_{tag}", f"σ²⁽{_sup(tag)}⁾", rf"\sigma^{{2\,({tag})}}"),
             "xhat": _names("N", tag)}
    norm = layer_norm(d, res, None, None, h["eps"], at=f"{at}ln{tag[1]}.", names=names, rows=rows, features=DM)
    norm.xhat.labels = (labels, ())
    return norm.xhat


def _feed_forward(d: Derivation, h: dict, at: str, tag: str, x, block: str, labels: tuple):
    """Steps hidden (Z = x W_1ᵀ), relu (H = max(0, Z)), out (F = H W_2ᵀ)."""
    d.section(_("{part}: position-wise feed-forward network").format(part=_("Encoder") if tag == "e" else _("Decoder")),
              _("The same two layers at every position: FFN(x) = max(0, x W_1ᵀ) W_2ᵀ, d_model → d_ff → d_model, no biases (the paper has biases; this lesson leaves them out)."))
    size(d, DF, h["dims"]["ff"])
    W1, W2 = h[f"w1_{block}"], h[f"w2_{block}"]
    Z, H, F = _symbol(d, "Z", tag), _symbol(d, "H", tag), _symbol(d, "F", tag)
    zv = np.asarray(x.value) @ W1.value.T
    d.step(f"{at}hidden", _("First layer"), explanation=_("Z_tl = Σ_j x_tj W₁_lj."), symbol=Z, index=(t, l),
                    formula=total(x.symbol[t, j] * W1.symbol[l, j], j, DM), value=zv, code=f"Z_{tag} = {x.var} @ {W1.var}.T",
                    concept="transformer.ffn_hidden", labels=(labels, ()))
    negative = int((zv < 0).sum())
    relu = d.step(f"{at}relu", _("ReLU"), explanation=_("H_tl = max(0, Z_tl)."), symbol=H, index=(t, l),
                  formula=activations.formula("relu", Z[t, l]), value=activations.values("relu", zv),
                  code=f"H_{tag} = " + activations.CODE["relu"].format(z=f"Z_{tag}"), concept="activations.relu", labels=(labels, ()),
                  notes=(_("{n} of the {total} entries were negative and are now 0").format(n=negative, total=zv.size),) if negative else ())
    return d.step(f"{at}out", _("Second layer"), explanation=_("F_tj = Σ_l H_tl W₂_jl."), symbol=F, index=(t, j),
                  formula=total(H[t, l] * W2.symbol[j, l], l, DF), value=relu.value @ W2.value.T, code=f"F_{tag} = H_{tag} @ {W2.var}.T",
                  concept="transformer.ffn_out", labels=(labels, ()))


# ---- output ----------------------------------------------------------------------------


def output_values(N: np.ndarray, W: np.ndarray) -> tuple:
    """NumPy (o, m, u, Z, P): logits and a softmax per row."""
    o = N @ W.T
    m = o.max(axis=1)
    u = np.exp(o - m[:, None])
    return o, m, u, u.sum(axis=1), u / u.sum(axis=1)[:, None]


def _output(d: Derivation, h: dict, N, labels: tuple):
    """Steps logits, out.shift, out.exp, out.sum, out.softmax, loss."""
    d.section(_("Final linear layer to the vocabulary and softmax"),
              _("Each decoder position gets |V| logits o_tv = Σ_j N_tj W^out_vj and a softmax over the vocabulary: the probability of each word being next."))
    o_v, m_v, u_v, Z_v, P_v = output_values(N.value, h["wout"].value)
    W, vocab = h["wout"], h["dims"]["vocab"]
    words = _labels(np.arange(vocab), vocab)
    o = sp.IndexedBase("o")
    logits = d.step("logits", _("Logits"), explanation=_("o_tv = Σ_j N_tj W^out_vj, W^out of shape (|V|, d_model)."), symbol=o, index=(t, v),
                    formula=total(N.symbol[t, j] * W.symbol[v, j], j, DM), value=o_v, code=f"o = {N.var} @ {W.var}.T",
                    concept="transformer.logits", labels=(labels, words))
    m, u, Z = (_symbol(d, name, "o") for name in ("m", "u", "Z"))
    P = sp.IndexedBase("P")
    shift = d.step("out.shift", _("Shift each row by its largest logit"), explanation=_("m_t = max_v o_tv: exp never overflows."),
                   symbol=m, index=(t,), formula=Maximum(o[t, v], v, 0, NV - 1), value=m_v, code="m_o = o.max(axis=1)", concept="softmax_ce.shift")
    d.step("out.exp", _("Exponentials"), symbol=u, index=(t, v), formula=exponential(o[t, v] - m[t]), value=u_v,
                 code="u_o = np.exp(o - m_o[:, None])", concept="softmax_ce.exp", labels=(labels, words))
    total_ = d.step("out.sum", _("Row sums"), symbol=Z, index=(t,), formula=total(u[t, v], v, NV), value=Z_v, code="Z_o = u_o.sum(axis=1)",
                    concept="softmax_ce.sum")
    best = P_v.argmax(axis=1)
    probs = d.step("out.softmax", _("Probabilities of the next word"), explanation=_("P_tv = u_tv / Z_t: each row sums to 1."),
                   symbol=P, index=(t, v), formula=u[t, v] / Z[t], value=P_v, code="P = u_o / Z_o[:, None]", concept="softmax_ce.softmax",
                   display="heatmap", labels=(labels, words),
                   notes=(_("most likely next word per position: {words} (the weights are untrained, so these are not yet the target)").format(
                       words=" ".join(_labels(best, vocab))),))
    _loss(d, h, logits, shift, total_, probs)


def _loss(d: Derivation, h: dict, logits, shift, total_, probs) -> None:
    tgt = h["target"]
    o, m, Z = logits.symbol, shift.symbol, total_.symbol
    logp = logits.value - shift.value[:, None] - np.log(total_.value)[:, None]
    rows = np.arange(len(tgt.value))
    value = float(-logp[rows, tgt.value].mean())
    vocab = h["dims"]["vocab"]
    d.step("loss", _("Cross-entropy against the target (teacher forcing)"),
           explanation=_("L = -(1/Tₜ) Σ_t log P_t,tgt_t, with log P_tv = o_tv - m_t - log Z_t (no log of a rounded probability). This goes one step past the lecture's softmax: it is what training minimizes."),
           symbol=sp.Symbol("L"), formula=-total(sp.Add(o[t, Token(tgt.symbol[t])], -m[t], -sp.log(Z[t]), evaluate=False), t, TT) / TT, value=value,
           code=f"L = -(o[np.arange(len({tgt.var})), {tgt.var}.astype(int)] - m_o - np.log(Z_o)).mean()", concept="transformer.loss",
           substitute=True, notes=_first_log_probability(logits.value, shift.value, total_.value, tgt.value, vocab) + _loss_terms(logp[rows, tgt.value]) + (_("uniform guessing would give log |V| = log {n} = {u:.4g}").format(n=vocab, u=np.log(vocab)),))


def _first_log_probability(o: np.ndarray, m: np.ndarray, Z: np.ndarray, tgt: np.ndarray, vocab: int) -> tuple[str, ...]:
    """log P_0,tgt_0 = o - m - log Z with the numbers of position 0 (the first term of L)."""
    v = int(tgt[0])
    exact = o[0, v] - m[0] - np.log(Z[0])
    from_shown = _shown(o[0, v]) - _shown(m[0]) - np.log(_shown(Z[0]))
    return (_("log P_0,{v} = o_0,{v} - m_0 - log Z_0 = {o} - {m} - log {Z:.4g} {eq} {value:.4g} (position 0 should predict {word}, id {v})").format(
        v=v, o=f"{o[0, v]:.4g}", m=f"({m[0]:.4g})" if m[0] < 0 else f"{m[0]:.4g}", Z=Z[0], eq=_equals(exact, from_shown), value=exact,
        word=_labels(tgt[:1], vocab)[0]),)


def _loss_terms(logp: np.ndarray) -> tuple[str, ...]:
    """L written out with its log-probabilities, for a few positions."""
    if len(logp) > 4:
        return ()
    terms = " + ".join(f"({x:.4g})" if x < 0 else f"{x:.4g}" for x in logp)
    from_shown = -sum(_shown(x) for x in logp) / len(logp)
    return (_("L = -({terms}) / {n} {eq} {value:.4g}").format(terms=terms, n=len(logp), value=-logp.mean(), eq=_equals(-logp.mean(), from_shown)),)


# ---- the lesson ------------------------------------------------------------------------


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with one encoder block, one decoder block and the output softmax."""
    _sizes(d)
    h = _inputs(d, given)
    vocab = h["dims"]["vocab"]
    fed = _tokens_section(d, h)
    src_labels, dec_labels = _labels(h["source"].value, vocab), _labels(fed, vocab)
    x = _embeddings(d, h)
    enc = _encoder(d, h, x["e"], src_labels)
    dec = _decoder(d, h, x["d"], enc, dec_labels, src_labels)
    _output(d, h, dec, dec_labels)


def _encoder(d: Derivation, h: dict, x, labels: tuple):
    mha = _multi_head(d, h, "e", "enc", "enc.", x, x, False, (labels, labels))
    n1 = _add_norm(d, h, "enc.", "e1", x, mha, TS, labels)
    ff = _feed_forward(d, h, "enc.ff.", "e", n1, "enc", labels)
    return _add_norm(d, h, "enc.", "e2", n1, ff, TS, labels)


def _decoder(d: Derivation, h: dict, x, memory, labels: tuple, src_labels: tuple):
    mha = _multi_head(d, h, "d", "self", "dec.", x, x, True, (labels, labels))
    n1 = _add_norm(d, h, "dec.", "d1", x, mha, TT, labels)
    cross = _multi_head(d, h, "c", "cross", "cross.", n1, memory, False, (labels, src_labels))
    n2 = _add_norm(d, h, "dec.", "d2", n1, cross, TT, labels)
    ff = _feed_forward(d, h, "dec.ff.", "d", n2, "dec", labels)
    return _add_norm(d, h, "dec.", "d3", n2, ff, TT, labels)
