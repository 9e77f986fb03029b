"""The contract between the data, the models and the walk-forward evaluation.

A :class:`Dataset` holds aligned daily arrays. Day ``t``'s target ``y[t]`` is what is forecast;
a forecast of ``y[t]`` may use data of days ``0..t-1`` only (up to the close of day ``t-1``).

A :class:`Forecaster` is fitted on the days before ``end`` and then forecasts a block of days::

    model.fit(ds, end)                      # uses only targets y[t] whose window ends before `end`
    f = model.predict(ds, start, stop)      # f[i] forecasts y[start + i], using data < start + i

With ``horizon`` h > 1, ``ds.target[t]`` is the average of the daily variance over days
t..t+h-1 (known at the close of day t+h-1), still forecast from data up to day t-1.

No blow-ups: the walk-forward floors every forecast at :func:`scale_floor`, ``FLOOR_FRACTION`` times
the asset's own level (the mean target of the block's training rows), and counts the forecasts it
raised (:func:`apply_floor`). A floor tied to the asset's scale keeps a model whose forecast
collapses (a level HAR can go negative on a stock) from an absurd loss, while any sane forecast is
left exactly as the model gave it. How ``FLOOR_FRACTION`` was chosen: docs/model-card.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset", "Forecaster", "FLOOR_FRACTION", "scale_floor", "apply_floor"]

FLOOR_FRACTION = 0.05


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

    def last_known(self, end: int) -> int:
        """Index one past the last target day usable for a fit that must not see day `end`:
        target[t] is known at the close of day t+h-1, so t + h - 1 < end."""
        return max(0, end - self.horizon + 1)


class Forecaster:
    """Base class for every volatility model in the walk-forward evaluation."""

    name = "model"

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "Forecaster":
        """Fit on the data of days begin..end-1 (targets known before day `end`)."""
        raise NotImplementedError

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        """Forecasts (in %^2 per day) of ds.target[t] for t in start..stop-1, each from data < t."""
        raise NotImplementedError


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
