"""The book in the commands (issue 22): dcc, forecast --book, predict --book, bad input, parallel marginals."""
from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.jobs.book import parse_book
from tinygrad_trade.vol.models.dcc import align_prices, simulate_dcc
from tinygrad_trade.vol.models.dcc_result import risk_contributions
from tinygrad_trade.vol.runs.book import book_walk_forward

MARG = [{"mu": 0.03, "omega": 0.02, "alpha": 0.05, "gamma": 0.08, "beta": 0.88},
        {"mu": 0.05, "omega": 0.05, "alpha": 0.06, "gamma": 0.05, "beta": 0.87},
        {"mu": 0.02, "omega": 0.03, "alpha": 0.08, "gamma": 0.00, "beta": 0.88}]
CORR = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.2], [0.3, 0.2, 1.0]])


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    """Three simulated DCC assets, 800 days, as Date,Close files."""
    sim = simulate_dcc(np.random.default_rng(7), 800, 0.04, 0.93, CORR, MARG, names=["AAA", "BBB", "CCC"])
    px = 100.0 * np.exp(sim["returns"].cumsum() / 100.0)
    folder = tmp_path_factory.mktemp("book")
    files = {}
    for name in px.columns:
        path = folder / f"{name}.csv"
        pd.DataFrame({"Date": px.index.strftime("%Y-%m-%d"), "Close": px[name].round(6)}).to_csv(path, index=False)
        files[name] = str(path)
    return files, px


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1] if err else ""


def test_parse_book_pairs_and_file(tmp_path):
    assert parse_book("A=0.4, B=0.6") == {"A": 0.4, "B": 0.6}
    f = tmp_path / "w.csv"
    f.write_text("asset,weight\nA,0.25\nB,-0.5\n")
    assert parse_book(str(f)) == {"A": 0.25, "B": -0.5}
    with pytest.raises(ValueError, match="not a number"):
        parse_book("A=0.4,B=abc")
    with pytest.raises(ValueError, match="given twice"):
        parse_book("A=0.4,A=0.6")
    with pytest.raises(ValueError, match="at least two"):
        parse_book("A=1")


def test_euler_contributions_sum_to_one():
    H = np.array([[1.0, 0.3], [0.3, 2.0]])
    w = np.array([0.6, 0.4])
    rc = risk_contributions(H, w)
    assert rc.sum() == pytest.approx(1.0)
    assert rc[1] == pytest.approx(0.4 * (H @ w)[1] / (w @ H @ w))


def test_dcc_command_json(prices, capsys):
    files, _ = prices
    assert main(["dcc", "--csv", *files.values(), "--vol", "gjr", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"alpha", "beta", "loglik", "marginals"} <= set(out)
    assert set(out["marginals"]) == {"AAA", "BBB", "CCC"}
    assert 0 < out["alpha"] < 0.2 and 0.7 < out["beta"] < 1   # simulated with 0.04, 0.93


def test_dcc_command_bad_input(prices, tmp_path, capsys):
    files, px = prices
    dup = tmp_path / "DUP.csv"
    dup.write_text(open(files["AAA"]).read())
    assert main(["dcc", "--csv", files["AAA"], str(dup)]) == 2
    line = _err(capsys)
    assert "not positive definite" in line and "Traceback" not in line
    short = tmp_path / "SHORT.csv"
    pd.DataFrame({"Date": px.index[:300].strftime("%Y-%m-%d"), "Close": px["BBB"][:300]}).to_csv(short, index=False)
    assert main(["dcc", "--csv", files["AAA"], str(short)]) == 2
    assert "common days" in _err(capsys)
    bad = tmp_path / "BAD.csv"
    text = open(files["BBB"]).read().splitlines()
    text[400] = text[400].split(",")[0] + ",abc"
    bad.write_text("\n".join(text) + "\n")
    assert main(["dcc", "--csv", files["AAA"], str(bad)]) == 2
    line = _err(capsys)
    assert "abc" in line or "number" in line


def test_forecast_book_bad_weights(prices, tmp_path, capsys):
    files, _ = prices
    base = ["forecast", "--csv", *files.values(), "--models", "ewma", "--out", str(tmp_path / "o"), "--quiet"]
    assert main(base + ["--book", "AAA=0.5,BBB=x"]) == 2
    assert "not a number" in _err(capsys)
    assert main(base + ["--book", "AAA=0.5,ZZZ=0.5"]) == 2
    assert "'ZZZ' is not in the universe" in _err(capsys)


def test_book_marginals_in_process_equal_process_pool(prices):
    _, px = prices
    r = align_prices(px).iloc[:620]
    w = np.array([0.4, 0.3, 0.3])
    a = book_walk_forward(r, w, first=540, refit_every=40, vol="gjr")
    with ProcessPoolExecutor(2) as ex:
        b = book_walk_forward(r, w, first=540, refit_every=40, vol="gjr", executor=ex)
    assert len(a.dcc_fits) == 2
    for k in ("dcc", "ccc"):
        assert np.array_equal(a.forecasts[k], b.forecasts[k])
    assert np.array_equal(a.dcc_path.correlations, b.dcc_path.correlations)
    assert a.dcc_fits[-1].psi.tolist() == b.dcc_fits[-1].psi.tolist()


def test_forecast_book_outputs(prices, tmp_path, capsys):
    files, _ = prices
    out = tmp_path / "rep"
    assert main(["forecast", "--csv", *files.values(), "--models", "ewma,gjr", "--start", "2001-12-01",
                 "--refit-every", "150", "--book", "AAA=0.4,BBB=0.3,CCC=0.3", "--out", str(out), "--quiet"]) == 0
    book = pd.read_csv(out / "book.csv")
    assert list(book.columns) == ["date", "model", "return", "variance", "var_1", "es_1", "var_2.5", "es_2.5",
                                  "var_5", "es_5"]
    assert set(book["model"]) == {"dcc", "ccc", "ewma", "gjr"}
    dcc = book[book["model"] == "dcc"]
    assert (dcc["variance"] > 0).all() and dcc["var_1"].notna().sum() > 20
    ok = dcc.dropna()
    assert (ok["es_1"] >= ok["var_1"]).all() and (ok["var_1"] >= ok["var_5"]).all()
    m = json.loads((out / "metrics.json").read_text())["book"]
    assert m["weights"] == {"AAA": 0.4, "BBB": 0.3, "CCC": 0.3}
    assert set(m["dm_vs_dcc"]) == {"ccc", "ewma", "gjr"}
    assert "kupiec" in m["risk"]["dcc"]["1"] and "buy_and_hold" in m["backtest"]
    report = (out / "report.md").read_text()
    assert "## Book" in report and "DM vs dcc" in report
    assert "book (AAA 0.4" in capsys.readouterr().out


def test_predict_book_save_load(prices, tmp_path, capsys):
    files, _ = prices
    args = ["predict", "--csv", *files.values(), "--models", "ewma", "--horizon", "1", "--book", "AAA=0.5,CCC=0.5",
            "--quiet"]
    assert main(args + ["--out", str(tmp_path / "p1"), "--save", str(tmp_path / "s")]) == 0
    assert "contributions" in capsys.readouterr().out
    b1 = json.loads((tmp_path / "p1" / "book.json").read_text())
    contrib = [c["contribution"] for c in b1["contributions"]]
    assert sum(contrib) == pytest.approx(1.0)
    assert b1["correlation"]["AAA"]["AAA"] == pytest.approx(1.0)
    assert (tmp_path / "s" / "book_dcc.npz").exists()
    assert main(args + ["--out", str(tmp_path / "p2"), "--load", str(tmp_path / "s")]) == 0
    assert (tmp_path / "p1" / "book.csv").read_text() == (tmp_path / "p2" / "book.csv").read_text()
    npz = tmp_path / "s" / "book_dcc.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    assert main(args + ["--out", str(tmp_path / "p3"), "--load", str(tmp_path / "s")]) == 2
    assert "book_dcc.npz" in _err(capsys)
