"""The pieces of the walk-forward (out-of-sample) evaluation: model specs, blocks, tasks and the jobs that run them.

:func:`~tinygrad_trade.vol.runs.walkforward.walk_forward` (one asset) and
:func:`~tinygrad_trade.vol.runs.universe.run_universe` (many) are built from these.

Protocol (the defaults of ``tinygrad-trade forecast``)::

    forecast days   t = first .. stop-1            first = first day on or after `start`
    blocks          [b_k, b_{k+1}) with b_{k+1} = b_k + refit_every, the first one starting at `first`
    fit for block k model.fit(ds, end=b_k, begin=max(0, b_k - window))   (window=None: expanding, begin=0)
    forecasts       model.predict(ds, b_k, b_{k+1})   -- forecast of ds.target[t] from data < t

``fit(ds, end)`` uses only targets known before day ``end`` (``ds.last_known(end)``), so a fit uses
only pairs whose target day precedes the first forecast of its block, and every model is refit at
the same dates. Every forecast is floored at the asset's own scale (``base.scale_floor`` of the
block's fit window; ``WalkForwardResult.floor_hits`` counts the forecasts raised, per model).

Parallelism. The work is split into *tasks* that do not depend on the number of workers: a model
that warm starts (``model.warm_start`` is true, e.g. a neural net continuing from its previous
weights) is one task that runs its blocks in order on one instance; any other model gives one task
per block, each on a freshly built model. A task is picklable: it carries a :class:`ModelSpec`
(a name + options, or a picklable factory), the dataset and its blocks; the model is rebuilt in the
worker. Nothing global is seeded: before each fit the task hands its model a generator
(``model.rng``, from ``(seed, model label, block)``; the nets draw from their own ``seed`` option), and BLAS
runs on one thread (threadpoolctl), since a multi-threaded
BLAS sums in an order that depends on its thread count. Hence the forecasts are bit-identical
whether the tasks run in this process or in any ``concurrent.futures.Executor``
(``walk_forward(..., executor=ex)``: a process pool, a Dask cluster, see :mod:`.cluster`).

Models are found in a worker by name alone: a built-in registry name (``"gjr"``, resolved by
importing :mod:`.models` there) or an import path ``"package.module:Class"`` (any callable returning
a Forecaster; the workers must be able to import the module). A model added with
``register_model`` in the driver only travels when its factory pickles by reference (a module-level
function or class); otherwise the worker's error says to use an import path.
"""
from __future__ import annotations

import importlib
import pickle
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from ..features.dataset import Dataset

from ..models.base import Forecaster, apply_floor, scale_floor
from ..models.registry import MODELS
from ..models.runtime import blas_pinned, one_blas_thread

__all__ = ["ModelSpec", "WalkForwardResult", "WalkForwardError", "as_spec", "make_blocks", "first_index",
           "forecast_stop", "run_task", "resolve_model", "portable_spec", "task_cost",
           "describe_task", "asset_name", "one_line", "run_tasks", "run_jobs", "Job", "one_blas_thread", "blas_pinned", "MODEL_COST",
           "floor_forecast", "task_rng"]


class WalkForwardError(RuntimeError):
    """A model misbehaved during the walk-forward (wrong output length, non-positive forecasts...)."""


@dataclass(frozen=True)
class ModelSpec:
    """How to (re)build a model in any process.

    ``name`` is a registry name (``vol.models.get_model(name, **options)``) or an import path
    ``"package.module:Class"`` (see :func:`resolve_model`), unless ``factory`` is given: a picklable
    callable (module-level function or class) called as ``factory(**options)``.
    ``label`` names the model's column in the outputs (default: ``name``).
    """

    name: str
    options: Mapping = field(default_factory=dict)
    label: Optional[str] = None
    factory: Optional[Callable[..., Forecaster]] = None

    @property
    def key(self) -> str:
        return self.label or self.name

    def build(self) -> Forecaster:
        factory = self.factory if self.factory is not None else resolve_model(self.name)
        return factory(**dict(self.options))


def resolve_model(name: str) -> Callable[..., Forecaster]:
    """The factory of a model name, importable in any process.

    ``"package.module:Class"`` (or ``:function``, dotted attributes allowed) is imported; any other
    name is looked up in :data:`vol.models.MODELS` (the built-ins, plus what this process registered).
    Raises a one-line ``ValueError`` for an unknown name or an import path that does not import.
    """
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except ImportError as exc:
            raise ValueError(f"model {name!r}: cannot import {module!r} ({exc})") from None
        except AttributeError:
            raise ValueError(f"model {name!r}: module {module!r} has no attribute {attr!r}") from None
        if not callable(obj):
            raise ValueError(f"model {name!r} is not a class or function")
        return obj
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r} in this process; choose one of {', '.join(MODELS)}, or name "
                         "your own by import path 'package.module:Class' (a model registered with "
                         "register_model() in another process is not known here)") from None


def portable_spec(spec: "ModelSpec") -> "ModelSpec":
    """``spec`` ready for another process: a name this process registered at run time (not found by
    import elsewhere) carries its factory when that pickles by reference; built-ins and import
    paths travel by name."""
    if spec.factory is not None or ":" in spec.name:
        return spec
    try:
        factory = resolve_model(spec.name)
    except ValueError:
        return spec
    try:
        pickle.dumps(factory)
    except (pickle.PicklingError, AttributeError, TypeError):
        return spec   # a closure (the built-ins) or a lambda: by name
    return ModelSpec(spec.name, spec.options, spec.label, factory)


def as_spec(model) -> ModelSpec:
    """A ``ModelSpec``, a registry name ``"garch"``, or a ``(name, options)`` pair -> ``ModelSpec``."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return ModelSpec(model)
    if isinstance(model, tuple) and len(model) == 2 and isinstance(model[0], str):
        return ModelSpec(model[0], dict(model[1] or {}))
    raise TypeError(f"a model must be a ModelSpec, a name or a (name, options) pair, got {model!r}")


@dataclass
class WalkForwardResult:
    """Forecasts of ``ds.target[index]`` for every model (``forecasts[label][i]`` is for ``index[i]``)."""

    index: np.ndarray                  # day indices into the dataset, first .. stop-1
    dates: np.ndarray                  # ds.dates[index]
    target: np.ndarray                 # ds.target[index]
    returns: np.ndarray                # ds.returns[index]
    forecasts: dict                    # label -> np.ndarray of forecasts (%^2 per day)
    blocks: list                       # [(b_k, b_{k+1})] in day indices
    fit_windows: list                  # [(begin, end)] of each block's fit
    histories: dict                    # label -> list of per-fit training histories (models with `.history`)
    seconds: dict                      # label -> summed task wall time (not deterministic: keep out of metrics)
    config: dict                       # start/stop/refit_every/window/seed and the model specs
    floor_hits: dict = field(default_factory=dict)   # label -> forecasts raised to the scale floor

    @property
    def refit_dates(self) -> np.ndarray:
        return self.dates[[a - self.index[0] for a, _ in self.blocks]]

    def to_frame(self):
        """A pandas DataFrame indexed by date: ``returns``, ``target`` and one column per model's forecasts."""
        import pandas as pd
        cols = {"returns": self.returns, "target": self.target, **self.forecasts}
        return pd.DataFrame(cols, index=pd.DatetimeIndex(self.dates.astype("datetime64[ns]"), name="date"))


# ------------------------------------------------------------------------------------ protocol
def forecast_stop(ds: Dataset) -> int:
    """One past the last day whose target is known (the last h-1 days of an h-day target are not)."""
    known = np.flatnonzero(np.isfinite(ds.target))
    return int(known[-1]) + 1 if known.size else 0


def first_index(ds: Dataset, start) -> int:
    """Day index of the first forecast: an int is taken as is, a date means the first day on or after it."""
    if start is None:
        return 0
    if isinstance(start, (int, np.integer)) and not isinstance(start, bool):
        return int(start)
    try:
        day = np.datetime64(start, "D")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad start date {start!r} ({exc})") from None
    return int(np.searchsorted(ds.dates, day, side="left"))


def make_blocks(first: int, stop: int, refit_every: int) -> list:
    """``[(b, min(b + refit_every, stop)) for b in range(first, stop, refit_every)]``."""
    if isinstance(refit_every, bool) or not isinstance(refit_every, (int, np.integer)) or refit_every < 1:
        raise ValueError(f"refit_every must be a positive integer, got {refit_every!r}")
    return [(b, min(b + int(refit_every), stop)) for b in range(first, stop, int(refit_every))]


def _fit_begin(end: int, window) -> int:
    return 0 if window is None else max(0, end - int(window))


def task_rng(seed: int, label: str, block: int) -> np.random.Generator:
    """The generator a task hands its model (``model.rng``) before a fit: it depends on ``(seed, model label,
    block)`` only, so results do not depend on where or in which order the tasks run."""
    return np.random.default_rng((int(seed) * 1_000_003 + zlib.crc32(label.encode()) * 7919 + int(block)) % (2**32))


def _history_of(model) -> list:
    h = getattr(model, "history", None)
    return list(h) if isinstance(h, (list, tuple)) else []


def _check_forecast(f, a: int, b: int, label: str, ds: Dataset) -> np.ndarray:
    f = np.asarray(f, dtype=float).reshape(-1)
    if f.size != b - a:
        raise WalkForwardError(f"model {label!r} returned {f.size} forecasts for {b - a} days "
                               f"(block starting {ds.dates[a]})")
    bad = ~(np.isfinite(f) & (f > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise WalkForwardError(f"model {label!r} gave {int(bad.sum())} non-positive or non-finite forecast(s) "
                               f"in the block starting {ds.dates[a]} (first: {f[i]} for {ds.dates[a + i]})")
    return f


def floor_forecast(f, ds: Dataset, end: int, begin: int = 0):
    """``(forecasts floored at the asset's scale, number raised)``: the floor is :func:`~.base.scale_floor`
    of the block's fit window (``FLOOR_FRACTION`` x the mean training target)."""
    return apply_floor(f, scale_floor(ds, end, begin))


# Relative cost of one block (fit + forecasts) per model, for an honest progress ETA: measured on the
# S&P 500 (refit every 63 from 2016, one process): ewma 0.1 ms, har 0.7, garch 5, gjr 7, mlp 45,
# gru 350. Unknown models count as 1; a model class may set ``relative_cost`` itself.
MODEL_COST = {"ewma": 0.2, "har": 1.0, "har_r2": 1.0, "garch": 7.0, "gjr": 10.0, "pooled": 13.0, "mlp": 60.0,
              "gru": 500.0}


def task_cost(spec: ModelSpec, n_blocks: int = 1) -> float:
    """Relative cost of ``n_blocks`` blocks of ``spec`` (progress weights only; never changes a result)."""
    cost = getattr(spec.factory, "relative_cost", None)
    if cost is None:
        cost = MODEL_COST.get(spec.name, 1.0)
    return float(cost) * n_blocks


def asset_name(ds) -> str:
    """What error messages call a dataset: its ``name`` attribute, else its source file, else "dataset"."""
    name = getattr(ds, "name", None) or getattr(ds, "source", None)
    return str(name) if name else "dataset"


def describe_task(asset: str, label: str, blocks: Sequence) -> str:
    """``"<asset>: model 'x', block 3"`` (or ``blocks 0-5``) for error messages."""
    ks = [b[0] for b in blocks]
    where = f"block {ks[0]}" if len(ks) == 1 else f"blocks {ks[0]}-{ks[-1]}" if ks else "no blocks"
    return f"{asset}: model {label!r}, {where}"


def one_line(exc: BaseException) -> str:
    """An exception as one line: ``Type: message`` (a WalkForwardError's message alone)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, WalkForwardError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_task(spec: ModelSpec, ds: Dataset, blocks: Sequence, window, seed: int, sequential: bool,
             on_block: Optional[Callable[[], None]] = None):
    """Fit and forecast ``blocks`` (a list of ``(block_number, a, b)``) for one model.

    ``sequential``: one model instance for all blocks, in order (warm start); else a fresh model per
    block. Returns ``(label, [(block_number, forecasts)], histories, seconds, floor_hits)``, the forecasts
    floored at the block's :func:`~.base.scale_floor`. Module-level so that process pools can pickle it.
    ``on_block`` (in-process runs only) is called after every block.

    BLAS is pinned to one thread for the whole task, so the result does not depend on where it runs.
    Any exception becomes one :class:`WalkForwardError` line naming the asset, the model and the
    block (the same text whichever process raised it).
    """
    t0 = time.perf_counter()
    label = spec.key
    out, histories = [], []
    hits = 0
    model = None
    k = blocks[0][0] if blocks else 0
    try:
        with one_blas_thread():
            if sequential:
                model = spec.build()
                model.rng = task_rng(seed, label, k)
            for k, a, b in blocks:
                if not sequential:
                    model = spec.build()
                    model.rng = task_rng(seed, label, k)
                begin = _fit_begin(a, window)
                model.fit(ds, a, begin=begin)
                if not sequential:
                    histories.extend(_history_of(model))
                f, n_low = floor_forecast(_check_forecast(model.predict(ds, a, b), a, b, label, ds), ds, a, begin)
                hits += n_low
                out.append((k, f))
                if on_block is not None:
                    on_block()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        blk = [x for x in blocks if x[0] == k] or list(blocks[:1])
        where = f" (refit {ds.dates[blk[0][1]]})" if blk and 0 <= blk[0][1] < len(ds) else ""
        raise WalkForwardError(f"{describe_task(asset_name(ds), label, blk)}{where}: {one_line(exc)}") from None
    if sequential and model is not None:
        histories = _history_of(model)
    return label, out, histories, time.perf_counter() - t0, hits


def _is_sequential(spec: ModelSpec) -> bool:
    return bool(getattr(spec.build(), "warm_start", False))


def _make_tasks(specs, blocks, chunk: int):
    """Tasks in a fixed order; a non-sequential model's blocks are grouped `chunk` at a time (which
    changes only the scheduling, never the result: each block still gets a fresh model)."""
    numbered = [(k, a, b) for k, (a, b) in enumerate(blocks)]
    tasks = []
    for spec in specs:
        if _is_sequential(spec):
            tasks.append((spec, numbered, True))
        else:
            for i in range(0, len(numbered), chunk):
                tasks.append((spec, numbered[i:i + chunk], False))
    return tasks


# ------------------------------------------------------------------------------------ running tasks
def _progress_bar(total: float, desc: str):
    from tqdm.auto import tqdm
    # disable=None: tqdm's rule, a bar only when stderr is a terminal (never in logs or pipes)
    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, disable=None,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")


@dataclass
class Job:
    """One picklable unit of work for :func:`run_jobs`: ``fn(*args)`` in this process or on a worker.

    ``cost``: its weight in the progress bar and the submission order; ``about``: how error lines name it
    ("<asset>: model 'x', blocks 0-3"); ``first``: among jobs of equal cost, submit it first (warm-start chains);
    ``ticks``: blocks it runs (in-process, ``fn`` then gets ``on_block=`` to move the bar per block);
    ``after``: indices of earlier jobs whose results it needs: it is submitted once they are done, with
    ``bind(args, [their results])`` as its arguments (a plain submit, so any executor will do).
    """

    fn: Callable
    args: tuple
    cost: float = 1.0
    about: str = "task"
    first: bool = False
    ticks: int = 0
    after: tuple = ()
    bind: Optional[Callable] = None


def run_jobs(jobs: Sequence[Job], executor=None, progress: bool = False, desc: str = "walk-forward",
             on_result: Optional[Callable[[int, object], None]] = None,
             meanwhile: Optional[Callable[[], None]] = None) -> list:
    """Run every job; the results in the order of ``jobs`` (never in the order they finished).

    ``executor``: ``None`` (this process) or any ``concurrent.futures.Executor``; arguments may be
    anything the executor resolves (e.g. Dask futures of scattered datasets). All jobs are submitted
    at once (a job with ``after`` once those are done), longest first: by the cost of the job and of the
    jobs that wait for it (the critical path; ``first`` breaks ties). ``on_result(i, result)`` is called
    in this process as each job's result comes in (in job order in-process), ``meanwhile()`` once while the
    jobs run (in-process: before them): work of the caller that needs none of the results, done on this
    process's otherwise idle time. Neither changes a result. ``progress``: one bar in this process
    on stderr when it is a terminal, weighted by cost so its ETA is honest (a net's refit costs
    hundreds of HAR refits). A job that raises cancels the jobs after it; the earlier ones finish, so
    the error raised is the first in job order, the same as in-process: a :class:`WalkForwardError`
    as the task raised it (one line naming asset, model and block), or one line naming the job when
    the executor could not finish it (e.g. Dask gave up after its workers died). An executor with
    a ``check()`` method has it called every two seconds while waiting (a Dask client that lost its
    scheduler raises there rather than hang).
    """
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if any(not 0 <= j < i for j in job.after):
            raise ValueError(f"job {i} ({job.about}) may only wait for earlier jobs, got {list(job.after)}")
    bar = _progress_bar(sum(j.cost for j in jobs), desc) if progress and jobs else None
    try:
        # the driver holds the one-thread pin for the whole run: a limit set from a pool's thread does
        # not always take effect (seen with OpenBLAS 0.3.30), so a thread pool's tasks rely on this one
        with one_blas_thread():
            if executor is None:
                if meanwhile is not None:
                    meanwhile()
                return _run_here(jobs, bar, on_result)
            return _run_on(executor, jobs, bar, on_result, meanwhile)
    finally:
        if bar is not None:
            bar.close()


def _args(job: Job, results) -> tuple:
    """A job's arguments, bound to the results of the jobs it waits for."""
    if not job.after:
        return job.args
    return job.bind(job.args, [results[j] for j in job.after])


def _run_here(jobs, bar, on_result=None) -> list:
    results = []
    for i, job in enumerate(jobs):
        args = _args(job, results)
        if bar is None:
            results.append(job.fn(*args))
        else:
            bar.set_postfix_str(job.about.split(": ", 1)[-1])
            if job.ticks:
                step = job.cost / job.ticks
                results.append(job.fn(*args, on_block=lambda: bar.update(step)))
            else:
                results.append(job.fn(*args))
                bar.update(job.cost)
        if on_result is not None:
            on_result(i, results[i])
    return results


def _critical_order(jobs) -> list:
    """Job indices by the length of the chain each starts (its cost plus the costs of the jobs that wait for it,
    transitively), longest first; then ``first`` jobs, then job order. Longest first keeps a long warm-started
    chain from starting late, behind short jobs."""
    chain = [float(j.cost) for j in jobs]
    for i in reversed(range(len(jobs))):              # a job waits only for earlier ones
        for j in jobs[i].after:
            chain[j] = max(chain[j], float(jobs[j].cost) + chain[i])
    return sorted(range(len(jobs)), key=lambda i: (-chain[i], not jobs[i].first, i))


def _run_on(executor, jobs, bar, on_result=None, meanwhile=None) -> list:
    from concurrent.futures import FIRST_COMPLETED, CancelledError, wait
    results = [None] * len(jobs)
    order = _critical_order(jobs)
    waiting = {i for i in order if jobs[i].after}          # submitted when the jobs they need are done
    finished = set()
    futures = {executor.submit(jobs[i].fn, *jobs[i].args): i for i in order if i not in waiting}
    pending = set(futures)
    check = getattr(executor, "check", None)
    failed = None     # (job index, exception): the first failure in job order wins, as in-process
    try:
        if meanwhile is not None:
            meanwhile()
        while pending:
            done, pending = wait(pending, timeout=2.0, return_when=FIRST_COMPLETED)
            if not done and check is not None:
                try:
                    check()
                except Exception as exc:   # noqa: BLE001 - the scheduler is gone: one line, not a hang
                    raise WalkForwardError(f"the run cannot finish: {one_line(exc)}") from None
            for fut in done:
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except (Exception, CancelledError) as exc:
                    if failed is None or i < failed[0]:
                        failed = (i, exc)
                    continue
                finished.add(i)
                if bar is not None:
                    bar.update(jobs[i].cost)
                    bar.set_postfix_str(jobs[i].about.split(": ", 1)[-1])
            ready = [i for i in order if i in waiting and finished.issuperset(jobs[i].after)] \
                if failed is None else []
            for i in ready:                             # before on_result's work: the workers wait for these
                waiting.discard(i)
                fut = executor.submit(jobs[i].fn, *_args(jobs[i], results))
                futures[fut] = i
                pending.add(fut)
            if on_result is not None and failed is None:
                for fut in done:
                    if futures[fut] in finished:
                        on_result(futures[fut], results[futures[fut]])
            if failed is not None:   # drop what comes after it, let what comes before finish
                later = {f for f in pending if futures[f] > failed[0]}
                for fut in later:
                    fut.cancel()
                pending -= later
                waiting = {i for i in waiting if i < failed[0]}
            ready = [i for i in order if i in waiting and finished.issuperset(jobs[i].after)]
            for i in ready:
                waiting.discard(i)
                fut = executor.submit(jobs[i].fn, *_args(jobs[i], results))
                futures[fut] = i
                pending.add(fut)
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise
    if failed is not None:
        i, exc = failed
        if isinstance(exc, WalkForwardError):
            raise exc
        raise WalkForwardError(f"{jobs[i].about}: the executor could not finish it ({one_line(exc)})") from None
    return results


def run_tasks(calls: Sequence, executor=None, progress: bool = False, desc: str = "walk-forward",
              names: Optional[Sequence[str]] = None) -> list:
    """:func:`run_jobs` of :func:`run_task` on each argument tuple ``(spec, ds, blocks, window, seed,
    sequential)``. ``names[i]`` names call i's asset in error lines (default: from the dataset; give
    it when ``ds`` is a scattered future)."""
    jobs = []
    for i, call in enumerate(calls):
        spec, ds, blocks, _, _, sequential = call
        asset = names[i] if names is not None else asset_name(ds)
        jobs.append(Job(run_task, tuple(call), task_cost(spec, len(blocks)), describe_task(asset, spec.key, blocks),
                        first=bool(sequential), ticks=len(blocks)))
    return run_jobs(jobs, executor=executor, progress=progress, desc=desc)
