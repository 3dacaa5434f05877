"""A recurrent neural network: forward through time, cross-entropy per step, BPTT, and the
product of Jacobians that makes gradients vanish.

Follows Deep Learning 101 #3 and #4 (순환신경망 RNN) with the lecture code's names: U (input
to hidden), W (hidden to hidden), V (hidden to output); W_xh, W_hh, W_hy are accepted too.
Steps are counted t = 0 .. T-1 from the initial state h_init = h_(-1) (the lecture's h_0):

    a_t = U x_t + W h_(t-1) (+ b),   h_t = tanh(a_t),   o_t = V h_t,   y_t = softmax(o_t)
    ℓ_t = -Σ_k y*_tk log y_tk (y*_t one-hot at the target class c_t),   L = Σ_t ℓ_t

Backpropagation through time, with δ_t = ∂L/∂a_t and δ_T = 0:

    ∂L/∂o_t = y_t - y*_t,   ∂L/∂h_t = Vᵀ ∂L/∂o_t + Wᵀ δ_(t+1),   δ_t = ∂L/∂h_t ⊙ (1 - h_t²)
    ∂L/∂V = Σ_t ∂L/∂o_t h_tᵀ,   ∂L/∂U = Σ_t δ_t x_tᵀ,   ∂L/∂W = Σ_t δ_t h_(t-1)ᵀ,   ∂L/∂b = Σ_t δ_t

Term t of each sum is the gradient of L by the copy of the shared weight used at step t.
Per-step matrices are stored as rows (T, rows × columns): entry (i, j) of step t sits at
column p = i · columns + j, so i = ⌊p / columns⌋ and j = p mod columns. Finally
∂h_t/∂h_(t-1) = diag(1 - h_t²) W, the running product P_t = J_t ⋯ J_0 = ∂h_t/∂h_init and its
Frobenius norm: a product that shrinks over time is the vanishing gradient that #5 (LSTM)
starts from. The softmax, tanh and dense steps follow the softmax_ce, activations and dense
blocks (same concepts) with a time index t added.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks.symbols import D, H, T, i, j, k, l, n, size, t, total
from dlsteps.errors import InputError
from dlsteps.inputs import Given
from dlsteps.i18n import _
from dlsteps.model import Caution, Chart, Derivation, GradientCheck
from dlsteps.symbolic import Maximum, Quotient, Remainder, exponential

META = {
    "title": "Recurrent neural network and backpropagation through time",
    "lecture": "DL101 #3 (순환신경망 RNN), #4",
    "summary": "h_t = tanh(U x_t + W h_t-1), y_t = softmax(V h_t), cross-entropy per step, BPTT term by term, the vanishing Jacobian product",
    "example": 'dlsteps rnn --x "1,0,0;0,1,0;0,0,1;1,0,0" --target 1,2,0,1 --w "0.9,-0.2;0.3,0.8"',
    "inputs": {
        "x": {"shape": "matrix T d", "default": "1,0,0;0,1,0;0,0,1", "help": "the inputs x_t, one row per time step (default: one-hot rows)"},
        "h0": {"shape": "vector H", "default": "0,0", "help": "the initial hidden state h_init (the lecture's h_0)"},
        "target": {"shape": "vector T", "domain": "0..1000", "default": "1,2,0",
                   "help": "the class to predict at each step, from 0 (below the number of rows of V)"},
        "U": {"shape": "matrix H d", "flag": "--u", "default": "", "optional": True,
              "help": "U, input to hidden, shape (H, d) (alias --w-xh); default: fixed small values, or drawn with --seed"},
        "W": {"shape": "matrix H H", "flag": "--w", "default": "", "optional": True,
              "help": "W, hidden to hidden, shape (H, H) (alias --w-hh); default: fixed small values, or drawn with --seed"},
        "V": {"shape": "matrix n H", "flag": "--v", "default": "", "optional": True,
              "help": "V, hidden to output, shape (classes, H) (alias --w-hy); default: as many classes as inputs d"},
        "W_xh": {"shape": "matrix H d", "flag": "--w-xh", "default": "", "optional": True, "help": "another name for U"},
        "W_hh": {"shape": "matrix H H", "flag": "--w-hh", "default": "", "optional": True, "help": "another name for W"},
        "W_hy": {"shape": "matrix n H", "flag": "--w-hy", "default": "", "optional": True, "help": "another name for V"},
        "bias": {"shape": "vector H", "default": "", "optional": True, "help": "a hidden bias b (none by default, as in the lecture)"},
    },
}

DEFAULTS = {"U": [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]], "W": [[0.4, -0.2], [0.3, 0.5]], "V": [[0.6, -0.4], [-0.2, 0.7], [0.3, 0.1]]}
ALIASES = {"U": "W_xh", "W": "W_hh", "V": "W_hy"}
OPTIONS = {"U": "--u", "W": "--w", "V": "--v", "W_xh": "--w-xh", "W_hh": "--w-hh", "W_hy": "--w-hy"}
p = sp.Symbol("p", integer=True, nonnegative=True)
"""The flat entry index of a per-step matrix stored as a row."""


# ----------------------------------------------------------------------------- NumPy
def _at(weight: np.ndarray, step: int) -> np.ndarray:
    """The weight used at `step`: one matrix shared by every step, or one copy per step."""
    return weight[step] if weight.ndim == 3 else weight


def states(x, h_init, U, W, b, shift_a=None, carry=None, shift_h=None, start=0):
    """(h_prev, a, h) of a_t = U x_t + W h_(t-1) + b (+ shift_a[t]), h_t = tanh(a_t) (+ shift_h[t])
    for the steps from `start` on, `h_init` being the state step `start` receives; `carry[t]`,
    if given, is added to the state h_t passed on to step t + 1 only."""
    inputs = (np.einsum("thd,td->th", U[start:], x[start:]) if U.ndim == 3 else x[start:] @ U.T) + b
    prev, a, h = (np.zeros((len(x) - start, len(h_init))) for _copy in range(3))
    state = h_init
    for row, step in enumerate(range(start, len(x))):
        prev[row] = state
        a[row] = inputs[row] + _at(W, step) @ state + (0 if shift_a is None else shift_a[step])
        h[row] = np.tanh(a[row]) + (0 if shift_h is None else shift_h[step])
        state = h[row] + (0 if carry is None else carry[step])
    return prev, a, h


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log y_tk = o_tk - m_t - log Σ_l exp(o_tl - m_t), row by row."""
    shifted = o - o.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def logits_loss(o: np.ndarray, classes: np.ndarray) -> float:
    """L = Σ_t -log y_(t, c_t) as a function of the logits."""
    return float(-log_softmax(o)[np.arange(len(o)), classes].sum())


def whole_loss(parts: dict, start: int = 0, **change) -> float:
    """The summed loss L with some parts changed: weights (or per-step copies), offsets added to
    a or h or to the state carried on (`carry`), or the states the outputs read (`h_out`).
    Steps before `start`, which the change cannot reach, keep their values from the unchanged
    run in `parts` (h, h_prev, ell); V and h_out reach only the outputs."""
    q = {**parts, **change}
    V, c = q["V"], q["c"]
    if set(change) <= {"V", "h_out"}:
        h = q.get("h_out", parts["h"])
        return logits_loss(np.einsum("tki,ti->tk", V, h) if V.ndim == 3 else h @ V.T, c)
    if start >= len(q["x"]):
        return float(parts["ell"].sum())
    _prev, _a, h = states(q["x"], parts["h_prev"][start], q["U"], q["W"], q["b"], q.get("shift_a"), q.get("carry"), q.get("shift_h"), start)
    return float(parts["ell"][:start].sum() + logits_loss(h @ V.T, c[start:]))


def first_row(point: np.ndarray, base: np.ndarray) -> int:
    """The first row where `point` differs from `base` (their length if none)."""
    changed = np.flatnonzero(np.any((point != base).reshape(len(point), -1), axis=1))
    return int(changed[0]) if changed.size else len(point)


def trace(parts: dict) -> dict:
    """Every value of the lesson: forward, loss, BPTT, Jacobians (plain NumPy)."""
    x, U, W, V, c = parts["x"], parts["U"], parts["W"], parts["V"], parts["c"]
    v = dict(zip(("h_prev", "a", "h"), states(x, parts["h_init"], U, W, parts["b"])))
    v["o"] = v["h"] @ V.T
    v["m"] = v["o"].max(axis=1)
    v["log_y"] = log_softmax(v["o"])
    v["y"] = np.exp(v["o"] - v["m"][:, None]) / np.exp(v["o"] - v["m"][:, None]).sum(axis=1, keepdims=True)
    v["y_star"] = np.eye(len(V))[c]
    v["ell"] = -(v["y_star"] * v["log_y"]).sum(axis=1)
    v["dL_do"] = v["y"] - v["y_star"]
    v["g_out"], v["dh_da"] = v["dL_do"] @ V, 1 - v["h"] ** 2
    v["delta_next"], v["delta"] = np.zeros_like(v["h"]), np.zeros_like(v["h"])
    carried = np.zeros(len(W))
    for step in reversed(range(len(x))):
        v["delta_next"][step] = carried
        carried = v["delta"][step] = (v["g_out"][step] + W.T @ carried) * v["dh_da"][step]
    v["g_next"] = v["delta_next"] @ W
    v["J"] = (v["dh_da"][:, :, None] * W[None]).reshape(len(x), -1)
    v["P"] = np.array([m.ravel() for m in running_products(v["J"].reshape(len(x), *W.shape))])
    return v


def running_products(jacobians: np.ndarray) -> list[np.ndarray]:
    """P_t = J_t J_(t-1) ⋯ J_0 for every t."""
    products, running = [], np.eye(jacobians.shape[1])
    for jacobian in jacobians:
        running = jacobian @ running
        products.append(running)
    return products


def outer_rows(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Row t = the outer product left_t right_tᵀ, stored row by row."""
    return (left[:, :, None] * right[:, None, :]).reshape(len(left), -1)


# ----------------------------------------------------------------------------- inputs
def _weight(d: Derivation, given: dict, name: str, shape: tuple, rng: np.random.Generator):
    """The weight `name` from its option or its alias (not both), else fixed or drawn; (value, source)."""
    alias = ALIASES[name]
    typed = [key for key in (name, alias) if given[key].value is not None]
    if len(typed) == 2:
        raise InputError(_("{alias}: {name} is given twice ({option} and {alias} name the same matrix); give one").format(
            alias=OPTIONS[alias], name=name, option=OPTIONS[name]))
    if typed:
        return np.array(given[typed[0]].value, dtype=float), given[typed[0]]
    if d.seed is None and np.shape(DEFAULTS[name]) == shape:
        value = np.array(DEFAULTS[name], dtype=float)
    else:
        value = np.round(rng.uniform(-1, 1, shape), 2)
    text = ";".join(",".join(f"{number:g}" for number in row) for row in value)
    return value, Given(value, text, "seed" if d.seed is not None else "default")


def _classes(given: dict, count: int) -> np.ndarray:
    """The target classes, each below the number of rows of V."""
    classes = np.array(given["target"].value, dtype=int).reshape(-1)
    bad = np.flatnonzero(classes >= count)
    if bad.size:
        raise InputError(_("--target: class {c} at step {t} is not below {n}, the number of rows of V (classes); expected whole numbers from 0 to {last}").format(
            c=classes[bad[0]], t=bad[0], n=count, last=count - 1))
    return classes


def _inputs(d: Derivation, given: dict) -> dict:
    """Record every input (weights filled in where not typed); returns the handles by name."""
    x, h_init = np.array(given["x"].value, dtype=float), np.array(given["h0"].value, dtype=float)
    rng = np.random.default_rng(0 if d.seed is None else d.seed)
    hidden, inputs = len(h_init), x.shape[1]
    U, source_U = _weight(d, given, "U", (hidden, inputs), rng)
    W, source_W = _weight(d, given, "W", (hidden, hidden), rng)
    classes = len(given["V"].value or given["W_hy"].value or []) or inputs
    V, source_V = _weight(d, given, "V", (classes, hidden), rng)
    c = _classes(given, len(V))
    for symbol, count in ((T, len(x)), (D, inputs), (H, hidden), (n, len(V))):
        size(d, symbol, count)
    h = {"x": d.given("x", sp.IndexedBase("x"), x, given["x"], _("inputs, one row per step")),
         "h_init": d.given("h0", d.name(sp.IndexedBase("h_init"), "h_init", r"h^{\mathrm{init}}"), h_init, given["h0"], _("initial state h_(-1)"), var="h_init"),
         "c": d.given("target", sp.IndexedBase("c"), c.tolist(), given["target"], _("target class per step")),
         "U": d.given("U", sp.IndexedBase("U"), U, source_U, _("input to hidden (W_xh)")),
         "W": d.given("W", sp.IndexedBase("W"), W, source_W, _("hidden to hidden (W_hh)")),
         "V": d.given("V", sp.IndexedBase("V"), V, source_V, _("hidden to output (W_hy)"))}
    h["b"] = None if given["bias"].value is None else d.given(
        "bias", sp.IndexedBase("b"), np.array(given["bias"].value, dtype=float), given["bias"], _("hidden bias"), var="b")
    return h


def _parts(h: dict) -> dict:
    """The plain NumPy numbers of the inputs, for `trace` and the loss of the checks."""
    b = np.zeros(len(h["h_init"].value)) if h["b"] is None else h["b"].value
    return {"x": h["x"].value, "h_init": h["h_init"].value, "U": h["U"].value, "W": h["W"].value,
            "V": h["V"].value, "b": b, "c": np.array(h["c"].value, dtype=int)}


def derive(d: Derivation, given: dict) -> None:
    """Fill `d`: forward through time, the loss, BPTT term by term, the Jacobian products."""
    h = _inputs(d, given)
    parts = _parts(h)
    v = trace(parts)
    parts.update(h=v["h"], h_prev=v["h_prev"], ell=v["ell"])
    s = {}
    _forward(d, h, v, s, given)
    _loss(d, h, v, s)
    _output_gradients(d, h, v, s, parts)
    _hidden_gradients(d, h, v, s, parts)
    _weight_gradients(d, h, v, s, parts)
    _jacobians(d, h, v, s)


# ----------------------------------------------------------------------------- forward
def _origin_text(d: Derivation, given: dict, h: dict) -> str:
    """Where the weights that were not typed come from, as `_weight` chose: the fixed values
    at their default shape without --seed, else drawn."""
    filled = [name for name in ("U", "W", "V") if given[name].value is None and given[ALIASES[name]].value is None]
    fixed = [name for name in filled if d.seed is None and np.shape(h[name].value) == np.shape(DEFAULTS[name])]
    drawn = [name for name in filled if name not in fixed]
    hows = ((fixed, _("small fixed values chosen for this lesson (the lecture gives none)")),
            (drawn, _("drawn with NumPy's default_rng({seed}) as two-decimal numbers in [-1, 1]").format(seed=d.seed or 0)))
    return "".join(" " + _("Not typed: {names}, {how}.").format(names=", ".join(names), how=how) for names, how in hows if names)


def _sizes_text(h: dict) -> str:
    """The sizes the formulas' sums run over, named once (T, d, H, n)."""
    x, V = np.shape(h["x"].value), np.shape(h["V"].value)
    return " " + _("Sizes: T = {T} steps, d = {d} inputs per step, H = {H} hidden units, n = {n} classes.").format(
        T=x[0], d=x[1], H=len(h["h_init"].value), n=V[0])


def _forward(d: Derivation, h: dict, v: dict, s: dict, given: dict) -> None:
    """Steps previous, preactivation, hidden, carried."""
    d.section(_("Forward through time"),
              _("One cell is used at every step with the same weights: it reads the input x_t and the state h_(t-1) it carried from the step before, and passes h_t on. Steps are counted t = 0 .. T-1 from h_init = h_(-1) (the lecture counts from 1 and calls the initial state h_0). Weights have shape (out, in), as PyTorch's nn.Linear.")
              + _sizes_text(h) + _origin_text(d, given, h))
    x, U, W, hi = (h[key].symbol for key in ("x", "U", "W", "h_init"))
    hp, a, hs = d.name(sp.IndexedBase("h_prev"), "h_prev", r"h^{\mathrm{prev}}"), sp.IndexedBase("a"), sp.IndexedBase("h")
    bias, bias_code = ((), "") if h["b"] is None else ((h["b"].symbol[i],), " + b")
    weighted = sp.Add(total(U[i, k] * x[t, k], k, D), total(W[i, j] * hp[t, j], j, H), *bias, evaluate=False)  # the bias last
    used = tuple(h[key].id for key in ("x", "h_init", "U", "W")) + (() if h["b"] is None else ("bias",))
    with d.recurrence():  # h_prev_t is h_(t-1); a_t uses h_prev_t: the worked row is t = 1
        s["prev"] = d.step("previous", _("The state each step receives"),
                           explanation=_("Row t is h_(t-1): h_init for the first step, then the state the step before produced. The recurrence runs one step after another, so this table is filled by running it (the loop below); the next steps show each row's arithmetic, and the check after them confirms that row t is the previous row of h."),
                           symbol=hp, index=(t, j), value=v["h_prev"], depends_on=used, concept="rnn.previous",
                           code=("h_prev = np.zeros((len(x), len(h_init)))\nstate = h_init\nfor step in range(len(x)):\n"
                                 f"    h_prev[step] = state\n    state = np.tanh(U @ x[step] + W @ state{bias_code})"))
        s["a"] = d.step("preactivation", _("Weighted sums: input term plus recurrent term"),
                        explanation=_("a_t = U x_t + W h_(t-1)") + (_(" + b") if h["b"] is not None else _(" (no bias, as in the lecture; --bias adds one)")) + ".",
                        symbol=a, index=(t, i), formula=weighted,
                        value=v["a"], code=f"a = x @ U.T + h_prev @ W.T{bias_code}", concept="dense.forward")
        s["h"] = d.step("hidden", _("Hidden states"), explanation=_("h_t = tanh(a_t), in (-1, 1)."), symbol=hs, index=(t, i),
                        formula=sp.tanh(a[t, i]), value=v["h"], code="h = np.tanh(a)", concept="activations.tanh",
                        notes=_saturation(v["a"]))
        d.step("carried", _("Check: each step received the previous state"),
               explanation=_("Row 0 is h_init; row t ≥ 1 is row t - 1 of h. This pairs the table the loop filled with the states computed from it."),
               lhs=hp[t, j], index=(t, j), formula=sp.Piecewise((hi[j], sp.Eq(t, 0)), (hs[t - 1, j], True)), value=v["h_prev"],
               var="h_prev_check", code="h_prev_check = np.vstack([h_init, h[:-1]])", concept="rnn.carried")


def _saturation(a: np.ndarray) -> tuple[str, ...]:
    """A note where tanh saturates (|a| > 3, so 1 - h² < 0.01), computed from a."""
    where = np.argwhere(np.abs(a) > 3)
    if not len(where):
        return ()
    places = ", ".join(f"(t={r}, i={c})" for r, c in where[:6]) + (" …" if len(where) > 6 else "")
    return (Caution(_("tanh saturates at {places}: |a| > 3 there, so 1 - h² < 0.01 and little gradient passes back through those units").format(places=places)),)


# ----------------------------------------------------------------------------- loss
def _loss(d: Derivation, h: dict, v: dict, s: dict) -> None:
    """Steps logits, shift, softmax, log_softmax, target, step_loss, loss."""
    d.section(_("Output and cross-entropy at every step"),
              _("o_t = V h_t and y_t = softmax(o_t) (no output bias); the loss is the cross-entropy of each step, summed over the steps (PyTorch's CrossEntropyLoss averages by default: divide by T to compare)."))
    V, c = h["V"].symbol, h["c"].symbol
    o, m, y = sp.IndexedBase("o"), sp.IndexedBase("m"), sp.IndexedBase("y")
    log_y, y_star = d.name(sp.IndexedBase("log_y"), "log y", r"\log y"), d.name(sp.IndexedBase("y_star"), "y*", r"y^{*}")
    ell, L = sp.IndexedBase("ell"), sp.Symbol("L")
    s["o"] = d.step("logits", _("Logits"), symbol=o, index=(t, k), formula=total(V[k, i] * s["h"].symbol[t, i], i, H), value=v["o"],
                    code="o = h @ V.T", concept="dense.forward")
    d.step("shift", _("Shift by the largest logit of each step"), explanation=_("Softmax is unchanged by subtracting m_t from every logit of step t; then no exponential overflows."),
           symbol=m, index=(t,), formula=_maximum(o), value=v["m"], code="m = o.max(axis=1)", concept="softmax_ce.shift")
    shifted = total(exponential(o[t, l] - m[t]), l, n)
    s["y"] = d.step("softmax", _("Softmax at every step"), symbol=y, index=(t, k), formula=exponential(o[t, k] - m[t]) / shifted, value=v["y"],
                    code="y = np.exp(o - m[:, None]) / np.exp(o - m[:, None]).sum(axis=1, keepdims=True)", concept="softmax_ce.softmax")
    d.step("log_softmax", _("Log-probabilities"), explanation=_("log y_tk = o_tk - m_t - log Σ_l exp(o_tl - m_t): exact even where y_tk underflows to 0."),
           symbol=log_y, index=(t, k), formula=sp.Add(o[t, k], -m[t], -sp.log(shifted), evaluate=False), value=v["log_y"],
           code="log_y = o - m[:, None] - np.log(np.exp(o - m[:, None]).sum(axis=1, keepdims=True))", concept="softmax_ce.log_softmax")
    s["y_star"] = d.step("target_onehot", _("One-hot targets"), explanation=_("y*_tk = δ_(k, c_t) (the Kronecker delta): 1 where k is the target class c_t, else 0."),
                         symbol=y_star, index=(t, k), formula=sp.KroneckerDelta(k, c[t]), value=v["y_star"],
                         code="y_star = np.eye(len(V))[c.astype(int)]", concept="rnn.target")
    d.step("step_loss", _("Cross-entropy of each step"), explanation=_("ℓ_t = -Σ_k y*_tk log y_tk = -log y_(t, c_t)."),
           symbol=ell, index=(t,), formula=-total(sp.Mul(y_star[t, k], log_y[t, k], evaluate=False), k, n), value=v["ell"],
           code="ell = -(y_star * log_y).sum(axis=1)", concept="softmax_ce.loss")
    s["L"] = d.step("loss", _("Loss summed over the steps"), symbol=L, formula=total(ell[t], t, T), value=float(v["ell"].sum()),
                    code="L = ell.sum()", concept="rnn.loss", substitute=True)


def _maximum(o):
    return Maximum(o[t, k], k, 0, n - 1)


# ----------------------------------------------------------------------------- BPTT
def _gradient_name(name: str, of: str, latex: str) -> tuple[str, str, str]:
    return name, f"∂L/∂{of}", rf"\frac{{\partial L}}{{\partial {latex}}}"


def _per_step(d: Derivation, id: str, title: str, weight, left, right, columns, value, check, code: str, explanation: str):
    """Step `id`: row t holds the outer product left_t right_tᵀ, the term of step t, stored row by row."""
    label = str(weight.symbol.label)
    G = d.name(sp.IndexedBase(f"G_{label}"), f"G_{label}", f"G^{{{label}}}")
    rows, cols = np.shape(weight.value)
    return d.step(id, title, explanation=explanation, symbol=G, index=(t, p),
                  formula=left[t, Quotient(p, columns)] * right[t, Remainder(p, columns)], value=value, code=code,
                  labels=(tuple(f"t={r}" for r in range(len(value))), tuple(f"{label}{a},{b}" for a in range(rows) for b in range(cols))),
                  concept="rnn.per_step_terms", gradient=check)


def _summed(d: Derivation, id: str, weight, terms, columns, L, check, index=(i, j)):
    """Step `id`: ∂L/∂M_rc = Σ_t G_(t, r·columns + c), the sum of the per-step terms; (r, c) are
    the index letters the forward formula gives the weight (V_ki, U_ik, W_ij)."""
    label = str(weight.symbol.label)
    G, (row, col) = terms.symbol, index
    value = np.asarray(terms.value).sum(axis=0).reshape(np.shape(weight.value))
    return d.step(id, _("Sum over the steps: ∂L/∂{w}").format(w=label),
                  explanation=_("{w} is shared by every step, so its gradient is the sum of the terms of all steps.").format(w=label),
                  symbol=d.name(sp.IndexedBase(f"dL_d{label}"), *_gradient_name(f"dL_d{label}", label, label)[1:]), index=index,
                  lhs=sp.Derivative(L, weight.symbol[row, col]), formula=total(G[t, columns * row + col], t, T), value=value,
                  code=f"dL_d{label} = {G}.sum(axis=0).reshape({weight.var}.shape)", concept="dense.dL_dW", gradient=check)


def _untied(parts: dict, name: str) -> GradientCheck:
    """Finite differences of L by a separate copy of the weight `name` at each step (rows of the point)."""
    weight = parts[name]
    steps, base = len(parts["x"]), np.tile(weight.ravel(), (len(parts["x"]), 1))
    return GradientCheck(lambda point: whole_loss(parts, first_row(point, base), **{name: point.reshape(steps, *weight.shape)}), base)


def _offset(parts: dict, key: str, later: bool = False) -> GradientCheck:
    """Finite differences of L by offsets added at every step to `key` (shift_a, shift_h, carry);
    with `later`, row t of the point shifts step t + 1 (nothing for the last row)."""
    zeros = np.zeros_like(parts["h"])

    def loss(point: np.ndarray) -> float:
        offsets = np.vstack([zeros[:1], point[:-1]]) if later else point
        return whole_loss(parts, first_row(offsets, zeros), **{key: offsets})

    return GradientCheck(loss, zeros)


def _tied(parts: dict, name: str) -> GradientCheck:
    """Finite differences of L by the shared weight `name`."""
    return GradientCheck(lambda point: whole_loss(parts, **{name: point}), parts[name])


def _output_gradients(d: Derivation, h: dict, v: dict, s: dict, parts: dict) -> None:
    """Steps dL_do, dV_terms, dL_dV."""
    d.section(_("BPTT: the output weights V"),
              _("Backpropagation through time starts at the outputs. Each step's loss reaches V only through o_t = V h_t, so step t contributes ∂L/∂o_t h_tᵀ; V is shared, so the contributions add up."))
    y, y_star, L = s["y"].symbol, s["y_star"].symbol, s["L"].symbol
    do = d.name(sp.IndexedBase("dL_do"), "∂L/∂o", r"\frac{\partial L}{\partial o}")
    s["do"] = d.step("dL_do", _("Prediction minus target at every step"),
                     explanation=_("∂L/∂o_tk = y_tk - y*_tk: softmax with cross-entropy, step by step (ℓ_t depends on o_t alone)."),
                     symbol=do, lhs=sp.Derivative(L, s["o"].symbol[t, k]), index=(t, k), formula=y[t, k] - y_star[t, k], value=v["dL_do"],
                     code="dL_do = y - y_star", concept="softmax_ce.gradient",
                     gradient=GradientCheck(lambda o: logits_loss(o, parts["c"]), v["o"]))
    terms = _per_step(d, "dV_terms", _("The term of each step: ∂L/∂o_t h_tᵀ"), h["V"], do, s["h"].symbol, H, outer_rows(v["dL_do"], v["h"]),
                      _untied(parts, "V"), "G_V = (dL_do[:, :, None] * h[:, None, :]).reshape(len(h), -1)",
                      _("Row t is the matrix ∂L/∂o_t h_tᵀ (shape n × H) written row by row: column p holds entry (k, i) = (⌊p/H⌋, p mod H). It is the gradient of L by the copy of V used at step t."))
    _summed(d, "dL_dV", h["V"], terms, H, L, _tied(parts, "V"), index=(k, i))


def _hidden_gradients(d: Derivation, h: dict, v: dict, s: dict, parts: dict) -> None:
    """Steps dh_out, tanh_derivative, delta_next, dh_next, dL_dh, delta."""
    d.section(_("BPTT: back through the hidden states"),
              _("h_t feeds two places: the output o_t and the next step's a_(t+1). So ∂L/∂h_t = Vᵀ ∂L/∂o_t + Wᵀ δ_(t+1), and δ_t = ∂L/∂a_t = ∂L/∂h_t ⊙ (1 - h_t²); the last step has no next step (δ_T = 0). This runs backwards in time, from the last step to the first."))
    V, W, hs, a, L = h["V"].symbol, h["W"].symbol, s["h"].symbol, s["a"].symbol, s["L"].symbol
    g_out = d.step("dh_out", _("Through the output of the same step"), explanation=_("Σ_k V_ki ∂L/∂o_tk: in matrix form Vᵀ ∂L/∂o_t."),
                   symbol=d.name(sp.IndexedBase("g_out"), "g_out", r"g^{\mathrm{out}}"), index=(t, i),
                   formula=total(V[k, i] * s["do"].symbol[t, k], k, n), value=v["g_out"], code="g_out = dL_do @ V", concept="dense.dL_dx",
                   gradient=GradientCheck(lambda point: whole_loss(parts, h_out=point), v["h"]))
    prime = s["prime"] = d.step("tanh_derivative", _("Derivative of tanh"), explanation=_("tanh'(a) = 1 - tanh²(a) = 1 - h², written with h already computed."),
                   symbol=d.name(sp.IndexedBase("dh_da"), "∂h/∂a", r"\frac{\partial h}{\partial a}"), index=(t, i),
                   lhs=sp.Derivative(hs[t, i], a[t, i]), formula=1 - hs[t, i] ** 2, value=v["dh_da"], code="dh_da = 1 - h ** 2",
                   concept="activations.tanh_derivative", gradient=GradientCheck(lambda point: float(np.tanh(point).sum()), v["a"]))
    delta, nxt = d.name(sp.IndexedBase("delta"), "δ", r"\delta"), d.name(sp.IndexedBase("delta_next"), "δ⁺", r"\delta^{+}")
    s["next"] = d.step("delta_next", _("What the next step sends back"),
                       explanation=_("Row t is δ⁺_t = δ_(t+1) = ∂L/∂a_(t+1), and 0 for the last step. Each row needs the rows after it, so the table is filled by running backwards from the last step (the loop below); its rows are those of δ, computed further down, moved up by one step."),
                       symbol=nxt, index=(t, j), value=v["delta_next"], depends_on=("W", "dh_out", "tanh_derivative"), concept="rnn.delta_next",
                       code=("delta_next = np.zeros_like(h)\ncarried = np.zeros(len(W))\nfor step in reversed(range(len(h))):\n"
                             "    delta_next[step] = carried\n    carried = (g_out[step] + W.T @ carried) * dh_da[step]"),
                       gradient=_offset(parts, "shift_a", later=True))
    g_next = d.step("dh_next", _("Through the next step"), explanation=_("Σ_j W_ji δ_(t+1),j: in matrix form Wᵀ δ_(t+1); 0 at the last step."),
                    symbol=d.name(sp.IndexedBase("g_next"), "g_next", r"g^{\mathrm{next}}"), index=(t, i),
                    formula=total(W[j, i] * nxt[t, j], j, H), value=v["g_next"], code="g_next = delta_next @ W", concept="rnn.dh_next",
                    gradient=_offset(parts, "carry"))
    dh = d.step("dL_dh", _("Gradient at the hidden state"),
                explanation=_("The two paths add up: ∂L/∂h_t = Vᵀ ∂L/∂o_t + Wᵀ δ_(t+1) = g_out_t + g_next_t."), symbol=d.name(sp.IndexedBase("dL_dh"), "∂L/∂h", r"\frac{\partial L}{\partial h}"),
                lhs=sp.Derivative(L, hs[t, i]), index=(t, i), formula=sp.Add(g_out.symbol[t, i], g_next.symbol[t, i], evaluate=False), value=v["g_out"] + v["g_next"],
                code="dL_dh = g_out + g_next", concept="rnn.dL_dh", gradient=_offset(parts, "shift_h"))
    s["delta"] = d.step("delta", _("Delta at the pre-activation"),
                        explanation=_("δ_t = ∂L/∂a_t = ∂L/∂h_t ⊙ (1 - h_t²): tanh acts element by element, so its Jacobian is diagonal."),
                        symbol=delta, lhs=sp.Derivative(L, a[t, i]), index=(t, i), formula=dh.symbol[t, i] * prime.symbol[t, i],
                        value=v["delta"], code="delta = dL_dh * dh_da", concept="activations.delta",
                        gradient=_offset(parts, "shift_a"))


def _weight_gradients(d: Derivation, h: dict, v: dict, s: dict, parts: dict) -> None:
    """Steps dU_terms, dL_dU, dW_terms, dL_dW and, with a bias, dL_db."""
    d.section(_("BPTT: U and W, term by term and summed"),
              _("a_t = U x_t + W h_(t-1) uses the same U and W at every step: step t contributes δ_t x_tᵀ to ∂L/∂U and δ_t h_(t-1)ᵀ to ∂L/∂W, and the gradients are the sums over t."))
    delta, L = s["delta"].symbol, s["L"].symbol
    terms = _per_step(d, "dU_terms", _("The term of each step: δ_t x_tᵀ"), h["U"], delta, h["x"].symbol, D, outer_rows(v["delta"], h["x"].value),
                      _untied(parts, "U"), "G_U = (delta[:, :, None] * x[:, None, :]).reshape(len(x), -1)",
                      _("Row t is the matrix δ_t x_tᵀ (shape H × d) written row by row: column p holds entry (i, k) = (⌊p/d⌋, p mod d). It is the gradient of L by the copy of U used at step t; with one-hot inputs only the column of the active input is non-zero."))
    _summed(d, "dL_dU", h["U"], terms, D, L, _tied(parts, "U"), index=(i, k))
    terms = _per_step(d, "dW_terms", _("The term of each step: δ_t h_(t-1)ᵀ"), h["W"], delta, s["prev"].symbol, H, outer_rows(v["delta"], v["h_prev"]),
                      _untied(parts, "W"), "G_W = (delta[:, :, None] * h_prev[:, None, :]).reshape(len(h), -1)",
                      _("Row t is the matrix δ_t h_(t-1)ᵀ (shape H × H) written row by row: column p holds entry (i, j) = (⌊p/H⌋, p mod H). It is the gradient of L by the copy of W used at step t.")
                      + _zero_start(v["h_prev"]))
    _summed(d, "dL_dW", h["W"], terms, H, L, _tied(parts, "W"))
    if h["b"] is not None:
        d.step("dL_db", _("Sum over the steps: ∂L/∂b"), explanation=_("∂a_t/∂b = I at every step, so ∂L/∂b = Σ_t δ_t."),
               symbol=d.name(sp.IndexedBase("dL_db"), "∂L/∂b", r"\frac{\partial L}{\partial b}"), index=(i,),
               lhs=sp.Derivative(L, h["b"].symbol[i]), formula=total(delta[t, i], t, T), value=v["delta"].sum(axis=0),
               code="dL_db = delta.sum(axis=0)", concept="dense.dL_db", gradient=_tied(parts, "b"))


def _zero_start(h_prev: np.ndarray) -> str:
    """Why row 0 of the W terms is 0, when h_init is 0."""
    return " " + _("h_init = 0, so the first step adds nothing to ∂L/∂W.") if not h_prev[0].any() else ""


# ----------------------------------------------------------------------------- Jacobians
def _jacobians(d: Derivation, h: dict, v: dict, s: dict) -> None:
    """Steps jacobian, jacobian_product, product_check, jacobian_norm."""
    d.section(_("Why gradients vanish: products of Jacobians"),
              _("A gradient at h_t reaches an earlier state through every step in between: ∂h_t/∂h_(t-1) = diag(1 - h_t²) W, one Jacobian per step, multiplied together. Where these factors are smaller than 1 the product shrinks with every step (vanishing gradient); where larger it grows (exploding gradient). This motivates the LSTM (#5), whose additive cell path avoids the product."))
    W, prime, steps = h["W"].symbol, s["prime"].symbol, len(v["h"])
    hidden = len(h["W"].value)
    labels = (tuple(f"t={r}" for r in range(steps)), tuple(f"({a},{b})" for a in range(hidden) for b in range(hidden)))
    J = d.step("jacobian", _("Jacobian of each step"),
               explanation=_("∂h_t,i/∂h_(t-1),j = W_ij (1 - h_t,i²): row t holds that H × H matrix row by row, column p = entry (⌊p/H⌋, p mod H)."),
               symbol=d.name(sp.IndexedBase("J"), "J", "J"), index=(t, p), formula=prime[t, Quotient(p, H)] * W[Quotient(p, H), Remainder(p, H)],
               value=v["J"], labels=labels, code="J = (dh_da[:, :, None] * W[None, :, :]).reshape(len(h), -1)", concept="rnn.jacobian")
    P = d.name(sp.IndexedBase("P"), "P", "P")
    with d.recurrence():  # P_t = J_t P_(t-1): the worked row of the check is t = 1
        d.step("jacobian_product", _("Running product: ∂h_t/∂h_init"),
               explanation=_("P_t = J_t J_(t-1) ⋯ J_0: how a change of the initial state is felt at step t (and, transposed, what carries a gradient at h_t back to h_init). Each row needs the one before, so the table is filled by a loop; the check below pairs it with the rule P_t = J_t P_(t-1)."),
               symbol=P, index=(t, p), value=v["P"], labels=labels, depends_on=("jacobian",), concept="rnn.jacobian_product",
               code=("P = np.zeros_like(J)\nrunning = np.eye(len(W))\nfor step in range(len(J)):\n"
                     "    running = J[step].reshape(W.shape) @ running\n    P[step] = running.ravel()"))
        rule = total(J.symbol[t, H * Quotient(p, H) + j] * P[t - 1, H * j + Remainder(p, H)], j, H)
        d.step("product_check", _("Check: P_t = J_t P_(t-1)"), explanation=_("Row 0 is J_0; row t ≥ 1 is the matrix product of J_t with the row before."),
               lhs=P[t, p], index=(t, p), formula=sp.Piecewise((J.symbol[t, p], sp.Eq(t, 0)), (rule, True)), value=v["P"], var="P_check", labels=labels,
               code=("P_check = np.array([(J[s].reshape(W.shape) @ (P[s - 1].reshape(W.shape) if s else np.eye(len(W)))).ravel()\n"
                     "                    for s in range(len(J))])"), concept="rnn.product_check")
    norms = np.sqrt((v["P"] ** 2).sum(axis=1))
    d.step("jacobian_norm", _("Size of the product at every step"),
           explanation=_("The Frobenius norm ‖P_t‖ = √(Σ_p P_tp²) (the square root of the sum of the squared entries)."),
           symbol=d.name(sp.IndexedBase("norm_P"), "‖P‖", r"\lVert P \rVert"), index=(t,), formula=sp.sqrt(total(P[t, p] ** 2, p, H * H)),
           value=norms, code="norm_P = np.sqrt((P ** 2).sum(axis=1))", concept="rnn.jacobian_norm", notes=trend(norms),
           chart=Chart(kind="line", x=tuple(range(steps)), series=("‖P_t‖",), x_label="t", y_label="‖P_t‖"))


def trend(norms: np.ndarray) -> tuple[str, ...]:
    """Shrinking or growing, computed from the norms of the products."""
    first, last = float(norms[0]), float(norms[-1])
    if len(norms) == 1:
        return (_("One step only: no product yet (‖P_0‖ = ‖J_0‖ = {v:.4g}); give more rows of --x to see it shrink or grow").format(v=first),)
    if last == 0:
        return (Caution(_("‖P_t‖ reaches 0 by step {t}: no gradient from there reaches h_init at all").format(t=int(np.argmax(norms == 0)))),)
    ratio = last / first if first else np.inf
    steady = np.all(np.diff(norms) < 0) if ratio < 1 else np.all(np.diff(norms) > 0)
    way = _("at every step") if steady else _("overall, though not at every step")
    if ratio < 1:
        return (_("Shrinking {way}: ‖P_t‖ falls from {a:.4g} at t = 0 to {b:.4g} at t = {T} (× {r:.3g}, about × {g:.3g} per step). A gradient at h_{T} reaches h_init multiplied by P_{T}ᵀ, one at h_0 by P_0ᵀ only: by these norms the one from the last step arrives × {r:.3g} as strong. That is the vanishing gradient").format(
            way=way, a=first, b=last, T=len(norms) - 1, r=ratio, g=ratio ** (1 / (len(norms) - 1))),)
    if ratio > 1:
        return (Caution(_("Growing {way}: ‖P_t‖ rises from {a:.4g} at t = 0 to {b:.4g} at t = {T} (× {r:.3g}, about × {g:.3g} per step): gradients carried back this far explode").format(
            way=way, a=first, b=last, T=len(norms) - 1, r=ratio, g=ratio ** (1 / (len(norms) - 1)))),)
    return (_("‖P_t‖ ends where it started ({a:.4g}): neither shrinking nor growing over these steps").format(a=first),)
