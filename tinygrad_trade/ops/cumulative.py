"""Cumulative and time-series ops on Tensor: cumsum, cumprod, cummax, cummin, logcumsumexp, diff,
roll, flip, pad (constant, edge, reflect) and sliding windows (``unfold``).

``cumsum``/``cumprod``/``logcumsumexp`` are primitives (rule beside them); the rest are gathers
(``take``) of the input with an index computed once in numpy, so their gradients are the scatter
of the core's indexing rule. ``axis=None`` flattens first, as in numpy.

Which subgradient: ``cummax``/``cummin`` send each output's gradient to the element that holds the
running extreme, the latest one on ties (torch's choice). ``cumprod`` is exact at zeros for first
derivatives; second derivatives at exact zeros are not available (a clear error).
``logcumsumexp``'s gradient is exact while the values along the axis span less than ~700.
"""
from __future__ import annotations

import numpy as np

from ..graph import Op
from ._base import F, TensorBase, data, normalize_axis

__all__ = ["Cumulative"]


def _rev_cumsum(g, axis):
    return F.flip(F.cumsum(F.flip(g, axis), axis), axis)


def _cumsum_op(axis):
    return Op("cumsum", lambda g, y, x: (_rev_cumsum(g, axis),))


def _cumprod_grad_np(g, x, axis):
    """d/dx_k of sum_i g_i prod_{j<=i} x_j, exact with zeros (per 1-D lane)."""
    xm, gm = np.moveaxis(x, axis, -1), np.moveaxis(g, axis, -1)
    out = np.empty_like(xm)
    for idx in np.ndindex(xm.shape[:-1]):
        xs, gs = xm[idx], gm[idx]
        n = xs.size
        res = np.zeros(n, dtype=x.dtype)
        for k in range(n):
            # prod_{j<=i, j!=k} x_j for i >= k
            before = np.prod(xs[:k])
            after = np.cumprod(np.concatenate([[1.0], xs[k + 1:]]))
            res[k] = before * np.dot(gs[k:], after)
        out[idx] = res
    return np.moveaxis(out, -1, axis)


def _cumprod_op(axis):
    def vjp(g, y, x):
        if not (data(x) == 0).any():
            return (_rev_cumsum(g * y, axis) / x,)
        if isinstance(x, TensorBase):
            raise NotImplementedError("cumprod: second derivatives at inputs with exact zeros are not available")
        return (_cumprod_grad_np(g, x, axis),)
    return Op("cumprod", vjp)


def _logcumsumexp_op(axis):
    def vjp(g, y, x):
        last = np.take(data(y), [-1], axis=axis)  # the largest along the axis: a constant shift
        last = np.where(np.isfinite(last), last, 0.0)
        return (F.exp(x - last) * _rev_cumsum(g * F.exp(last - y), axis),)
    return Op("logcumsumexp", vjp)


def _running_arg(x, axis, better):
    """Index along ``axis`` of the running extreme (latest on ties)."""
    acc = better.accumulate(x, axis=axis)
    pos = np.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
    return np.maximum.accumulate(np.where(x == acc, pos, 0), axis=axis)


class Cumulative(TensorBase):
    __slots__ = ()

    def _flat_axis(self, axis, op):
        if axis is None:
            return self.reshape(-1), 0
        return self, normalize_axis(axis, self.ndim, op)

    def cumsum(self, axis=None):
        """numpy.cumsum (``axis=None`` flattens); a 0-d Tensor with an axis (0 or -1) keeps its shape,
        as torch.cumsum."""
        if self.ndim == 0 and axis is not None:
            normalize_axis(axis, 0, "cumsum")
            return self.reshape(1).cumsum(0).reshape(())
        x, ax = self._flat_axis(axis, "cumsum")
        return x._make(np.cumsum(x.data, axis=ax), (x,), _cumsum_op(ax))

    def cumprod(self, axis=None):
        """numpy.cumprod; a 0-d Tensor with an axis keeps its shape (torch.cumprod)."""
        if self.ndim == 0 and axis is not None:
            normalize_axis(axis, 0, "cumprod")
            return self.reshape(1).cumprod(0).reshape(())
        x, ax = self._flat_axis(axis, "cumprod")
        return x._make(np.cumprod(x.data, axis=ax), (x,), _cumprod_op(ax))

    def logcumsumexp(self, axis=None):
        """log(cumsum(exp(x))) without overflow."""
        if self.ndim == 0 and axis is not None:  # torch: a 0-d input keeps its shape
            normalize_axis(axis, 0, "logcumsumexp")
            return self.reshape(1).logcumsumexp(0).reshape(())
        x, ax = self._flat_axis(axis, "logcumsumexp")
        with np.errstate(invalid="ignore"):
            y = np.logaddexp.accumulate(x.data, axis=ax) if x.size else x.data.copy()
        return x._make(y, (x,), _logcumsumexp_op(ax))

    def cummax(self, axis=None):
        """Running maximum along ``axis`` (drawdowns: ``x / x.cummax() - 1``)."""
        if self.ndim == 0 and axis is not None:
            normalize_axis(axis, 0, "cummax")
            return self.reshape(1).cummax(0).reshape(())
        x, ax = self._flat_axis(axis, "cummax")
        return x.take_along_axis(_running_arg(x.data, ax, np.maximum), ax)

    def cummin(self, axis=None):
        if self.ndim == 0 and axis is not None:
            normalize_axis(axis, 0, "cummin")
            return self.reshape(1).cummin(0).reshape(())
        x, ax = self._flat_axis(axis, "cummin")
        return x.take_along_axis(_running_arg(x.data, ax, np.minimum), ax)

    def diff(self, n=1, axis=-1):
        """``n``-th forward difference along ``axis`` (numpy.diff)."""
        ax = normalize_axis(axis, self.ndim, "diff")
        out = self
        for _ in range(n):
            m = out.shape[ax]
            out = out.take(np.arange(1, m), ax) - out.take(np.arange(0, max(m - 1, 0)), ax)
        return out

    def flip(self, axis=None):
        axes = range(self.ndim) if axis is None else (axis if isinstance(axis, (tuple, list)) else (axis,))
        index = [slice(None)] * self.ndim
        for a in axes:
            index[normalize_axis(a, self.ndim, "flip")] = slice(None, None, -1)
        return self[tuple(index)]

    def roll(self, shift, axis=None):
        """numpy.roll: elements shifted by ``shift`` along ``axis`` (flattened when None), wrapping."""
        if axis is None:
            return self.reshape(-1).roll(shift, 0).reshape(self.shape)
        shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        out = self
        for s, a in zip(shifts, axes):
            a = normalize_axis(a, self.ndim, "roll")
            n = self.shape[a]
            out = out.take((np.arange(n) - s) % n if n else np.arange(0), a)
        return out

    def pad(self, pad_width, mode="constant", value=0.0):
        """numpy.pad with ``mode`` 'constant' (``value``), 'edge' or 'reflect'; ``pad_width`` as in
        numpy: an int, a (before, after) pair, or one pair per axis."""
        if mode not in ("constant", "edge", "reflect"):
            raise ValueError(f"pad: mode must be 'constant', 'edge' or 'reflect', got {mode!r}")
        widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (self.ndim, 2))
        if (widths < 0).any():
            raise ValueError(f"pad: widths must be non-negative, got {pad_width!r}")
        out = self
        for a, (before, after) in enumerate(widths):
            if not before and not after:
                continue
            n = out.shape[a]
            if mode == "constant":
                src = np.pad(np.arange(n), (before, after), mode="constant", constant_values=-1)
                taken = out.take(np.maximum(src, 0), a) if n else None
                keep = (src >= 0).reshape([-1 if i == a else 1 for i in range(out.ndim)])
                shape = list(out.shape)
                shape[a] = src.size
                if taken is None:
                    out = out._lift(np.full(shape, value, dtype=out.dtype))
                else:
                    out = type(out).where(np.broadcast_to(keep, shape), taken, value)
            else:
                if n == 0 or (mode == "reflect" and n == 1 and (before or after)):
                    raise ValueError(f"pad: mode {mode!r} needs a longer axis {a} (size {n})")
                out = out.take(np.pad(np.arange(n), (before, after), mode=mode), a)
        return out

    def unfold(self, axis, size, step):
        """Sliding windows (torch's ``unfold``): windows of ``size`` every ``step`` along ``axis``;
        the window becomes a new last axis."""
        if self.ndim == 0:  # torch: a 0-d Tensor unfolds as a 1-element axis, the window a new axis
            return self.reshape(1).unfold(0, size, step).reshape((size,) if size else (0,))
        ax = normalize_axis(axis, self.ndim, "unfold")
        n = self.shape[ax]
        if size < 0 or step < 1 or size > n:
            raise ValueError(f"unfold: need 0 <= size <= {n} and step >= 1, got size={size}, step={step}")
        starts = np.arange(0, n - size + 1, step)
        idx = starts[:, None] + np.arange(size)[None, :]
        win = self.take(idx.reshape(-1), ax)
        shape = self.shape[:ax] + (len(starts), size) + self.shape[ax + 1:]
        return win.reshape(shape).moveaxis(ax + 1, -1)

    def gradient(self, *varargs, axis=None, edge_order=1):
        """numpy.gradient: second-order central differences inside, one-sided ones of ``edge_order``
        (1 or 2) at the ends; spacings per axis as numbers (uniform) or 1-D coordinates. One axis
        gives a Tensor, several a tuple (numpy's)."""
        axes = list(range(self.ndim)) if axis is None else [
            normalize_axis(a, self.ndim, "gradient") for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]
        if edge_order not in (1, 2):
            raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
        if not varargs:
            spacing = [1.0] * len(axes)
        elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
            spacing = [varargs[0]] * len(axes)
        elif len(varargs) == len(axes):
            spacing = list(varargs)
        else:
            raise ValueError(f"gradient: give one spacing or one per axis ({len(axes)}), got {len(varargs)}")
        out = tuple(self._gradient_axis(a, np.asarray(data(h), dtype=self.dtype), edge_order)
                    for a, h in zip(axes, spacing))
        return out[0] if len(out) == 1 else out

    def _gradient_axis(self, ax, h, edge_order):
        n = self.shape[ax]
        if n < edge_order + 1:
            raise ValueError(f"gradient: axis {ax} of size {n} needs at least {edge_order + 1} points")
        shape = [-1 if d == ax else 1 for d in range(self.ndim)]

        def at(idx):
            return self.take(np.asarray(idx), ax)

        if h.ndim == 0:
            dx = np.full(n - 1, float(h))
        elif h.shape == (n,):
            dx = np.diff(h)
        else:
            raise ValueError(f"gradient: coordinates along axis {ax} must have length {n}, got shape {h.shape}")
        if (dx == 0).any():
            raise ValueError("gradient: the spacing must not be zero")
        parts = []
        # ends: one-sided differences
        if edge_order == 1:
            first = (at([1]) - at([0])) * (1.0 / dx[0])
            last = (at([n - 1]) - at([n - 2])) * (1.0 / dx[-1])
        else:
            d1, d2 = dx[0], dx[1]
            a, b, c = -(2 * d1 + d2) / (d1 * (d1 + d2)), (d1 + d2) / (d1 * d2), -d1 / (d2 * (d1 + d2))
            first = at([0]) * a + at([1]) * b + at([2]) * c
            d1, d2 = dx[-2], dx[-1]
            a, b, c = d2 / (d1 * (d1 + d2)), -(d2 + d1) / (d1 * d2), (2 * d2 + d1) / (d2 * (d1 + d2))
            last = at([n - 3]) * a + at([n - 2]) * b + at([n - 1]) * c
        parts.append(first)
        if n > 2:  # inside: second-order central differences on (possibly) uneven spacing
            h1, h2 = dx[:-1], dx[1:]
            a = (-h2 / (h1 * (h1 + h2))).reshape(shape)
            b = ((h2 - h1) / (h1 * h2)).reshape(shape)
            c = (h1 / (h2 * (h1 + h2))).reshape(shape)
            parts.append(at(np.arange(0, n - 2)) * a + at(np.arange(1, n - 1)) * b + at(np.arange(2, n)) * c)
        parts.append(last)
        return type(self).cat(parts, axis=ax)

    def sliding_window(self, window, axis=-1, step=1):
        """numpy-style alias of :meth:`unfold` (windows along a new last axis)."""
        return self.unfold(axis, window, step)
