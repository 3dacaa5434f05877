"""Normalization: batch norm over the batch axis, layer norm over the feature axis.

Batch norm of a mini-batch x (B samples b × d features j), per feature (Ioffe & Szegedy
2015, Algorithm 1):

    μ_j   = (1/B) Σ_b x_bj
    σ²_j  = (1/B) Σ_b (x_bj - μ_j)²                 biased: divided by B, not B - 1
    x̂_bj  = (x_bj - μ_j) / √(σ²_j + ε)
    y_bj  = γ_j x̂_bj + β_j

Backward, given an upstream gradient g_bj = ∂L/∂y_bj (the paper's §3), with the linear
loss L = Σ_b Σ_j g_bj y_bj, whose gradient at y is g, standing for any loss:

    ∂L/∂β_j  = Σ_b g_bj          ∂L/∂γ_j = Σ_b g_bj x̂_bj          ∂L/∂x̂_bj = g_bj γ_j
    ∂L/∂σ²_j = Σ_b ∂L/∂x̂_bj (x_bj - μ_j) (-1/2)(σ²_j + ε)^(-3/2)
    ∂L/∂μ_j  = Σ_b ∂L/∂x̂_bj (-1/√(σ²_j + ε)) + ∂L/∂σ²_j Σ_b (-2 (x_bj - μ_j) / B)
    ∂L/∂x_bj = ∂L/∂x̂_bj / √(σ²_j + ε) + ∂L/∂σ²_j 2 (x_bj - μ_j) / B + ∂L/∂μ_j / B
             = (B ∂L/∂x̂_bj - Σ_k ∂L/∂x̂_kj - x̂_bj Σ_k ∂L/∂x̂_kj x̂_kj) / (B √(σ²_j + ε))

Every input x_kj moves every output y_bj of its feature through μ_j and σ²_j, so each
gradient is checked by finite differences of the whole batch loss L.

Running statistics as PyTorch's ``BatchNorm1d`` keeps them (momentum m = 0.1 there):

    s²_j  = B/(B - 1) σ²_j                          unbiased (Bessel's correction)
    μ̄′_j  = (1 - m) μ̄_j + m μ_j        σ̄²′_j = (1 - m) σ̄²_j + m s²_j
    inference: yᵉᵛᵃˡ_bj = γ_j (x_bj - μ̄′_j) / √(σ̄²′_j + ε) + β_j

PyTorch normalizes a training batch with the biased σ² but tracks the unbiased s²; the
same average of the biased σ² is shown beside it for comparison.

Layer norm of x (T positions t × d features j), per position (Ba, Kiros & Hinton 2016):
μ_t = (1/d) Σ_j x_tj, σ²_t = (1/d) Σ_j (x_tj - μ_t)², x̂_tj = (x_tj - μ_t) / √(σ²_t + ε),
y_tj = γ_j x̂_tj + β_j, with γ and β optional (per feature).

`eps` is a handle (an input) or a plain number. The batch index b and the batch size B
are this module's symbols; a sum over the batch inside a step that is itself indexed by b
runs over k (a letter with a Unicode subscript, so x̂_kj prints as x̂ₖⱼ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import D, T, Names, j, k, size, t, total, written_product, written_sum
from dlsteps.errors import LessonError
from dlsteps.i18n import N_, _
from dlsteps.model import Caution, Derivation, GradientCheck, Step

B = sp.Symbol("B", integer=True, positive=True)
b = sp.Symbol("b", integer=True, nonnegative=True)

NAMES = {"mu": ("mu", "μ", r"\mu"), "var": ("sigma2", "σ²", r"\sigma^{2}"),
         "xhat": ("xhat", "x̂", r"\hat{x}"), "y": "y"}
GRADIENT_NAMES = {
    "L": "L",
    "beta": ("dL_dbeta", "∂L/∂β", r"\frac{\partial L}{\partial \beta}"),
    "gamma": ("dL_dgamma", "∂L/∂γ", r"\frac{\partial L}{\partial \gamma}"),
    "xhat": ("dL_dxhat", "∂L/∂x̂", r"\frac{\partial L}{\partial \hat{x}}"),
    "var": ("dL_dsigma2", "∂L/∂σ²", r"\frac{\partial L}{\partial \sigma^{2}}"),
    "mu": ("dL_dmu", "∂L/∂μ", r"\frac{\partial L}{\partial \mu}"),
    "x": ("dL_dx", "∂L/∂x", r"\frac{\partial L}{\partial x}"),
}
RUNNING_NAMES = {"s2": ("s2", "s²", "s^{2}"), "mean": ("mu_bar_new", "μ̄′", r"\bar{\mu}'"),
                 "var": ("var_bar_new", "σ̄²′", r"\bar{\sigma}'^{2}"),
                 "var_biased": ("var_bar_biased", "σ̃²′", r"\tilde{\sigma}'^{2}")}
EVAL_NAMES = {"y": ("y_eval", "yᵉᵛᵃˡ", r"y^{\mathrm{eval}}")}


@dataclass
class Normalized:
    """Handles of a normalization: the input handles (γ, β None when absent), the steps
    μ, σ², x̂ and y (None without γ and β), and the size symbols (rows, features)."""

    x: Any
    gamma: Any
    beta: Any
    eps: Any
    mean: Step
    var: Step
    xhat: Step
    y: Step | None
    sizes: tuple

    @property
    def output(self) -> Step:
        """The last step: y, or x̂ without γ and β."""
        return self.y or self.xhat


@dataclass
class Gradients:
    """Handles of the batch-norm backward pass, in the paper's order; `x` is the compact form."""

    loss: Step
    beta: Step
    gamma: Step
    xhat: Step
    var: Step
    mean: Step
    x_paper: Step
    x: Step


@dataclass
class Running:
    """Handles of the running statistics: the unbiased s², the new running mean and
    variance (PyTorch's), and the same average of the biased σ² (for comparison)."""

    unbiased: Step
    mean: Step
    var: Step
    var_biased: Step


# ---- NumPy -----------------------------------------------------------------------------


def normalize_values(x: Any, eps: float, axis: int = 0, gamma: Any = None, beta: Any = None) -> tuple:
    """(μ, σ², x̂, y) over `axis` (0: batch norm, 1: layer norm); y = γ x̂ + β, each optional."""
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=axis)
    centred = x - np.expand_dims(mean, axis)
    var = (centred**2).mean(axis=axis)
    xhat = centred / np.sqrt(np.expand_dims(var, axis) + eps)
    y = xhat * (1.0 if gamma is None else np.asarray(gamma, float)) + (0.0 if beta is None else np.asarray(beta, float))
    return mean, var, xhat, y


def _epsilon(eps: Any) -> tuple[Any, float, str]:
    """(symbol or number, value, code) of ε: an input handle, or a plain number."""
    if hasattr(eps, "symbol"):
        return eps.symbol, float(eps.value), eps.var
    return sp.Float(eps), float(eps), repr(float(eps))


def _plus_eps(var: Any, e: Any) -> sp.Expr:
    """σ² + ε, written variance first as the paper and the lecture do."""
    return written_sum(var, e)


def _numbers(values: Any) -> str:
    return ", ".join(f"{value:.4g}" for value in np.ravel(values))


# ---- forward ---------------------------------------------------------------------------


def batch_norm(d: Derivation, x: Any, gamma: Any, beta: Any, eps: Any, *, at: str = "", names: dict | None = None,
               rows: sp.Symbol = B, features: sp.Symbol = D) -> Normalized:
    """Steps mean, variance, normalize, scale_shift over the batch axis of the handle x
    (B × d), per feature j; γ, β are handles of vectors (d,); `rows` and `features` are
    the size symbols (another pair for a second batch of other sizes). Returns the Normalized."""
    return _normalize(d, x, gamma, beta, eps, Names(d, NAMES, names), at, "batch", (b, rows, features))


def layer_norm(d: Derivation, x: Any, gamma: Any = None, beta: Any = None, eps: Any = 1e-5, *, at: str = "",
               names: dict | None = None, rows: sp.Symbol = T, features: sp.Symbol = D) -> Normalized:
    """Steps mean, variance, normalize (and scale_shift when γ or β is given) over the
    feature axis of the handle x (T × d), per row t (a position, or a sample); `rows` and
    `features` are the size symbols. Returns the Normalized."""
    return _normalize(d, x, gamma, beta, eps, Names(d, NAMES, names), at, "layer", (t, rows, features))


def _value(handle: Any) -> Any:
    return None if handle is None else np.asarray(handle.value, dtype=float)


def _normalize(d: Derivation, x: Any, gamma: Any, beta: Any, eps: Any, name: Names, at: str, kind: str,
               rows: tuple) -> Normalized:
    """The steps of either normalization: statistics over axis 0 (batch) or 1 (layer)."""
    row, count, features = rows
    X = np.asarray(x.value, dtype=float)
    if X.ndim != 2:
        raise LessonError(f"{kind} norm: x must be a matrix (rows × features), not of shape {X.shape}")
    size(d, count, X.shape[0])
    size(d, features, X.shape[1])
    axis = 0 if kind == "batch" else 1
    stat, summed, n = (j, row, count) if axis == 0 else (row, j, features)
    e, e_value, e_code = _epsilon(eps)
    mean_v, var_v, xhat_v, _y = normalize_values(X, e_value, axis, _value(gamma), _value(beta))
    mu, var, xhat = name.array("mu"), name.array("var"), name.array("xhat")
    keep = "" if axis == 0 else "[:, None]"
    element = x.symbol[row, j]
    mean = d.step(f"{at}mean", _(TITLES[kind]["mean"]), explanation=_(EXPLAIN[kind]["mean"]), symbol=mu, index=(stat,),
                  formula=total(element, summed, n) / n, value=mean_v, code=f"{mu} = {x.var}.mean(axis={axis})",
                  concept=f"normalization.{kind}_mean")
    variance = d.step(f"{at}variance", _(TITLES[kind]["variance"]), explanation=_(EXPLAIN[kind]["variance"]), symbol=var,
                      index=(stat,), formula=total((element - mu[stat]) ** 2, summed, n) / n, value=var_v,
                      code=f"{var} = (({x.var} - {mu}{keep}) ** 2).mean(axis={axis})",
                      concept=f"normalization.{kind}_variance", notes=_constant_note(X, axis))
    normalized = d.step(f"{at}normalize", _("Normalize"), explanation=_(EXPLAIN[kind]["normalize"]), symbol=xhat, index=(row, j),
                        formula=(element - mu[stat]) / sp.sqrt(_plus_eps(var[stat], e)), value=xhat_v,
                        code=f"{xhat} = ({x.var} - {mu}{keep}) / np.sqrt({var}{keep} + {e_code})",
                        concept=f"normalization.{kind}_normalize", notes=_unit_note(var_v, e_value, axis))
    y = _scale_shift(d, normalized, gamma, beta, name, at, kind, (mean_v, var_v, e_value)) if gamma is not None or beta is not None else None
    return Normalized(x, gamma, beta, eps, mean, variance, normalized, y, (count, features))


TITLES = {"batch": {"mean": N_("Mean of each feature over the batch"), "variance": N_("Variance of each feature over the batch")},
          "layer": {"mean": N_("Mean of each row over its features"), "variance": N_("Variance of each row over its features")}}
EXPLAIN = {
    "batch": {"mean": N_("μ_j = (1/B) Σ_b x_bj: one mean per feature j, taken down the batch (over the samples b)."),
              "variance": N_("σ²_j = (1/B) Σ_b (x_bj - μ_j)²: the biased variance (divided by B, not B - 1), as the paper and PyTorch normalize with."),
              "normalize": N_("x̂_bj = (x_bj - μ_j) / √(σ²_j + ε): each feature now has mean 0 and variance close to 1; ε keeps the division finite when σ²_j = 0.")},
    "layer": {"mean": N_("μ_t = (1/d) Σ_j x_tj: one mean per row t (a sample, or a position of a sequence), taken across its features j, not over the batch."),
              "variance": N_("σ²_t = (1/d) Σ_j (x_tj - μ_t)²: the biased variance across the features of row t."),
              "normalize": N_("x̂_tj = (x_tj - μ_t) / √(σ²_t + ε): each row now has mean 0 and variance close to 1 across its features.")},
}


def _constant_note(X: np.ndarray, axis: int) -> tuple[str, ...]:
    """Which features (batch) or positions (layer) hold one value only: σ² = 0 there."""
    flat = np.flatnonzero(np.ptp(X, axis=axis) == 0)
    if not len(flat):
        return ()
    which = (_("feature j = {which}") if axis == 0 else _("row t = {which}")).format(which=", ".join(map(str, flat)))
    return (Caution(_("σ² = 0 for {which}: every value there is the same, so x̂ = 0 / √(0 + ε) = 0; ε keeps the division finite").format(which=which)),)


def _unit_note(var: np.ndarray, eps: float, axis: int) -> tuple[str, ...]:
    """The variance of x̂ along the normalized axis, σ²/(σ² + ε), computed."""
    where = _("feature") if axis == 0 else _("row")
    return (_("Along the normalized axis x̂ has mean 0 and variance σ²/(σ² + ε), below 1 by ε/(σ² + ε) = {values} (by {where}); it is 0 where σ² = 0").format(
        values=", ".join(f"{value:.3g}" for value in eps / (var + eps)), where=where),)


def _scale_shift(d: Derivation, xhat: Step, gamma: Any, beta: Any, name: Names, at: str, kind: str, stats: tuple) -> Step:
    """Step scale_shift: y = γ_j x̂ + β_j (either may be absent)."""
    row = xhat.index[0]
    formula = xhat.symbol[row, j]
    value = np.asarray(xhat.value, dtype=float)
    code = xhat.var
    if gamma is not None:
        formula, value, code = gamma.symbol[j] * formula, np.asarray(gamma.value, float) * value, f"{gamma.var} * {code}"
    if beta is not None:
        formula, value, code = written_sum(formula, beta.symbol[j]), value + np.asarray(beta.value, float), f"{code} + {beta.var}"
    y = name.array("y")
    return d.step(f"{at}scale_shift", _("Scale and shift with γ and β"),
                  explanation=_("y = γ_j x̂ + β_j: the learned γ and β re-scale and re-shift what was normalized, so normalization is not just subtract-and-divide: the layer can choose its own mean and spread, even undo the normalization."),
                  symbol=y, index=(row, j), formula=formula, value=value, code=f"{y} = {code}",
                  concept=f"normalization.{kind}_scale_shift", notes=_scale_notes(gamma, beta, kind, stats))


def _scale_notes(gamma: Any, beta: Any, kind: str, stats: tuple) -> tuple[str, ...]:
    """γ = 1, β = 0 noted; for batch norm, the γ, β that would give back x (computed)."""
    notes = []
    g, s = _value(gamma), _value(beta)
    if (g is None or np.all(g == 1)) and (s is None or np.all(s == 0)):
        notes.append(_("γ = 1 and β = 0 (PyTorch's initial values): y = x̂ until training changes them"))
    if kind == "batch" and gamma is not None and beta is not None:
        mean, var, eps = stats
        notes.append(_("With γ_j = √(σ²_j + ε) = {gamma} and β_j = μ_j = {beta}, y would be x again: γ and β can undo the normalization if that is what the loss prefers").format(
            gamma=_numbers(np.sqrt(var + eps)), beta=_numbers(mean)))
    return tuple(notes)


# ---- backward --------------------------------------------------------------------------


def batch_norm_loss(x: Any, gamma: Any, beta: Any, eps: float, upstream: Any) -> float:
    """L = Σ_b Σ_j g_bj y_bj with y the batch norm of x: the whole batch's loss."""
    return float((np.asarray(upstream, float) * normalize_values(x, eps, 0, gamma, beta)[3]).sum())


def batch_norm_gradients(x: Any, gamma: Any, eps: float, upstream: Any) -> dict[str, np.ndarray]:
    """NumPy: ∂L/∂β, ∂L/∂γ, ∂L/∂x̂, ∂L/∂σ², ∂L/∂μ, ∂L/∂x (paper's terms and compact form)."""
    x, g = np.asarray(x, float), np.asarray(upstream, float)
    mean, var, xhat, _y = normalize_values(x, eps, 0)
    count, root, centred = len(x), np.sqrt(var + eps), x - mean
    dxhat = g * np.asarray(gamma, float)
    dvar = (dxhat * centred * -0.5 * (var + eps) ** -1.5).sum(axis=0)
    dmu = (dxhat * (-1 / root)).sum(axis=0) + dvar * (-2 * centred / count).sum(axis=0)
    return {"beta": g.sum(axis=0), "gamma": (g * xhat).sum(axis=0), "xhat": dxhat, "var": dvar, "mean": dmu,
            "x_paper": dxhat / root + dvar * 2 * centred / count + dmu / count,
            "x": (count * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (count * root)}


def _checks(bn: Normalized, upstream: Any) -> dict[str, GradientCheck]:
    """Finite differences of the whole batch loss L in each quantity (the others held).

    Batch norm is unchanged when a feature is shifted, L(x) = L(x - c), so its gradient
    in x is the same at the centred batch x - μ: the differences of x (and of μ, as
    μ + u around u = 0) are taken there, where they do not cancel against large |x|.
    """
    x, gamma, beta = (np.asarray(h.value, float) for h in (bn.x, bn.gamma, bn.beta))
    g, eps = np.asarray(upstream.value, float), _epsilon(bn.eps)[1]
    centred, var = x - bn.mean.value, np.asarray(bn.var.value, float)

    def of_mean(u: np.ndarray) -> float:  # σ² is a function of μ as well, as in the paper
        moved = centred - u
        return float((g * (gamma * moved / np.sqrt((moved**2).mean(axis=0) + eps) + beta)).sum())

    def of_var(v: np.ndarray) -> float:  # near the pole at σ² = -ε the check is skipped (kinks)
        with np.errstate(invalid="ignore", divide="ignore"):
            return float((g * (gamma * centred / np.sqrt(v + eps) + beta)).sum())

    return {"beta": GradientCheck(lambda p: batch_norm_loss(x, gamma, p, eps, g), beta),
            "gamma": GradientCheck(lambda p: batch_norm_loss(x, p, beta, eps, g), gamma),
            "xhat": GradientCheck(lambda p: float((g * (gamma * p + beta)).sum()), np.asarray(bn.xhat.value, float)),
            "var": GradientCheck(of_var, var, kinks=np.full(var.shape, -eps)),
            "mean": GradientCheck(of_mean, np.zeros_like(var)),
            "x": GradientCheck(lambda p: batch_norm_loss(p, gamma, beta, eps, g), centred)}


def batch_norm_backward(d: Derivation, bn: Normalized, upstream: Any, *, at: str = "", names: dict | None = None) -> Gradients:
    """Steps loss, grad_beta, grad_gamma, grad_xhat, grad_var, grad_mean, grad_x_paper,
    grad_x for the handle `upstream` (g = ∂L/∂y, B × d); returns the Gradients."""
    if bn.y is None or bn.gamma is None or bn.beta is None:
        raise LessonError("batch_norm_backward needs a batch norm with γ and β")
    name = Names(d, GRADIENT_NAMES, names)
    values = batch_norm_gradients(bn.x.value, bn.gamma.value, _epsilon(bn.eps)[1], upstream.value)
    checks = _checks(bn, upstream)
    loss = _loss(d, bn, upstream, name, at)
    params = _parameter_gradients(d, bn, upstream, loss, name, at, values, checks)
    stats = _statistic_gradients(d, bn, loss, params[2], name, at, values, checks)
    return Gradients(loss, *params, *stats)


def _loss(d: Derivation, bn: Normalized, upstream: Any, name: Names, at: str) -> Step:
    g, y = upstream.symbol, bn.y.symbol
    count, features = bn.sizes
    value = float((np.asarray(upstream.value, float) * bn.y.value).sum())
    return d.step(f"{at}loss", _("The loss that the upstream gradient stands for"),
                  explanation=_("L = Σ_b Σ_j g_bj y_bj has ∂L/∂y_bj = g_bj, the upstream gradient given; every loss with that gradient at y has the same gradients below, so L stands for the network's loss."),
                  symbol=name.scalar("L"), formula=total(total(g[b, j] * y[b, j], j, features), b, count), value=value,
                  code=f"{name.plain('L')} = ({upstream.var} * {bn.y.var}).sum()", concept="normalization.batch_loss", substitute=True)


def _parameter_gradients(d: Derivation, bn: Normalized, upstream: Any, loss: Step, name: Names, at: str,
                         values: dict, checks: dict) -> tuple[Step, Step, Step]:
    """Steps grad_beta, grad_gamma, grad_xhat: y = γ x̂ + β is linear in each."""
    g, xhat, gamma, L = upstream.symbol, bn.xhat.symbol, bn.gamma.symbol, loss.symbol
    count = bn.sizes[0]
    beta = d.step(f"{at}grad_beta", _("Gradient of the shift β"), explanation=_("∂y_bj/∂β_j = 1, and β_j shifts every sample of feature j: ∂L/∂β_j = Σ_b g_bj."),
                  symbol=name.array("beta"), lhs=sp.Derivative(L, bn.beta.symbol[j]), index=(j,), formula=total(g[b, j], b, count),
                  value=values["beta"], code=f"{name.plain('beta')} = {upstream.var}.sum(axis=0)", concept="normalization.batch_grad_beta",
                  gradient=checks["beta"])
    scale = d.step(f"{at}grad_gamma", _("Gradient of the scale γ"), explanation=_("∂y_bj/∂γ_j = x̂_bj: ∂L/∂γ_j = Σ_b g_bj x̂_bj."),
                   symbol=name.array("gamma"), lhs=sp.Derivative(L, gamma[j]), index=(j,), formula=total(g[b, j] * xhat[b, j], b, count),
                   value=values["gamma"], code=f"{name.plain('gamma')} = ({upstream.var} * {bn.xhat.var}).sum(axis=0)",
                   concept="normalization.batch_grad_gamma", gradient=checks["gamma"])
    normalized = d.step(f"{at}grad_xhat", _("Gradient at the normalized values"), explanation=_("∂y_bj/∂x̂_bj = γ_j: ∂L/∂x̂_bj = g_bj γ_j."),
                        symbol=name.array("xhat"), lhs=sp.Derivative(L, xhat[b, j]), index=(b, j), formula=g[b, j] * gamma[j],
                        value=values["xhat"], code=f"{name.plain('xhat')} = {upstream.var} * {bn.gamma.var}",
                        concept="normalization.batch_grad_xhat", gradient=checks["xhat"])
    return beta, scale, normalized


def _statistic_gradients(d: Derivation, bn: Normalized, loss: Step, dxhat: Step, name: Names, at: str,
                         values: dict, checks: dict) -> tuple[Step, Step, Step, Step]:
    """Steps grad_var, grad_mean, grad_x_paper, grad_x: the paper's chain through μ and σ²."""
    x, mu, var, L, dx = bn.x.symbol, bn.mean.symbol, bn.var.symbol, loss.symbol, dxhat.symbol
    e, _value_, eps = _epsilon(bn.eps)
    count, X, M, V, G = bn.sizes[0], bn.x.var, bn.mean.var, bn.var.var, dxhat.var
    centred = x[b, j] - mu[j]
    dvar = d.step(f"{at}grad_var", _("Gradient of the batch variance"),
                  explanation=_("x̂_bj depends on σ²_j through 1/√(σ²_j + ε), whose derivative is -1/2 (σ²_j + ε)^(-3/2); every sample of feature j contributes."),
                  symbol=name.array("var"), lhs=sp.Derivative(L, var[j]), index=(j,),
                  formula=total(dx[b, j] * centred * sp.Rational(-1, 2) * _plus_eps(var[j], e) ** sp.Rational(-3, 2), b, count), value=values["var"],
                  code=f"{name.plain('var')} = ({G} * ({X} - {M}) * -0.5 * ({V} + {eps}) ** -1.5).sum(axis=0)",
                  concept="normalization.batch_grad_var", gradient=checks["var"], notes=_pole_note(bn))
    dmu = d.step(f"{at}grad_mean", _("Gradient of the batch mean"),
                 explanation=_("μ_j enters x̂_bj directly (-1/√(σ²_j + ε)) and through σ²_j (∂σ²_j/∂μ_j = Σ_b -2(x_bj - μ_j)/B, which is 0 because the deviations from the mean sum to 0; the paper keeps the term)."),
                 symbol=name.array("mu"), lhs=sp.Derivative(L, mu[j]), index=(j,),
                 formula=written_sum(total(dx[b, j] * (-1 / sp.sqrt(_plus_eps(var[j], e))), b, count),
                                     written_product(dvar.symbol[j], total(written_product(-2, centred, 1 / count), b, count))),
                 value=values["mean"], code=f"{name.plain('mu')} = ({G} * (-1 / np.sqrt({V} + {eps}))).sum(axis=0) + {dvar.var} * (-2 * ({X} - {M}) / {X}.shape[0]).sum(axis=0)",
                 concept="normalization.batch_grad_mean", gradient=checks["mean"])
    paper = d.step(f"{at}grad_x_paper", _("Gradient of the inputs: three paths"),
                   explanation=_("x_bj reaches L through x̂_bj directly, through σ²_j (∂σ²_j/∂x_bj = 2(x_bj - μ_j)/B) and through μ_j (∂μ_j/∂x_bj = 1/B): the paper's sum of the three."),
                   lhs=sp.Derivative(L, x[b, j]), index=(b, j),
                   formula=dx[b, j] / sp.sqrt(_plus_eps(var[j], e)) + dvar.symbol[j] * 2 * centred / count + dmu.symbol[j] / count,
                   value=values["x_paper"], var=f"{name.plain('x')}_paper",
                   code=f"{name.plain('x')}_paper = {G} / np.sqrt({V} + {eps}) + {dvar.var} * 2 * ({X} - {M}) / {X}.shape[0] + {dmu.var} / {X}.shape[0]",
                   concept="normalization.batch_grad_x_paper", gradient=checks["x"])
    return dvar, dmu, paper, _compact(d, bn, loss, dxhat, name, at, values, checks)


def _compact(d: Derivation, bn: Normalized, loss: Step, dxhat: Step, name: Names, at: str, values: dict, checks: dict) -> Step:
    """Step grad_x: the three paths in one formula, with sums over a second batch index k."""
    x, xhat, var, dx = bn.x.symbol, bn.xhat.symbol, bn.var.symbol, dxhat.symbol
    e, _value_, eps = _epsilon(bn.eps)
    count, G, XH = bn.sizes[0], dxhat.var, bn.xhat.var
    inner = written_sum(count * dx[b, j], -total(dx[k, j], k, count), -xhat[b, j] * total(dx[k, j] * xhat[k, j], k, count))
    return d.step(f"{at}grad_x", _("Gradient of the inputs, in one formula"),
                  explanation=_("Substituting ∂L/∂σ² and ∂L/∂μ and writing x̂ for (x - μ)/√(σ² + ε) gives one formula: the upstream gradient minus its mean over the batch, minus its projection on x̂, divided by √(σ²_j + ε)."),
                  symbol=name.array("x"), lhs=sp.Derivative(loss.symbol, x[b, j]), index=(b, j),
                  formula=inner / (count * sp.sqrt(_plus_eps(var[j], e))), value=values["x"],
                  code=f"{name.plain('x')} = ({bn.x.var}.shape[0] * {G} - {G}.sum(axis=0) - {XH} * ({G} * {XH}).sum(axis=0)) / ({bn.x.var}.shape[0] * np.sqrt({bn.var.var} + {eps}))",
                  concept="normalization.batch_grad_x", gradient=checks["x"], notes=_sum_note(values["x"], values["xhat"], bn.xhat.value, bn.var.value, _epsilon(bn.eps)[1]))


def _sum_note(dx: np.ndarray, dxhat: np.ndarray, xhat: np.ndarray, var: np.ndarray, eps: float) -> tuple[str, ...]:
    """Σ_b ∂L/∂x_bj (0 up to rounding) and Σ_b ∂L/∂x_bj x̂_bj = ε Σ_b ∂L/∂x̂_bj x̂_bj / (σ²_j + ε)^(3/2), computed."""
    predicted = eps * (dxhat * xhat).sum(axis=0) / (var + eps) ** 1.5
    return (_("Down each feature these gradients sum to {sums}: 0 up to rounding, since adding one number to a whole feature leaves x̂ unchanged. Weighted by x̂ they sum to {weighted} = ε Σ_b ∂L/∂x̂_bj x̂_bj / (σ²_j + ε)^(3/2) = {predicted}: not 0, because with ε > 0 scaling a feature changes x̂ a little").format(
        sums=_numbers(dx.sum(axis=0)), weighted=_numbers((dx * xhat).sum(axis=0)), predicted=_numbers(predicted)),)


def _pole_note(bn: Normalized) -> tuple[str, ...]:
    """Which σ²_j + ε are too close to the pole at σ² = -ε for finite differences."""
    eps = _epsilon(bn.eps)[1]
    var = np.asarray(bn.var.value, float)
    step = np.minimum(1e-5 * np.maximum(1.0, np.abs(var)), 1e-3)  # the engine's difference step (checks.FD_STEP)
    close = np.flatnonzero(var + eps <= 4 * step)
    if not len(close):
        return ()
    return (Caution(_("σ²_j + ε is within a few difference steps of the pole at σ²_j = -ε for j = {which}: finite differences are not taken there").format(
        which=", ".join(map(str, close)))),)


# ---- running statistics and inference --------------------------------------------------


def running_statistics(d: Derivation, bn: Normalized, running_mean: Any, running_var: Any, momentum: Any, *,
                       at: str = "", names: dict | None = None) -> Running:
    """Steps unbiased_var, update_running_mean, update_running_var, update_running_var_biased: one update of the
    running averages with momentum m, as PyTorch's BatchNorm1d; returns the Running."""
    name = Names(d, RUNNING_NAMES, names)
    count, rows = bn.sizes[0], np.shape(bn.x.value)[0]
    if rows < 2:
        raise LessonError("the unbiased variance needs a batch of at least 2 samples")
    var, mv = bn.var.value, float(momentum.value)
    s2 = name.array("s2")
    unbiased = d.step(f"{at}unbiased_var", _("Unbiased batch variance"),
                      explanation=_("s²_j = B/(B - 1) σ²_j (Bessel's correction): the estimate of the population variance that PyTorch keeps in running_var."),
                      symbol=s2, index=(j,), formula=count / (count - 1) * bn.var.symbol[j], value=rows / (rows - 1) * var,
                      code=f"{s2} = {bn.x.var}.shape[0] / ({bn.x.var}.shape[0] - 1) * {bn.var.var}", concept="normalization.unbiased_var")
    mean = _average(d, f"{at}update_running_mean", _("Running mean"), name.array("mean"), running_mean, bn.mean, momentum,
                    _momentum_notes(mv))
    new_var = _average(d, f"{at}update_running_var", _("Running variance (PyTorch: unbiased)"), name.array("var"), running_var, unbiased, momentum, (
        _("PyTorch's BatchNorm1d normalizes the training batch with the biased σ² but averages the unbiased s² into running_var; the paper's inference variance, B/(B - 1) times the mean of σ², is unbiased too"),))
    difference = mv * (unbiased.value - var)
    biased = _average(d, f"{at}update_running_var_biased", _("The same average of the biased variance (for comparison)"), name.array("var_biased"),
                      running_var, bn.var, momentum, (_("This is not what PyTorch stores: it differs from the running variance above by m (s²_j - σ²_j) = m σ²_j/(B - 1) = {values}").format(
                          values=_numbers(difference)),))
    return Running(unbiased, mean, new_var, biased)


def _average(d: Derivation, id: str, title: str, symbol: Any, old: Any, batch: Step, momentum: Any, notes: tuple) -> Step:
    """A step new_j = (1 - m) old_j + m batch_j for the momentum handle."""
    m, mv, mc = momentum.symbol, float(momentum.value), momentum.var
    value = (1 - mv) * np.asarray(old.value, float) + mv * np.asarray(batch.value, float)
    return d.step(id, title, explanation=_("An exponential moving average: (1 - m) times the old value plus m times this batch's (PyTorch's momentum m is the weight of the new value)."),
                  symbol=symbol, index=(j,), formula=written_sum(written_product(1 - m, old.symbol[j]), written_product(m, batch.symbol[j])), value=value,
                  code=f"{symbol} = (1 - {mc}) * {old.var} + {mc} * {batch.var}",
                  concept=f"normalization.{id.rsplit('.', 1)[-1].removeprefix('update_')}", notes=notes)


def _momentum_notes(m: float) -> tuple[str, ...]:
    if m == 0:
        return (_("m = 0: the running statistics do not move"),)
    if m == 1:
        return (_("m = 1: the running statistics are replaced by this batch's"),)
    return (_("After t such updates the starting value keeps the weight (1 - m)^t = {w10:.3g} at t = 10 and {w50:.3g} at t = 50; Keras writes momentum the other way round, as the weight of the old value (0.99)").format(
        w10=(1 - m) ** 10, w50=(1 - m) ** 50),)


def batch_norm_eval(d: Derivation, bn: Normalized, running: Running, x: Any = None, *, at: str = "",
                    names: dict | None = None) -> Step:
    """Step eval: yᵉᵛᵃˡ_bj = γ_j (x_bj - μ̄′_j)/√(σ̄²′_j + ε) + β_j with the running statistics
    (PyTorch's eval mode) for the handle x (bn's input by default); returns it."""
    name = Names(d, EVAL_NAMES, names)
    x = x or bn.x
    e, eps, e_code = _epsilon(bn.eps)
    mean, var = running.mean, running.var
    gamma, beta = np.asarray(bn.gamma.value, float), np.asarray(bn.beta.value, float)
    value = gamma * (np.asarray(x.value, float) - mean.value) / np.sqrt(var.value + eps) + beta
    y = name.array("y")
    notes = _eval_notes(bn, running, value) if x is bn.x else ()
    return d.step(f"{at}eval", _("Inference with the running statistics"),
                  explanation=_("At inference there is no batch to average over (or it is a single sample), so the stored running mean and variance replace μ and σ², as PyTorch does in eval mode: the output of one sample no longer depends on the others."),
                  symbol=y, index=(b, j), formula=written_sum(bn.gamma.symbol[j] * (x.symbol[b, j] - mean.symbol[j]) / sp.sqrt(_plus_eps(var.symbol[j], e)), bn.beta.symbol[j]),
                  value=value, code=f"{y} = {bn.gamma.var} * ({x.var} - {mean.var}) / np.sqrt({var.var} + {e_code}) + {bn.beta.var}",
                  concept="normalization.batch_eval", notes=notes)


def _eval_notes(bn: Normalized, running: Running, value: np.ndarray) -> tuple[str, ...]:
    """How far inference is from training mode on the same batch, and why (computed)."""
    gap = float(np.abs(value - bn.y.value).max())
    mean_gap = float(np.abs(running.mean.value - bn.mean.value).max())
    var_gap = float(np.abs(running.var.value - bn.var.value).max())
    return (_("On this same batch, training mode gave y (above); inference differs from it by up to {gap:.4g}, because the running mean differs from the batch mean μ by up to {mean_gap:.4g} and the running variance from σ² by up to {var_gap:.4g}").format(
        gap=gap, mean_gap=mean_gap, var_gap=var_gap),)
