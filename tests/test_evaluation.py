"""Tests for tinygrad_trade.vol.evaluation."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_trade.vol.evaluation import (
    diebold_mariano,
    dm_table,
    evaluate,
    mae,
    mincer_zarnowitz,
    mse,
    mse_loss,
    newey_west_variance,
    qlike,
    qlike_loss,
)

DATA = Path(__file__).resolve().parents[1] / "tinygrad_trade" / "datasets" / "sp500_daily_1999_2018.csv.gz"


# --------------------------------------------------------------------------- #
# losses
# --------------------------------------------------------------------------- #
def test_losses_hand_computed():
    y = np.array([0.0, 1.0, 7.0])  # includes y = 0
    f = np.array([1.0, 2.0, 4.0])
    # y/f = [0, 0.5, 1.75]; ln f = [0, ln 2, 2 ln 2]
    assert qlike(y, f) == pytest.approx((2.25 + 3 * math.log(2)) / 3)
    assert qlike_loss(y, f) == pytest.approx([0.0, 0.5 + math.log(2), 1.75 + 2 * math.log(2)])
    # errors y - f = [-1, -1, 3]
    assert mse(y, f) == pytest.approx(11 / 3)
    assert mse_loss(y, f) == pytest.approx([1.0, 1.0, 9.0])
    assert mae(y, f) == pytest.approx(5 / 3)


def test_losses_return_types_and_perfect_forecast():
    y = np.array([0.5, 2.0, 3.0])
    assert isinstance(qlike(y, y), float)
    assert mse(y, y) == 0.0 and mae(y, y) == 0.0
    # QLIKE at f = y is 1 + ln y on average, and any other constant scaling is worse
    assert qlike(y, y) == pytest.approx(1 + np.mean(np.log(y)))
    assert qlike(y, 1.1 * y) > qlike(y, y) and qlike(y, 0.9 * y) > qlike(y, y)


def test_pandas_series_indexes_are_checked_not_ignored():
    y = pd.Series([1.0, 2.0, 3.0], index=[10, 11, 12])
    f = pd.Series([1.0, 1.0, 2.0], index=[10, 11, 12])
    assert mse(y, f) == pytest.approx((0 + 1 + 1) / 3)
    assert mse(y, f.to_numpy()) == pytest.approx((0 + 1 + 1) / 3)      # an array pairs by position
    with pytest.raises(ValueError, match="different indexes"):
        mse(y, f.set_axis(["a", "b", "c"]))
    with pytest.raises(ValueError, match="not sorted"):
        qlike(y.iloc[::-1], f.to_numpy())
    with pytest.raises(ValueError, match="not unique"):
        qlike(y.set_axis([10, 10, 12]), f.to_numpy())


@pytest.mark.parametrize("fn", [qlike, mse, mae, qlike_loss, mse_loss, mincer_zarnowitz])
def test_bad_inputs_raise_clear_errors(fn):
    good = np.ones(5)
    with pytest.raises(ValueError, match="different lengths"):
        fn(good, np.ones(4))
    with pytest.raises(ValueError, match="must be > 0"):
        fn(good, np.array([1.0, 1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="must be > 0"):
        fn(good, -good)
    with pytest.raises(ValueError, match="y has 1 non-finite"):
        fn(np.array([1.0, np.nan, 1.0, 1.0, 1.0]), good)
    with pytest.raises(ValueError, match="f has 1 non-finite"):
        fn(good, np.array([1.0, 1.0, np.inf, 1.0, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="one-dimensional"):
        fn(np.ones((5, 1)), np.ones((5, 1)))


def test_error_message_is_one_line_and_names_function():
    with pytest.raises(ValueError) as exc:
        qlike([1.0, 2.0], [1.0])
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("qlike:")


# --------------------------------------------------------------------------- #
# Mincer-Zarnowitz
# --------------------------------------------------------------------------- #
def test_mincer_zarnowitz_matches_closed_form_simple_regression():
    rng = np.random.default_rng(0)
    f = rng.uniform(0.5, 3.0, size=40)
    y = 0.3 + 0.8 * f + rng.normal(0, 0.5, size=40)
    out = mincer_zarnowitz(y, f)
    n = y.size
    fbar, ybar = f.mean(), y.mean()
    sxx = np.sum((f - fbar) ** 2)
    sxy = np.sum((f - fbar) * (y - ybar))
    b = sxy / sxx
    a = ybar - b * fbar
    resid = y - a - b * f
    s2 = resid @ resid / (n - 2)
    r2 = np.corrcoef(f, y)[0, 1] ** 2
    assert set(out) == {"intercept", "slope", "r2", "se_intercept", "se_slope"}
    assert out["slope"] == pytest.approx(b, rel=1e-10)
    assert out["intercept"] == pytest.approx(a, rel=1e-10)
    assert out["r2"] == pytest.approx(r2, rel=1e-10)
    assert out["se_slope"] == pytest.approx(math.sqrt(s2 / sxx), rel=1e-10)
    assert out["se_intercept"] == pytest.approx(math.sqrt(s2 * (1 / n + fbar**2 / sxx)), rel=1e-10)
    assert all(isinstance(v, float) for v in out.values())


def test_mincer_zarnowitz_exact_fit_and_constant_forecast():
    f = np.array([1.0, 2.0, 3.0, 4.0])
    out = mincer_zarnowitz(2.0 * f + 1.0, f)
    assert out["intercept"] == pytest.approx(1.0) and out["slope"] == pytest.approx(2.0)
    assert out["r2"] == pytest.approx(1.0) and out["se_slope"] == pytest.approx(0.0, abs=1e-12)
    const = mincer_zarnowitz(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    assert const["intercept"] == pytest.approx(2.0)
    assert math.isnan(const["slope"]) and math.isnan(const["r2"])
    with pytest.raises(ValueError, match="at least 3"):
        mincer_zarnowitz([1.0, 2.0], [1.0, 2.0])


# --------------------------------------------------------------------------- #
# Newey-West and Diebold-Mariano
# --------------------------------------------------------------------------- #
def test_diebold_mariano_hand_computed_8_numbers_2_lags():
    loss_a = np.array([1.0, 2.0, 0.5, 3.0, 1.5, 2.5, 0.0, 1.0])
    loss_b = np.array([0.5, 1.0, 1.0, 1.0, 1.0, 2.0, 0.5, 0.5])
    # d = [0.5, 1, -0.5, 2, 0.5, 0.5, -0.5, 0.5], mean 0.5
    # u = d - 0.5 = [0, 0.5, -1, 1.5, 0, 0, -1, 0]
    # gamma_0 = (0.25 + 1 + 2.25 + 1) / 8            = 0.5625
    # gamma_1 = (0.5*-1 + -1*1.5) / 8 = -2 / 8        = -0.25
    # gamma_2 = (1.5*0.5) / 8 = 0.75 / 8              = 0.09375
    # NW = gamma_0 + 2*(1 - 1/3)*gamma_1 + 2*(1 - 2/3)*gamma_2
    #    = 0.5625 - 1/3 + 0.0625 = 7/24
    nw = newey_west_variance(loss_a - loss_b, lags=2)
    assert nw == pytest.approx(7 / 24, rel=1e-12)
    stat = 0.5 / math.sqrt((7 / 24) / 8)  # = sqrt(48/7) ~ 2.6186
    out = diebold_mariano(loss_a, loss_b, lags=2)
    assert out["stat"] == pytest.approx(stat, rel=1e-12)
    assert out["stat"] == pytest.approx(math.sqrt(48 / 7), rel=1e-12)
    assert out["mean_diff"] == pytest.approx(0.5)
    assert out["n"] == 8
    # two-sided normal p-value (scipy only used here to cross-check math.erfc)
    from scipy.stats import norm

    assert out["pvalue"] == pytest.approx(2 * norm.sf(stat), rel=1e-10)
    # model a has the higher loss here, so the stat is positive; swapped it is negative
    assert diebold_mariano(loss_b, loss_a, lags=2)["stat"] < 0


def test_newey_west_lag_cap_and_constant_series():
    d = np.array([1.0, -1.0, 2.0])
    assert newey_west_variance(d, lags=10) == pytest.approx(newey_west_variance(d, lags=2))
    assert newey_west_variance(np.full(6, 3.0), lags=3) == 0.0
    out = diebold_mariano(np.full(6, 2.0), np.full(6, 1.0))
    assert out["stat"] == math.inf and out["pvalue"] == 0.0
    out = diebold_mariano(np.ones(6), np.ones(6))
    assert out["stat"] == 0.0 and out["pvalue"] == 1.0
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="lags must be a non-negative integer"):
            newey_west_variance(d, lags=bad)
    with pytest.raises(ValueError, match="different lengths"):
        diebold_mariano(np.ones(4), np.ones(5))
    with pytest.raises(ValueError, match="loss_a has 1 non-finite"):
        diebold_mariano([1.0, np.nan, 2.0], [1.0, 1.0, 1.0])


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.lists(st.tuples(finite, finite), min_size=2, max_size=60),
    lags=st.integers(min_value=0, max_value=8),
)
def test_diebold_mariano_is_antisymmetric(pairs, lags):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    ab = diebold_mariano(a, b, lags=lags)
    ba = diebold_mariano(b, a, lags=lags)
    assert ab["stat"] == pytest.approx(-ba["stat"], rel=1e-12, abs=1e-12)
    assert ab["pvalue"] == pytest.approx(ba["pvalue"], rel=1e-12, abs=1e-15)
    assert ab["mean_diff"] == pytest.approx(-ba["mean_diff"], rel=1e-12, abs=1e-12)
    assert 0.0 <= ab["pvalue"] <= 1.0


@settings(max_examples=100, deadline=None)
@given(d=st.lists(finite, min_size=1, max_size=60))
def test_newey_west_with_zero_lags_is_biased_sample_variance(d):
    d = np.array(d)
    assert newey_west_variance(d, lags=0) == pytest.approx(np.var(d), rel=1e-9, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(d=st.lists(finite, min_size=2, max_size=60), lags=st.integers(min_value=0, max_value=10))
def test_newey_west_is_non_negative(d, lags):
    assert newey_west_variance(np.array(d), lags=lags) >= 0.0


# --------------------------------------------------------------------------- #
# tables
# --------------------------------------------------------------------------- #
def _toy():
    rng = np.random.default_rng(1)
    true_var = np.exp(rng.normal(0, 0.7, size=500))
    y = true_var * rng.standard_normal(500) ** 2
    return y, {"har": np.full(500, y.mean()), "good": true_var, "noisy": true_var * np.exp(rng.normal(0, 0.5, 500))}


def test_evaluate_structure_and_values():
    y, fc = _toy()
    out = evaluate(y, fc)
    assert list(out) == ["har", "good", "noisy"]
    for name, res in out.items():
        assert set(res) == {"qlike", "mse", "mae", "mz", "n"}
        assert res["n"] == 500
        assert res["qlike"] == pytest.approx(qlike(y, fc[name]))
        assert res["mse"] == pytest.approx(mse(y, fc[name]))
        assert res["mae"] == pytest.approx(mae(y, fc[name]))
    mz = out["good"]["mz"]
    assert mz["slope"] > 0.5 and 0.0 < mz["r2"] < 1.0 and mz["se_slope"] > 0
    assert math.isnan(out["har"]["mz"]["slope"])  # constant forecast
    with pytest.raises(ValueError, match=r"evaluate\['bad'\]: y and f have different lengths"):
        evaluate(y, {"bad": np.ones(3)})


def test_dm_table_against_benchmark():
    y, fc = _toy()
    out = dm_table(y, fc, benchmark="har", lags=5)
    assert set(out) == {"good", "noisy"}
    for name, res in out.items():
        assert set(res) == {"qlike", "mse"}
        assert set(res["qlike"]) == {"stat", "pvalue"}
        ref = diebold_mariano(qlike_loss(y, fc[name]), qlike_loss(y, fc["har"]), lags=5)
        assert res["qlike"]["stat"] == pytest.approx(ref["stat"])
        ref = diebold_mariano(mse_loss(y, fc[name]), mse_loss(y, fc["har"]), lags=5)
        assert res["mse"]["pvalue"] == pytest.approx(ref["pvalue"])
    # the true variance beats a constant on QLIKE: negative stat
    assert out["good"]["qlike"]["stat"] < -2
    assert dm_table(y, fc, benchmark="absent") == {}


# --------------------------------------------------------------------------- #
# reference figures (README of the shared data, Protocol A)
# --------------------------------------------------------------------------- #
def _protocol_a():
    """EWMA(0.94) and HAR-PK forecasts on S&P 500 for target days >= 2008-01-01."""
    df = pd.read_csv(DATA)
    c, h, lo = (df[k].to_numpy(float) for k in ("Adj Close", "High", "Low"))
    r = 100 * np.diff(np.log(c))
    y = r**2
    pk = (100 * np.log(h / lo))[1:] ** 2 / (4 * math.log(2))  # Parkinson, aligned with r
    test_idx = np.flatnonzero(df["Date"].to_numpy()[1:] >= "2008-01-01")
    n = r.size
    ewma = np.empty(n)
    ewma[0] = y[:20].mean()
    for t in range(1, n):
        ewma[t] = 0.94 * ewma[t - 1] + 0.06 * y[t - 1]
    cs = np.concatenate(([0.0], np.cumsum(pk)))
    t = np.arange(22, n)
    X = np.full((n, 4), np.nan)
    X[t] = np.column_stack([np.ones(t.size), pk[t - 1], (cs[t] - cs[t - 5]) / 5, (cs[t] - cs[t - 22]) / 22])
    harpk = np.empty(test_idx.size)
    for b in range(0, test_idx.size, 21):  # refit every 21 forecasts, expanding window
        rows = np.arange(22, test_idx[b])
        beta = np.linalg.lstsq(X[rows], y[rows], rcond=None)[0]
        blk = test_idx[b : b + 21]
        harpk[b : b + 21] = np.maximum(X[blk] @ beta, 1e-3)
    return y[test_idx], {"ewma": ewma[test_idx], "harpk": harpk}


def test_reference_figures_sp500():
    y, fc = _protocol_a()
    assert y.size == 2769
    ev = evaluate(y, fc)
    assert ev["ewma"]["qlike"] == pytest.approx(0.9167, abs=6e-4)
    assert ev["ewma"]["mse"] == pytest.approx(25.76, abs=0.06)
    assert ev["ewma"]["mz"]["r2"] == pytest.approx(0.229, abs=2e-3)
    assert ev["harpk"]["qlike"] == pytest.approx(0.8211, abs=6e-4)
    assert ev["harpk"]["mse"] == pytest.approx(24.42, abs=0.06)
    assert ev["harpk"]["mz"]["r2"] == pytest.approx(0.267, abs=2e-3)
    dm = dm_table(y, fc, benchmark="ewma", lags=5)
    assert dm["harpk"]["qlike"]["stat"] == pytest.approx(-4.38, abs=0.02)
    assert dm["harpk"]["mse"]["pvalue"] > 0.05  # "on MSE no difference is significant"
