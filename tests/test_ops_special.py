"""Special functions (ops/special.py): i0, i1, bessel_j0, bessel_j1 and gammainc against scipy.special
over their ranges (both branches of j0/j1 and of gammainc, 0-d inputs), gradients to second order by
gradcheck, scipy's ufuncs called on Tensors, and the clear errors."""
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_trade import Tensor, grad
from tinygrad_trade.gradcheck import gradgradcheck
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.testing.strategies import arrays, budget, floats

FUNCS = {"i0": sp.i0, "i1": sp.i1, "bessel_j0": sp.j0, "bessel_j1": sp.j1}
shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_bessel_values_across_the_range(name):
    x = np.concatenate([np.linspace(-40, 40, 801), [0.0, 1e-9, -1e-9, 11.999, 12.0, 12.001, -12.0, 60.0]])
    ref = FUNCS[name](x)
    got = getattr(Tensor(x), name)().data
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=2e-12)  # series / Hankel expansion, both branches
    assert getattr(Tensor(2.0), name)().shape == ()


@pytest.mark.parametrize("name", sorted(FUNCS))
@settings(max_examples=budget(10))
@given(shape=shapes, data=st.data())
def test_bessel_gradients(name, shape, data):
    big = 20.0 if "j" in name else 4.0  # (i0, i1 grow like e^x: finite differences of a sum lose digits)
    x = data.draw(arrays(shape, floats(-big, big)), label="x")
    check_gradients(lambda t: getattr(t, name)(), Tensor(x), order=2)
    t = Tensor(x, requires_grad=True)
    # scipy's ivp(1, x) is NaN at the smallest normal numbers (2.2e-308); I1'(x) = 1/2 + O(x^2) there
    i1p = np.where(np.abs(x) < 1e-150, 0.5, sp.ivp(1, np.where(np.abs(x) < 1e-150, 1.0, x)))
    deriv = {"i0": sp.i1(x), "i1": i1p, "bessel_j0": -sp.j1(x), "bessel_j1": sp.jvp(1, x)}[name]
    np.testing.assert_allclose(grad(getattr(t, name)().sum(), t), deriv, rtol=1e-10, atol=1e-12)


def test_bessel_derivatives_at_zero():
    t = Tensor(np.zeros(2), requires_grad=True)
    np.testing.assert_allclose(grad(t.i1().sum(), t), [0.5, 0.5])
    np.testing.assert_allclose(grad(t.bessel_j1().sum(), t), [0.5, 0.5])
    g = grad(t.bessel_j0().sum(), t, create_graph=True)
    np.testing.assert_allclose(grad(g.sum(), t), [-0.5, -0.5])  # J0''(0) = -1/2


@settings(max_examples=budget(15))
@given(a=arrays((3,), floats(0.2, 12)), x=arrays((3,), floats(0.05, 30)))
def test_gammainc_both_branches(a, x):
    np.testing.assert_allclose(Tensor(a).gammainc(x).data, sp.gammainc(a, x), rtol=1e-12, atol=1e-14)
    check_gradients(lambda t: Tensor(a).gammainc(t), Tensor(x), order=2)
    t = Tensor(x, requires_grad=True)
    np.testing.assert_allclose(grad(Tensor(a).gammainc(t).sum(), t),
                               np.exp((a - 1) * np.log(x) - x - sp.gammaln(a)), rtol=1e-12, atol=1e-300)


def test_gammainc_edges_errors_and_scipy_ufuncs():
    np.testing.assert_array_equal(Tensor([1.0, 2.5]).gammainc([0.0, np.inf]).data, [0.0, 1.0])
    x = Tensor([0.0, 1.0], requires_grad=True)
    np.testing.assert_allclose(grad(Tensor(1.0).gammainc(x).sum(), x), [1.0, np.exp(-1.0)])  # a = 1 at x = 0
    with pytest.raises(ValueError, match="gammainc: a must be positive"):
        Tensor([0.0]).gammainc([1.0])
    with pytest.raises(ValueError, match="gammainc: x must be non-negative"):
        Tensor([1.0]).gammainc([-1.0])
    with pytest.raises(ValueError, match="derivative with respect to a"):
        Tensor([1.0], requires_grad=True).gammainc([1.0])
    t = Tensor([0.5, 1.5], requires_grad=True)
    for fn, method in [(sp.j0, "bessel_j0"), (sp.j1, "bessel_j1"), (sp.i0, "i0"), (sp.i1, "i1"), (sp.expit, "sigmoid"),
                       (sp.erf, "erf"), (sp.gammaln, "gammaln")]:
        y = fn(t)
        assert isinstance(y, Tensor) and y.requires_grad, fn
        np.testing.assert_allclose(y.data, getattr(t, method)().data, rtol=1e-15)
    y = sp.gammainc([1.0, 2.0], t)
    np.testing.assert_allclose(y.data, sp.gammainc([1.0, 2.0], t.data), rtol=1e-12)
    np.testing.assert_allclose(np.i0(t).data, np.i0(t.data), rtol=1e-14)


@pytest.mark.parametrize("name", ["i1", "bessel_j1"])
@pytest.mark.parametrize("x", [2.3380733e-308, 1e-300, -1e-5, 9.99e-4, 1.001e-3])
def test_bessel_second_derivative_near_zero(name, x):
    """i1/x and j1/x near 0 by their series: the second derivative is about 0 there, not the 1e292 that
    f1'(x)/x - f1(x)/x^2 gave at x = 2e-308 (found by hypothesis), and it joins the far side at 1e-3."""
    t = Tensor(np.array(x), requires_grad=True)
    assert gradgradcheck(lambda u: getattr(u, name)(), [t])
