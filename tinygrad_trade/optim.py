"""Optimisers, gradient clipping, learning-rate schedules and a NaN guard.

Parameters are Tensors or Values (a list, or anything with ``.parameters()``). The update rules
are PyTorch's documented algorithms, step for step:

SGD (``g`` the gradient, ``b`` the momentum buffer, ``t`` the parameter's step count)::

    g = g + weight_decay * p
    if momentum:  b = g if t == 1 else momentum * b + (1 - dampening) * g
                  g = g + momentum * b if nesterov else b
    p = p - lr * g

Adam / AdamW::

    AdamW only:   p = p * (1 - lr * weight_decay)          (decoupled weight decay)
    Adam only:    g = g + weight_decay * p                   (L2 penalty)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    amsgrad:      v_max = max(v_max, v), and v_max replaces v below
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

A parameter whose gradient is None (a Tensor) or exactly 0.0 (a Value: the engine cannot tell
"never reached" from "zero") is skipped, as PyTorch skips ``grad is None``: no decay, no state
update, its step count does not advance. Tensor parameters are updated in place
(``p.data`` keeps its identity); gradient arrays are never written to.

NaN guard: :func:`check_finite` raises :class:`NonFiniteError` (a ``FloatingPointError``) when
the loss or a gradient is NaN or infinite. Call it between ``backward()`` and ``step()`` (or use
:func:`train_step`, which does): the offending step is never taken, so the parameters stay as
they were after the last good step.
"""
from __future__ import annotations

import math

import numpy as np

from .anomaly import describe
from .engine import Value
from .graph import find_anomaly
from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm", "StepLR", "CosineAnnealingLR",
           "NonFiniteError", "check_finite", "train_step"]


def _param_list(params) -> list:
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    params = list(params)
    if not params:
        raise ValueError("optimizer got an empty parameter list")
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, (Tensor, Value)):
            raise TypeError(f"parameter {i} is a {type(p).__name__}, expected a Tensor or a Value")
        if id(p) in seen:
            raise ValueError(f"parameter {i} appears more than once in the parameter list")
        seen.add(id(p))
    return params


def _check_range(name, x, lo=0.0, hi=None):
    if not (x >= lo and (hi is None or x < hi)):
        bound = f"[{lo}, {hi})" if hi is not None else f">= {lo}"
        raise ValueError(f"invalid {name}: {x} (must be {bound})")


class Optimizer:
    """Base class: holds ``params``, per-parameter ``state`` (dicts) and hyper-parameters."""

    _hyper: tuple = ()  # names of the hyper-parameters saved in state_dict()
    param_names: list | None = None  # the parameters' dotted names when built from a module

    def __init__(self, params, lr):
        named = getattr(params, "named_parameters", None)  # a module: keep the names for error messages
        self.param_names = [n for n, _ in named()] if callable(named) else None
        self.params = _param_list(params)
        _check_range("lr", lr)
        self.lr = float(lr)
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Tensor grads become None, Value grads 0.0."""
        for p in self.params:
            p.grad = 0.0 if p.__class__ is Value else None

    def step(self):
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Hyper-parameters (``lr`` included) and a copy of every parameter's state."""
        return {"type": type(self).__name__,
                "hyper": {k: getattr(self, k) for k in ("lr",) + self._hyper},
                "state": [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in st.items()}
                          for st in self.state]}

    def load_state_dict(self, sd: dict):
        """Restore what :meth:`state_dict` returned (for the same parameters, in the same order)."""
        if sd.get("type") != type(self).__name__:
            raise ValueError(f"load_state_dict: state of a {sd.get('type')} optimizer, this is {type(self).__name__}")
        if len(sd["state"]) != len(self.params):
            raise ValueError(f"load_state_dict: state for {len(sd['state'])} parameters, "
                             f"this optimizer has {len(self.params)}")
        for i, (p, st) in enumerate(zip(self.params, sd["state"])):
            for k, v in st.items():
                if isinstance(v, np.ndarray) and v.shape != np.shape(p.data):
                    raise ValueError(f"load_state_dict: parameter {i} state {k!r} has shape {v.shape}, "
                                     f"expected {np.shape(p.data)}")
        for k, v in sd["hyper"].items():
            setattr(self, k, v)
        self.state = [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in st.items()}
                      for st in sd["state"]]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay."""

    _hyper = ("momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        _check_range("momentum", momentum)
        _check_range("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.nesterov, self.weight_decay = bool(nesterov), float(weight_decay)

    def step(self):
        lr, mu, damp, wd, nesterov = self.lr, self.momentum, 1.0 - self.dampening, self.weight_decay, self.nesterov
        for p, st in zip(self.params, self.state):
            g = p.grad
            if p.__class__ is Value:
                if g == 0.0:
                    continue
                if wd:
                    g = g + wd * p.data
                if mu:
                    b = st["momentum_buffer"] = g if "momentum_buffer" not in st else mu * st["momentum_buffer"] + damp * g
                    g = g + mu * b if nesterov else b
                p.data = p.data - lr * g
                continue
            if g is None:
                continue
            if wd:
                g = g + wd * p.data
            if mu:
                b = st.get("momentum_buffer")
                if b is None:
                    b = st["momentum_buffer"] = np.array(g, dtype=p.data.dtype)
                else:
                    b *= mu
                    b += damp * g
                g = g + mu * b if nesterov else b
            p.data -= lr * g


class Adam(Optimizer):
    """Adam with bias correction, L2 weight decay (``g += weight_decay * p``) and optional AMSGrad."""

    _hyper = ("betas", "eps", "weight_decay", "amsgrad")
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, lr)
        _check_range("beta1", betas[0], 0.0, 1.0)
        _check_range("beta2", betas[1], 0.0, 1.0)
        _check_range("eps", eps)
        _check_range("weight_decay", weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps, self.weight_decay, self.amsgrad = float(eps), float(weight_decay), bool(amsgrad)

    def step(self):
        lr, (b1, b2), eps, wd, amsgrad = self.lr, self.betas, self.eps, self.weight_decay, self.amsgrad
        c1, c2 = 1.0 - b1, 1.0 - b2
        decay = 1.0 - lr * wd if self._decoupled else 1.0  # AdamW's p *= 1 - lr * wd
        l2 = 0.0 if self._decoupled else wd                # Adam's g += wd * p
        for p, st in zip(self.params, self.state):
            g = p.grad
            if g is None or (p.__class__ is Value and g == 0.0):
                continue
            t = st["step"] = st.get("step", 0) + 1
            step_size = lr / (1.0 - b1 ** t)
            bc2_sqrt = math.sqrt(1.0 - b2 ** t)
            if p.__class__ is Value:
                self._step_value(p, g, st, b1, b2, c1, c2, eps, decay, l2, amsgrad, step_size, bc2_sqrt)
                continue
            x = p.data
            if t == 1:
                st["exp_avg"] = np.zeros_like(x)
                st["exp_avg_sq"] = np.zeros_like(x)
                if amsgrad:
                    st["max_exp_avg_sq"] = np.zeros_like(x)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            buf = st.get("_buf")
            if buf is None or buf.shape != x.shape:
                buf = st["_buf"] = np.empty_like(x)  # scratch space, reused every step
            if decay != 1.0:
                x *= decay
            if l2:
                g = g + l2 * x
            m *= b1                                  # m = b1 * m + (1 - b1) * g
            np.multiply(g, c1, out=buf)
            m += buf
            v *= b2                                  # v = b2 * v + (1 - b2) * g * g
            np.multiply(g, g, out=buf)
            buf *= c2
            v += buf
            if amsgrad:
                vmax = st["max_exp_avg_sq"]
                np.maximum(vmax, v, out=vmax)
                v = vmax
            np.sqrt(v, out=buf)                      # denom = sqrt(v) / sqrt(bc2) + eps
            buf /= bc2_sqrt
            buf += eps
            np.divide(m, buf, out=buf)               # p -= lr / bc1 * m / denom
            buf *= -step_size
            x += buf

    @staticmethod
    def _step_value(p, g, st, b1, b2, c1, c2, eps, decay, l2, amsgrad, step_size, bc2_sqrt):
        if decay != 1.0:
            p.data = p.data * decay
        if l2:
            g = g + l2 * p.data
        m = st["exp_avg"] = b1 * st.get("exp_avg", 0.0) + c1 * g
        v = st["exp_avg_sq"] = b2 * st.get("exp_avg_sq", 0.0) + c2 * (g * g)
        if amsgrad:
            v = st["max_exp_avg_sq"] = max(st.get("max_exp_avg_sq", 0.0), v)
        p.data = p.data - step_size * (m / (math.sqrt(v) / bc2_sqrt + eps))

    def state_dict(self) -> dict:
        sd = super().state_dict()
        for st in sd["state"]:
            st.pop("_buf", None)
        return sd


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


# --- gradient clipping --------------------------------------------------------------------

def clip_grad_norm(params, max_norm: float, eps: float = 1e-6) -> float:
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns the total norm before clipping. As PyTorch, the scale is
    ``max_norm / (total_norm + eps)`` and is applied only when below 1. Each gradient is
    replaced by a new array (never changed in place: arrays may be shared between nodes).
    A non-finite norm is returned as is and nothing is scaled (see :func:`check_finite`).
    """
    params = params.parameters() if hasattr(params, "parameters") else list(params)
    total = 0.0
    for p in params:
        g = p.grad
        if g is None:
            continue
        total += g * g if p.__class__ is Value else float(np.vdot(g, g))
    total = math.sqrt(total)
    coef = max_norm / (total + eps)
    if coef < 1.0:
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * coef
    return total


# --- learning-rate schedules ----------------------------------------------------------------

class _Schedule:
    """Sets ``optimizer.lr`` from the epoch count; ``step()`` advances it by one."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        return self.optimizer.lr

    def state_dict(self) -> dict:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, sd: dict):
        self.base_lr, self.last_epoch = sd["base_lr"], sd["last_epoch"]


class StepLR(_Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        super().__init__(optimizer)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(_Schedule):
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``
    (PyTorch's closed form: it reaches ``eta_min`` at ``T_max`` and then rises again)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        super().__init__(optimizer)
        self.T_max, self.eta_min = int(T_max), float(eta_min)

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0


# --- the NaN guard ------------------------------------------------------------------------------

class NonFiniteError(FloatingPointError):
    """The loss or a gradient is NaN or infinite; the step was not taken."""


def _is_finite(x) -> bool:
    if x.__class__ is float:
        return math.isfinite(x)
    return bool(np.isfinite(x).all())


def _as_float(loss) -> float:
    if isinstance(loss, Tensor):
        return loss.item()
    return float(loss.data if isinstance(loss, Value) else loss)


def check_finite(loss, params) -> None:
    """Raise :class:`NonFiniteError` if ``loss`` or any parameter's gradient is NaN or infinite.

    ``params``: a list of Tensors/Values, ``(name, param)`` pairs (``named_parameters()``), a
    Module or an optimizer (built from a module, it knows the names). Call it after ``backward()``
    and before ``step()``. The message names the first non-finite parameter gradient (its module
    and parameter, ``layers.0.w``) and the op where the NaN or inf was born, found by searching the
    loss's graph (:func:`tinygrad_trade.graph.find_anomaly`; with anomaly mode on during the
    forward pass it also gives that op's ``file:line``). The search runs only on failure.
    """
    if isinstance(params, Optimizer):
        params = params.params if params.param_names is None else list(zip(params.param_names, params.params))
    elif hasattr(params, "named_parameters"):
        params = params.named_parameters()
    elif hasattr(params, "parameters"):
        params = params.parameters()
    value = _as_float(loss)
    if not math.isfinite(value):
        raise NonFiniteError(f"training stopped: the loss is {value} (non-finite){_origin(loss)}; "
                             "parameters are left as they were after the last good step")
    for i, p in enumerate(params):
        name, p = p if isinstance(p, tuple) else (f"parameter {i}", p)
        if p.grad is not None and not _is_finite(p.grad):
            shape = "" if p.__class__ is Value else f" of shape {p.shape}"
            raise NonFiniteError(f"training stopped: the gradient of {_param_name(name)}{shape} is non-finite "
                                 f"(NaN or inf){_origin(loss)}; parameters are left as they were after the "
                                 "last good step")


def _param_name(name: str) -> str:
    module, _, param = name.rpartition(".")
    return f"{name} (module {module}, parameter {param})" if module else name


def _origin(loss) -> str:
    """``; it was born in the backward of log (made at model.py:12)``, or '' when not found."""
    if not hasattr(loss, "_prev"):
        return ""
    err = find_anomaly(loss)
    return "" if err is None else f"; it was born in {describe(err)}"


def train_step(loss_fn, optimizer, max_grad_norm: float | None = None) -> float:
    """One guarded step: ``zero_grad``, ``loss = loss_fn()``, ``backward``, :func:`check_finite`,
    optional :func:`clip_grad_norm`, ``step``. Returns the loss as a float; raises
    :class:`NonFiniteError` (without stepping) on a NaN or infinite loss or gradient."""
    optimizer.zero_grad()
    loss = loss_fn()
    loss.backward()
    check_finite(loss, optimizer)
    if max_grad_norm is not None:
        clip_grad_norm(optimizer.params, max_grad_norm)
    optimizer.step()
    return _as_float(loss)
