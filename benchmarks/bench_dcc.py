"""DCC(1,1) for a book: our two-step fit against pymgarch 0.6, side by side, and a 50-asset book.

Books:

* unseen: arch's bundled S&P 500 and NASDAQ Composite (indices) and WTI crude (a commodity; no stock
  ships with arch or pymgarch), aligned on their common days (arch's S&P 500 is the same series as the
  embedded one; NASDAQ and WTI are new to the project);
* embedded: the project's S&P 500, AAPL and IBM;
* large: 50 simulated assets x 2,500 days (``simulate_dcc``, seeded), composite likelihood.

For each real book both fit Gaussian DCC(1,1) on GJR-GARCH(1,1,1) constant-mean marginals
(pymgarch: ``UnivariateSpec(vol="GARCH", p=1, o=1, q=1)``) on the same returns (``align_prices``),
with standard errors (both: the two-step sandwich). Times are whole fits, marginals included:
ours best of 3 after a warm-up, pymgarch one run (it takes close to a minute). pymgarch (and arch,
which it needs) are peers for this file only: without them their columns say so.

    PYTHONPATH=. python benchmarks/bench_dcc.py          # prints the Markdown section
    PYTHONPATH=. python benchmarks/bench_dcc.py --no-peer
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from common import best_of, machine, peer_version, table  # noqa: E402

from tinygrad_trade.vol.models.dcc import DCC, align_prices, simulate_dcc  # noqa: E402


def unseen_book():
    """arch's S&P 500, NASDAQ and WTI, or None without arch."""
    try:
        import arch.data.nasdaq
        import arch.data.sp500
        import arch.data.wti
    except ImportError:
        return None
    return align_prices({"SP500": arch.data.sp500.load(), "NASDAQ": arch.data.nasdaq.load(),
                         "WTI": arch.data.wti.load()["DCOILWTICO"]})


def unseen_stock_book():
    """An index, a stock and a commodity the project never saw: arch's NASDAQ and WTI, and Microsoft from the
    bokeh-sampledata package (Quandl WIKI prices); None without both packages."""
    try:
        import arch.data.nasdaq
        import arch.data.wti
        import bokeh_sampledata
    except ImportError:
        return None
    m = pd.read_csv(Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz")
    m = m[m.Ticker == "MSFT"]
    msft = pd.Series(m["Adj Close"].to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(m.Date)), name="MSFT")
    return align_prices({"NASDAQ": arch.data.nasdaq.load(), "MSFT": msft, "WTI": arch.data.wti.load()["DCOILWTICO"]})


def embedded_book():
    from tinygrad_trade.vol.assets import load_embedded_universe
    frames = load_embedded_universe()
    return align_prices({k: frames[k] for k in ("SP500", "AAPL", "IBM")})


def large_book(n=50, T=2500, seed=7):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 3))
    C = f @ f.T + np.diag(rng.uniform(0.5, 2.0, n))
    d = np.sqrt(np.diag(C))
    margs = [dict(mu=0.03, omega=0.02 + 0.02 * rng.random(), alpha=0.03, gamma=0.08, beta=0.9) for _ in range(n)]
    return simulate_dcc(rng, T, 0.02, 0.96, C / np.outer(d, d), margs, names=[f"S{i:02d}" for i in range(n)])["returns"]


def ours(r, repeat=3):
    def run():
        res = DCC(vol="gjr").fit(r)
        res.std_err
        return res
    res = run()
    secs = best_of(run, repeat=repeat)
    fit_only = best_of(lambda: DCC(vol="gjr").fit(r), repeat=repeat)
    return res, secs, fit_only


def peer(r):
    from pymgarch import DCC as PDCC
    from pymgarch import UnivariateSpec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        res = PDCC().fit(r, marginals=UnivariateSpec(vol="GARCH", p=1, o=1, q=1))
        secs = time.perf_counter() - t
    return res, secs


def compare(name, r, with_peer):
    res, secs, fit_only = ours(r)
    rows = [["ours", f"{res.alpha:.6f}", f"{res.beta:.6f}", f"{res.loglikelihood:.3f}",
             f"{res.std_err['alpha']:.5f}", f"{res.std_err['beta']:.5f}", f"{secs:.2f} s ({fit_only:.2f} s)"]]
    note = ""
    if with_peer:
        p, psecs = peer(r)
        a, b = p.psi[:2]
        rows.append([f"pymgarch {peer_version('pymgarch')}", f"{a:.6f}", f"{b:.6f}", f"{p.loglikelihood:.3f}",
                     f"{p.se[0]:.5f}", f"{p.se[1]:.5f}", f"{psecs:.1f} s"])
        rows.append(["difference / speed-up", f"{res.alpha - a:.1e}", f"{res.beta - b:.1e}",
                     f"{res.loglikelihood - p.loglikelihood:.4f}", f"{res.std_err['alpha'] - p.se[0]:.1e}",
                     f"{res.std_err['beta'] - p.se[1]:.1e}", f"{psecs / secs:.0f}x"])
    else:
        note = "\n\npymgarch not installed (or --no-peer): its rows are skipped."
    head = f"### {name}: {', '.join(r.columns)}; {len(r)} common days ({r.index[0]:%Y-%m-%d} to {r.index[-1]:%Y-%m-%d})"
    return head + "\n\n" + table(["", "alpha", "beta", "joint loglik", "se alpha", "se beta",
                                  "time with std errors (fit only)"], rows) + note


def large(r):
    rows = []
    for pairs in ("contiguous", "all"):
        t = time.perf_counter()
        res = DCC(vol="gjr", pairs=pairs).fit(r)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        res.std_err
        se_s = time.perf_counter() - t
        rows.append([f"composite, {pairs} pairs", f"{res.alpha:.5f}", f"{res.beta:.5f}",
                     f"{res.std_err['alpha']:.5f}", f"{res.std_err['beta']:.5f}", f"{fit_s:.1f} s", f"{se_s:.1f} s"])
    head = (f"### Large book: {r.shape[1]} simulated assets x {len(r)} days (true alpha 0.02, beta 0.96), "
            "`method=\"auto\"` chooses the composite likelihood above 20 assets")
    return head + "\n\n" + table(["", "alpha", "beta", "se alpha", "se beta", "fit (one run)", "std errors"], rows)


def run(with_peer=True) -> str:
    with_peer = with_peer and peer_version("pymgarch") is not None
    parts = [f"Machine: {machine()}",
             "Command: `PYTHONPATH=. python benchmarks/bench_dcc.py` (pymgarch and arch in the same environment)",
             "Gaussian DCC(1,1), GJR-GARCH(1,1,1) constant-mean marginals, two-step sandwich standard errors. "
             "Ours: best of 3 after a warm-up; pymgarch: one run."]
    book = unseen_book()
    if book is not None:
        parts.append(compare("Unseen (arch's data)", book, with_peer))
    else:
        parts.append("Unseen book skipped: arch is not installed.")
    parts.append(compare("Embedded", embedded_book(), with_peer))
    parts.append(large(large_book()))
    return "\n\n".join(parts)


if __name__ == "__main__":
    if "--unseen-stock" in sys.argv:   # only the book of an unseen index, stock and commodity
        print(compare("Unseen index, stock and commodity", unseen_stock_book(),
                      "--no-peer" not in sys.argv and peer_version("pymgarch") is not None))
    else:
        print(run(with_peer="--no-peer" not in sys.argv))
