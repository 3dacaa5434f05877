"""dlsteps backprop: Backpropagation, step by step (foundation of all of the above (DL101 #1-#25, Easy! DL #8-#9)).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

def sigmoid(z):
    """σ(z) = 1 / (1 + exp(-z)), as exp(-log(1 + exp(-z))): no exp overflows for any z."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))

# Inputs
sizes = np.array([2.0, 2.0, 2.0])  # sizes
x = np.array([0.05, 0.1])  # x
W1 = np.array([[0.15, 0.2], [0.25, 0.3]])  # w1
b1 = np.array([0.35, 0.35])  # b1
W2 = np.array([[0.4, 0.45], [0.5, 0.55]])  # w2
b2 = np.array([0.6, 0.6])  # b2
t = np.array([0.01, 0.99])  # target
lr = 0.5  # lr

# 1. Forward, layer 1 of 2

# l1.linear: Weighted sum
#   Eq(z1[i], b1[i] + Sum(x[k]*W1[i, k], (k, 0, -1 + n0)))
z1 = W1 @ x + b1
check(z1, np.array([0.3775, 0.39249999999999996]))

# l1.activation: Sigmoid
#   Eq(a1[i], 1/(1 + exp(-z1[i])))
a1 = sigmoid(z1)
check(a1, np.array([0.5932699921071872, 0.596884378259767]))

# 2. Forward, layer 2 of 2

# l2.linear: Weighted sum
#   Eq(z2[i], b2[i] + Sum(a1[k]*W2[i, k], (k, 0, -1 + n1)))
z2 = W2 @ a1 + b2
check(z2, np.array([1.10590596705977, 1.2249214040964653]))

# l2.activation: Sigmoid
#   Eq(a2[i], 1/(1 + exp(-z2[i])))
a2 = sigmoid(z2)
check(a2, np.array([0.7513650695523156, 0.7729284653214625]))

# 3. Loss

# loss: Squared-error loss
#   Eq(L, Sum((-a2[i] + t[i])**2, (i, 0, -1 + n2))/2)
L = 0.5 * np.sum((t - a2) ** 2)
check(L, 0.2983711087600026)

# gradient: Gradient of the loss by the output
#   Eq(Derivative(L, a2[i]), -t[i] + a2[i])
dL_da2 = a2 - t
check(dL_da2, np.array([0.7413650695523156, -0.21707153467853746]))

# 4. Backward, layer 2

# l2.derivative: Derivative of the activation
#   Eq(Derivative(a2[i], z2[i]), (1 - a2[i])*a2[i])
fp2 = a2 * (1 - a2)
check(fp2, np.array([0.18681560180895954, 0.17551005281727122]))

# l2.delta: Delta: the gradient at the pre-activation
#   Eq(delta2[i], dL_da2[i]*fp2[i])
delta2 = dL_da2 * fp2
check(delta2, np.array([0.13849856162855698, -0.03809823651655623]))

# l2.dL_dW: Gradient of the weights
#   Eq(Derivative(L, W2[i, j]), a1[j]*delta2[i])
dL_dW2 = np.outer(delta2, a1)
check(dL_dW2, np.array([[0.08216704056423078, 0.08266762784753326], [-0.022602540477475067, -0.02274024221597822]]))

# l2.dL_db: Gradient of the bias
#   Eq(Derivative(L, b2[i]), delta2[i])
dL_db2 = delta2 * 1.0
check(dL_db2, np.array([0.13849856162855698, -0.03809823651655623]))

# l2.dL_dx: Gradient passed to the input
#   Eq(Derivative(L, a1[j]), Sum(delta2[i]*W2[i, j], (i, 0, -1 + n2)))
dL_da1 = W2.T @ delta2
check(dL_da1, np.array([0.03635030639314468, 0.04137032264874471]))

# 5. Backward, layer 1

# l1.derivative: Derivative of the activation
#   Eq(Derivative(a1[i], z1[i]), (1 - a1[i])*a1[i])
fp1 = a1 * (1 - a1)
check(fp1, np.array([0.24130070857232525, 0.2406134172492184]))

# l1.delta: Delta: the gradient at the pre-activation
#   Eq(delta1[i], dL_da1[i]*fp1[i])
delta1 = dL_da1 * fp1
check(delta1, np.array([0.008771354689486937, 0.009954254705217202]))

# l1.dL_dW: Gradient of the weights
#   Eq(Derivative(L, W1[i, j]), delta1[i]*x[j])
dL_dW1 = np.outer(delta1, x)
check(dL_dW1, np.array([[0.00043856773447434685, 0.0008771354689486937], [0.0004977127352608601, 0.0009954254705217202]]))

# l1.dL_db: Gradient of the bias
#   Eq(Derivative(L, b1[i]), delta1[i])
dL_db1 = delta1 * 1.0
check(dL_db1, np.array([0.008771354689486937, 0.009954254705217202]))

# 6. Update

# l1.update_W: Gradient-descent update of W⁽¹⁾
#   Eq(W1_new[i, j], -eta*dL_dW1[i, j] + W1[i, j])
W1_new = W1 - lr * dL_dW1
check(W1_new, np.array([[0.1497807161327628, 0.19956143226552567], [0.24975114363236958, 0.29950228726473915]]))

# l1.update_b: Gradient-descent update of b⁽¹⁾
#   Eq(b1_new[i], -eta*dL_db1[i] + b1[i])
b1_new = b1 - lr * dL_db1
check(b1_new, np.array([0.3456143226552565, 0.3450228726473914]))

# l2.update_W: Gradient-descent update of W⁽²⁾
#   Eq(W2_new[i, j], -eta*dL_dW2[i, j] + W2[i, j])
W2_new = W2 - lr * dL_dW2
check(W2_new, np.array([[0.35891647971788465, 0.4086661860762334], [0.5113012702387375, 0.5613701211079891]]))

# l2.update_b: Gradient-descent update of b⁽²⁾
#   Eq(b2_new[i], -eta*dL_db2[i] + b2[i])
b2_new = b2 - lr * dL_db2
check(b2_new, np.array([0.5307507191857215, 0.6190491182582781]))

# 7. Loss after the update

# after.l1.linear: Weighted sum
#   Eq(z1_new[i], b1_new[i] + Sum(x[k]*W1_new[i, k], (k, 0, -1 + n0)))
z1_new = W1_new @ x + b1_new
check(z1_new, np.array([0.3730595016884472, 0.3874606585554838]))

# after.l1.activation: Sigmoid
#   Eq(a1_new[i], 1/(1 + exp(-z1_new[i])))
a1_new = sigmoid(z1_new)
check(a1_new, np.array([0.5921980545202785, 0.5956712553741957]))

# after.l2.linear: Weighted sum
#   Eq(z2_new[i], b2_new[i] + Sum(a1_new[k]*W2_new[i, k], (k, 0, -1 + n1)))
z2_new = W2_new @ a1_new + b2_new
check(z2_new, np.array([0.9867310602989343, 1.2562327805373659]))

# after.l2.activation: Sigmoid
#   Eq(a2_new[i], 1/(1 + exp(-z2_new[i])))
a2_new = sigmoid(z2_new)
check(a2_new, np.array([0.7284417622337656, 0.7783769203009705]))

# after.loss: Loss after the update
#   Eq(L_new, Sum((-a2_new[i] + t[i])**2, (i, 0, -1 + n2))/2)
L_new = 0.5 * np.sum((t - a2_new) ** 2)
check(L_new, 0.28047144679143016)

# change: Change of the loss
#   Eq(Delta_L, L_new - L)
Delta_L = L_new - L
check(Delta_L, -0.017899661968572456)

print("dlsteps backprop: all 25 values agree")
