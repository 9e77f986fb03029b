"""Elementwise functions on Tensor: each one row, forward (numpy) beside its derivative.

``RULES[name] = (forward(x), derivative(x, y), domain)``: ``derivative`` is written with :data:`F`
so it runs on arrays and on Tensors (second derivatives come for free); ``domain(x, needs_grad)``
returns the mask of inputs the op refuses, with the reason. NaN is never refused: it propagates.

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

from ..graph import Op
from ._base import F, TensorBase, data, domain_error

__all__ = ["Elementwise", "RULES"]

_SQRT_2 = math.sqrt(2.0)
_2_SQRT_PI = 2.0 / math.sqrt(math.pi)
_1_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_erf_u = np.frompyfunc(math.erf, 1, 1)    # libm's erf/erfc: correctly rounded to ~1 ulp, numpy has none
_erfc_u = np.frompyfunc(math.erfc, 1, 1)


def _erf(x):
    return np.asarray(_erf_u(x), dtype=x.dtype)


def _erfc(x):
    return np.asarray(_erfc_u(x), dtype=x.dtype)


def _ndtr(x):  # the standard normal cdf, accurate in both tails
    return np.asarray(0.5 * _erfc_u(-x / _SQRT_2), dtype=x.dtype)


def _open(lo=-np.inf, hi=np.inf, why=""):
    """Domain lo < x < hi (NaN passes)."""
    return lambda x, grad: ((x <= lo) | (x >= hi), why)


def _closed_then_open(lo, hi, why):
    """Forward defined on [lo, hi]; the derivative is infinite at the ends, so with a gradient the
    ends are refused too."""
    def dom(x, grad):
        out = (x < lo) | (x > hi)
        return (out | (x == lo) | (x == hi)) if grad else out, why
    return dom


_ZERO = lambda x, y: 0.0 * x  # noqa: E731  flat ops: zero gradient of the right shape

RULES = {  # name: (forward on arrays, dy/dx from (x, y) written with F, domain or None)
    "sin": (np.sin, lambda x, y: F.cos(x), None),
    "cos": (np.cos, lambda x, y: -F.sin(x), None),
    "tan": (np.tan, lambda x, y: 1.0 + y * y, None),
    "arcsin": (np.arcsin, lambda x, y: (1.0 - x * x) ** -0.5,
               _closed_then_open(-1.0, 1.0, "input must be in [-1, 1] (open for a gradient)")),
    "arccos": (np.arccos, lambda x, y: -(1.0 - x * x) ** -0.5,
               _closed_then_open(-1.0, 1.0, "input must be in [-1, 1] (open for a gradient)")),
    "arctan": (np.arctan, lambda x, y: 1.0 / (1.0 + x * x), None),
    "sinh": (np.sinh, lambda x, y: F.cosh(x), None),
    "cosh": (np.cosh, lambda x, y: F.sinh(x), None),
    "arcsinh": (np.arcsinh, lambda x, y: (1.0 + x * x) ** -0.5, None),
    "arccosh": (np.arccosh, lambda x, y: (x * x - 1.0) ** -0.5,
                _closed_then_open(1.0, np.inf, "input must be >= 1 (> 1 for a gradient)")),
    "arctanh": (np.arctanh, lambda x, y: 1.0 / (1.0 - x * x),
                _open(-1.0, 1.0, "input must be in (-1, 1)")),
    "log1p": (np.log1p, lambda x, y: 1.0 / (1.0 + x), _open(-1.0, why="input must be > -1")),
    "expm1": (np.expm1, lambda x, y: y + 1.0, None),
    "log2": (np.log2, lambda x, y: 1.0 / (x * math.log(2.0)), _open(0.0, why="input must be positive")),
    "log10": (np.log10, lambda x, y: 1.0 / (x * math.log(10.0)), _open(0.0, why="input must be positive")),
    "erf": (_erf, lambda x, y: _2_SQRT_PI * F.exp(-x * x), None),
    "erfc": (_erfc, lambda x, y: -_2_SQRT_PI * F.exp(-x * x), None),
    "normal_cdf": (_ndtr, lambda x, y: _1_SQRT_2PI * F.exp(-0.5 * x * x), None),
    "normal_logpdf": (lambda x: -0.5 * x * x - _LOG_SQRT_2PI, lambda x, y: -x, None),
    "sign": (np.sign, _ZERO, None),
    "floor": (np.floor, _ZERO, None),
    "ceil": (np.ceil, _ZERO, None),
    "round": (np.round, _ZERO, None),
    "trunc": (np.trunc, _ZERO, None),
}
_OPS = {name: Op(name, (lambda d: lambda g, y, x: (g * d(x, y),))(d)) for name, (_, d, _) in RULES.items()}


def _hypot_share(a, y):
    y0 = data(y) == 0
    return F.where(y0, 0.0, a / F.where(y0, 1.0, y)) if y0.any() else a / y


def _floor_q(a, b):
    return np.floor(data(a) / data(b))


BINARY = {  # name: (forward, vjp(g, y, a, b))
    "logaddexp": (np.logaddexp, lambda g, y, a, b: (g * F.exp(a - y), g * F.exp(b - y))),
    "hypot": (np.hypot, lambda g, y, a, b: (g * _hypot_share(a, y), g * _hypot_share(b, y))),
    "arctan2": (np.arctan2, lambda g, y, a, b: (g * b / (a * a + b * b), -g * a / (a * a + b * b))),
    "mod": (np.mod, lambda g, y, a, b: (g, -g * _floor_q(a, b))),
    "fmod": (np.fmod, lambda g, y, a, b: (g, -g * np.trunc(data(a) / data(b)))),
    "floordiv": (np.floor_divide, lambda g, y, a, b: (0.0 * g, 0.0 * g)),
}
_BOPS = {name: Op(name, vjp) for name, (_, vjp) in BINARY.items()}


class Elementwise(TensorBase):
    __slots__ = ()

    def _unary(self, name):
        fwd, _, dom = RULES[name]
        x = self.data
        if dom is not None:
            bad, why = dom(x, self.requires_grad)
            if bad.any():
                raise domain_error(name, why, bad, x)
        with np.errstate(over="ignore"):
            return self._make(fwd(x), (self,), _OPS[name])

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
        return self._binary(other, BINARY[name][0], _BOPS[name])

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
