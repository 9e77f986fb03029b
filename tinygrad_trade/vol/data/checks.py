"""Checks for data that parses but cannot be right, run on every loaded price or realized-variance file.

A file can pass every format rule and still give silently wrong forecasts: a stretch quoted in
cents instead of dollars, a stock split the file does not adjust for, one bad tick, a year with no
rows, realized variance in decimal^2 where the models expect daily %^2. These checks find such
things by their shape in the data:

* refused (a :class:`~tinygrad_trade.vol.data.DataError`, one line): prices above 1e12, dates after
  today, closes that never change over 20 rows or more (nothing to forecast);
* flagged (a :class:`Finding` with its date and what the user can do): a jump by a factor of about
  100 that persists (a units change), a jump by a split ratio (1/2, 1/3, 2/3, 1/4, 1/5, 1/10 or the
  reverse) with an ordinary High/Low range that day when the file has no Adj Close (an unadjusted
  split), a one-day move by a factor of 5 or more that reverts the next day (a bad tick), a gap of
  more than 31 days between rows, realized variance whose median is below 0.01 (decimal^2 units).

The loaders (:mod:`~tinygrad_trade.vol.data`) call :func:`check_prices` / :func:`check_realized`,
keep the findings in the file's facts (:class:`~tinygrad_trade.vol.data.records.FileFacts`) and warn once.
The thresholds are far from anything the embedded S&P 500 files show (they give no findings).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import data_error

__all__ = ["Finding", "DataWarning", "warn", "check_prices", "check_realized", "MAX_PRICE", "MAX_GAP_DAYS"]

MAX_PRICE = 1e12          # refused above this
MIN_ROWS_CONSTANT = 20   # a file this long whose closes never move is refused
MAX_GAP_DAYS = 31         # calendar days between rows before a gap is flagged
UNITS_FACTOR = (50.0, 200.0)   # a jump by a factor in this range that persists: units changed
SPIKE_FACTOR = 5.0        # a one-day move at least this large that reverts: a bad tick
SPLIT_RATIOS = (2.0, 3.0, 1.5, 4.0, 5.0, 10.0)   # and their inverses
SPLIT_TOL = 0.03          # relative distance to a split ratio
RV_DECIMAL_MEDIAN = 0.01  # daily %^2 below this median: the file is in decimal^2
RV_UNITS_FACTOR = 1000.0  # realized variance: a persistent jump of medians by this factor


class DataWarning(UserWarning):
    """A suspicious stretch of data (see :class:`Finding`)."""


@dataclass(frozen=True)
class Finding:
    """Something suspicious in a data file: ``kind`` (units, split, spike, gap, rv_units),
    the ``date`` it starts (``YYYY-MM-DD``), and ``message`` (what it is and what to do)."""

    kind: str
    date: str
    message: str

    def __str__(self) -> str:
        return self.message


def _day(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _refuse(file: str, what: str, row=None, date=None, column=None):
    return data_error(file, what, row=row, date=date, column=column)


def _refusals(df: pd.DataFrame, file: str, columns, today) -> None:
    today = pd.Timestamp(today).normalize()
    late = np.flatnonzero(np.asarray(df.index.normalize() > today))
    if late.size:
        i = late[0]
        raise _refuse(file, f"date after today ({_day(today)}): a forecast cannot use the future; "
                            f"check the date column", row=i + 1, date=df.index[i])
    for col in columns:
        if col in df:
            big = np.flatnonzero(df[col].to_numpy() > MAX_PRICE)
            if big.size:
                i = big[0]
                raise _refuse(file, f"value {float(df[col].iloc[i]):.4g} is above {MAX_PRICE:.0e}: "
                                    f"not a plausible price or variance",
                              row=i + 1, date=df.index[i], column=col)


def _gaps(index: pd.DatetimeIndex, file: str) -> list:
    out = []
    if len(index) < 2:
        return out
    days = np.diff(index.values).astype("timedelta64[D]").astype(int)
    for i in np.flatnonzero(days > MAX_GAP_DAYS):
        out.append(Finding("gap", _day(index[i]),
                           f"{file}: no rows from {_day(index[i])} to {_day(index[i + 1])} ({days[i]} days): "
                           f"the models treat the two days as consecutive; fill the missing days or start "
                           f"the file after the gap"))
    return out


def _near(ratio: float, target: float) -> bool:
    return abs(ratio / target - 1.0) <= SPLIT_TOL


def check_prices(df: pd.DataFrame, file: str, today=None) -> list:
    """Refuse impossible prices (``DataError``); return the :class:`Finding` list of the rest."""
    _refusals(df, file, ("open", "high", "low", "close", "adj_close"), today or pd.Timestamp.now())
    col = "adj_close" if "adj_close" in df else "close"
    c = df[col].to_numpy(dtype=float)
    if len(c) >= MIN_ROWS_CONSTANT and np.all(c == c[0]):
        raise _refuse(file, f"{'Adj Close' if col == 'adj_close' else 'Close'} is {c[0]:g} on all {len(c)} rows: "
                            f"no price moves, no volatility to forecast")
    out = []
    n = len(c)
    ratio = c[1:] / c[:-1]                    # ratio[i]: day i+1 against day i
    hl = (np.log(df["high"].to_numpy(float) / df["low"].to_numpy(float)) if "high" in df
          else np.zeros(n))                   # a close-only file: no range to tell a split from a crash
    seen = set()
    for i in np.flatnonzero((ratio >= 1.4) | (ratio <= 1 / 1.4)):
        t = i + 1
        if t in seen:
            continue
        r = ratio[i]
        big = max(r, 1 / r)
        after = c[t:t + 5] / c[i]             # the level over the next days against the day before
        reverts = t + 1 < n and 0.5 <= c[t + 1] / c[i] <= 2.0
        persists = bool(np.all((after >= 0.5 * r) & (after <= 2.0 * r)))
        date = _day(df.index[t])
        if UNITS_FACTOR[0] <= big <= UNITS_FACTOR[1] and persists:
            unit = "up" if r > 1 else "down"
            out.append(Finding("units", date, f"{file}: {col} jumps {unit} by a factor {big:.0f} on {date} "
                               f"({c[i]:.6g} to {c[t]:.6g}) and stays there: a change of units (cents and "
                               f"dollars, pence and pounds)? Convert the file to one unit"))
        elif (col == "close" and persists and any(_near(big, s) for s in SPLIT_RATIOS)
              and hl[t] < 0.3 * abs(np.log(r))):
            out.append(Finding("split", date, f"{file}: Close moves by {r:.4g}x on {date} ({c[i]:.6g} to "
                               f"{c[t]:.6g}) while that day's High/Low range is ordinary: an unadjusted stock "
                               f"split? Use a file with Adj Close, or adjust the prices before {date}"))
        elif big >= SPIKE_FACTOR and reverts:
            out.append(Finding("spike", date, f"{file}: {col} is {c[t]:.6g} on {date}, between {c[i]:.6g} "
                               f"and {c[t + 1]:.6g}: a one-day {big:.0f}x spike, probably a bad tick; fix or "
                               f"remove that row"))
            seen.add(t + 1)                   # the way back is the same event
    return out + _gaps(df.index, file)


def check_realized(df: pd.DataFrame, file: str, column: str = "RV", today=None) -> list:
    """Refuse impossible realized variance (``DataError``); return the :class:`Finding` list of the rest."""
    _refusals(df, file, ("rv",), today or pd.Timestamp.now())
    out = []
    rv = df["rv"].to_numpy(dtype=float)
    med = float(np.median(rv)) if rv.size else np.nan
    if med < RV_DECIMAL_MEDIAN:
        out.append(Finding("rv_units", _day(df.index[0]),
                           f"{file}: the median of {column} is {med:.3g}, tiny for daily %^2 (the S&P 500's is "
                           f"about 0.5): the file looks like decimal^2 units; multiply {column} by 10000"))
    elif rv.size >= 40:
        s = pd.Series(rv)
        before = s.rolling(20).median().to_numpy()
        after = s[::-1].rolling(20).median().to_numpy()[::-1]
        jump = after[1:] / before[:-1]
        hits = np.flatnonzero((jump >= RV_UNITS_FACTOR) | (jump <= 1 / RV_UNITS_FACTOR))
        if hits.size:
            t = hits[0] + 1
            date = _day(df.index[t])
            out.append(Finding("units", date, f"{file}: the level of {column} changes by a factor of about "
                               f"{max(jump[t - 1], 1 / jump[t - 1]):.0f} from {date}: a change of units (%^2 and "
                               f"decimal^2 differ by 10000)? Convert the file to daily %^2"))
    return out + _gaps(df.index, file)


def warn(found: list) -> None:
    """One :class:`DataWarning` per finding (the loaders call this)."""
    import warnings
    for f in found:
        warnings.warn(f.message, DataWarning, stacklevel=3)
