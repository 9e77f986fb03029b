"""The pooled model against the classical ones, per asset of the embedded universe (S&P 500, AAPL, GOOG, IBM).

    python benchmarks/bench_pooled.py            # test period: S&P 2008-2018, stocks 2008-2013 (15-60 s)
    python benchmarks/bench_pooled.py --tune     # the pre-2008 selection of the hyper-parameters

Protocol A per asset (refit every 21 forecasts, expanding window, each forecast from data < t, forecasts
floored at the asset's scale as in the walk-forward). The classical models (ewma, garch, gjr, har) run
through ``walk_forward`` one asset at a time; ``pooled`` runs through ``vol.universe.run_universe``: refitted
on the rows of every asset together (``fit_panel``), forecasting each asset (``predict_asset``); ``pooled_1``
is the same model fitted on each asset alone. The stocks' OHLC are adjusted by Adj Close / Close
(``vol.assets``). Goal: ``pooled`` at least 2% below the best classical model's QLIKE on every asset, with a
Diebold-Mariano test (QLIKE, Newey-West, 5 lags); and no model above 1.5x the best model's QLIKE on any asset.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from common import table  # noqa: E402

from tinygrad_trade.vol.assets import load_embedded_universe  # noqa: E402
from tinygrad_trade.vol.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.evaluation import diebold_mariano, qlike, qlike_loss  # noqa: E402
from tinygrad_trade.vol.universe import run_universe  # noqa: E402
from tinygrad_trade.vol.walkforward import ModelSpec, forecast_stop, walk_forward  # noqa: E402

CLASSICAL = ("ewma", "garch", "gjr", "har")
PROXIES = ("r2", "parkinson", "gk")
TEST = ("2008-01-01", None)                                  # forecast days: 2008 to the end of each asset
SELECT = ("2004-01-01", "2008-01-01")                        # pre-2008 pseudo-out-of-sample, for tuning
FIRST_GOOG = "2005-01-01"                                    # GOOG listed 2004-08-19: forecasts from 2005


def load_universe() -> dict:
    """name -> Dataset (target r^2, proxies r2/parkinson/gk) of the embedded universe: the S&P 500 and the
    three stocks (OHLC adjusted by Adj Close / Close by ``vol.assets``)."""
    return {n: build_dataset(df, proxies=PROXIES) for n, df in load_embedded_universe().items()}


def _window(ds, name, period):
    start, stop = period
    if name == "GOOG":
        start = max(start, FIRST_GOOG)
    first = int(np.searchsorted(ds.dates, np.datetime64(start)))
    last = forecast_stop(ds) if stop is None else int(np.searchsorted(ds.dates, np.datetime64(stop)))
    return first, last


def compare(datasets, period, pooled_options=None, with_single=True):
    """Per-asset rows: QLIKE of every model, pooled's gain and DM t vs the best classical model.

    ``run_universe`` runs the classical models per asset and ``pooled`` on the panel (refit dates: every
    ``21``st day of the union of the assets' forecast days); ``pooled_1`` is ``walk_forward`` per asset."""
    windows = {n: _window(ds, n, period) for n, ds in datasets.items()}
    opts = dict(pooled_options or {})
    t0 = time.perf_counter()
    uni = run_universe(datasets, [ModelSpec("pooled", opts)], start={n: w[0] for n, w in windows.items()},
                       stop={n: w[1] for n, w in windows.items()})
    t_panel = time.perf_counter() - t0
    models = list(CLASSICAL) + ([ModelSpec("pooled", opts, label="pooled_1")] if with_single else [])
    singles = {n: walk_forward(ds, models, start=int(windows[n][0]), stop=int(windows[n][1]))
               for n, ds in datasets.items()}
    results = {}
    for n, ds in datasets.items():
        wf = singles[n]
        y = wf.target
        assert np.array_equal(uni[n].index, wf.index)
        fc = {**wf.forecasts, "pooled": uni[n].forecasts["pooled"]}
        q = {m: qlike(y, f) for m, f in fc.items()}
        best = min(CLASSICAL, key=q.get)
        dm = diebold_mariano(qlike_loss(y, fc["pooled"]), qlike_loss(y, fc[best]))
        hits = {**wf.floor_hits, **uni[n].floor_hits}
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
       [dict(ridge=r, delta=d, weights=w) for r in (1e-3, 3e-3, 1e-2) for d in (0.01, 0.03) for w in ("rows", "assets")] + \
       [dict(ridge=3e-3, delta=0.01, hidden=8, weight_decay=wd) for wd in (0.1, 1.0)]


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
