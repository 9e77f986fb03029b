"""The standardised error laws of the GARCH family: log-densities against scipy, unit mass and
variance, engine derivatives to second order, quantiles and expected shortfalls against numerical
integration, simulation, arch's bounds and starting values."""
import math

import numpy as np
import pytest
from scipy import integrate, stats

from tinygrad_trade.gradcheck import gradcheck, gradgradcheck
from tinygrad_trade.tensor import Tensor
from tinygrad_trade.vol.models.distributions import DISTRIBUTIONS, get_distribution

CASES = [("normal", []), ("t", [5.0]), ("t", [30.0]), ("skewt", [6.0, -0.3]), ("skewt", [4.5, 0.4]),
         ("ged", [1.3]), ("ged", [2.6])]
Z = np.linspace(-6.0, 6.0, 25)


def _moment(d, p, n):
    return integrate.quad(lambda x: x ** n * d.pdf(np.array([x]), p)[0], -np.inf, np.inf,
                          epsabs=1e-12, limit=200)[0]


def test_names_bounds_and_starts_are_arch_s():
    assert [d.param_names for d in DISTRIBUTIONS.values()] == [(), ("nu",), ("eta", "lambda"), ("nu",)]
    assert DISTRIBUTIONS["t"].bounds() == [(2.05, 500.0)]
    assert DISTRIBUTIONS["skewt"].bounds() == [(2.05, 300.0), (-1.0, 1.0)]
    assert DISTRIBUTIONS["ged"].bounds() == [(1.01, 500.0)]
    z = np.random.default_rng(0).standard_t(5, 4000)
    k = stats.kurtosis(z, fisher=False)
    assert DISTRIBUTIONS["t"].starting_values(z)[0] == pytest.approx(max((4 * k - 6) / (k - 3), 4.0))
    assert DISTRIBUTIONS["t"].starting_values(np.random.default_rng(1).standard_normal(4000))[0] == 12.0
    assert list(DISTRIBUTIONS["skewt"].starting_values(z)) == [DISTRIBUTIONS["t"].starting_values(z)[0], 0.0]
    assert list(DISTRIBUTIONS["ged"].starting_values(z)) == [1.5]
    with pytest.raises(ValueError, match="dist must be one of normal, t, skewt, ged"):
        get_distribution("cauchy")


def test_logpdf_against_scipy():
    for nu in (2.5, 5.0, 40.0):
        k = math.sqrt((nu - 2) / nu)      # the t scaled to unit variance
        np.testing.assert_allclose(DISTRIBUTIONS["t"].logpdf_np(Z, [nu]),
                                   stats.t.logpdf(Z / k, nu) - math.log(k), rtol=1e-12, atol=1e-12)
    for nu in (1.1, 1.5, 2.0, 3.7):
        s = math.sqrt(math.gamma(1 / nu) / math.gamma(3 / nu))   # gennorm scaled to unit variance
        np.testing.assert_allclose(DISTRIBUTIONS["ged"].logpdf_np(Z, [nu]),
                                   stats.gennorm.logpdf(Z / s, nu) - math.log(s), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(DISTRIBUTIONS["normal"].logpdf_np(Z), stats.norm.logpdf(Z), rtol=1e-14)
    np.testing.assert_allclose(DISTRIBUTIONS["ged"].logpdf_np(Z, [2.0]), stats.norm.logpdf(Z), rtol=1e-12)
    np.testing.assert_allclose(DISTRIBUTIONS["skewt"].logpdf_np(Z, [5.0, 0.0]),
                               DISTRIBUTIONS["t"].logpdf_np(Z, [5.0]), rtol=1e-13)


def test_skewt_density_is_hansens():
    eta, lam = 5.0, -0.4
    c = math.gamma((eta + 1) / 2) / (math.sqrt(math.pi * (eta - 2)) * math.gamma(eta / 2))
    a = 4 * lam * c * (eta - 2) / (eta - 1)
    b = math.sqrt(1 + 3 * lam ** 2 - a ** 2)
    side = np.where(Z < -a / b, 1 - lam, 1 + lam)
    ref = b * c * (1 + ((b * Z + a) / side) ** 2 / (eta - 2)) ** (-(eta + 1) / 2)
    np.testing.assert_allclose(DISTRIBUTIONS["skewt"].pdf(Z, [eta, lam]), ref, rtol=1e-12)


@pytest.mark.parametrize("name,p", CASES)
def test_unit_mass_zero_mean_unit_variance(name, p):
    d = DISTRIBUTIONS[name]
    assert _moment(d, p, 0) == pytest.approx(1.0, abs=1e-8)
    assert _moment(d, p, 1) == pytest.approx(0.0, abs=1e-8)
    assert _moment(d, p, 2) == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("name,p", [c for c in CASES if c[0] != "normal"])
def test_logpdf_derivatives_second_order(name, p):
    d = DISTRIBUTIONS[name]
    z = Tensor(np.array([-2.3, -0.4, 0.3, 1.7]), requires_grad=True)
    theta = Tensor(np.array(p), requires_grad=True)
    f = lambda zz, th: d.logpdf(zz, th).sum()  # noqa: E731
    assert gradcheck(f, [z, theta], eps=1e-6, atol=1e-7, rtol=1e-6)
    assert gradgradcheck(f, [z, theta], eps=1e-5, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name,p", CASES)
@pytest.mark.parametrize("alpha", [0.01, 0.025, 0.05])
def test_ppf_and_es_against_integration(name, p, alpha):
    d = DISTRIBUTIONS[name]
    var, es = d.var_es(alpha, p)
    mass = integrate.quad(lambda x: d.pdf(np.array([x]), p)[0], -np.inf, -var, epsabs=1e-13, limit=200)[0]
    assert mass == pytest.approx(alpha, rel=1e-8)
    assert float(d.cdf(-var, p)) == pytest.approx(alpha, rel=1e-10)
    assert es == pytest.approx(d.es_quadrature(alpha, p), rel=1e-9)
    assert es > var > 0


def test_skewt_es_past_the_left_branch_uses_quadrature():
    d = DISTRIBUTIONS["skewt"]
    p = [6.0, 0.95]                      # left branch holds (1 - 0.95)/2 = 2.5% only
    var, es = d.var_es(0.05, p)
    assert float(d.cdf(-var, p)) == pytest.approx(0.05, rel=1e-10)
    tail = integrate.quad(lambda x: x * d.pdf(np.array([x]), p)[0], -np.inf, -var, limit=200)[0]
    assert es == pytest.approx(-tail / 0.05, rel=1e-8)


@pytest.mark.parametrize("name,p", CASES)
def test_simulation_follows_the_law(name, p):
    d = DISTRIBUTIONS[name]
    x = d.simulate(100_000, p, np.random.default_rng(7))
    assert abs(x.mean()) < 0.02 and abs(x.var() - 1.0) < 0.05
    q = d.ppf(np.array([0.05, 0.5, 0.95]), p)
    np.testing.assert_allclose(np.mean(x[:, None] <= q[None, :], axis=0), [0.05, 0.5, 0.95], atol=0.006)
    again = d.simulate(100_000, p, np.random.default_rng(7))
    np.testing.assert_array_equal(x, again)


def test_bad_level_and_parameter_count():
    with pytest.raises(ValueError, match=r"risk level must be in \(0, 0.5\)"):
        DISTRIBUTIONS["t"].var_es(0.7, [5.0])
    with pytest.raises(ValueError, match="takes 2 parameter"):
        DISTRIBUTIONS["skewt"].logpdf_np(Z, [5.0])
