"""dlsteps.symbolic.exponential stands in for SymPy's exp: the same expressions."""

import sympy as sp

from dlsteps.symbolic import exponential

o, W, x = sp.IndexedBase("o"), sp.IndexedBase("W"), sp.IndexedBase("x")
i, j, k, n = sp.symbols("i j k n", integer=True)
m, z = sp.symbols("m z")


def test_exponential_is_sympy_s_exp_whether_or_not_it_evaluates():
    """Plain arguments (held unevaluated) and arguments SymPy simplifies (evaluated as SymPy
    does): the same expression, to the last node."""
    arguments = [o[i] - m, -z, z / 2, sp.Rational(1, 2) * x[i], W[i, j] * x[j] + o[i] - 3, z**2 - 1, o[i, k] - o[i, j],
                 sp.log(z), 2 * sp.log(z), z + sp.log(m), sp.I * sp.pi, sp.I * sp.pi * z, sp.Integer(0), sp.Float(2.0),
                 z - z, sp.Sum(x[k], (k, 0, n - 1)), sp.exp(z) - 1, sp.pi * z]
    for argument in arguments:
        assert sp.srepr(exponential(argument)) == sp.srepr(sp.exp(argument)), argument
    assert exponential(sp.log(z)) == z and exponential(z + sp.log(m)) == m * sp.exp(z) and exponential(0) == 1

