"""A convolutional network by hand: kernels as pattern detectors, stride, padding, pooling,
flatten, dense, softmax, and (beyond the lecture) the backward pass to the kernels and the image.

Follows Deep Learning 101 #1 (합성곱신경망 CNN) and #2. Default: a 6×6 digit "1" (X) and a
6×6 digit "0" (X′), two 3×3 kernels, a vertical line (K¹) and a curve (K², the top-left arc
of a 0), stride 1, no padding, so 4×4 feature maps, 2×2 pooling to 2×2, flatten (8), a dense
layer to the two classes {1, 0} and softmax with cross-entropy:

    P_ij = X_(i-p, j-p), 0 outside X                 n' = ⌊(n + 2p - k)/s⌋ + 1
    Y^c_ij = Σ_a Σ_b P_(i s + a, j s + b) K^c_ab       cross-correlation (no kernel flip)
    M^c_ij = max_u max_v Y^c_(i q + u, j q + v),  A^c_ij = Σ_u Σ_v Y^c_(i q + u, j q + v) / q²
    f = [M¹ row by row; M² row by row]   o = W f (+ b)   y = softmax(o)   L = -Σ_k t_k log y_k

The strongest response max_ij Y_ij of each kernel on each image makes the table of which
kernel responds to which image: the line to the 1, the curve to the 0. Stride 1 is set
against stride 2. Backward: ∂L/∂o = y - t, the dense layer, back through flatten and
pooling (max pooling sends a window's gradient to its first maximum, row by row, as PyTorch
does), ∂L/∂K_ab = Σ_ij ∂L/∂Y_ij P_(i s + a, j s + b), and ∂L/∂X through the convolution.
The math is the `convolution`, `dense` and `softmax_ce` blocks'.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import convolution as conv
from dlsteps.blocks import dense, softmax_ce
from dlsteps.blocks.convolution import conv2d
from dlsteps.errors import InputError
from dlsteps.inputs import Given
from dlsteps.i18n import _
from dlsteps.model import Derivation, GradientCheck

META = {
    "title": "Convolutional neural network: kernels, pooling and the backward pass",
    "lecture": "DL101 #1 (합성곱신경망 CNN), #2",
    "summary": "convolution with stride and padding, the feature-map size, max and average pooling, flatten, dense, softmax; which kernel responds to which image; gradients of the kernels and the image",
    "example": "dlsteps cnn --stride 2 --padding 1 --pool avg",
    "inputs": {
        "image": {"shape": "matrix n n", "default": "0,0,1,0,0,0;0,1,1,0,0,0;0,0,1,0,0,0;0,0,1,0,0,0;0,0,1,0,0,0;0,0,1,0,0,0",
                  "help": "the image X run through the network, n×n (default: a 6×6 digit 1)"},
        "image2": {"shape": "matrix n n", "default": "0,1,1,1,1,0;1,0,0,0,0,1;1,0,0,0,0,1;1,0,0,0,0,1;1,0,0,0,0,1;0,1,1,1,1,0",
                   "help": "a second image X′ of the same size, for the table of which kernel responds to which image (default: a 6×6 digit 0)"},
        "kernel1": {"shape": "matrix k k", "default": "0,1,0;0,1,0;0,1,0", "help": "the first kernel K¹, k×k (default: a 3×3 vertical line)"},
        "kernel2": {"shape": "matrix k k", "default": "0,1,1;1,0,0;1,0,0",
                    "help": "the second kernel K², the same size (default: a 3×3 curve, the top-left arc of a 0)"},
        "stride": {"shape": "count", "domain": "1..4", "default": "1", "help": "the stride s: the kernel moves s pixels at a time"},
        "padding": {"shape": "count", "domain": "0..3", "default": "0", "help": "the padding p: rings of zeros around the image"},
        "pool_size": {"shape": "count", "domain": "1..4", "default": "2", "help": "the side q of the pooling windows (stride q; the lecture's 2: 4×4 -> 2×2)"},
        "pool": {"shape": "choice", "choices": ["max", "avg"], "default": "max",
                 "help": "which pooling feeds the dense layer (max and average are both shown)"},
        "dense": {"shape": "matrix * *", "default": "", "optional": True,
                  "help": "the dense weights W, shape (2, 2m²) for the classes (1, 0) and the flattened maps; default: small fixed values, or drawn with --seed"},
        "bias": {"shape": "vector *", "default": "", "optional": True, "help": "a dense bias b, one per class (1, 0); none by default"},
        "target": {"shape": "choice", "choices": ["1", "0"], "default": "1", "help": "the true class of X: the digit 1 or 0"},
    },
}

CLASSES = ("1", "0")
n = sp.Symbol("n", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)
STAGES = {"X": 0, "P": 1, "K1": 1, "K2": 1, "Y1": 2, "Y2": 2, "pooled1": 3, "pooled2": 3, "f": 4, "W": 4, "b": 4, "z": 5}
"""Where each quantity enters the network: the loss recomputes from there on."""


def _drawn(value: np.ndarray, origin: str) -> Given:
    """A matrix the lesson filled in, as an input: its value, text as it could be typed, origin."""
    return Given(value, ";".join(",".join(f"{x:g}" for x in row) for row in np.atleast_2d(value)), origin)


# ----------------------------------------------------------------------------- NumPy
def forward(q: dict, start: int = 0) -> dict:
    """Every value of the network from stage `start` on (see STAGES), plain NumPy. A part
    may carry a leading axis of versions of it (the finite differences ask for the loss at
    every moved point at once); what follows from it then has that axis too."""
    s, size = q["s"], q["q"]
    if start <= 0:
        q["P"] = np.pad(q["X"], [(0, 0)] * (np.ndim(q["X"]) - 2) + [(q["p"], q["p"])] * 2)
    if start <= 1:
        q["Y1"], q["Y2"] = conv2d(q["P"], q["K1"], s), conv2d(q["P"], q["K2"], s)
    if start <= 2:
        reduce = np.max if q["mode"] == "max" else np.mean
        q["pooled1"], q["pooled2"] = (reduce(_windows(q[key], size), axis=-1) for key in ("Y1", "Y2"))
    if start <= 3:
        maps = np.broadcast_arrays(q["pooled1"], q["pooled2"])
        q["f"] = np.concatenate([M.reshape(*M.shape[:-2], -1) for M in maps], axis=-1)
    if start <= 4:
        q["z"] = (q["W"] @ q["f"][..., None])[..., 0] + q["b"]
    return q


def _windows(Y: np.ndarray, q: int) -> np.ndarray:
    """conv.windows of Y, of every version of it at once (its last two axes are the map)."""
    m, versions = Y.shape[-1] // q, Y.shape[:-2]
    cut = Y[..., :m * q, :m * q].reshape(*versions, m, q, m, q)
    return cut.swapaxes(-3, -2).reshape(*versions, m, m, q * q)


def losses(parts: dict, **change) -> np.ndarray:
    """The cross-entropy with some parts changed, recomputed from where they enter: one loss
    for each version of the changed part (a scalar for one)."""
    q = forward({**parts, **change}, min(STAGES[key] for key in change))
    shifted = q["z"] - q["z"].max(axis=-1, keepdims=True)
    return -(q["t"] * (shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)))).sum(axis=-1)


def loss(parts: dict, **change) -> float:
    """The cross-entropy with some parts changed (see `losses`)."""
    return float(losses(parts, **change))


def routing(parts: dict, **change) -> np.ndarray:
    """The first maximum of every pooling window of both maps, with some parts changed (for
    each version of them: see `forward`)."""
    q = forward({**parts, **change}, min(STAGES[key] for key in change))
    return np.stack(np.broadcast_arrays(*(_windows(q[key], q["q"]).argmax(axis=-1) for key in ("Y1", "Y2"))), axis=-3)


def check(parts: dict, key: str) -> GradientCheck:
    """Finite differences of the whole loss in `key`; with max pooling, entries whose move
    would change a window's first maximum are left out (not across a kink)."""
    point = np.asarray(parts[key], dtype=float)
    bends = parts["mode"] == "max" and STAGES[key] <= 2
    where = conv.kinks(point, lambda x: routing(parts, **{key: x}), batched=True) if bends else None
    return GradientCheck(lambda x: loss(parts, **{key: x}), point, where, lambda xs: losses(parts, **{key: xs}))


def check_entry(parts: dict) -> GradientCheck:
    """Finite differences of the whole loss in K¹_00 alone (not across a kink)."""
    def change(x):
        kernel = np.array(np.broadcast_to(parts["K1"], (*np.shape(x), *parts["K1"].shape)))  # a kernel for each x
        kernel[..., 0, 0] = x
        return {"K1": kernel}

    point = np.asarray(parts["K1"][0, 0], dtype=float)
    where = conv.kinks(point, lambda x: routing(parts, **change(x)), batched=True) if parts["mode"] == "max" else None
    return GradientCheck(lambda x: loss(parts, **change(x)), point, where, lambda xs: losses(parts, **change(xs)))


def check_via(parts: dict, c: int) -> GradientCheck:
    """Finite differences of the whole loss in P through kernel c alone (the other map held)."""
    point, kernel = np.asarray(parts["P"], dtype=float), parts[f"K{c}"]
    change = lambda x: {f"Y{c}": conv2d(x, kernel, parts["s"])}
    where = conv.kinks(point, lambda x: routing(parts, **change(x)), batched=True) if parts["mode"] == "max" else None
    return GradientCheck(lambda x: loss(parts, **change(x)), point, where, lambda xs: losses(parts, **change(xs)))


# ----------------------------------------------------------------------------- inputs
def _dense(d: Derivation, given: dict, features: int) -> tuple[np.ndarray, object]:
    """W (2, features): typed, drawn with --seed, or fixed: +0.15 / -0.1 on the first / second
    map's features for class 1, the opposite for class 0 (the line votes 1, the curve 0)."""
    if given["dense"].value is not None:
        W = np.array(given["dense"].value, dtype=float)
        if W.shape != (2, features):
            raise InputError(_("--dense: got a {r}x{c} matrix; expected a 2x{f} matrix (classes 1 and 0 by the {f} flattened pooled entries)").format(
                r=W.shape[0], c=W.shape[1], f=features))
        return W, given["dense"]
    if d.seed is not None:
        W = np.random.default_rng(d.seed).uniform(-0.5, 0.5, (2, features)).round(2)
        return W, _drawn(W, "seed")
    half = np.repeat([0.15, -0.1], features // 2)
    W = np.stack([half, -half])
    return W, _drawn(W, "default")


def _bias(given: dict) -> np.ndarray | None:
    if given["bias"].value is None:
        return None
    b = np.array(given["bias"].value, dtype=float)
    if b.shape != (2,):
        raise InputError(_("--bias: got {c} entries; expected a vector of length 2 (one per class 1, 0)").format(c=b.size))
    return b


def _sizes(given: dict) -> tuple[int, int]:
    """(n', m): the feature map's and the pooled map's sides; InputError where they are empty."""
    side, kernel = len(given["image"].value), len(given["kernel1"].value)
    s, p, q = (given[key].value for key in ("stride", "padding", "pool_size"))
    if kernel > side + 2 * p:
        raise InputError(_("--kernel1: a {k}x{k} kernel does not fit the {n}x{n} image padded by {p} ({m}x{m}); expected kernels of side at most {m}").format(
            k=kernel, n=side, p=p, m=side + 2 * p))
    out = (side + 2 * p - kernel) // s + 1
    if q > out:
        raise InputError(_("--pool-size: {q} is larger than the {o}x{o} feature map; expected a whole number from 1 to {o}").format(q=q, o=out))
    return out, out // q


def _inputs(d: Derivation, given: dict) -> dict:
    """Record every input; returns the handles by name."""
    _out, m = _sizes(given)
    W, source = _dense(d, given, 2 * m * m)
    b = _bias(given)
    count = lambda name, low: sp.Symbol(name, integer=True, **({"positive": True} if low else {"nonnegative": True}))
    h = {key: d.given(key, d.name(sp.IndexedBase(symbol), shown, latex), np.array(given[key].value, dtype=float), given[key], text)
         for key, symbol, shown, latex, text in (
             ("image", "X", "X", "X", _("the image run through the network")),
             ("image2", "X2", "X′", "X'", _("a second image, for the response table")),
             ("kernel1", "K1", "K¹", "K^{1}", _("the first kernel")),
             ("kernel2", "K2", "K²", "K^{2}", _("the second kernel")))}
    for key, symbol, low, text in (("stride", "s", 1, _("stride")), ("padding", "p", 0, _("padding")), ("pool_size", "q", 1, _("pooling window side"))):
        h[key] = d.given(key, count(symbol, low), given[key].value, given[key], text)
    h["W"] = d.given("dense", sp.IndexedBase("W"), W, source, _("dense weights, shape (2, 2m²): rows are the classes 1, 0"), var="W")
    h["b"] = None if b is None else d.given("bias", sp.IndexedBase("b"), b, given["bias"], _("dense bias"), var="b")
    target = np.eye(2)[CLASSES.index(given["target"].value)]
    h["t"] = d.given("target", sp.IndexedBase("t"), target, given["target"], _("the target over the classes (1, 0), one-hot"))
    h["mode"] = given["pool"].value
    return h


# ----------------------------------------------------------------------------- sections
def derive(d: Derivation, given: dict) -> None:
    """Fill `d`: convolution, the response table, stride 1 against 2, pooling, the classifier,
    and the backward pass."""
    h = _inputs(d, given)
    _convolution(d, h, given)
    _responses(d, h, given)
    _strides(d, h)
    _pooling(d, h)
    _classifier(d, h, given)
    _backward(d, h)


def _convolution(d: Derivation, h: dict, given: dict) -> None:
    """Steps padded, out_size, window_products, window_sum, conv1, conv2."""
    d.section(_("Convolution"), _("A kernel is a small pattern. Laid over the image, it multiplies each pixel under it by its own entry and adds the products: the sum is large where the image looks like the kernel. Sliding it over every position gives a feature map. As in PyTorch, this is cross-correlation: the kernel is not flipped."))
    h["P"] = conv.pad(d, h["image"], h["padding"], n)
    h["n_out"] = conv.output_size(d, h["image"], h["kernel1"], h["stride"], h["padding"], (n, k))
    conv.window(d, h["P"], h["kernel1"], k, names={"sum": ("Y1_00", "Y¹₀₀", "Y^{1}_{00}")})
    for c in (1, 2):
        h[f"Y{c}"] = conv.convolve(d, h["P"], h[f"kernel{c}"], h["stride"], k, id=f"conv{c}",
                                   names={"Y": (f"Y{c}", f"Y{'¹²'[c - 1]}", f"Y^{{{c}}}")},
                                   title=_("Feature map of kernel {c}: every window").format(c=c))


def _responses(d: Derivation, h: dict, given: dict) -> None:
    """Steps other.padded, other.conv1, other.conv2, peak1, peak2, other.peak1, other.peak2, responses."""
    d.section(_("Which kernel responds to which image"),
              _("The same kernels on a second image X′. A kernel's strongest response, the largest entry of its feature map, says how well its pattern appears anywhere in the image."))
    other = conv.pad(d, h["image2"], h["padding"], n, at="other.", names={"P": ("P2", "P′", "P'")})
    other.explanation = _("X′ padded the same way, with p rows and columns of zeros around it; with p = 0, P′ is X′.")
    maps = {}
    for c in (1, 2):
        maps[c] = conv.convolve(d, other, h[f"kernel{c}"], h["stride"], k, at="other.", id=f"conv{c}",
                                names={"Y": (f"Y2{c}", f"Y′{'¹²'[c - 1]}", f"Y'^{{{c}}}")},
                                title=_("Feature map of kernel {c} on X′").format(c=c))
        maps[c].explanation = _("Kernel {c} slid over P′ exactly as over P above: at each position, multiply element by element and add.").format(c=c)
    peaks = [conv.peak(d, h[f"Y{c}"], h["n_out"], id=f"peak{c}", names={"R": (f"R{c}", f"R{'¹²'[c - 1]}", f"R^{{{c}}}")},
                       title=_("Strongest response of kernel {c} on X").format(c=c)) for c in (1, 2)]
    peaks += [conv.peak(d, maps[c], h["n_out"], at="other.", id=f"peak{c}", names={"R": (f"R2{c}", f"R′{'¹²'[c - 1]}", f"R'^{{{c}}}")},
                        title=_("Strongest response of kernel {c} on X′").format(c=c)) for c in (1, 2)]
    table = np.array([[peaks[0].value, peaks[1].value], [peaks[2].value, peaks[3].value]])
    d.step("responses", _("Which kernel responds to which image"),
           explanation=_("Rows: the images; columns: the kernels; each entry the kernel's strongest response on that image."),
           symbol=sp.Symbol("R"), value=table, depends_on=tuple(step.id for step in peaks), concept="cnn.responses",
           code=f"R = np.array([[{peaks[0].var}, {peaks[1].var}], [{peaks[2].var}, {peaks[3].var}]])",
           labels=(_row_labels(given), _column_labels(given)), display="heatmap", notes=_winners(table, given))


def _row_labels(given: dict) -> tuple[str, str]:
    default = [given[key].origin == "default" for key in ("image", "image2")]
    return (_("X (the 1)") if default[0] else "X", _("X′ (the 0)") if default[1] else "X′")


def _column_labels(given: dict) -> tuple[str, str]:
    default = [given[key].origin == "default" for key in ("kernel1", "kernel2")]
    return (_("K¹ line") if default[0] else "K¹", _("K² curve") if default[1] else "K²")


def _winners(table: np.ndarray, given: dict) -> tuple[str, ...]:
    """For each image, which kernel responds more, from the numbers."""
    notes = []
    for row, image in zip(table, _row_labels(given)):
        if row[0] == row[1]:
            notes.append(_("on {image} both kernels respond equally ({r:g})").format(image=image, r=row[0]))
        else:
            win = int(row[1] > row[0])
            notes.append(_("on {image}, {kernel} responds more ({big:g} > {small:g})").format(
                image=image, kernel=_column_labels(given)[win], big=row[win], small=row[1 - win]))
    return tuple(notes)


def _strides(d: Derivation, h: dict) -> None:
    """Steps out_size_other, conv1_other."""
    s = int(h["stride"].value)
    other = 2 if s == 1 else 1
    d.section(_("Stride {s} against stride {o}").format(s=s, o=other),
              _("The same kernel K¹ on the same P, taken every {o} pixel(s) instead of every {s}.").format(s=s, o=other))
    alt = d.given("stride_other", sp.Symbol("s'", integer=True, positive=True), other, None,
                  _("the stride compared"), var="s_other")
    size = conv.output_size(d, h["image"], h["kernel1"], alt, h["padding"], (n, k), id="out_size_other",
                            names={"n_out": ("n_other", "n″", "n''")})
    size.explanation = _("The same count at the stride s' = {o}: n″ = ⌊(n + 2p - k)/s'⌋ + 1 per side.").format(o=other)
    Z = conv.convolve(d, h["P"], h["kernel1"], alt, k, id="conv1_other", names={"Y": "Z"},
                      title=_("Feature map of kernel 1 at stride {o}").format(o=other))
    Z.explanation = _("Kernel 1 slid over P again, now s' = {o} pixel(s) at a time: at each position, multiply element by element and add.").format(o=other)
    small, large = (Z.value, h["Y1"].value) if other > s else (h["Y1"].value, Z.value)
    step = max(s, other) // min(s, other)
    if np.array_equal(small, large[::step, ::step][: len(small), : len(small)]):
        Z.notes += (_("the stride-{big} map is the stride-{little} map at rows and columns 0, {step}, {twice}, …: {a}×{a} instead of {b}×{b}").format(
            big=max(s, other), little=min(s, other), step=step, twice=2 * step, a=len(small), b=len(large)),)
    h["n_other"] = size


def _pooling(d: Derivation, h: dict) -> None:
    """Steps pooled_size, max_pool1, first_max1, avg_pool1, max_pool2, first_max2, avg_pool2."""
    d.section(_("Pooling"), _("Each q × q window of a feature map becomes one number: its largest (max pooling) or its mean (average pooling). The map shrinks (the lecture's 4×4 to 2×2) and keeps whether a pattern was found, not exactly where. Max pooling ties are common with images of 0s and 1s: the first maximum, row by row, is the one that counts (as in PyTorch)."))
    size = None
    for c in (1, 2):
        names = {"M": (f"M{c}", f"M{'¹²'[c - 1]}", f"M^{{{c}}}"), "r": (f"r{c}", f"r{'¹²'[c - 1]}", f"r^{{{c}}}"),
                 "A": (f"A{c}", f"A{'¹²'[c - 1]}", f"A^{{{c}}}")}
        pooled = conv.pool(d, h[f"Y{c}"], h["pool_size"], h["n_out"], names=names, size_step=size, suffix=str(c))
        pooled.max.title = _("Max pooling of map {c}").format(c=c)
        pooled.first.title = _("Where each maximum of map {c} sits").format(c=c)
        pooled.avg.title = _("Average pooling of map {c}").format(c=c)
        size, h[f"pool{c}"] = pooled.size, pooled


def _classifier(d: Derivation, h: dict, given: dict) -> None:
    """Steps flatten, dense.linear, shift, exp, sum, softmax, log_softmax, loss."""
    mode = h["mode"]
    d.section(_("Flatten, dense layer, softmax"),
              _("The {mode}-pooled maps become one vector f (channel, row, column: PyTorch's order), a dense layer W of shape (2, 2nₚ²) scores the classes 1 and 0, and softmax with cross-entropy compares the scores with the target.").format(
                  mode=_("max") if mode == "max" else _("average")) + _filled(d, given))
    pooled = [getattr(h[f"pool{c}"], mode) for c in (1, 2)]
    h["f"] = conv.flatten(d, pooled, h["pool1"].size)
    first, second = (dense.shown(d, M)[0] for M in pooled)
    h["f"].explanation = _("The pooled maps one after another, each row by row: entry (i, j) of {first} goes to l = i nₚ + j, entry (i, j) of {second} to l = nₚ² + i nₚ + j (PyTorch's order: channel, row, column).").format(
        first=first, second=second)
    h["layer"] = dense.forward(d, h["W"], h["f"], h["b"], at="dense.", names={"z": "o"})
    h["layer"].z.explanation = _("{pre}_i = Σ_k {W}_ik {x}_k{bias}: {W} has shape ({out}, {inp}) = (out, in), as PyTorch's nn.Linear; each {pre}_i is a weighted sum of the inputs.").format(
        pre="o", W="W", x="f", out=2, inp=len(h["f"].value), bias=" + b_i" if h["b"] is not None else "")
    h["sm"] = softmax_ce.softmax(d, h["layer"].z, count=h["layer"].sizes[0])
    h["sm"].probs.labels = ((), CLASSES)
    h["loss"] = softmax_ce.cross_entropy(d, h["sm"], h["t"])
    hot = int(np.argmax(h["t"].value))
    h["loss"].notes = (_("t is one-hot at class {c} (entry {q}), so L = -log y_{q} = -log {y:.4g}").format(
        c=CLASSES[hot], q=hot, y=h["sm"].probs.value[hot]),)


def _filled(d: Derivation, given: dict) -> str:
    if given["dense"].value is not None:
        return ""
    if d.seed is not None:
        return " " + _("W was not typed: drawn with NumPy's default_rng({seed}), uniform in [-0.5, 0.5], two decimals.").format(seed=d.seed)
    return " " + _("W was not typed (the lecture gives none): 0.15 on the first map's entries and -0.1 on the second's for class 1, the opposite for class 0.")


def _explain_dense(grads) -> None:
    """The dense layer's gradients told in this lesson's symbols: o = W f (+ b)."""
    grads.W.explanation = _("∂{pre}_i/∂{W}_ij = {x}_j, so ∂L/∂{W}_ij = {d}_i {x}_j: in matrix form ∂L/∂{W} = {d} {x}ᵀ, the outer product, of the same shape as {W}.").format(
        pre="o", W="W", x="f", d="∂L/∂o")
    if grads.b is not None:
        grads.b.explanation = _("∂{pre}_i/∂{b}_i = 1, so ∂L/∂{b}_i = {d}_i.").format(pre="o", b="b", d="∂L/∂o")
    grads.x.explanation = _("f_j feeds every o_i through W_ij, so ∂L/∂f_j = Σ_i W_ij ∂L/∂o_i: in matrix form Wᵀ ∂L/∂o, which goes back through the flattening to the pooled maps.")


def _parts(h: dict) -> dict:
    """The plain numbers of the network, for the whole-loss checks."""
    parts = {key: np.asarray(h[name].value, dtype=float) for key, name in
             (("X", "image"), ("K1", "kernel1"), ("K2", "kernel2"), ("W", "W"), ("t", "t"))}
    parts.update(s=int(h["stride"].value), p=int(h["padding"].value), q=int(h["pool_size"].value), mode=h["mode"],
                 b=np.zeros(2) if h["b"] is None else np.asarray(h["b"].value, dtype=float))
    return forward(parts)


def _backward(d: Derivation, h: dict) -> None:
    """Steps gradient, dense.dL_dW, (dense.dL_db), dense.dL_dx, dL_dpooled1, dL_dpooled2, dL_dY1, dL_dY2,
    kernel_terms, kernel_entry, dL_dK1, dL_dK2, dL_dP_via1, dL_dP_via2, dL_dP, dL_dX."""
    d.section(_("Backward pass (beyond #1)"),
              _("Lecture #1 stops at the forward pass; here the loss is followed back to the kernels and the image. Every gradient is checked against finite differences of the whole loss."))
    parts = _parts(h)
    delta = softmax_ce.gradient(d, h["sm"], h["t"], h["loss"])
    delta.title = _("Gradient at the logits: y - t")
    delta.explanation = _("Softmax and cross-entropy together: ∂L/∂o_j = Σ_k ∂L/∂y_k · ∂y_k/∂o_j = Σ_k (-t_k / y_k) · y_k(δ_kj - y_j) = y_j - t_j, because the target sums to 1 (dlsteps softmax works it out term by term).")
    grads = dense.backward(d, h["layer"], delta, at="dense.", checks={key: check(parts, key) for key in ("W", "b")} | {"x": check(parts, "f")})
    _explain_dense(grads)
    mode, pooled = h["mode"], [getattr(h[f"pool{c}"], h["mode"]) for c in (1, 2)]
    back = conv.unflatten(d, grads.x, pooled, h["pool1"].size, checks=[check(parts, f"pooled{c}") for c in (1, 2)],
                          ids=("dL_dpooled1", "dL_dpooled2"))
    for step, M, place in zip(back, pooled, ("i nₚ + j", "nₚ² + i nₚ + j")):
        step.explanation = _("Undo the flattening: entry (i, j) of {M} receives the gradient of f at l = {l}.").format(M=dense.shown(d, M)[0], l=place)
    dY = [conv.pool_backward(d, h[f"Y{c}"], h[f"pool{c}"], back[c - 1], h["pool_size"], mode, check=check(parts, f"Y{c}"))
          for c in (1, 2)]
    conv.kernel_entry(d, h["P"], h["kernel1"], dY[0], h["stride"], h["n_out"],
                      names={"g00": ("dL_dK1_00", "∂L/∂K¹₀₀", r"\frac{\partial L}{\partial K^{1}_{00}}")}, check=check_entry(parts))
    for c in (1, 2):
        kernel = conv.kernel_gradient(d, h["P"], h[f"kernel{c}"], dY[c - 1], h["stride"], h["n_out"], check=check(parts, f"K{c}"))
        kernel.title = _("Gradient of kernel {c}").format(c=c)
    via = []
    for c in (1, 2):
        via.append(conv.contribution(d, h["P"], h[f"kernel{c}"], dY[c - 1], h["stride"], h["n_out"], k, id=f"dL_dP_via{c}",
                                     names={"D": (f"D{c}", f"Δ{'¹²'[c - 1]}", rf"\Delta^{{{c}}}")},
                                     check=check_via(parts, c)))
        via[-1].title = _("Gradient of the padded input through kernel {c}").format(c=c)
    dP = conv.input_gradient(d, h["P"], via, check=check(parts, "P"))
    conv.crop(d, dP, h["image"], h["padding"], check=check(parts, "X"))
