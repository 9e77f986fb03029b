"""The forecasting job behind ``tinygrad-trade forecast`` and ``tinygrad-trade demo``: one asset or a universe.

    from tinygrad_trade.vol.jobs.forecast import run_forecast
    from tinygrad_trade.vol.jobs.config import ForecastConfig
    res = run_forecast(ForecastConfig(models=("ewma", "garch", "gjr", "har"), out="report"))
    res.metrics["models"]["har"]["qlike"]                  # one asset
    res.metrics["assets"]["AAPL"]["models"]["har"]["qlike"]  # a universe

:func:`run_forecast` loads the data (price CSVs, a realized-variance CSV, the embedded S&P 500 or the embedded
universe), builds one :class:`~tinygrad_trade.vol.features.dataset.Dataset` per asset, walks every model forward on
every asset (:func:`~tinygrad_trade.vol.runs.sweep.sweep`, pooled models trained across assets), scores the
forecasts (:mod:`~tinygrad_trade.vol.evaluation`), backtests volatility targeting and, when ``config.out`` is set,
writes ``metrics.json``, ``forecasts.csv``, ``report.md`` and the plots (:mod:`~tinygrad_trade.vol.report`).

A single asset is a universe of one: the same steps, the same code. Only the outputs differ where their content
does: ``metrics.json`` of one asset is the per-asset object (``{"models", "dm_vs_har", "backtest", "risk",
"config"}``); of several, ``{"assets": {name: <per-asset object>}, "summary": {...}}`` (panel tests and the Model
Confidence Set mean nothing for one asset). An asset of a universe whose data ends before ``--start`` is not
forecast (a note says so) but still lends its rows to pooled models.

Bad input raises ``ValueError`` (``DataError`` for data files) with a one-line message. ``metrics`` depends only on
the configuration and the data (no timings): the same seed gives the same ``metrics.json``, with any number of
workers, in-process, in processes or on Dask.
"""
from __future__ import annotations

import dataclasses
import html
import logging
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ...log import messenger, say
from ..data import loading as vdata
from ..data.assets import is_close_only, read_embedded_universe, read_universe
from ..evaluation.backtest import backtest_table
from ..evaluation.comparison import universe_summary
from ..evaluation.losses import dm_table, evaluate
from ..evaluation.var_walk import risk_section
from ..evaluation.horizon_risk import horizon_risk_metrics
from ..features.dataset import Dataset, build_dataset, build_rv_dataset
from ..models.html_tables import forecast_html
from ..report.common import warm_up
from ..report.horizons import write_horizons_report
from ..report.universe import write_universe_report
from ..report.writer import write_report
from ..runs.cluster import open_executor
from ..runs.sweep import sweep
from ..runs.universe import is_pooled
from ..runs.tasks import WalkForwardResult, first_index, forecast_stop
from .book import check_book, run_book_forecast, write_book_files
from .config import (BENCHMARK, CLOSE_MODELS, MIN_FORECASTS, MIN_HISTORY, ForecastConfig, check_dist, check_models_exist,
                     csv_list, horizons_of, json_clean, model_specs, parse_date, prepare_out, resolve_models,
                     validate)
from .outdir import OutputDir
from .config import *  # noqa: F401,F403  (the settings' names, importable from here as from vol.pipeline)

__all__ = ["ForecastResult", "ForecastResults", "UniverseResults", "run_forecast", "load_frames", "load_dataset",
           "check_close_only", "build_asset_dataset", "compute_metrics", "universe_metrics", "first_forecast",
           "model_risk"]


@dataclass
class ForecastResult:
    """What a forecasting run found, for one asset or many (``walks`` holds the assets with forecast days)."""

    config: ForecastConfig
    datasets: dict                       # asset -> Dataset (every asset loaded)
    walks: dict                          # asset -> WalkForwardResult (assets with forecast days)
    metrics: dict                        # exactly what metrics.json holds
    timings: dict                        # seconds: "total", "data", "walk_forward", "models": {label: s}
    notes: list                          # remarks for the report (skipped models, adjusted start...)
    paths: dict = field(default_factory=dict)   # name -> written file (when config.out is set)
    data_checks: list = field(default_factory=list)   # checks.Finding of the data files
    book: object = None                  # runs.book.BookWalk of --book (None without a book)
    by_horizon: dict = field(default_factory=dict)    # several horizons: h -> the ForecastResult of horizon h

    @property
    def single(self) -> bool:
        """One asset: metrics.json and the report take the one-asset form."""
        return len(self.datasets) == 1

    @property
    def assets(self) -> list:
        return list(self.walks)

    @property
    def dataset(self) -> Dataset:
        """The first asset's Dataset (the only one of a one-asset run)."""
        return next(iter(self.datasets.values()))

    @property
    def walk(self) -> WalkForwardResult:
        """The first asset's walk-forward (the only one of a one-asset run)."""
        return next(iter(self.walks.values()))

    def _repr_html_(self):  # the evaluation as a table in Jupyter (per asset for a universe)
        if self.by_horizon:
            return "".join(f"<h3>horizon {h}</h3>" + r._repr_html_() for h, r in self.by_horizon.items())
        if self.single:
            return forecast_html(self.metrics)
        return "".join(f"<h4>{html.escape(name)}</h4>" + forecast_html(m)
                       for name, m in self.metrics["assets"].items())


ForecastResults = UniverseResults = ForecastResult   # the names of round 2


# ------------------------------------------------------------------------------------ data
def load_frames(config: ForecastConfig, findings: Optional[list] = None) -> dict:
    """The configured price data as ``{asset: DataFile}`` (one asset unless a universe was asked for).

    Warnings of the loaders (stale opens, data checks) are silenced; the data checks' findings are appended to
    ``findings`` when given. Realized-variance files go through :func:`load_dataset`. Every asset needs a year
    of history and some forecast days."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if config.universe == "embedded":
            frames = read_embedded_universe()
        elif config.csv:
            frames = read_universe(csv_list(config.csv), config.max_file_mb, config.read_options())
        else:
            frames = {vdata.SP500_FILE: vdata.read_sp500()}
    need = MIN_HISTORY + MIN_FORECASTS + max(horizons_of(config))
    for data in frames.values():
        if findings is not None:
            findings.extend(data.facts.data_checks)
        vdata.require_rows(data, need, f"walk-forward forecasting (a year of history, {MIN_FORECASTS} "
                                       f"forecasts, horizon {config.horizon})")
    return frames


def check_close_only(frames: dict, config: ForecastConfig, defaulted: bool, notes: list) -> ForecastConfig:
    """Close-only data (Date, Close[, Adj Close]) supports only ``CLOSE_MODELS`` and the target r2.

    In a universe mixing close-only and OHLC assets, a range-based model runs on the OHLC assets only
    (``config.model_assets``; a note, and no figures for the others); a pooled one, which trains on every asset,
    is dropped from the defaults or refused by name. When every asset is close-only, default models are narrowed
    to ``CLOSE_MODELS`` (with a note) and an explicit range-based model is a one-line error naming the model and
    the missing columns."""
    close_only = [name for name, data in frames.items() if is_close_only(data)]
    if not close_only:
        return config
    file = frames[close_only[0]].facts.source or close_only[0]
    if (config.target or "r2") != "r2":
        raise ValueError(f"--target {config.target} needs Open, High, Low, which {file} lacks (close-only file)")
    bad = [m for m in config.models if m not in CLOSE_MODELS]
    ranged = [name for name in frames if name not in close_only]
    if bad and ranged:
        pooled = [m for m in bad if is_pooled(model_specs(dataclasses.replace(config, models=(m,)))[0])]
        if pooled and not defaulted:
            raise ValueError(f"model {pooled[0]!r} trains on every asset and needs Open, High, Low, which {file} "
                             f"lacks; leave it out of --models or give OHLC files only")
        assets = dict(config.model_assets)
        per_asset = [m for m in bad if m not in pooled]
        for m in per_asset:
            assets[m] = [a for a in assets.get(m, ranged) if a in ranged]
        if per_asset:
            notes.append(f"{', '.join(close_only)}: closes only, so {', '.join(per_asset)} run on "
                         f"{', '.join(ranged)} only (no figures for the others)")
        if pooled:
            notes.append(f"{', '.join(pooled)} skipped: pooled models train on every asset and {file} has closes only")
        return dataclasses.replace(config, models=tuple(m for m in config.models if m not in pooled),
                                   model_assets=assets)
    if bad and not defaulted:
        raise ValueError(f"model {bad[0]!r} needs the columns Open, High, Low, which {file} lacks "
                         f"(a close-only file supports {', '.join(CLOSE_MODELS)})")
    if bad:
        notes.append(f"{file} has closes only: {', '.join(bad)} skipped (they need Open, High, Low)")
        config = dataclasses.replace(config, models=tuple(m for m in config.models if m in CLOSE_MODELS))
    return config


def build_asset_dataset(data, config: ForecastConfig) -> Dataset:
    """The Dataset of one asset's prices (a DataFile or a frame) under the configured target and horizon."""
    return build_dataset(data, target=config.target or "r2", horizon=config.horizon)


def load_dataset(config: ForecastConfig, findings: Optional[list] = None) -> Dataset:
    """The configured data as a Dataset (one asset: the first of a universe); warnings of the loaders are
    silenced and the data checks' findings appended to ``findings`` when given."""
    if config.rv:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = vdata.read_realized(config.rv, config.rv_column, config.max_file_mb)
        if findings is not None:
            findings.extend(data.facts.data_checks)
        vdata.require_rows(data, MIN_HISTORY + MIN_FORECASTS + config.horizon,
                           f"walk-forward forecasting (a year of history, {MIN_FORECASTS} "
                           f"forecasts, horizon {config.horizon})")
        return build_rv_dataset(data, horizon=config.horizon)
    return build_asset_dataset(next(iter(load_frames(config, findings).values())), config)


def first_forecast(ds: Dataset, config: ForecastConfig, notes: list) -> tuple[int, int]:
    start = parse_date(config.start, "--start")
    last = ds.dates[-1]
    stop = forecast_stop(ds)
    if start > last:
        raise ValueError(f"--start {start} is after the data's last day {last}")
    first = first_index(ds, start)
    known = np.flatnonzero(np.isfinite(ds.target))
    earliest = int(known[0]) + MIN_HISTORY if known.size else len(ds)
    if first < earliest:
        if earliest >= len(ds):
            raise ValueError(f"{ds.source or 'the data'}: no day has a year of history before it")
        notes.append(f"--start {start} leaves less than {MIN_HISTORY} days of history; "
                     f"the first forecast is on {ds.dates[earliest]} instead")
        first = earliest
    if stop - first < MIN_FORECASTS:
        raise ValueError(f"--start {start} leaves {max(stop - first, 0)} forecast days before the data's last "
                         f"known target ({ds.dates[stop - 1] if stop else last}); at least {MIN_FORECASTS} are needed")
    return first, stop


def compute_metrics(ds: Dataset, wf: WalkForwardResult, config: ForecastConfig, risk: Optional[dict] = None) -> dict:
    """The content of metrics.json (models, dm_vs_har, backtest, risk, config). ``risk``: ``{model: entry}`` of
    models whose risk entry is already known (:func:`model_risk`, e.g. computed while other models ran)."""
    y = wf.target
    models = evaluate(y, wf.forecasts)
    bench = benchmark_for(wf.forecasts)
    gain_key = "qlike_vs_har_pct" if bench == BENCHMARK else "qlike_vs_benchmark_pct"
    for name, m in models.items():
        if bench in models and name != bench:
            m[gain_key] = 100.0 * (models[bench]["qlike"] - m["qlike"]) / abs(models[bench]["qlike"])
    hits = getattr(wf, "floor_hits", None) or {}
    for name, m in models.items():
        m.setdefault("floor_hits", int(hits.get(name, 0)))
    dm = dm_table(y, wf.forecasts, benchmark=BENCHMARK, lags=config.dm_lags)
    if np.all(np.isfinite(wf.returns)):
        bt = backtest_table(wf.returns, wf.forecasts, target_vol=config.target_vol,
                            max_leverage=config.max_leverage, costs_bps=config.costs_bps,
                            return_kind=config.return_accounting)
    else:
        bt = {}
    risk = _risk_section(ds.horizon, wf, config, risk)
    cfg = config.to_dict()
    cfg["data"] = {
        "file": ds.source or None,
        "first_date": str(ds.dates[0]),
        "last_date": str(ds.dates[-1]),
        "rows": int(len(ds)),
        "kind": "realized_variance" if config.rv else "prices",
    }
    cfg["first_forecast"] = str(wf.dates[0])
    cfg["last_forecast"] = str(wf.dates[-1])
    cfg["n_forecasts"] = int(len(wf.dates))
    cfg["n_refits"] = int(len(wf.blocks))
    cfg["benchmark"] = bench or BENCHMARK
    if bench is not None and bench != BENCHMARK:
        cfg["benchmark_note"] = (f"{BENCHMARK} did not run on this data (it needs Open/High/Low); {bench} is the "
                                 f"benchmark of the gains and Diebold-Mariano tests instead")
    cfg["model_specs"] = [{**m, "options": {k: v for k, v in m["options"].items() if k != "progress"}}
                          for m in wf.config["models"]]
    out = {"models": models, "dm_vs_har": dm, "backtest": bt, "risk": risk, "config": cfg}
    if bench is not None and bench != BENCHMARK:
        out["dm_vs_benchmark"] = dm_table(y, wf.forecasts, benchmark=bench, lags=config.dm_lags)
    if ds.horizon > 1 and np.all(np.isfinite(wf.returns)):
        # h-day VaR/ES from the h-day variance, backtested on overlapping windows (vol.evaluation.horizon_risk)
        out["risk_h"] = horizon_risk_metrics(ds.returns, wf.index, wf.forecasts, ds.horizon, wf.dates)
    return json_clean(out)


STAND_IN_BENCHMARKS = ("gjr", "garch", "ewma", "har_r2")   # in order, when har did not run (close-only data)


def benchmark_for(forecasts) -> Optional[str]:
    """The benchmark of one asset's comparisons: har when it ran, else the first of ``STAND_IN_BENCHMARKS`` that
    did (None when none did)."""
    if BENCHMARK in forecasts:
        return BENCHMARK
    return next((m for m in STAND_IN_BENCHMARKS if m in forecasts), None)


def universe_benchmark(walks: dict) -> str:
    """The benchmark of a universe's comparisons: har when it ran on some asset, else the first of
    ``STAND_IN_BENCHMARKS`` that ran on every asset (else on most): a universe of close-only files compares with
    gjr on every asset, as each of its assets does."""
    runs = [set(wf.forecasts) for wf in walks.values()]
    if any(BENCHMARK in r for r in runs):
        return BENCHMARK
    counts = {m: sum(m in r for r in runs) for m in STAND_IN_BENCHMARKS}
    return max(STAND_IN_BENCHMARKS, key=lambda m: (counts[m], -STAND_IN_BENCHMARKS.index(m)))


def _risk_section(horizon: int, wf: WalkForwardResult, config: ForecastConfig, known: Optional[dict] = None) -> dict:
    """1-day VaR/ES at ``--risk-levels`` and their backtests for every model (``evaluation.var_walk.risk_section``);
    ``{}`` without returns or for a horizon above 1 (the forecasts are then of a multi-day mean, not of the next day).
    Each model's entry depends on its own forecasts only, so the entries in ``known`` are taken as they are."""
    if horizon != 1 or not np.all(np.isfinite(wf.returns)):
        return {}
    known = known or {}
    todo = {k: f for k, f in wf.forecasts.items() if k not in known}
    new = risk_section(wf.returns, todo, wf.dates, wf.index, wf.histories, config.risk_levels, config.seed) \
        if todo else {}
    return {k: known[k] if k in known else new[k] for k in wf.forecasts}


def _model_risk(horizon: int, wf: WalkForwardResult, label: str, config: ForecastConfig) -> Optional[dict]:
    """A model's risk entry from the horizon alone (a job on a worker need not carry the dataset)."""
    return _risk_section(horizon, dataclasses.replace(wf, forecasts={label: wf.forecasts[label]}), config).get(label)


def model_risk(ds: Dataset, wf: WalkForwardResult, label: str, config: ForecastConfig) -> Optional[dict]:
    """The risk entry of one model of a walk (what :func:`compute_metrics` puts under ``risk[label]``), None when
    the run has no risk section."""
    return _model_risk(ds.horizon, wf, label, config)


def _kept_fits(walks: dict) -> list:
    """One warning per GARCH refit that did not converge (the previous parameters were kept): asset, model, day."""
    out = []
    for asset, wf in walks.items():
        for label, hist in wf.histories.items():
            for h in hist:
                if isinstance(h, dict) and h.get("kept") and 0 <= h.get("day", -1) < len(wf.index) + wf.index[0]:
                    day = wf.dates[min(max(h["day"] - int(wf.index[0]), 0), len(wf.dates) - 1)]
                    out.append(f"{asset}: {label} refit for {day} did not converge; the previous parameters are kept")
    return out


def universe_metrics(datasets: dict, walks: dict, config: ForecastConfig, risk: Optional[dict] = None) -> dict:
    """``{"assets": {name: compute_metrics(ds, wf, config)}, "summary": universe_summary(...)}``; ``risk``:
    ``{asset: {model: entry}}`` known already (see :func:`compute_metrics`)."""
    risk = risk or {}
    per_asset = {name: compute_metrics(datasets[name], wf, config, risk.get(name)) for name, wf in walks.items()}
    summary = universe_summary(walks, per_asset, benchmark=universe_benchmark(walks), dm_lags=config.dm_lags,
                               seed=config.seed)
    return {"assets": per_asset, "summary": json_clean(summary)}


# ------------------------------------------------------------------------------------ the job
def _executor(executor, config: ForecastConfig):
    """The caller's executor as is, else one opened (and closed) from ``--scheduler``/``--workers``."""
    if executor is not None:
        return nullcontext(executor)
    return open_executor(config.scheduler, config.workers)


def _local_pool(ex):
    """``ex`` when it is a process pool on this machine (its workers can write into the output folder), else None."""
    return ex if isinstance(ex, ProcessPoolExecutor) else None


def _settled(v):
    """``v``, or its result when it is a Future."""
    return v.result() if isinstance(v, Future) else v


def _meanwhile(meanwhile, pool, out_dir, finish: list) -> None:
    """While the walk-forward runs: the caller's ``meanwhile(pool)`` and, when a report will be drawn on a local
    pool, a job queued behind the walk-forward's that readies a worker for plotting."""
    if meanwhile is not None:
        finish.append(meanwhile(pool))
    if pool is not None and out_dir is not None:
        pool.submit(warm_up)


def _spans(datasets: dict, config: ForecastConfig, notes: list, pooled: bool) -> tuple:
    """Per asset: (first, stop) of its forecast days. One asset: its problem is the run's (an error). Several:
    an asset without forecast days is a note (a start past its data), unless no asset has any."""
    if len(datasets) == 1:
        name, ds = next(iter(datasets.items()))
        first, stop = first_forecast(ds, config, notes)
        return {name: first}, {name: stop}
    starts, stops = {}, {}
    for name, ds in datasets.items():
        mine = []
        try:
            first, stop = first_forecast(ds, config, mine)
        except ValueError as exc:
            notes.append(f"{name}: not forecast ({exc})" + ("; its rows still train the pooled models" if pooled else ""))
            starts[name], stops[name] = len(ds), len(ds)
            continue
        notes.extend(f"{name}: {n}" for n in mine)
        starts[name], stops[name] = first, stop
    if all(starts[n] >= stops[n] for n in datasets):
        raise ValueError(f"--start {config.start}: no asset has forecast days")
    return starts, stops


def _model_seconds(walks: dict) -> dict:
    """Seconds per model label, summed over assets (a pooled model's seconds are shared: counted once)."""
    seconds = {}
    for wf in walks.values():
        shared = bool(wf.config.get("pooled_refit_dates"))
        for label, sec in wf.seconds.items():
            if shared and label in wf.config.get("pooled_labels", ()):
                seconds[label] = max(seconds.get(label, 0.0), sec)
            else:
                seconds[label] = seconds.get(label, 0.0) + sec
    return seconds


def run_forecast(config: ForecastConfig, executor=None, log=None, report_extra: Optional[dict] = None,
                 notes: Optional[list] = None, t0: Optional[float] = None,
                 out_dir: Optional[OutputDir] = None, book: Optional[dict] = None,
                 meanwhile: Optional[Callable] = None) -> ForecastResult:
    """Load, build, walk forward, score, backtest and (if ``config.out``) write the report.

    ``executor``: any ``concurrent.futures.Executor`` for the walk-forward tasks; when ``None``,
    :func:`~tinygrad_trade.vol.runs.cluster.open_executor` makes one from ``config.scheduler`` (Dask) and
    ``config.workers`` (a process pool when > 1). ``log``: a callable for one-line progress notes (default:
    stderr unless ``config.quiet``). ``report_extra``: extra report.md sections (see
    :func:`tinygrad_trade.vol.report.writer.write_report`); ``notes``: remarks for the report; ``t0``:
    ``time.perf_counter()`` at the start of the job (for the run time in report.md); ``out_dir``: an open
    :class:`~tinygrad_trade.vol.jobs.outdir.OutputDir` to write into (the caller commits it); by default
    ``config.out`` is opened here (see :mod:`~tinygrad_trade.vol.jobs.outdir`). ``book``: ``{asset: weight}``
    (``--book``): the book's walk-forward too (:mod:`.book`): metrics.json's "book" block, book.csv and a
    report section; without it nothing changes. ``meanwhile(pool)``: the caller's own work (e.g. the demo's extra
    sections), called once while the walk-forward runs (before it without an executor) with the run's process pool
    when it is one on this machine (else None) to submit its work to; it may return a function, called before the
    report is written, that collects that work.
    """
    t0 = time.perf_counter() if t0 is None else t0
    if log is None:
        log = messenger(config.quiet)
    asked = config
    defaulted = config.models is None
    config, skipped = resolve_models(config)
    config = validate(config)
    check_dist(config.dist, config.models, explicit=not defaulted)
    if config.out is not None and out_dir is None:
        with prepare_out(config.out, config.force, (*csv_list(config.csv), config.rv)) as out:
            return run_forecast(asked, executor, log, report_extra, notes, t0, out_dir=out, book=book,
                                meanwhile=meanwhile)
    hs = horizons_of(config)
    if len(hs) > 1:
        done = meanwhile(None) if meanwhile is not None else None
        if done is not None:
            done()
        return _run_horizons(asked, config, hs, executor, log, report_extra, notes, t0, out_dir)
    notes = list(notes or []) + skipped
    found = []
    if config.rv:
        ds = load_dataset(config, found)
        datasets = {ds.source or "rv": ds}
    else:
        frames = load_frames(config, found)
        for data in frames.values():   # how each file was read, where that was a choice
            notes.extend(n for n in data.facts.notes if n not in notes)
        config = check_close_only(frames, config, defaulted, notes)
        if book is not None:
            check_book(frames, book)
        datasets = {name: build_asset_dataset(data, config) for name, data in frames.items()}
    for f in found:
        say(f"warning: {f}", logging.WARNING)   # even with --quiet: the numbers may be wrong
    specs = model_specs(config)
    check_models_exist(specs)
    starts, stops = _spans(datasets, config, notes, any(is_pooled(s) for s in specs))
    t_data = time.perf_counter() - t0
    for note in notes:
        log(f"note: {note}")
    if len(datasets) == 1:
        ds, first, stop = next(iter(datasets.values())), next(iter(starts.values())), next(iter(stops.values()))
        log(f"walk-forward: {len(specs)} model(s), {stop - first} forecast days "
            f"{ds.dates[first]}..{ds.dates[stop - 1]}, refit every {config.refit_every}")
    else:
        days = sum(max(stops[n] - starts[n], 0) for n in datasets)
        log(f"walk-forward: {len(specs)} model(s) on {len(datasets)} assets, {days} asset-days, "
            f"refit every {config.refit_every}")
    t1 = time.perf_counter()
    risk = {}     # asset -> {model: risk entry (or its future)}, each started as soon as its model is done
    finish = []   # what meanwhile() returned

    with _executor(executor, config) as ex:   # --scheduler (Dask) / --workers
        pool = _local_pool(ex)

        def on_model(_key, label, model_walks):
            # on a local pool: a job queued behind the walk-forward's (this process stays idle, the longest
            # chain keeps its core); else here, while the other models run
            for name, wf in model_walks.items():
                if label in wf.forecasts:
                    job = (datasets[name].horizon, wf, label, config)
                    risk.setdefault(name, {})[label] = (pool.submit(_model_risk, *job) if pool is not None
                                                        else _model_risk(*job))

        # a sweep of one seed: every asset x model task at once, each dataset scattered once on Dask
        walks = sweep(datasets, specs, seeds=(config.seed,), start=starts, stop=stops,
                      refit_every=config.refit_every, window=config.window, executor=ex, progress=not config.quiet,
                      assets_of=config.model_assets or None, on_model=on_model,
                      meanwhile=lambda: _meanwhile(meanwhile, pool, out_dir, finish)).by_asset(config.seed)
        book_walk = None if book is None or config.rv else run_book_forecast(frames, book, config, ex)
        t_wf = time.perf_counter() - t1
        risk = {name: {k: e for k, v in entries.items() if (e := _settled(v)) is not None}
                for name, entries in risk.items()}
        for w in _kept_fits(walks):
            say(f"warning: {w}", logging.WARNING)
        if len(datasets) == 1:
            name = next(iter(datasets))
            metrics = compute_metrics(datasets[name], walks[name], config, risk.get(name))
        else:
            metrics = universe_metrics(datasets, walks, config, risk)
        res = ForecastResult(config=config, datasets=datasets, walks=walks, metrics=metrics,
                             timings={"data": t_data, "walk_forward": t_wf, "models": _model_seconds(walks)},
                             notes=notes, data_checks=found, book=book_walk)
        if book_walk is not None:
            metrics["book"] = book_walk.metrics
        for done in finish:
            if done is not None:
                done()
        if out_dir is not None:
            res.timings["total"] = time.perf_counter() - t0
            writer = write_report if res.single else write_universe_report
            book_paths = {}
            if book_walk is not None:   # book.csv, its plots and a report section
                book_paths, section = write_book_files(book_walk, out_dir.dir)
                report_extra = {**(report_extra or {}),
                                "sections": [*(report_extra or {}).get("sections", []), section]}
            # the plots are drawn on the pool's workers when it is a local process pool
            staged = writer(res, out_dir.dir, report_extra, executor=pool)
            staged.update(book_paths)
            res.paths = {k: out_dir.final(p) for k, p in staged.items()}
    res.timings["total"] = time.perf_counter() - t0
    return res


def _run_horizons(asked: ForecastConfig, config: ForecastConfig, horizons: tuple, executor, log, report_extra,
                  notes, t0: float, out_dir) -> ForecastResult:
    """Several horizons in one run: the one-horizon run of each (same data, models, seed and refit dates: a
    horizon's forecast days end h-1 days before the data's), under ``by_horizon``; metrics.json holds
    ``{"horizons": {"h": <the one-horizon object>}, "config": ...}`` (see docs/api.md)."""
    by_h = {}
    with _executor(executor, config) as ex:
        for h in horizons:
            log(f"horizon {h}:")
            sub = run_forecast(dataclasses.replace(asked, horizon=int(h), out=None), ex, log, None, notes,
                               time.perf_counter())
            sub.metrics = _echo_out(sub.metrics, config.out, sub.single)
            by_h[int(h)] = sub
    first = by_h[horizons[0]]
    cfg = config.to_dict()
    metrics = json_clean({"horizons": {str(h): r.metrics for h, r in by_h.items()}, "config": cfg})
    timings = {"data": sum(r.timings["data"] for r in by_h.values()),
               "walk_forward": sum(r.timings["walk_forward"] for r in by_h.values()),
               "models": {k: sum(r.timings["models"].get(k, 0.0) for r in by_h.values())
                          for k in first.timings["models"]}}
    res = ForecastResult(config=config, datasets=first.datasets, walks=first.walks, metrics=metrics,
                         timings=timings, notes=list(dict.fromkeys(n for r in by_h.values() for n in r.notes)),
                         data_checks=first.data_checks, by_horizon=by_h)
    if out_dir is not None:
        res.timings["total"] = time.perf_counter() - t0
        staged = write_horizons_report(res, out_dir.dir, report_extra)
        res.paths = {k: out_dir.final(p) for k, p in staged.items()}
    res.timings["total"] = time.perf_counter() - t0
    return res


def _echo_out(metrics: dict, out, single: bool) -> dict:
    """A horizon's metrics with the run's ``--out`` in its config echo (it ran without writing)."""
    if single:
        metrics["config"]["out"] = out
    else:
        for m in metrics["assets"].values():
            m["config"]["out"] = out
    return metrics
