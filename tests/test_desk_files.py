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

MODELS = "ewma,garch,gjr,har"
RUN = ["--start", "2005-01-03", "--refit-every", "126", "--quiet"]


@pytest.fixture(scope="module")
def aapl_raw():
    """AAPL 2003-2006 as the embedded long file has it: raw OHLC (unadjusted for the 2005 split), Adj Close."""
    import gzip
    from importlib import resources
    raw = resources.files("tinygrad_trade.datasets").joinpath("stocks_2000_2013.csv.gz").read_bytes()
    df = pd.read_csv(pd.io.common.BytesIO(gzip.decompress(raw)), dtype={"Date": str})
    df = df[(df["Ticker"] == "AAPL") & (df["Date"] >= "2003-01-01") & (df["Date"] <= "2006-12-31")]
    return df.drop(columns="Ticker").reset_index(drop=True)


@pytest.fixture(scope="module")
def sp500_close():
    """The embedded S&P 500 closes of 2003-2006 (Date, Close)."""
    frame = read_embedded_universe()["SP500"].frame
    frame = frame.loc["2003-01-01":"2006-12-31"]
    return pd.DataFrame({"Date": frame.index.strftime("%Y-%m-%d"), "Close": frame["close"].to_numpy()})


def _adjusted_clean(raw: pd.DataFrame) -> pd.DataFrame:
    """What a clean file holds: the bars scaled by Adj Close / Close, no Adj Close column."""
    f = raw["Adj Close"] / raw["Close"]
    return pd.DataFrame({"Date": raw["Date"], **{c: raw[c] * f for c in ("Open", "High", "Low", "Close")},
                         "Volume": raw["Volume"]})


def _write(path, frame: pd.DataFrame, **kw):
    frame.to_csv(path, index=False, float_format=None, **kw)
    return str(path)


def _run(args, out, capsys):
    rc = main(["forecast", *args, "--models", MODELS, *RUN, "--out", str(out)])
    captured = capsys.readouterr()
    return rc, captured.err


def _numbers(out) -> dict:
    m = json.loads((out / "metrics.json").read_text())
    per_asset = m["assets"] if "assets" in m else {"": m}
    return {a: {k: v["qlike"] for k, v in am["models"].items()} for a, am in per_asset.items()}


def _forecasts(out) -> pd.DataFrame:
    return pd.read_csv(out / "forecasts.csv")
