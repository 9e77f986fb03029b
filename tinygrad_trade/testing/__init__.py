"""Check your own gradients: the tools the project uses on itself, for your ops and models.

    from tinygrad_trade.testing import check_gradients

    check_gradients(MyOp, Tensor([0.5, 1.5]))          # a CustomOp (its ``apply``)
    check_gradients(lambda x, y: (x * y).tanh(), 0.3, -1.2, order=2)   # Values, 2nd derivatives
    check_gradients(model, x)                          # a module: its input and every parameter

:func:`check_gradients` compares the engine's derivatives with float64 central differences and
raises an ``AssertionError`` naming, for each input that disagrees, the worst element, its index
and the analytic and numeric values. Hypothesis strategies that generate inputs inside each op's
domain, random expression DAGs and random Tensor programs are in
:mod:`tinygrad_trade.testing.strategies` (needs ``pip install 'tinygrad_trade[testing]'``).
"""
from __future__ import annotations

import numpy as np

from ..engine import Value
from ..gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from ..tensor import CustomOp, Tensor

__all__ = ["check_gradients", "GradcheckError", "numerical_grad"]

_WEIGHT_SEED = 20240601  # fixed, so a check gives the same verdict every run


def _leaf(x, i):
    """An input as a leaf the engine differentiates: numbers become Values, arrays Tensors."""
    if isinstance(x, Value):
        return x
    if isinstance(x, Tensor):
        return x if x.requires_grad else Tensor(x.data.astype(np.float64), requires_grad=True, label=x.label)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.number, np.ndarray, list, tuple)):
        raise TypeError(f"check_gradients: input {i} is a {type(x).__name__}; "
                        "pass Values, Tensors, numbers or arrays")
    if np.ndim(x) == 0:
        return Value(float(x))
    return Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


def _parameters(f):
    """(name, parameter) of a module's trainable parameters; none for a plain function."""
    named = getattr(f, "named_parameters", None)
    if callable(named):
        return [(f"parameter {n}", p) for n, p in named()]
    params = getattr(f, "parameters", None)
    if callable(params):
        return [(f"parameter {k}", p) for k, p in enumerate(params())]
    return []


def _weights(shape):
    return np.random.default_rng(_WEIGHT_SEED).uniform(0.5, 1.5, shape)


def _to_scalar(y):
    """A scalar from ``f``'s output: itself, or a fixed random weighted sum of its elements
    (so every output element takes part in the check)."""
    if isinstance(y, Value):
        return y
    if isinstance(y, Tensor):
        return y if y.size == 1 else (y * _weights(y.shape)).sum()
    if isinstance(y, (list, tuple)) and y and all(isinstance(v, (Value, Tensor)) for v in y):
        w = _weights(len(y))
        out = None
        for wk, v in zip(w, y):
            term = _to_scalar(v) * float(wk)
            out = term if out is None else out + term
        return out
    raise TypeError(f"check_gradients: f returned a {type(y).__name__}; it must return a Value or a Tensor")


def check_gradients(f, *inputs, order: int = 1, eps: float | None = None, atol: float | None = None,
                    rtol: float | None = None, tolerances: str = "sharp") -> bool:
    """Assert that the engine's derivatives of ``f(*inputs)`` match central differences.

    - ``f``: a function of Values/Tensors, a module (its parameters are checked too), or a
      :class:`~tinygrad_trade.CustomOp` subclass (checked through ``apply``).
    - ``inputs``: Values, Tensors, numbers (become Values) or arrays (become float64 Tensors).
      A Tensor without ``requires_grad`` is checked through a float64 copy.
    - The output may be any Value or Tensor (or a list of them): a non-scalar output is reduced
      by a fixed random weighted sum, which checks the whole Jacobian in one random direction.
    - ``order=2`` also checks every second derivative (``grad(..., create_graph=True)``).
    - ``tolerances="sharp"`` (the default) catches a derivative off by 1e-4 relative: an element
      agrees when ``|analytic - numeric| <= atol + rtol * |numeric|`` (``atol=1e-8``, ``rtol=1e-5``)
      plus the numeric derivative's own uncertainty (float64 rounding; where needed, Richardson
      extrapolation with a step scaled to each element, and the change it made). ``"torch"``:
      PyTorch's ``gradcheck`` (step 1e-6, ``atol=1e-5``, ``rtol=1e-3``). ``eps`` (the step),
      ``atol``, ``rtol`` override the set's values; differences are taken in float64 whatever
      the input dtype. The error model: docs/testing.md.

    Returns True; on a mismatch raises :class:`GradcheckError` (an ``AssertionError``, so it fails
    a test as a plain ``assert`` would) showing, per input that disagrees, the worst element and
    its index and the analytic and numeric derivatives.
    """
    if order not in (1, 2):
        raise ValueError(f"check_gradients: order must be 1 or 2, got {order!r}")
    if isinstance(f, type) and issubclass(f, CustomOp):
        f = f.apply
    if not callable(f):
        raise TypeError(f"check_gradients: f must be callable, got {type(f).__name__}")
    leaves = [_leaf(x, i) for i, x in enumerate(inputs)]
    params = _parameters(f)
    n = len(leaves)
    xs = leaves + [p for _, p in params]
    if not xs:
        raise ValueError("check_gradients: nothing to differentiate (no inputs and no parameters)")
    names = [getattr(x, "label", "") or f"input {i}" for i, x in enumerate(leaves)] + [nm for nm, _ in params]

    def scalar_f(*args):
        return _to_scalar(f(*args[:n]))

    kw = dict(eps=eps, atol=atol, rtol=rtol, names=names, tolerances=tolerances)
    gradcheck(scalar_f, xs, **kw)
    if order == 2:
        gradgradcheck(scalar_f, xs, **kw)
    return True
