"""Skill at every horizon a desk uses: the pooled model (and the pooled nets) against the best classical model,
per horizon and asset of the embedded universe or of price files (assets the project has never seen), from 2008
(the test period; settings chosen before 2008).

    python benchmarks/bench_horizons.py                        # ewma,garch,gjr,har,pooled at h = 1, 5, 10, 22
    python benchmarks/bench_horizons.py --nets                 # also pooled_mlp and pooled_gru (slow)
    python benchmarks/bench_horizons.py --out DIR              # keep the run's report (default: a temp folder)
    python benchmarks/bench_horizons.py --models pooled_mlp,pooled_gru --with DIR   # the nets alone, the other
                                                               # models' forecasts read from DIR/forecasts.csv
    python benchmarks/bench_horizons.py --csv A.csv B.csv      # price files instead of the embedded universe
    python benchmarks/bench_horizons.py --unseen --out DIR     # assets the project has never seen (needs arch
                                                               # and bokeh-sampledata): see below

It is the run ``tinygrad-trade forecast --universe embedded --horizon 1,5,10,22 --models
ewma,garch,gjr,har,pooled[,pooled_mlp,pooled_gru]`` (with --csv: ``forecast --csv FILE ...``; start 2008-01-01,
refit every 21, expanding window, seed 0), followed by, per horizon and asset: QLIKE of every model, the best
classical model (lowest QLIKE among ewma, garch, gjr, har), each learned model's gain ``1 - QLIKE / QLIKE(best
classical)`` and its Diebold-Mariano statistic on QLIKE against the best classical model (Newey-West, max(5, h)
lags since h-day targets overlap; negative: the learned model has the lower loss). The table is printed as
Markdown (docs/model-card.md quotes it) and written as JSON beside the report (``horizons_table.json``).

``--unseen`` writes two price files the project does not ship into DIR/data: NASDAQ.csv (the NASDAQ Composite,
daily OHLC 1999-2018, from ``arch.data.nasdaq``) and MSFT.csv (Microsoft, daily OHLC 2000-03-01 to 2013-03-01,
the Quandl WIKI prices of the bokeh-sampledata package; Open/High/Low/Close unadjusted, Adj Close adjusted, as
the vendor gives them), then runs three setups, each a ``forecast --csv`` run as a user would: each file alone (a
universe of one) and the two together (one universe). Reports in DIR/NASDAQ, DIR/MSFT, DIR/NASDAQ+MSFT (with
``--with DIR``: the earlier run's DIR/<setup>/forecasts.csv).
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
UNSEEN_SETUPS = (("NASDAQ",), ("MSFT",), ("NASDAQ", "MSFT"))


def unseen_files(folder) -> dict:
    """``{asset: path}``: NASDAQ.csv and MSFT.csv written into ``folder`` (Date, Open, High, Low, Close, Adj Close,
    Volume; the values as the packages give them)."""
    import arch.data.nasdaq
    import bokeh_sampledata
    import pandas as pd
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    q = arch.data.nasdaq.load()
    q.index = pd.DatetimeIndex(q.index).strftime("%Y-%m-%d")
    q.index.name = "Date"
    q[["Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(folder / "NASDAQ.csv")
    m = pd.read_csv(Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz")
    m = m[m.Ticker == "MSFT"]
    m[["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(folder / "MSFT.csv", index=False)
    return {"NASDAQ": str(folder / "NASDAQ.csv"), "MSFT": str(folder / "MSFT.csv")}


def earlier(path) -> dict:
    """``{(h, asset): DataFrame indexed by date}`` of an earlier run's long-form forecasts.csv (asset None: a
    one-asset run, whose file has no asset column)."""
    import pandas as pd
    fc = pd.read_csv(Path(path) / "forecasts.csv")
    if "asset" not in fc:
        return {(int(h), None): g.set_index("date") for h, g in fc.groupby("horizon")}
    return {(int(h), a): g.set_index("date") for (h, a), g in fc.groupby(["horizon", "asset"])}


def table(res, learned, before=None) -> list:
    rows = []
    for h, r in res.by_horizon.items():
        for asset, wf in r.walks.items():
            fc = dict(wf.forecasts)
            if before is not None:        # the same days of the earlier run (same data, start, refit dates)
                old = before[(h, asset) if (h, asset) in before else (h, None)].loc[[str(d) for d in wf.dates]]
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


def measure(source: dict, hs, models, learned, out, args, before=None) -> list:
    """One ``forecast`` run (``source``: ``{"universe": "embedded"}`` or ``{"csv": [paths]}``) and its table,
    printed with the command and the wall time; the rows are also written to ``out/horizons_table.json``."""
    t0 = time.perf_counter()
    res = run_forecast(ForecastConfig(**source, horizon=hs if len(hs) > 1 else hs[0], models=models, out=out,
                                      quiet=True, workers=args.workers, epochs=args.epochs, force=True))
    if not res.by_horizon:        # one horizon: the same table from the one-horizon result
        res.by_horizon = {hs[0]: res}
    rows = table(res, learned, before)
    what = "--universe embedded" if "universe" in source else "--csv " + " ".join(Path(p).name for p in source["csv"])
    print(f"forecast {what} --horizon {args.horizons} --models {','.join(models)}: "
          f"{time.perf_counter() - t0:.0f} s; report in {out}\n")
    print(render(rows, learned), flush=True)
    with open(Path(out) / "horizons_table.json", "w") as fh:
        json.dump(rows, fh, indent=1)
    return rows


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
    ap.add_argument("--csv", nargs="+", default=None, help="price files (one universe) instead of the embedded one")
    ap.add_argument("--unseen", action="store_true",
                    help="NASDAQ and MSFT (never seen by the project), each alone and together (needs arch and "
                         "bokeh-sampledata)")
    ap.add_argument("--only", default=None,
                    help="with --unseen: comma-separated setups to run (NASDAQ, MSFT, NASDAQ+MSFT; default all)")
    args = ap.parse_args()
    if args.unseen and args.csv:
        ap.error("give either --unseen or --csv, not both")
    models = tuple(args.models.split(",")) if args.models else CLASSICAL + LEARNED + (NETS if args.nets else ())
    learned = list(dict.fromkeys(([] if args.with_ is None else list(LEARNED)) +
                                 [m for m in models if m not in CLASSICAL]))
    hs = tuple(int(h) for h in args.horizons.split(","))
    out = args.out or tempfile.mkdtemp(prefix="bench_horizons_")
    if not args.unseen:
        source = {"csv": args.csv} if args.csv else {"universe": "embedded"}
        measure(source, hs, models, learned, out, args, earlier(args.with_) if args.with_ else None)
        return
    files = unseen_files(Path(out) / "data")
    setups = [s for s in UNSEEN_SETUPS if args.only is None or "+".join(s) in args.only.split(",")]
    for setup in setups:
        name = "+".join(setup)
        print(f"\n## {name}\n", flush=True)
        before = earlier(Path(args.with_) / name) if args.with_ else None
        measure({"csv": [files[a] for a in setup]}, hs, models, learned, str(Path(out) / name), args, before)


if __name__ == "__main__":
    main()
