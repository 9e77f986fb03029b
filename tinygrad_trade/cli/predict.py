"""`tinygrad-trade predict` (next-day forecasts, saved models, the book) and `tinygrad-trade journal`.
"""
from __future__ import annotations

import logging

from ..log import say
from .options import (UsageError, _book, _book_option, _dist_option, _executor_options, _float_text, _int_text, _list_text, _one_line_errors, _reading_options, _reading_values, _risk_levels, _risk_levels_option)


# --- predict (issue 13: next-day forecasts, saved models, risk figures) ----------------------
def _predict_parser(sub):
    p = sub.add_parser("predict", help="next-day variance, position, VaR and ES after the last close",
                       description="Fit every model on all the data (forecast's estimators and defaults) and "
                                   "forecast the mean daily variance of the next H trading days after the last "
                                   "date (business days: weekends skipped, holidays not known), with the "
                                   "volatility-targeting position and the 1-day VaR and ES at 5% and 1%. Prints "
                                   "one table; writes DIR/predictions.csv (and .json with --json); with --journal, "
                                   "appends the predictions to a forecast journal (SQLite).")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--csv", metavar="FILE", nargs="+", action="extend", default=None,
                     help="daily price CSV file(s) (default: the embedded S&P 500, 1999-2018); several files, or "
                          "one with a Ticker/Symbol/Asset column, give one row block per asset")
    src.add_argument("--universe", choices=("embedded",), default=None,
                     help="embedded: the S&P 500 (1999-2018) with AAPL, GOOG and IBM (2000-2013)")
    _reading_options(p)
    p.add_argument("--models", default=None, help="comma-separated models (default: forecast's defaults, or "
                                                   "every model of the --load folder)")
    p.add_argument("--horizon", default=None, metavar="LIST",
                   help="comma-separated horizons in trading days (default 1,5,22, or those of --load)")
    p.add_argument("--save", metavar="DIR", default=None, help="write the fitted models to DIR (.npz + manifest)")
    p.add_argument("--load", metavar="DIR", default=None,
                   help="reuse the models saved in DIR on the (longer) data: new days are filtered through; "
                        "a model is refitted only after --refit-every new days")
    p.add_argument("--update", action="store_true",
                   help="with --load and --save: update the engine-trained models (pooled, mlp, gru) from the new "
                        "days (gradient/Newton steps from the saved state) and save them with a new version "
                        "number into --save; the classical models filter the new days and refit on --refit-every")
    p.add_argument("--out", metavar="DIR", default="tinygrad-trade-predict",
                   help="output directory (default tinygrad-trade-predict)")
    p.add_argument("--json", action="store_true", help="also write DIR/predictions.json")
    p.add_argument("--journal", metavar="PATH", default=None,
                   help="append this run's predictions to the forecast journal PATH (SQLite; created if missing; "
                        "a rerun of the same night adds nothing)")
    p.add_argument("--force", action="store_true", help="write into --out / --save folders that hold files this "
                   "tool did not write (only its own files are replaced)")
    p.add_argument("--risk-method", choices=("auto", "parametric", "fhs", "normal"), default="auto",
                   help="VaR/ES: each model's default method (auto: parametric for the GARCH family, else filtered "
                        "historical simulation), parametric (the fitted law), fhs or normal quantiles")
    _dist_option(p)
    _risk_levels_option(p)
    p.add_argument("--refit-every", default="21", metavar="K",
                   help="with --load: refit a model when at least K new days came in (default 21)")
    p.add_argument("--target-vol", default="10", metavar="PCT", help="position: annual target volatility, %% (default 10)")
    p.add_argument("--max-leverage", default="2", metavar="X", help="position: cap (default 2)")
    p.add_argument("--epochs", default=None, metavar="N", help="training epochs of the neural models")
    p.add_argument("--seed", default="0", help="random seed of the neural models (default 0)")
    _executor_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress or notes on stderr")
    _book_option(p)
    p.set_defaults(func=_cmd_predict)
    return _one_line_errors(p)


def _predict_config(args):
    from ..vol.jobs.predict import PredictConfig

    models = None
    if args.models is not None:
        models = tuple(_list_text(args.models))
        if not models:
            raise UsageError("--models needs at least one model name")
    horizons = None
    if args.horizon is not None:
        horizons = tuple(_int_text("--horizon", h) for h in _list_text(args.horizon))
        if not horizons:
            raise UsageError("--horizon needs at least one positive integer")
    return PredictConfig(
        csv=tuple(args.csv or ()), universe=args.universe, models=models, horizons=horizons, out=args.out,
        json=args.json,
        save=args.save, load=args.load, update=args.update, risk_method=args.risk_method, dist=args.dist,
        risk_levels=_risk_levels(args),
        refit_every=_int_text("--refit-every", args.refit_every),
        target_vol=_float_text("--target-vol", args.target_vol),
        max_leverage=_float_text("--max-leverage", args.max_leverage),
        epochs=None if args.epochs is None else _int_text("--epochs", args.epochs),
        seed=_int_text("--seed", args.seed, lo=0), quiet=args.quiet, force=args.force,
        workers=_int_text("--workers", args.workers), scheduler=args.scheduler, **_reading_values(args))


def _cmd_predict(args):
    from ..vol.jobs.predict import format_table, run_predict

    book = _book(args)
    res = run_predict(_predict_config(args), **({} if book is None else {"book": book}))
    if args.journal is not None:    # after the files are written: a refused journal loses no prediction
        from ..vol.runs.journal import Journal, journal_rows
        with Journal.open(args.journal) as j:
            for r in res.rescales:       # the vendor's backward rescaling of the price column, as an event
                j.record_rescale(r.asset, r.factor, r.through)
            added = j.append(journal_rows(res))
        say(added.summary(), logging.INFO, echo=not args.quiet)
    print(format_table(res.table))
    print("dates: business days after the last close (weekends skipped; holidays are not known)")
    if res.book is not None:
        from ..vol.jobs.book import format_book
        print(format_book(res.book))
    for key in ("predictions", "predictions_json", "saved", "book", "book_json"):
        if key in res.paths:
            print(f"{key.replace('_', ' ')}: {res.paths[key]}")
    return 0


def _journal_parser(sub):
    p = sub.add_parser("journal", help="score the forecast journal's predictions against what happened",
                       description="Score every matured prediction of a forecast journal (written by predict "
                                   "--journal) against the realised target in the price files: per asset and model, "
                                   "QLIKE and MSE over the live days, 99% VaR exceptions (Kupiec, Christoffersen, "
                                   "Basel zone), the walk-forward figures beside them, and drift flags.")
    p.add_argument("--db", metavar="PATH", required=True, help="the journal file")
    p.add_argument("--csv", metavar="FILE", nargs="+", action="extend", default=None,
                   help="price file(s) of the journal's assets (default: the embedded S&P 500)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--export", metavar="FILE", default=None, help="write every stored prediction as CSV (a new file)")
    p.add_argument("--since", metavar="DATE", default=None, help="only predictions made on or after DATE")
    p.add_argument("--walkforward", metavar="FILE", nargs="+", action="extend", default=None,
                   help="metrics.json file(s) of `forecast` runs: the walk-forward record beside the live one")
    p.add_argument("--report", metavar="DIR", default=None, help="write journal.md and journal.html into DIR")
    p.add_argument("--timeout", default="30", metavar="S", help="seconds to wait for a locked journal (default 30)")
    p.add_argument("--force", action="store_true", help="write --report into a folder holding other files")
    p.set_defaults(func=_cmd_journal)
    return _one_line_errors(p)


def _cmd_journal(args):
    import json

    from ..vol.jobs.journal import JournalConfig, run_journal

    run = run_journal(JournalConfig(db=args.db, csv=tuple(args.csv or ()), json=args.json, export=args.export,
                                    since=args.since, walkforward=tuple(args.walkforward or ()), report=args.report,
                                    timeout=_float_text("--timeout", args.timeout), force=args.force))
    for note in run.notes:
        say(f"note: {note}", logging.INFO)
    print(json.dumps(run.json, indent=2) if args.json else run.text)
    for key, path in run.paths.items():
        say(f"{key.replace('_', ' ')}: {path}", logging.INFO)
    return 0
