"""dlsteps attention: Attention: scores, weights and the context vector (DL101 #19, #20).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

# Inputs
H = np.array([[0.8, 0.2], [0.1, 0.9], [0.5, 0.5]])  # encoder_states
s = np.array([0.7, 0.3])  # decoder_state
W_out = np.array([[0.3, -0.5, -0.9, -1.0], [0.6, 0.8, 0.2, 0.5]])  # wout
dL_do = np.array([0.1, 0.9])  # upstream

# 1. Scores: how well each encoder state matches the decoder state

# scores: Scores (dot products)
#   Eq(e[i], Sum(s[k]*h[i, k], (k, 0, -1 + d)))
e = s @ H.T
check(e, np.array([0.62, 0.34, 0.5]))

# 2. Softmax: the attention weights

# shift: Shift by the largest logit
#   Eq(m, Maximum(e[k], k, 0, -1 + n))
m = e.max()
check(m, 0.62)

# exp: Exponentials
#   Eq(u[i], exp(-m + e[i]))
u = np.exp(e - m)
check(u, np.array([1.0, 0.7557837414557255, 0.8869204367171575]))

# sum: Their sum
#   Eq(Z, Sum(u[k], (k, 0, -1 + n)))
Z = u.sum()
check(Z, 2.642704178172883)

# softmax: Softmax
#   Eq(alpha[i], u[i]/Z)
alpha = u / Z
check(alpha, np.array([0.37840027963000444, 0.2859887791066575, 0.33561094126333807]))

# 3. Weighted sum: the context vector

# context: Weighted sum of the values
#   Eq(c[k], Sum(alpha[i]*h[i, k], (i, 0, -1 + n)))
c = alpha @ H
check(c, np.array([0.4991245722463383, 0.5008754277536617]))

# 4. How the context feeds the output

# combine: Output layer on [c; s]
#   Eq(o[l], Sum(c[k]*W_out[l, k], (k, 0, -1 + d)) + Sum(s[k]*W_out[l, k + d], (k, 0, -1 + d)))
o = W_out @ np.concatenate([c, s])
check(o, np.array([-1.0307003422029293, 0.9901750855507324]))

# 5. Backward: ∂L/∂s (beyond the lecture)

# dL_dc: Gradient of the context
#   Eq(Derivative(L, c[k]), Sum(dL_do[l]*W_out[l, k], (l, 0, -1 + n_o)))
dL_dc = W_out[:, :c.size].T @ dL_do
check(dL_dc, np.array([0.57, 0.67]))

# dL_ds_direct: Gradient of s through [c; s]
#   Eq(g_dir[k], Sum(dL_do[l]*W_out[l, k + d], (l, 0, -1 + n_o)))
g_dir = W_out[:, s.size:].T @ dL_do
check(g_dir, np.array([0.09000000000000001, 0.35]))

# dL_dweights: Gradient of the attention weights
#   Eq(Derivative(L, alpha[i]), Sum(dL_dc[k]*h[i, k], (k, 0, -1 + d)))
dL_dalpha = dL_dc @ H.T
check(dL_dalpha, np.array([0.59, 0.6600000000000001, 0.62]))

# dL_dscores: Gradient of the scores (through the softmax)
#   Eq(Derivative(L, e[i]), (-Sum(alpha[l]*dL_dalpha[l], (l, 0, -1 + n)) + dL_dalpha[i])*alpha[i])
dL_de = alpha * (dL_dalpha - (alpha * dL_dalpha).sum(axis=-1, keepdims=True))
check(dL_de, np.array([-0.011385134599578283, 0.011414514912819767, -2.938031324144064e-05]))

# dL_dquery: Gradient of the query (through the scores)
#   Eq(g_att[k], Sum(dL_de[i]*h[i, k], (i, 0, -1 + n)))
g_att = dL_de @ H
check(g_att, np.array([-0.007981346345001371, 0.007981346345001411]))

# dL_ds: Gradient of the decoder state
#   Eq(Derivative(L, s[k]), g_att[k] + g_dir[k])
dL_ds = g_dir + g_att
check(dL_ds, np.array([0.08201865365499864, 0.3579813463450014]))

print("dlsteps attention: all 13 values agree")
