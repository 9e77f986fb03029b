"""What every op family shares: the dispatch helpers that let one derivative rule run on numpy arrays
(an ordinary backward sweep) and on Tensors (``create_graph=True``), and the domain-error helpers.

A rule ``vjp(g, y, *xs)`` sees numpy arrays in a plain sweep and Tensor nodes under ``create_graph``.
It is written with arithmetic, ``@``, the methods numpy arrays and Tensors both have (``sum``,
``reshape``, ``transpose``, ``swapaxes``) and the functions of :data:`F` below, which call the Tensor
method on a Tensor and the numpy function of the same name on an array. That is what makes every
smooth op twice differentiable without writing its second derivative.
"""
from __future__ import annotations

import numpy as np

from ..graph import Op

__all__ = ["TensorBase", "F", "data", "is_tensor", "domain_error", "first_bad", "reduce_shape",
           "normalize_axis", "sigmoid_np", "scatter"]


class TensorBase:
    """The common base of `Tensor` and of its op-family mixins (lets the helpers here recognise a
    Tensor without importing it)."""

    __slots__ = ()


def is_tensor(x) -> bool:
    return isinstance(x, TensorBase)


def data(x):
    """The numpy array behind a Tensor; anything else unchanged."""
    return x.data if isinstance(x, TensorBase) else x


class _Dispatch:
    """``F.name(x, ...)``: ``x.name(...)`` for a Tensor, ``numpy.name(x, ...)`` otherwise."""

    def __getattr__(self, name):
        npfn = getattr(np, name, None) or getattr(np.linalg, name)

        def call(x, *args, **kw):
            if isinstance(x, TensorBase):
                return getattr(x, name)(*args, **kw)
            return npfn(x, *args, **kw)
        call.__name__ = name
        setattr(self, name, call)  # cache: the next lookup is a plain attribute
        return call

    @staticmethod
    def where(cond, a, b):
        """``a`` where ``cond`` else ``b`` (``cond`` a constant boolean array)."""
        if isinstance(a, TensorBase) or isinstance(b, TensorBase):
            ref = a if isinstance(a, TensorBase) else b
            return type(ref).where(cond, a, b)
        return np.where(cond, a, b)

    @staticmethod
    def broadcast_to(g, shape):
        if isinstance(g, TensorBase):
            return g.expand(shape)
        return np.broadcast_to(g, shape)

    @staticmethod
    def sigmoid(x):
        if isinstance(x, TensorBase):
            return x.sigmoid()
        return sigmoid_np(x)

    @staticmethod
    def stack(xs, axis=0):
        if any(isinstance(x, TensorBase) for x in xs):
            ref = next(x for x in xs if isinstance(x, TensorBase))
            return type(ref).stack(xs, axis=axis)
        return np.stack(xs, axis=axis)

    @staticmethod
    def const(x):
        """A constant (never differentiated): the numpy array behind x."""
        return data(x)


F = _Dispatch()


def sigmoid_np(x):
    # stable for any x: exp of a non-positive number only
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def scatter(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices sum): the gradient of a
    gather, itself differentiable (its gradient is the gather ``g[index]``)."""
    if isinstance(g, TensorBase):
        return g._make(scatter(g.data, shape, index), (g,), _scatter_op(index))
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, index, g)
    return out


def _scatter_op(index):
    return Op("scatter", lambda g, y, x: (g[index],))


def first_bad(mask, x) -> str:
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"{float(x[idx])!r} at index {idx}" if idx else f"{float(x[()])!r}"


def domain_error(op, why, mask, x):
    return ValueError(f"{op}: {why}; got {first_bad(mask, x)}")


def normalize_axis(axis, ndim, op="axis"):
    """An int axis in range(ndim) (negative counts from the end); a clear error otherwise."""
    try:
        a = int(axis)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}") from None
    if not -max(ndim, 1) <= a < max(ndim, 1):
        raise ValueError(f"{op}: axis {axis} is out of range for {ndim} dimensions")
    return a % max(ndim, 1)


def reduce_shape(shape, axis, keepdims=False):
    """Normalised axes and the keepdims shape of a reduction."""
    nd = len(shape)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(sorted(a % nd if nd else a for a in (axis if isinstance(axis, tuple) else (axis,))))
    kshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return axes, kshape
