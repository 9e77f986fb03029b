"""Outputs of a run over several assets: metrics.json, forecasts.csv, plots and report.md.

    paths = write_universe_report(results, "out/")     # results: vol.universe_run.UniverseResults

Files written to the output directory:

* ``metrics.json`` -- ``{"assets": {name: <single-asset object>}, "summary": {...}}`` (no timings);
* ``forecasts.csv`` -- long format: ``asset, date, target, <one column per model>``;
* ``qlike_gain_heatmap.png`` -- QLIKE gain against har, assets x models;
* ``cum_qlike_by_asset.png`` -- per asset, the cumulative QLIKE difference of every model against har;
* ``report.md`` -- the cross-asset comparison, one table per asset, the backtests and the run time;
  ``report.html`` beside it (self-contained, :mod:`~tinygrad_trade.vol.report_html`).

The plot functions return their matplotlib Figure and accept an ``ax`` to draw into; saving is optional.
"""
from __future__ import annotations

import os
from functools import partial
from typing import Optional

import numpy as np

from .common import (_f, closing_sections, draw_plots, training_section, _figure, _finish, _forecast_rows, _md_table, _FORECAST_HEADER, backtest_assumptions,
                     _dm, forecast_header, what_to_use,
                     degenerate_warnings, opening_sections, write_metrics)
from .plots import plot_cum_qlike, plot_equity, plot_gradient_flow, plot_losses
from .html import write_report_html
from .risk import RISK_FILE, TRAFFIC_FILE, plot_traffic_light, universe_risk_markdown, write_universe_var_es

__all__ = ["write_universe_report", "universe_markdown", "plot_gain_heatmap", "plot_cum_qlike_by_asset",
           "plot_equity_by_asset",
           "write_universe_forecasts", "qlike_gains", "UNIVERSE_PLOT_FILES"]

UNIVERSE_PLOT_FILES = {
    "qlike_gain_heatmap": "qlike_gain_heatmap.png",
    "cum_qlike_by_asset": "cum_qlike_by_asset.png",
    "equity_by_asset": "equity_by_asset.png",
    "training_loss": "training_loss.png",
    "gradient_flow": "gradient_flow.png",
    "traffic_light": TRAFFIC_FILE,
}
HEATMAP_CLIP = 20.0   # colour scale of the heat map, % gain (the numbers in the cells are exact)


def qlike_gains(metrics: dict, benchmark: str = "har") -> tuple:
    """``(assets, models, gains)``: gains[i, j] = 100 (QLIKE_har - QLIKE_model) / QLIKE_har on asset i (%)."""
    assets = list(metrics["assets"])
    models = list(metrics["summary"]["models"])
    g = np.full((len(assets), len(models)), np.nan)
    for i, a in enumerate(assets):
        ms = metrics["assets"][a]["models"]
        if benchmark not in ms:
            continue
        base = ms[benchmark]["qlike"]
        for j, m in enumerate(models):
            if m in ms:
                g[i, j] = 100.0 * (base - ms[m]["qlike"]) / abs(base)
    return assets, models, g


def plot_gain_heatmap(metrics: dict, path=None, ax=None, benchmark: str = "har"):
    """Heat map of the QLIKE gain against ``benchmark`` (assets x models, %, positive: lower loss); the
    Figure, or None when the benchmark was not run."""
    assets, models, g = qlike_gains(metrics, benchmark)
    if np.isnan(g).all():
        return None
    if ax is None:
        fig, ax = _figure(figsize=(1.3 * len(models) + 3, 0.6 * len(assets) + 2))
    else:
        fig = ax.figure
    im = ax.imshow(np.clip(g, -HEATMAP_CLIP, HEATMAP_CLIP), cmap="RdYlGn", vmin=-HEATMAP_CLIP, vmax=HEATMAP_CLIP,
                   aspect="auto")
    ax.set_xticks(range(len(models)), models)
    ax.set_yticks(range(len(assets)), assets)
    for i in range(len(assets)):
        for j in range(len(models)):
            ax.text(j, i, f"{g[i, j]:+.1f}%" if np.isfinite(g[i, j]) else "not run", ha="center", va="center",
                    fontsize=8)
    fig.colorbar(im, ax=ax, label=f"QLIKE gain vs {benchmark}, % (colours capped at ±{HEATMAP_CLIP:g})")
    ax.set_title(f"QLIKE gain against {benchmark} per asset (green: lower loss than {benchmark})")
    return _finish(fig, path)


def _model_colors(walks: dict) -> dict:
    """One colour per model for every panel (the default cycle would give a model different colours)."""
    from matplotlib import colormaps
    names = list(dict.fromkeys(m for w in walks.values() for m in w.forecasts))
    cmap = colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(names)}


def _recolor(ax, colors: dict) -> None:
    for line in ax.get_lines():
        name = line.get_label().split(" (")[0]
        if name in colors:
            line.set_color(colors[name])
    if ax.get_legend() is not None:
        ax.legend(loc=ax.get_legend()._loc, fontsize=8)


def _asset_axes(n: int, ax, height: float):
    """The Figure and one axes per asset: new ones (``height`` inches each) or the caller's ``ax``."""
    if ax is None:
        fig, axes = _figure(n, 1, figsize=(11, height * n), squeeze=False)
        return fig, list(axes[:, 0])
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    return axes[0].figure, axes


def plot_cum_qlike_by_asset(walks: dict, path=None, ax=None, benchmark: str = "har"):
    """One panel per asset: the cumulative QLIKE difference of each model against ``benchmark``; the Figure
    (None without the benchmark). ``ax``: a sequence of one axes per asset."""
    names = [a for a, w in walks.items() if benchmark in w.forecasts and len(w.forecasts) > 1]
    if not names:
        return None
    fig, axes = _asset_axes(len(names), ax, 3.2)
    colors = _model_colors(walks)
    for a, axis in zip(names, axes):
        plot_cum_qlike(walks[a], benchmark=benchmark, ax=axis,
                       title=f"{a}: cumulative QLIKE difference against {benchmark} (below 0: better)")
        _recolor(axis, colors)
    return _finish(fig, path)


def plot_equity_by_asset(walks: dict, config, path=None, ax=None):
    """One panel per asset: vol-targeting equity curves of every model and buy-and-hold (log axis at plain
    wealth levels); the Figure (None when no asset has daily returns). ``ax``: one axes per asset."""
    names = [a for a, w in walks.items() if np.all(np.isfinite(w.returns))]
    if not names:
        return None
    fig, axes = _asset_axes(len(names), ax, 3.6)
    colors = _model_colors(walks)
    for a, axis in zip(names, axes):
        plot_equity(walks[a], config, ax=axis)
        axis.set_title(f"{a}: " + axis.get_title(), fontsize=9)
        _recolor(axis, colors)
    return _finish(fig, path)


def write_universe_forecasts(walks: dict, path) -> str:
    import pandas as pd
    frames = []
    for a, w in walks.items():
        cols = {"asset": a, "date": [str(d) for d in w.dates], "target": w.target}
        cols.update(w.forecasts)
        frames.append(pd.DataFrame(cols))
    pd.concat(frames, ignore_index=True).to_csv(path, index=False, float_format="%.10g")
    return os.fspath(path)


# ------------------------------------------------------------------------------------ report.md
def _summary_rows(summary: dict) -> list:
    rows = []
    ratio_har = summary.get("qlike_ratio_to_har", summary.get("qlike_ratio_to_benchmark", {}))
    ratio_best = summary.get("qlike_ratio_to_best_classical", {})
    dm = summary.get("panel_dm_vs_har", summary.get("panel_dm_vs_benchmark", {}))
    for m in sorted(summary["models"], key=lambda k: ratio_best.get(k, ratio_har.get(k, 0.0))):
        d = dm.get(m, {})
        rows.append([m, _f(ratio_har.get(m), ".4f"), _f(ratio_best.get(m), ".4f"), summary["wins"].get(m, 0),
                     _f(d.get("stat"), ".2f") if d else "", _f(d.get("pvalue"), ".3f") if d else "",
                     f"{sum(m in v['included'] for v in summary['mcs'].values())} of "
                     f"{summary.get('assets_per_model', {}).get(m, len(summary['mcs']))}"])
    return rows


def _asset_rows(am: dict, mcs: dict) -> list:
    rows = []
    dm = _dm(am)
    for row in _forecast_rows(am):
        name = row[0]
        d = dm.get(name, {}).get("qlike", {})
        p = mcs["pvalues"].get(name)
        rows.append(row[:-1] + [_f(d.get("stat"), ".2f") if d else "", _f(d.get("pvalue"), ".3f") if d else "",
                                ("**in** " if name in mcs["included"] else "") + _f(p, ".3f"),
                                am["models"][name].get("floor_hits", 0), row[-1]])
    return rows


def _backtest_rows(metrics: dict, cost: str) -> tuple:
    models = metrics["summary"]["models"]
    rows = []
    for a, am in metrics["assets"].items():
        bt = am.get("backtest") or {}
        if not bt:
            continue
        rows.append([a, _f(bt["buy_and_hold"]["sharpe"], ".2f")]
                    + [_f(bt[m][cost]["sharpe"], ".2f") if m in bt else "" for m in models])
    return ["asset", "buy and hold"] + list(models), rows


def universe_markdown(results, plots: dict, extra: Optional[dict] = None) -> str:
    """The text of report.md for a run over several assets."""
    extra = extra or {}
    m = results.metrics
    s = m["summary"]
    bench = s.get("benchmark", "har")
    first = next(iter(m["assets"].values()))["config"]
    window_text = "expanding window" if first["window"] is None else f"rolling window of {first['window']} days"
    L = [f"# {extra.get('title', 'Volatility forecasting report: ' + str(len(m['assets'])) + ' assets')}", ""]
    rows = [[a, f"`{am['config']['data']['file']}`", am["config"]["data"]["first_date"],
             am["config"]["data"]["last_date"], am["config"]["first_forecast"], am["config"]["last_forecast"],
             am["config"]["n_forecasts"]] for a, am in m["assets"].items()]
    L += [f"Each asset is forecast on its own trading days from {first['start']} (after a year of history), each "
          f"forecast from data up to the previous close; target `{first['target']}` (mean over {first['horizon']} "
          f"day(s), %^2 per day); refit every {first['refit_every']} forecasts, {window_text}, seed {first['seed']}. "
          "Pooled models are trained on every asset's rows together and refit every "
          f"{first['refit_every']} trading days of the union calendar.", "",
          _md_table(["asset", "data", "first day", "last day", "first forecast", "last forecast", "forecasts"],
                    rows), ""]
    L += ["## What to use", ""]
    for a, am in m["assets"].items():
        L += what_to_use(am, a)
    L += [""] + opening_sections(results, extra)

    L += ["## Across assets", "",
          "QLIKE = mean(y/f + ln f), lower is better. Ratios are per-asset QLIKE ratios averaged over the assets "
          "(below 1: lower loss than the reference); the best classical model is, per asset, the lowest QLIKE "
          "among ewma, garch, gjr and har. The panel Diebold-Mariano test averages the daily QLIKE difference "
          f"against {bench} across the assets trading that day (Newey-West standard errors, "
          f"{first['dm_lags']} lags; negative t: lower loss than {bench}; p two-sided). The Model Confidence Set "
          "(Hansen, Lunde and Nason 2011, range statistic, circular block bootstrap) keeps, per asset, the "
          f"models not rejected as worse than the best at the {100 * next(iter(s['mcs'].values()))['size']:g}% "
          "level." + ("" if bench == "har" else f" har did not run on these files (it needs Open/High/Low): "
                      f"{bench} is the reference of the ratios, gains and tests instead."), "",
          _md_table(["model", f"QLIKE / {bench}", "QLIKE / best classical", "wins", "panel DM t", "panel DM p",
                     "in the MCS (assets)"], _summary_rows(s)), ""]
    if s.get("best_classical"):
        L += ["Best classical model per asset: " + ", ".join(f"{a} `{b}`" for a, b in s["best_classical"].items())
              + ".", ""]
    if "qlike_gain_heatmap" in plots:
        L += [f"![QLIKE gain against {bench} per asset]({plots['qlike_gain_heatmap']})", ""]

    L += ["## Per asset", "",
          "Per asset: the gain vs the asset's benchmark (har, or the model named where har could not run) is the "
          "ratio (QLIKE_benchmark - QLIKE_model) / QLIKE_benchmark in % (positive: lower loss); DM against the "
          "same benchmark with its p-value; the MCS p-value (**in**: in the 10% Model "
          "Confidence Set); forecasts raised to the model's floor.", ""]
    for a, am in m["assets"].items():
        header = forecast_header(am)[:-1] + ["DM t", "DM p", "MCS p", "floor hits", "days"]
        note = [f"Note: {am['config']['benchmark_note']}.", ""] if am["config"].get("benchmark_note") else []
        L += [f"### {a}", ""] + note + [_md_table(header, _asset_rows(am, s["mcs"][a])), ""]
        for w in degenerate_warnings(results.walks[a], first["window"]):
            L += [f"> Warning: {w}", ""]
    if "cum_qlike_by_asset" in plots:
        L += [f"![cumulative QLIKE difference against {bench}, per asset]({plots['cum_qlike_by_asset']})", ""]

    costs = sorted(float(c) for c in first["costs_bps"])
    cost = f"{costs[len(costs) // 2]:g}"
    key = next((k for k in next(iter(m["assets"].values())).get("backtest", {}).get(
        next(iter(s["models"])), {}) if float(k) == float(cost)), None)
    hdr, rows = _backtest_rows(m, key) if key is not None else ([], [])
    L += ["## Volatility-targeting backtest", ""]
    if rows:
        L += [backtest_assumptions(first), "", f"Sharpe ratio per asset at {cost} bp per unit of turnover (every "
              "cost level is in `metrics.json`):", "", _md_table(hdr, rows), ""]
        if "equity_by_asset" in plots:
            L += [f"![backtest equity curves per asset]({plots['equity_by_asset']})", ""]
    else:
        L += ["Not run: the data has no daily returns.", ""]
    L += universe_risk_markdown(m, plots.get("traffic_light"))
    L += training_section(plots, f"Fits on {next(iter(m['assets']))} (pooled models: the "
              "fits on all assets together).")
    L += closing_sections(extra, results.timings, first["workers"], "set-up", " over all assets",
                          "asset, date, target, one column per model")
    return "\n".join(L)


def write_universe_report(results, out_dir, extra: Optional[dict] = None, executor=None) -> dict:
    """Write every output file of a universe run into ``out_dir`` (which must exist); returns ``{name: path}``.
    ``executor``: a process pool on this machine to draw the plots on, side by side (see ``draw_plots``)."""
    out = os.fspath(out_dir)
    paths = {}
    first = next(iter(results.walks.values()))
    bench = results.metrics["summary"].get("benchmark", "har")
    # the costliest first: with an executor they are drawn in this order, side by side
    makers = {"traffic_light": partial(plot_traffic_light, results.walks, results.metrics["assets"]),
              "equity_by_asset": partial(plot_equity_by_asset, results.walks, results.config),
              "gradient_flow": partial(plot_gradient_flow, first.histories),
              "cum_qlike_by_asset": partial(plot_cum_qlike_by_asset, results.walks, benchmark=bench),
              "training_loss": partial(plot_losses, first.histories),
              "qlike_gain_heatmap": partial(plot_gain_heatmap, results.metrics, benchmark=bench)}

    def files():
        paths["metrics"] = write_metrics(results.metrics, os.path.join(out, "metrics.json"))
        paths["forecasts"] = write_universe_forecasts(results.walks, os.path.join(out, "forecasts.csv"))
        if write_universe_var_es(results.walks, results.metrics, os.path.join(out, RISK_FILE)):
            paths["risk"] = os.path.join(out, RISK_FILE)

    plots = draw_plots(makers, UNIVERSE_PLOT_FILES, out, paths, executor, meanwhile=files)
    plots = {k: plots[k] for k in UNIVERSE_PLOT_FILES if k in plots}
    report = os.path.join(out, "report.md")
    with open(report, "w", encoding="utf-8") as fh:
        fh.write(universe_markdown(results, plots, extra))
    paths["report"] = report
    paths["html"] = write_report_html(report)  # report.html beside it, self-contained (vol/report_html.py)
    return {k: paths[k] for k in ("metrics", "forecasts", "risk", *UNIVERSE_PLOT_FILES, "report", "html")
            if k in paths}
