"""dlsteps cnn: Convolutional neural network: kernels, pooling and the backward pass (DL101 #1 (합성곱신경망 CNN), #2).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

def windows(Y: np.ndarray, q: int) -> np.ndarray:
    """The q × q pooling windows of Y (stride q; rows and columns past ⌊n/q⌋ q dropped),
    shape (m, m, q q), each window row by row."""
    m = Y.shape[0] // q
    return Y[:m * q, :m * q].reshape(m, q, m, q).transpose(0, 2, 1, 3).reshape(m, m, q * q)

def unpool(grad: np.ndarray, first: np.ndarray | None, q: int, side: int) -> np.ndarray:
    """∂L/∂Y of side `side` from ∂L/∂(pooled): each window's gradient goes to its first
    maximum (`first`, row-major within the window) or, for average pooling (None), 1/q² each."""
    out = np.zeros((side, side))
    for r, c in np.ndindex(grad.shape):
        if first is None:
            out[r * q:(r + 1) * q, c * q:(c + 1) * q] += grad[r, c] / q ** 2
        else:
            row, col = divmod(int(first[r, c]), q)
            out[r * q + row, c * q + col] += grad[r, c]
    return out

def conv2d_backward(P: np.ndarray, K: np.ndarray, dY: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """(∂L/∂K, ∂L/∂P) of Y = conv2d(P, K, s) for ∂L/∂Y = dY: each window adds dY_ij times
    its patch of P to ∂L/∂K, and dY_ij times K to its patch of ∂L/∂P."""
    k = K.shape[0]
    dK, dP = np.zeros(K.shape), np.zeros(P.shape)
    for r, c in np.ndindex(dY.shape):
        dK += dY[r, c] * P[r * s:r * s + k, c * s:c * s + k]
        dP[r * s:r * s + k, c * s:c * s + k] += dY[r, c] * K
    return dK, dP

# Inputs
X = np.array([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]])  # image
X2 = np.array([[0.0, 1.0, 1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]])  # image2
K1 = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])  # kernel1
K2 = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # kernel2
s = 1  # stride
p = 0  # padding
q = 2  # pool_size
W = np.array([[0.15, 0.15, 0.15, 0.15, -0.1, -0.1, -0.1, -0.1], [-0.15, -0.15, -0.15, -0.15, 0.1, 0.1, 0.1, 0.1]])  # dense
t = np.array([1.0, 0.0])  # target
s_other = 2  # stride_other

# 1. Convolution

# padded: Pad the image with zeros
#   Eq(P[i, j], ZeroOutside(X[i - p, j - p], n))
P = np.pad(X, p)
check(P, np.array([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]]))

# out_size: Size of the feature map
#   Eq(n_out, 1 + floor((n - k + 2*p)/s))
n_out = (X.shape[0] + 2 * p - K1.shape[0]) // s + 1
check(n_out, 4)

# window_products: One window: the products, element by element
#   Eq(Pi[a, b], K1[a, b]*P[a, b])
Pi = P[:K1.shape[0], :K1.shape[1]] * K1
check(Pi, np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))

# window_sum: One window: the sum
#   Eq(Y1_00, Sum(Pi[a, b], (b, 0, -1 + k), (a, 0, -1 + k)))
Y1_00 = Pi.sum()
check(Y1_00, 1.0)

# conv1: Feature map of kernel 1: every window
#   Eq(Y1[i, j], Sum(K1[a, b]*P[a + i*s, b + j*s], (b, 0, -1 + k), (a, 0, -1 + k)))
Y1 = np.array([[np.sum(P[r * s:r * s + K1.shape[0], c * s:c * s + K1.shape[0]] * K1)
    for c in range(4)] for r in range(4)])
check(Y1, np.array([[1.0, 3.0, 0.0, 0.0], [1.0, 3.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]))

# conv2: Feature map of kernel 2: every window
#   Eq(Y2[i, j], Sum(K2[a, b]*P[a + i*s, b + j*s], (b, 0, -1 + k), (a, 0, -1 + k)))
Y2 = np.array([[np.sum(P[r * s:r * s + K2.shape[0], c * s:c * s + K2.shape[0]] * K2)
    for c in range(4)] for r in range(4)])
check(Y2, np.array([[1.0, 2.0, 2.0, 0.0], [2.0, 1.0, 2.0, 0.0], [1.0, 1.0, 2.0, 0.0], [1.0, 1.0, 2.0, 0.0]]))

# 2. Which kernel responds to which image

# other.padded: Pad the image with zeros
#   Eq(P2[i, j], ZeroOutside(X2[i - p, j - p], n))
P2 = np.pad(X2, p)
check(P2, np.array([[0.0, 1.0, 1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]]))

# other.conv1: Feature map of kernel 1 on X′
#   Eq(Y21[i, j], Sum(K1[a, b]*P2[a + i*s, b + j*s], (b, 0, -1 + k), (a, 0, -1 + k)))
Y21 = np.array([[np.sum(P2[r * s:r * s + K1.shape[0], c * s:c * s + K1.shape[0]] * K1)
    for c in range(4)] for r in range(4)])
check(Y21, np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]))

# other.conv2: Feature map of kernel 2 on X′
#   Eq(Y22[i, j], Sum(K2[a, b]*P2[a + i*s, b + j*s], (b, 0, -1 + k), (a, 0, -1 + k)))
Y22 = np.array([[np.sum(P2[r * s:r * s + K2.shape[0], c * s:c * s + K2.shape[0]] * K2)
    for c in range(4)] for r in range(4)])
check(Y22, np.array([[4.0, 2.0, 2.0, 1.0], [2.0, 0.0, 0.0, 1.0], [2.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 2.0]]))

# peak1: Strongest response of kernel 1 on X
#   Eq(R1, Maximum(Maximum(Y1[i, j], j, 0, -1 + n_out), i, 0, -1 + n_out))
R1 = Y1.max()
check(R1, 3.0)

# peak2: Strongest response of kernel 2 on X
#   Eq(R2, Maximum(Maximum(Y2[i, j], j, 0, -1 + n_out), i, 0, -1 + n_out))
R2 = Y2.max()
check(R2, 2.0)

# other.peak1: Strongest response of kernel 1 on X′
#   Eq(R21, Maximum(Maximum(Y21[i, j], j, 0, -1 + n_out), i, 0, -1 + n_out))
R21 = Y21.max()
check(R21, 1.0)

# other.peak2: Strongest response of kernel 2 on X′
#   Eq(R22, Maximum(Maximum(Y22[i, j], j, 0, -1 + n_out), i, 0, -1 + n_out))
R22 = Y22.max()
check(R22, 4.0)

# responses: Which kernel responds to which image
R = np.array([[R1, R2], [R21, R22]])
check(R, np.array([[3.0, 2.0], [1.0, 4.0]]))

# 3. Stride 1 against stride 2

# out_size_other: Size of the feature map
#   Eq(n_other, 1 + floor((n - k + 2*p)/s'))
n_other = (X.shape[0] + 2 * p - K1.shape[0]) // s_other + 1
check(n_other, 2)

# conv1_other: Feature map of kernel 1 at stride 2
#   Eq(Z[i, j], Sum(K1[a, b]*P[a + i*s', b + j*s'], (b, 0, -1 + k), (a, 0, -1 + k)))
Z = np.array([[np.sum(P[r * s_other:r * s_other + K1.shape[0], c * s_other:c * s_other + K1.shape[0]] * K1)
    for c in range(2)] for r in range(2)])
check(Z, np.array([[1.0, 0.0], [0.0, 0.0]]))

# 4. Pooling

# pooled_size: Size of the pooled map
#   Eq(n_p, floor(n_out/q))
n_p = n_out // q
check(n_p, 2)

# max_pool1: Max pooling
#   Eq(M1[i, j], Maximum(Maximum(Y1[u + i*q, v + j*q], v, 0, -1 + q), u, 0, -1 + q))
M1 = windows(Y1, q).max(axis=-1)
check(M1, np.array([[3.0, 0.0], [3.0, 0.0]]))

# first_max1: Where each maximum sits
#   Eq(r1[i, j], Argmax(Y1[i*q + ⌊w/q⌋, j*q + (w%q)], w, 0, -1 + q**2))
r1 = windows(Y1, q).argmax(axis=-1)
check(r1, np.array([[1.0, 0.0], [1.0, 0.0]]))

# avg_pool1: Average pooling
#   Eq(A1[i, j], Sum(Y1[u + i*q, v + j*q], (v, 0, -1 + q), (u, 0, -1 + q))/q**2)
A1 = windows(Y1, q).mean(axis=-1)
check(A1, np.array([[2.0, 0.0], [1.5, 0.0]]))

# max_pool2: Max pooling
#   Eq(M2[i, j], Maximum(Maximum(Y2[u + i*q, v + j*q], v, 0, -1 + q), u, 0, -1 + q))
M2 = windows(Y2, q).max(axis=-1)
check(M2, np.array([[2.0, 2.0], [1.0, 2.0]]))

# first_max2: Where each maximum sits
#   Eq(r2[i, j], Argmax(Y2[i*q + ⌊w/q⌋, j*q + (w%q)], w, 0, -1 + q**2))
r2 = windows(Y2, q).argmax(axis=-1)
check(r2, np.array([[1.0, 0.0], [0.0, 0.0]]))

# avg_pool2: Average pooling
#   Eq(A2[i, j], Sum(Y2[u + i*q, v + j*q], (v, 0, -1 + q), (u, 0, -1 + q))/q**2)
A2 = windows(Y2, q).mean(axis=-1)
check(A2, np.array([[1.5, 1.0], [1.0, 1.0]]))

# 5. Flatten, dense layer, softmax

# flatten: Flatten
#   Eq(f[l], Sum(M1[i, j]*KroneckerDelta(l, j + n_p*i), (j, 0, -1 + n_p), (i, 0, -1 + n_p)) + Sum(M2[i, j]*KroneckerDelta(l, j + n_p**2 + n_p*i), (j, 0, -1 + n_p), (i, 0, -1 + n_p)))
f = np.concatenate([M1.ravel(), M2.ravel()])
check(f, np.array([3.0, 0.0, 3.0, 0.0, 2.0, 2.0, 1.0, 2.0]))

# dense.linear: Weighted sum
#   Eq(z[i], Sum(f[k]*W[i, k], (k, 0, -1 + n_f)))
z = W @ f
check(z, np.array([0.19999999999999996, -0.19999999999999996]))

# shift: Shift by the largest logit
#   Eq(m, Maximum(z[k], k, 0, -1 + n_z))
m = z.max()
check(m, 0.19999999999999996)

# exp: Exponentials
#   Eq(u[i], exp(-m + z[i]))
u = np.exp(z - m)
check(u, np.array([1.0, 0.6703200460356393]))

# sum: Their sum
#   Eq(S, Sum(u[k], (k, 0, -1 + n_z)))
S = u.sum()
check(S, 1.6703200460356393)

# softmax: Softmax
#   Eq(y[i], u[i]/S)
y = u / S
check(y, np.array([0.598687660112452, 0.401312339887548]))

# log_softmax: Log-probabilities
#   Eq(log(y[k]), z[k] - m - log(S))
log_y = z - m - np.log(S)
check(log_y, np.array([-0.5130152523999526, -0.9130152523999525]))

# loss: Cross-entropy loss
#   Eq(L, -Sum(log_y[k]*t[k], (k, 0, -1 + n_z)))
L = -(t * log_y).sum()
check(L, 0.5130152523999526)

# 6. Backward pass (beyond #1)

# gradient: Simplify: prediction minus target
#   Eq(Derivative(L, z[j]), y[j] - t[j])
dL_dz = y - t
check(dL_dz, np.array([-0.401312339887548, 0.401312339887548]))

# dense.dL_dW: Gradient of the weights
#   Eq(Derivative(L, W[i, j]), dL_dz[i]*f[j])
dL_dW = np.outer(dL_dz, f)
check(dL_dW, np.array([[-1.203937019662644, 0.0, -1.203937019662644, 0.0, -0.802624679775096, -0.802624679775096, -0.401312339887548, -0.802624679775096], [1.203937019662644, 0.0, 1.203937019662644, 0.0, 0.802624679775096, 0.802624679775096, 0.401312339887548, 0.802624679775096]]))

# dense.dL_dx: Gradient passed to the input
#   Eq(Derivative(L, f[j]), Sum(dL_dz[i]*W[i, j], (i, 0, -1 + n_z)))
dL_df = W.T @ dL_dz
check(dL_df, np.array([-0.1203937019662644, -0.1203937019662644, -0.1203937019662644, -0.1203937019662644, 0.0802624679775096, 0.0802624679775096, 0.0802624679775096, 0.0802624679775096]))

# dL_dpooled1: Back into map 1
#   Eq(Derivative(L, M1[i, j]), dL_df[j + n_p*i])
dL_dM1 = dL_df[0:4].reshape(2, 2)
check(dL_dM1, np.array([[-0.1203937019662644, -0.1203937019662644], [-0.1203937019662644, -0.1203937019662644]]))

# dL_dpooled2: Back into map 2
#   Eq(Derivative(L, M2[i, j]), dL_df[j + n_p**2 + n_p*i])
dL_dM2 = dL_df[4:8].reshape(2, 2)
check(dL_dM2, np.array([[0.0802624679775096, 0.0802624679775096], [0.0802624679775096, 0.0802624679775096]]))

# dL_dY1: Back through max pooling
#   Eq(Derivative(L, Y1[i, j]), Covered(dL_dM1[⌊i/q⌋, ⌊j/q⌋], n_p)*KroneckerDelta(q*(i%q) + (j%q), Covered(r1[⌊i/q⌋, ⌊j/q⌋], n_p)))
dL_dY1 = unpool(dL_dM1, r1, q, 4)
check(dL_dY1, np.array([[0.0, -0.1203937019662644, -0.1203937019662644, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, -0.1203937019662644, -0.1203937019662644, 0.0], [0.0, 0.0, 0.0, 0.0]]))

# dL_dY2: Back through max pooling
#   Eq(Derivative(L, Y2[i, j]), Covered(dL_dM2[⌊i/q⌋, ⌊j/q⌋], n_p)*KroneckerDelta(q*(i%q) + (j%q), Covered(r2[⌊i/q⌋, ⌊j/q⌋], n_p)))
dL_dY2 = unpool(dL_dM2, r2, q, 4)
check(dL_dY2, np.array([[0.0, 0.0802624679775096, 0.0802624679775096, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0802624679775096, 0.0, 0.0802624679775096, 0.0], [0.0, 0.0, 0.0, 0.0]]))

# kernel_terms: One kernel entry: every window's term
#   Eq(T[i, j], P[i*s, j*s]*dL_dY1[i, j])
T = dL_dY1 * P[:3 * s + 1:s, :3 * s + 1:s]
check(T, np.array([[0.0, 0.0, -0.1203937019662644, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -0.1203937019662644, 0.0], [0.0, 0.0, 0.0, 0.0]]))

# kernel_entry: One kernel entry: the sum
#   Eq(Derivative(L, K1[0, 0]), Sum(T[i, j], (j, 0, -1 + n_out), (i, 0, -1 + n_out)))
dL_dK1_00 = T.sum()
check(dL_dK1_00, -0.2407874039325288)

# dL_dK1: Gradient of the kernel
#   Eq(Derivative(L, K1[a, b]), Sum(P[a + i*s, b + j*s]*dL_dY1[i, j], (j, 0, -1 + n_out), (i, 0, -1 + n_out)))
dL_dK1 = conv2d_backward(P, K1, dL_dY1, s)[0]
check(dL_dK1, np.array([[-0.2407874039325288, -0.2407874039325288, 0.0], [-0.36118110589879315, -0.2407874039325288, 0.0], [-0.2407874039325288, -0.2407874039325288, 0.0]]))

# dL_dK2: Gradient of the kernel
#   Eq(Derivative(L, K2[a, b]), Sum(P[a + i*s, b + j*s]*dL_dY2[i, j], (j, 0, -1 + n_out), (i, 0, -1 + n_out)))
dL_dK2 = conv2d_backward(P, K2, dL_dY2, s)[0]
check(dL_dK2, np.array([[0.1605249359550192, 0.0802624679775096, 0.0802624679775096], [0.24078740393252882, 0.0802624679775096, 0.0802624679775096], [0.1605249359550192, 0.0802624679775096, 0.0802624679775096]]))

# dL_dP_via1: Gradient of the padded input through one kernel
#   Eq(D1[i, j], Sum(dL_dY1[u, v]*ZeroOutside(K1[i - u*s, j - v*s], k), (v, 0, -1 + n_out), (u, 0, -1 + n_out)))
D1 = conv2d_backward(P, K1, dL_dY1, s)[1]
check(D1, np.array([[0.0, 0.0, -0.1203937019662644, -0.1203937019662644, 0.0, 0.0], [0.0, 0.0, -0.1203937019662644, -0.1203937019662644, 0.0, 0.0], [0.0, 0.0, -0.2407874039325288, -0.2407874039325288, 0.0, 0.0], [0.0, 0.0, -0.1203937019662644, -0.1203937019662644, 0.0, 0.0], [0.0, 0.0, -0.1203937019662644, -0.1203937019662644, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]))

# dL_dP_via2: Gradient of the padded input through one kernel
#   Eq(D2[i, j], Sum(dL_dY2[u, v]*ZeroOutside(K2[i - u*s, j - v*s], k), (v, 0, -1 + n_out), (u, 0, -1 + n_out)))
D2 = conv2d_backward(P, K2, dL_dY2, s)[1]
check(D2, np.array([[0.0, 0.0, 0.0802624679775096, 0.1605249359550192, 0.0802624679775096, 0.0], [0.0, 0.0802624679775096, 0.0802624679775096, 0.0, 0.0, 0.0], [0.0, 0.1605249359550192, 0.1605249359550192, 0.0802624679775096, 0.0802624679775096, 0.0], [0.0802624679775096, 0.0, 0.0802624679775096, 0.0, 0.0, 0.0], [0.0802624679775096, 0.0, 0.0802624679775096, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]))

# dL_dP: Gradient of the padded input
#   Eq(Derivative(L, P[i, j]), D1[i, j] + D2[i, j])
dL_dP = D1 + D2
check(dL_dP, np.array([[0.0, 0.0, -0.04013123398875479, 0.040131233988754816, 0.0802624679775096, 0.0], [0.0, 0.0802624679775096, -0.04013123398875479, -0.1203937019662644, 0.0, 0.0], [0.0, 0.1605249359550192, -0.08026246797750958, -0.16052493595501918, 0.0802624679775096, 0.0], [0.0802624679775096, 0.0, -0.04013123398875479, -0.1203937019662644, 0.0, 0.0], [0.0802624679775096, 0.0, -0.04013123398875479, -0.1203937019662644, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]))

# dL_dX: Gradient of the image
#   Eq(Derivative(L, X[i, j]), dL_dP[i + p, j + p])
dL_dX = dL_dP[p:p + 6, p:p + 6]
check(dL_dX, np.array([[0.0, 0.0, -0.04013123398875479, 0.040131233988754816, 0.0802624679775096, 0.0], [0.0, 0.0802624679775096, -0.04013123398875479, -0.1203937019662644, 0.0, 0.0], [0.0, 0.1605249359550192, -0.08026246797750958, -0.16052493595501918, 0.0802624679775096, 0.0], [0.0802624679775096, 0.0, -0.04013123398875479, -0.1203937019662644, 0.0, 0.0], [0.0802624679775096, 0.0, -0.04013123398875479, -0.1203937019662644, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]))

print("dlsteps cnn: all 46 values agree")
