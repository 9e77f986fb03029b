"""10-day VaR/ES of the embedded universe from the 10-day variance forecasts of a multi-horizon run, backtested on
overlapping windows (vol.evaluation.horizon_risk: normal and FHS; Newey-West coverage test, Kupiec on the
non-overlapping subsamples).

    python benchmarks/bench_horizons.py --out DIR      # the run (forecasts.csv in long form)
    python benchmarks/bench_var10.py DIR [--horizon 10]

Prints one row per asset, model, method and level (Markdown; docs/model-card.md quotes it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from tinygrad_trade.vol.data.assets import read_embedded_universe  # noqa: E402
from tinygrad_trade.vol.evaluation.horizon_risk import horizon_risk_metrics  # noqa: E402
from tinygrad_trade.vol.features.dataset import build_dataset  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", help="the --out folder of a multi-horizon universe run")
    ap.add_argument("--horizon", type=int, default=10)
    ap.add_argument("--models", default="ewma,garch,gjr,har,pooled")
    args = ap.parse_args()
    h = args.horizon
    fc = pd.read_csv(Path(args.run) / "forecasts.csv")
    fc = fc[fc.horizon == h]
    models = [m for m in args.models.split(",") if m in fc.columns]
    head = ["asset", "model", "method", "level", "windows", "hit rate", "NW p", "subsample p", "naive Kupiec p",
            "ES Z2"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for asset, data in read_embedded_universe().items():
        part = fc[fc.asset == asset]
        if part.empty:
            continue
        ds = build_dataset(data, horizon=h)
        index = np.searchsorted(ds.dates, part.date.to_numpy().astype("datetime64[D]"))
        risk = horizon_risk_metrics(ds.returns, index, {m: part[m].to_numpy() for m in models}, h,
                                    ds.dates[index])
        for m, e in risk.items():
            for method, levels in (("normal", e["levels"]), ("fhs", (e.get("fhs") or {}).get("levels", {}))):
                for k, b in levels.items():
                    print(f"| {asset} | {m} | {method} | {k}% | {b['n']} | {100 * b['hit_rate']:.2f}% | "
                          f"{b['nw_pvalue']:.3f} | {b['sub_pvalue']:.3f} | {b['naive_kupiec_pvalue']:.3f} | "
                          f"{b['es_z2']:.3f} |")


if __name__ == "__main__":
    main()
