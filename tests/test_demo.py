"""The demo table: one row per data set for each registered option set, with the depth shown."""

import numpy as np

import memorize
from memorize import cli, registry


def test_demo_variants_add_rows_with_their_options_and_depth(monkeypatch):
    zhang = registry.get("zhang2017")

    def two_layers(X, y, *, rng=None, deeper=False):
        net = zhang.builder(X, y, rng=rng)
        return memorize.build("yun2019_deep", X, y, rng=rng, rescale=True) if deeper else net

    fake = registry.Method("fake_knob", two_layers, "fake", "regression", demo_max_n=40,
                           demo_variants=({"deeper": True},))
    monkeypatch.setattr(registry, "all_methods", lambda: {"fake_knob": fake})
    rows = cli._demo_rows(0)
    assert [(r[0], r[-1]) for r in rows] == [("fake_knob", "-")] * 2 + [("fake_knob", "deeper=True")] * 2
    assert all(r[1].endswith("[:40]") and r[2] == 40 for r in rows)
    plain, deep = rows[0], rows[2]
    assert plain[5] == 1 and deep[5] > 1  # the depth column tells the variant apart
    assert all(float(r[9]) < 1e-6 for r in rows)


def test_vardi2022_registers_a_depth_variant_within_its_demo_size():
    m = registry.get("vardi2022")
    (opts,) = m.demo_variants
    a = m.architecture(m.demo_max_n, 64, 10, **opts)
    assert a.depth <= opts["depth"] < m.architecture(m.demo_max_n, 64, 10).depth
    assert np.isfinite(a.num_params)
