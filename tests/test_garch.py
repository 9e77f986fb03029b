"""GARCH(1,1) / GJR-GARCH: the custom-op likelihood against the Value graph and finite
differences, exact Hessian and scores, the S&P 500 reference fits, forecasts, the walk-forward
forecaster and the `garch` command."""
import json
import math
import warnings

import numpy as np
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.engine import Value
from tinygrad_trade.gradcheck import gradcheck
from tinygrad_trade.graph import grad
from tinygrad_trade.tensor import Tensor
from tinygrad_trade.vol.base import Dataset
from tinygrad_trade.vol.models.garch import (
    GARCH,
    GarchLogLik,
    backcast,
    fit_garch,
    garch_variance,
    loglik_derivatives,
    loglik_tensor,
    loglik_value,
    param_names,
    value_hessian,
)

CASES = [("garch", "constant"), ("garch", "zero"), ("gjr", "constant"), ("gjr", "zero")]
THETA = {"mu": 0.03, "omega": 0.02, "alpha": 0.06, "gamma": 0.12, "beta": 0.86}

# reference figures of /work/shared/data/README.md (arch's conventions, numerical Hessian)
REF_GARCH = {"mu": 0.05237, "omega": 0.01774, "alpha": 0.10190, "beta": 0.88526}
REF_GARCH_LL = -6941.539
REF_GARCH_SE = {"mu": 0.01134, "omega": 0.00275, "alpha": 0.00910, "beta": 0.00966}
REF_GARCH_RSE = {"mu": 0.01151, "omega": 0.00478, "alpha": 0.01317, "beta": 0.01399}
REF_GJR = {"mu": 0.01469, "omega": 0.02015, "alpha": 0.0, "gamma": 0.17971, "beta": 0.89215}
REF_GJR_LL = -6831.790


@pytest.fixture(scope="module")
def returns():
    from tinygrad_trade.vol.data import load_sp500
    from tinygrad_trade.vol.features import log_returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r = log_returns(load_sp500()).to_numpy()
    assert np.isnan(r[0])
    return r[1:]


@pytest.fixture(scope="module")
def fits(returns):
    return {vol: fit_garch(returns, vol=vol, mean="constant") for vol in ("garch", "gjr")}


def _theta(vol, mean):
    return np.array([THETA[n] for n in param_names(vol, mean)])


def _bc(r, mean):
    return backcast(r - r.mean() if mean == "constant" else r)


# --------------------------------------------------------------------------- conventions
def test_param_names_and_backcast_rule():
    assert param_names("garch", "constant") == ["mu", "omega", "alpha", "beta"]
    assert param_names("gjr", "zero") == ["omega", "alpha", "gamma", "beta"]
    e = np.arange(1.0, 101.0)
    w = 0.94 ** np.arange(75)
    assert backcast(e) == pytest.approx(np.sum(w * e[:75] ** 2) / w.sum(), rel=1e-14)
    assert backcast([2.0, -2.0]) == pytest.approx(4.0)    # T < 75: all of them
    with pytest.raises(ValueError, match="vol"):
        param_names("figarch")


def test_variance_recursion_by_hand():
    rng = np.random.default_rng(0)
    e = rng.standard_normal(50)
    bc = 1.3
    omega, alpha, gamma, beta = 0.1, 0.05, 0.2, 0.8
    s = np.empty(50)
    prev_s, prev_u, prev_v = bc, bc, bc / 2      # every pre-sample lag from the backcast, half for GJR's term
    for t in range(50):
        s[t] = omega + alpha * prev_u + gamma * prev_v + beta * prev_s
        prev_s, prev_u, prev_v = s[t], e[t] ** 2, e[t] ** 2 * (e[t] < 0)
    np.testing.assert_allclose(garch_variance([omega, alpha, gamma, beta], e, bc), s, rtol=1e-13)
    np.testing.assert_allclose(garch_variance([omega, alpha, beta], e, bc),
                               garch_variance([omega, alpha, 0.0, beta], e, bc), rtol=1e-15)


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("vol,mean", CASES)
def test_custom_op_gradcheck(returns, vol, mean):
    r = returns[:200]
    bc = _bc(r, mean)
    theta = Tensor(_theta(vol, mean), requires_grad=True)
    assert gradcheck(lambda t: loglik_tensor(t, r, bc, vol, mean), [theta], eps=1e-6, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("vol", ["garch", "gjr"])
def test_custom_op_residual_gradient_gradcheck(returns, vol):
    e = Tensor(returns[:40] - 0.03, requires_grad=True)
    vp = Tensor(_theta(vol, "zero"), requires_grad=True)
    assert gradcheck(lambda p, x: GarchLogLik.apply(p, x, backcast=1.1), [vp, e], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("vol", ["garch", "gjr"])
def test_value_graph_gradcheck(returns, vol):
    r = returns[:60]
    xs = [Value(t) for t in _theta(vol, "constant")]
    assert gradcheck(lambda *p: loglik_value(p, r, 1.2, vol, "constant"), xs, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("vol,mean", CASES)
def test_custom_op_equals_value_graph_on_all_data(returns, vol, mean):
    bc = _bc(returns, mean)
    x = _theta(vol, mean)
    xs = [Value(t) for t in x]
    L_value = loglik_value(xs, returns, bc, vol, mean)
    g_value = np.array(grad(L_value, xs))
    theta = Tensor(x, requires_grad=True)
    L_op = loglik_tensor(theta, returns, bc, vol, mean)
    g_op = grad(L_op, theta)
    assert L_op.item() == pytest.approx(L_value.data, rel=1e-12)
    np.testing.assert_allclose(g_op, g_value, rtol=1e-10)


@pytest.mark.parametrize("vol,mean", CASES)
def test_exact_hessian_equals_value_graph_second_order(returns, vol, mean):
    r = returns[1000:1300]
    bc = _bc(r, mean)
    x = _theta(vol, mean)
    L, scores, H = loglik_derivatives(x, r, bc, vol, mean)
    Hv = value_hessian(x, r, bc, vol, mean)
    np.testing.assert_allclose(H, Hv, rtol=1e-10, atol=1e-10 * np.abs(Hv).max())
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    theta = Tensor(x, requires_grad=True)
    Lt = loglik_tensor(theta, r, bc, vol, mean)
    assert L == pytest.approx(Lt.item(), rel=1e-13)
    np.testing.assert_allclose(scores.sum(axis=0), grad(Lt, theta), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("vol", ["garch", "gjr"])
def test_per_observation_scores_against_value_graph(returns, vol):
    r = returns[:120]
    bc, x = 0.9, _theta(vol, "constant")
    _, scores, _ = loglik_derivatives(x, r, bc, vol, "constant")

    def g(n):  # gradient of the sum of the first n terms
        xs = [Value(t) for t in x]
        return np.array(grad(loglik_value(xs, r[:n], bc, vol, "constant"), xs))

    for t in (0, 1, 57, 119):
        expected = g(t + 1) - (g(t) if t else 0.0)
        np.testing.assert_allclose(scores[t], expected, rtol=1e-9, atol=1e-11)


# --------------------------------------------------------------------------- the reference fits
def test_sp500_garch_reference_fit(fits):
    res = fits["garch"]
    assert res.nobs == 5030
    assert res.loglik == pytest.approx(REF_GARCH_LL, abs=0.01)
    for n, v in REF_GARCH.items():
        assert res.params[n] == pytest.approx(v, abs=1e-3), n
    # the reference used a numerical Hessian: agreement to the third significant digit
    for n in REF_GARCH:
        assert res.classic_std_err[n] == pytest.approx(REF_GARCH_SE[n], rel=5e-3), n
        assert res.robust_std_err[n] == pytest.approx(REF_GARCH_RSE[n], rel=5e-3), n
        assert res.std_err[n] == res.robust_std_err[n], n          # arch's default: std_err is the robust one
    assert res.converged
    k = 4
    assert res.aic == pytest.approx(-2 * res.loglik + 2 * k)
    assert res.bic == pytest.approx(-2 * res.loglik + k * math.log(5030))


def test_sp500_gjr_reference_fit(fits):
    res = fits["gjr"]
    assert res.loglik == pytest.approx(REF_GJR_LL, abs=0.01)
    for n, v in REF_GJR.items():
        assert res.params[n] == pytest.approx(v, abs=1e-3), n
    assert res.params["alpha"] >= 0.0
    assert res.persistence < 1.0


@pytest.mark.parametrize("vol", ["garch", "gjr"])
def test_standard_errors_equal_finite_difference_hessian(returns, fits, vol):
    res = fits[vol]
    x = res.params.to_numpy()
    bc = res.backcast

    def gradient(p):
        theta = Tensor(p, requires_grad=True)
        return np.asarray(grad(loglik_tensor(theta, returns, bc, vol, "constant"), theta))

    k = x.size
    H = np.empty((k, k))
    for i in range(k):
        h = 1e-5 * max(abs(x[i]), 1e-2)
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        H[:, i] = (gradient(xp) - gradient(xm)) / (2 * h)
    H = 0.5 * (H + H.T)
    hinv = np.linalg.inv(-H)
    se_fd = np.sqrt(np.diag(hinv))
    np.testing.assert_allclose(res.classic_std_err.to_numpy(), se_fd, rtol=1e-4)
    J = res.nobs * np.cov(res.scores.T)
    np.testing.assert_allclose(res.robust_std_err.to_numpy(), np.sqrt(np.diag(hinv @ J @ hinv)), rtol=1e-4)


def test_result_statistics_and_summary(fits):
    res = fits["garch"]
    np.testing.assert_allclose(res.tvalues, res.params / res.robust_std_err)      # robust, as arch's default
    np.testing.assert_allclose(res.classic_tvalues, res.params / res.classic_std_err)
    np.testing.assert_allclose(res.cov_params.to_numpy(), res.robust_cov_params.to_numpy())
    z = abs(res.tvalues["mu"])
    assert res.pvalues["mu"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    zc = abs(res.classic_tvalues["mu"])
    assert res.classic_pvalues["mu"] == pytest.approx(math.erfc(zc / math.sqrt(2)))
    text = res.summary()
    for word in ("GARCH(1,1)", "log-likelihood", "omega", "beta", "robust", "-6941.539"):
        assert word in text
    assert "GJR" in fits["gjr"].summary() and "gamma" in fits["gjr"].summary()


def test_forecast_closed_form(fits):
    for res in fits.values():
        p = res.params
        gamma = p.get("gamma", 0.0)
        e, s = res.resid[-1], res.conditional_variance[-1]
        f = [p["omega"] + (p["alpha"] + gamma * (e < 0)) * e * e + p["beta"] * s]
        for _ in range(9):
            f.append(p["omega"] + (p["alpha"] + gamma / 2 + p["beta"]) * f[-1])
        np.testing.assert_allclose(res.forecast(10), f, rtol=1e-13)
        assert res.forecast(1).shape == (1,)
    with pytest.raises(ValueError):
        res.forecast(0)


def test_warm_start_and_fallback(returns, fits):
    r = returns[:3000]
    cold = fit_garch(r)
    warm = fit_garch(r, start=fits["garch"].params)
    assert warm.warm_start and not cold.warm_start
    assert warm.loglik == pytest.approx(cold.loglik, abs=1e-5)
    np.testing.assert_allclose(warm.params, cold.params, atol=2e-4)
    bad = fit_garch(r, start={"mu": 0.0, "omega": 0.1, "alpha": 0.5, "beta": 0.6})  # alpha + beta > 1
    assert not bad.warm_start
    assert bad.loglik == pytest.approx(cold.loglik, abs=1e-5)


def test_bad_inputs():
    with pytest.raises(ValueError, match="finite"):
        fit_garch(np.array([0.1, np.nan] * 20))
    with pytest.raises(ValueError, match="at least"):
        fit_garch(np.ones(5))
    with pytest.raises(ValueError, match="mean"):
        fit_garch(np.ones(100), mean="ar")


# --------------------------------------------------------------------------- walk-forward forecaster
def _dataset(r, horizon=1):
    n = r.size
    r = np.concatenate(([np.nan], r))
    r2 = r ** 2
    target = np.array([np.mean(r2[t:t + horizon]) if t + horizon <= n + 1 else np.nan for t in range(n + 1)])
    dates = np.arange(n + 1).astype("datetime64[D]")
    return Dataset(dates=dates, returns=r, daily=r2, target=target, proxies={"r2": r2}, horizon=horizon)


@pytest.mark.parametrize("vol", ["garch", "gjr"])
def test_forecaster_fit_and_predict(returns, vol):
    ds = _dataset(returns[:1500])
    m = GARCH(vol=vol).fit(ds, end=1200, begin=100)
    res = m.result
    assert res.nobs == 1200 - 101                 # returns[begin+1 : end]
    direct = fit_garch(ds.returns[101:1200], vol=vol)
    np.testing.assert_allclose(res.params, direct.params, atol=1e-6)
    f = m.predict(ds, 1200, 1250)
    # by hand: the recursion with the fitted parameters through day t-1
    s = garch_variance(res._vparams, ds.returns[101:1250] - res.mu, res.backcast)
    np.testing.assert_allclose(f, s[1200 - 101:], rtol=1e-13)
    np.testing.assert_allclose(m.predict(ds, 101, 1200), res.conditional_variance, rtol=1e-12)
    # forecast of day t does not use day t's return
    ds2 = _dataset(returns[:1500])
    ds2.returns[1230:] = 50.0
    np.testing.assert_allclose(m.predict(ds2, 1200, 1231), f[:31], rtol=1e-14)
    # the next fit starts from these parameters
    m.fit(ds, end=1221, begin=100)
    assert m.result.warm_start


def test_forecaster_multi_day_horizon(returns):
    ds = _dataset(returns[:1500], horizon=5)
    m = GARCH().fit(ds, end=1200)
    res = m.result
    f = m.predict(ds, 1200, 1210)
    s1 = _dataset(returns[:1500])
    one = GARCH()
    one.result, one.begin = res, 0
    s = one.predict(s1, 1200, 1210)
    phi, omega = res.persistence, res.params["omega"]
    expected = []
    for v in s:
        path = [v]
        for _ in range(4):
            path.append(omega + phi * path[-1])
        expected.append(np.mean(path))
    np.testing.assert_allclose(f, expected, rtol=1e-13)


# --------------------------------------------------------------------------- CLI
def test_cli_json_keys(capsys):
    assert main(["garch", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"mu", "omega", "alpha", "beta", "loglik", "std_err", "robust_std_err", "classic_std_err", "dist",
            "dist_params", "at_bound"}
    assert set(out) == keys
    assert set(out["std_err"]) == set(out["classic_std_err"]) == {"mu", "omega", "alpha", "beta"}
    assert out["loglik"] == pytest.approx(REF_GARCH_LL, abs=0.01)
    assert out["std_err"] == out["robust_std_err"]                                     # arch's default
    assert out["std_err"]["beta"] == pytest.approx(REF_GARCH_RSE["beta"], rel=5e-3)
    assert out["classic_std_err"]["beta"] == pytest.approx(REF_GARCH_SE["beta"], rel=5e-3)

    assert main(["garch", "--json", "--vol", "gjr", "--mean", "zero"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"omega", "alpha", "gamma", "beta", "loglik", "std_err", "robust_std_err", "classic_std_err",
                        "dist", "dist_params", "at_bound"}
    assert set(out["std_err"]) == {"omega", "alpha", "gamma", "beta"}


def test_cli_table(capsys):
    assert main(["garch", "--vol", "gjr"]) == 0
    out = capsys.readouterr().out
    assert "GJR-GARCH(1,1,1)" in out and "gamma" in out and "-6831.790" in out


def test_cli_bad_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "prices.csv"
    bad.write_text("Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,abc\n")
    assert main(["garch", "--csv", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err
    assert main(["garch", "--csv", str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_csv_file(tmp_path, capsys):
    rng = np.random.default_rng(3)
    n = 400
    close = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))
    lines = ["Date,Open,High,Low,Close"]
    for d, c in zip(np.datetime64("2015-01-01") + np.arange(n), close):
        lines.append(f"{d},{c:.4f},{c * 1.01:.4f},{c * 0.99:.4f},{c:.4f}")
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["garch", "--csv", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["omega"] > 0 and 0 <= out["alpha"] <= 1
