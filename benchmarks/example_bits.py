"""The worked N = 8 example of docs/yang2026.md: keys, block integers in binary, extraction steps.

Run:  PYTHONPATH=src python benchmarks/example_bits.py
"""

import numpy as np

import memorize
from memorize import verify

X = np.array([[0.0, 0.0], [1.0, 0.5], [0.25, 1.0], [-1.0, 0.75], [0.5, -0.5], [-0.5, -1.0], [1.0, -1.0], [-0.75, 0.25]])
y = np.array([2, 0, 1, 1, 0, 2, 2, 0])

net = memorize.build("yang2026", X, y, block_size=4, bits_per_layer=2, lookup="flat", n_directions=1)
m = net.meta
assert verify(net, X, y).max_error == 0

g = m["direction"]
layer1 = net.layers[0]
D0 = 2 ** m["input_denominator_bits"]
print(f"direction g = {g}, input denominator D0 = {D0}; first layer z = relu(<{list(layer1.weight[0])}, x> + {layer1.bias[0]})")
z = [int(v) for v in (net.layers[0].forward(memorize._exact.to_exact_array(X)))[:, 0]]
order = np.argsort(z, kind="stable")
Q = int(m["key_gap_Q"])
z0 = min(z)
n, ell, S = m["key_bits"], m["label_bits"], m["block_size"]
print(f"smallest gap Q = {Q}, z0 = {z0}, key bits n = {n}, label bits ell = {ell}, S = {S}, q = {m['bits_per_layer']}")
print("\n| point | x | z | key (z − z0) // Q | label |")
print("|---|---|---|---|---|")
for i in order:
    print(f"| {i} | {X[i].tolist()} | {z[i]} | {(z[i] - z0) // Q} | {y[i]} |")
rho = n + ell
keys = [(z[i] - z0) // Q for i in order]
labs = [int(y[i]) for i in order]
V = []
for b in range(2):
    v = 0
    for s in range(S):
        v = (v << rho) | (keys[b * S + s] << ell) | labs[b * S + s]
    V.append(v)
print("\nBlock integers (records key‖label, most significant first):")
for b, v in enumerate(V):
    bits = format(v, f"0{S * rho}b")
    grouped = " ".join(bits[s * rho:s * rho + n] + "|" + bits[s * rho + n:(s + 1) * rho] for s in range(S))
    print(f"V_{b} = {v} = {grouped}")
tau = z[order[S - 1]] + 1
print(f"threshold tau_1 = z_last(block 0) + 1 = {tau}")

i = int(order[S + 1])  # second point of block 1
print(f"\nExtraction trace for point {i} (z = {z[i]}, key {(z[i] - z0) // Q}, label {y[i]}):")
x, beta = V[1], S * rho
q = m["bits_per_layer"]
yacc = 0
for s in range(S):
    out = []
    for field, nb in (("key", n), ("label", ell)):
        acc = 0
        left = nb
        while left:
            qt = min(q, left)
            c = 2 ** (beta - qt)
            d = x // c
            x -= c * d
            acc = (acc << qt) + d
            beta -= qt
            left -= qt
            out.append(f"{field} bits {format(d, f'0{qt}b')}")
        if field == "key":
            key = acc
            delta = z[i] - z0 - Q * key
            a, b = max(0, delta - Q + 1), max(0, -delta)
        else:
            inc = max(0, acc - 2**ell * (a + b))
            yacc += inc
    print(f"segment {s}: {', '.join(out)} -> key {key}, label {acc}; test a = {a}, b = {b}; increment {inc}")
print(f"output = {yacc}; network output = {net(X[i])[0]}")
print(f"\nnetwork: widths {net.widths}, depth {net.depth}, params {net.num_params}, max weight bits {net.max_weight_bits}")
