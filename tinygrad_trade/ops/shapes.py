"""Shapes and indexing on Tensor, beyond the core's reshape/transpose/getitem/cat/stack/where:
expand, tile/repeat, split/chunk, vstack/hstack, take/gather/take_along_axis, scatter_add,
moveaxis/flatten/squeeze, and the constructors eye/arange/linspace/full/one_hot/``*_like``.

All but ``expand`` are compositions of the core's primitives (a gather is a ``getitem`` with index
arrays, whose gradient scatters back, repeated indices summing), so none needs a rule of its own.
``expand`` is a primitive whose rule hands ``g`` back unchanged: the core's ``_unbroadcast`` sums
it to the input's shape, the one place broadcasting is undone.

Names follow numpy where numpy has the op (``repeat`` repeats elements, ``tile`` repeats the
array, ``split`` takes sections or indices); ``chunk``, ``gather``, ``scatter_add`` and ``expand``
are torch's. ``squeeze(axis)`` of an axis whose size is not 1 is an error, as in numpy (torch
silently does nothing).
"""
from __future__ import annotations

import numpy as np

from ..graph import Op
from ._base import TensorBase, data, normalize_axis, scatter

__all__ = ["Shapes"]

_EXPAND = Op("expand", lambda g, y, x: (g,))  # _unbroadcast (in Tensor._vjp) sums g down to x's shape


def _full_index(idx, axis, sizes):
    """The advanced index selecting ``idx`` along ``axis`` and position i along every other axis
    ``d`` for ``i < sizes[d]`` (the shape of ``idx`` there, as in torch.gather)."""
    nd = idx.ndim
    out = []
    for d in range(nd):
        if d == axis:
            out.append(idx)
        else:
            out.append(np.arange(sizes[d]).reshape([-1 if i == d else 1 for i in range(nd)]))
    return tuple(out)


def _int_index(indices, op):
    idx = np.asarray(data(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {idx.dtype}")
    return idx


class Shapes(TensorBase):
    __slots__ = ()

    # -- broadcasting and repetition ---------------------------------------------------------
    def expand(self, *shape):
        """A broadcast view to ``shape`` (``-1`` keeps a size), as torch's ``expand``."""
        shape = _shape(shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: cannot expand shape {self.shape} to fewer dimensions {shape}")
        target = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
        try:
            out = np.broadcast_to(self.data, target).copy()
        except ValueError:
            raise ValueError(f"expand: shape {self.shape} cannot be broadcast to {shape}") from None
        return self._make(out, (self,), _EXPAND)

    def broadcast_to(self, *shape):
        return self.expand(*shape)

    def tile(self, reps):
        """numpy.tile (torch's ``repeat``): the whole array repeated ``reps`` times along each axis."""
        reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
        nd = max(len(reps), self.ndim)
        reps = (1,) * (nd - len(reps)) + reps
        x = self.reshape((1,) * (nd - self.ndim) + self.shape)
        inter = tuple(v for s in x.shape for v in (1, s))
        big = tuple(v for r, s in zip(reps, x.shape) for v in (r, s))
        return x.reshape(inter).expand(big).reshape(tuple(r * s for r, s in zip(reps, x.shape)))

    def repeat(self, repeats, axis=None):
        """numpy.repeat (torch's ``repeat_interleave``): each element repeated ``repeats`` times."""
        x, ax = (self.reshape(-1), 0) if axis is None else (self, normalize_axis(axis, self.ndim, "repeat"))
        return x.take(np.repeat(np.arange(x.shape[ax]), repeats), ax)

    repeat_interleave = repeat

    # -- splitting and stacking ---------------------------------------------------------------
    def split(self, indices_or_sections, axis=0):
        """numpy.split: an int number of equal sections, or a list of split points."""
        ax = normalize_axis(axis, self.ndim, "split")
        n = self.shape[ax]
        if np.ndim(indices_or_sections) == 0:
            k = int(indices_or_sections)
            if k <= 0 or n % k:
                raise ValueError(f"split: axis of size {n} does not divide into {k} equal sections")
            bounds = [i * (n // k) for i in range(k + 1)]
        else:
            bounds = [0] + [int(i) for i in indices_or_sections] + [n]
        return [self._slice_axis(ax, lo, max(lo, hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]

    def array_split(self, indices_or_sections, axis=0):
        """numpy.array_split: like split, but ``k`` sections need not divide the axis (the first
        ``n % k`` pieces are one longer)."""
        ax = normalize_axis(axis, self.ndim, "array_split")
        if np.ndim(indices_or_sections) != 0:
            return self.split(indices_or_sections, ax)
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be positive, got {k}")
        n = self.shape[ax]
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        bounds = np.cumsum([0] + sizes)
        return [self._slice_axis(ax, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]

    def tensor_split(self, indices_or_sections, axis=0):
        """torch.tensor_split: numpy's array_split (``dim`` is ``axis``)."""
        return self.array_split(indices_or_sections, axis)

    def chunk(self, chunks, axis=0):
        """torch.chunk: at most ``chunks`` pieces of ceil(n / chunks) (the last may be smaller)."""
        ax = normalize_axis(axis, self.ndim, "chunk")
        n = self.shape[ax]
        size = -(-n // int(chunks))
        return [self._slice_axis(ax, lo, min(lo + size, n)) for lo in range(0, n, max(size, 1))]

    def split_sizes(self, sizes, axis=0):
        """torch.split with a list of piece sizes (or one int size)."""
        ax = normalize_axis(axis, self.ndim, "split_sizes")
        n = self.shape[ax]
        if np.ndim(sizes) == 0:
            size = int(sizes)
            if size <= 0:
                raise ValueError(f"split_sizes: the piece size must be positive, got {size}")
            sizes = [size] * (n // size) + ([n % size] if n % size else [])
        if sum(sizes) != n:
            raise ValueError(f"split_sizes: sizes {list(sizes)} do not add up to the axis size {n}")
        bounds = np.cumsum([0] + list(sizes))
        return [self._slice_axis(ax, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]

    def _slice_axis(self, ax, lo, hi):
        return self[(slice(None),) * ax + (slice(lo, hi),)]

    @classmethod
    def vstack(cls, ts):
        ts = [t if isinstance(t, TensorBase) else cls(t) for t in ts]
        return cls.cat([t.reshape(1, -1) if t.ndim < 2 else t for t in ts], axis=0)

    @classmethod
    def hstack(cls, ts):
        ts = [t if isinstance(t, TensorBase) else cls(t) for t in ts]
        ts = [t.reshape(1) if t.ndim == 0 else t for t in ts]
        return cls.cat(ts, axis=0 if ts[0].ndim == 1 else 1)

    @classmethod
    def column_stack(cls, ts):
        """numpy.column_stack: 1-D (and 0-d) Tensors become columns, 2-D ones are joined as they are."""
        ts = [t if isinstance(t, TensorBase) else cls(t) for t in ts]
        ts = [t.reshape(-1, 1) if t.ndim < 2 else t for t in ts]
        return cls.cat(ts, axis=1)

    @classmethod
    def meshgrid(cls, *ts, indexing="xy"):
        """numpy.meshgrid (default ``indexing="xy"``: the first two output axes swapped; torch's
        default is ``"ij"``): one Tensor per input, each broadcast over the grid."""
        if indexing not in ("xy", "ij"):
            raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
        ts = [(t if isinstance(t, TensorBase) else cls(t)).reshape(-1) for t in ts]
        shape = [t.shape[0] for t in ts]
        if indexing == "xy" and len(ts) > 1:
            shape[0], shape[1] = shape[1], shape[0]
        out = []
        for i, t in enumerate(ts):
            pos = (1 - i if i < 2 else i) if indexing == "xy" and len(ts) > 1 else i
            out.append(t.reshape([-1 if d == pos else 1 for d in range(len(ts))]).expand(tuple(shape)))
        return out

    def select(self, axis, index):
        """torch.select: the slice at ``index`` along ``axis`` (that axis removed)."""
        ax = normalize_axis(axis, self.ndim, "select")
        n = self.shape[ax]
        if not -n <= int(index) < n:
            raise IndexError(f"select: index {index} is out of range for axis {ax} of size {n}")
        return self[(slice(None),) * ax + (int(index),)]

    # -- gathers and scatters -----------------------------------------------------------------
    def take(self, indices, axis=None):
        """numpy.take: the elements at integer ``indices`` along ``axis`` (flattened when None)."""
        idx = _int_index(indices, "take")
        if axis is None:
            return self.reshape(-1)[idx]
        ax = normalize_axis(axis, self.ndim, "take")
        n = self.shape[ax]
        if idx.size and (idx.max() >= n or idx.min() < -n):
            raise IndexError(f"take: index out of range for axis {ax} of size {n}")
        return self[(slice(None),) * ax + (idx,)]

    def take_along_axis(self, indices, axis):
        """numpy.take_along_axis: ``indices`` has this Tensor's ndim and broadcasts against it."""
        idx = _int_index(indices, "take_along_axis")
        ax = normalize_axis(axis, self.ndim, "take_along_axis")
        if idx.ndim != self.ndim:
            raise ValueError(f"take_along_axis: indices have {idx.ndim} dimensions, the Tensor {self.ndim}")
        shape = np.broadcast_shapes(tuple(1 if d == ax else n for d, n in enumerate(self.shape)),
                                    tuple(1 if d == ax else n for d, n in enumerate(idx.shape)))
        idx = np.broadcast_to(idx, tuple(idx.shape[d] if d == ax else shape[d] for d in range(self.ndim)))
        return self[_full_index(idx, ax, idx.shape)]

    def gather(self, axis, indices):
        """torch.gather: ``out[i][j] = self[indices[i][j]][j]`` (axis 0); ``indices`` may be smaller
        than the Tensor along the other axes."""
        idx = _int_index(indices, "gather")
        ax = normalize_axis(axis, self.ndim, "gather")
        if idx.ndim != self.ndim or any(idx.shape[d] > self.shape[d] for d in range(self.ndim) if d != ax):
            raise ValueError(f"gather: index shape {idx.shape} does not fit the Tensor's {self.shape}")
        return self[_full_index(idx, ax, idx.shape)]

    def scatter_add(self, axis, indices, src):
        """torch.scatter_add: a copy of self with ``src[i][j]`` added at ``[indices[i][j]][j]`` (axis 0);
        repeated indices add up."""
        idx = _int_index(indices, "scatter_add")
        ax = normalize_axis(axis, self.ndim, "scatter_add")
        src = self._lift(src)
        if idx.ndim != self.ndim or any(idx.shape[d] > src.shape[d] for d in range(self.ndim)):
            raise ValueError(f"scatter_add: index shape {idx.shape} does not fit src {src.shape}")
        src = src[tuple(slice(0, n) for n in idx.shape)]
        return self + scatter(src, self.shape, _full_index(idx, ax, idx.shape))

    def _scatter_positions(self, axis, indices, src, op):
        idx = _int_index(indices, op)
        ax = normalize_axis(axis, self.ndim, op)
        src = self._lift(src)
        if src.ndim == 0:
            src = src.expand(idx.shape)
        if idx.ndim != self.ndim or any(idx.shape[d] > src.shape[d] for d in range(self.ndim)) or any(
                idx.shape[d] > self.shape[d] for d in range(self.ndim) if d != ax):
            raise ValueError(f"{op}: index shape {idx.shape} does not fit src {src.shape} and self {self.shape}")
        if idx.size and (idx.max() >= self.shape[ax] or idx.min() < -self.shape[ax]):
            raise IndexError(f"{op}: index out of range for axis {ax} of size {self.shape[ax]}")
        full = _full_index(idx % max(self.shape[ax], 1), ax, idx.shape)
        dest = np.ravel_multi_index(full, self.shape).reshape(-1)  # flat destination of each src element
        return src[tuple(slice(0, n) for n in idx.shape)].reshape(-1), dest

    def scatter(self, axis, indices, src):
        """torch.scatter: a copy of self with ``src[i][j]`` written at ``[indices[i][j]][j]`` (axis 0);
        ``src`` may be a number. Where an index repeats, the last write wins (torch leaves it
        unspecified). The gradient reaches self where nothing was written and each written src."""
        vals, dest = self._scatter_positions(axis, indices, src, "scatter")
        last = np.full(self.size, -1)
        last[dest] = np.arange(dest.size)  # numpy assignment: the last of repeated indices wins
        written = last >= 0
        pick = np.where(written, last, 0)
        flat = type(self).where(written, vals[pick] if vals.size else 0.0, self.reshape(-1))
        return flat.reshape(self.shape)

    def scatter_reduce(self, axis, indices, src, reduce, include_self=True):
        """torch.scatter_reduce with ``reduce`` 'sum', 'prod', 'mean', 'amax' or 'amin'; torch's
        gradients (amax/amin share it equally among the elements that tie for the extreme)."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise ValueError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got {reduce!r}")
        vals, dest = self._scatter_positions(axis, indices, src, "scatter_reduce")
        flat = self.reshape(-1)
        count = np.bincount(dest, minlength=self.size)
        hit = count > 0
        base = flat if include_self else type(self).where(hit, 0.0 if reduce != "prod" else 1.0, flat)
        if reduce in ("sum", "mean"):
            out = base + scatter(vals, (self.size,), dest) if vals.size else base
            if reduce == "mean":
                out = out * (1.0 / np.maximum(count + (1 if include_self else 0), 1))
                out = type(self).where(hit, out, flat)
        elif reduce == "prod":
            out = base
            order = np.argsort(dest, kind="stable")
            rank = np.empty_like(order)
            starts = np.concatenate([[0], np.cumsum(count)[:-1]])
            rank[order] = np.arange(dest.size) - starts[dest[order]]
            for r in range(int(count.max(initial=0))):  # one factor per repeat of a destination
                sel = rank == r
                factor = np.ones(self.size, dtype=int) * -1
                factor[dest[sel]] = np.nonzero(sel)[0]
                out = out * type(self).where(factor >= 0, vals[np.maximum(factor, 0)], 1.0)
        else:
            better = np.maximum if reduce == "amax" else np.minimum
            start = -np.inf if reduce == "amax" else np.inf
            ext = flat.data.copy() if include_self else np.where(hit, start, flat.data)
            better.at(ext, dest, vals.data)
            tie_self = (flat.data == ext) & (include_self | ~hit)
            tie_src = vals.data == ext[dest]
            n_ties = tie_self.astype(int) + np.bincount(dest, weights=tie_src, minlength=self.size).astype(int)
            share = 1.0 / np.maximum(n_ties, 1)
            lin = flat * (tie_self * share) + scatter(vals * (tie_src * share[dest]), (self.size,), dest)
            out = lin + self._lift(ext - lin.data)  # the exact extreme; the gradient of the shares
        return out.reshape(self.shape)

    # -- axes -----------------------------------------------------------------------------------
    def moveaxis(self, source, destination):
        src = [normalize_axis(a, self.ndim, "moveaxis") for a in np.atleast_1d(source)]
        dst = [normalize_axis(a, self.ndim, "moveaxis") for a in np.atleast_1d(destination)]
        order = [i for i in range(self.ndim) if i not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return self.transpose(*order)

    def permute(self, *axes):
        return self.transpose(*axes)

    def flatten(self, start_axis=0, end_axis=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = normalize_axis(start_axis, self.ndim, "flatten")
        e = normalize_axis(end_axis, self.ndim, "flatten")
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def squeeze(self, axis=None):
        """Drop axes of size 1 (all of them when ``axis`` is None); naming an axis whose size is not 1
        is an error, as in numpy."""
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = {normalize_axis(a, self.ndim, "squeeze") for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
        for a in sorted(axes):
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {self.shape[a]}, not 1 (shape {self.shape})")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis):
        return self.expand_dims(axis)

    def ravel(self):
        return self.reshape(-1)

    def atleast_1d(self):
        return self.reshape(1) if self.ndim == 0 else self

    def atleast_2d(self):
        return self.reshape((1,) * (2 - self.ndim) + self.shape) if self.ndim < 2 else self

    def atleast_3d(self):
        """numpy's: (N,) -> (1, N, 1), (M, N) -> (M, N, 1)."""
        if self.ndim >= 3:
            return self
        return self.reshape({0: (1, 1, 1), 1: (1, -1, 1), 2: self.shape + (1,)}[self.ndim])

    def rot90(self, k=1, axes=(0, 1)):
        """numpy.rot90: rotate by 90 degrees ``k`` times in the plane of ``axes``."""
        a, b = (normalize_axis(ax, self.ndim, "rot90") for ax in axes)
        k %= 4
        if k == 0:
            return self
        if k == 2:
            return self.flip((a, b))
        return self.flip(b).swapaxes(a, b) if k == 1 else self.swapaxes(a, b).flip(b)

    def append(self, values, axis=None):
        """numpy.append: flattened (``axis=None``) or along ``axis``."""
        values = self._lift(values)
        if axis is None:
            return type(self).cat([self.reshape(-1), values.reshape(-1)])
        return type(self).cat([self, values], axis=axis)

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def eye(cls, n, m=None, k=0, requires_grad=False, dtype=None):
        return cls(np.eye(n, m, k), requires_grad=requires_grad, dtype=dtype)

    @classmethod
    def arange(cls, *args, requires_grad=False, dtype=None):
        return cls(np.arange(*args, dtype=np.float64), requires_grad=requires_grad, dtype=dtype)

    @classmethod
    def linspace(cls, start, stop, num=50, requires_grad=False, dtype=None):
        return cls(np.linspace(start, stop, num), requires_grad=requires_grad, dtype=dtype)

    @classmethod
    def full(cls, shape, fill_value, requires_grad=False, dtype=None):
        return cls(np.full(shape, fill_value, dtype=np.float64), requires_grad=requires_grad, dtype=dtype)

    @classmethod
    def one_hot(cls, indices, num_classes=None, dtype=None):
        """Rows of the identity for integer ``indices`` (a constant Tensor, new last axis)."""
        idx = _int_index(indices, "one_hot")
        n = int(idx.max()) + 1 if num_classes is None else int(num_classes)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"one_hot: indices must be in [0, {n}), got {idx.min()}..{idx.max()}")
        return cls(np.eye(n)[idx], dtype=dtype)

    def zeros_like(self, requires_grad=False):
        return type(self)(np.zeros_like(self.data), requires_grad=requires_grad, dtype=self.dtype)

    def ones_like(self, requires_grad=False):
        return type(self)(np.ones_like(self.data), requires_grad=requires_grad, dtype=self.dtype)

    def full_like(self, fill_value, requires_grad=False):
        return type(self)(np.full_like(self.data, fill_value), requires_grad=requires_grad, dtype=self.dtype)


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(int(s) for s in shape[0])
    return tuple(int(s) for s in shape)
