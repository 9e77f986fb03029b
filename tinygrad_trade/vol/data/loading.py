"""Load and validate daily market data.

Two kinds of CSV file are read:

* daily prices: :func:`load_prices`, and the embedded S&P 500 file via :func:`load_sp500`;
* daily realized variance: :func:`load_realized`, and the embedded S&P 500 5-minute RV
  via :func:`load_sp500_rv`.

Every problem with a file raises :class:`DataError` with a one-line message naming the
file, the data row (1-based: the first line after the header is row 1) and/or its date,
and the column. The rules are listed in docs/data.md.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
import zlib
from importlib import resources

import numpy as np
import pandas as pd

from . import checks, formats
from .errors import DataError, data_error as _error, day_text as _day, header_key as _key, show_value as _show
from .records import DataFile, FileFacts, ReadOptions

__all__ = ["SP500_FILE", "SP500_RV_FILE", "DATE_ALIASES", "PRICE_COLUMNS", "REQUIRED_PRICES", "RANGE_COLUMNS",
           "DELIMITERS", "MAX_FILE_MB", "DataError", "detect_stale_opens", "adjust_prices", "load_prices", "load_sp500",
           "load_realized", "load_sp500_rv", "require_rows", "read_prices", "read_sp500",
           "read_realized", "read_sp500_rv", "DataFile", "FileFacts", "ReadOptions"]

SP500_FILE = "sp500_daily_1999_2018.csv"
SP500_RV_FILE = "sp500_rv5min_1997_2013.csv"

# Header names are matched after _key(): lower case, letters and digits only, so
# "Adj Close", "adj_close", "AdjClose" and "adj. close" are all "adjclose".
DATE_ALIASES = ("date", "datetime", "timestamp", "time")  # in priority order
PRICE_COLUMNS = {  # output column -> accepted header keys, in priority order
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "adj_close": ("adjclose", "adjustedclose"),
    "volume": ("volume",),
}
REQUIRED_PRICES = ("open", "high", "low", "close")
RANGE_COLUMNS = ("open", "high", "low")   # a close-only file (Date, Close[, Adj Close]) has none of them
DELIMITERS = (",", ";", "\t")
_MISSING_WORDS = formats.MISSING_CELLS
_SKIP_HINT = "add --missing skip (Python: missing='skip') to drop rows without a price"
MAX_FILE_MB = 512     # largest input file read (after gunzip); the CLI's --max-file-mb raises it
_PRICE_LAYOUT = "a header row like Date,Open,High,Low,Close[,Adj Close,Volume] (yfinance and Stooq exports work)"
_TZ_SUFFIX = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d\d:?\d\d)$")


# --------------------------------------------------------------------------- reading


def _too_large(file: str, max_mb: float) -> DataError:
    return DataError(f"{file}: larger than the {max_mb:g} MB limit for input files "
                     f"(a daily price file is well under 1 MB); raise it with --max-file-mb if it is right")


def _read_file(path, max_mb: float = MAX_FILE_MB) -> bytes:
    """The file's bytes, at most ``max_mb`` MB (``/dev/zero`` and huge files are refused)."""
    file = os.fspath(path)
    limit = int(max_mb * 2**20)
    try:
        with open(path, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                raise DataError(f"{file}: a device, not a data file")
            if stat.S_ISREG(mode) and os.fstat(fh.fileno()).st_size > limit:
                raise _too_large(file, max_mb)
            data = fh.read(limit + 1)   # a pipe: read no more than the limit
    except OSError as exc:
        raise DataError(f"{file}: cannot read file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise _too_large(file, max_mb)
    return data


def _gunzip(data: bytes, file: str, max_mb: float = MAX_FILE_MB) -> bytes:
    """gzip data unpacked, at most ``max_mb`` MB (a small bomb is refused before it is read)."""
    out, limit = [], int(max_mb * 2**20)
    try:
        while data:
            z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            size = sum(len(b) for b in out)
            out.append(z.decompress(data, limit + 1 - size))
            if sum(len(b) for b in out) > limit or z.unconsumed_tail:
                raise _too_large(file + " (unpacked)", max_mb)
            if not z.eof:
                raise zlib.error("truncated data")
            data = z.unused_data   # concatenated gzip members
    except zlib.error as exc:
        raise _error(file, f"corrupt gzip data ({exc})") from None
    return b"".join(out)


def _decode(data: bytes, file: str, max_mb: float = MAX_FILE_MB) -> str:
    """Bytes -> text; gzip is unpacked (at most ``max_mb`` MB); NUL bytes or invalid UTF-8 are errors."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, file, max_mb)
    try:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with byte-order mark
            return data.decode("utf-16")
        if b"\x00" in data:
            raise _error(file, "binary file (contains NUL bytes), expected CSV text")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _error(file, f"not UTF-8 text (undecodable byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _read_table(text: str, file: str) -> tuple[list[str], pd.DataFrame]:
    """Text -> (header names, body of stripped strings indexed 0..n-1; position i is row i+1)."""
    header, body, _ = _table(text, file)
    return header, body


def _table(text: str, file: str) -> tuple[list[str], pd.DataFrame, str]:
    """Text -> (header names, body of stripped strings, the separator: comma, semicolon or tab)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise _error(file, "empty file")
    if len(lines) == 1:
        raise _error(file, "no data rows (header only)")
    sep = max(DELIMITERS, key=lines[0].count)  # ties (also none found) -> comma
    try:
        table = pd.read_csv(io.StringIO("\n".join(lines)), sep=sep, header=None, dtype=str,
                            keep_default_na=False, skip_blank_lines=False, skipinitialspace=True)
    except ValueError as exc:  # pandas ParserError / EmptyDataError are ValueErrors
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = map(int, found.groups())
            raise _error(file, f"{saw} fields but the header has {expected} (delimiter {sep!r})",
                         row=line - 1) from None
        quote = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if quote:
            raise _error(file, "quoted field is never closed", row=int(quote[1])) from None
        raise _error(file, f"cannot parse CSV ({str(exc).strip().splitlines()[0]})") from None
    table = table.fillna("").astype(str).apply(lambda col: col.str.strip())
    header = list(table.iloc[0])
    body = table.iloc[1:].reset_index(drop=True)
    body.columns = range(body.shape[1])
    return header, body, sep


def _layout(header: list[str], body: pd.DataFrame, file: str) -> tuple[list[str], pd.DataFrame]:
    """Known layouts beyond one header row, as one header row:

    * yfinance's current CSV (three header rows ``Price,Close,...`` / ``Ticker,AAPL,...`` /
      ``Date,,...``): the first and third rows give the header, one ticker per file;
    * a date column with an empty header cell (``df.to_csv()`` of an unnamed index): named Date.
    """
    if (header and _key(header[0]) == "price" and len(body) >= 2 and _key(body.iat[0, 0]) == "ticker"
            and _key(body.iat[1, 0]) in DATE_ALIASES and not "".join(body.iloc[1, 1:])):
        tickers = list(dict.fromkeys(t for t in body.iloc[0, 1:] if t))
        if len(tickers) > 1:
            raise _error(file, f"several tickers in one yfinance file ({', '.join(tickers[:5])}); "
                               f"save one ticker per file", row="header")
        header = [body.iat[1, 0]] + header[1:]
        body = body.iloc[2:].reset_index(drop=True)
    if header and header[0] == "" and not any(_key(h) in DATE_ALIASES for h in header):
        header = ["Date"] + header[1:]
    return header, body


def _find(header: list[str], keys: tuple[str, ...], file: str, label: str, required: bool = True,
          expected: str = _PRICE_LAYOUT):
    """Position of the first header name matching one of `keys` (by priority)."""
    header_keys = [_key(name) for name in header]
    for key in keys:
        hits = [i for i, k in enumerate(header_keys) if k == key]
        if len(hits) > 1:
            raise _error(file, f"columns {header[hits[0]]!r} and {header[hits[1]]!r} are ambiguous, "
                               f"both match {label!r}", row="header", column=header[hits[1]])
        if hits:
            return hits[0]
    if required:
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        raise _error(file, f"missing required column (header: {shown}); expected {expected}",
                     row="header", column=label)
    return None


def _parse_dates(text: pd.Series, file: str, column: str, dayfirst=None, notes=None) -> pd.DatetimeIndex:
    """Strings -> DatetimeIndex; time-zone offsets are dropped (local wall time kept). Numeric dates like
    ``03.04.2020`` are read day-first or month-first as ``dayfirst`` says, or as :func:`formats.detect_dayfirst`
    finds (a note in ``notes`` when it reads them day-first)."""
    text = text.str.replace(_TZ_SUFFIX, r"\1", regex=True)
    order = dayfirst
    if order is None:
        order = formats.detect_dayfirst(text, file, column)
        if order and notes is not None:
            notes.append(f"{file}: dates read day-first ({text.iloc[0]} is {formats.iso_dates(text.iloc[:1], True).iloc[0]}); "
                         f"--no-dayfirst reads them month-first")
    if order is not None:
        text = formats.iso_dates(text, order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' "could not infer format" chatter
        try:
            if text.str.fullmatch(r"\d{8}").all():  # 20190104
                dates = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
            elif text.str.fullmatch(r"\d{9,13}").all():  # Unix time in seconds or milliseconds
                stamps = text.astype("int64")
                dates = pd.to_datetime(stamps, unit="ms" if stamps.max() >= 10**11 else "s")
            else:
                dates = pd.to_datetime(text, errors="coerce")
        except (ValueError, TypeError, OverflowError) as exc:
            raise _error(file, f"cannot parse dates ({str(exc).splitlines()[0]})", column=column) from None
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        i = bad[0]
        what = "empty date" if text.iloc[i] == "" else f"unparsable date {_show(text.iloc[i])}"
        raise _error(file, what, row=i + 1, column=column)
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    far = np.flatnonzero(((dates < pd.Timestamp.min) | (dates > pd.Timestamp.max)).to_numpy())
    if far.size:
        i = far[0]
        raise _error(file, f"date {_show(text.iloc[i])} is out of range (years 1678 to 2261 only)",
                     row=i + 1, column=column)
    return pd.DatetimeIndex(dates, name="date").as_unit("ns")


def _check_order(dates: pd.DatetimeIndex, file: str, column: str, rows=None) -> None:
    """Strictly increasing dates; ``rows[i]`` is the file row of position i (default i + 1)."""
    row = (lambda i: i + 1) if rows is None else (lambda i: int(rows[i]))
    later = dates[1:]
    earlier = dates[:-1]
    bad = np.flatnonzero(np.asarray(later <= earlier))
    if not bad.size:
        return
    i = bad[0] + 1  # position of the offending row; the previous row is at position i - 1
    if dates[i] == dates[i - 1]:
        what = f"duplicate date (same as row {row(i - 1)})"
    else:
        what = f"dates not increasing ({_day(dates[i])} comes after {_day(dates[i - 1])} in row {row(i - 1)})"
        if np.all(np.asarray(later < earlier)):
            what += "; the file is newest-first, sort it oldest-first"
    raise _error(file, what, row=row(i), date=dates[i], column=column)


def _parse_numbers(text: pd.Series, dates: pd.DatetimeIndex, file: str, column: str, rows=None,
                   hint: str = "") -> np.ndarray:
    """Strings -> finite float64 values; empty, NaN or non-numeric cells are errors (``rows``: the file row of
    each position, default i + 1; ``hint``: added to the message of a missing value)."""
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = bad[0]
        cell = text.iloc[i]
        if cell == "":
            what = "empty value" + (f"; {hint}" if hint else "")
        elif cell.lower() in _MISSING_WORDS:
            what = f"missing value {cell!r}" + (f"; {hint}" if hint else "")
        elif np.isinf(values[i]):
            what = f"infinite value {cell!r}"
        else:
            what = f"non-numeric value {_show(cell)}"
        raise _error(file, what, row=i + 1 if rows is None else int(rows[i]), date=dates[i], column=column)
    return values


def _first(bad: np.ndarray):
    found = np.flatnonzero(bad)
    return found[0] if found.size else None


def _check_prices(df: pd.DataFrame, names: dict[str, str], file: str, rows=None) -> None:
    """Positive prices, non-negative volume, Low <= Open, Close <= High (``rows``: as in _check_order)."""

    def fail(i, column, what):
        raise _error(file, what, row=i + 1 if rows is None else int(rows[i]), date=df.index[i],
                     column=names[column])

    for column in ("open", "high", "low", "close", "adj_close"):
        if column in df:
            values = df[column].to_numpy()
            i = _first(values <= 0)
            if i is not None:
                fail(i, column, f"non-positive price {float(values[i])}")
    if "volume" in df:
        i = _first(df["volume"].to_numpy() < 0)
        if i is not None:
            fail(i, "volume", f"negative volume {float(df['volume'].iloc[i])}")
    if "open" not in df:
        return  # a close-only file
    o, h, l, c = (df[k].to_numpy() for k in ("open", "high", "low", "close"))
    i = _first(h < l)
    if i is not None:
        fail(i, "high", f"High < Low ({float(h[i])} < {float(l[i])})")
    for column, x in (("open", o), ("close", c)):
        i = _first((x < l) | (x > h))
        if i is not None:
            label = column.capitalize()
            fail(i, column, f"{label} {float(x[i])} outside [Low, High] = [{float(l[i])}, {float(h[i])}]")


# --------------------------------------------------------------------------- prices


def detect_stale_opens(df: pd.DataFrame, tol: float = 1e-9, window: int = 250,
                       threshold: float = 0.5, min_days: int = 10) -> np.ndarray:
    """Boolean array marking days inside stretches of stale opens.

    A day has a stale open when ``|Open_t - Close_{t-1}| <= tol * Close_{t-1}`` (the data
    vendor copied the previous close instead of recording the opening trade; the first
    row has no previous close and does not count). Day t is flagged when

        share_t = (stale opens among the trailing ``window`` days ending at t)
                  / max(days counted in that window, ``min_days``)  >  ``threshold``.

    ``min_days`` only matters at the start of a file: a single coincidence in the first
    few days is not a stretch. The window is trailing, so the flag for day t uses rows up
    to t only and features built with it do not look ahead; the price is that a flagged
    stretch ends about ``window * (1 - threshold)`` days after the stale opens stop.
    """
    o = np.asarray(df["open"], dtype=float)
    c = np.asarray(df["close"], dtype=float)
    same = np.full(len(o), np.nan)
    same[1:] = np.abs(o[1:] - c[:-1]) <= tol * np.abs(c[:-1])
    rolling = pd.Series(same).rolling(window, min_periods=1)
    stale = np.nan_to_num(rolling.sum().to_numpy(), nan=0.0)
    counted = np.nan_to_num(rolling.count().to_numpy(), nan=0.0)
    return stale / np.maximum(counted, min_days) > threshold


def _stale_warning(data: DataFile, file: str) -> None:
    stale = data.facts.stale_open
    if stale is None:
        return
    mask = stale.to_numpy(dtype=bool)
    n = int(mask.sum())
    if n == 0:
        return
    days = stale.index[mask]
    stretches = int(np.sum(np.diff(np.r_[0, mask.astype(int)]) == 1))
    several = f" in {stretches} stretches" if stretches > 1 else ""
    message = (f"{file}: stale opens (Open = previous Close on most days) from {_day(days[0])} "
               f"to {_day(days[-1])}, {n} days{several}; "
               f"Garman-Klass, Rogers-Satchell and Yang-Zhang use Parkinson there")
    warnings.warn(message, UserWarning, stacklevel=3)


def _price_columns(header: list[str], file: str, options: ReadOptions = ReadOptions(), exclude=(),
                   notes=None) -> dict:
    """Output column -> position in the header. OHLC, or a close-only file (Date, Close[, Adj Close]); a file
    with a date and one value column (FRED's ``DATE,DCOILWTICO``) is read as closes (a note names the column);
    ``options.price_column`` names the close column (the file is then read close-only)."""
    notes = [] if notes is None else notes
    if options.price_column is not None:
        at = _find(header, (_key(options.price_column),), file, options.price_column,
                   expected=f"the column named by --price-column ({options.price_column!r})")
        notes.append(f"{file}: closes read from column {header[at]!r} (--price-column)")
        return {"close": at}
    close = _find(header, PRICE_COLUMNS["close"], file, "close", required=False)
    ranged = any(_find(header, PRICE_COLUMNS[k], file, k, required=False) is not None for k in RANGE_COLUMNS)
    if close is None and not ranged:
        values = [i for i, name in enumerate(header) if i not in exclude and name and _key(name) not in
                  (*DATE_ALIASES, "volume")]
        if len(values) == 1:
            notes.append(f"{file}: no Close column; the only value column {header[values[0]]!r} is read as the "
                         f"closes (--price-column NAME chooses another)")
            return {"close": values[0]}
        if len(values) > 1:
            shown = ", ".join(header[i] for i in values[:8]) + (", ..." if len(values) > 8 else "")
            raise _error(file, f"no Close column, and several value columns ({shown}); add --price-column NAME "
                               f"to say which holds the prices", row="header")
    close_only = not ranged
    found = {name: _find(header, keys, file, name, required=name in REQUIRED_PRICES and not close_only)
             for name, keys in PRICE_COLUMNS.items()}
    return {name: i for name, i in found.items() if i is not None}


def adjust_prices(df: pd.DataFrame) -> bool:
    """Scale Open, High, Low and Close by ``Adj Close / Close`` (in place) when the frame has both; True when
    anything was scaled.

    Vendors often leave OHLC unadjusted for splits (the close halves on a 2:1 split day) while Adj Close is
    adjusted; after this the whole bar is on the adjusted scale, so overnight returns and ranges carry no
    split jumps.
    """
    if "adj_close" in df and "close" in df:
        factor = df["adj_close"].to_numpy() / df["close"].to_numpy()
        if np.all(np.abs(factor - 1.0) <= 1e-12):
            return False   # already adjusted (a frame of read_prices given again): scaling would only add rounding
        for column in ("open", "high", "low", "close"):
            if column in df:
                df[column] = df[column].to_numpy() * factor
        return bool(np.any(factor != 1.0))
    return False


def _frame_from_columns(columns: dict, dates, names: dict, file: str, source: str, rows=None,
                        notes=(), skipped=None) -> DataFile:
    """Checked, adjusted price frame and its facts from parsed columns (``rows``: file row of each position;
    ``skipped``: the dates of the rows dropped for a missing price)."""
    df = pd.DataFrame(columns, index=dates)
    _check_prices(df, names, file, rows)
    # on the raw prices: vol.checks refuses impossible data and flags the suspicious (an unadjusted split in a
    # file without Adj Close among them); stale opens too, since adjusting perturbs Open == previous Close
    found = checks.check_prices(df, file)
    skipped = pd.DatetimeIndex([] if skipped is None else skipped)
    if len(skipped):
        found += checks.check_skipped(df.index, skipped, file)
    stale = detect_stale_opens(df) if "open" in df else np.zeros(len(df), dtype=bool)
    adjusted = adjust_prices(df)
    facts = FileFacts(source=source, kind="prices", close_only="open" not in df, adjusted=adjusted,
                      stale_open=pd.Series(stale, index=df.index, name="stale_open"), data_checks=tuple(found),
                      notes=tuple(notes), skipped=tuple(_day(d) for d in skipped))
    return DataFile(df, facts)


def _cells(header: list[str], body: pd.DataFrame, sep: str, file: str, options: ReadOptions, exclude=()):
    """The parsing shared by one-asset and long files: ``(dates, columns, names, rows, skipped, notes)``.

    The price columns are found (:func:`_price_columns`), decimal commas and day-first dates detected or taken
    from ``options``, and with ``options.missing == "skip"`` the rows with a missing price dropped (``rows``: the
    file row of each kept position; ``skipped``: the dates dropped). The dates are not yet checked for order."""
    notes = []
    date_at = _find(header, DATE_ALIASES, file, "date")
    found = _price_columns(header, file, options, exclude=(date_at, *exclude), notes=notes)
    names = {name: header[i] for name, i in found.items()}
    decimal = options.decimal or formats.detect_decimal([body[i] for i in found.values()], sep, file)
    if decimal == "," and options.decimal is None:
        notes.append(f"{file}: decimal commas read (1.234,56 is 1234.56); --decimal . reads them otherwise")
    dates = _parse_dates(body[date_at], file, header[date_at], options.dayfirst, notes)
    keep = np.ones(len(body), dtype=bool)
    if options.missing == "skip":
        for i in found.values():
            keep &= ~formats.missing_mask(body[i])
    rows = np.flatnonzero(keep) + 1
    skipped = dates[~keep]
    dates = dates[keep]
    hint = "" if options.missing == "skip" else _SKIP_HINT
    columns = {name: _parse_numbers(formats.apply_decimal(body[i][keep], decimal).reset_index(drop=True), dates,
                                    file, names[name], rows, hint)
               for name, i in found.items()}
    if options.missing == "skip" and len(skipped):
        notes.append(f"{file}: {len(skipped)} row(s) without a price skipped (--missing skip)")
    return dates, columns, names, rows, skipped, notes, header[date_at]


def _prices_from_table(header, body, sep, file: str, source: str, options: ReadOptions) -> DataFile:
    dates, columns, names, rows, skipped, notes, date_name = _cells(header, body, sep, file, options)
    _check_order(dates, file, date_name, rows=rows)
    return _frame_from_columns(columns, dates, names, file, source, rows=rows, notes=notes, skipped=skipped)


def _prices_from_bytes(data: bytes, file: str, source: str, max_mb: float = MAX_FILE_MB,
                       options: ReadOptions = ReadOptions()) -> DataFile:
    header, body, sep = _table(_decode(data, file, max_mb), file)
    header, body = _layout(header, body, file)
    return _prices_from_table(header, body, sep, file, source, options)


def read_prices(path, max_file_mb: float = MAX_FILE_MB, options: ReadOptions = ReadOptions(), **choices) -> DataFile:
    """Read and validate a CSV file of daily prices (optionally gzipped): the frame and its :class:`FileFacts`.

    Needs a date column (``date``, ``datetime``, ``timestamp`` or ``time``) and Open, High,
    Low, Close, or only Close (a close-only file: ``facts.close_only`` is true and only
    close-based models apply); Adj Close and Volume are optional, other columns are ignored.
    A file with a date and a single value column (FRED's ``DATE,DCOILWTICO``) is read as closes;
    ``price_column=NAME`` chooses the close column (the file is then close-only).
    When Adj Close is present, Open/High/Low/Close are scaled by Adj Close / Close
    (:func:`adjust_prices`: split-unadjusted bars become adjusted). Names match
    case-insensitively ignoring spaces and punctuation (``Adj Close`` = ``adj_close`` =
    ``adj. close``). The delimiter (comma, semicolon or tab) is the one found most often
    in the header line; decimal commas (``1.234,56``) and day-first dates (``31.01.2020``) are detected when
    the cells leave no doubt (``decimal=``, ``dayfirst=`` say so otherwise). ``missing="skip"`` drops the rows
    with a missing price (empty, ``.``, NA), counted in the facts' notes and listed in a data-check finding.
    Files over ``max_file_mb`` MB (after unpacking) are refused. ``choices``: the fields of :class:`ReadOptions`
    (``missing``, ``price_column``, ``decimal``, ``dayfirst``) instead of ``options``.

    The frame is float64, indexed by a ``DatetimeIndex`` named ``date`` with columns
    ``open, high, low, close`` (+ ``adj_close``, ``volume`` when present). The facts hold the file name,
    the stale-open days of :func:`detect_stale_opens` (one warning is issued when it flags any day) and the
    findings of :mod:`~tinygrad_trade.vol.data.checks` (one ``DataWarning`` each). Raises :class:`DataError`
    for any problem in the file.
    """
    options = ReadOptions(**choices) if choices else options
    file = os.fspath(path)
    data = _prices_from_bytes(_read_file(path, max_file_mb), file, os.path.basename(file), max_file_mb, options)
    _stale_warning(data, file)
    checks.warn(list(data.facts.data_checks))
    return data


def load_prices(path, max_file_mb: float = MAX_FILE_MB) -> pd.DataFrame:
    """The price frame of :func:`read_prices` (its facts dropped: a model fitted on the frame finds the
    stale opens again from the frame itself)."""
    return read_prices(path, max_file_mb).frame


def _embedded(name: str) -> bytes:
    return resources.files("tinygrad_trade.datasets").joinpath(name + ".gz").read_bytes()


def read_sp500() -> DataFile:
    """The embedded S&P 500 daily prices, 1999-01-04 to 2018-12-31 (5,031 rows), with its facts.

    Same format as :func:`read_prices`. Warns once about the stale opens of 1999-2006.
    """
    data = _prices_from_bytes(_embedded(SP500_FILE), SP500_FILE, SP500_FILE)
    _stale_warning(data, SP500_FILE)
    return data


def load_sp500() -> pd.DataFrame:
    """The frame of :func:`read_sp500`."""
    return read_sp500().frame


# --------------------------------------------------------------------------- realized variance


def _realized_from_bytes(data: bytes, file: str, source: str, column: str, max_mb: float = MAX_FILE_MB) -> DataFile:
    header, body = _layout(*_read_table(_decode(data, file, max_mb), file), file)
    expected = f"a header row like Date,{column} (realized variance in daily %^2)"
    date_at = _find(header, DATE_ALIASES, file, "date", expected=expected)
    rv_at = _find(header, (_key(column),), file, column, expected=expected)
    dates = _parse_dates(body[date_at], file, header[date_at])
    _check_order(dates, file, header[date_at])
    rv = _parse_numbers(body[rv_at], dates, file, header[rv_at])
    i = _first(rv <= 0)
    if i is not None:
        raise _error(file, f"realized variance must be > 0, got {float(rv[i])}",
                     row=i + 1, date=dates[i], column=header[rv_at])
    columns = {"rv": rv}
    for at, name in enumerate(header):
        if at in (date_at, rv_at) or not name:
            continue
        if not np.isfinite(pd.to_numeric(body[at], errors="coerce").to_numpy(float, na_value=np.nan)).any():
            continue  # a text column (no number at all): ignored
        out = name.lower() if name.lower() != "rv" else "rv_orig"
        if out in columns:
            raise _error(file, f"duplicate column name {name!r}", row="header", column=name)
        columns[out] = _parse_numbers(body[at], dates, file, name)
    df = pd.DataFrame(columns, index=dates)
    found = checks.check_realized(df, file, header[rv_at])
    return DataFile(df, FileFacts(source=source, kind="realized_variance", data_checks=tuple(found)))


def read_realized(path, column: str = "RV", max_file_mb: float = MAX_FILE_MB) -> DataFile:
    """Read and validate a CSV file of daily realized variance (optionally gzipped).

    Needs a date column and the realized-variance column named ``column`` (matched like
    the price columns); its values must be finite and > 0. Returns a float64 frame indexed
    by ``date`` with that column as ``rv`` followed by the file's other numeric columns,
    lower-cased (a column of text only is ignored; a column with some numbers must be all
    numbers; if ``column`` is not the file's ``RV``, that one is kept as ``rv_orig``).
    The facts name the file. Raises :class:`DataError` for any problem; the checks of
    :mod:`~tinygrad_trade.vol.checks` run as for :func:`load_prices`.
    """
    file = os.fspath(path)
    data = _realized_from_bytes(_read_file(path, max_file_mb), file, os.path.basename(file), column, max_file_mb)
    checks.warn(list(data.facts.data_checks))
    return data


def load_realized(path, column: str = "RV", max_file_mb: float = MAX_FILE_MB) -> pd.DataFrame:
    """The frame of :func:`read_realized`."""
    return read_realized(path, column, max_file_mb).frame


def read_sp500_rv() -> DataFile:
    """The embedded S&P 500 5-minute realized variance, 1997-04-08 to 2013-08-30 (4,096 rows).

    Units: daily percent squared. Columns ``rv`` and the file's other measures
    (``rq, rj, bpv, rvn, rvp, tpq, medrq, trrq, rq15min, rqboot``); see docs/data.md.
    """
    return _realized_from_bytes(_embedded(SP500_RV_FILE), SP500_RV_FILE, SP500_RV_FILE, "RV")


def load_sp500_rv() -> pd.DataFrame:
    """The frame of :func:`read_sp500_rv`."""
    return read_sp500_rv().frame


# --------------------------------------------------------------------------- checks for callers


def require_rows(data, n_needed: int, purpose: str) -> None:
    """Raise DataError "FILE has N rows; PURPOSE needs at least M" when the frame (or a :class:`DataFile`) is
    shorter than ``n_needed``."""
    source = data.facts.source if isinstance(data, DataFile) else "the data"
    df = data.frame if isinstance(data, DataFile) else data
    if len(df) < n_needed:
        raise DataError(f"{source} has {len(df)} rows; {purpose} needs at least {n_needed}")
