"""Sweeps: every asset x model x seed of a universe in one submission, as a tidy table.

    from tinygrad_trade.vol.sweep import sweep
    from tinygrad_trade.vol.cluster import open_executor
    with open_executor("local", workers=4) as ex:
        table, forecasts = sweep({"AAPL": ds1, "IBM": ds2}, ["har", "gjr", "mlp"], seeds=range(5), executor=ex)
    table.groupby("model").qlike.mean()

A sweep is :func:`~tinygrad_trade.vol.universe.run_universe` over several seeds at once: the same plan and
tasks (:func:`~tinygrad_trade.vol.universe.plan_universe`, :func:`~tinygrad_trade.vol.universe.universe_tasks`),
no walk-forward of its own. What it adds:

- every (asset, model, seed, block of refits) task of every seed goes to the executor at once, so a long
  warm-started net's chain (one task, its refits in order) runs beside the many short ones instead of after them;
- a model without randomness (ewma, garch, gjr, har, har_r2, the pooled linear model, or any model whose class
  sets ``seed_free = True``) runs once, and its rows repeat under every seed (``seeded`` is False there);
- on a Dask cluster (an executor with ``scatter``, see :mod:`.cluster`) each dataset is sent to the cluster
  once, and tasks carry a reference to it instead of a copy;
- one progress bar in this process, weighted by model cost (:func:`~tinygrad_trade.vol.walkforward.run_jobs`).

A model that takes a ``seed`` option (the nets) gets ``seed=s`` for seed ``s``; every task also seeds the global
generators from ``(s, model, block)``. Results are bit-identical whatever runs them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

import numpy as np
import pandas as pd

from ..features.dataset import Dataset
from ..evaluation.losses import evaluate
from .universe import collect_results, plan_universe, task_job, universe_tasks
from .tasks import (Job, ModelSpec, WalkForwardError, as_spec, asset_name, one_line, portable_spec, run_jobs,
                          task_cost)

__all__ = ["sweep", "SweepResult", "SEED_FREE", "MANY_CHAINS", "is_seed_free", "seeded_spec"]

MANY_CHAINS = 32       # from this many (asset, model, seed) chains on, a task is a whole chain
SEED_FREE = ("ewma", "garch", "gjr", "har", "har_r2", "pooled", "pooled_har", "pooled_linear")


def is_seed_free(spec: ModelSpec) -> bool:
    """A model whose forecasts do not depend on the seed: a name in :data:`SEED_FREE` (the pooled model
    without its residual net) or a class with ``seed_free = True``."""
    if spec.factory is None and spec.name in SEED_FREE:
        # the pooled model is linear (seed-free) unless asked for its residual net (``hidden`` > 0)
        return not (spec.name.startswith("pooled") and int(spec.options.get("hidden", 0) or 0) > 0)
    return bool(getattr(spec.build(), "seed_free", False))


def seeded_spec(spec: ModelSpec, seed: int) -> ModelSpec:
    """``spec`` with ``seed=seed`` among its options when the model takes that option (the nets)."""
    if "seed" in spec.options:
        return spec
    with_seed = dataclasses.replace(spec, options={**dict(spec.options), "seed": int(seed)})
    try:
        with_seed.build()
    except TypeError:        # the model has no seed option: the seeded global generators are its randomness
        return spec
    return with_seed


@dataclass
class SweepResult:
    """``metrics``: one row per (asset, model, seed) with every metric; ``forecasts``: ``(asset, model, seed) ->
    pd.Series`` of forecasts indexed by date; ``walks``: ``seed -> {asset: WalkForwardResult}`` (key ``None``:
    the seed-free models, run once). Unpacks as ``table, forecasts = sweep(...)``."""

    metrics: pd.DataFrame
    forecasts: dict
    walks: dict
    order: list = dataclasses.field(default_factory=list)     # the model labels, in the caller's order

    def __iter__(self):
        return iter((self.metrics, self.forecasts))

    def by_asset(self, seed: int) -> dict:
        """``{asset: WalkForwardResult}`` of one seed with every model (the seed-free ones included), in the
        models' order: what :func:`~tinygrad_trade.vol.universe.run_universe` with that seed returns."""
        parts = [self.walks[k] for k in (None, seed) if k in self.walks]
        if seed not in self.walks and any(k is not None for k in self.walks):
            raise KeyError(f"seed {seed} was not swept (seeds: {sorted(k for k in self.walks if k is not None)})")
        out = {}
        for asset in dict.fromkeys(a for p in parts for a in p):
            walks = [p[asset] for p in parts if asset in p]
            out[asset] = walks[0] if len(walks) == 1 else _merge(walks, self.order)
        return out


def _merge(walks, order):
    """One WalkForwardResult from several of the same asset and days (different models)."""
    first = walks[0]
    rank = {label: i for i, label in enumerate(order)}

    def joined(field):
        d = {}
        for w in walks:
            d.update(getattr(w, field))
        return {k: d[k] for k in sorted(d, key=lambda k: rank.get(k, len(rank)))}
    config = dict(first.config)
    for w in walks[1:]:
        for key, value in w.config.items():
            if isinstance(value, list) and key in config and value != config[key]:
                config[key] = config[key] + [v for v in value if v not in config[key]]
    config["models"] = sorted(config.get("models", []), key=lambda m: rank.get(m["label"], len(rank)))
    return dataclasses.replace(first, forecasts=joined("forecasts"), histories=joined("histories"),
                               seconds=joined("seconds"), floor_hits=joined("floor_hits"), config=config)


def _run_task_on(task, datasets, about: str):
    """A universe task with its datasets given apart (Dask resolves scattered futures in them). Its
    error is one line naming the sweep's asset (not the dataset's file), model and blocks."""
    try:
        return dataclasses.replace(task, datasets=datasets)()
    except WalkForwardError as exc:
        text = str(exc)
        if task.asset is not None:
            own = asset_name(datasets[task.asset]) + ": "
            text = f"{task.asset}: {text[len(own):]}" if text.startswith(own) else f"{task.asset}: {text}"
        raise WalkForwardError(text) from None
    except Exception as exc:   # a pooled fit's own error
        raise WalkForwardError(f"{about}: {one_line(exc)}") from None


def _job(task, refs, n_assets: int) -> Job:
    blocks = task.blocks
    ks = [b[0] for b in blocks]
    where = f"block {ks[0]}" if len(ks) == 1 else f"blocks {ks[0]}-{ks[-1]}"
    who = task.asset if task.asset is not None else "all assets"
    cost = task_cost(task.spec, len(blocks)) * (n_assets if task.asset is None else 1)
    if task.phase:         # a split pooled model: its per-asset GJR fits are about 3/4 of its cost
        cost *= 0.75 if task.phase == 1 else 0.25
    data = {n: (refs[n] if refs is not None else ds) for n, ds in task.datasets.items()}
    about = f"{who}: model {task.label!r}, {where}"
    return task_job(task, _run_task_on, (dataclasses.replace(task, datasets={}), data, about), cost, about)


def _model_watch(datasets, tasks, on_model: Callable):
    """``run_jobs``'s ``on_result``: calls ``on_model(key, label, walks)`` once every task of a model in a run
    is done, with that model's walks (``collect_results`` of a plan holding that model only)."""
    jobs = [(r, t) for r, (_, _, ts) in enumerate(tasks) for t in ts]     # job i runs task jobs[i][1]
    left = {}
    for i, (r, t) in enumerate(jobs):
        left.setdefault((r, t.label), []).append(i)
    got = {}

    def on_result(i, result):
        r, task = jobs[i]
        got[i] = result
        mine = left[(r, task.label)]
        if not all(j in got for j in mine):
            return
        key, plan, _ = tasks[r]
        part = dataclasses.replace(plan, specs=[s for s in plan.specs if s.key == task.label])
        on_model(key, task.label, collect_results(datasets, part, [jobs[j][1] for j in mine],
                                                  [got.pop(j) for j in mine]))
    return on_result


def _rows(walks: Mapping[str, object], seed, seeded: bool, assets) -> tuple:
    rows, forecasts = [], {}
    for asset in assets:
        wf = walks.get(asset)
        if wf is None:
            continue
        scores = evaluate(wf.target, wf.forecasts)
        for label, m in scores.items():
            mz = m.get("mz") or {}
            row = {"asset": asset, "model": label, "seed": seed, "seeded": seeded,
                   "first_forecast": str(wf.dates[0]), "last_forecast": str(wf.dates[-1]),
                   "n": m["n"], "qlike": m["qlike"], "mse": m["mse"], "mae": m["mae"]}
            row.update({f"mz_{k}": v for k, v in mz.items() if np.ndim(v) == 0})
            rows.append(row)
            forecasts[(asset, label, seed)] = pd.Series(wf.forecasts[label], index=pd.DatetimeIndex(wf.dates),
                                                        name=label)
    return rows, forecasts


def sweep(datasets: Mapping[str, Dataset], models, seeds=(0,), executor=None, start=None, stop=None,
          refit_every: int = 21, window=None, progress: bool = False, chunk: Optional[int] = None,
          assets_of: Optional[Mapping] = None, on_model: Optional[Callable] = None,
          meanwhile: Optional[Callable[[], None]] = None) -> SweepResult:
    """Walk-forward of every model on every asset for every seed; see the module docstring.

    ``datasets``: asset name -> Dataset. ``models``: names, ``(name, options)`` pairs, import paths
    ``"package.module:Class"`` or :class:`ModelSpec` s (labels unique). ``seeds``: the seeds of the seeded
    models. ``start``/``stop``/``refit_every``/``window``: as :func:`~tinygrad_trade.vol.universe.run_universe`
    (``start`` may map asset -> start). ``executor``: ``None`` (this process) or any
    ``concurrent.futures.Executor``. ``chunk``: blocks per task for models that do not warm start (default: all of
    them, except on an executor with fewer than :data:`MANY_CHAINS` asset x model x seed chains: about four tasks
    per chain); it never changes a result. ``assets_of``: model label -> the assets it runs on (as
    ``run_universe``). ``on_model(key, label, walks)``, called in this process as soon as every task of one
    model of one run is done (``key``: the seed, None for the seed-free models; ``walks``: ``{asset:
    WalkForwardResult}`` holding that model alone), lets the caller work on a model's results while the others
    run; ``meanwhile()``: work of the caller done once while the tasks run (see
    :func:`~tinygrad_trade.vol.runs.tasks.run_jobs`). Neither changes a result.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("sweep needs at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    specs = [as_spec(m) for m in models]
    if executor is not None:
        specs = [portable_spec(s) for s in specs]
    free = [s for s in specs if is_seed_free(s)]
    seeded = [s for s in specs if not is_seed_free(s)]
    common = dict(start=start, stop=stop, refit_every=refit_every, window=window)
    if assets_of:
        common["assets_of"] = assets_of
    runs = []   # (seed key, plan): key None for the seed-free models
    if free:
        runs.append((None, plan_universe(datasets, free, seed=seeds[0], **common)))
    for s in seeds if seeded else ():
        runs.append((s, plan_universe(datasets, [seeded_spec(m, s) for m in seeded], seed=s, **common)))
    n_chains = len(datasets) * (len(free) + len(seeded) * len(seeds))
    if chunk is None and executor is not None and n_chains < MANY_CHAINS:
        # few (asset, model, seed) chains: split each into ~4 tasks so that the workers have work; with many,
        # the chains themselves are the parallelism and whole chains keep the per-task overhead down
        plan = runs[0][1]
        longest = max([len(b) for b in plan.blocks.values()] + [len(plan.calendar)])
        chunk = max(1, -(-longest // 4))
    refs = None
    scatter = getattr(executor, "scatter", None)
    if scatter is not None:
        refs = scatter(dict(datasets))     # one round trip; each dataset crosses the network once
    tasks = [(key, plan, universe_tasks(datasets, plan, chunk)) for key, plan in runs]
    jobs = []
    for _, _, ts in tasks:
        # a split pooled model's phase 2 waits for its phase-1 tasks: indices into its own run's list, shifted
        # past the jobs of the runs before it (a seeded pooled net runs after the seed-free models)
        off = len(jobs)
        jobs.extend(_job(dataclasses.replace(t, needs=tuple(i + off for i in t.needs)) if t.needs else t, refs,
                         len(datasets)) for t in ts)
    results = run_jobs(jobs, executor=executor, progress=progress, desc="sweep", meanwhile=meanwhile,
                       on_result=None if on_model is None else _model_watch(datasets, tasks, on_model))

    rows, forecasts, walks, i = [], {}, {}, 0
    for key, plan, ts in tasks:
        part = results[i:i + len(ts)]
        i += len(ts)
        walks[key] = collect_results(datasets, plan, ts, part)
    assets = list(runs[0][1].spans)
    for key, plan, _ in tasks:
        for s in ([key] if key is not None else seeds):
            r, f = _rows(walks[key], s, key is not None, assets)
            rows.extend(r)
            forecasts.update(f)
    order = {a: i for i, a in enumerate(assets)}
    labels = {s.key: i for i, s in enumerate(specs)}
    table = pd.DataFrame(rows)
    if not table.empty:
        table = (table.assign(_a=table.asset.map(order), _m=table.model.map(labels))
                 .sort_values(["_a", "_m", "seed"], kind="stable").drop(columns=["_a", "_m"])
                 .reset_index(drop=True))
    return SweepResult(metrics=table, forecasts=forecasts, walks=walks, order=list(labels))

