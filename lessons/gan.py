"""A toy GAN: one step of the discriminator, then one step of the generator.

Follows Deep Learning 101 #11 and #12 (GAN), in their order. The generator turns a
latent vector z (m entries) into a colour of c channels in (0, 1) (c = 3: an RGB
vector); the real sample is the colour x, by default red (1, 0, 0):

    generator      u_i = Σ_k Wᵍ_ik z_k + bᵍ_i,   G_i = σ(u_i)          Wᵍ of shape (c, m)
    discriminator  s_real = Σ_k w_k x_k + b,      D(x) = σ(s_real)
                   s_fake = Σ_k w_k G_k + b,      D(G(z)) = σ(s_fake)
    D's loss       L_D = -log D(x) - log(1 - D(G(z)))    (a sum of two terms)
    D's gradient   ∂L_D/∂D(x) = -1/D(x),  ∂L_D/∂D(G(z)) = 1/(1 - D(G(z))),  σ' = σ(1 - σ):
                   δ_real = -(1 - D(x)),  δ_fake = D(G(z)),
                   ∂L_D/∂w_k = δ_real x_k + δ_fake G_k,  ∂L_D/∂b = δ_real + δ_fake
    D's update     w′ = w - η ∂L_D/∂w,  b′ = b - η ∂L_D/∂b, and L_D before and after
    G's loss       with the UPDATED discriminator D′ (the usual alternating scheme):
                   L_G = -log D′(G(z))  (non-saturating, the lecture's)
                   or L_G = log(1 - D′(G(z)))  (`--g-loss minimax`, the original game)
    G's gradient   δ_G = ∂L_G/∂s′ = -(1 - D′)  (minimax: -D′),  ∂L_G/∂G_k = δ_G w′_k,
                   δᵍ_i = ∂L_G/∂G_i G_i (1 - G_i),  ∂L_G/∂Wᵍ = δᵍ zᵀ,  ∂L_G/∂bᵍ = δᵍ
    G's update     Wᵍ′ = Wᵍ - η ∂L_G/∂Wᵍ, bᵍ′ likewise, and L_G before and after
    why            at the same point, ∂ log(1 - D)/∂s = -D and ∂(-log D)/∂s = -(1 - D):
                   their ratio is D/(1 - D), small where D(G(z)) is small (early in
                   training), so the minimax loss saturates and -log D(G(z)) does not.

Each -log term is computed as written where float64 keeps its digits, and from the
logit (-log σ(s) = log(1 + e^{-s}), np.logaddexp) where D rounds to 0 or 1; a note says
which. The dense layers, the sigmoids and the updates are the `dense` and
`activations` blocks; the two -log terms of L_D are this lesson's own steps (the
`losses` block's BCE is the mean over its outputs with one target vector, not the
lecture's sum of a real and a fake term).
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import activations, dense
from dlsteps.blocks.symbols import j, m, size
from dlsteps.errors import InputError
from dlsteps.i18n import N_, _
from dlsteps.model import Caution, Derivation, GradientCheck

META = {
    "title": "GAN: one discriminator step and one generator step",
    "lecture": "DL101 #11, #12",
    "summary": "toy generator G(z) = σ(W_g z + b_g) of a colour, D(x) = σ(w·x + b); D's loss, gradients and update; G's non-saturating loss through the updated D",
    "example": "dlsteps gan --z 2,-1 --w 2,-1,-1 --b -0.5 --g-loss minimax",
    "inputs": {
        "z": {"shape": "vector m", "default": "1,-1", "help": "the latent vector z fed to the generator"},
        "wg": {"shape": "matrix c m", "default": "0.5,0.2;0.1,-0.3;0.4,0.4",
               "help": "the generator weights W_g, one row per colour channel (R, G, B)"},
        "bg": {"shape": "vector c", "default": "0,0,0", "help": "the generator bias b_g, one per colour channel"},
        "real": {"shape": "vector c", "domain": "nonnegative", "default": "1,0,0",
                 "help": "the real colour x, entries in [0, 1] (default red)"},
        "w": {"shape": "vector c", "default": "1,-1,-1", "help": "the discriminator weights w"},
        "b": {"shape": "scalar", "default": "0", "help": "the discriminator bias b"},
        "lr": {"shape": "scalar", "domain": "positive", "default": "0.5", "help": "the learning rate η"},
        "g_loss": {"shape": "choice", "choices": ["non-saturating", "minimax"], "default": "non-saturating",
                   "help": "G's loss: non-saturating -log D(G(z)) (the lecture's) or minimax log(1 - D(G(z)))"},
    },
}

c = sp.Symbol("c", integer=True, positive=True)
"""The number of colour channels (3 for RGB), as the prose writes it: Wᵍ of shape (c, m)."""

SHOWN = {"W_g": ("Wᵍ", "{W^{g}}"), "b_g": ("bᵍ", "{b^{g}}"), "eta": ("η", r"\eta")}
NAMES = {
    "s_real": ("s_real", "s_real", r"s_{\mathrm{real}}"), "D_real": ("D_real", "D(x)", "D(x)"),
    "s_fake": ("s_fake", "s_fake", r"s_{\mathrm{fake}}"), "D_fake": ("D_fake", "D(G(z))", "D(G(z))"),
    "s_real_new": ("s_real_new", "s′_real", r"s'_{\mathrm{real}}"), "D_real_new": ("D_real_new", "D′(x)", "D'(x)"),
    "s_fake_new": ("s_fake_new", "s′_fake", r"s'_{\mathrm{fake}}"), "D_fake_new": ("D_fake_new", "D′(G(z))", "D'(G(z))"),
    "s_G_new": ("s_G_new", "s′(G′)", r"s'(G')"), "D_G_new": ("D_G_new", "D′(G′(z))", "D'(G'(z))"),
}
COLOURS = {N_("black"): (0, 0, 0), N_("red"): (1, 0, 0), N_("green"): (0, 1, 0), N_("blue"): (0, 0, 1), N_("yellow"): (1, 1, 0),
           N_("cyan"): (0, 1, 1), N_("magenta"): (1, 0, 1), N_("white"): (1, 1, 1), N_("grey"): (0.5, 0.5, 0.5)}


def sigmoid(v):
    """σ(v) as the activations block computes it (never overflows)."""
    return activations.values("sigmoid", v)


# ---- the -log terms: as written, or from the logit where float64 loses them ------------

def term_value(kind: str, s):
    """The exact term from the logit s: -log σ(s), -log(1 - σ(s)) or log(1 - σ(s))."""
    s = np.asarray(s, dtype=float)
    return {"real": np.logaddexp(0, -s), "fake": np.logaddexp(0, s), "minimax": -np.logaddexp(0, s)}[kind]


def _naive(kind: str, D: float) -> float:
    with np.errstate(all="ignore"):
        return {"real": -np.log(D), "fake": -np.log(1 - D), "minimax": np.log(1 - D)}[kind]


def _formula(kind: str, D) -> sp.Expr:
    return {"real": -sp.log(D), "fake": -sp.log(1 - D), "minimax": sp.log(1 - D)}[kind]


def _softplus(a) -> sp.Expr:
    """log(1 + e^a) written so that no exponential overflows: max(0, a) + log(1 + e^{-|a|})."""
    return sp.Max(0, a) + sp.log(1 + sp.exp(-sp.Abs(a)))


STABLE = {"real": lambda s: _softplus(-s), "fake": _softplus, "minimax": lambda s: -_softplus(s)}
NAIVE_CODE = {"real": "-np.log({D})", "fake": "-np.log(1 - {D})", "minimax": "np.log(1 - {D})"}
STABLE_CODE = {"real": "np.logaddexp(0, -{s})", "fake": "np.logaddexp(0, {s})", "minimax": "-np.logaddexp(0, {s})"}
WRITTEN = {"real": "-log σ(s) = log(1 + e^(-s))", "fake": "-log(1 - σ(s)) = log(1 + e^s)", "minimax": "log(1 - σ(s)) = -log(1 + e^s)"}


def term(kind: str, D, s, shown: str) -> tuple:
    """(formula, value, code expression, notes) of one -log term at the handles D = σ(s);
    `shown` is how D is written."""
    naive, exact = _naive(kind, D.value), float(term_value(kind, s.value))
    if np.isfinite(naive) and np.isclose(naive, exact, rtol=1e-11, atol=1e-14):
        return _formula(kind, D.symbol), float(naive), NAIVE_CODE[kind].format(D=D.var), ()
    if np.isfinite(naive):
        note = _("{D} = {v:.17g} is so close to {edge} that float64 keeps few digits of the log, so this term is computed from the logit, {written} (np.logaddexp, as PyTorch's BCEWithLogitsLoss): {exact:.6g}").format(
            D=shown, v=D.value, edge=0 if kind == "real" else 1, written=WRITTEN[kind], exact=exact)
        return _formula(kind, D.symbol), exact, STABLE_CODE[kind].format(s=s.var), (note,)
    note = Caution(_("{D} rounds to exactly {edge} in float64, so the log as written would be log 0 = -∞; the term is finite, {written} = {exact:.6g}, and is computed from the logit (np.logaddexp, as PyTorch's BCEWithLogitsLoss)").format(
        D=shown, edge=0 if kind == "real" else 1, written=WRITTEN[kind], exact=exact))
    return STABLE[kind](s.symbol), exact, STABLE_CODE[kind].format(s=s.var), (note,)


DERIVATIVE = {"real": (lambda D: -1 / D, "-1 / {D}"), "fake": (lambda D: 1 / (1 - D), "1 / (1 - {D})"),
              "minimax": (lambda D: -1 / (1 - D), "-1 / (1 - {D})")}
SIMPLE = {"real": (lambda D: D - 1, "{D} - 1"), "fake": (lambda D: D, "{D} * 1.0"), "minimax": (lambda D: -D, "-{D}")}


def _in_domain(kind: str, D: float) -> GradientCheck:
    """The term as a function of D where its log is defined (D > 0 for -log D, D < 1 for the
    others), NaN beyond, with that edge as a kink (differences never straddle it)."""
    edge = 0.0 if kind == "real" else 1.0

    def loss(point):
        inside = np.where(point > 0 if kind == "real" else point < 1, point, np.nan)
        return float(_naive(kind, inside))
    return GradientCheck(loss, np.float64(D), edge)


# ---- derive -----------------------------------------------------------------------------

def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with G's forward pass, D's step and G's step, in the lecture's order."""
    h = _inputs(d, given)
    gen = _generator(d, h)
    disc = _discriminator(d, h, gen.G)
    dgrad = _d_gradients(d, h, gen.G, disc)
    new_d = _d_update(d, h, gen.G, disc, dgrad)
    kind = "real" if given["g_loss"].value == "non-saturating" else "minimax"
    g_loss = _g_loss(d, new_d, kind)
    ggrad = _g_gradients(d, h, gen, new_d, g_loss, kind)
    _g_update(d, h, gen, new_d, ggrad, g_loss, kind)
    _comparison(d, new_d)


def _inputs(d: Derivation, given: dict) -> dict:
    """Record the inputs (after checking the real colour lies in [0, 1]); their handles."""
    real = np.array(given["real"].value, dtype=float)
    if np.any(real > 1):
        raise InputError(_("--real: '{text}' has entries above 1; expected a colour with entries in [0, 1]").format(text=given["real"].text[:40]))
    for plain, (unicode, latex) in SHOWN.items():
        d.name(sp.Symbol(plain), unicode, latex)
    vector = lambda name: np.array(given[name].value, dtype=float)
    h = {"z": d.given("z", sp.IndexedBase("z"), vector("z"), given["z"], _("latent vector z")),
         "Wg": d.given("wg", sp.IndexedBase("W_g"), vector("wg"), given["wg"], _("generator weights Wᵍ, shape (c, m)")),
         "bg": d.given("bg", sp.IndexedBase("b_g"), vector("bg"), given["bg"], _("generator bias bᵍ")),
         "x": d.given("real", sp.IndexedBase("x"), real, given["real"], _("the real colour x")),
         "w": d.given("w", sp.IndexedBase("w"), vector("w"), given["w"], _("discriminator weights w")),
         "b": d.given("b", sp.Symbol("b"), float(given["b"].value), given["b"], _("discriminator bias b")),
         "lr": d.given("lr", sp.Symbol("eta"), float(given["lr"].value), given["lr"], _("learning rate η"))}
    size(d, c, len(real))
    size(d, m, len(h["z"].value))
    return h


class Pass:
    """Handles of one sigmoid unit or layer: the pre-activation and the activation."""

    def __init__(self, layer, out):
        self.layer, self.out = layer, out


class Generator:
    """Handles of the generator: its dense layer (u = Wᵍ z + bᵍ) and the colour G = σ(u)."""

    def __init__(self, layer, G):
        self.layer, self.G = layer, G


def _generator(d: Derivation, h: dict) -> Generator:
    """u = Wᵍ z + bᵍ and G = σ(u), with the computed note on the colour."""
    d.section(_("Generator: a fake colour"), _("The generator maps the latent z to a colour: G(z) = σ(Wᵍ z + bᵍ), one sigmoid per channel, so every entry lies in (0, 1), like the entries of an RGB colour. Wᵍ has shape (c, m) = (out, in), as PyTorch's nn.Linear."))
    layer = dense.forward(d, h["Wg"], h["z"], h["bg"], at="g.", names={"z": "u"}, count={"out": c, "in": m})
    G = activations.activate(d, layer.z, "sigmoid", at="g.", names={"a": "G"})
    _explain_generator(d, layer, G)
    G.notes += (colour_note(G.value, h["x"].value),)
    return Generator(layer, G)


def _explain_generator(d: Derivation, layer, G) -> None:
    """The blocks' explanations in the generator's symbols (u, G or u′, G′)."""
    u, W, b, a = (dense.shown(d, handle)[0] for handle in (layer.z, layer.W, layer.b, G))
    layer.z.explanation = _("{u}_i = Σ_k {W}_ik z_k + {b}_i: {W} has shape (c, m) = (out, in), as PyTorch's nn.Linear; each channel is a weighted sum of the latent entries plus its bias.").format(u=u, W=W, b=b)
    G.explanation = _("{G}_i = σ({u}_i) = 1 / (1 + exp(-{u}_i)), between 0 and 1: the fake colour.").format(G=a, u=u)


def colour_name(colour) -> str:
    """The nearest of a few named colours (black, red, ..., white, grey) to an RGB vector."""
    return min(COLOURS, key=lambda key: float(np.sum((np.asarray(colour) - COLOURS[key]) ** 2)))


def colour_note(G, x, shown: str = "G(z)") -> str:
    """How close the fake colour is to the real one, computed; with colour names for RGB.
    `shown` is how the colour is written (G(z), or G′(z) after G's update)."""
    distance, largest = float(np.linalg.norm(G - x)), float(np.sqrt(len(x)))
    text = _("distance to the real colour ‖{G} - x‖ = {d:.4g} (0 would be the real colour itself; at most √{c} = {top:.4g})").format(G=shown, d=distance, c=len(x), top=largest)
    if len(x) != 3:
        return text
    rgb = ", ".join(f"{v:.3g}" for v in G)
    return _("the fake colour (R, G, B) = ({rgb}) is nearest to {name} of the named colours; its red channel is {r:.3g} against the real {xr:.3g} ({real}); {rest}").format(
        rgb=rgb, name=_(colour_name(G)), r=G[0], xr=x[0], real=_(colour_name(x)), rest=text)


def _discriminator(d: Derivation, h: dict, G) -> dict:
    """D on the real colour and on the fake one, and D's loss as the sum of two -log terms."""
    d.section(_("Discriminator on the real and the fake colour"), _("D(x) = σ(w·x + b), a logistic unit: the probability D gives that its input is real. It sees the real colour x and the fake G(z), with the same w and b."))
    real = _unit(d, h["w"], h["x"], h["b"], "d.real.", NAMES["s_real"], NAMES["D_real"])
    fake = _unit(d, h["w"], G, h["b"], "d.fake.", NAMES["s_fake"], NAMES["D_fake"])
    d.section(_("Discriminator loss"), _("D wants D(x) → 1 and D(G(z)) → 0: L_D = -log D(x) - log(1 - D(G(z))), the sum of the two terms (natural log). PyTorch's BCELoss on the batch (x, G(z)) with labels (1, 0) is their mean, L_D / 2."))
    parts = [_term_step(d, "d.loss_real", _("Real term"), _("-log D(x): small when D calls the real colour real (D(x) → 1)."),
                        real, "real", ("L_real", "L_real", r"L_{\mathrm{real}}")),
             _term_step(d, "d.loss_fake", _("Fake term"), _("-log(1 - D(G(z))): small when D calls the fake colour fake (D(G(z)) → 0)."),
                        fake, "fake", ("L_fake", "L_fake", r"L_{\mathrm{fake}}"))]
    L_D = d.step("d.loss", _("Discriminator loss"), explanation=_("L_D = L_real + L_fake."),
                 symbol=_symbol(d, "L_D", "L_D", "L_{D}"), formula=sp.Add(parts[0].symbol, parts[1].symbol, evaluate=False),
                 value=parts[0].value + parts[1].value, code="L_D = L_real + L_fake", concept="gan.d_loss", substitute=True)
    return {"real": real, "fake": fake, "loss": L_D}


def _symbol(d: Derivation, plain: str, unicode: str, latex: str) -> sp.Symbol:
    return d.name(sp.Symbol(plain), unicode, latex)


def _unit(d: Derivation, w, x, b, at: str, s: tuple, D: tuple) -> Pass:
    """s = Σ_k w_k x_k + b and D = σ(s) for one input of the discriminator."""
    layer = dense.forward(d, w, x, b, at=at, names={"z": s}, count={"in": c})
    out = activations.activate(d, layer.z, "sigmoid", at=at, names={"a": D})
    layer.z.explanation = _("{s} = Σ_k {w}_k {x}_k + {b}: the logit of the logistic unit, a weighted sum of the colour's channels.").format(
        s=dense.shown(d, layer.z)[0], x=dense.shown(d, x)[0], w=dense.shown(d, w)[0], b=dense.shown(d, b)[0])
    out.explanation = _("{D} = σ({s}): the probability the discriminator gives that this colour is real.").format(
        D=dense.shown(d, out)[0], s=dense.shown(d, layer.z)[0])
    out.substitute = True  # a scalar: written out with its logit
    return Pass(layer, out)


def _term_step(d: Derivation, id: str, title: str, explanation: str, unit: Pass, kind: str, name: tuple):
    """One -log term of a loss, as written (or from the logit where float64 loses it)."""
    formula, value, code, notes = term(kind, unit.out, unit.layer.z, dense.shown(d, unit.out)[0])
    return d.step(id, title, explanation=explanation, symbol=_symbol(d, *name), formula=formula, value=value,
                  code=f"{name[0]} = {code}", concept=f"gan.{kind}_term", notes=notes, substitute=True)


# ---- D's gradients and update -------------------------------------------------------------

def d_loss(x, G, w, b) -> float:
    """L_D(w, b) from the logits, G held fixed (NumPy, for the gradient checks)."""
    return float(term_value("real", np.dot(w, x) + b) + term_value("fake", np.dot(w, G) + b))


def _by(f, point) -> GradientCheck:
    """A GradientCheck of f at point (a copy, as float64)."""
    return GradientCheck(lambda p: float(f(p)), np.array(point, dtype=float))


def _d_gradients(d: Derivation, h: dict, G, disc: dict) -> dict:
    """δ for each term through σ' = σ(1 - σ), each term's ∂/∂w and ∂/∂b, and their sums."""
    d.section(_("Discriminator gradients"), _("Chain rule for each term: ∂L/∂w_j = ∂L/∂D · σ'(s) · ∂s/∂w_j, with σ'(s) = σ(s)(1 - σ(s)) = D(1 - D) and ∂s/∂w_j = the input's channel j. w and b are shared by the real and the fake term, so their gradients add up. G(z) is held fixed in D's step."))
    x, w, b = h["x"].value, h["w"].value, h["b"].value
    parts = {}
    for key, seen in (("real", x), ("fake", G.value)):
        unit, loss = disc[key], "L_" + key
        delta = _chain(d, unit, key, f"d.{key}.", key, loss)
        f = lambda ww, bb, kind=key, seen=seen: term_value(kind, np.dot(ww, seen) + bb)
        parts[key] = dense.backward(d, unit.layer, delta, at=f"d.{key}.", input_grad=False, names={
            "dW": (f"dL{key}_dw", f"∂L_{key}/∂w", rf"\frac{{\partial L_{{\mathrm{{{key}}}}}}}{{\partial w}}"),
            "db": (f"dL{key}_db", f"∂L_{key}/∂b", rf"\frac{{\partial L_{{\mathrm{{{key}}}}}}}{{\partial b}}"), "L": loss},
            checks={"W": _by(lambda p, f=f: f(p, b), w), "b": _by(lambda p, f=f: f(w, p), b)})
        parts[key].W.explanation = _("∂s_{key}/∂w_j = {x}_j, channel j of the input, so ∂L_{key}/∂w_j = δ_{key} {x}_j.").format(key=key, x="x" if key == "real" else "G")
        parts[key].b.explanation = _("∂s_{key}/∂b = 1, so ∂L_{key}/∂b = δ_{key}.").format(key=key)
    L_D, wv = sp.Symbol("L_D"), h["w"].symbol
    gw = d.step("d.dL_dw", _("Gradient of L_D by w"), explanation=_("Both terms depend on w: ∂L_D/∂w_j = ∂L_real/∂w_j + ∂L_fake/∂w_j = δ_real x_j + δ_fake G_j."),
                symbol=sp.IndexedBase(_symbol(d, "dLD_dw", "∂L_D/∂w", r"\frac{\partial L_{D}}{\partial w}")), index=(j,),
                lhs=sp.Derivative(L_D, wv[j]), formula=sp.Add(parts["real"].W.symbol[j], parts["fake"].W.symbol[j], evaluate=False),
                value=parts["real"].W.value + parts["fake"].W.value, code="dLD_dw = dLreal_dw + dLfake_dw",
                concept="gan.d_grad_w", gradient=_by(lambda p: d_loss(x, G.value, p, b), w))
    gb = d.step("d.dL_db", _("Gradient of L_D by b"), explanation=_("∂L_D/∂b = ∂L_real/∂b + ∂L_fake/∂b = δ_real + δ_fake."),
                symbol=_symbol(d, "dLD_db", "∂L_D/∂b", r"\frac{\partial L_{D}}{\partial b}"), lhs=sp.Derivative(L_D, h["b"].symbol),
                formula=sp.Add(parts["real"].b.symbol, parts["fake"].b.symbol, evaluate=False), value=parts["real"].b.value + parts["fake"].b.value,
                code="dLD_db = dLreal_db + dLfake_db", concept="gan.d_grad_b", substitute=True,
                gradient=_by(lambda p: d_loss(x, G.value, w, p), b))
    return {"w": gw, "b": gb}


LOSS_LATEX = {"L_real": r"L_{\mathrm{real}}", "L_fake": r"L_{\mathrm{fake}}", "L_G": "L_{G}"}
CHAIN_TEXT = {
    "real": lambda: _("∂(-log D)/∂D = -1/D; times σ' = D(1 - D) this is -(1 - D) = D - 1: near -1 while D misjudges the real colour, near 0 once D(x) → 1."),
    "non-saturating": lambda: _("∂(-log D′)/∂D′ = -1/D′; times σ' = D′(1 - D′) this is -(1 - D′) = D′ - 1: near -1 while D′ spots the fake (D′(G(z)) → 0), so G still learns when it is losing."),
    "fake": lambda: _("∂(-log(1 - D))/∂D = 1/(1 - D); times σ' = D(1 - D) this is D: the gradient is as large as D's mistake on the fake."),
    "minimax": lambda: _("∂ log(1 - D′)/∂D′ = -1/(1 - D′); times σ' = D′(1 - D′) this is -D′: it vanishes as D′ → 0, when D′ spots the fake (saturation)."),
}


def _chain(d: Derivation, unit: Pass, kind: str, at: str, key: str, loss: str, text: str = ""):
    """∂L/∂D, σ'(s) = D(1 - D) and δ = ∂L/∂s for one -log term; where ∂L/∂D is infinite in
    float64 (D rounds to 0 or 1) it is not shown and δ is written in its simplified form."""
    D, s = unit.out, unit.layer.z
    Dshown, sshown = dense.shown(d, D), dense.shown(d, s)
    derivative, code = DERIVATIVE[kind]
    text = text or CHAIN_TEXT[kind]()
    with np.errstate(all="ignore"):
        grad = float(derivative(np.float64(D.value)))
    L = sp.Symbol(loss)
    g = None
    if np.isfinite(grad):
        g = d.step(f"{at}dL_dD", _("Gradient of the term by D"), explanation=text,
                   symbol=_symbol(d, f"d{loss}_d{D.var}", f"∂{loss}/∂{Dshown[0]}", rf"\frac{{\partial {LOSS_LATEX[loss]}}}{{\partial {Dshown[1]}}}"),
                   lhs=sp.Derivative(L, D.symbol), formula=derivative(D.symbol), value=grad,
                   code=f"d{loss}_d{D.var} = " + code.format(D=D.var), concept=f"gan.{kind}_dD",
                   gradient=_in_domain(kind, D.value), substitute=True)
    prime = activations.derivative(d, s, D, "sigmoid", at=at, names={"da": (
        f"d{D.var}_ds", f"∂{Dshown[0]}/∂{sshown[0]}", rf"\frac{{\partial {Dshown[1]}}}{{\partial {sshown[1]}}}")})
    prime.explanation = _("σ'({s}) = σ({s})(1 - σ({s})) = {D}(1 - {D}), written out with {D} already computed.").format(s=sshown[0], D=Dshown[0])
    prime.substitute = True  # a scalar: written out with D
    names = {"delta": (f"delta_{key}", f"δ_{key}", rf"\delta_{{\mathrm{{{key}}}}}")}
    check = _by(lambda p: term_value(kind, p), s.value)
    if g is not None:
        delta = activations.delta(d, g, s, prime, "sigmoid", at=at, names=names, check=check)
        delta.title = _("Delta: the gradient at the logit")
        delta.explanation = _("δ = ∂{L}/∂{s} = ∂{L}/∂{D} · σ'({s}). ").format(L=loss, s=sshown[0], D=Dshown[0]) + text
        delta.substitute = True
        return delta
    simple, simple_code = SIMPLE[kind]
    return d.step(f"{at}delta", _("Delta: the gradient at the logit"), symbol=_symbol(d, *names["delta"]),
                  explanation=_("δ = ∂{L}/∂{s} = ∂{L}/∂{D} · σ'({s}). ").format(L=loss, s=sshown[0], D=Dshown[0]) + text,
                  lhs=sp.Derivative(L, s.symbol), formula=simple(D.symbol), value=float(simple(np.float64(D.value))),
                  code=f"delta_{key} = " + simple_code.format(D=D.var), concept="activations.delta", gradient=check, substitute=True,
                  notes=(Caution(_("{D} rounds to exactly {edge} in float64, so ∂{L}/∂{D} = {written} is infinite there and is not shown; the product with σ' = {D}(1 - {D}) = 0 is written in its simplified form, which is exact").format(
                      D=Dshown[0], edge=0 if kind == "real" else 1, L=loss, written=code.format(D=Dshown[0]))),))


def _d_update(d: Derivation, h: dict, G, disc: dict, grads: dict) -> dict:
    """w′, b′, then D′ on the real and the fake colour and L_D before and after."""
    d.section(_("Discriminator update"), _("Gradient descent on D's parameters only: w′ = w - η ∂L_D/∂w, b′ = b - η ∂L_D/∂b."))
    w_new = dense.update(d, h["w"], grads["w"], h["lr"], at="d.", id="update_w")
    b_new = dense.update(d, h["b"], grads["b"], h["lr"], at="d.", id="update_b")
    d.section(_("Discriminator after its update"), _("The same real and fake colours through the updated discriminator D′: D′(G(z)) is the number the generator's step starts from."))
    real = _unit(d, w_new, h["x"], b_new, "d.after.real.", NAMES["s_real_new"], NAMES["D_real_new"])
    fake = _unit(d, w_new, G, b_new, "d.after.fake.", NAMES["s_fake_new"], NAMES["D_fake_new"])
    real.out.notes += (_moved(disc["real"].out.value, real.out.value, "D(x)", _("real")),)
    fake.out.notes += (_moved(disc["fake"].out.value, fake.out.value, "D(G(z))", _("fake")),)
    _loss_after(d, "d.", [("real", real), ("fake", fake)], ("L_D_new", "L_D′", "L_{D}'"), disc["loss"], h["lr"].value, grads.values())
    return {"w": w_new, "b": b_new, "real": real, "fake": fake}


def _moved(before: float, after: float, what: str, which: str) -> str:
    """How the updated D judges a colour compared with before (computed)."""
    if after == before:
        return _("{what} was {a:.6g} and D′ gives the same in float64").format(what=what, a=before)
    verb = _("more") if after > before else _("less")
    return _("{what} was {a:.6g}, D′ gives {b:.6g}: D′ calls the {which} colour real {verb} confidently").format(
        what=what, a=before, b=after, which=which, verb=verb)


def _loss_after(d: Derivation, at: str, terms: list, name: tuple, before, lr: float, grads) -> None:
    """The loss again with the updated parameters, as the sum of its -log terms, and ΔL."""
    pieces = [term(kind, unit.out, unit.layer.z, dense.shown(d, unit.out)[0]) for kind, unit in terms]
    formula = sp.Add(*(piece[0] for piece in pieces), evaluate=False)  # the real term, then the fake one
    after = d.step(f"{at}loss_after", _("Loss after the update"), explanation=_("The same loss at the updated parameters."),
                   symbol=_symbol(d, *name), formula=formula, value=float(sum(piece[1] for piece in pieces)),
                   code=f"{name[0]} = " + " + ".join(f"({piece[2]})" for piece in pieces), concept="gan.loss_after",
                   notes=tuple(note for piece in pieces for note in piece[3]), substitute=True)
    zero = all(not np.any(g.value) for g in grads)
    d.step(f"{at}loss_change", _("Change of the loss"), explanation=_("ΔL = L′ - L: negative when the update reduced the loss."),
           symbol=_symbol(d, f"Delta_{name[0][:-4]}", f"Δ{name[1][:-1]}", rf"\Delta {name[2][:-1]}"),
           formula=after.symbol - before.symbol, value=after.value - before.value, code=f"Delta_{name[0][:-4]} = {name[0]} - {before.var}",
           concept="gan.loss_change", substitute=True, notes=(change_note(before.value, after.value, lr, zero),))


def change_note(before: float, after: float, lr: float, zero: bool) -> str:
    """What the update did to the loss, from the numbers."""
    before, after = before + 0.0, after + 0.0  # a loss of -0.0 (log 1 negated) is shown as 0
    if after < before:
        return _("the loss fell from {a:.6g} to {b:.6g}").format(a=before, b=after)
    if after == before and zero:
        return Caution(_("the loss did not change ({a:.6g}): every gradient is exactly 0 in float64 (saturated sigmoids), so nothing moved").format(a=before))
    if after == before:
        return Caution(_("the loss did not change in float64 ({a:.6g}): this step of η = {lr:.4g} is too small to show in it").format(a=before, lr=lr))
    return Caution(_("the loss did not decrease: it rose from {a:.6g} to {b:.6g}; the gradient describes the loss only near the old parameters, and a step of η = {lr:.4g} went too far along it (overshoot)").format(
        a=before, b=after, lr=lr))


# ---- G's loss, gradients and update -------------------------------------------------------

def g_loss(kind: str, z, Wg, bg, w, b) -> float:
    """L_G(Wᵍ, bᵍ) with the discriminator (w, b) fixed, from the logit (NumPy)."""
    return float(term_value(kind, np.dot(w, sigmoid(np.dot(Wg, z) + bg)) + b))


LOSS_TEXT = {
    "real": lambda: _("--g-loss non-saturating (the lecture's): L_G = -log D′(G(z)), small when the updated D′ is fooled (D′(G(z)) → 1)."),
    "minimax": lambda: _("--g-loss minimax (the original min-max game): G minimizes L_G = log(1 - D′(G(z))), the fake term of D's loss with the sign flipped; it is negative and falls as D′(G(z)) → 1."),
}


def _g_loss(d: Derivation, new_d: dict, kind: str):
    """G's loss at the fake colour, judged by the updated discriminator D′."""
    d.section(_("Generator loss, with the updated discriminator"), _("The usual alternating scheme: D's step first, then G's step against the UPDATED discriminator D′ (w′, b′), as in Goodfellow et al. (2014), Algorithm 1. During G's step D′ is held fixed; only Wᵍ and bᵍ move."))
    return _term_step(d, "g.loss", _("Generator loss"), LOSS_TEXT[kind](), new_d["fake"], kind, ("L_G", "L_G", "L_{G}"))


def _g_gradients(d: Derivation, h: dict, gen: Generator, new_d: dict, loss, kind: str) -> dense.Gradients:
    """δ at D′'s logit, ∂L_G/∂G through D′'s weights, δᵍ through G's σ', ∂L_G/∂Wᵍ and ∂L_G/∂bᵍ."""
    d.section(_("Generator gradients, flowing back through D′"), _("G's loss reaches Wᵍ through D′: ∂L_G/∂Wᵍ_ij = ∂L_G/∂D′ · σ'(s′_fake) · w′_i · σ'(u_i) · z_j. D′'s weights w′ carry the gradient back to the colour G(z); G's own sigmoid σ'(u) = G(1 - G) carries it on to Wᵍ."))
    z, Wg, bg = h["z"].value, h["Wg"].value, h["bg"].value
    w, b = new_d["w"].value, new_d["b"].value
    delta = _chain(d, new_d["fake"], kind, "g.d.", "G", "L_G", CHAIN_TEXT["non-saturating" if kind == "real" else kind]())
    G = gen.G
    dG = d.step("g.dL_dG", _("Gradient by the fake colour"), explanation=_("s′_fake = Σ_j w′_j G_j + b′, so ∂L_G/∂G_j = δ_G w′_j: D′'s weights pass the gradient back to every channel of the colour."),
                symbol=sp.IndexedBase(_symbol(d, "dLG_dG", "∂L_G/∂G", r"\frac{\partial L_{G}}{\partial G}")), index=(j,),
                lhs=sp.Derivative(sp.Symbol("L_G"), G.symbol[j]), formula=delta.symbol * new_d["w"].symbol[j],
                value=delta.value * np.asarray(w, float), code=f"dLG_dG = {delta.var} * {new_d['w'].var}", concept="dense.dL_dx",
                gradient=_by(lambda p: term_value(kind, np.dot(w, p) + b), G.value))
    prime = activations.derivative(d, gen.layer.z, G, "sigmoid", at="g.", names={"da": ("dG_du", "∂G/∂u", r"\frac{\partial G}{\partial u}")})
    prime.explanation = _("σ'(u_i) = σ(u_i)(1 - σ(u_i)) = G_i (1 - G_i), the generator's own sigmoid, written out with G already computed.")
    deltag = activations.delta(d, dG, gen.layer.z, prime, "sigmoid", at="g.", names={"delta": ("delta_g", "δᵍ", r"\delta^{g}")},
                               check=_by(lambda p: term_value(kind, np.dot(w, sigmoid(p)) + b), gen.layer.z.value))
    deltag.explanation = _("δᵍ_i = ∂L_G/∂u_i = ∂L_G/∂G_i · σ'(u_i), with σ'(u_i) = G_i (1 - G_i): the generator's own sigmoid.")
    grads = dense.backward(d, gen.layer, deltag, at="g.", input_grad=False, names={
        "dW": ("dLG_dWg", "∂L_G/∂Wᵍ", r"\frac{\partial L_{G}}{\partial {W^{g}}}"),
        "db": ("dLG_dbg", "∂L_G/∂bᵍ", r"\frac{\partial L_{G}}{\partial {b^{g}}}"), "L": "L_G"},
        checks={"W": _by(lambda p: g_loss(kind, z, p, bg, w, b), Wg), "b": _by(lambda p: g_loss(kind, z, Wg, p, w, b), bg)})
    grads.W.explanation = _("∂u_i/∂Wᵍ_ij = z_j, so ∂L_G/∂Wᵍ_ij = δᵍ_i z_j: in matrix form δᵍ zᵀ, of shape (c, m) like Wᵍ.")
    grads.b.explanation = _("∂u_i/∂bᵍ_i = 1, so ∂L_G/∂bᵍ_i = δᵍ_i.")
    return grads


def _g_update(d: Derivation, h: dict, gen: Generator, new_d: dict, grads, loss, kind: str) -> None:
    """Wᵍ′, bᵍ′, the new colour G′(z), D′ on it and L_G before and after."""
    d.section(_("Generator update"), _("Gradient descent on G's parameters only (D′ stays as it is): Wᵍ′ = Wᵍ - η ∂L_G/∂Wᵍ, bᵍ′ = bᵍ - η ∂L_G/∂bᵍ."))
    new = dense.update_layer(d, gen.layer, grads, h["lr"], at="g.")
    d.section(_("Generator after its update"), _("The same z through the updated generator, judged by the same D′."))
    layer = dense.forward(d, new.W, h["z"], new.b, at="g.after.", names={"z": ("u_new", "u′", "u'")}, count={"out": c, "in": m})
    G_new = activations.activate(d, layer.z, "sigmoid", at="g.after.", names={"a": ("G_new", "G′", "G'")})
    _explain_generator(d, layer, G_new)
    x = h["x"].value
    before, after = float(np.linalg.norm(gen.G.value - x)), float(np.linalg.norm(G_new.value - x))
    G_new.notes += (colour_note(G_new.value, x, "G′(z)"), _closer(before, after))
    unit = _unit(d, new_d["w"], G_new, new_d["b"], "g.after.d.", NAMES["s_G_new"], NAMES["D_G_new"])
    unit.out.notes += (_moved(new_d["fake"].out.value, unit.out.value, "D′(G(z))", _("new fake")),)
    _loss_after(d, "g.", [(kind, unit)], ("L_G_new", "L_G′", "L_{G}'"), loss, h["lr"].value, (grads.W, grads.b))


def _closer(before: float, after: float) -> str:
    if after < before:
        return _("the update brought the fake colour closer to the real one: distance {a:.4g} → {b:.4g}").format(a=before, b=after)
    if after > before:
        return _("the fake colour moved away from the real one (distance {a:.4g} → {b:.4g}): G only learns to fool D′, and D′ is not a perfect judge of realness").format(a=before, b=after)
    return _("the distance to the real colour did not change in float64 ({a:.4g})").format(a=before)


# ---- why the non-saturating loss ----------------------------------------------------------

def _comparison(d: Derivation, new_d: dict) -> None:
    """Both G losses' gradients at D′'s logit s′_fake, their ratio D′/(1 - D′), a computed note."""
    d.section(_("Saturating and non-saturating gradients"), _("At the same fake colour, the gradient each G loss sends back through D′'s logit s′_fake: ∂(-log D′)/∂s′ = -(1 - D′) (non-saturating) and ∂ log(1 - D′)/∂s′ = -D′ (minimax). Both push s′_fake up (both negative), but with different strength; everything further back (w′, σ'(u), z) multiplies both alike."))
    unit = new_d["fake"]
    D, s = unit.out, unit.layer.z
    ns = d.step("cmp.non_saturating", _("Non-saturating gradient"), explanation=CHAIN_TEXT["non-saturating"](),
                symbol=_symbol(d, "g_ns", "∂(-log D′)/∂s′", r"\frac{\partial (-\log D')}{\partial s'}"), formula=-(1 - D.symbol),
                value=-(1 - D.value), code=f"g_ns = -(1 - {D.var})", concept="gan.non_saturating", substitute=True,
                gradient=_by(lambda p: term_value("real", p), s.value))
    mm = d.step("cmp.minimax", _("Minimax (saturating) gradient"), explanation=CHAIN_TEXT["minimax"](),
                symbol=_symbol(d, "g_mm", "∂log(1 - D′)/∂s′", r"\frac{\partial \log(1 - D')}{\partial s'}"), formula=-D.symbol,
                value=-D.value, code=f"g_mm = -{D.var}", concept="gan.minimax",
                gradient=_by(lambda p: term_value("minimax", p), s.value))
    if ns.value == 0:
        mm.notes += (Caution(_("D′(G(z)) rounds to 1 in float64: the non-saturating gradient -(1 - D′) is 0 and the ratio of the two is not defined")),)
        return
    d.step("cmp.ratio", _("Ratio of the two gradients"), explanation=_("-D′ / (-(1 - D′)) = D′/(1 - D′): the minimax gradient is this fraction of the non-saturating one (also through w′, σ'(u) and z, which both share)."),
           symbol=_symbol(d, "ratio", "r", "r"), formula=mm.symbol / ns.symbol, value=mm.value / ns.value,
           code="ratio = g_mm / g_ns", concept="gan.gradient_ratio", substitute=True, notes=(ratio_note(D.value),))


def ratio_note(D: float) -> str:
    """Which gradient is larger at D′(G(z)), and what happens when D′(G(z)) is small (computed)."""
    small = 0.01 / 0.99
    if D < 0.5:
        head = _("D′(G(z)) = {D:.4g} < 1/2: the minimax gradient is only {r:.4g} times the non-saturating one").format(D=D, r=D / (1 - D))
    elif D > 0.5:
        head = _("D′(G(z)) = {D:.4g} > 1/2: here the minimax gradient is the larger, {r:.4g} times the non-saturating one").format(D=D, r=D / (1 - D))
    else:
        head = _("D′(G(z)) = 1/2: both gradients are equal")
    return head + _("; when D spots the fake, D(G(z)) = 0.01 say (early in training), the ratio is {r:.4g}: the minimax loss saturates and G barely learns, while -(1 - D) stays near -1. That is the lecture's reason for the non-saturating loss -log D(G(z))").format(r=small)
