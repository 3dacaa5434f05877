"""dlsteps gan: GAN: one discriminator step and one generator step (DL101 #11, #12).

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
z = np.array([1.0, -1.0])  # z
W_g = np.array([[0.5, 0.2], [0.1, -0.3], [0.4, 0.4]])  # wg
b_g = np.array([0.0, 0.0, 0.0])  # bg
x = np.array([1.0, 0.0, 0.0])  # real
w = np.array([1.0, -1.0, -1.0])  # w
b = 0.0  # b
eta = 0.5  # lr

# 1. Generator: a fake colour

# g.linear: Weighted sum
#   Eq(u[i], b_g[i] + Sum(z[k]*W_g[i, k], (k, 0, -1 + m)))
u = W_g @ z + b_g
check(u, np.array([0.3, 0.4, 0.0]))

# g.activation: Sigmoid
#   Eq(G[i], 1/(1 + exp(-u[i])))
G = sigmoid(u)
check(G, np.array([0.574442516811659, 0.598687660112452, 0.5]))

# 2. Discriminator on the real and the fake colour

# d.real.linear: Weighted sum
#   Eq(s_real, b + Sum(w[k]*x[k], (k, 0, -1 + n)))
s_real = w @ x + b
check(s_real, 1.0)

# d.real.activation: Sigmoid
#   Eq(D_real, 1/(1 + exp(-s_real)))
D_real = sigmoid(s_real)
check(D_real, 0.7310585786300049)

# d.fake.linear: Weighted sum
#   Eq(s_fake, b + Sum(G[k]*w[k], (k, 0, -1 + n)))
s_fake = w @ G + b
check(s_fake, -0.524245143300793)

# d.fake.activation: Sigmoid
#   Eq(D_fake, 1/(1 + exp(-s_fake)))
D_fake = sigmoid(s_fake)
check(D_fake, 0.37186011419888154)

# 3. Discriminator loss

# d.loss_real: Real term
#   Eq(L_real, -log(D_real))
L_real = -np.log(D_real)
check(L_real, 0.3132616875182228)

# d.loss_fake: Fake term
#   Eq(L_fake, -log(1 - D_fake))
L_fake = -np.log(1 - D_fake)
check(L_fake, 0.464992389227658)

# d.loss: Discriminator loss
#   Eq(L_D, L_fake + L_real)
L_D = L_real + L_fake
check(L_D, 0.7782540767458808)

# 4. Discriminator gradients

# d.real.dL_dD: Gradient of the term by D
#   Eq(Derivative(L_real, D_real), -1/D_real)
dL_real_dD_real = -1 / D_real
check(dL_real_dD_real, -1.3678794411714423)

# d.real.derivative: Derivative of the activation
#   Eq(Derivative(D_real, s_real), D_real*(1 - D_real))
dD_real_ds = D_real * (1 - D_real)
check(dD_real_ds, 0.19661193324148185)

# d.real.delta: Delta: the gradient at the pre-activation
#   Eq(delta_real, dD_real_ds*dL_real_dD_real)
delta_real = dL_real_dD_real * dD_real_ds
check(delta_real, -0.2689414213699951)

# d.real.dL_dW: Gradient of the weights
#   Eq(Derivative(L_real, w[j]), delta_real*x[j])
dLreal_dw = delta_real * x
check(dLreal_dw, np.array([-0.2689414213699951, 0.0, 0.0]))

# d.real.dL_db: Gradient of the bias
#   Eq(Derivative(L_real, b), delta_real)
dLreal_db = delta_real * 1.0
check(dLreal_db, -0.2689414213699951)

# d.fake.dL_dD: Gradient of the term by D
#   Eq(Derivative(L_fake, D_fake), 1/(1 - D_fake))
dL_fake_dD_fake = 1 / (1 - D_fake)
check(dL_fake_dD_fake, 1.592002072475652)

# d.fake.derivative: Derivative of the activation
#   Eq(Derivative(D_fake, s_fake), D_fake*(1 - D_fake))
dD_fake_ds = D_fake * (1 - D_fake)
check(dD_fake_ds, 0.2335801696668763)

# d.fake.delta: Delta: the gradient at the pre-activation
#   Eq(delta_fake, dD_fake_ds*dL_fake_dD_fake)
delta_fake = dL_fake_dD_fake * dD_fake_ds
check(delta_fake, 0.37186011419888154)

# d.fake.dL_dW: Gradient of the weights
#   Eq(Derivative(L_fake, w[j]), delta_fake*G[j])
dLfake_dw = delta_fake * G
check(dLfake_dw, np.array([0.21361225990227645, 0.22262806165887758, 0.18593005709944077]))

# d.fake.dL_db: Gradient of the bias
#   Eq(Derivative(L_fake, b), delta_fake)
dLfake_db = delta_fake * 1.0
check(dLfake_db, 0.37186011419888154)

# d.dL_dw: Gradient of L_D by w
#   Eq(Derivative(L_D, w[j]), dLfake_dw[j] + dLreal_dw[j])
dLD_dw = dLreal_dw + dLfake_dw
check(dLD_dw, np.array([-0.05532916146771866, 0.22262806165887758, 0.18593005709944077]))

# d.dL_db: Gradient of L_D by b
#   Eq(Derivative(L_D, b), dLfake_db + dLreal_db)
dLD_db = dLreal_db + dLfake_db
check(dLD_db, 0.10291869282888644)

# 5. Discriminator update

# d.update_w: Gradient-descent update of w
#   Eq(w_new[i], -eta*dLD_dw[i] + w[i])
w_new = w - eta * dLD_dw
check(w_new, np.array([1.0276645807338594, -1.1113140308294387, -1.0929650285497203]))

# d.update_b: Gradient-descent update of b
#   Eq(b_new, b - dLD_db*eta)
b_new = b - eta * dLD_db
check(b_new, -0.05145934641444322)

# 6. Discriminator after its update

# d.after.real.linear: Weighted sum
#   Eq(s_real_new, b_new + Sum(w_new[k]*x[k], (k, 0, -1 + n)))
s_real_new = w_new @ x + b_new
check(s_real_new, 0.9762052343194161)

# d.after.real.activation: Sigmoid
#   Eq(D_real_new, 1/(1 + exp(-s_real_new)))
D_real_new = sigmoid(s_real_new)
check(D_real_new, 0.7263546033075551)

# d.after.fake.linear: Weighted sum
#   Eq(s_fake_new, b_new + Sum(G[k]*w_new[k], (k, 0, -1 + n)))
s_fake_new = w_new @ G + b_new
check(s_fake_new, -0.6729376292617608)

# d.after.fake.activation: Sigmoid
#   Eq(D_fake_new, 1/(1 + exp(-s_fake_new)))
D_fake_new = sigmoid(s_fake_new)
check(D_fake_new, 0.3378393688615082)

# d.loss_after: Loss after the update
#   Eq(L_D_new, -log(D_real_new) - log(1 - D_fake_new))
L_D_new = (-np.log(D_real_new)) + (-np.log(1 - D_fake_new))
check(L_D_new, 0.7319640563490353)

# d.loss_change: Change of the loss
#   Eq(Delta_L_D, L_D_new - L_D)
Delta_L_D = L_D_new - L_D
check(Delta_L_D, -0.04629002039684549)

# 7. Generator loss, with the updated discriminator

# g.loss: Generator loss
#   Eq(L_G, -log(D_fake_new))
L_G = -np.log(D_fake_new)
check(L_G, 1.0851847365161733)

# 8. Generator gradients, flowing back through D′

# g.d.dL_dD: Gradient of the term by D
#   Eq(Derivative(L_G, D_fake_new), -1/D_fake_new)
dL_G_dD_fake_new = -1 / D_fake_new
check(dL_G_dD_fake_new, -2.9599865858438004)

# g.d.derivative: Derivative of the activation
#   Eq(Derivative(D_fake_new, s_fake_new), D_fake_new*(1 - D_fake_new))
dD_fake_new_ds = D_fake_new * (1 - D_fake_new)
check(dD_fake_new_ds, 0.22370392970876601)

# g.d.delta: Delta: the gradient at the pre-activation
#   Eq(delta_G, dD_fake_new_ds*dL_G_dD_fake_new)
delta_G = dL_G_dD_fake_new * dD_fake_new_ds
check(delta_G, -0.6621606311384918)

# g.dL_dG: Gradient by the fake colour
#   Eq(Derivative(L_G, G[j]), delta_G*w_new[j])
dLG_dG = delta_G * w_new
check(dLG_dG, np.array([-0.6804790273774058, 0.7358684000470824, 0.7237184131167825]))

# g.derivative: Derivative of the activation
#   Eq(Derivative(G[i], u[i]), (1 - G[i])*G[i])
dG_du = G * (1 - G)
check(dG_du, np.array([0.24445831169074586, 0.24026074574152914, 0.25]))

# g.delta: Delta: the gradient at the pre-activation
#   Eq(delta_g[i], dG_du[i]*dLG_dG[i])
delta_g = dLG_dG * dG_du
check(delta_g, np.array([-0.16634875417364145, 0.17680029056293792, 0.18092960327919563]))

# g.dL_dW: Gradient of the weights
#   Eq(Derivative(L_G, W_g[i, j]), delta_g[i]*z[j])
dLG_dWg = np.outer(delta_g, z)
check(dLG_dWg, np.array([[-0.16634875417364145, 0.16634875417364145], [0.17680029056293792, -0.17680029056293792], [0.18092960327919563, -0.18092960327919563]]))

# g.dL_db: Gradient of the bias
#   Eq(Derivative(L_G, b_g[i]), delta_g[i])
dLG_dbg = delta_g * 1.0
check(dLG_dbg, np.array([-0.16634875417364145, 0.17680029056293792, 0.18092960327919563]))

# 9. Generator update

# g.update_W: Gradient-descent update of Wᵍ
#   Eq(W_g_new[i, j], -eta*dLG_dWg[i, j] + W_g[i, j])
W_g_new = W_g - eta * dLG_dWg
check(W_g_new, np.array([[0.5831743770868207, 0.11682562291317929], [0.011599854718531047, -0.21159985471853104], [0.3095351983604022, 0.4904648016395978]]))

# g.update_b: Gradient-descent update of bᵍ
#   Eq(b_g_new[i], -eta*dLG_dbg[i] + b_g[i])
b_g_new = b_g - eta * dLG_dbg
check(b_g_new, np.array([0.08317437708682072, -0.08840014528146896, -0.09046480163959782]))

# 10. Generator after its update

# g.after.linear: Weighted sum
#   Eq(u_new[i], b_g_new[i] + Sum(z[k]*W_g_new[i, k], (k, 0, -1 + m)))
u_new = W_g_new @ z + b_g_new
check(u_new, np.array([0.5495231312604621, 0.13479956415559313, -0.2713944049187934]))

# g.after.activation: Sigmoid
#   Eq(G_new[i], 1/(1 + exp(-u_new[i])))
G_new = sigmoid(u_new)
check(G_new, np.array([0.6340249467431416, 0.5336489537522944, 0.43256480273838704]))

# g.after.d.linear: Weighted sum
#   Eq(s_G_new, b_new + Sum(G_new[k]*w_new[k], (k, 0, -1 + n)))
s_G_new = w_new @ G_new + b_new
check(s_G_new, -0.4657241371617854)

# g.after.d.activation: Sigmoid
#   Eq(D_G_new, 1/(1 + exp(-s_G_new)))
D_G_new = sigmoid(s_G_new)
check(D_G_new, 0.3856287810059506)

# g.loss_after: Loss after the update
#   Eq(L_G_new, -log(D_G_new))
L_G_new = (-np.log(D_G_new))
check(L_G_new, 0.9528800794928846)

# g.loss_change: Change of the loss
#   Eq(Delta_L_G, L_G_new - L_G)
Delta_L_G = L_G_new - L_G
check(Delta_L_G, -0.13230465702328875)

# 11. Saturating and non-saturating gradients

# cmp.non_saturating: Non-saturating gradient
#   Eq(g_ns, -1 + D_fake_new)
g_ns = -(1 - D_fake_new)
check(g_ns, -0.6621606311384918)

# cmp.minimax: Minimax (saturating) gradient
#   Eq(g_mm, -D_fake_new)
g_mm = -D_fake_new
check(g_mm, -0.3378393688615082)

# cmp.ratio: Ratio of the two gradients
#   Eq(ratio, g_mm/g_ns)
ratio = g_mm / g_ns
check(ratio, 0.5102075734714718)

print("dlsteps gan: all 49 values agree")
