"""The result of a GARCH-family fit: estimates, standard errors, bound flags, forecasts.

:class:`GarchResult` holds arch's attribute names (``params``, ``loglik``, ``std_err``,
``robust_std_err``, ``conditional_variance`` ...). The classic covariance is ``(-H)^-1`` from the
exact Hessian, the robust one the sandwich ``(-H)^-1 (n Cov(scores)) (-H)^-1`` as arch computes it. As in arch,
the plain names (``std_err``, ``tvalues``, ``pvalues``, ``cov_params``) are the robust ones (arch's default
``cov_type="robust"``); the classic ones go by name (``classic_std_err`` ...), and ``robust_*`` name the
robust ones explicitly.
For the Gaussian GARCH and GJR the Hessian comes by default from the Value graph's second-order
gradients (:func:`~.garch_recursions.value_hessian`); for the other laws and EGARCH from exact
sensitivities and the engine's pointwise second derivatives (:func:`~.garch_dists.loglik_dist_derivatives`).

A parameter estimated at one of its bounds (``alpha = 0`` in a GJR fit, ``nu = 500`` ...) is flagged
(:attr:`GarchResult.at_bound`, a ``*`` in :meth:`~GarchResult.summary`): its t-statistic assumes an
interior optimum and is not valid there.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from .distributions import get_distribution
from .html_tables import garch_html
from .garch_dists import loglik_dist_derivatives, loglik_dist_terms, parameter_bounds, variance_path
from .garch_recursions import (SQRT_2_OVER_PI, _full_vparams, _loglik_terms, loglik_derivatives, param_names,
                               value_hessian)

__all__ = ["GarchResult", "TITLES"]

TITLES = {"garch": "GARCH(1,1)", "gjr": "GJR-GARCH(1,1,1)", "egarch": "EGARCH(1,1,1)"}
_AT_BOUND = 1e-6     # distance to a bound, relative to the interval, that counts as "at the bound"


class GarchResult:
    """A fitted GARCH/GJR/EGARCH model, with arch's attribute names.

    ``params`` (Series mu, omega, alpha, [gamma,] beta, then the error law's shape parameters
    under arch's names: ``nu``; ``eta``, ``lambda``), ``dist`` (the law), ``loglik``, ``aic``, ``bic``, ``nobs``,
    ``std_err``, ``tvalues``, ``pvalues``, ``cov_params`` (robust, the sandwich: arch's default),
    ``classic_std_err``, ``classic_tvalues``, ``classic_pvalues``, ``classic_cov_params`` (from the exact
    Hessian), ``robust_std_err`` ... (the same as the plain names), ``conditional_variance``, ``resid``,
    ``summary()``,
    ``forecast(horizon)``, ``at_bound``. Standard errors are computed on first access.
    """

    def __init__(self, x, returns, bc, vol, mean, opt=None, warm_start=False, hessian_method="engine",
                 dist="normal"):
        self.vol, self.mean = vol, mean
        self.dist = get_distribution(dist)
        self.gaussian = self.dist.name == "normal" and vol in ("garch", "gjr")   # the reference path
        self.hessian_method = hessian_method
        self.names = param_names(vol, mean, self.dist.param_names)
        self.params = pd.Series(np.asarray(x, dtype=float), index=self.names, name="params")
        self.returns = np.asarray(returns, dtype=float)
        self.backcast = float(bc)
        self.optimization_result = opt
        self.converged = bool(opt.success) if opt is not None else True
        self.warm_start = warm_start
        self.nobs = int(self.returns.size)
        mu = self.params.get("mu", 0.0)
        self.resid = self.returns - mu
        self.conditional_variance = variance_path(vol, self._vparams, self.resid, self.backcast)
        if self.gaussian:
            self.loglik = float(np.sum(_loglik_terms(self.resid, self.conditional_variance)))
        else:
            self.loglik = float(np.sum(loglik_dist_terms(self.resid, self.conditional_variance, self.dist,
                                                         self.shape)))
        k = len(self.names)
        self.aic = -2.0 * self.loglik + 2.0 * k
        self.bic = -2.0 * self.loglik + k * math.log(self.nobs)

    @functools.cached_property
    def _vparams(self):
        # numpy indexing, cached: every forecast reads it, and pandas' list indexing costs more than the recursion
        vol_names = param_names(self.vol, "zero")
        return self.params.to_numpy()[[i for i, n in enumerate(self.names) if n in vol_names]]

    @functools.cached_property
    def shape(self) -> np.ndarray:
        """The error law's shape parameters (empty for the normal)."""
        return self.params.to_numpy()[len(self.names) - self.dist.k:]

    @property
    def std_resid(self) -> np.ndarray:
        """Standardised residuals ``e_t / sqrt(s_t)``."""
        return self.resid / np.sqrt(self.conditional_variance)

    @functools.cached_property
    def bounds(self) -> list[tuple]:
        """The box bounds the fit used, in the order of ``params`` (None: unbounded)."""
        r = self.returns
        resid0 = r - r.mean() if self.mean == "constant" else r
        return parameter_bounds(self.vol, self.mean, self.dist, float(np.mean(resid0 ** 2)))

    @functools.cached_property
    def at_bound(self) -> pd.Series:
        """True for a parameter estimated at one of its bounds: within 1e-6 of the width of its
        interval (of ``max(1, |bound|)`` when the other side is open)."""
        flags = []
        for x, (lo, hi) in zip(self.params.to_numpy(), self.bounds):
            ends = [b for b in (lo, hi) if b is not None]
            width = (hi - lo) if len(ends) == 2 else max([1.0] + [abs(b) for b in ends])
            flags.append(any(abs(x - b) <= _AT_BOUND * width for b in ends))
        return pd.Series(flags, index=self.names, name="at_bound")

    @property
    def mu(self) -> float:
        return float(self.params.get("mu", 0.0))

    @property
    def persistence(self) -> float:
        """``alpha + gamma/2 + beta`` (arch's, for a symmetric law); EGARCH: ``beta``."""
        p = self.params
        if self.vol == "egarch":
            return float(p["beta"])
        return float(p["alpha"] + 0.5 * p.get("gamma", 0.0) + p["beta"])

    @functools.cached_property
    def _derivatives(self):
        if self.gaussian:
            return loglik_derivatives(self.params.to_numpy(), self.returns, self.backcast, self.vol, self.mean)
        return loglik_dist_derivatives(self.params.to_numpy(), self.returns, self.backcast, self.vol, self.mean,
                                       self.dist)

    @property
    def scores(self) -> np.ndarray:
        """Per-observation scores ``d l_t / d theta``, (nobs, k)."""
        return self._derivatives[1]

    @functools.cached_property
    def hessian(self) -> np.ndarray:
        """Exact Hessian of the log-likelihood at the estimate: by default from the engine's
        second-order gradients (``grad`` with ``create_graph=True``, then ``grad`` again). Other laws
        and EGARCH: exact sensitivities with the engine's pointwise second derivatives of the law."""
        if self.hessian_method == "engine" and self.gaussian:
            return value_hessian(self.params.to_numpy(), self.returns, self.backcast, self.vol, self.mean)
        return self._derivatives[2]

    @functools.cached_property
    def classic_cov_params(self) -> pd.DataFrame:
        """Classic covariance ``(-H)^-1``."""
        return pd.DataFrame(np.linalg.inv(-self.hessian), index=self.names, columns=self.names)

    @functools.cached_property
    def robust_cov_params(self) -> pd.DataFrame:
        """Sandwich covariance ``(-H)^-1 J (-H)^-1``, ``J = n * np.cov(scores)`` as in arch."""
        hinv = np.linalg.inv(-self.hessian)
        J = self.nobs * np.atleast_2d(np.cov(self.scores.T))
        return pd.DataFrame(hinv @ J @ hinv, index=self.names, columns=self.names)

    @staticmethod
    def _se(cov: pd.DataFrame, name: str) -> pd.Series:
        d = np.diag(cov.to_numpy())
        return pd.Series(np.sqrt(np.where(d > 0, d, np.nan)), index=cov.index, name=name)

    @functools.cached_property
    def classic_std_err(self) -> pd.Series:
        return self._se(self.classic_cov_params, "classic_std_err")

    @functools.cached_property
    def robust_std_err(self) -> pd.Series:
        return self._se(self.robust_cov_params, "robust_std_err")

    @property
    def classic_tvalues(self) -> pd.Series:
        return (self.params / self.classic_std_err).rename("classic_tvalues")

    @property
    def robust_tvalues(self) -> pd.Series:
        return (self.params / self.robust_std_err).rename("robust_tvalues")

    @staticmethod
    def _p(t: pd.Series, name: str) -> pd.Series:
        return t.abs().map(lambda z: math.erfc(z / math.sqrt(2.0)) if np.isfinite(z) else np.nan).rename(name)

    @property
    def classic_pvalues(self) -> pd.Series:
        return self._p(self.classic_tvalues, "classic_pvalues")

    @property
    def robust_pvalues(self) -> pd.Series:
        return self._p(self.robust_tvalues, "robust_pvalues")

    # arch's default names are the robust ones (cov_type="robust")
    @property
    def cov_params(self) -> pd.DataFrame:
        return self.robust_cov_params

    @property
    def std_err(self) -> pd.Series:
        return self.robust_std_err.rename("std_err")

    @property
    def tvalues(self) -> pd.Series:
        return self.robust_tvalues.rename("tvalues")

    @property
    def pvalues(self) -> pd.Series:
        return self.robust_pvalues.rename("pvalues")

    def forecast(self, horizon: int = 1) -> np.ndarray:
        """Variance forecasts for 1..horizon days after the end of the sample (closed form).

        ``s_{T+1} = omega + alpha e_T^2 + gamma e_T^2 1{e_T<0} + beta s_T`` and
        ``s_{T+h} = omega + (alpha + gamma/2 + beta) s_{T+h-1}`` for h >= 2. EGARCH: one day only
        (``ln s_{T+1}`` from the recursion; as arch, no closed form beyond).
        """
        h = int(horizon)
        if h != horizon or h < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        if self.vol == "egarch":
            if h != 1:
                raise ValueError(f"EGARCH forecasts one day ahead only (horizon 1), got horizon {h}")
            omega, alpha, gamma, beta = self._vparams
            lnT = math.log(self.conditional_variance[-1])
            z = self.resid[-1] / math.sqrt(self.conditional_variance[-1])
            return np.array([math.exp(omega + alpha * (abs(z) - SQRT_2_OVER_PI) + gamma * z + beta * lnT)])
        omega, alpha, gamma, beta = _full_vparams(self._vparams)
        eT, sT = self.resid[-1], self.conditional_variance[-1]
        s1 = omega + (alpha + gamma * (eT < 0)) * eT * eT + beta * sT
        return _multi_step(np.array([s1]), omega, self.persistence, h)[0]

    def summary(self) -> str:
        title = TITLES[self.vol]
        mean = {"constant": "constant mean", "zero": "zero mean"}[self.mean]
        lines = [f"{title}, {mean}, {self.dist.title} errors: maximum likelihood",
                 f"  observations {self.nobs:>8d}    log-likelihood {self.loglik:>12.3f}",
                 f"  AIC {self.aic:>16.3f}    BIC {self.bic:>22.3f}",
                 f"  persistence {self.persistence:>8.5f}    converged {'yes' if self.converged else 'NO'}",
                 "",
                 f"{'':>7} {'coef':>10} {'std err':>10} {'t':>8} {'P>|t|':>8} {'classic se':>10} {'classic t':>9}"]
        se, rse, t, p, rt = (self.std_err, self.classic_std_err, self.tvalues, self.pvalues,
                             self.classic_tvalues)
        flag = self.at_bound
        for n in self.names:
            lines.append(f"{n:>7} {self.params[n]:>10.5f} {se[n]:>10.5f} {t[n]:>8.2f} {p[n]:>8.4f} "
                         f"{rse[n]:>10.5f} {rt[n]:>9.2f}" + (" *" if flag[n] else ""))
        lines.append("")
        if flag.any():
            lines.append(f"* at a bound ({', '.join(n for n in self.names if flag[n])}): "
                         "its t-statistic and p-value are not valid there")
        lines.append("std err, t, P>|t|: robust, the sandwich H^-1 J H^-1 (scores' covariance; arch's default); "
                     "classic: inverse of the exact Hessian")
        return "\n".join(lines)

    def __repr__(self):
        ps = ", ".join(f"{n}={v:.5f}" for n, v in self.params.items())
        law = "" if self.dist.name == "normal" else f", {self.dist.name}"
        return f"GarchResult({self.vol}, {self.mean}{law}: {ps}, loglik={self.loglik:.3f})"

    def _repr_html_(self):  # the estimates as a table in Jupyter

        return garch_html(self)


def _multi_step(s1: np.ndarray, omega: float, phi: float, h: int) -> np.ndarray:
    """(n, h) array: column k is the (k+1)-step forecast from one-step forecasts ``s1``."""
    out = np.empty((s1.size, h))
    out[:, 0] = s1
    for j in range(1, h):
        out[:, j] = omega + phi * out[:, j - 1]
    return out
