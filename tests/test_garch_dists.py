"""The GARCH family with t, skew-t and GED errors and EGARCH: the variance ops' adjoints, the exact
scores and Hessian, the S&P 500 fits against arch 8's figures, bound flags, the forecaster."""
import math
import warnings

import numpy as np
import pytest

from tinygrad_trade.gradcheck import gradcheck
from tinygrad_trade.graph import grad
from tinygrad_trade.tensor import Tensor
from tinygrad_trade.vol.features.dataset import Dataset
from tinygrad_trade.vol.models.base import StateError
from tinygrad_trade.vol.models.garch import GARCH, backcast, egarch_variance, fit_garch, loglik_tensor, param_names
from tinygrad_trade.vol.models.garch_dists import (EgarchVariance, GarchVariance, loglik_dist_derivatives,
                                                   loglik_dist_tensor)

SHAPE = {"normal": [], "t": [6.0], "skewt": [6.0, -0.2], "ged": [1.4]}
VOLP = {"mu": 0.03, "omega": 0.05, "alpha": 0.08, "gamma": 0.1, "beta": 0.85}

# arch 8.0.0 on the embedded S&P 500 (constant mean; robust and classic standard errors, numerical Hessian)
REF = {
    ("gjr", "skewt"): ({"mu": 0.01557, "omega": 0.01461, "alpha": 0.0, "gamma": 0.18954, "beta": 0.89572,
                        "eta": 8.12389, "lambda": -0.12777}, -6725.859,
                       {"mu": 0.01092, "omega": 0.00246, "gamma": 0.01892, "beta": 0.01055, "eta": 0.9111,
                        "lambda": 0.01899}),
    ("egarch", "t"): ({"mu": 0.03674, "omega": -0.00211, "alpha": 0.12851, "gamma": -0.15408, "beta": 0.98242,
                       "nu": 7.28562}, -6732.244,
                      {"mu": 0.01019, "omega": 0.00259, "alpha": 0.01294, "gamma": 0.01131, "beta": 0.00272,
                       "nu": 0.72231}),
    ("garch", "ged"): ({"mu": 0.06251, "omega": 0.01207, "alpha": 0.10037, "beta": 0.89396, "nu": 1.32306},
                       -6827.286, {"mu": 0.0106, "omega": 0.00281, "alpha": 0.0108, "beta": 0.01086, "nu": 0.03665}),
}
REF_ROBUST = {("egarch", "t"): {"mu": 0.01026, "omega": 0.00269, "alpha": 0.01435, "gamma": 0.01341,
                                "beta": 0.00339, "nu": 0.76915},
              ("gjr", "skewt"): {"mu": 0.0111, "omega": 0.00299, "gamma": 0.02254, "beta": 0.01292, "eta": 0.94568,
                                 "lambda": 0.01764}}


@pytest.fixture(scope="module")
def returns():
    from tinygrad_trade.vol.data import load_sp500
    from tinygrad_trade.vol.features import log_returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return log_returns(load_sp500()).to_numpy()[1:]


def _dataset(r, horizon=1):
    """A Dataset of returns only (day 0 has none), as the walk-forward builds it."""
    n = r.size
    r = np.concatenate(([np.nan], r))
    r2 = r ** 2
    target = np.array([np.mean(r2[t:t + horizon]) if t + horizon <= n + 1 else np.nan for t in range(n + 1)])
    dates = np.arange(n + 1).astype("datetime64[D]")
    return Dataset(dates=dates, returns=r, daily=r2, target=target, proxies={"r2": r2}, horizon=horizon)


def _theta(vol, mean, dist):
    vals = [VOLP[n] if not (vol == "egarch" and n == "omega") else 0.01 for n in param_names(vol, mean)]
    return np.array(vals + SHAPE[dist])


def test_egarch_recursion_by_hand():
    rng = np.random.default_rng(1)
    e = rng.standard_normal(60)
    om, al, ga, be, bc = 0.02, 0.1, -0.08, 0.95, 1.7
    h, prev_h = [], math.log(bc)
    for t in range(60):
        ht = om + be * prev_h
        if t:
            z = e[t - 1] / math.exp(0.5 * prev_h)
            ht += al * (abs(z) - math.sqrt(2 / math.pi)) + ga * z   # E|z| of the normal, for every law
        h.append(ht)
        prev_h = ht
    np.testing.assert_allclose(egarch_variance([om, al, ga, be], e, bc), np.exp(h), rtol=1e-13)


@pytest.mark.parametrize("op,vp", [(GarchVariance, [0.05, 0.08, 0.85]), (GarchVariance, [0.05, 0.08, 0.1, 0.85]),
                                   (EgarchVariance, [0.01, 0.1, -0.1, 0.9])])
def test_variance_ops_gradcheck(returns, op, vp):
    e = Tensor(returns[:30] - 0.03, requires_grad=True)
    p = Tensor(np.array(vp), requires_grad=True)
    w = np.random.default_rng(0).standard_normal(30)      # a generic dL/ds
    assert gradcheck(lambda a, b: (op.apply(a, b, backcast=1.2) * w).sum(), [p, e], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("vol", ["garch", "gjr"])
@pytest.mark.parametrize("mean", ["constant", "zero"])
def test_normal_law_equals_gaussian_reference(returns, vol, mean):
    r = returns[:500]
    bc = backcast(r - r.mean() if mean == "constant" else r)
    x = _theta(vol, mean, "normal")
    t1, t2 = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    L1, L2 = loglik_tensor(t1, r, bc, vol, mean), loglik_dist_tensor(t2, r, bc, vol, mean, "normal")
    assert L1.item() == pytest.approx(L2.item(), rel=1e-13)
    np.testing.assert_allclose(grad(L1, t1), grad(L2, t2), rtol=1e-10)


@pytest.mark.parametrize("vol", ["garch", "gjr", "egarch"])
@pytest.mark.parametrize("dist", ["normal", "t", "skewt", "ged"])
def test_exact_scores_and_hessian(returns, vol, dist):
    r = returns[2000:2300]
    bc = backcast(r - r.mean())
    x = _theta(vol, "constant", dist)

    def gradient(p):
        t = Tensor(p, requires_grad=True)
        return np.asarray(grad(loglik_dist_tensor(t, r, bc, vol, "constant", dist), t))

    L, scores, H = loglik_dist_derivatives(x, r, bc, vol, "constant", dist)
    assert L == pytest.approx(loglik_dist_tensor(Tensor(x), r, bc, vol, "constant", dist).item(), rel=1e-13)
    np.testing.assert_allclose(scores.sum(axis=0), gradient(x), rtol=1e-9, atol=1e-9)
    # small steps: the skew-t's second derivative jumps at z = -a/b, and a day near there spoils wider ones
    Hn = np.array([(gradient(x + h) - gradient(x - h)) / 2e-6 for h in np.eye(x.size) * 1e-6])
    np.testing.assert_allclose(H, Hn, atol=2e-6 * np.abs(H).max())
    np.testing.assert_allclose(H, H.T, atol=1e-9 * np.abs(H).max())
    # per-observation scores: the gradient of the first t + 1 terms minus that of the first t
    _, s_short, _ = loglik_dist_derivatives(x, r[:41], bc, vol, "constant", dist)
    np.testing.assert_allclose(scores[:41], s_short, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("key", list(REF))
def test_sp500_fits_equal_arch(returns, key):
    vol, dist = key
    params, ll, se = REF[key]
    res = fit_garch(returns, vol=vol, dist=dist)
    assert res.converged
    assert res.loglik == pytest.approx(ll, abs=0.01)
    for n, v in params.items():
        assert res.params[n] == pytest.approx(v, rel=1e-3, abs=1e-4), n
    for n, v in se.items():      # arch's numerical Hessian: agreement to about 1%
        assert res.classic_std_err[n] == pytest.approx(v, rel=2e-2), n
    for n, v in REF_ROBUST.get(key, {}).items():
        assert res.robust_std_err[n] == pytest.approx(v, rel=2e-2), n
    assert list(res.params.index) == param_names(vol, "constant", res.dist.param_names)


def test_bound_is_flagged(returns):
    res = fit_garch(returns, vol="gjr", dist="skewt")
    assert res.at_bound["alpha"] and not res.at_bound[["mu", "gamma", "beta", "eta", "lambda"]].any()
    text = res.summary()
    assert "Hansen's skew-t errors" in text and "* at a bound (alpha)" in text
    assert [ln for ln in text.splitlines() if ln.strip().startswith("alpha")][0].endswith("*")
    interior = fit_garch(returns, vol="garch", dist="t")
    assert not interior.at_bound.any() and "at a bound" not in interior.summary()


def test_forecasts(returns):
    res = fit_garch(returns[:2000], vol="egarch", dist="t")
    p = res.params
    z = res.resid[-1] / math.sqrt(res.conditional_variance[-1])
    ln1 = (p["omega"] + p["alpha"] * (abs(z) - math.sqrt(2 / math.pi)) + p["gamma"] * z
           + p["beta"] * math.log(res.conditional_variance[-1]))
    assert res.forecast(1)[0] == pytest.approx(math.exp(ln1), rel=1e-13)
    with pytest.raises(ValueError, match="one day ahead only"):
        res.forecast(5)
    g = fit_garch(returns[:2000], vol="gjr", dist="ged")
    s1 = g.forecast(1)[0]
    assert g.forecast(3)[2] == pytest.approx(p_om(g) + g.persistence * (p_om(g) + g.persistence * s1), rel=1e-13)


def p_om(res):
    return float(res.params["omega"])


def test_forecaster_with_a_law_and_its_state(returns):
    ds = _dataset(returns[:1400])
    m = GARCH(vol="gjr", dist="skewt").fit(ds, end=1200, begin=100)
    assert m.name == "gjr_skewt" and m.result.dist.name == "skewt"
    f = m.predict(ds, 1200, 1250)
    direct = fit_garch(ds.returns[101:1200], vol="gjr", dist="skewt")
    np.testing.assert_allclose(m.result.params, direct.params, rtol=1e-6, atol=1e-7)
    arrays, meta = m.get_state()
    again = GARCH(vol="gjr", dist="skewt").set_state(arrays, meta)
    np.testing.assert_array_equal(again.predict(ds, 1200, 1250), f)
    with pytest.raises(StateError, match="skewt"):
        GARCH(vol="gjr", dist="t").set_state(arrays, meta)
    m.fit(ds, end=1221, begin=100)
    assert m.result.warm_start


def test_bad_law():
    with pytest.raises(ValueError, match="dist must be one of normal, t, skewt, ged"):
        fit_garch(np.random.default_rng(0).standard_normal(300), dist="cauchy")
    with pytest.raises(ValueError, match="vol must be one of garch, gjr, egarch"):
        GARCH(vol="figarch")


def test_forecaster_var_es_from_the_fitted_law(returns):
    ds = _dataset(returns[:1400], horizon=5)
    m = GARCH(vol="gjr", dist="t").fit(ds, end=1200)
    out = m.predict_var_es(ds, 1200, 1260, levels=(0.01, 0.025))
    assert set(out) == {"var_1", "es_1", "var_2.5", "es_2.5"}
    one = _dataset(returns[:1400])
    sig = np.sqrt(GARCH(vol="gjr", dist="t").set_state(*m.get_state()).predict(one, 1200, 1260))
    v, es = m.result.dist.var_es(0.025, m.result.shape)
    np.testing.assert_allclose(out["var_2.5"], sig * v - m.result.mu, rtol=1e-13)
    np.testing.assert_allclose(out["es_2.5"], sig * es - m.result.mu, rtol=1e-13)
    assert np.all(out["es_1"] > out["var_1"]) and np.all(out["var_1"] > out["var_2.5"])


def test_zero_residuals_in_a_zero_mean_ged_fit(returns):
    r = returns[:400].copy()
    r[::40] = 0.0                 # days without a price change: e_t = 0 exactly, where |z|^nu has no 2nd derivative
    bc = backcast(r)
    x = np.array([0.05, 0.05, 0.1, 0.85, 1.4])

    def gradient(p):
        t = Tensor(p, requires_grad=True)
        return np.asarray(grad(loglik_dist_tensor(t, r, bc, "gjr", "zero", "ged"), t))

    L, scores, H = loglik_dist_derivatives(x, r, bc, "gjr", "zero", "ged")
    assert np.all(np.isfinite(H)) and np.all(np.isfinite(scores))
    Hn = np.array([(gradient(x + h) - gradient(x - h)) / 2e-6 for h in np.eye(x.size) * 1e-6])
    np.testing.assert_allclose(H, Hn, atol=2e-6 * np.abs(H).max())


def test_failed_refit_keeps_the_previous_fit(returns):
    ds = _dataset(returns[:1300])
    ds.source = "sp500.csv"
    m = GARCH(vol="gjr", dist="skewt", warm_start=False, on_failure="keep").fit(ds, end=1000, begin=500)
    before = m.result
    with pytest.warns(UserWarning, match=r"sp500.csv: gjr_skewt refit for .* did not converge.*previous parameters"):
        m.fit(ds, end=31)       # the first 30 returns: the skew-t GJR does not converge on them
    assert m.result is before and m.begin == 500
    used = GARCH(vol="gjr", dist="skewt", warm_start=False).fit(ds, end=1000, begin=500).fit(ds, end=31)
    assert not used.result.converged and used.begin == 0
    with pytest.raises(ValueError, match="on_failure"):
        GARCH(on_failure="skip")
