"""Normalisation layers: LayerNorm, RMSNorm, BatchNorm1d and GroupNorm, with PyTorch's definitions.

All four are composed from Tensor operations, so their gradients need no rules of their own and
second derivatives work. Variances are the biased ones (divide by n), as PyTorch normalises; the
running variance of BatchNorm1d is the unbiased one (divide by n - 1), as PyTorch tracks it.
"""
from __future__ import annotations

import numpy as np

from ..graph import no_grad
from ..tensor import Tensor
from .modules import Module, _as_tensor

__all__ = ["LayerNorm", "RMSNorm", "BatchNorm1d", "GroupNorm"]


def _shape(normalized_shape) -> tuple:
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if not shape or any(int(n) < 1 for n in shape):
        raise ValueError(f"normalized_shape must be positive sizes, got {normalized_shape!r}")
    return tuple(int(n) for n in shape)


def _check_trailing(name, x, shape):
    if x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ValueError(f"{name}: expected input ending in shape {shape}, got {x.shape}")


class LayerNorm(Module):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last ``len(normalized_shape)`` axes.

    ``weight`` starts at ones and ``bias`` at zeros (``elementwise_affine=False``: neither).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=None):
        self.normalized_shape, self.eps = _shape(normalized_shape), float(eps)
        affine = bool(elementwise_affine)
        self.weight = Tensor(np.ones(self.normalized_shape), requires_grad=True, dtype=dtype) if affine else None
        self.bias = (Tensor(np.zeros(self.normalized_shape), requires_grad=True, dtype=dtype)
                     if affine and bias else None)

    def forward(self, x):
        x = _as_tensor(x)
        _check_trailing("LayerNorm", x, self.normalized_shape)
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        d = x - x.mean(axis=axes, keepdims=True)
        y = d / ((d * d).mean(axis=axes, keepdims=True) + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last ``len(normalized_shape)`` axes.

    ``eps=None`` uses the machine epsilon of the input's dtype (PyTorch's default); ``weight``
    starts at ones.
    """

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, dtype=None):
        self.normalized_shape = _shape(normalized_shape)
        self.eps = None if eps is None else float(eps)
        self.weight = (Tensor(np.ones(self.normalized_shape), requires_grad=True, dtype=dtype)
                       if elementwise_affine else None)

    def forward(self, x):
        x = _as_tensor(x)
        _check_trailing("RMSNorm", x, self.normalized_shape)
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        eps = float(np.finfo(x.dtype).eps) if self.eps is None else self.eps
        y = x / ((x * x).mean(axis=axes, keepdims=True) + eps).sqrt()
        return y if self.weight is None else y * self.weight

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class BatchNorm1d(Module):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs over the batch (and length) axes.

    Training mode normalises with the batch's mean and (biased) variance and updates the running
    statistics ``running_mean``/``running_var`` (buffers: saved with the parameters, never
    trained) by ``momentum``: ``running = (1 - momentum) * running + momentum * batch`` (the
    unbiased batch variance). Evaluation mode (``.eval()``) normalises with the running statistics.
    ``weight`` starts at ones, ``bias`` at zeros.
    """

    _buffers = ("running_mean", "running_var")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None):
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1], got {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        C = self.num_features
        self.weight = Tensor(np.ones(C), requires_grad=True, dtype=dtype) if affine else None
        self.bias = Tensor(np.zeros(C), requires_grad=True, dtype=dtype) if affine else None
        self.track_running_stats = bool(track_running_stats)
        if self.track_running_stats:
            self.running_mean = Tensor(np.zeros(C), dtype=dtype)
            self.running_var = Tensor(np.ones(C), dtype=dtype)
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        x = _as_tensor(x)
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d expects (N, {self.num_features}) or (N, {self.num_features}, L), "
                             f"got {x.shape}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
        if self.training or not self.track_running_stats:
            n = x.size // self.num_features
            if n < 2 and self.training:
                raise ValueError(f"BatchNorm1d: training needs more than one value per channel, got input {x.shape}")
            mean = x.mean(axis=axes, keepdims=True)
            d = x - mean
            var = (d * d).mean(axis=axes, keepdims=True)
            if self.training and self.track_running_stats:
                m = self.momentum
                with no_grad():
                    self.running_mean.data[...] = (1 - m) * self.running_mean.data + m * mean.data.reshape(-1)
                    self.running_var.data[...] = ((1 - m) * self.running_var.data
                                                  + m * var.data.reshape(-1) * (n / (n - 1)))
        else:
            d = x - self.running_mean.reshape(shape)
            var = self.running_var.reshape(shape)
        y = d / (var + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class GroupNorm(Module):
    """Group normalisation of ``(N, C, *)`` inputs (PyTorch's): the ``C`` channels fall into
    ``num_groups`` groups of consecutive channels; each sample's group is normalised by its own
    mean and biased variance, then scaled and shifted per channel by ``weight`` (ones) and ``bias``
    (zeros) when ``affine``. No running statistics: training and evaluation agree.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, dtype=None):
        if int(num_groups) < 1 or int(num_channels) < 1 or int(num_channels) % int(num_groups):
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be a positive multiple of "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps = int(num_groups), int(num_channels), float(eps)
        C = self.num_channels
        self.weight = Tensor(np.ones(C), requires_grad=True, dtype=dtype) if affine else None
        self.bias = Tensor(np.zeros(C), requires_grad=True, dtype=dtype) if affine else None

    def forward(self, x):
        x = _as_tensor(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm expects (N, {self.num_channels}, *), got {x.shape}")
        n, G = x.shape[0], self.num_groups
        g = x.reshape((n, G, -1))
        d = g - g.mean(axis=2, keepdims=True)
        y = (d / ((d * d).mean(axis=2, keepdims=True) + self.eps).sqrt()).reshape(x.shape)
        if self.weight is not None:
            shape = (1, -1) + (1,) * (x.ndim - 2)
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"
