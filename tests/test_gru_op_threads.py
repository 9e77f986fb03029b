"""The fused GRU op gives the same bits whatever its thread count, with or without gradient recording."""
import numpy as np
import pytest

from tinygrad_trade import Tensor, no_grad
from tinygrad_trade.vol.models.gru_op import GRUSequence


def _run(threads, monkeypatch, dtype, record=True):
    monkeypatch.setattr(GRUSequence, "_threads", staticmethod(lambda size: threads))
    rng = np.random.default_rng(3)
    K, B, L, D, H = 3, 701, 15, 3, 8
    X = Tensor(rng.standard_normal((B, L, D)), dtype=dtype)
    ps = [Tensor(0.4 * rng.standard_normal(s), requires_grad=True, dtype=dtype)
          for s in ((K, D, 3 * H), (K, H, 3 * H), (K, 1, 3 * H), (K, 1, 3 * H))]
    if not record:
        with no_grad():
            return [GRUSequence.apply(X, *ps).data]
    h = GRUSequence.apply(X, *ps)
    (h * Tensor(rng.standard_normal(h.shape), dtype=dtype)).sum().backward()
    return [h.data] + [p.grad for p in ps]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_change_no_bit(monkeypatch, dtype):
    one = _run(1, monkeypatch, dtype)
    for threads in (2, 3):
        other = _run(threads, monkeypatch, dtype)
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(one, other))
    # without gradient recording nothing is kept, and the output is the same
    assert np.array_equal(_run(1, monkeypatch, dtype, record=False)[0], one[0])
    assert np.array_equal(_run(2, monkeypatch, dtype, record=False)[0], one[0])


def test_thread_choice():
    assert GRUSequence._threads(10) == 1                       # small work: not worth a thread
    assert GRUSequence._threads(10**6) in (1, 2)
