"""`tinygrad-trade` command line: demo, forecast, garch, graph.

Results go to stdout, progress to stderr. Bad input anywhere gives one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad command-line input: reported as one line, exit status 2."""


# --- graph (issue: visualisation) -------------------------------------------------------------
def _graph_parser(sub):
    p = sub.add_parser("graph", help="draw the backprop graph of a neuron or an expression")
    p.set_defaults(func=_cmd_graph)
    return p


def _cmd_graph(args):
    raise UsageError("the graph command is not available yet")


# --- garch (issue: volatility models) --------------------------------------------------------
def _garch_parser(sub):
    p = sub.add_parser("garch", help="fit GARCH(1,1) or GJR-GARCH by maximum likelihood",
                       description="Fit GARCH(1,1) or GJR-GARCH(1,1,1) with normal errors by maximum likelihood "
                                   "to daily %% log returns (arch's conventions) and print the estimates with "
                                   "classic and robust standard errors.")
    p.add_argument("--csv", metavar="FILE", help="daily price CSV (default: the embedded S&P 500, 1999-2018)")
    p.add_argument("--mean", choices=("constant", "zero"), default="constant", help="mean model (default constant)")
    p.add_argument("--vol", choices=("garch", "gjr"), default="garch", help="variance model (default garch)")
    p.add_argument("--json", action="store_true", help="print the estimates as JSON instead of a table")
    p.set_defaults(func=_cmd_garch)
    return p


def _cmd_garch(args):
    import json
    import warnings

    from .vol import data, features
    from .vol.models.garch import fit_garch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the stale-open note: GARCH uses closes only
        df = data.load_prices(args.csv) if args.csv else data.load_sp500()
    returns = features.log_returns(df).to_numpy()[1:]
    res = fit_garch(returns, vol=args.vol, mean=args.mean)
    if not args.json:
        print(res.summary())
        return 0
    names = list(res.params.index)
    out = {n: float(res.params[n]) for n in names}
    out["loglik"] = res.loglik
    out["std_err"] = {n: float(res.std_err[n]) for n in names}
    out["robust_std_err"] = {n: float(res.robust_std_err[n]) for n in names}
    print(json.dumps(out, indent=2))
    return 0


# --- forecast and demo (issue: walk-forward evaluation) -------------------------------------
def _forecast_parser(sub):
    p = sub.add_parser("forecast", help="walk-forward volatility forecasts, metrics, backtest and report")
    p.set_defaults(func=_cmd_forecast)
    return p


def _cmd_forecast(args):
    raise UsageError("the forecast command is not available yet")


def _demo_parser(sub):
    p = sub.add_parser("demo", help="the main job: GARCH, walk-forward forecasts, backtest and report on the embedded S&P 500")
    p.set_defaults(func=_cmd_demo)
    return p


def _cmd_demo(args):
    raise UsageError("the demo is not available yet: it arrives with the walk-forward evaluation")


# --- entry point ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinygrad-trade", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_demo_parser, _forecast_parser, _garch_parser, _graph_parser):
        add(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except (UsageError, ValueError, ArithmeticError, OSError) as e:  # DataError is a ValueError
        print(f"tinygrad-trade {args.command}: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
