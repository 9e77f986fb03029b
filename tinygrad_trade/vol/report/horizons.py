"""Outputs of a run over several horizons (``forecast --horizon 1,5,10,22``): one block per horizon.

Files written to the output directory:

* ``h<H>/`` -- the complete one-horizon report of horizon H (metrics.json, forecasts.csv, report.md, plots), exactly
  what ``forecast --horizon H`` writes;
* ``metrics.json`` -- ``{"horizons": {"H": <h<H>/metrics.json's object>}, "config": {...}}`` (``config.horizon``
  the list of horizons);
* ``forecasts.csv`` -- long form: ``horizon, [asset,] date, target, <one column per model>``, the rows of every
  horizon one after the other (horizon H forecasts the mean daily variance over days t..t+H-1);
* ``report.md`` (and ``report.html``) -- per horizon: the accuracy table, the Diebold-Mariano tests (one asset) or
  the across-assets summary with the panel DM test and the Model Confidence Set (several), the multi-day VaR/ES
  backtest where there is one, and a link to the horizon's full report.

One horizon writes the one-horizon files (:mod:`.writer`, :mod:`.universe`) and never comes here.
"""
from __future__ import annotations

import os
from typing import Optional

from .common import (_FORECAST_HEADER, _dm, _f, _forecast_rows, _md_table, benchmark_of, opening_sections,
                     write_metrics)
from .html import write_report_html
from .risk import risk_markdown
from .universe import _summary_rows, write_universe_report
from .writer import write_report

__all__ = ["write_horizons_report", "horizons_markdown", "horizon_risk_lines", "write_horizon_forecasts", "horizon_dir"]


def horizon_dir(h: int) -> str:
    """The sub-folder holding horizon ``h``'s one-horizon report."""
    return f"h{int(h)}"


def write_horizon_forecasts(by_horizon: dict, path) -> str:
    """forecasts.csv in long form: ``horizon, [asset,] date, target, <models>`` (asset only for several assets)."""
    import pandas as pd
    frames = []
    for h, res in by_horizon.items():
        for a, w in res.walks.items():
            cols = {"horizon": int(h)}
            if not res.single:
                cols["asset"] = a
            cols.update({"date": [str(d) for d in w.dates], "target": w.target})
            cols.update(w.forecasts)
            frames.append(pd.DataFrame(cols))
    pd.concat(frames, ignore_index=True).to_csv(path, index=False, float_format="%.10g")
    return os.fspath(path)


def _asset_qlike_rows(m: dict) -> tuple:
    """One row per asset: QLIKE of each model and the ratio of each to the asset's best classical model."""
    s = m["summary"]
    models = list(s["models"])
    rows = []
    for a, am in m["assets"].items():
        best = s.get("best_classical", {}).get(a)
        bq = am["models"][best]["qlike"] if best in am["models"] else None
        row = [a, f"`{best}`" if best else ""]
        for name in models:
            q = am["models"].get(name, {}).get("qlike")
            ratio = "" if q is None or not bq else f" ({q / bq:.3f})"
            row.append("" if q is None else _f(q) + ratio)
        rows.append(row)
    return ["asset", "best classical"] + models, rows


def horizon_risk_lines(m: dict, title: str = "") -> list:
    """report.md lines of the h-day VaR/ES backtest (``metrics["risk_h"]``; empty without it)."""
    risk = m.get("risk_h") or {}
    if not risk:
        return []
    first = next(iter(risk.values()))
    h = first["horizon"]
    rows = [[name, method, f"{k}%", b["n"], b["hits"], _f(100.0 * b["hit_rate"], ".2f") + "%",
             _f(b["nw_z"], ".2f"), _f(b["nw_pvalue"], ".3f"), _f(b["sub_pvalue"], ".3f"),
             _f(b["naive_kupiec_pvalue"], ".3f"), _f(b["es_z2"], ".3f")]
            for name, e in risk.items()
            for method, levels in (("normal", e["levels"]), ("fhs", (e.get("fhs") or {}).get("levels", {})))
            for k, b in levels.items()]
    fhs = next((e["fhs"] for e in risk.values() if e.get("fhs")), None)
    return [f"{title}{h}-day VaR and ES from the forecast h-day variance (h x the mean daily variance): normal "
            f"(sqrt({h} x mean variance) times the 1-day normal quantile) on {first['n_windows']} overlapping "
            f"{h}-day windows from {first['first_date']}"
            + (f"; fhs (the empirical quantile of the model's standardised {h}-day returns of the windows complete "
               f"before each one) on {fhs['n_windows']} windows from {fhs['first_date']}" if fhs else "")
            + f". Coverage corrected for the overlap: Newey-West t-test of the hit rate ({h - 1} lags) and "
            f"Kupiec on the {h} non-overlapping subsamples (Bonferroni); the naive Kupiec p-value (overlap "
            "ignored: too small) for comparison; ES: Acerbi-Szekely Z2.", "",
            _md_table(["model", "method", "level", "windows", "hits", "hit rate", "NW z", "NW p", "subsample p",
                       "naive Kupiec p", "ES Z2"], rows), ""]


def _block(h: int, res) -> list:
    m = res.metrics
    link = f"{horizon_dir(h)}/report.md"
    L = [f"## Horizon {h} day{'s' if h > 1 else ''}", "",
         ("Target: the variance of day t" if h == 1 else f"Target: the mean daily variance over days t..t+{h - 1}")
         + f" (%^2 per day). Full report: [{link}]({link}).", ""]
    if res.single:
        L += [_md_table(_FORECAST_HEADER, _forecast_rows(m)), ""]
        if _dm(m):
            rows = [[n, _f(d["qlike"]["stat"], ".2f"), _f(d["qlike"]["pvalue"], ".3f")]
                    for n, d in _dm(m).items()]
            L += [f"Diebold-Mariano against {benchmark_of(m)} ({m['config']['dm_lags']} Newey-West lags; negative: lower loss):",
                  "", _md_table(["model", "QLIKE t", "QLIKE p"], rows), ""]
        L += risk_markdown(m)[1:] if risk_markdown(m) else []
        L += horizon_risk_lines(m)
        return L
    s = m["summary"]
    bench = s.get("benchmark", "har")
    L += [f"Across assets (ratios averaged over assets; panel DM against {bench}; MCS at the 10% level):", "",
          _md_table(["model", f"QLIKE / {bench}", "QLIKE / best classical", "wins", "panel DM t", "panel DM p",
                     "in the MCS (assets)"], _summary_rows(s)), "",
          "QLIKE per asset (in brackets: the ratio to the asset's best classical model):", ""]
    hdr, rows = _asset_qlike_rows(m)
    L += [_md_table(hdr, rows), ""]
    for a, am in m["assets"].items():
        lines = risk_markdown(am)
        if lines:
            L += [f"### {a}: VaR and ES"] + lines[1:]
        L += horizon_risk_lines(am, f"**{a}**: ")
    return L


def horizons_markdown(results, extra: Optional[dict] = None) -> str:
    """The text of the top-level report.md of a run over several horizons."""
    extra = extra or {}
    hs = list(results.by_horizon)
    first = next(iter(results.by_horizon.values()))
    n = len(first.walks)
    title = extra.get("title", f"Volatility forecasting report: horizons {', '.join(map(str, hs))}"
                      + ("" if first.single else f", {n} assets"))
    cfg = results.metrics["config"]
    L = [f"# {title}", "",
         f"One run over the horizons {', '.join(map(str, hs))} (trading days): every model forecasts, for each "
         f"horizon h, the mean daily variance of the next h days from data up to the previous close; the same "
         f"data, models ({', '.join(cfg['models'])}), refit dates (every {cfg['refit_every']} forecasts from "
         f"{cfg['start']}) and seed {cfg['seed']} for every horizon. Each horizon's complete report (plots, "
         "backtest, run time) is in its folder `h<H>/`.", ""]
    L += opening_sections(first, extra)
    for h, res in results.by_horizon.items():
        L += _block(h, res)
    t = results.timings
    L += ["## Run time", "", f"Total {t.get('total', float('nan')):.1f} s (walk-forward "
          f"{t.get('walk_forward', float('nan')):.1f} s over all horizons).", "",
          "Files: `metrics.json` ({\"horizons\": {\"H\": one-horizon object}, \"config\"}), `forecasts.csv` (long "
          "form: horizon, " + ("" if first.single else "asset, ") + "date, target, one column per model), `h<H>/` "
          "(each horizon's own report).", ""]
    return "\n".join(L)


def write_horizons_report(results, out_dir, extra: Optional[dict] = None) -> dict:
    """Write every output file of a run over several horizons into ``out_dir``; returns ``{name: path}``."""
    out = os.fspath(out_dir)
    paths = {"metrics": write_metrics(results.metrics, os.path.join(out, "metrics.json")),
             "forecasts": write_horizon_forecasts(results.by_horizon, os.path.join(out, "forecasts.csv"))}
    for h, res in results.by_horizon.items():
        sub = os.path.join(out, horizon_dir(h))
        os.makedirs(sub, exist_ok=True)
        writer = write_report if res.single else write_universe_report
        for k, p in writer(res, sub, None).items():
            paths[f"{horizon_dir(h)}/{k}"] = p
    report = os.path.join(out, "report.md")
    with open(report, "w", encoding="utf-8") as fh:
        fh.write(horizons_markdown(results, extra))
    paths["report"] = report
    paths["html"] = write_report_html(report)
    return paths
