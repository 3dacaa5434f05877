"""Losses on an output o against a target t: squared error (three conventions) and binary
cross-entropy, each with its gradient ∂L/∂o.

    half-sse  L = 1/2 Σ_i (t_i - o_i)²          ∂L/∂o_i = o_i - t_i
    sse       L = Σ_i (t_i - o_i)²              ∂L/∂o_i = 2 (o_i - t_i)
    mse       L = (1/n) Σ_i (t_i - o_i)²        ∂L/∂o_i = 2 (o_i - t_i) / n
    BCE       L = -(1/n) Σ_i [t_i log o_i + (1 - t_i) log(1 - o_i)]   (the mean)
              ∂L/∂o_i = (o_i - t_i) / (o_i (1 - o_i)) / n

The three squared errors are the named values of the lessons' one `--loss` option
(TOPICS.md, "Conventions"); `mse` is PyTorch's MSELoss and Keras' default. A scalar
output is the case n = 1. Binary cross-entropy needs 0 < o < 1: where some o_i is
exactly 0 or 1 (a sigmoid rounds to 1 in float64 for z > 37) a log is log 0, the loss
is infinite (or, where the target agrees, the term is 0 · log 0, taken as its limit 0)
and the gradient is not defined, so it is not computed; a note says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import Names, at_index, i, n, size, total, written_product, written_sum
from dlsteps.errors import LessonError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck, Step

KINDS = ("half-sse", "sse", "mse")


@dataclass
class Loss:
    """Handles of a loss: the loss step and its gradient ∂L/∂o (None where undefined)."""

    loss: Step
    gradient: Step | None


def bce_terms(t: Any, o: Any) -> sp.Expr:
    """t log o + (1 - t) log(1 - o), written in the lecture's order (the target's term first)."""
    return written_sum(written_product(t, sp.log(o)), written_product(1 - t, sp.log(1 - o)))


def squared_error_value(kind: str, output: Any, target: Any) -> float:
    """1/2 Σ (t - o)², Σ (t - o)² or the mean of (t - o)², by `kind`."""
    squares = (np.asarray(target, float) - np.asarray(output, float)) ** 2
    return float({"half-sse": 0.5 * squares.sum(), "sse": squares.sum(), "mse": squares.mean()}[_kind(kind)])


def bce_value(output: Any, target: Any) -> float:
    """-(1/n) Σ [t log o + (1 - t) log(1 - o)], a term 0 · log 0 taken as 0; inf where log 0 counts."""
    o, t = np.asarray(output, float), np.asarray(target, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(t == 0, 0.0, t * np.log(o)) + np.where(t == 1, 0.0, (1 - t) * np.log(1 - o))
    return float(-terms.mean())


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise LessonError(f"unknown squared error {kind!r}; the losses block knows {', '.join(KINDS)}")
    return kind


def _setup(d: Derivation, output: Any, target: Any, names: dict | None, count: sp.Symbol) -> tuple:
    """Names, the index (i,) or (), o_i and t_i, and the size bound to the output's length."""
    gradient_name = (f"dL_d{_plain(output)}", f"∂L/∂{_shown(d, output)[0]}", rf"\frac{{\partial L}}{{\partial {_shown(d, output)[1]}}}")
    name = Names(d, {"L": "L", "dL_do": gradient_name}, names)
    index = (i,) if np.ndim(output.value) else ()
    if index:
        size(d, count, np.size(output.value))
    return name, index, at_index(output.symbol, *index), at_index(target.symbol, *index)


def _plain(handle: Any) -> str:
    return str(getattr(handle.symbol, "label", handle.symbol))


def _shown(d: Derivation, handle: Any) -> tuple[str, str]:
    return d.names.get(_plain(handle), (_plain(handle), _plain(handle)))


def squared_error(d: Derivation, output: Any, target: Any, kind: str = "half-sse", *, at: str = "",
                  names: dict | None = None, count: sp.Symbol = n) -> Loss:
    """Steps loss and gradient for `kind` in half-sse, sse, mse (see the module's table)."""
    name, index, o, t = _setup(d, output, target, names, count)
    squares = total((t - o) ** 2, i, count) if index else (t - o) ** 2
    factor = {"half-sse": sp.Rational(1, 2), "sse": 1, "mse": 1 / count if index else 1}[_kind(kind)]
    L = name.scalar("L")
    code = {"half-sse": "0.5 * np.sum(({t} - {o}) ** 2)", "sse": "np.sum(({t} - {o}) ** 2)", "mse": "np.mean(({t} - {o}) ** 2)"}[kind]
    loss = d.step(f"{at}loss", _("Squared-error loss"), explanation=_EXPLAIN[kind](), symbol=L,
                  formula=sp.Mul(factor, squares, evaluate=False) if factor != 1 else squares,
                  value=squared_error_value(kind, output.value, target.value), var=name.plain("L"),
                  code=f"{name.plain('L')} = " + code.format(t=target.var, o=output.var), concept=f"losses.{kind}", substitute=True)
    return Loss(loss, _squared_gradient(d, output, target, kind, name, index, at, count))


_EXPLAIN = {
    "half-sse": lambda: _("half-sse: L = 1/2 Σ (t - o)², the half sum of squared errors; the 1/2 cancels the 2 of the derivative."),
    "sse": lambda: _("sse: L = Σ (t - o)², the sum of squared errors, without 1/2."),
    "mse": lambda: _("mse: L = (1/n) Σ (t - o)², the mean of the squared errors, without 1/2, as PyTorch's MSELoss and Keras' default."),
}


def _squared_gradient(d: Derivation, output: Any, target: Any, kind: str, name: Names, index: tuple, at: str, count: sp.Symbol) -> Step:
    o, t = at_index(output.symbol, *index), at_index(target.symbol, *index)
    per = 1 if not index else count
    formula = {"half-sse": o - t, "sse": sp.Mul(2, o - t, evaluate=False),
               "mse": sp.Mul(2, o - t, evaluate=False) / per}[kind]
    factor = {"half-sse": 1.0, "sse": 2.0, "mse": 2.0 / np.size(output.value)}[kind]
    code = {"half-sse": "{o} - {t}", "sse": "2 * ({o} - {t})", "mse": "2 * ({o} - {t}) / np.size({o})"}[kind]
    targets = np.asarray(target.value, float)
    return d.step(f"{at}gradient", _("Gradient of the loss by the output"),
                  explanation=_("Differentiate each square: ∂(t_i - o_i)²/∂o_i = -2 (t_i - o_i) = 2 (o_i - t_i); only the term i depends on o_i."),
                  symbol=_array(name, "dL_do", index), index=index, lhs=sp.Derivative(name.scalar("L"), o), formula=formula,
                  value=factor * (np.asarray(output.value, float) - targets), var=name.plain("dL_do"),
                  code=f"{name.plain('dL_do')} = " + code.format(o=output.var, t=target.var), concept=f"losses.{kind}_gradient",
                  gradient=GradientCheck(lambda point: squared_error_value(kind, point, targets), np.asarray(output.value, float)),
                  substitute=not index)


def _array(name: Names, role: str, index: tuple) -> Any:
    return name.array(role) if index else name.scalar(role)


def binary_cross_entropy(d: Derivation, output: Any, target: Any, *, at: str = "", names: dict | None = None,
                         count: sp.Symbol = n) -> Loss:
    """Steps loss (the mean BCE) and gradient (o - t) / (o (1 - o)) / n; the gradient is
    None, with a note on the loss, where some o is exactly 0 or 1 (or 1 / (o (1 - o))
    overflows float64)."""
    name, index, o, t = _setup(d, output, target, names, count)
    terms = bce_terms(t, o)
    formula = -sp.Mul(1 / count, total(terms, i, count), evaluate=False) if index else written_product(-1, terms)
    outputs, targets = np.asarray(output.value, float), np.asarray(target.value, float)
    with np.errstate(all="ignore"):
        edge = ~np.isfinite((outputs - targets) / (outputs * (1 - outputs)))
    zero_log_zero = bool(np.any(((outputs == 0) & (targets == 0)) | ((outputs == 1) & (targets == 1))))
    plain_code = "-np.mean({t} * np.log({o}) + (1 - {t}) * np.log(1 - {o}))"
    safe_code = "-np.mean(np.where({t} == 0, 0, {t} * np.log({o})) + np.where({t} == 1, 0, (1 - {t}) * np.log(1 - {o})))"
    fields = {"formula": formula} if not zero_log_zero else {"depends_on": (output.id, target.id)}
    loss = d.step(f"{at}loss", _("Binary cross-entropy"),
                  explanation=_("L = -(1/n) Σ [t log o + (1 - t) log(1 - o)], the mean over the n outputs (PyTorch's BCELoss default); natural logarithm."),
                  symbol=name.scalar("L"), value=bce_value(outputs, targets), var=name.plain("L"),
                  code=f"{name.plain('L')} = " + (safe_code if zero_log_zero else plain_code).format(t=target.var, o=output.var),
                  concept="losses.bce", notes=_edge_notes(edge, zero_log_zero, bce_value(outputs, targets)), substitute=True, **fields)
    if edge.any():
        return Loss(loss, None)
    return Loss(loss, _bce_gradient(d, output, target, name, index, at, count))


def _edge_notes(edge: np.ndarray, zero_log_zero: bool, value: float) -> tuple[str, ...]:
    """What happens where some o is exactly 0 or 1 (computed from the numbers)."""
    if not edge.any():
        return ()
    notes = [Caution(_("some o is exactly 0 or 1 in float64, or so close to it that 1 / (o (1 - o)) overflows (a sigmoid rounds to 1 for z > 37 and to 0 for z < -745), so the gradient (o - t) / (o (1 - o)) divides by 0: it is not defined there and is not computed; computing the loss from the logit z (PyTorch's BCEWithLogitsLoss) avoids this"))]
    if np.isinf(value):
        notes.append(Caution(_("log 0 = -∞ where the target disagrees, so the loss is infinite; PyTorch's BCELoss clamps each log at -100 and reports a finite loss instead")))
    if zero_log_zero:
        notes.append(_("where the target agrees with an output of exactly 0 or 1, the term is 0 · log 0, taken as its limit 0 (the formula is not evaluated at these numbers)"))
    return tuple(notes)


def _bce_gradient(d: Derivation, output: Any, target: Any, name: Names, index: tuple, at: str, count: sp.Symbol) -> Step:
    o, t = at_index(output.symbol, *index), at_index(target.symbol, *index)
    outputs, targets = np.asarray(output.value, float), np.asarray(target.value, float)
    per = np.size(outputs)
    formula = (o - t) / (o * (1 - o)) / (count if index else 1)
    kinks = np.where(outputs < 0.5, 0.0, 1.0)  # the domain ends at 0 and 1: no difference across them
    return d.step(f"{at}gradient", _("Gradient of the loss by the output"),
                  explanation=_("∂/∂o_i of -(t_i log o_i + (1 - t_i) log(1 - o_i)) is -t_i/o_i + (1 - t_i)/(1 - o_i) = (o_i - t_i) / (o_i (1 - o_i)); the mean divides by n."),
                  symbol=_array(name, "dL_do", index), index=index, lhs=sp.Derivative(name.scalar("L"), o), formula=formula,
                  value=(outputs - targets) / (outputs * (1 - outputs)) / per, var=name.plain("dL_do"),
                  code=f"{name.plain('dL_do')} = ({output.var} - {target.var}) / ({output.var} * (1 - {output.var})) / np.size({output.var})",
                  concept="losses.bce_gradient", substitute=not index,
                  gradient=GradientCheck(lambda point: _bce_inside(point, targets), outputs, kinks))


def _bce_inside(point: np.ndarray, targets: np.ndarray) -> float:
    """The BCE for finite differences; NaN outside (0, 1), where those entries are not compared."""
    with np.errstate(all="ignore"):
        return bce_value(np.where((point > 0) & (point < 1), point, np.nan), targets)
