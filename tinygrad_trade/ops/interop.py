"""numpy interop: numpy's ufuncs and functions called on a Tensor record the graph.

``np.exp(t)``, ``np.sum(t, axis=0)``, ``ndarray + t``, ``np.linalg.solve(A, b)`` and the rest of the
supported set below call the Tensor method of the same meaning, so the result is a Tensor with
its gradient. Anything else raises one ``TypeError`` naming the Tensor method to use (or
``t.numpy()`` to leave the graph on purpose). Comparisons and predicates (``np.equal``,
``np.isnan``, ...) return boolean arrays, as the Tensor's own comparisons do. ``out=`` arguments
are refused: a Tensor is never written into.
"""
from __future__ import annotations

import functools
import operator

import numpy as np

from ._base import TensorBase, data

__all__ = ["NumpyInterop"]


def _method(name, *fixed):
    return lambda t, *a, **k: getattr(t, name)(*fixed, *a, **k)


_UFUNC_CALL = {  # ufunc: what it does on Tensors (all inputs already Tensors)
    np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
    np.true_divide: operator.truediv, np.power: operator.pow, np.float_power: operator.pow,
    np.matmul: operator.matmul, np.negative: operator.neg, np.positive: lambda x: x,
    np.square: lambda x: x * x, np.reciprocal: lambda x: 1.0 / x, np.absolute: _method("abs"),
    np.fabs: _method("abs"), np.maximum: _method("maximum"), np.minimum: _method("minimum"),
    np.fmax: _method("fmax"), np.fmin: _method("fmin"), np.rint: _method("round"),
    np.radians: _method("deg2rad"), np.degrees: _method("rad2deg"),
    np.remainder: _method("mod"), np.floor_divide: _method("floordiv"),
    **{getattr(np, n): _method(n) for n in (
        "exp", "log", "sqrt", "tanh", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
        "arcsinh", "arccosh", "arctanh", "log1p", "expm1", "log2", "log10", "sign", "floor", "ceil",
        "trunc", "logaddexp", "hypot", "arctan2", "fmod", "deg2rad", "rad2deg", "exp2", "logaddexp2",
        "copysign")},
}
# scipy.special's ufuncs, by name (the core does not import scipy): their Tensor methods
_SCIPY_UFUNCS = {"i0": "i0", "i1": "i1", "j0": "bessel_j0", "j1": "bessel_j1", "erf": "erf", "erfc": "erfc",
                 "erfinv": "erfinv", "gammaln": "gammaln", "psi": "digamma", "digamma": "digamma",
                 "expit": "sigmoid", "logit": "logit", "ndtr": "normal_cdf", "ndtri": "normal_ppf",
                 "gammainc": "gammainc"}
_UFUNC_DATA = {np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
               np.isnan, np.isfinite, np.isinf, np.signbit, np.logical_and, np.logical_or, np.logical_not}
_UFUNC_METHOD = {  # (ufunc, method): Tensor method taking (axis=..., keepdims=...)
    (np.add, "reduce"): "sum", (np.multiply, "reduce"): "prod", (np.maximum, "reduce"): "max",
    (np.minimum, "reduce"): "min", (np.add, "accumulate"): "cumsum", (np.multiply, "accumulate"): "cumprod",
    (np.maximum, "accumulate"): "cummax", (np.minimum, "accumulate"): "cummin",
    (np.logaddexp, "accumulate"): "logcumsumexp",
}


def _first_tensor(args):
    for a in args:
        if isinstance(a, TensorBase):
            return a
        if isinstance(a, (list, tuple)):
            t = _first_tensor(a)
            if t is not None:
                return t
    return None


def _on(name):
    """numpy function f(a, *args, **kw) -> Tensor method a.name(*args, **kw)."""
    def call(a, *args, **kw):
        ref = a if isinstance(a, TensorBase) else _first_tensor(args)
        return getattr(ref._lift(a), name)(*args, **kw)
    return call


def _reduction(name, ddof=False):
    def call(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
        extra = {"ddof": kw.pop("ddof", 0)} if ddof else {}
        if dtype is not None or out is not None or kw:
            raise TypeError(f"numpy.{name} on a Tensor: only axis/keepdims{'/ddof' if ddof else ''} are supported")
        return getattr(a, name)(axis=axis, keepdims=keepdims, **extra)
    return call


def _static(name):
    def call(*args, **kw):
        ref = _first_tensor(args) or _first_tensor(list(kw.values()))
        return getattr(type(ref), name)(*args, **kw)
    return call


def _transpose(a, axes=None):
    return a.transpose(*(axes or ()))


def _clip(a, a_min=None, a_max=None, **kw):
    return a.clip(kw.get("min", a_min), kw.get("max", a_max))


def _linalg_norm(x, ord=None, axis=None, keepdims=False):
    return x.norm(ord=ord, axis=axis, keepdims=keepdims)


def _linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """numpy.linspace with Tensor ends: ``start + step * arange(num)`` (the last point ``stop`` when
    ``endpoint``), differentiable in both ends; the new axis at ``axis``."""
    if dtype is not None:
        raise TypeError("numpy.linspace on a Tensor: dtype is not supported (the Tensor's is used)")
    ref = _first_tensor((start, stop))
    start, stop = ref._lift(start), ref._lift(stop)
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    div = (num - 1) if endpoint else num
    nd = max(start.ndim, stop.ndim)
    steps = ref._lift(np.arange(num, dtype=ref.dtype).reshape((-1,) + (1,) * nd))
    delta = stop - start
    step = delta * (1.0 / div) if div > 0 else delta * np.nan
    y = start + steps * step if div > 0 else start + steps * delta * 0.0
    if endpoint and num > 1:
        y = type(ref).cat([y[:-1], (stop + y[-1:] * 0.0)], axis=0)
    if axis != 0:
        y = y.moveaxis(0, axis)
    return (y, step) if retstep else y


def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    return a.svd(full_matrices=full_matrices, compute_uv=compute_uv)


def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    ref = _first_tensor((a, b))
    a, b = ref._lift(a), ref._lift(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    out = a.moveaxis(axisa, -1).cross(b.moveaxis(axisb, -1))
    return out.moveaxis(-1, axisc) if out.ndim > 1 and out.shape[-1] == 3 else out


def _average(a, axis=None, weights=None, returned=False, keepdims=False):
    if weights is None:
        avg, wsum = a.mean(axis=axis, keepdims=keepdims), None
    else:
        w = a._lift(weights)
        if w.shape != a.shape:  # numpy: 1-D weights along one axis
            w = w.reshape([-1 if d == (axis % a.ndim) else 1 for d in range(a.ndim)])
        wsum = (w + a * 0.0).sum(axis=axis, keepdims=keepdims)
        avg = (a * w).sum(axis=axis, keepdims=keepdims) / wsum
    if returned:
        return avg, (wsum if wsum is not None else avg * 0.0 + a.size / max(avg.size, 1))
    return avg


def _dstack(ts):
    ref = _first_tensor(ts)
    return type(ref).cat([ref._lift(t).atleast_3d() for t in ts], axis=2)


def _split_along(axis_of):
    def call(a, indices_or_sections):
        return a.split(indices_or_sections, axis=axis_of(a))
    return call


def _rollaxis(a, axis, start=0):
    axis, start = axis % a.ndim, start + a.ndim if start < 0 else start  # numpy's normalisation
    if start > axis:
        start -= 1
    return a if axis == start else a.moveaxis(axis, start)


def _ptp(a, axis=None, keepdims=False):
    return a.max(axis=axis, keepdims=keepdims) - a.min(axis=axis, keepdims=keepdims)


def _vdot(a, b):
    ref = _first_tensor((a, b))
    return (ref._lift(a).reshape(-1) * ref._lift(b).reshape(-1)).sum()


def _on_data(fn):
    """A numpy function whose result carries no gradient (a predicate): run on the arrays."""
    return lambda *args, **kw: fn(*[data(a) for a in args], **{k: data(v) for k, v in kw.items()})


_FUNCTIONS = {
    np.sum: _reduction("sum"), np.mean: _reduction("mean"), np.var: _reduction("var", True),
    np.std: _reduction("std", True), np.max: _reduction("max"), np.min: _reduction("min"),
    np.amax: _reduction("max"), np.amin: _reduction("min"), np.prod: _reduction("prod"),
    np.reshape: lambda a, shape, **kw: a.reshape(shape), np.transpose: _transpose,
    np.concatenate: lambda ts, axis=0: _first_tensor(ts).cat(ts, axis=axis),
    np.stack: lambda ts, axis=0: _first_tensor(ts).stack(ts, axis=axis),
    np.vstack: _static("vstack"), np.hstack: _static("hstack"),
    np.where: lambda c, a, b: (_first_tensor((a, b))).where(c, a, b),
    np.clip: _clip, np.einsum: _static("einsum"),
    np.dot: _on("dot"), np.inner: _on("inner"), np.outer: _on("outer"), np.kron: _on("kron"),
    np.linalg.solve: _on("solve"), np.linalg.inv: _on("inv"), np.linalg.det: _on("det"),
    np.linalg.slogdet: _on("slogdet"), np.linalg.cholesky: _on("cholesky"), np.linalg.eigh: _on("eigh"),
    np.linalg.svd: _svd, np.linalg.pinv: _on("pinv"), np.linalg.eigvalsh: _on("eigvalsh"),
    np.linalg.eig: _on("eig"), np.linalg.eigvals: _on("eigvals"),
    np.linalg.multi_dot: lambda arrays, **kw: functools.reduce(operator.matmul, arrays),
    np.linspace: _linspace, np.cross: _cross, np.average: _average,
    np.column_stack: _static("column_stack"), np.meshgrid: _static("meshgrid"),
    np.allclose: _on_data(np.allclose), np.isclose: _on_data(np.isclose), np.array_equal: _on_data(np.array_equal),
    np.zeros_like: lambda a, **kw: a.zeros_like(), np.ones_like: lambda a, **kw: a.ones_like(),
    np.full_like: lambda a, fill_value, **kw: a.full_like(fill_value),
    np.i0: _on("i0"), np.flipud: lambda a: a.flip(0), np.dstack: _dstack, np.rollaxis: _rollaxis,
    np.vsplit: _split_along(lambda a: 0), np.hsplit: _split_along(lambda a: 1 if a.ndim > 1 else 0),
    np.dsplit: _split_along(lambda a: 2), np.ptp: _ptp, np.vdot: _vdot, np.fliplr: lambda a: a.flip(1),
    np.linalg.norm: _linalg_norm, np.linalg.matrix_power: _on("matrix_power"),
    np.shape: lambda a: a.shape, np.ndim: lambda a: a.ndim, np.size: lambda a, axis=None: np.size(a.data, axis),
    **{getattr(np, n): _on(n) for n in (
        "cumsum", "cumprod", "swapaxes", "expand_dims", "squeeze", "moveaxis", "tensordot", "trace",
        "diagonal", "tril", "triu", "diff", "roll", "flip", "pad", "tile", "repeat", "take",
        "take_along_axis", "sort", "argsort", "argmax", "argmin", "median", "quantile", "broadcast_to",
        "logaddexp", "round", "diag", "sinc", "gradient", "array_split", "split", "atleast_1d", "atleast_2d",
        "atleast_3d", "ravel", "rot90", "append", "nan_to_num", "kron", "fmax", "fmin")},
    **{getattr(np.linalg, n): _on(n) for n in ("cross", "diagonal", "outer", "svdvals", "tensordot", "trace")
       if hasattr(np.linalg, n)},
}
# suggestions for what numpy has and a Tensor has under another name (or not at all)
_HINT = {"asarray": "t.numpy()", "array": "t.numpy()", "copy": "t.detach()", "around": "Tensor.round",
         "nanmean": "Tensor.mean on finite data", "cov": "compose it from mean and @",
         "corrcoef": "compose it from mean, std and @", "percentile": "Tensor.quantile"}


def _unsupported(kind, name, cls):
    hint = _HINT.get(name)
    hint = hint or (f"Tensor.{name}" if hasattr(cls, name) else "a Tensor method, or t.numpy() to "
                    "leave the graph on purpose")
    return TypeError(f"numpy {kind} {name!r} is not supported on a Tensor (it would drop the gradient): use {hint}")


class NumpyInterop(TensorBase):
    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None:
            raise TypeError(f"numpy {ufunc.__name__}: out= is not supported on a Tensor (Tensors are never "
                            "written into)")
        kwargs.pop("out", None)
        if ufunc in _UFUNC_DATA and method == "__call__":
            return getattr(ufunc, method)(*[data(x) for x in inputs], **kwargs)
        if method == "__call__" and ufunc in _UFUNC_CALL and not kwargs:
            ref = _first_tensor(inputs)
            return _UFUNC_CALL[ufunc](*[ref._lift(x) for x in inputs])
        scipy_name = _SCIPY_UFUNCS.get(ufunc.__name__)  # a ufunc of that name that is not numpy's own
        if method == "__call__" and scipy_name and not kwargs and getattr(np, ufunc.__name__, None) is not ufunc:
            ref = _first_tensor(inputs)
            first, *rest = [ref._lift(x) for x in inputs]
            return getattr(first, scipy_name)(*rest)
        name = _UFUNC_METHOD.get((ufunc, method))
        if name is not None and len(inputs) == 1:
            axis = kwargs.pop("axis", 0)
            keep = {"keepdims": kwargs.pop("keepdims")} if "keepdims" in kwargs else {}
            kwargs.pop("dtype", None)
            if not kwargs:
                return getattr(inputs[0], name)(axis=axis, **keep)
        what = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        raise _unsupported("ufunc", what, type(self))

    def __array_function__(self, func, types, args, kwargs):
        impl = _FUNCTIONS.get(func)
        if impl is None:
            raise _unsupported("function", func.__name__, type(self))
        return impl(*args, **kwargs)
