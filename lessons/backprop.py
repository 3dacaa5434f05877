"""Backpropagation through a fully connected network of any layer sizes, and one update.

The foundation of every lecture of the series: a network of L dense layers, a⁽⁰⁾ = x,

    forward   z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾,  a⁽ˡ⁾ = f_l(z⁽ˡ⁾)      W⁽ˡ⁾ of shape (out, in), as nn.Linear
    loss      half-sse 1/2 Σ (t - a⁽ᴸ⁾)², sse Σ (t - a⁽ᴸ⁾)², mse the mean; or ce: y = softmax(z⁽ᴸ⁾)
              (the output layer gives logits, no other activation) and L = -Σ_k t_k log y_k
    backward  δ⁽ᴸ⁾ = ∂L/∂a⁽ᴸ⁾ ⊙ f_L'(z⁽ᴸ⁾)   (ce: δ⁽ᴸ⁾ = y - t)
              ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ,  ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾,  ∂L/∂a⁽ˡ⁻¹⁾ = W⁽ˡ⁾ᵀ δ⁽ˡ⁾
              δ⁽ˡ⁻¹⁾ = ∂L/∂a⁽ˡ⁻¹⁾ ⊙ f'(z⁽ˡ⁻¹⁾)
    update    W⁽ˡ⁾′ = W⁽ˡ⁾ - η ∂L/∂W⁽ˡ⁾,  b⁽ˡ⁾′ = b⁽ˡ⁾ - η ∂L/∂b⁽ˡ⁾; then forward again and L′.

The default is Matt Mazur's "A Step by Step Backpropagation Example": a 2-2-2 sigmoid
network, half-sse, η = 0.5. Mazur shares one bias per layer and leaves it unchanged; here
every neuron has its own bias, updated with the weights (the weights after the update are
his). Every gradient is checked by finite differences of the whole network's loss as a
function of that quantity; where ReLU's kink lies within the differences' reach, that
entry is not compared. The math is the `dense`, `activations`, `losses` and `softmax_ce`
blocks'; this module builds the network from the options and tells the story.
"""

from collections import namedtuple

import numpy as np
import sympy as sp

from dlsteps.blocks import activations as act
from dlsteps.blocks import dense, losses, softmax_ce
from dlsteps.checks import FD_MAX_STEP, FD_STEP
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck

TYPED = 5
"""Layers whose weights and biases have options (--w1 .. --w5, --b1 .. --b5)."""


META = {
    "title": "Backpropagation, step by step",
    "lecture": "foundation of all of the above (DL101 #1-#25, Easy! DL #8-#9)",
    "summary": "a fully connected network of any sizes: forward values, every delta, every dL/dW and dL/db, one update, the loss after",
    "example": "dlsteps backprop --sizes 3,4,2 --activation relu --loss ce --x 1,0.5,-1 --target 1 --seed 3",
    "inputs": {
        "sizes": {"shape": "vector *", "domain": "1..64", "default": "2,2,2",
                  "help": "the layer sizes from the input to the output (2,2,2: 2 inputs, a hidden layer of 2, 2 outputs); "
                          "1 to 10 layers, at most 2000 weights. Layers past the fifth have no --w/--b options (nor --params names): "
                          "their numbers come from --seed or the fixed pattern"},
        "x": {"shape": "vector *", "default": "0.05,0.10",
              "help": "the input x, of the first size (unset at another size: 0.1, 0.2, .., 0.5 repeating, or drawn with --seed)"},
        "target": {"shape": "vector *", "default": "0.01,0.99",
                   "help": "the target t, of the last size; with --loss ce probabilities summing to 1 or a class index "
                           "(unset at another size: one-hot at the last class, or drawn with --seed)"},
        "w1": {"shape": "matrix * *", "default": "", "optional": True,
               "help": "weights of layer 1, shape (out, in) as PyTorch's nn.Linear; unset: Mazur's at --sizes 2,2,2, "
                       "else drawn with --seed, else the fixed pattern 0.3 sin(1 + 1.3i + 2.1j + l) to 2 decimals (no two neurons alike)"},
        "b1": {"shape": "vector *", "default": "", "optional": True,
               "help": "biases of layer 1, one per neuron; unset: Mazur's at --sizes 2,2,2, else drawn with --seed, else 0.1"},
        "w2": {"shape": "matrix * *", "default": "", "optional": True, "help": "weights of layer 2, shape (out, in); unset as for --w1"},
        "b2": {"shape": "vector *", "default": "", "optional": True, "help": "biases of layer 2; unset as for --b1"},
        "w3": {"shape": "matrix * *", "default": "", "optional": True, "help": "weights of layer 3, shape (out, in); unset as for --w1"},
        "b3": {"shape": "vector *", "default": "", "optional": True, "help": "biases of layer 3; unset as for --b1"},
        "w4": {"shape": "matrix * *", "default": "", "optional": True, "help": "weights of layer 4, shape (out, in); unset as for --w1"},
        "b4": {"shape": "vector *", "default": "", "optional": True, "help": "biases of layer 4; unset as for --b1"},
        "w5": {"shape": "matrix * *", "default": "", "optional": True, "help": "weights of layer 5, shape (out, in); unset as for --w1"},
        "b5": {"shape": "vector *", "default": "", "optional": True, "help": "biases of layer 5; unset as for --b1"},
        "bias": {"shape": "choice", "choices": ["on", "off"], "default": "on",
                 "help": "off: a network without biases (z = W a), as the resnet lesson's"},
        "activation": {"shape": "text", "default": "sigmoid",
                       "help": "sigmoid, tanh or relu: one for every layer, or one per layer such as relu,sigmoid "
                               "(with --loss ce the output layer has the softmax: name the hidden layers only)"},
        "loss_kind": {"shape": "choice", "choices": ["half-sse", "sse", "mse", "ce"], "default": "half-sse", "flag": "--loss",
                 "help": "half-sse 1/2 Σ(t - o)², sse Σ(t - o)², mse the mean of (t - o)², ce softmax on the output and cross-entropy"},
        "lr": {"shape": "scalar", "domain": "positive", "default": "0.5", "help": "the learning rate η"},
    },
}

MAZUR = {"x": [0.05, 0.10], "target": [0.01, 0.99], "W": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
         "b": [[0.35, 0.35], [0.60, 0.60]], "lr": 0.5}
MAX_LAYERS = 10
MAX_PARAMETERS = 2000
"""Every gradient is checked by finite differences of the whole network: beyond this many
weights the checks would take more than a few seconds."""
OFFSETS = (-4, -2, -1, 1, 2, 4)
"""Multiples of the difference step h that the engine's fourth-order differences (at h and 2h) reach."""
BEND = 0.05
"""How far a z of σ, tanh or the softmax may move within that reach for the differences to be
accurate (they bend on a scale of 1; fourth-order differences err by about (Δz)⁴)."""
PRIMES = {"sigmoid": "σ′", "tanh": "tanh′", "relu": "ReLU′"}
Source = namedtuple("Source", "text origin")


# ---- the network's numbers, from the options ---------------------------------------------


class Network:
    """The network's numbers, checked against the sizes, and a NumPy forward pass used by the
    finite-difference checks: the whole loss as a function of one quantity of one layer."""

    def __init__(self, sizes, kinds, loss, x, target, Ws, bs):
        self.sizes, self.kinds, self.loss, self.x, self.target = sizes, kinds, loss, x, target
        self.Ws, self.bs = Ws, bs
        self.depth = len(Ws)
        self.skipped = {}  # (layer, role) -> (entries not compared, entries)
        self.inputs = [x]  # a⁽⁰⁾ .. a⁽ᴸ⁻¹⁾: what enters each layer
        for layer in range(self.depth - 1):
            self.inputs.append(self.activate(layer, Ws[layer] @ self.inputs[-1] + self._bias(bs, layer)))

    def _bias(self, bs, layer):
        return 0.0 if bs is None else bs[layer]

    def activate(self, layer: int, z):
        """f_l(z); the logits pass unchanged where ce puts the softmax on the output."""
        return z if self.kinds[layer] == "linear" else act.values(self.kinds[layer], z)

    def loss_of(self, output) -> float:
        """The loss of the network's output (the logits for ce)."""
        if self.loss == "ce":
            return softmax_ce.cross_entropy_value(np.asarray(output, float), self.target)
        return losses.squared_error_value(self.loss, output, self.target)

    def tail(self, layer: int, role: str, point):
        """(loss, every z from `layer` on) with one quantity of layer `layer` (0-based) set to
        `point`: role W, b, x (what enters the layer) or z."""
        Ws, bs = list(self.Ws), None if self.bs is None else list(self.bs)
        a = point if role == "x" else self.inputs[layer]
        Ws[layer] = point if role == "W" else Ws[layer]
        if role == "b":
            bs[layer] = point
        zs = []
        for l in range(layer, self.depth):
            zs.append(point if role == "z" and l == layer else Ws[l] @ a + self._bias(bs, l))
            a = self.activate(l, zs[-1])
        return self.loss_of(a), np.concatenate(zs)

    def check(self, layer: int, role: str, point) -> GradientCheck:
        """Finite differences of the whole loss by this quantity. An entry is not compared
        where the differences' reach (±4h) would cross a ReLU kink (some z changes sign) or
        move a z of σ, tanh or the softmax by more than BEND, where they bend too sharply for
        fourth-order differences at that step."""
        point = np.array(point, dtype=float)
        loss = lambda p: self.tail(layer, role, p)[0]  # noqa: E731
        relu = np.concatenate([np.full(self.sizes[l + 1], self.kinds[l] == "relu") for l in range(layer, self.depth)])
        base = self.tail(layer, role, point)[1]
        kinks = np.full(point.shape, np.nan)  # NaN: not compared
        for position, h in np.ndenumerate(np.minimum(FD_STEP * np.maximum(1.0, np.abs(point)), FD_MAX_STEP)):
            reached = [self.tail(layer, role, _moved(point, position, k * h))[1] for k in OFFSETS]
            if all(_steady(z, base, relu) for z in reached):
                kinks[position] = point[position]  # distance 0: compared
        self.skipped[(layer, role)] = (int(np.isnan(kinks).sum()), kinks.size)
        return GradientCheck(loss, point, None if not np.isnan(kinks).any() else kinks)


def _steady(z, base, relu) -> bool:
    """No ReLU input changes sign, and no other z moves by more than BEND."""
    with np.errstate(invalid="ignore"):
        return bool(np.array_equal(z[relu] > 0, base[relu] > 0) and np.all(np.abs(z[~relu] - base[~relu]) <= BEND))


def _moved(point, position, step):
    moved = point.copy()
    moved[position] += step
    return moved


def _text(value) -> str:
    """A value in the input syntax (rows split by ;)."""
    rows = np.atleast_2d(np.asarray(value, float))
    return ";".join(",".join(f"{v + 0.0:.10g}" for v in row) for row in rows)


def _option_sizes(sizes) -> str:
    return ",".join(map(str, sizes))


def _sizes(given: dict) -> list[int]:
    sizes = list(given["sizes"].value)
    if not 2 <= len(sizes) <= MAX_LAYERS + 1:
        raise InputError(_("--sizes: '{text}' gives {n} sizes; expected 2 to {most} (input, hidden layers, output), e.g. 2,2,2").format(
            text=given["sizes"].text, n=len(sizes), most=MAX_LAYERS + 1))
    count = sum(a * b for a, b in zip(sizes[1:], sizes[:-1]))
    if count > MAX_PARAMETERS:
        raise InputError(_("--sizes: '{text}' has {count} weights; at most {most} keep the finite-difference checks quick").format(
            text=given["sizes"].text, count=count, most=MAX_PARAMETERS))
    return sizes


def _kinds(given: dict, depth: int, loss: str) -> list[str]:
    """One activation per layer from --activation; 'linear' for the logits of ce's output layer."""
    tokens = [token.strip() for token in given["activation"].value.split(",")]
    named = depth - 1 if loss == "ce" else depth
    for token in tokens:
        if token not in act.KINDS:
            raise InputError(_("--activation: '{token}' is not one of {kinds} (one name for every layer, or one per layer separated by commas)").format(
                token=token, kinds=", ".join(act.KINDS)))
    if len(tokens) != 1 and len(tokens) != named:
        why = _(" (with --loss ce the output layer has the softmax)") if loss == "ce" else ""
        expected = _("1 or {named}, one per layer").format(named=named) if named > 1 else "1"
        raise InputError(_("--activation: '{text}' names {n} activations; expected {expected}{why}").format(
            text=given["activation"].value, n=len(tokens), expected=expected, why=why))
    kinds = tokens * named if len(tokens) == 1 else tokens
    return kinds + (["linear"] if loss == "ce" else [])


def _unexpected(given: dict, depth: int, bias: bool) -> None:
    """Options for layers the network does not have, or biases with --bias off."""
    for layer in range(1, TYPED + 1):
        for kind in ("w", "b"):
            if given[f"{kind}{layer}"].value is None:
                continue
            if layer > depth:
                raise InputError(_("--{kind}{layer}: the network of --sizes {sizes} has {depth} layers; remove --{kind}{layer} or add a size").format(
                    kind=kind, layer=layer, sizes=_option_sizes(given["sizes"].value), depth=depth))
            if kind == "b" and not bias:
                raise InputError(_("--b{layer}: --bias off makes a network without biases; remove --b{layer} or use --bias on").format(layer=layer))


class Filler:
    """Values for what was not typed: drawn with --seed, else Mazur's (at 2,2,2) or a fixed pattern."""

    def __init__(self, seed, mazur: bool):
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.mazur = mazur

    def draw(self, shape, low=-1.0, high=1.0):
        return np.round(self.rng.uniform(low, high, shape), 2) + 0.0

    def weights(self, layer: int, shape) -> tuple:
        if self.rng is not None:
            return self.draw(shape), "seed"
        if self.mazur:
            return np.array(MAZUR["W"][layer - 1]), "default"
        i, j = np.indices(shape)
        return np.round(0.3 * np.sin(1 + 1.3 * i + 2.1 * j + layer), 2) + 0.0, "default"

    def biases(self, layer: int, size: int) -> tuple:
        if self.rng is not None:
            return self.draw(size), "seed"
        return (np.array(MAZUR["b"][layer - 1]) if self.mazur else np.full(size, 0.1)), "default"


def _typed(given: dict, name: str, option: str, shape: tuple, where: str):
    """The typed value of `name` as an array of `shape`, or an InputError naming the shape expected."""
    value = np.array(given[name].value, dtype=float)
    if value.shape == shape:
        return value
    if len(shape) == 2:
        got = _("a {rows}x{cols} matrix").format(rows=value.shape[0], cols=value.shape[1])
        want = _("a {rows}x{cols} matrix").format(rows=shape[0], cols=shape[1])
    else:
        got = _("{n} entries").format(n=value.size) if value.size != 1 else _("1 entry")
        want = _("a vector of length {n}").format(n=shape[0])
    raise InputError(_("{option}: got {got} in '{text}'; expected {want}, {where} for --sizes {sizes}").format(
        option=option, got=got, text=given[name].text, want=want, where=where, sizes=_option_sizes(given["sizes"].value)))


def _parameters(given: dict, sizes: list[int], bias: bool, filler: Filler) -> tuple:
    """(weights, biases or None, their sources) of every layer."""
    Ws, bs, sources = [], [], {}
    for layer in range(1, len(sizes)):
        shape = (sizes[layer], sizes[layer - 1])
        for kind, shaped, fill in (("w", shape, filler.weights), ("b", (sizes[layer],), filler.biases)):
            if kind == "b" and not bias:
                continue
            name = f"{kind}{layer}"
            if layer <= TYPED and given[name].value is not None:
                where = _("(out, in) = (n{a}, n{b})").format(a=layer, b=layer - 1) if kind == "w" else _("one bias per neuron of layer {l}").format(l=layer)
                value, source = _typed(given, name, f"--{name}", shaped, where), given[name]
            else:
                value, origin = fill(layer, shaped if kind == "w" else sizes[layer])
                source = Source(_text(value), origin)
            (Ws if kind == "w" else bs).append(value)
            sources[name] = source
    return Ws, (bs if bias else None), sources


def _vector(given: dict, name: str, size: int, filler: Filler, fill) -> tuple:
    """x or the target: typed, drawn with --seed, the default at its size, or `fill`."""
    item = given[name]
    if name == "target" and item.origin != "default" and given["loss_kind"].value == "ce" and len(item.value) == 1 and size > 1:
        return _class_index(item, size), item
    if item.origin != "default":
        where = _("the first size") if name == "x" else _("the last size (or a class index with --loss ce)")
        return _typed(given, name, f"--{name}", (size,), where), item
    if filler.rng is not None:
        value = fill(size, True)
        return value, Source(_text(value), "seed")
    if len(item.value) == size:
        return np.array(item.value, float), item
    value = fill(size, False)
    return value, Source(_text(value), "default")


def _fill_x(filler: Filler):
    return lambda size, seeded: filler.draw(size) if seeded else (np.arange(size) % 5 + 1) / 10


def _fill_target(filler: Filler, loss: str):
    def fill(size, seeded):
        if not seeded:
            return np.eye(size)[size - 1]
        if loss == "ce":
            weights = filler.rng.integers(1, 10, size)
            return weights / weights.sum()
        return filler.draw(size, 0.0, 1.0)
    return fill


def _class_index(item, size: int) -> np.ndarray:
    """A class index typed as the ce target, as a one-hot vector."""
    c = item.value[0]
    if c != int(c) or not 0 <= c < size:
        raise InputError(_("--target: '{text}' is neither a class index from 0 to {last} nor {n} probabilities").format(
            text=item.text, last=size - 1, n=size))
    return np.eye(size)[int(c)]


def _check_target(value: np.ndarray, loss: str, source) -> None:
    """The ce target must be a distribution: y - t is the gradient only when t sums to 1."""
    if loss == "ce" and (np.any(value < 0) or abs(np.sum(value) - 1) > 1e-12):
        raise InputError(_("--target: '{text}' is not a probability vector (numbers >= 0 summing to 1, e.g. 0.1,0.9) nor a class index, as --loss ce needs").format(
            text=source.text))


def network(given: dict, seed) -> tuple:
    """(Network, sources of every number by input name), or an InputError naming the option."""
    sizes, loss, bias = _sizes(given), given["loss_kind"].value, given["bias"].value == "on"
    depth = len(sizes) - 1
    kinds = _kinds(given, depth, loss)
    _unexpected(given, depth, bias)
    filler = Filler(seed, sizes == [2, 2, 2])
    x, x_source = _vector(given, "x", sizes[0], filler, _fill_x(filler))
    Ws, bs, sources = _parameters(given, sizes, bias, filler)
    target, t_source = _vector(given, "target", sizes[-1], filler, _fill_target(filler, loss))
    _check_target(target, loss, t_source)
    sources.update(x=x_source, target=t_source)
    return Network(sizes, kinds, loss, x, target, Ws, bs), sources


# ---- symbols --------------------------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def up(layer: int) -> str:
    """The layer as a superscript: ⁽¹⁾."""
    return f"⁽{str(layer).translate(_SUPERSCRIPTS)}⁾"


def named(plain: str, letter: str, layer: int, latex: str = "", prime: str = "") -> tuple[str, str, str]:
    """(plain, Unicode, LaTeX) of `letter` at layer `layer`: ("z1", "z⁽¹⁾", "z^{(1)}"), primed if asked."""
    latex = latex or letter
    tick = "′" if prime else ""
    return plain, f"{letter}{up(layer)}{tick}", f"{{{latex}^{{({layer}){prime}}}}}"


def size_symbol(d: Derivation, layer: int) -> sp.Symbol:
    """n_l, the size of layer l (n₀ that of the input)."""
    return d.name(sp.Symbol(f"n{layer}", integer=True, positive=True), f"n{str(layer).translate(_SUBSCRIPTS)}", f"n_{{{layer}}}")


# ---- the story ------------------------------------------------------------------------------


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the forward pass, the loss, the backward pass, the update and the loss after."""
    net, sources = network(given, d.seed)
    h = _record(d, given, net, sources)
    mazur = _is_mazur(net, h["lr"].value)
    layers, h["a"], output = _forward(d, net, h, mazur)
    loss = _loss(d, net, h, output)
    grads = _backward(d, net, h, layers, output, loss)
    news = _update(d, net, h, layers, grads, mazur)
    _after(d, net, h, news, loss)


def _record(d: Derivation, given: dict, net: Network, sources: dict) -> dict:
    """Every input, with where it came from; returns the handles by name (W and b as lists)."""
    d.given("sizes", sp.Symbol("sizes"), list(net.sizes), given["sizes"], _("layer sizes from the input to the output"))
    h = {"x": d.given("x", sp.IndexedBase("x"), net.x, sources["x"], _("input a⁽⁰⁾"))}
    h["W"], h["b"] = [], []
    for layer in range(1, net.depth + 1):
        W = d.name(sp.IndexedBase(f"W{layer}"), *named(f"W{layer}", "W", layer)[1:])
        h["W"].append(d.given(f"w{layer}", W, net.Ws[layer - 1], sources[f"w{layer}"], _("weights of layer {l}, (out, in)").format(l=layer)))
        if net.bs is not None:
            b = d.name(sp.IndexedBase(f"b{layer}"), *named(f"b{layer}", "b", layer)[1:])
            h["b"].append(d.given(f"b{layer}", b, net.bs[layer - 1], sources[f"b{layer}"], _("biases of layer {l}").format(l=layer)))
        else:
            h["b"].append(None)
    h["t"] = d.given("target", sp.IndexedBase("t"), net.target, sources["target"], _("target t"))
    h["lr"] = d.given("lr", d.name(sp.Symbol("eta"), "η", r"\eta"), float(given["lr"].value), given["lr"], _("learning rate η"), var="lr")
    h["n"] = [size_symbol(d, layer) for layer in range(net.depth + 1)]
    return h


def _is_mazur(net: Network, lr: float) -> bool:
    """Whether the numbers are Mazur's example (with per-neuron biases), his η = 0.5 included:
    the notes that name his numbers hold only then."""
    return (lr == MAZUR["lr"] and net.sizes == [2, 2, 2] and net.bs is not None and net.kinds == ["sigmoid", "sigmoid"] and net.loss == "half-sse"
            and np.allclose(net.x, MAZUR["x"]) and np.allclose(net.target, MAZUR["target"])
            and all(np.allclose(W, M) for W, M in zip(net.Ws, MAZUR["W"])) and all(np.allclose(b, M) for b, M in zip(net.bs, MAZUR["b"])))


def _forward(d: Derivation, net: Network, h: dict, mazur: bool) -> tuple:
    """Sections forward, layer by layer; returns the dense layers, the activation steps and
    the output handle (the activation a⁽ᴸ⁾, or the softmax of ce)."""
    layers, acts, a = [], [], h["x"]
    for layer in range(1, net.depth + 1):
        kind = net.kinds[layer - 1]
        d.section(_("Forward, layer {l} of {L}").format(l=layer, L=net.depth), _forward_text(net, layer, mazur))
        layers.append(dense.forward(d, h["W"][layer - 1], a, h["b"][layer - 1], at=f"l{layer}.",
                                    names={"z": named(f"z{layer}", "z", layer)}, count={"out": h["n"][layer], "in": h["n"][layer - 1]}))
        if kind == "linear":
            return layers, acts, softmax_ce.softmax(d, layers[-1].z, count=h["n"][layer])
        a = act.activate(d, layers[-1].z, kind, at=f"l{layer}.", names={"a": named(f"a{layer}", "a", layer)})
        acts.append(a)
    return layers, acts, a


def _forward_text(net: Network, layer: int, mazur: bool) -> str:
    """What layer `layer` computes, with its sizes; the whole network's setup before layer 1."""
    l, kind = up(layer), net.kinds[layer - 1]
    inner = "x" if layer == 1 else f"a{up(layer - 1)}"
    bias = f" + b{l}" if net.bs is not None else ""
    n_in, n_out = net.sizes[layer - 1], net.sizes[layer]
    inputs = _("1 input") if n_in == 1 else _("{n} inputs").format(n=n_in)
    text = _("{inputs} to {n_out} {neurons}: z{l} = W{l} {inner}{bias}, W{l} of shape ({n_out}, {n_in}), then a{l} = {kind}(z{l}).").format(
        inputs=inputs, n_in=n_in, n_out=n_out, neurons=_("neuron") if n_out == 1 else _("neurons"), l=l, inner=inner, bias=bias, kind=kind)
    if kind == "linear":
        text = _("{inputs} to {n_out} logits z{l} = W{l} {inner}{bias}, with no activation of their own: --loss ce puts a softmax on them, as PyTorch's CrossEntropyLoss takes logits.").format(
            inputs=inputs, n_out=n_out, l=l, inner=inner, bias=bias)
    if layer == 1:
        text = _setup_text(net, mazur) + " " + text
    return text


def _setup_text(net: Network, mazur: bool) -> str:
    kinds = [k for k in net.kinds if k != "linear"]
    text = _("A network of sizes {sizes} ({depth} layers), {kinds}, loss {loss}, {bias}.").format(
        sizes="-".join(map(str, net.sizes)), depth=net.depth, loss=net.loss,
        kinds=(_("{kind} on every layer").format(kind=kinds[0]) if len(set(kinds)) == 1 else ", ".join(kinds)) if kinds else _("no hidden layer"),
        bias=_("a bias per neuron") if net.bs is not None else _("no biases"))
    if net.depth > TYPED:
        text += " " + _("Layers past the fifth have no --w/--b options: their numbers come from --seed or the fixed pattern.")
    if mazur:
        text += " " + _("The numbers are Matt Mazur's \"A Step by Step Backpropagation Example\" (2015): inputs 0.05, 0.10; his weights w1..w4 = 0.15, 0.20, 0.25, 0.30 are W⁽¹⁾ row by row (w1 = W⁽¹⁾₀₀, w2 = W⁽¹⁾₀₁: indices count from 0) and w5..w8 = 0.40, 0.45, 0.50, 0.55 are W⁽²⁾; biases 0.35 and 0.60, η = 0.5.")
    return text


def _loss(d: Derivation, net: Network, h: dict, output):
    """Section loss: the squared error and its gradient by the output, or ce's log-softmax and loss."""
    d.section(_("Loss"), _("How far the output is from the target t."))
    if net.loss == "ce":
        return softmax_ce.cross_entropy(d, output, h["t"])
    return losses.squared_error(d, output, h["t"], net.loss, count=h["n"][-1])


def _backward(d: Derivation, net: Network, h: dict, layers: list, output, loss) -> list:
    """Sections backward, from the output layer down: each layer's delta, ∂L/∂W, ∂L/∂b and
    (but for the first layer) ∂L/∂a of the layer below. Returns the gradients, layer 1 first."""
    grads, upstream = [None] * net.depth, None if net.loss == "ce" else loss.gradient
    for layer in range(net.depth, 0, -1):
        d.section(_("Backward, layer {l}").format(l=layer), _backward_text(net, layer))
        dl = layers[layer - 1]
        delta = _delta(d, net, h, dl, layer, output, loss, upstream)
        checks = {role: net.check(layer - 1, role, value) for role, value in
                  (("W", dl.W.value), ("b", None if dl.b is None else dl.b.value), ("x", dl.x.value)) if value is not None and (role != "x" or layer > 1)}
        grads[layer - 1] = dense.backward(d, dl, delta, at=f"l{layer}.", checks=checks, input_grad=layer > 1)
        for role, step in (("W", grads[layer - 1].W), ("b", grads[layer - 1].b), ("x", grads[layer - 1].x)):
            if step is not None:
                step.notes += _skip_note(net, layer - 1, role)
        upstream = grads[layer - 1].x
    return grads


def _backward_text(net: Network, layer: int) -> str:
    """Where δ of this layer comes from, and which products follow, in this layer's symbols:
    the first layer passes nothing further down (x is the input)."""
    l, kind = up(layer), net.kinds[layer - 1]
    if kind == "linear":
        delta = _("With softmax and cross-entropy the chain rule through the softmax collapses: δ{l} = ∂L/∂z{l} = y - t (the target sums to 1).").format(l=l)
    elif layer == net.depth:
        delta = _("δ{l} = ∂L/∂a{l} ⊙ {prime}{l}: the gradient of the loss by the output times the slope of the activation, element by element.").format(
            l=l, prime=PRIMES[kind])
    else:
        delta = _("The gradient ∂L/∂a{l} arrives from layer {above}; δ{l} = ∂L/∂a{l} ⊙ {prime}{l}.").format(l=l, above=layer + 1, prime=PRIMES[kind])
    bias = f", ∂L/∂b{l} = δ{l}" if net.bs is not None else ""
    if layer > 1:
        products = _("Then ∂L/∂W{l} = δ{l} {inner}ᵀ{bias}, and ∂L/∂{inner} = W{l}ᵀ δ{l} goes to the layer below.").format(
            l=l, inner=f"a{up(layer - 1)}", bias=bias)
    else:
        products = _("Then ∂L/∂W{l} = δ{l} xᵀ{bias}; x is the input, so nothing goes further down.").format(l=l, bias=bias)
    return delta + " " + products


def _delta(d: Derivation, net: Network, h: dict, dl, layer: int, output, loss, upstream):
    """δ⁽ˡ⁾: y - t for ce's output layer, else ∂L/∂a⁽ˡ⁾ ⊙ f'(z⁽ˡ⁾), checked by the whole loss by z⁽ˡ⁾."""
    delta_name = named(f"delta{layer}", "δ", layer, r"\delta")
    if net.kinds[layer - 1] == "linear":
        return softmax_ce.gradient(d, output, h["t"], loss, names={"dL_do": delta_name})
    kind = net.kinds[layer - 1]
    prime = act.derivative(d, dl.z, h["a"][layer - 1], kind, at=f"l{layer}.",
                           names={"da": (f"fp{layer}", f"{PRIMES[kind]}{up(layer)}", rf"{{{kind_latex(kind)}'}}^{{({layer})}}")})
    delta = act.delta(d, upstream, dl.z, prime, kind, at=f"l{layer}.", names={"delta": delta_name},
                      check=net.check(layer - 1, "z", dl.z.value))
    delta.notes += _skip_note(net, layer - 1, "z")
    return delta


def _skip_note(net: Network, layer: int, role: str) -> tuple[str, ...]:
    """Which entries the finite differences of the whole loss leave out, and why (computed)."""
    skipped, count = net.skipped.get((layer, role), (0, 0))
    if not skipped:
        return ()
    return (Caution(_("{skipped} of {count} entries are not compared with finite differences of the whole loss: a difference step in them would cross a ReLU kink (some z changes sign) or move some z by more than {bend}, where σ, tanh and softmax bend too sharply for the differences").format(
        skipped=skipped, count=count, bend=BEND)),)


def kind_latex(kind: str) -> str:
    return {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{ReLU}"}[kind]


def _update(d: Derivation, net: Network, h: dict, layers: list, grads: list, mazur: bool) -> list:
    """Section update: every weight and bias moves by -η times its gradient."""
    d.section(_("Update"), _update_text(net, h, grads, mazur))
    return [dense.update_layer(d, layers[l], grads[l], h["lr"], at=f"l{l + 1}.") for l in range(net.depth)]


def _update_text(net: Network, h: dict, grads: list, mazur: bool) -> str:
    text = _("Gradient descent with learning rate η: W′ = W - η ∂L/∂W for every layer.")
    if net.bs is None:
        return text + " " + _("The network has no biases (--bias off).")
    text += " " + _("Each neuron has its own bias, updated with the weights: b′ = b - η ∂L/∂b.")
    if mazur:
        lr = h["lr"].value
        kept = Network(net.sizes, net.kinds, net.loss, net.x, net.target, [W - lr * g.W.value for W, g in zip(net.Ws, grads)], net.bs)
        text += " " + _("Mazur's post shares one bias per layer (0.35 and 0.60) and leaves it unchanged. This step's weight gradients do not depend on that choice, so the weights below are his (w5⁺ = 0.35891648 is W⁽²⁾′₀₀, w1⁺ = 0.149780716 is W⁽¹⁾′₀₀, …); the loss after differs: with the biases left unchanged it would be {kept:.9f} (the post prints 0.291027924, but its own rounded weights give {kept:.9f} too), with them updated it is L′ below.").format(
            kept=kept.loss_of(_output(kept)))
    return text


def _output(net: Network):
    """The output of `net` (logits for ce)."""
    return net.activate(net.depth - 1, net.Ws[-1] @ net.inputs[-1] + net._bias(net.bs, net.depth - 1))


def _after(d: Derivation, net: Network, h: dict, news: list, loss) -> None:
    """Section loss after: the forward pass with the new weights, the new loss and the change."""
    d.section(_("Loss after the update"), _("The same forward pass with the updated weights and biases."))
    a = h["x"]
    for layer in range(1, net.depth + 1):
        new = news[layer - 1]
        z = dense.forward(d, new.W, a, new.b, at=f"after.l{layer}.", names={"z": named(f"z{layer}_new", "z", layer, prime="'")},
                          count={"out": h["n"][layer], "in": h["n"][layer - 1]}).z
        if net.kinds[layer - 1] == "linear":
            after = _after_ce(d, h, z)
            break
        a = act.activate(d, z, net.kinds[layer - 1], at=f"after.l{layer}.", names={"a": named(f"a{layer}_new", "a", layer, prime="'")})
    else:
        after = _after_squared(d, net, h, a, loss)
    _change(d, loss, after)


def _after_ce(d: Derivation, h: dict, z):
    sm = softmax_ce.softmax(d, z, at="after.", count=h["n"][-1], names={"m": ("m_new", "m′", "m'"), "u": ("u_new", "u′", "u'"),
                                                                        "S": ("S_new", "S′", "S'"), "y": ("y_new", "y′", "y'")})
    return softmax_ce.cross_entropy(d, sm, h["t"], at="after.", names={"log_y": ("log_y_new", "log y′", r"\log y'"), "L": ("L_new", "L′", "L'")})


def _after_squared(d: Derivation, net: Network, h: dict, a, loss):
    """Step after.loss: the squared error of the new output, the loss's own formula with a⁽ᴸ⁾′."""
    old = loss.loss
    formula = old.formula.xreplace({h["a"][-1].symbol: a.symbol})
    code = {"half-sse": "0.5 * np.sum(({t} - {o}) ** 2)", "sse": "np.sum(({t} - {o}) ** 2)", "mse": "np.mean(({t} - {o}) ** 2)"}[net.loss]
    return d.step("after.loss", _("Loss after the update"), symbol=d.name(sp.Symbol("L_new"), "L′", "L'"), formula=formula,
                  value=losses.squared_error_value(net.loss, a.value, net.target), var="L_new",
                  code="L_new = " + code.format(t=h["t"].var, o=a.var), concept=f"losses.{net.loss}", substitute=True)


def _change(d: Derivation, loss, after) -> None:
    """Step change: L′ - L, with a note on what it means (computed)."""
    old = getattr(loss, "loss", loss)  # the losses block's Loss, or ce's loss step
    change = after.value - old.value
    d.step("change", _("Change of the loss"), symbol=d.name(sp.Symbol("Delta_L"), "ΔL", r"\Delta L"),
           formula=sp.Add(after.symbol, -old.symbol, evaluate=False), value=change, code=f"Delta_L = {after.var} - {old.var}", substitute=True,
           concept="backprop.change", notes=(_change_note(old.value, change),))


def _change_note(before: float, change: float) -> str:
    if change < 0:
        return _("the loss fell by {drop:.4g} ({share:.3g}% of {before:.4g}): one step downhill").format(
            drop=-change, share=100 * -change / before, before=before)
    if change > 0:
        return Caution(_("the loss rose by {rise:.4g}: the step overshoots the minimum along the gradient (a smaller --lr would help)").format(rise=change))
    return Caution(_("the loss did not change: every gradient is 0 here (or too small to move it in float64)"))
