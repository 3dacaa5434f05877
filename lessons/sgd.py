"""Batch gradient descent, stochastic gradient descent and mini-batch gradient descent.

Follows Deep Learning 101 #8, in its order, on one data set: the linear model ŷ_s = w x_s
(one feature; an optional bias b), the mean squared error MSE = (1/N) Σ_s (ŷ_s - y_s)²
("take the average", no 1/2) and its gradient ∂MSE/∂w = (2/N) Σ_s (ŷ_s - y_s) x_s.

- Batch GD: every update uses all N samples, so one update per epoch.
- SGD: every update uses one sample, drawn without replacement: each epoch shuffles the
  sample indices 0..N-1 (NumPy's default_rng(seed), seed = --seed or 0) and takes them one
  at a time, N updates per epoch.
- Mini-batch GD: the same shuffled order taken m at a time (the lecture's twos, m = 2),
  N/m updates per epoch; the loss and gradient of an update average over its batch B only:
  MSE_B = (1/m) Σ_i r_{B_i}², ∂MSE_B/∂w = (2/m) Σ_i r_{B_i} x_{B_i}.

Every update is a row of a table (the indices used, the gradient, the new w, the batch loss
before and after); the whole-data MSE after every epoch gives the three loss paths, drawn
side by side. The linear model, its MSE, gradients, single updates and the batch-GD table
are the `linear` block's; the stochastic tables (a different batch on every row) are this
module's own recurrence.
"""


import numpy as np
import sympy as sp

from dlsteps.blocks import linear
from dlsteps.blocks.symbols import D, N, i, j, m, n, s, size, t, total
from dlsteps.errors import InputError
from dlsteps.inputs import Given
from dlsteps.i18n import N_, _
from dlsteps.model import Caution, Chart, Derivation, GradientCheck

META = {
    "title": "Batch, stochastic and mini-batch gradient descent",
    "lecture": "DL101 #8",
    "summary": "one data set trained by batch GD, SGD and mini-batch GD: every update with its indices, gradient and loss; the three loss paths",
    "example": "dlsteps sgd --x 1,2,3,4,5,6,7,8 --y 2,4.1,5.9,8.2,9.8,12.1,14,16.2 --batch-size 4 --lr 0.005 --epochs 4",
    "inputs": {
        "x": {"shape": "vector N", "default": "1,2,3,4,5,6", "help": "the inputs x_s, one number per sample (one feature)"},
        "y": {"shape": "vector N", "default": "2.1,3.9,6.2,7.8,10.1,12.2", "help": "the targets y_s, one per sample (the default lies near y = 2x)"},
        "w0": {"shape": "scalar", "default": "0", "help": "the starting weight w of y = w x"},
        "b0": {"shape": "scalar", "default": "", "optional": True,
               "help": "the starting bias b of y = w x + b (unset: no bias, the lecture's y = w x)"},
        "lr": {"shape": "scalar", "domain": "positive", "default": "0.02", "help": "the learning rate η"},
        "epochs": {"shape": "count", "domain": "1..20", "default": "3", "help": "how many passes over the data"},
        "batch_size": {"shape": "count", "domain": "1..1000", "default": "2",
                       "help": "the mini-batch size m (the lecture groups in twos); it must divide the number of samples"},
    },
}

eta = sp.Symbol("eta")
e = sp.Symbol("e", integer=True, nonnegative=True)
m_sgd = sp.Symbol("m_S", integer=True, positive=True)
DIVERGED = 1e12
METHODS = {"gd": ("GD", "ᴳᴰ", N_("batch")), "sgd": ("SGD", "ˢᴳᴰ", N_("SGD")), "mb": ("MB", "ᴹᴮ", N_("mini-batch"))}


# ---- the numbers, in NumPy (also the helpers of the code lines) ---------------------------

def shuffled_orders(seed, samples, epochs):
    """One permutation of 0..samples-1 per epoch, from numpy's default_rng(seed)."""
    rng = np.random.default_rng(int(seed))
    return np.array([rng.permutation(int(samples)) for _epoch in range(int(epochs))], dtype=int).reshape(int(epochs), int(samples))


def batch_updates(x, y, w, b, lr, batches):
    """Rows t = 0..T of weights and biases: row t + 1 is one gradient step on the MSE of the
    samples batches[t] at row t (b None: no bias, the biases stay 0)."""
    weights, biases = [np.asarray(w, dtype=float)], [0.0 if b is None else float(b)]
    for rows in np.asarray(batches, dtype=int):
        r = x[rows] @ weights[-1] + biases[-1] - y[rows]
        weights.append(weights[-1] - lr * 2 / len(rows) * x[rows].T @ r)
        biases.append(biases[-1] - (0.0 if b is None else lr * 2 / len(rows) * r.sum()))
    return np.array(weights), np.array(biases)


def batch_residuals(x, y, weights, biases, batches):
    """R[t, i] = x[B[t, i]] · W[t] + b[t] - y[B[t, i]] for every update t (biases None: 0)."""
    rows = len(batches)
    shift = 0.0 if biases is None else np.asarray(biases, dtype=float)[:rows, None]
    return np.einsum("tik,tk->ti", x[batches], np.asarray(weights, dtype=float)[:rows]) + shift - y[batches]


def epoch_losses(x, y, weights, biases, per_epoch):
    """The MSE on all samples at rows 0, per_epoch, 2 per_epoch, … (after each epoch)."""
    shift = 0.0 if biases is None else np.asarray(biases, dtype=float)[::per_epoch, None]
    return ((np.asarray(weights, dtype=float)[::per_epoch] @ x.T + shift - y) ** 2).mean(axis=1)


def paths(x, y, w, b, lr, orders, batch):
    """(weights, biases) of the three methods: batch GD, SGD and mini-batch."""
    epochs, samples = orders.shape
    batches = {"gd": np.tile(np.arange(samples), (epochs, 1)), "sgd": orders.reshape(-1, 1), "mb": orders.reshape(-1, batch)}
    with np.errstate(all="ignore"):
        return {kind: batch_updates(x, y, w, b, lr, rows) for kind, rows in batches.items()}


# ---- inputs ------------------------------------------------------------------------------

def _validate(x, batch: int) -> None:
    samples = len(x)
    if batch > samples:
        raise InputError(_("--batch-size: {m} is more than the {N} samples; expected a whole number from 1 to {N}").format(m=batch, N=samples))
    if samples % batch:
        divisors = ", ".join(str(q) for q in range(1, samples + 1) if samples % q == 0)
        raise InputError(_("--batch-size: {m} does not split the {N} samples into equal mini-batches; expected one of {divisors}").format(
            m=batch, N=samples, divisors=divisors))


def _diverges(path, x, y) -> bool:
    weights, biases = path
    if not (np.isfinite(weights).all() and np.isfinite(biases).all()):
        return True
    if np.abs(weights).max() >= DIVERGED or np.abs(biases).max() >= DIVERGED:
        return True
    with np.errstate(all="ignore"):
        return not np.isfinite((weights @ x.T + biases[:, None] - y) ** 2).all()


def _losses_of(path, x, y) -> np.ndarray:
    """The whole-data MSE at every row of a path."""
    weights, biases = path
    with np.errstate(all="ignore"):
        return ((weights @ x.T + biases[:, None] - y) ** 2).mean(axis=1)


def check_divergence(x, y, w, b, lr, orders, batch) -> None:
    """Refuse inputs whose numbers overflow, and a learning rate that diverges (naming one that works)."""
    with np.errstate(all="ignore"):
        start = (x @ w + (b or 0.0) - y) ** 2
    if not np.isfinite(start).all() or np.abs(x).max(initial=0) >= DIVERGED:
        raise InputError(_("--x: the squared errors at the start overflow float64 (or |x| ≥ 1e12); expected smaller inputs and targets"))
    if not any(_diverges(path, x, y) for path in paths(x, y, w, b, lr, orders, batch).values()):
        return
    better = working_rate(x, y, w, b, lr, orders, batch)
    suggestion = _("; try a smaller learning rate such as {better:g} (all three methods then end with a lower loss)").format(better=better) if better is not None else ""
    raise InputError(_("--lr: {lr:g} makes the updates diverge (a weight passes 1e12){suggestion}").format(lr=lr, suggestion=suggestion))


def working_rate(x, y, w, b, lr, orders, batch) -> float | None:
    """The first of lr/2, lr/4, … (to 3 digits) with which no method diverges and every
    method ends with a whole-data loss no higher than where it started."""
    for power in range(1, 80):
        candidate = float(f"{lr / 2**power:.3g}")
        if candidate <= 0:
            return None
        run = paths(x, y, w, b, candidate, orders, batch).values()
        if not any(_diverges(path, x, y) for path in run) and all(_losses_of(path, x, y)[-1] <= _losses_of(path, x, y)[0] for path in run):
            return candidate
    return None


def _record(d: Derivation, given: dict, x, y, w, b) -> dict:
    seed = 0 if d.seed is None else int(d.seed)
    source = Given(seed, str(seed), "seed" if d.seed is not None else "default")
    h = {"x": d.given("x", sp.IndexedBase("x"), x.reshape(-1, 1), given["x"], _("inputs x_s, one row per sample, one feature column (d = 1)")),
         "y": d.given("y", sp.IndexedBase("y"), y, given["y"], _("targets")),
         "w": d.given("w0", sp.IndexedBase("w"), w, given["w0"], _("starting weight (a vector of d = 1 entry)"), var="w"),
         "b": None if b is None else d.given("b0", sp.Symbol("b"), b, given["b0"], _("starting bias"), var="b"),
         "lr": d.given("lr", d.name(eta, "η", r"\eta"), float(given["lr"].value), given["lr"], _("learning rate"), var="lr"),
         "epochs": d.given("epochs", sp.Symbol("E"), int(given["epochs"].value), given["epochs"], _("epochs"), var="epochs"),
         "batch_size": d.given("batch_size", d.name(sp.Symbol("batch_size"), "m", "m"), int(given["batch_size"].value), given["batch_size"],
                               _("mini-batch size"), var="batch_size"),
         "seed": d.given("seed", sp.Symbol("seed"), seed, source, _("seed of the shuffling (--seed, else 0)"), var="seed")}
    return h


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the model, one update of each method by hand, the update tables and the loss paths."""
    x, y = np.array(given["x"].value, dtype=float), np.array(given["y"].value, dtype=float)
    w = np.array([float(given["w0"].value)])
    b = None if given["b0"].value is None else float(given["b0"].value)
    batch, epochs = int(given["batch_size"].value), int(given["epochs"].value)
    _validate(x, batch)
    orders = shuffled_orders(0 if d.seed is None else d.seed, len(x), epochs)
    check_divergence(x.reshape(-1, 1), y, w, b, float(given["lr"].value), orders, batch)
    h = _record(d, given, x.reshape(-1, 1), y, w, b)
    lin = _model(d, h)
    losses = {"gd": _batch_gd(d, h, lin)}
    order = _shuffle(d, h)
    losses["sgd"] = _stochastic(d, h, lin, order, "sgd")
    losses["mb"] = _stochastic(d, h, lin, order, "mb")
    _compare(d, h, losses, lambda: working_rate(x.reshape(-1, 1), y, w, b, float(given["lr"].value), orders, batch))


# ---- sections ----------------------------------------------------------------------------

def _model(d: Derivation, h: dict) -> linear.Linear:
    bias = _("with a bias b, updated with w (beyond the lecture)") if h["b"] is not None else _("with no bias, as in the lecture (--b0 adds one)")
    d.section(_("The model and its loss"),
              _("y = w x, {bias}; the loss is the MSE, the mean of the squared errors without 1/2 (the lecture's \"take the average\", PyTorch's default). The formulas are written for any number of features, ŷ_s = Σ_k w_k x_sk; here d = 1, so ŷ_s = w_0 x_s0 = w x_s.").format(bias=bias))
    lin = linear.forward(d, h["x"], h["y"], h["w"], h["b"])
    linear.mse(d, lin)
    return lin


def _batch_gd(d: Derivation, h: dict, lin: linear.Linear):
    """Steps grad_mse_w, update_w (and the bias), the batch-GD table and losses_gd."""
    N_ = len(h["y"].value)
    d.section(_("Batch gradient descent"),
              _("Every update uses all {N} samples (indices 0..{last}): one update per epoch, {E} in all. The first one worked out:").format(
                  N=N_, last=N_ - 1, E=h["epochs"].value))
    _first_update(d, h, lin, None, "")
    table = linear.table(d, lin, linear.descent(h["lr"]), h["epochs"], h["lr"], tag="_gd", label=_("batch"), names=_table_names("gd"))
    return _epoch_losses(d, h, "gd", table.weights, table.biases, None)


def _first_update(d: Derivation, h: dict, lin: linear.Linear, batch, at: str) -> None:
    """The MSE (over `batch`, or all samples), its gradients and one update of w (and b)."""
    label = at.rstrip(".")
    names = _hand_names(label) if label else None
    loss = linear.mse(d, lin, at=at, names=names, batch=batch) if batch is not None else d["mse"]
    grads = linear.gradients(d, lin, loss, at=at, names=names, batch=batch)
    rule = linear.descent(h["lr"])
    tail = f"_{label}" if label else ""
    sup, tex = (METHODS[label][1], f"^{{{METHODS[label][0]}}}") if label else ("", "")
    updated = d.name(sp.IndexedBase(f"w_new{tail}"), f"w'{sup}", f"w'{tex}")  # w'ⱼ, worked out as w'₀
    linear.update(d, h["w"], grads.w, rule, id="update_w", at=at, var=f"w_new{tail}", lhs=updated[j], title=_("Update of w"))
    if h["b"] is not None:
        linear.update(d, h["b"], grads.b, rule, id="update_b", at=at, var=f"b_new{tail}",
                      lhs=d.name(sp.Symbol(f"b_new{tail}"), f"b'{sup}", f"b'{tex}"), title=_("Update of b"))


def _hand_names(label: str) -> dict:
    plain, sup, tex = METHODS[label]
    return {"mse": (f"MSE_{label}", f"MSE{sup}", rf"\mathrm{{MSE}}^{{{plain}}}"), "g": (f"g_{label}", f"g{sup}", f"g^{{{plain}}}"),
            "g_b": (f"g_b_{label}", f"g{sup}_b", f"g_b^{{{plain}}}")}


def _table_names(label: str) -> dict:
    plain, sup, _text = METHODS[label]
    return {"weights": (f"W_{label}", f"W{sup}", f"W^{{{plain}}}"), "biases": (f"b_{label}", f"b{sup}", f"b^{{{plain}}}"),
            "gradients": (f"G_{label}", f"G{sup}", f"G^{{{plain}}}"), "bias_gradients": (f"Gb_{label}", f"G{sup}_b", f"G_b^{{{plain}}}")}


def _shuffle(d: Derivation, h: dict):
    """Step order: the shuffled sample indices of every epoch."""
    seed = h["seed"].value
    where = _("from --seed") if h["seed"].origin == "seed" else _("fixed, since no --seed was given")
    d.section(_("Shuffling"),
              _("SGD and mini-batch draw their samples without replacement: each epoch shuffles the indices 0..N-1 once with NumPy's default_rng({seed}) ({where}), and both methods walk through that order, SGD one index at a time, mini-batch m at a time. Every sample is used exactly once per epoch.").format(
                  seed=seed, where=where))
    d.define(shuffled_orders)
    orders = shuffled_orders(seed, len(h["y"].value), h["epochs"].value)
    return d.step("order", _("Shuffled order of each epoch"),
                  explanation=_("Row e is the order of the samples in epoch e + 1: a permutation drawn from the generator, so it has no formula; its code line draws it again."),
                  symbol=d.name(sp.IndexedBase("perm"), "π", r"\pi"), index=(e, s), value=orders, depends_on=("y", "epochs", "seed"),
                  labels=(tuple(_("epoch {n}").format(n=q + 1) for q in range(len(orders))), ()),
                  code="perm = shuffled_orders(seed, len(y), epochs)", concept="sgd.order")


def _stochastic(d: Derivation, h: dict, lin: linear.Linear, order, kind: str):
    """SGD (kind sgd) or mini-batch (mb): the first update by hand, then every update as a table."""
    samples, epochs = len(h["y"].value), h["epochs"].value
    count, width = (m_sgd, 1) if kind == "sgd" else (m, h["batch_size"].value)
    per_epoch = samples // width
    if kind == "sgd":
        d.section(_("Stochastic gradient descent"),
                  _("Every update uses one sample, the next in the shuffled order: {P} updates per epoch, {U} in all. SGD is a mini-batch of m_S = 1 sample: the sums below have one term. The first update worked out:").format(
                      P=per_epoch, U=per_epoch * epochs))
    else:
        d.section(_("Mini-batch gradient descent"),
                  _("Every update uses the next m = {m} samples of the shuffled order: {P} updates per epoch, {U} in all. The loss and the gradient average over the batch only. The first update worked out:").format(
                      m=width, P=per_epoch, U=per_epoch * epochs))
    first = linear.mini_batch(d, order.value[0, :width], at=f"{kind}.", names={"batch": (f"B_{kind}0", f"B{METHODS[kind][1]}", f"B^{{{METHODS[kind][0]}}}")},
                              count=count)
    _first_update(d, h, lin, first, f"{kind}.")
    batches = _batches(d, h, order, kind, width)
    tables = _tables(d, h, batches, kind, count)
    return _epoch_losses(d, h, kind, *tables, per=N if kind == "sgd" else size(d, n, per_epoch))


def _batches(d: Derivation, h: dict, order, kind: str, width: int):
    """Step batches_<kind>: the sample indices of every update, the shuffled order taken `width` at a time."""
    plain, sup, label = METHODS[kind][0], METHODS[kind][1], _(METHODS[kind][2])
    values = order.value.reshape(-1, width)
    per_epoch = order.value.shape[1] // width
    rows = tuple(_("t={t} (epoch {e})").format(t=q, e=q // per_epoch + 1) for q in range(len(values)))
    return d.step(f"batches_{kind}", _("Samples of every {label} update").format(label=label),
                  explanation=_("Row t holds the indices of the samples that update t uses: the order π read row by row, {m} at a time.").format(m=width),
                  symbol=d.name(sp.IndexedBase(f"B_{kind}"), f"B{sup}", f"B^{{{plain}}}"), index=(t, i), value=values,
                  depends_on=("order",) + (("batch_size",) if kind == "mb" else ()), labels=(rows, ()),
                  code=f"B_{kind} = perm.reshape(-1, {'batch_size' if kind == 'mb' else 1})", concept="sgd.batches")


def _residual(h: dict, W, Bb, row, sample):
    """x_{sample} · W_row + b_row - y_{sample}, in index form, written in that order (the bias
    after the sum, as ŷ_s = Σ_k w_k x_sk + b)."""
    bias = Bb[row] if Bb is not None else 0
    return linear.residual_expr(h["x"].symbol, lambda q: W[row, q], bias, h["y"].symbol, sample, D)


def _tables(d: Derivation, h: dict, batches, kind: str, count):
    """Steps weights_<kind>, biases_<kind>, residuals_<kind>, gradients_<kind>,
    bias_gradients_<kind>: one recurrence whose row t uses the batch of row t; then the
    batch losses. Returns the weight and bias steps."""
    sym = {role: d.name(sp.IndexedBase(spec[0]), spec[1], spec[2]) for role, spec in _table_names(kind).items()}
    W, G, Gb = sym["weights"], sym["gradients"], sym["bias_gradients"]
    Bb = sym["biases"] if h["b"] is not None else None
    x, y = h["x"].value, h["y"].value
    weights, biases = batch_updates(x, y, h["w"].value, None if Bb is None else h["b"].value, h["lr"].value, batches.value)
    for helper in (batch_updates, batch_residuals):
        d.define(helper)
    label = _(METHODS[kind][2])
    rows = tuple(f"t={q}" for q in range(len(weights)))
    with d.recurrence():
        weight_step = d.step(f"weights_{kind}", _("Weights on the {label} path").format(label=label),
                             explanation=_("Row 0 holds the starting weight; row t is row t - 1 minus η times the gradient of update t - 1."),
                             symbol=W, index=(t, j), formula=sp.Piecewise((h["w"].symbol[j], sp.Eq(t, 0)), (W[t - 1, j] - eta * G[t - 1, j], True)),
                             value=weights, labels=(rows, ("w_0",)), concept="sgd.table_weights",
                             code=f"{W} = batch_updates(x, y, w, {'None' if Bb is None else 'b'}, lr, {batches.var})[0]")
        bias_step = None if Bb is None else d.step(
            f"biases_{kind}", _("Biases on the {label} path").format(label=label), explanation=_("b_t = b_(t-1) - η G_b,(t-1), alongside the weights."),
            symbol=Bb, index=(t,), formula=sp.Piecewise((h["b"].symbol, sp.Eq(t, 0)), (Bb[t - 1] - eta * Gb[t - 1], True)),
            value=biases, labels=(rows, ()), concept="sgd.table_biases", code=f"{Bb} = batch_updates(x, y, w, b, lr, {batches.var})[1]")
        R = _residual_table(d, h, kind, batches, W, Bb, weights, biases)
        _gradient_tables(d, h, kind, batches, count, (R, G, Gb), weights, biases)
    _batch_losses(d, h, kind, batches, count, (R, W, Bb), weights, biases)
    return weight_step, bias_step


def _residual_table(d: Derivation, h: dict, kind: str, batches, W, Bb, weights, biases):
    """Step residuals_<kind>: R_ti = x_{B_ti} · W_t + b_t - y_{B_ti}, the errors of update t's samples."""
    plain, sup, label = METHODS[kind][0], METHODS[kind][1], _(METHODS[kind][2])
    R = d.name(sp.IndexedBase(f"R_{kind}"), f"R{sup}", f"R^{{{plain}}}")
    values = batch_residuals(h["x"].value, h["y"].value, weights, None if Bb is None else biases, batches.value)
    d.step(f"residuals_{kind}", _("Residuals of every {label} update").format(label=label),
           explanation=_("R_ti = ŷ - y for the i-th sample of update t, at the weights of row t (before that update)."),
           symbol=R, index=(t, i), formula=_residual(h, W, Bb, t, batches.symbol[t, i]), value=values,
           labels=(tuple(f"t={q}" for q in range(len(values))), ()), concept="sgd.table_residuals",
           code=f"{R} = batch_residuals(x, y, {W}, {'None' if Bb is None else Bb}, {batches.var})")
    return R


def _gradient_tables(d: Derivation, h: dict, kind: str, batches, count, symbols, weights, biases) -> None:
    """Steps gradients_<kind> and bias_gradients_<kind>: (2/m) Σ_i R_ti x_{B_ti, j} and (2/m) Σ_i R_ti."""
    R, G, Gb = symbols
    label, has_bias = _(METHODS[kind][2]), h["b"] is not None
    x = h["x"].value
    residuals = batch_residuals(x, h["y"].value, weights, biases if has_bias else None, batches.value)
    width, rows = batches.value.shape[1], (tuple(f"t={q}" for q in range(len(batches.value))), ("w_0",))
    d.step(f"gradients_{kind}", _("Gradient of every {label} update (its batch only)").format(label=label),
           explanation=_("G_tj = (2/m) Σ_i R_ti x_(B_ti, j): the MSE gradient over the samples of update t, at the weights of row t."),
           symbol=G, index=(t, j), formula=2 / count * total(R[t, i] * h["x"].symbol[batches.symbol[t, i], j], i, count),
           value=2 / width * np.einsum("ti,tij->tj", residuals, x[batches.value]), labels=rows,
           code=f"{G} = 2 / {batches.var}.shape[1] * np.einsum('ti,tij->tj', {R}, x[{batches.var}])",
           concept="sgd.table_gradients", gradient=_rows_check(x, h["y"].value, weights, biases, batches.value, has_bias, "w"))
    if has_bias:
        d.step(f"bias_gradients_{kind}", _("Bias gradient of every {label} update").format(label=label),
               symbol=Gb, index=(t,), formula=2 / count * total(R[t, i], i, count), value=2 / width * residuals.sum(axis=1),
               labels=(rows[0], ()), concept="sgd.table_bias_gradients", code=f"{Gb} = 2 / {batches.var}.shape[1] * {R}.sum(axis=1)",
               gradient=_rows_check(x, h["y"].value, weights, biases, batches.value, has_bias, "b"))


def _rows_check(x, y, weights, biases, batches, has_bias: bool, by: str) -> GradientCheck:
    """Finite differences of Σ_t MSE_{B_t}(W_t, b_t) over the updates t: each row's gradient is
    that of its own batch loss."""
    rows = len(batches)

    def loss(w_rows, b_rows):
        r = np.einsum("tik,tk->ti", x[batches], w_rows) + (b_rows[:, None] if has_bias else 0.0) - y[batches]
        return float((r**2).mean(axis=1).sum())

    if by == "w":
        return GradientCheck(lambda point: loss(point, biases[:rows]), weights[:rows])
    return GradientCheck(lambda point: loss(weights[:rows], point), biases[:rows])


def _batch_losses(d: Derivation, h: dict, kind: str, batches, count, symbols, weights, biases) -> None:
    """Steps batch_losses_<kind> and batch_losses_after_<kind>: the loss of each update's batch
    before and after that update."""
    R, W, Bb = symbols
    plain, sup, label = METHODS[kind][0], METHODS[kind][1], _(METHODS[kind][2])
    before = batch_residuals(h["x"].value, h["y"].value, weights, None if Bb is None else biases, batches.value)
    after = batch_residuals(h["x"].value, h["y"].value, weights[1:], None if Bb is None else biases[1:], batches.value)
    rows = (tuple(f"t={q}" for q in range(len(batches.value))), ())
    L = d.name(sp.IndexedBase(f"Lb_{kind}"), f"L{sup}_B", f"L^{{{plain}}}_B")
    d.step(f"batch_losses_{kind}", _("Loss of each {label} update's batch, before the update").format(label=label),
           symbol=L, index=(t,), formula=total(R[t, i] ** 2, i, count) / count, value=(before**2).mean(axis=1), labels=rows,
           concept="sgd.batch_losses", code=f"{L} = ({R} ** 2).mean(axis=1)")
    after_symbol = d.name(sp.IndexedBase(f"La_{kind}"), f"L{sup}_B'", f"L'^{{{plain}}}_B")
    d.step(f"batch_losses_after_{kind}", _("Loss of the same batch after the update").format(label=label),
           explanation=_("The same samples at the weights of row t + 1: did update t lower the loss it followed? (Beyond the lecture.)"),
           symbol=after_symbol, index=(t,), formula=total(_residual(h, W, Bb, t + 1, batches.symbol[t, i]) ** 2, i, count) / count,
           value=(after**2).mean(axis=1), labels=rows, concept="sgd.batch_losses",
           code=f"{after_symbol} = (batch_residuals(x, y, {W}[1:], {'None' if Bb is None else f'{Bb}[1:]'}, {batches.var}) ** 2).mean(axis=1)",
           notes=_batch_notes(before, after))


def _batch_notes(before, after) -> tuple[str, ...]:
    """How often an update raised the loss of its own batch (a learning rate too large for it:
    a caution), or that none did (a remark)."""
    worse = np.flatnonzero((after**2).mean(axis=1) > (before**2).mean(axis=1) * (1 + 1e-12))
    if not len(worse):
        return (_("Every update lowered the loss of its own batch."),)
    return (Caution(_("{n} of the {U} updates raised the loss of their own batch (first at t = {t}): the step η overshoots for those samples").format(
        n=len(worse), U=len(before), t=worse[0])),)


def _epoch_losses(d: Derivation, h: dict, kind: str, weights, biases, per):
    """Step losses_<kind>: the MSE on all samples at the start and after every epoch."""
    plain, sup, label = METHODS[kind][0], METHODS[kind][1], _(METHODS[kind][2])
    W, Bb = weights.symbol, None if biases is None else biases.symbol
    row = e if per is None else e * per
    d.define(epoch_losses)
    step_every = "1" if per is None else ("len(y)" if kind == "sgd" else "len(y) // batch_size")
    every = 1 if per is None else int(d.env[per])
    values = epoch_losses(h["x"].value, h["y"].value, weights.value, None if biases is None else biases.value, every)
    symbol = d.name(sp.IndexedBase(f"L_{kind}"), f"L{sup}", f"L^{{{plain}}}")
    return d.step(f"losses_{kind}", _("MSE on all samples after every epoch ({label})").format(label=label),
                  explanation=_("Row e: the whole-data MSE at the weights after e epochs (e = 0: before training), i.e. after {what}.").format(
                      what=_("e updates") if per is None else _("e·{P} updates").format(P=every)) + _epoch_row(kind, per, every),
                  symbol=symbol, index=(e,), formula=total(_residual(h, W, Bb, row, s) ** 2, s, N) / N, value=values,
                  labels=(tuple(_("epoch {n}").format(n=q) for q in range(len(values))), ()), concept="sgd.epoch_losses",
                  code=f"L_{kind} = epoch_losses(x, y, {W}, {Bb if Bb is not None else 'None'}, {step_every})", notes=_rise_notes(values, label))


def _epoch_row(kind: str, per, every: int) -> str:
    """Which row of the weight table the formula reads, its index (N⋅e or e⋅n) explained."""
    if per is None:
        return ""
    if kind == "sgd":
        return " " + _("The formula reads row N⋅e of the weight table: N = {P} updates per epoch, one per sample.").format(P=every)
    return " " + _("The formula reads row e⋅n of the weight table: n = N/m = {P} updates per epoch.").format(P=every)


def _rise_notes(values, label: str) -> tuple[str, ...]:
    """A caution when the whole-data loss ends higher than it started; a remark when it
    rises in some epochs but ends lower (the noise of stochastic updates)."""
    rises = np.flatnonzero(values[1:] > values[:-1] * (1 + 1e-12))
    if not len(rises):
        return ()
    if values[-1] > values[0]:
        return (Caution(_("The {label} loss rises from {first:.4g} to {last:.4g}: these updates move away from the minimum (a smaller --lr would help)").format(
            label=label, first=values[0], last=values[-1])),)
    return (_("The {label} loss rises in {n} of the {E} epochs (first in epoch {e}), though it ends lower than it started").format(
        label=label, n=len(rises), E=len(values) - 1, e=rises[0] + 1),)


def _compare(d: Derivation, h: dict, losses: dict, suggest) -> None:
    """Step loss_paths: the three whole-data loss paths as one chart, with the comparison."""
    epochs = h["epochs"].value
    d.section(_("Three loss paths"),
              _("The MSE on all samples after every epoch, for the three methods from the same w. One point per epoch; the tables above hold every update."))
    L = [losses[kind].symbol for kind in ("gd", "sgd", "mb")]
    values = np.array([losses[kind].value for kind in ("gd", "sgd", "mb")])
    labels = tuple(_(METHODS[kind][2]) for kind in ("gd", "sgd", "mb"))
    d.step("loss_paths", _("Loss paths side by side"), symbol=sp.IndexedBase("P"), index=(i, e),
           formula=sp.Piecewise((L[0][e], sp.Eq(i, 0)), (L[1][e], sp.Eq(i, 1)), (L[2][e], True)), value=values,
           labels=(labels, tuple(str(q) for q in range(epochs + 1))), concept="sgd.loss_paths",
           code="P = np.array([L_gd, L_sgd, L_mb])", notes=compare_notes(values, h, suggest),
           chart=Chart(kind="line", x=tuple(range(epochs + 1)), series=(_("batch"), _("SGD"), _("mini-batch")), x_label=_("epoch"), y_label=_("MSE")))


def compare_notes(values, h: dict, suggest) -> tuple[str, ...]:
    """Which method ended lowest after the last epoch, with how many updates, and which paths
    end above their start (with a learning rate that works, checked), from the numbers."""
    samples, batch, epochs = len(h["y"].value), h["batch_size"].value, h["epochs"].value
    final, counts = values[:, -1], (epochs, epochs * samples, epochs * samples // batch)
    names = (_("batch GD"), _("SGD"), _("mini-batch"))
    parts = ", ".join(_("{name} {loss:.6g} ({U} updates)").format(name=name, loss=loss, U=U) for name, loss, U in zip(names, final, counts))
    best = np.flatnonzero(final <= final.min() * (1 + 1e-12) + 1e-300)
    winner = (_("lowest: {name}").format(name=names[best[0]]) if len(best) == 1
              else _("lowest, tied: {names}").format(names=", ".join(names[q] for q in best)))
    notes = [_("After {E} epochs the MSE on all samples is {parts}; {winner}.").format(E=epochs, parts=parts, winner=winner)]
    grown = [names[q] for q in np.flatnonzero(final > values[:, 0])]
    if grown:
        better = suggest()
        fix = _("; with --lr {better:g} all three end lower than they start").format(better=better) if better is not None else ""
        notes.append(Caution(_("The loss ends higher than it started for {which}: η = {lr:g} is too large for those updates{fix}").format(
            which=", ".join(grown), lr=h["lr"].value, fix=fix)))
    return tuple(notes)
