"""A quarter of nightly predictions journaled and scored live: the S&P 500, October to December 2018.

    python benchmarks/journal_live.py              # about a minute on one core
    python benchmarks/journal_live.py --nights 20  # the first 20 nights only

The walk-forward record: ``forecast`` (expanding window, refit every 21 days) of ewma, garch and har on the
embedded S&P 500 with targets from 2012-01-03 to 2018-09-28. Then, night after night from 2018-09-28, ``predict``
on the file cut at that night (saved models loaded from the previous night, filtered forward, refitted every
21 nights as ``predict --load`` does), each night's rows appended to one journal (one night is run twice, to
show that it adds nothing). Finally ``journal_scoring.score`` against the whole file (to 2018-12-31): the live
QLIKE of each model beside its walk-forward QLIKE, the drift test and the 99% VaR zone. Q4 2018 is a volatility
spike (October and December), so this is the case the drift alarm exists for.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

from tinygrad_trade.vol import data as vdata  # noqa: E402
from tinygrad_trade.vol.runs.journal import Journal, journal_rows  # noqa: E402
from tinygrad_trade.vol.evaluation.journal_scoring import score  # noqa: E402
from tinygrad_trade.vol.pipeline import ForecastConfig, run_forecast  # noqa: E402
from tinygrad_trade.vol.predict import PredictConfig, run_predict  # noqa: E402

MODELS = ("ewma", "garch", "har")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=None, help="stop after this many nights")
    ap.add_argument("--report", default=None, help="also write the journal report into this folder")
    args = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = vdata.load_sp500()
    first_night = full.index.get_loc(full.index[full.index <= "2018-09-28"][-1])
    nights = list(range(first_night, len(full) - 1))[: args.nights]
    work = Path(tempfile.mkdtemp(prefix="journal-live-"))
    t0 = time.perf_counter()
    (work / "wf").mkdir()
    full.iloc[: first_night + 1].to_csv(work / "wf" / "spx.csv")
    wf = run_forecast(ForecastConfig(csv=str(work / "wf" / "spx.csv"), start="2012-01-03", models=MODELS, out=None,
                                     quiet=True)).metrics
    t_wf = time.perf_counter() - t0
    journal = work / "desk.journal"
    t1 = time.perf_counter()
    saves = [None]                                     # saves[k]: the models saved by night k - 1
    rerun = len(nights) // 2
    for k, n in enumerate(nights + [nights[rerun]]):
        night = work / f"night{k:03d}"
        night.mkdir()
        full.iloc[: n + 1].to_csv(night / "spx.csv")
        save = None if k == len(nights) else str(night / "models")
        res = run_predict(PredictConfig(csv=(str(night / "spx.csv"),), models=MODELS, horizons=(1, 5), out=None,
                                        quiet=True, save=save, load=saves[rerun if k == len(nights) else k]))
        saves.append(save)
        with Journal.open(journal, timeout=30) as j:
            added = j.append(journal_rows(res))
        if k == len(nights):
            print(f"rerun of night {full.index[n].date()}: {added.summary()}")
    t_nights = time.perf_counter() - t1
    with Journal.open(journal) as j:
        result = score(j, {"spx": full}, walkforward=wf)
        journal_frame = j.predictions()
        print(f"{j.count()} predictions stored for {len(nights)} nights "
              f"({full.index[nights[0]].date()} .. {full.index[nights[-1]].date()})")
        if args.report:
            from tinygrad_trade.vol.jobs.journal import write_journal_report
            print(write_journal_report(result, args.report, events=j.events())["html"])
    print(f"walk-forward {t_wf:.1f} s, nightly runs {t_nights:.1f} s ({t_nights / (len(nights) + 1):.2f} s a night)")
    raw = score(journal_frame, {"spx": full}, walkforward=wf, adjust_level=False)
    print("model   n  live QLIKE  last-60 QLIKE  walk-forward QLIKE  level shift  drift t  drift p  raw p  "
          "99% VaR hits  zone   5-day QLIKE (n)")
    for m in result.models:
        d, v, h5 = m.drift, m.var["1"], m.horizons.get(5)
        print(f"{m.model:6s} {m.n:3d}  {m.qlike:10.4f}  {d.live_qlike:13.4f}  {m.walkforward['qlike']:18.4f}  "
              f"{d.level_shift:11.4f}  {d.stat:7.2f}  {d.pvalue:7.4f}  {raw.model('spx', m.model).drift.pvalue:5.3f}"
              f"  {v.hits:4d}/{v.n:<4d}     {v.zone:6s} "
              f"{h5.qlike if h5 and h5.qlike is not None else float('nan'):.4f} ({h5.n if h5 else 0})")
    print(f"mean realised variance: walk-forward days {result.models[0].drift.walkforward_level:.4f}, "
          f"last 60 live days {result.models[0].drift.live_level:.4f} (%^2 per day)")
    for f in result.flags:
        print("FLAG", f)
    print(f"unscored: {result.unscored}")
    print(f"(work files in {work}; {os.path.getsize(journal)} bytes of journal)")


if __name__ == "__main__":
    main()
