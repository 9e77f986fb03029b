"""Scores of a book's variance forecasts: the losses, VaR/ES backtests and volatility targeting of single assets.

    from tinygrad_trade.vol.evaluation.book import book_frame, book_scores
    frame = book_frame(dates, returns, forecasts)           # book.csv: date, model, return, variance, var_1, ...
    scores = book_scores(returns, forecasts, frame, dates)  # the "book" block of metrics.json

A book is scored as one asset: its realised variance proxy is ``r_b^2`` (``r_b = sum_i w_i r_i``), the
losses are QLIKE and MSE with Diebold-Mariano tests of every model against ``dcc``
(:func:`.losses.dm_table`; a negative statistic means the model beats dcc), the VaR/ES at 1%, 2.5% and 5%
come by filtered historical simulation on the book's standardised residuals ``r_b / sqrt(s)`` of earlier
days (:func:`.var_backtests.fhs_var_es`, no look-ahead) and get the single assets' backtests
(:func:`.var_backtests.backtest_level`: Kupiec, Christoffersen, DQ, Acerbi-Szekely Z1/Z2, McNeil-Frey;
the Basel traffic light on the 99% VaR), and the volatility-targeting backtest is
:func:`.backtest.backtest_table` on the book's returns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .backtest import backtest_table
from .losses import dm_table, evaluate
from .risk import level_key
from .var_backtests import backtest_level, fhs_var_es, traffic_light

__all__ = ["BOOK_LEVELS", "BENCHMARK", "BOOK_COLUMNS", "book_var_es", "book_frame", "book_scores"]

BOOK_LEVELS = (0.01, 0.025, 0.05)
BENCHMARK = "dcc"
MIN_DAYS = 20            # days with a VaR figure below which a level is not backtested
BOOK_COLUMNS = ["date", "model", "return", "variance"] + [f"{p}_{level_key(a)}" for a in BOOK_LEVELS
                                                          for p in ("var", "es")]


def book_var_es(returns, variance) -> dict:
    """``{"var_1": array, "es_1": ..., "var_2.5": ...}``: FHS VaR/ES (positive % losses) of each day."""
    return fhs_var_es(returns, variance, levels=BOOK_LEVELS)


def book_frame(dates, returns, forecasts: dict) -> pd.DataFrame:
    """book.csv: one row per day and model (models in the order of ``forecasts``), VaR/ES NaN until FHS
    has its history."""
    parts = []
    r = np.asarray(returns, dtype=float)
    day = pd.DatetimeIndex(dates).strftime("%Y-%m-%d")
    for name, f in forecasts.items():
        f = np.asarray(f, dtype=float)
        cols = {"date": day, "model": name, "return": r, "variance": f}
        cols.update(book_var_es(r, f))
        parts.append(pd.DataFrame(cols)[BOOK_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _level_scores(r, s, var, es, alpha, rng, since) -> dict:
    ok = np.isfinite(var) & np.isfinite(es) & since
    if ok.sum() < MIN_DAYS:
        return {"n": int(ok.sum()), "note": f"fewer than {MIN_DAYS} days with a VaR figure: not backtested"}
    res = backtest_level(r[ok], var[ok], es[ok], alpha, variance=s[ok], rng=rng)
    out = {"n": int(ok.sum()), "kupiec": res.kupiec.to_dict(), "christoffersen": res.christoffersen.to_dict(),
           "dq": res.dq.to_dict(), "acerbi_szekely": None if res.acerbi_szekely is None else res.acerbi_szekely.to_dict(),
           "mcneil_frey": None if res.mcneil_frey is None else res.mcneil_frey.to_dict()}
    if alpha == 0.01 and ok.sum() >= 250:
        tl = traffic_light(r[ok], var[ok])
        out["traffic_light"] = {"share_green": tl.share_green, "share_yellow": tl.share_yellow,
                                "share_red": tl.share_red, "last_zone": tl.last_zone,
                                "last_exceptions": tl.last_exceptions}
    return out


def book_scores(returns, forecasts: dict, frame: pd.DataFrame, dates, target_vol: float = 10.0,
                max_leverage: float = 2.0, costs_bps=(0, 2, 10), return_kind: str = "simple", seed: int = 0,
                lags: int = 5, since=None) -> dict:
    """``{"models": evaluate(...), "dm_vs_dcc": dm_table(...), "risk": {model: {level: ...}},
    "backtest": backtest_table(...)}`` of the book (``frame`` from :func:`book_frame`). ``since``: a date;
    the VaR/ES backtests then use the days from it only (the losses and backtest use every day)."""
    r = np.asarray(returns, dtype=float)
    y = r * r
    models = evaluate(y, forecasts)
    dm = dm_table(y, forecasts, benchmark=BENCHMARK, lags=lags)
    day = pd.DatetimeIndex(dates)
    keep = np.ones(r.size, bool) if since is None else np.asarray(day >= pd.Timestamp(since))
    risk = {}
    for name, f in forecasts.items():
        rows = frame[frame["model"] == name]
        s = np.asarray(f, dtype=float)
        rng = np.random.default_rng(seed)
        risk[name] = {level_key(a): _level_scores(r, s, rows[f"var_{level_key(a)}"].to_numpy(),
                                                  rows[f"es_{level_key(a)}"].to_numpy(), a, rng, keep)
                      for a in BOOK_LEVELS}
    bt = backtest_table(r, forecasts, target_vol=target_vol, max_leverage=max_leverage, costs_bps=costs_bps,
                        return_kind=return_kind)
    return {"models": models, "dm_vs_dcc": dm, "risk": risk, "backtest": bt}
