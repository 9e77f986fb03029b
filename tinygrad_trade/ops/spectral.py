"""Spectral decompositions on Tensor (batched over leading axes): eigh/eigvalsh, eig/eigvals of a
matrix with real eigenvalues, svd (full or thin) and the pseudo-inverse, each primitive's forward
beside its rule.

Results are numpy's named pairs and triples: ``eigh`` an ``EighResult(eigenvalues, eigenvectors)``,
``eig`` an ``EigResult(eigenvalues, eigenvectors)``, ``svd`` an ``SVDResult(U, S, Vh)``; each
unpacks as a tuple and also reads by name, as numpy's (and torch's) do.

Gradient conventions (PyTorch's, where numpy has none):

- ``eigh``/``eigvalsh`` read the lower triangle (as numpy and torch); their gradient is the
  symmetric one, ``V (diag(gw) + F o skew(V^T gV)) V^T`` (torch's), the gradient with respect to a
  symmetric matrix. On a function of a symmetric input (``x + x.T``, ``x @ x.T``) it equals the
  derivative of what is computed; a finite difference of one off-diagonal element of a raw input
  sees the lower-triangular fold instead.
- ``svd`` with ``full_matrices=True`` (numpy's and torch's default): the columns of U (rows of Vh)
  beyond min(m, n) are not unique; gradients reaching them are ignored, as torch does.
- ``eig`` needs real eigenvalues (a clear error otherwise: the Tensor is real); the eigenvector
  gradient is torch's for unit-norm eigenvectors. Eigenvector gradients need distinct values.
- ``pinv``: singular values at or below ``rcond * max(S)`` count as zero (numpy's default
  ``rcond=1e-15``; torch's ``rtol`` is ``max(m, n) * eps``, the same cut in practice); its gradient
  holds where the rank does not change (the Golub-Pereyra formula, torch's).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..graph import Op
from ._base import F, TensorBase, data
from .linalg import _col, _row, _swap

__all__ = ["Spectral", "EighResult", "EigResult", "SVDResult"]


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class EigResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


def _eye(n, like):
    return np.eye(n, dtype=data(like).dtype)


def _solve(a, b):
    if isinstance(a, TensorBase) or isinstance(b, TensorBase):
        ref = a if isinstance(a, TensorBase) else b
        return ref._lift(a).solve(b)
    return np.linalg.solve(a, b)


def _off_diag_inverse(d, name):
    """1 / d off the diagonal, 0 on it (d[..., i, j] = v_j - v_i)."""
    dd = data(d)
    n = dd.shape[-1]
    off = (1.0 - np.eye(n)).astype(dd.dtype)
    if (np.abs(dd) * off == 0).sum() > np.prod(dd.shape[:-2], dtype=int) * n:
        raise ValueError(f"{name}: the gradient needs distinct values (repeated ones found)")
    return off / F.where(off.astype(bool), d, 1.0)


def _used(g):
    """Whether a gradient part takes part: non-zero, or (under create_graph) depending on the inputs
    (a zero that varies still carries a second derivative)."""
    return (isinstance(g, TensorBase) and g.requires_grad) or bool((data(g) != 0).any())


# -- rules --------------------------------------------------------------------------------------
def _eigh_vjp(g, y, a):
    n = data(a).shape[-1]
    w, v = y[..., 0, :], y[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    inner = _row(gw) * _eye(n, a)
    if _used(gv):  # eigenvalues only: no distinct-values condition
        f = _off_diag_inverse(_row(w) - _col(w), "eigh")
        inner = inner + f * (_swap(v) @ gv)
    gm = v @ inner @ _swap(v)
    return ((gm + _swap(gm)) * 0.5,)


def _eig_vjp(g, y, a):
    """torch's linalg_eig_backward for real eigenvalues and unit-norm eigenvectors."""
    n = data(a).shape[-1]
    w, v = y[..., 0, :], y[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    inner = _row(gw) * _eye(n, a)
    if _used(gv):
        vtgv = _swap(v) @ gv
        diag = (vtgv * _eye(n, a)).sum(axis=-1)            # diag(V^T gV)
        vtgv = vtgv - _swap(v) @ (v * _row(diag))
        f = _off_diag_inverse(_row(w) - _col(w), "eig")
        inner = inner + f * vtgv
    return (_solve(_swap(v), inner @ _swap(v)),)


def _svd_unpack(p, m, n, k, ku, kv):
    """U (m, ku), S (k,), Vh (kv, n) from the packed array (ku = m or k, kv = n or k)."""
    batch = data(p).shape[:-1]
    u = p[..., :m * ku].reshape(batch + (m, ku))
    s = p[..., m * ku:m * ku + k]
    vh = p[..., m * ku + k:].reshape(batch + (kv, n))
    return u, s, vh


def _svd_op(m, n, k, ku, kv):
    def vjp(g, y, a):
        u, s, vh = _svd_unpack(y, m, n, k, ku, kv)
        gu, gs, gvh = _svd_unpack(g, m, n, k, ku, kv)
        if ku > k:  # full matrices: the extra columns of U (rows of Vh) are not unique; ignored (torch)
            u, gu = u[..., :k], gu[..., :k]
        if kv > k:
            vh, gvh = vh[..., :k, :], gvh[..., :k, :]
        dt = data(a).dtype
        ga = u @ (_row(gs) * np.eye(k, dtype=dt)) @ vh
        if not (_used(gu) or _used(gvh)):  # singular values only
            return (ga,)
        if data(s).size and (data(s) == 0).any():
            raise ValueError("svd: the gradient of U or Vh needs non-zero singular values")
        v, gv = _swap(vh), _swap(gvh)
        s2 = s * s
        f = _off_diag_inverse(_row(s2) - _col(s2), "svd")
        j = f * (_swap(u) @ gu)
        kk = f * (_swap(v) @ gv)
        sd = _row(s)
        ga = ga + u @ ((j + _swap(j)) * sd + _swap(_swap(kk + _swap(kk)) * sd)) @ vh
        inv_s = 1.0 / s
        if m > k:
            ga = ga + (gu - u @ (_swap(u) @ gu)) * _row(inv_s) @ vh
        if n > k:
            ga = ga + (u * _row(inv_s)) @ (gvh - (gvh @ v) @ vh)
        return (ga,)
    return Op("svd", vjp)


def _pinv_vjp(g, y, a):
    """Golub-Pereyra: the derivative of the pseudo-inverse P where the rank is constant."""
    p, pt = y, _swap(y)
    m, n = data(a).shape[-2:]
    gt = _swap(g)
    out = -(pt @ g @ pt)
    out = out + (np.eye(m, dtype=data(a).dtype) - a @ p) @ gt @ (p @ pt)
    out = out + (pt @ p) @ gt @ (np.eye(n, dtype=data(a).dtype) - p @ a)
    return (out,)


def _pinv_np(a, rcond):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    cut = rcond * s.max(axis=-1, keepdims=True, initial=0.0)
    inv = np.where(s > cut, 1.0 / np.where(s > cut, s, 1.0), 0.0)
    return (_swap(vh) * inv[..., None, :]) @ _swap(u)


class Spectral(TensorBase):
    __slots__ = ()

    def eigh(self, UPLO="L"):
        """EighResult(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix, read from
        the lower triangle (``UPLO="U"``: the upper)."""
        self._need_square("eigh")
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        x = self if UPLO == "L" else self.swapaxes(-1, -2)
        w, v = np.linalg.eigh(x.data)
        packed = x._make(np.concatenate([w[..., None, :], v], axis=-2), (x,), Op("eigh", _eigh_vjp))
        return EighResult(packed[..., 0, :], packed[..., 1:, :])

    def eigvalsh(self, UPLO="L"):
        return self.eigh(UPLO)[0]

    def eig(self):
        """EigResult(eigenvalues, unit eigenvectors as columns) of a square matrix whose eigenvalues
        are real (numpy's order); complex eigenvalues are an error (a Tensor is real)."""
        self._need_square("eig")
        try:
            w, v = np.linalg.eig(self.data)
        except np.linalg.LinAlgError as e:
            raise ValueError(f"eig: {str(e).lower()}") from None
        if np.iscomplexobj(w):
            scale = np.maximum(np.abs(w).max(axis=-1, keepdims=True, initial=0.0), 1.0)
            if (np.abs(w.imag) > 1e-12 * scale).any():
                raise ValueError("eig: the matrix has complex eigenvalues; a Tensor is real "
                                 "(use a symmetric matrix and eigh, or t.numpy() with numpy.linalg.eig)")
            w, v = w.real, v.real
        packed = self._make(np.concatenate([w[..., None, :], v], axis=-2), (self,), Op("eig", _eig_vjp))
        return EigResult(packed[..., 0, :], packed[..., 1:, :])

    def eigvals(self):
        """The (real) eigenvalues of a square matrix, numpy's order; see :meth:`eig`."""
        return self.eig()[0]

    def svd(self, full_matrices=True, compute_uv=True):
        """SVDResult(U, S, Vh) with ``self = U[..., :k] @ diag(S) @ Vh[..., :k, :]``, S descending, as
        numpy (``full_matrices=True``: U is (m, m) and Vh (n, n); ``False``: thin, k = min(m, n));
        ``compute_uv=False`` returns S alone."""
        if self.ndim < 2:
            raise ValueError(f"svd: needs matrices, got shape {self.shape}")
        m, n = self.shape[-2:]
        k = min(m, n)
        if not compute_uv:
            return self.svd(full_matrices=False)[1]
        full = bool(full_matrices)
        ku, kv = (m, n) if full else (k, k)
        u, s, vh = np.linalg.svd(self.data, full_matrices=full)
        batch = self.shape[:-2]
        flat = np.concatenate([u.reshape(batch + (m * ku,)), s, vh.reshape(batch + (kv * n,))], axis=-1)
        return SVDResult(*_svd_unpack(self._make(flat, (self,), _svd_op(m, n, k, ku, kv)), m, n, k, ku, kv))

    def svdvals(self):
        """The singular values, descending (torch.linalg.svdvals)."""
        return self.svd(compute_uv=False)

    def pinv(self, rcond=1e-15):
        """Moore-Penrose pseudo-inverse (numpy's: singular values <= ``rcond * max(S)`` count as 0);
        differentiable where the rank is locally constant (full rank or not)."""
        if self.ndim < 2:
            raise ValueError(f"pinv: needs matrices, got shape {self.shape}")
        y = _pinv_np(self.data, float(rcond))
        return self._make(y, (self,), Op("pinv", _pinv_vjp))
