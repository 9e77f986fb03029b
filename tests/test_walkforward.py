"""Walk-forward protocol: dataset builder, refit blocks, no look-ahead, executors, reference figures."""
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol import data
from tinygrad_trade.vol.base import Forecaster
from tinygrad_trade.vol.dataset import build_dataset, build_rv_dataset, forward_mean
from tinygrad_trade.vol.evaluation import evaluate
from tinygrad_trade.vol.walkforward import (ModelSpec, as_spec, first_index, forecast_stop, make_blocks,
                                            walk_forward)

CLASSICAL = ("ewma", "garch", "gjr", "har", "har_r2")


@pytest.fixture(scope="module")
def sp500():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load_sp500()


@pytest.fixture(scope="module")
def ds_sp500():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_dataset(data.read_sp500())   # the file's facts give the source


def _synthetic_prices(n=600, seed=3):
    """A GARCH-like price path with consistent OHLC."""
    rng = np.random.default_rng(seed)
    var = np.empty(n)
    r = np.empty(n)
    var[0] = 1.0
    for t in range(n):
        if t:
            var[t] = 0.05 + 0.9 * var[t - 1] + 0.05 * r[t - 1] ** 2
        r[t] = np.sqrt(var[t]) * rng.standard_normal()
    close = 100 * np.exp(np.cumsum(r) / 100)
    opn = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    hi = np.maximum(opn, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    lo = np.minimum(opn, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    idx = pd.bdate_range("2010-01-04", periods=n, name="date")
    return pd.DataFrame({"open": opn, "high": hi, "low": lo, "close": close}, index=idx)


# ---------------------------------------------------------------------------------- the dataset
def test_dataset_from_prices(sp500, ds_sp500):
    ds = ds_sp500
    assert len(ds) == len(sp500) == 5031
    assert ds.dates.dtype == np.dtype("datetime64[D]") and str(ds.dates[0]) == "1999-01-04"
    c = sp500["adj_close"].to_numpy()
    assert np.isnan(ds.returns[0]) and ds.returns[1] == pytest.approx(100 * np.log(c[1] / c[0]))
    np.testing.assert_allclose(ds.target[1:], ds.returns[1:] ** 2)
    assert {"r2", "parkinson"} <= set(ds.proxies)
    pk = (100 * np.log(sp500["high"] / sp500["low"])) ** 2 / (4 * np.log(2))
    np.testing.assert_allclose(ds.proxies["parkinson"], pk.to_numpy())
    assert ds.horizon == 1 and ds.target_name == "r2" and ds.source == "sp500_daily_1999_2018.csv"
    assert int((ds.dates >= np.datetime64("2008-01-01")).sum()) == 2769


@pytest.mark.parametrize("h", [5, 22])
def test_dataset_horizon_is_the_mean_over_t_to_t_plus_h_minus_1(sp500, h):
    ds = build_dataset(sp500, horizon=h)
    y = ds.returns ** 2
    for t in (1, 100, len(ds) - h):
        assert ds.target[t] == pytest.approx(y[t:t + h].mean())
    assert np.isnan(ds.target[-(h - 1):]).all() and np.isfinite(ds.target[len(ds) - h])
    assert forecast_stop(ds) == len(ds) - h + 1


def test_dataset_other_targets_and_errors(sp500):
    ds = build_dataset(sp500, target="parkinson")
    np.testing.assert_array_equal(ds.target, ds.proxies["parkinson"])
    assert ds.target_name == "parkinson"
    with pytest.raises(ValueError, match="realized-variance"):
        build_dataset(sp500, target="rv")
    with pytest.raises(ValueError, match="unknown target"):
        build_dataset(sp500, target="vix")
    with pytest.raises(ValueError, match="horizon"):
        build_dataset(sp500, horizon=0)
    np.testing.assert_array_equal(forward_mean(np.array([1.0, 2, 3, np.nan, 5]), 2), [1.5, 2.5, np.nan, np.nan, np.nan])


def test_dataset_from_realized_variance():
    rv = data.load_sp500_rv()
    ds = build_rv_dataset(rv, horizon=5)
    assert len(ds) == len(rv) and ds.target_name == "rv" and ds.horizon == 5
    assert "rv" in ds.proxies and np.isnan(ds.returns).all()
    assert ds.target[0] == pytest.approx(rv["rv"].iloc[:5].mean())


# ---------------------------------------------------------------------------------- the protocol
def test_blocks_start_and_stop(ds_sp500):
    assert make_blocks(10, 55, 21) == [(10, 31), (31, 52), (52, 55)]
    with pytest.raises(ValueError):
        make_blocks(0, 10, 0)
    first = first_index(ds_sp500, "2008-01-01")
    assert str(ds_sp500.dates[first]) == "2008-01-02" and first_index(ds_sp500, first) == first
    assert forecast_stop(ds_sp500) == len(ds_sp500)
    assert as_spec("har") == ModelSpec("har") and as_spec(("gjr", {"x": 1})).options == {"x": 1}


class Spy(Forecaster):
    """Records every fit window; forecasts the mean target known at fit time."""

    calls = None

    def __init__(self, log=None):
        self.log = log

    def fit(self, ds, end, begin=0):
        last = ds.last_known(end)
        self.level = float(np.nanmean(ds.target[begin:last]))
        self.fitted = (begin, end, last)
        return self

    def predict(self, ds, start, stop):
        return np.full(stop - start, self.level + self.fitted[1] * 1e-9)


@pytest.mark.parametrize("window,h", [(None, 1), (300, 1), (None, 5)])
def test_fit_windows_refit_dates_and_known_targets(window, h):
    ds = build_dataset(_synthetic_prices(), horizon=h)
    wf = walk_forward(ds, [ModelSpec("spy", factory=Spy)], start=400, refit_every=21, window=window)
    stop = len(ds) - h + 1
    assert wf.index[0] == 400 and wf.index[-1] == stop - 1 and len(wf.forecasts["spy"]) == stop - 400
    assert [a for a, _ in wf.blocks] == list(range(400, stop, 21))
    for (a, _), (begin, end) in zip(wf.blocks, wf.fit_windows):
        assert end == a and begin == (0 if window is None else a - window)
    # the level of each block is the mean of the targets known before the block: target t with t+h-1 < a
    for a, b in wf.blocks:
        k = a - 400
        begin = 0 if window is None else a - window
        expect = np.nanmean(ds.target[begin:a - h + 1]) + a * 1e-9
        np.testing.assert_allclose(wf.forecasts["spy"][k:k + (b - a)], expect)


def test_bad_arguments(ds_sp500):
    with pytest.raises(ValueError, match="duplicate"):
        walk_forward(ds_sp500, ["har", "har"], start=4000)
    with pytest.raises(ValueError, match="no forecast days"):
        walk_forward(ds_sp500, ["har"], start=len(ds_sp500))
    with pytest.raises(ValueError, match="window"):
        walk_forward(ds_sp500, ["har"], start=4000, window=0)


# ---------------------------------------------------------------------------------- no look-ahead
@pytest.mark.parametrize("t_cut", [430, 441, 462])   # inside a block, at the end of one, at the start of one
def test_no_look_ahead_classical_models(t_cut):
    """Perturbing prices after day t leaves every forecast up to day t+1 unchanged."""
    df = _synthetic_prices()
    ds = build_dataset(df)
    base = walk_forward(ds, CLASSICAL, start=400, refit_every=21)
    rng = np.random.default_rng(0)
    bumped = df.copy()
    scale = np.exp(rng.normal(0, 0.05, len(df) - t_cut - 1))
    for col in ("open", "high", "low", "close"):
        bumped.iloc[t_cut + 1:, bumped.columns.get_loc(col)] *= scale
    bumped.iloc[t_cut + 1:, bumped.columns.get_loc("high")] *= 1.03   # also widen the ranges
    ds2 = build_dataset(bumped)
    assert not np.allclose(ds2.returns[t_cut + 1:], ds.returns[t_cut + 1:])
    moved = walk_forward(ds2, CLASSICAL, start=400, refit_every=21)
    upto = t_cut + 1 - 400 + 1   # forecasts of days 400..t+1
    for name in CLASSICAL:
        np.testing.assert_array_equal(moved.forecasts[name][:upto], base.forecasts[name][:upto], err_msg=name)
        assert not np.array_equal(moved.forecasts[name][upto:], base.forecasts[name][upto:]), name


# ---------------------------------------------------------------------------------- executors
class NoisyWarm(Forecaster):
    """A stand-in for a warm-started net: uses the global numpy RNG and keeps a loss history."""

    warm_start = True

    def __init__(self, epochs=3):
        self.epochs, self.level, self.history = epochs, None, []

    def fit(self, ds, end, begin=0):
        y = ds.target[begin:ds.last_known(end)]
        start = np.nanmean(y) if self.level is None else self.level
        losses = []
        for _ in range(self.epochs):
            start = 0.7 * start + 0.3 * np.nanmean(y) * (1 + 0.1 * self.rng.standard_normal())
            losses.append(float(abs(start - np.nanmean(y))))
        self.level = start
        self.history.append({"train": losses, "val": losses[::-1]})
        return self

    def predict(self, ds, start, stop):
        return np.full(stop - start, self.level)


class NoisyFresh(NoisyWarm):
    warm_start = False


def test_process_pool_gives_identical_results():
    ds = build_dataset(_synthetic_prices(500))
    models = ["ewma", "garch", "har", ModelSpec("warm", factory=NoisyWarm), ModelSpec("fresh", factory=NoisyFresh)]
    serial = walk_forward(ds, models, start=300, refit_every=21, seed=7)
    with ProcessPoolExecutor(2) as ex:
        pooled = walk_forward(ds, models, start=300, refit_every=21, seed=7, executor=ex)
    with ThreadPoolExecutor(2) as ex:   # any Executor works; chunking never changes a result
        threaded = walk_forward(ds, models, start=300, refit_every=21, seed=7, executor=ex, chunk=1)
    for other in (pooled, threaded):
        assert list(other.forecasts) == list(serial.forecasts)
        for name in serial.forecasts:
            np.testing.assert_array_equal(other.forecasts[name], serial.forecasts[name], err_msg=name)
        assert other.histories == serial.histories
    assert len(serial.histories["warm"]) == len(serial.histories["fresh"]) == len(serial.blocks)
    other_seed = walk_forward(ds, models[3:], start=300, refit_every=21, seed=8)
    assert not np.array_equal(other_seed.forecasts["warm"], serial.forecasts["warm"])


# ---------------------------------------------------------------------------------- reference figures
REFERENCE = {"ewma": 0.9167, "garch": 0.8761, "gjr": 0.8286, "har": 0.8211, "har_r2": 0.9251}


def test_reference_qlike_sp500(ds_sp500):
    """Protocol A on the embedded S&P 500: 2,769 days, each model within 1% of the reference QLIKE."""
    wf = walk_forward(ds_sp500, list(REFERENCE), start="2008-01-01", refit_every=21)
    assert len(wf.target) == 2769
    assert str(wf.dates[0]) == "2008-01-02" and str(wf.dates[-1]) == "2018-12-31"
    assert len(wf.blocks) == 132
    ev = evaluate(wf.target, wf.forecasts)
    for name, ref in REFERENCE.items():
        assert ev[name]["qlike"] == pytest.approx(ref, rel=0.01), name
        assert ev[name]["qlike"] == pytest.approx(ref, abs=6e-4), name   # in fact to the 4th decimal


def test_no_look_ahead_neural_models():
    """The same property for the warm-started nets (quick settings), when the registry has them."""
    from tinygrad_trade.vol.pipeline import available_models
    nets = available_models(("mlp", "gru"))
    if not nets:
        pytest.skip("no neural model in the registry")
    specs = [ModelSpec(m, {"quick": True, "progress": False, "seed": 0}) for m in nets]
    df = _synthetic_prices()
    t_cut = 441
    base = walk_forward(build_dataset(df), specs, start=400, refit_every=21)
    bumped = df.copy()
    bumped.iloc[t_cut + 1:] *= np.exp(np.random.default_rng(1).normal(0, 0.05, (len(df) - t_cut - 1, 1)))
    moved = walk_forward(build_dataset(bumped), specs, start=400, refit_every=21)
    upto = t_cut + 1 - 400 + 1
    for name in nets:
        np.testing.assert_array_equal(moved.forecasts[name][:upto], base.forecasts[name][:upto], err_msg=name)
        assert not np.array_equal(moved.forecasts[name][upto:], base.forecasts[name][upto:]), name
