"""One message format for every problem in a data file: ``FILE, row N (DATE), column 'COL': what is wrong``.

Shared by the loaders (:mod:`.loading`) and the checks (:mod:`.checks`), so a user reads the same kind of line
whichever found the problem.
"""
from __future__ import annotations

import re

import pandas as pd

__all__ = ["DataError", "data_error", "header_key", "show_value", "day_text"]


class DataError(ValueError):
    """A data file is unusable; the message is one line naming file, row or date, and column."""


def header_key(name) -> str:
    """Header name used for matching: 'Adj. Close' -> 'adjclose'."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def show_value(value, limit: int = 30) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def day_text(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else str(ts)


def data_error(file: str, message: str, row=None, date=None, column=None) -> DataError:
    """DataError 'FILE, row N (DATE), column 'COL': message' (row may be "header")."""
    where = file
    if row == "header":
        where += ", header"
    elif row is not None:
        where += f", row {row}"
        if date is not None:
            where += f" ({day_text(date)})"
    elif date is not None:
        where += f", {day_text(date)}"
    if column is not None:
        where += f", column {column!r}"
    return DataError(f"{where}: {message}".replace("\n", " "))
