"""Check analytic gradients against float64 finite differences, for Values and Tensors.

``f`` is a function of the inputs ``xs`` (Values or Tensors) that returns a scalar: a Value or a
single-element Tensor. Finite differences perturb one element at a time and evaluate ``f`` in float64
(float32 Tensors are promoted for the check). ``f`` runs with graph recording as the caller has it, so a
function that differentiates inside (a gradient penalty) is checked right.

Two sets of defaults (``tolerances=``):

- ``"sharp"`` (the default): the step of each element is ``eps * max(|x|, 0.1)`` (``eps = 1e-5``); an
  element's central difference is accepted when it agrees with the analytic derivative within
  ``atol + rtol * |numeric| + rounding`` (``atol = 1e-8``, ``rtol = 1e-5``; ``rounding = 64 * 2**-52 *
  max|f| / h`` bounds what float64 rounding of ``f`` can do to a difference over ``2h``). An element that
  does not is differenced again with half the step and the two are Richardson-extrapolated (the ``h**2``
  term cancels); the difference between the two steps is added to its allowance as the numeric
  derivative's own uncertainty. A derivative off by 1e-4 relative is caught; see docs/testing.md.
- ``"torch"``: PyTorch's ``gradcheck``: central differences with the fixed step ``eps = 1e-6`` and
  ``atol = 1e-5``, ``rtol = 1e-3``, nothing added (a 0.03% error passes).

Explicit ``eps``, ``atol`` or ``rtol`` override the chosen set's value.
"""
from __future__ import annotations

import numpy as np

from .engine import Value
from .graph import enable_grad, grad
from .tensor import Tensor

__all__ = ["numerical_grad", "gradcheck", "gradgradcheck", "GradcheckError", "TOLERANCES"]

# tolerances=: step, tolerances and whether the step scales with each element and is refined
TOLERANCES = {"sharp": {"eps": 1e-5, "atol": 1e-8, "rtol": 1e-5, "refine": True},
              "torch": {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3, "refine": False}}
SCALE_FLOOR = 0.1       # "sharp": the step is eps * max(|x|, SCALE_FLOOR)
ROUNDING = 64 * np.finfo(np.float64).eps   # "sharp": rounding allowance per unit of max|f| / h


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


def _settings(tolerances, eps, atol, rtol) -> dict:
    if tolerances not in TOLERANCES:
        raise ValueError(f"tolerances must be one of {', '.join(map(repr, TOLERANCES))}, got {tolerances!r}")
    given = {"eps": eps, "atol": atol, "rtol": rtol}
    return {**TOLERANCES[tolerances], **{k: float(v) for k, v in given.items() if v is not None}}


class _Element:
    """Get and set one element of an input (a Value's data, or an entry of a Tensor's float64 data)."""

    def __init__(self, x):
        self.x = x
        self.flat = None if isinstance(x, Value) else x.data.reshape(-1)
        self.size = 1 if self.flat is None else self.flat.size

    def get(self, i):
        return self.x.data if self.flat is None else self.flat[i]

    def set(self, i, v):
        if self.flat is None:
            self.x.data = v
        else:
            self.flat[i] = v


def _numeric(fn, xs, analytic, eps, atol, rtol, refine):
    """Finite-difference derivatives of ``fn`` (a float or a float64 vector) for every element of every
    input, and each one's allowance for its own error (see the module docstring).

    Returns ``(numeric, allowance)``: per input, arrays of shape ``x.shape + fn's shape``. With ``refine``
    the step scales with the element and an element (row) that disagrees with ``analytic`` within
    ``atol + rtol |numeric| + rounding`` is Richardson-refined; without it, plain central differences
    with the step ``eps`` and no allowance."""
    nums, allows = [], []
    for x, a in zip(xs, analytic):
        el = _Element(x)
        if el.size == 0:
            nums.append(np.zeros(np.shape(a)))
            allows.append(np.zeros(np.shape(a)))
            continue
        a_rows = np.asarray(a, dtype=np.float64).reshape(el.size, -1)

        def diff(i, x0, h):
            xp, xm = x0 + h, x0 - h
            el.set(i, xp)
            fp = np.asarray(fn(), dtype=np.float64)
            el.set(i, xm)
            fm = np.asarray(fn(), dtype=np.float64)
            el.set(i, x0)
            return (fp - fm) / (xp - xm), np.maximum(np.abs(fp), np.abs(fm)), (xp - xm) / 2

        rows, allow = [], []
        for i in range(el.size):
            x0 = el.get(i)
            if not refine:
                d, _, _ = diff(i, x0, eps)
                rows.append(d)
                allow.append(np.zeros_like(d))
                continue
            h = eps * max(abs(x0), SCALE_FLOOR)
            d1, m1, h1 = diff(i, x0, h)
            r1 = ROUNDING * m1 / h1
            if np.all(np.abs(a_rows[i].reshape(d1.shape) - d1) <= atol + rtol * np.abs(d1) + r1):
                rows.append(d1)
                allow.append(r1)
                continue
            d2, m2, h2 = diff(i, x0, h / 2)
            rows.append(d2 + (d2 - d1) / 3)                        # Richardson: the h**2 terms cancel
            allow.append(np.abs(d2 - d1) + 3 * ROUNDING * np.maximum(m1, m2) / h1)
        shape = np.shape(a)                                       # x's shape + fn's
        nums.append(np.array(rows, dtype=np.float64).reshape(shape))
        allows.append(np.array(allow, dtype=np.float64).reshape(shape))
    return nums, allows


def _analytic(f, xs):
    for i, x in enumerate(xs):
        if isinstance(x, Tensor) and not x.requires_grad:
            raise ValueError(f"gradcheck: input {i} is a Tensor with requires_grad=False")
    with _Float64(xs), enable_grad():
        gs = grad(f(*xs), xs)
    return [float(g) if isinstance(x, Value) else np.asarray(g, dtype=np.float64) for g, x in zip(gs, xs)]


def _show(a) -> str:
    return np.array2string(a, precision=6, threshold=12, separator=", ", max_line_width=100).replace("\n", " ")


def _compare(kind, analytic, numeric, xs, atol, rtol, raise_exception, names=None, allowance=None):
    """One paragraph per input that disagrees: the worst element, its index, and both arrays."""
    lines = []
    for i, (a, n, x) in enumerate(zip(analytic, numeric, xs)):
        a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
        u = 0.0 if allowance is None else np.asarray(allowance[i], dtype=np.float64)
        err = np.abs(a - n)
        bad = ~(err <= atol + rtol * np.abs(n) + u)  # NaN counts as a mismatch
        if not bad.any():
            continue
        name = (names[i] if names else None) or getattr(x, "label", "") or f"input {i}"
        if a.ndim == 0:
            lines.append(f"{name}: analytic {a:.8g}, numeric {n:.8g}, error {err:.3g}")
            if allowance is not None:
                lines.append(f"  allowed {atol + rtol * abs(float(n)) + float(u):.3g} "
                             f"(numeric uncertainty {float(u):.2g})")
            continue
        worst = np.where(np.isnan(err), np.inf, err)
        idx = tuple(int(j) for j in np.unravel_index(int(np.argmax(worst)), err.shape))
        lines.append(f"{name}: {int(bad.sum())} of {bad.size} elements disagree; worst at index {list(idx)}")
        lines.append(f"  {name}{list(idx)}: analytic {a[idx]:.8g}, numeric {n[idx]:.8g}, error {err[idx]:.3g}")
        if allowance is not None:
            ui = float(np.broadcast_to(u, err.shape)[idx])
            lines.append(f"  allowed {atol + rtol * abs(n[idx]) + ui:.3g} (numeric uncertainty {ui:.2g})")
        lines.append(f"  analytic {_show(a)}")
        lines.append(f"  numeric  {_show(n)}")
    if not lines:
        return True
    msg = f"{kind} mismatch (atol={atol:g}, rtol={rtol:g}):\n  " + "\n  ".join(lines)
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(f, xs, eps=None, atol=None, rtol=None, raise_exception=True, names=None, tolerances="sharp"):
    """Compare the engine's gradient of ``f(*xs)`` with finite differences.

    Returns True when every element agrees (``tolerances="sharp"``, the default: within ``atol + rtol *
    |numeric|`` plus the numeric derivative's own uncertainty; ``"torch"``: PyTorch's ``atol + rtol *
    |numeric|``; see the module docstring). Otherwise raises :class:`GradcheckError` showing, per input
    that disagrees, the worst element and its index, and the analytic and numeric gradients (or returns
    False with ``raise_exception=False``). ``names`` labels the inputs in the message (default: each
    input's label, else its position). ``eps``, ``atol``, ``rtol`` override the set's values.
    """
    xs = _as_list(xs)
    cfg = _settings(tolerances, eps, atol, rtol)
    analytic = _analytic(f, xs)
    with _Float64(xs):
        numeric, allow = _numeric(lambda: _scalar(f(*xs)), xs, analytic, cfg["eps"], cfg["atol"], cfg["rtol"],
                                  cfg["refine"])
    numeric = [float(n) if isinstance(x, Value) else n for n, x in zip(numeric, xs)]
    return _compare("gradient", analytic, numeric, xs, cfg["atol"], cfg["rtol"], raise_exception, names,
                    allow if cfg["refine"] else None)


def gradgradcheck(f, xs, eps=None, atol=None, rtol=None, raise_exception=True, names=None, tolerances="sharp"):
    """Compare second derivatives from ``grad(..., create_graph=True)`` with differences of gradients.

    Checks every block ``d2 f / dx_i dx_j`` of the Hessian; options as :func:`gradcheck`.
    """
    xs = _as_list(xs)
    cfg = _settings(tolerances, eps, atol, rtol)

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
        numeric, allow = _numeric(lambda: np.concatenate([g.reshape(-1) for g in first_grads()]), xs, analytic,
                                  cfg["eps"], cfg["atol"], cfg["rtol"], cfg["refine"])
    return _compare("second derivative", analytic, numeric, xs, cfg["atol"], cfg["rtol"], raise_exception,
                    names, allow if cfg["refine"] else None)
