"""An autoencoder x (n) → z (m) → x̂ (n): one forward pass, backpropagation and one update.

Follows Deep Learning 101 #9 and #10 (the autoencoder and its implementation), in their
order, with sigmoid on both layers and no bias (the lecture's network):

    encoder   u_i = Σ_k Wᵉ_ik x̃_k (+ bᵉ_i),   z_i = σ(u_i)          Wᵉ of shape (m, n)
    decoder   v_i = Σ_k Wᵈ_ik z_k (+ bᵈ_i),   x̂_i = σ(v_i)          Wᵈ of shape (n, m)
    loss      L = (1/n) Σ_i (x_i - x̂_i)²   (mse, the mean over the n outputs, no 1/2;
              `--loss half-sse|sse` choose 1/2 Σ or Σ)
    decoder   δᵈ_i = ∂L/∂x̂_i · x̂_i (1 - x̂_i),   ∂L/∂Wᵈ = δᵈ zᵀ,   ∂L/∂z = Wᵈᵀ δᵈ
    encoder   δᵉ_i = ∂L/∂z_i · z_i (1 - z_i),     ∂L/∂Wᵉ = δᵉ x̃ᵀ
    update    W′ = W - α ∂L/∂W for both matrices (and the biases, when given), then the
              loss L′ again with the new weights, and ΔL = L′ - L.

Wᵉ and Wᵈ are the issue's W_e and W_d (options --we, --wd).

The input x̃ is x itself, or in the denoising variant (`--noise ε`) the noisy x̃ = x + ε,
while the target stays the clean x. Biases (`--be`, `--bd`) go beyond the lecture; when
given they are updated with the weights. The dense layer, the sigmoid and the loss are
the `dense`, `activations` and `losses` blocks; this module tells the lecture's story.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import activations, dense, losses
from dlsteps.blocks.symbols import i, m, n, total
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck

META = {
    "title": "Autoencoder: reconstruction loss and backpropagation",
    "lecture": "DL101 #9, #10",
    "summary": "encoder z = σ(W_e x), decoder x̂ = σ(W_d z), MSE, dL/dW_d and dL/dW_e, one update",
    "example": "dlsteps autoencoder --x 1,0,0,1 --noise 0,0.3,0,-0.2 --lr 2",
    "inputs": {
        "x": {"shape": "vector n", "default": "1,0,0,1", "help": "the input x, also the target the decoder must reconstruct"},
        "we": {"shape": "matrix m n", "default": "0.1,0.2,0.3,0.4;0.5,0.6,0.7,0.8",
               "help": "the encoder weights W_e (one row per code unit)"},
        "wd": {"shape": "matrix n m", "default": "0.1,0.5;0.2,0.6;0.3,0.7;0.4,0.8",
               "help": "the decoder weights W_d (one row per output)"},
        "lr": {"shape": "scalar", "domain": "positive", "default": "1", "help": "the learning rate α"},
        "loss": {"shape": "choice", "choices": ["mse", "half-sse", "sse"], "default": "mse",
                 "help": "the squared error: mse = (1/n) Σ (x - x̂)², half-sse = 1/2 Σ, sse = Σ"},
        "noise": {"shape": "vector n", "default": "", "optional": True,
                  "help": "denoising: the noise ε added to the input, x̃ = x + ε (the target stays the clean x)"},
        "be": {"shape": "vector m", "default": "", "optional": True, "help": "an encoder bias b_e (none unless given)"},
        "bd": {"shape": "vector n", "default": "", "optional": True, "help": "a decoder bias b_d (none unless given)"},
    },
}

LAYERS = {
    "enc": {"dense": {"z": "u"}, "act": {"a": "z"}, "da": {"da": ("dz_du", "σ′ᵉ", r"{\sigma'}^{e}")},
            "delta": {"delta": ("delta_e", "δᵉ", r"\delta^{e}")}},
    "dec": {"dense": {"z": "v"}, "act": {"a": ("x_hat", "x̂", r"\hat{x}")},
            "da": {"da": ("dxhat_dv", "σ′ᵈ", r"{\sigma'}^{d}")},
            "delta": {"delta": ("delta_d", "δᵈ", r"\delta^{d}")}},
}
AFTER = {"enc": {"z": ("u_new", "u′", "u'")}, "enc_act": {"a": ("z_new", "z′", "z'")},
         "dec": {"z": ("v_new", "v′", "v'")}, "dec_act": {"a": ("x_hat_new", "x̂′", r"\hat{x}'")}}
SHOWN = {"W_e": ("Wᵉ", "{W^{e}}"), "W_d": ("Wᵈ", "{W^{d}}"), "b_e": ("bᵉ", "{b^{e}}"), "b_d": ("bᵈ", "{b^{d}}"),
         "x_tilde": ("x̃", r"\tilde{x}"), "epsilon": ("ε", r"\varepsilon"), "alpha": ("α", r"\alpha")}
FACTOR = {"half-sse": sp.Rational(1, 2), "sse": 1, "mse": 1 / n}
LOSS_CODE = {"half-sse": "0.5 * np.sum((x - x_hat_new) ** 2)", "sse": "np.sum((x - x_hat_new) ** 2)",
             "mse": "np.mean((x - x_hat_new) ** 2)"}


def sigmoid(v):
    """σ(v) as the activations block computes it (never overflows)."""
    return activations.values("sigmoid", v)


def _plus(value, bias):
    return value if bias is None else value + bias


def reconstruct(x_in, We, be, Wd, bd):
    """NumPy: (u, z, v, x̂) of the forward pass; a bias None counts as none."""
    u = _plus(np.dot(We, x_in), be)
    z = sigmoid(u)
    v = _plus(np.dot(Wd, z), bd)
    return u, z, v, sigmoid(v)


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the forward pass, the loss, both gradients, the update and L′."""
    h = _inputs(d, given)
    kind = given["loss"].value
    x_in = _noisy_input(d, h)
    enc, dec, loss = _forward(d, h, x_in, kind)
    fn = _whole_loss(h, x_in, kind)
    d.section(_("Decoder gradient"), _("The chain rule from the loss back to Wᵈ: ∂L/∂x̂, then σ'(v) = x̂(1 - x̂) written out, then ∂L/∂Wᵈ = δᵈ zᵀ. The decoder comes first: the encoder's gradient needs ∂L/∂z, which the decoder passes back."))
    dec_grads = _backward(d, dec, loss.gradient, "dec", fn, input_grad=True)
    d.section(_("Encoder gradient"), _("∂L/∂z from the decoder, times σ'(u) = z(1 - z) written out, gives δᵉ; then ∂L/∂Wᵉ = δᵉ {x}ᵀ with the encoder's input {x}.").format(x=_shown(d, x_in)))
    enc_grads = _backward(d, enc, dec_grads.x, "enc", fn)
    d.section(_("Gradient-descent update"), _("Every parameter moves against its gradient by the learning rate α: W′ = W - α ∂L/∂W{bias}.").format(
        bias=_(", and the same for the biases") if h["be"] is not None or h["bd"] is not None else ""))
    new_dec = dense.update_layer(d, dec[0], dec_grads, h["lr"], at="dec.")
    new_enc = dense.update_layer(d, enc[0], enc_grads, h["lr"], at="enc.")
    _loss_after(d, h, x_in, new_enc, new_dec, loss.loss, kind, (dec_grads, enc_grads))


def _inputs(d: Derivation, given: dict) -> dict:
    """Record the inputs and return their handles (None for a bias or noise not given)."""
    for plain, (unicode, latex) in SHOWN.items():
        d.name(sp.Symbol(plain), unicode, latex)
    h = {"x": d.given("x", sp.IndexedBase("x"), _vector(given["x"]), given["x"], _("input and target x")),
         "We": d.given("we", sp.IndexedBase("W_e"), _vector(given["we"]), given["we"], _("encoder weights Wᵉ, shape (m, n)")),
         "Wd": d.given("wd", sp.IndexedBase("W_d"), _vector(given["wd"]), given["wd"], _("decoder weights Wᵈ, shape (n, m)")),
         "lr": d.given("lr", sp.Symbol("alpha"), float(given["lr"].value), given["lr"], _("learning rate α"))}
    optional = {"noise": ("noise", "epsilon", _("noise ε added to the input")),
                "be": ("be", "b_e", _("encoder bias bᵉ")), "bd": ("bd", "b_d", _("decoder bias bᵈ"))}
    for key, (name, symbol, text) in optional.items():
        value = given[name].value
        h[key] = None if value is None else d.given(name, sp.IndexedBase(symbol), _vector(given[name]), given[name], text)
    return h


def _vector(item) -> np.ndarray:
    return np.array(item.value, dtype=float)


def _shown(d: Derivation, handle) -> str:
    """How the handle's symbol is written on the terminal (x̂ for x_hat)."""
    return dense.shown(d, handle)[0]


def _noisy_input(d: Derivation, h: dict):
    """The encoder's input: x, or the step x̃ = x + ε in the denoising variant."""
    if h["noise"] is None:
        return h["x"]
    d.section(_("Noisy input (denoising)"), _("A denoising autoencoder sees a corrupted input x̃ = x + ε but must reconstruct the clean x: the loss compares x̂ with x, not with x̃."))
    x, eps = h["x"], h["noise"]
    return d.step("noisy_input", _("Noisy input"), explanation=_("Add the noise ε to the clean input, element by element."),
                  symbol=sp.IndexedBase("x_tilde"), index=(i,), formula=sp.Add(x.symbol[i], eps.symbol[i], evaluate=False),
                  value=x.value + eps.value, code="x_tilde = x + epsilon", concept="autoencoder.noisy_input")


def _forward(d: Derivation, h: dict, x_in, kind: str):
    """Encoder, decoder and the reconstruction loss L (before the update)."""
    no_bias = _("no bias, as in the lecture")
    n_, m_ = np.shape(h["We"].value)[1], np.shape(h["We"].value)[0]
    d.section(_("Encoder"), _("Compress the n = {n} inputs into a code of m = {m} numbers, z = σ(Wᵉ {x}), sigmoid activation; {bias}.").format(
        n=n_, m=m_, x=_shown(d, x_in), bias=_("with the bias bᵉ (beyond the lecture)") if h["be"] is not None else no_bias))
    enc = _layer(d, h["We"], x_in, h["be"], "enc.", LAYERS["enc"]["dense"], LAYERS["enc"]["act"], (m, n))
    d.section(_("Decoder"), _("Expand the code back to n = {n} outputs x̂ = σ(Wᵈ z), sigmoid activation; {bias}.").format(
        n=n_, bias=_("with the bias bᵈ (beyond the lecture)") if h["bd"] is not None else no_bias))
    dec = _layer(d, h["Wd"], enc[1], h["bd"], "dec.", LAYERS["dec"]["dense"], LAYERS["dec"]["act"], (n, m))
    d.section(_("Reconstruction loss"), _("The target is the clean input x itself. {convention}").format(convention=_CONVENTION[kind]()))
    loss = losses.squared_error(d, dec[1], h["x"], kind, count=n)
    loss.loss.explanation = _("Here the target t is the clean input x and the output o is x̂.") + " " + loss.loss.explanation
    loss.loss.notes += _unreachable_note(h["x"].value)
    return enc, dec, loss


def _layer(d: Derivation, W, x, b, at: str, names: dict, act_names: dict, sizes: tuple):
    """One dense layer and its sigmoid, with explanations in this lesson's names: (layer, activation)."""
    layer = dense.forward(d, W, x, b, at=at, names=names, count={"out": sizes[0], "in": sizes[1]})
    out = activations.activate(d, layer.z, "sigmoid", at=at, names=act_names)
    pre, a, W_, x_ = _shown(d, layer.z), _shown(d, out), _shown(d, W), _shown(d, x)
    layer.z.explanation = _("{pre}_i = Σ_k {W}_ik {x}_k{bias}: {W} has shape ({out}, {inp}) = (out, in), as PyTorch's nn.Linear; each {pre}_i is a weighted sum of the inputs.").format(
        pre=pre, W=W_, x=x_, out=sizes[0], inp=sizes[1], bias=f" + {_shown(d, b)}_i" if b is not None else "")
    out.explanation = _("{a}_i = σ({pre}_i) = 1 / (1 + exp(-{pre}_i)), between 0 and 1.").format(a=a, pre=pre)
    return layer, out


_CONVENTION = {
    "mse": lambda: _("--loss mse: the mean over the n outputs, without 1/2 (PyTorch's MSELoss)."),
    "half-sse": lambda: _("--loss half-sse: one half of the sum over the n outputs, not the mean."),
    "sse": lambda: _("--loss sse: the sum over the n outputs, without 1/2, not the mean."),
}


def _unreachable_note(x: np.ndarray) -> tuple[str, ...]:
    """A note when some target lies outside (0, 1), which a sigmoid output never reaches."""
    outside = np.flatnonzero((x <= 0) | (x >= 1))
    if not len(outside):
        return ()
    return (_("x̂ = σ(v) lies strictly between 0 and 1, so the targets x_{which} = {values} can only be approached, never reached: L > 0 for any weights").format(
        which=", x_".join(map(str, outside)), values=", ".join(f"{x[q]:.4g}" for q in outside)),)


def _whole_loss(h: dict, x_in, kind: str):
    """role -> GradientCheck of the whole reconstruction loss as a function of one quantity
    (u, z, v, We, be, Wd, bd), everything else held at its value.

    The engine differences with steps up to 1e-3 in the quantity; a step in Wᵉ moves v by
    up to |x̃| |Wᵈ| / 4 times as much, which for large weights leaves the range where the
    differences are accurate. So each check differences g(p) = L(p₀ + s (p - p₀)) / s,
    the same loss along the same line, with the same gradient at p₀ and rounding in
    proportion, but s times shorter steps, s = 1 / (the largest such gain, at least 1)."""
    x, xi = h["x"].value, np.asarray(x_in.value, float)
    params = {key: (None if h[key] is None else h[key].value) for key in ("We", "be", "Wd", "bd")}
    u, z, v, _x_hat = reconstruct(xi, params["We"], params["be"], params["Wd"], params["bd"])
    points = {"u": u, "z": z, "v": v, **params}
    spread = max(1.0, float(np.max(np.abs(params["Wd"]))) / 4)
    gains = {"u": spread, "be": spread, "We": spread * max(1.0, float(np.max(np.abs(xi)))),
             "z": max(1.0, float(np.max(np.abs(params["Wd"])))), "v": 1.0, "Wd": 1.0, "bd": 1.0}

    def loss_of(role, point):
        p = {**points, role: point}
        if role in ("We", "be"):
            p["u"] = _plus(np.dot(p["We"], xi), p["be"])
        if role in ("We", "be", "u"):
            p["z"] = sigmoid(p["u"])
        if role != "v":
            p["v"] = _plus(np.dot(p["Wd"], p["z"]), p["bd"])
        return losses.squared_error_value(kind, sigmoid(p["v"]), x)

    def check(role):
        start, scale = np.asarray(points[role], float), 1 / gains[role]
        return GradientCheck(lambda point: loss_of(role, start + scale * (point - start)) / scale, start)

    return check


ROLES = {"enc": ("u", "We", "be"), "dec": ("v", "Wd", "bd")}


def _backward(d: Derivation, layer_pair, grad, which: str, fn, input_grad: bool = False):
    """σ'(pre-activation), δ and the layer's gradients (dense.Gradients), each gradient
    checked by finite differences of the whole loss; explanations in this lesson's names."""
    layer, out = layer_pair
    pre, weights, bias = ROLES[which]
    at, names = f"{which}.", LAYERS[which]
    prime = activations.derivative(d, layer.z, out, "sigmoid", at=at, names=names["da"])
    delta = activations.delta(d, grad, layer.z, prime, "sigmoid", at=at, names=names["delta"], check=fn(pre))
    checks = {"W": fn(weights), "b": fn(bias) if layer.b is not None else None, "x": fn("z")}
    grads = dense.backward(d, layer, delta, at=at, checks=checks, input_grad=input_grad)
    _explain_backward(d, layer, out, prime, delta, grads)
    return grads


def _explain_backward(d: Derivation, layer, out, prime, delta, grads) -> None:
    """The blocks' explanations, rewritten with this layer's symbols (z is the code here)."""
    pre, a, W, x, dl = _shown(d, layer.z), _shown(d, out), _shown(d, layer.W), _shown(d, layer.x), _shown(d, delta)
    prime.explanation = _("σ'({pre}_i) = σ({pre}_i)(1 - σ({pre}_i)) = {a}_i (1 - {a}_i), written out with the {a} already computed; the next step calls it {s}_i.").format(
        pre=pre, a=a, s=_shown(d, prime))
    delta.explanation = _("Chain rule: {d}_i = ∂L/∂{pre}_i = ∂L/∂{a}_i · σ'({pre}_i); {a}_i depends on {pre}_i alone, so the product is element by element (⊙).").format(d=dl, pre=pre, a=a)
    grads.W.explanation = _("∂{pre}_i/∂{W}_ij = {x}_j, so ∂L/∂{W}_ij = {d}_i {x}_j: in matrix form ∂L/∂{W} = {d} {x}ᵀ, the outer product, of the same shape as {W}.").format(pre=pre, W=W, x=x, d=dl)
    if grads.b is not None:
        grads.b.explanation = _("∂{pre}_i/∂{b}_i = 1, so ∂L/∂{b}_i = {d}_i.").format(pre=pre, b=_shown(d, layer.b), d=dl)
    if grads.x is not None:
        grads.x.explanation = _("{x}_j feeds every {pre}_i through {W}_ij, so ∂L/∂{x}_j = Σ_i {W}_ij {d}_i: in matrix form {W}ᵀ {d}. It is the gradient the encoder needs.").format(x=x, pre=pre, W=W, d=dl)


def _loss_after(d: Derivation, h: dict, x_in, new_enc, new_dec, before, kind: str, grads: tuple) -> None:
    """The forward pass again with the updated weights, the loss L′ and the change ΔL = L′ - L."""
    d.section(_("Loss after the update"), _("The same input through the updated network: did one step of size α reduce the reconstruction loss?"))
    enc = _layer(d, new_enc.W, x_in, new_enc.b, "after.enc.", AFTER["enc"], AFTER["enc_act"], (m, n))
    dec = _layer(d, new_dec.W, enc[1], new_dec.b, "after.dec.", AFTER["dec"], AFTER["dec_act"], (n, m))
    x_hat, x = dec[1], h["x"]
    squares = total((x.symbol[i] - x_hat.symbol[i]) ** 2, i, n)
    value = losses.squared_error_value(kind, x_hat.value, x.value)
    after = d.step("loss_after", _("Loss after the update"), explanation=_CONVENTION[kind](),
                   symbol=d.name(sp.Symbol("L_new"), "L′", "L'"), value=value, code="L_new = " + LOSS_CODE[kind],
                   formula=squares if kind == "sse" else sp.Mul(FACTOR[kind], squares, evaluate=False),
                   concept=f"losses.{kind}", substitute=True)
    zero = all(not np.any(g.value) for pair in grads for g in (pair.W, pair.b) if g is not None)
    d.step("loss_change", _("Change of the loss"), explanation=_("ΔL = L′ - L: negative when the update reduced the loss."),
           symbol=d.name(sp.Symbol("Delta_L"), "ΔL", r"\Delta L"), formula=after.symbol - before.symbol,
           value=value - before.value, code=f"Delta_L = L_new - {before.var}", concept="autoencoder.loss_change",
           substitute=True, notes=_change_note(before.value, value, h["lr"].value, zero))


def _change_note(before: float, after: float, lr: float, zero: bool) -> tuple[str, ...]:
    """What the update did to the loss, from the numbers."""
    if after < before:
        return (_("the loss fell from {a:.6g} to {b:.6g} ({p:.3g}% lower)").format(a=before, b=after, p=100 * (before - after) / before),)
    if after == before and zero:
        return (Caution(_("the loss did not change ({a:.6g}): every gradient is exactly 0 in float64 (saturated sigmoids or an exact reconstruction), so the update left the weights where they were").format(a=before)),)
    if after == before:
        return (Caution(_("the loss did not change in float64 ({a:.6g}): this step of α = {lr:.4g} is too small to show in it").format(a=before, lr=lr)),)
    return (Caution(_("the loss did not decrease: it rose from {a:.6g} to {b:.6g}. The gradient describes the loss only near the old weights, and a step of α = {lr:.4g} went too far along it (overshoot); a small enough α lowers the loss, since the step is along -∂L/∂W").format(
        a=before, b=after, lr=lr)),)
