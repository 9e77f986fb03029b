"""Messages for the user: one line on stderr (the command line's voice) and a record on the
``tinygrad_trade`` logger, so a program or notebook that configures :mod:`logging` sees them too.

    from tinygrad_trade.log import say, get_logger, messenger

    say("fitting GARCH on 5000 days")                   # stderr + logger, INFO
    say("no SVG renderer: wrote g.dot", logging.WARNING)
    log = messenger(quiet)                               # stderr unless quiet; always logged

The library itself never configures logging (the package logger has a NullHandler); attach a
handler to ``logging.getLogger("tinygrad_trade")`` to collect the messages.
"""
from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER_NAME", "get_logger", "say", "messenger"]

LOGGER_NAME = "tinygrad_trade"
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


def get_logger(name: str | None = None) -> logging.Logger:
    """The package logger, or its child ``tinygrad_trade.<name>``."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


def say(message: str, level: int = logging.INFO, *, logger: str | None = None, stream=None,
        echo: bool = True) -> None:
    """Log ``message`` on the ``tinygrad_trade`` logger (child ``logger`` if given) and, with
    ``echo``, print it as one line on ``stream`` (default: the current ``sys.stderr``)."""
    get_logger(logger).log(level, message)
    if echo:
        print(message, file=stream if stream is not None else sys.stderr, flush=True)


def messenger(quiet: bool = False, level: int = logging.INFO, logger: str | None = None):
    """A ``log(message)`` function: always logged, printed to stderr unless ``quiet``."""
    return lambda message: say(message, level, logger=logger, echo=not quiet)
