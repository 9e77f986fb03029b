"""Elementwise functions: each one's forward and its local derivative, side by side, by family.

A rule here is written once and serves both engines. ``partials(y, *xs)`` gives ``dy/dx_i`` for
each input and is made of arithmetic and the dispatch helpers below, which accept a float, a
numpy array, or a graph node (`Value` or `Tensor`, through its method of the same name). So the
same line is evaluated

- on floats when a `Value` node is made (a plain ``backward()`` is then only multiply-adds),
- on numpy arrays by a `Tensor`'s ``vjp`` (``g * dy/dx``, what :class:`~.graph.Op` derives),
- on graph nodes under ``create_graph=True``, which is what makes second derivatives work.

Each rule also carries its forward twice, ``scalar`` (``math``, on a float) and ``array``
(numpy), and the points outside its domain (``bad(x)``, true there, works on floats and arrays).
Floats follow numpy: overflow gives ``inf`` (``sinh(1000)``), NaN in gives NaN out, and an input
outside the domain is a ``ValueError`` naming the function and the value (log of a negative, or
a boundary where the derivative is infinite: ``sqrt(0)``, ``arcsin(1)``, ``acosh(1)``).

Conventions at kinks (PyTorch's): ``relu'(0) = 0``, ``abs'(0) = 0``, ``leaky_relu'(0) = slope``,
``elu'(0) = alpha`` (the left side), ``hardtanh'`` is 0 at the bounds, ``hypot'(0, 0) = (0, 0)``.
Piecewise-constant functions (sign, floor, ceil, round, trunc, ``//``) have zero gradient;
``a % b = a - b * floor(a / b)`` has ``(1, -floor(a / b))``, as ``torch.remainder``, and
``fmod(a, b)`` has ``(1, -trunc(a / b))``. Names follow numpy (``arcsinh``). The Tensor engine
(:mod:`tinygrad_trade.ops`) applies these same rules, ``array`` forward and ``partials``, for every
function both engines have, so expressions run on both and each derivative is written here only.
"""
from __future__ import annotations

import math

import numpy as np

from .graph import Op

__all__ = ["Elementwise", "UNARY", "BINARY", "leaky_relu", "elu", "hardtanh", "softplus_beta", "gelu"]

_ARRAY = (np.ndarray, np.generic)
LN2, LN10 = math.log(2.0), math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SQRT1_2 = math.sqrt(0.5)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_C = 0.044715


class Elementwise(Op):
    """An elementwise op: ``scalar``/``array`` forwards, ``partials``, and its domain.

    ``bad(*xs)`` is true (elementwise for arrays) outside the domain, where ``why`` says what
    is wrong; None when the function is defined everywhere. ``edge(*xs)`` marks points where the
    function is defined but its derivative is not (``arcsin(1)``): refused only while a graph
    is being recorded.
    """

    __slots__ = ("scalar", "array", "bad", "why", "edge")

    def __init__(self, name, scalar, array, partials, bad=None, why="", edge=None):
        super().__init__(name, partials=partials)
        self.scalar, self.array, self.bad, self.why, self.edge = scalar, array, bad, why, edge


# --- dispatch helpers: the same call on a float, a numpy array, or a graph node ---------------

def _data(x):
    c = x.__class__
    if c is float or c is np.ndarray:
        return x
    return x.data if hasattr(x, "_prev") else x


def _dispatch(name, on_float, on_array, overflows=False):
    """``overflows``: the array function may overflow to inf (silenced, as on floats); the others
    skip numpy's errstate, which costs about a microsecond a call."""
    def f(x):
        if x.__class__ is float:
            return on_float(x)
        if isinstance(x, _ARRAY):
            if not overflows:
                return on_array(x)
            with np.errstate(over="ignore"):
                return on_array(x)
        return getattr(x, name)()
    f.__name__ = name
    return f


def _overflow_to_inf(fn):
    """``fn`` on a float, returning +-inf (as numpy) where ``math`` raises OverflowError."""
    def f(x):
        try:
            return fn(x)
        except OverflowError:
            return math.copysign(math.inf, x) if fn is not math.cosh else math.inf
    f.__name__ = fn.__name__
    return f


def _finite_only(fn):
    """``fn`` on a float, NaN at +-inf (as numpy's sin/cos/tan) where ``math`` raises."""
    def f(x):
        return fn(x) if not math.isinf(x) else math.nan
    f.__name__ = fn.__name__
    return f


def _sigmoid_f(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_np(x):
    e = np.exp(-np.abs(x))  # exp of a non-positive number only: stable for any x
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus_f(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|; NaN stays NaN
    return (x if x > 0.0 else (x if x != x else 0.0)) + math.log1p(math.exp(-abs(x)))


def _softplus_np(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _ndtr_f(x: float) -> float:
    return 0.5 * math.erfc(-x * SQRT1_2)  # erfc keeps the left tail accurate (no 1 - tiny)


_erf_np = np.frompyfunc(math.erf, 1, 1)
_erfc_np = np.frompyfunc(math.erfc, 1, 1)


def _ufunc(pyfunc):
    return lambda x: np.asarray(pyfunc(x), dtype=np.result_type(x, np.float32))  # also on 0-d (a float)


def _ndtr_np(x):
    return 0.5 * _ufunc(_erfc_np)(-x * SQRT1_2)


def _round_f(fn):
    def f(x):
        return float(fn(x)) if math.isfinite(x) else x  # math.floor(inf/nan) raises: keep them
    f.__name__ = fn.__name__
    return f


def _sign_f(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else x)  # sign(0) = 0, sign(nan) = nan


_exp_f = _overflow_to_inf(math.exp)
exp = _dispatch("exp", _exp_f, np.exp, overflows=True)
log = _dispatch("log", math.log, np.log)
sqrt = _dispatch("sqrt", math.sqrt, np.sqrt)
sin = _dispatch("sin", _finite_only(math.sin), np.sin)
cos = _dispatch("cos", _finite_only(math.cos), np.cos)
sinh = _dispatch("sinh", _overflow_to_inf(math.sinh), np.sinh, overflows=True)
cosh = _dispatch("cosh", _overflow_to_inf(math.cosh), np.cosh, overflows=True)
tanh = _dispatch("tanh", math.tanh, np.tanh)
sigmoid = _dispatch("sigmoid", _sigmoid_f, _sigmoid_np)
softplus = _dispatch("softplus", _softplus_f, _softplus_np)
normal_cdf = _dispatch("normal_cdf", _ndtr_f, _ndtr_np)
sign = _dispatch("sign", _sign_f, np.sign)


def where(cond, a, b):
    """``a`` where ``cond`` else ``b``; ``cond`` (a bool or bool array) is read off the data."""
    if cond.__class__ is bool or cond.__class__ is np.bool_:
        return a if cond else b
    for t in (a, b):
        if hasattr(t, "_prev"):
            return type(t).where(cond, a, b)
    return np.where(cond, a, b)


def _const(x, mask):
    """The boolean ``mask`` as a constant 1.0/0.0 in ``x``'s float type (not differentiated)."""
    if mask.__class__ is bool or mask.__class__ is np.bool_:
        return 1.0 if mask else 0.0
    d = _data(x)
    return mask.astype(d.dtype if d.dtype.kind == "f" else np.float64)


def step(x):
    """1 where x > 0 else 0 (NaN: 0), a constant."""
    return _const(x, _data(x) > 0.0)


def hypot(a, b):
    if a.__class__ is float and b.__class__ is float:
        return math.hypot(a, b)
    if hasattr(a, "_prev"):
        return a.hypot(b)
    if hasattr(b, "_prev"):
        return b.hypot(a)
    return np.hypot(a, b)


def _ew(name, scalar, array, partials, bad=None, why="", edge=None):
    return Elementwise(name, scalar, array, partials, bad, why, edge)


# --- exponentials and logarithms --------------------------------------------------------------
EXP = _ew("exp", _exp_f, np.exp, lambda y, x: (y,))
EXPM1 = _ew("expm1", _overflow_to_inf(math.expm1), np.expm1, lambda y, x: (y + 1.0,))
LOG = _ew("log", math.log, np.log, lambda y, x: (1.0 / x,), lambda x: x <= 0.0, "input must be positive")
LOG2 = _ew("log2", math.log2, np.log2, lambda y, x: (1.0 / (x * LN2),), lambda x: x <= 0.0,
           "input must be positive")
LOG10 = _ew("log10", math.log10, np.log10, lambda y, x: (1.0 / (x * LN10),), lambda x: x <= 0.0,
            "input must be positive")
LOG1P = _ew("log1p", math.log1p, np.log1p, lambda y, x: (1.0 / (1.0 + x),), lambda x: x <= -1.0,
            "input must be greater than -1")
SQRT = _ew("sqrt", math.sqrt, np.sqrt, lambda y, x: (0.5 / y,), lambda x: x < 0.0,
           "input must be non-negative (positive for a gradient: the derivative at 0 is infinite)",
           lambda x: x == 0.0)

# --- trigonometric ----------------------------------------------------------------------------
SIN = _ew("sin", _finite_only(math.sin), np.sin, lambda y, x: (cos(x),))
COS = _ew("cos", _finite_only(math.cos), np.cos, lambda y, x: (-sin(x),))
TAN = _ew("tan", _finite_only(math.tan), np.tan, lambda y, x: (1.0 + y * y,))
ARCSIN = _ew("arcsin", math.asin, np.arcsin, lambda y, x: (1.0 / sqrt((1.0 - x) * (1.0 + x)),),
             lambda x: abs(x) > 1.0, "input must be in [-1, 1] (in (-1, 1) for a gradient)",
             lambda x: abs(x) == 1.0)
ARCCOS = _ew("arccos", math.acos, np.arccos, lambda y, x: (-1.0 / sqrt((1.0 - x) * (1.0 + x)),),
             lambda x: abs(x) > 1.0, "input must be in [-1, 1] (in (-1, 1) for a gradient)",
             lambda x: abs(x) == 1.0)
ARCTAN = _ew("arctan", math.atan, np.arctan, lambda y, x: (1.0 / (1.0 + x * x),))

# --- hyperbolic -------------------------------------------------------------------------------
SINH = _ew("sinh", _overflow_to_inf(math.sinh), np.sinh, lambda y, x: (cosh(x),))
COSH = _ew("cosh", _overflow_to_inf(math.cosh), np.cosh, lambda y, x: (sinh(x),))
TANH = _ew("tanh", math.tanh, np.tanh, lambda y, x: (1.0 - y * y,))
ARCSINH = _ew("arcsinh", math.asinh, np.arcsinh, lambda y, x: (1.0 / hypot(x, 1.0),))  # no x*x overflow
ARCCOSH = _ew("arccosh", math.acosh, np.arccosh, lambda y, x: (1.0 / sqrt((x - 1.0) * (x + 1.0)),),
              lambda x: x < 1.0, "input must be >= 1 (> 1 for a gradient)", lambda x: x == 1.0)
ARCTANH = _ew("arctanh", math.atanh, np.arctanh, lambda y, x: (1.0 / ((1.0 - x) * (1.0 + x)),),
              lambda x: abs(x) >= 1.0, "input must be in (-1, 1)")

# --- error function and the standard normal distribution ---------------------------------------
ERF = _ew("erf", math.erf, _ufunc(_erf_np), lambda y, x: (TWO_OVER_SQRT_PI * exp(-x * x),))
ERFC = _ew("erfc", math.erfc, _ufunc(_erfc_np), lambda y, x: (-TWO_OVER_SQRT_PI * exp(-x * x),))
NORMAL_CDF = _ew("normal_cdf", _ndtr_f, _ndtr_np, lambda y, x: (INV_SQRT_2PI * exp(-0.5 * x * x),))
NORMAL_LOGPDF = _ew("normal_logpdf", lambda x: -0.5 * x * x - LOG_SQRT_2PI,
                    lambda x: -0.5 * x * x - LOG_SQRT_2PI, lambda y, x: (-x,))

# --- activations ------------------------------------------------------------------------------
SIGMOID = _ew("sigmoid", _sigmoid_f, _sigmoid_np, lambda y, x: (y * (1.0 - y),))
LOGSIGMOID = _ew("logsigmoid", lambda x: -_softplus_f(-x), lambda x: -_softplus_np(-x),
                 lambda y, x: (sigmoid(-x),))
SOFTPLUS = _ew("softplus", _softplus_f, _softplus_np, lambda y, x: (sigmoid(x),))
RELU = _ew("relu", lambda x: 0.0 if x <= 0.0 else x, lambda x: np.maximum(x, 0.0),
           lambda y, x: (step(x),))
SILU = _ew("silu", lambda x: x * _sigmoid_f(x), lambda x: x * _sigmoid_np(x),
           lambda y, x: (sigmoid(x) * (1.0 - y) + y,))  # s + x s (1 - s) = s (1 - y) + y
SELU = _ew("selu", lambda x: SELU_SCALE * (x if x > 0.0 else SELU_ALPHA * math.expm1(x)),
           lambda x: SELU_SCALE * np.where(x > 0.0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
           lambda y, x: (where(_data(x) > 0.0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA),))
SOFTSIGN = _ew("softsign", lambda x: x / (1.0 + abs(x)), lambda x: x / (1.0 + np.abs(x)),
               lambda y, x: (1.0 / ((1.0 + abs(x)) * (1.0 + abs(x))),))


def _mish_partials(y, x):
    t = tanh(softplus(x))
    return (t + x * (1.0 - t * t) * sigmoid(x),)


MISH = _ew("mish", lambda x: x * math.tanh(_softplus_f(x)), lambda x: x * np.tanh(_softplus_np(x)),
           _mish_partials)
GELU = _ew("gelu", lambda x: x * _ndtr_f(x), lambda x: x * _ndtr_np(x),
           lambda y, x: (normal_cdf(x) + x * INV_SQRT_2PI * exp(-0.5 * x * x),))


def _gelu_tanh_partials(y, x):
    t = tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x))
    return (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x * x),)


GELU_TANH = _ew("gelu_tanh", lambda x: 0.5 * x * (1.0 + math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x ** 3))),
                lambda x: 0.5 * x * (1.0 + np.tanh(SQRT_2_OVER_PI * (x + GELU_C * x ** 3))),
                _gelu_tanh_partials)


def gelu(approximate="none") -> Elementwise:
    """``x * Phi(x)`` (``"none"``) or PyTorch's tanh approximation (``"tanh"``)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU if approximate == "none" else GELU_TANH


_PARAM_CACHE: dict = {}


def _cached(key, make):
    op = _PARAM_CACHE.get(key)
    if op is None:
        if len(_PARAM_CACHE) > 4096:
            _PARAM_CACHE.clear()
        op = _PARAM_CACHE[key] = make()
    return op


def _param(name, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def leaky_relu(negative_slope=0.01) -> Elementwise:
    """``x`` for x > 0, ``negative_slope * x`` otherwise."""
    a = _param("leaky_relu: negative_slope", negative_slope)
    return _cached(("leaky_relu", a), lambda: _ew(
        "leaky_relu", lambda x: x if x > 0.0 else a * x, lambda x: np.where(x > 0.0, x, a * x).astype(x.dtype),
        lambda y, x: (a + (1.0 - a) * step(x),)))


def elu(alpha=1.0) -> Elementwise:
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    a = _param("elu: alpha", alpha)
    return _cached(("elu", a), lambda: _ew(
        "elu", lambda x: x if x > 0.0 else a * math.expm1(x),
        lambda x: np.where(x > 0.0, x, a * np.expm1(np.minimum(x, 0.0))).astype(x.dtype),
        lambda y, x: (where(_data(x) > 0.0, 1.0, y + a),)))


def hardtanh(min_val=-1.0, max_val=1.0) -> Elementwise:
    """``x`` clipped to ``[min_val, max_val]``; gradient 1 strictly inside, 0 elsewhere."""
    lo, hi = _param("hardtanh: min_val", min_val), _param("hardtanh: max_val", max_val)
    if not lo < hi:
        raise ValueError(f"hardtanh: min_val must be below max_val, got {lo!r} and {hi!r}")

    def inside(y, x):
        d = _data(x)
        return (_const(x, (d > lo) & (d < hi)),)
    return _cached(("hardtanh", lo, hi), lambda: _ew(
        "hardtanh", lambda x: lo if x < lo else (hi if x > hi else x), lambda x: np.clip(x, lo, hi), inside))


def softplus_beta(beta=1.0) -> Elementwise:
    """``log(1 + exp(beta * x)) / beta`` (exactly, with no linear cut-off); beta must be > 0."""
    b = _param("softplus: beta", beta)
    if not b > 0.0:
        raise ValueError(f"softplus: beta must be positive, got {b!r}")
    if b == 1.0:
        return SOFTPLUS
    return _cached(("softplus", b), lambda: _ew(
        "softplus", lambda x: _softplus_f(b * x) / b, lambda x: _softplus_np(b * x) / b,
        lambda y, x: (sigmoid(b * x),)))


# --- piecewise constant: zero gradient ----------------------------------------------------------
_ZERO = (0.0,)
SIGN = _ew("sign", _sign_f, np.sign, _ZERO)
FLOOR = _ew("floor", _round_f(math.floor), np.floor, _ZERO)
CEIL = _ew("ceil", _round_f(math.ceil), np.ceil, _ZERO)
ROUND = _ew("round", _round_f(round), np.round, _ZERO)  # half to even, as numpy
TRUNC = _ew("trunc", _round_f(math.trunc), np.trunc, _ZERO)
ABS = _ew("abs", abs, np.abs, lambda y, x: (sign(x),))  # abs'(0) = 0; NaN in, NaN gradient

# --- binary functions ---------------------------------------------------------------------------


def _logaddexp_f(a: float, b: float) -> float:
    if a == b:  # also inf, inf (where a - b is nan)
        return a + LN2
    m = a if a > b else b
    return m + math.log1p(math.exp(-abs(a - b)))


def _hypot_partials(y, a, b):
    zero = _data(y) == 0.0
    if zero.__class__ is bool:
        return (0.0, 0.0) if zero else (a / y, b / y)
    s = where(zero, 1.0, y)
    return where(zero, 0.0, a / s), where(zero, 0.0, b / s)


def _floor_f(x):
    return float(math.floor(x)) if math.isfinite(x) else x


def _mod_partials(y, a, b):
    q = _data(a) / _data(b)
    return 1.0, -(_floor_f(q) if q.__class__ is float else np.floor(q))


def _fmod_partials(y, a, b):
    q = _data(a) / _data(b)
    return 1.0, -(float(math.trunc(q)) if q.__class__ is float and math.isfinite(q) else np.trunc(q))


def _fmod_f(a: float, b: float) -> float:
    return math.fmod(a, b) if math.isfinite(a) else math.nan


def _arctan2_partials(y, a, b):
    r2 = a * a + b * b
    return b / r2, -a / r2


LOGADDEXP = _ew("logaddexp", _logaddexp_f, np.logaddexp, lambda y, a, b: (sigmoid(a - b), sigmoid(b - a)))
HYPOT = _ew("hypot", math.hypot, np.hypot, _hypot_partials)
ARCTAN2 = _ew("arctan2", math.atan2, np.arctan2, _arctan2_partials, edge=lambda a, b: a == 0.0 and b == 0.0)
MOD = _ew("mod", lambda a, b: a % b, np.mod, _mod_partials, lambda a, b: b == 0.0, "division by zero")
FMOD = _ew("fmod", _fmod_f, np.fmod, _fmod_partials, lambda a, b: b == 0.0, "division by zero")
FLOORDIV = _ew("floordiv", lambda a, b: a // b, np.floor_divide, (0.0, 0.0), lambda a, b: b == 0.0,
               "division by zero")

UNARY = {op.name: op for op in (
    EXP, EXPM1, LOG, LOG2, LOG10, LOG1P, SQRT, SIN, COS, TAN, ARCSIN, ARCCOS, ARCTAN, SINH, COSH, TANH,
    ARCSINH, ARCCOSH, ARCTANH, ERF, ERFC, NORMAL_CDF, NORMAL_LOGPDF, SIGMOID, LOGSIGMOID, SOFTPLUS, RELU, SILU,
    SELU, SOFTSIGN, MISH, GELU, GELU_TANH, SIGN, FLOOR, CEIL, ROUND, TRUNC, ABS)}
BINARY = {op.name: op for op in (LOGADDEXP, HYPOT, ARCTAN2, MOD, FMOD, FLOORDIV)}
