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
z = np.array([0.5, -1.0, 0.25, 2.0, -0.75, 1.0, -0.5, 0.1])  # z
W_g = np.array([[0.2, -0.1, 0.3, 0.05, -0.2, 0.1, 0.4, -0.3], [-0.3, 0.2, 0.1, -0.05, 0.25, -0.1, 0.2, 0.3], [0.1, 0.3, -0.2, 0.15, 0.05, -0.25, 0.1, 0.2], [0.05, -0.3, 0.2, 0.1, -0.15, 0.3, -0.1, 0.25], [-0.2, 0.1, 0.25, -0.3, 0.2, 0.05, 0.3, -0.1], [0.3, 0.05, -0.1, 0.2, 0.1, -0.2, -0.25, 0.15]])  # wg
b_g = np.array([0.1, -0.1, 0.05, 0.0, -0.05, 0.2])  # bg
x = np.array([1.0, 0.0, 0.0, 0.5, 0.25, 0.75])  # real
w = np.array([1.5, -1.0, -0.5, 0.25, -0.75, 0.5])  # w
b = 0.1  # b
eta = 0.2  # lr

# 1. Generator: a fake colour

# g.linear: Weighted sum
#   Eq(u[i], b_g[i] + Sum(z[k]*W_g[i, k], (k, 0, -1 + m)))
u = W_g @ z + b_g
check(u, np.array([0.495, -0.8825000000000001, -0.26750000000000007, 1.0625, -1.0474999999999999, 0.54]))

# g.activation: Sigmoid
#   Eq(G[i], 1/(1 + exp(-u[i])))
G = sigmoid(u)
check(G, np.array([0.6212835951910679, 0.29265998548192695, 0.4335209440323721, 0.7431680086124811, 0.2597054583325499, 0.6318124177361016]))

# 2. Discriminator on the real and the fake colour

# d.real.linear: Weighted sum
#   Eq(s_real, b + Sum(w[k]*x[k], (k, 0, -1 + n)))
s_real = w @ x + b
check(s_real, 1.9125)

# d.real.activation: Sigmoid
#   Eq(D_real, 1/(1 + exp(-s_real)))
D_real = sigmoid(s_real)
check(D_real, 0.871299749416051)

# d.fake.linear: Weighted sum
#   Eq(s_fake, b + Sum(G[k]*w[k], (k, 0, -1 + n)))
s_fake = w @ G + b
check(s_fake, 0.8294240525602475)

# d.fake.activation: Sigmoid
#   Eq(D_fake, 1/(1 + exp(-s_fake)))
D_fake = sigmoid(s_fake)
check(D_fake, 0.6962331349958737)

# 3. Discriminator loss

# d.loss_real: Real term
#   Eq(L_real, -log(D_real))
L_real = -np.log(D_real)
check(L_real, 0.137769217342721)

# d.loss_fake: Fake term
#   Eq(L_fake, -log(1 - D_fake))
L_fake = -np.log(1 - D_fake)
check(L_fake, 1.1914947632213746)

# d.loss: Discriminator loss
#   Eq(L_D, L_fake + L_real)
L_D = L_real + L_fake
check(L_D, 1.3292639805640956)

# 4. Discriminator gradients

# d.real.dL_dD: Gradient of the term by D
#   Eq(Derivative(L_real, D_real), -1/D_real)
dL_real_dD_real = -1 / D_real
check(dL_real_dD_real, -1.1477106479947967)

# d.real.derivative: Derivative of the activation
#   Eq(Derivative(D_real, s_real), D_real*(1 - D_real))
dD_real_ds = D_real * (1 - D_real)
check(dD_real_ds, 0.1121364960835777)

# d.real.delta: Delta: the gradient at the pre-activation
#   Eq(delta_real, dD_real_ds*dL_real_dD_real)
delta_real = dL_real_dD_real * dD_real_ds
check(delta_real, -0.12870025058394896)

# d.real.dL_dW: Gradient of the weights
#   Eq(Derivative(L_real, w[j]), delta_real*x[j])
dLreal_dw = delta_real * x
check(dLreal_dw, np.array([-0.12870025058394896, 0.0, 0.0, -0.06435012529197448, -0.03217506264598724, -0.09652518793796172]))

# d.real.dL_db: Gradient of the bias
#   Eq(Derivative(L_real, b), delta_real)
dLreal_db = delta_real * 1.0
check(dLreal_db, -0.12870025058394896)

# d.fake.dL_dD: Gradient of the term by D
#   Eq(Derivative(L_fake, D_fake), 1/(1 - D_fake))
dL_fake_dD_fake = 1 / (1 - D_fake)
check(dL_fake_dD_fake, 3.2919982894988107)

# d.fake.derivative: Derivative of the activation
#   Eq(Derivative(D_fake, s_fake), D_fake*(1 - D_fake))
dD_fake_ds = D_fake * (1 - D_fake)
check(dD_fake_ds, 0.21149255672969122)

# d.fake.delta: Delta: the gradient at the pre-activation
#   Eq(delta_fake, dD_fake_ds*dL_fake_dD_fake)
delta_fake = dL_fake_dD_fake * dD_fake_ds
check(delta_fake, 0.6962331349958737)

# d.fake.dL_dW: Gradient of the weights
#   Eq(Derivative(L_fake, w[j]), delta_fake*G[j])
dLfake_dw = delta_fake * G
check(dLfake_dw, np.array([0.43255822520138454, 0.20375957917992887, 0.30183164595002915, 0.5174181924649082, 0.18081554543041145, 0.4398887403297286]))

# d.fake.dL_db: Gradient of the bias
#   Eq(Derivative(L_fake, b), delta_fake)
dLfake_db = delta_fake * 1.0
check(dLfake_db, 0.6962331349958737)

# d.dL_dw: Gradient of L_D by w
#   Eq(Derivative(L_D, w[j]), dLfake_dw[j] + dLreal_dw[j])
dLD_dw = dLreal_dw + dLfake_dw
check(dLD_dw, np.array([0.3038579746174356, 0.20375957917992887, 0.30183164595002915, 0.4530680671729337, 0.1486404827844242, 0.34336355239176686]))

# d.dL_db: Gradient of L_D by b
#   Eq(Derivative(L_D, b), dLfake_db + dLreal_db)
dLD_db = dLreal_db + dLfake_db
check(dLD_db, 0.5675328844119247)

# 5. Discriminator update

# d.update_w: Gradient-descent update of w
#   Eq(w_new[i], -eta*dLD_dw[i] + w[i])
w_new = w - eta * dLD_dw
check(w_new, np.array([1.439228405076513, -1.0407519158359857, -0.5603663291900058, 0.15938638656541326, -0.7797280965568848, 0.4313272895216466]))

# d.update_b: Gradient-descent update of b
#   Eq(b_new, b - dLD_db*eta)
b_new = b - eta * dLD_db
check(b_new, -0.01350657688238495)

# 6. Discriminator after its update

# d.after.real.linear: Weighted sum
#   Eq(s_real_new, b_new + Sum(w_new[k]*x[k], (k, 0, -1 + n)))
s_real_new = w_new @ x + b_new
check(s_real_new, 1.6339784644788484)

# d.after.real.activation: Sigmoid
#   Eq(D_real_new, 1/(1 + exp(-s_real_new)))
D_real_new = sigmoid(s_real_new)
check(D_real_new, 0.8367139198613721)

# d.after.fake.linear: Weighted sum
#   Eq(s_fake_new, b_new + Sum(G[k]*w_new[k], (k, 0, -1 + n)))
s_fake_new = w_new @ G + b_new
check(s_fake_new, 0.52161459875232)

# d.after.fake.activation: Sigmoid
#   Eq(D_fake_new, 1/(1 + exp(-s_fake_new)))
D_fake_new = sigmoid(s_fake_new)
check(D_fake_new, 0.6275252359288541)

# d.loss_after: Loss after the update
#   Eq(L_D_new, -log(D_real_new) - log(1 - D_fake_new))
L_D_new = (-np.log(D_real_new)) + (-np.log(1 - D_fake_new))
check(L_D_new, 1.165859050114773)

# d.loss_change: Change of the loss
#   Eq(Delta_L_D, L_D_new - L_D)
Delta_L_D = L_D_new - L_D
check(Delta_L_D, -0.16340493044932258)

# 7. Generator loss, with the updated discriminator

# g.loss: Generator loss
#   Eq(L_G, -log(D_fake_new))
L_G = -np.log(D_fake_new)
check(L_G, 0.46597139216517686)

# 8. Generator gradients, flowing back through D′

# g.d.dL_dD: Gradient of the term by D
#   Eq(Derivative(L_G, D_fake_new), -1/D_fake_new)
dL_G_dD_fake_new = -1 / D_fake_new
check(dL_G_dD_fake_new, -1.5935614103547786)

# g.d.derivative: Derivative of the activation
#   Eq(Derivative(D_fake_new, s_fake_new), D_fake_new*(1 - D_fake_new))
dD_fake_new_ds = D_fake_new * (1 - D_fake_new)
check(dD_fake_new_ds, 0.2337373142012901)

# g.d.delta: Delta: the gradient at the pre-activation
#   Eq(delta_G, dD_fake_new_ds*dL_G_dD_fake_new)
delta_G = dL_G_dD_fake_new * dD_fake_new_ds
check(delta_G, -0.3724747640711459)

# g.dL_dG: Gradient by the fake colour
#   Eq(Derivative(L_G, G[j]), delta_G*w_new[j])
dLG_dG = delta_G * w_new
check(dLG_dG, np.array([-0.5360762606253657, 0.38765382430760187, 0.2087223162584615, -0.05936740673210476, 0.2904290388046693, -0.16065853040202216]))

# g.derivative: Derivative of the activation
#   Eq(Derivative(G[i], u[i]), (1 - G[i])*G[i])
dG_du = G * (1 - G)
check(dG_du, np.array([0.23529028953752917, 0.20701011837964525, 0.245580535117653, 0.1908693195874403, 0.19225853324483008, 0.23262548653056345]))

# g.delta: Delta: the gradient at the pre-activation
#   Eq(delta_g[i], dG_du[i]*dLG_dG[i])
delta_g = dLG_dG * dG_du
check(delta_g, np.array([-0.12613353857673826, 0.08024826406023887, 0.05125813811774898, -0.01133141652862766, 0.05583746101229156, -0.037373268800055724]))

# g.dL_dW: Gradient of the weights
#   Eq(Derivative(L_G, W_g[i, j]), delta_g[i]*z[j])
dLG_dWg = np.outer(delta_g, z)
check(dLG_dWg, np.array([[-0.06306676928836913, 0.12613353857673826, -0.031533384644184564, -0.2522670771534765, 0.0946001539325537, -0.12613353857673826, 0.06306676928836913, -0.012613353857673827], [0.040124132030119435, -0.08024826406023887, 0.020062066015059717, 0.16049652812047774, -0.06018619804517915, 0.08024826406023887, -0.040124132030119435, 0.008024826406023887], [0.02562906905887449, -0.05125813811774898, 0.012814534529437245, 0.10251627623549796, -0.03844360358831173, 0.05125813811774898, -0.02562906905887449, 0.005125813811774898], [-0.00566570826431383, 0.01133141652862766, -0.002832854132156915, -0.02266283305725532, 0.008498562396470745, -0.01133141652862766, 0.00566570826431383, -0.001133141652862766], [0.02791873050614578, -0.05583746101229156, 0.01395936525307289, 0.11167492202458312, -0.04187809575921867, 0.05583746101229156, -0.02791873050614578, 0.005583746101229157], [-0.018686634400027862, 0.037373268800055724, -0.009343317200013931, -0.07474653760011145, 0.02802995160004179, -0.037373268800055724, 0.018686634400027862, -0.0037373268800055728]]))

# g.dL_db: Gradient of the bias
#   Eq(Derivative(L_G, b_g[i]), delta_g[i])
dLG_dbg = delta_g * 1.0
check(dLG_dbg, np.array([-0.12613353857673826, 0.08024826406023887, 0.05125813811774898, -0.01133141652862766, 0.05583746101229156, -0.037373268800055724]))

# 9. Generator update

# g.update_W: Gradient-descent update of Wᵍ
#   Eq(W_g_new[i, j], -eta*dLG_dWg[i, j] + W_g[i, j])
W_g_new = W_g - eta * dLG_dWg
check(W_g_new, np.array([[0.21261335385767383, -0.12522670771534766, 0.3063066769288369, 0.1004534154306953, -0.21892003078651076, 0.12522670771534766, 0.3873866461423262, -0.2974773292284652], [-0.30802482640602385, 0.2160496528120478, 0.09598758679698806, -0.08209930562409555, 0.26203723960903585, -0.11604965281204778, 0.2080248264060239, 0.2983950347187952], [0.0948741861882251, 0.3102516276235498, -0.20256290690588746, 0.1294967447529004, 0.05768872071766235, -0.2602516276235498, 0.10512581381177491, 0.19897483723764503], [0.05113314165286277, -0.3022662833057255, 0.2005665708264314, 0.10453256661145106, -0.15169971247929415, 0.3022662833057255, -0.10113314165286277, 0.2502266283305726], [-0.20558374610122918, 0.11116749220245832, 0.24720812694938543, -0.3223349844049166, 0.20837561915184374, 0.03883250779754169, 0.3055837461012291, -0.10111674922024584], [0.30373732688000554, 0.042525346239988854, -0.09813133655999721, 0.2149493075200223, 0.09439400967999165, -0.19252534623998888, -0.25373732688000555, 0.15074746537600112]]))

# g.update_b: Gradient-descent update of bᵍ
#   Eq(b_g_new[i], -eta*dLG_dbg[i] + b_g[i])
b_g_new = b_g - eta * dLG_dbg
check(b_g_new, np.array([0.12522670771534766, -0.11604965281204778, 0.03974837237645021, 0.002266283305725532, -0.06116749220245832, 0.20747465376001115]))

# 10. Generator after its update

# g.after.linear: Weighted sum
#   Eq(u_new[i], b_g_new[i] + Sum(z[k]*W_g_new[i, k], (k, 0, -1 + m)))
u_new = W_g_new @ z + b_g_new
check(u_new, np.array([0.7002192672643532, -1.0130639256260088, -0.35089699071757763, 1.0809362146920771, -1.1383475490669983, 0.6008063083376907]))

# g.after.activation: Sigmoid
#   Eq(G_new[i], 1/(1 + exp(-u_new[i])))
G_new = sigmoid(u_new)
check(G_new, np.array([0.6682363847504319, 0.26638066384514636, 0.4131649200836572, 0.7466711123872507, 0.24262388214769365, 0.6458407551940097]))

# g.after.d.linear: Weighted sum
#   Eq(s_G_new, b_new + Sum(G_new[k]*w_new[k], (k, 0, -1 + n)))
s_G_new = w_new @ G_new + b_new
check(s_G_new, 0.6478756086505792)

# g.after.d.activation: Sigmoid
#   Eq(D_G_new, 1/(1 + exp(-s_G_new)))
D_G_new = sigmoid(s_G_new)
check(D_G_new, 0.6565315763847492)

# g.loss_after: Loss after the update
#   Eq(L_G_new, -log(D_G_new))
L_G_new = (-np.log(D_G_new))
check(L_G_new, 0.42078448832322835)

# g.loss_change: Change of the loss
#   Eq(Delta_L_G, L_G_new - L_G)
Delta_L_G = L_G_new - L_G
check(Delta_L_G, -0.04518690384194851)

# 11. Saturating and non-saturating gradients

# cmp.non_saturating: Non-saturating gradient
#   Eq(g_ns, -1 + D_fake_new)
g_ns = -(1 - D_fake_new)
check(g_ns, -0.3724747640711459)

# cmp.minimax: Minimax (saturating) gradient
#   Eq(g_mm, -D_fake_new)
g_mm = -D_fake_new
check(g_mm, -0.6275252359288541)

# cmp.ratio: Ratio of the two gradients
#   Eq(ratio, g_mm/g_ns)
ratio = g_mm / g_ns
check(ratio, 1.6847456430873566)

print("dlsteps gan: all 49 values agree")
