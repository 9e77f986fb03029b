"""Scaling a sweep out on Dask: a synthetic universe of GJR-GARCH assets on a LocalCluster of 1 and 2 workers.

The universe: ``n`` assets of simulated GJR-GARCH(1,1,1) daily returns with known parameters (drawn per asset,
persistence 0.95-0.985), and OHLC prices whose intraday path is a Brownian bridge from the open to the close with
the day's variance, so high/low (and the Parkinson proxy HAR uses) are consistent with the returns. Models: har,
gjr and the pooled model when this version has one. What is measured (wall clock, best of ``--repeat`` runs on a
warm cluster: workers have imported everything and hold no data):

- the sweep of 64 assets x models on 1 worker and on 2 workers (``threads_per_worker=1``): speed-up and scaling
  efficiency ``T1 / (2 T2)``; the goal is a speed-up of 1.7 on 2 cores;
- the per-task overhead: a round trip of an empty task through the same executor, and the sweep's own overhead
  (its Dask wall time on 1 worker against the same sweep in-process);
- the time per asset for 8, 16, 32 and 64 assets on 2 workers (flat is the goal).

    python benchmarks/bench_dask.py                 # prints the section
    python benchmarks/bench_dask.py --write         # and puts it into docs/benchmarks.md
    python benchmarks/bench_dask.py --assets 16 --repeat 1    # a quick look

It needs ``dask[distributed]`` (the ``[dask]`` extra). On a shared machine the figures move with the other load:
the load average is printed with them; rerun it quietly for figures to quote.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from common import machine, table  # noqa: E402

from tinygrad_trade.vol.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.walkforward import Job, run_jobs  # noqa: E402

TITLE = "Scaling out on Dask"
N_DAYS = 1000          # four years of business days per asset
START = 500            # the first forecast day (two years of history)
REFIT_EVERY = 21
STEPS = 64             # intraday steps of the Brownian bridge


# ------------------------------------------------------------------------------------ the universe
def gjr_params(rng) -> dict:
    """Known GJR-GARCH(1,1,1) parameters of one asset (returns in %, variance in %^2 per day)."""
    alpha, gamma = rng.uniform(0.01, 0.05), rng.uniform(0.04, 0.14)
    persistence = rng.uniform(0.95, 0.985)
    beta = persistence - alpha - gamma / 2
    uncond = rng.uniform(0.6, 3.0)                       # long-run daily variance, %^2
    return {"mu": rng.uniform(0.0, 0.06), "omega": uncond * (1 - persistence), "alpha": alpha,
            "gamma": gamma, "beta": beta}


def simulate_asset(n_days: int, p: dict, rng) -> pd.DataFrame:
    """Daily OHLC of one asset: GJR-GARCH returns; each day's path a Brownian bridge from open to close."""
    h = p["omega"] / (1 - p["alpha"] - p["gamma"] / 2 - p["beta"])
    e_prev, r = 0.0, np.empty(n_days)
    var = np.empty(n_days)
    for t in range(n_days):
        if t:
            h = p["omega"] + (p["alpha"] + p["gamma"] * (e_prev < 0)) * e_prev ** 2 + p["beta"] * h
        var[t] = h
        e_prev = np.sqrt(h) * rng.standard_normal()
        r[t] = p["mu"] + e_prev
    x = r / 100.0                                           # log return of the day, open -> close
    steps = rng.standard_normal((n_days, STEPS)) * np.sqrt(var / 1e4 / STEPS)[:, None]
    walk = np.cumsum(steps, axis=1)
    frac = np.arange(1, STEPS + 1) / STEPS
    bridge = walk - frac[None, :] * (walk[:, -1:] - x[:, None])   # ends exactly at x
    close = 100.0 * np.exp(np.cumsum(x))
    opn = np.r_[100.0, close[:-1]]
    high = opn * np.exp(np.maximum(bridge.max(axis=1), 0.0))
    low = opn * np.exp(np.minimum(bridge.min(axis=1), 0.0))
    idx = pd.bdate_range("2010-01-04", periods=n_days, name="date")
    return pd.DataFrame({"open": opn, "high": high, "low": low, "close": close}, index=idx)


def universe(n_assets: int, n_days: int = N_DAYS, seed: int = 0) -> tuple:
    """``({name: Dataset}, {name: parameters})`` of ``n_assets`` simulated assets."""
    rng = np.random.default_rng(seed)
    datasets, params = {}, {}
    for i in range(n_assets):
        name = f"SIM{i:03d}"
        params[name] = gjr_params(rng)
        ds = build_dataset(simulate_asset(n_days, params[name], rng), target="r2")
        ds.source = name
        datasets[name] = ds
    return datasets, params


# ------------------------------------------------------------------------------------ measuring
def _models() -> tuple:
    from tinygrad_trade.vol.models import MODELS
    pooled = next((m for m in ("pooled", "pooled_har", "pooled_linear") if m in MODELS), None)
    return (("har", "gjr") + ((pooled,) if pooled else ())), pooled


def _noop(x):
    return x


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def measure(n_assets: int = 64, repeat: int = 3, sizes=(8, 16, 32, 64)) -> dict:
    import distributed

    from tinygrad_trade.vol.cluster import DaskExecutor
    from tinygrad_trade.vol.sweep import sweep

    models, pooled = _models()
    sizes = [s for s in sizes if s <= n_assets]
    data, _ = universe(max([n_assets] + sizes))
    big = dict(list(data.items())[:n_assets])
    run = dict(start=START, refit_every=REFIT_EVERY)
    out = {"models": models, "pooled": pooled, "n_assets": n_assets, "load_before": _load(), "repeat": repeat}
    t = time.perf_counter()
    here = sweep(big, models, **run)
    out["in_process"] = time.perf_counter() - t
    reference = here.metrics
    # seconds per asset and refit of each model, in-process (a pooled fit's time is shared by all assets)
    refits = len(next(iter(here.walks.values()))[next(iter(big))].blocks)
    per = {}
    for walks in here.walks.values():
        for wf in walks.values():
            for label, sec in wf.seconds.items():
                per.setdefault(label, []).append(sec)
    out["per_refit"] = {label: (secs[0] / len(big) if label == pooled else sum(secs) / len(big)) / refits
                        for label, secs in per.items()}
    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=logging.CRITICAL) as lc, \
                distributed.Client(lc, set_as_default=False) as client:
            ex = DaskExecutor(client)
            sweep(dict(list(big.items())[:2]), models, executor=ex, **run)          # warm-up: imports
            jobs = [Job(_noop, (i,)) for i in range(400)]
            out[f"noop_{workers}"] = _best(lambda: run_jobs(jobs, executor=ex), repeat) / len(jobs)
            got = {}
            out[f"sweep_{workers}"] = _best(lambda: got.update(r=sweep(big, models, executor=ex, **run)), repeat)
            pd.testing.assert_frame_equal(got["r"].metrics, reference, check_exact=True)   # same numbers
            if pooled:   # without the pooled model: one chain over every asset, the critical path on 2 workers
                light = tuple(mm for mm in models if mm != pooled)
                out[f"light_{workers}"] = _best(lambda: sweep(big, light, executor=ex, **run), repeat)
            if workers == 2:
                out["per_asset"] = {n: _best(lambda n=n: sweep(dict(list(data.items())[:n]), models, executor=ex,
                                                               **run), 1) / n for n in sizes}
    out["n_tasks"] = len(reference)
    out["load_after"] = _load()
    return out


def section(m: dict) -> str:
    t1, t2 = m["sweep_1"], m["sweep_2"]
    speed = t1 / t2
    lines = [
        f"A sweep of {m['n_assets']} simulated GJR-GARCH assets ({N_DAYS} days each, forecasts from day {START}, "
        f"refit every {REFIT_EVERY}: {(N_DAYS - START + REFIT_EVERY - 1) // REFIT_EVERY} refits per asset and "
        f"model) x {{{', '.join(m['models'])}}} on a `LocalCluster` of one-thread worker processes, every dataset "
        "scattered once. " + ("" if m["pooled"] else "This version has no pooled model yet: har and gjr only. ")
        + f"Best of {m['repeat']} runs on a warm cluster; the metrics of every run are checked equal, bit for bit, "
        "to the in-process sweep.",
        "",
        f"Machine: {machine()}. **Shared with other work while measured** (load average {m['load_before']} before, "
        f"{m['load_after']} after, on 2 cores): the speed-up below is a lower bound of what 2 idle cores give.",
        "",
        table(["run", "wall time", "speed vs Dask on 1 worker"], [
            ["in-process (no Dask, one run)", f"{m['in_process']:.2f} s", f"{t1 / m['in_process']:.2f}x"],
            ["Dask, 1 worker", f"{t1:.2f} s", "1.00x"],
            ["Dask, 2 workers", f"{t2:.2f} s", f"**{speed:.2f}x**"],
        ]),
        "",
        f"- Speed-up on 2 workers: {speed:.2f}x (goal 1.7x: {'met' if speed >= 1.7 else 'not met'} in this run); "
        f"scaling efficiency T1 / (2 T2) = {speed / 2:.0%}.",
        (f"- Without the pooled model (har and gjr: many short chains): {m['light_1']:.2f} s on 1 worker, "
         f"{m['light_2']:.2f} s on 2, a speed-up of {m['light_1'] / m['light_2']:.2f}x. The pooled model runs in two "
         "phases: one task per asset for its warm-started GJR fits (most of its cost), beside the other models' "
         "tasks, then its panel refits (Newton steps, about a quarter of its cost) as one chain in order, with "
         "those fits." if m.get("light_1")
         else ""),
        f"- Per-task overhead of the executor (an empty task's round trip, 400 at once): "
        f"{1e3 * m['noop_1']:.2f} ms on 1 worker, {1e3 * m['noop_2']:.2f} ms on 2; the sweep on 1 worker against "
        f"in-process: {t1 - m['in_process']:+.2f} s over {m['n_assets']} assets.",
        "",
        table(["model", "seconds per asset and refit (in-process)"],
              [[k, f"{1e3 * v:.1f} ms"] for k, v in m["per_refit"].items()]),
        "",
        table(["assets", "time per asset (2 workers, one run each)"],
              [[n, f"{1e3 * s:.0f} ms"] for n, s in m["per_asset"].items()]),
        "",
        "Rerun quietly (nothing else running) with `python benchmarks/bench_dask.py --write`.",
    ]
    return "\n".join(lines)


def run() -> str:
    """The section for benchmarks/run.py."""
    return section(measure())


def splice(page: str, body: str) -> str:
    """``page`` with its "## Scaling out on Dask" section replaced by (or appended as) ``body``."""
    block = f"## {TITLE}\n\n{body.strip()}\n"
    pat = re.compile(rf"^## {re.escape(TITLE)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(page):
        return pat.sub(lambda _: block + "\n", page).rstrip() + "\n"
    return page.rstrip() + "\n\n" + block


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assets", type=int, default=64, help="assets of the 1- vs 2-worker comparison (default 64)")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure, the best kept (default 3)")
    p.add_argument("--write", action="store_true", help="put the section into docs/benchmarks.md")
    args = p.parse_args(argv)
    body = section(measure(args.assets, args.repeat))
    print(f"## {TITLE}\n\n{body}")
    if args.write:
        path = ROOT / "docs" / "benchmarks.md"
        path.write_text(splice(path.read_text(encoding="utf-8"), body), encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
