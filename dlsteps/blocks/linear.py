"""A linear model with the mean squared error: predictions, loss, gradients, updates, tables.

    ŷ_s = Σ_k w_k x_sk + b          (b optional)
    r_s = ŷ_s - y_s
    MSE = (1/N) Σ_s r_s²             (the mean, no 1/2)
    ∂MSE/∂w_j = (2/N) Σ_s r_s x_sj,   ∂MSE/∂b = (2/N) Σ_s r_s
    w'_j = rule(w_j, g_j)            (plain gradient descent: w_j - η g_j)

With a mini-batch of sample indices B_0 .. B_{M-1} (`batch`), the loss and gradients
average over those samples only: MSE_B = (1/M) Σ_i r_{B_i}², ∂MSE_B/∂w_j = (2/M) Σ_i
r_{B_i} x_{B_i j}. An update table runs T updates: row t holds the parameters after t
updates, W_0j = w_j, W_tj = rule(W_{t-1,j}, G_{t-1,j}), B_t = B_{t-1} - η G^b_{t-1}, and
G_tj, G^b_t are the MSE gradients at row t. The four tables form one recurrence (see
`Derivation.recurrence`): every formula is paired at every row, and the gradient tables
are checked by finite differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import D, Names, N, i, j, k, m, s, size, t, total, written_product, written_sum
from dlsteps.i18n import _
from dlsteps.model import Derivation, GradientCheck, Step

NAMES = {"yhat": ("yhat", "ŷ", r"\hat{y}"), "r": "r", "mse": "MSE", "g": "g", "g_b": "g_b"}
TABLE_NAMES = {"weights": "W", "biases": "B", "gradients": "G", "bias_gradients": "G_b"}


@dataclass(frozen=True)
class Rule:
    """An update w' = rule(w, g), element by element, in three forms that the checks pair:
    `formula` (SymPy, of w and g), `numpy` (of arrays) and `code`, a NumPy expression
    in ``{w}`` and ``{g}`` that may use the code names of earlier inputs and steps; `text`
    states the rule in words for the tables."""

    formula: Callable[[Any, Any], Any]
    numpy: Callable[[np.ndarray, np.ndarray], np.ndarray]
    code: str
    text: str = "w_t = w_(t-1) - η g_(t-1)"


def descent(lr: Any) -> Rule:
    """Plain gradient descent w - η g, for the learning-rate handle `lr`."""
    return Rule(lambda w, g: w - lr.symbol * g, lambda w, g: w - lr.value * g, f"{{w}} - {lr.var} * {{g}}",
                _("w_t = w_(t-1) - η g_(t-1)"))


@dataclass
class Linear:
    """Handles of the forward pass: inputs x, y, w, b (None without a bias), the sizes,
    and the prediction and residual steps."""

    x: Any
    y: Any
    w: Any
    b: Any
    samples: sp.Symbol
    features: sp.Symbol
    prediction: Step
    residual: Step


@dataclass
class Gradients:
    """The gradient steps: by the weights, and by the bias (None without a bias)."""

    w: Step
    b: Step | None


@dataclass
class Table:
    """The update-table steps: weights W (T+1 × d), biases B (T+1), gradients G (T × d), G_b (T)."""

    weights: Step
    biases: Step | None
    gradients: Step
    bias_gradients: Step | None


def predictions(x: np.ndarray, w: np.ndarray, b: float | None) -> np.ndarray:
    """ŷ = x w + b (b = None: no bias)."""
    return x @ w + (b or 0.0)


def mse_value(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float | None) -> float:
    """(1/N) Σ_s (ŷ_s - y_s)²."""
    return float(((predictions(x, w, b) - y) ** 2).mean())


def gradient_values(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float | None) -> tuple[np.ndarray, float]:
    """(∂MSE/∂w, ∂MSE/∂b) = ((2/N) xᵀ r, (2/N) Σ r)."""
    r = predictions(x, w, b) - y
    return 2 / len(y) * x.T @ r, 2 / len(y) * float(r.sum())


def linear_updates(x, y, w, b, bias_lr, steps, rule):
    """Rows t = 0..steps of weights and biases: w_t+1 = rule(w_t, g_t), b_t+1 = b_t - bias_lr g_b,t,
    where g_t = (2/N) x^T r_t and g_b,t = (2/N) sum(r_t) with r_t = x w_t + b_t - y."""
    weights, biases = [np.asarray(w, dtype=float)], [float(b)]
    for _t in range(int(steps)):
        r = x @ weights[-1] + biases[-1] - y
        weights.append(rule(weights[-1], 2 / len(y) * x.T @ r))
        biases.append(biases[-1] - bias_lr * 2 / len(y) * r.sum())
    return np.array(weights), np.array(biases)


def prediction_expr(x: sp.IndexedBase, weight: Callable[[Any], Any], bias: Any, sample: Any, features: sp.Symbol) -> sp.Expr:
    """Σ_k weight(k) x_{sample,k} + bias (bias 0: none), written weight first and bias last."""
    return written_sum(*_prediction_terms(x, weight, bias, sample, features))


def residual_expr(x: sp.IndexedBase, weight: Callable[[Any], Any], bias: Any, y: Any, sample: Any, features: sp.Symbol) -> sp.Expr:
    """Σ_k weight(k) x_{sample,k} + bias - y_sample, written in that order (one flat sum:
    adding -y to `prediction_expr` would let SymPy re-sort the terms)."""
    return written_sum(*_prediction_terms(x, weight, bias, sample, features), -y[sample])


def _prediction_terms(x: sp.IndexedBase, weight: Callable[[Any], Any], bias: Any, sample: Any, features: sp.Symbol) -> tuple:
    return total(written_product(weight(k), x[sample, k]), k, features), bias


def forward(d: Derivation, x: Any, y: Any, w: Any, b: Any = None, *, at: str = "", names: dict | None = None,
            samples: sp.Symbol = N, features: sp.Symbol = D) -> Linear:
    """Steps prediction (ŷ_s = Σ_k w_k x_sk + b) and residual (r_s = ŷ_s - y_s)."""
    name = Names(d, NAMES, names)
    xv, wv = np.asarray(x.value, dtype=float), np.asarray(w.value, dtype=float)
    size(d, samples, xv.shape[0])
    size(d, features, xv.shape[1])
    yhat, r = name.array("yhat"), name.array("r")
    bias = b.symbol if b is not None else 0
    values = predictions(xv, wv, None if b is None else b.value)
    plus_b = f" + {b.var}" if b is not None else ""
    prediction = d.step(f"{at}prediction", _("Predictions"), symbol=yhat, index=(s,),
                        formula=prediction_expr(x.symbol, lambda q: w.symbol[q], bias, s, features), value=values,
                        code=f"{name.plain('yhat')} = {x.var} @ {w.var}{plus_b}", concept="linear.prediction")
    residual = d.step(f"{at}residual", _("Residuals"), symbol=r, index=(s,), formula=yhat[s] - y.symbol[s],
                      value=values - np.asarray(y.value, dtype=float), code=f"{name.plain('r')} = {name.plain('yhat')} - {y.var}",
                      concept="linear.residual")
    return Linear(x, y, w, b, samples, features, prediction, residual)


def _rows(lin: Linear, batch: Any) -> tuple[Any, Any, sp.Symbol, np.ndarray, str]:
    """The sample term r_s or r_{B_i}, its summation index and count, the indices used and
    the code that picks them."""
    if batch is None:
        return s, s, lin.samples, np.arange(len(lin.residual.value)), ""
    return batch.symbol[i], i, batch.size, np.asarray(batch.value, dtype=int), f"[{batch.var}]"


def mse(d: Derivation, lin: Linear, *, at: str = "", names: dict | None = None, batch: Any = None) -> Step:
    """Step mse: (1/N) Σ_s r_s², or over a batch (1/M) Σ_i r_{B_i}²."""
    name = Names(d, NAMES, names)
    r = lin.residual.symbol
    row, index, count, rows, pick = _rows(lin, batch)
    residuals = lin.residual.value[rows]
    return d.step(f"{at}mse", _("Mean squared error"), symbol=name.scalar("mse"), formula=total(r[row] ** 2, index, count) / count,
                  value=float((residuals**2).mean()), code=f"{name.plain('mse')} = ({lin.residual.var}{pick} ** 2).mean()",
                  concept="linear.mse", substitute=True)


@dataclass
class Batch:
    """A mini-batch handle: the step holding the sample indices B_i and their count M."""

    step: Step
    size: sp.Symbol

    symbol = property(lambda self: self.step.symbol)
    value = property(lambda self: self.step.value)
    var = property(lambda self: self.step.var)


def mini_batch(d: Derivation, samples: Any, *, at: str = "", names: dict | None = None, count: sp.Symbol = m) -> Batch:
    """Step batch: the sample indices B_0 .. B_{M-1} of a mini-batch (0-based)."""
    name = Names(d, {"batch": ("batch", "B", "B")}, names)
    values = np.asarray(samples, dtype=int)
    size(d, count, len(values))
    step = d.step(f"{at}batch", _("Mini-batch"), symbol=name.array("batch"), value=values,
                  code=f"{name.plain('batch')} = np.array({values.tolist()})", concept="linear.batch")
    return Batch(step, count)


def gradients(d: Derivation, lin: Linear, loss: Step, *, at: str = "", names: dict | None = None, batch: Any = None) -> Gradients:
    """Steps grad_mse_w (∂MSE/∂w_j = (2/N) Σ_s r_s x_sj) and grad_mse_b ((2/N) Σ_s r_s), each
    checked by finite differences of the MSE (over the batch, if given)."""
    name = Names(d, NAMES, names)
    x, r = lin.x.symbol, lin.residual.symbol
    row, index, count, rows, pick = _rows(lin, batch)
    xv, yv = np.asarray(lin.x.value, dtype=float)[rows], np.asarray(lin.y.value, dtype=float)[rows]
    w0, b0 = np.asarray(lin.w.value, dtype=float), None if lin.b is None else float(lin.b.value)
    gw, gb = gradient_values(xv, yv, w0, b0)
    g, rv, xc = name.plain("g"), lin.residual.var, lin.x.var
    over_batch = batch is not None
    weight = d.step(f"{at}grad_mse_w", _("MSE by each weight"),
                    explanation=_("∂MSE/∂w_j = (2/M) Σ_i (ŷ_B_i - y_B_i) x_B_i,j over the M samples of the batch.") if over_batch else _("∂MSE/∂w_j = (2/N) Σ_s (ŷ_s - y_s) x_sj."),
                    symbol=name.array("g"), index=(j,), lhs=sp.Derivative(loss.symbol, lin.w.symbol[j]),
                    formula=2 / count * total(r[row] * x[row, j], index, count), value=gw,
                    code=f"{g} = 2 / len({rv}{pick}) * {xc}{pick}.T @ {rv}{pick}", concept="linear.grad_w",
                    gradient=GradientCheck(lambda v: mse_value(xv, yv, v, b0), w0))
    if lin.b is None:
        return Gradients(weight, None)
    bias = d.step(f"{at}grad_mse_b", _("MSE by the bias"),
                  explanation=_("∂MSE/∂b = (2/M) Σ_i (ŷ_B_i - y_B_i) over the M samples of the batch.") if over_batch else _("∂MSE/∂b = (2/N) Σ_s (ŷ_s - y_s)."),
                  symbol=name.scalar("g_b"), lhs=sp.Derivative(loss.symbol, lin.b.symbol),
                  formula=2 / count * total(r[row], index, count), value=gb,
                  code=f"{name.plain('g_b')} = 2 / len({rv}{pick}) * {rv}{pick}.sum()", concept="linear.grad_b", substitute=True,
                  gradient=GradientCheck(lambda v: mse_value(xv, yv, w0, float(v)), b0))
    return Gradients(weight, bias)


def update(d: Derivation, param: Any, grad: Any, rule: Rule, *, id: str, var: str, title: str = "", at: str = "",
           symbol: Any = None, lhs: Any = None, explanation: str = "", notes: tuple[str, ...] = ()) -> Step:
    """Step `id`: p'_j = rule(p_j, g_j) for a weight vector (or a scalar bias) and its gradient."""
    vector = np.ndim(param.value) > 0
    index = (j,) if vector else ()
    p, g = (param.symbol[j], grad.symbol[j]) if vector else (param.symbol, grad.symbol)
    return d.step(f"{at}{id}", title or _("Update"), explanation=explanation, symbol=symbol, lhs=lhs, index=index,
                  formula=rule.formula(p, g), value=rule.numpy(np.asarray(param.value, dtype=float), np.asarray(grad.value, dtype=float)),
                  var=var, code=f"{var} = {rule.code.format(w=param.var, g=grad.var)}", concept="linear.update",
                  substitute=not vector, notes=notes)


def table(d: Derivation, lin: Linear, rule: Rule, steps: Any, lr: Any, *, at: str = "", tag: str = "", label: str = "",
          names: dict | None = None) -> Table:
    """Steps weights, biases, gradients, bias_gradients (ids ``{at}weights{tag}`` ...): `steps`
    (a handle holding T) updates from (w, b), the weights by `rule`, the bias by descent.
    The four tables form one recurrence: row t of the weights and biases comes from row
    t - 1 of themselves and of the gradients, which are the MSE gradients at each row."""
    name = Names(d, TABLE_NAMES, names)
    xv, yv = np.asarray(lin.x.value, dtype=float), np.asarray(lin.y.value, dtype=float)
    b0 = 0.0 if lin.b is None else float(lin.b.value)
    with np.errstate(all="ignore"):
        weights, biases = linear_updates(xv, yv, lin.w.value, b0, lr.value if lin.b is not None else 0.0, steps.value, rule.numpy)
    d.define(linear_updates)
    W, Bt, G, Gb = (name.array(role) for role in TABLE_NAMES)
    columns = tuple(f"{lin.w.var}_{q}" for q in range(weights.shape[1]))
    bias_value = (lin.b.var, lr.var) if lin.b is not None else ("0.0", "0.0")
    titled = lambda text: _("{what} on the {label} path").format(what=text, label=label) if label else text
    with d.recurrence():
        weight_step = d.step(f"{at}weights{tag}", titled(_("Weights")),
                             explanation=_("Row 0 holds the starting weights; row t applies the update rule to row t - 1 and the MSE gradient there: {rule}.").format(rule=rule.text),
                             symbol=W, index=(t, j), formula=sp.Piecewise((lin.w.symbol[j], sp.Eq(t, 0)), (rule.formula(W[t - 1, j], G[t - 1, j]), True)),
                             value=weights, labels=((), columns), concept="linear.table_weights",
                             code=f"{W} = linear_updates({lin.x.var}, {lin.y.var}, {lin.w.var}, {bias_value[0]}, {bias_value[1]}, {steps.var}, lambda w, g: {rule.code.format(w='w', g='g')})[0]")
        bias_step = None if lin.b is None else _bias_table(d, lin, lr, steps, biases, Bt, Gb, weight_step, f"{at}biases{tag}", titled(_("Biases")))
        gradient_step, bias_gradient_step = _gradient_tables(d, lin, (W, Bt, G, Gb), weights, biases, at, tag, titled, columns)
    return Table(weight_step, bias_step, gradient_step, bias_gradient_step)


def _gradient_tables(d: Derivation, lin: Linear, symbols: tuple, weights: np.ndarray, biases: np.ndarray, at: str, tag: str,
                     titled: Callable[[str], str], columns: tuple[str, ...]) -> tuple[Step, Step | None]:
    """Steps gradients and bias_gradients: the MSE gradients at every row t < T of the tables."""
    W, Bt, G, Gb = symbols
    xv, yv = np.asarray(lin.x.value, dtype=float), np.asarray(lin.y.value, dtype=float)
    residual = residual_expr(lin.x.symbol, lambda q: W[t, q], Bt[t] if lin.b is not None else 0, lin.y.symbol, s, lin.features)
    fitted = f"{W}[:-1] @ {lin.x.var}.T" + (f" + {Bt}[:-1, None]" if lin.b is not None else "") + f" - {lin.y.var}"
    fitted_rows = weights[:-1] @ xv.T + (biases[:-1, None] if lin.b is not None else 0.0) - yv  # as the code lines compute them
    gradient_step = d.step(f"{at}gradients{tag}", titled(_("MSE gradients")),
                           symbol=G, index=(t, j), formula=2 / lin.samples * total(written_product(residual, lin.x.symbol[s, j]), s, lin.samples),
                           value=2 / len(yv) * fitted_rows @ xv, labels=((), columns), code=f"{G} = 2 / len({lin.y.var}) * ({fitted}) @ {lin.x.var}",
                           concept="linear.table_gradients", gradient=_rows_check(xv, yv, weights, biases, "w"))
    if lin.b is None:
        return gradient_step, None
    bias_gradient_step = d.step(f"{at}bias_gradients{tag}", titled(_("Bias gradients")),
                                symbol=Gb, index=(t,), formula=2 / lin.samples * total(residual, s, lin.samples), value=2 / len(yv) * fitted_rows.sum(axis=1),
                                code=f"{Gb} = 2 / len({lin.y.var}) * ({fitted}).sum(axis=1)", concept="linear.table_bias_gradients",
                                gradient=_rows_check(xv, yv, weights, biases, "b"))
    return gradient_step, bias_gradient_step


def _bias_table(d: Derivation, lin: Linear, lr: Any, steps: Any, biases: np.ndarray, Bt: Any, Gb: Any, weights: Step, id: str, title: str) -> Step:
    """Step biases: B_0 = b, B_t = B_{t-1} - η G^b_{t-1}, run alongside the weights."""
    x, y, W = lin.x.var, lin.y.var, weights.var
    code = (f"{Bt} = np.full({steps.var} + 1, float({lin.b.var}))\n"
            f"for row in range({steps.var}):\n"
            f"    {Bt}[row + 1] = {Bt}[row] - {lr.var} * 2 / len({y}) * ({x} @ {W}[row] + {Bt}[row] - {y}).sum()")
    return d.step(id, title, explanation=_("Row 0 holds the starting bias; row t takes a plain gradient step from row t - 1: b_t = b_(t-1) - η g_b,(t-1)."),
                  symbol=Bt, index=(t,), formula=sp.Piecewise((lin.b.symbol, sp.Eq(t, 0)), (Bt[t - 1] - lr.symbol * Gb[t - 1], True)),
                  value=biases, code=code, concept="linear.table_biases")


def _rows_check(x: np.ndarray, y: np.ndarray, weights: np.ndarray, biases: np.ndarray, by: str) -> GradientCheck:
    """Finite differences of Σ_t MSE(W_t, B_t) over the rows t < T, by the weights or the biases:
    each row's gradient is that of its own term."""
    def rows_loss(w_rows: np.ndarray, b_rows: np.ndarray) -> float:
        return float(((w_rows @ x.T + b_rows[:, None] - y) ** 2).mean(axis=1).sum())

    if by == "w":
        return GradientCheck(lambda point: rows_loss(point, biases[:-1]), weights[:-1])
    return GradientCheck(lambda point: rows_loss(weights[:-1], point), biases[:-1])
