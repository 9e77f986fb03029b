"""The pooled model against the classical ones, per asset of the embedded universe (S&P 500, AAPL, GOOG, IBM).

    python benchmarks/bench_pooled.py            # test period: S&P 2008-2018, stocks 2008-2013 (~2 min)
    python benchmarks/bench_pooled.py --tune     # the pre-2008 selection of the hyper-parameters

Protocol A per asset (refit every 21 forecasts, expanding window, each forecast from data < t, forecasts
floored at the asset's scale as in the walk-forward). The classical models (ewma, garch, gjr, har) run
through ``walk_forward`` one asset at a time; ``pooled`` is refitted on the same dates on the rows of every
asset together (``fit_panel``) and forecasts each asset (``predict_asset``); ``pooled_1`` is the same model
fitted on each asset alone. The stocks' OHLC are adjusted by Adj Close / Close. Goal: ``pooled`` at least 2%
below the best classical model's QLIKE on every asset, with a Diebold-Mariano test (QLIKE, Newey-West, 5
lags); and no model above 1.5x the best model's QLIKE on any asset.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import table  # noqa: E402

from tinygrad_trade.vol.base import apply_floor, scale_floor  # noqa: E402
from tinygrad_trade.vol.data import load_prices, load_sp500  # noqa: E402
from tinygrad_trade.vol.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.evaluation import diebold_mariano, qlike, qlike_loss  # noqa: E402
from tinygrad_trade.vol.models.pooled import PooledForecaster  # noqa: E402
from tinygrad_trade.vol.walkforward import ModelSpec, forecast_stop, walk_forward  # noqa: E402

STOCKS = os.environ.get("TT_STOCKS_CSV", "/work/shared/data/stocks_2000_2013.csv")
CLASSICAL = ("ewma", "garch", "gjr", "har")
PROXIES = ("r2", "parkinson", "gk")
TEST = ("2008-01-01", None)                                  # forecast days: 2008 to the end of each asset
SELECT = ("2004-01-01", "2008-01-01")                        # pre-2008 pseudo-out-of-sample, for tuning
FIRST_GOOG = "2005-01-01"                                    # GOOG listed 2004-08-19: forecasts from 2005


def load_universe() -> dict:
    """name -> Dataset (target r^2, proxies r2/parkinson/gk) of the S&P 500 and the three stocks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = {"SP500": build_dataset(load_sp500(), proxies=PROXIES)}
        raw = pd.read_csv(STOCKS)
        with tempfile.TemporaryDirectory() as tmp:
            for ticker, g in raw.groupby("Ticker", sort=True):
                g = g.drop(columns="Ticker").copy()
                k = g["Adj Close"] / g["Close"]
                for c in ("Open", "High", "Low", "Close"):
                    g[c] = g[c] * k
                path = os.path.join(tmp, f"{ticker}.csv")
                g.to_csv(path, index=False)
                out[ticker] = build_dataset(load_prices(path), proxies=PROXIES)
    return out


def _window(ds, name, period):
    start, stop = period
    if name == "GOOG":
        start = max(start, FIRST_GOOG)
    first = int(np.searchsorted(ds.dates, np.datetime64(start)))
    last = forecast_stop(ds) if stop is None else int(np.searchsorted(ds.dates, np.datetime64(stop)))
    return first, last


def panel_forecasts(datasets: dict, windows: dict, refit_every: int = 21, **options):
    """Pooled forecasts: one model refitted every ``refit_every`` days of the common calendar on all assets'
    rows before that day. Returns ``name -> (forecasts, floor_hits)`` over each asset's window."""
    calendar = np.unique(np.concatenate([ds.dates for ds in datasets.values()]))
    day0 = min(datasets[n].dates[windows[n][0]] for n in datasets)
    day1 = max(datasets[n].dates[windows[n][1] - 1] for n in datasets)
    refits = calendar[(calendar >= day0) & (calendar <= day1)][::refit_every]
    model = PooledForecaster(**options)
    parts = {n: [] for n in datasets}
    hits = {n: 0 for n in datasets}
    for i, day in enumerate(refits):
        nxt = refits[i + 1] if i + 1 < len(refits) else day1 + np.timedelta64(1, "D")
        ends = {n: int(np.searchsorted(ds.dates, day)) for n, ds in datasets.items()}
        model.fit_panel([(n, ds, ends[n], 0) for n, ds in datasets.items()])
        for n, ds in datasets.items():
            a = max(ends[n], windows[n][0])
            b = min(int(np.searchsorted(ds.dates, nxt)), windows[n][1])
            if a < b:
                f, low = apply_floor(model.predict_asset(n, ds, a, b), scale_floor(ds, ends[n], 0))
                parts[n].append(f)
                hits[n] += low
    return {n: (np.concatenate(parts[n]), hits[n]) for n in datasets}


def single_forecasts(datasets: dict, windows: dict, models):
    """``walk_forward`` per asset (the protocol's own blocks): name -> WalkForwardResult."""
    return {n: walk_forward(ds, models, start=int(windows[n][0]), stop=int(windows[n][1]))
            for n, ds in datasets.items()}


def compare(datasets, period, pooled_options=None, with_single=True):
    """Per-asset rows: QLIKE of every model, pooled's gain and DM t vs the best classical model."""
    windows = {n: _window(ds, n, period) for n, ds in datasets.items()}
    t0 = time.perf_counter()
    panel = panel_forecasts(datasets, windows, **(pooled_options or {}))
    t_panel = time.perf_counter() - t0
    models = list(CLASSICAL)
    if with_single:
        models.append(ModelSpec("pooled", dict(pooled_options or {}), label="pooled_1"))
    singles = single_forecasts(datasets, windows, models)
    results = {}
    for n, ds in datasets.items():
        wf = singles[n]
        y = wf.target
        fc = {m: wf.forecasts[m] for m in CLASSICAL}
        if with_single:
            fc["pooled_1"] = wf.forecasts["pooled_1"]
        fc["pooled"] = panel[n][0]
        q = {m: qlike(y, f) for m, f in fc.items()}
        best = min(CLASSICAL, key=q.get)
        dm = diebold_mariano(qlike_loss(y, fc["pooled"]), qlike_loss(y, fc[best]))
        hits = {**wf.floor_hits, "pooled": panel[n][1]}
        results[n] = {"days": int(y.size), "first": str(wf.dates[0]), "last": str(wf.dates[-1]), "qlike": q,
                      "best": best, "gain": 1 - q["pooled"] / q[best], "dm": dm["stat"], "p": dm["pvalue"],
                      "floor_hits": hits, "worst_ratio": max(q.values()) / min(q.values())}
    return results, t_panel


def render(results, t_panel, title) -> str:
    models = list(next(iter(results.values()))["qlike"])
    rows = []
    for n, r in results.items():
        rows.append([n, f"{r['first']}..{r['last']} ({r['days']})", *(f"{r['qlike'][m]:.4f}" for m in models),
                     r["best"], f"{100 * r['gain']:+.2f}%", f"{r['dm']:+.2f} (p {r['p']:.3f})",
                     f"{r['worst_ratio']:.2f}", ", ".join(f"{m} {k}" for m, k in r["floor_hits"].items() if k) or "0"])
    head = ["asset", "forecasts", *models, "best classical", "pooled gain", "DM t vs best",
            "max QLIKE / min", "floor hits"]
    return f"### {title}\n\n" + table(head, rows) + f"\n\nPanel fit and forecasts: {t_panel:.1f} s.\n"


GRID = [dict(ridge=r, delta=d) for r in (0.0, 1e-3, 1e-2) for d in (0.03, 0.1, 0.3)] + \
       [dict(ridge=r, delta=d, weights=w) for r in (1e-3, 3e-3, 1e-2) for d in (0.01, 0.03) for w in ("rows", "assets")]


def tune(datasets, grid=None) -> str:
    """Every grid point on the pre-2008 window: mean gain of the pooled panel vs the best classical model."""
    rows = []
    for opts in grid or GRID:
        res, t = compare(datasets, SELECT, opts, with_single=False)
        gains = [r["gain"] for r in res.values()]
        rows.append([", ".join(f"{k}={v}" for k, v in opts.items()), *(f"{100 * g:+.2f}%" for g in gains),
                     f"{100 * np.mean(gains):+.2f}%", f"{t:.0f} s"])
        print(rows[-1], flush=True)
    return table(["options", *datasets, "mean", "time"], rows)


def run() -> str:
    datasets = load_universe()
    res, t = compare(datasets, TEST)
    return render(res, t, "Test period: S&P 500 2008-2018, stocks 2008-2013")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune", action="store_true", help="the pre-2008 grid instead of the test period")
    ap.add_argument("--select", action="store_true", help="the default options on the pre-2008 window")
    ap.add_argument("--grid", type=int, nargs="*", help="with --tune: only these grid points (0-based)")
    args = ap.parse_args()
    if args.tune:
        print(tune(load_universe(), [GRID[i] for i in args.grid] if args.grid else None))
    elif args.select:
        res, t = compare(load_universe(), SELECT)
        print(render(res, t, "Selection period (pre-2008)"))
    else:
        print(run())
