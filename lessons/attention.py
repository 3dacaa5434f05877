"""Attention for an RNN decoder: dot-product scores, softmax weights, the context vector,
and how the context feeds the output.

Follows Deep Learning 101 #19, #20. The encoder keeps every state h_1 .. h_n (rows of H,
shape (n, d)); the decoder, at state s (d,), asks which of them matter now:

    e_i = Σ_k s_k h_ik            (dot product; / √d with --scale sqrt-d)
    α_i = exp(e_i - m) / Σ_j exp(e_j - m),  m = max_j e_j
    c_k = Σ_i α_i h_ik            (the context vector)
    o_l = Σ_k W_lk c_k + Σ_k W_l,d+k s_k = (W_out [c; s])_l,   or tanh of it (Luong et al. 2015)

The lecture's example: s = (0.7, 0.3), h_1 = (0.8, 0.2), e_1 = 0.56 + 0.06 = 0.62. Beyond the
lecture, a backward section takes an upstream gradient ∂L/∂o and follows it to ∂L/∂s, which
reaches s twice: directly through [c; s] and through the scores. The scores, softmax and
weighted sum are the `attention` block's (its softmax is the `softmax_ce` block's).
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import activations, attention
from dlsteps.blocks.symbols import D, at_index, k, l, size, total, written_sum
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck

META = {
    "title": "Attention: scores, weights and the context vector",
    "lecture": "DL101 #19, #20",
    "summary": "dot-product scores s·h_i, softmax weights, context c = Σ α_i h_i, output W_out·concat(c, s), and ∂L/∂s",
    "example": 'dlsteps attention --encoder-states "0.8,0.2;0.1,0.9;0.5,0.5" --decoder-state 0.7,0.3 --scale sqrt-d',
    "inputs": {
        "encoder_states": {"shape": "matrix n d", "default": "0.8,0.2;0.1,0.9;0.5,0.5",
                           "help": "the encoder states h_1 .. h_n, one row per encoder step (h_1 = 0.8,0.2 is the lecture's)"},
        "decoder_state": {"shape": "vector d", "default": "0.7,0.3", "help": "the decoder state s (the lecture's 0.7,0.3)"},
        "scale": {"shape": "choice", "choices": ["none", "sqrt-d"], "default": "none",
                  "help": "none: scores s·h_i as in the lecture; sqrt-d: divided by √d as in the transformer"},
        "activation": {"shape": "choice", "choices": ["none", "tanh"], "default": "none",
                       "help": "none: o = W_out·concat(c, s); tanh: o = tanh(W_out·concat(c, s)) as in Luong et al. (2015)"},
        "wout": {"shape": "matrix * *", "optional": True, "default": "", "flag": "--wout",
                 "help": "the output weights W_out, shape (out, 2d), acting on c stacked on s; drawn (seed 0 or --seed) when not given"},
        "upstream": {"shape": "vector *", "optional": True, "default": "",
                     "help": "∂L/∂o, the gradient arriving at the output, one per row of W_out; drawn like W_out when not given"},
    },
}

NAMES = {"scores": "e", "weights": ("alpha", "α", r"\alpha"), "output": "c"}
BACK_NAMES = {"dQ": ("g_att", "gᵃᵗᵗ", r"g^{\mathrm{att}}")}
N_OUT = sp.Symbol("n_o", integer=True, positive=True)
LECTURE_S, LECTURE_H1 = (0.7, 0.3), (0.8, 0.2)


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with scores, weights, context, output and the backward pass to s."""
    H = np.array(given["encoder_states"].value, dtype=float)
    s = np.array(given["decoder_state"].value, dtype=float)
    W, g = _weights(d, given, len(s))
    h = {"H": d.given("encoder_states", sp.IndexedBase("h"), H, given["encoder_states"], _("encoder states, one row h_i per step"), var="H"),
         "s": d.given("decoder_state", sp.IndexedBase("s"), s, given["decoder_state"], _("decoder state")),
         "W": d.given("wout", d.name(sp.IndexedBase("W_out"), "W_out", r"W_{\mathrm{out}}"), W, _source(given["wout"]),
                      _("output weights, shape (out, 2d), acting on [c; s]")),
         "g": d.given("upstream", d.name(sp.IndexedBase("dL_do"), "∂L/∂o", r"\frac{\partial L}{\partial o}"), g,
                      _source(given["upstream"]), _("gradient arriving at the output o"))}
    scale, tanh = given["scale"].value == "sqrt-d", given["activation"].value == "tanh"
    att = _forward(d, h, given, scale)
    out = _output(d, h, att, tanh, given["wout"].value is None)
    _backward(d, h, att, out, tanh, scale)


def _source(item):
    """The typed source of an optional input, or None when the lesson drew it."""
    return item if item.value is not None else None


def _weights(d: Derivation, given: dict, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """W_out (out, 2d) and ∂L/∂o (out,): typed, or drawn with default_rng(seed or 0), one decimal."""
    rng = np.random.default_rng(0 if d.seed is None else d.seed)
    W = rng.uniform(-1, 1, (dim, 2 * dim)).round(1) if given["wout"].value is None else np.array(given["wout"].value, dtype=float)
    if W.shape[1] != 2 * dim:
        raise InputError(_("--wout: got a {rows}x{cols} matrix; expected {cols_needed} columns (W_out acts on [c; s], 2d = {cols_needed})").format(
            rows=W.shape[0], cols=W.shape[1], cols_needed=2 * dim))
    g = rng.uniform(-1, 1, W.shape[0]).round(1) if given["upstream"].value is None else np.array(given["upstream"].value, dtype=float)
    if len(g) != W.shape[0]:
        raise InputError(_("--upstream: got {size} entries; expected {rows}, one per row of W_out").format(size=len(g), rows=W.shape[0]))
    return W, g


def _forward(d: Derivation, h: dict, given: dict, scale: bool) -> attention.Attention:
    d.section(_("Scores: how well each encoder state matches the decoder state"),
              _("The decoder keeps every encoder state h_i and, at its state s, scores each by the dot product e_i = s · h_i (Luong's \"dot\" score). ")
              + (_("Scaled by √d (--scale sqrt-d), as the transformer does; the lecture does not scale.") if scale
                 else _("No scaling, as in the lecture (--scale sqrt-d divides by √d, as the transformer does).")))
    sc = attention.scores(d, h["s"], h["H"], names=NAMES, scale=scale)
    sc.scores.explanation = _("e_i = Σ_k s_k h_ik, the dot product of s with h_i: the larger, the better h_i matches s. In the transformer's words, s is the query and each h_i is a key (and a value).") + (
        " " + _("Divided by √d, as in the transformer: the dot product of d-dimensional vectors grows like √d, and large scores would make the softmax nearly one-hot.") if scale else "")
    sc.scores.notes += _lecture_notes(h["H"].value, h["s"].value, given["encoder_states"].origin)
    d.section(_("Softmax: the attention weights"),
              _("α_i = exp(e_i) / Σ_j exp(e_j): positive weights that sum to 1, larger where the score is larger."))
    sm = attention.weights(d, sc, names=NAMES)
    _speak_softmax(sm)
    if len(h["H"].value) == 1:
        sm.probs.notes += (_("with one encoder state the softmax has one score, so its weight is exactly 1 and the context is h_1 itself"),)
    d.section(_("Weighted sum: the context vector"), _("c = Σ_i α_i h_i: the encoder states averaged with the attention weights."))
    context = attention.context(d, sc, sm, h["H"], names=NAMES)
    context.title = _("Weighted sum of the encoder states")
    context.explanation = _("Entry k of the context: c_k = Σ_i α_i h_ik, each encoder state counted with its weight.")
    return attention.Attention(sc, sm, h["H"], context)


def _speak_softmax(sm) -> None:
    """The softmax block's prose (written for logits o and probabilities y) in this lesson's
    symbols: scores e, weights α."""
    sm.shift.title = _("Shift by the largest score")
    sm.shift.explanation = _("Shifting every score by the same m leaves the softmax unchanged: exp(e_i - m) / Σ_k exp(e_k - m) = exp(e_i) / Σ_k exp(e_k), as the factor exp(-m) cancels. Shifting by the maximum keeps every exponent ≤ 0, so nothing overflows.")
    sm.probs.explanation = _("α_i = exp(e_i) / Σ_k exp(e_k), computed from the shifted exponentials.")


def _lecture_notes(H: np.ndarray, s: np.ndarray, origin: str) -> tuple[str, ...]:
    """Which numbers are the lecture's, computed from the inputs."""
    notes = []
    if len(s) == 2 and np.allclose(s, LECTURE_S, 0, 0) and np.allclose(H[0], LECTURE_H1, 0, 0):
        notes.append(_("the lecture's example: s · h_1 = 0.7 × 0.8 + 0.3 × 0.2 = 0.56 + 0.06 = 0.62 (the lecture's h_1 is row 0 here: indices start at 0)"))
    if origin == "default" and len(H) > 1:
        notes.append(_("rows 1 .. {last} of the encoder states are not from the lecture, which scores h_1 alone: they are added because a softmax over one score is trivially 1").format(last=len(H) - 1))
    return tuple(notes)


def _output(d: Derivation, h: dict, att: attention.Attention, tanh: bool, drawn: bool):
    """Step combine (W_out [c; s], written as its two column blocks) and, with tanh, activation."""
    d.section(_("How the context feeds the output"),
              _("The context c and the decoder state s are stacked into [c; s] (c first) and fed to the output layer: ")
              + (_("o = tanh(W_out [c; s]), Luong et al.'s attentional state (--activation tanh).") if tanh
                 else _("o = W_out [c; s], no bias and no activation (--activation tanh applies tanh, as Luong et al. do).")))
    W, c, s = h["W"].symbol, att.output.symbol, h["s"].symbol
    size(d, N_OUT, len(h["W"].value))
    value = h["W"].value @ np.concatenate([att.output.value, h["s"].value])
    notes = (_("W_out is not from the lecture: drawn with NumPy's default_rng({seed}) and rounded to one decimal; give --wout to choose it").format(seed=d.seed or 0),) if drawn else ()
    z = d.step("combine", _("Output layer on [c; s]"),
               explanation=_("W_out [c; s] with W_out of shape (out, 2d): its first d columns multiply c, its last d columns multiply s."),
               symbol=sp.IndexedBase("z" if tanh else "o"), index=(l,),
               formula=written_sum(total(W[l, k] * c[k], k, D), total(W[l, D + k] * s[k], k, D)), value=value, notes=notes,
               code=f"{'z' if tanh else 'o'} = {h['W'].var} @ np.concatenate([{att.output.var}, {h['s'].var}])", concept="attention.combine")
    return z, activations.activate(d, z, "tanh", names={"a": "o"}) if tanh else z


def loss_of(W: np.ndarray, g: np.ndarray, tanh: bool):
    """L = Σ_l g_l o_l as a function of the stacked [c; s]: any loss with ∂L/∂o = g at this
    point has the same gradients, which are all the backward pass uses."""
    def loss(stacked: np.ndarray) -> float:
        z = W @ stacked
        return float(g @ (np.tanh(z) if tanh else z))
    return loss


def _backward(d: Derivation, h: dict, att: attention.Attention, out: tuple, tanh: bool, scale: bool) -> None:
    """Steps (derivative, delta with tanh), dL_dc, dL_ds_direct, the block's backward, dL_ds."""
    d.section(_("Backward: ∂L/∂s (beyond the lecture)"),
              _("The lecture stops at the forward pass. Given ∂L/∂o (--upstream), the gradient reaches s along two paths: directly through [c; s], and through c = Σ_i α_i h_i, whose weights depend on s through the scores. Finite differences use L = Σ_l (∂L/∂o)_l o_l, which has this gradient at o."))
    z, o = out
    delta = h["g"]
    if tanh:
        prime = activations.derivative(d, z, o, "tanh", names={"da": ("do_dz", "∂o/∂z", r"\frac{\partial o}{\partial z}")})
        delta = activations.delta(d, h["g"], z, prime, "tanh")
    loss = loss_of(h["W"].value, h["g"].value, tanh)
    dc, direct = _stack_gradients(d, h, att, delta, loss, tanh)
    back = attention.backward(d, att, dc, names=BACK_NAMES)
    _speak_backward(back, att, scale)
    H, s = h["H"].value, h["s"].value

    def whole(v: np.ndarray) -> float:
        return loss(np.concatenate([attention.attention_values(v, H, H, scale)[2], v]))

    d.step("dL_ds", _("Gradient of the decoder state"),
           explanation=_("The two paths add up: ∂L/∂s_k = gᵈⁱʳ_k + gᵃᵗᵗ_k."), symbol=d.name(sp.IndexedBase("dL_ds"), "∂L/∂s", r"\frac{\partial L}{\partial s}"),
           index=(k,), lhs=sp.Derivative(sp.Symbol("L"), h["s"].symbol[k]), formula=written_sum(direct.symbol[k], back.query.symbol[k]),
           value=direct.value + back.query.value, code=f"dL_ds = {direct.var} + {back.query.var}", concept="attention.dL_ds",
           gradient=GradientCheck(whole, s))


def _speak_backward(back: attention.Backward, att: attention.Attention, scale: bool) -> None:
    """The attention block's backward prose (written for queries, keys and values Q, K, V)
    in this lesson's symbols, and the weighted average that decides each sign of ∂L/∂e."""
    back.weights.explanation = _("c = Σ_i α_i h_i, so ∂L/∂α_i = Σ_k ∂L/∂c_k h_ik: how much each weight would change the loss.")
    back.scores.explanation = _("The softmax Jacobian ∂α_l/∂e_i = α_l(δ_li - α_i), with δ_li = 1 for l = i and 0 otherwise, summed against ∂L/∂α: ∂L/∂e_i = α_i (∂L/∂α_i - Σ_l α_l ∂L/∂α_l).")
    weights = np.asarray(att.weights.value)
    average = float(weights @ back.weights.value)
    if (weights > 0).all():  # a weight that underflowed to 0 has ∂L/∂e_i = 0 whatever ∂L/∂α_i is
        back.scores.notes += (_("Σ_l α_l ∂L/∂α_l = {average:.4g}, the weighted average of ∂L/∂α: ∂L/∂e_i is positive where ∂L/∂α_i is above it, negative where it is below").format(average=average),)
    else:
        back.scores.notes += (Caution(_("α_i underflowed to exactly 0 at i = {places}, so ∂L/∂e_i = 0 there in float64 whatever ∂L/∂α_i is (the true gradient is tiny, not 0)").format(
            places=", ".join(str(q) for q in np.flatnonzero(weights == 0)))),)
    back.query.title = _("Gradient of s through the scores")
    back.query.explanation = _("e_i = Σ_k s_k h_ik, so the path through the scores gives gᵃᵗᵗ_k = Σ_i ∂L/∂e_i h_ik") + (
        _(", divided by √d like the scores.") if scale else ".")


def _stack_gradients(d: Derivation, h: dict, att: attention.Attention, delta, loss, tanh: bool) -> tuple:
    """Steps dL_dc (∂L/∂c_k = Σ_l W_lk δ_l) and dL_ds_direct (gᵈⁱʳ_k = Σ_l W_l,d+k δ_l):
    W_outᵀ δ split into its c part and its s part, each checked by differences of L in it."""
    W, Ws, dl, c, s = h["W"].value, h["W"].symbol, delta.symbol, att.output.value, h["s"].value
    which = _("∂L/∂z, the gradient before the tanh") if tanh else _("∂L/∂o, as there is no activation")
    dc = d.step("dL_dc", _("Gradient of the context"),
                explanation=_("c_k meets the output through column k of W_out: ∂L/∂c_k = Σ_l W_lk δ_l, the first d entries of W_outᵀ δ, with δ = {delta}.").format(delta=which),
                symbol=d.name(sp.IndexedBase("dL_dc"), "∂L/∂c", r"\frac{\partial L}{\partial c}"), index=(k,),
                lhs=sp.Derivative(sp.Symbol("L"), att.output.symbol[k]), formula=total(Ws[l, k] * at_index(dl, l), l, N_OUT),
                value=W[:, : len(s)].T @ delta.value, code=f"dL_dc = {h['W'].var}[:, :{att.output.var}.size].T @ {delta.var}",
                concept="attention.dL_dc", gradient=GradientCheck(lambda v: loss(np.concatenate([v, s])), c))
    direct = d.step("dL_ds_direct", _("Gradient of s through [c; s]"),
                    explanation=_("s also enters the output directly, through the last d columns of W_out: gᵈⁱʳ_k = Σ_l W_l,d+k δ_l. This is only part of ∂L/∂s."),
                    symbol=d.name(sp.IndexedBase("g_dir"), "gᵈⁱʳ", r"g^{\mathrm{dir}}"), index=(k,),
                    formula=total(Ws[l, D + k] * at_index(dl, l), l, N_OUT),
                    value=W[:, len(s):].T @ delta.value, code=f"g_dir = {h['W'].var}[:, {h['s'].var}.size:].T @ {delta.var}",
                    concept="attention.dL_ds_direct", gradient=GradientCheck(lambda v: loss(np.concatenate([c, v])), s))
    return dc, direct
