"""dlsteps rnn: Recurrent neural network and backpropagation through time (DL101 #3 (순환신경망 RNN), #4).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

# Inputs
x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # x
h_init = np.array([0.0, 0.0])  # h0
c = np.array([1.0, 2.0, 0.0])  # target
U = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]])  # U
W = np.array([[0.4, -0.2], [0.3, 0.5]])  # W
V = np.array([[0.6, -0.4], [-0.2, 0.7], [0.3, 0.1]])  # V

# 1. Forward through time

# previous: The state each step receives
h_prev = np.zeros((len(x), len(h_init)))
state = h_init
for step in range(len(x)):
    h_prev[step] = state
    state = np.tanh(U @ x[step] + W @ state)
check(h_prev, np.array([[0.0, 0.0], [0.46211715726000974, 0.09966799462495582], [-0.13427098320618605, 0.528793706955009]]))

# preactivation: Weighted sums: input term plus recurrent term
#   Eq(a[t, i], Sum(U[i, k]*x[t, k], (k, 0, -1 + d)) + Sum(W[i, j]*h_prev[t, j], (j, 0, -1 + H)))
a = x @ U.T + h_prev @ W.T
check(a, np.array([[0.5, 0.1], [-0.13508673602098725, 0.5884691444904808], [0.04053286532652378, -0.3758844414843513]]))

# hidden: Hidden states
#   Eq(h[t, i], tanh(a[t, i]))
h = np.tanh(a)
check(h, np.array([[0.46211715726000974, 0.09966799462495582], [-0.13427098320618605, 0.528793706955009], [0.0405106825780327, -0.3591280153926086]]))

# carried: Check: each step received the previous state
#   Eq(h_prev[t, j], Piecewise((h_init[j], Eq(t, 0)), (h[-1 + t, j], True)))
h_prev_check = np.vstack([h_init, h[:-1]])
check(h_prev_check, np.array([[0.0, 0.0], [0.46211715726000974, 0.09966799462495582], [-0.13427098320618605, 0.528793706955009]]))

# 2. Output and cross-entropy at every step

# logits: Logits
#   Eq(o[t, k], Sum(V[k, i]*h[t, i], (i, 0, -1 + H)))
o = h @ V.T
check(o, np.array([[0.23740309650602348, -0.02265583521453288, 0.1486019466404985], [-0.29208007270571523, 0.3970097915097435, 0.012598075733645095], [0.16795761570386306, -0.2594917472904325, -0.02375959676585105]]))

# shift: Shift by the largest logit of each step
#   Eq(m[t], Maximum(o[t, k], k, 0, -1 + n))
m = o.max(axis=1)
check(m, np.array([0.23740309650602348, 0.3970097915097435, 0.16795761570386306]))

# softmax: Softmax at every step
#   Eq(y[t, k], exp(-m[t] + o[t, k])/Sum(exp(-m[t] + o[t, l]), (l, 0, -1 + n)))
y = np.exp(o - m[:, None]) / np.exp(o - m[:, None]).sum(axis=1, keepdims=True)
check(y, np.array([[0.37229615405322153, 0.28704262355717425, 0.3406612223896042], [0.22998602671520219, 0.4581095821725229, 0.3119043911122749], [0.4035983679255691, 0.2632149191867771, 0.3331867128876539]]))

# log_softmax: Log-probabilities
#   Eq(log_y[t, k], -m[t] - log(Sum(exp(-m[t] + o[t, l]), (l, 0, -1 + n))) + o[t, k])
log_y = o - m[:, None] - np.log(np.exp(o - m[:, None]).sum(axis=1, keepdims=True))
check(log_y, np.array([[-0.9880656283925966, -1.248124560113153, -1.0768667782581216], [-1.4697367253166695, -0.7806468611012106, -1.1650585768773092], [-0.907335034302809, -1.3347843972971045, -1.0990522467725232]]))

# target_onehot: One-hot targets
#   Eq(y_star[t, k], KroneckerDelta(k, c[t]))
y_star = np.eye(len(V))[c.astype(int)]
check(y_star, np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))

# step_loss: Cross-entropy of each step
#   Eq(ell[t], -Sum(log_y[t, k]*y_star[t, k], (k, 0, -1 + n)))
ell = -(y_star * log_y).sum(axis=1)
check(ell, np.array([1.248124560113153, 1.1650585768773092, 0.907335034302809]))

# loss: Loss summed over the steps
#   Eq(L, Sum(ell[t], (t, 0, -1 + T)))
L = ell.sum()
check(L, 3.320518171293271)

# 3. BPTT: the output weights V

# dL_do: Prediction minus target at every step
#   Eq(Derivative(L, o[t, k]), -y_star[t, k] + y[t, k])
dL_do = y - y_star
check(dL_do, np.array([[0.37229615405322153, -0.7129573764428258, 0.3406612223896042], [0.22998602671520219, 0.4581095821725229, -0.688095608887725], [-0.596401632074431, 0.2632149191867771, 0.3331867128876539]]))

# dV_terms: The term of each step: ∂L/∂o_t h_tᵀ
#   Eq(G_V[t, p], dL_do[t, ⌊p/H⌋]*h[t, (p%H)])
G_V = (dL_do[:, :, None] * h[:, None, :]).reshape(len(h), -1)
check(G_V, np.array([[0.17204444036990937, 0.03710601108106821, -0.3294698360493133, -0.07105903196312616, 0.1574253956794039, 0.033953020882057955], [-0.03088044993073437, 0.1216151636145855, -0.06151082401447973, 0.24224546414861872, 0.0923912739452141, -0.3638606277632042], [-0.024160637205987916, 0.21418453450380312, 0.010663016040978055, -0.09452785154927311, 0.013497621165009863, -0.11965668295453002]]))

# dL_dV: Sum over the steps: ∂L/∂V
#   Eq(Derivative(L, V[i, j]), Sum(G_V[t, j + i*H], (t, 0, -1 + T)))
dL_dV = G_V.sum(axis=0).reshape(V.shape)
check(dL_dV, np.array([[0.11700335323318707, 0.37290570919945687], [-0.3803176440228149, 0.07665858063621946], [0.26331429078962787, -0.4495642898356763]]))

# 4. BPTT: back through the hidden states

# dh_out: Through the output of the same step
#   Eq(g_out[t, i], Sum(V[k, i]*dL_do[t, k], (k, 0, -1 + n)))
g_out = dL_do @ V
check(g_out, np.array([[0.46816753443737935, -0.6139225028923062], [-0.16005898307170077, 0.15987273594591261], [-0.31052794921571786, 0.4561297675492817]]))

# tanh_derivative: Derivative of tanh
#   Eq(Derivative(h[t, i], a[t, i]), 1 - h[t, i]**2)
dh_da = 1 - h ** 2
check(dh_da, np.array([[0.7864477329659274, 0.9900662908474398], [0.9819713030688441, 0.7203772154847801], [0.9983588845970619, 0.8710270685601663]]))

# delta_next: What the next step sends back
delta_next = np.zeros_like(h)
carried = np.zeros(len(W))
for step in reversed(range(len(h))):
    delta_next[step] = carried
    carried = (g_out[step] + W.T @ carried) * dh_da[step]
check(delta_next, np.array([[-0.16190340785131335, 0.30293813449368934], [-0.31001833701521714, 0.39730137431148094], [0.0, 0.0]]))

# dh_next: Through the next step
#   Eq(g_next[t, i], Sum(W[j, i]*delta_next[t, j], (j, 0, -1 + H)))
g_next = delta_next @ W
check(g_next, np.array([[0.026120077207581454, 0.18384974881710733], [-0.004816922512642584, 0.2606543545587839], [0.0, 0.0]]))

# dL_dh: Gradient at the hidden state
#   Eq(Derivative(L, h[t, i]), g_next[t, i] + g_out[t, i])
dL_dh = g_out + g_next
check(dL_dh, np.array([[0.4942876116449608, -0.43007275407519885], [-0.16487590558434337, 0.4205270905046965], [-0.31052794921571786, 0.4561297675492817]]))

# delta: Delta at the pre-activation
#   Eq(Derivative(L, a[t, i]), dL_dh[t, i]*dh_da[t, i])
delta = dL_dh * dh_da
check(delta, np.array([[0.38873137161132215, -0.4258005364217753], [-0.16190340785131335, 0.30293813449368934], [-0.31001833701521714, 0.39730137431148094]]))

# 5. BPTT: U and W, term by term and summed

# dU_terms: The term of each step: δ_t x_tᵀ
#   Eq(G_U[t, p], delta[t, ⌊p/d⌋]*x[t, (p%d)])
G_U = (delta[:, :, None] * x[:, None, :]).reshape(len(x), -1)
check(G_U, np.array([[0.38873137161132215, 0.0, 0.0, -0.4258005364217753, 0.0, 0.0], [0.0, -0.16190340785131335, 0.0, 0.0, 0.30293813449368934, 0.0], [0.0, 0.0, -0.31001833701521714, 0.0, 0.0, 0.39730137431148094]]))

# dL_dU: Sum over the steps: ∂L/∂U
#   Eq(Derivative(L, U[i, j]), Sum(G_U[t, j + i*d], (t, 0, -1 + T)))
dL_dU = G_U.sum(axis=0).reshape(U.shape)
check(dL_dU, np.array([[0.38873137161132215, -0.16190340785131335, -0.31001833701521714], [-0.4258005364217753, 0.30293813449368934, 0.39730137431148094]]))

# dW_terms: The term of each step: δ_t h_(t-1)ᵀ
#   Eq(G_W[t, p], delta[t, ⌊p/H⌋]*h_prev[t, (p%H)])
G_W = (delta[:, :, None] * h_prev[:, None, :]).reshape(len(h), -1)
check(G_W, np.array([[0.0, 0.0, 0.0, 0.0], [-0.07481834258695687, -0.01613658798348673, 0.13999290953787422, 0.03019323636041117], [0.04162646692297995, -0.16393574565430397, -0.0533460461579715, 0.2100904665004876]]))

# dL_dW: Sum over the steps: ∂L/∂W
#   Eq(Derivative(L, W[i, j]), Sum(G_W[t, j + i*H], (t, 0, -1 + T)))
dL_dW = G_W.sum(axis=0).reshape(W.shape)
check(dL_dW, np.array([[-0.03319187566397692, -0.18007233363779068], [0.08664686337990271, 0.24028370286089878]]))

# 6. Why gradients vanish: products of Jacobians

# jacobian: Jacobian of each step
#   Eq(J[t, p], W[⌊p/H⌋, (p%H)]*dh_da[t, ⌊p/H⌋])
J = (dh_da[:, :, None] * W[None, :, :]).reshape(len(h), -1)
check(J, np.array([[0.314579093186371, -0.1572895465931855, 0.29701988725423195, 0.4950331454237199], [0.39278852122753766, -0.19639426061376883, 0.216113164645434, 0.36018860774239003], [0.3993435538388248, -0.1996717769194124, 0.26130812056804986, 0.43551353428008316]]))

# jacobian_product: Running product: ∂h_t/∂h_init
P = np.zeros_like(J)
running = np.eye(len(W))
for step in range(len(J)):
    running = J[step].reshape(W.shape) @ running
    P[step] = running.ravel()
check(P, np.array([[0.314579093186371, -0.1572895465931855, 0.29701988725423195, 0.4950331454237199], [0.06523005567689456, -0.159003196985687, 0.174967863021701, 0.144312957756607], [-0.008886941862219905, -0.09231212646375676, 0.09324601566349304, 0.021301419706350976]]))

# product_check: Check: P_t = J_t P_(t-1)
#   Eq(P[t, p], Piecewise((J[t, p], Eq(t, 0)), (Sum(J[t, j + H*⌊p/H⌋]*P[-1 + t, j*H + (p%H)], (j, 0, -1 + H)), True)))
P_check = np.array([(J[s].reshape(W.shape) @ (P[s - 1].reshape(W.shape) if s else np.eye(len(W)))).ravel()
                    for s in range(len(J))])
check(P_check, np.array([[0.314579093186371, -0.1572895465931855, 0.29701988725423195, 0.4950331454237199], [0.06523005567689456, -0.159003196985687, 0.174967863021701, 0.144312957756607], [-0.008886941862219905, -0.09231212646375676, 0.09324601566349304, 0.021301419706350976]]))

# jacobian_norm: Size of the product at every step
#   Eq(norm_P[t], sqrt(Sum(P[t, p]**2, (p, 0, -1 + H**2))))
norm_P = np.sqrt((P ** 2).sum(axis=1))
check(norm_P, np.array([0.6760019495756413, 0.28456450882378304, 0.13322565949000068]))

print("dlsteps rnn: all 28 values agree")
