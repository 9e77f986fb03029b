"""The GRU forecaster's walk-forward as the demo runs it: the embedded S&P 500, forecasts from 2008, a warm refit
every 21 days, the default GRU (3 members, 8 units, lookback 15), one process.

    python benchmarks/bench_gru.py                    # the full walk-forward (132 fits; 15-60 s)
    python benchmarks/bench_gru.py --fits 20          # the first 20 fits only
    python benchmarks/bench_gru.py --seed 1           # another seed (the default is the demo's, 0)
    python benchmarks/bench_gru.py --profile out.prof # cProfile of the run (view with python -m pstats)
    python benchmarks/bench_gru.py --op --before TREE # the fused op alone, TREE's (an older checkout) and this one's

Prints the wall time, the epochs trained, the forecasts' QLIKE against the target (as the demo scores them) and
a fingerprint of the forecasts (their sum and a SHA-256 of their bytes), so that two versions can be compared by
running the script with ``PYTHONPATH`` set to each checkout (it takes precedence over this checkout). The CPU time
(this process's) is the figure to compare on a shared machine; wall time is printed too.

``--op`` times the fused op ``GRUSequence`` alone at the demo's sizes (a training epoch, forward and backward,
over 2,785 rows, the walk-forward's mean, and a forward without recording over 655 validation rows), this tree's
and TREE's interleaved, the best of 5 rounds each. Figures: docs/benchmarks.md ("GRU training").
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
    ap.add_argument("--seed", type=int, default=0, help="the GRU's seed (default 0, the demo's)")
    ap.add_argument("--op", action="store_true", help="time the fused op alone (with --before: against TREE's)")
    ap.add_argument("--before", default=None, metavar="TREE", help="an older checkout, for --op")
    a = ap.parse_args(argv)
    if a.op:
        return op_times(a.before)
    if a.profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    (seconds, cpu), f, hist = run(a.fits, a.seed)
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
    from tinygrad_trade.vol.evaluation.losses import qlike
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = build_dataset(vdata.load_sp500(), target="r2", horizon=1)
    first = first_index(ds, START)
    print(f"QLIKE of the forecasts: {qlike(np.asarray(ds.target)[first:first + f.size], f):.4f}")


def _op_class(tree):
    """GRUSequence from ``tree``'s vol/models/gru_op.py (this tree's when None), loaded on its own."""
    path = Path(tree or HERE.parent) / "tinygrad_trade" / "vol" / "models" / "gru_op.py"
    src = path.read_text().replace("from ...", "from tinygrad_trade.")
    ns = {"__name__": f"gru_op_{abs(hash(str(path)))}"}
    exec(compile(src, str(path), "exec"), ns)
    return ns["GRUSequence"]


def op_times(before=None, rounds=5):
    """Print the fused op's time per training epoch and per validation forward, this tree's and ``before``'s."""
    from tinygrad_trade.graph import no_grad
    from tinygrad_trade.tensor import Tensor
    from tinygrad_trade.vol.models.runtime import lean_runtime
    rng = np.random.default_rng(0)
    L, D, K, H, f32 = 15, 6, 3, 8, np.float32
    ops = [("now", _op_class(None))] + ([("before", _op_class(before))] if before else [])
    for B in (2785, 655):
        days = rng.standard_normal((B + L - 1, D))
        windows = Tensor(np.stack([days[b:b + L] for b in range(B)]), dtype=f32)
        ps = [Tensor(rng.uniform(-0.3, 0.3, s), requires_grad=True, dtype=f32)
              for s in ((K, D, 3 * H), (K, H, 3 * H), (K, 1, 3 * H), (K, 1, 3 * H))]
        best = {}
        with lean_runtime():
            for _ in range(rounds):
                for name, op in ops:
                    # the days form where the op has it (the forecaster's), else the windows
                    takes_days = hasattr(op, "_days")
                    x, kw = (Tensor(days, dtype=f32), {"lookback": L}) if takes_days else (windows, {})
                    for _ in range(3):
                        op.apply(x, *ps, **kw).sum().backward()
                    t0 = time.perf_counter()
                    for _ in range(50):
                        op.apply(x, *ps, **kw).sum().backward()
                    t1 = time.perf_counter()
                    with no_grad():
                        for _ in range(50):
                            op.apply(x, *ps, **kw)
                    t2 = time.perf_counter()
                    old = best.get(name, (np.inf, np.inf))
                    best[name] = (min(old[0], (t1 - t0) * 20), min(old[1], (t2 - t1) * 20))
        line = f"{B} rows: " + ", ".join(f"{n} epoch {t[0]:.2f} ms, forward {t[1]:.2f} ms" for n, t in best.items())
        if before:
            line += (f"; {best['before'][0] / best['now'][0]:.2f}x and {best['before'][1] / best['now'][1]:.2f}x "
                     f"faster")
        print(line)


if __name__ == "__main__":
    main()
