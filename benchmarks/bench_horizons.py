"""Skill at every horizon a desk uses: the pooled model (and the pooled nets) against the best classical model,
per horizon and asset of the embedded universe, from 2008 (the test period; settings chosen before 2008).

    python benchmarks/bench_horizons.py                        # ewma,garch,gjr,har,pooled at h = 1, 5, 10, 22
    python benchmarks/bench_horizons.py --nets                 # also pooled_mlp and pooled_gru (slow)
    python benchmarks/bench_horizons.py --out DIR              # keep the run's report (default: a temp folder)
    python benchmarks/bench_horizons.py --models pooled_mlp,pooled_gru --with DIR   # the nets alone, the other
                                                               # models' forecasts read from DIR/forecasts.csv

It is the run ``tinygrad-trade forecast --universe embedded --horizon 1,5,10,22 --models
ewma,garch,gjr,har,pooled[,pooled_mlp,pooled_gru]`` (start 2008-01-01, refit every 21, expanding window, seed 0),
followed by, per horizon and asset: QLIKE of every model, the best classical model (lowest QLIKE among ewma,
garch, gjr, har), each learned model's gain ``1 - QLIKE / QLIKE(best classical)`` and its Diebold-Mariano
statistic on QLIKE against the best classical model (Newey-West, max(5, h) lags since h-day targets overlap;
negative: the learned model has the lower loss). The table is printed as Markdown (docs/model-card.md quotes it)
and written as JSON beside the report (``horizons_table.json``).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

from tinygrad_trade.vol.evaluation.losses import diebold_mariano, qlike, qlike_loss  # noqa: E402
from tinygrad_trade.vol.jobs.config import ForecastConfig  # noqa: E402
from tinygrad_trade.vol.jobs.forecast import run_forecast  # noqa: E402

CLASSICAL = ("ewma", "garch", "gjr", "har")
LEARNED = ("pooled",)
NETS = ("pooled_mlp", "pooled_gru")
HORIZONS = (1, 5, 10, 22)


def earlier(path) -> dict:
    """``{(h, asset): DataFrame indexed by date}`` of an earlier run's long-form forecasts.csv."""
    import pandas as pd
    fc = pd.read_csv(Path(path) / "forecasts.csv")
    return {(int(h), a): g.set_index("date") for (h, a), g in fc.groupby(["horizon", "asset"])}


def table(res, learned, before=None) -> list:
    rows = []
    for h, r in res.by_horizon.items():
        for asset, wf in r.walks.items():
            fc = dict(wf.forecasts)
            if before is not None:        # the same days of the earlier run (same data, start, refit dates)
                old = before[(h, asset)].loc[[str(d) for d in wf.dates]]
                assert (abs(old["target"].to_numpy() - wf.target) <= 1e-8 * abs(wf.target)).all()
                fc.update({m: old[m].to_numpy() for m in old.columns if m not in fc and m not in ("asset",
                                                                                                "target", "horizon")})
            q = {m: qlike(wf.target, f) for m, f in fc.items()}
            best = min(CLASSICAL, key=q.get)
            row = {"h": h, "asset": asset, "days": int(wf.target.size), "qlike": q, "best": best, "gain": {},
                   "dm": {}}
            for m in learned:
                if m not in fc:
                    continue
                d = diebold_mariano(qlike_loss(wf.target, fc[m]), qlike_loss(wf.target, fc[best]), lags=max(5, h))
                row["gain"][m] = 1 - q[m] / q[best]
                row["dm"][m] = {"stat": d["stat"], "pvalue": d["pvalue"]}
            rows.append(row)
    return rows


def render(rows, learned) -> str:
    head = ["h", "asset", "days", *CLASSICAL, *learned, "best classical"] + \
           [x for m in learned for x in (f"{m} gain", f"{m} DM t (p)")]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["h"]), r["asset"], f"{r['days']:,}"] + [f"{r['qlike'][m]:.4f}" for m in CLASSICAL]
        cells += [f"{r['qlike'][m]:.4f}" if m in r["qlike"] else "" for m in learned] + [r["best"]]
        for m in learned:
            if m in r["gain"]:
                g = 100 * r["gain"][m]
                cells += [(f"**{g:+.2f}%**" if g >= 2 else f"{g:+.2f}%"),
                          f"{r['dm'][m]['stat']:+.2f} ({r['dm'][m]['pvalue']:.3f})"]
            else:
                cells += ["", ""]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", action="store_true", help="also the pooled nets (pooled_mlp, pooled_gru)")
    ap.add_argument("--models", default=None, help="comma-separated models instead of the default list")
    ap.add_argument("--horizons", default="1,5,10,22")
    ap.add_argument("--out", default=None, help="folder for the run's report (default: a temporary one)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--with", dest="with_", default=None,
                    help="an earlier run's --out folder: the models missing here are read from its forecasts.csv")
    ap.add_argument("--epochs", type=int, default=None, help="the nets' epochs per refit (default: theirs)")
    args = ap.parse_args()
    models = tuple(args.models.split(",")) if args.models else CLASSICAL + LEARNED + (NETS if args.nets else ())
    before = earlier(args.with_) if args.with_ else None
    learned = list(dict.fromkeys(([] if before is None else list(LEARNED)) + [m for m in models if m not in CLASSICAL]))
    hs = tuple(int(h) for h in args.horizons.split(","))
    out = args.out or tempfile.mkdtemp(prefix="bench_horizons_")
    t0 = time.perf_counter()
    res = run_forecast(ForecastConfig(universe="embedded", horizon=hs if len(hs) > 1 else hs[0], models=models,
                                      out=out, quiet=True, workers=args.workers, epochs=args.epochs, force=True))
    if not res.by_horizon:        # one horizon: the same table from the one-horizon result
        res.by_horizon = {hs[0]: res}
    rows = table(res, learned, before)
    print(f"forecast --universe embedded --horizon {args.horizons} --models {','.join(models)}: "
          f"{time.perf_counter() - t0:.0f} s; report in {out}\n")
    print(render(rows, learned))
    with open(Path(out) / "horizons_table.json", "w") as fh:
        json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
