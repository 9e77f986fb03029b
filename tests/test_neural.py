"""Neural forecasters (vol.models.neural): determinism, HAR at initialisation, no look-ahead, gradients,
the NaN guard, warm start, the fused GRU op, and the 2008 pitfall (a tanh net without a linear path
under-predicts the crisis; the HAR skip design does not)."""
import warnings

import numpy as np
import pytest

from tinygrad_trade.gradcheck import gradcheck
from tinygrad_trade.nn import GRU
from tinygrad_trade.optim import NonFiniteError
from tinygrad_trade.tensor import Tensor
from tinygrad_trade.vol.base import Dataset
from tinygrad_trade.vol.evaluation import qlike
from tinygrad_trade.vol.models import MODELS, get_model
from tinygrad_trade.vol.models.neural import GRUForecaster, GRUSequence, MLPForecaster, har_inputs
from tinygrad_trade.vol.walkforward import walk_forward


@pytest.fixture(scope="module")
def ds():
    from tinygrad_trade.vol.data import load_sp500
    from tinygrad_trade.vol.dataset import build_dataset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_dataset(load_sp500())


def _day(ds, date):
    return int(np.searchsorted(ds.dates, np.datetime64(date)))


def _copy(ds, **changes):
    kw = dict(dates=ds.dates, returns=ds.returns.copy(), daily=ds.daily.copy(), target=ds.target.copy(),
              proxies={k: v.copy() for k, v in ds.proxies.items()}, horizon=ds.horizon, source=ds.source,
              target_name=ds.target_name)
    kw.update(changes)
    return Dataset(**kw)


FAST = dict(quick=True, progress=False)
END = 1500            # 2004-12: about 1,450 training rows
CLASSES = [MLPForecaster, GRUForecaster]


# ---------------------------------------------------------------------------------- registry, options
def test_registry_builds_the_nets():
    assert isinstance(get_model("mlp"), MLPForecaster) and isinstance(get_model("gru"), GRUForecaster)
    assert {"mlp", "gru"} <= set(MODELS)
    m = get_model("mlp", seed=3, epochs=5)           # what vol.pipeline passes
    assert m.seed == 3 and m.epochs == 5 and m.refit_epochs == 5 and m.warm_start
    with pytest.raises(ValueError, match="skip"):
        MLPForecaster(skip="garch")
    with pytest.raises(ValueError, match="loss"):
        MLPForecaster(loss="mae")
    with pytest.raises(TypeError, match="unknown option"):
        MLPForecaster(hiden=3)
    with pytest.raises(RuntimeError, match="fit first"):
        MLPForecaster().predict(None, 0, 1)


def test_inputs_use_only_past_days(ds):
    names, X = har_inputs(ds)
    assert names == ["ln_parkinson_1", "ln_parkinson_5", "ln_parkinson_22", "ln_r2_1", "ln_r2_5", "ln_r2_22",
                     "neg_1", "neg_5", "neg_22"]
    t = 100
    assert X[t, 0] == pytest.approx(np.log(ds.proxies["parkinson"][t - 1]))
    assert X[t, 4] == pytest.approx(np.log(np.mean(ds.proxies["r2"][t - 5:t]) + 0.1))
    assert X[t, 8] == pytest.approx(np.mean(np.minimum(ds.returns[t - 22:t], 0)))
    assert np.isnan(X[22]).any() and np.isfinite(X[23]).all()


# ---------------------------------------------------------------------------------- the HAR start
@pytest.mark.parametrize("cls", CLASSES)
def test_at_initialisation_the_net_is_har(ds, cls):
    har = get_model("har").fit(ds, END, begin=200)
    net = cls(epochs=0, progress=False).fit(ds, END, begin=200)
    f_har, f_net = har.predict(ds, END, END + 60), net.predict(ds, END, END + 60)
    np.testing.assert_allclose(f_net, f_har, rtol=1e-8, atol=0)
    np.testing.assert_allclose(net.har_coef_, har.coef_.to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------- determinism, skill
@pytest.mark.parametrize("cls", CLASSES)
def test_training_is_deterministic_per_seed(ds, cls):
    def run(seed):
        m = cls(seed=seed, **FAST)
        m.fit(ds, END)
        f1 = m.predict(ds, END, END + 21)
        m.fit(ds, END + 21)                          # a warm refit
        return np.concatenate([f1, m.predict(ds, END + 21, END + 42)]), m
    a, ma = run(7)
    b, mb = run(7)
    c, _ = run(8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert [h["train"] for h in ma.history] == [h["train"] for h in mb.history]


@pytest.mark.parametrize("cls", CLASSES)
def test_forecasts_beat_the_training_mean_out_of_sample(ds, cls):
    m = cls(seed=0, **FAST).fit(ds, END)
    stop = END + 250
    y = ds.target[END:stop]
    const = np.full(y.size, np.mean(ds.target[1:END]))
    assert qlike(y, m.predict(ds, END, stop)) < qlike(y, const) - 0.05


def test_history_and_shapes(ds):
    m = MLPForecaster(seed=0, **FAST)
    m.fit(ds, END)
    m.fit(ds, END + 21)
    assert len(m.history) == 2
    h0, h1 = m.history
    assert h0["end"] == END and h1["end"] == END + 21 and not h0["warm"] and h1["warm"]
    assert len(h0["train"]) == len(h0["val"]) >= 1 and len(h1["train"]) <= m.refit_epochs
    assert all(np.isfinite(h0["train"])) and len(h0["best_epoch"]) == m.members
    s = m.log_variance(ds, END, END + 5)
    assert s.shape == (m.members, 5)
    np.testing.assert_allclose(m.predict(ds, END, END + 5), np.exp(s).mean(axis=0))   # variance-space average


def test_progress_bar_on_stderr_and_silenced(ds, capsys):
    MLPForecaster(quick=True, epochs=3, progress=True).fit(ds, END)
    err = capsys.readouterr().err
    assert "mlp fit 1" in err
    MLPForecaster(quick=True, epochs=3, progress=False).fit(ds, END)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------- no look-ahead
@pytest.mark.parametrize("cls", CLASSES)
def test_no_look_ahead(ds, cls):
    t = END + 30
    rng = np.random.default_rng(0)
    ds2 = _copy(ds)
    for arr in (ds2.returns, ds2.daily, ds2.target, *ds2.proxies.values()):
        arr[t:] *= rng.uniform(0.2, 5.0, size=arr[t:].size)       # every day from t on changes
    f1 = cls(seed=0, **FAST).fit(ds, END).predict(ds, END, END + 50)
    f2 = cls(seed=0, **FAST).fit(ds2, END).predict(ds2, END, END + 50)
    k = t - END
    np.testing.assert_array_equal(f1[:k + 1], f2[:k + 1])          # forecasts of days <= t
    assert not np.allclose(f1[k + 1:], f2[k + 1:])                 # (the perturbation does matter later)


def test_fit_uses_only_targets_known_before_end(ds):
    h = 5
    from tinygrad_trade.vol.dataset import forward_mean
    ds5 = _copy(ds, target=forward_mean(ds.daily, h), horizon=h)
    ds5b = _copy(ds5)
    ds5b.target[END - h + 1:] = 1e3                                  # targets not yet known at END
    a = MLPForecaster(seed=0, **FAST).fit(ds5, END).predict(ds5, END, END + 10)
    b = MLPForecaster(seed=0, **FAST).fit(ds5b, END).predict(ds5b, END, END + 10)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("cls", CLASSES)
def test_loss_gradients_pass_gradcheck(ds, cls):
    m = cls(epochs=0, progress=False, dtype=np.float64, hidden=3, members=2, weight_decay=0.0).fit(ds, END)
    rng = np.random.default_rng(1)
    for p in m.params.parameters():                  # away from the HAR start, so every path is exercised
        p.data[...] = p.data + rng.normal(0.0, 0.3, size=p.shape)
    inputs, y = m.batch(ds, np.arange(END, END + 6))
    assert gradcheck(m.loss_fn(inputs, y), m.params.parameters(), atol=1e-6, rtol=1e-4)


def test_mse_log_loss_gradients_and_fit(ds):
    m = MLPForecaster(loss="mse_log", seed=0, dtype=np.float64, **FAST).fit(ds, END)
    inputs, y = m.batch(ds, np.arange(END, END + 5))
    assert gradcheck(m.loss_fn(inputs, y), m.params.parameters(), atol=1e-6, rtol=1e-4)
    f = m.predict(ds, END, END + 100)
    assert np.all(np.isfinite(f) & (f > 0)) and m.shift_.shape == (m.members,) and np.all(m.shift_ > 0)


def test_gru_op_matches_nn_gru_and_gradcheck():
    rng = np.random.default_rng(0)
    B, L, D, H, K = 4, 5, 3, 2, 2
    X = rng.standard_normal((B, L, D))
    Ws = [Tensor(rng.standard_normal(s) * 0.7, requires_grad=True)
          for s in [(K, D, 3 * H), (K, H, 3 * H), (K, 1, 3 * H), (K, 1, 3 * H)]]
    h = GRUSequence.apply(Tensor(X), *Ws)
    for k in range(K):
        g = GRU(D, H)
        g.weight_ih.data[:], g.weight_hh.data[:] = Ws[0].data[k], Ws[1].data[k]
        g.bias_ih.data[:], g.bias_hh.data[:] = Ws[2].data[k, 0], Ws[3].data[k, 0]
        _, last = g(Tensor(X))
        np.testing.assert_allclose(h.data[k], last.data, atol=1e-14)
    w = Tensor(rng.standard_normal((K, B, H)))
    assert gradcheck(lambda *ps: (GRUSequence.apply(Tensor(X), *ps) * w).sum(), Ws)


# ---------------------------------------------------------------------------------- NaN guard
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_nan_guard_stops_cleanly_on_bad_data(ds):
    bad = _copy(ds)
    bad.target[300] = 1e39          # finite in float64, inf in the float32 training loss
    m = MLPForecaster(seed=0, **FAST)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        m.fit(bad, END)
    assert m.history[-1]["stopped"] == "non-finite at epoch 1" and m.history[-1]["train"] == []
    start = MLPForecaster(seed=0, epochs=0, **FAST).fit(bad, END)   # the step was never taken
    np.testing.assert_array_equal(m.predict(bad, END, END + 20), start.predict(bad, END, END + 20))
    with pytest.raises(NonFiniteError):
        MLPForecaster(on_nonfinite="raise", **FAST).fit(bad, END)


class _NaNAt(MLPForecaster):
    """The training loss turns NaN at one epoch (the validation loss is computed separately)."""

    def __init__(self, at, **kw):
        super().__init__(**kw)
        self.at, self.calls = at, 0

    def _loss(self, s, y):
        self.calls += 1
        loss = super()._loss(s, y)
        return loss * float("nan") if self.calls == self.at else loss


def test_nan_guard_mid_training_keeps_the_best_weights(ds):
    m = _NaNAt(6, seed=0, patience=100, **FAST)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        m.fit(ds, END)
    h = m.history[-1]
    assert h["stopped"] == "non-finite at epoch 6" and len(h["train"]) == 5
    ref = MLPForecaster(seed=0, epochs=5, patience=100, **FAST).fit(ds, END)
    np.testing.assert_array_equal(m.predict(ds, END, END + 20), ref.predict(ds, END, END + 20))
    assert np.all(np.isfinite(m.params.parameters()[0].data))


# ---------------------------------------------------------------------------------- warm start
@pytest.mark.parametrize("cls", CLASSES)
def test_warm_refit_rescales_inputs_without_changing_the_function(ds, cls):
    m = cls(skip="linear", refit_epochs=0, dtype=np.float64, seed=0, **FAST).fit(ds, END)
    before = m.log_variance(ds, END + 300, END + 340)
    scale = m.scaler_.scale_.copy()
    m.fit(ds, END + 300)                              # new scaler, no training
    assert not np.allclose(m.scaler_.scale_, scale)
    np.testing.assert_allclose(m.log_variance(ds, END + 300, END + 340), before, rtol=1e-10, atol=1e-10)


def test_walk_forward_runs_the_nets_in_order(ds):
    start = _day(ds, "2008-01-01")
    wf = walk_forward(ds, [("mlp", FAST), ("gru", FAST)], start=start, stop=start + 63, refit_every=21)
    for name in ("mlp", "gru"):
        f = wf.forecasts[name]
        assert f.shape == (63,) and np.all(f > 0)
        assert [h["end"] for h in wf.histories[name]] == [start, start + 21, start + 42]
        assert [h["warm"] for h in wf.histories[name]] == [False, True, True]


# ---------------------------------------------------------------------------------- the 2008 pitfall
def test_2008_a_saturating_net_without_linear_path_under_predicts(ds):
    """Fit on data to the end of 2007, forecast 2008 H2 (no refit): the tanh net without a skip path
    saturates (its largest forecast is a fraction of the realised variance level) while the skip
    design follows the crisis and scores far better (numbers in docs/model-card.md)."""
    end, a, b = _day(ds, "2008-01-01"), _day(ds, "2008-07-01"), _day(ds, "2009-01-01")
    y = ds.target[a:b]
    plain = MLPForecaster(skip=None, activation="tanh", weight_decay=0.0, members=3, progress=False).fit(ds, end)
    skip = MLPForecaster(members=3, progress=False).fit(ds, end)
    fa, fb = plain.predict(ds, a, b), skip.predict(ds, a, b)
    f_har = get_model("har").fit(ds, end).predict(ds, a, b)
    assert fa.mean() < 0.6 * y.mean() and fa.max() < 0.5 * fb.max()
    assert qlike(y, fb) < qlike(y, fa) - 0.1
    assert qlike(y, fb) < qlike(y, f_har) + 0.1
