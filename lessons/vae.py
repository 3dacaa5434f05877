"""A variational autoencoder: one forward pass, the reparameterization trick, the
gradients through it, one update, and generation from the prior.

Follows Deep Learning 101 #23 and #24 (VAE), in their order. x (n entries in [0, 1]) →
hidden h (H) → the mean μ and the log-variance log σ² of q(z|x) = N(μ, diag σ²) (m
each) → a sample z → the decoder's x̂ (n):

    encoder      u_i = Σ_k Wʰ_ik x_k + bʰ_i,   h_i = tanh(u_i)                Wʰ (H, n)
    heads        μ_i = Σ_k W^μ_ik h_k + b^μ_i,  log σ²_i = Σ_k Wᵛ_ik h_k + bᵛ_i  (m, H)
    trick        σ_i = exp(½ log σ²_i),   z_i = μ_i + σ_i ε_i,   ε ~ N(0, I) given or seeded
    decoder      v_i = Σ_k Wᵈ_ik z_k + bᵈ_i,   x̂_i = sigmoid(v_i)             Wᵈ (n, m)
    loss         L = L_rec + β KL,  KL = ½ Σ_i (μ_i² + σ_i² - log σ²_i - 1)
                 L_rec: --recon bce (default) -Σ_i [x_i log x̂_i + (1 - x_i) log(1 - x̂_i)]
                 or mse Σ_i (x_i - x̂_i)²; --reduction sum (default; with the KL summed
                 over the m latents, L is the negative ELBO) or mean (divided by n)
    backward     ∂L/∂x̂ → δᵈ = ∂L/∂x̂ ⊙ x̂(1 - x̂) → ∂L/∂Wᵈ = δᵈ zᵀ, ∂L/∂z = Wᵈᵀ δᵈ
                 ∂z_i/∂μ_i = 1,  ∂z_i/∂log σ²_i = ½ σ_i ε_i,
                 ∂KL/∂μ_i = μ_i,  ∂KL/∂log σ²_i = ½ (σ_i² - 1)
                 ∂L/∂μ_i = ∂L/∂z_i + β μ_i,  ∂L/∂log σ²_i = ∂L/∂z_i ½ σ_i ε_i + β ½ (σ_i² - 1)
                 ∂L/∂h = W^μᵀ ∂L/∂μ + Wᵛᵀ ∂L/∂log σ², δʰ = ∂L/∂h ⊙ (1 - h²), ∂L/∂Wʰ = δʰ xᵀ
    update       p′ = p - η ∂L/∂p for all eight weights and biases, L′ with the same ε
    generation   z = ε_new ~ N(0, I) alone (the prior), x̂_gen = sigmoid(Wᵈ′ z + bᵈ′)

ε is drawn outside the network, so z is a differentiable function of μ and log σ²: that
is the trick; every gradient is checked by finite differences of the whole loss with ε
held fixed. Weights not typed are small fixed numbers at the default sizes (n = 4, H = 3,
m = 2; sizes follow whatever is typed); with `--seed`, or at other sizes, they are drawn
with NumPy's default_rng, as are ε and ε_new (from N(0, I)) and, with `--seed`, x (uniform
in [0, 1]). A log σ² above 100 is refused (exit 2), as are numbers that overflow float64
and BCE at an output that rounds to exactly 0 or 1 before the update. The dense
layers, activations and losses are the `dense`, `activations` and `losses` blocks; the
reparameterization, the KL and the summed BCE are this lesson's own steps.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import activations, dense, losses
from dlsteps.blocks.symbols import H, i, j, m, n, total, written_product, written_sum
from dlsteps.errors import InputError
from dlsteps.i18n import N_, _
from dlsteps.inputs import Given
from dlsteps.model import Caution, Derivation, GradientCheck

META = {
    "title": "VAE: the reparameterization trick, KL and one update",
    "lecture": "DL101 #23, #24",
    "summary": "encoder to μ and log σ², z = μ + σ ⊙ ε, decoder, reconstruction + closed-form KL, gradients through the trick, one update, generation from ε",
    "example": "dlsteps vae --eps 1,0.5 --recon mse --reduction mean --beta 0.5",
    "inputs": {
        "x": {"shape": "vector n", "domain": "nonnegative", "default": "1,0,0.5,1",
              "help": "the input x, entries in [0, 1], also the reconstruction target"},
        "eps": {"shape": "vector m", "default": "", "optional": True,
                "help": "the noise ε ~ N(0, I) of z = μ + σ ⊙ ε (default 0.5,-1; with --seed drawn)"},
        "eps_new": {"shape": "vector m", "default": "", "optional": True,
                    "help": "a new ε for generation, z = ε alone (default -0.3,0.8; with --seed drawn)"},
        "recon": {"shape": "choice", "choices": ["bce", "mse"], "default": "bce",
                  "help": "the reconstruction loss: binary cross-entropy or squared error"},
        "reduction": {"shape": "choice", "choices": ["sum", "mean"], "default": "sum",
                      "help": "the reconstruction summed over the n outputs (the negative ELBO) or their mean"},
        "beta": {"shape": "scalar", "domain": "nonnegative", "default": "1", "help": "the weight β of the KL term"},
        "lr": {"shape": "scalar", "domain": "positive", "default": "0.5", "help": "the learning rate η"},
        "wh": {"shape": "matrix H n", "default": "", "optional": True, "help": "encoder weights Wʰ, one row per hidden unit (default fixed small numbers; with --seed drawn)"},
        "bh": {"shape": "vector H", "default": "", "optional": True, "help": "encoder bias bʰ (default 0)"},
        "wmu": {"shape": "matrix m H", "default": "", "optional": True, "help": "weights W^μ of the μ head (default fixed; with --seed drawn)"},
        "bmu": {"shape": "vector m", "default": "", "optional": True, "help": "bias b^μ of the μ head (default 0)"},
        "wv": {"shape": "matrix m H", "default": "", "optional": True, "help": "weights Wᵛ of the log σ² head (default fixed; with --seed drawn)"},
        "bv": {"shape": "vector m", "default": "", "optional": True, "help": "bias bᵛ of the log σ² head (default 0)"},
        "wd": {"shape": "matrix n m", "default": "", "optional": True, "help": "decoder weights Wᵈ, one row per output (default fixed; with --seed drawn)"},
        "bd": {"shape": "vector n", "default": "", "optional": True, "help": "decoder bias bᵈ (default 0)"},
    },
}

DEFAULTS = {
    "wh": [[0.2, -0.1, 0.3, 0.1], [-0.3, 0.2, 0.1, 0.4], [0.1, 0.3, -0.2, 0.2]], "bh": [0.0, 0.0, 0.0],
    "wmu": [[0.5, -0.3, 0.2], [-0.4, 0.6, 0.1]], "bmu": [0.0, 0.0],
    "wv": [[0.3, 0.2, -0.5], [-0.2, 0.4, 0.3]], "bv": [0.0, 0.0],
    "wd": [[0.6, -0.2], [-0.5, 0.3], [0.4, 0.5], [-0.1, -0.4]], "bd": [0.0, 0.0, 0.0, 0.0],
    "eps": [0.5, -1.0], "eps_new": [-0.3, 0.8],
}
PARAMS = {  # input name: (plain symbol, Unicode, LaTeX, description)
    "wh": ("W_h", "Wʰ", "{W^{h}}", N_("encoder weights Wʰ, shape (H, n)")), "bh": ("b_h", "bʰ", "{b^{h}}", N_("encoder bias bʰ")),
    "wmu": ("W_mu", "W^μ", r"{W^{\mu}}", N_("μ-head weights W^μ, shape (m, H)")), "bmu": ("b_mu", "b^μ", r"{b^{\mu}}", N_("μ-head bias b^μ")),
    "wv": ("W_v", "Wᵛ", "{W^{v}}", N_("log σ²-head weights Wᵛ, shape (m, H)")), "bv": ("b_v", "bᵛ", "{b^{v}}", N_("log σ²-head bias bᵛ")),
    "wd": ("W_d", "Wᵈ", "{W^{d}}", N_("decoder weights Wᵈ, shape (n, m)")), "bd": ("b_d", "bᵈ", "{b^{d}}", N_("decoder bias bᵈ")),
}
SHAPES = {"wh": ("H", "n"), "bh": ("H",), "wmu": ("m", "H"), "bmu": ("m",), "wv": ("m", "H"), "bv": ("m",),
          "wd": ("n", "m"), "bd": ("n",), "eps": ("m",), "eps_new": ("m",)}
LAYERS = (("enc", "wh", "bh"), ("mu", "wmu", "bmu"), ("logvar", "wv", "bv"), ("dec", "wd", "bd"))
LOGVAR_LIMIT = 100.0
"""The largest log σ² accepted: σ² = e^100 ≈ 2.7e43. Far beyond any trained VAE; beyond it
σ ε swamps every other number in float64 (at 709, σ² itself overflows), so the finite
differences that check each gradient cannot follow."""


def sigmoid(v):
    """sigmoid(v) as the activations block computes it (never overflows)."""
    return activations.values("sigmoid", v)


# ---- the whole model in NumPy: finite-difference checks and the range guard ------------

def forward(P: dict, x: np.ndarray, eps: np.ndarray, fixed: dict | None = None) -> dict:
    """Every forward quantity; `fixed` overrides one of u, h, mu, logvar, z, v (the rest follow)."""
    f, q = fixed or {}, {}
    q["u"] = f.get("u", P["wh"] @ x + P["bh"])
    q["h"] = f.get("h", np.tanh(q["u"]))
    q["mu"] = f.get("mu", P["wmu"] @ q["h"] + P["bmu"])
    q["logvar"] = f.get("logvar", P["wv"] @ q["h"] + P["bv"])
    q["sigma"] = np.exp(0.5 * q["logvar"])
    q["z"] = f.get("z", q["mu"] + q["sigma"] * eps)
    q["v"] = f.get("v", P["wd"] @ q["z"] + P["bd"])
    q["x_hat"] = sigmoid(q["v"])
    return q


def recon_value(kind: str, reduction: str, x_hat, x) -> float:
    """The reconstruction loss: BCE or squared error, summed or averaged over the outputs."""
    if kind == "mse":
        return losses.squared_error_value("mse" if reduction == "mean" else "sse", x_hat, x)
    return losses.bce_value(x_hat, x) * (1 if reduction == "mean" else np.size(x))


def kl_value(mu, logvar) -> float:
    """KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² - log σ² - 1), σ² = exp(log σ²), for the
    finite differences: σ² - 1 - log σ² as expm1(log σ²) - log σ², which keeps its digits
    where σ² is close to 1 (a large β would otherwise magnify the rounding of the cancellation)."""
    return float(0.5 * np.sum(mu**2 + (np.expm1(logvar) - logvar)))


def whole_loss(P, x, eps, kind, reduction, beta, fixed=None) -> float:
    """L = L_rec + β KL at the weights P (one forward quantity possibly held at `fixed`), for
    the finite differences. BCE is taken from the logit, log(1 + e^v) - x v: the same
    function, without the rounding of 1 - x̂ where x̂ is close to 1."""
    with np.errstate(all="ignore"):
        q = forward(P, x, eps, fixed)
        if kind == "bce":
            terms = np.logaddexp(0, q["v"]) - x * q["v"]
            rec = float(terms.mean() if reduction == "mean" else terms.sum())
        else:
            rec = recon_value(kind, reduction, q["x_hat"], x)
        return rec + beta * kl_value(q["mu"], q["logvar"])


def _checks(P, x, eps, kind, reduction, beta):
    """role -> GradientCheck of the whole loss by that weight or forward quantity, ε fixed."""
    start = forward(P, x, eps)

    def check(role):
        if role in P:
            return GradientCheck(lambda p: whole_loss({**P, role: p}, x, eps, kind, reduction, beta), np.array(P[role]))
        return GradientCheck(lambda p: whole_loss(P, x, eps, kind, reduction, beta, {role: p}), start[role])
    return check


# ---- inputs -----------------------------------------------------------------------------

def _sizes(given: dict) -> dict:
    """n from x; H and m from whatever typed input carries them, else the defaults 3 and 2."""
    sizes = {"n": len(given["x"].value)}
    for name, dims in SHAPES.items():
        value = given[name].value
        if value is not None:
            shape = np.shape(value) if len(dims) == 2 else (len(value),)
            sizes.update({dim: size for dim, size in zip(dims, shape) if dim != "n"})
    return {"H": 3, "m": 2, **sizes}


def _fill(d: Derivation, given: dict, name: str, sizes: dict) -> tuple[np.ndarray, Given]:
    """The input `name` as typed, else its fixed default (at the default sizes, without
    --seed), else drawn with default_rng([seed, k]): ε from N(0, I), weights from
    N(0, 0.5²), biases from N(0, 0.1²); rounded to two decimals so that they can be typed back."""
    shape = tuple(sizes[dim] for dim in SHAPES[name])
    if given[name].value is not None:
        return np.array(given[name].value, dtype=float), given[name]
    if d.seed is None and np.shape(DEFAULTS[name]) == shape:
        return np.array(DEFAULTS[name], dtype=float), Given(DEFAULTS[name], _text(DEFAULTS[name]), "default")
    rng = np.random.default_rng([0 if d.seed is None else d.seed, list(SHAPES).index(name)])
    scale = 1.0 if name.startswith("eps") else 0.1 if name.startswith("b") else 0.5
    value = np.round(rng.normal(0, scale, shape), 2) + 0.0
    return value, Given(value.tolist(), _text(value), "seed" if d.seed is not None else "default")


def _text(value) -> str:
    rows = np.atleast_2d(np.asarray(value, dtype=float))
    return ";".join(",".join(f"{number:g}" for number in row) for row in rows)


def _x(d: Derivation, source: Given) -> tuple[np.ndarray, Given]:
    """x as typed (every entry at most 1), or with --seed and x not typed, drawn uniform in [0, 1]."""
    x = np.array(source.value, dtype=float)
    above = np.flatnonzero(x > 1)
    if above.size:
        raise InputError(_("--x: '{token}' is above 1; expected entries in [0, 1], the range of the decoder's sigmoid output").format(
            token=f"{x[above[0]]:g}"))
    if d.seed is None or source.origin != "default":
        return x, source
    x = np.round(np.random.default_rng([d.seed, len(SHAPES)]).uniform(0, 1, len(x)), 2)
    return x, Given(x.tolist(), _text(x), "seed")


def _inputs(d: Derivation, given: dict) -> dict:
    """Record every input (filled in where not typed); returns their handles by input name."""
    sizes = _sizes(given)
    x, source = _x(d, given["x"])
    h = {"x": d.given("x", sp.IndexedBase("x"), x, source, _("input and reconstruction target x"))}
    for name, (plain, unicode, latex, text) in PARAMS.items():
        value, source = _fill(d, given, name, sizes)
        h[name] = d.given(name, d.name(sp.IndexedBase(plain), unicode, latex), value, source, _(text), var=plain)
    for name, plain, unicode, latex, text in (("eps", "eps", "ε", r"\varepsilon", _("noise ε of the reparameterization")),
                                              ("eps_new", "eps_new", "ε_new", r"\varepsilon^{\mathrm{new}}", _("new noise ε for generation"))):
        value, source = _fill(d, given, name, sizes)
        h[name] = d.given(name, d.name(sp.IndexedBase(plain), unicode, latex), value, source, text, var=plain)
    h["beta"] = d.given("beta", d.name(sp.Symbol("beta"), "β", r"\beta"), float(given["beta"].value), given["beta"], _("weight β of the KL term"))
    h["lr"] = d.given("lr", d.name(sp.Symbol("eta"), "η", r"\eta"), float(given["lr"].value), given["lr"], _("learning rate η"))
    return h


# ---- the range where float64 holds every number of the lesson ---------------------------

def _gradients(P, q, x, eps, kind, reduction, beta) -> dict:
    """∂L/∂p for every weight and bias (NumPy, for the range guard only)."""
    per = len(x) if reduction == "mean" else 1
    xh = q["x_hat"]
    g = 2 * (xh - x) / per if kind == "mse" else (xh - x) / (xh * (1 - xh)) / per
    dd = g * xh * (1 - xh)
    dz = P["wd"].T @ dd
    dmu = dz + beta * q["mu"]
    dlv = dz * 0.5 * q["sigma"] * eps + beta * 0.5 * (q["sigma"] ** 2 - 1)
    de = (P["wmu"].T @ dmu + P["wv"].T @ dlv) * (1 - q["h"] ** 2)
    return {"wh": np.outer(de, x), "bh": de, "wmu": np.outer(dmu, q["h"]), "bmu": dmu,
            "wv": np.outer(dlv, q["h"]), "bv": dlv, "wd": np.outer(dd, q["z"]), "bd": dd}


def _finite(values) -> bool:
    return all(np.all(np.isfinite(value)) for value in values)


def _guard(P, x, eps, kind, reduction, beta, lr) -> None:
    """Refuse (exit 2, one line naming an option) numbers that float64 cannot carry through
    the lesson: σ² = exp(log σ²) overflowing, BCE at an output of exactly 0 or 1, gradients
    or an update that overflow."""
    with np.errstate(all="ignore"):
        logvar = P["wv"] @ np.tanh(P["wh"] @ x + P["bh"]) + P["bv"]
        if logvar.max() > LOGVAR_LIMIT:
            raise InputError(_("--wv: log σ² reaches {v:.6g} here; this lesson accepts log σ² up to {limit:g} (σ² = e^{limit:g} ≈ {s:.2g}), beyond which σ ε swamps every other number in float64 (and at 709 σ² overflows); choose smaller --wv, --bv or --wh").format(
                v=logvar.max(), limit=LOGVAR_LIMIT, s=np.exp(LOGVAR_LIMIT)))
        q = forward(P, x, eps)
        edge = np.flatnonzero(~np.isfinite(1 / (q["x_hat"] * (1 - q["x_hat"]))))
        if kind == "bce" and edge.size:
            raise InputError(_("--recon: bce needs 0 < x̂ < 1, but x̂_{i} = sigmoid({v:.6g}) rounds to exactly {edge:g} in float64, so log(x̂) or log(1 - x̂) is log 0 and ∂L/∂x̂ divides by 0; use --recon mse or smaller --wd, --bd").format(
                i=edge[0], v=q["v"][edge[0]], edge=q["x_hat"][edge[0]]))
        grads = _gradients(P, q, x, eps, kind, reduction, beta)
        if not _finite(grads.values()):
            raise InputError(_("--wv: log σ² = {v:.6g} makes σ² = {s:.3g}, so large that the gradients overflow float64; choose smaller --wv, --bv or --beta").format(
                v=logvar.max(), s=np.exp(logvar.max())))
        new = {key: P[key] - lr * grads[key] for key in P}
        after = forward(new, x, eps) if _finite(new.values()) and (new["wv"] @ np.tanh(new["wh"] @ x + new["bh"]) + new["bv"]).max() <= LOGVAR_LIMIT else None
    if after is None or not _finite(after.values()):
        raise InputError(_("--lr: one step of η = {lr:g} moves the weights so far that log σ² exceeds {limit:g} after the update, or another value overflows float64; choose a smaller --lr").format(
            lr=lr, limit=LOGVAR_LIMIT))


# ---- derive -----------------------------------------------------------------------------

def derive(d: Derivation, given: dict) -> None:
    """Fill `d` in the lecture's order: forward, trick, loss, backward, update, generation."""
    h = _inputs(d, given)
    kind, reduction = given["recon"].value, given["reduction"].value
    P = {name: h[name].value for name in PARAMS}
    x, eps, beta = h["x"].value, h["eps"].value, h["beta"].value
    _guard(P, x, eps, kind, reduction, beta, h["lr"].value)
    net = _forward(d, h)
    loss = _loss(d, h, net, kind, reduction)
    grads = _backward(d, h, net, loss, _checks(P, x, eps, kind, reduction, beta), kind)
    _update(d, h, net, grads, loss, kind, reduction)
    _generate(d, h)


def _shown(d: Derivation, handle) -> str:
    return dense.shown(d, handle)[0]


NAMES = {"u": "u", "h": "h", "mu": ("mu", "μ", r"\mu"), "logvar": ("logvar", "log σ²", r"\log\sigma^{2}"),
         "sigma": ("sigma", "σ", r"\sigma"), "z": "z", "v": "v", "x_hat": ("x_hat", "x̂", r"\hat{x}")}
AFTER = {key: (f"{key}_new", f"{name[1] if isinstance(name, tuple) else name}′", f"{{{name[2] if isinstance(name, tuple) else name}}}'")
         for key, name in NAMES.items()}


def _forward(d: Derivation, h: dict, at: str = "", names: dict = NAMES, weights: dict | None = None) -> dict:
    """Encoder, the two heads, σ and z (the trick), decoder; with `weights` (the updated
    ones) and at="after." the same pass after the update. Returns the handles by role."""
    w = weights or {name: h[name] for name in PARAMS}
    net, first = {}, not at
    if first:
        d.section(_("Encoder"), _("The hidden layer h = tanh(Wʰ x + bʰ), with tanh as the activation (ReLU is as common; tanh keeps every derivative defined). Weights have shape (out, in), as PyTorch's nn.Linear."))
    net["enc"] = _layer(d, w["wh"], h["x"], w["bh"], f"{at}enc.", names["u"], (H, n), _("Hidden pre-activation"))
    net["h"] = _activation(d, net["enc"], "tanh", f"{at}enc.", names["h"])
    if first:
        d.section(_("Mean and log-variance"), _("Two linear heads on h give the m means μ and the m log-variances log σ² of q(z|x) = N(μ, diag σ²). The head outputs log σ², not σ: any real number is a valid log-variance, so no activation is needed to keep σ² > 0."))
    net["mu"] = _layer(d, w["wmu"], net["h"], w["bmu"], f"{at}mu.", names["mu"], (m, H), _("Mean μ"))
    net["logvar"] = _layer(d, w["wv"], net["h"], w["bv"], f"{at}logvar.", names["logvar"], (m, H), _("Log-variance log σ²"))
    if first:
        d.section(_("Reparameterization trick"), _("Sampling z ~ N(μ, σ²) directly has no derivative with respect to μ and σ. Instead ε ~ N(0, I) is drawn outside the network ({origin}) and z = μ + σ ⊙ ε is an ordinary function of μ and log σ², through which gradients flow.").format(
            origin=_origin(h["eps"])))
    net["sigma"], net["z"] = _trick(d, h, net, at, names)
    if first:
        d.section(_("Decoder"), _("x̂ = sigmoid(Wᵈ z + bᵈ): the sigmoid keeps every x̂_i in (0, 1), where binary cross-entropy is defined."))
    net["dec"] = _layer(d, w["wd"], net["z"], w["bd"], f"{at}dec.", names["v"], (n, m), _("Decoder pre-activation"))
    net["x_hat"] = _activation(d, net["dec"], "sigmoid", f"{at}dec.", names["x_hat"])
    return net


def _layer(d: Derivation, W, x, b, at: str, name, sizes: tuple, title: str):
    """dense.forward with this lesson's title and symbols in the explanation."""
    layer = dense.forward(d, W, x, b, at=at, names={"z": name}, count={"out": sizes[0], "in": sizes[1]})
    out, W_, x_, b_ = (_shown(d, handle) for handle in (layer.z, W, x, b))
    layer.z.title = title
    layer.z.explanation = _("{out}_i = Σ_k {W}_ik {x}_k + {b}_i; {W} has shape ({rows}, {cols}) = (out, in), as PyTorch's nn.Linear.").format(
        out=out, W=W_, x=x_, b=b_, rows=np.shape(W.value)[0], cols=np.shape(W.value)[1])
    return layer


def _activation(d: Derivation, layer, kind: str, at: str, name):
    """activations.activate with this lesson's symbols in the explanation."""
    step = activations.activate(d, layer.z, kind, at=at, names={"a": name})
    a, z = _shown(d, step), _shown(d, layer.z)
    step.explanation = (_("{a}_i = tanh({z}_i), between -1 and 1.") if kind == "tanh"
                        else _("{a}_i = sigmoid({z}_i) = 1 / (1 + exp(-{z}_i)), between 0 and 1.")).format(a=a, z=z)
    return step


def _origin(item) -> str:
    return _ORIGIN[item.origin]() if item.origin in _ORIGIN else _("typed")


_ORIGIN = {"default": lambda: _("fixed by default"), "seed": lambda: _("drawn from N(0, I) with --seed, rounded to two decimals")}


def _trick(d: Derivation, h: dict, net: dict, at: str, names: dict) -> tuple:
    """Steps sigma: σ_i = exp(½ log σ²_i) and z: z_i = μ_i + σ_i ε_i."""
    lv, mu, eps = net["logvar"].z, net["mu"].z, h["eps"]
    Sigma, Z = (sp.IndexedBase(_declare(d, names[key])) for key in ("sigma", "z"))
    s, z_ = (d.names.get(str(base.label), (str(base.label),))[0] for base in (Sigma, Z))
    sigma = d.step(f"{at}sigma", _("Standard deviation"), explanation=_("{s}_i = exp(½ {lv}_i) = √({s}²_i): always positive.").format(s=s, lv=_shown(d, lv)),
                   symbol=Sigma, index=(i,), formula=sp.exp(sp.Rational(1, 2) * lv.symbol[i]), value=np.exp(0.5 * lv.value),
                   code=f"{Sigma} = np.exp(0.5 * {lv.var})", concept="vae.sigma", notes=() if at else _sigma_notes(lv.value))
    z = d.step(f"{at}z", _("Sample z by the reparameterization"),
               explanation=_("{z}_i = {mu}_i + {s}_i ε_i with the same ε{again}: a shift and a scale of the fixed noise.").format(
                   z=z_, mu=_shown(d, mu), s=s, again=_(" as before the update") if at else ""),
               symbol=Z, index=(i,), formula=sp.Add(mu.symbol[i], sp.Mul(sigma.symbol[i], eps.symbol[i], evaluate=False), evaluate=False),
               value=mu.value + sigma.value * eps.value, code=f"{Z} = {mu.var} + {sigma.var} * {eps.var}", concept="vae.reparameterize")
    return sigma, z


def _declare(d: Derivation, name) -> str:
    if isinstance(name, tuple):
        d.name(sp.Symbol(name[0]), name[1], name[2])
        return name[0]
    return name


def _plus_beta(first, beta, second) -> sp.Expr:
    """first + β⋅second in that order, as the lecture writes L = L_rec + β KL."""
    return written_sum(first, written_product(beta, second))


def _sigma_notes(logvar: np.ndarray) -> tuple[str, ...]:
    """Which σ² are far from the prior's 1 (below 0.1 or above 10), from the numbers."""
    s2 = np.exp(logvar)
    far = np.flatnonzero((s2 < 0.1) | (s2 > 10))
    if not far.size:
        return (_("every σ² lies between 0.1 and 10 (σ² = {v}): close to the prior's variance 1").format(v=", ".join(f"{s:.4g}" for s in s2)),)
    return (_("σ²_{which} = {v} is far from the prior's variance 1: its KL term ½(σ² - log σ² - 1) is large").format(
        which=", σ²_".join(map(str, far)), v=", ".join(f"{s2[k]:.4g}" for k in far)),)


L_REC = ("L_rec", "L_rec", r"L_{\mathrm{rec}}")
GRAD_XHAT = ("dL_dx_hat", "∂L/∂x̂", r"\frac{\partial L}{\partial \hat{x}}")
_REDUCTION = {
    "sum": lambda: _("--reduction sum: summed over the n outputs, like the KL over the m latents, so L is the negative ELBO (PyTorch's VAE example, reduction='sum')."),
    "mean": lambda: _("--reduction mean: the mean over the n outputs (PyTorch's default), while the KL stays summed over the m latents: the KL weighs n times more than in the negative ELBO."),
}


_RECON_TEXT = {
    ("mse", "sum"): lambda: _("L_rec = Σ_i (x_i - x̂_i)²: the squared errors summed over the n outputs, without 1/2."),
    ("mse", "mean"): lambda: _("L_rec = (1/n) Σ_i (x_i - x̂_i)²: the mean of the squared errors, without 1/2 (PyTorch's MSELoss)."),
    ("bce", "mean"): lambda: _("L_rec = -(1/n) Σ_i [x_i log x̂_i + (1 - x_i) log(1 - x̂_i)]: the mean over the n outputs (PyTorch's BCELoss default)."),
}


def _loss(d: Derivation, h: dict, net: dict, kind: str, reduction: str):
    """L_rec and ∂L_rec/∂x̂ (losses block, or this lesson's summed BCE), the KL, L = L_rec + β KL."""
    d.section(_("Reconstruction loss"), _("How far x̂ is from x. {kind} {reduction} Its gradient ∂L/∂x̂ starts the backward pass (the KL does not depend on x̂).").format(
        kind=_("--recon bce: binary cross-entropy, natural logarithm.") if kind == "bce" else _("--recon mse: squared error, without 1/2."),
        reduction=_REDUCTION[reduction]()))
    names = {"L": L_REC, "dL_do": GRAD_XHAT}
    if kind == "mse":
        rec = losses.squared_error(d, net["x_hat"], h["x"], "mse" if reduction == "mean" else "sse", at="recon.", names=names)
    elif reduction == "mean":
        rec = losses.binary_cross_entropy(d, net["x_hat"], h["x"], at="recon.", names=names)
    else:
        rec = _bce_sum(d, net["x_hat"], h["x"])
    if kind == "mse" or reduction == "mean":
        rec.loss.explanation = _RECON_TEXT[(kind, reduction)]()
    d.section(_("KL divergence"), _("KL(N(μ, σ²) ‖ N(0, I)) in closed form, one term per latent dimension, summed: it pulls q(z|x) towards the prior N(0, I) and is 0 exactly when μ = 0 and σ² = 1."))
    mu, lv, sigma = net["mu"].z, net["logvar"].z, net["sigma"]
    kappa = d.name(sp.IndexedBase("kappa"), "κ", r"\kappa")
    terms = d.step("kl.terms", _("KL term per latent dimension"),
                   explanation=_("κ_i = ½(μ_i² + σ_i² - log σ²_i - 1) ≥ 0: μ_i² costs a mean away from 0, σ² - log σ² - 1 a variance away from 1."),
                   symbol=kappa, index=(i,), formula=sp.Mul(sp.Rational(1, 2), mu.symbol[i] ** 2 + sigma.symbol[i] ** 2 - lv.symbol[i] - 1, evaluate=False),
                   value=0.5 * (mu.value**2 + sigma.value**2 - lv.value - 1), code="kappa = 0.5 * (mu ** 2 + sigma ** 2 - logvar - 1)",
                   concept="vae.kl_terms")
    KL = d.name(sp.Symbol("KL"), "KL", r"\mathrm{KL}")
    kl = d.step("kl", _("KL divergence"), explanation=_("KL = Σ_i κ_i, in nats (natural logarithm)."), symbol=KL, formula=total(terms.symbol[i], i, m),
                value=float(np.sum(terms.value)), code="KL = np.sum(kappa)", concept="vae.kl", substitute=True,
                notes=_kl_notes(mu.value, lv.value))
    L = sp.Symbol("L")
    value = rec.loss.value + h["beta"].value * kl.value
    loss = d.step("loss", _("Total loss"), explanation=_("L = L_rec + β KL; β = 1 is the negative ELBO (with --reduction sum), β ≠ 1 is the β-VAE."),
                  symbol=L, formula=_plus_beta(rec.loss.symbol, h["beta"].symbol, kl.symbol), value=value, code=f"L = {rec.loss.var} + beta * KL",
                  concept="vae.loss", substitute=True, notes=_share_note(rec.loss.value, h["beta"].value * kl.value))
    return {"rec": rec, "kl": kl, "loss": loss}


def _kl_notes(mu: np.ndarray, logvar: np.ndarray) -> tuple[str, ...]:
    if not np.any(mu) and not np.any(logvar):
        return (_("μ = 0 and log σ² = 0: q(z|x) is the prior itself, and the KL is exactly 0"),)
    return ()


def _share_note(rec: float, kl: float) -> tuple[str, ...]:
    """Which term of L is larger, from the numbers."""
    if kl == 0:
        return (_("β KL = 0: L is the reconstruction loss alone"),)
    share = kl / (rec + kl)
    which = _("the KL term dominates") if share > 0.5 else _("the reconstruction dominates")
    return (_("β KL = {kl:.6g} is {p:.3g}% of L = {L:.6g}: {which}").format(kl=kl, p=100 * share, L=rec + kl, which=which),)


def _bce_sum(d: Derivation, x_hat, x):
    """Steps recon.loss: L_rec = -Σ_i [x_i log x̂_i + (1 - x_i) log(1 - x̂_i)] (the sum, not the
    losses block's mean) and recon.gradient ∂L_rec/∂x̂_i = (x̂_i - x_i) / (x̂_i (1 - x̂_i))."""
    o, t = x_hat.symbol[i], x.symbol[i]
    L = sp.Symbol(_declare(d, L_REC))
    loss = d.step("recon.loss", _("Binary cross-entropy, summed"),
                  explanation=_("L_rec = -Σ_i [x_i log x̂_i + (1 - x_i) log(1 - x̂_i)]: the sum over the n outputs, as in the negative ELBO (PyTorch's BCELoss takes the mean by default)."),
                  symbol=L, formula=-total(losses.bce_terms(t, o), i, n), value=recon_value("bce", "sum", x_hat.value, x.value),
                  code="L_rec = -np.sum(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat))", concept="vae.bce_sum", substitute=True)
    G = sp.IndexedBase(_declare(d, GRAD_XHAT))
    kinks = np.where(x_hat.value < 0.5, 0.0, 1.0)  # the domain ends at 0 and 1: no difference across them
    inside = lambda p: recon_value("bce", "sum", np.where((p > 0) & (p < 1), p, np.nan), x.value)  # noqa: E731  NaN: not compared
    grad = d.step("recon.gradient", _("Gradient of the loss by the output"),
                  explanation=_("∂/∂x̂_i of -(x_i log x̂_i + (1 - x_i) log(1 - x̂_i)) = (x̂_i - x_i) / (x̂_i (1 - x̂_i)); the sum has no 1/n."),
                  symbol=G, index=(i,), lhs=sp.Derivative(L, o), formula=(o - t) / (o * (1 - o)),
                  value=(x_hat.value - x.value) / (x_hat.value * (1 - x_hat.value)), code="dL_dx_hat = (x_hat - x) / (x_hat * (1 - x_hat))",
                  concept="vae.bce_sum_gradient", gradient=GradientCheck(inside, np.array(x_hat.value), kinks))
    return losses.Loss(loss, grad)


def _backward(d: Derivation, h: dict, net: dict, loss: dict, fn, kind: str) -> dict:
    """Decoder, then through the trick to μ and log σ², then the encoder. Returns the
    dense.Gradients of each layer by name (enc, mu, logvar, dec)."""
    d.section(_("Decoder gradient"), _("From ∂L/∂x̂ through sigmoid'(v) = x̂(1 - x̂) to δᵈ = ∂L/∂v, then ∂L/∂Wᵈ = δᵈ zᵀ and ∂L/∂z = Wᵈᵀ δᵈ. Every gradient below is checked by finite differences of the whole loss L with ε held fixed."))
    dec = net["dec"]
    prime = activations.derivative(d, dec.z, net["x_hat"], "sigmoid", at="dec.", names={"da": ("dx_hat_dv", "∂x̂/∂v", r"\frac{\partial \hat{x}}{\partial v}")})
    delta = activations.delta(d, loss["rec"].gradient, dec.z, prime, "sigmoid", at="dec.",
                              names={"delta": ("delta_d", "δᵈ", r"\delta^{d}")}, check=fn("v"))
    _explain_delta(d, dec, net["x_hat"], prime, delta, loss["rec"].gradient, kind)
    grads = {"dec": _grads(d, dec, delta, "dec.", {"W": fn("wd"), "b": fn("bd"), "x": fn("z")})}
    d.section(_("Through the reparameterization"), _("z = μ + σ ⊙ ε with ε fixed: these derivatives exist only because the randomness sits in ε, outside the path from μ and log σ² to z. The KL adds its own closed-form gradients."))
    dmu, dlv = _trick_gradients(d, h, net, loss, grads["dec"].x, fn)
    d.section(_("Encoder gradient"), _("Each head gets its δ (∂L/∂μ and ∂L/∂log σ²); h feeds both heads, so ∂L/∂h adds both paths; then tanh'(u) = 1 - h² gives δʰ and ∂L/∂Wʰ = δʰ xᵀ."))
    grads["mu"] = _grads(d, net["mu"], dmu, "mu.", {"W": fn("wmu"), "b": fn("bmu")})
    grads["logvar"] = _grads(d, net["logvar"], dlv, "logvar.", {"W": fn("wv"), "b": fn("bv")})
    W_mu, W_v = net["mu"].W, net["logvar"].W
    dh = d.step("dL_dh", _("Gradient at h, from both heads"),
                explanation=_("h_j feeds every μ_i and every log σ²_i: ∂L/∂h_j = Σ_i W^μ_ij ∂L/∂μ_i + Σ_i Wᵛ_ij ∂L/∂log σ²_i, in matrix form W^μᵀ ∂L/∂μ + Wᵛᵀ ∂L/∂log σ²."),
                symbol=sp.IndexedBase(_declare(d, ("dL_dh", "∂L/∂h", r"\frac{\partial L}{\partial h}"))), index=(j,),
                lhs=sp.Derivative(sp.Symbol("L"), net["h"].symbol[j]),
                formula=total(W_mu.symbol[i, j] * dmu.symbol[i], i, m) + total(W_v.symbol[i, j] * dlv.symbol[i], i, m),
                value=W_mu.value.T @ dmu.value + W_v.value.T @ dlv.value, code="dL_dh = W_mu.T @ dL_dmu + W_v.T @ dL_dlogvar",
                concept="vae.dL_dh", gradient=fn("h"))
    enc = net["enc"]
    prime = activations.derivative(d, enc.z, net["h"], "tanh", at="enc.", names={"da": ("dh_du", "∂h/∂u", r"\frac{\partial h}{\partial u}")})
    delta = activations.delta(d, dh, enc.z, prime, "tanh", at="enc.", names={"delta": ("delta_h", "δʰ", r"\delta^{h}")}, check=fn("u"))
    _explain_delta(d, enc, net["h"], prime, delta, dh, "tanh")
    grads["enc"] = _grads(d, enc, delta, "enc.", {"W": fn("wh"), "b": fn("bh")})
    return grads


def _grads(d: Derivation, layer, delta, at: str, checks: dict):
    """dense.backward (∂L/∂W, ∂L/∂b, and ∂L/∂x where a check for it is given), explained
    in this lesson's symbols."""
    grads = dense.backward(d, layer, delta, at=at, checks=checks, input_grad="x" in checks)
    pre, W, x, b, dl = (_shown(d, handle) for handle in (layer.z, layer.W, layer.x, layer.b, delta))
    grads.W.title, grads.b.title = _("Gradient of {W}").format(W=W), _("Gradient of {b}").format(b=b)
    grads.W.explanation = _("∂{pre}_i/∂{W}_ij = {x}_j, so ∂L/∂{W}_ij = {d}_i {x}_j: in matrix form ∂L/∂{W} = {d} {x}ᵀ, the outer product, of the same shape as {W}.").format(
        pre=pre, W=W, x=x, d=dl)
    grads.b.explanation = _("∂{pre}_i/∂{b}_i = 1, so ∂L/∂{b}_i = {d}_i.").format(pre=pre, b=b, d=dl)
    if grads.x is not None:
        grads.x.title = _("Gradient passed back to z")
        grads.x.explanation = _("z_j feeds every {pre}_i through {W}_ij, so ∂L/∂z_j = Σ_i {W}_ij {d}_i: in matrix form {W}ᵀ {d}.").format(pre=pre, W=W, d=dl)
    return grads


def _explain_delta(d: Derivation, layer, out, prime, delta, grad, kind: str) -> None:
    """The activation blocks' explanations in this lesson's symbols (and BCE's cancellation)."""
    pre, a, dl, g = _shown(d, layer.z), _shown(d, out), _shown(d, delta), _shown(d, grad)
    prime.explanation = (_("tanh'({pre}_i) = 1 - tanh²({pre}_i) = 1 - {a}_i², written with the {a} already computed.") if kind == "tanh"
                         else _("sigmoid'({pre}_i) = {a}_i (1 - {a}_i), written with the {a} already computed.")).format(pre=pre, a=a)
    delta.explanation = _("Chain rule: {d}_i = ∂L/∂{pre}_i = {g}_i · ∂{a}_i/∂{pre}_i; {a}_i depends on {pre}_i alone, so the product is element by element (⊙).").format(
        d=dl, pre=pre, g=g, a=a)
    if kind == "bce":
        delta.explanation += " " + _("With BCE the factors cancel: (x̂_i - x_i) / (x̂_i (1 - x̂_i)) · x̂_i (1 - x̂_i) = x̂_i - x_i (divided by n for the mean).")


def _grad_step(d: Derivation, id: str, title: str, explanation: str, name: tuple, lhs, formula, value, code: str, check, notes=()):
    """One vector step of this lesson's own gradients, index i."""
    return d.step(id, title, explanation=explanation, symbol=sp.IndexedBase(_declare(d, name)), index=(i,), lhs=lhs,
                  formula=formula, value=value, code=f"{name[0]} = {code}", concept="vae." + id.replace(".", "_"), gradient=check, notes=notes)


def _trick_gradients(d: Derivation, h: dict, net: dict, loss: dict, dz, fn) -> tuple:
    """∂z/∂μ = 1, ∂z/∂log σ² = ½ σ ε, ∂KL/∂μ = μ, ∂KL/∂log σ² = ½(σ² - 1), and the totals."""
    mu, lv, sigma, z, eps = net["mu"].z, net["logvar"].z, net["sigma"], net["z"], h["eps"]
    beta, KL = h["beta"], loss["kl"].symbol
    z_of = lambda key: (lambda p: float(np.sum(forward_z(key, p, mu.value, lv.value, eps.value))))  # noqa: E731
    kl_of = {"mu": lambda p: kl_value(p, lv.value), "logvar": lambda p: kl_value(mu.value, p)}
    dz_dmu = _grad_step(d, "dz_dmu", _("∂z/∂μ"), _("z_i = μ_i + σ_i ε_i moves one for one with μ_i (checked: Σ_i z_i by μ)."),
                        ("dz_dmu", "∂z/∂μ", r"\frac{\partial z}{\partial \mu}"), sp.Derivative(z.symbol[i], mu.symbol[i]),
                        sp.Integer(1), np.ones_like(mu.value), "np.ones_like(mu)", GradientCheck(z_of("mu"), mu.value))
    dz_dlv = _grad_step(d, "dz_dlogvar", _("∂z/∂log σ²"), _("σ_i = exp(½ log σ²_i), so ∂σ_i/∂log σ²_i = ½ σ_i and ∂z_i/∂log σ²_i = ½ σ_i ε_i (checked: Σ_i z_i by log σ², ε fixed)."),
                        ("dz_dlogvar", "∂z/∂log σ²", r"\frac{\partial z}{\partial \log\sigma^{2}}"), sp.Derivative(z.symbol[i], lv.symbol[i]),
                        sp.Mul(sp.Rational(1, 2), sigma.symbol[i], eps.symbol[i], evaluate=False), 0.5 * sigma.value * eps.value, "0.5 * sigma * eps",
                        GradientCheck(z_of("logvar"), lv.value), notes=_zero_eps_note(eps.value))
    kl_mu = _grad_step(d, "kl.dmu", _("∂KL/∂μ"), _("∂/∂μ_i of ½ μ_i² is μ_i: the KL pulls each mean towards 0."),
                       ("dKL_dmu", "∂KL/∂μ", r"\frac{\partial \mathrm{KL}}{\partial \mu}"), sp.Derivative(KL, mu.symbol[i]),
                       mu.symbol[i], mu.value.copy(), "mu.copy()", GradientCheck(kl_of["mu"], mu.value))
    kl_lv = _grad_step(d, "kl.dlogvar", _("∂KL/∂log σ²"), _("∂/∂log σ²_i of ½(exp(log σ²_i) - log σ²_i) is ½(σ_i² - 1): the KL pulls each σ² towards 1."),
                       ("dKL_dlogvar", "∂KL/∂log σ²", r"\frac{\partial \mathrm{KL}}{\partial \log\sigma^{2}}"), sp.Derivative(KL, lv.symbol[i]),
                       sp.Mul(sp.Rational(1, 2), sigma.symbol[i] ** 2 - 1, evaluate=False), 0.5 * (sigma.value**2 - 1), "0.5 * (sigma ** 2 - 1)",
                       GradientCheck(kl_of["logvar"], lv.value))
    dmu = _grad_step(d, "dL_dmu", _("∂L/∂μ"), _("Chain rule through z plus the KL's own term: ∂L/∂μ_i = ∂L/∂z_i · ∂z_i/∂μ_i + β ∂KL/∂μ_i."),
                     ("dL_dmu", "∂L/∂μ", r"\frac{\partial L}{\partial \mu}"), sp.Derivative(sp.Symbol("L"), mu.symbol[i]),
                     _plus_beta(dz.symbol[i] * dz_dmu.symbol[i], beta.symbol, kl_mu.symbol[i]), dz.value * 1.0 + beta.value * mu.value,
                     "dL_dz * dz_dmu + beta * dKL_dmu", fn("mu"), notes=_pull_note("μ", dz.value, beta.value * mu.value))
    dlv = _grad_step(d, "dL_dlogvar", _("∂L/∂log σ²"), _("Chain rule through z plus the KL's own term: ∂L/∂log σ²_i = ∂L/∂z_i · ∂z_i/∂log σ²_i + β ∂KL/∂log σ²_i."),
                     ("dL_dlogvar", "∂L/∂log σ²", r"\frac{\partial L}{\partial \log\sigma^{2}}"), sp.Derivative(sp.Symbol("L"), lv.symbol[i]),
                     _plus_beta(dz.symbol[i] * dz_dlv.symbol[i], beta.symbol, kl_lv.symbol[i]), dz.value * dz_dlv.value + beta.value * kl_lv.value,
                     "dL_dz * dz_dlogvar + beta * dKL_dlogvar", fn("logvar"),
                     notes=_pull_note("log σ²", dz.value * dz_dlv.value, beta.value * kl_lv.value))
    return dmu, dlv


def forward_z(key: str, point, mu, logvar, eps):
    """z = μ + exp(½ log σ²) ε with μ (key "mu") or log σ² (key "logvar") set to `point`."""
    mu, logvar = (point, logvar) if key == "mu" else (mu, point)
    return mu + np.exp(0.5 * logvar) * eps


def _zero_eps_note(eps: np.ndarray) -> tuple[str, ...]:
    zero = np.flatnonzero(eps == 0)
    if not zero.size:
        return ()
    return (_("ε_{which} = 0: z does not depend on σ there, so only the KL term moves those log σ²").format(which=", ε_".join(map(str, zero))),)


def _pull_note(what: str, rec, kl) -> tuple[str, ...]:
    """Where the KL's pull is larger than the reconstruction's, from the numbers."""
    larger = np.flatnonzero(np.abs(kl) > np.abs(rec))
    if not larger.size:
        return (_("for every {what}_i the reconstruction's part is at least as large as the KL's").format(what=what),)
    return (_("the KL's part β ∂KL/∂{what}_i outweighs the reconstruction's at i = {which}").format(what=what, which=", ".join(map(str, larger))),)


def _update(d: Derivation, h: dict, net: dict, grads: dict, loss: dict, kind: str, reduction: str) -> None:
    """One gradient-descent step of all eight parameters, the forward pass again with the
    same x and ε, L_rec′, KL′, L′ and ΔL."""
    d.section(_("Gradient-descent update"), _("Every weight and bias moves against its gradient by the learning rate: p′ = p - η ∂L/∂p."))
    new = {}
    for layer, W, b in LAYERS:
        update = dense.update_layer(d, net[layer], grads[layer], h["lr"], at=f"{layer}.")
        new[W], new[b] = update.W, update.b
    d.section(_("Loss after the update"), _("The same x and the same ε through the updated network: did one step of size η reduce L?"))
    net2 = _forward(d, h, at="after.", names=AFTER, weights=new)
    rec = _recon_after(d, h, net2, kind, reduction)
    mu, lv, sigma = net2["mu"].z, net2["logvar"].z, net2["sigma"]
    kl = d.step("after.kl", _("KL after the update"), explanation=_("KL′ = ½ Σ_i (μ′_i² + σ′_i² - log σ²′_i - 1)."),
                symbol=d.name(sp.Symbol("KL_new"), "KL′", r"\mathrm{KL}'"),
                formula=sp.Rational(1, 2) * total(mu.symbol[i] ** 2 + sigma.symbol[i] ** 2 - lv.symbol[i] - 1, i, m),
                value=float(0.5 * np.sum(mu.value**2 + sigma.value**2 - lv.value - 1)),
                code="KL_new = 0.5 * np.sum(mu_new ** 2 + sigma_new ** 2 - logvar_new - 1)", concept="vae.kl", substitute=True)
    value = rec.value + h["beta"].value * kl.value
    L_new = d.step("loss_after", _("Loss after the update"), explanation=_("L′ = L_rec′ + β KL′, with the same ε as before the update."),
                   symbol=d.name(sp.Symbol("L_new"), "L′", "L'"), formula=_plus_beta(rec.symbol, h["beta"].symbol, kl.symbol), value=value,
                   code="L_new = L_rec_new + beta * KL_new", concept="vae.loss", substitute=True)
    before = loss["loss"]
    d.step("loss_change", _("Change of the loss"), explanation=_("ΔL = L′ - L: negative when the update reduced the loss."),
           symbol=d.name(sp.Symbol("Delta_L"), "ΔL", r"\Delta L"), formula=L_new.symbol - before.symbol, value=value - before.value,
           code="Delta_L = L_new - L", concept="vae.loss_change", substitute=True, notes=_change_note(before.value, value, h["lr"].value))


def _recon_after(d: Derivation, h: dict, net: dict, kind: str, reduction: str):
    """L_rec′ as before the update; a BCE whose x̂′ rounds to 0 or 1 is written from the logit
    v′ instead, log(1 + e^v) - x v, which never takes log 0."""
    x, xh, v = h["x"], net["x_hat"], net["dec"].z
    o, t, vs = xh.symbol[i], x.symbol[i], v.symbol[i]
    per = 1 / n if reduction == "mean" else 1
    code_scale = "np.mean" if reduction == "mean" else "np.sum"
    notes = ()
    if kind == "mse":
        formula, code = total((t - o) ** 2, i, n), f"{code_scale}((x - x_hat_new) ** 2)"
    elif np.all((xh.value > 0) & (xh.value < 1)):
        formula, code = -total(losses.bce_terms(t, o), i, n), f"-{code_scale}(x * np.log(x_hat_new) + (1 - x) * np.log(1 - x_hat_new))"
    else:
        formula = total(sp.Max(0, vs) + sp.log(1 + sp.exp(-sp.Abs(vs))) - t * vs, i, n)
        code = f"{code_scale}(np.logaddexp(0, v_new) - x * v_new)"
        notes = (Caution(_("some x̂′ rounds to exactly 0 or 1 in float64, so L_rec′ is computed from the logit v′: -[x log σ(v) + (1 - x) log(1 - σ(v))] = log(1 + e^v) - x v (PyTorch's BCEWithLogitsLoss), which never takes log 0")),)
    value = _recon_after_value(kind, reduction, xh.value, v.value, x.value, bool(notes))
    return d.step("after.recon", _("Reconstruction loss after the update"), explanation=_REDUCTION[reduction](),
                  symbol=d.name(sp.Symbol("L_rec_new"), "L_rec′", r"L_{\mathrm{rec}}'"),
                  formula=sp.Mul(per, formula, evaluate=False) if per != 1 else formula, value=value, code=f"L_rec_new = {code}",
                  concept=f"vae.recon_{kind}", substitute=True, notes=notes)


def _recon_after_value(kind, reduction, x_hat, v, x, from_logit: bool) -> float:
    if not from_logit:
        return recon_value(kind, reduction, x_hat, x)
    terms = np.logaddexp(0, v) - x * v
    return float(terms.mean() if reduction == "mean" else terms.sum())


def _change_note(before: float, after: float, lr: float) -> tuple[str, ...]:
    """What the update did to L, from the numbers."""
    if after < before:
        return (_("L fell from {a:.6g} to {b:.6g} ({p:.3g}% lower)").format(a=before, b=after, p=100 * (before - after) / before),)
    if after == before:
        return (Caution(_("L did not change in float64 ({a:.6g}): the step of η = {lr:.4g} is too small to show, or every gradient is 0").format(a=before, lr=lr)),)
    return (Caution(_("L rose from {a:.6g} to {b:.6g}: the gradient describes L only near the old weights, and a step of η = {lr:.4g} went too far along it (overshoot); a small enough η lowers L").format(
        a=before, b=after, lr=lr)),)


def _generate(d: Derivation, h: dict) -> None:
    """z = ε_new alone (the prior N(0, I)) through the updated decoder."""
    d.section(_("Generation"), _("To generate, the encoder is not used at all: z is drawn from the prior N(0, I), here z = ε_new ({origin}), and decoded by the updated decoder Wᵈ′, bᵈ′. The KL term is what makes such prior samples resemble the codes the encoder produces.").format(
        origin=_origin(h["eps_new"])))
    eps = h["eps_new"]
    Z = sp.IndexedBase(_declare(d, ("z_gen", "z_gen", r"z^{\mathrm{gen}}")))
    z = d.step("gen.z", _("Latent sample from the prior"), explanation=_("z_gen = ε_new: no μ, no σ, no x."), symbol=Z, index=(i,),
               formula=eps.symbol[i], value=np.array(eps.value, dtype=float), code="z_gen = eps_new * 1.0", concept="vae.prior_sample")
    W, b = d.find("dec.update_W"), d.find("dec.update_b")
    layer = _layer(d, W, z, b, "gen.", ("v_gen", "v_gen", r"v^{\mathrm{gen}}"), (n, m), _("Decoder pre-activation"))
    _activation(d, layer, "sigmoid", "gen.", ("x_gen", "x̂_gen", r"\hat{x}^{\mathrm{gen}}"))
