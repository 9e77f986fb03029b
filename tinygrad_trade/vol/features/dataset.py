"""Build a :class:`~tinygrad_trade.vol.base.Dataset` from a daily price frame or a realized-variance frame.

Index ``t`` of every array is one trading day (the frame's row ``t``)::

    returns[t] = 100 ln(C_t / C_{t-1})            (% log close-to-close; Adj Close when present; nan at t = 0)
    proxies[name][t]                             daily variance proxy of day t in %^2 ("r2", "parkinson", ...)
    daily[t]  = proxies[target][t]
    target[t] = mean(daily[t .. t+h-1])          nan where not yet known (the last h-1 days, and day 0 for "r2")

A forecast of ``target[t]`` may use data of days ``0..t-1`` only (see ``vol.base``).

Price frames are those of :func:`tinygrad_trade.vol.data.load_prices` (columns ``open, high, low,
close`` and optionally ``adj_close``, a ``DatetimeIndex``); realized-variance frames are those of
:func:`tinygrad_trade.vol.data.load_realized` (column ``rv`` in daily %^2 and any other numeric
columns). The proxies come from :mod:`tinygrad_trade.vol.features` (``proxy(df, name)``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.records import DataFile
from . import proxies as features

__all__ = ["Dataset", "PRICE_TARGETS", "DEFAULT_PRICE_PROXIES", "RV_PROXIES", "HORIZONS",
           "build_dataset", "build_rv_dataset", "forward_mean", "check_index", "dataset_from_returns",
           "dataset_to_frame"]

PRICE_TARGETS = ("r2", "parkinson", "gk", "rs", "yz")   # --target choices for price files
DEFAULT_PRICE_PROXIES = ("r2", "parkinson")             # always in ds.proxies for price data
OPEN_PROXIES = ("gk",)                                   # also there when the frame has an Open column
RV_PROXIES = ("rv", "bpv", "rvn", "rvp")               # taken from an RV frame when present ("rv" always)
HORIZONS = (1, 5, 22)                                    # documented; any positive integer works


@dataclass
class Dataset:
    dates: np.ndarray                  # datetime64[D], one per trading day
    returns: np.ndarray                # % log close-to-close returns; returns[0] is nan
    daily: np.ndarray                  # the daily variance proxy that defines the target (e.g. r^2), %^2
    target: np.ndarray                 # mean of `daily` over t..t+h-1 (nan where not yet known)
    proxies: dict = field(default_factory=dict)   # name -> daily array in %^2 (e.g. "parkinson", "r2")
    horizon: int = 1
    source: str = ""
    target_name: str = "r2"

    def __len__(self):
        return len(self.dates)

    def to_frame(self):
        """The dataset as a pandas DataFrame indexed by date (:func:`dataset_to_frame`)."""
        return dataset_to_frame(self)

    def last_known(self, end: int) -> int:
        """Index one past the last target day usable for a fit that must not see day `end`:
        target[t] is known at the close of day t+h-1, so t + h - 1 < end."""
        return max(0, end - self.horizon + 1)



def _check_horizon(horizon) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    return int(horizon)


def forward_mean(daily: np.ndarray, horizon: int) -> np.ndarray:
    """``out[t] = mean(daily[t .. t+h-1])``; nan when that window leaves the array or holds a nan."""
    daily = np.asarray(daily, dtype=float)
    h = _check_horizon(horizon)
    n = daily.size
    out = np.full(n, np.nan)
    if h == 1:
        return daily.copy()
    if n >= h:
        # a sliding-window mean; nan anywhere in the window propagates (np.convolve would smear it)
        win = np.lib.stride_tricks.sliding_window_view(daily, h)
        out[: n - h + 1] = win.mean(axis=1)
    return out


def _dates(index) -> np.ndarray:
    try:
        idx = pd.DatetimeIndex(index)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the frame's index must hold dates ({exc})") from None
    return idx.values.astype("datetime64[D]")


def _unpack(data, source):
    """``(frame, stale-open days or None, source)`` of a frame or a :class:`DataFile`."""
    if isinstance(data, DataFile):
        return data.frame, data.facts.stale_open, str(source if source is not None else data.facts.source)
    return data, None, str(source or "")


# ------------------------------------------------------------------------------------ features
def _as_array(x, n: int, what: str) -> np.ndarray:
    a = np.asarray(getattr(x, "values", x), dtype=float).reshape(-1)
    if a.size != n:
        raise ValueError(f"{what} has {a.size} values for {n} days")
    return a


def _log_returns(df) -> np.ndarray:
    return _as_array(features.log_returns(df), len(df), "log_returns")


def _proxy(df, name: str, stale=None) -> np.ndarray:
    return _as_array(features.proxy(df, name, stale=stale), len(df), f"proxy {name!r}")


# ------------------------------------------------------------------------------------ builders
def build_dataset(data, target: str = "r2", horizon: int = 1,
                  proxies=DEFAULT_PRICE_PROXIES, source: str | None = None) -> Dataset:
    """Dataset from daily prices: a :class:`~tinygrad_trade.vol.data.records.DataFile` of
    ``vol.data.read_prices`` (its facts give the stale opens and the source) or a price frame.

    ``target`` names the daily variance proxy that defines ``y`` (``"r2"``: squared % log
    close-to-close return, the default; ``"parkinson"``, ``"gk"``, ``"rs"``, ``"yz"``), and
    ``ds.target[t]`` is its mean over days ``t..t+horizon-1``. ``ds.proxies`` holds ``"r2"``,
    ``"parkinson"``, ``"gk"`` when the frame has an Open column (Garman-Klass, Parkinson on stale-open
    days: the ``pooled`` model's range inputs), every name in ``proxies`` and the target's proxy; a close-only frame
    (no Open/High/Low, target ``"r2"``) gets ``"r2"`` only. ``source``
    defaults to the file's name in its facts. Raises ``ValueError`` for an unknown target or
    missing columns.
    """
    if target == "rv":
        raise ValueError("target 'rv' needs a realized-variance file (--rv FILE), not prices")
    if target not in PRICE_TARGETS:
        raise ValueError(f"unknown target {target!r} for price data (choose from {', '.join(PRICE_TARGETS)})")
    df, stale, source = _unpack(data, source)
    h = _check_horizon(horizon)
    if "close" not in df:
        raise ValueError("price frame lacks column(s) close")
    missing = [c for c in ("high", "low") if c not in df]
    if missing and "open" not in df and target == "r2":
        names = ["r2"]   # a close-only frame: squared returns only (models needing ranges refuse it)
    elif missing:
        raise ValueError(f"price frame lacks column(s) {', '.join(missing)}"
                         + (f" (target {target!r} needs Open/High/Low)" if "open" not in df else ""))
    else:
        opened = OPEN_PROXIES if "open" in df else ()
        names = list(dict.fromkeys([*DEFAULT_PRICE_PROXIES, *opened, *proxies, target]))
    prox = {name: _proxy(df, name, stale) for name in names}
    returns = _log_returns(df)
    daily = prox[target]
    return Dataset(
        dates=_dates(df.index),
        returns=returns,
        daily=daily,
        target=forward_mean(daily, h),
        proxies=prox,
        horizon=h,
        source=source,
        target_name=target,
    )


def build_rv_dataset(data, horizon: int = 1, source: str | None = None) -> Dataset:
    """Dataset from daily realized variance (a DataFile of ``vol.data.read_realized``, or its frame).

    The target is ``rv`` (daily %^2) averaged over ``t..t+horizon-1``; ``ds.proxies`` holds
    ``"rv"`` and, when the file has them, ``"bpv"``, ``"rvn"``, ``"rvp"``. There are no prices,
    so ``ds.returns`` is all nan (return-based models and the backtest do not apply).
    """
    df_rv, _, source = _unpack(data, source)
    h = _check_horizon(horizon)
    if "rv" not in df_rv:
        raise ValueError("realized-variance frame lacks the 'rv' column")
    n = len(df_rv)
    prox = {name: np.asarray(df_rv[name], dtype=float).copy() for name in RV_PROXIES if name in df_rv}
    daily = prox["rv"]
    return Dataset(
        dates=_dates(df_rv.index),
        returns=np.full(n, np.nan),
        daily=daily,
        target=forward_mean(daily, h),
        proxies=prox,
        horizon=h,
        source=source,
        target_name="rv",
    )


# ------------------------------------------------------------------------------------ frames
def check_index(obj, what: str = "the data") -> pd.DatetimeIndex:
    """The index of a Series/DataFrame as dates; ValueError unless it is sorted increasingly and unique."""
    idx = obj.index
    try:
        dates = pd.DatetimeIndex(idx)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: the index must hold dates, got {idx.dtype}") from None
    if not dates.is_unique:
        dup = dates[dates.duplicated()][0]
        raise ValueError(f"{what}: the index is not unique ({dup.date()} appears twice)")
    if not dates.is_monotonic_increasing:
        i = int(np.flatnonzero(np.diff(dates.asi8) < 0)[0])
        raise ValueError(f"{what}: the index is not sorted ({dates[i + 1].date()} comes after {dates[i].date()})")
    return dates

def dataset_from_returns(returns: pd.Series, horizon: int = 1) -> Dataset:
    """A Dataset from a dated Series of % returns: proxy and target r^2 (for return-only models).

    A placeholder day (NaN) is put before the first return, as a price file's first day, so that every
    return is used.
    """
    dates = check_index(returns, "returns")
    r = np.asarray(returns, dtype=float)
    if r.size < 2 or not np.all(np.isfinite(r)):
        raise ValueError("returns: need at least 2 values, all finite")
    first = np.busday_offset(np.datetime64(dates[0].date(), "D"), -1, roll="forward")
    d = np.concatenate(([first], dates.values.astype("datetime64[D]")))
    r = np.concatenate(([np.nan], r))
    r2 = r * r
    return Dataset(dates=d, returns=r, daily=r2, target=forward_mean(r2, horizon), proxies={"r2": r2},
                   horizon=int(horizon), source=str(returns.name or "returns"), target_name="r2")

def dataset_to_frame(ds: Dataset) -> pd.DataFrame:
    """A Dataset as a DataFrame indexed by date: returns, daily, target and every proxy."""
    cols = {"returns": ds.returns, "daily": ds.daily, "target": ds.target}
    cols.update({f"proxy_{k}": v for k, v in ds.proxies.items()})
    return pd.DataFrame(cols, index=pd.DatetimeIndex(ds.dates.astype("datetime64[ns]"), name="date"))
