"""Index and size symbols that blocks and lessons share, and the caller's names for symbols.

Indices are integer symbols and never bound to a number; sizes are positive integers,
bound to the actual size once per derivation (`size`). `Names` turns a block's default
names, overridden by the caller's, into SymPy symbols with their display names.
`written_sum` and `written_product` keep a sum or product in the lecture's order when
printed (Σ_k W_jk x_k + b_j, f⋅C + i⋅C̃, (1 - m)⋅μ̄ + m⋅μ), whatever SymPy's own order.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlsteps.model import Derivation
from dlsteps.symbolic import in_order

i, j, k, l, s, t = sp.symbols("i j k l s t", integer=True, nonnegative=True)
n, m, N, D, H, T = sp.symbols("n m N d H T", integer=True, positive=True)

Name = str | tuple[str, str, str]
"""A symbol's name: plain (also its code variable), or (plain, Unicode, LaTeX)."""


def size(d: Derivation, symbol: sp.Symbol, value: int) -> sp.Symbol:
    """Bind a size symbol to `value` (again to the same value is fine); returns it."""
    d.bind(symbol, int(value))
    return symbol


def total(expr: sp.Expr, index: sp.Symbol, count: sp.Expr) -> sp.Sum:
    """Σ of `expr` over `index` = 0 .. count - 1."""
    return sp.Sum(expr, (index, 0, count - 1))


def written_sum(*terms: Any) -> sp.Expr:
    """terms[0] + terms[1] + …, printed in this order (the lecture's), not SymPy's; the
    value is the same sum. Zero terms are left out (a missing bias)."""
    terms = tuple(term for term in terms if not (isinstance(term, (int, sp.Integer)) and term == 0))
    return terms[0] if len(terms) == 1 else in_order(sp.Add(*terms, evaluate=False))


def written_product(*factors: Any) -> sp.Expr:
    """factors[0]⋅factors[1]⋅…, printed in this order (the lecture's: f⋅C, δ⋅x, (1 - m)⋅μ̄),
    not SymPy's; the value is the same product."""
    return in_order(sp.Mul(*factors, evaluate=False))


class Names:
    """The symbols a block introduces: its defaults, overridden by the caller's `names`."""

    def __init__(self, d: Derivation, defaults: dict[str, Name], names: dict[str, Name] | None = None) -> None:
        unknown = set(names or {}) - set(defaults)
        if unknown:
            raise TypeError(f"unknown names {sorted(unknown)}; this block names {sorted(defaults)}")
        self.d, self.chosen = d, {**defaults, **(names or {})}

    def _declare(self, role: str) -> str:
        name = self.chosen[role]
        if isinstance(name, tuple):
            self.d.name(sp.Symbol(name[0]), name[1], name[2])
            return name[0]
        return name

    def array(self, role: str) -> sp.IndexedBase:
        """An IndexedBase (vector or matrix) for `role`."""
        return sp.IndexedBase(self._declare(role))

    def scalar(self, role: str) -> sp.Symbol:
        """A Symbol for `role`."""
        return sp.Symbol(self._declare(role))

    def plain(self, role: str) -> str:
        """The plain name chosen for `role` (also its code variable)."""
        name = self.chosen[role]
        return name[0] if isinstance(name, tuple) else name


def at_index(symbol: Any, *indices: Any) -> Any:
    """`symbol[indices]` for an array symbol, the symbol itself for a scalar."""
    return symbol[indices] if indices and isinstance(symbol, sp.IndexedBase) else symbol
