"""dlsteps regularization: L1 and L2 regularization (DL101 #14 (L1, L2 Regularization)).

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

# Inputs
x = np.array([[1.0, 1.0], [2.0, -1.0], [3.0, 1.0]])  # x
y = np.array([3.0, 5.0, 7.0])  # y
w = np.array([1.5, 0.2])  # w
b = 0.5  # b
lam = 0.5  # lam
lr = 0.05  # lr
T = 12  # steps

# 1. Loss

# prediction: Predictions
#   Eq(yhat[s], b + Sum(w[k]*x[s, k], (k, 0, -1 + d)))
yhat = x @ w + b
check(yhat, np.array([2.2, 3.3, 5.2]))

# residual: Residuals
#   Eq(r[s], -y[s] + yhat[s])
r = yhat - y
check(r, np.array([-0.7999999999999998, -1.7000000000000002, -1.7999999999999998]))

# mse: Mean squared error
#   Eq(MSE, Sum(r[s]**2, (s, 0, -1 + N))/N)
MSE = (r ** 2).mean()
check(MSE, 2.2566666666666664)

# penalty_l1: L1 penalty
#   Eq(P_1, lambda*Sum(Abs(w[k]), (k, 0, -1 + d)))
P_1 = lam * np.abs(w).sum()
check(P_1, 0.85)

# penalty_l2: L2 penalty
#   Eq(P_2, lambda*Sum(w[k]**2, (k, 0, -1 + d)))
P_2 = lam * (w ** 2).sum()
check(P_2, 1.145)

# loss_l1: L1-regularized loss
#   Eq(L_L1, MSE + P_1)
L_L1 = MSE + P_1
check(L_L1, 3.1066666666666665)

# loss_l2: L2-regularized loss
#   Eq(L_L2, MSE + P_2)
L_L2 = MSE + P_2
check(L_L2, 3.4016666666666664)

# 2. Derivatives

# grad_mse_w: MSE by each weight
#   Eq(Derivative(MSE, w[j]), 2*Sum(r[s]*x[s, j], (s, 0, -1 + N))/N)
g = 2 / len(r) * x.T @ r
check(g, np.array([-6.3999999999999995, -0.5999999999999996]))

# grad_mse_b: MSE by the bias
#   Eq(Derivative(MSE, b), 2*Sum(r[s], (s, 0, -1 + N))/N)
g_b = 2 / len(r) * r.sum()
check(g_b, -2.8666666666666663)

# grad_l1: L1 penalty by each weight
#   Eq(Derivative(P_1, w[j]), lambda*sign(w[j]))
grad_l1 = lam * np.sign(w)
check(grad_l1, np.array([0.5, 0.5]))

# grad_l2: L2 penalty by each weight
#   Eq(Derivative(P_2, w[j]), 2*lambda*w[j])
grad_l2 = 2 * lam * w
check(grad_l2, np.array([1.5, 0.2]))

# 3. One update of each

# decay: Weight-decay factor
#   Eq(kappa, 1 - 2*eta*lambda)
kappa = 1 - 2 * lr * lam
check(kappa, 0.95)

# update_l2: L2 update
#   Eq(w'_j, kappa*w[j] - eta*g[j])
w_l2 = kappa * w - lr * g
check(w_l2, np.array([1.7449999999999999, 0.21999999999999997]))

# data_step: L1: the data step
#   Eq(u[j], -eta*g[j] + w[j])
u = w - lr * g
check(u, np.array([1.82, 0.22999999999999998]))

# update_l1: L1 update (soft threshold)
#   Eq(w'_j, Max(0, -eta*lambda + Abs(u[j]))*sign(u[j]))
w_l1 = np.sign(u) * np.maximum(np.abs(u) - lr * lam, 0)
check(w_l1, np.array([1.7950000000000002, 0.205]))

# update_b: Bias update (both)
#   Eq(b', b - eta*g_b)
b_new = b - lr * g_b
check(b_new, 0.6433333333333333)

# 4. 12 steps side by side

# weights_l1: Weights on the L1 path
#   Eq(wL1[t, j], Piecewise((w[j], Eq(t, 0)), (Max(0, -eta*lambda + Abs(-wL1[-1 + t, j] + eta*gL1[-1 + t, j]))*sign(-eta*gL1[-1 + t, j] + wL1[-1 + t, j]), True)))
wL1 = linear_updates(x, y, w, b, lr, T, lambda w, g: np.sign(w - lr * g) * np.maximum(np.abs(w - lr * g) - lr * lam, 0))[0]
check(wL1, np.array([[1.5, 0.2], [1.7950000000000002, 0.205], [1.9233333333333336, 0.1850555555555555], [1.9791407407407409, 0.15622222222222218], [2.0032572839506173, 0.1252901234567901], [2.013408987654321, 0.09504803292181066], [2.0173024834019206, 0.06656389026063098], [2.0182992144855967, 0.04017213834476447], [2.0178752315269013, 0.015900609048620604], [2.0166876127679725, 0.0], [2.0146138503654987, 0.0], [2.011103969239307, 0.0], [2.0069855950821873, 0.0]]))

# biases_l1: Biases on the L1 path
#   Eq(bL1[t], Piecewise((b, Eq(t, 0)), (-eta*gbL1[-1 + t] + bL1[-1 + t], True)))
bL1 = np.full(T + 1, float(b))
for row in range(T):
    bL1[row + 1] = bL1[row] - lr * 2 / len(y) * (x @ wL1[row] + bL1[row] - y).sum()
check(bL1, np.array([0.5, 0.6433333333333333, 0.7131666666666666, 0.7510148148148147, 0.7748777777777777, 0.7925622057613168, 0.8074559198902606, 0.8210310348788293, 0.8339290172156683, 0.8464310488871005, 0.858450421444796, 0.8696826092272166, 0.8804935544566336]))

# gradients_l1: MSE gradients on the L1 path
#   Eq(gL1[t, j], 2*Sum((-y[s] + bL1[t] + Sum(wL1[t, k]*x[s, k], (k, 0, -1 + d)))*x[s, j], (s, 0, -1 + N))/N)
gL1 = 2 / len(y) * (wL1[:-1] @ x.T + bL1[:-1, None] - y) @ x
check(gL1, np.array([[-6.399999999999999, -0.5999999999999996], [-3.0666666666666647, -0.10111111111111026], [-1.6161481481481463, 0.07666666666666677], [-0.98233086419753, 0.11864197530864179], [-0.7030340740740751, 0.10484181069958874], [-0.5778699149519891, 0.06968285322359365], [-0.5199346216735219, 0.02783503831732996], [-0.49152034082609397, -0.014569414077122644], [-0.47624762482141936, -0.055079128389777715], [-0.4585247519505214, -0.08012915038463635], [-0.4298023774761622, -0.07488125188280452], [-0.4176325168576034, -0.07207296819611296]]))

# bias_gradients_l1: Bias gradients on the L1 path
#   Eq(gbL1[t], 2*Sum(-y[s] + bL1[t] + Sum(wL1[t, k]*x[s, k], (k, 0, -1 + d)), (s, 0, -1 + N))/N)
gbL1 = 2 / len(y) * (wL1[:-1] @ x.T + bL1[:-1, None] - y).sum(axis=1)
check(gbL1, np.array([-2.8666666666666663, -1.3966666666666658, -0.7569629629629624, -0.4772592592592589, -0.3536885596707823, -0.29787428257887516, -0.271502299771375, -0.25795964673677807, -0.250040633428644, -0.24038745115390903, -0.22464375564841355, -0.2162189045883395]))

# losses_l1: L1-regularized loss at every row
#   Eq(LL1[t], lambda*Sum(Abs(wL1[t, k]), (k, 0, -1 + d)) + Sum((-y[s] + bL1[t] + Sum(wL1[t, k]*x[s, k], (k, 0, -1 + d)))**2, (s, 0, -1 + N))/N)
LL1 = ((wL1 @ x.T + bL1[:, None] - y) ** 2).mean(axis=1) + lam * np.abs(wL1).sum(axis=1)
check(LL1, np.array([3.1066666666666665, 1.5530416666666662, 1.2318016913580245, 1.146609327608596, 1.1095081118674188, 1.0845609861433054, 1.0644995912470374, 1.0475292015955733, 1.0329557530299747, 1.0229759889986503, 1.0200655058357089, 1.0173218370502437, 1.0146630200281042]))

# weights_l2: Weights on the L2 path
#   Eq(wL2[t, j], Piecewise((w[j], Eq(t, 0)), (kappa*wL2[-1 + t, j] - eta*gL2[-1 + t, j], True)))
wL2 = linear_updates(x, y, w, b, lr, T, lambda w, g: kappa * w - lr * g)[0]
check(wL2, np.array([[1.5, 0.2], [1.7449999999999999, 0.21999999999999997], [1.8334166666666665, 0.21588888888888882], [1.8605587962962962, 0.20385555555555548], [1.863708973765432, 0.19002262345679002], [1.8574655513117282, 0.1766065853909464], [1.8475567038816014, 0.16432158190157742], [1.8362402145007073, 0.1533155498716849], [1.8244144674947385, 0.143533214281581], [1.8124439510126158, 0.1348554630856276], [1.8004822676534271, 0.12715166725578206], [1.7885986959925808, 0.12029827339782125], [1.7768279266571636, 0.11418447073652115]]))

# biases_l2: Biases on the L2 path
#   Eq(bL2[t], Piecewise((b, Eq(t, 0)), (-eta*gbL2[-1 + t] + bL2[-1 + t], True)))
bL2 = np.full(T + 1, float(b))
for row in range(T):
    bL2[row + 1] = bL2[row] - lr * 2 / len(y) * (x @ wL2[row] + bL2[row] - y).sum()
check(bL2, np.array([0.5, 0.6433333333333333, 0.7226666666666667, 0.7765203703703704, 0.8199613888888889, 0.858889367798354, 0.8956204345764748, 0.9310696642791211, 0.9656041366220114, 0.9993763889848098, 1.0324547777809514, 1.0648744575636448, 1.09665733016217]))

# gradients_l2: MSE gradients on the L2 path
#   Eq(gL2[t, j], 2*Sum((-y[s] + bL2[t] + Sum(wL2[t, k]*x[s, k], (k, 0, -1 + d)))*x[s, j], (s, 0, -1 + N))/N)
gL2 = 2 / len(y) * (wL2[:-1] @ x.T + bL2[:-1, None] - y) @ x
check(gL2, np.array([[-6.399999999999999, -0.5999999999999996], [-3.5133333333333345, -0.137777777777778], [-2.3762592592592595, 0.024777777777777843], [-1.9235623456790134, 0.07280308641975353], [-1.738840524691358, 0.07829813786008244], [-1.6592886027091938, 0.06909348439643315], [-1.6212269162637163, 0.055799058696273385], [-1.5997252743813322, 0.04233116193039377], [-1.5850041378522886, 0.03002180963748674], [-1.5732102838288449, 0.019220453511282543], [-1.5628108344364995, 0.009916209903434114], [-1.5531833092842406, 0.0019777798281793713]]))

# bias_gradients_l2: Bias gradients on the L2 path
#   Eq(gbL2[t], 2*Sum(-y[s] + bL2[t] + Sum(wL2[t, k]*x[s, k], (k, 0, -1 + d)), (s, 0, -1 + N))/N)
gbL2 = 2 / len(y) * (wL2[:-1] @ x.T + bL2[:-1, None] - y).sum(axis=1)
check(gbL2, np.array([-2.8666666666666663, -1.5866666666666671, -1.0770740740740745, -0.8688203703703709, -0.7785595781893007, -0.7346213355624155, -0.708984594052926, -0.6906894468578045, -0.6754450472559697, -0.6615677759228327, -0.6483935956538677, -0.635657451970507]))

# losses_l2: L2-regularized loss at every row
#   Eq(LL2[t], lambda*Sum(wL2[t, k]**2, (k, 0, -1 + d)) + Sum((-y[s] + bL2[t] + Sum(wL2[t, k]*x[s, k], (k, 0, -1 + d)))**2, (s, 0, -1 + N))/N)
LL2 = ((wL2 @ x.T + bL2[:, None] - y) ** 2).mean(axis=1) + lam * (wL2 ** 2).sum(axis=1)
check(LL2, np.array([3.4016666666666664, 2.2624625000000003, 2.053963832175926, 1.9902324695501472, 1.9507786492900245, 1.9168695959785833, 1.8853925123102007, 1.8556769658956933, 1.8274676853872616, 1.8006043603294302, 1.7749649044771598, 1.7504509689698602, 1.7269813969953853]))

print("dlsteps regularization: all 26 values agree")
