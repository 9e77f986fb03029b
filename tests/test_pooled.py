"""The pooled model (vol/models/pooled.py) and the walk-forward's scale floor (vol/base.py, vol/walkforward.py)."""
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.gradcheck import gradcheck, gradgradcheck
from tinygrad_trade.graph import grad
from tinygrad_trade.tensor import Tensor
from tinygrad_trade.vol.base import FLOOR_FRACTION, Forecaster, StateError, apply_floor, scale_floor
from tinygrad_trade.vol.data import load_sp500
from tinygrad_trade.vol.dataset import build_dataset
from tinygrad_trade.vol.evaluation import qlike
from tinygrad_trade.vol.models import get_model
from tinygrad_trade.vol.models.pooled import PooledForecaster, loss_derivatives, newton_fit, qlike_loss
from tinygrad_trade.vol.walkforward import ModelSpec, WalkForwardError, walk_forward

PROXIES = ("r2", "parkinson", "gk")


def _prices(n=500, seed=3, vol=1.0, start="2010-01-04"):
    """A GJR-like price path with consistent OHLC; `vol` scales the log returns."""
    rng = np.random.default_rng(seed)
    var, r = np.empty(n), np.empty(n)
    var[0] = 1.0
    for t in range(n):
        if t:
            var[t] = 0.05 + 0.88 * var[t - 1] + (0.02 + 0.1 * (r[t - 1] < 0)) * r[t - 1] ** 2
        r[t] = np.sqrt(var[t]) * rng.standard_normal()
    r = vol * r
    close = 100 * np.exp(np.cumsum(r) / 100)
    opn = np.r_[100.0, close[:-1]] * np.exp(vol * rng.normal(0, 0.002, n))
    hi = np.maximum(opn, close) * np.exp(vol * np.abs(rng.normal(0, 0.006, n)))
    lo = np.minimum(opn, close) * np.exp(-vol * np.abs(rng.normal(0, 0.006, n)))
    idx = pd.bdate_range(start, periods=n, name="date")
    return pd.DataFrame({"open": opn, "high": hi, "low": lo, "close": close}, index=idx)


def _ds(df):
    return build_dataset(df, proxies=PROXIES)


def _panel_run(datasets: dict, first=300, refit_every=40, **opts):
    """Pooled forecasts of every asset from day `first` on, refit every `refit_every` days (common calendar)."""
    n = len(next(iter(datasets.values())))
    model = PooledForecaster(**opts)
    out = {k: [] for k in datasets}
    for a in range(first, n, refit_every):
        b = min(a + refit_every, n)
        model.fit_panel([(k, ds, a, 0) for k, ds in datasets.items()])
        for k, ds in datasets.items():
            out[k].append(model.predict_asset(k, ds, a, b))
    return {k: np.concatenate(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def two():
    return {"A": _ds(_prices(seed=3)), "B": _ds(_prices(seed=5, vol=2.0))}


# ------------------------------------------------------------------------------------ pooling
def test_pool_with_an_asset_without_rows_equals_the_single_fit(two):
    a, b = two["A"], two["B"]
    alone = PooledForecaster().fit(a, 400)
    for empty in [("B", b, 0, 0), ("B", b, 300, 300)]:          # no rows at all; an empty window
        pooled = PooledForecaster().fit_panel([("asset", a, 400, 0), empty])
        np.testing.assert_array_equal(pooled.theta_, alone.theta_)
        np.testing.assert_array_equal(pooled.predict_asset("asset", a, 400, 450), alone.predict(a, 400, 450))
        assert "B" not in pooled.assets
        with pytest.raises(ValueError, match="'B' had no training rows"):
            pooled.predict_asset("B", b, 400, 450)
    both = PooledForecaster().fit_panel([("A", a, 400, 0), ("B", b, 400, 0)])
    assert both.history[-1]["rows"] > alone.history[-1]["rows"]
    assert not np.allclose(both.theta_, alone.theta_)          # the second asset's rows do count


def test_scale_invariance_per_asset(two):
    base = _panel_run(two, refit_every=60)
    df = _prices(seed=5, vol=2.0)
    df[["open", "high", "low", "close"]] *= 100.0
    moved = _panel_run({"A": two["A"], "B": _ds(df)}, refit_every=60)
    for k in base:
        np.testing.assert_allclose(moved[k], base[k], rtol=1e-9, err_msg=k)


def test_forecasts_scale_with_the_asset_variance():
    """Log returns x 3 (prices ^ 3): every input is a ratio to the level, so forecasts x 9 (the GJR
    inside is refitted by SLSQP, equivariant up to its tolerance)."""
    df = _prices(seed=7)
    cubed = df ** 3
    f1 = PooledForecaster().fit(_ds(df), 400).predict(_ds(df), 400, 480)
    f3 = PooledForecaster().fit(_ds(cubed), 400).predict(_ds(cubed), 400, 480)
    np.testing.assert_allclose(f3, 9 * f1, rtol=2e-3)


def test_no_look_ahead_across_assets(two):
    t_cut = 377
    base = _panel_run(two, first=300, refit_every=21)
    for bump in ("A", "B"):
        df = _prices(seed=3) if bump == "A" else _prices(seed=5, vol=2.0)
        df.iloc[t_cut + 1:] *= np.exp(np.random.default_rng(1).normal(0, 0.05, (len(df) - t_cut - 1, 1)))
        moved = _panel_run({**two, bump: _ds(df)}, first=300, refit_every=21)
        upto = t_cut + 1 - 300 + 1                 # forecasts of days 300 .. t_cut + 1
        for k in two:
            np.testing.assert_array_equal(moved[k][:upto], base[k][:upto], err_msg=f"{k} after bumping {bump}")
            assert not np.array_equal(moved[k][upto:], base[k][upto:]), k   # later refits do see the change


# ------------------------------------------------------------------------------------ loss and Newton
def _problem(n=300, k=4, seed=0):
    rng = np.random.default_rng(seed)
    Z = np.column_stack([np.ones(n), rng.normal(size=(n, k - 1))])
    s = Z @ np.r_[0.1, 0.4, -0.2, 0.1][:k]
    y = np.exp(s) * rng.chisquare(1, n)
    return Z, y


def test_loss_gradcheck_and_engine_hessian():
    Z, y = _problem()
    th = Tensor(np.array([0.05, 0.2, -0.1, 0.3]), requires_grad=True)
    assert gradcheck(lambda t: qlike_loss(t, Z, y, 0.01), [th])
    assert gradgradcheck(lambda t: qlike_loss(t, Z, y, 0.01), [th])
    loss, g, H = loss_derivatives(th.data, Z, y, 0.01)
    w = y * np.exp(-(Z @ th.data))
    expect_H = (Z * w[:, None]).T @ Z / len(y) + 0.02 * np.diag([0.0, 1, 1, 1])
    np.testing.assert_allclose(H, expect_H, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, Z.T @ (1 - w) / len(y) + 0.02 * np.r_[0.0, th.data[1:]], rtol=1e-10, atol=1e-12)
    assert loss == pytest.approx(float(np.mean(w + Z @ th.data)) + 0.01 * np.sum(th.data[1:] ** 2), rel=1e-12)


def test_newton_reaches_the_first_order_optimum():
    Z, y = _problem()
    theta, info = newton_fit(Z, y, ridge=1e-3)
    assert info["iterations"] < 15 and info["decrement"] < 1e-10
    th = Tensor(np.zeros(4), requires_grad=True)                 # plain gradient descent on the engine's grad
    for _ in range(3000):
        g = grad(qlike_loss(th, Z, y, 1e-3), th)
        th = Tensor(th.data - 0.5 * g, requires_grad=True)
    np.testing.assert_allclose(th.data, theta, atol=1e-6)
    assert np.abs(Z.T @ (1 - y * np.exp(-(Z @ theta))) / len(y) + 2e-3 * np.r_[0.0, theta[1:]]).max() < 1e-8


# ------------------------------------------------------------------------------------ model plumbing
def test_walk_forward_runs_the_registry_model_and_state_round_trips(two):
    ds = two["A"]
    wf = walk_forward(ds, ["pooled", "har"], start=300, refit_every=50)
    f = wf.forecasts["pooled"]
    assert f.shape == (len(ds) - 300,) and np.all(np.isfinite(f)) and np.all(f > 0)
    assert qlike(wf.target, f) < qlike(wf.target, np.full(f.size, np.nanmean(ds.target[:300]))) + 0.05
    m = get_model("pooled", ridge=1e-2)
    assert m.pooled and m.warm_start and m.name == "pooled"
    m.fit_panel([("A", two["A"], 420, 0), ("B", two["B"], 420, 0)])
    assert list(m.coef_.index) == ["const", "pk1", "pk5", "pk22", "r2_1", "r2_5", "r2_22", "neg1", "neg5", "neg22",
                                   "gk1", "gk5", "gk22", "gjr", "r_last"]
    np.testing.assert_array_equal(m.coef_.to_numpy(), m.theta_)
    arrays, meta = m.get_state()
    assert all(isinstance(v, np.ndarray) and v.dtype.kind in "fi" for v in arrays.values())
    meta = json.loads(json.dumps(meta))
    back = get_model("pooled", ridge=1e-2).set_state(arrays, meta)
    for k in ("A", "B"):
        np.testing.assert_array_equal(back.predict_asset(k, two[k], 420, 470), m.predict_asset(k, two[k], 420, 470))
    with pytest.raises(StateError, match="hidden"):
        PooledForecaster(hidden=4).set_state(arrays, meta)
    with pytest.raises(StateError, match="has shape"):
        PooledForecaster().set_state({**arrays, "theta": arrays["theta"][:-1]}, meta)
    with pytest.raises(StateError, match="no array 'theta'"):
        PooledForecaster().set_state({k: v for k, v in arrays.items() if k != "theta"}, meta)
    net = PooledForecaster(hidden=3, epochs=5).fit(two["A"], 420)
    arrays, meta = net.get_state()
    buf = io.BytesIO()
    np.savez(buf, **arrays)                   # as the model folders store it
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    back = PooledForecaster(hidden=3, epochs=5).set_state(arrays, json.loads(json.dumps(meta)))
    np.testing.assert_array_equal(back.predict(two["A"], 420, 470), net.predict(two["A"], 420, 470))


def test_residual_net_starts_at_the_linear_fit_and_is_reproducible(two):
    lin = PooledForecaster().fit(two["A"], 420)
    net0 = PooledForecaster(hidden=4, epochs=0).fit(two["A"], 420)
    np.testing.assert_allclose(net0.predict(two["A"], 420, 470), lin.predict(two["A"], 420, 470), rtol=1e-12)
    f1 = PooledForecaster(hidden=4, epochs=20).fit(two["A"], 420).predict(two["A"], 420, 470)
    f2 = PooledForecaster(hidden=4, epochs=20).fit(two["A"], 420).predict(two["A"], 420, 470)
    np.testing.assert_array_equal(f1, f2)
    assert not np.allclose(f1, lin.predict(two["A"], 420, 470))


def test_bad_use_is_one_clear_error(two):
    with pytest.raises(RuntimeError, match="fit"):
        PooledForecaster().predict(two["A"], 400, 410)
    with pytest.raises(ValueError, match="too few"):
        PooledForecaster().fit(two["A"], 30)
    with pytest.raises(ValueError, match="ridge"):
        PooledForecaster(ridge=-1)
    no_gk = build_dataset(_prices(seed=3))
    assert "gk" in no_gk.proxies          # an OHLC frame gets Garman-Klass by default ...
    del no_gk.proxies["gk"]               # ... a dataset built without it
    m = PooledForecaster().fit(two["A"], 400)
    with pytest.raises(ValueError, match="lacks the 'gk' proxy"):
        m.predict_asset("asset", no_gk, 400, 410)
    with pytest.raises(ValueError, match="some assets have the 'gk' proxy"):
        PooledForecaster().fit_panel([("A", two["A"], 400, 0), ("C", no_gk, 400, 0)])
    assert PooledForecaster().fit(no_gk, 400).predict(no_gk, 400, 410).shape == (10,)   # gk columns left out


# ------------------------------------------------------------------------------------ the scale floor
class _Collapsing(Forecaster):
    """Forecasts the training mean, except three collapsed (tiny) forecasts in every block."""

    def fit(self, ds, end, begin=0):
        self.level = float(np.nanmean(ds.target[begin:ds.last_known(end)]))
        return self

    def predict(self, ds, start, stop):
        f = np.full(stop - start, self.level)
        f[:3] = [1e-300, 1e-9, 1e-3 * self.level]
        return f


def test_floor_raises_collapsed_forecasts_and_counts_them(two):
    ds = two["A"]
    wf = walk_forward(ds, [ModelSpec("bad", factory=_Collapsing), "ewma"], start=300, refit_every=50)
    assert wf.floor_hits == {"bad": 3 * len(wf.blocks), "ewma": 0}
    f = wf.forecasts["bad"]
    for a, b in wf.blocks:
        floor = FLOOR_FRACTION * np.nanmean(ds.target[:ds.last_known(a)])
        assert scale_floor(ds, a) == pytest.approx(floor)
        np.testing.assert_allclose(f[a - 300:a - 300 + 3], floor, rtol=1e-14)
        assert np.all(f[a - 300 + 3:b - 300] > floor)          # sane forecasts are left exactly as given
    g, hits = apply_floor(np.array([2.0, 0.5, -3.0, 1.0]), 1.0)
    assert hits == 2 and g.tolist() == [2.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("value", [np.nan, np.inf, 0.0, -1.0])
def test_floor_does_not_hide_broken_forecasts(two, value):
    class Broken(_Collapsing):
        def predict(self, ds, start, stop):
            f = super().predict(ds, start, stop)
            f[5] = value
            return f

    with pytest.raises(WalkForwardError, match="non-positive or non-finite"):
        walk_forward(two["A"], [ModelSpec("broken", factory=Broken)], start=300, refit_every=50)


def test_har_keeps_the_sp500_reference_with_the_floor():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = build_dataset(load_sp500())
    wf = walk_forward(ds, ["har"], start="2008-01-01", refit_every=21)
    assert wf.floor_hits == {"har": 0}
    assert qlike(wf.target, wf.forecasts["har"]) == pytest.approx(0.8211, abs=6e-4)


def test_run_universe_drives_the_same_panel_fits(two):
    from tinygrad_trade.vol.universe import run_universe
    res = run_universe(two, ["pooled", "har"], start=300, refit_every=21)
    mine = _panel_run(two, first=300, refit_every=21)
    for k in two:
        np.testing.assert_array_equal(res[k].forecasts["pooled"], mine[k], err_msg=k)
        assert res[k].floor_hits == {"pooled": 0, "har": 0}


def test_split_run_equals_the_plain_panel_loop_to_the_bit(two):
    """run_universe splits pooled into per-asset GJR chains (phase 1) and the pooled chain (phase 2); the
    forecasts are those of one model fitted block after block, in-process and on a process pool alike."""
    from concurrent.futures import ProcessPoolExecutor

    from tinygrad_trade.vol.universe import plan_universe, run_universe, universe_tasks
    late = _ds(_prices(n=350, seed=7, start="2010-12-20"))      # too few rows for the first refits
    dss = {**two, "C": late}
    start = {"A": "2011-03-01", "B": "2011-03-01", "C": "2011-06-01"}
    plan = plan_universe(dss, ["pooled"], start=start, refit_every=21)
    model, plain = PooledForecaster(), {k: [] for k in dss}
    for row in plan.pooled_blocks:
        model.fit_panel([(k, dss[k], end, begin) for k, (end, begin, _, _) in row.items()])
        for k, (_, _, a, b) in row.items():
            if a < b:
                plain[k].append(model.predict_asset(k, dss[k], a, b))
    here = run_universe(dss, ["pooled"], start=start, refit_every=21)
    with ProcessPoolExecutor(2) as ex:
        pool = run_universe(dss, ["pooled"], start=start, refit_every=21, executor=ex)
    for k in dss:
        want = np.concatenate(plain[k])
        assert np.array_equal(here[k].forecasts["pooled"], want), k
        assert np.array_equal(pool[k].forecasts["pooled"], want), k
    tasks = universe_tasks(dss, plan)
    assert [t.phase for t in tasks] == [1, 1, 1, 2] and tasks[-1].needs == (0, 1, 2)
    chain = tasks[2]()[1]                                         # C's GJR fits: it sits out at first
    assert chain[0][2] is None and chain[-1][2] is not None
