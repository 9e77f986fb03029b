"""Walk-forward (out-of-sample) evaluation of volatility forecasters.

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
(registry name + options, or a picklable factory), the dataset and its blocks; the model is rebuilt
in the worker. Before each fit the global numpy / ``random`` generators are seeded from
``(seed, model label, block)``. Hence the forecasts are identical whether the tasks run in this
process or in any ``concurrent.futures.Executor`` (``walk_forward(..., executor=ex)``).
"""
from __future__ import annotations

import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from .base import Dataset, Forecaster, apply_floor, scale_floor

__all__ = ["ModelSpec", "WalkForwardResult", "WalkForwardError", "as_spec", "make_blocks", "first_index",
           "forecast_stop", "walk_forward", "run_task", "floor_forecast"]


class WalkForwardError(RuntimeError):
    """A model misbehaved during the walk-forward (wrong output length, non-positive forecasts...)."""


@dataclass(frozen=True)
class ModelSpec:
    """How to (re)build a model in any process.

    ``name`` is the registry name (``vol.models.get_model(name, **options)``) unless ``factory``
    is given: a picklable callable (module-level function or class) called as ``factory(**options)``.
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
        if self.factory is not None:
            return self.factory(**dict(self.options))
        from .models import get_model  # lazy: the registry may import heavy modules
        return get_model(self.name, **dict(self.options))


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


def _task_seed(seed: int, label: str, block: int) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(label.encode()) * 7919 + int(block)) % (2**32)


def _seed_globals(s: int) -> None:
    np.random.seed(s)
    random.seed(s)


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


def run_task(spec: ModelSpec, ds: Dataset, blocks: Sequence, window, seed: int, sequential: bool,
             on_block: Optional[Callable[[], None]] = None):
    """Fit and forecast ``blocks`` (a list of ``(block_number, a, b)``) for one model.

    ``sequential``: one model instance for all blocks, in order (warm start); else a fresh model per
    block. Returns ``(label, [(block_number, forecasts)], histories, seconds, floor_hits)``, the forecasts
    floored at the block's :func:`~.base.scale_floor`. Module-level so that process pools can pickle it.
    ``on_block`` (in-process runs only) is called after every block.
    """
    t0 = time.perf_counter()
    label = spec.key
    out, histories = [], []
    hits = 0
    model = None
    if sequential:
        _seed_globals(_task_seed(seed, label, blocks[0][0] if blocks else 0))
        model = spec.build()
    for k, a, b in blocks:
        if not sequential:
            _seed_globals(_task_seed(seed, label, k))
            model = spec.build()
        begin = _fit_begin(a, window)
        model.fit(ds, a, begin=begin)
        if not sequential:
            histories.extend(_history_of(model))
        f, n_low = floor_forecast(_check_forecast(model.predict(ds, a, b), a, b, label, ds), ds, a, begin)
        hits += n_low
        out.append((k, f))
        if on_block is not None:
            on_block()
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


def walk_forward(ds: Dataset, models, start=None, stop=None, refit_every: int = 21, window=None,
                 seed: int = 0, executor=None, progress: bool = False, chunk: Optional[int] = None,
                 ) -> WalkForwardResult:
    """Walk-forward forecasts of ``ds.target`` for every model (see the module docstring).

    ``models``: names (``"garch"``), ``(name, options)`` pairs or :class:`ModelSpec` s; labels must be
    unique. ``start``: first forecast day (index or date; ``None``: day 0); ``stop``: one past the last
    (default :func:`forecast_stop`). ``window``: ``None`` for an expanding window, else the number of
    days before each refit that the fit may use. ``executor``: any ``concurrent.futures.Executor``
    (``None`` runs in this process); results do not depend on it. ``progress`` shows a tqdm bar
    ("refit k of n") on stderr. ``chunk``: blocks per task for models without warm start (default:
    all blocks when running in-process, ~4 tasks per model otherwise).
    """
    specs = [as_spec(m) for m in models]
    labels = [s.key for s in specs]
    if not specs:
        raise ValueError("no models to run")
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"duplicate model label(s): {', '.join(dup)}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1):
        raise ValueError(f"window must be a positive integer or None, got {window!r}")
    n = len(ds)
    first = first_index(ds, start)
    stop = forecast_stop(ds) if stop is None else int(stop)
    if not 0 < first < stop <= n:
        raise ValueError(f"no forecast days: first forecast day index {first}, stop {stop}, {n} days of data")
    blocks = make_blocks(first, stop, refit_every)
    if chunk is None:
        chunk = len(blocks) if executor is None else max(1, -(-len(blocks) // 4))
    tasks = _make_tasks(specs, blocks, max(1, int(chunk)))

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(specs) * len(blocks), desc="walk-forward refits", unit="fit", leave=False)
    parts = {label: [None] * len(blocks) for label in labels}
    histories = {label: [] for label in labels}
    seconds = {label: 0.0 for label in labels}
    floor_hits = {label: 0 for label in labels}

    results = [None] * len(tasks)
    try:
        if executor is None:
            tick = (lambda: bar.update(1)) if bar is not None else None
            for i, (spec, blks, seq) in enumerate(tasks):
                if bar is not None:
                    bar.set_postfix_str(spec.key)
                results[i] = run_task(spec, ds, blks, window, seed, seq, tick)
        else:
            from concurrent.futures import as_completed
            # long sequential (warm-start) tasks first; the order of submission never changes a result
            order = sorted(range(len(tasks)), key=lambda i: not tasks[i][2])
            futures = {executor.submit(run_task, tasks[i][0], ds, tasks[i][1], window, seed, tasks[i][2]): i
                       for i in order}
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if bar is not None:
                    bar.update(len(tasks[i][1]))
                    bar.set_postfix_str(tasks[i][0].key)
    finally:
        if bar is not None:
            bar.close()
    for label, out, hist, sec, hits in results:  # task order: deterministic
        for k, f in out:
            parts[label][k] = f
        histories[label].extend(hist)
        seconds[label] += sec
        floor_hits[label] += hits

    index = np.arange(first, stop)
    return WalkForwardResult(
        index=index,
        dates=ds.dates[index],
        target=ds.target[index],
        returns=ds.returns[index],
        forecasts={label: np.concatenate(parts[label]) for label in labels},
        blocks=blocks,
        fit_windows=[(_fit_begin(a, window), a) for a, _ in blocks],
        histories=histories,
        seconds=seconds,
        config={"first": int(first), "stop": int(stop), "refit_every": int(refit_every),
                "window": None if window is None else int(window), "seed": int(seed),
                "models": [{"label": s.key, "name": s.name, "options": dict(s.options)} for s in specs]},
        floor_hits=floor_hits,
    )
