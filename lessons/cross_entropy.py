"""Information, entropy, cross-entropy, and cross-entropy against squared error.

Follows Deep Learning 101 #7, in its order:

    surprise        I(x_i) = -log p_i
    expected value  E[X] = Σ_i p_i x_i
    entropy         H(P) = Σ_i p_i (-log p_i) = E[-log P]      (the expected surprise)
    cross-entropy   H(P, Q) = -Σ_i p_i log q_i  >=  H(P),  KL(P‖Q) = H(P, Q) - H(P)
    one-hot target  H(t, q) = -log q_y (y the true class),  batch mean L = (1/N) Σ_s -log Q_{s, y_s}
    CE against MSE  for target 1 and prediction p (natural log):
                    CE = -log p,        ∂CE/∂p = -1/p,        ∂CE/∂z = p - 1
                    MSE = (1 - p)²,     ∂MSE/∂p = 2 (p - 1),  ∂MSE/∂z = 2 (p - 1) p (1 - p)
                    with p = σ(z), ∂p/∂z = p (1 - p).

The default distributions are the lecture's (0.9, 0.1) and (0.5, 0.5). Two distributions
over the same values with those probabilities cannot have the same mean, so the
expected-value step gives each its own values (P pays 10 with probability 0.1, Q pays 2
with probability 0.5; both have mean 1): same expected value, different entropy. The
MSE of one output is (1 - p)², the mean over one output, with no 1/2. The logarithm is
natural or base 2 (`--base`) for the information quantities; the CE-against-MSE part
always uses the natural log, as PyTorch does, so that ∂CE/∂z = p - 1.
"""

from fractions import Fraction

import numpy as np
import sympy as sp

from dlsteps.blocks import activations, information
from dlsteps.blocks.symbols import N, i, j, m, n, s, size, total
from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.model import Caution, Chart, Derivation, GradientCheck

META = {
    "title": "Information, entropy and cross-entropy",
    "lecture": "DL101 #7",
    "summary": "surprise -log p, entropy, cross-entropy, the one-hot batch mean, and CE against MSE as a prediction falls",
    "example": "dlsteps cross-entropy --p 0.9,0.1 --q 0.5,0.5 --predictions 0.99,0.5,0.01 --base 2",
    "inputs": {
        "p": {"shape": "vector n", "domain": "probability", "default": "0.9,0.1",
              "help": "the distribution P (probabilities summing to 1); the true distribution of the cross-entropy"},
        "q": {"shape": "vector n", "domain": "probability", "default": "0.5,0.5",
              "help": "the distribution Q over the same outcomes; the model's distribution of the cross-entropy"},
        "x": {"shape": "vector n", "default": "0,10",
              "help": "the value X takes at each outcome of P (a payout), for the expected value E[X]"},
        "v": {"shape": "vector n", "default": "0,2",
              "help": "the value V takes at each outcome of Q, for the expected value E[V]"},
        "batch": {"shape": "matrix N m", "domain": "nonnegative", "default": "0.7,0.2,0.1;0.1,0.8,0.1;0.6,0.3,0.1",
                  "help": "predicted class probabilities, one row per sample, each row summing to 1"},
        "labels": {"shape": "vector N", "domain": "0..1000", "default": "0,1,2",
                   "help": "the true class of each sample (an index from 0), one per row of --batch"},
        "predictions": {"shape": "vector *", "domain": "nonnegative", "default": "0.99,0.9,0.5,0.1,0.01",
                        "help": "predicted probabilities of the true class (target 1), strictly between 0 and 1"},
        "base": {"shape": "choice", "choices": ["e", "2"], "default": "e",
                 "help": "the base of the logarithm for surprise, entropy and cross-entropy: e (nats) or 2 (bits)"},
    },
}

ROW_TOLERANCE = Fraction(1, 10**12)  # as the input layer's probability vectors: float rounding only


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the lecture's story: surprise, expected value, entropy, cross-entropy,
    the one-hot batch mean, then CE against MSE (losses, gradients by p and by the logit)."""
    h = _inputs(d, given)
    _information(d, h)
    _one_hot(d, h)
    _against_mse(d, h)


def _inputs(d: Derivation, given: dict) -> dict:
    """Validate what needs several inputs (exit 2) and record every input."""
    batch, labels, predictions = _checked(given)
    b = given["base"].value
    h = {"base": b, "logs": information.logs(b)}
    for name, symbol, text in (("p", "p", _("distribution P")), ("q", "q", _("distribution Q")),
                               ("x", "x", _("values of X at P's outcomes")), ("v", "v", _("values of V at Q's outcomes"))):
        h[name] = d.given(name, sp.IndexedBase(symbol), np.array(given[name].value, dtype=float), given[name], text)
    Q = d.name(sp.IndexedBase("Qhat"), "Q̂", r"\hat{Q}")
    h["batch"] = d.given("batch", Q, batch, given["batch"], _("predicted probabilities, one row per sample"))
    h["labels"] = d.given("labels", sp.IndexedBase("y", integer=True), labels, given["labels"], _("true class of each sample"))
    phat = d.name(sp.IndexedBase("phat"), "p̂", r"\hat{p}")
    h["phat"] = d.given("predictions", phat, predictions, given["predictions"], _("predicted probability of the true class"))
    d.given("base", sp.Symbol("b"), h["logs"].number, given["base"], _("log base"))
    return h


def _checked(given: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch (rows summing to 1), the labels (classes of the batch) and the predictions
    (strictly between 0 and 1); an InputError naming the option otherwise."""
    rows = given["batch"].value
    for r, row in enumerate(rows):
        if abs(sum(map(Fraction, row)) - 1) > ROW_TOLERANCE:
            raise InputError(_("--batch: row {r} sums to {total:.10g}; expected each row a probability vector summing to 1 (write thirds as 1/3)").format(
                r=r, total=float(sum(map(Fraction, row)))))
    classes = len(rows[0])
    for r, label in enumerate(given["labels"].value):
        if label >= classes:
            raise InputError(_("--labels: class {c} of sample {r} is not a column of --batch; expected classes from 0 to {last}").format(
                c=label, r=r, last=classes - 1))
    predictions = np.array(given["predictions"].value, dtype=float)
    outside = [x for x in predictions if not 0 < x < 1]
    if outside:
        raise InputError(_("--predictions: '{x:g}' is not strictly between 0 and 1; expected probabilities 0 < p < 1 (at 0 and 1 the logit log(p / (1 - p)) is infinite)").format(
            x=outside[0]))
    return np.array(rows, dtype=float), np.array(given["labels"].value, dtype=int), predictions


# Surprise, expected value, entropy, cross-entropy


def _information(d: Derivation, h: dict) -> None:
    unit = h["logs"].unit
    d.section(_("Information: the surprise -log p ({unit})").format(unit=unit),
              _("An outcome of probability p_i carries the information (surprise) -log p_i: a sure outcome (p = 1) tells nothing, a rare one tells a lot.")
              + " " + _units(h["logs"]))
    surprise = {key: _surprise(d, h, key) for key in ("p", "q")}
    d.section(_("Expected value"),
              _("E[X] = Σ_i p_i x_i: each value weighted by its probability. The lecture's point is that two distributions can share a mean and still differ in uncertainty. Over the same two values, (0.9, 0.1) and (0.5, 0.5) share a mean only if x_0 = x_1, so X (under P) and V (under Q) each have their own values: by default P pays 10 with probability 0.1 and Q pays 2 with probability 0.5, both a mean of 1."))
    means = (_expected(d, h, "p", "x", ("E_X", "E[X]", r"\mathbb{E}[X]")), _expected(d, h, "q", "v", ("E_V", "E[V]", r"\mathbb{E}[V]")))
    d.section(_("Entropy: the expected surprise"),
              _("H(P) = Σ_i p_i (-log p_i) is the expected value of the surprise. It uses the probabilities only, never the values: two games with the same mean can be very differently predictable."))
    own = information.entropy(d, h["p"], id="entropy_p", base=h["base"])
    other = information.entropy(d, h["q"], id="entropy_q", base=h["base"], names={"terms": "g", "total": ("H_Q", "H(Q)", "H(Q)")})
    other.total.notes += _compare(means, (own.total.value, other.total.value), surprise, unit) + _uniform(h["q"].value, "Q", unit)
    d.section(_("Cross-entropy"),
              _("P is the true distribution, Q the model's. H(P, Q) = -Σ_i p_i log q_i is the expected surprise when outcomes come from P but are scored with Q's probabilities. It is at least H(P); the excess is the KL divergence."))
    cross = information.cross_entropy(d, h["p"], h["q"], base=h["base"])
    cross.total.notes += _uniform(h["q"].value, "Q", unit, cross=True)
    information.kl(d, h["p"], h["q"], base=h["base"], via=(cross.total, own.total))


def _surprise(d: Derivation, h: dict, key: str):
    """Step surprise_{key}: I_i = -log p_i (infinite where p_i = 0)."""
    dist, logs = h[key], h["logs"]
    I = d.name(sp.IndexedBase(f"I_{key.upper()}"), f"I_{key.upper()}", f"I_{{{key.upper()}}}")
    with np.errstate(divide="ignore"):
        value = logs.scale(-np.log(dist.value))
    zeros = np.flatnonzero(dist.value == 0)
    notes = (Caution(_("{a}_i = 0 for i = {where}: an impossible outcome would be infinitely surprising; it never happens, so it adds nothing to the entropy (0 log 0 = 0)").format(
        a=key, where=", ".join(map(str, zeros)))),) if len(zeros) else ()
    return d.step(f"surprise_{key}", _("Surprise of each outcome of {P}").format(P=key.upper()), symbol=I, index=(i,),
                  formula=-logs.log(dist.symbol[i]), value=value, code=f"{I} = -np.log({dist.var}){logs.divide}",
                  concept="cross_entropy.surprise", notes=notes)


def _expected(d: Derivation, h: dict, key: str, values: str, name: tuple):
    """Step expected_{values}: E = Σ_i p_i x_i."""
    dist, x = h[key], h[values]
    E = d.name(sp.Symbol(name[0]), name[1], name[2])
    return d.step(f"expected_{values}", _("Expected value {E}").format(E=name[1]), symbol=E,
                  formula=total(dist.symbol[i] * x.symbol[i], i, n), value=float(np.dot(dist.value, x.value)),
                  code=f"{name[0]} = np.sum({dist.var} * {x.var})", substitute=True, concept="cross_entropy.expected_value")


def _compare(means: tuple, entropies: tuple, surprise: dict, unit: str) -> tuple[str, ...]:
    """What the two entropies say, next to the two means (computed from the numbers)."""
    (mp, mq), (hp, hq) = (float(m.value) for m in means), entropies
    same = bool(np.isclose(mp, mq, rtol=1e-12, atol=1e-12))
    mean = _("the same expected value E[X] = E[V] = {m:.4g}").format(m=mp) if same else _("different expected values (E[X] = {a:.4g}, E[V] = {b:.4g})").format(a=mp, b=mq)
    if np.isclose(hp, hq, rtol=1e-12, atol=1e-15):
        return (_("{mean}, and equal entropies H(P) = H(Q) = {h:.4g} {unit}").format(mean=mean, h=hp, unit=unit),)
    high = "Q" if hp < hq else "P"
    joined = _("{mean}, but").format(mean=mean) if same else _("{mean};").format(mean=mean)
    return (_("{joined} H(P) = {a:.4g} and H(Q) = {b:.4g} {unit}: {high}'s outcome is harder to predict (its average surprise is higher), whatever values it pays").format(
        joined=joined, a=hp, b=hq, unit=unit, high=high),)


def _uniform(q: np.ndarray, name: str, unit: str, cross: bool = False) -> tuple[str, ...]:
    """Said only when Q is uniform: its entropy is the largest, log n; H(P, Q) = log n for every P."""
    if not np.allclose(q, q[0], rtol=0, atol=1e-15) or len(q) < 2:
        return ()
    value = np.log(len(q)) if unit == _("nats") else np.log2(len(q))
    if cross:
        return (_("{Q} is uniform, so every log q_i is the same and H(P, {Q}) = log {k} = {v:.4g} {unit} whatever P is").format(Q=name, k=len(q), v=value, unit=unit),)
    return (_("{Q} is uniform: log {k} = {v:.4g} {unit} is the largest entropy any distribution over {k} outcomes can have").format(Q=name, k=len(q), v=value, unit=unit),)


def _units(logs: information.Logs) -> str:
    """The logarithm's base and the unit it gives, said once on screen."""
    if logs.divide:
        return _("Logarithms are in base 2, so the values are in bits.")
    return _("Logarithms are natural (base e), so the values are in nats.")


# One-hot targets and the batch mean


def _one_hot(d: Derivation, h: dict) -> None:
    """Steps one_hot and sample_0 (sample 0's target and prediction), their cross-entropy, then the batch."""
    Q, y = h["batch"], h["labels"]
    rows, classes = Q.value.shape
    size(d, N, rows)
    size(d, m, classes)
    d.section(_("One-hot target: -log q of the true class"),
              _("A classifier's target is one-hot: t_i = 1 for the true class y and 0 elsewhere. In H(t, q̂) = -Σ_i t_i log q̂_i every term but one is 0, so the loss is -log q̂_y, the surprise of the true class under the prediction. Sample 0 of --batch, written out in full:"))
    t = d.step("one_hot", _("One-hot target of sample 0"), symbol=sp.IndexedBase("t"), index=(i,),
               formula=sp.Piecewise((1, sp.Eq(i, y.symbol[0])), (0, True)), value=np.eye(classes)[y.value[0]],
               code=f"t = np.eye({Q.var}.shape[1])[int({y.var}[0])]", concept="cross_entropy.one_hot")
    q = d.step("sample_0", _("Prediction for sample 0"), symbol=d.name(sp.IndexedBase("qhat"), "q̂", r"\hat{q}"), index=(i,),
               formula=Q.symbol[0, i], value=Q.value[0].copy(), code=f"qhat = {Q.var}[0]", concept="cross_entropy.sample")
    full = information.cross_entropy(d, t, q, id="one_hot_ce", base=h["base"], count=m,
                              names={"terms": "w", "total": ("H_tq", "H(t,q̂)", r"H(t, \hat{q})")})
    full.terms.explanation = _("w_i = -t_i log q̂_i: with a one-hot t, every term but the true class's is 0.")
    _batch_mean(d, h, full.total.value)


def _batch_mean(d: Derivation, h: dict, full: float) -> None:
    """Steps sample_losses, ℓ_s = -log Q̂[s, y_s], and batch_mean, L = (1/N) Σ_s ℓ_s."""
    logs, Q, y = h["logs"], h["batch"], h["labels"]
    rows = len(Q.value)
    d.section(_("The batch mean"),
              _("Over a batch of N samples the loss is the mean of each sample's -log of its true class's probability (PyTorch's CrossEntropyLoss with reduction='mean', which takes logits and applies log-softmax first)."))
    with np.errstate(divide="ignore"):
        losses = logs.scale(-np.log(Q.value[np.arange(rows), y.value]))
    ell = d.name(sp.IndexedBase("ell"), "ℓ", r"\ell")
    d.step("sample_losses", _("Loss of each sample"), symbol=ell, index=(s,), formula=-logs.log(Q.symbol[s, y.symbol[s]]),
           value=losses, labels=((), tuple(f"y={c}" for c in y.value)), concept="cross_entropy.sample_losses",
           code=f"ell = -np.log({Q.var}[np.arange(len({Q.var})), {y.var}.astype(int)]){logs.divide}",
           notes=_worst(losses, Q.value[np.arange(rows), y.value]))
    same = (_("ℓ_0 = {v:.4g} = H(t, q̂) above: the full sum over the classes and the one term -log q̂_y agree").format(v=losses[0]),) if losses[0] == full else ()
    d.step("batch_mean", _("Batch mean"), symbol=sp.Symbol("L"), formula=sp.Mul(1 / N, total(ell[s], s, N), evaluate=False),
           value=float(losses.mean()), code="L = np.mean(ell)", substitute=True, concept="cross_entropy.batch_mean", notes=same)


def _worst(losses: np.ndarray, probabilities: np.ndarray) -> tuple[str, ...]:
    """Which sample costs most (a remark); an infinite loss explained (a caution), computed
    from the numbers."""
    if np.isinf(losses).any():
        zero = np.flatnonzero(np.isinf(losses))
        return (Caution(_("sample {s} gives its true class probability 0: -log 0 = ∞, so the mean is infinite too (PyTorch's CrossEntropyLoss works from logits, where a probability is never exactly 0)").format(
            s=", ".join(map(str, zero)))),)
    if len(losses) < 2:
        return ()
    worst = int(np.argmax(losses))
    return (_("sample {s} costs most: its true class has probability {p:.4g}, so ℓ_{s} = {l:.4g}; one confident mistake outweighs several good predictions in the mean").format(
        s=worst, p=probabilities[worst], l=losses[worst]),)


# CE against MSE as the prediction falls


def _against_mse(d: Derivation, h: dict) -> None:
    p = h["phat"]
    columns = tuple(f"p̂={prob(x)}" for x in p.value)
    d.section(_("CE against MSE as the prediction falls: the losses"),
              _("Target 1 (the true class), prediction p̂ of its probability. CE = -log p̂ is the binary cross-entropy with t = 1, in natural log whatever --base. MSE = (1 - p̂)² is the mean over one output with no 1/2, as PyTorch's MSELoss computes it; a 1/2 in front would halve it and its gradients."))
    ce = _sweep(d, "ce_loss", _("Cross-entropy"), ("CE", "CE", r"\mathrm{CE}"), -sp.log(p.symbol[i]), -np.log(p.value),
                f"-np.log({p.var})", columns)
    mse = _sweep(d, "mse_loss", _("Squared error"), ("MSE", "MSE", r"\mathrm{MSE}"), (1 - p.symbol[i]) ** 2, (1 - p.value) ** 2,
                 f"(1 - {p.var}) ** 2", columns)
    ce.notes += _loss_note(p.value, ce.value, mse.value)
    _chart(d, "loss_chart", _("Chart: the two losses"), (ce, mse), ("CE", "MSE"), p.value, _("loss"), "losses")
    d.section(_("Gradients by the probability p̂"),
              _("∂CE/∂p̂ = -1/p̂ and ∂MSE/∂p̂ = -2 (1 - p̂) = 2 (p̂ - 1): both negative (raising p̂ lowers the loss); CE's grows without bound as p̂ → 0."))
    gp = _grad_p(d, p, ce, mse, columns)
    d.section(_("Gradients by the logit z of a sigmoid"),
              _("Usually p̂ = σ(z) comes out of a sigmoid, and the weights learn through z. Chain rule: ∂L/∂z = ∂L/∂p̂ · ∂p̂/∂z with ∂p̂/∂z = σ(z)(1 - σ(z)) = p̂ (1 - p̂)."))
    _logit_part(d, p, gp, columns)


def prob(x: float) -> str:
    """A probability in 4 significant digits, or in full where those would round it to 0 or 1."""
    short = f"{x:.4g}"
    return short if 0 < float(short) < 1 else repr(float(x))


def _sweep(d: Derivation, id: str, title: str, name: tuple, formula: sp.Expr, value: np.ndarray, code: str, columns: tuple, **fields):
    """One index-form step over the predictions (index i), its columns labelled by p̂."""
    symbol = d.name(sp.IndexedBase(name[0]), name[1], name[2])
    return d.step(id, title, symbol=symbol, index=(i,), formula=formula, value=value, code=f"{name[0]} = {code}",
                  labels=((), columns), concept=f"cross_entropy.{id}", **fields)


def _loss_note(p: np.ndarray, ce: np.ndarray, mse: np.ndarray) -> tuple[str, ...]:
    k = int(np.argmin(p))
    return (_("at the worst prediction p̂ = {p}: CE = {c:.4g}, MSE = {m:.4g}; MSE of a probability never exceeds 1, CE grows without bound as p̂ → 0").format(
        p=prob(p[k]), c=ce[k], m=mse[k]),)


def pick(steps: tuple, column: sp.Symbol) -> sp.Piecewise:
    """Element i of steps[c] where `column` = c: a table whose columns (or rows) are these steps."""
    last = len(steps) - 1
    return sp.Piecewise(*((step.symbol[i], sp.Eq(column, c)) for c, step in enumerate(steps[:-1])), (steps[last].symbol[i], True))


def _chart(d: Derivation, id: str, title: str, rows: tuple, series: tuple, x: np.ndarray, y_label: str, shown: str):
    """A chart step: row j of its value is series j over the predictions."""
    return d.step(id, title, symbol=d.name(sp.IndexedBase(id), shown, rf"\mathrm{{{shown}}}"), index=(j, i), formula=pick(rows, j),
                  value=np.vstack([r.value for r in rows]), code=f"{id} = np.vstack([{rows[0].var}, {rows[1].var}])",
                  labels=(series, tuple(prob(v) for v in x)), concept=f"cross_entropy.{id}",
                  chart=Chart(kind="line", x=tuple(float(v) for v in x), series=series, x_label=_("prediction p̂ of the true class"), y_label=y_label))


def _grad_p(d: Derivation, p, ce, mse, columns: tuple) -> tuple:
    pv = p.value
    edge = np.zeros_like(pv)  # the domain of log ends at 0: no difference across it
    gce = _sweep(d, "ce_grad_p", _("Gradient of CE by p̂"), ("dCE_dphat", "∂CE/∂p̂", r"\frac{\partial \mathrm{CE}}{\partial \hat{p}}"),
                 -1 / p.symbol[i], -1 / pv, f"-1 / {p.var}", columns, lhs=sp.Derivative(ce.symbol[i], p.symbol[i]),
                 gradient=GradientCheck(lambda point: float(np.sum(-np.log(np.where(point > 0, point, np.nan)))), pv, edge))
    gmse = _sweep(d, "mse_grad_p", _("Gradient of MSE by p̂"), ("dMSE_dphat", "∂MSE/∂p̂", r"\frac{\partial \mathrm{MSE}}{\partial \hat{p}}"),
                  sp.Mul(2, p.symbol[i] - 1, evaluate=False), 2 * (pv - 1), f"2 * ({p.var} - 1)", columns,
                  lhs=sp.Derivative(mse.symbol[i], p.symbol[i]), gradient=GradientCheck(lambda point: float(np.sum((1 - point) ** 2)), pv))
    k = int(np.argmin(pv))
    gmse.notes += (_("at p̂ = {p}: |∂CE/∂p̂| = {c:.4g} against |∂MSE/∂p̂| = {m:.4g}; |∂MSE/∂p̂| = 2 (1 - p̂) never exceeds 2").format(
        p=prob(pv[k]), c=abs(gce.value[k]), m=abs(gmse.value[k])),)
    return gce, gmse


def ce_of_logit(z):
    """CE = -log σ(z) = log(1 + exp(-z)), summed over z (finite differences)."""
    return float(np.sum(np.logaddexp(0.0, -np.asarray(z, dtype=float))))


def mse_of_logit(z):
    """MSE = (1 - σ(z))², summed over z (finite differences)."""
    return float(np.sum((1 - activations.sigmoid(z)) ** 2))


def _logit_part(d: Derivation, p, gp: tuple, columns: tuple) -> None:
    """The logit, the sigmoid and its slope, then both gradients by the logit, a chart and the table."""
    z, prime = _sigmoid(d, p, columns)
    dce, dmse = _chain(d, p, z, prime, gp, columns)
    _chart(d, "gradient_chart", _("Chart: the gradients by the logit"), (dce, dmse), ("∂CE/∂z", "∂MSE/∂z"), p.value, _("gradient by z"), "grads")
    _table(d, p, columns)


def _sigmoid(d: Derivation, p, columns: tuple) -> tuple:
    """Steps logit, z = log(p̂ / (1 - p̂)), and the sigmoid block's σ(z) and σ'(z); returns (z, σ')."""
    z = _sweep(d, "logit", _("The logit z with σ(z) = p̂"), ("z", "z", "z"), sp.log(p.symbol[i] / (1 - p.symbol[i])),
               np.log(p.value) - np.log1p(-p.value), f"np.log({p.var}) - np.log1p(-{p.var})", columns,
               explanation=_("z = log(p̂ / (1 - p̂)), the inverse of the sigmoid: the logit that gives each prediction."))
    names = {"a": ("sig", "σ", r"\sigma")}
    a = activations.activate(d, z, "sigmoid", at="sigmoid.", names=names)
    prime = activations.derivative(d, z, a, "sigmoid", at="sigmoid.", names={"da": ("dsig_dz", "∂σ/∂z", r"\frac{\partial \sigma}{\partial z}")})
    for step in (a, prime):
        step.labels = ((), columns)
    prime.title = _("Slope of the sigmoid")
    prime.explanation = _("σ'(z) = σ(z)(1 - σ(z)), written with σ_i = p̂_i already computed.")
    return z, prime


def _chain(d: Derivation, p, z, prime, gp: tuple, columns: tuple) -> tuple:
    """Steps ce.delta, ce_grad_z (simplified to p̂ - 1) and mse.delta; returns the two deltas."""
    gce, gmse = gp
    zv = np.asarray(z.value)
    dce = activations.delta(d, gce, z, prime, "sigmoid", at="ce.", names={"delta": ("dCE_dz", "∂CE/∂z", r"\frac{\partial \mathrm{CE}}{\partial z}")},
                            check=GradientCheck(ce_of_logit, zv))
    short = d.step("ce_grad_z", _("CE by the logit, simplified"),
                   explanation=_("-1/p̂ · p̂ (1 - p̂) = -(1 - p̂) = p̂ - 1: the sigmoid's slope cancels CE's 1/p̂, leaving the error itself."),
                   lhs=sp.Derivative(sp.IndexedBase("CE")[i], z.symbol[i]), index=(i,), formula=p.symbol[i] - 1, value=p.value - 1,
                   var="dCE_dz_simple", code=f"dCE_dz_simple = {p.var} - 1", labels=((), columns), concept="cross_entropy.ce_grad_z",
                   gradient=GradientCheck(ce_of_logit, zv))
    dmse = activations.delta(d, gmse, z, prime, "sigmoid", at="mse.", names={"delta": ("dMSE_dz", "∂MSE/∂z", r"\frac{\partial \mathrm{MSE}}{\partial z}")},
                             check=GradientCheck(mse_of_logit, zv))
    for step, title, loss in ((dce, _("CE by the logit: chain rule"), "CE"), (dmse, _("MSE by the logit: chain rule"), "MSE")):
        step.labels, step.title = ((), columns), title
        step.explanation = _("Chain rule, for each prediction on its own: ∂{L}/∂z_i = ∂{L}/∂p̂_i · ∂σ/∂z_i, where σ_i = p̂_i.").format(L=loss)
    dmse.explanation += " " + _("For MSE nothing cancels: ∂MSE/∂z = 2 (p̂ - 1) · p̂ (1 - p̂), and the factor p̂ goes to 0 as the prediction gets worse.")
    dmse.notes += _vanishing(p.value, short.value, dmse.value)
    return dce, dmse


def _vanishing(p: np.ndarray, ce: np.ndarray, mse: np.ndarray) -> tuple[str, ...]:
    """Where MSE's logit gradient vanishes while CE's does not (computed from the numbers)."""
    worst, peak = int(np.argmin(p)), int(np.argmax(np.abs(mse)))
    both = _("at the worst prediction p̂ = {p}: |∂CE/∂z| = {c:.4g}, |∂MSE/∂z| = {m:.4g}").format(p=prob(p[worst]), c=abs(ce[worst]), m=abs(mse[worst]))
    if p[worst] < p[peak]:
        ratio = _("{r:.3g} times smaller").format(r=abs(ce[worst]) / abs(mse[worst])) if mse[worst] != 0 else _("0 in float64")
        return (_("{both} ({r}). Among these predictions MSE's gradient is largest at p̂ = {q} ({g:.4g}); it vanishes as the prediction falls further, so a sigmoid trained with MSE learns slowest exactly where it is most wrong; CE's |∂CE/∂z| = 1 - p̂ keeps growing").format(
            both=both, r=ratio, q=prob(p[peak]), g=abs(mse[peak])),)
    return (_("{both}. Among these predictions MSE's gradient is largest at the worst one; 2 (1 - p̂)² p̂ peaks at p̂ = 1/3 and vanishes below it: give predictions below 1/3 to see it").format(both=both),)


def _table(d: Derivation, p, columns: tuple) -> None:
    steps = tuple(d[id] for id in ("ce_loss", "mse_loss", "ce_grad_p", "mse_grad_p", "ce.delta", "mse.delta"))
    heads = ("CE", "MSE", "∂CE/∂p̂", "∂MSE/∂p̂", "∂CE/∂z", "∂MSE/∂z")
    d.step("table", _("Table: losses and gradients as p̂ falls"), symbol=d.name(sp.IndexedBase("table"), "table", r"\mathrm{table}"),
           explanation=_("One row i per prediction; column j holds, in order, CE, MSE, their gradients by p̂, and by the logit z."),
           index=(i, j), formula=pick(steps, j), value=np.column_stack([step.value for step in steps]),
           code="table = np.column_stack([" + ", ".join(step.var for step in steps) + "])",
           labels=(tuple(prob(x) for x in p.value), heads), concept="cross_entropy.table")
