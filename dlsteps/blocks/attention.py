"""Dot-product attention: scores, an optional causal mask, row-wise softmax, weighted sum,
and the backward pass to the queries.

Matrices of queries Q (m, d), keys K (n, d) and values V (n, d_v); i runs over the
queries, j over the keys, k over the feature dimension:

    scores    S_ij = Σ_k Q_ik K_jk            (or / √d: scaled dot-product attention)
    mask      M_ij = 0 for j <= i, -∞ for j > i (causal: no query sees a later key)
              S̃_ij = S_ij + M_ij
    softmax   m_i = max_j S_ij,  u_ij = exp(S_ij - m_i),  Z_i = Σ_j u_ij,  A_ij = u_ij / Z_i
    output    O_ik = Σ_j A_ij V_jk            (O = A V)

One query given as a vector q (d,) drops the index i: e_i = Σ_k q_k K_ik over the keys i,
the softmax is the `softmax_ce` block's, and the output c_k = Σ_i α_i V_ik is one vector
(the context of an RNN decoder's attention). exp(-∞) = 0 exactly, so a masked weight is
exactly 0; the diagonal is never masked, so every row keeps a finite maximum and no row
is 0/0. Backward, for G = ∂L/∂O:

    ∂L/∂A_ij = Σ_k G_ik V_jk,   ∂L/∂S_ij = A_ij (∂L/∂A_ij - Σ_l A_il ∂L/∂A_il),
    ∂L/∂Q_ik = Σ_j ∂L/∂S_ij K_jk   (/ √d when scaled)

each checked by finite differences of Σ G ⊙ O with G fixed (the masked scores are
differenced before the mask, so a masked entry's gradient is 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks import softmax_ce
from dlsteps.blocks.symbols import D, Names, at_index, i, j, k, l, m, n, size, total, written_product
from dlsteps.errors import LessonError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck, Step
from dlsteps.symbolic import Maximum, exponential

NAMES = {"scores": "S", "mask": "M", "masked": ("S_masked", "S̃", r"\tilde{S}"), "m": "m", "u": "u", "Z": "Z",
         "weights": "A", "output": "O"}
COUNTS = {"queries": m, "keys": n, "dim": D}


@dataclass
class Scores:
    """Handles of the scores: the query, keys, S, the mask and masked scores (None without
    a mask), whether S is scaled, and the size symbols {"queries", "keys", "dim"}."""

    query: Any
    keys: Any
    scores: Step
    mask: Step | None
    masked: Step | None
    scale: bool
    counts: dict

    @property
    def logits(self) -> Step:
        """What the softmax takes: the masked scores, or the scores without a mask."""
        return self.masked or self.scores


@dataclass
class Attention:
    """Handles of a whole forward pass: the scores, the softmax (shift, exp, sum, probs:
    the weights A or α), the values and the output O (or context c)."""

    scores: Scores
    softmax: Any
    values: Any
    output: Step

    @property
    def weights(self) -> Step:
        """The softmax step: A_ij (or α_i for one query)."""
        return self.softmax.probs


@dataclass
class Backward:
    """Handles of the backward steps: ∂L/∂A, ∂L/∂S, ∂L/∂Q."""

    weights: Step
    scores: Step
    query: Step


def attention_values(query: Any, keys: Any, values: Any, scale: bool = False, causal: bool = False) -> tuple:
    """NumPy (S, A, O) for a matrix of queries or one query vector (S before the mask)."""
    q, K, V = (np.asarray(x, dtype=float) for x in (query, keys, values))
    scores = q @ K.T / (np.sqrt(K.shape[1]) if scale else 1.0)
    shifted = np.where(causal_mask(scores.shape), scores, -np.inf) if causal else scores
    u = np.exp(shifted - shifted.max(axis=-1, keepdims=True))
    weights = u / u.sum(axis=-1, keepdims=True)
    return scores, weights, weights @ V


def causal_mask(shape: tuple) -> np.ndarray:
    """True where key j <= query i (kept), False above the diagonal."""
    return np.tri(*shape, dtype=bool)


def _axes(query: Any) -> tuple[tuple, sp.Symbol]:
    """(query index, key index): ((i,), j) for a matrix of queries, ((), i) for one vector."""
    return ((i,), j) if np.ndim(query.value) == 2 else ((), i)


def attention(d: Derivation, query: Any, keys: Any, values: Any, *, at: str = "", names: dict | None = None,
              scale: bool = False, causal: bool = False, count: dict | None = None, labels: tuple = ((), ())) -> Attention:
    """`scores`, `weights` and `context` in the current section, for handles Q (m, d) or
    q (d,), K (n, d), V (n, d_v); returns the Attention handles."""
    sc = scores(d, query, keys, at=at, names=names, scale=scale, causal=causal, count=count, labels=labels)
    sm = weights(d, sc, at=at, names=names, labels=labels)
    return Attention(sc, sm, values, context(d, sc, sm, values, at=at, names=names))


def scores(d: Derivation, query: Any, keys: Any, *, at: str = "", names: dict | None = None, scale: bool = False,
           causal: bool = False, count: dict | None = None, labels: tuple = ((), ())) -> Scores:
    """Steps scores (S_ij = Σ_k Q_ik K_jk, / √d when `scale`) and, when `causal`, mask and
    masked_scores. `count` may rename the sizes {"queries", "keys", "dim"}; `labels`
    (query labels, key labels) name the rows and columns of the matrices."""
    name, counts = Names(d, NAMES, names), {**COUNTS, **(count or {})}
    rows, key = _axes(query)
    if causal and not rows:
        raise LessonError("attention: a causal mask needs a matrix of queries, one row per position")
    _bind_sizes(d, query, keys, counts, rows)
    step = _scores(d, query, keys, name, at, scale, counts, rows + (key,), labels)
    mask = masked = None
    if causal:
        mask, masked = _mask(d, step, name, at, counts, labels)
    return Scores(query, keys, step, mask, masked, scale, counts)


def weights(d: Derivation, sc: Scores, *, at: str = "", names: dict | None = None, labels: tuple = ((), ())) -> Any:
    """Steps shift, exp, sum, softmax: the row-wise softmax of the (masked) scores, A_ij =
    exp(S_ij - m_i) / Z_i; for one query the `softmax_ce` block's softmax. Returns its handles
    (.shift, .exp, .sum, .probs)."""
    name = Names(d, NAMES, names)
    if np.ndim(sc.query.value) == 2:
        return _softmax(d, sc.logits, name, at, sc.counts, labels)
    roles = {"m": "m", "u": "u", "S": "Z", "y": "weights"}
    return softmax_ce.softmax(d, sc.logits, at=at, count=sc.counts["keys"],
                              names={theirs: name.chosen[ours] for theirs, ours in roles.items()})


def context(d: Derivation, sc: Scores, sm: Any, values: Any, *, at: str = "", names: dict | None = None) -> Step:
    """Step context: O_ik = Σ_j A_ij V_jk (O = A V), or c_k = Σ_i α_i V_ik for one query."""
    rows, key = _axes(sc.query)
    return _output(d, sm.probs, values, Names(d, NAMES, names), at, sc.counts, rows, key)


def _bind_sizes(d: Derivation, query: Any, keys: Any, counts: dict, rows: tuple) -> None:
    shape = np.shape(keys.value)
    size(d, counts["keys"], shape[0])
    size(d, counts["dim"], shape[1])
    if rows:
        size(d, counts["queries"], np.shape(query.value)[0])


def _scores(d: Derivation, query: Any, keys: Any, name: Names, at: str, scale: bool, counts: dict,
            index: tuple, labels: tuple) -> Step:
    """S_ij = Σ_k Q_ik K_jk (/ √d), or e_i = Σ_k q_k K_ik for one query."""
    S, dim = name.array("scores"), counts["dim"]
    product = total(written_product(at_index(query.symbol, *index[:-1], k), keys.symbol[index[-1], k]), k, dim)
    value = attention_values(query.value, keys.value, keys.value, scale)[0]
    code = f"{query.var} @ {keys.var}.T" + (f" / np.sqrt({keys.var}.shape[1])" if scale else "")
    explanation = _("Each score is the dot product of a query with a key: the larger, the better they match.")
    if scale:
        explanation += " " + _("Divided by √d, as in the transformer: the dot product of d-dimensional vectors grows like √d, and large scores would make the softmax nearly one-hot.")
    return d.step(f"{at}scores", _("Scores (dot products)") if not scale else _("Scaled scores"), explanation=explanation,
                  symbol=S, index=index, formula=product / sp.sqrt(dim) if scale else product, value=value,
                  code=f"{name.plain('scores')} = {code}", concept="attention.scores", labels=labels if index[:-1] else ((), ()))


def _mask(d: Derivation, scores: Step, name: Names, at: str, counts: dict, labels: tuple) -> tuple[Step, Step]:
    """M_ij = 0 for j <= i, -∞ above the diagonal; S̃_ij = S_ij + M_ij."""
    M, masked = name.array("mask"), name.array("masked")
    keep = causal_mask(np.shape(scores.value))
    hidden = int((~keep).sum())
    mask = d.step(f"{at}mask", _("Causal mask"),
                  explanation=_("Query i may look at keys j <= i only: the entries above the diagonal are -∞, so that after the softmax their weight is exp(-∞) = 0."),
                  symbol=M, index=(i, j), formula=sp.Piecewise((0, j <= i), (-sp.oo, True)),
                  value=np.where(keep, 0.0, -np.inf), code=f"{name.plain('mask')} = np.where(np.tri(*{scores.var}.shape, dtype=bool), 0.0, -np.inf)",
                  concept="attention.mask", labels=labels,
                  notes=(_("{count} of the {total} entries are -∞ (every key after its query)").format(count=hidden, total=keep.size),) if hidden else ())
    value = np.where(keep, scores.value, -np.inf)
    step = d.step(f"{at}masked_scores", _("Masked scores"), explanation=_("S̃_ij = S_ij + M_ij: a score plus 0 stays, a score plus -∞ is -∞."),
                  symbol=masked, index=(i, j), formula=scores.symbol[i, j] + M[i, j], value=value,
                  code=f"{name.plain('masked')} = {scores.var} + {mask.var}", concept="attention.masked_scores", labels=labels)
    return mask, step


@dataclass
class _Rows:
    shift: Step
    exp: Step
    sum: Step
    probs: Step


def _softmax(d: Derivation, logits: Step, name: Names, at: str, counts: dict, labels: tuple) -> _Rows:
    """Row-wise softmax: m_i = max_j S_ij, u_ij = exp(S_ij - m_i), Z_i = Σ_j u_ij, A_ij = u_ij / Z_i."""
    S, keys = logits.symbol, counts["keys"]
    mv, uv, Zv, Av = (name.plain(role) for role in ("m", "u", "Z", "weights"))
    mu, u, Z, A = name.array("m"), name.array("u"), name.array("Z"), name.array("weights")
    values = np.asarray(logits.value, dtype=float)
    shift = d.step(f"{at}shift", _("Shift each row by its largest score"),
                   explanation=_("Softmax is unchanged when a row is shifted by one number; shifting by the row's maximum keeps every exponent <= 0. The maximum is finite: no row is masked entirely."),
                   symbol=mu, index=(i,), formula=Maximum(S[i, j], j, 0, keys - 1), value=values.max(axis=1),
                   code=f"{mv} = {logits.var}.max(axis=1)", concept="attention.shift")
    exps = np.exp(values - shift.value[:, None])
    exp = d.step(f"{at}exp", _("Exponentials"), symbol=u, index=(i, j), formula=exponential(S[i, j] - mu[i]), value=exps,
                 code=f"{uv} = np.exp({logits.var} - {mv}[:, None])", concept="attention.exp", labels=labels,
                 notes=_zero_notes(values, exps))
    sum_ = d.step(f"{at}sum", _("Row sums"), symbol=Z, index=(i,), formula=total(u[i, j], j, keys), value=exps.sum(axis=1),
                  code=f"{Zv} = {uv}.sum(axis=1)", concept="attention.sum")
    probs = d.step(f"{at}softmax", _("Attention weights (softmax of each row)"),
                   explanation=_("A_ij = u_ij / Z_i: each row is positive where not masked and sums to 1."),
                   symbol=A, index=(i, j), formula=u[i, j] / Z[i], value=exps / sum_.value[:, None],
                   code=f"{Av} = {uv} / {Zv}[:, None]", concept="attention.softmax", display="heatmap", labels=labels)
    return _Rows(shift, exp, sum_, probs)


def _zero_notes(logits: np.ndarray, exps: np.ndarray) -> tuple[str, ...]:
    """What made an exponential exactly 0: the mask (exp(-∞)), or float64 underflow."""
    notes = []
    if np.isneginf(logits).any():
        notes.append(_("exp(-∞) = 0 exactly: every masked entry gets weight 0, with no NaN"))
    if ((exps == 0) & np.isfinite(logits)).any():
        notes.append(Caution(_("some exponentials underflow to exactly 0 in float64: their scores are more than 745 below the row's maximum")))
    return tuple(notes)


def _output(d: Derivation, weights: Step, values: Any, name: Names, at: str, counts: dict, rows: tuple, key: sp.Symbol) -> Step:
    """O_ik = Σ_j A_ij V_jk, or c_k = Σ_i α_i V_ik for one query."""
    O = name.array("output")
    A = at_index(weights.symbol, *rows, key)
    return d.step(f"{at}context", _("Weighted sum of the values"),
                  explanation=_("Each output is the average of the value vectors, weighted by the attention weights: in matrix form A V.") if rows
                  else _("The output is the average of the value vectors (rows of V), weighted by the attention weights: Σ_i α_i v_i."),
                  symbol=O, index=rows + (k,), formula=total(A * values.symbol[key, k], key, counts["keys"]),
                  value=np.asarray(weights.value) @ np.asarray(values.value, dtype=float),
                  code=f"{name.plain('output')} = {weights.var} @ {values.var}", concept="attention.context")


def _gradient_name(d: Derivation, step: Any) -> tuple[str, str, str]:
    plain = str(getattr(step.symbol, "label", step.symbol))
    unicode, latex = d.names.get(plain, (plain, plain))
    return f"dL_d{plain}", f"∂L/∂{unicode}", rf"\frac{{\partial L}}{{\partial {latex}}}"


def backward(d: Derivation, att: Attention, upstream: Any, *, at: str = "", names: dict | None = None) -> Backward:
    """Steps dL_dweights (∂L/∂A = G Vᵀ), dL_dscores (∂L/∂S_ij = A_ij (∂L/∂A_ij - Σ_l A_il
    ∂L/∂A_il)) and dL_dquery (∂L/∂Q = ∂L/∂S K, / √d when scaled) for the handle `upstream`
    = G = ∂L/∂O. A role the caller names in `names` ("dA", "dS", "dQ") is written with that
    name instead of ∂L/∂(...) (e.g. one part of a gradient that has several)."""
    sc = att.scores
    defaults = {"dA": _gradient_name(d, att.weights), "dS": _gradient_name(d, sc.scores), "dQ": _gradient_name(d, sc.query)}
    name, named = Names(d, defaults, names), set(names or {})
    rows, key = _axes(sc.query)
    L = sp.Symbol("L")

    def lhs(role: str, base: Any, *index: Any) -> Any:
        return None if role in named else sp.Derivative(L, at_index(base, *index))

    dA = _weights_gradient(d, att, upstream, name, at, rows, key, lhs("dA", att.weights.symbol, *rows, key))
    dS = _scores_gradient(d, att, upstream, dA, name, at, rows, key, lhs("dS", sc.scores.symbol, *rows, key))
    return Backward(dA, dS, _query_gradient(d, att, upstream, dS, name, at, rows, key, lhs("dQ", sc.query.symbol, *rows, k)))


def _surrogate(att: Attention, upstream: Any, role: str) -> GradientCheck:
    """Finite differences of Σ G ⊙ O in `role` ("weights", "scores" before the mask, "query"), G fixed."""
    sc, G = att.scores, np.asarray(upstream.value, dtype=float)
    V, causal = np.asarray(att.values.value, dtype=float), sc.mask is not None

    def from_scores(S: np.ndarray) -> float:
        shifted = np.where(causal_mask(S.shape), S, -np.inf) if causal else S
        u = np.exp(shifted - shifted.max(axis=-1, keepdims=True))
        return float(np.sum(G * ((u / u.sum(axis=-1, keepdims=True)) @ V)))

    losses = {"weights": lambda A: float(np.sum(G * (A @ V))), "scores": from_scores,
              "query": lambda Q: float(np.sum(G * attention_values(Q, sc.keys.value, V, sc.scale, causal)[2]))}
    points = {"weights": att.weights.value, "scores": sc.scores.value, "query": sc.query.value}
    return GradientCheck(losses[role], np.asarray(points[role], dtype=float))


def _weights_gradient(d: Derivation, att: Attention, upstream: Any, name: Names, at: str, rows: tuple, key: sp.Symbol,
                      lhs: Any) -> Step:
    G, V = np.asarray(upstream.value, dtype=float), np.asarray(att.values.value, dtype=float)
    return d.step(f"{at}dL_dweights", _("Gradient of the attention weights"),
                  explanation=_("O = A V, so ∂L/∂A_ij = Σ_k G_ik V_jk (G = ∂L/∂O): in matrix form G Vᵀ.") if rows
                  else _("The output is Σ_i α_i v_i, so ∂L/∂α_i = Σ_k g_k V_ik (g = the output's gradient): how much each weight would change the loss."),
                  symbol=name.array("dA"), index=rows + (key,), lhs=lhs,
                  formula=total(at_index(upstream.symbol, *rows, k) * att.values.symbol[key, k], k, _value_dim(d, att)),
                  value=G @ V.T, var=name.plain("dA"), code=f"{name.plain('dA')} = {upstream.var} @ {att.values.var}.T",
                  concept="attention.dL_dweights", gradient=_surrogate(att, upstream, "weights"))


def _value_dim(d: Derivation, att: Attention) -> sp.Symbol:
    """The size of the value vectors: `dim` when they match the keys, else its own symbol d_v."""
    width, dim = np.shape(att.values.value)[1], att.scores.counts["dim"]
    if width == d.env.get(dim):
        return dim
    return size(d, sp.Symbol(f"{dim}_v", integer=True, positive=True), width)


def _scores_gradient(d: Derivation, att: Attention, upstream: Any, dweights: Step, name: Names, at: str,
                     rows: tuple, key: sp.Symbol, lhs: Any) -> Step:
    A, dA = np.asarray(att.weights.value), np.asarray(dweights.value)
    a, g = att.weights.symbol, dweights.symbol
    inner = total(at_index(a, *rows, l) * at_index(g, *rows, l), l, att.scores.counts["keys"])
    masked = (_("masked entries have weight 0, so their gradient is 0: no gradient flows into a future position"),) if att.scores.mask else ()
    return d.step(f"{at}dL_dscores", _("Gradient of the scores (through the softmax)"),
                  explanation=_("The softmax Jacobian A_ij(δ_jl - A_il) summed against ∂L/∂A: ∂L/∂S_ij = A_ij (∂L/∂A_ij - Σ_l A_il ∂L/∂A_il).") if rows
                  else _("The softmax Jacobian ∂α_l/∂e_i = α_l(δ_li - α_i) summed against ∂L/∂α: ∂L/∂e_i = α_i (∂L/∂α_i - Σ_l α_l ∂L/∂α_l). A weight above the average pulls its score up."),
                  symbol=name.array("dS"), index=rows + (key,), lhs=lhs,
                  formula=at_index(a, *rows, key) * (at_index(g, *rows, key) - inner),
                  value=A * (dA - (A * dA).sum(axis=-1, keepdims=True)), var=name.plain("dS"),
                  code=f"{name.plain('dS')} = {att.weights.var} * ({dweights.var} - ({att.weights.var} * {dweights.var}).sum(axis=-1, keepdims=True))",
                  concept="attention.dL_dscores", notes=masked, gradient=_surrogate(att, upstream, "scores"))


def _query_gradient(d: Derivation, att: Attention, upstream: Any, dscores: Step, name: Names, at: str,
                    rows: tuple, key: sp.Symbol, lhs: Any) -> Step:
    sc = att.scores
    K = np.asarray(sc.keys.value, dtype=float)
    product = total(at_index(dscores.symbol, *rows, key) * sc.keys.symbol[key, k], key, sc.counts["keys"])
    value = np.asarray(dscores.value) @ K / (np.sqrt(K.shape[1]) if sc.scale else 1.0)
    code = f"{dscores.var} @ {sc.keys.var}" + (f" / np.sqrt({sc.keys.var}.shape[1])" if sc.scale else "")
    return d.step(f"{at}dL_dquery", _("Gradient of the query (through the scores)"),
                  explanation=(_("S = Q Kᵀ, so ∂L/∂Q_ik = Σ_j ∂L/∂S_ij K_jk: in matrix form ∂L/∂S K") if rows
                               else _("e_i = Σ_k q_k K_ik, so the query's gradient through the scores is Σ_i ∂L/∂e_i K_ik"))
                  + (_(", divided by √d like the scores.") if sc.scale else "."),
                  symbol=name.array("dQ"), index=rows + (k,), lhs=lhs,
                  formula=product / sp.sqrt(sc.counts["dim"]) if sc.scale else product, value=value, var=name.plain("dQ"),
                  code=f"{name.plain('dQ')} = {code}", concept="attention.dL_dquery", gradient=_surrogate(att, upstream, "query"))
