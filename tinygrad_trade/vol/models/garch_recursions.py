"""The GARCH family's variance recursions, and the Gaussian likelihood with its exact derivatives.

Conventions (arch's): ``e_t = r_t - mu`` (constant mean) or ``r_t`` (zero mean); ``bc`` the backcast.

* GARCH / GJR: ``s_t = omega + alpha e_{t-1}^2 + gamma e_{t-1}^2 1{e_{t-1} < 0} + beta s_{t-1}``
  (``gamma = 0`` for GARCH), every pre-sample lag from ``bc`` (``bc / 2`` for the asymmetric term);
  a first-order linear filter (``scipy.signal.lfilter``);
* EGARCH(1,1,1): ``ln s_t = omega + alpha (|z_{t-1}| - sqrt(2/pi)) + gamma z_{t-1} + beta ln s_{t-1}``
  with ``z = e / sqrt(s)``. ``sqrt(2/pi)`` is ``E|z|`` of the *normal*, whatever the error law (arch
  does the same). Before the sample the ``alpha`` and ``gamma`` terms are 0 and ``ln s_{-1} = ln bc``.

How the Gaussian likelihood's derivatives are computed (GARCH and GJR):

* the likelihood is one :class:`~tinygrad_trade.tensor.CustomOp`, :class:`GarchLogLik`, whose
  inputs are the volatility parameters and the residuals. Its forward is the O(T) recursion
  and its backward the O(T) adjoint recursion ``lam_t = dL/ds_t + beta lam_{t+1}``, also a linear
  filter run backwards. ``mu`` enters through the engine's own ops (``e = r - mu``), so the
  gradient of ``mu`` flows through the engine too;
* :func:`loglik_value` builds the same likelihood from :class:`~tinygrad_trade.engine.Value`
  ops step by step; it is the reference the custom op is checked against, and its
  ``grad(..., create_graph=True)`` gives the exact Hessian (slow: ~10^5 nodes);
* :func:`loglik_derivatives` gives the per-observation scores and the exact Hessian by
  forward (tangent) sensitivities of first and second order (:func:`garch_sensitivities`),
  again linear filters with coefficient ``beta``. It is exact (no finite differences), agrees
  with the Value graph's second-order gradients and takes milliseconds.

The other error laws reuse the recursions and sensitivities here (:mod:`.garch_dists`).
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy.signal import lfilter

from ...engine import Value
from ...graph import grad
from ...tensor import CustomOp, Tensor

__all__ = ["VOLS", "MEANS", "LOG_2PI", "SQRT_2_OVER_PI", "param_names", "backcast", "garch_variance",
           "egarch_variance", "GarchLogLik", "loglik_tensor", "loglik_value", "loglik_derivatives",
           "garch_sensitivities", "value_hessian"]

VOLS = ("garch", "gjr", "egarch")
_GAUSSIAN_VOLS = ("garch", "gjr")     # the Gaussian reference functions below
MEANS = ("constant", "zero")
LOG_2PI = math.log(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _check(vol: str, mean: str, vols=VOLS) -> None:
    if vol not in vols:
        raise ValueError(f"vol must be one of {', '.join(vols)}, got {vol!r}")
    if mean not in MEANS:
        raise ValueError(f"mean must be one of {', '.join(MEANS)}, got {mean!r}")


def param_names(vol: str = "garch", mean: str = "constant", dist=()) -> list[str]:
    """Parameter order: ``[mu,] omega, alpha, [gamma,] beta`` then the error law's shape parameters
    (``dist``: their names, e.g. ``("nu",)``). EGARCH(1,1,1) always has ``gamma``."""
    _check(vol, mean)
    return ((["mu"] if mean == "constant" else []) + ["omega", "alpha"]
            + (["gamma"] if vol in ("gjr", "egarch") else []) + ["beta"] + list(dist))


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


def _filter_variance(op, vparams, e) -> np.ndarray:
    """The forward pass shared by the variance-path ops: unpack ``vparams``, lag ``e`` (pre-sample: ``op.bc``) and
    filter ``s_t = omega + alpha u_t + gamma v_t + beta s_{t-1}``; keeps what the backward passes need on ``op``."""
    op.nv = np.size(vparams)
    op.omega, op.alpha, op.gamma, op.beta = _full_vparams(vparams)
    op.e = e = np.asarray(e, dtype=float)
    op.u, op.v = _lagged(e, op.bc)
    x = op.omega + op.alpha * op.u + op.gamma * op.v
    op.s = lfilter([1.0], [1.0, -op.beta], x, zi=[op.beta * op.bc])[0]
    return op.s


class GarchLogLik(CustomOp):
    """Gaussian GARCH/GJR log-likelihood ``L(vparams, e)`` as one op (forward and adjoint O(T)).

    Inputs: ``vparams`` = (omega, alpha, beta) or (omega, alpha, gamma, beta), and the
    residuals ``e`` (T,). Keyword: ``backcast`` (the pre-sample value). Output: the scalar L.
    """

    name = "garch_loglik"

    def __init__(self, backcast: float):
        self.bc = float(backcast)

    def forward(self, vparams, e):
        s = _filter_variance(self, vparams, e)
        return np.asarray(np.sum(_loglik_terms(self.e, s)))

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
    _check(vol, mean, _GAUSSIAN_VOLS)
    r = Tensor(np.asarray(returns, dtype=float))
    if mean == "constant":
        return GarchLogLik.apply(theta[1:], r - theta[0], backcast=bc)
    return GarchLogLik.apply(theta, r, backcast=bc)


def loglik_value(params, returns, bc: float, vol: str = "garch", mean: str = "constant") -> Value:
    """The same log-likelihood built from scalar ``Value`` ops, one step at a time (the reference).

    ``params`` is a sequence of Values (or numbers) in the order of :func:`param_names`.
    """
    _check(vol, mean, _GAUSSIAN_VOLS)
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


def garch_sensitivities(theta, returns, bc: float, vol: str = "garch", mean: str = "constant"):
    """``(e, s, ds, d2s)``: residuals, variances and their exact first and second derivatives
    ``ds`` (T, k) and ``d2s`` (T, k, k) in the parameters ``theta`` (order of :func:`param_names`,
    no shape parameters) of GARCH or GJR. Each obeys ``D s_t = f_t + beta D s_{t-1}``, a linear filter.
    """
    _check(vol, mean, _GAUSSIAN_VOLS)
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
    return e, s, ds, d2s


def loglik_derivatives(theta, returns, bc: float, vol: str = "garch", mean: str = "constant"):
    """Exact ``(L, scores, H)`` of the Gaussian likelihood by first- and second-order forward
    sensitivities (:func:`garch_sensitivities`).

    ``scores`` is (T, k): ``d l_t / d theta`` per observation; ``H`` is the (k, k) Hessian of L.
    """
    names = param_names(vol, mean)
    k = len(names)
    ix = {n: i for i, n in enumerate(names)}
    e, s, ds, d2s = garch_sensitivities(theta, returns, bc, vol, mean)

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



# --------------------------------------------------------------------------- EGARCH
def egarch_log_variance(vparams, resids, bc: float) -> np.ndarray:
    """``ln s_0 .. ln s_{T-1}`` of EGARCH(1,1,1) for (omega, alpha, gamma, beta); ``bc`` the
    (variance) backcast, so ``ln s_0 = omega + beta ln bc``."""
    omega, alpha, gamma, beta = (float(x) for x in np.asarray(vparams, dtype=float).reshape(-1))
    e = np.asarray(resids, dtype=float).tolist()
    h = [0.0] * len(e)
    prev = omega + beta * math.log(bc)
    const = omega - alpha * SQRT_2_OVER_PI
    exp = math.exp
    for t, et in enumerate(e):          # plain floats: the recursion is nonlinear, so a loop
        h[t] = prev
        z = et * exp(-0.5 * prev)
        prev = const + alpha * (z if z >= 0.0 else -z) + gamma * z + beta * prev
    return np.array(h)


def egarch_variance(vparams, resids, bc: float) -> np.ndarray:
    """Conditional variances of EGARCH(1,1,1) (see :func:`egarch_log_variance`)."""
    return np.exp(egarch_log_variance(vparams, resids, bc))


def egarch_sensitivities(theta, returns, bc: float, mean: str = "constant"):
    """``(e, s, ds, d2s)`` of EGARCH(1,1,1) as :func:`garch_sensitivities` gives them for GARCH.

    With ``h = ln s``, ``z = e exp(-h/2)``, ``a = alpha sgn z + gamma``:
    ``D h_t = f_t + a D z_{t-1} + beta D h_{t-1}``, ``D z = exp(-h/2) D e - z D h / 2``; the second
    order differentiates these once more (the kink of ``|z|`` at 0 has measure zero). A loop over t.
    """
    names = param_names("egarch", mean)
    th = dict(zip(names, np.asarray(theta, dtype=float)))
    k = len(names)
    ix = {n: i for i, n in enumerate(names)}
    r = np.asarray(returns, dtype=float)
    e = r - th.get("mu", 0.0)
    alpha, gamma, beta = th["alpha"], th["gamma"], th["beta"]
    h = egarch_log_variance([th["omega"], alpha, gamma, beta], e, bc)
    T = e.size
    unit = np.eye(k)
    de = -unit[ix["mu"]] if "mu" in ix else np.zeros(k)
    u_om, u_al, u_ga, u_be = (unit[ix[n]] for n in ("omega", "alpha", "gamma", "beta"))
    dh = np.empty((T, k))
    d2h = np.empty((T, k, k))
    dh[0] = u_om + u_be * math.log(bc)
    d2h[0] = 0.0
    for t in range(1, T):
        hp, dhp, d2hp = h[t - 1], dh[t - 1], d2h[t - 1]
        w = math.exp(-0.5 * hp)
        z = e[t - 1] * w
        sg = 1.0 if z > 0 else (-1.0 if z < 0 else 0.0)
        a = alpha * sg + gamma
        dz = w * de - 0.5 * z * dhp
        d2z = (-0.5 * w * (np.outer(de, dhp) + np.outer(dhp, de)) + 0.25 * z * np.outer(dhp, dhp)
               - 0.5 * z * d2hp)
        G = u_al * sg + u_ga
        dh[t] = u_om + u_al * (abs(z) - SQRT_2_OVER_PI) + u_ga * z + u_be * hp + a * dz + beta * dhp
        d2h[t] = (np.outer(G, dz) + np.outer(dz, G) + np.outer(u_be, dhp) + np.outer(dhp, u_be)
                  + a * d2z + beta * d2hp)
    s = np.exp(h)
    ds = s[:, None] * dh
    d2s = s[:, None, None] * (d2h + np.einsum("tj,tk->tjk", dh, dh))
    return e, s, ds, d2s
