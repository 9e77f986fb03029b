"""DCC and CCC for a book: estimates, gradients, standard errors' parts, paths, forecasts, bad input."""
import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.tensor import Tensor
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.vol.models import dcc as D
from tinygrad_trade.vol.models.dcc import (CCC, DCC, DCCInputError, NonNumericError, NotPositiveDefiniteError,
                                           TooFewDaysError, align_prices, simulate_dcc)
from tinygrad_trade.vol.models.dcc_kernels import (ConstantKernel, DCCLogLik, FullKernel, PairKernel,
                                                   correlation_target, pair_list)
from tinygrad_trade.vol.models.dcc_result import risk_contributions, z_sensitivity
from tinygrad_trade.vol.models.garch import fit_garch, garch_variance

TARGET = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.2], [0.3, 0.2, 1.0]])
MARGINALS = [dict(mu=0.05, omega=0.02, alpha=0.03, gamma=0.10, beta=0.90),
             dict(mu=0.03, omega=0.05, alpha=0.06, gamma=0.04, beta=0.88),
             dict(mu=0.00, omega=0.10, alpha=0.08, gamma=0.00, beta=0.85)]
A_TRUE, B_TRUE = 0.05, 0.92


@pytest.fixture(scope="module")
def sim():
    return simulate_dcc(np.random.default_rng(2024), 3000, A_TRUE, B_TRUE, TARGET, MARGINALS, names=["A", "B", "C"])


@pytest.fixture(scope="module")
def fit(sim):
    return DCC(vol="gjr").fit(sim["returns"])


def _small_z(T=80, N=3, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((T, N)) @ np.linalg.cholesky(TARGET[:N, :N]).T
    return z, correlation_target(z)


# --------------------------------------------------------------------------- estimates

def test_recovers_simulated_parameters(fit):
    a, b = fit.params["alpha"], fit.params["beta"]
    se = fit.std_err
    assert fit.converged
    assert abs(a - A_TRUE) < 4 * se["alpha"] and abs(b - B_TRUE) < 4 * se["beta"]
    assert 0 < se["alpha"] < 0.02 and 0 < se["beta"] < 0.03
    assert abs(fit.params["A.gamma[1]"] - 0.10) < 0.06 and abs(fit.params["C.beta[1]"] - 0.85) < 0.08
    assert list(fit.params.index[:2]) == ["alpha", "beta"] and len(fit.params) == 2 + 3 * 5
    assert np.all(np.isfinite(fit.std_err.to_numpy()))


def test_joint_loglik_is_the_multivariate_normal_density_of_the_returns(sim, fit):
    r = sim["returns"].to_numpy()
    mu = np.array([m.mu for m in fit.marginals])
    H = fit.conditional_covariances
    e = r - mu
    sign, logdet = np.linalg.slogdet(H)
    quad = np.einsum("ti,ti->t", e, np.linalg.solve(H, e[:, :, None])[:, :, 0])
    direct = float(np.sum(-0.5 * (3 * np.log(2 * np.pi) + logdet + quad)))
    assert np.all(sign > 0)
    assert fit.loglikelihood == pytest.approx(direct, rel=1e-10)
    # the marginals are the project's GJR fits, column by column
    assert fit.marginals[1].params["beta"] == pytest.approx(fit_garch(r[:, 1], vol="gjr").params["beta"], abs=1e-6)


def test_dcc_nests_ccc_and_ccc_is_the_residual_correlation(sim, fit):
    ccc = CCC(vol="gjr").fit(sim["returns"])
    assert ccc.loglikelihood < fit.loglikelihood
    z = np.column_stack([m.resid / np.sqrt(m.conditional_variance) for m in ccc.marginals])
    R = ccc.conditional_correlations
    assert R.shape == (3000, 3, 3) and np.allclose(R, R[0])
    S = z.T @ z / len(z)
    assert np.allclose(R[0], S / np.sqrt(np.outer(np.diag(S), np.diag(S))), atol=1e-12)
    assert np.allclose(R[0], np.corrcoef(z.T), atol=0.01)
    assert list(ccc.params.index) == list(fit.params.index[2:])
    assert np.all(np.isfinite(ccc.std_err.to_numpy()))


def test_composite_close_to_full_and_auto_switches(sim, fit, monkeypatch):
    comp = DCC(vol="gjr", method="composite", pairs="all").fit(sim["returns"])
    assert comp.method == "composite" and fit.method == "full"
    assert abs(comp.params["alpha"] - fit.params["alpha"]) < 0.02
    assert abs(comp.params["beta"] - fit.params["beta"]) < 0.03
    assert comp.loglikelihood <= fit.loglikelihood + 1e-6     # reported on the full model, which `fit` maximises
    monkeypatch.setattr(D, "FULL_MAX_ASSETS", 2)
    assert DCC()._method(3) == "composite" and DCC(method="full")._method(3) == "full"


def test_student_t_recovers_nu():
    sim = simulate_dcc(np.random.default_rng(5), 1500, A_TRUE, B_TRUE, TARGET[:2, :2], MARGINALS[:2], dist="t", nu=6.0)
    res = DCC(dist="t").fit(sim["returns"])
    assert res.psi_names == ["alpha", "beta", "nu"]
    assert 4.5 < res.params["nu"] < 9.0
    assert abs(res.params["beta"] - B_TRUE) < 0.06
    assert res.loglikelihood > DCC().fit(sim["returns"]).loglikelihood


def test_warm_start_gives_the_same_estimate(sim, fit):
    again = DCC(vol="gjr").fit(sim["returns"], start=fit)
    assert again.params["alpha"] == pytest.approx(fit.params["alpha"], abs=1e-5)
    assert again.optimization_result.nit <= fit.optimization_result.nit


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("kind,dist", [("full", "normal"), ("full", "t"), ("pairs", "normal"), ("pairs", "t")])
def test_custom_op_gradients_match_finite_differences(kind, dist):
    z, qbar = _small_z(25, 3)
    kernel = FullKernel(z, qbar, dist) if kind == "full" else PairKernel(z, qbar, dist, pair_list(3, "all"))
    psi = np.array([0.07, 0.85] + ([7.0] if dist == "t" else []))
    assert check_gradients(lambda p, x: DCCLogLik.apply(p, x, kernel=kernel), Tensor(psi), Tensor(z),
                           atol=1e-6, rtol=1e-6)


def test_scores_sum_to_the_gradient_and_constant_kernel():
    z, qbar = _small_z(200, 3, seed=1)
    for ker, psi in [(FullKernel(z, qbar, "t"), [0.05, 0.9, 6.0]), (PairKernel(z, qbar), [0.05, 0.9]),
                     (ConstantKernel(z, qbar, "t"), [6.0])]:
        ev = ker.evaluate(psi, grad=True)
        assert np.allclose(ker.scores(psi).sum(axis=0), ev.g_psi, rtol=1e-9, atol=1e-9)
    ccc = ConstantKernel(z, qbar, "t")
    h = 1e-5
    fd = (ccc.evaluate([6.0 + h]).total - ccc.evaluate([6.0 - h]).total) / (2 * h)
    assert ccc.evaluate([6.0], grad=True).g_psi[0] == pytest.approx(fd, rel=1e-6)


def test_full_kernel_matches_a_plain_loop():
    z, qbar = _small_z(50, 3, seed=2)
    a, b = 0.06, 0.9
    Q, total = qbar.copy(), 0.0
    for t in range(len(z)):
        if t:
            Q = (1 - a - b) * qbar + a * np.outer(z[t - 1], z[t - 1]) + b * Q
        d = 1 / np.sqrt(np.diag(Q))
        R = Q * np.outer(d, d)
        total += -0.5 * (3 * np.log(2 * np.pi) + np.linalg.slogdet(R)[1] + z[t] @ np.linalg.solve(R, z[t]))
    assert FullKernel(z, qbar).evaluate([a, b]).total == pytest.approx(total, rel=1e-12)


def test_standardised_residual_sensitivities_and_cross_derivative(sim):
    r = sim["returns"]["A"].to_numpy()[:800]
    m = fit_garch(r, vol="gjr")
    dz = z_sensitivity(m)
    x = m.params.to_numpy()

    def z_at(th):
        e = r - th[0]
        return e / np.sqrt(garch_variance(th[1:], e, m.backcast))
    for j in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[j]))
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        assert np.allclose(dz[:, j], (z_at(xp) - z_at(xm)) / (2 * h), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- paths and forecasts

def test_forecast_shapes_positive_definite_and_mean_reverting(fit):
    fc = fit.forecast(30)
    assert fc.variances.shape == (30, 3) and fc.correlations.shape == fc.covariances.shape == (30, 3, 3)
    assert np.all(np.linalg.eigvalsh(fc.covariances) > 0)
    assert np.allclose(fc.covariances, np.swapaxes(fc.covariances, 1, 2))
    assert np.allclose(np.einsum("hii->hi", fc.correlations), 1.0)
    gap = np.abs(fc.correlations - fit.qbar).max(axis=(1, 2))
    assert gap[-1] < gap[0]
    w = np.array([0.5, 0.3, 0.2])
    assert np.all(fc.book_variance(w) > 0)
    assert risk_contributions(fc.covariances[0], w).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="horizon"):
        fit.forecast(0)


def test_filter_reproduces_the_fit_and_extends_one_day(sim, fit):
    r = sim["returns"]
    path = fit.filter(r)
    assert np.allclose(path.covariances, fit.conditional_covariances, rtol=1e-10)
    assert np.allclose(path.next_covariance, fit.forecast(1).covariances[0], rtol=1e-10)
    # fitted on the first 2000 days, filtered over 2100: day 2000's covariance uses returns up to day 1999 only
    early = DCC(vol="gjr").fit(r.iloc[:2000])
    longer = early.filter(r.iloc[:2100])
    shorter = early.filter(r.iloc[:2000])
    assert np.allclose(longer.covariances[:2000], shorter.covariances)
    assert np.allclose(longer.covariances[2000], shorter.next_covariance)
    assert longer.book_variance([0.4, 0.4, 0.2]).index.equals(r.index[:2100])


def test_summary_and_dict(fit):
    text = fit.summary()
    assert "two-step sandwich" in text and "A.beta[1]" in text and "alpha" in text
    d = fit.to_dict()
    assert set(d) >= {"alpha", "beta", "loglik", "marginals"} and set(d["marginals"]) == {"A", "B", "C"}


# --------------------------------------------------------------------------- data and bad input

def test_align_prices_uses_common_dates():
    days = pd.bdate_range("2020-01-01", periods=6)
    a = pd.DataFrame({"close": [100.0, 101, 102, 103, 104, 105]}, index=days)
    b = pd.Series([50.0, 51, 52, 53, 54], index=days.delete(2))     # no price on day 2
    r = align_prices({"A": a, "B": b})
    assert list(r.columns) == ["A", "B"] and len(r) == 4
    assert r.loc[days[3], "A"] == pytest.approx(100 * np.log(103 / 101))   # spans day 1 -> day 3
    assert r.loc[days[3], "B"] == pytest.approx(100 * np.log(52 / 51))
    with pytest.raises(NonNumericError, match="'B'"):
        align_prices({"A": a, "B": pd.Series(["1", "x", "3"], index=days[:3])})


def test_bad_inputs_are_one_line_errors(sim):
    r = sim["returns"]
    cases = [
        (r.iloc[:400], TooFewDaysError, "400 common days"),
        (r.assign(D=r["A"]), NotPositiveDefiniteError, "'A' and 'D'"),
        (r.assign(B=r["B"].astype(object).where(r.index != r.index[7], "n/a")), NonNumericError, "'B'"),
        (r.assign(C=r["C"].where(r.index != r.index[9])), NonNumericError, "align"),
        (r[["A"]], DCCInputError, "at least two assets"),
    ]
    for frame, err, text in cases:
        with pytest.raises(err, match=text) as info:
            DCC().fit(frame)
        assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
    with pytest.raises(DCCInputError, match="vol"):
        DCC(vol="egarch")


def test_walk_forward_refits_and_keeps_out_of_sample_rows(sim):
    r = sim["returns"].iloc[:760]
    path, fits = D.walk_forward(r, DCC(vol="gjr"), first=600, refit_every=100)
    assert len(fits) == 2 and path.covariances.shape == (160, 3, 3) and path.index.equals(r.index[600:])
    assert np.allclose(path.covariances[0], fits[0].filter(r.iloc[:600]).next_covariance)
    assert np.allclose(path.covariances[100], fits[1].filter(r.iloc[:700]).next_covariance)
    assert fits[1].nobs == 700 and np.all(np.linalg.eigvalsh(path.covariances) > 0)
    with pytest.raises(DCCInputError, match="first"):
        D.walk_forward(r, first=100)


def test_sandwich_cross_block_matches_differences_through_the_marginals(sim):
    from tinygrad_trade.vol.models.dcc_result import two_step_parts
    res = DCC(vol="garch").fit(sim["returns"].iloc[:900, :2])
    A, G = two_step_parts(res.marginals, res.kernel, res.psi)
    m = res.marginals[1]
    x = m.params.to_numpy()
    kp = 8
    for j in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[j]))
        grads = []
        for sgn in (1, -1):
            th = x.copy()
            th[j] += sgn * h
            e = m.returns - th[0]
            z = res.z.copy()
            z[:, 1] = e / np.sqrt(garch_variance(th[1:], e, m.backcast))
            grads.append(FullKernel(z, res.qbar).evaluate(res.psi, grad=True).g_psi)
        brute = (grads[0] - grads[1]) / (2 * h)
        assert np.abs(brute).max() > 1.0 and np.allclose(A[kp:, 4 + j], brute, rtol=1e-4, atol=1e-4)
    assert np.allclose(A[:kp, kp:], 0) and G.shape == (900, kp + 2)


def test_state_round_trip_through_savez(sim, fit, tmp_path):
    import json

    from tinygrad_trade.vol.models.dcc_result import DCCResult
    arrays, meta = fit.get_state()
    np.savez(tmp_path / "dcc.npz", **arrays)
    (tmp_path / "dcc.json").write_text(json.dumps(meta))
    with np.load(tmp_path / "dcc.npz", allow_pickle=False) as f:
        back = DCCResult.from_state(dict(f), json.loads((tmp_path / "dcc.json").read_text()))
    assert back.loglikelihood == pytest.approx(fit.loglikelihood, rel=1e-12)
    assert back.index.equals(fit.index) and back.names == fit.names
    assert np.allclose(back.forecast(5).covariances, fit.forecast(5).covariances, rtol=1e-12)
    assert np.allclose(back.filter(sim["returns"]).next_covariance, fit.filter(sim["returns"]).next_covariance)


def test_marginals_fitted_elsewhere_give_the_same_fit(sim, fit):
    r = sim["returns"]
    given = [fit_garch(r[c].to_numpy(), vol="gjr") for c in r.columns]
    again = DCC(vol="gjr").fit(r, marginals=given)
    assert again.loglikelihood == pytest.approx(fit.loglikelihood, rel=1e-9)
    with pytest.raises(DCCInputError, match="'B'"):
        DCC(vol="gjr").fit(r, marginals=[given[0], given[0], given[2]])
    with pytest.raises(DCCInputError, match="garch"):
        DCC(vol="garch").fit(r, marginals=given)
