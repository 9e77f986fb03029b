"""Linear algebra on Tensor (batched over leading axes, numpy's conventions), each primitive's
forward beside its rule: solve, solve_triangular, inv, det, slogdet, cholesky, einsum (the spectral
decompositions, eigh/eig/svd/pinv, are in ``spectral.py``). Compositions: trace, diagonal, diag,
tril/triu, outer, inner, dot, tensordot, kron, cross, matrix_power.

Rules are written with Tensor methods that have numpy twins (through ``F`` or the small dispatch
helpers here), so they also record a graph: second derivatives (Hessians of Gaussian
log-likelihoods, of portfolio variances) work through every primitive.

Conventions: ``cholesky`` reads only the lower triangle (as numpy and torch); its gradient is torch's
symmetric one, the gradient with respect to a symmetric matrix (its lower-triangular fold is the
derivative of exactly what is read; the two agree on any function of a symmetric input). ``slogdet`` returns numpy's pair
``SlogdetResult(sign, logabsdet)`` (torch's names too), batched. ``solve``/``inv``/``det`` of a
singular matrix and ``cholesky`` of a non-positive-definite one are clear errors.
"""
from __future__ import annotations

import string
from typing import NamedTuple

import numpy as np

from ..graph import Op
from ._base import F, TensorBase, data

__all__ = ["Linalg", "SlogdetResult"]


class SlogdetResult(NamedTuple):
    """numpy's (and torch's) pair: ``sign`` (a constant Tensor) and ``logabsdet`` (differentiable)."""
    sign: object
    logabsdet: object


def _swap(x):
    return x.swapaxes(-1, -2)


def _linalg(name, fn, *arrays):
    try:
        with np.errstate(all="ignore"):
            return fn(*arrays)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"{name}: {str(e).lower()}") from None


def _tri_mask(shape, upper, k=0, dtype=np.float64):
    n, m = shape[-2:]
    return (np.triu(np.ones((n, m)), k) if upper else np.tril(np.ones((n, m)), k)).astype(dtype)


def _solve_tri_np(a, b, upper):
    return _linalg("solve_triangular", np.linalg.solve, a * _tri_mask(a.shape, upper, dtype=a.dtype), b)


def _solve_tri(a, b, upper):
    if isinstance(a, TensorBase) or isinstance(b, TensorBase):
        ref = a if isinstance(a, TensorBase) else b
        return ref._lift(a).solve_triangular(b, upper=upper)
    return _solve_tri_np(a, b, upper)


def _solve(a, b):
    if isinstance(a, TensorBase) or isinstance(b, TensorBase):
        ref = a if isinstance(a, TensorBase) else b
        return ref._lift(a).solve(b)
    return _linalg("solve", np.linalg.solve, a, b)


def _row(x):
    """(..., n) -> (..., 1, n), on arrays and Tensors."""
    shape = data(x).shape
    return x.reshape(shape[:-1] + (1, shape[-1]))


def _col(x):
    shape = data(x).shape
    return x.reshape(shape + (1,))


def _mat(x):
    """(...) -> (..., 1, 1)."""
    return x.reshape(data(x).shape + (1, 1))


# -- rules --------------------------------------------------------------------------------------
def _solve_vjp(g, y, a, b):
    gb = _solve(_swap(a), g)
    return (-(gb @ _swap(y)), gb)


def _solve_tri_op(upper):
    def vjp(g, y, a, b):
        gb = _solve_tri(_swap(a), g, not upper)
        return (-(gb @ _swap(y)) * _tri_mask(data(a).shape, upper, dtype=data(a).dtype), gb)
    return Op("solve_triangular", vjp)


def _inv_vjp(g, y, a):
    yt = _swap(y)
    return (-(yt @ g @ yt),)


def _det_vjp(g, y, a):
    return (_mat(g * y) * _swap(F.inv(a)),)


def _slogdet_vjp(g, y, a):
    return (_mat(g) * _swap(F.inv(a)),)


def _phi(n, dtype):
    """Lower triangle with the diagonal halved (Phi of the cholesky rule)."""
    return (np.tril(np.ones((n, n))) - 0.5 * np.eye(n)).astype(dtype)


def _cholesky_vjp(g, y, a):
    n = data(y).shape[-1]
    phi = _phi(n, data(y).dtype)
    lt = _swap(y)
    q = _solve_tri(lt, (lt @ g) * phi, True)           # L^T Q = Phi(L^T gL)
    mt = _solve_tri(lt, _swap(q), True)                 # M = L^-T Phi(L^T gL) L^-1, as M^T
    return ((mt + _swap(mt)) * 0.5,)                    # torch's symmetric gradient


def _einsum_op(spec, ins, out):
    def vjp(g, y, *xs):
        grads = []
        for i, (sub, x) in enumerate(zip(ins, xs)):
            others = [(s, xx) for j, (s, xx) in enumerate(zip(ins, xs)) if j != i]
            present = "".join(c for c in sub if c in out or any(c in s for s, _ in others))
            expr = ",".join([out] + [s for s, _ in others]) + "->" + present
            r = _einsum(expr, g, *[xx for _, xx in others])
            if present != sub:  # letters summed away inside this operand alone: broadcast back
                shape = data(x).shape
                r = F.broadcast_to(r.reshape(tuple(shape[k] if c in present else 1 for k, c in enumerate(sub))),
                                   shape)
            grads.append(r)
        return tuple(grads)
    return Op("einsum", vjp)


def _einsum(spec, *ops):
    if any(isinstance(o, TensorBase) for o in ops):
        ref = next(o for o in ops if isinstance(o, TensorBase))
        return type(ref).einsum(spec, *ops)
    return np.einsum(spec, *ops)


def _parse_einsum(spec, shapes):
    """Explicit input/output subscripts with '...' spelled out as letters."""
    spec = spec.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: {len(ins)} operands in {spec!r}, {len(shapes)} given")
    used = set(spec) - set(".,->")
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = max((len(sh) - (len(s) - 3) for s, sh in zip(ins, shapes) if "..." in s), default=0)
    ell = "".join(free[:n_ell])
    ins = [s.replace("...", ell[n_ell - (len(sh) - (len(s) - 3)):]) if "..." in s else s
           for s, sh in zip(ins, shapes)]
    if not arrow:
        counts = {}
        for c in "".join(ins):
            counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
    return ins, rhs


class Linalg(TensorBase):
    __slots__ = ()

    def _need_square(self, name):
        if self.ndim < 2 or self.shape[-1] != self.shape[-2]:
            raise ValueError(f"{name}: needs square matrices (..., n, n), got shape {self.shape}")

    # -- solves and inverses --------------------------------------------------------------------
    def solve(self, b):
        """x with ``self @ x = b`` (numpy 2: ``b`` is a vector only when it is 1-D)."""
        self._need_square("solve")
        b = self._lift(b)
        if b.ndim == 1:
            x = self.solve(b.reshape(-1, 1))
            return x.reshape(x.shape[:-1])
        x = _linalg("solve", np.linalg.solve, self.data, b.data)
        return self._make(x, (self, b), Op("solve", _solve_vjp))

    def solve_triangular(self, b, upper=False):
        """x with ``tril(self) @ x = b`` (``triu`` when ``upper``); only that triangle is read."""
        self._need_square("solve_triangular")
        b = self._lift(b)
        if b.ndim == 1:
            x = self.solve_triangular(b.reshape(-1, 1), upper=upper)
            return x.reshape(x.shape[:-1])
        x = _solve_tri_np(self.data, b.data, upper)
        return self._make(x, (self, b), _solve_tri_op(upper))

    def inv(self):
        self._need_square("inv")
        return self._make(_linalg("inv", np.linalg.inv, self.data), (self,), Op("inv", _inv_vjp))

    # -- determinants ---------------------------------------------------------------------------
    def det(self):
        self._need_square("det")
        y = _linalg("det", np.linalg.det, self.data)
        if self.requires_grad and (y == 0).any():
            raise ValueError("det: the gradient at a singular matrix is not available")
        return self._make(np.asarray(y), (self,), Op("det", _det_vjp))

    def slogdet(self):
        """SlogdetResult(sign, logabsdet), batched: ``sign`` a constant Tensor (no gradient),
        ``logabsdet`` a Tensor with its gradient (at a singular matrix: -inf, no gradient)."""
        self._need_square("slogdet")
        sign, logdet = np.linalg.slogdet(self.data)
        if self.requires_grad and (sign == 0).any():
            raise ValueError("slogdet: the gradient at a singular matrix is not available")
        return SlogdetResult(self._lift(np.asarray(sign, dtype=self.dtype)),
                             self._make(np.asarray(logdet), (self,), Op("slogdet", _slogdet_vjp)))

    def logdet(self):
        sign, ld = self.slogdet()
        if (sign.data <= 0).any():
            raise ValueError("logdet: the determinant is not positive (use slogdet)")
        return ld

    # -- factorizations -------------------------------------------------------------------------
    def cholesky(self):
        """Lower L with ``L @ L.T = self`` (reads the lower triangle; positive definite); the gradient
        is the symmetric one (torch's)."""
        self._need_square("cholesky")
        try:
            y = np.linalg.cholesky(self.data)
        except np.linalg.LinAlgError:
            raise ValueError("cholesky: the matrix is not positive definite") from None
        return self._make(y, (self,), Op("cholesky", _cholesky_vjp))

    # -- products -------------------------------------------------------------------------------
    @classmethod
    def einsum(cls, spec, *operands):
        """numpy.einsum (explicit or implicit output, '...' allowed); repeated letters in one
        operand take its diagonal."""
        ts = [o if isinstance(o, TensorBase) else cls(o) for o in operands]
        ins, out = _parse_einsum(spec, [t.shape for t in ts])
        for i, (sub, t) in enumerate(zip(ins, ts)):
            while len(set(sub)) < len(sub):  # 'ii' -> the diagonal, as one letter
                c = next(c for c in sub if sub.count(c) > 1)
                p, q = sub.index(c), sub.index(c, sub.index(c) + 1)
                t = t.diagonal(0, p, q)
                sub = "".join(ch for k, ch in enumerate(sub) if k not in (p, q)) + c
            ins[i], ts[i] = sub, t
        spec = ",".join(ins) + "->" + out
        try:
            y = np.einsum(spec, *[t.data for t in ts])
        except ValueError as e:
            raise ValueError(f"einsum {spec!r}: {e}") from None
        return ts[0]._make(np.asarray(y), tuple(ts), _einsum_op(spec, ins, out))

    def tensordot(self, other, axes=2):
        """numpy.tensordot: sum over the last ``axes`` of self and the first of other (or two lists)."""
        other = self._lift(other)
        if np.ndim(axes) == 0:
            a_ax, b_ax = list(range(self.ndim - axes, self.ndim)), list(range(axes))
        else:
            a_ax, b_ax = [list(np.atleast_1d(a)) for a in axes]
        a_ax = [int(a) % self.ndim for a in a_ax]
        b_ax = [int(b) % other.ndim for b in b_ax]
        letters = iter(string.ascii_letters)
        sa = [next(letters) for _ in range(self.ndim)]
        sb = [next(letters) for _ in range(other.ndim)]
        for i, j in zip(a_ax, b_ax):
            sb[j] = sa[i]
        out = [c for i, c in enumerate(sa) if i not in a_ax] + [c for j, c in enumerate(sb) if j not in b_ax]
        return type(self).einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), self, other)

    def outer(self, other):
        other = self._lift(other)
        return self.reshape(-1, 1) * other.reshape(1, -1)

    def inner(self, other):
        """numpy.inner: sum over the last axis of both (the other axes form an outer product)."""
        other = self._lift(other)
        return self.tensordot(other, ([-1], [-1])) if self.ndim and other.ndim else self * other

    def dot(self, other):
        other = self._lift(other)
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        return self @ other

    def kron(self, other):
        """numpy.kron for any ranks (the smaller rank padded with leading 1s), scalars included."""
        other = self._lift(other)
        nd = max(self.ndim, other.ndim)
        sa = (1,) * (nd - self.ndim) + self.shape
        sb = (1,) * (nd - other.ndim) + other.shape
        a = self.reshape(tuple(v for n in sa for v in (n, 1)))
        b = other.reshape(tuple(v for n in sb for v in (1, n)))
        return (a * b).reshape(tuple(p * q for p, q in zip(sa, sb)))

    def cross(self, other, axis=-1):
        """numpy.cross of 3-vectors along ``axis`` (torch.linalg.cross's ``dim``), broadcasting;
        2-vectors are taken with a zero third component (numpy's; a 2-D result is the z part)."""
        other = self._lift(other)
        a, b = self.moveaxis(axis, -1), other.moveaxis(axis, -1)
        na, nb = a.shape[-1], b.shape[-1]
        if na not in (2, 3) or nb not in (2, 3):
            raise ValueError(f"cross: vectors must have 2 or 3 components along axis {axis}, got {na} and {nb}")
        if na == 2 and nb == 2:
            return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
        a0, a1 = a[..., 0], a[..., 1]
        b0, b1 = b[..., 0], b[..., 1]
        a2 = a[..., 2] if na == 3 else 0.0
        b2 = b[..., 2] if nb == 3 else 0.0
        out = type(self).stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
        return out.moveaxis(-1, axis) if out.ndim > 1 else out

    def matrix_power(self, k):
        self._need_square("matrix_power")
        if k < 0:
            return self.inv().matrix_power(-k)
        out = self._lift(np.broadcast_to(np.eye(self.shape[-1], dtype=self.dtype), self.shape).copy())
        for _ in range(int(k)):
            out = out @ self
        return out

    # -- parts of matrices --------------------------------------------------------------------
    def diagonal(self, offset=0, axis1=0, axis2=1):
        """numpy.diagonal: the diagonal of axes (axis1, axis2) becomes the last axis."""
        nd = self.ndim
        if nd < 2:
            raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {self.shape}")
        a1, a2 = axis1 % nd, axis2 % nd
        x = self.transpose(*[i for i in range(nd) if i not in (a1, a2)], a1, a2)
        n, m = x.shape[-2:]
        size = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
        i = np.arange(size) + max(0, -offset)
        return x[..., i, i + offset]

    def diag_embed(self):
        """(..., n) -> (..., n, n) with the last axis on the diagonal (torch's diag_embed)."""
        n = self.shape[-1]
        return self.reshape(self.shape + (1,)) * np.eye(n, dtype=self.dtype)

    def diag(self, k=0):
        """numpy.diag: a 1-D Tensor becomes the matrix with it on diagonal ``k``; a 2-D Tensor gives
        its diagonal ``k``."""
        if self.ndim == 2:
            return self.diagonal(k)
        if self.ndim != 1:
            raise ValueError(f"diag: needs a 1-D or 2-D Tensor, got shape {self.shape}")
        n = self.shape[0] + abs(k)
        rows = np.arange(self.shape[0]) + max(0, -k)
        cols = np.arange(self.shape[0]) + max(0, k)
        pick = np.zeros((n, n), dtype=int)
        pick[rows, cols] = np.arange(self.shape[0]) + 1
        padded = type(self).cat([self._lift(np.zeros(1, dtype=self.dtype)), self])
        return padded[pick]

    def trace(self, offset=0, axis1=0, axis2=1):
        return self.diagonal(offset, axis1, axis2).sum(axis=-1)

    def tril(self, k=0):
        return self * _tri_mask(self.shape, False, k, self.dtype)

    def triu(self, k=0):
        return self * _tri_mask(self.shape, True, k, self.dtype)
