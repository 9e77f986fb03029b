"""Comparing forecasters across a universe of assets: panel Diebold-Mariano, Model Confidence Set, summary.

* :func:`panel_dm` -- the QLIKE loss differential of two models averaged across assets day by day (each day
  over the assets that trade on it), tested with Newey-West standard errors like the per-asset DM test.
  QLIKE differences are scale-free (``y/f`` and ``ln f - ln f'`` do not change when an asset's variance is
  multiplied by a constant), so assets of different volatility can be averaged.
* :func:`model_confidence_set` -- the Model Confidence Set of Hansen, Lunde and Nason (2011): the set of models
  that contains the best one (lowest expected loss) with probability ``1 - size``. Models are eliminated one
  at a time by the range statistic ``T_R`` (or ``T_max``), each step's p-value from a seeded circular block
  bootstrap of the mean losses; a model's MCS p-value is the largest p-value up to its elimination.
* :func:`universe_summary` -- what ``metrics.json["summary"]`` holds for a run of several assets.

Plain numpy. The MCS is cross-checked against ``arch.bootstrap.MCS`` in ``benchmarks/crosscheck_mcs.py``.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

import numpy as np

from .losses import _normal_two_sided_pvalue, newey_west_variance

__all__ = ["model_confidence_set", "panel_dm", "universe_summary", "CLASSICAL", "MCS_SIZE"]

CLASSICAL = ("ewma", "garch", "gjr", "har")     # the baselines of "best classical model"
MCS_SIZE = 0.10


# ------------------------------------------------------------------------------------ bootstrap
def _block_means(losses: np.ndarray, block_size: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``reps`` circular block bootstrap resamples of the rows of ``losses``: shape (reps, m).

    Each resample joins ``ceil(n / block_size)`` blocks of consecutive rows (wrapping around the end) with
    uniformly drawn starts and keeps the first ``n`` rows.
    """
    n, m = losses.shape
    b = int(block_size)
    k = -(-n // b)
    tail = n - (k - 1) * b                                  # length of the last, possibly cut, block
    ext = np.concatenate([losses, losses[:b]], axis=0)      # circular
    cs = np.concatenate([np.zeros((1, m)), np.cumsum(ext, axis=0)], axis=0)
    starts = rng.integers(0, n, size=(reps, k))
    full = (cs[starts[:, :-1] + b] - cs[starts[:, :-1]]).sum(axis=1) if k > 1 else np.zeros((reps, m))
    last = cs[starts[:, -1] + tail] - cs[starts[:, -1]]
    return (full + last) / n


def model_confidence_set(losses, size: float = MCS_SIZE, reps: int = 1000, block_size: Optional[int] = None,
                         method: str = "R", seed: int = 0, names: Optional[Sequence[str]] = None) -> dict:
    """Model Confidence Set of Hansen, Lunde and Nason (2011) for a (T, m) array of losses (lower is better).

    ``method``: ``"R"`` (range statistic: the largest standardised pairwise mean loss difference; the model
    eliminated is the one with the largest standardised loss against the others) or ``"max"`` (each model's
    standardised mean loss against the average of the set). Variances come from the same bootstrap.
    ``block_size`` defaults to ``round(sqrt(T))``. Returns ``{"included": [names], "excluded": [names in
    elimination order], "pvalues": {name: MCS p-value}, "size", "reps", "block_size", "method", "seed"}``;
    a model is included when its MCS p-value is at least ``size``.
    """
    L = np.asarray(losses, dtype=float)
    if L.ndim != 2 or L.shape[0] < 2 or L.shape[1] < 1:
        raise ValueError(f"model_confidence_set: losses must be a (T >= 2, m >= 1) array, got shape {L.shape}")
    if not np.all(np.isfinite(L)):
        raise ValueError("model_confidence_set: losses must be finite")
    if not 0.0 < float(size) < 1.0:
        raise ValueError(f"model_confidence_set: size must be in (0, 1), got {size!r}")
    if method not in ("R", "max"):
        raise ValueError(f"model_confidence_set: method must be 'R' or 'max', got {method!r}")
    n, m = L.shape
    names = [str(x) for x in (names if names is not None else range(m))]
    if len(names) != m:
        raise ValueError(f"model_confidence_set: {len(names)} names for {m} models")
    block = int(block_size) if block_size is not None else max(1, int(round(math.sqrt(n))))
    if not 1 <= block <= n:
        raise ValueError(f"model_confidence_set: block_size must be in 1..{n}, got {block_size!r}")
    mean = L.mean(axis=0)
    boot = _block_means(L, block, int(reps), np.random.default_rng(seed))   # (reps, m)
    alive = list(range(m))
    pvals = {}
    excluded = []
    running = 0.0
    while len(alive) > 1:
        idx = np.array(alive)
        mu, bs = mean[idx], boot[:, idx]
        if method == "R":
            d = mu[:, None] - mu[None, :]                          # d_ij
            db = bs[:, :, None] - bs[:, None, :] - d               # centred bootstrap differences
            var = (db ** 2).mean(axis=0)
            np.fill_diagonal(var, 1.0)
            sd = np.sqrt(np.where(var > 0, var, np.inf))
            t = d / sd
            stat = float(np.abs(t).max())
            boot_stat = np.abs(db / sd).reshape(len(bs), -1).max(axis=1)
            worst = int(np.argmax(t.max(axis=1)))
        else:
            d = mu - mu.mean()
            db = (bs - bs.mean(axis=1, keepdims=True)) - d
            var = (db ** 2).mean(axis=0)
            sd = np.sqrt(np.where(var > 0, var, np.inf))
            t = d / sd
            stat = float(t.max())
            boot_stat = (db / sd).max(axis=1)
            worst = int(np.argmax(t))
        p = float(np.mean(boot_stat >= stat))
        running = max(running, p)
        out = alive.pop(worst)
        pvals[names[out]] = running
        excluded.append(names[out])
    pvals[names[alive[0]]] = 1.0
    included = [names[i] for i in range(m) if pvals[names[i]] >= size]
    return {"included": included, "excluded": [x for x in excluded if pvals[x] < size],
            "pvalues": {names[i]: pvals[names[i]] for i in range(m)}, "elimination_order": excluded,
            "size": float(size), "reps": int(reps), "block_size": block, "method": method, "seed": int(seed)}


# ------------------------------------------------------------------------------------ panel DM
def panel_dm(dates: Mapping[str, np.ndarray], diffs: Mapping[str, np.ndarray], lags: int = 5) -> dict:
    """Diebold-Mariano test on the loss differential averaged across assets.

    ``diffs[asset]`` is the per-day loss difference (model minus benchmark) on ``dates[asset]``. Day by day the
    differences of the assets that have that day are averaged; the statistic is the mean of that series over
    its Newey-West standard error (``lags``), with a two-sided normal p-value. A negative statistic means the
    model has the lower loss. Returns ``{"stat", "pvalue", "mean_diff", "n", "assets"}``.
    """
    names = [k for k in diffs if np.asarray(diffs[k]).size]
    if not names:
        raise ValueError("panel_dm: no asset has a loss differential")
    all_days = np.unique(np.concatenate([np.asarray(dates[k]).astype("datetime64[D]") for k in names]))
    total = np.zeros(all_days.size)
    count = np.zeros(all_days.size)
    for k in names:
        d = np.asarray(diffs[k], dtype=float)
        pos = np.searchsorted(all_days, np.asarray(dates[k]).astype("datetime64[D]"))
        np.add.at(total, pos, d)
        np.add.at(count, pos, 1.0)
    avg = total / count
    n = avg.size
    if n < 2:
        raise ValueError("panel_dm: need at least 2 days")
    mean_diff = float(avg.mean())
    lrv = newey_west_variance(avg, lags)
    if lrv > 0:
        stat = mean_diff / math.sqrt(lrv / n)
    else:
        stat = 0.0 if mean_diff == 0 else math.copysign(math.inf, mean_diff)
    return {"stat": float(stat), "pvalue": _normal_two_sided_pvalue(stat), "mean_diff": mean_diff, "n": int(n),
            "assets": len(names)}


# ------------------------------------------------------------------------------------ summary
def _qlike_losses(y, f) -> np.ndarray:
    y, f = np.asarray(y, dtype=float), np.asarray(f, dtype=float)
    return y / f + np.log(f)


def universe_summary(walks: Mapping, asset_metrics: Mapping, benchmark: str = "har", classical=CLASSICAL,
                     dm_lags: int = 5, mcs_size: float = MCS_SIZE, mcs_reps: int = 1000, seed: int = 0) -> dict:
    """Cross-asset comparison of the models of a universe run (``metrics.json["summary"]``).

    ``walks[asset]``: the asset's WalkForwardResult; ``asset_metrics[asset]``: its single-asset metrics object
    (``["models"][name]["qlike"]``). Returns::

        assets, models
        qlike_ratio_to_har[model]            mean over assets of QLIKE_model / QLIKE_har (below 1: better)
                                             (``qlike_ratio_to_benchmark`` when ``benchmark`` is not har)
        qlike_ratio_to_best_classical[model] mean over assets of QLIKE_model / min QLIKE of ewma, garch, gjr, har
        best_classical[asset]                the classical model with the lowest QLIKE on that asset
        wins[model]                          assets on which the model has the lowest QLIKE
        panel_dm_vs_har[model]               panel_dm of the QLIKE differential against har
                                             (``panel_dm_vs_benchmark`` when ``benchmark`` is not har)
        mcs[asset]                           model_confidence_set of the QLIKE losses at ``mcs_size``

    A ratio is the mean of per-asset ratios, so every asset counts equally whatever its volatility. A model run
    on some assets only is compared on those (``assets_per_model``).
    """
    assets = list(walks)
    models = list(dict.fromkeys(m for w in walks.values() for m in w.forecasts))
    q = {a: {m: asset_metrics[a]["models"][m]["qlike"] for m in walks[a].forecasts} for a in assets}
    out = {"assets": assets, "models": models, "benchmark": benchmark,
           "assets_per_model": {m: sum(m in q[a] for a in assets) for m in models}}

    def mean_ratio(m, ref):
        vals = [q[a][m] / q[a][ref[a]] for a in assets if m in q[a] and ref.get(a) in q[a]]
        return float(np.mean(vals)) if vals else float("nan")

    key = "har" if benchmark == "har" else "benchmark"     # the keys say har only when it is har
    if any(benchmark in q[a] for a in assets):
        out[f"qlike_ratio_to_{key}"] = {m: mean_ratio(m, {a: benchmark for a in assets}) for m in models}
    best = {a: min((m for m in classical if m in q[a]), key=lambda m: q[a][m]) for a in assets
            if any(m in q[a] for m in classical)}
    if best:
        out["best_classical"] = best
        out["qlike_ratio_to_best_classical"] = {m: mean_ratio(m, best) for m in models}
    wins = {m: 0 for m in models}
    for a in assets:
        wins[min(q[a], key=lambda m: q[a][m])] += 1
    out["wins"] = wins
    dm = {}
    for m in models:
        both = [a for a in assets if m in q[a] and benchmark in q[a]]
        if m == benchmark or not both:
            continue
        w = {a: walks[a] for a in both}
        diffs = {a: _qlike_losses(w[a].target, w[a].forecasts[m]) - _qlike_losses(w[a].target, w[a].forecasts[benchmark])
                 for a in both}
        dm[m] = panel_dm({a: w[a].dates for a in both}, diffs, lags=dm_lags)
    if dm:
        out[f"panel_dm_vs_{key}"] = dm
    out["mcs"] = {a: model_confidence_set(np.column_stack([_qlike_losses(w.target, f) for f in w.forecasts.values()]),
                                          size=mcs_size, reps=mcs_reps, seed=seed, names=list(w.forecasts))
                  for a, w in walks.items()}
    return out
