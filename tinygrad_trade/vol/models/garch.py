"""GARCH(1,1), GJR-GARCH(1,1,1) and EGARCH(1,1,1) with normal, t, skew-t or GED errors, fitted by
maximum likelihood with the engine's gradients.

The conventions are those of the ``arch`` package, so that results compare one to one:

* returns in percent; ``e_t = r_t - mu`` (constant mean) or ``e_t = r_t`` (zero mean);
* variance recursion ``s_t = omega + alpha e_{t-1}^2 + gamma e_{t-1}^2 1{e_{t-1} < 0} + beta s_{t-1}``
  (``gamma = 0`` for GARCH); EGARCH: ``ln s_t = omega + alpha (|z_{t-1}| - sqrt(2/pi)) + gamma z_{t-1}
  + beta ln s_{t-1}``, ``z = e / sqrt(s)`` (:mod:`.garch_recursions`);
* pre-sample values come from the *backcast* ``bc = sum_i w_i e_i^2`` over the first
  ``m = min(75, T)`` residuals of the starting mean (``r - mean(r)``, or ``r``), with weights
  ``0.94^i`` (i = 0..m-1) normalised to sum to one. Every pre-sample lag uses it:
  ``s_{-1} = e_{-1}^2 = bc`` and the asymmetric term ``e_{-1}^2 1{e_{-1} < 0} = bc / 2``,
  so ``s_0 = omega + (alpha + gamma/2 + beta) bc`` (EGARCH: ``ln s_0 = omega + beta ln bc``).
  The backcast is fixed during the fit;
* log-likelihood ``L = sum_t (logpdf(z_t) - log(s_t) / 2)`` with the error law's log-density
  (:mod:`.distributions`; for the normal ``L = -0.5 sum_t (log(2 pi) + log s_t + e_t^2 / s_t)``);
* constraints: ``1e-8 v <= omega <= 10 v`` (``v`` the mean squared starting residual),
  ``0 <= alpha <= 1``, ``0 <= gamma <= 2``, ``0 <= beta <= 1`` and
  ``alpha + gamma/2 + beta <= 1`` (EGARCH: ``|omega - ln v| <= ln 10^4``, ``0 <= beta <= 1``), then
  the law's (``nu`` in [2.05, 500] for t, [1.01, 500] for GED; ``eta`` in [2.05, 300], ``lambda`` in
  [-1, 1]); ``scipy.optimize.minimize(method="SLSQP")`` on ``-L`` with these as bounds and one
  linear inequality, and the engine's exact gradient as ``jac``;
* starting values: ``mu = mean(r)`` and the best, by Gaussian likelihood, of arch's grid
  (``alpha`` and ``gamma`` in {0.01, 0.05, 0.1, 0.2}, persistence in {0.5, 0.7, 0.9, 0.98},
  ``omega = (1 - persistence) v``; EGARCH: ``gamma`` in {-0.1, 0, 0.1}, ``beta`` in
  {0.5, 0.7, 0.9, 0.98}, ``omega = (1 - beta) ln v``), then arch's start for the law's
  parameters from the standardised residuals at that point; or a previous fit's parameters
  (warm start).

Two deviations from arch, neither active at any sensible parameter: arch lets ``gamma`` go
negative as long as ``alpha + gamma >= 0`` (here ``gamma >= 0``), and arch clips each
``s_t`` to loose bounds (``[ewma/1e6, ewma*1e6]``); here ``s_t > 0`` holds by the
constraints and no clipping is done.

The Gaussian GARCH and GJR keep their own path (:class:`~.garch_recursions.GarchLogLik`, one op
for the whole likelihood); every other combination goes through :mod:`.garch_dists`. The results
live in :mod:`.garch_result`; this module fits and forecasts. All public names stay importable here.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ...graph import grad
from ...tensor import Tensor
from ..features.dataset import Dataset
from .base import Forecaster, StateError, state_array
from .distributions import DISTRIBUTIONS, get_distribution
from .garch_dists import constraint_row, loglik_dist_tensor, parameter_bounds, variance_path
from .garch_recursions import (LOG_2PI, MEANS, VOLS, GarchLogLik, _check, _loglik_terms, backcast,
                               egarch_variance, garch_variance, loglik_derivatives, loglik_tensor, loglik_value,
                               param_names, value_hessian)
from .garch_result import GarchResult, _multi_step

__all__ = ["VOLS", "MEANS", "DISTS", "LOG_2PI", "param_names", "backcast", "garch_variance", "egarch_variance",
           "GarchLogLik", "loglik_tensor", "loglik_value", "loglik_derivatives", "value_hessian", "fit_garch",
           "GarchResult", "GARCH", "ConvergenceWarning"]

DISTS = tuple(DISTRIBUTIONS)
_ALPHAS = (0.01, 0.05, 0.1, 0.2)
_PERSISTENCE = (0.5, 0.7, 0.9, 0.98)
_EGARCH_GAMMAS = (-0.1, 0.0, 0.1)


# --------------------------------------------------------------------------- fitting

def _neg_loglik_and_grad(x, r, bc, vol, mean):
    theta = Tensor(x, requires_grad=True)
    L = loglik_tensor(theta, r, bc, vol, mean)
    val = L.item()
    if not math.isfinite(val):
        return 1e300, np.zeros_like(x)
    return -val, -np.asarray(grad(L, theta), dtype=float)


def _neg_loglik_dist(x, r, bc, vol, mean, dist, lo, hi):
    theta = Tensor(np.clip(x, lo, hi), requires_grad=True)   # SLSQP may step just outside a bound
    try:
        L = loglik_dist_tensor(theta, r, bc, vol, mean, dist)
        val = L.item()
    except (ValueError, ZeroDivisionError, FloatingPointError, OverflowError):
        return 1e300, np.zeros_like(x)
    if not math.isfinite(val):
        return 1e300, np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        g = np.asarray(grad(L, theta), dtype=float)
    if not np.all(np.isfinite(g)):          # an absurd trial point (EGARCH far outside): step back
        return 1e300, np.zeros_like(x)
    return -val, -g


def _grid_start(r, resid0, bc, vol, mean):
    names = param_names(vol, mean)
    target = float(np.mean(resid0 ** 2))
    best, best_ll = None, -np.inf
    gammas = _ALPHAS if vol == "gjr" else (0.0,)
    for alpha in _ALPHAS:
        for gamma in gammas:
            for pers in _PERSISTENCE:
                beta = pers - alpha - gamma / 2.0
                vp = [(1.0 - pers) * target, alpha] + ([gamma] if vol == "gjr" else []) + [beta]
                s = garch_variance(vp, resid0, bc)
                ll = float(np.sum(_loglik_terms(resid0, s)))
                if ll > best_ll:
                    best, best_ll = vp, ll
    return np.array(([float(np.mean(r))] if mean == "constant" else []) + best)


def _egarch_grid_start(r, resid0, bc, mean):
    """arch's EGARCH grid: alpha x gamma x beta, ``omega = (1 - beta) ln v``, best Gaussian likelihood."""
    target = math.log(float(np.mean(resid0 ** 2)))
    best, best_ll = None, -np.inf
    for alpha in _ALPHAS:
        for gamma in _EGARCH_GAMMAS:
            for beta in _PERSISTENCE:
                vp = [(1.0 - beta) * target, alpha, gamma, beta]
                ll = float(np.sum(_loglik_terms(resid0, egarch_variance(vp, resid0, bc))))
                if ll > best_ll:
                    best, best_ll = vp, ll
    return np.array(([float(np.mean(r))] if mean == "constant" else []) + best)


def _start_dist(r, resid0, bc, vol, mean, dist):
    """arch's start: the volatility grid, then the law's start from the residuals standardised there."""
    x = _egarch_grid_start(r, resid0, bc, mean) if vol == "egarch" else _grid_start(r, resid0, bc, vol, mean)
    m = 1 if mean == "constant" else 0
    z = resid0 / np.sqrt(variance_path(vol, x[m:], resid0, bc))
    return np.concatenate((x, dist.starting_values(z)))


def _as_start(start, names):
    if start is None:
        return None
    if isinstance(start, (dict, pd.Series)):
        try:
            return np.array([float(start[n]) for n in names])
        except KeyError:
            return None
    return np.asarray(start, dtype=float).reshape(-1)


def _valid_start(x, bounds, pers_row):
    if x is None or len(x) != len(bounds) or not np.all(np.isfinite(x)):
        return False
    for xi, (lo, hi) in zip(x, bounds):
        if (lo is not None and xi < lo) or (hi is not None and xi > hi):
            return False
    return pers_row @ x < 1.0


def fit_garch(returns, vol: str = "garch", mean: str = "constant", start=None,
              options: dict | None = None, hessian: str = "engine", dist: str = "normal") -> "GarchResult":
    """Fit GARCH(1,1) (``vol="garch"``), GJR-GARCH(1,1,1) (``"gjr"``) or EGARCH(1,1,1) (``"egarch"``)
    by maximum likelihood, with ``dist`` errors: ``"normal"``, ``"t"``, ``"skewt"`` or ``"ged"``.

    ``returns``: percent returns (array or Series, all finite). ``mean``: ``"constant"`` or
    ``"zero"``. ``start``: starting parameters (a previous fit's ``params``, dict, Series or
    array in the order of :func:`param_names`) used when they satisfy the constraints, else
    the arch grid. ``options`` go to SLSQP. ``hessian`` chooses how the classic standard errors'
    Hessian is computed for the Gaussian GARCH/GJR: ``"engine"`` (default) by the engine's
    second-order gradients (:func:`value_hessian`), ``"sensitivity"`` by forward sensitivities
    (:func:`loglik_derivatives`, milliseconds; the two agree to ~1e-12). Other laws and EGARCH always
    use exact sensitivities with the engine's second derivatives of the law. Returns a :class:`GarchResult`.
    """
    if hessian not in ("engine", "sensitivity"):
        raise ValueError(f"hessian must be 'engine' or 'sensitivity', got {hessian!r}")
    d = get_distribution(dist)
    names = param_names(vol, mean, d.param_names)
    r = np.asarray(returns, dtype=float).reshape(-1)
    if r.size < 2 * len(names) + 2:
        raise ValueError(f"GARCH needs at least {2 * len(names) + 2} returns, got {r.size}")
    bad = ~np.isfinite(r)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"returns must be finite: {int(bad.sum())} non-finite value(s), first at position {i}")
    resid0 = r - r.mean() if mean == "constant" else r
    bc = backcast(resid0)
    v = float(np.mean(resid0 ** 2))
    if not v > 0:
        raise ValueError("returns are all equal: the variance is zero, nothing to fit")
    bounds = parameter_bounds(vol, mean, d, v)
    pers_row = constraint_row(vol, mean, d)
    x0 = _as_start(start, names)
    warm = _valid_start(x0, bounds, pers_row)
    gaussian = d.name == "normal" and vol in ("garch", "gjr")
    if not warm:
        x0 = _grid_start(r, resid0, bc, vol, mean) if gaussian else _start_dist(r, resid0, bc, vol, mean, d)
    opts = {"ftol": 1e-10, "maxiter": 200 if gaussian else 500}
    opts.update(options or {})
    cons = [{"type": "ineq", "fun": lambda x: 1.0 - pers_row @ x, "jac": lambda x: -pers_row}]
    if gaussian:
        fun, args = _neg_loglik_and_grad, (r, bc, vol, mean)
    else:
        lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
        hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
        fun, args = _neg_loglik_dist, (r, bc, vol, mean, d, lo, hi)
    opt = minimize(fun, x0, args=args, jac=True, method="SLSQP", bounds=bounds, constraints=cons, options=opts)
    x = np.asarray(opt.x, dtype=float)
    for i, (lo, hi) in enumerate(bounds):   # SLSQP may overshoot a bound by rounding
        x[i] = min(max(x[i], -np.inf if lo is None else lo), np.inf if hi is None else hi)
    return GarchResult(x, r, bc, vol, mean, opt, warm_start=warm, hessian_method=hessian, dist=d)


# --------------------------------------------------------------------------- forecaster

class ConvergenceWarning(UserWarning):
    """A walk-forward refit did not converge and the previous parameters were kept."""


class GARCH(Forecaster):
    """GARCH(1,1) / GJR-GARCH(1,1,1) / EGARCH(1,1,1) forecaster for the walk-forward evaluation.

    ``fit(ds, end, begin)`` fits on ``ds.returns[begin+1 : end]`` (warm-started from the
    previous fit); ``predict(ds, start, stop)`` runs the recursion with the fitted parameters
    from ``begin+1`` through day ``t-1`` and returns ``s_t`` (for ``ds.horizon`` h > 1 the mean
    of the 1..h step forecasts; EGARCH forecasts one day only). ``dist``: the error law
    (``"normal"``, ``"t"``, ``"skewt"``, ``"ged"``); the name is ``vol`` for the normal, else
    ``vol_dist`` (``"gjr_skewt"``). ``on_failure``: what a refit that does not converge does: ``"use"``
    its estimates anyway (as before), or ``"keep"`` the previous fit, with a :class:`ConvergenceWarning`
    naming the data, the model and the day (the first fit is always used).
    """

    def __init__(self, vol: str = "garch", mean: str = "constant", warm_start: bool = True, dist: str = "normal",
                 on_failure: str = "use"):
        _check(vol, mean)
        if on_failure not in ("use", "keep"):
            raise ValueError(f"on_failure must be 'use' or 'keep', got {on_failure!r}")
        self.vol, self.mean, self.warm_start, self.on_failure = vol, mean, warm_start, on_failure
        self.dist = get_distribution(dist).name
        self.name = vol if self.dist == "normal" else f"{vol}_{self.dist}"
        self.horizon_free = True        # the fit uses returns only: one fit serves every horizon
        self.result: GarchResult | None = None
        self.begin = 0
        self.history: list = []         # per fit: {"day", "mu", "shape", "kept"} (the walk-forward keeps it)

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "GARCH":
        r = np.asarray(ds.returns[begin + 1:end], dtype=float)
        start = self.result.params if (self.warm_start and self.result is not None) else None
        res = fit_garch(r, vol=self.vol, mean=self.mean, start=start, dist=self.dist)
        if not res.converged and self.on_failure == "keep" and self.result is not None:
            day = ds.dates[min(end, len(ds) - 1)]
            why = getattr(res.optimization_result, "message", "")
            warnings.warn(f"{ds.source or 'data'}: {self.name} refit for {day} did not converge ({why}); "
                          f"the previous parameters are kept", ConvergenceWarning, stacklevel=2)
            self._record(end, kept=True)
            return self
        self.result = res
        self.begin = begin
        self._record(end, kept=False)
        return self

    def _record(self, end: int, kept: bool) -> None:
        """What parametric VaR/ES of the days from ``end`` on needs: the law's shape and the mean."""
        res = self.result
        self.history.append({"day": int(end), "mu": float(res.mu), "shape": [float(x) for x in res.shape],
                             "dist": res.dist.name, "kept": bool(kept)})

    def _one_day(self, ds: Dataset, start: int, stop: int, who: str = "predict") -> np.ndarray:
        if self.result is None:
            raise RuntimeError(f"GARCH.{who}: call fit first")
        first = self.begin + 1
        if not first <= start <= stop <= len(ds):
            raise ValueError(f"GARCH.{who}: need {first} <= start <= stop <= {len(ds)}, got {start}, {stop}")
        res = self.result
        # s[i], the variance of day first + i, needs the returns of days first .. first + i - 1 only
        e = np.asarray(ds.returns[first:stop - 1], dtype=float) - res.mu
        if not np.all(np.isfinite(e)):
            raise ValueError(f"GARCH.{who}: returns before `stop - 1` must be finite")
        s = variance_path(self.vol, res._vparams, np.append(e, 0.0), res.backcast)
        return s[start - first:]

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        s1 = self._one_day(ds, start, stop)
        res = self.result
        h = int(getattr(ds, "horizon", 1))
        if h == 1:
            return s1
        if self.vol == "egarch":
            raise ValueError(f"EGARCH forecasts one day ahead only (horizon 1), got horizon {h}")
        omega = float(res.params["omega"])
        return _multi_step(s1, omega, res.persistence, h).mean(axis=1)

    def predict_var_es(self, ds: Dataset, start: int, stop: int, levels=(0.01, 0.025, 0.05)) -> dict:
        """One-day VaR and ES of days ``start .. stop-1`` from the fitted law, as positive % losses:
        ``VaR_t = sqrt(s_t) v - mu``, ``ES_t = sqrt(s_t) es - mu`` with ``(v, es)`` the law's standardised
        figures at its fitted shape (whatever ``ds.horizon``). Keys ``var_1``, ``es_1``, ``var_2.5`` ..."""
        sig = np.sqrt(self._one_day(ds, start, stop, "predict_var_es"))
        res = self.result
        out = {}
        for a in levels:
            v, es = res.dist.var_es(a, res.shape)
            key = f"{100.0 * float(a):g}"
            out[f"var_{key}"] = sig * v - res.mu
            out[f"es_{key}"] = sig * es - res.mu
        return out

    def get_state(self) -> tuple[dict, dict]:
        if self.result is None:
            raise RuntimeError("GARCH.get_state: call fit first")
        res = self.result
        return ({"params": res.params.to_numpy().copy(), "returns": res.returns.copy(),
                 "backcast": np.array([res.backcast])},
                {"vol": res.vol, "mean": res.mean, "dist": res.dist.name, "begin": int(self.begin),
                 "converged": bool(res.converged)})

    def set_state(self, arrays: dict, meta: dict) -> "GARCH":
        dist = meta.get("dist", "normal")
        if meta.get("vol") != self.vol or meta.get("mean") != self.mean or dist != self.dist:
            raise StateError(f"{self.name}: saved state is of a {meta.get('vol')}/{meta.get('mean')}/{dist} model, "
                             f"this is {self.vol}/{self.mean}/{self.dist}")
        k = len(param_names(self.vol, self.mean, get_distribution(self.dist).param_names))
        x = state_array(arrays, "params", (k,), self.name).astype(float)
        r = state_array(arrays, "returns", None, self.name).astype(float).reshape(-1)
        bc = float(state_array(arrays, "backcast", (1,), self.name)[0])
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(r)) and bc > 0):
            raise StateError(f"{self.name}: saved parameters, returns or backcast are not finite")
        self.result = GarchResult(x, r, bc, self.vol, self.mean, dist=self.dist)
        self.result.converged = bool(meta.get("converged", True))
        self.begin = int(meta.get("begin", 0))
        return self

    # -- what the fitted model says about itself (ModelResult asks through these) ---------------------------
    def first_predictable(self, ds: Dataset) -> int:
        return int(self.begin) + 1

    def fitted_params(self) -> pd.Series:
        return self.result.params.copy()

    def fitted_std_err(self, ds: Dataset):   # robust (sandwich), arch's default: res.std_err compares with it
        return self.result.robust_std_err.rename("std_err")

    def fitted_classic_std_err(self, ds: Dataset):
        return self.result.classic_std_err

    def fitted_loglikelihood(self):
        return float(self.result.loglik)

    def fitted_summary(self):
        return self.result.summary()
