"""dlsteps autoencoder: Autoencoder: reconstruction loss and backpropagation (DL101 #9, #10).

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
x = np.array([1.0, 0.0, 0.0, 1.0])  # x
W_e = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]])  # we
W_d = np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.7], [0.4, 0.8]])  # wd
alpha = 1.0  # lr

# 1. Encoder

# enc.linear: Weighted sum
#   Eq(u[i], Sum(x[k]*W_e[i, k], (k, 0, -1 + n)))
u = W_e @ x
check(u, np.array([0.5, 1.3]))

# enc.activation: Sigmoid
#   Eq(z[i], 1/(1 + exp(-u[i])))
z = sigmoid(u)
check(z, np.array([0.6224593312018546, 0.7858349830425586]))

# 2. Decoder

# dec.linear: Weighted sum
#   Eq(v[i], Sum(z[k]*W_d[i, k], (k, 0, -1 + m)))
v = W_d @ z
check(v, np.array([0.45516342464146475, 0.595992856065906, 0.7368222874903473, 0.8776517189147889]))

# dec.activation: Sigmoid
#   Eq(x_hat[i], 1/(1 + exp(-v[i])))
x_hat = sigmoid(v)
check(x_hat, np.array([0.6118661807686692, 0.6447390006720145, 0.6763005875418007, 0.7063353633263679]))

# 3. Reconstruction loss

# loss: Squared-error loss
#   Eq(L, Sum((-x_hat[i] + x[i])**2, (i, 0, -1 + n))/n)
L = np.mean((x - x_hat) ** 2)
check(L, 0.2774894110401721)

# gradient: Gradient of the loss by the output
#   Eq(Derivative(L, x_hat[i]), 2*(-x[i] + x_hat[i])/n)
dL_dx_hat = 2 * (x_hat - x) / np.size(x_hat)
check(dL_dx_hat, np.array([-0.19406690961566542, 0.32236950033600725, 0.33815029377090033, -0.14683231833681604]))

# 4. Decoder gradient

# dec.derivative: Derivative of the activation
#   Eq(Derivative(x_hat[i], v[i]), (1 - x_hat[i])*x_hat[i])
dxhat_dv = x_hat * (1 - x_hat)
check(dxhat_dv, np.array([0.23748595760023145, 0.22905062168446658, 0.2189181028324159, 0.20742571784097574]))

# dec.delta: Delta: the gradient at the pre-activation
#   Eq(delta_d[i], dL_dx_hat[i]*dxhat_dv[i])
delta_d = dL_dx_hat * dxhat_dv
check(delta_d, np.array([-0.046088165868593864, 0.07383893446407332, 0.0740272207845496, -0.03045679903326873]))

# dec.dL_dW: Gradient of the weights
#   Eq(Derivative(L, W_d[i, j]), delta_d[i]*z[j])
dL_dW_d = np.outer(delta_d, z)
check(dL_dW_d, np.array([[-0.028688008902885077, -0.03621769304380909], [0.04596173376316465, 0.05802521781245565], [0.04607893434028277, 0.05817317978991427], [-0.018958118756797745, -0.023934018151839348]]))

# dec.dL_dx: Gradient passed to the input
#   Eq(Derivative(L, z[j]), Sum(delta_d[i]*W_d[i, j], (i, 0, -1 + n)))
dL_dz = W_d.T @ delta_d
check(dL_dz, np.array([0.020184416928012663, 0.048712893066716785]))

# 5. Encoder gradient

# enc.derivative: Derivative of the activation
#   Eq(Derivative(z[i], u[i]), (1 - z[i])*z[i])
dz_du = z * (1 - z)
check(dz_du, np.array([0.2350037122015945, 0.16829836246906024]))

# enc.delta: Delta: the gradient at the pre-activation
#   Eq(delta_e[i], dL_dz[i]*dz_du[i])
delta_e = dL_dz * dz_du
check(delta_e, np.array([0.00474341290670768, 0.008198300134258873]))

# enc.dL_dW: Gradient of the weights
#   Eq(Derivative(L, W_e[i, j]), delta_e[i]*x[j])
dL_dW_e = np.outer(delta_e, x)
check(dL_dW_e, np.array([[0.00474341290670768, 0.0, 0.0, 0.00474341290670768], [0.008198300134258873, 0.0, 0.0, 0.008198300134258873]]))

# 6. Gradient-descent update

# dec.update_W: Gradient-descent update of Wᵈ
#   Eq(W_d_new[i, j], -alpha*dL_dW_d[i, j] + W_d[i, j])
W_d_new = W_d - alpha * dL_dW_d
check(W_d_new, np.array([[0.1286880089028851, 0.5362176930438091], [0.15403826623683536, 0.5419747821875444], [0.2539210656597172, 0.6418268202100856], [0.4189581187567978, 0.8239340181518394]]))

# enc.update_W: Gradient-descent update of Wᵉ
#   Eq(W_e_new[i, j], -alpha*dL_dW_e[i, j] + W_e[i, j])
W_e_new = W_e - alpha * dL_dW_e
check(W_e_new, np.array([[0.09525658709329232, 0.2, 0.3, 0.39525658709329237], [0.4918016998657411, 0.6, 0.7, 0.7918016998657411]]))

# 7. Loss after the update

# after.enc.linear: Weighted sum
#   Eq(u_new[i], Sum(x[k]*W_e_new[i, k], (k, 0, -1 + n)))
u_new = W_e_new @ x
check(u_new, np.array([0.4905131741865847, 1.2836033997314822]))

# after.enc.activation: Sigmoid
#   Eq(z_new[i], 1/(1 + exp(-u_new[i])))
z_new = sigmoid(u_new)
check(z_new, np.array([0.6202273156138807, 0.7830625304668031]))

# after.dec.linear: Weighted sum
#   Eq(v_new[i], Sum(z_new[k]*W_d_new[i, k], (k, 0, -1 + m)))
v_new = W_d_new @ z_new
check(v_new, np.array([0.49970780190948816, 0.5199388847588615, 0.6600793148871139, 0.9050411265428304]))

# after.dec.activation: Sigmoid
#   Eq(x_hat_new[i], 1/(1 + exp(-v_new[i])))
x_hat_new = sigmoid(v_new)
check(x_hat_new, np.array([0.622390661109195, 0.627133475414741, 0.6592782052155068, 0.7119843530035214]))

# loss_after: Loss after the update
#   Eq(L_new, Sum((-x_hat_new[i] + x[i])**2, (i, 0, -1 + n))/n)
L_new = np.mean((x - x_hat_new) ** 2)
check(L_new, 0.2633714933975756)

# loss_change: Change of the loss
#   Eq(Delta_L, L_new - L)
Delta_L = L_new - L
check(Delta_L, -0.014117917642596511)

print("dlsteps autoencoder: all 21 values agree")
