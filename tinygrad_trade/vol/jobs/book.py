"""A book of assets in the commands: ``tinygrad-trade dcc``, ``forecast --book`` and ``predict --book``.

    from tinygrad_trade.vol.jobs.book import parse_book, run_dcc, run_book_forecast, predict_book
    weights = parse_book("SP500=0.4,AAPL=0.3,IBM=0.3")         # or a CSV file of asset, weight
    res = run_dcc(("a.csv", "b.csv"), vol="gjr")               # res.summary(), res.to_dict()
    book = run_book_forecast(frames, weights, config)          # BookWalk with .frame (book.csv) and .metrics

Why a job of its own: the book is built from the universe's price files, on the dates every asset of
the book has (:func:`~tinygrad_trade.vol.models.dcc.align_prices`), then walked forward by
:func:`~tinygrad_trade.vol.runs.book.book_walk_forward` and scored by
:mod:`~tinygrad_trade.vol.evaluation.book`; ``forecast`` and ``predict`` call it only when ``--book`` is
given, so without a book their outputs are what they were.

The multivariate model's marginals are the GARCH-family model of ``--models``: ``gjr`` when it is there
or when no GARCH-family model is, else ``garch``.

Bad input (weights naming an asset that is not in the universe, a weight that is not a number, a book of
one asset, fewer than 500 common days, duplicate series) raises ``ValueError`` with one line: the CLI
prints it and exits with status 2.
"""
from __future__ import annotations

import csv
import io
import os
import warnings
from typing import Optional

import numpy as np
import pandas as pd

from ..data import loading as vdata
from ..data.assets import read_embedded_universe, read_universe
from ..evaluation.book import BOOK_LEVELS, book_frame, book_scores, book_var_es
from ..evaluation.risk import level_key
from ..models.dcc import CCC, DCC, MIN_DAYS, DCCInputError, align_prices
from ..models.dcc_result import risk_contributions
from ..report.book import book_section
from ..runs.book import BOOK_MODELS, book_walk_forward
from .config import json_clean

__all__ = ["parse_book", "check_book", "book_returns", "book_vol", "run_dcc", "run_book_forecast", "book_first",
           "predict_book", "BookPrediction", "format_book", "write_book_prediction", "book_text",
           "write_book_files"]


# ------------------------------------------------------------------------------------ weights
def _weight(asset: str, text: str, where: str) -> float:
    try:
        v = float(str(text).strip())
    except ValueError:
        raise ValueError(f"--book: the weight of {asset!r} is {text!r}, not a number{where}") from None
    if not np.isfinite(v):
        raise ValueError(f"--book: the weight of {asset!r} is {text!r}, not a finite number{where}")
    return v


def parse_book(text: str) -> dict:
    """``{asset: weight}`` from ``"A=0.4,B=0.6"`` or from a CSV file of ``asset, weight`` rows (a header
    row ``asset,weight`` is allowed)."""
    text = str(text).strip()
    pairs, where = [], ""
    if "=" in text or not os.path.exists(text):
        if "=" not in text:
            raise ValueError(f"--book {text!r}: give ASSET=WEIGHT,... or a CSV file of asset, weight "
                             f"(no such file)")
        for item in text.split(","):
            if not item.strip():
                continue
            if "=" not in item:
                raise ValueError(f"--book: {item.strip()!r} is not ASSET=WEIGHT")
            a, v = item.split("=", 1)
            pairs.append((a.strip(), v))
    else:
        where = f" (in {text})"
        with open(text, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(io.StringIO(fh.read())) if any(c.strip() for c in r)]
        if rows and [c.strip().lower() for c in rows[0][:2]] == ["asset", "weight"]:
            rows = rows[1:]
        for r in rows:
            if len(r) < 2:
                raise ValueError(f"--book {text}: row {','.join(r)!r} needs two columns, asset and weight")
            pairs.append((r[0].strip(), r[1]))
    book = {}
    for a, v in pairs:
        if not a:
            raise ValueError(f"--book: a weight without an asset name{where}")
        if a in book:
            raise ValueError(f"--book: asset {a!r} is given twice{where}")
        book[a] = _weight(a, v, where)
    if len(book) < 2:
        raise ValueError(f"--book needs at least two assets, got {len(book)}{where}")
    if not any(book.values()):
        raise ValueError(f"--book: every weight is zero{where}")
    return book


def check_book(frames: dict, weights: dict) -> None:
    """A ``ValueError`` (one line) when a weight names an asset that is not in the universe."""
    missing = [a for a in weights if a not in frames]
    if missing:
        raise ValueError(f"--book: asset {missing[0]!r} is not in the universe ({', '.join(frames)}); "
                         f"name the assets of --csv / --universe")


def book_returns(frames: dict, weights: dict) -> pd.DataFrame:
    """% log returns of the book's assets on their common days (columns in the order of ``weights``)."""
    check_book(frames, weights)
    get = lambda d: getattr(d, "frame", d)
    try:
        r = align_prices({a: get(frames[a]) for a in weights})
    except DCCInputError as e:
        raise ValueError(f"--book: {e}") from None
    if len(r) < MIN_DAYS:
        raise ValueError(f"--book: the assets {', '.join(weights)} have {len(r)} common days of returns; a book "
                         f"needs at least {MIN_DAYS} (choose assets with overlapping histories)")
    return r


def book_vol(models) -> str:
    """The marginals of DCC/CCC: ``gjr`` if in ``models`` or no GARCH-family model is, else ``garch``."""
    models = tuple(models or ())
    return "garch" if "garch" in models and "gjr" not in models else "gjr"


# ------------------------------------------------------------------------------------ dcc
def run_dcc(csv, vol: str = "garch", dist: str = "normal", max_file_mb: float = vdata.MAX_FILE_MB):
    """DCC fitted to the price files ``csv`` (two or more assets; one long file with a ticker column
    also works), the embedded universe when ``csv`` is empty."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = read_universe(list(csv), max_file_mb) if csv else read_embedded_universe()
    if len(frames) < 2:
        raise ValueError(f"dcc needs at least two assets, got {len(frames)} (give several --csv files)")
    try:
        return DCC(vol=vol, dist=dist).fit(align_prices({a: d.frame for a, d in frames.items()}))
    except DCCInputError as e:
        raise ValueError(str(e)) from None


# ------------------------------------------------------------------------------------ forecast --book
def book_first(returns: pd.DataFrame, start) -> int:
    """The first forecast row: the first day on or after ``start``, but after ``MIN_DAYS`` of history."""
    first = int(np.searchsorted(returns.index.values, np.datetime64(pd.Timestamp(start))))
    first = max(first, MIN_DAYS)
    if first >= len(returns) - 22:
        raise ValueError(f"--book: the book's common days end {returns.index[-1].date()}; --start {start} with "
                         f"{MIN_DAYS} days of history leaves fewer than 22 forecast days")
    return first


def run_book_forecast(frames: dict, weights: dict, config, executor=None, since=None):
    """The book's walk-forward, book.csv and metrics (``BookWalk`` with ``.frame`` and ``.metrics``).

    ``config``: the forecast job's ForecastConfig (start, refit_every, window, models, seed, backtest
    settings). ``since``: a date from which the VaR/ES backtests count (default: every forecast day)."""
    if config.horizon != 1:
        raise ValueError(f"--book forecasts the next day's book variance; drop --horizon {config.horizon}")
    returns = book_returns(frames, weights)
    first = book_first(returns, config.start)
    vol = book_vol(config.models)
    uni = tuple(m for m in (config.models or ()) if m in BOOK_MODELS)
    w = np.array([weights[a] for a in returns.columns], dtype=float)
    try:
        book = book_walk_forward(returns, w, first, config.refit_every, vol, uni, config.window, config.seed,
                                 executor, progress=not config.quiet)
    except DCCInputError as e:
        raise ValueError(f"--book: {e}") from None
    book.frame = book_frame(book.dates, book.returns, book.forecasts)
    scores = book_scores(book.returns, book.forecasts, book.frame, book.dates, config.target_vol,
                         config.max_leverage, config.costs_bps, config.return_accounting, config.seed,
                         config.dm_lags, since)
    last = book.dcc_fits[-1]
    book.metrics = json_clean({
        "assets": list(returns.columns), "weights": {a: float(x) for a, x in zip(returns.columns, w)},
        "vol": vol, "refit_every": config.refit_every, "first_forecast": str(book.dates[0].date()),
        "last_forecast": str(book.dates[-1].date()), "n_forecasts": int(len(book.dates)),
        "n_refits": len(book.dcc_fits), "benchmark": "dcc", "dcc_last_fit": last.to_dict(),
        "correlation_next": {a: dict(zip(returns.columns, row)) for a, row in
                             zip(returns.columns, book.dcc_path.next_correlation.tolist())},
        **scores})
    return book


def write_book_files(book, folder) -> tuple:
    """book.csv and the report section's plots into ``folder``; ``(paths, (title, markdown))``."""
    path = os.path.join(folder, "book.csv")
    book.frame.to_csv(path, index=False, float_format="%.10g")
    title, md, files = book_section(book, folder)
    paths = {"book": path, **{f"book_{k}": os.path.join(folder, f) for k, f in files.items()}}
    return paths, (title, md)


def book_text(m: dict) -> str:
    """The book's scores as text (the stdout of ``forecast --book``)."""
    lines = [f"book ({', '.join(f'{a} {w:g}' for a, w in m['weights'].items())}), "
             f"{m['n_forecasts']} days {m['first_forecast']}..{m['last_forecast']}",
             f"{'model':>8} {'QLIKE':>9} {'DM vs dcc':>10} {'VaR1% hits':>11} {'cc p':>7}"]
    for name, s in m["models"].items():
        dm = m["dm_vs_dcc"].get(name, {}).get("qlike", {}).get("stat")
        r1 = m["risk"][name]["1"]
        cc = r1.get("christoffersen", {}).get("pvalue_cc")
        lines.append(f"{name:>8} {s['qlike']:>9.4f} {'' if dm is None else f'{dm:.2f}':>10} "
                     f"{r1.get('kupiec', {}).get('hits', 'n/a'):>5}/{r1['n']:<5} "
                     f"{'n/a' if cc is None else f'{cc:.3f}':>7}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ predict --book
class BookPrediction:
    """Tomorrow's book: variance, VaR/ES (FHS on the fit's standardised book residuals), each asset's
    Euler contribution and the correlation matrix, from DCC (and CCC beside it)."""

    def __init__(self, names, weights, date, rows: pd.DataFrame, contributions: pd.DataFrame,
                 correlation: pd.DataFrame, fit):
        self.names, self.weights, self.date = list(names), np.asarray(weights, dtype=float), date
        self.rows, self.contributions, self.correlation, self.fit = rows, contributions, correlation, fit

    def to_dict(self) -> dict:
        return json_clean({"date": self.date, "assets": self.names, "weights": dict(zip(self.names, self.weights)),
                           "models": self.rows.to_dict(orient="records"),
                           "contributions": self.contributions.to_dict(orient="records"),
                           "correlation": {a: dict(zip(self.names, row)) for a, row in
                                           zip(self.names, self.correlation.to_numpy().tolist())},
                           "dcc": self.fit.to_dict()})


def _next_row(name, fit, w, date) -> dict:
    fc = fit.forecast(1)
    s = float(fc.book_variance(w)[0])
    H = fit.conditional_covariances
    past = np.einsum("i,tij,j->t", w, H, w)
    rb = np.column_stack([m.returns for m in fit.marginals]) @ w
    mu = float(np.array([m.mu for m in fit.marginals]) @ w)
    r = np.append(rb - mu, 0.0)      # the residual history, then tomorrow (no return yet: not used)
    ve = book_var_es(r, np.append(past, s))
    row = {"model": name, "date": date, "variance": s, "vol_annual": float(np.sqrt(252.0 * s))}
    for a in BOOK_LEVELS:
        k = level_key(a)
        row[f"var_{k}"], row[f"es_{k}"] = float(ve[f"var_{k}"][-1]), float(ve[f"es_{k}"][-1])
    return row


def predict_book(frames: dict, weights: dict, models=None, fit=None) -> BookPrediction:
    """Fit DCC and CCC on every common day of the book's assets (or reuse ``fit``, a saved DCCResult on
    the same assets and days) and forecast the next business day."""
    returns = book_returns(frames, weights)
    w = np.array([weights[a] for a in returns.columns], dtype=float)
    vol = book_vol(models)
    same = fit is not None and list(fit.names) == list(returns.columns)
    try:
        if same and fit.index.equals(returns.index):
            note = "book: the saved DCC fit covers these days; reused as saved"
        else:
            note = ("book: new days since the saved DCC fit; refitted, warm-started from it" if same else
                    "book: DCC fitted on every common day")
            fit = DCC(vol=vol).fit(returns, start=fit if same else None)
        ccc = CCC(vol=fit.vol).fit(returns, marginals=fit.marginals)
    except DCCInputError as e:
        raise ValueError(f"--book: {e}") from None
    date = str(np.busday_offset(np.datetime64(returns.index[-1].date(), "D"), 1, roll="forward"))
    rows = pd.DataFrame([_next_row("dcc", fit, w, date), _next_row("ccc", ccc, w, date)])
    H = fit.forecast(1).covariances[0]
    rc = risk_contributions(H, w)
    sd = np.sqrt(np.diag(H))
    contrib = pd.DataFrame({"asset": list(returns.columns), "weight": w, "vol_annual": np.sqrt(252.0) * sd,
                            "contribution": rc})
    corr = pd.DataFrame(fit.forecast(1).correlations[0], index=returns.columns, columns=returns.columns)
    res = BookPrediction(returns.columns, w, date, rows, contrib, corr, fit)
    res.note = note
    return res


def format_book(p: BookPrediction) -> str:
    """The book's prediction as text (the stdout of ``predict --book``)."""
    lines = [f"book {', '.join(f'{a} {x:g}' for a, x in zip(p.names, p.weights))}: next day {p.date}",
             p.rows.to_string(index=False, float_format=lambda v: f"{v:.4f}"), "",
             "contributions to the book's variance (Euler: w_i (H w)_i / w'Hw, DCC)",
             p.contributions.to_string(index=False, float_format=lambda v: f"{v:.4f}"), "",
             "correlations (DCC, next day)",
             p.correlation.to_string(float_format=lambda v: f"{v:.3f}")]
    return "\n".join(lines)


def write_book_prediction(p: BookPrediction, folder: str, as_json: bool = True) -> dict:
    """book.csv (the models' rows, then contributions and correlations as their own files) and book.json."""
    import json
    paths = {"book": os.path.join(folder, "book.csv")}
    p.rows.to_csv(paths["book"], index=False, float_format="%.10g")
    paths["book_contributions"] = os.path.join(folder, "book_contributions.csv")
    p.contributions.to_csv(paths["book_contributions"], index=False, float_format="%.10g")
    paths["book_correlation"] = os.path.join(folder, "book_correlation.csv")
    p.correlation.to_csv(paths["book_correlation"], float_format="%.10g")
    if as_json:
        paths["book_json"] = os.path.join(folder, "book.json")
        with open(paths["book_json"], "w", encoding="utf-8") as fh:
            json.dump(p.to_dict(), fh, indent=2)
    return paths
