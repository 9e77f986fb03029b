"""What every command shares: one-line errors and exit status 2, the parsing of numbers and lists, and the
options several commands take (workers and scheduler, file reading, the GARCH family's law, risk levels, a book).
"""
from __future__ import annotations

import argparse
import logging
import os

from ..log import say

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (not the usage block) and exit status 2."""

    def error(self, message):
        say(f"{self.prog}: error: {message} (see --help)", logging.ERROR)
        self.exit(EXIT_BAD_INPUT)




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
    from ..vol.data.loading import MAX_FILE_MB
    text = getattr(args, "max_file_mb", None)
    if text is None:
        return MAX_FILE_MB
    mb = _float_text("--max-file-mb", text)
    if not mb > 0:
        raise UsageError(f"--max-file-mb must be positive, got {text!r}")
    return mb


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


def _horizons_text(text):
    """``--horizon``: one integer (``5``), or several (``1,5,10,22``) as a tuple."""
    hs = tuple(_int_text("--horizon", h) for h in _list_text(text))
    if not hs:
        raise UsageError("--horizon needs at least one positive integer")
    return hs[0] if len(hs) == 1 else hs


# --- the book (issue 22) ----------------------------------------------------------------------
def _book_option(p):
    p.add_argument("--book", metavar="A=W,...|FILE", default=None,
                   help="a book of the universe's assets with fixed weights, e.g. SP500=0.4,AAPL=0.3,IBM=0.3, "
                        "or a CSV file of asset, weight: its variance from DCC, CCC and the univariate models "
                        "(book.csv, a report section)")


def _book(args):
    from ..vol.jobs.book import parse_book
    text = getattr(args, "book", None)
    return None if text is None else parse_book(text)
