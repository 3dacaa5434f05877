"""dlsteps batchnorm: Batch normalization and the vanishing gradient (Easy! DL #9 (배치 정규화, vanishing gradient)).

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
x = np.array([[2.0, 10.0], [4.0, 6.0], [6.0, 7.0], [8.0, 13.0]])  # x
gamma = np.array([1.0, 1.0])  # gamma
beta = np.array([0.0, 0.0])  # beta
g = np.array([[0.1, -0.2], [-0.3, 0.4], [0.2, 0.1], [0.4, -0.3]])  # upstream
mu_bar = np.array([0.0, 0.0])  # running_mean
var_bar = np.array([1.0, 1.0])  # running_var
eps = 1e-05  # eps
momentum = 0.1  # momentum
K = 10  # depth

# 1. Batch statistics

# mean: Mean of each feature over the batch
#   Eq(mu[j], Sum(x[b, j], (b, 0, -1 + B))/B)
mu = x.mean(axis=0)
check(mu, np.array([5.0, 9.0]))

# variance: Variance of each feature over the batch
#   Eq(sigma2[j], Sum((-mu[j] + x[b, j])**2, (b, 0, -1 + B))/B)
sigma2 = ((x - mu) ** 2).mean(axis=0)
check(sigma2, np.array([5.0, 7.5]))

# normalize: Normalize
#   Eq(xhat[b, j], (-mu[j] + x[b, j])/sqrt(epsilon + sigma2[j]))
xhat = (x - mu) / np.sqrt(sigma2 + eps)
check(xhat, np.array([[-1.3416394448610998, 0.3651481282381064], [-0.4472131482870333, -1.0954443847143192], [0.4472131482870333, -0.7302962564762128], [1.3416394448610998, 1.4605925129524255]]))

# scale_shift: Scale and shift with γ and β
#   Eq(y[b, j], gamma[j]*xhat[b, j] + beta[j])
y = gamma * xhat + beta
check(y, np.array([[-1.3416394448610998, 0.3651481282381064], [-0.4472131482870333, -1.0954443847143192], [0.4472131482870333, -0.7302962564762128], [1.3416394448610998, 1.4605925129524255]]))

# 2. Backward through the batch statistics

# loss: The loss that the upstream gradient stands for
#   Eq(L, Sum(g[b, j]*y[b, j], (j, 0, -1 + d), (b, 0, -1 + B)))
L = (g * y).sum()
check(L, -0.3963163514648512)

# grad_beta: Gradient of the shift β
#   Eq(Derivative(L, beta[j]), Sum(g[b, j], (b, 0, -1 + B)))
dL_dbeta = g.sum(axis=0)
check(dL_dbeta, np.array([0.4, 5.551115123125783e-17]))

# grad_gamma: Gradient of the scale γ
#   Eq(Derivative(L, gamma[j]), Sum(g[b, j]*xhat[b, j], (b, 0, -1 + B)))
dL_dgamma = (g * xhat).sum(axis=0)
check(dL_dgamma, np.array([0.6260984076018467, -1.0224147590666979]))

# grad_xhat: Gradient at the normalized values
#   Eq(Derivative(L, xhat[b, j]), gamma[j]*g[b, j])
dL_dxhat = g * gamma
check(dL_dxhat, np.array([[0.1, -0.2], [-0.3, 0.4], [0.2, 0.1], [0.4, -0.3]]))

# grad_var: Gradient of the batch variance
#   Eq(Derivative(L, sigma2[j]), Sum(-(-mu[j] + x[b, j])*dL_dxhat[b, j]/(2*(epsilon + sigma2[j])**(3/2)), (b, 0, -1 + B)))
dL_dsigma2 = (dL_dxhat * (x - mu) * -0.5 * (sigma2 + eps) ** -1.5).sum(axis=0)
check(dL_dsigma2, np.array([-0.06260971554075359, 0.06816089305658912]))

# grad_mean: Gradient of the batch mean
#   Eq(Derivative(L, mu[j]), dL_dsigma2[j]*Sum((-2*x[b, j] + 2*mu[j])/B, (b, 0, -1 + B)) + Sum(-dL_dxhat[b, j]/sqrt(epsilon + sigma2[j]), (b, 0, -1 + B)))
dL_dmu = (dL_dxhat * (-1 / np.sqrt(sigma2 + eps))).sum(axis=0) + dL_dsigma2 * (-2 * (x - mu) / x.shape[0]).sum(axis=0)
check(dL_dmu, np.array([-0.17888525931481336, 0.0]))

# grad_x_paper: Gradient of the inputs: three paths
#   Eq(Derivative(L, x[b, j]), dL_dmu[j]/B + dL_dxhat[b, j]/sqrt(epsilon + sigma2[j]) + 2*(-mu[j] + x[b, j])*dL_dsigma2[j]/B)
dL_dx_paper = dL_dxhat / np.sqrt(sigma2 + eps) + dL_dsigma2 * 2 * (x - mu) / x.shape[0] + dL_dmu / x.shape[0]
check(dL_dx_paper, np.array([[0.09391457331113037, -0.038949179119326716], [-0.14758040154443652, 0.04381791171035887], [0.01341645705832653, -0.031646080232778484], [0.040249371174979606, 0.02677734764174633]]))

# grad_x: Gradient of the inputs, in one formula
#   Eq(Derivative(L, x[b, j]), (-Sum(dL_dxhat[bʹ, j], (bʹ, 0, -1 + B)) + B*dL_dxhat[b, j] - xhat[b, j]*Sum(dL_dxhat[bʹ, j]*xhat[bʹ, j], (bʹ, 0, -1 + B)))/(B*sqrt(epsilon + sigma2[j])))
dL_dx = (x.shape[0] * dL_dxhat - dL_dxhat.sum(axis=0) - xhat * (dL_dxhat * xhat).sum(axis=0)) / (x.shape[0] * np.sqrt(sigma2 + eps))
check(dL_dx, np.array([[0.09391457331113037, -0.03894917911932673], [-0.14758040154443652, 0.04381791171035889], [0.013416457058326538, -0.03164608023277847], [0.040249371174979634, 0.026777347641746305]]))

# 3. Running averages for inference

# unbiased_var: Unbiased batch variance
#   Eq(s2[j], B*sigma2[j]/(-1 + B))
s2 = x.shape[0] / (x.shape[0] - 1) * sigma2
check(s2, np.array([6.666666666666666, 10.0]))

# update_running_mean: Running mean
#   Eq(mu_bar_new[j], momentum*mu[j] + (1 - momentum)*mu_bar[j])
mu_bar_new = (1 - momentum) * mu_bar + momentum * mu
check(mu_bar_new, np.array([0.5, 0.9]))

# update_running_var: Running variance (PyTorch: unbiased)
#   Eq(var_bar_new[j], momentum*s2[j] + (1 - momentum)*var_bar[j])
var_bar_new = (1 - momentum) * var_bar + momentum * s2
check(var_bar_new, np.array([1.5666666666666667, 1.9]))

# update_running_var_biased: The same average of the biased variance (for comparison)
#   Eq(var_bar_biased[j], momentum*sigma2[j] + (1 - momentum)*var_bar[j])
var_bar_biased = (1 - momentum) * var_bar + momentum * sigma2
check(var_bar_biased, np.array([1.4, 1.65]))

# eval: Inference with the running statistics
#   Eq(y_eval[b, j], (-mu_bar_new[j] + x[b, j])*gamma[j]/sqrt(epsilon + var_bar_new[j]) + beta[j])
y_eval = gamma * (x - mu_bar_new) / np.sqrt(var_bar_new + eps) + beta
check(y_eval, np.array([[1.1983993682327103, 6.601816502822642], [2.7962651925429904, 3.699919138944557], [4.394131016853271, 4.425393479914079], [5.991996841163552, 8.778239525731205]]))

# 4. Vanishing gradient: σ' over depth

# sigmoid_given: Sigmoid of the pre-activations as given
#   Eq(a_given[b, j], 1/(1 + exp(-x[b, j])))
a_given = sigmoid(x)
check(a_given, np.array([[0.8807970779778824, 0.9999546021312976], [0.9820137900379085, 0.9975273768433652], [0.9975273768433652, 0.9990889488055994], [0.9996646498695335, 0.999997739675702]]))

# slope_given: Sigmoid slopes σ'(z) as given
#   Eq(s_given[b, j], (1 - a_given[b, j])*a_given[b, j])
s_given = a_given * (1 - a_given)
check(s_given, np.array([[0.10499358540350653, 4.5395807735907655e-05], [0.017662706213291107, 0.0024665092913600415], [0.0024665092913600415, 0.000910221180121784], [0.0003352376707564791, 2.260319188887599e-06]]))

# mean_slope_given: Mean slope as given
#   Eq(sbar_given, Sum(s_given[b, j], (j, 0, -1 + d), (b, 0, -1 + B))/(B*d))
sbar_given = s_given.mean()
check(sbar_given, 0.0161103031471651)

# sigmoid_normalized: Sigmoid of the pre-activations normalized
#   Eq(a_normalized[b, j], 1/(1 + exp(-y[b, j])))
a_normalized = sigmoid(y)
check(a_normalized, np.array([[0.2072405817321995, 0.59028607699022], [0.3900235689519301, 0.2505944522861315], [0.6099764310480699, 0.3251297193402719], [0.7927594182678005, 0.8116232813698392]]))

# slope_normalized: Sigmoid slopes σ'(z) normalized
#   Eq(s_normalized[b, j], (1 - a_normalized[b, j])*a_normalized[b, j])
s_normalized = a_normalized * (1 - a_normalized)
check(s_normalized, np.array([[0.16429192301549905, 0.24184842430171608], [0.23790518461392915, 0.18779687276954526], [0.23790518461392912, 0.21942038494198793], [0.16429192301549905, 0.15289093050829403]]))

# mean_slope_normalized: Mean slope normalized
#   Eq(sbar_normalized, Sum(s_normalized[b, j], (j, 0, -1 + d), (b, 0, -1 + B))/(B*d))
sbar_normalized = s_normalized.mean()
check(sbar_normalized, 0.20079385347254997)

# depth_bound: The bound (1/4)^k
#   Eq(P_max[k], (1/4)**k)
P_max = 0.25 ** np.arange(K + 1)
check(P_max, np.array([1.0, 0.25, 0.0625, 0.015625, 0.00390625, 0.0009765625, 0.000244140625, 6.103515625e-05, 1.52587890625e-05, 3.814697265625e-06, 9.5367431640625e-07]))

# depth_given: Product over k layers, pre-activations as given
#   Eq(P_given[k], sbar_given**k)
P_given = sbar_given ** np.arange(K + 1)
check(P_given, np.array([1.0, 0.0161103031471651, 0.0002595418674935577, 4.1812981647025696e-06, 6.736198098204346e-08, 1.0852219342142902e-09, 1.7483254342145077e-11, 2.816605274509477e-13, 4.537636481825185e-15, 7.310269929383944e-17, 1.1777066464998053e-18]))

# depth_normalized: Product over k layers, normalized pre-activations
#   Eq(P_norm[k], sbar_normalized**k)
P_norm = sbar_normalized ** np.arange(K + 1)
check(P_norm, np.array([1.0, 0.20079385347254997, 0.040318171592355866, 0.00809564103899663, 0.0016255549605506516, 0.00032640144456038425, 6.553940383228644e-05, 1.3159909449778404e-05, 2.64242892977083e-06, 5.305834873360311e-07, 1.065379030111056e-07]))

# 5. Beyond the lecture: layer normalization

# ln.mean: Mean of each row over its features
#   Eq(mu_ln[t], Sum(x[t, j], (j, 0, -1 + d))/d)
mu_ln = x.mean(axis=1)
check(mu_ln, np.array([6.0, 5.0, 6.5, 10.5]))

# ln.variance: Variance of each row over its features
#   Eq(sigma2_ln[t], Sum((-mu_ln[t] + x[t, j])**2, (j, 0, -1 + d))/d)
sigma2_ln = ((x - mu_ln[:, None]) ** 2).mean(axis=1)
check(sigma2_ln, np.array([16.0, 1.0, 0.25, 6.25]))

# ln.normalize: Normalize
#   Eq(xhat_ln[t, j], (-mu_ln[t] + x[t, j])/sqrt(epsilon + sigma2_ln[t]))
xhat_ln = (x - mu_ln[:, None]) / np.sqrt(sigma2_ln[:, None] + eps)
check(xhat_ln, np.array([[-0.9999996875001465, 0.9999996875001465], [-0.9999950000374997, 0.9999950000374997], [-0.9999800005999799, 0.9999800005999799], [-0.99999920000096, 0.99999920000096]]))

print("dlsteps batchnorm: all 29 values agree")
