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
returns a :class:`~tinygrad_trade.vol.api.ModelResult` (params, conditional volatility, forecasts,
in the shape of the ``arch`` package). Every subclass's ``fit`` dispatches on the type of its first
argument (:meth:`Forecaster.__init_subclass__` wraps it): a Dataset runs the walk-forward protocol
above and returns the model itself, anything else goes to :func:`tinygrad_trade.vol.api.fit_frame`.

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
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset", "Forecaster", "StateError", "state_array", "FLOOR_FRACTION", "scale_floor", "apply_floor"]

FLOOR_FRACTION = 0.05


class StateError(ValueError):
    """A saved model state that does not fit the model (missing array, wrong shape, other model)."""


@dataclass
class Dataset:
    dates: np.ndarray                  # datetime64[D], one per trading day
    returns: np.ndarray                # % log close-to-close returns; returns[0] is nan
    daily: np.ndarray                  # the daily variance proxy that defines the target (e.g. r^2), %^2
    target: np.ndarray                 # mean of `daily` over t..t+h-1 (nan where not yet known)
    proxies: dict = field(default_factory=dict)   # name -> daily array in %^2 (e.g. "parkinson", "r2")
    horizon: int = 1
    source: str = ""
    target_name: str = "r2"

    def __len__(self):
        return len(self.dates)

    def to_frame(self):
        """The dataset as a pandas DataFrame indexed by date (``vol.api.dataset_to_frame``)."""
        from .api import dataset_to_frame
        return dataset_to_frame(self)

    def last_known(self, end: int) -> int:
        """Index one past the last target day usable for a fit that must not see day `end`:
        target[t] is known at the close of day t+h-1, so t + h - 1 < end."""
        return max(0, end - self.horizon + 1)


class Forecaster:
    """Base class for every volatility model in the walk-forward evaluation."""

    name = "model"

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

    def get_state(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: the fitted state as numeric numpy arrays and a JSON-ready dict."""
        raise NotImplementedError(f"model {self.name!r} cannot be saved (no get_state)")

    def set_state(self, arrays: dict, meta: dict) -> "Forecaster":
        """Restore what :meth:`get_state` returned (raises :class:`StateError` when it does not fit)."""
        raise NotImplementedError(f"model {self.name!r} cannot be loaded (no set_state)")


def _frame_dispatch(fit):
    """``fit(ds, end, begin)`` for a Dataset; ``vol.api.fit_frame(self, frame)`` for a DataFrame or Series."""
    @functools.wraps(fit)
    def dispatching_fit(self, data, *args, **kwargs):
        if isinstance(data, Dataset):
            return fit(self, data, *args, **kwargs)
        from .api import fit_frame
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
