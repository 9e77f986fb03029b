"""run_forecast and the report files: metrics.json, forecasts.csv, plots, report.md, determinism."""
import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol.pipeline import ForecastConfig, run_forecast
from tinygrad_trade.vol.report import PLOT_FILES, plot_losses, results_table

CLASSICAL = ("ewma", "garch", "gjr", "har")
SMALL = dict(start="2016-01-01", refit_every=63, models=CLASSICAL, quiet=True)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return run_forecast(ForecastConfig(out=str(out), **SMALL)), out


def test_every_file_is_written(small_run):
    res, out = small_run
    for name in ("metrics.json", "forecasts.csv", "report.md", PLOT_FILES["forecast_vs_realized"],
                 PLOT_FILES["cum_qlike_vs_har"], PLOT_FILES["equity_curves"]):
        assert (out / name).stat().st_size > 0, name
    assert not (out / PLOT_FILES["training_loss"]).exists()   # no nets ran
    for name in ("forecast_vs_realized", "cum_qlike_vs_har", "equity_curves"):
        assert (out / PLOT_FILES[name]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_json_layout(small_run):
    res, out = small_run
    m = json.loads((out / "metrics.json").read_text())
    assert m == res.metrics
    assert set(m) == {"models", "dm_vs_har", "backtest", "risk", "config"}
    assert list(m["models"]) == list(CLASSICAL)
    for name in CLASSICAL:
        assert {"qlike", "mse", "mae", "mz", "n"} <= set(m["models"][name])
        assert set(m["models"][name]["mz"]) >= {"intercept", "slope", "r2"}
        assert m["models"][name]["n"] == 754
    assert set(m["dm_vs_har"]) == {"ewma", "garch", "gjr"}
    assert set(m["dm_vs_har"]["gjr"]) == {"qlike", "mse"} and set(m["dm_vs_har"]["gjr"]["qlike"]) == {"stat", "pvalue"}
    assert set(m["backtest"]) == {"buy_and_hold", *CLASSICAL}
    assert set(m["backtest"]["har"]) == {"0", "2", "10"}
    for key in ("ann_return", "ann_vol", "sharpe", "max_drawdown", "turnover", "realized_vol_vs_target"):
        assert key in m["backtest"]["har"]["2"]
    assert m["backtest"]["har"]["0"]["return_kind"] == "simple"
    c = m["config"]
    for key in ("start", "window", "refit_every", "horizon", "target", "models", "target_vol", "max_leverage",
                "costs_bps", "return_accounting", "seed", "workers", "csv", "rv", "out"):
        assert key in c, key
    assert c["data"] == {"file": "sp500_daily_1999_2018.csv", "first_date": "1999-01-04", "last_date": "2018-12-31",
                         "rows": 5031, "kind": "prices"}
    assert c["first_forecast"] == "2016-01-04" and c["n_forecasts"] == 754
    assert not re.search(r"\"[a-z_]*(time|second)[a-z_]*\":", json.dumps(m))   # no timings in metrics.json


def test_forecasts_csv(small_run):
    res, out = small_run
    df = pd.read_csv(out / "forecasts.csv")
    assert list(df.columns) == ["date", "target", *CLASSICAL]
    assert len(df) == 754 and df["date"].iloc[0] == "2016-01-04" and df["date"].iloc[-1] == "2018-12-31"
    np.testing.assert_allclose(df["har"], res.walk.forecasts["har"], rtol=1e-9)
    np.testing.assert_allclose(df["target"], res.walk.target, rtol=1e-9)


def test_report_md_links_tables_and_goal(small_run):
    res, out = small_run
    text = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert set(links) == {PLOT_FILES[k] for k in ("forecast_vs_realized", "cum_qlike_vs_har", "equity_curves",
                                                  "var_bands", "traffic_light")}
    for link in links:
        assert not os.path.isabs(link) and (out / link).exists()
    assert "| har | 0." in text and "Diebold-Mariano" in text and "buy_and_hold" in text
    # the report speaks to the user: results with p-values, assumptions stated, no verdicts on goals
    assert "goal" not in text.lower() and "met" not in re.findall(r"\b\w+\b", text)
    assert "QLIKE p" in text and "ratio" in text
    assert "risk-free rate is zero" in text and "financed at no cost" in text and "traded weight" in text
    assert "log accounting" in text and "Run time" in text
    table = results_table(res.metrics)
    assert "har" in table and "Sharpe 2bp" in table and "buy_and_hold" in table


def test_reference_section_on_protocol_a(tmp_path):
    res = run_forecast(ForecastConfig(out=str(tmp_path), models=CLASSICAL, quiet=True))
    text = (tmp_path / "report.md").read_text()
    assert "Against the reference figures" in text
    assert "| har | 0.8211 | 0.8211 |" in text and "NO |" not in text
    assert res.metrics["models"]["gjr"]["qlike"] == pytest.approx(0.8286, rel=0.01)


def test_log_accounting_reproduces_reference_backtest(tmp_path):
    res = run_forecast(ForecastConfig(out=None, models=("har",), return_accounting="log", quiet=True))
    bt = res.metrics["backtest"]
    assert bt["har"]["0"]["sharpe"] == pytest.approx(0.42, abs=0.006)
    assert bt["har"]["10"]["sharpe"] == pytest.approx(0.31, abs=0.006)
    assert bt["buy_and_hold"]["sharpe"] == pytest.approx(0.24, abs=0.006)
    assert res.paths == {}


def test_training_loss_plot(tmp_path):
    hist = {"mlp": [{"train": [3, 2, 1.5], "val": [3.2, 2.5, 2.4]}, {"train": [1.4, 1.3], "val": [2.0, 1.9]}],
            "har": []}
    p = plot_losses(hist, tmp_path / "loss.png")
    assert p and (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert plot_losses({"har": []}, tmp_path / "none.png") is None


def test_same_seed_same_metrics_and_workers(tmp_path):
    cfg = dict(start="2017-06-01", refit_every=42, models=("ewma", "garch", "har"), quiet=True, seed=3)
    run_forecast(ForecastConfig(out=str(tmp_path / "a"), **cfg))
    first = (tmp_path / "a" / "metrics.json").read_bytes()
    run_forecast(ForecastConfig(out=str(tmp_path / "a"), **cfg))
    assert (tmp_path / "a" / "metrics.json").read_bytes() == first
    run_forecast(ForecastConfig(out=str(tmp_path / "b"), workers=2, **cfg))
    a = json.loads(first)
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert b["config"].pop("workers") == 2 and a["config"].pop("workers") == 1
    assert b["config"].pop("out") != a["config"].pop("out")
    assert a == b
    assert (tmp_path / "a" / "forecasts.csv").read_bytes() == (tmp_path / "b" / "forecasts.csv").read_bytes()


@pytest.mark.parametrize("bad,match", [
    (dict(models=("ewma", "nope")), "unknown model 'nope'"),
    (dict(start="2008-13-45"), "--start must be a date"),
    (dict(start="2030-01-01"), "after the data's last day"),
    (dict(start="2018-12-20"), "forecast days"),
    (dict(refit_every=0), "--refit-every"),
    (dict(target="rv"), "realized-variance"),
    (dict(csv="x.csv", rv="y.csv"), "not both"),
    (dict(return_accounting="arith"), "return-accounting"),
    (dict(costs_bps=(0, -1)), "cost-bps"),
])
def test_bad_config_is_a_one_line_value_error(bad, match):
    with pytest.raises(ValueError, match=re.escape(match)) as exc:
        run_forecast(ForecastConfig(out=None, quiet=True, **{**dict(models=("har",)), **bad}))
    assert "\n" not in str(exc.value)


def test_nets_same_seed_and_workers(tmp_path):
    """Warm-started nets (one sequential task each): same seed -> same file, 2 workers -> same numbers."""
    from tinygrad_trade.vol.pipeline import available_models
    nets = tuple(m for m in ("mlp", "gru") if m in available_models(("mlp", "gru")))
    if not nets:
        pytest.skip("no neural model in the registry")
    cfg = dict(start="2017-06-01", refit_every=63, models=("har", *nets), quiet=True, seed=1,
               model_options={m: {"quick": True} for m in nets})
    a = run_forecast(ForecastConfig(out=str(tmp_path), **cfg))
    first = (tmp_path / "metrics.json").read_bytes()
    assert (tmp_path / PLOT_FILES["training_loss"]).exists()
    assert len(a.walk.histories[nets[0]]) == len(a.walk.blocks)
    run_forecast(ForecastConfig(out=str(tmp_path), **cfg))
    assert (tmp_path / "metrics.json").read_bytes() == first
    b = run_forecast(ForecastConfig(out=None, workers=2, **cfg))
    for name in a.walk.forecasts:
        np.testing.assert_array_equal(a.walk.forecasts[name], b.walk.forecasts[name], err_msg=name)
    strip = lambda hs: {k: [{f: v for f, v in h.items() if f != "seconds"} for h in hl] for k, hl in hs.items()}
    assert strip(a.walk.histories) == strip(b.walk.histories)   # everything but the nets' own timings
    c = run_forecast(ForecastConfig(out=None, **{**cfg, "seed": 2}))
    assert not np.array_equal(c.walk.forecasts[nets[0]], a.walk.forecasts[nets[0]])


def test_risk_section(small_run):
    res, out = small_run
    risk = res.metrics["risk"]
    assert list(risk) == list(CLASSICAL)
    for name in CLASSICAL:
        e = risk[name]
        assert e["method"] == "fhs" and e["n_days"] == 754 - 250
        for k, level in (("1", 0.01), ("5", 0.05)):
            b = e["levels"][k]
            assert b["level"] == level and b["n"] == e["n_days"]
            assert 0.0 <= b["hit_rate"] <= 0.2
            for p in ("kupiec_pvalue", "ind_pvalue", "cc_pvalue"):
                assert 0.0 <= b[p] <= 1.0
    assert (out / PLOT_FILES["var_bands"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "report.md").read_text()
    assert "## Value-at-Risk and Expected Shortfall" in text and "var_bands.png" in text
    daily = pd.read_csv(out / "risk.csv")    # long form: a row per day and model
    assert list(daily.columns) == ["date", "asset", "model", "return", "var_1", "es_1", "var_2.5", "es_2.5",
                                   "var_5", "es_5"]
    assert len(daily) == 754 * len(CLASSICAL) and list(daily["model"].unique()) == list(CLASSICAL)
    har = daily[daily["model"] == "har"]     # FHS by default: no figure in its 250-day burn-in
    assert har["var_5"].isna().sum() == 250 and (har["es_1"].dropna() > har["var_1"].dropna()).all()
    assert (har["return"] < -har["var_5"]).sum() == risk["har"]["levels"]["5"]["hits"]
    gjr = daily[daily["model"] == "gjr"]     # parametric by default: a figure from the first day
    assert gjr["var_1"].notna().all() and (gjr["var_1"] > gjr["var_2.5"]).all() and (gjr["var_2.5"] > gjr["var_5"]).all()
    bt = risk["gjr"]["backtests"]
    assert bt["method"] == "parametric" and bt["n_days"] == 754
    assert (gjr["return"] < -gjr["var_5"]).sum() == bt["levels"]["5"]["hits"]
    assert (out / PLOT_FILES["traffic_light"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradient_flow_plot_draws_each_parameter_and_skips_nets_without_norms(tmp_path):
    from tinygrad_trade.vol.report.plots import plot_gradient_flow
    hist = [{"train": [1.0, 0.9], "val": [1.1, 1.0], "grad_norm": {"W1": [[0.5, 0.7], [0.2, 0.3]], "b1": [[1e-3, 2e-3], [0.0, 0.0]]}},
            {"train": [0.8], "val": [0.9], "grad_norm": {"W1": [[0.1, 0.1]], "b1": [[1e-4, 1e-4]]}}]
    fig = plot_gradient_flow({"mlp": hist, "har": []}, tmp_path / "flow.png")
    assert fig is not None and (tmp_path / "flow.png").stat().st_size > 0
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["W1", "b1"]
    assert len(ax.get_lines()[0].get_xdata()) == 3                     # every epoch of every fit
    assert plot_gradient_flow({"mlp": [{"train": [1.0]}]}) is None      # no norms recorded: no picture
