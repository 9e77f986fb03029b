"""Issue 25's "done when": a month of nightly `predict --load --journal` runs on a file that grows by a day each
night (a rerun and two nights run at once included) leaves one prediction per night, model and horizon, and
`journal` scores them exactly (QLIKE recomputed from the exported rows agrees to 1e-9)."""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.data.loading import load_sp500
from tinygrad_trade.vol.runs.journal import Journal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = 400          # rows of the file on the night the models are saved (2015-01-02 ..)
NIGHTS = 22
MODELS = ("ewma", "garch", "pooled")


@pytest.fixture(scope="module")
def spx():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sp500().loc["2015":]


def _file(spx, rows, folder):
    """The vendor's file as it stands on a night: Yahoo's columns, one more row each night."""
    os.makedirs(folder, exist_ok=True)
    df = spx.iloc[:rows].reset_index()
    df.columns = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
    path = os.path.join(folder, "spx.csv")
    df.to_csv(path, index=False)
    return path


def _argv(path, load, db, out):
    return ["predict", "--csv", path, "--load", load, "--journal", db, "--horizon", "1", "--out", out, "--quiet"]


def test_a_month_of_nights_is_journaled_once_and_scored_exactly(spx, tmp_path, capsys):
    db, load = str(tmp_path / "desk.journal"), str(tmp_path / "models")
    assert main(["predict", "--csv", _file(spx, START, tmp_path / "n0"), "--models", ",".join(MODELS), "--horizon",
                 "1", "--save", load, "--out", str(tmp_path / "o0"), "--quiet"]) == 0
    concurrent = (NIGHTS - 1, NIGHTS)                      # the last two nights run at once, in two processes
    for k in range(1, NIGHTS - 1):
        night = str(tmp_path / f"n{k}")
        assert main(_argv(_file(spx, START + k, night), load, db, night + "/out")) == 0
        if k == 5:                                         # a rerun of the same night adds nothing
            assert main(_argv(_file(spx, START + k, night), load, db, night + "/out2")) == 0
            with Journal.open(db) as j:
                assert j.count() == k * len(MODELS)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = []
    for k in concurrent:
        night = str(tmp_path / f"n{k}")
        procs.append(subprocess.Popen([sys.executable, "-c", "import sys; from tinygrad_trade.cli import main; "
                                       "sys.exit(main(sys.argv[1:]))"] + _argv(_file(spx, START + k, night), load,
                                                                                db, night + "/out"),
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    capsys.readouterr()

    # one prediction per night and model
    full = _file(spx, START + NIGHTS + 1, tmp_path / "full")          # the day after the last night is known
    export = tmp_path / "rows.csv"
    assert main(["journal", "--db", db, "--csv", full, "--json", "--export", str(export)]) == 0
    live = json.loads(capsys.readouterr().out)
    rows = pd.read_csv(export)
    assert len(rows) == NIGHTS * len(MODELS)
    nights = [str(d.date()) for d in spx.index[START:START + NIGHTS]]
    for m in MODELS:
        assert sorted(rows.loc[rows["model"] == m, "as_of"]) == nights
    assert set(rows["horizon"]) == {1}
    assert rows.loc[rows["model"] == "pooled", "refit"].sum() == 2       # nights 21 and 22: 21+ new days, refitted

    # the score, recomputed from the exported rows and the prices
    r = 100 * np.log(spx["adj_close"] / spx["adj_close"].shift(1))
    nxt = {str(d.date()): r.iloc[i + 1] ** 2 for i, d in enumerate(spx.index[:START + NIGHTS])}
    for m in MODELS:
        sub = rows[rows["model"] == m]
        y = np.array([nxt[d] for d in sub["as_of"]])
        f = sub["variance"].to_numpy()
        assert live["models"][m]["n"] == NIGHTS
        assert abs(np.mean(y / f + np.log(f)) - live["models"][m]["qlike"]) < 1e-9
        assert abs(np.mean((y - f) ** 2) - live["models"][m]["mse"]) < 1e-9
