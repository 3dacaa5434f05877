"""dlsteps lstm: LSTM: gates, cell state and backpropagation (DL101 #5 (LSTM, 초보자를 위한 안내서), #6).

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
x = np.array([[0.5, 0.1, 0.2]])  # x
h0 = np.array([0.3, -0.1])  # h0
C0 = np.array([0.5, 0.2])  # c0
W_f = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.4, 0.1, -0.2, 0.3, 0.5]])  # wf
W_i = np.array([[0.2, -0.1, 0.4, 0.3, 0.2], [0.1, 0.3, -0.2, 0.4, 0.1]])  # wi
W_c = np.array([[0.3, -0.1, 0.2, 0.5, -0.2], [-0.4, 0.2, 0.1, 0.3, 0.2]])  # wc
W_o = np.array([[0.1, 0.3, 0.5, 0.2, 0.4], [0.2, 0.2, 0.1, 0.4, 0.3]])  # wo
W_y = np.array([[0.5, -0.3], [0.2, 0.4], [-0.4, 0.1]])  # wy
y = np.array([[0.0, 1.0, 0.0]])  # target

# 1. Forward: stack h_{t-1} on x_t

# z: Stack the previous hidden state on the input: z_t = [h_{t-1}; x_t]
#   Eq(z[t, k], Cases((h0[k], Eq(t, 0) & (k < H)), (h[-1 + t, k], k < H), (x[t, k - H], True)))
z = np.empty((x.shape[0], len(h0) + x.shape[1]))
_h, _C = h0, C0
for _t in range(x.shape[0]):  # the states come from the recurrence
    z[_t] = np.concatenate([_h, x[_t]])
    _C = sigmoid(W_f @ z[_t]) * _C + sigmoid(W_i @ z[_t]) * np.tanh(W_c @ z[_t])
    _h = sigmoid(W_o @ z[_t]) * np.tanh(_C)
check(z, np.array([[0.3, -0.1, 0.5, 0.1, 0.2]]))

# 2. Forward: the forget, input and candidate gates

# a_f: Pre-activation a^f_t = W_f z_t
#   Eq(a_f[t, j], Sum(W_f[j, k]*z[t, k], (k, 0, -1 + H + d)))
a_f = z @ W_f.T
check(a_f, np.array([[0.30000000000000004, 0.13999999999999999]]))

# f: Forget gate f_t
#   Eq(f[t, j], 1/(1 + exp(-a_f[t, j])))
f = sigmoid(a_f)
check(f, np.array([[0.574442516811659, 0.5349429451582145]]))

# a_i: Pre-activation a^i_t = W_i z_t
#   Eq(a_i[t, j], Sum(W_i[j, k]*z[t, k], (k, 0, -1 + H + d)))
a_i = z @ W_i.T
check(a_i, np.array([[0.33999999999999997, -0.039999999999999994]]))

# i: Input gate i_t
#   Eq(i_gate[t, j], 1/(1 + exp(-a_i[t, j])))
i_gate = sigmoid(a_i)
check(i_gate, np.array([[0.5841905229354073, 0.4900013331200345]]))

# a_c: Pre-activation a^c_t = W_c z_t
#   Eq(a_c[t, j], Sum(W_c[j, k]*z[t, k], (k, 0, -1 + H + d)))
a_c = z @ W_c.T
check(a_c, np.array([[0.21, -0.019999999999999993]]))

# c_tilde: Candidate cell state C̃_t
#   Eq(C_tilde[t, j], tanh(a_c[t, j]))
C_tilde = np.tanh(a_c)
check(C_tilde, np.array([[0.20696649972945258, -0.019997333759930923]]))

# 3. Forward: cell state, output gate, hidden state

# C: Cell state C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t
#   Eq(C[t, j], C_tilde[t, j]*i_gate[t, j] + f[t, j]*Cases((C0[j], Eq(t, 0)), (C[-1 + t, j], True)))
C = np.empty_like(f)
for _t in range(len(f)):
    C[_t] = f[_t] * (C[_t - 1] if _t else C0) + i_gate[_t] * C_tilde[_t]
check(C, np.array([[0.40812912611288926, 0.09718986883043049]]))

# a_o: Pre-activation a^o_t = W_o z_t
#   Eq(a_o[t, j], Sum(W_o[j, k]*z[t, k], (k, 0, -1 + H + d)))
a_o = z @ W_o.T
check(a_o, np.array([[0.35000000000000003, 0.19]]))

# o: Output gate o_t
#   Eq(o[t, j], 1/(1 + exp(-a_o[t, j])))
o = sigmoid(a_o)
check(o, np.array([[0.5866175789173301, 0.5473576181430893]]))

# h: Hidden state h_t
#   Eq(h[t, j], o[t, j]*tanh(C[t, j]))
h = o * np.tanh(C)
check(h, np.array([[0.22695236192948665, 0.05303074630785092]]))

# 4. Output: logits, softmax and cross-entropy

# logits: Logits g_t = W_y h_t
#   Eq(g[t, i], Sum(W_y[i, j]*h[t, j], (j, 0, -1 + H)))
g = h @ W_y.T
check(g, np.array([[0.09756695707238805, 0.0666027709090377, -0.08547787014100958]]))

# shift: Shift by the largest logit of each step
#   Eq(m[t], Maximum(g[t, k], k, 0, -1 + n))
m = g.max(axis=1)
check(m, np.array([0.09756695707238805]))

# softmax: Softmax at each step
#   Eq(y_hat[t, i], exp(-m[t] + g[t, i])/Sum(exp(-m[t] + g[t, k]), (k, 0, -1 + n)))
y_hat = np.exp(g - m[:, None]) / np.exp(g - m[:, None]).sum(axis=1, keepdims=True)
check(y_hat, np.array([[0.3568572285870757, 0.34597675672394984, 0.2971660146889746]]))

# log_softmax: Log-probabilities
#   Eq(log(y_hat[t, i]), -m[t] - log(Sum(exp(-m[t] + g[t, k]), (k, 0, -1 + n))) + g[t, i])
log_y_hat = g - m[:, None] - np.log(np.exp(g - m[:, None]).sum(axis=1, keepdims=True))
check(log_y_hat, np.array([[-1.0304194971159555, -1.0613836832793058, -1.213464324329353]]))

# loss: Cross-entropy, summed over t
#   Eq(L, -Sum(log_y_hat[t, k]*y[t, k], (k, 0, -1 + n), (t, 0, -1 + T)))
L = -(y * log_y_hat).sum()
check(L, 1.0613836832793058)

# 5. Backward: ∂L/∂g = ŷ - y, then W_y

# dL_dg: Prediction minus target: ∂L/∂g_t = ŷ_t - y_t
#   Eq(Derivative(L, g[t, i]), -y[t, i] + y_hat[t, i])
dL_dg = y_hat - y
check(dL_dg, np.array([[0.3568572285870757, -0.6540232432760502, 0.2971660146889746]]))

# dW_y: Gradient of W_y, summed over t
#   Eq(Derivative(L, W_y[i, j]), Sum(dL_dg[t, i]*h[t, j], (t, 0, -1 + T)))
dL_dW_y = dL_dg.T @ h
check(dL_dW_y, np.array([[0.08098959089944754, 0.018924405157323975], [-0.14843211981828283, -0.034683340693610086], [0.0674425289188353, 0.01575893553628611]]))

# dl_dh: Gradient sent back to h_t by step t's own output: ∂ℓ/∂h_t = W_yᵀ ∂L/∂g_t
#   Eq(Derivative(ell, h[t, j]), Sum(W_y[i, j]*dL_dg[t, i], (i, 0, -1 + n)))
dl_dh = dL_dg @ W_y
check(dl_dh, np.array([[-0.07124244023726203, -0.3389498644176453]]))

# 6. Backward: through h_t to W_o

# dh: Gradient at the hidden state ∂L/∂h_t
#   Eq(Derivative(L, h[t, j]), Cases((0, Eq(t, -1 + T)), (dL_dz[1 + t, j], True)) + dl_dh[t, j])
dL_dh = np.empty_like(h)
_dh_next, _dC_next = np.zeros(h.shape[1]), np.zeros(h.shape[1])
for _t in reversed(range(len(h))):  # back through time
    dL_dh[_t] = dl_dh[_t] + _dh_next
    _dC = dL_dh[_t] * o[_t] * (1 - np.tanh(C[_t]) ** 2) + _dC_next
    _C_before = C[_t - 1] if _t else C0
    _d = [_dC * _C_before * f[_t] * (1 - f[_t]),
          _dC * C_tilde[_t] * i_gate[_t] * (1 - i_gate[_t]),
          _dC * i_gate[_t] * (1 - C_tilde[_t] ** 2),
          dL_dh[_t] * np.tanh(C[_t]) * o[_t] * (1 - o[_t])]
    _dh_next = sum(W.T @ d_ for W, d_ in zip([W_f, W_i, W_c, W_o], _d))[:h.shape[1]]
    _dC_next = _dC * f[_t]
check(dL_dh, np.array([[-0.07124244023726203, -0.3389498644176453]]))

# J_o: Jacobian ∂h_t/∂o_t of an element-wise product (at t = T-1)
#   Eq(Derivative(h[-1 + T, j], o[-1 + T, k]), KroneckerDelta(j, k)*tanh(C[-1 + T, k]))
J_o = np.diag(np.tanh(C[-1]))
check(J_o, np.array([[0.3868829883147266, 0.0], [0.0, 0.09688500634696148]]))

# do: Gradient at the output gate ∂L/∂o_t
#   Eq(Derivative(L, o[t, j]), dL_dh[t, j]*tanh(C[t, j]))
dL_do = dL_dh * np.tanh(C)
check(dL_do, np.array([[-0.027562488173825256, -0.0328391597654053]]))

# delta_o: δ^o_t = ∂L/∂a^o_t
#   Eq(Derivative(L, a_o[t, j]), (1 - o[t, j])*dL_do[t, j]*o[t, j])
delta_o = dL_do * (o * (1 - o))
check(delta_o, np.array([[-0.00668383158249109, -0.008136140112947648]]))

# dW_o: Gradient of W_o, summed over t
#   Eq(Derivative(L, W_o[j, k]), Sum(delta_o[t, j]*z[t, k], (t, 0, -1 + T)))
dL_dW_o = delta_o.T @ z
check(dL_dW_o, np.array([[-0.002005149474747327, 0.0006683831582491091, -0.003341915791245545, -0.0006683831582491091, -0.0013367663164982181], [-0.002440842033884294, 0.0008136140112947649, -0.004068070056473824, -0.0008136140112947649, -0.0016272280225895297]]))

# 7. Backward: to the cell state C_t

# dC: Gradient at the cell state ∂L/∂C_t
#   Eq(Derivative(L, C[t, j]), (1 - tanh(C[t, j])**2)*dL_dh[t, j]*o[t, j] + Cases((0, Eq(t, -1 + T)), (dL_dC[1 + t, j]*f[1 + t, j], True)))
dL_dC = np.empty_like(C)
_carry = np.zeros(C.shape[1])
for _t in reversed(range(len(C))):
    dL_dC[_t] = dL_dh[_t] * o[_t] * (1 - np.tanh(C[_t]) ** 2) + _carry
    _carry = dL_dC[_t] * f[_t]
check(dL_dC, np.array([[-0.03553669601644205, -0.18378530530708317]]))

# 8. Backward: the forget gate W_f

# df: Gradient at the forget gate ∂L/∂f_t
#   Eq(Derivative(L, f[t, j]), dL_dC[t, j]*Cases((C0[j], Eq(t, 0)), (C[-1 + t, j], True)))
dL_df = dL_dC * np.vstack([C0[None, :], C[:-1]])
check(dL_df, np.array([[-0.017768348008221024, -0.036757061061416636]]))

# delta_f: δ^f_t = ∂L/∂a^f_t
#   Eq(Derivative(L, a_f[t, j]), (1 - f[t, j])*dL_df[t, j]*f[t, j])
delta_f = dL_df * (f * (1 - f))
check(delta_f, np.array([[-0.004343620355623338, -0.009144384547681553]]))

# dW_f: Gradient of W_f, summed over t
#   Eq(Derivative(L, W_f[j, k]), Sum(delta_f[t, j]*z[t, k], (t, 0, -1 + T)))
dL_dW_f = delta_f.T @ z
check(dL_dW_f, np.array([[-0.0013030861066870014, 0.0004343620355623339, -0.002171810177811669, -0.0004343620355623339, -0.0008687240711246678], [-0.002743315364304466, 0.0009144384547681554, -0.0045721922738407765, -0.0009144384547681554, -0.0018288769095363107]]))

# 9. Backward: the input gate W_i

# di: Gradient at the input gate ∂L/∂i_t
#   Eq(Derivative(L, i_gate[t, j]), C_tilde[t, j]*dL_dC[t, j])
dL_di = dL_dC * C_tilde
check(dL_di, np.array([[-0.007354905586472592, 0.003675216090396546]]))

# delta_i: δ^i_t = ∂L/∂a^i_t
#   Eq(Derivative(L, a_i[t, j]), (1 - i_gate[t, j])*dL_di[t, j]*i_gate[t, j])
delta_i = dL_di * (i_gate * (1 - i_gate))
check(delta_i, np.array([[-0.0017865945010864287, 0.0009184365989736491]]))

# dW_i: Gradient of W_i, summed over t
#   Eq(Derivative(L, W_i[j, k]), Sum(delta_i[t, j]*z[t, k], (t, 0, -1 + T)))
dL_dW_i = delta_i.T @ z
check(dL_dW_i, np.array([[-0.0005359783503259286, 0.0001786594501086429, -0.0008932972505432144, -0.0001786594501086429, -0.0003573189002172858], [0.0002755309796920947, -9.184365989736492e-05, 0.00045921829948682456, 9.184365989736492e-05, 0.00018368731979472985]]))

# 10. Backward: the candidate W_c

# dC_tilde: Gradient at the candidate ∂L/∂C̃_t
#   Eq(Derivative(L, C_tilde[t, j]), dL_dC[t, j]*i_gate[t, j])
dL_dC_tilde = dL_dC * i_gate
check(dL_dC_tilde, np.array([[-0.020760201029241886, -0.09005504460834331]]))

# delta_c: δ^c_t = ∂L/∂a^c_t
#   Eq(Derivative(L, a_c[t, j]), (1 - C_tilde[t, j]**2)*dL_dC_tilde[t, j])
delta_c = dL_dC_tilde * (1 - C_tilde ** 2)
check(delta_c, np.array([[-0.019870935077594742, -0.0900190321941945]]))

# dW_c: Gradient of W_c, summed over t
#   Eq(Derivative(L, W_c[j, k]), Sum(delta_c[t, j]*z[t, k], (t, 0, -1 + T)))
dL_dW_c = delta_c.T @ z
check(dL_dW_c, np.array([[-0.0059612805232784226, 0.0019870935077594743, -0.009935467538797371, -0.0019870935077594743, -0.003974187015518949], [-0.02700570965825835, 0.009001903219419452, -0.04500951609709725, -0.009001903219419452, -0.018003806438838903]]))

# 11. Back through time (beyond the lecture when T > 1)

# dz: Gradient at z_t = [h_{t-1}; x_t]
#   Eq(Derivative(L, z[t, k]), Sum(W_c[j, k]*delta_c[t, j] + W_f[j, k]*delta_f[t, j] + W_i[j, k]*delta_i[t, j] + W_o[j, k]*delta_o[t, j], (j, 0, -1 + H)))
dL_dz = delta_f @ W_f + delta_i @ W_i + delta_c @ W_c + delta_o @ W_o
check(dL_dz, np.array([[0.02339313007860587, -0.020978062524508373, -0.017504154354858706, -0.04618176677602327, -0.026153471782173053]]))

# dh0: Gradient at the initial hidden state h_{-1}
#   Eq(Derivative(L, h0[j]), dL_dz[0, j])
dL_dh0 = dL_dz[0, :len(h0)]
check(dL_dh0, np.array([0.02339313007860587, -0.020978062524508373]))

# dC0: Gradient at the initial cell state C_{-1}
#   Eq(Derivative(L, C0[j]), dL_dC[0, j]*f[0, j])
dL_dC0 = dL_dC[0] * f[0]
check(dL_dC0, np.array([-0.020413789098855828, -0.0983146524977727]))

# 12. Why the cell state keeps gradients alive (beyond the lecture)

# cell_path: Cell path: Π f, the additive path through C
#   Eq(cell_path[t, j], Cases((1, Eq(t, -1 + T)), (cell_path[1 + t, j]*f[1 + t, j], True)))
_factor = f
cell_path = np.ones_like(_factor)
for _t in reversed(range(len(_factor) - 1)):
    cell_path[_t] = cell_path[_t + 1] * _factor[_t + 1]
check(cell_path, np.array([[1.0, 1.0]]))

# squashed_path: The same path squashed at every step, as an RNN's state is
#   Eq(squashed_path[t, j], Cases((1, Eq(t, -1 + T)), ((1 - tanh(C[1 + t, j])**2)*f[1 + t, j]*squashed_path[1 + t, j], True)))
_factor = f * (1 - np.tanh(C) ** 2)
squashed_path = np.ones_like(_factor)
for _t in reversed(range(len(_factor) - 1)):
    squashed_path[_t] = squashed_path[_t + 1] * _factor[_t + 1]
check(squashed_path, np.array([[1.0, 1.0]]))

print("dlsteps lstm: all 39 values agree")
