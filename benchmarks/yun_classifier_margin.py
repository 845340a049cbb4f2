"""Where the float64 error of yun2019_classifier (ReLU) comes from: layer by layer, unit by unit.

Usage: PYTHONPATH=src python benchmarks/yun_classifier_margin.py N   (N = 1e5: ~1 min; 1e6: ~5 min)

Builds the classifier on N random points (d = 64, 1000 classes, seed 0), keeps its hard-tanh layers
and measures the inner code error |r - rho| of the float64 ReLU network on 10^5 points for several
per-unit choices of the rewrite hardtanh(t) = relu(t+1) - relu(t-1) - 1 (direct, exact for t <= -1)
or its mirror (exact for t >= 1): the window halves (the builder's rule), none, by data side, layer 2
by data side, and (N <= 2e5) a greedy per-window choice minimising eps * sum_j |W2| |t_j| on 2e4
points. Also prints the worst point's decomposition. No timing (no lock needed).
"""
import sys, time, numpy as np
import memorize
from memorize.constructions.yun2019 import _build, fnn
from memorize.rewrite import hardtanh_to_relu
from memorize.network import Network
N = int(float(sys.argv[1])); C = 1000; d = 64
rng = np.random.default_rng(0)
X = rng.standard_normal((N, d)); y = rng.integers(0, C, N)
cap = {}
orig = _build.finish
def fin(layers, act, widths, meta, mirror_first=True):
    cap['layers'] = layers; cap['meta'] = meta
    return orig(layers, act, widths, meta, mirror_first)
_build.finish = fin
t0 = time.time()
net = fnn.yun2019_classifier(X, y)
print("build", time.time() - t0, "pred", net.meta.get("predicted_error"), "tol", net.meta["code_error_bound"], "maxlevel", net.meta["max_level"])
L = cap['layers']; meta = cap['meta']
M = meta['decoder_gain']; rho = np.array(meta['class_codes'])
beta = M * meta['code_spacing'] / 2
codes = rho[np.searchsorted(np.array(meta['classes']), y)]  # not every class occurs at small N
sub = rng.choice(N, min(N, 100000), replace=False)
Xs = X[sub]; cs = codes[sub]
def ht_pre(layers, X):
    h = X; pres = []
    for l in layers[:-1]:
        t = h @ l.weight.T + l.bias; pres.append(t); h = np.clip(t, -1, 1)
    return pres
pres = ht_pre(L, Xs)
# ht code error
r_ht = (pres[2][:, 0] - beta) / M + rho[0]
print("HT code err", np.max(np.abs(r_ht - cs)))
for i, t in enumerate(pres):
    print(f"layer {i+1}: units {t.shape[1]} max|t| {np.abs(t).max():.3e} maxpos {t.max():.3e} maxneg {(-t).max():.3e}")
def relu_err(mirror):
    rn = hardtanh_to_relu(Network(L, {}), memorize.relu, mirror=mirror)
    h = Xs
    for l in rn.layers[:2]:
        h = np.maximum(h @ l.weight.T + l.bias, 0)
    l3 = rn.layers[2]
    p = h @ l3.weight[0] + l3.bias[0]
    r = (p - 1 - beta) / M + rho[0]
    return np.max(np.abs(r - cs)), r
m0 = _build.mirror_mask(L[0].weight.shape[0])
e, r = relu_err({0: m0}); print("current (mirror L1 halves):", e)
print("no mirror:", relu_err({})[0])
# per-unit by data side
def side(t):
    return t.max(axis=0) > (-t).min(axis=0) * -1  # placeholder
def by_side(t):
    return np.max(t, axis=0) > np.max(-t, axis=0)
m1 = by_side(pres[0]); m2 = by_side(pres[1])
print("L1 by side only:", relu_err({0: m1})[0])
print("L1 halves + L2 by side:", relu_err({0: m0, 1: m2})[0])
print("L1 by side + L2 by side:", relu_err({0: m1, 1: m2})[0])
# L2 saturation stats
t2 = pres[1]
print("L2 frac t>1", np.mean(t2 > 1), "t<-1", np.mean(t2 < -1))
def by_sum(t):
    return np.sum(np.maximum(t, 0), axis=0) > np.sum(np.maximum(-t, 0), axis=0)
W2abs = np.abs(L[1].weight)
print("L1 by sum:", relu_err({0: by_sum(pres[0])})[0])
# per-point error decomposition proxy at the worst point
e, r = relu_err({0: m0})
w = np.argmax(np.abs(r - cs)); print("worst pt", w, "err", r[w] - cs[w], "r", r[w])
t1 = pres[0][w]; t2w = pres[1][w]
lin = np.where(np.abs(t2w) < 1)[0]; print("L2 linear units at worst", lin, t2w[lin])
contrib = W2abs[lin][:, :] * np.abs(t1)[None, :]
top = np.argsort(contrib.max(axis=0))[::-1][:5]
print("top L1 contributors", top, "t1", t1[top], "W2", W2abs[lin][:, top].max(axis=0), "mirror", m0[top])
print("eps*sum", 2**-52 * contrib.sum(axis=1))
def opt_mask(L, Xfit, m_init, sweeps=3):
    p = ht_pre(L, Xfit); t1, t2 = p[0], p[1]
    lin = np.abs(t2) < 1
    W2a = np.abs(L[1].weight)
    A = (lin.astype(float) @ W2a) * np.abs(t1)          # (n, win)
    pos = t1 > 1; neg = t1 < -1
    m = m_init.copy()
    cost = np.where(m[None, :], A * neg, A * pos).sum(axis=1)
    for s in range(sweeps):
        changed = 0
        for j in range(len(m)):
            cur = np.where(m[j], A[:, j] * neg[:, j], A[:, j] * pos[:, j])
            alt = np.where(m[j], A[:, j] * pos[:, j], A[:, j] * neg[:, j])
            new = cost - cur + alt
            if new.max() < cost.max():
                cost = new; m[j] = not m[j]; changed += 1
        print("sweep", s, "changed", changed, "proxy max", cost.max() * 2**-52)
    return m
if N > 200000:
    sys.exit(0)
fit = rng.choice(N, 20000, replace=False)
t0 = time.time()
m_opt = opt_mask(L, X[fit], m0)
print("opt time", time.time() - t0)
print("halves:", relu_err({0: m0})[0], "opt:", relu_err({0: m_opt})[0])
