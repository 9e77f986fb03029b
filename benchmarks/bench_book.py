"""The book on the embedded universe: DCC against CCC and the univariate models of the book's own returns.

The book holds S&P 500 0.4, AAPL 0.3, IBM 0.3 (fixed weights) on the three assets' common days
(2000-03 .. 2013-03); forecasts from 2008-01-01, every model refitted every 21 days on all days before
(the protocol of ``tinygrad-trade forecast --book``, run here through its job,
:func:`tinygrad_trade.vol.jobs.book.run_book_forecast`). Prints the model card's table: QLIKE against the
book's r^2, Diebold-Mariano against dcc, the 99% VaR's hits and conditional-coverage p-value, the 97.5%
ES's Acerbi-Szekely Z2 (FHS on the book's standardised residuals), and the volatility-targeting
backtest's realised volatility and Sharpe ratio at 2 bp; the VaR/ES columns also from 2010 (``--since``).

    PYTHONPATH=. python benchmarks/bench_book.py [--start 2008-01-01] [--since 2010-01-01] [--workers 2]
    PYTHONPATH=. python benchmarks/bench_book.py --csv SP500.csv NASDAQ.csv WTI.csv \
        --book SP500=0.4,NASDAQ=0.4,WTI=0.2 --start 2009-01-01      # the unseen book: arch's data as CSV files

The same figures come from the command line:
``tinygrad-trade forecast --universe embedded --models ewma,garch,gjr,har_r2 --book SP500=0.4,AAPL=0.3,IBM=0.3``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinygrad_trade.vol.data.assets import read_embedded_universe, read_universe  # noqa: E402
from tinygrad_trade.vol.evaluation.book import book_scores  # noqa: E402
from tinygrad_trade.vol.jobs.book import parse_book, run_book_forecast  # noqa: E402
from tinygrad_trade.vol.jobs.config import ForecastConfig  # noqa: E402
from tinygrad_trade.vol.runs.cluster import open_executor  # noqa: E402

BOOK = {"SP500": 0.4, "AAPL": 0.3, "IBM": 0.3}
MODELS = ("ewma", "garch", "gjr", "har_r2")


def _p(x, fmt="{:.3f}"):
    return "n/a" if x is None else fmt.format(x)


def table(m: dict) -> str:
    rows = ["| model | QLIKE | DM vs dcc (p) | 99% VaR hits | cc p | 97.5% ES Z2 | vol-target: realised vol, Sharpe (2 bp) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name, s in m["models"].items():
        dm = m["dm_vs_dcc"].get(name, {}).get("qlike")
        r1, r25 = m["risk"][name]["1"], m["risk"][name]["2.5"]
        bt = m["backtest"][name]["2"]
        dmt = "-" if dm is None else f"{dm['stat']:.2f} ({dm['pvalue']:.3f})"
        rows.append(f"| {name} | {s['qlike']:.4f} | {dmt} | "
                    f"{r1['kupiec']['hits']} / {r1['n']} | {_p(r1['christoffersen']['pvalue_cc'])} | "
                    f"{_p(r25['acerbi_szekely']['z2'])} | {bt['ann_vol']:.2f}%, {bt['sharpe']:.2f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", default="2008-01-01")
    ap.add_argument("--since", default="2010-01-01", help="VaR/ES backtests also from this date")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--csv", nargs="+", default=None, help="price files of another book (default: embedded)")
    ap.add_argument("--book", default=None, help="its weights, A=0.4,B=0.6 (with --csv)")
    a = ap.parse_args()
    global BOOK
    if a.csv:
        frames = read_universe(a.csv)
        BOOK = parse_book(a.book)
    else:
        frames = read_embedded_universe()
    config = ForecastConfig(models=MODELS, start=a.start, refit_every=21, quiet=True)
    with open_executor(None, a.workers) as ex:
        t = time.perf_counter()
        book = run_book_forecast(frames, BOOK, config, ex)
        secs = time.perf_counter() - t
    m = book.metrics
    late = book_scores(book.returns, book.forecasts, book.frame, book.dates, since=a.since)
    print(f"book {', '.join(f'{k} {v:g}' for k, v in BOOK.items())}: {m['n_forecasts']} days "
          f"{m['first_forecast']}..{m['last_forecast']}, {m['n_refits']} refits, {m['vol']} marginals, "
          f"{secs:.0f} s\n")
    print(table(m))
    print(f"\nVaR/ES backtests from {a.since}:\n")
    print(table(late))


if __name__ == "__main__":
    main()
