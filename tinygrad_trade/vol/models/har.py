"""HAR (Corsi 2009) by ordinary least squares, on any daily variance proxy.

Levels: ``y_t = b0 + b1 m1_t + b5 m5_t + b22 m22_t + u_t`` where ``m_w,t`` is the mean of the
proxy over the ``w`` days ending at ``t - 1`` (so the forecast of ``y_t`` uses data up to the
close of day ``t - 1``), fitted by ``numpy.linalg.lstsq``.

Log-HAR (``log=True``): ``ln y_t`` on ``[1, ln m1, ln m5, ln m22]`` (each mean floored at
1e-4 %^2 before the log, as in :func:`~tinygrad_trade.vol.features.har_features`; pairs with
``y_t <= 0`` are left out of the fit). Its forecast corrects the retransformation bias
under normal residuals: ``f_t = exp(fitted_t + 0.5 sigma_u^2)`` with ``sigma_u^2`` the
residual variance ``SSR / (n - 4)``. The correction assumes roughly normal log residuals: it
suits smooth targets such as realized variance; for a squared-return target (``ln r^2`` is
far from normal, its variance is about 5) it overshoots badly, so use the level HAR there.

Every forecast is floored at 1e-3 %^2 (a level HAR can go negative or near zero after calm
spells; QLIKE needs a positive forecast).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..features.dataset import Dataset

from .base import Forecaster, state_array
from ..features.proxies import har_features

__all__ = ["WINDOWS", "FLOOR", "har_design", "fit_har", "HAR"]

WINDOWS = (1, 5, 22)
FLOOR = 1e-3


def har_design(proxy, windows=WINDOWS, log: bool = False) -> np.ndarray:
    """(n, 1 + len(windows)) regressors: row t is ``[1, m_w1, m_w2, ...]`` over days ending at t-1.

    NaN rows where the windows are not yet full (or hold a NaN). With ``log=True`` the
    means are floored at 1e-4 and logged.
    """
    feats = har_features(np.asarray(proxy, dtype=float), windows=windows, log=log).to_numpy()
    X = np.full((feats.shape[0], feats.shape[1] + 1), np.nan)
    X[:, 0] = 1.0
    X[1:, 1:] = feats[:-1]          # features of day t-1 explain day t
    X[0, 0] = np.nan
    return X


def fit_har(X, y, log: bool = False):
    """OLS of ``y`` (or ``ln y``) on the rows of ``X``; rows with a NaN (or ``y <= 0`` in logs) are skipped.

    Returns ``(coef, resid_var, nobs)``; ``resid_var = SSR / (n - k)``.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(X).all(axis=1) & np.isfinite(y)
    if log:
        ok &= y > 0
    n, k = int(ok.sum()), X.shape[1]
    if n <= k:
        raise ValueError(f"HAR fit needs more than {k} complete (regressors, target) pairs, got {n}")
    Xo = X[ok]
    yo = np.log(y[ok]) if log else y[ok]
    coef = np.linalg.lstsq(Xo, yo, rcond=None)[0]
    resid = yo - Xo @ coef
    return coef, float(resid @ resid / (n - k)), n


class HAR(Forecaster):
    """HAR forecaster for the walk-forward evaluation.

    ``proxy``: the name of the regressors' proxy in ``ds.proxies`` (``"parkinson"`` for HAR-PK,
    ``"r2"`` for HAR on squared returns, ``"rv"`` ...). The target is ``ds.target``; a fit
    uses the pairs ``begin <= t < ds.last_known(end)``. ``coef_`` holds the coefficients.
    """

    def __init__(self, proxy: str = "parkinson", log: bool = False, windows=WINDOWS, floor: float = FLOOR):
        self.proxy, self.log, self.windows, self.floor = proxy, bool(log), tuple(windows), float(floor)
        short = {"parkinson": "", "r2": "_r2"}.get(proxy, f"_{proxy}")
        self.name = ("log_har" if self.log else "har") + short
        self.coef_ = None
        self.resid_var_ = None
        self.nobs_ = 0
        self._cache = (None, None)

    def _design(self, ds: Dataset) -> np.ndarray:
        if self.proxy not in ds.proxies:
            need = " (it needs High and Low; on closes only use har_r2)" if self.proxy != "r2" else ""
            raise ValueError(f"HAR: the dataset has no proxy {self.proxy!r}{need} (has {', '.join(ds.proxies)})")
        p = ds.proxies[self.proxy]
        if self._cache[0] is not p:             # one design matrix per dataset
            self._cache = (p, har_design(p, self.windows, self.log))
        return self._cache[1]

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "HAR":
        X = self._design(ds)
        stop = ds.last_known(end)
        coef, self.resid_var_, self.nobs_ = fit_har(X[begin:stop], ds.target[begin:stop], self.log)
        names = ["const"] + [f"h{w}" for w in self.windows]
        self.coef_ = pd.Series(coef, index=names, name=self.name)
        return self

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        if self.coef_ is None:
            raise RuntimeError("HAR.predict: call fit first")
        if not 0 <= start <= stop <= len(ds):
            raise ValueError(f"HAR.predict: need 0 <= start <= stop <= {len(ds)}, got {start}, {stop}")
        X = self._design(ds)[start:stop]
        if not np.isfinite(X).all():
            raise ValueError(f"HAR.predict: day {start + int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])} "
                             f"has no full {max(self.windows)}-day history of {self.proxy!r}")
        fitted = X @ self.coef_.to_numpy()
        f = np.exp(fitted + 0.5 * self.resid_var_) if self.log else fitted
        return np.maximum(f, self.floor)

    def get_state(self) -> tuple[dict, dict]:
        if self.coef_ is None:
            raise RuntimeError("HAR.get_state: call fit first")
        return ({"coef": self.coef_.to_numpy().copy(), "resid_var": np.array([self.resid_var_])},
                {"nobs": int(self.nobs_)})

    def set_state(self, arrays: dict, meta: dict) -> "HAR":
        names = ["const"] + [f"h{w}" for w in self.windows]
        coef = state_array(arrays, "coef", (len(names),), self.name).astype(float)
        self.resid_var_ = float(state_array(arrays, "resid_var", (1,), self.name)[0])
        self.coef_ = pd.Series(coef, index=names, name=self.name)
        self.nobs_ = int(meta.get("nobs", 0))
        return self

    def first_predictable(self, ds: Dataset) -> int:
        ok = np.isfinite(self._design(ds)).all(axis=1)
        return int(np.flatnonzero(ok)[0]) if ok.any() else len(ds)

    def fitted_params(self) -> pd.Series:
        return self.coef_.copy()

    def fitted_std_err(self, ds: Dataset):
        """Classic OLS standard errors (levels only; a log HAR has none)."""
        if self.log:
            return None
        X, y = self._design(ds), ds.target
        ok = np.isfinite(X).all(axis=1) & np.isfinite(y)
        _, s2, _ = fit_har(X, y)
        cov = s2 * np.linalg.inv(X[ok].T @ X[ok])
        return pd.Series(np.sqrt(np.diag(cov)), index=self.coef_.index, name="std_err")
