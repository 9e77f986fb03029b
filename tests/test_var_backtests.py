"""VaR/ES backtests: each statistic by hand on small cases, the regulators' counts, and on simulated
GJR paths with skew-t innovations: the true model passes at nominal size, a normal model is rejected
at 1%, a VaR 10% too low is rejected."""
import numpy as np
import pytest
from scipy import stats

from tinygrad_trade.vol.evaluation import risk
from tinygrad_trade.vol.models.distributions import DISTRIBUTIONS
from tinygrad_trade.vol.evaluation.var_backtests import (acerbi_szekely, backtest_level, christoffersen_test, dq_test,
                                              fhs_var_es, frtb_counts, kupiec_test, parametric_simulator,
                                              parametric_var_es, traffic_light)

P, T = 200, 1000
OMEGA, ALPHA, GAMMA, BETA = 0.02, 0.03, 0.10, 0.90
ETA, LAM = 6.0, -0.2


@pytest.fixture(scope="module")
def paths():
    """200 GJR(1,1,1) paths of 1000 days with Hansen skew-t innovations, simulated side by side."""
    rng = np.random.default_rng(42)
    z = DISTRIBUTIONS["skewt"].simulate((P, T), [ETA, LAM], rng)
    s, r = np.empty((P, T)), np.empty((P, T))
    s_prev = np.full(P, OMEGA / (1 - ALPHA - GAMMA / 2 - BETA))
    e_prev = np.zeros(P)
    for t in range(T):
        st = OMEGA + (ALPHA + GAMMA * (e_prev < 0)) * e_prev ** 2 + BETA * s_prev if t else s_prev
        s[:, t], r[:, t] = st, np.sqrt(st) * z[:, t]
        s_prev, e_prev = st, r[:, t]
    return r, s


def _rejections(r, s, alpha, dist, shape, shift=1.0, n_paths=P, n_sims=99):
    """Share of paths where each test rejects at 5% (Z1, Z2 left out when ``n_sims`` is 0)."""
    names = ("kupiec", "cc", "ind", "dq", "mf") + (("z1", "z2") if n_sims else ())
    rej = dict.fromkeys(names, 0)
    key = f"{100 * alpha:g}"
    for i in range(n_paths):
        sig = np.sqrt(s[i])
        f = parametric_var_es(sig, dist, shape, [alpha])
        v, e = shift * f[f"var_{key}"], shift * f[f"es_{key}"]
        b = backtest_level(r[i], v, e, alpha, variance=s[i], rng=np.random.default_rng(i), n_sims=n_sims,
                           n_boot=200, simulate=parametric_simulator(shift * sig, dist, shape) if n_sims else None)
        p = {"kupiec": b.kupiec.pvalue, "cc": b.christoffersen.pvalue_cc, "ind": b.christoffersen.pvalue_ind,
             "dq": b.dq.pvalue, "mf": b.mcneil_frey.pvalue,
             "z1": b.acerbi_szekely.pvalue_z1, "z2": b.acerbi_szekely.pvalue_z2}
        for k in names:
            rej[k] += bool(p[k] < 0.05)
    return {k: v / n_paths for k, v in rej.items()}


# --------------------------------------------------------------------------- forecasts
def test_parametric_and_fhs_figures():
    sig = np.array([0.5, 1.0, 2.0])
    f = parametric_var_es(sig, "skewt", [ETA, LAM], [0.01, 0.025], mu=0.05)
    v, e = DISTRIBUTIONS["skewt"].var_es(0.025, [ETA, LAM])
    np.testing.assert_allclose(f["var_2.5"], sig * v - 0.05, rtol=1e-14)
    np.testing.assert_allclose(f["es_2.5"], sig * e - 0.05, rtol=1e-14)
    assert set(f) == {"var_1", "es_1", "var_2.5", "es_2.5"}
    rng = np.random.default_rng(0)
    s = 0.5 + rng.random(400)
    r = np.sqrt(s) * rng.standard_t(5, 400)
    got = fhs_var_es(r, s, [0.01, 0.05], min_history=250)
    ref = risk.rolling_var_es(r, s, [0.01, 0.05], "fhs", 250)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    assert np.isnan(got["var_1"][:250]).all() and np.isfinite(got["var_1"][250:]).all()


def test_parametric_simulator_draws_the_forecast_law():
    sig = np.array([1.0, 3.0])
    x = parametric_simulator(sig, "t", [5.0], mu=0.1)(np.random.default_rng(3), 50_000)
    assert x.shape == (50_000, 2)
    np.testing.assert_allclose(x.std(axis=0), sig, rtol=0.03)
    q = DISTRIBUTIONS["t"].ppf(0.01, [5.0])
    np.testing.assert_allclose(np.mean(x < 0.1 + sig * q, axis=0), 0.01, atol=0.002)


# --------------------------------------------------------------------------- statistics by hand
def test_kupiec_and_christoffersen_reuse_risk():
    rng = np.random.default_rng(5)
    r = rng.standard_normal(500)
    v = np.full(500, 2.0)
    v[:3] = np.nan
    k = kupiec_test(r, v, 0.025)
    ref = risk.kupiec(r[3:] < -2.0, 0.025)
    assert (k.n, k.hits, k.lr, k.pvalue) == (ref["n"], ref["hits"], ref["lr"], ref["pvalue"])
    c = christoffersen_test(r, v, 0.025)
    assert c.pvalue_cc == risk.christoffersen(r[3:] < -2.0, 0.025)["pvalue_cc"]
    assert k.to_dict()["hits"] == ref["hits"]


def test_dq_statistic_by_hand_and_clustered_hits():
    rng = np.random.default_rng(1)
    n, a = 600, 0.05
    v = 1.6 + 0.3 * rng.random(n)
    r = rng.standard_normal(n)
    d = dq_test(r, v, a)
    hit = (r < -v) - a
    X = np.column_stack([np.ones(n - 4), hit[3:-1], hit[2:-2], hit[1:-3], hit[:-4], v[4:]])
    b = np.linalg.inv(X.T @ X) @ X.T @ hit[4:]
    stat = b @ X.T @ X @ b / (a * (1 - a))
    assert d.stat == pytest.approx(stat, rel=1e-10) and d.df == 6 and d.n == n - 4
    assert d.pvalue == pytest.approx(stats.chi2.sf(stat, 6))
    # 30 hits in three clusters of ten days: the right count for 5% of 600, but not independent
    r2 = np.zeros(n)
    for start in (100, 300, 500):
        r2[start:start + 10] = -5.0
    assert kupiec_test(r2, np.full(n, 1.0), a).pvalue > 0.5
    assert dq_test(r2, np.full(n, 1.0) + 0.01 * rng.random(n), a).pvalue < 1e-6


def test_acerbi_szekely_by_hand():
    r = np.array([-3.0, 0.5, -1.0, -2.5, 1.0, 0.2, -0.1, 0.3])
    v = np.full(8, 2.0)
    e = np.full(8, 2.5)
    az = acerbi_szekely(r, v, e, 0.25)
    # hits on days 0 and 3 (losses 3.0 and 2.5)
    assert az.z1 == pytest.approx(1 - (3.0 / 2.5 + 2.5 / 2.5) / 2)
    assert az.z2 == pytest.approx(1 - (3.0 / 2.5 + 2.5 / 2.5) / (8 * 0.25))
    assert az.z2 == pytest.approx(risk.acerbi_szekely_z2(r, v, e, 0.25))
    assert np.isnan(az.pvalue_z2) and az.n_sims == 0
    with pytest.raises(ValueError, match="rng"):
        acerbi_szekely(r, v, e, 0.25, simulate=lambda rng, n: np.zeros((n, 8)))


def test_traffic_light_zones_and_plus_factors():
    n = 600
    r = np.zeros(n)
    v = np.full(n, 1.0)
    r[[10, 20, 30, 40]] = -2.0          # 4 in the first window: green
    r[[260, 262, 264, 266, 268, 270]] = -2.0
    tl = traffic_light(r, v)
    assert tl.exceptions.size == n - 249 and tl.end[0] == 249
    assert tl.exceptions[0] == 4 and tl.zone[0] == "green" and tl.plus_factor[0] == 0.0
    i = 270 - 249                        # the window of days 21..270: exceptions on days 30, 40 and the six
    assert tl.exceptions[i] == 6 + 2 and tl.zone[i] == "yellow" and tl.plus_factor[i] == 0.75
    r[[280, 282, 284, 286]] = -2.0
    tl = traffic_light(r, v)
    assert tl.exceptions[286 - 249] == 10 + 1 and tl.zone[286 - 249] == "red" and tl.plus_factor[286 - 249] == 1.0
    assert tl.share_green + tl.share_yellow + tl.share_red == pytest.approx(1.0)
    counts = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}
    for k, pf in counts.items():
        rr = np.zeros(250)
        rr[:k] = -2.0
        assert traffic_light(rr, np.ones(250)).last_plus_factor == pf
    with pytest.raises(ValueError, match="need at least 250"):
        traffic_light(r[:100], v[:100])


def test_frtb_limits():
    r = np.zeros(250)
    r[:30] = -1.5                        # 30 exceptions of the 97.5% VaR (1.0), 12 of the 99% (1.4 .. )
    v975 = np.ones(250)
    v99 = np.where(np.arange(250) < 12, 1.4, 2.0)
    f = frtb_counts(r, v975, v99)
    assert (f.last_exceptions_975, f.last_exceptions_99, f.last_pass) == (30, 12, True)
    r[30] = -1.5
    assert not frtb_counts(r, v975, v99).last_pass
    v99[12] = 1.4
    f = frtb_counts(r[:250], np.full(250, 5.0), v99)
    assert f.last_exceptions_99 == 13 and not f.last_pass


# --------------------------------------------------------------------------- on simulated GJR paths
# Z p-values by simulation at 2.5% only (the slow part)
@pytest.mark.parametrize("alpha,n_sims", [pytest.param(0.025, 99, marks=pytest.mark.slow), (0.01, 0)])
def test_true_model_passes_at_nominal_size(paths, alpha, n_sims):
    r, s = paths
    rates = _rejections(r, s, alpha, "skewt", [ETA, LAM], n_sims=n_sims)
    assert all(v <= 0.10 for v in rates.values()), rates
    assert 0.02 <= rates["kupiec"] <= 0.08, rates
    if n_sims:
        assert 0.02 <= rates["z2"] <= 0.08, rates


def test_normal_model_is_rejected_at_one_percent(paths):
    r, s = paths
    rates = _rejections(r, s, 0.01, "normal", [], n_paths=100)
    for k in ("kupiec", "cc", "dq", "z1", "z2", "mf"):
        assert rates[k] >= 0.7, rates


def test_var_ten_percent_too_low_is_rejected(paths):
    r, s = paths
    rates = _rejections(r, s, 0.025, "skewt", [ETA, LAM], shift=0.9, n_paths=100, n_sims=49)
    for k in ("kupiec", "cc", "dq", "z2"):
        assert rates[k] >= 0.25, rates       # 5x the nominal 5% on 1000 days
    # on all 200,000 days at once the evidence is overwhelming
    f = parametric_var_es(np.sqrt(s).ravel(), "skewt", [ETA, LAM], [0.025])
    assert kupiec_test(r.ravel(), 0.9 * f["var_2.5"], 0.025).pvalue < 1e-10
    assert kupiec_test(r.ravel(), f["var_2.5"], 0.025).pvalue > 0.01


def test_true_model_traffic_light_mostly_green(paths):
    r, s = paths
    green, frtb, green_normal = [], [], []
    for i in range(50):
        f = parametric_var_es(np.sqrt(s[i]), "skewt", [ETA, LAM], [0.01, 0.025])
        green.append(traffic_light(r[i], f["var_1"]).share_green)
        frtb.append(frtb_counts(r[i], f["var_2.5"], f["var_1"]).share_pass)
        n = parametric_var_es(np.sqrt(s[i]), "normal", [], [0.01])
        green_normal.append(traffic_light(r[i], n["var_1"]).share_green)
    assert np.mean(green) > 0.85 and np.mean(frtb) > 0.9
    assert np.mean(green_normal) < np.mean(green) - 0.2


def test_per_day_shape_parameters():
    sig = np.array([1.0, 1.0, 2.0, 2.0])
    shape = np.array([[5.0, -0.1], [5.0, -0.1], [8.0, 0.0], [8.0, 0.0]])    # a refit between days 1 and 2
    f = parametric_var_es(sig, "skewt", shape, [0.01], mu=np.array([0.0, 0.0, 0.1, 0.1]))
    a = parametric_var_es(sig[:2], "skewt", [5.0, -0.1], [0.01])
    b = parametric_var_es(sig[2:], "skewt", [8.0, 0.0], [0.01], mu=0.1)
    np.testing.assert_allclose(f["var_1"], np.concatenate((a["var_1"], b["var_1"])), rtol=1e-14)
    np.testing.assert_allclose(f["es_1"], np.concatenate((a["es_1"], b["es_1"])), rtol=1e-14)
    x = parametric_simulator(sig, "skewt", shape)(np.random.default_rng(0), 40_000)
    assert x.shape == (40_000, 4)
    q1 = DISTRIBUTIONS["skewt"].ppf(0.05, [5.0, -0.1])
    q2 = DISTRIBUTIONS["skewt"].ppf(0.05, [8.0, 0.0])
    np.testing.assert_allclose(np.mean(x < sig * np.array([q1, q1, q2, q2]), axis=0), 0.05, atol=0.006)
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        parametric_var_es(sig, "skewt", shape[:3], [0.01])
