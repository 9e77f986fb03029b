"""VaR / ES from variance forecasts and their backtests (vol.risk)."""
import math

import numpy as np
import pytest
from scipy import stats

from tinygrad_trade.vol import risk

OMEGA, ALPHA, BETA = 0.02, 0.08, 0.90


def simulate_garch(n=3000, seed=7):
    """A GARCH(1,1) path with normal innovations: (returns, true conditional variances)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    s = np.empty(n)
    r = np.empty(n)
    s[0] = OMEGA / (1 - ALPHA - BETA)
    for t in range(n):
        if t:
            s[t] = OMEGA + ALPHA * r[t - 1] ** 2 + BETA * s[t - 1]
        r[t] = math.sqrt(s[t]) * z[t]
    return r, s


@pytest.fixture(scope="module")
def path():
    return simulate_garch()


def test_normal_quantiles_match_scipy():
    v, e = risk.normal_var_es(0.05)
    assert v == pytest.approx(1.6448536, abs=1e-6)
    # ES of a standard normal by numerical integration of the tail
    x = np.linspace(-12, -v, 200001)
    tail = np.trapezoid(x * stats.norm.pdf(x), x) / 0.05
    assert e == pytest.approx(-tail, rel=1e-6)


def test_empirical_quantile_matches_numpy():
    z = np.random.default_rng(1).standard_normal(1000)
    v, e = risk.quantile_var_es(z, 0.05)
    q = np.quantile(z, 0.05)
    assert v == pytest.approx(-q)
    assert e == pytest.approx(-z[z <= q].mean())


@pytest.mark.parametrize("method", ["normal", "fhs"])
def test_true_model_passes(path, method):
    r, s = path
    rv = risk.rolling_var_es(r, s, method=method)
    first = int(np.flatnonzero(np.isfinite(rv["var_5"]))[0])
    assert first == (0 if method == "normal" else risk.MIN_HISTORY)
    bt = risk.backtest(r[first:], s[first:], rv["var_5"][first:], rv["es_5"][first:], 0.05)
    n = bt["n"]
    se = math.sqrt(0.05 * 0.95 / n)
    assert abs(bt["hit_rate"] - 0.05) < 2.5 * se
    for key in ("kupiec_pvalue", "ind_pvalue", "cc_pvalue", "es_mf_pvalue"):
        assert bt[key] > 0.05, (key, bt)
    assert abs(bt["es_z2"]) < 0.3


def test_too_low_var_is_rejected(path):
    r, s = path
    rv = risk.rolling_var_es(r, s, method="normal")
    low = 0.7 * rv["var_5"]
    bt = risk.backtest(r, s, low, 0.7 * rv["es_5"], 0.05)
    assert bt["hit_rate"] > 0.08
    assert bt["kupiec_pvalue"] < 1e-6 and bt["cc_pvalue"] < 1e-6
    assert bt["es_mf_pvalue"] < 0.01 and bt["es_z2"] < -0.3


def test_constant_variance_fails_independence(path):
    """A VaR that ignores volatility clustering has clustered hits."""
    r, s = path
    flat = np.full_like(s, s.mean())
    rv = risk.rolling_var_es(r, flat, method="normal")
    bt = risk.backtest(r, flat, rv["var_1"], rv["es_1"], 0.01)
    assert bt["ind_pvalue"] < 0.01


def test_fhs_has_no_look_ahead(path):
    """Changing day t's return (and later) cannot change the VaR of day t."""
    r, s = path
    a = risk.rolling_var_es(r[:600], s[:600], min_history=250)
    r2 = r[:600].copy()
    r2[400:] *= 5.0
    b = risk.rolling_var_es(r2, s[:600], min_history=250)
    assert np.array_equal(a["var_1"][:401], b["var_1"][:401], equal_nan=True)
    assert not np.array_equal(a["var_1"][401:], b["var_1"][401:])


def _day_by_day(returns, variance, levels, min_history, history=None):
    """rolling_var_es's FHS as a plain loop (round 2's code): the residuals kept sorted, one day at a time."""
    sig = np.sqrt(np.asarray(variance, dtype=float))
    z = risk.standardized_residuals(returns, variance)
    out = {f"{k}_{risk.level_key(a)}": np.full(z.size, np.nan) for a in levels for k in ("var", "es")}
    zs = np.sort([] if history is None else np.asarray(history, dtype=float)[np.isfinite(history)])
    for t in range(z.size):
        if zs.size >= max(2, min_history) and np.isfinite(sig[t]):
            for a in levels:
                v, e = risk.quantile_var_es(zs, a)
                out[f"var_{risk.level_key(a)}"][t] = sig[t] * v
                out[f"es_{risk.level_key(a)}"][t] = sig[t] * e
        if np.isfinite(z[t]):
            zs = np.insert(zs, np.searchsorted(zs, z[t]), z[t])
    return out


@pytest.mark.parametrize("case", range(12))
def test_fhs_is_bit_identical_to_the_day_by_day_loop(case):
    """The vectorised FHS gives the loop's numbers to the last bit: NaNs, a history, ties at the quantile
    (rounded returns: the slow path for days whose ties run past the kept order statistics), any level."""
    rng = np.random.default_rng(case)
    n = int(rng.integers(200, 900))
    r = rng.standard_t(4, n) * rng.uniform(0.5, 3.0)
    s = rng.uniform(0.2, 4.0, n)
    if case % 4 == 1:
        r[rng.random(n) < 0.1] = np.nan
        s[rng.random(n) < 0.05] = np.nan
    if case % 4 == 2:
        r = np.round(r / 2)
        s = np.ones(n)
    history = rng.standard_normal(int(rng.integers(1, 300))) if case % 3 == 0 else None
    levels = [(0.01, 0.05), (0.01, 0.025, 0.05), (0.3,), (0.001, 0.49)][case % 4]
    min_history = (250, 2, 100)[case % 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        want = _day_by_day(r, s, levels, min_history, history)
        got = risk.rolling_var_es(r, s, levels, "fhs", min_history, history)
    for key in want:
        assert np.array_equal(want[key].view(np.int64), got[key].view(np.int64)), key


def test_kupiec_closed_form():
    h = np.zeros(100, dtype=bool)
    h[:5] = True
    assert risk.kupiec(h, 0.05)["lr"] == pytest.approx(0.0, abs=1e-12)
    out = risk.kupiec(np.zeros(100, dtype=bool), 0.05)
    assert out["lr"] == pytest.approx(-2 * 100 * math.log(0.95))


def test_christoffersen_counts():
    h = np.array([0, 1, 1, 0, 0, 1, 1, 0, 0, 0], dtype=bool)
    out = risk.christoffersen(h, 0.05)
    assert out["pi01"] == pytest.approx(2 / 5) and out["pi11"] == pytest.approx(2 / 4)
    assert out["lr_cc"] == pytest.approx(out["lr_ind"] + risk.kupiec(h[1:], 0.05)["lr"])


def test_bad_levels_and_methods():
    with pytest.raises(ValueError, match="risk level"):
        risk.normal_var_es(0.7)
    with pytest.raises(ValueError, match="risk method"):
        risk.rolling_var_es([1.0], [1.0], method="t")


def test_risk_metrics_falls_back_to_normal_for_short_walks(path):
    r, s = path
    out = risk.risk_metrics(r[:100], {"true": s[:100]})
    assert out["true"]["method"] == "normal" and out["true"]["n_days"] == 100
    out = risk.risk_metrics(r[:1000], {"true": s[:1000]})
    assert out["true"]["method"] == "fhs" and out["true"]["n_days"] == 750
    assert set(out["true"]["levels"]) == {"1", "5"}
