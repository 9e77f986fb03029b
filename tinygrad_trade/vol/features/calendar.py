"""The trading calendar of forecasts: the business days after the data's last day.

Holidays are not known: the calendar skips weekends only. :func:`extend_one_day` appends the placeholder
day that lets any model forecast the day after the data from the data before it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .dataset import Dataset

__all__ = ["business_days", "extend_one_day"]


def business_days(last_date, horizon: int) -> tuple[np.datetime64, np.datetime64]:
    """(first, last) business day (Mon-Fri) of the ``horizon`` trading days after ``last_date``.

    Holidays are not known: the calendar skips weekends only.
    """
    day = np.datetime64(last_date, "D")
    return (np.busday_offset(day, 1, roll="backward"), np.busday_offset(day, int(horizon), roll="backward"))


def extend_one_day(ds: Dataset) -> Dataset:
    """``ds`` plus one placeholder day after its end (next business day, every value NaN), so that
    ``model.predict(ext, n, n + 1)`` forecasts the day after the data from data before it."""
    nan1 = np.array([np.nan])
    nxt = business_days(ds.dates[-1], 1)[0]
    return dataclasses.replace(
        ds, dates=np.append(ds.dates, nxt).astype("datetime64[D]"), returns=np.append(ds.returns, nan1),
        daily=np.append(ds.daily, nan1), target=np.append(ds.target, nan1),
        proxies={k: np.append(v, nan1) for k, v in ds.proxies.items()})
