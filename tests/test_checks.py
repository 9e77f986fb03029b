"""Suspicious data is flagged, impossible data refused (vol.checks), and the file layouts of issue 16."""
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.data import checks, loading as data
from tinygrad_trade.vol.data import DataError

N = 400


def _prices(adj=False, start="2010-01-01"):
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, N)))
    dates = pd.bdate_range(start, periods=N)
    df = pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Open": close * 1.001, "High": close * 1.01,
                       "Low": close * 0.99, "Close": close})
    if adj:
        df["Adj Close"] = close
    return df


def _write(tmp_path, df, name="p.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def _load(path, loader=data.read_prices, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = loader(path, *args)
    return df, [str(w.message) for w in caught if issubclass(w.category, checks.DataWarning)]


def _scale(df, rows, factor, cols=("Open", "High", "Low", "Close", "Adj Close")):
    for c in cols:
        if c in df:
            df.loc[rows, c] = df.loc[rows, c] * factor
    return df


@pytest.mark.parametrize("kind, make, date", [
    ("units", lambda d: _scale(d, d.index >= 200, 100.0), "2010-10-08"),    # row 200
    ("split", lambda d: _scale(d, d.index < 200, 2.0), "2010-10-08"),
    ("spike", lambda d: _scale(d, d.index == 200, 10.0), "2010-10-08"),
    ("gap", lambda d: d.drop(index=range(200, 230)).reset_index(drop=True), "2010-10-07"),  # row 199
])
def test_suspicious_prices_are_flagged_with_the_date(tmp_path, kind, make, date):
    df, warned = _load(_write(tmp_path, make(_prices())))
    found = list(df.facts.data_checks)
    assert [f.kind for f in found] == [kind] and found[0].date == date
    assert len(warned) == 1 and date in warned[0] and "p.csv" in warned[0]


def test_split_with_adj_close_and_clean_files_are_quiet(tmp_path):
    assert list(_load(_write(tmp_path, _prices()))[0].facts.data_checks) == []
    split = _scale(_prices(adj=True), slice(0, 199), 2.0, cols=("Open", "High", "Low", "Close"))
    assert list(_load(_write(tmp_path, split))[0].facts.data_checks) == []   # Adj Close is continuous
    crash = _scale(_prices(), slice(200, None), 0.5)   # halved with a wide range that day: a crash
    crash.loc[200, "High"] = crash.loc[199, "Close"]
    assert "split" not in [f.kind for f in list(_load(_write(tmp_path, crash))[0].facts.data_checks)]


@pytest.mark.parametrize("edit, words", [
    (lambda d: d.assign(High=np.where(d.index == 5, 1e13, d.High)), "not a plausible price"),
    (lambda d: d.assign(Date=pd.bdate_range(pd.Timestamp.now().normalize() - pd.Timedelta(days=300),
                                            periods=N).strftime("%Y-%m-%d")), "after today"),
    (lambda d: d.assign(Open=10.0, High=10.0, Low=10.0, Close=10.0), "no price moves"),
])
def test_impossible_prices_are_refused_in_one_line(tmp_path, capsys, edit, words):
    path = _write(tmp_path, edit(_prices()))
    with pytest.raises(DataError, match=words):
        data.load_prices(path)
    rc = main(["forecast", "--csv", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and words in err and not (tmp_path / "o").exists()


def test_far_future_date_names_file_and_row(tmp_path, capsys):
    path = tmp_path / "f.csv"
    path.write_text("Date,Open,High,Low,Close\n2020-01-02,10,11,9,10\n9999-12-31,10,11,9,10\n")
    assert main(["garch", "--csv", str(path)]) == 2
    err = capsys.readouterr().err
    assert "f.csv, row 2" in err and "9999-12-31" in err and len(err.strip().splitlines()) == 1


def test_garch_on_one_row_names_the_file(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("Date,Open,High,Low,Close\n2020-01-02,10,11,9,10\n")
    assert main(["garch", "--csv", str(path)]) == 2
    err = capsys.readouterr().err
    assert "one.csv" in err and len(err.strip().splitlines()) == 1


def _rv(scale=1.0, start="2010-01-01"):
    rng = np.random.default_rng(2)
    rv = np.exp(rng.normal(-0.5, 0.8, N)) * scale
    return pd.DataFrame({"Date": pd.bdate_range(start, periods=N).strftime("%Y-%m-%d"), "RV": rv})


def test_realized_variance_in_decimal_units_is_flagged(tmp_path, capsys):
    assert list(_load(_write(tmp_path, _rv()), data.read_realized)[0].facts.data_checks) == []
    df, warned = _load(_write(tmp_path, _rv(1e-4), "rv.csv"), data.read_realized)
    assert [f.kind for f in list(df.facts.data_checks)] == ["rv_units"] and "10000" in warned[0]
    mixed = _rv()
    mixed.loc[200:, "RV"] *= 1e-4
    assert [f.kind for f in list(_load(_write(tmp_path, mixed), data.read_realized)[0].facts.data_checks)] == ["units"]


def test_findings_reach_stderr_and_the_report(tmp_path, capsys):
    big = pd.concat([_prices(start="2005-01-03")] * 1).reset_index(drop=True)
    path = _write(tmp_path, _scale(big, big.index == 300, 10.0))
    rc = main(["forecast", "--csv", str(path), "--out", str(tmp_path / "o"), "--models", "ewma,har",
               "--start", "2006-03-01", "--refit-every", "63", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0 and "spike" in err and "2006-02-27" in err
    report = (tmp_path / "o" / "report.md").read_text()
    assert "## Data checks" in report and "2006-02-27" in report


# ---------------------------------------------------------------------------- layouts (issue 16)
def test_yfinance_three_header_rows_and_headerless_dates(tmp_path):
    body = "2020-01-02,72.7,73.0,71.5,71.6,135480400\n2020-01-03,72.0,72.9,71.9,72.1,146322800\n"
    yf = tmp_path / "yf.csv"
    yf.write_text("Price,Close,High,Low,Open,Volume\nTicker,AAPL,AAPL,AAPL,AAPL,AAPL\nDate,,,,,\n" + body)
    df = data.load_prices(yf)
    assert list(df.columns) == ["open", "high", "low", "close", "volume"] and df["close"].iloc[0] == 72.7
    nh = tmp_path / "nh.csv"
    nh.write_text(",Close,High,Low,Open,Volume\n" + body)
    assert data.load_prices(nh).index[1] == pd.Timestamp("2020-01-03")
    two = tmp_path / "two.csv"
    two.write_text("Price,Close,Close\nTicker,AAPL,MSFT\nDate,,\n2020-01-02,1,2\n")
    with pytest.raises(DataError, match="one ticker per file"):
        data.load_prices(two)
    odd = tmp_path / "odd.csv"
    odd.write_text("when,price\n2020-01-02,1\n")
    with pytest.raises(DataError, match="expected a header row like Date,Open,High,Low,Close"):
        data.load_prices(odd)


def test_input_size_limit(tmp_path, capsys, monkeypatch):
    assert main(["garch", "--csv", "/dev/zero"]) == 2
    err = capsys.readouterr().err
    assert "/dev/zero: a device" in err and len(err.strip().splitlines()) == 1
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as fh:
        fh.truncate(3 * 2**30)                # 3 GB, sparse: nothing is read
    assert main(["garch", "--csv", str(huge)]) == 2
    err = capsys.readouterr().err
    assert "huge.csv" in err and "--max-file-mb" in err and len(err.strip().splitlines()) == 1
    path = _write(tmp_path, _prices())
    with pytest.raises(DataError, match="limit"):
        data.load_prices(path, max_file_mb=0.001)
    import gzip
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"Date,Open,High,Low,Close\n" + b" " * 3_000_000))
    with pytest.raises(DataError, match="unpacked"):
        data.load_prices(bomb, max_file_mb=1)
    small = tmp_path / "small.csv"
    with open(small, "wb") as fh:
        fh.truncate(2**20)
    assert main(["garch", "--csv", str(small), "--max-file-mb", "0.5"]) == 2
    assert "0.5 MB" in capsys.readouterr().err
    assert data.MAX_FILE_MB == 512            # the option is an argument: no global changes


def test_list_with_spaces_and_help_text(capsys):
    assert main(["forecast", "--models", "har,", "garch", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "forecast" in err and "har,garch" in err and '"har, garch"' in err
    with pytest.raises(SystemExit):
        main(["garch", "--help"])
    assert "%%" not in capsys.readouterr().out


def test_long_constant_stretch_is_one_line(tmp_path, capsys):
    df = _prices(start="2005-01-03")
    df.loc[:350, ["Open", "High", "Low", "Close"]] = 10.0   # a year of stale quotes, then movement
    path = _write(tmp_path, df)
    rc = main(["forecast", "--csv", str(path), "--out", str(tmp_path / "o"), "--models", "ewma",
               "--start", "2006-03-01", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "unchanging" in err   # a model failed
