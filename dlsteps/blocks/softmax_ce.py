"""Softmax with cross-entropy: the forward pass, the Jacobian, the loss and its gradient.

    m = max_k o_k,  u_i = exp(o_i - m),  S = Σ_k u_k,  y_i = u_i / S
    ∂y_i/∂o_j = y_i (δ_ij - y_j)
    log y_k = o_k - m - log S,  L = -Σ_k t_k log y_k
    ∂L/∂o_j = Σ_k -t_k (δ_kj - y_j) = y_j - t_j   (t sums to 1)

Every exponential is taken of o_k - m: softmax is unchanged by the shift and exp never
overflows, so logits such as 1000,0,-1000 work; the loss never takes log 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import Names, i, j, k, n, size, total, written_product
from dlsteps.errors import LessonError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck, Step
from dlsteps.symbolic import Maximum, exponential

OVERFLOW = 709.78  # exp(x) overflows float64 above log(1.797e308)
UNDERFLOW = -745.13  # exp(x) is 0 in float64 below log(4.9e-324)
SOFTMAX_NAMES = {"m": "m", "u": "u", "S": "S", "y": "y"}
LOSS_NAMES = {"log_y": ("log_y", "log y", r"\log y"), "L": "L"}
CHAIN_NAMES = {"dL_dy": ("dL_dy", "∂L/∂y", r"\frac{\partial L}{\partial y}"), "C": "C",
               "dL_do_sum": ("dL_do_sum", "∂L/∂o", r"\frac{\partial L}{\partial o}")}


@dataclass
class Softmax:
    """Handles of the softmax steps: the shift m, the exponentials u, their sum S, y."""

    logits: Any
    size: sp.Symbol
    shift: Step
    exp: Step
    sum: Step
    probs: Step


def softmax_values(logits: np.ndarray) -> np.ndarray:
    """y_i = exp(o_i - m) / Σ_k exp(o_k - m), m = max_k o_k."""
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def cross_entropy_value(logits: np.ndarray, target: np.ndarray) -> float:
    """L = -Σ_k t_k log y_k, with log y_k = o_k - m - log Σ_l exp(o_l - m)."""
    log_y = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
    return float(-(target * log_y).sum())


def _range_note(logits: np.ndarray) -> tuple[str, ...]:
    """What the shift avoids, computed from the logits: overflow, or underflow to 0/0."""
    if logits.max() > OVERFLOW:
        return (_("exp of a logit this large would overflow float64 (exp(x) is inf for x > 709.78); after the shift the largest exponential is exp(0) = 1"),)
    if logits.max() < UNDERFLOW:
        return (_("exp of every logit underflows to 0 in float64 (exp(x) is 0 for x < -745.13), so exp(o_i) / Σ exp(o_k) would be 0/0; after the shift the largest exponential is exp(0) = 1"),)
    return ()


def softmax(d: Derivation, logits: Any, *, at: str = "", count: sp.Symbol = n, names: dict | None = None) -> Softmax:
    """Steps shift, exp, sum, softmax for the logits handle (a vector over `count`)."""
    name = Names(d, SOFTMAX_NAMES, names)
    o, ov = logits.symbol, logits.var
    values = np.asarray(logits.value, dtype=float)
    size(d, count, len(values))
    m, u, S, y = name.scalar("m"), name.array("u"), name.scalar("S"), name.array("y")
    shift = d.step(f"{at}shift", _("Shift by the largest logit"),
                   explanation=_("Softmax is unchanged when every logit is shifted by the same m: exp(o_i - m) / Σ exp(o_k - m) = exp(o_i) / Σ exp(o_k), because the factor exp(-m) cancels. Shifting by the maximum keeps every exponent ≤ 0, so nothing overflows."),
                   symbol=m, formula=Maximum(o[k], k, 0, count - 1), value=float(values.max()),
                   code=f"{m} = {ov}.max()", concept="softmax_ce.shift", notes=_range_note(values), substitute=True)
    exps = np.exp(values - shift.value)
    exp = d.step(f"{at}exp", _("Exponentials"), symbol=u, index=(i,), formula=exponential(o[i] - m), value=exps,
                 code=f"{u} = np.exp({ov} - {m})", concept="softmax_ce.exp")
    sum_ = d.step(f"{at}sum", _("Their sum"), symbol=S, formula=total(u[k], k, count), value=float(exps.sum()),
                  code=f"{S} = {u}.sum()", concept="softmax_ce.sum", substitute=True)
    probabilities = exps / exps.sum()
    underflow = (Caution(_("some y_k underflow to exactly 0 in float64 (their true values are below 1e-308)")),) if (probabilities == 0).any() else ()
    probs = d.step(f"{at}softmax", _("Softmax"), explanation=_("y_i = exp(o_i) / Σ_k exp(o_k), computed from the shifted exponentials."),
                   symbol=y, index=(i,), formula=u[i] / S, value=probabilities, code=f"{y} = {u} / {S}",
                   concept="softmax_ce.softmax", notes=underflow)
    return Softmax(logits, count, shift, exp, sum_, probs)


def jacobian(d: Derivation, sm: Softmax, *, at: str = "", names: dict | None = None) -> Step:
    """Steps jacobian_quotient, the quotient rule (f'g - fg')/g² with f = u_i, g = S:
    (u_i δ_ij S - u_i u_j)/S² (in full, SymPy's derivative of y_i, shown with --expand),
    and jacobian, y_i (δ_ij - y_j), proved equal to SymPy's derivative symbolically;
    returns the second."""
    name = Names(d, {"J": "J"}, names)
    o, m, y = sm.logits.symbol, sm.shift.symbol, sm.probs.symbol
    count = sm.size
    y_of_o = exponential(o[i] - m) / total(exponential(o[k] - m), k, count)
    raw = sp.diff(y_of_o, o[j])
    values = sm.probs.value
    matrix = values[:, None] * (np.eye(len(values)) - values[None, :])
    yv, u, S = sm.probs.var, sm.exp.var, sm.sum.var
    J = name.array("J")
    us, Ss = sm.exp.symbol, sm.sum.symbol
    quotient = (sp.Mul(us[i], sp.KroneckerDelta(i, j), Ss, evaluate=False) - us[i] * us[j]) / Ss ** 2
    d.step(f"{at}jacobian_quotient", _("Differentiate (quotient rule)"),
           explanation=_("y_i = u_i / S with u_i = exp(o_i - m) and S = Σ_k u_k. The quotient rule (f'g - fg')/g² needs ∂u_i/∂o_j = u_i δ_ij (δ_ij, the Kronecker delta, is the derivative of o_i by o_j) and ∂S/∂o_j = u_j, holding the shift m constant."),
           lhs=sp.Derivative(y[i], o[j]), index=(i, j), formula=quotient, full=raw, value=matrix, var=f"{J}_quotient",
           code=f"{J}_quotient = (np.diag({u}) * {S} - np.outer({u}, {u})) / {S} ** 2",
           concept="softmax_ce.jacobian_quotient")
    simplified = y[i] * (sp.KroneckerDelta(i, j) - y[j])
    prove_jacobian(raw, simplified, o, m, y, count)
    return d.step(f"{at}jacobian", _("Simplify with y_i"),
                  explanation=_("Writing u_i / S = y_i and u_j / S = y_j turns the quotient into y_i δ_ij - y_i y_j = y_i(δ_ij - y_j): y_i(1 - y_i) on the diagonal, -y_i y_j off it."),
                  symbol=J, index=(i, j), lhs=sp.Derivative(y[i], o[j]), formula=simplified, value=matrix,
                  code=f"{J} = np.diag({yv}) - np.outer({yv}, {yv})", concept="softmax_ce.jacobian")


def prove_jacobian(raw: sp.Expr, simplified: sp.Expr, o: sp.IndexedBase, m: sp.Symbol, y: sp.IndexedBase, count: sp.Symbol) -> None:
    """Check symbolically that SymPy's quotient-rule derivative equals `simplified`: their
    difference expands to 0 (simplify, far slower, is tried only where expanding does not
    reach 0)."""
    sifted = raw.replace(lambda x: isinstance(x, sp.Sum) and x.has(sp.KroneckerDelta),
                         lambda x: x.function.subs(k, j))
    denominator = total(exponential(o[k] - m), k, count)
    in_y = sifted.subs({sp.exp(o[i] - m): y[i] * denominator, sp.exp(o[j] - m): y[j] * denominator})
    difference = in_y - simplified
    if sp.expand(difference) != 0 and sp.simplify(difference) != 0:
        raise LessonError(f"softmax Jacobian: {in_y} does not simplify to {simplified}")


def cross_entropy(d: Derivation, sm: Softmax, target: Any, *, at: str = "", names: dict | None = None) -> Step:
    """Steps log_softmax and loss, L = -Σ_k t_k log y_k for a target distribution; returns the loss."""
    name = Names(d, LOSS_NAMES, names)
    o, m, S, t = sm.logits.symbol, sm.shift.symbol, sm.sum.symbol, target.symbol
    log_y, L = name.array("log_y"), name.scalar("L")
    logits = np.asarray(sm.logits.value, dtype=float)
    values = logits - sm.shift.value - np.log(sm.sum.value)
    d.step(f"{at}log_softmax", _("Log-probabilities"),
           explanation=_("log y_k = o_k - m - log S, computed without taking log of a probability, so it is exact even where y_k underflows to 0."),
           symbol=log_y, index=(k,), lhs=sp.log(sm.probs.symbol[k]), formula=sp.Add(o[k], -m, -sp.log(S), evaluate=False), value=values,
           code=f"{log_y} = {sm.logits.var} - {m} - np.log({S})", concept="softmax_ce.log_softmax")
    targets = np.asarray(target.value, dtype=float)
    hot = np.flatnonzero(targets == 1)
    notes = (_("t is one-hot at class {c}, so L = -log y_{c}").format(c=int(hot[0])),) if len(hot) == 1 else ()
    return d.step(f"{at}loss", _("Cross-entropy loss"), explanation=_("L = -Σ_k t_k log y_k."),
                  symbol=L, formula=-total(written_product(t[k], log_y[k]), k, sm.size), value=cross_entropy_value(logits, targets),
                  code=f"{L} = -({target.var} * {log_y}).sum()", concept="softmax_ce.loss", notes=notes, substitute=True)


def chain_rule(d: Derivation, sm: Softmax, target: Any, loss: Step, *, at: str = "", names: dict | None = None) -> Step:
    """Steps dL_dy, chain_terms, gradient_sum: ∂L/∂o_j = Σ_k ∂L/∂y_k ∂y_k/∂o_j written out;
    returns the summed gradient."""
    name = Names(d, CHAIN_NAMES, names)
    o, y, t, L_symbol = sm.logits.symbol, sm.probs.symbol, target.symbol, loss.symbol
    probabilities, targets = sm.probs.value, np.asarray(target.value, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        by_output = -targets / probabilities
    skipped = ()
    if np.isfinite(by_output).all():
        d.step(f"{at}dL_dy", _("Loss by each output"), explanation=_("∂L/∂y_k = -t_k / y_k."),
               symbol=name.array("dL_dy"), lhs=sp.Derivative(L_symbol, y[k]), index=(k,), formula=-t[k] / y[k], value=by_output,
               code=f"{name.plain('dL_dy')} = -{target.var} / {sm.probs.var}", concept="softmax_ce.dL_dy")
    else:
        skipped = (Caution(_("∂L/∂y_k = -t_k / y_k is not shown: some y_k is too small for 1 / y_k to fit in float64; the y_k cancel below, so the result is exact")),)
    terms = -targets[:, None] * (np.eye(len(probabilities)) - probabilities[None, :])
    C = name.array("C")
    d.step(f"{at}chain_terms", _("Terms of the chain-rule sum"),
           explanation=_("Term (k, j) is ∂L/∂y_k · ∂y_k/∂o_j = (-t_k / y_k) · y_k(δ_kj - y_j) = -t_k(δ_kj - y_j): the y_k cancel."),
           symbol=C, index=(k, j), formula=-t[k] * (sp.KroneckerDelta(k, j, evaluate=False) - y[j]), value=terms, notes=skipped,
           code=f"{C} = -{target.var}[:, None] * (np.eye(len({sm.probs.var})) - {sm.probs.var}[None, :])",
           concept="softmax_ce.chain_terms")
    return d.step(f"{at}gradient_sum", _("Sum over k"), explanation=_("∂L/∂o_j = Σ_k C_kj."),
                  lhs=sp.Derivative(L_symbol, o[j]), index=(j,), formula=total(C[k, j], k, sm.size), value=terms.sum(axis=0),
                  var=name.plain("dL_do_sum"), code=f"{name.plain('dL_do_sum')} = {C}.sum(axis=0)", concept="softmax_ce.gradient_sum",
                  gradient=loss_check(sm, targets))


def loss_check(sm: Softmax, targets: np.ndarray) -> GradientCheck:
    """Finite differences of the cross-entropy as a function of the logits."""
    return GradientCheck(lambda point: cross_entropy_value(point, targets), np.asarray(sm.logits.value, dtype=float))


def gradient(d: Derivation, sm: Softmax, target: Any, loss: Step, *, at: str = "", names: dict | None = None) -> Step:
    """Step gradient: ∂L/∂o_j = y_j - t_j (the target sums to 1); its symbol (dL_do) can
    be passed on as the upstream gradient of the layer that made the logits."""
    o, y, t = sm.logits.symbol, sm.probs.symbol, target.symbol
    name = Names(d, {"dL_do": ("dL_do", "∂L/∂o", r"\frac{\partial L}{\partial o}")}, names)
    var = name.plain("dL_do")
    targets = np.asarray(target.value, dtype=float)
    return d.step(f"{at}gradient", _("Simplify: prediction minus target"),
                  explanation=_("Σ_k -t_k(δ_kj - y_j) = -t_j + y_j · Σ_k t_k = y_j - t_j, because the target sums to 1."),
                  symbol=name.array("dL_do"), lhs=sp.Derivative(loss.symbol, o[j]), index=(j,), formula=sp.Add(y[j], -t[j], evaluate=False),
                  value=sm.probs.value - targets, code=f"{var} = {sm.probs.var} - {target.var}", concept="softmax_ce.gradient",
                  gradient=loss_check(sm, targets))
