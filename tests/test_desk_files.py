"""The files a desk has at hand, tried as a new user would (issue 23): each runs right on the first try or stops with
one line naming the option to add, and then gives the numbers of a clean file of the same data.

The nine files are synthetic but shaped like the real ones, built from the embedded data: FRED's WTI (``DATE,
DCOILWTICO`` with ``.`` on holidays), a VIX-like close-only series with jumps, Yahoo's single-header and yfinance's
multi-header exports (raw OHLC unadjusted for AAPL's 2:1 split of 2005-02-28, Adj Close adjusted), a lowercase
export with ``adj close``, a European one (``;``, decimal commas, ``dd.mm.yyyy``), a mixed universe (OHLC and
close-only), a file with an unadjusted split and an output folder holding the user's own report.md.
"""
import json

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.data import read_prices
from tinygrad_trade.vol.data.assets import read_embedded_universe
from tinygrad_trade.vol.jobs.config import ForecastConfig
from tinygrad_trade.vol.jobs.forecast import run_forecast

MODELS = "ewma,garch,gjr,har"
RUN = ["--start", "2005-01-03", "--refit-every", "126", "--quiet"]


@pytest.fixture(scope="module")
def aapl_raw():
    """AAPL 2004-2005 as the embedded long file has it: raw OHLC (unadjusted for the 2005 split), Adj Close."""
    import gzip
    from importlib import resources
    raw = resources.files("tinygrad_trade.datasets").joinpath("stocks_2000_2013.csv.gz").read_bytes()
    df = pd.read_csv(pd.io.common.BytesIO(gzip.decompress(raw)), dtype={"Date": str})
    df = df[(df["Ticker"] == "AAPL") & (df["Date"] >= "2004-01-01") & (df["Date"] <= "2005-12-31")]
    return df.drop(columns="Ticker").reset_index(drop=True)


@pytest.fixture(scope="module")
def sp500_close():
    """The embedded S&P 500 closes of 2004-2005 (Date, Close)."""
    frame = read_embedded_universe()["SP500"].frame
    frame = frame.loc["2004-01-01":"2005-12-31"]
    return pd.DataFrame({"Date": frame.index.strftime("%Y-%m-%d"), "Close": frame["close"].to_numpy()})


def _adjusted_clean(raw: pd.DataFrame) -> pd.DataFrame:
    """What a clean file holds: the bars scaled by Adj Close / Close, no Adj Close column."""
    f = raw["Adj Close"] / raw["Close"]
    return pd.DataFrame({"Date": raw["Date"], **{c: raw[c] * f for c in ("Open", "High", "Low", "Close")},
                         "Volume": raw["Volume"]})


def _write(path, frame: pd.DataFrame, **kw):
    frame.to_csv(path, index=False, float_format=None, **kw)
    return str(path)


CLOSE_MODELS = "ewma,garch,gjr"


def _run(args, out, capsys, models=MODELS):
    rc = main(["forecast", *args, "--models", models, *RUN, "--out", str(out)])
    captured = capsys.readouterr()
    return rc, captured.err


def _quick(csv, models=MODELS, **reading) -> dict:
    """The QLIKE figures of a run without output files (the plots take most of a run's time)."""
    config = ForecastConfig(csv=csv, models=tuple(models.split(",")), start=RUN[1], refit_every=126, quiet=True,
                            out=None, **reading)
    return _numbers(run_forecast(config).metrics)


def _numbers(out) -> dict:
    m = out if isinstance(out, dict) else json.loads((out / "metrics.json").read_text())
    per_asset = m["assets"] if "assets" in m else {"": m}
    return {a: {k: v["qlike"] for k, v in am["models"].items()} for a, am in per_asset.items()}


def _forecasts(out) -> pd.DataFrame:
    return pd.read_csv(out / "forecasts.csv")


# --------------------------------------------------------------------------- the nine files
def test_yahoo_exports_single_multi_lowercase_european_equal_a_clean_file(aapl_raw, tmp_path, capsys):
    """Yahoo (single header), yfinance (Price/Ticker/Date rows), lowercase with 'adj close' and a European export
    (';', decimal commas, dd.mm.yyyy) of AAPL with its unadjusted 2005 split all run on the first try and give the
    numbers of a clean adjusted file."""
    clean = _write(tmp_path / "clean.csv", _adjusted_clean(aapl_raw))
    ref = _quick(clean)[""]
    single = _write(tmp_path / "yahoo.csv", aapl_raw)
    cols = ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
    multi = tmp_path / "yfinance.csv"
    lines = ["Price," + ",".join(cols), "Ticker," + ",".join(["AAPL"] * len(cols)), "Date" + "," * len(cols)]
    lines += [",".join([r["Date"]] + [repr(float(r[c])) for c in cols]) for _, r in aapl_raw.iterrows()]
    multi.write_text("\n".join(lines) + "\n")
    lower = _write(tmp_path / "lower.csv", aapl_raw.rename(columns=str.lower))
    euro = aapl_raw.copy()
    euro["Date"] = pd.to_datetime(euro["Date"]).dt.strftime("%d.%m.%Y")
    euro_path = tmp_path / "euro.csv"
    euro_lines = [";".join(euro.columns)] + [";".join([r["Date"]] + [repr(float(r[c])).replace(".", ",")
                                                                      for c in euro.columns[1:]])
                                              for _, r in euro.iterrows()]
    euro_path.write_text("\n".join(euro_lines) + "\n")
    numbers = {}
    for name, path in (("single", single), ("multi", str(multi)), ("lower", lower), ("euro", str(euro_path))):
        if name == "euro":   # through the CLI, as a user would: it must run on the first try
            rc, err = _run(["--csv", path], tmp_path / f"out_{name}", capsys)
            assert rc == 0, (name, err)
            got = _numbers(tmp_path / f"out_{name}")[""]
        else:
            got = _quick(path)[""]
        numbers[name] = got
        assert set(got) == set(ref)
        for model, q in ref.items():
            # the clean file's bars are Close x (Adj Close / Close), which differs from Adj Close in the last bit;
            # the GARCH optimiser carries that to about 2e-8 of QLIKE
            assert got[model] == pytest.approx(q, rel=1e-7), (name, model)
        if name != "single":                  # the same file in another layout: the very same numbers
            assert got == numbers["single"], name
    assert "day-first" in (tmp_path / "out_euro" / "report.md").read_text()


def test_fred_wti_with_holiday_dots_asks_for_missing_skip_then_equals_clean(sp500_close, tmp_path, capsys):
    oil = sp500_close.assign(Close=sp500_close["Close"] / 20.0).rename(columns={"Date": "DATE",
                                                                               "Close": "DCOILWTICO"})
    holidays = ["2004-01-01", "2004-07-05", "2005-07-04", "2005-12-26", "2006-01-02", "2006-07-04"]
    dots = pd.DataFrame({"DATE": holidays, "DCOILWTICO": "."})
    fred = pd.concat([oil.astype({"DCOILWTICO": object}), dots]).sort_values("DATE")
    fred_path = _write(tmp_path / "DCOILWTICO.csv", fred)
    clean = _write(tmp_path / "clean.csv", oil.rename(columns={"DATE": "Date", "DCOILWTICO": "Close"}))
    rc, err = _run(["--csv", fred_path], tmp_path / "out_first", capsys, CLOSE_MODELS)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "--missing skip" in lines[0] and "'.'" in lines[0], err
    rc, err = _run(["--csv", fred_path, "--missing", "skip"], tmp_path / "out_fred", capsys, CLOSE_MODELS)
    assert rc == 0, err
    assert _numbers(tmp_path / "out_fred") == _quick(clean, CLOSE_MODELS)
    report = (tmp_path / "out_fred" / "report.md").read_text()
    assert "DCOILWTICO" in report and "6 row(s) without a price skipped" in report and "2004-07-05" in report
    assert "What to use" in report and "--missing skip" in report   # tomorrow's command keeps the option
    m = json.loads((tmp_path / "out_fred" / "metrics.json").read_text())
    assert m["config"]["benchmark"] != "har" and "benchmark_note" in m["config"]   # har cannot run on closes
    assert "QLIKE gain vs " + m["config"]["benchmark"] in report and "QLIKE gain vs har" not in report


def test_vix_close_only_with_jumps_and_a_mixed_universe(aapl_raw, sp500_close, tmp_path, capsys):
    frame = read_embedded_universe()["SP500"].frame.loc["2004-01-01":"2005-12-31"]
    r = 100 * np.log(frame["close"]).diff().fillna(0.0)
    vix = 10 + np.sqrt(252 * (r ** 2).rolling(22, min_periods=1).mean()).to_numpy()
    vix[300:] *= 1.45                           # a jump that stays (a regime change in the index)
    fred_vix = pd.DataFrame({"DATE": frame.index.strftime("%Y-%m-%d"), "VIXCLS": np.round(vix, 2)})
    vix_path = _write(tmp_path / "VIX.csv", fred_vix)
    clean = _write(tmp_path / "VIXclean.csv", fred_vix.rename(columns={"DATE": "Date", "VIXCLS": "Close"}))
    got = run_forecast(ForecastConfig(csv=vix_path, models=tuple(CLOSE_MODELS.split(",")), start=RUN[1],
                                      refit_every=126, quiet=True, out=None))
    assert any("VIXCLS" in n for n in got.notes)
    assert _numbers(got.metrics) == _quick(clean, CLOSE_MODELS)
    # a mixed universe: AAPL with OHLC, VIX closes only; har runs on AAPL, the rest everywhere
    aapl = _write(tmp_path / "AAPL.csv", aapl_raw)
    rc, err = _run(["--csv", aapl, vix_path], tmp_path / "out_mixed", capsys)
    assert rc == 0, err
    got = _numbers(tmp_path / "out_mixed")
    assert "har" in got["AAPL"] and "har" not in got["VIX"] and set(got["VIX"]) == {"ewma", "garch", "gjr"}
    report = (tmp_path / "out_mixed" / "report.md").read_text()
    assert "closes only" in report and report.count("What to use") == 1 and "**VIX**" in report
    assert report.count("One-day VaR and ES at each level") == 1   # the explanation once, not per asset


def test_a_universe_of_close_only_files_compares_with_one_benchmark_everywhere(sp500_close, tmp_path, capsys):
    """Two close-only files, each given with its own --csv (the options add up, none is dropped): har cannot
    run, so gjr is the benchmark of every asset's gains and tests and of the summary's ratios and panel DM, and
    metrics.json says so; no blank benchmark column."""
    a = _write(tmp_path / "IDX.csv", sp500_close)
    b = _write(tmp_path / "HALF.csv", sp500_close.assign(Close=np.sqrt(sp500_close["Close"])))
    rc, err = _run(["--csv", a, "--csv", b], tmp_path / "out", capsys, CLOSE_MODELS)
    assert rc == 0, err
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    s = m["summary"]
    assert s["assets"] == ["IDX", "HALF"] and s["benchmark"] == "gjr"
    assert all(am["config"]["benchmark"] == "gjr" for am in m["assets"].values())
    assert s["qlike_ratio_to_benchmark"]["gjr"] == pytest.approx(1.0) and "qlike_ratio_to_har" not in s
    assert set(s["panel_dm_vs_benchmark"]) == {"ewma", "garch"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| model | QLIKE / gjr |" in report and "QLIKE / har" not in report
    row = next(ln for ln in report.splitlines() if ln.startswith("| garch | "))
    assert "|  |" not in row, row                      # panel DM t and p are filled


def test_unadjusted_split_is_flagged_with_its_ratio(aapl_raw, tmp_path, capsys):
    split = _write(tmp_path / "AAPL.csv", aapl_raw.drop(columns="Adj Close"))
    rc, err = _run(["--csv", split], tmp_path / "out", capsys)
    assert rc == 0
    assert "unadjusted 2:1 split" in err and "2005-02-28" in err
    assert "unadjusted 2:1 split" in (tmp_path / "out" / "report.md").read_text()


def test_force_keeps_the_users_report(sp500_close, tmp_path, capsys):
    data = _write(tmp_path / "sp.csv", sp500_close)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.md").write_text("my notes\n")
    rc, err = _run(["--csv", data], out, capsys, CLOSE_MODELS)
    assert rc == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    rc, err = _run(["--csv", data, "--force"], out, capsys, CLOSE_MODELS)
    assert rc == 0 and "report.md.~1~" in err
    assert (out / "report.md.~1~").read_text() == "my notes\n" and "What to use" in (out / "report.md").read_text()
    (out / "forecasts.csv").write_text("theirs\n")    # the tool's own file now: replaced without a copy
    rc, err = _run(["--csv", data, "--force"], out, capsys, CLOSE_MODELS)
    assert rc == 0 and not (out / "forecasts.csv.~1~").exists() and not (out / "report.md.~2~").exists()


# --------------------------------------------------------------------------- the Python API
def test_api_on_a_yahoo_frame_equals_the_cli_loader(aapl_raw, tmp_path):
    from tinygrad_trade.vol.features.dataset import build_dataset
    from tinygrad_trade.vol.models import get_model
    path = _write(tmp_path / "AAPL.csv", aapl_raw)
    ds = build_dataset(read_prices(path))                 # what --csv reads
    ref = get_model("garch").fit(ds, len(ds))
    frames = {"Date index": pd.read_csv(path, index_col="Date", parse_dates=True),
              "Date column": pd.read_csv(path),
              "adj close": pd.read_csv(path, index_col=0, parse_dates=True).rename(columns=str.lower),
              "AdjClose": pd.read_csv(path, index_col=0, parse_dates=True).rename(columns={"Adj Close": "AdjClose"}),
              "adj_close": pd.read_csv(path, index_col=0, parse_dates=True).rename(
                  columns=lambda c: c.lower().replace(" ", "_")),
              "yf.download": pd.read_csv(path, index_col=0, parse_dates=True).pipe(
                  lambda f: f.set_axis(pd.MultiIndex.from_product([f.columns, ["AAPL"]], names=["Price", "Ticker"]),
                                       axis=1))}
    for what, frame in frames.items():
        res = get_model("garch").fit(frame)
        np.testing.assert_array_equal(res.dataset.returns, ds.returns, err_msg=what)
        np.testing.assert_array_equal(res.params.to_numpy(), ref.result.params.to_numpy(), err_msg=what)
    wrong = build_dataset(pd.read_csv(path, index_col=0, parse_dates=True).rename(columns=str.lower)
                          .drop(columns="adj close"))
    assert np.nanmax(np.abs(wrong.returns - ds.returns)) > 50   # the unadjusted split day, silently wrong before
    with pytest.raises(ValueError, match="missing='skip'"):
        get_model("ewma").fit(frames["Date index"].assign(Close=lambda f: f["Close"].where(f.index.day != 3)))
    res = get_model("ewma").fit(frames["Date index"].assign(Close=lambda f: f["Close"].where(f.index.day != 3)),
                                missing="skip")
    assert len(res.dataset) < len(ds)


def test_predict_on_a_mixed_universe_leaves_range_models_to_the_ohlc_assets(aapl_raw, sp500_close, tmp_path):
    from tinygrad_trade.vol.jobs.predict import PredictConfig, run_predict
    aapl = _write(tmp_path / "AAPL.csv", aapl_raw)
    vix = _write(tmp_path / "VIX.csv", sp500_close.rename(columns={"Date": "DATE", "Close": "VIXCLS"}))
    res = run_predict(PredictConfig(csv=(aapl, vix), models=("ewma", "har"), horizons=(1,), out=None, quiet=True))
    rows = set(zip(res.table["asset"], res.table["model"]))
    assert rows == {("AAPL", "ewma"), ("AAPL", "har"), ("VIX", "ewma")}
    assert any("closes only" in n for n in res.notes)


def test_api_on_an_empty_frame_or_closes_for_har_says_what_is_wrong():
    from tinygrad_trade.vol.data import DataError
    from tinygrad_trade.vol.models import get_model
    for empty in (pd.DataFrame(), pd.DataFrame({"Close": []})):
        with pytest.raises(DataError, match="empty"):
            get_model("garch").fit(empty)
    closes = pd.Series(np.exp(np.cumsum(np.full(400, 0.001))) * 100, index=pd.bdate_range("2019-01-01", periods=400))
    with pytest.raises(ValueError, match="use har_r2"):
        get_model("har").fit(closes)
