"""The pandas API of every forecaster: model.fit(frame) -> ModelResult (vol.api), and index checks."""
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol import data
from tinygrad_trade.vol.api import ModelResult, dataset_to_frame
from tinygrad_trade.vol.base import Forecaster
from tinygrad_trade.vol.dataset import build_dataset
from tinygrad_trade.vol.evaluation import mse, qlike
from tinygrad_trade.vol.models import get_model
from tinygrad_trade.vol.models.garch import fit_garch

N = 800


@pytest.fixture(scope="module")
def prices():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load_sp500().iloc[:N]


@pytest.fixture(scope="module")
def returns(prices):
    r = 100 * np.log(prices["adj_close"]).diff().iloc[1:]
    return r.rename("spx")


@pytest.fixture(scope="module")
def garch_res(prices):
    return get_model("garch").fit(prices)


def test_garch_result_matches_fit_garch(garch_res, returns):
    ref = fit_garch(returns.to_numpy())
    assert isinstance(garch_res, ModelResult)
    np.testing.assert_allclose(garch_res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-6)
    assert list(garch_res.params.index) == ["mu", "omega", "alpha", "beta"]
    assert garch_res.loglikelihood == pytest.approx(ref.loglik, rel=1e-9)
    assert garch_res.std_err.notna().all()
    # std_err follows arch's default (robust sandwich); the classic inverse-Hessian one by name
    np.testing.assert_allclose(garch_res.std_err.to_numpy(), garch_res.model.result.robust_std_err.to_numpy())
    np.testing.assert_allclose(garch_res.classic_std_err.to_numpy(), garch_res.model.result.classic_std_err.to_numpy())
    assert not np.allclose(garch_res.std_err.to_numpy(), garch_res.classic_std_err.to_numpy())
    cv = garch_res.conditional_volatility
    assert cv.index.equals(pd.DatetimeIndex(returns.index, name="date"))
    np.testing.assert_allclose(cv.to_numpy() ** 2, ref.conditional_variance, rtol=1e-6)
    assert "GARCH(1,1)" in garch_res.summary()


def test_returns_series_gives_the_same_fit(garch_res, returns):
    res = get_model("garch").fit(returns)
    np.testing.assert_allclose(res.params.to_numpy(), garch_res.params.to_numpy(), rtol=1e-9)
    assert res.conditional_volatility.index.equals(garch_res.conditional_volatility.index)


def test_garch_forecast_is_dated_and_matches_closed_form(garch_res, returns):
    f = garch_res.forecast(5)
    assert list(f.columns) == ["variance", "mean_variance", "vol_annual"]
    last = returns.index[-1]
    expected = pd.bdate_range(last + pd.Timedelta(days=1), periods=5)
    assert list(f.index.date) == list(expected.date)
    path = garch_res.model.result.forecast(5)
    np.testing.assert_allclose(f["variance"].to_numpy(), path, rtol=1e-9)
    np.testing.assert_allclose(f["mean_variance"].to_numpy(), np.cumsum(path) / np.arange(1, 6), rtol=1e-9)
    with pytest.raises(ValueError, match="positive integer"):
        garch_res.forecast(0)


def test_har_result_and_direct_forecast(prices):
    res = get_model("har").fit(prices)
    assert list(res.params.index) == ["const", "h1", "h5", "h22"]
    assert res.std_err is not None and (res.std_err > 0).all()
    assert res.loglikelihood is None
    assert res.conditional_volatility.index[0] > prices.index[20]
    f5 = res.forecast(5)
    assert np.isnan(f5["mean_variance"].iloc[:4]).all() and f5["mean_variance"].iloc[-1] > 0
    ds5 = build_dataset(prices, horizon=5)
    ref = get_model("har").fit(ds5, len(ds5))
    from tinygrad_trade.vol.predict import extend_one_day
    expect = ref.predict(extend_one_day(ds5), len(ds5), len(ds5) + 1)[0]
    assert f5["mean_variance"].iloc[-1] == pytest.approx(expect, rel=1e-12)
    assert "const" in res.summary()


def test_return_only_models_and_har_needs_prices(returns):
    for name in ("ewma", "gjr", "har_r2"):
        res = get_model(name).fit(returns)
        assert res.conditional_volatility.notna().all() and len(res.forecast(3)) == 3
    assert get_model("ewma").fit(returns).params["lam"] == 0.94
    with pytest.raises(ValueError, match="parkinson"):
        get_model("har").fit(returns)


def test_neural_result(prices):
    res = get_model("mlp", quick=True, epochs=2, progress=False).fit(prices)
    assert res.std_err is None and res.params["weights"] > 0
    f = res.forecast(1)
    assert f["variance"].iloc[0] > 0


def test_walk_forward_protocol_still_returns_the_model(prices):
    ds = build_dataset(prices)
    m = get_model("garch")
    assert m.fit(ds, 500) is m
    with pytest.raises(TypeError, match="Dataset"):
        m.fit([1.0, 2.0])


def test_index_must_be_sorted_and_unique(returns, prices):
    shuffled = returns.iloc[[1, 0] + list(range(2, len(returns)))]
    with pytest.raises(ValueError, match="not sorted"):
        get_model("garch").fit(shuffled)
    dup = pd.concat([returns.iloc[:3], returns.iloc[2:]])
    with pytest.raises(ValueError, match="not unique"):
        get_model("ewma").fit(dup)
    with pytest.raises(ValueError, match="not sorted"):
        get_model("har").fit(prices.iloc[::-1])


def test_qlike_checks_series_indexes(returns):
    y = returns ** 2
    f = pd.Series(np.full(len(y), y.mean()), index=y.index)
    assert qlike(y, f) == pytest.approx(qlike(y.to_numpy(), f.to_numpy()))
    with pytest.raises(ValueError, match="index"):
        qlike(y, f.shift(1, freq="D"))
    with pytest.raises(ValueError, match="not sorted"):
        qlike(y.iloc[::-1], f.iloc[::-1])
    with pytest.raises(ValueError, match="index"):
        mse(y, f.iloc[::-1])


def test_to_frame(garch_res, prices):
    fr = garch_res.to_frame()
    assert list(fr.columns) == ["returns", "conditional_variance", "conditional_volatility", "std_resid"]
    assert fr.index.equals(pd.DatetimeIndex(prices.index, name="date")) and np.isnan(fr["returns"].iloc[0])
    ds = build_dataset(prices)
    df = dataset_to_frame(ds)
    assert {"returns", "target", "proxy_r2", "proxy_parkinson"} <= set(df.columns) and len(df) == N
    assert ds.to_frame().equals(df)
    assert isinstance(get_model("har"), Forecaster)


def test_walk_forward_result_to_frame(prices):
    from tinygrad_trade.vol.walkforward import walk_forward
    ds = build_dataset(prices)
    wf = walk_forward(ds, ["ewma", "har"], start=600, refit_every=100)
    fr = wf.to_frame()
    assert list(fr.columns) == ["returns", "target", "ewma", "har"] and len(fr) == len(wf.dates)
    assert fr.index[0] == pd.Timestamp(ds.dates[600]) and np.array_equal(fr["har"].to_numpy(), wf.forecasts["har"])
