"""tinygrad-trade predict: next-day forecasts, saved models (--save / --load) and bad input."""
import json
import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol import data
from tinygrad_trade.vol.predict import business_days

CLASSICAL = "ewma,garch,gjr,har,har_r2"
N = 700


@pytest.fixture(scope="module")
def sp500():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load_sp500()


def write_csv(df, path):
    df.to_csv(path, float_format="%.10g")
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory, sp500):
    d = tmp_path_factory.mktemp("predict_data")
    return {"base": write_csv(sp500.iloc[:N], d / "spx.csv"),
            "plus1": write_csv(sp500.iloc[:N + 1], d / "plus1" / "spx.csv") if os.makedirs(d / "plus1") is None else None,
            "plus30": write_csv(sp500.iloc[:N + 30], d / "plus30" / "spx.csv") if os.makedirs(d / "plus30") is None
            else None,
            "short": write_csv(sp500.iloc[:N - 5], d / "short" / "spx.csv") if os.makedirs(d / "short") is None
            else None}


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def saved(tmp_path_factory, files):
    """predict --save on the base file (classical models, horizons 1,5,22)."""
    d = tmp_path_factory.mktemp("predict_saved")
    rc = main(["predict", "--csv", files["base"], "--models", CLASSICAL, "--out", str(d / "out"),
               "--save", str(d / "models"), "--json", "--quiet"])
    assert rc == 0
    return d


def test_business_days():
    assert business_days("2018-12-28", 1) == (np.datetime64("2018-12-31"), np.datetime64("2018-12-31"))  # Fri
    assert business_days("2018-12-31", 5) == (np.datetime64("2019-01-01"), np.datetime64("2019-01-07"))
    assert business_days("2018-12-29", 1)[0] == np.datetime64("2018-12-31")                                # Sat


def test_predictions_file(saved, sp500):
    t = pd.read_csv(saved / "out" / "predictions.csv")
    for c in ("asset", "model", "horizon", "first_date", "last_date", "variance", "vol_annual", "position",
              "var_5", "es_5", "var_1", "es_1"):
        assert c in t.columns
    assert len(t) == 5 * 3 and set(t["asset"]) == {"spx"}
    last = sp500.index[N - 1].date()
    assert (t["as_of"] == str(last)).all()
    assert (t["first_date"] == str(np.busday_offset(np.datetime64(last), 1, roll="backward"))).all()
    np.testing.assert_allclose(t["vol_annual"], np.sqrt(252 * t["variance"]), rtol=1e-9)
    one = t[t["horizon"] == 1].set_index("model")
    np.testing.assert_allclose(one["position"], np.minimum(10 / np.sqrt(252 * one["variance"]), 2), rtol=1e-9)
    assert (t["var_1"] > t["var_5"]).all() and (t["es_5"] > t["var_5"]).all() and (t["es_1"] > t["var_1"]).all()
    # EWMA is flat across horizons; GARCH mean-reverts towards its long-run variance
    ew = t[t["model"] == "ewma"]["variance"].to_numpy()
    assert np.all(ew == ew[0])
    js = json.loads((saved / "out" / "predictions.json").read_text())
    assert len(js) == 15 and js[0]["asset"] == "spx"


def test_garch_next_day_is_the_recursion(saved, sp500):
    """The one-day GARCH forecast is omega + alpha e_T^2 + beta s_T with the saved parameters."""
    man = json.loads((saved / "models" / "manifest.json").read_text())
    entry = next(m for m in man["models"] if m["model"] == "garch")
    with np.load(saved / "models" / entry["fits"]["1"], allow_pickle=False) as z:
        mu, omega, alpha, beta = z["params"]
        bc = float(z["backcast"][0])
    r = 100 * np.diff(np.log(sp500["adj_close"].to_numpy()[:N]))
    e = r - mu
    s = np.empty(e.size + 1)
    s[0] = omega + (alpha + beta) * bc
    for t in range(e.size):
        s[t + 1] = omega + alpha * e[t] ** 2 + beta * s[t]
    t = pd.read_csv(saved / "out" / "predictions.csv")
    got = t[(t["model"] == "garch") & (t["horizon"] == 1)]["variance"].iloc[0]
    assert got == pytest.approx(s[-1], rel=1e-9)


def test_round_trip_same_file_is_bit_identical(saved, files, tmp_path, capsys):
    rc, out, err = run(capsys, "predict", "--csv", files["base"], "--load", str(saved / "models"),
                       "--out", str(tmp_path / "o"))
    assert rc == 0, err
    a = pd.read_csv(saved / "out" / "predictions.csv")
    b = pd.read_csv(tmp_path / "o" / "predictions.csv")
    cols = ["variance", "vol_annual", "position", "var_5", "es_5", "var_1", "es_1"]
    assert a[["asset", "model", "horizon"]].equals(b[["asset", "model", "horizon"]])
    assert np.array_equal(a[cols].to_numpy(), b[cols].to_numpy())
    assert "0 new day(s)" in err and "no refit" in err
    assert not b["refit"].any()


def test_one_day_longer_filters_garch_forward(saved, files, tmp_path, capsys, sp500):
    rc, out, err = run(capsys, "predict", "--csv", files["plus1"], "--load", str(saved / "models"),
                       "--models", "garch", "--horizon", "1", "--out", str(tmp_path / "o"))
    assert rc == 0, err
    man = json.loads((saved / "models" / "manifest.json").read_text())
    entry = next(m for m in man["models"] if m["model"] == "garch")
    with np.load(saved / "models" / entry["fits"]["1"], allow_pickle=False) as z:
        mu, omega, alpha, beta = z["params"]
        bc = float(z["backcast"][0])
    r = 100 * np.diff(np.log(sp500["adj_close"].to_numpy()[:N + 1]))
    e = r - mu
    s = omega + (alpha + beta) * bc
    for x in e:
        s = omega + alpha * x * x + beta * s
    t = pd.read_csv(tmp_path / "o" / "predictions.csv")
    assert len(t) == 1 and t["variance"].iloc[0] == pytest.approx(s, rel=1e-9)
    assert t["as_of"].iloc[0] == str(sp500.index[N].date()) and not t["refit"].iloc[0]
    assert "1 new day(s)" in err


def test_refit_after_refit_every_new_days(saved, files, tmp_path, capsys):
    rc, out, err = run(capsys, "predict", "--csv", files["plus30"], "--load", str(saved / "models"),
                       "--models", "garch,har", "--out", str(tmp_path / "o"), "--save", str(tmp_path / "m2"))
    assert rc == 0, err
    assert "30 new day(s)" in err and "refitted" in err
    t = pd.read_csv(tmp_path / "o" / "predictions.csv")
    assert t["refit"].all() and (t["fitted_through"] == t["as_of"]).all()
    man = json.loads((tmp_path / "m2" / "manifest.json").read_text())
    assert man["assets"]["spx"]["rows"] == N + 30


def test_neural_round_trip(files, tmp_path, capsys):
    args = ["predict", "--csv", files["base"], "--models", "mlp", "--horizon", "1", "--epochs", "3", "--quiet"]
    rc, _, err = run(capsys, *args, "--out", str(tmp_path / "a"), "--save", str(tmp_path / "m"))
    assert rc == 0, err
    rc, _, err = run(capsys, "predict", "--csv", files["base"], "--load", str(tmp_path / "m"), "--quiet",
                     "--out", str(tmp_path / "b"))
    assert rc == 0, err
    a = pd.read_csv(tmp_path / "a" / "predictions.csv")
    b = pd.read_csv(tmp_path / "b" / "predictions.csv")
    assert np.array_equal(a[["variance", "var_1", "es_1"]].to_numpy(), b[["variance", "var_1", "es_1"]].to_numpy())


# ------------------------------------------------------------------------------------ bad input
def copy_folder(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def rehash(folder, name):
    import hashlib
    man_path = folder / "manifest.json"
    man = json.loads(man_path.read_text())
    man["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    man_path.write_text(json.dumps(man))


def expect_error(capsys, tmp_path, argv, *words):
    out = tmp_path / "never"
    rc, stdout, err = run(capsys, *argv, "--out", str(out))
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not out.exists()
    return lines[0]


def test_bad_folders(saved, files, tmp_path, capsys):
    base = ["predict", "--csv", files["base"], "--load"]
    expect_error(capsys, tmp_path, base + [str(tmp_path / "nothing")], "no such folder")

    f = copy_folder(saved / "models", tmp_path / "f1")
    (f / "manifest.json").unlink()
    expect_error(capsys, tmp_path, base + [str(f)], "manifest.json", "missing")

    f = copy_folder(saved / "models", tmp_path / "f2")
    text = (f / "manifest.json").read_text()
    (f / "manifest.json").write_text(text[: len(text) // 2])
    expect_error(capsys, tmp_path, base + [str(f)], "manifest.json", "not valid JSON")

    f = copy_folder(saved / "models", tmp_path / "f3")
    man = json.loads((f / "manifest.json").read_text())
    man["format_version"] = 99
    (f / "manifest.json").write_text(json.dumps(man))
    expect_error(capsys, tmp_path, base + [str(f)], "manifest.json", "format version 99")

    f = copy_folder(saved / "models", tmp_path / "f4")
    npz = next(p for p in sorted(f.iterdir()) if p.name.startswith("spx__garch"))
    npz.write_bytes(npz.read_bytes()[:100])
    expect_error(capsys, tmp_path, base + [str(f)], npz.name, "SHA-256")

    f = copy_folder(saved / "models", tmp_path / "f5")
    np.savez(f / npz.name, params=np.array([{"evil": 1}], dtype=object))
    rehash(f, npz.name)
    expect_error(capsys, tmp_path, base + [str(f)], npz.name, "object")

    f = copy_folder(saved / "models", tmp_path / "f6")
    man = json.loads((f / "manifest.json").read_text())
    man["models"][0]["model"] = "prophet"
    (f / "manifest.json").write_text(json.dumps(man))
    expect_error(capsys, tmp_path, base + [str(f)], "manifest.json", "unknown model 'prophet'")

    f = copy_folder(saved / "models", tmp_path / "f7")
    np.savez(f / npz.name, params=np.zeros(2))
    rehash(f, npz.name)
    expect_error(capsys, tmp_path, base + [str(f), "--models", "garch"], npz.name, "params")


def test_bad_data_and_options(saved, files, tmp_path, capsys, sp500):
    models = str(saved / "models")
    expect_error(capsys, tmp_path, ["predict", "--csv", files["short"], "--load", models], "before the saved last date")
    df = sp500.iloc[:N + 3].copy()
    day = df.index[200]
    df.iloc[200, df.columns.get_loc("close")] *= 1.01
    os.makedirs(tmp_path / "rw")
    rewritten = write_csv(df, tmp_path / "rw" / "spx.csv")
    expect_error(capsys, tmp_path, ["predict", "--csv", rewritten, "--load", models], str(day.date()), "differs")
    expect_error(capsys, tmp_path, ["predict", "--csv", files["base"], "--load", models, "--models", "mlp"],
                 "'mlp' is not in the folder")
    expect_error(capsys, tmp_path, ["predict", "--csv", files["base"], "--load", models, "--horizon", "10"],
                 "horizon")
    expect_error(capsys, tmp_path, ["predict", "--csv", files["base"], "--horizon", "1,-5"], "--horizon")
    expect_error(capsys, tmp_path, ["predict", "--csv", files["base"], "--horizon", "2.5"], "--horizon")
    other = tmp_path / "busy"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    expect_error(capsys, tmp_path, ["predict", "--csv", files["base"], "--models", "ewma", "--save", str(other)],
                 "--save", "did not write")
    assert (other / "mine.txt").read_text() == "keep"
    rc, _, err = run(capsys, "predict", "--csv", files["base"], "--models", "ewma", "--save", str(other), "--force",
                     "--out", str(tmp_path / "forced"), "--quiet")
    assert rc == 0, err
    assert (other / "mine.txt").read_text() == "keep" and (other / "manifest.json").exists()


def test_round_trip_in_memory(files, tmp_path):
    """The API: predictions from a loaded folder equal those of the fit that saved it, bit for bit."""
    from tinygrad_trade.vol.predict import PredictConfig, run_predict
    cols = ["variance", "vol_annual", "position", "var_5", "es_5", "var_1", "es_1"]
    a = run_predict(PredictConfig(csv=(files["base"],), models=("gjr", "har"), out=None,
                                  save=str(tmp_path / "m"), quiet=True))
    b = run_predict(PredictConfig(csv=(files["base"],), load=str(tmp_path / "m"), out=None, quiet=True))
    assert list(b.config.horizons) == [1, 5, 22]
    assert np.array_equal(a.table[cols].to_numpy(), b.table[cols].to_numpy())
    assert not (tmp_path / "never").exists() and b.paths == {}


def test_several_files_and_a_pooled_panel(sp500, tmp_path):
    """Two assets: per-asset models fit each file; the pooled model fits both together, saved once."""
    from tinygrad_trade.vol.predict import PredictConfig, run_predict
    os.makedirs(tmp_path / "d")
    a = write_csv(sp500.iloc[:900], tmp_path / "d" / "aaa.csv")
    b = write_csv(sp500.iloc[600:1500], tmp_path / "d" / "bbb.csv")
    cfg = PredictConfig(csv=(a, b), models=("garch", "pooled"), horizons=(1, 5), out=str(tmp_path / "o"),
                        save=str(tmp_path / "m"), quiet=True)
    res = run_predict(cfg)
    t = res.table
    assert list(t["asset"]) == ["aaa"] * 4 + ["bbb"] * 4 and len(set(t["as_of"])) == 2
    pooled = [fm for fm in res.fitted if fm.name == "pooled"]
    assert pooled[0].fits[1] is pooled[1].fits[1] and set(pooled[0].fits[1].assets) == {"aaa", "bbb"}
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert "panel__pooled__h1.npz" in files and "aaa__garch__h1.npz" in files and "bbb__garch__h1.npz" in files
    back = run_predict(PredictConfig(csv=(a, b), load=str(tmp_path / "m"), out=None, quiet=True))
    cols = ["variance", "position", "var_5", "es_1"]
    assert np.array_equal(t[cols].to_numpy(), back.table[cols].to_numpy())


def test_malformed_manifest_fields(saved, files, tmp_path, capsys):
    f = copy_folder(saved / "models", tmp_path / "g1")
    man = json.loads((f / "manifest.json").read_text())
    del man["assets"]["spx"]["rows"]
    (f / "manifest.json").write_text(json.dumps(man))
    expect_error(capsys, tmp_path, ["predict", "--csv", files["base"], "--load", str(f)], "manifest.json", "'rows'")
    f = copy_folder(saved / "models", tmp_path / "g2")
    man = json.loads((f / "manifest.json").read_text())
    man["models"][1]["fits"]["1"] = 7
    (f / "manifest.json").write_text(json.dumps(man))
    expect_error(capsys, tmp_path, ["predict", "--csv", files["base"], "--load", str(f)], "manifest.json", "malformed")


def test_embedded_universe_and_close_only_files(sp500, tmp_path, capsys):
    rc, out, err = run(capsys, "predict", "--universe", "embedded", "--models", "ewma", "--horizon", "1",
                       "--out", str(tmp_path / "u"), "--quiet")
    assert rc == 0, err
    t = pd.read_csv(tmp_path / "u" / "predictions.csv")
    assert list(t["asset"]) == ["SP500", "AAPL", "GOOG", "IBM"]
    assert t.loc[t["asset"] == "IBM", "as_of"].iloc[0] < t.loc[t["asset"] == "SP500", "as_of"].iloc[0]
    os.makedirs(tmp_path / "c")
    close = sp500[["close"]].iloc[:600].rename(columns={"close": "Close"})
    path = write_csv(close, tmp_path / "c" / "closes.csv")
    rc, out, err = run(capsys, "predict", "--csv", path, "--models", "garch,har_r2", "--horizon", "1",
                       "--out", str(tmp_path / "c1"), "--quiet")
    assert rc == 0, err
    assert list(pd.read_csv(tmp_path / "c1" / "predictions.csv")["model"]) == ["garch", "har_r2"]
    expect_error(capsys, tmp_path, ["predict", "--csv", path, "--models", "har"], "'har'", "Open, High, Low")
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--universe", "embedded", "--csv", path])
    assert exc.value.code == 2 and "not allowed" in capsys.readouterr().err


def test_the_printed_table_has_every_risk_level_from_the_widest_tail_in():
    """The terminal table shows the 99% VaR and the 97.5% ES a desk signs off, not only the journal's 5% and 1%."""
    from tinygrad_trade.vol.jobs.predict import format_table
    row = {"asset": "X", "model": "garch", "horizon": 1, "first_date": "2020-01-02", "last_date": "2020-01-02",
           "variance": 1.0, "vol_annual": 15.9, "position": 0.6, "var_5": 1.6, "es_5": 2.1, "var_1": 2.3,
           "es_1": 2.7, "var_2.5": 2.0, "es_2.5": 2.4}
    header = format_table(pd.DataFrame([row])).splitlines()[0].split()
    assert header[-6:] == ["var_1", "es_1", "var_2.5", "es_2.5", "var_5", "es_5"]
