"""The whole forecasting job behind ``tinygrad-trade forecast`` and ``tinygrad-trade demo``.

    from tinygrad_trade.vol.pipeline import ForecastConfig, run_forecast
    res = run_forecast(ForecastConfig(models=("ewma", "garch", "gjr", "har"), out="report"))
    res.metrics["models"]["har"]["qlike"]

:func:`run_forecast` loads the data (a price CSV, a realized-variance CSV or the embedded S&P 500),
builds the :class:`~tinygrad_trade.vol.base.Dataset`, runs the walk-forward of every model
(:mod:`~tinygrad_trade.vol.walkforward`), scores the forecasts (:mod:`~tinygrad_trade.vol.evaluation`),
backtests volatility targeting (:mod:`~tinygrad_trade.vol.backtest`) and, when ``config.out`` is set,
writes ``metrics.json``, ``forecasts.csv``, ``report.md`` and the plots (:mod:`~tinygrad_trade.vol.report`).

Bad input raises ``ValueError`` (``vol.data.DataError`` for data files) with a one-line message.
``metrics`` depends only on the configuration and the data (no timings): the same seed gives the
same ``metrics.json``, with any number of workers.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..log import messenger, say
from . import data as vdata
from .backtest import backtest_table
from .base import Dataset
from .dataset import PRICE_TARGETS, build_dataset, build_rv_dataset
from .cluster import check_scheduler, open_executor
from .evaluation import dm_table, evaluate
from .outdir import OutputDir, output_dir
from .walkforward import ModelSpec, WalkForwardResult, first_index, forecast_stop, walk_forward

__all__ = ["ForecastConfig", "ForecastResults", "run_forecast", "available_models",
           "resolve_models", "validate", "prepare_out", "load_dataset", "load_frames", "check_close_only",
           "build_asset_dataset", "model_specs", "compute_metrics", "CLOSE_MODELS", "UNIVERSES",
           "DEFAULT_MODELS", "CLASSICAL_MODELS", "NEURAL_MODELS", "RETURN_MODELS", "KNOWN_MODELS",
           "MIN_HISTORY", "MIN_FORECASTS", "MIN_WINDOW", "BENCHMARK"]

CLASSICAL_MODELS = ("ewma", "garch", "gjr", "har", "har_r2")
NEURAL_MODELS = ("mlp", "gru")
KNOWN_MODELS = CLASSICAL_MODELS + NEURAL_MODELS
DEFAULT_MODELS = ("ewma", "garch", "gjr", "har", "mlp", "gru")
RETURN_MODELS = ("ewma", "garch", "gjr", "har_r2")   # need daily returns: not for realized-variance files
CLOSE_MODELS = ("ewma", "garch", "gjr", "har_r2")    # need closes only: the models a close-only file supports
UNIVERSES = ("embedded",)
BENCHMARK = "har"
MIN_HISTORY = 252     # days of data before the first forecast (the first fit needs a year)
MIN_FORECASTS = 22    # forecast days needed for the metrics to mean anything
MIN_WINDOW = 63       # shortest rolling window (--window)


@dataclass
class ForecastConfig:
    """Every option of ``tinygrad-trade forecast`` (the CLI flags have the same names)."""

    csv: Optional[object] = None         # daily price CSV, or several (a universe); none: the embedded S&P 500
    universe: Optional[str] = None       # "embedded": the S&P 500 + AAPL, GOOG, IBM
    rv: Optional[str] = None             # realized-variance CSV (target "rv")
    rv_column: str = "RV"
    out: Optional[str] = "tinygrad-trade-report"   # None: write nothing
    start: str = "2008-01-01"            # first target day to forecast
    window: Optional[int] = None         # None: expanding window; N: the last N days before each refit
    refit_every: int = 21
    horizon: int = 1
    target: Optional[str] = None         # "r2" (prices) / "rv" (RV files) when None
    models: Optional[tuple] = None       # None: every default model the registry offers (see resolve_models)
    target_vol: float = 10.0
    max_leverage: float = 2.0
    costs_bps: tuple = (0.0, 2.0, 10.0)
    return_accounting: str = "simple"    # "simple" (exact) or "log" (the reference figures' convention)
    seed: int = 0
    workers: int = 1
    scheduler: Optional[str] = None      # None: this process / a process pool; "local" or "tcp://host:port": Dask
    epochs: Optional[int] = None         # neural models: training epochs per fit (None: their default)
    dm_lags: int = 5
    quiet: bool = False                  # no progress bars
    model_options: dict = field(default_factory=dict)   # name -> extra options for get_model
    model_assets: dict = field(default_factory=dict)    # name -> the assets it runs on in a universe (default all)
    force: bool = False                  # write into an --out folder holding files the tool did not write

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("force")                   # how the files are written, not what they hold
        d["models"] = None if self.models is None else list(self.models)
        paths = _csv_list(self.csv)
        d["csv"] = None if not paths else paths[0] if len(paths) == 1 else paths   # one file: a string
        d["costs_bps"] = [float(c) for c in self.costs_bps]
        return d


@dataclass
class ForecastResults:
    config: ForecastConfig
    dataset: Dataset
    walk: WalkForwardResult
    metrics: dict                        # exactly what metrics.json holds
    timings: dict                        # seconds: "total", "data", "walk_forward", "models": {label: s}
    notes: list                          # remarks for the report (skipped models, adjusted start...)
    paths: dict = field(default_factory=dict)   # name -> written file (when config.out is set)
    data_checks: list = field(default_factory=list)   # vol.checks.Finding of the data file

    def _repr_html_(self):  # the evaluation as a table in Jupyter
        from .html_tables import forecast_html
        return forecast_html(self)


# ------------------------------------------------------------------------------------ validation
def _csv_list(csv) -> list:
    """``--csv`` as a list of paths (one path or several)."""
    if csv is None:
        return []
    if isinstance(csv, (str, os.PathLike)):
        return [os.fspath(csv)]
    return [os.fspath(c) for c in csv]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def _parse_date(value, name: str) -> np.datetime64:
    try:
        day = np.datetime64(str(value), "D")
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date like 2008-01-01, got {value!r}") from None
    if np.isnat(day):
        raise ValueError(f"{name} must be a date like 2008-01-01, got {value!r}")
    return day


def resolve_models(config: ForecastConfig) -> tuple:
    """``config.models=None`` -> the defaults the registry can build (``DEFAULT_MODELS``; for a
    realized-variance file those without returns: har, mlp, gru). Returns ``(config, notes)``
    with a note for each default model that is not available."""
    if config.models is not None:
        return config, []
    wanted = tuple(m for m in DEFAULT_MODELS if not (config.rv and m in RETURN_MODELS))
    models = available_models(wanted)
    notes = [f"model {m!r} is not available in this version and was skipped" for m in wanted if m not in models]
    return dataclasses.replace(config, models=models), notes


def _known_models() -> tuple:
    """The documented names plus whatever the registry (``vol.models.MODELS``) offers."""
    try:
        from .models import available_models as registry
        extra = tuple(registry())
    except (ImportError, AttributeError):
        extra = ()
    return tuple(dict.fromkeys(KNOWN_MODELS + extra))


def validate(config: ForecastConfig) -> ForecastConfig:
    """Check every option (one-line ``ValueError``); returns the config with the target filled in."""
    if config.csv and config.rv:
        raise ValueError("give either a price file (--csv) or a realized-variance file (--rv), not both")
    if config.universe is not None:
        if config.universe not in UNIVERSES:
            raise ValueError(f"unknown --universe {config.universe!r} (choose from {', '.join(UNIVERSES)})")
        if config.csv or config.rv:
            raise ValueError("give either --universe or data files (--csv / --rv), not both")
    if config.csv is not None and not _csv_list(config.csv):
        raise ValueError("--csv needs at least one file")
    _positive_int(config.refit_every, "--refit-every")
    _positive_int(config.horizon, "--horizon")
    if config.window is not None:
        _positive_int(config.window, "--window")
        if config.window < MIN_WINDOW:
            raise ValueError(f"--window must be at least {MIN_WINDOW} days (HAR needs 22 days of lags and every "
                             f"model a few months of pairs), got {config.window}")
    if isinstance(config.seed, bool) or not isinstance(config.seed, (int, np.integer)) or config.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {config.seed!r}")
    _positive_int(config.workers, "--workers")
    check_scheduler(config.scheduler)
    _positive_int(config.dm_lags + 1, "dm_lags + 1")
    if config.epochs is not None:
        _positive_int(config.epochs, "--epochs")
    _positive_float(config.target_vol, "--target-vol")
    _positive_float(config.max_leverage, "--max-leverage")
    if not config.costs_bps:
        raise ValueError("--cost-bps needs at least one value")
    for c in config.costs_bps:
        try:
            ok = math.isfinite(float(c)) and float(c) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"--cost-bps values must be non-negative numbers, got {c!r}")
    if config.return_accounting not in ("simple", "log"):
        raise ValueError(f"--return-accounting must be 'simple' or 'log', got {config.return_accounting!r}")
    _parse_date(config.start, "--start")
    target = config.target or ("rv" if config.rv else "r2")
    if config.rv and target != "rv":
        raise ValueError(f"--target {target} needs prices; a realized-variance file (--rv) has the target 'rv'")
    if not config.rv and target not in PRICE_TARGETS:
        if target == "rv":
            raise ValueError("--target rv needs a realized-variance file (--rv FILE)")
        raise ValueError(f"unknown --target {target!r} (choose from {', '.join(PRICE_TARGETS)}, or rv with --rv)")
    config, _ = resolve_models(config)
    models = tuple(config.models)
    if not models:
        raise ValueError("--models needs at least one model")
    known = _known_models()
    unknown = [m for m in models if m not in known and ":" not in m]   # "package.module:Class" is imported
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r} (choose from {', '.join(known)})")
    dup = sorted({m for m in models if models.count(m) > 1})
    if dup:
        raise ValueError(f"model {dup[0]!r} is listed twice in --models")
    if config.rv:
        bad = [m for m in models if m in RETURN_MODELS]
        if bad:
            raise ValueError(f"model {bad[0]!r} needs daily returns, which a realized-variance file does not have")
    return dataclasses.replace(config, target=target, models=models,
                               costs_bps=tuple(float(c) for c in config.costs_bps))


def prepare_out(out, force: bool = False, inputs=()):
    """Check the output folder and take its lock before any long work (one-line ``OutputError``, a
    ``ValueError``); a context manager that stages the files and moves them in at the end
    (:func:`tinygrad_trade.vol.outdir.output_dir`)."""
    return output_dir(out, force=force, inputs=[i for i in inputs if i])


# ------------------------------------------------------------------------------------ data
def load_frames(config: ForecastConfig, findings: Optional[list] = None) -> dict:
    """The configured price data as ``{asset: frame}`` (one asset unless a universe was asked for).

    Warnings of the loaders (stale opens, data checks) are silenced; the data checks' findings are appended to
    ``findings`` when given. Realized-variance files go through :func:`load_dataset`. Every asset needs a year
    of history and some forecast days."""
    from .assets import load_embedded_universe, load_universe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if config.universe == "embedded":
            frames = load_embedded_universe()
        elif config.csv:
            frames = load_universe(_csv_list(config.csv))
        else:
            frames = {vdata.SP500_FILE: vdata.load_sp500()}
    need = MIN_HISTORY + MIN_FORECASTS + config.horizon
    for df in frames.values():
        if findings is not None:
            findings.extend(df.attrs.get("data_checks", ()))
        vdata.require_rows(df, need, f"walk-forward forecasting (a year of history, {MIN_FORECASTS} "
                                     f"forecasts, horizon {config.horizon})")
    return frames


def check_close_only(frames: dict, config: ForecastConfig, defaulted: bool, notes: list) -> ForecastConfig:
    """Close-only data (Date, Close[, Adj Close]) supports only ``CLOSE_MODELS`` and the target r2.

    Default models are narrowed to those (with a note); an explicit range-based model is a one-line error
    naming the model and the missing columns."""
    from .assets import is_close_only

    close_only = [name for name, df in frames.items() if is_close_only(df)]
    if not close_only:
        return config
    df = frames[close_only[0]]
    file = df.attrs.get("source") or close_only[0]
    if (config.target or "r2") != "r2":
        raise ValueError(f"--target {config.target} needs Open, High, Low, which {file} lacks (close-only file)")
    bad = [m for m in config.models if m not in CLOSE_MODELS]
    if bad and not defaulted:
        raise ValueError(f"model {bad[0]!r} needs the columns Open, High, Low, which {file} lacks "
                         f"(a close-only file supports {', '.join(CLOSE_MODELS)})")
    if bad:
        notes.append(f"{file} has closes only: {', '.join(bad)} skipped (they need Open, High, Low)")
        config = dataclasses.replace(config, models=tuple(m for m in config.models if m in CLOSE_MODELS))
    return config


def build_asset_dataset(df, config: ForecastConfig) -> Dataset:
    """The Dataset of one asset's price frame under the configured target and horizon."""
    return build_dataset(df, target=config.target or "r2", horizon=config.horizon)


def load_dataset(config: ForecastConfig, findings: Optional[list] = None) -> Dataset:
    """The configured data as a Dataset (one asset: the first of a universe); warnings of the loaders are
    silenced and the data checks' findings appended to ``findings`` when given."""
    if config.rv:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = vdata.load_realized(config.rv, config.rv_column)
        if findings is not None:
            findings.extend(df.attrs.get("data_checks", ()))
        vdata.require_rows(df, MIN_HISTORY + MIN_FORECASTS + config.horizon,
                           f"walk-forward forecasting (a year of history, {MIN_FORECASTS} "
                           f"forecasts, horizon {config.horizon})")
        return build_rv_dataset(df, horizon=config.horizon)
    return build_asset_dataset(next(iter(load_frames(config, findings).values())), config)


def _first_forecast(ds: Dataset, config: ForecastConfig, notes: list) -> tuple[int, int]:
    start = _parse_date(config.start, "--start")
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


# ------------------------------------------------------------------------------------ models
def model_specs(config: ForecastConfig) -> list:
    """One :class:`ModelSpec` per model: registry name + options (seed and epochs for the nets;
    ``proxy="rv"`` for ``har`` on a realized-variance file)."""
    specs = []
    for name in config.models:
        opts = dict(config.model_options.get(name, {}))
        if name == "har" and config.rv:
            opts.setdefault("proxy", "rv")   # HAR-RV: the realized-variance file has no Parkinson proxy
        if name in NEURAL_MODELS:
            opts.setdefault("seed", int(config.seed))
            if config.quiet or config.workers > 1 or config.scheduler:
                opts.setdefault("progress", False)   # no epoch bars either; elsewhere, one bar in the driver
            if config.epochs is not None:
                opts.setdefault("epochs", int(config.epochs))
        specs.append(ModelSpec(name, opts))
    return specs


def available_models(names=DEFAULT_MODELS) -> tuple:
    """The models of ``names`` that the registry (``vol.models.get_model``) can build, in order."""
    out = []
    for name in names:
        try:
            ModelSpec(name).build()
        except (ImportError, LookupError, ValueError, TypeError):
            continue
        out.append(name)
    return tuple(out)


def _check_models_exist(specs) -> None:
    for spec in specs:
        try:
            spec.build()
        except ImportError as exc:
            raise ValueError(f"model {spec.name!r} is not available ({exc})") from None
        except (KeyError, LookupError):
            raise ValueError(f"model {spec.name!r} is not available in this version") from None


def _json_clean(x):
    """Plain JSON: numpy scalars -> Python, non-finite floats -> None."""
    if isinstance(x, dict):
        return {str(k): _json_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.ndarray):
        return _json_clean(x.tolist())
    return x


def compute_metrics(ds: Dataset, wf: WalkForwardResult, config: ForecastConfig) -> dict:
    """The content of metrics.json (models, dm_vs_har, backtest, risk, config)."""
    y = wf.target
    models = evaluate(y, wf.forecasts)
    for name, m in models.items():
        if BENCHMARK in models and name != BENCHMARK:
            m["qlike_vs_har_pct"] = 100.0 * (models[BENCHMARK]["qlike"] - m["qlike"]) / abs(models[BENCHMARK]["qlike"])
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
    risk = _risk_section(ds, wf)
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
    cfg["benchmark"] = BENCHMARK
    cfg["model_specs"] = [{**m, "options": {k: v for k, v in m["options"].items() if k != "progress"}}
                          for m in wf.config["models"]]
    return _json_clean({"models": models, "dm_vs_har": dm, "backtest": bt, "risk": risk, "config": cfg})


def _risk_section(ds: Dataset, wf: WalkForwardResult) -> dict:
    """1-day VaR/ES backtests of every model (``vol.risk.risk_metrics``); ``{}`` without returns or
    for a horizon above 1 (the forecasts are then of a multi-day mean, not of the next day)."""
    from .risk import risk_metrics

    if ds.horizon != 1 or not np.all(np.isfinite(wf.returns)):
        return {}
    return risk_metrics(wf.returns, wf.forecasts, wf.dates)


# ------------------------------------------------------------------------------------ the job
def _executor(executor, config: ForecastConfig):
    """The caller's executor as is, else one opened (and closed) from ``--scheduler``/``--workers``."""
    if executor is not None:
        from contextlib import nullcontext
        return nullcontext(executor)
    return open_executor(config.scheduler, config.workers)


def run_forecast(config: ForecastConfig, executor=None, log=None, report_extra: Optional[dict] = None,
                 notes: Optional[list] = None, t0: Optional[float] = None,
                 out_dir: Optional[OutputDir] = None) -> ForecastResults:
    """Load, build, walk forward, score, backtest and (if ``config.out``) write the report.

    ``executor``: any ``concurrent.futures.Executor`` for the walk-forward tasks; when ``None``,
    :func:`~tinygrad_trade.vol.cluster.open_executor` makes one from ``config.scheduler`` (Dask) and
    ``config.workers`` (a process pool when > 1). ``log``: a callable
    for one-line progress notes (default: stderr unless ``config.quiet``). ``report_extra``: extra
    report.md sections (see :func:`tinygrad_trade.vol.report.write_report`); ``notes``: remarks for the
    report; ``t0``: ``time.perf_counter()`` at the start of the job (for the run time in report.md);
    ``out_dir``: an open :class:`~tinygrad_trade.vol.outdir.OutputDir` to write into (the caller
    commits it); by default ``config.out`` is opened here (see :mod:`~tinygrad_trade.vol.outdir`).
    """
    t0 = time.perf_counter() if t0 is None else t0
    if log is None:
        log = messenger(config.quiet)
    asked = config
    defaulted = config.models is None
    config, skipped = resolve_models(config)
    config = validate(config)
    if config.out is not None and out_dir is None:
        with prepare_out(config.out, config.force, (*_csv_list(config.csv), config.rv)) as out:
            return run_forecast(asked, executor, log, report_extra, notes, t0, out_dir=out)
    notes = list(notes or []) + skipped
    found, frames = [], None
    if config.rv:
        ds = load_dataset(config, found)
    else:
        frames = load_frames(config, found)
        config = check_close_only(frames, config, defaulted, notes)
    for f in found:
        say(f"warning: {f}", logging.WARNING)   # even with --quiet: the numbers may be wrong
    if frames is not None and len(frames) > 1:
        from .universe_run import run_universe_forecast
        return run_universe_forecast(config, frames, executor=executor, log=log, report_extra=report_extra,
                                     notes=notes, t0=t0, out_dir=out_dir, data_checks=found)
    if frames is not None:
        ds = build_asset_dataset(next(iter(frames.values())), config)
    first, stop = _first_forecast(ds, config, notes)
    specs = model_specs(config)
    _check_models_exist(specs)
    t_data = time.perf_counter() - t0
    for note in notes:
        log(f"note: {note}")
    log(f"walk-forward: {len(specs)} model(s), {stop - first} forecast days "
        f"{ds.dates[first]}..{ds.dates[stop - 1]}, refit every {config.refit_every}")

    t1 = time.perf_counter()
    with _executor(executor, config) as ex:
        wf = walk_forward(ds, specs, start=first, stop=stop, refit_every=config.refit_every,
                          window=config.window, seed=config.seed, executor=ex,
                          progress=not config.quiet)
    t_wf = time.perf_counter() - t1

    metrics = compute_metrics(ds, wf, config)
    res = ForecastResults(config=config, dataset=ds, walk=wf, metrics=metrics,
                          timings={"data": t_data, "walk_forward": t_wf, "models": dict(wf.seconds)},
                          notes=notes, data_checks=found)
    if out_dir is not None:
        from .report import write_report
        res.timings["total"] = time.perf_counter() - t0
        staged = write_report(res, out_dir.dir, report_extra)
        res.paths = {k: out_dir.final(p) for k, p in staged.items()}
    res.timings["total"] = time.perf_counter() - t0
    return res


# ------------------------------------------------------------------------------------ the demo
_DEMO_NAMES = ("run_demo", "demo_config", "garch_summary", "draw_backprop_graph", "GRAPH_FILE", "DEMO_QUICK",
               "DEMO_EXTRA")


def __getattr__(name):
    """The demo job lives in :mod:`tinygrad_trade.vol.demo`; its names stay importable from here."""
    if name in _DEMO_NAMES:
        from . import demo
        return getattr(demo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
