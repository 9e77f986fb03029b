"""The functional forms of a few layers on Tensor, with ``torch.nn.functional``'s definitions and
argument names: ``conv_transpose1d``, ``scaled_dot_product_attention`` and ``normalize`` (methods
of the input, the query and the Tensor to normalise).

All are compositions of the core's primitives (einsum against a constant 0/1 placement array,
``@``, softmax, norm), so their gradients and second derivatives need no rule of their own.
"""
from __future__ import annotations

import math

import numpy as np

from ._base import TensorBase, data, normalize_axis

__all__ = ["Layers"]


def _positive_int(name, op, v, low=1):
    if int(v) != v or int(v) < low:
        raise ValueError(f"{op}: {name} must be an integer >= {low}, got {v!r}")
    return int(v)


def _placement(length, k, stride, dilation, padding, out_len, dtype):
    """T[l, j, p] = 1 where input position l, tap j lands on output position p."""
    t = np.zeros((length, k, out_len), dtype=dtype)
    for j in range(k):
        p = np.arange(length) * stride + j * dilation - padding
        ok = (p >= 0) & (p < out_len)
        t[np.arange(length)[ok], j, p[ok]] = 1.0
    return t


class Layers(TensorBase):
    __slots__ = ()

    def conv_transpose1d(self, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        """torch.nn.functional.conv_transpose1d of this input ``(N, C_in, L)`` (or ``(C_in, L)``) with
        ``weight`` ``(C_in, C_out / groups, K)``: output length
        ``(L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1``."""
        op = "conv_transpose1d"
        w = self._lift(weight)
        stride, dilation, groups = (_positive_int(n, op, v) for n, v in
                                    (("stride", stride), ("dilation", dilation), ("groups", groups)))
        padding, output_padding = (_positive_int(n, op, v, 0) for n, v in
                                   (("padding", padding), ("output_padding", output_padding)))
        if output_padding >= max(stride, dilation):
            raise ValueError(f"{op}: output_padding must be smaller than stride or dilation, got {output_padding}")
        x = self.reshape((1,) + self.shape) if self.ndim == 2 else self
        if x.ndim != 3 or w.ndim != 3:
            raise ValueError(f"{op}: needs input (N, C_in, L) and weight (C_in, C_out/groups, K), "
                             f"got {self.shape} and {w.shape}")
        n, cin, length = x.shape
        if w.shape[0] != cin or cin % groups:
            raise ValueError(f"{op}: weight {w.shape} does not fit {cin} input channels in {groups} groups")
        k = w.shape[2]
        out_len = (length - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
        if out_len < 1:
            raise ValueError(f"{op}: the output would be empty (padding {padding} too large)")
        place = self._lift(_placement(length, k, stride, dilation, padding, out_len, self.dtype))
        cg = cin // groups
        parts = [type(self).einsum("ncl,cok,lkp->nop", x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg], place)
                 for g in range(groups)]
        y = parts[0] if groups == 1 else type(self).cat(parts, axis=1)
        if bias is not None:
            y = y + self._lift(bias).reshape(1, -1, 1)
        return y.reshape(y.shape[1:]) if self.ndim == 2 else y

    def scaled_dot_product_attention(self, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
        """torch.nn.functional.scaled_dot_product_attention with this Tensor as the query
        ``(..., L, E)``: ``softmax(q @ k^T * scale + mask) @ v``, ``scale`` 1/sqrt(E) by default.
        ``attn_mask``: boolean (True takes part) or float (added); ``is_causal``: the lower-triangular
        mask. ``dropout_p`` must be 0 (no dropout in a deterministic op)."""
        op = "scaled_dot_product_attention"
        if dropout_p:
            raise ValueError(f"{op}: dropout_p must be 0 (apply nn.Dropout to the weights instead)")
        k, v = self._lift(key), self._lift(value)
        if self.ndim < 2 or k.ndim < 2 or v.ndim < 2 or self.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"{op}: needs query (..., L, E), key (..., S, E), value (..., S, Ev), "
                             f"got {self.shape}, {k.shape}, {v.shape}")
        scale = 1.0 / math.sqrt(self.shape[-1]) if scale is None else float(scale)
        scores = (self @ k.swapaxes(-1, -2)) * scale
        ls, ss = self.shape[-2], k.shape[-2]
        add = np.zeros((ls, ss), dtype=self.dtype)
        if is_causal:
            if attn_mask is not None:
                raise ValueError(f"{op}: give attn_mask or is_causal, not both")
            add = np.where(np.tril(np.ones((ls, ss), dtype=bool)), 0.0, -np.inf)
        if attn_mask is not None:
            m = np.asarray(data(attn_mask))
            add = np.where(m, 0.0, -np.inf) if m.dtype == bool else m.astype(self.dtype)
        if np.any(add):
            scores = scores + add
        return scores.softmax(-1) @ v

    def normalize(self, p=2.0, dim=1, eps=1e-12):
        """torch.nn.functional.normalize: ``x / max(||x||_p, eps)`` along ``dim``."""
        ax = normalize_axis(dim, self.ndim, "normalize")
        return self / self.norm(p, axis=ax, keepdims=True).clip(eps, None)
