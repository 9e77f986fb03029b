"""The GRU forecaster's walk-forward as the demo runs it: the embedded S&P 500, forecasts from 2008, a warm refit
every 21 days, the default GRU (3 members, 8 units, lookback 15), one process.

    python benchmarks/bench_gru.py                    # the full walk-forward (132 fits; 15-60 s)
    python benchmarks/bench_gru.py --fits 20          # the first 20 fits only
    python benchmarks/bench_gru.py --profile out.prof # cProfile of the run (view with python -m pstats)

Prints the wall time, the epochs trained, and a fingerprint of the forecasts (their sum and a SHA-256 of their
bytes) so that a change meant to be bit-identical can be verified by running the script before and after it
(``PYTHONPATH`` set to the two checkouts; it takes precedence over this checkout). The CPU time (this
process's) is the figure to compare on a shared machine; wall time is printed too. Figures: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))   # after PYTHONPATH: a checkout named there is the one timed

from tinygrad_trade.vol import data as vdata  # noqa: E402
from tinygrad_trade.vol.dataset import build_dataset  # noqa: E402
from tinygrad_trade.vol.walkforward import ModelSpec, first_index, walk_forward  # noqa: E402

START, REFIT_EVERY = "2008-01-01", 21


def run(fits=None, seed=0):
    """(seconds, forecasts, histories) of the GRU walk-forward (the first ``fits`` blocks only, if given)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = vdata.load_sp500()
    ds = build_dataset(df, target="r2", horizon=1)
    first = first_index(ds, START)
    stop = None if fits is None else min(first + fits * REFIT_EVERY, len(ds))
    spec = ModelSpec("gru", {"seed": seed, "progress": False})
    t, c = time.perf_counter(), time.process_time()
    wf = walk_forward(ds, [spec], start=first, stop=stop, refit_every=REFIT_EVERY, seed=seed)
    return (time.perf_counter() - t, time.process_time() - c), wf.forecasts["gru"], wf.histories["gru"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fits", type=int, default=None, help="only the first N fits (default: all)")
    ap.add_argument("--profile", default=None, help="write a cProfile of the run to this file")
    a = ap.parse_args(argv)
    if a.profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    (seconds, cpu), f, hist = run(a.fits)
    if a.profile:
        prof.disable()
        prof.dump_stats(a.profile)
    epochs = sum(len(h["train"]) for h in hist)
    digest = hashlib.sha256(np.ascontiguousarray(f, dtype=np.float64).tobytes()).hexdigest()[:16]
    import tinygrad_trade
    print(f"tinygrad_trade from {Path(tinygrad_trade.__file__).parent}")
    print(f"gru walk-forward: {len(hist)} fits, {epochs} epochs, wall {seconds:.2f} s, CPU {cpu:.2f} s "
          f"({1e3 * cpu / max(epochs, 1):.2f} ms CPU per epoch)")
    print(f"forecasts: {f.size} days, sum {f.sum():.12g}, sha256 {digest}")


if __name__ == "__main__":
    main()
