"""Activation functions on Tensor.

Their rules (forward beside derivative, the kinks' subgradients) are written once, for both engines,
in :mod:`tinygrad_trade.functions`: tanh, sigmoid, relu, softplus, leaky_relu, elu, selu, hardtanh,
softsign and logsigmoid are applied from there. The rest are compositions of rules, so their
gradients and second derivatives need no rule of their own: the ones only Tensor has (celu, relu6,
hardsigmoid, hardswish, quick_gelu, tanhshrink, softplus with a ``beta`` that is not a positive
number), and silu, gelu and mish, whose shared rules recompute the inner functions (sigmoid, the
normal cdf, tanh, softplus) in the backward, which costs more on arrays than keeping the forward's
intermediates as the composition does.

Kinks (which subgradient): ``leaky_relu'(0) = slope``, ``elu'(0) = alpha`` (torch's choices),
``relu6`` and ``hardtanh`` pass the gradient strictly inside ``(lo, hi)`` (torch's), as do
``hardsigmoid`` and ``hardswish`` inside (-3, 3) (with torch's forward formulas, so the values agree
to the bit), ``softsign`` is smooth at 0 (derivative 1).
"""
from __future__ import annotations

import numpy as np

from .. import functions as fn
from ._base import TensorBase

__all__ = ["Activations"]


class Activations(TensorBase):
    __slots__ = ()

    def tanh(self): return self._rule(fn.TANH)  # noqa: E704
    def sigmoid(self): return self._rule(fn.SIGMOID)  # noqa: E704
    def relu(self): return self._rule(fn.RELU)  # noqa: E704

    def softplus(self, beta=1.0):
        """log(1 + exp(beta x)) / beta, stable for any x."""
        if isinstance(beta, (int, float)) and beta > 0:
            return self._rule(fn.softplus_beta(beta))
        return (self * beta).softplus() * (1.0 / beta)

    def leaky_relu(self, negative_slope=0.01): return self._rule(fn.leaky_relu(negative_slope))  # noqa: E704
    def elu(self, alpha=1.0): return self._rule(fn.elu(alpha))  # noqa: E704
    def selu(self): return self._rule(fn.SELU)  # noqa: E704

    def celu(self, alpha=1.0):
        return (self * (1.0 / alpha)).elu() * alpha

    def hardtanh(self, min_val=-1.0, max_val=1.0): return self._rule(fn.hardtanh(min_val, max_val))  # noqa: E704

    def relu6(self):
        return self.hardtanh(0.0, 6.0)

    def _hard_parts(self):
        """(inside -3 < x < 3, the flat value outside: 0 below, ``above`` from 3 on, NaN for NaN)."""
        x = self.data
        with np.errstate(invalid="ignore"):
            inside = (x > -3.0) & (x < 3.0)
            return inside, x >= 3.0, (x <= -3.0) | inside

    def hardsigmoid(self):
        """torch's ``min(max(x + 3, 0), 6) / 6`` (the same rounding); gradient exactly 1/6 where
        -3 < x < 3 (decided on x itself, not on a rounded x/6 + 1/2), 0 elsewhere."""
        inside, above, known = self._hard_parts()
        flat = np.where(above, 1.0, np.where(known, 0.0, np.nan)).astype(self.dtype)
        xs = type(self).where(inside, self, 0.0)  # finite everywhere: no inf * 0 in the backward
        return type(self).where(inside, (xs + 3.0) / 6.0, flat)

    def hardswish(self):
        """torch's ``x * min(max(x + 3, 0), 6) / 6``: ``x`` from 3 on, 0 up to -3."""
        inside, above, known = self._hard_parts()
        above = above | ~known  # NaN: passed through with gradient 1, as torch's backward
        flat = np.zeros_like(self.data)
        xs = type(self).where(inside, self, 0.0)
        return type(self).where(inside, xs * (xs + 3.0) / 6.0, type(self).where(above, self, flat))

    def silu(self):
        """x * sigmoid(x) (also called swish)."""
        return self * self.sigmoid()

    swish = silu

    def gelu(self, approximate="none"):
        """x * Phi(x) (``approximate="none"``) or torch's tanh approximation (``"tanh"``)."""
        if approximate == "tanh":
            inner = (self + fn.GELU_C * self * self * self) * fn.SQRT_2_OVER_PI
            return 0.5 * self * (1.0 + inner.tanh())
        fn.gelu(approximate)  # refuses any other approximation, with the Value engine's message
        return self * self.normal_cdf()

    def quick_gelu(self):
        """x * sigmoid(1.702 x), the sigmoid approximation of gelu."""
        return self * (self * 1.702).sigmoid()

    def mish(self): return self * self.softplus().tanh()  # noqa: E704
    def softsign(self): return self._rule(fn.SOFTSIGN)  # noqa: E704

    def logsigmoid(self):
        """log(sigmoid(x)) = -softplus(-x), stable for any x."""
        return self._rule(fn.LOGSIGMOID)

    def tanhshrink(self):
        return self - self.tanh()
