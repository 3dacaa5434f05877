"""Convolution with stride and padding, max and average pooling, and their backward passes.

Square n × n inputs and k × k kernels; every formula is in index form, the same for any size:

    padding      P_ij = X_(i-p, j-p) inside X, 0 outside              P has side n + 2p
    output size  n' = ⌊(n + 2p - k) / s⌋ + 1
    convolution  Y_ij = Σ_a Σ_b P_(i s + a, j s + b) K_ab              cross-correlation: K is not flipped
    max pooling  M_ij = max_u max_v Y_(i q + u, j q + v)               q × q windows, stride q
    first max    r_ij = argmax_w Y_(i q + ⌊w/q⌋, j q + w mod q)        w = u q + v counts the window row by row
    avg pooling  A_ij = Σ_u Σ_v Y_(i q + u, j q + v) / q²
    flatten      f_l = Σ_c Σ_i Σ_j δ(l, c m² + i m + j) M^c_ij          channel, row, column (PyTorch's order)

Pooling keeps m = ⌊n'/q⌋ windows per side (shown as n_p) and drops the rest (PyTorch's ceil_mode=False).
Backward, for δ = ∂L/∂(output) from the layer above, with [ ] the Kronecker delta:

    max pooling  ∂L/∂Y_ij = [r_(⌊i/q⌋, ⌊j/q⌋) = (i mod q) q + j mod q] ∂L/∂M_(⌊i/q⌋, ⌊j/q⌋)
    avg pooling  ∂L/∂Y_ij = ∂L/∂A_(⌊i/q⌋, ⌊j/q⌋) / q²          (both 0 in rows past m q, in no window)
    kernel       ∂L/∂K_ab = Σ_i Σ_j ∂L/∂Y_ij P_(i s + a, j s + b)
    input        ∂L/∂P_ij = Σ_c Δ^c_ij,  Δ^c_ij = Σ_u Σ_v ∂L/∂Y^c_uv K^c_(i - u s, j - v s)   (K^c 0 outside)
                 ∂L/∂X_ij = ∂L/∂P_(i + p, j + p)
    one entry    T_ij = ∂L/∂Y_ij P_(i s, j s),   ∂L/∂K_00 = Σ_i Σ_j T_ij
    unflatten    ∂L/∂M^c_ij = ∂L/∂f_(c m² + i m + j)

A tie in a max-pooling window sends the whole gradient to its first maximum in row-major
order, as PyTorch does. Each gradient step carries a GradientCheck: the caller's check of
its whole loss, or else Σ δ ⊙ output with δ fixed (exactly the chain-rule product);
entries whose difference would move a window's first maximum are not compared (a kink).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

from dlsteps.blocks.symbols import Names, i, j, l, size, total, written_product, written_sum
from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, GradientCheck, Step
from dlsteps.symbolic import Argmax, Maximum, Quotient, Remainder

a, b, u, v, w = sp.symbols("a b u v w", integer=True, nonnegative=True)
"""Kernel offsets a, b; pooling-window offsets or pooled cells u, v; a flat window index w."""

M_NAME = "n_p"
"""The pooled map's side, m in the formulas above."""
KINK_MARGIN = 5e-5
"""An entry counts as at a kink when moving it by this much times max(1, |x|) (more than
the engine's finite differences ever move it) changes a window's first maximum."""


# ----------------------------------------------------------------------------- SymPy
class ZeroOutside(sp.Function):
    """ZeroOutside(X[r, c], n): X_rc where 0 ≤ r, c < n, else 0 (X padded with zeros)."""

    nargs = 2

    @classmethod
    def eval(cls, entry, side):
        if side.is_Integer and all(index.is_Integer for index in entry.indices):
            return entry if all(0 <= int(index) < int(side) for index in entry.indices) else sp.S.Zero
        return None

    def _latex(self, printer) -> str:
        entry, _side = self.args
        return rf"{printer._print(entry)} \ \left(0 \text{{ outside }} {printer._print(entry.base)}\right)"

    def _pretty(self, printer):
        entry, _side = self.args
        return prettyForm(*printer._print(entry).right(f" (0 outside {printer._print(entry.base)})"))

    def _numpycode(self, printer) -> str:
        entry, side = self.args
        n = printer._print(side)
        rows, cols = (printer._print(index) for index in entry.indices)
        clip = printer._module_format("numpy.clip")
        inside = f"((0 <= ({rows})) & (({rows}) < {n}) & (0 <= ({cols})) & (({cols}) < {n}))"
        lookup = f"{printer._print(entry.base)}[{clip}({rows}, 0, {n} - 1), {clip}({cols}, 0, {n} - 1)]"
        return f"{printer._module_format('numpy.where')}({inside}, {lookup}, 0.0)"


class Covered(ZeroOutside):
    """ZeroOutside written as the entry alone: for the pooled cell of a map entry, where the
    step says that entries no window covers get 0."""

    def _latex(self, printer) -> str:
        return printer._print(self.args[0])

    def _pretty(self, printer):
        return printer._print(self.args[0])


# ----------------------------------------------------------------------------- NumPy
def conv2d(P: np.ndarray, K: np.ndarray, s: int) -> np.ndarray:
    """Y_ij = Σ_a Σ_b P[i s + a, j s + b] K[a, b]: cross-correlation, the kernel not flipped.
    P or K may carry leading axes of versions of them (the last two are the map)."""
    P, K = np.asarray(P), np.asarray(K)
    (k, l), (rows, columns) = K.shape[-2:], P.strides[-2:]
    shape = (*P.shape[:-2], (P.shape[-2] - k) // s + 1, (P.shape[-1] - l) // s + 1, k, l)
    # patch (i, j) = P[i s:i s + k, j s:j s + l], a view (as sliding_window_view makes, at
    # a third of its cost: the finite differences call this thousands of times)
    patches = np.lib.stride_tricks.as_strided(P, shape, (*P.strides[:-2], rows * s, columns * s, rows, columns), writeable=False)
    return np.einsum("...ijab,...ab->...ij", patches, K)


def windows(Y: np.ndarray, q: int) -> np.ndarray:
    """The q × q pooling windows of Y (stride q; rows and columns past ⌊n/q⌋ q dropped),
    shape (m, m, q q), each window row by row."""
    m = Y.shape[0] // q
    return Y[:m * q, :m * q].reshape(m, q, m, q).transpose(0, 2, 1, 3).reshape(m, m, q * q)


def unpool(grad: np.ndarray, first: np.ndarray | None, q: int, side: int) -> np.ndarray:
    """∂L/∂Y of side `side` from ∂L/∂(pooled): each window's gradient goes to its first
    maximum (`first`, row-major within the window) or, for average pooling (None), 1/q² each."""
    out = np.zeros((side, side))
    for r, c in np.ndindex(grad.shape):
        if first is None:
            out[r * q:(r + 1) * q, c * q:(c + 1) * q] += grad[r, c] / q ** 2
        else:
            row, col = divmod(int(first[r, c]), q)
            out[r * q + row, c * q + col] += grad[r, c]
    return out


def conv2d_backward(P: np.ndarray, K: np.ndarray, dY: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """(∂L/∂K, ∂L/∂P) of Y = conv2d(P, K, s) for ∂L/∂Y = dY: each window adds dY_ij times
    its patch of P to ∂L/∂K, and dY_ij times K to its patch of ∂L/∂P."""
    k = K.shape[0]
    dK, dP = np.zeros(K.shape), np.zeros(P.shape)
    for r, c in np.ndindex(dY.shape):
        dK += dY[r, c] * P[r * s:r * s + k, c * s:c * s + k]
        dP[r * s:r * s + k, c * s:c * s + k] += dY[r, c] * K
    return dK, dP


def kinks(point: Any, routing: Callable[[np.ndarray], Any], batched: bool = False) -> np.ndarray:
    """For a GradientCheck: beside each entry of `point` (so it is skipped) where moving it by
    ±KINK_MARGIN max(1, |x|) changes `routing` (the windows' first maxima), inf elsewhere.
    A `batched` routing takes the moved points stacked on a first axis, and answers for each."""
    from dlsteps.checks import moved_points

    point = np.asarray(point, dtype=float)
    base, out = routing(point), np.full(point.shape, np.inf)
    margin = KINK_MARGIN * np.maximum(1.0, np.abs(point.ravel()))
    changed = np.zeros((2, point.size), dtype=bool)
    for rows, entries, points in moved_points(point, np.stack([-margin, margin])):
        answers = routing(points) if batched else map(routing, points)
        changed[rows, entries] = [not np.array_equal(answer, base) for answer in answers]
    where = changed.any(axis=0).reshape(point.shape)
    out[where] = np.nextafter(point[where], np.inf)
    return out


# ----------------------------------------------------------------------------- handles
@dataclass
class Pooling:
    """Handles of pooling one map: the pooled size m, max pooling, first maxima, average pooling."""

    size: Step
    max: Step
    first: Step
    avg: Step


def _value(handle: Any) -> np.ndarray:
    return np.asarray(handle.value, dtype=float)


def _grad_name(d: Derivation, handle: Any) -> tuple[str, str, str]:
    plain = str(getattr(handle.symbol, "label", handle.symbol))
    shown, latex = d.names.get(plain, (plain, plain))
    return f"dL_d{plain}", f"∂L/∂{shown}", rf"\frac{{\partial L}}{{\partial {latex}}}"


def _surrogate(forward: Callable[[np.ndarray], np.ndarray], delta: Any, point: Any,
               routing: Callable[[np.ndarray], Any] | None = None) -> GradientCheck:
    """Finite differences of Σ δ ⊙ forward(point) with δ fixed, kinks where `routing` changes."""
    weights = np.asarray(getattr(delta, "value", delta), dtype=float)
    point = np.asarray(point, dtype=float)
    return GradientCheck(lambda x: float(np.sum(weights * forward(x))), point,
                         None if routing is None else kinks(point, routing))


# ----------------------------------------------------------------------------- forward
def pad(d: Derivation, X: Any, padding: Any, side: sp.Symbol, *, at: str = "", names: dict | None = None) -> Step:
    """Step padded: P_ij = X_(i-p, j-p) inside X, 0 outside, for the image handle X (n × n,
    `side` = n, a bound size) and the padding handle p (a whole number)."""
    name = Names(d, {"P": "P"}, names)
    P, p = name.array("P"), padding.symbol
    value = np.pad(_value(X), int(padding.value))
    return d.step(f"{at}padded", _("Pad the image with zeros"),
                  explanation=_("p rows and columns of zeros around the image, so the kernel can also sit over its border; with p = 0, P is X."),
                  symbol=P, index=(i, j), formula=ZeroOutside(X.symbol[i - p, j - p], side), value=value,
                  code=f"{P} = np.pad({X.var}, {padding.var})", concept="convolution.pad", display="heatmap")


def output_size(d: Derivation, image: Any, kernel: Any, stride: Any, padding: Any, sides: tuple[sp.Symbol, sp.Symbol], *,
                at: str = "", names: dict | None = None, id: str = "out_size") -> Step:
    """Step `id`: n' = ⌊(n + 2p - k) / s⌋ + 1, the side of the feature map (a whole number), for
    the image and kernel handles; `sides` = (n, k), the size symbols bound to their sides."""
    name = Names(d, {"n_out": ("n_out", "n′", "n'")}, names)
    (n, k), s, p = (np.shape(x.value)[0] for x in (image, kernel)), int(stride.value), int(padding.value)
    size(d, sides[0], n)
    size(d, sides[1], k)
    value = (n + 2 * p - k) // s + 1
    notes = (_("with n = {n}, p = {p}, k = {k}, s = {s}: ⌊({n} + 2·{p} - {k})/{s}⌋ + 1 = ⌊{top}/{s}⌋ + 1 = {value}").format(
        n=n, p=p, k=k, s=s, top=n + 2 * p - k, value=value),)
    if (n + 2 * p - k) % s:
        notes += (_("the last {r} row(s) and column(s) of P are under no window at stride {s}").format(r=(n + 2 * p - k) % s, s=s),)
    plain = name.plain("n_out")
    return d.step(f"{at}{id}", _("Size of the feature map"),
                  explanation=_("The kernel fits at n + 2p - k positions past the first, taken every s-th: n' = ⌊(n + 2p - k)/s⌋ + 1 per side."),
                  symbol=name.scalar("n_out"), formula=sp.floor((sides[0] + 2 * padding.symbol - sides[1]) / stride.symbol) + 1,
                  value=value, var=plain, concept="convolution.output_size", notes=notes,
                  code=f"{plain} = ({image.var}.shape[0] + 2 * {padding.var} - {kernel.var}.shape[0]) // {stride.var} + 1")


def window(d: Derivation, P: Any, K: Any, kernel: sp.Symbol, *, at: str = "", names: dict | None = None,
           target: str = "Y") -> tuple[Step, Step]:
    """Steps window_products (Π_ab = P_ab K_ab, the window at position (0, 0)) and window_sum
    (their sum, entry (0, 0) of the map called `target`); returns both."""
    name = Names(d, {"products": ("Pi", "Π", r"\Pi"), "sum": f"{target}_00"}, names)
    Pi, k = name.array("products"), np.shape(K.value)[0]
    products = _value(P)[:k, :k] * _value(K)
    first = d.step(f"{at}window_products", _("One window: the products, element by element"),
                   explanation=_("The kernel laid over the top-left corner of P: each of its entries times the pixel under it."),
                   symbol=Pi, index=(a, b), formula=P.symbol[a, b] * K.symbol[a, b], value=products,
                   var=name.plain("products"), code=f"{name.plain('products')} = {P.var}[:{K.var}.shape[0], :{K.var}.shape[1]] * {K.var}",
                   concept="convolution.window_products", display="heatmap")
    total_step = d.step(f"{at}window_sum", _("One window: the sum"),
                        explanation=_("The sum of the products is entry (0, 0) of the feature map: how well the window matches the kernel."),
                        symbol=name.scalar("sum"), formula=total(total(Pi[a, b], b, kernel), a, kernel), value=float(products.sum()),
                        var=name.plain("sum"), code=f"{name.plain('sum')} = {name.plain('products')}.sum()",
                        concept="convolution.window_sum", substitute=True)
    return first, total_step


def convolve(d: Derivation, P: Any, K: Any, stride: Any, kernel: sp.Symbol, *, at: str = "", id: str = "conv",
             names: dict | None = None, title: str = "") -> Step:
    """Step `id`: Y_ij = Σ_a Σ_b P_(i s + a, j s + b) K_ab over the k × k kernel (`kernel` = k)."""
    name = Names(d, {"Y": "Y"}, names)
    Y, s = name.array("Y"), stride.symbol
    value = conv2d(_value(P), _value(K), int(stride.value))
    formula = total(total(P.symbol[i * s + a, j * s + b] * K.symbol[a, b], b, kernel), a, kernel)
    code = (f"{Y} = np.array([[np.sum({P.var}[r * {stride.var}:r * {stride.var} + {K.var}.shape[0], c * {stride.var}:c * {stride.var} + {K.var}.shape[0]] * {K.var})\n"
            f"    for c in range({len(value)})] for r in range({len(value)})])")
    return d.step(f"{at}{id}", title or _("Feature map: every window"),
                  explanation=_("Slide the kernel over P, s pixels at a time; at each position, multiply element by element and add. This is cross-correlation: the kernel is not flipped (what deep-learning libraries call convolution)."),
                  symbol=Y, index=(i, j), formula=formula, value=value, var=name.plain("Y"), code=code,
                  concept="convolution.conv", display="heatmap")


def peak(d: Derivation, Y: Any, side: Any, *, at: str = "", id: str = "peak", names: dict | None = None, title: str = "") -> Step:
    """Step `id`: the strongest response max_i max_j Y_ij of a feature map (side n' = `side`)."""
    name = Names(d, {"R": "R"}, names)
    n_out = side.symbol
    return d.step(f"{at}{id}", title or _("Strongest response"),
                  symbol=name.scalar("R"), formula=Maximum(Maximum(Y.symbol[i, j], j, 0, n_out - 1), i, 0, n_out - 1),
                  value=float(_value(Y).max()), var=name.plain("R"), code=f"{name.plain('R')} = {Y.var}.max()",
                  concept="convolution.peak")


# ----------------------------------------------------------------------------- pooling
def pool(d: Derivation, Y: Any, window_size: Any, side: Any, *, at: str = "", names: dict | None = None,
         size_step: Step | None = None, suffix: str = "") -> Pooling:
    """Steps pooled_size (m = ⌊n'/q⌋, unless `size_step` is given), max_pool, first_max and
    avg_pool (each id ending in `suffix`) of the map Y (side n' = `side`) over q × q windows
    (`window_size` = q)."""
    name = Names(d, {"m": M_NAME, "M": "M", "r": "r", "A": "A"}, names)
    q, Yv = window_size.symbol, _value(Y)
    size_step = size_step or pool_size(d, side, window_size, at=at, name=name)
    cells = windows(Yv, int(window_size.value))
    entry = Y.symbol[i * q + u, j * q + v]
    M = d.step(f"{at}max_pool{suffix}", _("Max pooling"), explanation=_("The largest value of each q × q window (windows side by side, stride q)."),
               symbol=name.array("M"), index=(i, j), formula=Maximum(Maximum(entry, v, 0, q - 1), u, 0, q - 1),
               value=cells.max(axis=-1), var=name.plain("M"), code=f"{name.plain('M')} = windows({Y.var}, {window_size.var}).max(axis=-1)",
               concept="convolution.max_pool", display="heatmap", notes=_tie_note(cells))
    first = d.step(f"{at}first_max{suffix}", _("Where each maximum sits"),
                   explanation=_("w = u q + v numbers the window's entries row by row; r is the first w holding the maximum. Max pooling's gradient goes there only."),
                   symbol=name.array("r"), index=(i, j), formula=Argmax(Y.symbol[i * q + Quotient(w, q), j * q + Remainder(w, q)], w, 0, q ** 2 - 1),
                   value=cells.argmax(axis=-1), var=name.plain("r"), code=f"{name.plain('r')} = windows({Y.var}, {window_size.var}).argmax(axis=-1)",
                   concept="convolution.first_max")
    A = d.step(f"{at}avg_pool{suffix}", _("Average pooling"), explanation=_("The mean of each q × q window."),
               symbol=name.array("A"), index=(i, j), formula=total(total(entry, v, q), u, q) / q ** 2, value=cells.mean(axis=-1),
               var=name.plain("A"), code=f"{name.plain('A')} = windows({Y.var}, {window_size.var}).mean(axis=-1)",
               concept="convolution.avg_pool", display="heatmap")
    d.define(windows)
    return Pooling(size_step, M, first, A)


def pool_size(d: Derivation, side: Any, window_size: Any, *, at: str = "", name: Names | None = None) -> Step:
    """Step pooled_size: m = ⌊n'/q⌋ windows per side (the rest dropped, PyTorch's ceil_mode=False)."""
    name = name or Names(d, {"m": M_NAME})
    n_out, q = int(side.value), int(window_size.value)
    dropped = (_("{r} last row(s) and column(s) of the map fit no whole window and are dropped").format(r=n_out % q),) if n_out % q else ()
    return d.step(f"{at}pooled_size", _("Size of the pooled map"),
                  explanation=_("Windows of q × q, side by side: ⌊n'/q⌋ of them per side."),
                  symbol=name.scalar("m"), formula=sp.floor(side.symbol / window_size.symbol), value=n_out // q,
                  var=name.plain("m"), code=f"{name.plain('m')} = {side.var} // {window_size.var}", concept="convolution.pool_size",
                  notes=(_("n' = {n}, q = {q}: ⌊{n}/{q}⌋ = {m}").format(n=n_out, q=q, m=n_out // q),) + dropped)


def _tie_note(cells: np.ndarray) -> tuple[str, ...]:
    """Which windows have a tie for the maximum, computed from the numbers."""
    ties = [(r, c) for r, c in np.ndindex(cells.shape[:2]) if np.sum(cells[r, c] == cells[r, c].max()) > 1]
    if not ties:
        return ()
    places = ", ".join(f"({r}, {c})" for r, c in ties[:6]) + (" …" if len(ties) > 6 else "")
    return (Caution(_("tie for the maximum in window(s) {places}: the gradient goes to the first maximum, row by row (as PyTorch does)").format(places=places)),)


# ----------------------------------------------------------------------------- backward
def flatten(d: Derivation, maps: Sequence[Any], size: Any, *, at: str = "", names: dict | None = None) -> Step:
    """Step flatten: f_l = Σ_c Σ_i Σ_j δ(l, c m² + i m + j) M^c_ij, the maps (m × m, `size` = m)
    one after another, each row by row (PyTorch's channel, row, column order)."""
    name = Names(d, {"f": "f"}, names)
    m = size.symbol
    formula = sum(total(total(sp.KroneckerDelta(l, written_sum(c * m ** 2, written_product(i, m), j)) * M.symbol[i, j], j, m), i, m)
                  for c, M in enumerate(maps))
    value = np.concatenate([_value(M).ravel() for M in maps])
    return d.step(f"{at}flatten", _("Flatten"),
                  explanation=_("The pooled maps one after another, each row by row: entry (i, j) of map c goes to l = c m² + i m + j (PyTorch's order: channel, row, column)."),
                  symbol=name.array("f"), index=(l,), formula=formula, value=value, var=name.plain("f"),
                  code=f"{name.plain('f')} = np.concatenate([" + ", ".join(f"{M.var}.ravel()" for M in maps) + "])",
                  concept="convolution.flatten")


def unflatten(d: Derivation, grad: Any, maps: Sequence[Any], size: Any, *, at: str = "",
              checks: Sequence[GradientCheck | None] = (), ids: Sequence[str] = ()) -> list[Step]:
    """Steps dL_d<map> (or `ids`) for each map: ∂L/∂M^c_ij = ∂L/∂f_(c m² + i m + j), back into
    the maps' shape."""
    m, steps, mv = size.symbol, [], int(size.value)
    for c, M in enumerate(maps):
        gname = _grad_name(d, M)
        check = checks[c] if c < len(checks) and checks[c] is not None else _surrogate(lambda x: x, _value(grad)[c * mv ** 2:(c + 1) * mv ** 2].reshape(mv, mv), _value(M))
        name = Names(d, {"g": gname})
        steps.append(d.step(f"{at}{ids[c] if c < len(ids) else gname[0]}", _("Back into map {c}").format(c=c + 1),
                            explanation=_("Undo the flattening: entry (i, j) of map c receives the gradient of f at l = c m² + i m + j."),
                            symbol=name.array("g"), lhs=sp.Derivative(sp.Symbol("L"), M.symbol[i, j]), index=(i, j),
                            formula=grad.symbol[c * m ** 2 + i * m + j], value=_value(grad)[c * mv ** 2:(c + 1) * mv ** 2].reshape(mv, mv),
                            var=gname[0], code=f"{gname[0]} = {grad.var}[{c * mv ** 2}:{(c + 1) * mv ** 2}].reshape({mv}, {mv})",
                            concept="convolution.unflatten", gradient=check, display="heatmap"))
    return steps


def pool_backward(d: Derivation, Y: Any, pooling: Pooling, grad: Any, window_size: Any, mode: str, *, at: str = "",
                  check: GradientCheck | None = None, names: dict | None = None) -> Step:
    """Step dL_d<Y>: the pooled map's gradient `grad` back to Y, to each window's first maximum
    (`mode` "max") or spread evenly over it ("avg")."""
    name = Names(d, {"g": _grad_name(d, Y)}, names)
    plain = name.plain("g")
    q, m, qv = window_size.symbol, pooling.size.symbol, int(window_size.value)
    cell = (Quotient(i, q), Quotient(j, q))
    first = pooling.first.value if mode == "max" else None
    if mode == "max":
        spot = sp.KroneckerDelta(Covered(pooling.first.symbol[cell], m), Remainder(i, q) * q + Remainder(j, q))
        formula = spot * Covered(grad.symbol[cell], m)
        explanation = _("Entry (i, j) lies in window (⌊i/q⌋, ⌊j/q⌋) at w = (i mod q) q + (j mod q). Only the window's first maximum moved the output, so it alone receives the window's gradient; every other entry gets 0.")
        code_first = pooling.first.var
    else:
        formula = Covered(grad.symbol[cell], m) / q ** 2
        explanation = _("Entry (i, j) lies in window (⌊i/q⌋, ⌊j/q⌋) and counts 1/q² in its mean, so it receives 1/q² of that window's gradient.")
        code_first = "None"
    dropped = int(_value(Y).shape[0]) % qv
    if dropped:
        explanation += " " + _("The last {r} row(s) and column(s) of the map are in no window: their gradient is 0.").format(r=dropped)
    Yv = _value(Y)
    value = unpool(_value(grad), first, qv, Yv.shape[0])
    forward = (lambda x: windows(x, qv).max(axis=-1)) if mode == "max" else (lambda x: windows(x, qv).mean(axis=-1))
    routing = (lambda x: windows(x, qv).argmax(axis=-1)) if mode == "max" else None
    d.define(unpool)
    return d.step(f"{at}{plain}", _("Back through {mode} pooling").format(mode=_("max") if mode == "max" else _("average")),
                  explanation=explanation, symbol=name.array("g"), lhs=sp.Derivative(sp.Symbol("L"), Y.symbol[i, j]), index=(i, j),
                  formula=formula, value=value, var=plain,
                  code=f"{plain} = unpool({grad.var}, {code_first}, {window_size.var}, {len(Yv)})", concept=f"convolution.{mode}_pool_backward",
                  gradient=check or _surrogate(forward, grad, Yv, routing), display="heatmap")


def kernel_gradient(d: Derivation, P: Any, K: Any, dY: Any, stride: Any, side: Any, *, at: str = "",
                    check: GradientCheck | None = None, names: dict | None = None) -> Step:
    """Step dL_d<K>: ∂L/∂K_ab = Σ_i Σ_j ∂L/∂Y_ij P_(i s + a, j s + b) (the map's side n' = `side`)."""
    name = Names(d, {"g": _grad_name(d, K)}, names)
    plain = name.plain("g")
    s, n_out = stride.symbol, side.symbol
    value = conv2d_backward(_value(P), _value(K), _value(dY), int(stride.value))[0]
    d.define(conv2d_backward)
    Pv, sv = _value(P), int(stride.value)
    return d.step(f"{at}{plain}", _("Gradient of the kernel"),
                  explanation=_("K_ab multiplies P_(i s + a, j s + b) in every window (i, j), so its gradient adds ∂L/∂Y_ij times that pixel over all windows: a correlation of P with ∂L/∂Y."),
                  symbol=name.array("g"), lhs=sp.Derivative(sp.Symbol("L"), K.symbol[a, b]), index=(a, b),
                  formula=total(total(written_product(dY.symbol[i, j], P.symbol[i * s + a, j * s + b]), j, n_out), i, n_out), value=value,
                  var=plain, code=f"{plain} = conv2d_backward({P.var}, {K.var}, {dY.var}, {stride.var})[0]",
                  concept="convolution.dL_dK", gradient=check or _surrogate(lambda x: conv2d(Pv, x, sv), dY, _value(K)),
                  display="heatmap")


def kernel_entry(d: Derivation, P: Any, K: Any, dY: Any, stride: Any, side: Any, *, at: str = "",
                 names: dict | None = None, check: GradientCheck | None = None) -> tuple[Step, Step]:
    """Steps kernel_terms (T_ij = ∂L/∂Y_ij P_(i s, j s), every window's term for K_00) and
    kernel_entry (∂L/∂K_00 = Σ_i Σ_j T_ij), one entry of the kernel's gradient written out."""
    plain_k = str(K.symbol.label)
    shown, latex = d.names.get(plain_k, (plain_k, plain_k))
    entry_name = (f"dL_d{plain_k}_00", f"∂L/∂{shown}₀₀", rf"\frac{{\partial L}}{{\partial {latex}_{{00}}}}")
    name = Names(d, {"T": "T", "g00": entry_name}, names)
    s, n_out, sv = stride.symbol, side.symbol, int(stride.value)
    Pv, dYv = _value(P), _value(dY)
    size = len(dYv)
    terms = dYv * Pv[:(size - 1) * sv + 1:sv, :(size - 1) * sv + 1:sv]
    T = name.array("T")
    first = d.step(f"{at}kernel_terms", _("One kernel entry: every window's term"),
                   explanation=_("K_00 meets P_(i s, j s) in window (i, j): that window adds ∂L/∂Y_ij times this pixel to ∂L/∂K_00."),
                   symbol=T, index=(i, j), formula=written_product(dY.symbol[i, j], P.symbol[i * s, j * s]), value=terms, var=name.plain("T"),
                   code=f"{name.plain('T')} = {dY.var} * {P.var}[:{size - 1} * {stride.var} + 1:{stride.var}, :{size - 1} * {stride.var} + 1:{stride.var}]",
                   concept="convolution.kernel_terms", display="heatmap")
    plain = name.plain("g00")
    second = d.step(f"{at}kernel_entry", _("One kernel entry: the sum"),
                    explanation=_("The sum of the terms is entry (0, 0) of the kernel's gradient."),
                    symbol=sp.Symbol(plain), lhs=sp.Derivative(sp.Symbol("L"), K.symbol[0, 0]), formula=total(total(T[i, j], j, n_out), i, n_out),
                    value=float(terms.sum()), var=plain, code=f"{plain} = {name.plain('T')}.sum()", concept="convolution.kernel_entry",
                    substitute=True, gradient=check or _surrogate(lambda x: conv2d(Pv, _entry(_value(K), x), sv), dY, _value(K)[0, 0]))
    return first, second


def _entry(K: np.ndarray, x: Any) -> np.ndarray:
    """K with entry (0, 0) set to x."""
    K = K.copy()
    K[0, 0] = x
    return K


def contribution(d: Derivation, P: Any, K: Any, dY: Any, stride: Any, side: Any, kernel: sp.Symbol, *, at: str = "",
                 id: str = "dL_dP_via", names: dict | None = None, check: GradientCheck | None = None) -> Step:
    """Step `id`: Δ_ij = Σ_u Σ_v ∂L/∂Y_uv K_(i - u s, j - v s) (0 outside K), the part of ∂L/∂P
    that flows back through this kernel: window (u, v) adds ∂L/∂Y_uv K where it lay."""
    name = Names(d, {"D": ("D", "Δ", r"\Delta")}, names)
    s, n_out, sv = stride.symbol, side.symbol, int(stride.value)
    Pv, Kv = _value(P), _value(K)
    value = conv2d_backward(Pv, Kv, _value(dY), sv)[1]
    formula = total(total(dY.symbol[u, v] * ZeroOutside(K.symbol[i - u * s, j - v * s], kernel), v, n_out), u, n_out)
    d.define(conv2d_backward)
    return d.step(f"{at}{id}", _("Gradient of the padded input through one kernel"),
                  explanation=_("P_ij met K_ab in every window (u, v) with i = u s + a, j = v s + b: window (u, v) passes back ∂L/∂Y_uv times the kernel, laid where the window lay."),
                  symbol=name.array("D"), index=(i, j), formula=formula, value=value, var=name.plain("D"),
                  code=f"{name.plain('D')} = conv2d_backward({P.var}, {K.var}, {dY.var}, {stride.var})[1]",
                  concept="convolution.dL_dP", display="heatmap",
                  gradient=check or _surrogate(lambda x: conv2d(x, Kv, sv), dY, Pv))


def input_gradient(d: Derivation, P: Any, parts: Sequence[Step], *, at: str = "", check: GradientCheck | None = None,
                   names: dict | None = None) -> Step:
    """Step dL_d<P>: ∂L/∂P_ij = Σ_c Δ^c_ij, the sum of the kernels' `contribution` steps."""
    name = Names(d, {"g": _grad_name(d, P)}, names)
    plain = name.plain("g")
    value = sum(_value(part) for part in parts)
    return d.step(f"{at}{plain}", _("Gradient of the padded input"),
                  explanation=_("P feeds every kernel, so its gradient adds what flows back through each of them."),
                  symbol=name.array("g"), lhs=sp.Derivative(sp.Symbol("L"), P.symbol[i, j]), index=(i, j),
                  formula=sum(part.symbol[i, j] for part in parts), value=value, var=name.plain("g"),
                  code=f"{name.plain('g')} = " + " + ".join(part.var for part in parts), concept="convolution.dL_dP_sum",
                  display="heatmap", gradient=check)


def crop(d: Derivation, dP: Any, X: Any, padding: Any, *, at: str = "", check: GradientCheck | None = None,
         names: dict | None = None) -> Step:
    """Step dL_d<X>: ∂L/∂X_ij = ∂L/∂P_(i + p, j + p): the padding's own gradient is dropped."""
    name = Names(d, {"g": _grad_name(d, X)}, names)
    plain = name.plain("g")
    p, pv, n = padding.symbol, int(padding.value), np.shape(X.value)[0]
    value = _value(dP)[pv:pv + n, pv:pv + n]
    return d.step(f"{at}{plain}", _("Gradient of the image"),
                  explanation=_("X_ij sits at P_(i+p, j+p); the zeros added around it are not inputs, so their gradient is dropped."),
                  symbol=name.array("g"), lhs=sp.Derivative(sp.Symbol("L"), X.symbol[i, j]), index=(i, j),
                  formula=dP.symbol[i + p, j + p], value=value, var=plain,
                  code=f"{plain} = {dP.var}[{padding.var}:{padding.var} + {n}, {padding.var}:{padding.var} + {n}]",
                  concept="convolution.dL_dX", display="heatmap",
                  gradient=check or GradientCheck(lambda x: float(np.sum(_value(dP) * np.pad(x, pv))), _value(X)))
