"""Forecast evaluation for daily variance forecasts.

Conventions (shared with the rest of ``tinygrad_trade.vol``):

* returns are % log close-to-close returns ``r_t = 100 ln(C_t / C_{t-1})``;
* the target is ``y_t = r_t**2`` in %^2 (any non-negative variance proxy works);
* a forecast ``f_t`` is the variance of day ``t`` in %^2 per day, made with data
  up to the close of day ``t - 1``.

Inputs may be numpy arrays, lists or pandas Series. They are aligned **by
position**, must be one-dimensional, of equal length, finite, and forecasts
must be strictly positive. A Series' index is checked, never silently
realigned: it must be unique and sorted increasingly, and when both inputs are
Series their indexes must be equal. Anything else raises a ``ValueError`` with
a one-line message naming the problem.

Everything here is plain numpy; the normal p-value uses ``math.erfc``.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

__all__ = [
    "qlike",
    "qlike_loss",
    "mse",
    "mse_loss",
    "mae",
    "mincer_zarnowitz",
    "newey_west_variance",
    "diebold_mariano",
    "evaluate",
    "dm_table",
]


# --------------------------------------------------------------------------- #
# input validation
# --------------------------------------------------------------------------- #
def _as_1d(x, name: str, who: str, min_size: int = 1) -> np.ndarray:
    """Convert ``x`` to a finite 1-D float array of at least ``min_size`` values (position aligned)."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{who}: {name} is not numeric ({exc})") from None
    if a.ndim != 1:
        raise ValueError(f"{who}: {name} must be one-dimensional, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{who}: {name} is empty")
    if a.size < min_size:
        raise ValueError(f"{who}: {name} needs at least {min_size} observations, got {a.size}")
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{who}: {name} has {int(bad.sum())} non-finite value(s) (first at position {i}: {a[i]})"
        )
    return a


def _check_index(x, name: str, who: str):
    """The pandas index of ``x`` (None for arrays and lists), checked: unique and sorted increasingly."""
    idx = getattr(x, "index", None)
    if idx is None or not hasattr(idx, "is_monotonic_increasing"):
        return None
    if not idx.is_unique:
        raise ValueError(f"{who}: the index of {name} is not unique")
    if not idx.is_monotonic_increasing:
        raise ValueError(f"{who}: the index of {name} is not sorted increasingly")
    return idx


def _check_pair(y, f, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (target, forecast) pair: equal length, finite, f > 0; Series indexes (see the module doc)."""
    iy, i_f = _check_index(y, "y", who), _check_index(f, "f", who)
    if iy is not None and i_f is not None and not iy.equals(i_f):
        raise ValueError(f"{who}: y and f are Series with different indexes (align them first)")
    y = _as_1d(y, "y", who)
    f = _as_1d(f, "f", who)
    if y.shape != f.shape:
        raise ValueError(f"{who}: y and f have different lengths ({y.size} vs {f.size})")
    nonpos = f <= 0
    if nonpos.any():
        i = int(np.flatnonzero(nonpos)[0])
        raise ValueError(
            f"{who}: forecast f must be > 0, got {int(nonpos.sum())} value(s) <= 0 "
            f"(first at position {i}: {f[i]})"
        )
    return y, f


# --------------------------------------------------------------------------- #
# losses
# --------------------------------------------------------------------------- #
def qlike_loss(y, f) -> np.ndarray:
    """Per-observation QLIKE loss ``y_t / f_t + ln f_t``.

    This is the negative Gaussian log-likelihood up to constants; it is defined
    for ``y_t = 0`` (the loss is then ``ln f_t``). Minimised in expectation by
    ``f_t = E[y_t]``. Values can be negative when ``f_t < 1``.
    """
    y, f = _check_pair(y, f, "qlike_loss")
    return y / f + np.log(f)


def qlike(y, f) -> float:
    """QLIKE = ``mean(y_t / f_t + ln f_t)`` (the reference tables' definition)."""
    y, f = _check_pair(y, f, "qlike")
    return float(np.mean(y / f + np.log(f)))


def mse_loss(y, f) -> np.ndarray:
    """Per-observation squared error ``(y_t - f_t)**2`` (in %^4 for %^2 inputs)."""
    y, f = _check_pair(y, f, "mse_loss")
    return (y - f) ** 2


def mse(y, f) -> float:
    """MSE = ``mean((y_t - f_t)**2)``."""
    y, f = _check_pair(y, f, "mse")
    return float(np.mean((y - f) ** 2))


def mae(y, f) -> float:
    """MAE = ``mean(|y_t - f_t|)``."""
    y, f = _check_pair(y, f, "mae")
    return float(np.mean(np.abs(y - f)))


# --------------------------------------------------------------------------- #
# long-run variance and Diebold-Mariano
# --------------------------------------------------------------------------- #
def newey_west_variance(d, lags: int) -> float:
    """Long-run variance of ``d`` with Bartlett (Newey-West) weights.

    With ``n = len(d)``, ``u_t = d_t - mean(d)`` and the *biased* autocovariances
    ``gamma_k = (1/n) * sum_{t=k}^{n-1} u_t u_{t-k}``::

        NW = gamma_0 + 2 * sum_{k=1}^{L} (1 - k / (L + 1)) * gamma_k

    ``lags = L = 0`` gives the biased sample variance ``np.var(d)``. ``L`` is
    capped at ``n - 1``. Bartlett weights keep the result >= 0 (up to rounding,
    which is clipped).
    """
    d = _as_1d(d, "d", "newey_west_variance")
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 0:
        raise ValueError(f"newey_west_variance: lags must be a non-negative integer, got {lags!r}")
    n = d.size
    u = d - d.mean()
    L = min(int(lags), n - 1)
    lrv = float(u @ u) / n
    for k in range(1, L + 1):
        gamma_k = float(u[k:] @ u[:-k]) / n
        lrv += 2.0 * (1.0 - k / (L + 1.0)) * gamma_k
    return max(lrv, 0.0)


def _normal_two_sided_pvalue(z: float) -> float:
    """``P(|Z| >= |z|)`` for a standard normal: ``erfc(|z| / sqrt(2))``."""
    if math.isnan(z):
        return float("nan")
    return math.erfc(abs(z) / math.sqrt(2.0))


def diebold_mariano(loss_a, loss_b, lags: int = 5) -> dict:
    """Diebold-Mariano test of equal predictive accuracy.

    ``d_t = loss_a_t - loss_b_t``, ``stat = mean(d) / sqrt(NW(d, lags) / n)``
    with :func:`newey_west_variance` (Bartlett weights, biased autocovariances,
    no small-sample correction), and a two-sided normal p-value
    ``erfc(|stat| / sqrt(2))``.

    A **negative** ``stat`` means model *a* has the lower average loss.
    If ``d`` is constant (zero long-run variance) the statistic is ``0`` when
    ``mean(d) == 0`` and ``+-inf`` otherwise (p-value 1 or 0).

    Returns ``{"stat", "pvalue", "mean_diff", "n"}`` (floats, ``n`` an int).
    """
    a = _as_1d(loss_a, "loss_a", "diebold_mariano")
    b = _as_1d(loss_b, "loss_b", "diebold_mariano")
    if a.shape != b.shape:
        raise ValueError(f"diebold_mariano: loss_a and loss_b have different lengths ({a.size} vs {b.size})")
    if a.size < 2:
        raise ValueError(f"diebold_mariano: need at least 2 observations, got {a.size}")
    d = a - b
    n = d.size
    mean_diff = float(d.mean())
    lrv = newey_west_variance(d, lags)
    if lrv > 0.0:
        stat = mean_diff / math.sqrt(lrv / n)
    elif mean_diff == 0.0:
        stat = 0.0
    else:
        stat = math.copysign(math.inf, mean_diff)
    return {"stat": float(stat), "pvalue": _normal_two_sided_pvalue(stat), "mean_diff": mean_diff, "n": int(n)}


# --------------------------------------------------------------------------- #
# Mincer-Zarnowitz
# --------------------------------------------------------------------------- #
def mincer_zarnowitz(y, f) -> dict:
    """Mincer-Zarnowitz regression ``y_t = a + b f_t + e_t`` by OLS.

    Solved with ``numpy.linalg.lstsq`` on the design ``[1, f]``. An unbiased
    forecast has ``a = 0, b = 1``. ``r2 = 1 - SSR / SST`` (the squared
    correlation of ``y`` and ``f``).

    Standard errors are **classic OLS** (homoskedastic):
    ``s^2 = SSR / (n - 2)``, ``cov = s^2 (X'X)^-1``. They are optimistic for
    squared returns, which are heteroskedastic; use them as a rough guide.

    Returns ``{"intercept", "slope", "r2", "se_intercept", "se_slope"}``
    (plain floats). If ``f`` is constant the slope is not identified and
    ``slope``, ``r2`` and both SEs are ``nan`` (``intercept = mean(y)``);
    ``r2`` is also ``nan`` when ``y`` is constant. Needs ``n >= 3``.
    """
    y, f = _check_pair(y, f, "mincer_zarnowitz")
    n = y.size
    if n < 3:
        raise ValueError(f"mincer_zarnowitz: need at least 3 observations, got {n}")
    nan = float("nan")
    if np.ptp(f) == 0.0:
        return {"intercept": float(y.mean()), "slope": nan, "r2": nan, "se_intercept": nan, "se_slope": nan}
    X = np.column_stack([np.ones(n), f])
    coef, _, _, _ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    ssr = float(resid @ resid)
    yc = y - y.mean()
    sst = float(yc @ yc)
    r2 = 1.0 - ssr / sst if sst > 0 else nan
    s2 = ssr / (n - 2)
    cov = s2 * np.linalg.inv(X.T @ X)
    return {
        "intercept": float(coef[0]),
        "slope": float(coef[1]),
        "r2": float(r2),
        "se_intercept": float(math.sqrt(max(cov[0, 0], 0.0))),
        "se_slope": float(math.sqrt(max(cov[1, 1], 0.0))),
    }


# --------------------------------------------------------------------------- #
# tables
# --------------------------------------------------------------------------- #
def evaluate(y, forecasts: Mapping[str, object]) -> dict:
    """Score several forecasts of the same target.

    Returns ``{name: {"qlike": float, "mse": float, "mae": float,
    "mz": mincer_zarnowitz(...) dict, "n": int}}`` in the order of
    ``forecasts``. Every forecast must have the length of ``y``.
    """
    y = _as_1d(y, "y", "evaluate")
    out: dict = {}
    for name, f in forecasts.items():
        _, fa = _check_pair(y, f, f"evaluate[{name!r}]")
        out[name] = {
            "qlike": qlike(y, fa),
            "mse": mse(y, fa),
            "mae": mae(y, fa),
            "mz": mincer_zarnowitz(y, fa),
            "n": int(y.size),
        }
    return out


def dm_table(y, forecasts: Mapping[str, object], benchmark: str = "har", lags: int = 5) -> dict:
    """Diebold-Mariano tests of every model against ``benchmark``.

    For each ``name != benchmark``: ``loss_a`` is the model's loss and
    ``loss_b`` the benchmark's, so a **negative stat means the model beats the
    benchmark**. Returns ``{name: {"qlike": {"stat", "pvalue"},
    "mse": {"stat", "pvalue"}}}``; an empty dict if ``benchmark`` is not in
    ``forecasts``.
    """
    if benchmark not in forecasts:
        return {}
    y = _as_1d(y, "y", "dm_table")
    _, fb = _check_pair(y, forecasts[benchmark], f"dm_table[{benchmark!r}]")
    qb = y / fb + np.log(fb)
    mb = (y - fb) ** 2
    out: dict = {}
    for name, f in forecasts.items():
        if name == benchmark:
            continue
        _, fa = _check_pair(y, f, f"dm_table[{name!r}]")
        dq = diebold_mariano(y / fa + np.log(fa), qb, lags=lags)
        dmse = diebold_mariano((y - fa) ** 2, mb, lags=lags)
        out[name] = {
            "qlike": {"stat": dq["stat"], "pvalue": dq["pvalue"]},
            "mse": {"stat": dmse["stat"], "pvalue": dmse["pvalue"]},
        }
    return out
