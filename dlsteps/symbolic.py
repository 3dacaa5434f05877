"""SymPy helpers for lessons: index-form operations SymPy lacks, generic in the size.

`Maximum(o[k], k, 0, n - 1)` is max over k of o_k as one expression, however large n
is (``sp.Max(o[0], ..., o[n-1])`` would grow with n and compare its arguments pairwise).
It prints as ``max_k o_k`` and evaluates with NumPy over whole index arrays.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm


class Maximum(sp.Function):
    """max over index = lower .. upper of expr; stays unevaluated."""

    nargs = 4

    def _latex(self, printer) -> str:
        expr, index = self.args[:2]
        return rf"\max_{{{printer._print(index)}}} {printer._print(expr)}"

    def _pretty(self, printer):
        from dlsteps.printers.formulas import subscript

        expr, index = self.args[:2]
        return prettyForm(*printer._print(expr).left("max" + subscript([str(index)]) + " "))

    def _numpycode(self, printer) -> str:
        expr, index, lower, upper = (printer._print(arg) for arg in self.args)
        return f"{printer._module_format('numpy.amax')}([{expr} for {index} in range({lower}, {upper} + 1)], axis=0)"
