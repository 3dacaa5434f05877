"""dlsteps sgd: Batch, stochastic and mini-batch gradient descent (DL101 #8).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

def linear_updates(x, y, w, b, bias_lr, steps, rule):
    """Rows t = 0..steps of weights and biases: w_t+1 = rule(w_t, g_t), b_t+1 = b_t - bias_lr g_b,t,
    where g_t = (2/N) x^T r_t and g_b,t = (2/N) sum(r_t) with r_t = x w_t + b_t - y."""
    weights, biases = [np.asarray(w, dtype=float)], [float(b)]
    for _t in range(int(steps)):
        r = x @ weights[-1] + biases[-1] - y
        weights.append(rule(weights[-1], 2 / len(y) * x.T @ r))
        biases.append(biases[-1] - bias_lr * 2 / len(y) * r.sum())
    return np.array(weights), np.array(biases)

def epoch_losses(x, y, weights, biases, per_epoch):
    """The MSE on all samples at rows 0, per_epoch, 2 per_epoch, … (after each epoch)."""
    shift = 0.0 if biases is None else np.asarray(biases, dtype=float)[::per_epoch, None]
    return ((np.asarray(weights, dtype=float)[::per_epoch] @ x.T + shift - y) ** 2).mean(axis=1)

def shuffled_orders(seed, samples, epochs):
    """One permutation of 0..samples-1 per epoch, from numpy's default_rng(seed)."""
    rng = np.random.default_rng(int(seed))
    return np.array([rng.permutation(int(samples)) for _epoch in range(int(epochs))], dtype=int).reshape(int(epochs), int(samples))

def batch_updates(x, y, w, b, lr, batches):
    """Rows t = 0..T of weights and biases: row t + 1 is one gradient step on the MSE of the
    samples batches[t] at row t (b None: no bias, the biases stay 0)."""
    weights, biases = [np.asarray(w, dtype=float)], [0.0 if b is None else float(b)]
    for rows in np.asarray(batches, dtype=int):
        r = x[rows] @ weights[-1] + biases[-1] - y[rows]
        weights.append(weights[-1] - lr * 2 / len(rows) * x[rows].T @ r)
        biases.append(biases[-1] - (0.0 if b is None else lr * 2 / len(rows) * r.sum()))
    return np.array(weights), np.array(biases)

def batch_residuals(x, y, weights, biases, batches):
    """R[t, i] = x[B[t, i]] · W[t] + b[t] - y[B[t, i]] for every update t (biases None: 0)."""
    rows = len(batches)
    shift = 0.0 if biases is None else np.asarray(biases, dtype=float)[:rows, None]
    return np.einsum("tik,tk->ti", x[batches], np.asarray(weights, dtype=float)[:rows]) + shift - y[batches]

# Inputs
x = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]])  # x
y = np.array([2.1, 3.9, 6.2, 7.8, 10.1, 12.2])  # y
w = np.array([0.0])  # w0
lr = 0.02  # lr
epochs = 3  # epochs
batch_size = 2  # batch_size
seed = 0  # seed

# 1. The model and its loss

# prediction: Predictions
#   Eq(yhat[s], Sum(w[k]*x[s, k], (k, 0, -1 + d)))
yhat = x @ w
check(yhat, np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0]))

# residual: Residuals
#   Eq(r[s], -y[s] + yhat[s])
r = yhat - y
check(r, np.array([-2.1, -3.9, -6.2, -7.8, -10.1, -12.2]))

# mse: Mean squared error
#   Eq(MSE, Sum(r[s]**2, (s, 0, -1 + N))/N)
MSE = (r ** 2).mean()
check(MSE, 61.625)

# 2. Batch gradient descent

# grad_mse_w: MSE by each weight
#   Eq(Derivative(MSE, w[j]), 2*Sum(r[s]*x[s, j], (s, 0, -1 + N))/N)
g = 2 / len(r) * x.T @ r
check(g, np.array([-61.133333333333326]))

# update_w: Update of w
#   Eq(w', -eta*g[j] + w[j])
w_new = w - lr * g
check(w_new, np.array([1.2226666666666666]))

# weights_gd: Weights on the batch path
#   Eq(W_gd[t, j], Piecewise((w[j], Eq(t, 0)), (-eta*G_gd[-1 + t, j] + W_gd[-1 + t, j], True)))
W_gd = linear_updates(x, y, w, 0.0, 0.0, epochs, lambda w, g: w - lr * g)[0]
check(W_gd, np.array([[0.0], [1.2226666666666666], [1.703582222222222], [1.8927423407407407]]))

# gradients_gd: MSE gradients on the batch path
#   Eq(G_gd[t, j], 2*Sum((-y[s] + Sum(W_gd[t, k]*x[s, k], (k, 0, -1 + d)))*x[s, j], (s, 0, -1 + N))/N)
G_gd = 2 / len(y) * (W_gd[:-1] @ x.T - y) @ x
check(G_gd, np.array([[-61.133333333333326], [-24.04577777777778], [-9.458005925925924]]))

# losses_gd: MSE on all samples after every epoch (batch)
#   Eq(L_gd[e], Sum((-y[s] + Sum(W_gd[e, k]*x[s, k], (k, 0, -1 + d)))**2, (s, 0, -1 + N))/N)
L_gd = epoch_losses(x, y, W_gd, None, 1)
check(L_gd, np.array([61.625, 9.552170074074075, 1.495924697534156, 0.24953402394591406]))

# 3. Shuffling

# order: Shuffled order of each epoch
perm = shuffled_orders(seed, len(y), epochs)
check(perm, np.array([[3.0, 2.0, 5.0, 4.0, 0.0, 1.0], [4.0, 5.0, 1.0, 2.0, 0.0, 3.0], [3.0, 2.0, 0.0, 5.0, 4.0, 1.0]]))

# 4. Stochastic gradient descent

# sgd.batch: Mini-batch
B_sgd0 = np.array([3])
check(B_sgd0, np.array([3.0]))

# sgd.mse: Mean squared error
#   Eq(MSE_sgd, Sum(r[B_sgd0[i]]**2, (i, 0, -1 + m_S))/m_S)
MSE_sgd = (r[B_sgd0] ** 2).mean()
check(MSE_sgd, 60.839999999999996)

# sgd.grad_mse_w: MSE by each weight
#   Eq(Derivative(MSE_sgd, w[j]), 2*Sum(r[B_sgd0[i]]*x[B_sgd0[i], j], (i, 0, -1 + m_S))/m_S)
g_sgd = 2 / len(r[B_sgd0]) * x[B_sgd0].T @ r[B_sgd0]
check(g_sgd, np.array([-62.4]))

# sgd.update_w: Update of w
#   Eq(w'_sgd, -eta*g_sgd[j] + w[j])
w_new_sgd = w - lr * g_sgd
check(w_new_sgd, np.array([1.248]))

# batches_sgd: Samples of every SGD update
B_sgd = perm.reshape(-1, 1)
check(B_sgd, np.array([[3.0], [2.0], [5.0], [4.0], [0.0], [1.0], [4.0], [5.0], [1.0], [2.0], [0.0], [3.0], [3.0], [2.0], [0.0], [5.0], [4.0], [1.0]]))

# weights_sgd: Weights on the SGD path
#   Eq(W_sgd[t, j], Piecewise((w[j], Eq(t, 0)), (-eta*G_sgd[-1 + t, j] + W_sgd[-1 + t, j], True)))
W_sgd = batch_updates(x, y, w, None, lr, B_sgd)[0]
check(W_sgd, np.array([[0.0], [1.248], [1.54272], [2.2492031999999997], [2.02], [2.0232], [2.011488], [2.02], [2.0391999999999997], [2.0249279999999996], [2.03995392], [2.0423557632], [1.9832480747519998], [1.9619693069107198], [1.9996603564228608], [2.003673942165946], [2.0463834654469837], [2.02], [2.0088]]))

# residuals_sgd: Residuals of every SGD update
#   Eq(R_sgd[t, i], -y[B_sgd[t, i]] + Sum(W_sgd[t, k]*x[B_sgd[t, i], k], (k, 0, -1 + d)))
R_sgd = batch_residuals(x, y, W_sgd, None, B_sgd)
check(R_sgd, np.array([[-7.8], [-2.4560000000000004], [-2.9436799999999987], [1.1460159999999995], [-0.08000000000000007], [0.1464000000000003], [-0.04255999999999993], [-0.0799999999999983], [0.17839999999999945], [-0.12521600000000088], [-0.060046080000000224], [0.3694230527999993], [0.13299229900799947], [-0.3140920792678408], [-0.10033964357713931], [-0.17795634700432217], [0.1319173272349179], [0.14000000000000012]]))

# gradients_sgd: Gradient of every SGD update (its batch only)
#   Eq(G_sgd[t, j], 2*Sum(R_sgd[t, i]*x[B_sgd[t, i], j], (i, 0, -1 + m_S))/m_S)
G_sgd = 2 / B_sgd.shape[1] * np.einsum('ti,tij->tj', R_sgd, x[B_sgd])
check(G_sgd, np.array([[-62.4], [-14.736000000000002], [-35.324159999999985], [11.460159999999995], [-0.16000000000000014], [0.5856000000000012], [-0.4255999999999993], [-0.9599999999999795], [0.7135999999999978], [-0.7512960000000053], [-0.12009216000000045], [2.9553844223999945], [1.0639383920639958], [-1.8845524756070446], [-0.20067928715427863], [-2.135476164051866], [1.319173272349179], [0.5600000000000005]]))

# batch_losses_sgd: Loss of each SGD update's batch, before the update
#   Eq(Lb_sgd[t], Sum(R_sgd[t, i]**2, (i, 0, -1 + m_S))/m_S)
Lb_sgd = (R_sgd ** 2).mean(axis=1)
check(Lb_sgd, np.array([60.839999999999996, 6.031936000000002, 8.665251942399992, 1.3133526722559987, 0.006400000000000012, 0.02143296000000009, 0.001811353599999994, 0.006399999999999727, 0.0318265599999998, 0.01567904665600022, 0.003605531723366427, 0.13647339194007108, 0.017686951595433136, 0.09865383425879558, 0.010068044073187355, 0.031668461439122726, 0.01740218122480441, 0.019600000000000034]))

# batch_losses_after_sgd: Loss of the same batch after the update
#   Eq(La_sgd[t], Sum((-y[B_sgd[t, i]] + Sum(W_sgd[1 + t, k]*x[B_sgd[t, i], k], (k, 0, -1 + d)))**2, (i, 0, -1 + m_S))/m_S)
La_sgd = (batch_residuals(x, y, W_sgd[1:], None, B_sgd) ** 2).mean(axis=1)
check(La_sgd, np.array([7.884863999999999, 2.4706809855999996, 1.6775927760486355, 0.0, 0.0058982399999999964, 0.015123096575999993, 0.0, 0.0012390399999999773, 0.022456820735999798, 0.006422137510297765, 0.003322858036254509, 0.017686951595433136, 0.0022922289267680936, 0.04040861051240248, 0.009278709417849498, 0.006131014134614326, 0.0, 0.013829759999999983]))

# losses_sgd: MSE on all samples after every epoch (SGD)
#   Eq(L_sgd[e], Sum((-y[s] + Sum(W_sgd[e*N, k]*x[s, k], (k, 0, -1 + d)))**2, (s, 0, -1 + N))/N)
L_sgd = epoch_losses(x, y, W_sgd, None, len(y))
check(L_sgd, np.array([61.625, 0.021640541184, 0.0370737412750379, 0.022067839999999988]))

# 5. Mini-batch gradient descent

# mb.batch: Mini-batch
B_mb0 = np.array([3, 2])
check(B_mb0, np.array([3.0, 2.0]))

# mb.mse: Mean squared error
#   Eq(MSE_mb, Sum(r[B_mb0[i]]**2, (i, 0, -1 + m))/m)
MSE_mb = (r[B_mb0] ** 2).mean()
check(MSE_mb, 49.64)

# mb.grad_mse_w: MSE by each weight
#   Eq(Derivative(MSE_mb, w[j]), 2*Sum(r[B_mb0[i]]*x[B_mb0[i], j], (i, 0, -1 + m))/m)
g_mb = 2 / len(r[B_mb0]) * x[B_mb0].T @ r[B_mb0]
check(g_mb, np.array([-49.8]))

# mb.update_w: Update of w
#   Eq(w'_mb, -eta*g_mb[j] + w[j])
w_new_mb = w - lr * g_mb
check(w_new_mb, np.array([0.996]))

# batches_mb: Samples of every mini-batch update
B_mb = perm.reshape(-1, batch_size)
check(B_mb, np.array([[3.0, 2.0], [5.0, 4.0], [0.0, 1.0], [4.0, 5.0], [1.0, 2.0], [0.0, 3.0], [3.0, 2.0], [0.0, 5.0], [4.0, 1.0]]))

# weights_mb: Weights on the mini-batch path
#   Eq(W_mb[t, j], Piecewise((w[j], Eq(t, 0)), (-eta*G_mb[-1 + t, j] + W_mb[-1 + t, j], True)))
W_mb = batch_updates(x, y, w, None, lr, B_mb)[0]
check(W_mb, np.array([[0.0], [0.996], [2.25488], [2.227392], [1.9839737599999998], [1.9961405823999998], [1.983452784384], [1.987726392192], [2.02280886196992], [2.015579722027366]]))

# residuals_mb: Residuals of every mini-batch update
#   Eq(R_mb[t, i], -y[B_mb[t, i]] + Sum(W_mb[t, k]*x[B_mb[t, i], k], (k, 0, -1 + d)))
R_mb = batch_residuals(x, y, W_mb, None, B_mb)
check(R_mb, np.array([[-7.8, -6.2], [-6.223999999999999, -5.119999999999999], [0.1548799999999999, 0.6097600000000001], [1.0369600000000005, 1.164352000000001], [0.0679475199999997, -0.24807872000000053], [-0.10385941760000028, 0.1845623295999994], [0.13381113753600005, -0.2496416468480005], [-0.112273607808, -0.27364164684799874], [0.014044309849600367, 0.14561772393983974]]))

# gradients_mb: Gradient of every mini-batch update (its batch only)
#   Eq(G_mb[t, j], 2*Sum(R_mb[t, i]*x[B_mb[t, i], j], (i, 0, -1 + m))/m)
G_mb = 2 / B_mb.shape[1] * np.einsum('ti,tij->tj', R_mb, x[B_mb])
check(G_mb, np.array([[-49.8], [-62.94399999999999], [1.3744], [12.170912000000008], [-0.6083411200000022], [0.6343899007999974], [-0.2136803904000013], [-1.7541234888959925], [0.3614569971276813]]))

# batch_losses_mb: Loss of each mini-batch update's batch, before the update
#   Eq(Lb_mb[t], Sum(R_mb[t, i]**2, (i, 0, -1 + m))/m)
Lb_mb = (R_mb ** 2).mean(axis=1)
check(Lb_mb, np.array([49.64, 32.47628799999999, 0.19789753600000004, 1.2155008107520016, 0.03307995839549451, 0.022425016065795035, 0.04011318618483006, 0.04374255694995473, 0.010700882082285479]))

# batch_losses_after_mb: Loss of the same batch after the update
#   Eq(La_mb[t], Sum((-y[B_mb[t, i]] + Sum(W_mb[1 + t, k]*x[B_mb[t, i], k], (k, 0, -1 + d)))**2, (i, 0, -1 + m))/m)
La_mb = (batch_residuals(x, y, W_mb[1:], None, B_mb) ** 2).mean(axis=1)
check(La_mb, np.array([12.4394, 1.5731003392000011, 0.16200700416000008, 0.06007823924039679, 0.026640585217372868, 0.01574433699826037, 0.03942829654620754, 0.004972996849817005, 0.008845635599315116]))

# losses_mb: MSE on all samples after every epoch (mini-batch)
#   Eq(L_mb[e], Sum((-y[s] + Sum(W_mb[e*n, k]*x[s, k], (k, 0, -1 + d)))**2, (s, 0, -1 + N))/N)
L_mb = epoch_losses(x, y, W_mb, None, len(y) // batch_size)
check(L_mb, np.array([61.625, 0.7031084119040006, 0.036874824181209666, 0.021410833753720816]))

# 6. Three loss paths

# loss_paths: Loss paths side by side
#   Eq(P[i, e], Piecewise((L_gd[e], Eq(i, 0)), (L_sgd[e], Eq(i, 1)), (L_mb[e], True)))
P = np.array([L_gd, L_sgd, L_mb])
check(P, np.array([[61.625, 9.552170074074075, 1.495924697534156, 0.24953402394591406], [61.625, 0.021640541184, 0.0370737412750379, 0.022067839999999988], [61.625, 0.7031084119040006, 0.036874824181209666, 0.021410833753720816]]))

print("dlsteps sgd: all 32 values agree")
