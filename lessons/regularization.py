"""L1 and L2 regularization of linear regression y = x·w + b with the MSE loss.

Follows Deep Learning 101 #14. Losses: MSE + λ Σ|w_j| (L1) and MSE + λ Σ w_j² (L2); the
bias is not penalized but is updated with the weights. The L2 step is
w' = (1 - 2ηλ) w - η g: it multiplies w by the factor κ = 1 - 2ηλ (weight decay). The L1
step is the proximal (soft-threshold) step: u = w - ηg, w' = sign(u) max(0, |u| - ηλ), so
a weight lands on exactly 0 when |w - ηg| <= ηλ. The linear model, its MSE, gradients and
update tables are the `linear` block's; this module adds the penalties and tells the
lecture's story.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import linear
from dlsteps.blocks.symbols import D, N, j, k, s, t, total
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck

META = {
    "title": "L1 and L2 regularization",
    "lecture": "DL101 #14 (L1, L2 Regularization)",
    "summary": "MSE + λ|w| and MSE + λw², their derivatives, update rules and many steps side by side",
    "example": 'dlsteps regularization --x "1,0;0,1;1,1" --y 1,0.1,1.1 --w 0.5,0.5 --lambda 1 --steps 20',
    "inputs": {
        "x": {"shape": "matrix N d", "default": "1,1;2,-1;3,1", "help": "the inputs, one row per sample, one column per feature"},
        "y": {"shape": "vector N", "default": "3,5,7", "help": "the targets, one per sample"},
        "w": {"shape": "vector d", "default": "1.5,0.2", "help": "the starting weights, one per feature"},
        "b": {"shape": "scalar", "default": "0.5", "help": "the starting bias"},
        "lam": {"shape": "scalar", "domain": "nonnegative", "default": "0.5", "flag": "--lambda", "help": "the penalty strength λ"},
        "lr": {"shape": "scalar", "domain": "positive", "default": "0.05", "help": "the learning rate η"},
        "steps": {"shape": "count", "domain": "1..100", "default": "12", "help": "how many update steps to tabulate"},
    },
}

b, lam, eta, kappa = sp.symbols("b lambda eta kappa")
p1, p2 = sp.symbols("P_1 P_2")
DIVERGED = 1e12
PATHS = {"l1": "L1", "l2": "L2"}
_SUPERSCRIPT = {"L1": "ᴸ¹", "L2": "ᴸ²"}


def soft_threshold(u, threshold):
    """sign(u) max(0, |u| - ηλ): the L1 proximal step, written in that order (SymPy's
    order is max(…)⋅sign(u), and its |w - ηg| turns into |ηg - w|)."""
    return sp.Mul(sp.sign(u), sp.Max(sp.Abs(u, evaluate=False) - threshold, 0), evaluate=False)


def l1_numpy(w, g, lr, lam_):
    """NumPy: the proximal step sign(u) max(0, |u| - ηλ) with u = w - ηg."""
    u = w - lr * g
    return np.sign(u) * np.maximum(np.abs(u) - lr * lam_, 0.0)


def rules(lr: float, lam_: float) -> dict:
    """The weight update of each path: proximal for L1, weight decay for L2."""
    return {
        "l1": linear.Rule(lambda w, g: soft_threshold(w - eta * g, eta * lam), lambda w, g: l1_numpy(w, g, lr, lam_),
                          "np.sign({w} - lr * {g}) * np.maximum(np.abs({w} - lr * {g}) - lr * lam, 0)",
                          _("w_t = sign(u) max(0, |u| - ηλ) with u = w_(t-1) - η g_(t-1)")),
        "l2": linear.Rule(lambda w, g: kappa * w - eta * g, lambda w, g: (1 - 2 * lr * lam_) * w - lr * g,
                          "kappa * {w} - lr * {g}", _("w_t = κ w_(t-1) - η g_(t-1)")),
    }


def runs(x, y, w, b0, lr, lam_, steps) -> dict:
    """NumPy: (weights, biases) of `steps` updates on each path."""
    with np.errstate(all="ignore"):
        return {kind: linear.linear_updates(x, y, w, b0, lr, steps, rule.numpy) for kind, rule in rules(lr, lam_).items()}


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the losses, gradients, one update of each kind and the step tables."""
    x, y = np.array(given["x"].value, float), np.array(given["y"].value, float)
    w, b0 = np.array(given["w"].value, float), float(given["b"].value)
    lam_, lr, steps = float(given["lam"].value), float(given["lr"].value), given["steps"].value
    paths = runs(x, y, w, b0, lr, lam_, steps)
    check_divergence(paths, x, y, w, b0, lr, lam_, steps)
    h = {"x": d.given("x", sp.IndexedBase("x"), x, given["x"], _("inputs, one row per sample")),
         "y": d.given("y", sp.IndexedBase("y"), y, given["y"], _("targets")),
         "w": d.given("w", sp.IndexedBase("w"), w, given["w"], _("starting weights")),
         "b": d.given("b", b, b0, given["b"], _("starting bias")),
         "lam": d.given("lam", d.name(lam, "λ", r"\lambda"), lam_, given["lam"], _("penalty strength"), var="lam"),
         "lr": d.given("lr", d.name(eta, "η", r"\eta"), lr, given["lr"], _("learning rate"), var="lr"),
         "steps": d.given("steps", sp.Symbol("T"), steps, given["steps"], _("steps tabulated"))}
    model = _losses(d, h)
    grads = _gradients(d, h, model)
    _updates(d, h, grads)
    _tables(d, h, model, paths)


def _losses(d: Derivation, h: dict):
    d.section(_("Loss"), _("Mean squared error of the linear model, plus each penalty on the weights (not the bias)."))
    model = linear.forward(d, h["x"], h["y"], h["w"], h["b"])
    loss = linear.mse(d, model)
    w, lam_ = h["w"].value, h["lam"].value
    W = h["w"].symbol
    d.step("penalty_l1", _("L1 penalty"), symbol=p1, formula=lam * total(sp.Abs(W[k]), k, D), value=lam_ * np.abs(w).sum(),
           code="P_1 = lam * np.abs(w).sum()", substitute=True)
    d.step("penalty_l2", _("L2 penalty"), symbol=p2, formula=lam * total(W[k] ** 2, k, D), value=lam_ * (w**2).sum(),
           code="P_2 = lam * (w ** 2).sum()", substitute=True)
    d.step("loss_l1", _("L1-regularized loss"), symbol=sp.Symbol("L_L1"), formula=loss.symbol + p1, value=loss.value + lam_ * np.abs(w).sum(),
           code="L_L1 = MSE + P_1", substitute=True)
    d.step("loss_l2", _("L2-regularized loss"), symbol=sp.Symbol("L_L2"), formula=loss.symbol + p2, value=loss.value + lam_ * (w**2).sum(),
           code="L_L2 = MSE + P_2", substitute=True)
    return model, loss


def _gradients(d: Derivation, h: dict, model):
    d.section(_("Derivatives"), _("The chain rule through the square gives the MSE part; each penalty adds its own derivative."))
    grads = linear.gradients(d, *model)
    w, lam_, W = h["w"].value, h["lam"].value, h["w"].symbol
    zeros = np.flatnonzero(w == 0)
    notes = (Caution(_("w_{which} = 0 here: |w| has no derivative at 0; any value in [-λ, λ] is a subgradient and sign(0) = 0 picks the middle one").format(which=", w_".join(map(str, zeros)))),) if len(zeros) else ()
    d.step("grad_l1", _("L1 penalty by each weight"), explanation=_("d(λ|w_j|)/dw_j = λ sign(w_j): the same size λ however small the weight."),
           lhs=sp.Derivative(p1, W[j]), index=(j,), formula=lam * sp.sign(W[j]), value=lam_ * np.sign(w), var="grad_l1",
           code="grad_l1 = lam * np.sign(w)", notes=notes, concept="regularization.grad_l1",
           gradient=GradientCheck(lambda v: lam_ * np.abs(v).sum(), w, kinks=np.zeros_like(w)))
    d.step("grad_l2", _("L2 penalty by each weight"), explanation=_("d(λ w_j²)/dw_j = 2λ w_j: proportional to the weight."),
           lhs=sp.Derivative(p2, W[j]), index=(j,), formula=2 * lam * W[j], value=2 * lam_ * w, var="grad_l2",
           code="grad_l2 = 2 * lam * w", concept="regularization.grad_l2", gradient=GradientCheck(lambda v: lam_ * (v**2).sum(), w))
    return grads


def decay_notes(factor: float, lam_: float) -> tuple[str, ...]:
    """What multiplying by κ = 1 - 2ηλ does, for the actual κ: a remark for 0 < κ ≤ 1, a
    caution where the penalty wipes out (κ = 0), flips (κ < 0) or grows (κ < -1) the weights."""
    if lam_ == 0:
        return (_("λ = 0, so κ = 1: no decay; the L2 update is plain gradient descent"),)
    if factor > 0:
        return (_("0 < κ < 1: the penalty alone would shrink a weight geometrically (w, κw, κ²w, …), towards 0 but never exactly to it"),)
    if factor == 0:
        return (Caution(_("κ = 0: the penalty part wipes out the weights each step, so w' = -η g depends on the data gradient alone")),)
    if factor >= -1:
        return (Caution(_("κ = {kappa:.4g} < 0: the factor flips the sign of every weight each step (ηλ > 1/2 overshoots 0){shrinks}").format(
            kappa=factor, shrinks=_("; |κ| ≤ 1, so it does not grow them") if factor == -1 else _("; |κ| < 1, so it still shrinks them"))),)
    return (Caution(_("κ = {kappa:.4g}: |κ| > 1 flips the sign of every weight and multiplies its size by {size:.4g} each step, so the penalty makes the weights grow; κ ≥ -1 needs λ ≤ 1/η").format(
        kappa=factor, size=abs(factor))),)


def l1_notes(w, u, threshold, new) -> tuple[str, ...]:
    """Which weights land on exactly 0 in this update, and where the subgradient step differs."""
    zero = np.flatnonzero(new == 0)
    if len(zero):
        names = ", ".join(_("w_{q} (|u_{q}| = {u:.4g})").format(q=q, u=abs(u[q])) for q in zero)
        notes = [_("Landing on exactly 0 in this update, since |u_j| ≤ ηλ = {threshold:.4g}: {names}").format(names=names, threshold=threshold)]
    else:
        notes = [_("No weight lands on 0 in this update: every |u_j| > ηλ = {threshold:.4g}").format(threshold=threshold)]
    subgradient = u - threshold * np.sign(w)
    for q in np.flatnonzero(~np.isclose(subgradient, new, rtol=1e-12, atol=0)):
        notes.append(_("w_{q}: the subgradient step w_{q} - η(g_{q} + λ sign(w_{q})) would give {sub:.6g}, the proximal step gives {new:.6g}{why}").format(
            q=q, sub=subgradient[q], new=new[q], why=_(" (sign(0) = 0 there)") if w[q] == 0 else ""))
    return tuple(notes)


def _updates(d: Derivation, h: dict, grads) -> None:
    """Steps decay, update_l2, data_step, update_l1, update_b: one update of each kind."""
    d.section(_("One update of each"), _("Gradient descent with learning rate η; the bias is updated with the weights, without penalty."))
    lr, lam_, w = h["lr"].value, h["lam"].value, h["w"].value
    factor = 1 - 2 * lr * lam_
    d.step("decay", _("Weight-decay factor"), explanation=_("w - η(g + 2λw) = (1 - 2ηλ) w - η g: L2 multiplies every weight by the same factor κ each step."),
                   symbol=d.name(kappa, "κ", r"\kappa"), formula=sp.Add(1, -2 * eta * lam, evaluate=False), value=factor, code="kappa = 1 - 2 * lr * lam",
                   substitute=True, notes=decay_notes(factor, lam_))
    rule = rules(lr, lam_)
    linear.update(d, h["w"], grads.w, rule["l2"], id="update_l2", title=_("L2 update"), var="w_l2", lhs=_updated(d, "L2")[j])
    data = linear.update(d, h["w"], grads.w, linear.descent(h["lr"]), id="data_step", title=_("L1: the data step"), var="u",
                         symbol=sp.IndexedBase("u"), explanation=_("First the MSE part alone: u_j = w_j - η g_j."))
    new = l1_numpy(w, grads.w.value, lr, lam_)
    d.step("update_l1", _("L1 update (soft threshold)"),
           explanation=_("Then move u_j towards 0 by ηλ, and stop at 0: w'_j = sign(u_j) max(0, |u_j| - ηλ). The weight lands on exactly 0 when |w_j - η g_j| ≤ ηλ, where the subgradient [-λ, λ] of λ|w| at 0 can balance the data gradient. It equals the subgradient step w_j - η(g_j + λ sign(w_j)) only where u_j has the sign of w_j and |u_j| > ηλ."),
           lhs=_updated(d, "L1")[j], index=(j,), formula=soft_threshold(data.symbol[j], eta * lam), value=new, var="w_l1",
           code="w_l1 = np.sign(u) * np.maximum(np.abs(u) - lr * lam, 0)", concept="regularization.soft_threshold",
           notes=l1_notes(w, data.value, lr * lam_, new))
    linear.update(d, h["b"], grads.b, linear.descent(h["lr"]), id="update_b", title=_("Bias update (both)"), var="b_new", lhs=sp.Symbol("b'"))


def _updated(d: Derivation, label: str) -> sp.IndexedBase:
    """w' of one path, written w'ᴸ¹ⱼ as in the tables (w'₀ in the worked element)."""
    return d.name(sp.IndexedBase(f"w_new_{label}"), f"w'{_SUPERSCRIPT[label]}", f"w'^{{{label}}}")


def _names(label: str) -> dict:
    sup = _SUPERSCRIPT[label]
    return {"weights": (f"w{label}", f"w{sup}", f"w^{{{label}}}"), "biases": (f"b{label}", f"b{sup}", f"b^{{{label}}}"),
            "gradients": (f"g{label}", f"g{sup}", f"g^{{{label}}}"), "bias_gradients": (f"gb{label}", f"g{sup}_b", f"g_b^{{{label}}}")}


def _tables(d: Derivation, h: dict, model, paths: dict) -> None:
    steps, lam_ = h["steps"].value, h["lam"].value
    d.section(_("{steps} steps side by side").format(steps=steps),
              _("Row t holds the parameters after t updates and the MSE gradients there.") + " " + compare_text(paths))
    rule = rules(h["lr"].value, lam_)
    for kind, label in PATHS.items():
        table = linear.table(d, model[0], rule[kind], h["steps"], h["lr"], tag=f"_{kind}", label=label, names=_names(label))
        _loss_table(d, h, model[0], table, kind, label)


def compare_text(paths: dict) -> str:
    """What the final rows show about zeros, computed from them."""
    l1, l2 = paths["l1"][0], paths["l2"][0]
    zeros = np.flatnonzero(l1[-1] == 0)
    if not len(zeros):
        text = _("No L1 weight is exactly 0 at the last row: a weight lands on 0 only when |w - ηg| ≤ ηλ.")
    else:
        parts = []
        for q in zeros:
            since = len(l1) - int(np.argmax((l1[::-1, q] != 0))) if (l1[:, q] != 0).any() else 0
            kept = _("exactly 0 as well") if l2[-1, q] == 0 else _("{v:.4g}, not 0").format(v=l2[-1, q])
            parts.append(_("L1 holds w_{q} at exactly 0 from row {since} on; at the last row, {T}, L2 has {kept}").format(
                q=q, since=since, T=len(l1) - 1, kept=kept))
        text = "; ".join(parts) + "."
    exact = np.flatnonzero((l2[-1] == 0) & (l1[-1] != 0))
    if len(exact):
        text += " " + _("L2 ends with w_{which} exactly 0 here.").format(which=", w_".join(map(str, exact)))
    return text


def _loss_table(d: Derivation, h: dict, lin, table, kind: str, label: str) -> None:
    """Step losses_<kind>: the regularized loss at every row, with a remark where it rises."""
    x, y = lin.x.value, lin.y.value
    weights, biases = table.weights.value, table.biases.value
    W, B = table.weights.symbol, table.biases.symbol
    fit = ((weights @ x.T + biases[:, None] - y) ** 2).mean(axis=1)
    penalty = np.abs(weights).sum(axis=1) if kind == "l1" else (weights**2).sum(axis=1)
    term = sp.Abs(W[t, k]) if kind == "l1" else W[t, k] ** 2
    # Σ_k w_tk x_sk + b_t - y_s, written in the order its numbers are printed (b after the sum)
    residual = sp.Add(total(lin.x.symbol[s, k] * W[t, k], k, D), B[t], -lin.y.symbol[s], evaluate=False)
    code_penalty = f"np.abs({W}).sum(axis=1)" if kind == "l1" else f"({W} ** 2).sum(axis=1)"
    values = fit + h["lam"].value * penalty
    d.step(f"losses_{kind}", _("{label}-regularized loss at every row").format(label=label),
           symbol=d.name(sp.IndexedBase(f"L{label}"), f"L{_SUPERSCRIPT[label]}", f"L^{{{label}}}"), index=(t,),
           formula=sp.Add(total(residual**2, s, N) / N, lam * total(term, k, D), evaluate=False), value=values,
           code=f"L{label} = (({W} @ x.T + {B}[:, None] - y) ** 2).mean(axis=1) + lam * {code_penalty}",
           concept="regularization.losses", notes=rise_notes(values, weights, label))


def rise_notes(values: np.ndarray, weights: np.ndarray, label: str) -> tuple[str, ...]:
    """A caution when the loss rises between rows, computed from them."""
    rises = np.flatnonzero(values[1:] > values[:-1] * (1 + 1e-9) + 1e-300)
    if not len(rises):
        return ()
    size = np.abs(weights).max(axis=1)
    if values[-1] > values[0]:
        return (Caution(_("The {label} loss rises from {first:.4g} at row 0 to {last:.4g} at row {T}, and the largest |w| goes from {w0:.4g} to {wT:.4g}: these updates move away from the minimum (a smaller --lr or --lambda would help)").format(
            label=label, first=values[0], last=values[-1], T=len(values) - 1, w0=size[0], wT=size[-1])),)
    return (Caution(_("The {label} loss rises in {n} of the {T} updates (first from row {t} to {t1}), though it ends lower than it started: the steps overshoot").format(
        label=label, n=len(rises), T=len(values) - 1, t=rises[0], t1=rises[0] + 1)),)


def _diverges(path) -> bool:
    weights, biases = path
    return not (np.isfinite(weights).all() and np.isfinite(biases).all()
                and np.abs(weights).max() < DIVERGED and np.abs(biases).max() < DIVERGED)


def check_divergence(paths: dict, x, y, w, b0, lr, lam_, steps) -> None:
    """Refuse diverging updates, naming the real cause and a value that works."""
    if not any(map(_diverges, paths.values())):
        return
    factor = 1 - 2 * lr * lam_
    if not _diverges(paths["l1"]) and abs(factor) > 1:
        better = _working(lambda v: runs(x, y, w, b0, lr, v, steps), min(lam_, 1 / lr))
        if better is not None:
            raise InputError(_("--lambda: {lam:g} makes the L2 updates diverge (κ = 1 - 2ηλ = {kappa:.4g}: |κ| > 1 flips and grows the weights each step, past 1e12); try a smaller penalty such as {better:g}").format(
                lam=lam_, kappa=factor, better=better))
    better = _working(lambda v: runs(x, y, w, b0, v, lam_, steps), lr)
    suggestion = _("; try a smaller learning rate such as {better:g}").format(better=better) if better is not None else ""
    raise InputError(_("--lr: {lr:g} makes the updates diverge (the weights pass 1e12){suggestion}").format(lr=lr, suggestion=suggestion))


def _working(run, value: float) -> float | None:
    """The first of value/2, value/4, … (to 3 digits) for which no path diverges (for λ, the
    start min(λ, 1/η) makes |κ| < 1)."""
    for power in range(1, 80):
        candidate = float(f"{value / 2**power:.3g}")
        if candidate > 0 and not any(map(_diverges, run(candidate).values())):
            return candidate
    return None
