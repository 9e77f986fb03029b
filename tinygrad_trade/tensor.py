"""`Tensor`: numpy-backed autodiff with full broadcasting, on the same backward machinery as `Value`.

This module is the core: construction, the arithmetic operators (``+ - * / ** @``), ``sum`` and
``mean``, the shape primitives (reshape, transpose, getitem, cat, stack, where) and the backward
hooks. Every other op lives in a family module of ``ops/`` (elementwise, activations, losses,
statistics, cumulative, shapes, linalg, interop), a mixin of `Tensor`.

Each primitive is one row: its forward (numpy) in the method and its vector-Jacobian rule
``vjp(g, y, *xs)`` in the table just above the class (or above the family's mixin). Rules see
numpy arrays in an ordinary backward sweep and `Tensor` nodes under ``create_graph=True``, so they
are written with arithmetic, ``@``, ``sum``/``reshape`` and the dispatch helper ``F``
(``ops/_base.py``), which work on both.

Gradients of broadcast operands are summed back to the operand's shape in exactly one place:
:func:`_unbroadcast`, called by ``Tensor._vjp`` for every input of every op.

Everything that is not a primitive is composed from primitives (``-``, ``mean``, ``var``,
``stack``, ``expand_dims``, ``squeeze``, 1-D ``@``, ...), so its gradient needs no rule of its own.
The ``**`` conventions: ``0 ** 0 = 1`` with torch's gradients (0 for the base and the exponent).
"""
from __future__ import annotations

import operator
from functools import lru_cache

import numpy as np

from . import anomaly
from .graph import Op, _GradMode, backprop, display, register_hook
from .ops import FAMILIES
from .ops._base import F, domain_error, first_bad, reduce_shape, scatter
from .ops._base import data as _data

__all__ = ["Tensor", "CustomOp"]

_FLOATS = (np.float64, np.float32)


# --- helpers that work on numpy arrays and on Tensors (so rules serve create_graph too) ----
# (the shared ones live in ops/_base.py, with the op families)
def _log(x):
    return x.log() if isinstance(x, Tensor) else np.log(x)


def _swap(x):
    return x.swapaxes(-1, -2)


def _unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``: the one place where broadcasting is undone."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


# --- the op table: name and vjp(g, y, *xs) ---------------------------------------------------
ADD = Op("+", lambda g, y, a, b: (g, g))
SUB = Op("-", lambda g, y, a, b: (g, -g))
MUL = Op("*", lambda g, y, a, b: (g * b, g * a))
DIV = Op("/", lambda g, y, a, b: (g / b, -g * y / b))
NEG = Op("neg", lambda g, y, x: (-g,))


def _powv_vjp(g, y, a, b):
    ad = _data(a)
    if not (ad == 0).any():
        return (g * b * a ** (b - 1.0), g * y * _log(a))
    # a zero base (with b >= 0): torch's gradients, d/da 0**0 = 0 and d/db = 0
    base = F.where((ad == 0) & (_data(b) == 0), 1.0, a)
    return (g * b * base ** (b - 1.0), g * y * _log(F.where(ad == 0, 1.0, a)))


POWV = Op("**", _powv_vjp)
MATMUL = Op("@", lambda g, y, a, b, need=(True, True): (g @ _swap(b) if need[0] else None,
                                                         _swap(a) @ g if need[1] else None), selective=True)


def _pow_op(c):
    """x ** c for a constant exponent c (a number or an array, not a graph input)."""
    label = f"**{c:g}" if np.ndim(c) == 0 else "**c"
    # where c == 0 the derivative is 0, also at x = 0: use x ** 0 there, not x ** -1 (0 * inf = nan)
    e = np.where(c == 0, 0.0, c - 1.0) if np.ndim(c) else (0.0 if c == 0 else c - 1.0)
    return Op(label, lambda g, y, x: (g * c * x ** e,))


@lru_cache(maxsize=1024)
def _sum_op(shape, axis, keepdims):
    _, kshape = reduce_shape(shape, axis, keepdims)
    return Op("sum", lambda g, y, x: (F.broadcast_to(g.reshape(kshape), shape),))


@lru_cache(maxsize=1024)
def _reshape_op(shape):
    return Op("reshape", lambda g, y, x: (g.reshape(shape),))


def _transpose_op(axes):
    inv = tuple(np.argsort(axes))
    return Op("transpose", lambda g, y, x: (g.transpose(inv),))


def _getitem_op(shape, index):
    return Op("getitem", lambda g, y, x: (_scatter(g, shape, index),))


_scatter = scatter


def _cat_op(sizes, axis):
    bounds = np.cumsum((0,) + tuple(sizes))

    def vjp(g, y, *xs):
        sl = [slice(None)] * len(_data(y).shape)
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            sl[axis] = slice(int(lo), int(hi))
            out.append(g[tuple(sl)])
        return tuple(out)
    return Op("cat", vjp)


def _where_op(cond):
    return Op("where", lambda g, y, a, b: (F.where(cond, g, 0.0), F.where(cond, 0.0, g)))


_new = object.__new__


class Tensor(*FAMILIES):
    """An n-dimensional float array that records the computation graph.

    The core ops are defined here; each family of further ops (elementwise, activations, losses,
    statistics, cumulative, shapes, linear algebra, numpy interop) is a mixin in ``ops/``.
    """

    __slots__ = ("data", "grad", "requires_grad", "label", "_prev", "_op", "_g", "_hooks", "_where")

    def __init__(self, data, requires_grad: bool = False, dtype=None, label: str = ""):
        if isinstance(data, Tensor):
            data = data.data
        dtype = np.dtype(np.float64 if dtype is None else dtype)
        if dtype.type not in _FLOATS:
            raise TypeError(f"Tensor dtype must be float64 or float32, got {dtype}")
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            raise TypeError("Tensor(...) of a list of Tensors would drop their graph: use Tensor.stack(list)")
        try:
            arr = data if isinstance(data, np.ndarray) else np.asarray(data)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Tensor needs numeric data: {e}") from None
        if arr.dtype.kind == "O" and arr.size and any(isinstance(d, Tensor) for d in arr.flat):
            raise TypeError("Tensor(...) of an array of Tensors (np.array([...]) of Tensors) would drop their "
                            "graph: use Tensor.stack([...])")
        if arr.dtype.kind not in "biuf":
            what = {"c": "complex", "O": "object (mixed or non-numeric)"}.get(arr.dtype.kind, str(arr.dtype))
            raise TypeError(f"Tensor needs real numeric data, got {what} data")
        self.data = np.array(arr, dtype=dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.label = label
        self._prev = ()
        self._op = None
        self._g = None

    # -- graph construction ----------------------------------------------------------------
    @staticmethod
    def _make(data, prev, op) -> "Tensor":
        t = _new(Tensor)
        t.data = data if data.__class__ is np.ndarray else np.asarray(data)
        t.grad = None
        t.label = ""
        t._g = None
        if _GradMode.enabled and (prev[0].requires_grad or any(p.requires_grad for p in prev)):
            t.requires_grad = True
            t._prev = prev
            t._op = op
        else:
            t.requires_grad = False
            t._prev = ()
            t._op = None
        return t

    def _lift(self, x) -> "Tensor":
        """A constant Tensor for a number or array, in this tensor's dtype for plain numbers."""
        if isinstance(x, Tensor):
            return x
        t = _new(Tensor)
        if isinstance(x, np.ndarray) and x.dtype.type in _FLOATS:
            t.data = x
        else:
            try:
                t.data = np.asarray(x, dtype=self.data.dtype)
            except (TypeError, ValueError):
                raise TypeError(f"cannot combine a Tensor with {type(x).__name__} {x!r}") from None
        t.grad = None
        t.requires_grad = False
        t.label = ""
        t._prev = ()
        t._op = None
        t._g = None
        return t

    def _binary(self, other, fn, op) -> "Tensor":
        """An elementwise binary op with numpy broadcasting; a shape mismatch names the op."""
        other = self._lift(other)
        try:
            out = fn(self.data, other.data)
        except ValueError:
            raise ValueError(f"{op.name}: shapes {self.shape} and {other.shape} cannot be broadcast together") from None
        return Tensor._make(out, (self, other), op)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def zeros(cls, *shape, requires_grad=False, dtype=None):
        return cls(np.zeros(_shape_arg(shape)), requires_grad=requires_grad, dtype=dtype)

    @classmethod
    def ones(cls, *shape, requires_grad=False, dtype=None):
        return cls(np.ones(_shape_arg(shape)), requires_grad=requires_grad, dtype=dtype)

    @classmethod
    def randn(cls, *shape, rng=None, requires_grad=False, dtype=None):
        """Standard normal entries from ``rng`` (a ``numpy.random.Generator`` or a seed)."""
        rng = np.random.default_rng(rng)
        return cls(rng.standard_normal(_shape_arg(shape)), requires_grad=requires_grad, dtype=dtype)

    # -- properties ------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    T = property(lambda self: self.transpose())

    @property
    def op(self) -> str:
        return self._op.name if self._op is not None else ""

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item() needs a single-element Tensor, got shape {self.shape}")
        return float(self.data.reshape(()))

    def detach(self) -> "Tensor":
        return Tensor(self.data.copy(), dtype=self.dtype)

    def __len__(self):
        return len(self.data)

    def __float__(self):
        return self.item()

    def __repr__(self):
        rg = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{rg})"

    def _repr_mimebundle_(self, include=None, exclude=None):  # Jupyter: through the display slot (graph.py)
        return display(self, include, exclude)

    # -- elementwise arithmetic ------------------------------------------------------------
    def __add__(self, other):
        return self._binary(other, operator.add, ADD)

    def __radd__(self, other):
        return self._lift(other) + self

    def __sub__(self, other):
        return self._binary(other, operator.sub, SUB)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        return self._binary(other, operator.mul, MUL)

    def __rmul__(self, other):
        return self._lift(other) * self

    def __truediv__(self, other):
        other = self._lift(other)
        zero = other.data == 0
        if zero.any():
            raise ZeroDivisionError(f"/: division by zero; the divisor is {first_bad(zero, other.data)}")
        return self._binary(other, operator.truediv, DIV)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __neg__(self):
        return Tensor._make(-self.data, (self,), NEG)

    def __pow__(self, other):
        x = self.data
        if isinstance(other, Tensor):
            xb, cb = np.broadcast_arrays(x, other.data)
            for bad, why in (
                    (xb < 0, "Tensor ** Tensor needs a non-negative base"),
                    ((xb == 0) & (cb < 0), "0 ** negative is undefined (division by zero)"),
                    ((xb == 0) & (cb > 0) & (cb < 1) & (self.requires_grad and _GradMode.enabled),
                     "the derivative of x ** c (0 < c < 1) at x = 0 is infinite")):
                if bad.any():
                    raise domain_error("**", why, bad, xb)
            return Tensor._make(x ** other.data, (self, other), POWV)
        c = float(other) if np.ndim(other) == 0 else np.asarray(other, dtype=self.dtype)
        if not (np.ndim(c) == 0 and c >= 0 and c.is_integer()):  # x ** 2 and friends: always defined
            cc = np.asarray(c)
            xb = np.broadcast_to(x, np.broadcast_shapes(x.shape, cc.shape))
            bad = (xb == 0) & (cc < 0)
            if bad.any():
                raise domain_error("**", "0 ** negative is undefined (division by zero)", bad, xb)
            bad = (xb < 0) & (np.mod(cc, 1) != 0)
            if bad.any():
                raise domain_error("**", "a negative base to a non-integer power is not real", bad, xb)
            if self.requires_grad and _GradMode.enabled:
                bad = (xb == 0) & (cc > 0) & (cc < 1)
                if bad.any():
                    raise domain_error("**", "the derivative of x ** c (0 < c < 1) at x = 0 is infinite", bad, xb)
        return Tensor._make(x ** c, (self,), _pow_op(c))

    def __rpow__(self, other):
        c = np.asarray(other, dtype=self.dtype)
        bad = ~(c > 0)
        if bad.any():
            raise domain_error("**", "number ** Tensor needs a positive base", bad, c)
        return (self * np.log(c)).exp()

    def __matmul__(self, other):
        other = self._lift(other)
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"@: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
        if a.ndim == 1 and b.ndim == 1:
            if a.shape != b.shape:  # (a * b) would broadcast a length-1 vector silently
                raise ValueError(f"@: shapes {a.shape} and {b.shape} are not aligned")
            return (a * b).sum()
        if a.ndim == 1:
            return (a.reshape(1, -1) @ b).squeeze(-2)
        if b.ndim == 1:
            return (a @ b.reshape(-1, 1)).squeeze(-1)
        try:
            out = a.data @ b.data
        except ValueError:
            raise ValueError(f"@: shapes {a.shape} and {b.shape} are not aligned") from None
        return Tensor._make(out, (a, b), MATMUL)

    def __rmatmul__(self, other):
        return self._lift(other) @ self

    __hash__ = object.__hash__  # identity (elementwise == is in ops/elementwise.py); graphs use sets

    # -- reductions -----------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        if isinstance(axis, list):
            axis = tuple(axis)
        return Tensor._make(self.data.sum(axis=axis, keepdims=keepdims), (self,),
                            _sum_op(self.shape, axis, bool(keepdims)))

    def mean(self, axis=None, keepdims=False):
        total = self.sum(axis=axis, keepdims=keepdims)
        if total.data.size and self.data.size == 0:
            return total * np.nan      # the mean of no numbers: NaN, as numpy and PyTorch (no gradient to give)
        n = self.data.size // max(total.data.size, 1)
        return total * (1.0 / n) if n else total

    # -- shape ----------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {self.shape} into {shape}") from None
        return Tensor._make(out, (self,), _reshape_op(self.shape))

    def transpose(self, *axes):
        axes = _shape_arg(axes) or tuple(reversed(range(self.ndim)))
        axes = tuple(a + self.ndim if a < 0 else a for a in axes)  # negative axes as numpy; argsort needs >= 0
        return Tensor._make(self.data.transpose(axes), (self,), _transpose_op(axes))

    def swapaxes(self, a, b):
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.transpose(*axes)

    def expand_dims(self, axis):
        return self.reshape(np.expand_dims(self.data, axis).shape)

    def __getitem__(self, index):
        index = _index_arg(index)
        return Tensor._make(self.data[index], (self,), _getitem_op(self.shape, index))

    @staticmethod
    def cat(ts, axis=0):
        ts = [t if isinstance(t, Tensor) else Tensor(t) for t in ts]
        if not ts:
            raise ValueError("cat: needs at least one Tensor")
        axis = axis % ts[0].ndim
        try:
            out = np.concatenate([t.data for t in ts], axis=axis)
        except ValueError as e:
            raise ValueError(f"cat: {e}") from None
        return Tensor._make(out, tuple(ts), _cat_op([t.shape[axis] for t in ts], axis))

    @staticmethod
    def stack(ts, axis=0):
        ts = [t if isinstance(t, Tensor) else Tensor(t) for t in ts]
        if not ts:
            raise ValueError("stack: needs at least one Tensor")
        return Tensor.cat([t.expand_dims(axis) for t in ts], axis=axis)

    @staticmethod
    def where(cond, a, b):
        """``a`` where ``cond`` else ``b``; ``cond`` is a boolean array (not differentiated)."""
        cond = np.asarray(_data(cond), dtype=bool)
        ref = a if isinstance(a, Tensor) else (b if isinstance(b, Tensor) else Tensor(0.0))
        a, b = ref._lift(a), ref._lift(b)
        return Tensor._make(np.where(cond, a.data, b.data), (a, b), _where_op(cond))

    # -- gradients ------------------------------------------------------------------------
    def backward(self, grad_output=None):
        """Accumulate d(self)/d(t) into ``t.grad`` for every Tensor t reachable from self."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this Tensor does not require grad (no input had requires_grad=True)")
        backprop(self, self._seed(grad_output, False))

    register_hook = register_hook  # fn(grad) when the gradient is complete; see graph.register_hook

    def _hook_grad(self, r, g):
        """A gradient hook's return value ``r`` as a gradient of this Tensor's shape."""
        if isinstance(g, Tensor):
            r = self._lift(r)
        else:
            r = np.asarray(_data(r), dtype=self.dtype)
        if r.shape != self.shape:
            raise ValueError(f"register_hook: a hook returned a gradient of shape {r.shape} for a Tensor of "
                             f"shape {self.shape}")
        return r

    def _seed(self, grad_output, create_graph):
        if grad_output is None:
            if self.data.size != 1:
                raise ValueError(f"backward() on a Tensor of shape {self.shape} needs grad_output of that shape")
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(_data(grad_output), dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"grad_output has shape {seed.shape}, expected {self.shape}")
        return Tensor(seed, dtype=self.dtype) if create_graph else seed

    def _vjp(self, g, create_graph):
        prev = self._prev
        if create_graph:
            grads = self._op.vjp(g, self, *prev)
        elif len(prev) == 1:
            grads = self._op.vjp(g, self.data, prev[0].data)
        elif self._op.selective:
            grads = self._op.vjp(g, self.data, *[p.data for p in prev], need=[p.requires_grad for p in prev])
        else:
            grads = self._op.vjp(g, self.data, *[p.data for p in prev])
        out = []
        for p, pg in zip(prev, grads):
            if pg is None or not p.requires_grad:
                out.append(None)
            elif pg.shape != p.data.shape:
                out.append(_unbroadcast(pg, p.data.shape))
            else:
                out.append(pg)
        return out

    def _accumulate(self, g):
        if self.grad is None:
            self.grad = np.array(g, dtype=self.dtype) if not self._prev else g
        else:
            self.grad = self.grad + g

    def _as_grad(self, g, create_graph):
        return g

    def _zero_grad_like(self, create_graph):
        z = np.zeros_like(self.data)
        return Tensor(z, dtype=self.dtype) if create_graph else z


# --- anomaly mode (anomaly.py): a checking constructor, swapped in only while it is on ------------
_plain_make = Tensor._make
_plain_init = Tensor.__init__


def _checked_make(data, prev, op) -> Tensor:
    t = _plain_make(data, prev, op)
    anomaly.check_forward(t, [p.data for p in prev], op.name)
    return t


def _checked_init(self, *args, **kwargs):
    _plain_init(self, *args, **kwargs)
    self._where = anomaly.where_made()


def _anomaly_switch(on: bool) -> None:
    Tensor._make = staticmethod(_checked_make if on else _plain_make)
    Tensor.__init__ = _checked_init if on else _plain_init


anomaly.on_switch(_anomaly_switch)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


def _index_arg(index):
    if isinstance(index, tuple):
        return tuple(_data(i) for i in index)
    return _data(index)


class CustomOp:
    """Define an op once, by its forward and backward in numpy; it then works everywhere.

    Subclass it and write ``forward(*arrays) -> array`` and ``backward(grad) -> tuple of input
    gradients`` (``None`` for an input that needs none). ``forward`` may keep what ``backward``
    needs on ``self``: every call makes a fresh instance. Call it as ``MyOp.apply(*tensors)``.
    Its node appears in graphs, gradcheck and pictures under ``name`` (the class name by default).

    Example::

        class Cube(CustomOp):
            def forward(self, x):
                self.x = x
                return x ** 3
            def backward(self, g):
                return (3 * self.x ** 2 * g,)

        y = Cube.apply(Tensor([1.0, 2.0], requires_grad=True)).sum()

    Second derivatives through a custom op need its backward to be made of Tensor ops; a
    ``create_graph`` sweep that meets a numpy-only custom op raises a clear error.
    """

    name = None

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        return cls(**kwargs)(*inputs)

    def __call__(self, *inputs):
        ts = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in inputs)
        out = np.asarray(self.forward(*[t.data for t in ts]))
        name = self.name or type(self).__name__
        return Tensor._make(out, ts, Op(name, self._vjp))

    def _vjp(self, g, y, *xs):
        if isinstance(g, Tensor):
            raise NotImplementedError(
                f"custom op {self.name or type(self).__name__} has a numpy-only backward: "
                "second derivatives (create_graph=True) through it are not available")
        grads = self.backward(g)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != len(xs):
            raise ValueError(f"{type(self).__name__}.backward returned {len(grads)} gradients for {len(xs)} inputs")
        return tuple(None if gr is None else np.asarray(gr) for gr in grads)
