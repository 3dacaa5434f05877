"""dlsteps cross-entropy: Information, entropy and cross-entropy (DL101 #7).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log y elementwise (natural log): 0 where x = 0 (0 log 0 = 0), -inf where y = 0 < x."""
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)

def rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log(x / y) elementwise (natural log): 0 where x = 0, +inf where y = 0 < x.
    Where x / y is near 1, log1p((x - y) / y) keeps every digit (x - y is exact there)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(x > 0, y, 1.0)
        ratio = x / y
        logs = np.where(np.abs(ratio - 1) < 0.5, np.log1p((x - y) / y), np.log(ratio))
        return np.where(x > 0, x * logs, 0.0)

def sigmoid(z):
    """σ(z) = 1 / (1 + exp(-z)), as exp(-log(1 + exp(-z))): no exp overflows for any z."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))

# Inputs
p = np.array([0.1, 0.2, 0.3, 0.4])  # p
q = np.array([0.25, 0.25, 0.25, 0.25])  # q
x = np.array([1.0, 2.0, 3.0, 4.0])  # x
v = np.array([4.0, 3.0, 2.0, 1.0])  # v
Qhat = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.8, 0.1, 0.0], [0.6, 0.3, 0.05, 0.05], [0.25, 0.25, 0.25, 0.25], [0.1, 0.1, 0.1, 0.7], [0.5, 0.5, 0.0, 0.0]])  # batch
y = np.array([0.0, 1.0, 2.0, 3.0, 3.0, 1.0])  # labels
phat = np.array([0.999, 0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01, 0.001])  # predictions
b = 2.718281828459045  # base

# 1. Information: the surprise -log p (nats)

# surprise_p: Surprise of each outcome of P
#   Eq(I_P[i], -log(p[i]))
I_P = -np.log(p)
check(I_P, np.array([2.3025850929940455, 1.6094379124341003, 1.2039728043259361, 0.916290731874155]))

# surprise_q: Surprise of each outcome of Q
#   Eq(I_Q[i], -log(q[i]))
I_Q = -np.log(q)
check(I_Q, np.array([1.3862943611198906, 1.3862943611198906, 1.3862943611198906, 1.3862943611198906]))

# 2. Expected value

# expected_x: Expected value E[X]
#   Eq(E_X, Sum(p[i]*x[i], (i, 0, -1 + n)))
E_X = np.sum(p * x)
check(E_X, 3.0)

# expected_v: Expected value E[V]
#   Eq(E_V, Sum(q[i]*v[i], (i, 0, -1 + n)))
E_V = np.sum(q * v)
check(E_V, 2.5)

# 3. Entropy: the expected surprise

# entropy_p_terms: Entropy H(P): terms
#   Eq(h[i], -Piecewise((0, Eq(p[i], 0)), (p[i]*log(p[i]), True)))
h = -xlogy(p, p)
check(h, np.array([0.23025850929940456, 0.3218875824868201, 0.3611918412977808, 0.366516292749662]))

# entropy_p: Entropy H(P)
#   Eq(H_P, Sum(h[i], (i, 0, -1 + n)))
H_P = h.sum()
check(H_P, 1.2798542258336676)

# entropy_q_terms: Entropy H(Q): terms
#   Eq(g[i], -Piecewise((0, Eq(q[i], 0)), (q[i]*log(q[i]), True)))
g = -xlogy(q, q)
check(g, np.array([0.34657359027997264, 0.34657359027997264, 0.34657359027997264, 0.34657359027997264]))

# entropy_q: Entropy H(Q)
#   Eq(H_Q, Sum(g[i], (i, 0, -1 + n)))
H_Q = g.sum()
check(H_Q, 1.3862943611198906)

# 4. Cross-entropy

# cross_entropy_terms: Cross-entropy H(P,Q): terms
#   Eq(c[i], -Piecewise((0, Eq(p[i], 0)), (p[i]*log(q[i]), True)))
c = -xlogy(p, q)
check(c, np.array([0.13862943611198905, 0.2772588722239781, 0.4158883083359672, 0.5545177444479562]))

# cross_entropy: Cross-entropy H(P,Q)
#   Eq(H_PQ, Sum(c[i], (i, 0, -1 + n)))
H_PQ = c.sum()
check(H_PQ, 1.3862943611198904)

# kl_terms: KL divergence KL(P‖Q): terms
#   Eq(r[i], Piecewise((0, Eq(p[i], 0)), (p[i]*log(p[i]/q[i]), True)))
r = rel_entr(p, q)
check(r, np.array([-0.0916290731874155, -0.044628710262841945, 0.054696467038186376, 0.18800145169829427]))

# kl: KL divergence KL(P‖Q)
#   Eq(KL_PQ, Sum(r[i], (i, 0, -1 + n)))
KL_PQ = r.sum()
check(KL_PQ, 0.10644013528622318)

# 5. One-hot target: -log q of the true class

# one_hot: One-hot target of sample 0
#   Eq(t[i], Piecewise((1, Eq(i, y[0])), (0, True)))
t = np.eye(Qhat.shape[1])[int(y[0])]
check(t, np.array([1.0, 0.0, 0.0, 0.0]))

# sample_0: Prediction for sample 0
#   Eq(qhat[i], Qhat[0, i])
qhat = Qhat[0]
check(qhat, np.array([0.7, 0.2, 0.1, 0.0]))

# one_hot_ce_terms: Cross-entropy H(t,q̂): terms
#   Eq(w[i], -Piecewise((0, Eq(t[i], 0)), (t[i]*log(qhat[i]), True)))
w = -xlogy(t, qhat)
check(w, np.array([0.35667494393873245, 0.0, 0.0, 0.0]))

# one_hot_ce: Cross-entropy H(t,q̂)
#   Eq(H_tq, Sum(w[i], (i, 0, -1 + m)))
H_tq = w.sum()
check(H_tq, 0.35667494393873245)

# 6. The batch mean

# sample_losses: Loss of each sample
#   Eq(ell[s], -log(Qhat[s, y[s]]))
ell = -np.log(Qhat[np.arange(len(Qhat)), y.astype(int)])
check(ell, np.array([0.35667494393873245, 0.2231435513142097, 2.995732273553991, 1.3862943611198906, 0.35667494393873245, 0.6931471805599453]))

# batch_mean: Batch mean
#   Eq(L, Sum(ell[s], (s, 0, -1 + N))/N)
L = np.mean(ell)
check(L, 1.0019445424042501)

# 7. CE against MSE as the prediction falls: the losses

# ce_loss: Cross-entropy
#   Eq(CE[i], -log(phat[i]))
CE = -np.log(phat)
check(CE, np.array([0.0010005003335835344, 0.01005033585350145, 0.05129329438755058, 0.10536051565782628, 0.2231435513142097, 0.35667494393873245, 0.5108256237659907, 0.6931471805599453, 0.916290731874155, 1.2039728043259361, 1.6094379124341003, 2.3025850929940455, 2.995732273553991, 4.605170185988091, 6.907755278982137]))

# mse_loss: Squared error
#   Eq(MSE[i], (1 - phat[i])**2)
MSE = (1 - phat) ** 2
check(MSE, np.array([1.0000000000000019e-06, 0.00010000000000000018, 0.0025000000000000044, 0.009999999999999995, 0.03999999999999998, 0.09000000000000002, 0.16000000000000003, 0.25, 0.36, 0.48999999999999994, 0.6400000000000001, 0.81, 0.9025, 0.9801, 0.998001]))

# loss_chart: Chart: the two losses
#   Eq(loss_chart[j, i], Piecewise((CE[i], Eq(j, 0)), (MSE[i], True)))
loss_chart = np.vstack([CE, MSE])
check(loss_chart, np.array([[0.0010005003335835344, 0.01005033585350145, 0.05129329438755058, 0.10536051565782628, 0.2231435513142097, 0.35667494393873245, 0.5108256237659907, 0.6931471805599453, 0.916290731874155, 1.2039728043259361, 1.6094379124341003, 2.3025850929940455, 2.995732273553991, 4.605170185988091, 6.907755278982137], [1.0000000000000019e-06, 0.00010000000000000018, 0.0025000000000000044, 0.009999999999999995, 0.03999999999999998, 0.09000000000000002, 0.16000000000000003, 0.25, 0.36, 0.48999999999999994, 0.6400000000000001, 0.81, 0.9025, 0.9801, 0.998001]]))

# 8. Gradients by the probability p̂

# ce_grad_p: Gradient of CE by p̂
#   Eq(Derivative(CE[i], phat[i]), -1/phat[i])
dCE_dphat = -1 / phat
check(dCE_dphat, np.array([-1.001001001001001, -1.0101010101010102, -1.0526315789473684, -1.1111111111111112, -1.25, -1.4285714285714286, -1.6666666666666667, -2.0, -2.5, -3.3333333333333335, -5.0, -10.0, -20.0, -100.0, -1000.0]))

# mse_grad_p: Gradient of MSE by p̂
#   Eq(Derivative(MSE[i], phat[i]), 2*(-1 + phat[i]))
dMSE_dphat = 2 * (phat - 1)
check(dMSE_dphat, np.array([-0.0020000000000000018, -0.020000000000000018, -0.10000000000000009, -0.19999999999999996, -0.3999999999999999, -0.6000000000000001, -0.8, -1.0, -1.2, -1.4, -1.6, -1.8, -1.9, -1.98, -1.998]))

# 9. Gradients by the logit z of a sigmoid

# logit: The logit z with σ(z) = p̂
#   Eq(z[i], log(phat[i]/(1 - phat[i])))
z = np.log(phat) - np.log1p(-phat)
check(z, np.array([6.906754778648552, 4.59511985013459, 2.9444389791664394, 2.1972245773362196, 1.3862943611198908, 0.8472978603872034, 0.4054651081081643, 0.0, -0.4054651081081643, -0.8472978603872038, -1.3862943611198906, -2.197224577336219, -2.9444389791664403, -4.59511985013459, -6.906754778648553]))

# sigmoid.activation: Sigmoid
#   Eq(sig[i], 1/(1 + exp(-z[i])))
sig = sigmoid(z)
check(sig, np.array([0.999, 0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.10000000000000002, 0.05000000000000001, 0.010000000000000004, 0.0010000000000000002]))

# sigmoid.derivative: Derivative of the activation
#   Eq(Derivative(sig[i], z[i]), (1 - sig[i])*sig[i])
dsig_dz = sig * (1 - sig)
check(dsig_dz, np.array([0.000999000000000001, 0.00990000000000001, 0.04750000000000004, 0.08999999999999998, 0.15999999999999998, 0.21000000000000002, 0.24, 0.25, 0.24, 0.21, 0.16000000000000003, 0.09000000000000002, 0.04750000000000001, 0.009900000000000004, 0.0009990000000000003]))

# ce.delta: CE by the logit: chain rule
#   Eq(dCE_dz[i], dCE_dphat[i]*dsig_dz[i])
dCE_dz = dCE_dphat * dsig_dz
check(dCE_dz, np.array([-0.001000000000000001, -0.01000000000000001, -0.050000000000000044, -0.09999999999999999, -0.19999999999999996, -0.30000000000000004, -0.4, -0.5, -0.6, -0.7, -0.8000000000000002, -0.9000000000000002, -0.9500000000000002, -0.9900000000000004, -0.9990000000000003]))

# ce_grad_z: CE by the logit, simplified
#   Eq(Derivative(CE[i], z[i]), -1 + phat[i])
dCE_dz_simple = phat - 1
check(dCE_dz_simple, np.array([-0.0010000000000000009, -0.010000000000000009, -0.050000000000000044, -0.09999999999999998, -0.19999999999999996, -0.30000000000000004, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9, -0.95, -0.99, -0.999]))

# mse.delta: MSE by the logit: chain rule
#   Eq(dMSE_dz[i], dMSE_dphat[i]*dsig_dz[i])
dMSE_dz = dMSE_dphat * dsig_dz
check(dMSE_dz, np.array([-1.9980000000000036e-06, -0.00019800000000000037, -0.0047500000000000086, -0.01799999999999999, -0.06399999999999997, -0.12600000000000003, -0.192, -0.25, -0.288, -0.294, -0.25600000000000006, -0.16200000000000006, -0.09025000000000001, -0.01960200000000001, -0.0019960020000000006]))

# gradient_chart: Chart: the gradients by the logit
#   Eq(gradient_chart[j, i], Piecewise((dCE_dz[i], Eq(j, 0)), (dMSE_dz[i], True)))
gradient_chart = np.vstack([dCE_dz, dMSE_dz])
check(gradient_chart, np.array([[-0.001000000000000001, -0.01000000000000001, -0.050000000000000044, -0.09999999999999999, -0.19999999999999996, -0.30000000000000004, -0.4, -0.5, -0.6, -0.7, -0.8000000000000002, -0.9000000000000002, -0.9500000000000002, -0.9900000000000004, -0.9990000000000003], [-1.9980000000000036e-06, -0.00019800000000000037, -0.0047500000000000086, -0.01799999999999999, -0.06399999999999997, -0.12600000000000003, -0.192, -0.25, -0.288, -0.294, -0.25600000000000006, -0.16200000000000006, -0.09025000000000001, -0.01960200000000001, -0.0019960020000000006]]))

# table: Table: losses and gradients as p̂ falls
#   Eq(table[i, j], Piecewise((CE[i], Eq(j, 0)), (MSE[i], Eq(j, 1)), (dCE_dphat[i], Eq(j, 2)), (dMSE_dphat[i], Eq(j, 3)), (dCE_dz[i], Eq(j, 4)), (dMSE_dz[i], True)))
table = np.column_stack([CE, MSE, dCE_dphat, dMSE_dphat, dCE_dz, dMSE_dz])
check(table, np.array([[0.0010005003335835344, 1.0000000000000019e-06, -1.001001001001001, -0.0020000000000000018, -0.001000000000000001, -1.9980000000000036e-06], [0.01005033585350145, 0.00010000000000000018, -1.0101010101010102, -0.020000000000000018, -0.01000000000000001, -0.00019800000000000037], [0.05129329438755058, 0.0025000000000000044, -1.0526315789473684, -0.10000000000000009, -0.050000000000000044, -0.0047500000000000086], [0.10536051565782628, 0.009999999999999995, -1.1111111111111112, -0.19999999999999996, -0.09999999999999999, -0.01799999999999999], [0.2231435513142097, 0.03999999999999998, -1.25, -0.3999999999999999, -0.19999999999999996, -0.06399999999999997], [0.35667494393873245, 0.09000000000000002, -1.4285714285714286, -0.6000000000000001, -0.30000000000000004, -0.12600000000000003], [0.5108256237659907, 0.16000000000000003, -1.6666666666666667, -0.8, -0.4, -0.192], [0.6931471805599453, 0.25, -2.0, -1.0, -0.5, -0.25], [0.916290731874155, 0.36, -2.5, -1.2, -0.6, -0.288], [1.2039728043259361, 0.48999999999999994, -3.3333333333333335, -1.4, -0.7, -0.294], [1.6094379124341003, 0.6400000000000001, -5.0, -1.6, -0.8000000000000002, -0.25600000000000006], [2.3025850929940455, 0.81, -10.0, -1.8, -0.9000000000000002, -0.16200000000000006], [2.995732273553991, 0.9025, -20.0, -1.9, -0.9500000000000002, -0.09025000000000001], [4.605170185988091, 0.9801, -100.0, -1.98, -0.9900000000000004, -0.01960200000000001], [6.907755278982137, 0.998001, -1000.0, -1.998, -0.9990000000000003, -0.0019960020000000006]]))

print("dlsteps cross-entropy: all 31 values agree")
