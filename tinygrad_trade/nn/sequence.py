"""Layers for sequences: ``Embedding`` (a lookup table) and ``Conv1d`` (with causal padding, for
temporal convolutional nets). Both are composed from Tensor ops (indexing, padding, matmul), so their
gradients need no rules of their own and second derivatives work.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .init import as_rng
from .modules import Module, _as_tensor

__all__ = ["Embedding", "Conv1d"]


class Embedding(Module):
    """Row ``i`` of ``weight`` ``(num_embeddings, embedding_dim)`` for each integer index ``i``.

    ``weight`` starts as standard normal draws from ``rng`` (PyTorch's init). ``forward(idx)`` takes
    an integer array of any shape and returns ``idx.shape + (embedding_dim,)``; an index out of
    range or a non-integer index is a clear error. Repeated indices add their gradients.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, rng=None, dtype=None):
        if int(num_embeddings) < 1 or int(embedding_dim) < 1:
            raise ValueError(f"Embedding: sizes must be positive, got {num_embeddings}, {embedding_dim}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        w = as_rng(rng).standard_normal((self.num_embeddings, self.embedding_dim))
        self.weight = Tensor(w, requires_grad=True, dtype=dtype)

    def forward(self, idx):
        idx = np.asarray(idx.data if isinstance(idx, Tensor) else idx)
        if idx.dtype.kind not in "iu":
            if idx.dtype.kind == "f" and idx.size and np.all(idx == np.round(idx)):
                idx = idx.astype(np.int64)
            elif idx.size:
                raise TypeError(f"Embedding: indices must be integers, got dtype {idx.dtype}")
            else:
                idx = idx.astype(np.int64)
        bad = (idx < 0) | (idx >= self.num_embeddings)
        if bad.any():
            raise IndexError(f"Embedding: index {int(idx[bad].flat[0])} is out of range "
                             f"for {self.num_embeddings} embeddings")
        return self.weight[idx]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Conv1d(Module):
    """1-D convolution (cross-correlation, as PyTorch) of ``x`` ``(batch, in_channels, length)``.

    ``padding``: ``"causal"`` (the default: ``dilation * (kernel_size - 1)`` zeros on the left only,
    so output ``t`` sees inputs ``<= t`` and the length is kept at stride 1), ``"valid"`` (none),
    ``"same"`` (stride 1: zeros on both sides, the extra one on the right, as PyTorch) or an int
    (that many zeros on each side). ``weight`` has PyTorch's layout ``(out_channels, in_channels,
    kernel_size)``; it and ``bias`` start as PyTorch's ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with
    ``fan_in = in_channels * kernel_size``, drawn in that order from ``rng``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding="causal", dilation: int = 1, bias: bool = True, rng=None, dtype=None):
        sizes = dict(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
                     stride=stride, dilation=dilation)
        for name, v in sizes.items():
            if int(v) != v or int(v) < 1:
                raise ValueError(f"Conv1d: {name} must be a positive integer, got {v!r}")
        if not (padding in ("causal", "valid", "same") or (isinstance(padding, int) and padding >= 0)):
            raise ValueError(f"Conv1d: padding must be 'causal', 'valid', 'same' or an int >= 0, got {padding!r}")
        if padding == "same" and stride != 1:
            raise ValueError("Conv1d: padding='same' needs stride 1")
        self.in_channels, self.out_channels, self.kernel_size = int(in_channels), int(out_channels), int(kernel_size)
        self.stride, self.dilation, self.padding = int(stride), int(dilation), padding
        rng = as_rng(rng)
        k = 1.0 / np.sqrt(self.in_channels * self.kernel_size)
        self.weight = Tensor(rng.uniform(-k, k, (self.out_channels, self.in_channels, self.kernel_size)),
                             requires_grad=True, dtype=dtype)
        self.bias = Tensor(rng.uniform(-k, k, self.out_channels), requires_grad=True, dtype=dtype) if bias else None

    def _pads(self):
        span = self.dilation * (self.kernel_size - 1)
        if self.padding == "causal":
            return span, 0
        if self.padding == "valid":
            return 0, 0
        if self.padding == "same":
            return span // 2, span - span // 2
        return self.padding, self.padding

    def forward(self, x):
        x = _as_tensor(x)
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv1d expects x of shape (batch, {self.in_channels}, length), got {x.shape}")
        left, right = self._pads()
        if left or right:
            x = x.pad(((0, 0), (0, 0), (left, right)))
        N, C, L = x.shape
        span = self.dilation * (self.kernel_size - 1)
        if L <= span:
            raise ValueError(f"Conv1d: input length {L - left - right} is too short for kernel_size "
                             f"{self.kernel_size} and dilation {self.dilation} with padding {self.padding!r}")
        starts = np.arange(0, L - span, self.stride)
        taps = starts[:, None] + self.dilation * np.arange(self.kernel_size)  # (L_out, k)
        windows = x[:, :, taps]                                              # (N, C, L_out, k)
        cols = windows.transpose(0, 2, 1, 3).reshape(N, len(starts), C * self.kernel_size)
        y = cols @ self.weight.reshape(self.out_channels, C * self.kernel_size).T   # (N, L_out, out)
        if self.bias is not None:
            y = y + self.bias
        return y.transpose(0, 2, 1)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}")
