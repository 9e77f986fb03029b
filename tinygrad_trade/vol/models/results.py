"""Every forecaster used on its own, in the shape of the ``arch`` package: pandas in, pandas out.

    from tinygrad_trade.vol.models import get_model
    res = get_model("garch").fit(prices)          # a price DataFrame (vol.data.load_prices), or
    res = get_model("garch").fit(returns)         # a Series of % returns (return-only models)
    res.params, res.std_err, res.loglikelihood    # where the model defines them (else None); std_err: robust
                                                  # for GARCH/GJR, as arch; res.classic_std_err: classic
    res.conditional_volatility                    # dated Series: one-step in-sample volatility, %
    res.forecast(5)                               # dated DataFrame for the next 5 business days
    print(res.summary()); res.to_frame()

``Forecaster.fit`` dispatches on its first argument: a :class:`~tinygrad_trade.vol.base.Dataset` runs the
walk-forward protocol ``fit(ds, end, begin=0)`` (returns the model, as before); a DataFrame or Series runs
:func:`fit_frame` on all of it (returns a :class:`ModelResult`). Prices give the target r^2 and every proxy
(``har`` needs the high/low prices for its Parkinson regressors); a returns Series serves ``ewma``,
``garch``, ``gjr`` and ``har_r2``.

Indexes are checked, never silently realigned: a Series or frame whose index is not made of dates,
not sorted increasingly or not unique is one ``ValueError``.

Forecast dates are business days (weekends skipped, holidays not known). Models whose fit does not depend
on the horizon (``garch``, ``gjr``, ``ewma``) give the path of daily variances and its running mean; direct
models (``har``, ``har_r2``, the nets) are refitted on the ``h``-day mean target and give ``mean_variance``
at ``h`` only (NaN on the earlier rows and in ``variance``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data.frames import normalize_prices
from ..data.records import DataFile
from ..features.calendar import business_days, extend_one_day
from ..features.dataset import Dataset, build_dataset, check_index, dataset_from_returns, dataset_to_frame

__all__ = ["ModelResult", "fit_frame", "check_index", "dataset_from_returns", "dataset_to_frame"]

PERIODS = 252






def _prices(frame: pd.DataFrame, options: dict) -> DataFile:
    """The frame read as the CLI reads a file (:func:`~tinygrad_trade.vol.data.frames.normalize_prices`); a
    DatetimeIndex is first checked for order here (a ``ValueError`` saying "not sorted" / "not unique")."""
    if not any(str(c).strip().lower() in ("date", "datetime", "timestamp", "time") for c in frame.columns):
        check_index(frame, "prices")
    return normalize_prices(frame, **options)


def _dataset(data, horizon: int) -> Dataset:
    if isinstance(data, DataFile):
        return build_dataset(data, target="r2", horizon=horizon)
    if isinstance(data, pd.DataFrame):
        return build_dataset(_prices(data, {}), target="r2", horizon=horizon)
    if isinstance(data, pd.Series):
        return dataset_from_returns(data, horizon)
    raise TypeError(f"fit needs a Dataset (walk-forward), a price DataFrame or a returns Series, "
                    f"got {type(data).__name__}")




READ_OPTIONS = ("missing", "price_column")


def fit_frame(model, data, **options) -> "ModelResult":
    """Fit ``model`` on all of ``data`` (a price DataFrame or a returns Series); a :class:`ModelResult`.

    A price frame is read by the loader's own code (:func:`~tinygrad_trade.vol.data.frames.normalize_prices`:
    ``Adj Close`` in any spelling, the same checks and adjustment as ``--csv``); ``missing="skip"`` drops rows
    without a price and ``price_column=NAME`` names the close column, as ``--missing`` / ``--price-column`` do."""
    bad = [k for k in options if k not in READ_OPTIONS]
    if bad:
        raise TypeError(f"fit(frame) takes no option {', '.join(bad)} (set model options on the model; "
                        f"reading options: {', '.join(READ_OPTIONS)})")
    import copy
    if isinstance(data, pd.DataFrame):
        data = _prices(data, options)
    elif options:
        raise TypeError(f"{', '.join(options)} applies to a price frame, not to {type(data).__name__}")
    ds = _dataset(data, 1)
    unfitted = copy.deepcopy(model)          # for the direct fits of other horizons
    model.fit(ds, len(ds))
    return ModelResult(model, ds, data, unfitted)


class ModelResult:
    """A model fitted on a whole frame (see the module docstring): ``params``, ``std_err``, ``loglikelihood``,
    ``nobs``, ``conditional_variance`` / ``conditional_volatility`` / ``std_resid`` (dated Series),
    ``forecast(horizon)``, ``summary()``, ``to_frame()``."""

    def __init__(self, model, ds: Dataset, data, unfitted=None):
        self.model, self.dataset, self._data = model, ds, data
        self._unfitted = unfitted if unfitted is not None else model
        self.name = model.name
        self._direct = {}
        n = len(ds)
        start = model.first_predictable(ds)
        self._start = start
        idx = pd.DatetimeIndex(ds.dates[start:n].astype("datetime64[ns]"), name="date")
        s = model.predict(ds, start, n) if start < n else np.zeros(0)
        self.conditional_variance = pd.Series(s, index=idx, name="conditional_variance")
        self.conditional_volatility = pd.Series(np.sqrt(s), index=idx, name="conditional_volatility")
        self.std_resid = pd.Series(ds.returns[start:n] / np.sqrt(s), index=idx, name="std_resid")
        self.nobs = int(np.isfinite(ds.target[start:n]).sum())

    # -- parameters: each model answers for itself (Forecaster.fitted_params / fitted_std_err / ...) ---------
    @property
    def params(self) -> pd.Series:
        return self.model.fitted_params()

    @property
    def std_err(self):
        """Standard errors where the model defines them, of the kind ``arch`` reports by default (GARCH/GJR:
        robust, the sandwich ``H^-1 J H^-1``; HAR: classic OLS); None otherwise. :attr:`classic_std_err` gives the
        classic ones (GARCH/GJR: the inverse of the exact Hessian)."""
        return self.model.fitted_std_err(self.dataset)

    @property
    def classic_std_err(self):
        """Classic standard errors (GARCH/GJR: inverse of the exact Hessian; HAR: OLS); None where undefined."""
        return self.model.fitted_classic_std_err(self.dataset)

    @property
    def loglikelihood(self):
        """The maximised log-likelihood (GARCH/GJR); None for models not fitted by likelihood."""
        return self.model.fitted_loglikelihood()

    # -- forecasts -------------------------------------------------------------------------
    def _model_for(self, h: int):
        """(model, dataset) for the direct ``h``-day forecast: a copy of the model as it was before the fit,
        fitted on the ``h``-day mean target."""
        if h not in self._direct:
            import copy
            fresh = copy.deepcopy(self._unfitted)
            ds_h = _dataset(self._data, h)
            self._direct[h] = (fresh.fit(ds_h, len(ds_h)), ds_h)
        return self._direct[h]

    def forecast(self, horizon: int = 1) -> pd.DataFrame:
        """Forecasts for the ``horizon`` business days after the last date (index: their dates).

        Columns ``variance`` (that day's variance, %^2), ``mean_variance`` (mean over day 1 .. that day) and
        ``vol_annual`` (``sqrt(252 mean_variance)``, %).
        """
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        h = int(horizon)
        ds = self.dataset
        n = len(ds)
        days = [business_days(ds.dates[-1], k)[1] for k in range(1, h + 1)]
        idx = pd.DatetimeIndex(np.array(days, dtype="datetime64[D]").astype("datetime64[ns]"), name="date")
        var = np.full(h, np.nan)
        mean = np.full(h, np.nan)
        if getattr(self.model, "horizon_free", False):
            import dataclasses
            ext = extend_one_day(ds)
            for k in range(1, h + 1):
                mean[k - 1] = float(self.model.predict(dataclasses.replace(ext, horizon=k), n, n + 1)[0])
            var = mean * np.arange(1, h + 1) - np.concatenate(([0.0], (mean * np.arange(1, h + 1))[:-1]))
        elif h == 1:
            mean[0] = var[0] = float(self.model.predict(extend_one_day(ds), n, n + 1)[0])
        else:
            model, ds_h = self._model_for(h)
            mean[-1] = float(model.predict(extend_one_day(ds_h), n, n + 1)[0])
        return pd.DataFrame({"variance": var, "mean_variance": mean,
                             "vol_annual": np.sqrt(PERIODS * mean)}, index=idx)

    # -- presentation ----------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Dated frame: ``returns``, ``conditional_variance``, ``conditional_volatility``, ``std_resid``."""
        ds = self.dataset
        idx = pd.DatetimeIndex(ds.dates.astype("datetime64[ns]"), name="date")
        out = pd.DataFrame({"returns": ds.returns}, index=idx)
        for s in (self.conditional_variance, self.conditional_volatility, self.std_resid):
            out[s.name] = s.reindex(idx)
        return out

    def summary(self) -> str:
        own = self.model.fitted_summary()
        if own is not None:
            return own
        d = self.dataset
        lines = [f"{self.name}: fitted on {len(d)} days, {d.dates[0]} to {d.dates[-1]} (target r^2, one-step)",
                 f"  in-sample forecasts from {d.dates[self._start]}; observations {self.nobs}", ""]
        p, se = self.params, self.std_err
        lines.append(f"{'':>10} {'coef':>12}" + (f" {'std err':>10} {'t':>8}" if se is not None else ""))
        for k, v in p.items():
            row = f"{k:>10} {v:>12.6g}"
            if se is not None:
                row += f" {se[k]:>10.4g} {v / se[k] if se[k] > 0 else math.nan:>8.2f}"
            lines.append(row)
        if se is not None:
            lines += ["", "std err: classic OLS (errors are heteroskedastic: read the t-values with care)"]
        return "\n".join(lines)

    def __repr__(self):
        return f"ModelResult({self.name}, {len(self.params)} params, {len(self.dataset)} days)"
