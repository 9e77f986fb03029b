"""numerical_grad, gradcheck and gradgradcheck: right gradients pass, wrong ones are caught and
reported per input (analytic, numeric, error)."""
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_trade.testing.strategies import arrays, floats, nonzero, reals, shapes
from tinygrad_trade import CustomOp, Tensor, Value
from tinygrad_trade.gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from tinygrad_trade.graph import Op
from tinygrad_trade.engine import _make

LINE = re.compile(r"^\s*(?P<name>[^:\n]+): analytic (?P<a>\S+), numeric (?P<n>\S+), error (?P<e>\S+)$", re.M)


def _lines(msg):
    """{name: (analytic, numeric, error)} parsed from a GradcheckError message."""
    return {m["name"]: (float(m["a"]), float(m["n"]), float(m["e"])) for m in LINE.finditer(msg)}


# --- deliberately wrong ops ------------------------------------------------------------------
class ScaledSquare(CustomOp):
    """x ** 2 whose backward is off by ``factor`` (1.0 is right)."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return (self.factor * 2 * self.x * g,)


class NanGrad(CustomOp):
    def forward(self, x):
        return x * 1.0

    def backward(self, g):
        return (g * np.nan,)


def bad_sin(v):
    """sin(v) as a Value node whose rule claims the derivative is 1 (it is cos)."""
    return _make(math.sin(v.data), (v,), Op("bad_sin", lambda g, y, x: (g * 1.0,)))


def cube_flat_hessian(v):
    """v ** 3 with the right first derivative, but the rule uses v's float data, so under
    create_graph the derivative is a constant and the second derivative comes out 0 (not 6v)."""
    def vjp(g, y, x):
        d = x.data if isinstance(x, Value) else x
        return (g * 3.0 * d * d,)
    return _make(v.data ** 3, (v,), Op("cube", vjp))


# --------------------------------------------------------------------------------------------
# numerical_grad
# --------------------------------------------------------------------------------------------
@given(x=reals)
def test_numerical_grad_of_a_value_function(x):
    v = Value(x)
    g = numerical_grad(lambda t: t.exp() * t.tanh(), v)
    assert isinstance(g, float)
    expected = math.exp(x) * (math.tanh(x) + 1 - math.tanh(x) ** 2)
    assert g == pytest.approx(expected, rel=1e-7, abs=1e-8)
    assert v.data == x and v.grad == 0.0


@given(data=st.data())
def test_numerical_grad_of_a_tensor_function(data):
    x = data.draw(arrays(data.draw(shapes), reals))
    w = data.draw(arrays(x.shape, reals))
    t = Tensor(x, requires_grad=True)
    g = numerical_grad(lambda t: (t ** 3 * w).sum(), t)
    assert isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype == np.float64
    # central differences lose about |f| * 1e-16 / eps to rounding: |f| <= 64 * 27 * 3 here, so 5e-7
    np.testing.assert_allclose(g, 3 * x ** 2 * w, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(t.data, x)  # inputs restored exactly
    assert t.grad is None


def test_numerical_grad_several_inputs_and_float32():
    a = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float32)
    b = Tensor([[0.5], [-1.0]], requires_grad=True)
    ga, gb = numerical_grad(lambda a, b: (a * b).sum(), [a, b])
    # differences are taken in float64 even for a float32 input
    np.testing.assert_allclose(ga, [-0.5, -0.5], rtol=1e-8)
    np.testing.assert_allclose(gb, [[3.0], [3.0]], rtol=1e-8)
    assert a.dtype == np.float32 and a.data.tolist() == [1.0, 2.0]
    x, y = Value(2.0), Value(3.0)
    assert numerical_grad(lambda x, y: x * y + y, [x, y]) == pytest.approx([3.0, 3.0], rel=1e-8)


# --------------------------------------------------------------------------------------------
# gradcheck
# --------------------------------------------------------------------------------------------
def test_gradcheck_accepts_right_gradients():
    assert gradcheck(lambda x, y: (x * y).exp() / (y * y + 1), [Value(0.3), Value(-0.8)]) is True
    x = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert gradcheck(lambda t: ScaledSquare.apply(t.tanh()).sum(), [x]) is True
    assert gradcheck(lambda t: (t @ t.T).sigmoid().sum(), x) is True  # a single input, not a list


def test_gradcheck_reports_the_worst_element_and_both_gradients():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True, label="x")
    f = lambda t: ScaledSquare.apply(t, factor=1.1).sum()  # noqa: E731
    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [x])
    msg = str(info.value)
    assert msg.startswith("gradient mismatch")
    assert "x: 3 of 3 elements disagree; worst at index [2]" in msg
    lines = _lines(msg)
    assert set(lines) == {"x[2]"}  # the worst element: the error 0.2 |x| is largest at x = 3
    a, n, e = lines["x[2]"]
    assert a == pytest.approx(6.6, rel=1e-6) and n == pytest.approx(6.0, rel=1e-6)
    assert e == pytest.approx(0.6, rel=1e-2)
    shown = {k: [float(v) for v in re.findall(r"-?\d+\.\d*", m)]
             for k, m in re.findall(r"^\s*(analytic|numeric) +\[([^\]]*)\]", msg, re.M)}
    assert shown["analytic"] == pytest.approx([2.2, -4.4, 6.6], rel=1e-5)
    assert shown["numeric"] == pytest.approx([2.0, -4.0, 6.0], rel=1e-5)
    assert gradcheck(f, [x], raise_exception=False) is False
    assert isinstance(info.value, AssertionError)  # so a bare gradcheck(...) fails a test


def test_gradcheck_worst_element_counts_nan_first():
    class NanAtOne(CustomOp):
        def forward(self, x):
            return x * 1.0

        def backward(self, g):
            return (np.where(np.arange(g.size).reshape(g.shape) == 1, np.nan, 5.0 * g),)

    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="w")
    with pytest.raises(GradcheckError, match=r"w: 4 of 4 elements disagree; worst at index \[0, 1\]"):
        gradcheck(lambda t: NanAtOne.apply(t).sum(), [x])


def test_gradcheck_names_only_the_wrong_input():
    a, b = Value(0.5, label="a"), Value(2.0, label="b")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: bad_sin(a) * b, [a, b])
    lines = _lines(str(info.value))
    assert set(lines) == {"a"}
    an, num, err = lines["a"]
    assert an == pytest.approx(2.0) and num == pytest.approx(2 * math.cos(0.5), rel=1e-6)
    assert err == pytest.approx(2 - 2 * math.cos(0.5), rel=1e-2)  # printed to 3 digits
    # unlabeled inputs are called by position
    with pytest.raises(GradcheckError, match=r"input 1: analytic"):
        gradcheck(lambda a, b: a * bad_sin(b), [Value(0.5), Value(1.0)])


def test_gradcheck_nan_gradient_is_a_mismatch():
    x = Tensor([1.0], requires_grad=True)
    assert gradcheck(lambda t: NanGrad.apply(t).sum(), [x], raise_exception=False) is False


@pytest.mark.parametrize("off", [1e-4, 3e-4, -1e-4])
def test_gradcheck_default_catches_a_derivative_off_by_1e_4(off):
    x = Tensor([0.5, 1.5], requires_grad=True)
    f = lambda t: ScaledSquare.apply(t, factor=1 + off).sum()  # noqa: E731  relative error |off|
    with pytest.raises(GradcheckError, match=r"gradient mismatch \(atol=1e-08, rtol=1e-05\)"):
        gradcheck(f, [x])
    # PyTorch's tolerances (rtol 1e-3) let it through; explicit ones override either set
    assert gradcheck(f, [x], tolerances="torch") is True
    assert gradcheck(f, [x], rtol=1e-3) is True
    assert gradcheck(f, [x], tolerances="torch", rtol=1e-6, atol=0.0, raise_exception=False) is False
    with pytest.raises(ValueError, match="tolerances must be one of 'sharp', 'torch'"):
        gradcheck(f, [x], tolerances="tight")


@given(x=st.one_of(floats(-1e3, -1e-3), floats(1e-3, 1e3)), sign=st.sampled_from([-1.0, 1.0]),
       size=floats(1e-4, 1e-2))
def test_gradcheck_default_catches_relative_errors_from_1e_4_at_any_scale(x, sign, size):
    t = Tensor([x], requires_grad=True)
    f = lambda t: (ScaledSquare.apply(t, factor=1 + sign * size) * 0.3).sum()  # noqa: E731
    with pytest.raises(GradcheckError):
        gradcheck(f, [t])
    assert gradcheck(lambda t: (ScaledSquare.apply(t) * 0.3).sum(), [t])          # the right one passes


def cube_hessian_off(v, off):
    """v ** 3 with the right first derivative; under create_graph its second derivative is 6 v (1 + off)."""
    def vjp(g, y, x):
        d = x.data if isinstance(x, Value) else x
        return (g * (3.0 * x * x + off * 6.0 * d * (x - d)),)    # the added term is 0 at the point itself
    return _make(v.data ** 3, (v,), Op("cube", vjp))


@pytest.mark.parametrize("x", [0.7, -1.3, 25.0])
def test_gradgradcheck_default_catches_a_second_derivative_off_by_1e_4(x):
    v = Value(x)
    assert gradcheck(lambda v: cube_hessian_off(v, 1e-4), [v])
    with pytest.raises(GradcheckError, match="second derivative mismatch"):
        gradgradcheck(lambda v: cube_hessian_off(v, 1e-4), [v])
    assert gradgradcheck(lambda v: cube_hessian_off(v, 1e-4), [v], tolerances="torch")
    assert gradgradcheck(lambda v: cube_hessian_off(v, 0.0), [v])


@given(x=nonzero, factor=st.one_of(floats(0.0, 0.99), floats(1.01, 3.0), floats(-3.0, -0.01)))
def test_gradcheck_catches_any_relative_error_above_one_percent(x, factor):
    t = Tensor([x], requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: ScaledSquare.apply(t, factor=factor).sum(), [t])


def test_gradcheck_needs_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda t: t.sum(), [Tensor([1.0])])


# --------------------------------------------------------------------------------------------
# gradgradcheck
# --------------------------------------------------------------------------------------------
def test_gradgradcheck_accepts_right_second_derivatives():
    xs = [Value(0.3), Value(-0.7), Value(1.2)]
    assert gradgradcheck(lambda x, y, z: x * y * z + (x * z).tanh() + y.exp() * x, xs) is True
    t = Tensor([[0.2, -0.4], [1.0, 0.5]], requires_grad=True)
    u = Tensor([0.3, -0.9], requires_grad=True)
    assert gradgradcheck(lambda t, u: ((t @ u).softplus() ** 2).sum() + (t * u).sigmoid().mean(), [t, u]) is True


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = Value(1.3, label="x")
    assert gradcheck(cube_flat_hessian, [x])  # the first derivative is right...
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(cube_flat_hessian, [x])
    msg = str(info.value)
    assert msg.startswith("second derivative mismatch")
    lines = _lines(msg)
    assert set(lines) == {"x[0]"}
    an, num, _ = lines["x[0]"]
    assert an == 0.0 and num == pytest.approx(6 * 1.3, rel=1e-5)  # ...the second is not
    assert gradgradcheck(cube_flat_hessian, [x], raise_exception=False) is False


def test_gradgradcheck_through_numpy_custom_op_is_a_clear_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="ScaledSquare"):
        gradgradcheck(lambda t: ScaledSquare.apply(t).sum(), [x])


def test_gradcheck_through_a_function_that_differentiates_inside():
    """A gradient penalty: f(x, w) = |d(w*x^3)/dx|^2 needs the inner grad in the finite differences too."""
    from tinygrad_trade import Value, grad
    from tinygrad_trade.gradcheck import gradcheck as check

    def penalty(x, w):
        (gx,) = grad(w * x ** 3, [x], create_graph=True)
        return gx * gx

    assert check(penalty, [Value(0.7), Value(-1.3)])


def test_tensor_fractional_power_at_zero_raises_when_differentiated():
    import numpy as np
    import pytest
    from tinygrad_trade import Tensor, no_grad

    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"\*\*.*infinite"):
        x ** 0.5
    with no_grad():
        assert np.allclose((x ** 0.5).data, [0.0, 2.0])
