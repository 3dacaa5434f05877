"""A skip connection against the vanishing gradient: one-neuron layers, plain and residual.

Follows Deep Learning 101 #25 (ResNet). The lecture's network has three layers of one
neuron each, input x = 0.5, every weight 0.1, a sigmoid on every layer, no bias, and the
MSE of its one output (for one output the mean is the plain square, without 1/2):

    plain (scenario 1)   a_0 = x,   z_l = w_l a_(l-1),   a_l = σ(z_l),   L = (a_N - t)²
    skip  (scenario 2)   the same, except at layer q:   ã_q = σ(z̃_q) + ã_(p-1)

The skip `--skip p,q` adds the input of layer p to the output of layer q after its
activation: the identity path of ResNet (He et al. 2016, "Identity mappings"), whose
derivative is exactly 1. Backward, output to input, by the chain rule:

    ∂L/∂a_N = 2 (a_N - t),   δ_l = ∂L/∂a_l σ'(z_l),   ∂L/∂w_l = δ_l a_(l-1),
    ∂L/∂a_(l-1) = w_l δ_l,   plus ∂L̃/∂ã_q where ã_(l-1) also feeds the shortcut.

Plain, ∂L/∂w_1 = ∂L/∂a_N · Π_(l=N..2) σ'(z_l) w_l · σ'(z_1) x: every layer multiplies by
σ'(z_l) w_l with σ' ≤ 1/4, so it shrinks towards the input. The skip adds a path that
bypasses the layers p..q, so ∂L̃/∂w_1 keeps a larger share of ∂L̃/∂w_N when the skip spans
the later layers (the default p = 2, q = N); from the input (p = 1) it changes nothing
below it. The ratio ∂L/∂w_1 ÷ ∂L/∂w_N is compared in both. The target is not the
lecture's (it gives none): t = 0 keeps the signs simple. The math of each layer is the
`dense`, `activations` and `losses` blocks'; the skip, the chain-rule products and the
ratios are this lesson's own.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import sympy as sp

from dlsteps.blocks import activations as act
from dlsteps.blocks import dense, losses
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck

META = {
    "title": "ResNet: a skip connection against the vanishing gradient",
    "lecture": "DL101 #25 (ResNet 잔차신경망)",
    "summary": "a chain of one-neuron sigmoid layers, plain and with a skip connection: dL/dw from the output back to the input, and the ratio dL/dw1 ÷ dL/dwN in each",
    "example": "dlsteps resnet --layers 10 --skip 2,10",
    "inputs": {
        "x": {"shape": "scalar", "default": "0.5", "help": "the input x = a_0"},
        "w": {"shape": "vector *", "default": "0.1",
              "help": "the weights w_1 .. w_N, one per layer, or one number used for every layer"},
        "target": {"shape": "scalar", "default": "0", "help": "the target t of the one output (the lecture gives none; 0 keeps signs simple)"},
        "layers": {"shape": "count", "domain": "2..30", "default": "3", "help": "the number of layers N"},
        "skip": {"shape": "vector *", "domain": "1..30", "default": "", "optional": True,
                 "help": "where the skip goes: p,q adds the input of layer p to the output of layer q (default 2,N: around every layer after the first)"},
    },
}

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
TILDE = "\u0303"


# ---- the network in NumPy: values for the checks, and the lesson's own reference --------------


def sigmoid(z):
    """σ(z) = 1 / (1 + exp(-z)), computed without overflow."""
    return act.values("sigmoid", z)


def forward(x: float, w: np.ndarray, skip: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(z_1..z_N, a_0..a_N): a_l = σ(w_l a_(l-1)), plus a_(p-1) at layer q when skip = (p, q)."""
    a, z = [float(x)], []
    for layer, weight in enumerate(w, 1):
        z.append(weight * a[-1])
        a.append(float(sigmoid(z[-1])) + (a[skip[0] - 1] if skip and layer == skip[1] else 0.0))
    return np.array(z), np.array(a)


def loss_value(x: float, w: np.ndarray, t: float, skip: tuple[int, int] | None) -> float:
    """L = (a_N - t)², the MSE of one output."""
    return float((forward(x, w, skip)[1][-1] - t) ** 2)


def backward(x: float, w: np.ndarray, t: float, skip: tuple[int, int] | None) -> dict:
    """∂L/∂a_l (l = 0..N), δ_l and ∂L/∂w_l (index l - 1), by the chain rule from the output."""
    z, a = forward(x, w, skip)
    n = len(w)
    grad_a = np.zeros(n + 1)
    grad_a[n] = 2 * (a[n] - t)
    delta = np.zeros(n)
    for layer in range(n, 0, -1):
        delta[layer - 1] = grad_a[layer] * float(act.prime_values("sigmoid", z[layer - 1]))
        grad_a[layer - 1] += w[layer - 1] * delta[layer - 1]
        if skip and layer == skip[1]:
            grad_a[skip[0] - 1] += grad_a[layer]
    return {"z": z, "a": a, "grad_a": grad_a, "delta": delta, "dw": delta * a[:-1], "w": np.asarray(w, float), "t": t}


# ---- inputs ------------------------------------------------------------------------------------


def _weights(d: Derivation, given: dict, n: int) -> tuple[np.ndarray, object]:
    """The weights: --w broadcast or one per layer; drawn from --seed when --w was not typed."""
    source = given["w"]
    if d.seed is not None and source.origin == "default":
        w = np.round(np.random.default_rng(d.seed).uniform(-1, 1, n), 2)
        return w, SimpleNamespace(text=",".join(f"{v:g}" for v in w), origin="seed")
    w = np.array(source.value, dtype=float)
    if w.size not in (1, n):
        raise InputError(_("--w: got {count} weights in '{text}'; expected 1 (used for every layer) or {n} (one per layer, --layers {n})").format(
            count=w.size, text=source.text, n=n))
    return np.broadcast_to(w, (n,)).copy(), source


def _skip(given: dict, n: int) -> tuple[int, int]:
    """(p, q) from --skip, or the default (2, N); 1 ≤ p ≤ q ≤ N."""
    value = given["skip"].value
    if value is None:
        return 2, n
    if len(value) != 2 or not 1 <= value[0] <= value[1] <= n:
        raise InputError(_("--skip: '{text}' is not a placement; expected two layer numbers p,q with 1 ≤ p ≤ q ≤ {n} (the input of layer p is added to the output of layer q)").format(
            text=given["skip"].text, n=n))
    return int(value[0]), int(value[1])


# ---- names ------------------------------------------------------------------------------------


def sub(number: int) -> str:
    """A whole number as Unicode subscript digits."""
    return str(number).translate(SUBSCRIPTS)


def grad_name(plain: str, loss: tuple[str, str], of: tuple[str, str]) -> tuple[str, str, str]:
    """(plain, Unicode, LaTeX) of ∂loss/∂of, for (Unicode, LaTeX) pairs of loss and of."""
    return plain, f"∂{loss[0]}/∂{of[0]}", rf"\frac{{\partial {loss[1]}}}{{\partial {of[1]}}}"


class Scenario:
    """Symbol names of one scenario: plain (z, a, L) or skip (z̃, ã, L̃, plain names prefixed r)."""

    def __init__(self, skip: bool):
        self.skip, self.prefix = skip, ("r" if skip else "")
        self.at = "skip." if skip else "plain."
        self.mark = TILDE if skip else ""
        self.loss = (f"L{self.mark}", r"\tilde{L}" if skip else "L")

    def _tex(self, letter: str) -> str:
        return rf"\tilde{{{letter}}}" if self.skip else letter

    def sym(self, letter: str, layer: int) -> tuple[str, str, str]:
        """z_l, a_l, δ_l of this scenario as (plain, Unicode, LaTeX)."""
        shown = {"a": "ã" if self.skip else "a"}.get(letter, letter + self.mark)
        tex = {"delta": self._tex(r"\delta")}.get(letter, self._tex(letter))
        shown = {"delta": "δ" + self.mark}.get(letter, shown)
        return f"{self.prefix}{letter}{layer}", f"{shown}{sub(layer)}", f"{tex}_{{{layer}}}"

    def prime(self, layer: int) -> tuple[str, str, str]:
        z = self.sym("z", layer)
        return f"{self.prefix}s{layer}", f"σ′({z[1]})", rf"\sigma'({z[2]})"

    def dw(self, layer: int) -> tuple[str, str, str]:
        return grad_name(f"dL{self.prefix}_dw{layer}", self.loss, (f"w{sub(layer)}", f"w_{{{layer}}}"))

    def da(self, layer: int, suffix: str = "") -> tuple[str, str, str]:
        return grad_name(f"dL{self.prefix}_da{layer}{suffix}", self.loss, self.sym("a", layer)[1:])


# ---- the lesson ---------------------------------------------------------------------------------


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with both scenarios, forward and backward, their ratios and the comparison."""
    n = int(given["layers"].value)
    w, w_source = _weights(d, given, n)
    p, q = _skip(given, n)
    x = d.given("x", sp.Symbol("x"), float(given["x"].value), given["x"], _("the input x = a₀"))
    ws = [d.given(f"w{layer}", d.name(sp.Symbol(f"w{layer}"), f"w{sub(layer)}", f"w_{{{layer}}}"), float(w[layer - 1]),
                  w_source, _("weight of layer {l}").format(l=layer)) for layer in range(1, n + 1)]
    t = d.given("target", sp.Symbol("t"), float(given["target"].value), given["target"], _("target of the output"))
    d.given("layers", sp.Symbol("N", integer=True, positive=True), n, given["layers"], _("number of layers"))
    plain_ref, skip_ref = backward(x.value, w, t.value, None), backward(x.value, w, t.value, (p, q))
    conventions(d, n, p, q)
    plain = scenario(d, Scenario(False), x, ws, t, None, plain_ref)
    skip = scenario(d, Scenario(True), x, ws, t, (p, q), skip_ref)
    compare(d, plain, skip, plain_ref, skip_ref, n)


def conventions(d: Derivation, n: int, p: int, q: int) -> None:
    """The setting, stated before any number (no steps: the section's text)."""
    where = skip_text(p, q, n)
    d.section(_("Scenario 1: the plain network, forward"),
              _("{n} layers of one neuron each: a₀ = x, z_l = w_l a_(l-1), a_l = σ(z_l), no bias. "
                "Loss: the MSE of the one output, L = (t - a{last})² (the mean of one square: no 1/2). "
                "Scenario 2 adds one skip connection: {where}.").format(n=n, last=sub(n), where=where))


def skip_text(p: int, q: int, n: int) -> str:
    """Where the skip goes, in words, from the numbers."""
    source = "x" if p == 1 else f"ã{sub(p - 1)}"
    text = _("ã{q} = σ(z̃{q}) + {source}: the input of layer {p} is added to the output of layer {layer} after its activation "
             "(the identity path of ResNet, derivative 1)").format(q=sub(q), source=source, p=p, layer=q)
    if p == 1 and q == n:
        return text + _("; from the input straight to the output, it leaves every ∂/∂w path below the output unchanged")
    return text


def scenario(d: Derivation, names: Scenario, x, ws: list, t, skip: tuple[int, int] | None, ref: dict) -> dict:
    """Forward, loss and backward of one scenario; returns its steps by role."""
    if skip:
        d.section(_("Scenario 2: with the skip connection, forward"),
                  skip_text(*skip, len(ws)) + ".")
    run = forward_pass(d, names, x, ws, skip)
    run["loss"] = losses.squared_error(d, run["a"][-1], t, "mse", at=names.at,
                                       names={"L": (f"L{names.prefix}", *names.loss), "dL_do": names.da(len(ws))})
    a_out = names.sym("a", len(ws))[1]
    run["loss"].gradient.explanation = _("Differentiate the square: ∂(t - {a})²/∂{a} = -2 (t - {a}) = 2 ({a} - t).").format(a=a_out)
    run["loss"].loss.notes += (_("one output: the mean of one square is the square itself, {L} = (t - {a})², without 1/2").format(
        L=names.loss[0], a=names.sym("a", len(ws))[1]),)
    d.section(_("Scenario 2: backward, from the output to the input") if skip else _("Scenario 1: backward, from the output to the input"),
              _("Chain rule: δ_l = ∂L/∂a_l · σ'(z_l), ∂L/∂w_l = δ_l a_(l-1), ∂L/∂a_(l-1) = w_l δ_l.")
              + (_(" At the shortcut, ã{p} also receives ∂L̃/∂ã{q} (times 1).").format(p=sub(skip[0] - 1), q=sub(skip[1]))
                 if skip and skip[0] > 1 else ""))
    backward_pass(d, names, run, ws, t, x, skip, ref)
    chain(d, names, run, ws, x, skip, ref)
    run["ratio"] = ratio(d, names, run, ref)
    return run


def forward_pass(d: Derivation, names: Scenario, x, ws: list, skip) -> dict:
    """z_l and a_l for every layer (the dense and activations blocks), and the skip's sum."""
    h, layers, acts = x, [], [x]
    for layer, w in enumerate(ws, 1):
        at = f"{names.at}l{layer}."
        layers.append(dense.forward(d, w, h, at=at, names={"z": names.sym("z", layer)}))
        layers[-1].z.explanation = _("One neuron, one weight, no bias: {z} is the weight {w} times the layer's input {a}.").format(
            z=names.sym("z", layer)[1], w=dense.shown(d, w)[0], a=dense.shown(d, h)[0])
        joins = skip is not None and layer == skip[1]
        out = (f"rh{layer}", f"σ(z̃{sub(layer)})", rf"\sigma(\tilde{{z}}_{{{layer}}})") if joins else names.sym("a", layer)
        h = act.activate(d, layers[-1].z, "sigmoid", at=at, names={"a": out})
        h.substitute = True  # one number: worked out like every other step of this lesson
        if joins:
            h = residual(d, names, h, acts[skip[0] - 1], layer, skip)
        acts.append(h)
    return {"layers": layers, "a": acts}


def residual(d: Derivation, names: Scenario, h, source, layer: int, skip) -> object:
    """Step skip.residual: ã_q = σ(z̃_q) + ã_(p-1)."""
    a = names.sym("a", layer)
    symbol = d.name(sp.Symbol(a[0]), a[1], a[2])
    return d.step(f"{names.at}residual", _("The skip connection"),
                  explanation=_("The input of layer {p} is added to layer {q}'s activation: ResNet's identity path, ∂ã{qs}/∂{source} = 1 on top of the path through the layers.").format(
                      p=skip[0], q=skip[1], qs=sub(skip[1]), source=dense.shown(d, source)[0]),
                  symbol=symbol, formula=sp.Add(h.symbol, source.symbol, evaluate=False), value=h.value + source.value,
                  code=f"{a[0]} = {h.var} + {source.var}", concept="resnet.residual", substitute=True)


def zoomed(loss, point: float, steepness: float) -> GradientCheck:
    """A GradientCheck of `loss` at `point` whose difference step is scaled down by ε = 2^-k
    ≥ 1/steepness: the change of variable u = ε v with loss(ε v) / ε has the same derivative,
    and every z moves by at most about 1e-3, so no step straddles a whole sigmoid."""
    scale = 2.0 ** -math.ceil(math.log2(steepness)) if steepness > 1 else 1.0
    return GradientCheck(lambda v: loss(float(v) * scale) / scale, point / scale)


def steepness(ref: dict, skip, layer: int, by_weight: bool = True) -> float:
    """max_m |∂z_m/∂u| for u = w_layer (or ã_layer), by forward-mode differentiation."""
    w, z, a = ref["w"], ref["z"], ref["a"]
    da = np.zeros(len(a))
    if not by_weight:
        da[layer] = 1.0
    largest = 0.0
    for m in range((layer if by_weight else layer + 1), len(a)):
        dz = w[m - 1] * da[m - 1] + (a[m - 1] if by_weight and m == layer else 0.0)
        da[m] = float(act.prime_values("sigmoid", z[m - 1])) * dz + (da[skip[0] - 1] if skip and m == skip[1] else 0.0)
        largest = max(largest, abs(dz))
    return largest


def whole_loss(ref: dict, x: float, t: float, skip, layer: int) -> GradientCheck:
    """Finite differences of the scenario's whole loss by w_layer, the other weights held."""
    w = ref["w"]

    def loss(point):
        moved = w.copy()
        moved[layer - 1] = float(point)
        return loss_value(x, moved, t, skip)
    return zoomed(loss, float(w[layer - 1]), steepness(ref, skip, layer))


def backward_pass(d: Derivation, names: Scenario, run: dict, ws: list, t, x, skip, ref: dict) -> None:
    """From the output down: σ'(z_l), δ_l, ∂L/∂w_l and ∂L/∂a_(l-1) per layer; the shortcut."""
    grad, at_output = run["loss"].gradient, None
    run["dw"], run["delta"], run["prime"] = {}, {}, {}
    for layer in range(len(ws), 0, -1):
        at, lay = f"{names.at}l{layer}.", run["layers"][layer - 1]
        out = run["a"][layer] if not (skip and layer == skip[1]) else d.find(f"{at}activation")
        prime = act.derivative(d, lay.z, out, "sigmoid", at=at, names={"da": names.prime(layer)})
        delta = act.delta(d, grad, lay.z, prime, "sigmoid", at=at, names={"delta": names.sym("delta", layer)})
        if skip and layer == skip[1]:
            at_output = grad  # ∂L̃/∂ã_q, which the shortcut passes down to ã_(p-1)
        path = skip is not None and layer == skip[0] and layer > 1
        dx = names.da(layer - 1, suffix="_layers" if path else "")
        if path:
            dx = (dx[0], dx[1] + _(" via layer {l}").format(l=layer), dx[2] + rf"\Big\vert_{{\mathrm{{layer}}\ {layer}}}")
        grads = dense.backward(d, lay, delta, at=at, input_grad=layer > 1,
                               names={"dW": names.dw(layer), "dx": dx, "L": (f"L{names.prefix}", *names.loss)},
                               checks={"W": whole_loss(ref, x.value, t.value, skip, layer)})
        run["dw"][layer], run["delta"][layer], run["prime"][layer] = grads.W, delta, prime
        explain(d, names, lay, layer, (prime, delta, grads), path)
        grad = grads.x
        if path:
            grads.x.lhs = None  # the part through layer p only; the shortcut adds the rest next
            grad = shortcut(d, names, grads.x, at_output, layer - 1, skip, ref)


def explain(d: Derivation, names: Scenario, lay, layer: int, steps: tuple, path: bool) -> None:
    """The blocks' steps of one one-neuron layer, worked out with their numbers (each is one
    number) and explained in its own symbols rather than a matrix layer's W_ij, x_j."""
    prime, delta, grads = steps
    L, z, a_out = names.loss[0], names.sym("z", layer)[1], names.sym("a", layer)[1]
    w, a_in, dl = dense.shown(d, lay.W)[0], dense.shown(d, lay.x)[0], names.sym("delta", layer)[1]
    for step in (prime, delta, grads.W):
        step.substitute = True
    delta.explanation = _("Chain rule: {delta} = ∂{L}/∂{z} = ∂{L}/∂{a} · σ′({z}): the gradient arriving at {a} times the sigmoid's slope at {z}.").format(
        delta=dl, L=L, z=z, a=a_out)
    grads.W.explanation = _("∂{z}/∂{w} = {a}, the layer's input, so ∂{L}/∂{w} = {delta} {a}.").format(z=z, w=w, a=a_in, L=L, delta=dl)
    if grads.x is not None and path:
        grads.x.explanation = _("∂{z}/∂{a} = {w}: the path through layer {l} gives {w} {delta}; the shortcut adds its part in the next step.").format(
            z=z, a=a_in, w=w, l=layer, delta=dl)
    elif grads.x is not None:
        grads.x.explanation = _("∂{z}/∂{a} = {w}, so ∂{L}/∂{a} = {w} {delta}: the gradient the layer below receives.").format(
            z=z, a=a_in, w=w, L=L, delta=dl)


def shortcut(d: Derivation, names: Scenario, through, skipped, layer: int, skip, ref: dict):
    """Step skip.shortcut: ∂L̃/∂ã_(p-1) = w_p δ̃_p + ∂L̃/∂ã_q, the two paths summed."""
    name = names.da(layer)
    symbol = d.name(sp.Symbol(name[0]), name[1], name[2])
    return d.step(f"{names.at}shortcut", _("Both paths into ã{l}").format(l=sub(layer)),
                  explanation=_("{source} feeds layer {p} and the shortcut to layer {q}, so its gradient is the sum of both: the shortcut passes ∂L̃/∂ã{qs} on times 1, without any σ′ or w.").format(
                      source=names.sym("a", layer)[1], p=skip[0], q=skip[1], qs=sub(skip[1])),
                  symbol=symbol, lhs=sp.Derivative(sp.Symbol(f"L{names.prefix}"), sp.Symbol(f"{names.prefix}a{layer}")),
                  formula=through.symbol + skipped.symbol, value=through.value + skipped.value,
                  code=f"{name[0]} = {through.var} + {skipped.var}", concept="resnet.shortcut", substitute=True,
                  notes=share_note(through.value, skipped.value),
                  gradient=zoomed(lambda v: _loss_by_activation(ref, v, layer, skip), float(ref["a"][layer]),
                                  steepness(ref, skip, layer, by_weight=False)))


def share_note(through: float, skipped: float) -> tuple[str, ...]:
    """How much of the sum comes through the shortcut (computed)."""
    total = abs(through) + abs(skipped)
    if total == 0:
        return ()
    return (_("{share:.4g}% of it comes through the shortcut, {rest:.4g}% through the layers").format(
        share=100 * abs(skipped) / total, rest=100 * abs(through) / total),)


def _loss_by_activation(ref: dict, value: float, layer: int, skip) -> float:
    """L̃ as a function of ã_layer, every layer above recomputed from it (the shortcut's check)."""
    a = ref["a"].copy()
    a[layer] = float(value)
    for above in range(layer + 1, len(a)):
        a[above] = float(sigmoid(ref["w"][above - 1] * a[above - 1])) + (a[skip[0] - 1] if above == skip[1] else 0.0)
    return float((a[-1] - ref["t"]) ** 2)


# ---- the chain-rule product, the ratios and the comparison ---------------------------------------


def chain_expr(names: Scenario, n: int, skip) -> sp.Expr:
    """∂L/∂w_1 as the chain-rule product in the scenario's symbols, in the chain rule's
    order from the output down: E_N = ∂L/∂a_N, E_(l-1) = E_l σ'(z_l) w_l (+ E_q where
    l = p), and ∂L/∂w_1 = E_1 σ'(z_1) x. Written unevaluated, so it prints in that order."""
    g = {n: [sp.Symbol(names.da(n)[0])]}  # each E_l as its list of factors
    for layer in range(n, 1, -1):
        g[layer - 1] = g[layer] + [sp.Symbol(names.prime(layer)[0]), sp.Symbol(f"w{layer}")]
        if skip and layer == skip[0]:  # through the layers, then the shortcut
            g[layer - 1] = [sp.Add(_product(g[layer - 1]), _product(g[skip[1]]), evaluate=False)]
    return _product(g[1] + [sp.Symbol(names.prime(1)[0]), sp.Symbol("x")])


def _product(factors: list) -> sp.Expr:
    """The factors multiplied in the order given (one factor alone as itself)."""
    return factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)


def chain(d: Derivation, names: Scenario, run: dict, ws: list, x, skip, ref: dict) -> None:
    """Step chain: ∂L/∂w_1 written out as one product of the factors, layer by layer."""
    n = len(ws)
    formula = chain_expr(names, n, skip)
    values = {sp.Symbol(names.prime(l)[0]): run["prime"][l].value for l in run["prime"]}
    values |= {h.symbol: h.value for h in ws} | {x.symbol: x.value, run["loss"].gradient.symbol: run["loss"].gradient.value}
    value = float(sp.lambdify(list(values), formula, modules="numpy")(*values.values()))
    var = f"chain{names.prefix}_w1"
    title = _("∂L̃/∂w₁ as one product of its factors") if skip else _("∂L/∂w₁ as one product of its factors")
    d.step(f"{names.at}chain", title,
           explanation=chain_text(names, n, skip),
           lhs=sp.Derivative(sp.Symbol(f"L{names.prefix}"), ws[0].symbol), formula=formula, value=value, var=var,
           code=f"{var} = {sp.pycode(formula, order='none')}", concept="resnet.chain", substitute=True,
           notes=chain_notes(names, run, ws, x, skip, ref),
           gradient=whole_loss(ref, x.value, ref["t"], skip, 1))


def chain_text(names: Scenario, n: int, skip) -> str:
    """The chain-rule product in words, in this scenario's symbols; the shortcut's term, if any."""
    text = _("Every factor from the output down to w₁: {top}, then σ′({z}_l) w_l for each layer above layer 1, then σ′({z}₁) x. σ′ is at most 1/4 (at z = 0).").format(
        top=f"∂{names.loss[0]}/∂{names.sym('a', n)[1]}", z="z" + names.mark)
    if skip and skip[0] > 1:
        text += " " + _("The shortcut adds a second term: ∂L̃/∂ã{q} reaches ã{p} times 1, without the σ′ and w of the layers between them.").format(
            q=sub(skip[1]), p=sub(skip[0] - 1))
    return text


def chain_notes(names: Scenario, run: dict, ws: list, x, skip, ref: dict) -> tuple[str, ...]:
    """The factors with their numbers, and what they do to the product (computed)."""
    n = len(ws)
    notes = [layer_factors(names, [abs(run["prime"][l].value * ws[l - 1].value) for l in range(n, 1, -1)])]
    top = max(run["prime"][l].value for l in run["prime"])
    notes.append(_("the largest σ′ here is {top:.4g} (σ′ ≤ 0.25 always)").format(top=top))
    if x.value == 0:
        notes.append(Caution(_("x = 0, so ∂/∂w₁ = δ₁ x = 0 whatever the layers above do")))
    if skip and skip[0] > 1:
        through = float(run["loss"].gradient.value * np.prod([run["prime"][l].value * ws[l - 1].value for l in range(n, 1, -1)])
                        * run["prime"][1].value * x.value)
        notes.append(_("of ∂L̃/∂w₁ = {total:.4g}, the path through every layer gives {through:.4g}, the paths through the shortcut {rest:.4g}").format(
            total=ref["dw"][0], through=through, rest=ref["dw"][0] - through))
    return tuple(notes)


def layer_factors(names: Scenario, factors: list[float]) -> str:
    """|σ'(z_l) w_l| for the layers above w_1 (listed, or their range when there are many),
    their product, and whether it underflows float64."""
    n = len(factors) + 1
    if len(factors) <= 4:
        listed = ", ".join(f"|σ′(z{names.mark}{sub(l)}) w{sub(l)}| = {f:.4g}" for l, f in zip(range(n, 1, -1), factors))
    else:
        listed = _("{count} factors |σ′(z_l) w_l| from {low:.4g} to {high:.4g}").format(count=len(factors), low=min(factors), high=max(factors))
    product = float(np.prod(factors))
    if product == 0 and min(factors) > 0:
        exponent = float(np.sum(np.log10(factors)))
        return Caution(_("per layer above w₁: {listed}; together about 10^{exponent:.0f}, below the smallest float64 (about 5e-324): the product underflows to 0").format(
            listed=listed, exponent=exponent))
    how = _("shrinks") if product < 1 else (_("grows") if product > 1 else _("keeps its size"))
    return _("per layer above w₁: {listed}; together they multiply by {product:.4g}: the path through the layers {how} towards the input").format(
        listed=listed, product=product, how=how)


def divide(top: float, bottom: float) -> float | None:
    """top / bottom, or None where it is not a finite number."""
    if bottom == 0:
        return None
    with np.errstate(all="ignore"):
        value = top / bottom
    return float(value) if np.isfinite(value) else None


def ratio(d: Derivation, names: Scenario, run: dict, ref: dict):
    """Step ratio: r = ∂L/∂w_1 ÷ ∂L/∂w_N (omitted, with a note, where it is not a number)."""
    n = len(run["layers"])
    first, last = run["dw"][1], run["dw"][n]
    value = divide(first.value, last.value)
    if value is None:
        d.find(f"{names.at}chain").notes += (Caution(_("∂/∂w{n} is {last:.4g}, so the ratio ∂/∂w₁ ÷ ∂/∂w{n} is not a number and is not computed").format(
            n=sub(n), last=last.value)),)
        return None
    symbol = d.name(sp.Symbol(f"{names.prefix}ratio"), "r" + names.mark, r"\tilde{r}" if names.skip else "r")
    return d.step(f"{names.at}ratio", _("Ratio ∂/∂w₁ ÷ ∂/∂w{n}").format(n=sub(n)),
                  explanation=_("How much of the output-side gradient is left at the input side."),
                  symbol=symbol, formula=first.symbol / last.symbol, value=value, var=f"{names.prefix}ratio",
                  code=f"{names.prefix}ratio = {first.var} / {last.var}", concept="resnet.ratio", substitute=True,
                  notes=(_("∂/∂w₁ is {value:.4g} times ∂/∂w{n}").format(value=value, n=sub(n)),))


def compare(d: Derivation, plain: dict, skip: dict, plain_ref: dict, skip_ref: dict, n: int) -> None:
    """Section side by side and step compare: r̃ ÷ r, with a verdict computed from the numbers."""
    notes = side_by_side(plain_ref, skip_ref, n) + verdict(plain, skip, plain_ref, skip_ref)
    r, rt = plain["ratio"], skip["ratio"]
    value = None if r is None or rt is None else divide(rt.value, r.value)
    if value is None:
        last = rt or d.find("skip.chain")
        last.notes += notes
        return
    d.section(_("Side by side"), _("The two scenarios' input-side shares, divided: above 1, the skip keeps more of the gradient at the input side."))
    d.step("compare", _("Skip ratio ÷ plain ratio"), symbol=d.name(sp.Symbol("gain"), "k", "k"),
           formula=rt.symbol / r.symbol, value=value, var="gain", code="gain = rratio / ratio", concept="resnet.compare",
           substitute=True, notes=notes)


def side_by_side(plain_ref: dict, skip_ref: dict, n: int) -> tuple[str, ...]:
    """The forward values and ∂/∂w of both scenarios, output to input."""
    rows = [_("a{l}: plain {a:.4g}, skip {b:.4g}").format(l=sub(l), a=plain_ref["a"][l], b=skip_ref["a"][l]) for l in range(1, n + 1)]
    grads = [_("∂/∂w{l}: plain {a:.4g}, skip {b:.4g}").format(l=sub(l), a=plain_ref["dw"][l - 1], b=skip_ref["dw"][l - 1]) for l in range(n, 0, -1)]
    return (_("forward: ") + "; ".join(rows), _("backward, output to input: ") + "; ".join(grads))


def verdict(plain: dict, skip: dict, plain_ref: dict, skip_ref: dict) -> tuple[str, ...]:
    """Which scenario keeps the input-side gradient larger, from the numbers."""
    if plain["ratio"] is None or skip["ratio"] is None:
        return (_("a ratio is not a number here, so compare |∂/∂w₁| directly: plain {a:.4g}, skip {b:.4g}").format(
            a=abs(plain_ref["dw"][0]), b=abs(skip_ref["dw"][0])),)
    r, rt = abs(plain["ratio"].value), abs(skip["ratio"].value)
    if r == 0 and rt == 0:
        return (Caution(_("both ratios are 0 (∂/∂w₁ = 0 in both scenarios), so they cannot tell the scenarios apart, and k = r̃ ÷ r is not a number and is not computed")),)
    if np.isclose(r, rt, rtol=1e-9, atol=0):
        return (_("|r̃| = |r| (to rounding): this skip changes the input-side share not at all"),)
    if rt > r:
        return (_("|r̃| > |r|: with the skip, the input side keeps a larger share of the gradient ({rt:.4g} against {r:.4g})").format(rt=rt, r=r),)
    return (_("|r̃| < |r|: here the plain network keeps the larger input-side share ({r:.4g} against {rt:.4g})").format(rt=rt, r=r),)
