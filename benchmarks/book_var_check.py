"""A first check of a book's VaR/ES from DCC and CCC, walk-forward from 2010 (before the CLI's --book).

The book holds fixed weights 0.4/0.4/0.2; its daily return is taken as the weighted sum of the assets' %
log returns. ``walk_forward`` refits every 21 days on all days before (expanding window) and gives each
day's covariance from the days before; the book's variance is ``w' H_t w``. VaR/ES at 1% and 2.5% by
filtered historical simulation on the book's standardised residuals (the residuals of days before each
day, the fitting sample's included) and by the normal law, scored with the single-asset backtests of
:mod:`tinygrad_trade.vol.risk` (Christoffersen conditional coverage, Acerbi-Szekely Z2).

    PYTHONPATH=. python benchmarks/book_var_check.py embedded    # S&P 500, AAPL, IBM
    PYTHONPATH=. python benchmarks/book_var_check.py unseen      # arch's S&P 500, NASDAQ, WTI (needs arch)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from bench_dcc import embedded_book, unseen_book  # noqa: E402

from tinygrad_trade.vol.models.dcc import CCC, DCC, walk_forward  # noqa: E402
from tinygrad_trade.vol.risk import backtest, level_key, rolling_var_es  # noqa: E402

WEIGHTS = np.array([0.4, 0.4, 0.2])
LEVELS = (0.01, 0.025)


def check(r: pd.DataFrame, start="2010-01-01") -> str:
    first = int(np.searchsorted(r.index, pd.Timestamp(start)))
    book = r.to_numpy() @ WEIGHTS
    rows = []
    for name, model in (("dcc", DCC(vol="gjr")), ("ccc", CCC(vol="gjr"))):
        t = time.perf_counter()
        path, fits = walk_forward(r, model, first=first, refit_every=21)
        secs = time.perf_counter() - t
        var_oos = path.book_variance(WEIGHTS).to_numpy()
        var_all = np.concatenate([fits[0].filter(r.iloc[:first]).book_variance(WEIGHTS).to_numpy(), var_oos])
        for method in ("fhs", "normal"):
            out = rolling_var_es(book, var_all, levels=LEVELS, method=method)
            for lvl in LEVELS:
                k = level_key(lvl)
                bt = backtest(book[first:], var_oos, out[f"var_{k}"][first:], out[f"es_{k}"][first:], lvl)
                rows.append(f"| {name} | {method} | {lvl:.1%} | {bt['hits']} / {bt['n']} ({bt['hit_rate']:.2%}) | "
                            f"{bt['cc_pvalue']:.3f} | {bt['es_z2']:.3f} | {secs:.0f} s, {len(fits)} fits |")
    head = (f"{', '.join(r.columns)}, weights {', '.join(f'{w:g}' for w in WEIGHTS)}, "
            f"{len(r) - first} days from {r.index[first]:%Y-%m-%d}\n\n"
            "| model | VaR/ES | level | hits | cond. coverage p | ES Z2 | walk-forward |\n|---|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "embedded"
    data = unseen_book() if which == "unseen" else embedded_book()
    if data is None:
        raise SystemExit("arch is not installed: the unseen book needs it")
    print(check(data))
