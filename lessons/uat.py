"""The universal approximation theorem, built from blocks (깍두기).

Follows Easy! Deep Learning #8: a target f on an interval [a, b] = [I₀, I₁] is cut into N
blocks of width Δ = (b - a)/N; block k has the height of f at its midpoint,
h_k = f(a + (k + ½)Δ), and the sum of the blocks is a step function close to f. Each
step of it is one hidden neuron φ(w x + b) with a steep slope w = κ/Δ (κ, the steepness,
in units of one block width):

    pairs      block k = h_k (φ(w(x - t_k)) - φ(w(x - t_{k+1})))   two neurons per block, 2N
    staircase  f̂(x) = Σ_k (h_k - h_{k-1}) φ(w(x - t_k))             one neuron per block, N

with φ the step H(z) = [z ≥ 0], the sigmoid σ(z) or a ReLU ramp
ReLU(z + ½) - ReLU(z - ½) (two ReLU neurons per step, so 4N or 2N). The block edges are
t_k = a + kΔ, with the outer two pushed Δ/2 outside [a, b] so that the ends of the
interval lie inside a block. Every neuron is one row of a one-hidden-layer network
f̂(x_g) = Σ_j v_j φ(w x_g + b_j), written out weight by weight. The error |f - f̂| on a
grid of 201 points, its maximum and mean, and the same errors for N = 4, 8, ..., 64 show
the theorem at work; the theorem proves that such weights exist, not that gradient
descent finds them.

The target is typed as an expression in x and read by `dlsteps.expressions` (a
whitelist parser: no Python is evaluated).
"""


import numpy as np
import sympy as sp

from dlsteps import expressions
from dlsteps.blocks import activations
from dlsteps.blocks.symbols import N, j, k, total
from dlsteps.blocks.symbols import size as bind_size
from dlsteps.errors import InputError
from dlsteps.i18n import N_, _
from dlsteps.model import Caution, Chart, Derivation
from dlsteps.symbolic import Maximum, Quotient

META = {
    "title": "The universal approximation theorem, block by block",
    "lecture": "Easy! DL #8 (보편 근사 정리, 깍두기)",
    "summary": "a target f(x) as a sum of N blocks made of steep sigmoids (or steps, or ReLUs): every neuron's weights, the error as N grows, a plot",
    "example": "dlsteps uat --function \"x**2\" --interval -2,2 --blocks 16 --unit relu --construction staircase",
    "inputs": {
        "function": {"shape": "text", "default": "sin(3*x)+x",
                     "help": "the target f as an expression in x: numbers, + - * / **, ( ), sin cos tan exp log sqrt abs tanh sigmoid relu, pi, e"},
        "interval": {"shape": "vector *", "default": "-1,1", "help": "the interval a,b (a < b) on which f is approximated"},
        "blocks": {"shape": "count", "domain": "1..64", "default": "8", "help": "the number N of blocks (깍두기)"},
        "unit": {"shape": "choice", "choices": ["sigmoid", "step", "relu"], "default": "sigmoid",
                 "help": "the hidden unit: a steep sigmoid, the exact step, or a ReLU ramp (two ReLUs per step)"},
        "steepness": {"shape": "scalar", "domain": "positive", "default": "50",
                      "help": "κ: the slope of every hidden neuron in units of one block width, w = κ/Δ (at most 1000); blocks are exact only as κ → ∞"},
        "construction": {"shape": "choice", "choices": ["pairs", "staircase"], "default": "pairs",
                         "help": "pairs: each block is the difference of two neurons (2N); staircase: one neuron per block (N), each stepping up from the last"},
    },
}

GRID = 201
SIZES = (4, 8, 16, 32, 64)
STEEPEST = 1000.0
LARGEST = 1e12
"""The grid has 201 points; the error table doubles N from 4 to 64; a target beyond 1e12
in size is refused (the blocks' differences would lose every digit)."""

g = sp.Symbol("g", integer=True, nonnegative=True)
r = sp.Symbol("r", integer=True, nonnegative=True)
G = sp.Symbol("G", integer=True, positive=True)
PER_STEP = {"sigmoid": 1, "step": 1, "relu": 2}
PER_BLOCK = {"pairs": 2, "staircase": 1}
STEP_SYMBOL = {"sigmoid": "σ", "step": "H", "relu": "r"}
NEURON = {"sigmoid": "σ", "step": "H", "relu": "ReLU"}


# ---- the numbers, in NumPy (also the helpers of the code lines) ---------------------------

def block_edges(a, b, n):
    """t_k = a + kΔ for k = 0..n, Δ = (b - a)/n, the outer two pushed Δ/2 outside [a, b]."""
    delta = (b - a) / n
    t = a + np.arange(n + 1) * delta
    t[0] -= delta / 2
    t[-1] += delta / 2
    return t


def neuron_biases(t, w, construction, unit):
    """b_j = -w t_e for the edge e of neuron j (pairs: t_k and t_{k+1} for block k); a ReLU
    ramp is two ReLU neurons with biases shifted by +1/2 and -1/2."""
    n = len(t) - 1
    sides = np.arange(2) if construction == "pairs" else np.arange(1)
    b = -w * t[np.arange(n)[:, None] + sides[None, :]].ravel()
    if unit == "relu":
        b = (b[:, None] + np.array([0.5, -0.5])[None, :]).ravel()
    return b


def output_weights(h, construction, unit):
    """v_j: pairs +h_k and -h_k; staircase the rise h_k - h_{k-1} (h_{-1} = 0); a ReLU
    ramp's two neurons carry +v and -v."""
    if construction == "pairs":
        v = (h[:, None] * np.array([1.0, -1.0])[None, :]).ravel()
    else:
        v = h - np.concatenate(([0.0], h[:-1]))
    if unit == "relu":
        v = (v[:, None] * np.array([1.0, -1.0])[None, :]).ravel()
    return v


def hidden_layer(x, w, b, unit):
    """a[j, g] = φ(w x_g + b_j): the step [z ≥ 0], ReLU max(0, z) or the sigmoid."""
    z = w * x[None, :] + b[:, None]
    if unit == "step":
        return (z >= 0) * 1.0
    if unit == "relu":
        return np.maximum(0, z)
    return sigmoid(z)


def network(target, a, b, n, kappa, unit, construction, x):
    """f̂ on the points x for n blocks on [a, b] (heights at the midpoints, w = κ/Δ)."""
    delta = (b - a) / n
    w = kappa / delta
    h = target(a + (np.arange(n) + 0.5) * delta)
    biases = neuron_biases(block_edges(a, b, n), w, construction, unit)
    return output_weights(h, construction, unit) @ hidden_layer(x, w, biases, unit)


def error_table(target, interval, kappa, unit, construction, sizes):
    """Rows: max and mean |f - f̂| on the 201-point grid; columns: the numbers of blocks."""
    a, b = interval[0], interval[1]
    x = a + np.arange(201) * (b - a) / 200
    errors = [np.abs(target(x) - network(target, a, b, n, kappa, unit, construction, x)) for n in sizes]
    return np.array([[e.max() for e in errors], [e.mean() for e in errors]])


sigmoid = activations.sigmoid


# ---- inputs ------------------------------------------------------------------------------

def _interval(given: dict) -> np.ndarray:
    value = np.array(given["interval"].value, dtype=float)
    if value.shape != (2,) or not value[0] < value[1]:
        raise InputError(_("--interval: got '{text}'; expected two numbers a,b with a < b, such as -1,1").format(text=given["interval"].text[:40]))
    if value[1] - value[0] <= 1e-6 * max(1.0, *np.abs(value)):
        raise InputError(_("--interval: '{text}' is too narrow for its position; expected b - a > 1e-6 · max(1, |a|, |b|)").format(text=given["interval"].text[:40]))
    return value


def _steepness(given: dict) -> float:
    kappa = float(given["steepness"].value)
    if kappa > STEEPEST:
        raise InputError(_("--steepness: {k:g} is more than {most:g}; expected a positive number up to {most:g} (the step unit is the limit κ → ∞)").format(
            k=kappa, most=STEEPEST))
    return kappa


def _check_target(expr: expressions.Expression, interval: np.ndarray, blocks: int) -> None:
    """Refuse a target that is undefined, infinite or beyond 1e12 on the grid or at a block
    midpoint (for N and every N of the error table), naming where."""
    a, b = interval
    places = [(a + np.arange(GRID) * (b - a) / (GRID - 1), _("the grid"))]
    for n in sorted({blocks, *SIZES}):
        places.append((a + (np.arange(n) + 0.5) * (b - a) / n, _("the block midpoints for N = {n}").format(n=n)))
    for points, name in places:
        values = expr.evaluate(points)
        found = expressions.undefined_at(values, LARGEST)
        if found is not None:
            first, count = found
            raise InputError(_("--function: '{f}' {what} at x = {x:.6g} on [{a:g}, {b:g}] ({count} of the {total} points of {name}); choose an interval where it is defined and at most 1e12 in size").format(
                f=expressions.shown(expr.text), what=_problem(values[first]), x=points[first], a=a, b=b, count=count, total=len(points), name=name))


def _problem(value: float) -> str:
    """What is wrong with one value of the target: undefined, infinite or too large."""
    if np.isnan(value):
        return _("is undefined (NaN)")
    if np.isinf(value):
        return _("is infinite")
    return _("reaches {v:.3g}, beyond 1e12,").format(v=value)


def derive(d: Derivation, given: dict) -> None:
    """Fill `d`: the target on a grid, the blocks, every neuron, the output, its errors."""
    interval, kappa = _interval(given), _steepness(given)
    expr = expressions.parse(given["function"].value)
    _check_target(expr, interval, int(given["blocks"].value))
    h = _inputs(d, given, interval, kappa)
    _prelude(d, expr)
    d.section(_("The target on a grid"),
              _("The target f is evaluated on {G} equally spaced points x_g of [a, b] = [I₀, I₁]; every error below is measured there.").format(G=GRID))
    h["x"], h["f"] = _grid(d, h, expr)
    _blocks(d, h, expr)
    _neurons(d, h)
    _output(d, h)
    _errors(d, h)
    _table(d, h, expr)


def _inputs(d: Derivation, given: dict, interval: np.ndarray, kappa: float) -> dict:
    kappa_symbol = d.name(sp.Symbol("kappa"), "κ", r"\kappa")
    return {"function": d.given("function", d.name(sp.Symbol("F"), "f(x)", "f(x)"), given["function"].value, given["function"], _("the target f(x) as typed"), var="function"),
            "I": d.given("interval", sp.IndexedBase("I"), interval, given["interval"], _("the interval [a, b] = [I₀, I₁]")),
            "N": d.given("blocks", N, int(given["blocks"].value), given["blocks"], _("number of blocks N")),
            "unit": d.given("unit", sp.Symbol("unit"), given["unit"].value, given["unit"], _("hidden unit: sigmoid, step or ReLU")),
            "kappa": d.given("steepness", kappa_symbol, kappa, given["steepness"], _("steepness κ (slope per block width)"), var="kappa"),
            "construction": d.given("construction", sp.Symbol("construction"), given["construction"].value, given["construction"],
                                    _("how the blocks are built from neurons"))}


def _prelude(d: Derivation, expr: expressions.Expression) -> None:
    """The helpers the code lines call: sigmoid, the typed target as `target(x)`, the network."""
    d.define(activations.sigmoid)
    d.define(f"def target(x):\n    \"\"\"f(x) = {expr.text}, as typed (read by a whitelist parser).\"\"\"\n    return {expr.code('x')}\n")
    for helper in (block_edges, neuron_biases, output_weights, hidden_layer, network, error_table):
        d.define(helper)


def _grid(d: Derivation, h: dict, expr: expressions.Expression):
    I = h["I"].symbol
    a, b = h["I"].value
    bind_size(d, G, GRID)
    x = sp.IndexedBase("x")
    points = a + np.arange(GRID) * (b - a) / (GRID - 1)
    grid = d.step("grid", _("Grid points"), symbol=x, index=(g,), formula=sp.Add(I[0], g * (I[1] - I[0]) / (G - 1), evaluate=False), value=points,
                  code=f"x = I[0] + np.arange({GRID}) * (I[1] - I[0]) / {GRID - 1}", concept="uat.grid")
    target = d.step("target", _("The target f on the grid"), explanation=_("f(x) = {f}, as typed.").format(f=expr.text),
                    symbol=sp.IndexedBase("f"), index=(g,), formula=expr.sympy(x[g]), value=expr.evaluate(points),
                    code="f = target(x)", concept="uat.target")
    return grid, target


def _blocks(d: Derivation, h: dict, expr: expressions.Expression) -> None:
    I, n = h["I"].symbol, h["N"].value
    a, b = h["I"].value
    d.section(_("Blocks (깍두기)"),
              _("Cut [a, b] into N = {n} blocks of width Δ. Block k stands at the height of f at its midpoint c_k (the midpoint rule), so the blocks together form a step function; as N grows, the steps hug f.").format(n=n))
    delta = d.name(sp.Symbol("Delta"), "Δ", r"\Delta")
    width = (b - a) / n
    h["Delta"] = d.step("width", _("Block width"), symbol=delta, formula=(I[1] - I[0]) / N, value=width, substitute=True,
                        code="Delta = (I[1] - I[0]) / N", concept="uat.width")
    t, c = sp.IndexedBase("t"), sp.IndexedBase("c")
    h["t"] = d.step("edges", _("Block edges"),
                    explanation=_("t_k = a + kΔ. The outermost two are pushed Δ/2 outside [a, b], so that the ends a and b lie inside the first and last block rather than on a half-way point of a step.")
                    + " " + _("In the formula, δ_0,k is 1 for k = 0 and 0 otherwise, and δ_N,k is 1 only for k = N: they move t_0 and t_N alone."),
                    symbol=t, index=(k,), formula=sp.Add(I[0], sp.Mul(k, delta, evaluate=False), -delta / 2 * sp.KroneckerDelta(k, 0), delta / 2 * sp.KroneckerDelta(k, N), evaluate=False),
                    value=block_edges(a, b, n), code="t = block_edges(I[0], I[1], N)", concept="uat.edges")
    mid = a + (np.arange(n) + 0.5) * width
    h["c"] = d.step("midpoints", _("Block midpoints"), symbol=c, index=(k,), value=mid,
                    formula=sp.Add(I[0], sp.Mul(k + sp.Rational(1, 2), delta, evaluate=False), evaluate=False),
                    code="c = I[0] + (np.arange(N) + 0.5) * Delta", concept="uat.midpoints")
    h["h"] = d.step("heights", _("Block heights"), explanation=_("h_k = f(c_k): the height of block k is the target at the block's midpoint."),
                    symbol=sp.IndexedBase("h"), index=(k,), formula=expr.sympy(c[k]), value=expr.evaluate(mid),
                    code="h = target(c)", concept="uat.heights")


def _edge(construction: str, unit: str):
    """The index e of the edge t_e where neuron j steps: neuron j = R k + role, R neurons per block."""
    if unit == "relu":
        return Quotient(j, 2) - Quotient(j, 4) if construction == "pairs" else Quotient(j, 2)
    return j - Quotient(j, 2) if construction == "pairs" else j


def _bias_formula(construction: str, unit: str, w, t):
    """b_j in index form: -w t_e, then the shift ±1/2 of the two ReLUs of a ramp (written in
    that order: SymPy would put the shift first)."""
    bias = -w * t[_edge(construction, unit)]
    return sp.Add(bias, (-1) ** j / 2, evaluate=False) if unit == "relu" else bias


def _bias_text(construction: str, unit: str, count: int) -> str:
    """Which edge the first neurons use, computed from the formula's index, and what ⌊ ⌋ means."""
    edge = _edge(construction, unit)
    shown = min(count, 4)
    neurons = ", ".join(str(q) for q in range(shown))
    edges = ", ".join(f"t_{int(edge.subs(j, q))}" for q in range(shown))
    text = _("The index of t in the formula is that edge e: the first neurons, j = {neurons}, sit at {edges}.").format(neurons=neurons, edges=edges)
    if edge.has(Quotient):
        text += " " + _("⌊a/b⌋ is a/b rounded down to a whole number (⌊3/2⌋ = 1).")
    return text


def _weight_formula(construction: str, unit: str, hk):
    """v_j in index form: ±h_k for pairs, the rise h_k - h_{k-1} for the staircase."""
    block = Quotient(j, PER_BLOCK[construction] * PER_STEP[unit]) if PER_BLOCK[construction] * PER_STEP[unit] > 1 else j
    if construction == "pairs":
        sign = (-1) ** (j + Quotient(j, 2)) if unit == "relu" else (-1) ** j
        return sign * hk[block]
    rise = hk[block] - (1 - sp.KroneckerDelta(block, 0)) * hk[block - 1]
    return (-1) ** j * rise if unit == "relu" else rise


def _labels(n: int, construction: str, unit: str) -> tuple[str, ...]:
    sides = (" on", " off") if construction == "pairs" else ("",)
    halves = (" +1/2", " -1/2") if unit == "relu" else ("",)
    return tuple(f"k={q}{side}{half}" for q in range(n) for side in sides for half in halves)


def _neurons(d: Derivation, h: dict) -> None:
    n, unit, construction = h["N"].value, h["unit"].value, h["construction"].value
    count = n * PER_BLOCK[construction] * PER_STEP[unit]
    d.section(_("Every neuron written out"), " ".join((_(_CONSTRUCTIONS[construction]), _(_UNITS[unit]))).format(N=n, M=count, phi=STEP_SYMBOL[unit]))
    w = sp.Symbol("w")
    width = h["Delta"].value
    h["w"] = d.step("slope", _("Input weight of every hidden neuron"),
                    explanation=_("w = κ/Δ: the steepness κ counts in block widths, so the steps stay equally sharp relative to the blocks as N grows."),
                    symbol=w, formula=h["kappa"].symbol / h["Delta"].symbol, value=h["kappa"].value / width, substitute=True,
                    code="w = kappa / Delta", concept="uat.slope")
    labels = _labels(n, construction, unit)
    bias = neuron_biases(h["t"].value, h["w"].value, construction, unit)
    h["b"] = d.step("bias", _("Biases"),
                    explanation=_("b_j = -w t_e puts the step of neuron j at its edge t_e, since w x + b_j = w (x - t_e).") + " " + _bias_text(construction, unit, count),
                    symbol=sp.IndexedBase("b"), index=(j,), formula=_bias_formula(construction, unit, w, h["t"].symbol), value=bias,
                    labels=(labels, ()), code="b = neuron_biases(t, w, construction, unit)", concept="uat.bias")
    weights = output_weights(h["h"].value, construction, unit)
    h["v"] = d.step("output_weight", _("Output weights"), explanation=_(_OUTPUT_WEIGHTS[construction, unit == "relu"]),
                    symbol=sp.IndexedBase("v"), index=(j,),
                    formula=_weight_formula(construction, unit, h["h"].symbol), value=weights, labels=(labels, ()),
                    code="v = output_weights(h, construction, unit)", concept="uat.output_weight")
    T = sp.IndexedBase("T")
    table = np.column_stack([np.full(count, h["w"].value), bias, weights])
    d.step("neurons", _("The network, neuron by neuron"),
           explanation=_("One row per hidden neuron j: its input weight w_j, its bias b_j and its output weight v_j. Together: f̂(x) = Σ_j v_j {phi}(w_j x + b_j), a network with one hidden layer of {M} neurons and no output bias.").format(M=count, phi=NEURON[unit])
           + " " + _("In the formula, δ_0,r, δ_1,r and δ_2,r (1 where the two indices are equal, else 0) put w, b_j and v_j in the columns r = 0, 1, 2."),
           symbol=T, index=(j, r), formula=w * sp.KroneckerDelta(r, 0) + h["b"].symbol[j] * sp.KroneckerDelta(r, 1) + h["v"].symbol[j] * sp.KroneckerDelta(r, 2),
           value=table, labels=(labels, ("w_j", "b_j", "v_j")), code="T = np.column_stack([np.full(len(b), w), b, v])",
           concept="uat.neurons", notes=_count_note(n, construction, unit))


_OUTPUT_WEIGHTS = {
    ("pairs", False): N_("Block k's left step carries +h_k and its right step -h_k: neuron j = 2k gets +h_k and neuron 2k + 1 gets -h_k, so (-1)^j gives the sign and ⌊j/2⌋ the block."),
    ("pairs", True): N_("Block k has four ReLU neurons, j = 4k to 4k + 3: its left step (a ramp) gets +h_k and -h_k, its right step -h_k and +h_k, so ⌊j/4⌋ is the block."),
    ("staircase", False): N_("Neuron j climbs from the height of block j - 1 to h_j, so it carries the rise h_j - h_(j-1); for j = 0 the factor 1 - δ_0,j is 0, and the rise is h_0 itself."),
    ("staircase", True): N_("Neurons 2k and 2k + 1 form the ramp of step k = ⌊j/2⌋ and carry + and - its rise h_k - h_(k-1); for k = 0 the factor 1 - δ_0,k is 0, and the rise is h_0 itself."),
}
_CONSTRUCTIONS = {
    "pairs": N_("Pairs: block k = h_k ({phi}(w(x − t_k)) − {phi}(w(x − t_{{k+1}}))). One neuron switches the block on at its left edge, a second switches it off at its right edge, so N = {N} separate blocks take two steps each."),
    "staircase": N_("Staircase, the lecture's 'one neuron per block': neighbouring blocks share an edge, so neuron k only has to step from the height h_{{k−1}} to h_k at t_k: f̂(x) = Σ_k (h_k − h_{{k−1}}) {phi}(w(x − t_k)), N = {N} blocks, one step each."),
}
_UNITS = {
    "sigmoid": N_("Each step is one sigmoid neuron σ(w x + b), nearly a step when w is large: {M} neurons."),
    "step": N_("Each step is one step neuron H(z) = 1 for z ≥ 0, else 0 (a block is closed on its left edge): the limit of the sigmoid as κ → ∞, exact but with no gradient to train by. {M} neurons."),
    "relu": N_("A ReLU cannot step by itself: the ramp r(z) = ReLU(z + 1/2) − ReLU(z − 1/2) climbs from 0 to 1 over −1/2 ≤ z ≤ 1/2, so each step takes two ReLU neurons (biases b + 1/2 and b − 1/2, output weights v and −v): {M} neurons."),
}


def _count_note(n: int, construction: str, unit: str) -> tuple[str, ...]:
    other = "staircase" if construction == "pairs" else "pairs"
    mine, theirs = (n * PER_BLOCK[c] * PER_STEP[unit] for c in (construction, other))
    return (_("{M} hidden neurons for N = {N} blocks; --construction {other} would take {K}.").format(M=mine, N=n, other=other, K=theirs),)


def _activation(unit: str, z):
    """φ(z) in SymPy: the activations block's sigmoid and ReLU, or the step [z ≥ 0]."""
    if unit == "step":
        return sp.Piecewise((1, z >= 0), (0, True))
    return activations.formula(unit, z)


def _output(d: Derivation, h: dict) -> None:
    n, unit, construction = h["N"].value, h["unit"].value, h["construction"].value
    count = n * PER_BLOCK[construction] * PER_STEP[unit]
    d.section(_("The network's output"), _("Every neuron at every grid point, then the weighted sum: the network's answer f̂(x_g)."))
    x, w, b = h["x"].symbol, h["w"].symbol, h["b"].symbol
    hidden = hidden_layer(h["x"].value, h["w"].value, h["b"].value, unit)
    code = {"sigmoid": "sigmoid(z)", "relu": "np.maximum(0, z)", "step": "(z >= 0) * 1.0"}[unit]
    h["a"] = d.step("hidden", _("Hidden activations"),
                    explanation=_("a_jg = {phi}(w x_g + b_j) = {phi}(w (x_g − t_e)): row j is neuron j along the grid; in NumPy {code}.").format(code=code, phi=NEURON[unit]),
                    symbol=sp.IndexedBase("a"), index=(j, g), formula=_activation(unit, w * x[g] + b[j]), value=hidden,
                    labels=(_labels(n, construction, unit), ()), code="a = hidden_layer(x, w, b, unit)", concept="uat.hidden",
                    notes=_sharpness_note(unit, h["kappa"].value, h["Delta"].value, h["w"].value * h["x"].value[None, :] + h["b"].value[:, None]))
    fhat = d.name(sp.IndexedBase("fhat"), "f̂", r"\hat{f}")
    h["fhat"] = d.step("output", _("Network output"), explanation=_("f̂_g = Σ_j v_j a_jg: the sum of all {M} weighted neurons, i.e. of the N blocks.").format(M=count),
                       symbol=fhat, index=(g,), formula=total(sp.Mul(h["v"].symbol[j], h["a"].symbol[j, g], evaluate=False), j, count // n * N),
                       value=h["v"].value @ hidden, code="fhat = v @ a", concept="uat.output")


def _sharpness_note(unit: str, kappa: float, width: float, z: np.ndarray) -> tuple[str, ...]:
    """What the steepness leaves inexact, computed from κ (and where a step sits on a grid point)."""
    if unit == "sigmoid":
        return (_("At the ends of [a, b] the outer neurons reach σ(κ/2) = {s:.12g}, not exactly 1; across an inner edge a sigmoid takes about 8/κ = {frac:.3g} of a block width to climb from 2% to 98%: a block is exact only as κ → ∞.").format(
            s=float(sigmoid(kappa / 2)), frac=8 / kappa),)
    if unit == "relu":
        return (_("Each ReLU ramp climbs from 0 to 1 over 1/κ = {frac:.3g} of a block width (Δ/κ = {ramp:.3g} in x); it is a step only as κ → ∞.").format(
            frac=1 / kappa, ramp=width / kappa),)
    if np.any(z == 0):
        return (_("Some grid point sits exactly on a block edge (w x + b = 0): H(0) = 1, so it belongs to the block on its right."),)
    return ()


def _errors(d: Derivation, h: dict) -> None:
    n = h["N"].value
    d.section(_("How close is f̂ to f?"), _("The error at every grid point, its largest and its mean value, and the picture."))
    f, fhat = h["f"], h["fhat"]
    eps = d.name(sp.IndexedBase("epsilon"), "ε", r"\varepsilon")
    error = np.abs(f.value - fhat.value)
    d.step("error", _("Error at every grid point"), symbol=eps, index=(g,), formula=sp.Abs(f.symbol[g] - fhat.symbol[g]), value=error,
           code="epsilon = np.abs(f - fhat)", concept="uat.error")
    worst = int(np.argmax(error))
    d.step("max_error", _("Largest error"), symbol=d.name(sp.Symbol("E_max"), "E_max", r"E_{\max}"), formula=Maximum(eps[g], g, 0, G - 1),
           value=float(error.max()), code="E_max = epsilon.max()", concept="uat.max_error",
           notes=(_("The largest error is at x = {x:.6g}, where f = {f:.6g} and f̂ = {fhat:.6g}.").format(
               x=h["x"].value[worst], f=f.value[worst], fhat=fhat.value[worst]),))
    d.step("mean_error", _("Mean error"), symbol=d.name(sp.Symbol("E_mean"), "E_mean", r"E_{\mathrm{mean}}"),
           formula=total(eps[g], g, G) / G, value=float(error.mean()), code="E_mean = epsilon.mean()", concept="uat.mean_error",
           substitute=True)
    series = (_("target f"), _("N = {n} blocks").format(n=n))
    d.step("plot", _("Target against approximation"),
           explanation=_("Row 0 is the target f, row 1 the network's f̂, both on the grid.") + " "
           + _("In the formula, δ_0,r and δ_1,r (1 where the two indices are equal, else 0) put f and f̂ in the rows r = 0 and 1."),
           symbol=sp.IndexedBase("P"), index=(r, g), formula=f.symbol[g] * sp.KroneckerDelta(r, 0) + fhat.symbol[g] * sp.KroneckerDelta(r, 1),
           value=np.array([f.value, fhat.value]), labels=(series, ()), code="P = np.array([f, fhat])", concept="uat.plot",
           chart=Chart(kind="line", x=tuple(float(v) for v in h["x"].value), series=series, x_label="x", y_label="f, f̂"))


def _table(d: Derivation, h: dict, expr: expressions.Expression) -> None:
    unit, construction = h["unit"].value, h["construction"].value
    d.section(_("More blocks: the error as N doubles"),
              _("The universal approximation theorem: for every continuous f on [a, b] and every tolerance there is an N (and weights) with |f − f̂| below it everywhere. It proves that such weights exist; it does not say that gradient descent from random weights finds them. Here they are written down, not trained."))
    table = error_table(expr.evaluate, h["I"].value, h["kappa"].value, unit, construction, list(SIZES))
    counts = ", ".join(str(n * PER_BLOCK[construction] * PER_STEP[unit]) for n in SIZES)
    d.step("error_table", _("Error for N = 4, 8, …, 64 blocks"),
           explanation=_("The same construction with N = {sizes} blocks ({counts} neurons; the same κ, so w = κ/Δ grows with N): row 0 the largest error, row 1 the mean, on the same grid. A table of runs, so it has no formula; its code line computes it again.").format(
               sizes=", ".join(map(str, SIZES)), counts=counts),
           symbol=d.name(sp.Symbol("E_N"), "E(N)", "E(N)"), value=table, depends_on=("function", "interval", "unit", "steepness", "construction"),
           labels=((_("max |f − f̂|"), _("mean |f − f̂|")), tuple(f"N={n}" for n in SIZES)),
           code=f"E_N = error_table(target, I, kappa, unit, construction, {list(SIZES)})", concept="uat.error_table",
           chart=Chart(kind="line", x=tuple(float(n) for n in SIZES), series=(_("max |f − f̂|"), _("mean |f − f̂|")), x_label=_("N (blocks)"), y_label=_("error")),
           notes=_trend_notes(table))


def _trend_notes(table: np.ndarray) -> tuple[str, ...]:
    """How the largest error changes at each doubling of N, computed from the table (a
    remark), and where it grows instead of falling (a caution)."""
    worst = table[0]
    ratios = ", ".join(f"{SIZES[q]}→{SIZES[q + 1]}: ×{worst[q + 1] / worst[q]:.3g}" if worst[q] > 0 else f"{SIZES[q]}→{SIZES[q + 1]}: {worst[q + 1]:.3g}"
                       for q in range(len(SIZES) - 1))
    notes = [_("Change of the largest error as N doubles: {ratios}.").format(ratios=ratios)]
    grew = [f"{SIZES[q]}→{SIZES[q + 1]}" for q in range(len(SIZES) - 1) if worst[q + 1] > worst[q] * (1 + 1e-9) and worst[q + 1] > 1e-12]
    if grew:
        notes.append(Caution(_("The largest error grows at {where}: where f is not smooth, or on this grid, doubling N need not help at every step.").format(where=", ".join(grew))))
    return tuple(notes)
