"""dlsteps softmax: Softmax and the derivative of cross-entropy (DL101 #13 (Softmax와 Cross-Entropy의 미분)).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

# Inputs
o = np.array([2.0, 1.0, 0.1])  # logits
t = np.array([1.0, 0.0, 0.0])  # target

# 1. Softmax

# shift: Shift by the largest logit
#   Eq(m, Maximum(o[k], k, 0, -1 + n))
m = o.max()
check(m, 2.0)

# exp: Exponentials
#   Eq(u[i], exp(-m + o[i]))
u = np.exp(o - m)
check(u, np.array([1.0, 0.36787944117144233, 0.14956861922263506]))

# sum: Their sum
#   Eq(S, Sum(u[k], (k, 0, -1 + n)))
S = u.sum()
check(S, 1.5174480603940774)

# softmax: Softmax
#   Eq(y[i], u[i]/S)
y = u / S
check(y, np.array([0.6590011388859679, 0.24243297070471392, 0.09856589040931818]))

# 2. Jacobian of softmax

# jacobian_quotient: Differentiate (quotient rule)
#   Eq(Derivative(y[i], o[j]), KroneckerDelta(i, j)*exp(-m + o[i])/Sum(exp(-m + o[k]), (k, 0, -1 + n)) - Sum(KroneckerDelta(j, k)*exp(-m + o[k]), (k, 0, -1 + n))*exp(-m + o[i])/Sum(exp(-m + o[k]), (k, 0, -1 + n))**2)
J_quotient = (np.diag(u) * S - np.outer(u, u)) / S ** 2
check(J_quotient, np.array([[0.22471863783296514, -0.15976360379791496, -0.06495503403505018], [-0.15976360379791496, 0.18365922542000124, -0.023895621622086277], [-0.06495503403505018, -0.023895621622086277, 0.08885065565713646]]))

# jacobian: Simplify with y_i
#   Eq(Derivative(y[i], o[j]), (-y[j] + KroneckerDelta(i, j))*y[i])
J = np.diag(y) - np.outer(y, y)
check(J, np.array([[0.22471863783296514, -0.15976360379791496, -0.06495503403505018], [-0.15976360379791496, 0.18365922542000124, -0.023895621622086277], [-0.06495503403505018, -0.023895621622086277, 0.08885065565713646]]))

# 3. Cross-entropy

# log_softmax: Log-probabilities
#   Eq(log(y[k]), o[k] - m - log(S))
log_y = o - m - np.log(S)
check(log_y, np.array([-0.41703001627783354, -1.4170300162778335, -2.3170300162778332]))

# loss: Cross-entropy loss
#   Eq(L, -Sum(log_y[k]*t[k], (k, 0, -1 + n)))
L = -(t * log_y).sum()
check(L, 0.41703001627783354)

# 4. Chain rule

# dL_dy: Loss by each output
#   Eq(Derivative(L, y[k]), -t[k]/y[k])
dL_dy = -t / y
check(dL_dy, np.array([-1.5174480603940774, 0.0, 0.0]))

# chain_terms: Terms of the chain-rule sum
#   Eq(C[k, j], -(-y[j] + KroneckerDelta(j, k))*t[k])
C = -t[:, None] * (np.eye(len(y)) - y[None, :])
check(C, np.array([[-0.3409988611140321, 0.24243297070471392, 0.09856589040931818], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))

# gradient_sum: Sum over k
#   Eq(Derivative(L, o[j]), Sum(C[k, j], (k, 0, -1 + n)))
dL_do_sum = C.sum(axis=0)
check(dL_do_sum, np.array([-0.3409988611140321, 0.24243297070471392, 0.09856589040931818]))

# gradient: Simplify: prediction minus target
#   Eq(Derivative(L, o[j]), y[j] - t[j])
dL_do = y - t
check(dL_do, np.array([-0.3409988611140321, 0.24243297070471392, 0.09856589040931818]))

print("dlsteps softmax: all 12 values agree")
