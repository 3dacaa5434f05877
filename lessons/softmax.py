"""Softmax, its Jacobian, cross-entropy and the chain rule down to dL/do = y_hat - y.

Follows Deep Learning 101 #13. Every exponential is taken of o_k - m with m = max_k o_k:
softmax is unchanged by the shift and exp never overflows, so logits such as
1000,0,-1000 work. The loss uses log y_k = o_k - m - log S, so it never takes log 0.
"""

import numpy as np
import sympy as sp

from dlsteps.i18n import _
from dlsteps.model import Derivation, GradientCheck, LessonError
from dlsteps.symbolic import Maximum

META = {
    "title": "Softmax and the derivative of cross-entropy",
    "lecture": "DL101 #13 (Softmax와 Cross-Entropy의 미분)",
    "summary": "softmax, its Jacobian, cross-entropy and dL/do = y_hat - y",
    "example": "dlsteps softmax --logits 1000,0,-1000 --target 2",
    "inputs": {
        "logits": {"shape": "vector n", "default": "2,1,0.1", "help": "the logits o (scores before softmax)"},
        "target": {
            "shape": "class n",
            "default": "0",
            "help": "the true class as an index from 0, or a probability vector of the same length",
        },
    },
}

n = sp.Symbol("n", integer=True, positive=True)
i, j, k = sp.symbols("i j k", integer=True, nonnegative=True)
o, t, u, y, J, ls, C = (sp.IndexedBase(name) for name in ("o", "t", "u", "y", "J", "ell", "C"))
m, S, L = sp.symbols("m S L")
OVERFLOW = 709.78  # exp(x) overflows float64 above log(1.797e308)


def _sum(expr, index=k):
    """Sum of `expr` over `index` = 0 .. n-1."""
    return sp.Sum(expr, (index, 0, n - 1))


def softmax(logits: np.ndarray) -> np.ndarray:
    """y_i = exp(o_i - m) / sum_k exp(o_k - m), m = max_k o_k (the same as exp(o_i)/sum_k exp(o_k))."""
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def cross_entropy(logits: np.ndarray, target: np.ndarray) -> float:
    """L = -sum_k t_k log y_k, with log y_k = o_k - m - log sum_l exp(o_l - m)."""
    log_y = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
    return float(-(target * log_y).sum())


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the softmax, Jacobian, cross-entropy and chain-rule steps."""
    logits = np.array(given["logits"].value, dtype=float)
    size = len(logits)
    target = _target(given["target"].value, size)
    d.bind(n, size)
    d.given("logits", o, logits, given["logits"], _("logits o"))
    d.given("target", t, target, given["target"], _("target distribution t (one-hot for a class index)"))
    _forward(d, logits)
    _jacobian(d)
    _loss(d, logits, target)
    _chain_rule(d, logits, target)


def _target(value, size: int) -> np.ndarray:
    """A class index as a one-hot vector; a probability vector as it is."""
    if isinstance(value, int):
        return np.eye(size)[value]
    return np.array(value, dtype=float)


def _forward(d: Derivation, logits: np.ndarray) -> None:
    d.section(_("Softmax"), _("Turn the logits into probabilities that are positive and sum to 1."))
    shift = float(logits.max())
    notes = ()
    if np.abs(logits).max() > OVERFLOW:
        notes = (_("exp of a logit this large would overflow float64 (exp(x) is inf for x > 709.78); after the shift the largest exponential is exp(0) = 1"),)
    d.step("shift", _("Shift by the largest logit"),
           explanation=_("Softmax is unchanged when every logit is shifted by the same m: exp(o_i - m) / Σ exp(o_k - m) = exp(o_i) / Σ exp(o_k), because the factor exp(-m) cancels. Shifting by the maximum keeps every exponent ≤ 0, so nothing overflows."),
           symbol=m, formula=Maximum(o[k], k, 0, n - 1), value=shift,
           depends_on=("logits",), code="m = o.max()", notes=notes)
    exps = np.exp(logits - shift)
    d.step("exp", _("Exponentials"), symbol=u, index=(i,), formula=sp.exp(o[i] - m), value=exps,
           depends_on=("shift",), code="u = np.exp(o - m)")
    d.step("sum", _("Their sum"), symbol=S, formula=_sum(u[k]), value=float(exps.sum()),
           depends_on=("exp",), code="S = u.sum()", substitute=True)
    probabilities = exps / exps.sum()
    underflow = (_("some y_k underflow to exactly 0 in float64 (their true values are below 1e-308)"),) if (probabilities == 0).any() else ()
    d.step("softmax", _("Softmax"), explanation=_("y_i = exp(o_i) / Σ_k exp(o_k), computed from the shifted exponentials."),
           symbol=y, index=(i,), formula=u[i] / S, value=probabilities, depends_on=("exp", "sum"),
           code="y = u / S", notes=underflow)


def _jacobian(d: Derivation) -> None:
    d.section(_("Jacobian of softmax"), _("How each output y_i moves when one logit o_j moves."))
    y_of_o = sp.exp(o[i] - m) / _sum(sp.exp(o[k] - m))
    raw = sp.diff(y_of_o, o[j])
    jacobian = d.env[y][:, None] * (np.eye(len(d.env[y])) - d.env[y][None, :])
    d.step("jacobian_quotient", _("Differentiate (quotient rule)"),
           explanation=_("SymPy differentiates y_i with respect to o_j, holding the shift m constant; the derivative of o_k by o_j is the Kronecker delta."),
           lhs=sp.Derivative(y[i], o[j]), index=(i, j), formula=raw, value=jacobian, depends_on=("softmax",),
           code="J = np.diag(y) - np.outer(y, y)")
    simplified = y[i] * (sp.KroneckerDelta(i, j) - y[j])
    _prove_jacobian(raw, simplified)
    d.step("jacobian", _("Simplify with y_i"),
           explanation=_("The sum over k of exp(o_k - m) δ_jk keeps only k = j; writing exp(o_i - m) / S = y_i turns the quotient into y_i(δ_ij - y_j): y_i(1 - y_i) on the diagonal, -y_i y_j off it."),
           symbol=J, index=(i, j), lhs=sp.Derivative(y[i], o[j]), formula=simplified, value=jacobian,
           depends_on=("jacobian_quotient",), code="J = np.diag(y) - np.outer(y, y)")


def _prove_jacobian(raw: sp.Expr, simplified: sp.Expr) -> None:
    """Check symbolically that SymPy's quotient-rule derivative equals y_i (delta_ij - y_j)."""
    sifted = raw.replace(lambda x: isinstance(x, sp.Sum) and x.has(sp.KroneckerDelta),
                         lambda x: x.function.subs(k, j))
    total = _sum(sp.exp(o[k] - m))
    in_y = sifted.subs({sp.exp(o[i] - m): y[i] * total, sp.exp(o[j] - m): y[j] * total})
    if sp.simplify(in_y - simplified) != 0:
        raise LessonError(f"softmax Jacobian: {in_y} does not simplify to {simplified}")


def _loss(d: Derivation, logits: np.ndarray, target: np.ndarray) -> None:
    d.section(_("Cross-entropy"), _("The loss compares the target distribution t with the prediction y."))
    log_y = logits - d.env[m] - np.log(d.env[S])
    d.step("log_softmax", _("Log-probabilities"),
           explanation=_("log y_k = o_k - m - log S, computed without taking log of a probability, so it is exact even where y_k underflows to 0."),
           symbol=ls, index=(k,), lhs=sp.log(y[k]), formula=o[k] - m - sp.log(S), value=log_y,
           depends_on=("shift", "sum"), code="log_y = o - m - np.log(S)")
    loss = cross_entropy(logits, target)
    hot = np.flatnonzero(target == 1)
    notes = (_("t is one-hot at class {c}, so L = -log y_{c}").format(c=int(hot[0])),) if len(hot) == 1 else ()
    d.step("loss", _("Cross-entropy loss"), explanation=_("L = -Σ_k t_k log y_k."),
           symbol=L, formula=-_sum(t[k] * ls[k]), value=loss, depends_on=("log_softmax", "target"),
           code="L = -(t * log_y).sum()", notes=notes, substitute=True)


def _chain_rule(d: Derivation, logits: np.ndarray, target: np.ndarray) -> None:
    d.section(_("Chain rule"), _("∂L/∂o_j = Σ_k ∂L/∂y_k · ∂y_k/∂o_j: every output y_k depends on every logit o_j."))
    probabilities = d.env[y]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        by_output = -target / probabilities
    skipped = ()
    if np.isfinite(by_output).all():
        d.step("dL_dy", _("Loss by each output"), explanation=_("∂L/∂y_k = -t_k / y_k."),
               lhs=sp.Derivative(L, y[k]), index=(k,), formula=-t[k] / y[k], value=by_output,
               depends_on=("target", "softmax"), code="dL_dy = -t / y")
    else:
        skipped = (_("∂L/∂y_k = -t_k / y_k is not shown: some y_k is too small for 1 / y_k to fit in float64; the y_k cancel below, so the result is exact"),)
    terms = -target[:, None] * (np.eye(len(logits)) - probabilities[None, :])
    d.step("chain_terms", _("Terms of the chain-rule sum"),
           explanation=_("Term (k, j) is ∂L/∂y_k · ∂y_k/∂o_j = (-t_k / y_k) · y_k(δ_kj - y_j) = -t_k(δ_kj - y_j): the y_k cancel."),
           symbol=C, index=(k, j), formula=-t[k] * (sp.KroneckerDelta(k, j) - y[j]), value=terms,
           depends_on=("jacobian", "target"), code="C = -t[:, None] * (np.eye(n) - y[None, :])", notes=skipped)
    gradient = terms.sum(axis=0)
    check = GradientCheck(lambda point: cross_entropy(point, target), logits)
    d.step("gradient_sum", _("Sum over k"), explanation=_("∂L/∂o_j = Σ_k C_kj."),
           lhs=sp.Derivative(L, o[j]), index=(j,), formula=_sum(C[k, j]), value=gradient,
           depends_on=("chain_terms",), code="dL_do = C.sum(axis=0)", gradient=check)
    d.step("gradient", _("Simplify: prediction minus target"),
           explanation=_("Σ_k -t_k(δ_kj - y_j) = -t_j + y_j · Σ_k t_k = y_j - t_j, because the target sums to 1."),
           lhs=sp.Derivative(L, o[j]), index=(j,), formula=y[j] - t[j], value=probabilities - target,
           depends_on=("gradient_sum",), code="dL_do = y - t", gradient=check)
