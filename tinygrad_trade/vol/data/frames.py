"""A price frame made in Python (``pd.read_csv``, yfinance, a database) read by the same code as a file.

``get_model("garch").fit(frame)`` must give what ``tinygrad-trade forecast --csv`` gives on the same data: the same
column matching (``Adj Close`` = ``adj close`` = ``adj_close`` = ``AdjClose``), the same checks, the same adjustment
by Adj Close / Close. :func:`normalize_prices` writes the frame's cells as the loader's text cells (floats in their
exact shortest form, so nothing is rounded) and hands them to the loader's own parsing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import checks
from .errors import data_error as _error, header_key as _key
from .loading import DATE_ALIASES, _prices_from_table
from .records import DataFile, ReadOptions

__all__ = ["normalize_prices"]


def _cell_text(values: pd.Series) -> pd.Series:
    """A frame's column as the loader's cells: floats in their exact shortest form, NaN as a missing cell."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pd.Series([repr(float(v)) for v in values.to_numpy(dtype=float, na_value=np.nan)], dtype=object)
    return values.astype(str).str.strip().reset_index(drop=True).where(values.notna().to_numpy(), "")


def normalize_prices(frame: pd.DataFrame, missing: str = "error", price_column=None,
                     source: str = "the frame") -> DataFile:
    """A price frame as the CLI reads the same data from a file: the same column matching (``Adj Close``,
    ``adj close``, ``adj_close``, ``AdjClose``), the same checks and adjustment by Adj Close / Close.

    The dates are the ``DatetimeIndex`` or a Date column (any of the date names). This is what
    ``get_model(...).fit(frame)`` calls, so the Python API and ``tinygrad-trade forecast --csv`` give the same
    numbers on the same data. Raises :class:`DataError` (a ``ValueError``) for a problem in the data."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"normalize_prices needs a DataFrame, got {type(frame).__name__}")
    options = ReadOptions(missing=missing, price_column=price_column)
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise _error(source, f"empty ({frame.shape[0]} rows, {frame.shape[1]} columns): expected daily prices "
                             f"with a Close column")
    if isinstance(frame.columns, pd.MultiIndex):   # yf.download: (Price, Ticker) columns, one ticker
        tickers = list(dict.fromkeys(str(t) for t in frame.columns.get_level_values(-1) if str(t)))
        if len(tickers) > 1:
            raise _error(source, f"several tickers in one frame ({', '.join(tickers[:5])}); fit one at a time, "
                                 f"e.g. frame.xs('{tickers[0]}', axis=1, level=-1)")
        frame = frame.set_axis([str(c) for c in frame.columns.get_level_values(0)], axis=1)
    names = [str(c) for c in frame.columns]
    date_cols = [i for i, name in enumerate(names) if _key(name) in DATE_ALIASES]
    if date_cols:
        dates_text = frame.iloc[:, date_cols[0]]
        if pd.api.types.is_datetime64_any_dtype(dates_text):
            dates_text = pd.Series(pd.DatetimeIndex(dates_text).astype(str), dtype=object)
        dates_text = _cell_text(dates_text.astype(str))
        value_at = [i for i in range(len(names)) if i != date_cols[0]]
        date_name = names[date_cols[0]]
    else:
        try:
            index = pd.DatetimeIndex(frame.index)
        except (TypeError, ValueError):
            raise _error(source, "no dates: give the frame a DatetimeIndex or a Date column") from None
        dates_text = pd.Series(index.tz_localize(None).astype(str) if index.tz is not None else index.astype(str),
                               dtype=object)
        value_at = list(range(len(names)))
        date_name = "Date"
    header = [date_name] + [names[i] for i in value_at]
    body = pd.DataFrame({0: dates_text.reset_index(drop=True),
                         **{k + 1: _cell_text(frame.iloc[:, i]) for k, i in enumerate(value_at)}})
    data = _prices_from_table(header, body, ",", source, source, options)
    checks.warn(list(data.facts.data_checks))
    return data
