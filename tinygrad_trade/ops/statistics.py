"""Statistics and order statistics on Tensor: max/min, var/std, prod, norm, argmax/argmin,
sort/argsort/topk, median and quantile (``sum`` and ``mean`` are in the core).

Which subgradient: ties in ``max``/``min`` share the gradient equally; ``std`` at zero spread has gradient 0 (torch gives NaN); ``norm`` at the zero
vector has gradient 0 (torch's choice); ``sort``/``topk``/``quantile`` send each output's gradient to
the element it was taken from, ties resolved by a stable sort (the earlier element sorts first);
``median`` is numpy's (the mean of the two middle values for an even count; torch returns the
lower one); ``argmax``/``argmin`` return integer arrays (no gradient).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..graph import Op
from ._base import F, TensorBase, data, normalize_axis, reduce_shape

__all__ = ["Statistics", "TopkResult"]


class TopkResult(NamedTuple):
    """torch.topk's pair: ``values`` (a Tensor with its gradient) and ``indices`` (an integer array)."""
    values: object
    indices: object


def _extreme_op(name, shape, axis):
    """max/min: ties share the gradient equally."""
    axes, kshape = reduce_shape(shape, axis, False)

    def vjp(g, y, x):
        hit = data(x) == data(y).reshape(kshape)
        share = (hit / hit.sum(axis=axes, keepdims=True)).astype(data(y).dtype)
        return (g.reshape(kshape) * share,)
    return Op(name, vjp)


def _std_op(axes, kshape, n):
    def vjp(g, y, x):
        y0 = data(y).reshape(kshape) == 0
        ys = y.reshape(kshape)
        if y0.any():
            ys = F.where(y0, 1.0, ys)
        share = (x - x.mean(axis=axes, keepdims=True)) / (ys * n)
        return (g.reshape(kshape) * (F.where(y0, 0.0, share) if y0.any() else share),)
    return Op("std", vjp)


def _others_product_np(x, axes):
    """prod over ``axes`` of every element but one, for each element (exact with zeros)."""
    nd = x.ndim
    moved = np.moveaxis(x, axes, tuple(range(nd - len(axes), nd)))
    lead = moved.shape[:nd - len(axes)]
    flat = moved.reshape(lead + (-1,))
    ones = np.ones(lead + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), tuple(range(nd - len(axes), nd)), axes)


def _prod_op(axes, kshape):
    def vjp(g, y, x):
        gk = g.reshape(kshape)
        xd = data(x)
        if not (xd == 0).any():
            return (gk * y.reshape(kshape) / x,)
        if isinstance(x, TensorBase):
            raise NotImplementedError("prod: second derivatives at inputs with exact zeros are not available")
        return (gk * _others_product_np(xd, axes),)
    return Op("prod", vjp)


def _norm2_op(kshape):
    def vjp(g, y, x):
        y0 = data(y).reshape(kshape) == 0
        if y0.any():
            return (g.reshape(kshape) * F.where(y0, 0.0, x / F.where(y0, 1.0, y.reshape(kshape))),)
        return (g.reshape(kshape) * x / y.reshape(kshape),)
    return Op("norm", vjp)


class Statistics(TensorBase):
    __slots__ = ()

    def max(self, axis=None, keepdims=False):
        return self._extreme(np.max, "max", axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return self._extreme(np.min, "min", axis, keepdims)

    def _extreme(self, fn, name, axis, keepdims):
        if self.size == 0:
            raise ValueError(f"{name}: empty Tensor of shape {self.shape}")
        out = self._make(fn(self.data, axis=axis), (self,), _extreme_op(name, self.shape, axis))
        if keepdims:
            out = out.reshape(reduce_shape(self.shape, axis, True)[1])
        return out

    def var(self, axis=None, keepdims=False, ddof=0):
        """Variance with ``ddof``, composed from mean and sum (twice differentiable)."""
        if isinstance(axis, list):
            axis = tuple(axis)
        axes, _ = reduce_shape(self.shape, axis, keepdims)
        n = int(np.prod([self.shape[a] for a in axes]))
        d = self - self.mean(axis=axis, keepdims=True)
        if n - ddof <= 0:           # too few numbers: NaN, and NaN gradients, as numpy and PyTorch
            return (d * d).sum(axis=axis, keepdims=keepdims) * np.nan
        return (d * d).sum(axis=axis, keepdims=keepdims) * (1.0 / (n - ddof))

    def std(self, axis=None, keepdims=False, ddof=0):
        """Standard deviation with ``ddof`` (0: population, 1: sample); gradient 0 at zero spread."""
        if isinstance(axis, list):
            axis = tuple(axis)
        axes, kshape = reduce_shape(self.shape, axis)
        n = int(np.prod([self.shape[a] for a in axes]))
        if n - ddof <= 0:           # too few numbers: NaN (the variance's NaN), NaN gradients, as PyTorch
            return self.var(axis=axis, keepdims=keepdims, ddof=ddof)
        y = np.std(self.data, axis=axes, keepdims=keepdims, ddof=ddof)
        return self._make(y, (self,), _std_op(axes, kshape, n - ddof))

    def std_mean(self, axis=None, keepdims=False, ddof=0):
        return self.std(axis, keepdims, ddof), self.mean(axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        if isinstance(axis, list):
            axis = tuple(axis)
        if self.ndim == 0 and axis is not None and axis != ():  # torch: axis 0 or -1 of a 0-d input
            normalize_axis(axis if np.ndim(axis) == 0 else axis[0], 0, "prod")
            return self.reshape(1).prod(0).reshape(())
        axes, kshape = reduce_shape(self.shape, axis)
        return self._make(np.prod(self.data, axis=axes, keepdims=keepdims), (self,), _prod_op(axes, kshape))

    def norm(self, ord=None, axis=None, keepdims=False):
        """numpy.linalg.norm's semantics: vector p-norms, and for two axes (or a 2-D input with
        ``axis=None`` and an ``ord`` given) the matrix norms 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
        if isinstance(axis, list):
            axis = tuple(axis)
        matrix = (isinstance(axis, tuple) and len(axis) == 2) or (axis is None and self.ndim == 2 and ord is not None)
        if matrix:
            return self._matrix_norm(ord, (-2, -1) if axis is None else axis, keepdims)
        if ord is None or ord == 2:
            return self._norm2(axis, keepdims)
        a = self.abs()
        if ord == np.inf:
            return a.max(axis=axis, keepdims=keepdims)
        if ord == -np.inf:
            return a.min(axis=axis, keepdims=keepdims)
        if ord == 0:
            return self._lift(np.sum(self.data != 0, axis=axis, keepdims=keepdims).astype(self.dtype))
        if ord == 1:
            return a.sum(axis=axis, keepdims=keepdims)
        total = (a ** float(ord)).sum(axis=axis, keepdims=keepdims)
        zero = total.data == 0
        if ord > 0 and zero.any():  # the norm of a zero vector: 0 with gradient 0 (torch's), not 0 ** (1/p)'s inf
            return type(self).where(zero, 0.0, type(self).where(zero, 1.0, total) ** (1.0 / ord))
        return total ** (1.0 / ord)

    def _norm2(self, axis, keepdims):
        axes, kshape = reduce_shape(self.shape, axis)
        y = np.sqrt(np.sum(self.data * self.data, axis=axes, keepdims=keepdims))
        return self._make(y, (self,), _norm2_op(kshape))

    def _matrix_norm(self, ord, axis, keepdims):
        r, c = (normalize_axis(a, self.ndim, "norm") for a in axis)
        x = self.transpose(*[i for i in range(self.ndim) if i not in (r, c)], r, c)
        if ord in (None, "fro"):
            out = x._norm2((-2, -1), False)
        elif ord == "nuc":
            out = x.svdvals().sum(axis=-1)
        elif ord in (2, -2):
            s = x.svdvals()
            out = s.max(axis=-1) if ord == 2 else s.min(axis=-1)
        elif ord in (1, -1):
            cs = x.abs().sum(axis=-2)
            out = cs.max(axis=-1) if ord == 1 else cs.min(axis=-1)
        elif ord in (np.inf, -np.inf):
            rs = x.abs().sum(axis=-1)
            out = rs.max(axis=-1) if ord == np.inf else rs.min(axis=-1)
        else:
            raise ValueError(f"norm: invalid matrix norm order {ord!r}")
        if keepdims:
            out = out.reshape(tuple(1 if i in (r, c) else n for i, n in enumerate(self.shape)))
        return out

    # -- positions (no gradient) ---------------------------------------------------------------
    def argmax(self, axis=None, keepdims=False):
        return np.argmax(self.data, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return np.argmin(self.data, axis=axis, keepdims=keepdims)

    def partition(self, kth, axis=-1):
        """A valid numpy.partition: the sorted values (every element before ``kth`` is <= it)."""
        return self.sort(axis)

    def argsort(self, axis=-1, descending=False):
        """Stable: equal elements keep their order (also when ``descending``)."""
        if self.ndim == 0:
            normalize_axis(axis, 0, "argsort")
            return np.zeros((), dtype=np.int64)
        return np.argsort(-self.data if descending else self.data, axis=axis, kind="stable")

    # -- order statistics (gradient to the selected elements) ---------------------------------
    def sort(self, axis=-1, descending=False):
        if self.ndim == 0:  # torch: sorting a 0-d input along 0 or -1 returns it
            normalize_axis(axis, 0, "sort")
            return self.reshape(())
        return self.take_along_axis(self.argsort(axis, descending), axis)

    def topk(self, k, axis=-1, largest=True, sorted=True):
        """TopkResult(values, indices): the ``k`` largest (or smallest) values along ``axis`` and their
        indices, largest (smallest) first, as torch.topk."""
        if self.ndim == 0:  # torch: k = 0 or 1 along 0 or -1 of a 0-d input
            normalize_axis(axis, 0, "topk")
            if k not in (0, 1):
                raise ValueError(f"topk: k={k} is out of range for a 0-d Tensor")
            r = self.reshape(1).topk(k, 0, largest, sorted)
            return TopkResult(r.values.reshape(()), r.indices.reshape(())) if k else r
        axis = normalize_axis(axis, self.ndim, "topk")
        if not 0 <= k <= self.shape[axis]:
            raise ValueError(f"topk: k={k} is out of range for an axis of size {self.shape[axis]}")
        idx = np.take(self.argsort(axis, descending=largest), np.arange(k), axis=axis)
        return TopkResult(self.take_along_axis(idx, axis), idx)

    def quantile(self, q, axis=None, keepdims=False, method="linear"):
        """numpy's (and torch's) quantile: ``q`` a number or a 1-D list in [0, 1] (a list adds a
        leading axis, as in numpy); ``method`` 'linear' (default), 'lower', 'higher', 'nearest'
        (ties to even, as numpy) or 'midpoint'."""
        if method not in ("linear", "lower", "higher", "nearest", "midpoint"):
            raise ValueError(f"quantile: unknown method {method!r}")
        qa = np.asarray(q, dtype=self.dtype)
        if qa.ndim > 1 or ((qa < 0) | (qa > 1)).any():
            raise ValueError(f"quantile: q must be a number or 1-D list in [0, 1], got {q!r}")
        x = self.reshape(-1) if axis is None else self
        ax = 0 if axis is None else normalize_axis(axis, self.ndim, "quantile")
        n = x.shape[ax]
        if n == 0:
            raise ValueError("quantile: empty axis")
        s = x.sort(axis=ax)
        pos = qa * (n - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        frac = {"linear": pos - lo, "lower": 0.0 * pos, "higher": (pos > lo) * 1.0, "midpoint": (pos > lo) * 0.5,
                "nearest": (np.round(pos) > lo) * 1.0}[method]
        a, b = s.take(lo.reshape(-1), ax), s.take(hi.reshape(-1), ax)
        fshape = [1] * x.ndim
        fshape[ax] = -1
        out = a + (b - a) * np.asarray(frac, dtype=self.dtype).reshape(-1).reshape(fshape)  # quantiles along ax
        out = out.moveaxis(ax, 0)
        if keepdims:
            kshape = (1,) * self.ndim if axis is None else tuple(
                1 if i == ax else m for i, m in enumerate(self.shape))
            out = out.reshape((out.shape[0],) + kshape)
        elif axis is None:
            out = out.reshape((out.shape[0],))
        return out.reshape(out.shape[1:]) if qa.ndim == 0 else out

    def median(self, axis=None, keepdims=False):
        """numpy's median (the mean of the two middle values for an even count); torch's
        ``median`` is ``quantile(0.5, method="lower")``."""
        return self.quantile(0.5, axis=axis, keepdims=keepdims)
