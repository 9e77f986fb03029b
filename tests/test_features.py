"""Features of tinygrad_trade.vol.features: formulas by hand, HAR by loop, no look-ahead."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol.data.loading import read_sp500
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_trade.vol.data import detect_stale_opens, load_sp500
from tinygrad_trade.vol.features import (
    StandardScaler,
    chronological_split,
    garman_klass,
    har_features,
    leverage,
    log_returns,
    make_supervised,
    parkinson,
    proxy,
    rogers_satchell,
    squared_returns,
    yang_zhang,
)

LN2 = math.log(2)


def small_frame():
    """Four days of prices; row i below is (Open, High, Low, Close)."""
    rows = [(100.0, 102.0, 99.0, 101.0),
            (101.5, 103.0, 100.5, 102.0),
            (101.0, 101.8, 99.2, 100.0),
            (100.5, 101.0, 98.0, 98.5)]
    return pd.DataFrame(rows, columns=["open", "high", "low", "close"],
                        index=pd.DatetimeIndex(pd.bdate_range("2020-01-06", periods=4), name="date"))


# ----------------------------------------------------------------------------- formulas by hand


def test_returns_and_squared_returns_by_hand():
    df = small_frame()
    r = log_returns(df)
    assert np.isnan(r.iloc[0])
    assert r.iloc[1] == pytest.approx(100 * math.log(102.0 / 101.0), rel=1e-12)
    assert r.iloc[3] == pytest.approx(100 * math.log(98.5 / 100.0), rel=1e-12)
    r2 = squared_returns(df)
    assert np.isnan(r2.iloc[0])
    assert r2.iloc[2] == pytest.approx((100 * math.log(100.0 / 102.0)) ** 2, rel=1e-12)
    df["adj_close"] = [50.0, 51.0, 52.0, 50.0]  # Adj Close wins over Close
    assert log_returns(df).iloc[1] == pytest.approx(100 * math.log(51.0 / 50.0), rel=1e-12)
    assert list(r.index) == list(df.index)


def test_parkinson_by_hand():
    pk = parkinson(small_frame())
    assert pk.iloc[0] == pytest.approx(1e4 * math.log(102.0 / 99.0) ** 2 / (4 * LN2), rel=1e-12)
    assert pk.iloc[1] == pytest.approx(1e4 * math.log(103.0 / 100.5) ** 2 / (4 * LN2), rel=1e-12)
    assert pk.iloc[3] == pytest.approx(1e4 * math.log(101.0 / 98.0) ** 2 / (4 * LN2), rel=1e-12)


def test_garman_klass_by_hand():
    gk = garman_klass(small_frame())
    assert gk.iloc[0] == pytest.approx(
        1e4 * (0.5 * math.log(102.0 / 99.0) ** 2 - (2 * LN2 - 1) * math.log(101.0 / 100.0) ** 2), rel=1e-12)
    assert gk.iloc[2] == pytest.approx(
        1e4 * (0.5 * math.log(101.8 / 99.2) ** 2 - (2 * LN2 - 1) * math.log(100.0 / 101.0) ** 2), rel=1e-12)


def test_rogers_satchell_by_hand():
    rs = rogers_satchell(small_frame())
    assert rs.iloc[1] == pytest.approx(
        1e4 * (math.log(103.0 / 102.0) * math.log(103.0 / 101.5)
               + math.log(100.5 / 102.0) * math.log(100.5 / 101.5)), rel=1e-12)
    assert rs.iloc[3] == pytest.approx(
        1e4 * (math.log(101.0 / 98.5) * math.log(101.0 / 100.5)
               + math.log(98.0 / 98.5) * math.log(98.0 / 100.5)), rel=1e-12)


def test_yang_zhang_by_hand():
    yz = yang_zhang(small_frame(), window=3)
    assert yz.iloc[:3].isna().all()  # needs 3 overnight returns: rows 1..3
    overnight = [math.log(101.5 / 101.0), math.log(101.0 / 102.0), math.log(100.5 / 100.0)]
    intraday = [math.log(102.0 / 101.5), math.log(100.0 / 101.0), math.log(98.5 / 100.5)]
    rs = [math.log(103.0 / 102.0) * math.log(103.0 / 101.5) + math.log(100.5 / 102.0) * math.log(100.5 / 101.5),
          math.log(101.8 / 100.0) * math.log(101.8 / 101.0) + math.log(99.2 / 100.0) * math.log(99.2 / 101.0),
          math.log(101.0 / 98.5) * math.log(101.0 / 100.5) + math.log(98.0 / 98.5) * math.log(98.0 / 100.5)]
    mean_o, mean_c = sum(overnight) / 3, sum(intraday) / 3
    var_o = sum((x - mean_o) ** 2 for x in overnight) / 2
    var_c = sum((x - mean_c) ** 2 for x in intraday) / 2
    k = 0.34 / (1.34 + 4 / 2)
    expected = 1e4 * (var_o + k * var_c + (1 - k) * sum(rs) / 3)
    assert yz.iloc[3] == pytest.approx(expected, rel=1e-9)


def test_open_based_proxies_fall_back_to_parkinson_on_stale_days():
    df = small_frame()
    pk = parkinson(df).to_numpy()
    plain_gk, plain_rs = garman_klass(df).to_numpy(), rogers_satchell(df).to_numpy()
    stale = np.array([False, True, False, False])
    for arg in (stale, pd.Series(stale, index=df.index)):  # an array, or a dated Series as the loaders' facts
        frame = df.copy()
        gk, rs = garman_klass(frame, stale=arg).to_numpy(), rogers_satchell(frame, stale=arg).to_numpy()
        assert gk[1] == pk[1] and rs[1] == pk[1]
        np.testing.assert_array_equal(gk[[0, 2, 3]], plain_gk[[0, 2, 3]])
        np.testing.assert_array_equal(rs[[0, 2, 3]], plain_rs[[0, 2, 3]])
        # YZ of row 3 uses rows 1..3, which hold a stale day: the window mean of Parkinson
        assert yang_zhang(frame, window=3, stale=arg).iloc[3] == pytest.approx((pk[1] + pk[2] + pk[3]) / 3)
    assert garman_klass(df, stale=pd.Series(stale, index=df.index)).iloc[1] == pk[1]
    with pytest.raises(ValueError, match="entries but the frame has 4 rows"):
        garman_klass(df, stale=np.array([True, False]))


def test_fallback_follows_dates_on_a_sliced_sp500_frame():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = read_sp500()
    df, stale = loaded.frame, loaded.facts.stale_open
    part = df.loc["2006-11-01":"2006-12-31"]  # the flagged stretch ends in this slice
    flags = stale.loc[part.index].to_numpy()
    assert flags.any() and not flags.all()
    expected = np.where(flags, parkinson(part), garman_klass(part, stale=False))
    np.testing.assert_array_equal(garman_klass(part, stale=stale).to_numpy(), expected)
    assert not garman_klass(df.loc["2008":]).isna().any()


def test_proxy_by_name():
    df = small_frame()
    for name, function in (("r2", squared_returns), ("parkinson", parkinson), ("gk", garman_klass),
                           ("rs", rogers_satchell), ("yz", yang_zhang)):
        pd.testing.assert_series_equal(proxy(df, name), function(df))
    realized = pd.DataFrame({"rv": [1.0, 2.0]}, index=df.index[:2])
    assert proxy(realized, "rv").tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="r2, parkinson, gk, rs, yz, rv"):
        proxy(df, "garch")
    with pytest.raises(ValueError, match="'rv' column"):
        proxy(df, "rv")


# ----------------------------------------------------------------------------- HAR and leverage


def test_har_features_match_a_direct_loop():
    rng = np.random.default_rng(0)
    x = pd.Series(rng.exponential(1.0, 40), index=pd.bdate_range("2020-01-01", periods=40))
    x.iloc[[0, 10]] = [0.0, np.nan]
    for log in (False, True):
        har = har_features(x, windows=(1, 3, 5), log=log, floor=1e-3)
        assert list(har.columns) == ["h1", "h3", "h5"] and har.index.equals(x.index)
        for w in (1, 3, 5):
            for t in range(len(x)):
                window = list(x.iloc[max(0, t - w + 1): t + 1])
                if t + 1 < w or any(math.isnan(v) for v in window):
                    assert math.isnan(har[f"h{w}"].iloc[t])
                    continue
                mean = sum(window) / w
                expected = math.log(max(mean, 1e-3)) if log else mean
                assert har[f"h{w}"].iloc[t] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert har_features(x, log=True)["h1"].iloc[0] == pytest.approx(math.log(1e-4))  # floored zero
    with pytest.raises(ValueError):
        har_features(x, windows=(1, 0))


def test_leverage():
    r = pd.Series([np.nan, 1.5, -2.0, 0.0, -0.5])
    np.testing.assert_array_equal(leverage(r).to_numpy(), [np.nan, 0.0, -2.0, 0.0, -0.5])
    np.testing.assert_array_equal(leverage(r, squared=True).to_numpy(), [np.nan, 0.0, 4.0, 0.0, 0.25])
    assert leverage(r).name == "neg_r" and leverage(r, squared=True).name == "neg_r2"


# ----------------------------------------------------------------------------- supervised framing


@pytest.mark.parametrize("horizon", [1, 3])
def test_make_supervised_targets_are_the_mean_over_the_next_h_days(horizon):
    dates = pd.bdate_range("2021-03-01", periods=12)
    target = pd.Series(np.arange(12.0) ** 2, index=dates)
    features = pd.DataFrame({"a": np.arange(12.0), "b": np.r_[np.nan, np.arange(11.0)]}, index=dates)
    X, y, target_dates = make_supervised(features, target, horizon=horizon)
    positions = list(range(1, 12 - horizon))  # row 0 has a NaN feature; the last h rows have no target
    assert list(X.index) == [dates[t] for t in positions] and X.index.equals(y.index)
    for t, value in zip(positions, y):
        assert value == pytest.approx(sum(target.iloc[t + 1: t + 1 + horizon]) / horizon)
    assert list(target_dates) == [dates[t + horizon] for t in positions]
    with pytest.raises(ValueError):
        make_supervised(features, target.iloc[1:], horizon)
    with pytest.raises(ValueError):
        make_supervised(features, target, 0)


def test_chronological_split():
    train, val, test = chronological_split(100, val_frac=0.2, test_frac=0.1, gap=2)
    assert (train, val, test) == (slice(0, 66), slice(68, 88), slice(90, 100))
    train, val, test = chronological_split(10, val_frac=0.3)
    assert (train, val, test) == (slice(0, 7), slice(7, 10), slice(10, 10))
    with pytest.raises(ValueError):
        chronological_split(3, val_frac=0.5, test_frac=0.4, gap=1)


def test_standard_scaler_uses_training_rows_only():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 100.0], "c": [5.0, 5.0, 5.0, 7.0]})
    train, val, _ = chronological_split(len(X), val_frac=0.25)
    scaler = StandardScaler().fit(X.iloc[train])
    np.testing.assert_allclose(scaler.mean_, [2.0, 5.0])
    np.testing.assert_allclose(scaler.scale_, [math.sqrt(2 / 3), 1.0])  # constant column: scale 1
    out = scaler.transform(X.iloc[val])
    assert isinstance(out, pd.DataFrame) and out.index.equals(X.index[val])
    np.testing.assert_allclose(out.to_numpy(), [[98.0 / math.sqrt(2 / 3), 2.0]])
    pd.testing.assert_frame_equal(scaler.inverse_transform(scaler.transform(X)), X)
    y = np.array([1.0, 3.0])
    assert StandardScaler().fit(y).transform(y).tolist() == [-1.0, 1.0]
    with pytest.raises(ValueError, match="not fitted"):
        StandardScaler().transform(X)
    with pytest.raises(ValueError, match="NaN"):
        StandardScaler().fit(pd.DataFrame({"a": [1.0, np.nan]}))


# ----------------------------------------------------------------------------- no look-ahead


def random_prices(rng, n, stale_share):
    """Valid random OHLC rows; about `stale_share` of the opens equal the previous close."""
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    previous = np.r_[close[0], close[:-1]]
    moved = previous * np.exp(rng.normal(0, 0.004, n))
    open_ = np.where(rng.random(n) < stale_share, previous, moved)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "adj_close": close * 0.9},
                        index=pd.DatetimeIndex(pd.bdate_range("2015-01-01", periods=n), name="date"))


def all_features(df, horizon):
    """Every feature of the module, keyed by name, computed on one price frame."""
    stale = detect_stale_opens(df, window=10)
    out = {"stale": pd.Series(stale, index=df.index), "r": log_returns(df)}
    for name in ("r2", "parkinson", "gk", "rs"):
        out[name] = proxy(df, name, stale=stale)
    out["yz"] = yang_zhang(df, window=5, stale=stale)
    for name in ("r2", "parkinson", "gk", "rs", "yz"):
        out[f"har_{name}"] = har_features(out[name])
        out[f"log_har_{name}"] = har_features(out[name], windows=(1, 2, 7), log=True)
    out["neg_r"], out["neg_r2"] = leverage(out["r"]), leverage(out["r"], squared=True)
    features = pd.concat([out["har_parkinson"], out["log_har_yz"], out["neg_r2"]], axis=1)
    out["X"] = make_supervised(features, out["r2"], horizon)[0]
    return out


@settings(max_examples=40, deadline=None)
@given(n=st.integers(30, 60), seed=st.integers(0, 2**32 - 1), cut=st.floats(0, 1),
       stale_share=st.sampled_from([0.0, 0.5, 1.0]), horizon=st.integers(1, 4))
def test_no_feature_looks_ahead(n, seed, cut, stale_share, horizon):
    rng = np.random.default_rng(seed)
    before = random_prices(rng, n, stale_share)
    t = int(cut * (n - 2))  # the last day kept; every later day is changed
    after = before.copy()
    after.iloc[t + 1:] = random_prices(rng, n, 1.0 - stale_share).iloc[t + 1:].to_numpy()
    assert not np.allclose(before.iloc[t + 1:].to_numpy(), after.iloc[t + 1:].to_numpy())
    day = before.index[t]
    old, new = all_features(before, horizon), all_features(after, horizon)
    for name in old:
        np.testing.assert_array_equal(old[name].loc[:day].to_numpy(), new[name].loc[:day].to_numpy(),
                                      err_msg=f"{name} at days <= t changed when days > t changed")
