"""The contract between the data, the models and the walk-forward evaluation.

A :class:`Dataset` holds aligned daily arrays. Day ``t``'s target ``y[t]`` is what is forecast;
a forecast of ``y[t]`` may use data of days ``0..t-1`` only (up to the close of day ``t-1``).

A :class:`Forecaster` is fitted on the days before ``end`` and then forecasts a block of days::

    model.fit(ds, end)                      # uses only targets y[t] whose window ends before `end`
    f = model.predict(ds, start, stop)      # f[i] forecasts y[start + i], using data < start + i

With ``horizon`` h > 1, ``ds.target[t]`` is the average of the daily variance over days
t..t+h-1 (known at the close of day t+h-1), still forecast from data up to day t-1.

``fit`` also takes a frame instead of a Dataset: ``model.fit(prices)`` (a price DataFrame) or
``model.fit(returns)`` (a dated Series of % returns, for return-only models) fits on all of it and
returns a :class:`~tinygrad_trade.vol.models.results.ModelResult` (params, conditional volatility, forecasts,
in the shape of the ``arch`` package). Every subclass's ``fit`` dispatches on the type of its first
argument (:meth:`Forecaster.__init_subclass__` wraps it): a Dataset runs the walk-forward protocol
above and returns the model itself, anything else goes to :func:`tinygrad_trade.vol.models.results.fit_frame`.

A fitted Forecaster can be saved and restored without pickle (:mod:`tinygrad_trade.vol.persistence`)::

    arrays, meta = model.get_state()        # dict[str, np.ndarray] (numeric), JSON-ready dict
    fresh = get_model(name, **options)      # same options
    fresh.set_state(arrays, meta)           # now predicts exactly as `model` did

``get_state`` holds everything ``predict`` and a later warm-started ``fit`` need (not the options,
which rebuild the model); arrays must be numeric (saved with ``np.savez``, loaded with
``allow_pickle=False``) and ``meta`` plain JSON.

No blow-ups: the walk-forward floors every forecast at :func:`scale_floor`, ``FLOOR_FRACTION`` times
the asset's own level (the mean target of the block's training rows), and counts the forecasts it
raised (:func:`apply_floor`). A floor tied to the asset's scale keeps a model whose forecast
collapses (a level HAR can go negative on a stock) from an absurd loss, while any sane forecast is
left exactly as the model gave it. How ``FLOOR_FRACTION`` was chosen: docs/model-card.md.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..features.dataset import Dataset
from .results import fit_frame

__all__ = ["Dataset", "Forecaster", "StateError", "state_array", "FLOOR_FRACTION", "scale_floor", "apply_floor"]

FLOOR_FRACTION = 0.05


class StateError(ValueError):
    """A saved model state that does not fit the model (missing array, wrong shape, other model)."""



class Forecaster:
    """Base class for every volatility model in the walk-forward evaluation."""

    name = "model"
    rng = None   # a np.random.Generator the walk-forward hands the model before each fit (for models that draw)

    def __init_subclass__(cls, **kwargs):
        """Make the subclass's ``fit`` accept a frame too (see the module docstring)."""
        super().__init_subclass__(**kwargs)
        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "_frame_dispatch", False):
            cls.fit = _frame_dispatch(fit)

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "Forecaster":
        """Fit on the data of days begin..end-1 (targets known before day `end`)."""
        raise NotImplementedError

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        """Forecasts (in %^2 per day) of ds.target[t] for t in start..stop-1, each from data < t."""
        raise NotImplementedError

    # -- what a fitted model says about itself (ModelResult and the jobs ask through these) ----------------
    def first_predictable(self, ds: Dataset) -> int:
        """The first day the fitted model can forecast from the data before it. By default: the first day whose
        one-day forecast succeeds (the days before lack inputs), found by bisection; models override it."""
        def works(t):
            try:
                self.predict(ds, t, t + 1)
                return True
            except ValueError:
                return False
        lo, hi = 1, len(ds) - 1
        if not works(hi):
            return len(ds)
        while lo < hi:
            mid = (lo + hi) // 2
            if works(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def fitted_params(self) -> pd.Series:
        """The fitted parameters by name (empty for a model without named parameters)."""
        return pd.Series(dtype=float, name="params")

    def fitted_std_err(self, ds: Dataset):
        """Standard errors of :meth:`fitted_params` on the data ``ds`` it was fitted to, or None: the kind the
        reference library reports by default (GARCH/GJR: robust, as ``arch``; HAR: classic OLS)."""
        return None

    def fitted_classic_std_err(self, ds: Dataset):
        """The classic standard errors (GARCH/GJR: inverse Hessian); by default those of :meth:`fitted_std_err`."""
        return self.fitted_std_err(ds)

    def fitted_loglikelihood(self):
        """The maximised log-likelihood, or None for a model not fitted by likelihood."""
        return None

    def fitted_summary(self):
        """The model's own summary text, or None (a generic table of params and std_err is printed)."""
        return None

    def get_state(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: the fitted state as numeric numpy arrays and a JSON-ready dict."""
        raise NotImplementedError(f"model {self.name!r} cannot be saved (no get_state)")

    def set_state(self, arrays: dict, meta: dict) -> "Forecaster":
        """Restore what :meth:`get_state` returned (raises :class:`StateError` when it does not fit)."""
        raise NotImplementedError(f"model {self.name!r} cannot be loaded (no set_state)")


def _frame_dispatch(fit):
    """``fit(ds, end, begin)`` for a Dataset; :func:`~.results.fit_frame` for a DataFrame or Series."""
    @functools.wraps(fit)
    def dispatching_fit(self, data, *args, **kwargs):
        if isinstance(data, Dataset):
            return fit(self, data, *args, **kwargs)
        if args:
            raise TypeError(f"{type(self).__name__}.fit(frame) takes the data only; fit(ds, end, begin) needs a Dataset")
        return fit_frame(self, data, **kwargs)
    dispatching_fit._frame_dispatch = True
    return dispatching_fit


def state_array(arrays: dict, key: str, shape=None, who: str = "model") -> np.ndarray:
    """``arrays[key]`` as a float array (of ``shape`` when given), else :class:`StateError`."""
    if key not in arrays:
        raise StateError(f"{who}: the saved state has no array {key!r}")
    a = np.asarray(arrays[key])
    if a.dtype.kind not in "fiu":
        raise StateError(f"{who}: saved array {key!r} is not numeric ({a.dtype})")
    if shape is not None and a.shape != tuple(shape):
        raise StateError(f"{who}: saved array {key!r} has shape {a.shape}, expected {tuple(shape)}")
    return a


def scale_floor(ds: Dataset, end: int, begin: int = 0) -> float:
    """``FLOOR_FRACTION`` x the mean of ``ds.target`` over the training rows ``begin <= t < ds.last_known(end)``
    (0.0 when none is known yet: no floor)."""
    y = np.asarray(ds.target[begin:ds.last_known(end)], dtype=float)
    y = y[np.isfinite(y)]
    return float(FLOOR_FRACTION * y.mean()) if y.size else 0.0


def apply_floor(f, floor: float):
    """``(max(f, floor), number of forecasts below floor)``; non-finite forecasts are left to the caller."""
    f = np.asarray(f, dtype=float)
    low = f < floor
    return np.where(low, floor, f), int(low.sum())
