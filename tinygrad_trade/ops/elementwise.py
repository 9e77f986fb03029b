"""Elementwise functions on Tensor.

Every function the scalar engine also has takes its rule from :mod:`tinygrad_trade.functions`, where
each is written once for both engines: its numpy forward (``array``), its ``partials(y, *xs)`` (they
run on arrays in a plain backward and on Tensors under ``create_graph``, so second derivatives come
for free) and its domain (``bad``, and ``edge``: refused only when a gradient is wanted). What is
Tensor-specific stays here: the functions only Tensor has, written in the same form with :data:`F`
(``exp2``, ``gammaln``, ``logit``, ``normal_ppf``, ``nan_to_num``, ``copysign``, ``polygamma``,
maximum/minimum, clip), the wording of a few refusals, and ``ZeroDivisionError`` for a zero divisor.
NaN is never refused: it propagates.

Kinks and flat ops: ``sign``, ``floor``, ``ceil``, ``round`` (half to even, as numpy and torch),
``trunc`` and ``//`` have zero gradient everywhere; ``mod`` (numpy's ``%``, the sign of the divisor,
torch's ``remainder``) and ``fmod`` have torch's gradients ``(1, -floor(a/b))`` and
``(1, -trunc(a/b))``; ``hypot`` at ``(0, 0)`` has gradient ``(0, 0)``.

Comparisons ``== != < <= > >=`` are elementwise and return numpy boolean arrays (no graph, no
gradient), as in numpy and torch; ``__hash__`` stays identity so Tensors still work in sets.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import functions as fn
from ..graph import Op, _GradMode
from ._base import F, TensorBase, data, domain_error

__all__ = ["Elementwise", "UNARY", "BINARY"]

_SQRT_2 = math.sqrt(2.0)

# -- the gamma family: log-gamma (libm) and the polygamma functions psi^(n) (series below) --------
_lgamma_u = np.frompyfunc(math.lgamma, 1, 1)
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798)  # Bernoulli B2..B18


def _gammaln(x):
    return np.asarray(_lgamma_u(x), dtype=x.dtype)


def _polygamma(n, x):
    """psi^(n)(x) for x > 0: recurrence up to x >= 16, then the asymptotic series (error < 1e-16)."""
    dtype = np.asarray(x).dtype
    x = np.array(x, dtype=np.float64)
    acc = np.zeros_like(x)
    sgn = (-1.0) ** (n + 1)
    nfact = math.factorial(n)
    for _ in range(16):  # psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1)  (psi(x) = psi(x+1) - 1/x)
        small = x < 16
        if not small.any():
            break
        acc = acc + np.where(small, (-1.0 / x) if n == 0 else sgn * nfact / x ** (n + 1), 0.0)
        x = np.where(small, x + 1.0, x)
    if n == 0:
        series = np.log(x) - 0.5 / x - sum(b / (2 * k * x ** (2 * k)) for k, b in enumerate(_B2K, start=1))
    else:
        series = math.factorial(n - 1) / x ** n + nfact / (2.0 * x ** (n + 1)) + sum(
            b * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * x ** (2 * k + n))
            for k, b in enumerate(_B2K, start=1))
        series = sgn * series
    return (series + acc).astype(dtype)


def _psi(n, x):
    """psi^(n) on an array or (recorded) on a Tensor."""
    return x.polygamma(n) if isinstance(x, TensorBase) else _polygamma(n, x)


def _polygamma_op(n):
    return Op("digamma" if n == 0 else f"polygamma{n}", lambda g, y, x: (g * _psi(n + 1, x),))


def _ndtri(p):
    """The standard normal quantile: a rational first guess (Acklam's coefficients), then two
    Halley steps on ``ndtr(x) = p`` (errfc-based, so accurate in both tails)."""
    p = np.asarray(p, dtype=np.float64)
    a = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
         -3.066479806614716e+01, 2.506628277459239e+00)
    b = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
         -1.328068155288572e+01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
         4.374664141464968e+00, 2.938163982698783e+00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
    with np.errstate(all="ignore"):
        q = np.minimum(p, 1.0 - p)
        t = np.sqrt(-2.0 * np.log(q))
        tail = (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / \
            ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0)
        r = (p - 0.5) ** 2
        mid = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * (p - 0.5) / \
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        x = np.where(q < 0.02425, np.where(p < 0.5, tail, -tail), mid)
        for _ in range(2):
            e = np.where(x < 0, fn._ndtr_np(x) - p, (1.0 - p) - fn._ndtr_np(-x))
            u = e * math.sqrt(2.0 * math.pi) * np.exp(0.5 * x * x)
            x = np.where(np.isfinite(u), x - u / (1.0 + 0.5 * x * u), x)
    return np.where(p == 0, -np.inf, np.where(p == 1, np.inf, x))


def _copysign_partials(y, a, b):  # sign(a) * sign(y), 0 at a = 0 (a constant); none to b
    ad = data(a)
    return np.where(ad == 0, 0.0, np.sign(ad) * np.sign(data(y))), 0.0


def _own(name, forward, partials, bad=None, why=""):
    """A Tensor-only rule, in the same form as the shared ones (``partials(y, x)`` written with :data:`F`)."""
    return fn.Elementwise(name, None, forward, partials, bad, why)


def _outside(lo, hi):
    return lambda x: (x <= lo) | (x >= hi)  # NaN passes


UNARY = {**fn.UNARY, **{op.name: op for op in (  # the shared rules, and the Tensor-only ones beside them
    _own("exp2", np.exp2, lambda y, x: (y * math.log(2.0),)),
    _own("gammaln", _gammaln, lambda y, x: (_psi(0, x),), lambda x: x <= 0, "input must be positive"),
    _own("logit", lambda x: np.log(x / (1.0 - x)), lambda y, x: (1.0 / (x * (1.0 - x)),),
         _outside(0.0, 1.0), "input must be in (0, 1)"),
    _own("normal_ppf", lambda x: _ndtri(x).astype(x.dtype),
         lambda y, x: (math.sqrt(2.0 * math.pi) * F.exp(0.5 * y * y),),
         _outside(0.0, 1.0), "input must be a probability in (0, 1)"),
    _own("nan_to_num", np.nan_to_num, lambda y, x: (np.isfinite(data(x)).astype(data(x).dtype),)),
)}}
_CANNOT_WARN = frozenset(  # forwards that raise no floating-point warning for any input, inf and NaN included
    ("abs", "sign", "floor", "ceil", "round", "trunc", "relu", "tanh", "sigmoid", "softplus", "hardtanh", "elu"))
_WHY = {  # where the Tensor engine words a refusal differently from the Value engine
    "log1p": "input must be > -1",
    "arcsin": "input must be in [-1, 1] (open for a gradient)",
    "arccos": "input must be in [-1, 1] (open for a gradient)",
}


def _tie_share(a, b):
    """1 where a wins, 0 where b wins, 1/2 on ties (a constant, in the operands' float dtype)."""
    a, b = data(a), data(b)
    return ((a > b) + 0.5 * (a == b)).astype(np.result_type(a, b))


MAXIMUM = Op("maximum", lambda g, y, a, b: (g * _tie_share(a, b), g * _tie_share(b, a)))
MINIMUM = Op("minimum", lambda g, y, a, b: (g * _tie_share(b, a), g * _tie_share(a, b)))


def _clip_op(lo, hi):  # passes the gradient where lo <= x <= hi
    return Op("clip", lambda g, y, x: (g * ((data(x) >= lo) & (data(x) <= hi)),))


BINARY = {**fn.BINARY, "copysign": _own("copysign", np.copysign, _copysign_partials)}


class Elementwise(TensorBase):
    __slots__ = ()

    def _unary(self, name):
        return self._rule(UNARY[name])

    def _rule(self, op):
        """Apply the elementwise rule ``op`` (its domain first, then its numpy forward)."""
        name, x = op.name, self.data
        if op.bad is not None:
            bad = op.bad(x)
            if op.edge is not None and self.requires_grad and _GradMode.enabled:  # a gradient is wanted
                bad = bad | op.edge(x)
            if bad.any():
                raise domain_error(name, _WHY.get(name, op.why), bad, x)
        if name in _CANNOT_WARN:  # skips errstate's cost (about 1 us) on small arrays
            return self._make(op.array(x), (self,), op)
        with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN propagate, as in numpy
            return self._make(op.array(x), (self,), op)

    def _binary_rule(self, other, name):
        other = self._lift(other)
        if name in ("mod", "fmod", "floordiv"):
            zero = other.data == 0
            if zero.any():
                raise ZeroDivisionError(f"{name}: division by zero; the divisor is 0 at "
                                        f"index {tuple(int(i) for i in np.argwhere(zero)[0])}")
        elif name == "arctan2" and self.requires_grad | other.requires_grad:
            a, b = np.broadcast_arrays(self.data, other.data)
            bad = (a == 0) & (b == 0)
            if bad.any():
                raise domain_error(name, "the gradient at (0, 0) is undefined", bad, a)
        op = BINARY[name]
        return self._binary(other, op.array, op)

    # the core elementary functions
    def exp(self): return self._unary("exp")  # noqa: E704
    def log(self): return self._unary("log")  # noqa: E704
    def sqrt(self): return self._unary("sqrt")  # noqa: E704
    def abs(self): return self._unary("abs")  # noqa: E704
    __abs__ = abs

    def maximum(self, other):
        """Elementwise max; on ties each side gets half the gradient."""
        return self._binary(other, np.maximum, MAXIMUM)

    def minimum(self, other):
        return self._binary(other, np.minimum, MINIMUM)

    def fmax(self, other):
        """numpy.fmax (torch.fmax): the larger, ignoring a NaN on one side; torch's gradient (all of it
        to ``self`` on ties, to the non-NaN side when one is NaN)."""
        other = self._lift(other)
        with np.errstate(invalid="ignore"):
            take_self = (self.data >= other.data) | np.isnan(other.data)
        return type(self).where(take_self, self, other)

    def fmin(self, other):
        """numpy.fmin (torch.fmin): the smaller, ignoring a NaN on one side (gradient as fmax)."""
        other = self._lift(other)
        with np.errstate(invalid="ignore"):
            take_self = (self.data <= other.data) | np.isnan(other.data)
        return type(self).where(take_self, self, other)

    def sinc(self):
        """numpy.sinc (torch.sinc): sin(pi x) / (pi x), 1 at 0; smooth there (a Taylor polynomial
        for |x| < 1e-3, exact to rounding, carries the derivatives through 0)."""
        small = np.abs(self.data) < 1e-3
        if not small.any():
            px = self * math.pi
            return px.sin() / px
        z = (self * math.pi) ** 2
        poly = 1.0 - z * (1.0 / 6.0) + z * z * (1.0 / 120.0) - z * z * z * (1.0 / 5040.0)
        if small.all():
            return poly
        safe = type(self).where(small, 1.0, self) * math.pi
        return type(self).where(small, poly, safe.sin() / safe)

    def clip(self, lo=None, hi=None):
        lo = -np.inf if lo is None else lo
        hi = np.inf if hi is None else hi
        return self._make(np.clip(self.data, lo, hi), (self,), _clip_op(lo, hi))

    # trigonometric and hyperbolic (numpy's names, torch's as aliases)
    def sin(self): return self._unary("sin")  # noqa: E704
    def cos(self): return self._unary("cos")  # noqa: E704
    def tan(self): return self._unary("tan")  # noqa: E704
    def arcsin(self): return self._unary("arcsin")  # noqa: E704
    def arccos(self): return self._unary("arccos")  # noqa: E704
    def arctan(self): return self._unary("arctan")  # noqa: E704
    def sinh(self): return self._unary("sinh")  # noqa: E704
    def cosh(self): return self._unary("cosh")  # noqa: E704
    def arcsinh(self): return self._unary("arcsinh")  # noqa: E704
    def arccosh(self): return self._unary("arccosh")  # noqa: E704
    def arctanh(self): return self._unary("arctanh")  # noqa: E704
    asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh

    # logs and exponentials near 0, other bases
    def log1p(self): return self._unary("log1p")  # noqa: E704
    def expm1(self): return self._unary("expm1")  # noqa: E704
    def log2(self): return self._unary("log2")  # noqa: E704
    def log10(self): return self._unary("log10")  # noqa: E704

    # the error function and the standard normal distribution
    def erf(self): return self._unary("erf")  # noqa: E704
    def erfc(self): return self._unary("erfc")  # noqa: E704

    def normal_cdf(self):
        """P(Z <= x) for a standard normal Z (``scipy.special.ndtr``), accurate in both tails."""
        return self._unary("normal_cdf")

    def normal_logpdf(self, mean=0.0, std=1.0):
        """log density of N(mean, std**2) at x; ``mean`` and ``std`` may be Tensors (std > 0)."""
        if isinstance(std, (int, float)) and std == 1.0 and isinstance(mean, (int, float)) and mean == 0.0:
            return self._unary("normal_logpdf")
        std = self._lift(std)
        bad = ~(std.data > 0) & ~np.isnan(std.data)
        if bad.any():
            raise domain_error("normal_logpdf", "std must be positive", bad, std.data)
        return ((self - mean) / std)._unary("normal_logpdf") - std.log()

    # the gamma family (Student-t and gamma likelihoods)
    def gammaln(self):
        """log |Gamma(x)| for x > 0 (``math.lgamma``); its derivative is ``digamma``."""
        return self._unary("gammaln")

    lgamma = gammaln

    def polygamma(self, n):
        """psi^(n)(x), the n-th derivative of digamma, for x > 0 (``n = 0``: digamma)."""
        x = self.data
        bad = x <= 0
        if bad.any():
            raise domain_error("polygamma", "input must be positive", bad, x)
        return self._make(np.asarray(_polygamma(int(n), x), dtype=x.dtype), (self,), _polygamma_op(int(n)))

    def digamma(self):
        return self.polygamma(0)

    def exp2(self): return self._unary("exp2")  # noqa: E704

    def logit(self):
        """log(p / (1 - p)) for p in (0, 1), the inverse of sigmoid."""
        return self._unary("logit")

    def normal_ppf(self):
        """The standard normal quantile (inverse of ``normal_cdf``) for p in (0, 1)."""
        return self._unary("normal_ppf")

    def erfinv(self):
        """The inverse error function on (-1, 1): ``normal_ppf((1 + x) / 2) / sqrt(2)``, written with
        ``1 - x`` for x > 0 so that it stays accurate near both ends."""
        lo, hi = ((self + 1.0) * 0.5).normal_ppf(), -((1.0 - self) * 0.5).normal_ppf()
        return type(self).where(self.data < 0, lo, hi) * (1.0 / _SQRT_2)

    def nan_to_num(self):
        """NaN -> 0 and +-inf -> the largest finite floats (numpy's); gradient 1 where x is finite, else 0."""
        return self._unary("nan_to_num")

    def copysign(self, other):
        """|self| with the sign of ``other``; gradient sign(self) * sign(result) (0 at self = 0), none to other."""
        return self._binary_rule(other, "copysign")

    def rsqrt(self):
        return 1.0 / self.sqrt()

    def logaddexp2(self, other):
        """log2(2**self + 2**other), stable."""
        ln2 = math.log(2.0)
        return (self * ln2).logaddexp(self._lift(other) * ln2) * (1.0 / ln2)

    def deg2rad(self): return self * (math.pi / 180.0)  # noqa: E704
    def rad2deg(self): return self * (180.0 / math.pi)  # noqa: E704

    def lerp(self, end, weight):
        """self + weight * (end - self)."""
        return self + (self._lift(end) - self) * weight

    def student_t_logpdf(self, df, loc=0.0, scale=1.0):
        """log density of Student's t with ``df`` degrees of freedom (all three may be Tensors)."""
        df, scale = self._lift(df), self._lift(scale)
        for name, t in (("df", df), ("scale", scale)):
            bad = t.data <= 0
            if bad.any():
                raise domain_error("student_t_logpdf", f"{name} must be positive", bad, t.data)
        z = (self - loc) / scale
        half = (df + 1.0) * 0.5
        return (half.gammaln() - (df * 0.5).gammaln() - 0.5 * (df * math.pi).log() - scale.log()
                - half * (z * z / df).log1p())

    # flat ops (zero gradient)
    def sign(self): return self._unary("sign")  # noqa: E704
    def floor(self): return self._unary("floor")  # noqa: E704
    def ceil(self): return self._unary("ceil")  # noqa: E704
    def round(self): return self._unary("round")  # noqa: E704
    def trunc(self): return self._unary("trunc")  # noqa: E704
    __round__ = round
    __trunc__ = trunc
    __floor__ = floor
    __ceil__ = ceil

    # binary
    def logaddexp(self, other):
        """log(exp(self) + exp(other)), stable for any magnitude."""
        return self._binary_rule(other, "logaddexp")

    def hypot(self, other): return self._binary_rule(other, "hypot")  # noqa: E704
    def arctan2(self, other): return self._binary_rule(other, "arctan2")  # noqa: E704
    atan2 = arctan2
    def mod(self, other): return self._binary_rule(other, "mod")  # noqa: E704
    def fmod(self, other): return self._binary_rule(other, "fmod")  # noqa: E704
    def floordiv(self, other): return self._binary_rule(other, "floordiv")  # noqa: E704
    remainder = mod
    __mod__ = mod
    __floordiv__ = floordiv
    def __rmod__(self, other): return self._lift(other).mod(self)  # noqa: E704
    def __rfloordiv__(self, other): return self._lift(other).floordiv(self)  # noqa: E704

    # comparisons: elementwise, numpy boolean arrays, no gradient
    def _compare(self, other, fn, sym):
        o = data(other)
        try:
            return fn(self.data, o)
        except ValueError:
            raise ValueError(f"{sym}: shapes {self.shape} and {np.shape(o)} cannot be broadcast together") from None

    def __eq__(self, other): return self._compare(other, operator.eq, "==")  # noqa: E704
    def __ne__(self, other): return self._compare(other, operator.ne, "!=")  # noqa: E704
    def __lt__(self, other): return self._compare(other, operator.lt, "<")  # noqa: E704
    def __le__(self, other): return self._compare(other, operator.le, "<=")  # noqa: E704
    def __gt__(self, other): return self._compare(other, operator.gt, ">")  # noqa: E704
    def __ge__(self, other): return self._compare(other, operator.ge, ">=")  # noqa: E704
    __hash__ = object.__hash__  # identity: graphs keep Tensors in sets and dicts

    def isnan(self): return np.isnan(self.data)  # noqa: E704
    def isfinite(self): return np.isfinite(self.data)  # noqa: E704
    def isinf(self): return np.isinf(self.data)  # noqa: E704
    def logical_not(self): return self.data == 0  # noqa: E704

    def isclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        return np.isclose(self.data, data(other), rtol=rtol, atol=atol, equal_nan=equal_nan)

    def any(self, axis=None, keepdims=False): return np.any(self.data != 0, axis=axis, keepdims=keepdims)  # noqa: E704
    def all(self, axis=None, keepdims=False): return np.all(self.data != 0, axis=axis, keepdims=keepdims)  # noqa: E704
