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


def test_a_second_thread_only_when_a_core_is_free(monkeypatch):
    import builtins
    import io
    import os
    import time

    real_open = builtins.open
    stat = {}
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: io.StringIO(stat["text"]) if f == "/proc/stat"
                        else real_open(f, *a, **k))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)

    def decide(idle_cores):
        # the last look was 1 s ago; since then 2 CPUs x 100 ticks went by, idle_cores * 100 of them idle
        monkeypatch.setattr(GRUSequence, "_machine", {"t": time.monotonic() - 1.0, "idle": 0, "total": 0,
                                                      "cpu": time.process_time(), "threads": 1})
        idle = int(idle_cores * 100)
        stat["text"] = f"cpu  {200 - idle} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1\ncpu1 1 0 0 1\n"
        return GRUSequence._threads(10**6)

    assert decide(1.9) == 2          # the machine is idle: this process may take both cores
    assert decide(0.2) == 1          # another process keeps the second core busy
    assert GRUSequence._threads(10**6) == 1                    # decided less than a second ago: kept
