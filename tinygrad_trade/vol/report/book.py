"""The book's section of a report: correlations now and over time, VaR bands, the losses and the DM table.

    from tinygrad_trade.vol.report.book import book_section
    title, markdown, files = book_section(book, folder)   # writes book_*.png into folder

``book`` is a :class:`~tinygrad_trade.vol.runs.book.BookWalk` with ``metrics`` (the "book" block of
metrics.json) beside it; the writers of one asset and of a universe add the section through their
``extra["sections"]`` hook, so a run without a book writes exactly what it wrote before.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import _figure, _finish

__all__ = ["book_section", "book_markdown", "plot_correlation_now", "plot_correlation_paths", "plot_var_bands"]

FILES = {"heat": "book_correlation.png", "paths": "book_correlation_paths.png", "var": "book_var.png"}


def plot_correlation_now(names, corr, path=None, title="Correlations forecast for the next day (DCC)"):
    """Heat map of a correlation matrix, with the values written in the cells; the Figure."""
    n = len(names)
    fig, ax = _figure(figsize=(1.2 * n + 3, 1.0 * n + 2))
    im = ax.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    return _finish(fig, path)


def plot_correlation_paths(dates, names, correlations, qbar=None, path=None):
    """Each pair's out-of-sample DCC correlation over time (dashed: the last fit's target); the Figure."""
    fig, ax = _figure()
    x = pd.DatetimeIndex(dates)
    n = len(names)
    for i in range(n):
        for j in range(i + 1, n):
            line, = ax.plot(x, correlations[:, i, j], lw=0.8, label=f"{names[i]}-{names[j]}")
            if qbar is not None:
                ax.axhline(qbar[i, j], color=line.get_color(), lw=0.6, ls="--")
    ax.set_ylabel("correlation")
    ax.set_title("DCC correlations, one day ahead out of sample (dashed: the target of the last fit)")
    ax.legend(loc="lower left", fontsize=7, ncol=max(1, n // 2))
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_var_bands(dates, returns, var, path=None, level="1"):
    """The book's returns against minus its VaR (dcc, FHS), exceptions marked; the Figure."""
    fig, ax = _figure()
    x = pd.DatetimeIndex(dates)
    r = np.asarray(returns, dtype=float)
    v = np.asarray(var, dtype=float)
    ax.plot(x, r, color="0.6", lw=0.5, label="book return, %")
    ax.plot(x, -v, color="tab:red", lw=0.9, label=f"-VaR {level}% (dcc)")
    hit = np.isfinite(v) & (r < -v)
    ax.scatter(x[hit], r[hit], color="tab:red", s=8, zorder=3, label=f"exceptions ({int(hit.sum())})")
    ax.set_ylabel("%")
    ax.set_title(f"The book's {level}% VaR band (dcc, filtered historical simulation)")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def _f(x, fmt="{:.4f}"):
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else fmt.format(x)


def book_markdown(m: dict, files: dict) -> str:
    """The section's markdown from the "book" block ``m`` of metrics.json."""
    w = ", ".join(f"{a} {v:g}" for a, v in m["weights"].items())
    L = [f"Book: {w}; {m['n_forecasts']} forecast days {m['first_forecast']}..{m['last_forecast']} on the assets' "
         f"common days; DCC and CCC on {m['vol']} marginals refitted every {m['refit_every']} days; the "
         f"univariate models fitted to the book's own returns. Realised proxy: the book's r^2.", ""]
    if "heat" in files:
        L += [f"![correlations now]({files['heat']})", ""]
    L += ["| model | QLIKE | MSE | DM vs dcc (QLIKE) | p | 99% VaR hits | Kupiec p | cc p | 97.5% ES Z2 | zone |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, s in m["models"].items():
        dm = m["dm_vs_dcc"].get(name, {}).get("qlike", {})
        r1 = m["risk"][name]["1"]
        z2 = (m["risk"][name]["2.5"].get("acerbi_szekely") or {}).get("z2")
        zone = r1.get("traffic_light", {}).get("last_zone", "n/a")
        k, c = r1.get("kupiec", {}), r1.get("christoffersen", {})
        L.append(f"| {name} | {_f(s['qlike'])} | {_f(s['mse'], '{:.3f}')} | {_f(dm.get('stat'), '{:.2f}')} | "
                 f"{_f(dm.get('pvalue'), '{:.3f}')} | {k.get('hits', 'n/a')}/{r1['n']} | "
                 f"{_f(k.get('pvalue'), '{:.3f}')} | {_f(c.get('pvalue_cc'), '{:.3f}')} | "
                 f"{_f(z2, '{:.3f}')} | {zone} |")
    L += ["", "DM: a negative statistic means the model's QLIKE beats dcc's. VaR/ES: filtered historical "
          "simulation on the book's standardised residuals of earlier days; zone: the Basel traffic light of the "
          "last 250 days.", ""]
    for key, alt in (("paths", "correlation paths"), ("var", "VaR band")):
        if key in files:
            L += [f"![{alt}]({files[key]})", ""]
    L.append("Files: book.csv (date, model, return, variance, var_1, es_1, var_2.5, es_2.5, var_5, es_5).")
    return "\n".join(L)


def book_section(book, folder) -> tuple:
    """``(title, markdown, {kind: file name})``; the plots are written into ``folder``."""
    files = {}
    try:
        path = book.dcc_path
        plot_correlation_now(book.names, path.next_correlation, os.path.join(folder, FILES["heat"]))
        files["heat"] = FILES["heat"]
        plot_correlation_paths(book.dates, book.names, path.correlations, book.dcc_fits[-1].qbar,
                               os.path.join(folder, FILES["paths"]))
        files["paths"] = FILES["paths"]
        dcc = book.frame[book.frame["model"] == "dcc"]
        plot_var_bands(book.dates, book.returns, dcc["var_1"].to_numpy(), os.path.join(folder, FILES["var"]))
        files["var"] = FILES["var"]
    except ImportError:    # no matplotlib: the tables still go in
        pass
    return "Book", book_markdown(book.metrics, files), files
