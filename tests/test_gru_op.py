"""The fused GRU op: its two ways of giving the windows agree, it equals nn.GRU, its gradients pass the
finite-difference check, and a bad day outside the wanted windows reaches nothing."""
import numpy as np
import pytest

from tinygrad_trade import Tensor, no_grad
from tinygrad_trade.gradcheck import gradcheck
from tinygrad_trade.nn import GRU
from tinygrad_trade.vol.models.gru_op import GRUSequence

K, L, D, H = 3, 6, 3, 4


def _params(rng, dtype=np.float64, scale=0.6):
    return [Tensor(scale * rng.standard_normal(s), requires_grad=True, dtype=dtype)
            for s in ((K, D, 3 * H), (K, H, 3 * H), (K, 1, 3 * H), (K, 1, 3 * H))]


def _windows(days, starts):
    return np.stack([days[s:s + L] for s in starts])


def _run(x, ps, w, **days):
    for p in ps:
        p.grad = None
    h = GRUSequence.apply(x, *ps, **days)
    (h * w).sum().backward()
    with no_grad():
        h0 = GRUSequence.apply(x, *ps, **days).data
    return [h.data, h0] + [p.grad for p in ps]


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
@pytest.mark.parametrize("starts", [None, [0, 1, 2, 5, 6, 9, 14], [3, 4, 5]])
def test_days_form_equals_the_windows_form(dtype, tol, starts):
    rng = np.random.default_rng(1)
    days = rng.standard_normal((20, D))
    s = np.arange(20 - L + 1) if starts is None else np.array(starts)
    ps = _params(rng, dtype)
    w = Tensor(rng.standard_normal((K, len(s), H)), dtype=dtype)
    ref = _run(Tensor(_windows(days, s), dtype=dtype), ps, w)
    got = _run(Tensor(days, dtype=dtype), ps, w, lookback=L, starts=None if starts is None else s)
    for a, b in zip(ref, got):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    assert np.array_equal(ref[0], ref[1]) and np.array_equal(got[0], got[1])   # recording changes no number


def test_days_form_equals_nn_gru_and_passes_gradcheck():
    rng = np.random.default_rng(2)
    days = rng.standard_normal((12, D))
    s = np.array([0, 2, 3, 6])
    ps = _params(rng)
    h = GRUSequence.apply(Tensor(days), *ps, lookback=L, starts=s)
    for k in range(K):
        g = GRU(D, H)
        g.weight_ih.data[:], g.weight_hh.data[:] = ps[0].data[k], ps[1].data[k]
        g.bias_ih.data[:], g.bias_hh.data[:] = ps[2].data[k, 0], ps[3].data[k, 0]
        _, last = g(Tensor(_windows(days, s)))
        np.testing.assert_allclose(h.data[k], last.data, atol=1e-14)
    w = Tensor(rng.standard_normal((K, len(s), H)))
    assert gradcheck(lambda *q: (GRUSequence.apply(Tensor(days), *q, lookback=L, starts=s) * w).sum(), ps)


def test_a_bad_day_outside_the_wanted_windows_reaches_nothing():
    rng = np.random.default_rng(3)
    days = rng.standard_normal((20, D))
    s = np.array([0, 1, 12, 13])                    # days 7 .. 11 are in no wanted window
    ps = _params(rng)
    w = Tensor(rng.standard_normal((K, len(s), H)))
    clean = _run(Tensor(days), ps, w, lookback=L, starts=s)
    bad = days.copy()
    bad[9] = [np.nan, np.inf, -np.inf]
    got = _run(Tensor(bad), ps, w, lookback=L, starts=s)
    for a, b in zip(clean, got):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-13)
    bad[13] = np.nan                                # inside the windows starting at 12 and 13: NaN there
    with np.errstate(invalid="ignore"):
        h = GRUSequence.apply(Tensor(bad), *ps, lookback=L, starts=s).data
    assert np.isnan(h[:, 2:]).all() and np.isfinite(h[:, :2]).all()


@pytest.mark.parametrize("x, kw, match", [
    (np.zeros((5, D)), {}, "windows must be"),
    (np.zeros((5, 2, D)), {"lookback": L}, "days must be"),
    (np.zeros((4, D)), {"lookback": L}, "days must be"),
    (np.zeros((10, D)), {"lookback": L, "starts": [2, 1]}, "starts must be"),
    (np.zeros((10, D)), {"lookback": L, "starts": [0, 5]}, "starts must be"),
    (np.zeros((10, D)), {"lookback": L, "starts": [0.0, 1.0]}, "starts must be"),
])
def test_bad_windows_are_one_clear_error(x, kw, match):
    ps = _params(np.random.default_rng(4))
    with pytest.raises(ValueError, match=match):
        GRUSequence.apply(Tensor(x), *ps, **kw)
