"""EWMA and HAR by hand, the model registry, and the walk-forward reference QLIKE of every
classical model on the S&P 500 (protocol A of /work/shared/data/README.md)."""
import warnings

import numpy as np
import pytest

from tinygrad_trade.vol.base import Dataset, Forecaster
from tinygrad_trade.vol.evaluation import qlike
from tinygrad_trade.vol.models import (
    EWMA,
    GARCH,
    HAR,
    MODELS,
    available_models,
    ewma_variance,
    fit_har,
    get_model,
    har_design,
    register_model,
)
from tinygrad_trade.vol.models.ewma import ewma_start


def _forward_mean(x, h):
    n = x.size
    return np.array([np.mean(x[t:t + h]) if t + h <= n else np.nan for t in range(n)])


def _sp500_dataset(horizon=1):
    from tinygrad_trade.vol.data import load_sp500
    from tinygrad_trade.vol.features import log_returns, parkinson
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        df = load_sp500()
    r = log_returns(df).to_numpy()
    r2 = r ** 2
    pk = parkinson(df).to_numpy()
    return Dataset(dates=df.index.values.astype("datetime64[D]"), returns=r, daily=r2,
                   target=_forward_mean(r2, horizon), proxies={"r2": r2, "parkinson": pk},
                   horizon=horizon, source="sp500")


@pytest.fixture(scope="module")
def ds():
    return _sp500_dataset()


def _synthetic(n=400, horizon=1, seed=0):
    rng = np.random.default_rng(seed)
    r = np.concatenate(([np.nan], rng.standard_normal(n - 1) * np.exp(0.3 * np.sin(np.arange(n - 1) / 30))))
    r2 = r ** 2
    pk = np.abs(rng.standard_normal(n)) + 0.1
    return Dataset(dates=np.arange(n).astype("datetime64[D]"), returns=r, daily=r2,
                   target=_forward_mean(r2, horizon), proxies={"r2": r2, "parkinson": pk}, horizon=horizon)


# --------------------------------------------------------------------------- EWMA
def test_ewma_recursion_against_hand_loop():
    rng = np.random.default_rng(1)
    r = rng.standard_normal(300)
    lam, s0 = 0.94, 1.7
    s = [s0]
    for x in r:
        s.append(lam * s[-1] + (1 - lam) * x * x)
    np.testing.assert_allclose(ewma_variance(r, lam, s0), s, rtol=1e-13)
    assert ewma_variance(r, 0.9)[0] == pytest.approx(np.mean(r[:22] ** 2))
    with pytest.raises(ValueError):
        ewma_variance(r, 1.0)


def test_ewma_forecaster_by_hand():
    ds = _synthetic()
    m = EWMA().fit(ds, end=300, begin=10)
    f = m.predict(ds, 300, 320)
    s = ewma_start(ds.returns[11:])
    assert m.s0_ == pytest.approx(s)
    for t in range(12, 320):              # day 11 is the first return of the fit sample
        s = 0.94 * s + 0.06 * ds.returns[t - 1] ** 2
        if t >= 300:
            assert f[t - 300] == pytest.approx(s, rel=1e-12)
    assert m.predict(ds, 300, 300).shape == (0,)
    assert get_model("ewma").lam == 0.94


def test_ewma_lambda_by_qlike():
    ds = _synthetic(n=1500)
    m = EWMA(lam=None).fit(ds, end=1400)
    assert 0.5 < m.lam_ < 0.9999
    lo, stop = 23, ds.last_known(1400)
    y = ds.target[lo:stop]

    def loss(lam):
        s = ewma_variance(ds.returns[1:stop - 1], lam, m.s0_)[lo - 1:]
        return qlike(y, s)

    best = loss(m.lam_)
    for lam in (m.lam_ - 0.01, m.lam_ + 0.005, 0.94):
        if 0.5 < lam < 0.9999:
            assert best <= loss(lam) + 1e-12


# --------------------------------------------------------------------------- HAR
def test_har_design_by_hand():
    p = np.arange(1.0, 41.0) ** 1.5
    X = har_design(p)
    assert np.isnan(X[:22]).any(axis=1).all() and np.isfinite(X[22:]).all()
    for t in (22, 30, 39):
        np.testing.assert_allclose(X[t], [1.0, p[t - 1], p[t - 5:t].mean(), p[t - 22:t].mean()], rtol=1e-13)
    XL = har_design(p, log=True)
    np.testing.assert_allclose(XL[30, 1:], np.log(X[30, 1:]), rtol=1e-13)


@pytest.mark.parametrize("proxy", ["parkinson", "r2"])
def test_har_coefficients_equal_direct_lstsq(ds, proxy):
    end = 3000
    m = HAR(proxy=proxy).fit(ds, end)
    p, y = ds.proxies[proxy], ds.target
    rows, ys = [], []
    for t in range(22, ds.last_known(end)):        # the first full 22-day window ends at t - 1 = 21
        rows.append([1.0, p[t - 1], np.mean(p[t - 5:t]), np.mean(p[t - 22:t])])
        ys.append(y[t])
    A, b = np.array(rows), np.array(ys)
    ok = np.isfinite(A).all(axis=1) & np.isfinite(b)      # r2[0] is nan: r2's first usable t is 23
    assert ok.sum() == ds.last_known(end) - (23 if proxy == "r2" else 22)
    coef = np.linalg.lstsq(A[ok], b[ok], rcond=None)[0]
    np.testing.assert_allclose(m.coef_.to_numpy(), coef, rtol=1e-8)
    f = m.predict(ds, end, end + 50)
    A2 = np.array([[1.0, p[t - 1], np.mean(p[t - 5:t]), np.mean(p[t - 22:t])] for t in range(end, end + 50)])
    np.testing.assert_allclose(f, np.maximum(A2 @ coef, 1e-3), rtol=1e-8)
    assert list(m.coef_.index) == ["const", "h1", "h5", "h22"]


def test_har_floor_and_log_bias_correction():
    ds = _synthetic(n=600)
    m = HAR(proxy="parkinson").fit(ds, end=500)
    m.coef_[:] = [-5.0, 0.0, 0.0, 0.0]
    assert np.all(m.predict(ds, 500, 510) == 1e-3)

    lg = HAR(proxy="parkinson", log=True).fit(ds, end=500)
    X = har_design(ds.proxies["parkinson"], log=True)
    coef, s2, n = fit_har(X[:500], ds.target[:500], log=True)
    resid = np.log(ds.target[22:500]) - X[22:500] @ coef
    assert n == 478 and s2 == pytest.approx(resid @ resid / (n - 4))
    np.testing.assert_allclose(lg.predict(ds, 500, 520), np.maximum(np.exp(X[500:520] @ coef + 0.5 * s2), 1e-3))
    assert lg.name == "log_har"


def test_har_uses_no_future_data():
    ds = _synthetic(n=600)
    m = HAR().fit(ds, end=500)
    f = m.predict(ds, 500, 540)
    ds2 = _synthetic(n=600)
    ds2.proxies["parkinson"][520:] = 1e3       # the proxy of day t and later
    ds2.target[500:] = 1e3                      # targets not known before `end`
    m2 = HAR().fit(ds2, end=500)
    np.testing.assert_allclose(m2.coef_, m.coef_)
    np.testing.assert_allclose(m2.predict(ds2, 500, 521), f[:21])


def test_har_multi_day_target_uses_known_pairs_only():
    ds = _synthetic(n=600, horizon=5)
    m = HAR().fit(ds, end=500)
    ds.target[ds.last_known(500):] = 1e6        # known only after day `end - 1`
    m2 = HAR().fit(ds, end=500)
    np.testing.assert_allclose(m.coef_, m2.coef_)


def test_har_bad_inputs():
    ds = _synthetic()
    with pytest.raises(ValueError, match="proxy"):
        HAR(proxy="rv").fit(ds, end=300)
    with pytest.raises(ValueError, match="history"):
        HAR().fit(ds, end=300).predict(ds, 5, 30)


# --------------------------------------------------------------------------- registry
def test_registry():
    assert {"ewma", "garch", "gjr", "har", "har_r2"} <= set(available_models())
    kinds = {"ewma": EWMA, "garch": GARCH, "gjr": GARCH, "har": HAR, "har_r2": HAR}
    for name, cls in kinds.items():
        m = get_model(name)
        assert isinstance(m, cls) and isinstance(m, Forecaster) and m.name == name
    assert get_model("gjr").vol == "gjr" and get_model("garch", mean="zero").mean == "zero"
    assert get_model("har_r2").proxy == "r2" and get_model("ewma", lam=0.97).lam == 0.97
    with pytest.raises(ValueError, match="unknown model"):
        get_model("lstm")
    register_model("ewma97", lambda **o: EWMA(lam=0.97, **o))
    try:
        assert get_model("ewma97").lam == 0.97
    finally:
        MODELS.pop("ewma97")


# --------------------------------------------------------------------------- reference QLIKE
REF_QLIKE = {"ewma": 0.9167, "garch": 0.8761, "gjr": 0.8286, "har": 0.8211, "har_r2": 0.9251}


def test_walk_forward_reference_qlike(ds):
    """Protocol A: forecasts of every day from 2008-01-02, refit every 21 days, expanding window."""
    t0 = int(np.searchsorted(ds.dates, np.datetime64("2008-01-01")))
    n = len(ds)
    assert n - t0 == 2769
    for name, ref in REF_QLIKE.items():
        m = get_model(name)
        f = []
        for start in range(t0, n, 21):
            m.fit(ds, start)
            f.append(m.predict(ds, start, min(start + 21, n)))
        f = np.concatenate(f)
        assert f.shape == (2769,) and np.all(f > 0)
        assert qlike(ds.target[t0:], f) == pytest.approx(ref, rel=1e-3), name
