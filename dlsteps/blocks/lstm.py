"""The LSTM cell over T time steps, forward and backward (BPTT), in index form over t.

Time runs t = 0 … T-1 (as in code); h_{-1}, C_{-1} are the given initial states.

    z_t = [h_{t-1}; x_t]         h first: the first H columns of every W act on h, the last D on x
    f_t = σ(W_f z_t + b_f)       forget gate      i_t = σ(W_i z_t + b_i)      input gate
    C̃_t = tanh(W_c z_t + b_c)   candidate        o_t = σ(W_o z_t + b_o)      output gate
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t              h_t = o_t ⊙ tanh C_t

W_g has shape (H, H + D); the pre-activation of gate g is a^g_t = W_g z_t + b_g. Backward,
from ∂ℓ/∂h_t (what step t's own output sends back) and, optionally, ∂L/∂h_{T-1}, ∂L/∂C_{T-1}
from later (a decoder started from this cell's last state):

    ∂L/∂h_t = ∂ℓ/∂h_t + [∂L/∂z_{t+1}]_{:H}        (∂L/∂h_{T-1} from later at t = T-1)
    ∂L/∂o_t = ∂L/∂h_t ⊙ tanh C_t                  (∂h_t/∂o_t = diag(tanh C_t))
    ∂L/∂C_t = ∂L/∂h_t ⊙ o_t ⊙ (1 - tanh² C_t) + ∂L/∂C_{t+1} ⊙ f_{t+1}
    ∂L/∂f_t = ∂L/∂C_t ⊙ C_{t-1},  ∂L/∂i_t = ∂L/∂C_t ⊙ C̃_t,  ∂L/∂C̃_t = ∂L/∂C_t ⊙ i_t
    δ^g_t = ∂L/∂g_t ⊙ g'(a^g_t),  ∂L/∂W_g = Σ_t δ^g_t z_tᵀ,  ∂L/∂b_g = Σ_t δ^g_t
    ∂L/∂z_t = Σ_g W_gᵀ δ^g_t,  ∂L/∂h_{-1} = [∂L/∂z_0]_{:H},  ∂L/∂C_{-1} = ∂L/∂C_0 ⊙ f_0

`readout` adds logits g_t = W_y h_t (+ b_y), a softmax per step and the cross-entropy summed
over t; `readout_backward` gives ∂L/∂g = ŷ - y, ∂L/∂W_y and ∂ℓ/∂h_t. `cell_path` compares the
additive path through C (Π f) with the same path squashed at every step as an RNN's state is.

The forward steps form one recurrence (`Derivation.recurrence`: z_t uses h_{t-1}, C_t uses
C_{t-1}), and so do the backward steps (∂L/∂h_t uses ∂L/∂z_{t+1}); the first step of each
pass runs the whole recurrence over t in its code line. `Cases`
(a Piecewise) is evaluated with every index clipped into range, so h_{t-1} at t = 0 and
∂L/∂z_{t+1} at t = T-1 are never read out of bounds. Each gradient is checked by finite
differences of a local surrogate (its upstream gradients held fixed, the chain-rule
product it computes) unless the caller passes a check of its whole loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np
import sympy as sp

from dlsteps.blocks import activations
from dlsteps.blocks.symbols import D, H, Names, T, i, j, k, n, size, t, total, written_product, written_sum
from dlsteps.i18n import N_, _
from dlsteps.model import Caution, Derivation, GradientCheck, Step
from dlsteps.symbolic import Maximum, exponential, logarithm

GATES = ("f", "i", "c", "o")
KIND = {"f": "sigmoid", "i": "sigmoid", "c": "tanh", "o": "sigmoid"}
MARK = {"f": ("ᶠ", "f"), "i": ("ⁱ", "i"), "c": ("ᶜ", "c"), "o": ("ᵒ", "o")}


def _gate_names(role: str, plain: str, unicode: str, latex: str) -> dict:
    return {f"{role}_{g}": (f"{plain}_{g}", f"{unicode}{MARK[g][0]}", f"{latex}^{{{MARK[g][1]}}}") for g in GATES}


NAMES = {"z": "z", "f": "f", "i": ("i_gate", "i", "i"), "c": ("C_tilde", "C̃", r"\tilde{C}"), "o": "o", "C": "C", "h": "h",
         **_gate_names("a", "a", "a", "a"), "L": "L",
         "dh": ("dL_dh", "∂L/∂h", r"\frac{\partial L}{\partial h}"), "J": ("J_o", "∂h/∂o", r"\frac{\partial h}{\partial o}"),
         "do": ("dL_do", "∂L/∂o", r"\frac{\partial L}{\partial o}"), "dC": ("dL_dC", "∂L/∂C", r"\frac{\partial L}{\partial C}"),
         "df": ("dL_df", "∂L/∂f", r"\frac{\partial L}{\partial f}"), "di": ("dL_di", "∂L/∂i", r"\frac{\partial L}{\partial i}"),
         "dc": ("dL_dC_tilde", "∂L/∂C̃", r"\frac{\partial L}{\partial \tilde{C}}"),
         "dz": ("dL_dz", "∂L/∂z", r"\frac{\partial L}{\partial z}"),
         "dh0": ("dL_dh0", "∂L/∂h₋₁", r"\frac{\partial L}{\partial h_{-1}}"),
         "dC0": ("dL_dC0", "∂L/∂C₋₁", r"\frac{\partial L}{\partial C_{-1}}"),
         **_gate_names("delta", "delta", "δ", r"\delta"), **_gate_names("dW", "dL_dW", "∂L/∂W", r"\frac{\partial L}{\partial W}"),
         **_gate_names("db", "dL_db", "∂L/∂b", r"\frac{\partial L}{\partial b}"),
         "P": ("cell_path", "Πf", r"\Pi f"), "Q": ("squashed_path", "Πf(1-tanh²C)", r"\Pi f (1 - \tanh^2 C)")}
READOUT_NAMES = {"g": "g", "m": "m", "y_hat": ("y_hat", "ŷ", r"\hat{y}"), "log_y": ("log_y_hat", "log ŷ", r"\log \hat{y}"),
                 "L": "L", "dg": ("dL_dg", "∂L/∂g", r"\frac{\partial L}{\partial g}"),
                 "dWy": ("dL_dW_y", "∂L/∂Wʸ", r"\frac{\partial L}{\partial W^{y}}"), "dby": ("dL_db_y", "∂L/∂bʸ", r"\frac{\partial L}{\partial b^{y}}"),
                 "dl_dh": ("dl_dh", "∂ℓ/∂h", r"\frac{\partial \ell}{\partial h}")}


def suffixed(plain: str, unicode: str, latex: str, defaults: dict | None = None) -> dict:
    """Names for a second cell (or readout): every default name with a suffix appended,
    e.g. ``suffixed("_dec", "ᵈ", "d")`` gives f_dec shown fᵈ; pass as `names=`."""
    out = {}
    for role, name in (defaults or NAMES).items():
        base = (name, name, name) if isinstance(name, str) else name
        out[role] = (base[0] + plain, base[1] + unicode, rf"{base[2]}{{}}^{{{latex}}}")  # {} keeps an accent's subscript apart
    return out


class Cases(sp.Function):
    """A Piecewise ``Cases((e1, c1), (e2, c2), …)`` printed as one, and evaluated with NumPy
    with every array index clipped into range (h_{t-1} at t = 0 is never read); collapses to
    its branch once the conditions are numbers."""

    @classmethod
    def eval(cls, *pairs):
        piecewise = sp.Piecewise(*(tuple(pair) for pair in pairs))
        if not isinstance(piecewise, sp.Piecewise):
            return piecewise

    def piecewise(self) -> sp.Piecewise:
        return sp.Piecewise(*(tuple(pair) for pair in self.args), evaluate=False)

    def _latex(self, printer) -> str:
        return printer._print(self.piecewise())

    def _pretty(self, printer):
        return printer._print(self.piecewise())

    def _numpycode(self, printer) -> str:
        conditions = ", ".join(printer._print(pair[1]) for pair in self.args)
        choices = ", ".join(printer._print(_clipped(pair[0])) for pair in self.args)
        return f"{printer._module_format('numpy.select')}([{conditions}], [{choices}])"


class _Clipped(sp.Function):
    """base[indices] with each index clipped to the array's range (NumPy printing only)."""

    def _numpycode(self, printer) -> str:
        base, *indices = (printer._print(arg) for arg in self.args)
        clip = printer._module_format("numpy.clip")
        return f"{base}[{', '.join(f'{clip}({x}, 0, {base}.shape[{a}] - 1)' for a, x in enumerate(indices))}]"


def _clipped(expr: sp.Expr) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, sp.Indexed), lambda e: _Clipped(e.base, *e.indices))


def _f(kind: str, x: np.ndarray) -> np.ndarray:
    return activations.values(kind, x)


# ---- NumPy: the whole recurrence, for values and for checks --------------------------------


def run(x, h0, C0, W: dict, b: dict | None = None) -> dict:
    """The forward pass over every t: arrays z, a_g, gates f i c o, C, h of shape (T, ·)."""
    x, state_h, state_C = np.asarray(x, float), np.asarray(h0, float), np.asarray(C0, float)
    out = {key: [] for key in ("z", "a_f", "a_i", "a_c", "a_o", "f", "i", "c", "o", "C", "h")}
    for x_t in x:
        z = np.concatenate([state_h, x_t])
        for g in GATES:
            out[f"a_{g}"].append(np.asarray(W[g], float) @ z + (0.0 if not b else np.asarray(b[g], float)))
            out[g].append(_f(KIND[g], out[f"a_{g}"][-1]))
        state_C = out["f"][-1] * state_C + out["i"][-1] * out["c"][-1]
        state_h = out["o"][-1] * np.tanh(state_C)
        out["z"].append(z), out["C"].append(state_C), out["h"].append(state_h)
    return {key: np.array(value) for key, value in out.items()}


@dataclass
class Cell:
    """Handles of a forward pass: the inputs, z, the pre-activations a and gates (by f i c o),
    C and h (each (T, H)), and the size symbols (T, H, D)."""

    x: Any
    h0: Any
    C0: Any
    W: dict
    b: dict | None
    sizes: tuple
    z: Step
    pre: dict = field(default_factory=dict)
    gates: dict = field(default_factory=dict)
    C: Step | None = None
    h: Step | None = None
    names: Names | None = None


def forward(d: Derivation, x: Any, h0: Any, C0: Any, W: dict, b: dict | None = None, *, at: str = "",
            names: dict | None = None, count: dict | None = None, stage: Callable[[str], Any] | None = None) -> Cell:
    """Steps z, a_f f, a_i i, a_c c_tilde, C, a_o o, h over every t for handles x (T, D),
    h0 and C0 (H,) (h_{-1}, C_{-1}), W[g] (H, H + D) and optional b[g] (H,) for g in f i c o.
    `count` renames the sizes {"T", "H", "D"} (an encoder and a decoder differ in T);
    `stage(name)` is called before "z", "gates", "state" so the caller can open sections."""
    name, stage = Names(d, NAMES, names), stage or (lambda _name: None)
    sizes = _bind_sizes(d, x, h0, count)
    values = run(x.value, h0.value, C0.value, {g: W[g].value for g in GATES}, b and {g: b[g].value for g in GATES})
    d.define(activations.sigmoid)
    cell = Cell(x, h0, C0, W, b, sizes, None, names=name)
    with d.recurrence():  # z_t uses h_{t-1}, C_t uses C_{t-1}
        _forward_steps(d, cell, values, at, stage)
    return cell


def _forward_steps(d: Derivation, cell: Cell, values: dict, at: str, stage: Callable[[str], Any]) -> None:
    name = cell.names
    stage("z")
    cell.z = _concat(d, cell, values["z"], at)
    stage("gates")
    for g in ("f", "i", "c"):
        _gate(d, cell, g, values, at)
    stage("state")
    cell.C = _cell_state(d, cell, values["C"], at)
    _gate(d, cell, "o", values, at)
    cell.h = d.step(f"{at}h", _("Hidden state h_t"),
                    explanation=_("h_t = o_t ⊙ tanh C_t: the output gate decides how much of the squashed cell state is shown."),
                    symbol=name.array("h"), index=(t, j), formula=cell.gates["o"].symbol[t, j] * sp.tanh(cell.C.symbol[t, j]),
                    value=values["h"], code=f"{name.plain('h')} = {cell.gates['o'].var} * np.tanh({cell.C.var})",
                    concept="lstm.hidden", labels=_labels(values["h"]))


def _labels(value: np.ndarray) -> tuple:
    """Rows named by their time step."""
    return (tuple(f"t={r}" for r in range(value.shape[0])), ())


def _bind_sizes(d: Derivation, x: Any, h0: Any, count: dict | None) -> tuple:
    """(T, H, D, t) as symbols bound to the sizes; `count` may rename T, H, D."""
    counts = {"T": T, "H": H, "D": D, **(count or {})}
    shape = np.shape(x.value)
    size(d, counts["T"], shape[0]), size(d, counts["H"], len(h0.value)), size(d, counts["D"], shape[1])
    return counts["T"], counts["H"], counts["D"], t


def _bias_code(cell: Cell, g: str) -> str:
    return f" + {cell.b[g].var}" if cell.b else ""


def _concat(d: Derivation, cell: Cell, value: np.ndarray, at: str) -> Step:
    name, Hn = cell.names, cell.sizes[1]
    h = name.array("h")
    x, h0 = cell.x.symbol, cell.h0.symbol
    formula = Cases((h0[k], sp.And(sp.Eq(t, 0), k < Hn)), (h[t - 1, k], k < Hn), (x[t, k - Hn], True))
    W = {g: cell.W[g].var for g in GATES}
    hv, Cv, zv = "_h", "_C", name.plain("z")
    pre = {g: f"{W[g]} @ {zv}[_t]{_bias_code(cell, g)}" for g in GATES}
    code = (f"{zv} = np.empty(({cell.x.var}.shape[0], len({cell.h0.var}) + {cell.x.var}.shape[1]))\n"
            f"{hv}, {Cv} = {cell.h0.var}, {cell.C0.var}\n"
            f"for _t in range({cell.x.var}.shape[0]):  # the states come from the recurrence\n"
            f"    {zv}[_t] = np.concatenate([{hv}, {cell.x.var}[_t]])\n"
            f"    {Cv} = sigmoid({pre['f']}) * {Cv} + sigmoid({pre['i']}) * np.tanh({pre['c']})\n"
            f"    {hv} = sigmoid({pre['o']}) * np.tanh({Cv})")
    return d.step(f"{at}z", _("Stack the previous hidden state on the input: z_t = [h_{t-1}; x_t]"),
                  explanation=_("h_{t-1} comes first, so the first H columns of every weight matrix act on h_{t-1} and the last D columns on x_t. At t = 0 the previous state is the given h_{-1}."),
                  symbol=name.array("z"), index=(t, k), formula=formula, value=value, code=code, concept="lstm.concat",
                  labels=_labels(value))


TITLES = {"f": N_("Forget gate f_t"), "i": N_("Input gate i_t"), "c": N_("Candidate cell state C̃_t"), "o": N_("Output gate o_t")}
EXPLAIN = {"f": N_("f_t = σ(a^f_t): how much of each entry of C_{t-1} to keep (0 forgets, 1 keeps)."),
           "i": N_("i_t = σ(a^i_t): how much of the candidate to write into the cell."),
           "c": N_("C̃_t = tanh(a^c_t): the new content proposed for the cell, in (-1, 1)."),
           "o": N_("o_t = σ(a^o_t): how much of tanh C_t to show as h_t.")}


def _gate(d: Derivation, cell: Cell, g: str, values: dict, at: str) -> None:
    name, Hn, Dn = cell.names, cell.sizes[1], cell.sizes[2]
    W, z = cell.W[g], cell.z
    weighted = total(written_product(W.symbol[j, k], z.symbol[t, k]), k, Hn + Dn)
    a = d.step(f"{at}a_{g}", _("Pre-activation a^{g}_t = W_{g} z_t").format(g=g) + (" + b" if cell.b else ""),
               explanation=_("W_{g} has shape (H, H + D) = ({rows}, {cols}); each entry is a weighted sum over the H + D entries of z_t.").format(
                   g=g, rows=np.shape(W.value)[0], cols=np.shape(W.value)[1]),
               symbol=name.array(f"a_{g}"), index=(t, j), formula=written_sum(weighted, cell.b[g].symbol[j] if cell.b else 0),
               value=values[f"a_{g}"], code=f"{name.plain(f'a_{g}')} = {z.var} @ {W.var}.T{_bias_code(cell, g)}",
               concept="lstm.preactivation", labels=_labels(values[f"a_{g}"]))
    kind = KIND[g]
    code = f"sigmoid({a.var})" if kind == "sigmoid" else f"np.tanh({a.var})"
    cell.pre[g] = a
    cell.gates[g] = d.step(f"{at}{'c_tilde' if g == 'c' else g}", _(TITLES[g]), explanation=_(EXPLAIN[g]),
                           symbol=name.array(g), index=(t, j), formula=activations.formula(kind, a.symbol[t, j]),
                           value=values[g], code=f"{name.plain(g)} = {code}", concept=f"lstm.gate_{g}",
                           labels=_labels(values[g]))


def _previous(state: Any, first: Any, t: Any) -> sp.Expr:
    """state_{t-1}, the given initial state at t = 0."""
    return Cases((first[j], sp.Eq(t, 0)), (state[t - 1, j], True))


def _cell_state(d: Derivation, cell: Cell, value: np.ndarray, at: str) -> Step:
    name = cell.names
    C = name.array("C")
    f, ig, c = (cell.gates[g] for g in ("f", "i", "c"))
    Cv = name.plain("C")
    code = (f"{Cv} = np.empty_like({f.var})\n"
            f"for _t in range(len({f.var})):\n"
            f"    {Cv}[_t] = {f.var}[_t] * ({Cv}[_t - 1] if _t else {cell.C0.var}) + {ig.var}[_t] * {c.var}[_t]")
    return d.step(f"{at}C", _("Cell state C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t"),
                  explanation=_("Keep part of the old cell state, add part of the candidate: element by element (⊙), no weight matrix. At t = 0, C_{t-1} is the given C_{-1}."),
                  symbol=C, index=(t, j), formula=written_sum(written_product(f.symbol[t, j], _previous(C, cell.C0.symbol, t)),
                                                       written_product(ig.symbol[t, j], c.symbol[t, j])),
                  value=value, code=code, concept="lstm.cell_state", labels=_labels(value))


# ---- backward ---------------------------------------------------------------------------------


@dataclass
class CellGradients:
    """Handles of a backward pass: ∂L/∂h, the Jacobian ∂h/∂o at t = T-1, ∂L/∂o, ∂L/∂C,
    ∂L/∂gate and δ by gate (f i c o), ∂L/∂W and ∂L/∂b by gate, ∂L/∂z, ∂L/∂h_{-1}, ∂L/∂C_{-1}."""

    dh: Step
    J: Step | None = None
    dC: Step | None = None
    dgate: dict = field(default_factory=dict)
    delta: dict = field(default_factory=dict)
    W: dict = field(default_factory=dict)
    b: dict = field(default_factory=dict)
    dz: Step | None = None
    h0: Step | None = None
    C0: Step | None = None


def _previous_value(cell: Cell) -> np.ndarray:
    C = np.asarray(cell.C.value)
    return np.vstack([np.asarray(cell.C0.value, float)[None, :], C[:-1]])


def backward(d: Derivation, cell: Cell, dl_dh: Any = None, *, dh_last: Any = None, dC_last: Any = None, at: str = "",
             checks: dict | None = None, stage: Callable[[str], Any] | None = None) -> CellGradients:
    """Steps dh, J_o, do, delta_o, dW_o (db_o), dC, then for f, i, c: d<g>, delta_<g>, dW_<g> (db_<g>),
    then dz, dh0, dC0: BPTT from handles dl_dh = ∂ℓ/∂h_t (T, H) (None: no output per step)
    and optional dh_last, dC_last (H,) = ∂L/∂h_{T-1}, ∂L/∂C_{T-1} from later. `checks` may map
    "W_f" … "W_o", "b_f" …, "h0", "C0" to GradientChecks of the caller's whole loss; `stage(name)`
    is called before "h", "o", "C", "f", "i", "c", "time". Gradients of W are summed over t."""
    stage, checks = stage or (lambda _name: None), checks or {}
    grads = _backward_values(cell, dl_dh, dh_last, dC_last)
    out = CellGradients(None)
    with d.recurrence():  # ∂L/∂h_t uses ∂L/∂z_{t+1}, ∂L/∂C_t uses ∂L/∂C_{t+1}
        _backward_steps(d, cell, out, grads, (dl_dh, dh_last, dC_last), at, checks, stage)
    _initial_states(d, cell, out, grads, at, checks)
    return out


def _backward_steps(d: Derivation, cell: Cell, out: CellGradients, grads: dict, upstream: tuple, at: str, checks: dict,
                    stage: Callable[[str], Any]) -> None:
    dl_dh, dh_last, dC_last = upstream
    stage("h")
    out.dh = _dh_step(d, cell, grads, dl_dh, dh_last, dC_last, at)
    stage("o")
    out.J = _jacobian(d, cell, at)
    out.dgate["o"] = _do_step(d, cell, out.dh, grads, at)
    _gate_gradients(d, cell, out, "o", grads, at, checks)
    stage("C")
    out.dC = _dC_step(d, cell, out.dh, grads, dC_last, at)
    for g in ("f", "i", "c"):
        stage(g)
        out.dgate[g] = _dgate_step(d, cell, out.dC, g, grads, at)
        _gate_gradients(d, cell, out, g, grads, at, checks)
    stage("time")
    _through_time(d, cell, out, grads, at)


def _value_or_zero(handle: Any, shape: tuple) -> np.ndarray:
    return np.zeros(shape) if handle is None else np.asarray(handle.value, float)


def _backward_values(cell: Cell, dl_dh: Any, dh_last: Any, dC_last: Any) -> dict:
    """NumPy BPTT: dh, dC, d<g>, delta_<g> (T, H) and dz (T, H + D) by the recurrences above."""
    gate = {g: np.asarray(cell.gates[g].value) for g in GATES}
    C, Cprev = np.asarray(cell.C.value), _previous_value(cell)
    Tn, Hn = C.shape
    e = _value_or_zero(dl_dh, C.shape)
    W = {g: np.asarray(cell.W[g].value, float) for g in GATES}
    out = {key: np.zeros(C.shape) for key in ("dh", "dC", "df", "di", "dc", "do", *(f"delta_{g}" for g in GATES))}
    out["dz"] = np.zeros(np.shape(cell.z.value))
    dh_next, dC_next = _value_or_zero(dh_last, (Hn,)), _value_or_zero(dC_last, (Hn,))
    for s in reversed(range(Tn)):
        out["dh"][s] = e[s] + dh_next
        out["do"][s] = out["dh"][s] * np.tanh(C[s])
        out["dC"][s] = out["dh"][s] * gate["o"][s] * (1 - np.tanh(C[s]) ** 2) + dC_next
        out["df"][s], out["di"][s], out["dc"][s] = out["dC"][s] * Cprev[s], out["dC"][s] * gate["c"][s], out["dC"][s] * gate["i"][s]
        for g in GATES:
            slope = 1 - gate[g][s] ** 2 if g == "c" else gate[g][s] * (1 - gate[g][s])
            out[f"delta_{g}"][s] = out[f"d{g}"][s] * slope
        out["dz"][s] = sum(W[g].T @ out[f"delta_{g}"][s] for g in GATES)
        dh_next, dC_next = out["dz"][s][:Hn], out["dC"][s] * gate["f"][s]
    return out


def _check(function: Callable[[np.ndarray], float], point: Any) -> GradientCheck:
    return GradientCheck(function, np.array(point, dtype=float))


def _dh_step(d: Derivation, cell: Cell, grads: dict, dl_dh: Any, dh_last: Any, dC_last: Any, at: str) -> Step:
    name, Tn = cell.names, cell.sizes[0]
    dz, dh = name.array("dz"), name.array("dh")
    later = dh_last.symbol[j] if dh_last is not None else 0
    own = dl_dh.symbol[t, j] if dl_dh is not None else 0
    var, hv = name.plain("dh"), cell.h.var
    gates = {g: cell.gates[g].var for g in GATES}
    e = dl_dh.var if dl_dh is not None else f"np.zeros_like({hv})"
    last = lambda handle: handle.var if handle is not None else f"np.zeros({hv}.shape[1])"
    code = (f"{var} = np.empty_like({hv})\n"
            f"_dh_next, _dC_next = {last(dh_last)}, {last(dC_last)}\n"
            f"for _t in reversed(range(len({hv}))):  # back through time\n"
            f"    {var}[_t] = {e}[_t] + _dh_next\n"
            f"    _dC = {var}[_t] * {gates['o']}[_t] * (1 - np.tanh({cell.C.var}[_t]) ** 2) + _dC_next\n"
            f"    _C_before = {cell.C.var}[_t - 1] if _t else {cell.C0.var}\n"
            f"    _d = [_dC * _C_before * {gates['f']}[_t] * (1 - {gates['f']}[_t]),\n"
            f"          _dC * {gates['c']}[_t] * {gates['i']}[_t] * (1 - {gates['i']}[_t]),\n"
            f"          _dC * {gates['i']}[_t] * (1 - {gates['c']}[_t] ** 2),\n"
            f"          {var}[_t] * np.tanh({cell.C.var}[_t]) * {gates['o']}[_t] * (1 - {gates['o']}[_t])]\n"
            f"    _dh_next = sum(W.T @ d_ for W, d_ in zip([{', '.join(cell.W[g].var for g in GATES)}], _d))[:{hv}.shape[1]]\n"
            f"    _dC_next = _dC * {gates['f']}[_t]")
    formula = own + Cases((later, sp.Eq(t, Tn - 1)), (dz[t + 1, j], True))
    return d.step(f"{at}dh", _("Gradient at the hidden state ∂L/∂h_t"),
                  explanation=_("h_t feeds step t's own output (∂ℓ/∂h_t) and, through z_{t+1} = [h_t; x_{t+1}], the next step: the first H entries of ∂L/∂z_{t+1}. At the last step t = T-1 nothing follows inside this pass (or the gradient from later is added). With T = 1 this is just ∂ℓ/∂h."),
                  symbol=dh, index=(t, j), lhs=sp.Derivative(name.scalar("L"), cell.h.symbol[t, j]), formula=formula,
                  value=grads["dh"], code=code, concept="lstm.dL_dh", labels=_labels(grads["dh"]),
                  gradient=_check(_dh_surrogate(cell, grads, dl_dh, dh_last), cell.h.value))


def _dh_surrogate(cell: Cell, grads: dict, dl_dh: Any, dh_last: Any) -> Callable:
    """Σ ∂ℓ/∂h ⊙ h + ∂L/∂h_{T-1}·h_{T-1} + Σ_t ∂L/∂z_{t+1} · [h_t; x_{t+1}]: z linear in h."""
    e = _value_or_zero(dl_dh, np.shape(cell.h.value))
    later = _value_or_zero(dh_last, (e.shape[1],))
    dz_h = grads["dz"][1:, : e.shape[1]]
    return lambda hv: float(np.sum(e * hv) + later @ hv[-1] + np.sum(dz_h * hv[:-1]))


def _jacobian(d: Derivation, cell: Cell, at: str) -> Step:
    name, Tn = cell.names, cell.sizes[0]
    Cl = np.tanh(np.asarray(cell.C.value)[-1])
    o, C = cell.gates["o"].symbol, cell.C.symbol
    return d.step(f"{at}J_o", _("Jacobian ∂h_t/∂o_t of an element-wise product (at t = T-1)"),
                  explanation=_("h_{t,j} = o_{t,j} tanh C_{t,j} depends on o_{t,j} alone, so ∂h_{t,j}/∂o_{t,k} = δ_jk tanh C_{t,k}: a diagonal matrix, diag(tanh C_t). Shown at the last step; every step has the same form."),
                  symbol=name.array("J"), index=(j, k), lhs=sp.Derivative(cell.h.symbol[Tn - 1, j], o[Tn - 1, k]),
                  formula=written_product(sp.KroneckerDelta(j, k), sp.tanh(C[Tn - 1, k])), value=np.diag(Cl),
                  code=f"{name.plain('J')} = np.diag(np.tanh({cell.C.var}[-1]))", concept="lstm.jacobian_diagonal")


def _do_step(d: Derivation, cell: Cell, dh: Step, grads: dict, at: str) -> Step:
    name = cell.names
    C, Cv = cell.C.symbol, np.asarray(cell.C.value)
    return d.step(f"{at}do", _("Gradient at the output gate ∂L/∂o_t"),
                  explanation=_("∂L/∂o_{t,j} = Σ_k ∂L/∂h_{t,k} ∂h_{t,k}/∂o_{t,j}; the Jacobian is diagonal, so only k = j remains and the factor is tanh C_{t,j}: ∂L/∂o_t = ∂L/∂h_t ⊙ tanh C_t."),
                  symbol=name.array("do"), index=(t, j), lhs=sp.Derivative(name.scalar("L"), cell.gates["o"].symbol[t, j]),
                  formula=dh.symbol[t, j] * sp.tanh(C[t, j]), value=grads["do"],
                  code=f"{name.plain('do')} = {dh.var} * np.tanh({cell.C.var})", concept="lstm.dL_do",
                  labels=_labels(grads["do"]),
                  gradient=_check(lambda ov: float(np.sum(np.asarray(dh.value) * ov * np.tanh(Cv))), cell.gates["o"].value))


def _dC_step(d: Derivation, cell: Cell, dh: Step, grads: dict, dC_last: Any, at: str) -> Step:
    name, Tn = cell.names, cell.sizes[0]
    dC, o, C, f = name.array("dC"), cell.gates["o"].symbol, cell.C.symbol, cell.gates["f"].symbol
    later = dC_last.symbol[j] if dC_last is not None else 0
    var = name.plain("dC")
    code = (f"{var} = np.empty_like({cell.C.var})\n"
            f"_carry = {dC_last.var if dC_last is not None else f'np.zeros({cell.C.var}.shape[1])'}\n"
            f"for _t in reversed(range(len({cell.C.var}))):\n"
            f"    {var}[_t] = {dh.var}[_t] * {cell.gates['o'].var}[_t] * (1 - np.tanh({cell.C.var}[_t]) ** 2) + _carry\n"
            f"    _carry = {var}[_t] * {cell.gates['f'].var}[_t]")
    formula = dh.symbol[t, j] * o[t, j] * (1 - sp.tanh(C[t, j]) ** 2) + Cases((later, sp.Eq(t, Tn - 1)), (dC[t + 1, j] * f[t + 1, j], True))
    return d.step(f"{at}dC", _("Gradient at the cell state ∂L/∂C_t"),
                  explanation=_("Through h_t = o_t ⊙ tanh C_t: ∂L/∂h_t ⊙ o_t ⊙ (1 - tanh² C_t); plus, from the next step, C_{t+1} = f_{t+1} ⊙ C_t + …: ∂L/∂C_{t+1} ⊙ f_{t+1}. That second path is additive: no weight matrix, no squashing derivative."),
                  symbol=dC, index=(t, j), lhs=sp.Derivative(name.scalar("L"), C[t, j]), formula=formula, value=grads["dC"],
                  code=code, concept="lstm.dL_dC", labels=_labels(grads["dC"]),
                  gradient=_check(_dC_surrogate(cell, dh, grads, dC_last), cell.C.value))


def _dC_surrogate(cell: Cell, dh: Step, grads: dict, dC_last: Any) -> Callable:
    """Σ ∂L/∂h ⊙ o ⊙ tanh C + ∂L/∂C_{T-1}·C_{T-1} + Σ_t ∂L/∂C_{t+1} ⊙ f_{t+1} ⊙ C_t."""
    e, o, f = np.asarray(dh.value), np.asarray(cell.gates["o"].value), np.asarray(cell.gates["f"].value)
    later = _value_or_zero(dC_last, (e.shape[1],))
    carried = grads["dC"][1:] * f[1:]
    return lambda Cv: float(np.sum(e * o * np.tanh(Cv)) + later @ Cv[-1] + np.sum(carried * Cv[:-1]))


DGATE = {"f": (N_("Gradient at the forget gate ∂L/∂f_t"), N_("C_t depends on f_t through f_t ⊙ C_{t-1}, so ∂L/∂f_t = ∂L/∂C_t ⊙ C_{t-1}.")),
         "i": (N_("Gradient at the input gate ∂L/∂i_t"), N_("C_t depends on i_t through i_t ⊙ C̃_t, so ∂L/∂i_t = ∂L/∂C_t ⊙ C̃_t.")),
         "c": (N_("Gradient at the candidate ∂L/∂C̃_t"), N_("C_t depends on C̃_t through i_t ⊙ C̃_t, so ∂L/∂C̃_t = ∂L/∂C_t ⊙ i_t."))}


def _dgate_step(d: Derivation, cell: Cell, dC: Step, g: str, grads: dict, at: str) -> Step:
    name = cell.names
    other = {"f": None, "i": cell.gates["c"], "c": cell.gates["i"]}[g]
    factor = _previous(cell.C.symbol, cell.C0.symbol, t) if g == "f" else other.symbol[t, j]
    factor_value = _previous_value(cell) if g == "f" else np.asarray(other.value)
    factor_code = (f"np.vstack([{cell.C0.var}[None, :], {cell.C.var}[:-1]])" if g == "f" else other.var)
    title, explanation = DGATE[g]
    notes = _vanishing_note(factor_value) if g == "f" else ()
    dCv = np.asarray(dC.value)
    return d.step(f"{at}d{'C_tilde' if g == 'c' else g}", _(title), explanation=_(explanation), symbol=name.array(f"d{g}"),
                  index=(t, j), lhs=sp.Derivative(name.scalar("L"), cell.gates[g].symbol[t, j]), formula=written_product(dC.symbol[t, j], factor),
                  value=grads[f"d{g}"], code=f"{name.plain(f'd{g}')} = {dC.var} * {factor_code}", concept=f"lstm.dL_d{g}",
                  notes=notes, labels=_labels(grads[f"d{g}"]),
                  gradient=_check(lambda gv: float(np.sum(dCv * gv * factor_value)), cell.gates[g].value))


def _vanishing_note(previous: np.ndarray) -> tuple[str, ...]:
    """Where C_{t-1} is exactly 0, the forget gate gets no gradient: said from the numbers."""
    zero = np.argwhere(previous == 0)
    if not len(zero):
        return ()
    where = ", ".join(f"(t={a}, j={b})" for a, b in zero[:4]) + (" …" if len(zero) > 4 else "")
    return (Caution(_("C_{{t-1}} is 0 at {where}, so ∂L/∂f_t is 0 there: the forget gate gets no gradient where there is nothing to forget").format(where=where)),)


def _gate_gradients(d: Derivation, cell: Cell, out: CellGradients, g: str, grads: dict, at: str, checks: dict) -> None:
    """Steps delta_<g>, dW_<g> (and db_<g>) for gate g."""
    name = cell.names
    upstream, a, gate = out.dgate[g], cell.pre[g], cell.gates[g]
    kind = KIND[g]
    up = np.asarray(upstream.value)
    delta = d.step(f"{at}delta_{g}", _("δ^{g}_t = ∂L/∂a^{g}_t").format(g=g),
                   explanation=_("Through the activation, element by element: σ' = σ(1 - σ) for a sigmoid gate, tanh' = 1 - tanh² for the candidate, written with the gate's value."),
                   symbol=name.array(f"delta_{g}"), index=(t, j), lhs=sp.Derivative(name.scalar("L"), a.symbol[t, j]),
                   formula=upstream.symbol[t, j] * activations.prime_formula(kind, a.symbol[t, j], gate.symbol[t, j]),
                   value=grads[f"delta_{g}"], concept=f"activations.{kind}_derivative",
                   code=f"{name.plain(f'delta_{g}')} = {upstream.var} * (" + activations.PRIME_CODE[kind].format(a=gate.var, z=a.var) + ")",
                   labels=_labels(grads[f"delta_{g}"]),
                   gradient=_check(lambda av: float(np.sum(up * _f(kind, av))), a.value))
    out.delta[g] = delta
    out.W[g] = _weight_gradient(d, cell, g, delta, at, checks)
    if cell.b:
        out.b[g] = _bias_gradient(d, cell, g, delta, at, checks)


def _weight_gradient(d: Derivation, cell: Cell, g: str, delta: Step, at: str, checks: dict) -> Step:
    name, Tn = cell.names, cell.sizes[0]
    W, z = cell.W[g], cell.z
    dv, zv = np.asarray(delta.value), np.asarray(z.value)
    return d.step(f"{at}dW_{g}", _("Gradient of W_{g}, summed over t").format(g=g),
                  explanation=_("∂a^{g}_{{t,j}}/∂W_{g},jk = z_{{t,k}}, and W_{g} is used at every step: ∂L/∂W_{g} = Σ_t δ^{g}_t z_tᵀ, of shape (H, H + D) like W_{g}.").format(g=g),
                  symbol=name.array(f"dW_{g}"), index=(j, k), lhs=sp.Derivative(name.scalar("L"), W.symbol[j, k]),
                  formula=total(delta.symbol[t, j] * z.symbol[t, k], t, Tn), value=dv.T @ zv,
                  code=f"{name.plain(f'dW_{g}')} = {delta.var}.T @ {z.var}", concept="lstm.dL_dW",
                  gradient=checks.get(f"W_{g}") or _check(lambda Wv: float(np.sum(dv * (zv @ Wv.T))), W.value))


def _bias_gradient(d: Derivation, cell: Cell, g: str, delta: Step, at: str, checks: dict) -> Step:
    name, Tn = cell.names, cell.sizes[0]
    dv = np.asarray(delta.value)
    return d.step(f"{at}db_{g}", _("Gradient of b_{g}, summed over t").format(g=g),
                  explanation=_("∂a^{g}_{{t,j}}/∂b_{g},j = 1, so ∂L/∂b_{g} = Σ_t δ^{g}_t.").format(g=g),
                  symbol=name.array(f"db_{g}"), index=(j,), lhs=sp.Derivative(name.scalar("L"), cell.b[g].symbol[j]),
                  formula=total(delta.symbol[t, j], t, Tn), value=dv.sum(axis=0),
                  code=f"{name.plain(f'db_{g}')} = {delta.var}.sum(axis=0)", concept="lstm.dL_db",
                  gradient=checks.get(f"b_{g}") or _check(lambda bv: float(np.sum(dv * bv)), cell.b[g].value))


def _through_time(d: Derivation, cell: Cell, out: CellGradients, grads: dict, at: str) -> None:
    """Step dz: ∂L/∂z_t = Σ_g W_gᵀ δ^g_t."""
    name, Hn = cell.names, cell.sizes[1]
    delta = {g: np.asarray(out.delta[g].value) for g in GATES}
    W = {g: np.asarray(cell.W[g].value, float) for g in GATES}
    formula = total(written_sum(*(written_product(cell.W[g].symbol[j, k], out.delta[g].symbol[t, j]) for g in GATES)), j, Hn)
    out.dz = d.step(f"{at}dz", _("Gradient at z_t = [h_{t-1}; x_t]"),
                    explanation=_("z_t feeds all four gates: ∂L/∂z_t = Σ_g W_gᵀ δ^g_t. Its first H entries are ∂L/∂h_{t-1}, carried back to step t-1; the last D are ∂L/∂x_t."),
                    symbol=name.array("dz"), index=(t, k), lhs=sp.Derivative(name.scalar("L"), cell.z.symbol[t, k]),
                    formula=formula, value=grads["dz"], concept="lstm.dL_dz",
                    code=f"{name.plain('dz')} = " + " + ".join(f"{out.delta[g].var} @ {cell.W[g].var}" for g in GATES),
                    labels=_labels(grads["dz"]),
                    gradient=_check(lambda zv: float(sum(np.sum(delta[g] * (zv @ W[g].T)) for g in GATES)), cell.z.value))


def _initial_states(d: Derivation, cell: Cell, out: CellGradients, grads: dict, at: str, checks: dict) -> None:
    """Steps dh0 and dC0: the gradients at the given h_{-1} and C_{-1}."""
    name = cell.names
    dz0 = grads["dz"][0, :len(cell.h0.value)]
    out.h0 = d.step(f"{at}dh0", _("Gradient at the initial hidden state h_{-1}"),
                    explanation=_("z_0 = [h_{-1}; x_0], so ∂L/∂h_{-1} is the first H entries of ∂L/∂z_0."),
                    symbol=name.array("dh0"), index=(j,), lhs=sp.Derivative(name.scalar("L"), cell.h0.symbol[j]),
                    formula=out.dz.symbol[0, j], value=dz0, code=f"{name.plain('dh0')} = {out.dz.var}[0, :len({cell.h0.var})]",
                    concept="lstm.dL_dh0", gradient=checks.get("h0") or _check(lambda hv: float(dz0 @ hv), cell.h0.value))
    f0, dC0 = np.asarray(cell.gates["f"].value)[0], np.asarray(out.dC.value)[0]
    out.C0 = d.step(f"{at}dC0", _("Gradient at the initial cell state C_{-1}"),
                    explanation=_("C_0 = f_0 ⊙ C_{-1} + …, so ∂L/∂C_{-1} = ∂L/∂C_0 ⊙ f_0."),
                    symbol=name.array("dC0"), index=(j,), lhs=sp.Derivative(name.scalar("L"), cell.C0.symbol[j]),
                    formula=out.dC.symbol[0, j] * cell.gates["f"].symbol[0, j], value=dC0 * f0,
                    code=f"{name.plain('dC0')} = {out.dC.var}[0] * {cell.gates['f'].var}[0]", concept="lstm.dL_dC0",
                    gradient=checks.get("C0") or _check(lambda Cv: float(np.sum(dC0 * f0 * Cv)), cell.C0.value))


# ---- the additive path ------------------------------------------------------------------------


@dataclass
class Paths:
    """Handles of `cell_path`: Π f (the cell path) and Π f (1 - tanh² C) (squashed)."""

    cell: Step
    squashed: Step


def cell_path(d: Derivation, cell: Cell, *, at: str = "") -> Paths:
    """Steps cell_path P_{t,j} = Π_{s=t+1}^{T-1} f_{s,j} = ∂C_{T-1,j}/∂C_{t,j} along the cell
    (1 at t = T-1), and squashed_path Q_{t,j} = Π_{s>t} f_{s,j}(1 - tanh² C_{s,j}): the same
    path if the state were squashed by tanh at every step, as an RNN's is."""
    name, Tn = cell.names, cell.sizes[0]
    f, C = np.asarray(cell.gates["f"].value), np.asarray(cell.C.value)
    paths = []
    for role, factor, code in (("P", f, "{f}"), ("Q", f * (1 - np.tanh(C) ** 2), "{f} * (1 - np.tanh({C}) ** 2)")):
        value = np.ones_like(f)
        for s in reversed(range(len(f) - 1)):
            value[s] = value[s + 1] * factor[s + 1]
        paths.append((role, value, code.format(f=cell.gates["f"].var, C=cell.C.var)))
    fs, Cs = cell.gates["f"].symbol, cell.C.symbol
    steps = []
    for (role, value, code), factor, title in zip(paths, ((fs[t + 1, j],), (fs[t + 1, j], 1 - sp.tanh(Cs[t + 1, j]) ** 2)),
                                                  (_("Cell path: Π f, the additive path through C"), _("The same path squashed at every step, as an RNN's state is"))):
        symbol = name.array(role)
        var = name.plain(role)
        with d.recurrence():
            steps.append(d.step(f"{at}{'cell_path' if role == 'P' else 'squashed_path'}", title,
                            explanation=_path_explanation(role), symbol=symbol, index=(t, j),
                            formula=Cases((1, sp.Eq(t, Tn - 1)), (written_product(*factor, symbol[t + 1, j]), True)), value=value,
                            code=(f"_factor = {code}\n{var} = np.ones_like(_factor)\n"
                                  f"for _t in reversed(range(len(_factor) - 1)):\n    {var}[_t] = {var}[_t + 1] * _factor[_t + 1]"),
                            concept=f"lstm.{'cell_path' if role == 'P' else 'squashed_path'}", labels=_labels(value),
                            notes=_path_note(paths[0][1], paths[1][1]) if role == "Q" else ()))
    return Paths(*steps)


def _path_explanation(role: str) -> str:
    if role == "P":
        return _("∂C_{T-1}/∂C_t along the cell is Π_{s=t+1}^{T-1} f_s, element by element: each step multiplies by the forget gate only, which the network can hold near 1. This is why the gradient through C stays alive.")
    return _("An RNN's state passes through tanh at every step, so its gradient picks up tanh' = 1 - tanh² ≤ 1 (and W_hh) at every step. Squashing C_{s} the same way would give Π f_s (1 - tanh² C_s): it shrinks with every step.")


def _path_note(cell_values: np.ndarray, squashed: np.ndarray) -> tuple[str, ...]:
    """How much of the gradient each path keeps from the last step back to t = 0 (unit 0)."""
    if len(cell_values) < 2:
        return (_("With T = 1 there is no earlier step: both products are empty (1). Give --x several rows to see them shrink."),)
    return (_("From t = {last} back to t = 0, unit 0: the cell path keeps {p:.4g} of the gradient, the squashed path {q:.4g} ({ratio:.3g} times less)").format(
        last=len(cell_values) - 1, p=cell_values[0, 0], q=squashed[0, 0], ratio=cell_values[0, 0] / squashed[0, 0] if squashed[0, 0] else float("inf")),)


# ---- output layer per step: logits, softmax, cross-entropy summed over t -------------------------


@dataclass
class Readout:
    """Handles of the output layer: logits g (T, K), shift m (T,), softmax ŷ, log ŷ, loss L."""

    cell: Cell
    W: Any
    b: Any
    target: Any
    classes: Any
    g: Step
    shift: Step
    probs: Step
    log_probs: Step
    loss: Step
    names: Names


def softmax_rows(g: np.ndarray) -> np.ndarray:
    """Softmax of each row, shifted by the row's maximum."""
    u = np.exp(g - g.max(axis=1, keepdims=True))
    return u / u.sum(axis=1, keepdims=True)


def cross_entropy_rows(g: np.ndarray, y: np.ndarray) -> float | np.ndarray:
    """-Σ_t Σ_k y_tk log ŷ_tk, with log ŷ = g - m - log Σ exp(g - m) (never log 0); for
    versions of g stacked on leading axes, one loss each."""
    m = g.max(axis=-1, keepdims=True)
    losses = -(y * (g - m - np.log(np.exp(g - m).sum(axis=-1, keepdims=True)))).sum(axis=(-2, -1))
    return float(losses) if losses.ndim == 0 else losses


def readout(d: Derivation, cell: Cell, W: Any, target: Any, b: Any = None, *, at: str = "", names: dict | None = None,
            classes: sp.Symbol = n) -> Readout:
    """Steps logits (g_{t,i} = Σ_j W_y,ij h_{t,j} + b_y,i), shift, softmax, log_softmax, loss
    (L = -Σ_t Σ_k y_tk log ŷ_tk) for the cell's states h (T, H), the handle W_y (K, H), a one-hot
    target (T, K) and an optional bias b_y (K,). `classes` is the size symbol of K."""
    name, h = Names(d, READOUT_NAMES, names), cell.h
    Tsym, Hsym = cell.sizes[0], cell.sizes[1]
    hv, Wv = np.asarray(h.value, float), np.asarray(W.value, float)
    size(d, classes, Wv.shape[0])
    g_value = hv @ Wv.T + (0.0 if b is None else np.asarray(b.value, float))
    g = d.step(f"{at}logits", _("Logits g_t = W_y h_t") + (" + b_y" if b is not None else ""),
               explanation=_("W_y has shape (K, H) = ({k}, {h}): one row per class, applied to h_t at every step.").format(k=Wv.shape[0], h=Wv.shape[1]),
               symbol=name.array("g"), index=(t, i), formula=written_sum(total(written_product(W.symbol[i, j], h.symbol[t, j]), j, Hsym), b.symbol[i] if b is not None else 0),
               value=g_value, code=f"{name.plain('g')} = {h.var} @ {W.var}.T" + (f" + {b.var}" if b is not None else ""),
               concept="dense.forward", labels=_labels(g_value))
    shift = d.step(f"{at}shift", _("Shift by the largest logit of each step"),
                   explanation=_("Softmax is unchanged when a step's logits are shifted by the same m_t; with the maximum, no exponential overflows."),
                   symbol=name.array("m"), index=(t,), formula=Maximum(g.symbol[t, k], k, 0, classes - 1), value=g_value.max(axis=1),
                   code=f"{name.plain('m')} = {g.var}.max(axis=1)", concept="softmax_ce.shift")
    probs = d.step(f"{at}softmax", _("Softmax at each step"), explanation=_("ŷ_{t,i} = exp(g_{t,i} - m_t) / Σ_k exp(g_{t,k} - m_t)."),
                   symbol=name.array("y_hat"), index=(t, i), formula=exponential(g.symbol[t, i] - shift.symbol[t]) / total(exponential(g.symbol[t, k] - shift.symbol[t]), k, classes),
                   value=softmax_rows(g_value), concept="softmax_ce.softmax", labels=_labels(g_value),
                   code=f"{name.plain('y_hat')} = np.exp({g.var} - {shift.var}[:, None]) / np.exp({g.var} - {shift.var}[:, None]).sum(axis=1, keepdims=True)")
    log_value = g_value - shift.value[:, None] - np.log(np.exp(g_value - shift.value[:, None]).sum(axis=1, keepdims=True))
    log_probs = d.step(f"{at}log_softmax", _("Log-probabilities"), explanation=_("log ŷ_{t,i} = g_{t,i} - m_t - log Σ_k exp(g_{t,k} - m_t): exact even where ŷ underflows to 0."),
                       symbol=name.array("log_y"), index=(t, i), lhs=sp.log(probs.symbol[t, i]),
                       formula=written_sum(g.symbol[t, i], -shift.symbol[t], -logarithm(total(exponential(g.symbol[t, k] - shift.symbol[t]), k, classes))),
                       value=log_value, concept="softmax_ce.log_softmax", labels=_labels(g_value),
                       code=f"{name.plain('log_y')} = {g.var} - {shift.var}[:, None] - np.log(np.exp({g.var} - {shift.var}[:, None]).sum(axis=1, keepdims=True))")
    y = np.asarray(target.value, float)
    loss = d.step(f"{at}loss", _("Cross-entropy, summed over t"), explanation=_("L = -Σ_t Σ_k y_{t,k} log ŷ_{t,k}: with a one-hot target, the sum of -log ŷ of the true class at each step."),
                  symbol=name.scalar("L"), formula=-total(total(written_product(target.symbol[t, k], log_probs.symbol[t, k]), k, classes), t, Tsym),
                  value=float(-(y * log_value).sum()), code=f"{name.plain('L')} = -({target.var} * {log_probs.var}).sum()",
                  concept="softmax_ce.loss", substitute=True)
    return Readout(cell, W, b, target, classes, g, shift, probs, log_probs, loss, name)


@dataclass
class ReadoutGradients:
    """Handles of `readout_backward`: ∂L/∂g, ∂L/∂W_y, ∂L/∂b_y (or None), ∂ℓ/∂h."""

    g: Step
    W: Step
    b: Step | None
    h: Step


def readout_backward(d: Derivation, ro: Readout, *, at: str = "") -> ReadoutGradients:
    """Steps dL_dg (ŷ - y), dW_y (Σ_t ∂L/∂g_t h_tᵀ), db_y (with a bias) and dl_dh (W_yᵀ ∂L/∂g_t),
    each checked by finite differences of the loss itself (h held fixed)."""
    name, y, h = ro.names, np.asarray(ro.target.value, float), ro.cell.h
    hv, Wv = np.asarray(h.value, float), np.asarray(ro.W.value, float)
    bv = 0.0 if ro.b is None else np.asarray(ro.b.value, float)
    Tsym = ro.cell.sizes[0]
    dg_value = ro.probs.value - y
    L = ro.loss.symbol
    dg = d.step(f"{at}dL_dg", _("Prediction minus target: ∂L/∂g_t = ŷ_t - y_t"),
                explanation=_("Softmax with cross-entropy at each step: the chain rule summed over the classes collapses to ŷ - y (the softmax lesson derives it)."),
                symbol=name.array("dg"), index=(t, i), lhs=sp.Derivative(L, ro.g.symbol[t, i]), formula=ro.probs.symbol[t, i] - ro.target.symbol[t, i],
                value=dg_value, code=f"{name.plain('dg')} = {ro.probs.var} - {ro.target.var}", concept="softmax_ce.gradient",
                labels=_labels(dg_value), gradient=_check(lambda gv: cross_entropy_rows(gv, y), ro.g.value))
    dW = d.step(f"{at}dW_y", _("Gradient of W_y, summed over t"), explanation=_("∂L/∂W_y = Σ_t ∂L/∂g_t h_tᵀ, of shape (K, H) like W_y."),
                symbol=name.array("dWy"), index=(i, j), lhs=sp.Derivative(L, ro.W.symbol[i, j]), formula=total(dg.symbol[t, i] * h.symbol[t, j], t, Tsym),
                value=dg_value.T @ hv, code=f"{name.plain('dWy')} = {dg.var}.T @ {h.var}", concept="dense.dL_dW",
                gradient=_check(lambda Wp: cross_entropy_rows(hv @ Wp.T + bv, y), Wv))
    db = None
    if ro.b is not None:
        db = d.step(f"{at}db_y", _("Gradient of b_y, summed over t"), explanation=_("∂L/∂b_y = Σ_t ∂L/∂g_t."),
                    symbol=name.array("dby"), index=(i,), lhs=sp.Derivative(L, ro.b.symbol[i]), formula=total(dg.symbol[t, i], t, Tsym),
                    value=dg_value.sum(axis=0), code=f"{name.plain('dby')} = {dg.var}.sum(axis=0)", concept="dense.dL_db",
                    gradient=_check(lambda bp: cross_entropy_rows(hv @ Wv.T + bp, y), bv))
    dh = d.step(f"{at}dl_dh", _("Gradient sent back to h_t by step t's own output: ∂ℓ/∂h_t = W_yᵀ ∂L/∂g_t"),
                explanation=_("ℓ is the loss through the output at the same step; the recurrence adds what later steps send back."),
                symbol=name.array("dl_dh"), index=(t, j), lhs=sp.Derivative(sp.Symbol("ell"), h.symbol[t, j]), formula=total(ro.W.symbol[i, j] * dg.symbol[t, i], i, ro.classes),
                value=dg_value @ Wv, code=f"{name.plain('dl_dh')} = {dg.var} @ {ro.W.var}", concept="dense.dL_dx",
                labels=_labels(dg_value), gradient=_check(lambda hp: cross_entropy_rows(hp @ Wv.T + bv, y), hv))
    return ReadoutGradients(dg, dW, db, dh)
