"""Multi-day Value-at-Risk and Expected Shortfall (e.g. the 10-day VaR of Basel) from an h-day variance forecast,
and their backtest on overlapping windows.

A forecast ``f_t`` of the horizon-h target is the mean daily variance of days ``t..t+h-1`` (%^2 per day), made
from data before ``t``; the h-day return is ``R_t = r_t + ... + r_{t+h-1}`` (% log, close of ``t-1`` to close of
``t+h-1``), whose variance is ``h f_t`` (returns taken as uncorrelated). VaR and ES are positive % losses from the
**normal** quantiles::

    VaR_t = sqrt(h f_t) z_a          ES_t = sqrt(h f_t) phi(z_a) / a        (z_a: the normal 1 - a quantile)

i.e. the 1-day normal quantile scaled by ``sqrt(h x mean daily variance)``: with the flat 1-day variance it is the
square-root-of-time rule, with a model's h-day mean variance it follows the model's term structure.

For fat tails (``fhs``, filtered historical simulation of the h-day return): the quantile and tail mean of the
model's own standardised h-day returns ``z = R / sqrt(h f)`` of the earlier windows, those complete before ``t``
(``t' + h - 1 < t``), replace the normal ones; a window with fewer than ``min_history`` of them gets no figure.
It keeps the fat tails and skew the h-day sums really have (the normal sum of h fat-tailed days is only a limit).
It is not a simulation of the model's own dynamics (the walk-forward passes variance forecasts, not models).

**Backtest on overlapping windows.** One window starts every day, so ``I_t = 1{R_t < -VaR_t}`` of windows less than
h days apart share returns: the hits are autocorrelated up to lag h-1 and the i.i.d. tests (Kupiec's LR,
Christoffersen's Markov test) reject a right model far too often. Two corrections are reported:

* ``nw``: the unconditional coverage test as a t-test of ``mean(I_t) = a`` whose variance is the Newey-West
  (1987) long-run variance of ``I_t - a`` (Bartlett kernel, h - 1 lags: the autocorrelation the overlap induces);
  two-sided normal p-value (``nw_z``, ``nw_pvalue``);
* ``sub``: Kupiec's (1995) LR test on each of the h non-overlapping subsamples (windows starting every h-th
  day, offsets 0..h-1; within one the windows share no day), combined by Bonferroni: ``sub_pvalue`` = min(1, h x
  the smallest subsample p-value) (conservative).

ES: Acerbi and Szekely's (2014) ``Z2`` on the overlapping windows (0 when right, negative when the ES is too
small; a point statistic, no p-value).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .risk import LEVELS, MIN_HISTORY, acerbi_szekely_z2, kupiec, level_key, normal_var_es, quantile_var_es

__all__ = ["horizon_returns", "horizon_var_es", "fhs_var_es", "newey_west_coverage", "subsample_kupiec", "horizon_backtest",
           "horizon_risk_metrics"]


def horizon_returns(returns, index, h: int) -> np.ndarray:
    """``R[i] = returns[t] + ... + returns[t+h-1]`` for ``t = index[i]`` (nan where a day is missing)."""
    r = np.asarray(returns, dtype=float)
    t = np.asarray(index, dtype=int)
    out = np.full(t.size, np.nan)
    ok = t + h <= r.size
    c = np.concatenate(([0.0], np.cumsum(np.nan_to_num(r))))
    bad = np.concatenate(([0], np.cumsum(~np.isfinite(r))))
    tt = t[ok]
    out[ok] = np.where(bad[tt + h] - bad[tt] == 0, c[tt + h] - c[tt], np.nan)
    return out


def horizon_var_es(variance, h: int, alpha: float) -> tuple:
    """``(VaR, ES)`` arrays of the h-day return from the mean daily variance forecasts (normal quantiles)."""
    q, e = normal_var_es(alpha)
    sd = np.sqrt(h * np.asarray(variance, dtype=float))
    return sd * q, sd * e


def newey_west_coverage(hit, alpha: float, lags: int) -> dict:
    """Coverage t-test of ``mean(hit) = alpha`` with a Newey-West (Bartlett, ``lags``) variance."""
    x = np.asarray(hit, dtype=float) - alpha
    n = x.size
    lrv = float(np.mean(x * x))
    for k in range(1, min(int(lags), n - 1) + 1):
        lrv += 2.0 * (1.0 - k / (lags + 1.0)) * float(np.mean(x[k:] * x[:-k]))
    if not lrv > 0:
        return {"z": float("nan"), "pvalue": float("nan")}
    z = float(np.mean(x) / math.sqrt(lrv / n))
    return {"z": z, "pvalue": float(2.0 * stats.norm.sf(abs(z)))}


def subsample_kupiec(hit, alpha: float, h: int) -> dict:
    """Kupiec's test on each of the ``h`` non-overlapping subsamples; Bonferroni-combined p-value."""
    hit = np.asarray(hit, dtype=bool)
    ps = [kupiec(hit[j::h], alpha)["pvalue"] for j in range(h) if hit[j::h].size]
    return {"pvalues": ps, "pvalue": float(min(1.0, len(ps) * min(ps))) if ps else float("nan")}


def horizon_backtest(R, variance, h: int, alpha: float) -> dict:
    """The backtests of one level on overlapping h-day windows (see the module docstring)."""
    R = np.asarray(R, dtype=float)
    f = np.asarray(variance, dtype=float)
    ok = np.isfinite(R) & np.isfinite(f)
    var, es = horizon_var_es(np.where(ok, f, np.nan), h, alpha)
    return _backtest_given(R, var, es, h, alpha)


def fhs_var_es(R, variance, h: int, alpha: float, min_history: int = MIN_HISTORY) -> tuple:
    """``(VaR, ES)`` of each window from the standardised h-day returns of the windows complete before it."""
    R = np.asarray(R, dtype=float)
    sd = np.sqrt(h * np.asarray(variance, dtype=float))
    z = R / sd
    var, es = np.full(R.size, np.nan), np.full(R.size, np.nan)
    for i in range(R.size):
        past = z[:max(i - h + 1, 0)]
        past = past[np.isfinite(past)]
        if past.size >= min_history:
            q, e = quantile_var_es(past, alpha)
            var[i], es[i] = sd[i] * q, sd[i] * e
    return var, es


def _backtest_given(R, var, es, h: int, alpha: float) -> dict:
    ok = np.isfinite(R) & np.isfinite(var)
    R, var, es = R[ok], var[ok], es[ok]
    hit = R < -var
    if hit.size < 2 * h:
        raise ValueError(f"{h}-day risk backtest: {hit.size} windows, need at least {2 * h}")
    nw = newey_west_coverage(hit, alpha, h - 1)
    sub = subsample_kupiec(hit, alpha, h)
    return {"level": alpha, "n": int(hit.size), "hits": int(hit.sum()), "hit_rate": float(hit.mean()),
            "nw_z": nw["z"], "nw_pvalue": nw["pvalue"], "sub_pvalue": sub["pvalue"],
            "sub_pvalues": sub["pvalues"], "naive_kupiec_pvalue": kupiec(hit, alpha)["pvalue"],
            "es_z2": acerbi_szekely_z2(R, var, es, alpha)}


def horizon_risk_metrics(returns, index, forecasts: dict, h: int, dates=None, levels=LEVELS,
                         min_history: int = MIN_HISTORY) -> dict:
    """``{model: {"horizon", "method": "normal", "n_windows", "first_date", "levels": {"1": ..., "5": ...},
    "fhs": {"first_date", "n_windows", "levels"}}}`` for forecasts of the h-day mean variance on days ``index``
    (``returns``: the whole daily series); ``fhs`` only when the walk leaves enough windows for it."""
    R = horizon_returns(returns, index, h)
    out = {}
    for name, f in forecasts.items():
        f = np.asarray(f, dtype=float)
        entry = {"horizon": int(h), "method": "normal", "n_windows": int(np.isfinite(R).sum()),
                 "first_date": None if dates is None else str(dates[0]), "levels": {}}
        for a in levels:
            entry["levels"][level_key(a)] = horizon_backtest(R, f, h, a)
        fhs = {}
        for a in levels:
            var, es = fhs_var_es(R, f, h, a, min_history)
            known = np.flatnonzero(np.isfinite(var))
            if known.size < max(2 * h, 22):
                fhs = {}
                break
            fhs.setdefault("first_date", None if dates is None else str(dates[known[0]]))
            fhs.setdefault("n_windows", int(known.size))
            fhs.setdefault("levels", {})[level_key(a)] = _backtest_given(R, var, es, h, a)
        if fhs:
            entry["fhs"] = fhs
        out[name] = entry
    return out
