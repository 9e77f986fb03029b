"""predict --load on a vendor's rescaled history, and predict --load --update (models that learn from each day)."""
import hashlib
import json
import os
import shutil
import warnings

import numpy as np
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol import data
from tinygrad_trade.vol.runs.journal import Journal
from tinygrad_trade.vol.runs.persistence import find_rescale

N = 420


@pytest.fixture(scope="module")
def spx():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load_sp500().loc["2015":]


def write(df, folder):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "spx.csv")
    df.to_csv(path)
    return path


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def saved(tmp_path_factory, spx):
    d = tmp_path_factory.mktemp("upd")
    rc = main(["predict", "--csv", write(spx.iloc[:N], d / "n0"), "--models", "ewma,garch", "--horizon", "1",
               "--save", str(d / "m"), "--out", str(d / "o"), "--quiet"])
    assert rc == 0
    return d


def test_find_rescale():
    old = np.array([10.0, 11.0, 12.0, 13.0])
    assert find_rescale(old, old * np.array([0.5, 0.5, 1, 1])) == (0.5, 2)
    assert find_rescale(old, old * 2.0) == (2.0, 4)
    assert find_rescale(old, old) is None                                  # no change
    assert find_rescale(old, old * np.array([0.5, 0.6, 1, 1])) is None     # two factors
    assert find_rescale(old, old * np.array([0.5, 0.5, 1, 0.5])) is None   # a change after the stretch
    assert find_rescale(old, old * np.array([1, 0.5, 1, 1])) is None       # not a leading stretch
    assert find_rescale(old, -old) is None                                 # not positive


def test_a_dividend_rescale_is_accepted_and_journaled(saved, spx, tmp_path, capsys):
    df = spx.iloc[:N + 2].copy()
    k = 250
    df.iloc[:k, df.columns.get_loc("adj_close")] *= 0.985        # the vendor's backward factor at an ex-date
    path = write(df, tmp_path / "div")
    rc, out, err = run(capsys, "predict", "--csv", path, "--load", str(saved / "m"), "--out", str(tmp_path / "o"),
                       "--journal", str(tmp_path / "j.db"))
    assert rc == 0, err
    through = str(spx.index[k - 1].date())
    lines = [ln for ln in err.splitlines() if "rescaled by the vendor" in ln]
    assert len(lines) == 1 and "0.985" in lines[0] and through in lines[0], err
    with Journal.open(tmp_path / "j.db") as j:
        ev = j.events()
        assert j.count() == 2
    assert list(ev["kind"]) == ["rescale"] and ev["date"].iloc[0] == through
    assert json.loads(ev["data"].iloc[0])["factor"] == pytest.approx(0.985, rel=1e-9)
    # the same predictions as the file without the rescaling, but for the one return across the ex-date
    plain = write(spx.iloc[:N + 2], tmp_path / "plain")
    rc, _, _ = run(capsys, "predict", "--csv", plain, "--load", str(saved / "m"), "--out", str(tmp_path / "o2"),
                   "--quiet")
    a = np.loadtxt(tmp_path / "o" / "predictions.csv", delimiter=",", skiprows=1, usecols=5)
    b = np.loadtxt(tmp_path / "o2" / "predictions.csv", delimiter=",", skiprows=1, usecols=5)
    assert rc == 0 and not np.array_equal(a, b) and np.allclose(a, b, rtol=0.2)


def expect_refused(capsys, argv, *words):
    rc, _, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_other_changes_are_refused(saved, spx, tmp_path, capsys):
    load = ["--load", str(saved / "m"), "--out", str(tmp_path / "never")]
    one = spx.iloc[:N + 1].copy()
    one.iloc[100, one.columns.get_loc("adj_close")] *= 0.99        # one changed price
    expect_refused(capsys, ["predict", "--csv", write(one, tmp_path / "one")] + load,
                   str(spx.index[100].date()), "differs", "not by one factor")
    two = spx.iloc[:N + 1].copy()
    two.iloc[:100, two.columns.get_loc("adj_close")] *= 0.99      # two dividends at once: two factors
    two.iloc[100:200, two.columns.get_loc("adj_close")] *= 0.98
    expect_refused(capsys, ["predict", "--csv", write(two, tmp_path / "two")] + load, "differs")
    vol = spx.iloc[:N + 1].copy()
    vol.iloc[:100, vol.columns.get_loc("adj_close")] *= 0.99      # a rescaling and a changed volume
    vol.iloc[50, vol.columns.get_loc("volume")] += 1
    expect_refused(capsys, ["predict", "--csv", write(vol, tmp_path / "vol")] + load, "differs")
    assert not (tmp_path / "never").exists()
    # a folder of an older version (row hashes only) still loads; a rescaled history is refused with the reason
    old = tmp_path / "old"
    shutil.copytree(saved / "m", old)
    man = json.loads((old / "manifest.json").read_text())
    name = man["assets"]["spx"]["file"]
    with np.load(old / name) as z:
        np.savez(old / name, row_hash=z["row_hash"], dates=z["dates"])
    man["files"][name] = hashlib.sha256((old / name).read_bytes()).hexdigest()
    del man["assets"]["spx"]["price_columns"]
    (old / "manifest.json").write_text(json.dumps(man))
    div = spx.iloc[:N + 1].copy()
    div.iloc[:100, div.columns.get_loc("adj_close")] *= 0.99
    expect_refused(capsys, ["predict", "--csv", write(div, tmp_path / "div2"), "--load", str(old), "--out",
                            str(tmp_path / "never")], "older version")
    rc, _, err = run(capsys, "predict", "--csv", write(spx.iloc[:N + 1], tmp_path / "p1"), "--load", str(old),
                     "--out", str(tmp_path / "fine"), "--quiet")
    assert rc == 0, err


def _chain(spx, folder, workers, nights=3):
    """predict --save on night 0, then --load yesterday --update --save tonight for ``nights`` nights."""
    os.makedirs(folder)
    base = ["--horizon", "1", "--quiet", "--workers", str(workers), "--journal", os.path.join(folder, "j.db")]
    rc = main(["predict", "--csv", write(spx.iloc[:N], os.path.join(folder, "d0")), "--models", "ewma,pooled,mlp",
               "--epochs", "15", "--save", os.path.join(folder, "m0"), "--out", os.path.join(folder, "o0")] + base)
    assert rc == 0
    for k in range(1, nights + 1):
        rc = main(["predict", "--csv", write(spx.iloc[:N + k], os.path.join(folder, f"d{k}")),
                   "--load", os.path.join(folder, f"m{k - 1}"), "--update", "--save", os.path.join(folder, f"m{k}"),
                   "--out", os.path.join(folder, f"o{k}")] + base)
        assert rc == 0
    with Journal.open(os.path.join(folder, "j.db")) as j:
        rows = j.predictions().drop(columns=["run_time"])
    return rows


def _arrays(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".npz") and not name.startswith("data__"):
            with np.load(os.path.join(folder, name)) as z:
                out.update({f"{name}:{k}": z[k] for k in z.files})
    return out


def test_update_learns_versions_and_is_deterministic(spx, tmp_path, capsys):
    a = _chain(spx, str(tmp_path / "a"), workers=1)
    capsys.readouterr()
    b = _chain(spx, str(tmp_path / "b"), workers=2)
    assert a.equals(b)                                                       # the same journal, bit for bit
    for k in range(4):
        x, y = _arrays(tmp_path / "a" / f"m{k}"), _arrays(tmp_path / "b" / f"m{k}")
        assert x.keys() == y.keys() and all(np.array_equal(x[key], y[key]) for key in x)
    versions = {m: list(a[a["model"] == m]["model_version"]) for m in ("ewma", "pooled", "mlp")}
    assert versions == {"ewma": ["1"] * 4, "pooled": ["1", "2", "3", "4"], "mlp": ["1", "2", "3", "4"]}
    assert a.groupby("model")["params_hash"].nunique().to_dict() == {"ewma": 1, "mlp": 4, "pooled": 4}
    # the optimizer continued: Adam's step counts grew by 5 per night, its moments were saved
    m0 = json.loads((tmp_path / "a" / "m0" / "manifest.json").read_text())
    m3 = json.loads((tmp_path / "a" / "m3" / "manifest.json").read_text())
    s0 = next(m for m in m0["models"] if m["model"] == "mlp")["meta"]["1"]["opt_steps"]
    s3 = next(m for m in m3["models"] if m["model"] == "mlp")["meta"]["1"]["opt_steps"]
    assert np.all(np.array(s3[0]) == np.array(s0[0]) + 15)
    assert [m["version"] for m in m3["models"]] == [1, 4, 4]


def test_update_needs_load_and_save(saved, spx, tmp_path, capsys):
    path = write(spx.iloc[:N + 1], tmp_path / "d")
    expect_refused(capsys, ["predict", "--csv", path, "--load", str(saved / "m"), "--update", "--out",
                            str(tmp_path / "never")], "--update", "--save")
    expect_refused(capsys, ["predict", "--csv", path, "--update", "--out", str(tmp_path / "never")], "--load")


def test_pooled_update_reaches_the_optimum_of_the_longer_window(spx):
    from tinygrad_trade.vol.features.dataset import build_dataset
    from tinygrad_trade.vol.models.pooled import PooledForecaster, loss_derivatives
    ds = build_dataset(spx.iloc[:N + 5], target="r2", horizon=1)
    m = PooledForecaster().fit(ds, N)
    theta = m.theta_.copy()
    m.update(ds, N + 5)
    info = m.history[-1]
    assert info["update"] and info["rows"] == m.history[0]["rows"] + 5 and not np.array_equal(theta, m.theta_)
    assert info["decrement"] < 1e-10
    st = m.assets["asset"]
    Z = m._design("asset", ds, st.begin, N + 5)
    y = ds.target[st.begin:N + 5] / st.L
    ok = np.isfinite(Z).all(axis=1) & np.isfinite(y)
    _, g, _ = loss_derivatives(m.theta_, Z[ok], y[ok], m.ridge)
    assert np.max(np.abs(g)) < 1e-6


@pytest.mark.parametrize("name", ["mlp", "gru"])
def test_a_net_updates_from_its_saved_state_as_it_would_have_in_memory(spx, name):
    """update after get_state/set_state (the saved folder's path) gives the weights of update in memory, bit for
    bit: the Adam moments and steps travel with the state; the update moves the weights and the steps."""
    from tinygrad_trade.vol.features.dataset import build_dataset
    from tinygrad_trade.vol.models.registry import get_model
    ds = build_dataset(spx.iloc[:N + 3], target="r2", horizon=1)
    a = get_model(name, quick=True, progress=False, epochs=8).fit(ds, N)
    arrays, meta = a.get_state()
    b = get_model(name, quick=True, progress=False, epochs=8).set_state(arrays, meta)
    a.update(ds, N + 3, epochs=3)
    b.update(ds, N + 3, epochs=3)
    sa, ma = a.get_state()
    sb, mb = b.get_state()
    assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert ma["opt_steps"] == mb["opt_steps"] == [[s + 3 for s in row] for row in meta["opt_steps"]]
    assert any(not np.array_equal(arrays[k], sa[k]) for k in arrays if k.startswith("p."))
    assert np.array_equal(sa["scaler.mean"], arrays["scaler.mean"]) and np.array_equal(sa["har_coef"], arrays["har_coef"])
    assert np.array_equal(a.predict(ds, N, N + 3), b.predict(ds, N, N + 3))
