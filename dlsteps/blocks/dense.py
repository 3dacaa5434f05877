"""A dense (fully connected) layer: forward, backward and one gradient-descent update.

    forward   z_i = Σ_k W_ik x_k + b_i          W of shape (out, in), as PyTorch's nn.Linear
    backward  ∂L/∂W_ij = δ_i x_j                 (matrix form δ xᵀ, shape (out, in))
              ∂L/∂b_i = δ_i                      (Σ_i δ_i for one bias shared by all outputs)
              ∂L/∂x_j = Σ_i W_ij δ_i             (matrix form Wᵀ δ: the next layer's ∂L/∂a)
    update    W'_ij = W_ij - η ∂L/∂W_ij, and the same for b

δ_i = ∂L/∂z_i comes from the layer above (`activations.delta`, or a loss gradient).
Shapes: W (out, in) with x (in,); a weight vector w (in,) with x (in,) gives a scalar
z = Σ_k w_k x_k + b (a logistic unit); scalars w, x give z = w x + b (the resnet lesson's
one-neuron layers). The bias is optional, a vector (out,) or one scalar shared by all
outputs. Each gradient step is checked by finite differences: of the lesson's whole
loss when it passes `checks`, else of Σ_i δ_i z_i with δ held fixed, whose gradient is
exactly the chain-rule product the step computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import Names, at_index, i, j, k, size, total, written_product, written_sum
from dlsteps.i18n import _
from dlsteps.model import Derivation, GradientCheck, Step


@dataclass
class Layer:
    """Handles of a forward pass: the weights, the input, the bias (or None), the step z."""

    W: Any
    x: Any
    b: Any
    z: Step
    sizes: tuple


@dataclass
class Gradients:
    """Handles of a backward pass: ∂L/∂W, ∂L/∂b (None without a bias), ∂L/∂x (None if not asked)."""

    W: Step
    b: Step | None
    x: Step | None


@dataclass
class Update:
    """Handles of an update: the new weights and the new bias (None without a bias)."""

    W: Step
    b: Step | None


def plain(handle: Any) -> str:
    """The plain name of a handle's symbol (``W1`` for IndexedBase('W1'))."""
    return str(getattr(handle.symbol, "label", handle.symbol))


def shown(d: Derivation, handle: Any) -> tuple[str, str]:
    """(Unicode, LaTeX) of a handle's symbol, as the derivation displays it."""
    return d.names.get(plain(handle), (plain(handle), plain(handle)))


def _gradient_name(d: Derivation, handle: Any) -> tuple[str, str, str]:
    unicode, latex = shown(d, handle)
    return f"dL_d{plain(handle)}", f"∂L/∂{unicode}", rf"\frac{{\partial L}}{{\partial {latex}}}"


def _array(name: Names, role: str, ndim: int) -> Any:
    return name.array(role) if ndim else name.scalar(role)


def _sizes(d: Derivation, W: Any, x: Any, z: Any, count: dict | None) -> tuple[tuple, tuple]:
    """(output index, input index): (i,) and (k,) where z and x are vectors, and their size
    symbols, n_z and n_x by default (named after the vectors), bound to the sizes."""
    counts = {"out": _count(f"n_{z}"), "in": _count(f"n_{plain(x)}"), **(count or {})}
    x_dim = np.ndim(x.value)
    out = (i,) if np.ndim(W.value) - x_dim == 1 else ()
    if out:
        size(d, counts["out"], np.shape(W.value)[0])
    if x_dim:
        size(d, counts["in"], np.shape(x.value)[0])
    return (out, (k,) if x_dim else ()), (counts["out"] if out else None, counts["in"] if x_dim else None)


def _count(name: str) -> sp.Symbol:
    return sp.Symbol(name, integer=True, positive=True)


def _linear(W: Any, x: Any, out: tuple, inner: tuple, count: Any) -> sp.Expr:
    """Σ_k W_ik x_k (or w x for scalars) in the handles' symbols, at output index `out`,
    each product written weight first."""
    product = written_product(at_index(W.symbol, *out, *inner), at_index(x.symbol, *inner))
    return total(product, k, count) if inner else product


def _bias(b: Any, out: tuple) -> Any:
    """b_i for a bias vector, b for a scalar bias shared by every output, 0 without a bias."""
    if b is None:
        return 0
    return at_index(b.symbol, *out) if np.ndim(b.value) else b.symbol


def forward(d: Derivation, W: Any, x: Any, b: Any = None, *, at: str = "", names: dict | None = None,
            count: dict | None = None) -> Layer:
    """Step linear: z_i = Σ_k W_ik x_k + b_i for handles W (out, in), x (in,), b (out,) or
    None; `count` may rename the size symbols {"out": ..., "in": ...}. Returns the Layer."""
    name = Names(d, {"z": "z"}, names)
    (out, inner), (n_out, n_in) = _sizes(d, W, x, name.plain("z"), count)
    z = _array(name, "z", len(out))
    value = np.dot(np.asarray(W.value, float), np.asarray(x.value, float)) + (0 if b is None else np.asarray(b.value, float))
    op = "@" if inner else "*"
    code = f"{z} = {W.var} {op} {x.var}" + (f" + {b.var}" if b is not None else "")
    step = d.step(f"{at}linear", _("Weighted sum"), explanation=_layer_explanation(b), symbol=z, index=out,
                  formula=written_sum(_linear(W, x, out, inner, n_in), _bias(b, out)), value=value, code=code,
                  concept="dense.forward", substitute=True)
    return Layer(W, x, b, step, (n_out, n_in))


def _layer_explanation(b: Any) -> str:
    if b is None:
        return _("z = W x with W of shape (out, in), as PyTorch's nn.Linear (no bias): each output is a weighted sum of the inputs.")
    return _("z = W x + b with W of shape (out, in), as PyTorch's nn.Linear: each output is a weighted sum of the inputs plus its bias.")


def surrogate(layer: Layer, delta: Any, role: str) -> GradientCheck:
    """Finite differences of Σ_i δ_i z_i(W, x, b) in the parameter `role` ("W", "b", "x"),
    with δ fixed: its gradient is the chain-rule product ∂L/∂z · ∂z/∂(role)."""
    parts = {"W": layer.W.value, "x": layer.x.value, "b": 0.0 if layer.b is None else layer.b.value}
    parts = {key: np.asarray(value, dtype=float) for key, value in parts.items()}
    weights = np.asarray(delta.value, dtype=float)

    def loss(point: np.ndarray) -> float:
        values = {**parts, role: point}
        return float(np.sum(weights * (np.dot(values["W"], values["x"]) + values["b"])))

    return GradientCheck(loss, parts[role])


def backward(d: Derivation, layer: Layer, delta: Any, *, at: str = "", names: dict | None = None,
             checks: dict | None = None, input_grad: bool = True) -> Gradients:
    """Steps dL_dW (∂L/∂W_ij = δ_i x_j), dL_db (∂L/∂b_i = δ_i, with a bias) and dL_dx
    (∂L/∂x_j = Σ_i W_ij δ_i, unless `input_grad` is False) for `delta` = ∂L/∂z.
    `checks` may map "W", "b", "x" to the lesson's GradientCheck of its whole loss."""
    name = Names(d, {"dW": _gradient_name(d, layer.W), "db": _gradient_name(d, layer.b) if layer.b else "dL_db",
                     "dx": _gradient_name(d, layer.x), "L": "L"}, names)
    checks = checks or {}
    grads = Gradients(_weight_gradient(d, layer, delta, name, at, checks), None, None)
    if layer.b is not None:
        grads.b = _bias_gradient(d, layer, delta, name, at, checks)
    if input_grad:
        grads.x = _input_gradient(d, layer, delta, name, at, checks)
    return grads


def _weight_gradient(d: Derivation, layer: Layer, delta: Any, name: Names, at: str, checks: dict) -> Step:
    out = (i,) if layer.sizes[0] is not None else ()
    inner = (j,) if layer.sizes[1] is not None else ()
    dW, L = _array(name, "dW", len(out + inner)), name.scalar("L")
    value = np.multiply.outer(np.asarray(delta.value, float), np.asarray(layer.x.value, float))
    code = f"np.outer({delta.var}, {layer.x.var})" if out and inner else f"{delta.var} * {layer.x.var}"
    return d.step(f"{at}dL_dW", _("Gradient of the weights"),
                  explanation=_("∂z_i/∂W_ij = x_j, so ∂L/∂W_ij = δ_i x_j: in matrix form ∂L/∂W = δ xᵀ, the outer product, of the same shape (out, in) as W."),
                  symbol=dW, index=out + inner, lhs=sp.Derivative(L, at_index(layer.W.symbol, *out, *inner)),
                  formula=written_product(at_index(delta.symbol, *out), at_index(layer.x.symbol, *inner)), value=value,
                  var=name.plain("dW"), code=f"{name.plain('dW')} = {code}", concept="dense.dL_dW",
                  gradient=checks.get("W") or surrogate(layer, delta, "W"))


def _bias_gradient(d: Derivation, layer: Layer, delta: Any, name: Names, at: str, checks: dict) -> Step:
    shared = layer.sizes[0] is not None and np.ndim(layer.b.value) == 0
    index = () if shared or layer.sizes[0] is None else (i,)
    db, L = _array(name, "db", len(index)), name.scalar("L")
    values = np.asarray(delta.value, dtype=float)
    formula = total(delta.symbol[i], i, layer.sizes[0]) if shared else at_index(delta.symbol, *index)
    explanation = (_("One bias b is added to every output, so ∂L/∂b = Σ_i δ_i.") if shared
                   else _("∂z_i/∂b_i = 1, so ∂L/∂b_i = δ_i."))
    return d.step(f"{at}dL_db", _("Gradient of the bias"), explanation=explanation, symbol=db, index=index,
                  lhs=sp.Derivative(L, at_index(layer.b.symbol, *index)), formula=formula,
                  value=values.sum() if shared else values, var=name.plain("db"),
                  code=f"{name.plain('db')} = {delta.var}" + (".sum()" if shared else " * 1.0"),
                  concept="dense.dL_db", gradient=checks.get("b") or surrogate(layer, delta, "b"), substitute=shared)


def _input_gradient(d: Derivation, layer: Layer, delta: Any, name: Names, at: str, checks: dict) -> Step:
    out = (i,) if layer.sizes[0] is not None else ()
    inner = (j,) if layer.sizes[1] is not None else ()
    dx, L = _array(name, "dx", len(inner)), name.scalar("L")
    product = written_product(at_index(layer.W.symbol, *out, *inner), at_index(delta.symbol, *out))
    W, dv = np.asarray(layer.W.value, float), np.asarray(delta.value, float)
    code = f"{layer.W.var}.T @ {delta.var}" if W.ndim == 2 else (f"{delta.var} @ {layer.W.var}" if out else f"{delta.var} * {layer.W.var}")
    return d.step(f"{at}dL_dx", _("Gradient passed to the input"),
                  explanation=_("x_j feeds every z_i through W_ij, so ∂L/∂x_j = Σ_i W_ij δ_i: in matrix form Wᵀ δ. It is the ∂L/∂a the layer below needs."),
                  symbol=dx, index=inner, lhs=sp.Derivative(L, at_index(layer.x.symbol, *inner)),
                  formula=total(product, i, layer.sizes[0]) if out else product, value=np.dot(dv, W),
                  var=name.plain("dx"), code=f"{name.plain('dx')} = {code}", concept="dense.dL_dx",
                  gradient=checks.get("x") or surrogate(layer, delta, "x"), substitute=not inner)


def update(d: Derivation, param: Any, grad: Any, lr: Any, *, at: str = "", names: dict | None = None,
           id: str = "update") -> Step:
    """Step `id`: p' = p - η ∂L/∂p, element by element, for a parameter handle of any shape
    and its gradient step; `lr` is the learning-rate handle. Returns the new parameter."""
    unicode, latex = shown(d, param)
    name = Names(d, {"new": (f"{plain(param)}_new", f"{unicode}′", f"{{{latex}}}'")}, names)
    index = ((i, j) if np.ndim(param.value) == 2 else (i,))[: np.ndim(param.value)]
    new = _array(name, "new", len(index))
    value = np.asarray(param.value, float) - lr.value * np.asarray(grad.value, float)
    return d.step(f"{at}{id}", _("Gradient-descent update of {p}").format(p=unicode),
                  explanation=_("Move against the gradient, by the learning rate times the gradient."),
                  symbol=new, index=index, formula=at_index(param.symbol, *index) - lr.symbol * at_index(grad.symbol, *index),
                  value=value, var=name.plain("new"), code=f"{name.plain('new')} = {param.var} - {lr.var} * {grad.var}",
                  concept="dense.update", substitute=not index)


def update_layer(d: Derivation, layer: Layer, grads: Gradients, lr: Any, *, at: str = "", names: dict | None = None) -> Update:
    """Steps update_W and (with a bias) update_b: W' = W - η ∂L/∂W, b' = b - η ∂L/∂b.
    `names` may map "W" and "b" to the new parameters' names."""
    names = names or {}
    W = update(d, layer.W, grads.W, lr, at=at, id="update_W", names={"new": names["W"]} if "W" in names else None)
    if layer.b is None:
        return Update(W, None)
    b = update(d, layer.b, grads.b, lr, at=at, id="update_b", names={"new": names["b"]} if "b" in names else None)
    return Update(W, b)
