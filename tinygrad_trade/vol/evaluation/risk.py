"""One-day Value-at-Risk and Expected Shortfall from a variance forecast, and their backtests.

Conventions: returns ``r_t`` in % (log close-to-close), a variance forecast ``s_t`` (%^2) of day
``t`` made from data before ``t``. VaR and ES are **positive % losses**: at level ``alpha`` (1% or
5%), ``P(r_t < -VaR_t) = alpha`` and ``ES_t = -E[r_t | r_t < -VaR_t]``.

Two ways to turn ``s_t`` into quantiles:

* ``"fhs"`` (filtered historical simulation, the default): the standardised residuals
  ``z_u = r_u / sqrt(s_u)`` of earlier days ``u < t`` give the empirical quantile ``q`` of ``z``
  (numpy's linear interpolation) and ``VaR_t = -sqrt(s_t) q``, ``ES_t = -sqrt(s_t) mean(z_u | z_u <= q)``.
  The residuals are never taken from day ``t`` or later (no look-ahead); a day with fewer than
  ``min_history`` earlier residuals gets no figure (NaN);
* ``"normal"``: ``VaR_t = sqrt(s_t) z_a`` and ``ES_t = sqrt(s_t) phi(z_a) / alpha`` with ``z_a`` the
  standard normal ``1 - alpha`` quantile.

Backtests of a hit sequence ``I_t = 1{r_t < -VaR_t}`` (``scipy.stats.chi2`` p-values):

* Kupiec (1995) unconditional coverage: ``LR_uc = -2 ln[L(alpha) / L(pi_hat)]``, chi2(1);
* Christoffersen (1998) independence: first-order Markov chain of the hits against an i.i.d. one,
  ``LR_ind`` chi2(1); conditional coverage ``LR_cc = LR_uc + LR_ind``, chi2(2);
* Expected Shortfall: McNeil and Frey (2000) exceedance residuals ``(L_t - ES_t) / sqrt(s_t)`` on hit
  days (``L_t = -r_t``) have mean zero when ES is right; a one-sided bootstrap test of the mean
  (H1: ES too small; fixed seed, so reproducible). Acerbi and Szekely's (2014)
  ``Z2 = 1 - sum_t I_t L_t / (T alpha ES_t)`` is reported too (0 when right, negative when ES is too
  small; no p-value: its null distribution needs the full predictive distribution).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.special import xlogy

__all__ = ["LEVELS", "MIN_HISTORY", "METHODS", "standardized_residuals", "quantile_var_es", "normal_var_es",
           "var_es", "rolling_var_es", "hits", "kupiec", "christoffersen", "mcneil_frey", "acerbi_szekely_z2",
           "backtest", "risk_metrics", "level_key"]

LEVELS = (0.01, 0.05)
MIN_HISTORY = 250          # FHS needs this many earlier standardised residuals
METHODS = ("fhs", "normal")


def level_key(alpha: float) -> str:
    """``0.05 -> "5"``, ``0.01 -> "1"``, ``0.025 -> "2.5"`` (column names ``var_5``, ``es_1`` ...)."""
    return f"{100.0 * float(alpha):g}"


def _check_level(alpha) -> float:
    a = float(alpha)
    if not 0.0 < a < 0.5:
        raise ValueError(f"risk level must be in (0, 0.5), got {alpha!r}")
    return a


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"risk method must be one of {', '.join(METHODS)}, got {method!r}")
    return method


def standardized_residuals(returns, variance) -> np.ndarray:
    """``z_t = r_t / sqrt(s_t)`` (NaN where either is missing)."""
    r = np.asarray(returns, dtype=float)
    s = np.asarray(variance, dtype=float)
    if r.shape != s.shape:
        raise ValueError(f"returns and variances have different lengths ({r.size} vs {s.size})")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, r / np.sqrt(np.where(s > 0, s, 1.0)), np.nan)


def _sorted_var_es(zs: np.ndarray, alpha: float) -> tuple[float, float]:
    """(VaR, ES) per unit of volatility from *sorted* residuals ``zs``."""
    m = zs.size
    pos = alpha * (m - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, m - 1)
    q = zs[lo] + (pos - lo) * (zs[hi] - zs[lo])
    k = max(1, int(np.searchsorted(zs, q, side="right")))
    return float(-q), float(-zs[:k].mean())


def quantile_var_es(z, alpha: float) -> tuple[float, float]:
    """(VaR, ES) per unit of volatility from standardised residuals ``z`` (finite values only)."""
    alpha = _check_level(alpha)
    z = np.asarray(z, dtype=float)
    z = np.sort(z[np.isfinite(z)])
    if z.size < 2:
        raise ValueError(f"need at least 2 finite standardised residuals, got {z.size}")
    return _sorted_var_es(z, alpha)


def normal_var_es(alpha: float) -> tuple[float, float]:
    """(VaR, ES) of a standard normal at level ``alpha`` (positive numbers)."""
    alpha = _check_level(alpha)
    q = float(stats.norm.ppf(1.0 - alpha))
    return q, float(stats.norm.pdf(q) / alpha)


def var_es(variance, residuals=None, levels=LEVELS, method: str = "fhs") -> dict:
    """VaR and ES for given variance(s) ``s`` from a fixed set of standardised ``residuals``.

    Returns ``{"var_5": ..., "es_5": ..., "var_1": ..., "es_1": ...}`` (same shape as ``variance``);
    ``method="normal"`` ignores ``residuals``.
    """
    _check_method(method)
    sig = np.sqrt(np.asarray(variance, dtype=float))
    out = {}
    for a in levels:
        v, e = normal_var_es(a) if method == "normal" else quantile_var_es(residuals, a)
        out[f"var_{level_key(a)}"] = sig * v
        out[f"es_{level_key(a)}"] = sig * e
    return out


def rolling_var_es(returns, variance, levels=LEVELS, method: str = "fhs", min_history: int = MIN_HISTORY,
                   history=None) -> dict:
    """Day-by-day VaR/ES: day ``t`` uses the residuals of days before ``t`` only.

    ``returns``, ``variance``: aligned arrays (``variance[t]`` forecast from data before ``t``).
    ``history``: standardised residuals of days before the first one (optional). Days with fewer than
    ``min_history`` earlier finite residuals are NaN (``"fhs"``). Returns arrays keyed as :func:`var_es`.
    """
    _check_method(method)
    levels = [_check_level(a) for a in levels]
    s = np.asarray(variance, dtype=float)
    sig = np.sqrt(s)
    n = s.size
    out = {f"{k}_{level_key(a)}": np.full(n, np.nan) for a in levels for k in ("var", "es")}
    if method == "normal":
        for a in levels:
            v, e = normal_var_es(a)
            out[f"var_{level_key(a)}"] = sig * v
            out[f"es_{level_key(a)}"] = sig * e
        return out
    z = standardized_residuals(returns, s)
    past = np.zeros(0) if history is None else np.asarray(history, dtype=float).reshape(-1)
    _rolling_fhs(z, sig, levels, min_history, past[np.isfinite(past)], out)
    return out


_CHUNK = 256      # days per block of the vectorised FHS (memory: block x residuals)
_MARGIN = 16      # order statistics kept past the quantile's, for ties at the quantile


def _rolling_fhs(z: np.ndarray, sig: np.ndarray, levels, min_history: int, past: np.ndarray, out: dict) -> None:
    """FHS figures of every day at once, the same numbers as a day-by-day loop over the sorted residuals.

    Day ``t`` sees ``S_t``: ``past`` and the finite ``z_u`` of days ``u < t``. All residuals are sorted once
    (ties: the later first, as an insertion into a sorted list would put them); the smallest ``J`` of ``S_t`` are
    then the first ``J`` of that order that have arrived by ``t``. From them: the quantile ``q`` interpolated
    between the order statistics ``lo`` and ``lo + 1``, ``k`` = how many are at most ``q``, and the mean of the
    ``k`` smallest, summed row by row as ``numpy.mean`` sums one sorted slice (a 2-D ``mean(axis=1)`` over
    C-contiguous rows is the same pairwise sum per row)."""
    n = z.size
    fin = np.isfinite(z)
    vals = np.concatenate([past, z[fin]])
    arrive = np.concatenate([np.full(past.size, -1, dtype=np.int64), np.flatnonzero(fin)])
    order = np.lexsort((-arrive, vals))
    V, A = vals[order], arrive[order]
    m = past.size + np.concatenate(([0], np.cumsum(fin)[:-1])) if n else np.zeros(0, dtype=np.int64)
    days = np.flatnonzero((m >= max(2, int(min_history))) & np.isfinite(sig))
    if days.size == 0:
        return
    m_d = m[days]
    plan = []
    for a in levels:
        pos = a * (m_d - 1).astype(float)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, m_d - 1)
        plan.append((a, pos, lo, hi))
    for c0 in range(0, days.size, _CHUNK):
        rows, sl = days[c0:c0 + _CHUNK], slice(c0, c0 + _CHUNK)
        # the J smallest of each day's residuals are kept; J grows with the days (hi is the chunk's last)
        J = min(max(int(hi[sl][-1]) for _, _, _, hi in plan) + 1 + _MARGIN, int(m[rows[-1]]))
        # the first position of the sorted residuals by which J of them have arrived on the chunk's first day
        got = np.cumsum(A < rows[0])
        R = int(np.searchsorted(got, J)) + 1 if got.size and got[-1] >= J else V.size
        arrived = A[None, :R] < rows[:, None]
        rank = np.cumsum(arrived, axis=1, dtype=np.int32)
        take = arrived & (rank <= J)
        r_i, c_i = np.nonzero(take)
        C = np.full((rows.size, J), np.inf)
        C[r_i, rank[r_i, c_i] - 1] = V[c_i]
        ii = np.arange(rows.size)
        for a, pos, lo, hi in plan:
            p, l, h = pos[sl], lo[sl], hi[sl]
            zl, zh = C[ii, l], C[ii, h]
            q = zl + (p - l) * (zh - zl)                   # as _sorted_var_es, element by element
            k = np.maximum(1, np.sum(C <= q[:, None], axis=1))
            es = np.empty(rows.size)
            slow = (k >= J) & (J < m[rows])                # ties at q may run past the J kept: day by day
            for i in np.flatnonzero(slow):
                vq, ve = _sorted_var_es(V[A < rows[i]], a)     # V is sorted
                q[i], es[i] = -vq, -ve
            fast = np.flatnonzero(~slow)
            fast = fast[np.argsort(k[fast], kind="stable")]          # the days grouped by k
            cuts = [0, *(np.flatnonzero(np.diff(k[fast])) + 1).tolist(), fast.size] if fast.size else [0]
            for g0, g1 in zip(cuts[:-1], cuts[1:]):
                sel = fast[g0:g1]
                es[sel] = np.ascontiguousarray(C[sel, :k[sel[0]]]).mean(axis=1)
            key = level_key(a)
            out[f"var_{key}"][rows] = sig[rows] * -q
            out[f"es_{key}"][rows] = sig[rows] * -es


# ------------------------------------------------------------------------------------ backtests
def hits(returns, var) -> np.ndarray:
    """``I_t = 1{r_t < -VaR_t}`` as a bool array (days where either is NaN are dropped)."""
    r = np.asarray(returns, dtype=float)
    v = np.asarray(var, dtype=float)
    ok = np.isfinite(r) & np.isfinite(v)
    return r[ok] < -v[ok]


def _bernoulli_ll(x: int, n: int, p: float) -> float:
    return float(xlogy(x, p) + xlogy(n - x, 1.0 - p))


def kupiec(hit, alpha: float) -> dict:
    """Kupiec's unconditional coverage test: ``{"n", "hits", "rate", "lr", "pvalue"}``."""
    alpha = _check_level(alpha)
    h = np.asarray(hit, dtype=bool)
    n, x = int(h.size), int(h.sum())
    if n == 0:
        raise ValueError("Kupiec test: no days")
    lr = -2.0 * (_bernoulli_ll(x, n, alpha) - _bernoulli_ll(x, n, x / n))
    lr = max(lr, 0.0)
    return {"n": n, "hits": x, "rate": x / n, "lr": lr, "pvalue": float(stats.chi2.sf(lr, 1))}


def christoffersen(hit, alpha: float) -> dict:
    """Christoffersen's independence and conditional coverage tests.

    Returns ``{"lr_ind", "pvalue_ind", "lr_cc", "pvalue_cc", "pi01", "pi11"}`` (transition
    probabilities of the hit chain; ``pi11`` NaN when no hit is followed by a day).
    """
    alpha = _check_level(alpha)
    h = np.asarray(hit, dtype=bool).astype(int)
    if h.size < 2:
        raise ValueError("Christoffersen test: needs at least 2 days")
    prev, cur = h[:-1], h[1:]
    n00 = int(np.sum((prev == 0) & (cur == 0)))
    n01 = int(np.sum((prev == 0) & (cur == 1)))
    n10 = int(np.sum((prev == 1) & (cur == 0)))
    n11 = int(np.sum((prev == 1) & (cur == 1)))
    p01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    p11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    p = (n01 + n11) / (n00 + n01 + n10 + n11)
    ll0 = _bernoulli_ll(n01 + n11, n00 + n01 + n10 + n11, p)
    ll1 = _bernoulli_ll(n01, n00 + n01, p01) + _bernoulli_ll(n11, n10 + n11, p11)
    lr_ind = max(-2.0 * (ll0 - ll1), 0.0)
    lr_uc = kupiec(h[1:].astype(bool), alpha)["lr"]     # same n - 1 days, so the two add up exactly
    lr_cc = lr_uc + lr_ind
    return {"lr_ind": lr_ind, "pvalue_ind": float(stats.chi2.sf(lr_ind, 1)),
            "lr_cc": lr_cc, "pvalue_cc": float(stats.chi2.sf(lr_cc, 2)),
            "pi01": p01, "pi11": p11 if n10 + n11 else float("nan")}


def mcneil_frey(returns, var, es, variance, n_boot: int = 2000, seed: int = 0) -> dict:
    """McNeil-Frey exceedance-residual test of ES (one-sided: H1 the ES is too small).

    ``e_t = (-r_t - ES_t) / sqrt(s_t)`` on the hit days; the p-value is the bootstrap probability
    that the mean of a resample of the centred residuals is at least the observed mean.
    Returns ``{"n_hits", "mean", "pvalue"}`` (NaN p-value with fewer than 2 hits).
    """
    r, v, e, s = (np.asarray(a, dtype=float) for a in (returns, var, es, variance))
    ok = np.isfinite(r) & np.isfinite(v) & np.isfinite(e) & np.isfinite(s)
    hit = ok & (r < -np.where(ok, v, 0.0))
    res = (-r[hit] - e[hit]) / np.sqrt(s[hit])
    k = int(res.size)
    if k < 2:
        return {"n_hits": k, "mean": float(res.mean()) if k else float("nan"), "pvalue": float("nan")}
    m = float(res.mean())
    rng = np.random.default_rng(seed)
    boot = (res - m)[rng.integers(0, k, size=(int(n_boot), k))].mean(axis=1)
    p = (1.0 + np.sum(boot >= m)) / (n_boot + 1.0)
    return {"n_hits": k, "mean": m, "pvalue": float(p)}


def acerbi_szekely_z2(returns, var, es, alpha: float) -> float:
    """``Z2 = 1 - sum_t I_t L_t / (T alpha ES_t)``: 0 when the ES is right, negative when too small."""
    alpha = _check_level(alpha)
    r, v, e = (np.asarray(a, dtype=float) for a in (returns, var, es))
    ok = np.isfinite(r) & np.isfinite(v) & np.isfinite(e)
    r, v, e = r[ok], v[ok], e[ok]
    if r.size == 0:
        return float("nan")
    hit = r < -v
    return float(1.0 - np.sum(np.where(hit, -r / e, 0.0)) / (r.size * alpha))


def backtest(returns, variance, var, es, alpha: float, seed: int = 0) -> dict:
    """All backtests of one level: coverage, independence, ES (a JSON-ready dict)."""
    alpha = _check_level(alpha)
    h = hits(returns, var)
    if h.size < 2:
        raise ValueError(f"risk backtest: {h.size} day(s) with a VaR figure, need at least 2")
    uc = kupiec(h, alpha)
    ind = christoffersen(h, alpha)
    mf = mcneil_frey(returns, var, es, variance, seed=seed)
    return {"level": alpha, "n": uc["n"], "hits": uc["hits"], "hit_rate": uc["rate"],
            "kupiec_lr": uc["lr"], "kupiec_pvalue": uc["pvalue"],
            "ind_lr": ind["lr_ind"], "ind_pvalue": ind["pvalue_ind"],
            "cc_lr": ind["lr_cc"], "cc_pvalue": ind["pvalue_cc"],
            "es_z2": acerbi_szekely_z2(returns, var, es, alpha),
            "es_mf_mean": mf["mean"], "es_mf_pvalue": mf["pvalue"]}


def risk_metrics(returns, forecasts: dict, dates=None, levels=LEVELS, method: str = "fhs",
                 min_history: int = MIN_HISTORY) -> dict:
    """Walk-forward risk figures of every model: ``{model: {"method", "first_date", "levels": {"5": ...}}}``.

    ``forecasts[model][t]`` is the one-day variance forecast of day ``t`` (from data before ``t``) and
    ``returns[t]`` that day's return. FHS uses the residuals of the earlier forecast days only, so the
    first ``min_history`` days have no VaR; when the walk is too short for that (fewer than
    ``min_history + 22`` days) the normal quantiles are used instead, and ``method`` says so.
    """
    r = np.asarray(returns, dtype=float)
    if method == "fhs" and r.size < min_history + 22:
        method = "normal"
    out = {}
    for name, f in forecasts.items():
        f = np.asarray(f, dtype=float)
        rv = rolling_var_es(r, f, levels, method, min_history)
        first = int(np.flatnonzero(np.isfinite(rv[f"var_{level_key(levels[0])}"]))[0])
        entry = {"method": method, "n_days": int(r.size - first),
                 "first_date": None if dates is None else str(dates[first]), "levels": {}}
        for a in levels:
            k = level_key(a)
            entry["levels"][k] = backtest(r[first:], f[first:], rv[f"var_{k}"][first:], rv[f"es_{k}"][first:], a)
        out[name] = entry
    return out
