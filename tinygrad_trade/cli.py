"""`tinygrad-trade` command line: demo, forecast, predict, journal, garch, dcc, graph.

Results go to stdout, progress to stderr. Bad input anywhere gives one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys

from .log import say

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (not the usage block) and exit status 2."""

    def error(self, message):
        say(f"{self.prog}: error: {message} (see --help)", logging.ERROR)
        self.exit(EXIT_BAD_INPUT)


# --- graph (issue: visualisation) -------------------------------------------------------------
def _graph_parser(sub):
    p = sub.add_parser("graph", help="draw the backprop graph of a neuron or an expression",
                       description="Draw the computation graph, after backward(), of micrograd's tanh neuron "
                                   "o = tanh(x1*w1 + x2*w2 + b) or of an expression (--expr). SVG and PNG need "
                                   "no Graphviz program; prints the path(s) written.")
    p.add_argument("--out", metavar="FILE", help="picture to write: .svg, .png or .dot "
                   "(default graph.svg, or none when only --walkthrough is given)")
    p.add_argument("--format", choices=("svg", "png", "dot"), help="picture format (default: from the --out suffix)")
    p.add_argument("--expr", metavar="EXPR", help='an expression over named inputs, e.g. "tanh(x*w+b)": '
                   "numbers, names, + - * / **, parentheses, exp log tanh sigmoid relu softplus sqrt abs")
    p.add_argument("--set", dest="bindings", action="append", default=[], metavar="NAME=NUMBER,...",
                   help="values of the expression's names, e.g. x=2,w=-3,b=6.88 (repeatable)")
    p.add_argument("--walkthrough", metavar="FILE.html", help="also write an HTML step-through of the backward pass")
    p.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR", help="layout direction (default LR)")
    p.add_argument("--max-nodes", type=int, default=None, metavar="N",
                   help="draw at most N nodes, cutting the rest with a marker (default 100, at most 2000; "
                        "a picture gets 60 s and 2 GB to render)")
    p.set_defaults(func=_cmd_graph)
    return p


def _cmd_graph(args):
    from .expr import ExprError, parse, parse_bindings
    from .viz import DEFAULT_MAX_NODES, RendererUnavailable, example_neuron, non_finite_note, render, walkthrough
    from .viz.limits import MAX_DRAW_NODES, RenderLimitError, bounded

    if args.bindings and args.expr is None:
        raise UsageError("--set gives values to the names of --expr; there is no --expr")
    if args.max_nodes is not None and not 1 <= args.max_nodes <= MAX_DRAW_NODES:
        raise UsageError(f"--max-nodes must be between 1 and {MAX_DRAW_NODES}, got {args.max_nodes} "
                         f"(larger pictures take Graphviz far too long to lay out)")
    fmt = (args.format or os.path.splitext(args.out or "")[1].lstrip(".") or "svg").lower()
    if fmt not in ("svg", "png", "dot", "gv") and shutil.which("dot") is None:
        raise UsageError(f"--out {args.out or 'graph.' + fmt}: {fmt} needs the Graphviz program dot, which is "
                         f"not installed; write .svg, .png or .dot instead")
    if args.expr is None:
        root = example_neuron()
    else:
        try:
            expr = parse(args.expr)
        except ExprError as e:
            raise UsageError(f"--expr: {e}") from None
        values = {}
        for text in args.bindings:
            try:
                pairs = parse_bindings(text)
            except ExprError as e:
                raise UsageError(f"--set: {e}") from None
            for name, x in pairs.items():
                if name in values:
                    raise UsageError(f"--set: {name} is given twice")
                values[name] = x
        unused = [n for n in values if n not in expr.names]
        if unused:
            raise UsageError(f"--set: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by "
                             f"--expr {args.expr!r} (a misspelt name?)")
        missing = [n for n in expr.names if n not in values]
        if missing:
            raise UsageError(f"--expr uses {', '.join(missing)} with no value: add --set "
                             + ",".join(f"{n}=..." for n in missing))
        try:
            root = expr.evaluate(values)
        except ExprError as e:
            raise UsageError(f"--expr: {e}") from None
    try:
        root.backward()
    except (OverflowError, FloatingPointError):
        raise UsageError("--expr: a gradient is too large for a float (overflow); "
                         "try values of smaller magnitude") from None
    note = non_finite_note(root)
    if note is not None:
        say(note, logging.WARNING)
    written = []
    if args.out is not None or args.format is not None or args.walkthrough is None:
        out = args.out or "graph.svg"
        try:
            written.append(bounded(render, root, out, args.format, rankdir=args.rankdir,
                                   max_nodes=args.max_nodes or DEFAULT_MAX_NODES, what=f"--out {out}"))
        except RenderLimitError as e:
            raise UsageError(str(e)) from None
    if args.walkthrough is not None:
        try:
            written.append(bounded(walkthrough, root, args.walkthrough, rankdir=args.rankdir,
                                   what=f"--walkthrough {args.walkthrough}"))
        except (RendererUnavailable, RenderLimitError) as e:
            raise UsageError(f"--walkthrough: {e}" if isinstance(e, RendererUnavailable) else str(e)) from None
    for path in written:
        print(path)
    return 0


# --- garch (issue: volatility models) --------------------------------------------------------
def _garch_parser(sub):
    p = sub.add_parser("garch", help="fit GARCH(1,1), GJR-GARCH or EGARCH by maximum likelihood",
                       description="Fit GARCH(1,1), GJR-GARCH(1,1,1) or EGARCH(1,1,1) with normal, t, skew-t or "
                                   "GED errors by maximum likelihood to daily %% log returns (arch's conventions "
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

    from .vol.data import loading as data
    from .vol.features import proxies as features
    from .vol.models.garch import fit_garch

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
    out["std_err"] = {n: float(res.std_err[n]) for n in names}
    out["robust_std_err"] = {n: float(res.robust_std_err[n]) for n in names}
    print(json.dumps(out, indent=2))
    return 0


def _dist_option(p):
    p.add_argument("--dist", choices=("normal", "t", "skewt", "ged"), default=None,
                   help="error law of garch, gjr and egarch: normal (default), t, skewt (Hansen) or ged")


def _risk_levels_option(p):
    p.add_argument("--risk-levels", default="0.01,0.025,0.05", metavar="LIST",
                   help="comma-separated VaR/ES levels, fractions in (0, 0.5) (default 0.01,0.025,0.05)")


def _risk_levels(args) -> tuple:
    return tuple(_float_text("--risk-levels", a) for a in _list_text(args.risk_levels))


def _max_file_option(p):
    p.add_argument("--max-file-mb", default=None, metavar="MB",
                   help="largest input file read, in MB after unpacking (default 512)")


def _reading_options(p):
    """How a price file is read where its layout leaves a choice (forecast and predict)."""
    p.add_argument("--missing", choices=("error", "skip"), default="error",
                   help="a row with a missing price (empty, '.', NA): stop with its row (error, default) or drop "
                        "it (skip: the dropped rows are counted and listed in the report's data checks)")
    p.add_argument("--price-column", default=None, metavar="NAME",
                   help="read the closes from column NAME (the file is then close-only); a file with a date and "
                        "one value column (FRED's DATE,DCOILWTICO) needs no option")
    p.add_argument("--decimal", choices=(".", ","), default=None,
                   help="decimal mark of the numbers (default: detected; a comma only with ';' or tab separators)")
    p.add_argument("--dayfirst", action=argparse.BooleanOptionalAction, default=None,
                   help="dates like 03.04.2020 are day-first (--dayfirst) or month-first (--no-dayfirst); "
                        "default: detected when the dates leave no doubt")


def _reading_values(args) -> dict:
    return {"missing": args.missing, "price_column": args.price_column, "decimal": args.decimal,
            "dayfirst": args.dayfirst}


def _max_file_mb(args) -> float:
    """``--max-file-mb`` as a number (the loaders' default when not given); passed to the loaders."""
    from .vol.data.loading import MAX_FILE_MB
    text = getattr(args, "max_file_mb", None)
    if text is None:
        return MAX_FILE_MB
    mb = _float_text("--max-file-mb", text)
    if not mb > 0:
        raise UsageError(f"--max-file-mb must be positive, got {text!r}")
    return mb


# --- forecast and demo (issue: walk-forward evaluation) -------------------------------------
def _one_line_errors(p):
    """Argument errors of this subcommand: one line on stderr, exit status 2 (no usage dump)."""
    def error(message):
        say(f"{p.prog}: error: {message}", logging.ERROR)
        raise SystemExit(EXIT_BAD_INPUT)
    p.error = error
    return p


def _int_text(name, text, lo=1):
    try:
        v = int(str(text).strip())
    except ValueError:
        raise UsageError(f"{name} must be an integer, got {text!r}") from None
    if v < lo:
        raise UsageError(f"{name} must be at least {lo}, got {v}")
    return v


def _float_text(name, text):
    try:
        v = float(str(text).strip())
    except ValueError:
        raise UsageError(f"{name} must be a number, got {text!r}") from None
    return v


def _workers(text) -> int:
    """``--workers``: a positive integer, or ``auto`` (the machine's cores)."""
    if str(text).strip().lower() == "auto":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    return _int_text("--workers", text)


def _list_text(text):
    return [t.strip() for t in str(text).split(",") if t.strip()]


def _executor_options(p, workers_default="1"):
    what = "the machine's cores" if workers_default == "auto" else workers_default
    p.add_argument("--workers", default=workers_default,
                   help=f"local processes for the refits and models (default {what}); results do not depend on it")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the tasks on Dask: 'local' (a cluster of --workers processes, started and closed "
                        "here) or tcp://host:port (an existing `dask scheduler`); needs the [dask] extra; "
                        "results do not depend on it")


def _common_options(p, out_default, workers_default="1"):
    p.add_argument("--out", metavar="DIR", default=out_default, help=f"output directory (default {out_default})")
    p.add_argument("--seed", default="0", help="random seed of the neural models (default 0)")
    _executor_options(p, workers_default)
    p.add_argument("--return-accounting", choices=("simple", "log"), default="simple",
                   help="backtest returns: simple (exact, default) or log (the reference figures' convention)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or notes on stderr")
    p.add_argument("--force", action="store_true", help="write into an --out folder that holds files this "
                   "tool did not write (only the report's own files are replaced; nothing else is removed)")


def _forecast_parser(sub):
    p = sub.add_parser("forecast", help="walk-forward volatility forecasts, metrics, backtest and report",
                       description="Walk-forward volatility forecasts: each model is refit every --refit-every "
                                   "forecasts on the data before the block, and forecasts each target day from "
                                   "data up to the previous close. Writes DIR/metrics.json, DIR/forecasts.csv, "
                                   "DIR/report.md and PNG plots.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--csv", metavar="FILE", nargs="+",
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
    from .vol.jobs.config import ForecastConfig

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
    from .vol.jobs.forecast import run_forecast

    book = _book(args)
    if book is not None and args.rv:
        raise UsageError("--book needs price files of the book's assets (--csv or --universe), not --rv")
    if book is not None and _int_text("--horizon", args.horizon) != 1:
        raise UsageError(f"--book forecasts the next day's book variance; drop --horizon {args.horizon}")
    res = run_forecast(_forecast_config(args), **({} if book is None else {"book": book}))
    print(_results_text(res.metrics))
    if res.book is not None:
        from .vol.jobs.book import book_text
        print(book_text(res.metrics["book"]))
        print(f"book: {res.paths.get('book', '(not written)')}")
    print(f"report: {res.paths['report']}")
    return 0


# --- the book (issue 22) ----------------------------------------------------------------------
def _book_option(p):
    p.add_argument("--book", metavar="A=W,...|FILE", default=None,
                   help="a book of the universe's assets with fixed weights, e.g. SP500=0.4,AAPL=0.3,IBM=0.3, "
                        "or a CSV file of asset, weight: its variance from DCC, CCC and the univariate models "
                        "(book.csv, a report section)")


def _book(args):
    from .vol.jobs.book import parse_book
    text = getattr(args, "book", None)
    return None if text is None else parse_book(text)


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

    from .vol.jobs.book import run_dcc
    res = run_dcc(tuple(args.csv or ()), vol=args.vol, dist=args.dist, max_file_mb=_max_file_mb(args))
    print(json.dumps(res.to_dict(std_err=True), indent=2) if args.json else res.summary())
    return 0
def _horizons_text(text):
    """``--horizon``: one integer (``5``), or several (``1,5,10,22``) as a tuple."""
    hs = tuple(_int_text("--horizon", h) for h in _list_text(text))
    if not hs:
        raise UsageError("--horizon needs at least one positive integer")
    return hs[0] if len(hs) == 1 else hs


def _results_text(metrics):
    """The results table(s) for stdout: one per asset of a universe run (per horizon for several)."""
    from .vol.report.writer import results_table

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
    from .vol.jobs.demo import run_demo

    res = run_demo(out=args.out, quick=args.quick, seed=_int_text("--seed", args.seed, lo=0),
                   workers=_workers(args.workers), quiet=args.quiet,
                   return_accounting=args.return_accounting, echo=print, scheduler=args.scheduler,
                   force=args.force)
    print(_results_text(res.metrics))
    print(f"report: {res.paths['report']}")
    return 0


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
    from .vol.jobs.predict import PredictConfig

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
    from .vol.jobs.predict import format_table, run_predict

    book = _book(args)
    res = run_predict(_predict_config(args), **({} if book is None else {"book": book}))
    if args.journal is not None:    # after the files are written: a refused journal loses no prediction
        from .vol.runs.journal import Journal, journal_rows
        with Journal.open(args.journal) as j:
            for r in res.rescales:       # the vendor's backward rescaling of the price column, as an event
                j.record_rescale(r.asset, r.factor, r.through)
            added = j.append(journal_rows(res))
        say(added.summary(), logging.INFO, echo=not args.quiet)
    print(format_table(res.table))
    print("dates: business days after the last close (weekends skipped; holidays are not known)")
    if res.book is not None:
        from .vol.jobs.book import format_book
        print(format_book(res.book))
    for key in ("predictions", "predictions_json", "saved", "book", "book_json"):
        if key in res.paths:
            print(f"{key.replace('_', ' ')}: {res.paths[key]}")
    return 0


def _journal_parser(sub):
    p = sub.add_parser("journal", help="score the forecast journal's predictions against what happened",
                       description="Score every matured prediction of a forecast journal (written by predict "
                                   "--journal) against the realised target in the price files: per asset and model, "
                                   "QLIKE and MSE over the live days, 99%% VaR exceptions (Kupiec, Christoffersen, "
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

    from .vol.jobs.journal import JournalConfig, run_journal

    run = run_journal(JournalConfig(db=args.db, csv=tuple(args.csv or ()), json=args.json, export=args.export,
                                    since=args.since, walkforward=tuple(args.walkforward or ()), report=args.report,
                                    timeout=_float_text("--timeout", args.timeout), force=args.force))
    for note in run.notes:
        say(f"note: {note}", logging.INFO)
    print(json.dumps(run.json, indent=2) if args.json else run.text)
    for key, path in run.paths.items():
        say(f"{key.replace('_', ' ')}: {path}", logging.INFO)
    return 0


# --- entry point ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinygrad-trade", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (_demo_parser, _forecast_parser, _predict_parser, _journal_parser, _garch_parser, _dcc_parser,
                _graph_parser):
        add(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        say(_unrecognized(args, argv, extra), logging.ERROR)
        return EXIT_BAD_INPUT
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except (UsageError, ValueError, ArithmeticError, OSError) as e:  # DataError is a ValueError
        say(f"tinygrad-trade {args.command}: error: {e}", logging.ERROR)
        return EXIT_BAD_INPUT
    except RuntimeError as e:
        from .vol.runs.tasks import WalkForwardError
        if not isinstance(e, WalkForwardError):
            raise
        # a model failed on a task (one line naming asset, model and block), wherever it ran
        say(f"tinygrad-trade {args.command}: error: {e}; check the data for long stretches of unchanging "
            f"prices", logging.ERROR)
        return 1
    except KeyboardInterrupt:
        say("interrupted", logging.WARNING)
        return 130


def _unrecognized(args, argv, extra) -> str:
    """One line for stray arguments; ``--models har, garch`` (a space after a comma) gets a hint."""
    where = f"tinygrad-trade {args.command}" if getattr(args, "command", None) else "tinygrad-trade"
    msg = f"{where}: error: unrecognized argument{'s' if len(extra) > 1 else ''} {' '.join(extra)}"
    at = argv.index(extra[0]) if extra[0] in argv else -1
    if at >= 2 and argv[at - 1].endswith(","):
        option, head = argv[at - 2], argv[at - 1]
        rest = []
        for word in argv[at:]:
            if word.startswith("-"):
                break
            rest.append(word)
        msg += (f"; a list takes no spaces after its commas: write {option} {head}{','.join(rest)} "
                f"or quote it: {option} \"{head} {' '.join(rest)}\"")
    return msg + " (see --help)"


if __name__ == "__main__":
    sys.exit(main())
