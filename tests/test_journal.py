"""The forecast journal (vol.journal) and its live scoring (vol.journal_scoring)."""
import math
import multiprocessing as mp
import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.vol.runs import journal as J
from tinygrad_trade.vol.runs import journal_schema
from tinygrad_trade.vol.runs.journal import Journal, JournalError, JournalLocked
from tinygrad_trade.vol.evaluation.journal_scoring import basel_zone, score


# ------------------------------------------------------------------------------------ helpers
def _prices(n=200, sd=1.0, start="2021-01-04", seed=0, jump_at=None, sd_after=None):
    """A business-day price frame whose returns have standard deviation ``sd`` (``sd_after`` from ``jump_at``)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n)
    sds = np.full(n, float(sd))
    if jump_at is not None:
        sds[jump_at:] = sd_after
    r = rng.standard_normal(n) * sds
    r[0] = 0.0
    close = 100.0 * np.exp(np.cumsum(r) / 100.0)
    df = pd.DataFrame({"close": close * 1.7, "adj_close": close}, index=pd.DatetimeIndex(dates, name="date"))
    return df


def _rows(dates, asset="SYN", model="m", horizons=(1,), variance=1.0):
    out = []
    for d in dates:
        for h in horizons:
            f = variance(d) if callable(variance) else variance
            out.append({"asset": asset, "model": model, "horizon": h, "first_date": str(d.date()),
                        "last_date": str(d.date()), "variance": f, "vol_annual": math.sqrt(252 * f),
                        "position": 0.5, "var_5": 1.6448536269514722 * math.sqrt(f), "es_5": 2.06 * math.sqrt(f),
                        "var_1": 2.3263478740408408 * math.sqrt(f), "es_1": 2.66 * math.sqrt(f),
                        "as_of": str(d.date()), "fitted_through": str(d.date()), "refit": False,
                        "risk_method": "normal"})
    return out


def _one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


# ------------------------------------------------------------------------------------ the store
def test_columns_are_those_of_predictions_csv():
    from tinygrad_trade.vol.jobs.predict import COLUMNS
    assert J.PREDICTION_COLUMNS == COLUMNS


def test_rerun_of_the_same_night_adds_nothing(tmp_path):
    path = tmp_path / "j.db"
    rows = _rows(pd.bdate_range("2021-03-01", periods=5), horizons=(1, 5))
    with Journal.open(path) as j:
        first = j.append(rows)
        again = j.append(rows)
        assert (first.new, first.existing, first.differing) == (10, 0, [])
        assert (again.new, again.existing, again.differing) == (0, 10, [])
        changed = dict(rows[0], variance=2.0)
        res = j.append([changed, dict(rows[1], horizon=22)])
        assert (res.new, res.existing) == (1, 1)
        assert res.differing == [("SYN", "m", 1, "2021-03-01")]
        assert j.count() == 11
        stored = j.predictions()
        assert stored.loc[(stored.horizon == 1) & (stored.made_on == "2021-03-01"), "variance"].item() == 1.0
        assert j.record_event("rescale", "adj close rescaled by 0.98", asset="SYN", date="2021-03-02")
        assert not j.record_event("rescale", "adj close rescaled by 0.98", asset="SYN", date="2021-03-02")
        assert j.record_rescale("SYN", 0.9871, "2021-03-03") and not j.record_rescale("SYN", 0.9871, "2021-03-03")
        ev = j.events()
        assert list(ev["kind"]) == ["rescale", "rescale"] and ev["date"].tolist() == ["2021-03-02", "2021-03-03"]
        assert '"factor": 0.9871' in ev["data"].iloc[1] and "0.9871" in ev["message"].iloc[1]
    with Journal.open(path) as j:      # reopened: still there, still version 2, WAL
        assert j.count() == 11 and j.schema_version == J.SCHEMA_VERSION
        assert j._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_rows_are_refused_and_nothing_is_written(tmp_path):
    rows = _rows(pd.bdate_range("2021-03-01", periods=3))
    rows[2]["variance"] = -1.0
    with Journal.open(tmp_path / "j.db") as j:
        with pytest.raises(JournalError) as e:
            j.append(rows)
        assert "row 3" in _one_line(e) and "variance" in str(e.value)
        with pytest.raises(JournalError) as e:
            j.append([dict(rows[0], horizon="x")])
        assert "row 1" in _one_line(e) and "not a number" in str(e.value)
        assert score(j, {}).to_json()["models"] == {}
        assert j.count() == 0


def _writer(path, asset, shared_dates, barrier, queue):
    rows = []
    for k, d in enumerate(pd.bdate_range("2020-01-01", periods=40)):
        rows.append(_rows([d], asset=asset)[0])
    shared = _rows(shared_dates, asset="BOTH")
    barrier.wait()
    new = 0
    with Journal.open(path, timeout=60) as j:
        for k in range(0, 40, 4):               # many small transactions, interleaved with the other process
            new += j.append(rows[k:k + 4] + shared[k // 4:k // 4 + 1]).new
    queue.put((asset, new))


def test_two_processes_writing_at_once_both_land(tmp_path):
    path = str(tmp_path / "j.db")       # created by whichever process comes first
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")   # fork: no re-import
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    shared = pd.bdate_range("2019-01-01", periods=10)
    procs = [ctx.Process(target=_writer, args=(path, a, shared, barrier, queue)) for a in ("A", "B")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    got = dict(queue.get(timeout=5) for _ in procs)
    with Journal.open(path) as j:
        df = j.predictions()
    assert len(df) == 40 + 40 + 10
    assert (df.groupby("asset").size().to_dict()) == {"A": 40, "B": 40, "BOTH": 10}
    assert got["A"] + got["B"] == 90      # every shared row written once, by one of the two
    assert not df.duplicated(list(J.KEY)).any()


def test_a_lock_beyond_the_timeout_is_one_line_and_loses_nothing(tmp_path):
    path = str(tmp_path / "j.db")
    Journal.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    rows = _rows(pd.bdate_range("2021-01-04", periods=2))
    try:
        with Journal.open(path, timeout=0.3) as j:
            with pytest.raises(JournalLocked) as e:
                j.append(rows)
            assert "locked" in _one_line(e) and "nothing was written" in str(e.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Journal.open(path, timeout=1) as j:
        assert j.append(rows).new == 2 and j.count() == 2


# ------------------------------------------------------------------------------------ versions
def _v1_journal(path, rows):
    conn = sqlite3.connect(path, isolation_level=None)
    journal_schema._create_v1(conn)          # version 1, as released
    for r in rows:
        conn.execute("INSERT INTO predictions (asset, model, horizon, made_on, variance, package_version, "
                     "run_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (r["asset"], r["model"], r["horizon"], r["as_of"], r["variance"], "0.0.9", "2021-01-01T00:00Z"))
    conn.close()


def test_an_older_journal_is_migrated_forward_without_losing_rows(tmp_path):
    path = str(tmp_path / "old.db")
    rows = _rows(pd.bdate_range("2021-01-04", periods=3), variance=1.25)
    _v1_journal(path, rows)
    with Journal.open(path) as j:
        assert j.migrated == [2] and j.schema_version == 2
        df = j.predictions()
        assert len(df) == 3 and df["variance"].eq(1.25).all() and df["model_version"].isna().all()
        assert list(df["package_version"].unique()) == ["0.0.9"]
        assert j.events()["kind"].tolist() == ["migration"]
        j.append(rows)                          # the new column is usable
        assert j.count() == 3
    with Journal.open(path) as j:
        assert j.migrated == []
        assert dict(j._conn.execute("SELECT key, value FROM journal_meta").fetchall())["schema_version"] == "2"


def test_a_journal_from_a_newer_version_is_refused(tmp_path):
    path = str(tmp_path / "new.db")
    Journal.open(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("UPDATE journal_meta SET value = '3' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(JournalError) as e:
        Journal.open(path)
    assert "newer" in _one_line(e) and "version 3" in str(e.value)


def test_paths_that_are_not_journals_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("Date,Close\n2020-01-02,1\n")
    with pytest.raises(JournalError) as e:
        Journal.open(text)
    assert "not a journal" in _one_line(e)
    assert text.read_text() == "Date,Close\n2020-01-02,1\n"

    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(JournalError) as e:
        Journal.open(other)
    assert "other tables (customers)" in _one_line(e)
    assert other.read_bytes() == before and not os.path.exists(str(other) + "-wal")

    with pytest.raises(JournalError) as e:
        Journal.open(tmp_path)
    assert "folder" in _one_line(e)
    with pytest.raises(JournalError) as e:
        Journal.open(tmp_path / "missing.db", create=False)
    assert "no such journal" in _one_line(e)
    with pytest.raises(JournalError) as e:
        Journal.open(tmp_path / "no" / "such" / "j.db")
    assert "does not exist" in _one_line(e)


def test_export_is_exact_and_never_overwrites(tmp_path):
    rows = _rows(pd.bdate_range("2021-01-04", periods=4), horizons=(1, 5), variance=lambda d: 1.0 / 3.0 + d.day)
    with Journal.open(tmp_path / "j.db") as j:
        j.append(rows, run_time="2021-02-01T22:00:00Z")
        out = j.export(tmp_path / "all.csv")
        with pytest.raises(JournalError) as e:
            j.export(out)
        assert "exists" in _one_line(e)
    back = pd.read_csv(out)
    assert list(back.columns) == J.PREDICTION_COLUMNS + J.JOURNAL_COLUMNS
    want = pd.DataFrame(rows).sort_values(["asset", "model", "horizon", "as_of"]).reset_index(drop=True)
    assert np.array_equal(back["variance"].to_numpy(), want["variance"].to_numpy())   # bit for bit
    assert back["run_time"].eq("2021-02-01T22:00:00Z").all() and back["package_version"].eq("0.1.0").all()


# ------------------------------------------------------------------------------------ scoring
def test_scores_recomputed_from_the_exported_rows_agree(tmp_path):
    prices = _prices(n=120, seed=3)
    dates = prices.index
    made = list(dates[20:])                       # the last ones are not matured for h = 5
    f = lambda d: 0.5 + (d.day_of_year % 7) / 5.0   # noqa: E731
    rows = _rows(made, horizons=(1, 5), variance=f)
    rows += _rows([pd.Timestamp("2021-01-09")], model="m")          # a Saturday: not a date of the file
    rows += _rows([dates[-1] + pd.Timedelta(days=7)], model="m")    # after the file's end
    rows += _rows(made[:3], asset="NOPRICES")
    with Journal.open(tmp_path / "j.db") as j:
        j.append(rows)
        res = score(j, {"SYN": prices})
        csv = j.export(tmp_path / "rows.csv")
    back = pd.read_csv(csv)
    back = back[(back.asset == "SYN")]
    r = 100.0 * np.log(prices["adj_close"] / prices["adj_close"].shift(1))
    pos = {str(d.date()): k for k, d in enumerate(prices.index)}
    for h in (1, 5):
        ys, fs = [], []
        for _, row in back[back.horizon == h].iterrows():
            k = pos.get(row.as_of)
            if k is None or k + h >= len(r):
                continue
            ys.append(float((r.iloc[k + 1:k + 1 + h] ** 2).mean()))
            fs.append(row.variance)
        ys, fs = np.array(ys), np.array(fs)
        hs = res.model("SYN", "m").horizons[h]
        assert hs.n == len(ys) == len(made) - h
        assert abs(hs.qlike - float(np.mean(ys / fs + np.log(fs)))) < 1e-9
        assert abs(hs.mse - float(np.mean((ys - fs) ** 2))) < 1e-9
        assert hs.pending == h
    assert res.unscored == {"no price data for the asset": 3, "made_on after the price file's last date": 1,
                            "made_on not a date of the price file": 1, "pending": 1 + 5}
    assert res.model("SYN", "m").horizons[1].not_covered == 2
    js = res.to_json()
    assert set(js["assets"]) == {"NOPRICES", "SYN"}
    assert js["assets"]["SYN"]["models"]["m"]["n"] == len(made) - 1
    assert js["models"]["m"]["horizons"]["1"]["n"] == len(made) - 1
    since = score(pd.read_csv(csv).rename(columns={"as_of": "made_on"}), {"SYN": prices}, since=made[50])
    assert since.model("SYN", "m").horizons[1].n == len(made) - 50 - 1


def test_var_exceptions_and_the_basel_zone():
    assert [basel_zone(x, 250) for x in (0, 4, 5, 9, 10)] == ["green", "green", "yellow", "yellow", "red"]
    assert [basel_zone(x, 3) for x in (0, 1, 2, 3)] == ["green", "yellow", "yellow", "red"]   # short: P(X >= x)
    assert [basel_zone(x, 100) for x in (3, 4, 6, 7)] == ["green", "yellow", "yellow", "red"]
    prices = _prices(n=300, seed=5)
    rows = _rows(prices.index[:-1], variance=1.0)
    res = score(pd.DataFrame(rows).rename(columns={"as_of": "made_on"}), {"SYN": prices})
    v = res.model("SYN", "m").var["1"]
    r = 100.0 * np.log(prices["adj_close"] / prices["adj_close"].shift(1)).to_numpy()[1:]
    assert v.n == 299 and v.hits == int(np.sum(r < -2.3263478740408408))
    assert v.zone_days == 250 and v.zone == basel_zone(int(np.sum(r[-250:] < -2.3263478740408408)), 250)
    assert 0 <= v.kupiec_pvalue <= 1 and 0 <= v.cc_pvalue <= 1


def test_drift_is_flagged_when_the_live_record_degrades():
    wf = {"models": {"m": {"n": 2000, "qlike": 1.0, "mse": 2.0}}, "config": {"horizon": 1}}
    calm = _prices(n=200, seed=11)
    stormy = _prices(n=200, seed=11, jump_at=120, sd_after=2.0)   # the variance quadruples; forecasts stay at 1
    rows = pd.DataFrame(_rows(calm.index[:-1], variance=1.0)).rename(columns={"as_of": "made_on"})
    ok = score(rows, {"SYN": calm}, walkforward=wf).model("SYN", "m")
    bad = score(rows, {"SYN": stormy}, walkforward=wf).model("SYN", "m")
    assert not ok.drift.flagged and ok.drift.pvalue > 0.05 and ok.var["1"].zone == "green"
    assert bad.drift.flagged and bad.drift.n == 60 and bad.drift.pvalue < 0.01
    assert bad.drift.live_qlike > 2.0 and bad.drift.walkforward_qlike == 1.0
    assert any("walk-forward" in r for r in bad.drift.reasons)
    assert any("Basel yellow zone" in r for r in bad.drift.reasons)
    r = 100.0 * np.diff(np.log(stormy["adj_close"].to_numpy()))
    assert bad.var["1"].zone_hits == int(np.sum(r < -2.3263478740408408)) and bad.var["1"].zone == "yellow"
    res = score(rows, {"SYN": stormy}, walkforward=wf)
    assert len(res.flags) == 2 and res.to_json()["models"]["m"]["drift"]["flagged"] is True
    early = score(rows.iloc[:15], {"SYN": stormy}, walkforward=wf).model("SYN", "m")
    assert not early.drift.flagged and "needs 20" in early.drift.note


def test_nightly_predict_runs_leave_one_prediction_per_night_and_score_exactly(tmp_path):
    """A file that grows by a day each night, predict run every night (one night twice) into one journal."""
    import warnings

    from tinygrad_trade.vol.data import loading as vdata
    from tinygrad_trade.vol.runs.journal import journal_rows
    from tinygrad_trade.vol.jobs.predict import PredictConfig, run_predict
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = vdata.load_sp500().iloc[:330]
    nights = list(range(320, 326))
    path = tmp_path / "desk.journal"
    for k, n in enumerate(nights + [nights[2]]):
        folder = tmp_path / f"night{k}"
        folder.mkdir()
        full.iloc[:n].to_csv(folder / "spx.csv")
        res = run_predict(PredictConfig(csv=(str(folder / "spx.csv"),), models=("ewma", "garch"), horizons=(1, 5),
                                        out=None, quiet=True))
        with Journal.open(path) as j:
            added = j.append(journal_rows(res))
        assert (added.new, added.existing) == ((4, 0) if k < len(nights) else (0, 4))
    with Journal.open(path) as j:
        df = j.predictions()
        assert len(df) == len(nights) * 4 and df["params_hash"].str.len().eq(64).all()
        assert sorted(df["made_on"].unique()) == [str(d.date()) for d in full.index[[n - 1 for n in nights]]]
        res = score(j, {"spx": full})
        csv = j.export(tmp_path / "rows.csv")
    back = pd.read_csv(csv)
    r = 100.0 * np.diff(np.log(full["adj_close"].to_numpy()))        # r[k] is the return of row k + 1
    pos = {str(d.date()): k for k, d in enumerate(full.index)}
    for (model, h), g in back.groupby(["model", "horizon"]):
        y = np.array([np.mean(r[pos[d]:pos[d] + h] ** 2) for d in g["as_of"]])
        f = g["variance"].to_numpy()
        hs = res.model("spx", model).horizons[h]
        assert hs.n == len(nights) and abs(hs.qlike - np.mean(y / f + np.log(f))) < 1e-9


def test_the_report_puts_the_flags_first_and_the_plots_inside_the_page(tmp_path):
    from tinygrad_trade.vol.jobs.journal import write_journal_report
    from tinygrad_trade.vol.report.journal import format_text
    wf = {"models": {"m": {"n": 2000, "qlike": 1.0, "mse": 2.0}}, "config": {"horizon": 1}}
    stormy = _prices(n=160, seed=11, jump_at=80, sd_after=2.0)
    with Journal.open(tmp_path / "j.db") as j:
        j.append(_rows(stormy.index[:-1], horizons=(1, 5)) + _rows(stormy.index[:-1], model="calm", variance=4.0))
        j.record_event("rescale", "adj close rescaled by 0.98 before 2021-03-01", asset="SYN", date="2021-03-01")
        res = score(j, {"SYN": stormy}, walkforward=wf)
        paths = write_journal_report(res, tmp_path / "rep", events=j.events())
    md = open(paths["md"], encoding="utf-8").read()
    page = open(paths["html"], encoding="utf-8").read()
    assert md.index("## Flags") < md.index("## Live record") < md.index("## Track record")
    assert res.flags and all(f in md for f in res.flags)
    assert "SYN m:" in res.flags[0] and not any("calm" in f for f in res.flags)
    assert page.count('src="data:image/png;base64,') == 2 and "journal_SYN_m.png" not in page
    assert "adj close rescaled by 0.98" in page and len(paths["plots"]) == 2
    text = format_text(res).splitlines()
    assert text[:len(res.flags)] == [f"FLAG {f}" for f in res.flags]
    assert sum(line.split()[:3] == ["SYN", "m", "5"] for line in text) == 1
    with pytest.raises(ValueError):      # a folder holding the user's files is refused
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("mine")
        write_journal_report(res, tmp_path / "mine")


def test_drift_allows_for_the_variance_level_of_the_live_days():
    """A perfect forecaster in a stormier quarter is not flagged; a frozen one is. The raw comparison flags both."""
    prices = _prices(n=400, seed=21, jump_at=300, sd_after=2.0)
    dates = prices.index
    r = 100.0 * np.diff(np.log(prices["adj_close"].to_numpy()))
    wf_days = r[:299]                                  # the walk-forward's forecast days: 2nd .. 300th row
    wf = {"models": {"good": {"n": 299, "qlike": float(np.mean(wf_days ** 2))},     # f = 1 there: y / 1 + ln 1
                     "frozen": {"n": 299, "qlike": float(np.mean(wf_days ** 2))}},
          "config": {"horizon": 1, "first_forecast": str(dates[1].date()), "last_forecast": str(dates[299].date())}}
    live = dates[299:-1]
    rows = pd.DataFrame(_rows(live, model="good", variance=4.0) + _rows(live, model="frozen", variance=1.0))
    rows = rows.rename(columns={"as_of": "made_on"})
    adj = score(rows, {"SYN": prices}, walkforward=wf)
    raw = score(rows, {"SYN": prices}, walkforward=wf, adjust_level=False)
    good, frozen = adj.model("SYN", "good").drift, adj.model("SYN", "frozen").drift
    y = r[-60:] ** 2
    assert abs(good.level_shift - math.log(np.mean(y) / np.mean(wf_days ** 2))) < 1e-12
    assert abs(good.reference - (wf["models"]["good"]["qlike"] + good.level_shift)) < 1e-12
    assert good.pvalue > 0.05 and frozen.pvalue < 0.01 and frozen.flagged
    assert raw.model("SYN", "good").drift.pvalue < 0.01 and raw.model("SYN", "good").drift.level_shift == 0.0
    nocover = score(rows, {"SYN": prices.iloc[250:]}, walkforward=wf).model("SYN", "good").drift
    assert nocover.level_shift == 0.0 and "not level-adjusted" in nocover.note


def test_the_same_nights_give_a_bit_identical_journal(tmp_path):
    """Given the run times, the file depends only on the sequence of nights (the WAL is checkpointed on close)."""
    import hashlib

    def build(name):
        path = tmp_path / name
        for k in range(4):
            with Journal.open(path, run_time="2021-01-01T00:00:00Z") as j:
                night = pd.bdate_range("2021-01-04", periods=k + 1)[-1:]
                j.append(_rows(night, horizons=(1, 5)), run_time=f"2021-01-0{k + 4}T22:00:00Z")
                j.record_event("note", f"night {k}", run_time=f"2021-01-0{k + 4}T22:00:00Z")
        assert not os.path.exists(str(path) + "-wal")
        return hashlib.sha256(path.read_bytes()).hexdigest()
    assert build("a.journal") == build("b.journal")


def test_an_exported_journal_appended_to_a_new_one_is_the_same(tmp_path):
    """Export -> append into a fresh journal keeps every column (missing cells stay missing)."""
    rows = _rows(pd.bdate_range("2021-01-04", periods=3), horizons=(1, 5))
    rows[0]["model_version"] = "7"
    with Journal.open(tmp_path / "a.db") as a:
        a.append(rows, run_time="2021-01-08T22:00:00Z")
        csv = a.export(tmp_path / "a.csv")
        first = a.predictions()
    with Journal.open(tmp_path / "b.db") as b:
        assert b.append(pd.read_csv(csv, dtype={"model_version": str})).new == 6   # a text column
        second = b.predictions()
    pd.testing.assert_frame_equal(first, second)
    assert second["model_version"].tolist().count("7") == 1 and second["model_version"].isna().sum() == 5


def test_the_journal_command_job(tmp_path):
    import json

    from tinygrad_trade.vol.jobs.journal import JournalConfig, run_journal
    prices = _prices(n=150, seed=11, jump_at=80, sd_after=2.0)
    prices.to_csv(tmp_path / "spx.csv")
    metrics = {"models": {"m": {"n": 2000, "qlike": 1.0}}, "config": {"horizon": 1, "data": {"file": "spx.csv"}}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    db = str(tmp_path / "desk.journal")
    with Journal.open(db) as j:
        j.append(_rows(prices.index[:-1], asset="spx", horizons=(1, 5)))
    cfg = JournalConfig(db=db, csv=(str(tmp_path / "spx.csv"),), json=True, export=str(tmp_path / "rows.csv"),
                        walkforward=(str(tmp_path / "metrics.json"),), report=str(tmp_path / "rep"))
    run = run_journal(cfg)
    assert run.text.startswith("FLAG spx m: live QLIKE") and run.json["models"]["m"]["walkforward"]["qlike"] == 1.0
    assert os.path.exists(run.paths["export"]) and os.path.exists(run.paths["report_html"])
    assert run.json["unscored"] == {"pending": 4}
    with pytest.raises(ValueError) as e:               # nothing rewritten: the export exists
        run_journal(cfg)
    assert "--export" in _one_line(e)
    with pytest.raises(ValueError) as e:
        run_journal(JournalConfig(db=db, csv=cfg.csv, since="yesterday-ish"))
    assert "--since" in _one_line(e)
    with pytest.raises(ValueError) as e:
        run_journal(JournalConfig(db=str(tmp_path / "nope.journal"), csv=cfg.csv))
    assert "no such journal" in _one_line(e)
    (tmp_path / "old").mkdir()
    prices.iloc[:40].to_csv(tmp_path / "old" / "spx.csv")     # ends before every prediction made after day 60
    with pytest.raises(ValueError) as e:
        run_journal(JournalConfig(db=db, csv=(str(tmp_path / "old" / "spx.csv"),), since=str(prices.index[60].date())))
    assert "none of its 178 prediction(s) is covered" in _one_line(e)
    with Journal.open(tmp_path / "first-night.journal") as j:       # the first night: everything pending, fine
        j.append(_rows(prices.index[-1:], asset="spx", horizons=(1, 5)))
    first = run_journal(JournalConfig(db=str(tmp_path / "first-night.journal"), csv=cfg.csv))
    assert first.result.scored.empty and first.result.unscored == {"pending": 2}
