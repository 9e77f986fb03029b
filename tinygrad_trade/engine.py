"""`Value`: a scalar that records the computation graph, micrograd-style.

A node stores, besides its value, its *local partial derivatives*: the floats ``dy/dx_i``, one
per input, evaluated by the op's ``partials`` rule when the node is made. A plain ``backward()``
is then a loop of multiply-adds over the graph (see :mod:`tinygrad_trade.graph`, shared with the
Tensor engine), with no rule calls. Under ``create_graph=True`` the same rule is evaluated again
on `Value` nodes, so the gradients it returns can be differentiated again.

Arithmetic is below (each op's rule in the table just above the class, its forward in the
method). Every other function (exp, log, trig, hyperbolic, erf and the normal distribution,
activations, rounding) is a rule of :mod:`tinygrad_trade.functions`, written once for both
engines; the methods here only apply it.

Floats behave as numpy's: overflow gives ``inf`` (``Value(1e308) ** 2``, ``exp(1000)``), NaN
propagates (``Value(nan).relu()`` is NaN), and inputs outside a function's domain raise
``ValueError`` naming the function and the value. Conventions at kinks are listed in
:mod:`tinygrad_trade.functions` (``relu'(0) = abs'(0) = 0``, as PyTorch).
"""
from __future__ import annotations

import math

from . import anomaly
from . import functions as ew
from .graph import Op, _GradMode, backprop, display, register_hook

__all__ = ["Value", "mul_add"]

_new = object.__new__


def _pow_f(x: float, c: float) -> float:
    """``x ** c`` on floats, ``+-inf`` on overflow (as numpy) instead of OverflowError."""
    try:
        return x ** c
    except OverflowError:
        return -math.inf if (x < 0.0 and c % 2.0 == 1.0) else math.inf


def _pow(x, c):
    return _pow_f(x, c) if x.__class__ is float else x ** c


def _domain(op: str, why: str, x) -> ValueError:
    return ValueError(f"{op}: {why}, got {x!r}")


# --- arithmetic: name and partials(y, a, b); forwards are in the methods below ----------------
ADD = Op("+", partials=(1.0, 1.0))
SUB = Op("-", partials=(1.0, -1.0))
MUL = Op("*", partials=lambda y, a, b: (b, a))
DIV = Op("/", partials=lambda y, a, b: (1.0 / b, -y / b))
NEG = Op("neg", partials=(-1.0,))
POWV = Op("**", partials=lambda y, a, b: (b * _pow(a, b - 1.0), y * ew.log(a)))
_ADD_D, _SUB_D = ADD.partials, SUB.partials
_POW_OPS: dict = {}


def _pow_op(c: float) -> Op:
    """x ** c for a constant c (the exponent is not a graph input)."""
    op = _POW_OPS.get(c)
    if op is None:
        e = 0.0 if c == 0.0 else c - 1.0  # x ** 0 has derivative 0, also at x = 0 where x ** -1 fails
        op = Op(f"**{c:g}", partials=lambda y, x: (c * _pow(x, e),))
        if len(_POW_OPS) < 1024:
            _POW_OPS[c] = op
    return op


class Value:
    """A float that remembers how it was computed, so gradients can flow back through it."""

    __slots__ = ("data", "grad", "_prev", "_op", "_g", "_d", "_n", "_x")  # _x: a label, hooks (see _Extras)

    def __init__(self, data, label: str = ""):
        if isinstance(data, Value):
            data = data.data
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"Value needs a real number, got {type(data).__name__} {data!r}") from None
        self.grad = 0.0
        if label:
            self.label = label
        self._prev = ()
        self._op = None
        self._g = None
        self._d = ()
        self._n = 0

    # -- arithmetic (the three hottest ops build their node inline) --------------------------
    def __add__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        v = _new(Value)
        v.data = self.data + other.data
        v.grad = 0.0
        v._g = None
        if _GradMode.enabled:
            v._prev = (self, other)
            v._op = ADD
            v._d = _ADD_D
            da, db = self._n, other._n
            v._n = (da if da > db else db) + 1
        else:
            v._prev = v._d = ()
            v._op = None
            v._n = 0
        return v

    def __radd__(self, other):
        return _const(other) + self

    def __sub__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        v = _new(Value)
        v.data = self.data - other.data
        v.grad = 0.0
        v._g = None
        if _GradMode.enabled:
            v._prev = (self, other)
            v._op = SUB
            v._d = _SUB_D
            da, db = self._n, other._n
            v._n = (da if da > db else db) + 1
        else:
            v._prev = v._d = ()
            v._op = None
            v._n = 0
        return v

    def __rsub__(self, other):
        return _const(other) - self

    def __mul__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        v = _new(Value)
        a, b = self.data, other.data
        v.data = a * b
        v.grad = 0.0
        v._g = None
        if _GradMode.enabled:
            v._prev = (self, other)
            v._op = MUL
            v._d = (b, a)  # MUL.partials(y, a, b), inlined: this is the hottest line of the engine
            da, db = self._n, other._n
            v._n = (da if da > db else db) + 1
        else:
            v._prev = v._d = ()
            v._op = None
            v._n = 0
        return v

    def __rmul__(self, other):
        return _const(other) * self

    def __truediv__(self, other):
        if other.__class__ is not Value:
            other = _const(other)
        if other.data == 0.0:
            raise ZeroDivisionError(f"/: division by zero ({self.data!r} / 0.0)")
        return _node(self.data / other.data, (self, other), DIV, self.data, other.data)

    def __rtruediv__(self, other):
        return _const(other) / self

    def __neg__(self):
        return _node(-self.data, (self,), NEG, self.data)

    def __pow__(self, other):
        x = self.data
        if isinstance(other, Value):
            if x <= 0.0:
                raise _domain("**", "Value ** Value needs a positive base (d/d exponent is y*log(base))", x)
            return _node(_pow_f(x, other.data), (self, other), POWV, x, other.data)
        c = float(other)
        if x == 0.0 and c < 0.0:
            raise _domain("**", f"0 ** {c:g} is undefined (division by zero)", x)
        if x < 0.0 and not c.is_integer():
            raise _domain("**", f"a negative base to the non-integer power {c:g} is not real", x)
        if x == 0.0 and 0.0 < c < 1.0 and _GradMode.enabled:
            raise _domain("**", f"the derivative of x ** {c:g} at x = 0 is infinite", x)
        return _node(_pow_f(x, c), (self,), _pow_op(c), x)

    def __rpow__(self, other):
        c = float(other)
        if not c > 0.0:
            raise _domain("**", "number ** Value needs a positive base", c)
        return (self * math.log(c)).exp()

    def mod(self, other):
        """``self % other`` with the sign of ``other`` (Python's and numpy's ``%``, torch's remainder)."""
        return _binary(self, other, ew.MOD)

    def fmod(self, other):
        """C's fmod: the remainder with the sign of ``self``."""
        return _binary(self, other, ew.FMOD)

    def floordiv(self, other):
        return _binary(self, other, ew.FLOORDIV)

    def __rmod__(self, other):
        return _binary(_const(other), self, ew.MOD)

    def __rfloordiv__(self, other):
        return _binary(_const(other), self, ew.FLOORDIV)

    __mod__ = remainder = mod
    __floordiv__ = floordiv

    # -- elementwise functions: the rules are in tinygrad_trade.functions ------------------
    # exponentials and logarithms
    def exp(self): return _unary(self, ew.EXP)
    def expm1(self): return _unary(self, ew.EXPM1)
    def log(self): return _unary(self, ew.LOG)
    def log1p(self): return _unary(self, ew.LOG1P)
    def log2(self): return _unary(self, ew.LOG2)
    def log10(self): return _unary(self, ew.LOG10)
    def sqrt(self): return _unary(self, ew.SQRT)
    # trigonometric
    def sin(self): return _unary(self, ew.SIN)
    def cos(self): return _unary(self, ew.COS)
    def tan(self): return _unary(self, ew.TAN)
    def arcsin(self): return _unary(self, ew.ARCSIN)
    def arccos(self): return _unary(self, ew.ARCCOS)
    def arctan(self): return _unary(self, ew.ARCTAN)
    # hyperbolic
    def sinh(self): return _unary(self, ew.SINH)
    def cosh(self): return _unary(self, ew.COSH)
    def tanh(self): return _unary(self, ew.TANH)
    def arcsinh(self): return _unary(self, ew.ARCSINH)
    def arccosh(self): return _unary(self, ew.ARCCOSH)
    def arctanh(self): return _unary(self, ew.ARCTANH)
    asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh  # torch's names
    # the error function and the standard normal distribution
    def erf(self): return _unary(self, ew.ERF)
    def erfc(self): return _unary(self, ew.ERFC)
    def normal_cdf(self): return _unary(self, ew.NORMAL_CDF)

    def normal_logpdf(self, mean=0.0, std=1.0):
        """log density of N(mean, std**2) at self; ``mean`` and ``std`` may be Values (std > 0)."""
        if mean.__class__ is not Value and std.__class__ is not Value and mean == 0.0 and std == 1.0:
            return _unary(self, ew.NORMAL_LOGPDF)
        if _const(std).data <= 0.0:
            raise _domain("normal_logpdf", "std must be positive", _const(std).data)
        return ((self - mean) / std).normal_logpdf() - _const(std).log()

    # activations
    def sigmoid(self): return _unary(self, ew.SIGMOID)
    def logsigmoid(self): return _unary(self, ew.LOGSIGMOID)
    def softplus(self, beta=1.0): return _unary(self, ew.softplus_beta(beta))
    def relu(self): return _unary(self, ew.RELU)
    def leaky_relu(self, negative_slope=0.01): return _unary(self, ew.leaky_relu(negative_slope))
    def elu(self, alpha=1.0): return _unary(self, ew.elu(alpha))
    def selu(self): return _unary(self, ew.SELU)
    def silu(self): return _unary(self, ew.SILU)
    def gelu(self, approximate="none"): return _unary(self, ew.gelu(approximate))
    swish = silu
    def softsign(self): return _unary(self, ew.SOFTSIGN)
    def mish(self): return _unary(self, ew.MISH)
    def hardtanh(self, min_val=-1.0, max_val=1.0): return _unary(self, ew.hardtanh(min_val, max_val))
    def relu6(self): return self.hardtanh(0.0, 6.0)
    def celu(self, alpha=1.0): return (self * (1.0 / alpha)).elu() * alpha
    def hardsigmoid(self): return (self * (1.0 / 6.0) + 0.5).hardtanh(0.0, 1.0)
    def hardswish(self): return self * self.hardsigmoid()
    def tanhshrink(self): return self - self.tanh()
    # piecewise constant (zero gradient) and abs
    def sign(self): return _unary(self, ew.SIGN)
    def floor(self): return _unary(self, ew.FLOOR)
    def ceil(self): return _unary(self, ew.CEIL)
    def trunc(self): return _unary(self, ew.TRUNC)
    def abs(self): return _unary(self, ew.ABS)
    # binary
    def logaddexp(self, other): return _binary(self, other, ew.LOGADDEXP)
    def hypot(self, other): return _binary(self, other, ew.HYPOT)
    def arctan2(self, other): return _binary(self, other, ew.ARCTAN2)
    atan2 = arctan2

    def round(self, ndigits=None):
        """Round half to even (as numpy), with zero gradient; ``ndigits`` is not supported."""
        if ndigits is not None:
            raise TypeError("round: Value.round() takes no ndigits; use (x * 10 ** n).round() / 10 ** n")
        return _unary(self, ew.ROUND)

    __abs__ = abs
    __floor__ = floor
    __ceil__ = ceil
    __trunc__ = trunc
    __round__ = round

    # -- what few nodes carry, kept off the common path: label, hooks, where made -------------
    def _extras(self) -> "_Extras":
        try:
            return self._x
        except AttributeError:
            x = self._x = _Extras()
            return x

    @property
    def label(self) -> str:
        """A name for pictures and reprs ("" by default)."""
        try:
            return self._x.label
        except AttributeError:
            return ""

    @label.setter
    def label(self, text):
        self._extras().label = text

    @property
    def _hooks(self):
        try:
            return self._x.hooks
        except AttributeError:
            return None

    @_hooks.setter
    def _hooks(self, hooks):
        self._extras().hooks = hooks

    @property
    def _where(self):
        try:
            return self._x.where
        except AttributeError:
            return None

    @_where.setter
    def _where(self, where):
        self._extras().where = where

    # -- gradients ------------------------------------------------------------------------
    def backward(self):
        """Accumulate d(self)/d(node) into ``node.grad`` for every node reachable from self."""
        backprop(self, 1.0)

    def detach(self) -> "Value":
        """A copy of the value with no history."""
        return Value(self.data, label=self.label)

    register_hook = register_hook  # fn(grad) when the gradient is complete; see graph.register_hook

    # hooks used by the shared machinery (graph.py)
    def _hook_grad(self, r, g):
        """A gradient hook's return value ``r`` as a gradient (a float, or a Value under create_graph)."""
        if r.__class__ is Value:
            return r if g.__class__ is Value else r.data
        try:
            r = float(r)
        except (TypeError, ValueError):
            raise TypeError(f"register_hook: a hook returned {type(r).__name__} {r!r}, expected a number") from None
        return Value(r) if g.__class__ is Value else r

    def _vjp(self, g, create_graph):
        op = self._op
        if create_graph:
            if op.partials is None:
                return op.vjp(g, self, *self._prev)
            return [_times(g, d) for d in op.local(self, *self._prev)]
        d = self._d
        if d is not None:
            return [g * x for x in d]
        return op.vjp(g, self.data, *[p.data for p in self._prev])

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

    def _repr_mimebundle_(self, include=None, exclude=None):  # Jupyter: through the display slot (graph.py)
        return display(self, include, exclude)


class _Extras:
    """A Value's rarely used parts in one object made on demand, so a plain node is 8 slots: its
    label, its gradient hooks, and where anomaly mode saw it made."""

    __slots__ = ("label", "hooks", "where")

    def __init__(self):
        self.label, self.hooks, self.where = "", None, None


def _times(g, d):
    """``g * d`` under create_graph, skipping the node when the partial is the constant 0 or 1."""
    if d.__class__ is float:
        if d == 0.0:
            return None
        if d == 1.0:
            return g
    return g * d


def _node(data: float, prev: tuple, op: Op, *xs: float) -> Value:
    """A new node with its partials evaluated at (data, xs); history kept only while recording."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v._g = None
    if _GradMode.enabled:
        v._prev = prev
        v._op = op
        p = op.partials
        v._d = p if p.__class__ is tuple else p(data, *xs)
        v._n = max([q._n for q in prev]) + 1
    else:
        v._prev = v._d = ()
        v._op = None
        v._n = 0
    return v


def _make(data: float, prev: tuple, op: Op) -> Value:
    """A node for any Op: with ``partials`` as usual; with only a ``vjp``, that runs in the sweep."""
    if op.partials is not None:
        return _node(data, prev, op, *[p.data for p in prev])
    v = _node(data, prev, NEG)
    if _GradMode.enabled:
        v._op, v._d = op, None
    return v


def _unary(x: Value, op) -> Value:
    xd = x.data
    if op.bad is not None and (op.bad(xd) or (op.edge is not None and _GradMode.enabled and op.edge(xd))):
        raise _domain(op.name, op.why, xd)
    v = _new(Value)  # _node(op.scalar(xd), (x,), op, xd), inlined: activations are hot too
    v.data = y = op.scalar(xd)
    v.grad = 0.0
    v._g = None
    if _GradMode.enabled:
        v._prev = (x,)
        v._op = op
        p = op.partials
        v._d = p if p.__class__ is tuple else p(y, xd)
        v._n = x._n + 1
    else:
        v._prev = v._d = ()
        v._op = None
        v._n = 0
    return v


def _binary(a: Value, b, op) -> Value:
    if b.__class__ is not Value:
        b = _const(b)
    ad, bd = a.data, b.data
    if op.bad is not None and op.bad(ad, bd):
        if op.why == "division by zero":  # as Python's and Value's own ``/``
            raise ZeroDivisionError(f"{op.name}: division by zero ({ad!r}, {bd!r})")
        raise _domain(op.name, op.why, (ad, bd))
    if op.edge is not None and _GradMode.enabled and op.edge(ad, bd):
        raise _domain(op.name, "the gradient is undefined there", (ad, bd))
    return _node(op.scalar(ad, bd), (a, b), op, ad, bd)


def mul_add(acc: Value, ws, xs) -> Value:
    """``acc + ws[0] * xs[0] + ws[1] * xs[1] + ...`` (all Values), node for node as the operators make
    it: a ``*`` node and a ``+`` node per term, with the same values, partials and depths, so pictures,
    gradients and higher orders are exactly those of the loop. Built in one loop instead of two operator
    calls per term: a neuron's pre-activation, the scalar engine's hottest path."""
    if not _GradMode.enabled:
        for w, x in zip(ws, xs):
            acc = acc + w * x
        return acc
    new, V, mul, add, add_d = _new, Value, MUL, ADD, _ADD_D
    a, an = acc.data, acc._n
    for w, x in zip(ws, xs):
        wd, xd = w.data, x.data
        m = new(V)
        m.data = p = wd * xd
        m.grad = 0.0
        m._g = None
        m._prev = (w, x)
        m._op = mul
        m._d = (xd, wd)
        dw, dx = w._n, x._n
        mn = (dw if dw > dx else dx) + 1
        m._n = mn
        s = new(V)
        s.data = a = a + p
        s.grad = 0.0
        s._g = None
        s._prev = (acc, m)
        s._op = add
        s._d = add_d
        an = (an if an > mn else mn) + 1
        s._n = an
        acc = s
    return acc


def _mul_add_by_operators(acc, ws, xs):
    for w, x in zip(ws, xs):
        acc = acc + w * x
    return acc


def _const(x) -> Value:
    if isinstance(x, Value):
        return x
    v = _new(Value)
    try:
        v.data = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"cannot combine a Value with {type(x).__name__} {x!r}") from None
    v.grad = 0.0
    v._prev = v._d = ()
    v._op = None
    v._g = None
    v._n = 0
    return v


# --- anomaly mode (anomaly.py): checking constructors, swapped in only while it is on -----------
def _checked(make, name_of):
    def checked(*args):
        v = make(*args)
        anomaly.check_forward(v, [a.data if a.__class__ is Value else float(a) for a in args if _is_input(a)],
                              name_of(args))
        return v
    return checked


def _is_input(a) -> bool:
    return a.__class__ is Value or isinstance(a, (int, float))


def _checked_node(data, prev, op, *xs):
    v = _PLAIN["_node"](data, prev, op, *xs)
    anomaly.check_forward(v, [p.data for p in prev], op.name)
    return v


def _checked_init(self, data, label=""):
    _PLAIN["__init__"](self, data, label)
    self._where = anomaly.where_made()


_PLAIN = {"_node": _node, "_unary": _unary, "mul_add": mul_add, "__init__": Value.__init__,
          "__add__": Value.__add__, "__sub__": Value.__sub__, "__mul__": Value.__mul__}
_CHECKED = {"_node": _checked_node, "_unary": _checked(_unary, lambda args: args[1].name),
            "mul_add": _mul_add_by_operators,
            "__init__": _checked_init,
            "__add__": _checked(Value.__add__, lambda args: "+"), "__sub__": _checked(Value.__sub__, lambda args: "-"),
            "__mul__": _checked(Value.__mul__, lambda args: "*")}


def _anomaly_switch(on: bool) -> None:
    """Swap the checking constructors in (``on``) or the plain ones back: the off state costs nothing."""
    table = _CHECKED if on else _PLAIN
    g = globals()
    for name, fn in table.items():
        if name.startswith("__"):
            setattr(Value, name, fn)
        else:
            g[name] = fn


anomaly.on_switch(_anomaly_switch)
