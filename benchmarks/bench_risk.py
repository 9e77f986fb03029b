"""The VaR/ES figures of docs/model-card.md: each model's default risk method, chosen before 2008, and the risk
table of the embedded universe from 2008, GJR-GARCH with normal errors against skew-t errors.

``--choose``: the walk-forward 2004-2007 only (refit every 21 days, data before 2008 only) of EWMA, GARCH, GJR,
HAR and the skew-t GJR on the embedded universe; for every model both methods (parametric from the fitted law,
FHS on earlier residuals) on the same days (those where FHS has its 250 residuals) and, per method, how many of
the tests pass at 5% over assets x levels (1%, 2.5%, 5%) x tests (Kupiec, Christoffersen cc, DQ, Acerbi-Szekely Z2
by simulation). The method with more passes is the model's default (a tie keeps FHS, the method of round 2).

``--table`` (default): the walk from 2008 to the end of each asset's data, GJR normal and GJR skew-t, each with
its default method, through the product's own path (``run_forecast``: ``metrics.json``'s
``risk[model]["backtests"]``).

    PYTHONPATH=. python benchmarks/bench_risk.py [--choose] [--table]
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from common import machine, table  # noqa: E402

from tinygrad_trade.vol.data.assets import read_embedded_universe  # noqa: E402
from tinygrad_trade.vol.evaluation.var_backtests import LEVELS  # noqa: E402
from tinygrad_trade.vol.evaluation.var_walk import (day_law, default_method, risk_rng, walk_backtests,  # noqa: E402
                                                    walk_simulator, walk_var_es)
from tinygrad_trade.vol.features.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.jobs.config import ForecastConfig  # noqa: E402
from tinygrad_trade.vol.jobs.forecast import run_forecast  # noqa: E402
from tinygrad_trade.vol.runs.sweep import sweep  # noqa: E402
from tinygrad_trade.vol.runs.tasks import first_index  # noqa: E402

CHOOSE_MODELS = ("ewma", "garch", "gjr", "har", "gjr_skewt")
TESTS = ("kupiec_pvalue", "cc_pvalue", "dq_pvalue", "z2_pvalue")


def choose():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = read_embedded_universe()
    datasets = {n: build_dataset(d, target="r2", horizon=1) for n, d in frames.items()}
    start = {n: max(first_index(ds, "2004-01-01"), 252) for n, ds in datasets.items()}
    stop = {n: first_index(ds, "2008-01-01") for n, ds in datasets.items()}
    t0 = time.perf_counter()
    walks = sweep(datasets, CHOOSE_MODELS, start=start, stop=stop, refit_every=21).by_asset(0)
    print(f"walk-forward 2004-2007: {time.perf_counter() - t0:.0f} s")
    passes = {m: {"parametric": 0, "fhs": 0} for m in CHOOSE_MODELS}
    total = {m: 0 for m in CHOOSE_MODELS}
    rows = []
    for asset, wf in walks.items():
        for m in CHOOSE_MODELS:
            law = day_law(wf.index, wf.histories.get(m))
            fhs = walk_var_es(wf.returns, wf.forecasts[m], LEVELS, "fhs", law)
            days = np.isfinite(fhs["var_1"])                     # the days both methods have
            if days.sum() < 250:
                continue
            r, s, idx = wf.returns[days], wf.forecasts[m][days], wf.index[days]
            law = day_law(idx, wf.histories.get(m))
            for method in ("parametric", "fhs"):
                figs = walk_var_es(r, s, LEVELS, method, law) if method == "parametric" else \
                    {k: v[days] for k, v in fhs.items()}
                sim = walk_simulator(wf.returns, wf.forecasts[m], method, day_law(wf.index, wf.histories.get(m)))
                sim_days = (lambda f: (lambda g, n: f(g, n)[:, days]))(sim)
                bt = walk_backtests(r, s, figs, LEVELS, method, sim_days, risk_rng(0, m), n_sims=500)
                ok = sum(int((b[t] if b[t] is not None else 0) >= 0.05) for b in bt["levels"].values() for t in TESTS)
                passes[m][method] += ok
                if method == "fhs":
                    total[m] += len(bt["levels"]) * len(TESTS)
                lv = bt["levels"]
                rows.append([asset, m, method, bt["n_days"]] +
                            [f"{100 * lv[k]['hit_rate']:.2f}" for k in ("1", "2.5", "5")] +
                            [f"{lv[k]['cc_pvalue']:.3f}" for k in ("1", "2.5")] +
                            [f"{lv['2.5']['z2']:.2f}", f"{lv['2.5']['z2_pvalue']:.3f}", str(ok)])
    print(table(["asset", "model", "method", "days", "hit 1%", "hit 2.5%", "hit 5%", "cc p 1%", "cc p 2.5%",
                 "Z2 2.5%", "Z2 p", "passes /12"], rows))
    print()
    rows = [[m, f"{passes[m]['parametric']}/{total[m]}", f"{passes[m]['fhs']}/{total[m]}",
             "parametric" if passes[m]["parametric"] > passes[m]["fhs"] else "fhs", default_method(m)]
            for m in CHOOSE_MODELS]
    print(table(["model", "parametric passes", "FHS passes", "choice", "in the code"], rows))


def risk_table():
    t0 = time.perf_counter()
    res = run_forecast(ForecastConfig(universe="embedded", models=("har", "gjr", "gjr_skewt"), start="2008-01-01",
                                      out=None, quiet=True))
    print(f"forecast --universe embedded --models har,gjr,gjr_skewt: {time.perf_counter() - t0:.0f} s")
    rows = []
    for asset, m in res.metrics["assets"].items():
        for name in ("gjr", "gjr_skewt"):
            bt = m["risk"][name]["backtests"]
            lv = bt["levels"]
            tl, fr = bt.get("traffic_light", {}), bt.get("frtb", {})
            rows.append([asset, name, bt["method"], bt["n_days"],
                         f"{100 * lv['1']['hit_rate']:.2f}", f"{lv['1']['cc_pvalue']:.3f}",
                         f"{100 * lv['2.5']['hit_rate']:.2f}", f"{lv['2.5']['cc_pvalue']:.3f}",
                         f"{lv['2.5']['z2']:.2f}", f"{lv['2.5']['z2_pvalue']:.3f}", f"{lv['1']['dq_pvalue']:.3f}",
                         f"{100 * tl.get('share_green', float('nan')):.0f}%",
                         f"{100 * fr.get('share_pass', float('nan')):.0f}%"])
    print(table(["asset", "model", "method", "days", "hit 1%", "cc p 1%", "hit 2.5%", "cc p 2.5%", "Z2 2.5%",
                 "Z2 p", "DQ p 1%", "green", "FRTB pass"], rows))


if __name__ == "__main__":
    print(machine())
    if "--choose" in sys.argv:
        choose()
    if "--table" in sys.argv or "--choose" not in sys.argv:
        risk_table()
