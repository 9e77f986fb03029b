"""Walk-forward forecasts of one asset: a universe of one.

    from tinygrad_trade.vol.runs.walkforward import walk_forward
    wf = walk_forward(ds, ["ewma", "garch", "har"], start="2008-01-01", refit_every=21)
    wf.forecasts["har"]                       # forecasts of ds.target[wf.index]

The protocol (blocks, fits on data before each block, floors) is that of :mod:`.tasks`; the run itself is
:func:`~tinygrad_trade.vol.runs.universe.run_universe` on ``{asset: ds}``, so one asset and many follow one path
(with one asset the calendar blocks are the asset's own blocks). The names of :mod:`.tasks` stay importable from
here (``ModelSpec``, ``WalkForwardResult``, ``run_jobs``, ...), as in round 2.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..features.dataset import Dataset
from .tasks import *  # noqa: F401,F403  (the protocol's names, importable from here as before)
from .tasks import __all__ as _tasks_all
from .tasks import WalkForwardResult, as_spec, asset_name, first_index, forecast_stop
from .universe import run_universe

__all__ = [*_tasks_all, "walk_forward"]


def walk_forward(ds: Dataset, models, start=None, stop=None, refit_every: int = 21, window=None,
                 seed: int = 0, executor=None, progress: bool = False, chunk: Optional[int] = None,
                 ) -> WalkForwardResult:
    """Walk-forward forecasts of ``ds.target`` for every model (see :mod:`.tasks` for the protocol).

    ``models``: names (``"garch"``), ``(name, options)`` pairs or :class:`ModelSpec` s; labels must be
    unique. ``start``: first forecast day (index or date; ``None``: day 0); ``stop``: one past the last
    (default :func:`forecast_stop`). ``window``: ``None`` for an expanding window, else the number of
    days before each refit that the fit may use. ``executor``: any ``concurrent.futures.Executor``
    (``None`` runs in this process); results do not depend on it. ``progress`` shows one bar on
    stderr when it is a terminal. ``chunk``: blocks per task for models without warm start (default:
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
    name = asset_name(ds)
    return run_universe({name: ds}, specs, start=first, stop=stop, refit_every=refit_every, window=window,
                        seed=seed, executor=executor, progress=progress, chunk=chunk)[name]
