"""VaR and ES at the reported levels, and the backtests a regulator or risk manager runs on them.

Everything works on aligned arrays: returns ``r_t`` (% log), VaR and ES forecasts of day ``t`` made
before ``t`` as **positive losses** (``P(r_t < -VaR_t) = alpha``, ``ES_t = -E[r_t | r_t < -VaR_t]``),
the level ``alpha`` (0.01 for 99% VaR, 0.025 for 97.5%). Hits are ``I_t = 1{r_t < -VaR_t}``.

Forecasts:

* :func:`parametric_var_es`: from a fitted law (:mod:`.models.distributions`): ``VaR_t = sigma_t v - mu``,
  ``ES_t = sigma_t es - mu`` with ``(v, es)`` the law's standardised VaR and ES (exact);
* :func:`fhs_var_es`: filtered historical simulation, the empirical quantile and tail mean of earlier
  standardised residuals (:func:`.risk.rolling_var_es`, no look-ahead).

Backtests (results are small dataclasses; ``to_dict()`` for JSON):

* Kupiec (1995) unconditional coverage and Christoffersen (1998) independence and conditional coverage
  (the statistics of :mod:`.risk`);
* Engle and Manganelli's (2004) dynamic quantile test: ``Hit_t = I_t - alpha`` regressed on a constant,
  four lagged hits and the VaR itself; ``DQ = Hit' X (X'X)^-1 X' Hit / (alpha (1 - alpha))``, chi2 with
  as many degrees of freedom as regressors (the rank, when few hits make ``X`` rank-deficient);
* Acerbi and Szekely (2014) ``Z1 = 1 - sum I_t L_t / ES_t / N_T`` and ``Z2 = 1 - sum I_t L_t / (T alpha ES_t)``
  (``L = -r``, ``N_T`` the number of hits): 0 when the ES is right, negative when it is too small. Their
  p-values come by simulation under the model: the caller passes ``simulate(rng, n) -> (n, T)`` returns
  drawn from the forecast distributions, and the one-sided p-value is ``(1 + #{Z_sim <= Z}) / (n + 1)``;
* McNeil and Frey (2000): exceedance residuals ``(L_t - ES_t) / sigma_t`` on hit days have mean zero;
  one-sided bootstrap p-value (:func:`.risk.mcneil_frey`, with the passed generator);
* Basel traffic light on 99% VaR: exceptions in each rolling 250-day window, zone green (<= 4),
  yellow (5-9), red (>= 10), and the plus-factor (0 up to 4 exceptions, then 0.40, 0.50, 0.65, 0.75,
  0.85 for 5-9, 1.00 from 10);
* FRTB desk-level backtesting: over each 250 days at most 30 exceptions of the 97.5% VaR and at most 12
  of the 99% VaR.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..models.distributions import get_distribution
from .risk import MIN_HISTORY, christoffersen, kupiec, level_key, mcneil_frey, rolling_var_es

__all__ = ["LEVELS", "WINDOW", "PLUS_FACTORS", "parametric_var_es", "fhs_var_es", "parametric_simulator",
           "KupiecResult", "ChristoffersenResult", "DQResult", "AcerbiSzekelyResult", "McNeilFreyResult",
           "TrafficLightResult", "FRTBResult", "LevelBacktestResult", "kupiec_test", "christoffersen_test",
           "dq_test", "acerbi_szekely", "mcneil_frey_test", "traffic_light", "frtb_counts", "backtest_level"]

LEVELS = (0.01, 0.025, 0.05)
WINDOW = 250
PLUS_FACTORS = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}   # 0 below 5 exceptions, 1.00 from 10
FRTB_LIMITS = {0.025: 30, 0.01: 12}


def _check_level(alpha) -> float:
    a = float(alpha)
    if not 0.0 < a < 0.5:
        raise ValueError(f"risk level must be in (0, 0.5), got {alpha!r}")
    return a


def _arrays(*xs):
    out = [np.asarray(x, dtype=float).reshape(-1) for x in xs]
    n = out[0].size
    for x in out[1:]:
        if x.size != n:
            raise ValueError(f"returns and forecasts have different lengths ({n} vs {x.size})")
    return out


def _finite(*xs):
    """The arrays restricted to the days where all are finite."""
    xs = _arrays(*xs)
    ok = np.logical_and.reduce([np.isfinite(x) for x in xs])
    return [x[ok] for x in xs]


class _Dict:
    def to_dict(self) -> dict:
        out = {}
        for k, v in dataclasses.asdict(self).items():
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out


# ------------------------------------------------------------------------------------ forecasts
def _shape_groups(shape, k: int, n: int):
    """``[(row, days)]``: the law's parameters and the days (index array) that use them. ``shape`` is one
    row of ``k`` parameters for every day, or an (n, k) array with one row per day (refits change it)."""
    arr = np.asarray(shape, dtype=float)
    if arr.ndim < 2:
        return [(arr.reshape(-1), np.arange(n))]
    if arr.shape != (n, k):
        raise ValueError(f"per-day shape parameters must have shape ({n}, {k}), got {arr.shape}")
    rows, inverse = np.unique(arr, axis=0, return_inverse=True)
    return [(rows[i], np.flatnonzero(inverse.reshape(-1) == i)) for i in range(rows.shape[0])]


def parametric_var_es(sigma, dist="normal", shape=(), levels=LEVELS, mu=0.0) -> dict:
    """``{"var_1": ..., "es_1": ..., "var_2.5": ...}`` from volatilities ``sigma`` (array) and a law:
    ``VaR = sigma v - mu``, ``ES = sigma es - mu``, ``(v, es)`` the law's standardised figures. ``shape``
    and ``mu`` may be given per day (an (n, k) array and an (n,) array: walk-forward refits)."""
    d = get_distribution(dist)
    sig = np.asarray(sigma, dtype=float).reshape(-1)
    groups = _shape_groups(shape, d.k, sig.size)
    out = {}
    for a in levels:
        a = _check_level(a)
        v, e = np.empty(sig.size), np.empty(sig.size)
        for row, days in groups:
            v[days], e[days] = d.var_es(a, row)
        out[f"var_{level_key(a)}"] = sig * v - mu
        out[f"es_{level_key(a)}"] = sig * e - mu
    return out


def fhs_var_es(returns, variance, levels=LEVELS, min_history: int = MIN_HISTORY, history=None, mu=0.0) -> dict:
    """Filtered historical simulation, day by day: residuals ``(r_u - mu) / sqrt(s_u)`` of days ``u < t``
    give the quantile and tail mean scaled by ``sqrt(s_t)`` (NaN before ``min_history`` residuals)."""
    r, s = _arrays(returns, variance)
    out = rolling_var_es(r - mu, s, [_check_level(a) for a in levels], "fhs", min_history, history)
    return {k: v - mu for k, v in out.items()}


def parametric_simulator(sigma, dist="normal", shape=(), mu=0.0):
    """``simulate(rng, n) -> (n, T)`` returns ``mu + sigma_t z`` with ``z`` independent draws from the law
    (``shape`` one row or one per day, as in :func:`parametric_var_es`): the model's predictive
    distributions, for :func:`acerbi_szekely`."""
    d = get_distribution(dist)
    sig = np.asarray(sigma, dtype=float).reshape(-1)
    groups = _shape_groups(shape, d.k, sig.size)

    def simulate(rng: np.random.Generator, n: int) -> np.ndarray:
        z = np.empty((int(n), sig.size))
        for row, days in groups:
            z[:, days] = d.simulate((int(n), days.size), row, rng)
        return mu + sig[None, :] * z

    return simulate


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class KupiecResult(_Dict):
    level: float
    n: int
    hits: int
    rate: float
    lr: float
    pvalue: float


@dataclass(frozen=True)
class ChristoffersenResult(_Dict):
    level: float
    lr_ind: float
    pvalue_ind: float
    lr_cc: float
    pvalue_cc: float
    pi01: float
    pi11: float


@dataclass(frozen=True)
class DQResult(_Dict):
    level: float
    stat: float
    df: int
    pvalue: float
    n: int


@dataclass(frozen=True)
class AcerbiSzekelyResult(_Dict):
    level: float
    z1: float
    z2: float
    pvalue_z1: float
    pvalue_z2: float
    n_sims: int


@dataclass(frozen=True)
class McNeilFreyResult(_Dict):
    n_hits: int
    mean: float
    pvalue: float


@dataclass(frozen=True)
class TrafficLightResult(_Dict):
    """Per rolling window ending on day ``end[i]`` (index into the finite days): exceptions, zone, plus-factor."""
    window: int
    end: np.ndarray
    exceptions: np.ndarray
    zone: np.ndarray
    plus_factor: np.ndarray
    share_green: float
    share_yellow: float
    share_red: float
    last_exceptions: int
    last_zone: str
    last_plus_factor: float


@dataclass(frozen=True)
class FRTBResult(_Dict):
    """Exceptions of the 97.5% and 99% VaR per rolling window, against the desk limits (30 and 12)."""
    window: int
    exceptions_975: np.ndarray
    exceptions_99: np.ndarray
    passes: np.ndarray
    share_pass: float
    last_exceptions_975: int
    last_exceptions_99: int
    last_pass: bool


@dataclass(frozen=True)
class LevelBacktestResult(_Dict):
    """All tests of one level."""
    level: float
    kupiec: KupiecResult
    christoffersen: ChristoffersenResult
    dq: DQResult
    acerbi_szekely: AcerbiSzekelyResult | None
    mcneil_frey: McNeilFreyResult | None


# ------------------------------------------------------------------------------------ coverage tests
def _hits(returns, var):
    r, v = _finite(returns, var)
    return r < -v


def kupiec_test(returns, var, alpha: float) -> KupiecResult:
    """Kupiec's unconditional coverage test (days where either is NaN are dropped)."""
    alpha = _check_level(alpha)
    k = kupiec(_hits(returns, var), alpha)
    return KupiecResult(alpha, k["n"], k["hits"], k["rate"], k["lr"], k["pvalue"])


def christoffersen_test(returns, var, alpha: float) -> ChristoffersenResult:
    """Christoffersen's independence (chi2(1)) and conditional coverage (chi2(2)) tests."""
    alpha = _check_level(alpha)
    c = christoffersen(_hits(returns, var), alpha)
    return ChristoffersenResult(alpha, c["lr_ind"], c["pvalue_ind"], c["lr_cc"], c["pvalue_cc"], c["pi01"], c["pi11"])


def dq_test(returns, var, alpha: float, lags: int = 4) -> DQResult:
    """Engle-Manganelli dynamic quantile test: constant, ``lags`` lagged hits and the VaR as regressors."""
    alpha = _check_level(alpha)
    r, v = _finite(returns, var)
    if r.size < lags + 8:
        raise ValueError(f"DQ test: {r.size} days with a VaR figure, need at least {lags + 8}")
    hit = (r < -v).astype(float) - alpha
    y = hit[lags:]
    X = np.column_stack([np.ones(y.size)] + [hit[lags - j:-j] for j in range(1, lags + 1)] + [v[lags:]])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    fitted = X @ coef
    df = int(np.linalg.matrix_rank(X))
    stat = float(fitted @ fitted / (alpha * (1.0 - alpha)))
    return DQResult(alpha, stat, df, float(stats.chi2.sf(stat, df)), int(y.size))


# ------------------------------------------------------------------------------------ ES tests
def _z_stats(L, v, e, alpha):
    """Z1, Z2 along the last axis of losses ``L`` (..., T) for VaR ``v`` and ES ``e`` (T,)."""
    hit = L > v
    ratio = np.where(hit, L / e, 0.0)
    n_hits = hit.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z1 = np.where(n_hits > 0, 1.0 - ratio.sum(axis=-1) / np.maximum(n_hits, 1), 0.0)
    z2 = 1.0 - ratio.sum(axis=-1) / (L.shape[-1] * alpha)
    return z1, z2


def acerbi_szekely(returns, var, es, alpha: float, simulate=None, rng: np.random.Generator | None = None,
                   n_sims: int = 1000) -> AcerbiSzekelyResult:
    """Acerbi-Szekely Z1 and Z2, with p-values by simulation under the model when ``simulate`` is given.

    ``simulate(rng, n)`` returns (n, T) returns from the forecast distributions of the same T days as
    ``returns`` (days with a NaN forecast are dropped from both). ``Z1`` is 0 when there is no hit.
    """
    alpha = _check_level(alpha)
    r, v, e = _arrays(returns, var, es)
    ok = np.isfinite(r) & np.isfinite(v) & np.isfinite(e)
    if not ok.any():
        raise ValueError("Acerbi-Szekely test: no day with a VaR and ES figure")
    z1, z2 = (float(z) for z in _z_stats(-r[ok], v[ok], e[ok], alpha))
    p1 = p2 = float("nan")
    n = 0
    if simulate is not None:
        if rng is None:
            raise ValueError("Acerbi-Szekely test: pass rng (a np.random.Generator) with simulate")
        n = int(n_sims)
        sims = np.asarray(simulate(rng, n), dtype=float)
        if sims.shape != (n, r.size):
            raise ValueError(f"simulate(rng, {n}) must return shape ({n}, {r.size}), got {sims.shape}")
        s1, s2 = _z_stats(-sims[:, ok], v[ok], e[ok], alpha)
        p1 = float((1.0 + np.sum(s1 <= z1)) / (n + 1.0))
        p2 = float((1.0 + np.sum(s2 <= z2)) / (n + 1.0))
    return AcerbiSzekelyResult(alpha, z1, z2, p1, p2, n)


def mcneil_frey_test(returns, var, es, variance, rng: np.random.Generator, n_boot: int = 2000) -> McNeilFreyResult:
    """McNeil-Frey exceedance residual test (one-sided bootstrap p-value; H1: ES too small)."""
    m = mcneil_frey(returns, var, es, variance, n_boot=n_boot, seed=rng)
    return McNeilFreyResult(m["n_hits"], m["mean"], m["pvalue"])


# ------------------------------------------------------------------------------------ regulators
def _rolling_counts(hit: np.ndarray, window: int) -> np.ndarray:
    c = np.concatenate(([0], np.cumsum(hit.astype(int))))
    return c[window:] - c[:-window]


def _zone(n: int) -> str:
    return "green" if n <= 4 else ("yellow" if n <= 9 else "red")


def _plus(n: int) -> float:
    return 0.0 if n <= 4 else (1.0 if n >= 10 else PLUS_FACTORS[n])


def traffic_light(returns, var_99, window: int = WINDOW) -> TrafficLightResult:
    """Basel traffic light of a 99% VaR over each rolling ``window``-day window (days with a figure)."""
    hit = _hits(returns, var_99)
    if hit.size < window:
        raise ValueError(f"traffic light: {hit.size} days with a VaR figure, need at least {window}")
    exc = _rolling_counts(hit, window)
    zone = np.array([_zone(int(n)) for n in exc])
    plus = np.array([_plus(int(n)) for n in exc])
    share = {z: float(np.mean(zone == z)) for z in ("green", "yellow", "red")}
    return TrafficLightResult(window, np.arange(window - 1, hit.size), exc, zone, plus, share["green"],
                              share["yellow"], share["red"], int(exc[-1]), str(zone[-1]), float(plus[-1]))


def frtb_counts(returns, var_975, var_99, window: int = WINDOW) -> FRTBResult:
    """FRTB desk-level backtesting: exceptions per rolling window at 97.5% (limit 30) and 99% (limit 12)."""
    r, v1, v2 = _finite(returns, var_975, var_99)
    if r.size < window:
        raise ValueError(f"FRTB counts: {r.size} days with both VaR figures, need at least {window}")
    e975 = _rolling_counts(r < -v1, window)
    e99 = _rolling_counts(r < -v2, window)
    ok = (e975 <= FRTB_LIMITS[0.025]) & (e99 <= FRTB_LIMITS[0.01])
    return FRTBResult(window, e975, e99, ok, float(ok.mean()), int(e975[-1]), int(e99[-1]), bool(ok[-1]))


def backtest_level(returns, var, es, alpha: float, variance=None, simulate=None,
                   rng: np.random.Generator | None = None, n_sims: int = 1000,
                   n_boot: int = 2000) -> LevelBacktestResult:
    """Kupiec, Christoffersen, DQ, Acerbi-Szekely (p-values when ``simulate`` and ``rng`` are given) and
    McNeil-Frey (when ``variance`` and ``rng`` are given) for one level."""
    alpha = _check_level(alpha)
    az = acerbi_szekely(returns, var, es, alpha, simulate, rng, n_sims) if es is not None else None
    mf = mcneil_frey_test(returns, var, es, variance, rng, n_boot) if variance is not None and rng is not None \
        else None
    return LevelBacktestResult(alpha, kupiec_test(returns, var, alpha), christoffersen_test(returns, var, alpha),
                               dq_test(returns, var, alpha), az, mf)
