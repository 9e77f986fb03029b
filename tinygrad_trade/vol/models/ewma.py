"""EWMA (RiskMetrics) variance: ``s_t = lam s_{t-1} + (1 - lam) r_{t-1}^2``, zero mean.

``lam = 0.94`` by default (RiskMetrics daily), or estimated by minimising the QLIKE loss
``mean(y_t / s_t + ln s_t)`` over the fit sample (``EWMA(lam=None)``). The recursion starts
from ``s0`` = the mean squared return of the first 22 returns of the sample (the variance
about the model's zero mean); its effect has died out long before any evaluation period
(``0.94^250 ~ 2e-7``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter

from ..features.dataset import Dataset

from .base import Forecaster, StateError, state_array

__all__ = ["ewma_variance", "ewma_start", "EWMA"]

START_DAYS = 22
LAM_BOUNDS = (0.5, 0.9999)


def ewma_start(returns, days: int = START_DAYS) -> float:
    """Start value: the mean of ``r^2`` over the first ``days`` returns (zero-mean variance)."""
    r = np.asarray(returns, dtype=float)[:days]
    if r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError(f"EWMA start value needs finite returns, got {r.size} value(s)")
    return float(np.mean(r * r))


def ewma_variance(returns, lam: float = 0.94, s0: float | None = None) -> np.ndarray:
    """The EWMA recursion over ``returns`` r_0..r_{n-1}: an array of n + 1 variances.

    ``out[0] = s0`` (default :func:`ewma_start`) and ``out[i+1] = lam out[i] + (1 - lam) r_i^2``,
    so ``out[i]`` uses returns before r_i only and ``out[n]`` is the forecast after the sample.
    """
    lam = float(lam)
    if not 0.0 < lam < 1.0:
        raise ValueError(f"EWMA lambda must be in (0, 1), got {lam}")
    r = np.asarray(returns, dtype=float).reshape(-1)
    if not np.all(np.isfinite(r)):
        raise ValueError("EWMA: returns must be finite")
    s0 = ewma_start(r) if s0 is None else float(s0)
    out = np.empty(r.size + 1)
    out[0] = s0
    if r.size:
        out[1:] = lfilter([1.0 - lam], [1.0, -lam], r * r, zi=[lam * s0])[0]
    return out


class EWMA(Forecaster):
    """RiskMetrics EWMA forecaster for the walk-forward evaluation.

    ``lam``: the smoothing constant, or None to estimate it on each fit by QLIKE against
    ``ds.target`` (targets known before ``end``, after a 22-day burn-in). The recursion runs
    from day ``begin + 1`` (the first return of the fit sample). The forecast of every
    horizon is the one-step variance (EWMA forecasts are flat).
    """

    def __init__(self, lam: float | None = 0.94):
        if lam is not None and not 0.0 < float(lam) < 1.0:
            raise ValueError(f"EWMA lambda must be in (0, 1), got {lam}")
        self.lam = None if lam is None else float(lam)
        self.name = "ewma"
        self.horizon_free = lam is not None   # a fixed lambda: the fit does not depend on the target
        self.lam_ = self.lam
        self.s0_ = None
        self.begin = 0

    def _variances(self, ds: Dataset, stop: int, lam: float) -> np.ndarray:
        """s[i] = variance of day begin + 1 + i, for days begin + 1 .. stop - 1."""
        first = self.begin + 1
        return ewma_variance(ds.returns[first:stop - 1], lam, self.s0_)

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "EWMA":
        first = begin + 1
        if end - first < 2:
            raise ValueError(f"EWMA.fit: needs returns between {first} and {end}")
        self.begin = begin
        self.s0_ = ewma_start(ds.returns[first:end])
        if self.lam is None:
            stop = ds.last_known(end)
            lo = first + START_DAYS
            y = np.asarray(ds.target[lo:stop], dtype=float)
            ok = np.isfinite(y)
            if ok.sum() < 10:
                raise ValueError("EWMA.fit: too few known targets to estimate lambda by QLIKE")

            def qlike(lam):
                s = self._variances(ds, stop, lam)[lo - first:]
                return float(np.mean(y[ok] / s[ok] + np.log(s[ok])))

            res = minimize_scalar(qlike, bounds=LAM_BOUNDS, method="bounded", options={"xatol": 1e-6})
            self.lam_ = float(res.x)
        return self

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        if self.s0_ is None:
            raise RuntimeError("EWMA.predict: call fit first")
        first = self.begin + 1
        if not first <= start <= stop <= len(ds):
            raise ValueError(f"EWMA.predict: need {first} <= start <= stop <= {len(ds)}, got {start}, {stop}")
        return self._variances(ds, stop, self.lam_)[start - first:stop - first]

    def get_state(self) -> tuple[dict, dict]:
        if self.s0_ is None:
            raise RuntimeError("EWMA.get_state: call fit first")
        return {"lam": np.array([self.lam_]), "s0": np.array([self.s0_])}, {"begin": int(self.begin)}

    def set_state(self, arrays: dict, meta: dict) -> "EWMA":
        lam = float(state_array(arrays, "lam", (1,), "ewma")[0])
        s0 = float(state_array(arrays, "s0", (1,), "ewma")[0])
        if not (0.0 < lam < 1.0 and s0 > 0):
            raise StateError(f"ewma: saved lambda {lam} or start variance {s0} out of range")
        self.lam_, self.s0_, self.begin = lam, s0, int(meta.get("begin", 0))
        return self

    def first_predictable(self, ds: Dataset) -> int:
        return int(self.begin) + 1

    def fitted_params(self) -> pd.Series:
        return pd.Series({"lam": float(self.lam_)}, name="params")
