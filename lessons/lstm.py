"""An LSTM cell: one time step (the lecture's) or T steps, forward and backward.

Follows Deep Learning 101 #5 (LSTM, 초보자를 위한 안내서) and #6, in their order. Hidden
size 2, input size 3, one time step, no biases, five weight matrices:

    z_t = [h_{t-1}; x_t]                 (h first: the first H columns of each W act on h)
    f_t = σ(W_f z_t), i_t = σ(W_i z_t), C̃_t = tanh(W_c z_t), o_t = σ(W_o z_t)
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t,    h_t = o_t ⊙ tanh C_t
    g_t = W_y h_t, ŷ_t = softmax(g_t),   L = -Σ_t log ŷ_t[target_t]

Backward in the lecture's order: ∂L/∂g = ŷ - y → W_y → ∂L/∂h → W_o (the Jacobian of the
element-wise product h = o ⊙ tanh C is diag(tanh C): only tanh C remains) → ∂L/∂C → W_f,
W_i, W_c. With several rows of --x (T > 1, beyond the lecture) the gradients are carried
back through time and summed over t, and the additive path through C is compared with a
squashed one. The math is the `lstm` block's; this module tells the lecture's story.

C_{t-1} and h_{t-1} default to non-zero values: with C_{t-1} = 0 the forget gate's
gradient ∂L/∂f = ∂L/∂C ⊙ C_{t-1} would vanish. The weights default to the fixed example
below at the lecture's sizes; at other sizes, or with --seed, they are drawn (uniform in
[-0.5, 0.5], two decimals) with the seed (0 without one). Every weight can be typed.
"""

from types import SimpleNamespace

import numpy as np
import sympy as sp

from dlsteps.blocks import lstm
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Derivation, GradientCheck

EXAMPLE_W = {
    "wf": "0.1,0.2,0.3,0.4,0.5;0.4,0.1,-0.2,0.3,0.5",
    "wi": "0.2,-0.1,0.4,0.3,0.2;0.1,0.3,-0.2,0.4,0.1",
    "wc": "0.3,-0.1,0.2,0.5,-0.2;-0.4,0.2,0.1,0.3,0.2",
    "wo": "0.1,0.3,0.5,0.2,0.4;0.2,0.2,0.1,0.4,0.3",
    "wy": "0.5,-0.3;0.2,0.4;-0.4,0.1",
}
GATE_OF = {"wf": "f", "wi": "i", "wc": "c", "wo": "o"}
SHOWN = {"h0": ("h₍₋₁₎", "h_{(-1)}"), "C0": ("C₍₋₁₎", "C_{(-1)}"), "W_y": ("Wʸ", "W^{y}"), "b_y": ("bʸ", "b^{y}"),
         **{f"W_{g}": (f"W{lstm.MARK[g][0]}", f"W^{{{lstm.MARK[g][1]}}}") for g in lstm.GATES},
         **{f"b_{g}": (f"b{lstm.MARK[g][0]}", f"b^{{{lstm.MARK[g][1]}}}") for g in lstm.GATES}}
D_IN = sp.Symbol("d_in", integer=True, positive=True)
K_OUT = sp.Symbol("K", integer=True, positive=True)
"""The input size and the number of classes, shown as D and K as the prose and --help name them
(the block's defaults print d and n); d_in sorts after H, so a size reads H + D as in the prose."""
WHOLE_LOSS_WORK = 400
"""Up to this many T·H·(H+D), the weight gradients are checked against finite differences
of the whole loss (rerunning every step); beyond, of their local chain-rule surrogate."""

META = {
    "title": "LSTM: gates, cell state and backpropagation",
    "lecture": "DL101 #5 (LSTM, 초보자를 위한 안내서), #6",
    "summary": "z = h_{t-1} stacked on x_t, forget/input/candidate/output gates, C_t and h_t, softmax, CE; dL/dW for every gate, BPTT",
    "example": "dlsteps lstm --x 0.5,0.1,0.2",
    "inputs": {
        "x": {"shape": "matrix T D", "default": "0.5,0.1,0.2",
              "help": "the inputs x_t, one row per time step (one row = the lecture's single step; more rows go beyond it)"},
        "h0": {"shape": "vector H", "default": "0.3,-0.1", "help": "the previous hidden state h_{t-1} at the first step"},
        "c0": {"shape": "vector H", "default": "0.5,0.2",
               "help": "the previous cell state C_{t-1} at the first step (non-zero: with 0 the forget gate gets no gradient)"},
        "wf": {"shape": "matrix H Z", "default": "", "optional": True,
               "help": "W_f, shape H x (H + D), acting on z = h_{t-1} stacked on x_t, h first (default 0.1,0.2,0.3,0.4,0.5;0.4,0.1,-0.2,0.3,0.5; drawn at other sizes or with --seed)"},
        "wi": {"shape": "matrix H Z", "default": "", "optional": True,
               "help": "W_i, shape H x (H + D), acting on z = h_{t-1} stacked on x_t, h first (default 0.2,-0.1,0.4,0.3,0.2;0.1,0.3,-0.2,0.4,0.1; drawn at other sizes or with --seed)"},
        "wc": {"shape": "matrix H Z", "default": "", "optional": True,
               "help": "W_c, shape H x (H + D), acting on z = h_{t-1} stacked on x_t, h first (default 0.3,-0.1,0.2,0.5,-0.2;-0.4,0.2,0.1,0.3,0.2; drawn at other sizes or with --seed)"},
        "wo": {"shape": "matrix H Z", "default": "", "optional": True,
               "help": "W_o, shape H x (H + D), acting on z = h_{t-1} stacked on x_t, h first (default 0.1,0.3,0.5,0.2,0.4;0.2,0.2,0.1,0.4,0.3; drawn at other sizes or with --seed)"},
        "wy": {"shape": "matrix K H", "default": "", "optional": True,
               "help": "W_y, shape K x H: one row per class (default 0.5,-0.3;0.2,0.4;-0.4,0.1, 3 classes; drawn otherwise)"},
        "target": {"shape": "vector T", "domain": "0..1000", "default": "1", "help": "the true class at each time step, from 0 to K-1"},
        "bias": {"shape": "matrix 4 H", "default": "", "optional": True,
                 "help": "gate biases, rows b_f; b_i; b_c; b_o (no biases unless given, as in the lecture)"},
        "by": {"shape": "vector K", "default": "", "optional": True, "help": "an output bias b_y (none unless given)"},
    },
}


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the forward pass, the loss and the backward pass of the LSTM."""
    x = np.array(given["x"].value, dtype=float)
    inputs, hidden = x.shape[1], len(given["h0"].value)
    weights = {key: _weight(d, given, key, (hidden, hidden + inputs)) for key in ("wf", "wi", "wc", "wo")}
    wy = _weight(d, given, "wy", (None, hidden))
    classes = _classes(given["target"].value, wy.shape[0])
    X = d.given("x", sp.IndexedBase("x"), x, given["x"], _("inputs x_t, one row per step, shape (T, D)"))
    h0 = _given(d, "h0", "h0", np.array(given["h0"].value, float), given["h0"], _("previous hidden state h_{t-1} at t = 0"))
    C0 = _given(d, "c0", "C0", np.array(given["c0"].value, float), given["c0"], _("previous cell state C_{t-1} at t = 0"))
    W = {GATE_OF[key]: _given(d, key, f"W_{GATE_OF[key]}", value, source, _("weights of gate {g}, shape (H, H + D)").format(g=GATE_OF[key]))
         for key, (value, source) in weights.items()}
    Wy = _given(d, "wy", "W_y", wy, _source(given["wy"], wy, d), _("output weights W_y, shape (K, H)"))
    y = _given(d, "target", "y", np.eye(wy.shape[0])[classes], given["target"], _("one-hot targets y_t, one row per step"))
    b = _biases(d, given, hidden)
    by = _output_bias(d, given, wy.shape[0])
    checks = _whole_loss_checks(x, h0.value, C0.value, {g: W[g].value for g in W}, b, wy, by, y.value)
    _story(d, X, h0, C0, W, b, Wy, by, y, checks)


def _story(d, X, h0, C0, W, b, Wy, by, y, checks) -> None:
    d.name(D_IN, "D", "D")
    d.section(_("Forward: stack h_{t-1} on x_t"),
              _("z_t = [h_{t-1}; x_t], h first: it fixes which columns of each W act on h (the first H) and which on x (the last D). Time steps are counted t = 0 … T-1 as in code; h_{-1} and C_{-1} are the given previous states. No biases unless --bias is given. Weights have shape (out, in) as in PyTorch."))
    sections = {"gates": (_("Forward: the forget, input and candidate gates"), _("Each gate is a weighted sum of z_t put through σ (a gate in (0, 1)) or tanh (the candidate, in (-1, 1)).")),
                "state": (_("Forward: cell state, output gate, hidden state"), _("C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t and h_t = o_t ⊙ tanh C_t, element by element."))}
    cell = lstm.forward(d, X, h0, C0, W, b, count={"D": D_IN}, stage=lambda name: name in sections and d.section(*sections[name]))
    d.section(_("Output: logits, softmax and cross-entropy"), _("g_t = W_y h_t, ŷ_t = softmax(g_t); the loss is the cross-entropy with the one-hot target, summed over the steps."))
    ro = lstm.readout(d, cell, Wy, y, by, classes=K_OUT)
    d.section(_("Backward: ∂L/∂g = ŷ - y, then W_y"), _("The lecture's order: first the output layer, then the output gate, then the cell state and the other three gates."))
    out = lstm.readout_backward(d, ro)
    back = {"h": (_("Backward: through h_t to W_o"), _("∂L/∂W_o = ∂L/∂h · ∂h/∂o · ∂o/∂W_o: the middle factor is the Jacobian of an element-wise product.")),
            "C": (_("Backward: to the cell state C_t"), _("h_t = o_t ⊙ tanh C_t, and C_t also flows on to C_{t+1}.")),
            "f": (_("Backward: the forget gate W_f"), _("∂L/∂f_t = ∂L/∂C_t ⊙ C_{t-1}, then σ', then Σ_t δ z_tᵀ.")),
            "i": (_("Backward: the input gate W_i"), _("∂L/∂i_t = ∂L/∂C_t ⊙ C̃_t, then σ', then Σ_t δ z_tᵀ.")),
            "c": (_("Backward: the candidate W_c"), _("∂L/∂C̃_t = ∂L/∂C_t ⊙ i_t, then tanh', then Σ_t δ z_tᵀ.")),
            "time": (_("Back through time (beyond the lecture when T > 1)"),
                     _("What step t sends back to step t-1: ∂L/∂h_{t-1} (through z_t) and ∂L/∂C_{t-1} (through f_t). The lecture stops at one step; with T = 1 these are the gradients at the given previous states."))}
    grads = lstm.backward(d, cell, out.h, checks=checks, stage=lambda name: name in back and d.section(*back[name]))
    grads.dh.explanation = _("h_t feeds step t's own output (∂ℓ/∂h_t) and, through z_{t+1} = [h_t; x_{t+1}], the next step: the first H entries of ∂L/∂z_{t+1}. At the last step t = T-1 nothing follows, so with T = 1 this is just ∂ℓ/∂h.")
    d.section(_("Why the cell state keeps gradients alive (beyond the lecture)"),
              _("Back through time along the cell, C_{t+1} = f_{t+1} ⊙ C_t + …, the gradient at C is multiplied by f at every step and by nothing else; a state squashed by tanh at every step, as an RNN's is, also picks up 1 - tanh² ≤ 1 each time."))
    lstm.cell_path(d, cell)


def _given(d: Derivation, name: str, symbol: str, value, source, description: str):
    if symbol in SHOWN:
        d.name(sp.Symbol(symbol), *SHOWN[symbol])
    return d.given(name, sp.IndexedBase(symbol), value, source, description, var=symbol)


def _text(value: np.ndarray) -> str:
    rows = np.atleast_2d(value)
    return ";".join(",".join(f"{v:g}" for v in row) for row in rows)


def _source(source, value: np.ndarray, d: Derivation):
    """The typed source, or one that shows the numbers the lesson filled in."""
    if source.value is not None:
        return source
    origin = "default" if d.seed is None and _is_example(value) else "seed"
    return SimpleNamespace(text=_text(value), origin=origin)


def _is_example(value: np.ndarray) -> bool:
    return any(_text(value) == _text(np.array([[float(v) for v in row.split(",")] for row in text.split(";")])) for text in EXAMPLE_W.values())


def _weight(d: Derivation, given: dict, key: str, shape: tuple):
    """A typed weight matrix (shape checked), or the example at the lecture's sizes, or drawn."""
    value = given[key].value
    if value is not None:
        value = np.array(value, dtype=float)
        if value.shape[1] != shape[1] or (shape[0] is not None and value.shape[0] != shape[0]):
            rows = shape[0] if shape[0] is not None else "K"
            raise InputError(_("{option}: got a {r}x{c} matrix; expected {rows}x{cols} (H = len(--h0), H + D = len(--h0) + columns of --x)").format(
                option="--" + key, r=value.shape[0], c=value.shape[1], rows=rows, cols=shape[1]))
        return value if key == "wy" else (value, given[key])
    value = _filled(d, key, shape)
    return value if key == "wy" else (value, _source(given[key], value, d))


def _filled(d: Derivation, key: str, shape: tuple) -> np.ndarray:
    example = np.array([[float(v) for v in row.split(",")] for row in EXAMPLE_W[key].split(";")])
    rows = shape[0] if shape[0] is not None else example.shape[0]
    if d.seed is None and example.shape == (rows, shape[1]):
        return example
    rng = np.random.default_rng([d.seed or 0, list(EXAMPLE_W).index(key)])
    return np.round(rng.uniform(-0.5, 0.5, size=(rows, shape[1])), 2)


def _classes(target, count: int) -> list[int]:
    classes = [int(c) for c in target]
    if max(classes) >= count:
        raise InputError(_("--target: class {c} is not a class of W_y; expected whole numbers from 0 to {last} (W_y has {k} rows)").format(
            c=max(classes), last=count - 1, k=count))
    return classes


def _biases(d: Derivation, given: dict, hidden: int) -> dict | None:
    value = given["bias"].value
    if value is None:
        return None
    value = np.array(value, dtype=float)
    if value.shape[0] != 4:
        raise InputError(_("--bias: got {r} rows; expected 4 rows b_f; b_i; b_c; b_o of length H").format(r=value.shape[0]))
    return {g: _given(d, f"b_{g}", f"b_{g}", value[row], SimpleNamespace(text=_text(value[row]), origin=given["bias"].origin),
                      _("bias of gate {g}").format(g=g)) for row, g in enumerate(lstm.GATES)}


def _output_bias(d: Derivation, given: dict, count: int):
    value = given["by"].value
    if value is None:
        return None
    if len(value) != count:
        raise InputError(_("--by: got {n} entries; expected {k}, one per row of W_y").format(n=len(value), k=count))
    return _given(d, "by", "b_y", np.array(value, float), given["by"], _("output bias b_y"))


def whole_loss(x, h0, C0, W: dict, b, Wy, by, y) -> float:
    """The lesson's loss from scratch: the cell over every t, the logits, the cross-entropy."""
    states = lstm.run(x, h0, C0, W, b)
    return lstm.cross_entropy_rows(states["h"] @ np.asarray(Wy).T + (0.0 if by is None else by.value), y)


def _whole_loss_checks(x, h0, C0, W: dict, b, Wy, by, y) -> dict:
    """GradientChecks of the whole loss by each W, b, h_{-1} and C_{-1}, where that is cheap."""
    hidden = len(h0)
    if x.shape[0] * hidden * (hidden + x.shape[1]) > WHOLE_LOSS_WORK:
        return {}
    bias = None if b is None else {g: np.asarray(b[g].value) for g in b}
    parts = {"h0": h0, "C0": C0, **{f"W_{g}": W[g] for g in W}, **({f"b_{g}": bias[g] for g in bias} if bias else {})}

    def by_part(key):
        def loss(point):
            p = {**parts, key: point}
            Wp = {g: p[f"W_{g}"] for g in W}
            bp = None if bias is None else {g: p[f"b_{g}"] for g in bias}
            return whole_loss(x, p["h0"], p["C0"], Wp, bp, Wy, by, y)
        return GradientCheck(loss, np.array(parts[key], dtype=float))

    return {key: by_part(key) for key in parts}
