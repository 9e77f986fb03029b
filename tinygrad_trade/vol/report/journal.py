"""The journal report: the live track record as one Markdown page and one self-contained HTML page, flags first.

    from tinygrad_trade.vol.report.journal import write_journal_report
    paths = write_journal_report(res, "journal-report", events=journal.events())   # res: journal_scoring.score()
    paths["md"], paths["html"]      # journal.md (+ one PNG per asset and model) and journal.html (PNGs inside)

Why a page: a desk reads the alarms before the tables; the plots show when a model started to go wrong.
Each asset and model gets one figure: the headline-horizon forecast against the realised target, the QLIKE
loss of the last 60 scored days (rolling mean) against the walk-forward QLIKE, and the 99% VaR against the next
day's return with the exceptions marked. The folder goes through :func:`~tinygrad_trade.vol.jobs.outdir.output_dir`
(staged, locked, never overwriting files the tool did not write unless ``force``).
"""
from __future__ import annotations

import os
import re
from typing import Optional

import numpy as np
import pandas as pd

from ..evaluation.journal_scoring import DRIFT_WINDOW, JournalScore
from .html import markdown_to_html

__all__ = ["journal_markdown", "write_journal_files", "plot_model", "format_text"]


def _fmt(v, spec: str = ".4f") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return format(v, spec)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def format_text(res: JournalScore) -> str:
    """The live record as plain text for stdout: flags first, then one line per asset, model and horizon."""
    lines = [f"FLAG {f}" for f in res.flags]
    rows = []
    for m in res.models:
        v = m.var["1"]
        for h, hs in sorted(m.horizons.items()):
            head = h == m.horizon
            rows.append({"asset": m.asset, "model": m.model, "horizon": h, "n": hs.n, "qlike": _fmt(hs.qlike),
                         "mse": _fmt(hs.mse), "pending": hs.pending,
                         "wf_qlike": _fmt(m.walkforward["qlike"]) if head and m.walkforward else "-",
                         "drift_p": _fmt(m.drift.pvalue, ".3g") if head else "-",
                         "var1_hits": f"{v.hits}/{v.n}" if head else "-", "zone": (v.zone or "-") if head else "-"})
    lines.append(pd.DataFrame(rows).to_string(index=False) if rows else "(no predictions)")
    if res.unscored:
        lines.append("unscored: " + ", ".join(f"{v} {k}" for k, v in res.unscored.items()))
    return "\n".join(lines)


def plot_model(res: JournalScore, asset: str, model: str, path: str) -> Optional[str]:
    """The figure of one asset and model (PNG at ``path``); None when nothing of it is scored yet."""
    from matplotlib.figure import Figure
    m = res.model(asset, model)
    s = res.scored
    g = s[(s["asset"] == asset) & (s["model"] == model) & (s["horizon"] == m.horizon)]
    if g.empty:
        return None
    dates = pd.to_datetime(g["made_on"]).to_numpy()
    fig = Figure(figsize=(9, 7.5))
    import matplotlib.dates as mdates
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    ax1.plot(dates, g["target"], ".", color="#9ca3af", ms=4, label=f"realised (mean r² over {m.horizon} day(s))")
    ax1.plot(dates, g["variance"], "-", color="#1d4ed8", lw=1.2, label="forecast")
    ax1.set_yscale("log")
    ax1.set_ylabel("variance (%²/day)")
    ax1.legend(loc="upper left", fontsize=8)
    ax1.set_title(f"{asset} · {model}: live record, horizon {m.horizon}")
    roll = g["qlike_loss"].rolling(DRIFT_WINDOW, min_periods=1).mean()
    ax2.plot(dates, roll, "-", color="#111827", lw=1.2, label=f"live QLIKE, mean of the last {DRIFT_WINDOW} days")
    if m.walkforward is not None:
        ax2.axhline(m.walkforward["qlike"], color="#16a34a", ls="--", lw=1, label="walk-forward QLIKE")
    if m.drift.reference is not None and m.drift.level_shift:
        ax2.plot(dates[-m.drift.n:], np.full(min(m.drift.n, dates.size), m.drift.reference), ":", color="#16a34a",
                 lw=2, label="drift test reference (walk-forward, level-adjusted)")
    ax2.set_ylabel("QLIKE")
    ax2.legend(loc="best", fontsize=8)
    n = res.nights
    n = n[(n["asset"] == asset) & (n["model"] == model)]
    ok = np.isfinite(n["r_next"].to_numpy(float)) & np.isfinite(n["var_1"].to_numpy(float))
    nd = pd.to_datetime(n["made_on"]).to_numpy()[ok]
    r = n["r_next"].to_numpy(float)[ok]
    v = n["var_1"].to_numpy(float)[ok]
    hit = r < -v
    ax3.plot(nd, r, ".", color="#6b7280", ms=4, label="next day's return (%)")
    ax3.plot(nd, -v, "-", color="#b91c1c", lw=1, label="−VaR 99%")
    ax3.plot(nd[hit], r[hit], "x", color="#b91c1c", ms=7, label=f"exceptions ({int(hit.sum())})")
    ax3.set_ylabel("% return")
    ax3.set_xlabel("made on")
    ax3.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax3.xaxis.get_major_locator()))
    ax3.legend(loc="lower left", fontsize=8)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.07, hspace=0.12)   # no tight_layout: half the time
    fig.savefig(path, dpi=90)
    return path


def journal_markdown(res: JournalScore, plots: Optional[dict] = None, events: Optional[pd.DataFrame] = None,
                     title: str = "Forecast journal: the live record") -> str:
    """The report's Markdown (``plots[(asset, model)]``: a PNG file name beside the page)."""
    lines = [f"# {title}", ""]
    span = f" (predictions made on or after {res.since})" if res.since else ""
    lines += [f"{len(res.scored)} prediction(s) scored{span} for {len(res.assets)} asset(s).", ""]
    lines += ["## Flags", ""]
    if res.flags:
        lines += [f"- **{f}**" for f in res.flags]
    else:
        lines += ["No flags: no model is significantly worse live than in its walk-forward record, and every 99% "
                  "VaR is in the Basel green zone."]
    lines += ["", "## Live record", "",
              "| asset | model | horizon | n | QLIKE | MSE | walk-forward QLIKE | drift p | 99% VaR exceptions "
              "| zone |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for m in res.models:
        v = m.var["1"]
        wf = m.walkforward["qlike"] if m.walkforward else None
        lines.append(f"| {m.asset} | {m.model} | {m.horizon} | {m.n} | {_fmt(m.qlike)} | {_fmt(m.mse)} | "
                     f"{_fmt(wf)} | {_fmt(m.drift.pvalue, '.3g')} | {v.hits}/{v.n} | {v.zone or '-'} |")
    others = [(m, h) for m in res.models for h in sorted(m.horizons) if h != m.horizon]
    if others:
        lines += ["", "Other horizons:", "", "| asset | model | horizon | n | QLIKE | MSE | pending |",
                  "|---|---|---|---|---|---|---|"]
        for m, h in others:
            hs = m.horizons[h]
            lines.append(f"| {m.asset} | {m.model} | {h} | {hs.n} | {_fmt(hs.qlike)} | {_fmt(hs.mse)} | "
                         f"{hs.pending} |")
    if res.models:
        lines += ["", f"Drift test: {res.models[0].drift.test}."]
    if res.unscored:
        lines += ["", "## Unscored", ""] + [f"- {v} prediction(s): {k}" for k, v in res.unscored.items()]
    if plots:
        lines += ["", "## Track record", ""]
        for (asset, model), name in plots.items():
            lines += [f"![{asset} {model}: forecast vs realised, rolling QLIKE, 99% VaR]({name})", ""]
    if events is not None and len(events):
        lines += ["", "## Events", ""]
        for e in events.itertuples():
            where = " ".join(x for x in (e.asset, e.date) if x)
            lines.append(f"- {e.run_time} · {e.kind}{' · ' + where if where else ''}: {e.message}")
    return "\n".join(lines) + "\n"


def write_journal_files(res: JournalScore, folder, events: Optional[pd.DataFrame] = None) -> dict:
    """Write ``journal.md``, its PNG plots and ``journal.html`` (plots inside) into ``folder`` (the job stages it
    through :func:`~tinygrad_trade.vol.jobs.outdir.output_dir`)."""
    folder = os.fspath(folder)
    plots = {}
    for m in res.models:
        name = f"journal_{_safe(m.asset)}_{_safe(m.model)}.png"
        if plot_model(res, m.asset, m.model, os.path.join(folder, name)):
            plots[(m.asset, m.model)] = name
    text = journal_markdown(res, plots, events)
    with open(os.path.join(folder, "journal.md"), "w", encoding="utf-8") as fh:
        fh.write(text)
    with open(os.path.join(folder, "journal.html"), "w", encoding="utf-8") as fh:
        fh.write(markdown_to_html(text, folder))
    target = folder
    return {"md": os.path.join(target, "journal.md"), "html": os.path.join(target, "journal.html"),
            "plots": [os.path.join(target, p) for p in plots.values()]}
