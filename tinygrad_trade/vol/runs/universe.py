"""Walk-forward evaluation over a universe of assets, with models that may pool their training across assets.

    from tinygrad_trade.vol.universe import run_universe
    results = run_universe({"AAPL": ds_aapl, "IBM": ds_ibm}, ["garch", "har", "pooled"], start="2008-01-01")
    results["AAPL"].forecasts["har"]          # a WalkForwardResult per asset

Per-asset models (every ordinary :class:`~tinygrad_trade.vol.base.Forecaster`) follow the single-asset protocol
of :mod:`~tinygrad_trade.vol.walkforward` on each asset's own days: blocks of ``refit_every`` of the asset's
forecast days, each fit on the targets known before the block.

Pooled models (a Forecaster whose class has ``pooled = True``) are trained on the rows of every asset together
and evaluated per asset. They provide::

    model.fit_panel(panel)            # panel = [(asset, ds, end, begin), ...], one entry per asset
    model.predict_asset(asset, ds, start, stop) -> np.ndarray   # like predict, for one asset of the panel

and must fit each asset only on its rows ``begin <= t < ds.last_known(end)``. Their refit dates are calendar
blocks: ``U`` is the sorted union of every asset's forecast dates; ``D_k = U[k * refit_every]``; block ``k``
forecasts the days with ``D_k <= date < D_{k+1}``, and each asset's ``end`` is its first day index with a date
``>= D_k`` (so no asset's fit sees a target known on or after ``D_k``). With one asset ``U`` is that asset's
forecast days and the schedule is exactly the single-asset one. An asset with no forecast days (its data ends
before the start) still lends its rows to pooled fits and gets no result.

Parallelism: :func:`universe_tasks` turns a run into picklable :class:`UniverseTask` s (asset x model x
block-chunk for per-asset models, built on :func:`~tinygrad_trade.vol.walkforward.run_task`; model x
block-chunk for pooled ones). Each task is a callable object; :func:`run_universe` submits them all at once to
any ``concurrent.futures.Executor`` and :func:`collect_results` assembles them. Seeds depend on
``(seed, model label, block)`` only, so results do not depend on the executor or the number of workers.

A warm-started pooled model whose per-asset work can run apart (it has ``fit_asset_chain``; the pooled model's
per-asset GJR fits, most of its cost) runs in two phases, in-process as on an executor:

1. one task per asset: ``model.fit_asset_chain(ds, [(end, begin) per calendar block])``, the chain of per-asset
   fits the panel fits would make (a fresh model, so the same fits in the same order), submitted with every other
   model's tasks;
2. when all of them are done, the pooled chain (one task, blocks in order) with those fits injected:
   ``model.fit_panel(panel, asset_fits={asset: fit of this block})``.

Phase 2 waits for phase 1 through :class:`~tinygrad_trade.vol.walkforward.Job` ``after`` (a plain submit once
the results are in), so any executor works.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from ..features.dataset import Dataset
from .tasks import (Job, ModelSpec, WalkForwardError, WalkForwardResult, _check_forecast, _fit_begin,
                          _history_of, as_spec, portable_spec, task_cost, task_rng, describe_task, first_index,
                          floor_forecast, forecast_stop, make_blocks, one_blas_thread, run_jobs, run_task)

__all__ = ["UniversePlan", "UniverseTask", "plan_universe", "universe_tasks", "collect_results",
           "run_universe", "is_pooled", "calendar_blocks", "with_fits", "bind_fits", "task_job"]


def is_pooled(model) -> bool:
    """True for a model (or a :class:`ModelSpec`) whose class declares ``pooled = True``."""
    if isinstance(model, ModelSpec):
        model = model.build()
    return bool(getattr(type(model), "pooled", False))


def _is_sequential(model) -> bool:
    return bool(getattr(model, "warm_start", False))


# ------------------------------------------------------------------------------------ the plan
@dataclass
class UniversePlan:
    """Where every asset is forecast and when each kind of model is refit (day indices per asset)."""

    specs: list                        # ModelSpec per model, in the caller's order
    pooled: dict                       # label -> True for pooled models
    sequential: dict                   # label -> True for warm-starting models (one task for all blocks)
    spans: dict                        # asset -> (first, stop): forecast days first..stop-1 (forecast assets only)
    blocks: dict                       # asset -> [(a, b)] per-asset refit blocks
    calendar: list                     # [D_k] (datetime64[D]) the pooled refit dates
    pooled_blocks: list                # per calendar block k: {asset: (end, begin, a, b)} for every asset
    runs_on: dict                      # label -> the assets the model forecasts (default: every forecast asset)
    refit_every: int
    window: Optional[int]
    seed: int
    split: dict = field(default_factory=dict)   # label -> True for pooled models run in two phases

    @property
    def assets(self) -> list:
        return list(self.spans)


def _span(ds: Dataset, start, stop) -> Optional[tuple]:
    first = first_index(ds, start)
    last = forecast_stop(ds) if stop is None else int(stop)
    first = max(first, 1)            # day 0 has no history at all
    return (first, last) if first < last else None


def _per_asset(value, asset):
    return value.get(asset) if isinstance(value, Mapping) else value


def calendar_blocks(datasets: Mapping[str, Dataset], spans: Mapping[str, tuple], refit_every: int,
                    window=None) -> tuple:
    """The pooled refit dates and, per block, each asset's fit (end, begin) and forecast days [a, b).

    Returns ``(calendar, blocks)``: ``calendar[k] = D_k``; ``blocks[k][asset] = (end, begin, a, b)`` for every
    asset of ``datasets`` (``a == b`` when the asset has no forecast day in the block).
    """
    days = [datasets[n].dates[f:s] for n, (f, s) in spans.items()]
    union = np.unique(np.concatenate(days)) if days else np.array([], dtype="datetime64[D]")
    calendar = [union[i] for i in range(0, union.size, int(refit_every))]
    out = []
    for k, d in enumerate(calendar):
        nxt = calendar[k + 1] if k + 1 < len(calendar) else None
        row = {}
        for name, ds in datasets.items():
            end = int(np.searchsorted(ds.dates, d, side="left"))
            if name in spans:
                first, stop = spans[name]
                a = max(first, end)
                b = stop if nxt is None else min(stop, int(np.searchsorted(ds.dates, nxt, side="left")))
                a, b = (a, b) if a < b else (a, a)
            else:
                a = b = end
            row[name] = (end, _fit_begin(end, window), a, b)
        out.append(row)
    return calendar, out


def plan_universe(datasets: Mapping[str, Dataset], models, start=None, stop=None, refit_every: int = 21,
                  window=None, seed: int = 0, assets_of: Optional[Mapping] = None) -> UniversePlan:
    """Check the inputs and lay out every asset's forecast days and both refit schedules.

    ``start`` / ``stop``: as in :func:`~tinygrad_trade.vol.walkforward.walk_forward` (index or date), or a
    mapping ``asset -> start`` to give each asset its own first day. ``assets_of``: model label -> the assets
    it runs on (a per-asset model only; default every asset). Raises ``ValueError`` for no assets, no models,
    duplicate labels, a bad window, an unknown asset or a run with no forecast day at all.
    """
    if not datasets:
        raise ValueError("no assets to run")
    specs = [as_spec(m) for m in models]
    if not specs:
        raise ValueError("no models to run")
    labels = [s.key for s in specs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"duplicate model label(s): {', '.join(dup)}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1):
        raise ValueError(f"window must be a positive integer or None, got {window!r}")
    make_blocks(0, 1, refit_every)   # validates refit_every
    spans = {}
    for name, ds in datasets.items():
        span = _span(ds, _per_asset(start, name), _per_asset(stop, name))
        if span is not None:
            spans[name] = span
    if not spans:
        raise ValueError("no asset has a forecast day in the requested period")
    built = {s.key: s.build() for s in specs}
    pooled = {k: is_pooled(m) for k, m in built.items()}
    runs_on = {}
    for label in labels:
        wanted = (assets_of or {}).get(label)
        if wanted is None:
            runs_on[label] = list(spans)
            continue
        unknown = [a for a in wanted if a not in datasets]
        if unknown:
            raise ValueError(f"model {label!r} is restricted to unknown asset {unknown[0]!r}")
        if pooled[label]:
            raise ValueError(f"model {label!r} is pooled: it trains on every asset and cannot be restricted")
        runs_on[label] = [a for a in spans if a in set(wanted)]
    calendar, pblocks = calendar_blocks(datasets, spans, refit_every, window)
    return UniversePlan(
        specs=specs, pooled=pooled, runs_on=runs_on,
        sequential={k: _is_sequential(m) for k, m in built.items()}, spans=spans,
        split={k: pooled[k] and _is_sequential(m) and callable(getattr(m, "fit_asset_chain", None))
               for k, m in built.items()},
        blocks={n: make_blocks(f, s, refit_every) for n, (f, s) in spans.items()},
        calendar=calendar, pooled_blocks=pblocks, refit_every=int(refit_every),
        window=None if window is None else int(window), seed=int(seed))


# ------------------------------------------------------------------------------------ tasks
@dataclass
class UniverseTask:
    """One unit of work; calling it returns ``(label, [(asset, block, forecasts)], histories, seconds,
    {asset: floor hits})`` (forecasts floored at each asset's scale, as in the walk-forward).

    ``asset`` is set for a per-asset model's task (``blocks``: ``[(k, a, b)]`` of that asset) and ``None`` for a
    pooled model's task (``blocks``: ``[(k, {asset: (end, begin, a, b)})]``). ``datasets`` holds only what the
    task reads, so it pickles small enough for process pools and cluster schedulers.

    A split pooled model (module docstring) has ``phase`` 1 tasks (``asset`` set, ``blocks``: ``[(k, end,
    begin)]``; their output is ``[(asset, k, fit)]``, ``fit`` None where the asset sits out) and one ``phase`` 2
    task, which ``needs`` them (indices in the task list) and runs once :func:`with_fits` gave it their ``fits``.
    """

    spec: ModelSpec
    datasets: dict
    blocks: list
    asset: Optional[str]
    sequential: bool
    window: Optional[int]
    seed: int
    n_blocks: int = field(default=0)
    phase: int = 0                     # 0: the whole work; 1 / 2: the phases of a split pooled model
    needs: tuple = ()                  # phase 2: the indices of its phase-1 tasks
    fits: Optional[dict] = None        # phase 2: {k: {asset: fit}} from phase 1

    @property
    def label(self) -> str:
        return self.spec.key

    def __call__(self, on_block=None):
        with one_blas_thread():      # once per task (as run_task does), not once per fit or forecast
            if self.phase == 1:
                return _run_asset_chain(self)
            if self.asset is not None:
                ds = self.datasets[self.asset]
                label, out, hist, sec, hits = run_task(self.spec, ds, self.blocks, self.window, self.seed,
                                                       self.sequential, on_block=on_block)
                return label, [(self.asset, k, f) for k, f in out], hist, sec, {self.asset: hits}
            return _run_pooled(self)


def _run_asset_chain(task: UniverseTask):
    """Phase 1: one asset's chain of per-asset fits of a split pooled model (no randomness involved)."""
    t0 = time.perf_counter()
    fits = task.spec.build().fit_asset_chain(task.datasets[task.asset], [(end, begin) for _, end, begin in task.blocks])
    out = [(task.asset, k, fit) for (k, _, _), fit in zip(task.blocks, fits)]
    return task.label, out, [], time.perf_counter() - t0, {}


def with_fits(task: UniverseTask, results: Sequence) -> UniverseTask:
    """The phase-2 ``task`` given its phase-1 tasks' results (those of ``task.needs``)."""
    fits = {}
    for _, out, _, _, _ in results:
        for name, k, fit in out:
            fits.setdefault(k, {})[name] = fit
    return dataclasses.replace(task, fits=fits)


def bind_fits(args: tuple, results: Sequence) -> tuple:
    """``Job.bind`` of a phase-2 task's job: its first argument is the task."""
    return (with_fits(args[0], results),) + tuple(args[1:])


def _run_pooled(task: UniverseTask):
    t0 = time.perf_counter()
    label = task.label
    out, histories = [], []
    hits = {}
    model = None
    for i, (k, row) in enumerate(task.blocks):
        if model is None or not task.sequential:
            model = task.spec.build()
            model.rng = task_rng(task.seed, label, k)
        panel = [(name, task.datasets[name], end, begin) for name, (end, begin, _, _) in row.items()]
        if task.fits is None:
            model.fit_panel(panel)
        else:
            model.fit_panel(panel, asset_fits=task.fits.get(k, {}))
        if not task.sequential:
            histories.extend(_history_of(model))
        for name, (end, begin, a, b) in row.items():
            if a < b:
                ds = task.datasets[name]
                try:
                    f = _check_forecast(model.predict_asset(name, ds, a, b), a, b, label, ds)
                except WalkForwardError as exc:
                    raise WalkForwardError(f"asset {name!r}: {exc}") from None
                f, low = floor_forecast(f, ds, end, begin)
                hits[name] = hits.get(name, 0) + low
                out.append((name, k, f))
    if task.sequential and model is not None:
        histories = _history_of(model)
    return label, out, histories, time.perf_counter() - t0, hits


def _call(task: UniverseTask, on_block=None):
    return task(on_block) if on_block is not None else task()


def task_job(task: UniverseTask, fn, args: tuple, cost: Optional[float] = None, about: Optional[str] = None) -> Job:
    """The :class:`~tinygrad_trade.vol.walkforward.Job` of ``task`` (``fn(*args)`` runs it): a phase-2 task
    waits for its phase-1 tasks and gets their fits through :func:`bind_fits`."""
    if about is None:
        who = task.asset if task.asset is not None else "all assets"
        about = describe_task(who, task.label, task.blocks)
    per_block = task.asset is not None and task.phase != 1 and fn is _call
    return Job(fn, args, float(task_cost(task.spec, task.n_blocks) if cost is None else cost), about,
               first=bool(task.sequential), ticks=len(task.blocks) if per_block else 0,
               after=task.needs, bind=bind_fits if task.needs else None)


def universe_tasks(datasets: Mapping[str, Dataset], plan: UniversePlan, chunk: Optional[int] = None) -> list:
    """Every task of the run, in a fixed order (sequential models' single tasks first within each model).

    ``chunk``: blocks per task for models that do not warm start (default: all of them, one task per asset and
    model). Grouping changes only the scheduling, never a result. A split pooled model gives one phase-1 task
    per asset of ``datasets`` and then its phase-2 task.
    """
    tasks = []
    for spec in plan.specs:
        label = spec.key
        seq = plan.sequential[label]
        if plan.split.get(label):
            numbered = [(k, row) for k, row in enumerate(plan.pooled_blocks)]
            first = len(tasks)
            for name in datasets:
                chain = [(k, row[name][0], row[name][1]) for k, row in numbered]
                tasks.append(UniverseTask(spec, {name: datasets[name]}, chain, name, True, plan.window,
                                          plan.seed, len(chain), phase=1))
            tasks.append(UniverseTask(spec, dict(datasets), numbered, None, True, plan.window, plan.seed,
                                      len(numbered), phase=2, needs=tuple(range(first, len(tasks)))))
            continue
        if plan.pooled[label]:
            numbered = [(k, row) for k, row in enumerate(plan.pooled_blocks)]
            size = len(numbered) if (seq or chunk is None) else max(1, int(chunk))
            for i in range(0, len(numbered), size):
                tasks.append(UniverseTask(spec, dict(datasets), numbered[i:i + size], None, seq,
                                          plan.window, plan.seed, len(numbered[i:i + size])))
            continue
        for name in plan.runs_on[label]:
            numbered = [(k, a, b) for k, (a, b) in enumerate(plan.blocks[name])]
            size = len(numbered) if (seq or chunk is None) else max(1, int(chunk))
            for i in range(0, len(numbered), size):
                part = numbered[i:i + size]
                tasks.append(UniverseTask(spec, {name: datasets[name]}, part, name, seq, plan.window,
                                          plan.seed, len(part)))
    return tasks


def collect_results(datasets: Mapping[str, Dataset], plan: UniversePlan, tasks: Sequence, results: Sequence) -> dict:
    """Assemble the tasks' outputs (``results[i]`` from ``tasks[i]``) into ``{asset: WalkForwardResult}``.

    A per-asset model's histories and seconds are that asset's; a pooled model's are shared by every asset.
    """
    labels = [s.key for s in plan.specs]
    parts = {n: {lab: {} for lab in labels} for n in plan.assets}
    histories = {n: {lab: [] for lab in labels} for n in plan.assets}
    seconds = {n: {lab: 0.0 for lab in labels} for n in plan.assets}
    floor_hits = {n: {lab: 0 for lab in labels} for n in plan.assets}
    for task, (label, out, hist, sec, hits) in zip(tasks, results):
        if task.phase == 1:        # a split pooled model's per-asset fits: only their time is the model's
            for name in plan.assets:
                seconds[name][label] += sec
            continue
        for name, k, f in out:
            parts[name][label][k] = f
        for name, h in hits.items():
            floor_hits[name][label] += h
        for name in ([task.asset] if task.asset is not None else plan.assets):
            histories[name][label].extend(hist)
            seconds[name][label] += sec
    res = {}
    for name in plan.assets:
        ds = datasets[name]
        first, stop = plan.spans[name]
        index = np.arange(first, stop)
        forecasts = {}
        for label in labels:
            if name not in plan.runs_on[label]:
                continue
            got = parts[name][label]
            f = np.concatenate([got[k] for k in sorted(got)]) if got else np.array([])
            if f.size != index.size:
                raise WalkForwardError(f"model {label!r} covered {f.size} of asset {name!r}'s {index.size} days")
            forecasts[label] = f
        blocks = plan.blocks[name]
        pooled_refits = [str(plan.calendar[k]) for k, row in enumerate(plan.pooled_blocks) if row[name][2] < row[name][3]]
        res[name] = WalkForwardResult(
            index=index, dates=ds.dates[index], target=ds.target[index], returns=ds.returns[index],
            forecasts=forecasts, blocks=blocks,
            fit_windows=[(_fit_begin(a, plan.window), a) for a, _ in blocks],
            histories=histories[name], seconds=seconds[name],
            config={"first": int(first), "stop": int(stop), "refit_every": plan.refit_every,
                    "window": plan.window, "seed": plan.seed, "asset": name,
                    "pooled_refit_dates": pooled_refits if any(plan.pooled.values()) else [],
                    "pooled_labels": [lab for lab in labels if plan.pooled[lab]],
                    "models": [{"label": s.key, "name": s.name, "options": dict(s.options)} for s in plan.specs
                               if name in plan.runs_on[s.key]]},
            floor_hits={lab: h for lab, h in floor_hits[name].items() if lab in forecasts})
    return res


def run_universe(datasets: Mapping[str, Dataset], models, start=None, refit_every: int = 21, window=None,
                 seed: int = 0, executor=None, progress: bool = False, stop=None,
                 chunk: Optional[int] = None, assets_of: Optional[Mapping] = None) -> dict:
    """Walk-forward forecasts of every asset for every model: ``{asset: WalkForwardResult}``.

    ``models``: names, ``(name, options)`` pairs or :class:`ModelSpec` s (see the module docstring for pooled
    models). ``start`` (and ``stop``): a day index or date for every asset, or a mapping asset -> value.
    ``executor``: any ``concurrent.futures.Executor``; every task is submitted at once (a split pooled model's
    phase 2 once its phase 1 is done); ``None`` runs them here, in the same two phases.
    Results do not depend on the executor, the number of workers or ``chunk`` (blocks per task; default: all
    blocks in-process, about four tasks per asset and model with an executor). ``assets_of``: label -> the
    assets a per-asset model runs on (default every asset; e.g. slow nets on the index only). Training
    histories and seconds of a pooled model are shared by all assets (it is one model).
    """
    if executor is not None:   # a model registered in this process travels with its factory when it can
        models = [portable_spec(as_spec(m)) for m in models]
    plan = plan_universe(datasets, models, start=start, stop=stop, refit_every=refit_every, window=window,
                         seed=seed, assets_of=assets_of)
    if chunk is None and executor is not None:
        longest = max(len(b) for b in plan.blocks.values())
        chunk = max(1, -(-max(longest, len(plan.calendar)) // 4))
    tasks = universe_tasks(datasets, plan, chunk)
    results = run_jobs([task_job(task, _call, (task,)) for task in tasks], executor=executor, progress=progress,
                       desc="walk-forward refits")
    return collect_results(datasets, plan, tasks, results)
