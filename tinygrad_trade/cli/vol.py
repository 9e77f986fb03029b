"""The volatility commands: `garch`, `forecast`, `demo` and `dcc`.
"""
from __future__ import annotations

import logging

from ..log import say
from .options import (UsageError, _book, _book_option, _common_options, _dist_option, _float_text, _horizons_text, _int_text, _list_text, _max_file_mb, _max_file_option, _one_line_errors, _reading_options, _reading_values, _risk_levels, _risk_levels_option, _workers)


# --- garch (issue: volatility models) --------------------------------------------------------
def _garch_parser(sub):
    p = sub.add_parser("garch", help="fit GARCH(1,1), GJR-GARCH or EGARCH by maximum likelihood",
                       description="Fit GARCH(1,1), GJR-GARCH(1,1,1) or EGARCH(1,1,1) with normal, t, skew-t or "
                                   "GED errors by maximum likelihood to daily % log returns (arch's conventions "
                                   "and parameter names) and print the estimates with classic and robust standard "
                                   "errors; a parameter at its bound is marked *.")
    p.add_argument("--csv", metavar="FILE", help="daily price CSV (default: the embedded S&P 500, 1999-2018)")
    p.add_argument("--mean", choices=("constant", "zero"), default="constant", help="mean model (default constant)")
    p.add_argument("--vol", choices=("garch", "gjr", "egarch"), default="garch", help="variance model (default garch)")
    _dist_option(p)
    p.add_argument("--json", action="store_true", help="print the estimates as JSON instead of a table")
    _max_file_option(p)
    p.set_defaults(func=_cmd_garch)
    return _one_line_errors(p)


def _cmd_garch(args):
    import json
    import warnings

    from ..vol.data import loading as data
    from ..vol.features import proxies as features
    from ..vol.models.garch import fit_garch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the stale-open note: GARCH uses closes only
        loaded = data.read_prices(args.csv, _max_file_mb(args)) if args.csv else data.read_sp500()
    df = loaded.frame
    for finding in loaded.facts.data_checks:
        say(f"warning: {finding}", logging.WARNING)
    returns = features.log_returns(df).to_numpy()[1:]
    try:
        res = fit_garch(returns, vol=args.vol, mean=args.mean, dist=args.dist or "normal")
    except ValueError as e:   # too few returns, ...: name the file
        raise UsageError(f"{args.csv or data.SP500_FILE} ({len(df)} rows): {e}") from None
    if not res.converged:
        why = getattr(res.optimization_result, "message", "")
        raise UsageError(f"{args.csv or data.SP500_FILE} ({len(df)} rows): the {args.vol} fit with {res.dist.name} "
                         f"errors did not converge ({why}); use more data or --dist normal")
    if not args.json:
        print(res.summary())
        return 0
    names = list(res.params.index)
    out = {n: float(res.params[n]) for n in names}
    out["dist"] = res.dist.name
    out["dist_params"] = {n: float(res.params[n]) for n in res.dist.param_names}
    out["at_bound"] = [n for n in names if bool(res.at_bound[n])]
    out["loglik"] = res.loglik
    for key in ("std_err", "robust_std_err", "classic_std_err"):       # std_err: the robust one, arch's default
        out[key] = {n: float(getattr(res, key)[n]) for n in names}
    print(json.dumps(out, indent=2))
    return 0


def _forecast_parser(sub):
    p = sub.add_parser("forecast", help="walk-forward volatility forecasts, metrics, backtest and report",
                       description="Walk-forward volatility forecasts: each model is refit every --refit-every "
                                   "forecasts on the data before the block, and forecasts each target day from "
                                   "data up to the previous close. Writes DIR/metrics.json, DIR/forecasts.csv, "
                                   "DIR/report.md and PNG plots.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--csv", metavar="FILE", nargs="+", action="extend",
                     help="daily price CSV(s) (default: the embedded S&P 500, 1999-2018); several files, or one "
                          "file with a Ticker/Symbol/Asset column, make a universe (an asset per file stem or "
                          "ticker); Date,Close[,Adj Close] files work with ewma, garch, gjr, har_r2")
    src.add_argument("--rv", metavar="FILE", help="daily realized-variance CSV (target rv)")
    src.add_argument("--universe", choices=("embedded",),
                     help="embedded: the S&P 500 (1999-2018) with AAPL, GOOG and IBM (2000-2013)")
    p.add_argument("--rv-column", default="RV", help="realized-variance column of --rv (default RV)")
    _max_file_option(p)
    _reading_options(p)
    p.add_argument("--start", default="2008-01-01", help="first target day to forecast (default 2008-01-01)")
    p.add_argument("--window", default=None, metavar="N", help="rolling window of N days (default: expanding)")
    p.add_argument("--refit-every", default="21", metavar="K", help="refit every K forecasts (default 21)")
    p.add_argument("--horizon", default="1", metavar="H",
                   help="forecast the mean variance of the next H days (default 1); several, comma-separated "
                        "(1,5,10,22), in one run: one block per horizon in the outputs")
    p.add_argument("--target", default=None,
                   help="daily variance proxy to forecast: r2 (default), parkinson, gk, rs, yz; rv for --rv files")
    p.add_argument("--models", default=None,
                   help="comma-separated models (default ewma,garch,gjr,har,mlp,gru; "
                        "also har_r2, egarch and the GARCH family with a law: gjr_skewt, garch_t, egarch_ged ...); "
                        "a realized-variance file has no returns: har and the nets")
    p.add_argument("--epochs", default=None, metavar="N", help="training epochs per fit of the neural models")
    p.add_argument("--target-vol", default="10", metavar="PCT", help="backtest: annual target volatility, %% (default 10)")
    p.add_argument("--max-leverage", default="2", metavar="X", help="backtest: cap on the position (default 2)")
    p.add_argument("--cost-bps", default="0,2,10", metavar="LIST",
                   help="backtest: comma-separated costs per unit of turnover, in bp (default 0,2,10)")
    _book_option(p)
    _dist_option(p)
    _risk_levels_option(p)
    _common_options(p, "tinygrad-trade-report")
    p.set_defaults(func=_cmd_forecast)
    return _one_line_errors(p)


def _forecast_config(args):
    from ..vol.jobs.config import ForecastConfig

    models = None   # the defaults the registry offers
    if args.models is not None:
        models = tuple(_list_text(args.models))
        if not models:
            raise UsageError("--models needs at least one model name")
    costs = [_float_text("--cost-bps", c) for c in _list_text(args.cost_bps)]
    return ForecastConfig(
        csv=None if not args.csv else args.csv[0] if len(args.csv) == 1 else tuple(args.csv),
        universe=args.universe, rv=args.rv, rv_column=args.rv_column, out=args.out, start=args.start,
        window=None if args.window is None else _int_text("--window", args.window),
        refit_every=_int_text("--refit-every", args.refit_every),
        horizon=_horizons_text(args.horizon),
        target=args.target, models=models,
        target_vol=_float_text("--target-vol", args.target_vol),
        max_leverage=_float_text("--max-leverage", args.max_leverage),
        costs_bps=tuple(costs), return_accounting=args.return_accounting,
        seed=_int_text("--seed", args.seed, lo=0), workers=_int_text("--workers", args.workers),
        scheduler=args.scheduler,
        epochs=None if args.epochs is None else _int_text("--epochs", args.epochs),
        quiet=args.quiet, force=args.force, max_file_mb=_max_file_mb(args), **_reading_values(args),
        dist=args.dist, risk_levels=_risk_levels(args),
    )


def _cmd_forecast(args):
    from ..vol.jobs.forecast import run_forecast

    book = _book(args)
    if book is not None and args.rv:
        raise UsageError("--book needs price files of the book's assets (--csv or --universe), not --rv")
    if book is not None and _int_text("--horizon", args.horizon) != 1:
        raise UsageError(f"--book forecasts the next day's book variance; drop --horizon {args.horizon}")
    res = run_forecast(_forecast_config(args), **({} if book is None else {"book": book}))
    print(_results_text(res.metrics))
    if res.book is not None:
        from ..vol.jobs.book import book_text
        print(book_text(res.metrics["book"]))
        print(f"book: {res.paths.get('book', '(not written)')}")
    print(f"report: {res.paths['report']}")
    return 0


def _dcc_parser(sub):
    p = sub.add_parser("dcc", help="fit a DCC(1,1) correlation model to several assets",
                       description="Fit Engle's DCC(1,1) in two steps (GARCH/GJR marginals, then the correlation "
                                   "recursion with correlation targeting) on the assets' common days, and print "
                                   "the estimates with two-step sandwich standard errors (or JSON).")
    p.add_argument("--csv", metavar="FILE", nargs="+", action="extend", default=None,
                   help="price CSV files, one per asset (or one long file with a ticker column); default: the "
                        "embedded universe")
    p.add_argument("--vol", choices=("garch", "gjr"), default="garch", help="the marginals (default garch)")
    p.add_argument("--dist", choices=("normal", "t"), default="normal", help="joint density (default normal)")
    p.add_argument("--json", action="store_true", help="print alpha, beta, loglik and the marginals as JSON")
    _max_file_option(p)
    p.set_defaults(func=_cmd_dcc)
    return _one_line_errors(p)


def _cmd_dcc(args):
    import json

    from ..vol.jobs.book import run_dcc
    res = run_dcc(tuple(args.csv or ()), vol=args.vol, dist=args.dist, max_file_mb=_max_file_mb(args))
    print(json.dumps(res.to_dict(std_err=True), indent=2) if args.json else res.summary())
    return 0


def _results_text(metrics):
    """The results table(s) for stdout: one per asset of a universe run (per horizon for several)."""
    from ..vol.report.writer import results_table

    if "horizons" in metrics:
        return "\n\n".join(f"horizon {h}:\n" + _results_text(m) for h, m in metrics["horizons"].items())
    if "assets" not in metrics:
        return results_table(metrics)
    return "\n\n".join(results_table(m) for m in metrics["assets"].values())


def _demo_parser(sub):
    p = sub.add_parser("demo", help="the main job: GARCH, walk-forward forecasts, backtest and report on the "
                                    "embedded S&P 500 and three stocks",
                       description="On the embedded universe (S&P 500 1999-2018; AAPL, GOOG, IBM 2000-2013): a "
                                   "full-sample GARCH(1,1) fit on the index, the walk-forward forecasts of every model "
                                   "from 2008 (the neural nets on the index only) with per-asset metrics, "
                                   "Diebold-Mariano tests, a comparison across assets and the volatility-targeting "
                                   "backtest, the backprop graph of a small net, and a report.")
    p.add_argument("--quick", action="store_true",
                   help="a small run for tests: forecasts from mid-2012, refit every 126, fewer epochs")
    _common_options(p, "tinygrad-trade-report", workers_default="auto")   # results do not depend on it
    p.set_defaults(func=_cmd_demo)
    return _one_line_errors(p)


def _cmd_demo(args):
    from ..vol.jobs.demo import run_demo

    res = run_demo(out=args.out, quick=args.quick, seed=_int_text("--seed", args.seed, lo=0),
                   workers=_workers(args.workers), quiet=args.quiet,
                   return_accounting=args.return_accounting, echo=print, scheduler=args.scheduler,
                   force=args.force)
    print(_results_text(res.metrics))
    print(f"report: {res.paths['report']}")
    return 0
