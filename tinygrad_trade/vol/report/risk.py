"""The risk part of the reports: the VaR/ES backtest tables, the traffic-light strip, the plot of returns against the
VaR bands, and ``risk.csv``.

The figures come from ``metrics["risk"]`` (:func:`tinygrad_trade.vol.evaluation.var_walk.risk_section`): per model
the round-2 FHS figures (``levels``) and ``backtests``, every test of the model's default method. ``risk.csv`` is in
long form, one row per day, asset and model: ``date, asset, model, return, var_1, es_1, var_2.5, es_2.5, var_5, es_5``
(positive % losses of the forecast made with data up to the day before ``date``; the model's default method; empty
cells where FHS has no figure yet). The explanations are written once (:func:`risk_explanation`), the tables per asset.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..evaluation.risk import level_key
from ..evaluation.var_walk import day_law, walk_var_es
from .common import _dates, _figure, _md_table, _save

__all__ = ["VAR_BANDS_FILE", "TRAFFIC_FILE", "RISK_FILE", "best_risk_model", "risk_rows", "risk_markdown",
           "risk_explanation", "plot_var_bands", "plot_traffic_light", "risk_frame", "write_var_es",
           "write_universe_var_es", "universe_risk_markdown"]

VAR_BANDS_FILE = "var_bands.png"
TRAFFIC_FILE = "traffic_light.png"
RISK_FILE = "risk.csv"
_ZONE_COLOURS = {"green": "#2ca02c", "yellow": "#f2c12e", "red": "#d62728"}


def _f(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, fmt)


def best_risk_model(metrics: dict) -> Optional[str]:
    """The model with the lowest QLIKE among those with risk figures (None without any)."""
    risk = metrics.get("risk") or {}
    names = [n for n in metrics.get("models", {}) if n in risk]
    return min(names, key=lambda n: metrics["models"][n]["qlike"]) if names else None


def _levels(entry: dict) -> list:
    """``[(key, alpha)]`` of a model's risk entry, smallest level first."""
    return sorted(((k, float(v["level"])) for k, v in entry["levels"].items()), key=lambda kv: kv[1])


def _figures(walk, metrics: dict, name: str) -> dict:
    """The walk's VaR/ES of model ``name`` by its default method (the one of ``backtests``)."""
    entry = metrics["risk"][name]
    method = (entry.get("backtests") or {}).get("method", entry["method"])
    if method not in ("parametric", "fhs"):
        method = "parametric"                           # round 2's "normal": the normal law
    law = day_law(walk.index, walk.histories.get(name)) if method == "parametric" else ("normal", (), 0.0)
    return walk_var_es(walk.returns, walk.forecasts[name], [a for _, a in _levels(entry)], method, law)


def risk_rows(metrics: dict) -> list:
    """One row per model and level: hit rate against the level and every backtest's p-value (default method)."""
    rows = []
    for name, entry in (metrics.get("risk") or {}).items():
        bt = entry.get("backtests") or {}
        for key, b in (bt.get("levels") or {}).items():
            rows.append([name, bt["method"], f"{key}%", b["n"], b["hits"], _f(100.0 * b["hit_rate"], ".2f") + "%",
                         _f(b["kupiec_pvalue"], ".3f"), _f(b["ind_pvalue"], ".3f"), _f(b["cc_pvalue"], ".3f"),
                         _f(b["dq_pvalue"], ".3f"), _f(b["z1"], ".2f") + f" ({_f(b['z1_pvalue'], '.2f')})",
                         _f(b["z2"], ".2f") + f" ({_f(b['z2_pvalue'], '.2f')})", _f(b["mf_pvalue"], ".3f")])
    return rows


def _regulator_rows(metrics: dict) -> list:
    rows = []
    for name, entry in (metrics.get("risk") or {}).items():
        bt = entry.get("backtests") or {}
        tl, fr = bt.get("traffic_light"), bt.get("frtb")
        if not tl:
            continue
        rows.append([name, f"{100 * tl['share_green']:.0f}%", f"{100 * tl['share_yellow']:.0f}%",
                     f"{100 * tl['share_red']:.0f}%", tl["max_exceptions"], f"{tl['last_zone']} ({tl['last_exceptions']})",
                     _f(tl["mean_plus_factor"], ".2f"),
                     "n/a" if not fr else f"{100 * fr['share_pass']:.0f}%",
                     "n/a" if not fr else f"{fr['max_exceptions_975']} / {fr['max_exceptions_99']}"])
    return rows


_HEADER = ["model", "method", "level", "days", "hits", "hit rate", "Kupiec p", "independence p", "cond. coverage p",
           "DQ p", "Z1 (p)", "Z2 (p)", "McNeil-Frey p"]
_REG_HEADER = ["model", "green", "yellow", "red", "most exceptions", "last window", "mean plus-factor",
               "FRTB pass", "most exceptions 97.5% / 99%"]


def risk_explanation() -> list:
    """How to read the risk tables (written once per report)."""
    return ["One-day VaR and ES at each level (`--risk-levels`) from each model's variance forecast, by the model's "
            "default method: `parametric` (the GARCH family: the fitted error law's quantile and tail mean; other "
            "models: normal quantiles) or `fhs` (filtered historical simulation on the earlier standardised residuals "
            "only; the first 250 forecast days have no figure). The defaults were chosen on data before 2008 (see "
            "docs/model-card.md). A hit is a return below -VaR; the hit rate should be near the level. p-values "
            "(small: rejected): Kupiec (share of hits), Christoffersen (independence of hits; conditional coverage: "
            "both), Engle-Manganelli DQ (hits predictable from past hits and the VaR); ES: Acerbi-Szekely Z1 and Z2 "
            "(0 when right, negative when the ES is too small; p-values by simulation under the model) and "
            "McNeil-Frey's bootstrap test of the exceedance residuals. Basel traffic light: exceptions of the 99% VaR "
            "in each rolling 250-day window, green up to 4, yellow 5-9 (plus-factor 0.40-0.85), red from 10; FRTB: "
            "a window passes with at most 30 exceptions of the 97.5% VaR and 12 of the 99% VaR. docs/risk.md "
            "explains each test.", ""]


def risk_markdown(metrics: dict, plot_file: Optional[str] = None, strip_file: Optional[str] = None,
                  explain: bool = True) -> list:
    """report.md lines of the section "Value-at-Risk and Expected Shortfall" (empty without risk figures)."""
    risk = metrics.get("risk") or {}
    if not risk:
        return []
    first = next(iter(risk.values()))
    bt = first.get("backtests") or {}
    L = ["## Value-at-Risk and Expected Shortfall", ""]
    if explain:
        L += risk_explanation()
    start = (metrics.get("config") or {}).get("first_forecast") or bt.get("first_date")
    L += [f"Parametric figures from the first forecast day ({start}); FHS figures once 250 residuals are past "
          f"({first['first_date']}).", "", _md_table(_HEADER, risk_rows(metrics)), ""]
    reg = _regulator_rows(metrics)
    if reg:
        L += ["Share of 250-day windows per Basel zone (99% VaR) and FRTB's desk test:", "",
              _md_table(_REG_HEADER, reg), ""]
    if strip_file:
        L += [f"![Basel traffic light of the 99% VaR over time]({strip_file})", ""]
    if plot_file:
        L += [f"![returns against the VaR bands of the best model; exceptions marked]({plot_file})", ""]
    return L


def universe_risk_markdown(metrics: dict, strip_file: Optional[str] = None) -> list:
    """The universe report's risk section: the explanation and the traffic-light strips once, then each asset's
    tables."""
    per = [(a, risk_markdown(am, explain=False)) for a, am in metrics["assets"].items()]
    if not any(lines for _, lines in per):
        return []
    L = ["## Value-at-Risk and Expected Shortfall, per asset", ""] + risk_explanation()
    if strip_file:
        L += [f"![Basel traffic light of the 99% VaR over time, per asset and model]({strip_file})", ""]
    for a, lines in per:
        if lines:
            L += [f"### {a}"] + lines[1:]
    return L


def plot_var_bands(walk, metrics: dict, path) -> Optional[str]:
    """Daily returns against the VaR bands (and the smallest level's ES) of the best model by QLIKE, by its
    default method; the exceptions of each level marked."""
    name = best_risk_model(metrics)
    if name is None:
        return None
    entry = metrics["risk"][name]
    figs = _figures(walk, metrics, name)
    r = np.asarray(walk.returns, dtype=float)
    x = _dates(walk)
    fig, ax = _figure()
    ax.plot(x, r, color="0.55", lw=0.5, label="daily return, %")
    colours = ("tab:red", "tab:purple", "tab:orange", "tab:olive")
    levels = _levels(entry)
    for (k, _), color in zip(levels, colours):
        v = figs[f"var_{k}"]
        ax.plot(x, -v, color=color, lw=0.9, label=f"-VaR {k}%")
        hit = np.isfinite(v) & (r < -v)
        ax.scatter(np.asarray(x)[hit], r[hit], s=9, color=color, marker="v", zorder=3,
                   label=f"exceptions {k}% ({int(hit.sum())})")
    k0 = levels[0][0]
    ax.plot(x, -figs[f"es_{k0}"], color=colours[0], lw=0.6, ls=":", label=f"-ES {k0}%")
    ax.set_ylabel("%")
    method = (entry.get("backtests") or {}).get("method", entry["method"])
    ax.set_title(f"Returns against the one-day VaR of {name} ({method}; best model by QLIKE)")
    ax.legend(loc="lower left", fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _zones(r, var_99, window: int = 250):
    """Per day (NaN before the first full window): the Basel zone of the window ending that day (0/1/2)."""
    ok = np.isfinite(r) & np.isfinite(var_99)
    hit = np.where(ok, r < -np.where(ok, var_99, 0.0), False).astype(int)
    c = np.concatenate(([0], np.cumsum(hit)))
    seen = np.cumsum(ok)
    out = np.full(r.size, np.nan)
    exc = c[window:] - c[:-window]
    days = np.arange(window - 1, r.size)
    full = seen[days] >= window
    z = np.where(exc <= 4, 0.0, np.where(exc <= 9, 1.0, 2.0))
    out[days[full]] = z[full]
    return out


def plot_traffic_light(walks: dict, metrics_of: dict, path) -> Optional[str]:
    """A thin strip per asset and model: the Basel zone of the 99% VaR's last 250 days, day by day."""
    from matplotlib.colors import ListedColormap
    rows = []
    for asset, walk in walks.items():
        m = metrics_of.get(asset) or {}
        for name, entry in (m.get("risk") or {}).items():
            if "1" not in entry["levels"]:
                continue
            figs = _figures(walk, m, name)
            rows.append((f"{asset}: {name}" if len(walks) > 1 else name, _dates(walk),
                         _zones(np.asarray(walk.returns, dtype=float), figs["var_1"])))
    rows = [row for row in rows if np.isfinite(row[2]).any()]
    if not rows:
        return None
    fig, axes = _figure(len(rows), 1, figsize=(11, 0.45 * len(rows) + 0.9), squeeze=False, sharex=True)
    cmap = ListedColormap([_ZONE_COLOURS["green"], _ZONE_COLOURS["yellow"], _ZONE_COLOURS["red"]]).with_extremes(
        bad="white")
    for ax, (label, x, z) in zip(axes[:, 0], rows):
        xs = np.asarray(x, dtype="datetime64[D]").astype(float)
        ax.pcolormesh(np.append(xs, xs[-1] + 1), [0, 1], np.ma.masked_invalid(z)[None, :], cmap=cmap, vmin=0, vmax=2)
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    ax = axes[-1, 0]
    ticks = np.linspace(xs[0], xs[-1], 6)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(np.datetime64(int(t), "D")) for t in ticks], fontsize=8)
    axes[0, 0].set_title("Basel traffic light of the 99% VaR, rolling 250 days (green <= 4, yellow 5-9, red >= 10 "
                         "exceptions)", fontsize=9)
    return _save(fig, path)


def risk_frame(walk, metrics: dict, asset: str):
    """``risk.csv``'s rows of one asset (long form; see the module docstring); None without risk figures."""
    import pandas as pd
    risk = metrics.get("risk") or {}
    if not risk:
        return None
    r = np.asarray(walk.returns, dtype=float)
    parts = []
    for name, entry in risk.items():
        figs = _figures(walk, metrics, name)
        cols = {"date": [str(d) for d in walk.dates], "asset": asset, "model": name, "return": r}
        for k, _ in _levels(entry):
            cols[f"var_{k}"] = figs[f"var_{k}"]
            cols[f"es_{k}"] = figs[f"es_{k}"]
        parts.append(pd.DataFrame(cols))
    return pd.concat(parts, ignore_index=True)


def write_var_es(walk, metrics: dict, path, asset: str = "asset") -> Optional[str]:
    """``risk.csv`` of one asset; None (nothing written) without risk figures."""
    frame = risk_frame(walk, metrics, asset)
    if frame is None:
        return None
    frame.to_csv(path, index=False, float_format="%.10g")
    return str(path)


def write_universe_var_es(walks: dict, metrics: dict, path) -> Optional[str]:
    """``risk.csv`` of a universe (``metrics["assets"][asset]`` per asset); None without risk figures."""
    import pandas as pd
    frames = [risk_frame(w, metrics["assets"][a], a) for a, w in walks.items() if a in metrics["assets"]]
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    pd.concat(frames, ignore_index=True).to_csv(path, index=False, float_format="%.10g")
    return str(path)
