"""Outputs of a forecasting run: metrics.json, forecasts.csv, PNG plots and report.md.

    paths = write_report(results, "out/")     # results: vol.pipeline.ForecastResults

Files written to the output directory:

* ``metrics.json``  -- ``results.metrics`` (models, dm_vs_har, backtest, config); no timings, so the
  same configuration and seed give the same file byte for byte;
* ``forecasts.csv`` -- ``date, target, <one column per model>`` (forecasts in %^2 per day);
* ``risk.csv`` -- long form, a row per forecast day and model: ``date, asset, model, return, var_1, es_1, ...``
  (1-day VaR/ES at ``--risk-levels`` by the model's default method; horizon 1, with returns);
  ``var_bands.png`` and ``traffic_light.png`` (the Basel zone of the 99% VaR over time);
* ``forecast_vs_realized.png``, ``cum_qlike_vs_har.png``, ``equity_curves.png`` and, when neural
  models ran, ``training_loss.png`` (matplotlib, Agg backend);
* ``report.md`` -- the tables, the plots (relative links) and the run time.

Plots use the Agg backend and never open a window.
"""
from __future__ import annotations

import os
from functools import partial
from typing import Optional


from .common import *  # noqa: F401,F403  (the shared parts stay importable from here)
from .common import (PERIODS, closing_sections, draw_plots, training_section, REFERENCE_QLIKE, REFERENCE_TOL_PCT, _FORECAST_HEADER, _f, _forecast_rows, _md_table,
                     _dm, backtest_columns, benchmark_of, forecast_header, what_to_use,
                     backtest_assumptions, data_checks_section, readable_log_axis,
                     degenerate_warnings, floor_hits, is_protocol_a, opening_sections, reference_rows,
                     results_table, write_forecasts, write_metrics)
from .html import write_report_html
from ..data.assets import asset_name
from .plots import plot_cum_qlike, plot_equity, plot_forecasts, plot_gradient_flow, plot_losses
from .risk import RISK_FILE, TRAFFIC_FILE, plot_traffic_light, plot_var_bands, risk_markdown, write_var_es

__all__ = ["write_report", "write_metrics", "write_forecasts", "results_table", "markdown_report",
           "plot_forecasts", "plot_cum_qlike", "plot_equity", "plot_losses", "PLOT_FILES", "REFERENCE_QLIKE",
           "is_protocol_a", "reference_rows", "readable_log_axis", "backtest_assumptions", "floor_hits",
           "degenerate_warnings"]

PLOT_FILES = {
    "forecast_vs_realized": "forecast_vs_realized.png",
    "cum_qlike_vs_har": "cum_qlike_vs_har.png",
    "equity_curves": "equity_curves.png",
    "training_loss": "training_loss.png",
    "gradient_flow": "gradient_flow.png",
    "var_bands": "var_bands.png",
    "traffic_light": TRAFFIC_FILE,
}


def markdown_report(results, plots: dict, extra: Optional[dict] = None) -> str:
    """The text of report.md (``plots``: key -> file name in the same directory)."""
    extra = extra or {}
    m = results.metrics
    cfg = m["config"]
    data = cfg["data"]
    window_text = "expanding window" if cfg["window"] is None else f"rolling window of {cfg['window']} days"
    L = [f"# {extra.get('title', 'Volatility forecasting report')}", ""]
    L += [f"Data: `{data['file']}` ({data['kind'].replace('_', ' ')}, {data['rows']} rows, "
          f"{data['first_date']} to {data['last_date']}).",
          f"Forecasts of the target `{cfg['target']}` (mean over {cfg['horizon']} day(s), %^2 per day) for "
          f"{cfg['n_forecasts']} days, {cfg['first_forecast']} to {cfg['last_forecast']}, each from data up to "
          f"the previous close; refit every {cfg['refit_every']} forecasts ({cfg['n_refits']} refits), "
          f"{window_text}, "
          f"seed {cfg['seed']}.", ""]
    L += ["## What to use", ""] + what_to_use(m) + [""]
    L += opening_sections(results, extra)

    L += ["## Forecast accuracy", "",
          "QLIKE = mean(y/f + ln f) (lower is better); MSE in %^4; Mincer-Zarnowitz regression y = a + b f "
          f"(unbiased: a = 0, b = 1). The gain vs {benchmark_of(m)} is a ratio, (QLIKE_{benchmark_of(m)} - "
          f"QLIKE_model) / QLIKE_{benchmark_of(m)} in %: positive means lower loss than {benchmark_of(m)}."
          + (f" Note: {cfg['benchmark_note']}." if cfg.get("benchmark_note") else ""), "",
          _md_table(forecast_header(m), _forecast_rows(m)), ""]
    hits = floor_hits(results.walk)
    if hits:
        L += ["Forecasts raised to the model's floor (a safeguard against absurdly small forecasts): "
              + ", ".join(f"`{k}` {v}" for k, v in hits.items()) + ".", ""]
    for w in degenerate_warnings(results.walk, cfg["window"]):
        L += [f"> Warning: {w}", ""]
    if is_protocol_a(m) and reference_rows(m):
        L += ["### Against the reference figures", "",
              "This run uses the protocol of independently computed reference figures (the S&P 500, 2,769 days "
              "of 2008-2018, refit every 21 days, expanding window), so your classical models can be checked "
              f"against them; a difference within {REFERENCE_TOL_PCT:g}% is a match.", "",
              _md_table(["model", "QLIKE", "reference", "difference", f"within {REFERENCE_TOL_PCT:g}%"],
                        reference_rows(m)), ""]
    if _dm(m):
        rows = [[n, _f(d["qlike"]["stat"], ".2f"), _f(d["qlike"]["pvalue"], ".3f"), _f(d["mse"]["stat"], ".2f"),
                 _f(d["mse"]["pvalue"], ".3f")] for n, d in _dm(m).items()]
        L += [f"### Diebold-Mariano tests against {benchmark_of(m)}", "",
              f"Newey-West standard errors, {cfg['dm_lags']} lags; a negative statistic means the model has "
              "the lower loss; p is the two-sided p-value (below 0.05: the difference is unlikely to be "
              "chance at the 5% level).", "",
              _md_table(["model", "QLIKE t", "QLIKE p", "MSE t", "MSE p"], rows), ""]
    if "forecast_vs_realized" in plots:
        L += [f"![forecast against realized]({plots['forecast_vs_realized']})", ""]
    if "cum_qlike_vs_har" in plots:
        L += [f"![cumulative QLIKE difference against har]({plots['cum_qlike_vs_har']})", ""]

    bt = m["backtest"]
    L += ["## Volatility-targeting backtest", ""]
    if bt:
        L += [backtest_assumptions(cfg), ""]
        rows = []
        bh = bt["buy_and_hold"]
        rows.append(["buy_and_hold", "-", _f(bh["ann_return"], ".2f"), _f(bh["ann_vol"], ".2f"), _f(bh["sharpe"], ".2f"),
                     _f(bh["max_drawdown"], ".1f"), _f(bh["turnover_annual"], ".2f"), "-"])
        for name in m["models"]:
            for c, r in bt[name].items():
                rows.append([name, c, _f(r["ann_return"], ".2f"), _f(r["ann_vol"], ".2f"), _f(r["sharpe"], ".2f"),
                             _f(r["max_drawdown"], ".1f"), _f(r["turnover_annual"], ".2f"),
                             _f(r["realized_vol_vs_target"], ".3f")])
        L += [_md_table(backtest_columns(cfg), rows), ""]
        if "equity_curves" in plots:
            L += [f"![backtest equity curves]({plots['equity_curves']})", ""]
    else:
        L += ["Not run: the data has no daily returns (realized-variance file).", ""]

    L += risk_markdown(m, plots.get("var_bands"), plots.get("traffic_light"))
    L += training_section(plots)
    extra_setup = ", GARCH fit and graph" if extra.get("sections_before") else ""
    L += closing_sections(extra, results.timings, cfg["workers"], f"set-up: data{extra_setup}", "",
                          "date, target, one column per model")
    return "\n".join(L)


def write_report(results, out_dir, extra: Optional[dict] = None, executor=None) -> dict:
    """Write every output file into ``out_dir`` (which must exist); returns ``{name: path}``.

    ``extra``: ``{"title": str, "sections_before": [(title, markdown)], "sections": [(title, markdown)]}``
    for additional report.md sections (the demo's GARCH summary and graph). ``executor``: a process pool on this
    machine to draw the plots on, side by side (see ``draw_plots``).
    """
    out = os.fspath(out_dir)
    walk, metrics, config = results.walk, results.metrics, results.config
    paths = {}
    asset = asset_name(next(iter(results.walks), "asset"))    # risk.csv's asset column: the file's stem
    makers = {
        "forecast_vs_realized": partial(plot_forecasts, walk, metrics),
        "cum_qlike_vs_har": partial(plot_cum_qlike, walk),
        "equity_curves": partial(plot_equity, walk, config),
        "training_loss": partial(plot_losses, walk.histories),
        "gradient_flow": partial(plot_gradient_flow, walk.histories),
        "var_bands": partial(plot_var_bands, walk, metrics),
        "traffic_light": partial(plot_traffic_light, {asset: walk}, {asset: metrics}),
    }

    def files():
        paths["metrics"] = write_metrics(metrics, os.path.join(out, "metrics.json"))
        paths["forecasts"] = write_forecasts(walk, os.path.join(out, "forecasts.csv"))
        if write_var_es(walk, metrics, os.path.join(out, RISK_FILE), asset):
            paths["risk"] = os.path.join(out, RISK_FILE)

    plots = draw_plots(makers, PLOT_FILES, out, paths, executor, meanwhile=files)
    report = os.path.join(out, "report.md")
    with open(report, "w", encoding="utf-8") as fh:
        fh.write(markdown_report(results, plots, extra))
    paths["report"] = report
    paths["html"] = write_report_html(report)  # report.html beside it, self-contained (vol/report_html.py)
    return {k: paths[k] for k in ("metrics", "forecasts", "risk", *PLOT_FILES, "report", "html") if k in paths}
