"""Exact evaluation helpers shared by the bit-extraction step tests (yang2026/vardi2022, park2021)."""

from __future__ import annotations

import numpy as np


def form_values(h, form):
    """A form (coeffs over the units of h, const) evaluated exactly at every row of h."""
    coeffs, const = form
    out = np.full(h.shape[0], const, dtype=object)
    for col, c in coeffs.items():
        out = out + c * h[:, col]
    return out


def forward(layers, X):
    """The layers applied in order (each layer's own forward, exact on object arrays)."""
    h = X
    for layer in layers:
        h = layer.forward(h)
    return h
