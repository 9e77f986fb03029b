"""The risk part of report.md: the VaR/ES backtest table and the plot of returns against the VaR bands.

Called from :mod:`tinygrad_trade.vol.report` (``risk_markdown`` for the section, ``plot_var_bands`` for
``var_bands.png``); the figures come from ``metrics["risk"]`` (:func:`tinygrad_trade.vol.risk.risk_metrics`).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..evaluation.risk import level_key, rolling_var_es
from .common import _dates, _figure, _md_table, _save

__all__ = ["risk_explanation", "VAR_BANDS_FILE", "RISK_FILE", "best_risk_model", "risk_rows", "risk_markdown", "plot_var_bands",
           "write_var_es"]

VAR_BANDS_FILE = "var_bands.png"
RISK_FILE = "risk.csv"


def _f(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, fmt)


def best_risk_model(metrics: dict) -> Optional[str]:
    """The model with the lowest QLIKE among those with risk figures (None without any)."""
    risk = metrics.get("risk") or {}
    names = [n for n in metrics.get("models", {}) if n in risk]
    return min(names, key=lambda n: metrics["models"][n]["qlike"]) if names else None


def risk_rows(metrics: dict) -> list:
    """One row per model and level: hit rate against the nominal level and the backtests' p-values."""
    rows = []
    for name, entry in (metrics.get("risk") or {}).items():
        for key, b in entry["levels"].items():
            rows.append([name, f"{key}%", b["n"], b["hits"], _f(100.0 * b["hit_rate"], ".2f") + "%",
                         _f(b["kupiec_pvalue"], ".3f"), _f(b["ind_pvalue"], ".3f"), _f(b["cc_pvalue"], ".3f"),
                         _f(b["es_z2"], ".3f"), _f(b["es_mf_pvalue"], ".3f")])
    return rows


_HEADER = ["model", "level", "days", "hits", "hit rate", "Kupiec p", "independence p", "cond. coverage p",
           "ES Z2", "ES McNeil-Frey p"]


def risk_explanation(metrics: dict) -> str:
    """What the VaR/ES table shows and how it was computed (shared by every asset of a run)."""
    first = next(iter((metrics.get("risk") or {}).values()))
    how = ("filtered historical simulation: the empirical quantile of the model's standardised residuals "
           "r/sqrt(f) of the earlier forecast days only (no look-ahead)" if first["method"] == "fhs"
           else "normal quantiles of the forecast volatility (the walk-forward is too short for filtered "
                "historical simulation)")
    return (f"One-day VaR and ES at 1% and 5% from each model's variance forecast, by {how}. A hit is a return "
            "below -VaR; the hit rate should be near the level. p-values: Kupiec (unconditional coverage), "
            "Christoffersen (independence of hits, and conditional coverage); ES: Acerbi-Szekely Z2 (0 when right, "
            "negative when the ES is too small) and McNeil-Frey's bootstrap test of the exceedance residuals "
            "(small p: ES too small).")


def risk_markdown(metrics: dict, plot_file: Optional[str] = None, explain: bool = True) -> list:
    """report.md lines of the section "Value-at-Risk and Expected Shortfall" (empty without risk figures);
    ``explain=False`` leaves out :func:`risk_explanation` (a universe report gives it once for all assets)."""
    risk = metrics.get("risk") or {}
    if not risk:
        return []
    first = next(iter(risk.values()))
    days = f"Backtested on {first['n_days']} days from {first['first_date']}."
    L = ["## Value-at-Risk and Expected Shortfall", "",
         (risk_explanation(metrics) + " " + days) if explain else days, "",
         _md_table(_HEADER, risk_rows(metrics)), ""]
    if plot_file:
        L += [f"![returns against the VaR bands of the best model]({plot_file})", ""]
    return L


def plot_var_bands(walk, metrics: dict, path) -> Optional[str]:
    """Daily returns against the 5% and 1% VaR (and ES) of the best model by QLIKE; hits marked."""
    name = best_risk_model(metrics)
    if name is None:
        return None
    entry = metrics["risk"][name]
    r = np.asarray(walk.returns, dtype=float)
    rv = rolling_var_es(r, walk.forecasts[name], method=entry["method"])
    x = _dates(walk)
    fig, ax = _figure()
    ax.plot(x, r, color="0.55", lw=0.5, label="daily return, %")
    for a, color in ((0.05, "tab:orange"), (0.01, "tab:red")):
        k = level_key(a)
        v = rv[f"var_{k}"]
        ax.plot(x, -v, color=color, lw=0.9, label=f"-VaR {k}%")
        hit = np.isfinite(v) & (r < -v)
        ax.scatter(np.asarray(x)[hit], r[hit], s=6, color=color, zorder=3,
                   label=f"hits {k}% ({int(hit.sum())})")
    ax.plot(x, -rv["es_1"], color="tab:red", lw=0.6, ls=":", label="-ES 1%")
    ax.set_ylabel("%")
    ax.set_title(f"Returns against the one-day VaR of {name} (best model by QLIKE)")
    ax.legend(loc="lower left", fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def write_var_es(walk, metrics: dict, path) -> Optional[str]:
    """``risk.csv``: per forecast day, the return and each model's ``var_5, es_5, var_1, es_1`` (empty cells
    during the FHS burn-in); None (nothing written) without risk figures."""
    risk = metrics.get("risk") or {}
    if not risk:
        return None
    import pandas as pd
    r = np.asarray(walk.returns, dtype=float)
    cols = {"date": [str(d) for d in walk.dates], "return": r}
    for name, entry in risk.items():
        rv = rolling_var_es(r, walk.forecasts[name], method=entry["method"])
        for k in ("5", "1"):
            cols[f"{name}_var_{k}"] = rv[f"var_{k}"]
            cols[f"{name}_es_{k}"] = rv[f"es_{k}"]
    pd.DataFrame(cols).to_csv(path, index=False, float_format="%.10g")
    return str(path)
