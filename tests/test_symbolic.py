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
