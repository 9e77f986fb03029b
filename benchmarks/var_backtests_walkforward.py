"""One-day VaR and ES of the GARCH family with fat-tailed errors, walked forward from 2008, and the backtests.

For each asset and model (GJR-GARCH with normal, t, skew-t and GED errors, EGARCH with skew-t errors,
constant mean), the model is refitted every 21 days on all returns before the day (warm-started), and
each day's VaR and ES at 1%, 2.5% and 5% come from its one-day variance forecast and its fitted law
(``GARCH.predict_var_es``); "fhs" rows use the same variances with filtered historical simulation
instead (``fhs_var_es``: the standardised residuals of the first fit, all before 2008, then those of each
forecast day once it is past). Tests (``vol.evaluation.var_backtests``): hit rate, Kupiec, Christoffersen
conditional coverage, DQ, Acerbi-Szekely Z2 with its p-value from 1000 simulations under the model
(parametric rows), McNeil-Frey; the Basel traffic light on 99% VaR (share of 250-day windows in the green
zone) and FRTB's desk limits (share of windows that pass).

Data: the embedded S&P 500 and two embedded stocks (AAPL, IBM; adjusted closes, to 2013), and, when arch is
installed, arch's WTI crude closes (a commodity given as closes only) and its NASDAQ Composite (an index the
project never saw) and, when bokeh-sampledata is installed, Microsoft (a stock the project never saw).

    PYTHONPATH=. python benchmarks/var_backtests_walkforward.py [--quick]

``--quick``: the S&P 500 and GJR normal / skew-t only.
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from common import machine, table  # noqa: E402

from tinygrad_trade.vol.features.dataset import Dataset  # noqa: E402
from tinygrad_trade.vol.models.garch import GARCH  # noqa: E402
from tinygrad_trade.vol.evaluation.var_backtests import (LEVELS, backtest_level, fhs_var_es, frtb_counts,  # noqa: E402
                                              parametric_simulator, traffic_light)

START, REFIT = np.datetime64("2008-01-01"), 21
MODELS = [("gjr", "normal"), ("gjr", "t"), ("gjr", "skewt"), ("gjr", "ged"), ("egarch", "skewt")]


def _dataset(dates, r):
    r = np.concatenate(([np.nan], r))
    return Dataset(dates=np.asarray(dates, dtype="datetime64[D]"), returns=r, daily=r ** 2, target=r ** 2,
                   proxies={"r2": r ** 2})


def _from_prices(dates, price):
    p = pd.Series(np.asarray(price, dtype=float), index=pd.DatetimeIndex(dates)).dropna()
    p = p[p > 0]
    return _dataset(p.index.values, 100.0 * np.diff(np.log(p.to_numpy())))


def assets(quick: bool):
    from tinygrad_trade.vol.data import load_sp500
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sp = load_sp500()
    yield "S&P 500", _from_prices(sp.index.values, sp["close"].to_numpy())
    if quick:
        return
    stocks = pd.read_csv(Path(__file__).resolve().parents[1] / "tinygrad_trade/datasets/stocks_2000_2013.csv.gz")
    for tic in ("AAPL", "IBM"):
        s = stocks[stocks.Ticker == tic]
        yield tic, _from_prices(pd.to_datetime(s.Date).values, s["Adj Close"].to_numpy())
    try:
        from arch.data import nasdaq, wti
    except ImportError:
        return
    w = wti.load()["DCOILWTICO"]
    yield "WTI (close only)", _from_prices(w.index.values, w.to_numpy())
    q = nasdaq.load()["Adj Close"]
    yield "NASDAQ (unseen index)", _from_prices(q.index.values, q.to_numpy())
    try:   # the bokeh-sampledata package's Quandl WIKI prices: MSFT, which the project does not ship
        import bokeh_sampledata
        path = Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz"
    except ImportError:
        return
    m = pd.read_csv(path)
    m = m[m.Ticker == "MSFT"]
    yield "MSFT (unseen stock)", _from_prices(pd.to_datetime(m.Date).values, m["Adj Close"].to_numpy())


def walk(ds, vol, dist):
    """Per forecast day: sigma, mu, shape row; and the parametric VaR/ES."""
    n = len(ds)
    first = int(np.searchsorted(ds.dates, START))
    m = GARCH(vol=vol, dist=dist)
    sig, mu, shape, figs, hist = [], [], [], {}, None
    for t in range(first, n, REFIT):
        stop = min(t + REFIT, n)
        m.fit(ds, end=t)
        if hist is None:      # FHS starts from the first fit's in-sample residuals (all before the first day)
            hist = m.result.std_resid
        sig.append(np.sqrt(m.predict(ds, t, stop)))
        mu.append(np.full(stop - t, m.result.mu))
        shape.append(np.tile(m.result.shape, (stop - t, 1)))
        for k, v in m.predict_var_es(ds, t, stop, LEVELS).items():
            figs.setdefault(k, []).append(v)
    figs = {k: np.concatenate(v) for k, v in figs.items()}
    return first, np.concatenate(sig), np.concatenate(mu), np.vstack(shape), figs, hist


def evaluate(r, sig, mu, shape, figs, dist, rng, simulate=True):
    row = {}
    for a in LEVELS:
        k = f"{100 * a:g}"
        sim = parametric_simulator(sig, dist, shape, mu) if simulate and a == 0.025 else None
        b = backtest_level(r, figs[f"var_{k}"], figs[f"es_{k}"], a, variance=sig ** 2, simulate=sim, rng=rng,
                           n_sims=1000)
        row[k] = b
    ok = np.isfinite(figs["var_1"]) & np.isfinite(figs["var_2.5"])
    tl = traffic_light(r[ok], figs["var_1"][ok])
    fr = frtb_counts(r[ok], figs["var_2.5"][ok], figs["var_1"][ok])
    return row, tl, fr


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    only = next((a.split("=", 1)[1] for a in argv if a.startswith("--only=")), None)   # one asset by name prefix
    models = [("gjr", "normal"), ("gjr", "skewt")] if quick or only else MODELS
    print(f"Machine: {machine()}\n")
    rows, t0 = [], time.perf_counter()
    for name, ds in assets(quick and not only):
        if only and not name.startswith(only):
            continue
        for vol, dist in models:
            first, sig, mu, shape, figs, hist = walk(ds, vol, dist)
            r = ds.returns[first:]
            fhs = fhs_var_es(r, sig ** 2, LEVELS, mu=mu, history=hist)
            for method, f in (("param", figs), ("fhs", fhs)):
                res, tl, fr = evaluate(r, sig, mu, shape, f, dist, np.random.default_rng(0), method == "param")
                b1, b25, b5 = res["1"], res["2.5"], res["5"]
                az = b25.acerbi_szekely
                rows.append([name, f"{vol}-{dist}", method, str(b1.kupiec.n),
                             f"{100 * b1.kupiec.rate:.2f}", f"{b1.christoffersen.pvalue_cc:.3f}", f"{b1.dq.pvalue:.3f}",
                             f"{100 * b25.kupiec.rate:.2f}", f"{b25.christoffersen.pvalue_cc:.3f}",
                             f"{az.z2:+.3f}" + ("" if np.isnan(az.pvalue_z2) else f" (p {az.pvalue_z2:.3f})"),
                             f"{b25.mcneil_frey.pvalue:.3f}", f"{100 * b5.kupiec.rate:.2f}",
                             f"{100 * tl.share_green:.0f}%", f"{100 * fr.share_pass:.0f}%"])
            print(f"  {name} {vol}-{dist}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(table(["asset", "model", "VaR/ES", "days", "hits 1% (%)", "CC p 1%", "DQ p 1%", "hits 2.5% (%)",
                 "CC p 2.5%", "ES Z2 2.5%", "McNeil-Frey p 2.5%", "hits 5% (%)", "Basel green", "FRTB pass"],
                rows))
    print(f"\n_Run time: {time.perf_counter() - t0:.0f} s._")
    return 0


if __name__ == "__main__":
    sys.exit(main())
