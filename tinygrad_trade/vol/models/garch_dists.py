"""The GARCH family's likelihood under any standardised error law, with its exact derivatives.

For GARCH, GJR or EGARCH and an error law of :mod:`.distributions` (normal, t, skew-t, GED), the
log-likelihood of day ``t`` is ``l_t = logpdf(z_t; shape) - ln(s_t) / 2`` with ``z_t = e_t / sqrt(s_t)``
(arch's). It is built as a Tensor graph in three pieces:

* ``e = r - mu`` in engine ops;
* the variance path ``s`` as one :class:`~tinygrad_trade.tensor.CustomOp` (:class:`GarchVariance`,
  :class:`EgarchVariance`): forward the recursion, backward its O(T) adjoint, which takes any
  ``dL/ds`` (a linear filter for GARCH/GJR, a loop with time-varying coefficient for EGARCH);
* the law's log-density in engine ops, so its derivatives in ``z`` and in the shape parameters are
  the engine's own.

Standard errors need the Hessian and the per-observation scores. :func:`loglik_dist_derivatives`
gives both exactly, by the chain rule through ``(s_t, e_t, shape)``: the first and second
derivatives of ``s_t`` in the parameters come from forward sensitivities
(:func:`~.garch_recursions.garch_sensitivities`, :func:`~.garch_recursions.egarch_sensitivities`),
and the pointwise first and second derivatives of ``l_t`` in ``(s_t, e_t, shape)`` from the engine's
``grad(..., create_graph=True)`` run once on all days (each shape parameter is given per day, so that
the engine returns its derivative day by day).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from ...graph import grad
from ...tensor import CustomOp, Tensor
from .distributions import Distribution, get_distribution
from .garch_recursions import (SQRT_2_OVER_PI, _filter_variance, egarch_log_variance, egarch_sensitivities,
                               garch_sensitivities, garch_variance, param_names)

__all__ = ["GarchVariance", "EgarchVariance", "variance_path", "n_vol_params", "loglik_dist_tensor",
           "loglik_dist_terms", "loglik_dist_derivatives", "pointwise_derivatives", "parameter_bounds",
           "constraint_row"]


def n_vol_params(vol: str) -> int:
    return 3 if vol == "garch" else 4


def variance_path(vol: str, vparams, resids, bc: float) -> np.ndarray:
    """Conditional variances of ``vol`` ("garch", "gjr", "egarch") for its volatility parameters."""
    if vol == "egarch":
        return np.exp(egarch_log_variance(vparams, resids, bc))
    return garch_variance(vparams, resids, bc)


class GarchVariance(CustomOp):
    """The GARCH/GJR variance path ``s`` (T,) from (omega, alpha, [gamma,] beta) and residuals ``e``.

    Backward: ``lam_t = g_t + beta lam_{t+1}`` (``g = dL/ds``), a linear filter run backwards."""

    name = "garch_variance"

    def __init__(self, backcast: float):
        self.bc = float(backcast)

    def forward(self, vparams, e):
        return _filter_variance(self, vparams, e)

    def backward(self, g):
        g = np.broadcast_to(np.asarray(g, dtype=float), self.s.shape)
        e, s = self.e, self.s
        lam = lfilter([1.0], [1.0, -self.beta], g[::-1])[::-1]
        s_lag = np.concatenate(([self.bc], s[:-1]))
        grads = [lam.sum(), lam @ self.u] + ([lam @ self.v] if self.nv == 4 else []) + [lam @ s_lag]
        de = np.zeros_like(e)
        de[:-1] = lam[1:] * 2.0 * e[:-1] * (self.alpha + self.gamma * (e[:-1] < 0))
        return np.array(grads), de


class EgarchVariance(CustomOp):
    """The EGARCH(1,1,1) variance path ``s`` (T,) from (omega, alpha, gamma, beta) and residuals ``e``.

    Backward: with ``h = ln s``, ``lam_t = dL/dh_t = g_t s_t + lam_{t+1} (beta - a_t z_t / 2)``,
    ``a_t = alpha sgn z_t + gamma``; a loop over t (the coefficient changes every day)."""

    name = "egarch_variance"

    def __init__(self, backcast: float):
        self.bc = float(backcast)

    def forward(self, vparams, e):
        self.vp = [float(x) for x in np.asarray(vparams, dtype=float).reshape(-1)]
        self.e = np.asarray(e, dtype=float)
        self.h = egarch_log_variance(self.vp, self.e, self.bc)
        with np.errstate(over="ignore"):          # an absurd trial point: inf, which the fit rejects
            self.s = np.exp(self.h)
        return self.s

    def backward(self, g):
        _, alpha, gamma, beta = self.vp
        g = np.broadcast_to(np.asarray(g, dtype=float), self.s.shape)
        h, s, e = self.h, self.s, self.e
        w = np.exp(-0.5 * h)
        z = e * w
        a = alpha * np.sign(z) + gamma
        coef = (beta - 0.5 * a * z).tolist()      # d h_{t+1} / d h_t
        direct = (g * s).tolist()
        T = s.size
        lam = [0.0] * T
        nxt = 0.0
        for t in range(T - 1, -1, -1):
            nxt = direct[t] + (coef[t] * nxt if t < T - 1 else 0.0)
            lam[t] = nxt
        lam = np.array(lam)
        h_lag = np.concatenate(([math.log(self.bc)], h[:-1]))
        grads = np.array([lam.sum(), lam[1:] @ (np.abs(z[:-1]) - SQRT_2_OVER_PI), lam[1:] @ z[:-1], lam @ h_lag])
        de = np.zeros_like(e)
        de[:-1] = lam[1:] * a[:-1] * w[:-1]
        return grads, de


def _split(vol, mean):
    m = 1 if mean == "constant" else 0
    return m, m + n_vol_params(vol)


def loglik_dist_tensor(theta: Tensor, returns, bc: float, vol: str = "garch", mean: str = "constant",
                       dist="normal") -> Tensor:
    """The log-likelihood as a Tensor graph; ``theta`` in the order of ``param_names(vol, mean, shape)``."""
    d = get_distribution(dist)
    m, v = _split(vol, mean)
    r = Tensor(np.asarray(returns, dtype=float))
    e = r - theta[0] if m else r
    op = EgarchVariance if vol == "egarch" else GarchVariance
    s = op.apply(theta[m:v], e, backcast=bc)
    z = e / s.sqrt()
    shape = theta[v:] if d.k else ()
    return (d.logpdf(z, shape) - 0.5 * s.log()).sum()


def loglik_dist_terms(e, s, dist, shape=()) -> np.ndarray:
    """``l_t = logpdf(e_t / sqrt(s_t)) - ln(s_t) / 2`` as numbers."""
    d = get_distribution(dist)
    e, s = np.asarray(e, dtype=float), np.asarray(s, dtype=float)
    return d.logpdf_np(e / np.sqrt(s), shape) - 0.5 * np.log(s)


def pointwise_derivatives(e, s, dist: Distribution, shape=()):
    """``(l, D, D2)``: ``l_t`` and its first (T, n) and second (T, n, n) derivatives in
    ``x_t = (s_t, e_t, shape...)``, by the engine's ``grad`` (``create_graph=True``) on all days at once."""
    T = np.size(e)
    e = np.asarray(e, dtype=float)
    # a residual of exactly 0 (a zero-mean model on a day without a price change): the GED's |z|^nu has
    # an infinite second derivative there, which multiplies a zero sensitivity; evaluate just beside it
    e = np.where(e == 0.0, 1e-200, e)
    S = Tensor(np.asarray(s, dtype=float), requires_grad=True)
    E = Tensor(e, requires_grad=True)
    P = [Tensor(np.full(T, float(p)), requires_grad=True) for p in shape]
    xs = [S, E] + P
    lt = dist.logpdf(E / S.sqrt(), P) - 0.5 * S.log()
    g1 = grad(lt.sum(), xs, create_graph=True)
    n = len(xs)
    D = np.stack([np.asarray(g.data, dtype=float) for g in g1], axis=1)
    D2 = np.empty((T, n, n))
    for i, gi in enumerate(g1):
        D2[:, i, :] = np.stack([np.broadcast_to(np.asarray(x, dtype=float), (T,)) for x in grad(gi.sum(), xs)],
                               axis=1)
    return np.asarray(lt.data, dtype=float), D, D2


def loglik_dist_derivatives(theta, returns, bc: float, vol: str = "garch", mean: str = "constant",
                            dist="normal"):
    """Exact ``(L, scores, H)``: the log-likelihood, per-observation scores (T, k) and Hessian (k, k)."""
    d = get_distribution(dist)
    theta = np.asarray(theta, dtype=float)
    m, v = _split(vol, mean)
    if vol == "egarch":
        e, s, ds, d2s = egarch_sensitivities(theta[:v], returns, bc, mean)
    else:
        e, s, ds, d2s = garch_sensitivities(theta[:v], returns, bc, vol, mean)
    k = theta.size
    T = e.size
    l, D, D2 = pointwise_derivatives(e, s, d, theta[v:])
    # DX[t, i, j] = d x_{t,i} / d theta_j for x = (s, e, shape...)
    DX = np.zeros((T, 2 + d.k, k))
    DX[:, 0, :v] = ds
    if m:
        DX[:, 1, 0] = -1.0
    for i in range(d.k):
        DX[:, 2 + i, v + i] = 1.0
    scores = np.einsum("ti,tij->tj", D, DX)
    H = np.einsum("tij,tik,tkl->jl", DX, D2, DX)
    H[:v, :v] += np.einsum("t,tjk->jk", D[:, 0], d2s)
    return float(l.sum()), scores, H


def parameter_bounds(vol: str, mean: str, dist, v: float) -> list[tuple]:
    """arch's box bounds in the order of ``param_names(vol, mean, shape)``; ``v`` the mean squared
    starting residual. GARCH/GJR: ``1e-8 v <= omega <= 10 v``, ``alpha, beta`` in [0, 1], ``gamma`` in
    [0, 2]; EGARCH: ``ln v -+ ln 10^4`` for omega, free alpha and gamma, ``beta`` in [0, 1]; then the law's."""
    d = get_distribution(dist)
    if vol == "egarch":
        lnv, c = math.log(v), math.log(10000.0)
        table = {"omega": (lnv - c, lnv + c), "alpha": (None, None), "gamma": (None, None), "beta": (0.0, 1.0)}
    else:
        table = {"omega": (1e-8 * v, 10.0 * v), "alpha": (0.0, 1.0), "gamma": (0.0, 2.0), "beta": (0.0, 1.0)}
    table["mu"] = (None, None)
    return [table[n] for n in param_names(vol, mean)] + list(d.bounds())


def constraint_row(vol: str, mean: str, dist) -> np.ndarray:
    """The one linear inequality ``row @ theta <= 1``: ``alpha + gamma/2 + beta`` (GARCH/GJR) or ``beta``
    (EGARCH)."""
    weights = {"beta": 1.0} if vol == "egarch" else {"alpha": 1.0, "gamma": 0.5, "beta": 1.0}
    return np.array([weights.get(n, 0.0) for n in param_names(vol, mean, get_distribution(dist).param_names)])
