"""The forecasting job over a universe of assets (``tinygrad-trade forecast --csv a.csv b.csv``, ``--universe``).

:func:`tinygrad_trade.vol.pipeline.run_forecast` hands over here when the data holds more than one asset. Each
asset is built into its own Dataset and forecast on its own days from ``--start`` (after a year of history);
:func:`~tinygrad_trade.vol.sweep.sweep` (one seed of :mod:`~tinygrad_trade.vol.universe`'s tasks) runs every model
on every asset (pooled models trained across assets); each asset is scored by :func:`~tinygrad_trade.vol.pipeline.compute_metrics` (the single-asset
``metrics.json`` object) and the assets are compared by :func:`~tinygrad_trade.vol.comparison.universe_summary`.

``metrics.json`` of a universe run is ``{"assets": {name: <single-asset object>}, "summary": {...}}``. An asset
whose data ends before ``--start`` is not forecast (a note says so) but still lends its rows to pooled models.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from ..log import messenger
from .comparison import universe_summary
from .pipeline import (BENCHMARK, ForecastConfig, _check_models_exist, _executor, _first_forecast, _json_clean,
                       build_asset_dataset, compute_metrics, model_specs)
from .sweep import sweep
from .universe import is_pooled

__all__ = ["UniverseResults", "run_universe_forecast", "universe_metrics"]


@dataclass
class UniverseResults:
    config: ForecastConfig
    datasets: dict                       # asset -> Dataset (every asset loaded)
    walks: dict                          # asset -> WalkForwardResult (assets with forecast days)
    metrics: dict                        # exactly what metrics.json holds
    timings: dict                        # seconds: "total", "data", "walk_forward", "models": {label: s}
    notes: list
    paths: dict = field(default_factory=dict)
    data_checks: list = field(default_factory=list)   # vol.checks.Finding of the data files

    @property
    def assets(self) -> list:
        return list(self.walks)

    def _repr_html_(self):  # per asset, the single-asset evaluation table, in Jupyter
        import html
        from types import SimpleNamespace

        from .html_tables import forecast_html
        return "".join(f"<h4>{html.escape(name)}</h4>" + forecast_html(SimpleNamespace(metrics=m))
                       for name, m in self.metrics["assets"].items())


def universe_metrics(datasets: dict, walks: dict, config: ForecastConfig) -> dict:
    """``{"assets": {name: compute_metrics(ds, wf, config)}, "summary": universe_summary(...)}``."""
    per_asset = {name: compute_metrics(datasets[name], wf, config) for name, wf in walks.items()}
    summary = universe_summary(walks, per_asset, benchmark=BENCHMARK, dm_lags=config.dm_lags, seed=config.seed)
    return {"assets": per_asset, "summary": _json_clean(summary)}


def _starts(datasets: dict, config: ForecastConfig, notes: list, pooled: bool) -> tuple:
    """Per asset: (first, stop) of its forecast days, or a start past its data for a training-only asset."""
    starts, stops = {}, {}
    for name, ds in datasets.items():
        mine = []
        try:
            first, stop = _first_forecast(ds, config, mine)
        except ValueError as exc:
            notes.append(f"{name}: not forecast ({exc})" + ("; its rows still train the pooled models" if pooled else ""))
            starts[name], stops[name] = len(ds), len(ds)
            continue
        notes.extend(f"{name}: {n}" for n in mine)
        starts[name], stops[name] = first, stop
    if all(starts[n] >= stops[n] for n in datasets):
        raise ValueError(f"--start {config.start}: no asset has forecast days")
    return starts, stops


def run_universe_forecast(config: ForecastConfig, frames: dict, executor=None, log=None,
                          report_extra: Optional[dict] = None, notes: Optional[list] = None,
                          t0: Optional[float] = None, out_dir=None, data_checks=None) -> UniverseResults:
    """Build, walk forward, score and (into ``out_dir``, when given) write the report of a universe run.

    ``config`` is validated, ``frames`` (``{asset: price frame}``) loaded and ``out_dir`` (an open
    :class:`~tinygrad_trade.vol.outdir.OutputDir`) opened by the caller (``run_forecast``); ``data_checks``: the
    findings of :mod:`~tinygrad_trade.vol.checks` on the files, for the report.
    """
    t0 = time.perf_counter() if t0 is None else t0
    if log is None:
        log = messenger(config.quiet)
    notes = list(notes or [])
    datasets = {name: build_asset_dataset(df, config) for name, df in frames.items()}
    specs = model_specs(config)
    _check_models_exist(specs)
    starts, stops = _starts(datasets, config, notes, any(is_pooled(s) for s in specs))
    t_data = time.perf_counter() - t0
    for note in notes:
        log(f"note: {note}")
    days = sum(max(stops[n] - starts[n], 0) for n in datasets)
    log(f"walk-forward: {len(specs)} model(s) on {len(datasets)} assets, {days} asset-days, "
        f"refit every {config.refit_every}")
    t1 = time.perf_counter()
    with _executor(executor, config) as ex:   # --scheduler (Dask) / --workers, as for one asset
        # a sweep of one seed: run_universe's tasks all at once, each dataset scattered once on Dask
        walks = sweep(datasets, specs, seeds=(config.seed,), start=starts, stop=stops,
                      refit_every=config.refit_every, window=config.window, executor=ex, progress=not config.quiet,
                      assets_of=config.model_assets or None).by_asset(config.seed)
    t_wf = time.perf_counter() - t1
    metrics = universe_metrics(datasets, walks, config)
    seconds = {}
    for wf in walks.values():
        for label, sec in wf.seconds.items():
            seconds[label] = max(seconds.get(label, 0.0), sec) if _shared(wf, label) else \
                seconds.get(label, 0.0) + sec
    res = UniverseResults(config=config, datasets=datasets, walks=walks, metrics=metrics,
                          timings={"data": t_data, "walk_forward": t_wf, "models": seconds}, notes=notes,
                          data_checks=list(data_checks or []))
    if out_dir is not None:
        from .report_universe import write_universe_report
        res.timings["total"] = time.perf_counter() - t0
        staged = write_universe_report(res, out_dir.dir, report_extra)
        res.paths = {k: out_dir.final(p) for k, p in staged.items()}
    res.timings["total"] = time.perf_counter() - t0
    return res


def _shared(wf, label: str) -> bool:
    """A pooled model's seconds are shared by every asset (count them once)."""
    return bool(wf.config.get("pooled_refit_dates")) and label in wf.config.get("pooled_labels", ())
