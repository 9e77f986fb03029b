"""`predict --journal` and `tinygrad-trade journal` from the command line: nightly runs on a growing file."""
import json
import sqlite3
import warnings

import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.data.loading import load_sp500


@pytest.fixture(scope="module")
def sp500():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sp500()


def _night(sp500, rows, path):
    df = sp500.iloc[:rows].reset_index()
    df.columns = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
    df.to_csv(path, index=False)


def test_nightly_predictions_land_once_and_are_scored(sp500, tmp_path, capsys):
    db, prices = tmp_path / "desk.journal", tmp_path / "spx.csv"
    for night, rows in enumerate((4000, 4001, 4001, 4002)):      # the third night is a rerun of the second
        _night(sp500, rows, prices)
        rc = main(["predict", "--csv", str(prices), "--models", "ewma,garch", "--horizon", "1", "--journal", str(db),
                   "--out", str(tmp_path / "p"), "--force", "--quiet"])
        assert rc == 0
    capsys.readouterr()
    with sqlite3.connect(db) as con:
        n = con.execute("select count(*) from predictions").fetchone()[0]
    assert n == 3 * 2                                   # three distinct nights x two models, the rerun added none
    _night(sp500, 4010, prices)
    assert main(["journal", "--db", str(db), "--csv", str(prices), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["models"]) == {"ewma", "garch"} and out["models"]["garch"]["n"] == 3
    export = tmp_path / "rows.csv"
    assert main(["journal", "--db", str(db), "--csv", str(prices), "--export", str(export)]) == 0
    assert len(export.read_text().strip().splitlines()) == 1 + 6
    capsys.readouterr()
    assert main(["journal", "--db", str(db), "--csv", str(prices), "--export", str(export)]) == 2   # never overwritten
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_file_that_is_not_a_journal_is_one_line(tmp_path, capsys):
    text = tmp_path / "notes.db"
    text.write_text("my notes")
    assert main(["journal", "--db", str(text)]) == 2
    err = capsys.readouterr().err
    assert "not a journal" in err and len(err.strip().splitlines()) == 1
    assert text.read_text() == "my notes"
