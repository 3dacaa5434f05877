"""dlsteps vae: VAE: the reparameterization trick, KL and one update (DL101 #23, #24).

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
x = np.array([1.0, 0.0, 0.5, 1.0])  # x
W_h = np.array([[0.2, -0.1, 0.3, 0.1], [-0.3, 0.2, 0.1, 0.4], [0.1, 0.3, -0.2, 0.2]])  # wh
b_h = np.array([0.0, 0.0, 0.0])  # bh
W_mu = np.array([[0.5, -0.3, 0.2], [-0.4, 0.6, 0.1]])  # wmu
b_mu = np.array([0.0, 0.0])  # bmu
W_v = np.array([[0.3, 0.2, -0.5], [-0.2, 0.4, 0.3]])  # wv
b_v = np.array([0.0, 0.0])  # bv
W_d = np.array([[0.6, -0.2], [-0.5, 0.3], [0.4, 0.5], [-0.1, -0.4]])  # wd
b_d = np.array([0.0, 0.0, 0.0, 0.0])  # bd
eps = np.array([0.5, -1.0])  # eps
eps_new = np.array([-0.3, 0.8])  # eps_new
beta = 1.0  # beta
eta = 0.5  # lr

# 1. Encoder

# enc.linear: Hidden pre-activation
#   Eq(u[i], b_h[i] + Sum(x[k]*W_h[i, k], (k, 0, -1 + n)))
u = W_h @ x + b_h
check(u, np.array([0.44999999999999996, 0.15000000000000002, 0.2]))

# enc.activation: tanh
#   Eq(h[i], tanh(u[i]))
h = np.tanh(u)
check(h, np.array([0.4218990052500079, 0.14888503362331798, 0.197375320224904]))

# 2. Mean and log-variance

# mu.linear: Mean μ
#   Eq(mu[i], b_mu[i] + Sum(h[k]*W_mu[i, k], (k, 0, -1 + H)))
mu = W_mu @ h + b_mu
check(mu, np.array([0.20575905658298935, -0.059691049903521975]))

# logvar.linear: Log-variance log σ²
#   Eq(logvar[i], b_v[i] + Sum(h[k]*W_v[i, k], (k, 0, -1 + H)))
logvar = W_v @ h + b_v
check(logvar, np.array([0.05765904818721396, 0.034386808466796814]))

# 3. Reparameterization trick

# sigma: Standard deviation
#   Eq(sigma[i], exp(logvar[i]/2))
sigma = np.exp(0.5 * logvar)
check(sigma, np.array([1.029249117342061, 1.0173420615610471]))

# z: Sample z by the reparameterization
#   Eq(z[i], eps[i]*sigma[i] + mu[i])
z = mu + sigma * eps
check(z, np.array([0.7203836152540198, -1.077033111464569]))

# 4. Decoder

# dec.linear: Decoder pre-activation
#   Eq(v[i], b_d[i] + Sum(z[k]*W_d[i, k], (k, 0, -1 + m)))
v = W_d @ z + b_d
check(v, np.array([0.6476367914453257, -0.6833017410663806, -0.2503631096306766, 0.35877488306042565]))

# dec.activation: Sigmoid
#   Eq(x_hat[i], 1/(1 + exp(-v[i])))
x_hat = sigmoid(v)
check(x_hat, np.array([0.6564777216017305, 0.3355247870452403, 0.4377341274770373, 0.5887438354771987]))

# 5. Reconstruction loss

# recon.loss: Binary cross-entropy, summed
#   Eq(L_rec, -Sum((1 - x[i])*log(1 - x_hat[i]) + x[i]*log(x_hat[i]), (i, 0, -1 + n)))
L_rec = -np.sum(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat))
check(L_rec, 2.0603503414706332)

# recon.gradient: Gradient of the loss by the output
#   Eq(Derivative(L_rec, x_hat[i]), (-x[i] + x_hat[i])/((1 - x_hat[i])*x_hat[i]))
dL_dx_hat = (x_hat - x) / (x_hat * (1 - x_hat))
check(dL_dx_hat, np.array([-1.5232809387043853, 1.5049470326413579, -0.25298684949946154, -1.6985315849455358]))

# 6. KL divergence

# kl.terms: KL term per latent dimension
#   Eq(kappa[i], (-1 + mu[i]**2 + sigma[i]**2 - logvar[i])/2)
kappa = 0.5 * (mu ** 2 + sigma ** 2 - logvar - 1)
check(kappa, np.array([0.02201574336405987, 0.002080541596534591]))

# kl: KL divergence
#   Eq(KL, Sum(kappa[i], (i, 0, -1 + m)))
KL = np.sum(kappa)
check(KL, 0.02409628496059446)

# loss: Total loss
#   Eq(L, L_rec + KL*beta)
L = L_rec + beta * KL
check(L, 2.0844466264312276)

# 7. Decoder gradient

# dec.derivative: Derivative of the activation
#   Eq(Derivative(x_hat[i], v[i]), (1 - x_hat[i])*x_hat[i])
dx_hat_dv = x_hat * (1 - x_hat)
check(dx_hat_dv, np.array([0.22551472264233133, 0.22294790432348646, 0.24612296111895415, 0.2421245316647959]))

# dec.delta: Delta: the gradient at the pre-activation
#   Eq(delta_d[i], dL_dx_hat[i]*dx_hat_dv[i])
delta_d = dL_dx_hat * dx_hat_dv
check(delta_d, np.array([-0.34352227839826954, 0.3355247870452403, -0.06226587252296268, -0.41125616452280134]))

# dec.dL_dW: Gradient of Wᵈ
#   Eq(Derivative(L, W_d[i, j]), delta_d[i]*z[j])
dL_dW_d = np.outer(delta_d, z)
check(dL_dW_d, np.array([[-0.2474678208328433, 0.36998486836068617], [0.24170655909898534, -0.3613713053648221], [-0.04485531435503779, 0.06706240642146272], [-0.2962622025944376, 0.44293650648497745]]))

# dec.dL_db: Gradient of bᵈ
#   Eq(Derivative(L, b_d[i]), delta_d[i])
dL_db_d = delta_d * 1.0
check(dL_db_d, np.array([-0.34352227839826954, 0.3355247870452403, -0.06226587252296268, -0.41125616452280134]))

# dec.dL_dx: Gradient passed back to z
#   Eq(Derivative(L, z[j]), Sum(delta_d[i]*W_d[i, j], (i, 0, -1 + n)))
dL_dz = W_d.T @ delta_d
check(dL_dz, np.array([-0.35765649311848685, 0.30273142134086517]))

# 8. Through the reparameterization

# dz_dmu: ∂z/∂μ
#   Eq(Derivative(z[i], mu[i]), 1)
dz_dmu = np.ones_like(mu)
check(dz_dmu, np.array([1.0, 1.0]))

# dz_dlogvar: ∂z/∂log σ²
#   Eq(Derivative(z[i], logvar[i]), eps[i]*sigma[i]/2)
dz_dlogvar = 0.5 * sigma * eps
check(dz_dlogvar, np.array([0.25731227933551526, -0.5086710307805236]))

# kl.dmu: ∂KL/∂μ
#   Eq(Derivative(KL, mu[i]), mu[i])
dKL_dmu = mu.copy()
check(dKL_dmu, np.array([0.20575905658298935, -0.059691049903521975]))

# kl.dlogvar: ∂KL/∂log σ²
#   Eq(Derivative(KL, logvar[i]), (-1 + sigma[i]**2)/2)
dKL_dlogvar = 0.5 * (sigma ** 2 - 1)
check(dKL_dlogvar, np.array([0.029676872774705876, 0.01749243511064069]))

# dL_dmu: ∂L/∂μ
#   Eq(Derivative(L, mu[i]), beta*dKL_dmu[i] + dL_dz[i]*dz_dmu[i])
dL_dmu = dL_dz * dz_dmu + beta * dKL_dmu
check(dL_dmu, np.array([-0.1518974365354975, 0.2430403714373432]))

# dL_dlogvar: ∂L/∂log σ²
#   Eq(Derivative(L, logvar[i]), beta*dKL_dlogvar[i] + dL_dz[i]*dz_dlogvar[i])
dL_dlogvar = dL_dz * dz_dlogvar + beta * dKL_dlogvar
check(dL_dlogvar, np.array([-0.06235253468875901, -0.13649826903247017]))

# 9. Encoder gradient

# mu.dL_dW: Gradient of W^μ
#   Eq(Derivative(L, W_mu[i, j]), dL_dmu[i]*h[j])
dL_dW_mu = np.outer(dL_dmu, h)
check(dL_dW_mu, np.array([[-0.0640853773743526, -0.022615254945883356, -0.029980805177535853], [0.10253849094500753, 0.036185073873272536, 0.047970171140025226]]))

# mu.dL_db: Gradient of b^μ
#   Eq(Derivative(L, b_mu[i]), dL_dmu[i])
dL_db_mu = dL_dmu * 1.0
check(dL_db_mu, np.array([-0.1518974365354975, 0.2430403714373432]))

# logvar.dL_dW: Gradient of Wᵛ
#   Eq(Derivative(L, W_v[i, j]), dL_dlogvar[i]*h[j])
dL_dW_v = np.outer(dL_dlogvar, h)
check(dL_dW_v, np.array([[-0.026306472360004038, -0.009283359223634985, -0.012306851501028244], [-0.057588483923147124, -0.020322549374424025, -0.026941389560428897]]))

# logvar.dL_db: Gradient of bᵛ
#   Eq(Derivative(L, b_v[i]), dL_dlogvar[i])
dL_db_v = dL_dlogvar * 1.0
check(dL_db_v, np.array([-0.06235253468875901, -0.13649826903247017]))

# dL_dh: Gradient at h, from both heads
#   Eq(Derivative(L, h[j]), Sum(dL_dlogvar[i]*W_v[i, j], (i, 0, -1 + m)) + Sum(dL_dmu[i]*W_mu[i, j], (i, 0, -1 + m)))
dL_dh = W_mu.T @ dL_dmu + W_v.T @ dL_dlogvar
check(dL_dh, np.array([-0.1645709734428197, 0.1243236392723153, -0.015848663528726728]))

# enc.derivative: Derivative of the activation
#   Eq(Derivative(h[i], u[i]), 1 - h[i]**2)
dh_du = 1 - h ** 2
check(dh_du, np.array([0.8220012293690538, 0.9778332467629834, 0.9610429829661166]))

# enc.delta: Delta: the gradient at the pre-activation
#   Eq(delta_h[i], dL_dh[i]*dh_du[i])
delta_h = dL_dh * dh_du
check(delta_h, np.array([-0.13527754248845972, 0.12156778783903802, -0.015231246873673833]))

# enc.dL_dW: Gradient of Wʰ
#   Eq(Derivative(L, W_h[i, j]), delta_h[i]*x[j])
dL_dW_h = np.outer(delta_h, x)
check(dL_dW_h, np.array([[-0.13527754248845972, 0.0, -0.06763877124422986, -0.13527754248845972], [0.12156778783903802, 0.0, 0.06078389391951901, 0.12156778783903802], [-0.015231246873673833, 0.0, -0.007615623436836917, -0.015231246873673833]]))

# enc.dL_db: Gradient of bʰ
#   Eq(Derivative(L, b_h[i]), delta_h[i])
dL_db_h = delta_h * 1.0
check(dL_db_h, np.array([-0.13527754248845972, 0.12156778783903802, -0.015231246873673833]))

# 10. Gradient-descent update

# enc.update_W: Gradient-descent update of Wʰ
#   Eq(W_h_new[i, j], -eta*dL_dW_h[i, j] + W_h[i, j])
W_h_new = W_h - eta * dL_dW_h
check(W_h_new, np.array([[0.26763877124422986, -0.1, 0.33381938562211494, 0.16763877124422988], [-0.360783893919519, 0.2, 0.06960805304024051, 0.33921610608048103], [0.10761562343683692, 0.3, -0.19619218828158155, 0.20761562343683693]]))

# enc.update_b: Gradient-descent update of bʰ
#   Eq(b_h_new[i], -eta*dL_db_h[i] + b_h[i])
b_h_new = b_h - eta * dL_db_h
check(b_h_new, np.array([0.06763877124422986, -0.06078389391951901, 0.007615623436836917]))

# mu.update_W: Gradient-descent update of W^μ
#   Eq(W_mu_new[i, j], -eta*dL_dW_mu[i, j] + W_mu[i, j])
W_mu_new = W_mu - eta * dL_dW_mu
check(W_mu_new, np.array([[0.5320426886871763, -0.2886923725270583, 0.21499040258876795], [-0.4512692454725038, 0.5819074630633637, 0.0760149144299874]]))

# mu.update_b: Gradient-descent update of b^μ
#   Eq(b_mu_new[i], -eta*dL_db_mu[i] + b_mu[i])
b_mu_new = b_mu - eta * dL_db_mu
check(b_mu_new, np.array([0.07594871826774875, -0.1215201857186716]))

# logvar.update_W: Gradient-descent update of Wᵛ
#   Eq(W_v_new[i, j], -eta*dL_dW_v[i, j] + W_v[i, j])
W_v_new = W_v - eta * dL_dW_v
check(W_v_new, np.array([[0.313153236180002, 0.2046416796118175, -0.49384657424948586], [-0.17120575803842644, 0.41016127468721203, 0.31347069478021444]]))

# logvar.update_b: Gradient-descent update of bᵛ
#   Eq(b_v_new[i], -eta*dL_db_v[i] + b_v[i])
b_v_new = b_v - eta * dL_db_v
check(b_v_new, np.array([0.031176267344379505, 0.06824913451623509]))

# dec.update_W: Gradient-descent update of Wᵈ
#   Eq(W_d_new[i, j], -eta*dL_dW_d[i, j] + W_d[i, j])
W_d_new = W_d - eta * dL_dW_d
check(W_d_new, np.array([[0.7237339104164217, -0.3849924341803431], [-0.6208532795494927, 0.48068565268241104], [0.4224276571775189, 0.46646879678926867], [0.04813110129721879, -0.6214682532424888]]))

# dec.update_b: Gradient-descent update of bᵈ
#   Eq(b_d_new[i], -eta*dL_db_d[i] + b_d[i])
b_d_new = b_d - eta * dL_db_d
check(b_d_new, np.array([0.17176113919913477, -0.16776239352262015, 0.03113293626148134, 0.20562808226140067]))

# 11. Loss after the update

# after.enc.linear: Hidden pre-activation
#   Eq(u_new[i], b_h_new[i] + Sum(x[k]*W_h_new[i, k], (k, 0, -1 + n)))
u_new = W_h_new @ x + b_h_new
check(u_new, np.array([0.6698260065437471, -0.047547655238436695, 0.22475077616972]))

# after.enc.activation: tanh
#   Eq(h_new[i], tanh(u_new[i]))
h_new = np.tanh(u_new)
check(h_new, np.array([0.5848654185904971, -0.04751185602336643, 0.22104143403674983]))

# after.mu.linear: Mean μ
#   Eq(mu_new[i], b_mu_new[i] + Sum(h_new[k]*W_mu_new[i, k], (k, 0, -1 + H)))
mu_new = W_mu_new @ h_new + b_mu_new
check(mu_new, np.array([0.4483601854256967, -0.3962970197791691]))

# after.logvar.linear: Log-variance log σ²
#   Eq(logvar_new[i], b_v_new[i] + Sum(h_new[k]*W_v_new[i, k], (k, 0, -1 + H)))
logvar_new = W_v_new @ h_new + b_v_new
check(logvar_new, np.array([0.09544530492142603, 0.01791929564940308]))

# after.sigma: Standard deviation
#   Eq(sigma_new[i], exp(logvar_new[i]/2))
sigma_new = np.exp(0.5 * logvar_new)
check(sigma_new, np.array([1.0488797107731669, 1.008999905611313]))

# after.z: Sample z by the reparameterization
#   Eq(z_new[i], eps[i]*sigma_new[i] + mu_new[i])
z_new = mu_new + sigma_new * eps
check(z_new, np.array([0.9728000408122801, -1.4052969253904821]))

# after.dec.linear: Decoder pre-activation
#   Eq(v_new[i], b_d_new[i] + Sum(z_new[k]*W_d_new[i, k], (k, 0, -1 + m)))
v_new = W_d_new @ z_new + b_d_new
check(v_new, np.array([1.4168382008416944, -1.447234559000714, -0.21345658751454927, 1.125797445077138]))

# after.dec.activation: Sigmoid
#   Eq(x_hat_new[i], 1/(1 + exp(-v_new[i])))
x_hat_new = sigmoid(v_new)
check(x_hat_new, np.array([0.8048422674723782, 0.19042753497435488, 0.44683755653272117, 0.7550624988454381]))

# after.recon: Reconstruction loss after the update
#   Eq(L_rec_new, -Sum((1 - x[i])*log(1 - x_hat_new[i]) + x[i]*log(x_hat_new[i]), (i, 0, -1 + n)))
L_rec_new = -np.sum(x * np.log(x_hat_new) + (1 - x) * np.log(1 - x_hat_new))
check(L_rec_new, 1.4081445715044987)

# after.kl: KL after the update
#   Eq(KL_new, Sum(-1 + mu_new[i]**2 + sigma_new[i]**2 - logvar_new[i], (i, 0, -1 + m))/2)
KL_new = 0.5 * np.sum(mu_new ** 2 + sigma_new ** 2 - logvar_new - 1)
check(KL_new, 0.18147152019261403)

# loss_after: Loss after the update
#   Eq(L_new, L_rec_new + KL_new*beta)
L_new = L_rec_new + beta * KL_new
check(L_new, 1.5896160916971127)

# loss_change: Change of the loss
#   Eq(Delta_L, L_new - L)
Delta_L = L_new - L
check(Delta_L, -0.49483053473411487)

# 12. Generation

# gen.z: Latent sample from the prior
#   Eq(z_gen[i], eps_new[i])
z_gen = eps_new * 1.0
check(z_gen, np.array([-0.3, 0.8]))

# gen.linear: Decoder pre-activation
#   Eq(v_gen[i], b_d_new[i] + Sum(z_gen[k]*W_d_new[i, k], (k, 0, -1 + m)))
v_gen = W_d_new @ z_gen + b_d_new
check(v_gen, np.array([-0.35335298127006626, 0.40304211248815647, 0.2775796765396406, -0.30598585072175605]))

# gen.activation: Sigmoid
#   Eq(x_gen[i], 1/(1 + exp(-v_gen[i])))
x_gen = sigmoid(v_gen)
check(x_gen, np.array([0.41256956869503714, 0.5994183403999042, 0.5689527497911498, 0.42409484834680666]))

print("dlsteps vae: all 56 values agree")
