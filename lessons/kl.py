"""Entropy, cross-entropy, KL divergence both ways, and the Jensen-Shannon divergence.

Follows Deep Learning 101 #16, in its order:

    H(P) = -Σ_i p_i log p_i,   H(P, Q) = -Σ_i p_i log q_i,
    KL(P‖Q) = Σ_i p_i log(p_i / q_i) = H(P, Q) - H(P) >= 0,   KL(Q‖P) (asymmetry),
    M = (P + Q) / 2,   JSD = (KL(P‖M) + KL(Q‖M)) / 2.

Conventions: 0 log 0 = 0 (a term with p_i = 0 adds nothing), and p log(p / 0) = +inf for
p > 0, so KL(P‖Q) is infinite where Q gives zero probability to something P can produce.
Logarithms in base e (nats) or 2 (bits), said on screen. SciPy's `jensenshannon` is the
square root of the JSD: a note gives that root. The math is the `information` block's; this
module tells the lecture's story with it.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import information
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

KL_PQ = {"terms": "r", "total": ("KL_PQ", "KL(P‖Q)", r"D_{\mathrm{KL}}(P \| Q)")}
KL_QP = {"terms": "g", "total": ("KL_QP", "KL(Q‖P)", r"D_{\mathrm{KL}}(Q \| P)")}


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with entropy, cross-entropy, both KL divergences and the JSD."""
    base = given["base"].value
    logs = information.logs(base)
    p = d.given("p", sp.IndexedBase("p"), np.array(given["p"].value, dtype=float), given["p"], _("distribution P"))
    q = d.given("q", sp.IndexedBase("q"), np.array(given["q"].value, dtype=float), given["q"], _("distribution Q"))
    d.given("base", sp.Symbol("b"), logs.number, given["base"], _("log base"))
    d.section(_("Entropy and cross-entropy ({unit})").format(unit=logs.unit),
              _("Information of an outcome is -log p_i; entropy is its expectation under P. Terms with p_i = 0 count 0 (0 log 0 = 0).")
              + " " + _units(logs))
    own = information.entropy(d, p, base=base)
    cross = information.cross_entropy(d, p, q, base=base)
    d.section(_("KL divergence"),
              _("KL(P‖Q) = H(P,Q) - H(P): the extra average surprise when outcomes come from P but are scored with Q's probabilities. It is ≥ 0, and 0 only when P = Q. Each term is computed as p_i log(p_i / q_i), not as a difference of two logs, so no digits are lost when P ≈ Q."))
    forward = information.kl(d, p, q, id="kl_pq", base=base, names=KL_PQ, via=(cross.total, own.total))
    backward = information.kl(d, q, p, id="kl_qp", base=base, names=KL_QP)
    _asymmetry(d, forward.total, backward.total)
    d.section(_("Jensen-Shannon divergence"),
              _("A symmetric, always finite divergence: compare each distribution with their average M."))
    jsd = information.jensen_shannon(d, p, q, base=base).jsd
    jsd.notes += (_("SciPy's jensenshannon({args}) returns its square root, √JSD(P‖Q) = {root:.4g}").format(
        args="p, q, base=2" if logs.divide else "p, q", root=np.sqrt(max(jsd.value, 0.0))),)


def _units(logs: information.Logs) -> str:
    """The logarithm's base and the unit it gives, said once on screen."""
    if logs.divide:
        return _("Logarithms are in base 2, so the values are in bits.")
    return _("Logarithms are natural (base e), so the values are in nats.")


def _asymmetry(d: Derivation, forward, backward) -> None:
    """Step asymmetry, KL(P‖Q) - KL(Q‖P), when both are finite (else a note on KL(Q‖P) says why not)."""
    if not (np.isfinite(forward.value) and np.isfinite(backward.value)):
        backward.notes += (_("the asymmetry KL(P‖Q) - KL(Q‖P) is not shown: at least one of them is infinite"),)
        return
    delta = d.name(sp.Symbol("Delta"), "Δ", r"\Delta")
    d.step("asymmetry", _("Asymmetry"), explanation=_("KL is not a distance: in general KL(P‖Q) ≠ KL(Q‖P)."),
           symbol=delta, formula=forward.symbol - backward.symbol, value=forward.value - backward.value,
           code=f"Delta = {forward.var} - {backward.var}", substitute=True)
