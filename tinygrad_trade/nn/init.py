"""Weight initialisation shared by the scalar and the Tensor networks.

A weight matrix has shape ``(fan_in, fan_out)`` (inputs along rows, so a layer computes
``x @ W + b``) and is drawn from ``U(-bound, bound)`` with ``rng.uniform`` in one call:

- ``"kaiming"`` (He uniform, for relu):     ``bound = sqrt(6 / fan_in)``
  (variance ``2 / fan_in``: gain ``sqrt(2)`` keeps the signal's scale through relu layers);
- ``"xavier"``  (Glorot uniform, for tanh and linear layers): ``bound = sqrt(6 / (fan_in + fan_out))``
  (variance ``2 / (fan_in + fan_out)``, gain 1).

Biases start at zero. The same seed gives the same numbers in both engines, so a scalar
``nn.scalar.MLP(nin, nouts, rng=s)`` and a Tensor ``nn.MLP([nin, *nouts], rng=s)`` start equal.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["ACTIVATIONS", "INITS", "check_activation", "default_init", "init_bound", "init_weight", "as_rng"]

ACTIVATIONS = ("relu", "tanh")
INITS = ("kaiming", "xavier")


def as_rng(rng) -> np.random.Generator:
    """``None`` (fresh entropy), an int seed, or a ``numpy.random.Generator`` (used as is)."""
    return np.random.default_rng(rng)


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def default_init(activation: str) -> str:
    """The init that suits an activation: kaiming for relu, xavier otherwise."""
    return "kaiming" if activation == "relu" else "xavier"


def init_bound(fan_in: int, fan_out: int, init: str) -> float:
    if init == "kaiming":
        return math.sqrt(6.0 / fan_in)
    if init == "xavier":
        return math.sqrt(6.0 / (fan_in + fan_out))
    raise ValueError(f"init must be one of {INITS}, got {init!r}")


def init_weight(fan_in: int, fan_out: int, init: str, rng: np.random.Generator) -> np.ndarray:
    """A ``(fan_in, fan_out)`` float64 matrix from ``U(-bound, bound)`` (see the module docstring)."""
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"layer sizes must be positive, got {fan_in} -> {fan_out}")
    bound = init_bound(fan_in, fan_out, init)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))
