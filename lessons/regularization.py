"""L1 and L2 regularization of linear regression y = x·w + b with the MSE loss.

Follows Deep Learning 101 #14. Losses: MSE + λ Σ|w_j| (L1) and MSE + λ Σ w_j² (L2); the
bias is not penalized but is updated with the weights. The L2 step multiplies w by the
constant factor 1 - 2ηλ (weight decay). The L1 step is the proximal (soft-threshold)
step: a subgradient step that stops at exactly 0 instead of jumping across it, which
is how L1 sets small weights to exactly 0.
"""

import numpy as np
import sympy as sp

from dlsteps.i18n import _
from dlsteps.inputs import InputError
from dlsteps.model import Derivation, GradientCheck

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

N, D = sp.symbols("N d", integer=True, positive=True)
s, j, k, t = sp.symbols("s j k t", integer=True, nonnegative=True)
X, Y, W = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("w")
Yhat, R = sp.IndexedBase("yhat"), sp.IndexedBase("r")
G, U = sp.IndexedBase("g"), sp.IndexedBase("u")
W1, W2, B1, B2 = (sp.IndexedBase(name) for name in ("wL1", "wL2", "bL1", "bL2"))
b, lam, eta, kappa = sp.symbols("b lambda eta kappa")
mse, gb, p1, p2 = sp.symbols("MSE g_b P_1 P_2")
DIVERGED = 1e12


def _sum(expr, index, size):
    return sp.Sum(expr, (index, 0, size - 1))


def prediction(weight, bias, sample):
    """ŷ_s = Σ_k x_sk w_k + b, with `weight(k)` giving w_k as a SymPy expression."""
    return _sum(X[sample, k] * weight(k), k, D) + bias


def mse_gradient(weight, bias, feature):
    """∂MSE/∂w_j = (2/N) Σ_s (ŷ_s - y_s) x_sj."""
    return 2 / N * _sum((prediction(weight, bias, s) - Y[s]) * X[s, feature], s, N)


def bias_gradient(weight, bias):
    """∂MSE/∂b = (2/N) Σ_s (ŷ_s - y_s)."""
    return 2 / N * _sum(prediction(weight, bias, s) - Y[s], s, N)


def soft_threshold(u):
    """sign(u) max(|u| - ηλ, 0): the L1 proximal step."""
    return sp.sign(u) * sp.Max(sp.Abs(u) - eta * lam, 0)


def gradients(x, y, w, b_):
    """NumPy: (∂MSE/∂w, ∂MSE/∂b) for y ≈ x·w + b."""
    residual = x @ w + b_ - y
    return 2 / len(y) * x.T @ residual, 2 / len(y) * residual.sum()


def mse_loss(x, y, w, b_):
    """NumPy: (1/N) Σ (x·w + b - y)²."""
    return float(((x @ w + b_ - y) ** 2).mean())


def l1_step(x, y, w, b_, lr, lam_):
    """One proximal-gradient step for MSE + λ Σ|w|; the bias takes a plain gradient step."""
    gw, gb_ = gradients(x, y, w, b_)
    u = w - lr * gw
    return np.sign(u) * np.maximum(np.abs(u) - lr * lam_, 0.0), b_ - lr * gb_


def l2_step(x, y, w, b_, lr, lam_):
    """One gradient step for MSE + λ Σ w²: w ← (1 - 2ηλ) w - η ∂MSE/∂w."""
    gw, gb_ = gradients(x, y, w, b_)
    return (1 - 2 * lr * lam_) * w - lr * gw, b_ - lr * gb_


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the losses, gradients, one update of each kind and the step tables."""
    x, y = np.array(given["x"].value, float), np.array(given["y"].value, float)
    w, b0 = np.array(given["w"].value, float), float(given["b"].value)
    lam_, lr = float(given["lam"].value), float(given["lr"].value)
    d.bind(N, len(y))
    d.bind(D, len(w))
    d.given("x", X, x, given["x"], _("inputs, one row per sample"))
    d.given("y", Y, y, given["y"], _("targets"))
    d.given("w", W, w, given["w"], _("starting weights"))
    d.given("b", b, b0, given["b"], _("starting bias"))
    d.given("lam", d.name(lam, "λ", r"\lambda"), lam_, given["lam"], _("penalty strength"))
    d.given("lr", d.name(eta, "η", r"\eta"), lr, given["lr"], _("learning rate"))
    d.given("steps", sp.Symbol("T"), given["steps"].value, given["steps"], _("steps tabulated"))
    _losses(d, x, y, w, b0, lam_)
    _gradients(d, x, y, w, b0, lam_)
    _updates(d, x, y, w, b0, lam_, lr)
    _trajectories(d, x, y, w, b0, lam_, lr, given["steps"].value)


def _losses(d: Derivation, x, y, w, b0, lam_) -> None:
    d.section(_("Loss"), _("Mean squared error of the linear model, plus each penalty on the weights (not the bias)."))
    yhat = x @ w + b0
    d.step("prediction", _("Predictions"), symbol=d.name(Yhat, "ŷ", r"\hat{y}"), index=(s,), formula=prediction(lambda q: W[q], b, s),
           value=yhat, depends_on=("x", "w", "b"), code="yhat = x @ w + b")
    d.step("residual", _("Residuals"), symbol=R, index=(s,), formula=Yhat[s] - Y[s], value=yhat - y,
           depends_on=("prediction", "y"), code="r = yhat - y")
    d.step("mse", _("Mean squared error"), symbol=mse, formula=_sum(R[s] ** 2, s, N) / N, value=mse_loss(x, y, w, b0),
           depends_on=("residual",), code="mse = (r ** 2).mean()", substitute=True)
    d.step("penalty_l1", _("L1 penalty"), symbol=p1, formula=lam * _sum(sp.Abs(W[k]), k, D), value=lam_ * np.abs(w).sum(),
           depends_on=("w", "lam"), code="P1 = lam * np.abs(w).sum()", substitute=True)
    d.step("penalty_l2", _("L2 penalty"), symbol=p2, formula=lam * _sum(W[k] ** 2, k, D), value=lam_ * (w**2).sum(),
           depends_on=("w", "lam"), code="P2 = lam * (w ** 2).sum()", substitute=True)
    d.step("loss_l1", _("L1-regularized loss"), symbol=sp.Symbol("L_L1"), formula=mse + p1, value=mse_loss(x, y, w, b0) + lam_ * np.abs(w).sum(),
           depends_on=("mse", "penalty_l1"), code="L1 = mse + P1", substitute=True)
    d.step("loss_l2", _("L2-regularized loss"), symbol=sp.Symbol("L_L2"), formula=mse + p2, value=mse_loss(x, y, w, b0) + lam_ * (w**2).sum(),
           depends_on=("mse", "penalty_l2"), code="L2 = mse + P2", substitute=True)


def _gradients(d: Derivation, x, y, w, b0, lam_) -> None:
    d.section(_("Derivatives"), _("The chain rule through the square gives the MSE part; each penalty adds its own derivative."))
    gw, gb_ = gradients(x, y, w, b0)
    d.step("grad_mse_w", _("MSE by each weight"), explanation=_("∂MSE/∂w_j = (2/N) Σ_s (ŷ_s - y_s) x_sj."),
           symbol=G, index=(j,), lhs=sp.Derivative(mse, W[j]), formula=2 / N * _sum(R[s] * X[s, j], s, N), value=gw,
           depends_on=("residual", "x"), code="g = 2 / N * x.T @ r", gradient=GradientCheck(lambda v: mse_loss(x, y, v, b0), w))
    d.step("grad_mse_b", _("MSE by the bias"), explanation=_("∂MSE/∂b = (2/N) Σ_s (ŷ_s - y_s)."),
           symbol=gb, lhs=sp.Derivative(mse, b), formula=2 / N * _sum(R[s], s, N), value=gb_, depends_on=("residual",),
           code="g_b = 2 / N * r.sum()", substitute=True, gradient=GradientCheck(lambda v: mse_loss(x, y, w, float(v)), b0))
    notes = (_("w_j = 0 here: |w| has no derivative at 0; any value in [-λ, λ] is a subgradient and sign(0) = 0 picks the middle one"),) if (w == 0).any() else ()
    d.step("grad_l1", _("L1 penalty by each weight"), explanation=_("d(λ|w_j|)/dw_j = λ sign(w_j): the same size λ however small the weight."),
           lhs=sp.Derivative(p1, W[j]), index=(j,), formula=lam * sp.sign(W[j]), value=lam_ * np.sign(w), depends_on=("w", "lam"),
           code="lam * np.sign(w)", notes=notes, gradient=GradientCheck(lambda v: lam_ * np.abs(v).sum(), w, kinks=np.zeros_like(w)))
    d.step("grad_l2", _("L2 penalty by each weight"), explanation=_("d(λ w_j²)/dw_j = 2λ w_j: proportional to the weight."),
           lhs=sp.Derivative(p2, W[j]), index=(j,), formula=2 * lam * W[j], value=2 * lam_ * w, depends_on=("w", "lam"),
           code="2 * lam * w", gradient=GradientCheck(lambda v: lam_ * (v**2).sum(), w))


def _updates(d: Derivation, x, y, w, b0, lam_, lr) -> None:
    d.section(_("One update of each"), _("Gradient descent with learning rate η; the bias is updated with the weights, without penalty."))
    gw, gb_ = gradients(x, y, w, b0)
    d.step("decay", _("Weight-decay factor"), explanation=_("w - η(g + 2λw) = (1 - 2ηλ) w - η g: L2 multiplies every weight by the same factor each step."),
           symbol=d.name(kappa, "κ", r"\kappa"), formula=1 - 2 * eta * lam, value=1 - 2 * lr * lam_, depends_on=("lam", "lr"),
           code="kappa = 1 - 2 * lr * lam", substitute=True)
    d.step("update_l2", _("L2 update"), lhs=sp.Symbol("w'_j"), index=(j,), formula=kappa * W[j] - eta * G[j],
           value=l2_step(x, y, w, b0, lr, lam_)[0], depends_on=("decay", "grad_mse_w"), code="w_new = kappa * w - lr * g")
    u = w - lr * gw
    d.step("data_step", _("L1: the data step"), explanation=_("First the MSE part alone: u_j = w_j - η g_j."),
           symbol=U, index=(j,), formula=W[j] - eta * G[j], value=u, depends_on=("grad_mse_w",), code="u = w - lr * g")
    d.step("update_l1", _("L1 update (soft threshold)"),
           explanation=_("Then move u_j towards 0 by ηλ, but not past it: sign(u_j) max(|u_j| - ηλ, 0). This is the subgradient step w - η(g + λ sign(w)) wherever it does not cross 0; where it would, the weight stops at exactly 0, where the subgradient [-λ, λ] of λ|w| can balance the data gradient."),
           lhs=sp.Symbol("w'_j"), index=(j,), formula=soft_threshold(U[j]), value=l1_step(x, y, w, b0, lr, lam_)[0],
           depends_on=("data_step", "lam"), code="w_new = np.sign(u) * np.maximum(np.abs(u) - lr * lam, 0)")
    d.step("update_b", _("Bias update (both)"), lhs=sp.Symbol("b'"), formula=b - eta * gb, value=b0 - lr * gb_,
           depends_on=("grad_mse_b",), code="b_new = b - lr * g_b", substitute=True)


def _run(step, x, y, w, b0, lr, lam_, steps):
    """Weights (T+1 × d) and biases (T+1) of `steps` updates starting at (w, b0)."""
    weights, biases = [w], [b0]
    for _t in range(steps):
        w, b0 = step(x, y, w, b0, lr, lam_)
        weights.append(w)
        biases.append(b0)
    return np.array(weights), np.array(biases)


TRAJECTORY = {
    # kind: (label, weights, biases, weight gradients, bias gradients, NumPy step)
    "l1": ("L1", W1, B1, sp.IndexedBase("gL1"), sp.IndexedBase("gbL1"), l1_step),
    "l2": ("L2", W2, B2, sp.IndexedBase("gL2"), sp.IndexedBase("gbL2"), l2_step),
}


def _update_rule(kind: str, weight: sp.Expr, gradient: sp.Expr) -> sp.Expr:
    """The weight after one step: soft threshold for L1, weight decay for L2."""
    return soft_threshold(weight - eta * gradient) if kind == "l1" else kappa * weight - eta * gradient


def _trajectories(d: Derivation, x, y, w, b0, lam_, lr, steps: int) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        runs = {kind: _run(spec[5], x, y, w, b0, lr, lam_, steps) for kind, spec in TRAJECTORY.items()}
    _check_divergence(runs, lr)
    zeros = np.flatnonzero(runs["l1"][0][-1] == 0)
    ending = " " + _("Here L1 ends with w_{which} = 0 exactly.").format(which=", w_".join(map(str, zeros))) if len(zeros) else ""
    d.section(_("{steps} steps side by side").format(steps=steps),
              _("Row t holds the parameters after t updates and the MSE gradients there. Watch the small weight: L1 sets it to exactly 0 and keeps it there; L2 shrinks it by a factor each step but never to 0.") + ending)
    for kind, (label, weights, biases, grads, bias_grads, _step) in TRAJECTORY.items():
        _trajectory(d, kind, label, runs[kind], (weights, biases, grads, bias_grads), x, y)


def _trajectory(d: Derivation, kind: str, label: str, run, symbols, x, y) -> None:
    """Four steps: the MSE gradients at every row, then the weights and biases they lead to."""
    weights, biases = run
    Ws, Bs, Gs, GBs = symbols
    d.name(Ws, f"w{_SUPERSCRIPT[label]}", f"w^{{{label}}}")
    d.name(Bs, f"b{_SUPERSCRIPT[label]}", f"b^{{{label}}}")
    d.name(Gs, f"g{_SUPERSCRIPT[label]}", f"g^{{{label}}}")
    d.name(GBs, f"g{_SUPERSCRIPT[label]}_b", f"g_b^{{{label}}}")
    gradient_rows = [gradients(x, y, row, bias) for row, bias in zip(weights[:-1], biases[:-1])]
    rows, columns = tuple(map(str, range(len(biases)))), tuple(f"w_{q}" for q in range(weights.shape[1]))
    row_weights = lambda q: Ws[t, q]
    d.step(f"gradients_{kind}", _("MSE gradients on the {label} path").format(label=label), symbol=Gs, index=(t, j),
           formula=mse_gradient(row_weights, Bs[t], j), value=np.array([g for g, _gb in gradient_rows]),
           depends_on=(f"weights_{kind}",), labels=(rows[:-1], columns), code="g = 2 / N * x.T @ (x @ w + b - y)")
    d.step(f"bias_gradients_{kind}", _("Bias gradients on the {label} path").format(label=label), symbol=GBs, index=(t,),
           formula=bias_gradient(row_weights, Bs[t]), value=np.array([gb_ for _g, gb_ in gradient_rows]),
           depends_on=(f"biases_{kind}",), code="g_b = 2 / N * (x @ w + b - y).sum()")
    d.step(f"weights_{kind}", _("Weights with {label}").format(label=label), symbol=Ws, index=(t, j),
           formula=sp.Piecewise((W[j], sp.Eq(t, 0)), (_update_rule(kind, Ws[t - 1, j], Gs[t - 1, j]), True)), value=weights,
           depends_on=(f"update_{kind}", f"gradients_{kind}"), labels=(rows, columns), code=f"w, b = {kind}_step(x, y, w, b)")
    d.step(f"biases_{kind}", _("Bias with {label}").format(label=label), symbol=Bs, index=(t,),
           formula=sp.Piecewise((b, sp.Eq(t, 0)), (Bs[t - 1] - eta * GBs[t - 1], True)), value=biases,
           depends_on=("update_b", f"bias_gradients_{kind}"), code="b = b - lr * g_b")


_SUPERSCRIPT = {"L1": "ᴸ¹", "L2": "ᴸ²"}


def _check_divergence(runs: dict, lr: float) -> None:
    for weights, biases in runs.values():
        if not (np.isfinite(weights).all() and np.abs(weights).max() < DIVERGED and np.abs(biases).max() < DIVERGED):
            raise InputError(_("--lr: {lr:g} makes the updates diverge (the weights pass 1e12); try a smaller learning rate such as {smaller:g}").format(lr=lr, smaller=lr / 10))
