"""The settings of a forecasting run: :class:`ForecastConfig` (every option of ``tinygrad-trade forecast``), its
validation (one-line ``ValueError`` per bad option), the model lists, and the specs the runs layer builds models from.

Kept apart from the job itself (:mod:`.forecast`) so that ``predict`` and the demo read the same rules without
importing the job.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..data.loading import MAX_FILE_MB
from ..data.records import ReadOptions
from ..features.dataset import PRICE_TARGETS
from ..evaluation.var_backtests import LEVELS as RISK_LEVELS
from ..evaluation.var_walk import check_levels
from ..models.registry import DISTS, GARCH_FAMILY, takes_dist
from ..models.registry import available_models as registered_models
from ..runs.cluster import check_scheduler
from ..runs.tasks import ModelSpec
from .outdir import output_dir

__all__ = ["ForecastConfig", "available_models", "resolve_models", "validate", "prepare_out", "model_specs",
           "check_models_exist", "known_models", "csv_list", "positive_int", "positive_float", "parse_date",
           "json_clean", "horizons_of", "CLOSE_MODELS", "UNIVERSES", "DEFAULT_MODELS", "CLASSICAL_MODELS", "NEURAL_MODELS",
           "RETURN_MODELS", "KNOWN_MODELS", "GARCH_NAMES", "RISK_LEVELS", "check_dist", "MIN_HISTORY", "MIN_FORECASTS", "MIN_WINDOW", "BENCHMARK"]

CLASSICAL_MODELS = ("ewma", "garch", "gjr", "har", "har_r2")
NEURAL_MODELS = ("mlp", "gru")
POOLED_NETS = ("pooled_mlp", "pooled_gru")     # nets trained across the universe: seeded, --epochs applies
KNOWN_MODELS = CLASSICAL_MODELS + NEURAL_MODELS
DEFAULT_MODELS = ("ewma", "garch", "gjr", "har", "mlp", "gru")
GARCH_NAMES = GARCH_FAMILY + tuple(f"{v}_{d}" for v in GARCH_FAMILY for d in DISTS[1:])   # gjr_skewt ...
RETURN_MODELS = ("ewma", "garch", "gjr", "har_r2") + GARCH_NAMES[2:]   # need daily returns: not for RV files
CLOSE_MODELS = ("ewma", "garch", "gjr", "har_r2") + GARCH_NAMES[2:]    # need closes only: what a close-only file supports
UNIVERSES = ("embedded",)
BENCHMARK = "har"
MIN_HISTORY = 252     # days of data before the first forecast (the first fit needs a year)
MIN_FORECASTS = 22    # forecast days needed for the metrics to mean anything
MIN_WINDOW = 63       # shortest rolling window (--window)
READ_DEFAULTS = {"missing": "error", "price_column": None, "decimal": None, "dayfirst": None}


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
    horizon: object = 1                  # an int, or a tuple of them (several horizons in one run)
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
    max_file_mb: float = MAX_FILE_MB     # largest input file read, MB after unpacking (--max-file-mb)
    missing: str = "error"               # --missing: "skip" drops the rows without a price
    price_column: Optional[str] = None   # --price-column: the column that holds the closes
    decimal: Optional[str] = None        # --decimal: "." or ","; None: detected
    dayfirst: Optional[bool] = None      # --dayfirst / --no-dayfirst; None: detected

    def read_options(self) -> ReadOptions:
        """How the price files are read (one-line ``ValueError`` naming the option for a bad value)."""
        return ReadOptions(missing=self.missing, price_column=self.price_column, decimal=self.decimal,
                           dayfirst=self.dayfirst)
    dist: Optional[str] = None           # error law of the GARCH family (--dist); None: each model's own (normal)
    risk_levels: tuple = RISK_LEVELS     # VaR/ES levels (--risk-levels), fractions in (0, 0.5)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("force")                   # how the files are written, not what they hold
        d.pop("max_file_mb")             # how the files are read, not what they hold
        for key, default in READ_DEFAULTS.items():   # reading choices: echoed when they were made
            if d[key] == default:
                d.pop(key)
        d["models"] = None if self.models is None else list(self.models)
        hs = horizons_of(self)
        d["horizon"] = hs[0] if len(hs) == 1 else list(hs)   # one horizon: the int of a one-horizon run
        paths = csv_list(self.csv)
        d["csv"] = None if not paths else paths[0] if len(paths) == 1 else paths   # one file: a string
        d["costs_bps"] = [float(c) for c in self.costs_bps]
        d["risk_levels"] = [float(a) for a in self.risk_levels]
        return d


# ------------------------------------------------------------------------------------ validation
def csv_list(csv) -> list:
    """``--csv`` as a list of paths (one path or several)."""
    if csv is None:
        return []
    if isinstance(csv, (str, os.PathLike)):
        return [os.fspath(csv)]
    return [os.fspath(c) for c in csv]


def horizons_of(config) -> tuple:
    """``config.horizon`` as a tuple of ints (``--horizon 5`` -> ``(5,)``; ``--horizon 1,5,22`` -> ``(1, 5, 22)``)."""
    h = config.horizon
    if isinstance(h, (list, tuple)):
        return tuple(int(x) if isinstance(x, (int, np.integer)) and not isinstance(x, bool) else x for x in h)
    return (h,)


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def parse_date(value, name: str) -> np.datetime64:
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


def known_models() -> tuple:
    """The documented names plus whatever the registry (``vol.models.MODELS``) offers."""
    return tuple(dict.fromkeys(KNOWN_MODELS + tuple(registered_models())))


def validate(config: ForecastConfig) -> ForecastConfig:
    """Check every option (one-line ``ValueError``); returns the config with the target filled in."""
    if config.csv and config.rv:
        raise ValueError("give either a price file (--csv) or a realized-variance file (--rv), not both")
    if config.universe is not None:
        if config.universe not in UNIVERSES:
            raise ValueError(f"unknown --universe {config.universe!r} (choose from {', '.join(UNIVERSES)})")
        if config.csv or config.rv:
            raise ValueError("give either --universe or data files (--csv / --rv), not both")
    if config.csv is not None and not csv_list(config.csv):
        raise ValueError("--csv needs at least one file")
    config.read_options()
    positive_int(config.refit_every, "--refit-every")
    hs = horizons_of(config)
    if not hs:
        raise ValueError("--horizon needs at least one positive integer")
    for h in hs:
        positive_int(h, "--horizon")
    dup = sorted({h for h in hs if hs.count(h) > 1})
    if dup:
        raise ValueError(f"horizon {dup[0]} is listed twice in --horizon")
    if config.window is not None:
        positive_int(config.window, "--window")
        if config.window < MIN_WINDOW:
            raise ValueError(f"--window must be at least {MIN_WINDOW} days (HAR needs 22 days of lags and every "
                             f"model a few months of pairs), got {config.window}")
    if isinstance(config.seed, bool) or not isinstance(config.seed, (int, np.integer)) or config.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {config.seed!r}")
    positive_int(config.workers, "--workers")
    check_scheduler(config.scheduler)
    positive_int(config.dm_lags + 1, "dm_lags + 1")
    if config.epochs is not None:
        positive_int(config.epochs, "--epochs")
    positive_float(config.target_vol, "--target-vol")
    positive_float(config.max_leverage, "--max-leverage")
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
    parse_date(config.start, "--start")
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
    known = known_models()
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
    check_dist(config.dist, models, explicit=False)   # the job checks listed models (it knows which were asked)
    return dataclasses.replace(config, target=target, models=models, risk_levels=check_levels(config.risk_levels),
                               horizon=hs[0] if len(hs) == 1 else tuple(hs),
                               costs_bps=tuple(float(c) for c in config.costs_bps))


def check_dist(dist, models, explicit: bool = True) -> None:
    """``--dist``: a known law, and (for models the user listed) only models that take one (one-line ValueError)."""
    if dist is None:
        return
    if dist not in DISTS:
        raise ValueError(f"unknown --dist {dist!r} (choose from {', '.join(DISTS)})")
    if not any(takes_dist(m) for m in models):
        raise ValueError(f"--dist {dist}: none of the models takes an error law (only {', '.join(GARCH_FAMILY)} do)")
    bad = [m for m in models if not takes_dist(m)]
    if bad and explicit:
        raise ValueError(f"--dist {dist}: model {bad[0]!r} cannot take an error law (only {', '.join(GARCH_FAMILY)} "
                         f"do); to mix, name the variant instead: --models {bad[0]},gjr_{dist}")


def prepare_out(out, force: bool = False, inputs=()):
    """Check the output folder and take its lock before any long work (one-line ``OutputError``, a
    ``ValueError``); a context manager that stages the files and moves them in at the end
    (:func:`tinygrad_trade.vol.outdir.output_dir`)."""
    return output_dir(out, force=force, inputs=[i for i in inputs if i])


# ------------------------------------------------------------------------------------ models
def model_specs(config: ForecastConfig) -> list:
    """One :class:`ModelSpec` per model: registry name + options (seed and epochs for the nets;
    ``proxy="rv"`` for ``har`` on a realized-variance file)."""
    specs = []
    for name in config.models:
        opts = dict(config.model_options.get(name, {}))
        label = None
        if config.dist is not None and takes_dist(name):
            opts.setdefault("dist", config.dist)
            opts.setdefault("on_failure", "keep")    # a refit that does not converge keeps the last fit, warns
            label = name if config.dist == "normal" else f"{name}_{config.dist}"
        if name == "har" and config.rv:
            opts.setdefault("proxy", "rv")   # HAR-RV: the realized-variance file has no Parkinson proxy
        if name in NEURAL_MODELS + POOLED_NETS:
            opts.setdefault("seed", int(config.seed))
            if config.quiet or config.workers > 1 or config.scheduler:
                opts.setdefault("progress", False)   # no epoch bars either; elsewhere, one bar in the driver
            if config.epochs is not None:
                opts.setdefault("epochs", int(config.epochs))
        specs.append(ModelSpec(name, opts, label=label))
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


def check_models_exist(specs) -> None:
    for spec in specs:
        try:
            spec.build()
        except ImportError as exc:
            raise ValueError(f"model {spec.name!r} is not available ({exc})") from None
        except (KeyError, LookupError):
            raise ValueError(f"model {spec.name!r} is not available in this version") from None


def json_clean(x):
    """Plain JSON: numpy scalars -> Python, non-finite floats -> None."""
    if isinstance(x, dict):
        return {str(k): json_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.ndarray):
        return json_clean(x.tolist())
    return x
