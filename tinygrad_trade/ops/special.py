"""Special functions on Tensor (scipy.special's and torch.special's): the modified Bessel functions
``i0``/``i1``, the Bessel functions ``bessel_j0``/``bessel_j1`` (scipy's ``j0``/``j1``) and the
regularised lower incomplete gamma function ``gammainc``, each forward beside its rule.

Numerics, in numpy only: ``i0``/``i1`` by their power series (positive terms: relative error a few
ulps per hundred terms); ``j0``/``j1`` by the power series for |x| < 12 (cancellation costs < 1e-11
absolute there) and Hankel's asymptotic expansion beyond (truncated at its smallest term, < 1e-10);
``gammainc`` by its series below ``a + 1`` and Lentz's continued fraction above (Numerical Recipes).

Rules: ``i0' = i1``, ``i1' = i0 - i1/x`` (1/2 at 0), ``j0' = -j1``, ``j1' = j0 - j1/x`` (1/2 at 0; ``i1/x``
and ``j1/x`` by their series near 0),
``d gammainc(a, x)/dx = x^(a-1) e^-x / Gamma(a)``; they call the same functions, so second derivatives
work. The derivative of ``gammainc`` with respect to ``a`` is not available (torch does not have it
either): asking for it is a clear error.
"""
from __future__ import annotations

import math

import numpy as np

from ..graph import Op
from ._base import F, TensorBase, data, domain_error

__all__ = ["Special"]


def _series(x, nu, sign):
    """sum_k sign^k (x/2)^(2k+nu) / (k! (k+nu)!) for nu in {0, 1}."""
    x = np.asarray(x, dtype=np.float64)
    q = x * x / 4.0
    term = np.ones_like(x) if nu == 0 else x / 2.0
    total = term.copy()
    for k in range(1, 2000):
        term = term * (sign * q / (k * (k + nu)))
        total = total + term
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
    return total


def _hankel(x, nu):
    """J_nu(x) for x >= 12 by Hankel's asymptotic expansion (P, Q summed to their smallest term)."""
    mu = 4.0 * nu * nu
    p, q = np.ones_like(x), np.zeros_like(x)
    term = np.ones_like(x)
    done = np.zeros(x.shape, dtype=bool)
    last = np.full_like(x, np.inf)
    for k in range(1, 60):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * x)
        done |= np.abs(term) >= last  # the series diverges from here on
        last = np.abs(term)
        t = np.where(done, 0.0, term)
        if k % 2:
            q = q + (-1) ** ((k - 1) // 2) * t
        else:
            p = p + (-1) ** (k // 2) * t
        if np.all(done | (np.abs(term) < 1e-17)):
            break
    chi = x - (nu / 2.0 + 0.25) * math.pi
    return np.sqrt(2.0 / (math.pi * x)) * (p * np.cos(chi) - q * np.sin(chi))


def _j(x, nu):
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    big = ax >= 12.0
    out = _series(np.where(big, 0.0, x), nu, -1.0)
    if big.any():
        far = _hankel(np.where(big, ax, 12.0), nu)
        out = np.where(big, far * (np.sign(x) if nu == 1 else 1.0), out)
    return out


def _np(name):
    return {"i0": lambda x: _series(x, 0, 1.0), "i1": lambda x: _series(x, 1, 1.0),
            "bessel_j0": lambda x: _j(x, 0), "bessel_j1": lambda x: _j(x, 1)}[name]


def _call(name, x):
    return getattr(x, name)() if isinstance(x, TensorBase) else _np(name)(x).astype(x.dtype)


_SMALL = 1e-3      # below this |x|, f1(x)/x by its series (f1(x)/x - its derivative - cancels near 0)


def _over_x(f1, x):
    """f1(x) / x for f1 in {i1, j1}, 1/2 at 0. Near 0 by its series, ``1/2 +- x^2/16 + x^4/384`` (the next term
    is ~x^6/18432: below 1e-22 here), whose derivatives stay exact where ``f1'(x)/x - f1(x)/x^2`` would
    cancel (at x = 2e-308 it gave 1e292 for a second derivative of about 0)."""
    small = np.abs(data(x)) < _SMALL
    if not small.any():
        return _call(f1, x) / x
    sign = 1.0 if f1 == "i1" else -1.0
    xs = F.where(small, x, 0.0)
    x2 = xs * xs
    series = 0.5 + x2 * (sign / 16.0) + x2 * x2 * (1.0 / 384.0)
    safe = F.where(small, 1.0, x)
    return F.where(small, series, _call(f1, safe) / safe)


_RULES = {
    "i0": lambda g, y, x: (g * _call("i1", x),),
    "i1": lambda g, y, x: (g * (_call("i0", x) - _over_x("i1", x)),),
    "bessel_j0": lambda g, y, x: (-g * _call("bessel_j1", x),),
    "bessel_j1": lambda g, y, x: (g * (_call("bessel_j0", x) - _over_x("bessel_j1", x)),),
}
_OPS = {name: Op(name, rule) for name, rule in _RULES.items()}

_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _gammainc_scalar(a, x):
    if x == 0:
        return 0.0
    if math.isinf(x):
        return 1.0
    front = math.exp(-x + a * math.log(x) - math.lgamma(a))
    if x < a + 1.0:
        ap, s = a, 1.0 / a
        d = s
        for _ in range(10000):
            ap += 1.0
            d *= x / ap
            s += d
            if abs(d) < abs(s) * 1e-17:
                break
        return s * front
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-17:
            break
    return 1.0 - front * h


_gammainc_u = np.frompyfunc(_gammainc_scalar, 2, 1)


def _gammainc_op(a):
    def vjp(g, y, x):
        ad = np.asarray(a, dtype=data(x).dtype)
        lg = np.asarray(_lgamma(ad), dtype=ad.dtype)
        zero = data(x) == 0
        if not zero.any():
            return (g * F.exp((ad - 1.0) * F.log(x) - x - lg),)
        at0 = np.where(ad == 1.0, 1.0, np.where(ad > 1.0, 0.0, np.inf))
        safe = F.where(zero, 1.0, x)
        return (g * F.where(zero, at0, F.exp((ad - 1.0) * F.log(safe) - safe - lg)),)
    return Op("gammainc", vjp)


class Special(TensorBase):
    __slots__ = ()

    def _special(self, name):
        return self._make(_np(name)(self.data).astype(self.dtype), (self,), _OPS[name])

    def i0(self):
        """The modified Bessel function of the first kind, order 0 (scipy/torch ``i0``)."""
        return self._special("i0")

    def i1(self):
        """The modified Bessel function of the first kind, order 1."""
        return self._special("i1")

    def bessel_j0(self):
        """The Bessel function of the first kind, order 0 (torch.special.bessel_j0, scipy's j0)."""
        return self._special("bessel_j0")

    def bessel_j1(self):
        """The Bessel function of the first kind, order 1 (scipy's j1)."""
        return self._special("bessel_j1")

    j0 = bessel_j0
    j1 = bessel_j1

    def gammainc(self, x):
        """The regularised lower incomplete gamma function P(a, x) with ``a = self`` (scipy's and
        torch's argument order): ``a > 0``, ``x >= 0``. Differentiable in ``x`` only (as torch)."""
        x = self._lift(x)
        a = self
        if a.requires_grad:
            raise ValueError("gammainc: the derivative with respect to a (self) is not available (torch has none "
                             "either): pass a without requires_grad")
        ab, xb = np.broadcast_arrays(a.data, x.data)
        for bad, why, arr in (((ab <= 0) & ~np.isnan(ab), "a must be positive", ab),
                              ((xb < 0) & ~np.isnan(xb), "x must be non-negative", xb)):
            if bad.any():
                raise domain_error("gammainc", why, bad, arr)
        y = np.asarray(_gammainc_u(ab, xb), dtype=self.dtype)
        return x._make(y, (x,), _gammainc_op(ab))
