"""Checks for data that parses but cannot be right, run on every loaded price or realized-variance file.

A file can pass every format rule and still give silently wrong forecasts: a stretch quoted in
cents instead of dollars, a stock split the file does not adjust for, one bad tick, a year with no
rows, realized variance in decimal^2 where the models expect daily %^2. These checks find such
things by their shape in the data:

* refused (a :class:`~tinygrad_trade.vol.data.DataError`, one line): prices above 1e12, dates after
  today, closes that never change over 20 rows or more (nothing to forecast);
* flagged (a :class:`Finding` with its date and what the user can do): a jump by a factor of about
  100 that persists (a units change), in a file without Adj Close a close-to-close jump by a split ratio
  (2:1, 3:2, 3:1, 4:1, 5:1, 1:10 ...) whose open gaps with it while the day's High/Low range is ordinary (an
  unadjusted split, with its ratio) or, in a close-only file, a jump at a split ratio (a possible split: closes
  alone cannot tell a split from a crash), a one-day move by a factor of 5 or more that reverts the next day (a bad tick), a gap of
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

__all__ = ["Finding", "DataWarning", "warn", "check_prices", "check_realized", "check_skipped", "MAX_PRICE",
           "MAX_GAP_DAYS", "SPLIT_LEVELS"]

MAX_PRICE = 1e12          # refused above this
MIN_ROWS_CONSTANT = 20   # a file this long whose closes never move is refused
MAX_GAP_DAYS = 31         # calendar days between rows before a gap is flagged
UNITS_FACTOR = (50.0, 200.0)   # a jump by a factor in this range that persists: units changed
SPIKE_FACTOR = 5.0        # a one-day move at least this large that reverts: a bad tick
SPLIT_MOVE_TOL = 0.12     # log distance of the close-to-close move to a split ratio (both kinds of file)
SPLIT_GAP_TOL = 0.12      # OHLC files: log distance of the open gap (Open / previous Close) to the split ratio
SPLIT_RANGE_MAX = 0.10    # OHLC files: the split day's log High/Low range is below this ...
SPLIT_RANGE_TIMES = 2.0   # ... or below this many times the median range of the 20 days before
SPLIT_CANDIDATE = 1.3     # moves by at least this factor (up or down) are looked at
SPLIT_LEVELS = tuple(sorted({*(1 / r for r in (2.0, 1.5, 3.0, 4.0, 5.0, 7.0, 8.0, 10.0)),
                             *(r for r in (2.0, 3.0, 4.0, 5.0, 10.0, 20.0))}))   # new price / old
SKIP_GAP_DAYS = 6         # --missing skip: skipped rows leaving more calendar days than this between rows warn
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


def _ratio_text(s: float) -> str:
    """A split ratio as traders write it: 0.5 -> '2:1' (two new shares for one), 10 -> '1:10' (reverse)."""
    new, old = (1.0 / s, 1.0) if s < 1 else (1.0, s)
    for scale in (1, 2, 3, 4, 5, 10):
        a, b = new * scale, old * scale
        if abs(a - round(a)) < 1e-6 and abs(b - round(b)) < 1e-6:
            return f"{round(a)}:{round(b)}"
    return f"{new:g}:{old:g}"


def _split_ratio(df: pd.DataFrame, i: int, col: str):
    """The split ratios (new price / old, nearest first) that the move from day i to day i+1 shows, or None.

    Both kinds of file: the close-to-close move is within ``SPLIT_MOVE_TOL`` (log) of a split ratio. OHLC files
    also need what only a split does: the open gaps with it (the open against the day before's close is within
    ``SPLIT_GAP_TOL`` of the ratio: the level moved before the market opened) while the day's own log High/Low
    range is ordinary (below ``SPLIT_RANGE_MAX``, or below ``SPLIT_RANGE_TIMES`` the median range of the 20
    days before). With the split taken out, the day must look like any other; a crash of the same size comes
    with a wide range (AAPL's -52% of 2000-09-29: 13%, 2.6 times its usual range). Close-only files can tell no
    more than the move (the finding says so)."""
    c = df[col].to_numpy(dtype=float)
    t = i + 1
    r = c[t] / c[i]
    ohlc = "open" in df and "high" in df and "low" in df
    gap = df["open"].iat[t] / c[i] if ohlc else r
    # the ratios the open shows (else the close), nearest first: a day's own move of 10% or more can put two
    # ratios in reach (5:1 and 4:1 are 22% apart), and then both are named
    tol = SPLIT_GAP_TOL if ohlc else SPLIT_MOVE_TOL
    near = sorted((s for s in SPLIT_LEVELS if abs(np.log(gap / s)) <= tol and abs(np.log(r / s)) <= SPLIT_MOVE_TOL),
                  key=lambda s: abs(np.log(gap / s)))
    if not near:
        return None
    if not ohlc:
        return near
    days = slice(max(t - 20, 0), t + 1)                  # the split day and the 20 before it
    hl = np.log(df["high"].to_numpy(dtype=float)[days] / df["low"].to_numpy(dtype=float)[days])
    usual = SPLIT_RANGE_TIMES * float(np.median(hl[:-1])) if hl.size > 1 else 0.0
    return near if hl[-1] < max(SPLIT_RANGE_MAX, usual) else None


def _split_finding(df: pd.DataFrame, file: str, i: int, r: float, near: list) -> Finding:
    c = df["close"].to_numpy(dtype=float)
    t = i + 1
    date = _day(df.index[t])
    s = near[0]
    ratio = _ratio_text(s)
    if len(near) > 1:      # the day's own move leaves two ratios in reach
        ratio += " (or " + " or ".join(_ratio_text(x) for x in near[1:]) + ": the day's own move blurs them)"
    if "open" in df and "high" in df:
        return Finding("split", date, f"{file}: Close moves by {r:.4g}x on {date} ({c[i]:.6g} to {c[t]:.6g}), "
                       f"the Open gaps with it ({df['open'].iat[t]:.6g}) while the day's High/Low range is "
                       f"ordinary: an unadjusted {ratio} split; use a file with Adj Close, or divide the prices "
                       f"before {date} by {1 / s:g}")
    return Finding("possible_split", date, f"{file}: Close moves by {r:.4g}x on {date} ({c[i]:.6g} to "
                   f"{c[t]:.6g}), near a {ratio} split ratio: possible split, cannot tell from closes alone "
                   f"(a real move looks the same); if it is a split, use adjusted closes")


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
    seen = set()
    for i in np.flatnonzero((ratio >= SPLIT_CANDIDATE) | (ratio <= 1 / SPLIT_CANDIDATE)):
        t = i + 1
        if t in seen:
            continue
        r = ratio[i]
        big = max(r, 1 / r)
        after = c[t:t + 5] / c[i]             # the level over the next days against the day before
        reverts = t + 1 < n and 0.5 <= c[t + 1] / c[i] <= 2.0
        persists = bool(np.all((after >= 0.5 * r) & (after <= 2.0 * r)))
        date = _day(df.index[t])
        split = _split_ratio(df, i, col) if col == "close" and persists else None
        if UNITS_FACTOR[0] <= big <= UNITS_FACTOR[1] and persists:
            unit = "up" if r > 1 else "down"
            out.append(Finding("units", date, f"{file}: {col} jumps {unit} by a factor {big:.0f} on {date} "
                               f"({c[i]:.6g} to {c[t]:.6g}) and stays there: a change of units (cents and "
                               f"dollars, pence and pounds)? Convert the file to one unit"))
        elif split is not None:
            out.append(_split_finding(df, file, i, r, split))
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


def check_skipped(index: pd.DatetimeIndex, skipped: pd.DatetimeIndex, file: str) -> list:
    """Findings for the rows dropped by ``--missing skip``: one listing them, and one per gap they leave of more
    than ``SKIP_GAP_DAYS`` calendar days (a holiday leaves fewer; a week of missing prices is worth a look)."""
    days = [_day(d) for d in skipped]
    shown = ", ".join(days[:12]) + (f" and {len(days) - 12} more" if len(days) > 12 else "")
    out = [Finding("missing", days[0], f"{file}: {len(days)} row(s) without a price skipped (--missing skip): "
                                       f"{shown}")]
    if len(index) >= 2:
        gaps = np.diff(index.values).astype("timedelta64[D]").astype(int)
        for i in np.flatnonzero((gaps > SKIP_GAP_DAYS) & (gaps <= MAX_GAP_DAYS)):
            inside = skipped[(skipped > index[i]) & (skipped < index[i + 1])]
            if len(inside):
                out.append(Finding("gap", _day(index[i]), f"{file}: no price from {_day(index[i])} to "
                                   f"{_day(index[i + 1])} ({gaps[i]} days, {len(inside)} row(s) skipped): the "
                                   f"models treat the two days as consecutive"))
    return out


def warn(found: list) -> None:
    """One :class:`DataWarning` per finding (the loaders call this)."""
    import warnings
    for f in found:
        warnings.warn(f.message, DataWarning, stacklevel=3)
