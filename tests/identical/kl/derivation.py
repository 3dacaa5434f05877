"""dlsteps kl: KL divergence (DL101 #16 (KL Divergence)).

Recomputes every step with NumPy at the inputs below and asserts each value.
"""

import numpy as np

def check(value, expected):
    """Assert that a recomputed value agrees with the one dlsteps printed."""
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), rtol=1e-9, atol=1e-12)

def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log y elementwise (natural log): 0 where x = 0 (0 log 0 = 0), -inf where y = 0 < x."""
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)

def rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log(x / y) elementwise (natural log): 0 where x = 0, +inf where y = 0 < x.
    Where x / y is near 1, log1p((x - y) / y) keeps every digit (x - y is exact there)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(x > 0, y, 1.0)
        ratio = x / y
        logs = np.where(np.abs(ratio - 1) < 0.5, np.log1p((x - y) / y), np.log(ratio))
        return np.where(x > 0, x * logs, 0.0)

# Inputs
p = np.array([0.36, 0.48, 0.16])  # p
q = np.array([0.3333333333333333, 0.3333333333333333, 0.3333333333333333])  # q
b = 2.718281828459045  # base

# 1. Entropy and cross-entropy (nats)

# entropy_terms: Entropy H(P): terms
#   Eq(h[i], -Piecewise((0, Eq(p[i], 0)), (p[i]*log(p[i]), True)))
h = -xlogy(p, p)
check(h, np.array([0.3677944491115133, 0.3523052040384962, 0.29321303419972966]))

# entropy: Entropy H(P)
#   Eq(H_P, Sum(h[i], (i, 0, -1 + n)))
H_P = h.sum()
check(H_P, 1.0133126873497391)

# cross_entropy_terms: Cross-entropy H(P,Q): terms
#   Eq(c[i], -Piecewise((0, Eq(p[i], 0)), (p[i]*log(q[i]), True)))
c = -xlogy(p, q)
check(c, np.array([0.3955004239205195, 0.5273338985606927, 0.17577796618689756]))

# cross_entropy: Cross-entropy H(P,Q)
#   Eq(H_PQ, Sum(c[i], (i, 0, -1 + n)))
H_PQ = c.sum()
check(H_PQ, 1.0986122886681096)

# 2. KL divergence

# kl_pq_terms: KL divergence KL(P‖Q): terms
#   Eq(r[i], Piecewise((0, Eq(p[i], 0)), (p[i]*log(p[i]/q[i]), True)))
r = rel_entr(p, q)
check(r, np.array([0.0277059748090062, 0.17502869452219644, -0.11743506801283206]))

# kl_pq: KL divergence KL(P‖Q)
#   Eq(KL_PQ, Sum(r[i], (i, 0, -1 + n)))
KL_PQ = r.sum()
check(KL_PQ, 0.08529960131837057)

# kl_qp_terms: KL divergence KL(Q‖P): terms
#   Eq(g[i], Piecewise((0, Eq(q[i], 0)), (q[i]*log(q[i]/p[i]), True)))
g = rel_entr(q, p)
check(g, np.array([-0.02565368037870945, -0.1215477045293031, 0.2446563916934001]))

# kl_qp: KL divergence KL(Q‖P)
#   Eq(KL_QP, Sum(g[i], (i, 0, -1 + n)))
KL_QP = g.sum()
check(KL_QP, 0.09745500678538754)

# asymmetry: Asymmetry
#   Eq(Delta, KL_PQ - KL_QP)
Delta = KL_PQ - KL_QP
check(Delta, -0.012155405467016975)

# 3. Jensen-Shannon divergence

# mixture: Average distribution M
#   Eq(M[i], p[i]/2 + q[i]/2)
M = (p + q) / 2
check(M, np.array([0.3466666666666667, 0.4066666666666666, 0.24666666666666665]))

# kl_pm_terms: KL divergence KL(P‖M): terms
#   Eq(u[i], Piecewise((0, Eq(p[i], 0)), (p[i]*log(p[i]/M[i]), True)))
u = rel_entr(p, M)
check(u, np.array([0.013586518073824905, 0.07958028232451718, -0.0692582531674046]))

# kl_pm: KL divergence KL(P‖M)
#   Eq(KL_PM, Sum(u[i], (i, 0, -1 + n)))
KL_PM = u.sum()
check(KL_PM, 0.023908547230937494)

# kl_qm_terms: KL divergence KL(Q‖M): terms
#   Eq(v[i], Piecewise((0, Eq(q[i], 0)), (q[i]*log(q[i]/M[i]), True)))
v = rel_entr(q, M)
check(v, np.array([-0.013073571051093795, -0.0662836195817217, 0.1003683642613072]))

# kl_qm: KL divergence KL(Q‖M)
#   Eq(KL_QM, Sum(v[i], (i, 0, -1 + n)))
KL_QM = v.sum()
check(KL_QM, 0.02101117362849171)

# jsd: Jensen-Shannon divergence JSD(P‖Q)
#   Eq(JSD, KL_PM/2 + KL_QM/2)
JSD = (KL_PM + KL_QM) / 2
check(JSD, 0.022459860429714602)

print("dlsteps kl: all 15 values agree")
