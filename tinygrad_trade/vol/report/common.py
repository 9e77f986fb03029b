"""The parts every report shares: matplotlib figures written the same way, the Markdown tables, the
explanations (backtest assumptions, reference figures, floor hits) and the sections that open a report.

The one-asset report (:mod:`.writer`), the many-asset report (:mod:`.universe`) and the risk section
(:mod:`.risk`) are built from these; nothing here knows which of them it serves.
"""
from __future__ import annotations

import json
import math
import os


__all__ = ["write_metrics", "write_forecasts", "results_table", "readable_log_axis", "backtest_assumptions",
           "floor_hits", "degenerate_warnings", "data_checks_section", "opening_sections", "is_protocol_a",
           "draw_plots", "warm_up", "training_section",
           "reference_rows", "REFERENCE_QLIKE", "PERIODS", "what_to_use", "benchmark_of", "backtest_columns",
           "FEW_DAYS", "forecast_header"]

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


def _f(v, fmt: str = ".4f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, fmt)


def _md_table(header: list, rows: list) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def benchmark_of(metrics: dict) -> str:
    """The model the gains and DM tests of one asset's metrics compare with (har, or the one that stood in)."""
    return metrics.get("config", {}).get("benchmark", "har")


def _gain(m: dict):
    return m.get("qlike_vs_har_pct", m.get("qlike_vs_benchmark_pct"))


def _dm(metrics: dict) -> dict:
    return metrics.get("dm_vs_har") or metrics.get("dm_vs_benchmark") or {}


def _forecast_rows(metrics: dict) -> list:
    rows = []
    for name in _ranked(metrics):
        m = metrics["models"][name]
        mz = m["mz"]
        vs = _gain(m)
        rows.append([name, _f(m["qlike"]), _f(m["mse"], ".2f"), _f(m["mae"], ".3f"), _f(mz["intercept"], ".3f"),
                     _f(mz["slope"], ".3f"), _f(mz["r2"], ".3f"), "" if vs is None else f"{vs:+.2f}%", m["n"]])
    return rows


_FORECAST_HEADER = ["model", "QLIKE", "MSE", "MAE", "MZ a", "MZ b", "MZ R^2", "QLIKE gain vs har", "days"]


def forecast_header(metrics: dict) -> list:
    """The forecast table's header, its gain column named after the benchmark that ran."""
    return _FORECAST_HEADER[:-2] + [f"QLIKE gain vs {benchmark_of(metrics)}", "days"]


def results_table(metrics: dict) -> str:
    """A plain-text table of the forecast metrics (and Sharpe at each cost), for stdout."""
    costs = [f"{c:g}" for c in metrics["config"]["costs_bps"]]
    bt = metrics.get("backtest") or {}
    header = forecast_header(metrics)[:-1] + ([f"Sharpe {c}bp" for c in costs] if bt else [])
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


def backtest_columns(cfg: dict) -> list:
    """The backtest table's header, saying which return and which Sharpe ratio."""
    return ["strategy", "cost bp", f"ann. return % (geometric, {cfg.get('return_accounting', 'simple')} returns)",
            "ann. vol %", "Sharpe (arithmetic: ann. mean / ann. vol)", "max drawdown %", "turnover / year",
            "realized vol / target"]


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
            "and gives lower Sharpe ratios (no variance drag in `simple`). The annual return is geometric (the "
            "compound growth of wealth per year); the Sharpe ratio is arithmetic (252 x the mean daily return over "
            "sqrt(252) x its standard deviation).")


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


# ------------------------------------------------------------------------------------ what to use
FEW_DAYS = 250        # fewer forecast days than this: a ranking is weak evidence
SIGNIFICANT_P = 0.05


def _command(cfg: dict, model: str) -> str:
    """Tomorrow's ``tinygrad-trade predict`` for the data of this run, with the reading options it needed."""
    csv = cfg.get("csv")
    files = [csv] if isinstance(csv, str) else list(csv or [])
    source = str((cfg.get("data") or {}).get("file") or "").split(":")[0]   # "file:ASSET" for a long file's asset
    mine = [f for f in files if os.path.basename(f) == source]
    files = mine[:1] or files      # a universe's asset: its own file
    parts = ["tinygrad-trade predict"]
    if files:
        parts.append("--csv " + " ".join(files))
    elif cfg.get("universe"):
        parts.append(f"--universe {cfg['universe']}")
    for key, option in (("missing", "--missing"), ("price_column", "--price-column"), ("decimal", "--decimal")):
        if cfg.get(key) not in (None, "error"):
            parts.append(f"{option} {cfg[key]}")
    if cfg.get("dayfirst") is not None:
        parts.append("--dayfirst" if cfg["dayfirst"] else "--no-dayfirst")
    parts.append(f"--models {model}")
    return " ".join(parts)


def _failed_risk(metrics: dict, model: str) -> list:
    """The VaR levels at which ``model`` fails a coverage test at 5% (Kupiec or conditional coverage)."""
    entry = (metrics.get("risk") or {}).get(model) or {}
    out = []
    for key, b in (entry.get("levels") or {}).items():
        ps = [b.get("kupiec_pvalue"), b.get("cc_pvalue")]
        if any(p is not None and p < SIGNIFICANT_P for p in ps):
            out.append(f"{key}%")
    return out


def what_to_use(metrics: dict, asset: str = "", mcs=None) -> list:
    """Markdown lines of one asset's "What to use": the model with the best out-of-sample QLIKE and whether the
    evidence is significant (Diebold-Mariano against the runner-up's comparison with the benchmark), tomorrow's
    command, and the caveats (few days, floor hits, failed VaR tests)."""
    ranked = _ranked(metrics)
    if not ranked:
        return []
    cfg = metrics["config"]
    best = ranked[0]
    bench = benchmark_of(metrics)
    dm = _dm(metrics)
    head = f"**{asset}**: " if asset else ""
    if len(ranked) == 1:
        evidence = "the only model run."
    elif best != bench and best in dm:
        p = dm[best]["qlike"]["pvalue"]
        verdict = "significant" if p is not None and p < SIGNIFICANT_P else "not significant"
        evidence = (f"its QLIKE is lower than {bench}'s, {verdict} at 5% (Diebold-Mariano p = {_f(p, '.3f')})"
                    + ("." if verdict == "significant" else "; the models are close, any of the leaders will do."))
    elif best == bench and ranked[1] in dm:
        p = dm[ranked[1]]["qlike"]["pvalue"]
        verdict = "significant" if p is not None and p < SIGNIFICANT_P else "not significant"
        evidence = (f"it is the benchmark here; its lead over {ranked[1]} is {verdict} at 5% (Diebold-Mariano "
                    f"p = {_f(p, '.3f')}).")
    else:
        evidence = "no test against a benchmark was possible."
    L = [f"- {head}use `{best}` (QLIKE {_f(metrics['models'][best]['qlike'])}, best of {len(ranked)} out of "
         f"sample); {evidence}"]
    if cfg.get("rv"):
        L.append("  Tomorrow's figure: `tinygrad-trade predict` reads price files only, not realized variance.")
    else:
        L.append(f"  Tomorrow's figure: `{_command(cfg, best)}`")
    caveats = []
    n = cfg.get("n_forecasts", 0)
    if n < FEW_DAYS:
        caveats.append(f"only {n} forecast days: a ranking this short is weak evidence")
    hits = metrics["models"][best].get("floor_hits", 0)
    if hits:
        caveats.append(f"`{best}` hit its forecast floor on {hits} day(s)")
    failed = _failed_risk(metrics, best)
    if failed:
        caveats.append(f"its VaR fails a coverage test at {', '.join(failed)} (see the risk section)")
    if caveats:
        L.append("  Caveats: " + "; ".join(caveats) + ".")
    return L


# ------------------------------------------------------------------------------------ writing a report
def draw_plots(makers: dict, files: dict, out: str, paths: dict, executor=None, meanwhile=None) -> dict:
    """Draw every plot of ``makers`` (key -> function of the file's path, returning the Figure or None) into the
    folder ``out`` under ``files[key]``; adds each drawn file to ``paths`` and returns ``{key: file name}`` of
    those drawn. A plot not drawn this time is removed when an earlier run in the same folder left it: it
    would mislead.

    ``executor``: a process pool on this machine (its workers write into ``out``): the plots are drawn there,
    side by side, while this process runs ``meanwhile()`` (without an executor: before the plots); the makers
    must then pickle (``functools.partial`` of module-level functions). Nothing drawn depends on where."""
    if executor is None:
        if meanwhile is not None:
            meanwhile()
        drawn = {key: make(os.path.join(out, files[key])) is not None for key, make in makers.items()}
    else:
        futures = {key: executor.submit(_draw, make, os.path.join(out, files[key])) for key, make in makers.items()}
        if meanwhile is not None:
            meanwhile()
        drawn = {key: fut.result() for key, fut in futures.items()}
    plots = {}
    for key in makers:
        p = os.path.join(out, files[key])
        if drawn[key]:
            plots[key] = files[key]
            paths[key] = p
        elif os.path.exists(p):
            os.remove(p)
    return plots


def warm_up() -> None:
    """Import matplotlib and draw a small figure with text (its fonts load): a process that will draw the
    report's plots can do this while it would otherwise wait."""
    import io
    fig, ax = _figure(figsize=(2, 1))
    ax.plot([0, 1], [0, 1], label="x")
    ax.legend()
    ax.set_title("warm up")
    fig.tight_layout()
    fig.savefig(io.BytesIO(), format="png", dpi=20)


def _draw(make, path) -> bool:
    """One plot of :func:`draw_plots` on a worker: True when drawn (its Figure stays there)."""
    return make(path) is not None


def training_section(plots: dict, intro: str = "") -> list:
    """report.md lines of the nets' training: the loss curves and, when recorded, the gradient flow."""
    if "training_loss" not in plots:
        return []
    L = ["## Training of the neural models", ""] + ([intro, ""] if intro else [])
    L += [f"![training loss]({plots['training_loss']})", ""]
    if "gradient_flow" in plots:
        L += ["Gradient flow: the norm of each parameter's gradient, epoch by epoch over every fit (a layer whose "
              "line sinks to the floor has stopped learning).", "", f"![gradient flow]({plots['gradient_flow']})", ""]
    return L


def closing_sections(extra: dict, timings: dict, workers, setup: str, per_model: str, files: str) -> list:
    """report.md's last lines, shared by the one-asset and universe reports: the caller's extra sections, then
    the run time (``setup``: how the set-up figure is named; ``per_model``: what the per-model seconds sum over;
    ``files``: the columns of forecasts.csv)."""
    L = []
    for title, body in extra.get("sections", []):
        L += [f"## {title}", "", body, ""]
    rows = [[name, f"{sec:.1f}"] for name, sec in timings.get("models", {}).items()]
    L += ["## Run time", "",
          f"Total {timings.get('total', float('nan')):.1f} s ({setup} {timings.get('data', float('nan')):.1f} s; "
          f"walk-forward {timings.get('walk_forward', float('nan')):.1f} s wall time with {workers} worker(s)). "
          f"Per-model time is the summed fit + forecast time of its tasks{per_model}:", "",
          _md_table(["model", "seconds"], rows), "",
          f"Files: `metrics.json` (all numbers, no timings), `forecasts.csv` ({files}).", ""]
    return L
