"""Outputs and losses on Tensor: logsumexp, softmax, log_softmax (stable primitives, rules beside
them) and the losses built on them.

Stability: each primitive shifts by the maximum along the axis before exponentiating, so no input
overflows; an axis that is all ``-inf`` gives ``-inf`` (logsumexp) as numpy would, NaN propagates.
Losses follow torch's conventions: class axis 1 for ``(N, C, ...)`` inputs (0 for a 1-D input),
``reduction`` one of ``"mean"`` (weighted mean for ``weight``), ``"sum"``, ``"none"``.
"""
from __future__ import annotations

import numpy as np

from ..graph import Op
from ._base import F, TensorBase, data, normalize_axis, reduce_shape

__all__ = ["Losses"]


def _shifted(x, axes):
    """(x - m, sum(exp(x - m)), m) with m the max over ``axes`` (0 where it is not finite, so an
    all -inf axis gives exp(-inf) = 0 and log 0 = -inf): exponentials of non-positive numbers only."""
    m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim)
    m = np.where(np.isfinite(m), m, 0.0)
    d = x - m
    return d, np.sum(np.exp(d), axis=axes, keepdims=True), m


def _lse_np(x, axes):
    _, s, m = _shifted(x, axes)
    with np.errstate(divide="ignore"):
        return np.log(s) + m


def _lse_op(axes, kshape):
    return Op("logsumexp", lambda g, y, x: (g.reshape(kshape) * F.exp(x - y.reshape(kshape)),))


def _softmax_op(axis):
    return Op("softmax", lambda g, y, x: (y * (g - (g * y).sum(axis=axis, keepdims=True)),))


def _log_softmax_op(axis):
    return Op("log_softmax", lambda g, y, x: (g - F.exp(y) * g.sum(axis=axis, keepdims=True),))


def _reduce(loss, reduction, weight_sum=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight_sum if weight_sum is not None else loss.mean()
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _class_axis(x):
    return 0 if x.ndim == 1 else 1


class Losses(TensorBase):
    __slots__ = ()

    # -- stable outputs ---------------------------------------------------------------------
    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(x))) over ``axis`` without overflow."""
        if self.ndim == 0 and axis is not None and axis != ():  # torch: axis 0 or -1 of a 0-d input
            normalize_axis(axis if np.ndim(axis) == 0 else axis[0], 0, "logsumexp")
            return self.reshape(1).logsumexp(0, keepdims).reshape(())
        if isinstance(axis, list):
            axis = tuple(axis)
        axes, kshape = reduce_shape(self.shape, axis)
        y = _lse_np(self.data, axes)
        out = y if keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in axes])
        return self._make(out, (self,), _lse_op(axes, kshape))

    def softmax(self, axis=-1):
        axis = normalize_axis(axis, self.ndim, "softmax")
        if self.ndim == 0:  # torch: softmax of a 0-d input along 0 or -1 is 1
            return self.reshape(1).softmax(0).reshape(())
        with np.errstate(invalid="ignore"):
            d, s, _ = _shifted(self.data, (axis,))
            y = np.exp(d) / s
        return self._make(y, (self,), _softmax_op(axis))

    def softmin(self, axis=-1):
        """torch.nn.functional.softmin: ``softmax(-x)`` along ``axis``."""
        return (-self).softmax(axis)

    def log_softmax(self, axis=-1):
        axis = normalize_axis(axis, self.ndim, "log_softmax")
        if self.ndim == 0:
            return self.reshape(1).log_softmax(0).reshape(())
        with np.errstate(invalid="ignore", divide="ignore"):
            d, s, _ = _shifted(self.data, (axis,))
            y = d - np.log(s)
        return self._make(y, (self,), _log_softmax_op(axis))

    # -- classification losses ---------------------------------------------------------------
    def nll_loss(self, target, weight=None, reduction="mean"):
        """Negative log-likelihood of integer class ``target`` under log-probabilities ``self``."""
        t = np.asarray(data(target))
        if t.dtype.kind not in "iu":
            raise TypeError(f"nll_loss: target must hold integer class indices, got dtype {t.dtype}")
        ax = _class_axis(self)
        n_cls = self.shape[ax]
        exp_shape = self.shape[:ax] + self.shape[ax + 1:]
        if t.shape != exp_shape:
            raise ValueError(f"nll_loss: target shape {t.shape} does not match input {self.shape} "
                             f"(expected {exp_shape})")
        if t.size and (t.min() < 0 or t.max() >= n_cls):
            raise ValueError(f"nll_loss: class index out of range [0, {n_cls}): got {t.min()}..{t.max()}")
        onehot = np.moveaxis(np.eye(n_cls, dtype=self.dtype)[t], -1, ax)
        w = None if weight is None else np.asarray(data(weight), dtype=self.dtype)
        if w is not None:
            onehot = onehot * np.moveaxis(w.reshape((1,) * (self.ndim - 1) + (n_cls,)), -1, ax)
        loss = -(self * onehot).sum(axis=ax)
        return _reduce(loss, reduction, None if w is None else float(w[t].sum()))

    def cross_entropy(self, target, weight=None, reduction="mean", label_smoothing=0.0):
        """Softmax cross-entropy of logits ``self``: integer class ``target`` or class probabilities
        (same shape as the logits)."""
        ax = _class_axis(self)
        logp = self.log_softmax(axis=ax)
        t = data(target)
        if np.asarray(t).dtype.kind in "iu":
            if label_smoothing:
                n = self.shape[ax]
                hard = logp.nll_loss(target, weight=weight, reduction="none")
                smooth = -logp.mean(axis=ax) if weight is None else -(
                    logp * np.moveaxis(np.asarray(weight).reshape((1,) * (self.ndim - 1) + (n,)), -1, ax)
                ).sum(axis=ax) / n
                loss = (1.0 - label_smoothing) * hard + label_smoothing * smooth
                ws = None if weight is None else float(np.asarray(weight)[np.asarray(t)].sum())
                return _reduce(loss, reduction, ws)
            return logp.nll_loss(target, weight=weight, reduction=reduction)
        p = target if isinstance(target, TensorBase) else self._lift(np.asarray(t, dtype=self.dtype))
        if p.shape != self.shape:
            raise ValueError(f"cross_entropy: probability target shape {p.shape} != logits shape {self.shape}")
        if label_smoothing:
            p = p * (1.0 - label_smoothing) + label_smoothing / self.shape[ax]
        if weight is not None:
            wb = np.moveaxis(np.asarray(weight, dtype=self.dtype).reshape((1,) * (self.ndim - 1) + (-1,)), -1, ax)
            p = p * wb
        return _reduce(-(logp * p).sum(axis=ax), reduction)

    def binary_cross_entropy(self, target, weight=None, reduction="mean"):
        """-(t log p + (1 - t) log(1 - p)) for probabilities ``self`` in (0, 1)."""
        t = target if isinstance(target, TensorBase) else self._lift(target)
        bad = (self.data <= 0) | (self.data >= 1)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"binary_cross_entropy: probabilities must be in (0, 1) (use "
                             f"binary_cross_entropy_with_logits for logits); got {self.data[idx]!r} at {idx}")
        loss = -(t * self.log() + (1.0 - t) * (1.0 - self).log())
        if weight is not None:
            loss = loss * weight
        return _reduce(loss, reduction)

    def binary_cross_entropy_with_logits(self, target, weight=None, reduction="mean", pos_weight=None):
        """BCE of ``sigmoid(self)`` computed from the logits: stable for any magnitude."""
        t = target if isinstance(target, TensorBase) else self._lift(target)
        if pos_weight is None:
            loss = self.softplus() - t * self
        else:  # (1 - t) x + (1 + (pw - 1) t) softplus(-x)
            loss = (1.0 - t) * self + (1.0 + (pos_weight - 1.0) * t) * (-self).softplus()
        if weight is not None:
            loss = loss * weight
        return _reduce(loss, reduction)

    # -- regression losses --------------------------------------------------------------------
    def mse_loss(self, target, reduction="mean"):
        d = self - target
        return _reduce(d * d, reduction)

    def l1_loss(self, target, reduction="mean"):
        return _reduce((self - target).abs(), reduction)

    def huber_loss(self, target, delta=1.0, reduction="mean"):
        """0.5 d**2 where |d| <= delta, else delta (|d| - delta / 2), d = self - target."""
        d = self - target
        small = np.abs(d.data) <= delta
        loss = type(self).where(small, 0.5 * d * d, delta * (d.abs() - 0.5 * delta))
        return _reduce(loss, reduction)

    def smooth_l1_loss(self, target, beta=1.0, reduction="mean"):
        """torch's smooth L1: huber_loss(delta=beta) / beta."""
        return _reduce(self.huber_loss(target, delta=beta, reduction="none") * (1.0 / beta), reduction)
