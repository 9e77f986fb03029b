"""The pre-2008 selection of the pooled model's settings per horizon (docs/model-card.md, "Horizons").

    python benchmarks/select_pooled_horizons.py                 # horizons 1, 5, 10, 22 (10-30 min under load)
    python benchmarks/select_pooled_horizons.py --horizons 5 22

Data before 2008 only: per horizon h, the embedded universe (S&P 500, AAPL, GOOG, IBM) is walked forward over the
forecast days from 2004-01-01 (GOOG: after its first year of data) whose h-day target ends before 2008-01-01,
refit every 21 days, expanding window, each fit on the targets known before its refit. The classical models
(ewma, garch, gjr, har) run per asset; every setting of the grid runs the pooled panel on the same refit dates
(the per-asset GJR fits, which do not depend on the settings, are made once per horizon and handed to each
setting's panel fits, as a universe run's phase 2 does). Gain = 1 - QLIKE(pooled) / QLIKE(best classical model
of the asset). Rule: the highest mean gain over the four assets; among the settings within 0.05 points of it,
the best worst asset. The winners are frozen in ``vol.models.pooled.HORIZON_SETTINGS``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from tinygrad_trade.vol.data.assets import read_embedded_universe  # noqa: E402
from tinygrad_trade.vol.evaluation.losses import qlike  # noqa: E402
from tinygrad_trade.vol.features.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.runs.universe import (collect_results, plan_universe, run_universe, universe_tasks,  # noqa: E402
                                              with_fits)
from tinygrad_trade.vol.runs.walkforward import ModelSpec  # noqa: E402

CLASSICAL = ("ewma", "garch", "gjr", "har")
PROXIES = ("r2", "parkinson", "gk")
START, END = "2004-01-01", "2008-01-01"
GRID = [dict(ridge=r, delta=0.01, long=lw) for lw in ((), (66,), (66, 126)) for r in (3e-3, 1e-2, 3e-2)]


def datasets_for(h: int) -> dict:
    return {n: build_dataset(data, proxies=PROXIES, horizon=h) for n, data in read_embedded_universe().items()}


def spans(datasets: dict, h: int) -> tuple:
    """Per asset: first forecast (2004, or a year after its first day) and stop (its target ends before 2008)."""
    start, stop = {}, {}
    for n, ds in datasets.items():
        start[n] = max(int(np.searchsorted(ds.dates, np.datetime64(START))), 252)
        stop[n] = int(np.searchsorted(ds.dates, np.datetime64(END))) - (h - 1)
    return start, stop


def select(h: int, grid=GRID) -> list:
    ds = datasets_for(h)
    start, stop = spans(ds, h)
    classical = run_universe(ds, list(CLASSICAL), start=start, stop=stop)
    best = {}
    for n, wf in classical.items():
        q = {m: qlike(wf.target, f) for m, f in wf.forecasts.items()}
        best[n] = (min(q, key=q.get), min(q.values()))
    spec0 = ModelSpec("pooled", grid[0])
    plan = plan_universe(ds, [spec0], start=start, stop=stop)
    tasks = universe_tasks(ds, plan)
    phase1 = [t() for t in tasks[:-1]]
    rows = []
    for opts in grid:
        t0 = time.perf_counter()
        spec = ModelSpec("pooled", opts)
        last = dataclasses.replace(with_fits(tasks[-1], phase1), spec=spec)
        res = collect_results(ds, dataclasses.replace(plan, specs=[spec]), tasks[:-1] + [last], phase1 + [last()])
        gains = {n: 1 - qlike(wf.target, wf.forecasts["pooled"]) / best[n][1] for n, wf in res.items()}
        rows.append({"h": h, "options": {**opts, "long": list(opts["long"])}, "gains": gains,
                     "mean": float(np.mean(list(gains.values()))), "worst": float(min(gains.values())),
                     "best_classical": {n: b[0] for n, b in best.items()}, "seconds": time.perf_counter() - t0})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def chosen(rows: list) -> dict:
    top = max(r["mean"] for r in rows)
    near = [r for r in rows if r["mean"] >= top - 0.0005]
    return max(near, key=lambda r: r["worst"])


def render(rows: list) -> str:
    pick = chosen(rows)
    assets = list(rows[0]["gains"])
    out = [f"h = {rows[0]['h']} (best classical: " + ", ".join(f"{a} {b}" for a, b in rows[0]["best_classical"].items())
           + ")", "", "| ridge | long windows | " + " | ".join(assets) + " | mean |",
           "|---|---|" + "---|" * (len(assets) + 1)]
    for r in rows:
        o = r["options"]
        mark = "**" if r is pick else ""
        cells = [f"{mark}{100 * r['gains'][a]:+.2f}%{mark}" for a in assets] + [f"{mark}{100 * r['mean']:+.2f}%{mark}"]
        out.append(f"| {o['ridge']:g} | {', '.join(map(str, o['long'])) or 'none'} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--horizons", type=int, nargs="*", default=[1, 5, 10, 22])
    args = ap.parse_args()
    for h in args.horizons:
        print(render(select(h)) + "\n", flush=True)


if __name__ == "__main__":
    main()
