"""Tests for tinygrad_trade.vol.backtest."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol.backtest import BacktestResult, backtest_table, buy_and_hold, vol_target_backtest

DATA = Path(__file__).resolve().parents[1] / "tinygrad_trade" / "datasets" / "sp500_daily_1999_2018.csv.gz"


def _regime_series(n=20_000, seed=7):
    """Log returns (%) with Markov-switching vol, 10% or 40% annual; true daily variance."""
    rng = np.random.default_rng(seed)
    switch = rng.random(n) < 1 / 250  # regimes last ~1 year on average
    regime = np.cumsum(switch) % 2
    ann_vol = np.where(regime == 0, 10.0, 40.0)
    var = ann_vol**2 / 252  # %^2 per day
    r = np.sqrt(var) * rng.standard_normal(n)
    return r, var, regime


def _r_from_simple(simple):
    """% log returns that give exactly the given simple returns."""
    return 100 * np.log1p(np.asarray(simple, float))


# --------------------------------------------------------------------------- #
# formulas on small hand-made inputs
# --------------------------------------------------------------------------- #
def test_daily_returns_weights_and_costs_by_hand():
    simple = np.array([0.01, -0.02, 0.005])
    r = _r_from_simple(simple)
    # f chosen so that sqrt(252 f) = 20, 5, 10 annual % -> w = 0.5, min(2, 2) = 2, 1
    f = np.array([20.0, 5.0, 10.0]) ** 2 / 252
    res = vol_target_backtest(r, f, target_vol=10, max_leverage=2, cost_bps=10)
    np.testing.assert_allclose(res.weights, [0.5, 2.0, 1.0])
    dw = np.array([0.5, 1.5, 1.0])  # |w_0 - 0| (entry), |2 - 0.5|, |1 - 2|
    s = np.array([0.5, 2.0, 1.0]) * simple - 10 / 1e4 * dw
    np.testing.assert_allclose(res.daily_returns, s, rtol=1e-12)
    np.testing.assert_allclose(res.equity, np.concatenate(([1.0], np.cumprod(1 + s))), rtol=1e-12)
    assert res.turnover == pytest.approx(dw.mean())
    assert res.turnover_annual == pytest.approx(252 * dw.mean())
    assert res.ann_return == pytest.approx(100 * (np.prod(1 + s) ** (252 / 3) - 1))
    assert res.ann_vol == pytest.approx(100 * np.std(s, ddof=1) * math.sqrt(252))
    assert res.sharpe == pytest.approx(s.mean() / np.std(s, ddof=1) * math.sqrt(252))
    assert res.realized_vol_vs_target == pytest.approx(res.ann_vol / 10)
    assert res.cap_fraction == pytest.approx(1 / 3)
    assert res.mean_weight == pytest.approx(3.5 / 3)


def test_max_drawdown_hand_made_equity_path():
    # wealth 1 -> 1.1 -> 0.88 -> 0.968 -> 1.2 -> 0.9 : worst is 0.9 / 1.2 - 1 = -25%
    wealth = np.array([1.0, 1.1, 0.88, 0.968, 1.2, 0.9])
    res = buy_and_hold(_r_from_simple(wealth[1:] / wealth[:-1] - 1))
    np.testing.assert_allclose(res.equity, wealth, rtol=1e-12)
    assert res.max_drawdown == pytest.approx(-25.0)
    # the initial wealth counts: 1 -> 0.9 -> 1.0 has a 10% drawdown
    res = buy_and_hold(_r_from_simple([-0.1, 1.0 / 0.9 - 1]))
    assert res.max_drawdown == pytest.approx(-10.0)
    # a path that only rises has no drawdown
    assert buy_and_hold(np.array([0.5, 1.0, 0.2])).max_drawdown == 0.0


def test_buy_and_hold_is_the_price_path():
    rng = np.random.default_rng(3)
    r = rng.normal(0.03, 1.2, size=300)
    res = buy_and_hold(r)
    np.testing.assert_allclose(res.weights, 1.0)
    np.testing.assert_allclose(res.equity[1:], np.exp(np.cumsum(r) / 100), rtol=1e-10)
    assert res.turnover == pytest.approx(1 / 300)  # only the entry
    assert res.realized_vol_vs_target is None and res.target_vol is None


# --------------------------------------------------------------------------- #
# behaviour
# --------------------------------------------------------------------------- #
def test_true_variance_forecast_hits_the_target_vol():
    r, var, regime = _regime_series()
    res = vol_target_backtest(r, var, target_vol=10, max_leverage=2)
    assert res.realized_vol_vs_target == pytest.approx(1.0, abs=0.03)
    assert res.cap_fraction == 0.0  # w is 1 or 0.25
    # and within each regime, unlike buy-and-hold (10% vs 40%)
    s = res.daily_returns
    for k in (0, 1):
        vol_k = 100 * s[regime == k].std(ddof=1) * math.sqrt(252)
        assert vol_k == pytest.approx(10.0, rel=0.04)
    bh = buy_and_hold(r)
    bh_vols = [100 * bh.daily_returns[regime == k].std(ddof=1) * math.sqrt(252) for k in (0, 1)]
    assert bh_vols[0] == pytest.approx(10, rel=0.05) and bh_vols[1] == pytest.approx(40, rel=0.05)


def test_cap_binds_when_forecast_vol_is_tiny():
    r, var, _ = _regime_series(n=500)
    res = vol_target_backtest(r, np.full(r.size, 1e-8), target_vol=10, max_leverage=1.5)
    np.testing.assert_array_equal(res.weights, 1.5)
    assert res.cap_fraction == 1.0
    # mixed: tiny forecasts on even days only
    f = var.copy()
    f[::2] = 1e-8
    res = vol_target_backtest(r, f, target_vol=10, max_leverage=1.5)
    np.testing.assert_array_equal(res.weights[::2], 1.5)
    assert np.all(res.weights[1::2] < 1.5)


def test_costs_lower_returns_monotonically():
    r, var, _ = _regime_series(n=5_000, seed=11)
    noisy = var * np.exp(np.random.default_rng(1).normal(0, 0.3, r.size))  # some turnover
    res = {c: vol_target_backtest(r, noisy, cost_bps=c) for c in (0, 2, 10)}
    assert res[0].ann_return > res[2].ann_return > res[10].ann_return
    assert res[0].sharpe > res[2].sharpe > res[10].sharpe
    assert res[0].equity[-1] > res[2].equity[-1] > res[10].equity[-1]
    np.testing.assert_array_equal(res[0].weights, res[10].weights)
    dw = np.abs(np.diff(res[0].weights, prepend=0.0))
    np.testing.assert_allclose(res[0].daily_returns - res[10].daily_returns, 10 / 1e4 * dw, atol=1e-15)


def test_weight_timing_uses_only_the_forecast_of_the_day():
    r, var, _ = _regime_series(n=200, seed=5)
    base = vol_target_backtest(r, var)
    # changing the return of day t (e.g. a crash) leaves every weight unchanged
    r2 = r.copy()
    r2[100] = -20.0
    shocked = vol_target_backtest(r2, var)
    np.testing.assert_array_equal(shocked.weights, base.weights)
    # ...and changes only that day's strategy return
    changed = np.flatnonzero(shocked.daily_returns != base.daily_returns)
    np.testing.assert_array_equal(changed, [100])
    # changing f_t changes w_t only (no look-ahead into w_{t-1}, no lag into w_{t+1})
    f2 = var.copy()
    f2[100] *= 4
    moved = vol_target_backtest(r, f2)
    np.testing.assert_array_equal(np.flatnonzero(moved.weights != base.weights), [100])
    assert moved.weights[100] == pytest.approx(base.weights[100] / 2)


def test_series_inputs_aligned_by_position():
    r, var, _ = _regime_series(n=100, seed=2)
    a = vol_target_backtest(pd.Series(r, index=np.arange(100) + 50), pd.Series(var))
    b = vol_target_backtest(r, var)
    np.testing.assert_array_equal(a.equity, b.equity)


def test_bad_inputs_raise_clear_errors():
    r = np.zeros(10)
    f = np.ones(10)
    with pytest.raises(ValueError, match="different lengths"):
        vol_target_backtest(r, np.ones(9))
    with pytest.raises(ValueError, match="forecast_var must be > 0"):
        vol_target_backtest(r, np.concatenate(([0.0], np.ones(9))))
    with pytest.raises(ValueError, match="returns_pct has 1 non-finite"):
        vol_target_backtest(np.concatenate(([np.nan], np.zeros(9))), f)
    with pytest.raises(ValueError, match="forecast_var has 1 non-finite"):
        vol_target_backtest(r, np.concatenate(([np.inf], np.ones(9))))
    with pytest.raises(ValueError, match="target_vol must be a positive"):
        vol_target_backtest(r, f, target_vol=0)
    with pytest.raises(ValueError, match="max_leverage must be a positive"):
        vol_target_backtest(r, f, max_leverage=-1)
    with pytest.raises(ValueError, match="cost_bps must be a non-negative"):
        vol_target_backtest(r, f, cost_bps=-2)
    with pytest.raises(ValueError, match="periods must be a positive integer"):
        vol_target_backtest(r, f, periods=0)
    with pytest.raises(ValueError, match="return_kind"):
        vol_target_backtest(r, f, return_kind="arith")
    with pytest.raises(ValueError, match="at least 2"):
        buy_and_hold([1.0])


# --------------------------------------------------------------------------- #
# to_dict and the table
# --------------------------------------------------------------------------- #
def test_to_dict_is_plain_json():
    r, var, _ = _regime_series(n=300, seed=4)
    res = vol_target_backtest(r, var, cost_bps=2)
    assert isinstance(res, BacktestResult)
    d = res.to_dict()
    assert "equity" not in d and "weights" not in d
    assert all(v is None or type(v) in (float, int, str) for v in d.values())
    assert d["sharpe"] == res.sharpe and d["cost_bps"] == 2.0 and d["n"] == 300
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    bh = buy_and_hold(r).to_dict()
    assert bh["realized_vol_vs_target"] is None
    json.dumps(bh, allow_nan=False)
    # zero-volatility series: Sharpe undefined -> None in the dict
    assert buy_and_hold(np.zeros(5)).to_dict()["sharpe"] is None


def test_backtest_table_structure():
    r, var, _ = _regime_series(n=400, seed=9)
    fc = {"true": var, "flat": np.full(r.size, var.mean())}
    tab = backtest_table(r, fc, costs_bps=(0, 2, 10))
    assert list(tab) == ["buy_and_hold", "true", "flat"]
    assert tab["buy_and_hold"] == buy_and_hold(r).to_dict()
    for name in fc:
        assert list(tab[name]) == ["0", "2", "10"]
        assert tab[name]["2"] == vol_target_backtest(r, fc[name], cost_bps=2).to_dict()
    json.dumps(tab, allow_nan=False)
    assert list(backtest_table(r, {"m": var}, costs_bps=(2.5,))["m"]) == ["2.5"]
    with pytest.raises(ValueError, match="reserved"):
        backtest_table(r, {"buy_and_hold": var})


# --------------------------------------------------------------------------- #
# reference figures (README of the shared data): S&P 500 2008-2018, HAR-PK
# --------------------------------------------------------------------------- #
def _sp500_harpk():
    """% log returns and HAR-PK forecasts for target days >= 2008-01-01 (Protocol A)."""
    df = pd.read_csv(DATA)
    c, h, lo = (df[k].to_numpy(float) for k in ("Adj Close", "High", "Low"))
    r = 100 * np.diff(np.log(c))
    pk = (100 * np.log(h / lo))[1:] ** 2 / (4 * math.log(2))
    test_idx = np.flatnonzero(df["Date"].to_numpy()[1:] >= "2008-01-01")
    n = r.size
    cs = np.concatenate(([0.0], np.cumsum(pk)))
    t = np.arange(22, n)
    X = np.full((n, 4), np.nan)
    X[t] = np.column_stack([np.ones(t.size), pk[t - 1], (cs[t] - cs[t - 5]) / 5, (cs[t] - cs[t - 22]) / 22])
    f = np.empty(test_idx.size)
    for b in range(0, test_idx.size, 21):
        rows = np.arange(22, test_idx[b])
        beta = np.linalg.lstsq(X[rows], r[rows] ** 2, rcond=None)[0]
        f[b : b + 21] = np.maximum(X[test_idx[b : b + 21]] @ beta, 1e-3)
    return r[test_idx], f


def test_reference_figures_sp500():
    r, f = _sp500_harpk()
    # the reference figures use log-return accounting (return_kind="log")
    tab = backtest_table(r, {"harpk": f}, return_kind="log")
    assert tab["buy_and_hold"]["sharpe"] == pytest.approx(0.24, abs=0.006)
    assert tab["buy_and_hold"]["max_drawdown"] == pytest.approx(-53.5, abs=0.6)
    for cost, sharpe in (("0", 0.42), ("2", 0.40), ("10", 0.31)):
        assert tab["harpk"][cost]["sharpe"] == pytest.approx(sharpe, abs=0.006)
    assert tab["harpk"]["0"]["ann_vol"] == pytest.approx(10.2, abs=0.05)
    assert tab["harpk"]["0"]["max_drawdown"] == pytest.approx(-24.0, abs=0.6)
    # exact (simple-return) accounting: same realised vol, higher Sharpe (no variance drag)
    simple = backtest_table(r, {"harpk": f})
    assert simple["harpk"]["0"]["realized_vol_vs_target"] == pytest.approx(1.02, abs=0.005)
    assert simple["harpk"]["0"]["sharpe"] > tab["harpk"]["0"]["sharpe"]
    assert simple["buy_and_hold"]["sharpe"] > tab["buy_and_hold"]["sharpe"]
