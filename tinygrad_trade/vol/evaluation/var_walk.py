"""VaR/ES of a walk-forward and the whole set of backtests on it: what ``forecast`` writes to ``risk.csv`` and
to ``metrics.json`` (``risk[model]["backtests"]``), and what ``predict`` reports for the next day.

A walk-forward gives, per model, a one-day variance forecast ``s_t`` of every forecast day (from data before
``t``); the GARCH family also leaves, per refit, the fitted error law and mean (the walk's ``histories``:
``{"day", "mu", "shape", "dist"}``, see :class:`~tinygrad_trade.vol.models.garch.GARCH`). From these, two
methods:

* ``"parametric"``: the fitted law's quantile and tail mean, ``VaR_t = sqrt(s_t) v - mu``
  (:func:`.var_backtests.parametric_var_es`); a model without a law (EWMA, HAR, the nets) is taken as normal
  with mean zero;
* ``"fhs"``: filtered historical simulation on the earlier standardised residuals ``r_u / sqrt(s_u)``
  (:func:`.risk.rolling_var_es`; the first ``MIN_HISTORY`` days have no figure).

Each model has a default method (:data:`DEFAULT_METHODS`), chosen on data before 2008 only (the walk-forward
2004-2007 on the embedded universe, ``benchmarks/bench_risk.py --choose``; the evidence is in
docs/model-card.md). The Acerbi-Szekely p-values simulate returns under the model: from the fitted law, or,
for FHS, from the earlier residuals of each day (the FHS predictive law itself), with a passed Generator.
"""
from __future__ import annotations

import math
import zlib

import numpy as np

from .risk import MIN_HISTORY, level_key, risk_metrics, rolling_var_es, standardized_residuals
from .var_backtests import LEVELS, backtest_level, frtb_counts, parametric_simulator, parametric_var_es, traffic_light

__all__ = ["RISK_METHODS", "DEFAULT_METHODS", "N_SIMS", "default_method", "check_levels", "day_law",
           "walk_var_es", "walk_simulator", "walk_backtests", "risk_rng", "risk_section"]

RISK_METHODS = ("parametric", "fhs")
N_SIMS = 200                       # Acerbi-Szekely simulations per level: p-values to about +-0.03
# chosen on 2004-2007 (benchmarks/bench_risk.py --choose; docs/model-card.md "Risk: the default method")
DEFAULT_METHODS = {"ewma": "fhs", "har": "fhs", "har_r2": "fhs", "mlp": "fhs", "gru": "fhs", "pooled": "fhs"}
_GARCH_DEFAULT = "parametric"      # the GARCH family, every law


def default_method(name: str) -> str:
    """The default VaR/ES method of a model label (``"gjr_skewt"`` -> the GARCH family's)."""
    if name in DEFAULT_METHODS:
        return DEFAULT_METHODS[name]
    if name.split("_")[0] in ("garch", "gjr", "egarch"):
        return _GARCH_DEFAULT
    return "fhs"


def check_levels(levels) -> tuple:
    """Risk levels as a sorted tuple of floats in (0, 0.5); one-line ``ValueError`` naming ``--risk-levels``."""
    out = []
    for a in levels:
        try:
            v = float(a)
        except (TypeError, ValueError):
            v = float("nan")
        if not (math.isfinite(v) and 0.0 < v < 0.5):
            raise ValueError(f"--risk-levels: each level must be a fraction in (0, 0.5) such as 0.01, got {a!r}")
        out.append(v)
    if not out:
        raise ValueError("--risk-levels needs at least one level, such as 0.01,0.025,0.05")
    if len(set(out)) != len(out):
        raise ValueError(f"--risk-levels lists a level twice: {', '.join(f'{a:g}' for a in out)}")
    return tuple(sorted(out))


def day_law(index, history) -> tuple:
    """Per forecast day (``index``: day numbers): ``(dist, shape (n, k), mu (n,))`` from a GARCH walk's history
    (the fit in force on each day), or ``("normal", (), 0.0)`` when there is none."""
    fits = [h for h in (history or []) if isinstance(h, dict) and "day" in h and "shape" in h]
    if not fits:
        return "normal", (), 0.0
    fits = sorted(fits, key=lambda h: h["day"])
    days = np.array([h["day"] for h in fits])
    idx = np.asarray(index, dtype=int)
    which = np.clip(np.searchsorted(days, idx, side="right") - 1, 0, len(fits) - 1)
    k = len(fits[0]["shape"])
    shape = np.array([fits[i]["shape"] for i in which], dtype=float).reshape(idx.size, k)
    mu = np.array([fits[i]["mu"] for i in which], dtype=float)
    return fits[0].get("dist", "normal"), (shape if k else ()), mu


def walk_var_es(returns, variance, levels=LEVELS, method: str = "parametric", law=("normal", (), 0.0),
                min_history: int = MIN_HISTORY) -> dict:
    """``{"var_1", "es_1", ...}`` arrays for the walk's days (positive % losses; FHS: NaN in its burn-in)."""
    if method not in RISK_METHODS:
        raise ValueError(f"risk method must be one of {', '.join(RISK_METHODS)}, got {method!r}")
    s = np.asarray(variance, dtype=float)
    if method == "fhs":
        return rolling_var_es(returns, s, levels, "fhs", min_history)
    dist, shape, mu = law
    return parametric_var_es(np.sqrt(s), dist, shape, levels, mu)


def walk_simulator(returns, variance, method: str, law=("normal", (), 0.0)):
    """``simulate(rng, n) -> (n, T)``: returns drawn from each day's predictive law under the method."""
    s = np.asarray(variance, dtype=float)
    sig = np.sqrt(s)
    if method == "parametric":
        dist, shape, mu = law
        return parametric_simulator(sig, dist, shape, mu)
    z = standardized_residuals(returns, s)
    seq = z[np.isfinite(z)]                                  # residuals in time order
    before = np.concatenate(([0], np.cumsum(np.isfinite(z))[:-1]))   # how many precede each day

    def simulate(rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random((int(n), s.size))
        idx = np.minimum((u * np.maximum(before, 1)).astype(int), np.maximum(before - 1, 0))
        draws = seq[idx] if seq.size else np.zeros_like(u)
        return np.where(before > 0, draws, 0.0) * sig[None, :]

    return simulate


def risk_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of one model's simulated p-values: from the run's seed and the model's label only."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def walk_backtests(returns, variance, figures: dict, levels, method: str, simulate, rng: np.random.Generator,
                   n_sims: int = N_SIMS) -> dict:
    """Every backtest of one model's walk as a JSON-ready dict: per level the hit rate, Kupiec, Christoffersen
    (independence, conditional coverage), DQ, Acerbi-Szekely Z1/Z2 with simulated p-values, McNeil-Frey; the
    Basel traffic light of the 1% VaR over rolling 250-day windows and FRTB's desk counts (1% and 2.5%), when
    those levels are asked and there are 250 days. Days where the method has no figure (FHS burn-in) are left out."""
    r = np.asarray(returns, dtype=float)
    s = np.asarray(variance, dtype=float)
    key0 = level_key(levels[0])
    ok = np.isfinite(figures[f"var_{key0}"]) & np.isfinite(r)
    first = int(np.flatnonzero(ok)[0]) if ok.any() else r.size
    r, s = r[first:], s[first:]
    figs = {k: np.asarray(v)[first:] for k, v in figures.items()}
    if r.size < 12:
        return {"method": method, "n_days": int(r.size), "levels": {}}
    sim = None
    if simulate is not None:
        full = simulate
        sim = lambda g, n: full(g, n)[:, first:]   # noqa: E731 (the same days as r)
    out = {"method": method, "n_days": int(r.size), "first_day": first, "levels": {}}
    for a in levels:
        k = level_key(a)
        b = backtest_level(r, figs[f"var_{k}"], figs[f"es_{k}"], a, variance=s, simulate=sim, rng=rng,
                           n_sims=n_sims)
        az, mf = b.acerbi_szekely, b.mcneil_frey
        out["levels"][k] = {
            "level": a, "n": b.kupiec.n, "hits": b.kupiec.hits, "hit_rate": b.kupiec.rate,
            "kupiec_pvalue": b.kupiec.pvalue, "ind_pvalue": b.christoffersen.pvalue_ind,
            "cc_pvalue": b.christoffersen.pvalue_cc, "dq_stat": b.dq.stat, "dq_pvalue": b.dq.pvalue,
            "z1": az.z1, "z2": az.z2, "z1_pvalue": az.pvalue_z1, "z2_pvalue": az.pvalue_z2, "n_sims": az.n_sims,
            "mf_mean": mf.mean, "mf_pvalue": mf.pvalue}
    have = {level_key(a) for a in levels}
    if "1" in have and r.size >= 250:
        tl = traffic_light(r, figs["var_1"])
        out["traffic_light"] = {"window": tl.window, "share_green": tl.share_green, "share_yellow": tl.share_yellow,
                                "share_red": tl.share_red, "max_exceptions": int(tl.exceptions.max()),
                                "last_exceptions": tl.last_exceptions, "last_zone": tl.last_zone,
                                "last_plus_factor": tl.last_plus_factor,
                                "mean_plus_factor": float(np.mean(tl.plus_factor))}
        if "2.5" in have:
            fr = frtb_counts(r, figs["var_2.5"], figs["var_1"])
            out["frtb"] = {"window": fr.window, "limit_975": 30, "limit_99": 12, "share_pass": fr.share_pass,
                           "max_exceptions_975": int(fr.exceptions_975.max()),
                           "max_exceptions_99": int(fr.exceptions_99.max()),
                           "last_exceptions_975": fr.last_exceptions_975, "last_exceptions_99": fr.last_exceptions_99,
                           "last_pass": fr.last_pass}
    return out


def risk_section(returns, forecasts: dict, dates, index, histories: dict, levels=LEVELS, seed: int = 0,
                 n_sims: int = N_SIMS) -> dict:
    """metrics.json's ``risk``: per model the FHS figures of round 2 (``method``, ``levels``: see
    :func:`.risk.risk_metrics`) and ``backtests``: every test of the model's default method
    (:func:`walk_backtests`), its simulated p-values drawn from :func:`risk_rng` ``(seed, model)``."""
    out = risk_metrics(returns, forecasts, dates, levels)
    for name, entry in out.items():
        method = default_method(name)
        law = day_law(index, (histories or {}).get(name))
        figs = walk_var_es(returns, forecasts[name], levels, method, law)
        if not np.isfinite(figs[f"var_{level_key(levels[0])}"]).any():
            method = "parametric"                                  # too short for FHS
            figs = walk_var_es(returns, forecasts[name], levels, method, law)
        sim = walk_simulator(returns, forecasts[name], method, law)
        bt = walk_backtests(returns, forecasts[name], figs, levels, method, sim, risk_rng(seed, name), n_sims)
        if "first_day" in bt:
            bt["first_date"] = str(dates[bt.pop("first_day")])
        bt["dist"] = law[0]
        entry["backtests"] = bt
    return out
