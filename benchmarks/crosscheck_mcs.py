"""Cross-check of the Model Confidence Set (``vol.comparison.model_confidence_set``) against arch's ``MCS``.

arch is a peer here, never a dependency: without it this prints that it is skipped. Both run the Hansen,
Lunde and Nason (2011) procedure with a circular block bootstrap of the same block size, number of
replications and seed. Were the bootstrap draws different, MCS p-values would agree only up to bootstrap noise
(about sqrt(p (1 - p) / reps)); with arch 8.0 and the same seed they came out identical (both draw uniform block
starts from numpy's ``default_rng(seed)``), so any difference points at the statistic or the elimination.

Cases: synthetic losses with known ranking (equal best models, a slightly worse one, a clearly worse one, a
common shock) and the QLIKE losses of four classical forecasters on the embedded S&P 500, 2008-2018.

    python benchmarks/crosscheck_mcs.py
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from common import peer_version  # noqa: E402

from tinygrad_trade.vol.comparison import model_confidence_set  # noqa: E402

REPS = 2000
SIZE = 0.10


def _synthetic(n, gaps, seed):
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((n, 1))
    e = rng.standard_t(5, (n, len(gaps)))
    return 1.0 + np.array(gaps) + 0.6 * e + 0.6 * common, [f"m{i}" for i in range(len(gaps))]


def _sp500_qlike():
    from tinygrad_trade.vol.data import load_sp500
    from tinygrad_trade.vol.dataset import build_dataset
    from tinygrad_trade.vol.evaluation import qlike_loss
    from tinygrad_trade.vol.walkforward import ModelSpec, walk_forward

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = build_dataset(load_sp500())
    models = ["ewma", "har", "har_r2", ModelSpec("ewma", {"lam": 0.97}, label="ewma97")]
    wf = walk_forward(ds, models, start="2008-01-01")
    names = list(wf.forecasts)
    return np.column_stack([qlike_loss(wf.target, wf.forecasts[k]) for k in names]), names


def cases():
    yield "synthetic, 2 equal best of 5", *_synthetic(1500, (0.0, 0.0, 0.05, 0.2, 0.5), 1), 20
    yield "synthetic, 1 best of 4", *_synthetic(1000, (0.0, 0.15, 0.3, 0.3), 2), 10
    yield "synthetic, all equal (3)", *_synthetic(800, (0.0, 0.0, 0.0), 3), 15
    yield "S&P 500 QLIKE 2008-2018", *_sp500_qlike(), 50


def run() -> str:
    version = peer_version("arch")
    lines = ["Model Confidence Set at 10%: MCS p-values of `vol.comparison.model_confidence_set` next to "
             f"`arch.bootstrap.MCS` (circular block bootstrap, {REPS} replications each, same block size and "
             "seed; with different draws they would agree only up to bootstrap noise).", ""]
    if version is None:
        return "\n".join(lines + ["arch: not installed, skipped."])
    from arch.bootstrap import MCS

    lines += [f"arch {version}.", "", "| case | method | model | p (ours) | p (arch) | in set (ours / arch) |",
              "|---|---|---|---|---|---|"]
    worst = 0.0
    agree = True
    for title, losses, names, block in cases():
        for method in ("R", "max"):
            ours = model_confidence_set(losses, size=SIZE, reps=REPS, block_size=block, method=method, seed=0,
                                        names=names)
            theirs = MCS(losses, SIZE, reps=REPS, block_size=block, method=method, bootstrap="circular", seed=0)
            theirs.compute()
            p_arch = {names[int(i)]: float(v) for i, v in theirs.pvalues.iloc[:, 0].items()}
            in_arch = {names[int(i)] for i in theirs.included}
            for k in names:
                worst = max(worst, abs(ours["pvalues"][k] - p_arch[k]))
                same = (k in ours["included"]) == (k in in_arch)
                agree &= same
                lines.append(f"| {title} | {method} | {k} | {ours['pvalues'][k]:.3f} | {p_arch[k]:.3f} | "
                             f"{'yes' if k in ours['included'] else 'no'} / {'yes' if k in in_arch else 'no'} |")
    lines += ["", f"Largest p-value difference {worst:.3f}; the 10% sets {'agree' if agree else 'DIFFER'} "
              "in every case."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
