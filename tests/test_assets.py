"""Universes of assets: several files, a long file, the embedded universe, close-only files, bad universes."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.assets import asset_name, load_embedded_universe, load_universe
from tinygrad_trade.vol.data import DataError

from test_universe import synthetic_prices


def _write(path, df, adj=None, close_only=False, ticker=None):
    out = pd.DataFrame({"Date": df.index.strftime("%Y-%m-%d")})
    if ticker is not None:
        out.insert(0, "Ticker", ticker)
    if not close_only:
        out["Open"], out["High"], out["Low"] = df["open"].values, df["high"].values, df["low"].values
    out["Close"] = df["close"].values
    if adj is not None:
        out["Adj Close"] = adj
    out.to_csv(path, index=False, float_format="%.10g")
    return path


def quiet(fn, *a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a)


def test_embedded_universe_is_adjusted_and_dated_per_asset():
    u = load_embedded_universe()
    assert list(u) == ["SP500", "AAPL", "GOOG", "IBM"]
    assert [len(u[k]) for k in u] == [5031, 3270, 2148, 3270]
    assert str(u["GOOG"].index[0].date()) == "2004-08-19" and str(u["AAPL"].index[-1].date()) == "2013-03-01"
    aapl = u["AAPL"]
    np.testing.assert_allclose(aapl["close"], aapl["adj_close"])
    # the 2:1 split of 2005-02-28: raw closes halve, adjusted ones do not; the bar stays consistent
    gap = aapl["close"].loc["2005-02-28"] / aapl["close"].loc["2005-02-25"]
    assert 0.9 < gap < 1.1
    assert (aapl["low"] <= aapl["open"] * (1 + 1e-12)).all() and (aapl["open"] <= aapl["high"] * (1 + 1e-12)).all()


def test_split_adjustment_of_a_user_file(tmp_path):
    df = synthetic_prices(300)
    raw = df.copy()
    raw.iloc[150:, :] *= 2.0     # the file's OHLC is "unadjusted": prices before day 150 are half
    adj = df["close"].values * 2.0   # Adj Close continuous on the later scale
    u = quiet(load_universe, [_write(tmp_path / "X.csv", raw, adj=adj)])
    got = u["X"]
    for col in ("open", "high", "low", "close"):
        np.testing.assert_allclose(got[col], df[col] * 2.0, rtol=1e-8)


def test_several_files_and_a_long_file(tmp_path):
    a, b = synthetic_prices(300, seed=1), synthetic_prices(260, seed=2, start="2010-03-01")
    files = [_write(tmp_path / "AAA.csv", a), _write(tmp_path / "BBB.csv", b)]
    u = quiet(load_universe, files)
    assert list(u) == ["AAA", "BBB"] and len(u["BBB"]) == 260
    long = pd.concat([pd.read_csv(files[0]).assign(Symbol="AAA"), pd.read_csv(files[1]).assign(Symbol="BBB")])
    long.to_csv(tmp_path / "long.csv", index=False)
    v = quiet(load_universe, [tmp_path / "long.csv"])
    assert list(v) == ["AAA", "BBB"]
    for k in u:
        pd.testing.assert_frame_equal(u[k], v[k], check_exact=False, rtol=1e-12)
    assert asset_name("data/AAPL.csv.gz") == "AAPL"


def test_long_file_errors_name_the_file_row(tmp_path):
    a = synthetic_prices(30, seed=1)
    f = _write(tmp_path / "long.csv", pd.concat([a, a]), ticker=["A"] * 30 + ["B"] * 30)
    lines = f.read_text().splitlines()
    lines[45] = lines[45].replace(lines[45].split(",")[2], "oops", 1)   # row 45 of the file: asset B
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"long.csv, row 45 .*column 'Open'"):
        quiet(load_universe, [f])
    g = _write(tmp_path / "dup.csv", pd.concat([a, a.iloc[[3]]]), ticker=["A"] * 31)
    with pytest.raises(DataError, match=r"dup.csv \(A\), row 31 .*not increasing"):
        quiet(load_universe, [g])


@pytest.mark.parametrize("case", ["duplicate", "empty"])
def test_bad_universes_are_one_line_errors(tmp_path, capsys, case):
    a = synthetic_prices(300, seed=1)
    good = _write(tmp_path / "AAA.csv", a)
    if case == "duplicate":
        (tmp_path / "sub").mkdir()
        other = _write(tmp_path / "sub" / "AAA.csv", a)
        expected = "duplicate asset name 'AAA'"
    elif case == "empty":
        other = tmp_path / "EMPTY.csv"
        other.write_text("")
        expected = "EMPTY.csv: empty file"
    else:
        other = _write(tmp_path / "CLOSE.csv", a, close_only=True)
        expected = "close-only"
    rc = main(["forecast", "--csv", str(good), str(other), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and expected in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_close_only_files(tmp_path, capsys):
    df = synthetic_prices(420, seed=1)
    f = _write(tmp_path / "C.csv", df, adj=df["close"].values * 0.5, close_only=True)
    g = _write(tmp_path / "D.csv", synthetic_prices(420, seed=2), close_only=True)
    out = tmp_path / "out"
    rc = main(["forecast", "--csv", str(f), str(g), "--start", "2011-03-01", "--refit-every", "63",
               "--models", "ewma,har_r2", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["assets"]) == {"C", "D"} and set(m["assets"]["C"]["models"]) == {"ewma", "har_r2"}
    rc = main(["forecast", "--csv", str(f), "--models", "ewma,har", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "model 'har' needs the columns Open, High, Low" in err and "C.csv" in err
    assert len(err.strip().splitlines()) == 1


def test_unadjusted_split_without_adj_close_is_warned_with_its_date(tmp_path):
    from tinygrad_trade.vol.checks import DataWarning

    raw = synthetic_prices(300)
    raw.iloc[150:, :] /= 2.0     # a 2:1 split the file does not adjust for, and no Adj Close column
    f = _write(tmp_path / "S.csv", raw)
    with pytest.warns(DataWarning, match=raw.index[150].strftime("%Y-%m-%d")):
        load_universe([f, _write(tmp_path / "T.csv", synthetic_prices(300, seed=5))])
