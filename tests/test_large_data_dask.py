"""dask arrays as data (memorize.rows): the same networks as NumPy, computed by dask.

Every pass over the rows is one dask computation on dask's scheduler: threads by default, the
workers of a ``dask.distributed`` client when one is active (a LocalCluster here).
"""

from __future__ import annotations

import numpy as np
import pytest

import memorize
from memorize import rows
from memorize.errors import DuplicateError, NonFiniteError

from _fingerprint import fingerprint
from test_large_data import STREAMING, _labels, pixels  # noqa: F401  (a fixture)

da = pytest.importorskip("dask.array", reason="needs dask, which is not installed (pip install 'memorize[dask]')")


@pytest.mark.parametrize("method", STREAMING)
def test_dask_builds_the_numpy_network(method, pixels):
    rng = np.random.default_rng(2)
    y = _labels(method, rng, len(pixels))
    y[400], y[650] = y[3], y[13]
    dx = da.from_array(pixels, chunks=(123, 5))  # any chunking: rechunked to the row layout
    with rows.memory_budget(32 * 12 * 64):
        assert fingerprint(memorize.build(method, dx, y)) == fingerprint(memorize.build(method, pixels, y))
    net = memorize.build(method, dx, y)
    assert memorize.verify(net, dx, y).ok


def test_dask_duplicates_and_nan_are_named(pixels):
    y = np.zeros(len(pixels))
    y[400] = 1.0
    with pytest.raises(DuplicateError, match=r"\(3, 400\)"):
        memorize.build("zhang2017", da.from_array(pixels, chunks=100), y)
    X = pixels.astype(np.float32)
    X[222, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"\[222\]"):
        memorize.build("yun2019_classifier", da.from_array(X, chunks=100), np.arange(len(X)) % 3)


def test_dask_distributed_local_cluster(pixels):
    distributed = pytest.importorskip("distributed", reason="needs dask.distributed (pip install 'memorize[dask]')")
    rng = np.random.default_rng(12)
    y = rng.uniform(-1, 1, len(pixels))
    y[400], y[650] = y[3], y[13]
    with rows.memory_budget(32 * 12 * 64):
        ref = memorize.build("zhang2017", pixels, y)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            dx = da.from_array(pixels, chunks=(100, 12))
            net = memorize.build("zhang2017", dx, y)
            rep = memorize.verify(net, dx, y)
            done = sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())
    assert fingerprint(net) == fingerprint(ref)
    assert rep.ok and rep.n == len(pixels)
    assert done > 0  # the blocks were computed by the cluster's workers


@pytest.mark.slow
def test_dask_distributed_worker_processes(pixels):
    distributed = pytest.importorskip("distributed", reason="needs dask.distributed (pip install 'memorize[dask]')")
    y = np.arange(len(pixels)) % 5
    y[400], y[650] = y[3], y[13]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        net = memorize.build("yun2019_classifier", da.from_array(pixels, chunks=(100, 12)), y)
        assert memorize.verify(net, da.from_array(pixels, chunks=(100, 12)), y).ok
    assert fingerprint(net) == fingerprint(memorize.build("yun2019_classifier", pixels, y))
