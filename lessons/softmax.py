"""Softmax, its Jacobian, cross-entropy and the chain rule down to dL/do = y_hat - y.

Follows Deep Learning 101 #13, in its order: softmax, the Jacobian dy_i/do_j =
y_i(δ_ij - y_j), the cross-entropy L = -Σ_k t_k log y_k, and the chain rule summed over k,
which collapses to ŷ - t because the target sums to 1. The math is the `softmax_ce`
block's; this module tells the lecture's story with it.
"""

import numpy as np
import sympy as sp

from dlsteps.blocks import softmax_ce
from dlsteps.i18n import _
from dlsteps.model import Derivation

META = {
    "title": "Softmax and the derivative of cross-entropy",
    "lecture": "DL101 #13 (Softmax와 Cross-Entropy의 미분)",
    "summary": "softmax, its Jacobian, cross-entropy and dL/do = y_hat - y",
    "example": "dlsteps softmax --logits 1000,0,-1000 --target 2",
    "inputs": {
        "logits": {"shape": "vector n", "default": "2,1,0.1", "help": "the logits o (scores before softmax)"},
        "target": {
            "shape": "class n",
            "default": "0",
            "help": "the true class as an index from 0, or a probability vector of the same length",
        },
    },
}


def derive(d: Derivation, given: dict) -> None:
    """Fill `d` with the softmax, Jacobian, cross-entropy and chain-rule steps."""
    logits = np.array(given["logits"].value, dtype=float)
    o = d.given("logits", sp.IndexedBase("o"), logits, given["logits"], _("logits o"))
    t = d.given("target", sp.IndexedBase("t"), _target(given["target"].value, len(logits)), given["target"],
                _("target distribution t (one-hot for a class index)"))
    d.section(_("Softmax"), _("Turn the logits into probabilities that are positive and sum to 1."))
    sm = softmax_ce.softmax(d, o)
    d.section(_("Jacobian of softmax"),
              _("How each output y_i moves when one logit o_j moves: ∂y_i/∂o_j is row i, column j of the matrices below. δ_ij (the Kronecker delta) is 1 when i = j and 0 otherwise."))
    softmax_ce.jacobian(d, sm)
    d.section(_("Cross-entropy"), _("The loss compares the target distribution t with the prediction y."))
    loss = softmax_ce.cross_entropy(d, sm, t)
    d.section(_("Chain rule"),
              _("∂L/∂o_j = Σ_k ∂L/∂y_k · ∂y_k/∂o_j: every output y_k depends on every logit o_j. Below, C_kj is term k of the sum for o_j (row k, column j); each column adds up to ∂L/∂o_j."))
    softmax_ce.chain_rule(d, sm, t, loss)
    softmax_ce.gradient(d, sm, t, loss)


def _target(value, size: int) -> np.ndarray:
    """A class index as a one-hot vector; a probability vector as it is."""
    if isinstance(value, int):
        return np.eye(size)[value]
    return np.array(value, dtype=float)
