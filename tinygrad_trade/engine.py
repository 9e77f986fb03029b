"""`Value`: a scalar that records the computation graph, micrograd-style.

Each operation below is one row: its forward (on floats) and its vector-Jacobian rule
``vjp(g, y, *xs)``, side by side. The rule receives plain floats during an ordinary backward
sweep and `Value` nodes when ``create_graph=True``, so it is written with arithmetic and the two
dispatch helpers ``_sigmoid`` / ``_log`` that work on both. The sweep itself lives in
:mod:`tinygrad_trade.graph`, shared with the Tensor engine.

Conventions at kinks: ``relu'(0) = 0`` and ``abs'(0) = 0`` (the subgradient PyTorch uses).
"""
from __future__ import annotations

import math

from .graph import Op, _GradMode, backprop

__all__ = ["Value"]


# --- numerically careful float kernels ---------------------------------------------------

def _sigmoid_f(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus_f(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _exp_f(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:  # as numpy: exp of a huge number is inf, not an exception
        return math.inf


def _sigmoid(x):
    return x.sigmoid() if isinstance(x, Value) else _sigmoid_f(x)


def _log(x):
    return x.log() if isinstance(x, Value) else math.log(x)


def _step(x) -> float:
    """1.0 where x > 0 else 0.0: a constant, also inside create_graph sweeps."""
    return 1.0 if (x.data if isinstance(x, Value) else x) > 0.0 else 0.0


def _sign(x) -> float:
    d = x.data if isinstance(x, Value) else x
    return 1.0 if d > 0.0 else (-1.0 if d < 0.0 else 0.0)


def _domain(op: str, why: str, x) -> ValueError:
    return ValueError(f"{op}: {why}, got {x!r}")


# --- the op table: name and vjp(g, y, *xs); forwards are in the methods below ---------------
ADD = Op("+", lambda g, y, a, b: (g, g))
SUB = Op("-", lambda g, y, a, b: (g, -g))
MUL = Op("*", lambda g, y, a, b: (g * b, g * a))
DIV = Op("/", lambda g, y, a, b: (g / b, -g * y / b))
NEG = Op("neg", lambda g, y, x: (-g,))
POWV = Op("**", lambda g, y, a, b: (g * b * a ** (b - 1.0), g * y * _log(a)))
EXP = Op("exp", lambda g, y, x: (g * y,))
LOG = Op("log", lambda g, y, x: (g / x,))
TANH = Op("tanh", lambda g, y, x: (g * (1.0 - y * y),))
SIGMOID = Op("sigmoid", lambda g, y, x: (g * y * (1.0 - y),))
RELU = Op("relu", lambda g, y, x: (g * _step(x),))
SOFTPLUS = Op("softplus", lambda g, y, x: (g * _sigmoid(x),))
SQRT = Op("sqrt", lambda g, y, x: (g * 0.5 / y,))
ABS = Op("abs", lambda g, y, x: (g * _sign(x),))


def _pow_op(c: float) -> Op:
    """x ** c for a constant c (the exponent is not a graph input)."""
    e = 0.0 if c == 0.0 else c - 1.0  # x ** 0 has derivative 0, also at x = 0 where x ** -1 fails
    return Op(f"**{c:g}", lambda g, y, x: (g * c * x ** e,))


_new = object.__new__


class Value:
    """A float that remembers how it was computed, so gradients can flow back through it."""

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_g")

    def __init__(self, data, label: str = ""):
        if isinstance(data, Value):
            data = data.data
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"Value needs a real number, got {type(data).__name__} {data!r}") from None
        self.grad = 0.0
        self.label = label
        self._prev = ()
        self._op = None
        self._g = None

    # -- arithmetic ----------------------------------------------------------------------
    def __add__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        return _make(self.data + other.data, (self, other), ADD)

    def __radd__(self, other):
        return _const(other) + self

    def __sub__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        return _make(self.data - other.data, (self, other), SUB)

    def __rsub__(self, other):
        return _const(other) - self

    def __mul__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        return _make(self.data * other.data, (self, other), MUL)

    def __rmul__(self, other):
        return _const(other) * self

    def __truediv__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        if other.data == 0.0:
            raise ZeroDivisionError(f"/: division by zero ({self.data!r} / 0.0)")
        return _make(self.data / other.data, (self, other), DIV)

    def __rtruediv__(self, other):
        return _const(other) / self

    def __neg__(self):
        return _make(-self.data, (self,), NEG)

    def __pow__(self, other):
        x = self.data
        if isinstance(other, Value):
            if not x > 0.0:
                raise _domain("**", "Value ** Value needs a positive base (d/d exponent is y*log(base))", x)
            return _make(x ** other.data, (self, other), POWV)
        c = float(other)
        if x == 0.0 and c < 0.0:
            raise _domain("**", f"0 ** {c:g} is undefined (division by zero)", x)
        if x < 0.0 and not c.is_integer():
            raise _domain("**", f"a negative base to the non-integer power {c:g} is not real", x)
        if x == 0.0 and 0.0 < c < 1.0 and _GradMode.enabled:
            raise _domain("**", f"the derivative of x ** {c:g} at x = 0 is infinite", x)
        return _make(x ** c, (self,), _pow_op(c))

    def __rpow__(self, other):
        c = float(other)
        if not c > 0.0:
            raise _domain("**", "number ** Value needs a positive base", c)
        return (self * math.log(c)).exp()

    # -- elementary functions -------------------------------------------------------------
    def exp(self):
        return _make(_exp_f(self.data), (self,), EXP)

    def log(self):
        if not self.data > 0.0:
            raise _domain("log", "input must be positive", self.data)
        return _make(math.log(self.data), (self,), LOG)

    def tanh(self):
        return _make(math.tanh(self.data), (self,), TANH)

    def sigmoid(self):
        return _make(_sigmoid_f(self.data), (self,), SIGMOID)

    def relu(self):
        return _make(self.data if self.data > 0.0 else 0.0, (self,), RELU)

    def softplus(self):
        return _make(_softplus_f(self.data), (self,), SOFTPLUS)

    def sqrt(self):
        if not self.data > 0.0:
            raise _domain("sqrt", "input must be positive (the derivative at 0 is infinite)", self.data)
        return _make(math.sqrt(self.data), (self,), SQRT)

    def abs(self):
        return _make(abs(self.data), (self,), ABS)

    __abs__ = abs

    # -- gradients ------------------------------------------------------------------------
    def backward(self):
        """Accumulate d(self)/d(node) into ``node.grad`` for every node reachable from self."""
        backprop(self, 1.0)

    def detach(self) -> "Value":
        """A copy of the value with no history."""
        return Value(self.data, label=self.label)

    # hooks used by the shared machinery (graph.py)
    def _vjp(self, g, create_graph):
        prev = self._prev
        if create_graph:
            return self._op.vjp(g, self, *prev)
        if len(prev) == 2:
            return self._op.vjp(g, self.data, prev[0].data, prev[1].data)
        return self._op.vjp(g, self.data, prev[0].data)

    def _accumulate(self, g):
        self.grad += g

    def _seed(self, grad_output, create_graph):
        s = 1.0 if grad_output is None else float(grad_output)
        return Value(s) if create_graph else s

    def _as_grad(self, g, create_graph):
        return g

    def _zero_grad_like(self, create_graph):
        return Value(0.0) if create_graph else 0.0

    # -- conveniences ---------------------------------------------------------------------
    @property
    def op(self) -> str:
        """Name of the operation that produced this value ('' for a leaf)."""
        return self._op.name if self._op is not None else ""

    def __float__(self):
        return self.data

    def __repr__(self):
        lab = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{lab})"

    def _repr_mimebundle_(self, include=None, exclude=None):  # Jupyter: repr + the graph as SVG
        from .viz.notebook import mimebundle
        return mimebundle(self, include, exclude)


def _make(data: float, prev: tuple, op: Op) -> Value:
    """A new node; its history is kept only while gradients are being recorded."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    v._g = None
    if _GradMode.enabled:
        v._prev = prev
        v._op = op
    else:
        v._prev = ()
        v._op = None
    return v


def _const(x) -> Value:
    if isinstance(x, Value):
        return x
    v = _new(Value)
    try:
        v.data = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"cannot combine a Value with {type(x).__name__} {x!r}") from None
    v.grad = 0.0
    v.label = ""
    v._prev = ()
    v._op = None
    v._g = None
    return v
