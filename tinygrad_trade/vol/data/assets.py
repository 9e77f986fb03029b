"""A universe of assets: several price files, one long file with an asset column, or the embedded universe.

    from tinygrad_trade.vol.data.assets import read_universe, load_universe, load_embedded_universe
    frames = load_universe(["aapl.csv", "ibm.csv"])      # {"aapl": frame, "ibm": frame}
    frames = load_universe(["stocks.csv"])               # a Ticker/Symbol/Asset column: {"AAPL": ..., ...}
    frames = load_embedded_universe()                    # {"SP500": ..., "AAPL": ..., "GOOG": ..., "IBM": ...}

Each frame is what :func:`tinygrad_trade.vol.data.load_prices` returns (checked, OHLC adjusted by
Adj Close / Close). An asset is named by its file's stem, or by the value of the asset column. Assets may
cover different dates. Asset names must be unique; close-only and OHLC assets may be mixed (each asset runs the
models its columns allow). Any problem raises :class:`~tinygrad_trade.vol.data.DataError`
with one line naming the file (and the row, for a long file's rows: rows are counted in the whole file).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from . import checks
from . import loading as vdata
from .loading import DataError
from .records import DataFile, ReadOptions

__all__ = ["ASSET_COLUMNS", "STOCKS_FILE", "SP500_ASSET", "load_universe", "load_embedded_universe", "read_universe",
           "read_embedded_universe",
           "asset_name", "is_close_only"]

ASSET_COLUMNS = ("ticker", "symbol", "asset")   # header keys of a long file's asset column, by priority
STOCKS_FILE = "stocks_2000_2013.csv"
SP500_ASSET = "SP500"


def asset_name(path) -> str:
    """The asset named by a file: its stem without ``.csv``/``.gz`` (``data/AAPL.csv.gz`` -> ``AAPL``)."""
    name = os.path.basename(os.fspath(path))
    for suffix in (".gz", ".csv", ".txt", ".tsv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or os.path.basename(os.fspath(path))


def is_close_only(data) -> bool:
    """True for a close-only file's :class:`DataFile` (or a frame without Open/High/Low)."""
    if isinstance(data, DataFile):
        return data.facts.close_only
    return "high" not in data


def _asset_column(header: list, file: str):
    return vdata._find(header, ASSET_COLUMNS, file, "asset", required=False)


def _long_frames(header: list, body, file: str, source: str, asset_at: int, sep: str = ",",
                 options: ReadOptions = ReadOptions()) -> dict:
    """Split a long file into one checked frame per asset (first-appearance order)."""
    assets = body[asset_at]
    empty = np.flatnonzero((assets == "").to_numpy())
    if empty.size:
        raise vdata._error(file, "empty asset name", row=int(empty[0]) + 1, column=header[asset_at])
    dates, columns, names, rows, skipped, notes, date_name = vdata._cells(header, body, sep, file, options,
                                                                          exclude=(asset_at,))
    kept = assets.to_numpy()[rows - 1]
    lost = assets.to_numpy()[np.setdiff1d(np.arange(len(body)), rows - 1)]
    frames = {}
    for asset in dict.fromkeys(assets):
        pos = np.flatnonzero(kept == asset)
        sub_dates = dates[pos]
        vdata._check_order(sub_dates, f"{file} ({asset})", date_name, rows=rows[pos])
        sub = {name: values[pos] for name, values in columns.items()}
        mine = skipped[lost == asset] if len(skipped) else skipped
        frames[asset] = vdata._frame_from_columns(sub, sub_dates, names, f"{file} ({asset})", f"{source}:{asset}",
                                                  rows=rows[pos], notes=notes, skipped=mine)
    return frames


def _frames_of_file(path, max_file_mb: float, options: ReadOptions = ReadOptions()) -> dict:
    """``{asset: DataFile}`` of one file: a long file gives several assets, any other file one."""
    file = os.fspath(path)
    raw = vdata._decode(vdata._read_file(path, max_file_mb), file, max_file_mb)
    header, body, sep = vdata._table(raw, file)
    asset_at = _asset_column(header, file)
    source = os.path.basename(file)
    if asset_at is None:
        return {asset_name(file): vdata._prices_from_bytes(raw.encode("utf-8"), file, source, options=options)}
    return _long_frames(header, body, file, source, asset_at, sep, options)


def read_universe(paths, max_file_mb: float = vdata.MAX_FILE_MB, options: ReadOptions = ReadOptions()) -> dict:
    """``{asset: DataFile}`` from one or more price files (see the module docstring), each read with ``options``
    (:class:`~tinygrad_trade.vol.data.records.ReadOptions`).

    Raises :class:`DataError` for an unreadable or bad file (an empty file included) or two assets with the same
    name. Close-only and OHLC assets may be mixed (each runs the models its columns allow). Each asset's warnings (stale opens, the data checks of
    :mod:`~tinygrad_trade.vol.checks`) are issued once.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise DataError("no price files given")
    frames, origin = {}, {}
    for path in paths:
        file = os.fspath(path)
        got = _frames_of_file(path, max_file_mb, options)
        for name, df in got.items():
            if name in frames:
                raise DataError(f"{file}: duplicate asset name {name!r} (also in {origin[name]}); "
                                "rename one of the files")
            frames[name], origin[name] = df, file
    for name, data in frames.items():   # the loaders' warnings, once per asset
        vdata._stale_warning(data, origin[name] if data.facts.source == os.path.basename(origin[name])
                             else f"{origin[name]} ({name})")
        checks.warn(list(data.facts.data_checks))
    return frames


def load_universe(paths, max_file_mb: float = vdata.MAX_FILE_MB, options: ReadOptions = ReadOptions()) -> dict:
    """``{asset: price frame}``: the frames of :func:`read_universe`."""
    return {name: data.frame for name, data in read_universe(paths, max_file_mb, options).items()}


def read_embedded_universe() -> dict:
    """The embedded universe as ``{asset: DataFile}``: the S&P 500 (1999-2018) and AAPL, GOOG, IBM (2000-2013),
    adjusted OHLC.

    Stale-open warnings are not raised (they are documented in docs/data.md).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = {SP500_ASSET: vdata.read_sp500()}
        raw = vdata._decode(vdata._embedded(STOCKS_FILE), STOCKS_FILE)
        header, body = vdata._read_table(raw, STOCKS_FILE)
        frames.update(_long_frames(header, body, STOCKS_FILE, STOCKS_FILE, _asset_column(header, STOCKS_FILE)))
    return frames


def load_embedded_universe() -> dict:
    """``{asset: price frame}``: the frames of :func:`read_embedded_universe`."""
    return {name: data.frame for name, data in read_embedded_universe().items()}
