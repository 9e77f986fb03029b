"""`tinygrad-trade` command line: demo, forecast, predict, journal, garch, dcc, graph.

Results go to stdout, progress to stderr. Bad input anywhere gives one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import gc
import logging
import sys

from ..log import say
from .graph import _graph_parser
from .options import EXIT_BAD_INPUT, UsageError, _Parser
from .predict import _journal_parser, _predict_parser
from .vol import _dcc_parser, _demo_parser, _forecast_parser, _garch_parser

__all__ = ["main", "build_parser", "UsageError", "EXIT_BAD_INPUT"]


# --- entry point ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinygrad-trade", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (_demo_parser, _forecast_parser, _predict_parser, _journal_parser, _garch_parser, _dcc_parser,
                _graph_parser):
        add(sub)
    return parser


def main(argv=None) -> int:
    """Run one command; its exit status. ``argv=None``: the command line of this process (the program itself:
    the process ends right after, so the garbage collector's last pass over every object at exit is skipped,
    ``gc.freeze``; with numpy, pandas, scipy and matplotlib loaded that pass takes about 0.3 s)."""
    try:
        return _main(argv)
    finally:
        if argv is None:
            gc.freeze()


def _main(argv) -> int:
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
        from ..vol.runs.tasks import WalkForwardError
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
