"""Information: entropy, cross-entropy, KL divergence and the Jensen-Shannon divergence.

    H(P)      = -Σ_i p_i log p_i
    H(P, Q)   = -Σ_i p_i log q_i
    KL(P‖Q)   =  Σ_i p_i log(p_i / q_i)        (= H(P, Q) - H(P))
    M_i       = (p_i + q_i) / 2
    JSD(P‖Q)  = (KL(P‖M) + KL(Q‖M)) / 2        (0 ≤ JSD ≤ log 2)

Logarithms are natural (nats) or base 2 (bits). Conventions: 0 log 0 = 0 (a term with
p_i = 0 adds nothing) and p log(p / 0) = +inf for p > 0. Each quantity is two steps: its
terms t_i in index form, then their sum with the numbers written out. Each KL term is
p_i log(p_i / q_i), never p_i log p_i - p_i log q_i: the difference loses every digit
when P ≈ Q (and log1p keeps the ratio's log exact there).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import Names, i, n, size, total, written_product
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, Step

ENTROPY_NAMES = {"terms": "h", "total": ("H_P", "H(P)", "H(P)")}
CROSS_NAMES = {"terms": "c", "total": ("H_PQ", "H(P,Q)", "H(P, Q)")}
KL_NAMES = {"terms": "r", "total": ("KL_PQ", "KL(P‖Q)", r"D_{\mathrm{KL}}(P \| Q)")}
JSD_NAMES = {"M": "M", "terms_p": "u", "terms_q": "v", "KL_PM": ("KL_PM", "KL(P‖M)", r"D_{\mathrm{KL}}(P \| M)"),
             "KL_QM": ("KL_QM", "KL(Q‖M)", r"D_{\mathrm{KL}}(Q \| M)"), "JSD": ("JSD", "JSD(P‖Q)", r"\mathrm{JSD}(P \| Q)")}


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log y elementwise (natural log): 0 where x = 0 (0 log 0 = 0), -inf where y = 0 < x."""
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log(x / y) elementwise (natural log): 0 where x = 0, +inf where y = 0 < x.
    Where x / y is near 1, log1p((x - y) / y) keeps every digit (x - y is exact there)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(x > 0, y, 1.0)
        ratio = x / y
        logs = np.where(np.abs(ratio - 1) < 0.5, np.log1p((x - y) / y), np.log(ratio))
        return np.where(x > 0, x * logs, 0.0)


@dataclass
class Logs:
    """The logarithm's base: its number, unit, SymPy log, and how code lines divide by it."""

    number: float
    unit: str
    symbolic: Any
    divide: str

    def log(self, x: sp.Expr) -> sp.Expr:
        return sp.log(x) if self.symbolic == sp.E else sp.log(x, self.symbolic)

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Natural-log values in this base, computed exactly as the code line does."""
        return values if not self.divide else values / np.log(self.number)


def logs(base: Any = "e") -> Logs:
    """The base "e" (nats) or "2" (bits)."""
    if str(base) in ("e", str(np.e)):
        return Logs(float(np.e), _("nats"), sp.E, "")
    if str(base) in ("2", "2.0"):
        return Logs(2.0, _("bits"), sp.Integer(2), " / np.log(2)")
    raise ValueError(f"base must be 'e' or '2', not {base!r}")


@dataclass
class Sum:
    """Handles of one quantity: its terms (a vector over i) and their sum."""

    terms: Step
    total: Step


@dataclass
class JensenShannon:
    """Handles of the JSD steps: the mixture M, KL(P‖M), KL(Q‖M) and the JSD."""

    mixture: Step
    to_p: Sum
    to_q: Sum
    jsd: Step


def _label(handle: Any) -> str:
    return str(getattr(handle.symbol, "label", handle.symbol))


def _term(base: Logs, a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """a log b, written as 0 where a = 0 (the convention 0 log 0 = 0)."""
    return sp.Piecewise((0, sp.Eq(a, 0)), (a * base.log(b), True))


def _zeros_note(values: np.ndarray, name: str) -> tuple[str, ...]:
    """A note naming the outcomes with probability 0, whose terms are 0 by convention."""
    where = np.flatnonzero(values == 0)
    if len(where) == 0:
        return ()
    return (_("{a}_i = 0 for i = {where}: those terms are 0 by the convention 0 log 0 = 0").format(
        a=name, where=", ".join(map(str, where))),)


def infinite_note(a: np.ndarray, b: np.ndarray, a_name: str, b_name: str) -> tuple[str, ...]:
    """A note naming the outcomes where b_i = 0 < a_i, which make the sum infinite."""
    where = np.flatnonzero((b == 0) & (a > 0))
    if len(where) == 0:
        return ()
    return (Caution(_("infinite: {b}_i = 0 where {a}_i > 0 (i = {where}); an outcome {a} can produce is impossible under {b}, so describing it with {b}'s code costs -log 0 = ∞").format(
        a=a_name, b=b_name, where=", ".join(map(str, where)))),)


def sum_of_terms(d: Derivation, id: str, title: str, terms: sp.IndexedBase, result: sp.Symbol, formula: sp.Expr,
                 values: np.ndarray, code: str, *, concept: str, count: sp.Symbol = n, explanation: str = "",
                 notes: tuple = (), term_notes: tuple = ()) -> Sum:
    """Two steps: `{id}_terms`, t_i = formula (index i; `code` sets them), then `{id}` = Σ_i t_i."""
    first = d.step(f"{id}_terms", _("{title}: terms").format(title=title), explanation=explanation, symbol=terms,
                   index=(i,), formula=formula, value=values, code=f"{terms} = {code}", concept=f"{concept}_terms",
                   notes=term_notes)
    second = d.step(id, title, symbol=result, formula=total(terms[i], i, count), value=float(values.sum()),
                    code=f"{result} = {terms}.sum()", substitute=True, concept=concept, notes=notes)
    return Sum(first, second)


def _prepare(d: Derivation, count: sp.Symbol, *handles: Any) -> list[np.ndarray]:
    values = [np.asarray(h.value, dtype=float) for h in handles]
    size(d, count, len(values[0]))
    return values


def entropy(d: Derivation, p: Any, *, at: str = "", id: str = "entropy", base: Any = "e", count: sp.Symbol = n,
            names: dict | None = None) -> Sum:
    """Steps `{id}_terms`, h_i = -p_i log p_i, and `{id}`, H(P) = Σ_i h_i."""
    name, b, (pv,) = Names(d, ENTROPY_NAMES, names), logs(base), _prepare(d, count, p)
    h, H, a = name.array("terms"), name.scalar("total"), _label(p)
    d.define(xlogy)
    return sum_of_terms(d, f"{at}{id}", _("Entropy {H}").format(H=_shown(d, H)), h, H, -_term(b, p.symbol[i], p.symbol[i]),
                        b.scale(-xlogy(pv, pv)), f"-xlogy({p.var}, {p.var}){b.divide}", concept="information.entropy",
                        count=count, explanation=_("{h}_i = -{a}_i log {a}_i: the surprise -log {a}_i of outcome i, weighted by its probability; the sum is the average surprise.").format(h=h, a=a),
                        term_notes=_zeros_note(pv, a))


def cross_entropy(d: Derivation, p: Any, q: Any, *, at: str = "", id: str = "cross_entropy", base: Any = "e",
                  count: sp.Symbol = n, names: dict | None = None) -> Sum:
    """Steps `{id}_terms`, c_i = -p_i log q_i, and `{id}`, H(P, Q) = Σ_i c_i (+inf where q_i = 0 < p_i)."""
    name, b, (pv, qv) = Names(d, CROSS_NAMES, names), logs(base), _prepare(d, count, p, q)
    c, H, a, z = name.array("terms"), name.scalar("total"), _label(p), _label(q)
    d.define(xlogy)
    return sum_of_terms(d, f"{at}{id}", _("Cross-entropy {H}").format(H=_shown(d, H)), c, H, -_term(b, p.symbol[i], q.symbol[i]),
                        b.scale(-xlogy(pv, qv)), f"-xlogy({p.var}, {q.var}){b.divide}", concept="information.cross_entropy",
                        count=count, explanation=_("{c}_i = -{a}_i log {z}_i: the average surprise when outcomes drawn from {a} are coded with {z}.").format(c=c, a=a, z=z),
                        notes=infinite_note(pv, qv, a, z) + _one_hot_note(pv, z), term_notes=_zeros_note(pv, a))


def _one_hot_note(p: np.ndarray, q_name: str) -> tuple[str, ...]:
    hot = np.flatnonzero(p == 1)
    if len(hot) != 1:
        return ()
    return (_("one-hot: only i = {c} has probability 1, so the sum is -log {q}_{c}").format(c=int(hot[0]), q=q_name),)


def kl(d: Derivation, p: Any, q: Any, *, at: str = "", id: str = "kl", base: Any = "e", count: sp.Symbol = n,
       names: dict | None = None, via: tuple[Step, Step] | None = None) -> Sum:
    """Steps `{id}_terms`, r_i = p_i log(p_i / q_i), and `{id}`, KL(P‖Q) = Σ_i r_i.

    `via`, the (cross-entropy, entropy) sums of the same P and Q if the derivation has
    them, adds a note with H(P, Q) - H(P), which equals KL in exact arithmetic."""
    name, b, (pv, qv) = Names(d, KL_NAMES, names), logs(base), _prepare(d, count, p, q)
    r, K, a, z = name.array("terms"), name.scalar("total"), _label(p), _label(q)
    d.define(rel_entr)
    values = b.scale(rel_entr(pv, qv))
    notes = infinite_note(pv, qv, a, z) + _negative_note(float(values.sum()), pv, qv) + _via_note(d, via, float(values.sum()))
    return sum_of_terms(d, f"{at}{id}", _("KL divergence {K}").format(K=_shown(d, K)), r, K, _term(b, p.symbol[i], p.symbol[i] / q.symbol[i]),
                        values, f"rel_entr({p.var}, {q.var}){b.divide}", concept="information.kl", count=count,
                        explanation=_("{r}_i = {a}_i log({a}_i / {z}_i): the extra surprise of coding outcome i with {z} instead of {a}, weighted by {a}_i. Terms can be negative; their sum cannot.").format(r=r, a=a, z=z),
                        notes=notes, term_notes=_zeros_note(pv, a))


def _negative_note(value: float, p: np.ndarray, q: np.ndarray) -> tuple[str, ...]:
    """Said only when rounding makes the computed KL negative (it is >= 0 exactly)."""
    if not value < 0:
        return ()
    off = max(abs(float(sum(map(Fraction, v.tolist())) - 1)) for v in (p, q))
    return (Caution(_("the computed value is below 0 by {x:.2g} only through float64 rounding (the inputs sum to 1 within {off:.1g}); the exact KL of two distributions is >= 0").format(
        x=-value, off=off)),)


def _via_note(d: Derivation, via: tuple[Step, Step] | None, value: float) -> tuple[str, ...]:
    if via is None or not np.isfinite(value):
        return ()
    cross, own = via
    difference = cross.value - own.value
    lost = "" if np.isclose(difference, value, rtol=1e-12, atol=0) else _("; the subtraction of two nearly equal numbers loses digits, so the terms are summed directly")
    return (_("{H} - {E} = {x:.6g}, the same quantity{lost}").format(H=_shown(d, cross.symbol), E=_shown(d, own.symbol), x=difference, lost=lost),)


def _half(total: sp.Expr) -> sp.Expr:
    """(a + b)/2 as the lecture writes it (SymPy would print a/2 + b/2)."""
    return written_product(total, sp.Pow(2, -1, evaluate=False))


def mixture(d: Derivation, p: Any, q: Any, *, at: str = "", id: str = "mixture", count: sp.Symbol = n,
            names: dict | None = None) -> Step:
    """Step `{id}`: M_i = (p_i + q_i) / 2, the average distribution."""
    pv, qv = _prepare(d, count, p, q)
    M = Names(d, {"M": "M"}, names).array("M")
    return d.step(f"{at}{id}", _("Average distribution {M}").format(M=M), symbol=M, index=(i,),
                  formula=_half(p.symbol[i] + q.symbol[i]), value=(pv + qv) / 2, code=f"{M} = ({p.var} + {q.var}) / 2",
                  concept="information.mixture")


def jensen_shannon(d: Derivation, p: Any, q: Any, *, at: str = "", base: Any = "e", count: sp.Symbol = n,
                   names: dict | None = None) -> JensenShannon:
    """Steps mixture, kl_pm(_terms), kl_qm(_terms) and jsd: JSD = (KL(P‖M) + KL(Q‖M)) / 2,
    symmetric, finite (M_i >= p_i / 2 > 0 wherever p_i > 0) and at most log 2."""
    name, b = Names(d, JSD_NAMES, names), logs(base)
    M = mixture(d, p, q, at=at, count=count, names={"M": name.chosen["M"]})
    to_p = kl(d, p, M, at=at, id="kl_pm", base=base, count=count,
              names={"terms": name.chosen["terms_p"], "total": name.chosen["KL_PM"]})
    to_q = kl(d, q, M, at=at, id="kl_qm", base=base, count=count,
              names={"terms": name.chosen["terms_q"], "total": name.chosen["KL_QM"]})
    J = name.scalar("JSD")
    bound = _("at most log 2 = 0.6931 nats") if b.symbolic == sp.E else _("at most 1 bit")
    jsd = d.step(f"{at}jsd", _("Jensen-Shannon divergence {J}").format(J=_shown(d, J)),
                 explanation=_("{J} = ({A} + {B}) / 2: symmetric, always finite and {bound}.").format(
                     J=_shown(d, J), A=_shown(d, to_p.total.symbol), B=_shown(d, to_q.total.symbol), bound=bound),
                 symbol=J, formula=_half(to_p.total.symbol + to_q.total.symbol), value=(to_p.total.value + to_q.total.value) / 2,
                 code=f"{J} = ({to_p.total.var} + {to_q.total.var}) / 2", substitute=True, concept="information.jsd")
    return JensenShannon(M, to_p, to_q, jsd)


def _shown(d: Derivation, symbol: sp.Symbol) -> str:
    """How `symbol` is written on the terminal (its declared Unicode name, else its name)."""
    return d.names.get(str(symbol), (str(symbol), ""))[0]
