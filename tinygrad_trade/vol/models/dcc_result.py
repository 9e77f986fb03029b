"""What a DCC or CCC fit gives: estimates, two-step standard errors, correlation paths, forecasts.

:class:`DCCResult` follows arch's names (``params``, ``std_err``, ``loglikelihood``, ``summary()``,
``forecast(horizon)``) and adds the book's paths: ``conditional_correlations`` and
``conditional_covariances`` (T, N, N), and :meth:`DCCResult.filter`, which runs the fitted model over
returns with its parameters fixed (the walk-forward's one-day-ahead covariances).

Standard errors are the two-step sandwich of Engle and Sheppard (2001), the GMM form of a two-step
estimator (Newey and McFadden 1994, Theorem 6.1): with stacked per-day scores ``g_t`` of every
marginal and of the correlation step, ``Var = A^-1 B A^-T``, ``B = sum_t g_t g_t'`` and ``A`` the
block lower-triangular derivative of the summed scores (the marginals' exact Hessians on the diagonal
blocks, the correlation step's Hessian, and its cross derivative in the marginals' parameters).
As in rmgarch and pymgarch the correlation target ``Qbar`` is held at its estimate (its own sampling
error is not propagated). For a composite fit the scores are the composite ones (Godambe sandwich).

How the derivatives are computed: the marginals' scores and Hessians are exact
(:func:`~tinygrad_trade.vol.models.garch.loglik_derivatives`); the correlation step's scores are exact
forward sensitivities; its Hessian and the cross derivative come from central differences, in the
correlation parameters only, of the exact reverse-pass gradient in (psi, z), chained with the exact
sensitivities ``dz/dphi`` of the standardised residuals: 2k gradient evaluations whatever the number
of assets.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .dcc_kernels import ConstantKernel, FullKernel, PairKernel, cov2cor
from .garch import garch_variance, loglik_derivatives

__all__ = ["DCCResult", "DCCPath", "DCCForecast", "standardised", "z_sensitivity", "two_step_covariance",
           "two_step_parts",
           "ARCH_NAMES", "book_variance", "risk_contributions"]

ARCH_NAMES = {"mu": "mu", "omega": "omega", "alpha": "alpha[1]", "gamma": "gamma[1]", "beta": "beta[1]"}
SE_METHOD = ("two-step sandwich (Engle & Sheppard 2001; Newey & McFadden 1994, Thm 6.1), "
             "correlation target held fixed")


def standardised(marginals) -> np.ndarray:
    """(T, N) standardised residuals ``e_t / sigma_t`` of fitted marginals (GarchResults)."""
    return np.column_stack([m.resid / np.sqrt(m.conditional_variance) for m in marginals])


def z_sensitivity(m) -> np.ndarray:
    """(T, k) exact ``dz_t / dtheta`` of a fitted marginal's standardised residuals (backcast fixed)."""
    th = dict(zip(m.names, m.params.to_numpy()))
    alpha, gamma, beta = th["alpha"], th.get("gamma", 0.0), th["beta"]
    e, s, bc = m.resid, m.conditional_variance, m.backcast
    e_lag = np.concatenate(([0.0], e[:-1]))
    neg = np.concatenate(([0.0], (e[:-1] < 0).astype(float)))
    u = np.concatenate(([bc], e[:-1] ** 2))
    v = np.concatenate(([0.5 * bc], e[:-1] ** 2 * neg[1:]))
    forcing = {"mu": -2.0 * e_lag * (alpha + gamma * neg), "omega": np.ones_like(e), "alpha": u, "gamma": v,
               "beta": np.concatenate(([bc], s[:-1]))}
    f = np.column_stack([forcing[n] for n in m.names])
    ds = lfilter([1.0], [1.0, -beta], f, axis=0)
    z = e / np.sqrt(s)
    dz = -0.5 * (z / s)[:, None] * ds
    if "mu" in m.names:
        dz[:, m.names.index("mu")] -= 1.0 / np.sqrt(s)
    return dz


def two_step_covariance(marginals, kernel, psi) -> np.ndarray:
    """Covariance of (marginal parameters..., psi) by the two-step sandwich (module docstring)."""
    A, G = two_step_parts(marginals, kernel, psi)
    try:
        Ainv = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        Ainv = np.linalg.pinv(A)
    return Ainv @ (G.T @ G) @ Ainv.T


def two_step_parts(marginals, kernel, psi) -> tuple[np.ndarray, np.ndarray]:
    """``(A, G)`` of the sandwich: ``A`` (K, K) the derivative of the summed stacked scores in
    (marginal parameters..., psi), ``G`` (T, K) the per-day stacked scores."""
    T, N, k = kernel.T, kernel.N, kernel.k
    sizes = [len(m.names) for m in marginals]
    offs = np.concatenate(([0], np.cumsum(sizes)))
    kp = int(offs[-1])
    K = kp + k
    G = np.empty((T, K))
    A = np.zeros((K, K))
    for i, m in enumerate(marginals):
        _, sc, H = loglik_derivatives(m.params.to_numpy(), m.returns, m.backcast, m.vol, m.mean)
        G[:, offs[i]:offs[i + 1]] = sc
        A[offs[i]:offs[i + 1], offs[i]:offs[i + 1]] = H
    if k:
        psi = np.asarray(psi, dtype=float)
        G[:, kp:] = kernel.scores(psi)
        H22 = np.empty((k, k))
        M = np.empty((k, T, N))
        for j in range(k):
            h = 1e-6 * max(1.0, abs(psi[j]))
            step = np.zeros(k)
            step[j] = h
            ep, em = kernel.evaluate(psi + step, grad=True), kernel.evaluate(psi - step, grad=True)
            H22[:, j] = (ep.g_psi - em.g_psi) / (2 * h)
            M[j] = (ep.g_z - em.g_z) / (2 * h)
        A[kp:, kp:] = 0.5 * (H22 + H22.T)
        for i, m in enumerate(marginals):
            A[kp:, offs[i]:offs[i + 1]] = M[:, :, i] @ z_sensitivity(m)
    return A, G


def book_variance(covariances, weights) -> np.ndarray:
    """``w' H_t w`` for each (N, N) covariance in ``covariances`` (..., N, N)."""
    w = np.asarray(weights, dtype=float)
    return np.einsum("i,...ij,j->...", w, np.asarray(covariances, dtype=float), w)


def risk_contributions(covariance, weights) -> np.ndarray:
    """Euler allocation of the book's variance: ``w_i (H w)_i / w' H w`` (sums to one)."""
    w = np.asarray(weights, dtype=float)
    H = np.asarray(covariance, dtype=float)
    hw = H @ w
    return w * hw / float(w @ hw)


@dataclass
class DCCForecast:
    """Forecasts for 1..horizon days after the sample: ``variances`` (h, N), ``correlations`` and
    ``covariances`` (h, N, N); row k-1 is the k-step forecast."""
    names: list
    variances: np.ndarray
    correlations: np.ndarray
    covariances: np.ndarray

    def book_variance(self, weights) -> np.ndarray:
        return book_variance(self.covariances, weights)


@dataclass
class DCCPath:
    """One-day-ahead paths of a fitted model run over returns with fixed parameters.

    Row t of ``variances`` (T, N), ``correlations`` and ``covariances`` (T, N, N) is the forecast for
    day ``index[t]`` from returns up to the day before; ``next_*`` is the forecast for the day after
    the last return. ``std_resid`` (T, N) are the returns standardised by their own marginal variance.
    """
    index: pd.Index
    names: list
    variances: np.ndarray
    correlations: np.ndarray
    covariances: np.ndarray
    std_resid: np.ndarray
    next_variances: np.ndarray
    next_correlation: np.ndarray
    next_covariance: np.ndarray

    def book_variance(self, weights) -> pd.Series:
        """The book's variance ``w' H_t w`` for each day of ``index``."""
        return pd.Series(book_variance(self.covariances, weights), index=self.index, name="variance")


class DCCResult:
    """A fitted DCC or CCC model (see the module docstring); built by ``DCC.fit`` / ``CCC.fit``."""

    def __init__(self, model, names, index, vol, dist, marginals, psi, qbar, kernel, opt, pairs=None):
        self.model, self.vol, self.dist = model, vol, dist
        self.names = list(names)
        self.index = index
        self.marginals = list(marginals)
        self.psi = np.asarray(psi, dtype=float)
        self.psi_names = list(kernel.names)
        self.qbar = np.asarray(qbar, dtype=float)
        self.method = kernel.method
        self.pairs = pairs
        self._pair_array = getattr(kernel, "pairs", None)
        self.optimization_result = opt
        self.converged = bool(getattr(opt, "success", True)) if opt is not None else True
        self.nobs, self.nassets = kernel.T, kernel.N
        self.z = kernel.z
        self.sigma = np.sqrt(np.column_stack([m.conditional_variance for m in self.marginals]))
        # the fitting kernel is not kept (its (T, entries) arrays would make a list of fits heavy)
        if model == "DCC":
            full = kernel if isinstance(kernel, FullKernel) else FullKernel(self.z, self.qbar, dist)
            self.q_last = full.q_path(self.psi[0], self.psi[1])[-1].reshape(self.nassets, self.nassets)
            llt2 = full.evaluate(self.psi).llt
        else:
            self.q_last = self.qbar.copy()
            llt2 = kernel.evaluate(self.psi).llt
        self.llt = llt2 - np.log(self.sigma).sum(axis=1)
        self.loglikelihood = float(np.sum(self.llt))
        kparams = len(self.psi) + sum(len(m.names) for m in self.marginals)
        self.aic = -2.0 * self.loglikelihood + 2.0 * kparams
        self.bic = -2.0 * self.loglikelihood + kparams * math.log(self.nobs)
        labels = list(self.psi_names) + [f"{n}.{ARCH_NAMES[p]}" for n, m in zip(self.names, self.marginals)
                                         for p in m.names]
        values = np.concatenate([self.psi] + [m.params.to_numpy() for m in self.marginals])
        self.params = pd.Series(values, index=labels, name="params")
        self.std_err_method = SE_METHOD + (" (composite scores: Godambe)" if self.method == "composite" else "")

    # ----------------------------------------------------------------- estimates

    @property
    def loglik(self) -> float:
        return self.loglikelihood

    @property
    def alpha(self) -> float:
        return float(self.psi[0]) if self.model == "DCC" else 0.0

    @property
    def beta(self) -> float:
        return float(self.psi[1]) if self.model == "DCC" else 0.0

    @property
    def nu(self) -> float | None:
        return float(self.psi[-1]) if self.dist == "t" else None

    @property
    def kernel(self):
        """The likelihood the correlation step maximised (rebuilt from ``z`` and ``Qbar``)."""
        if self.method == "full":
            return FullKernel(self.z, self.qbar, self.dist)
        if self.method == "composite":
            return PairKernel(self.z, self.qbar, self.dist, self._pair_array)
        return ConstantKernel(self.z, self.qbar, self.dist)

    @functools.cached_property
    def cov_params(self) -> pd.DataFrame:
        """The two-step sandwich covariance of ``params`` (order of ``params``)."""
        V = two_step_covariance(self.marginals, self.kernel, self.psi)
        kp = V.shape[0] - len(self.psi)
        order = list(range(kp, V.shape[0])) + list(range(kp))        # psi first, as in params
        V = V[np.ix_(order, order)]
        return pd.DataFrame(V, index=self.params.index, columns=self.params.index)

    @functools.cached_property
    def std_err(self) -> pd.Series:
        d = np.diag(self.cov_params.to_numpy())
        return pd.Series(np.sqrt(np.where(d > 0, d, np.nan)), index=self.params.index, name="std_err")

    @property
    def tvalues(self) -> pd.Series:
        return (self.params / self.std_err).rename("tvalues")

    @property
    def pvalues(self) -> pd.Series:
        return self.tvalues.abs().map(lambda t: math.erfc(t / math.sqrt(2.0)) if np.isfinite(t) else np.nan
                                      ).rename("pvalues")

    # ----------------------------------------------------------------- paths

    @property
    def std_resid(self) -> pd.DataFrame:
        return pd.DataFrame(self.z, index=self.index, columns=self.names)

    @property
    def conditional_volatility(self) -> pd.DataFrame:
        return pd.DataFrame(self.sigma, index=self.index, columns=self.names)

    @functools.cached_property
    def conditional_correlations(self) -> np.ndarray:
        """(T, N, N) ``R_t``, the correlation of day t given the days before."""
        if self.model != "DCC":
            return np.broadcast_to(self.qbar, (self.nobs,) + self.qbar.shape).copy()
        q = FullKernel(self.z, self.qbar, self.dist).q_path(self.psi[0], self.psi[1])
        return cov2cor(q.reshape(self.nobs, self.nassets, self.nassets))

    @property
    def conditional_covariances(self) -> np.ndarray:
        """(T, N, N) ``H_t = D_t R_t D_t``, ``D_t = diag(sigma_t)``."""
        return self.conditional_correlations * self.sigma[:, :, None] * self.sigma[:, None, :]

    def correlation(self, a: str, b: str) -> pd.Series:
        """The path of one pair's conditional correlation."""
        i, j = self.names.index(a), self.names.index(b)
        return pd.Series(self.conditional_correlations[:, i, j], index=self.index, name=f"{a}/{b}")

    def _next_q(self, q_last, z_last):
        a, b = self.psi[0], self.psi[1]
        return (1.0 - a - b) * self.qbar + a * np.outer(z_last, z_last) + b * q_last

    def forecast(self, horizon: int = 1) -> DCCForecast:
        """Forecasts for 1..horizon days after the sample.

        Variances: each marginal's closed form. Correlations (DCC): ``Q_{T+1}`` is exact; for k >= 2 the
        standard approximation of Engle and Sheppard (2001), ``E_T[z z'] ~ E_T[Q]``, gives
        ``Q_{T+k} = Qbar + (a + b)^(k-1) (Q_{T+1} - Qbar)``, then ``R = cov2cor(Q)``. CCC: ``R = Qbar``.
        """
        h = int(horizon)
        if h != horizon or h < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        var = np.column_stack([m.forecast(h) for m in self.marginals])
        if self.model == "DCC":
            q1 = self._next_q(self.q_last, self.z[-1])
            decay = (self.psi[0] + self.psi[1]) ** np.arange(h)
            R = cov2cor(self.qbar + decay[:, None, None] * (q1 - self.qbar))
        else:
            R = np.broadcast_to(self.qbar, (h,) + self.qbar.shape).copy()
        sd = np.sqrt(var)
        return DCCForecast(self.names, var, R, R * sd[:, :, None] * sd[:, None, :])

    def filter(self, returns) -> DCCPath:
        """Run the fitted model, parameters fixed, over ``returns`` (a frame with the same assets).

        Each marginal starts from its fit's backcast and the correlation recursion from ``Qbar``, so
        filtering the fitting sample reproduces the fit's paths; give returns that start on the fit's
        first day and run past its end to get one-day-ahead covariances out of sample.
        """
        if not isinstance(returns, pd.DataFrame):
            raise ValueError("filter needs a DataFrame of returns with the fitted assets as columns")
        missing = [n for n in self.names if n not in returns.columns]
        if missing:
            raise ValueError(f"filter: asset(s) {', '.join(missing)} not in the returns' columns")
        x = returns[self.names].to_numpy(dtype=float)
        if not np.all(np.isfinite(x)):
            raise ValueError("filter: returns must be finite on every day (align the assets first)")
        T, N = x.shape
        s = np.empty((T + 1, N))
        for i, m in enumerate(self.marginals):
            e = x[:, i] - m.mu
            s[:, i] = garch_variance(m._vparams, np.append(e, 0.0), m.backcast)
        mu = np.array([m.mu for m in self.marginals])
        z = (x - mu) / np.sqrt(s[:T])
        if self.model == "DCC":
            ker = FullKernel(np.vstack([z, np.zeros((1, N))]), self.qbar, self.dist)
            R = cov2cor(ker.q_path(self.psi[0], self.psi[1]).reshape(T + 1, N, N))
        else:
            R = np.broadcast_to(self.qbar, (T + 1, N, N))
        sd = np.sqrt(s)
        H = R * sd[:, :, None] * sd[:, None, :]
        return DCCPath(returns.index, list(self.names), s[:T], np.ascontiguousarray(R[:T]), H[:T], z,
                       s[T].copy(), np.array(R[T]), H[T].copy())

    # ----------------------------------------------------------------- saving

    def get_state(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: numeric arrays (for ``np.savez``) and a JSON-ready dict, enough for
        :meth:`from_state` to rebuild this result exactly (estimates, paths, forecasts, filter)."""
        arrays = {"psi": self.psi.copy(), "qbar": self.qbar.copy(),
                  "returns": np.column_stack([m.returns for m in self.marginals]),
                  "marginal_params": np.vstack([m.params.to_numpy() for m in self.marginals]),
                  "backcasts": np.array([m.backcast for m in self.marginals]),
                  "pairs": (np.zeros((0, 2), dtype=np.int64) if self._pair_array is None
                            else np.asarray(self._pair_array, dtype=np.int64))}
        if isinstance(self.index, pd.DatetimeIndex):
            arrays["index"] = self.index.values.astype("datetime64[ns]").view("int64").copy()
        meta = {"model": self.model, "vol": self.vol, "dist": self.dist, "method": self.method,
                "pairs": self.pairs, "names": list(self.names), "converged": self.converged,
                "mean": self.marginals[0].mean}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict, meta: dict) -> "DCCResult":
        """The result saved by :meth:`get_state`."""
        from .garch import GarchResult
        R = np.asarray(arrays["returns"], dtype=float)
        P = np.asarray(arrays["marginal_params"], dtype=float)
        bcs = np.asarray(arrays["backcasts"], dtype=float).reshape(-1)
        names = list(meta["names"])
        if R.ndim != 2 or R.shape[1] != len(names) or P.shape[0] != len(names) or bcs.size != len(names):
            raise ValueError("saved DCC state: returns, parameters and names do not match")
        marginals = [GarchResult(P[i], R[:, i], bcs[i], meta["vol"], meta.get("mean", "constant"))
                     for i in range(len(names))]
        z, qbar, dist = standardised(marginals), np.asarray(arrays["qbar"], dtype=float), meta["dist"]
        pairs = np.asarray(arrays.get("pairs", np.zeros((0, 2))), dtype=int).reshape(-1, 2)
        kernel = {"full": lambda: FullKernel(z, qbar, dist),
                  "composite": lambda: PairKernel(z, qbar, dist, pairs),
                  "constant": lambda: ConstantKernel(z, qbar, dist)}[meta["method"]]()
        index = pd.DatetimeIndex(np.asarray(arrays["index"], dtype="int64").view("datetime64[ns]")) \
            if "index" in arrays else pd.RangeIndex(R.shape[0])
        res = cls(meta["model"], names, index, meta["vol"], dist, marginals, arrays["psi"], qbar, kernel, None,
                  pairs=meta.get("pairs"))
        res.converged = bool(meta.get("converged", True))
        return res

    # ----------------------------------------------------------------- reporting

    def to_dict(self, std_err: bool = False) -> dict:
        """Plain JSON-ready summary: alpha, beta, [nu], loglik and each asset's marginal parameters."""
        out = {"model": self.model, "vol": self.vol, "dist": self.dist, "method": self.method,
               "nobs": self.nobs, "assets": list(self.names)}
        out.update({n: float(v) for n, v in zip(self.psi_names, self.psi)})
        out["loglik"] = self.loglikelihood
        out["marginals"] = {n: {p: float(v) for p, v in m.params.items()} for n, m in zip(self.names, self.marginals)}
        if std_err:
            out["std_err"] = {k: float(v) for k, v in self.std_err.items()}
            out["std_err_method"] = self.std_err_method
        return out

    def summary(self) -> str:
        vol = {"garch": "GARCH(1,1)", "gjr": "GJR-GARCH(1,1,1)"}[self.vol]
        dist = {"normal": "Gaussian", "t": "Student t"}[self.dist]
        how = {"full": "full likelihood", "composite": f"composite likelihood ({self.pairs} pairs)",
               "constant": "constant correlation"}[self.method]
        lines = [f"{self.model}(1,1) of {self.nassets} assets, {vol} marginals, {dist}, {how}",
                 f"  observations {self.nobs:>8d}    joint log-likelihood {self.loglikelihood:>14.3f}",
                 f"  AIC {self.aic:>16.3f}    BIC {self.bic:>28.3f}",
                 f"  converged {'yes' if self.converged else 'NO'}",
                 "",
                 f"{'':>18} {'coef':>11} {'std err':>10} {'t':>8} {'P>|t|':>8}"]
        se, t, p = self.std_err, self.tvalues, self.pvalues
        for n in self.params.index:
            lines.append(f"{n:>18} {self.params[n]:>11.5f} {se[n]:>10.5f} {t[n]:>8.2f} {p[n]:>8.4f}")
        lines += ["", f"std err: {self.std_err_method}"]
        return "\n".join(lines)

    def __repr__(self):
        ps = ", ".join(f"{n}={v:.5f}" for n, v in zip(self.psi_names, self.psi))
        return (f"DCCResult({self.model}, {self.nassets} assets, {self.vol}, {self.dist}: {ps}, "
                f"loglik={self.loglikelihood:.3f})")
