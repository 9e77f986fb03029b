"""HTML tables for notebooks: a GARCH fit and a forecast evaluation as they show in Jupyter.

``GarchResult._repr_html_`` and ``ForecastResult._repr_html_`` call these (imported when a
notebook asks), so the result classes stay plain. The tables are built with pandas' ``to_html``
from what the objects already hold (the fit's estimates and standard errors; ``metrics``, the
content of metrics.json); nothing is recomputed except the standard errors, which a GARCH fit
computes on first access anyway.
"""
from __future__ import annotations

import html
import math

import pandas as pd

__all__ = ["garch_html", "forecast_html"]

_STYLE = 'style="border-collapse:collapse;font-variant-numeric:tabular-nums"'


def _table(df: pd.DataFrame, caption: str, formats: dict, index: bool = True) -> str:
    out = df.copy()
    for col, fmt in formats.items():
        if col in out:
            out[col] = out[col].map(lambda v, f=fmt: "" if v is None or (isinstance(v, float) and not math.isfinite(v))
                                    else format(v, f))
    body = out.to_html(index=index, escape=True, border=0, na_rep="")
    body = body.replace('<table class="dataframe">', f'<table class="dataframe" {_STYLE}>', 1)
    return f"<div><p><b>{html.escape(caption)}</b></p>{body}</div>"


def garch_html(res) -> str:
    """The estimates of a :class:`~tinygrad_trade.vol.models.garch.GarchResult`: coefficient,
    robust standard error, t and p-value (arch's default) and the classic standard error and t per parameter, and the fit's summary."""
    title = {"garch": "GARCH(1,1)", "gjr": "GJR-GARCH(1,1,1)"}.get(res.vol, res.vol)
    caption = (f"{title}, {res.mean} mean: {res.nobs} observations, log-likelihood {res.loglik:.3f}, "
               f"AIC {res.aic:.3f}, BIC {res.bic:.3f}, persistence {res.persistence:.5f}"
               + ("" if res.converged else ", DID NOT CONVERGE"))
    df = pd.DataFrame({"coef": res.params, "std err": res.std_err, "t": res.tvalues, "P>|t|": res.pvalues,
                       "classic std err": res.classic_std_err, "classic t": res.classic_tvalues})
    return _table(df, caption + "; std err, t, P>|t| robust (sandwich, arch's default)",
                  {"coef": ".6f", "std err": ".6f", "t": ".2f", "P>|t|": ".4f", "classic std err": ".6f",
                   "classic t": ".2f"})


def forecast_html(m: dict) -> str:
    """A forecast evaluation (one asset's ``metrics.json`` object of a forecasting run): per model,
    QLIKE (lower is better), its change against the benchmark, the Diebold-Mariano p-value of
    that difference, MSE, Mincer-Zarnowitz R^2 and the backtest's Sharpe ratio at each cost."""
    cfg = m.get("config", {})
    bench = cfg.get("benchmark", "har")
    rows = []
    for name, s in sorted(m["models"].items(), key=lambda kv: kv[1]["qlike"]):
        row = {"model": name, "QLIKE": s["qlike"], f"QLIKE change vs {bench}": s.get("qlike_vs_har_pct"),
               "DM p-value (QLIKE)": m.get("dm_vs_har", {}).get(name, {}).get("qlike", {}).get("pvalue"),
               "MSE": s["mse"], "MZ R^2": s.get("mz", {}).get("r2"), "days": s.get("n")}
        for cost, bt in (m.get("backtest") or {}).get(name, {}).items():
            row[f"Sharpe, {cost} bp"] = bt.get("sharpe")
        rows.append(row)
    df = pd.DataFrame(rows)
    gain = f"QLIKE change vs {bench}"
    if gain in df:  # a gain is a lower QLIKE: show it as "-1.23%" (worse) / "+0.50%" (better)
        df[gain] = df[gain].map(lambda v: None if v is None or v != v else f"{v:+.2f}%")
    caption = (f"{cfg.get('n_forecasts', '?')} forecast days {cfg.get('first_forecast', '?')} to "
               f"{cfg.get('last_forecast', '?')}, target {cfg.get('target', '?')}, horizon {cfg.get('horizon', '?')}: "
               f"QLIKE lower is better; change vs {bench} positive when the model's QLIKE is lower")
    formats = {"QLIKE": ".4f", "DM p-value (QLIKE)": ".3f", "MSE": ".3g", "MZ R^2": ".3f"}
    formats.update({c: ".2f" for c in df.columns if c.startswith("Sharpe")})
    return _table(df, caption, formats, index=False)
