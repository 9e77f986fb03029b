"""GARCH(1,1) and GJR-GARCH(1,1,1) with normal errors, fitted by maximum likelihood.

The conventions are those of the ``arch`` package, so that results compare one to one:

* returns in percent; ``e_t = r_t - mu`` (constant mean) or ``e_t = r_t`` (zero mean);
* variance recursion ``s_t = omega + alpha e_{t-1}^2 + gamma e_{t-1}^2 1{e_{t-1} < 0} + beta s_{t-1}``
  (``gamma = 0`` for GARCH);
* pre-sample values come from the *backcast* ``bc = sum_i w_i e_i^2`` over the first
  ``m = min(75, T)`` residuals of the starting mean (``r - mean(r)``, or ``r``), with weights
  ``0.94^i`` (i = 0..m-1) normalised to sum to one. Every pre-sample lag uses it:
  ``s_{-1} = e_{-1}^2 = bc`` and the asymmetric term ``e_{-1}^2 1{e_{-1} < 0} = bc / 2``,
  so ``s_0 = omega + (alpha + gamma/2 + beta) bc``. The backcast is fixed during the fit;
* log-likelihood ``L = -0.5 sum_t (log(2 pi) + log s_t + e_t^2 / s_t)``;
* constraints: ``1e-8 v <= omega <= 10 v`` (``v`` the mean squared starting residual),
  ``0 <= alpha <= 1``, ``0 <= gamma <= 2``, ``0 <= beta <= 1`` and
  ``alpha + gamma/2 + beta <= 1``; ``scipy.optimize.minimize(method="SLSQP")`` on ``-L``
  with these as bounds and one linear inequality, and the engine's exact gradient as ``jac``;
* starting values: ``mu = mean(r)`` and the best, by likelihood, of arch's grid
  (``alpha`` and ``gamma`` in {0.01, 0.05, 0.1, 0.2}, persistence in {0.5, 0.7, 0.9, 0.98},
  ``omega = (1 - persistence) v``), or a previous fit's parameters (warm start).

Two deviations from arch, neither active at any sensible parameter: arch lets ``gamma`` go
negative as long as ``alpha + gamma >= 0`` (here ``gamma >= 0``), and arch clips each
``s_t`` to loose bounds (``[ewma/1e6, ewma*1e6]``); here ``s_t > 0`` holds by the
constraints and no clipping is done.

How the derivatives are computed:

* the likelihood is one :class:`~tinygrad_trade.tensor.CustomOp`, :class:`GarchLogLik`, whose
  inputs are the volatility parameters and the residuals. Its forward is the O(T) recursion
  (a first-order linear filter, run by ``scipy.signal.lfilter``) and its backward the O(T)
  adjoint recursion ``lam_t = dL/ds_t + beta lam_{t+1}``, also a linear filter run backwards.
  ``mu`` enters through the engine's own ops (``e = r - mu``), so the gradient of ``mu``
  flows through the engine too;
* :func:`loglik_value` builds the same likelihood from :class:`~tinygrad_trade.engine.Value`
  ops step by step; it is the reference the custom op is checked against, and its
  ``grad(..., create_graph=True)`` gives the exact Hessian (slow: ~10^5 nodes);
* :func:`loglik_derivatives` gives the per-observation scores and the exact Hessian by
  forward (tangent) sensitivities of first and second order, again linear filters with
  coefficient ``beta``. It is exact (no finite differences), agrees with the Value graph's
  second-order gradients and takes milliseconds. The robust standard errors take their
  per-observation scores from it. The classic ones use the Value graph's Hessian by default
  (``hessian="engine"``; ``"sensitivity"`` for the fast path):
  classic ``cov = (-H)^-1``, robust ``cov = (-H)^-1 (n Cov(scores)) (-H)^-1`` with
  ``Cov`` the sample covariance (``np.cov``) of the per-observation scores, as arch does
  (it equals the outer product of scores at an interior optimum, where scores sum to zero).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.signal import lfilter

from ...engine import Value
from ...graph import grad
from ...tensor import CustomOp, Tensor
from ..features.dataset import Dataset
from .base import Forecaster, StateError, state_array
from .html_tables import garch_html

__all__ = ["VOLS", "MEANS", "LOG_2PI", "param_names", "backcast", "garch_variance", "GarchLogLik",
           "loglik_tensor", "loglik_value", "loglik_derivatives", "value_hessian", "fit_garch",
           "GarchResult", "GARCH"]

VOLS = ("garch", "gjr")
MEANS = ("constant", "zero")
LOG_2PI = math.log(2.0 * math.pi)
_ALPHAS = (0.01, 0.05, 0.1, 0.2)
_PERSISTENCE = (0.5, 0.7, 0.9, 0.98)


def _check(vol: str, mean: str) -> None:
    if vol not in VOLS:
        raise ValueError(f"vol must be one of {', '.join(VOLS)}, got {vol!r}")
    if mean not in MEANS:
        raise ValueError(f"mean must be one of {', '.join(MEANS)}, got {mean!r}")


def param_names(vol: str = "garch", mean: str = "constant") -> list[str]:
    """Parameter order: ``[mu,] omega, alpha, [gamma,] beta``."""
    _check(vol, mean)
    return (["mu"] if mean == "constant" else []) + ["omega", "alpha"] + (["gamma"] if vol == "gjr" else []) + ["beta"]


def backcast(resids) -> float:
    """arch's backcast: ``sum w_i e_i^2`` over the first ``min(75, T)`` residuals, ``w_i ~ 0.94^i``."""
    e = np.asarray(resids, dtype=float)
    m = min(75, e.size)
    w = 0.94 ** np.arange(m)
    return float(np.sum(e[:m] ** 2 * (w / w.sum())))


def _full_vparams(vparams) -> tuple[float, float, float, float]:
    """(omega, alpha, gamma, beta) from 3 (GARCH) or 4 (GJR) volatility parameters."""
    v = [float(x) for x in np.asarray(vparams, dtype=float).reshape(-1)]
    if len(v) == 3:
        return v[0], v[1], 0.0, v[2]
    if len(v) == 4:
        return v[0], v[1], v[2], v[3]
    raise ValueError(f"expected 3 (GARCH) or 4 (GJR) volatility parameters, got {len(v)}")


def _lagged(e: np.ndarray, bc: float):
    """``u_{t-1} = e_{t-1}^2`` and ``v_{t-1} = e_{t-1}^2 1{e_{t-1} < 0}`` with pre-sample ``bc``, ``bc/2``."""
    e2 = e * e
    u = np.empty_like(e)
    v = np.empty_like(e)
    u[0], v[0] = bc, 0.5 * bc
    u[1:] = e2[:-1]
    v[1:] = e2[:-1] * (e[:-1] < 0)
    return u, v


def garch_variance(vparams, resids, bc: float) -> np.ndarray:
    """Conditional variances ``s_0..s_{T-1}`` for volatility parameters (omega, alpha, [gamma,] beta)."""
    omega, alpha, gamma, beta = _full_vparams(vparams)
    e = np.asarray(resids, dtype=float)
    u, v = _lagged(e, bc)
    x = omega + alpha * u + gamma * v
    return lfilter([1.0], [1.0, -beta], x, zi=[beta * bc])[0]


def _loglik_terms(e: np.ndarray, s: np.ndarray) -> np.ndarray:
    return -0.5 * (LOG_2PI + np.log(s) + e * e / s)


class GarchLogLik(CustomOp):
    """Gaussian GARCH/GJR log-likelihood ``L(vparams, e)`` as one op (forward and adjoint O(T)).

    Inputs: ``vparams`` = (omega, alpha, beta) or (omega, alpha, gamma, beta), and the
    residuals ``e`` (T,). Keyword: ``backcast`` (the pre-sample value). Output: the scalar L.
    """

    name = "garch_loglik"

    def __init__(self, backcast: float):
        self.bc = float(backcast)

    def forward(self, vparams, e):
        self.nv = np.size(vparams)
        self.omega, self.alpha, self.gamma, self.beta = _full_vparams(vparams)
        self.e = e = np.asarray(e, dtype=float)
        self.u, self.v = _lagged(e, self.bc)
        x = self.omega + self.alpha * self.u + self.gamma * self.v
        self.s = s = lfilter([1.0], [1.0, -self.beta], x, zi=[self.beta * self.bc])[0]
        return np.asarray(np.sum(_loglik_terms(e, s)))

    def backward(self, g):
        g = float(np.asarray(g).reshape(()))
        e, s, beta = self.e, self.s, self.beta
        ds = -0.5 * (1.0 / s - e * e / (s * s))                 # dL/ds_t, direct
        lam = lfilter([1.0], [1.0, -beta], ds[::-1])[::-1]     # lam_t = ds_t + beta lam_{t+1}
        s_lag = np.empty_like(s)
        s_lag[0], s_lag[1:] = self.bc, s[:-1]
        grads = [lam.sum(), lam @ self.u] + ([lam @ self.v] if self.nv == 4 else []) + [lam @ s_lag]
        de = -e / s
        de[:-1] += lam[1:] * 2.0 * e[:-1] * (self.alpha + self.gamma * (e[:-1] < 0))
        return g * np.array(grads), g * de


def loglik_tensor(theta: Tensor, returns, bc: float, vol: str = "garch", mean: str = "constant") -> Tensor:
    """The log-likelihood as a Tensor graph: ``e = r - mu`` in engine ops, then :class:`GarchLogLik`."""
    _check(vol, mean)
    r = Tensor(np.asarray(returns, dtype=float))
    if mean == "constant":
        return GarchLogLik.apply(theta[1:], r - theta[0], backcast=bc)
    return GarchLogLik.apply(theta, r, backcast=bc)


def loglik_value(params, returns, bc: float, vol: str = "garch", mean: str = "constant") -> Value:
    """The same log-likelihood built from scalar ``Value`` ops, one step at a time (the reference).

    ``params`` is a sequence of Values (or numbers) in the order of :func:`param_names`.
    """
    names = param_names(vol, mean)
    if len(params) != len(names):
        raise ValueError(f"expected {len(names)} parameters {names}, got {len(params)}")
    p = dict(zip(names, params))
    mu, omega, alpha, beta = p.get("mu"), p["omega"], p["alpha"], p["beta"]
    gamma = p.get("gamma")
    s = omega + alpha * bc + beta * bc
    if gamma is not None:
        s = s + gamma * (0.5 * bc)
    total = Value(0.0)
    for r in np.asarray(returns, dtype=float):
        e = (float(r) - mu) if mu is not None else float(r)
        e2 = e * e
        total = total + s.log() + e2 / s
        nxt = omega + alpha * e2 + beta * s
        if gamma is not None and float(e) < 0:
            nxt = nxt + gamma * e2
        s = nxt
    n = len(returns)
    return -0.5 * (total + n * LOG_2PI)


def value_hessian(theta, returns, bc: float, vol: str = "garch", mean: str = "constant") -> np.ndarray:
    """Exact Hessian of :func:`loglik_value` by ``grad(create_graph=True)`` and grad again (slow)."""
    xs = [Value(float(t)) for t in theta]
    L = loglik_value(xs, returns, bc, vol, mean)
    g1 = grad(L, xs, create_graph=True)
    return np.array([[float(h) for h in grad(gk, xs)] for gk in g1])


def loglik_derivatives(theta, returns, bc: float, vol: str = "garch", mean: str = "constant"):
    """Exact ``(L, scores, H)`` by first- and second-order forward sensitivities.

    ``scores`` is (T, k): ``d l_t / d theta`` per observation; ``H`` is the (k, k) Hessian of L.
    Each sensitivity of ``s_t`` obeys ``D s_t = f_t + beta D s_{t-1}``, a linear filter.
    """
    names = param_names(vol, mean)
    th = dict(zip(names, np.asarray(theta, dtype=float)))
    k = len(names)
    ix = {n: i for i, n in enumerate(names)}
    mu = th.get("mu", 0.0)
    omega, alpha, gamma, beta = th["omega"], th["alpha"], th.get("gamma", 0.0), th["beta"]
    r = np.asarray(returns, dtype=float)
    T = r.size
    e = r - mu
    u, v = _lagged(e, bc)
    s = lfilter([1.0], [1.0, -beta], omega + alpha * u + gamma * v, zi=[beta * bc])[0]
    s_lag = np.concatenate(([bc], s[:-1]))
    e_lag = np.concatenate(([0.0], e[:-1]))           # 0 before the sample: bc does not depend on mu
    neg_lag = np.concatenate(([0.0], (e[:-1] < 0).astype(float)))
    filt = functools.partial(lfilter, [1.0], [1.0, -beta], axis=0)

    # first order: forcing f[t, k]
    f = np.zeros((T, k))
    f[:, ix["omega"]] = 1.0
    f[:, ix["alpha"]] = u
    if "gamma" in ix:
        f[:, ix["gamma"]] = v
    f[:, ix["beta"]] = s_lag
    if "mu" in ix:
        f[:, ix["mu"]] = -2.0 * e_lag * (alpha + gamma * neg_lag)
    ds = filt(f)
    ds_lag = np.vstack((np.zeros((1, k)), ds[:-1]))

    # second order: forcing F[t, j, k] = D_j f[t, k] + [j = beta] D_k s_{t-1}
    F = np.zeros((T, k, k))
    b = ix["beta"]
    F[:, b, :] += ds_lag
    F[:, :, b] += ds_lag
    if "mu" in ix:
        m, a = ix["mu"], ix["alpha"]
        F[1:, m, m] = 2.0 * (alpha + gamma * neg_lag[1:])   # t = 0: the backcast does not move with mu
        F[:, m, a] = F[:, a, m] = -2.0 * e_lag
        if "gamma" in ix:
            c = ix["gamma"]
            F[:, m, c] = F[:, c, m] = -2.0 * e_lag * neg_lag
    d2s = filt(F)

    # l_t(s_t, e_t) = -0.5 (log 2pi + log s + e^2 / s), with D e = -[k = mu]
    l_s = -0.5 * (1.0 / s - e * e / s**2)
    l_ss = 0.5 / s**2 - e * e / s**3
    l_e, l_ee, l_se = -e / s, -1.0 / s, e / s**2
    de = np.zeros(k)
    if "mu" in ix:
        de[ix["mu"]] = -1.0
    scores = l_s[:, None] * ds + l_e[:, None] * de[None, :]
    H = (np.einsum("t,tj,tk->jk", l_ss, ds, ds) + np.einsum("t,tjk->jk", l_s, d2s)
         + np.einsum("t,tj,k->jk", l_se, ds, de) + np.einsum("t,j,tk->jk", l_se, de, ds)
         + l_ee.sum() * np.outer(de, de))
    L = float(np.sum(_loglik_terms(e, s)))
    return L, scores, H


# --------------------------------------------------------------------------- fitting

def _neg_loglik_and_grad(x, r, bc, vol, mean):
    theta = Tensor(x, requires_grad=True)
    L = loglik_tensor(theta, r, bc, vol, mean)
    val = L.item()
    if not math.isfinite(val):
        return 1e300, np.zeros_like(x)
    return -val, -np.asarray(grad(L, theta), dtype=float)


def _bounds(names, v):
    table = {"mu": (None, None), "omega": (1e-8 * v, 10.0 * v), "alpha": (0.0, 1.0),
             "gamma": (0.0, 2.0), "beta": (0.0, 1.0)}
    return [table[n] for n in names]


def _persistence_row(names):
    return np.array([{"alpha": 1.0, "gamma": 0.5, "beta": 1.0}.get(n, 0.0) for n in names])


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


def _valid_start(x, bounds, pers_row):
    if x is None or len(x) != len(bounds) or not np.all(np.isfinite(x)):
        return False
    for xi, (lo, hi) in zip(x, bounds):
        if (lo is not None and xi < lo) or (hi is not None and xi > hi):
            return False
    return pers_row @ x < 1.0


def fit_garch(returns, vol: str = "garch", mean: str = "constant", start=None,
              options: dict | None = None, hessian: str = "engine") -> "GarchResult":
    """Fit GARCH(1,1) (``vol="garch"``) or GJR-GARCH(1,1,1) (``vol="gjr"``) by maximum likelihood.

    ``returns``: percent returns (array or Series, all finite). ``mean``: ``"constant"`` or
    ``"zero"``. ``start``: starting parameters (a previous fit's ``params``, dict, Series or
    array in the order of :func:`param_names`) used when they satisfy the constraints, else
    the arch grid. ``options`` go to SLSQP. ``hessian`` chooses how the classic standard errors'
    Hessian is computed: ``"engine"`` (default) by the engine's second-order gradients
    (:func:`value_hessian`), ``"sensitivity"`` by forward sensitivities (:func:`loglik_derivatives`,
    milliseconds; the two agree to ~1e-12). Returns a :class:`GarchResult`.
    """
    if hessian not in ("engine", "sensitivity"):
        raise ValueError(f"hessian must be 'engine' or 'sensitivity', got {hessian!r}")
    names = param_names(vol, mean)
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
    bounds = _bounds(names, v)
    pers_row = _persistence_row(names)
    x0 = None
    if start is not None:
        x0 = np.array([float(start[n]) for n in names]) if isinstance(start, (dict, pd.Series)) \
            else np.asarray(start, dtype=float).reshape(-1)
    warm = _valid_start(x0, bounds, pers_row)
    if not warm:
        x0 = _grid_start(r, resid0, bc, vol, mean)
    opts = {"ftol": 1e-10, "maxiter": 200}
    opts.update(options or {})
    cons = [{"type": "ineq", "fun": lambda x: 1.0 - pers_row @ x, "jac": lambda x: -pers_row}]
    opt = minimize(_neg_loglik_and_grad, x0, args=(r, bc, vol, mean), jac=True, method="SLSQP",
                   bounds=bounds, constraints=cons, options=opts)
    x = np.asarray(opt.x, dtype=float)
    for i, (lo, hi) in enumerate(bounds):   # SLSQP may overshoot a bound by rounding
        x[i] = min(max(x[i], -np.inf if lo is None else lo), np.inf if hi is None else hi)
    return GarchResult(x, r, bc, vol, mean, opt, warm_start=warm, hessian_method=hessian)


# --------------------------------------------------------------------------- results

class GarchResult:
    """A fitted GARCH/GJR model, with arch's attribute names.

    ``params`` (Series mu, omega, alpha, [gamma,] beta), ``loglik``, ``aic``, ``bic``, ``nobs``,
    ``std_err`` (classic, from the exact Hessian), ``robust_std_err`` (sandwich), ``tvalues``
    and ``pvalues`` (from the classic errors), ``robust_tvalues``, ``cov_params``,
    ``robust_cov_params``, ``conditional_variance``, ``resid``, ``summary()``,
    ``forecast(horizon)``. Standard errors are computed on first access.
    """

    def __init__(self, x, returns, bc, vol, mean, opt=None, warm_start=False, hessian_method="engine"):
        self.vol, self.mean = vol, mean
        self.hessian_method = hessian_method
        self.names = param_names(vol, mean)
        self.params = pd.Series(np.asarray(x, dtype=float), index=self.names, name="params")
        self.returns = np.asarray(returns, dtype=float)
        self.backcast = float(bc)
        self.optimization_result = opt
        self.converged = bool(opt.success) if opt is not None else True
        self.warm_start = warm_start
        self.nobs = int(self.returns.size)
        mu = self.params.get("mu", 0.0)
        self.resid = self.returns - mu
        self.conditional_variance = garch_variance(self._vparams, self.resid, self.backcast)
        self.loglik = float(np.sum(_loglik_terms(self.resid, self.conditional_variance)))
        k = len(self.names)
        self.aic = -2.0 * self.loglik + 2.0 * k
        self.bic = -2.0 * self.loglik + k * math.log(self.nobs)

    @functools.cached_property
    def _vparams(self):
        # numpy indexing, cached: every forecast reads it, and pandas' list indexing costs more than the recursion
        return self.params.to_numpy()[[i for i, n in enumerate(self.names) if n != "mu"]]

    @property
    def mu(self) -> float:
        return float(self.params.get("mu", 0.0))

    @property
    def persistence(self) -> float:
        p = self.params
        return float(p["alpha"] + 0.5 * p.get("gamma", 0.0) + p["beta"])

    @functools.cached_property
    def _derivatives(self):
        return loglik_derivatives(self.params.to_numpy(), self.returns, self.backcast, self.vol, self.mean)

    @property
    def scores(self) -> np.ndarray:
        """Per-observation scores ``d l_t / d theta``, (nobs, k)."""
        return self._derivatives[1]

    @functools.cached_property
    def hessian(self) -> np.ndarray:
        """Exact Hessian of the log-likelihood at the estimate: by default from the engine's
        second-order gradients (``grad`` with ``create_graph=True``, then ``grad`` again)."""
        if self.hessian_method == "engine":
            return value_hessian(self.params.to_numpy(), self.returns, self.backcast, self.vol, self.mean)
        return self._derivatives[2]

    @functools.cached_property
    def cov_params(self) -> pd.DataFrame:
        """Classic covariance ``(-H)^-1``."""
        return pd.DataFrame(np.linalg.inv(-self.hessian), index=self.names, columns=self.names)

    @functools.cached_property
    def robust_cov_params(self) -> pd.DataFrame:
        """Sandwich covariance ``(-H)^-1 J (-H)^-1``, ``J = n * np.cov(scores)`` as in arch."""
        hinv = np.linalg.inv(-self.hessian)
        J = self.nobs * np.atleast_2d(np.cov(self.scores.T))
        return pd.DataFrame(hinv @ J @ hinv, index=self.names, columns=self.names)

    @staticmethod
    def _se(cov: pd.DataFrame) -> pd.Series:
        d = np.diag(cov.to_numpy())
        return pd.Series(np.sqrt(np.where(d > 0, d, np.nan)), index=cov.index, name="std_err")

    @functools.cached_property
    def std_err(self) -> pd.Series:
        return self._se(self.cov_params)

    @functools.cached_property
    def robust_std_err(self) -> pd.Series:
        return self._se(self.robust_cov_params).rename("robust_std_err")

    @property
    def tvalues(self) -> pd.Series:
        return (self.params / self.std_err).rename("tvalues")

    @property
    def robust_tvalues(self) -> pd.Series:
        return (self.params / self.robust_std_err).rename("robust_tvalues")

    @staticmethod
    def _p(t: pd.Series) -> pd.Series:
        return t.abs().map(lambda z: math.erfc(z / math.sqrt(2.0)) if np.isfinite(z) else np.nan)

    @property
    def pvalues(self) -> pd.Series:
        return self._p(self.tvalues).rename("pvalues")

    @property
    def robust_pvalues(self) -> pd.Series:
        return self._p(self.robust_tvalues).rename("robust_pvalues")

    def forecast(self, horizon: int = 1) -> np.ndarray:
        """Variance forecasts for 1..horizon days after the end of the sample (closed form).

        ``s_{T+1} = omega + alpha e_T^2 + gamma e_T^2 1{e_T<0} + beta s_T`` and
        ``s_{T+h} = omega + (alpha + gamma/2 + beta) s_{T+h-1}`` for h >= 2.
        """
        h = int(horizon)
        if h != horizon or h < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        omega, alpha, gamma, beta = _full_vparams(self._vparams)
        eT, sT = self.resid[-1], self.conditional_variance[-1]
        s1 = omega + (alpha + gamma * (eT < 0)) * eT * eT + beta * sT
        return _multi_step(np.array([s1]), omega, self.persistence, h)[0]

    def summary(self) -> str:
        title = {"garch": "GARCH(1,1)", "gjr": "GJR-GARCH(1,1,1)"}[self.vol]
        mean = {"constant": "constant mean", "zero": "zero mean"}[self.mean]
        lines = [f"{title}, {mean}, normal errors: maximum likelihood",
                 f"  observations {self.nobs:>8d}    log-likelihood {self.loglik:>12.3f}",
                 f"  AIC {self.aic:>16.3f}    BIC {self.bic:>22.3f}",
                 f"  persistence {self.persistence:>8.5f}    converged {'yes' if self.converged else 'NO'}",
                 "",
                 f"{'':>7} {'coef':>10} {'std err':>10} {'t':>8} {'P>|t|':>8} {'robust se':>10} {'robust t':>9}"]
        se, rse, t, p, rt = self.std_err, self.robust_std_err, self.tvalues, self.pvalues, self.robust_tvalues
        for n in self.names:
            lines.append(f"{n:>7} {self.params[n]:>10.5f} {se[n]:>10.5f} {t[n]:>8.2f} {p[n]:>8.4f} "
                         f"{rse[n]:>10.5f} {rt[n]:>9.2f}")
        lines.append("")
        lines.append("std err: inverse of the exact Hessian; robust: sandwich H^-1 J H^-1 (scores' covariance)")
        return "\n".join(lines)

    def __repr__(self):
        ps = ", ".join(f"{n}={v:.5f}" for n, v in self.params.items())
        return f"GarchResult({self.vol}, {self.mean}: {ps}, loglik={self.loglik:.3f})"

    def _repr_html_(self):  # the estimates as a table in Jupyter
        return garch_html(self)


def _multi_step(s1: np.ndarray, omega: float, phi: float, h: int) -> np.ndarray:
    """(n, h) array: column k is the (k+1)-step forecast from one-step forecasts ``s1``."""
    out = np.empty((s1.size, h))
    out[:, 0] = s1
    for j in range(1, h):
        out[:, j] = omega + phi * out[:, j - 1]
    return out


# --------------------------------------------------------------------------- forecaster

class GARCH(Forecaster):
    """GARCH(1,1) / GJR-GARCH(1,1,1) forecaster for the walk-forward evaluation.

    ``fit(ds, end, begin)`` fits on ``ds.returns[begin+1 : end]`` (warm-started from the
    previous fit); ``predict(ds, start, stop)`` runs the recursion with the fitted parameters
    from ``begin+1`` through day ``t-1`` and returns ``s_t`` (for ``ds.horizon`` h > 1 the mean
    of the 1..h step forecasts).
    """

    def __init__(self, vol: str = "garch", mean: str = "constant", warm_start: bool = True):
        _check(vol, mean)
        self.vol, self.mean, self.warm_start = vol, mean, warm_start
        self.name = vol
        self.horizon_free = True        # the fit uses returns only: one fit serves every horizon
        self.result: GarchResult | None = None
        self.begin = 0

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "GARCH":
        r = np.asarray(ds.returns[begin + 1:end], dtype=float)
        start = self.result.params if (self.warm_start and self.result is not None) else None
        self.result = fit_garch(r, vol=self.vol, mean=self.mean, start=start)
        self.begin = begin
        return self

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        if self.result is None:
            raise RuntimeError("GARCH.predict: call fit first")
        first = self.begin + 1
        if not first <= start <= stop <= len(ds):
            raise ValueError(f"GARCH.predict: need {first} <= start <= stop <= {len(ds)}, got {start}, {stop}")
        res = self.result
        # s[i], the variance of day first + i, needs the returns of days first .. first + i - 1 only
        e = np.asarray(ds.returns[first:stop - 1], dtype=float) - res.mu
        if not np.all(np.isfinite(e)):
            raise ValueError("GARCH.predict: returns before `stop - 1` must be finite")
        s = garch_variance(res._vparams, np.append(e, 0.0), res.backcast)
        s1 = s[start - first:]
        h = int(getattr(ds, "horizon", 1))
        if h == 1:
            return s1
        omega = float(res.params["omega"])
        return _multi_step(s1, omega, res.persistence, h).mean(axis=1)

    def get_state(self) -> tuple[dict, dict]:
        if self.result is None:
            raise RuntimeError("GARCH.get_state: call fit first")
        res = self.result
        return ({"params": res.params.to_numpy().copy(), "returns": res.returns.copy(),
                 "backcast": np.array([res.backcast])},
                {"vol": res.vol, "mean": res.mean, "begin": int(self.begin), "converged": bool(res.converged)})

    def set_state(self, arrays: dict, meta: dict) -> "GARCH":
        if meta.get("vol") != self.vol or meta.get("mean") != self.mean:
            raise StateError(f"{self.name}: saved state is of a {meta.get('vol')}/{meta.get('mean')} model, "
                             f"this is {self.vol}/{self.mean}")
        x = state_array(arrays, "params", (len(param_names(self.vol, self.mean)),), self.name).astype(float)
        r = state_array(arrays, "returns", None, self.name).astype(float).reshape(-1)
        bc = float(state_array(arrays, "backcast", (1,), self.name)[0])
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(r)) and bc > 0):
            raise StateError(f"{self.name}: saved parameters, returns or backcast are not finite")
        self.result = GarchResult(x, r, bc, self.vol, self.mean)
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
        return self.result.std_err.rename("classic_std_err")

    def fitted_loglikelihood(self):
        return float(self.result.loglik)

    def fitted_summary(self):
        return self.result.summary()
