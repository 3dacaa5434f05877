"""Entropy, cross-entropy, KL divergence both ways, and the Jensen-Shannon divergence.

Follows Deep Learning 101 #16. Conventions: 0 log 0 = 0 (a term with p_i = 0 adds
nothing), and p log(p / 0) = +inf for p > 0, so KL(P||Q) is infinite where Q gives zero
probability to something P can produce. Logarithms in base e (nats) or 2 (bits).
"""

import numpy as np
import sympy as sp

from dlsteps.i18n import _
from dlsteps.model import Derivation

META = {
    "title": "KL divergence",
    "lecture": "DL101 #16 (KL Divergence)",
    "summary": "entropy, cross-entropy, KL(P||Q) and KL(Q||P), Jensen-Shannon divergence",
    "example": "dlsteps kl --p 0.5,0.5,0 --q 0.5,0,0.5 --base 2",
    "inputs": {
        "p": {"shape": "vector n", "domain": "probability", "default": "0.36,0.48,0.16",
              "help": "the distribution P (probabilities summing to 1)"},
        "q": {"shape": "vector n", "domain": "probability", "default": "1/3,1/3,1/3",
              "help": "the distribution Q, over the same outcomes"},
        "base": {"shape": "choice", "choices": ["e", "2"], "default": "e",
                 "help": "the base of the logarithm: e for nats, 2 for bits"},
    },
}

n = sp.Symbol("n", integer=True, positive=True)
i = sp.Symbol("i", integer=True, nonnegative=True)
P, Q, M = sp.IndexedBase("p"), sp.IndexedBase("q"), sp.IndexedBase("M")


def xlogy(x: np.ndarray, y: np.ndarray, base: float) -> np.ndarray:
    """x log_b y elementwise, with 0 where x = 0 (0 log 0 = 0) and -inf where y = 0 < x."""
    with np.errstate(divide="ignore"):
        logs = np.log(np.where(x > 0, y, 1.0)) / np.log(base)
    return np.where(x > 0, x * logs, 0.0)


def kl(a: np.ndarray, b: np.ndarray, base: float) -> float:
    """KL(A||B) = sum_i a_i log_b(a_i / b_i): +inf where b_i = 0 < a_i."""
    return float((xlogy(a, a, base) - xlogy(a, b, base)).sum())


class _Logs:
    """log in the chosen base, for formulas (SymPy) and numbers (NumPy)."""

    def __init__(self, base: str) -> None:
        self.number = np.e if base == "e" else 2.0
        self.unit = _("nats") if base == "e" else _("bits")
        self.base = sp.E if base == "e" else sp.Integer(2)

    def log(self, x: sp.Expr) -> sp.Expr:
        return sp.log(x) if self.base == sp.E else sp.log(x, self.base)

    def term(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        """a log b, written as 0 where a = 0 (the convention 0 log 0 = 0)."""
        return sp.Piecewise((0, sp.Eq(a, 0)), (a * self.log(b), True))


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with entropy, cross-entropy, both KL divergences and the JSD."""
    p = np.array(given["p"].value, dtype=float)
    q = np.array(given["q"].value, dtype=float)
    logs = _Logs(given["base"].value)
    d.bind(n, len(p))
    d.given("p", P, p, given["p"], _("distribution P"))
    d.given("q", Q, q, given["q"], _("distribution Q"))
    d.given("base", sp.Symbol("b"), logs.number, given["base"], _("log base"))
    _entropies(d, p, q, logs)
    _kl(d, p, q, logs)
    _jsd(d, p, q, logs)


def _named(d: Derivation, plain: str, shown: str, latex: str) -> sp.Symbol:
    return d.name(sp.Symbol(plain), shown, latex)


def _sum_of_terms(d: Derivation, id: str, title: str, terms: sp.IndexedBase, total: sp.Symbol, formula: sp.Expr, values: np.ndarray, depends: tuple, explanation: str, code: str, notes: tuple = ()) -> float:
    """Two steps: the terms t_i = formula (index i), then their sum; returns the sum."""
    d.step(f"{id}_terms", _("{title}: terms").format(title=title), explanation=explanation, symbol=terms, index=(i,),
           formula=formula, value=values, depends_on=depends, code=f"{terms} = {code}  # xlogy(x, y) = x log y, 0 where x = 0")
    value = float(values.sum())
    d.step(id, title, symbol=total, formula=sp.Sum(terms[i], (i, 0, n - 1)), value=value,
           depends_on=(f"{id}_terms",), code=f"{total} = {terms}.sum()", substitute=True, notes=notes)
    return value


def _infinite(a: np.ndarray, b: np.ndarray, a_name: str, b_name: str) -> tuple[str, ...]:
    """A note naming the outcomes where b_i = 0 < a_i, which make the sum infinite."""
    where = np.flatnonzero((b == 0) & (a > 0))
    if len(where) == 0:
        return ()
    return (_("infinite: {b}_i = 0 where {a}_i > 0 (i = {where}); an outcome {a} can produce is impossible under {b}, so describing it with {b}'s code costs -log 0 = ∞").format(
        a=a_name, b=b_name, where=", ".join(map(str, where))),)


def _entropies(d: Derivation, p: np.ndarray, q: np.ndarray, logs: _Logs) -> None:
    d.section(_("Entropy and cross-entropy ({unit})").format(unit=logs.unit),
              _("Information of an outcome is -log p_i; entropy is its expectation under P. Terms with p_i = 0 count 0 (0 log 0 = 0)."))
    H = _named(d, "H_P", "H(P)", "H(P)")
    _sum_of_terms(d, "entropy", _("Entropy H(P)"), sp.IndexedBase("h"), H, -logs.term(P[i], P[i]),
                  -xlogy(p, p, logs.number), ("p",), _("h_i = -p_i log p_i: the average surprise of P."), "-xlogy(p, p)")
    HPQ = _named(d, "H_PQ", "H(P,Q)", "H(P, Q)")
    _sum_of_terms(d, "cross_entropy", _("Cross-entropy H(P,Q)"), sp.IndexedBase("c"), HPQ, -logs.term(P[i], Q[i]),
                  -xlogy(p, q, logs.number), ("p", "q"), _("c_i = -p_i log q_i: the average surprise when outcomes from P are coded with Q."),
                  "-xlogy(p, q)", _infinite(p, q, "p", "q"))


def _kl(d: Derivation, p: np.ndarray, q: np.ndarray, logs: _Logs) -> None:
    d.section(_("KL divergence"), _("KL(P||Q) = H(P,Q) - H(P): the extra cost of coding P with Q. It is >= 0, and 0 only when P = Q."))
    KPQ = _named(d, "KL_PQ", "KL(P‖Q)", r"D_{\mathrm{KL}}(P \| Q)")
    forward = kl(p, q, logs.number)
    d.step("kl_pq", _("KL(P||Q)"), symbol=KPQ, formula=sp.Symbol("H_PQ") - sp.Symbol("H_P"), value=forward,
           depends_on=("entropy", "cross_entropy"), code="kl_pq = H_PQ - H_P", substitute=True, notes=_infinite(p, q, "p", "q"))
    KQP = _named(d, "KL_QP", "KL(Q‖P)", r"D_{\mathrm{KL}}(Q \| P)")
    backward = _sum_of_terms(d, "kl_qp", _("KL(Q||P)"), sp.IndexedBase("r"), KQP, logs.term(Q[i], Q[i] / P[i]),
                             xlogy(q, q, logs.number) - xlogy(q, p, logs.number), ("p", "q"),
                             _("r_i = q_i log(q_i / p_i): the same measure with the roles swapped."), "xlogy(q, q) - xlogy(q, p)",
                             _infinite(q, p, "q", "p"))
    if np.isfinite(forward) and np.isfinite(backward):
        d.step("asymmetry", _("Asymmetry"), explanation=_("KL is not a distance: in general KL(P||Q) != KL(Q||P)."),
               symbol=_named(d, "Delta", "Δ", r"\Delta"), formula=KPQ - KQP, value=forward - backward,
               depends_on=("kl_pq", "kl_qp"), code="delta = kl_pq - kl_qp", substitute=True)


def _jsd(d: Derivation, p: np.ndarray, q: np.ndarray, logs: _Logs) -> None:
    d.section(_("Jensen-Shannon divergence"),
              _("A symmetric, always finite divergence: compare each distribution with their average M."))
    m = (p + q) / 2
    d.step("mixture", _("Average distribution M"), symbol=M, index=(i,), formula=(P[i] + Q[i]) / 2, value=m,
           depends_on=("p", "q"), code="M = (p + q) / 2")
    KPM = _named(d, "KL_PM", "KL(P‖M)", r"D_{\mathrm{KL}}(P \| M)")
    KQM = _named(d, "KL_QM", "KL(Q‖M)", r"D_{\mathrm{KL}}(Q \| M)")
    pm = _sum_of_terms(d, "kl_pm", _("KL(P||M)"), sp.IndexedBase("u"), KPM, logs.term(P[i], P[i] / M[i]),
                       xlogy(p, p, logs.number) - xlogy(p, m, logs.number), ("p", "mixture"), _("u_i = p_i log(p_i / M_i); M_i >= p_i / 2 > 0 wherever p_i > 0, so this is finite."),
                       "xlogy(p, p) - xlogy(p, M)")
    qm = _sum_of_terms(d, "kl_qm", _("KL(Q||M)"), sp.IndexedBase("v"), KQM, logs.term(Q[i], Q[i] / M[i]),
                       xlogy(q, q, logs.number) - xlogy(q, m, logs.number), ("q", "mixture"), _("v_i = q_i log(q_i / M_i)."), "xlogy(q, q) - xlogy(q, M)")
    bound = _("at most log 2 = 0.6931 nats") if logs.base == sp.E else _("at most 1 bit")
    d.step("jsd", _("JSD(P||Q)"), explanation=_("JSD = (KL(P||M) + KL(Q||M)) / 2, symmetric and {bound}.").format(bound=bound),
           symbol=_named(d, "JSD", "JSD(P‖Q)", r"\mathrm{JSD}(P \| Q)"), formula=(KPM + KQM) / 2, value=(pm + qm) / 2,
           depends_on=("kl_pm", "kl_qm"), code="jsd = (kl_pm + kl_qm) / 2", substitute=True)
