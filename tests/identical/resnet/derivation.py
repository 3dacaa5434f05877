"""dlsteps resnet: ResNet: a skip connection against the vanishing gradient (DL101 #25 (ResNet 잔차신경망)).

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
x = 0.5  # x
w1 = 0.1  # w1
w2 = 0.1  # w2
w3 = 0.1  # w3
t = 0.0  # target
N = 3  # layers

# 1. Scenario 1: the plain network, forward

# plain.l1.linear: Weighted sum
#   Eq(z1, w1*x)
z1 = w1 * x
check(z1, 0.05)

# plain.l1.activation: Sigmoid
#   Eq(a1, 1/(1 + exp(-z1)))
a1 = sigmoid(z1)
check(a1, 0.5124973964842103)

# plain.l2.linear: Weighted sum
#   Eq(z2, a1*w2)
z2 = w2 * a1
check(z2, 0.051249739648421035)

# plain.l2.activation: Sigmoid
#   Eq(a2, 1/(1 + exp(-z2)))
a2 = sigmoid(z2)
check(a2, 0.5128096312885546)

# plain.l3.linear: Weighted sum
#   Eq(z3, a2*w3)
z3 = w3 * a2
check(z3, 0.05128096312885547)

# plain.l3.activation: Sigmoid
#   Eq(a3, 1/(1 + exp(-z3)))
a3 = sigmoid(z3)
check(a3, 0.5128174320321861)

# plain.loss: Squared-error loss
#   Eq(L, (t - a3)**2)
L = np.mean((t - a3) ** 2)
check(L, 0.2629817185960858)

# plain.gradient: Gradient of the loss by the output
#   Eq(Derivative(L, a3), 2*(a3 - t))
dL_da3 = 2 * (a3 - t) / np.size(a3)
check(dL_da3, 1.0256348640643722)

# 2. Scenario 1: backward, from the output to the input

# plain.l3.derivative: Derivative of the activation
#   Eq(Derivative(a3, z3), a3*(1 - a3))
s3 = a3 * (1 - a3)
check(s3, 0.24983571343610028)

# plain.l3.delta: Delta: the gradient at the pre-activation
#   Eq(delta3, dL_da3*s3)
delta3 = dL_da3 * s3
check(delta3, 0.25624021798846014)

# plain.l3.dL_dW: Gradient of the weights
#   Eq(Derivative(L, w3), a2*delta3)
dL_dw3 = delta3 * a2
check(dL_dw3, 0.1314024517079611)

# plain.l3.dL_dx: Gradient passed to the input
#   Eq(Derivative(L, a2), delta3*w3)
dL_da2 = delta3 * w3
check(dL_da2, 0.025624021798846014)

# plain.l2.derivative: Derivative of the activation
#   Eq(Derivative(a2, z2), a2*(1 - a2))
s2 = a2 * (1 - a2)
check(s2, 0.24983591334625127)

# plain.l2.delta: Delta: the gradient at the pre-activation
#   Eq(delta2, dL_da2*s2)
delta2 = dL_da2 * s2
check(delta2, 0.006401800889718946)

# plain.l2.dL_dW: Gradient of the weights
#   Eq(Derivative(L, w2), a1*delta2)
dL_dw2 = delta2 * a1
check(dL_dw2, 0.0032809062887912614)

# plain.l2.dL_dx: Gradient passed to the input
#   Eq(Derivative(L, a1), delta2*w2)
dL_da1 = delta2 * w2
check(dL_da1, 0.0006401800889718947)

# plain.l1.derivative: Derivative of the activation
#   Eq(Derivative(a1, z1), a1*(1 - a1))
s1 = a1 * (1 - a1)
check(s1, 0.24984381508111644)

# plain.l1.delta: Delta: the gradient at the pre-activation
#   Eq(delta1, dL_da1*s1)
delta1 = dL_da1 * s1
check(delta1, 0.00015994503576770674)

# plain.l1.dL_dW: Gradient of the weights
#   Eq(Derivative(L, w1), delta1*x)
dL_dw1 = delta1 * x
check(dL_dw1, 7.997251788385337e-05)

# plain.chain: ∂L/∂w₁ as one product of its factors
#   Eq(Derivative(L, w1), dL_da3*s1*s2*s3*w2*w3*x)
chain_w1 = dL_da3*s1*s2*s3*w2*w3*x
check(chain_w1, 7.997251788385337e-05)

# plain.ratio: Ratio ∂/∂w₁ ÷ ∂/∂w₃
#   Eq(ratio, dL_dw1/dL_dw3)
ratio = dL_dw1 / dL_dw3
check(ratio, 0.0006086075019482165)

# 3. Scenario 2: with the skip connection, forward

# skip.l1.linear: Weighted sum
#   Eq(rz1, w1*x)
rz1 = w1 * x
check(rz1, 0.05)

# skip.l1.activation: Sigmoid
#   Eq(ra1, 1/(1 + exp(-rz1)))
ra1 = sigmoid(rz1)
check(ra1, 0.5124973964842103)

# skip.l2.linear: Weighted sum
#   Eq(rz2, ra1*w2)
rz2 = w2 * ra1
check(rz2, 0.051249739648421035)

# skip.l2.activation: Sigmoid
#   Eq(ra2, 1/(1 + exp(-rz2)))
ra2 = sigmoid(rz2)
check(ra2, 0.5128096312885546)

# skip.l3.linear: Weighted sum
#   Eq(rz3, ra2*w3)
rz3 = w3 * ra2
check(rz3, 0.05128096312885547)

# skip.l3.activation: Sigmoid
#   Eq(rh3, 1/(1 + exp(-rz3)))
rh3 = sigmoid(rz3)
check(rh3, 0.5128174320321861)

# skip.residual: The skip connection
#   Eq(ra3, ra1 + rh3)
ra3 = rh3 + ra1
check(ra3, 1.0253148285163964)

# skip.loss: Squared-error loss
#   Eq(Lr, (t - ra3)**2)
Lr = np.mean((t - ra3) ** 2)
check(Lr, 1.0512704975756075)

# skip.gradient: Gradient of the loss by the output
#   Eq(Derivative(Lr, ra3), 2*(ra3 - t))
dLr_da3 = 2 * (ra3 - t) / np.size(ra3)
check(dLr_da3, 2.050629657032793)

# 4. Scenario 2: backward, from the output to the input

# skip.l3.derivative: Derivative of the activation
#   Eq(Derivative(rh3, rz3), rh3*(1 - rh3))
rs3 = rh3 * (1 - rh3)
check(rs3, 0.24983571343610028)

# skip.l3.delta: Delta: the gradient at the pre-activation
#   Eq(rdelta3, dLr_da3*rs3)
rdelta3 = dLr_da3 * rs3
check(rdelta3, 0.5123205233580135)

# skip.l3.dL_dW: Gradient of the weights
#   Eq(Derivative(Lr, w3), ra2*rdelta3)
dLr_dw3 = rdelta3 * ra2
check(dLr_dw3, 0.2627228986847822)

# skip.l3.dL_dx: Gradient passed to the input
#   Eq(Derivative(Lr, ra2), rdelta3*w3)
dLr_da2 = rdelta3 * w3
check(dLr_da2, 0.05123205233580135)

# skip.l2.derivative: Derivative of the activation
#   Eq(Derivative(ra2, rz2), ra2*(1 - ra2))
rs2 = ra2 * (1 - ra2)
check(rs2, 0.24983591334625127)

# skip.l2.delta: Delta: the gradient at the pre-activation
#   Eq(rdelta2, dLr_da2*rs2)
rdelta2 = dLr_da2 * rs2
check(rdelta2, 0.012799606587917877)

# skip.l2.dL_dW: Gradient of the weights
#   Eq(Derivative(Lr, w2), ra1*rdelta2)
dLr_dw2 = rdelta2 * ra1
check(dLr_dw2, 0.006559765052330059)

# skip.l2.dL_dx: Gradient passed to the input
#   Eq(dLr_da1_layers, rdelta2*w2)
dLr_da1_layers = rdelta2 * w2
check(dLr_da1_layers, 0.0012799606587917877)

# skip.shortcut: Both paths into ã₁
#   Eq(Derivative(Lr, ra1), dLr_da1_layers + dLr_da3)
dLr_da1 = dLr_da1_layers + dLr_da3
check(dLr_da1, 2.0519096176915848)

# skip.l1.derivative: Derivative of the activation
#   Eq(Derivative(ra1, rz1), ra1*(1 - ra1))
rs1 = ra1 * (1 - ra1)
check(rs1, 0.24984381508111644)

# skip.l1.delta: Delta: the gradient at the pre-activation
#   Eq(rdelta1, dLr_da1*rs1)
rdelta1 = dLr_da1 * rs1
check(rdelta1, 0.5126569270857007)

# skip.l1.dL_dW: Gradient of the weights
#   Eq(Derivative(Lr, w1), rdelta1*x)
dLr_dw1 = rdelta1 * x
check(dLr_dw1, 0.2563284635428503)

# skip.chain: ∂L̃/∂w₁ as one product of its factors
#   Eq(Derivative(Lr, w1), rs1*x*(dLr_da3 + dLr_da3*rs2*rs3*w2*w3))
chainr_w1 = rs1*x*(dLr_da3*rs2*rs3*w2*w3 + dLr_da3)
check(chainr_w1, 0.2563284635428503)

# skip.ratio: Ratio ∂/∂w₁ ÷ ∂/∂w₃
#   Eq(rratio, dLr_dw1/dLr_dw3)
rratio = dLr_dw1 / dLr_dw3
check(rratio, 0.9756609143171643)

# 5. Side by side

# compare: Skip ratio ÷ plain ratio
#   Eq(gain, rratio/ratio)
gain = rratio / ratio
check(gain, 1603.1036607238182)

print("dlsteps resnet: all 45 values agree")
