"""Does learning from each day help? A model updated every day against the same model refitted every 21 days
and frozen in between, on the embedded S&P 500, forecasts for 2015-01-02 .. 2018-12-31 (issue 25).

    python benchmarks/bench_update.py                      # pooled and mlp
    python benchmarks/bench_update.py --models pooled      # pooled only (seconds)
    python benchmarks/bench_update.py --update-epochs 5    # mlp: optimizer steps per daily update (default 5)

Both arms see exactly the same data: an expanding window from 1999, a refit (warm start, as the walk-forward
and ``predict --load`` do) at the first forecast day and every 21 days after it. The *frozen* arm forecasts
the 21 days of a block with the parameters of the block's refit (the recursions and inputs filtered forward).
The *updated* arm, between refits, updates the model every night before forecasting the next day, with the
target of the day just closed and never a later one: ``pooled`` by Newton steps from its coefficients on the
longer window (levels and per-asset GJR held; :meth:`PooledForecaster.update`), ``mlp`` by ``--update-epochs``
steps of its saved Adam optimizer on every row up to the new day (:func:`vol.models.neural_update.update`).
This is ``predict --load DIR --update --save DIR2`` night after night.

Loss: QLIKE ``y/f + ln f`` of the 1-day target ``r^2`` (r in %); the Diebold-Mariano test (Newey-West, 5 lags)
of updated against frozen (a negative statistic: the updated model has the lower mean loss). The figures go in
docs/model-card.md ("Learning from each day").
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

from tinygrad_trade.vol import data as vdata  # noqa: E402
from tinygrad_trade.vol.evaluation.losses import diebold_mariano, qlike_loss  # noqa: E402
from tinygrad_trade.vol.features.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.models.registry import get_model  # noqa: E402
from tinygrad_trade.vol.models.runtime import one_blas_thread  # noqa: E402

FIRST, LAST = "2015-01-02", "2018-12-31"
REFIT = 21


def run_arm(name: str, ds, start: int, stop: int, update: bool, update_epochs: int, seed: int) -> tuple:
    """Forecasts of days ``start .. stop - 1`` and the seconds taken."""
    opts = {"progress": False, "seed": seed} if name in ("mlp", "gru") else {}
    model = get_model(name, **opts)
    f = np.empty(stop - start)
    t0 = time.perf_counter()
    for block in range(start, stop, REFIT):
        end = min(block + REFIT, stop)
        model.fit(ds, block)
        if not update:
            f[block - start:end - start] = model.predict(ds, block, end)
            continue
        f[block - start] = model.predict(ds, block, block + 1)[0]
        for day in range(block + 1, end):
            if name == "pooled":
                model.update(ds, day)
            else:
                model.update(ds, day, epochs=update_epochs)
            f[day - start] = model.predict(ds, day, day + 1)[0]
    return f, time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="pooled,mlp")
    ap.add_argument("--update-epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = vdata.load_sp500()
    ds = build_dataset(df, target="r2", horizon=1)
    dates = np.asarray(ds.dates, dtype="datetime64[D]")
    start = int(np.searchsorted(dates, np.datetime64(FIRST)))
    stop = int(np.searchsorted(dates, np.datetime64(LAST), side="right"))
    y = np.asarray(ds.target[start:stop], dtype=float)
    out = {"first": str(dates[start]), "last": str(dates[stop - 1]), "n": int(stop - start), "refit_every": REFIT,
           "update_epochs": args.update_epochs, "models": {}}
    for name in args.models.split(","):
        with one_blas_thread():
            ff, tf = run_arm(name, ds, start, stop, False, args.update_epochs, args.seed)
            fu, tu = run_arm(name, ds, start, stop, True, args.update_epochs, args.seed)
        lf, lu = qlike_loss(y, ff), qlike_loss(y, fu)
        dm = diebold_mariano(lu, lf)
        by_year = {}
        for year in range(2015, 2019):
            m = (dates[start:stop] >= np.datetime64(f"{year}-01-01")) & (dates[start:stop] < np.datetime64(f"{year + 1}-01-01"))
            by_year[str(year)] = {"frozen": float(lf[m].mean()), "updated": float(lu[m].mean())}
        out["models"][name] = {"qlike_frozen": float(lf.mean()), "qlike_updated": float(lu.mean()),
                               "dm_stat": dm["stat"], "dm_pvalue": dm["pvalue"], "mean_diff": dm["mean_diff"],
                               "seconds_frozen": round(tf, 1), "seconds_updated": round(tu, 1),
                               "mean_abs_log_ratio": float(np.mean(np.abs(np.log(fu / ff)))), "by_year": by_year}
        print(f"{name}: QLIKE frozen {lf.mean():.4f}, updated {lu.mean():.4f}, DM {dm['stat']:+.2f} "
              f"(p {dm['pvalue']:.3f}); mean |ln(f_upd / f_frozen)| {np.mean(np.abs(np.log(fu / ff))):.4f}; "
              f"{tf:.0f} s / {tu:.0f} s", flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
