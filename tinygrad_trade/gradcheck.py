"""Check analytic gradients against float64 central differences, for Values and Tensors.

``f`` is a function of the inputs ``xs`` (Values or Tensors) that returns a scalar: a Value or a
single-element Tensor. Finite differences perturb one element at a time by ``±eps`` and evaluate
``f`` in float64 (float32 Tensors are promoted for the check). ``f`` runs with graph recording as
the caller has it, so a function that differentiates inside (a gradient penalty) is checked right.
"""
from __future__ import annotations

import numpy as np

from .engine import Value
from .graph import enable_grad, grad
from .tensor import Tensor

__all__ = ["numerical_grad", "gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Analytic and numerical derivatives disagree; the message lists them per input."""


def _as_list(xs):
    return list(xs) if isinstance(xs, (list, tuple)) else [xs]


def _scalar(y) -> float:
    if isinstance(y, Value):
        return y.data
    if isinstance(y, Tensor):
        return y.item()
    return float(y)


class _Float64:
    """Temporarily hold every Tensor input in float64 (finite differences need the precision)."""

    def __init__(self, xs):
        self.xs = [x for x in xs if isinstance(x, Tensor)]

    def __enter__(self):
        self.saved = [x.data for x in self.xs]
        for x in self.xs:
            x.data = x.data.astype(np.float64)

    def __exit__(self, *exc):
        for x, d in zip(self.xs, self.saved):
            x.data = d


def _central(fn, xs, eps):
    """d fn / d x for each x in xs by central differences; fn returns a float or an array."""
    out = []
    for x in xs:
        if isinstance(x, Value):
            x0 = x.data
            x.data = x0 + eps
            fp = fn()
            x.data = x0 - eps
            fm = fn()
            x.data = x0
            out.append((np.asarray(fp) - np.asarray(fm)) / (2 * eps))
            continue
        flat = x.data.reshape(-1)
        rows = []
        for i in range(flat.size):
            x0 = flat[i]
            flat[i] = x0 + eps
            fp = np.asarray(fn(), dtype=np.float64)
            flat[i] = x0 - eps
            fm = np.asarray(fn(), dtype=np.float64)
            flat[i] = x0
            rows.append((fp - fm) / (2 * eps))
        shape = x.data.shape + (np.shape(rows[0]) if rows else ())
        out.append(np.array(rows, dtype=np.float64).reshape(shape))
    return out


def numerical_grad(f, xs, eps=1e-6):
    """Central-difference gradient of scalar ``f(*xs)`` for each input: floats or float64 arrays."""
    single = not isinstance(xs, (list, tuple))
    xs = _as_list(xs)
    with _Float64(xs):
        num = _central(lambda: _scalar(f(*xs)), xs, eps)
    num = [float(n) if isinstance(x, Value) else n for n, x in zip(num, xs)]
    return num[0] if single else num


def _analytic(f, xs):
    for i, x in enumerate(xs):
        if isinstance(x, Tensor) and not x.requires_grad:
            raise ValueError(f"gradcheck: input {i} is a Tensor with requires_grad=False")
    with _Float64(xs), enable_grad():
        gs = grad(f(*xs), xs)
    return [float(g) if isinstance(x, Value) else np.asarray(g, dtype=np.float64) for g, x in zip(gs, xs)]


def _show(a) -> str:
    return np.array2string(a, precision=6, threshold=12, separator=", ", max_line_width=100).replace("\n", " ")


def _compare(kind, analytic, numeric, xs, atol, rtol, raise_exception, names=None):
    """One paragraph per input that disagrees: the worst element, its index, and both arrays."""
    lines = []
    for i, (a, n, x) in enumerate(zip(analytic, numeric, xs)):
        a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
        err = np.abs(a - n)
        bad = ~(err <= atol + rtol * np.abs(n))  # NaN counts as a mismatch
        if not bad.any():
            continue
        name = (names[i] if names else None) or getattr(x, "label", "") or f"input {i}"
        if a.ndim == 0:
            lines.append(f"{name}: analytic {a:.8g}, numeric {n:.8g}, error {err:.3g}")
            continue
        worst = np.where(np.isnan(err), np.inf, err)
        idx = tuple(int(j) for j in np.unravel_index(int(np.argmax(worst)), err.shape))
        lines.append(f"{name}: {int(bad.sum())} of {bad.size} elements disagree; worst at index {list(idx)}")
        lines.append(f"  {name}{list(idx)}: analytic {a[idx]:.8g}, numeric {n[idx]:.8g}, error {err[idx]:.3g}")
        lines.append(f"  analytic {_show(a)}")
        lines.append(f"  numeric  {_show(n)}")
    if not lines:
        return True
    msg = f"{kind} mismatch (atol={atol}, rtol={rtol}):\n  " + "\n  ".join(lines)
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(f, xs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, names=None):
    """Compare the engine's gradient of ``f(*xs)`` with central differences.

    Returns True when every element agrees within ``atol + rtol * |numeric|``. Otherwise raises
    :class:`GradcheckError` showing, per input that disagrees, the worst element and its index,
    and the analytic and numeric gradients (or returns False with ``raise_exception=False``).
    ``names`` labels the inputs in the message (default: each input's label, else its position).
    """
    xs = _as_list(xs)
    return _compare("gradient", _analytic(f, xs), numerical_grad(f, xs, eps), xs, atol, rtol, raise_exception,
                    names)


def gradgradcheck(f, xs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, names=None):
    """Compare second derivatives from ``grad(..., create_graph=True)`` with differences of gradients.

    Checks every block ``d2 f / dx_i dx_j`` of the Hessian.
    """
    xs = _as_list(xs)

    def first_grads():
        return [np.asarray(g, dtype=np.float64) for g in _analytic(f, xs)]

    with _Float64(xs):
        y = f(*xs)
        g1 = grad(y, xs, create_graph=True)
        analytic = []  # analytic[j] has shape x_j.shape + (all first-grad elements)
        flat_g = []
        for g in g1:
            if isinstance(g, Value):
                flat_g.append(g)
            else:
                flat_g.extend(g.reshape(-1)[k] for k in range(g.size))
        rows = [grad(gk, xs) for gk in flat_g]
        for j, x in enumerate(xs):
            cols = [np.asarray(r[j], dtype=np.float64) for r in rows]
            analytic.append(np.stack(cols, axis=-1) if cols else np.zeros(np.shape(x.data) + (0,)))
        numeric = _central(lambda: np.concatenate([g.reshape(-1) for g in first_grads()]), xs, eps)
    return _compare("second derivative", analytic, numeric, xs, atol, rtol, raise_exception, names)
