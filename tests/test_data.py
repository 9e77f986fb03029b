"""Loaders of tinygrad_trade.vol.data: every validation error, aliases, delimiters, embedded files."""

import gzip
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol.data import (
    read_prices, read_realized, read_sp500, read_sp500_rv,
    DataError,
    detect_stale_opens,
    load_prices,
    load_realized,
    load_sp500,
    load_sp500_rv,
    require_rows,
)

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD = "2019-01-02,10,11,9,10.5,10.4,100\n2019-01-03,10.6,12,10,11,10.9,200\n"


def write(tmp_path, text, name="prices.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def quiet_read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_prices(path, **kwargs)


def quiet_load(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices(path, **kwargs)


def error_of(load, path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    assert path.name in message, message
    return message


# ----------------------------------------------------------------------------- validation errors

# (file content, parts the message must contain: row and/or date, column, what is wrong)
PRICE_ERRORS = {
    "missing column": ("Date,Open,High,Close\n2019-01-02,1,2,1.5\n", ["header", "'low'", "missing"]),
    "missing date column": ("Day,Open,High,Low,Close\nx,1,2,1,1.5\n", ["header", "'date'", "missing"]),
    "ambiguous column": ("Date,Open,High,Low,Close,close\n2019-01-02,1,2,1,1.5,1\n", ["header", "ambiguous"]),
    "unparsable date": (HEADER + GOOD + "2019-13-45,11,12,10,11,11,1\n", ["row 3", "'Date'", "'2019-13-45'"]),
    "empty date": (HEADER + GOOD + ",11,12,10,11,11,1\n", ["row 3", "'Date'", "empty date"]),
    "duplicate date": (HEADER + GOOD + "2019-01-03,11,12,10,11,11,1\n",
                       ["row 3", "2019-01-03", "'Date'", "duplicate date", "row 2"]),
    "date goes back": (HEADER + GOOD + "2019-01-01,11,12,10,11,11,1\n",
                       ["row 3", "2019-01-01", "'Date'", "not increasing"]),
    "newest first": (HEADER + "2019-01-03,10.6,12,10,11,10.9,200\n2019-01-02,10,11,9,10.5,10.4,100\n",
                     ["row 2", "'Date'", "newest-first"]),
    "non-numeric": (HEADER + GOOD + "2019-01-04,abc,12,10,11,11,1\n", ["row 3", "2019-01-04", "'Open'", "non-numeric", "'abc'"]),
    "empty value": (HEADER + GOOD + "2019-01-04,11,,10,11,11,1\n", ["row 3", "2019-01-04", "'High'", "empty value"]),
    "NaN value": (HEADER + GOOD + "2019-01-04,11,12,NaN,11,11,1\n", ["row 3", "2019-01-04", "'Low'", "missing value 'NaN'"]),
    "infinite": (HEADER + GOOD + "2019-01-04,11,12,10,11,inf,1\n", ["row 3", "'Adj Close'", "infinite"]),
    "short row": (HEADER + GOOD + "2019-01-04,11,12,10\n", ["row 3", "'Close'", "empty value"]),
    "blank row": (HEADER + "2019-01-02,10,11,9,10.5,10.4,100\n\n2019-01-04,11,12,10,11,11,1\n",
                  ["row 2", "'Date'", "empty date"]),
    "non-positive price": (HEADER + GOOD + "2019-01-04,11,12,-1,11,11,1\n", ["row 3", "2019-01-04", "'Low'", "non-positive"]),
    "zero adj close": (HEADER + GOOD + "2019-01-04,11,12,10,11,0,1\n", ["row 3", "'Adj Close'", "non-positive"]),
    "negative volume": (HEADER + GOOD + "2019-01-04,11,12,10,11,11,-5\n", ["row 3", "'Volume'", "negative volume"]),
    "high below low": (HEADER + GOOD + "2019-01-04,11,10,12,11,11,1\n", ["row 3", "2019-01-04", "'High'", "High < Low"]),
    "open above high": (HEADER + GOOD + "2019-01-04,13,12,10,11,11,1\n", ["row 3", "2019-01-04", "'Open'", "outside [Low, High]"]),
    "open below low": (HEADER + GOOD + "2019-01-04,9,12,10,11,11,1\n", ["row 3", "'Open'", "outside"]),
    "close above high": (HEADER + GOOD + "2019-01-04,11,12,10,12.5,11,1\n", ["row 3", "'Close'", "outside"]),
    "close below low": (HEADER + GOOD + "2019-01-04,11,12,10,9,11,1\n", ["row 3", "2019-01-04", "'Close'", "outside"]),
    "too many fields": (HEADER + GOOD + "2019-01-04,11,12,10,11,11,1,7\n", ["row 3", "8 fields", "header has 7"]),
    "unclosed quote": (HEADER + GOOD + '2019-01-04,"11,12,10,11,11,1\n', ["row 3", "quote"]),
    "empty file": ("", ["empty file"]),
    "blank file": ("\n  \n\n", ["empty file"]),
    "header only": (HEADER, ["header only"]),
    "binary": (b"Date,Open\x00\x01\x02\n\x00\x00", ["binary"]),
    "undecodable": (HEADER.encode() + b"2019-01-02,1\xe9,2,1,1,1,1\n", ["UTF-8", "0xe9"]),
    "corrupt gzip": (b"\x1f\x8b\x08\x00garbage", ["gzip"]),
}


@pytest.mark.parametrize("case", list(PRICE_ERRORS))
def test_price_validation_errors(tmp_path, case):
    text, parts = PRICE_ERRORS[case]
    message = error_of(load_prices, write(tmp_path, text))
    for part in parts:
        assert part in message, (case, message)


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "nope.csv", tmp_path):
        with pytest.raises(DataError, match="cannot read file") as info:
            load_prices(path)
        assert "\n" not in str(info.value)


def test_errors_are_value_errors(tmp_path):
    with pytest.raises(ValueError):
        load_prices(write(tmp_path, HEADER))


def test_first_problem_row_is_reported(tmp_path):
    rows = "".join(f"2019-02-{d:02d},10,11,9,10.5,10.5,1\n" for d in range(1, 21))
    message = error_of(load_prices, write(tmp_path, HEADER + rows + "2019-03-01,10,11,9,x,10,1\n"))
    assert "row 21 (2019-03-01)" in message and "'Close'" in message


# ----------------------------------------------------------------------------- formats and aliases


def test_semicolon_delimiter_and_aliases(tmp_path):
    text = ("timestamp;OPEN;high;Low;close;adj_close;VOLUME;ticker\n"
            "2019-01-02;10;11;9;10.5;5;1;X\n2019-01-03;10.6;12;10;11;6;2;X\n")
    df = quiet_load(write(tmp_path, text))
    assert list(df.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert df.index.name == "date" and isinstance(df.index, pd.DatetimeIndex)
    assert df["adj_close"].tolist() == [5.0, 6.0]
    assert (df.dtypes == np.float64).all()


def test_tab_delimiter_and_punctuated_names(tmp_path):
    text = ("Datetime\tOpen\tHigh\tLow\tClose*\tAdj. Close**\n"
            "2019-01-02 00:00:00-05:00\t10\t11\t9\t10.5\t5\n2019-07-03 00:00:00-04:00\t10.6\t12\t10\t11\t6\n")
    df = quiet_load(write(tmp_path, text))
    assert list(df.columns) == ["open", "high", "low", "close", "adj_close"]
    assert list(df.index) == [pd.Timestamp("2019-01-02"), pd.Timestamp("2019-07-03")]


@pytest.mark.parametrize("date_name", ["date", "Date", "DATE", "time", "datetime", "timestamp"])
def test_date_aliases(tmp_path, date_name):
    df = quiet_load(write(tmp_path, f"{date_name},open,high,low,close\n2019-01-02,10,11,9,10.5\n"))
    assert df.index[0] == pd.Timestamp("2019-01-02")
    assert "adj_close" not in df and "volume" not in df


@pytest.mark.parametrize("adj_name", ["Adj Close", "adj_close", "adjclose", "adj. close", "Adjusted Close"])
def test_adj_close_aliases(tmp_path, adj_name):
    df = quiet_load(write(tmp_path, f"Date,Open,High,Low,Close,{adj_name}\n2019-01-02,10,11,9,10.5,7\n"))
    assert df["adj_close"].iloc[0] == 7.0


def test_adj_close_used_for_returns(tmp_path):
    from tinygrad_trade.vol.features import log_returns

    text = HEADER + "2019-01-02,10,11,9,10,5,1\n2019-01-03,10.5,12,10,11,6,1\n"
    df = quiet_load(write(tmp_path, text))
    assert log_returns(df).iloc[1] == pytest.approx(100 * np.log(6 / 5))
    raw = pd.DataFrame({"close": [10.0, 11.0]}, index=df.index)   # without Adj Close the close is used
    assert log_returns(raw).iloc[1] == pytest.approx(100 * np.log(11 / 10))


def test_ohlc_adjusted_by_adj_close_over_close(tmp_path):
    """A 2:1 split: the raw close halves, Adj Close does not; after loading the whole bar is adjusted."""
    text = HEADER + "2019-01-02,100,104,98,102,51,1\n2019-01-03,51.5,52,50,51,51,1\n"
    loaded = quiet_read(write(tmp_path, text))
    df = loaded.frame
    np.testing.assert_allclose(df["close"], [51.0, 51.0])
    np.testing.assert_allclose(df.iloc[0][["open", "high", "low"]], [50.0, 52.0, 49.0])
    np.testing.assert_allclose(df.iloc[1][["open", "high", "low"]], [51.5, 52.0, 50.0])
    assert loaded.facts.adjusted is True
    from tinygrad_trade.vol.features import garman_klass, parkinson
    # the overnight gap no longer shows the split: Open_t / Close_{t-1} is about 1, not 1/2
    assert df["open"].iloc[1] / df["close"].iloc[0] == pytest.approx(51.5 / 51)
    assert np.isfinite(parkinson(df)).all() and np.isfinite(garman_klass(df)).all()


def test_other_date_formats_crlf_bom_and_gzip(tmp_path):
    text = "\ufeffDate,Open,High,Low,Close\r\n20190102,10,11,9,10.5\r\n20190103,10.6,12,10,11\r\n\r\n"
    df = quiet_load(write(tmp_path, text))
    assert list(df.index) == [pd.Timestamp("2019-01-02"), pd.Timestamp("2019-01-03")]
    us = quiet_load(write(tmp_path, "Date,Open,High,Low,Close\n01/31/2019,10,11,9,10.5\n02/01/2019,10,11,9,10.5\n"))
    assert us.index[0] == pd.Timestamp("2019-01-31")
    packed = write(tmp_path, gzip.compress((HEADER + GOOD).encode()), "prices.csv.gz")
    loaded = quiet_read(packed)
    assert len(loaded.frame) == 2 and loaded.facts.source == "prices.csv.gz"


def test_price_file_facts(tmp_path):
    loaded = quiet_read(write(tmp_path, HEADER + GOOD))
    assert loaded.facts.source == "prices.csv" and loaded.facts.kind == "prices" and not loaded.facts.close_only
    stale = loaded.facts.stale_open
    assert isinstance(stale, pd.Series) and stale.dtype == bool and stale.shape == (2,)
    assert stale.index.equals(loaded.frame.index)


# ----------------------------------------------------------------------------- realized variance

RV_HEADER = "Date,RV,RQ,Name\n"


def test_realized_loader(tmp_path):
    loaded = read_realized(write(tmp_path, RV_HEADER + "2019-01-02,1.5,0.1,a\n2019-01-03,2,0.2,b\n", "rv.csv"))
    df = loaded.frame
    assert list(df.columns) == ["rv", "rq"]  # the text column is ignored
    assert df["rv"].tolist() == [1.5, 2.0] and df.index.name == "date"
    assert loaded.facts.source == "rv.csv" and loaded.facts.kind == "realized_variance"
    other = load_realized(write(tmp_path, RV_HEADER + "2019-01-02,1.5,0.1,a\n", "rv.csv"), column="rq")
    assert other["rv"].tolist() == [0.1] and other["rv_orig"].tolist() == [1.5]


REALIZED_ERRORS = {
    "zero rv": (RV_HEADER + "2019-01-02,1.5,0.1,a\n2019-01-03,0,0.2,b\n", ["row 2", "2019-01-03", "'RV'", "> 0"]),
    "negative rv": (RV_HEADER + "2019-01-02,-1.5,0.1,a\n", ["row 1", "'RV'", "> 0"]),
    "missing rv column": ("Date,RQ\n2019-01-02,0.1\n", ["header", "'RV'", "missing"]),
    "NaN rv": (RV_HEADER + "2019-01-02,nan,0.1,a\n", ["row 1", "'RV'", "missing value"]),
    "bad other column": (RV_HEADER + "2019-01-02,1,0.1,a\n2019-01-03,1,x,b\n", ["row 2", "'RQ'", "non-numeric"]),
    "duplicate date": (RV_HEADER + "2019-01-02,1,0.1,a\n2019-01-02,1,0.1,b\n", ["row 2", "'Date'", "duplicate"]),
    "header only": (RV_HEADER, ["header only"]),
}


@pytest.mark.parametrize("case", list(REALIZED_ERRORS))
def test_realized_validation_errors(tmp_path, case):
    text, parts = REALIZED_ERRORS[case]
    message = error_of(load_realized, write(tmp_path, text, "rv.csv"))
    for part in parts:
        assert part in message, (case, message)


def test_require_rows(tmp_path):
    df = quiet_read(write(tmp_path, HEADER + GOOD))
    require_rows(df, 2, "a fit")
    with pytest.raises(DataError, match=r"^prices.csv has 2 rows; HAR-22 needs at least 23$"):
        require_rows(df, 23, "HAR-22")


# ----------------------------------------------------------------------------- stale opens


def test_detect_stale_opens_marks_the_stretch():
    close = 100 + np.arange(60.0)
    open_ = close - 0.5
    open_[1:30] = close[:29]  # rows 1..29: Open = previous Close
    df = pd.DataFrame({"open": open_, "high": close + 1, "low": open_ - 1, "close": close})
    flags = detect_stale_opens(df, window=10)
    # causal: a row is flagged once more than half of the counted days (at least 10) are stale,
    # and stays flagged until the trailing 10-day share drops to one half
    assert not flags[:6].any() and flags[6:30].all()
    assert flags[30:34].all() and not flags[34:].any()
    assert not detect_stale_opens(df.iloc[30:], window=10).any()


def test_sp500_stale_opens_warn_once_and_flag_1999_2006():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = read_sp500()
    df = loaded.frame
    stale_warnings = [w for w in caught if "stale opens" in str(w.message)]
    assert len(stale_warnings) == 1 and issubclass(stale_warnings[0].category, UserWarning)
    message = str(stale_warnings[0].message)
    assert "\n" not in message and "sp500_daily_1999_2018.csv" in message
    flagged = df.index[loaded.facts.stale_open.to_numpy()]
    assert pd.Timestamp("1999-01-04") <= flagged[0] <= pd.Timestamp("1999-01-31")
    assert pd.Timestamp("2005-06-01") <= flagged[-1] <= pd.Timestamp("2006-12-31")
    assert f"{flagged[0]:%Y-%m-%d}" in message and f"{flagged[-1]:%Y-%m-%d}" in message
    assert str(len(flagged)) in message
    # one stretch: every day between the first and last flagged day is flagged
    assert len(flagged) == len(df.loc[flagged[0]:flagged[-1]])


def test_user_file_warns_once(tmp_path):
    rows = [f"{d.date()},{100 + i},{102 + i},{98 + i},{100 + i + 1}" for i, d in
            enumerate(pd.bdate_range("2019-01-01", periods=40))]
    rows = [r.split(",") for r in rows]
    for i in range(1, 40):
        rows[i][1] = rows[i - 1][4]  # every Open equals the previous Close
    text = "Date,Open,High,Low,Close\n" + "\n".join(",".join(r) for r in rows) + "\n"
    with pytest.warns(UserWarning, match="stale opens") as caught:
        load_prices(write(tmp_path, text))
    assert len(caught) == 1


# ----------------------------------------------------------------------------- embedded files


def test_embedded_sp500_round_trip():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = read_sp500()
    df = loaded.frame
    assert len(df) == 5031
    assert df.index[0] == pd.Timestamp("1999-01-04") and df.index[-1] == pd.Timestamp("2018-12-31")
    assert list(df.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert (df.dtypes == np.float64).all() and not df.isna().any().any()
    assert df.index.is_monotonic_increasing and df.index.is_unique and df.index.name == "date"
    assert loaded.facts.source == "sp500_daily_1999_2018.csv"
    assert df["close"].iloc[-1] == pytest.approx(2506.850098)
    assert (df["adj_close"] == df["close"]).all()
    # the facts travel beside the frame: a sliced or pickled frame is a plain frame
    assert pd.concat([df.iloc[:10], df.iloc[10:]]).shape == df.shape
    assert pickle.loads(pickle.dumps(loaded)).facts.stale_open.sum() == loaded.facts.stale_open.sum()


def test_embedded_rv_round_trip():
    loaded = read_sp500_rv()
    rv = loaded.frame
    assert len(rv) == 4096
    assert rv.index[0] == pd.Timestamp("1997-04-08") and rv.index[-1] == pd.Timestamp("2013-08-30")
    assert list(rv.columns) == ["rv", "rq", "rj", "bpv", "rvn", "rvp", "tpq", "medrq", "trrq",
                                "rq15min", "rqboot"]
    assert not rv.isna().any().any() and (rv["rv"] > 0).all()
    assert rv["rv"].mean() == pytest.approx(1.175, abs=5e-4)  # daily %^2, as documented
    assert loaded.facts.source == "sp500_rv5min_1997_2013.csv"
