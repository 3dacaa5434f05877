"""Activations sigmoid, tanh and ReLU, their derivatives, and the delta of a layer.

    sigmoid   a_i = σ(z_i) = 1 / (1 + exp(-z_i))   σ'(z_i) = a_i (1 - a_i)
    tanh      a_i = tanh(z_i)                       tanh'(z_i) = 1 - a_i²
    relu      a_i = max(0, z_i)                     ReLU'(z_i) = 1 if z_i > 0 else 0
    delta     δ_i = ∂L/∂a_i · f'(z_i)               (∂a_i/∂z_j is diagonal)

The derivatives are written in terms of the activation a where the lectures do. ReLU
has a kink at z = 0; its derivative there is taken as 0, as PyTorch does. The sigmoid
is computed as exp(-log(1 + exp(-z))) (NumPy's logaddexp), which never overflows, so
z = ±800 gives 1 and 0 without a warning. `z` and the activation may be vectors (index
i) or scalars (the resnet lesson's one-neuron layers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import Names, at_index, i
from dlsteps.errors import LessonError
from dlsteps.i18n import N_, _
from dlsteps.model import Caution, Derivation, GradientCheck, Step
from dlsteps.symbolic import exponential

KINDS = ("sigmoid", "tanh", "relu")
NAMES = {"a": "a"}
DERIVATIVE_NAMES = {"da": ("da_dz", "∂a/∂z", r"\frac{\partial a}{\partial z}")}
DELTA_NAMES = {"delta": ("delta", "δ", r"\delta")}


def sigmoid(z):
    """σ(z) = 1 / (1 + exp(-z)), as exp(-log(1 + exp(-z))): no exp overflows for any z."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))


def relu(z):
    """ReLU(z) = max(0, z)."""
    return np.maximum(0.0, np.asarray(z, dtype=float))


FUNCTIONS = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": relu}
CODE = {"sigmoid": "sigmoid({z})", "tanh": "np.tanh({z})", "relu": "np.maximum(0, {z})"}
PRIME_CODE = {"sigmoid": "{a} * (1 - {a})", "tanh": "1 - {a} ** 2", "relu": "({z} > 0) * 1.0"}
TITLES = {"sigmoid": N_("Sigmoid"), "tanh": N_("tanh"), "relu": N_("ReLU")}
RELU_AT_ZERO = N_("ReLU has no derivative at z = 0 (a kink); the derivative there is taken as 0, as PyTorch does.")


def values(kind: str, z: Any) -> np.ndarray:
    """f(z) for `kind`, element by element, as float64."""
    return FUNCTIONS[_kind(kind)](np.asarray(z, dtype=float))


def prime_values(kind: str, z: Any) -> np.ndarray:
    """f'(z) for `kind`: σ(1 - σ), 1 - tanh², and 1 for z > 0 else 0 (0 at z = 0)."""
    z = np.asarray(z, dtype=float)
    a = values(kind, z)
    return {"sigmoid": a * (1 - a), "tanh": 1 - a**2, "relu": (z > 0) * 1.0}[kind]


def formula(kind: str, z: Any) -> sp.Expr:
    """f(z) as SymPy: 1/(1 + exp(-z)), tanh(z), Max(0, z)."""
    return {"sigmoid": lambda: _sigmoid(z), "tanh": lambda: sp.tanh(z), "relu": lambda: sp.Max(0, z)}[_kind(kind)]()


def _sigmoid(z: Any) -> sp.Expr:
    """1/(1 + exp(-z)), the expression SymPy builds. The reciprocal is held unevaluated
    where z has a symbol: SymPy finds nothing to simplify in (1 + exp(-z))⁻¹ then, only
    after asking whether exp(-z) could be infinite (1.5 to 10 ms a formula)."""
    denominator = 1 + exponential(-z)
    return sp.Pow(denominator, -1, evaluate=not denominator.free_symbols)


def prime_formula(kind: str, z: Any, a: Any) -> sp.Expr:
    """f'(z) as SymPy, in terms of the activation a where the lectures write it so."""
    return {"sigmoid": a * (1 - a), "tanh": 1 - a**2, "relu": sp.Piecewise((1, z > 0), (0, True))}[_kind(kind)]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise LessonError(f"unknown activation {kind!r}; the activations block knows {', '.join(KINDS)}")
    return kind


def _index(handle: Any) -> tuple:
    """(i,) for a vector handle, () for a scalar one."""
    return (i,) if np.ndim(handle.value) else ()


def activate(d: Derivation, z: Any, kind: str, *, at: str = "", names: dict | None = None) -> Step:
    """Step activation: a_i = f(z_i) for `kind` in sigmoid, tanh, relu; returns it."""
    name = Names(d, NAMES, names)
    index = _index(z)
    a = name.array("a") if index else name.scalar("a")
    if kind == "sigmoid":
        d.define(sigmoid)
    explanations = {"sigmoid": _("σ(z) = 1 / (1 + exp(-z)) squashes z into (0, 1)."),
                    "tanh": _("tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z)) squashes z into (-1, 1)."),
                    "relu": _("ReLU(z) = max(0, z) keeps positive values and sets negative ones to 0.")}
    return d.step(f"{at}activation", _(TITLES[_kind(kind)]), explanation=explanations[kind], symbol=a, index=index,
                  formula=formula(kind, at_index(z.symbol, *index)), value=values(kind, z.value),
                  code=f"{a} = " + CODE[kind].format(z=z.var), concept=f"activations.{kind}",
                  notes=_saturation_note(kind, z.value))


def _saturation_note(kind: str, z: Any) -> tuple[str, ...]:
    """A note when the sigmoid rounds to exactly 0 or 1 in float64 (computed)."""
    a = values(kind, z)
    if kind == "sigmoid" and np.any((a == 0) | (a == 1)):
        return (Caution(_("σ(z) rounds to exactly 0 or 1 in float64 where |z| is this large; it is computed as exp(-log(1 + exp(-z))), so nothing overflows")),)
    return ()


def derivative(d: Derivation, z: Any, a: Any, kind: str, *, at: str = "", names: dict | None = None) -> Step:
    """Step derivative: ∂a_i/∂z_i = f'(z_i) (σ: a(1 - a), tanh: 1 - a², ReLU: 1 for z > 0
    else 0, 0 at z = 0 as in PyTorch), checked by finite differences of Σ f(z); returns it."""
    name = Names(d, DERIVATIVE_NAMES, names)
    index = _index(z)
    da = name.array("da") if index else name.scalar("da")
    zs, as_ = at_index(z.symbol, *index), at_index(a.symbol, *index)
    explanations = {"sigmoid": _("σ'(z) = σ(z)(1 - σ(z)), written with the activation a = σ(z) already computed."),
                    "tanh": _("tanh'(z) = 1 - tanh²(z), written with the activation a = tanh(z) already computed."),
                    "relu": _("ReLU'(z) = 1 for z > 0 and 0 for z < 0.") + " " + _(RELU_AT_ZERO)}
    return d.step(f"{at}derivative", _("Derivative of the activation"), explanation=explanations[_kind(kind)],
                  symbol=da, index=index, lhs=sp.Derivative(as_, zs), formula=prime_formula(kind, zs, as_),
                  value=prime_values(kind, z.value), var=name.plain("da"),
                  code=f"{name.plain('da')} = " + PRIME_CODE[kind].format(a=a.var, z=z.var),
                  concept=f"activations.{kind}_derivative", notes=_zero_note(kind, z.value),
                  gradient=_check(kind, z.value, np.ones(np.shape(z.value))))


def _zero_note(kind: str, z: Any) -> tuple[str, ...]:
    """The ReLU convention at 0, stated only when some z is exactly 0."""
    if kind == "relu" and np.any(np.asarray(z) == 0):
        return (Caution(_("some z is exactly 0.") + " " + _(RELU_AT_ZERO)),)
    return ()


def _check(kind: str, z: Any, weights: Any) -> GradientCheck:
    """Finite differences of Σ_i w_i f(z_i): its gradient is w_i f'(z_i), since ∂a_i/∂z_j is
    diagonal. For ReLU, entries near the kink at 0 are not compared, nor those exactly on
    it (the central difference there is 1/2, the mean of the one-sided slopes)."""
    z = np.asarray(z, dtype=float)
    weights = np.asarray(weights, dtype=float)
    kinks = np.where(z == 0, np.nan, 0.0) if kind == "relu" else None  # NaN: never compared
    return GradientCheck(lambda point: float(np.sum(weights * values(kind, point))), z, kinks)


def delta(d: Derivation, grad: Any, z: Any, prime: Any, kind: str, *, at: str = "", names: dict | None = None,
          check: GradientCheck | None = None) -> Step:
    """Step delta: δ_i = ∂L/∂z_i = ∂L/∂a_i · f'(z_i), from the handle `grad` (∂L/∂a) and the
    derivative step `prime`. `check` is the lesson's finite-difference check of the whole
    loss by z; without it, Σ_i g_i f(z_i) with g = ∂L/∂a fixed is differenced."""
    name = Names(d, DELTA_NAMES, names)
    index = _index(z)
    dl = name.array("delta") if index else name.scalar("delta")
    g = np.asarray(grad.value, dtype=float)
    return d.step(f"{at}delta", _("Delta: the gradient at the pre-activation"),
                  explanation=_("Chain rule: ∂L/∂z_i = ∂L/∂a_i · ∂a_i/∂z_i; a_i depends on z_i alone, so the Jacobian ∂a/∂z is diagonal and the product is element by element (⊙)."),
                  symbol=dl, index=index, formula=at_index(grad.symbol, *index) * at_index(prime.symbol, *index),
                  value=g * np.asarray(prime.value, dtype=float), var=name.plain("delta"),
                  code=f"{name.plain('delta')} = {grad.var} * {prime.var}", concept="activations.delta",
                  gradient=check or _check(kind, z.value, g))
