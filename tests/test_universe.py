"""The universe walk-forward: per-asset models on each asset's days, pooled models on calendar blocks."""
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol.base import Forecaster
from tinygrad_trade.vol.dataset import build_dataset
from tinygrad_trade.vol.universe import plan_universe, run_universe, universe_tasks
from tinygrad_trade.vol.walkforward import ModelSpec, walk_forward


def synthetic_prices(n=600, seed=3, start="2010-01-04", scale=100.0):
    """A GARCH-like price path with consistent OHLC on business days."""
    rng = np.random.default_rng(seed)
    var = np.empty(n)
    r = np.empty(n)
    var[0] = 1.0
    for t in range(n):
        if t:
            var[t] = 0.05 + 0.9 * var[t - 1] + 0.05 * r[t - 1] ** 2
        r[t] = np.sqrt(var[t]) * rng.standard_normal()
    close = scale * np.exp(np.cumsum(r) / 100)
    opn = np.r_[scale, close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    hi = np.maximum(opn, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    lo = np.minimum(opn, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    idx = pd.bdate_range(start, periods=n, name="date")
    return pd.DataFrame({"open": opn, "high": hi, "low": lo, "close": close}, index=idx)


class TinyPooled(Forecaster):
    """A pooled stand-in: f_t = c * (5-day mean of the asset's r2 up to t-1), c = the pooled mean ratio
    target / level over every asset's training rows (scale-free). Uses the global RNG a little, like a net."""

    pooled = True
    name = "tiny_pooled"

    def __init__(self, jitter=0.0):
        self.jitter, self.c, self.seen = jitter, None, []

    @staticmethod
    def _level(ds):
        r2 = pd.Series(ds.proxies["r2"])
        lvl = np.full(len(ds), np.nan)
        lvl[1:] = r2.rolling(5, min_periods=5).mean().to_numpy()[:-1]
        return lvl

    def fit_panel(self, panel):
        ratios = []
        self.seen = []
        for asset, ds, end, begin in panel:
            stop = ds.last_known(end)
            if stop <= begin:
                continue
            y, lvl = ds.target[begin:stop], self._level(ds)[begin:stop]
            ok = np.isfinite(y) & np.isfinite(lvl) & (lvl > 0)
            ratios.append(y[ok] / lvl[ok])
            self.seen.append((asset, int(begin), int(stop)))
        self.c = float(np.mean(np.concatenate(ratios))) * (1 + self.jitter * self.rng.standard_normal())
        return self

    def predict_asset(self, asset, ds, start, stop):
        return self.c * self._level(ds)[start:stop]

    def fit(self, ds, end, begin=0):
        return self.fit_panel([("", ds, end, begin)])

    def predict(self, ds, start, stop):
        return self.predict_asset("", ds, start, stop)


class ShadowPooled(TinyPooled):
    """Records every panel it is given, to check the calendar ends."""

    panels = []

    def fit_panel(self, panel):
        ShadowPooled.panels.append([(a, ds.dates[min(end, len(ds) - 1)] if end < len(ds) else None, end, begin)
                                    for a, ds, end, begin in panel])
        return super().fit_panel(panel)


TINY = ModelSpec("tiny", {"jitter": 0.01}, factory=TinyPooled)
MODELS = ["ewma", "garch", "har", TINY]


def _same(a, b):
    assert list(a.forecasts) == list(b.forecasts)
    for k in a.forecasts:
        np.testing.assert_array_equal(a.forecasts[k], b.forecasts[k], err_msg=k)
    np.testing.assert_array_equal(a.index, b.index)


def test_one_asset_reduces_to_the_walk_forward():
    ds = build_dataset(synthetic_prices(520))
    single = walk_forward(ds, MODELS, start=300, refit_every=21, seed=3)
    uni = run_universe({"A": ds}, MODELS, start=300, refit_every=21, seed=3)
    _same(uni["A"], single)
    assert uni["A"].blocks == single.blocks and uni["A"].fit_windows == single.fit_windows
    rolled = run_universe({"A": ds}, MODELS, start=300, refit_every=21, seed=3, window=150)
    _same(rolled["A"], walk_forward(ds, MODELS, start=300, refit_every=21, seed=3, window=150))


def _three():
    """Three assets with different calendars: B starts later, C is on another price scale and stops earlier."""
    a = build_dataset(synthetic_prices(560, seed=1))
    b = build_dataset(synthetic_prices(420, seed=2, start="2010-07-01"))
    c = build_dataset(synthetic_prices(500, seed=4, scale=3.0))
    return {"A": a, "B": b, "C": c}


def test_executor_and_chunking_change_nothing():
    dss = _three()
    serial = run_universe(dss, MODELS, start="2011-03-01", seed=5)
    with ProcessPoolExecutor(2) as ex:   # the tasks reseed the global RNG: threads would race on it
        threaded = run_universe(dss, MODELS, start="2011-03-01", seed=5, executor=ex, chunk=1)
    assert list(serial) == ["A", "B", "C"]
    for name in serial:
        _same(serial[name], threaded[name])
    plan = plan_universe(dss, MODELS, start="2011-03-01")
    tasks = universe_tasks(dss, plan, chunk=1)
    # garch warm-starts: one task per asset; the others one per block (per asset) or per calendar block
    assert sum(t.label == "garch" for t in tasks) == 3
    assert sum(t.label == "tiny" for t in tasks) == len(plan.calendar)
    assert sum(t.label == "har" for t in tasks) == sum(len(b) for b in plan.blocks.values())


def test_each_asset_is_forecast_on_its_own_days_and_pooled_ends_follow_the_calendar():
    dss = _three()
    ShadowPooled.panels = []
    res = run_universe(dss, ["ewma", ModelSpec("shadow", factory=ShadowPooled)], start="2011-03-01", refit_every=21)
    for name, ds in dss.items():
        wf = res[name]
        assert wf.dates[0] >= np.datetime64("2011-03-01") and wf.dates[0] == ds.dates[wf.index[0]]
        assert wf.index[-1] == len(ds) - 1
        np.testing.assert_array_equal(wf.target, ds.target[wf.index])
    plan = plan_universe(dss, ["ewma"], start="2011-03-01", refit_every=21)
    union = np.unique(np.concatenate([dss[n].dates[f:s] for n, (f, s) in plan.spans.items()]))
    np.testing.assert_array_equal(plan.calendar, union[::21])
    assert len(ShadowPooled.panels) == len(plan.calendar)
    for d_k, panel in zip(plan.calendar, ShadowPooled.panels):
        assert [p[0] for p in panel] == ["A", "B", "C"]
        for asset, day, end, begin in panel:
            ds = dss[asset]
            assert begin == 0
            assert end == 0 or ds.dates[end - 1] < d_k            # nothing on or after D_k is used
            assert end == len(ds) or ds.dates[end] >= d_k         # and nothing before it is left out


@pytest.mark.parametrize("t_cut", [430, 452])
def test_no_look_ahead_across_assets(t_cut):
    """Perturbing any asset after day t leaves every asset's forecasts up to day t+1 unchanged."""
    raw = {"A": synthetic_prices(520, seed=1), "B": synthetic_prices(520, seed=2), "C": synthetic_prices(520, seed=6)}
    dss = {k: build_dataset(v) for k, v in raw.items()}
    models = ["ewma", "har", TINY]
    base = run_universe(dss, models, start=400, refit_every=21)
    for victim in ("A", "C"):
        bumped = raw[victim].copy()
        rng = np.random.default_rng(0)
        scale = np.exp(rng.normal(0, 0.05, len(bumped) - t_cut - 1))
        for col in ("open", "high", "low", "close"):
            bumped.iloc[t_cut + 1:, bumped.columns.get_loc(col)] *= scale
        bumped.iloc[t_cut + 1:, bumped.columns.get_loc("high")] *= 1.03
        moved = run_universe({**dss, victim: build_dataset(bumped)}, models, start=400, refit_every=21)
        cut = np.datetime64(raw[victim].index[t_cut + 1].date())
        changed = False
        for name in dss:
            for m in models:
                m = getattr(m, "key", m)
                upto = base[name].dates <= cut
                np.testing.assert_array_equal(moved[name].forecasts[m][upto], base[name].forecasts[m][upto],
                                              err_msg=f"{victim} -> {name} {m}")
                changed |= not np.array_equal(moved[name].forecasts[m], base[name].forecasts[m])
                if name != victim and m != "tiny":   # a per-asset model never sees another asset
                    np.testing.assert_array_equal(moved[name].forecasts[m], base[name].forecasts[m])
        assert changed
        # the pooled model does see the other assets after the cut
        other = "B"
        assert not np.array_equal(moved[other].forecasts["tiny"], base[other].forecasts["tiny"])


def test_an_asset_without_rows_changes_nothing_and_one_with_history_is_pooled():
    a = build_dataset(synthetic_prices(520, seed=1))
    empty = build_dataset(synthetic_prices(300, seed=2, start="2009-01-01"))
    empty.target[:] = np.nan          # no known target: no training row and no forecast day
    alone = run_universe({"A": a}, ["ewma", TINY], start=400)
    with_empty = run_universe({"A": a, "E": empty}, ["ewma", TINY], start=400)
    assert list(with_empty) == ["A"]
    _same(with_empty["A"], alone["A"])
    # an asset whose data ends before the start has no forecasts but lends its rows to the pooled fit
    history = build_dataset(synthetic_prices(300, seed=2, start="2009-01-01"))
    pooled = run_universe({"A": a, "H": history}, ["ewma", TINY], start=400)
    assert list(pooled) == ["A"]
    np.testing.assert_array_equal(pooled["A"].forecasts["ewma"], alone["A"].forecasts["ewma"])
    assert not np.array_equal(pooled["A"].forecasts["tiny"], alone["A"].forecasts["tiny"])


def test_scale_invariance_per_asset():
    """Multiplying one asset's prices by 100 changes no forecast of any asset (returns and ranges are logs)."""
    raw = {"A": synthetic_prices(480, seed=1), "B": synthetic_prices(480, seed=2)}
    dss = {k: build_dataset(v) for k, v in raw.items()}
    models = ["ewma", "garch", "har", TINY]
    base = run_universe(dss, models, start=380)
    big = run_universe({**dss, "B": build_dataset(raw["B"] * 100.0)}, models, start=380)
    for name in dss:
        for m in ("ewma", "garch", "har", "tiny"):
            # GARCH is fitted by a numerical optimiser: returns equal to the last bit can move its stopping point
            tol = 1e-5 if m == "garch" else 1e-9
            np.testing.assert_allclose(big[name].forecasts[m], base[name].forecasts[m], rtol=tol, err_msg=m)


def test_bad_arguments():
    ds = build_dataset(synthetic_prices(400))
    with pytest.raises(ValueError, match="no assets"):
        run_universe({}, ["ewma"])
    with pytest.raises(ValueError, match="no models"):
        run_universe({"A": ds}, [])
    with pytest.raises(ValueError, match="duplicate model label"):
        run_universe({"A": ds}, ["ewma", "ewma"])
    with pytest.raises(ValueError, match="no asset has a forecast day"):
        run_universe({"A": ds}, ["ewma"], start="2030-01-01")
