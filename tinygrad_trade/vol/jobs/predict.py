"""Next-day forecasts after the last close: the job behind ``tinygrad-trade predict``.

    from tinygrad_trade.vol.predict import PredictConfig, run_predict
    res = run_predict(PredictConfig(csv=("prices.csv",), models=("garch", "har"), horizons=(1, 5, 22)))
    res.table          # one row per asset, model and horizon (a pandas DataFrame)

Every model is fitted on all the data (the estimators and defaults of ``tinygrad-trade forecast``,
target r^2) and forecasts, for each horizon ``h``, the mean daily variance over the next ``h``
trading days ``T+1 .. T+h`` after the last date ``T``. Those days are dated with the business-day
calendar (Monday to Friday); **holidays are not known**, so a date may fall on a holiday.

Models whose fit does not depend on the target horizon (``garch``, ``gjr``, ``ewma`` with a fixed
lambda; their ``horizon_free`` attribute) are fitted once and iterate their recursion; the others
(``har``, ``har_r2``, the nets) are direct: one fit per horizon, as ``forecast --horizon h`` does.
A pooled model (``pooled``) is fitted once per horizon on the rows of every asset of the run together.

Risk figures are for the next day only, from the horizon-1 model: the position is the volatility
target weight ``min(target_vol / sqrt(252 f), max_leverage)`` and ``var_5, es_5, var_1, es_1`` the
1-day VaR and ES (positive % losses; the journal's columns, always there) plus ``var_2.5, es_2.5`` and any
other of ``risk_levels`` (extra columns at the end). ``risk_method``: ``"auto"`` (default) takes each model's
default method, the one ``forecast`` uses (:func:`~tinygrad_trade.vol.evaluation.var_walk.default_method`):
``"parametric"`` from the fitted law (the GARCH family: its quantile and tail mean at the fitted shape, minus
the mean; other models: normal quantiles), or ``"fhs"``, filtered historical simulation from the model's
in-sample standardised residuals ``r_t / sqrt(f_t)`` (days 60 .. T); ``"normal"``: normal quantiles.
The ``risk_method`` column says which was used. ``dist``: the error law of the GARCH family (``--dist``): the
model ``gjr`` becomes ``gjr_skewt`` (the registry's name), so saved folders rebuild it.

With ``load`` (a folder written by ``save``, :mod:`tinygrad_trade.vol.persistence`) the saved fits
are reused on a longer file: the new days are filtered through them (recursions and features run
forward with the saved parameters); a model is refitted (warm-started from the saved state) only when
at least ``refit_every`` new days have come in since its last fit, as in the walk-forward, and every
decision is reported in ``notes`` and in the ``refit`` column. The loaded history may differ from the saved
one by a vendor's backward rescaling of the prices (a dividend or split; ``rescales``, one note each).

With ``update`` (and ``load`` and ``save``), the engine-trained models learn from the new days between
refits: ``pooled`` by Newton steps from its saved coefficients on the longer window, ``mlp`` and ``gru`` by
a few steps of their saved Adam optimizers (moments and step counts included) on the rows up to the new day;
the classical models filter the new days and refit on their rule as without it. The updated models are saved
into ``save`` (never over ``load``) with their version number one higher; ``predict --journal`` records the
version that made each prediction (``model_version``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..data import loading as vdata
from ..data.assets import asset_name, read_embedded_universe, read_universe
from ..data.records import ReadOptions
from ..evaluation.risk import METHODS, level_key, normal_var_es, quantile_var_es
from ..evaluation.var_walk import check_levels, default_method
from ..features.calendar import business_days, extend_one_day
from ..features.dataset import Dataset, build_dataset
from ..models.base import Forecaster
from ..runs.cluster import check_scheduler, open_executor
from ..runs.book import load_book_fit, save_book_fit
from ..runs.persistence import FittedModel, open_folder, save_models
from ..runs.tasks import Job, portable_spec, run_jobs, task_cost
from ..models.runtime import one_blas_thread
from ..models.registry import takes_dist
from .config import (DEFAULT_MODELS, RISK_LEVELS, ForecastConfig, available_models, check_dist, json_clean,
                     known_models, model_specs, positive_float, positive_int)
from .book import check_book, predict_book, write_book_prediction
from .forecast import check_close_only
from .outdir import output_dir

__all__ = ["PredictConfig", "PredictResult", "PredictResults", "FittedModel", "run_predict", "business_days", "extend_one_day",
           "fit_asset", "fit_panel", "is_pooled", "predict_rows", "load_assets", "COLUMNS", "HORIZONS", "RESID_START",
           "MIN_ROWS", "format_table"]

HORIZONS = (1, 5, 22)
RESID_START = 60        # first day of the in-sample residuals used by FHS (every model has its inputs by then)
MIN_ROWS = 300          # a year of data and room for the nets' validation slice
LEVELS = (0.05, 0.01)   # always in the table (the journal's columns); --risk-levels adds others
RISK_METHODS = ("auto", "parametric") + tuple(METHODS)
PERIODS = 252
COLUMNS = ["asset", "model", "horizon", "first_date", "last_date", "variance", "vol_annual", "position",
           "var_5", "es_5", "var_1", "es_1", "as_of", "fitted_through", "refit", "risk_method"]


@dataclass
class PredictConfig:
    """Every option of ``tinygrad-trade predict`` (the CLI flags have the same names)."""

    csv: tuple = ()                      # price CSV files; none: the embedded S&P 500
    universe: Optional[str] = None       # "embedded": the S&P 500 + AAPL, GOOG, IBM (vol.assets)
    models: Optional[tuple] = None       # None: forecast's defaults (or every model of a loaded folder)
    horizons: Optional[tuple] = None     # None: HORIZONS (or the horizons of a loaded folder)
    out: Optional[str] = "tinygrad-trade-predict"
    json: bool = False
    save: Optional[str] = None
    load: Optional[str] = None
    update: bool = False                 # with load and save: update the engine-trained models from the new days
    risk_method: str = "auto"            # auto: each model's default (forecast's); parametric, fhs, normal
    dist: Optional[str] = None           # error law of the GARCH family (--dist): gjr -> gjr_skewt ...
    risk_levels: tuple = RISK_LEVELS     # VaR/ES levels (--risk-levels); 1% and 5% are always reported
    target_vol: float = 10.0
    max_leverage: float = 2.0
    refit_every: int = 21                # with load: refit when at least this many new days came in
    seed: int = 0
    epochs: Optional[int] = None
    quiet: bool = False
    force: bool = False                  # write --out / --save into folders holding files the tool did not write
    defaulted_models: bool = False       # set by validate: the models are the defaults (close-only data narrows them)
    model_options: dict = field(default_factory=dict)
    workers: int = 1                     # local processes for the fits (results do not depend on it)
    scheduler: Optional[str] = None      # Dask: "local" or "tcp://host:port" (see vol.cluster)
    missing: str = "error"               # how the price files are read: as forecast's --missing,
    price_column: Optional[str] = None   # --price-column,
    decimal: Optional[str] = None        # --decimal
    dayfirst: Optional[bool] = None      # and --dayfirst
    model_assets: dict = field(default_factory=dict)   # name -> the assets it runs on (a mixed universe: OHLC ones)




@dataclass
class PredictResult:
    config: PredictConfig
    table: pd.DataFrame                  # COLUMNS, one row per asset, model and horizon
    fitted: list                         # [FittedModel]
    datasets: dict                       # asset -> horizon-1 Dataset
    frames: dict                         # asset -> DataFile (the price frame and its facts)
    notes: list
    paths: dict = field(default_factory=dict)
    rescales: list = field(default_factory=list)    # [persistence.Rescale]: the vendor's backward rescalings
    book: object = None                  # jobs.book.BookPrediction of --book (None without a book)

    def to_frame(self) -> pd.DataFrame:
        """The predictions (``table``), one row per asset, model and horizon."""
        return self.table.copy()


PredictResults = PredictResult   # the name of round 2


# ------------------------------------------------------------------------------------ dates and data




def load_assets(config: PredictConfig, notes: Optional[list] = None) -> tuple:
    """``([(asset, frame)], models, model_assets)``: the price data (``vol.assets``' loaders: ``--csv`` files, long files with
    an asset column, ``--universe embedded``, else the embedded S&P 500) and the models it supports (a
    close-only file narrows the default models, or refuses a range-based model, as ``forecast`` does; in a mixed
    universe ``model_assets`` names the OHLC assets a range-based model runs on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if config.universe == "embedded":
            frames = read_embedded_universe()
        elif config.csv:
            frames = read_universe(list(config.csv), options=ReadOptions(
                missing=config.missing, price_column=config.price_column, decimal=config.decimal,
                dayfirst=config.dayfirst))
        else:
            frames = {asset_name(vdata.SP500_FILE): vdata.read_sp500()}
    for data in frames.values():
        vdata.require_rows(data, MIN_ROWS, "predict (a year of history for every model)")
    models, model_assets = config.models, {}
    if models is not None:
        fc = check_close_only(frames, ForecastConfig(models=tuple(models)), config.defaulted_models,
                              notes if notes is not None else [])
        models, model_assets = fc.models, fc.model_assets
    return list(frames.items()), models, model_assets


# ------------------------------------------------------------------------------------ models
def _specs(config: PredictConfig) -> list:
    fc = ForecastConfig(models=tuple(config.models), seed=config.seed, epochs=config.epochs, quiet=config.quiet,
                        model_options=config.model_options, workers=config.workers, scheduler=config.scheduler)
    return model_specs(fc)


def _horizon_free(model) -> bool:
    return bool(getattr(model, "horizon_free", False))


def _datasets(df: pd.DataFrame, horizons) -> dict:
    return {h: build_dataset(df, target="r2", horizon=h) for h in sorted(set(horizons) | {1})}


def fit_asset(asset: str, spec, dsets: dict, horizons) -> FittedModel:
    """Fit ``spec``'s model on all of the asset's data: once (horizon-free) or once per horizon."""
    n = len(dsets[1])
    fits = {}
    for h in sorted(set(horizons) | {1}):
        if 1 in fits and _horizon_free(fits[1]):
            fits[h] = fits[1]
            continue
        fits[h] = spec.build().fit(dsets[h], n)
    return FittedModel(asset, spec.name, dict(spec.options), fits, str(dsets[1].dates[-1]), version=1)


def _fit_pinned(asset: str, spec, dsets: dict, horizons) -> FittedModel:
    """:func:`fit_asset` with BLAS on one thread, so that a fit is the same in any process."""
    with one_blas_thread():
        return fit_asset(asset, spec, dsets, horizons)


def _fit_all(pairs, dsets: dict, config: PredictConfig) -> list:
    """Every (asset, spec) fit, here or on ``--workers`` processes / ``--scheduler`` (one progress bar)."""
    jobs = [Job(_fit_pinned, (name, portable_spec(spec), dsets[name], config.horizons),
                task_cost(spec, len(config.horizons)), f"{name}: model {spec.key!r}, full-sample fit")
            for name, spec in pairs]
    with open_executor(config.scheduler, config.workers) as ex:
        return run_jobs(jobs, executor=ex, progress=not config.quiet, desc="fits")


def _restore_one(saved, asset: str, spec, dsets: dict, config: PredictConfig) -> tuple:
    """``(FittedModel, note)`` of one saved model (a picklable job: the same result in any process)."""
    return saved.restore(asset, spec, dsets, config)


def fit_panel(assets: list, spec, dsets: dict, horizons) -> list:
    """A pooled model (``pooled = True``): one fit per horizon on every asset's rows together; one
    :class:`FittedModel` per asset, all sharing those fits."""
    fits = {}
    for h in sorted(set(horizons) | {1}):
        fits[h] = spec.build().fit_panel([(a, dsets[a][h], len(dsets[a][h]), 0) for a in assets])
    return [FittedModel(a, spec.name, dict(spec.options), fits, str(dsets[a][1].dates[-1]), version=1)
            for a in assets]


def is_pooled(model) -> bool:
    """True for a model fitted on all assets together (its class declares ``pooled = True``)."""
    return bool(getattr(type(model), "pooled", False))


def _forecast(model, asset: str, ds: Dataset, start: int, stop: int) -> np.ndarray:
    if is_pooled(model):
        return model.predict_asset(asset, ds, start, stop)
    return model.predict(ds, start, stop)


def _residuals(model, asset: str, ds: Dataset) -> np.ndarray:
    n = len(ds)
    start = min(RESID_START, n - 2)
    f = _forecast(model, asset, ds, start, n)
    return ds.returns[start:n] / np.sqrt(f)


def predict_rows(fm: FittedModel, dsets: dict, horizons, config: PredictConfig) -> list:
    """The output rows (dicts of :data:`COLUMNS`) of one fitted model."""
    ds1 = dsets[1]
    n = len(ds1)
    last = ds1.dates[-1]
    m1 = fm.fits[1]
    f1 = float(_forecast(m1, fm.asset, extend_one_day(ds1), n, n + 1)[0])
    position = min(config.target_vol / math.sqrt(PERIODS * f1), config.max_leverage)
    method = default_method(fm.name) if config.risk_method == "auto" else config.risk_method
    risk = _next_day_risk(m1, fm.asset, ds1, f1, method, _levels(config))
    rows = []
    for h in horizons:
        model = fm.fits[h]
        ds_h = dsets[h]
        fh = f1 if h == 1 else float(_forecast(model, fm.asset, extend_one_day(ds_h), n, n + 1)[0])
        first, lastd = business_days(last, h)
        rows.append({"asset": fm.asset, "model": fm.name, "horizon": int(h), "first_date": str(first),
                     "last_date": str(lastd), "variance": fh, "vol_annual": math.sqrt(PERIODS * fh),
                     "position": position, **risk, "as_of": str(last), "fitted_through": fm.fitted_through,
                     "refit": bool(fm.refit), "risk_method": method})
    return rows


def _levels(config: PredictConfig) -> tuple:
    """The journal's 5% and 1%, then the other asked levels in order."""
    return LEVELS + tuple(a for a in (config.risk_levels or ()) if a not in LEVELS)


def _next_day_risk(model, asset: str, ds1: Dataset, f1: float, method: str, levels) -> dict:
    """``{"var_5", "es_5", ...}`` of the next day (positive % losses) by ``method``."""
    risk = {}
    sig = math.sqrt(f1)
    if method == "parametric" and hasattr(model, "predict_var_es") and not is_pooled(model):
        n = len(ds1)
        out = model.predict_var_es(extend_one_day(ds1), n, n + 1, levels)
        return {k: float(v[0]) for k, v in out.items()}
    z = _residuals(model, asset, ds1) if method == "fhs" else None
    for a in levels:
        v, e = quantile_var_es(z, a) if method == "fhs" else normal_var_es(a)
        risk[f"var_{level_key(a)}"], risk[f"es_{level_key(a)}"] = v * sig, e * sig
    return risk


# ------------------------------------------------------------------------------------ validation
def _check_horizons(horizons) -> tuple:
    out = []
    for h in horizons:
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"--horizon values must be positive integers, got {h!r}")
        if int(h) not in out:
            out.append(int(h))
    if not out:
        raise ValueError("--horizon needs at least one value")
    return tuple(out)


def validate(config: PredictConfig) -> PredictConfig:
    """Check the options (one-line ``ValueError``); fills in the default models."""
    horizons = None if config.horizons is None and config.load else _check_horizons(config.horizons or HORIZONS)
    if config.risk_method not in RISK_METHODS:
        raise ValueError(f"--risk-method must be one of {', '.join(RISK_METHODS)}, got {config.risk_method!r}")
    levels = check_levels(config.risk_levels)
    positive_float(config.target_vol, "--target-vol")
    positive_float(config.max_leverage, "--max-leverage")
    if isinstance(config.refit_every, bool) or not isinstance(config.refit_every, (int, np.integer)) \
            or config.refit_every < 1:
        raise ValueError(f"--refit-every must be a positive integer, got {config.refit_every!r}")
    models = config.models
    if models is not None:
        models = tuple(models)
        if not models:
            raise ValueError("--models needs at least one model")
        known = known_models()
        unknown = [m for m in models if m not in known]
        if unknown:
            raise ValueError(f"unknown model {unknown[0]!r} (choose from {', '.join(known)})")
        dup = sorted({m for m in models if models.count(m) > 1})
        if dup:
            raise ValueError(f"model {dup[0]!r} is listed twice in --models")
    elif config.load is None:
        models = available_models(DEFAULT_MODELS)
    if config.dist is not None and models is not None:
        check_dist(config.dist, models, explicit=config.models is not None)
        if config.dist != "normal":
            models = tuple(f"{m}_{config.dist}" if takes_dist(m) else m for m in models)
    elif config.dist is not None:
        raise ValueError("--dist applies to fitted models: with --load, the saved models keep their law")
    if config.universe is not None and config.universe != "embedded":
        raise ValueError(f"unknown --universe {config.universe!r} (choose from embedded)")
    if config.universe is not None and config.csv:
        raise ValueError("give either --universe or --csv files, not both")
    positive_int(config.workers, "--workers")
    check_scheduler(config.scheduler)
    if config.update and (config.load is None or config.save is None):
        raise ValueError("--update needs --load DIR (the models to update) and --save DIR (a new folder for the "
                         "updated models)")
    if config.save and config.load and os.path.abspath(config.save) == os.path.abspath(config.load):
        raise ValueError("--save and --load name the same folder; save to a new one")
    return dataclasses.replace(config, horizons=horizons, models=models, risk_levels=levels,
                               defaulted_models=config.models is None and config.load is None)


# ------------------------------------------------------------------------------------ the job
def format_table(table: pd.DataFrame) -> str:
    """The predictions as a plain-text table for stdout."""
    if table.empty:
        return "(no predictions)"
    # every level's VaR and ES, from the widest tail in: 1% (99% VaR), 2.5% (97.5% ES), 5%, ... as --risk-levels
    risk = [c for c in table.columns if c.startswith(("var_", "es_"))]
    risk.sort(key=lambda c: (float(c.split("_", 1)[1]), not c.startswith("var_")))
    show = table[["asset", "model", "horizon", "first_date", "last_date", "variance", "vol_annual", "position",
                  *risk]].copy()
    for c in ("variance", *risk):
        show[c] = show[c].map(lambda v: f"{v:.4f}")
    show["vol_annual"] = show["vol_annual"].map(lambda v: f"{v:.2f}")
    show["position"] = show["position"].map(lambda v: f"{v:.3f}")
    return show.to_string(index=False)


def _write_table(table: pd.DataFrame, folder: str, as_json: bool) -> dict:
    """``predictions.csv`` (and ``predictions.json``) in ``folder`` (the staging folder of ``--out``)."""
    import json

    paths = {"predictions": os.path.join(folder, "predictions.csv")}
    table.to_csv(paths["predictions"], index=False)        # shortest round-trip repr: the exact float64 values
    if as_json:
        paths["predictions_json"] = os.path.join(folder, "predictions.json")
        with open(paths["predictions_json"], "w", encoding="utf-8") as fh:
            json.dump(json_clean(table.to_dict(orient="records")), fh, indent=2, allow_nan=False)
            fh.write("\n")
    return paths


def run_predict(config: PredictConfig, log=None, book: Optional[dict] = None) -> PredictResult:
    """Load, (re)fit or restore, predict, and write ``predictions.csv`` (+ ``.json``) and the saved models.

    Nothing is written when an input is bad: the saved folder, the data and every option are checked
    first (``ValueError`` with one line otherwise); ``--out`` and ``--save`` go through
    :func:`tinygrad_trade.vol.outdir.output_dir` (checked and locked before the fits, staged, moved into
    place only when everything succeeded; a folder holding other files needs ``force``). ``book``:
    ``{asset: weight}`` (``--book``): tomorrow's book too (:func:`.book.predict_book`), written to
    book.csv/book.json and saved as its own entry; without it nothing changes.
    """
    if log is None:
        log = (lambda msg: None) if config.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    config = validate(config)
    notes = []
    assets, models, model_assets = load_assets(config, notes)
    if book is not None:
        check_book(dict(assets), book)      # before any fit: a book naming another asset is one line
    config = dataclasses.replace(config, models=models, model_assets=model_assets)
    for note in notes:
        log(f"note: {note}")
    saved = None
    if config.load is not None:
        saved = open_folder(config.load)
        horizons = config.horizons or _check_horizons(saved.manifest.get("horizons") or HORIZONS)
        config = dataclasses.replace(config, horizons=horizons,
                                     models=saved.check_request(config.models, horizons))
    dsets = {name: _datasets(df, config.horizons) for name, df in assets}
    rescales = []
    if saved is not None:
        rescales = saved.check_data(assets)
        for r in rescales:
            notes.append(r.line())
            log(f"note: {r.line()}")
    with contextlib.ExitStack() as stack:      # output folders: checked and locked now, written at the end
        out_dir = save_dir = None
        if config.out is not None:
            out_dir = stack.enter_context(output_dir(config.out, force=config.force, inputs=config.csv))
        if config.save is not None:
            save_dir = stack.enter_context(output_dir(config.save, force=config.force, inputs=config.csv,
                                                      option="--save"))
        res = _fit_and_predict(config, assets, dsets, saved, notes, log)
        res.rescales = list(rescales)
        if book is not None:
            res.book = predict_book(dict(assets), book, config.models,
                                    None if config.load is None else load_book_fit(config.load))
            log(f"note: {res.book.note}")
        if out_dir is not None:
            written = _write_table(res.table, out_dir.dir, config.json)
            if res.book is not None:
                written.update(write_book_prediction(res.book, out_dir.dir))
            res.paths.update({k: out_dir.final(p) for k, p in written.items()})
        if save_dir is not None:
            save_models(save_dir.dir, res.fitted, res.frames, config)
            if res.book is not None:
                save_book_fit(save_dir.dir, res.book.fit)
            res.paths["saved"] = os.fspath(config.save)
    return res


def _runs_on(config: PredictConfig, spec, asset: str) -> bool:
    """Whether the per-asset model ``spec`` runs on ``asset`` (a range model skips a mixed universe's closes-only
    assets)."""
    wanted = config.model_assets.get(spec.name)
    return wanted is None or asset in wanted


def _fit_and_predict(config: PredictConfig, assets: list, dsets: dict, saved, notes: list, log) -> PredictResult:
    """Fit (or restore) every model and build the predictions table."""

    fitted = {}
    specs = _specs(config)
    if config.save is not None:
        for spec in specs:
            if type(spec.build()).get_state is Forecaster.get_state:
                raise ValueError(f"--save: model {spec.name!r} cannot be saved (it has no get_state)")
    names = [name for name, _ in assets]
    pooled = {spec.key: is_pooled(spec.build()) for spec in specs}
    if saved is None:   # the per-asset fits: here, on --workers processes or on --scheduler
        pairs = [(name, spec) for spec in specs if not pooled[spec.key] for name in names if _runs_on(config, spec, name)]
        if pairs:
            log(f"fitting {len(specs) - sum(pooled.values())} model(s) on {len(names)} asset(s)")
            for (name, spec), fm in zip(pairs, _fit_all(pairs, dsets, config)):
                fitted[(name, spec.name)] = fm
    for spec in specs:
        if pooled[spec.key]:
            if saved is not None:
                fms, note = saved.restore_panel(names, spec, dsets, config)
                notes.append(note)
                log(f"note: {note}")
            else:
                log(f"fitting {spec.name} on {len(names)} asset(s) together")
                fms = fit_panel(names, spec, dsets, config.horizons)
            fitted.update({(fm.asset, spec.name): fm for fm in fms})
            continue
    if saved is not None:   # the per-asset restores (refit, update or filter): here, on --workers or on --scheduler
        pairs = [(name, spec) for spec in specs if not pooled[spec.key] for name in names
                 if _runs_on(config, spec, name)]
        jobs = [Job(_restore_one, (saved, name, portable_spec(spec), dsets[name], config),
                    task_cost(spec, 1), f"{name}: model {spec.key!r}, restored from --load") for name, spec in pairs]
        if jobs:
            with open_executor(config.scheduler, config.workers) as ex:
                done = run_jobs(jobs, executor=ex, progress=False, desc="restores")
            for (name, spec), (fm, note) in zip(pairs, done):
                notes.append(note)
                log(f"note: {note}")
                fitted[(name, spec.name)] = fm
    fitted = [fitted[(name, spec.name)] for name in names for spec in specs if (name, spec.name) in fitted]
    rows = [row for fm in fitted for row in predict_rows(fm, dsets[fm.asset], config.horizons, config)]
    extra = [f"{k}_{level_key(a)}" for a in _levels(config)[len(LEVELS):] for k in ("var", "es")]
    table = pd.DataFrame(rows, columns=COLUMNS + extra)
    return PredictResult(config=config, table=table, fitted=fitted,
                          datasets={k: v[1] for k, v in dsets.items()}, frames=dict(assets), notes=notes)
