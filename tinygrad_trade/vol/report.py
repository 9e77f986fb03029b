"""Outputs of a forecasting run: metrics.json, forecasts.csv, PNG plots and report.md.

    paths = write_report(results, "out/")     # results: vol.pipeline.ForecastResults

Files written to the output directory:

* ``metrics.json``  -- ``results.metrics`` (models, dm_vs_har, backtest, config); no timings, so the
  same configuration and seed give the same file byte for byte;
* ``forecasts.csv`` -- ``date, target, <one column per model>`` (forecasts in %^2 per day);
* ``risk.csv`` -- per forecast day, the return and every model's 1-day VaR/ES (horizon 1, with returns);
* ``forecast_vs_realized.png``, ``cum_qlike_vs_har.png``, ``equity_curves.png`` and, when neural
  models ran, ``training_loss.png`` (matplotlib, Agg backend);
* ``report.md`` -- the tables, the plots (relative links) and the run time.

Plots use the Agg backend and never open a window.
"""
from __future__ import annotations

import json
import math
import os
from typing import Optional

import numpy as np

from .backtest import buy_and_hold, vol_target_backtest
from .evaluation import qlike_loss
from .risk_report import RISK_FILE, plot_var_bands, risk_markdown, write_var_es
from .report_html import write_report_html

__all__ = ["write_report", "write_metrics", "write_forecasts", "results_table", "markdown_report",
           "plot_forecasts", "plot_cum_qlike", "plot_equity", "plot_losses", "PLOT_FILES", "REFERENCE_QLIKE",
           "is_protocol_a", "reference_rows", "readable_log_axis", "backtest_assumptions", "floor_hits",
           "degenerate_warnings"]

PLOT_FILES = {
    "forecast_vs_realized": "forecast_vs_realized.png",
    "cum_qlike_vs_har": "cum_qlike_vs_har.png",
    "equity_curves": "equity_curves.png",
    "training_loss": "training_loss.png",
    "var_bands": "var_bands.png",
}
# Reference QLIKE figures (README of the shared data, Protocol A: embedded S&P 500, target r2, horizon 1,
# forecasts from 2008-01-01, refit every 21, expanding window; 2,769 days).
REFERENCE_QLIKE = {"ewma": 0.9167, "garch": 0.8761, "gjr": 0.8286, "har_r2": 0.9251, "har": 0.8211}
REFERENCE_FILE = "sp500_daily_1999_2018.csv"
REFERENCE_TOL_PCT = 1.0
PERIODS = 252


def _figure(nrows=1, ncols=1, **kw):
    """A figure and its axes from matplotlib's object API: no pyplot, so the user's backend is untouched."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=kw.pop("figsize", (11, 4.5)))
    return fig, fig.subplots(nrows, ncols, **kw)


def _axes(ax, **kw):
    """``(figure, ax)``: the caller's axes, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    return _figure(**kw)


def _save(fig, path) -> str:
    """Lay out and write as PNG; returns the path."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return os.fspath(path)


def _finish(fig, path):
    """Save when a path is given; every plot function returns its Figure (or None when it has nothing to show)."""
    if path is not None:
        _save(fig, path)
    return fig


def readable_log_axis(ax, axis: str = "y") -> None:
    """Label a log axis at plain levels (0.8, 0.9, 1, 1.1 ... or 0.5, 1, 2, 5 ...) instead of powers of ten.

    Call it after plotting: within a factor of 10 the ticks are evenly spaced round numbers, beyond that
    1-2-5 steps per decade."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
    target = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    if lo > 0 and hi / lo < 10:
        target.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    else:
        target.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    target.set_minor_formatter(NullFormatter())


# ------------------------------------------------------------------------------------ files
def write_metrics(metrics: dict, path) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(metrics, fh, indent=2, allow_nan=False)
        fh.write("\n")
    return os.fspath(path)


def write_forecasts(walk, path) -> str:
    import pandas as pd
    cols = {"date": [str(d) for d in walk.dates], "target": walk.target}
    cols.update({name: f for name, f in walk.forecasts.items()})
    pd.DataFrame(cols).to_csv(path, index=False, float_format="%.10g")
    return os.fspath(path)


# ------------------------------------------------------------------------------------ plots
def _dates(walk):
    return walk.dates.astype("datetime64[D]").astype("O")


def _ranked(metrics: dict) -> list:
    return sorted(metrics["models"], key=lambda m: metrics["models"][m]["qlike"])


def plot_forecasts(walk, metrics: dict, path=None, best: int = 3, ax=None):
    """Annualised forecast vol of the ``best`` models (by QLIKE) against the realized target; the Figure."""
    names = _ranked(metrics)[:best]
    x = _dates(walk)
    fig, ax = _axes(ax)
    ann = lambda v: np.sqrt(PERIODS * np.maximum(v, 0.0))
    y = np.asarray(walk.target, dtype=float)
    ax.plot(x, ann(y), color="0.75", lw=0.5, label="realized (target)")
    k = min(22, max(1, len(y) // 10))
    smooth = np.convolve(y, np.ones(k) / k, mode="same")
    ax.plot(x, ann(smooth), color="0.35", lw=1.0, label=f"realized, {k}-day mean")
    for name in names:
        ax.plot(x, ann(walk.forecasts[name]), lw=1.1, label=f"{name} (QLIKE {metrics['models'][name]['qlike']:.4f})")
    ax.set_yscale("log")
    ax.set_ylabel("annualised volatility, %")
    readable_log_axis(ax)
    ax.set_title("Forecast against realized volatility (best models by QLIKE)")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_cum_qlike(walk, path=None, benchmark: str = "har", ax=None, title: Optional[str] = None):
    """Cumulative QLIKE loss difference (model - benchmark): falling lines beat the benchmark; the Figure
    (None without the benchmark or another model)."""
    if benchmark not in walk.forecasts or len(walk.forecasts) < 2:
        return None
    y = walk.target
    base = qlike_loss(y, walk.forecasts[benchmark])
    x = _dates(walk)
    fig, ax = _axes(ax)
    for name, f in walk.forecasts.items():
        if name != benchmark:
            ax.plot(x, np.cumsum(qlike_loss(y, f) - base), lw=1.1, label=name)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_ylabel(f"cumulative QLIKE(model) - QLIKE({benchmark})")
    ax.set_title(title or f"Cumulative QLIKE difference against {benchmark} (below 0: better than {benchmark})")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_equity(walk, config, path=None, ax=None):
    """Equity curves of vol targeting (every model, at the middle cost level) and buy-and-hold, on a log axis
    labelled at plain wealth levels; the Figure (None without daily returns)."""
    if not np.all(np.isfinite(walk.returns)):
        return None
    costs = sorted(float(c) for c in config.costs_bps)
    cost = costs[len(costs) // 2]
    x = np.concatenate(([walk.dates[0] - np.timedelta64(1, "D")], walk.dates)).astype("datetime64[D]").astype("O")
    fig, ax = _axes(ax)
    bh = buy_and_hold(walk.returns, return_kind=config.return_accounting)
    ax.plot(x, bh.equity, color="k", lw=1.2, label=f"buy and hold (Sharpe {bh.sharpe:.2f})")
    for name, f in walk.forecasts.items():
        bt = vol_target_backtest(walk.returns, f, target_vol=config.target_vol, max_leverage=config.max_leverage,
                                 cost_bps=cost, return_kind=config.return_accounting)
        ax.plot(x, bt.equity, lw=1.0, label=f"{name} (Sharpe {bt.sharpe:.2f})")
    ax.set_yscale("log")
    readable_log_axis(ax)
    ax.set_ylabel("wealth (start = 1, log scale)")
    ax.set_title(f"Volatility targeting {config.target_vol:g}% (cap {config.max_leverage:g}x, "
                 f"{cost:g} bp per unit turnover, {config.return_accounting} returns)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3, which="major")
    return _finish(fig, path)


def _curves(hist) -> tuple:
    if not isinstance(hist, dict):
        return [], []
    tr = [float(v) for v in hist.get("train", []) or []]
    va = [float(v) for v in hist.get("val", []) or []]
    return tr, va


def plot_losses(histories: dict, path=None, ax=None):
    """Training curves of the nets: per net, the first fit's train/validation loss per epoch (left) and,
    over the refits, each fit's last training loss and best validation loss (right); the Figure (None when no
    model has a training history). ``ax``: an array of (nets, 2) axes to draw on."""
    nets = {k: v for k, v in histories.items() if v and any(_curves(h)[0] for h in v)}
    if not nets:
        return None
    if ax is not None:
        axes = np.asarray(ax, dtype=object).reshape(len(nets), 2)
        fig = axes[0, 0].figure
    else:
        fig, axes = _figure(len(nets), 2, figsize=(11, 3.6 * len(nets)), squeeze=False)
    for (ax0, ax1), (name, hists) in zip(axes, nets.items()):
        tr, va = _curves(hists[0])
        ax0.plot(np.arange(1, len(tr) + 1), tr, color="tab:blue", lw=1.2, label="train")
        if va:
            ax0.plot(np.arange(1, len(va) + 1), va, color="tab:orange", lw=1.2, label="validation")
        ax0.set_title(f"{name}: first fit, loss per epoch")
        ax0.set_xlabel("epoch")
        ax0.set_ylabel("loss")
        ax0.grid(alpha=0.3)
        ax0.legend(fontsize=8)
        last_tr = [(_curves(h)[0] or [np.nan])[-1] for h in hists]
        best_va = [min(_curves(h)[1]) if _curves(h)[1] else np.nan for h in hists]
        epochs = [len(_curves(h)[0]) for h in hists]
        k = np.arange(1, len(hists) + 1)
        ax1.plot(k, last_tr, "o-", ms=2.5, lw=0.8, color="tab:blue", label="train (last epoch)")
        if np.isfinite(best_va).any():
            ax1.plot(k, best_va, "o-", ms=2.5, lw=0.8, color="tab:orange", label="validation (best)")
        ax1.set_title(f"{name}: {len(hists)} fit(s), {int(np.sum(epochs))} epochs in all")
        ax1.set_xlabel("fit (refit number)")
        ax1.set_ylabel("loss")
        ax1.grid(alpha=0.3)
        ax1.legend(fontsize=8)
    return _finish(fig, path)


# ------------------------------------------------------------------------------------ tables
def _f(v, fmt: str = ".4f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, fmt)


def _md_table(header: list, rows: list) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _forecast_rows(metrics: dict) -> list:
    rows = []
    for name in _ranked(metrics):
        m = metrics["models"][name]
        mz = m["mz"]
        vs = m.get("qlike_vs_har_pct")
        rows.append([name, _f(m["qlike"]), _f(m["mse"], ".2f"), _f(m["mae"], ".3f"), _f(mz["intercept"], ".3f"),
                     _f(mz["slope"], ".3f"), _f(mz["r2"], ".3f"), "" if vs is None else f"{vs:+.2f}%", m["n"]])
    return rows


_FORECAST_HEADER = ["model", "QLIKE", "MSE", "MAE", "MZ a", "MZ b", "MZ R^2", "QLIKE gain vs har", "days"]


def results_table(metrics: dict) -> str:
    """A plain-text table of the forecast metrics (and Sharpe at each cost), for stdout."""
    costs = [f"{c:g}" for c in metrics["config"]["costs_bps"]]
    bt = metrics.get("backtest") or {}
    header = _FORECAST_HEADER[:-1] + ([f"Sharpe {c}bp" for c in costs] if bt else [])
    rows = []
    for row, name in zip(_forecast_rows(metrics), _ranked(metrics)):
        row = row[:-1]
        if bt:
            row += [_f(bt[name][c]["sharpe"], ".2f") for c in costs]
        rows.append([str(c) for c in row])
    if bt:
        bh = bt["buy_and_hold"]
        rows.append(["buy_and_hold"] + [""] * (len(_FORECAST_HEADER) - 2) + [_f(bh["sharpe"], ".2f")] * len(costs))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    days = metrics["config"]["n_forecasts"]
    title = (f"{metrics['config']['data']['file']}: {days} forecast days "
             f"{metrics['config']['first_forecast']}..{metrics['config']['last_forecast']}, "
             f"target {metrics['config']['target']}, horizon {metrics['config']['horizon']}")
    return "\n".join([title, line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def is_protocol_a(metrics: dict) -> bool:
    """True when the run follows the reference Protocol A (so the reference QLIKE figures apply)."""
    c = metrics["config"]
    return (c["data"]["file"] == REFERENCE_FILE and c["first_forecast"] == "2008-01-02"
            and c["last_forecast"] == "2018-12-31" and c["n_forecasts"] == 2769 and c["refit_every"] == 21
            and c["window"] is None and c["horizon"] == 1 and c["target"] == "r2")


def reference_rows(metrics: dict) -> list:
    """[model, QLIKE, reference, difference %, within 1%] for the models with a reference figure."""
    rows = []
    for name, ref in REFERENCE_QLIKE.items():
        if name in metrics["models"]:
            q = metrics["models"][name]["qlike"]
            d = 100.0 * (q - ref) / ref
            shown = f"{d:+.2f}%" if round(d, 2) != 0 else "0.00%"
            rows.append([name, f"{q:.4f}", f"{ref:.4f}", shown, "yes" if abs(d) <= REFERENCE_TOL_PCT else "NO"])
    return rows


def backtest_assumptions(cfg: dict) -> str:
    """The backtest's assumptions in one paragraph (for report.md)."""
    return (f"Position w_t = min(target vol / forecast vol_t, {cfg['max_leverage']:g}) with a target of "
            f"{cfg['target_vol']:g}% a year, set at the close of day t-1 from that day's forecast and held over "
            "day t (rebalanced daily). Assumptions: the risk-free rate is zero (Sharpe = annualised mean over "
            "annualised volatility of the daily strategy returns); uninvested cash earns nothing and leverage "
            f"(up to {cfg['max_leverage']:g}x) is financed at no cost; trading costs are the stated basis points "
            "times the traded weight |w_t - w_{t-1}| (the first day pays for entering), with no spread, "
            "slippage or market impact beyond that; no taxes or dividends beyond those in the adjusted prices. "
            f"Returns use `{cfg['return_accounting']}` accounting: `simple` compounds exact simple returns; "
            "log accounting (`--return-accounting log`) sums log returns, the convention of published reference figures, "
            "and gives lower Sharpe ratios (no variance drag in `simple`).")


def floor_hits(walk) -> dict:
    """Forecasts raised to a model's floor, per model label (``walk.floor_hits`` when the walk-forward
    records it; empty otherwise)."""
    return dict(getattr(walk, "floor_hits", None) or {})


DEGENERATE_SHARE = 0.01   # a model floored on at least 1% of the days is called degenerate


def degenerate_warnings(walk, window) -> list:
    """Warnings for models floored on many days (typically HAR refitted on a short rolling ``--window``)."""
    hits = floor_hits(walk)
    n = max(len(walk.index), 1)
    out = []
    for name, k in hits.items():
        if k and k >= DEGENERATE_SHARE * n:
            why = (f" with a rolling window of {window} days: short windows leave its fit unstable; "
                   "try a longer --window or the expanding window") if window is not None else ""
            out.append(f"`{name}` hit its forecast floor on {k} of {n} days ({100.0 * k / n:.1f}%){why}. "
                       "Its scores on those days reflect the floor, not the model.")
    return out


def data_checks_section(found) -> list:
    """report.md lines of the data checks (:mod:`~tinygrad_trade.vol.checks`); none for ``None``."""
    if found is None:
        return []
    if not found:
        return ["## Data checks", "", "No suspicious stretches found (units changes, unadjusted splits, "
                "one-day spikes, gaps of more than a month, realized-variance units).", ""]
    return ["## Data checks", "", "These may make the numbers below wrong:", ""] + [f"- {f}" for f in found] + [""]


def opening_sections(results, extra: dict) -> list:
    """Markdown lines that open every report after its header: the run's notes, the data checks and the
    caller's ``extra["sections_before"]``."""
    L = [f"> Note: {note}" for note in results.notes] + ([""] if results.notes else [])
    L += data_checks_section(getattr(results, "data_checks", None))
    for title, body in extra.get("sections_before", []):
        L += [f"## {title}", "", body, ""]
    return L


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
    L += opening_sections(results, extra)

    L += ["## Forecast accuracy", "",
          "QLIKE = mean(y/f + ln f) (lower is better); MSE in %^4; Mincer-Zarnowitz regression y = a + b f "
          "(unbiased: a = 0, b = 1). The gain vs har is a ratio, (QLIKE_har - QLIKE_model) / QLIKE_har in %: "
          "positive means lower loss than har.", "",
          _md_table(_FORECAST_HEADER, _forecast_rows(m)), ""]
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
    if m["dm_vs_har"]:
        rows = [[n, _f(d["qlike"]["stat"], ".2f"), _f(d["qlike"]["pvalue"], ".3f"), _f(d["mse"]["stat"], ".2f"),
                 _f(d["mse"]["pvalue"], ".3f")] for n, d in m["dm_vs_har"].items()]
        L += ["### Diebold-Mariano tests against har", "",
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
        L += [_md_table(["strategy", "cost bp", "ann. return %", "ann. vol %", "Sharpe", "max drawdown %",
                         "turnover / year", "realized vol / target"], rows), ""]
        if "equity_curves" in plots:
            L += [f"![backtest equity curves]({plots['equity_curves']})", ""]
    else:
        L += ["Not run: the data has no daily returns (realized-variance file).", ""]

    L += risk_markdown(m, plots.get("var_bands"))
    if "training_loss" in plots:
        L += ["## Training of the neural models", "", f"![training loss]({plots['training_loss']})", ""]
    for title, body in extra.get("sections", []):
        L += [f"## {title}", "", body, ""]

    t = results.timings
    extra_setup = ", GARCH fit and graph" if extra.get("sections_before") else ""
    rows = [[name, f"{sec:.1f}"] for name, sec in t.get("models", {}).items()]
    L += ["## Run time", "",
          f"Total {t.get('total', float('nan')):.1f} s (set-up: data{extra_setup} {t.get('data', float('nan')):.1f} s; walk-forward "
          f"{t.get('walk_forward', float('nan')):.1f} s wall time with {cfg['workers']} worker(s)). "
          "Per-model time is the summed fit + forecast time of its tasks:", "",
          _md_table(["model", "seconds"], rows), "",
          "Files: `metrics.json` (all numbers, no timings), `forecasts.csv` (date, target, one column per model).", ""]
    return "\n".join(L)


def write_report(results, out_dir, extra: Optional[dict] = None) -> dict:
    """Write every output file into ``out_dir`` (which must exist); returns ``{name: path}``.

    ``extra``: ``{"title": str, "sections_before": [(title, markdown)], "sections": [(title, markdown)]}``
    for additional report.md sections (the demo's GARCH summary and graph).
    """
    out = os.fspath(out_dir)
    walk, metrics, config = results.walk, results.metrics, results.config
    paths = {"metrics": write_metrics(metrics, os.path.join(out, "metrics.json")),
             "forecasts": write_forecasts(walk, os.path.join(out, "forecasts.csv"))}
    if write_var_es(walk, metrics, os.path.join(out, RISK_FILE)):
        paths["risk"] = os.path.join(out, RISK_FILE)
    plots = {}
    makers = {
        "forecast_vs_realized": lambda p: plot_forecasts(walk, metrics, p),
        "cum_qlike_vs_har": lambda p: plot_cum_qlike(walk, p),
        "equity_curves": lambda p: plot_equity(walk, config, p),
        "training_loss": lambda p: plot_losses(walk.histories, p),
        "var_bands": lambda p: plot_var_bands(walk, metrics, p),
    }
    for key, make in makers.items():
        p = os.path.join(out, PLOT_FILES[key])
        if make(p) is not None:
            plots[key] = PLOT_FILES[key]
            paths[key] = p
        elif os.path.exists(p):
            os.remove(p)  # a plot of an earlier run in the same directory would mislead
    report = os.path.join(out, "report.md")
    with open(report, "w", encoding="utf-8") as fh:
        fh.write(markdown_report(results, plots, extra))
    paths["report"] = report
    paths["html"] = write_report_html(report)  # report.html beside it, self-contained (vol/report_html.py)
    return paths
