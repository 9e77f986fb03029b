"""Cross-asset comparison: the Model Confidence Set, the panel DM test, the summary and metrics.json's layout."""
import json

import numpy as np
import pytest

from tinygrad_trade.vol.comparison import model_confidence_set, panel_dm, universe_summary
from tinygrad_trade.vol.evaluation import diebold_mariano
from tinygrad_trade.vol.pipeline import ForecastConfig, run_forecast

from test_universe import synthetic_prices


def _losses(n=800, gaps=(0.0, 0.0, 0.4, 1.0), seed=0):
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((n, 1))
    return 1.0 + np.array(gaps) + 0.5 * rng.standard_normal((n, len(gaps))) + 0.5 * common


def test_mcs_keeps_the_equal_best_and_drops_clearly_worse_models():
    res = model_confidence_set(_losses(), size=0.1, reps=500, block_size=10, names=list("abcd"), seed=1)
    assert set(res["included"]) == {"a", "b"}
    assert res["elimination_order"][:2] == ["d", "c"]
    assert res["pvalues"]["d"] < 0.01 and res["pvalues"]["c"] < 0.1
    assert max(res["pvalues"].values()) == 1.0
    # MCS p-values never decrease along the elimination order
    order = [res["pvalues"][k] for k in res["elimination_order"]]
    assert order == sorted(order)
    again = model_confidence_set(_losses(), size=0.1, reps=500, block_size=10, names=list("abcd"), seed=1)
    assert again == res                                        # seeded: reproducible
    mx = model_confidence_set(_losses(), size=0.1, reps=500, block_size=10, method="max", seed=1)
    assert set(mx["included"]) == {"0", "1"}


def test_mcs_of_identical_models_keeps_all_and_rejects_bad_input():
    same = np.tile(_losses(gaps=(0.0,)), (1, 3))
    assert model_confidence_set(same, reps=100)["included"] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="finite"):
        model_confidence_set(np.array([[1.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="size"):
        model_confidence_set(_losses(), size=1.5)


def test_panel_dm_equals_dm_on_one_asset_and_averages_by_day():
    rng = np.random.default_rng(2)
    d = rng.standard_normal(300) - 0.2
    days = np.datetime64("2010-01-01") + np.arange(300)
    one = panel_dm({"a": days}, {"a": d}, lags=5)
    ref = diebold_mariano(d, np.zeros_like(d), lags=5)
    assert one["stat"] == pytest.approx(ref["stat"]) and one["pvalue"] == pytest.approx(ref["pvalue"])
    # a second asset on the last 100 days only: those days average the two assets
    e = rng.standard_normal(100)
    two = panel_dm({"a": days, "b": days[200:]}, {"a": d, "b": e}, lags=5)
    avg = np.r_[d[:200], (d[200:] + e) / 2]
    ref2 = diebold_mariano(avg, np.zeros_like(avg), lags=5)
    assert two["stat"] == pytest.approx(ref2["stat"]) and two["n"] == 300 and two["assets"] == 2


def test_universe_metrics_layout(tmp_path):
    paths = []
    for name, seed, start in (("AAA", 1, "2010-01-04"), ("BBB", 2, "2010-06-01")):
        df = synthetic_prices(420, seed=seed, start=start)
        out = df.rename(columns=str.capitalize)
        out.index.name = "Date"
        p = tmp_path / f"{name}.csv"
        out.to_csv(p)
        paths.append(str(p))
    cfg = ForecastConfig(csv=tuple(paths), start="2011-03-01", refit_every=63, models=("ewma", "garch", "har"),
                         out=str(tmp_path / "out"), quiet=True)
    res = run_forecast(cfg)
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(m) == {"assets", "summary"} and list(m["assets"]) == ["AAA", "BBB"]
    for name, am in m["assets"].items():
        assert set(am) >= {"models", "dm_vs_har", "backtest", "config"}      # the single-asset object
        assert am["config"]["first_forecast"] >= "2011-03-01"
        assert am["models"]["har"]["floor_hits"] == 0
    s = m["summary"]
    assert s["qlike_ratio_to_har"]["har"] == pytest.approx(1.0)
    assert sum(s["wins"].values()) == 2 and set(s["mcs"]) == {"AAA", "BBB"}
    assert min(s["qlike_ratio_to_best_classical"].values()) == pytest.approx(1.0, abs=0.2)
    assert set(s["panel_dm_vs_har"]) == {"ewma", "garch"}
    q = {a: {k: v["qlike"] for k, v in am["models"].items()} for a, am in m["assets"].items()}
    assert s["qlike_ratio_to_har"]["ewma"] == pytest.approx(np.mean([q[a]["ewma"] / q[a]["har"] for a in q]))
    report = (tmp_path / "out" / "report.md").read_text()
    assert "### AAA" in report and "### BBB" in report and "qlike_gain_heatmap.png" in report
    assert "cum_qlike_by_asset.png" in report and "risk-free rate is zero" in report
    assert (tmp_path / "out" / "forecasts.csv").read_text().splitlines()[0] == "asset,date,target,ewma,garch,har"
    assert res.walks["AAA"].forecasts.keys() == {"ewma", "garch", "har"}
    assert (tmp_path / "out" / "report.html").exists() and "<h4>BBB</h4>" in res._repr_html_()
    # the summary agrees with a direct call
    again = universe_summary(res.walks, m["assets"], dm_lags=5, seed=0)
    assert again["wins"] == s["wins"]


def test_plots_return_figures_draw_into_a_given_ax_and_log_axes_read_plainly(tmp_path):
    from matplotlib.figure import Figure

    from tinygrad_trade.vol.dataset import build_dataset
    from tinygrad_trade.vol.report import plot_cum_qlike, plot_equity
    from tinygrad_trade.vol.walkforward import walk_forward

    wf = walk_forward(build_dataset(synthetic_prices(400)), ["ewma", "har"], start=300, refit_every=50)
    fig = plot_cum_qlike(wf)
    assert isinstance(fig, Figure) and not list(tmp_path.iterdir())          # nothing saved without a path
    host = Figure()
    ax = host.subplots()
    cfg = ForecastConfig(costs_bps=(0.0, 2.0, 10.0))
    assert plot_equity(wf, cfg, ax=ax) is host and len(ax.lines) == 3
    host.savefig(tmp_path / "host.png")                                      # lays out the tick labels
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("^" not in t and "e" not in t for t in labels), labels    # 0.9, 1, 1.1 not 10^0
    assert plot_equity(wf, cfg, path=tmp_path / "eq.png") is not None and (tmp_path / "eq.png").exists()


def test_degenerate_rolling_fits_are_warned_about():
    from types import SimpleNamespace

    from tinygrad_trade.vol.report import degenerate_warnings

    walk = SimpleNamespace(index=np.arange(500), floor_hits={"har": 40, "ewma": 0, "gjr": 2})
    warned = degenerate_warnings(walk, window=126)
    assert len(warned) == 1 and "`har`" in warned[0] and "40 of 500" in warned[0] and "--window" in warned[0]
    assert degenerate_warnings(SimpleNamespace(index=np.arange(500)), window=126) == []
