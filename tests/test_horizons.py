"""Several horizons in one run (forecast --horizon 1,5,...), the pooled model's horizon settings, the pooled nets
and the h-day VaR/ES backtest on overlapping windows (issue 24)."""
import json

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.evaluation.horizon_risk import (fhs_var_es, horizon_backtest, horizon_returns, newey_west_coverage,
                                                       subsample_kupiec)
from tinygrad_trade.vol.features.dataset import build_dataset
from tinygrad_trade.vol.jobs.config import ForecastConfig, validate
from tinygrad_trade.vol.models import get_model
from tinygrad_trade.vol.models.pooled import HORIZON_SETTINGS, PooledForecaster, horizon_settings


def _prices(n=700, seed=3):
    rng = np.random.default_rng(seed)
    var, r = np.empty(n), np.empty(n)
    var[0] = 1.0
    for t in range(n):
        if t:
            var[t] = 0.05 + 0.88 * var[t - 1] + (0.02 + 0.1 * (r[t - 1] < 0)) * r[t - 1] ** 2
        r[t] = np.sqrt(var[t]) * rng.standard_normal()
    close = 100 * np.exp(np.cumsum(r) / 100)
    opn = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    hi = np.maximum(opn, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    lo = np.minimum(opn, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    idx = pd.bdate_range("2010-01-04", periods=n, name="date")
    return pd.DataFrame({"open": opn, "high": hi, "low": lo, "close": close}, index=idx)


# ------------------------------------------------------------------------------------ the run
@pytest.mark.slow
def test_several_horizons_are_the_one_horizon_runs_side_by_side(tmp_path, capsys):
    args = ["forecast", "--models", "ewma,har", "--start", "2017-01-01", "--refit-every", "126", "--quiet"]
    assert main([*args, "--horizon", "1,5", "--out", str(tmp_path / "both")]) == 0
    assert main([*args, "--horizon", "5", "--out", str(tmp_path / "five")]) == 0
    capsys.readouterr()
    both = json.loads((tmp_path / "both" / "metrics.json").read_text())
    five = json.loads((tmp_path / "five" / "metrics.json").read_text())
    assert list(both["horizons"]) == ["1", "5"] and both["config"]["horizon"] == [1, 5]
    b5 = both["horizons"]["5"]
    assert b5["models"] == five["models"] and b5["dm_vs_har"] == five["dm_vs_har"]
    assert set(b5["risk_h"]) == {"ewma", "har"} and not both["horizons"]["1"].get("risk_h")
    assert set(b5["risk_h"]["har"]["fhs"]["levels"]) == {"1", "5"}
    csv = pd.read_csv(tmp_path / "both" / "forecasts.csv")
    assert list(csv.columns[:3]) == ["horizon", "date", "target"]
    one = pd.read_csv(tmp_path / "five" / "forecasts.csv")
    got = csv[csv.horizon == 5].drop(columns="horizon").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, one)
    report = (tmp_path / "both" / "report.md").read_text()
    assert "## Horizon 1 day" in report and "## Horizon 5 days" in report and "5-day VaR and ES" in report
    assert (tmp_path / "both" / "h5" / "report.md").exists()


def test_horizon_list_is_checked():
    with pytest.raises(ValueError, match="listed twice"):
        validate(ForecastConfig(horizon=(1, 5, 5), models=("har",)))
    with pytest.raises(ValueError, match="--horizon"):
        validate(ForecastConfig(horizon=(1, 0), models=("har",)))
    assert validate(ForecastConfig(horizon=(1, 22), models=("har",))).horizon == (1, 22)
    assert ForecastConfig(horizon=(1, 22)).to_dict()["horizon"] == [1, 22]
    assert ForecastConfig(horizon=5).to_dict()["horizon"] == 5


def test_bad_horizon_is_one_line_exit_2(capsys):
    assert main(["forecast", "--horizon", "1,x", "--models", "har", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "--horizon" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------ pooled per horizon
def test_pooled_takes_its_horizons_settings():
    df = _prices()
    assert horizon_settings(1) == HORIZON_SETTINGS[1] and horizon_settings(7) == HORIZON_SETTINGS[5]
    for h in (1, 22):
        ds = build_dataset(df, horizon=h)
        m = PooledForecaster().fit(ds, 500)
        want = horizon_settings(h)
        assert m.ridge == want["ridge"] and m.long == tuple(want["long"])
        names = list(m.coef_.index)
        assert ("pk66" in names) == (66 in want["long"])
        f = m.predict(ds, 500, 520)
        assert f.shape == (20,) and np.all(np.isfinite(f) & (f > 0))
    ds = build_dataset(df, horizon=22)
    assert PooledForecaster(long=(), ridge=3e-3).fit(ds, 500).long == ()


# ------------------------------------------------------------------------------------ pooled nets
@pytest.mark.parametrize("name", ["pooled_mlp", "pooled_gru"])
def test_pooled_nets_start_as_pooled_and_learn_across_assets(name):
    dss = {k: build_dataset(_prices(seed=s), horizon=5) for k, s in (("A", 1), ("B", 2))}
    panel = [(k, ds, 450, 0) for k, ds in dss.items()]
    base = PooledForecaster().fit_panel(panel)
    zero = get_model(name, epochs=0).fit_panel(panel)       # no training: the zero net is the pooled model
    for k, ds in dss.items():
        np.testing.assert_array_equal(zero.predict_asset(k, ds, 450, 480), base.predict_asset(k, ds, 450, 480))
    net = get_model(name, quick=True, seed=1).fit_panel(panel)
    again = get_model(name, quick=True, seed=1).fit_panel(panel)
    arrays, meta = net.get_state()
    restored = get_model(name, quick=True, seed=1).set_state(arrays, meta)
    for k, ds in dss.items():
        f = net.predict_asset(k, ds, 450, 480)
        assert np.all(np.isfinite(f) & (f > 0))
        np.testing.assert_array_equal(f, again.predict_asset(k, ds, 450, 480))      # reproducible
        np.testing.assert_allclose(restored.predict_asset(k, ds, 450, 480), f, rtol=1e-12)
    assert net.history[-1]["net_epochs"] >= 1


# ------------------------------------------------------------------------------------ h-day VaR / ES
def test_horizon_returns_sum_the_next_h_days():
    r = np.array([np.nan, 1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(horizon_returns(r, [1, 2, 3, 4], 2), [3.0, 5.0, 7.0, 9.0])
    assert np.isnan(horizon_returns(r, [0], 2)[0]) and np.isnan(horizon_returns(r, [5], 2)[0])


def test_overlap_corrected_backtest_accepts_the_true_variance_and_rejects_half_of_it():
    rng = np.random.default_rng(0)
    h, n = 10, 6000
    s = np.exp(np.sin(np.arange(n + h) / 300.0))            # a known, slowly moving daily variance
    r = np.sqrt(s) * rng.standard_normal(n + h)
    idx = np.arange(n)
    R = horizon_returns(r, idx, h)
    true = np.array([s[t:t + h].mean() for t in idx])
    good = horizon_backtest(R, true, h, 0.05)
    assert abs(good["hit_rate"] - 0.05) < 0.015 and good["nw_pvalue"] > 0.01 and good["sub_pvalue"] > 0.01
    bad = horizon_backtest(R, true / 2, h, 0.05)
    assert bad["nw_pvalue"] < 1e-3 and bad["sub_pvalue"] < 1e-3
    # overlap: the hits cluster, so the Newey-West variance exceeds the i.i.d. one
    hit = R < -np.sqrt(h * true) * 1.6448536
    iid = newey_west_coverage(hit, 0.05, 0)
    nw = newey_west_coverage(hit, 0.05, h - 1)
    assert abs(nw["z"]) < abs(iid["z"]) or np.isclose(iid["z"], 0.0)
    assert len(subsample_kupiec(hit, 0.05, h)["pvalues"]) == h


def test_fhs_uses_only_complete_earlier_windows_and_fat_tails():
    rng = np.random.default_rng(1)
    h, n = 5, 3000
    r = rng.standard_t(3, n + h) / np.sqrt(3.0)            # unit variance, fat tails
    R = horizon_returns(r, np.arange(n), h)
    f = np.ones(n)
    var, es = fhs_var_es(R, f, h, 0.01, min_history=250)
    assert np.isnan(var[:254]).all() and np.isfinite(var[255:]).all()   # 250 complete windows need t >= 254
    R2 = R.copy()
    R2[1000:] = 1e6                                        # later windows never change an earlier figure
    var2, _ = fhs_var_es(R2, f, h, 0.01, min_history=250)
    np.testing.assert_array_equal(var2[:1004], var[:1004])
    hit = R[300:] < -var[300:]
    assert abs(hit.mean() - 0.01) < 0.006 and np.all(es[300:] > var[300:])


def test_pooled_gru_windows_are_each_rows_last_days():
    """The pooled GRU gives the fused op each asset's days once; every row's window is still its own last
    `lookback` days (zeros before an asset's first day and where a value is missing), row by row, any subset."""
    from tinygrad_trade.vol.models.pooled_nets import PooledGRU, daily_scaled
    bad = _prices(n=80, seed=2)
    bad.iloc[30, bad.columns.get_loc("close")] = np.nan
    dss = [build_dataset(_prices(n=80, seed=1), horizon=1), build_dataset(bad, horizon=1)]
    assert not np.isfinite(daily_scaled(dss[1], 0.5, 0.1)).all()
    m = PooledGRU(lookback=5)
    rows_of = [(dss[0], 2.0, np.arange(3, 60)), (dss[1], 0.5, np.arange(0, 70))]
    x = m._inputs(None, rows_of)
    for rows in (np.arange(len(x.asset)), np.r_[0:20, 40:57, 60:100, 110:127]):
        t = m._take(x, rows)
        days = t.days.data
        got = np.stack([days[s:s + 5] for s in t.starts])
        ref = []
        for ds, L, idx in rows_of:
            d = np.nan_to_num(daily_scaled(ds, L, m.delta), nan=0.0, posinf=0.0, neginf=0.0)
            for r in idx:
                ref.append(np.stack([d[u] if u >= 0 else np.zeros(3) for u in range(r - 5, r)]))
        np.testing.assert_array_equal(got, np.stack(ref)[rows])
    with pytest.raises(ValueError, match="asset by asset"):
        m._take(x, np.r_[60:65, 0:5])
