"""Daily variance proxies and leak-free forecasting features (numpy / pandas only).

Units: returns in percent, variances in percent squared (%^2 per day), i.e. every
variance below is multiplied by 100^2. Every function returns a pandas object aligned
to its input's index, with NaN where a value is not defined (e.g. the first return).

No look-ahead: the value of every feature at day t depends on rows up to t only
(checked by property tests); :func:`make_supervised` pairs features of day t with
targets of days after t.

Stale opens: the Open-based estimators (Garman-Klass, Rogers-Satchell, Yang-Zhang) use
Parkinson instead on days flagged in an explicit ``stale`` argument (the loaders' facts,
:class:`~tinygrad_trade.vol.data.records.FileFacts`), else on the days
:func:`~tinygrad_trade.vol.data.loading.detect_stale_opens` finds in the frame itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.loading import detect_stale_opens

__all__ = ["SCALE", "LN2", "PROXIES", "log_returns", "squared_returns", "parkinson", "garman_klass",
           "rogers_satchell", "yang_zhang", "proxy", "har_features", "leverage", "make_supervised",
           "chronological_split", "StandardScaler"]

SCALE = 100.0**2  # (log-return)^2 -> %^2
LN2 = np.log(2.0)
PROXIES = ("r2", "parkinson", "gk", "rs", "yz", "rv")


# --------------------------------------------------------------------------- helpers


def _series(x, name=None) -> pd.Series:
    """A float Series of ``x`` (numpy input gets a RangeIndex)."""
    if isinstance(x, pd.DataFrame):
        raise TypeError("expected a Series (one column), got a DataFrame")
    index = x.index if isinstance(x, pd.Series) else None
    return pd.Series(np.asarray(x, dtype=float), index=index, name=name or getattr(x, "name", None))


def _out(values, df, name: str) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=df.index, name=name)


def _ohlc(df: pd.DataFrame):
    return tuple(np.asarray(df[k], dtype=float) for k in ("open", "high", "low", "close"))


def _stale(df: pd.DataFrame, stale) -> np.ndarray:
    """Boolean array (one per row of df) of days whose Open is not to be used.

    ``stale`` may be None (the stale opens :func:`detect_stale_opens` finds in ``df``), False (none), a
    boolean Series indexed by date (re-aligned to df, as the loaders' facts give it) or an array of len(df).
    """
    if stale is None:
        return detect_stale_opens(df) if "open" in df and "close" in df else np.zeros(len(df), dtype=bool)
    if stale is False:
        return np.zeros(len(df), dtype=bool)
    if isinstance(stale, pd.Series):
        aligned = stale.reindex(df.index)
        if aligned.isna().any():
            raise ValueError(f"stale has no entry for {aligned.isna().sum()} of the frame's dates")
        return aligned.to_numpy(dtype=bool)
    mask = np.asarray(stale, dtype=bool)
    if mask.shape != (len(df),):
        raise ValueError(f"stale has {mask.size} entries but the frame has {len(df)} rows "
                         "(pass stale= as a boolean Series indexed by date)")
    return mask


def _rolling(x: np.ndarray, window: int) -> pd.core.window.Rolling:
    return pd.Series(x).rolling(window, min_periods=window)


# --------------------------------------------------------------------------- returns and proxies


def log_returns(df) -> pd.Series:
    """Close-to-close log returns in percent: ``r_t = 100 * ln(P_t / P_{t-1})``.

    P is ``adj_close`` when the frame has it, else ``close`` (a Series is taken as P).
    ``r`` is NaN on the first row.
    """
    if isinstance(df, pd.Series):
        price = df.to_numpy(dtype=float)
    else:
        price = np.asarray(df["adj_close"] if "adj_close" in df.columns else df["close"], dtype=float)
    r = np.full(len(price), np.nan)
    r[1:] = 100.0 * np.log(price[1:] / price[:-1])
    return _out(r, df, "r")


def squared_returns(df) -> pd.Series:
    """Squared close-to-close return, %^2: ``r_t^2`` with r from :func:`log_returns`."""
    return _out(log_returns(df).to_numpy() ** 2, df, "r2")


def parkinson(df: pd.DataFrame) -> pd.Series:
    """Parkinson (1980) range estimator, %^2: ``100^2 * (ln(H/L))^2 / (4 ln 2)``.

    Uses High and Low only, so stale opens do not affect it.
    """
    _, h, l, _ = _ohlc(df)
    return _out(SCALE * np.log(h / l) ** 2 / (4 * LN2), df, "parkinson")


def garman_klass(df: pd.DataFrame, stale=None) -> pd.Series:
    """Garman-Klass (1980) estimator, %^2:
    ``100^2 * (0.5 (ln(H/L))^2 - (2 ln 2 - 1) (ln(C/O))^2)``.

    Never negative (|ln(C/O)| <= ln(H/L)). Parkinson on stale-open days (see module doc).
    """
    o, h, l, c = _ohlc(df)
    gk = SCALE * (0.5 * np.log(h / l) ** 2 - (2 * LN2 - 1) * np.log(c / o) ** 2)
    gk = np.where(_stale(df, stale), parkinson(df).to_numpy(), gk)
    return _out(gk, df, "gk")


def rogers_satchell(df: pd.DataFrame, stale=None) -> pd.Series:
    """Rogers-Satchell (1991) estimator, %^2:
    ``100^2 * (ln(H/C) ln(H/O) + ln(L/C) ln(L/O))``.

    Never negative, allows for a drift. Parkinson on stale-open days.
    """
    o, h, l, c = _ohlc(df)
    rs = SCALE * (np.log(h / c) * np.log(h / o) + np.log(l / c) * np.log(l / o))
    rs = np.where(_stale(df, stale), parkinson(df).to_numpy(), rs)
    return _out(rs, df, "rs")


def yang_zhang(df: pd.DataFrame, window: int = 22, stale=None) -> pd.Series:
    """Yang-Zhang (2000) estimator over the trailing ``window`` = n days ending at t, %^2.

    With overnight returns ``o_i = ln(O_i / C_{i-1})``, open-to-close returns
    ``c_i = ln(C_i / O_i)`` and ``RS_i`` the Rogers-Satchell term of day i::

        V_O  = sum (o_i - mean o)^2 / (n - 1)      V_C = sum (c_i - mean c)^2 / (n - 1)
        V_RS = sum RS_i / n                         k   = 0.34 / (1.34 + (n + 1) / (n - 1))
        YZ_t = 100^2 * (V_O + k V_C + (1 - k) V_RS)

    sums over i = t-n+1..t. It is the average daily variance over the window, NaN on the
    first n rows (day 0 has no overnight return). When the window holds any stale-open
    day, YZ_t is replaced by the window mean of Parkinson, ``sum PK_i / n``.
    """
    n = int(window)
    if n < 2:
        raise ValueError(f"yang_zhang needs window >= 2, got {window}")
    o, h, l, c = _ohlc(df)
    overnight = np.full(len(o), np.nan)
    overnight[1:] = np.log(o[1:] / c[:-1])
    intraday = np.log(c / o)
    rs = np.log(h / c) * np.log(h / o) + np.log(l / c) * np.log(l / o)
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    var_o = _rolling(overnight, n).var(ddof=1).to_numpy()
    var_c = _rolling(intraday, n).var(ddof=1).to_numpy()
    var_rs = _rolling(rs, n).mean().to_numpy()
    yz = SCALE * (var_o + k * var_c + (1 - k) * var_rs)
    stale_in_window = _rolling(_stale(df, stale).astype(float), n).max().to_numpy() > 0
    pk_mean = _rolling(parkinson(df).to_numpy(), n).mean().to_numpy()
    yz = np.where(stale_in_window & ~np.isnan(yz), pk_mean, yz)
    return _out(yz, df, "yz")


_PROXY_FUNCTIONS = {
    "r2": squared_returns,
    "parkinson": parkinson,
    "gk": garman_klass,
    "rs": rogers_satchell,
    "yz": yang_zhang,
}


def proxy(df: pd.DataFrame, name: str, stale=None) -> pd.Series:
    """The daily variance proxy ``name`` (%^2): one of "r2", "parkinson", "gk", "rs",
    "yz" (price frames, defaults of the functions above; ``stale`` as for them) or "rv" (the ``rv`` column of a
    realized-variance frame)."""
    if name == "rv":
        if "rv" not in df.columns:
            raise ValueError("proxy 'rv' needs a realized-variance frame with an 'rv' column")
        return _out(df["rv"], df, "rv")
    if name not in _PROXY_FUNCTIONS:
        raise ValueError(f"unknown proxy {name!r}; choose one of {', '.join(PROXIES)}")
    if name in ("gk", "rs", "yz"):
        return _PROXY_FUNCTIONS[name](df, stale=stale)
    return _PROXY_FUNCTIONS[name](df)


# --------------------------------------------------------------------------- HAR and leverage


def har_features(x, windows=(1, 5, 22), log: bool = False, floor: float = 1e-4) -> pd.DataFrame:
    """HAR regressors (Corsi 2009): trailing means of ``x`` over each window.

    Column ``h{w}`` at day t is ``mean(x_{t-w+1}, ..., x_t)`` (day t included), NaN until
    w values are available or when one of them is NaN. With ``log=True`` the column is
    ``ln(max(mean, floor))``: the mean is floored *before* the log, so a zero proxy (a
    zero return, or High == Low) gives ``ln(floor)`` instead of -inf. The default floor
    1e-4 %^2 is a daily volatility of 0.01%, far below any real day of the S&P 500.
    """
    x = _series(x)
    columns = {}
    for w in windows:
        if int(w) != w or w < 1:
            raise ValueError(f"HAR windows must be positive integers, got {w!r}")
        mean = _rolling(x.to_numpy(), int(w)).mean().to_numpy()
        columns[f"h{int(w)}"] = np.log(np.maximum(mean, floor)) if log else mean
    if len(columns) != len(windows):
        raise ValueError(f"HAR windows must be distinct, got {tuple(windows)}")
    return pd.DataFrame(columns, index=x.index)


def leverage(r, squared: bool = False) -> pd.Series:
    """Negative-return (leverage) feature of returns ``r`` (in %).

    ``squared=False``: ``neg_r_t = min(r_t, 0)`` (%; the HAR-with-leverage regressor of
    Corsi and Reno 2012, suited to log-HAR). ``squared=True``: ``neg_r2_t = r_t^2 * 1{r_t < 0}``
    (%^2, the GJR-style term; the one to use in a HAR on variance levels, because it has
    the target's units). NaN where r is NaN.
    """
    r = _series(r)
    values = r.to_numpy()
    if squared:
        return pd.Series(values**2 * (values < 0), index=r.index, name="neg_r2")
    return pd.Series(np.minimum(values, 0.0), index=r.index, name="neg_r")


# --------------------------------------------------------------------------- supervised framing


def make_supervised(features: pd.DataFrame, target: pd.Series, horizon: int = 1):
    """Pair the features of day t with the mean target over days t+1..t+h.

    Returns ``(X, y, target_dates)``: ``X`` holds the rows of ``features`` (known at the
    close of day t; the index is the feature date t), ``y_t = mean(target_{t+1}, ...,
    target_{t+h})`` and ``target_dates`` (a DatetimeIndex, or the index type of the input,
    aligned with X) is the date of day t+h, the last day of the target (t+1 when h = 1).
    Rows where a feature or y is NaN are dropped, including the last h rows.
    ``features`` and ``target`` must have the same index.
    """
    h = int(horizon)
    if h != horizon or h < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    if not features.index.equals(target.index):
        raise ValueError("features and target must have the same index")
    values = np.asarray(target, dtype=float)
    y = _rolling(values, h).mean().shift(-h).to_numpy()  # y[t] = mean(values[t+1 .. t+h])
    target_dates = pd.Series(target.index).shift(-h).to_numpy()
    keep = features.notna().all(axis=1).to_numpy() & ~np.isnan(y)
    X = features.loc[keep].copy()
    y = pd.Series(y[keep], index=X.index, name="y")
    return X, y, pd.Index(target_dates[keep], name="target_date")


def chronological_split(n: int, val_frac: float = 0.2, test_frac: float = 0.0, gap: int = 0):
    """Slices ``(train, val, test)`` of ``range(n)``, in time order, never shuffled.

    Layout: ``[train][gap][val][gap][test]``; val and test take ``round(n * frac)`` rows
    (test empty when ``test_frac`` is 0). Use ``gap = horizon - 1`` so that multi-day
    targets of the training rows do not overlap the validation days.
    """
    if not (0 <= val_frac < 1 and 0 <= test_frac < 1 and gap >= 0):
        raise ValueError("need 0 <= val_frac < 1, 0 <= test_frac < 1 and gap >= 0")
    n_val, n_test = round(n * val_frac), round(n * test_frac)
    gaps = gap * ((n_val > 0) + (n_test > 0))
    n_train = n - n_val - n_test - gaps
    if n_train < 1:
        raise ValueError(f"{n} rows are too few for val_frac={val_frac}, test_frac={test_frac}, gap={gap}")
    val_start = n_train + (gap if n_val else 0)
    test_start = val_start + n_val + (gap if n_test else 0)
    return slice(0, n_train), slice(val_start, val_start + n_val), slice(test_start, test_start + n_test)


class StandardScaler:
    """Standardise columns with the mean and standard deviation (ddof=0) of the rows
    given to :meth:`fit` -- fit on the training rows only, then transform the others.

    Works on DataFrames (same index and columns back), Series and numpy arrays (1-D is
    one column). A constant column gets scale 1. NaN is refused.
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None
        self.columns_ = None

    def fit(self, X) -> "StandardScaler":
        a = self._array(X)
        if a.shape[0] == 0:
            raise ValueError("StandardScaler.fit needs at least one row")
        self.columns_ = list(X.columns) if isinstance(X, pd.DataFrame) else None
        self.mean_ = a.mean(axis=0)
        scale = a.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X):
        return self._wrap(X, (self._checked(X) - self.mean_) / self.scale_)

    def inverse_transform(self, X):
        return self._wrap(X, self._checked(X) * self.scale_ + self.mean_)

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    @staticmethod
    def _array(X) -> np.ndarray:
        a = np.asarray(X, dtype=float)
        if np.isnan(a).any():
            raise ValueError("StandardScaler: input has NaN")
        return a

    def _checked(self, X) -> np.ndarray:
        if self.mean_ is None:
            raise ValueError("StandardScaler is not fitted; call fit on the training rows first")
        if self.columns_ is not None and isinstance(X, pd.DataFrame) and list(X.columns) != self.columns_:
            raise ValueError(f"columns {list(X.columns)} differ from the fitted {self.columns_}")
        a = self._array(X)
        if a.shape[1:] != np.shape(self.mean_):
            raise ValueError(f"expected {np.size(self.mean_)} column(s), got shape {a.shape}")
        return a

    @staticmethod
    def _wrap(X, a):
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(a, index=X.index, columns=X.columns)
        if isinstance(X, pd.Series):
            return pd.Series(a, index=X.index, name=X.name)
        return a
