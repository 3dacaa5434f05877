"""dlsteps.symbolic.exponential stands in for SymPy's exp: the same expressions."""

import sympy as sp

from dlsteps.symbolic import Maximum, exponential

o, W, x = sp.IndexedBase("o"), sp.IndexedBase("W"), sp.IndexedBase("x")
i, j, k, n = sp.symbols("i j k n", integer=True)
m, z = sp.symbols("m z")


def test_exponential_is_sympy_s_exp_whether_or_not_it_evaluates():
    """Plain arguments (held unevaluated) and arguments SymPy simplifies (evaluated as SymPy
    does): the same expression, to the last node."""
    arguments = [o[i] - m, -z, z / 2, sp.Rational(1, 2) * x[i], W[i, j] * x[j] + o[i] - 3, z**2 - 1, o[i, k] - o[i, j],
                 sp.log(z), 2 * sp.log(z), z + sp.log(m), sp.I * sp.pi, sp.I * sp.pi * z, sp.Integer(0), sp.Float(2.0),
                 z - z, sp.Sum(x[k], (k, 0, n - 1)), sp.exp(z) - 1, sp.pi * z, o[k] - Maximum(o[j], j, 0, n - 1),
                 sp.log(z) - Maximum(o[j], j, 0, n - 1)]
    for argument in arguments:
        assert sp.srepr(exponential(argument)) == sp.srepr(sp.exp(argument)), argument
    assert exponential(sp.log(z)) == z and exponential(z + sp.log(m)) == m * sp.exp(z) and exponential(0) == 1



def test_logarithm_is_sympy_s_log_whether_or_not_it_evaluates():
    """The log of a softmax's denominator (held unevaluated) and of anything else, an empty
    sum or a sum of numbers among them (evaluated as SymPy does): the same expression."""
    from dlsteps.symbolic import logarithm

    V = sp.Symbol("V", integer=True, positive=True)
    arguments = [sp.Sum(sp.exp(o[k] - m), (k, 0, V - 1)), sp.Sum(sp.exp(W[i, k] - o[i]), (k, 0, n - 1)),
                 sp.Sum(sp.exp(o[k] - Maximum(o[j], j, 0, V - 1)), (k, 0, V - 1)),
                 sp.Sum(sp.exp(k), (k, 0, 2)), sp.Sum(sp.exp(o[k]), (k, 3, 1)), sp.Sum(sp.exp(sp.log(x[k])), (k, 0, n - 1)),
                 sp.Sum(o[k], (k, 0, n - 1)), sp.exp(z), x[i], sp.Integer(1), sp.E, z * sp.I]
    for argument in arguments:
        assert sp.srepr(logarithm(argument)) == sp.srepr(sp.log(argument)), argument
    assert logarithm(sp.exp(sp.Rational(1, 2))) == sp.Rational(1, 2)


SUMS = """
import sys
import sympy as sp
from dlsteps import symbolic
if sys.argv[1] == "lean":
    symbolic.lean_sums()
    symbolic.lean_sums()  # a second call changes nothing
x, y, z = sp.symbols("x y z")
o, k, n = sp.IndexedBase("o"), sp.Symbol("k", integer=True), sp.Symbol("n", integer=True)
sums = [x + y, x + x, 2 + x - 2, sp.Rational(1, 2) + x / 3, sp.oo + x, sp.nan + x, sp.I + 1 + x, x * y + y * x,
        sp.Sum(o[k], (k, 0, n - 1)) + o[0], sp.exp(x) + sp.exp(x), sp.Float(0.1) + sp.Rational(1, 3),
        sp.AccumBounds(0, 1) + x, sp.MatrixSymbol("A", 2, 2) + sp.MatrixSymbol("B", 2, 2), sp.Add(y, x, evaluate=False) + z]
print("tensor loaded:", "sympy.tensor.tensor" in sys.modules)
print(*map(sp.srepr, sums), sep="\\n")
from sympy.tensor.tensor import TensorIndexType, tensor_heads, tensor_indices
L = TensorIndexType("L")
i = tensor_indices("i", L)
A, B = tensor_heads("A B", [L])
print(sp.srepr(A(i) + B(i) + A(i)), sp.srepr(x + y + x), sep="\\n")
"""


def test_lean_sums_are_sympy_s_sums_without_loading_tensors():
    """SymPy's Add skips its import of sympy.tensor.tensor while that module is not loaded:
    the same sums (numbers, infinities, matrices, bounds, unevaluated ones), and tensor sums
    still work once tensors are loaded."""
    import subprocess
    import sys

    runs = {mode: subprocess.run([sys.executable, "-c", SUMS, mode], capture_output=True, text=True, timeout=120)
            for mode in ("sympy", "lean")}
    assert all(run.returncode == 0 for run in runs.values()), runs
    assert runs["lean"].stdout.splitlines()[0] == "tensor loaded: False"
    assert runs["sympy"].stdout.splitlines()[0] == "tensor loaded: True"  # SymPy's own Add loads it at the first sum
    assert runs["lean"].stdout.splitlines()[1:] == runs["sympy"].stdout.splitlines()[1:]
    assert "TensAdd" in runs["lean"].stdout.splitlines()[-2]


def test_a_lesson_loads_neither_tensors_nor_units():
    """A lesson's run, printed in every format, needs neither module its SymPy functions import."""
    import subprocess
    import sys

    probe = ("import sys\nfrom dlsteps import engine, formats\nd = engine.run('lstm')\n"
             "for name in ('terminal', 'json', 'markdown', 'latex'): formats.as_text(d, name)\n"
             "print(sorted(m for m in ('sympy.tensor.tensor', 'sympy.physics.units') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr

