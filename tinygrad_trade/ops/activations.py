"""Activation functions on Tensor.

tanh, sigmoid, relu and softplus (stable for any x) are the core ones. The piecewise ones are primitives with their derivative beside them; the smooth compositions
(silu, gelu, mish, softsign, logsigmoid, softplus with ``beta``) are built from primitives, so
their gradients and second derivatives need no rule of their own.

Kinks (which subgradient): ``leaky_relu'(0) = slope``, ``elu'(0) = alpha`` (torch's choices),
``relu6`` and ``hardtanh`` pass the gradient strictly inside ``(lo, hi)`` (torch's), ``softsign``
is smooth at 0 (derivative 1).
"""
from __future__ import annotations

import math

import numpy as np

from ..graph import Op
from ._base import F, TensorBase, data, sigmoid_np

__all__ = ["Activations"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_PI = math.sqrt(2.0 / math.pi)


TANH = Op("tanh", lambda g, y, x: (g * (1.0 - y * y),))
SIGMOID = Op("sigmoid", lambda g, y, x: (g * y * (1.0 - y),))
RELU = Op("relu", lambda g, y, x: (g * (data(x) > 0),))                # relu'(0) = 0
SOFTPLUS = Op("softplus", lambda g, y, x: (g * F.sigmoid(x),))


def _leaky_op(slope):
    return Op("leaky_relu", lambda g, y, x: (g * np.where(data(x) > 0, 1.0, slope).astype(data(x).dtype),))


def _elu_op(alpha, scale):
    # y = scale * alpha * (exp(x) - 1) below 0, so dy/dx = y + scale * alpha there
    return Op("elu", lambda g, y, x: (g * F.where(data(x) > 0, scale, y + scale * alpha),))


def _band_op(name, lo, hi):
    return Op(name, lambda g, y, x: (g * ((data(x) > lo) & (data(x) < hi)),))


class Activations(TensorBase):
    __slots__ = ()

    def tanh(self):
        return self._make(np.tanh(self.data), (self,), TANH)

    def sigmoid(self):
        return self._make(sigmoid_np(self.data), (self,), SIGMOID)

    def relu(self):
        return self._make(np.maximum(self.data, 0.0), (self,), RELU)

    def softplus(self, beta=1.0):
        """log(1 + exp(beta x)) / beta, stable for any x."""
        if beta != 1.0:
            return (self * beta).softplus() * (1.0 / beta)
        x = self.data
        return self._make(np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))), (self,), SOFTPLUS)

    def leaky_relu(self, negative_slope=0.01):
        x = self.data
        return self._make(np.where(x > 0, x, negative_slope * x), (self,), _leaky_op(negative_slope))

    def elu(self, alpha=1.0):
        x = self.data
        y = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
        return self._make(y, (self,), _elu_op(alpha, 1.0))

    def selu(self):
        x = self.data
        y = _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
        return self._make(y, (self,), _elu_op(_SELU_ALPHA, _SELU_SCALE))

    def celu(self, alpha=1.0):
        return (self * (1.0 / alpha)).elu() * alpha

    def hardtanh(self, min_val=-1.0, max_val=1.0):
        return self._make(np.clip(self.data, min_val, max_val), (self,), _band_op("hardtanh", min_val, max_val))

    def relu6(self):
        return self.hardtanh(0.0, 6.0)

    def hardsigmoid(self):
        return (self * (1.0 / 6.0) + 0.5).hardtanh(0.0, 1.0)

    def hardswish(self):
        return self * (self * (1.0 / 6.0) + 0.5).hardtanh(0.0, 1.0)

    def silu(self):
        """x * sigmoid(x) (also called swish)."""
        return self * self.sigmoid()

    swish = silu

    def gelu(self, approximate="none"):
        """x * Phi(x) (``approximate="none"``) or torch's tanh approximation (``"tanh"``)."""
        if approximate == "none":
            return self * self.normal_cdf()
        if approximate == "tanh":
            inner = (self + 0.044715 * self * self * self) * _SQRT_2_PI
            return 0.5 * self * (1.0 + inner.tanh())
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")

    def quick_gelu(self):
        """x * sigmoid(1.702 x), the sigmoid approximation of gelu."""
        return self * (self * 1.702).sigmoid()

    def mish(self):
        return self * self.softplus().tanh()

    def softsign(self):
        return self / (1.0 + self.abs())

    def logsigmoid(self):
        """log(sigmoid(x)) = -softplus(-x), stable for any x."""
        return -(-self).softplus()

    def tanhshrink(self):
        return self - self.tanh()
