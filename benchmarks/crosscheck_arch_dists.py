"""Cross-check of the GARCH family with fat-tailed errors (``fit_garch(..., dist=)``) against arch 8.

arch is a peer here, never a dependency: without it this prints that it is skipped. For each data set and
each of GARCH(1,1), GJR-GARCH(1,1,1), EGARCH(1,1,1) x normal, t, skew-t, GED errors (constant mean), both
fit by maximum likelihood on the same % log returns; every parameter must agree within 1e-3 relative
(or 1e-4 absolute, near zero) and the log-likelihoods within 0.05.

Data: the embedded S&P 500 (1999-2018), the embedded stocks (AAPL, IBM, GOOG; adjusted closes,
2000-2013), and two of arch's own data sets: the NASDAQ composite (adjusted close, 1999-2018) and WTI
crude oil (closes only, 1986-2019).

    /work/peers/.venv/bin/python benchmarks/crosscheck_arch_dists.py [--quick]

``--quick``: the S&P 500 only.
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from common import machine, peer_version, table  # noqa: E402

from tinygrad_trade.vol.models.garch import fit_garch  # noqa: E402

VOLS = {"garch": dict(vol="GARCH", p=1, o=0, q=1), "gjr": dict(vol="GARCH", p=1, o=1, q=1),
        "egarch": dict(vol="EGARCH", p=1, o=1, q=1)}
DISTS = ("normal", "t", "skewt", "ged")
ARCH_NAME = {"alpha": "alpha[1]", "gamma": "gamma[1]", "beta": "beta[1]"}
REL, ABS, LL = 1e-3, 1e-4, 0.05


def _pct_log_returns(price: pd.Series) -> np.ndarray:
    p = price.dropna()
    p = p[p > 0]
    return (100.0 * np.diff(np.log(p.to_numpy(dtype=float))))


def datasets(quick: bool):
    from tinygrad_trade.vol.data import load_sp500
    from tinygrad_trade.vol.features import log_returns

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield "S&P 500 (embedded)", log_returns(load_sp500()).to_numpy()[1:]
    if quick:
        return
    stocks = pd.read_csv(Path(__file__).resolve().parents[1] / "tinygrad_trade/datasets/stocks_2000_2013.csv.gz")
    for tic in ("AAPL", "IBM", "GOOG"):
        yield f"{tic} (embedded)", _pct_log_returns(stocks.loc[stocks.Ticker == tic, "Adj Close"])
    from arch.data import nasdaq, wti
    yield "NASDAQ (arch.data)", _pct_log_returns(nasdaq.load()["Adj Close"])
    yield "WTI crude (arch.data)", _pct_log_returns(wti.load()["DCOILWTICO"])


def arch_fit(r, vol, dist):
    from arch import arch_model
    res = arch_model(r, mean="Constant", dist=dist, **VOLS[vol]).fit(disp="off")
    return res.params, res.loglikelihood


def compare(r, vol, dist):
    t0 = time.perf_counter()
    ours = fit_garch(r, vol=vol, dist=dist)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ap, all_ = arch_fit(r, vol, dist)
    t_arch = time.perf_counter() - t0
    worst, worst_name, ok = 0.0, "", True
    for n in ours.names:
        a, o = float(ap[ARCH_NAME.get(n, n)]), float(ours.params[n])
        diff = abs(o - a)
        good = diff <= REL * abs(a) or diff <= ABS
        ok &= good
        rel = diff / max(abs(a), ABS / REL)
        if rel >= worst:
            worst, worst_name = rel, n
    dll = ours.loglik - all_
    ok &= abs(dll) <= LL
    return {"ours": ours, "arch_params": ap, "arch_ll": all_, "dll": dll, "worst": worst, "worst_name": worst_name,
            "ok": ok, "t_ours": t_ours, "t_arch": t_arch}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    version = peer_version("arch")
    if version is None:
        print("arch is not installed: cross-check skipped")
        return 0
    print(f"Machine: {machine()}")
    print(f"Cross-check against arch {version}: every parameter within {REL:g} relative "
          f"(or {ABS:g} absolute), log-likelihood within {LL:g}\n")
    rows, shapes, n_bad, t_total = [], [], 0, time.perf_counter()
    for name, r in datasets("--quick" in argv):
        for vol in VOLS:
            for dist in DISTS:
                c = compare(r, vol, dist)
                n_bad += not c["ok"]
                res = c["ours"]
                shape = ", ".join(f"{n} {res.params[n]:.4f}" for n in res.dist.param_names)
                rows.append([name if vol == "garch" and dist == "normal" else "", vol, dist, str(res.nobs),
                             f"{res.loglik:.3f}", f"{c['dll']:+.2e}", f"{c['worst']:.1e} ({c['worst_name']})",
                             shape or "-", f"{1e3 * c['t_ours']:.0f} / {1e3 * c['t_arch']:.0f}",
                             "yes" if c["ok"] else "NO"])
                if not c["ok"]:
                    shapes.append((name, vol, dist, res.params.to_dict(), c["arch_params"].to_dict(), c["arch_ll"]))
    print(table(["data", "vol", "dist", "n", "loglik (ours)", "loglik - arch", "largest rel. diff (param)",
                 "shape (ours)", "fit ms ours / arch", "agrees"], rows))
    for s in shapes:
        print("\nDISAGREES:", s)
    print(f"\n{len(rows) - n_bad} of {len(rows)} fits agree. _Run time: {time.perf_counter() - t_total:.0f} s._")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
