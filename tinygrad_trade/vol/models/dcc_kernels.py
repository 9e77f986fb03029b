"""The second step of a DCC fit: the correlation likelihood, its reverse pass and per-day scores.

Given the standardised residuals ``z`` (T, N) of the fitted marginals and the correlation target
``Qbar``, the scalar DCC(1,1) of Engle (2002) with correlation targeting is::

    Q_0 = Qbar,   Q_t = (1 - a - b) Qbar + a z_{t-1} z_{t-1}' + b Q_{t-1}   (t >= 1)
    R_t = diag(Q_t)^-1/2 Q_t diag(Q_t)^-1/2

and day t contributes the density of ``z_t`` given ``R_t``: Gaussian,
``l_t = -0.5 (N log 2pi + log|R_t| + z_t' R_t^-1 z_t)``, or the multivariate Student t with unit
variances (scale ``R_t (nu - 2) / nu``), as pymgarch and rmgarch write it. Summed with the marginals'
``-sum_i log sigma_it`` it is the joint log-likelihood of the returns.

Why it is fast: every entry of ``Q`` follows the same first-order linear filter with coefficient
``b``, so the whole path is one ``scipy.signal.lfilter`` call over a (T, entries) array, and the
reverse pass is the adjoint filter run backwards (``Lam_t = dl/dQ_t + b Lam_{t+1}``); the day-by-day
matrix work (inverse, log-determinant) is batched numpy. The reverse pass is written beside the
forward (:class:`DCCLogLik`, a :class:`~tinygrad_trade.tensor.CustomOp`), checked against central
differences in tests/test_dcc.py.

Three kernels share this code and differ only in how the entries of ``Q`` become a density:

* :class:`FullKernel`: the N-dimensional likelihood (entries: all N*N of ``Q``);
* :class:`PairKernel`: the composite likelihood of Engle, Shephard and Sheppard (2008), the mean over
  asset pairs of the bivariate likelihoods; a pair's 2x2 ``Q`` is three entries of the full ``Q``,
  so only the N diagonal and P pair entries are filtered and the density is closed form;
* :class:`ConstantKernel`: constant correlation (CCC), ``R_t = Qbar``; its only possible parameter is nu.

A kernel's ``evaluate(psi, grad)`` gives the per-day log-likelihood, and with ``grad`` the gradient
in ``psi`` = (a, b[, nu]) and in ``z`` (the latter feeds the two-step standard errors); ``scores(psi)``
gives the per-day scores by forward sensitivities, ``dQ_t = F_t + b dQ_{t-1}``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.signal import lfilter
from scipy.special import digamma, gammaln

from ...tensor import CustomOp, Tensor

__all__ = ["LOG_2PI", "DISTS", "cov2cor", "correlation_target", "density", "Evaluation",
           "FullKernel", "PairKernel", "ConstantKernel", "pair_list", "chol_inverse", "DCCLogLik"]

LOG_2PI = math.log(2.0 * math.pi)
DISTS = ("normal", "t")
SMALL_N = 10         # chol_inverse: entry by entry over days up to this many assets, LAPACK above


def cov2cor(S: np.ndarray) -> np.ndarray:
    """The correlation matrix of a covariance matrix (also batched over leading axes)."""
    d = np.sqrt(np.einsum("...ii->...i", S))
    return S / (d[..., :, None] * d[..., None, :])


def correlation_target(z: np.ndarray) -> np.ndarray:
    """``Qbar = cov2cor(z'z / T)``, the uncentred target of rmgarch and pymgarch."""
    z = np.asarray(z, dtype=float)
    return cov2cor(z.T @ z / z.shape[0])


def density(logdet, quad, ndim: int, nu: float | None):
    """Per-day log-density from ``log|R|`` and ``z' R^-1 z``, with its partials.

    Returns ``(llt, c_ld, c_q, d_nu)``: ``c_ld = dl/dlogdet``, ``c_q = dl/dquad`` and ``d_nu = dl/dnu``
    (None for the Gaussian).
    """
    if nu is None:
        llt = -0.5 * (ndim * LOG_2PI + logdet + quad)
        return llt, -0.5, -0.5, None
    nm2 = nu - 2.0
    const = gammaln(0.5 * (nu + ndim)) - gammaln(0.5 * nu) - 0.5 * ndim * math.log(math.pi * nm2)
    l1p = np.log1p(quad / nm2)
    llt = const - 0.5 * logdet - 0.5 * (nu + ndim) * l1p
    c_q = -0.5 * (nu + ndim) / (nm2 + quad)
    d_nu = (0.5 * digamma(0.5 * (nu + ndim)) - 0.5 * digamma(0.5 * nu) - 0.5 * ndim / nm2
            - 0.5 * l1p + 0.5 * (nu + ndim) * quad / (nm2 * (nm2 + quad)))
    return llt, -0.5, c_q, d_nu


def chol_inverse(R: np.ndarray):
    """``(log|R_t|, R_t^-1)`` of a stack (T, N, N) of symmetric matrices, or None if one is not positive
    definite. Small N: a Cholesky factorisation and triangular inverse written entry by entry, each entry a
    contiguous (T,) series (O(N^3) numpy calls, where LAPACK would be called T times); large N: LAPACK."""
    T, N, _ = R.shape
    if N > SMALL_N:
        try:
            L = np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            return None
        return 2.0 * np.log(np.einsum("tii->ti", L)).sum(axis=1), np.linalg.inv(R)
    A = np.ascontiguousarray(R.transpose(1, 2, 0))          # (N, N, T)
    L = np.zeros_like(A)
    for j in range(N):
        d = A[j, j] - (L[j, :j] * L[j, :j]).sum(axis=0) if j else A[j, j].copy()
        if not np.all(d > 0):
            return None
        L[j, j] = ljj = np.sqrt(d)
        for i in range(j + 1, N):
            L[i, j] = ((A[i, j] - (L[i, :j] * L[j, :j]).sum(axis=0)) if j else A[i, j]) / ljj
    M = np.zeros_like(A)                                    # M = L^-1 (lower triangular)
    for i in range(N):
        M[i, i] = 1.0 / L[i, i]
        for c in range(i):
            M[i, c] = -sum(L[i, k] * M[k, c] for k in range(c, i)) / L[i, i]
    inv = np.einsum("kit,kjt->tij", M, M)                  # R^-1 = M' M
    return 2.0 * np.log(np.einsum("iit->it", L)).sum(axis=0), inv


def pair_list(n: int, pairs: str = "all") -> np.ndarray:
    """(P, 2) asset pairs of the composite likelihood: ``"all"`` or ``"contiguous"`` ((0,1), (1,2), ...)."""
    if pairs == "all":
        return np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=int).reshape(-1, 2)
    if pairs == "contiguous":
        return np.array([(i, i + 1) for i in range(n - 1)], dtype=int).reshape(-1, 2)
    raise ValueError(f"pairs must be 'all' or 'contiguous', got {pairs!r}")


@dataclass
class Evaluation:
    """One evaluation of a kernel: per-day log-likelihood ``llt`` (T,), its sum ``total``, and with
    ``grad``: ``g_psi`` (k,) and ``g_z`` (T, N), the gradient of ``total``. ``ok`` is False when a
    correlation matrix was not positive definite (then ``total`` is -inf)."""
    ok: bool
    llt: np.ndarray
    total: float
    g_psi: np.ndarray | None = None
    g_z: np.ndarray | None = None


def _incidence(idx: np.ndarray, n: int):
    """Sparse (len(idx), n) one-hot matrix: ``X @ M`` adds column k of X into column idx[k]."""
    m = idx.size
    return sparse.csr_matrix((np.ones(m), (np.arange(m), idx)), shape=(m, n))


def _filt(x: np.ndarray, b: float) -> np.ndarray:
    """``y_t = x_t + b y_{t-1}`` down axis 0 of (T, E): lfilter for few columns; for many, a loop over
    days of in-place row operations (lfilter along a strided axis is several times slower there)."""
    if x.shape[1] < 256:
        return lfilter([1.0], [1.0, -b], x, axis=0)
    y = np.empty_like(x)
    y[0] = x[0]
    for t in range(1, x.shape[0]):
        np.multiply(y[t - 1], b, out=y[t])
        y[t] += x[t]
    return y


def _set_inputs(kernel, z, qbar, dist: str) -> None:
    """What every kernel holds: the standardised residuals ``z`` (T, N), ``qbar`` and the law's name."""
    if dist not in DISTS:
        raise ValueError(f"dist must be one of {', '.join(DISTS)}, got {dist!r}")
    kernel.z = np.ascontiguousarray(z, dtype=float)
    kernel.T, kernel.N = kernel.z.shape
    kernel.qbar = np.asarray(qbar, dtype=float)
    kernel.dist = dist


class _EntryKernel:
    """The shared part: entries ``(I[e], J[e])`` of ``Q`` filtered as one (T, E) array."""

    def __init__(self, z, qbar, dist: str, I, J):
        _set_inputs(self, z, qbar, dist)
        self.k = 3 if dist == "t" else 2
        self.names = ["alpha", "beta"] + (["nu"] if dist == "t" else [])
        self.I, self.J = np.asarray(I, dtype=int), np.asarray(J, dtype=int)
        self.zz = self._products()                               # (T, E): products, lagged in forcing
        self.qbar_e = self.qbar[self.I, self.J]

    def _products(self) -> np.ndarray:
        return self.z[:, self.I] * self.z[:, self.J]

    @functools.cached_property
    def _incI(self):
        return _incidence(self.I, self.N)

    @functools.cached_property
    def _incJ(self):
        return _incidence(self.J, self.N)

    def _unpack(self, psi):
        psi = np.asarray(psi, dtype=float).reshape(-1)
        if psi.size != self.k:
            raise ValueError(f"expected {self.k} parameters {self.names}, got {psi.size}")
        return float(psi[0]), float(psi[1]), (float(psi[2]) if self.k == 3 else None)

    def q_path(self, a: float, b: float) -> np.ndarray:
        """(T, E) entries of ``Q_0 .. Q_{T-1}``."""
        x = np.empty_like(self.zz)
        x[0] = self.qbar_e
        x[1:] = (1.0 - a - b) * self.qbar_e + a * self.zz[:-1]
        return _filt(x, b)

    def _density_grad(self, q, nu, want_grad, want_z):   # -> (ok, llt, G = dl/dq (T,E), d_nu (T,), dl/dz direct)
        raise NotImplementedError

    def evaluate(self, psi, grad: bool = False, grad_z: bool = True) -> Evaluation:
        """Per-day log-likelihood at ``psi``; with ``grad`` the gradient in psi and (``grad_z``) in z."""
        a, b, nu = self._unpack(psi)
        q = self.q_path(a, b)
        ok, llt, G, d_nu, gz = self._density_grad(q, nu, grad, grad and grad_z)
        if not ok:
            return Evaluation(False, np.full(self.T, -np.inf), -np.inf)
        total = float(np.sum(llt))
        if not grad:
            return Evaluation(True, llt, total)
        lam = _filt(G[::-1], b)[::-1]                          # Lam_t = G_t + b Lam_{t+1}
        lam1 = lam[1:]
        s_lam = lam1.sum(axis=0)
        ga = float(np.einsum("te,te->", lam1, self.zz[:-1]) - s_lam @ self.qbar_e)
        gb = float(np.einsum("te,te->", lam1, q[:-1]) - s_lam @ self.qbar_e)
        g = [ga, gb] + ([float(np.sum(d_nu))] if nu is not None else [])
        if gz is not None:   # z_t enters Q_{t+1} through a z_I z_J
            gz[:-1] += a * (np.asarray(self._incJ.T @ (lam1 * self.z[:-1, self.I]).T).T
                            + np.asarray(self._incI.T @ (lam1 * self.z[:-1, self.J]).T).T)
        return Evaluation(True, llt, total, np.array(g), gz)

    def scores(self, psi) -> np.ndarray:
        """(T, k) per-day scores ``dl_t/dpsi`` by forward sensitivities of ``Q``."""
        a, b, nu = self._unpack(psi)
        q = self.q_path(a, b)
        ok, llt, G, d_nu, _ = self._density_grad(q, nu, True, False)
        if not ok:
            raise FloatingPointError("correlation matrix not positive definite at these parameters")
        fa = np.zeros_like(q)
        fa[1:] = self.zz[:-1] - self.qbar_e
        fb = np.zeros_like(q)
        fb[1:] = q[:-1] - self.qbar_e
        cols = [np.einsum("te,te->t", G, _filt(fa, b)), np.einsum("te,te->t", G, _filt(fb, b))]
        if nu is not None:
            cols.append(d_nu)
        return np.column_stack(cols)


class FullKernel(_EntryKernel):
    """The N-dimensional DCC likelihood (entries: all N*N elements of ``Q``, row-major)."""

    method = "full"

    def __init__(self, z, qbar, dist: str = "normal"):
        n = np.asarray(z).shape[1]
        super().__init__(z, qbar, dist, np.repeat(np.arange(n), n), np.tile(np.arange(n), n))

    def _products(self) -> np.ndarray:
        return (self.z[:, :, None] * self.z[:, None, :]).reshape(self.T, self.N * self.N)

    def correlations(self, q_entries: np.ndarray) -> np.ndarray:
        """(T, N, N) ``R_t`` from the filtered entries."""
        Q = q_entries.reshape(-1, self.N, self.N)
        return cov2cor(Q)

    def _density_grad(self, q, nu, want_grad, want_z):
        T, N = self.T, self.N
        Q = q.reshape(T, N, N)
        d = np.einsum("tii->ti", Q)
        if not np.all(d > 0):
            return False, None, None, None, None
        s = 1.0 / np.sqrt(d)
        R = Q * s[:, :, None] * s[:, None, :]
        if not want_grad and N > SMALL_N:      # value only: no inverse needed
            try:
                L = np.linalg.cholesky(R)
            except np.linalg.LinAlgError:
                return False, None, None, None, None
            logdet = 2.0 * np.log(np.einsum("tii->ti", L)).sum(axis=1)
            y = np.linalg.solve(R, self.z[:, :, None])[:, :, 0]
        else:
            got = chol_inverse(R)
            if got is None:
                return False, None, None, None, None
            logdet, Rinv = got
            y = np.einsum("tij,tj->ti", Rinv, self.z)              # R^-1 z
        quad = np.einsum("ti,ti->t", self.z, y)
        llt, c_ld, c_q, d_nu = density(logdet, quad, N, nu)
        if not want_grad:
            return True, llt, None, d_nu, None
        c_q = np.broadcast_to(c_q, (T,))
        GR = c_ld * Rinv - c_q[:, None, None] * y[:, :, None] * y[:, None, :]     # dl/dR
        GQ = GR * s[:, :, None] * s[:, None, :]
        diag = np.einsum("tii->ti", GQ)                            # a writable view
        diag -= s * s * np.einsum("tij,tij->ti", GR, R)            # through diag(Q)^-1/2
        gz = 2.0 * c_q[:, None] * y if want_z else None           # dquad/dz = 2 R^-1 z
        return True, llt, GQ.reshape(T, N * N), d_nu, gz


class PairKernel(_EntryKernel):
    """Composite likelihood: the mean over ``pairs`` (P, 2) of bivariate DCC log-likelihoods."""

    method = "composite"

    def __init__(self, z, qbar, dist: str = "normal", pairs=None):
        n = np.asarray(z).shape[1]
        pairs = pair_list(n, "all") if pairs is None else np.asarray(pairs, dtype=int).reshape(-1, 2)
        if pairs.shape[0] == 0:
            raise ValueError("the composite likelihood needs at least one pair of assets")
        self.pairs = pairs
        self.P = pairs.shape[0]
        I = np.concatenate([np.arange(n), pairs[:, 0]])
        J = np.concatenate([np.arange(n), pairs[:, 1]])
        super().__init__(z, qbar, dist, I, J)
        self.pi, self.pj = pairs[:, 0], pairs[:, 1]
        self._inc_pi = _incidence(self.pi, n)
        self._inc_pj = _incidence(self.pj, n)
        self.zi, self.zj = self.z[:, self.pi], self.z[:, self.pj]
        self.zizj = self.zi * self.zj
        self.zsq = self.zi * self.zi + self.zj * self.zj

    def _scatter(self, x, inc):    # (T, P) -> (T, N), adding column p into column idx[p]
        return np.asarray(inc.T @ x.T).T

    def _density_grad(self, q, nu, want_grad, want_z):
        # in-place arithmetic throughout: the (T, P) arrays are the cost for a large book
        N, P = self.N, self.P
        qd, qp = q[:, :N], q[:, N:]
        if not np.all(qd > 0):
            return False, None, None, None, None
        qi, qj = qd[:, self.pi], qd[:, self.pj]
        sq = np.multiply(qi, qj)
        np.sqrt(sq, out=sq)
        rho = np.divide(qp, sq)
        D = np.multiply(rho, rho)
        np.subtract(1.0, D, out=D)
        if not np.all(D > 0):
            return False, None, None, None, None
        quad = np.multiply(rho, self.zizj)
        quad *= -2.0
        quad += self.zsq
        quad /= D
        logD = np.log(D)
        if nu is None:
            llt = -0.5 * (2.0 * LOG_2PI + logD.mean(axis=1) + quad.mean(axis=1))
            d_nu = None
        else:
            llp, _, c_q, d_nu = density(logD, quad, 2, nu)
            llt, d_nu = llp.mean(axis=1), d_nu.mean(axis=1)
        if not want_grad:
            return True, llt, None, d_nu, None
        w = 1.0 / P
        # dl/drho = c_ld dlogD/drho + c_q dquad/drho, dlogD/drho = -2 rho/D, dquad/drho = (2 rho quad - 2 zi zj)/D
        if nu is None:
            drho = np.subtract(1.0, quad)
            drho *= rho
            drho += self.zizj
        else:
            drho = np.multiply(rho, quad)
            drho -= self.zizj
            drho *= 2.0 * c_q
            drho += rho                  # c_ld = -0.5: -0.5 * (-2 rho)
        drho *= w
        drho /= D
        G = np.empty_like(q)
        np.divide(drho, sq, out=G[:, N:])
        half = np.multiply(drho, rho)
        half *= -0.5
        G[:, :N] = self._scatter(half / qi, self._inc_pi) + self._scatter(np.divide(half, qj, out=half), self._inc_pj)
        gz = None
        if want_z:
            zi, zj = self.zi, self.zj
            cq = (2.0 * w * c_q) / D if nu is not None else (-w) / D
            gz = self._scatter(cq * (zi - rho * zj), self._inc_pi) + self._scatter(cq * (zj - rho * zi), self._inc_pj)
        return True, llt, G, d_nu, gz


class ConstantKernel:
    """Constant conditional correlation (CCC): ``R_t = Qbar``; psi is () or (nu,)."""

    method = "constant"

    def __init__(self, z, qbar, dist: str = "normal"):
        _set_inputs(self, z, qbar, dist)
        self.k = 1 if dist == "t" else 0
        self.names = ["nu"] if dist == "t" else []
        self.logdet = float(np.linalg.slogdet(self.qbar)[1])
        self.y = np.linalg.solve(self.qbar, self.z.T).T
        self.quad = np.einsum("ti,ti->t", self.z, self.y)

    def evaluate(self, psi=(), grad: bool = False, grad_z: bool = True) -> Evaluation:
        psi = np.asarray(psi, dtype=float).reshape(-1)
        nu = float(psi[0]) if self.k else None
        llt, _, c_q, d_nu = density(self.logdet, self.quad, self.N, nu)
        llt = np.broadcast_to(llt, (self.T,)).astype(float)
        if not grad:
            return Evaluation(True, llt, float(llt.sum()))
        g = np.array([float(np.sum(d_nu))]) if self.k else np.zeros(0)
        gz = 2.0 * np.broadcast_to(c_q, (self.T,))[:, None] * self.y if grad_z else None
        return Evaluation(True, llt, float(llt.sum()), g, gz)

    def scores(self, psi=()) -> np.ndarray:
        psi = np.asarray(psi, dtype=float).reshape(-1)
        if not self.k:
            return np.zeros((self.T, 0))
        return density(self.logdet, self.quad, self.N, float(psi[0]))[3][:, None]


class DCCLogLik(CustomOp):
    """The stage-two log-likelihood ``L(psi, z)`` as one op: forward and reverse pass O(T).

    Inputs: ``psi`` = (a, b) or (a, b, nu), and the standardised residuals ``z`` (T, N).
    Keyword: ``kernel``, a :class:`FullKernel` / :class:`PairKernel` / :class:`ConstantKernel`
    (its target ``Qbar`` is held fixed; a kernel built for other residuals is rebuilt for ``z``).
    Output: the scalar L (-inf when a correlation matrix is not positive definite; its gradient is then 0).
    """

    name = "dcc_loglik"

    def __init__(self, kernel):
        self.kernel = kernel

    def __call__(self, psi, z):
        self.need_z = isinstance(z, Tensor) and z.requires_grad
        return super().__call__(psi, z)

    def forward(self, psi, z):
        ker = self.kernel
        z = np.asarray(z, dtype=float)
        if z is not ker.z and not (z.shape == ker.z.shape and np.array_equal(z, ker.z)):
            kw = {"pairs": ker.pairs} if isinstance(ker, PairKernel) else {}
            ker = type(ker)(z, ker.qbar, ker.dist, **kw)
        self.shape_psi = np.shape(psi)
        self.ev = ker.evaluate(psi, grad=True, grad_z=self.need_z)
        return np.asarray(self.ev.total)

    def backward(self, g):
        g = float(np.asarray(g).reshape(()))
        if not self.ev.ok:
            return np.zeros(self.shape_psi), (np.zeros_like(self.kernel.z) if self.need_z else None)
        return g * self.ev.g_psi.reshape(self.shape_psi), (g * self.ev.g_z if self.need_z else None)
