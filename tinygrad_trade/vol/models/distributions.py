"""Standardised error distributions for the GARCH family, parameterised exactly as ``arch`` 8 does.

A GARCH model writes ``e_t = sqrt(s_t) z_t`` with ``z_t`` i.i.d., mean 0 and variance 1. Four laws
for ``z`` are offered, with arch's names, parameter names, bounds and starting values, so that
estimates compare line by line:

* :class:`Normal` (``"normal"``): no parameter;
* :class:`StudentsT` (``"t"``): ``nu`` in [2.05, 500], Student's t rescaled to unit variance;
* :class:`SkewStudent` (``"skewt"``): Hansen's (1994) skewed t, ``eta`` in [2.05, 300] (tails) and
  ``lambda`` in [-1, 1] (skewness; 0 gives the standardised t);
* :class:`GeneralizedError` (``"ged"``): ``nu`` in [1.01, 500] (2 is the normal, 1 the Laplace).

The log-density of a standardised residual, :meth:`Distribution.logpdf`, is built from the engine's
Tensor ops (``gammaln``, ``log1p``, ``abs``, ``sign`` ...), so its first and second derivatives in
``z`` and in the shape parameters come from the engine (they are checked to second order against
finite differences in the tests). The GARCH likelihood of day ``t`` is ``logpdf(z_t) - log(s_t)/2``.

For risk figures each law gives its quantile (:meth:`ppf`, arch's formulas), its lower-tail
expected shortfall (:meth:`var_es`: closed forms for all four; numerical quadrature only for the
skew-t's rare case of a level above its left branch's mass ``(1 - lambda)/2``) and draws from a
passed ``np.random.Generator`` (:meth:`simulate`; arch's samplers, the skew-t's drawn directly).
Starting values use the kurtosis of the standardised residuals, as arch's do.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special, stats

from ...tensor import Tensor

__all__ = ["Distribution", "Normal", "StudentsT", "SkewStudent", "GeneralizedError", "DISTRIBUTIONS",
           "get_distribution"]

_LOG_2PI = math.log(2.0 * math.pi)


def _lift(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=float))


def _params(params, k: int, name: str) -> list:
    """The shape parameters as a list of ``k`` entries (Tensors or floats)."""
    if isinstance(params, Tensor):
        if params.size != k:
            raise ValueError(f"{name} takes {k} parameter(s), got {params.size}")
        return [params[i] for i in range(k)]
    if params is None:
        ps = []
    elif isinstance(params, (list, tuple)):
        ps = list(params)
    else:
        ps = list(np.asarray(params, dtype=float).reshape(-1))
    if len(ps) != k:
        raise ValueError(f"{name} takes {k} parameter(s), got {len(ps)}")
    return ps


def _floats(params, k, name) -> list[float]:
    return [float(p.item() if isinstance(p, Tensor) else p) for p in _params(params, k, name)]


def _check_level(alpha) -> float:
    a = float(alpha)
    if not 0.0 < a < 0.5:
        raise ValueError(f"risk level must be in (0, 0.5), got {alpha!r}")
    return a


def _kurtosis_start(std_resid) -> float:
    """arch's moment start for a t-type tail parameter: ``max((4k - 6)/(k - 3), 4)`` (12 if k <= 3.75)."""
    k = float(stats.kurtosis(np.asarray(std_resid, dtype=float), fisher=False))
    return max((4.0 * k - 6.0) / (k - 3.0) if k > 3.75 else 12.0, 4.0)


class Distribution:
    """A standardised law (mean 0, variance 1) with shape parameters ``param_names``."""

    name = ""
    title = ""
    param_names: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        return len(self.param_names)

    def bounds(self) -> list[tuple[float, float]]:
        """Box bounds of the shape parameters (arch's)."""
        return []

    def starting_values(self, std_resid) -> np.ndarray:
        """arch's starting values from standardised residuals."""
        return np.empty(0)

    def logpdf(self, z, params=()) -> Tensor:
        """Log-density at ``z`` (a Tensor or array) as engine ops; ``params`` Tensors or floats that
        broadcast with ``z`` (a Tensor of shape (k,) is split into its elements)."""
        raise NotImplementedError

    def logpdf_np(self, z, params=()) -> np.ndarray:
        return np.asarray(self.logpdf(np.asarray(z, dtype=float), _floats(params, self.k, self.name)).data)

    def pdf(self, z, params=()) -> np.ndarray:
        return np.exp(self.logpdf_np(z, params))

    def cdf(self, z, params=()) -> np.ndarray:
        raise NotImplementedError

    def ppf(self, p, params=()) -> np.ndarray:
        raise NotImplementedError

    def var_es(self, alpha: float, params=()) -> tuple[float, float]:
        """``(VaR, ES)`` at level ``alpha`` per unit of volatility, as positive losses:
        ``VaR = -ppf(alpha)`` and ``ES = -E[z | z <= ppf(alpha)]``."""
        raise NotImplementedError

    def es_quadrature(self, alpha: float, params=()) -> float:
        """``-E[z | z <= q_alpha]`` by numerical integration (the reference for the closed forms)."""
        alpha = _check_level(alpha)
        q = float(self.ppf(alpha, params))
        val, _ = integrate.quad(lambda x: x * float(self.pdf(np.array([x]), params)[0]), -np.inf, q,
                                epsabs=1e-13, epsrel=1e-11, limit=200)
        return -val / alpha

    def simulate(self, size, params, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normal(Distribution):
    name, title = "normal", "normal"

    def logpdf(self, z, params=()):
        z = _lift(z)
        return -0.5 * (z * z + _LOG_2PI)

    def cdf(self, z, params=()):
        return stats.norm.cdf(np.asarray(z, dtype=float))

    def ppf(self, p, params=()):
        return stats.norm.ppf(np.asarray(p, dtype=float))

    def var_es(self, alpha, params=()):
        alpha = _check_level(alpha)
        q = float(stats.norm.ppf(alpha))
        return -q, float(stats.norm.pdf(q) / alpha)

    def simulate(self, size, params, rng):
        return rng.standard_normal(size)


class StudentsT(Distribution):
    """Student's t with ``nu`` degrees of freedom divided by ``sqrt(nu / (nu - 2))``."""

    name, title = "t", "Student's t"
    param_names = ("nu",)

    def bounds(self):
        return [(2.05, 500.0)]

    def starting_values(self, std_resid):
        return np.array([_kurtosis_start(std_resid)])

    def logpdf(self, z, params=()):
        (nu,) = _params(params, 1, self.name)
        z, nu = _lift(z), _lift(nu)
        return (((nu + 1.0) * 0.5).gammaln() - (nu * 0.5).gammaln() - 0.5 * ((nu - 2.0) * math.pi).log()
                - (nu + 1.0) * 0.5 * (z * z / (nu - 2.0)).log1p())

    @staticmethod
    def _scale(nu):
        return math.sqrt((nu - 2.0) / nu)

    def cdf(self, z, params=()):
        (nu,) = _floats(params, 1, self.name)
        return stats.t.cdf(np.asarray(z, dtype=float) / self._scale(nu), nu)

    def ppf(self, p, params=()):
        (nu,) = _floats(params, 1, self.name)
        return stats.t.ppf(np.asarray(p, dtype=float), nu) * self._scale(nu)

    def var_es(self, alpha, params=()):
        alpha = _check_level(alpha)
        (nu,) = _floats(params, 1, self.name)
        t = float(stats.t.ppf(alpha, nu))
        k = self._scale(nu)
        # E[T | T <= t] = -(nu + t^2) / (nu - 1) f(t) / alpha for the ordinary t
        return -t * k, k * (nu + t * t) / (nu - 1.0) * float(stats.t.pdf(t, nu)) / alpha

    def simulate(self, size, params, rng):
        (nu,) = _floats(params, 1, self.name)
        return rng.standard_t(nu, size=size) * self._scale(nu)


class SkewStudent(Distribution):
    """Hansen's skewed t: for ``z < -a/b`` the density is ``b c (1 + ((b z + a)/(1 - lambda))^2
    / (eta - 2))^(-(eta + 1)/2)``, above it the same with ``1 + lambda``;
    ``c = Gamma((eta+1)/2) / (sqrt(pi (eta-2)) Gamma(eta/2))``, ``a = 4 lambda c (eta-2)/(eta-1)``,
    ``b^2 = 1 + 3 lambda^2 - a^2``."""

    name, title = "skewt", "Hansen's skew-t"
    param_names = ("eta", "lambda")

    def bounds(self):
        return [(2.05, 300.0), (-1.0, 1.0)]

    def starting_values(self, std_resid):
        return np.array([_kurtosis_start(std_resid), 0.0])

    @staticmethod
    def _consts(eta, lam):
        """(log c, a, b) as engine ops (or floats when given floats)."""
        if isinstance(eta, Tensor) or isinstance(lam, Tensor):
            eta, lam = _lift(eta), _lift(lam)
            logc = ((eta + 1.0) * 0.5).gammaln() - (eta * 0.5).gammaln() - 0.5 * ((eta - 2.0) * math.pi).log()
            a = 4.0 * lam * logc.exp() * (eta - 2.0) / (eta - 1.0)
            b = (1.0 + 3.0 * lam * lam - a * a).sqrt()
            return logc, a, b
        logc = math.lgamma((eta + 1.0) / 2.0) - math.lgamma(eta / 2.0) - 0.5 * math.log(math.pi * (eta - 2.0))
        a = 4.0 * lam * math.exp(logc) * (eta - 2.0) / (eta - 1.0)
        return logc, a, math.sqrt(1.0 + 3.0 * lam * lam - a * a)

    def logpdf(self, z, params=()):
        eta, lam = _params(params, 2, self.name)
        z, eta, lam = _lift(z), _lift(eta), _lift(lam)
        logc, a, b = self._consts(eta, lam)
        side = (z + a / b).sign()          # flat: the density is C^1 across z = -a/b
        y = (b * z + a) / (1.0 + side * lam)
        return b.log() + logc - (eta + 1.0) * 0.5 * (y * y / (eta - 2.0)).log1p()

    def cdf(self, z, params=()):
        eta, lam = _floats(params, 2, self.name)
        _, a, b = self._consts(eta, lam)
        z = np.asarray(z, dtype=float)
        sq = math.sqrt(eta / (eta - 2.0))
        lo = (1.0 - lam) * stats.t.cdf((b * z + a) / (1.0 - lam) * sq, eta)
        hi = (1.0 - lam) / 2.0 + (1.0 + lam) * (stats.t.cdf((b * z + a) / (1.0 + lam) * sq, eta) - 0.5)
        return np.where(z < -a / b, lo, hi)

    def ppf(self, p, params=()):
        eta, lam = _floats(params, 2, self.name)
        _, a, b = self._consts(eta, lam)
        p = np.asarray(p, dtype=float)
        cut = (1.0 - lam) / 2.0
        lo = p < cut
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(lo, stats.t.ppf(p / (1.0 - lam), eta), stats.t.ppf(0.5 + (p - cut) / (1.0 + lam), eta))
        return (t * (1.0 + np.sign(p - cut) * lam) * math.sqrt(1.0 - 2.0 / eta) - a) / b

    def var_es(self, alpha, params=()):
        alpha = _check_level(alpha)
        eta, lam = _floats(params, 2, self.name)
        q = float(self.ppf(alpha, (eta, lam)))
        if alpha >= (1.0 - lam) / 2.0:    # the level reaches past the left branch: integrate
            return -q, self.es_quadrature(alpha, (eta, lam))
        _, a, b = self._consts(eta, lam)
        # left branch: z = ((1 - lam) sqrt(1 - 2/eta) T - a) / b with T ~ t(eta), P(z <= q) = (1 - lam) F(T)
        t = float(stats.t.ppf(alpha / (1.0 - lam), eta))
        tail_mean_t = -(eta + t * t) / (eta - 1.0) * float(stats.t.pdf(t, eta)) / (alpha / (1.0 - lam))
        mean_z = ((1.0 - lam) * math.sqrt(1.0 - 2.0 / eta) * tail_mean_t - a) / b
        return -q, -mean_z

    def simulate(self, size, params, rng):
        """The law arch draws as ``ppf(uniform)``, drawn directly (no t quantiles, so fast): the left
        branch with probability ``(1 - lambda)/2``, then ``z = (-|T| (1 - lambda) sqrt(1 - 2/eta) - a)/b``
        with ``T ~ t(eta)`` (the right branch with ``+|T| (1 + lambda)``)."""
        eta, lam = _floats(params, 2, self.name)
        _, a, b = self._consts(eta, lam)
        left = rng.random(size) < (1.0 - lam) / 2.0
        t = np.abs(rng.standard_t(eta, size))
        y = np.where(left, -(1.0 - lam) * t, (1.0 + lam) * t) * math.sqrt(1.0 - 2.0 / eta)
        return (y - a) / b


class GeneralizedError(Distribution):
    """The generalised error distribution with shape ``nu``: ``z = c x``, density of ``x`` proportional
    to ``exp(-|x|^nu / 2)``, ``c`` making the variance 1 (arch's parameterisation)."""

    name, title = "ged", "generalised error"
    param_names = ("nu",)

    def bounds(self):
        return [(1.01, 500.0)]

    def starting_values(self, std_resid):
        return np.array([1.5])

    def logpdf(self, z, params=()):
        (nu,) = _params(params, 1, self.name)
        z, nu = _lift(z), _lift(nu)
        log_c = 0.5 * (-2.0 / nu * math.log(2.0) + (1.0 / nu).gammaln() - (3.0 / nu).gammaln())
        return (nu.log() - log_c - (1.0 / nu).gammaln() - (1.0 + 1.0 / nu) * math.log(2.0)
                - 0.5 * (z.abs() / log_c.exp()) ** nu)

    @staticmethod
    def _scale(nu):
        """z = scale g with g ~ scipy's gennorm(nu) (density proportional to exp(-|g|^nu))."""
        return math.exp(0.5 * (math.lgamma(1.0 / nu) - math.lgamma(3.0 / nu)))

    def cdf(self, z, params=()):
        (nu,) = _floats(params, 1, self.name)
        return stats.gennorm.cdf(np.asarray(z, dtype=float) / self._scale(nu), nu)

    def ppf(self, p, params=()):
        (nu,) = _floats(params, 1, self.name)
        return stats.gennorm.ppf(np.asarray(p, dtype=float), nu) * self._scale(nu)

    def var_es(self, alpha, params=()):
        alpha = _check_level(alpha)
        (nu,) = _floats(params, 1, self.name)
        s = self._scale(nu)
        g = float(stats.gennorm.ppf(alpha, nu))
        # int_{|g|}^inf x nu / (2 Gamma(1/nu)) exp(-x^nu) dx = Gamma(2/nu) Q(2/nu, |g|^nu) / (2 Gamma(1/nu))
        tail = math.exp(math.lgamma(2.0 / nu) - math.lgamma(1.0 / nu)) \
            * float(special.gammaincc(2.0 / nu, abs(g) ** nu))
        return -g * s, s * 0.5 * tail / alpha

    def simulate(self, size, params, rng):
        (nu,) = _floats(params, 1, self.name)
        x = rng.standard_gamma(1.0 / nu, size) ** (1.0 / nu)
        x = x * (2.0 * rng.integers(0, 2, size) - 1.0)
        return x * self._scale(nu)


DISTRIBUTIONS = {d.name: d for d in (Normal(), StudentsT(), SkewStudent(), GeneralizedError())}


def get_distribution(dist) -> Distribution:
    """``"normal"``, ``"t"``, ``"skewt"``, ``"ged"`` (or a :class:`Distribution`) -> the law."""
    if isinstance(dist, Distribution):
        return dist
    try:
        return DISTRIBUTIONS[dist]
    except (KeyError, TypeError):
        raise ValueError(f"dist must be one of {', '.join(DISTRIBUTIONS)}, got {dist!r}") from None
