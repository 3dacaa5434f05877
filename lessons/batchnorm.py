"""Batch normalization: forward, backward through the batch statistics, running averages,
and the vanishing gradient that motivates it.

Follows Easy! Deep Learning #9. A mini-batch x (B samples b × d features j) is normalized
per feature over the batch: μ_j = (1/B) Σ_b x_bj, σ²_j = (1/B) Σ_b (x_bj - μ_j)² (biased),
x̂_bj = (x_bj - μ_j)/√(σ²_j + ε), and then re-scaled and re-shifted, y_bj = γ_j x̂_bj + β_j:
not just subtract-and-divide, since γ and β are learned. Backward from an upstream gradient
g = ∂L/∂y (Ioffe & Szegedy 2015, §3): ∂L/∂γ_j = Σ_b g_bj x̂_bj, ∂L/∂β_j = Σ_b g_bj,
∂L/∂x̂ = g γ, then ∂L/∂σ², ∂L/∂μ and ∂L/∂x_bj = (B ∂L/∂x̂_bj - Σ_b' ∂L/∂x̂_b'j -
x̂_bj Σ_b' ∂L/∂x̂_b'j x̂_b'j) / (B √(σ²_j + ε)). Running averages with momentum m as PyTorch
(running = (1 - m) running + m batch; the variance tracked unbiased) serve inference.
Finally σ'(z) ≤ 1/4, so a gradient through k sigmoid layers shrinks like a product of k
slopes: with the batch as pre-activations, the mean slope s̄ to the power k, as given and
after normalization. Layer norm (over the features of each sample) closes the lesson, as
what the transformer lesson uses. The math is the `normalization` block's.
"""


import numpy as np
import sympy as sp

from dlsteps.blocks import normalization as norm
from dlsteps.blocks.activations import formula as activation, sigmoid
from dlsteps.blocks.symbols import D, j, k, total
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.inputs import Given
from dlsteps.model import Caution, Derivation

META = {
    "title": "Batch normalization and the vanishing gradient",
    "lecture": "Easy! DL #9 (배치 정규화, vanishing gradient)",
    "summary": "batch mean, variance, normalize, γ/β; backward through the batch statistics; running averages; σ' over depth",
    "example": 'dlsteps batchnorm --x "1,50;2,60;3,70;4,80;5,90" --upstream "1,0;0,1;0,0;0,0;-1,-1" --momentum 0.5',
    "inputs": {
        "x": {"shape": "matrix N d", "default": "2,10;4,6;6,7;8,13",
              "help": "the mini-batch, one row per sample and one column per feature (also the sigmoid pre-activations of the depth table)"},
        "gamma": {"shape": "vector d", "default": "", "optional": True,
                  "help": "the scale γ, one per feature (default 1, PyTorch's initial value; drawn from 0.5 to 1.5 with --seed)"},
        "beta": {"shape": "vector d", "default": "", "optional": True,
                 "help": "the shift β, one per feature (default 0, PyTorch's initial value; drawn from -1 to 1 with --seed)"},
        "upstream": {"shape": "matrix N d", "default": "", "optional": True,
                     "help": "the upstream gradient g = dL/dy, the same shape as x (default 0.1,-0.2;-0.3,0.4;0.2,0.1;0.4,-0.3 for a 4x2 batch, else drawn with --seed or seed 0)"},
        "eps": {"shape": "scalar", "domain": "positive", "default": "1e-5", "help": "ε added to the variance (PyTorch's default 1e-5)"},
        "momentum": {"shape": "scalar", "domain": "nonnegative", "default": "0.1",
                     "help": "the weight m of the new batch in the running averages, 0 to 1 (PyTorch's default 0.1)"},
        "running_mean": {"shape": "vector d", "default": "", "optional": True,
                         "help": "the running mean before this batch (default 0, as PyTorch starts)"},
        "running_var": {"shape": "vector d", "domain": "nonnegative", "default": "", "optional": True,
                        "help": "the running variance before this batch (default 1, as PyTorch starts)"},
        "depth": {"shape": "count", "domain": "1..60", "default": "10", "help": "the number of layers K of the depth table"},
    },
}

NARROWEST = 1e-4
"""The smallest √(σ²_j + ε) whose gradients the block's finite differences (steps of 1e-5
at the centred batch) resolve."""
DIGITS, FLAT = 1e5, 1e6
"""float64 keeps about 16 digits of x: √(σ²_j + ε) below max|x_j| / DIGITS leaves x̂ decided
by the last digits of x, and below √(max|x_j| / FLAT) the rounding of μ_j outweighs a
gradient that is nearly 0 (two samples, or g along x̂). A feature whose values are all
equal has x - μ = 0 up to rounding and needs only NARROWEST."""


STEEPEST = 1e4
"""The largest |g γ| / √(σ² + ε): ∂L/∂x adds and cancels terms of that size, and its
rounding must stay below the finite-difference check's floor (about 1e-11)."""


def needed_width(x: np.ndarray) -> np.ndarray:
    """The smallest √(σ²_j + ε) for each feature whose values and gradients can be checked."""
    size = np.abs(x).max(axis=0)
    need = np.maximum(np.maximum(size / DIGITS, np.sqrt(size / FLAT)), NARROWEST)
    return np.where(np.ptp(x, axis=0) == 0, NARROWEST, need)


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with batch norm forward and backward, the running averages, the depth table."""
    h = _inputs(d, given)
    d.section(_("Batch statistics"), _("Each feature j (a column) is normalized with the mean and variance of its own values over the mini-batch (the rows b): B = {B} samples, d = {d} features.").format(
        B=h["x"].value.shape[0], d=h["x"].value.shape[1]))
    bn = norm.batch_norm(d, h["x"], h["gamma"], h["beta"], h["eps"])
    d.section(_("Backward through the batch statistics"),
              _("Given the upstream gradient g = ∂L/∂y. Every x_b'j moves every y_bj of its feature through μ_j and σ²_j, so ∂L/∂x is not just g γ / √(σ² + ε); the steps follow Ioffe & Szegedy (2015, §3), and each is checked by finite differences of the whole batch's loss."))
    grads = norm.batch_norm_backward(d, bn, h["upstream"])
    g = np.asarray(h["upstream"].value, float)
    grads.beta.notes += cancelled(grads.beta.value, g, "∂L/∂β")
    grads.gamma.notes += cancelled(grads.gamma.value, g * bn.xhat.value, "∂L/∂γ")
    d.section(_("Running averages for inference"),
              _("During training the running mean and variance are updated once per batch; at inference they replace the batch statistics. Shown: one update with this batch."))
    running = norm.running_statistics(d, bn, h["running_mean"], h["running_var"], h["momentum"])
    norm.batch_norm_eval(d, bn, running)
    d.section(_("Vanishing gradient: σ' over depth"),
              _("σ'(z) = σ(z)(1 - σ(z)) ≤ 1/4, with the maximum at z = 0. Backpropagating through k sigmoid layers multiplies the gradient by one σ' per layer (weights aside), so by at most (1/4)^k. A model, not a trained network: suppose each of k layers had pre-activations (the inputs z of its sigmoids) like this batch, and take each layer's factor as the batch's mean slope s̄; then the product is s̄^k, once for x as given and once for the normalized y."))
    _depth(d, h, bn)
    d.section(_("Beyond the lecture: layer normalization"),
              _("Layer norm takes the same steps across the features of each sample (a row) instead of down the batch, so it needs no batch and no running averages; the transformer lesson uses it. Here without γ and β."))
    norm.layer_norm(d, h["x"], eps=h["eps"], at="ln.", names={"mu": ("mu_ln", "μ", r"\mu"), "var": ("sigma2_ln", "σ²", r"\sigma^{2}"),
                                                                "xhat": ("xhat_ln", "x̂", r"\hat{x}")})


DEFAULT_UPSTREAM = [[0.1, -0.2], [-0.3, 0.4], [0.2, 0.1], [0.4, -0.3]]


def _inputs(d: Derivation, given: dict) -> dict:
    x = np.array(given["x"].value, dtype=float)
    _validate(x, float(given["eps"].value), float(given["momentum"].value))
    filled = _filled(given, x.shape, d.seed)
    _validate_upstream(x, filled["gamma"][0], filled["upstream"][0], float(given["eps"].value))
    described = {"gamma": (d.name(sp.IndexedBase("gamma"), "γ", r"\gamma"), _("scale γ")),
                 "beta": (d.name(sp.IndexedBase("beta"), "β", r"\beta"), _("shift β")),
                 "upstream": (sp.IndexedBase("g"), _("upstream gradient g = ∂L/∂y")),
                 "running_mean": (d.name(sp.IndexedBase("mu_bar"), "μ̄", r"\bar{\mu}"), _("running mean before this batch")),
                 "running_var": (d.name(sp.IndexedBase("var_bar"), "σ̄²", r"\bar{\sigma}^{2}"), _("running variance before this batch"))}
    h = {"x": d.given("x", sp.IndexedBase("x"), x, given["x"], _("the mini-batch (B samples × d features)"))}
    h.update({key: d.given(key, symbol, filled[key][0], filled[key][1], text) for key, (symbol, text) in described.items()})
    h["eps"] = d.given("eps", d.name(sp.Symbol("epsilon"), "ε", r"\varepsilon"), float(given["eps"].value), given["eps"], _("ε"), var="eps")
    h["momentum"] = d.given("momentum", d.name(sp.Symbol("momentum"), "m", "m"), float(given["momentum"].value), given["momentum"], _("momentum m"))
    h["depth"] = d.given("depth", sp.Symbol("K", integer=True, positive=True), given["depth"].value, given["depth"], _("layers K in the depth table"), var="K")
    return h


def _filled(given: dict, shape: tuple, seed: int | None) -> dict:
    """The optional inputs as typed, else PyTorch's starting values (γ = 1, β = 0, running
    mean 0 and variance 1) and the default upstream gradient; with --seed, γ, β and g drawn."""
    rng = np.random.default_rng(seed if seed is not None else 0)
    features = shape[1]
    drawn = {"gamma": np.round(rng.uniform(0.5, 1.5, features), 2), "beta": np.round(rng.uniform(-1, 1, features), 2),
             "upstream": np.round(rng.uniform(-1, 1, shape), 2)}
    starting = {"gamma": np.ones(features), "beta": np.zeros(features), "running_mean": np.zeros(features),
                "running_var": np.ones(features),
                "upstream": np.array(DEFAULT_UPSTREAM) if shape == (4, 2) and seed is None else drawn["upstream"]}
    origin = dict.fromkeys(starting, "default")
    if seed is not None:
        starting.update(gamma=drawn["gamma"], beta=drawn["beta"])
        origin.update(gamma="seed", beta="seed", upstream="seed")
    elif starting["upstream"] is drawn["upstream"]:
        origin["upstream"] = "seed 0"
    return {key: (np.array(given[key].value, dtype=float), given[key]) if given[key].value is not None
            else (starting[key], Given(None, "", origin[key])) for key in starting}


def _validate(x: np.ndarray, eps: float, momentum: float) -> None:
    """Refuse what batch norm cannot do with these numbers, one line naming the option."""
    if x.shape[0] < 2:
        raise InputError(_("--x: batch norm needs a batch of at least 2 samples (rows), got 1; with one sample x̂ = 0 and the unbiased variance divides by 0 (PyTorch refuses it in training too)"))
    if momentum > 1:
        raise InputError(_("--momentum: '{m:g}' must lie between 0 and 1 (the weight of the new batch)").format(m=momentum))
    need, width = needed_width(x), np.sqrt(x.var(axis=0) + eps)
    narrow = np.flatnonzero(width < need)
    if len(narrow):
        q = narrow[0]
        least = float(f"{1.1 * (need[q] ** 2 - x[:, q].var()):.2g}")  # rounded up: it must pass
        raise InputError(_("--eps: {eps:g} is too small for feature {q}, whose values (up to {size:.3g} in size) spread by only √(σ² + ε) = {width:.3g}: x̂ would hang on the last digits of x; use --eps {least:g} or more (PyTorch's default is 1e-5), or values that vary more").format(
            eps=eps, q=q, size=float(np.abs(x[:, q]).max()), width=width[q], least=max(least, float(f"{eps * 10:.2g}"))))


def _validate_upstream(x: np.ndarray, gamma: np.ndarray, upstream: np.ndarray, eps: float) -> None:
    """Refuse an upstream gradient so large that rounding in ∂L/∂x cannot be told from 0."""
    reach = np.abs(upstream * gamma).max(axis=0) / np.sqrt(x.var(axis=0) + eps)
    if reach.max() > STEEPEST:
        q = int(np.argmax(reach))
        raise InputError(_("--upstream: |g γ| / √(σ² + ε) reaches {reach:.3g} in feature {q}, above {limit:g}: the rounding in ∂L/∂x (about 1e-16 of that) could not be told from 0 by the finite-difference check; scale the upstream gradient down (every gradient is linear in it)").format(
            reach=float(reach[q]), q=q, limit=STEEPEST))


def _depth(d: Derivation, h: dict, bn) -> None:
    """Steps for the slopes of x as given and of y, their means, and the products over depth."""
    d.define(sigmoid)
    given = _slopes(d, h["x"], "given", _("as given"), ("ˣ", "x"))
    normalized = _slopes(d, bn.y, "normalized", _("normalized"), ("ʸ", "y"))
    depth = int(h["depth"].value)
    layers = np.arange(depth + 1)
    d.step("depth_bound", _("The bound (1/4)^k"), symbol=d.name(sp.IndexedBase("P_max"), "Pᵐᵃˣ", r"P^{\max}"), index=(k,), formula=sp.Rational(1, 4) ** k,
           value=0.25 ** layers.astype(float), code="P_max = 0.25 ** np.arange(K + 1)", concept="batchnorm.depth_bound",
           explanation=_("No product of k sigmoid slopes can exceed (1/4)^k: k = 0 .. K layers."))
    d.step("depth_given", _("Product over k layers, pre-activations as given"), symbol=d.name(sp.IndexedBase("P_given"), "Pˣ", "P^{x}"), index=(k,),
           formula=given.symbol ** k, value=given.value ** layers.astype(float), code=f"P_given = {given.var} ** np.arange(K + 1)",
           concept="batchnorm.depth_product")
    d.step("depth_normalized", _("Product over k layers, normalized pre-activations"), symbol=d.name(sp.IndexedBase("P_norm"), "Pʸ", "P^{y}"), index=(k,),
           formula=normalized.symbol ** k, value=normalized.value ** layers.astype(float), code=f"P_norm = {normalized.var} ** np.arange(K + 1)",
           concept="batchnorm.depth_product", notes=depth_notes(given.value, normalized.value, depth))


def _slopes(d: Derivation, z, tag: str, label: str, mark: tuple[str, str]):
    """Steps sigmoid_<tag>, slope_<tag>, mean_slope_<tag>; returns the mean slope."""
    Z = np.asarray(z.value, dtype=float)
    b, B = norm.b, norm.B
    a = d.name(sp.IndexedBase(f"a_{tag}"), "a" + mark[0], f"a^{{{mark[1]}}}")
    s = d.name(sp.IndexedBase(f"s_{tag}"), "s" + mark[0], f"s^{{{mark[1]}}}")
    values = sigmoid(Z)
    d.step(f"sigmoid_{tag}", _("Sigmoid of the pre-activations {label}").format(label=label), symbol=a, index=(b, j),
           formula=activation("sigmoid", z.symbol[b, j]), value=values, code=f"a_{tag} = sigmoid({z.var})", concept="batchnorm.sigmoid")
    slopes = values * (1 - values)
    d.step(f"slope_{tag}", _("Sigmoid slopes σ'(z) {label}").format(label=label), symbol=s, index=(b, j),
           formula=a[b, j] * (1 - a[b, j]), value=slopes, code=f"s_{tag} = a_{tag} * (1 - a_{tag})", concept="batchnorm.slope",
           notes=_slope_note(Z, slopes))
    return d.step(f"mean_slope_{tag}", _("Mean slope {label}").format(label=label), symbol=d.name(sp.Symbol(f"sbar_{tag}"), "s̄" + mark[0], rf"\bar{{s}}^{{{mark[1]}}}"),
                  formula=total(total(s[b, j], j, D), b, B) / (B * D), value=float(slopes.mean()), code=f"sbar_{tag} = s_{tag}.mean()",
                  concept="batchnorm.mean_slope", substitute=True)


FLAT_SLOPE = 0.025
"""A sigmoid slope below a tenth of its largest, 1/4 (|z| above about 3.6), is called flat."""


def _slope_note(z: np.ndarray, slopes: np.ndarray) -> tuple[str, ...]:
    """The largest and smallest slope; the smallest lies at the z farthest from 0, and is
    called flat only where it is (computed)."""
    q = np.unravel_index(np.argmin(slopes), slopes.shape)
    numbers = {"high": float(slopes.max()), "low": float(slopes[q]), "z": float(z[q])}
    if slopes[q] < FLAT_SLOPE:
        return (_("All slopes are at most 1/4 (here the largest is {high:.4g}); the smallest, {low:.3g}, is at z = {z:.4g}, where the sigmoid is flat").format(**numbers),)
    return (_("All slopes are at most 1/4 (here the largest is {high:.4g}); the smallest, {low:.3g}, is at z = {z:.4g}, the z farthest from 0").format(**numbers),)


def cancelled(value: np.ndarray, terms: np.ndarray, name: str) -> tuple[str, ...]:
    """A note for each entry of a sum down the batch (Σ_b terms_bj) that float64 cannot tell
    from 0: its terms cancel, and what is left is rounding (computed)."""
    value, terms = np.asarray(value, float), np.asarray(terms, float)
    floor = 4 * terms.shape[0] * np.finfo(float).eps * np.abs(terms).sum(axis=0)
    low = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    return tuple(Caution(_("{name}{j} = {value:.4g} is 0 up to float64 rounding: its terms cancel, and float64 keeps about 16 digits of each").format(
        name=name, j=str(q).translate(low), value=value[q])) for q in np.flatnonzero((value != 0) & (np.abs(value) <= floor)))


def depth_notes(given: float, normalized: float, depth: int) -> tuple[str, ...]:
    """The two products at k = K compared, computed from the slopes."""
    first, second = given**depth, normalized**depth
    underflow = first == 0 or second == 0  # slopes are positive: a product of 0 is float64's underflow
    if first == second == 0:
        verdict = _("both products underflow to 0 in float64, so they cannot be compared here")
    elif second == 0:
        verdict = _("normalized, the product underflows to 0")
    elif second > first:
        verdict = _("the normalized pre-activations keep {ratio:.3g} times more of the gradient").format(ratio=second / first) if first > 0 else _("as given, the product underflows to 0")
    elif second < first:
        verdict = _("here normalizing does not help: the pre-activations as given already sit where the sigmoid is steeper (their mean slope {g:.4g} > {n:.4g}); γ and β decide where y lands").format(g=given, n=normalized)
    else:
        verdict = _("both are equal here")
    note = _("After K = {K} layers: {first:.3g} as given, {second:.3g} normalized, at most (1/4)^{K} = {bound:.3g}; {verdict}").format(
        K=depth, first=first, second=second, bound=0.25**depth, verdict=verdict)
    return (Caution(note) if underflow else note,)
