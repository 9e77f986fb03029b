"""Losses on the `Tensor` engine. Each returns the mean over all elements as a 0-d Tensor.

Predictions are Tensors; targets may be Tensors, numpy arrays or numbers. Shapes must agree up
to broadcasting a smaller operand into the larger one: a ``(n, 1)`` prediction against a ``(n,)``
target is refused (it would silently broadcast to ``(n, n)``).

Log-variances are clipped to ``[-LOG_VAR_CLIP, LOG_VAR_CLIP] = [-50, 50]`` before use in
``qlike`` and ``gaussian_nll``: ``exp(50) ~ 5e21`` keeps ``y * exp(-s)`` finite for any sane
``y`` and the loss is never NaN for ``y >= 0``. Outside the clip the gradient wrt ``s`` is zero
(variances beyond ``e^±50`` are treated as that bound).
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor

__all__ = ["mse", "mae", "huber", "qlike", "gaussian_nll", "LOG_VAR_CLIP"]

LOG_VAR_CLIP = 50.0


def _t(x, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor(x, dtype=None if like is None else like.dtype)


def _check(name: str, *xs):
    shapes = [x.shape for x in xs]
    try:
        full = np.broadcast_shapes(*shapes)
    except ValueError:
        full = None
    if full is None or full not in shapes:
        raise ValueError(f"{name}: shapes {' and '.join(map(str, shapes))} do not match")


def mse(pred, target) -> Tensor:
    """``mean((pred - target)^2)``."""
    pred = _t(pred)
    target = _t(target, pred)
    _check("mse", pred, target)
    d = pred - target
    return (d * d).mean()


def mae(pred, target) -> Tensor:
    """``mean(|pred - target|)`` (gradient 0 where they are equal)."""
    pred = _t(pred)
    target = _t(target, pred)
    _check("mae", pred, target)
    return (pred - target).abs().mean()


def huber(pred, target, delta: float = 1.0) -> Tensor:
    """PyTorch's HuberLoss: ``mean(0.5 d^2 if |d| <= delta else delta * (|d| - 0.5 delta))``."""
    if not delta > 0:
        raise ValueError(f"huber: delta must be positive, got {delta}")
    pred = _t(pred)
    target = _t(target, pred)
    _check("huber", pred, target)
    a = (pred - target).abs()
    q = a.clip(hi=delta)  # |d| capped at delta
    return (0.5 * q * q + delta * (a - q)).mean()


def qlike(y, log_var_pred) -> Tensor:
    """QLIKE ``mean(y * exp(-s) + s)`` for realised variance ``y >= 0`` and predicted
    log-variance ``s`` (clipped to ``[-50, 50]``, see the module docstring). It is minimised at
    ``s = log(y)``, where it equals ``1 + log(y)``."""
    s = _t(log_var_pred)
    y = _t(y, s)
    _check("qlike", y, s)
    s = s.clip(-LOG_VAR_CLIP, LOG_VAR_CLIP)
    return (y * (-s).exp() + s).mean()


def gaussian_nll(y, mean, log_var, full: bool = False) -> Tensor:
    """Gaussian negative log-likelihood ``mean(0.5 * (s + (y - mean)^2 * exp(-s)))`` with
    ``s = log_var`` clipped to ``[-50, 50]``; ``full=True`` adds the constant ``0.5 * log(2 pi)``."""
    mean = _t(mean)
    s = _t(log_var, mean)
    y = _t(y, mean)
    _check("gaussian_nll", y, mean, s)
    s = s.clip(-LOG_VAR_CLIP, LOG_VAR_CLIP)
    d = y - mean
    out = (0.5 * (s + d * d * (-s).exp())).mean()
    return out + 0.5 * math.log(2 * math.pi) if full else out
