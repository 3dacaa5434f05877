"""SymPy helpers for lessons and blocks: index-form operations SymPy lacks, generic in the size.

- `Maximum(o[k], k, 0, n - 1)`: max over k of o_k as one expression, however large n is
  (``sp.Max(o[0], ..., o[n-1])`` would grow with n and compare its arguments pairwise);
  printed ``max_k o_k``, evaluated with NumPy over whole index arrays. `Argmax` likewise.
- `Stacked(a, b, *indices)`: the entry of [a; b] (arrays joined along their last axis).
- `Quotient(x, q)`, `Remainder(x, q)`: ⌊x/q⌋ and x mod q of whole numbers (a flat index
  split into row and column), which stay whole numbers in NumPy.
- `in_order(expr)`: a sum or product built unevaluated, printed in the order written.
- `used(formula)`: the symbols, arrays and array entries a formula uses.
- `exponential(x)`, `logarithm(x)`: SymPy's exp(x) and log(x), built without an evaluation
  that cannot change them.
- `without_import(function, module)`: a SymPy function that skips importing a module
  which is not loaded (and so holds nothing the function could meet); `lean_sums()` gives
  SymPy's sums that shortcut.
"""

from __future__ import annotations

import builtins
import functools
import sys
import types

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm


IN_ORDER: set = set()
"""Sums and products marked with `in_order`."""


def in_order(expr: sp.Basic) -> sp.Basic:
    """`expr`, a sum or product built unevaluated (``sp.Add(c, s, evaluate=False)``),
    marked to be printed in the order written. The printers keep the order of any
    unevaluated sum or product whose order is not SymPy's own; one written in SymPy's own
    order needs this mark, or it is printed in the lecture's usual order (plus terms
    first, the number and symbols before functions)."""
    IN_ORDER.add(expr)
    return expr


@functools.lru_cache(maxsize=4096)  # asked when a step is added (its dependencies), then by its checks
def used(formula: sp.Basic) -> frozenset:
    """The free symbols of `formula` (its array entries among them, x[k] as a whole) and
    the arrays (IndexedBase) whose entries it uses."""
    return frozenset({indexed.base for indexed in formula.atoms(sp.Indexed)} | formula.atoms(sp.IndexedBase) | formula.free_symbols)


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


class Stacked(sp.Function):
    """[a; b] at the given indices: arrays a and b (IndexedBase) joined along their last
    axis, e.g. ``Stacked(c, s, k)`` is the k-th entry of [c; s] and ``Stacked(h, x, t, k)``
    the entry (t, k) of the rows [h_t; x_t]. One expression for any sizes, evaluated with
    NumPy's concatenate (a Piecewise on k would evaluate both arrays out of range)."""

    def _latex(self, printer) -> str:
        first, second, *indices = (printer._print(arg) for arg in self.args)
        return rf"\begin{{bmatrix}} {first} \\ {second} \end{{bmatrix}}_{{{','.join(indices)}}}"

    def _pretty(self, printer):
        from dlsteps.printers.formulas import subscript

        first, second, *indices = self.args
        label = f"[{printer._print(first)}; {printer._print(second)}]"
        return prettyForm(label + subscript([str(index) for index in indices]))

    def _numpycode(self, printer) -> str:
        first, second, *indices = (printer._print(arg) for arg in self.args)
        return f"{printer._module_format('numpy.concatenate')}(({first}, {second}), axis=-1)[{', '.join(indices)}]"


class Argmax(sp.Function):
    """argmax over index = lower .. upper of expr (the first index of the largest, as
    np.argmax and torch.argmax); stays unevaluated, evaluates over whole index arrays."""

    nargs = 4

    def _latex(self, printer) -> str:
        expr, index = self.args[:2]
        return rf"\operatorname{{argmax}}_{{{printer._print(index)}}} {printer._print(expr)}"

    def _pretty(self, printer):
        from dlsteps.printers.formulas import subscript

        expr, index = self.args[:2]
        return prettyForm(*printer._print(expr).left("argmax" + subscript([str(index)]) + " "))

    def _numpycode(self, printer) -> str:
        expr, index, lower, upper = (printer._print(arg) for arg in self.args)
        return f"{printer._module_format('numpy.argmax')}([{expr} for {index} in range({lower}, {upper} + 1)], axis=0)"


class Quotient(sp.Function):
    """⌊x / q⌋ for whole numbers (SymPy's floor would evaluate to a float in NumPy)."""

    nargs = 2
    is_integer = True

    def _eval_evalf(self, prec):
        x, q = self.args
        return sp.Float(int(x) // int(q)) if x.is_number and q.is_number else None

    @classmethod
    def eval(cls, x, q):
        if x.is_Integer and q.is_Integer:
            return sp.Integer(int(x) // int(q))
        return None

    def _latex(self, printer) -> str:
        return rf"\left\lfloor {printer._print(self.args[0])} / {printer._print(self.args[1])} \right\rfloor"

    def _sympystr(self, printer) -> str:
        return f"⌊{printer._print(self.args[0])}/{printer._print(self.args[1])}⌋"

    def _pretty(self, printer):
        return prettyForm(f"⌊{sp.sstr(self.args[0])}/{sp.sstr(self.args[1])}⌋")

    def _numpycode(self, printer) -> str:
        return f"(({printer._print(self.args[0])}) // ({printer._print(self.args[1])}))"


class Remainder(sp.Function):
    """x mod q for whole numbers."""

    nargs = 2
    is_integer = True

    @classmethod
    def eval(cls, x, q):
        if x.is_Integer and q.is_Integer:
            return sp.Integer(int(x) % int(q))
        return None

    def _latex(self, printer) -> str:
        return rf"\left({printer._print(self.args[0])} \bmod {printer._print(self.args[1])}\right)"

    def _sympystr(self, printer) -> str:
        return f"({printer._print(self.args[0])}%{printer._print(self.args[1])})"

    def _pretty(self, printer):
        return prettyForm(f"({sp.sstr(self.args[0])} mod {sp.sstr(self.args[1])})")

    def _numpycode(self, printer) -> str:
        return f"(({printer._print(self.args[0])}) % ({printer._print(self.args[1])}))"


PLAIN = (sp.Add, sp.Mul, sp.Pow, sp.Symbol, sp.Indexed, sp.IndexedBase, sp.Rational, Maximum)
"""What a plain argument is made of: sums, products and powers of symbols, array entries,
exact numbers and maxima over an index (no other function, no float, no π or i)."""


def _plain(x: sp.Basic) -> bool:
    """Whether x is made of PLAIN nodes only and has a symbol."""
    return bool(x.free_symbols) and all(isinstance(node, PLAIN) for node in sp.preorder_traversal(x))


def exponential(x: sp.Expr) -> sp.Expr:
    """exp(x), the expression SymPy builds. Held unevaluated where x is plain (PLAIN) and
    has a symbol: SymPy's evaluation looks there for a log, a multiple of πi or a zero
    sum, finds none, and costs 0.5-1.5 ms a formula, taking exp of every term of a sum."""
    x = sp.sympify(x)
    return sp.exp(x, evaluate=not _plain(x))


def logarithm(x: sp.Expr) -> sp.Expr:
    """log(x), the expression SymPy builds. Held unevaluated where x is a sum of
    exponentials of plain arguments over a range not known to be empty (the denominator
    of a softmax): SymPy's evaluation asks at length whether it is zero, a number or
    imaginary (4 ms), and it is none of them."""
    x = sp.sympify(x)
    softmax_sum = isinstance(x, sp.Sum) and isinstance(x.function, sp.exp) and _plain(x.function.args[0]) and x.has_empty_sequence is not True
    return sp.log(x, evaluate=not softmax_sum)


class _NotLoaded(types.ModuleType):
    """Stands in for a module that is not loaded: each name asked of it is a class of its
    own, of which nothing is an instance (no object of a module not loaded can exist)."""

    def __getattr__(self, name: str) -> type:
        stand_in = type(name, (), {})
        setattr(self, name, stand_in)
        return stand_in


def without_import(function: types.FunctionType, module: str) -> types.FunctionType:
    """`function` with its ``from <module> import ...`` answered by a stand-in while
    `module` is not loaded, by the module itself once anything has loaded it. Where the
    function imports the module only to ask whether an object is one of its classes, the
    stand-in gives the same answer (no), without the import."""
    stand_in = _NotLoaded(module)

    def importer(name, globals=None, locals=None, fromlist=(), level=0):
        if name == module and name not in sys.modules:
            return stand_in
        return builtins.__import__(name, globals, locals, fromlist, level)

    space = {**function.__globals__, "__builtins__": {**vars(builtins), "__import__": importer}}
    return types.FunctionType(function.__code__, space, function.__name__, function.__defaults__, function.__closure__)


def lean_sums() -> None:
    """SymPy's sums without their import of tensors: ``Add.flatten`` imports
    `sympy.tensor.tensor` at the first sum it evaluates, only to ask whether a term is a
    tensor expression, and that import builds SymPy's polyhedral groups (15-20 ms, 4% of
    a lesson's run). While no tensor module is loaded no term can be one, so the answer
    is the same without it (see `without_import`). Called once per process, before a
    lesson derives; harmless if called again."""
    if getattr(sp.Add.flatten, "lean", False):
        return
    lean = without_import(sp.Add.flatten.__func__, "sympy.tensor.tensor")
    lean.lean = True
    sp.Add.flatten = classmethod(lean)
