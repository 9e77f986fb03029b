"""The nets' inputs: HAR-type features (every column of row ``t`` from days ``<= t-1``) and the GRU's per-day inputs.

Kept apart from the forecasters (:mod:`.neural`) so that a reader finds what a net sees in one place.
"""
from __future__ import annotations

import numpy as np

from ..features.dataset import Dataset
from ..features.proxies import har_features

__all__ = ["har_inputs", "daily_inputs", "WINDOWS", "R2_OFFSET", "LOG_FLOOR"]

WINDOWS = (1, 5, 22)
R2_OFFSET = 0.1          # %^2 added to squared returns before the log (a 0.3% daily move)
LOG_FLOOR = 1e-4         # %^2, floor of other proxies before the log (as vol.features.har_features)


def _lag(a: np.ndarray) -> np.ndarray:
    out = np.full(a.shape, np.nan)
    out[1:] = a[:-1]
    return out


def _log_proxy(x: np.ndarray, name: str) -> np.ndarray:
    return np.log(x + R2_OFFSET) if name == "r2" else np.log(np.maximum(x, LOG_FLOOR))


def _choose_proxies(ds: Dataset, proxies):
    if proxies is None:
        proxies = tuple(p for p in ("parkinson", "r2") if p in ds.proxies) or (ds.target_name,)
    missing = [p for p in proxies if p not in ds.proxies]
    if missing:
        raise ValueError(f"the dataset has no proxy {missing[0]!r} (has {', '.join(ds.proxies)})")
    return tuple(proxies)


def _choose_leverage(ds: Dataset, leverage) -> bool:
    if leverage is None:
        return bool(np.isfinite(ds.returns).sum() > 1)
    if leverage and not np.isfinite(ds.returns).sum() > 1:
        raise ValueError("leverage=True needs daily returns, and the dataset has none")
    return bool(leverage)


def har_inputs(ds: Dataset, proxies=None, leverage=None, windows=WINDOWS):
    """``(names, X)``: HAR-type inputs, ``X[t]`` from days ``<= t-1`` (NaN until the windows are full).

    For each proxy (default ``"parkinson"`` and ``"r2"``) the log of its mean over each window
    (``ln(mean + 0.1)`` for ``"r2"``, ``ln max(mean, 1e-4)`` otherwise), then with ``leverage`` (default:
    when the dataset has returns) the mean of ``min(r, 0)`` over each window.
    """
    proxies = _choose_proxies(ds, proxies)
    cols, names = [], []
    for p in proxies:
        m = har_features(np.asarray(ds.proxies[p], dtype=float), windows=windows).to_numpy()
        cols.append(_log_proxy(m, p))
        names += [f"ln_{p}_{w}" for w in windows]
    if _choose_leverage(ds, leverage):
        cols.append(har_features(np.minimum(np.asarray(ds.returns, dtype=float), 0.0), windows=windows).to_numpy())
        names += [f"neg_{w}" for w in windows]
    return names, _lag(np.concatenate(cols, axis=1))


def daily_inputs(ds: Dataset, proxies=None, leverage=None):
    """``(names, D)``: per-day inputs of the GRU, ``D[d]`` of day ``d`` itself (not lagged; the window
    of row ``t`` is ``D[t-L:t]``): the log of each proxy and ``min(r_d, 0)``."""
    proxies = _choose_proxies(ds, proxies)
    cols = [_log_proxy(np.asarray(ds.proxies[p], dtype=float), p) for p in proxies]
    names = [f"ln_{p}" for p in proxies]
    if _choose_leverage(ds, leverage):
        cols.append(np.minimum(np.asarray(ds.returns, dtype=float), 0.0))
        names.append("neg")
    return names, np.column_stack(cols)
